/* The DNS front (DESIGN.md section 6): plain DNS over UDP and TCP on a
 * node's listen addresses.  Names under the suffixes (default `ntk`) come
 * from the overlay through a small resolver interface, so the daemon plugs
 * in the engine and tests plug in a fake; other names go to a forwarder
 * (node/dns/dns_forward.h) or get REFUSED when there is none.
 *
 * What it answers (the choice of entries is in node/dns/dns_answer.h):
 *  - A/AAAA from service 0, every address of the best priority, rotated per
 *    query and weighted by SNSD weight; with health probes on, targets that
 *    are down go last.  A host with only name targets is a CNAME (chased).
 *  - SRV for `_svc._proto.NAME`, A/AAAA for its `<ip>._ip.<suffix>`
 *    targets (also given as glue).
 *  - PTR for whole in-addr.arpa/ip6.arpa names: the overlay's reverse
 *    resolution first; when no node answers there, the name is forwarded
 *    (or REFUSED without upstream), so a PTR of a non-mesh address still
 *    works.
 *  - SOA and NS at each suffix apex (stub zone for unbound or dnsmasq);
 *    NXDOMAIN and NODATA with the SOA in authority, negative TTL = SOA
 *    minimum = negative_ttl (at most the resolver's TTL when a record
 *    says no: an AAAA of an IPv4-only name); positive TTLs from the
 *    resolver (what is left of its cache life, itself within the owner's
 *    TTL).  AA on everything from the overlay, RA when forwarding.
 *  - FORMERR for malformed queries (no answer at all when not even a
 *    header can be read, or the packet is a response), NOTIMP for opcodes
 *    other than QUERY, BADVERS for EDNS versions above 0, REFUSED for zone
 *    transfers and classes other than IN, SERVFAIL when the overlay does
 *    not answer within timeout_ms.  EDNS0 with the client's UDP size, TC
 *    when an answer does not fit, the question's letter case kept.
 *  - DNS cookies (node/dns/dns_cookie.h): a COOKIE option is answered
 *    with the client cookie and a server cookie (FORMERR when malformed);
 *    a UDP answer to a client without a valid server cookie is at most
 *    DNS_AMP_MAX times its query, TC beyond; TCP is never capped.
 *  - Per-client token buckets (see the rate limit in dns_front.c), except
 *    for clients in rate_exempt (loopback by default: a local resolver
 *    that uses the node as a stub zone sends every query of its users).
 *  - TCP: at most tcp_max_conns connections, tcp_max_per_host of them
 *    from one host, so none can hold every slot; each closed tcp_idle_ms
 *    after its last answer, however it trickles bytes meanwhile.
 *  - Names that would be forwarded (outside the suffixes, and PTRs the
 *    overlay has no answer for) only for clients in `allow`; others get
 *    REFUSED, so the node is no open forwarder.  Overlay names are
 *    answered for everyone.
 *
 * Speed: an overlay outcome (a record, or "no such name") is kept by the
 * front for hot_ms and answers every query of that name meanwhile without
 * calling the resolver; its TTL still counts down from the resolver's.
 * UDP is read and answered in batches (recvmmsg/sendmmsg), and finished
 * queries are kept for reuse, so a cached answer costs no allocation. */
#ifndef ANDNA_NODE_DNS_FRONT_H
#define ANDNA_NODE_DNS_FRONT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "node/dns/dns_forward.h"
#include "node/dns/dns_probe.h"
#include "proto/record.h"
#include "proto/types.h"

#define DNS_FRONT_MAX_LISTEN 8
#define DNS_FRONT_MAX_SUFFIXES 8
#define DNS_FRONT_MAX_NS_ADDRS 8
#define DNS_FRONT_MAX_NETS 64 /* client networks of one list */

/* A client network: family 4 or 6, the first `prefix` bits of ip. */
struct dns_net {
	uint8_t family;
	uint8_t prefix;
	uint8_t ip[16];
};

