/* The DNS front on 127.0.0.1 with ephemeral ports and a fake overlay:
 * real queries over UDP and TCP, answers read back with proto/dns.h.
 * Covers every behaviour of dns_front.h: A, AAAA, SRV, PTR, SOA, NS,
 * NXDOMAIN vs NODATA, CNAME, 40 addresses (TC over UDP, whole over TCP),
 * letter case, FORMERR/NOTIMP/BADVERS, SERVFAIL on timeout, REFUSED
 * without upstream, forwarding, the networks allowed to forward, rate
 * limits and the networks exempt from them, TCP pipelining, idle timeout
 * (a query trickled a byte at a time does not hold it back), connection
 * cap and each host's share of it, round robin, weighted order, health
 * probes, answers kept ready in wire form, the reply address on a
 * wildcard listener, the privilege drop, DNS cookies (round trip, forged,
 * expired, other address, malformed, secret rotation, relayed answers)
 * and the amplification cap on a cookie-less UDP source. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "node/dns/dns_answer.h"
#include "node/dns/dns_cookie.h"
#include "node/dns/dns_front.h"
#include "proto/err.h"
#include "tests/dns_util.h"

#define TTL 123
#define NEG_TTL 17
#define SERIAL 2024

/* ---- a fake overlay ------------------------------------------------ */

enum fake_mode { FAKE_FOUND, FAKE_SILENT, FAKE_SLOW, FAKE_FAIL };

struct fake_name {
	struct record *rec;
	enum fake_mode mode;
	uint32_t ttl; /* what the resolver says the answer may be kept; 0: TTL */
};

struct fake_rev {
	struct endpoint ip;
	const char *names[2];
	int n;
	int status;
};

struct fake;

struct pending {
	struct fake *fk;
	struct pending *next;
	void *arg;
	dns_resolve_cb cb;
	dns_reverse_cb rcb;
	char name[ANDNA_NAME_MAX + 1];
	struct endpoint ip;
	struct event *ev;
};

struct fake {
	struct event_base *base;
	struct fake_name names[32];
	int n_names;
	struct fake_rev revs[8];
	int n_revs;
	struct pending *pend;
	bool sync;
	int resolves, reverses, cancels;
};

static struct fake_name *
fake_find(struct fake *fk, const char *name)
{
	for (int i = 0; i < fk->n_names; i++)
		if (strcmp(fk->names[i].rec->name, name) == 0)
			return &fk->names[i];
	return NULL;
}

/* Delivers the outcome of a name lookup. */
static void
fake_answer(struct fake *fk, const char *name, dns_resolve_cb cb, void *arg)
{
	struct fake_name *n = fake_find(fk, name);

	if (n == NULL) /* cacheable for the negative TTL, as the engine's */
		cb(arg, ANDNA_ENOTFOUND, NULL, NEG_TTL);
	else
		cb(arg, 0, n->rec, n->ttl != 0 ? n->ttl : TTL);
}

/* Delivers the outcome of a reverse lookup. */
static void
fake_answer_rev(
    struct fake *fk, const struct endpoint *ip, dns_reverse_cb cb, void *arg)
{
	const struct record *recs[2];

	for (int i = 0; i < fk->n_revs; i++) {
		struct fake_rev *r = &fk->revs[i];
		if (r->ip.family != ip->family ||
		    memcmp(r->ip.ip, ip->ip, 16) != 0)
			continue;
		for (int j = 0; j < r->n; j++)
			recs[j] = fake_find(fk, r->names[j])->rec;
		cb(arg, r->status, recs, r->n, TTL);
		return;
	}
	cb(arg, ANDNA_ETIMEOUT, NULL, 0, 0);
}

static void
pending_unlink(struct pending *p)
{
	struct pending **pp = &p->fk->pend;

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	if (p->ev != NULL)
		event_free(p->ev);
}

static void
pending_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct fake *fk = p->fk;

	pending_unlink(p);
	if (p->cb != NULL)
		fake_answer(fk, p->name, p->cb, p->arg);
	else
		fake_answer_rev(fk, &p->ip, p->rcb, p->arg);
	free(p);
}

/* Queues an outcome for later (never, for a silent name). */
static void
fake_defer(struct fake *fk, struct pending *p, int delay_ms)
{
	struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};

	p->fk = fk;
	p->next = fk->pend;
	fk->pend = p;
	if (delay_ms >= 0) {
		p->ev = evtimer_new(fk->base, pending_cb, p);
		evtimer_add(p->ev, &tv);
	}
}

static int
fake_resolve(void *ctx, const char *name, dns_resolve_cb cb, void *arg)
{
	struct fake *fk = ctx;
	struct fake_name *n = fake_find(fk, name);
	struct pending *p;
	int delay = 0;

	fk->resolves++;
	assert_true(name_is_canonical(name));
	if (n != NULL && n->mode == FAKE_FAIL)
		return ANDNA_ENOMEM; /* the call itself fails */
	if (n != NULL && n->mode == FAKE_SILENT)
		delay = -1;
	else if (n != NULL && n->mode == FAKE_SLOW)
		delay = 150;
	else if (fk->sync) {
		fake_answer(fk, name, cb, arg);
		return 0;
	}
	p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->arg = arg;
	p->cb = cb;
	snprintf(p->name, sizeof(p->name), "%s", name);
	fake_defer(fk, p, delay);
	return 0;
}

static int
fake_reverse(void *ctx, const struct endpoint *ip, dns_reverse_cb cb, void *arg)
{
	struct fake *fk = ctx;
	struct pending *p;

	fk->reverses++;
	/* 192.0.2.66: the call itself fails */
	if (ip->family == 4 && memcmp(ip->ip, "\xc0\x00\x02\x42", 4) == 0)
		return ANDNA_ENOMEM;
	if (fk->sync) {
		fake_answer_rev(fk, ip, cb, arg);
		return 0;
	}
	p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->arg = arg;
	p->rcb = cb;
	p->ip = *ip;
	fake_defer(fk, p, 0);
	return 0;
}

static void
fake_cancel(void *ctx, void *arg)
{
	struct fake *fk = ctx;

	fk->cancels++;
	for (struct pending *p = fk->pend; p != NULL; p = p->next) {
		if (p->arg == arg) {
			pending_unlink(p);
			free(p);
			return;
		}
	}
	fail_msg("cancel of a lookup that is not in flight");
}

/* ---- records ------------------------------------------------------- */

static struct record_entry
ent_ip(uint16_t svc, uint8_t proto, uint16_t prio, uint16_t w, const char *text)
{
	struct record_entry e;

	memset(&e, 0, sizeof(e));
	e.service = svc;
	e.proto = proto;
	e.priority = prio;
	e.weight = w;
	if (inet_pton(AF_INET, text, e.target.ip) == 1)
		e.kind = RECORD_TARGET_IPV4;
	else {
		assert_int_equal(inet_pton(AF_INET6, text, e.target.ip), 1);
		e.kind = RECORD_TARGET_IPV6;
	}
	return e;
}

static struct record_entry
ent_name(
    uint16_t svc, uint8_t proto, uint16_t prio, uint16_t w, const char *name)
{
	struct record_entry e;

	memset(&e, 0, sizeof(e));
	e.service = svc;
	e.proto = proto;
	e.priority = prio;
	e.weight = w;
	e.kind = RECORD_TARGET_NAME;
	snprintf(e.target.name, sizeof(e.target.name), "%s", name);
	return e;
}

static struct fake_name *
fake_add(struct fake *fk, const char *name, const struct record_entry *e, int n)
{
	static const uint8_t owner[ANDNA_PK_LEN];
	struct fake_name *fn = &fk->names[fk->n_names++];

	assert_int_equal(record_new(name, owner, 1, &fn->rec), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(record_add_entry(fn->rec, &e[i]), 0);
	return fn;
}

static void
fake_load(struct fake *fk)
{
	struct record_entry web[] = {
	    ent_ip(0, 0, 10, 10, "192.0.2.1"),
	    ent_ip(0, 0, 10, 10, "192.0.2.2"),
	    ent_ip(0, 0, 20, 10, "192.0.2.3"),
	    ent_ip(0, 0, 10, 10, "2001:db8::1"),
	    ent_ip(80, RECORD_PROTO_TCP, 1, 5, "198.51.100.1"),
	    ent_name(80, RECORD_PROTO_TCP, 2, 5, "backend"),
	    ent_ip(8080, RECORD_PROTO_NONE, 1, 0, "2001:db8::80"),
	};
	struct record_entry v4only[] = {ent_ip(0, 0, 0, 0, "192.0.2.9")};
	struct record_entry alias[] = {ent_name(0, 0, 0, 0, "web")};
	struct record_entry loop1[] = {ent_name(0, 0, 0, 0, "loop2")};
	struct record_entry loop2[] = {ent_name(0, 0, 0, 0, "loop1")};
	struct record_entry rr2[] = {
	    ent_ip(0, 0, 5, 1, "203.0.113.1"),
	    ent_ip(0, 0, 5, 1, "203.0.113.2"),
	};
	struct record_entry weighted[] = {
	    ent_ip(0, 0, 5, 3, "203.0.113.10"),
	    ent_ip(0, 0, 5, 1, "203.0.113.11"),
	};
	struct record_entry ha[] = {
	    ent_ip(0, 0, 0, 0, "127.0.0.2"),
	    ent_ip(0, 0, 0, 0, "127.0.0.3"),
	};
	struct record_entry www[] = {ent_ip(0, 0, 0, 0, "192.0.2.50")};
	struct record_entry six[32];
	struct fake_name *big;

	fake_add(fk, "web", web, 7);
	fake_add(fk, "v4only", v4only, 1);
	fake_add(fk, "alias", alias, 1);
	fake_add(fk, "loop1", loop1, 1);
	fake_add(fk, "loop2", loop2, 1);
	fake_add(fk, "rr2", rr2, 2);
	fake_add(fk, "weighted", weighted, 2);
	fake_add(fk, "ha", ha, 2);
	fake_add(fk, "www.foo", www, 1);
	fake_add(fk, "slow", v4only, 1)->mode = FAKE_SILENT;
	fake_add(fk, "slowish", v4only, 1)->mode = FAKE_SLOW;
	fake_add(fk, "failing", v4only, 1)->mode = FAKE_FAIL;
	fake_add(fk, "brief", v4only, 1)->ttl = 2; /* an owner's short TTL */
	/* what an attacker registers to amplify: a one-letter name with 16
	 * IPv6 addresses and an SRV set of 16 IPv6 targets */
	for (int i = 0; i < 16; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "2001:db8::%x", i + 1);
		six[i] = ent_ip(0, 0, 1, 1, ip);
		snprintf(ip, sizeof(ip), "2001:db8::5:%x", i + 1);
		six[16 + i] = ent_ip(5060, RECORD_PROTO_UDP, 1, 1, ip);
	}
	fake_add(fk, "s", six, 32);
	/* 40 host addresses: more than record_add_entry() takes for one
	 * service (16), so built by hand, as a front must cope with any
	 * record the overlay hands it */
	big = fake_add(fk, "big", NULL, 0);
	big->rec->entries = calloc(40, sizeof(struct record_entry));
	assert_non_null(big->rec->entries);
	for (int i = 0; i < 40; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 10, i % 10 + 1);
		big->rec->entries[i] = ent_ip(0, 0, 1, 1, ip);
	}
	big->rec->n_entries = 40;

	fk->revs[0].ip.family = 4;
	inet_pton(AF_INET, "192.0.2.1", fk->revs[0].ip.ip);
	fk->revs[0].names[0] = "web";
	fk->revs[0].names[1] = "www.foo";
	fk->revs[0].n = 2;
	fk->revs[1].ip.family = 6;
	inet_pton(AF_INET6, "2001:db8::1", fk->revs[1].ip.ip);
	fk->revs[1].names[0] = "web";
	fk->revs[1].n = 1;
	fk->revs[2].ip.family = 4;
	inet_pton(AF_INET, "192.0.2.9", fk->revs[2].ip.ip);
	fk->revs[2].status = ANDNA_ENOTFOUND; /* a node with no names */
	fk->n_revs = 3;
}

static void
fake_free(struct fake *fk)
{
	while (fk->pend != NULL) {
		struct pending *p = fk->pend;
		pending_unlink(p);
		free(p);
	}
	for (int i = 0; i < fk->n_names; i++)
		record_free(fk->names[i].rec);
}

/* ---- fixture ------------------------------------------------------- */

struct fixture {
	struct event_base *base;
	struct fake fk;
	struct dns_front *front;
	struct dns_forward *fw;
	struct tu_upstream up;
	struct endpoint at; /* where the front listens */
	int udp;	    /* a client socket connected to it */
};

static int
setup(void **state)
{
	struct fixture *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->base = event_base_new();
	assert_non_null(t->base);
	t->fk.base = t->base;
	t->udp = -1;
	t->up.ufd = t->up.tfd = t->up.cfd = -1;
	fake_load(&t->fk);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *t = *state;

	if (t->udp >= 0)
		close(t->udp);
	dns_front_free(t->front);
	/* every lookup the front started was answered or cancelled */
	assert_null(t->fk.pend);
	dns_forward_free(t->fw);
	tu_up_stop(&t->up);
	fake_free(&t->fk);
	event_base_free(t->base);
	free(t);
	return 0;
}

/* The configuration most tests use: 127.0.0.1 on a free port, suffixes
 * ntk and mesh, no rate limit, and nobody exempt from one (a test that
 * sets a rate sees it from loopback). */
static void
front_cfg(struct dns_front_config *cfg)
{
	dns_front_config_defaults(cfg);
	cfg->listen[0] = tu_lo(1, 0);
	cfg->n_listen = 1;
	cfg->suffixes[0] = "ntk";
	cfg->suffixes[1] = "mesh";
	cfg->n_suffixes = 2;
	cfg->ns_addrs[0] = tu_lo(1, 53);
	cfg->n_ns_addrs = 1;
	cfg->negative_ttl = NEG_TTL;
	cfg->soa_serial = SERIAL;
	cfg->timeout_ms = 1000;
	cfg->rate_qps = 0;
	cfg->n_rate_exempt = 0;
	/* probes are on by default; the tests of the order of answers must
	 * not depend on what the records' addresses do, so only the probe
	 * tests turn them on */
	cfg->probe = false;
}

static void
front_start(struct fixture *t, const struct dns_front_config *cfg)
{
	struct dns_front_resolver res = {
	    &t->fk, fake_resolve, fake_reverse, fake_cancel};

	assert_int_equal(dns_front_new(t->base, cfg, &res, &t->front), 0);
	assert_int_equal(dns_front_local(t->front, 0, &t->at), 0);
	assert_int_not_equal(t->at.port, 0);
	t->udp = tu_udp_client(&t->at, NULL);
	assert_true(t->udp >= 0);
}

