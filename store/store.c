/* The typed layer over the back-end ops: value encodings, expiry indexes,
 * ordered walks.  Written once; both back ends run it unchanged.
 *
 * Every value starts with a version byte, then fixed fields (big endian),
 * then an optional blob that runs to the end.  Values of indexed tables put
 * expires_at right after the version byte, where the index code finds it
 * without knowing the table. */
#include "config.h"

#include <string.h>

#include "proto/err.h"
#include "store/store.h"

#define VALUE_VERSION 1
#define SCHEMA 3 /* 3: claims keep their host */
/* Largest raw value: a blob plus the largest fixed header. */
#define VAL_MAX (STORE_BLOB_MAX + 96)

/* The fixed heads of the values that end in a blob (see each encoder). */
#define OWN_HEAD (1 + ANDNA_PK_LEN + 8 + 8 + 1)
#define RECORD_HEAD (1 + 8 + 8 + ANDNA_PK_LEN + 8 + 1)
#define CLAIM_HEAD (1 + 8 + ANDNA_PK_LEN + 8 + HOST_LEN)
/* A claim's host: family, overlay address, IP (16) and port. */
#define HOST_LEN (1 + 4 + 16 + 2)
#define COUNTER_HEAD (1 + 8)
#define CACHE_HEAD (1 + 8 + 8 + 1)

_Static_assert(STORE_T_RECORDS_EXP == STORE_T_RECORDS + 1 &&
	STORE_T_CLAIMS_EXP == STORE_T_CLAIMS + 1 &&
	STORE_T_COUNTERS_EXP == STORE_T_COUNTERS + 1 &&
	STORE_T_CACHE_EXP == STORE_T_CACHE + 1,
    "an expiry index follows its table");

/* ---- Transactions ------------------------------------------------------ */

/* Closes whichever back end st is. */
void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

/* Begins a transaction; the one-at-a-time rule lives here. */
int
store_txn_begin(struct store *st, bool write, struct store_txn **out)
{
	struct store_txn *txn = NULL;
	int rc;

	*out = NULL;
	if (st->busy)
		return ANDNA_EBUSY;
	if ((rc = st->ops->begin(st, write, &txn)) != 0)
		return rc;
	txn->st = st;
	txn->gen = 0;
	txn->write = write;
	st->busy = true;
	*out = txn;
	return 0;
}

/* Commits through the back end and frees the store for the next. */
int
store_txn_commit(struct store_txn *txn)
{
	struct store *st = txn->st;
	int rc = st->ops->commit(txn);

	st->busy = false;
	return rc;
}

/* Aborts through the back end and frees the store for the next. */
void
store_txn_abort(struct store_txn *txn)
{
	struct store *st;

	if (txn == NULL)
		return;
	st = txn->st;
	st->ops->abort(txn);
	st->busy = false;
}

/* Runs a write transaction, once more if the map was full. */
int
store_write(struct store *st, store_txn_fn *fn, void *arg)
{
	struct store_txn *txn = NULL;
	int rc;

	for (int attempt = 0;; attempt++) {
		if ((rc = store_txn_begin(st, true, &txn)) != 0)
			return rc;
		if ((rc = fn(arg, txn)) == 0)
			rc = store_txn_commit(txn);
		else
			store_txn_abort(txn);
		if (rc != ANDNA_ESTORE_FULL || attempt > 0)
			return rc;
	}
}

/* ---- Raw access -------------------------------------------------------- */

/* Checks a raw table and key before they reach a back end. */
static int
raw_check(enum store_table t, size_t klen)
{
	return (unsigned)t < STORE_NTABLES && klen >= 1 && klen <= STORE_KEY_MAX
	    ? 0
	    : ANDNA_EINVAL;
}

/* Reads a raw entry. */
int
store_raw_get(struct store_txn *txn, enum store_table t, const void *key,
    size_t klen, struct store_kv *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = raw_check(t, klen)) != 0)
		return rc;
	return txn->st->ops->get(txn, t, key, klen, out);
}

/* The heads above, by table. */
size_t
store_blob_at(enum store_table t)
{
	switch (t) {
	case STORE_T_OWN:
		return OWN_HEAD;
	case STORE_T_RECORDS:
		return RECORD_HEAD;
	case STORE_T_CLAIMS:
		return CLAIM_HEAD;
	case STORE_T_COUNTERS:
		return COUNTER_HEAD;
	case STORE_T_CACHE:
		return CACHE_HEAD;
	default:
		return 0;
	}
}

/* Reserves a raw value; every write bumps gen for open iterators. */
int
store_raw_put(struct store_txn *txn, enum store_table t, const void *key,
    size_t klen, size_t vlen, uint8_t **dst)
{
	int rc;

	*dst = NULL;
	if ((rc = raw_check(t, klen)) != 0)
		return rc;
	if (!txn->write || vlen > VAL_MAX)
		return ANDNA_EINVAL;
	txn->gen++;
	return txn->st->ops->put(txn, t, key, klen, vlen, dst);
}

/* Deletes a raw entry. */
int
store_raw_del(
    struct store_txn *txn, enum store_table t, const void *key, size_t klen)
{
	int rc;

	if ((rc = raw_check(t, klen)) != 0)
		return rc;
	if (!txn->write)
		return ANDNA_EINVAL;
	txn->gen++;
	return txn->st->ops->del(txn, t, key, klen);
}

/* Counts a raw table. */
int
store_raw_count(struct store_txn *txn, enum store_table t, size_t *n)
{
	*n = 0;
	if ((unsigned)t >= STORE_NTABLES)
		return ANDNA_EINVAL;
	return txn->st->ops->count(txn, t, n);
}

/* ---- Ordered walks ----------------------------------------------------- */

/* A cursor that survives writes: it keeps a copy of the current key and
 * seeks past it again when the transaction has written since. */
struct iter {
	struct store_txn *txn;
	void *cur;
	uint32_t gen;
	uint8_t key[STORE_KEY_MAX];
	size_t klen;
	struct store_kv kv;
};

/* Records where a cursor move landed; keys longer than any store/ writes
 * come from a foreign file. */
