/* Hostile nodes against names (DESIGN.md sections 4, 5 and 10;
 * sim/adversary.h): each attack on names runs against a small mesh with
 * names registered, and must fail.  What it wanted stays at zero: no
 * resolution or cache returns a record of the attacker's key or an older
 * record of the owner, no member holds a stolen, revived, older or
 * endless copy, the owner's later update goes through, and a key at its
 * limit registers nothing more, and five keys minted on one host take
 * one place in a name's queue, not five (a claim costs an address: its
 * claimant's host answers a challenge, and one host holds at most its
 * share, nodes_per_ipv4, of a queue).  Once it is over the honest figures are where a run of the same
 * seed without an attack puts them: agreement and probes within 0.02,
 * resolves within 0.05, copies per name at most one lower (the attacker's
 * own node leaves at its end).
 *
 * The mesh is tests/adv_fixture.c's, as for tests/test_adversary.c; an
 * attack lasts 30 simulated seconds, six anti-entropy periods.  An update
 * may follow another after 10 s there (the endless and rollback attacks
 * wait for it), and a key holds 3 names at most (counter-free fills its
 * own key first). */
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

/* Prints what every variant achieved. */
static void
print_variants(const struct adv_result *r)
{
	for (int k = 0; k < r->n_variants; k++) {
		const struct adv_variant *x = &r->variants[k];
		print_message("  %-16s held %d, resolved %d of %d, cached %d, "
			      "lies %d, outcome %d (%s)\n",
		    x->name, x->held, x->resolved, x->resolves, x->cached,
		    x->lies, x->outcome,
		    x->outcome < 0	 ? "-"
			: x->status == 0 ? "ok"
					 : andna_strerror(x->status));
	}
}

/* Runs `kind` and measures the honest figures once it is over, into
 * *f; prints them beside the baseline's, and what each variant of the
 * attack achieved. */
static void
attack(
    void **state, enum adv_kind kind, struct adv_result *r, struct figures *f)
{
	const struct figures *base = *state;
	struct sim *s = adv_start();

	assert_int_equal(adv_run(s, kind, ATTACK_MS, r), 0);
	adv_measure(s, f);
	sim_free(s);
	print_message("%s: sent %llu; agree %.4f (%.4f), route %.4f (%.4f), "
		      "resolve %.4f (%.4f), copies mean %.1f (%.1f) min %d "
		      "(%d)\n",
	    adv_kind_name(kind), (unsigned long long)r->sent, f->agree,
	    base->agree, f->route, base->route, f->resolve, base->resolve,
	    f->copies_mean, base->copies_mean, f->copies_min, base->copies_min);
	print_variants(r);
}

/* What every attack must leave as it was; checked after the attack's own
 * measures, which say more when they fail. */
static void
honest_same(void **state, const struct adv_result *r, const struct figures *f)
{
	const struct figures *base = *state;

	assert_int_equal(r->storm, 0);
	assert_true(f->agree >= base->agree - 0.02);
	assert_true(f->route >= base->route - 0.02);
	assert_true(f->resolve >= base->resolve - 0.05);
	assert_true(f->copies_mean >= base->copies_mean - 1);
	assert_true(f->copies_min >= base->copies_min - 1);
}

/* Answers re-signed with the liar's own keys (address 6.6.6.6) by the
 * member asked for its cache, by a hop passing routed replies back, and
 * by a member of the hash gnode: no resolution returns one and no cache
 * keeps one.  The liar must have lied, or the test proves nothing. */
static void
test_liar(void **state)
{
	struct adv_result r;
	struct figures f;

	attack(state, ADV_LIAR, &r, &f);
	print_message("liar: %d lies; %d of %d resolutions forged, %d "
		      "caches\n",
	    r.lies, r.forged_resolves, r.name_resolves, r.forged_cached);
	assert_true(r.lies > 0); /* it was on the path */
	assert_int_equal(r.forged_resolves, 0);
	assert_int_equal(r.forged_cached, 0);
	honest_same(state, &r, &f);
}

/* A record of the attacker's key for a victim's name, from outside its
 * hash gnode, as HANDOVER, REPLICATE and SYNC_PAGE, with age = life =
 * 2^32-1 and with sane values: no honest node holds it, no resolver
 * returns it. */
static void
test_theft(void **state)
{
	struct adv_result r;
	struct figures f;

	attack(state, ADV_THEFT, &r, &f);
	print_message("theft: held by %d, %d of %d resolutions\n",
	    r.forged_held, r.forged_resolves, r.name_resolves);
	assert_int_equal(r.n_variants, 6);
	assert_int_equal(r.forged_held, 0);
	assert_int_equal(r.forged_resolves, 0);
	honest_same(state, &r, &f);
}

/* The owner released its name; its last record replayed by REPLICATE,
 * HANDOVER, SYNC_PAGE and as a REGISTER brings it back nowhere. */
