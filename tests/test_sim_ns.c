/* Name-service scenarios in the simulator (DESIGN.md sections 4 and 5):
 * names resolve to exactly their signed address sets from random nodes;
 * copies survive a crash and come back by anti-entropy; a new gnode takes
 * over the names that round to it; the limits on names per key and claims
 * per name hold; queues promote after a release and after an expiry;
 * stale, forged and misplaced records are refused, and a lying member
 * cannot make a resolver accept a wrong address; two owners of one name
 * after a split are settled by the rule; and a month of expiry keeps the
 * renewed names and forgets the others with their tallies.
 *
 * The examples are larger (1,000 nodes, gnode size 16, 10,000
 * names); each scenario here makes its point with 30 to 120 nodes so that
 * it takes seconds, and andna-sim --names runs the big ones (see
 * scripts/bench-ns.sh).  Nodes join at 5 a second: faster joins sometimes
 * overfill gnodes (several members offer the same gnode's last places at
 * once), and the maps then never converge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "proto/err.h"
#include "proto/msg.h"
#include "sim/sim.h"
#include "store/store.h"

/* A small deterministic generator for the tests' own choices. */
static uint32_t
pick(uint64_t *x, uint32_t n)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)((*x >> 33) % n);
}

typedef void tweak_fn(struct sim_params *p);

/* A simulator with `joined` of its `nodes` nodes joined and converged. */
static struct sim *
start(int nodes, int joined, int gsize, uint64_t seed, tweak_fn *tweak)
{
	struct sim_params p;
	struct sim *s = NULL;

	sim_params_defaults(&p);
	p.nodes = nodes;
	p.engine.gnode_size = gsize;
	p.seed = seed;
	p.join_rate = 5;
	p.targets = 2000;
	p.engine.sync_interval_ms = 5000;
	p.engine.seal = MSG_SEAL_DIGEST; /* what the taps below decode */
	if (tweak != NULL)
		tweak(&p);
	assert_int_equal(sim_new(&p, &s), 0);
	for (int i = 0; i < joined; i++) {
		sim_join(s, i);
		sim_run_until(s, sim_now(s) + 200);
	}
	assert_int_equal(sim_running(s), joined);
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	return s;
}

/* A random running hooked node among the first `nodes`. */
static int
random_node(struct sim *s, int nodes, uint64_t *x)
{
	assert_true(sim_hooked(s) > 0);
	for (;;) {
		int i = (int)pick(x, (uint32_t)nodes);
		struct engine *e = sim_engine(s, i);
		if (e != NULL && engine_hooked(e))
			return i;
	}
}

/* Running hooked nodes of the level-1 gnode `prefix`, into `out` (room
 * for `max`); returns how many. */
static int
members_of(struct sim *s, int nodes, ovl_addr_t prefix, int *out, int max)
{
	int n = 0;

	for (int i = 0; i < nodes && n < max; i++) {
		struct engine *e = sim_engine(s, i);
		if (e != NULL && engine_hooked(e) &&
		    (engine_addr(e) & 0xffffff00u) == prefix)
			out[n++] = i;
	}
	return n;
}

/* A name ("<stem>N.<zone>", in `name` of 32 bytes) whose hash gnode
 * (*g) and backup gnode (*b) both have three members or more. */
static void
name_held_by_few(struct sim *s, int nodes, const char *stem, const char *zone,
    char *name, ovl_addr_t *g, ovl_addr_t *b)
{
	int m[16];

	for (int k = 0;; k++) {
		snprintf(name, 32, "%s%d.%s", stem, k, zone);
		if (sim_hash_gnode(s, name, g, b) >= 3 && *b != UINT32_MAX &&
		    members_of(s, nodes, *b, m, 16) >= 3)
			return;
	}
}

/* `n` distinct random nodes outside the level-1 gnodes `g` and `h`. */
static void
nodes_outside(struct sim *s, int nodes, uint64_t *x, ovl_addr_t g,
    ovl_addr_t h, int *out, int n)
{
	for (int k = 0; k < n; k++) {
		bool bad;
		do {
			out[k] = random_node(s, nodes, x);
			ovl_addr_t at = engine_addr(sim_engine(s, out[k])) &
			    0xffffff00u;
			bad = at == g || at == h;
			for (int j = 0; j < k; j++)
				bad = bad || out[j] == out[k];
		} while (bad);
	}
}

/* An IPv4 host entry. */
static struct record_entry
v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct record_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = RECORD_TARGET_IPV4;
	e.priority = 10;
	e.weight = 1;
	e.target.ip[0] = a;
	e.target.ip[1] = b;
	e.target.ip[2] = c;
	e.target.ip[3] = d;
	return e;
}

/* A key of the tests' own, a pure function of `k`. */
static void
test_key(int k, struct keypair *kp)
{
	uint8_t seed[32];

	memset(seed, 0, sizeof(seed));
	snprintf((char *)seed, sizeof(seed), "test-sim-ns key %d", k);
	keypair_from_seed(kp, seed);
}

/* Registers and asserts the outcome. */
static void
must_register(struct sim *s, int node, const char *name,
    const struct record_entry *e, int n, const struct keypair *kp, int want)
{
	struct sim_ns_result r;

	assert_int_equal(sim_register(s, node, name, e, n, kp, &r), 0);
	if (r.status != want)
		fail_msg("registering %s from node %d: %s, not %s", name, node,
		    andna_strerror(r.status), andna_strerror(want));
	sim_ns_result_fini(&r);
}

/* Resolves `name` from `node`; returns the status and, when 0, asserts
 * the record is owned by `owner` with first address `ip0`. */
static int
resolve_check(struct sim *s, int node, const char *name,
    const struct keypair *owner, uint8_t ip0)
{
	struct sim_ns_result r;

	assert_int_equal(sim_resolve(s, node, name, &r), 0);
	if (r.status == 0) {
		assert_non_null(r.rec);
		assert_string_equal(r.rec->name, name);
		assert_memory_equal(r.rec->owner, owner->pk, ANDNA_PK_LEN);
		assert_true(r.rec->n_entries >= 1);
		assert_int_equal(r.rec->entries[0].target.ip[3], ip0);
	}
	int st = r.status;
	sim_ns_result_fini(&r);
	return st;
}

/* ---- resolution --------------------------------------------------------- */

/* 120 nodes in gnodes of 8 use two levels; 2,000 names, each registered
 * from a random node under its own key, resolve to exactly their address
 * sets from random nodes, and every member of each name's hash gnode and
 * of its backup gnode holds a copy, and nobody else. */
static void
test_resolve_all(void **state)
{
	struct sim_names_result reg, res;
	int gnodes, levels;

	(void)state;
	struct sim *s = start(120, 120, 8, 11, NULL);
	sim_gnodes(s, &gnodes, &levels);
	assert_true(gnodes >= 15);
	assert_int_equal(levels, 2);
	assert_int_equal(sim_names_register(s, 0, 2000, 10000, &reg), 0);
	assert_int_equal(reg.names, 2000);
	assert_int_equal(reg.registered, 2000);
	assert_int_equal(reg.reg_failed, 0);
	assert_int_equal(sim_names_resolve(s, 2000, 5000, &res), 0);
	assert_int_equal(res.resolves, 2000);
	assert_true(res.resolve_success == 1.0);
	assert_int_equal(res.wrong + res.errors + res.timeouts, 0);
	/* a neighbour's cache or the hash gnode: 1 hop to the neighbour,
	 * then at most one per level, and the exact node may add one */
	assert_true(res.hops_p50 >= 1);
	assert_true(res.hops_max <= 1 + levels + 1);
	assert_true(res.ms_p50 > 0 && res.ms_p99 >= res.ms_p50);
	assert_int_equal(res.missing, 0);
	assert_int_equal(res.missing_backup, 0);
	assert_int_equal(res.stray, 0);
	assert_true(res.copies_min >= 2);
	assert_true(res.bytes_records_mean > 0);
	assert_true(res.bytes_records_max >= res.bytes_records_mean);
	sim_free(s);
}

/* The scale the issue names: 1,000 nodes in gnodes of 16 join in one wave,
 * then 10,000 names are registered from random nodes and resolved from
 * random nodes, every one to exactly its signed address set, with a copy
 * on every member of its hash gnode and of its backup gnode. */
static void
test_thousand(void **state)
{
	struct sim_params p;
	struct sim_report r;

	(void)state;
	sim_params_defaults(&p);
	p.nodes = 1000;
	p.engine.gnode_size = 16;
	p.names = 10000;
	p.steady_ms = 5000;
	p.max_time_ms = 600000;
	assert_int_equal(sim_scenario_run(&p, &r), 0);
	assert_true(r.converged_s >= 0);
	assert_int_equal(r.names.registered, 10000);
	assert_int_equal(r.names.resolves, 10000);
	assert_true(r.names.resolve_success == 1.0);
	assert_int_equal(r.names.wrong + r.names.errors + r.names.timeouts, 0);
	assert_int_equal(r.names.missing, 0);
	assert_int_equal(r.names.missing_backup, 0);
	assert_true(r.names.copies_min >= 2);
	assert_true(r.names.hops_p99 <= 1 + r.levels + 1);
}

