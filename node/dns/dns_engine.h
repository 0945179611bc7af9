/* The seam between the DNS front and the engine: a dns_front_resolver
 * whose lookups are engine_resolve() and engine_reverse() calls and whose
 * outcomes are the engine's RESOLVE_DONE and REVERSE_DONE events.
 *
 * The engine may not be called from inside its own callbacks, and the
 * front starts a lookup from inside an outcome (a CNAME it chases), so
 * lookups are queued and started from the event loop; outcomes are handed
 * to the front at once, while the engine's record is still valid.  The
 * host (the daemon) passes every engine event to dns_engine_event(). */
#ifndef ANDNA_NODE_DNS_ENGINE_H
#define ANDNA_NODE_DNS_ENGINE_H

#include <stdint.h>

#include <event2/event.h>

#include "node/dns/dns_front.h"
#include "node/engine/engine.h"

struct dns_engine;

/* What the adapter needs of its host. */
struct dns_engine_host {
	void *ctx;
	/* The engine, or NULL while there is none yet (lookups then fail
	 * with ANDNA_ENOT_HOOKED: SERVFAIL). */
	struct engine *(*engine)(void *ctx);
	/* The engine's clock. */
	uint64_t (*now)(void *ctx);
	/* Called after engine calls made from outside engine callbacks, so
	 * the host runs due work and re-arms the engine's timer; may be
	 * NULL. */
	void (*engine_done)(void *ctx);
	/* The overlay port of the node at a PTR query's address. */
	uint16_t overlay_port;
};

/* Creates the adapter on base; host is copied.  Returns NULL on out of
 * memory. */
struct dns_engine *dns_engine_new(
    struct event_base *base, const struct dns_engine_host *host);

/* Frees the adapter and its lookups (their callbacks never run).  Free
 * the front first.  NULL is fine. */
void dns_engine_free(struct dns_engine *de);

/* Fills *out with the resolver the front takes. */
void dns_engine_resolver(struct dns_engine *de, struct dns_front_resolver *out);

/* Hands an engine event to the lookup it ends, if any. */
void dns_engine_event(struct dns_engine *de, const struct engine_event *ev);

/* Lookups queued or waiting on the engine. */
int dns_engine_pending(const struct dns_engine *de);

#endif
