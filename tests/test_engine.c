/* The engine facing hostile bytes: every message that fails a check is
 * dropped and counted, never fatal, and a node keeps working afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "node/engine.h"
#include "proto/msg.h"

#define NODES 3

/* A tiny wire: messages are kept in a list and delivered in order. */
struct wire {
	struct engine *e[NODES];
	int idx[NODES];
	struct {
		int to, from;
		size_t len;
		uint8_t *buf;
	} q[4096];
	int n;
	uint64_t rng;
	uint64_t now;
	/* copies of every message seen, for mutation */
	uint8_t *seen[256];
	size_t seen_len[256];
	int n_seen;
};

static struct wire *W;

static void
ep_of(int i, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = 4;
	ep->ip[0] = 127;
	ep->ip[1] = 77;
	ep->ip[3] = (uint8_t)(i + 1);
	ep->port = 1;
}

static void
send_cb(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	int from = *(int *)ctx, dst = to->ip[3] - 1;

	if (dst < 0 || dst >= NODES || W->n == 4096)
		return;
	W->q[W->n].to = dst;
	W->q[W->n].from = from;
	W->q[W->n].len = len;
	W->q[W->n].buf = malloc(len);
	memcpy(W->q[W->n].buf, buf, len);
	if (W->n_seen < 256) {
		W->seen[W->n_seen] = malloc(len);
		memcpy(W->seen[W->n_seen], buf, len);
		W->seen_len[W->n_seen++] = len;
	}
	W->n++;
}

static uint64_t
next_rand(void)
{
	W->rng ^= W->rng << 13;
	W->rng ^= W->rng >> 7;
	W->rng ^= W->rng << 17;
	return W->rng;
}

static void
random_cb(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)next_rand();
}

/* Runs the wire for `ms` milliseconds of virtual time. */
static void
run(uint64_t ms)
{
	uint64_t end = W->now + ms;

	for (; W->now < end; W->now += 10) {
		for (int i = 0; i < NODES; i++)
			if (W->e[i] != NULL)
				engine_tick(W->e[i], W->now);
		/* deliver what is queued now; replies queue behind it */
		int n = W->n;
		for (int k = 0; k < n; k++) {
			struct endpoint from;
			ep_of(W->q[k].from, &from);
			if (W->e[W->q[k].to] != NULL)
				engine_input(W->e[W->q[k].to], &from,
				    W->q[k].buf, W->q[k].len, W->now);
		}
		for (int k = 0; k < n; k++)
			free(W->q[k].buf);
		memmove(&W->q[0], &W->q[n], (size_t)(W->n - n) * sizeof(W->q[0]));
		W->n -= n;
	}
}

static int
setup(void **state)
{
	struct engine_config cfg;

	W = calloc(1, sizeof(*W));
	W->rng = 0x9e3779b97f4a7c15ull;
	W->now = 1000000;
	engine_config_defaults(&cfg);
	for (int i = 0; i < NODES; i++) {
		struct keypair kp;
		uint8_t seed[32] = { (uint8_t)(i + 1) };
		struct endpoint ep;
		W->idx[i] = i;
		keypair_from_seed(&kp, seed);
		ep_of(i, &ep);
		struct engine_io io = { .ctx = &W->idx[i], .send_cb = send_cb,
			.random_cb = random_cb };
		W->e[i] = engine_new(&cfg, &io, &kp, &ep, 1, W->now);
		assert_non_null(W->e[i]);
		struct endpoint boot;
		ep_of(0, &boot);
		engine_bootstrap(W->e[i], &boot, i == 0 ? 0 : 1, W->now);
		run(500);
	}
	run(5000);
	*state = W;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NODES; i++)
		engine_free(W->e[i]);
	for (int k = 0; k < W->n; k++)
		free(W->q[k].buf);
	for (int k = 0; k < W->n_seen; k++)
		free(W->seen[k]);
	free(W);
	return 0;
}

/* The three nodes formed one gnode and route to each other. */
static void
test_joined(void **state)
{
	(void)state;
	for (int i = 0; i < NODES; i++) {
		assert_true(engine_hooked(W->e[i]));
		assert_int_equal(engine_gnode_members(W->e[i]), NODES);
	}
	assert_true(W->n_seen > 10);
}

static void
test_garbage_counted(void **state)
{
	struct engine *e = W->e[1];
	struct endpoint from;
	uint8_t junk[300];
	uint64_t before = engine_stats(e)->dropped[ENGINE_DROP_MALFORMED];

	(void)state;
	ep_of(2, &from);
	for (int i = 0; i < 100; i++) {
		random_cb(NULL, junk, sizeof(junk));
		engine_input(e, &from, junk, 1 + next_rand() % sizeof(junk), W->now);
	}
	engine_input(e, &from, junk, 0, W->now);
	assert_int_equal(engine_stats(e)->dropped[ENGINE_DROP_MALFORMED],
	    before + 101);
}

