/* Forwarding of names the overlay does not serve to upstream resolvers
 * (DESIGN.md section 6).  Each attempt asks one upstream over UDP from a
 * fresh socket on a random source port with a random query id (libsodium),
 * takes only an answer from that upstream's address whose id and question
 * match, retries over TCP when the answer is truncated, and moves on to the
 * next upstream on timeout, SERVFAIL or REFUSED.  After the last attempt
 * the caller hears ANDNA_ETIMEOUT and answers SERVFAIL.
 *
 * Upstreams come from the configuration or from a resolv.conf file whose
 * path the caller names (tests point it at a temporary file; nothing here
 * opens /etc/resolv.conf by itself). */
#ifndef ANDNA_NODE_DNS_FORWARD_H
#define ANDNA_NODE_DNS_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "proto/dns.h"
#include "proto/types.h"

#define DNS_FORWARD_MAX_UPSTREAMS 8

struct dns_forward;
struct dns_forward_req;

struct dns_forward_config {
	struct endpoint upstreams[DNS_FORWARD_MAX_UPSTREAMS]; /* port 0: 53 */
	int n_upstreams;
	uint32_t timeout_ms; /* one attempt (UDP, then TCP after TC) */
	int tries;	     /* attempts in all, across upstreams */
	int max_pending;     /* queries in flight; more get ANDNA_ELIMIT */
};

/* Fills the defaults: no upstream, 1500 ms, 3 tries, 512 in flight. */
void dns_forward_config_defaults(struct dns_forward_config *cfg);

struct dns_forward_stats {
	uint64_t queries, answered, timeouts, tcp_retries, mismatched;
	uint64_t pending;
};

/* Called once per query with status 0 and the upstream's answer (its id
 * already set back to the client's query id; valid only during the call),
 * or ANDNA_ETIMEOUT when no upstream answered in time. */
typedef void (*dns_forward_cb)(
    void *arg, int status, const uint8_t *answer, size_t len);

/* Creates a forwarder on base; cfg is copied.  Returns NULL on out of
 * memory. */
struct dns_forward *dns_forward_new(
    struct event_base *base, const struct dns_forward_config *cfg);

/* Frees the forwarder and its queries in flight without calling their
 * callbacks.  NULL is fine. */
void dns_forward_free(struct dns_forward *fw);

/* Number of upstreams (0: the front answers REFUSED). */
int dns_forward_upstreams(const struct dns_forward *fw);

/* Forwards the question of query (parsed, one question): RD, CD and AD are
 * copied, and an OPT record is sent only when the query had one (then with
 * our buffer size and the client's DO bit).  Returns 0 and *req (valid until
 * the callback runs or dns_forward_cancel()); the callback never runs
 * before this returns.  Errors: ANDNA_ENOTFOUND (no upstream),
 * ANDNA_ELIMIT (too many in flight), ANDNA_EINVAL, ANDNA_EIO (no socket),
 * ANDNA_ENOMEM. */
int dns_forward_query(struct dns_forward *fw, const struct dns_msg *query,
    dns_forward_cb cb, void *arg, struct dns_forward_req **req);

/* Drops a query in flight; its callback will not run. */
void dns_forward_cancel(struct dns_forward_req *req);

void dns_forward_get_stats(
    const struct dns_forward *fw, struct dns_forward_stats *out);

/* Reads `nameserver` lines of the resolv.conf file at path into out (at
 * most max, port 53), leaving out those in skip (the node's own DNS
 * listeners: same address and port 53) and, when a skip entry is a
 * wildcard address of port 53, loopback and wildcard nameservers too, so
 * the node never forwards to itself.  Returns 0 and *n, or ANDNA_EIO when
 * the file cannot be read. */
int dns_resolv_conf_read(const char *path, const struct endpoint *skip,
    int n_skip, struct endpoint *out, int max, int *n);

/* Parses "192.0.2.1", "192.0.2.1:5353", "2001:db8::1" or
 * "[2001:db8::1]:5353" into *out (port default_port when none is given).
 * Returns 0 or ANDNA_EINVAL. */
int dns_endpoint_parse(
    const char *text, uint16_t default_port, struct endpoint *out);

/* Converts between endpoints and socket addresses.  The first returns the
 * address length; the second returns 0 or ANDNA_EINVAL (not IPv4/IPv6). */
socklen_t dns_endpoint_to_sockaddr(
    const struct endpoint *ep, struct sockaddr_storage *ss);
int dns_endpoint_from_sockaddr(const struct sockaddr *sa, struct endpoint *out);

#endif
