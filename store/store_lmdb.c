/* The LMDB back end: one environment per data directory, one named DB per
 * raw table, durable commits, and a map that grows when it fills. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "proto/err.h"
#include "store/store.h"

static const char *const table_names[STORE_NTABLES] = {
    [STORE_T_META] = "meta",
    [STORE_T_KEYS] = "keys",
    [STORE_T_OWN] = "own",
    [STORE_T_RECORDS] = "records",
    [STORE_T_RECORDS_EXP] = "records.exp",
    [STORE_T_CLAIMS] = "claims",
    [STORE_T_CLAIMS_EXP] = "claims.exp",
    [STORE_T_COUNTERS] = "counters",
    [STORE_T_COUNTERS_EXP] = "counters.exp",
    [STORE_T_CACHE] = "cache",
    [STORE_T_CACHE_EXP] = "cache.exp",
    [STORE_T_PEERS] = "peers",
};

struct lmdb_txn {
	struct store_txn base;
	MDB_txn *txn;
	bool full; /* an op hit MDB_MAP_FULL: grow the map when it ends */
};

struct lmdb_store {
	struct store base;
	MDB_env *env;
	MDB_dbi dbi[STORE_NTABLES];
	size_t map_max;
	struct lmdb_txn txn; /* the one open transaction */
};

/* Maps an LMDB or errno code to an andna code. */
static int
lmdb_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return ANDNA_ENOTFOUND;
	case MDB_MAP_FULL:
		return ANDNA_ESTORE_FULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
		return ANDNA_ESTORE_CORRUPT;
	case MDB_BAD_VALSIZE:
	case EINVAL:
		return ANDNA_EINVAL;
	case ENOMEM:
		return ANDNA_ENOMEM;
	case EIO:
	case ENOSPC:
		return ANDNA_EIO;
	default:
		return ANDNA_ESTORE_TXN;
	}
}

/* The store behind a transaction. */
static struct lmdb_store *
txn_store(struct store_txn *txn)
{
	return (struct lmdb_store *)txn->st;
}

/* Maps rc, noting a full map so the transaction's end grows it. */
static int
txn_err(struct store_txn *txn, int rc)
{
	if (rc == MDB_MAP_FULL)
		txn_store(txn)->txn.full = true;
	return lmdb_err(rc);
}

/* Doubles the map, up to map_max; no transaction may be open.  On failure
 * the map keeps its size and the retry reports the store full again. */
static void
lmdb_grow(struct lmdb_store *s)
{
	MDB_envinfo info;

	if (mdb_env_info(s->env, &info) != 0 || info.me_mapsize >= s->map_max)
		return;
	(void)mdb_env_set_mapsize(s->env,
	    info.me_mapsize > s->map_max / 2 ? s->map_max
					     : info.me_mapsize * 2);
}

/* store_ops.begin */
static int
lmdb_begin(struct store *st, bool write, struct store_txn **out)
{
	struct lmdb_store *s = (struct lmdb_store *)st;
	int rc;

	s->txn.full = false;
	rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &s->txn.txn);
	if (rc != 0)
		return lmdb_err(rc);
	*out = &s->txn.base;
	return 0;
}

/* store_ops.abort */
static void
lmdb_abort(struct store_txn *txn)
{
	struct lmdb_store *s = txn_store(txn);

	mdb_txn_abort(s->txn.txn);
	s->txn.txn = NULL;
	if (s->txn.full)
		lmdb_grow(s);
}

/* store_ops.commit: a transaction that hit a full map fails as a whole. */
static int
lmdb_commit(struct store_txn *txn)
{
	struct lmdb_store *s = txn_store(txn);
	int rc;

	if (s->txn.full) {
		lmdb_abort(txn);
		return ANDNA_ESTORE_FULL;
	}
	rc = txn_err(txn, mdb_txn_commit(s->txn.txn));
	s->txn.txn = NULL;
	if (s->txn.full)
		lmdb_grow(s);
	return rc;
}

/* Copies an LMDB key and value into *out. */
static void
kv_out(const MDB_val *k, const MDB_val *v, struct store_kv *out)
{
	out->key = k->mv_data;
	out->klen = k->mv_size;
	out->val = v->mv_data;
	out->vlen = v->mv_size;
}

