/* The DNS front on a real engine through node/dns/dns_engine.c: one node
 * founds an overlay alone (an in-memory store, its own packets looped
 * back), registers names, and answers them over DNS on 127.0.0.1; lookups
 * started from inside an outcome (a CNAME chase) never re-enter the
 * engine; lookups with no engine yet get SERVFAIL. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "node/dns/dns_engine.h"
#include "node/dns/dns_front.h"
#include "proto/err.h"
#include "store/store.h"
#include "tests/dns_util.h"

#define MAX_PKTS 256

struct pkt {
	struct endpoint to;
	uint8_t *buf;
	size_t len;
};

struct fixture {
	struct event_base *base;
	struct engine *e;
	struct store *st;
	struct endpoint self;
	struct keypair owner;
	uint64_t now;
	struct pkt q[MAX_PKTS];
	int nq;
	int in_engine; /* depth of engine calls on the stack */
	int reentered; /* engine calls made from inside an engine call */
	struct dns_engine *de;
	struct dns_front *front;
	struct endpoint at;
	int udp;
	bool have_engine;
	uint64_t last_id;
	int last_status;
	int events;
};

static void
send_cb(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	struct fixture *t = ctx;

	assert_true(t->nq < MAX_PKTS);
	t->q[t->nq].to = *to;
	t->q[t->nq].buf = malloc(len);
	assert_non_null(t->q[t->nq].buf);
	memcpy(t->q[t->nq].buf, buf, len);
	t->q[t->nq].len = len;
	t->nq++;
}