/* ---- crash, restart, anti-entropy ---------------------------------------- */

/* Drops a REPLICATE now and then, so that members miss copies. */
struct dropper {
	uint64_t x;
	int dropped;
	bool on;
};

static enum sim_verdict
drop_replicas(void *arg, int from, int to, const uint8_t *buf, size_t len,
    uint8_t **out, size_t *out_len)
{
	struct dropper *d = arg;

	(void)from;
	(void)to;
	(void)out;
	(void)out_len;
	if (!d->on || len < 3 || buf[2] != MSG_REPLICATE || pick(&d->x, 5) != 0)
		return SIM_PASS;
	d->dropped++;
	return SIM_DROP;
}

/* A fifth of the replications are lost on the way: anti-entropy puts the
 * missing copies in place.  Then 30% of the nodes crash at once: once
 * the maps converge, names still resolve from random nodes; and when
 * crashed nodes come back with empty stores, the bulk pull of joining
 * members and anti-entropy put a copy on every live member of each hash
 * gnode and backup gnode again.  Gnodes of 16 as in the issue: with
 * gnodes of 8, a young gnode of one or two members and its backup may
 * well die together, and their names with them. */
static void
test_crash_heal(void **state)
{
	struct sim_names_result reg, res;
	struct dropper d = {.x = 5, .on = true};

	(void)state;
	struct sim *s = start(160, 160, 16, 12, NULL);
	sim_set_filter(s, drop_replicas, &d);
	assert_int_equal(sim_names_register(s, 0, 1000, 5000, &reg), 0);
	d.on = false;
	assert_int_equal(reg.registered, 1000);
	assert_true(d.dropped > 100);
	sim_names_copies(s, &res);
	assert_true(res.missing > 0); /* the drops left holes */
	/* sync intervals of 5 s, each about one kind of item in turn */
	sim_run_until(s, sim_now(s) + 60000);
	sim_names_copies(s, &res);
	assert_int_equal(res.missing, 0);
	assert_int_equal(res.missing_backup, 0);

	assert_int_equal(sim_kill_fraction(s, 0.3, false), 48);
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	assert_int_equal(sim_names_resolve(s, 1000, 5000, &res), 0);
	assert_true(res.resolve_success >= 0.999);
	assert_int_equal(res.wrong, 0);

	/* ten crashed nodes restart with empty stores */
	int back = 0;
	for (int i = 0; i < 160 && back < 10; i++)
		if (sim_engine(s, i) == NULL) {
			sim_join(s, i);
			sim_run_until(s, sim_now(s) + 300);
			back++;
		}
	assert_int_equal(sim_running(s), 122);
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	/* a few sync intervals of 5 s */
	sim_run_until(s, sim_now(s) + 40000);
	assert_int_equal(sim_names_resolve(s, 1000, 5000, &res), 0);
	assert_true(res.resolve_success == 1.0);
	assert_int_equal(res.missing, 0);
	assert_int_equal(res.missing_backup, 0);
	assert_int_equal(res.stray, 0);
	sim_free(s);
}

/* ---- a new gnode -------------------------------------------------------- */

/* Nodes join one by one until a new level-1 gnode appears; the names that
 * now round to it move there, every member of it holds them, nothing is
 * lost, and the old copies are gone once the handover is acknowledged
 * (bar the backup copies, which the new backup gnode holds). */
static void
test_new_gnode(void **state)
{
	/* room for every gnode the first 20 may have started to fill up
	 * before one more is needed */
	enum { NODES = 64, NAMES = 400 };
	struct sim_names_result reg, res;
	ovl_addr_t before[NAMES], after;
	char name[ANDNA_NAME_MAX + 1];
	struct record_entry ents[SIM_NAME_ENTRIES_MAX];
	int n, gnodes0, gnodes, levels, joined = 20;

	(void)state;
	struct sim *s = start(NODES, joined, 8, 13, NULL);
	sim_gnodes(s, &gnodes0, &levels);
	assert_int_equal(sim_names_register(s, 0, NAMES, 5000, &reg), 0);
	assert_int_equal(reg.registered, NAMES);
	for (int k = 0; k < NAMES; k++) {
		sim_name_gen(s, k, name, ents, &n);
		assert_true(sim_hash_gnode(s, name, &before[k], NULL) > 0);
	}
	do {
		assert_true(joined < NODES);
		sim_join(s, joined++);
		sim_run_until(s, sim_now(s) + 3000);
		sim_gnodes(s, &gnodes, &levels);
	} while (gnodes == gnodes0);
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	/* the handover waits for the maps to settle; then a few syncs */
	sim_run_until(s, sim_now(s) + 40000);
	int moved = 0;
	for (int k = 0; k < NAMES; k++) {
		sim_name_gen(s, k, name, ents, &n);
		assert_true(sim_hash_gnode(s, name, &after, NULL) > 0);
		moved += after != before[k];
	}
	assert_true(moved > 0);
	assert_int_equal(sim_names_resolve(s, NAMES, 5000, &res), 0);
	assert_true(res.resolve_success == 1.0);
	assert_int_equal(res.missing, 0);
	assert_int_equal(res.missing_backup, 0);
	assert_int_equal(res.stray, 0);
	sim_free(s);
}

/* A mesh of one gnode has no backup gnode: registering names there
 * sends no handover (each would be dropped for want of a route, and its
 * pending request would hold a copy of the record through every retry:
 * thousands of them in andnad taking 10,000 names).  When a second gnode
 * appears, the backup copies are put there all the same. */
static void
test_one_gnode_backup(void **state)
{
	enum { NODES = 8, NAMES = 60 };
	struct sim_names_result reg, res;
	int gnodes, levels, joined = 4;

	(void)state;
	struct sim *s = start(NODES, joined, 4, 23, NULL);
	sim_gnodes(s, &gnodes, &levels);
	assert_int_equal(gnodes, 1);
	assert_int_equal(sim_names_register(s, 0, NAMES, 3000, &reg), 0);
	assert_int_equal(reg.registered, NAMES);
	sim_run_until(s, sim_now(s) + 20000);
	for (int i = 0; i < joined; i++)
		assert_int_equal(engine_stats(sim_engine(s, i))
		    ->dropped[ENGINE_DROP_NOROUTE], 0);
	do {
		assert_true(joined < NODES);
		sim_join(s, joined++);
		sim_run_until(s, sim_now(s) + 3000);
		sim_gnodes(s, &gnodes, &levels);
	} while (gnodes == 1);
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	sim_run_until(s, sim_now(s) + 40000);
	assert_int_equal(sim_names_resolve(s, NAMES, 5000, &res), 0);
	assert_true(res.resolve_success == 1.0);
	assert_int_equal(res.missing, 0);
	assert_int_equal(res.missing_backup, 0);
	assert_int_equal(res.stray, 0);
	sim_free(s);
}

/* Two keys register one free name 5 ms apart from two nodes: one owns
 * it, the other's claim waits in its queue, and the loser's key keeps no
 * tally anywhere once the hash gnode's majority says it holds no name
 * (the counter gnode asks it itself). */
static void
test_register_race(void **state)
{
	struct keypair a, b;
	uint64_t x = 5;
	struct record_entry ea = v4(10, 5, 0, 1), eb = v4(10, 5, 0, 2);

	(void)state;
	struct sim *s = start(60, 60, 8, 19, NULL);
	test_key(2001, &a);
	test_key(2002, &b);
	int na = random_node(s, 60, &x), nb;
	do
		nb = random_node(s, 60, &x);
	while (nb == na);
	assert_int_equal(sim_start_register(s, na, "race.name", &ea, 1, &a), 0);
	sim_run_until(s, sim_now(s) + 5);
	assert_int_equal(sim_start_register(s, nb, "race.name", &eb, 1, &b), 0);
	/* the registrations, then the counter gnode's own question */
	sim_run_until(s, sim_now(s) + 20000);
	int ca = sim_record_copies(s, "race.name", a.pk);
	int cb = sim_record_copies(s, "race.name", b.pk);
	assert_true((ca > 0) != (cb > 0));
	const struct keypair *won = ca > 0 ? &a : &b, *lost = ca > 0 ? &b : &a;
	assert_true(sim_claim_copies(s, "race.name", lost->pk) > 0);
	assert_true(sim_tally_copies(s, won->pk) > 0);
	assert_int_equal(sim_tally_copies(s, lost->pk), 0);
	keypair_wipe(&a);
	keypair_wipe(&b);
	sim_free(s);
}