static int
iter_land(struct iter *it, int rc)
{
	if (rc != 0)
		return rc;
	if (it->kv.klen > STORE_KEY_MAX)
		return ANDNA_ESTORE_CORRUPT;
	memcpy(it->key, it->kv.key, it->kv.klen);
	it->klen = it->kv.klen;
	it->gen = it->txn->gen;
	return 0;
}

/* Moves to the first key >= from (> from if `after`; klen 0: the first). */
static int
iter_seek(struct iter *it, const void *from, size_t len, bool after)
{
	const struct store_ops *ops = it->txn->st->ops;
	int rc = ops->cursor_seek(it->cur, from, len, &it->kv);

	if (rc == 0 && after && len > 0 && it->kv.klen == len &&
	    memcmp(it->kv.key, from, len) == 0)
		rc = ops->cursor_next(it->cur, &it->kv);
	return iter_land(it, rc);
}

/* Opens an iterator on t at the first key >= from (> from if `after`).
 * Returns 0 (it->kv is current), ANDNA_ENOTFOUND or an error; close the
 * iterator whatever the result. */
static int
iter_open(struct iter *it, struct store_txn *txn, enum store_table t,
    const void *from, size_t len, bool after)
{
	int rc;

	memset(it, 0, sizeof *it);
	it->txn = txn;
	if ((rc = txn->st->ops->cursor_open(txn, t, &it->cur)) != 0)
		return rc;
	return iter_seek(it, from, len, after);
}

/* Moves to the next key. */
static int
iter_next(struct iter *it)
{
	uint8_t key[STORE_KEY_MAX];
	size_t klen = it->klen;

	if (it->gen == it->txn->gen)
		return iter_land(
		    it, it->txn->st->ops->cursor_next(it->cur, &it->kv));
	memcpy(key, it->key, klen);
	return iter_seek(it, key, klen, true);
}

/* Releases the iterator's cursor. */
static void
iter_close(struct iter *it)
{
	if (it->cur != NULL)
		it->txn->st->ops->cursor_close(it->cur);
	it->cur = NULL;
}

/* Called by scan() per entry; returns like a visitor callback. */
typedef int scan_fn(void *ctx, const struct store_kv *kv);

/* Visits, in order, every entry of t whose key starts with prefix. */
static int
scan(struct store_txn *txn, enum store_table t, const void *prefix, size_t plen,
    scan_fn *fn, void *ctx)
{
	struct iter it;
	int rc = iter_open(&it, txn, t, prefix, plen, false);

	for (; rc == 0; rc = iter_next(&it)) {
		if (it.kv.klen < plen ||
		    (plen > 0 && memcmp(it.kv.key, prefix, plen) != 0))
			break;
		if ((rc = fn(ctx, &it.kv)) != 0)
			break;
	}
	iter_close(&it);
	return rc == ANDNA_ENOTFOUND || rc > 0 ? 0 : rc;
}

/* ---- Encodings --------------------------------------------------------- */

/* Writes v big endian at p and returns the byte after it. */
static uint8_t *
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return p + 8;
}

/* Copies n bytes to p and returns the byte after them. */
static uint8_t *
put_bytes(uint8_t *p, const void *src, size_t n)
{
	if (n > 0)
		memcpy(p, src, n);
	return p + n;
}

/* Reads a big-endian uint64 at p. */
static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* A bounds-checked reader over one stored value: a read past the end
 * marks it bad and yields zeros. */
struct rd {
	const uint8_t *p;
	size_t left;
	bool bad;
};

/* Takes n bytes, or NULL (and bad) if fewer are left. */
static const uint8_t *
rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

/* Takes one byte. */
static uint8_t
rd_u8(struct rd *r)
{
	const uint8_t *p = rd_take(r, 1);

	return p != NULL ? *p : 0;
}

/* Takes a big-endian uint64. */
static uint64_t
rd_u64(struct rd *r)
{
	const uint8_t *p = rd_take(r, 8);

	return p != NULL ? get_u64(p) : 0;
}

/* Copies n bytes to dst. */
static void
rd_copy(struct rd *r, void *dst, size_t n)
{
	const uint8_t *p = rd_take(r, n);

	if (p != NULL)
		memcpy(dst, p, n);
}

/* Takes the rest as a blob of min..STORE_BLOB_MAX bytes (NULL if empty). */
static void
rd_blob(struct rd *r, size_t min, const uint8_t **blob, size_t *len)
{
	size_t n = r->left;

	if (n < min || n > STORE_BLOB_MAX)
		r->bad = true;
	*len = n;
	*blob = n > 0 ? rd_take(r, n) : NULL;
}

/* Starts reading a value at its version byte. */
static void
rd_open(struct rd *r, const struct store_kv *kv)
{
	r->p = kv->val;
	r->left = kv->vlen;
	r->bad = false;
	if (rd_u8(r) != VALUE_VERSION)
		r->bad = true;
}

/* Ends a decode: 0, or ANDNA_ESTORE_CORRUPT with *out cleared. */
static int
rd_close(const struct rd *r, bool ok, void *out, size_t size)
{
	if (!r->bad && r->left == 0 && ok)
		return 0;
	memset(out, 0, size);
	return ANDNA_ESTORE_CORRUPT;
}

/* Returns the length of a valid name argument, or 0. */
static size_t
name_len(const char *name)
{
	size_t n = name != NULL ? strnlen(name, ANDNA_NAME_MAX + 1) : 0;

	return n <= ANDNA_NAME_MAX ? n : 0;
}

/* Copies a stored name of n bytes into name, checking it; false if bad. */
static bool
name_from_key(const uint8_t *p, size_t n, char name[ANDNA_NAME_MAX + 1])
{
	if (n < 1 || n > ANDNA_NAME_MAX || memchr(p, 0, n) != NULL)
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	return true;
}

/* Checks a blob argument of min..STORE_BLOB_MAX bytes. */
static bool
blob_ok(const uint8_t *p, size_t len, size_t min)
{
	return len >= min && len <= STORE_BLOB_MAX && (p != NULL || len == 0);
}

/* Builds the key h8 || name into k (room for 8 + ANDNA_NAME_MAX); returns
 * its length. */
static size_t
hname_key(uint8_t *k, uint64_t h8, const char *name, size_t nlen)
{
	return (size_t)(put_bytes(put_u64(k, h8), name, nlen) - k);
}

/* ---- Expiry indexes ---------------------------------------------------- */

