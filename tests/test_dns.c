/* The DNS wire format: known answers from real dig and kdig queries, built
 * responses checked byte by byte and through the parser, truncation, one
 * test per malformed-packet error, and a mutation loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto/dns.h"
#include "proto/err.h"

/*
 * Real queries.  Captured on 127.0.0.1 with a python3 listener that wrote
 * the first datagram it received on a high port to a file:
 *
 *   s = socket.socket(AF_INET, SOCK_DGRAM); s.bind(("127.0.0.1", PORT))
 *   open(out, "wb").write(s.recvfrom(65535)[0])
 *
 * while the command above each array ran (DiG 9.18.49-1~deb12u3-Debian,
 * kdig 3.2.6), then dumped with `xxd -i`.  dig sends a client COOKIE and
 * sets AD by default; kdig sends no OPT record unless an EDNS option is
 * asked for.
 */
/* dig @127.0.0.1 -p PORT +tries=1 +time=1 example.ntk A */
static const uint8_t dig_a[] = {
    0x9c,
    0x23,
    0x01,
    0x20,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x07,
    0x65,
    0x78,
    0x61,
    0x6d,
    0x70,
    0x6c,
    0x65,
    0x03,
    0x6e,
    0x74,
    0x6b,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00,
    0x29,
    0x04,
    0xd0,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x0c,
    0x00,
    0x0a,
    0x00,
    0x08,
    0x07,
    0x83,
    0xb7,
    0xaf,
    0x95,
    0xfe,
    0x4f,
    0x99,
};

/* dig @127.0.0.1 -p PORT +tries=1 +time=1 +noedns example.ntk A */
static const uint8_t dig_noedns[] = {
    0x08,
    0x21,
    0x01,
    0x20,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x07,
    0x65,
    0x78,
    0x61,
    0x6d,
    0x70,
    0x6c,
    0x65,
    0x03,
    0x6e,
    0x74,
    0x6b,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
};

/* dig @127.0.0.1 -p PORT +tries=1 +time=1 example.ntk AAAA */
static const uint8_t dig_aaaa[] = {
    0xee,
    0x1f,
    0x01,
    0x20,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x07,
    0x65,
    0x78,
    0x61,
    0x6d,
    0x70,
    0x6c,
    0x65,
    0x03,
    0x6e,
    0x74,
    0x6b,
    0x00,
    0x00,
    0x1c,
    0x00,
    0x01,
    0x00,
    0x00,
    0x29,
    0x04,
    0xd0,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x0c,
    0x00,
    0x0a,
    0x00,
    0x08,
    0x2a,
    0x22,
    0x10,
    0xe5,
    0xa1,
    0x22,
    0x6a,
    0xc9,
};

/* dig @127.0.0.1 -p PORT +tries=1 +time=1 _http._tcp.web.ntk SRV */
static const uint8_t dig_srv[] = {
    0xf4,
    0xd4,
    0x01,
    0x20,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x05,
    0x5f,
    0x68,
    0x74,
    0x74,
    0x70,
    0x04,
    0x5f,
    0x74,
    0x63,
    0x70,
    0x03,
    0x77,
    0x65,
    0x62,
    0x03,
    0x6e,
    0x74,
    0x6b,
    0x00,
    0x00,
    0x21,
    0x00,
    0x01,
    0x00,
    0x00,
    0x29,
    0x04,
    0xd0,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x0c,
    0x00,
    0x0a,
    0x00,
    0x08,
    0x0c,
    0xb0,
    0xf1,
    0x29,
    0x19,
    0xf5,
    0x30,
    0x07,
};

/* dig @127.0.0.1 -p PORT +tries=1 +time=1 4.3.2.1.in-addr.arpa PTR */
static const uint8_t dig_ptr[] = {
    0x83,
    0x15,
    0x01,
    0x20,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x01,
    0x34,
    0x01,
    0x33,
    0x01,
    0x32,
    0x01,
    0x31,
    0x07,
    0x69,
    0x6e,
    0x2d,
    0x61,
    0x64,
    0x64,
    0x72,
    0x04,
    0x61,
    0x72,
    0x70,
    0x61,
    0x00,
    0x00,
    0x0c,
    0x00,
    0x01,
    0x00,
    0x00,
    0x29,
    0x04,
    0xd0,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x0c,
    0x00,
    0x0a,
    0x00,
    0x08,
    0x1d,
    0x2d,
    0xe4,
    0xe2,
    0x7a,
    0xe0,
    0x7a,
    0x0a,
};

/* dig @127.0.0.1 -p PORT +tries=1 +time=1 WwW.ExAmple.NTK A */
static const uint8_t dig_case[] = {
    0x71,
    0xa9,
    0x01,
    0x20,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x03,
    0x57,
    0x77,
    0x57,
    0x07,
    0x45,
    0x78,
    0x41,
    0x6d,
    0x70,
    0x6c,
    0x65,
    0x03,
    0x4e,
    0x54,
    0x4b,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00,
    0x29,
    0x04,
    0xd0,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x0c,
    0x00,
    0x0a,
    0x00,
    0x08,
    0x61,
    0xe6,
    0xf5,
    0x7a,
    0xd9,
    0x62,
    0x85,
    0xa9,
};

/* dig @127.0.0.1 -p PORT +tries=1 +time=1 +dnssec example.ntk A */
static const uint8_t dig_dnssec[] = {
    0x71,
    0x13,
    0x01,
    0x20,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x07,
    0x65,
    0x78,
    0x61,
    0x6d,
    0x70,
    0x6c,
    0x65,
    0x03,
    0x6e,
    0x74,
    0x6b,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00,
    0x29,
    0x04,
    0xd0,
    0x00,
    0x00,
    0x80,
    0x00,
    0x00,
    0x0c,
    0x00,
    0x0a,
    0x00,
    0x08,
    0x84,
    0x53,
    0x5d,
    0x4b,
    0x42,
    0xd8,
    0xaf,
    0x65,
};

/* dig @127.0.0.1 -p PORT +tries=1 +time=1 +cd example.ntk A */
static const uint8_t dig_cd[] = {
    0x37,
    0x2f,
    0x01,
    0x30,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x07,
    0x65,
    0x78,
    0x61,
    0x6d,
    0x70,
    0x6c,
    0x65,
    0x03,
    0x6e,
    0x74,
    0x6b,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00,
    0x29,
    0x04,
    0xd0,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x0c,
    0x00,
    0x0a,
    0x00,
    0x08,
    0x30,
    0xe5,
    0xcf,
    0xe5,
    0xe1,
    0x1f,
    0xec,
    0xde,
};

/* kdig @127.0.0.1 -p PORT +retry=0 +timeout=1 example.ntk A */
static const uint8_t kdig_a[] = {
    0x9c,
    0x07,
    0x01,
    0x20,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x07,
    0x65,
    0x78,
    0x61,
    0x6d,
    0x70,
    0x6c,
    0x65,
    0x03,
    0x6e,
    0x74,
    0x6b,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
};

/* kdig @127.0.0.1 -p PORT +retry=0 +timeout=1 +nsid +cookie example.ntk A */
static const uint8_t kdig_nsid_cookie[] = {
    0xf6,
    0xa0,
    0x01,
    0x20,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x07,
    0x65,
    0x78,
    0x61,
    0x6d,
    0x70,
    0x6c,
    0x65,
    0x03,
    0x6e,
    0x74,
    0x6b,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00,
    0x29,
    0x10,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x10,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x0a,
    0x00,
    0x08,
    0xc8,
    0x57,
    0xd8,
    0x9f,
    0xd6,
    0x7f,
    0x9a,
    0x48,
};

#define PKT(a) a, sizeof(a)

static const struct {
	const uint8_t *pkt;
	size_t len;
} captured[] = {
    {PKT(dig_a)},
    {PKT(dig_noedns)},
    {PKT(dig_aaaa)},
    {PKT(dig_srv)},
    {PKT(dig_ptr)},
    {PKT(dig_case)},
    {PKT(dig_dnssec)},
    {PKT(dig_cd)},
    {PKT(kdig_a)},
    {PKT(kdig_nsid_cookie)},
};
#define NCAPTURED (sizeof(captured) / sizeof(captured[0]))

/* The name of text, which must be valid. */
static struct dns_name
name_of(const char *text)
{
	struct dns_name n;

	assert_int_equal(dns_name_from_text(text, &n), 0);
	return n;
}

/* Text of a name, in a buffer that lives until the next call with buf. */
static const char *
text_of(const struct dns_name *n, char *buf)
{
	assert_int_equal(dns_name_to_text(n, buf, DNS_NAME_TEXT_MAX), 0);
	return buf;
}

/* --- known answers --- */

/* What each captured query must parse to. */
struct kat {
	const uint8_t *pkt;
	size_t len;
	uint16_t id;
	bool ad, cd;
	const char *qname;
	uint8_t nlabels;
	uint16_t qtype;
	bool edns;
	uint16_t udp_size;
	bool do_bit;
	uint16_t noptions;
};