/* store_ops.get */
static int
lmdb_get(struct store_txn *txn, enum store_table t, const void *key,
    size_t klen, struct store_kv *out)
{
	struct lmdb_store *s = txn_store(txn);
	MDB_val k = {klen, (void *)key}, v;
	int rc = mdb_get(s->txn.txn, s->dbi[t], &k, &v);

	if (rc == 0)
		kv_out(&k, &v, out);
	return txn_err(txn, rc);
}

/* store_ops.put */
static int
lmdb_put(struct store_txn *txn, enum store_table t, const void *key,
    size_t klen, size_t vlen, uint8_t **dst)
{
	struct lmdb_store *s = txn_store(txn);
	MDB_val k = {klen, (void *)key}, v = {vlen, NULL};
	int rc = mdb_put(s->txn.txn, s->dbi[t], &k, &v, MDB_RESERVE);

	if (rc == 0)
		*dst = v.mv_data;
	return txn_err(txn, rc);
}

/* store_ops.del */
static int
lmdb_del(
    struct store_txn *txn, enum store_table t, const void *key, size_t klen)
{
	struct lmdb_store *s = txn_store(txn);
	MDB_val k = {klen, (void *)key};

	return txn_err(txn, mdb_del(s->txn.txn, s->dbi[t], &k, NULL));
}

/* store_ops.cursor_open */
static int
lmdb_cursor_open(struct store_txn *txn, enum store_table t, void **cur)
{
	struct lmdb_store *s = txn_store(txn);
	MDB_cursor *c = NULL;
	int rc = mdb_cursor_open(s->txn.txn, s->dbi[t], &c);

	*cur = c;
	return lmdb_err(rc);
}

/* store_ops.cursor_seek */
static int
lmdb_cursor_seek(void *cur, const void *key, size_t klen, struct store_kv *out)
{
	MDB_val k = {klen, (void *)key}, v;
	int rc =
	    mdb_cursor_get(cur, &k, &v, klen > 0 ? MDB_SET_RANGE : MDB_FIRST);

	if (rc == 0)
		kv_out(&k, &v, out);
	return lmdb_err(rc);
}

/* store_ops.cursor_next */
static int
lmdb_cursor_next(void *cur, struct store_kv *out)
{
	MDB_val k, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);

	if (rc == 0)
		kv_out(&k, &v, out);
	return lmdb_err(rc);
}

/* store_ops.cursor_close */
static void
lmdb_cursor_close(void *cur)
{
	mdb_cursor_close(cur);
}

/* store_ops.count */
static int
lmdb_count(struct store_txn *txn, enum store_table t, size_t *n)
{
	struct lmdb_store *s = txn_store(txn);
	MDB_stat st;
	int rc = mdb_stat(s->txn.txn, s->dbi[t], &st);

	if (rc == 0)
		*n = st.ms_entries;
	return lmdb_err(rc);
}

/* store_ops.close */
static void
lmdb_close(struct store *st)
{
	struct lmdb_store *s = (struct lmdb_store *)st;

	if (s->env != NULL)
		mdb_env_close(s->env);
	free(s);
}

static const struct store_ops lmdb_ops = {
    .begin = lmdb_begin,
    .commit = lmdb_commit,
    .abort = lmdb_abort,
    .get = lmdb_get,
    .put = lmdb_put,
    .del = lmdb_del,
    .cursor_open = lmdb_cursor_open,
    .cursor_seek = lmdb_cursor_seek,
    .cursor_next = lmdb_cursor_next,
    .cursor_close = lmdb_cursor_close,
    .count = lmdb_count,
    .close = lmdb_close,
};

/* Reads every byte of every tree (free list included) of the store in
 * dir, adding them into *sum so none is skipped; returns 0 if it got
 * through.  Runs in a throwaway child. */
