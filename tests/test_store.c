/* The store: every shared test runs on the in-memory back end, on it again
 * with blobs shared (as in the simulator), and on LMDB, through the same
 * typed layer; then the test of shared blobs and the LMDB-only tests
 * (durability, map growth, bad files, permissions). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/err.h"
#include "store/store.h"

/* A test's world: a temp dir, the store (if open) and its open txn. */
struct fx {
	char tmp[64];
	char dir[96]; /* tmp/db: the LMDB data directory */
	struct store *st;
	struct store_txn *txn;
	struct store_blobs *blobs; /* the in-memory store's, or NULL */
};

static const uint8_t blob_a[] = {0x93, 0x01, 0x02, 0x03};
static const uint8_t blob_b[] = {0x92, 0xaa, 0xbb};

/* Makes a fixture with a fresh temp dir and no store. */
static int
setup_dir(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	strcpy(f->tmp, "/tmp/andna-store-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->dir, sizeof f->dir, "%s/db", f->tmp);
	*state = f;
	return 0;
}

/* Fixture with an in-memory store. */
static int
setup_mem(void **state)
{
	setup_dir(state);
	return store_mem_open(NULL, &((struct fx *)*state)->st);
}

/* Fixture with an in-memory store sharing its blobs. */
static int
setup_shared(void **state)
{
	struct fx *f;

	setup_dir(state);
	f = *state;
	f->blobs = store_blobs_new();
	return store_mem_open(f->blobs, &f->st);
}

/* Fixture with an LMDB store. */
static int
setup_lmdb(void **state)
{
	struct fx *f;

	setup_dir(state);
	f = *state;
	return store_lmdb_open(f->dir, NULL, &f->st);
}

/* nftw() callback removing one file or directory. */
static int
rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	return remove(path);
}

/* Closes the store, checks that its shared blobs went with it, and removes
 * the temp dir. */
