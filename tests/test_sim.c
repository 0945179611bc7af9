/* Simulator scenarios: 1,000 nodes with gnode size 16 converge to one view
 * and route every probe, with loss, after a crash of 30% and after a
 * partition heals; 200 nodes restarted all at once re-form one overlay;
 * and the same seed gives the same run. */
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

/* The common set-up: 1,000 nodes, gnode size 16, a short steady window. */
static void
params_1000(struct sim_params *p, uint64_t seed)
{
	sim_params_defaults(p);
	p->nodes = 1000;
	p->engine.gnode_size = 16;
	p->seed = seed;
	p->steady_ms = 5000;
	/* joins take 20 s, the engine's timeouts are 2 min at most: a run
	 * that has not converged by then will not */
	p->max_time_ms = 400000;
}

/* Asserts a batch of probes reached the right gnode, at least `min` of
 * them, within levels + 1 hops. */
static void
assert_probes(const struct sim_probe_result *r, double min, int levels)
{
	assert_int_equal(r->sent, 10000);
	assert_true(r->success >= min);
	assert_true(r->hops_p50 >= 0);
	assert_true(r->hops_p99 <= levels + 1);
}

static void
test_converge_and_route(void **state)
{
	struct sim_params p;
	struct sim_report r;

	(void)state;
	params_1000(&p, 1);
	assert_int_equal(sim_scenario_run(&p, &r), 0);
	assert_int_equal(r.running, 1000);
	assert_true(r.converged_s >= 0);
	assert_true(r.agree == 1.0);
	/* 1,000 nodes in gnodes of at most 16: at least 63 of them, so at
	 * least two levels are in use */
	assert_true(r.gnodes >= 63);
	assert_true(r.levels >= 2);
	/* no gnode took more members than it may hold, nor a parent more
	 * children (see test_loss()) */
	assert_true(r.widest > 1 && r.widest <= 16);
	assert_true(r.widest_children > 1 && r.widest_children <= 16);
	assert_true(r.probes.success == 1.0);
	assert_probes(&r.probes, 1.0, r.levels);
	assert_true(r.msgs_per_node_s > 0);
	/* every message carries at least the sender's key and the seal */
	assert_true(r.bytes_per_node_s >=
	    r.msgs_per_node_s * (ANDNA_PK_LEN + MSG_SIG_TRAILER));
	assert_true(r.bytes_state_per_node > 0);
	assert_int_equal(r.counters.lost, 0);
	assert_int_equal(r.counters.cut, 0);
}

static void
test_loss(void **state)
{
	struct sim_params p;
	struct sim_report r;

	(void)state;
	params_1000(&p, 2);
	p.loss = 0.05;
	assert_int_equal(sim_scenario_run(&p, &r), 0);
	assert_true(r.converged_s >= 0);
	assert_true(r.agree == 1.0);
	assert_probes(&r.probes, 0.999, r.levels);
	/* a member wrongly declared dead keeps its place while it may
	 * refute, so it does not come back to one member too many.  New
	 * gnodes are founded from outer maps that lag under loss (a gnode
	 * enters them once checked), so two founders may each take the last
	 * place of a parent: one child beyond gnode_size, which nothing
	 * depends on (ids have 8 bits; the default gnode_size is 256) */
	assert_true(r.widest > 1 && r.widest <= 16);
	assert_true(r.widest_children > 1 && r.widest_children <= 17);
	/* the loss model dropped about 5% of the datagrams */
	double dgrams = (double)(r.counters.sent - r.counters.streams -
	    r.counters.dead - r.counters.bad_dest);
	double lost = (double)r.counters.lost / dgrams;
	assert_true(lost > 0.045 && lost < 0.055);
}

static void
test_crash(void **state)
{
	struct sim_params p;
	struct sim_report r;

	(void)state;
	params_1000(&p, 3);
	p.crash = 0.3;
	assert_int_equal(sim_scenario_run(&p, &r), 0);
	assert_true(r.converged_s >= 0);
	assert_int_equal(r.crashed, 300);
	assert_int_equal(r.running, 700);
	assert_true(r.crash_converged_s >= 0);
	assert_true(r.crash_agree == 1.0);
	assert_true(r.crash_probes.success == 1.0);
	assert_probes(&r.crash_probes, 1.0, r.levels);
}

static void
test_partition_heal(void **state)
{
	struct sim_params p;
	struct sim_report r;

	(void)state;
	params_1000(&p, 4);
	p.partition = true;
	p.max_time_ms = 700000; /* a split of 150 s, then the heal */
	assert_int_equal(sim_scenario_run(&p, &r), 0);
	assert_true(r.converged_s >= 0);
	/* the split lasted long enough for the halves to forget each other:
	 * many gnodes straddle the split (a full gnode sends joiners to any
	 * sibling with room, near or far), so they live on in both halves
	 * and it is members that each half loses */
	assert_true(r.split_members_wrong > 0);
	assert_true(r.counters.cut > 0);
	assert_true(r.heal_converged_s >= 0);
	assert_true(r.heal_agree == 1.0);
	assert_true(r.heal_probes.success == 1.0);
	assert_probes(&r.heal_probes, 1.0, r.levels);
}

