/* The andna engine: one node's overlay and name service as a state machine
 * with no I/O.  It is handed packets and the time, and hands back packets
 * to send (through io.send_cb) and the time it next wants to wake.  Clock,
 * randomness, sending and storage are injected; nothing is global, so one
 * process can hold thousands of engines (the simulator does). */
#ifndef ANDNA_NODE_ENGINE_H
#define ANDNA_NODE_ENGINE_H

#include "crypto/crypto.h"
#include "node/engine/round.h"
#include "proto/msg.h"
#include "proto/record.h"
#include "proto/types.h"
#include "store/store.h"

struct engine;

/* Tunables; engine_config_defaults() fills the values of DESIGN.md. */
struct engine_config {
	int gnode_size;              /* members per gnode, gnodes per parent */
	uint32_t ping_interval_ms;   /* liveness protocol period */
	uint32_t ping_timeout_ms;    /* wait for a direct ack */
	uint32_t suspect_ms;         /* suspected member declared dead */
	uint32_t gossip_interval_ms; /* outer map exchange */
	uint32_t outer_timeout_ms;   /* unrefreshed outer entry dropped */
	uint32_t hop_timeout_ms;     /* wait for the next hop's ack */
	uint32_t request_timeout_ms; /* end-to-end wait for a reply */
	int request_tries;           /* end-to-end attempts */
	int hop_limit;               /* hops a routed message may take */
	/* trust (DESIGN.md section 10): nodes one underlay host may have in
	 * a gnode, and gnodes it may vouch for in an outer map */
	int nodes_per_ipv4;          /* per IPv4 address */
	int nodes_per_ipv6_64;       /* per IPv6 /64 */
	/* name service (DESIGN.md section 9) */
	uint32_t expiry_s;           /* life of a record, claim or tally */
	uint32_t min_update_s;       /* between two updates of one name */
	int max_names_per_key;       /* counter limit */
	int queue_len;               /* waiting claims per name */
	uint32_t cache_cap_s;        /* resolved cache lifetime cap */
	uint32_t negative_s;         /* life of a cached "no such name" */
	int cache_max;               /* resolved cache entries */
	uint32_t sync_interval_ms;   /* anti-entropy with a random member */
	enum msg_seal seal;          /* MSG_SEAL_SIGNED; the simulator may
				      * choose MSG_SEAL_DIGEST */
};

void engine_config_defaults(struct engine_config *cfg);

enum engine_event_type {
	ENGINE_EV_HOOKED,        /* took an overlay address (addr) */
	ENGINE_EV_PROBE_DONE,    /* probe finished: status, addr = responder */
	ENGINE_EV_REGISTER_DONE, /* register/update/release finished: status
				  * (ANDNA_ENAME_QUEUED with queue_pos),
				  * life_s */
	ENGINE_EV_RESOLVE_DONE,  /* resolve finished: status (ANDNA_ENOTFOUND
				  * for no such name, ANDNA_ETIMEOUT when the
				  * overlay did not answer), rec, ttl_s (what
				  * is left of the cache life: never beyond
				  * the record's ttl), hops
				  * (0 from our own store, 1 for a member's
				  * cache, plus the routed hops to the node
				  * that had it), rtt_ms */
	ENGINE_EV_REVERSE_DONE,  /* reverse finished: status, recs */
};

struct engine_event {
	enum engine_event_type type;
	uint64_t id;      /* the request's id, for *_DONE events */
	int status;       /* 0 or an ANDNA_E* code */
	ovl_addr_t addr;  /* see the event type */
	int hops;         /* hops the request took */
	uint32_t rtt_ms;  /* time from first send to reply */
	uint32_t queue_pos; /* REGISTER_DONE: place in the name's queue */
	uint32_t life_s;  /* REGISTER_DONE: seconds until the name expires */
	uint32_t ttl_s;   /* RESOLVE_DONE: seconds the answer may be cached */
	int asked;        /* RESOLVE_DONE: nodes asked (0: answered here) */
	/* RESOLVE_DONE: the verified record; REVERSE_DONE: n_recs of them.
	 * Owned by the engine, valid only during the callback. */
	const struct record *rec;
	const struct record *const *recs;
	int n_recs;
};

enum engine_log_level { ENGINE_LOG_ERR, ENGINE_LOG_WARN, ENGINE_LOG_INFO, ENGINE_LOG_DEBUG };

/* What the engine asks of its host.  Every callback may be called from
 * inside any engine_* call; none may call back into the same engine. */