static const struct kat kats[] = {
    {PKT(dig_a), 0x9c23, true, false, "example.ntk", 2, DNS_TYPE_A, true, 1232,
	false, 1},
    {PKT(dig_noedns), 0x0821, true, false, "example.ntk", 2, DNS_TYPE_A, false,
	0, false, 0},
    {PKT(dig_aaaa), 0xee1f, true, false, "example.ntk", 2, DNS_TYPE_AAAA, true,
	1232, false, 1},
    {PKT(dig_srv), 0xf4d4, true, false, "_http._tcp.web.ntk", 4, DNS_TYPE_SRV,
	true, 1232, false, 1},
    {PKT(dig_ptr), 0x8315, true, false, "4.3.2.1.in-addr.arpa", 6, DNS_TYPE_PTR,
	true, 1232, false, 1},
    {PKT(dig_case), 0x71a9, true, false, "WwW.ExAmple.NTK", 3, DNS_TYPE_A, true,
	1232, false, 1},
    {PKT(dig_dnssec), 0x7113, true, false, "example.ntk", 2, DNS_TYPE_A, true,
	1232, true, 1},
    {PKT(dig_cd), 0x372f, true, true, "example.ntk", 2, DNS_TYPE_A, true, 1232,
	false, 1},
    {PKT(kdig_a), 0x9c07, true, false, "example.ntk", 2, DNS_TYPE_A, false, 0,
	false, 0},
    {PKT(kdig_nsid_cookie), 0xf6a0, true, false, "example.ntk", 2, DNS_TYPE_A,
	true, 4096, false, 2},
};

static void
test_kat_queries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		const struct kat *k = &kats[i];
		struct dns_msg m;
		struct dns_name want;
		struct dns_rr_iter it;
		struct dns_rr rr;

		assert_int_equal(dns_query_parse(k->pkt, k->len, &m), 0);
		assert_true(m.has_header);
		assert_true(m.has_question);
		assert_ptr_equal(m.pkt, k->pkt);
		assert_int_equal(m.len, k->len);
		assert_int_equal(m.hdr.id, k->id);
		assert_false(m.hdr.qr);
		assert_int_equal(m.hdr.opcode, DNS_OPCODE_QUERY);
		assert_false(m.hdr.aa);
		assert_false(m.hdr.tc);
		assert_true(m.hdr.rd);
		assert_false(m.hdr.ra);
		assert_false(m.hdr.z);
		assert_int_equal(m.hdr.ad, k->ad);
		assert_int_equal(m.hdr.cd, k->cd);
		assert_int_equal(m.hdr.rcode, 0);
		assert_int_equal(m.rcode, 0);
		assert_int_equal(m.hdr.qdcount, 1);
		assert_int_equal(m.hdr.ancount, 0);
		assert_int_equal(m.hdr.nscount, 0);
		assert_int_equal(m.hdr.arcount, k->edns ? 1 : 0);

		/* the question, case kept in text and in wire */
		assert_string_equal(m.q.text, k->qname);
		want = name_of(k->qname);
		assert_int_equal(m.q.name.len, want.len);
		assert_int_equal(m.q.name.nlabels, k->nlabels);
		assert_memory_equal(m.q.name.wire, want.wire, want.len);
		assert_memory_equal(m.q.name.wire, k->pkt + 12, want.len);
		assert_int_equal(m.q.qtype, k->qtype);
		assert_int_equal(m.q.qclass, DNS_CLASS_IN);
		assert_int_equal(m.rr_off, 12 + want.len + 4);

		assert_int_equal(m.edns.present, k->edns);
		assert_int_equal(m.edns.udp_size, k->udp_size);
		assert_int_equal(m.edns.ext_rcode, 0);
		assert_int_equal(m.edns.version, 0);
		assert_int_equal(m.edns.do_bit, k->do_bit);
		assert_int_equal(m.edns.flags, k->do_bit ? 0x8000 : 0);
		assert_int_equal(m.edns.noptions, k->noptions);
		assert_int_equal(
		    dns_query_udp_limit(&m), k->edns ? k->udp_size : 512);

		/* the OPT record is the only record, at the end */
		dns_rr_iter_init(&it, &m);
		if (k->edns) {
			assert_int_equal(dns_rr_next(&it, &rr), 0);
			assert_int_equal(rr.section, DNS_SEC_ADDITIONAL);
			assert_int_equal(rr.type, DNS_TYPE_OPT);
			assert_int_equal(rr.name.len, 1);
			assert_int_equal(rr.rclass, k->udp_size);
			assert_int_equal(rr.rdata_off + rr.rdata_len, k->len);
			assert_int_equal(m.edns.opt_off, rr.rdata_off);
			assert_int_equal(m.edns.opt_len, rr.rdata_len);
		}
		assert_int_equal(dns_rr_next(&it, &rr), ANDNA_ENOTFOUND);
	}
}

/* dig's client cookie, and kdig's NSID request next to its cookie. */
static void
test_kat_edns_options(void **state)
{
	static const uint8_t dig_cookie[8] = {
	    0x07, 0x83, 0xb7, 0xaf, 0x95, 0xfe, 0x4f, 0x99};
	static const uint8_t kdig_cookie[8] = {
	    0xc8, 0x57, 0xd8, 0x9f, 0xd6, 0x7f, 0x9a, 0x48};
	const uint8_t *data;
	uint16_t len;
	struct dns_msg m;

	(void)state;
	assert_int_equal(dns_query_parse(PKT(dig_a), &m), 0);
	assert_int_equal(dns_edns_option(&m, DNS_EDNS_COOKIE, &data, &len), 0);
	assert_int_equal(len, 8);
	assert_memory_equal(data, dig_cookie, 8);
	assert_int_equal(
	    dns_edns_option(&m, DNS_EDNS_NSID, &data, &len), ANDNA_ENOTFOUND);
	assert_null(data);
	assert_int_equal(len, 0);

	assert_int_equal(dns_query_parse(PKT(kdig_nsid_cookie), &m), 0);
	assert_int_equal(dns_edns_option(&m, DNS_EDNS_NSID, &data, &len), 0);
	assert_int_equal(len, 0);
	assert_null(data);
	assert_int_equal(dns_edns_option(&m, DNS_EDNS_COOKIE, &data, &len), 0);
	assert_int_equal(len, 8);
	assert_memory_equal(data, kdig_cookie, 8);

	assert_int_equal(dns_query_parse(PKT(kdig_a), &m), 0);
	assert_int_equal(
	    dns_edns_option(&m, DNS_EDNS_COOKIE, &data, &len), ANDNA_ENOTFOUND);
}

