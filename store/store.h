/* The node's persistent state (DESIGN.md sections 4 and 5): a small back-end
 * interface over named tables, implemented by LMDB (the daemon) and by
 * memory (the simulator), and one typed layer on top that the engine calls.
 *
 * Rules that hold for every function below:
 * - Functions return 0 or a negative ANDNA_ code; out-parameters are cleared
 *   on entry.  A typed read of a value that does not decode returns
 *   ANDNA_ESTORE_CORRUPT.  Missing entries return ANDNA_ENOTFOUND.
 * - One transaction at a time per store (ANDNA_EBUSY otherwise); a
 *   transaction spans every table.  Writes need a write transaction
 *   (ANDNA_EINVAL otherwise).
 * - Byte pointers handed out (record blobs, endpoints, meta values) point
 *   into the store and stay valid until the next write in the same
 *   transaction or its end, whichever comes first.  Copy what you keep.
 * - Times are uint64 milliseconds of the caller's clock; nothing in store/
 *   reads a clock.  An entry with expires_at <= now has expired.
 * - `h8` is the 8-byte name hash: the first 8 bytes of BLAKE2b-256 of the
 *   canonical name read big endian.  The caller computes it.
 * - Names are NUL-terminated, 1..ANDNA_NAME_MAX characters (ANDNA_EINVAL
 *   otherwise); store/ does not check that they are canonical.
 * - Visitor callbacks (`*_cb`) return 0 to go on, > 0 to stop (the call then
 *   returns 0), < 0 to stop and have the call return that code.  They may
 *   read and write the store through the same transaction. */
#ifndef ANDNA_STORE_STORE_H
#define ANDNA_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/types.h"

/* Largest record blob (a signed record's msgpack encoding) or endpoints
 * blob the store accepts. */
#define STORE_BLOB_MAX (256 * 1024)
/* Longest meta key. */
#define STORE_META_KEY_MAX 64
/* Longest raw key of any table (an expiry index key over a claim). */
#define STORE_KEY_MAX (8 + 8 + ANDNA_NAME_MAX + 1 + 8)

/* The raw tables.  Each *_EXP table is the expiry index of the table just
 * before it (key: expires_at, big endian, then the primary key). */
enum store_table {
	STORE_T_META,
	STORE_T_KEYS,
	STORE_T_OWN,
	STORE_T_RECORDS,
	STORE_T_RECORDS_EXP,
	STORE_T_CLAIMS,
	STORE_T_CLAIMS_EXP,
	STORE_T_COUNTERS,
	STORE_T_COUNTERS_EXP,
	STORE_T_CACHE,
	STORE_T_CACHE_EXP,
	STORE_T_PEERS,
	STORE_NTABLES
};

/* ---- Lifecycle and transactions ---------------------------------------- */

struct store;
struct store_txn;

/* LMDB sizing: the map starts at map_size bytes and doubles when full, up
 * to map_max (map_max <= map_size: never grows). */
struct store_lmdb_opts {
	size_t map_size;
	size_t map_max;
};
#define STORE_LMDB_MAP_SIZE ((size_t)64 << 20)
#define STORE_LMDB_MAP_MAX ((size_t)1 << 30)

/* Opens (creating it with mode 0700 if missing, files 0600) the LMDB store
 * in directory `dir`; `opts` may be NULL for the defaults above.  An
 * existing store is first read through in a child process (fork, waitpid:
 * open it before installing a SIGCHLD handler), since LMDB aborts on some
 * damaged pages instead of failing.  Commits are durable: once
 * store_txn_commit() returned 0 the data survives a crash or power loss;
 * except the cache tables (STORE_T_CACHE, STORE_T_CACHE_EXP), kept in
 * memory in a map of map_size that does not grow: they start empty.
 * Returns 0 and *out (close it with store_close()), or ANDNA_ESTORE_OPEN
 * if the directory or its files cannot be used (missing parent, not LMDB,
 * damaged, truncated, another schema). */
int store_lmdb_open(
    const char *dir, const struct store_lmdb_opts *opts, struct store **out);