/* Reads the expiry at the head of an indexed table's value. */
static bool
value_expiry(const struct store_kv *kv, uint64_t *exp)
{
	if (kv->vlen < 9 || kv->val[0] != VALUE_VERSION)
		return false;
	*exp = get_u64(kv->val + 1);
	return true;
}

/* Builds the index key exp || key into ik; returns its length. */
static size_t
index_key(uint8_t *ik, uint64_t exp, const uint8_t *key, size_t klen)
{
	return (size_t)(put_bytes(put_u64(ik, exp), key, klen) - ik);
}

/* Drops the index entry of key's current value in indexed table t.
 * Returns 0, ANDNA_ENOTFOUND (no such key) or an error.  A malformed value
 * leaves its index entry behind; store_sweep() drops it in time. */
static int
unindex(
    struct store_txn *txn, enum store_table t, const uint8_t *key, size_t klen)
{
	uint8_t ik[STORE_KEY_MAX];
	struct store_kv kv;
	uint64_t exp;
	int rc;

	if ((rc = store_raw_get(txn, t, key, klen, &kv)) != 0)
		return rc;
	if (!value_expiry(&kv, &exp))
		return 0;
	rc = store_raw_del(txn, t + 1, ik, index_key(ik, exp, key, klen));
	return rc == ANDNA_ENOTFOUND ? 0 : rc;
}

/* Reserves vlen bytes at *dst for key in indexed table t, expiring at exp;
 * the caller writes the version byte and exp first. */
static int
xput(struct store_txn *txn, enum store_table t, const uint8_t *key, size_t klen,
    uint64_t exp, size_t vlen, uint8_t **dst)
{
	uint8_t ik[STORE_KEY_MAX];
	uint8_t *unused;
	int rc;

	*dst = NULL;
	if ((rc = unindex(txn, t, key, klen)) != 0 && rc != ANDNA_ENOTFOUND)
		return rc;
	rc = store_raw_put(
	    txn, t + 1, ik, index_key(ik, exp, key, klen), 0, &unused);
	if (rc != 0)
		return rc;
	return store_raw_put(txn, t, key, klen, vlen, dst);
}

/* Deletes key and its index entry from indexed table t. */
static int
xdel(struct store_txn *txn, enum store_table t, const uint8_t *key, size_t klen)
{
	int rc;

	if ((rc = unindex(txn, t, key, klen)) != 0)
		return rc;
	return store_raw_del(txn, t, key, klen);
}

static int record_decode(const struct store_kv *kv, struct store_record *r);
static int claim_decode(const struct store_kv *kv, struct store_claim *c);
static int counter_decode(const struct store_kv *kv, struct store_counter *c);
static int cache_decode(const struct store_kv *kv, struct store_cache *c);

/* Fills what a sweep reports about an entry of t; 0 or corrupt. */
static int
expired_decode(
    enum store_table t, const struct store_kv *kv, struct store_expired *e)
{
	union {
		struct store_record r;
		struct store_claim c;
		struct store_counter n;
		struct store_cache k;
	} u;
	int rc = ANDNA_ESTORE_CORRUPT;

	memset(e, 0, sizeof *e);
	if (t == STORE_T_RECORDS && (rc = record_decode(kv, &u.r)) == 0) {
		e->h8 = u.r.h8;
		memcpy(e->name, u.r.name, sizeof e->name);
		memcpy(e->pk, u.r.pk, sizeof e->pk);
	} else if (t == STORE_T_CLAIMS && (rc = claim_decode(kv, &u.c)) == 0) {
		e->h8 = u.c.h8;
		memcpy(e->name, u.c.name, sizeof e->name);
		memcpy(e->pk, u.c.pk, sizeof e->pk);
	} else if (t == STORE_T_COUNTERS &&
	    (rc = counter_decode(kv, &u.n)) == 0) {
		e->h8 = u.n.h8;
		memcpy(e->pk, u.n.pk, sizeof e->pk);
	} else if (t == STORE_T_CACHE && (rc = cache_decode(kv, &u.k)) == 0) {
		if (!name_from_key(kv->key, kv->klen, e->name))
			rc = ANDNA_ESTORE_CORRUPT;
	}
	return rc;
}

/* Handles one due index entry ik of table t: deletes the entry it names if
 * that still expires at exp (or is malformed), then the index entry.
 * Sets *gone if an entry went. */
static int
expire_one(struct store_txn *txn, enum store_table t, const uint8_t *ik,
    size_t iklen, store_expired_cb *cb, void *arg, bool *gone)
{
	const uint8_t *key = ik + 8;
	size_t klen = iklen - 8;
	struct store_expired e;
	struct store_kv kv;
	uint64_t exp;
	bool report = false;
	int rc;

	*gone = false;
	rc = store_raw_get(txn, t, key, klen, &kv);
	if (rc == 0 && (!value_expiry(&kv, &exp) || exp == get_u64(ik))) {
		report = expired_decode(t, &kv, &e) == 0;
		if ((rc = store_raw_del(txn, t, key, klen)) != 0)
			return rc;
		*gone = true;
	} else if (rc != 0 && rc != ANDNA_ENOTFOUND) {
		return rc;
	}
	if ((rc = store_raw_del(txn, t + 1, ik, iklen)) != 0)
		return rc;
	if (report && cb != NULL)
		cb(arg, &e);
	return 0;
}

/* Drops due entries, walking the expiry index from its soonest end. */
int
store_sweep(struct store_txn *txn, enum store_table table, uint64_t now,
    size_t max, store_expired_cb *cb, void *arg, size_t *n)
{
	struct iter it;
	bool gone;
	int rc;

	*n = 0;
	if (table != STORE_T_RECORDS && table != STORE_T_CLAIMS &&
	    table != STORE_T_COUNTERS && table != STORE_T_CACHE)
		return ANDNA_EINVAL;
	rc = iter_open(&it, txn, table + 1, NULL, 0, false);
	for (; rc == 0 && *n < max; rc = iter_next(&it)) {
		if (it.klen > 8 && get_u64(it.key) > now)
			break;
		gone = false;
		if (it.klen <= 8)
			rc = store_raw_del(txn, table + 1, it.key, it.klen);
		else
			rc = expire_one(
			    txn, table, it.key, it.klen, cb, arg, &gone);
		if (rc != 0)
			break;
		*n += gone;
	}
	iter_close(&it);
	return rc == ANDNA_ENOTFOUND ? 0 : rc;
}

