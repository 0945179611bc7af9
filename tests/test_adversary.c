/* Hostile nodes (DESIGN.md section 10, sim/adversary.h): each attack runs
 * against a small mesh with names registered, and must fail.  Its own
 * success measures stay at zero (one IP may found one gnode beside ours:
 * any newcomer may), honest nodes send at most twice their usual rate
 * while it runs, and once it is over the honest figures are where a run of
 * the same seed without the attack puts them: agreement and probes within
 * 0.02, resolves within 0.05 (one name in twenty: the attack's own nodes
 * leave at its end, and a victim may change its address), copies per name
 * at most one lower, on average and for the name with fewest.
 *
 * The mesh has 150 nodes in gnodes of 8 (20 level-1 gnodes under 2 or 3
 * parents) and 30 names; an attack lasts 30 simulated seconds, five times
 * the suspicion timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "proto/err.h"
#include "sim/adversary.h"
#include "sim/sim.h"
#include "tests/adv_fixture.h"

/* Runs `kind`, then checks what every attack must leave as it was.  An
 * attacker whose one address holds a gnode in some maps (`holds_gnode`)
 * is given the copies of the names that round into it, as any node
 * founding a gnode would be: the name keeps its copies in the other of
 * its two gnodes, honest, since one address vouches for one gnode. */
static void
attack_holding(void **state, enum adv_kind kind, bool holds_gnode,
    struct adv_result *r)
{
	const struct figures *base = *state;
	struct figures f;
	struct sim *s = adv_start();

	assert_int_equal(adv_run(s, kind, ATTACK_MS, r), 0);
	adv_measure(s, &f);
	sim_free(s);
	print_message("%s: sent %llu; honest msgs/node/s %.2f before, %.2f "
		      "during; agree %.4f (%.4f), route %.4f (%.4f), resolve "
		      "%.4f (%.4f), copies mean %.1f (%.1f) min %d (%d)\n",
	    adv_kind_name(kind), (unsigned long long)r->sent,
	    r->honest_msgs_per_node_s_before, r->honest_msgs_per_node_s_during,
	    f.agree, base->agree, f.route, base->route, f.resolve,
	    base->resolve, f.copies_mean, base->copies_mean, f.copies_min,
	    base->copies_min);
	assert_int_equal(r->storm, 0);
	assert_true(r->honest_msgs_per_node_s_during <=
	    2 * r->honest_msgs_per_node_s_before);
	assert_true(f.agree >= base->agree - 0.02);
	assert_true(f.route >= base->route - 0.02);
	assert_true(f.resolve >= base->resolve - 0.05);
	if (holds_gnode) {
		assert_true(f.copies_min >= 1);
		return;
	}
	assert_true(f.copies_mean >= base->copies_mean - 1);
	assert_true(f.copies_min >= base->copies_min - 1);
}

static void
attack(void **state, enum adv_kind kind, struct adv_result *r)
{
	attack_holding(state, kind, false, r);
}

/* A lower key on the victim's address, in member news and as envelope
 * source, takes neither its address nor its place in any member's map. */
static void
test_evict(void **state)
{
	struct adv_result r;

	attack(state, ADV_EVICT, &r);
	print_message("evict: evicted %d (news %d, src %d), forged key held "
		      "by %d members (news %d, src %d)\n",
	    r.victim_evicted, r.evicted_by_news, r.evicted_by_src,
	    r.members_holding_forged_key, r.forged_by_news, r.forged_by_src);
	assert_int_equal(r.victim_evicted, 0);
	assert_int_equal(r.members_holding_forged_key, 0);
}

/* "Dead at incarnation 2^32-1" from a member does not kill the victim,
 * during the attack or after it. */
static void
test_death(void **state)
{
	struct adv_result r;

	attack(state, ADV_DEATH, &r);
	print_message("death: insider %d, storm %d, counted dead by %d, "
		      "after %d\n",
	    r.insider, r.storm, r.members_counting_dead,
	    r.members_counting_dead_after);
	assert_int_equal(r.members_counting_dead, 0);
	assert_int_equal(r.members_counting_dead_after, 0);
}

/* 200 gossiped gnodes that do not exist, from a node hooked elsewhere:
 * its one address vouches for one gnode at most in any honest map (a map
 * that does not hold it as a contact of its own gnode cannot tell). */
static void
test_fake_gnodes(void **state)
{
	struct adv_result r;

	attack_holding(state, ADV_FAKE_GNODES, true, &r);
	print_message("fake-gnodes: up to %d fakes in a map, %d maps\n",
	    r.fake_gnodes_in_maps, r.maps_with_fakes);
	assert_true(r.fake_gnodes_in_maps <= 1);
}

/* JOINs founding 200 gnodes beside ours from one outside IP: one at most
 * in any map, as for any node founding one. */
static void
test_join_outside(void **state)
{
	struct adv_result r;

	attack_holding(state, ADV_JOIN_OUTSIDE, true, &r);
	print_message("join-outside: up to %d fakes in a map, %d maps\n",
	    r.fake_gnodes_in_maps, r.maps_with_fakes);
	assert_true(r.fake_gnodes_in_maps <= 1);
}

/* Requests naming a third party as origin bring it no reply. */
static void
test_reflect(void **state)
{
	struct adv_result r;

	attack(state, ADV_REFLECT, &r);
	print_message("reflect: %ld unsolicited replies\n",
	    r.unsolicited_replies);
	assert_int_equal(r.unsolicited_replies, 0);
}

/* Twenty keys on one IP hold one place at most. */
static void
test_many_addrs(void **state)
{
	struct adv_result r;

	attack(state, ADV_MANY_ADDRS, &r);
	print_message("many-addrs: %d places held, %d gnodes vouched for\n",
	    r.places_held, r.gnodes_vouched);
	assert_true(r.places_held <= 1);
	assert_true(r.gnodes_vouched <= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_evict),
	    cmocka_unit_test(test_death),
	    cmocka_unit_test(test_fake_gnodes),
	    cmocka_unit_test(test_join_outside),
	    cmocka_unit_test(test_reflect),
	    cmocka_unit_test(test_many_addrs),
	};

	return cmocka_run_group_tests(tests, adv_baseline, adv_baseline_free);
}
