/* libFuzzer target for the DNS wire format: parse the input as a query (and
 * as any message, walking and decoding its records); when it is a query,
 * answer it with a few records under a limit taken from the input, and the
 * answer must parse back.  Seeds: tests/fuzz/corpus/dns/ (real dig and kdig
 * queries). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/dns.h"
#include "proto/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks and decodes every record of a parsed message. */
static void
walk(const struct dns_msg *m)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_rdata rd;
	unsigned n = 0;
	char text[DNS_NAME_TEXT_MAX];

	dns_rr_iter_init(&it, m);
	while (dns_rr_next(&it, &rr) == 0) {
		if (dns_name_to_text(&rr.name, text, sizeof(text)) != 0)
			abort();
		(void)dns_rr_rdata(m, &rr, &rd);
		n++;
	}
	if (n != (unsigned)m->hdr.ancount + m->hdr.nscount + m->hdr.arcount)
		abort();
}

/* Answers query into out under limit; returns the response length. */
static size_t
answer(const struct dns_msg *q, int rc, uint8_t *out, size_t size, size_t limit,
    unsigned nrec)
{
	static const uint8_t a4[4] = {10, 0, 0, 1};
	static const uint8_t a6[16] = {
	    0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct dns_builder b;
	struct dns_name host, zone;
	struct dns_srv srv = {.priority = 1, .weight = 2, .port = 3};
	struct dns_soa soa = {.serial = 1, .minimum = 60};
	size_t len;

	if (dns_name_from_text("host.ntk", &host) != 0 ||
	    dns_name_from_text("ntk", &zone) != 0)
		abort();
	srv.target = host;
	soa.mname = host;
	soa.rname = q->has_question ? q->q.name : host;
	if (dns_response_init(&b, out, size, limit, q) != 0)
		return 0;
	if (rc != 0) {
		if (dns_response_set_rcode(&b, DNS_RCODE_FORMERR) != 0)
			abort();
	} else {
		for (unsigned i = 0; i < nrec; i++)
			if (dns_response_add_a(
				&b, DNS_SEC_ANSWER, &q->q.name, 60, a4) != 0)
				abort();
		if (dns_response_add_cname(
			&b, DNS_SEC_ANSWER, &host, 60, &q->q.name) != 0 ||
		    dns_response_add_srv(
			&b, DNS_SEC_ANSWER, &q->q.name, 60, &srv) != 0 ||
		    dns_response_add_soa(
			&b, DNS_SEC_AUTHORITY, &zone, 60, &soa) != 0 ||
		    dns_response_add_aaaa(
			&b, DNS_SEC_ADDITIONAL, &host, 60, a6) != 0)
			abort();
	}
	if (dns_response_finish(&b, &len) != 0 || len > limit || len > size)
		abort();
	return len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_TCP_LIMIT];
	struct dns_msg q, r;
	size_t limit, len;
	int rc;

	if (dns_msg_parse(data, size, &q) == 0)
		walk(&q);
	rc = dns_query_parse(data, size, &q);
	if (!q.has_header || rc == ANDNA_EDNS_NOT_QUERY)
		return 0;
	/* a random-ish limit from the id: from 12 octets to TCP */
	limit = q.hdr.id % 4 == 0 ? DNS_TCP_LIMIT
				  : DNS_HEADER_LEN + q.hdr.id % 1400;
	len = answer(&q, rc, out, sizeof(out), limit, 1 + q.hdr.id % 64);
	if (len == 0)
		return 0;
	if (dns_msg_parse(out, len, &r) != 0 || r.hdr.id != q.hdr.id ||
	    !r.hdr.qr)
		abort();
	walk(&r);
	return 0;
}