/* ---- Visitor plumbing -------------------------------------------------- */

/* What a typed walk hands scan(): the caller's callback and argument. */
struct visit {
	union {
		store_key_cb *key;
		store_own_cb *own;
		store_claim_cb *claim;
		store_counter_cb *counter;
		store_peer_cb *peer;
	} cb;
	void *arg;
};

/* ---- keys -------------------------------------------------------------- */

/* Checks one keys entry and points *sk at its secret key. */
static int
key_decode(const struct store_kv *kv, const uint8_t **sk)
{
	struct rd r;

	rd_open(&r, kv);
	*sk = rd_take(&r, ANDNA_SK_LEN);
	return rd_close(&r, kv->klen == ANDNA_PK_LEN, (void *)sk, sizeof *sk);
}

/* Stores a secret key. */
int
store_key_put(struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN],
    const uint8_t sk[ANDNA_SK_LEN])
{
	uint8_t *w;
	int rc;

	rc = store_raw_put(
	    txn, STORE_T_KEYS, pk, ANDNA_PK_LEN, 1 + ANDNA_SK_LEN, &w);
	if (rc != 0)
		return rc;
	*w = VALUE_VERSION;
	memcpy(w + 1, sk, ANDNA_SK_LEN);
	return 0;
}

/* Copies out a secret key. */
int
store_key_get(struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN],
    uint8_t sk[ANDNA_SK_LEN])
{
	struct store_kv kv;
	const uint8_t *p;
	int rc;

	memset(sk, 0, ANDNA_SK_LEN);
	if ((rc = store_raw_get(txn, STORE_T_KEYS, pk, ANDNA_PK_LEN, &kv)) ||
	    (rc = key_decode(&kv, &p)))
		return rc;
	memcpy(sk, p, ANDNA_SK_LEN);
	return 0;
}

/* Deletes a secret key. */
int
store_key_del(struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN])
{
	return store_raw_del(txn, STORE_T_KEYS, pk, ANDNA_PK_LEN);
}

/* scan() visitor of store_key_each. */
static int
key_visit(void *ctx, const struct store_kv *kv)
{
	const struct visit *v = ctx;
	const uint8_t *sk;
	int rc = key_decode(kv, &sk);

	return rc != 0 ? rc : v->cb.key(v->arg, kv->key);
}

/* Walks the stored public keys. */
int
store_key_each(struct store_txn *txn, store_key_cb *cb, void *arg)
{
	struct visit v = {.cb.key = cb, .arg = arg};

	return scan(txn, STORE_T_KEYS, NULL, 0, key_visit, &v);
}

/* ---- own --------------------------------------------------------------- */

/* Decodes an own entry. */
static int
own_decode(const struct store_kv *kv, struct store_own *o)
{
	struct rd r;
	bool ok;

	memset(o, 0, sizeof *o);
	ok = name_from_key(kv->key, kv->klen, o->name);
	rd_open(&r, kv);
	rd_copy(&r, o->pk, ANDNA_PK_LEN);
	o->registered_at = rd_u64(&r);
	o->last_renew = rd_u64(&r);
	o->flags = rd_u8(&r);
	rd_blob(&r, 1, &o->rec, &o->rec_len);
	return rd_close(&r, ok && (o->flags & ~STORE_OWN_QUEUED) == 0, o,
	    sizeof *o);
}

/* Stores an own name. */
int
store_own_put(struct store_txn *txn, const struct store_own *o)
{
	size_t nlen = name_len(o->name);
	uint8_t *w;
	int rc;

	if (nlen == 0 || !blob_ok(o->rec, o->rec_len, 1) ||
	    (o->flags & ~STORE_OWN_QUEUED) != 0)
		return ANDNA_EINVAL;
	rc = store_raw_put(
	    txn, STORE_T_OWN, o->name, nlen, OWN_HEAD + o->rec_len, &w);
	if (rc != 0)
		return rc;
	*w++ = VALUE_VERSION;
	w = put_bytes(w, o->pk, ANDNA_PK_LEN);
	w = put_u64(w, o->registered_at);
	w = put_u64(w, o->last_renew);
	*w++ = o->flags;
	put_bytes(w, o->rec, o->rec_len);
	return 0;
}

/* Reads an own name. */
int
store_own_get(struct store_txn *txn, const char *name, struct store_own *out)
{
	size_t nlen = name_len(name);
	struct store_kv kv;
	int rc;

	memset(out, 0, sizeof *out);
	if (nlen == 0)
		return ANDNA_EINVAL;
	if ((rc = store_raw_get(txn, STORE_T_OWN, name, nlen, &kv)) != 0)
		return rc;
	return own_decode(&kv, out);
}

/* Deletes an own name. */
int
store_own_del(struct store_txn *txn, const char *name)
{
	size_t nlen = name_len(name);

	if (nlen == 0)
		return ANDNA_EINVAL;
	return store_raw_del(txn, STORE_T_OWN, name, nlen);
}

/* scan() visitor of store_own_each. */
static int
own_visit(void *ctx, const struct store_kv *kv)
{
	const struct visit *v = ctx;
	struct store_own o;
	int rc = own_decode(kv, &o);

	return rc != 0 ? rc : v->cb.own(v->arg, &o);
}

/* Walks the own names. */
int
store_own_each(struct store_txn *txn, store_own_cb *cb, void *arg)
{
	struct visit v = {.cb.own = cb, .arg = arg};

	return scan(txn, STORE_T_OWN, NULL, 0, own_visit, &v);
}

/* ---- records ----------------------------------------------------------- */

/* Decodes a records entry. */
static int
record_decode(const struct store_kv *kv, struct store_record *r)
{
	struct rd v;
	bool ok;

	memset(r, 0, sizeof *r);
	ok = kv->klen > 8 && name_from_key(kv->key + 8, kv->klen - 8, r->name);
	r->h8 = ok ? get_u64(kv->key) : 0;
	rd_open(&v, kv);
	r->expires_at = rd_u64(&v);
	r->seq = rd_u64(&v);
	rd_copy(&v, r->pk, ANDNA_PK_LEN);
	r->stored_at = rd_u64(&v);
	r->flags = rd_u8(&v);
	rd_blob(&v, 1, &r->rec, &r->rec_len);
	return rd_close(
	    &v, ok && (r->flags & ~STORE_REC_FLAGS) == 0, r, sizeof *r);
}

