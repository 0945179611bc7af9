/* The LMDB back end: one environment per data directory, one named DB per
 * raw table, durable commits, and a map that grows when it fills.
 *
 * The resolver's cache (STORE_T_CACHE and STORE_T_CACHE_EXP) lives in an
 * environment of its own in memory (a memfd, never synced): a resolution
 * must not stall the node on the disk, nor wear a router's flash, for
 * what the network can tell again.  So the cache starts empty at every
 * start, and its map does not grow: when it fills, answers are not cached
 * until evictions make room. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
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
	MDB_txn *txn;  /* in env */
	MDB_txn *ctxn; /* in cenv, begun by the first op on a cache table */
	bool write;
	/* an op hit MDB_MAP_FULL: grow the map when the transaction ends
	 * (the durable one), fail the commit (either) */
	bool full, cfull;
};

struct lmdb_store {
	struct store base;
	MDB_env *env;  /* everything but the cache, durable */
	MDB_env *cenv; /* the cache, in memory */
	int cfd;       /* its memfd */
	MDB_dbi dbi[STORE_NTABLES]; /* in env or cenv, as the table lives */
	size_t map_max;
	struct lmdb_txn txn; /* the one open transaction */
};

/* Whether table t lives in the cache's environment. */
static bool
is_cache(enum store_table t)
{
	return t == STORE_T_CACHE || t == STORE_T_CACHE_EXP;
}

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

/* Maps rc of an op on table t, noting a full map so the transaction's
 * end grows it. */
static int
txn_err(struct store_txn *txn, enum store_table t, int rc)
{
	struct lmdb_txn *lt = &txn_store(txn)->txn;

	if (rc == MDB_MAP_FULL)
		*(is_cache(t) ? &lt->cfull : &lt->full) = true;
	return lmdb_err(rc);
}

/* The LMDB transaction that holds table t: the cache's is begun on the
 * first op on a cache table.  NULL and *rc when it cannot begin. */
static MDB_txn *
txn_for(struct store_txn *txn, enum store_table t, int *rc)
{
	struct lmdb_store *s = txn_store(txn);

	if (!is_cache(t))
		return s->txn.txn;
	if (s->txn.ctxn == NULL &&
	    (*rc = mdb_txn_begin(s->cenv, NULL, s->txn.write ? 0 : MDB_RDONLY,
		 &s->txn.ctxn)) != 0)
		return NULL;
	return s->txn.ctxn;
}

/* Doubles env's map, up to map_max; no transaction may be open.  On
 * failure the map keeps its size and the retry reports the store full
 * again. */
static void
lmdb_grow(MDB_env *env, size_t map_max)
{
	MDB_envinfo info;

	if (mdb_env_info(env, &info) != 0 || info.me_mapsize >= map_max)
		return;
	(void)mdb_env_set_mapsize(env,
	    info.me_mapsize > map_max / 2 ? map_max : info.me_mapsize * 2);
}

/* Ends the transactions of s (committed already, or to abort), then
 * grows a map that filled. */
static void
lmdb_end(struct lmdb_store *s)
{
	if (s->txn.ctxn != NULL)
		mdb_txn_abort(s->txn.ctxn);
	if (s->txn.txn != NULL)
		mdb_txn_abort(s->txn.txn);
	s->txn.ctxn = NULL;
	s->txn.txn = NULL;
	if (s->txn.full)
		lmdb_grow(s->env, s->map_max);
}

/* store_ops.begin */
static int
lmdb_begin(struct store *st, bool write, struct store_txn **out)
{
	struct lmdb_store *s = (struct lmdb_store *)st;
	int rc;

	s->txn.full = s->txn.cfull = false;
	s->txn.write = write;
	s->txn.ctxn = NULL;
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
	lmdb_end(txn_store(txn));
}

/* store_ops.commit: a transaction that hit a full map fails as a whole.
 * The cache's part first: a crash between the two loses only cache
 * entries, which the next start drops anyway.  A transaction that wrote
 * only to the cache leaves the durable environment untouched, and LMDB
 * then neither writes nor syncs it. */
static int
lmdb_commit(struct store_txn *txn)
{
	struct lmdb_store *s = txn_store(txn);
	int rc = 0;

	if (s->txn.full || s->txn.cfull) {
		lmdb_end(s);
		return ANDNA_ESTORE_FULL;
	}
	if (s->txn.ctxn != NULL) {
		rc = txn_err(txn, STORE_T_CACHE, mdb_txn_commit(s->txn.ctxn));
		s->txn.ctxn = NULL;
	}
	if (rc == 0) {
		rc = txn_err(txn, STORE_T_META, mdb_txn_commit(s->txn.txn));
		s->txn.txn = NULL;
	}
	lmdb_end(s);
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
	int rc = 0;
	MDB_txn *mt = txn_for(txn, t, &rc);

	if (mt != NULL && (rc = mdb_get(mt, s->dbi[t], &k, &v)) == 0)
		kv_out(&k, &v, out);
	return txn_err(txn, t, rc);
}

