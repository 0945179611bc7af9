/* andnad's DNS service: the front, its forwarder and its engine adapter,
 * built from the daemon's configuration (the dns_* options).  The daemon
 * creates it once its sockets are bound and before privileges are dropped
 * (so port 53 binds as root), hands it every engine event, and frees it
 * before the engine.  Upstreams are dns_upstream, else the nameservers of
 * dns_resolv_conf (the node's own DNS addresses left out), else none:
 * REFUSED for names outside the overlay. */
#ifndef ANDNA_NODE_DNS_NODE_H
#define ANDNA_NODE_DNS_NODE_H

#include "node/daemon/daemon.h"
#include "node/dns/dns_front.h"
#include "node/engine/engine.h"

struct dns_node;

/* Binds the DNS listeners of d's configuration on d's event base.
 * Returns 0 and *out (NULL when dns_listen is empty: no DNS), or an error
 * (logged): ANDNA_EBIND, ANDNA_EINVAL, ANDNA_ENOMEM. */
int dns_node_new(struct daemon *d, struct dns_node **out);

/* Hands an engine event over (RESOLVE_DONE and REVERSE_DONE end
 * lookups; REGISTER_DONE makes the front forget what it kept).  NULL is
 * fine. */
void dns_node_event(struct dns_node *n, const struct engine_event *ev);

/* The front's counters (zeros for NULL). */
void dns_node_stats(const struct dns_node *n, struct dns_front_stats *out);

/* Closes every DNS socket and frees n; NULL is fine. */
void dns_node_free(struct dns_node *n);

#endif
