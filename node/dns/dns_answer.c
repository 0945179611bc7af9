/* Query names and SNSD entries for the DNS front: classification, choice
 * and order.  Decisions are listed in dns_answer.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "node/dns/dns_answer.h"
#include "proto/err.h"

/* Well-known services for `_name._proto` SRV owners (IANA service names). */
static const struct {
	const char *name;
	uint16_t port;
} dns_services[] = {
    {"ftp", 21},
    {"ssh", 22},
    {"telnet", 23},
    {"smtp", 25},
    {"domain", 53},
    {"dns", 53},
    {"http", 80},
    {"kerberos", 88},
    {"pop3", 110},
    {"ntp", 123},
    {"imap", 143},
    {"snmp", 161},
    {"ldap", 389},
    {"https", 443},
    {"submissions", 465},
    {"submission", 587},
    {"ldaps", 636},
    {"imaps", 993},
    {"pop3s", 995},
    {"mqtt", 1883},
    {"sip", 5060},
    {"sips", 5061},
    {"xmpp-client", 5222},
    {"xmpp-server", 5269},
    {"irc", 6667},
    {"ircs", 6697},
    {"matrix", 8448},
    {"git", 9418},
};

int
dns_service_port(const char *label, size_t len, uint16_t *port)
{
	for (size_t i = 0; i < sizeof(dns_services) / sizeof(dns_services[0]);
	     i++) {
		const char *n = dns_services[i].name;
		if (strlen(n) == len && strncasecmp(n, label, len) == 0) {
			*port = dns_services[i].port;
			return 0;
		}
	}
	return ANDNA_ENOTFOUND;
}