/* What one small run measured, for comparing runs. */
struct small {
	struct sim_counters c;
	struct sim_probe_result before, after;
	double agree, state;
	uint64_t sent;
	int crashed;
};

/* 200 nodes in gnodes of 8, so two levels are in use. */
static void
params_200(struct sim_params *p, uint64_t seed, double loss)
{
	sim_params_defaults(p);
	p->nodes = 200;
	p->engine.gnode_size = 8;
	p->seed = seed;
	p->loss = loss;
	p->targets = 2000;
}

/* A small run that draws on every source of randomness (positions, keys,
 * loss, the engines, probes, crashes, a leave) over a fixed stretch of
 * simulated time, whether or not the overlay converges in it. */
static void
small_run(uint64_t seed, struct small *r)
{
	struct sim_params p;
	struct sim *s = NULL;

	memset(r, 0, sizeof(*r));
	params_200(&p, seed, 0.02);
	assert_int_equal(sim_new(&p, &s), 0);
	sim_run_until(s, sim_join_all(s) + 30000);
	assert_int_equal(sim_probes(s, 500, 2000, &r->before), 0);
	r->crashed = sim_kill_fraction(s, 0.1, false);
	sim_leave(s, 199);
	sim_run_until(s, sim_now(s) + 20000);
	assert_int_equal(sim_probes(s, 500, 2000, &r->after), 0);
	r->agree = sim_agree(s);
	r->state = sim_state_bytes(s);
	r->sent = sim_engine_sent(s);
	sim_counters(s, &r->c);
	sim_free(s);
}

static void
test_determinism(void **state)
{
	struct small a, b, c;

	(void)state;
	small_run(7, &a);
	small_run(7, &b);
	small_run(8, &c);
	assert_int_equal(a.crashed, 20);
	assert_true(a.c.events > 0 && a.c.lost > 0 && a.c.crashes == 20);
	assert_true(a.before.sent == 500 && a.after.sent > 0);
	assert_memory_equal(&a.c, &b.c, sizeof(a.c));
	assert_memory_equal(&a.before, &b.before, sizeof(a.before));
	assert_memory_equal(&a.after, &b.after, sizeof(a.after));
	assert_true(a.agree == b.agree && a.state == b.state);
	assert_int_equal(a.sent, b.sent);
	/* another seed, another run */
	assert_int_not_equal(a.c.hash, c.c.hash);
	assert_true(a.c.events != c.c.events || a.c.sent != c.c.sent);
}

/* The underlay by itself: a split cuts every message that crosses it and
 * only those, and healing ends that. */
static void
test_split_cuts(void **state)
{
	struct sim_params p;
	struct sim_counters c0, c1, c2;
	struct sim *s = NULL;

	(void)state;
	sim_params_defaults(&p);
	p.nodes = 100;
	p.engine.gnode_size = 8;
	assert_int_equal(sim_new(&p, &s), 0);
	assert_int_equal(sim_running(s), 0);
	assert_false(sim_converged(s));
	uint64_t last = sim_join_all(s);
	assert_int_equal(last, 99 * 20); /* 50 joins per second */
	sim_run_until(s, last);
	assert_int_equal(sim_running(s), 100);
	/* convergence is the scenarios' business: here, traffic is enough */
	sim_run_until(s, last + 30000);
	assert_int_equal(sim_hooked(s), 100);
	sim_counters(s, &c0);
	assert_int_equal(c0.cut, 0);
	sim_partition(s);
	sim_run_until(s, sim_now(s) + 20000);
	sim_counters(s, &c1);
	assert_true(c1.cut > 0);
	sim_heal(s);
	sim_run_until(s, sim_now(s) + 20000);
	sim_counters(s, &c2);
	assert_true(c2.cut == c1.cut);
	assert_true(c2.delivered > c1.delivered);
	/* a crashed node takes no more messages: its gnode's pings to it
	 * are dropped */
	sim_crash(s, 5);
	assert_null(sim_engine(s, 5));
	assert_int_equal(sim_running(s), 99);
	sim_counters(s, &c1);
	sim_run_until(s, sim_now(s) + 10000);
	sim_counters(s, &c2);
	assert_true(c2.dead > c1.dead);
	/* a leaving node tells its gnode before it goes */
	sim_counters(s, &c1);
	sim_leave(s, 6);
	assert_null(sim_engine(s, 6));
	assert_int_equal(sim_running(s), 98);
	sim_counters(s, &c2);
	assert_true(c2.sent > c1.sent);
	assert_int_equal(c2.leaves, 1);
	assert_int_equal(c2.crashes, 1);
	sim_free(s);
}

