/* The owner chooses freshness (DESIGN.md sections 3 and 5), in the
 * simulator: a record's TTL bounds how long every node keeps a copy and
 * the ttl_s it reports, through its own cache and a neighbour's
 * (CACHE_READ answers with what is left of the neighbour's cache life);
 * an update with a 10 s TTL reaches every node that had the old set
 * cached within 10 s; the cache cap still bounds a long TTL; a node
 * answers its own names with their TTL; an update that chooses no TTL and
 * every renewal keep the TTL the name has; a TTL out of range is refused
 * at once; a copy in use is refreshed before it runs out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "node/engine/engine.h"
#include "proto/err.h"
#include "proto/msg.h"
#include "sim/sim.h"

enum { NODES = 24 };

typedef void tweak_fn(struct sim_params *p);

/* A simulator of NODES nodes in gnodes of 8, joined and converged. */
static struct sim *
start(uint64_t seed, tweak_fn *tweak)
{
	struct sim_params p;
	struct sim *s = NULL;

	sim_params_defaults(&p);
	p.nodes = NODES;
	p.engine.gnode_size = 8;
	p.engine.min_update_s = 0;
	p.seed = seed;
	p.join_rate = 5;
	if (tweak != NULL)
		tweak(&p);
	assert_int_equal(sim_new(&p, &s), 0);
	for (int i = 0; i < NODES; i++) {
		sim_join(s, i);
		sim_run_until(s, sim_now(s) + 200);
	}
	assert_int_equal(sim_running(s), NODES);
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	return s;
}

/* An IPv4 host entry 10.0.0.d. */
static struct record_entry
v4(uint8_t d)
{
	struct record_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = RECORD_TARGET_IPV4;
	e.weight = 1;
	e.target.ip[0] = 10;
	e.target.ip[3] = d;
	return e;
}

static void
test_key(struct keypair *kp)
{
	uint8_t seed[32] = "test-sim-ttl owner key";

	keypair_from_seed(kp, seed);
}

/* Registers `name` as 10.0.0.d from `node` with `ttl` and asserts it
 * went through. */
static void
must_register(struct sim *s, int node, const char *name, uint8_t d,
    uint32_t ttl, const struct keypair *kp)
{
	struct sim_ns_result r;
	struct record_entry e = v4(d);

	assert_int_equal(
	    sim_register_ttl(s, node, name, &e, 1, ttl, kp, &r), 0);
	if (r.status != 0)
		fail_msg("registering %s from node %d: %s", name, node,
		    andna_strerror(r.status));
	sim_ns_result_fini(&r);
}

/* What one resolution of `name` from `node` gave: the last byte of its
 * address, its TTL and seq, and the ttl_s reported. */
struct got {
	uint8_t d;
	uint32_t rec_ttl, ttl_s;
	uint64_t seq;
	int hops;
};

static struct got
must_resolve(struct sim *s, int node, const char *name)
{
	struct sim_ns_result r;
	struct got g;

	assert_int_equal(sim_resolve(s, node, name, &r), 0);
	if (r.status != 0)
		fail_msg("resolving %s from node %d: %s", name, node,
		    andna_strerror(r.status));
	assert_non_null(r.rec);
	assert_string_equal(r.rec->name, name);
	assert_int_equal(r.rec->n_entries, 1);
	g.d = r.rec->entries[0].target.ip[3];
	g.rec_ttl = r.rec->ttl;
	g.seq = r.rec->seq;
	g.ttl_s = r.ttl_s;
	g.hops = r.hops;
	sim_ns_result_fini(&r);
	return g;
}

/* Makes node `i`'s cached copy of `name` stale, as if the owner's TTL
 * had run out: the node still knows who owns the name, so it asks a
 * neighbour for its cache (a node that knows no owner asks the hash
 * gnode itself). */
static void
forget_cached(struct sim *s, int i, const char *name)
{
	struct store_txn *t = NULL;
	struct store_cache c;

	assert_int_equal(store_txn_begin(sim_store(s, i), true, &t), 0);
	assert_int_equal(store_cache_get(t, name, sim_now(s), &c), 0);
	assert_non_null(c.rec);
	uint8_t *blob = malloc(c.rec_len);
	assert_non_null(blob);
	memcpy(blob, c.rec, c.rec_len);
	c.rec = blob;
	c.fresh_until = sim_now(s);
	assert_int_equal(store_cache_put(t, name, &c, 1000), 0);
	assert_int_equal(store_txn_commit(t), 0);
	free(blob);
}

/* The level-1 gnode of node `i`. */
static ovl_addr_t
gnode_of(struct sim *s, int i)
{
	return engine_addr(sim_engine(s, i)) & 0xffffff00u;
}

