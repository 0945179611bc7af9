/* The in-memory back end for the simulator: per table a sorted array of
 * entries (one allocation each, key and value side by side), and an undo
 * log that lets a write transaction roll back.
 *
 * Stores opened on one store_blobs keep the blob that ends a value (from
 * store_blob_at() on) in a table they share, once per distinct blob: at
 * 10,000 simulated nodes a name's signed record lives on some 750 of them.
 * Blobs move there when a transaction commits, and a value that lost its
 * blob is put back together in the transaction's scratch when read. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/err.h"
#include "store/store.h"

/* A shared blob, counted by the entries that end in it. */
struct blob {
	struct blob *next; /* in its bucket */
	uint64_t hash;
	uint32_t len;
	uint32_t refs;
	uint8_t b[];
};

struct store_blobs {
	struct blob **bucket;
	size_t n_bucket; /* a power of two */
	size_t n;
	size_t bytes;
	uint8_t key[crypto_shorthash_KEYBYTES];
};

/* One entry: klen key bytes, then the value's vlen bytes, of which the
 * last tail->len are in the shared blob `tail` when it is set. */
struct ment {
	uint32_t klen;
	uint32_t vlen;
	struct blob *tail;
	uint8_t b[];
};

/* A table: entries sorted by key. */
struct mtab {
	struct ment **v;
	size_t n;
	size_t cap;
};

/* How to undo one write: put `m` back as the entry of its key, or, if
 * `absent`, remove the entry `m` that the write added. */
struct undo {
	struct ment *m;
	uint8_t table;
	bool absent;
};

struct mem_txn {
	struct store_txn base;
	struct undo *log;
	size_t n;
	size_t cap;
	uint8_t **scratch; /* values put back together, freed at the end */
	size_t n_scratch;
	size_t cap_scratch;
};

struct mem_cursor {
	struct mem_txn *tx;
	struct mtab *tab;
	size_t at;
};

struct mem_store {
	struct store base;
	struct mtab tab[STORE_NTABLES];
	struct mem_txn txn;	    /* the one open transaction */
	struct store_blobs *blobs; /* NULL: values stay whole */
};

/* Allocates or aborts: running out of memory is fatal (a simulation that
 * does not fit has no figures worth having). */
static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		fputs("andna: the in-memory store ran out of memory\n", stderr);
		abort();
	}
	return p;
}

/* Makes an empty blob table. */
struct store_blobs *
store_blobs_new(void)
{
	struct store_blobs *bs = xrealloc(NULL, sizeof *bs);

	bs->n_bucket = 1024;
	bs->bucket = xrealloc(NULL, bs->n_bucket * sizeof *bs->bucket);
	memset(bs->bucket, 0, bs->n_bucket * sizeof *bs->bucket);
	bs->n = bs->bytes = 0;
	randombytes_buf(bs->key, sizeof bs->key);
	return bs;
}

/* Frees the table and any blob left in it (none once its stores closed). */
void
store_blobs_free(struct store_blobs *bs)
{
	if (bs == NULL)
		return;
	for (size_t i = 0; i < bs->n_bucket; i++)
		for (struct blob *b = bs->bucket[i], *next; b != NULL;
		     b = next) {
			next = b->next;
			free(b);
		}
	free(bs->bucket);
	free(bs);
}

/* Reports the distinct blobs held and their bytes. */
void
store_blobs_count(const struct store_blobs *bs, size_t *n, size_t *bytes)
{
	*n = bs->n;
	*bytes = bs->bytes;
}

/* Doubles the buckets, keeping one blob per bucket on average. */
static void
blobs_grow(struct store_blobs *bs)
{
	size_t nb = bs->n_bucket * 2;
	struct blob **v = xrealloc(NULL, nb * sizeof *v);

	memset(v, 0, nb * sizeof *v);
	for (size_t i = 0; i < bs->n_bucket; i++)
		for (struct blob *b = bs->bucket[i], *next; b != NULL;
		     b = next) {
			next = b->next;
			b->next = v[b->hash & (nb - 1)];
			v[b->hash & (nb - 1)] = b;
		}
	free(bs->bucket);
	bs->bucket = v;
	bs->n_bucket = nb;
}