/* ---- limits and queues -------------------------------------------------- */

static void
tweak_limits(struct sim_params *p)
{
	p->engine.expiry_s = 400;
	p->engine.cache_cap_s = 1;
	p->engine.negative_s = 1;
}

static void assert_queue(struct sim *s, int nodes, const char *name,
    const struct keypair *want, int n);

/* Releases `name` from `node` and asserts it went through. */
static void
must_release(struct sim *s, int node, const char *name)
{
	struct sim_ns_result r;

	assert_int_equal(sim_release(s, node, name, &r), 0);
	if (r.status != 0)
		fail_msg("releasing %s from node %d: %s", name, node,
		    andna_strerror(r.status));
	sim_ns_result_fini(&r);
}

/* One key holds at most 256 names: the 257th is refused, and once one is
 * released there is room again.  A claim counts when it would own its
 * name: a key holding 256 names waits at the head of a queue while the
 * claim behind it, of a key with room, takes the free name; once the key
 * has room, its claim takes the name in turn. */
static void
test_names_per_key(void **state)
{
	enum { NODES = 40 };
	struct keypair kp, holder, other;
	struct record_entry e = v4(10, 1, 0, 1);
	char name[64];
	uint64_t x = 1;
	int home, holder_node, other_node;

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 14, tweak_limits);
	test_key(1, &kp);
	test_key(2, &holder);
	test_key(3, &other);
	home = random_node(s, NODES, &x);
	do
		holder_node = random_node(s, NODES, &x);
	while (holder_node == home);
	do
		other_node = random_node(s, NODES, &x);
	while (other_node == home || other_node == holder_node);
	for (int k = 0; k < 256; k++) {
		snprintf(name, sizeof(name), "k%d.limit", k);
		must_register(s, home, name, &e, 1, &kp, 0);
	}
	assert_true(sim_tally_copies(s, kp.pk) > 0);
	must_register(s, home, "k256.limit", &e, 1, &kp, ANDNA_ETOO_MANY_NAMES);
	assert_int_equal(sim_record_copies(s, "k256.limit", NULL), 0);

	/* the full key queues first on a held name, another key second */
	struct record_entry eh = v4(10, 1, 1, 1), ek = v4(10, 1, 1, 2),
			    eo = v4(10, 1, 1, 3);
	must_register(s, holder_node, "held.limit", &eh, 1, &holder, 0);
	must_register(s, home, "held.limit", &ek, 1, &kp, ANDNA_ENAME_QUEUED);
	must_register(
	    s, other_node, "held.limit", &eo, 1, &other, ANDNA_ENAME_QUEUED);
	/* the backup gnode gets its copy once the hash gnode holds it */
	sim_run_until(s, sim_now(s) + 2000);
	struct keypair both[2] = {kp, other};
	assert_queue(s, NODES, "held.limit", both, 2);
	keypair_wipe(&both[0]);
	keypair_wipe(&both[1]);
	/* released: the full key is passed over, and keeps its place */
	must_release(s, holder_node, "held.limit");
	sim_run_until(s, sim_now(s) + 3000);
	assert_int_equal(sim_record_copies(s, "held.limit", kp.pk), 0);
	assert_int_equal(resolve_check(s, random_node(s, NODES, &x),
			     "held.limit", &other, 3),
	    0);
	assert_queue(s, NODES, "held.limit", &kp, 1);

	/* the key makes room: its claim takes the name when it is free */
	must_release(s, home, "k7.limit");
	/* the counter gnode is told of the release without waiting */
	sim_run_until(s, sim_now(s) + 3000);
	must_release(s, other_node, "held.limit");
	sim_run_until(s, sim_now(s) + 3000);
	assert_int_equal(resolve_check(s, random_node(s, NODES, &x),
			     "held.limit", &kp, 2),
	    0);
	assert_queue(s, NODES, "held.limit", NULL, 0);
	/* which counts: the key is full again */
	must_register(s, home, "k256.limit", &e, 1, &kp, ANDNA_ETOO_MANY_NAMES);
	must_release(s, home, "k8.limit");
	sim_run_until(s, sim_now(s) + 3000);
	must_register(s, home, "k256.limit", &e, 1, &kp, 0);
	keypair_wipe(&kp);
	keypair_wipe(&holder);
	keypair_wipe(&other);
	sim_free(s);
}

/* The claimants of `name` in queue order at every member of its hash
 * gnode and of its backup gnode: asserts they are the `n` keys of `want`,
 * in that order. */
struct queue_seen {
	int n;
	uint8_t pk[8][ANDNA_PK_LEN];
};

static int
queue_seen_cb(void *arg, const struct store_claim *c)
{
	struct queue_seen *q = arg;

	if (q->n < 8)
		memcpy(q->pk[q->n++], c->pk, ANDNA_PK_LEN);
	return 0;
}

static void
assert_queue(struct sim *s, int nodes, const char *name,
    const struct keypair *want, int n)
{
	int m[32];
	ovl_addr_t g, b;
	uint8_t h[ANDNA_HASH_LEN];
	uint64_t h8 = 0;

	hash_blake2b(h, name, strlen(name));
	for (int i = 0; i < 8; i++)
		h8 = h8 << 8 | h[i];
	assert_true(sim_hash_gnode(s, name, &g, &b) > 0);
	int k = members_of(s, nodes, g, m, 16);
	assert_true(k > 0);
	if (b != UINT32_MAX)
		k += members_of(s, nodes, b, m + k, 16);
	for (int j = 0; j < k; j++) {
		struct queue_seen q = {0};
		struct store_txn *t = NULL;
		assert_int_equal(
		    store_txn_begin(sim_store(s, m[j]), false, &t), 0);
		assert_int_equal(
		    store_claim_list(t, h8, name, queue_seen_cb, &q), 0);
		store_txn_abort(t);
		assert_int_equal(q.n, n);
		for (int i = 0; i < n; i++)
			assert_memory_equal(q.pk[i], want[i].pk, ANDNA_PK_LEN);
	}
}

/* A name takes five claims of other keys in order, the sixth is refused;
 * when the owner releases it the first claim owns it, and when that one's
 * node is gone and the name expires the next claim owns it. */
static void
test_queue(void **state)
{
	enum { NODES = 40 };
	struct keypair owner, claim[6];
	struct record_entry e;
	int nodes[7];
	uint64_t x = 2;

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 15, tweak_limits);
	test_key(100, &owner);
	for (int k = 0; k < 6; k++)
		test_key(101 + k, &claim[k]);
	/* seven distinct nodes: a node holds a name under one key only */
	for (int k = 0; k < 7; k++) {
		bool dup;
		do {
			nodes[k] = random_node(s, NODES, &x);
			dup = false;
			for (int j = 0; j < k; j++)
				dup = dup || nodes[j] == nodes[k];
		} while (dup);
	}
	e = v4(10, 2, 0, 100);
	must_register(s, nodes[0], "queued.name", &e, 1, &owner, 0);
	for (int k = 0; k < 5; k++) {
		struct sim_ns_result r;
		e = v4(10, 2, 0, (uint8_t)(101 + k));
		assert_int_equal(sim_register(s, nodes[1 + k], "queued.name",
				     &e, 1, &claim[k], &r),
		    0);
		assert_int_equal(r.status, ANDNA_ENAME_QUEUED);
		assert_int_equal(r.queue_pos, k + 1);
		sim_ns_result_fini(&r);
	}
	e = v4(10, 2, 0, 106);
	must_register(
	    s, nodes[6], "queued.name", &e, 1, &claim[5], ANDNA_EQUEUE_FULL);
	ovl_addr_t g, b;
	int m[16];
	int members = sim_hash_gnode(s, "queued.name", &g, &b);
	assert_true(members > 0);
	/* the backup gnode keeps the claims too */
	assert_int_equal(sim_claim_copies(s, "queued.name", claim[4].pk),
	    members + (b != UINT32_MAX ? members_of(s, NODES, b, m, 16) : 0));
	assert_int_equal(sim_claim_copies(s, "queued.name", claim[5].pk), 0);
	assert_queue(s, NODES, "queued.name", claim, 5);

	/* two thirds of a life later the owner releases: the head claim
	 * owns the name, everywhere */
	sim_run_until(s, sim_now(s) + 260000);
	struct sim_ns_result r;
	assert_int_equal(sim_release(s, nodes[0], "queued.name", &r), 0);
	assert_int_equal(r.status, 0);
	sim_run_until(s, sim_now(s) + 3000);
	assert_int_equal(resolve_check(s, random_node(s, NODES, &x),
			     "queued.name", &claim[0], 101),
	    0);
	assert_int_equal(sim_record_copies(s, "queued.name", owner.pk), 0);
	assert_true(
	    sim_record_copies(s, "queued.name", claim[0].pk) >= members);
	assert_int_equal(sim_claim_copies(s, "queued.name", claim[0].pk), 0);
	/* the claimants renewed twice meanwhile, at half their life, and
	 * kept their places */
	assert_queue(s, NODES, "queued.name", claim + 1, 4);

	/* the new owner's node dies; its name expires on every member and
	 * passes to the next claim, which its node kept renewing */
	sim_crash(s, nodes[1]);
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	sim_run_until(s, sim_now(s) + 420000);
	assert_int_equal(resolve_check(s, random_node(s, NODES, &x),
			     "queued.name", &claim[1], 102),
	    0);
	assert_int_equal(sim_record_copies(s, "queued.name", claim[0].pk), 0);
	assert_true(
	    sim_record_copies(s, "queued.name", claim[1].pk) >= members);
	assert_queue(s, NODES, "queued.name", claim + 2, 3);
	keypair_wipe(&owner);
	for (int k = 0; k < 6; k++)
		keypair_wipe(&claim[k]);
	sim_free(s);
}