/* Our own query builder reproduces kdig's and dig's bytes. */
static void
test_query_build(void **state)
{
	struct dns_name qn = name_of("example.ntk");
	struct dns_query_spec spec = {
	    .id = 0x9c07,
	    .qname = &qn,
	    .qtype = DNS_TYPE_A,
	    .qclass = DNS_CLASS_IN,
	    .flags = DNS_FLAG_RD | DNS_FLAG_AD,
	};
	static const uint8_t edns_do[] = {0x12, 0x34, 0x01, 0x10, 0x00, 0x01,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07, 'e', 'x', 'a', 'm', 'p',
	    'l', 'e', 0x03, 'n', 't', 'k', 0x00, 0x00, 0x21, 0x00, 0x01, 0x00,
	    0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00};
	uint8_t buf[512];
	size_t len;
	struct dns_msg m;

	(void)state;
	assert_int_equal(dns_query_build(&spec, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(kdig_a));
	assert_memory_equal(buf, kdig_a, len);
	spec.id = 0x0821;
	assert_int_equal(dns_query_build(&spec, buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, dig_noedns, sizeof(dig_noedns));

	/* SRV with RD, CD, EDNS 4096 and DO, against hand-made bytes */
	spec.id = 0x1234;
	spec.qtype = DNS_TYPE_SRV;
	spec.flags = DNS_FLAG_RD | DNS_FLAG_CD | DNS_FLAG_AA; /* AA ignored */
	spec.edns_size = 4096;
	spec.edns_do = true;
	assert_int_equal(dns_query_build(&spec, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(edns_do));
	assert_memory_equal(buf, edns_do, len);
	assert_int_equal(dns_query_parse(buf, len, &m), 0);
	assert_true(m.hdr.cd);
	assert_false(m.hdr.aa);
	assert_true(m.edns.do_bit);
	assert_int_equal(dns_query_udp_limit(&m), 4096);

	/* every buffer too small fails cleanly */
	for (size_t n = 0; n < sizeof(edns_do); n++)
		assert_int_equal(
		    dns_query_build(&spec, buf, n, &len), ANDNA_EDNS_NOSPACE);
	spec.qname = NULL;
	assert_int_equal(
	    dns_query_build(&spec, buf, sizeof(buf), &len), ANDNA_EINVAL);
}

static void
test_id_helpers(void **state)
{
	uint8_t buf[64];
	uint16_t id;

	(void)state;
	assert_int_equal(dns_id_get(PKT(kdig_a), &id), 0);
	assert_int_equal(id, 0x9c07);
	assert_int_equal(
	    dns_copy_with_id(buf, sizeof(buf), PKT(kdig_a), 0xbeef), 0);
	assert_int_equal(buf[0], 0xbe);
	assert_int_equal(buf[1], 0xef);
	assert_memory_equal(buf + 2, kdig_a + 2, sizeof(kdig_a) - 2);
	assert_int_equal(dns_id_set(buf, sizeof(kdig_a), 0x0102), 0);
	assert_int_equal(dns_id_get(buf, sizeof(kdig_a), &id), 0);
	assert_int_equal(id, 0x0102);
	assert_int_equal(
	    dns_copy_with_id(buf, 20, PKT(kdig_a), 1), ANDNA_EDNS_NOSPACE);
	assert_int_equal(dns_copy_with_id(buf, sizeof(buf), kdig_a, 11, 1),
	    ANDNA_EDNS_SHORT);
	assert_int_equal(dns_id_set(buf, 11, 1), ANDNA_EDNS_SHORT);
	assert_int_equal(dns_id_get(buf, 11, &id), ANDNA_EDNS_SHORT);
	assert_int_equal(id, 0);
}

/* --- names --- */

static void
test_name_text(void **state)
{
	char buf[DNS_NAME_TEXT_MAX], longest[DNS_NAME_TEXT_MAX], big[300];
	struct dns_name n, m;
	static const uint8_t esc_wire[] = {
	    3, 'a', '.', 'b', 3, 'n', 't', 'k', 0};
	static const uint8_t bin_wire[] = {4, 0, 0xff, ' ', '\\', 0};

	(void)state;
	n = name_of(".");
	assert_int_equal(n.len, 1);
	assert_int_equal(n.nlabels, 0);
	assert_string_equal(text_of(&n, buf), ".");

	n = name_of("Web.NTK.");
	m = name_of("web.ntk");
	assert_int_equal(n.len, 9);
	assert_int_equal(n.nlabels, 2);
	assert_true(dns_name_equal(&n, &m));
	assert_string_equal(text_of(&n, buf), "Web.NTK");
	m = name_of("web.ntk.x");
	assert_false(dns_name_equal(&n, &m));
	m = name_of("wex.ntk");
	assert_false(dns_name_equal(&n, &m));

	/* escapes both ways */
	n = name_of("a\\.b.ntk");
	assert_int_equal(n.len, sizeof(esc_wire));
	assert_memory_equal(n.wire, esc_wire, sizeof(esc_wire));
	assert_string_equal(text_of(&n, buf), "a\\.b.ntk");
	n = name_of("\\000\\255\\ \\\\");
	assert_int_equal(n.len, sizeof(bin_wire));
	assert_memory_equal(n.wire, bin_wire, sizeof(bin_wire));
	assert_string_equal(text_of(&n, buf), "\\000\\255\\032\\\\");
	n = name_of("\\065bc");
	assert_string_equal(text_of(&n, buf), "Abc");

	/* malformed text */
	assert_int_equal(dns_name_from_text("", &n), ANDNA_EDNS_NAME_TEXT);
	assert_int_equal(n.len, 0);
	assert_int_equal(dns_name_from_text("a..b", &n), ANDNA_EDNS_NAME_TEXT);
	assert_int_equal(dns_name_from_text(".a", &n), ANDNA_EDNS_NAME_TEXT);
	assert_int_equal(dns_name_from_text("a.b..", &n), ANDNA_EDNS_NAME_TEXT);
	assert_int_equal(dns_name_from_text("a\\", &n), ANDNA_EDNS_NAME_TEXT);
	assert_int_equal(dns_name_from_text("a\\25", &n), ANDNA_EDNS_NAME_TEXT);
	assert_int_equal(
	    dns_name_from_text("a\\256", &n), ANDNA_EDNS_NAME_TEXT);
	assert_int_equal(dns_name_from_text(NULL, &n), ANDNA_EINVAL);

	/* 63 octets is the longest label, 255 the longest name */
	memset(big, 'a', 64);
	big[63] = '\0';
	assert_int_equal(dns_name_from_text(big, &n), 0);
	assert_int_equal(n.wire[0], 63);
	big[63] = 'a';
	big[64] = '\0';
	assert_int_equal(dns_name_from_text(big, &n), ANDNA_EDNS_LABEL);
	/* 63.63.63.61 octets: 64 * 3 + 62 + 1 = 255 on the wire */
	memset(big, 'b', sizeof(big));
	big[63] = big[127] = big[191] = '.';
	big[253] = '\0';
	assert_int_equal(dns_name_from_text(big, &n), 0);
	assert_int_equal(n.len, 255);
	assert_int_equal(n.nlabels, 4);
	assert_string_equal(text_of(&n, buf), big);
	big[253] = 'b';
	big[254] = '\0';
	assert_int_equal(dns_name_from_text(big, &n), ANDNA_EDNS_NAME_LONG);
	big[253] = '.'; /* a trailing dot adds nothing, a label does */
	assert_int_equal(dns_name_from_text(big, &n), 0);
	assert_int_equal(n.len, 255);
	big[254] = 'c';
	big[255] = '\0';
	assert_int_equal(dns_name_from_text(big, &n), ANDNA_EDNS_NAME_LONG);

	/* the longest text: every octet escaped still fits */
	memset(longest, 0, sizeof(longest));
	for (int i = 0; i < 4; i++) {
		if (i > 0)
			strcat(longest, ".");
		for (int k = 0; k < (i == 3 ? 61 : 63); k++)
			strcat(longest, "\\007");
	}
	assert_int_equal(dns_name_from_text(longest, &n), 0);
	assert_int_equal(n.len, 255);
	assert_int_equal(dns_name_to_text(&n, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 250 * 4 + 3);
	assert_string_equal(buf, longest);
	assert_int_equal(dns_name_to_text(&n, buf, 250 * 4 + 3), ANDNA_EINVAL);
	assert_string_equal(buf, "");
	n.wire[0] = 64; /* not a well-formed name any more */
	assert_int_equal(dns_name_to_text(&n, buf, sizeof(buf)), ANDNA_EINVAL);
}

/* --- responses --- */

/* Parses a built response and checks the header counts against records. */
static void
parse_response(const uint8_t *pkt, size_t len, struct dns_msg *m)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	unsigned n = 0;

	assert_int_equal(dns_msg_parse(pkt, len, m), 0);
	assert_true(m->hdr.qr);
	dns_rr_iter_init(&it, m);
	while (dns_rr_next(&it, &rr) == 0)
		n++;
	assert_int_equal(n, m->hdr.ancount + m->hdr.nscount + m->hdr.arcount);
}

static void
test_response_bytes(void **state)
{
	static const uint8_t want[] = {
	    /* header: QR AA RD, one question, one answer */
	    0x08, 0x21, 0x85, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	    0x00,
	    /* the question, echoed */
	    0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'n', 't', 'k', 0x00,
	    0x00, 0x01, 0x00, 0x01,
	    /* example.ntk A IN 300 10.0.0.1, the owner a pointer to 12 */
	    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00,
	    0x04, 0x0a, 0x00, 0x00, 0x01};
	static const uint8_t opt[] = {
	    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t a1[4] = {10, 0, 0, 1};
	struct dns_name owner = name_of("example.ntk");
	struct dns_builder b;
	struct dns_msg q, r;
	uint8_t buf[512];
	size_t len;

	(void)state;
	assert_int_equal(dns_query_parse(PKT(dig_noedns), &q), 0);
	assert_int_equal(dns_response_init(
			     &b, buf, sizeof(buf), dns_query_udp_limit(&q), &q),
	    0);
	dns_response_set_flag(&b, DNS_FLAG_AA, true);
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ANSWER, &owner, 300, a1), 0);
	assert_false(dns_response_truncated(&b));
	assert_int_equal(dns_response_finish(&b, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, len);
	parse_response(buf, len, &r);
	assert_true(r.hdr.aa);
	assert_false(r.hdr.ad); /* AD is not copied from the query */

	/* with EDNS: the same plus our OPT (1232, no DO) in additional */
	assert_int_equal(dns_query_parse(PKT(dig_a), &q), 0);
	assert_int_equal(dns_response_init(
			     &b, buf, sizeof(buf), dns_query_udp_limit(&q), &q),
	    0);
	dns_response_set_flag(&b, DNS_FLAG_AA, true);
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ANSWER, &owner, 300, a1), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	assert_int_equal(len, sizeof(want) + sizeof(opt));
	assert_int_equal(buf[0], 0x9c);
	assert_int_equal(buf[1], 0x23);
	assert_int_equal(buf[11], 1); /* arcount */
	assert_memory_equal(buf + 2, want + 2, 9);
	assert_memory_equal(buf + 12, want + 12, sizeof(want) - 12);
	assert_memory_equal(buf + sizeof(want), opt, sizeof(opt));
	parse_response(buf, len, &r);
	assert_true(r.edns.present);
	assert_int_equal(r.edns.udp_size, DNS_EDNS_UDP_SIZE);
	assert_int_equal(r.edns.noptions, 0);
}

/* NXDOMAIN with the zone's SOA in authority, names compressed. */
static void
test_response_nxdomain_soa(void **state)
{
	static const uint8_t want_soa[] = {0xc0, 0x14, 0x00, 0x06, 0x00, 0x01,
	    0x00, 0x00, 0x0e, 0x10, 0x00, 0x26, 0x02, 'n', 's', 0xc0, 0x14,
	    0x0a, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r', 0xc0, 0x14,
	    0x78, 0x9a, 0xbc, 0xde, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x00, 0x03,
	    0x84, 0x00, 0x09, 0x3a, 0x80, 0x00, 0x00, 0x00, 0x3c};
	struct dns_name qn = name_of("missing.ntk"), zone = name_of("ntk");
	struct dns_query_spec spec = {.id = 7,
	    .qname = &qn,
	    .qtype = DNS_TYPE_A,
	    .qclass = DNS_CLASS_IN,
	    .flags = DNS_FLAG_RD};
	struct dns_soa soa = {.serial = 0x789abcde,
	    .refresh = 3600,
	    .retry = 900,
	    .expire = 604800,
	    .minimum = 60};
	uint8_t qbuf[512], buf[512];
	size_t qlen, len;
	struct dns_msg q, r;
	struct dns_builder b;
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_rdata rd;
	char t[DNS_NAME_TEXT_MAX];

	(void)state;
	soa.mname = name_of("ns.ntk");
	soa.rname = name_of("hostmaster.ntk");
	assert_int_equal(dns_query_build(&spec, qbuf, sizeof(qbuf), &qlen), 0);
	assert_int_equal(dns_query_parse(qbuf, qlen, &q), 0);
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	dns_response_set_flag(&b, DNS_FLAG_AA, true);
	assert_int_equal(dns_response_set_rcode(&b, DNS_RCODE_NXDOMAIN), 0);
	assert_int_equal(
	    dns_response_add_soa(&b, DNS_SEC_AUTHORITY, &zone, 3600, &soa), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	assert_int_equal(len, qlen + sizeof(want_soa));
	assert_memory_equal(buf + qlen, want_soa, sizeof(want_soa));
	assert_int_equal(buf[3], 0x03); /* rcode in the header */

	parse_response(buf, len, &r);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(r.hdr.ancount, 0);
	assert_int_equal(r.hdr.nscount, 1);
	assert_int_equal(r.hdr.arcount, 0);
	dns_rr_iter_init(&it, &r);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.section, DNS_SEC_AUTHORITY);
	assert_string_equal(text_of(&rr.name, t), "ntk");
	assert_int_equal(rr.ttl, 3600);
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_int_equal(rd.type, DNS_TYPE_SOA);
	assert_string_equal(text_of(&rd.u.soa.mname, t), "ns.ntk");
	assert_string_equal(text_of(&rd.u.soa.rname, t), "hostmaster.ntk");
	assert_int_equal(rd.u.soa.serial, 0x789abcde);
	assert_int_equal(rd.u.soa.refresh, 3600);
	assert_int_equal(rd.u.soa.retry, 900);
	assert_int_equal(rd.u.soa.expire, 604800);
	assert_int_equal(rd.u.soa.minimum, 60);
	assert_int_equal(dns_rr_next(&it, &rr), ANDNA_ENOTFOUND);
}

/* Every record type goes through the builder and back. */
static void
test_response_roundtrip(void **state)
{
	static const uint8_t a4[4] = {192, 0, 2, 7};
	static const uint8_t a6[16] = {
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
	static const uint8_t mx[] = {0x00, 0x0a, 0x02, 'm', 'x', 0x03, 'w', 'e',
	    'b', 0x03, 'n', 't', 'k', 0x00};
	uint8_t txt[300];
	struct dns_name web = name_of("web.ntk"), zone = name_of("ntk");
	struct dns_name ns1 = name_of("ns1.web.ntk");
	struct dns_name alias = name_of("alias.ntk");
	struct dns_name rev = name_of("7.2.0.192.in-addr.arpa");
	struct dns_name srvname = name_of("_http._tcp.web.ntk");
	struct dns_srv srv = {.priority = 10, .weight = 60, .port = 8080};
	struct dns_soa soa = {
	    .serial = 1, .refresh = 2, .retry = 3, .expire = 4, .minimum = 5};
	struct dns_query_spec spec = {.id = 0xabcd,
	    .qname = &web,
	    .qtype = DNS_TYPE_ANY,
	    .qclass = DNS_CLASS_IN,
	    .flags = DNS_FLAG_RD,
	    .edns_size = 1232};
	uint8_t qbuf[512], buf[2048];
	size_t qlen, len;
	struct dns_msg q, r;
	struct dns_builder b;
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_rdata rd;
	char t[DNS_NAME_TEXT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(txt); i++)
		txt[i] = (uint8_t)('a' + i % 26);
	srv.target = web;
	soa.mname = ns1;
	soa.rname = name_of("admin.web.ntk");
	assert_int_equal(dns_query_build(&spec, qbuf, sizeof(qbuf), &qlen), 0);
	assert_int_equal(dns_query_parse(qbuf, qlen, &q), 0);
	assert_int_equal(
	    dns_response_init(&b, buf, sizeof(buf), DNS_TCP_LIMIT, &q), 0);
	dns_response_set_flag(&b, DNS_FLAG_RA, true);
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ANSWER, &web, 60, a4), 0);
	assert_int_equal(
	    dns_response_add_aaaa(&b, DNS_SEC_ANSWER, &web, 61, a6), 0);
	assert_int_equal(
	    dns_response_add_cname(&b, DNS_SEC_ANSWER, &alias, 62, &web), 0);
	assert_int_equal(
	    dns_response_add_ptr(&b, DNS_SEC_ANSWER, &rev, 63, &web), 0);
	assert_int_equal(
	    dns_response_add_srv(&b, DNS_SEC_ANSWER, &srvname, 64, &srv), 0);
	assert_int_equal(dns_response_add_txt(
			     &b, DNS_SEC_ANSWER, &web, 65, txt, sizeof(txt)),
	    0);
	assert_int_equal(dns_response_add_rdata(&b, DNS_SEC_ANSWER, &web,
			     DNS_TYPE_MX, 66, mx, sizeof(mx)),
	    0);
	assert_int_equal(
	    dns_response_add_ns(&b, DNS_SEC_AUTHORITY, &web, 67, &ns1), 0);
	assert_int_equal(
	    dns_response_add_soa(&b, DNS_SEC_AUTHORITY, &zone, 68, &soa), 0);
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ADDITIONAL, &ns1, 69, a4), 0);
	/* sections go in order */
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ANSWER, &web, 1, a4), ANDNA_EINVAL);
	assert_int_equal(dns_response_finish(&b, &len), 0);

	parse_response(buf, len, &r);
	assert_int_equal(r.hdr.id, 0xabcd);
	assert_true(r.hdr.ra);
	assert_true(r.hdr.rd);
	assert_false(r.hdr.tc);
	assert_int_equal(r.hdr.ancount, 7);
	assert_int_equal(r.hdr.nscount, 2);
	assert_int_equal(r.hdr.arcount, 2);
	assert_true(r.edns.present);

	dns_rr_iter_init(&it, &r);
	/* A */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.section, DNS_SEC_ANSWER);
	assert_int_equal(rr.type, DNS_TYPE_A);
	assert_int_equal(rr.rclass, DNS_CLASS_IN);
	assert_int_equal(rr.ttl, 60);
	assert_true(dns_name_equal(&rr.name, &web));
	assert_int_equal(buf[rr.rdata_off - 12], 0xc0); /* owner compressed */
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_memory_equal(rd.u.a, a4, 4);
	assert_int_equal(rd.raw_len, 4);
	/* AAAA */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_AAAA);
	assert_int_equal(rr.ttl, 61);
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_memory_equal(rd.u.aaaa, a6, 16);
	/* CNAME: alias.ntk -> web.ntk, the target one pointer */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_CNAME);
	assert_string_equal(text_of(&rr.name, t), "alias.ntk");
	assert_int_equal(rr.rdata_len, 2);
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_true(dns_name_equal(&rd.u.name, &web));
	/* PTR */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_PTR);
	assert_string_equal(text_of(&rr.name, t), "7.2.0.192.in-addr.arpa");
	assert_int_equal(rr.rdata_len, 2);
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_true(dns_name_equal(&rd.u.name, &web));
	/* SRV: the target written out in full though web.ntk came before */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_SRV);
	assert_int_equal(rr.ttl, 64);
	assert_string_equal(text_of(&rr.name, t), "_http._tcp.web.ntk");
	assert_int_equal(rr.rdata_len, 6 + web.len);
	assert_memory_equal(buf + rr.rdata_off + 6, web.wire, web.len);
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_int_equal(rd.u.srv.priority, 10);
	assert_int_equal(rd.u.srv.weight, 60);
	assert_int_equal(rd.u.srv.port, 8080);
	assert_true(dns_name_equal(&rd.u.srv.target, &web));
	/* TXT: 300 octets as 255 + 45 */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_TXT);
	assert_int_equal(rr.rdata_len, 302);
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_int_equal(rd.u.ntxt, 2);
	assert_int_equal(rd.raw[0], 255);
	assert_memory_equal(rd.raw + 1, txt, 255);
	assert_int_equal(rd.raw[256], 45);
	assert_memory_equal(rd.raw + 257, txt + 255, 45);
	/* MX, raw: not decoded, copied as is */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_MX);
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_int_equal(rd.raw_len, sizeof(mx));
	assert_memory_equal(rd.raw, mx, sizeof(mx));
	/* NS in authority: ns1 + pointer */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.section, DNS_SEC_AUTHORITY);
	assert_int_equal(rr.type, DNS_TYPE_NS);
	assert_int_equal(rr.rdata_len, 6);
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_true(dns_name_equal(&rd.u.name, &ns1));
	/* SOA: mname fully compressed onto the NS target */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.section, DNS_SEC_AUTHORITY);
	assert_int_equal(rr.type, DNS_TYPE_SOA);
	assert_string_equal(text_of(&rr.name, t), "ntk");
	assert_int_equal(rr.rdata_len, 2 + 8 + 20);
	assert_int_equal(dns_rr_rdata(&r, &rr, &rd), 0);
	assert_true(dns_name_equal(&rd.u.soa.mname, &ns1));
	assert_string_equal(text_of(&rd.u.soa.rname, t), "admin.web.ntk");
	assert_int_equal(rd.u.soa.serial, 1);
	assert_int_equal(rd.u.soa.minimum, 5);
	/* glue A, then our OPT */
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.section, DNS_SEC_ADDITIONAL);
	assert_int_equal(rr.type, DNS_TYPE_A);
	assert_int_equal(rr.rdata_len, 4);
	assert_true(dns_name_equal(&rr.name, &ns1));
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_OPT);
	assert_int_equal(dns_rr_next(&it, &rr), ANDNA_ENOTFOUND);
}

