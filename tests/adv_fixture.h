/* The mesh the adversary scenarios run against (tests/test_adversary.c,
 * tests/test_adversary_names.c): 150 nodes in gnodes of 8 with 30 names,
 * converged, with slots for attackers; and the honest figures of a phase,
 * measured the same way with and without an attack. */
#ifndef ANDNA_TESTS_ADV_FIXTURE_H
#define ANDNA_TESTS_ADV_FIXTURE_H

#include "sim/sim.h"

#define NODES 150
#define GSIZE 8
#define NAMES 30
#define PROBES 300
#define ATTACK_MS 30000
#define SEED 7

/* The honest figures after a phase. */
struct figures {
	double agree, route, resolve, copies_mean;
	int copies_min;
};

/* A converged mesh with its names registered.  An update may follow
 * another after 10 s and a key holds 3 names at most, so that the attacks
 * on names need not wait long. */
struct sim *adv_start(void);

/* Converges, probes, lets anti-entropy and handovers settle, resolves
 * every name. */
void adv_measure(struct sim *s, struct figures *f);

/* cmocka group setup: the figures of the same seed without an attack,
 * over as long as an attack takes (in *state, freed by adv_baseline_free). */
int adv_baseline(void **state);
int adv_baseline_free(void **state);

#endif
