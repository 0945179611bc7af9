/* The forwarder against fake upstreams on 127.0.0.x: answers relayed with
 * the client's id, random ids and source ports, spoofed answers (wrong
 * id, wrong question, wrong source) ignored, TC retried over TCP, timeout,
 * failover between upstreams, cancel; resolv.conf and endpoint parsing
 * from temporary files only. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "node/dns/dns_forward.h"
#include "proto/err.h"
#include "tests/dns_util.h"

struct result {
	int calls;
	int status;
	uint8_t ans[65536];
	size_t len;
};

static void
result_cb(void *arg, int status, const uint8_t *ans, size_t len)
{
	struct result *r = arg;

	r->calls++;
	r->status = status;
	r->len = len;
	if (ans != NULL)
		memcpy(r->ans, ans, len);
}

/* A parsed client query for text/A with id. */
struct client_q {
	uint8_t pkt[512];
	size_t len;
	struct dns_msg msg;
};

static void
client_query(struct client_q *c, uint16_t id, const char *text, uint16_t edns)
{
	c->len = tu_query(c->pkt, sizeof(c->pkt), id, text, DNS_TYPE_A, edns);
	assert_true(c->len > 0);
	assert_int_equal(dns_query_parse(c->pkt, c->len, &c->msg), 0);
}

/* Runs the loop until r got its callback or ms pass. */
static void
wait_result(struct event_base *base, struct result *r, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;

	while (r->calls == 0 && tu_now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(500);
	}
}

/* Counts the A records of an answer and returns the 4th byte of the
 * first one. */
static int
answer_a(const uint8_t *pkt, size_t len, int *count)
{
	struct dns_msg m;
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_rdata rd;
	int first = -1;

	*count = 0;
	assert_int_equal(dns_msg_parse(pkt, len, &m), 0);
	dns_rr_iter_init(&it, &m);
	while (dns_rr_next(&it, &rr) == 0) {
		if (rr.type != DNS_TYPE_A)
			continue;
		assert_int_equal(dns_rr_rdata(&m, &rr, &rd), 0);
		if (first < 0)
			first = rd.u.a[3];
		(*count)++;
	}
	return first;
}

struct fixture {
	struct event_base *base;
	struct tu_upstream up[2];
	struct dns_forward *fw;
	struct result r;
};

static int
setup(void **state)
{
	struct fixture *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->base = event_base_new();
	assert_non_null(t->base);
	t->up[0].ufd = t->up[0].tfd = t->up[1].ufd = t->up[1].tfd = -1;
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *t = *state;

	dns_forward_free(t->fw);
	tu_up_stop(&t->up[0]);
	tu_up_stop(&t->up[1]);
	event_base_free(t->base);
	free(t);
	return 0;
}

/* A forwarder to the running upstreams (n of them). */
static void
start_fw(struct fixture *t, int n, uint32_t timeout_ms, int tries)
{
	struct dns_forward_config cfg;

	dns_forward_config_defaults(&cfg);
	for (int i = 0; i < n; i++)
		cfg.upstreams[i] = t->up[i].ep;
	cfg.n_upstreams = n;
	cfg.timeout_ms = timeout_ms;
	cfg.tries = tries;
	t->fw = dns_forward_new(t->base, &cfg);
	assert_non_null(t->fw);
}

static void
test_relay(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct client_q c;
	struct dns_msg m;
	int count;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_ANSWER));
	t->up[0].last = 77;
	start_fw(t, 1, 1000, 2);
	client_query(&c, 0x1234, "Example.COM", 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	assert_int_equal(t->r.calls, 0); /* never before returning */
	wait_result(t->base, &t->r, 2000);
	assert_int_equal(t->r.calls, 1);
	assert_int_equal(t->r.status, 0);
	assert_int_equal(dns_msg_parse(t->r.ans, t->r.len, &m), 0);
	assert_int_equal(m.hdr.id, 0x1234);
	assert_true(m.hdr.qr);
	assert_true(m.hdr.rd);
	assert_false(m.edns.present); /* the client sent no OPT */
	/* the question as the client wrote it */
	assert_int_equal(m.q.name.len, c.msg.q.name.len);
	assert_memory_equal(m.q.name.wire, c.msg.q.name.wire, m.q.name.len);
	assert_int_equal(answer_a(t->r.ans, t->r.len, &count), 77);
	assert_int_equal(count, 1);
	/* the upstream saw a fresh id, not the client's */
	assert_int_equal(t->up[0].udp_queries, 1);
	assert_int_not_equal(t->up[0].ids[0], 0x1234);
}

