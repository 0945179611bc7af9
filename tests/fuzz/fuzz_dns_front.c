/* libFuzzer target for the DNS front's query-to-answer path.  The input is
 * one message from a client, sent to a real front on 127.0.0.1 (over TCP,
 * length-prefixed, when the top bit of its id is set; else over UDP).  The
 * front's overlay is a fixed set of records answered at once: hosts, SRV
 * entries, a CNAME chain and a loop, 40 addresses, a released name, a
 * failing lookup, reverse names.  Each input is sent twice, so the second
 * copy is answered from the outcome the front kept; then the front forgets
 * it, so one input never leans on another.
 *
 * Every answer must parse (records and rdata), carry the query's id with
 * QR set, echo the question exactly as the client wrote it, fit 512 bytes
 * over UDP without EDNS and 1232 with it, never weigh more than
 * DNS_AMP_MAX times the query over UDP, and set TC only over UDP.  A
 * query with a header that is not a response must be answered; anything
 * else must not be.  Seeds: tests/fuzz/corpus/dns_front/ and
 * tests/fuzz/corpus/dns/. */
#include "config.h"

#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/dns/dns_cookie.h"
#include "node/dns/dns_front.h"
#include "proto/err.h"
#include "tests/dns_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WAIT_MS 5000 /* for the front to take a query: longer is a bug */

static struct event_base *base;
static struct dns_front *front;
static struct endpoint at;
static int udp = -1, tcp = -1;
static struct record *recs[8];
static int n_recs;
static uint8_t ans[65536];

/* An entry of service svc (IP or name target). */
static struct record_entry
ent(uint16_t svc, uint8_t proto, uint16_t prio, uint16_t weight,
    const char *target)
{
	struct record_entry e;

	memset(&e, 0, sizeof(e));
	e.service = svc;
	e.proto = proto;
	e.priority = prio;
	e.weight = weight;
	if (inet_pton(AF_INET, target, e.target.ip) == 1)
		e.kind = RECORD_TARGET_IPV4;
	else if (inet_pton(AF_INET6, target, e.target.ip) == 1)
		e.kind = RECORD_TARGET_IPV6;
	else {
		e.kind = RECORD_TARGET_NAME;
		strcpy(e.target.name, target);
	}
	return e;
}

/* Adds the record name with its n entries to the fake overlay. */
static struct record *
add(const char *name, const struct record_entry *e, int n)
{
	static const uint8_t owner[ANDNA_PK_LEN];
	struct record *rec;

	if (record_new(name, owner, 1, &rec) != 0)
		abort();
	for (int i = 0; i < n; i++)
		if (record_add_entry(rec, &e[i]) != 0)
			abort();
	recs[n_recs++] = rec;
	return rec;
}

static void
load_records(void)
{
	const struct record_entry web[] = {
	    ent(0, RECORD_PROTO_NONE, 0, 1, "10.0.0.1"),
	    ent(0, RECORD_PROTO_NONE, 0, 1, "10.0.0.2"),
	    ent(0, RECORD_PROTO_NONE, 1, 1, "10.0.0.3"),
	    ent(0, RECORD_PROTO_NONE, 0, 1, "fd00::1"),
	    ent(443, RECORD_PROTO_TCP, 0, 3, "10.0.0.5"),
	    ent(443, RECORD_PROTO_TCP, 0, 1, "fd00::5"),
	    ent(443, RECORD_PROTO_NONE, 1, 0, "www.foo"),
	    ent(8080, RECORD_PROTO_UDP, 0, 1, "10.0.0.6"),
	};
	const struct record_entry www[] = {ent(0, 0, 0, 1, "192.0.2.50")};
	const struct record_entry alias[] = {ent(0, 0, 0, 1, "web")};
	const struct record_entry loop1[] = {ent(0, 0, 0, 1, "loop2")};
	const struct record_entry loop2[] = {ent(0, 0, 0, 1, "loop1")};
	const struct record_entry weighted[] = {
	    ent(0, 0, 0, 3, "10.1.0.1"), ent(0, 0, 0, 1, "10.1.0.2")};
	struct record *big;

	add("web", web, 8);
	add("www.foo", www, 1);
	add("alias", alias, 1);
	add("loop1", loop1, 1);
	add("loop2", loop2, 1);
	add("weighted", weighted, 2);
	add("released", NULL, 0);
	/* 40 addresses: more than record_add_entry() takes for a service,
	 * as a front must cope with any record the overlay hands it */
	big = add("big", NULL, 0);
	if ((big->entries = calloc(40, sizeof(big->entries[0]))) == NULL)
		abort();
	for (int i = 0; i < 40; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.2.%d.%d", i / 10, i % 10 + 1);
		big->entries[i] = ent(0, 0, 0, 1, ip);
	}
	big->n_entries = 40;
}