uint64_t
dns_hash(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Offsets of the labels of a well-formed name; returns how many. */
static int
name_labels(const struct dns_name *n, uint16_t off[DNS_NAME_WIRE_MAX])
{
	int k = 0;

	for (uint16_t o = 0; o < n->len && n->wire[o] != 0;
	     o = (uint16_t)(o + 1 + n->wire[o]))
		off[k++] = o;
	return k;
}

/* The tail of n from wire offset off, as a name of nlabels labels. */
static void
name_tail(
    const struct dns_name *n, uint16_t off, int nlabels, struct dns_name *out)
{
	memset(out, 0, sizeof(*out));
	out->len = (uint16_t)(n->len - off);
	memcpy(out->wire, n->wire + off, out->len);
	out->nlabels = (uint8_t)nlabels;
}

/* True when label (len bytes) is text, ignoring case. */
static bool
label_is(const uint8_t *label, size_t len, const char *text)
{
	return strlen(text) == len &&
	    strncasecmp((const char *)label, text, len) == 0;
}

/* Joins labels [from, to) of n with dots into out and makes the result
 * canonical.  Returns 0 or an error when a byte cannot be in a name. */
static int
labels_canonical(const struct dns_name *n, const uint16_t *off, int from,
    int to, char out[ANDNA_NAME_MAX + 1])
{
	char text[DNS_NAME_WIRE_MAX + 1];
	size_t t = 0;

	for (int i = from; i < to; i++) {
		const uint8_t *l = n->wire + off[i] + 1;
		uint8_t len = n->wire[off[i]];
		for (uint8_t j = 0; j < len; j++) {
			uint8_t c = l[j];
			if (!((c >= 'a' && c <= 'z') ||
				(c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || c == '-'))
				return ANDNA_ENAME_CHAR;
			text[t++] = (char)c;
		}
		if (i + 1 < to)
			text[t++] = '.';
	}
	text[t] = '\0';
	return name_canonical(out, text);
}

/* Parses a decimal number of 1..maxdigits digits, no leading zero, at most
 * max.  Returns 0 or ANDNA_EINVAL. */
static int
parse_dec(
    const uint8_t *p, size_t len, size_t maxdigits, unsigned max, unsigned *v)
{
	unsigned x = 0;

	if (len == 0 || len > maxdigits || (len > 1 && p[0] == '0'))
		return ANDNA_EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return ANDNA_EINVAL;
		x = x * 10 + (unsigned)(p[i] - '0');
	}
	if (x > max)
		return ANDNA_EINVAL;
	*v = x;
	return 0;
}

/* The value of one hex digit, or -1. */
static int
hex_val(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses the first label of `<ip>._ip.<suffix>`. */
static int
parse_addr_label(const uint8_t *l, size_t len, struct endpoint *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (len == 32) {
		for (size_t i = 0; i < 32; i++) {
			int v = hex_val(l[i]);
			if (v < 0)
				return ANDNA_EINVAL;
			ip->ip[i / 2] = (uint8_t)(ip->ip[i / 2] << 4 | v);
		}
		ip->family = 6;
		return 0;
	}
	size_t start = 0;
	for (int part = 0; part < 4; part++) {
		size_t end = start;
		unsigned v;
		while (end < len && l[end] != '-')
			end++;
		if ((part < 3) != (end < len) ||
		    parse_dec(l + start, end - start, 3, 255, &v) != 0)
			return ANDNA_EINVAL;
		ip->ip[part] = (uint8_t)v;
		start = end + 1;
	}
	ip->family = 4;
	return 0;
}

/* Reads a whole reverse name: 4 decimal labels + in-addr.arpa, or 32
 * nibble labels + ip6.arpa.  Returns 0 or ANDNA_ENOTFOUND. */
static int
parse_reverse(
    const struct dns_name *n, const uint16_t *off, int k, struct endpoint *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (k == 6 &&
	    label_is(n->wire + off[4] + 1, n->wire[off[4]], "in-addr") &&
	    label_is(n->wire + off[5] + 1, n->wire[off[5]], "arpa")) {
		for (int i = 0; i < 4; i++) {
			unsigned v;
			if (parse_dec(n->wire + off[i] + 1, n->wire[off[i]], 3,
				255, &v) != 0)
				return ANDNA_ENOTFOUND;
			ip->ip[3 - i] = (uint8_t)v;
		}
		ip->family = 4;
		return 0;
	}
	if (k == 34 &&
	    label_is(n->wire + off[32] + 1, n->wire[off[32]], "ip6") &&
	    label_is(n->wire + off[33] + 1, n->wire[off[33]], "arpa")) {
		for (int i = 0; i < 32; i++) {
			int v = n->wire[off[i]] == 1
			    ? hex_val(n->wire[off[i] + 1])
			    : -1;
			if (v < 0)
				return ANDNA_ENOTFOUND;
			/* label i is nibble 31 - i of the address */
			int nib = 31 - i;
			ip->ip[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
		}
		ip->family = 6;
		return 0;
	}
	return ANDNA_ENOTFOUND;
}

/* Sorts the labels below a suffix apex (k of them) into out. */
static void
classify_under(
    const struct dns_name *q, const uint16_t *off, int k, struct dns_qinfo *out)
{
	const uint8_t *l0 = q->wire + off[0] + 1, *l1;
	uint8_t n0 = q->wire[off[0]], n1;
	unsigned port;
	uint16_t p16;

	if (k == 0) {
		out->kind = DNS_Q_APEX;
		return;
	}
	out->kind = DNS_Q_BADNAME;
	if (label_is(q->wire + off[k - 1] + 1, q->wire[off[k - 1]], "_ip")) {
		if (k == 1)
			out->kind = DNS_Q_ADDR_ENT;
		else if (k == 2 && parse_addr_label(l0, n0, &out->ip) == 0)
			out->kind = DNS_Q_ADDR;
		return;
	}
	if (n0 > 0 && l0[0] == '_') {
		if (k < 3)
			return;
		l1 = q->wire + off[1] + 1;
		n1 = q->wire[off[1]];
		if (label_is(l1, n1, "_tcp"))
			out->proto = RECORD_PROTO_TCP;
		else if (label_is(l1, n1, "_udp"))
			out->proto = RECORD_PROTO_UDP;
		else
			return;
		if (parse_dec(l0 + 1, n0 - 1u, 5, 65535, &port) == 0 &&
		    port > 0)
			out->port = (uint16_t)port;
		else if (dns_service_port(
			     (const char *)l0 + 1, n0 - 1u, &p16) == 0)
			out->port = p16;
		else
			return;
		if (labels_canonical(q, off, 2, k, out->name) == 0)
			out->kind = DNS_Q_SRV;
		return;
	}
	if (labels_canonical(q, off, 0, k, out->name) == 0)
		out->kind = DNS_Q_NAME;
}

void
dns_qname_classify(const struct dns_name *qname,
    const struct dns_name *suffixes, int n, struct dns_qinfo *out)
{
	uint16_t off[DNS_NAME_WIRE_MAX];
	struct dns_name tail;
	int k;

	memset(out, 0, sizeof(*out));
	out->kind = DNS_Q_OTHER;
	k = name_labels(qname, off);
	for (int s = 0; s < n; s++) {
		int below = k - suffixes[s].nlabels;
		if (below < 0)
			continue;
		if (below == k)
			name_tail(qname, (uint16_t)(qname->len - 1), 0, &tail);
		else
			name_tail(
			    qname, off[below], suffixes[s].nlabels, &tail);
		if (!dns_name_equal(&tail, &suffixes[s]))
			continue;
		out->suffix = s;
		out->apex = tail;
		classify_under(qname, off, below, out);
		return;
	}
	if (parse_reverse(qname, off, k, &out->ip) == 0)
		out->kind = DNS_Q_REVERSE;
}

/* Appends one label to out (not yet ended by the root).  Returns 0 or
 * ANDNA_EINVAL when it would not fit. */
static int
put_label(struct dns_name *out, const char *l, size_t len)
{
	if (len == 0 || len > DNS_LABEL_MAX ||
	    out->len + 1 + len > DNS_NAME_WIRE_MAX - 1)
		return ANDNA_EINVAL;
	out->wire[out->len++] = (uint8_t)len;
	memcpy(out->wire + out->len, l, len);
	out->len = (uint16_t)(out->len + len);
	out->nlabels++;
	return 0;
}

/* Appends the apex (root included) to out. */
static int
put_apex(struct dns_name *out, const struct dns_name *apex)
{
	if (out->len + apex->len > DNS_NAME_WIRE_MAX)
		return ANDNA_EINVAL;
	memcpy(out->wire + out->len, apex->wire, apex->len);
	out->len = (uint16_t)(out->len + apex->len);
	out->nlabels = (uint8_t)(out->nlabels + apex->nlabels);
	return 0;
}

int
dns_addr_name(const struct endpoint *ip, const struct dns_name *apex,
    struct dns_name *out)
{
	char l[40];
	int len;

	memset(out, 0, sizeof(*out));
	if (ip->family == 4)
		len = snprintf(l, sizeof(l), "%u-%u-%u-%u", ip->ip[0],
		    ip->ip[1], ip->ip[2], ip->ip[3]);
	else if (ip->family == 6) {
		for (int i = 0; i < 16; i++)
			snprintf(l + 2 * i, 3, "%02x", ip->ip[i]);
		len = 32;
	} else
		return ANDNA_EINVAL;
	if (put_label(out, l, (size_t)len) != 0 ||
	    put_label(out, "_ip", 3) != 0)
		return ANDNA_EINVAL;
	return put_apex(out, apex);
}

int
dns_overlay_name(
    const char *name, const struct dns_name *apex, struct dns_name *out)
{
	const char *p = name, *dot;

	memset(out, 0, sizeof(*out));
	if (name == NULL || *name == '\0')
		return ANDNA_EINVAL;
	for (;;) {
		dot = strchr(p, '.');
		size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (put_label(out, p, len) != 0)
			return ANDNA_EINVAL;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return put_apex(out, apex);
}

enum dns_pick_kind
dns_pick_host(const struct record *rec, int family, struct dns_pick *out)
{
	uint8_t want = family == 4 ? RECORD_TARGET_IPV4 : RECORD_TARGET_IPV6;
	bool any_ip = false, any_name = false;
	uint8_t kind;
	uint32_t best = UINT32_MAX;

	out->n = 0;
	for (uint16_t i = 0; i < rec->n_entries; i++) {
		const struct record_entry *e = &rec->entries[i];
		if (e->service != 0)
			continue;
		any_ip |= e->kind != RECORD_TARGET_NAME;
		any_name |= e->kind == RECORD_TARGET_NAME;
	}
	if (!any_ip && !any_name)
		return DNS_PICK_EMPTY;
	kind = any_ip ? want : RECORD_TARGET_NAME;
	for (uint16_t i = 0; i < rec->n_entries; i++) {
		const struct record_entry *e = &rec->entries[i];
		if (e->service == 0 && e->kind == kind && e->priority < best)
			best = e->priority;
	}
	for (uint16_t i = 0; i < rec->n_entries; i++) {
		const struct record_entry *e = &rec->entries[i];
		if (e->service == 0 && e->kind == kind && e->priority == best)
			out->e[out->n++] = e;
	}
	if (!any_ip)
		return DNS_PICK_CNAME;
	return out->n > 0 ? DNS_PICK_ADDRS : DNS_PICK_NODATA;
}

int
dns_pick_srv(const struct record *rec, uint16_t port, uint8_t proto,
    struct dns_pick *out)
{
	out->n = 0;
	for (uint16_t i = 0; i < rec->n_entries; i++) {
		const struct record_entry *e = &rec->entries[i];
		if (e->service != port ||
		    (e->proto != RECORD_PROTO_NONE && e->proto != proto))
			continue;
		/* insertion sort by priority, stable */
		int j = out->n++;
		while (j > 0 && out->e[j - 1]->priority > e->priority) {
			out->e[j] = out->e[j - 1];
			j--;
		}
		out->e[j] = e;
	}
	return out->n;
}

/* splitmix64: a small generator for reproducible weighted orders. */
static uint64_t
mix_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Rotates p->e[from..to) so that index `first` (relative) leads. */
static void
rotate(struct dns_pick *p, int from, int to, int first)
{
	const struct record_entry *tmp[ANDNA_ENTRIES_MAX];
	int n = to - from;

	for (int i = 0; i < n; i++)
		tmp[i] = p->e[from + (first + i) % n];
	memcpy(&p->e[from], tmp, (size_t)n * sizeof(tmp[0]));
}

void
dns_order(struct dns_pick *p, int from, int to, uint64_t counter, uint64_t salt)
{
	const struct record_entry *pos[ANDNA_ENTRIES_MAX];
	const struct record_entry *zero[ANDNA_ENTRIES_MAX];
	int n = to - from, npos = 0, nzero = 0, out = from;
	uint64_t sum = 0, seed, at, prime;
	bool equal = true;

	if (n <= 1)
		return;
	for (int i = from; i < to; i++) {
		if (p->e[i]->weight != p->e[from]->weight)
			equal = false;
		if (p->e[i]->weight == 0)
			zero[nzero++] = p->e[i];
		else {
			pos[npos++] = p->e[i];
			sum += p->e[i]->weight;
		}
	}
	if (equal) {
		rotate(p, from, to, (int)(counter % (uint64_t)n));
		return;
	}
	/* the first: each weight unit of the cycle once in W counters, in
	 * a scattered order (multiplying by a prime that is coprime to W) */
	prime = sum % 1000003 != 0 ? 1000003 : 999983;
	at = (counter % sum) * prime % sum;
	for (int i = 0; i < npos; i++) {
		if (at < pos[i]->weight) {
			p->e[out++] = pos[i];
			sum -= pos[i]->weight;
			memmove(&pos[i], &pos[i + 1],
			    (size_t)(npos - i - 1) * sizeof(pos[0]));
			npos--;
			break;
		}
		at -= pos[i]->weight;
	}
	/* the rest: weighted draws without replacement */
	seed = counter * 0x9e3779b97f4a7c15ULL ^ salt;
	while (npos > 0) {
		uint64_t r = sum > 0 ? mix_next(&seed) % sum : 0;
		int i = 0;
		while (i + 1 < npos && r >= pos[i]->weight) {
			r -= pos[i]->weight;
			i++;
		}
		p->e[out++] = pos[i];
		sum -= pos[i]->weight;
		memmove(&pos[i], &pos[i + 1],
		    (size_t)(npos - i - 1) * sizeof(pos[0]));
		npos--;
	}
	for (int i = 0; i < nzero; i++)
		p->e[out++] = zero[(i + counter) % (uint64_t)nzero];
}