static void
test_edns_passed(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct client_q c;
	struct dns_msg m;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_ANSWER));
	start_fw(t, 1, 1000, 2);
	client_query(&c, 7, "example.com", 4096);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	wait_result(t->base, &t->r, 2000);
	assert_int_equal(t->r.status, 0);
	assert_int_equal(dns_msg_parse(t->r.ans, t->r.len, &m), 0);
	assert_true(m.edns.present);
}

static void
test_random_ids_and_ports(void **state)
{
	struct fixture *t = *state;
	int distinct_ids = 0, distinct_ports = 0;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_ANSWER));
	start_fw(t, 1, 1000, 1);
	for (int i = 0; i < 40; i++) {
		struct dns_forward_req *req;
		struct client_q c;
		memset(&t->r, 0, sizeof(t->r));
		client_query(&c, 42, "example.com", 0);
		assert_int_equal(
		    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req),
		    0);
		wait_result(t->base, &t->r, 2000);
		assert_int_equal(t->r.status, 0);
	}
	assert_int_equal(t->up[0].n, 40);
	for (int i = 0; i < 40; i++) {
		bool id_new = true, port_new = true;
		for (int j = 0; j < i; j++) {
			id_new &= t->up[0].ids[j] != t->up[0].ids[i];
			port_new &= t->up[0].ports[j] != t->up[0].ports[i];
		}
		distinct_ids += id_new;
		distinct_ports += port_new;
		assert_true(t->up[0].ports[i] >= 1024);
	}
	/* 40 draws from 65536 (ids) and ~64000 (ports): a handful of
	 * collisions at most */
	assert_true(distinct_ids >= 36);
	assert_true(distinct_ports >= 36);
}

static void
test_spoofed_id_ignored(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct dns_forward_stats st;
	struct client_q c;
	int count;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_SPOOF_ID));
	t->up[0].last = 9;
	start_fw(t, 1, 1000, 1);
	client_query(&c, 5, "example.com", 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	wait_result(t->base, &t->r, 2000);
	assert_int_equal(t->r.status, 0);
	assert_int_equal(answer_a(t->r.ans, t->r.len, &count), 9);
	dns_forward_get_stats(t->fw, &st);
	assert_true(st.mismatched >= 1);
}

static void
test_spoofed_question_ignored(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct client_q c;
	int count;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_SPOOF_Q));
	t->up[0].last = 10;
	start_fw(t, 1, 1000, 1);
	client_query(&c, 5, "example.com", 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	wait_result(t->base, &t->r, 2000);
	assert_int_equal(t->r.status, 0);
	assert_int_equal(answer_a(t->r.ans, t->r.len, &count), 10);
}

static void
test_wrong_source_ignored(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct client_q c;
	struct endpoint spoofer = tu_lo(1, 0);
	struct endpoint victim;
	uint8_t a[512];
	size_t len;
	int fd;

	/* the upstream stays silent; a stranger on another port sends a
	 * perfect answer (right id and question) to the forwarder's port */
	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_SILENT));
	start_fw(t, 1, 300, 1);
	client_query(&c, 5, "example.com", 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	for (int i = 0; i < 100 && t->up[0].n == 0; i++)
		tu_run(t->base, 2);
	assert_int_equal(t->up[0].n, 1);
	victim = tu_lo(1, t->up[0].ports[0]);
	struct tu_upstream fake = t->up[0];
	fake.mode = TU_UP_ANSWER;
	uint8_t q[512];
	size_t qlen = tu_query(
	    q, sizeof(q), t->up[0].ids[0], "example.com", DNS_TYPE_A, 0);
	len = tu_up_answer(&fake, q, qlen, a, sizeof(a), false, 0, 99);
	assert_true(len > 0);
	fd = tu_udp_client(&victim, &spoofer);
	assert_true(fd >= 0);
	assert_int_equal(send(fd, a, len, 0), (ssize_t)len);
	wait_result(t->base, &t->r, 2000);
	close(fd);
	assert_int_equal(t->r.calls, 1);
	assert_int_equal(t->r.status, ANDNA_ETIMEOUT);
}

static void
test_timeout(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct client_q c;
	uint64_t t0;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_SILENT));
	start_fw(t, 1, 150, 2);
	client_query(&c, 5, "example.com", 0);
	t0 = tu_now_ms();
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	wait_result(t->base, &t->r, 3000);
	assert_int_equal(t->r.calls, 1);
	assert_int_equal(t->r.status, ANDNA_ETIMEOUT);
	assert_true(tu_now_ms() - t0 >= 280);
	assert_int_equal(t->up[0].udp_queries, 2); /* both tries */
}