/* store_ops.put */
static int
lmdb_put(struct store_txn *txn, enum store_table t, const void *key,
    size_t klen, size_t vlen, uint8_t **dst)
{
	struct lmdb_store *s = txn_store(txn);
	MDB_val k = {klen, (void *)key}, v = {vlen, NULL};
	int rc = 0;
	MDB_txn *mt = txn_for(txn, t, &rc);

	if (mt != NULL &&
	    (rc = mdb_put(mt, s->dbi[t], &k, &v, MDB_RESERVE)) == 0)
		*dst = v.mv_data;
	return txn_err(txn, t, rc);
}

/* store_ops.del */
static int
lmdb_del(
    struct store_txn *txn, enum store_table t, const void *key, size_t klen)
{
	struct lmdb_store *s = txn_store(txn);
	MDB_val k = {klen, (void *)key};
	int rc = 0;
	MDB_txn *mt = txn_for(txn, t, &rc);

	if (mt != NULL)
		rc = mdb_del(mt, s->dbi[t], &k, NULL);
	return txn_err(txn, t, rc);
}

/* store_ops.cursor_open */
static int
lmdb_cursor_open(struct store_txn *txn, enum store_table t, void **cur)
{
	struct lmdb_store *s = txn_store(txn);
	MDB_cursor *c = NULL;
	int rc = 0;
	MDB_txn *mt = txn_for(txn, t, &rc);

	if (mt != NULL)
		rc = mdb_cursor_open(mt, s->dbi[t], &c);
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
	int rc = 0;
	MDB_txn *mt = txn_for(txn, t, &rc);

	if (mt != NULL && (rc = mdb_stat(mt, s->dbi[t], &st)) == 0)
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
	if (s->cenv != NULL)
		mdb_env_close(s->cenv);
	if (s->cfd >= 0)
		close(s->cfd);
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

/* Opens (creating) the named DBs of the tables that live in env (the
 * cache's, or all the others); in the durable one, drops the cache that
 * stores before this layout kept there. */
static int
lmdb_open_dbs(struct lmdb_store *s, MDB_env *env, bool cache)
{
	MDB_txn *txn = NULL;
	MDB_dbi old;

	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		return ANDNA_ESTORE_OPEN;
	for (int t = 0; t < STORE_NTABLES; t++) {
		if (is_cache(t) != cache) {
			if (mdb_dbi_open(txn, table_names[t], 0, &old) == 0 &&
			    mdb_drop(txn, old, 1) != 0) {
				mdb_txn_abort(txn);
				return ANDNA_ESTORE_OPEN;
			}
			continue;
		}
		if (mdb_dbi_open(txn, table_names[t], MDB_CREATE, &s->dbi[t])) {
			mdb_txn_abort(txn);
			return ANDNA_ESTORE_OPEN;
		}
	}
	return mdb_txn_commit(txn) == 0 ? 0 : ANDNA_ESTORE_OPEN;
}

/* Opens the cache's environment in a memfd, reached by its /proc path
 * (LMDB opens a path); one process, one thread: no lock file. */
static int
lmdb_open_cache(struct lmdb_store *s, size_t map_size)
{
	char path[64];

	if ((s->cfd = memfd_create("andna-cache", MFD_CLOEXEC)) < 0)
		return ANDNA_ESTORE_OPEN;
	snprintf(path, sizeof path, "/proc/self/fd/%d", s->cfd);
	if (mdb_env_create(&s->cenv) != 0 ||
	    mdb_env_set_maxdbs(s->cenv, STORE_NTABLES) != 0 ||
	    mdb_env_set_mapsize(s->cenv, map_size) != 0 ||
	    mdb_env_open(s->cenv, path, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC,
		0600) != 0)
		return ANDNA_ESTORE_OPEN;
	return lmdb_open_dbs(s, s->cenv, true);
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
	s->cfd = -1;
	s->map_max = map_max > map_size ? map_max : map_size;
	if (mdb_env_create(&s->env) != 0 ||
	    mdb_env_set_maxdbs(s->env, STORE_NTABLES) != 0 ||
	    mdb_env_set_mapsize(s->env, map_size) != 0 ||
	    mdb_env_open(s->env, dir, 0, 0600) != 0 ||
	    mdb_reader_check(s->env, &dead) != 0 ||
	    lmdb_open_dbs(s, s->env, false) != 0 ||
	    lmdb_open_cache(s, map_size) != 0 ||
	    (rc = store_schema_init(&s->base)) != 0) {
		lmdb_close(&s->base);
		return rc == ANDNA_ESTORE_SCHEMA ? rc : ANDNA_ESTORE_OPEN;
	}
	*out = &s->base;
	return 0;
}
