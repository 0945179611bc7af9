/* Hostile nodes in the simulator (DESIGN.md section 10, "Trust"): each
 * attack is an attacker as strong as a real one.  It mints keys at will
 * but signs only with its own, answers every CHALLENGE sent to it from the
 * address challenged, acknowledges every routed request and HANDOVER it
 * receives, and knows the true state of the whole simulation.  It speaks
 * from the simulator's hostile slots (sim_params.hostile) and measures
 * what it achieved and what it cost the honest nodes. */
#ifndef ANDNA_SIM_ADVERSARY_H
#define ANDNA_SIM_ADVERSARY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct sim;

enum adv_kind {
	ADV_EVICT,	  /* lower key on a victim's address */
	ADV_DEATH,	  /* the victim is dead, incarnation 2^32-1 */
	ADV_FAKE_GNODES,  /* gossip of gnodes that do not exist */
	ADV_JOIN_OUTSIDE, /* JOINs founding gnodes beside honest ones */
	ADV_REFLECT,	  /* routed requests naming a victim as origin */
	ADV_MANY_ADDRS,	  /* one IP, many ports, many keys */
	ADV_KINDS
};

#define ADV_MANY 20		    /* keys of the many-addresses attacker */
#define ADV_FAKES 200		    /* fake gnodes of one attack */
#define ADV_SLOTS (5 + ADV_MANY)    /* hostile slots the attacks use */
#define ADV_DEFAULT_MS 60000	    /* how long an attack lasts */

/* What one attack sent and achieved.  A measure that is not the attack's
 * is -1 (left out of the JSON). */
struct adv_result {
	int kind;	   /* enum adv_kind */
	uint64_t sent;	   /* messages the attacker sent */
	uint64_t received; /* messages honest nodes sent to it */
	/* evict: times the victim gave up its address (re-hooked), and the
	 * most honest members that held the attacker's key at the victim's
	 * address at once; overall and per variant (member news naming the
	 * victim; envelopes from the victim's address) */
	int victim_evicted, members_holding_forged_key;
	int evicted_by_news, forged_by_news, evicted_by_src, forged_by_src;
	/* death: 1 if the attacker is a member of the victim's gnode;
	 * members that count the victim dead (or suspect) at the end of the
	 * attack, and a suspicion time after it stopped */
	int insider, members_counting_dead, members_counting_dead_after;
	/* fake-gnodes, join-outside: the most fake gnodes one honest outer
	 * map holds at the end, and the honest maps holding any */
	int fake_gnodes_in_maps, maps_with_fakes;
	/* reflect: replies to its requests that reached the victim */
	long unsolicited_replies;
	/* many-addrs: its keys that honest nodes hold as members, and the
	 * most gnodes one honest outer map has a contact at its IP for */
	int places_held, gnodes_vouched;
	/* 1 if honest traffic ran away (ADV_STORM times the events of the
	 * quiet window): the attack stopped there, and its victim with it,
	 * or the storm would never let the run end */
	int storm;
	/* messages sent per honest node per second in a window as long as
	 * the attack just before it, and during it */
	double honest_msgs_per_node_s_before, honest_msgs_per_node_s_during;
	/* the honest figures after the attack (the scenario measures them;
	 * -1 when it did not) */
	double converged_s, agree, route_success, resolve_success;
	double copies_min, copies_mean;
};

/* The attack's name on the command line ("fake-gnodes"). */
const char *adv_kind_name(enum adv_kind k);

/* Parses a comma-separated list of attack names ("all": every one) into
 * a mask of (1 << kind).  Returns 0 or ANDNA_EINVAL. */
int adv_parse(const char *list, unsigned *mask);

/* Runs attack `kind` on `s` now: it prepares (chooses a victim, hooks its
 * own nodes), runs `ms` without attacking to measure the honest message
 * rate, then attacks for `ms` and measures; nodes the attack ran stop at
 * its end.  Needs sim_params.hostile >= ADV_SLOTS and uses the simulator's
 * tap (and, for reflect, its filter), which it clears.  Fills *out but for
 * the honest figures after the attack.  Returns 0, ANDNA_EINVAL (no
 * hostile slots, or nothing to attack) or ANDNA_ENOMEM. */
int adv_run(struct sim *s, enum adv_kind kind, uint32_t ms,
    struct adv_result *out);

/* Writes `r` as one JSON object (no newline). */
void adv_result_json(const struct adv_result *r, FILE *f);

#endif