/* The overlay: every outcome at once.  "slow" times out; "broken" makes
 * the call itself fail. */
static int
fake_resolve(void *ctx, const char *name, dns_resolve_cb cb, void *arg)
{
	for (int i = 0; i < n_recs; i++) {
		if (strcmp(recs[i]->name, name) == 0) {
			cb(arg, 0, recs[i], 60);
			return 0;
		}
	}
	if (strcmp(name, "broken") == 0)
		return ANDNA_ENOMEM;
	if (strcmp(name, "slow") == 0)
		cb(arg, ANDNA_ETIMEOUT, NULL, 0);
	else
		cb(arg, ANDNA_ENOTFOUND, NULL, 30);
	return 0;
}

/* 192.0.2.1 holds web and www.foo; 192.0.2.2 does not answer (then the
 * query is forwarded: REFUSED, there is no upstream); others hold none. */
static int
fake_reverse(void *ctx, const struct endpoint *ip, dns_reverse_cb cb, void *arg)
{
	static const uint8_t one[4] = {192, 0, 2, 1}, two[4] = {192, 0, 2, 2};

	if (ip->family == 4 && memcmp(ip->ip, one, 4) == 0)
		cb(arg, 0, (const struct record *const *)recs, 2, 60);
	else if (ip->family == 4 && memcmp(ip->ip, two, 4) == 0)
		cb(arg, ANDNA_ETIMEOUT, NULL, 0, 0);
	else
		cb(arg, ANDNA_ENOTFOUND, NULL, 0, 0);
	return 0;
}

/* Nothing is ever in flight: every outcome comes during the call. */
static void
fake_cancel(void *ctx, void *arg)
{
	abort();
}

static void
setup(void)
{
	struct dns_front_config cfg;
	struct dns_front_resolver res = {
	    NULL, fake_resolve, fake_reverse, fake_cancel};

	load_records();
	if ((base = event_base_new()) == NULL)
		abort();
	dns_front_config_defaults(&cfg);
	cfg.listen[0] = tu_lo(1, 0);
	cfg.n_listen = 1;
	cfg.suffixes[0] = "ntk";
	cfg.suffixes[1] = "mesh";
	cfg.n_suffixes = 2;
	cfg.ns_addrs[0] = tu_lo(1, 53);
	cfg.ns_addrs[1].family = 6;
	cfg.ns_addrs[1].ip[15] = 1;
	cfg.n_ns_addrs = 2;
	cfg.rate_qps = 0;
	cfg.probe = false; /* no connects to the addresses of fuzzed records */
	cfg.hot_ms = 60000;
	if (dns_front_new(base, &cfg, &res, &front) != 0 ||
	    dns_front_local(front, 0, &at) != 0 ||
	    (udp = tu_udp_client(&at, NULL)) < 0)
		abort();
}

/* Runs the loop until the front has taken one more query (or dropped a
 * TCP connection) than stats *before says. */
static void
wait_taken(const struct dns_front_stats *before)
{
	struct dns_front_stats st;
	uint64_t end = tu_now_ms() + WAIT_MS;

	while (tu_now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		dns_front_get_stats(front, &st);
		if (st.udp_queries + st.tcp_queries + st.dropped >
		    before->udp_queries + before->tcp_queries + before->dropped)
			return;
	}
	abort();
}

/* Reads up to n bytes of fd into buf, running the loop meanwhile; with
 * want, waits for all n.  Returns the bytes read. */
static size_t
read_some(int fd, uint8_t *buf, size_t n, bool want)
{
	size_t got = 0;
	uint64_t end = tu_now_ms() + WAIT_MS;

	while (got < n && tu_now_ms() < end) {
		ssize_t r;
		event_base_loop(base, EVLOOP_NONBLOCK);
		r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || !want)
			break;
	}
	return got;
}