/* Claims are kept like records: by every member of the hash gnode and of
 * the backup gnode.  The whole hash gnode of a name with five claims
 * crashes; the backup gnode takes the name over with its queue in order,
 * hands a copy of both to the next gnode in line, and when the owner
 * releases the name the first claim owns it. */
static void
test_queue_survives(void **state)
{
	enum { NODES = 48 };
	struct keypair owner, claim[5];
	struct record_entry e;
	int nodes[6], m[16];
	ovl_addr_t g, b, g2, b2;
	uint64_t x = 7;
	char name[32];

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 20, tweak_limits);
	name_held_by_few(s, NODES, "kept", "queue", name, &g, &b);
	/* six nodes outside the hash gnode register and claim it */
	nodes_outside(s, NODES, &x, g, g, nodes, 6);
	test_key(300, &owner);
	e = v4(10, 5, 0, 100);
	must_register(s, nodes[0], name, &e, 1, &owner, 0);
	for (int k = 0; k < 5; k++) {
		test_key(301 + k, &claim[k]);
		e = v4(10, 5, 0, (uint8_t)(101 + k));
		must_register(
		    s, nodes[1 + k], name, &e, 1, &claim[k], ANDNA_ENAME_QUEUED);
	}
	int held = members_of(s, NODES, g, m, 16) +
	    members_of(s, NODES, b, m, 16);
	/* the backup gnode takes a claim once its claimant answered the
	 * challenge of the member it came to */
	sim_run_until(s, sim_now(s) + 2000);
	for (int k = 0; k < 5; k++)
		assert_int_equal(sim_claim_copies(s, name, claim[k].pk), held);

	/* the hash gnode dies whole */
	int n = members_of(s, NODES, g, m, 16);
	for (int j = 0; j < n; j++)
		sim_crash(s, m[j]);
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	/* the handover waits for the maps to settle; then a few syncs */
	sim_run_until(s, sim_now(s) + 30000);
	assert_true(sim_hash_gnode(s, name, &g2, &b2) > 0);
	assert_int_equal(g2, b);
	assert_queue(s, NODES, name, claim, 5);
	held = members_of(s, NODES, g2, m, 16) +
	    (b2 != UINT32_MAX ? members_of(s, NODES, b2, m, 16) : 0);
	for (int k = 0; k < 5; k++)
		assert_int_equal(sim_claim_copies(s, name, claim[k].pk), held);
	assert_int_equal(sim_record_copies(s, name, owner.pk), held);

	must_release(s, nodes[0], name);
	sim_run_until(s, sim_now(s) + 3000);
	assert_int_equal(
	    resolve_check(s, random_node(s, NODES, &x), name, &claim[0], 101),
	    0);
	/* the release and the new owner's record reach the backup gnode by
	 * two routes; a member that gets the record first drops it as the
	 * name is still held there, and anti-entropy brings it within two
	 * sync intervals (5 s here) */
	uint64_t until = sim_now(s) + 10000;
	while (sim_record_copies(s, name, claim[0].pk) < held &&
	    sim_now(s) < until)
		sim_run_until(s, sim_now(s) + 1000);
	assert_int_equal(sim_record_copies(s, name, claim[0].pk), held);
	assert_queue(s, NODES, name, claim + 1, 4);
	keypair_wipe(&owner);
	for (int k = 0; k < 5; k++)
		keypair_wipe(&claim[k]);
	sim_free(s);
}

/* ---- refusals ----------------------------------------------------------- */

/* Waits for the REGISTER_REPLY of request `id` to node `to`. */
struct reply_tap {
	int to;
	uint64_t id;
	int status; /* -1 until seen */
};

static enum sim_verdict
tap_reply(void *arg, int from, int to, const uint8_t *buf, size_t len,
    uint8_t **out, size_t *out_len)
{
	struct reply_tap *t = arg;
	struct msg m;

	(void)from;
	(void)out;
	(void)out_len;
	if (to != t->to || len < 3 || buf[2] != MSG_REGISTER_REPLY ||
	    msg_decode_sealed(MSG_SEAL_DIGEST, buf, len, &m) != 0)
		return SIM_PASS;
	if (m.id == t->id)
		t->status = m.u.reg_reply.status;
	msg_free(&m);
	return SIM_PASS;
}

/* Sends a REGISTER of `rec` from node `from` straight to `member` of the
 * name's hash gnode, naming endpoint `ep` (NULL: from's own), and returns
 * the status of the reply. */
static int
send_register_ep(struct sim *s, int from, int member, const struct record *rec,
    const struct endpoint *ep)
{
	struct reply_tap tap = {.to = from, .status = -1};
	struct keypair node_kp;
	struct msg m;
	uint8_t buf[4096];
	size_t len;

	msg_init(&m);
	m.type = MSG_REGISTER;
	m.id = tap.id = 0x5eed0000ULL + (uint64_t)from * 7919 + sim_now(s);
	m.hops = 8;
	m.has_src = true;
	m.src = engine_addr(sim_engine(s, from));
	m.u.reg.route.target = name_hash(rec->name);
	m.u.reg.route.origin = m.src;
	m.u.reg.rec = (struct record *)rec;
	if (ep != NULL)
		m.u.reg.ep = *ep;
	else
		sim_node_endpoint(s, from, &m.u.reg.ep);
	sim_node_key(s, from, &node_kp);
	assert_int_equal(msg_encode_sealed(&m, MSG_SEAL_DIGEST, &node_kp, buf,
	    sizeof(buf), &len), 0);
	keypair_wipe(&node_kp);
	sim_set_filter(s, tap_reply, &tap);
	sim_inject(s, from, member, buf, len);
	for (int k = 0; k < 100 && tap.status < 0; k++)
		sim_run_until(s, sim_now(s) + 100);
	sim_set_filter(s, NULL, NULL);
	return tap.status;
}

static int
send_register(struct sim *s, int from, int member, const struct record *rec)
{
	return send_register_ep(s, from, member, rec, NULL);
}

/* Hands `member` over a claim of `rec` from node `from`, as a gnode that
 * held it would, naming `host` as its claimant's; runs 5 s. */
static void
hand_claim(struct sim *s, int from, int member, const struct record *rec,
    const struct claim_host *host)
{
	struct keypair node_kp;
	struct msg_item it = {.kind = MSG_KIND_CLAIMS, .age = 1, .life = 300,
	    .rec = (struct record *)rec, .host = *host};
	struct msg m;
	uint8_t buf[4096];
	size_t len;

	msg_init(&m);
	m.type = MSG_HANDOVER;
	m.id = 0x4a4d0000ULL + (uint64_t)from * 7919 + sim_now(s);
	m.hops = 8;
	m.has_src = true;
	m.src = engine_addr(sim_engine(s, from));
	m.u.handover.route.target = name_hash(rec->name);
	m.u.handover.route.origin = m.src;
	m.u.handover.items.n = 1;
	m.u.handover.items.v = &it;
	sim_node_key(s, from, &node_kp);
	assert_int_equal(msg_encode_sealed(&m, MSG_SEAL_DIGEST, &node_kp, buf,
	    sizeof(buf), &len), 0);
	keypair_wipe(&node_kp);
	sim_inject(s, from, member, buf, len);
	sim_run_until(s, sim_now(s) + 5000);
}

/* The claims a store holds, and the host of the first. */
struct host_seen {
	int n;
	struct claim_host first;
};

static int
host_seen_cb(void *arg, const struct store_claim *c)
{
	struct host_seen *hs = arg;

	if (hs->n++ == 0)
		hs->first = c->host;
	return 0;
}