static void
test_tc_retries_tcp(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct dns_forward_stats st;
	struct client_q c;
	struct dns_msg m;
	int count;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_TC));
	start_fw(t, 1, 1000, 1);
	client_query(&c, 0xbeef, "big.example", 1232);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	wait_result(t->base, &t->r, 3000);
	assert_int_equal(t->r.status, 0);
	assert_int_equal(dns_msg_parse(t->r.ans, t->r.len, &m), 0);
	assert_int_equal(m.hdr.id, 0xbeef);
	assert_false(m.hdr.tc);
	answer_a(t->r.ans, t->r.len, &count);
	assert_int_equal(count, 60);
	assert_int_equal(t->up[0].tcp_queries, 1);
	dns_forward_get_stats(t->fw, &st);
	assert_int_equal(st.tcp_retries, 1);
}

static void
test_failover(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct client_q c;
	int count;
	uint64_t t0;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_SILENT));
	assert_true(tu_up_start(&t->up[1], t->base, 2, TU_UP_ANSWER));
	t->up[1].last = 22;
	start_fw(t, 2, 150, 3);
	client_query(&c, 5, "example.com", 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	wait_result(t->base, &t->r, 3000);
	assert_int_equal(t->r.status, 0);
	assert_int_equal(answer_a(t->r.ans, t->r.len, &count), 22);
	/* the next query goes to the upstream that answered, at once */
	memset(&t->r, 0, sizeof(t->r));
	t0 = tu_now_ms();
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	wait_result(t->base, &t->r, 3000);
	assert_int_equal(t->r.status, 0);
	assert_true(tu_now_ms() - t0 < 140);
	assert_int_equal(t->up[0].udp_queries, 1);
}

static void
test_servfail_moves_on(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct client_q c;
	int count;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_SERVFAIL));
	assert_true(tu_up_start(&t->up[1], t->base, 2, TU_UP_ANSWER));
	t->up[1].last = 33;
	start_fw(t, 2, 1000, 2);
	client_query(&c, 5, "example.com", 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	wait_result(t->base, &t->r, 3000);
	assert_int_equal(t->r.status, 0);
	assert_int_equal(answer_a(t->r.ans, t->r.len, &count), 33);
	assert_int_equal(t->up[0].udp_queries, 1);
}

static void
test_servfail_relayed_when_alone(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct client_q c;
	struct dns_msg m;

	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_SERVFAIL));
	start_fw(t, 1, 1000, 3);
	client_query(&c, 5, "example.com", 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	wait_result(t->base, &t->r, 3000);
	assert_int_equal(t->r.status, 0);
	assert_int_equal(dns_msg_parse(t->r.ans, t->r.len, &m), 0);
	assert_int_equal(m.rcode, DNS_RCODE_SERVFAIL);
	assert_int_equal(t->up[0].udp_queries, 1);
}

static void
test_cancel_and_free(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_req *req;
	struct dns_forward_stats st;
	struct client_q c;
	struct result r2;

	memset(&r2, 0, sizeof(r2));
	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_ANSWER));
	start_fw(t, 1, 1000, 1);
	client_query(&c, 5, "example.com", 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	dns_forward_cancel(req);
	tu_run(t->base, 100);
	assert_int_equal(t->r.calls, 0);
	dns_forward_get_stats(t->fw, &st);
	assert_int_equal(st.pending, 0);
	/* one left in flight when the forwarder goes: no callback, no leak */
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &r2, &req), 0);
	dns_forward_free(t->fw);
	t->fw = NULL;
	tu_run(t->base, 50);
	assert_int_equal(r2.calls, 0);
}

static void
test_no_upstream_and_limit(void **state)
{
	struct fixture *t = *state;
	struct dns_forward_config cfg;
	struct dns_forward_req *req;
	struct client_q c;

	client_query(&c, 5, "example.com", 0);
	dns_forward_config_defaults(&cfg);
	t->fw = dns_forward_new(t->base, &cfg);
	assert_int_equal(dns_forward_upstreams(t->fw), 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req),
	    ANDNA_ENOTFOUND);
	assert_null(req);
	dns_forward_free(t->fw);
	assert_true(tu_up_start(&t->up[0], t->base, 1, TU_UP_SILENT));
	cfg.upstreams[0] = t->up[0].ep;
	cfg.n_upstreams = 1;
	cfg.max_pending = 2;
	t->fw = dns_forward_new(t->base, &cfg);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req), 0);
	assert_int_equal(
	    dns_forward_query(t->fw, &c.msg, result_cb, &t->r, &req),
	    ANDNA_ELIMIT);
}

