/* The DNS wire format: see dns.h.  Every byte of a packet is read through
 * rd_get(), which fails instead of reading past the end. */
#include <string.h>

#include "proto/dns.h"
#include "proto/err.h"

/* A read-only view of a packet; offsets are passed around explicitly. */
struct rd {
	const uint8_t *p;
	size_t len;
};

/* The one bounds-checked reader: n bytes at off into dst. */
static int
rd_get(const struct rd *r, size_t off, void *dst, size_t n)
{
	if (off > r->len || n > r->len - off)
		return ANDNA_EDNS_SHORT;
	if (n > 0)
		memcpy(dst, r->p + off, n);
	return 0;
}

/* Big-endian integers at *off, which moves past them on success. */
static int
rd_u8(const struct rd *r, size_t *off, uint8_t *v)
{
	int rc;

	if ((rc = rd_get(r, *off, v, 1)) == 0)
		*off += 1;
	return rc;
}

static int
rd_u16(const struct rd *r, size_t *off, uint16_t *v)
{
	uint8_t b[2];
	int rc;

	if ((rc = rd_get(r, *off, b, 2)) != 0)
		return rc;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	*off += 2;
	return 0;
}

static int
rd_u32(const struct rd *r, size_t *off, uint32_t *v)
{
	uint8_t b[4];
	int rc;

	if ((rc = rd_get(r, *off, b, 4)) != 0)
		return rc;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
	    b[3];
	*off += 4;
	return 0;
}

/* Reads the possibly compressed name at *off and moves *off past the part
 * written in line.  A pointer must point before the start of the labels it
 * follows, so every jump goes strictly backwards and loops are impossible;
 * the hop cap bounds chains of pointers to pointers. */
static int
name_read(const struct rd *r, size_t *off, struct dns_name *out)
{
	size_t pos = *off, seg = *off, end = 0;
	unsigned hops = 0;
	bool jumped = false;
	uint8_t c, lo;
	int rc;

	out->len = 0;
	out->nlabels = 0;
	for (;;) {
		if ((rc = rd_get(r, pos, &c, 1)) != 0)
			return rc;
		if ((c & 0xc0) == 0xc0) {
			if ((rc = rd_get(r, pos + 1, &lo, 1)) != 0)
				return rc;
			size_t target = (size_t)(c & 0x3f) << 8 | lo;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			if (target >= seg)
				return ANDNA_EDNS_PTR_LOOP;
			if (++hops > DNS_PTR_HOPS_MAX)
				return ANDNA_EDNS_PTR_HOPS;
			pos = seg = target;
			continue;
		}
		if ((c & 0xc0) != 0)
			return ANDNA_EDNS_LABEL_TYPE;
		if (c == 0)
			break;
		/* this label, and the root label after it */
		if (out->len + 1u + c + 1u > DNS_NAME_WIRE_MAX)
			return ANDNA_EDNS_NAME_LONG;
		out->wire[out->len] = c;
		if ((rc = rd_get(r, pos + 1, &out->wire[out->len + 1], c)) != 0)
			return rc;
		out->len += 1 + c;
		out->nlabels++;
		pos += 1 + c;
	}
	out->wire[out->len++] = 0;
	*off = jumped ? end : pos + 1;
	return 0;
}

/* True when name holds well-formed uncompressed labels ending at len. */
static bool
name_valid(const struct dns_name *n)
{
	size_t i = 0;
	unsigned labels = 0;

	if (n->len < 1 || n->len > DNS_NAME_WIRE_MAX)
		return false;
	while (i < n->len && n->wire[i] != 0) {
		if (n->wire[i] > DNS_LABEL_MAX)
			return false;
		i += 1 + n->wire[i];
		labels++;
	}
	return i == n->len - 1u && labels == n->nlabels;
}

int
dns_name_from_text(const char *text, struct dns_name *out)
{
	size_t w = 0, lab = 0;
	bool in_label = false;
	const char *p;

	if (out == NULL)
		return ANDNA_EINVAL;
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return ANDNA_EINVAL;
	if (text[0] == '\0')
		return ANDNA_EDNS_NAME_TEXT;
	if (strcmp(text, ".") == 0) {
		out->len = 1;
		return 0;
	}
	for (p = text; *p != '\0'; p++) {
		unsigned v = (unsigned char)*p;
		if (*p == '.') {
			if (!in_label)
				return ANDNA_EDNS_NAME_TEXT;
			in_label = false;
			continue;
		}
		if (*p == '\\') {
			p++;
			if (*p >= '0' && *p <= '9') {
				if (p[1] < '0' || p[1] > '9' || p[2] < '0' ||
				    p[2] > '9')
					return ANDNA_EDNS_NAME_TEXT;
				v = (unsigned)(p[0] - '0') * 100 +
				    (unsigned)(p[1] - '0') * 10 +
				    (unsigned)(p[2] - '0');
				if (v > 255)
					return ANDNA_EDNS_NAME_TEXT;
				p += 2;
			} else if (*p == '\0')
				return ANDNA_EDNS_NAME_TEXT;
			else
				v = (unsigned char)*p;
		}
		if (!in_label) {
			if (w + 1 > DNS_NAME_WIRE_MAX - 1)
				return ANDNA_EDNS_NAME_LONG;
			lab = w++;
			out->wire[lab] = 0;
			out->nlabels++;
			in_label = true;
		}
		if (out->wire[lab] == DNS_LABEL_MAX)
			return ANDNA_EDNS_LABEL;
		if (w + 1 > DNS_NAME_WIRE_MAX - 1)
			return ANDNA_EDNS_NAME_LONG;
		out->wire[w++] = (uint8_t)v;
		out->wire[lab]++;
	}
	out->wire[w++] = 0;
	out->len = (uint16_t)w;
	return 0;
}