/* Blobs shared by in-memory stores.  The simulator runs thousands of
 * nodes in one process, and hundreds of them hold the same signed record:
 * the stores opened on one store_blobs keep each distinct blob once.
 * Like the in-memory store, aborts when out of memory. */
struct store_blobs;
struct store_blobs *store_blobs_new(void);
/* Frees `b` (NULL: no-op); every store opened on it must be closed. */
void store_blobs_free(struct store_blobs *b);
/* Sets *n to the distinct blobs `b` holds and *bytes to their length. */
void store_blobs_count(const struct store_blobs *b, size_t *n, size_t *bytes);

/* Opens an empty in-memory store with the same semantics as LMDB, minus
 * durability, sharing blobs through `shared` (NULL: keeps its own).
 * Returns 0 and *out (close it with store_close()). */
int store_mem_open(struct store_blobs *shared, struct store **out);

/* Closes `st` and frees everything it holds; no transaction may be open.
 * NULL is a no-op. */
void store_close(struct store *st);

/* Begins a transaction, read-only unless `write`.  Returns 0 and *out, or
 * ANDNA_EBUSY (one is already open), ANDNA_ESTORE_TXN. */
int store_txn_begin(struct store *st, bool write, struct store_txn **out);

/* Commits and ends `txn` (it is gone whatever the result).  Returns 0, or
 * ANDNA_ESTORE_FULL (nothing written; the LMDB map has grown if it may, so
 * a retry can succeed), ANDNA_EIO, ANDNA_ESTORE_TXN. */
int store_txn_commit(struct store_txn *txn);

/* Ends `txn`, dropping its writes.  NULL is a no-op. */
void store_txn_abort(struct store_txn *txn);

/* The body of a write transaction for store_write(). */
typedef int store_txn_fn(void *arg, struct store_txn *txn);

/* Runs fn in a write transaction and commits if it returns 0, else aborts.
 * If the store was full (ANDNA_ESTORE_FULL from fn or the commit) the whole
 * transaction runs once more, after the map has grown, so fn must not have
 * effects outside the store that cannot run twice.  Returns fn's code or
 * the commit's. */
int store_write(struct store *st, store_txn_fn *fn, void *arg);

/* ---- Typed layer: what the engine calls -------------------------------- */

/* What a sweep reports per removed entry (fields a table lacks are zero). */
struct store_expired {
	uint64_t h8;
	char name[ANDNA_NAME_MAX + 1]; /* "" for counters */
	uint8_t pk[ANDNA_PK_LEN];      /* owner, claimant or counted key */
};
typedef void store_expired_cb(void *arg, const struct store_expired *e);

/* Deletes up to `max` entries of `table` (STORE_T_RECORDS, _CLAIMS,
 * _COUNTERS or _CACHE) with expires_at <= now, soonest first, calling cb
 * (may be NULL) for each well-formed one; a value that does not decode is
 * dropped without a callback.  Returns 0 and *n, the entries removed;
 * *n < max means nothing more is due. */
int store_sweep(struct store_txn *txn, enum store_table table, uint64_t now,
    size_t max, store_expired_cb *cb, void *arg, size_t *n);

/* keys: owner public key -> secret key, so the node can renew by itself. */

/* Stores or replaces the secret key of `pk`. */
int store_key_put(struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN],
    const uint8_t sk[ANDNA_SK_LEN]);
/* Copies the secret key of `pk` into sk (caller wipes it). */
int store_key_get(struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN],
    uint8_t sk[ANDNA_SK_LEN]);
/* Deletes the key of `pk`. */
int store_key_del(struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN]);
typedef int store_key_cb(void *arg, const uint8_t pk[ANDNA_PK_LEN]);
/* Visits every stored public key in byte order. */
int store_key_each(struct store_txn *txn, store_key_cb *cb, void *arg);

/* own: the node's own names, and the claims it has queued on names
 * others hold (STORE_OWN_QUEUED). */