/* Log levels, in the order of the engine's. */
enum dns_log_level { DNS_LOG_ERR, DNS_LOG_WARN, DNS_LOG_INFO, DNS_LOG_DEBUG };

/* The outcome of a name lookup: status 0 and a verified record for the
 * name asked (valid only during the call) with the seconds it may be
 * cached, or ANDNA_ENOTFOUND (no such name), ANDNA_ETIMEOUT or another
 * code (the overlay could not answer: SERVFAIL). */
typedef void (*dns_resolve_cb)(
    void *arg, int status, const struct record *rec, uint32_t ttl_s);

/* The outcome of a reverse lookup: status 0 and the n_recs verified
 * records (valid only during the call) of the names the node at that
 * address holds, ANDNA_ENOTFOUND (it holds none), or another code (no node
 * answered there). */
typedef void (*dns_reverse_cb)(void *arg, int status,
    const struct record *const *recs, int n_recs, uint32_t ttl_s);

/* How the front reaches the overlay.  Each call either returns an error
 * (and never calls cb) or returns 0 and calls cb exactly once, possibly
 * before it returns, unless cancel(ctx, arg) is called first; after
 * cancel the callback for that arg never runs.  `arg` identifies one
 * lookup: the front never has two lookups with one arg in flight. */
struct dns_front_resolver {
	void *ctx;
	/* Resolves name (canonical, without suffix). */
	int (*resolve)(
	    void *ctx, const char *name, dns_resolve_cb cb, void *arg);
	/* Asks the node at ip (port 0: the host picks it) which names it
	 * holds.  May be NULL: PTR queries are then forwarded. */
	int (*reverse)(
	    void *ctx, const struct endpoint *ip, dns_reverse_cb cb, void *arg);
	void (*cancel)(void *ctx, void *arg);
};

struct dns_front_config {
	/* UDP and TCP on each; port 0 takes one free port for both */
	struct endpoint listen[DNS_FRONT_MAX_LISTEN];
	int n_listen;
	/* zones served from the overlay, presentation text ("ntk") */
	const char *suffixes[DNS_FRONT_MAX_SUFFIXES];
	int n_suffixes;
	/* the NS (and SOA mname) of each zone: NULL for the apex itself,
	 * which then answers A/AAAA with ns_addrs (the node's addresses) */
	const char *ns_name;
	struct endpoint ns_addrs[DNS_FRONT_MAX_NS_ADDRS];
	int n_ns_addrs;
	uint32_t timeout_ms;	     /* overlay answer deadline: SERVFAIL */
	uint32_t reverse_timeout_ms; /* reverse deadline: then forward */
	uint32_t negative_ttl;	     /* SOA minimum, the engine's negative_s */
	uint32_t zone_ttl;	     /* TTL of SOA, NS and glue */
	uint32_t soa_serial;	     /* 0: the time the front started */
	uint32_t hot_ms;	     /* reuse of an overlay outcome; 0: none */
	uint32_t tcp_idle_ms;	     /* a connection with nothing to do */
	int tcp_max_conns;	     /* more are closed at once */
	int tcp_max_per_host;	     /* of those, from one host (IPv6: /64) */
	int tcp_max_inflight;	     /* queries per connection at once */
	int max_queries;	     /* queries waiting on overlay/upstream */
	uint32_t rate_qps;	     /* per client; 0: no limit */
	uint32_t rate_burst;
	/* clients that may have names forwarded; with allow_local, also
	 * loopback and the networks of the host's interfaces that are up
	 * when the front starts (getifaddrs: address and netmask) */
	struct dns_net allow[DNS_FRONT_MAX_NETS];
	int n_allow;
	bool allow_local;
	/* clients the rate limit does not apply to; rate_exempt_local as
	 * allow_local */
	struct dns_net rate_exempt[DNS_FRONT_MAX_NETS];
	int n_rate_exempt;
	bool rate_exempt_local;
	bool probe;	     /* health probes of answered targets */
	uint16_t probe_port; /* TCP port probed for host addresses */
	struct dns_probe_config probe_cfg;
	struct dns_forward *forward; /* not owned; NULL: REFUSED */
	void (*log_cb)(void *ctx, int level, const char *msg);
	void *log_ctx;
};