/* Takes a reference to the blob equal to the len bytes at p, adding it if
 * none is held yet. */
static struct blob *
blob_ref(struct store_blobs *bs, const uint8_t *p, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t hash;
	struct blob *b;

	crypto_shorthash(h, p, len, bs->key);
	memcpy(&hash, h, sizeof hash);
	for (b = bs->bucket[hash & (bs->n_bucket - 1)]; b != NULL; b = b->next)
		if (b->hash == hash && b->len == len &&
		    memcmp(b->b, p, len) == 0) {
			b->refs++;
			return b;
		}
	if (bs->n == bs->n_bucket)
		blobs_grow(bs);
	b = xrealloc(NULL, sizeof *b + len);
	b->hash = hash;
	b->len = (uint32_t)len;
	b->refs = 1;
	memcpy(b->b, p, len);
	b->next = bs->bucket[hash & (bs->n_bucket - 1)];
	bs->bucket[hash & (bs->n_bucket - 1)] = b;
	bs->n++;
	bs->bytes += len;
	return b;
}

/* Drops a reference to b, freeing it with the last. */
static void
blob_unref(struct store_blobs *bs, struct blob *b)
{
	struct blob **at = &bs->bucket[b->hash & (bs->n_bucket - 1)];

	if (--b->refs > 0)
		return;
	while (*at != b)
		at = &(*at)->next;
	*at = b->next;
	bs->n--;
	bs->bytes -= b->len;
	free(b);
}

/* Frees an entry, wiping what it holds itself first since the keys table
 * holds secrets (its values are never shared). */
static void
ment_free(struct store_blobs *bs, struct ment *m)
{
	size_t own = m->vlen;

	if (m->tail != NULL) {
		own -= m->tail->len;
		blob_unref(bs, m->tail);
	}
	sodium_memzero(m, sizeof *m + m->klen + own);
	free(m);
}

/* Replaces entry m of a table whose blob starts at `head` by one that
 * shares its blob, if it has one. */
static struct ment *
ment_share(struct store_blobs *bs, struct ment *m, size_t head)
{
	size_t own = m->klen + head;
	struct ment *sh;

	if (m->tail != NULL || m->vlen <= head)
		return m;
	sh = xrealloc(NULL, sizeof *sh + own);
	sh->klen = m->klen;
	sh->vlen = m->vlen;
	sh->tail = blob_ref(bs, m->b + own, m->vlen - head);
	memcpy(sh->b, m->b, own);
	ment_free(bs, m);
	return sh;
}

/* Orders keys as LMDB does: bytes, then the shorter first. */
static int
key_cmp(const struct ment *m, const void *key, size_t klen)
{
	size_t n = m->klen < klen ? m->klen : klen;
	int c = n > 0 ? memcmp(m->b, key, n) : 0;

	if (c != 0)
		return c;
	return (m->klen > klen) - (m->klen < klen);
}

/* Sets *at to the first entry >= key; true if it equals key. */
static bool
mtab_find(const struct mtab *t, const void *key, size_t klen, size_t *at)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(t->v[mid], key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < t->n && key_cmp(t->v[lo], key, klen) == 0;
}

/* Inserts m at position at. */
static void
mtab_insert(struct mtab *t, size_t at, struct ment *m)
{
	if (t->n == t->cap) {
		t->cap = t->cap > 0 ? t->cap * 2 : 4;
		t->v = xrealloc(t->v, t->cap * sizeof *t->v);
	}
	memmove(t->v + at + 1, t->v + at, (t->n - at) * sizeof *t->v);
	t->v[at] = m;
	t->n++;
}

/* Removes the entry at position at (without freeing it). */
static void
mtab_remove(struct mtab *t, size_t at)
{
	memmove(t->v + at, t->v + at + 1, (t->n - at - 1) * sizeof *t->v);
	t->n--;
}

/* The store behind a transaction. */
static struct mem_store *
txn_store(struct store_txn *txn)
{
	return (struct mem_store *)txn->st;
}

