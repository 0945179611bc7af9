/* See tests/adv_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "sim/adversary.h"
#include "tests/adv_fixture.h"

struct sim *
adv_start(void)
{
	struct sim_params p;
	struct sim_names_result nr;
	struct sim *s = NULL;

	sim_params_defaults(&p);
	p.nodes = NODES;
	p.engine.gnode_size = GSIZE;
	p.seed = SEED;
	p.join_rate = 5;
	p.targets = 2000;
	p.engine.sync_interval_ms = 5000;
	p.engine.min_update_s = 10;
	p.engine.max_names_per_key = 3;
	p.hostile = ADV_SLOTS;
	assert_int_equal(sim_new(&p, &s), 0);
	sim_run_until(s, sim_join_all(s));
	assert_true(sim_wait_converged(s, sim_now(s) + 300000) >= 0);
	assert_int_equal(sim_names_register(s, 0, NAMES, 5000, &nr), 0);
	assert_int_equal(nr.registered, NAMES);
	return s;
}

void
adv_measure(struct sim *s, struct figures *f)
{
	struct sim_probe_result pr;
	struct sim_names_result nr;

	sim_wait_converged(s, sim_now(s) + 300000);
	f->agree = sim_agree(s);
	assert_int_equal(sim_probes(s, PROBES, 2000, &pr), 0);
	f->route = pr.success;
	sim_run_until(s, sim_now(s) + 15000);
	assert_int_equal(sim_names_resolve(s, NAMES, 2000, &nr), 0);
	f->resolve = nr.resolve_success;
	f->copies_min = nr.copies_min;
	f->copies_mean = nr.copies_mean;
}

int
adv_baseline(void **state)
{
	struct figures *f = calloc(1, sizeof(*f));

	if (f == NULL || crypto_init() != 0)
		return -1;
	struct sim *s = adv_start();
	sim_run_until(s, sim_now(s) + 2 * ATTACK_MS);
	adv_measure(s, f);
	sim_free(s);
	*state = f;
	return 0;
}

int
adv_baseline_free(void **state)
{
	free(*state);
	return 0;
}