/* The answer echoes the client's letter case (0x20 randomisation). */
static void
test_response_echo_case(void **state)
{
	static const uint8_t a1[4] = {10, 1, 2, 3};
	struct dns_name lower = name_of("www.example.ntk");
	uint8_t buf[512];
	size_t len;
	struct dns_msg q, r;
	struct dns_builder b;
	struct dns_rr_iter it;
	struct dns_rr rr;
	char t[DNS_NAME_TEXT_MAX];

	(void)state;
	assert_int_equal(dns_query_parse(PKT(dig_case), &q), 0);
	assert_int_equal(dns_response_init(
			     &b, buf, sizeof(buf), dns_query_udp_limit(&q), &q),
	    0);
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ANSWER, &lower, 30, a1), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	/* the question section is the client's, byte for byte */
	assert_memory_equal(buf + 12, dig_case + 12, q.q.name.len + 4);
	parse_response(buf, len, &r);
	assert_int_equal(r.hdr.id, 0x71a9);
	assert_string_equal(r.q.text, "WwW.ExAmple.NTK");
	dns_rr_iter_init(&it, &r);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_string_equal(text_of(&rr.name, t), "WwW.ExAmple.NTK");
	assert_int_equal(buf[rr.rdata_off - 12], 0xc0);
	assert_int_equal(buf[rr.rdata_off - 11], 0x0c);
}