static void
front_default(struct fixture *t)
{
	struct dns_front_config cfg;

	front_cfg(&cfg);
	front_start(t, &cfg);
}

/* ---- answers ------------------------------------------------------- */

struct got_rr {
	enum dns_section sec;
	struct dns_name name;
	uint16_t type;
	uint32_t ttl;
	struct dns_rdata rd;
};

struct got {
	uint8_t pkt[65536];
	size_t len;
	struct dns_msg m;
	struct got_rr rr[64];
	int n;
	int count[3];
};

/* Parses an answer and its records (OPT left out). */
static void
got_parse(struct got *g)
{
	struct dns_rr_iter it;
	struct dns_rr rr;

	assert_int_equal(dns_msg_parse(g->pkt, g->len, &g->m), 0);
	assert_true(g->m.hdr.qr);
	g->n = 0;
	memset(g->count, 0, sizeof(g->count));
	dns_rr_iter_init(&it, &g->m);
	while (dns_rr_next(&it, &rr) == 0) {
		if (rr.type == DNS_TYPE_OPT)
			continue;
		g->count[rr.section]++;
		if (g->n == 64)
			continue;
		struct got_rr *x = &g->rr[g->n++];
		x->sec = rr.section;
		x->name = rr.name;
		x->type = rr.type;
		x->ttl = rr.ttl;
		assert_int_equal(dns_rr_rdata(&g->m, &rr, &x->rd), 0);
	}
}

static struct got *
got_new(void)
{
	struct got *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	return g;
}

/* Asks text/qtype over UDP; the answer must come. */
static struct got *
ask(struct fixture *t, const char *text, uint16_t qtype, uint16_t edns)
{
	uint8_t q[512];
	size_t qlen = tu_query(q, sizeof(q), 0x4242, text, qtype, edns);
	struct got *g = got_new();

	assert_true(qlen > 0);
	g->len =
	    tu_udp_ask(t->base, t->udp, q, qlen, g->pkt, sizeof(g->pkt), 3000);
	assert_true(g->len > 0);
	got_parse(g);
	assert_int_equal(g->m.hdr.id, 0x4242);
	return g;
}

/* The same over a new TCP connection. */
static struct got *
ask_tcp(struct fixture *t, const char *text, uint16_t qtype)
{
	uint8_t q[512];
	size_t qlen = tu_query(q, sizeof(q), 0x4343, text, qtype, 0);
	struct got *g = got_new();
	int fd = tu_tcp_client(&t->at, NULL);

	assert_true(fd >= 0);
	assert_true(tu_tcp_send(fd, q, qlen));
	g->len = tu_tcp_recv(t->base, fd, g->pkt, sizeof(g->pkt), 3000);
	close(fd);
	assert_true(g->len > 0);
	got_parse(g);
	assert_int_equal(g->m.hdr.id, 0x4343);
	return g;
}

/* Sends raw bytes; returns the answer's length (0: none in ms). */
static size_t
ask_raw(struct fixture *t, const uint8_t *q, size_t len, struct got *g, int ms)
{
	g->len =
	    tu_udp_ask(t->base, t->udp, q, len, g->pkt, sizeof(g->pkt), ms);
	return g->len;
}

/* The text of a name. */
static const char *
name_text(const struct dns_name *n, char *buf)
{
	assert_int_equal(dns_name_to_text(n, buf, DNS_NAME_TEXT_MAX), 0);
	return buf;
}

/* The 4th byte of the i-th A record. */
static int
a_last(const struct got *g, int i)
{
	assert_true(i < g->n);
	assert_int_equal(g->rr[i].type, DNS_TYPE_A);
	return g->rr[i].rd.u.a[3];
}

/* Checks a negative answer: rcode, nothing in answer, the SOA of zone. */
static void
assert_negative(const struct got *g, uint16_t rcode, const char *zone)
{
	char buf[DNS_NAME_TEXT_MAX];

	assert_int_equal(g->m.rcode, rcode);
	assert_true(g->m.hdr.aa);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
	assert_int_equal(g->count[DNS_SEC_AUTHORITY], 1);
	assert_int_equal(g->rr[0].type, DNS_TYPE_SOA);
	assert_string_equal(name_text(&g->rr[0].name, buf), zone);
	assert_int_equal(g->rr[0].ttl, NEG_TTL);
	assert_int_equal(g->rr[0].rd.u.soa.minimum, NEG_TTL);
}

/* A client cookie, as dig would make one. */
static const uint8_t CC[DNS_COOKIE_CLIENT_LEN] = {
    0xc1, 0x1e, 0x47, 0x0c, 0x00, 0x4b, 0x1e, 0x55};

/* Builds a query with EDNS (size 1232) and a COOKIE option of len octets
 * (any length, so malformed ones too) into q.  Returns its length. */
static size_t
query_cookie(uint8_t *q, size_t size, const char *text, uint16_t qtype,
    const uint8_t *cookie, size_t len)
{
	size_t qlen = tu_query(q, size, 0x4242, text, qtype, 1232);

	assert_true(qlen > 0 && qlen + 4 + len <= size);
	/* the OPT record ends the query; its rdata length is the last
	 * field */
	q[qlen - 2] = (uint8_t)((4 + len) >> 8);
	q[qlen - 1] = (uint8_t)(4 + len);
	q[qlen++] = 0;
	q[qlen++] = DNS_EDNS_COOKIE;
	q[qlen++] = (uint8_t)(len >> 8);
	q[qlen++] = (uint8_t)len;
	if (len > 0)
		memcpy(q + qlen, cookie, len);
	return qlen + len;
}

/* Asks text/qtype over the UDP socket fd with a COOKIE option; the answer
 * must come.  *qlen gets the length of the query. */
static struct got *
ask_cookie(struct fixture *t, int fd, const char *text, uint16_t qtype,
    const uint8_t *cookie, size_t len, size_t *qlen)
{
	uint8_t q[512];
	struct got *g = got_new();

	*qlen = query_cookie(q, sizeof(q), text, qtype, cookie, len);
	g->len =
	    tu_udp_ask(t->base, fd, q, *qlen, g->pkt, sizeof(g->pkt), 3000);
	assert_true(g->len > 0);
	got_parse(g);
	assert_int_equal(g->m.hdr.id, 0x4242);
	return g;
}

/* The COOKIE option of an answer, copied to out; returns its length (0:
 * none). */
static size_t
got_cookie(const struct got *g, uint8_t out[DNS_COOKIE_MAX])
{
	const uint8_t *d;
	uint16_t len;

	if (dns_edns_option(&g->m, DNS_EDNS_COOKIE, &d, &len) != 0)
		return 0;
	assert_true(len <= DNS_COOKIE_MAX);
	memcpy(out, d, len);
	return len;
}

/* Gets a server cookie for CC from the front over fd into out (24
 * octets: CC and the server cookie). */
static void
learn_cookie(struct fixture *t, int fd, uint8_t out[DNS_COOKIE_MAX])
{
	size_t qlen;
	struct got *g = ask_cookie(t, fd, "web.ntk", DNS_TYPE_A, CC, 8, &qlen);

	assert_int_equal(got_cookie(g, out), 24);
	free(g);
}

/* ---- tests ----------------------------------------------------------- */