static void
test_replay_release(void **state)
{
	struct adv_result r;
	struct figures f;

	attack(state, ADV_REPLAY_RELEASE, &r, &f);
	print_message("replay-release: live again on %d, %d of %d "
		      "resolutions\n",
	    r.resurrected_held, r.resurrected_resolves, r.name_resolves);
	assert_int_equal(r.n_variants, 4);
	assert_int_equal(r.resurrected_held, 0);
	assert_int_equal(r.resurrected_resolves, 0);
	honest_same(state, &r, &f);
}

/* The REPLICATE that carries a release to one member is lost: four
 * anti-entropy periods later no member holds the name live and it does
 * not resolve. */
static void
test_lost_release(void **state)
{
	struct adv_result r;
	struct figures f;

	attack(state, ADV_LOST_RELEASE, &r, &f);
	print_message("lost-release: live again on %d, %d of %d "
		      "resolutions\n",
	    r.resurrected_held, r.resurrected_resolves, r.name_resolves);
	assert_int_equal(r.variants[0].lies, 1); /* the release was lost */
	assert_int_equal(r.resurrected_held, 0);
	assert_int_equal(r.resurrected_resolves, 0);
	honest_same(state, &r, &f);
}

/* The owner's genuine record re-sent with life 2^32-1, or with a life of
 * the expiry again and again until the owner updates: no copy lives past
 * the expiry, and the owner's update after the minimum interval goes
 * through. */
static void
test_endless(void **state)
{
	struct adv_result r;
	struct figures f;

	attack(state, ADV_ENDLESS, &r, &f);
	print_message("endless: %d copies past the expiry, %d updates too "
		      "soon\n",
	    r.endless_held, r.update_too_soon);
	assert_int_equal(r.n_variants, 6);
	assert_int_equal(r.endless_held, 0);
	assert_int_equal(r.update_too_soon, 0);
	for (int k = 0; k < r.n_variants; k++)
		assert_int_equal(r.variants[k].status, 0);
	honest_same(state, &r, &f);
}

/* The owner's older record, replayed to members and returned on the
 * resolution path after the owner updated: nobody holds, returns or
 * caches the older sequence number. */
static void
test_rollback(void **state)
{
	struct adv_result r;
	struct figures f;

	attack(state, ADV_ROLLBACK, &r, &f);
	print_message("rollback: older record held by %d, %d of %d "
		      "resolutions, %d caches\n",
	    r.rolled_back_held, r.rolled_back_resolves, r.name_resolves,
	    r.rolled_back_cached);
	assert_int_equal(r.n_variants, 4);
	assert_true(r.variants[3].lies > 0); /* it was on the path */
	assert_int_equal(r.rolled_back_held, 0);
	assert_int_equal(r.rolled_back_resolves, 0);
	assert_int_equal(r.rolled_back_cached, 0);
	honest_same(state, &r, &f);
}

/* A key at its limit sends its counter gnode a release of a name it
 * still holds (COUNTER_CHECK remove, a tally release by HANDOVER and by
 * REPLICATE), then registers one name more: refused every time. */
static void
test_counter_free(void **state)
{
	struct adv_result r;
	struct figures f;

	attack(state, ADV_COUNTER_FREE, &r, &f);
	print_message(
	    "counter-free: %d names beyond the limit\n", r.extra_names);
	assert_int_equal(r.n_variants, 3);
	for (int k = 0; k < r.n_variants; k++)
		assert_true(r.variants[k].held > 0); /* still held */
	assert_int_equal(r.extra_names, 0);
	honest_same(state, &r, &f);
}

/* Five freshly minted keys from one host claim a held name, each from
 * an overlay address of its own, and answer the challenges for them from
 * that host; an honest claim that comes next still finds a place in the
 * queue, and the attacker holds at most its host's share of it. */
static void
test_queue_fill(void **state)
{
	struct adv_result r;
	struct figures f;

	attack(state, ADV_QUEUE_FILL, &r, &f);
	print_message("queue-fill: %d of its claims queued; honest claim "
		      "queued %d (%s)\n",
	    r.attacker_claims, r.claimant_queued,
	    andna_strerror(r.variants[0].status));
	assert_int_equal(r.claimant_queued, 1);
	/* one IPv4 address, nodes_per_ipv4 (1 by default) claims */
	assert_true(r.attacker_claims <= 1);
	honest_same(state, &r, &f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_liar),
	    cmocka_unit_test(test_theft),
	    cmocka_unit_test(test_replay_release),
	    cmocka_unit_test(test_lost_release),
	    cmocka_unit_test(test_endless),
	    cmocka_unit_test(test_rollback),
	    cmocka_unit_test(test_counter_free),
	    cmocka_unit_test(test_queue_fill),
	};

	return cmocka_run_group_tests(tests, adv_baseline, adv_baseline_free);
}