/* Flags, DO, CD and extended rcodes carried from query to response. */
static void
test_response_flags_rcode(void **state)
{
	uint8_t buf[512];
	size_t len;
	struct dns_msg q, r;
	struct dns_builder b;

	(void)state;
	/* BADVERS needs the OPT record for its upper bits */
	assert_int_equal(dns_query_parse(PKT(dig_dnssec), &q), 0);
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(dns_response_set_rcode(&b, 4096), ANDNA_EINVAL);
	assert_int_equal(dns_response_set_rcode(&b, DNS_RCODE_BADVERS), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	parse_response(buf, len, &r);
	assert_int_equal(r.hdr.rcode, 0);
	assert_int_equal(r.edns.ext_rcode, 1);
	assert_int_equal(r.rcode, DNS_RCODE_BADVERS);
	assert_true(r.edns.do_bit); /* DO copied (RFC 3225) */
	assert_false(r.hdr.cd);

	assert_int_equal(dns_query_parse(PKT(dig_cd), &q), 0);
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(dns_response_set_rcode(&b, DNS_RCODE_SERVFAIL), 0);
	dns_response_set_flag(&b, DNS_FLAG_RA, true);
	dns_response_set_flag(&b, DNS_FLAG_QR, false); /* not settable */
	assert_int_equal(dns_response_finish(&b, &len), 0);
	parse_response(buf, len, &r);
	assert_true(r.hdr.cd);
	assert_true(r.hdr.ra);
	assert_true(r.hdr.rd);
	assert_false(r.hdr.aa);
	assert_false(r.edns.do_bit);
	assert_int_equal(r.rcode, DNS_RCODE_SERVFAIL);

	/* without EDNS only 4 bits exist */
	assert_int_equal(dns_query_parse(PKT(kdig_a), &q), 0);
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(
	    dns_response_set_rcode(&b, DNS_RCODE_BADVERS), ANDNA_EINVAL);
	assert_int_equal(dns_response_set_rcode(&b, DNS_RCODE_REFUSED), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	parse_response(buf, len, &r);
	assert_false(r.edns.present);
	assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(len, sizeof(kdig_a));
}

/* FORMERR to a query without a question: same id, no question. */
static void
test_response_formerr(void **state)
{
	uint8_t pkt[sizeof(dig_a)], buf[512];
	size_t len;
	struct dns_msg q, r;
	struct dns_builder b;

	(void)state;
	memcpy(pkt, dig_a, sizeof(pkt));
	pkt[5] = 0; /* qdcount 0, arcount 0, and only the header */
	pkt[11] = 0;
	assert_int_equal(dns_query_parse(pkt, 12, &q), ANDNA_EDNS_QDCOUNT);
	assert_true(q.has_header);
	assert_false(q.has_question);
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(dns_response_set_rcode(&b, DNS_RCODE_FORMERR), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	assert_int_equal(len, 12);
	parse_response(buf, len, &r);
	assert_int_equal(r.hdr.id, 0x9c23);
	assert_int_equal(r.hdr.qdcount, 0);
	assert_int_equal(r.rcode, DNS_RCODE_FORMERR);

	/* a broken OPT: the question is still echoed, with no OPT */
	memcpy(pkt, dig_a, sizeof(pkt));
	pkt[sizeof(pkt) - 9] = 0x09; /* option length 9 > 8 left */
	assert_int_equal(dns_query_parse(PKT(pkt), &q), ANDNA_EDNS_OPT);
	assert_true(q.has_question);
	assert_false(q.edns.present);
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(dns_response_set_rcode(&b, DNS_RCODE_FORMERR), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	parse_response(buf, len, &r);
	assert_int_equal(r.hdr.qdcount, 1);
	assert_string_equal(r.q.text, "example.ntk");

	/* nothing to answer without a header, or without room */
	assert_int_equal(dns_query_parse(pkt, 11, &q), ANDNA_EDNS_SHORT);
	assert_int_equal(
	    dns_response_init(&b, buf, sizeof(buf), 512, &q), ANDNA_EINVAL);
	assert_int_equal(dns_query_parse(PKT(dig_a), &q), 0);
	assert_int_equal(dns_response_init(&b, buf, 12 + 17 + 10, 512, &q),
	    ANDNA_EDNS_NOSPACE);
	assert_int_equal(dns_response_init(&b, buf, 12 + 17 + 11, 512, &q), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	assert_int_equal(len, 12 + 17 + 11);
}

/* --- truncation --- */

/* Answers qpkt with n A records of example.ntk under limit. */
static size_t
build_many_a(const uint8_t *qpkt, size_t qlen, size_t limit, unsigned n,
    uint8_t *buf, size_t size, bool *truncated)
{
	struct dns_name owner = name_of("example.ntk");
	struct dns_builder b;
	struct dns_msg q;
	size_t len;

	assert_int_equal(dns_query_parse(qpkt, qlen, &q), 0);
	assert_int_equal(dns_response_init(&b, buf, size, limit, &q), 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t a[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
		assert_int_equal(
		    dns_response_add_a(&b, DNS_SEC_ANSWER, &owner, 60, a), 0);
	}
	*truncated = dns_response_truncated(&b);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	return len;
}

static void
test_truncation(void **state)
{
	static uint8_t buf[65535];
	struct dns_name qn = name_of("example.ntk");
	struct dns_query_spec spec = {.id = 1,
	    .qname = &qn,
	    .qtype = DNS_TYPE_A,
	    .qclass = DNS_CLASS_IN,
	    .edns_size = 4096};
	uint8_t q4096[64];
	size_t qlen, len;
	struct dns_msg q, r;
	bool tc;

	(void)state;
	/* 40 A records (16 octets each) do not fit in 512: the RRset goes,
	 * TC is set, the counts say what is there */
	assert_int_equal(dns_query_parse(PKT(dig_noedns), &q), 0);
	len = build_many_a(PKT(dig_noedns), dns_query_udp_limit(&q), 40, buf,
	    sizeof(buf), &tc);
	assert_true(tc);
	assert_true(len <= 512);
	parse_response(buf, len, &r);
	assert_true(r.hdr.tc);
	assert_int_equal(r.hdr.ancount, 0);
	assert_int_equal(r.hdr.qdcount, 1);
	assert_int_equal(len, 12 + 17);

	/* 30 fit: 12 + 17 + 30 * 16 = 509 */
	len = build_many_a(PKT(dig_noedns), 512, 30, buf, sizeof(buf), &tc);
	assert_false(tc);
	assert_int_equal(len, 509);
	parse_response(buf, len, &r);
	assert_false(r.hdr.tc);
	assert_int_equal(r.hdr.ancount, 30);

	/* EDNS 1232 from dig, a 512-octet buffer: the OPT still fits */
	len = build_many_a(PKT(dig_a), 1232, 40, buf, 512, &tc);
	assert_true(tc);
	assert_true(len <= 512);
	parse_response(buf, len, &r);
	assert_true(r.hdr.tc);
	assert_true(r.edns.present);
	assert_int_equal(r.hdr.arcount, 1);

	/* EDNS 4096: all 40 fit */
	assert_int_equal(
	    dns_query_build(&spec, q4096, sizeof(q4096), &qlen), 0);
	assert_int_equal(dns_query_parse(q4096, qlen, &q), 0);
	assert_int_equal(dns_query_udp_limit(&q), 4096);
	len = build_many_a(
	    q4096, qlen, dns_query_udp_limit(&q), 40, buf, sizeof(buf), &tc);
	assert_false(tc);
	assert_int_equal(len, 12 + 17 + 40 * 16 + 11);
	parse_response(buf, len, &r);
	assert_false(r.hdr.tc);
	assert_int_equal(r.hdr.ancount, 40);
	assert_int_equal(r.hdr.arcount, 1);

	/* TCP: all 40 fit even for a query without EDNS, and 4000 too */
	len = build_many_a(
	    PKT(dig_noedns), DNS_TCP_LIMIT, 40, buf, sizeof(buf), &tc);
	assert_false(tc);
	parse_response(buf, len, &r);
	assert_int_equal(r.hdr.ancount, 40);
	len = build_many_a(
	    PKT(dig_noedns), DNS_TCP_LIMIT, 4000, buf, sizeof(buf), &tc);
	assert_false(tc);
	assert_int_equal(len, 12 + 17 + 4000 * 16);
	parse_response(buf, len, &r);
	assert_int_equal(r.hdr.ancount, 4000);
	/* and 4096 records overflow even TCP */
	len = build_many_a(
	    PKT(dig_noedns), DNS_TCP_LIMIT, 4096, buf, sizeof(buf), &tc);
	assert_true(tc);
	parse_response(buf, len, &r);
	assert_int_equal(r.hdr.ancount, 0);

	/* edns udp_size below 512 counts as 512 */
	spec.edns_size = 100;
	assert_int_equal(
	    dns_query_build(&spec, q4096, sizeof(q4096), &qlen), 0);
	assert_int_equal(dns_query_parse(q4096, qlen, &q), 0);
	assert_int_equal(dns_query_udp_limit(&q), 512);
}

/* A COOKIE option in the OPT record: room kept for it as records are
 * added, written last, read back by dns_edns_option(); refused without
 * EDNS, twice, or of a bad length. */
static void
test_response_cookie(void **state)
{
	static uint8_t buf[1232];
	uint8_t ck[DNS_COOKIE_MAX];
	const uint8_t *data;
	uint16_t olen;
	uint8_t a[4] = {192, 0, 2, 1};
	struct dns_builder b;
	struct dns_msg q, r;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(ck); i++)
		ck[i] = (uint8_t)(0xa0 + i);
	/* without EDNS there is no OPT record to hold it */
	assert_int_equal(dns_query_parse(PKT(dig_noedns), &q), 0);
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(dns_response_set_cookie(&b, ck, 24), ANDNA_EINVAL);

	assert_int_equal(dns_query_parse(PKT(dig_a), &q), 0);
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(dns_response_set_cookie(&b, ck, 7), ANDNA_EINVAL);
	assert_int_equal(dns_response_set_cookie(&b, ck, 41), ANDNA_EINVAL);
	assert_int_equal(dns_response_set_cookie(&b, ck, 24), 0);
	assert_int_equal(dns_response_set_cookie(&b, ck, 24), ANDNA_EINVAL);
	/* 40 A records overflow 512 octets: the RRset goes, the cookie
	 * stays (dig's query holds a client cookie of 8, ours is 24) */
	for (int i = 0; i < 40; i++)
		assert_int_equal(
		    dns_response_add_a(&b, DNS_SEC_ANSWER, &q.q.name, 60, a),
		    0);
	assert_true(dns_response_truncated(&b));
	assert_int_equal(dns_response_finish(&b, &len), 0);
	assert_int_equal(len, q.len + 16);
	parse_response(buf, len, &r);
	assert_true(r.hdr.tc);
	assert_int_equal(r.edns.noptions, 1);
	assert_int_equal(dns_edns_option(&r, DNS_EDNS_COOKIE, &data, &olen), 0);
	assert_int_equal(olen, 24);
	assert_memory_equal(data, ck, 24);

	/* a buffer with room for the header, question and OPT only */
	assert_int_equal(
	    dns_response_init(&b, buf, sizeof(buf), q.len + DNS_OPT_LEN, &q),
	    0);
	assert_int_equal(
	    dns_response_set_cookie(&b, ck, 40), ANDNA_EDNS_NOSPACE);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	parse_response(buf, len, &r);
	assert_int_equal(r.edns.noptions, 0);
}

/* Whole RRsets go: what came before stays, additional data is optional. */
static void
test_truncation_rrsets(void **state)
{
	static const uint8_t a6[16] = {0xfd};
	struct dns_name web = name_of("web.ntk"),
			alias = name_of("Example.NTK");
	struct dns_name other = name_of("other.ntk");
	uint8_t buf[512], a[4] = {10, 0, 0, 0};
	size_t len;
	struct dns_msg q, r;
	struct dns_builder b;
	struct dns_rr_iter it;
	struct dns_rr rr;

	(void)state;
	assert_int_equal(dns_query_parse(PKT(dig_noedns), &q), 0);

	/* CNAME fits, then the 40 A of its target do not */
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(
	    dns_response_add_cname(&b, DNS_SEC_ANSWER, &alias, 60, &web), 0);
	for (int i = 0; i < 40; i++) {
		a[3] = (uint8_t)i;
		assert_int_equal(
		    dns_response_add_a(&b, DNS_SEC_ANSWER, &web, 60, a), 0);
	}
	assert_true(dns_response_truncated(&b));
	/* nothing gets in after truncation, not even small records */
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ADDITIONAL, &other, 60, a), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	parse_response(buf, len, &r);
	assert_true(r.hdr.tc);
	assert_int_equal(r.hdr.ancount, 1);
	assert_int_equal(r.hdr.arcount, 0);
	dns_rr_iter_init(&it, &r);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_CNAME);

	/* authority overflowing sets TC too */
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ANSWER, &alias, 60, a), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(
		    dns_response_add_ns(&b, DNS_SEC_AUTHORITY, &web, 60, &web),
		    0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	parse_response(buf, len, &r);
	assert_true(r.hdr.tc);
	assert_int_equal(r.hdr.ancount, 1);
	assert_int_equal(r.hdr.nscount, 0);

	/* an additional RRset that does not fit is left out without TC, and a
	 * smaller one after it still gets in */
	assert_int_equal(dns_response_init(&b, buf, sizeof(buf), 512, &q), 0);
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ANSWER, &alias, 60, a), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(
		    dns_response_add_aaaa(&b, DNS_SEC_ADDITIONAL, &web, 60, a6),
		    0);
	assert_false(dns_response_truncated(&b));
	assert_int_equal(
	    dns_response_add_a(&b, DNS_SEC_ADDITIONAL, &other, 60, a), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	parse_response(buf, len, &r);
	assert_false(r.hdr.tc);
	assert_int_equal(r.hdr.ancount, 1);
	assert_int_equal(r.hdr.arcount, 1);
	dns_rr_iter_init(&it, &r);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_true(dns_name_equal(&rr.name, &other));
}

/* Past 16 KiB names cannot be pointer targets; compression stays right. */
static void
test_compression_far(void **state)
{
	static uint8_t buf[65535], filler[17000];
	struct dns_name owner = name_of("example.ntk");
	uint8_t a[4] = {10, 0, 0, 0};
	char text[64];
	size_t len;
	struct dns_msg q, r;
	struct dns_builder b;
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_name n;

	(void)state;
	assert_int_equal(dns_query_parse(PKT(dig_noedns), &q), 0);
	assert_int_equal(
	    dns_response_init(&b, buf, sizeof(buf), DNS_TCP_LIMIT, &q), 0);
	/* a big record first, so most names land beyond 0x4000 */
	assert_int_equal(dns_response_add_txt(&b, DNS_SEC_ANSWER, &owner, 60,
			     filler, sizeof(filler)),
	    0);
	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "h%d.sub%d.example.ntk", i, i % 7);
		n = name_of(text);
		assert_int_equal(
		    dns_response_add_a(&b, DNS_SEC_ANSWER, &n, 60, a), 0);
	}
	assert_false(dns_response_truncated(&b));
	assert_int_equal(dns_response_finish(&b, &len), 0);
	assert_true(len > 0x4000);
	parse_response(buf, len, &r);
	assert_int_equal(r.hdr.ancount, 1001);
	dns_rr_iter_init(&it, &r);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_TXT);
	for (int i = 0; i < 1000; i++) {
		char t[DNS_NAME_TEXT_MAX];
		assert_int_equal(dns_rr_next(&it, &rr), 0);
		snprintf(text, sizeof(text), "h%d.sub%d.example.ntk", i, i % 7);
		assert_string_equal(text_of(&rr.name, t), text);
	}
}