/* Stores a record and indexes its expiry. */
int
store_record_put(struct store_txn *txn, const struct store_record *r)
{
	uint8_t key[8 + ANDNA_NAME_MAX];
	size_t nlen = name_len(r->name);
	uint8_t *w;
	int rc;

	if (nlen == 0 || !blob_ok(r->rec, r->rec_len, 1) ||
	    (r->flags & ~STORE_REC_FLAGS) != 0)
		return ANDNA_EINVAL;
	rc = xput(txn, STORE_T_RECORDS, key,
	    hname_key(key, r->h8, r->name, nlen), r->expires_at,
	    RECORD_HEAD + r->rec_len, &w);
	if (rc != 0)
		return rc;
	*w++ = VALUE_VERSION;
	w = put_u64(w, r->expires_at);
	w = put_u64(w, r->seq);
	w = put_bytes(w, r->pk, ANDNA_PK_LEN);
	w = put_u64(w, r->stored_at);
	*w++ = r->flags;
	put_bytes(w, r->rec, r->rec_len);
	return 0;
}

/* Reads a record. */
int
store_record_get(struct store_txn *txn, uint64_t h8, const char *name,
    struct store_record *out)
{
	uint8_t key[8 + ANDNA_NAME_MAX];
	size_t nlen = name_len(name);
	struct store_kv kv;
	int rc;

	memset(out, 0, sizeof *out);
	if (nlen == 0)
		return ANDNA_EINVAL;
	rc = store_raw_get(
	    txn, STORE_T_RECORDS, key, hname_key(key, h8, name, nlen), &kv);
	if (rc != 0)
		return rc;
	return record_decode(&kv, out);
}

/* Deletes a record and its index entry. */
int
store_record_del(struct store_txn *txn, uint64_t h8, const char *name)
{
	uint8_t key[8 + ANDNA_NAME_MAX];
	size_t nlen = name_len(name);

	if (nlen == 0)
		return ANDNA_EINVAL;
	return xdel(txn, STORE_T_RECORDS, key, hname_key(key, h8, name, nlen));
}

/* Walks one page of a hash range. */
int
store_record_range(struct store_txn *txn, uint64_t lo, uint64_t hi,
    struct store_pos *pos, size_t max, store_record_cb *cb, void *arg)
{
	struct store_record r;
	uint8_t from[8];
	struct iter it;
	size_t seen = 0;
	int rc;

	if (pos->done)
		return 0;
	if (pos->len > 0)
		rc = iter_open(
		    &it, txn, STORE_T_RECORDS, pos->key, pos->len, true);
	else
		rc = iter_open(&it, txn, STORE_T_RECORDS, from,
		    (size_t)(put_u64(from, lo) - from), false);
	for (; rc == 0; rc = iter_next(&it)) {
		if (max > 0 && seen == max)
			break;
		if (it.klen >= 8 && get_u64(it.key) > hi) {
			rc = ANDNA_ENOTFOUND;
			break;
		}
		memcpy(pos->key, it.key, it.klen);
		pos->len = (uint16_t)it.klen;
		seen++;
		if ((rc = record_decode(&it.kv, &r)) != 0 ||
		    (rc = cb(arg, &r)) != 0)
			break;
	}
	iter_close(&it);
	if (rc == ANDNA_ENOTFOUND)
		pos->done = true;
	return rc == ANDNA_ENOTFOUND || rc > 0 ? 0 : rc;
}

/* ---- claims ------------------------------------------------------------ */

/* Builds the prefix h8 || name || 0 shared by a name's claims. */
static size_t
claim_prefix(uint8_t *k, uint64_t h8, const char *name, size_t nlen)
{
	size_t n = hname_key(k, h8, name, nlen);

	k[n] = 0;
	return n + 1;
}

/* Writes a claim's host (HOST_LEN bytes); returns the byte after it. */
static uint8_t *
host_put(uint8_t *w, const struct claim_host *h)
{
	uint8_t ip[16] = { 0 };
	bool known = h->ep.family == 4 || h->ep.family == 6;

	if (known)
		memcpy(ip, h->ep.ip, sizeof(ip));
	*w++ = known ? h->ep.family : 0;
	for (int i = 3; i >= 0; i--)
		*w++ = (uint8_t)(known ? h->addr >> (8 * i) : 0);
	w = put_bytes(w, ip, sizeof(ip));
	*w++ = (uint8_t)(known ? h->ep.port >> 8 : 0);
	*w++ = (uint8_t)(known ? h->ep.port : 0);
	return w;
}

/* Reads a claim's host; an unknown family reads as no host. */
static void
host_get(struct rd *r, struct claim_host *h)
{
	uint8_t b[HOST_LEN] = { 0 };

	memset(h, 0, sizeof(*h));
	rd_copy(r, b, sizeof(b));
	if (b[0] != 4 && b[0] != 6)
		return;
	h->ep.family = b[0];
	h->addr = (ovl_addr_t)b[1] << 24 | (ovl_addr_t)b[2] << 16 |
	    (ovl_addr_t)b[3] << 8 | b[4];
	memcpy(h->ep.ip, b + 5, 16);
	h->ep.port = (uint16_t)(b[21] << 8 | b[22]);
}

/* Decodes a claims entry (key h8 || name || 0 || arrival, big endian). */
static int
claim_decode(const struct store_kv *kv, struct store_claim *c)
{
	struct rd r;
	bool ok;

	memset(c, 0, sizeof *c);
	ok = kv->klen > 8 + 1 + 8 && kv->key[kv->klen - 9] == 0 &&
	    name_from_key(kv->key + 8, kv->klen - 17, c->name);
	c->h8 = ok ? get_u64(kv->key) : 0;
	rd_open(&r, kv);
	c->expires_at = rd_u64(&r);
	rd_copy(&r, c->pk, ANDNA_PK_LEN);
	c->stored_at = rd_u64(&r);
	host_get(&r, &c->host);
	rd_blob(&r, 1, &c->rec, &c->rec_len);
	return rd_close(&r, ok, c, sizeof *c);
}