struct engine_io {
	void *ctx;
	/* Sends `len` bytes to `to` (the host picks UDP or TCP by size). */
	void (*send_cb)(void *ctx, const struct endpoint *to,
	    const uint8_t *buf, size_t len);
	/* Fills `buf` with `len` random bytes. */
	void (*random_cb)(void *ctx, void *buf, size_t len);
	/* Tells the host an outcome; may be NULL. */
	void (*event_cb)(void *ctx, const struct engine_event *ev);
	/* One line of log, without newline; may be NULL. */
	void (*log_cb)(void *ctx, enum engine_log_level level, const char *msg);
	/* The node's store (LMDB in the daemon, memory in the simulator);
	 * the engine never closes it. */
	struct store *store;
	/* Checks the owner's signature of every record the engine takes in,
	 * called with ctx; NULL (the daemon) is sig_verify().  It must give
	 * sig_verify()'s verdict: the simulator's remembers verdicts across
	 * its nodes (sim/sigmemo.h). */
	sig_verify_fn *verify_cb;
	/* The least sequence number of a name the node signs with no record
	 * of its own for it (a first registration), called with ctx; NULL
	 * (the simulator) is 1.  The daemon gives its wall clock's seconds,
	 * so that a key moved from another node usually starts above the
	 * numbers it signed there; the engine never takes it for time, and
	 * a hash gnode that holds a higher number says so (see
	 * register_done() in ns.c). */
	uint64_t (*seq_floor_cb)(void *ctx);
};

/* Why incoming messages were dropped; counted in engine_stats. */
enum engine_drop {
	ENGINE_DROP_MALFORMED, /* failed to decode */
	ENGINE_DROP_SIGNATURE, /* envelope signature */
	ENGINE_DROP_UNEXPECTED,/* valid, but not wanted in this state */
	ENGINE_DROP_HOPS,      /* hop limit used up */
	ENGINE_DROP_NOROUTE,   /* no live contact towards the target */
	ENGINE_DROP_UNTRUSTED, /* from a sender not entitled to say it */
	ENGINE_DROP_MAX
};

struct engine_stats {
	uint64_t sent, received, bytes_sent, bytes_received;
	uint64_t dropped[ENGINE_DROP_MAX];
	uint64_t forwarded, hop_retries, rehooks;
};

/* Creates an engine for the node with key `key` reachable at `eps` (1..4
 * endpoints, copied).  Returns NULL on out of memory.  `cfg` and `io` are
 * copied. */
struct engine *engine_new(const struct engine_config *cfg,
    const struct engine_io *io, const struct keypair *key,
    const struct endpoint *eps, int n_eps, uint64_t now);

/* Frees the engine and everything it holds; sends nothing. */
void engine_free(struct engine *e);

/* Starts joining through `peers` (copied).  With no peers the node founds
 * a new overlay alone at a random address. */
void engine_bootstrap(struct engine *e, const struct endpoint *peers,
    int n_peers, uint64_t now);

/* A neighbour on the node's links (found by the host, signed by key
 * `pk`) announced that it is reached at `ep`; `hooked` says whether it
 * has a place, `addr`.  While joining, the node asks it for a place as
 * it asks its bootstrap peers; once hooked, it gossips with a hooked
 * neighbour its maps do not hold, so overlays founded apart and the
 * halves of a healed cut merge.  Sends at most one message. */
void engine_neighbour(struct engine *e, const uint8_t *pk, bool hooked,
    ovl_addr_t addr, const struct endpoint *ep, uint64_t now);

/* Hands in one message received from `from`.  Bad input is counted and
 * dropped, never fatal. */
void engine_input(struct engine *e, const struct endpoint *from,
    const uint8_t *buf, size_t len, uint64_t now);

/* Runs what is due at `now`; returns the time it next wants to run. */
uint64_t engine_tick(struct engine *e, uint64_t now);

/* Tells the gnode the node is leaving, then stops taking part. */
void engine_leave(struct engine *e, uint64_t now);

/* Routes a probe to `target`; the outcome comes as ENGINE_EV_PROBE_DONE
 * with the returned id. */
uint64_t engine_probe(struct engine *e, ovl_addr_t target, uint64_t now);

/* ---- Name service ------------------------------------------------- */

/* Registers `name` (canonical) with the address set `entries` under the
 * key `owner`, or updates it when `owner` holds it already (the sequence
 * number is taken care of here).  `ttl` is the owner's TTL, the seconds
 * any copy of the record may be cached (ANDNA_TTL_MIN..ANDNA_TTL_MAX); 0
 * chooses none: a new name gets ANDNA_TTL_DEFAULT, an update keeps the
 * TTL the name has.  The engine keeps the owner key in the store and
 * renews the name by itself at half its life, with the same TTL.  Returns
 * 0 and *id (the outcome comes as ENGINE_EV_REGISTER_DONE), or at once
 * ANDNA_ENAME_*, ANDNA_EREC_ENTRIES, ANDNA_EREC_TTL (a TTL out of range),
 * ANDNA_ETOO_SOON (an update within min_update_s), ANDNA_ENAME_TAKEN (the
 * node holds the name under another key), ANDNA_ENOT_HOOKED or a store
 * error. */
int engine_register(struct engine *e, const char *name,
    const struct record_entry *entries, int n_entries, uint32_t ttl,
    const struct keypair *owner, uint64_t now, uint64_t *id);

/* Releases a name this node holds.  Returns 0 and *id (outcome as
 * ENGINE_EV_REGISTER_DONE), or ANDNA_ENOTFOUND, ANDNA_ENOT_HOOKED or a
 * store error. */
int engine_release(struct engine *e, const char *name, uint64_t now,
    uint64_t *id);

