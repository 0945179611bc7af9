/* The pure part of the DNS front (DESIGN.md section 6): where a query name
 * falls (an overlay name under a suffix, a zone apex, an SRV owner, a
 * reverse name, or someone else's), which SNSD entries of a record answer
 * it, and in what order.  No I/O and no state: the front keeps the per-name
 * counters and the health of targets and hands them in.
 *
 * Decisions (documented here once):
 *  - An overlay name is every label before the suffix, so `www.foo.ntk` is
 *    the ANDNA name `www.foo`; labels that cannot be in a canonical name
 *    (underscore, other bytes) make the query NXDOMAIN at once.
 *  - Service 0 with IP targets answers A and AAAA; each family takes the
 *    best (lowest) priority among its own entries.  Name targets in such a
 *    record are ignored for A/AAAA.  A record whose service-0 entries are
 *    all names is a CNAME owner: CNAME to `<target>.<suffix>` (targets are
 *    overlay names), the first of the best priority in rotated order, and
 *    the front chases it.  So an owner is a CNAME for every type or none.
 *  - SRV: `_<service>._<proto>.NAME.<suffix>`, service a name from a small
 *    built-in table (dns_service_port()) or a decimal port (`_8080._tcp`),
 *    proto `_tcp` or `_udp`.  Entries of that port whose proto matches (or
 *    is RECORD_PROTO_NONE) answer, every priority, each priority's set in
 *    weighted order.  An SRV target must be a host name, so an IP target is
 *    named `<ip>._ip.<suffix>` (`192-0-2-1` or 32 hex digits of IPv6): no
 *    canonical name has an `_ip` label, so these never clash with overlay
 *    names; the front answers A/AAAA for them and adds them as glue.
 *  - Order: dns_order() below. */
#ifndef ANDNA_NODE_DNS_ANSWER_H
#define ANDNA_NODE_DNS_ANSWER_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/dns.h"
#include "proto/record.h"
#include "proto/types.h"

/* Where a query name falls. */
enum dns_qkind {
	DNS_Q_OTHER,	/* not under a suffix: forward */
	DNS_Q_APEX,	/* a suffix itself */
	DNS_Q_NAME,	/* an overlay name (name) */
	DNS_Q_SRV,	/* _svc._proto.NAME (name, port, proto) */
	DNS_Q_ADDR,	/* <ip>._ip.<suffix> (ip) */
	DNS_Q_ADDR_ENT, /* _ip.<suffix>: an empty non-terminal */
	DNS_Q_BADNAME,	/* under a suffix, but no such name can exist */
	DNS_Q_REVERSE,	/* a whole in-addr.arpa or ip6.arpa address (ip) */
};

struct dns_qinfo {
	enum dns_qkind kind;
	int suffix;		       /* which suffix (under a suffix) */
	struct dns_name apex;	       /* the suffix as the client wrote it */
	char name[ANDNA_NAME_MAX + 1]; /* DNS_Q_NAME, DNS_Q_SRV */
	uint16_t port;		       /* DNS_Q_SRV */
	uint8_t proto;		       /* DNS_Q_SRV: RECORD_PROTO_TCP/UDP */
	struct endpoint ip;	       /* DNS_Q_ADDR, DNS_Q_REVERSE; port 0 */
};

/* Sorts qname into *out (cleared first).  suffixes are n names in wire
 * form (e.g. "ntk" from dns_name_from_text()); the first that qname ends
 * in wins.  Never fails: anything not ours is DNS_Q_OTHER. */
void dns_qname_classify(const struct dns_name *qname,
    const struct dns_name *suffixes, int n, struct dns_qinfo *out);

/* The port of a well-known service name (`http`, `https`, `ssh`, `xmpp-
 * client`...; case-insensitive, len bytes, no underscore).  Returns 0 and
 * *port, or ANDNA_ENOTFOUND. */
int dns_service_port(const char *label, size_t len, uint16_t *port);

/* Writes `<ip>._ip.<apex>` for the IPv4 or IPv6 address ip into *out.
 * Returns 0 or ANDNA_EINVAL (family not 4 or 6, or too long). */
int dns_addr_name(const struct endpoint *ip, const struct dns_name *apex,
    struct dns_name *out);

/* Writes `<name>.<apex>` (name canonical) into *out.  Returns 0,
 * ANDNA_EINVAL or a dns_name_from_text() error when too long. */
int dns_overlay_name(
    const char *name, const struct dns_name *apex, struct dns_name *out);

/* What a record offers for a host query (A, AAAA). */
enum dns_pick_kind {
	DNS_PICK_ADDRS,	 /* n entries of the asked family, best priority */
	DNS_PICK_NODATA, /* the host has addresses, none of that family */
	DNS_PICK_CNAME,	 /* only name targets: n entries, best priority */
	DNS_PICK_EMPTY,	 /* no service-0 entries at all (NODATA) */
};

/* A choice of entries; pointers into the record it came from. */
struct dns_pick {
	const struct record_entry *e[ANDNA_ENTRIES_MAX];
	int n;
};

/* Chooses the entries of rec that answer a host query for family (4 or
 * 6) into *out, unordered.  Returns the kind. */
enum dns_pick_kind dns_pick_host(
    const struct record *rec, int family, struct dns_pick *out);

/* Chooses the entries of rec for service port/proto into *out, sorted by
 * priority (each priority's set unordered).  Returns the number chosen. */
int dns_pick_srv(const struct record *rec, uint16_t port, uint8_t proto,
    struct dns_pick *out);

/* Orders p->e[from..to) in place for one answer.  counter is the per-name
 * query count, salt any per-name constant.  When every weight is equal the
 * order is a rotation: query c puts entry (c mod n) first.  Otherwise, over
 * W consecutive counters (W the sum of the weights) entry i comes first
 * exactly weight_i times, and the rest follow in an RFC 2782 weighted
 * random order drawn from a generator seeded by (counter, salt), so the
 * same counter always gives the same order (tests) while clients see a
 * weighted spread.  Weight-0 entries go after every weighted one, unless
 * all weights are 0 (then they are all equal). */
void dns_order(
    struct dns_pick *p, int from, int to, uint64_t counter, uint64_t salt);

/* A 64-bit FNV-1a hash of len bytes continuing from h (start with
 * DNS_HASH_INIT); for per-name tables. */
#define DNS_HASH_INIT 0xcbf29ce484222325ULL
uint64_t dns_hash(uint64_t h, const void *p, size_t len);

#endif
