/* Hostile nodes in the simulator (DESIGN.md section 10, "Trust"): each
 * attack is an attacker as strong as a real one.  It mints keys at will
 * but signs only with its own, answers every CHALLENGE sent to it from the
 * address challenged, acknowledges every routed request and HANDOVER it
 * receives, replays whatever it has seen, and knows the true state of
 * the whole simulation (what honest stores hold).  It speaks
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
	/* attacks on names (DESIGN.md sections 4, 5 and 10) */
	ADV_LIAR,	    /* answers on the resolution path re-signed with
			     * a key of its own */
	ADV_THEFT,	    /* a record of its own key for a victim's name,
			     * handed in from outside its hash gnode */
	ADV_REPLAY_RELEASE, /* a released name's last record replayed */
	ADV_LOST_RELEASE,   /* one member never hears of a release */
	ADV_ENDLESS,	    /* the owner's record re-sent with life 2^32-1 */
	ADV_ROLLBACK,	    /* an older record of the owner replayed */
	ADV_COUNTER_FREE,   /* a key at its limit frees a counter slot for a
			     * name it still holds */
	ADV_QUEUE_FILL,	    /* five minted keys fill a name's queue */
	ADV_KINDS
};

#define ADV_MANY 20		    /* keys of the many-addresses attacker */
#define ADV_FAKES 200		    /* fake gnodes of one attack */
#define ADV_NAME_KINDS (ADV_KINDS - ADV_LIAR)
#define ADV_SLOTS (5 + ADV_MANY + ADV_NAME_KINDS) /* hostile slots the
						   * attacks use */
#define ADV_VARIANTS 8		    /* variants of one attack on names */
#define ADV_DEFAULT_MS 60000	    /* how long an attack lasts */

/* One variant of an attack on names: how it went about it (its name),
 * and what it achieved.  A measure the variant does not take is -1. */
struct adv_variant {
	char name[24];	/* "handover-max" */
	int held;	/* honest nodes whose store holds what the attack
			 * wanted held (a stolen, revived, endless or older
			 * record) */
	int resolves;	/* honest resolutions the attack watched */
	int resolved;	/* of them, those that returned what it wanted */
	int cached;	/* honest caches holding what it wanted, at the end */
	int lies;	/* answers it replaced on the resolution path
			 * (lost-release: the release messages lost) */
	int outcome;	/* 1 when the honest operation it spoils went its
			 * way (endless: the owner's update refused as too
			 * soon; counter-free: the extra name registered;
			 * queue-fill: the honest claim refused), else 0 */
	int status;	/* that operation's status (0 or ANDNA_E*), when
			 * outcome >= 0 */
};

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
	/* The attacks on names.  Each measure sums its variants' (below).
	 * liar: honest resolutions that returned the attacker's record, and
	 * honest caches holding one at the end; answers it replaced.
	 * theft: honest nodes holding the attacker's record as owner, and
	 * honest resolutions returning it (forged_resolves). */
	int forged_resolves, forged_cached, lies, forged_held;
	/* replay-release, lost-release: honest nodes holding the released
	 * name live again, and honest resolutions of it that succeeded */
	int resurrected_held, resurrected_resolves;
	/* endless: honest nodes whose copy lives longer than the expiry,
	 * and the owner's later updates refused as too soon */
	int endless_held, update_too_soon;
	/* rollback: honest nodes holding the older record, honest
	 * resolutions returning it, honest caches holding it */
	int rolled_back_held, rolled_back_resolves, rolled_back_cached;
	/* counter-free: names registered beyond the key's limit */
	int extra_names;
	/* queue-fill: the attacker's claims in the name's queue (the most
	 * any honest member holds), and whether the honest claim that came
	 * next was queued (1) or refused (0) */
	int attacker_claims, claimant_queued;
	/* honest resolutions the attack watched */
	int name_resolves;
	int n_variants;
	struct adv_variant variants[ADV_VARIANTS];
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
 * own nodes; an attack on names registers the names it needs), runs `ms`
 * without attacking to measure the honest message rate, then attacks for
 * `ms` and measures (an attack on names then runs on as long as its
 * measures need: resolutions, anti-entropy periods, the minimum update
 * interval); nodes the attack ran stop at its end.  Needs
 * sim_params.hostile >= ADV_SLOTS and uses the simulator's tap and
 * filter, which it clears.  Fills *out but for
 * the honest figures after the attack.  Returns 0, ANDNA_EINVAL (no
 * hostile slots, or nothing to attack) or ANDNA_ENOMEM. */
int adv_run(struct sim *s, enum adv_kind kind, uint32_t ms,
    struct adv_result *out);

/* Writes `r` as one JSON object (no newline). */
void adv_result_json(const struct adv_result *r, FILE *f);

#endif