/* Resolves `name` (canonical): own names, cache, a neighbour's cache, the
 * hash gnode, then the backup gnode.  Returns 0 and *id (the outcome comes
 * as ENGINE_EV_RESOLVE_DONE, possibly before this returns), or
 * ANDNA_ENAME_*. */
int engine_resolve(struct engine *e, const char *name, uint64_t now,
    uint64_t *id);

/* Asks the node at `node` (an overlay endpoint) which names it holds.
 * Returns 0 and *id (outcome as ENGINE_EV_REVERSE_DONE). */
int engine_reverse(struct engine *e, const struct endpoint *node,
    uint64_t now, uint64_t *id);

/* Counts of what the name service holds, for status reports. */
struct engine_ns_stats {
	uint64_t own, records, claims, tallies, cache;
	uint64_t registered, resolved, resolve_failed, rejected_sig;
	uint64_t replicated, synced, handed_over, expired;
	uint64_t vouch_refused; /* handed-over items the hash gnode denied */
};
void engine_ns_stats(struct engine *e, struct engine_ns_stats *out);

/* ---- Inspection ---------------------------------------------------- */

bool engine_hooked(const struct engine *e);
/* Whether a message with this wire id may answer a request of ours still
 * waiting, or acknowledge a routed message or reply we passed on: a
 * peer's rate limit lets such answers past, since we asked for them (at
 * most ENGINE_AWAIT_PASSES per message, so that whoever saw the id cannot
 * lean on it). */
#define ENGINE_AWAIT_PASSES 2
bool engine_awaits(struct engine *e, uint64_t id);
ovl_addr_t engine_addr(const struct engine *e);
const uint8_t *engine_node_key(const struct engine *e);
const struct engine_stats *engine_stats(const struct engine *e);

/* Fills `v` with what the node knows of existing gnodes. */
void engine_round_view(struct engine *e, struct round_view *v);

/* Number of live members of the node's gnode, itself included. */
int engine_gnode_members(const struct engine *e);

/* Number of known sibling gnodes at `level` (1..3), own excluded. */
int engine_outer_count(const struct engine *e, int level);

/* A live node the engine knows, for engine_peers(). */
struct engine_peer {
	ovl_addr_t addr;
	const struct endpoint *ep;
	const uint8_t *pk; /* NULL for a contact of a sibling gnode */
	int level;         /* 0: a member of the node's gnode; 1..3: a
			    * contact of a sibling gnode at that level */
};

/* Visits the live nodes the engine knows, for a host that keeps them to
 * join through after a restart: the members of its gnode that are alive
 * (not suspected), then the contacts of its sibling gnodes, level 1
 * first.  Nothing while the node is not hooked.  Stops when `cb` returns
 * non-zero.  The peer is valid only during the callback; `cb` must not
 * call back into the engine. */
typedef int engine_peer_cb(void *arg, const struct engine_peer *p);
void engine_peers(const struct engine *e, engine_peer_cb *cb, void *arg);

/* A member of the node's gnode as the node sees it, for
 * engine_members(). */
enum engine_liveness {
	ENGINE_MEMBER_ALIVE,
	ENGINE_MEMBER_SUSPECT, /* missed its pings; still counted */
	ENGINE_MEMBER_DEAD,    /* kept a while so news of it stays settled */
	ENGINE_MEMBER_LEFT,    /* said it was leaving */
};
struct engine_member {
	ovl_addr_t addr;
	const uint8_t *pk;
	enum engine_liveness state;
	uint64_t since; /* engine time the state began */
};

/* Visits every member of the node's gnode in its inner map (itself
 * excluded), whatever its liveness, in address order, for status pages.
 * Nothing while the node is not hooked.  Stops when `cb` returns
 * non-zero; the member is valid only during the callback, and `cb` must
 * not call back into the engine. */
typedef int engine_member_cb(void *arg, const struct engine_member *m);
void engine_members(const struct engine *e, engine_member_cb *cb, void *arg);

/* Which of the peers engine_peers() visits a host keeps to join through
 * after a restart: members of the node's gnode, then one contact of each
 * sibling gnode, a few at each level.  Spread over every level, so that
 * when a whole mesh restarts at once each node knows nodes outside its
 * own gnode: a host that kept only the members of a big gnode would hear
 * of nobody else, and the mesh would re-form as one overlay per gnode. */
#define ENGINE_KEEP_MEMBERS 16
#define ENGINE_KEEP_PER_LEVEL 5
#define ENGINE_KEEP_MAX \
    (ENGINE_KEEP_MEMBERS + (ANDNA_LEVELS - 1) * ENGINE_KEEP_PER_LEVEL)
struct engine_keep {
	int n[ANDNA_LEVELS];        /* kept at each level */
	ovl_addr_t last[ANDNA_LEVELS]; /* the gnode of the last one kept */
};

/* Whether to keep `p`, given what `k` (zeroed before the first call)
 * kept so far; counts it if so.  Never more than ENGINE_KEEP_MAX. */
bool engine_keep_peer(struct engine_keep *k, const struct engine_peer *p);

/* Bytes of overlay state the engine holds (maps, pending requests). */
size_t engine_state_bytes(const struct engine *e);

#endif