/* Fills the defaults: [::] and 0.0.0.0 port 53, suffix "ntk", the apex as
 * NS, 3000 ms overlay deadline, 1500 ms reverse deadline, negative TTL 30,
 * zone TTL 300, overlay outcomes reused for 1000 ms, TCP idle 10 s (from
 * the last answer: bytes of an unfinished query do not count), 256
 * connections of 32 queries, at most 32 connections from one host, 4096
 * queries waiting, 100 queries/s with a burst of 200 per client except from
 * 127.0.0.0/8 and ::1, forwarding for loopback and the networks of the
 * host's interfaces (allow_local), health probes on (port 80, every 5 s),
 * no forwarder. */
void dns_front_config_defaults(struct dns_front_config *cfg);

/* Answers by rcode; `refused` counts every REFUSED: zone transfers,
 * classes other than IN, names to forward with no upstream or for a
 * client outside `allow`, and TCP queries over the rate limit.
 * `capped` counts the answers of `truncated` (TC) whose UDP limit the
 * amplification cap had lowered; `cookie_valid` the queries with a
 * server cookie of ours, `cookie_invalid` those with one that is not
 * (another server's, expired, for another address) or a malformed
 * COOKIE option. */
struct dns_front_stats {
	uint64_t udp_queries, tcp_queries, overlay, forwarded, cached;
	uint64_t noerror, nxdomain, nodata, servfail, formerr, notimp;
	uint64_t refused, badvers, truncated, dropped, rate_limited;
	uint64_t tcp_conns, tcp_rejected, timeouts;
	uint64_t ready; /* answers sent from their ready wire form */
	uint64_t capped, cookie_valid, cookie_invalid;
};

struct dns_front;

/* Parses "ADDR/PREFIX" (IPv4 or IPv6; no prefix: the whole address) into
 * *out, the bits past the prefix cleared.  Returns 0 or ANDNA_EINVAL. */
int dns_net_parse(const char *text, struct dns_net *out);

/* Whether ep's address is in one of the n networks. */
bool dns_net_match(
    const struct dns_net *nets, int n, const struct endpoint *ep);

/* Binds every listener (UDP first, then TCP on the same address and port)
 * and starts serving on base.  cfg (but not cfg->forward) and *resolver
 * are copied.  Returns 0 and *out, or ANDNA_EBIND (address in use or
 * a privileged port without root; logged), ANDNA_EINVAL (a bad suffix or
 * NS name, no listener) or ANDNA_ENOMEM. */
int dns_front_new(struct event_base *base, const struct dns_front_config *cfg,
    const struct dns_front_resolver *resolver, struct dns_front **out);

/* Closes every listener and connection, cancels every lookup and
 * forwarded query, and frees the front.  Free the forwarder after this.
 * NULL is fine. */
void dns_front_free(struct dns_front *f);

/* The address and port listener i is bound to (the port chosen when the
 * configuration said 0).  Returns 0 or ANDNA_EINVAL. */
int dns_front_local(const struct dns_front *f, int i, struct endpoint *out);

/* Forgets every overlay outcome the front keeps (hot_ms), so the next
 * query of each name asks the resolver: call it when a name changed. */
void dns_front_forget(struct dns_front *f);

void dns_front_get_stats(
    const struct dns_front *f, struct dns_front_stats *out);

/* Drops root to user: supplementary groups, gid and uid, then checks that
 * root cannot be regained.  Call it after dns_front_new() bound port 53.
 * A process that already runs as user (and its group) keeps what it has.
 * Returns 0, ANDNA_ENOTFOUND (no such user) or ANDNA_EPRIV. */
int dns_drop_privileges(const char *user);

#endif