/* A signed record of `name` under `kp` with one IPv4 address. */
static struct record *
make_record(
    const char *name, const struct keypair *kp, uint64_t seq, uint8_t last)
{
	struct record *rec = NULL;
	struct record_entry e = v4(10, 3, 0, last);

	assert_int_equal(record_new(name, kp->pk, seq, &rec), 0);
	assert_int_equal(record_add_entry(rec, &e), 0);
	assert_int_equal(record_sign(rec, kp), 0);
	return rec;
}

/* Keeps the name service's copies (replication, anti-entropy) from one
 * node. */
struct no_sync {
	int to;
	bool on;
};

static enum sim_verdict
drop_sync(void *arg, int from, int to, const uint8_t *buf, size_t len,
    uint8_t **out, size_t *out_len)
{
	struct no_sync *d = arg;

	(void)from;
	(void)out;
	(void)out_len;
	if (!d->on || to != d->to || len < 3 || buf[2] < MSG_REPLICATE ||
	    buf[2] > MSG_SYNC_PAGE)
		return SIM_PASS;
	return SIM_DROP;
}

/* The number of sibling gnodes node `i` knows, at every level. */
static int
outer_known(struct sim *s, int i)
{
	int n = 0;

	for (int level = 1; level <= 3; level++)
		n += engine_outer_count(sim_engine(s, i), level);
	return n;
}

/* The leader of a gnode that has just become a name's holder may hold
 * its claims before its record: here it lost its copy of the record just
 * before the hash gnode died whole, and nothing reaches it for a while.
 * It must not give the name to the head claim meanwhile (the owner's
 * record would win it back, but resolvers would cache the claimant's
 * addresses until then), nor queue the owner's renewal: the name is free
 * only once the handover and anti-entropy have had their time, and by
 * then the record is back. */
static void
test_claim_before_record(void **state)
{
	enum { NODES = 48 };
	struct keypair owner, claim;
	struct record_entry e;
	int nodes[2], m[16];
	ovl_addr_t g, b;
	uint64_t x = 11;
	char name[32];

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 21, tweak_limits);
	name_held_by_few(s, NODES, "early", "claim", name, &g, &b);
	nodes_outside(s, NODES, &x, g, b, nodes, 2);
	test_key(400, &owner);
	test_key(401, &claim);
	e = v4(10, 6, 0, 100);
	must_register(s, nodes[0], name, &e, 1, &owner, 0);
	e = v4(10, 6, 0, 101);
	must_register(s, nodes[1], name, &e, 1, &claim, ANDNA_ENAME_QUEUED);
	sim_run_until(s, sim_now(s) + 2000);

	/* the backup gnode's leader (its lowest address) loses the record */
	int n = members_of(s, NODES, b, m, 16), leader = m[0];
	for (int j = 1; j < n; j++)
		if (engine_addr(sim_engine(s, m[j])) <
		    engine_addr(sim_engine(s, leader)))
			leader = m[j];
	struct store_txn *t = NULL;
	assert_int_equal(store_txn_begin(sim_store(s, leader), true, &t), 0);
	assert_int_equal(store_record_del(t, name_hash8(name), name), 0);
	assert_int_equal(store_txn_commit(t), 0);
	struct no_sync d = { .to = leader, .on = true };
	sim_set_filter(s, drop_sync, &d);

	int known = outer_known(s, leader);
	n = members_of(s, NODES, g, m, 16);
	for (int j = 0; j < n; j++)
		sim_crash(s, m[j]);
	/* a sibling gnode unheard of for outer_timeout (120 s) is gone */
	uint64_t until = sim_now(s) + 200000;
	while (outer_known(s, leader) >= known && sim_now(s) < until)
		sim_run_until(s, sim_now(s) + 200);
	assert_true(outer_known(s, leader) < known);
	/* its gnode holds the name now; a look for free names comes every
	 * sync interval */
	ovl_addr_t g2;
	assert_true(sim_hash_gnode(s, name, &g2, NULL) > 0);
	assert_int_equal(g2, b);
	sim_run_until(s, sim_now(s) + 2 * sim_config(s)->engine.sync_interval_ms);
	assert_int_equal(sim_record_copies(s, name, claim.pk), 0);
	/* the owner's renewal reaching it meanwhile is not queued behind
	 * the claim (its node would take its own name for a queued claim):
	 * it is to come again */
	struct record *renewal = make_record(name, &owner, 1ULL << 40, 100);
	assert_int_equal(send_register(s, nodes[0], leader, renewal),
	    MSG_ST_BUSY);
	record_free(renewal);
	sim_set_filter(s, drop_sync, &d);
	assert_int_equal(sim_record_copies(s, name, claim.pk), 0);
	d.on = false;
	sim_run_until(s, sim_now(s) + 60000);
	assert_int_equal(sim_record_copies(s, name, claim.pk), 0);
	assert_int_equal(sim_claim_copies(s, name, claim.pk),
	    sim_record_copies(s, name, owner.pk));
	assert_true(sim_record_copies(s, name, owner.pk) >=
	    members_of(s, NODES, b, m, 16));
	assert_int_equal(
	    resolve_check(s, random_node(s, NODES, &x), name, &owner, 100), 0);
	keypair_wipe(&owner);
	keypair_wipe(&claim);
	sim_free(s);
}

/* Items sent by one member to another of its gnode. */
static void
send_replicate(struct sim *s, int from, int to, const struct record *rec)
{
	struct keypair node_kp;
	struct msg m;
	struct msg_item it = {.kind = MSG_KIND_RECORDS,
	    .age = 1,
	    .life = 300,
	    .rec = (struct record *)rec};
	uint8_t buf[4096];
	size_t len;

	msg_init(&m);
	m.type = MSG_REPLICATE;
	m.id = 0xabcd0000ULL + (uint64_t)to;
	m.has_src = true;
	m.src = engine_addr(sim_engine(s, from));
	m.u.replicate.n = 1;
	m.u.replicate.v = &it;
	sim_node_key(s, from, &node_kp);
	assert_int_equal(msg_encode_sealed(&m, MSG_SEAL_DIGEST, &node_kp, buf,
	    sizeof(buf), &len), 0);
	keypair_wipe(&node_kp);
	sim_inject(s, from, to, buf, len);
	sim_run_until(s, sim_now(s) + 1000);
}

/* An update with an old or equal sequence number, a record whose
 * signature does not cover its addresses and a record signed by another
 * key are refused at the hash gnode, and nothing of them is stored; a
 * member pushing a record of a name its gnode does not hold, or a forged
 * one, gets nothing stored either. */
static void
test_refusals(void **state)
{
	enum { NODES = 40 };
	struct keypair owner, other;
	int g_members[16], far[16];
	ovl_addr_t g;
	uint64_t x = 3;

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 16, tweak_limits);
	test_key(200, &owner);
	test_key(201, &other);
	struct record_entry e = v4(10, 3, 0, 1);
	int home = random_node(s, NODES, &x);
	must_register(s, home, "guarded.name", &e, 1, &owner, 0);
	int n = sim_hash_gnode(s, "guarded.name", &g, NULL);
	assert_int_equal(members_of(s, NODES, g, g_members, 16), n);
	int member = g_members[0];
	int from = random_node(s, NODES, &x);

	/* the stored record's seq: what a resolve hands back */
	struct sim_ns_result r;
	assert_int_equal(sim_resolve(s, from, "guarded.name", &r), 0);
	assert_int_equal(r.status, 0);
	uint64_t seq = r.rec->seq;
	sim_ns_result_fini(&r);

	struct record *old = make_record("guarded.name", &owner, seq - 1, 66);
	assert_int_equal(send_register(s, from, member, old), MSG_ST_STALE);
	record_free(old);
	struct record *same = make_record("guarded.name", &owner, seq, 66);
	assert_int_equal(send_register(s, from, member, same), MSG_ST_STALE);
	record_free(same);
	struct record *forged =
	    make_record("guarded.name", &owner, seq + 5, 66);
	forged->entries[0].target.ip[3] = 67; /* after signing */
	assert_int_equal(
	    send_register(s, from, member, forged), MSG_ST_BAD_SIG);
	record_free(forged);
	/* signed by a key that is not the owner's: a claim, not an update */
	struct record *stolen =
	    make_record("guarded.name", &other, seq + 5, 66);
	memcpy(stolen->owner, owner.pk, ANDNA_PK_LEN);
	assert_int_equal(
	    send_register(s, from, member, stolen), MSG_ST_BAD_SIG);
	record_free(stolen);
	sim_run_until(s, sim_now(s) + 2000);
	assert_int_equal(resolve_check(s, random_node(s, NODES, &x),
			     "guarded.name", &owner, 1),
	    0);
	assert_int_equal(sim_record_copies(s, "guarded.name", NULL),
	    sim_record_copies(s, "guarded.name", owner.pk));

	/* a member pushes a record of a name whose hash gnode and backup
	 * gnode are both elsewhere */
	char name[32];
	ovl_addr_t g2 = g, b2 = g;
	for (int k = 0; g2 == g || b2 == g; k++) {
		snprintf(name, sizeof(name), "elsewhere%d.name", k);
		assert_true(sim_hash_gnode(s, name, &g2, &b2) > 0);
	}
	int nb = members_of(s, NODES, g, far, 16);
	assert_true(nb >= 2);
	struct record *misplaced = make_record(name, &other, 1, 9);
	send_replicate(s, far[0], far[1], misplaced);
	struct store *st = sim_store(s, far[1]);
	struct store_txn *t = NULL;
	struct store_record sr;
	uint8_t h[32];
	hash_blake2b(h, name, strlen(name));
	uint64_t h8 = 0;
	for (int i = 0; i < 8; i++)
		h8 = h8 << 8 | h[i];
	assert_int_equal(store_txn_begin(st, false, &t), 0);
	assert_int_equal(store_record_get(t, h8, name, &sr), ANDNA_ENOTFOUND);
	store_txn_abort(t);
	assert_int_equal(sim_record_copies(s, name, NULL), 0);
	record_free(misplaced);
	/* and a forged record of a name the gnode does hold */
	struct record *fake = make_record("forged.name", &other, 1, 9);
	fake->entries[0].target.ip[3] = 10;
	ovl_addr_t gf;
	assert_true(sim_hash_gnode(s, "forged.name", &gf, NULL) > 0);
	int fm[16];
	int nf = members_of(s, NODES, gf, fm, 16);
	assert_true(nf >= 2);
	send_replicate(s, fm[0], fm[1], fake);
	assert_int_equal(sim_record_copies(s, "forged.name", NULL), 0);
	record_free(fake);
	keypair_wipe(&owner);
	keypair_wipe(&other);
	sim_free(s);
}

