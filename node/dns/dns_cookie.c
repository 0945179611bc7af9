/* DNS cookies and the amplification cap: see dns_cookie.h. */
#include "config.h"

#include <string.h>

#include "node/dns/dns_cookie.h"

#define COOKIE_VERSION 1
/* client cookie, version, reserved, time, and an IPv6 address at most */
#define HASH_IN_MAX (DNS_COOKIE_CLIENT_LEN + 8 + 16)

void
dns_cookies_init(struct dns_cookies *c, uint32_t now)
{
	crypto_shorthash_keygen(c->secret);
	crypto_shorthash_keygen(c->previous); /* serves no cookie */
	c->since = now;
}

void
dns_cookies_fini(struct dns_cookies *c)
{
	sodium_memzero(c, sizeof(*c));
}

/* Writes the 8-octet hash of RFC 9018 over the client cookie, the first 8
 * octets of the server cookie (version, reserved, time) and the client's
 * address, under the secret of the time in head. */
static void
cookie_hash(const struct dns_cookies *c, const uint8_t *client,
    const uint8_t *head, const struct endpoint *ep, uint8_t out[8])
{
	uint32_t t = (uint32_t)head[4] << 24 | (uint32_t)head[5] << 16 |
	    (uint32_t)head[6] << 8 | head[7];
	/* serial arithmetic (RFC 1982): made before the current secret */
	const uint8_t *key =
	    (int32_t)(t - c->since) < 0 ? c->previous : c->secret;
	uint8_t in[HASH_IN_MAX];
	size_t alen = ep->family == 4 ? 4 : 16;

	memcpy(in, client, DNS_COOKIE_CLIENT_LEN);
	memcpy(in + DNS_COOKIE_CLIENT_LEN, head, 8);
	memcpy(in + DNS_COOKIE_CLIENT_LEN + 8, ep->ip, alen);
	crypto_shorthash(out, in, DNS_COOKIE_CLIENT_LEN + 8 + alen, key);
}

/* Writes a new server cookie of time now after the client cookie in
 * out. */
static void
cookie_make(const struct dns_cookies *c, const struct endpoint *ep,
    uint32_t now, uint8_t *out)
{
	uint8_t *s = out + DNS_COOKIE_CLIENT_LEN;

	s[0] = COOKIE_VERSION;
	s[1] = s[2] = s[3] = 0;
	s[4] = (uint8_t)(now >> 24);
	s[5] = (uint8_t)(now >> 16);
	s[6] = (uint8_t)(now >> 8);
	s[7] = (uint8_t)now;
	cookie_hash(c, out, s, ep, s + 8);
}

/* Whether the whole cookie in (client and server cookie of our length)
 * was made by us for ep within the window around now; *age_s gets how old
 * it is (negative: from the future). */
static bool
cookie_valid(const struct dns_cookies *c, const uint8_t *in,
    const struct endpoint *ep, uint32_t now, int32_t *age_s)
{
	const uint8_t *s = in + DNS_COOKIE_CLIENT_LEN;
	uint8_t want[8];
	uint32_t t;

	if (s[0] != COOKIE_VERSION)
		return false;
	t = (uint32_t)s[4] << 24 | (uint32_t)s[5] << 16 | (uint32_t)s[6] << 8 |
	    s[7];
	/* serial arithmetic (RFC 1982): the difference as a signed number */
	*age_s = (int32_t)(now - t);
	if (*age_s > DNS_COOKIE_PAST_S || *age_s < -DNS_COOKIE_FUTURE_S)
		return false;
	cookie_hash(c, in, s, ep, want);
	/* the hash is a secret to whoever did not get it: compare in
	 * constant time, so its octets cannot be guessed one by one */
	return sodium_memcmp(want, s + 8, 8) == 0;
}

enum dns_cookie_status
dns_cookie_check(struct dns_cookies *c, const struct dns_msg *query,
    const struct endpoint *client, uint32_t now, uint8_t out[DNS_COOKIE_MAX],
    size_t *out_len)
{
	const uint8_t *data;
	uint16_t len;
	int32_t age = 0;

	*out_len = 0;
	if (dns_edns_option(query, DNS_EDNS_COOKIE, &data, &len) != 0)
		return DNS_COOKIE_NONE;
	if ((int32_t)(now - c->since) >= DNS_COOKIE_ROTATE_S) {
		memcpy(c->previous, c->secret, sizeof(c->previous));
		crypto_shorthash_keygen(c->secret);
		c->since = now;
	}
	if (len != DNS_COOKIE_CLIENT_LEN &&
	    (len < DNS_COOKIE_CLIENT_LEN + 8 || len > DNS_COOKIE_MAX))
		return DNS_COOKIE_MALFORMED;
	memcpy(out, data, DNS_COOKIE_CLIENT_LEN);
	*out_len = DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_LEN;
	if (len == DNS_COOKIE_CLIENT_LEN) {
		cookie_make(c, client, now, out);
		return DNS_COOKIE_CLIENT;
	}
	if (len != DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_LEN ||
	    !cookie_valid(c, data, client, now, &age)) {
		cookie_make(c, client, now, out);
		return DNS_COOKIE_INVALID;
	}
	if (age > DNS_COOKIE_RENEW_S || age < 0)
		cookie_make(c, client, now, out);
	else
		memcpy(out, data, *out_len);
	return DNS_COOKIE_VALID;
}

size_t
dns_cookie_append(
    uint8_t *pkt, size_t plen, size_t size, const uint8_t *cookie, size_t len)
{
	struct dns_msg m;
	size_t rdlen;

	if (dns_msg_parse(pkt, plen, &m) != 0 || !m.edns.present ||
	    m.edns.opt_off + m.edns.opt_len != plen ||
	    dns_edns_option(&m, DNS_EDNS_COOKIE, NULL, NULL) == 0 ||
	    4 + len > size - plen)
		return plen;
	/* the rdata length is the field just before the rdata */
	rdlen = m.edns.opt_len + 4 + len;
	if (rdlen > UINT16_MAX)
		return plen;
	pkt[m.edns.opt_off - 2] = (uint8_t)(rdlen >> 8);
	pkt[m.edns.opt_off - 1] = (uint8_t)rdlen;
	pkt[plen] = DNS_EDNS_COOKIE >> 8;
	pkt[plen + 1] = DNS_EDNS_COOKIE & 0xff;
	pkt[plen + 2] = (uint8_t)(len >> 8);
	pkt[plen + 3] = (uint8_t)len;
	memcpy(pkt + plen + 4, cookie, len);
	return plen + 4 + len;
}

size_t
dns_cookie_udp_limit(size_t limit, size_t query_len, enum dns_cookie_status st)
{
	if (st == DNS_COOKIE_VALID || limit / DNS_AMP_MAX <= query_len)
		return limit;
	return query_len * DNS_AMP_MAX;
}