static int
lmdb_walk(const char *dir, size_t map_size, volatile uint8_t *sum)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	MDB_dbi dbi;
	int rc;

	if (mdb_env_create(&env) != 0 ||
	    mdb_env_set_maxdbs(env, STORE_NTABLES) != 0 ||
	    mdb_env_set_mapsize(env, map_size) != 0 ||
	    mdb_env_open(env, dir, MDB_RDONLY, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return -1;
	for (int t = -2; t < STORE_NTABLES; t++) {
		if (t == -2)
			dbi = 0; /* the free list, readable in a read txn */
		else if ((rc = mdb_dbi_open(txn, t < 0 ? NULL : table_names[t],
			      0, &dbi)) == MDB_NOTFOUND)
			continue;
		else if (rc != 0)
			return -1;
		if (mdb_cursor_open(txn, dbi, &cur) != 0)
			return -1;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			for (size_t i = 0; i < k.mv_size; i++)
				*sum += ((uint8_t *)k.mv_data)[i];
			for (size_t i = 0; i < v.mv_size; i++)
				*sum += ((uint8_t *)v.mv_data)[i];
		}
		if (rc != MDB_NOTFOUND)
			return -1;
		mdb_cursor_close(cur);
	}
	return 0;
}

/* Checks an existing store in a child process before this one maps it:
 * LMDB aborts or faults on some damaged pages instead of returning an
 * error, and a damaged file must cost an error code, not the daemon. */
static int
lmdb_verify(const char *dir, size_t map_size)
{
	static const int fatal[] = {SIGABRT, SIGBUS, SIGSEGV, SIGILL, SIGFPE};
	char path[PATH_MAX];
	struct stat sb;
	volatile uint8_t sum = 0;
	pid_t pid;
	int status;

	if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
		return ANDNA_ESTORE_OPEN;
	if (stat(path, &sb) != 0)
		return errno == ENOENT ? 0 : ANDNA_ESTORE_OPEN;
	if ((pid = fork()) < 0)
		return ANDNA_ESTORE_OPEN;
	if (pid == 0) {
		/* die of a fault, whatever handler the caller installed */
		for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
			signal(fatal[i], SIG_DFL);
		_exit(lmdb_walk(dir, map_size, &sum) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ANDNA_ESTORE_OPEN;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0
	    ? 0
	    : ANDNA_ESTORE_OPEN;
}

/* Opens (creating) every table's named DB. */
static int
lmdb_open_dbs(struct lmdb_store *s)
{
	MDB_txn *txn = NULL;

	if (mdb_txn_begin(s->env, NULL, 0, &txn) != 0)
		return ANDNA_ESTORE_OPEN;
	for (int t = 0; t < STORE_NTABLES; t++) {
		if (mdb_dbi_open(txn, table_names[t], MDB_CREATE, &s->dbi[t])) {
			mdb_txn_abort(txn);
			return ANDNA_ESTORE_OPEN;
		}
	}
	return mdb_txn_commit(txn) == 0 ? 0 : ANDNA_ESTORE_OPEN;
}

/* Checks, opens and prepares the store in dir. */
int
store_lmdb_open(
    const char *dir, const struct store_lmdb_opts *opts, struct store **out)
{
	struct lmdb_store *s = NULL;
	size_t map_size = opts != NULL ? opts->map_size : STORE_LMDB_MAP_SIZE;
	size_t map_max = opts != NULL ? opts->map_max : STORE_LMDB_MAP_MAX;
	int dead, rc = 0;

	*out = NULL;
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    lmdb_verify(dir, map_size) != 0)
		return ANDNA_ESTORE_OPEN;
	if ((s = calloc(1, sizeof *s)) == NULL)
		abort();
	s->base.ops = &lmdb_ops;
	s->map_max = map_max > map_size ? map_max : map_size;
	if (mdb_env_create(&s->env) != 0 ||
	    mdb_env_set_maxdbs(s->env, STORE_NTABLES) != 0 ||
	    mdb_env_set_mapsize(s->env, map_size) != 0 ||
	    mdb_env_open(s->env, dir, 0, 0600) != 0 ||
	    mdb_reader_check(s->env, &dead) != 0 || lmdb_open_dbs(s) != 0 ||
	    (rc = store_schema_init(&s->base)) != 0) {
		lmdb_close(&s->base);
		return rc == ANDNA_ESTORE_SCHEMA ? rc : ANDNA_ESTORE_OPEN;
	}
	*out = &s->base;
	return 0;
}