#define STORE_OWN_QUEUED 0x01
struct store_own {
	char name[ANDNA_NAME_MAX + 1];
	uint8_t pk[ANDNA_PK_LEN];
	const uint8_t *rec; /* signed record, 1..STORE_BLOB_MAX bytes */
	size_t rec_len;
	uint64_t registered_at;
	uint64_t last_renew;
	uint8_t flags; /* STORE_OWN_* */
};
/* Stores or replaces o->name. */
int store_own_put(struct store_txn *txn, const struct store_own *o);
/* Reads `name` into *out. */
int store_own_get(
    struct store_txn *txn, const char *name, struct store_own *out);
/* Deletes `name`. */
int store_own_del(struct store_txn *txn, const char *name);
typedef int store_own_cb(void *arg, const struct store_own *o);
/* Visits the own names in byte order. */
int store_own_each(struct store_txn *txn, store_own_cb *cb, void *arg);

/* records: held for the hash gnode, or as a backup copy. */
#define STORE_REC_BACKUP 0x01
/* a release: the owner's signed tombstone, kept until the name would have
 * expired so that no replay brings the name back */
#define STORE_REC_RELEASED 0x02
#define STORE_REC_FLAGS (STORE_REC_BACKUP | STORE_REC_RELEASED)
struct store_record {
	uint64_t h8;
	char name[ANDNA_NAME_MAX + 1];
	uint8_t pk[ANDNA_PK_LEN];
	const uint8_t *rec; /* signed record, 1..STORE_BLOB_MAX bytes */
	size_t rec_len;
	uint64_t seq;
	uint64_t stored_at;
	uint64_t expires_at;
	uint8_t flags; /* STORE_REC_* */
};
/* Stores or replaces the record of (r->h8, r->name). */
int store_record_put(struct store_txn *txn, const struct store_record *r);
/* Reads the record of (h8, name) into *out. */
int store_record_get(struct store_txn *txn, uint64_t h8, const char *name,
    struct store_record *out);
/* Deletes the record of (h8, name). */
int store_record_del(struct store_txn *txn, uint64_t h8, const char *name);

/* Where a paged walk stopped.  Zero it to start; a walk sets `done` when
 * nothing is left. */
struct store_pos {
	uint8_t key[STORE_KEY_MAX];
	uint16_t len;
	bool done;
};
typedef int store_record_cb(void *arg, const struct store_record *r);
/* Visits up to `max` (0: no limit) records with lo <= h8 <= hi in (h8,
 * name) order, resuming after *pos and leaving *pos after the last one
 * visited.  On ANDNA_ESTORE_CORRUPT *pos is past the bad entry, so the
 * next call resumes behind it. */
int store_record_range(struct store_txn *txn, uint64_t lo, uint64_t hi,
    struct store_pos *pos, size_t max, store_record_cb *cb, void *arg);

/* claims: per name, a queue of waiting claims in arrival order. */
struct store_claim {
	uint64_t h8;
	char name[ANDNA_NAME_MAX + 1];
	uint8_t pk[ANDNA_PK_LEN]; /* claimant */
	const uint8_t *rec;	  /* signed claim record */
	size_t rec_len;
	uint64_t stored_at;
	uint64_t expires_at;
	struct claim_host host;   /* the node it came from (see proto/types.h) */
};
/* Appends c to the queue of (c->h8, c->name).  Returns 0, ANDNA_EEXIST if
 * c->pk already waits for this name, ANDNA_EQUEUE_FULL if `cap` claims
 * wait.  With `at_head` c goes in front instead (the loser of two owners
 * after a partition): a claim of c->pk already waiting moves there, and
 * when `cap` claims wait the last one is dropped. */
int store_claim_add(struct store_txn *txn, const struct store_claim *c,
    size_t cap, bool at_head);
typedef int store_claim_cb(void *arg, const struct store_claim *c);
/* Visits the claims on (h8, name), head first. */
int store_claim_list(struct store_txn *txn, uint64_t h8, const char *name,
    store_claim_cb *cb, void *arg);