/* Appends an undo step to the open transaction. */
static void
undo_push(struct mem_txn *tx, enum store_table t, struct ment *m, bool absent)
{
	if (tx->n == tx->cap) {
		tx->cap = tx->cap > 0 ? tx->cap * 2 : 16;
		tx->log = xrealloc(tx->log, tx->cap * sizeof *tx->log);
	}
	tx->log[tx->n++] = (struct undo){m, (uint8_t)t, absent};
}

/* Ends a transaction: forgets the undo log and frees the scratch. */
static void
txn_clear(struct mem_txn *tx)
{
	free(tx->log);
	tx->log = NULL;
	tx->n = tx->cap = 0;
	for (size_t i = 0; i < tx->n_scratch; i++)
		free(tx->scratch[i]);
	free(tx->scratch);
	tx->scratch = NULL;
	tx->n_scratch = tx->cap_scratch = 0;
}

/* store_ops.begin */
static int
mem_begin(struct store *st, bool write, struct store_txn **out)
{
	*out = &((struct mem_store *)st)->txn.base;
	return 0;
}

/* Moves the blobs of the values the open transaction wrote to the shared
 * table.  Newest write first: the last write of a key is the first met,
 * and no earlier undo step names the entry it left (that entry is new),
 * so the entries share_written() replaces are never looked at again. */
static void
share_written(struct mem_store *s)
{
	struct mem_txn *tx = &s->txn;

	for (size_t i = tx->n; i-- > 0;) {
		struct undo *u = &tx->log[i];
		struct mtab *t = &s->tab[u->table];
		size_t head = store_blob_at(u->table), at;

		if (head > 0 && mtab_find(t, u->m->b, u->m->klen, &at))
			t->v[at] = ment_share(s->blobs, t->v[at], head);
	}
}

/* store_ops.commit: the entries the transaction replaced can go. */
static int
mem_commit(struct store_txn *txn)
{
	struct mem_store *s = txn_store(txn);
	struct mem_txn *tx = &s->txn;

	if (s->blobs != NULL)
		share_written(s);
	for (size_t i = 0; i < tx->n; i++)
		if (!tx->log[i].absent)
			ment_free(s->blobs, tx->log[i].m);
	txn_clear(tx);
	return 0;
}

/* store_ops.abort: undoes the writes, newest first. */
static void
mem_abort(struct store_txn *txn)
{
	struct mem_store *s = txn_store(txn);
	struct mem_txn *tx = &s->txn;

	for (size_t i = tx->n; i-- > 0;) {
		struct undo *u = &tx->log[i];
		struct mtab *t = &s->tab[u->table];
		size_t at;
		bool found = mtab_find(t, u->m->b, u->m->klen, &at);

		if (u->absent) {
			ment_free(s->blobs, t->v[at]);
			mtab_remove(t, at);
		} else if (found) {
			ment_free(s->blobs, t->v[at]);
			t->v[at] = u->m;
		} else {
			mtab_insert(t, at, u->m);
		}
	}
	txn_clear(tx);
}

/* Points *out at entry m, putting its value together in the scratch of
 * transaction tx if its blob is shared. */
static void
kv_out(struct mem_txn *tx, const struct ment *m, struct store_kv *out)
{
	size_t own;
	uint8_t *v;

	out->key = m->b;
	out->klen = m->klen;
	out->vlen = m->vlen;
	if (m->tail == NULL) {
		out->val = m->b + m->klen;
		return;
	}
	own = m->vlen - m->tail->len;
	v = xrealloc(NULL, m->vlen);
	memcpy(v, m->b + m->klen, own);
	memcpy(v + own, m->tail->b, m->tail->len);
	if (tx->n_scratch == tx->cap_scratch) {
		tx->cap_scratch = tx->cap_scratch > 0 ? tx->cap_scratch * 2 : 16;
		tx->scratch = xrealloc(
		    tx->scratch, tx->cap_scratch * sizeof *tx->scratch);
	}
	tx->scratch[tx->n_scratch++] = v;
	out->val = v;
}

/* store_ops.get */
static int
mem_get(struct store_txn *txn, enum store_table t, const void *key, size_t klen,
    struct store_kv *out)
{
	struct mtab *tab = &txn_store(txn)->tab[t];
	size_t at;