static void
test_a(void **state)
{
	struct fixture *t = *state;
	struct got *g;
	int a, b;

	front_default(t);
	g = ask(t, "web.ntk", DNS_TYPE_A, 1232);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_true(g->m.hdr.aa);
	assert_true(g->m.hdr.rd);
	assert_false(g->m.hdr.ra); /* no forwarder */
	assert_false(g->m.hdr.tc);
	assert_true(g->m.edns.present);
	/* the best priority only: .1 and .2, not .3, nor the AAAA */
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	a = a_last(g, 0);
	b = a_last(g, 1);
	assert_true((a == 1 && b == 2) || (a == 2 && b == 1));
	assert_int_equal(g->rr[0].ttl, TTL);
	free(g);
	/* the same over TCP */
	g = ask_tcp(t, "web.ntk", DNS_TYPE_A);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	assert_true(g->m.hdr.aa);
	free(g);
	/* a name of several labels, and the second suffix */
	g = ask(t, "www.foo.ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(a_last(g, 0), 50);
	free(g);
	g = ask(t, "v4only.mesh", DNS_TYPE_A, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(a_last(g, 0), 9);
	free(g);
}

static void
test_aaaa(void **state)
{
	struct fixture *t = *state;
	struct got *g;
	uint8_t want[16];

	front_default(t);
	g = ask(t, "web.ntk", DNS_TYPE_AAAA, 1232);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(g->rr[0].type, DNS_TYPE_AAAA);
	inet_pton(AF_INET6, "2001:db8::1", want);
	assert_memory_equal(g->rr[0].rd.u.aaaa, want, 16);
	assert_int_equal(g->rr[0].ttl, TTL);
	free(g);
	/* ANY: both families */
	g = ask(t, "web.ntk", DNS_TYPE_ANY, 1232);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 3);
	free(g);
}

static void
test_srv(void **state)
{
	struct fixture *t = *state;
	char buf[DNS_NAME_TEXT_MAX];
	struct got *g;

	front_default(t);
	g = ask(t, "_http._tcp.web.ntk", DNS_TYPE_SRV, 1232);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_true(g->m.hdr.aa);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	assert_int_equal(g->rr[0].type, DNS_TYPE_SRV);
	assert_int_equal(g->rr[0].rd.u.srv.priority, 1);
	assert_int_equal(g->rr[0].rd.u.srv.weight, 5);
	assert_int_equal(g->rr[0].rd.u.srv.port, 80);
	assert_string_equal(
	    name_text(&g->rr[0].rd.u.srv.target, buf), "198-51-100-1._ip.ntk");
	assert_int_equal(g->rr[1].rd.u.srv.priority, 2);
	assert_string_equal(
	    name_text(&g->rr[1].rd.u.srv.target, buf), "backend.ntk");
	/* glue for the IP target */
	assert_int_equal(g->count[DNS_SEC_ADDITIONAL], 1);
	assert_int_equal(g->rr[2].sec, DNS_SEC_ADDITIONAL);
	assert_string_equal(
	    name_text(&g->rr[2].name, buf), "198-51-100-1._ip.ntk");
	assert_int_equal(g->rr[2].rd.u.a[0], 198);
	free(g);
	/* numeric service, an entry of any protocol, IPv6 target */
	g = ask(t, "_8080._udp.web.ntk", DNS_TYPE_SRV, 1232);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(g->rr[0].rd.u.srv.port, 8080);
	assert_string_equal(name_text(&g->rr[0].rd.u.srv.target, buf),
	    "20010db8000000000000000000000080._ip.ntk");
	assert_int_equal(g->rr[1].type, DNS_TYPE_AAAA);
	free(g);
	/* the _ip names answer on their own */
	g = ask(t, "198-51-100-1._ip.ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(g->rr[0].rd.u.a[3], 1);
	free(g);
	g = ask(t, "198-51-100-1._ip.ntk", DNS_TYPE_AAAA, 0);
	assert_negative(g, DNS_RCODE_NOERROR, "ntk");
	free(g);
	g = ask(t, "1-2-3._ip.ntk", DNS_TYPE_A, 0);
	assert_negative(g, DNS_RCODE_NXDOMAIN, "ntk");
	free(g);
	/* no such service on the name; an unknown service name */
	g = ask(t, "_ssh._tcp.web.ntk", DNS_TYPE_SRV, 0);
	assert_negative(g, DNS_RCODE_NXDOMAIN, "ntk");
	free(g);
	g = ask(t, "_nosuch._tcp.web.ntk", DNS_TYPE_SRV, 0);
	assert_negative(g, DNS_RCODE_NXDOMAIN, "ntk");
	free(g);
	/* the SRV owner exists: other types are NODATA */
	g = ask(t, "_http._tcp.web.ntk", DNS_TYPE_A, 0);
	assert_negative(g, DNS_RCODE_NOERROR, "ntk");
	free(g);
}

static void
test_ptr(void **state)
{
	struct fixture *t = *state;
	char buf[DNS_NAME_TEXT_MAX], v6[128];
	struct got *g;
	bool web = false, www = false;

	front_default(t);
	g = ask(t, "1.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 1232);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_true(g->m.hdr.aa);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(g->rr[i].type, DNS_TYPE_PTR);
		assert_int_equal(g->rr[i].ttl, TTL);
		name_text(&g->rr[i].rd.u.name, buf);
		web |= strcmp(buf, "web.ntk") == 0;
		www |= strcmp(buf, "www.foo.ntk") == 0;
	}
	assert_true(web && www);
	free(g);
	/* 2001:db8::1 */
	snprintf(v6, sizeof(v6),
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	g = ask(t, v6, DNS_TYPE_PTR, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_string_equal(name_text(&g->rr[0].rd.u.name, buf), "web.ntk");
	free(g);
	/* a node that holds no names */
	g = ask(t, "9.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_NXDOMAIN);
	free(g);
	/* no node there and no upstream: not ours to answer */
	g = ask(t, "200.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_REFUSED);
	free(g);
	assert_int_equal(t->fk.reverses, 4);
}

static void
test_soa_ns(void **state)
{
	struct fixture *t = *state;
	char buf[DNS_NAME_TEXT_MAX];
	struct got *g;

	front_default(t);
	g = ask(t, "ntk", DNS_TYPE_SOA, 1232);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_true(g->m.hdr.aa);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(g->rr[0].type, DNS_TYPE_SOA);
	assert_string_equal(name_text(&g->rr[0].rd.u.soa.mname, buf), "ntk");
	assert_string_equal(
	    name_text(&g->rr[0].rd.u.soa.rname, buf), "nobody.invalid");
	assert_int_equal(g->rr[0].rd.u.soa.serial, SERIAL);
	assert_int_equal(g->rr[0].rd.u.soa.minimum, NEG_TTL);
	assert_int_equal(g->rr[0].ttl, 300);
	free(g);
	g = ask(t, "NTK", DNS_TYPE_NS, 1232);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(g->rr[0].type, DNS_TYPE_NS);
	assert_string_equal(name_text(&g->rr[0].rd.u.name, buf), "NTK");
	/* the node's address as glue */
	assert_int_equal(g->count[DNS_SEC_ADDITIONAL], 1);
	assert_int_equal(g->rr[1].type, DNS_TYPE_A);
	assert_int_equal(g->rr[1].rd.u.a[0], 127);
	free(g);
	g = ask(t, "mesh", DNS_TYPE_SOA, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_string_equal(name_text(&g->rr[0].rd.u.soa.mname, buf), "mesh");
	free(g);
	g = ask(t, "ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	free(g);
	g = ask(t, "ntk", DNS_TYPE_MX, 0);
	assert_negative(g, DNS_RCODE_NOERROR, "ntk");
	free(g);
	assert_int_equal(t->fk.resolves, 0);
}

static void
test_ns_name_configured(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	char buf[DNS_NAME_TEXT_MAX];
	struct got *g;

	front_cfg(&cfg);
	cfg.ns_name = "ns1.example.net";
	front_start(t, &cfg);
	g = ask(t, "ntk", DNS_TYPE_NS, 0);
	assert_string_equal(
	    name_text(&g->rr[0].rd.u.name, buf), "ns1.example.net");
	free(g);
	g = ask(t, "nosuch.ntk", DNS_TYPE_A, 0);
	assert_string_equal(
	    name_text(&g->rr[0].rd.u.soa.mname, buf), "ns1.example.net");
	free(g);
	g = ask(t, "NS1.example.net", DNS_TYPE_A, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(g->rr[0].rd.u.a[0], 127);
	free(g);
}

static void
test_nxdomain_nodata(void **state)
{
	struct fixture *t = *state;
	struct got *g;
	int before;

	front_default(t);
	g = ask(t, "nosuch.ntk", DNS_TYPE_A, 1232);
	assert_negative(g, DNS_RCODE_NXDOMAIN, "ntk");
	free(g);
	/* a name that cannot exist: no lookup at all */
	before = t->fk.resolves;
	g = ask(t, "bad_name.ntk", DNS_TYPE_A, 0);
	assert_negative(g, DNS_RCODE_NXDOMAIN, "ntk");
	free(g);
	g = ask(t, "-x.mesh", DNS_TYPE_A, 0);
	assert_negative(g, DNS_RCODE_NXDOMAIN, "mesh");
	free(g);
	assert_int_equal(t->fk.resolves, before);
	/* the name exists, the type does not */
	g = ask(t, "v4only.ntk", DNS_TYPE_AAAA, 1232);
	assert_negative(g, DNS_RCODE_NOERROR, "ntk");
	free(g);
	g = ask(t, "web.ntk", DNS_TYPE_MX, 0);
	assert_negative(g, DNS_RCODE_NOERROR, "ntk");
	free(g);
	g = ask(t, "web.ntk", DNS_TYPE_TXT, 0);
	assert_negative(g, DNS_RCODE_NOERROR, "ntk");
	free(g);
}

static void
test_cname(void **state)
{
	struct fixture *t = *state;
	char buf[DNS_NAME_TEXT_MAX];
	struct got *g;

	front_default(t);
	g = ask(t, "alias.ntk", DNS_TYPE_A, 1232);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 3);
	assert_int_equal(g->rr[0].type, DNS_TYPE_CNAME);
	assert_string_equal(name_text(&g->rr[0].name, buf), "alias.ntk");
	assert_string_equal(name_text(&g->rr[0].rd.u.name, buf), "web.ntk");
	assert_string_equal(name_text(&g->rr[1].name, buf), "web.ntk");
	assert_int_equal(g->rr[1].type, DNS_TYPE_A);
	assert_int_equal(g->rr[2].type, DNS_TYPE_A);
	free(g);
	/* CNAME asked for: the CNAME only */
	g = ask(t, "alias.ntk", DNS_TYPE_CNAME, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(g->rr[0].type, DNS_TYPE_CNAME);
	free(g);
	/* a loop ends, with the chain so far */
	g = ask(t, "loop1.ntk", DNS_TYPE_A, 1232);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_true(g->count[DNS_SEC_ANSWER] >= 2);
	assert_true(g->count[DNS_SEC_ANSWER] <= 9);
	for (int i = 0; i < g->count[DNS_SEC_ANSWER]; i++)
		assert_int_equal(g->rr[i].type, DNS_TYPE_CNAME);
	free(g);
}

static void
test_forty_addresses(void **state)
{
	struct fixture *t = *state;
	struct got *g;
	bool seen[40] = {false};

	front_default(t);
	/* 512 bytes without EDNS: TC, and what is there is whole */
	g = ask(t, "big.ntk", DNS_TYPE_A, 0);
	assert_true(g->m.hdr.tc);
	assert_true(g->len <= 512);
	assert_true(g->count[DNS_SEC_ANSWER] < 40);
	free(g);
	/* the same over TCP: all 40, no TC */
	g = ask_tcp(t, "big.ntk", DNS_TYPE_A);
	assert_false(g->m.hdr.tc);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 40);
	for (int i = 0; i < 40; i++) {
		int k = g->rr[i].rd.u.a[2] * 10 + g->rr[i].rd.u.a[3] - 1;
		assert_true(k >= 0 && k < 40);
		assert_false(seen[k]);
		seen[k] = true;
	}
	free(g);
	/* with EDNS and room enough, but no cookie to prove the address:
	 * the amplification cap sends it to TCP too */
	g = ask(t, "big.ntk", DNS_TYPE_A, 1232);
	assert_true(g->m.hdr.tc);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
	free(g);
	/* with a valid server cookie, whole over UDP (test_cookie_*) */
}

static void
test_case_kept(void **state)
{
	struct fixture *t = *state;
	struct dns_name asked;
	struct got *g;

	front_default(t);
	assert_int_equal(dns_name_from_text("WeB.nTk", &asked), 0);
	g = ask(t, "WeB.nTk", DNS_TYPE_A, 0);
	assert_int_equal(g->m.q.name.len, asked.len);
	assert_memory_equal(g->m.q.name.wire, asked.wire, asked.len);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	assert_memory_equal(g->rr[0].name.wire, asked.wire, asked.len);
	free(g);
	g = ask(t, "NoSuch.NTK", DNS_TYPE_A, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_NXDOMAIN);
	assert_memory_equal(g->rr[0].name.wire, "\x03NTK", 5);
	free(g);
}

/* A header: id 0x0101, flags, counts. */
static size_t
raw_header(uint8_t *p, uint16_t flags, uint16_t qd, uint16_t an)
{
	memset(p, 0, DNS_HEADER_LEN);
	p[0] = p[1] = 1;
	p[2] = (uint8_t)(flags >> 8);
	p[3] = (uint8_t)flags;
	p[5] = (uint8_t)qd;
	p[7] = (uint8_t)an;
	return DNS_HEADER_LEN;
}

/* Checks that a valid query is still answered. */
static void
assert_alive(struct fixture *t)
{
	struct got *g = ask(t, "web.ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	free(g);
}

/* Sends p and expects FORMERR with the id echoed. */
static void
assert_formerr(struct fixture *t, const uint8_t *p, size_t len)
{
	struct got *g = got_new();
	struct dns_msg m;

	assert_true(ask_raw(t, p, len, g, 2000) > 0);
	assert_int_equal(dns_msg_parse(g->pkt, g->len, &m), 0);
	assert_int_equal(m.hdr.id, 0x0101);
	assert_true(m.hdr.qr);
	assert_int_equal(m.rcode, DNS_RCODE_FORMERR);
	free(g);
	assert_alive(t);
}

static void
test_malformed(void **state)
{
	struct fixture *t = *state;
	struct dns_front_stats st;
	uint8_t p[600];
	struct got *g = got_new();
	size_t n;
	uint64_t seed = 12345;

	front_default(t);
	/* truncated header: nothing to answer to */
	raw_header(p, 0x0100, 1, 0);
	assert_int_equal(ask_raw(t, p, 5, g, 200), 0);
	assert_alive(t);
	/* a response: never answered */
	n = raw_header(p, 0x8100, 1, 0);
	memcpy(p + n, "\x03web\x03ntk\x00\x00\x01\x00\x01", 13);
	assert_int_equal(ask_raw(t, p, n + 13, g, 200), 0);
	assert_alive(t);
	/* counts that lie: two questions promised, one there */
	raw_header(p, 0x0100, 2, 0);
	assert_formerr(t, p, n + 13);
	/* an answer record promised, none there */
	raw_header(p, 0x0100, 1, 1);
	assert_formerr(t, p, n + 13);
	/* no question */
	raw_header(p, 0x0100, 0, 0);
	assert_formerr(t, p, n);
	/* a compression pointer to itself */
	raw_header(p, 0x0100, 1, 0);
	memcpy(p + n, "\xc0\x0c\x00\x01\x00\x01", 6);
	assert_formerr(t, p, n + 6);
	/* a pointer loop through two names' worth of labels */
	memcpy(p + n,
	    "\x01"
	    "a\xc0\x0c\x00\x01\x00\x01",
	    8);
	assert_formerr(t, p, n + 8);
	/* a label length of 64 (a reserved label type) */
	p[n] = 64;
	memset(p + n + 1, 'a', 64);
	memcpy(p + n + 65, "\x00\x00\x01\x00\x01", 5);
	assert_formerr(t, p, n + 70);
	/* a name over 255 octets */
	size_t off = n;
	for (int i = 0; i < 5; i++) {
		p[off++] = 63;
		memset(p + off, 'b', 63);
		off += 63;
	}
	memcpy(p + off, "\x00\x00\x01\x00\x01", 5);
	assert_formerr(t, p, off + 5);
	/* trailing garbage */
	memcpy(p + n, "\x03web\x03ntk\x00\x00\x01\x00\x01zz", 15);
	assert_formerr(t, p, n + 15);
	/* random bytes: FORMERR or dropped (or, rarely, a real query);
	 * the server keeps answering */
	for (int i = 0; i < 300; i++) {
		size_t len = 12 + (size_t)(i % 80);
		for (size_t j = 0; j < len; j++) {
			seed = seed * 6364136223846793005ULL +
			    1442695040888963407ULL;
			p[j] = (uint8_t)(seed >> 33);
		}
		p[2] &= 0x07; /* a standard query, so it is worth reading */
		ask_raw(t, p, len, g, 5);
	}
	tu_run(t->base, 50);
	while (recv(t->udp, g->pkt, sizeof(g->pkt), MSG_DONTWAIT) > 0)
		;
	assert_alive(t);
	dns_front_get_stats(t->front, &st);
	assert_true(st.formerr >= 250);
	free(g);
}

/* A datagram longer than the front reads (4096 bytes) is not taken for
 * the message it starts with: its first 4096 bytes are a whole query
 * here, so only the cut itself can make the answer FORMERR. */
static void
test_cut_datagram(void **state)
{
	struct fixture *t = *state;
	static uint8_t p[5000];
	size_t n, rdlen;

	front_default(t);
	memset(p, 0, sizeof(p));
	n = raw_header(p, 0x0100, 1, 0);
	p[11] = 1; /* one additional record: the OPT */
	memcpy(p + n, "\x03web\x03ntk\x00\x00\x01\x00\x01", 13);
	n += 13;
	rdlen = 4096 - n - DNS_OPT_LEN;
	p[n + 2] = DNS_TYPE_OPT;
	p[n + 3] = 1232 >> 8;
	p[n + 4] = 1232 & 0xff;
	p[n + 9] = (uint8_t)(rdlen >> 8);
	p[n + 10] = (uint8_t)rdlen;
	n += DNS_OPT_LEN;
	p[n + 1] = DNS_EDNS_PADDING;
	p[n + 2] = (uint8_t)((rdlen - 4) >> 8);
	p[n + 3] = (uint8_t)(rdlen - 4);
	assert_int_equal(n + rdlen, 4096);
	assert_formerr(t, p, sizeof(p));
}

/* Many queries at once are read in batches and every one is answered,
 * each to its own id.  N is over all the batches of one wake-up (4 of 10
 * datagrams) and under what fills a client's default receive buffer, so
 * no answer can be lost. */
static void
test_batch(void **state)
{
	struct fixture *t = *state;
	enum { N = 100 };
	bool seen[N];
	int got = 0;
	uint64_t end;

	front_default(t);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		uint8_t q[512];
		size_t qlen = tu_query(
		    q, sizeof(q), (uint16_t)(0x1000 + i), "web.ntk", 1, 0);
		assert_int_equal(send(t->udp, q, qlen, 0), (ssize_t)qlen);
	}
	end = tu_now_ms() + 5000;
	while (got < N && tu_now_ms() < end) {
		struct got *g = got_new();
		if (!tu_wait_fd(t->base, t->udp, 100)) {
			free(g);
			continue;
		}
		ssize_t len = recv(t->udp, g->pkt, sizeof(g->pkt), 0);
		assert_true(len > 0);
		g->len = (size_t)len;
		got_parse(g);
		int i = g->m.hdr.id - 0x1000;
		assert_true(i >= 0 && i < N);
		assert_false(seen[i]);
		seen[i] = true;
		assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
		assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
		got++;
		free(g);
	}
	assert_int_equal(got, N);
}

/* An outcome is kept for hot_ms: later queries of the name are answered
 * without the resolver, in their own letter case and rotation, with the
 * TTL counting down; when hot_ms has passed, or after
 * dns_front_forget(), the resolver is asked again. */
static void
test_kept_outcomes(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct dns_front_stats st;
	struct timespec pause = {1, 200 * 1000000}, more = {3, 0};
	char buf[DNS_NAME_TEXT_MAX];
	struct got *g;
	int n, first;

	front_cfg(&cfg);
	cfg.hot_ms = 4000;
	front_start(t, &cfg);
	g = ask(t, "rr2.ntk", DNS_TYPE_A, 0);
	n = t->fk.resolves;
	first = a_last(g, 0);
	assert_int_equal(g->rr[0].ttl, TTL);
	free(g);
	g = ask(t, "RR2.ntk", DNS_TYPE_A, 0);
	assert_int_equal(t->fk.resolves, n);
	assert_string_equal(name_text(&g->rr[0].name, buf), "RR2.ntk");
	assert_int_not_equal(a_last(g, 0), first); /* rotated */
	assert_int_equal(g->rr[0].ttl, TTL);
	free(g);
	/* no such name is kept too */
	free(ask(t, "nosuch.ntk", DNS_TYPE_A, 0));
	g = ask(t, "nosuch.ntk", DNS_TYPE_A, 0);
	assert_negative(g, DNS_RCODE_NXDOMAIN, "ntk");
	assert_int_equal(t->fk.resolves, n + 1);
	free(g);
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.cached, 2);
	/* 1.2 s later: still kept, one second less to live */
	nanosleep(&pause, NULL);
	g = ask(t, "rr2.ntk", DNS_TYPE_A, 0);
	assert_int_equal(t->fk.resolves, n + 1);
	assert_int_equal(g->rr[0].ttl, TTL - 1);
	free(g);
	/* 4.2 s: past hot_ms, asked again */
	nanosleep(&more, NULL);
	g = ask(t, "rr2.ntk", DNS_TYPE_A, 0);
	assert_int_equal(t->fk.resolves, n + 2);
	assert_int_equal(g->rr[0].ttl, TTL);
	free(g);
	free(ask(t, "rr2.ntk", DNS_TYPE_A, 0));
	assert_int_equal(t->fk.resolves, n + 2);
	dns_front_forget(t->front);
	free(ask(t, "rr2.ntk", DNS_TYPE_A, 0));
	assert_int_equal(t->fk.resolves, n + 3);
}

/* The ready answer's stats after one more query of text. */
static uint64_t
ready_after(struct fixture *t, struct got **g, const char *text,
    uint16_t qtype, uint16_t edns)
{
	struct dns_front_stats st;

	*g = ask(t, text, qtype, edns);
	dns_front_get_stats(t->front, &st);
	return st.ready;
}

/* Answers kept ready in wire form: once an answer was built from a kept
 * outcome, the same query in any letter case is answered from its bytes,
 * and says what a built answer would: the asker's id and letter case,
 * the rotation going on, the TTL counting down, the OPT when asked with
 * one, NXDOMAIN and NODATA with the SOA.  Queries with EDNS options are
 * built each time; a new outcome (a new record) is never answered from
 * the bytes of the old one, while the same outcome again keeps them. */
static void
test_ready(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct timespec past_hot = {0, 400 * 1000000};
	char buf[DNS_NAME_TEXT_MAX];
	uint8_t q[512];
	size_t qlen;
	struct got *g, *h;
	struct fake_name *rr2;
	uint64_t ready;
	int first;

	front_cfg(&cfg);
	cfg.hot_ms = 300;
	front_start(t, &cfg);
	/* the resolver, then built from the kept outcome: nothing ready */
	free(ask(t, "rr2.ntk", DNS_TYPE_A, 0));
	assert_int_equal(ready_after(t, &g, "RR2.ntk", DNS_TYPE_A, 0), 0);
	first = a_last(g, 0);
	free(g);
	for (int i = 1; i <= 4; i++) {
		assert_int_equal(
		    ready_after(t, &g, "Rr2.nTK", DNS_TYPE_A, 0), (uint64_t)i);
		assert_int_equal(g->m.hdr.id, 0x4242);
		assert_true(g->m.hdr.aa);
		assert_string_equal(name_text(&g->m.q.name, buf), "Rr2.nTK");
		assert_string_equal(name_text(&g->rr[0].name, buf), "Rr2.nTK");
		assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
		assert_int_not_equal(a_last(g, 0), a_last(g, 1));
		/* the rotation goes on from the built answers */
		assert_int_equal(a_last(g, 0) == first, i % 2 == 0);
		assert_true(g->rr[0].ttl <= TTL && g->rr[0].ttl >= TTL - 1);
		assert_false(g->m.edns.present);
		free(g);
	}
	/* with EDNS: another ready answer, with the OPT */
	free(ask(t, "rr2.ntk", DNS_TYPE_A, 1232));
	assert_int_equal(ready_after(t, &g, "rr2.ntk", DNS_TYPE_A, 1232), 5);
	assert_true(g->m.edns.present);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	free(g);
	/* an EDNS option (padding, empty): built, and the same answer */
	qlen = tu_query(q, sizeof(q), 0x4242, "rr2.ntk", DNS_TYPE_A, 1232);
	q[qlen - 1] = 4;
	memcpy(q + qlen, "\x00\x0c\x00\x00", 4);
	g = got_new();
	assert_true(ask_raw(t, q, qlen + 4, g, 3000) > 0);
	got_parse(g);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	free(g);
	assert_int_equal(ready_after(t, &g, "rr2.ntk", DNS_TYPE_A, 1232), 6);
	free(g);
	/* no such name, and no address of the family asked */
	free(ask(t, "nosuch.ntk", DNS_TYPE_A, 0));
	free(ask(t, "nosuch.ntk", DNS_TYPE_A, 0));
	assert_int_equal(ready_after(t, &g, "NoSuch.ntk", DNS_TYPE_A, 0), 7);
	assert_negative(g, DNS_RCODE_NXDOMAIN, "ntk");
	assert_int_equal(g->rr[0].ttl, NEG_TTL);
	free(g);
	free(ask(t, "v4only.ntk", DNS_TYPE_AAAA, 0));
	free(ask(t, "v4only.ntk", DNS_TYPE_AAAA, 0));
	assert_int_equal(ready_after(t, &g, "v4only.ntk", DNS_TYPE_AAAA, 0), 8);
	assert_negative(g, DNS_RCODE_NOERROR, "ntk");
	free(g);
	/* a ready answer is byte for byte the built one (one address: no
	 * rotation; the same id; TTLs read apart); v4only is kept already */
	h = ask(t, "v4only.ntk", DNS_TYPE_A, 0);
	assert_int_equal(ready_after(t, &g, "v4only.ntk", DNS_TYPE_A, 0), 9);
	assert_int_equal(g->len, h->len);
	assert_true(g->rr[0].ttl <= h->rr[0].ttl);
	qlen = DNS_HEADER_LEN + sizeof("\x06v4only\x03ntk") + 4;
	memset(g->pkt + qlen + 6, 0, 4);
	memset(h->pkt + qlen + 6, 0, 4);
	assert_memory_equal(g->pkt, h->pkt, g->len);
	free(g);
	free(h);
	/* past hot_ms the same record again: the ready answer stays */
	nanosleep(&past_hot, NULL);
	free(ask(t, "rr2.ntk", DNS_TYPE_A, 0));
	assert_int_equal(ready_after(t, &g, "rr2.ntk", DNS_TYPE_A, 0), 10);
	free(g);
	/* a new record: never the old bytes */
	rr2 = fake_find(&t->fk, "rr2");
	rr2->rec->seq++;
	inet_pton(AF_INET, "203.0.113.77", rr2->rec->entries[0].target.ip);
	nanosleep(&past_hot, NULL);
	free(ask(t, "rr2.ntk", DNS_TYPE_A, 0));
	for (int i = 0; i < 2; i++) {
		ready = ready_after(t, &g, "rr2.ntk", DNS_TYPE_A, 0);
		assert_int_equal(ready, 10 + (uint64_t)i);
		assert_true(a_last(g, 0) == 77 || a_last(g, 1) == 77);
		assert_true(a_last(g, 0) == 2 || a_last(g, 1) == 2);
		free(g);
	}
}

/* A short TTL from the resolver (an owner who chose 2 s) is what clients
 * get: in answers, in a NODATA's SOA (below the negative TTL), and the
 * front keeps the outcome no longer than that, though hot_ms is longer. */
static void
test_short_ttl(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct timespec pause = {2, 200 * 1000000};
	struct got *g;
	int n;

	front_cfg(&cfg);
	cfg.hot_ms = 4000;
	front_start(t, &cfg);
	n = t->fk.resolves;
	g = ask(t, "brief.ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(g->rr[0].ttl, 2);
	free(g);
	assert_int_equal(t->fk.resolves, n + 1);
	/* the name has no IPv6 address: NODATA, denied for 2 s, not 17 */
	g = ask(t, "brief.ntk", DNS_TYPE_AAAA, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
	assert_int_equal(g->count[DNS_SEC_AUTHORITY], 1);
	assert_int_equal(g->rr[0].type, DNS_TYPE_SOA);
	assert_int_equal(g->rr[0].ttl, 2);
	assert_int_equal(g->rr[0].rd.u.soa.minimum, NEG_TTL);
	free(g);
	assert_int_equal(t->fk.resolves, n + 1); /* kept meanwhile */
	/* other names keep the zone's negative TTL */
	g = ask(t, "v4only.ntk", DNS_TYPE_AAAA, 0);
	assert_negative(g, DNS_RCODE_NOERROR, "ntk");
	free(g);
	/* 2.2 s later the kept outcome is gone: the resolver is asked */
	nanosleep(&pause, NULL);
	n = t->fk.resolves;
	g = ask(t, "brief.ntk", DNS_TYPE_A, 0);
	assert_int_equal(t->fk.resolves, n + 1);
	assert_int_equal(g->rr[0].ttl, 2);
	free(g);
}

static void
test_notimp_badvers(void **state)
{
	struct fixture *t = *state;
	uint8_t p[512];
	size_t n;
	struct got *g = got_new();
	struct dns_msg m;
	struct dns_front_stats st;

	front_default(t);
	/* opcode STATUS (2) and NOTIFY (4) */
	for (int op = 2; op <= 4; op += 2) {
		n = raw_header(p, (uint16_t)(op << 11), 1, 0);
		memcpy(p + n, "\x03web\x03ntk\x00\x00\x06\x00\x01", 13);
		assert_true(ask_raw(t, p, n + 13, g, 2000) > 0);
		assert_int_equal(dns_msg_parse(g->pkt, g->len, &m), 0);
		assert_int_equal(m.rcode, DNS_RCODE_NOTIMP);
		assert_int_equal(m.hdr.opcode, op);
	}
	/* EDNS version 1 */
	n = tu_query(p, sizeof(p), 0x0101, "web.ntk", DNS_TYPE_A, 1232);
	p[n - 11 + 6] = 1; /* the version byte of the OPT TTL */
	assert_true(ask_raw(t, p, n, g, 2000) > 0);
	assert_int_equal(dns_msg_parse(g->pkt, g->len, &m), 0);
	assert_int_equal(m.rcode, DNS_RCODE_BADVERS);
	assert_int_equal(m.hdr.ancount, 0);
	/* zone transfers are refused */
	n = tu_query(p, sizeof(p), 0x0101, "ntk", 252, 0);
	assert_true(ask_raw(t, p, n, g, 2000) > 0);
	assert_int_equal(dns_msg_parse(g->pkt, g->len, &m), 0);
	assert_int_equal(m.rcode, DNS_RCODE_REFUSED);
	free(g);
	/* each answer counted once, by its whole rcode: BADVERS has 0 in
	 * the header but is no NOERROR */
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.udp_queries, 4);
	assert_int_equal(st.notimp, 2);
	assert_int_equal(st.badvers, 1);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.noerror, 0);
}

static void
test_servfail_on_timeout(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct got *g;
	uint64_t t0;

	front_cfg(&cfg);
	cfg.timeout_ms = 200;
	front_start(t, &cfg);
	t0 = tu_now_ms();
	g = ask(t, "slow.ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_SERVFAIL);
	assert_true(tu_now_ms() - t0 >= 190);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
	assert_int_equal(t->fk.cancels, 1);
	assert_null(t->fk.pend);
	free(g);
	assert_alive(t);
}

/* A resolver call that fails at once: SERVFAIL (a reverse lookup: on to
 * the upstream, REFUSED without one), and the query is freed once (it was
 * freed twice, corrupting the pool of finished queries), over UDP and
 * TCP, so later queries and the teardown still work. */
static void
test_servfail_on_failed_call(void **state)
{
	struct fixture *t = *state;
	struct got *g;

	front_default(t);
	for (int i = 0; i < 3; i++) {
		g = ask(t, "failing.ntk", DNS_TYPE_A, 0);
		assert_int_equal(g->m.rcode, DNS_RCODE_SERVFAIL);
		free(g);
		g = ask_tcp(t, "failing.ntk", DNS_TYPE_A);
		assert_int_equal(g->m.rcode, DNS_RCODE_SERVFAIL);
		free(g);
		g = ask(t, "66.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0);
		assert_int_equal(g->m.rcode, DNS_RCODE_REFUSED);
		free(g);
		assert_alive(t);
	}
}

static void
test_refused_without_upstream(void **state)
{
	struct fixture *t = *state;
	struct got *g;

	front_default(t);
	g = ask(t, "example.com", DNS_TYPE_A, 1232);
	assert_int_equal(g->m.rcode, DNS_RCODE_REFUSED);
	assert_false(g->m.hdr.ra);
	assert_false(g->m.hdr.aa);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
	free(g);
	/* a suffix is matched on whole labels */
	g = ask(t, "xntk", DNS_TYPE_A, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_REFUSED);
	free(g);
}

static void
test_forwarding(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct dns_forward_config fcfg;
	struct got *g;

	assert_true(tu_up_start(&t->up, t->base, 1, TU_UP_ANSWER));
	t->up.last = 88;
	dns_forward_config_defaults(&fcfg);
	fcfg.upstreams[0] = t->up.ep;
	fcfg.n_upstreams = 1;
	t->fw = dns_forward_new(t->base, &fcfg);
	front_cfg(&cfg);
	cfg.forward = t->fw;
	front_start(t, &cfg);
	g = ask(t, "Example.com", DNS_TYPE_A, 1232);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_true(g->m.hdr.ra);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
	assert_int_equal(a_last(g, 0), 88);
	assert_memory_equal(g->m.q.name.wire,
	    "\x07"
	    "Example",
	    8);
	free(g);
	/* a client that sent a cookie gets ours in the relayed answer,
	 * whose records are untouched */
	{
		uint8_t ck[DNS_COOKIE_MAX];
		size_t qlen;
		g = ask_cookie(
		    t, t->udp, "example.com", DNS_TYPE_A, CC, 8, &qlen);
		assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
		assert_int_equal(g->count[DNS_SEC_ANSWER], 1);
		assert_int_equal(a_last(g, 0), 88);
		assert_int_equal(got_cookie(g, ck), 24);
		assert_memory_equal(ck, CC, 8);
		free(g);
	}
	/* overlay answers now say RA too */
	g = ask(t, "web.ntk", DNS_TYPE_A, 0);
	assert_true(g->m.hdr.ra);
	assert_true(g->m.hdr.aa);
	free(g);
	/* a PTR with no node behind it goes upstream */
	g = ask(t, "200.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(t->up.udp_queries, 3);
	free(g);
	/* a big upstream answer: TC to a UDP client, whole over TCP */
	t->up.mode = TU_UP_TC;
	g = ask(t, "big.example.com", DNS_TYPE_A, 0);
	assert_true(g->m.hdr.tc);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
	free(g);
	g = ask_tcp(t, "big.example.com", DNS_TYPE_A);
	assert_false(g->m.hdr.tc);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 60);
	free(g);
	/* the upstream goes silent: SERVFAIL */
	t->up.mode = TU_UP_SILENT;
	dns_front_free(t->front);
	dns_forward_free(t->fw);
	fcfg.timeout_ms = 100;
	fcfg.tries = 2;
	t->fw = dns_forward_new(t->base, &fcfg);
	cfg.forward = t->fw;
	close(t->udp);
	front_start(t, &cfg);
	g = ask(t, "example.com", DNS_TYPE_A, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_SERVFAIL);
	free(g);
}

/* Asks over UDP from the socket fd instead of the fixture's. */
static struct got *
ask_from(struct fixture *t, int fd, const char *text, uint16_t qtype)
{
	int saved = t->udp;
	struct got *g;

	t->udp = fd;
	g = ask(t, text, qtype, 0);
	t->udp = saved;
	return g;
}

/* Forwarding for 127.0.0.1 only: 127.0.0.55 (also local, but outside
 * dns_allow) gets REFUSED for names to forward, overlay answers still. */
static void
test_allow(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct dns_forward_config fcfg;
	struct dns_front_stats st;
	struct endpoint from = tu_lo(55, 0);
	struct got *g;
	int out;

	assert_true(tu_up_start(&t->up, t->base, 1, TU_UP_ANSWER));
	t->up.last = 88;
	dns_forward_config_defaults(&fcfg);
	fcfg.upstreams[0] = t->up.ep;
	fcfg.n_upstreams = 1;
	t->fw = dns_forward_new(t->base, &fcfg);
	front_cfg(&cfg);
	cfg.forward = t->fw;
	cfg.allow_local = false;
	assert_int_equal(dns_net_parse("127.0.0.1/32", &cfg.allow[0]), 0);
	assert_int_equal(dns_net_parse("::1/128", &cfg.allow[1]), 0);
	cfg.n_allow = 2;
	front_start(t, &cfg);
	out = tu_udp_client(&t->at, &from);
	assert_true(out >= 0);
	/* inside: forwarded */
	g = ask(t, "example.com", DNS_TYPE_A, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(a_last(g, 0), 88);
	free(g);
	/* outside: REFUSED, and the upstream never hears of it */
	g = ask_from(t, out, "example.com", DNS_TYPE_A);
	assert_int_equal(g->m.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
	free(g);
	/* nor of a PTR the overlay has no node for */
	g = ask_from(t, out, "200.2.0.192.in-addr.arpa", DNS_TYPE_PTR);
	assert_int_equal(g->m.rcode, DNS_RCODE_REFUSED);
	free(g);
	assert_int_equal(t->up.udp_queries, 1);
	/* overlay names are for everyone */
	g = ask_from(t, out, "web.ntk", DNS_TYPE_A);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_true(g->m.hdr.aa);
	assert_true(g->count[DNS_SEC_ANSWER] > 0);
	free(g);
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.refused, 2);
	assert_int_equal(st.forwarded, 1);
	close(out);
	/* an empty list: nobody */
	dns_front_free(t->front);
	close(t->udp);
	cfg.n_allow = 0;
	front_start(t, &cfg);
	g = ask(t, "example.com", DNS_TYPE_A, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_REFUSED);
	free(g);
	/* the default: loopback and the interfaces' networks */
	dns_front_free(t->front);
	close(t->udp);
	cfg.allow_local = true;
	front_start(t, &cfg);
	out = tu_udp_client(&t->at, &from);
	assert_true(out >= 0);
	g = ask_from(t, out, "example.com", DNS_TYPE_A);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	free(g);
	close(out);
	assert_int_equal(t->up.udp_queries, 2);
}

/* Sends n queries from fd at once; returns how many answers came. */
static int
flood(struct fixture *t, int fd, int n)
{
	uint8_t q[512], a[512];
	size_t qlen = tu_query(q, sizeof(q), 1, "web.ntk", DNS_TYPE_A, 0);
	int answered = 0;
	uint64_t end = tu_now_ms() + 2000;

	for (int i = 0; i < n; i++)
		assert_int_equal(send(fd, q, qlen, 0), (ssize_t)qlen);
	/* until every answer came, or 2 s; a throttled client stops at
	 * 300 ms without a new one */
	uint64_t quiet = tu_now_ms() + 300;
	while (answered < n && tu_now_ms() < end && tu_now_ms() < quiet) {
		tu_run(t->base, 20);
		while (recv(fd, a, sizeof(a), MSG_DONTWAIT) > 0) {
			answered++;
			quiet = tu_now_ms() + 300;
		}
	}
	return answered;
}

/* 127.0.0.1 is exempt from the rate limit, 127.0.0.55 is not. */
static void
test_rate_exempt(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct dns_front_stats st;
	struct endpoint from = tu_lo(55, 0);
	int other, answered;

	front_cfg(&cfg);
	cfg.rate_qps = 5;
	cfg.rate_burst = 5;
	assert_int_equal(dns_net_parse("127.0.0.1", &cfg.rate_exempt[0]), 0);
	cfg.n_rate_exempt = 1;
	front_start(t, &cfg);
	other = tu_udp_client(&t->at, &from);
	assert_true(other >= 0);
	assert_int_equal(flood(t, t->udp, 40), 40);
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.rate_limited, 0);
	answered = flood(t, other, 40);
	/* the burst, and a token or two refilled meanwhile */
	assert_true(answered >= 5 && answered <= 8);
	dns_front_get_stats(t->front, &st);
	assert_true(st.rate_limited >= 32);
	close(other);
}

/* Networks: parsing, the bits past the prefix, matching. */
static void
test_nets(void **state)
{
	struct dns_net n[3];
	struct endpoint ep = {0};

	(void)state;
	assert_int_equal(dns_net_parse("192.168.1.77/24", &n[0]), 0);
	assert_int_equal(n[0].family, 4);
	assert_int_equal(n[0].prefix, 24);
	assert_int_equal(n[0].ip[3], 0);
	assert_int_equal(dns_net_parse("fd00:1:2:3::/60", &n[1]), 0);
	assert_int_equal(n[1].family, 6);
	assert_int_equal(n[1].prefix, 60);
	assert_int_equal(dns_net_parse("::1", &n[2]), 0);
	assert_int_equal(n[2].prefix, 128);
	ep.family = 4;
	inet_pton(AF_INET, "192.168.1.200", ep.ip);
	assert_true(dns_net_match(n, 3, &ep));
	inet_pton(AF_INET, "192.168.2.1", ep.ip);
	assert_false(dns_net_match(n, 3, &ep));
	ep.family = 6;
	inet_pton(AF_INET6, "fd00:1:2:f::9", ep.ip);
	assert_true(dns_net_match(n, 3, &ep));
	inet_pton(AF_INET6, "fd00:1:2:13::9", ep.ip); /* within the 60 bits */
	assert_false(dns_net_match(n, 3, &ep));
	inet_pton(AF_INET6, "::1", ep.ip);
	assert_true(dns_net_match(n, 3, &ep));
	inet_pton(AF_INET6, "::2", ep.ip);
	assert_false(dns_net_match(n, 3, &ep));
	assert_false(dns_net_match(n, 0, &ep));
	/* /0 holds every address of its family */
	assert_int_equal(dns_net_parse("0.0.0.0/0", &n[0]), 0);
	ep.family = 4;
	assert_true(dns_net_match(n, 1, &ep));
	ep.family = 6;
	assert_false(dns_net_match(n, 1, &ep));
	assert_int_not_equal(dns_net_parse("10.0.0.0/33", &n[0]), 0);
	assert_int_not_equal(dns_net_parse("::/129", &n[0]), 0);
	assert_int_not_equal(dns_net_parse("10.0.0.0/", &n[0]), 0);
	assert_int_not_equal(dns_net_parse("10.0.0.0/-1", &n[0]), 0);
	assert_int_not_equal(dns_net_parse("10.0.0/8", &n[0]), 0);
	assert_int_not_equal(dns_net_parse("/8", &n[0]), 0);
	assert_int_not_equal(dns_net_parse("host.example/8", &n[0]), 0);
}

static void
test_rate_limit(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct dns_front_stats st;
	uint8_t q[512], a[512];
	size_t qlen;
	int answered = 0, refused = 0, fd;

	front_cfg(&cfg);
	cfg.rate_qps = 5;
	cfg.rate_burst = 5;
	front_start(t, &cfg);
	qlen = tu_query(q, sizeof(q), 1, "web.ntk", DNS_TYPE_A, 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(send(t->udp, q, qlen, 0), (ssize_t)qlen);
	tu_run(t->base, 100);
	while (recv(t->udp, a, sizeof(a), MSG_DONTWAIT) > 0)
		answered++;
	/* the burst, and at most one token refilled meanwhile */
	assert_true(answered >= 5 && answered <= 6);
	dns_front_get_stats(t->front, &st);
	assert_true(st.rate_limited >= 14);
	/* over TCP the client hears REFUSED instead of silence */
	fd = tu_tcp_client(&t->at, NULL);
	assert_true(fd >= 0);
	for (int i = 0; i < 5; i++)
		assert_true(tu_tcp_send(fd, q, qlen));
	for (int i = 0; i < 5; i++) {
		struct dns_msg m;
		size_t n = tu_tcp_recv(t->base, fd, a, sizeof(a), 2000);
		assert_true(n > 0);
		assert_int_equal(dns_msg_parse(a, n, &m), 0);
		refused += m.rcode == DNS_RCODE_REFUSED;
	}
	close(fd);
	assert_true(refused >= 4);
}

static void
test_round_robin(void **state)
{
	struct fixture *t = *state;
	int first[2] = {0, 0};

	front_default(t);
	for (int i = 0; i < 10; i++) {
		struct got *g = ask(t, "rr2.ntk", DNS_TYPE_A, 0);
		assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
		assert_int_not_equal(a_last(g, 0), a_last(g, 1));
		first[a_last(g, 0) - 1]++;
		free(g);
	}
	/* equal weights: a strict rotation */
	assert_int_equal(first[0], 5);
	assert_int_equal(first[1], 5);
}

static void
test_weighted_via_front(void **state)
{
	struct fixture *t = *state;
	int heavy = 0;

	front_default(t);
	for (int i = 0; i < 40; i++) {
		struct got *g = ask(t, "weighted.ntk", DNS_TYPE_A, 0);
		assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
		heavy += a_last(g, 0) == 10;
		free(g);
	}
	/* weights 3:1 over a multiple of 4 queries: exactly 3/4 */
	assert_int_equal(heavy, 30);
}

static void
test_weighted_order(void **state)
{
	struct record_entry e[4] = {
	    ent_ip(0, 0, 0, 1, "10.0.0.1"),
	    ent_ip(0, 0, 0, 2, "10.0.0.2"),
	    ent_ip(0, 0, 0, 7, "10.0.0.3"),
	    ent_ip(0, 0, 0, 0, "10.0.0.4"),
	};
	struct dns_pick p, again;
	int first[3] = {0, 0, 0}, second_of_heavy[2] = {0, 0};

	(void)state;
	for (uint64_t c = 0; c < 1000; c++) {
		p.n = 4;
		for (int i = 0; i < 4; i++)
			p.e[i] = &e[i];
		dns_order(&p, 0, 4, c, 99);
		/* the same counter gives the same order */
		again.n = 4;
		for (int i = 0; i < 4; i++)
			again.e[i] = &e[i];
		dns_order(&again, 0, 4, c, 99);
		assert_memory_equal(p.e, again.e, 4 * sizeof(p.e[0]));
		/* a permutation, weight 0 last */
		assert_ptr_equal(p.e[3], &e[3]);
		assert_ptr_not_equal(p.e[0], p.e[1]);
		assert_ptr_not_equal(p.e[1], p.e[2]);
		assert_ptr_not_equal(p.e[0], p.e[2]);
		first[p.e[0] - e]++;
		if (p.e[0] == &e[2])
			second_of_heavy[p.e[1] - e]++;
	}
	/* exactly by weight over 100 cycles of W = 10 */
	assert_int_equal(first[0], 100);
	assert_int_equal(first[1], 200);
	assert_int_equal(first[2], 700);
	/* after the heavy one, weight 2 beats weight 1 about 2:1 */
	assert_true(second_of_heavy[1] > 400 && second_of_heavy[1] < 530);
	assert_int_equal(second_of_heavy[0] + second_of_heavy[1], 700);
	/* equal weights: rotation */
	struct record_entry eq[3] = {e[0], e[0], e[0]};
	for (uint64_t c = 0; c < 6; c++) {
		p.n = 3;
		for (int i = 0; i < 3; i++)
			p.e[i] = &eq[i];
		dns_order(&p, 0, 3, c, 1);
		assert_ptr_equal(p.e[0], &eq[c % 3]);
		assert_ptr_equal(p.e[1], &eq[(c + 1) % 3]);
	}
}

/* A TCP listener in the loop that accepts and closes at once. */
struct tcp_server {
	int fd;
	struct event *ev;
	int accepted;
};

static void
server_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_server *s = arg;
	int c = accept(fd, NULL, NULL);

	if (c >= 0) {
		s->accepted++;
		close(c);
	}
}

static bool
server_open(
    struct tcp_server *s, struct event_base *base, const struct endpoint *ep)
{
	struct sockaddr_storage ss;
	socklen_t sl = dns_endpoint_to_sockaddr(ep, &ss);
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(s->fd, 16) != 0) {
		close(s->fd);
		s->fd = -1;
		return false;
	}
	s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST, server_cb, s);
	event_add(s->ev, NULL);
	return true;
}

static void
server_close(struct tcp_server *s)
{
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->fd >= 0)
		close(s->fd);
	s->ev = NULL;
	s->fd = -1;
}

/* A black hole: a listener whose accept queue is full (listen backlog 0,
 * one connection never accepted), so the kernel drops every further SYN
 * and a connect to it times out, as to a host whose packets vanish. */
struct blackhole {
	int fd;
	int filler[2];
};

static bool
blackhole_open(struct blackhole *b, struct endpoint *ep)
{
	struct sockaddr_storage ss;
	socklen_t sl = dns_endpoint_to_sockaddr(ep, &ss);
	int one = 1;

	b->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(b->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(b->fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(b->fd, 0) != 0) {
		close(b->fd);
		return false;
	}
	sl = sizeof(ss);
	getsockname(b->fd, (struct sockaddr *)&ss, &sl);
	dns_endpoint_from_sockaddr((struct sockaddr *)&ss, ep);
	/* fill the queue; the second filler's SYN is dropped already */
	for (int i = 0; i < 2; i++) {
		b->filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		sl = dns_endpoint_to_sockaddr(ep, &ss);
		connect(b->filler[i], (struct sockaddr *)&ss, sl);
		usleep(20000);
	}
	return true;
}

static void
blackhole_close(struct blackhole *b)
{
	close(b->filler[0]);
	close(b->filler[1]);
	close(b->fd);
}

/* Asks ha.ntk four times: firsts[0] and firsts[1] count the answers that
 * led with 127.0.0.2 and 127.0.0.3. */
static void
ha_firsts(struct fixture *t, int firsts[2])
{
	firsts[0] = firsts[1] = 0;
	for (int i = 0; i < 4; i++) {
		struct got *g = ask(t, "ha.ntk", DNS_TYPE_A, 0);
		firsts[a_last(g, 0) - 2]++;
		free(g);
	}
}

static void
test_health_probes(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct tcp_server s2, s3;
	struct endpoint e2 = tu_lo(2, 0), e3;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int firsts[2];
	bool ok = false;

	/* two servers on one port of 127.0.0.2 and 127.0.0.3 */
	for (int i = 0; i < 20 && !ok; i++) {
		assert_true(server_open(&s2, t->base, &e2));
		getsockname(s2.fd, (struct sockaddr *)&ss, &sl);
		dns_endpoint_from_sockaddr((struct sockaddr *)&ss, &e2);
		e3 = tu_lo(3, e2.port);
		ok = server_open(&s3, t->base, &e3);
		if (!ok) {
			server_close(&s2);
			e2.port = 0;
		}
	}
	assert_true(ok);
	front_cfg(&cfg);
	cfg.probe = true;
	cfg.probe_port = e2.port;
	cfg.probe_cfg.interval_ms = 100;
	cfg.probe_cfg.timeout_ms = 300;
	front_start(t, &cfg);
	/* both up: both come first in turn */
	free(ask(t, "ha.ntk", DNS_TYPE_A, 0));
	tu_run(t->base, 250);
	assert_true(s2.accepted >= 1 && s3.accepted >= 1);
	ha_firsts(t, firsts);
	assert_int_equal(firsts[0], 2);
	assert_int_equal(firsts[1], 2);
	/* one server process dies but its host is up: the connect is
	 * refused, which costs a client nothing, so it keeps its turn */
	server_close(&s2);
	tu_run(t->base, 400);
	ha_firsts(t, firsts);
	assert_int_equal(firsts[0], 2);
	assert_int_equal(firsts[1], 2);
	/* its host dies (its packets vanish): within a probe interval and
	 * a timeout it goes last */
	struct blackhole bh;
	assert_true(blackhole_open(&bh, &e2));
	tu_run(t->base, 800);
	for (int i = 0; i < 6; i++) {
		struct got *g = ask(t, "ha.ntk", DNS_TYPE_A, 0);
		assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
		assert_int_equal(a_last(g, 0), 3);
		assert_int_equal(a_last(g, 1), 2);
		/* a client that takes the first address reaches a server */
		struct endpoint first = tu_lo(3, e2.port);
		int fd = tu_tcp_client(&first, NULL);
		assert_true(fd >= 0);
		close(fd);
		free(g);
	}
	/* it comes back: first again in turn */
	blackhole_close(&bh);
	assert_true(server_open(&s2, t->base, &e2));
	tu_run(t->base, 800);
	ha_firsts(t, firsts);
	assert_int_equal(firsts[0], 2);
	server_close(&s2);
	server_close(&s3);
}

/* What the prober saw change, by the last octet of 127.0.0.x. */
struct changes {
	int n;
	enum dns_health health[8];
	int err[8];
};

static void
change_cb(void *ctx, const struct endpoint *target, enum dns_health was,
    enum dns_health health, int err)
{
	struct changes *c = ctx;

	(void)was;
	if (target->ip[3] < 8) {
		c->health[target->ip[3]] = health;
		c->err[target->ip[3]] = err;
	}
	c->n++;
}

/* Down means no answer at all: an accepted connect and a refused one (a
 * closed port on a host that is up: RST) are up, a black-holed address
 * (its SYNs vanish) is down after the timeout, and so are the ICMP errors
 * that say the host cannot be reached; ICMP port unreachable (which Linux
 * reports as ECONNREFUSED) is up. */
static void
test_probe_down_means_no_answer(void **state)
{
	struct fixture *t = *state;
	struct dns_probe_config cfg;
	struct dns_probe *p;
	struct changes ch;
	struct tcp_server live;
	struct blackhole bh;
	struct endpoint e_live = tu_lo(2, 0), e_closed, e_dead;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint64_t t0;

	/* what each error says of the target */
	assert_int_equal(dns_probe_verdict(0), DNS_HEALTH_UP);
	assert_int_equal(dns_probe_verdict(ECONNREFUSED), DNS_HEALTH_UP);
	assert_int_equal(dns_probe_verdict(ECONNRESET), DNS_HEALTH_UP);
	assert_int_equal(dns_probe_verdict(ETIMEDOUT), DNS_HEALTH_DOWN);
	assert_int_equal(dns_probe_verdict(EHOSTUNREACH), DNS_HEALTH_DOWN);
	assert_int_equal(dns_probe_verdict(ENETUNREACH), DNS_HEALTH_DOWN);
	assert_int_equal(dns_probe_verdict(EACCES), DNS_HEALTH_DOWN);
	assert_int_equal(dns_probe_verdict(EPERM), DNS_HEALTH_DOWN);
	/* this host's own trouble says nothing of the target */
	assert_int_equal(dns_probe_verdict(EADDRNOTAVAIL), DNS_HEALTH_UNKNOWN);
	assert_int_equal(dns_probe_verdict(ENOBUFS), DNS_HEALTH_UNKNOWN);

	/* a listener on 127.0.0.2, a closed port on 127.0.0.3, a black
	 * hole on 127.0.0.4 */
	assert_true(server_open(&live, t->base, &e_live));
	getsockname(live.fd, (struct sockaddr *)&ss, &sl);
	dns_endpoint_from_sockaddr((struct sockaddr *)&ss, &e_live);
	e_closed = tu_lo(3, e_live.port); /* nobody listens there */
	e_dead = tu_lo(4, 0);
	assert_true(blackhole_open(&bh, &e_dead));

	memset(&ch, 0, sizeof(ch));
	dns_probe_config_defaults(&cfg);
	cfg.interval_ms = 200;
	cfg.timeout_ms = 600;
	cfg.change_cb = change_cb;
	cfg.change_ctx = &ch;
	p = dns_probe_new(t->base, &cfg);
	assert_non_null(p);
	/* never probed: unknown, and answers do not wait */
	t0 = tu_now_ms();
	assert_int_equal(dns_probe_health(p, &e_live), DNS_HEALTH_UNKNOWN);
	assert_int_equal(dns_probe_health(p, &e_closed), DNS_HEALTH_UNKNOWN);
	assert_int_equal(dns_probe_health(p, &e_dead), DNS_HEALTH_UNKNOWN);
	assert_true(tu_now_ms() - t0 < 100);
	/* the refusal and the accept come at once; the black hole is still
	 * unknown before its timeout */
	tu_run(t->base, 100);
	assert_int_equal(dns_probe_health(p, &e_live), DNS_HEALTH_UP);
	assert_int_equal(ch.err[2], 0);
	assert_int_equal(dns_probe_health(p, &e_closed), DNS_HEALTH_UP);
	assert_int_equal(ch.err[3], ECONNREFUSED);
	assert_int_equal(dns_probe_health(p, &e_dead), DNS_HEALTH_UNKNOWN);
	tu_run(t->base, 800);
	assert_int_equal(dns_probe_health(p, &e_dead), DNS_HEALTH_DOWN);
	assert_int_equal(ch.health[4], DNS_HEALTH_DOWN);
	assert_int_equal(ch.err[4], ETIMEDOUT);
	/* probed again and again, they stay as they are: one change each */
	tu_run(t->base, 700);
	assert_int_equal(dns_probe_health(p, &e_live), DNS_HEALTH_UP);
	assert_int_equal(dns_probe_health(p, &e_closed), DNS_HEALTH_UP);
	assert_int_equal(dns_probe_health(p, &e_dead), DNS_HEALTH_DOWN);
	assert_int_equal(ch.n, 3);
	struct dns_probe_stats st;
	dns_probe_get_stats(p, &st);
	assert_int_equal(st.targets, 3);
	assert_true(st.probes >= 6);
	assert_true(st.down >= 1 && st.up >= 4);
	/* the dead host comes back (refusing): up */
	blackhole_close(&bh);
	tu_run(t->base, 1000);
	assert_int_equal(dns_probe_health(p, &e_dead), DNS_HEALTH_UP);
	assert_int_equal(ch.err[4], ECONNREFUSED);
	assert_int_equal(ch.n, 4);
	dns_probe_free(p);
	server_close(&live);
}

static void
test_probes_on_by_default(void **state)
{
	struct dns_front_config cfg;

	(void)state;
	dns_front_config_defaults(&cfg);
	assert_true(cfg.probe);
	assert_int_equal(cfg.probe_port, 80);
	assert_int_equal(cfg.probe_cfg.interval_ms, 5000);
	assert_int_equal(cfg.probe_cfg.timeout_ms, 1000);
	assert_int_equal(cfg.listen[0].port, 53);
	assert_string_equal(cfg.suffixes[0], "ntk");
	assert_null(cfg.forward);
}

static void
test_tcp_pipelining_and_idle(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	const char *names[3] = {"slowish.ntk", "web.ntk", "v4only.ntk"};
	uint8_t q[512], a[4096];
	uint16_t order[3];
	int fd;
	uint64_t t0;

	front_cfg(&cfg);
	cfg.tcp_idle_ms = 300;
	front_start(t, &cfg);
	fd = tu_tcp_client(&t->at, NULL);
	assert_true(fd >= 0);
	for (int i = 0; i < 3; i++) {
		size_t n = tu_query(
		    q, sizeof(q), (uint16_t)(100 + i), names[i], DNS_TYPE_A, 0);
		assert_true(tu_tcp_send(fd, q, n));
	}
	for (int i = 0; i < 3; i++) {
		struct dns_msg m;
		size_t n = tu_tcp_recv(t->base, fd, a, sizeof(a), 3000);
		assert_true(n > 0);
		assert_int_equal(dns_msg_parse(a, n, &m), 0);
		assert_int_equal(m.rcode, DNS_RCODE_NOERROR);
		order[i] = m.hdr.id;
	}
	/* answered as they completed: the slow one last */
	assert_int_equal(order[2], 100);
	assert_true(order[0] != order[1] && order[0] >= 101 && order[1] >= 101);
	/* then idle: the server closes the connection */
	t0 = tu_now_ms();
	assert_true(tu_wait_fd(t->base, fd, 2000));
	assert_int_equal(recv(fd, a, sizeof(a), MSG_DONTWAIT), 0);
	assert_true(tu_now_ms() - t0 >= 250);
	close(fd);
}

static void
test_tcp_eof_and_cap(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct dns_front_stats st;
	uint8_t q[512], a[4096];
	size_t n;
	int fd[3];

	front_cfg(&cfg);
	cfg.tcp_max_conns = 2;
	front_start(t, &cfg);
	/* a client that half-closes after its query still gets the answer */
	fd[0] = tu_tcp_client(&t->at, NULL);
	n = tu_query(q, sizeof(q), 7, "slowish.ntk", DNS_TYPE_A, 0);
	assert_true(tu_tcp_send(fd[0], q, n));
	shutdown(fd[0], SHUT_WR);
	n = tu_tcp_recv(t->base, fd[0], a, sizeof(a), 3000);
	assert_true(n > 0);
	assert_true(tu_wait_fd(t->base, fd[0], 2000));
	assert_int_equal(recv(fd[0], a, sizeof(a), MSG_DONTWAIT), 0);
	close(fd[0]);
	tu_run(t->base, 20);
	/* the cap: a third connection is closed at once */
	for (int i = 0; i < 3; i++) {
		fd[i] = tu_tcp_client(&t->at, NULL);
		assert_true(fd[i] >= 0);
		tu_run(t->base, 20);
	}
	assert_true(tu_wait_fd(t->base, fd[2], 2000));
	assert_int_equal(recv(fd[2], a, sizeof(a), MSG_DONTWAIT), 0);
	n = tu_query(q, sizeof(q), 8, "web.ntk", DNS_TYPE_A, 0);
	assert_true(tu_tcp_send(fd[1], q, n));
	assert_true(tu_tcp_recv(t->base, fd[1], a, sizeof(a), 3000) > 0);
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.tcp_rejected, 1);
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	/* a query that cannot hold a header ends the connection */
	tu_run(t->base, 50);
	fd[0] = tu_tcp_client(&t->at, NULL);
	assert_true(tu_tcp_send(fd[0], (const uint8_t *)"xyz", 3));
	assert_true(tu_wait_fd(t->base, fd[0], 2000));
	assert_int_equal(recv(fd[0], a, sizeof(a), MSG_DONTWAIT), 0);
	close(fd[0]);
	assert_alive(t);
}

/* Whether the server closed fd: readable and at its end (or reset). */
static bool
closed_by_server(struct fixture *t, int fd, int ms)
{
	uint8_t a[512];

	return tu_wait_fd(t->base, fd, ms) &&
	    recv(fd, a, sizeof(a), MSG_DONTWAIT) <= 0;
}

/* One host gets no more than its share of the TCP slots: its next
 * connection is closed at once, while another host still gets in and is
 * answered; the total cap holds for every host together. */
static void
test_tcp_host_share(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct dns_front_stats st;
	struct endpoint other = tu_lo(55, 0), third = tu_lo(56, 0);
	uint8_t q[512], a[4096];
	size_t n;
	int mine[3], theirs[3];

	front_cfg(&cfg);
	cfg.tcp_max_conns = 4;
	cfg.tcp_max_per_host = 2;
	front_start(t, &cfg);
	for (int i = 0; i < 3; i++) {
		mine[i] = tu_tcp_client(&t->at, NULL);
		assert_true(mine[i] >= 0);
		tu_run(t->base, 20);
	}
	assert_true(closed_by_server(t, mine[2], 2000));
	assert_false(closed_by_server(t, mine[0], 50));
	/* another host: in, and answered, though the first holds its share */
	for (int i = 0; i < 2; i++) {
		theirs[i] = tu_tcp_client(&t->at, &other);
		assert_true(theirs[i] >= 0);
		tu_run(t->base, 20);
	}
	n = tu_query(q, sizeof(q), 9, "web.ntk", DNS_TYPE_A, 0);
	assert_true(tu_tcp_send(theirs[1], q, n));
	assert_true(tu_tcp_recv(t->base, theirs[1], a, sizeof(a), 3000) > 0);
	/* all four slots taken: a third host waits for one */
	theirs[2] = tu_tcp_client(&t->at, &third);
	assert_true(theirs[2] >= 0);
	assert_true(closed_by_server(t, theirs[2], 2000));
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.tcp_conns, 4);
	assert_int_equal(st.tcp_rejected, 2);
	for (int i = 0; i < 3; i++) {
		close(mine[i]);
		close(theirs[i]);
	}
}

/* A query trickled a byte at a time (a slow-loris) does not hold the
 * connection open: it is closed tcp_idle_ms after it opened, while one
 * that sends whole queries more often than that stays. */
static void
test_tcp_slow_query(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	uint8_t q[512], a[4096];
	size_t n;
	uint64_t t0;
	int fd, sent = 0;

	front_cfg(&cfg);
	cfg.tcp_idle_ms = 300;
	front_start(t, &cfg);
	n = tu_query(q + 2, sizeof(q) - 2, 11, "web.ntk", DNS_TYPE_A, 0);
	q[0] = (uint8_t)(n >> 8);
	q[1] = (uint8_t)n;
	t0 = tu_now_ms();
	fd = tu_tcp_client(&t->at, NULL);
	assert_true(fd >= 0);
	/* a byte every 50 ms: the whole query would take over a second */
	while (sent < (int)n + 2 && tu_now_ms() - t0 < 3000) {
		if (send(fd, q + sent, 1, MSG_NOSIGNAL) != 1)
			break;
		sent++;
		if (closed_by_server(t, fd, 50))
			break;
	}
	assert_true(sent < (int)n + 2);
	assert_true(tu_now_ms() - t0 >= 250);
	assert_true(tu_now_ms() - t0 < 1000);
	close(fd);
	/* whole queries every 150 ms for 900 ms: one connection answers all */
	fd = tu_tcp_client(&t->at, NULL);
	assert_true(fd >= 0);
	for (int i = 0; i < 6; i++) {
		assert_true(tu_tcp_send(fd, q + 2, n));
		assert_true(tu_tcp_recv(t->base, fd, a, sizeof(a), 3000) > 0);
		tu_run(t->base, 150);
	}
	close(fd);
}

static void
test_client_gone_cancels(void **state)
{
	struct fixture *t = *state;
	uint8_t q[512];
	size_t n;
	int fd;

	front_default(t);
	fd = tu_tcp_client(&t->at, NULL);
	n = tu_query(q, sizeof(q), 7, "slow.ntk", DNS_TYPE_A, 0);
	assert_true(tu_tcp_send(fd, q, n));
	tu_run(t->base, 50);
	assert_non_null(t->fk.pend);
	/* a reset, not a half-close (after which the answer is still due) */
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	tu_run(t->base, 50);
	assert_null(t->fk.pend);
	assert_int_equal(t->fk.cancels, 1);
	/* and a lookup in flight when the front is freed */
	n = tu_query(q, sizeof(q), 7, "slow.ntk", DNS_TYPE_A, 0);
	assert_int_equal(send(t->udp, q, n, 0), (ssize_t)n);
	tu_run(t->base, 50);
	assert_non_null(t->fk.pend);
	dns_front_free(t->front);
	t->front = NULL;
	assert_null(t->fk.pend);
}

static void
test_sync_resolver(void **state)
{
	struct fixture *t = *state;
	struct got *g;

	t->fk.sync = true;
	front_default(t);
	g = ask(t, "web.ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	free(g);
	g = ask(t, "alias.ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 3);
	free(g);
	g = ask(t, "loop1.ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	free(g);
	g = ask(t, "nosuch.ntk", DNS_TYPE_A, 0);
	assert_int_equal(g->m.rcode, DNS_RCODE_NXDOMAIN);
	free(g);
	g = ask(t, "1.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	free(g);
}

static void
test_wildcard_reply_source(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct endpoint to;
	uint8_t q[512], a[512];
	size_t n;
	int fd;

	front_cfg(&cfg);
	cfg.listen[0] = tu_lo(0, 0);
	cfg.listen[0].ip[0] = 0; /* 0.0.0.0 */
	front_start(t, &cfg);
	/* a connected client only takes answers from where it asked */
	for (uint8_t x = 5; x <= 6; x++) {
		to = tu_lo(x, t->at.port);
		fd = tu_udp_client(&to, NULL);
		assert_true(fd >= 0);
		n = tu_query(q, sizeof(q), 9, "web.ntk", DNS_TYPE_A, 0);
		assert_true(
		    tu_udp_ask(t->base, fd, q, n, a, sizeof(a), 2000) > 0);
		close(fd);
	}
}

static void
test_bind_errors(void **state)
{
	struct fixture *t = *state;
	struct dns_front_config cfg;
	struct dns_front_resolver res = {
	    &t->fk, fake_resolve, fake_reverse, fake_cancel};
	struct dns_front *f2 = NULL;

	front_default(t);
	/* the same address and port again */
	front_cfg(&cfg);
	cfg.listen[0] = t->at;
	assert_int_equal(dns_front_new(t->base, &cfg, &res, &f2), ANDNA_EBIND);
	assert_null(f2);
	front_cfg(&cfg);
	cfg.suffixes[0] = "bad..name";
	assert_int_equal(dns_front_new(t->base, &cfg, &res, &f2), ANDNA_EINVAL);
	front_cfg(&cfg);
	cfg.n_listen = 0;
	assert_int_equal(dns_front_new(t->base, &cfg, &res, &f2), ANDNA_EINVAL);
}

static void
test_classify(void **state)
{
	struct dns_name sfx[2], q;
	struct dns_qinfo qi;

	(void)state;
	assert_int_equal(dns_name_from_text("ntk", &sfx[0]), 0);
	assert_int_equal(dns_name_from_text("mesh.local", &sfx[1]), 0);
	dns_name_from_text("Web.Foo.NTK", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_NAME);
	assert_string_equal(qi.name, "web.foo");
	dns_name_from_text("a.mesh.local", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_NAME);
	assert_int_equal(qi.suffix, 1);
	dns_name_from_text("mesh.local", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_APEX);
	dns_name_from_text("_xmpp-client._tcp.chat.ntk", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_SRV);
	assert_int_equal(qi.port, 5222);
	assert_int_equal(qi.proto, RECORD_PROTO_TCP);
	assert_string_equal(qi.name, "chat");
	dns_name_from_text("_0._tcp.chat.ntk", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_BADNAME);
	dns_name_from_text("_80._sctp.chat.ntk", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_BADNAME);
	dns_name_from_text("_http._tcp.ntk", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_BADNAME);
	dns_name_from_text("1-2-3-256._ip.ntk", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_BADNAME);
	dns_name_from_text("01-2-3-4._ip.ntk", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_BADNAME);
	dns_name_from_text("_ip.ntk", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_ADDR_ENT);
	dns_name_from_text("4.3.2.1.IN-ADDR.ARPA", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_REVERSE);
	assert_int_equal(qi.ip.ip[0], 1);
	assert_int_equal(qi.ip.ip[3], 4);
	dns_name_from_text("3.2.1.in-addr.arpa", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_OTHER);
	dns_name_from_text("256.3.2.1.in-addr.arpa", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_OTHER);
	dns_name_from_text("example.com", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_OTHER);
	dns_name_from_text(".", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_OTHER);
	/* a label of a byte no name may hold */
	dns_name_from_text("a\\032b.ntk", &q);
	dns_qname_classify(&q, sfx, 2, &qi);
	assert_int_equal(qi.kind, DNS_Q_BADNAME);
}

static void
test_drop_privileges(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(
	    dns_drop_privileges("no-such-user-andna"), ANDNA_ENOTFOUND);
	if (getuid() != 0) {
		/* already the user (systemd's User=): nothing to drop */
		struct passwd *pw = getpwuid(getuid());
		if (pw == NULL || pw->pw_gid != getgid())
			skip();
		assert_int_equal(dns_drop_privileges(pw->pw_name), 0);
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = dns_drop_privileges("nobody");
		bool ok = rc == 0 && getuid() != 0 && geteuid() != 0 &&
		    setuid(0) != 0 && setgroups(0, NULL) != 0;
		/* and again, now that it runs as nobody */
		ok = ok && dns_drop_privileges("nobody") == 0;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- cookies and the amplification cap ------------------------------ */

/* The first answer carries the client cookie and a server cookie of RFC
 * 9018; a big answer to it is cut to TC by the cap.  The same query with
 * that cookie gets the whole set over UDP, and the cookie back as it was
 * (it is fresh). */
static void
test_cookie_round_trip(void **state)
{
	struct fixture *t = *state;
	struct dns_front_stats st;
	uint8_t ck[DNS_COOKIE_MAX], ck2[DNS_COOKIE_MAX];
	uint32_t ts, now = (uint32_t)(tu_now_ms() / 1000);
	size_t qlen;
	struct got *g;

	front_default(t);
	g = ask_cookie(t, t->udp, "big.ntk", DNS_TYPE_A, CC, 8, &qlen);
	assert_true(g->m.hdr.tc);
	assert_true(g->m.has_question);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
	assert_true(g->len <= DNS_AMP_MAX * qlen);
	assert_int_equal(got_cookie(g, ck), 24);
	assert_memory_equal(ck, CC, 8);
	assert_int_equal(ck[8], 1); /* version */
	assert_int_equal(ck[9] | ck[10] | ck[11], 0);
	/* the front's monotonic clock, in seconds */
	ts = (uint32_t)ck[12] << 24 | (uint32_t)ck[13] << 16 |
	    (uint32_t)ck[14] << 8 | ck[15];
	assert_true(ts >= now && ts <= now + 5);
	free(g);
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.capped, 1);
	assert_int_equal(st.truncated, 1);
	assert_int_equal(st.cookie_valid, 0);

	g = ask_cookie(t, t->udp, "big.ntk", DNS_TYPE_A, ck, 24, &qlen);
	assert_false(g->m.hdr.tc);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 40);
	assert_true(g->len > DNS_AMP_MAX * qlen); /* the cap did not apply */
	assert_int_equal(got_cookie(g, ck2), 24);
	assert_memory_equal(ck2, ck, 24);
	free(g);
	/* a small answer to a client cookie alone is whole, with a cookie */
	g = ask_cookie(t, t->udp, "web.ntk", DNS_TYPE_A, CC, 8, &qlen);
	assert_false(g->m.hdr.tc);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	assert_int_equal(got_cookie(g, ck2), 24);
	free(g);
	/* without EDNS there is no cookie, and no cookie in the answer */
	g = ask(t, "web.ntk", DNS_TYPE_A, 0);
	assert_false(g->m.edns.present);
	free(g);
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.cookie_valid, 1);
	assert_int_equal(st.cookie_invalid, 0);
	assert_int_equal(st.capped, 1);
}

/* A server cookie that is forged, made for another address, sent with
 * another client cookie, of another length or version is not valid: the
 * answer is capped and carries a new server cookie, which is. */
static void
test_cookie_not_valid(void **state)
{
	struct fixture *t = *state;
	struct endpoint from = tu_lo(2, 0);
	struct dns_front_stats st;
	uint8_t ck[DNS_COOKIE_MAX], bad[DNS_COOKIE_MAX], got[DNS_COOKIE_MAX];
	size_t qlen;
	int fd2;
	struct got *g;
	struct {
		const char *what;
		size_t off; /* octet changed, or 0: length 16 */
	} cases[] = {
	    {"a forged hash", 23},
	    {"another client cookie", 0 + 3},
	    {"another time", 15},
	    {"version 2", 8},
	    {"a server cookie of 8 octets", 0},
	};

	front_default(t);
	learn_cookie(t, t->udp, ck);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].off != 0 ? 24 : 16;
		memcpy(bad, ck, 24);
		if (cases[i].off != 0)
			bad[cases[i].off] ^= cases[i].off == 8 ? 3 : 0x40;
		g = ask_cookie(
		    t, t->udp, "big.ntk", DNS_TYPE_A, bad, len, &qlen);
		if (!g->m.hdr.tc)
			fail_msg("%s: the whole answer", cases[i].what);
		assert_true(g->len <= DNS_AMP_MAX * qlen);
		assert_int_equal(got_cookie(g, got), 24);
		assert_memory_equal(got, bad, 8);
		if (len == 24)
			assert_memory_not_equal(got + 8, bad + 8, 16);
		free(g);
		/* the new one is good */
		g = ask_cookie(
		    t, t->udp, "big.ntk", DNS_TYPE_A, got, 24, &qlen);
		assert_false(g->m.hdr.tc);
		assert_int_equal(g->count[DNS_SEC_ANSWER], 40);
		free(g);
	}
	/* the cookie of 127.0.0.1, sent from 127.0.0.2 */
	fd2 = tu_udp_client(&t->at, &from);
	assert_true(fd2 >= 0);
	g = ask_cookie(t, fd2, "big.ntk", DNS_TYPE_A, ck, 24, &qlen);
	assert_true(g->m.hdr.tc);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
	free(g);
	/* 127.0.0.2 with a cookie of its own */
	learn_cookie(t, fd2, bad);
	assert_memory_not_equal(bad + 16, ck + 16, 8);
	g = ask_cookie(t, fd2, "big.ntk", DNS_TYPE_A, bad, 24, &qlen);
	assert_false(g->m.hdr.tc);
	free(g);
	close(fd2);
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.cookie_invalid, 6);
	assert_int_equal(st.cookie_valid, 6);
	assert_int_equal(st.capped, 6);
}

/* A COOKIE option of a length other than 8 or 16..40 is FORMERR (RFC
 * 7873 section 5.2.2), with no cookie in the answer. */
static void
test_cookie_malformed(void **state)
{
	struct fixture *t = *state;
	static const size_t lens[] = {0, 1, 7, 9, 15, 41, 64};
	uint8_t junk[64], got[DNS_COOKIE_MAX];
	struct dns_front_stats st;
	size_t qlen;
	struct got *g;

	front_default(t);
	memset(junk, 0x5a, sizeof(junk));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		g = ask_cookie(
		    t, t->udp, "web.ntk", DNS_TYPE_A, junk, lens[i], &qlen);
		assert_int_equal(g->m.rcode, DNS_RCODE_FORMERR);
		assert_true(g->m.has_question);
		assert_int_equal(g->count[DNS_SEC_ANSWER], 0);
		assert_int_equal(got_cookie(g, got), 0);
		free(g);
	}
	/* 16 and 40 are well formed (a server cookie not ours) */
	g = ask_cookie(t, t->udp, "web.ntk", DNS_TYPE_A, junk, 40, &qlen);
	assert_int_equal(g->m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 2);
	free(g);
	dns_front_get_stats(t->front, &st);
	assert_int_equal(st.formerr, 7);
	assert_int_equal(st.cookie_invalid, 8);
	assert_alive(t);
}

/* dns_cookie_check() on its own, with the clock in the test's hands:
 * the window of RFC 9018 (1 hour old, 5 minutes ahead, across the wrap
 * of the 32-bit time), renewal after half an hour, the address and the
 * secret; and random options never pass. */
static void
test_cookie_window(void **state)
{
	struct dns_cookies c, other;
	struct endpoint ep = tu_lo(7, 0), ep6;
	uint8_t q[512], ck[DNS_COOKIE_MAX], out[DNS_COOKIE_MAX];
	uint32_t starts[] = {1764000000u, 0xffffff00u};
	struct dns_msg m;
	size_t qlen, len;

	(void)state;
	memset(&ep6, 0, sizeof(ep6));
	ep6.family = 6;
	ep6.ip[15] = 7;
	for (size_t k = 0; k < 2; k++) {
		uint32_t t0 = starts[k];
		struct {
			int32_t dt;
			enum dns_cookie_status want;
			bool renewed;
		} w[] = {
		    {0, DNS_COOKIE_VALID, false},
		    {1800, DNS_COOKIE_VALID, false},
		    {1801, DNS_COOKIE_VALID, true},
		    {3600, DNS_COOKIE_VALID, true},
		    {3601, DNS_COOKIE_INVALID, true},
		    {-300, DNS_COOKIE_VALID, true},
		    {-301, DNS_COOKIE_INVALID, true},
		};
		dns_cookies_init(&c, t0);
		dns_cookies_init(&other, t0);
		qlen = query_cookie(q, sizeof(q), "x.ntk", 1, CC, 8);
		assert_int_equal(dns_query_parse(q, qlen, &m), 0);
		assert_int_equal(dns_cookie_check(&c, &m, &ep, t0, ck, &len),
		    DNS_COOKIE_CLIENT);
		assert_int_equal(len, 24);
		qlen = query_cookie(q, sizeof(q), "x.ntk", 1, ck, 24);
		assert_int_equal(dns_query_parse(q, qlen, &m), 0);
		for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
			uint32_t now = t0 + (uint32_t)w[i].dt;
			uint32_t ts;
			assert_int_equal(
			    dns_cookie_check(&c, &m, &ep, now, out, &len),
			    w[i].want);
			assert_int_equal(len, 24);
			ts = (uint32_t)out[12] << 24 | (uint32_t)out[13] << 16 |
			    (uint32_t)out[14] << 8 | out[15];
			assert_int_equal(ts, w[i].renewed ? now : t0);
		}
		/* the address and the secret are in the hash */
		assert_int_equal(dns_cookie_check(&c, &m, &ep6, t0, out, &len),
		    DNS_COOKIE_INVALID);
		ep6.family = 4; /* 0.0.0.0 */
		assert_int_equal(dns_cookie_check(&c, &m, &ep6, t0, out, &len),
		    DNS_COOKIE_INVALID);
		ep6.family = 6;
		assert_int_equal(
		    dns_cookie_check(&other, &m, &ep, t0, out, &len),
		    DNS_COOKIE_INVALID);
	}
	/* no OPT record, an OPT without a cookie */
	qlen = tu_query(q, sizeof(q), 1, "x.ntk", 1, 0);
	assert_int_equal(dns_query_parse(q, qlen, &m), 0);
	assert_int_equal(
	    dns_cookie_check(&c, &m, &ep, 1, out, &len), DNS_COOKIE_NONE);
	assert_int_equal(len, 0);
	qlen = tu_query(q, sizeof(q), 1, "x.ntk", 1, 1232);
	assert_int_equal(dns_query_parse(q, qlen, &m), 0);
	assert_int_equal(
	    dns_cookie_check(&c, &m, &ep, 1, out, &len), DNS_COOKIE_NONE);
	/* random options of every length: never valid, and the status
	 * follows the length alone */
	for (int i = 0; i < 2000; i++) {
		uint8_t junk[48];
		size_t n = (size_t)i % sizeof(junk);
		enum dns_cookie_status st, want;
		randombytes_buf(junk, sizeof(junk));
		if (i % 3 == 0 && n == 24)
			junk[8] = 1; /* our version: the hash must fail */
		qlen = query_cookie(q, sizeof(q), "x.ntk", 1, junk, n);
		assert_int_equal(dns_query_parse(q, qlen, &m), 0);
		st = dns_cookie_check(&c, &m, &ep, 1, out, &len);
		want = n == 8		 ? DNS_COOKIE_CLIENT
		    : n >= 16 && n <= 40 ? DNS_COOKIE_INVALID
					 : DNS_COOKIE_MALFORMED;
		assert_int_equal(st, want);
		assert_int_equal(len, want == DNS_COOKIE_MALFORMED ? 0 : 24);
	}
	/* the cap: a few times the query, never above the client's limit,
	 * and none for a valid cookie */
	assert_int_equal(
	    dns_cookie_udp_limit(1232, 50, DNS_COOKIE_NONE), 50 * DNS_AMP_MAX);
	assert_int_equal(dns_cookie_udp_limit(1232, 50, DNS_COOKIE_CLIENT),
	    50 * DNS_AMP_MAX);
	assert_int_equal(
	    dns_cookie_udp_limit(1232, 50, DNS_COOKIE_VALID), 1232);
	assert_int_equal(
	    dns_cookie_udp_limit(512, 400, DNS_COOKIE_INVALID), 512);
	dns_cookies_fini(&c);
	dns_cookies_fini(&other);
}

/* Asks c for a cookie for CC at time now (a client cookie alone) into
 * out. */
static void
cookie_at(struct dns_cookies *c, uint32_t now, uint8_t out[DNS_COOKIE_MAX])
{
	struct endpoint ep = tu_lo(7, 0);
	uint8_t q[512];
	struct dns_msg m;
	size_t qlen = query_cookie(q, sizeof(q), "x.ntk", 1, CC, 8), len;

	assert_int_equal(dns_query_parse(q, qlen, &m), 0);
	assert_int_equal(
	    dns_cookie_check(c, &m, &ep, now, out, &len), DNS_COOKIE_CLIENT);
	assert_int_equal(len, 24);
}

/* What c says of the cookie ck (24 octets) at time now; out gets the
 * cookie it answers with. */
static enum dns_cookie_status
cookie_judge(struct dns_cookies *c, const uint8_t *ck, uint32_t now,
    uint8_t out[DNS_COOKIE_MAX])
{
	struct endpoint ep = tu_lo(7, 0);
	uint8_t q[512];
	struct dns_msg m;
	size_t qlen = query_cookie(q, sizeof(q), "x.ntk", 1, ck, 24), len;

	assert_int_equal(dns_query_parse(q, qlen, &m), 0);
	return dns_cookie_check(c, &m, &ep, now, out, &len);
}

/* A new secret every DNS_COOKIE_ROTATE_S: cookies made before the change
 * stay good for their hour, and those made after it are not the old
 * secret's. */
static void
test_cookie_rotation(void **state)
{
	struct dns_cookies c, before;
	uint8_t old[DNS_COOKIE_MAX], cur[DNS_COOKIE_MAX], out[DNS_COOKIE_MAX];
	uint32_t t0 = 5000, r = t0 + DNS_COOKIE_ROTATE_S;

	(void)state;
	dns_cookies_init(&c, t0);
	before = c;
	cookie_at(&c, r - 100, old);
	cookie_at(&c, r, cur); /* the secret changes first */
	assert_int_equal(cookie_judge(&c, old, r + 100, out), DNS_COOKIE_VALID);
	assert_memory_equal(out, old, 24);
	assert_int_equal(cookie_judge(&c, cur, r + 100, out), DNS_COOKIE_VALID);
	/* the secret of before, at the same time, did not make cur */
	assert_int_equal(
	    cookie_judge(&before, cur, r + 100, out), DNS_COOKIE_INVALID);
	/* old is past its hour anyway at the next change; cur, renewed at
	 * r + 1801, lives on under the new secret */
	assert_int_equal(
	    cookie_judge(&c, cur, r + 1801, out), DNS_COOKIE_VALID);
	memcpy(cur, out, 24);
	assert_int_equal(
	    cookie_judge(&c, cur, r + 1801 + 3600, out), DNS_COOKIE_VALID);
	assert_int_equal(
	    cookie_judge(&c, old, r + 1801 + 3600, out), DNS_COOKIE_INVALID);
	dns_cookies_fini(&c);
	dns_cookies_fini(&before);
}

/* dns_cookie_append() on answers as upstreams send them: the option goes
 * at the end of an OPT record that ends the packet; an answer without
 * one, with a cookie already, with a record after the OPT or without
 * room is left alone. */
static void
test_cookie_append(void **state)
{
	uint8_t q[512], a[600], ck[24];
	const uint8_t *d;
	uint16_t dlen;
	uint8_t ip[4] = {192, 0, 2, 1};
	struct dns_builder b;
	struct dns_msg m, r;
	size_t qlen, len, n;

	(void)state;
	memset(ck, 0xcc, sizeof(ck));
	qlen = tu_query(q, sizeof(q), 9, "x.example", DNS_TYPE_A, 1232);
	assert_int_equal(dns_query_parse(q, qlen, &m), 0);
	assert_int_equal(dns_response_init(&b, a, sizeof(a), 512, &m), 0);
	dns_response_add_a(&b, DNS_SEC_ANSWER, &m.q.name, 60, ip);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	/* no room: unchanged */
	assert_int_equal(dns_cookie_append(a, len, len + 27, ck, 24), len);
	n = dns_cookie_append(a, len, sizeof(a), ck, 24);
	assert_int_equal(n, len + 28);
	assert_int_equal(dns_msg_parse(a, n, &r), 0);
	assert_int_equal(r.hdr.ancount, 1);
	assert_int_equal(dns_edns_option(&r, DNS_EDNS_COOKIE, &d, &dlen), 0);
	assert_int_equal(dlen, 24);
	assert_memory_equal(d, ck, 24);
	/* a cookie there already (the upstream's): unchanged */
	assert_int_equal(dns_cookie_append(a, n, sizeof(a), ck, 24), n);
	/* no OPT record: unchanged */
	qlen = tu_query(q, sizeof(q), 9, "x.example", DNS_TYPE_A, 0);
	assert_int_equal(dns_query_parse(q, qlen, &m), 0);
	assert_int_equal(dns_response_init(&b, a, sizeof(a), 512, &m), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	assert_int_equal(dns_cookie_append(a, len, sizeof(a), ck, 24), len);
	/* a record after the OPT (a TSIG would be): unchanged */
	qlen = tu_query(q, sizeof(q), 9, "x.example", DNS_TYPE_A, 1232);
	assert_int_equal(dns_query_parse(q, qlen, &m), 0);
	assert_int_equal(dns_response_init(&b, a, sizeof(a), 512, &m), 0);
	assert_int_equal(dns_response_finish(&b, &len), 0);
	memcpy(a + len, "\0\0\1\0\1\0\0\0\0\0\4\1\2\3\4", 15);
	a[11] = 2; /* two additional records */
	assert_int_equal(dns_msg_parse(a, len + 15, &r), 0);
	assert_int_equal(
	    dns_cookie_append(a, len + 15, sizeof(a), ck, 24), len + 15);
	/* not a DNS message: unchanged */
	assert_int_equal(dns_cookie_append(a, 5, sizeof(a), ck, 24), 5);
}

/* The attack of issue 18: a one-letter name with 16 IPv6 addresses and
 * 16 SRV targets, asked over UDP for every type that has something big
 * to say, without EDNS, with every EDNS size, with a client cookie alone
 * and with a bad server cookie.  No answer is more than DNS_AMP_MAX times
 * its query; with a valid cookie the same queries give whole answers far
 * above it, so it is the cap that holds. */
static void
test_amplification_cap(void **state)
{
	struct fixture *t = *state;
	static const char *const names[] = {"s.ntk", "_5060._udp.s.ntk"};
	static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_AAAA,
	    DNS_TYPE_ANY, DNS_TYPE_SRV, DNS_TYPE_TXT, DNS_TYPE_MX};
	static const uint16_t sizes[] = {0, 512, 1232, 4096, 65535};
	uint8_t ck[DNS_COOKIE_MAX], bad[DNS_COOKIE_MAX];
	double worst = 0, proven = 0;
	size_t qlen;
	struct got *g;

	front_default(t);
	learn_cookie(t, t->udp, ck);
	memcpy(bad, ck, 24);
	bad[20] ^= 1;
	for (size_t n = 0; n < 2; n++) {
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
			uint16_t qt = types[k];
			double r;
			for (size_t e = 0; e < sizeof(sizes) / sizeof(sizes[0]);
			     e++) {
				uint8_t q[512];
				qlen = tu_query(
				    q, sizeof(q), 7, names[n], qt, sizes[e]);
				g = got_new();
				assert_true(ask_raw(t, q, qlen, g, 3000) > 0);
				r = (double)g->len / (double)qlen;
				worst = r > worst ? r : worst;
				free(g);
			}
			for (int c = 0; c < 3; c++) {
				const uint8_t *sent = c == 0 ? CC
				    : c == 1		     ? bad
							     : ck;
				g = ask_cookie(t, t->udp, names[n], qt, sent,
				    c == 0 ? 8 : 24, &qlen);
				r = (double)g->len / (double)qlen;
				if (c < 2)
					worst = r > worst ? r : worst;
				else
					proven = r > proven ? r : proven;
				free(g);
			}
		}
	}
	print_message("worst answer/query without a valid cookie: %.2f "
		      "(cap %d); with one: %.2f\n",
	    worst, DNS_AMP_MAX, proven);
	assert_true(worst <= DNS_AMP_MAX);
	assert_true(proven > 2 * DNS_AMP_MAX);
	/* over TCP nothing is capped: the 16 addresses and the SRV set */
	g = ask_tcp(t, "s.ntk", DNS_TYPE_AAAA);
	assert_false(g->m.hdr.tc);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 16);
	free(g);
	g = ask_tcp(t, "_5060._udp.s.ntk", DNS_TYPE_SRV);
	assert_int_equal(g->count[DNS_SEC_ANSWER], 16);
	assert_int_equal(g->count[DNS_SEC_ADDITIONAL], 16);
	free(g);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_a),
	    T(test_aaaa),
	    T(test_srv),
	    T(test_ptr),
	    T(test_soa_ns),
	    T(test_ns_name_configured),
	    T(test_nxdomain_nodata),
	    T(test_short_ttl),
	    T(test_cname),
	    T(test_forty_addresses),
	    T(test_case_kept),
	    T(test_cookie_round_trip),
	    T(test_cookie_not_valid),
	    T(test_cookie_malformed),
	    cmocka_unit_test(test_cookie_window),
	    cmocka_unit_test(test_cookie_rotation),
	    cmocka_unit_test(test_cookie_append),
	    T(test_amplification_cap),
	    T(test_malformed),
	    T(test_cut_datagram),
	    T(test_batch),
	    T(test_kept_outcomes),
	    T(test_ready),
	    T(test_notimp_badvers),
	    T(test_servfail_on_timeout),
	    T(test_servfail_on_failed_call),
	    T(test_refused_without_upstream),
	    T(test_forwarding),
	    T(test_rate_limit),
	    T(test_allow),
	    T(test_rate_exempt),
	    cmocka_unit_test(test_nets),
	    T(test_round_robin),
	    T(test_weighted_via_front),
	    cmocka_unit_test(test_weighted_order),
	    T(test_health_probes),
	    T(test_probe_down_means_no_answer),
	    cmocka_unit_test(test_probes_on_by_default),
	    T(test_tcp_pipelining_and_idle),
	    T(test_tcp_eof_and_cap),
	    T(test_tcp_host_share),
	    T(test_tcp_slow_query),
	    T(test_client_gone_cancels),
	    T(test_sync_resolver),
	    T(test_wildcard_reply_source),
	    T(test_bind_errors),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_drop_privileges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