/* --- malformed packets, one code each --- */

/* Header: id 0x4242, RD, with the given counts. */
static size_t
hdr(uint8_t *p, int qd, int an, int ns, int ar)
{
	const uint8_t h[12] = {0x42, 0x42, 0x01, 0x00, 0, (uint8_t)qd, 0,
	    (uint8_t)an, 0, (uint8_t)ns, 0, (uint8_t)ar};

	memcpy(p, h, 12);
	return 12;
}

static size_t
put(uint8_t *p, size_t off, const void *src, size_t n)
{
	memcpy(p + off, src, n);
	return off + n;
}

static const uint8_t q_a_in[] = {0, 1, 0, 1}; /* qtype A, class IN */
static const uint8_t ex_ntk[] = {2, 'e', 'x', 3, 'n', 't', 'k', 0};

static int
parse_q(const uint8_t *p, size_t len)
{
	struct dns_msg m;
	int rc = dns_query_parse(p, len, &m);

	if (len >= 12)
		assert_true(m.has_header);
	if (m.has_header)
		assert_int_equal(m.hdr.id, len >= 2 ? 0x4242 : 0);
	return rc;
}

static void
test_malformed_header_counts(void **state)
{
	static const uint8_t rr_a[] = {
	    0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4};
	uint8_t p[256];
	size_t n;
	struct dns_msg m;

	(void)state;
	hdr(p, 1, 0, 0, 0);
	for (n = 0; n < 12; n++) {
		assert_int_equal(dns_query_parse(p, n, &m), ANDNA_EDNS_SHORT);
		assert_false(m.has_header);
	}
	assert_int_equal(dns_query_parse(NULL, 0, &m), ANDNA_EINVAL);
	assert_int_equal(dns_msg_parse(p, 12, NULL), ANDNA_EINVAL);

	/* qdcount 0: well formed, but not a query we can answer */
	n = hdr(p, 0, 0, 0, 0);
	assert_int_equal(dns_msg_parse(p, n, &m), 0);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_QDCOUNT);
	/* qdcount 2 with two questions */
	n = hdr(p, 2, 0, 0, 0);
	n = put(p, n, ex_ntk, sizeof(ex_ntk));
	n = put(p, n, q_a_in, 4);
	n = put(p, n, ex_ntk, sizeof(ex_ntk));
	n = put(p, n, q_a_in, 4);
	assert_int_equal(dns_msg_parse(p, n, &m), 0);
	assert_true(m.has_question);
	assert_string_equal(m.q.text, "ex.ntk");
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_QDCOUNT);
	/* a response is not a query */
	p[2] |= 0x80;
	assert_int_equal(dns_msg_parse(p, n, &m), 0);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_NOT_QUERY);
	assert_int_equal(parse_q(p, 12), ANDNA_EDNS_NOT_QUERY);

	/* counts that promise more than the packet has */
	n = hdr(p, 2, 0, 0, 0);
	n = put(p, n, ex_ntk, sizeof(ex_ntk));
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_COUNTS);
	n = hdr(p, 1, 1, 0, 0);
	n = put(p, n, ex_ntk, sizeof(ex_ntk));
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_COUNTS);
	n = put(p, n, rr_a, sizeof(rr_a));
	assert_int_equal(parse_q(p, n), 0);
	assert_int_equal(parse_q(p, n - 1), ANDNA_EDNS_SHORT);	/* in rdata */
	assert_int_equal(parse_q(p, n - 5), ANDNA_EDNS_SHORT);	/* rdlength */
	assert_int_equal(parse_q(p, n - 13), ANDNA_EDNS_SHORT); /* type */
	assert_int_equal(parse_q(p, n - 15), ANDNA_EDNS_SHORT); /* pointer */
	p[5] = 0; /* qdcount 0: the question reads as a record */
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_TRAILING);
	p[5] = 1;
	p[7] = 0; /* ancount 0 while an answer follows */
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_TRAILING);
	p[7] = 2;
	p[9] = 1;
	p[11] = 1;
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_COUNTS);
	p[7] = 1;
	p[9] = 0;
	p[11] = 0;
	/* trailing garbage after a good packet */
	p[n] = 0;
	assert_int_equal(parse_q(p, n + 1), ANDNA_EDNS_TRAILING);
	assert_int_equal(
	    dns_query_parse(dig_a, sizeof(dig_a) - 1, &m), ANDNA_EDNS_SHORT);
	memcpy(p, dig_noedns, sizeof(dig_noedns));
	memcpy(p + sizeof(dig_noedns), "junk", 4);
	assert_int_equal(dns_query_parse(p, sizeof(dig_noedns) + 4, &m),
	    ANDNA_EDNS_TRAILING);
	assert_true(m.has_question); /* FORMERR can echo it */
	assert_int_equal(m.hdr.id, 0x0821);
}