/* ---- sequence numbers without a clock ----------------------------------- */

static void
tweak_moved(struct sim_params *p)
{
	tweak_limits(p);
	p->engine.min_update_s = 0; /* the key's new node has new addresses */
}

/* A member's STALE answer, rewritten on its way to node `to`: it shows a
 * record of the name with a sequence number near the end of the range,
 * whose signature (a lie cannot make the owner's) does not verify. */
struct stale_lie {
	struct sim *s;
	int to;
	int rewritten;
};

static enum sim_verdict
lie_stale(void *arg, int from, int to, const uint8_t *buf, size_t len,
    uint8_t **out, size_t *out_len)
{
	struct stale_lie *l = arg;
	struct keypair kp;
	struct msg m;

	if (to != l->to || len < 3 || buf[2] != MSG_REGISTER_REPLY ||
	    msg_decode_sealed(MSG_SEAL_DIGEST, buf, len, &m) != 0)
		return SIM_PASS;
	struct record *held = m.u.reg_reply.held;
	if (m.u.reg_reply.status != MSG_ST_STALE || held == NULL) {
		msg_free(&m);
		return SIM_PASS;
	}
	held->seq = UINT64_MAX - 1; /* after signing */
	sim_node_key(l->s, from, &kp);
	*out = malloc(MSG_STREAM_MAX);
	assert_non_null(*out);
	assert_int_equal(msg_encode_sealed(&m, MSG_SEAL_DIGEST, &kp, *out,
	    MSG_STREAM_MAX, out_len), 0);
	keypair_wipe(&kp);
	msg_free(&m);
	l->rewritten++;
	return SIM_REPLACE;
}

/* Resolves `name` from a random node and returns the sequence number of
 * the record, asserting its owner and first address. */
static uint64_t
resolved_seq(struct sim *s, int nodes, uint64_t *x, const char *name,
    const struct keypair *owner, uint8_t ip0)
{
	struct sim_ns_result r;

	assert_int_equal(sim_resolve(s, random_node(s, nodes, x), name, &r), 0);
	assert_int_equal(r.status, 0);
	assert_memory_equal(r.rec->owner, owner->pk, ANDNA_PK_LEN);
	assert_int_equal(r.rec->entries[0].target.ip[3], ip0);
	uint64_t seq = r.rec->seq;
	sim_ns_result_fini(&r);
	return seq;
}

/* Sequence numbers only grow, and no clock sets them.  A key moves to
 * another node: its name is held at sequence number S, far above the
 * first number of a node that never held the name (1 in the simulator,
 * which gives no wall-clock floor).  The new node's registration is STALE
 * at the hash gnode, which shows the record it holds; the node signs the
 * same address set again at S+1 and the name is registered with its new
 * address everywhere, and the next update goes on from there.  A STALE
 * answer whose record does not verify (a member pushing the owner's
 * numbers to the end of their range, to freeze the name) moves nothing.
 * The key's old node, whose own record is still at 1, releases the name
 * all the same (its release, STALE, is signed again above). */
static void
test_moved_key(void **state)
{
	enum { NODES = 30 };
	const uint64_t S = 5000000000ULL;
	struct keypair owner;
	int members[16];
	ovl_addr_t g;
	uint64_t x = 8;

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 23, tweak_moved);
	test_key(300, &owner);
	struct record_entry e_old = v4(10, 3, 0, 1), e_new = v4(10, 3, 0, 2);
	int n = sim_hash_gnode(s, "moved.key", &g, NULL);
	assert_int_equal(members_of(s, NODES, g, members, 16), n);
	/* the new node is outside the hash gnode: its answers come over the
	 * wire, where a liar can rewrite them */
	int old_home = random_node(s, NODES, &x), new_home;
	bool inside;
	do {
		new_home = random_node(s, NODES, &x);
		inside = false;
		for (int i = 0; i < n; i++)
			inside = inside || members[i] == new_home;
	} while (new_home == old_home || inside);
	must_register(s, old_home, "moved.key", &e_old, 1, &owner, 0);
	assert_true(resolved_seq(s, NODES, &x, "moved.key", &owner, 1) < S);
	/* the key counted far on a node of its past: S, same addresses */
	struct record *far = make_record("moved.key", &owner, S, 1);
	assert_int_equal(send_register(s, old_home, members[0], far),
	    MSG_ST_OK);
	record_free(far);
	sim_run_until(s, sim_now(s) + 2000);
	assert_int_equal(resolved_seq(s, NODES, &x, "moved.key", &owner, 1), S);

	/* a lie about what is held: refused, nothing moves */
	struct stale_lie lie = {.s = s, .to = new_home};
	sim_set_filter(s, lie_stale, &lie);
	must_register(s, new_home, "moved.key", &e_new, 1, &owner, ANDNA_ESTALE);
	sim_set_filter(s, NULL, NULL);
	assert_true(lie.rewritten > 0);
	sim_run_until(s, sim_now(s) + 2000);
	assert_int_equal(resolved_seq(s, NODES, &x, "moved.key", &owner, 1), S);

	/* the truth: registered above S, with the new address */
	must_register(s, new_home, "moved.key", &e_new, 1, &owner, 0);
	sim_run_until(s, sim_now(s) + 2000);
	assert_int_equal(
	    resolved_seq(s, NODES, &x, "moved.key", &owner, 2), S + 1);
	assert_true(sim_record_copies(s, "moved.key", owner.pk) >= n);
	/* an update goes on from the number it took */
	must_register(s, new_home, "moved.key", &e_old, 1, &owner, 0);
	sim_run_until(s, sim_now(s) + 2000);
	assert_int_equal(
	    resolved_seq(s, NODES, &x, "moved.key", &owner, 1), S + 2);

	/* the old node's release, numbered 2, goes through above S + 2 */
	must_release(s, old_home, "moved.key");
	sim_run_until(s, sim_now(s) + 2000);
	struct sim_ns_result r;
	assert_int_equal(
	    sim_resolve(s, random_node(s, NODES, &x), "moved.key", &r), 0);
	assert_int_equal(r.status, ANDNA_ENOTFOUND);
	sim_ns_result_fini(&r);
	assert_int_equal(sim_record_copies(s, "moved.key", NULL), 0);
	keypair_wipe(&owner);
	sim_free(s);
}

/* ---- a lying member ----------------------------------------------------- */

struct liar {
	int node;
	struct keypair kp;    /* its node key: it can sign envelopes */
	struct record *decoy; /* a genuine record of another name */
	int rewritten;
};

/* The liar's RESOLVE_REPLYs carry other addresses under the owner's
 * signature (it cannot sign as the owner), or a genuine record of
 * another name; the envelope is its own and signed. */
