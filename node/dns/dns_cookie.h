/* DNS cookies (RFC 7873) with the interoperable server cookie of RFC 9018,
 * and the cap on what a UDP answer may weigh for a client that has not
 * proven its address (DESIGN.md section 6).
 *
 * A server cookie is 16 octets: version 1, three reserved zero octets, a
 * 32-bit time in seconds (serial arithmetic, so it survives the wrap) and
 * the 8 octets of SipHash-2-4 (libsodium's crypto_shorthash) keyed with a
 * secret, over client cookie | version | reserved | time | client address
 * (4 or 16 octets).  Only a client that received it at its
 * own address can send it back, so a valid one proves the source address
 * as TCP would.  It is valid from 5 minutes before its time to 1 hour
 * after it, the window of RFC 9018.
 *
 * RFC 9018 takes Unix time so that servers sharing a secret agree; ours
 * is made at start and never shared, so the front passes its monotonic
 * clock instead: no decision hangs on the wall clock (README, "Time"),
 * and a router whose clock jumps years at its first NTP sync keeps its
 * clients' cookies.  Clients never read the time.
 *
 * The secret lives in memory only.  A new one is made at start and every
 * DNS_COOKIE_ROTATE_S, so a secret that leaked stops serving a forger;
 * the one before it is kept for the cookies it made, which the time in
 * them tells apart (made before the change), so a check is still one
 * SipHash.  A restart forgets both: clients learn a new cookie from the
 * next answer. */
#ifndef ANDNA_NODE_DNS_COOKIE_H
#define ANDNA_NODE_DNS_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "proto/dns.h"
#include "proto/types.h"

#define DNS_COOKIE_SERVER_LEN 16 /* ours, RFC 9018 */
#define DNS_COOKIE_PAST_S 3600	 /* a server cookie is good this long, */
#define DNS_COOKIE_FUTURE_S 300	 /* and from this far ahead (clock skew) */
#define DNS_COOKIE_RENEW_S 1800	 /* older ones are replaced in answers */
/* a new secret this often: well over DNS_COOKIE_PAST_S, so no cookie
 * outlives the secret before the current one */
#define DNS_COOKIE_ROTATE_S 86400

/* A UDP answer to a client without a valid server cookie holds at most
 * this many times the octets of its query.  A forged source then gets
 * little more than the attacker spent, so reflecting through the node is
 * not worth it (a name with 16 addresses gave 12-27 times before), while
 * the common answers still fit: the denial of a one-letter name without
 * EDNS, with its SOA, is 3.2 times its query (3.8 with an NS name of 15
 * letters), and a query with EDNS and a client cookie (about 50 octets)
 * leaves room for 4 AAAA or 8 A records.  3 would send those denials to
 * TCP.  Larger answers get TC and come whole over TCP or with the
 * cookie. */
#define DNS_AMP_MAX 4

/* What the COOKIE option of a query says. */
enum dns_cookie_status {
	DNS_COOKIE_NONE,      /* no COOKIE option (or no OPT record) */
	DNS_COOKIE_MALFORMED, /* a length other than 8 or 16..40: FORMERR */
	DNS_COOKIE_CLIENT,    /* a client cookie alone */
	DNS_COOKIE_INVALID,   /* a server cookie that is not ours, is too
				 old or too new, or was made for another
				 address */
	DNS_COOKIE_VALID,     /* a server cookie we made for this address */
};

/* The secrets of one front. */
struct dns_cookies {
	uint8_t secret[crypto_shorthash_KEYBYTES];   /* since `since` */
	uint8_t previous[crypto_shorthash_KEYBYTES]; /* before it */
	uint32_t since;
};

/* Makes a new random secret at time now (seconds, as given to
 * dns_cookie_check()). */
void dns_cookies_init(struct dns_cookies *c, uint32_t now);

/* Wipes the secrets. */
void dns_cookies_fini(struct dns_cookies *c);

/* Reads the COOKIE option of query, sent from client's address, at time
 * now (seconds; first a new secret when the current one is
 * DNS_COOKIE_ROTATE_S old).  Unless the status is NONE or MALFORMED, out
 * gets the cookie to answer with (the client cookie, then a server
 * cookie: the one sent when it is valid and younger than
 * DNS_COOKIE_RENEW_S, else a new one) and *out_len its length; otherwise
 * *out_len is 0.  One SipHash per
 * query that holds a cookie (two when a valid one is renewed), nothing
 * else. */
enum dns_cookie_status dns_cookie_check(struct dns_cookies *c,
    const struct dns_msg *query, const struct endpoint *client, uint32_t now,
    uint8_t out[DNS_COOKIE_MAX], size_t *out_len);

/* Puts the COOKIE option cookie (len octets) into the OPT record of the
 * answer pkt (plen octets in a buffer of size), for an upstream's answer
 * relayed to a client that sent a cookie: the option goes at the end of
 * the OPT record's rdata when that record ends the packet and holds no
 * COOKIE yet.  Returns the new length, or plen when the answer is left as
 * it was (it does not parse, has no OPT record at its end or a cookie of
 * the upstream's, or the option does not fit in size). */
size_t dns_cookie_append(
    uint8_t *pkt, size_t plen, size_t size, const uint8_t *cookie, size_t len);

/* The most a UDP answer may hold: limit (what the client takes), or at
 * most DNS_AMP_MAX times query_len for a client whose cookie was not
 * valid. */
size_t dns_cookie_udp_limit(
    size_t limit, size_t query_len, enum dns_cookie_status st);

#endif