/* A walk over one name's claims: counts them, notes the first and last
 * arrival numbers and the last key, and finds pk's claim. */
struct claim_walk {
	const uint8_t *pk;
	size_t n;
	uint64_t first, last;
	uint8_t last_key[STORE_KEY_MAX];
	size_t last_len;
	uint8_t found[STORE_KEY_MAX]; /* key of pk's claim */
	size_t found_len;
};

/* scan() visitor of claim_find. */
static int
claim_walk_visit(void *ctx, const struct store_kv *kv)
{
	struct claim_walk *w = ctx;
	struct store_claim c;
	int rc;

	if ((rc = claim_decode(kv, &c)) != 0)
		return rc;
	w->last = get_u64(kv->key + kv->klen - 8);
	if (w->n++ == 0)
		w->first = w->last;
	memcpy(w->last_key, kv->key, kv->klen);
	w->last_len = kv->klen;
	if (w->pk != NULL && w->found_len == 0 &&
	    memcmp(c.pk, w->pk, ANDNA_PK_LEN) == 0) {
		memcpy(w->found, kv->key, kv->klen);
		w->found_len = kv->klen;
	}
	return 0;
}

/* Walks the claims of (h8, name), looking for pk's (pk may be NULL). */
static int
claim_find(struct store_txn *txn, uint64_t h8, const char *name,
    const uint8_t *pk, struct claim_walk *w)
{
	uint8_t prefix[8 + ANDNA_NAME_MAX + 1];
	size_t nlen = name_len(name);

	memset(w, 0, sizeof *w);
	w->pk = pk;
	if (nlen == 0)
		return ANDNA_EINVAL;
	return scan(txn, STORE_T_CLAIMS, prefix,
	    claim_prefix(prefix, h8, name, nlen), claim_walk_visit, w);
}

/* Arrival number of the first claim of an empty queue: the middle of the
 * range, so claims can be put both behind and in front. */
#define CLAIM_FIRST ((uint64_t)1 << 62)

/* Queues a claim behind the ones already waiting, or at the head. */
int
store_claim_add(struct store_txn *txn, const struct store_claim *c, size_t cap,
    bool at_head)
{
	uint8_t key[8 + ANDNA_NAME_MAX + 1 + 8];
	struct claim_walk walk;
	uint64_t arrival;
	size_t klen;
	uint8_t *w;
	int rc;

	if (!blob_ok(c->rec, c->rec_len, 1) || cap == 0)
		return ANDNA_EINVAL;
	if ((rc = claim_find(txn, c->h8, c->name, c->pk, &walk)) != 0)
		return rc;
	if (walk.found_len > 0 && !at_head)
		return ANDNA_EEXIST;
	if (walk.found_len > 0) {
		/* moves to the head: drop its place first */
		if ((rc = xdel(txn, STORE_T_CLAIMS, walk.found,
		    walk.found_len)) != 0 ||
		    (rc = claim_find(txn, c->h8, c->name, c->pk, &walk)) != 0)
			return rc;
	}
	if (walk.n >= cap && !at_head)
		return ANDNA_EQUEUE_FULL;
	if (walk.n >= cap &&
	    (rc = xdel(txn, STORE_T_CLAIMS, walk.last_key, walk.last_len)) != 0)
		return rc; /* the head is taken by force: the tail goes */
	arrival = walk.n == 0 ? CLAIM_FIRST : at_head ? walk.first - 1 :
	    walk.last + 1;
	klen = claim_prefix(key, c->h8, c->name, strlen(c->name));
	klen += (size_t)(put_u64(key + klen, arrival) - (key + klen));
	rc = xput(txn, STORE_T_CLAIMS, key, klen, c->expires_at,
	    CLAIM_HEAD + c->rec_len, &w);
	if (rc != 0)
		return rc;
	*w++ = VALUE_VERSION;
	w = put_u64(w, c->expires_at);
	w = put_bytes(w, c->pk, ANDNA_PK_LEN);
	w = put_u64(w, c->stored_at);
	w = host_put(w, &c->host);
	put_bytes(w, c->rec, c->rec_len);
	return 0;
}

/* scan() visitor of store_claim_list. */
static int
claim_visit(void *ctx, const struct store_kv *kv)
{
	const struct visit *v = ctx;
	struct store_claim c;
	int rc = claim_decode(kv, &c);

	return rc != 0 ? rc : v->cb.claim(v->arg, &c);
}

/* Walks a name's queue, head first. */
int
store_claim_list(struct store_txn *txn, uint64_t h8, const char *name,
    store_claim_cb *cb, void *arg)
{
	uint8_t prefix[8 + ANDNA_NAME_MAX + 1];
	struct visit v = {.cb.claim = cb, .arg = arg};
	size_t nlen = name_len(name);

	if (nlen == 0)
		return ANDNA_EINVAL;
	return scan(txn, STORE_T_CLAIMS, prefix,
	    claim_prefix(prefix, h8, name, nlen), claim_visit, &v);
}

/* Walks every name's queue, in (h8, name) order, each head first. */
int
store_claim_each(struct store_txn *txn, store_claim_cb *cb, void *arg)
{
	struct visit v = {.cb.claim = cb, .arg = arg};

	return scan(txn, STORE_T_CLAIMS, NULL, 0, claim_visit, &v);
}

/* Drops the head of a name's queue. */
int
store_claim_pop(struct store_txn *txn, uint64_t h8, const char *name)
{
	uint8_t prefix[8 + ANDNA_NAME_MAX + 1];
	uint8_t key[STORE_KEY_MAX];
	size_t nlen = name_len(name), plen, klen = 0;
	struct iter it;
	int rc;

	if (nlen == 0)
		return ANDNA_EINVAL;
	plen = claim_prefix(prefix, h8, name, nlen);
	rc = iter_open(&it, txn, STORE_T_CLAIMS, prefix, plen, false);
	if (rc == 0 && it.klen > plen && memcmp(it.key, prefix, plen) == 0) {
		klen = it.klen;
		memcpy(key, it.key, klen);
	}
	iter_close(&it);
	if (rc != 0 && rc != ANDNA_ENOTFOUND)
		return rc;
	return klen > 0 ? xdel(txn, STORE_T_CLAIMS, key, klen)
			: ANDNA_ENOTFOUND;
}

