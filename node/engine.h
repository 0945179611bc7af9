/* The andna engine: one node's overlay and name service as a state machine
 * with no I/O.  It is handed packets and the time, and hands back packets
 * to send (through io.send_cb) and the time it next wants to wake.  Clock,
 * randomness, sending and storage are injected; nothing is global, so one
 * process can hold thousands of engines (the simulator does). */
#ifndef ANDNA_NODE_ENGINE_H
#define ANDNA_NODE_ENGINE_H

#include "crypto/crypto.h"
#include "node/round.h"
#include "proto/types.h"

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
};

void engine_config_defaults(struct engine_config *cfg);

enum engine_event_type {
	ENGINE_EV_HOOKED,     /* took an overlay address (addr) */
	ENGINE_EV_PROBE_DONE, /* probe finished: status, addr = responder */
};

struct engine_event {
	enum engine_event_type type;
	uint64_t id;      /* the request's id, for *_DONE events */
	int status;       /* 0 or an ANDNA_E* code */
	ovl_addr_t addr;  /* see the event type */
	int hops;         /* hops the request took */
	uint32_t rtt_ms;  /* time from first send to reply */
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
};

/* Why incoming messages were dropped; counted in engine_stats. */
enum engine_drop {
	ENGINE_DROP_MALFORMED, /* failed to decode */
	ENGINE_DROP_SIGNATURE, /* envelope signature */
	ENGINE_DROP_UNEXPECTED,/* valid, but not wanted in this state */
	ENGINE_DROP_HOPS,      /* hop limit used up */
	ENGINE_DROP_NOROUTE,   /* no live contact towards the target */
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

bool engine_hooked(const struct engine *e);
ovl_addr_t engine_addr(const struct engine *e);
const uint8_t *engine_node_key(const struct engine *e);
const struct engine_stats *engine_stats(const struct engine *e);

/* Fills `v` with what the node knows of existing gnodes. */
void engine_round_view(struct engine *e, struct round_view *v);

/* Number of live members of the node's gnode, itself included. */
int engine_gnode_members(const struct engine *e);

/* Number of known sibling gnodes at `level` (1..3), own excluded. */
int engine_outer_count(const struct engine *e, int level);

/* Bytes of overlay state the engine holds (maps, pending requests). */
size_t engine_state_bytes(const struct engine *e);

#endif