/* What a whole-mesh restart measured. */
struct restart {
	double converged_s; /* after the restart; -1: not in time */
	int hooked, gnodes, levels;
	int tops; /* top-level gnodes: 1 unless overlays founded apart */
	struct sim_names_result names;
	uint64_t hash;
};

/* 200 nodes and 300 names; then every node stops at once and starts again
 * within a second with its store and the peers it knew.  Each finds
 * every peer it asks joining too. */
static void
restart_run(uint64_t seed, double loss, struct restart *r)
{
	struct sim_params p;
	struct sim_names_result reg;
	struct sim_counters c;
	struct sim *s = NULL;

	memset(r, 0, sizeof(*r));
	params_200(&p, seed, loss);
	p.engine.seal = MSG_SEAL_DIGEST;
	assert_int_equal(sim_new(&p, &s), 0);
	sim_run_until(s, sim_join_all(s));
	assert_true(sim_wait_converged(s, sim_now(s) + 120000) >= 0);
	assert_int_equal(sim_names_register(s, 0, 300, 5000, &reg), 0);
	assert_int_equal(reg.registered, 300);
	sim_restart_all(s, 1000);
	assert_int_equal(sim_running(s), 0);
	sim_run_until(s, sim_now(s) + 1000);
	assert_int_equal(sim_running(s), 200);
	r->converged_s = sim_wait_converged(s, sim_now(s) + 120000);
	r->hooked = sim_hooked(s);
	sim_gnodes(s, &r->gnodes, &r->levels);
	bool top[256] = {false};
	for (int i = 0; i < 200; i++) {
		struct engine *e = sim_engine(s, i);
		if (e != NULL && engine_hooked(e) &&
		    !top[engine_addr(e) >> 24]) {
			top[engine_addr(e) >> 24] = true;
			r->tops++;
		}
	}
	/* the handover of records to the gnodes that hold them now */
	sim_run_until(s, sim_now(s) + 20000);
	assert_int_equal(sim_names_resolve(s, 300, 5000, &r->names), 0);
	sim_counters(s, &c);
	r->hash = c.hash;
	sim_free(s);
}

/* A whole mesh restarted at once re-forms as one overlay: one node, the
 * lowest key of the joiners, founds it and the others join it, so every
 * node lies in the founder's top-level gnode (overlays founded apart, even
 * merged, would sit side by side at the top level), and it converges
 * with two levels in use, as before; every name resolves.  The same with
 * 2% loss, and the same seed gives the same run. */
static void
test_restart_all(void **state)
{
	struct restart a, b, l;

	(void)state;
	restart_run(21, 0, &a);
	assert_true(a.converged_s >= 0 && a.converged_s < 60);
	assert_int_equal(a.hooked, 200);
	assert_true(a.gnodes >= 25);
	assert_int_equal(a.tops, 1);
	assert_int_equal(a.levels, 2);
	assert_true(a.names.resolve_success == 1.0);
	restart_run(21, 0, &b);
	assert_true(a.converged_s == b.converged_s);
	assert_true(a.hash == b.hash);
	restart_run(22, 0.02, &l);
	assert_true(l.converged_s >= 0 && l.converged_s < 90);
	assert_int_equal(l.hooked, 200);
	assert_int_equal(l.tops, 1);
	assert_int_equal(l.levels, 2);
	assert_true(l.names.resolve_success >= 0.99);
	printf(
	    "200 nodes restarted: one overlay after %.1f s\n", a.converged_s);
	printf("with 2%% loss: one overlay after %.1f s\n", l.converged_s);
}

static void
test_params_check(void **state)
{
	struct sim_params p;
	const char *why = NULL;
	struct sim *s = NULL;

	(void)state;
	sim_params_defaults(&p);
	assert_int_equal(sim_params_check(&p, &why), 0);
	assert_null(why);
	p.nodes = 0;
	assert_int_equal(sim_params_check(&p, &why), ANDNA_EINVAL);
	assert_non_null(why);
	assert_int_equal(sim_new(&p, &s), ANDNA_EINVAL);
	assert_null(s);
	sim_params_defaults(&p);
	p.loss = 1.0;
	assert_int_equal(sim_params_check(&p, &why), ANDNA_EINVAL);
	sim_params_defaults(&p);
	p.crash = 0.6;
	p.leave = 0.5;
	assert_int_equal(sim_params_check(&p, &why), ANDNA_EINVAL);
	sim_params_defaults(&p);
	p.engine.gnode_size = 257;
	assert_int_equal(sim_params_check(&p, &why), ANDNA_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params_check),
	    cmocka_unit_test(test_split_cuts),
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_converge_and_route),
	    cmocka_unit_test(test_loss),
	    cmocka_unit_test(test_crash),
	    cmocka_unit_test(test_partition_heal),
	    cmocka_unit_test(test_restart_all),
	};

	if (crypto_init() != 0)
		return 1;
	/* SIM_TEST=test_crash runs one scenario (a glob pattern) */
	if (getenv("SIM_TEST") != NULL)
		cmocka_set_test_filter(getenv("SIM_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