/* Drops one claimant's claim. */
int
store_claim_del(struct store_txn *txn, uint64_t h8, const char *name,
    const uint8_t pk[ANDNA_PK_LEN])
{
	struct claim_walk walk;
	int rc;

	if ((rc = claim_find(txn, h8, name, pk, &walk)) != 0)
		return rc;
	if (walk.found_len == 0)
		return ANDNA_ENOTFOUND;
	return xdel(txn, STORE_T_CLAIMS, walk.found, walk.found_len);
}

/* Counts a name's queue. */
int
store_claim_count(
    struct store_txn *txn, uint64_t h8, const char *name, size_t *n)
{
	struct claim_walk walk;
	int rc;

	*n = 0;
	if ((rc = claim_find(txn, h8, name, NULL, &walk)) != 0)
		return rc;
	*n = walk.n;
	return 0;
}

/* ---- counters ---------------------------------------------------------- */

/* Builds the key pk || h8; returns its length. */
static size_t
counter_key(uint8_t *k, const uint8_t *pk, uint64_t h8)
{
	return (size_t)(put_u64(put_bytes(k, pk, ANDNA_PK_LEN), h8) - k);
}

/* Decodes a counters entry. */
static int
counter_decode(const struct store_kv *kv, struct store_counter *c)
{
	bool ok = kv->klen == ANDNA_PK_LEN + 8;
	struct rd r;

	memset(c, 0, sizeof *c);
	if (ok) {
		memcpy(c->pk, kv->key, ANDNA_PK_LEN);
		c->h8 = get_u64(kv->key + ANDNA_PK_LEN);
	}
	rd_open(&r, kv);
	c->expires_at = rd_u64(&r);
	rd_blob(&r, 1, &c->rec, &c->rec_len);
	return rd_close(&r, ok, c, sizeof *c);
}

/* Stores or refreshes a tally entry. */
int
store_counter_put(struct store_txn *txn, const struct store_counter *c)
{
	uint8_t key[ANDNA_PK_LEN + 8];
	uint8_t *w;
	int rc;

	if (!blob_ok(c->rec, c->rec_len, 1))
		return ANDNA_EINVAL;
	rc = xput(txn, STORE_T_COUNTERS, key, counter_key(key, c->pk, c->h8),
	    c->expires_at, COUNTER_HEAD + c->rec_len, &w);
	if (rc != 0)
		return rc;
	*w++ = VALUE_VERSION;
	w = put_u64(w, c->expires_at);
	put_bytes(w, c->rec, c->rec_len);
	return 0;
}

/* Reads a tally entry. */
int
store_counter_get(struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN],
    uint64_t h8, struct store_counter *out)
{
	uint8_t key[ANDNA_PK_LEN + 8];
	struct store_kv kv;
	int rc;

	memset(out, 0, sizeof *out);
	rc = store_raw_get(
	    txn, STORE_T_COUNTERS, key, counter_key(key, pk, h8), &kv);
	if (rc != 0)
		return rc;
	return counter_decode(&kv, out);
}

/* Deletes a tally entry. */
int
store_counter_del(
    struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN], uint64_t h8)
{
	uint8_t key[ANDNA_PK_LEN + 8];

	return xdel(txn, STORE_T_COUNTERS, key, counter_key(key, pk, h8));
}

/* scan() visitor of store_counter_count. */
static int
count_visit(void *ctx, const struct store_kv *kv)
{
	(*(size_t *)ctx)++;
	return 0;
}

/* Counts one key's tally entries with a prefix walk. */
int
store_counter_count(
    struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN], size_t *n)
{
	*n = 0;
	return scan(txn, STORE_T_COUNTERS, pk, ANDNA_PK_LEN, count_visit, n);
}

/* scan() visitor of store_counter_each. */
static int
counter_visit(void *ctx, const struct store_kv *kv)
{
	const struct visit *v = ctx;
	struct store_counter c;
	int rc = counter_decode(kv, &c);

	return rc != 0 ? rc : v->cb.counter(v->arg, &c);
}

/* Walks the tally entries of one key or of all. */
int
store_counter_each(
    struct store_txn *txn, const uint8_t *pk, store_counter_cb *cb, void *arg)
{
	struct visit v = {.cb.counter = cb, .arg = arg};

	return scan(txn, STORE_T_COUNTERS, pk, pk != NULL ? ANDNA_PK_LEN : 0,
	    counter_visit, &v);
}

/* ---- cache ------------------------------------------------------------- */

/* Decodes a cache value: its expiry, until when it is fresh, a flag byte
 * (1: negative, no blob) and the blob. */
static int
cache_decode(const struct store_kv *kv, struct store_cache *c)
{
	struct rd r;
	uint8_t neg;

	memset(c, 0, sizeof *c);
	rd_open(&r, kv);
	c->expires_at = rd_u64(&r);
	c->fresh_until = rd_u64(&r);
	neg = rd_u8(&r);
	rd_blob(&r, neg == 0, &c->rec, &c->rec_len);
	return rd_close(
	    &r, neg <= 1 && (neg == 0 || c->rec_len == 0), c, sizeof *c);
}

/* Caches an answer, evicting past the cap. */
int
store_cache_put(struct store_txn *txn, const char *name,
    const struct store_cache *c, size_t cap)
{
	size_t nlen = name_len(name), n, evicted;
	bool neg = c->rec == NULL;
	uint8_t *w;
	int rc;

	if (nlen == 0 || cap == 0 || (neg && c->rec_len != 0) ||
	    (!neg && !blob_ok(c->rec, c->rec_len, 1)))
		return ANDNA_EINVAL;
	rc = xput(txn, STORE_T_CACHE, (const uint8_t *)name, nlen,
	    c->expires_at, CACHE_HEAD + c->rec_len, &w);
	if (rc != 0)
		return rc;
	*w++ = VALUE_VERSION;
	w = put_u64(w, c->expires_at);
	w = put_u64(w, c->fresh_until);
	*w++ = neg;
	put_bytes(w, c->rec, c->rec_len);
	if ((rc = store_raw_count(txn, STORE_T_CACHE, &n)) != 0 || n <= cap)
		return rc;
	return store_sweep(
	    txn, STORE_T_CACHE, UINT64_MAX, n - cap, NULL, NULL, &evicted);
}

