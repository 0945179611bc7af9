/* Inside the adversary (sim/adversary.h): the state of one attack and the
 * helpers that sim/adversary.c (the overlay attacks and the driver) and
 * sim/adversary_names.c (the attacks on names) share.  Nothing here is
 * for callers of the simulator. */
#ifndef ANDNA_SIM_ADVERSARY_INT_H
#define ANDNA_SIM_ADVERSARY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "proto/msg.h"
#include "sim/adversary.h"
#include "sim/sim.h"

#define ADV_STEP_MS 250	       /* the attack looks and acts this often */
#define ADV_BUF (64 * 1024)    /* its largest message: 200 fake entries */
#define ADV_JOIN_WAIT_MS 30000 /* its own nodes hook within this */

/* A gnode that does not exist: its level-1 prefix, the honest node a
 * join-outside JOIN founds it beside, and its founder's key. */
struct fake {
	ovl_addr_t prefix;
	int receiver;
	struct keypair key;
};

struct adv_names; /* the attacks on names (sim/adversary_names.c) */

struct adv {
	struct sim *s;
	const struct sim_params *p;
	enum adv_kind kind;
	struct adv_result *r;
	uint64_t rng;
	uint8_t *buf;	    /* ADV_BUF bytes for what it encodes */
	int slot;	    /* the slot it speaks from */
	bool bare;	    /* no engine there: all it hears is its own */
	struct endpoint ep; /* that slot's endpoint */
	struct keypair key; /* a key it minted */
	ovl_addr_t self;    /* an address it claims, 0: none */
	/* evict, death, reflect */
	int victim;
	ovl_addr_t target; /* the victim's address under attack */
	uint8_t victim_pk[ANDNA_PK_LEN];
	struct keypair low; /* evict: lower than the victim's key */
	bool by_src;	    /* evict: the second variant runs */
	uint64_t rehooks;   /* evict: the victim's, when a variant began */
	/* fake-gnodes, join-outside */
	struct fake *fakes;
	int n_fakes;
	/* reflect: its requests, and whether each passed the victim (the
	 * answer then comes back through it by right) */
	uint64_t *ids;
	bool *hop;
	int n_ids;
	/* deliveries since the attack began, and how many make a storm
	 * (0: not attacking) */
	uint64_t seen, budget;
	/* many-addrs */
	int many_joined;
	uint64_t start;
	/* the attacks on names, NULL for the others */
	struct adv_names *nm;
};

/* The attacker's own generator, and a key minted from it. */
uint64_t adv_rand(struct adv *a);
void adv_mint(struct adv *a, struct keypair *kp);

/* The engine of honest node `i` when it runs hooked, else NULL. */
struct engine *adv_honest(const struct adv *a, int i);

/* A random honest hooked node whose level-1 gnode has at least `min` and
 * fewer than `max` running nodes, or -1. */
int adv_pick_honest(struct adv *a, int min, int max);

/* Whether a running node holds `addr`, or lies in gnode `addr` at
 * `level` when level > 0. */
bool adv_addr_used(const struct adv *a, ovl_addr_t addr, int level);

/* A free address in level-1 gnode `g`. */
ovl_addr_t adv_free_addr(struct adv *a, ovl_addr_t g);

/* Encodes `m` signed by `kp` into a->buf and sends it from hostile slot
 * `from` to node `to`. */
void adv_send(
    struct adv *a, int from, int to, struct msg *m, const struct keypair *kp);

/* Honest hooked nodes in level-1 gnode `g`, at most `max` into `out`;
 * returns how many. */
int adv_members_of(const struct adv *a, ovl_addr_t g, int *out, int max);

/* Joins hostile slot `i` and runs the simulation until it hooked, or
 * ADV_JOIN_WAIT_MS; returns whether it hooked. */
bool adv_join_wait(struct adv *a, int i);

/* ---- the attacks on names (sim/adversary_names.c) ---- */

/* Whether `kind` is an attack on names (ADV_LIAR onwards). */
bool names_kind(enum adv_kind kind);

/* Sets the result's measures of an attack on names to -1. */
void names_result_init(struct adv_result *r);

/* Prepares attack a->kind: registers names when the simulation has none,
 * chooses its victims, registers the names whose owners act in it (they
 * release or update), hooks its node.  Returns 0, ANDNA_EINVAL (nothing
 * to attack) or ANDNA_ENOMEM. */
int names_setup(struct adv *a);

/* One act of the attack; returns when the next is due (ms from now). */
uint32_t names_act(struct adv *a, uint32_t ms);

/* Measures what the attack achieved, at its end (this may run the
 * simulation: resolutions, the owner's update of endless). */
void names_measure(struct adv *a);

/* The tap and the filter of sim.h for the attacks on names: the tap
 * returns whether the slot's engine gets the message too. */
bool names_tap(struct adv *a, int from, int to, const struct msg *m);
enum sim_verdict names_filter(struct adv *a, int from, int to,
    const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len);

/* Frees a->nm. */
void names_free(struct adv *a);

/* Writes the measures of an attack on names as JSON members (",\"k\":v"
 * each). */
void names_json(const struct adv_result *r, FILE *f);

#endif