static void
random_cb(void *ctx, void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

static void
event_cb(void *ctx, const struct engine_event *ev)
{
	struct fixture *t = ctx;

	t->events++;
	if (ev->type == ENGINE_EV_REGISTER_DONE) {
		t->last_id = ev->id;
		t->last_status = ev->status;
	}
	dns_engine_event(t->de, ev);
}

/* Delivers queued packets addressed to the node back to it, and the
 * engine's due work, until nothing is left (bounded). */
static void
pump(struct fixture *t)
{
	for (int round = 0; round < 100; round++) {
		int n = t->nq;
		struct pkt batch[MAX_PKTS];
		memcpy(batch, t->q, (size_t)n * sizeof(batch[0]));
		t->nq = 0;
		t->in_engine++;
		for (int i = 0; i < n; i++) {
			engine_input(
			    t->e, &t->self, batch[i].buf, batch[i].len, t->now);
			free(batch[i].buf);
		}
		engine_tick(t->e, t->now);
		t->in_engine--;
		if (n == 0 && t->nq == 0)
			return;
	}
}

static struct engine *
host_engine(void *ctx)
{
	struct fixture *t = ctx;
	return t->have_engine ? t->e : NULL;
}

static uint64_t
host_now(void *ctx)
{
	struct fixture *t = ctx;
	if (t->in_engine > 0)
		t->reentered++;
	return t->now;
}

static void
host_done(void *ctx)
{
	pump(ctx);
}

static int
setup(void **state)
{
	struct fixture *t = calloc(1, sizeof(*t));
	struct engine_config cfg;
	struct engine_io io;
	struct keypair node;

	assert_non_null(t);
	assert_int_equal(crypto_init(), 0);
	t->base = event_base_new();
	t->now = 1000000;
	t->udp = -1;
	assert_int_equal(store_mem_open(NULL, &t->st), 0);
	engine_config_defaults(&cfg);
	memset(&io, 0, sizeof(io));
	io.ctx = t;
	io.send_cb = send_cb;
	io.random_cb = random_cb;
	io.event_cb = event_cb;
	io.store = t->st;
	keypair_generate(&node);
	keypair_generate(&t->owner);
	t->self = tu_lo(1, 7269);
	t->e = engine_new(&cfg, &io, &node, &t->self, 1, t->now);
	assert_non_null(t->e);
	engine_bootstrap(t->e, NULL, 0, t->now);
	pump(t);
	for (int i = 0; i < 50 && !engine_hooked(t->e); i++) {
		t->now += 1000;
		pump(t);
	}
	assert_true(engine_hooked(t->e));
	t->have_engine = true;
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
	dns_engine_free(t->de);
	engine_free(t->e);
	for (int i = 0; i < t->nq; i++)
		free(t->q[i].buf);
	store_close(t->st);
	event_base_free(t->base);
	free(t);
	return 0;
}

/* Registers name with entries and waits for the outcome. */
static void
reg(struct fixture *t, const char *name, const struct record_entry *e, int n)
{
	uint64_t id;

	t->last_id = 0;
	assert_int_equal(
	    engine_register(t->e, name, e, n, 0, &t->owner, t->now, &id), 0);
	pump(t);
	for (int i = 0; i < 20 && t->last_id != id; i++) {
		t->now += 500;
		pump(t);
	}
	assert_int_equal(t->last_id, id);
	assert_int_equal(t->last_status, 0);
}

static struct record_entry
host4(const char *ip)
{
	struct record_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = RECORD_TARGET_IPV4;
	inet_pton(AF_INET, ip, e.target.ip);
	return e;
}

static void
start_front(struct fixture *t)
{
	struct dns_engine_host host = {
	    t, host_engine, host_now, host_done, 7269};
	struct dns_front_resolver res;
	struct dns_front_config cfg;

	t->de = dns_engine_new(t->base, &host);
	assert_non_null(t->de);
	dns_engine_resolver(t->de, &res);
	dns_front_config_defaults(&cfg);
	cfg.listen[0] = tu_lo(1, 0);
	cfg.n_listen = 1;
	cfg.rate_qps = 0;
	cfg.probe = false; /* no connects to the records' addresses */
	assert_int_equal(dns_front_new(t->base, &cfg, &res, &t->front), 0);
	assert_int_equal(dns_front_local(t->front, 0, &t->at), 0);
	t->udp = tu_udp_client(&t->at, NULL);
	assert_true(t->udp >= 0);
}

/* Asks over UDP and parses the answer into m (pkt must outlive it). */
static void
ask(struct fixture *t, const char *name, uint16_t qtype, uint8_t *pkt,
    size_t size, struct dns_msg *m)
{
	uint8_t q[512];
	size_t qlen = tu_query(q, sizeof(q), 77, name, qtype, 1232), n;

	n = tu_udp_ask(t->base, t->udp, q, qlen, pkt, size, 3000);
	assert_true(n > 0);
	assert_int_equal(dns_msg_parse(pkt, n, m), 0);
	assert_int_equal(m->hdr.id, 77);
}

static void
test_answers_from_engine(void **state)
{
	struct fixture *t = *state;
	struct record_entry web[2] = {host4("192.0.2.1"), host4("192.0.2.2")};
	struct record_entry alias;
	uint8_t pkt[4096];
	struct dns_msg m;

	reg(t, "web", web, 2);
	memset(&alias, 0, sizeof(alias));
	alias.kind = RECORD_TARGET_NAME;
	strcpy(alias.target.name, "web");
	reg(t, "alias", &alias, 1);
	start_front(t);
	ask(t, "web.ntk", DNS_TYPE_A, pkt, sizeof(pkt), &m);
	assert_int_equal(m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(m.hdr.ancount, 2);
	assert_true(m.hdr.aa);
	/* a chase: the second lookup starts from inside the first's
	 * outcome, yet never inside an engine call */
	ask(t, "alias.ntk", DNS_TYPE_A, pkt, sizeof(pkt), &m);
	assert_int_equal(m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(m.hdr.ancount, 3);
	ask(t, "nosuch.ntk", DNS_TYPE_A, pkt, sizeof(pkt), &m);
	assert_int_equal(m.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(t->reentered, 0);
	assert_int_equal(dns_engine_pending(t->de), 0);
}

static void
test_no_engine_yet(void **state)
{
	struct fixture *t = *state;
	uint8_t pkt[4096];
	struct dns_msg m;

	t->have_engine = false;
	start_front(t);
	ask(t, "web.ntk", DNS_TYPE_A, pkt, sizeof(pkt), &m);
	assert_int_equal(m.rcode, DNS_RCODE_SERVFAIL);
	assert_int_equal(dns_engine_pending(t->de), 0);
}

static void
test_cancel_before_start(void **state)
{
	struct fixture *t = *state;
	struct dns_front_resolver res;
	int x;

	start_front(t);
	dns_engine_resolver(t->de, &res);
	assert_int_equal(res.resolve(res.ctx, "web", NULL, &x), 0);
	assert_int_equal(dns_engine_pending(t->de), 1);
	res.cancel(res.ctx, &x);
	assert_int_equal(dns_engine_pending(t->de), 0);
	tu_run(t->base, 10); /* the kick finds nothing to start */
	assert_int_equal(dns_engine_pending(t->de), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_answers_from_engine, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_no_engine_yet, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_cancel_before_start, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