static void
test_malformed_names(void **state)
{
	uint8_t p[1024];
	size_t n;
	struct dns_msg m;

	(void)state;
	/* pointer to itself */
	n = hdr(p, 1, 0, 0, 0);
	n = put(p, n, "\xc0\x0c", 2);
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_PTR_LOOP);
	/* pointer back to the start of its own name */
	n = hdr(p, 1, 0, 0, 0);
	n = put(p, n,
	    "\x01"
	    "a\xc0\x0c",
	    4);
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_PTR_LOOP);
	/* two pointers to each other */
	n = hdr(p, 1, 0, 0, 0);
	n = put(p, n, "\xc0\x0e\xc0\x0c", 4);
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_PTR_LOOP);
	/* forward pointer, to a good name further on */
	n = hdr(p, 1, 0, 0, 0);
	n = put(p, n, "\xc0\x12", 2);
	n = put(p, n, q_a_in, 4);
	n = put(p, n, ex_ntk, sizeof(ex_ntk));
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_PTR_LOOP);
	/* pointer cut in half, pointer past the end */
	n = hdr(p, 1, 0, 0, 0);
	n = put(p, n, "\xc0", 1);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_SHORT);
	/* a label cut short, and a name without its root label */
	n = hdr(p, 1, 0, 0, 0);
	n = put(p, n,
	    "\x05"
	    "ab",
	    3);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_SHORT);
	n = hdr(p, 1, 0, 0, 0);
	n = put(p, n,
	    "\x02"
	    "ab",
	    3);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_SHORT);

	/* a 64-octet label: its length octet 0x40 is the reserved 01 type,
	 * so on the wire it is a label type error (EDNS_LABEL is for text) */
	n = hdr(p, 1, 0, 0, 0);
	p[n++] = 64;
	memset(p + n, 'x', 64);
	n += 64;
	p[n++] = 0;
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_LABEL_TYPE);
	p[12] = 63; /* now the 64th 'x' (0x78) reads as a 01-type length */
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_LABEL_TYPE);
	/* the reserved 10 type */
	n = hdr(p, 1, 0, 0, 0);
	n = put(p, n, "\x80\x00", 2);
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_LABEL_TYPE);

	/* longer than 255 octets: 63.63.63.63 is 257 on the wire */
	n = hdr(p, 1, 0, 0, 0);
	for (int i = 0; i < 4; i++) {
		p[n++] = 63;
		memset(p + n, 'y', 63);
		n += 63;
	}
	p[n++] = 0;
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_NAME_LONG);
	/* 63.63.63.62 is 256 */
	n = hdr(p, 1, 0, 0, 0) + 3 * 64;
	p[n++] = 62;
	memset(p + n, 'y', 62);
	n += 62;
	p[n++] = 0;
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_NAME_LONG);
	/* 63.63.63.61 is 255: the longest name */
	n = hdr(p, 1, 0, 0, 0) + 3 * 64;
	p[n++] = 61;
	memset(p + n, 'y', 61);
	n += 61;
	p[n++] = 0;
	n = put(p, n, q_a_in, 4);
	assert_int_equal(parse_q(p, n), 0);
	assert_int_equal(dns_query_parse(p, n, &m), 0);
	assert_int_equal(m.q.name.len, 255);

	/* too long through compression: an answer prepends 2 octets */
	p[7] = 1;
	n = put(p, n, "\x01z\xc0\x0c\x00\x01\x00\x01\0\0\0\0\0\0", 14);
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_NAME_LONG);
}

/* 120 pointers to pointers are fine, 128 too many. */
static void
test_malformed_pointer_chain(void **state)
{
	uint8_t p[1024];
	size_t n, chain, last;
	struct dns_msg m;
	struct dns_rr_iter it;
	struct dns_rr rr;
	char t[DNS_NAME_TEXT_MAX];

	(void)state;
	for (int hops = 120; hops <= 128; hops += 8) {
		n = hdr(p, 1, 2, 0, 0);
		n = put(p, n,
		    "\x01"
		    "a\x00",
		    3);
		n = put(p, n, q_a_in, 4);
		/* first record: root owner, its rdata a chain of pointers,
		 * each to the one before, the first to the question */
		n = put(p, n, "\x00\xff\x00\x00\x01\0\0\0\0", 9);
		p[n++] = (uint8_t)((2 * (hops - 1)) >> 8);
		p[n++] = (uint8_t)(2 * (hops - 1));
		chain = n;
		for (int i = 0; i < hops - 1; i++) {
			size_t to = i == 0 ? 12 : chain + 2 * (size_t)(i - 1);
			p[n++] = (uint8_t)(0xc0 | to >> 8);
			p[n++] = (uint8_t)to;
		}
		/* second record: owner points at the last link */
		last = chain + 2 * (size_t)(hops - 2);
		p[n++] = (uint8_t)(0xc0 | last >> 8);
		p[n++] = (uint8_t)last;
		n = put(p, n, "\x00\x01\x00\x01\0\0\0\0\0\0", 10);
		if (hops == 120) {
			assert_int_equal(dns_query_parse(p, n, &m), 0);
			dns_rr_iter_init(&it, &m);
			assert_int_equal(dns_rr_next(&it, &rr), 0);
			assert_int_equal(dns_rr_next(&it, &rr), 0);
			assert_string_equal(text_of(&rr.name, t), "a");
		} else
			assert_int_equal(parse_q(p, n), ANDNA_EDNS_PTR_HOPS);
	}
}