/* Writes text to a new temporary file; returns its path in buf. */
static void
temp_file(char *buf, size_t size, const char *text)
{
	int fd;

	snprintf(buf, size, "/tmp/andna-resolv-XXXXXX");
	fd = mkstemp(buf);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
test_resolv_conf(void **state)
{
	char path[64];
	struct endpoint out[8], skip[2];
	int n;

	(void)state;
	temp_file(path, sizeof(path),
	    "# comment\n"
	    "search example.org\n"
	    "nameserver 127.0.0.1\n"
	    "nameserver 10.0.0.1\n"
	    "nameserver ::1\n"
	    "nameserver fe80::1%eth0\n"
	    "nameserver not-an-address\n"
	    "nameserver 2001:db8::53\n"
	    "options edns0\n");
	/* no listener of ours on port 53: every usable server */
	assert_int_equal(dns_resolv_conf_read(path, NULL, 0, out, 8, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(out[0].family, 4);
	assert_int_equal(out[0].ip[0], 127);
	assert_int_equal(out[0].port, 53);
	assert_int_equal(out[2].family, 6);
	assert_int_equal(out[2].ip[15], 1);
	/* listening on 0.0.0.0:53 ourselves: loopback servers are us */
	skip[0] = tu_lo(0, 53);
	skip[0].ip[0] = 0;
	assert_int_equal(dns_resolv_conf_read(path, skip, 1, out, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].ip[0], 10);
	assert_int_equal(out[1].ip[0], 0x20);
	/* listening on 10.0.0.1:53 only */
	assert_int_equal(dns_endpoint_parse("10.0.0.1", 53, &skip[0]), 0);
	assert_int_equal(dns_resolv_conf_read(path, skip, 1, out, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[1].family, 6);
	/* on another port: nothing of ours is a nameserver */
	skip[0].port = 5353;
	assert_int_equal(dns_resolv_conf_read(path, skip, 1, out, 8, &n), 0);
	assert_int_equal(n, 4);
	/* max respected */
	assert_int_equal(dns_resolv_conf_read(path, NULL, 0, out, 1, &n), 0);
	assert_int_equal(n, 1);
	unlink(path);
	assert_int_equal(
	    dns_resolv_conf_read(path, NULL, 0, out, 8, &n), ANDNA_EIO);
	assert_int_equal(n, 0);
}

static void
test_endpoint_parse(void **state)
{
	struct endpoint ep;

	(void)state;
	assert_int_equal(dns_endpoint_parse("192.0.2.1", 53, &ep), 0);
	assert_int_equal(ep.family, 4);
	assert_int_equal(ep.port, 53);
	assert_int_equal(ep.ip[3], 1);
	assert_int_equal(dns_endpoint_parse("127.0.0.1:5353", 53, &ep), 0);
	assert_int_equal(ep.port, 5353);
	assert_int_equal(dns_endpoint_parse("2001:db8::1", 53, &ep), 0);
	assert_int_equal(ep.family, 6);
	assert_int_equal(ep.port, 53);
	assert_int_equal(ep.ip[15], 1);
	assert_int_equal(dns_endpoint_parse("[::1]:5300", 53, &ep), 0);
	assert_int_equal(ep.family, 6);
	assert_int_equal(ep.port, 5300);
	assert_int_equal(dns_endpoint_parse("::", 53, &ep), 0);
	assert_int_equal(dns_endpoint_parse("[::1]", 7, &ep), 0);
	assert_int_equal(ep.port, 7);
	assert_int_not_equal(dns_endpoint_parse("", 53, &ep), 0);
	assert_int_not_equal(dns_endpoint_parse("1.2.3.4:", 53, &ep), 0);
	assert_int_not_equal(dns_endpoint_parse("1.2.3.4:70000", 53, &ep), 0);
	assert_int_not_equal(dns_endpoint_parse("1.2.3.4:-1", 53, &ep), 0);
	assert_int_not_equal(dns_endpoint_parse("[::1]x", 53, &ep), 0);
	assert_int_not_equal(dns_endpoint_parse("host.example", 53, &ep), 0);
	assert_int_not_equal(dns_endpoint_parse("[::1", 53, &ep), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_relay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edns_passed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_random_ids_and_ports, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_spoofed_id_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_spoofed_question_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_wrong_source_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_tc_retries_tcp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failover, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_servfail_moves_on, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_servfail_relayed_when_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_cancel_and_free, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_no_upstream_and_limit, setup, teardown),
	    cmocka_unit_test(test_resolv_conf),
	    cmocka_unit_test(test_endpoint_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