int
dns_name_to_text(const struct dns_name *name, char *buf, size_t size)
{
	static const char digits[] = "0123456789";
	size_t i = 0, o = 0;

	if (buf == NULL || size == 0)
		return ANDNA_EINVAL;
	buf[0] = '\0';
	if (name == NULL || !name_valid(name))
		return ANDNA_EINVAL;
	if (name->len == 1) {
		if (size < 2)
			return ANDNA_EINVAL;
		memcpy(buf, ".", 2);
		return 0;
	}
	while (name->wire[i] != 0) {
		size_t n = name->wire[i++];
		if (o > 0) {
			if (o + 1 >= size)
				goto small;
			buf[o++] = '.';
		}
		for (; n > 0; n--, i++) {
			uint8_t c = name->wire[i];
			if (c < 0x21 || c > 0x7e) {
				if (o + 4 >= size)
					goto small;
				buf[o++] = '\\';
				buf[o++] = digits[c / 100];
				buf[o++] = digits[c / 10 % 10];
				buf[o++] = digits[c % 10];
				continue;
			}
			if (c == '.' || c == '\\') {
				if (o + 1 >= size)
					goto small;
				buf[o++] = '\\';
			}
			if (o + 1 >= size)
				goto small;
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return 0;
small:
	buf[0] = '\0';
	return ANDNA_EINVAL;
}

bool
dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
	/* length octets are at most 63, below 'A', so one loop serves both */
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (dns_lower(a->wire[i]) != dns_lower(b->wire[i]))
			return false;
	return true;
}

/* Reads the 12-octet header at *off. */
static int
header_read(const struct rd *r, size_t *off, struct dns_header *h)
{
	uint8_t f[2];
	int rc;

	if ((rc = rd_u16(r, off, &h->id)) != 0)
		return rc;
	if ((rc = rd_get(r, *off, f, 2)) != 0)
		return rc;
	*off += 2;
	h->qr = (f[0] & 0x80) != 0;
	h->opcode = (f[0] >> 3) & 0x0f;
	h->aa = (f[0] & 0x04) != 0;
	h->tc = (f[0] & 0x02) != 0;
	h->rd = (f[0] & 0x01) != 0;
	h->ra = (f[1] & 0x80) != 0;
	h->z = (f[1] & 0x40) != 0;
	h->ad = (f[1] & 0x20) != 0;
	h->cd = (f[1] & 0x10) != 0;
	h->rcode = f[1] & 0x0f;
	if ((rc = rd_u16(r, off, &h->qdcount)) != 0 ||
	    (rc = rd_u16(r, off, &h->ancount)) != 0 ||
	    (rc = rd_u16(r, off, &h->nscount)) != 0 ||
	    (rc = rd_u16(r, off, &h->arcount)) != 0)
		return rc;
	return 0;
}

/* Reads one record at *off (the rdata is skipped, not decoded). */
static int
rr_read(const struct rd *r, size_t *off, struct dns_rr *rr)
{
	int rc;

	if ((rc = name_read(r, off, &rr->name)) != 0 ||
	    (rc = rd_u16(r, off, &rr->type)) != 0 ||
	    (rc = rd_u16(r, off, &rr->rclass)) != 0 ||
	    (rc = rd_u32(r, off, &rr->ttl)) != 0 ||
	    (rc = rd_u16(r, off, &rr->rdata_len)) != 0)
		return rc;
	if (rr->rdata_len > r->len - *off)
		return ANDNA_EDNS_SHORT;
	rr->rdata_off = *off;
	*off += rr->rdata_len;
	return 0;
}

/* Checks an OPT record and keeps what it says in msg->edns. */
static int
opt_read(struct dns_msg *msg, const struct dns_rr *rr)
{
	struct rd r = {msg->pkt, rr->rdata_off + rr->rdata_len};
	size_t off = rr->rdata_off;
	struct dns_edns *e = &msg->edns;
	uint16_t code, len;
	int rc;

	if (e->present)
		return ANDNA_EDNS_OPT_DUP;
	if (rr->section != DNS_SEC_ADDITIONAL || rr->name.len != 1)
		return ANDNA_EDNS_OPT;
	while (off < r.len) {
		if ((rc = rd_u16(&r, &off, &code)) != 0 ||
		    (rc = rd_u16(&r, &off, &len)) != 0)
			return ANDNA_EDNS_OPT;
		if (len > r.len - off)
			return ANDNA_EDNS_OPT;
		off += len;
		e->noptions++;
	}
	e->present = true;
	e->udp_size = rr->rclass;
	e->ext_rcode = (uint8_t)(rr->ttl >> 24);
	e->version = (uint8_t)(rr->ttl >> 16);
	e->flags = (uint16_t)rr->ttl;
	e->do_bit = (rr->ttl & 0x8000) != 0;
	e->opt_off = rr->rdata_off;
	e->opt_len = rr->rdata_len;
	return 0;
}

/* The section of the record with this index (0 = first answer). */
static enum dns_section
section_of(const struct dns_header *h, unsigned index)
{
	if (index < h->ancount)
		return DNS_SEC_ANSWER;
	if (index < (unsigned)h->ancount + h->nscount)
		return DNS_SEC_AUTHORITY;
	return DNS_SEC_ADDITIONAL;
}

/* How many records the header promises after the questions. */
static unsigned
rr_total(const struct dns_header *h)
{
	return (unsigned)h->ancount + h->nscount + h->arcount;
}

int
dns_msg_parse(const uint8_t *pkt, size_t len, struct dns_msg *msg)
{
	struct rd r = {pkt, len};
	struct dns_question *q;
	struct dns_name name;
	struct dns_rr rr;
	size_t off = 0;
	uint16_t qtype, qclass;
	int rc;

	if (msg == NULL)
		return ANDNA_EINVAL;
	memset(msg, 0, sizeof(*msg));
	if (pkt == NULL)
		return ANDNA_EINVAL;
	msg->pkt = pkt;
	msg->len = len;
	if ((rc = header_read(&r, &off, &msg->hdr)) != 0)
		return rc;
	msg->has_header = true;
	msg->rcode = msg->hdr.rcode;

	q = &msg->q;
	for (unsigned i = 0; i < msg->hdr.qdcount; i++) {
		if (off == len)
			return ANDNA_EDNS_COUNTS;
		if ((rc = name_read(&r, &off, &name)) != 0 ||
		    (rc = rd_u16(&r, &off, &qtype)) != 0 ||
		    (rc = rd_u16(&r, &off, &qclass)) != 0)
			return rc;
		if (i == 0) {
			q->name = name;
			q->qtype = qtype;
			q->qclass = qclass;
			if ((rc = dns_name_to_text(
				 &q->name, q->text, sizeof(q->text))) != 0)
				return rc;
			msg->has_question = true;
		}
	}
	msg->rr_off = off;

	for (unsigned i = 0; i < rr_total(&msg->hdr); i++) {
		if (off == len)
			return ANDNA_EDNS_COUNTS;
		memset(&rr, 0, sizeof(rr));
		rr.section = section_of(&msg->hdr, i);
		if ((rc = rr_read(&r, &off, &rr)) != 0)
			return rc;
		if (rr.type == DNS_TYPE_OPT && (rc = opt_read(msg, &rr)) != 0)
			return rc;
	}
	if (off != len)
		return ANDNA_EDNS_TRAILING;
	msg->rcode = (uint16_t)(msg->hdr.rcode | msg->edns.ext_rcode << 4);
	return 0;
}

int
dns_query_parse(const uint8_t *pkt, size_t len, struct dns_msg *msg)
{
	int rc;

	rc = dns_msg_parse(pkt, len, msg);
	if (msg != NULL && msg->has_header && msg->hdr.qr)
		return ANDNA_EDNS_NOT_QUERY;
	if (rc != 0)
		return rc;
	if (msg->hdr.qdcount != 1)
		return ANDNA_EDNS_QDCOUNT;
	return 0;
}

size_t
dns_query_udp_limit(const struct dns_msg *query)
{
	if (query == NULL || !query->edns.present ||
	    query->edns.udp_size < DNS_UDP_MIN)
		return DNS_UDP_MIN;
	return query->edns.udp_size;
}

void
dns_rr_iter_init(struct dns_rr_iter *it, const struct dns_msg *msg)
{
	it->msg = msg;
	it->off = msg != NULL ? msg->rr_off : 0;
	it->index = 0;
}

int
dns_rr_next(struct dns_rr_iter *it, struct dns_rr *rr)
{
	const struct dns_msg *msg = it->msg;
	struct rd r;
	size_t off = it->off;
	int rc;

	memset(rr, 0, sizeof(*rr));
	if (msg == NULL || !msg->has_header || off < DNS_HEADER_LEN ||
	    it->index >= rr_total(&msg->hdr))
		return ANDNA_ENOTFOUND;
	r.p = msg->pkt;
	r.len = msg->len;
	rr->section = section_of(&msg->hdr, it->index);
	if ((rc = rr_read(&r, &off, rr)) != 0)
		return rc;
	it->off = off;
	it->index++;
	return 0;
}

/* Reads a name that must lie inside rdata ending at r->len. */
static int
rdata_name(const struct rd *r, size_t *off, struct dns_name *out)
{
	int rc;

	rc = name_read(r, off, out);
	return rc == ANDNA_EDNS_SHORT ? ANDNA_EDNS_RDATA : rc;
}

/* The fixed fields of SOA and SRV, which must lie inside the rdata. */
static int
rdata_u16(const struct rd *r, size_t *off, uint16_t *v)
{
	return rd_u16(r, off, v) != 0 ? ANDNA_EDNS_RDATA : 0;
}

static int
rdata_u32(const struct rd *r, size_t *off, uint32_t *v)
{
	return rd_u32(r, off, v) != 0 ? ANDNA_EDNS_RDATA : 0;
}

/* SOA rdata: two names and five 32-bit numbers. */
static int
rdata_soa(const struct rd *r, size_t *off, struct dns_soa *soa)
{
	int rc;

	if ((rc = rdata_name(r, off, &soa->mname)) != 0 ||
	    (rc = rdata_name(r, off, &soa->rname)) != 0 ||
	    (rc = rdata_u32(r, off, &soa->serial)) != 0 ||
	    (rc = rdata_u32(r, off, &soa->refresh)) != 0 ||
	    (rc = rdata_u32(r, off, &soa->retry)) != 0 ||
	    (rc = rdata_u32(r, off, &soa->expire)) != 0 ||
	    (rc = rdata_u32(r, off, &soa->minimum)) != 0)
		return rc;
	return 0;
}

/* SRV rdata: priority, weight, port and a target name. */
static int
rdata_srv(const struct rd *r, size_t *off, struct dns_srv *srv)
{
	int rc;

	if ((rc = rdata_u16(r, off, &srv->priority)) != 0 ||
	    (rc = rdata_u16(r, off, &srv->weight)) != 0 ||
	    (rc = rdata_u16(r, off, &srv->port)) != 0 ||
	    (rc = rdata_name(r, off, &srv->target)) != 0)
		return rc;
	return 0;
}

/* Counts the character-strings of a TXT rdata; each must fit inside. */
static int
rdata_txt(const struct rd *r, size_t *off, unsigned *n)
{
	uint8_t len;

	if (*off == r->len)
		return ANDNA_EDNS_RDATA;
	while (*off < r->len) {
		if (rd_u8(r, off, &len) != 0 || len > r->len - *off)
			return ANDNA_EDNS_RDATA;
		*off += len;
		(*n)++;
	}
	return 0;
}

int
dns_rr_rdata(
    const struct dns_msg *msg, const struct dns_rr *rr, struct dns_rdata *out)
{
	struct rd r;
	size_t off;
	int rc = 0;

	if (out == NULL)
		return ANDNA_EINVAL;
	memset(out, 0, sizeof(*out));
	if (msg == NULL || rr == NULL || msg->pkt == NULL)
		return ANDNA_EINVAL;
	if (rr->rdata_off > msg->len ||
	    rr->rdata_len > msg->len - rr->rdata_off)
		return ANDNA_EDNS_SHORT;
	/* Pointers only go backwards, so a view ending with the rdata still
	 * holds every name the rdata refers to. */
	r.p = msg->pkt;
	r.len = rr->rdata_off + rr->rdata_len;
	off = rr->rdata_off;
	out->type = rr->type;
	out->raw = msg->pkt + rr->rdata_off;
	out->raw_len = rr->rdata_len;
	switch (rr->type) {
	case DNS_TYPE_A:
		rc = rd_get(&r, off, out->u.a, 4);
		off += 4;
		break;
	case DNS_TYPE_AAAA:
		rc = rd_get(&r, off, out->u.aaaa, 16);
		off += 16;
		break;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		rc = rdata_name(&r, &off, &out->u.name);
		break;
	case DNS_TYPE_SOA:
		rc = rdata_soa(&r, &off, &out->u.soa);
		break;
	case DNS_TYPE_SRV:
		rc = rdata_srv(&r, &off, &out->u.srv);
		break;
	case DNS_TYPE_TXT:
		rc = rdata_txt(&r, &off, &out->u.ntxt);
		break;
	default:
		return 0;
	}
	if (rc == ANDNA_EDNS_SHORT || (rc == 0 && off != r.len))
		rc = ANDNA_EDNS_RDATA;
	if (rc != 0) {
		memset(&out->u, 0, sizeof(out->u));
		return rc;
	}
	return 0;
}

int
dns_edns_option(const struct dns_msg *msg, uint16_t code, const uint8_t **data,
    uint16_t *len)
{
	struct rd r;
	size_t off;
	uint16_t c, l;

	if (data != NULL)
		*data = NULL;
	if (len != NULL)
		*len = 0;
	if (msg == NULL || !msg->edns.present || msg->pkt == NULL ||
	    msg->edns.opt_off > msg->len ||
	    msg->edns.opt_len > msg->len - msg->edns.opt_off)
		return ANDNA_ENOTFOUND;
	r.p = msg->pkt;
	r.len = msg->edns.opt_off + msg->edns.opt_len;
	off = msg->edns.opt_off;
	while (off < r.len) {
		if (rd_u16(&r, &off, &c) != 0 || rd_u16(&r, &off, &l) != 0 ||
		    l > r.len - off)
			return ANDNA_ENOTFOUND;
		if (c == code) {
			if (data != NULL && l > 0)
				*data = msg->pkt + off;
			if (len != NULL)
				*len = l;
			return 0;
		}
		off += l;
	}
	return ANDNA_ENOTFOUND;
}

/* --- the builder --- */

/* Appends n octets, keeping the OPT reserve free; the writers below fail
 * with ANDNA_EDNS_NOSPACE and write nothing when the data does not fit. */
static int
wr_put(struct dns_builder *b, const void *p, size_t n)
{
	if (n > b->cap - b->reserve - b->len)
		return ANDNA_EDNS_NOSPACE;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

static int
wr_u16(struct dns_builder *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return wr_put(b, x, 2);
}

static int
wr_u32(struct dns_builder *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v};

	return wr_put(b, x, 4);
}

/* Patches a 16-bit field already written. */
static void
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* True when the name written at off in our own buffer equals the
 * uncompressed suffix s (ending with the root), ignoring case. */
static bool
comp_match(
    const struct dns_builder *b, size_t off, const uint8_t *s, size_t slen)
{
	struct rd r = {b->buf, b->len};
	uint8_t c, lo, label[DNS_LABEL_MAX];
	unsigned hops = 0;
	size_t i = 0;

	for (;;) {
		if (rd_get(&r, off, &c, 1) != 0)
			return false;
		if ((c & 0xc0) == 0xc0) {
			if (rd_get(&r, off + 1, &lo, 1) != 0)
				return false;
			size_t target = (size_t)(c & 0x3f) << 8 | lo;
			if (target >= off || ++hops > DNS_PTR_HOPS_MAX)
				return false;
			off = target;
			continue;
		}
		if (c > DNS_LABEL_MAX || i >= slen || c != s[i])
			return false;
		if (c == 0)
			return true;
		if (c > slen - i - 1 || rd_get(&r, off + 1, label, c) != 0)
			return false;
		for (size_t k = 0; k < c; k++)
			if (dns_lower(label[k]) != dns_lower(s[i + 1 + k]))
				return false;
		i += 1 + c;
		off += 1 + c;
	}
}

/* The offset of an earlier name equal to suffix s, or 0 when none. */
static size_t
comp_find(const struct dns_builder *b, const uint8_t *s, size_t slen)
{
	for (unsigned k = 0; k < b->ncomp; k++)
		if (comp_match(b, b->comp_off[k], s, slen))
			return b->comp_off[k];
	return 0;
}

/* Writes name, as a pointer to an earlier copy of its longest suffix when
 * compress is set; every label written in line becomes a target for later
 * names (pointers hold 14 bits, so only the first 16 KiB can be). */
static int
wr_name(struct dns_builder *b, const struct dns_name *n, bool compress)
{
	size_t i = 0, ptr = 0;
	int rc;

	while (n->wire[i] != 0) {
		if (compress && (ptr = comp_find(b, n->wire + i, n->len - i)))
			break;
		i += 1 + n->wire[i];
	}
	for (size_t k = 0; k < i; k += 1 + n->wire[k]) {
		if (b->len < 0x4000 && b->ncomp < DNS_COMP_MAX &&
		    b->len + 1u + n->wire[k] <= b->cap - b->reserve)
			b->comp_off[b->ncomp++] = (uint16_t)b->len;
		if ((rc = wr_put(b, n->wire + k, 1u + n->wire[k])) != 0)
			return rc;
	}
	if (ptr != 0)
		return wr_u16(b, (uint16_t)(0xc000 | ptr));
	return wr_put(b, "", 1);
}

/* Takes back everything written from off on. */
static void
rollback(struct dns_builder *b, size_t off)
{
	b->len = off;
	while (b->ncomp > 0 && b->comp_off[b->ncomp - 1] >= off)
		b->ncomp--;
}

int
dns_response_init(struct dns_builder *b, uint8_t *buf, size_t bufsize,
    size_t limit, const struct dns_msg *query)
{
	const struct dns_header *h;
	int rc;

	if (b == NULL)
		return ANDNA_EINVAL;
	memset(b, 0, sizeof(*b));
	if (buf == NULL || query == NULL || !query->has_header)
		return ANDNA_EINVAL;
	h = &query->hdr;
	b->buf = buf;
	b->cap = bufsize < limit ? bufsize : limit;
	if (b->cap > DNS_TCP_LIMIT)
		b->cap = DNS_TCP_LIMIT;
	b->edns = query->edns.present;
	b->edns_do = query->edns.do_bit;
	b->reserve = b->edns ? DNS_OPT_LEN : 0;
	b->flags = (uint16_t)(DNS_FLAG_QR | (h->opcode & 0x0f) << 11 |
	    (h->rd ? DNS_FLAG_RD : 0) | (h->cd ? DNS_FLAG_CD : 0));
	if (b->cap < DNS_HEADER_LEN + b->reserve)
		return ANDNA_EDNS_NOSPACE;
	memset(buf, 0, DNS_HEADER_LEN);
	put_u16(buf, h->id);
	b->len = DNS_HEADER_LEN;
	if (query->has_question && h->qdcount == 1) {
		if ((rc = wr_name(b, &query->q.name, false)) != 0 ||
		    (rc = wr_u16(b, query->q.qtype)) != 0 ||
		    (rc = wr_u16(b, query->q.qclass)) != 0)
			return rc;
		b->qdcount = 1;
	}
	return 0;
}

int
dns_response_set_cookie(
    struct dns_builder *b, const uint8_t *cookie, size_t len)
{
	if (b == NULL || b->buf == NULL || !b->edns || b->cookie_len != 0 ||
	    cookie == NULL || len < DNS_COOKIE_CLIENT_LEN ||
	    len > DNS_COOKIE_MAX)
		return ANDNA_EINVAL;
	if (4 + len > b->cap - b->reserve - b->len)
		return ANDNA_EDNS_NOSPACE;
	memcpy(b->cookie, cookie, len);
	b->cookie_len = (uint8_t)len;
	b->reserve += 4 + len;
	return 0;
}

void
dns_response_set_flag(struct dns_builder *b, uint16_t flag, bool on)
{
	const uint16_t settable =
	    DNS_FLAG_AA | DNS_FLAG_RA | DNS_FLAG_AD | DNS_FLAG_RD | DNS_FLAG_CD;

	flag &= settable;
	if (on)
		b->flags |= flag;
	else
		b->flags &= (uint16_t)~flag;
}

int
dns_response_set_rcode(struct dns_builder *b, uint16_t rcode)
{
	if (rcode > 0xfff || (rcode > 0x0f && !b->edns))
		return ANDNA_EINVAL;
	b->rcode = rcode;
	return 0;
}

bool
dns_response_truncated(const struct dns_builder *b)
{
	return b->truncated;
}

/* Writes the rdata of one record; returns 0 or ANDNA_EDNS_NOSPACE. */
typedef int (*rdata_writer)(struct dns_builder *, const void *);

/* Appends one record, or drops its RRset when it does not fit. */
static int
rr_add(struct dns_builder *b, enum dns_section sec,
    const struct dns_name *owner, uint16_t type, uint32_t ttl,
    rdata_writer write, const void *arg)
{
	size_t start, rdlen_at;
	bool same;
	int rc;

	if (b == NULL || b->buf == NULL || owner == NULL || arg == NULL ||
	    !name_valid(owner) || sec < b->section || sec > DNS_SEC_ADDITIONAL)
		return ANDNA_EINVAL;
	b->section = sec;
	if (b->full)
		return 0;
	same = b->set_open && b->set_section == sec && b->set_type == type &&
	    dns_name_equal(&b->set_owner, owner);
	if (!same) {
		b->set_open = true;
		b->set_section = sec;
		b->set_type = type;
		b->set_owner = *owner;
		b->set_off = b->len;
		b->set_count = 0;
		b->set_dropped = false;
	} else if (b->set_dropped)
		return 0;

	start = b->len;
	if ((rc = wr_name(b, owner, true)) == 0 &&
	    (rc = wr_u16(b, type)) == 0 &&
	    (rc = wr_u16(b, DNS_CLASS_IN)) == 0 && (rc = wr_u32(b, ttl)) == 0 &&
	    (rc = wr_u16(b, 0)) == 0) {
		rdlen_at = b->len - 2;
		if ((rc = write(b, arg)) == 0)
			put_u16(b->buf + rdlen_at,
			    (uint16_t)(b->len - rdlen_at - 2));
	}
	if (rc == ANDNA_EDNS_NOSPACE) {
		rollback(b, b->set_off);
		b->count[sec] = (uint16_t)(b->count[sec] - b->set_count);
		b->set_count = 0;
		b->set_dropped = true;
		if (sec != DNS_SEC_ADDITIONAL) {
			b->truncated = true;
			b->full = true;
		}
		return 0;
	}
	if (rc != 0) {
		rollback(b, start);
		return rc;
	}
	b->count[sec]++;
	b->set_count++;
	return 0;
}

/* Raw rdata for write_bytes() and write_txt(). */
struct bytes {
	const uint8_t *p;
	size_t len;
};

/* The rdata writers given to rr_add(), one per record shape. */
static int
write_bytes(struct dns_builder *b, const void *arg)
{
	const struct bytes *x = arg;

	return wr_put(b, x->p, x->len);
}

static int
write_name(struct dns_builder *b, const void *arg)
{
	return wr_name(b, arg, true);
}

static int
write_soa(struct dns_builder *b, const void *arg)
{
	const struct dns_soa *s = arg;
	int rc;

	if ((rc = wr_name(b, &s->mname, true)) != 0 ||
	    (rc = wr_name(b, &s->rname, true)) != 0 ||
	    (rc = wr_u32(b, s->serial)) != 0 ||
	    (rc = wr_u32(b, s->refresh)) != 0 ||
	    (rc = wr_u32(b, s->retry)) != 0 || (rc = wr_u32(b, s->expire)) != 0)
		return rc;
	return wr_u32(b, s->minimum);
}

static int
write_srv(struct dns_builder *b, const void *arg)
{
	const struct dns_srv *s = arg;
	int rc;

	if ((rc = wr_u16(b, s->priority)) != 0 ||
	    (rc = wr_u16(b, s->weight)) != 0 || (rc = wr_u16(b, s->port)) != 0)
		return rc;
	return wr_name(b, &s->target, false); /* RFC 2782: never compressed */
}

static int
write_txt(struct dns_builder *b, const void *arg)
{
	const struct bytes *x = arg;
	size_t off = 0;
	int rc;

	do {
		size_t n = x->len - off > 255 ? 255 : x->len - off;
		uint8_t n8 = (uint8_t)n;
		if ((rc = wr_put(b, &n8, 1)) != 0 ||
		    (rc = wr_put(b, x->p + off, n)) != 0)
			return rc;
		off += n;
	} while (off < x->len);
	return 0;
}

int
dns_response_add_a(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const uint8_t addr[4])
{
	struct bytes x = {addr, 4};

	if (addr == NULL)
		return ANDNA_EINVAL;
	return rr_add(b, section, owner, DNS_TYPE_A, ttl, write_bytes, &x);
}

int
dns_response_add_aaaa(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const uint8_t addr[16])
{
	struct bytes x = {addr, 16};

	if (addr == NULL)
		return ANDNA_EINVAL;
	return rr_add(b, section, owner, DNS_TYPE_AAAA, ttl, write_bytes, &x);
}

/* NS, CNAME and PTR: one name, compressed (RFC 1035). */
static int
add_name_rr(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint16_t type, uint32_t ttl,
    const struct dns_name *target)
{
	if (target == NULL || !name_valid(target))
		return ANDNA_EINVAL;
	return rr_add(b, section, owner, type, ttl, write_name, target);
}

int
dns_response_add_ns(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_name *ns)
{
	return add_name_rr(b, section, owner, DNS_TYPE_NS, ttl, ns);
}

int
dns_response_add_cname(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_name *target)
{
	return add_name_rr(b, section, owner, DNS_TYPE_CNAME, ttl, target);
}

int
dns_response_add_ptr(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_name *target)
{
	return add_name_rr(b, section, owner, DNS_TYPE_PTR, ttl, target);
}

int
dns_response_add_soa(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_soa *soa)
{
	if (soa == NULL || !name_valid(&soa->mname) || !name_valid(&soa->rname))
		return ANDNA_EINVAL;
	return rr_add(b, section, owner, DNS_TYPE_SOA, ttl, write_soa, soa);
}

int
dns_response_add_srv(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_srv *srv)
{
	if (srv == NULL || !name_valid(&srv->target))
		return ANDNA_EINVAL;
	return rr_add(b, section, owner, DNS_TYPE_SRV, ttl, write_srv, srv);
}

int
dns_response_add_txt(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const uint8_t *data, size_t len)
{
	struct bytes x = {data, len};

	if ((data == NULL && len > 0) || len > DNS_TCP_LIMIT ||
	    len + (len + 254) / 255 > DNS_TCP_LIMIT)
		return ANDNA_EINVAL;
	return rr_add(b, section, owner, DNS_TYPE_TXT, ttl, write_txt, &x);
}

int
dns_response_add_rdata(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, size_t rdata_len)
{
	struct bytes x = {rdata, rdata_len};

	if ((rdata == NULL && rdata_len > 0) || rdata_len > DNS_TCP_LIMIT ||
	    type == DNS_TYPE_OPT)
		return ANDNA_EINVAL;
	return rr_add(b, section, owner, type, ttl, write_bytes, &x);
}

int
dns_response_finish(struct dns_builder *b, size_t *lenp)
{
	uint16_t flags;
	int rc;

	if (lenp != NULL)
		*lenp = 0;
	if (b == NULL || b->buf == NULL || lenp == NULL)
		return ANDNA_EINVAL;
	if (b->edns) {
		/* the room was reserved at init, so this cannot fail */
		b->reserve = 0;
		if ((rc = wr_put(b, "", 1)) != 0 ||
		    (rc = wr_u16(b, DNS_TYPE_OPT)) != 0 ||
		    (rc = wr_u16(b, DNS_EDNS_UDP_SIZE)) != 0 ||
		    (rc = wr_u32(b,
			 (uint32_t)(b->rcode >> 4) << 24 |
			     (b->edns_do ? 0x8000u : 0))) != 0 ||
		    (rc = wr_u16(
			 b, b->cookie_len != 0 ? 4u + b->cookie_len : 0u)) != 0)
			return rc;
		if (b->cookie_len != 0 &&
		    ((rc = wr_u16(b, DNS_EDNS_COOKIE)) != 0 ||
			(rc = wr_u16(b, b->cookie_len)) != 0 ||
			(rc = wr_put(b, b->cookie, b->cookie_len)) != 0))
			return rc;
		b->count[DNS_SEC_ADDITIONAL]++;
		b->edns = false;
	}
	flags = (uint16_t)(b->flags | (b->rcode & 0x0f) |
	    (b->truncated ? DNS_FLAG_TC : 0));
	put_u16(b->buf + 2, flags);
	put_u16(b->buf + 4, b->qdcount);
	put_u16(b->buf + 6, b->count[DNS_SEC_ANSWER]);
	put_u16(b->buf + 8, b->count[DNS_SEC_AUTHORITY]);
	put_u16(b->buf + 10, b->count[DNS_SEC_ADDITIONAL]);
	b->full = true;
	*lenp = b->len;
	return 0;
}

int
dns_query_build(
    const struct dns_query_spec *spec, uint8_t *buf, size_t size, size_t *lenp)
{
	struct dns_builder b;
	uint16_t flags;
	int rc;

	if (lenp != NULL)
		*lenp = 0;
	if (spec == NULL || buf == NULL || lenp == NULL ||
	    spec->qname == NULL || !name_valid(spec->qname))
		return ANDNA_EINVAL;
	memset(&b, 0, sizeof(b));
	b.buf = buf;
	b.cap = size < DNS_TCP_LIMIT ? size : DNS_TCP_LIMIT;
	flags = spec->flags & (DNS_FLAG_RD | DNS_FLAG_CD | DNS_FLAG_AD);
	if ((rc = wr_u16(&b, spec->id)) != 0 || (rc = wr_u16(&b, flags)) != 0 ||
	    (rc = wr_u16(&b, 1)) != 0 || (rc = wr_u16(&b, 0)) != 0 ||
	    (rc = wr_u16(&b, 0)) != 0 ||
	    (rc = wr_u16(&b, spec->edns_size != 0 ? 1 : 0)) != 0 ||
	    (rc = wr_name(&b, spec->qname, false)) != 0 ||
	    (rc = wr_u16(&b, spec->qtype)) != 0 ||
	    (rc = wr_u16(&b, spec->qclass)) != 0)
		return rc;
	if (spec->edns_size != 0 &&
	    ((rc = wr_put(&b, "", 1)) != 0 ||
		(rc = wr_u16(&b, DNS_TYPE_OPT)) != 0 ||
		(rc = wr_u16(&b, spec->edns_size)) != 0 ||
		(rc = wr_u32(&b, spec->edns_do ? 0x8000u : 0)) != 0 ||
		(rc = wr_u16(&b, 0)) != 0))
		return rc;
	*lenp = b.len;
	return 0;
}

int
dns_id_get(const uint8_t *pkt, size_t len, uint16_t *id)
{
	struct rd r = {pkt, len};
	size_t off = 0;

	if (id == NULL)
		return ANDNA_EINVAL;
	*id = 0;
	if (pkt == NULL || len < DNS_HEADER_LEN)
		return ANDNA_EDNS_SHORT;
	return rd_u16(&r, &off, id);
}

int
dns_id_set(uint8_t *pkt, size_t len, uint16_t id)
{
	if (pkt == NULL || len < DNS_HEADER_LEN)
		return ANDNA_EDNS_SHORT;
	put_u16(pkt, id);
	return 0;
}

int
dns_copy_with_id(
    uint8_t *dst, size_t dstsize, const uint8_t *pkt, size_t len, uint16_t id)
{
	if (dst == NULL)
		return ANDNA_EINVAL;
	if (pkt == NULL || len < DNS_HEADER_LEN)
		return ANDNA_EDNS_SHORT;
	if (len > dstsize)
		return ANDNA_EDNS_NOSPACE;
	memmove(dst, pkt, len);
	return dns_id_set(dst, len, id);
}