/* Walks every record of an answer, decoding its rdata. */
static void
walk(const struct dns_msg *m)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_rdata rd;
	unsigned n = 0;

	dns_rr_iter_init(&it, m);
	while (dns_rr_next(&it, &rr) == 0) {
		if (dns_rr_rdata(m, &rr, &rd) != 0)
			abort();
		n++;
	}
	if (n != (unsigned)m->hdr.ancount + m->hdr.nscount + m->hdr.arcount)
		abort();
}

/* Checks an answer (len bytes in ans) to query q over UDP or TCP. */
static void
check(const uint8_t *q, size_t qlen, size_t len, bool over_udp)
{
	struct dns_msg qm, am;
	int rc = dns_query_parse(q, qlen, &qm);

	if (dns_msg_parse(ans, len, &am) != 0 || !am.hdr.qr ||
	    am.hdr.id != qm.hdr.id || am.hdr.opcode != qm.hdr.opcode)
		abort();
	walk(&am);
	if (over_udp &&
	    len > (rc == 0 && qm.edns.present ? DNS_EDNS_UDP_SIZE : DNS_UDP_MIN))
		abort();
	/* the fuzzer does not know the secret, so none of its server
	 * cookies is valid: the amplification cap holds for every UDP
	 * answer */
	if (over_udp && len > DNS_AMP_MAX * qlen)
		abort();
	if (am.hdr.tc && !over_udp)
		abort();
	if (rc == 0 && qlen <= 4096 &&
	    (!am.has_question || am.q.name.len != qm.q.name.len ||
		memcmp(am.q.name.wire, qm.q.name.wire, qm.q.name.len) != 0 ||
		am.q.qtype != qm.q.qtype || am.q.qclass != qm.q.qclass))
		abort();
}

/* Sends the input once over UDP and checks what comes back. */
static void
ask_udp(const uint8_t *data, size_t size, bool answered)
{
	struct dns_front_stats before;
	size_t len;

	dns_front_get_stats(front, &before);
	if (send(udp, data, size, 0) != (ssize_t)size)
		abort();
	wait_taken(&before);
	/* a batch leaves before the read callback returns */
	len = read_some(udp, ans, sizeof(ans), false);
	if (answered != (len > 0))
		abort();
	if (len > 0)
		check(data, size, len, true);
}

/* Sends the input once over the TCP connection (opened when there is
 * none) and checks what comes back. */
static void
ask_tcp(const uint8_t *data, size_t size, bool answered)
{
	static uint8_t msg[2 + 65535];
	struct dns_front_stats before;
	uint8_t hdr[2];
	size_t len;
	int one = 1;

	if (tcp < 0) {
		/* no Nagle: a query must not wait for the last one's ACK */
		if ((tcp = tu_tcp_client(&at, NULL)) < 0 ||
		    setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &one,
			sizeof(one)) != 0)
			abort();
	}
	dns_front_get_stats(front, &before);
	msg[0] = (uint8_t)(size >> 8);
	msg[1] = (uint8_t)size;
	memcpy(msg + 2, data, size);
	if (send(tcp, msg, size + 2, MSG_NOSIGNAL) != (ssize_t)(size + 2))
		abort();
	wait_taken(&before);
	if (size < DNS_HEADER_LEN) {
		/* nothing to answer to: the front hangs up */
		if (read_some(tcp, hdr, 1, true) != 0)
			abort();
		close(tcp);
		tcp = -1;
		return;
	}
	if (!answered) {
		if (read_some(tcp, hdr, 2, false) != 0)
			abort();
		return;
	}
	if (read_some(tcp, hdr, 2, true) != 2)
		abort();
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (read_some(tcp, ans, len, true) != len)
		abort();
	check(data, size, len, false);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool over_tcp, answered;

	if (base == NULL)
		setup();
	if (size > 65000)
		return 0;
	over_tcp = size > 0 && (data[0] & 0x80);
	/* the front never answers a response, nor what has no header */
	answered = size >= DNS_HEADER_LEN && !(data[2] & 0x80);
	for (int copy = 0; copy < 2; copy++) {
		if (over_tcp)
			ask_tcp(data, size, answered);
		else
			ask_udp(data, size, answered);
	}
	dns_front_forget(front);
	return 0;
}
