/* The in-memory back end for the simulator: per table a sorted array of
 * entries (one allocation each, key and value side by side), and an undo
 * log that lets a write transaction roll back. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/err.h"
#include "store/store.h"

/* One entry: klen key bytes, then vlen value bytes. */
struct ment {
	uint32_t klen;
	uint32_t vlen;
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
};

struct mem_cursor {
	struct mtab *tab;
	size_t at;
};

struct mem_store {
	struct store base;
	struct mtab tab[STORE_NTABLES];
	struct mem_txn txn; /* the one open transaction */
};

/* Allocates or aborts: running out of memory is fatal. */
static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		abort();
	return p;
}

/* Frees an entry, wiping it first since the keys table holds secrets. */
static void
ment_free(struct ment *m)
{
	sodium_memzero(m, sizeof *m + m->klen + m->vlen);
	free(m);
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

/* Forgets the undo log. */
static void
undo_clear(struct mem_txn *tx)
{
	free(tx->log);
	tx->log = NULL;
	tx->n = tx->cap = 0;
}

/* store_ops.begin */
static int
mem_begin(struct store *st, bool write, struct store_txn **out)
{
	*out = &((struct mem_store *)st)->txn.base;
	return 0;
}

/* store_ops.commit: the entries the transaction replaced can go. */
static int
mem_commit(struct store_txn *txn)
{
	struct mem_txn *tx = &txn_store(txn)->txn;

	for (size_t i = 0; i < tx->n; i++)
		if (!tx->log[i].absent)
			ment_free(tx->log[i].m);
	undo_clear(tx);
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
			ment_free(t->v[at]);
			mtab_remove(t, at);
		} else if (found) {
			ment_free(t->v[at]);
			t->v[at] = u->m;
		} else {
			mtab_insert(t, at, u->m);
		}
	}
	undo_clear(tx);
}

/* Points *out at entry m. */
static void
kv_out(const struct ment *m, struct store_kv *out)
{
	out->key = m->b;
	out->klen = m->klen;
	out->val = m->b + m->klen;
	out->vlen = m->vlen;
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
	kv_out(tab->v[at], out);
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
	kv_out(c->tab->v[c->at], out);
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
			ment_free(s->tab[t].v[i]);
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
store_mem_open(struct store **out)
{
	struct mem_store *s = xrealloc(NULL, sizeof *s);
	int rc;

	*out = NULL;
	memset(s, 0, sizeof *s);
	s->base.ops = &mem_ops;
	if ((rc = store_schema_init(&s->base)) != 0) {
		mem_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return 0;
}