/* A valid message with one byte of its signature changed fails the
 * envelope check; with a byte of its body changed, decoding or the
 * signature fails. */
static void
test_tampered_counted(void **state)
{
	struct engine *e = W->e[1];
	struct endpoint from;
	const struct engine_stats *st = engine_stats(e);

	(void)state;
	ep_of(2, &from);
	for (int k = 0; k < W->n_seen && k < 40; k++) {
		uint8_t *copy = malloc(W->seen_len[k]);
		memcpy(copy, W->seen[k], W->seen_len[k]);
		copy[W->seen_len[k] - 1] ^= 0x01; /* in the signature */
		uint64_t sig = st->dropped[ENGINE_DROP_SIGNATURE];
		engine_input(e, &from, copy, W->seen_len[k], W->now);
		assert_int_equal(st->dropped[ENGINE_DROP_SIGNATURE], sig + 1);
		memcpy(copy, W->seen[k], W->seen_len[k]);
		copy[W->seen_len[k] / 3] ^= 0x40; /* in the envelope or body */
		uint64_t bad = st->dropped[ENGINE_DROP_SIGNATURE] +
		    st->dropped[ENGINE_DROP_MALFORMED];
		engine_input(e, &from, copy, W->seen_len[k], W->now);
		assert_int_equal(st->dropped[ENGINE_DROP_SIGNATURE] +
		    st->dropped[ENGINE_DROP_MALFORMED], bad + 1);
		free(copy);
	}
}

/* Thousands of mutations of real traffic: nothing crashes, and the gnode
 * still works afterwards. */
static void
test_mutations_then_alive(void **state)
{
	struct endpoint from;

	(void)state;
	ep_of(2, &from);
	for (int round = 0; round < 5000; round++) {
		int k = (int)(next_rand() % (uint64_t)W->n_seen);
		size_t len = W->seen_len[k];
		uint8_t *copy = malloc(len + 8);
		memcpy(copy, W->seen[k], len);
		switch (next_rand() % 3) {
		case 0:
			copy[next_rand() % len] ^= (uint8_t)(1 << (next_rand() % 8));
			break;
		case 1:
			len = next_rand() % len;
			break;
		default:
			for (int j = 0; j < 8; j++)
				copy[len + (size_t)j] = (uint8_t)next_rand();
			len += 8;
			break;
		}
		engine_input(W->e[next_rand() % NODES], &from, copy, len, W->now);
		free(copy);
	}
	/* replays of genuine messages are harmless too */
	for (int k = 0; k < W->n_seen; k++)
		engine_input(W->e[1], &from, W->seen[k], W->seen_len[k], W->now);
	run(10000);
	for (int i = 0; i < NODES; i++)
		assert_int_equal(engine_gnode_members(W->e[i]), NODES);
}

/* engine_peers() visits the live members with their keys and endpoints,
 * stops when told to, and forgets a member once it is found dead. */
struct peer_list {
	int n, stop_after;
	ovl_addr_t addr[NODES];
	int node[NODES];
};

static int
peer_cb(void *arg, const struct engine_peer *p)
{
	struct peer_list *l = arg;

	assert_true(l->n < NODES);
	assert_int_equal(p->level, 0);
	assert_non_null(p->pk);
	l->addr[l->n] = p->addr;
	l->node[l->n++] = p->ep->ip[3] - 1;
	return l->n == l->stop_after;
}

static void
test_peers(void **state)
{
	struct peer_list l = {0};

	(void)state;
	engine_peers(W->e[0], peer_cb, &l);
	assert_int_equal(l.n, NODES - 1);
	for (int k = 0; k < l.n; k++) {
		assert_true(l.node[k] == 1 || l.node[k] == 2);
		assert_int_equal(l.addr[k], engine_addr(W->e[l.node[k]]));
	}
	assert_int_not_equal(l.node[0], l.node[1]);
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	engine_peers(W->e[0], peer_cb, &l);
	assert_int_equal(l.n, 1);

	/* node 2 dies without a word */
	engine_free(W->e[2]);
	W->e[2] = NULL;
	run(30000);
	memset(&l, 0, sizeof(l));
	engine_peers(W->e[0], peer_cb, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.node[0], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_joined),
		cmocka_unit_test(test_garbage_counted),
		cmocka_unit_test(test_tampered_counted),
		cmocka_unit_test(test_mutations_then_alive),
		cmocka_unit_test(test_peers), /* last: a node dies */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