/* Visits every claim of every name, in (h8, name) order, head first. */
int store_claim_each(struct store_txn *txn, store_claim_cb *cb, void *arg);
/* Removes the head of the queue of (h8, name). */
int store_claim_pop(struct store_txn *txn, uint64_t h8, const char *name);
/* Removes pk's claim on (h8, name). */
int store_claim_del(struct store_txn *txn, uint64_t h8, const char *name,
    const uint8_t pk[ANDNA_PK_LEN]);
/* Sets *n to the number of claims waiting on (h8, name). */
int store_claim_count(
    struct store_txn *txn, uint64_t h8, const char *name, size_t *n);

/* counters: the tally of names each owner key holds (counter gnode). */
struct store_counter {
	uint8_t pk[ANDNA_PK_LEN];
	uint64_t h8;	    /* of the counted name */
	const uint8_t *rec; /* the signed record, as proof */
	size_t rec_len;
	uint64_t expires_at;
};
/* Adds or refreshes the tally entry (c->pk, c->h8). */
int store_counter_put(struct store_txn *txn, const struct store_counter *c);
/* Reads the entry (pk, h8) into *out. */
int store_counter_get(struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN],
    uint64_t h8, struct store_counter *out);
/* Deletes the entry (pk, h8). */
int store_counter_del(
    struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN], uint64_t h8);
/* Sets *n to the number of entries of `pk` (expired ones included until
 * swept). */
int store_counter_count(
    struct store_txn *txn, const uint8_t pk[ANDNA_PK_LEN], size_t *n);
typedef int store_counter_cb(void *arg, const struct store_counter *c);
/* Visits the entries of `pk` (NULL: of every key) in (pk, h8) order. */
int store_counter_each(
    struct store_txn *txn, const uint8_t *pk, store_counter_cb *cb, void *arg);

/* cache: resolved names, positive or negative.  A positive entry is
 * served until `fresh_until` (the owner's TTL) and kept until `expires_at`
 * as what the node knows of the name's owner and sequence number. */
struct store_cache {
	const uint8_t *rec; /* NULL for a negative entry */
	size_t rec_len;
	uint64_t expires_at;
	uint64_t fresh_until;
};
/* Stores or replaces the entry of `name` (c->rec NULL: negative).  When
 * that leaves more than `cap` (>= 1) entries, the soonest to expire go. */
int store_cache_put(struct store_txn *txn, const char *name,
    const struct store_cache *c, size_t cap);
/* Reads the entry of `name` into *out; one with expires_at <= now reads as
 * ANDNA_ENOTFOUND. */
int store_cache_get(struct store_txn *txn, const char *name, uint64_t now,
    struct store_cache *out);

/* peers: overlay members the node has heard of. */
struct store_peer {
	ovl_addr_t addr;
	uint8_t pk[ANDNA_PK_LEN];
	const uint8_t *endpoints; /* encoded elsewhere; may be empty */
	size_t endpoints_len;
	uint64_t last_heard;
};
/* Stores or replaces the peer p->addr. */
int store_peer_put(struct store_txn *txn, const struct store_peer *p);
/* Reads the peer at `addr` into *out. */
int store_peer_get(
    struct store_txn *txn, ovl_addr_t addr, struct store_peer *out);
/* Deletes the peer at `addr`. */
int store_peer_del(struct store_txn *txn, ovl_addr_t addr);
typedef int store_peer_cb(void *arg, const struct store_peer *p);
/* Visits the peers in address order. */
int store_peer_each(struct store_txn *txn, store_peer_cb *cb, void *arg);

/* meta: small settings (the key "schema" is the store's own). */

/* Stores or replaces `key` (1..STORE_META_KEY_MAX characters) -> `len`
 * bytes of `val` (at most STORE_BLOB_MAX). */
int store_meta_put(
    struct store_txn *txn, const char *key, const void *val, size_t len);
/* Points *val at the `len` bytes stored under `key`. */
int store_meta_get(
    struct store_txn *txn, const char *key, const uint8_t **val, size_t *len);