	if (!mtab_find(tab, key, klen, &at))
		return ANDNA_ENOTFOUND;
	kv_out(&txn_store(txn)->txn, tab->v[at], out);
	return 0;
}

/* store_ops.put */
static int
mem_put(struct store_txn *txn, enum store_table t, const void *key, size_t klen,
    size_t vlen, uint8_t **dst)
{
	struct mem_store *s = txn_store(txn);
	struct mtab *tab = &s->tab[t];
	struct ment *m = xrealloc(NULL, sizeof *m + klen + vlen);
	size_t at;

	m->klen = (uint32_t)klen;
	m->vlen = (uint32_t)vlen;
	m->tail = NULL;
	memcpy(m->b, key, klen);
	if (mtab_find(tab, key, klen, &at)) {
		undo_push(&s->txn, t, tab->v[at], false);
		tab->v[at] = m;
	} else {
		undo_push(&s->txn, t, m, true);
		mtab_insert(tab, at, m);
	}
	*dst = m->b + klen;
	return 0;
}

/* store_ops.del */
static int
mem_del(struct store_txn *txn, enum store_table t, const void *key, size_t klen)
{
	struct mem_store *s = txn_store(txn);
	struct mtab *tab = &s->tab[t];
	size_t at;

	if (!mtab_find(tab, key, klen, &at))
		return ANDNA_ENOTFOUND;
	undo_push(&s->txn, t, tab->v[at], false);
	mtab_remove(tab, at);
	return 0;
}

/* store_ops.cursor_open */
static int
mem_cursor_open(struct store_txn *txn, enum store_table t, void **cur)
{
	struct mem_cursor *c = xrealloc(NULL, sizeof *c);

	c->tx = &txn_store(txn)->txn;
	c->tab = &txn_store(txn)->tab[t];
	c->at = 0;
	*cur = c;
	return 0;
}

/* Reports the entry under cursor c. */
static int
cursor_here(const struct mem_cursor *c, struct store_kv *out)
{
	if (c->at >= c->tab->n)
		return ANDNA_ENOTFOUND;
	kv_out(c->tx, c->tab->v[c->at], out);
	return 0;
}

/* store_ops.cursor_seek */
static int
mem_cursor_seek(void *cur, const void *key, size_t klen, struct store_kv *out)
{
	struct mem_cursor *c = cur;

	mtab_find(c->tab, key, klen, &c->at);
	return cursor_here(c, out);
}

/* store_ops.cursor_next */
static int
mem_cursor_next(void *cur, struct store_kv *out)
{
	struct mem_cursor *c = cur;

	if (c->at < c->tab->n)
		c->at++;
	return cursor_here(c, out);
}

/* store_ops.cursor_close */
static void
mem_cursor_close(void *cur)
{
	free(cur);
}

/* store_ops.count */
static int
mem_count(struct store_txn *txn, enum store_table t, size_t *n)
{
	*n = txn_store(txn)->tab[t].n;
	return 0;
}

/* store_ops.close */
static void
mem_close(struct store *st)
{
	struct mem_store *s = (struct mem_store *)st;

	for (int t = 0; t < STORE_NTABLES; t++) {
		for (size_t i = 0; i < s->tab[t].n; i++)
			ment_free(s->blobs, s->tab[t].v[i]);
		free(s->tab[t].v);
	}
	free(s);
}

static const struct store_ops mem_ops = {
    .begin = mem_begin,
    .commit = mem_commit,
    .abort = mem_abort,
    .get = mem_get,
    .put = mem_put,
    .del = mem_del,
    .cursor_open = mem_cursor_open,
    .cursor_seek = mem_cursor_seek,
    .cursor_next = mem_cursor_next,
    .cursor_close = mem_cursor_close,
    .count = mem_count,
    .close = mem_close,
};

/* Makes an empty in-memory store. */
int
store_mem_open(struct store_blobs *shared, struct store **out)
{
	struct mem_store *s = xrealloc(NULL, sizeof *s);
	int rc;

	*out = NULL;
	memset(s, 0, sizeof *s);
	s->base.ops = &mem_ops;
	s->blobs = shared;
	if ((rc = store_schema_init(&s->base)) != 0) {
		mem_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return 0;
}