static int
teardown(void **state)
{
	struct fx *f = *state;
	size_t n, bytes;

	store_txn_abort(f->txn);
	store_close(f->st);
	if (f->blobs != NULL) {
		store_blobs_count(f->blobs, &n, &bytes);
		assert_int_equal(n, 0);
		assert_int_equal(bytes, 0);
		store_blobs_free(f->blobs);
	}
	assert_int_equal(nftw(f->tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

/* Begins a transaction into f->txn. */
static struct store_txn *
begin(struct fx *f, bool write)
{
	assert_null(f->txn);
	assert_int_equal(store_txn_begin(f->st, write, &f->txn), 0);
	return f->txn;
}

/* Commits f->txn. */
static void
commit(struct fx *f)
{
	assert_int_equal(store_txn_commit(f->txn), 0);
	f->txn = NULL;
}

/* Aborts f->txn. */
static void
abort_txn(struct fx *f)
{
	store_txn_abort(f->txn);
	f->txn = NULL;
}

/* A public key made of one repeated byte. */
static const uint8_t *
pk_of(uint8_t b)
{
	static uint8_t pks[256][ANDNA_PK_LEN];

	memset(pks[b], b, ANDNA_PK_LEN);
	return pks[b];
}

/* A record with the given identity and expiry, holding blob_a. */
static struct store_record
rec_make(uint64_t h8, const char *name, uint64_t exp)
{
	struct store_record r = {.h8 = h8,
	    .seq = 7,
	    .stored_at = 11,
	    .expires_at = exp,
	    .rec = blob_a,
	    .rec_len = sizeof blob_a};

	snprintf(r.name, sizeof r.name, "%s", name);
	memcpy(r.pk, pk_of(0x42), ANDNA_PK_LEN);
	return r;
}

/* Entries seen by a collecting visitor. */
struct seen {
	int n;
	uint64_t h8[128];
	char name[128][ANDNA_NAME_MAX + 1];
	uint8_t pk[128];
	int stop_after; /* > 0: return 1 after this many */
};

/* Notes one visited entry; stops when asked to. */
static int
seen_add(struct seen *s, uint64_t h8, const char *name, const uint8_t *pk)
{
	assert_true(s->n < 128);
	s->h8[s->n] = h8;
	snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
	s->pk[s->n] = pk != NULL ? pk[0] : 0;
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after;
}

/* Visitor that notes each key. */
static int
key_cb(void *arg, const uint8_t pk[ANDNA_PK_LEN])
{
	return seen_add(arg, 0, "", pk);
}

/* Visitor that notes each own. */
static int
own_cb(void *arg, const struct store_own *o)
{
	return seen_add(arg, 0, o->name, o->pk);
}

/* Visitor that notes each record. */
static int
record_cb(void *arg, const struct store_record *r)
{
	return seen_add(arg, r->h8, r->name, r->pk);
}

/* Visitor that notes each claim. */
static int
claim_cb(void *arg, const struct store_claim *c)
{
	return seen_add(arg, c->h8, c->name, c->pk);
}

/* Visitor that notes each counter. */
static int
counter_cb(void *arg, const struct store_counter *c)
{
	return seen_add(arg, c->h8, "", c->pk);
}

/* Visitor that notes each peer. */
static int
peer_cb(void *arg, const struct store_peer *p)
{
	return seen_add(arg, p->addr, "", p->pk);
}

/* Sweep callback that notes each removed entry. */
static void
expired_cb(void *arg, const struct store_expired *e)
{
	seen_add(arg, e->h8, e->name, e->pk);
}

/* ---- shared tests ------------------------------------------------------ */

/* One transaction at a time, read-only means read-only, abort drops. */
static void
test_txn_rules(void **state)
{
	struct fx *f = *state;
	struct store_txn *other = (void *)1;
	const uint8_t *v;
	size_t len;

	begin(f, false);
	assert_int_equal(store_txn_begin(f->st, true, &other), ANDNA_EBUSY);
	assert_null(other);
	assert_int_equal(store_meta_put(f->txn, "k", "v", 1), ANDNA_EINVAL);
	abort_txn(f);

	begin(f, true);
	assert_int_equal(store_meta_put(f->txn, "k", "v1", 2), 0);
	abort_txn(f);
	begin(f, false);
	assert_int_equal(
	    store_meta_get(f->txn, "k", &v, &len), ANDNA_ENOTFOUND);
	assert_null(v);
	abort_txn(f);

	begin(f, true);
	assert_int_equal(store_meta_put(f->txn, "k", "v2", 2), 0);
	commit(f);
	begin(f, false);
	assert_int_equal(store_meta_get(f->txn, "k", &v, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(v, "v2", 2);
	abort_txn(f);
}

/* store_write: body for the tests; arg says what it returns. */
static int
write_meta_fn(void *arg, struct store_txn *txn)
{
	int rc = store_meta_put(txn, "w", "x", 1);

	return rc != 0 ? rc : *(int *)arg;
}

/* store_write commits on 0 and rolls back on an error. */
static void
test_store_write(void **state)
{
	struct fx *f = *state;
	int result = ANDNA_ELIMIT;
	const uint8_t *v;
	size_t len;

	assert_int_equal(store_write(f->st, write_meta_fn, &result), result);
	begin(f, false);
	assert_int_equal(
	    store_meta_get(f->txn, "w", &v, &len), ANDNA_ENOTFOUND);
	abort_txn(f);
	result = 0;
	assert_int_equal(store_write(f->st, write_meta_fn, &result), 0);
	begin(f, false);
	assert_int_equal(store_meta_get(f->txn, "w", &v, &len), 0);
	assert_int_equal(len, 1);
	abort_txn(f);
}

/* Raw keys order as LMDB orders them: bytes, then shorter first. */
static void
test_raw_order(void **state)
{
	static const char *keys[] = {"b", "abc", "a", "ab", "\x01"};
	static const char *want[] = {"\x01", "a", "ab", "abc", "b"};
	const struct store_ops *ops;
	struct fx *f = *state;
	struct store_kv kv;
	void *cur = NULL;
	uint8_t *w;
	size_t n;
	int rc, i = 0;

	begin(f, true);
	ops = f->st->ops;
	for (size_t k = 0; k < 5; k++)
		assert_int_equal(store_raw_put(f->txn, STORE_T_OWN, keys[k],
				     strlen(keys[k]), 0, &w),
		    0);
	assert_int_equal(store_raw_count(f->txn, STORE_T_OWN, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(ops->cursor_open(f->txn, STORE_T_OWN, &cur), 0);
	for (rc = ops->cursor_seek(cur, NULL, 0, &kv); rc == 0;
	     rc = ops->cursor_next(cur, &kv), i++) {
		assert_int_equal(kv.klen, strlen(want[i]));
		assert_memory_equal(kv.key, want[i], kv.klen);
	}
	assert_int_equal(rc, ANDNA_ENOTFOUND);
	assert_int_equal(i, 5);
	assert_int_equal(ops->cursor_seek(cur, "aa", 2, &kv), 0);
	assert_memory_equal(kv.key, "ab", 2);
	assert_int_equal(ops->cursor_seek(cur, "c", 1, &kv), ANDNA_ENOTFOUND);
	ops->cursor_close(cur);
	assert_int_equal(
	    store_raw_put(f->txn, STORE_NTABLES, "a", 1, 0, &w), ANDNA_EINVAL);
	assert_int_equal(
	    store_raw_del(f->txn, STORE_T_OWN, "zz", 2), ANDNA_ENOTFOUND);
	commit(f);
}

/* keys: put, get, replace, delete, list in order. */
static void
test_keys(void **state)
{
	struct fx *f = *state;
	uint8_t sk[ANDNA_SK_LEN], want[ANDNA_SK_LEN];
	struct seen s = {0};

	begin(f, true);
	for (uint8_t b = 3; b >= 1; b--) {
		memset(want, 0x10 + b, sizeof want);
		assert_int_equal(store_key_put(f->txn, pk_of(b), want), 0);
	}
	commit(f);
	begin(f, true);
	memset(want, 0x12, sizeof want);
	assert_int_equal(store_key_get(f->txn, pk_of(2), sk), 0);
	assert_memory_equal(sk, want, sizeof sk);
	assert_int_equal(store_key_each(f->txn, key_cb, &s), 0);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.pk[i], i + 1);

	assert_int_equal(store_key_del(f->txn, pk_of(2)), 0);
	assert_int_equal(store_key_del(f->txn, pk_of(2)), ANDNA_ENOTFOUND);
	memset(sk, 0xaa, sizeof sk);
	assert_int_equal(store_key_get(f->txn, pk_of(2), sk), ANDNA_ENOTFOUND);
	memset(want, 0, sizeof want);
	assert_memory_equal(sk, want, sizeof sk);

	memset(want, 0x77, sizeof want);
	assert_int_equal(store_key_put(f->txn, pk_of(1), want), 0);
	assert_int_equal(store_key_get(f->txn, pk_of(1), sk), 0);
	assert_memory_equal(sk, want, sizeof sk);
	memset(&s, 0, sizeof s);
	s.stop_after = 1;
	assert_int_equal(store_key_each(f->txn, key_cb, &s), 0);
	assert_int_equal(s.n, 1);
	commit(f);
}

/* own: put, get every field, replace, delete, walk, bad arguments. */
static void
test_own(void **state)
{
	struct fx *f = *state;
	struct store_own o = {.registered_at = 1000,
			     .last_renew = 2000,
			     .rec = blob_a,
			     .rec_len = sizeof blob_a},
			 got;
	char long_name[ANDNA_NAME_MAX + 2];
	struct seen s = {0};

	begin(f, true);
	memcpy(o.pk, pk_of(9), ANDNA_PK_LEN);
	strcpy(o.name, "b.example");
	assert_int_equal(store_own_put(f->txn, &o), 0);
	strcpy(o.name, "a.example");
	o.rec = blob_b;
	o.rec_len = sizeof blob_b;
	assert_int_equal(store_own_put(f->txn, &o), 0);
	commit(f);

	begin(f, true);
	assert_int_equal(store_own_get(f->txn, "b.example", &got), 0);
	assert_string_equal(got.name, "b.example");
	assert_memory_equal(got.pk, pk_of(9), ANDNA_PK_LEN);
	assert_int_equal(got.registered_at, 1000);
	assert_int_equal(got.last_renew, 2000);
	assert_int_equal(got.rec_len, sizeof blob_a);
	assert_memory_equal(got.rec, blob_a, sizeof blob_a);

	assert_int_equal(store_own_each(f->txn, own_cb, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "a.example");
	assert_string_equal(s.name[1], "b.example");

	o.last_renew = 3000;
	assert_int_equal(store_own_put(f->txn, &o), 0);
	assert_int_equal(store_own_get(f->txn, "a.example", &got), 0);
	assert_int_equal(got.last_renew, 3000);
	assert_int_equal(store_own_del(f->txn, "a.example"), 0);
	assert_int_equal(
	    store_own_get(f->txn, "a.example", &got), ANDNA_ENOTFOUND);
	assert_null(got.rec);
	assert_int_equal(got.name[0], '\0');

	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	assert_int_equal(store_own_get(f->txn, long_name, &got), ANDNA_EINVAL);
	assert_int_equal(store_own_get(f->txn, "", &got), ANDNA_EINVAL);
	o.rec_len = 0;
	assert_int_equal(store_own_put(f->txn, &o), ANDNA_EINVAL);
	o.rec_len = STORE_BLOB_MAX + 1;
	assert_int_equal(store_own_put(f->txn, &o), ANDNA_EINVAL);
	commit(f);
}

/* records: every field round-trips; replace, delete, flags checked. */
static void
test_records(void **state)
{
	struct fx *f = *state;
	struct store_record r = rec_make(0x1122334455667788, "host.lan", 900),
			    got;

	r.flags = STORE_REC_BACKUP;
	begin(f, true);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	commit(f);
	begin(f, true);
	assert_int_equal(store_record_get(f->txn, r.h8, "host.lan", &got), 0);
	assert_int_equal(got.h8, r.h8);
	assert_string_equal(got.name, "host.lan");
	assert_memory_equal(got.pk, r.pk, ANDNA_PK_LEN);
	assert_int_equal(got.seq, 7);
	assert_int_equal(got.stored_at, 11);
	assert_int_equal(got.expires_at, 900);
	assert_int_equal(got.flags, STORE_REC_BACKUP);
	assert_int_equal(got.rec_len, sizeof blob_a);
	assert_memory_equal(got.rec, blob_a, sizeof blob_a);
	assert_int_equal(store_record_get(f->txn, r.h8 + 1, "host.lan", &got),
	    ANDNA_ENOTFOUND);

	r.seq = 8;
	r.flags = 0;
	r.rec = blob_b;
	r.rec_len = sizeof blob_b;
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(store_record_get(f->txn, r.h8, "host.lan", &got), 0);
	assert_int_equal(got.seq, 8);
	assert_int_equal(got.flags, 0);
	assert_memory_equal(got.rec, blob_b, sizeof blob_b);

	r.flags = 0x04;
	assert_int_equal(store_record_put(f->txn, &r), ANDNA_EINVAL);
	assert_int_equal(store_record_del(f->txn, r.h8, "host.lan"), 0);
	assert_int_equal(
	    store_record_del(f->txn, r.h8, "host.lan"), ANDNA_ENOTFOUND);
	commit(f);
}

/* Orders (h8, name) pairs as the records table does. */
static int
hname_cmp(uint64_t ha, const char *a, uint64_t hb, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int c;

	if (ha != hb)
		return ha < hb ? -1 : 1;
	if ((c = memcmp(a, b, la < lb ? la : lb)) != 0)
		return c;
	return (la > lb) - (la < lb);
}

/* A hash range walked in pages of 7, each page in its own transaction,
 * yields exactly the records in range, in order, once each. */
static void
test_record_range(void **state)
{
	const uint64_t lo = 0x4000000000000000, hi = 0xbfffffffffffffff;
	struct fx *f = *state;
	struct store_pos pos = {0};
	struct seen s = {0};
	int want = 0, pages = 0, shared = 0;
	char name[32];

	begin(f, true);
	for (int i = 0; i < 60; i++) {
		uint64_t h8 = (uint64_t)(i + 1) * 0x9e3779b97f4a7c15;
		struct store_record r;

		snprintf(name, sizeof name, "n%d", i);
		r = rec_make(h8, name, 1000);
		assert_int_equal(store_record_put(f->txn, &r), 0);
		want += h8 >= lo && h8 <= hi;
	}
	/* one hash shared by three names */
	for (int i = 0; i < 3; i++) {
		struct store_record r = rec_make(
		    0x5000000000000000, (const char *[]){"y", "x", "xa"}[i], 9);

		assert_int_equal(store_record_put(f->txn, &r), 0);
	}
	want += 3;
	commit(f);

	while (!pos.done) {
		int before = s.n;

		begin(f, false);
		assert_int_equal(
		    store_record_range(f->txn, lo, hi, &pos, 7, record_cb, &s),
		    0);
		abort_txn(f);
		assert_true(s.n - before <= 7);
		pages++;
	}
	assert_int_equal(s.n, want);
	assert_int_equal(pages, want / 7 + 1);
	for (int i = 0; i < s.n; i++) {
		assert_true(s.h8[i] >= lo && s.h8[i] <= hi);
		if (i > 0)
			assert_true(hname_cmp(s.h8[i - 1], s.name[i - 1],
					s.h8[i], s.name[i]) < 0);
		if (strcmp(s.name[i], "x") == 0) {
			assert_string_equal(s.name[i + 1], "xa");
			assert_string_equal(s.name[i + 2], "y");
			shared++;
		}
	}
	assert_int_equal(shared, 1);

	/* the whole table at once, and an early stop */
	memset(&s, 0, sizeof s);
	memset(&pos, 0, sizeof pos);
	begin(f, false);
	assert_int_equal(
	    store_record_range(f->txn, 0, UINT64_MAX, &pos, 0, record_cb, &s),
	    0);
	assert_int_equal(s.n, 63);
	assert_true(pos.done);
	memset(&s, 0, sizeof s);
	memset(&pos, 0, sizeof pos);
	s.stop_after = 2;
	assert_int_equal(
	    store_record_range(f->txn, 0, UINT64_MAX, &pos, 0, record_cb, &s),
	    0);
	assert_int_equal(s.n, 2);
	assert_false(pos.done);
	abort_txn(f);
}

/* A sweep removes only what is due, soonest first, at most max per call,
 * and follows a record whose expiry was moved. */
static void
test_record_sweep(void **state)
{
	struct fx *f = *state;
	struct seen s = {0};
	struct store_record r, got;
	char name[16];
	size_t n, total = 0, left;

	begin(f, true);
	for (int i = 19; i >= 0; i--) {
		snprintf(name, sizeof name, "r%02d", i);
		r = rec_make((uint64_t)(19 - i), name, 1000 + (uint64_t)i * 10);
		assert_int_equal(store_record_put(f->txn, &r), 0);
	}
	/* r05 moves from 1050 to 5000: its old index entry must not bite */
	r = rec_make(14, "r05", 5000);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	commit(f);

	for (int call = 0; call < 3; call++) {
		begin(f, true);
		assert_int_equal(store_sweep(f->txn, STORE_T_RECORDS, 1095, 3,
				     expired_cb, &s, &n),
		    0);
		commit(f);
		assert_int_equal(n, 3);
		total += n;
	}
	begin(f, true);
	assert_int_equal(
	    store_sweep(f->txn, STORE_T_RECORDS, 1095, 3, expired_cb, &s, &n),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(total, 9);
	assert_int_equal(s.n, 9);
	for (int i = 0, want = 0; i < 9; i++, want++) {
		want += want == 5;
		snprintf(name, sizeof name, "r%02d", want);
		assert_string_equal(s.name[i], name);
		assert_int_equal(s.h8[i], 19 - want);
		assert_int_equal(s.pk[i], 0x42);
	}
	assert_int_equal(store_record_get(f->txn, 14, "r05", &got), 0);
	assert_int_equal(
	    store_record_get(f->txn, 10, "r09", &got), ANDNA_ENOTFOUND);
	assert_int_equal(store_raw_count(f->txn, STORE_T_RECORDS, &left), 0);
	assert_int_equal(left, 11);
	assert_int_equal(
	    store_raw_count(f->txn, STORE_T_RECORDS_EXP, &left), 0);
	assert_int_equal(left, 11);
	assert_int_equal(store_sweep(f->txn, STORE_T_OWN, 1, 1, NULL, NULL, &n),
	    ANDNA_EINVAL);
	commit(f);
}

/* Adds pk's claim on (h8, name) with the given expiry, behind the others
 * or at the head. */
static int
claim_put(struct fx *f, uint64_t h8, const char *name, uint8_t pk, uint64_t exp,
    size_t cap, bool at_head)
{
	struct store_claim c = {.h8 = h8,
	    .stored_at = 5,
	    .expires_at = exp,
	    .rec = blob_b,
	    .rec_len = sizeof blob_b};

	snprintf(c.name, sizeof c.name, "%s", name);
	memcpy(c.pk, pk_of(pk), ANDNA_PK_LEN);
	return store_claim_add(f->txn, &c, cap, at_head);
}

/* Adds pk's claim behind the others. */
static int
claim_add(struct fx *f, uint64_t h8, const char *name, uint8_t pk, uint64_t exp,
    size_t cap)
{
	return claim_put(f, h8, name, pk, exp, cap, false);
}

/* Checks the claimants on (h8, name), head first. */
static void
claims_are(struct fx *f, uint64_t h8, const char *name, const char *want)
{
	struct seen s = {0};
	size_t n;

	assert_int_equal(store_claim_list(f->txn, h8, name, claim_cb, &s), 0);
	assert_int_equal(s.n, strlen(want));
	for (int i = 0; i < s.n; i++) {
		assert_int_equal(s.pk[i], want[i]);
		assert_string_equal(s.name[i], name);
		assert_int_equal(s.h8[i], h8);
	}
	assert_int_equal(store_claim_count(f->txn, h8, name, &n), 0);
	assert_int_equal(n, strlen(want));
}

/* The claims queue: arrival order, one per key, the cap, pop, removal,
 * and names that share a hash and a prefix stay apart. */
static void
test_claims(void **state)
{
	struct fx *f = *state;
	const uint64_t h = 77;

	begin(f, true);
	for (const char *p = "\3\1\4\5\2"; *p; p++)
		assert_int_equal(claim_add(f, h, "ab", (uint8_t)*p, 100, 5), 0);
	claims_are(f, h, "ab", "\3\1\4\5\2");
	assert_int_equal(claim_add(f, h, "ab", 1, 100, 5), ANDNA_EEXIST);
	assert_int_equal(claim_add(f, h, "ab", 6, 100, 5), ANDNA_EQUEUE_FULL);
	assert_int_equal(claim_add(f, h, "ab", 6, 100, 9), 0);
	assert_int_equal(store_claim_del(f->txn, h, "ab", pk_of(6)), 0);
	assert_int_equal(claim_add(f, h, "abc", 9, 100, 5), 0);
	assert_int_equal(claim_add(f, h, "a", 8, 100, 5), 0);
	claims_are(f, h, "ab", "\3\1\4\5\2");
	claims_are(f, h, "abc", "\11");
	claims_are(f, h, "a", "\10");
	commit(f);

	begin(f, true);
	assert_int_equal(store_claim_pop(f->txn, h, "ab"), 0);
	claims_are(f, h, "ab", "\1\4\5\2");
	assert_int_equal(store_claim_del(f->txn, h, "ab", pk_of(5)), 0);
	assert_int_equal(
	    store_claim_del(f->txn, h, "ab", pk_of(5)), ANDNA_ENOTFOUND);
	claims_are(f, h, "ab", "\1\4\2");
	assert_int_equal(claim_add(f, h, "ab", 3, 100, 5), 0);
	claims_are(f, h, "ab", "\1\4\2\3");
	for (int i = 0; i < 4; i++)
		assert_int_equal(store_claim_pop(f->txn, h, "ab"), 0);
	assert_int_equal(store_claim_pop(f->txn, h, "ab"), ANDNA_ENOTFOUND);
	claims_are(f, h, "ab", "");
	claims_are(f, h, "abc", "\11");
	assert_int_equal(claim_add(f, h, "ab", 7, 100, 5), 0);
	claims_are(f, h, "ab", "\7");
	commit(f);

	/* at the head: in front of the rest; a waiting claimant moves there;
	 * a full queue drops its tail */
	begin(f, true);
	assert_int_equal(claim_put(f, h, "ab", 8, 100, 3, true), 0);
	claims_are(f, h, "ab", "\10\7");
	assert_int_equal(claim_add(f, h, "ab", 9, 100, 3), 0);
	claims_are(f, h, "ab", "\10\7\11");
	assert_int_equal(claim_put(f, h, "ab", 9, 100, 3, true), 0);
	claims_are(f, h, "ab", "\11\10\7");
	assert_int_equal(claim_put(f, h, "ab", 6, 100, 3, true), 0);
	claims_are(f, h, "ab", "\6\11\10");
	assert_int_equal(claim_add(f, h, "ab", 5, 100, 3), ANDNA_EQUEUE_FULL);
	commit(f);
}

/* Captures one claim's fields. */
static int
claim_fields_cb(void *arg, const struct store_claim *c)
{
	struct store_claim *out = arg;

	*out = *c;
	out->rec = NULL;
	assert_int_equal(c->rec_len, sizeof blob_b);
	assert_memory_equal(c->rec, blob_b, sizeof blob_b);
	return 1;
}

/* Claims keep their fields and expire by their own clock. */
static void
test_claim_sweep(void **state)
{
	struct fx *f = *state;
	struct store_claim c;
	struct seen s = {0};
	size_t n;

	begin(f, true);
	assert_int_equal(claim_add(f, 5, "q", 1, 100, 5), 0);
	assert_int_equal(claim_add(f, 5, "q", 2, 50, 5), 0);
	assert_int_equal(claim_add(f, 5, "q", 3, 200, 5), 0);
	assert_int_equal(
	    store_claim_list(f->txn, 5, "q", claim_fields_cb, &c), 0);
	assert_int_equal(c.stored_at, 5);
	assert_int_equal(c.expires_at, 100);
	assert_int_equal(
	    store_sweep(f->txn, STORE_T_CLAIMS, 150, 10, expired_cb, &s, &n),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(s.pk[0], 2);
	assert_int_equal(s.pk[1], 1);
	assert_string_equal(s.name[0], "q");
	assert_int_equal(s.h8[0], 5);
	claims_are(f, 5, "q", "\3");
	commit(f);
}

/* counters: put, get, count per owner, walk, refresh, delete, expire. */
static void
test_counters(void **state)
{
	struct fx *f = *state;
	struct store_counter c = {.rec = blob_a, .rec_len = sizeof blob_a}, got;
	struct seen s = {0};
	size_t n;

	begin(f, true);
	for (uint64_t h = 3; h >= 1; h--) {
		memcpy(c.pk, pk_of(0xa0), ANDNA_PK_LEN);
		c.h8 = h << 60;
		c.expires_at = 100 * h;
		assert_int_equal(store_counter_put(f->txn, &c), 0);
	}
	memcpy(c.pk, pk_of(0x10), ANDNA_PK_LEN);
	for (uint64_t h = 1; h <= 2; h++) {
		c.h8 = h;
		c.expires_at = 1000;
		assert_int_equal(store_counter_put(f->txn, &c), 0);
	}
	commit(f);

	begin(f, true);
	assert_int_equal(store_counter_count(f->txn, pk_of(0xa0), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_counter_count(f->txn, pk_of(0x10), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_counter_count(f->txn, pk_of(0x11), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    store_counter_each(f->txn, pk_of(0xa0), counter_cb, &s), 0);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(s.h8[i], (uint64_t)(i + 1) << 60);
		assert_int_equal(s.pk[i], 0xa0);
	}
	memset(&s, 0, sizeof s);
	assert_int_equal(store_counter_each(f->txn, NULL, counter_cb, &s), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.pk[0], 0x10);
	assert_int_equal(s.pk[2], 0xa0);

	assert_int_equal(
	    store_counter_get(f->txn, pk_of(0xa0), 2ull << 60, &got), 0);
	assert_int_equal(got.expires_at, 200);
	assert_memory_equal(got.rec, blob_a, sizeof blob_a);
	/* refresh the first one past the sweep below */
	memcpy(c.pk, pk_of(0xa0), ANDNA_PK_LEN);
	c.h8 = 1ull << 60;
	c.expires_at = 900;
	assert_int_equal(store_counter_put(f->txn, &c), 0);
	assert_int_equal(store_counter_del(f->txn, pk_of(0x10), 2), 0);
	assert_int_equal(
	    store_counter_del(f->txn, pk_of(0x10), 2), ANDNA_ENOTFOUND);

	memset(&s, 0, sizeof s);
	assert_int_equal(
	    store_sweep(f->txn, STORE_T_COUNTERS, 500, 10, expired_cb, &s, &n),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(s.h8[0], 2ull << 60);
	assert_int_equal(s.h8[1], 3ull << 60);
	assert_int_equal(s.pk[0], 0xa0);
	assert_string_equal(s.name[0], "");
	assert_int_equal(store_counter_count(f->txn, pk_of(0xa0), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    store_counter_get(f->txn, pk_of(0xa0), 2ull << 60, &got),
	    ANDNA_ENOTFOUND);
	commit(f);
}

/* Puts a cache entry (blob_a, or negative if neg). */
static int
cache_put(struct fx *f, const char *name, bool neg, uint64_t exp, size_t cap)
{
	struct store_cache c = {.rec = neg ? NULL : blob_a,
	    .rec_len = neg ? 0 : sizeof blob_a,
	    .expires_at = exp};

	return store_cache_put(f->txn, name, &c, cap);
}

/* cache: positive and negative entries, expiry on read, sweep. */
static void
test_cache(void **state)
{
	struct fx *f = *state;
	struct store_cache got, bad = {.rec = NULL, .rec_len = 3};
	size_t n;

	begin(f, true);
	assert_int_equal(cache_put(f, "a", false, 100, 10), 0);
	assert_int_equal(cache_put(f, "b", true, 200, 10), 0);
	assert_int_equal(store_cache_put(f->txn, "c", &bad, 10), ANDNA_EINVAL);
	assert_int_equal(cache_put(f, "c", false, 100, 0), ANDNA_EINVAL);
	commit(f);

	begin(f, true);
	assert_int_equal(store_cache_get(f->txn, "a", 99, &got), 0);
	assert_int_equal(got.rec_len, sizeof blob_a);
	assert_memory_equal(got.rec, blob_a, sizeof blob_a);
	assert_int_equal(got.expires_at, 100);
	assert_int_equal(store_cache_get(f->txn, "b", 99, &got), 0);
	assert_null(got.rec);
	assert_int_equal(got.rec_len, 0);
	assert_int_equal(got.expires_at, 200);
	assert_int_equal(
	    store_cache_get(f->txn, "a", 100, &got), ANDNA_ENOTFOUND);
	assert_null(got.rec);
	assert_int_equal(got.expires_at, 0);
	assert_int_equal(
	    store_cache_get(f->txn, "zz", 1, &got), ANDNA_ENOTFOUND);
	assert_int_equal(
	    store_sweep(f->txn, STORE_T_CACHE, 150, 10, NULL, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_raw_count(f->txn, STORE_T_CACHE, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_cache_get(f->txn, "b", 150, &got), 0);
	commit(f);
}

/* cache: past the cap the soonest-expiring entries go. */
static void
test_cache_evict(void **state)
{
	struct fx *f = *state;
	struct store_cache got;
	size_t n;

	begin(f, true);
	assert_int_equal(cache_put(f, "c1", false, 500, 3), 0);
	assert_int_equal(cache_put(f, "c2", true, 300, 3), 0);
	assert_int_equal(cache_put(f, "c3", false, 400, 3), 0);
	assert_int_equal(cache_put(f, "c4", false, 600, 3), 0);
	assert_int_equal(
	    store_cache_get(f->txn, "c2", 0, &got), ANDNA_ENOTFOUND);
	assert_int_equal(cache_put(f, "c3", false, 700, 3), 0);
	assert_int_equal(store_raw_count(f->txn, STORE_T_CACHE, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(cache_put(f, "c5", false, 800, 3), 0);
	assert_int_equal(
	    store_cache_get(f->txn, "c1", 0, &got), ANDNA_ENOTFOUND);
	for (const char *const *k =
		 (const char *const[]){"c3", "c4", "c5", NULL};
	     *k != NULL; k++)
		assert_int_equal(store_cache_get(f->txn, *k, 0, &got), 0);
	assert_int_equal(store_raw_count(f->txn, STORE_T_CACHE_EXP, &n), 0);
	assert_int_equal(n, 3);
	commit(f);
}

/* peers: put, get, delete, walk in address order, empty endpoints. */
static void
test_peers(void **state)
{
	struct fx *f = *state;
	static const ovl_addr_t addrs[] = {0x0a000102, 0xc0a80001, 0x0a000001};
	struct store_peer p = {.last_heard = 77}, got;
	struct seen s = {0};

	begin(f, true);
	for (int i = 0; i < 3; i++) {
		p.addr = addrs[i];
		memcpy(p.pk, pk_of((uint8_t)(i + 1)), ANDNA_PK_LEN);
		p.endpoints = i == 0 ? NULL : blob_b;
		p.endpoints_len = i == 0 ? 0 : sizeof blob_b;
		assert_int_equal(store_peer_put(f->txn, &p), 0);
	}
	commit(f);
	begin(f, true);
	assert_int_equal(store_peer_get(f->txn, 0x0a000102, &got), 0);
	assert_int_equal(got.addr, 0x0a000102);
	assert_int_equal(got.last_heard, 77);
	assert_int_equal(got.pk[0], 1);
	assert_null(got.endpoints);
	assert_int_equal(got.endpoints_len, 0);
	assert_int_equal(store_peer_get(f->txn, 0xc0a80001, &got), 0);
	assert_memory_equal(got.endpoints, blob_b, sizeof blob_b);
	assert_int_equal(store_peer_each(f->txn, peer_cb, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.h8[0], 0x0a000001);
	assert_int_equal(s.h8[1], 0x0a000102);
	assert_int_equal(s.h8[2], 0xc0a80001);
	assert_int_equal(store_peer_del(f->txn, 0x0a000001), 0);
	assert_int_equal(
	    store_peer_get(f->txn, 0x0a000001, &got), ANDNA_ENOTFOUND);
	assert_int_equal(store_peer_del(f->txn, 0x0a000001), ANDNA_ENOTFOUND);
	commit(f);
}

/* meta: the schema is there; keys are checked; empty values work. */
static void
test_meta(void **state)
{
	struct fx *f = *state;
	char long_key[STORE_META_KEY_MAX + 2];
	const uint8_t *v;
	size_t len;

	begin(f, true);
	assert_int_equal(store_meta_get(f->txn, "schema", &v, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(v[0], 3);
	assert_int_equal(store_meta_put(f->txn, "addr", NULL, 0), 0);
	assert_int_equal(store_meta_get(f->txn, "addr", &v, &len), 0);
	assert_int_equal(len, 0);
	memset(long_key, 'k', sizeof long_key - 1);
	long_key[sizeof long_key - 1] = '\0';
	assert_int_equal(
	    store_meta_put(f->txn, long_key, "x", 1), ANDNA_EINVAL);
	long_key[STORE_META_KEY_MAX] = '\0';
	assert_int_equal(store_meta_put(f->txn, long_key, "x", 1), 0);
	commit(f);
}

/* Stores a record and its counter tally; arg is what to return. */
static int
record_and_counter_fn(void *arg, struct store_txn *txn)
{
	struct store_record r = rec_make(0xabc, "pair.lan", 1000);
	struct store_counter c = {.h8 = 0xabc,
	    .rec = blob_a,
	    .rec_len = sizeof blob_a,
	    .expires_at = 1000};
	int rc;

	memcpy(c.pk, r.pk, ANDNA_PK_LEN);
	if ((rc = store_record_put(txn, &r)) != 0 ||
	    (rc = store_counter_put(txn, &c)) != 0)
		return rc;
	return *(int *)arg;
}

/* Checks whether the pair of record_and_counter_fn is stored. */
static void
pair_is(struct fx *f, bool present)
{
	struct store_record r;
	struct store_counter c;
	size_t n;
	int want = present ? 0 : ANDNA_ENOTFOUND;

	begin(f, false);
	assert_int_equal(store_record_get(f->txn, 0xabc, "pair.lan", &r), want);
	assert_int_equal(
	    store_counter_get(f->txn, pk_of(0x42), 0xabc, &c), want);
	assert_int_equal(store_raw_count(f->txn, STORE_T_COUNTERS_EXP, &n), 0);
	assert_int_equal(n, present);
	abort_txn(f);
}

/* A record and its counter tally commit together or not at all. */
static void
test_atomic_pair(void **state)
{
	struct fx *f = *state;
	int result = 0;

	begin(f, true);
	assert_int_equal(record_and_counter_fn(&result, f->txn), 0);
	abort_txn(f);
	pair_is(f, false);
	result = ANDNA_ETOO_MANY_NAMES;
	assert_int_equal(
	    store_write(f->st, record_and_counter_fn, &result), result);
	pair_is(f, false);
	result = 0;
	assert_int_equal(store_write(f->st, record_and_counter_fn, &result), 0);
	pair_is(f, true);
}

/* Appends every raw entry of every table to a malloc'd buffer. */
static uint8_t *
snapshot(struct fx *f, size_t *len)
{
	const struct store_ops *ops = f->st->ops;
	uint8_t *buf = NULL;
	struct store_kv kv;
	void *cur;

	*len = 0;
	begin(f, false);
	for (int t = 0; t < STORE_NTABLES; t++) {
		assert_int_equal(ops->cursor_open(f->txn, t, &cur), 0);
		for (int rc = ops->cursor_seek(cur, NULL, 0, &kv); rc == 0;
		     rc = ops->cursor_next(cur, &kv)) {
			buf = realloc(buf, *len + 3 + kv.klen + kv.vlen);
			assert_non_null(buf);
			buf[(*len)++] = (uint8_t)t;
			buf[(*len)++] = (uint8_t)kv.klen;
			buf[(*len)++] = (uint8_t)kv.vlen;
			memcpy(buf + *len, kv.key, kv.klen);
			memcpy(buf + *len + kv.klen, kv.val, kv.vlen);
			*len += kv.klen + kv.vlen;
		}
		ops->cursor_close(cur);
	}
	abort_txn(f);
	return buf;
}

/* Abort undoes puts, replacements and deletes, repeated ones included. */
static void
test_abort_restores(void **state)
{
	struct fx *f = *state;
	struct store_record r;
	uint8_t *before, *after;
	size_t blen, alen;
	char name[16];

	begin(f, true);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "k%d", i);
		r = rec_make((uint64_t)i, name, 100 + (uint64_t)i);
		assert_int_equal(store_record_put(f->txn, &r), 0);
		assert_int_equal(cache_put(f, name, i % 2, 50, 100), 0);
	}
	commit(f);
	before = snapshot(f, &blen);

	begin(f, true);
	r = rec_make(3, "k3", 999);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(store_record_del(f->txn, 4, "k4"), 0);
	r = rec_make(4, "k4", 1);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	r = rec_make(77, "new", 5);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	r.expires_at = 6;
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(store_record_del(f->txn, 77, "new"), 0);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(cache_put(f, "extra", false, 1, 5), 0);
	assert_int_equal(claim_add(f, 1, "k1", 9, 100, 5), 0);
	abort_txn(f);

	after = snapshot(f, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
}

/* Visitor that deletes the current own name and the one after it. */
static int
own_delete_cb(void *arg, const struct store_own *o)
{
	struct store_txn *txn = *(struct store_txn **)arg;
	char next[ANDNA_NAME_MAX + 1];
	struct store_own fresh = *o;

	snprintf(next, sizeof next, "n%02d", atoi(o->name + 1) + 1);
	assert_int_equal(store_own_del(txn, o->name), 0);
	store_own_del(txn, next);
	fresh.name[0] = 'a'; /* sorts before the walk's position */
	fresh.rec = blob_a;  /* o->rec went with the delete */
	return store_own_put(txn, &fresh);
}

/* A walk whose visitor writes the table it walks sees each remaining
 * entry once: deleted ones are skipped, no entry is repeated. */
static void
test_walk_while_writing(void **state)
{
	struct fx *f = *state;
	struct store_own o = {.rec = blob_a, .rec_len = sizeof blob_a};
	struct seen s = {0};

	begin(f, true);
	for (int i = 0; i < 20; i++) {
		snprintf(o.name, sizeof o.name, "n%02d", i);
		assert_int_equal(store_own_put(f->txn, &o), 0);
	}
	assert_int_equal(store_own_each(f->txn, own_delete_cb, &f->txn), 0);
	assert_int_equal(store_own_each(f->txn, own_cb, &s), 0);
	assert_int_equal(s.n, 10);
	for (int i = 0; i < 10; i++) {
		char want[8];

		snprintf(want, sizeof want, "a%02d", 2 * i);
		assert_string_equal(s.name[i], want);
	}
	commit(f);
}

/* Writes raw bytes as the value of key in table t. */
static void
raw(struct fx *f, enum store_table t, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	uint8_t *w;

	assert_int_equal(store_raw_put(f->txn, t, key, klen, vlen, &w), 0);
	if (vlen > 0)
		memcpy(w, val, vlen);
}

/* Malformed values read as ESTORE_CORRUPT with outputs cleared; walks stop
 * at them (records resume behind them); a put heals them. */
static void
test_corrupt(void **state)
{
	struct fx *f = *state;
	static const uint8_t v2[66] = {2};
	static const uint8_t short_v[] = {1, 0, 0};
	uint8_t rkey[8 + 3] = {0, 0, 0, 0, 0, 0, 0, 2, 'b', 'a', 'd'};
	uint8_t junk[STORE_KEY_MAX] = {0, 0, 0, 2, 9}; /* sorts last */
	uint8_t skey[8 + 5] = {0, 0, 0, 0, 0, 0, 0, 5, 's', 't', 'a', 'l', 'e'};
	uint8_t val[128] = {1};
	uint8_t sk[ANDNA_SK_LEN];
	struct store_record r, got;
	struct store_own own;
	struct store_counter cnt;
	struct store_cache cache;
	struct store_peer peer;
	struct store_pos pos = {0};
	struct seen s = {0};
	const uint8_t *mv;
	size_t mlen, n;

	begin(f, true);
	raw(f, STORE_T_KEYS, pk_of(1), ANDNA_PK_LEN, v2, 65);
	memset(sk, 0xee, sizeof sk);
	assert_int_equal(
	    store_key_get(f->txn, pk_of(1), sk), ANDNA_ESTORE_CORRUPT);
	assert_int_equal(sk[0], 0);
	assert_int_equal(
	    store_key_each(f->txn, key_cb, &s), ANDNA_ESTORE_CORRUPT);
	raw(f, STORE_T_KEYS, pk_of(1), ANDNA_PK_LEN, val, 66);
	assert_int_equal(
	    store_key_get(f->txn, pk_of(1), sk), ANDNA_ESTORE_CORRUPT);

	raw(f, STORE_T_OWN, "bad", 3, short_v, sizeof short_v);
	assert_int_equal(
	    store_own_get(f->txn, "bad", &own), ANDNA_ESTORE_CORRUPT);
	assert_null(own.rec);
	assert_int_equal(own.name[0], '\0');
	assert_int_equal(
	    store_own_each(f->txn, own_cb, &s), ANDNA_ESTORE_CORRUPT);

	/* records: good (h8 1), bad flags (h8 2), good (h8 3), a junk key */
	r = rec_make(1, "one", 10);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	r = rec_make(2, "bad", 10);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	memcpy(val, (uint8_t[]){1, 0, 0, 0, 0, 0, 0, 0, 10}, 9);
	val[1 + 8 + 8 + 32 + 8] = 0x80;
	raw(f, STORE_T_RECORDS, rkey, sizeof rkey, val, 58 + 2);
	raw(f, STORE_T_RECORDS, junk, sizeof junk, val, 60);
	r = rec_make(3, "three", 10);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(
	    store_record_get(f->txn, 2, "bad", &got), ANDNA_ESTORE_CORRUPT);
	assert_null(got.rec);
	assert_int_equal(got.h8, 0);
	memset(&s, 0, sizeof s);
	assert_int_equal(
	    store_record_range(f->txn, 0, UINT64_MAX, &pos, 0, record_cb, &s),
	    ANDNA_ESTORE_CORRUPT);
	assert_int_equal(s.n, 1);
	assert_int_equal(
	    store_record_range(f->txn, 0, UINT64_MAX, &pos, 0, record_cb, &s),
	    ANDNA_ESTORE_CORRUPT);
	assert_int_equal(
	    store_record_range(f->txn, 0, UINT64_MAX, &pos, 0, record_cb, &s),
	    0);
	assert_true(pos.done);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[1], "three");
	/* a value without a readable expiry: a put heals it, and the sweep
	 * drops the index entry the bad value left behind, keeping the
	 * healed record; "bad" (readable expiry, bad flags) goes silently */
	r = rec_make(5, "stale", 10);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	raw(f, STORE_T_RECORDS, skey, sizeof skey, short_v, sizeof short_v);
	assert_int_equal(
	    store_record_get(f->txn, 5, "stale", &got), ANDNA_ESTORE_CORRUPT);
	r.expires_at = 5000;
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(store_record_get(f->txn, 5, "stale", &got), 0);
	memset(&s, 0, sizeof s);
	assert_int_equal(
	    store_sweep(f->txn, STORE_T_RECORDS, 20, 10, expired_cb, &s, &n),
	    0);
	assert_int_equal(n, 3);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "one");
	assert_string_equal(s.name[1], "three");
	assert_int_equal(store_record_get(f->txn, 5, "stale", &got), 0);
	assert_int_equal(got.expires_at, 5000);
	assert_int_equal(
	    store_record_get(f->txn, 2, "bad", &got), ANDNA_ENOTFOUND);
	assert_int_equal(store_raw_count(f->txn, STORE_T_RECORDS_EXP, &n), 0);
	assert_int_equal(n, 1);

	/* claims: a bad value stops list, add and count */
	raw(f, STORE_T_CLAIMS,
	    (uint8_t[]){0, 0, 0, 0, 0, 0, 0, 4, 'q', 0, 0, 0, 0, 0, 0, 0, 0, 0},
	    18, short_v, sizeof short_v);
	assert_int_equal(claim_add(f, 4, "q", 1, 10, 5), ANDNA_ESTORE_CORRUPT);
	assert_int_equal(store_claim_list(f->txn, 4, "q", claim_cb, &s),
	    ANDNA_ESTORE_CORRUPT);

	/* counters: header without the proof blob */
	raw(f, STORE_T_COUNTERS,
	    (uint8_t[ANDNA_PK_LEN + 8]){[ANDNA_PK_LEN + 7] = 1},
	    ANDNA_PK_LEN + 8, val, 9);
	assert_int_equal(
	    store_counter_get(f->txn, (uint8_t[ANDNA_PK_LEN]){0}, 1, &cnt),
	    ANDNA_ESTORE_CORRUPT);
	assert_null(cnt.rec);

	/* cache: unknown flag, and a negative entry with a blob */
	memcpy(val, (uint8_t[]){1, 0, 0, 0, 0, 0, 0, 0, 99, 2}, 10);
	raw(f, STORE_T_CACHE, "c", 1, val, 10);
	assert_int_equal(
	    store_cache_get(f->txn, "c", 1, &cache), ANDNA_ESTORE_CORRUPT);
	val[9] = 1;
	raw(f, STORE_T_CACHE, "c", 1, val, 12);
	assert_int_equal(
	    store_cache_get(f->txn, "c", 1, &cache), ANDNA_ESTORE_CORRUPT);

	/* peers: too short; meta: wrong version */
	raw(f, STORE_T_PEERS, (uint8_t[]){1, 2, 3, 4}, 4, short_v, 3);
	assert_int_equal(
	    store_peer_get(f->txn, 0x01020304, &peer), ANDNA_ESTORE_CORRUPT);
	raw(f, STORE_T_META, "m", 1, v2, 3);
	assert_int_equal(
	    store_meta_get(f->txn, "m", &mv, &mlen), ANDNA_ESTORE_CORRUPT);
	assert_null(mv);
	assert_int_equal(mlen, 0);
	commit(f);
}

/* Asserts that f's blobs hold n distinct blobs of 160 bytes. */
static void
blobs_hold(struct fx *f, size_t n)
{
	size_t got, bytes;

	store_blobs_count(f->blobs, &got, &bytes);
	assert_int_equal(got, n);
	assert_int_equal(bytes, n * 160);
}

/* Stores on one store_blobs keep a blob once whichever table holds it, read
 * it back whole, keep it until its last holder lets go, and are not moved
 * by an aborted transaction. */
static void
test_shared_blobs(void **state)
{
	struct fx *f = *state;
	struct store_record r = rec_make(5, "shared.lan", 1000), got;
	struct store_counter c = {.h8 = 5, .expires_at = 3000}, gc;
	uint8_t big[160], other[160];
	struct store_txn *tb;
	struct store *b;

	for (size_t i = 0; i < sizeof big; i++) {
		big[i] = (uint8_t)i;
		other[i] = (uint8_t)~i;
	}
	f->blobs = store_blobs_new();
	assert_int_equal(store_mem_open(f->blobs, &f->st), 0);
	assert_int_equal(store_mem_open(f->blobs, &b), 0);

	/* one record on two stores, each with its expiry, and as a tally */
	r.rec = big;
	r.rec_len = sizeof big;
	memcpy(c.pk, r.pk, ANDNA_PK_LEN);
	c.rec = big;
	c.rec_len = sizeof big;
	begin(f, true);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(store_counter_put(f->txn, &c), 0);
	commit(f);
	r.expires_at = 2000;
	assert_int_equal(store_txn_begin(b, true, &tb), 0);
	assert_int_equal(store_record_put(tb, &r), 0);
	assert_int_equal(store_txn_commit(tb), 0);
	blobs_hold(f, 1);

	/* read back whole, two values at once */
	begin(f, false);
	assert_int_equal(store_record_get(f->txn, 5, "shared.lan", &got), 0);
	assert_int_equal(store_counter_get(f->txn, r.pk, 5, &gc), 0);
	assert_int_equal(got.expires_at, 1000);
	assert_int_equal(got.rec_len, sizeof big);
	assert_memory_equal(got.rec, big, sizeof big);
	assert_int_equal(gc.expires_at, 3000);
	assert_int_equal(gc.rec_len, sizeof big);
	assert_memory_equal(gc.rec, big, sizeof big);
	commit(f);

	/* an aborted replacement changes nothing */
	r.rec = other;
	r.expires_at = 1500;
	begin(f, true);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	abort_txn(f);
	blobs_hold(f, 1);
	begin(f, false);
	assert_int_equal(store_record_get(f->txn, 5, "shared.lan", &got), 0);
	assert_int_equal(got.expires_at, 1000);
	assert_memory_equal(got.rec, big, sizeof big);
	commit(f);

	/* written, deleted and written again in one transaction */
	snprintf(r.name, sizeof r.name, "fresh.lan");
	begin(f, true);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(store_record_del(f->txn, 5, "fresh.lan"), 0);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	commit(f);
	blobs_hold(f, 2);
	begin(f, false);
	assert_int_equal(store_record_get(f->txn, 5, "fresh.lan", &got), 0);
	assert_memory_equal(got.rec, other, sizeof other);
	commit(f);

	/* the first blob stays while any store holds it */
	begin(f, true);
	assert_int_equal(store_record_del(f->txn, 5, "shared.lan"), 0);
	assert_int_equal(store_counter_del(f->txn, r.pk, 5), 0);
	commit(f);
	blobs_hold(f, 2);
	store_close(b);
	blobs_hold(f, 1);
}

/* ---- LMDB only --------------------------------------------------------- */

/* Commits survive close and reopen. */
static void
test_lmdb_reopen(void **state)
{
	struct fx *f = *state;
	struct store_record r = rec_make(9, "kept.lan", 123), got;

	begin(f, true);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	commit(f);
	begin(f, true);
	r = rec_make(10, "dropped.lan", 1);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	abort_txn(f);
	store_close(f->st);
	f->st = NULL;

	assert_int_equal(store_lmdb_open(f->dir, NULL, &f->st), 0);
	begin(f, false);
	assert_int_equal(store_record_get(f->txn, 9, "kept.lan", &got), 0);
	assert_int_equal(got.expires_at, 123);
	assert_int_equal(
	    store_record_get(f->txn, 10, "dropped.lan", &got), ANDNA_ENOTFOUND);
	abort_txn(f);
}

/* The cache lives in memory: it commits and aborts with the rest of a
 * transaction, a transaction that writes only to it leaves the file
 * alone (no write, no sync), and a reopened store starts without it. */
static void
test_lmdb_cache_in_memory(void **state)
{
	struct fx *f = *state;
	struct store_record r = rec_make(9, "kept.lan", 123), rgot;
	struct store_cache got;
	char path[160];
	struct stat before, after;

	begin(f, true);
	assert_int_equal(store_record_put(f->txn, &r), 0);
	assert_int_equal(cache_put(f, "seen.lan", true, 1000, 10), 0);
	commit(f);
	begin(f, true);
	assert_int_equal(cache_put(f, "undone.lan", true, 1000, 10), 0);
	abort_txn(f);
	snprintf(path, sizeof path, "%s/data.mdb", f->dir);
	assert_int_equal(stat(path, &before), 0);
	begin(f, true);
	assert_int_equal(cache_put(f, "more.lan", false, 1000, 10), 0);
	commit(f);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	assert_true(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
	    after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
	begin(f, false);
	assert_int_equal(store_cache_get(f->txn, "seen.lan", 1, &got), 0);
	assert_int_equal(store_cache_get(f->txn, "more.lan", 1, &got), 0);
	assert_non_null(got.rec);
	assert_int_equal(
	    store_cache_get(f->txn, "undone.lan", 1, &got), ANDNA_ENOTFOUND);
	abort_txn(f);
	store_close(f->st);
	f->st = NULL;

	assert_int_equal(store_lmdb_open(f->dir, NULL, &f->st), 0);
	begin(f, false);
	assert_int_equal(store_record_get(f->txn, 9, "kept.lan", &rgot), 0);
	assert_int_equal(
	    store_cache_get(f->txn, "seen.lan", 1, &got), ANDNA_ENOTFOUND);
	assert_int_equal(
	    store_cache_get(f->txn, "more.lan", 1, &got), ANDNA_ENOTFOUND);
	abort_txn(f);
}

/* store_write body: stores record number *arg. */
static int
put_numbered_fn(void *arg, struct store_txn *txn)
{
	char name[32];
	struct store_record r;

	snprintf(name, sizeof name, "c%u", *(unsigned *)arg);
	r = rec_make(*(unsigned *)arg, name, 1);
	return store_record_put(txn, &r);
}

/* Commits records 0, 1, ... and reports each committed number on fd. */
static void
commit_forever(const char *dir, int fd)
{
	struct store *st = NULL;

	if (store_lmdb_open(dir, NULL, &st) != 0)
		_exit(2);
	for (unsigned i = 0; i < 100000; i++) {
		if (store_write(st, put_numbered_fn, &i) != 0 ||
		    write(fd, &i, sizeof i) != sizeof i)
			_exit(3);
	}
	_exit(0);
}

/* A writer killed with SIGKILL mid-stream loses nothing it reported as
 * committed. */
static void
test_lmdb_sigkill(void **state)
{
	struct fx *f = *state;
	unsigned i, got = 0, reported[4096];
	struct store_record r;
	char name[32];
	int fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		commit_forever(f->dir, fds[1]);
	}
	close(fds[1]);
	while (got < 40 && read(fds[0], &i, sizeof i) == sizeof i)
		reported[got++] = i;
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	while (got < 4096 && read(fds[0], &i, sizeof i) == sizeof i)
		reported[got++] = i;
	close(fds[0]);
	assert_true(got >= 40);

	assert_int_equal(store_lmdb_open(f->dir, NULL, &f->st), 0);
	begin(f, false);
	for (unsigned k = 0; k < got; k++) {
		assert_int_equal(reported[k], k);
		snprintf(name, sizeof name, "c%u", k);
		assert_int_equal(store_record_get(f->txn, k, name, &r), 0);
	}
	abort_txn(f);
}

/* A run of big records for put_big_fn: the next number, their size, and
 * how many times the body ran. */
struct big {
	unsigned n;
	size_t len;
	int runs;
};

/* store_write body: stores record b->n of b->len filler bytes. */
static int
put_big_fn(void *arg, struct store_txn *txn)
{
	static uint8_t filler[8192];
	struct big *b = arg;
	struct store_record r;
	char name[32];

	b->runs++;
	snprintf(name, sizeof name, "big%u", b->n);
	r = rec_make(b->n, name, 1);
	r.rec = filler;
	r.rec_len = b->len;
	return store_record_put(txn, &r);
}

/* A tiny map that may not grow fills up with ESTORE_FULL; allowed to
 * grow, the same store takes the next write after one retry. */
static void
test_lmdb_map_full(void **state)
{
	struct fx *f = *state;
	struct store_lmdb_opts tiny = {256 << 10, 0};
	struct big b = {.len = 2000};
	struct store_record got;
	int rc = 0;

	assert_int_equal(store_lmdb_open(f->dir, &tiny, &f->st), 0);
	for (b.n = 0; b.n < 1000 && rc == 0; b.n++)
		rc = store_write(f->st, put_big_fn, &b);
	assert_int_equal(rc, ANDNA_ESTORE_FULL);
	assert_true(b.n > 10);
	begin(f, false);
	assert_int_equal(store_record_get(f->txn, 0, "big0", &got), 0);
	assert_int_equal(got.rec_len, 2000);
	abort_txn(f);
	store_close(f->st);
	f->st = NULL;

	tiny.map_max = 4 << 20;
	assert_int_equal(store_lmdb_open(f->dir, &tiny, &f->st), 0);
	b.runs = 0;
	b.len = 4000;
	assert_int_equal(store_write(f->st, put_big_fn, &b), 0);
	assert_int_equal(b.runs, 2);
	for (b.n++; b.n < 400; b.n++)
		assert_int_equal(store_write(f->st, put_big_fn, &b), 0);
	begin(f, false);
	assert_int_equal(store_record_get(f->txn, 399, "big399", &got), 0);
	assert_int_equal(got.rec_len, 4000);
	abort_txn(f);
}

/* Replaces path's contents with len bytes of buf (NULL: len bytes of b). */
static void
write_file(const char *path, const uint8_t *buf, uint8_t b, size_t len)
{
	uint8_t *fill = malloc(len);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_non_null(fill);
	assert_true(fd >= 0);
	memset(fill, b, len);
	assert_int_equal(
	    write(fd, buf != NULL ? buf : fill, len), (ssize_t)len);
	close(fd);
	free(fill);
}

/* Reads all of path into a malloc'd buffer. */
static uint8_t *
read_file(const char *path, size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	*len = (size_t)sb.st_size;
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, *len), (ssize_t)*len);
	close(fd);
	return buf;
}

/* Files that are not LMDB, or damaged, or cut short, are refused without
 * a crash; the intact file still opens. */
static void
test_lmdb_bad_files(void **state)
{
	struct fx *f = *state;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
	struct big b = {.len = 3000};
	struct store *other = (void *)1;
	uint8_t *good, *bad;
	char path[160];

	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(path, sizeof path, "%s/data.mdb", f->dir);
	write_file(path, NULL, 0x5a, 16384);
	assert_int_equal(
	    store_lmdb_open(f->dir, NULL, &f->st), ANDNA_ESTORE_OPEN);
	assert_null(f->st);
	write_file(path, NULL, 0x00, 8192);
	assert_int_equal(
	    store_lmdb_open(f->dir, NULL, &f->st), ANDNA_ESTORE_OPEN);

	assert_int_equal(remove(path), 0);
	assert_int_equal(store_lmdb_open(f->dir, NULL, &f->st), 0);
	for (b.n = 0; b.n < 20; b.n++)
		assert_int_equal(store_write(f->st, put_big_fn, &b), 0);
	store_close(f->st);
	f->st = NULL;
	good = read_file(path, &len);
	assert_true(len > 8 * page);

	/* the tree pages overwritten, the meta pages intact */
	bad = malloc(len);
	assert_non_null(bad);
	memcpy(bad, good, len);
	memset(bad + 2 * page, 0xa5, len - 2 * page);
	write_file(path, bad, 0, len);
	assert_int_equal(
	    store_lmdb_open(f->dir, NULL, &f->st), ANDNA_ESTORE_OPEN);
	/* cut short */
	write_file(path, good, 0, 3 * page);
	assert_int_equal(
	    store_lmdb_open(f->dir, NULL, &f->st), ANDNA_ESTORE_OPEN);
	write_file(path, good, 0, len);
	assert_int_equal(store_lmdb_open(f->dir, NULL, &f->st), 0);
	free(good);
	free(bad);

	/* a file where the directory should be, and a missing parent */
	snprintf(path, sizeof path, "%s/file", f->tmp);
	write_file(path, NULL, 0, 1);
	assert_int_equal(
	    store_lmdb_open(path, NULL, &other), ANDNA_ESTORE_OPEN);
	snprintf(path, sizeof path, "%s/no/such", f->tmp);
	assert_int_equal(
	    store_lmdb_open(path, NULL, &other), ANDNA_ESTORE_OPEN);
	assert_null(other);
}

/* A store whose schema is not ours is refused. */
static void
test_lmdb_schema(void **state)
{
	struct fx *f = *state;

	assert_int_equal(store_lmdb_open(f->dir, NULL, &f->st), 0);
	begin(f, true);
	raw(f, STORE_T_META, "schema", 6, (uint8_t[]){1, 99}, 2);
	commit(f);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(
	    store_lmdb_open(f->dir, NULL, &f->st), ANDNA_ESTORE_SCHEMA);
}

/* The data directory is created 0700 and its files 0600. */
static void
test_lmdb_perms(void **state)
{
	struct fx *f = *state;
	struct stat sb;
	char path[160];

	assert_int_equal(store_lmdb_open(f->dir, NULL, &f->st), 0);
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	for (const char *const *n =
		 (const char *const[]){"data.mdb", "lock.mdb", NULL};
	     *n != NULL; n++) {
		snprintf(path, sizeof path, "%s/%s", f->dir, *n);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0600);
	}
}

#define EACH(fn)                                                               \
	{"mem/" #fn, fn, setup_mem, teardown, NULL},                           \
	    {"shared/" #fn, fn, setup_shared, teardown, NULL},                 \
	{                                                                      \
		"lmdb/" #fn, fn, setup_lmdb, teardown, NULL                    \
	}
#define LMDB(fn, setup)                                                        \
	{                                                                      \
		"lmdb/" #fn, fn, setup, teardown, NULL                         \
	}

/* Runs the shared tests on each back end, then the rest. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    EACH(test_txn_rules),
	    EACH(test_store_write),
	    EACH(test_raw_order),
	    EACH(test_keys),
	    EACH(test_own),
	    EACH(test_records),
	    EACH(test_record_range),
	    EACH(test_record_sweep),
	    EACH(test_claims),
	    EACH(test_claim_sweep),
	    EACH(test_counters),
	    EACH(test_cache),
	    EACH(test_cache_evict),
	    EACH(test_peers),
	    EACH(test_meta),
	    EACH(test_atomic_pair),
	    EACH(test_abort_restores),
	    EACH(test_walk_while_writing),
	    EACH(test_corrupt),
	    {"shared/test_shared_blobs", test_shared_blobs, setup_dir,
		teardown, NULL},
	    LMDB(test_lmdb_reopen, setup_lmdb),
	    LMDB(test_lmdb_cache_in_memory, setup_lmdb),
	    LMDB(test_lmdb_sigkill, setup_dir),
	    LMDB(test_lmdb_map_full, setup_dir),
	    LMDB(test_lmdb_bad_files, setup_dir),
	    LMDB(test_lmdb_schema, setup_dir),
	    LMDB(test_lmdb_perms, setup_dir),
	};
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