/* Every node resolves `name`: the address 10.0.0.d with a 10 s TTL,
 * reported for no longer; returns whether some node other than `owner`
 * was told the whole 10 s (it had no copy and none of its neighbours). */
static bool
resolve_all(struct sim *s, const char *name, uint8_t d, int owner)
{
	bool fresh = false;

	for (int i = 0; i < NODES; i++) {
		struct got g = must_resolve(s, i, name);
		assert_int_equal(g.d, d);
		assert_int_equal(g.rec_ttl, 10);
		assert_true(g.ttl_s <= 10);
		fresh = fresh || (i != owner && g.ttl_s == 10);
	}
	return fresh;
}

/* A name registered with a 10 s TTL: every node caches it, and a node
 * that asks a neighbour for its cache gets what is left of the
 * neighbour's copy, never the whole TTL again.  Then the owner updates
 * the name while every node has the old set cached: no node reports or
 * keeps the old set longer than 10 s from when the update was stored,
 * and within that every node resolves the new set, although the cache
 * cap is 300 s. */
static void
test_update_within_ttl(void **state)
{
	struct keypair kp;
	const char *name = "fail.over";
	const int owner = 3;
	struct got g;

	(void)state;
	struct sim *s = start(41, NULL);
	assert_int_equal(sim_config(s)->engine.cache_cap_s, 300);
	test_key(&kp);
	must_register(s, owner, name, 1, 10, &kp);

	/* the owner answers its own name with the record's TTL */
	g = must_resolve(s, owner, name);
	assert_int_equal(g.hops, 0);
	assert_int_equal(g.rec_ttl, 10);
	assert_int_equal(g.ttl_s, 10);

	/* every node caches the set; nobody reports more than 10 s */
	uint64_t warm = sim_now(s);
	assert_true(resolve_all(s, name, 1, owner));
	uint64_t warmed = sim_now(s);
	assert_true(warmed - warm < 2000);

	/* 6 s later every cached copy has less than 4 s left.  A node whose
	 * copy went stale asks a neighbour for its cache, and gets what is
	 * left of it; only the owner itself answers with the whole TTL, so
	 * its gnode is left out of the count */
	sim_run_until(s, warmed + 6000);
	int outside = 0;
	for (int i = 0; i < NODES; i++) {
		if (i == owner)
			continue;
		forget_cached(s, i, name);
		g = must_resolve(s, i, name);
		assert_int_equal(g.d, 1);
		/* a neighbour that held no fresh copy any more asked the
		 * hash gnode, whose answer is fresh (2 hops or more) */
		if (gnode_of(s, i) == gnode_of(s, owner) || g.hops != 1)
			continue;
		if (g.ttl_s > 4)
			fail_msg("node %d: a copy cached %llu ms ago passed on "
			    "with %u s (%d hops)", i,
			    (unsigned long long)(sim_now(s) - warm), g.ttl_s, g.hops);
		outside++;
	}
	assert_true(outside >= 8);
	assert_true(sim_now(s) < warm + 10000);

	/* once every copy expired, every node caches the set again */
	sim_run_until(s, warmed + 10500);
	assert_true(resolve_all(s, name, 1, owner));

	/* the owner moves the name: no TTL chosen keeps 10 s */
	must_register(s, owner, name, 2, 0, &kp);
	uint64_t updated = sim_now(s);
	g = must_resolve(s, owner, name);
	assert_int_equal(g.d, 2);
	assert_int_equal(g.rec_ttl, 10);
	assert_int_equal(g.ttl_s, 10);

	/* poll every node: the old set only while a copy made before the
	 * update may live (1 s of slack for replies on their way), and
	 * never with a TTL reaching past that; the new set everywhere
	 * within the TTL */
	const uint64_t bound = updated + 10000 + 1000;
	uint64_t last_old = 0;
	int rounds = 0;
	for (bool all_new = false; !all_new; rounds++) {
		assert_true(sim_now(s) <= bound + 5000);
		all_new = true;
		for (int i = 0; i < NODES; i++) {
			g = must_resolve(s, i, name);
			assert_true(g.d == 1 || g.d == 2);
			assert_int_equal(g.rec_ttl, 10);
			if (g.d == 2)
				continue;
			all_new = false;
			last_old = sim_now(s);
			if (sim_now(s) + (uint64_t)g.ttl_s * 1000 > bound)
				fail_msg("node %d: old set at +%llu ms with "
				    "ttl %u s", i,
				    (unsigned long long)(sim_now(s) - updated),
				    g.ttl_s);
		}
		sim_run_until(s, sim_now(s) + 1000);
	}
	/* the old set was cached until well after the update */
	assert_true(rounds >= 2);
	assert_true(last_old >= updated + 5000);
	keypair_wipe(&kp);
	sim_free(s);
}