static void
test_malformed_opt(void **state)
{
	static const uint8_t opt[] = {
	    0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 0};
	uint8_t p[256];
	size_t n, base;

	(void)state;
	n = hdr(p, 1, 0, 0, 1);
	n = put(p, n, ex_ntk, sizeof(ex_ntk));
	base = n = put(p, n, q_a_in, 4);
	n = put(p, n, opt, sizeof(opt));
	assert_int_equal(parse_q(p, n), 0);
	/* two OPT records */
	p[11] = 2;
	n = put(p, n, opt, sizeof(opt));
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_OPT_DUP);
	/* an option longer than the record */
	p[11] = 1;
	n = put(p, base, opt, sizeof(opt));
	p[n - 1] = 1;
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_OPT);
	/* an option header cut short */
	p[n - 1] = 0;
	p[base + 10] = 3;
	assert_int_equal(parse_q(p, n - 1), ANDNA_EDNS_OPT);
	p[base + 10] = 4;
	/* an OPT owned by another name than the root */
	p[base] = 0xc0;
	p[base + 1] = 12;
	memmove(p + base + 2, opt + 1, sizeof(opt) - 1);
	assert_int_equal(parse_q(p, base + sizeof(opt) + 1), ANDNA_EDNS_OPT);
	/* an OPT in the answer section */
	n = hdr(p, 1, 1, 0, 0);
	n = put(p, n, ex_ntk, sizeof(ex_ntk));
	n = put(p, n, q_a_in, 4);
	n = put(p, n, opt, sizeof(opt));
	assert_int_equal(parse_q(p, n), ANDNA_EDNS_OPT);
}

static void
test_malformed_rdata(void **state)
{
	uint8_t p[256];
	size_t n, rd;
	struct dns_msg m;
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_rdata out;

	(void)state;
	struct {
		uint16_t type;
		const char *rdata;
		size_t len;
	} bad[] = {
	    {DNS_TYPE_A, "\x01\x02\x03", 3},
	    {DNS_TYPE_A, "\x01\x02\x03\x04\x05", 5},
	    {DNS_TYPE_AAAA, "\x01\x02\x03\x04", 4},
	    {DNS_TYPE_NS,
		"\x03"
		"ab",
		3}, /* runs past the rdata */
	    {DNS_TYPE_CNAME,
		"\x01"
		"a\x00\x00",
		4}, /* a byte too many */
	    {DNS_TYPE_PTR, "", 0},
	    {DNS_TYPE_SOA, "\x00\x00\0\0\0\x01", 6},
	    {DNS_TYPE_SRV, "\0\x01\0\x02\0", 5},
	    {DNS_TYPE_TXT,
		"\x05"
		"abc",
		4},
	    {DNS_TYPE_TXT, "", 0},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = hdr(p, 1, 1, 0, 0);
		p[2] |= 0x80;
		n = put(p, n, ex_ntk, sizeof(ex_ntk));
		n = put(p, n, q_a_in, 4);
		n = put(p, n, "\xc0\x0c", 2);
		p[n++] = (uint8_t)(bad[i].type >> 8);
		p[n++] = (uint8_t)bad[i].type;
		n = put(p, n, "\x00\x01\x00\x00\x00\x3c\x00", 7);
		p[n++] = (uint8_t)bad[i].len;
		rd = n;
		n = put(p, n, bad[i].rdata, bad[i].len);
		assert_int_equal(dns_msg_parse(p, n, &m), 0);
		dns_rr_iter_init(&it, &m);
		assert_int_equal(dns_rr_next(&it, &rr), 0);
		assert_int_equal(rr.rdata_off, rd);
		assert_int_equal(dns_rr_rdata(&m, &rr, &out), ANDNA_EDNS_RDATA);
		assert_int_equal(out.u.a[0], 0);
	}
	/* a name in rdata with a forward pointer */
	n = hdr(p, 1, 1, 0, 0);
	n = put(p, n, ex_ntk, sizeof(ex_ntk));
	n = put(p, n, q_a_in, 4);
	n = put(p, n, "\xc0\x0c\x00\x02\x00\x01\0\0\0\0\0\x02\xc0\x30", 14);
	assert_int_equal(dns_msg_parse(p, n, &m), 0);
	dns_rr_iter_init(&it, &m);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(dns_rr_rdata(&m, &rr, &out), ANDNA_EDNS_PTR_LOOP);
	assert_int_equal(dns_rr_next(&it, &rr), ANDNA_ENOTFOUND);
}

/* --- mutation loop --- */

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Whatever pkt is, parsing returns cleanly; what parses can be walked,
 * decoded and answered, and the answer parses. */
static int
exercise(const uint8_t *pkt, size_t len, uint64_t *seed)
{
	static const uint8_t a[4] = {10, 0, 0, 1};
	uint8_t out[2048];
	struct dns_msg m, r;
	struct dns_builder b;
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_rdata rd;
	struct dns_name host = name_of("host.ntk");
	size_t olen, limit;
	unsigned n = 0;
	int rc;

	if (dns_msg_parse(pkt, len, &m) == 0) {
		dns_rr_iter_init(&it, &m);
		while (dns_rr_next(&it, &rr) == 0) {
			(void)dns_rr_rdata(&m, &rr, &rd);
			n++;
		}
		assert_int_equal(
		    n, m.hdr.ancount + m.hdr.nscount + m.hdr.arcount);
	}
	rc = dns_query_parse(pkt, len, &m);
	if (rc != 0 && (!m.has_header || rc == ANDNA_EDNS_NOT_QUERY))
		return rc;
	limit = 12 + rnd(seed) % sizeof(out);
	if (dns_response_init(&b, out, sizeof(out), limit, &m) != 0)
		return rc;
	if (rc == 0) {
		assert_int_equal(
		    dns_response_add_a(&b, DNS_SEC_ANSWER, &m.q.name, 60, a),
		    0);
		assert_int_equal(dns_response_add_cname(
				     &b, DNS_SEC_ANSWER, &host, 60, &m.q.name),
		    0);
		assert_int_equal(
		    dns_response_add_a(&b, DNS_SEC_ADDITIONAL, &host, 60, a),
		    0);
	} else
		assert_int_equal(dns_response_set_rcode(&b, 1), 0);
	assert_int_equal(dns_response_finish(&b, &olen), 0);
	assert_true(olen <= limit);
	assert_int_equal(dns_msg_parse(out, olen, &r), 0);
	assert_int_equal(r.hdr.id, m.hdr.id);
	return rc;
}

static void
test_mutations(void **state)
{
	uint8_t p[600];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned parsed = 0, runs = 0;

	(void)state;
	for (size_t c = 0; c < NCAPTURED; c++) {
		const uint8_t *orig = captured[c].pkt;
		size_t len = captured[c].len;

		assert_int_equal(exercise(orig, len, &seed), 0);
		/* every strict prefix fails */
		for (size_t n = 0; n < len; n++) {
			memcpy(p, orig, n);
			assert_int_not_equal(exercise(p, n, &seed), 0);
		}
		/* any suffix is trailing garbage */
		memcpy(p, orig, len);
		for (size_t n = 1; n < 64; n++) {
			p[len + n - 1] = (uint8_t)rnd(&seed);
			assert_int_equal(
			    exercise(p, len + n, &seed), ANDNA_EDNS_TRAILING);
		}
		/* every single bit flipped */
		for (size_t bit = 0; bit < len * 8; bit++) {
			memcpy(p, orig, len);
			p[bit / 8] ^= (uint8_t)(1u << bit % 8);
			parsed += exercise(p, len, &seed) == 0;
			runs++;
		}
		/* thousands of multi-bit flips and byte stores, cut anywhere */
		for (int k = 0; k < 3000; k++) {
			size_t n = len;
			memcpy(p, orig, len);
			for (int f = 1 + (int)(rnd(&seed) % 4); f > 0; f--) {
				size_t at = rnd(&seed) % len;
				if (rnd(&seed) & 1)
					p[at] ^=
					    (uint8_t)(1u << rnd(&seed) % 8);
				else
					p[at] = (uint8_t)rnd(&seed);
			}
			if (rnd(&seed) % 4 == 0)
				n = rnd(&seed) % (len + 1);
			parsed += exercise(p, n, &seed) == 0;
			runs++;
		}
	}
	/* random bytes, then random bytes after a valid header */
	for (int k = 0; k < 20000; k++) {
		size_t n = rnd(&seed) % sizeof(p);
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)rnd(&seed);
		if (k % 2 == 1 && n >= 12) {
			memcpy(p, dig_a, 12);
			p[5] = (uint8_t)(rnd(&seed) % 3);
			p[7] = (uint8_t)(rnd(&seed) % 3);
			p[11] = (uint8_t)(rnd(&seed) % 3);
		}
		parsed += exercise(p, n, &seed) == 0;
		runs++;
	}
	/* the mutants did reach the deep parts as well as the errors */
	assert_true(parsed > 100);
	assert_true(parsed < runs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kat_queries),
	    cmocka_unit_test(test_kat_edns_options),
	    cmocka_unit_test(test_query_build),
	    cmocka_unit_test(test_id_helpers),
	    cmocka_unit_test(test_name_text),
	    cmocka_unit_test(test_response_bytes),
	    cmocka_unit_test(test_response_nxdomain_soa),
	    cmocka_unit_test(test_response_roundtrip),
	    cmocka_unit_test(test_response_echo_case),
	    cmocka_unit_test(test_response_flags_rcode),
	    cmocka_unit_test(test_response_formerr),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_response_cookie),
	    cmocka_unit_test(test_truncation_rrsets),
	    cmocka_unit_test(test_compression_far),
	    cmocka_unit_test(test_malformed_header_counts),
	    cmocka_unit_test(test_malformed_names),
	    cmocka_unit_test(test_malformed_pointer_chain),
	    cmocka_unit_test(test_malformed_opt),
	    cmocka_unit_test(test_malformed_rdata),
	    cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