/* Reads a cached answer that has not expired. */
int
store_cache_get(struct store_txn *txn, const char *name, uint64_t now,
    struct store_cache *out)
{
	size_t nlen = name_len(name);
	struct store_kv kv;
	int rc;

	memset(out, 0, sizeof *out);
	if (nlen == 0)
		return ANDNA_EINVAL;
	if ((rc = store_raw_get(txn, STORE_T_CACHE, name, nlen, &kv)) != 0 ||
	    (rc = cache_decode(&kv, out)) != 0)
		return rc;
	if (out->expires_at > now)
		return 0;
	memset(out, 0, sizeof *out);
	return ANDNA_ENOTFOUND;
}

/* ---- peers ------------------------------------------------------------- */

/* Builds the 4-byte big-endian key of addr. */
static void
peer_key(uint8_t k[4], ovl_addr_t addr)
{
	for (int i = 3; i >= 0; i--, addr >>= 8)
		k[i] = (uint8_t)addr;
}

/* Decodes a peers entry. */
static int
peer_decode(const struct store_kv *kv, struct store_peer *p)
{
	struct rd r;

	memset(p, 0, sizeof *p);
	if (kv->klen == 4)
		p->addr = (ovl_addr_t)kv->key[0] << 24 | kv->key[1] << 16 |
		    kv->key[2] << 8 | kv->key[3];
	rd_open(&r, kv);
	rd_copy(&r, p->pk, ANDNA_PK_LEN);
	p->last_heard = rd_u64(&r);
	rd_blob(&r, 0, &p->endpoints, &p->endpoints_len);
	return rd_close(&r, kv->klen == 4, p, sizeof *p);
}

/* Stores a peer. */
int
store_peer_put(struct store_txn *txn, const struct store_peer *p)
{
	uint8_t key[4];
	uint8_t *w;
	int rc;

	if (!blob_ok(p->endpoints, p->endpoints_len, 0))
		return ANDNA_EINVAL;
	peer_key(key, p->addr);
	rc = store_raw_put(txn, STORE_T_PEERS, key, sizeof key,
	    1 + ANDNA_PK_LEN + 8 + p->endpoints_len, &w);
	if (rc != 0)
		return rc;
	*w++ = VALUE_VERSION;
	w = put_bytes(w, p->pk, ANDNA_PK_LEN);
	w = put_u64(w, p->last_heard);
	put_bytes(w, p->endpoints, p->endpoints_len);
	return 0;
}

/* Reads a peer. */
int
store_peer_get(struct store_txn *txn, ovl_addr_t addr, struct store_peer *out)
{
	struct store_kv kv;
	uint8_t key[4];
	int rc;

	memset(out, 0, sizeof *out);
	peer_key(key, addr);
	if ((rc = store_raw_get(txn, STORE_T_PEERS, key, sizeof key, &kv)))
		return rc;
	return peer_decode(&kv, out);
}

/* Deletes a peer. */
int
store_peer_del(struct store_txn *txn, ovl_addr_t addr)
{
	uint8_t key[4];

	peer_key(key, addr);
	return store_raw_del(txn, STORE_T_PEERS, key, sizeof key);
}

/* scan() visitor of store_peer_each. */
static int
peer_visit(void *ctx, const struct store_kv *kv)
{
	const struct visit *v = ctx;
	struct store_peer p;
	int rc = peer_decode(kv, &p);

	return rc != 0 ? rc : v->cb.peer(v->arg, &p);
}

/* Walks the peers. */
int
store_peer_each(struct store_txn *txn, store_peer_cb *cb, void *arg)
{
	struct visit v = {.cb.peer = cb, .arg = arg};

	return scan(txn, STORE_T_PEERS, NULL, 0, peer_visit, &v);
}

/* ---- meta -------------------------------------------------------------- */

/* Returns the length of a valid meta key, or 0. */
static size_t
meta_key_len(const char *key)
{
	size_t n = key != NULL ? strnlen(key, STORE_META_KEY_MAX + 1) : 0;

	return n <= STORE_META_KEY_MAX ? n : 0;
}

/* Stores a setting. */
int
store_meta_put(
    struct store_txn *txn, const char *key, const void *val, size_t len)
{
	size_t klen = meta_key_len(key);
	uint8_t *w;
	int rc;

	if (klen == 0 || !blob_ok(val, len, 0))
		return ANDNA_EINVAL;
	if ((rc = store_raw_put(txn, STORE_T_META, key, klen, 1 + len, &w)))
		return rc;
	*w++ = VALUE_VERSION;
	put_bytes(w, val, len);
	return 0;
}

/* Reads a setting. */
int
store_meta_get(
    struct store_txn *txn, const char *key, const uint8_t **val, size_t *len)
{
	size_t klen = meta_key_len(key);
	struct store_kv kv;
	struct rd r;
	int rc;

	*val = NULL;
	*len = 0;
	if (klen == 0)
		return ANDNA_EINVAL;
	if ((rc = store_raw_get(txn, STORE_T_META, key, klen, &kv)) != 0)
		return rc;
	rd_open(&r, &kv);
	rd_blob(&r, 0, val, len);
	if ((rc = rd_close(&r, true, (void *)val, sizeof *val)) != 0)
		*len = 0;
	return rc;
}

/* Stamps a new store with the schema, or checks an old one's. */
int
store_schema_init(struct store *st)
{
	static const uint8_t schema = SCHEMA;
	struct store_txn *txn = NULL;
	const uint8_t *v;
	size_t len;
	int rc;

	if (store_txn_begin(st, true, &txn) != 0)
		return ANDNA_ESTORE_OPEN;
	rc = store_meta_get(txn, "schema", &v, &len);
	if (rc == ANDNA_ENOTFOUND)
		rc = store_meta_put(txn, "schema", &schema, 1);
	else if (rc == 0 && (len != 1 || *v != SCHEMA))
		rc = ANDNA_ESTORE_SCHEMA;
	if (rc != 0) {
		store_txn_abort(txn);
		return rc == ANDNA_ESTORE_SCHEMA ? rc : ANDNA_ESTORE_OPEN;
	}
	return store_txn_commit(txn) == 0 ? 0 : ANDNA_ESTORE_OPEN;
}