static void
tweak_short(struct sim_params *p)
{
	p->engine.cache_cap_s = 30;
	p->engine.expiry_s = 60; /* renewed every 30 s */
}

/* The cache cap bounds a long TTL (but not the owner's own answers); no
 * TTL chosen is 60 s; a TTL out of 5 s .. 1 day is refused before
 * anything is sent; renewals keep the TTL. */
static void
test_cap_default_renewal(void **state)
{
	struct keypair kp;
	struct sim_ns_result r;
	struct record_entry e = v4(9);
	struct got g;
	const int owner = 5, other = 17;

	(void)state;
	struct sim *s = start(42, tweak_short);
	test_key(&kp);

	must_register(s, owner, "long.ttl", 1, ANDNA_TTL_MAX, &kp);
	g = must_resolve(s, owner, "long.ttl");
	assert_int_equal(g.rec_ttl, ANDNA_TTL_MAX);
	assert_int_equal(g.ttl_s, ANDNA_TTL_MAX);
	g = must_resolve(s, other, "long.ttl");
	assert_int_equal(g.rec_ttl, ANDNA_TTL_MAX);
	assert_true(g.ttl_s > 0 && g.ttl_s <= 30);

	must_register(s, owner, "plain.ttl", 1, 0, &kp);
	g = must_resolve(s, owner, "plain.ttl");
	assert_int_equal(g.rec_ttl, ANDNA_TTL_DEFAULT);
	assert_int_equal(g.ttl_s, ANDNA_TTL_DEFAULT);
	g = must_resolve(s, other, "plain.ttl");
	assert_true(g.ttl_s > 0 && g.ttl_s <= 30);

	/* out of range: refused at once, the name unchanged */
	const uint32_t bad[] = {
	    1, ANDNA_TTL_MIN - 1, ANDNA_TTL_MAX + 1, UINT32_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sim_register_ttl(s, owner, "plain.ttl", &e, 1,
				     bad[i], &kp, &r),
		    ANDNA_EREC_TTL);
	sim_ns_result_fini(&r);
	g = must_resolve(s, owner, "plain.ttl");
	assert_int_equal(g.d, 1);
	assert_int_equal(g.rec_ttl, ANDNA_TTL_DEFAULT);

	/* an update may choose another TTL; the least one is 5 s */
	must_register(s, owner, "plain.ttl", 2, ANDNA_TTL_MIN, &kp);
	g = must_resolve(s, owner, "plain.ttl");
	assert_int_equal(g.d, 2);
	assert_int_equal(g.ttl_s, ANDNA_TTL_MIN);

	/* renewals: new sequence numbers, the same TTLs, everywhere */
	uint64_t seq = g.seq;
	sim_run_until(s, sim_now(s) + 75000);
	g = must_resolve(s, owner, "plain.ttl");
	assert_true(g.seq > seq);
	assert_int_equal(g.rec_ttl, ANDNA_TTL_MIN);
	g = must_resolve(s, other, "plain.ttl");
	assert_true(g.seq > seq);
	assert_int_equal(g.rec_ttl, ANDNA_TTL_MIN);
	assert_true(g.ttl_s <= ANDNA_TTL_MIN);
	g = must_resolve(s, other, "long.ttl");
	assert_int_equal(g.rec_ttl, ANDNA_TTL_MAX);
	keypair_wipe(&kp);
	sim_free(s);
}

/* A name in use never makes a query wait for its resolution again: a
 * node that answers it from its cache every second refreshes the cached
 * copy before it runs out (in the last 5 to 20% of its 20 s), so for a
 * minute, three lives of the copy, every answer comes from its own cache
 * and none is stale. */
static void
test_refresh_before_expiry(void **state)
{
	struct keypair kp;
	const char *name = "always.fresh";
	const int owner = 3, asker = 17;
	struct got g;

	(void)state;
	struct sim *s = start(43, NULL);
	test_key(&kp);
	must_register(s, owner, name, 7, 20, &kp);
	g = must_resolve(s, asker, name);
	assert_true(g.hops > 0);
	for (int t = 0; t < 60; t++) {
		sim_run_until(s, sim_now(s) + 1000);
		g = must_resolve(s, asker, name);
		if (g.hops != 0)
			fail_msg("second %d: asked the network (%d hops)", t,
			    g.hops);
		assert_int_equal(g.d, 7);
		assert_true(g.ttl_s >= 1 && g.ttl_s <= 20);
	}
	sim_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_update_within_ttl),
	    cmocka_unit_test(test_cap_default_renewal),
	    cmocka_unit_test(test_refresh_before_expiry),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