static enum sim_verdict
lie(void *arg, int from, int to, const uint8_t *buf, size_t len, uint8_t **out,
    size_t *out_len)
{
	struct liar *l = arg;
	struct msg m;

	(void)to;
	if (from != l->node || len < 3 || buf[2] != MSG_RESOLVE_REPLY ||
	    msg_decode_sealed(MSG_SEAL_DIGEST, buf, len, &m) != 0)
		return SIM_PASS;
	if (m.u.resolve_reply.rec == NULL) {
		msg_free(&m);
		return SIM_PASS;
	}
	if (l->rewritten % 2 == 0) {
		struct record *rec = m.u.resolve_reply.rec;
		rec->entries[0].kind = RECORD_TARGET_IPV4;
		memcpy(rec->entries[0].target.ip, "\x06\x06\x06\x06", 4);
	} else {
		record_free(m.u.resolve_reply.rec);
		m.u.resolve_reply.rec = NULL;
		size_t n;
		uint8_t *b = malloc(RECORD_WIRE_MAX);
		assert_non_null(b);
		assert_int_equal(
		    record_encode(l->decoy, b, RECORD_WIRE_MAX, &n), 0);
		assert_int_equal(
		    record_decode(b, n, &m.u.resolve_reply.rec), 0);
		free(b);
	}
	*out = malloc(MSG_STREAM_MAX);
	assert_non_null(*out);
	assert_int_equal(
	    msg_encode_sealed(&m, MSG_SEAL_DIGEST, &l->kp, *out,
		MSG_STREAM_MAX, out_len), 0);
	msg_free(&m);
	l->rewritten++;
	return SIM_REPLACE;
}

/* A member of a hash gnode lies in every answer it gives: resolvers
 * refuse the lies, resolve through the others or fail, and never take a
 * wrong address, not even into a cache (of the default 300 s, which the
 * last round reads). */
static void
test_liar(void **state)
{
	enum { NODES = 60 };
	struct sim_names_result reg, res;
	struct liar l = {0};
	struct engine_ns_stats st;
	uint64_t x = 4;

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 17, NULL);
	assert_int_equal(sim_names_register(s, 0, 200, 5000, &reg), 0);
	assert_int_equal(reg.registered, 200);
	l.node = random_node(s, NODES, &x);
	sim_node_key(s, l.node, &l.kp);
	struct sim_ns_result r;
	char name[ANDNA_NAME_MAX + 1];
	struct record_entry ents[SIM_NAME_ENTRIES_MAX];
	int n;
	sim_name_gen(s, 199, name, ents, &n);
	assert_int_equal(
	    sim_resolve(s, random_node(s, NODES, &x), name, &r), 0);
	assert_int_equal(r.status, 0);
	l.decoy = r.rec;
	r.rec = NULL;
	uint64_t rejected0 = 0;
	for (int i = 0; i < NODES; i++)
		if (sim_engine(s, i) != NULL) {
			engine_ns_stats(sim_engine(s, i), &st);
			rejected0 += st.rejected_sig;
		}
	sim_set_filter(s, lie, &l);
	/* three rounds of every name from random nodes */
	int ok = 0, total = 0;
	for (int round = 0; round < 3; round++) {
		assert_int_equal(sim_names_resolve(s, 200, 5000, &res), 0);
		assert_int_equal(res.wrong, 0);
		ok += (int)(res.resolve_success * res.resolves + 0.5);
		total += res.resolves;
		sim_run_until(s, sim_now(s) + 2000);
	}
	sim_set_filter(s, NULL, NULL);
	uint64_t rejected = 0;
	for (int i = 0; i < NODES; i++)
		if (sim_engine(s, i) != NULL) {
			engine_ns_stats(sim_engine(s, i), &st);
			rejected += st.rejected_sig;
		}
	assert_true(l.rewritten > 0);
	/* some lies come after the resolver had asked again and are dropped
	 * unread; the others are refused */
	assert_true(rejected > rejected0);
	/* the others answer instead */
	assert_true(ok >= total * 99 / 100);
	/* and nothing wrong was kept anywhere */
	sim_run_until(s, sim_now(s) + 2000);
	assert_int_equal(sim_names_resolve(s, 200, 5000, &res), 0);
	assert_true(res.resolve_success == 1.0);
	record_free(l.decoy);
	keypair_wipe(&l.kp);
	sim_free(s);
}

/* ---- split and merge ---------------------------------------------------- */

static void
tweak_split(struct sim_params *p)
{
	/* the loser's node answers from its own names until its renewal,
	 * at half the life, tells it that its claim waits */
	p->engine.expiry_s = 120;
	p->engine.cache_cap_s = 1;
	p->engine.negative_s = 1;
}

/* Whether a node of `prefix` sits at exactly `target`. */
static bool
exact_member(struct sim *s, int nodes, ovl_addr_t prefix, ovl_addr_t target)
{
	int m[16], n = members_of(s, nodes, prefix, m, 16);

	for (int i = 0; i < n; i++)
		if (engine_addr(sim_engine(s, m[i])) == target)
			return true;
	return false;
}

/* Cuts the name service between two sets of nodes: every message of it
 * (types from REGISTER on) that crosses is lost, the overlay's go
 * through. */
struct ns_cut {
	const uint8_t *side;
	bool on;
	int cut;
};

static enum sim_verdict
cut_ns(void *arg, int from, int to, const uint8_t *buf, size_t len,
    uint8_t **out, size_t *out_len)
{
	struct ns_cut *c = arg;

	(void)out;
	(void)out_len;
	if (!c->on || c->side[from] == c->side[to] || len < 3 ||
	    buf[2] < MSG_REGISTER)
		return SIM_PASS;
	c->cut++;
	return SIM_DROP;
}

/* The mesh is split in two, each gnode with members on both sides; each
 * half registers one name under its own key, ten seconds apart.  Once
 * healed, every copy of the name, and every node's answer, is the older
 * registration (though its key is the greater one, so the tie rule does
 * not decide), and the other claim waits in the queue on every member of
 * its hash gnode.  The node that registered the other claim learns it at
 * its next renewal, at half the life (120 s here), and from then on
 * answers like every other node.
 *
 * The split cuts only the name service's messages.  A real split of the
 * underlay does not heal in the overlay as it is: members cut apart stay
 * suspected or dead for each other after the heal, and gnodes that left
 * the outer map have nobody to bring them back, so anti-entropy and
 * handovers never get to run across.  The registering nodes are members
 * of the hash gnode, and the keys are counted there too, so that each
 * half registers without routing across the cut. */
static void
test_split_merge(void **state)
{
	enum { NODES = 60 };
	struct keypair a, b;
	uint8_t side[NODES];
	struct ns_cut cut = {.side = side};
	int m[16], reg[2] = {-1, -1};
	char name[32];
	ovl_addr_t g = 0;

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 18, tweak_split);
	/* a name whose exact hash address is nobody's, whose gnode has
	 * members enough for two halves */
	for (int k = 0;; k++) {
		snprintf(name, sizeof(name), "contested%d.name", k);
		if (sim_hash_gnode(s, name, &g, NULL) >= 4 &&
		    !exact_member(s, NODES, g, name_hash(name)))
			break;
	}
	/* two keys counted in that gnode, away from any member's address */
	struct keypair *want[2] = {&a, &b};
	for (int k = 0, found = 0; found < 2; k++) {
		test_key(1000 + k, want[found]);
		ovl_addr_t t = key_hash(want[found]->pk);
		if (sim_round_target(s, t) == g &&
		    !exact_member(s, NODES, g, t))
			found++;
	}
	if (memcmp(a.pk, b.pk, ANDNA_PK_LEN) < 0) {
		struct keypair t = a;
		a = b;
		b = t;
	}
	/* every gnode's members alternate between the sides */
	for (int i = 0; i < NODES; i++) {
		ovl_addr_t self = engine_addr(sim_engine(s, i));
		int below = 0,
		    n = members_of(s, NODES, self & 0xffffff00u, m, 16);
		for (int j = 0; j < n; j++)
			below += engine_addr(sim_engine(s, m[j])) < self;
		side[i] = (uint8_t)(below % 2);
		if ((self & 0xffffff00u) == g && reg[side[i]] < 0)
			reg[side[i]] = i;
	}
	assert_true(reg[0] >= 0 && reg[1] >= 0);
	sim_set_filter(s, cut_ns, &cut);
	cut.on = true;
	struct record_entry ea = v4(10, 4, 0, 1), eb = v4(10, 4, 0, 2);
	/* each half holds its owner's record on its half of the gnode, and
	 * the registration says so */
	must_register(s, reg[0], name, &ea, 1, &a, ANDNA_EMINORITY);
	sim_run_until(s, sim_now(s) + 10000);
	must_register(s, reg[1], name, &eb, 1, &b, ANDNA_EMINORITY);
	sim_run_until(s, sim_now(s) + 2000);
	/* two owners, one per half */
	assert_true(cut.cut > 0);
	assert_true(sim_record_copies(s, name, a.pk) > 0);
	assert_true(sim_record_copies(s, name, b.pk) > 0);
	cut.on = false;
	/* sync rounds of 5 s, one kind of item each in turn; renewals */
	sim_run_until(s, sim_now(s) + 70000);
	int holders = sim_record_copies(s, name, NULL);
	int members = sim_hash_gnode(s, name, &g, NULL);
	assert_true(holders >= members);
	assert_int_equal(sim_record_copies(s, name, a.pk), holders);
	assert_true(sim_claim_copies(s, name, b.pk) >= members);
	for (int i = 0; i < NODES; i++)
		assert_int_equal(resolve_check(s, i, name, &a, 1), 0);
	sim_set_filter(s, NULL, NULL);
	keypair_wipe(&a);
	keypair_wipe(&b);
	sim_free(s);
}

