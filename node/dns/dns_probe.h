/* Health probes for the DNS front (beyond the seeds, DESIGN.md section 6):
 * a target the front has answered with is probed now and then by a
 * non-blocking TCP connect to a port (the configured one for host
 * addresses, the entry's own port for SRV targets); the result is kept
 * until the next probe, and a target nobody asked for in forget_ms is
 * forgotten.  The front puts targets that are down after the others, so a
 * client that tries the first address reaches a live server.
 *
 * A target counts as down only when its host does not answer: the connect
 * times out, or fails as unreachable (no route, ICMP host or network
 * unreachable or prohibited).  A refused connect (RST, or ICMP port
 * unreachable: ECONNREFUSED) proves the host is there and costs a client
 * nothing, so it counts as up: a probe of port 80 must not bury a server
 * that only speaks HTTPS.  A target not probed yet counts as up: an answer
 * never waits for a probe. */
#ifndef ANDNA_NODE_DNS_PROBE_H
#define ANDNA_NODE_DNS_PROBE_H

#include <stdint.h>

#include <event2/event.h>

#include "proto/types.h"

struct dns_probe;

enum dns_health {
	DNS_HEALTH_UNKNOWN, /* not probed yet: treated as up */
	DNS_HEALTH_UP,
	DNS_HEALTH_DOWN,
};

struct dns_probe_config {
	uint32_t interval_ms; /* between two probes of one target */
	uint32_t timeout_ms;  /* a connect that takes longer: down */
	uint32_t forget_ms;   /* a target not asked for this long: dropped */
	int max_targets;      /* targets tracked; more count as up */
	int max_inflight;     /* connects at once */
	/* told when a probe changes a target's health from was (UNKNOWN
	 * for its first probe) to health; err is the connect's errno,
	 * ETIMEDOUT for a timeout, 0 when it was accepted.  NULL: nobody */
	void (*change_cb)(void *ctx, const struct endpoint *target,
	    enum dns_health was, enum dns_health health, int err);
	void *change_ctx;
};

/* Fills the defaults: 5 s, 1 s, 10 min, 4096, 64, no change_cb. */
void dns_probe_config_defaults(struct dns_probe_config *cfg);

/* What a connect that ended with err (0: accepted) says of its target:
 * DNS_HEALTH_UP when the host answered (accepted, ECONNREFUSED,
 * ECONNRESET), DNS_HEALTH_DOWN when it did not (ETIMEDOUT, EHOSTUNREACH,
 * ENETUNREACH, EHOSTDOWN, ENETDOWN, and EACCES or EPERM: a firewall on
 * the way, or ICMPv6 administratively prohibited), DNS_HEALTH_UNKNOWN
 * when the error is this host's own (out of ports, buffers or memory) and
 * says nothing of the target: its last health stands. */
enum dns_health dns_probe_verdict(int err);

struct dns_probe_stats {
	uint64_t targets, probes, up, down;
};

/* Creates a prober on base; cfg is copied.  Returns NULL on out of
 * memory. */
struct dns_probe *dns_probe_new(
    struct event_base *base, const struct dns_probe_config *cfg);

/* Closes every probe in flight and frees the prober; NULL is fine. */
void dns_probe_free(struct dns_probe *p);

/* The last known health of target (address and TCP port).  Notes that it
 * was asked for, and starts tracking and probing it when it is new. */
enum dns_health dns_probe_health(
    struct dns_probe *p, const struct endpoint *target);

void dns_probe_get_stats(
    const struct dns_probe *p, struct dns_probe_stats *out);

#endif
