/* The token buckets per source address (node/daemon/ratelimit.h): a burst,
 * then the rate; one bucket per address whatever the port; sources that
 * share nothing do not share a bucket; a table smaller than the sources
 * errs on the side of serving. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "node/daemon/ratelimit.h"

static struct endpoint
v4(uint8_t last, uint16_t port)
{
	struct endpoint ep = {.family = 4, .ip = {10, 0, 0, last},
	    .port = port};
	return ep;
}

/* How many of `n` tries at `now` the bucket of `ep` allows. */
static int
allowed(struct ratelimit *rl, const struct endpoint *ep, uint64_t now,
    int n, int rate, int burst)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += ratelimit_allow(rl, ep, now, rate, burst);
	return ok;
}

/* A full bucket gives `burst` at once, then `rate` a second. */
static void
test_burst_then_rate(void **state)
{
	struct ratelimit *rl = ratelimit_new(64);
	struct endpoint a = v4(1, 5);

	(void)state;
	assert_non_null(rl);
	assert_int_equal(allowed(rl, &a, 1000, 50, 10, 20), 20);
	assert_int_equal(allowed(rl, &a, 1000, 5, 10, 20), 0);
	assert_int_equal(allowed(rl, &a, 1500, 50, 10, 20), 5);
	/* a long pause refills up to the burst, not beyond */
	assert_int_equal(allowed(rl, &a, 60000, 50, 10, 20), 20);
	/* a clock that goes back takes nothing and gives nothing */
	assert_int_equal(allowed(rl, &a, 59000, 5, 10, 20), 0);
	ratelimit_free(rl);
}

/* The port is no part of the source: a new connection of the same host
 * takes from the same bucket.  Another address, IPv4 or IPv6, has its
 * own. */
static void
test_per_address(void **state)
{
	struct ratelimit *rl = ratelimit_new(64);
	struct endpoint a1 = v4(1, 5), a2 = v4(1, 6), b = v4(2, 5);
	struct endpoint six = {.family = 6, .ip = {0xfd, 0, [15] = 1}};

	(void)state;
	assert_int_equal(allowed(rl, &a1, 1000, 3, 1, 3), 3);
	assert_int_equal(allowed(rl, &a2, 1000, 3, 1, 3), 0);
	assert_int_equal(allowed(rl, &b, 1000, 3, 1, 3), 3);
	assert_int_equal(allowed(rl, &six, 1000, 4, 1, 3), 3);
	ratelimit_free(rl);
}

/* More sources than slots: each new one takes the stalest slot and
 * starts with a full bucket, so nobody is refused for want of room. */
static void
test_table_full(void **state)
{
	struct ratelimit *rl = ratelimit_new(8);

	(void)state;
	for (int i = 0; i < 200; i++) {
		struct endpoint ep = v4((uint8_t)i, 1);
		assert_true(ratelimit_allow(rl, &ep, 1000 + (uint64_t)i, 1, 1));
	}
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_per_address),
		cmocka_unit_test(test_table_full),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