/* ---- a month ------------------------------------------------------------ */

static void
tweak_month(struct sim_params *p)
{
	/* 300 s of expiry stand for 30 days: the 1,200 s below are four
	 * months of expiry periods, without hours of pings */
	p->engine.expiry_s = 300;
	p->engine.cache_cap_s = 1;
	p->engine.negative_s = 1;
}

/* Forty names are registered from ten nodes; five of those nodes, the
 * owners of twenty names, go away.  Four expiry periods later the other
 * twenty, renewed by their nodes, resolve everywhere; the twenty orphans
 * have vanished from every store, and their counter tallies with them. */
static void
test_month(void **state)
{
	enum { NODES = 30, NAMES = 40 };
	char name[ANDNA_NAME_MAX + 1];
	struct record_entry ents[SIM_NAME_ENTRIES_MAX];
	struct keypair kp;
	int n, home[10];
	uint64_t x = 6;

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 19, tweak_month);
	for (int j = 0; j < 10; j++) {
		bool dup;
		do {
			home[j] = random_node(s, NODES, &x);
			dup = false;
			for (int i = 0; i < j; i++)
				dup = dup || home[i] == home[j];
		} while (dup);
	}
	for (int k = 0; k < NAMES; k++) {
		sim_name_gen(s, k, name, ents, &n);
		sim_name_owner(s, k, &kp);
		must_register(s, home[k % 10], name, ents, n, &kp, 0);
		keypair_wipe(&kp);
	}
	for (int j = 5; j < 10; j++)
		sim_crash(s, home[j]);
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	sim_run_until(s, sim_now(s) + 1200000);
	for (int k = 0; k < NAMES; k++) {
		sim_name_gen(s, k, name, ents, &n);
		sim_name_owner(s, k, &kp);
		int st = resolve_check(s, random_node(s, NODES, &x), name, &kp,
		    ents[0].target.ip[3]);
		if (k % 10 < 5) {
			assert_int_equal(st, 0);
			ovl_addr_t g;
			int members = sim_hash_gnode(s, name, &g, NULL);
			assert_true(
			    sim_record_copies(s, name, kp.pk) >= members);
			assert_true(sim_tally_copies(s, kp.pk) > 0);
		} else {
			assert_int_equal(st, ANDNA_ENOTFOUND);
			assert_int_equal(sim_record_copies(s, name, NULL), 0);
			assert_int_equal(sim_tally_copies(s, kp.pk), 0);
		}
		keypair_wipe(&kp);
	}
	sim_free(s);
}

/* ---- determinism -------------------------------------------------------- */

static void
names_run(uint64_t seed, struct sim_names_result *res, struct sim_counters *c)
{
	struct sim_names_result reg;
	struct sim *s = start(30, 30, 8, seed, NULL);

	assert_int_equal(sim_names_register(s, 0, 100, 3000, &reg), 0);
	assert_int_equal(sim_names_resolve(s, 100, 3000, res), 0);
	sim_counters(s, c);
	sim_free(s);
}

/* The same seed gives the same names, the same outcomes and the same
 * messages. */
static void
test_determinism(void **state)
{
	struct sim_names_result a, b;
	struct sim_counters ca, cb;

	(void)state;
	names_run(21, &a, &ca);
	names_run(21, &b, &cb);
	assert_int_equal(a.registered, 100);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_equal(&ca, &cb, sizeof(ca));
}

/* A queue place costs an address: a second key claiming a held name
 * from a host that has a claim on it already is refused, and nothing of
 * it is stored; the first key renews its claim from there and keeps its
 * place; a claim naming another node's endpoint is never queued (that
 * node answers challenges for its own address only), whether registered
 * or handed over, and the host of each claim is on every member. */
static void
test_queue_hosts(void **state)
{
	enum { NODES = 40 };
	struct keypair owner, a, b, c;
	int g_members[16];
	ovl_addr_t g;
	uint64_t x = 5;

	(void)state;
	struct sim *s = start(NODES, NODES, 8, 17, tweak_limits);
	test_key(210, &owner);
	test_key(211, &a);
	test_key(212, &b);
	test_key(213, &c);
	struct record_entry e = v4(10, 4, 0, 1);
	int home = random_node(s, NODES, &x);
	must_register(s, home, "hosts.name", &e, 1, &owner, 0);
	int n = sim_hash_gnode(s, "hosts.name", &g, NULL);
	assert_int_equal(members_of(s, NODES, g, g_members, 16), n);
	int member = g_members[0];
	int from, other;
	do
		from = random_node(s, NODES, &x);
	while (from == home ||
	    (engine_addr(sim_engine(s, from)) & 0xffffff00u) == g);
	do
		other = random_node(s, NODES, &x);
	while (other == from || other == member);

	struct record *ra = make_record("hosts.name", &a, 1, 11);
	struct record *rb = make_record("hosts.name", &b, 1, 12);
	struct record *ra2 = make_record("hosts.name", &a, 2, 13);
	struct record *rc = make_record("hosts.name", &c, 1, 14);
	assert_int_equal(send_register(s, from, member, ra), MSG_ST_QUEUED);
	assert_int_equal(send_register(s, from, member, rb), MSG_ST_HOST_FULL);
	assert_int_equal(send_register(s, from, member, ra2), MSG_ST_QUEUED);
	struct endpoint ep;
	sim_node_endpoint(s, other, &ep);
	assert_int_equal(send_register_ep(s, from, member, rc, &ep),
	    MSG_ST_BUSY);
	sim_run_until(s, sim_now(s) + 2000);
	assert_int_equal(sim_claim_copies(s, "hosts.name", b.pk), 0);
	assert_int_equal(sim_claim_copies(s, "hosts.name", c.pk), 0);
	assert_queue(s, NODES, "hosts.name", &a, 1);
	/* a claim handed over from outside waits for its claimant too: one
	 * naming another node's endpoint is not taken, one whose claimant
	 * answers is, behind the claim held */
	struct claim_host h = {engine_addr(sim_engine(s, from)), ep};
	hand_claim(s, from, member, rc, &h);
	assert_int_equal(sim_claim_copies(s, "hosts.name", c.pk), 0);
	sim_node_endpoint(s, other, &h.ep);
	h.addr = engine_addr(sim_engine(s, other));
	hand_claim(s, from, member, rc, &h);
	assert_true(sim_claim_copies(s, "hosts.name", c.pk) >= n);
	/* every member holds both, the first with the host that answered */
	struct endpoint want;
	sim_node_endpoint(s, from, &want);
	for (int k = 0; k < n; k++) {
		struct store_txn *t = NULL;
		struct host_seen hs = {0};
		assert_int_equal(store_txn_begin(sim_store(s, g_members[k]),
		    false, &t), 0);
		assert_int_equal(store_claim_each(t, host_seen_cb, &hs), 0);
		store_txn_abort(t);
		assert_int_equal(hs.n, 2);
		assert_int_equal(hs.first.addr, engine_addr(sim_engine(s, from)));
		assert_true(ep_equal(&hs.first.ep, &want));
	}
	record_free(ra);
	record_free(rb);
	record_free(ra2);
	record_free(rc);
	keypair_wipe(&owner);
	keypair_wipe(&a);
	keypair_wipe(&b);
	keypair_wipe(&c);
	sim_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_resolve_all),
	    cmocka_unit_test(test_thousand),
	    cmocka_unit_test(test_crash_heal),
	    cmocka_unit_test(test_new_gnode),
	    cmocka_unit_test(test_one_gnode_backup),
	    cmocka_unit_test(test_names_per_key),
	    cmocka_unit_test(test_queue),
	    cmocka_unit_test(test_queue_survives),
	    cmocka_unit_test(test_claim_before_record),
	    cmocka_unit_test(test_queue_hosts),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_moved_key),
	    cmocka_unit_test(test_liar),
	    cmocka_unit_test(test_split_merge),
	    cmocka_unit_test(test_register_race),
	    cmocka_unit_test(test_month),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