/* ---- Back-end interface ------------------------------------------------ */

/* Raw tables hold byte keys (1..STORE_KEY_MAX) ordered by memcmp, shorter
 * first on a tie, and byte values.  The typed layer above is their only
 * user outside tests. */

/* A key and value handed out by a back end; valid as the typed pointers. */
struct store_kv {
	const uint8_t *key;
	size_t klen;
	const uint8_t *val;
	size_t vlen;
};

/* A back end.  Every op returns 0 or a negative ANDNA_ code; not found is
 * ANDNA_ENOTFOUND.  A cursor's position is lost by any write in its
 * transaction; seek again after one. */
struct store_ops {
	/* Starts a transaction; one at a time (store_txn_begin checks). */
	int (*begin)(struct store *st, bool write, struct store_txn **out);
	/* Commits and frees txn. */
	int (*commit)(struct store_txn *txn);
	/* Frees txn without committing. */
	void (*abort)(struct store_txn *txn);
	int (*get)(struct store_txn *txn, enum store_table t, const void *key,
	    size_t klen, struct store_kv *out);
	/* Reserves vlen bytes as key's value and points *dst at them; the
	 * caller fills them before its next call. */
	int (*put)(struct store_txn *txn, enum store_table t, const void *key,
	    size_t klen, size_t vlen, uint8_t **dst);
	int (*del)(struct store_txn *txn, enum store_table t, const void *key,
	    size_t klen);
	/* Opens a cursor over t; it must be closed before txn ends. */
	int (*cursor_open)(
	    struct store_txn *txn, enum store_table t, void **cur);
	/* Moves to the first entry with key >= `key` (klen 0: the first). */
	int (*cursor_seek)(
	    void *cur, const void *key, size_t klen, struct store_kv *out);
	/* Moves to the entry after the current one. */
	int (*cursor_next)(void *cur, struct store_kv *out);
	void (*cursor_close)(void *cur);
	/* Sets *n to the entries in t. */
	int (*count)(struct store_txn *txn, enum store_table t, size_t *n);
	/* Frees the store; no transaction is open. */
	void (*close)(struct store *st);
};

/* Back ends embed these as the first member of their own structs. */
struct store {
	const struct store_ops *ops;
	bool busy; /* a transaction is open */
};
struct store_txn {
	struct store *st;
	uint32_t gen; /* bumped by every write: iterators re-seek after one */
	bool write;
};

/* Where the blob starts in the values of table t, 0 if they hold none: a
 * typed value ends in its blob (a signed record), so a back end may keep
 * equal blobs once. */
size_t store_blob_at(enum store_table t);

/* Checks the schema version in meta, writing it into a new store.  Back
 * ends call it last in their open.  Returns 0, ANDNA_ESTORE_SCHEMA (a
 * store of another schema) or ANDNA_ESTORE_OPEN. */
int store_schema_init(struct store *st);

/* Raw access for the typed layer and tests: the ops above behind the
 * checks of the rules at the top (table and key length, write txn). */

/* Points *out at the entry of key.  Returns 0, ANDNA_ENOTFOUND,
 * ANDNA_EINVAL or a back-end error. */
int store_raw_get(struct store_txn *txn, enum store_table t, const void *key,
    size_t klen, struct store_kv *out);
/* Replaces key's value with vlen reserved bytes at *dst, which the caller
 * fills before its next store call.  Returns 0, ANDNA_EINVAL,
 * ANDNA_ESTORE_FULL or a back-end error. */
int store_raw_put(struct store_txn *txn, enum store_table t, const void *key,
    size_t klen, size_t vlen, uint8_t **dst);
/* Deletes key.  Returns 0, ANDNA_ENOTFOUND, ANDNA_EINVAL or a back-end
 * error. */
int store_raw_del(
    struct store_txn *txn, enum store_table t, const void *key, size_t klen);
/* Sets *n to the number of entries in raw table t. */
int store_raw_count(struct store_txn *txn, enum store_table t, size_t *n);

#endif
