/* The engine facing hostile bytes: every message that fails a check is
 * dropped and counted, never fatal, and a node keeps working afterwards.
 * And joining when no peer can offer a place: a whole mesh restarted at
 * once re-forms as one, a node whose peers are all silent waits; and
 * joining and merging through neighbours found on the links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "node/engine/engine.h"
#include "proto/msg.h"

#define NODES 3     /* in the first group of tests */
#define NODES_MAX 8

/* A tiny wire: messages are kept in a list and delivered in order. */
struct wire {
	struct engine *e[NODES_MAX];
	int idx[NODES_MAX];
	int founded[NODES_MAX]; /* "founding" lines each node logged */
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

	if (dst < 0 || dst >= NODES_MAX || W->n == 4096)
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
		for (int i = 0; i < NODES_MAX; i++)
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
	for (int i = 0; i < NODES_MAX; i++)
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

/* The answers a node asked for pass a peer's rate limit: a message with
 * the id of a request still waiting is awaited, twice at most, and no
 * other id is; so is the ROUTE_ACK of a reply passed back. */
static void
test_awaits(void **state)
{
	struct engine *e = W->e[1];
	uint64_t id = 0, other;
	int n = W->n;

	(void)state;
	assert_int_not_equal(engine_probe(e, engine_addr(W->e[2]), W->now), 0);
	for (int k = n; k < W->n && id == 0; k++)
		if (W->q[k].from == 1)
			assert_int_equal(
			    msg_peek_id(W->q[k].buf, W->q[k].len, &id), 0);
	assert_int_not_equal(id, 0);
	other = id ^ 1;
	assert_false(engine_awaits(e, other));
	assert_true(engine_awaits(e, id));
	assert_true(engine_awaits(e, id));
	assert_false(engine_awaits(e, id));
	/* node 2 answers; the ROUTE_ACK of its answer is awaited there */
	assert_false(engine_awaits(W->e[2], id));
	run(10);
	assert_true(engine_awaits(W->e[2], id));
	assert_true(engine_awaits(W->e[2], id));
	assert_false(engine_awaits(W->e[2], id));
	run(3000); /* answered: nothing waits any more */
	assert_false(engine_awaits(e, id));
	assert_false(engine_awaits(W->e[2], id));
	/* a header that is not ours has no id */
	assert_int_not_equal(msg_peek_id((const uint8_t *)"\x98\x01", 2, &id), 0);
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

/* What a host keeps to rejoin through: 16 members, then one contact of
 * each sibling gnode, five at each level. */
static void
test_keep_peers(void **state)
{
	struct engine_keep k;
	struct endpoint ep;
	int kept[ANDNA_LEVELS] = { 0 }, total = 0;

	(void)state;
	memset(&k, 0, sizeof(k));
	ep_of(0, &ep);
	for (int i = 0; i < 40; i++) {
		struct engine_peer p = { .addr = 0x0a0b0c00u | (uint32_t)i,
			.ep = &ep, .level = 0 };
		kept[0] += engine_keep_peer(&k, &p);
	}
	for (int level = 1; level < ANDNA_LEVELS; level++)
		for (int g = 0; g < 7; g++)
			for (int c = 0; c < 3; c++) {
				/* contact c of sibling g at this level */
				struct engine_peer p = { .ep = &ep,
					.level = level,
					.addr = (ovl_addr_t)(g + 1) << (8 * level) |
					    (uint32_t)c };
				bool keep = engine_keep_peer(&k, &p);
				kept[level] += keep;
				/* the first contact of each of the first five */
				assert_true(keep == (c == 0 && g < 5));
			}
	struct engine_peer odd = { .ep = &ep, .level = ANDNA_LEVELS };
	assert_false(engine_keep_peer(&k, &odd));
	assert_int_equal(kept[0], ENGINE_KEEP_MEMBERS);
	for (int level = 1; level < ANDNA_LEVELS; level++) {
		assert_int_equal(kept[level], ENGINE_KEEP_PER_LEVEL);
		total += kept[level];
	}
	assert_int_equal(kept[0] + total, ENGINE_KEEP_MAX);
}

/* ---- joining when no peer can offer a place ---- */

static void
log_cb(void *ctx, enum engine_log_level level, const char *msg)
{
	(void)level;
	if (strstr(msg, "founding") != NULL)
		W->founded[*(int *)ctx]++;
}

static int
wire_setup(void **state)
{
	W = calloc(1, sizeof(*W));
	W->rng = 0x2545f4914f6cdd1dull;
	W->now = 1000000;
	*state = W;
	return 0;
}

/* Starts node i (key and endpoint a pure function of i) joining through
 * the `n` nodes in `peers` (none: it founds an overlay). */
static void
node_start(int i, const int *peers, int n)
{
	struct engine_config cfg;
	struct keypair kp;
	uint8_t seed[32] = { (uint8_t)(i + 1) };
	struct endpoint ep, boot[NODES_MAX];

	engine_config_defaults(&cfg);
	W->idx[i] = i;
	keypair_from_seed(&kp, seed);
	ep_of(i, &ep);
	struct engine_io io = { .ctx = &W->idx[i], .send_cb = send_cb,
		.random_cb = random_cb, .log_cb = log_cb };
	W->e[i] = engine_new(&cfg, &io, &kp, &ep, 1, W->now);
	assert_non_null(W->e[i]);
	for (int k = 0; k < n; k++)
		ep_of(peers[k], &boot[k]);
	engine_bootstrap(W->e[i], boot, n, W->now);
}

/* The node of the lowest key among the first n. */
static int
lowest_key(int n)
{
	int low = 0;

	for (int i = 1; i < n; i++)
		if (memcmp(engine_node_key(W->e[i]), engine_node_key(W->e[low]),
		    ANDNA_PK_LEN) < 0)
			low = i;
	return low;
}

/* Six nodes restart at once, each with the other five as its peers and a
 * seventh that never comes back: every HOOK_REQ is answered JOINING, until
 * the node with the lowest key founds the overlay, alone; the others join
 * it, all in one gnode, within a few rounds. */
static void
test_restart_all(void **state)
{
	const int n = 6;

	(void)state;
	for (int i = 0; i < n; i++) {
		int peers[NODES_MAX], k = 0;
		for (int j = 0; j < n; j++)
			if (j != i)
				peers[k++] = j;
		peers[k++] = 7; /* dead */
		node_start(i, peers, k);
	}
	uint64_t start = W->now;
	int hooked = 0;
	while (hooked < n && W->now - start < 60000) {
		run(100);
		hooked = 0;
		for (int i = 0; i < n; i++)
			hooked += engine_hooked(W->e[i]);
	}
	assert_int_equal(hooked, n);
	/* two rounds of five JOINING answers and a dead peer, then the joins */
	assert_true(W->now - start <= 10000);
	run(5000);
	int low = lowest_key(n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(engine_gnode_members(W->e[i]), n);
		assert_int_equal(W->founded[i], i == low);
	}
}

/* A node whose peers are all silent (dead, or cut off) never founds an
 * overlay of its own: it keeps asking, the first round as fast as hops
 * are waited for, later rounds ever more seldom. */
static void
test_silent_peers_wait(void **state)
{
	const int dead[] = { 6, 7 };

	(void)state;
	node_start(0, dead, 2);
	run(2500);
	assert_int_equal(engine_stats(W->e[0])->sent, 3);
	run(300000);
	assert_false(engine_hooked(W->e[0]));
	assert_int_equal(W->founded[0], 0);
	/* 2 s, then 8 s, 16 s and 16 s a peer: about 20 asks in 5 min */
	uint64_t sent = engine_stats(W->e[0])->sent;
	assert_true(sent >= 15 && sent <= 30);
	/* no peers at all: the first node of an overlay founds it at once */
	node_start(1, NULL, 0);
	assert_true(engine_hooked(W->e[1]));
}

/* Sum of the sibling gnodes node i knows at every level. */
static int
siblings(int i)
{
	return engine_outer_count(W->e[i], 1) + engine_outer_count(W->e[i], 2) +
	    engine_outer_count(W->e[i], 3);
}

/* Founds two overlays apart, 0 with 1 and 2 with 3: every node hooked,
 * none with a sibling gnode.  Returns the level at which the two differ. */
static int
two_overlays(void)
{
	const int to0[] = { 0 }, to2[] = { 2 };

	node_start(0, NULL, 0);
	node_start(2, NULL, 0);
	node_start(1, to0, 1);
	node_start(3, to2, 1);
	run(10000);
	for (int i = 0; i < 4; i++) {
		assert_true(engine_hooked(W->e[i]));
		assert_int_equal(siblings(i), 0);
	}
	int level = ovl_diff_level(engine_addr(W->e[0]), engine_addr(W->e[2]));
	assert_true(level > 0); /* two random addresses in one gnode: no */
	return level;
}

/* Two overlays founded apart (0 with 1, 2 with 3), and two joiners that
 * heard each other joining (4 and 5), then joined one overlay each: the one
 * that hooks last gossips with its peers, the other joiner among them,
 * and the maps of both overlays merge into one. */
static void
test_islands_merge(void **state)
{
	const int p4[] = { 5, 1 }, p5[] = { 4, 3 };

	(void)state;
	int level = two_overlays();
	node_start(4, p4, 2);
	node_start(5, p5, 2);
	run(30000);
	for (int i = 0; i < 6; i++) {
		assert_true(engine_hooked(W->e[i]));
		assert_int_equal(engine_outer_count(W->e[i], level), 1);
	}
}

/* Tells node i that node j is a neighbour on its links. */
static void
neighbour(int i, int j)
{
	struct endpoint ep;

	ep_of(j, &ep);
	engine_neighbour(W->e[i], engine_node_key(W->e[j]),
	    engine_hooked(W->e[j]), engine_addr(W->e[j]), &ep, W->now);
}

/* Neighbours found on the links: two overlays founded apart (0 with 1,
 * 2 with 3) merge once 1 hears 3 as a neighbour; a neighbour the maps
 * hold, or one still joining, makes a hooked node send nothing; a
 * joiner whose only peer is dead joins through a neighbour it hears. */
static void
test_neighbours(void **state)
{
	const int dead[] = { 7 };

	(void)state;
	int level = two_overlays();
	neighbour(1, 3);
	run(30000);
	for (int i = 0; i < 4; i++)
		assert_int_equal(engine_outer_count(W->e[i], level), 1);

	/* a member of our own gnode, and a contact we hold: nothing sent */
	uint64_t sent = engine_stats(W->e[1])->sent;
	neighbour(1, 0);
	assert_int_equal(engine_stats(W->e[1])->sent, sent);

	node_start(4, dead, 1);
	run(3000);
	assert_false(engine_hooked(W->e[4]));
	sent = engine_stats(W->e[1])->sent;
	neighbour(1, 4); /* joining: it asks us itself */
	assert_int_equal(engine_stats(W->e[1])->sent, sent);
	neighbour(4, 1);
	run(20000);
	assert_true(engine_hooked(W->e[4]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_joined),
		cmocka_unit_test(test_garbage_counted),
		cmocka_unit_test(test_tampered_counted),
		cmocka_unit_test(test_awaits),
		cmocka_unit_test(test_mutations_then_alive),
		cmocka_unit_test(test_peers), /* last: a node dies */
	};
	const struct CMUnitTest joins[] = {
		cmocka_unit_test(test_keep_peers),
		cmocka_unit_test_setup_teardown(test_restart_all, wire_setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_silent_peers_wait,
		    wire_setup, teardown),
		cmocka_unit_test_setup_teardown(test_islands_merge, wire_setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_neighbours, wire_setup,
		    teardown),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	return failed + cmocka_run_group_tests(joins, NULL, NULL);
}
