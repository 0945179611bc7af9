/* Rounding of targets to existing gnodes (DESIGN.md section 2): nearest id
 * trying +1, -1, +2, -2 ... inside 0..255, top down, with exclusions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "node/engine/round.h"

#define A(a, b, c, d) (((ovl_addr_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static struct idset
set_of(const int *ids, int n)
{
	struct idset s;

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < n; i++)
		idset_add(&s, (uint8_t)ids[i]);
	return s;
}

static void
test_nearest_table(void **state)
{
	static const struct {
		int ids[4];
		int n;
		int want;
		int got;
	} t[] = {
		{ { 10 }, 1, 10, 10 },        /* exact */
		{ { 9, 11 }, 2, 10, 11 },     /* tie: +1 before -1 */
		{ { 8, 11 }, 2, 10, 11 },     /* +1 nearer */
		{ { 9, 12 }, 2, 10, 9 },      /* -1 nearer */
		{ { 0 }, 1, 255, 0 },         /* no wrap-around: far down */
		{ { 255 }, 1, 0, 255 },       /* no wrap-around: far up */
		{ { 0, 255 }, 2, 128, 255 },  /* tie at distance 127/128 */
		{ { 0, 255 }, 2, 127, 0 },
		{ { 254 }, 1, 255, 254 },     /* edge: only below */
		{ { 1 }, 1, 0, 1 },           /* edge: only above */
		{ { 0 }, 0, 5, -1 },          /* empty level */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct idset s = set_of(t[i].ids, t[i].n);
		assert_int_equal(round_nearest(&s, (uint8_t)t[i].want), t[i].got);
	}
}

/* The rule as DESIGN.md words it, one id at a time. */
static int
nearest_by_steps(const struct idset *s, int want)
{
	for (int d = 0; d < 256; d++) {
		if (want + d <= 255 && idset_has(s, (uint8_t)(want + d)))
			return want + d;
		if (want - d >= 0 && idset_has(s, (uint8_t)(want - d)))
			return want - d;
	}
	return -1;
}

/* round_nearest() works a word at a time; it must give what the steps
 * give for every target, over sets sparse and dense, and across the
 * 64-bit word edges. */
static void
test_nearest_as_steps(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int checked = 0;

	(void)state;
	for (int round = 0; round < 600; round++) {
		struct idset s;
		memset(&s, 0, sizeof(s));
		int density = 1 + round % 40; /* 1 in `density` ids set */
		for (int id = 0; id < 256; id++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (x % (uint64_t)density == 0 || (round % 7 == 0 &&
			    (id == 63 || id == 64 || id == 191)))
				idset_add(&s, (uint8_t)id);
		}
		if (round % 50 == 0)
			memset(&s, 0, sizeof(s));
		for (int want = 0; want < 256; want++) {
			assert_int_equal(round_nearest(&s, (uint8_t)want),
			    nearest_by_steps(&s, want));
			checked++;
		}
	}
	assert_int_equal(checked, 600 * 256);
}

/* A view for node 10.20.30.40 knowing: level 3 ids {10, 50}, level 2 ids
 * {20, 21} inside 10, level 1 ids {30, 90} inside 10.20. */
static void
view_init(struct round_view *v)
{
	memset(v, 0, sizeof(*v));
	v->self = A(10, 20, 30, 40);
	idset_add(&v->ids[3], 10);
	idset_add(&v->ids[3], 50);
	idset_add(&v->ids[2], 20);
	idset_add(&v->ids[2], 21);
	idset_add(&v->ids[1], 30);
	idset_add(&v->ids[1], 90);
	v->children[3][10] = 2;
	v->children[3][50] = 1;
	v->children[2][20] = 2;
	v->children[2][21] = 1;
	v->children[1][30] = 5;
	v->children[1][90] = 3;
}

static void
test_view_rounding(void **state)
{
	struct round_view v;
	ovl_addr_t p = 0;

	(void)state;
	view_init(&v);
	/* top level decides another gnode: hand over at level 3 */
	assert_int_equal(round_view_target(&v, A(40, 0, 0, 0), NULL, &p), 3);
	assert_int_equal(p, A(50, 0, 0, 0));
	/* inside our top gnode, level 2 goes to 21 */
	assert_int_equal(round_view_target(&v, A(10, 22, 0, 0), NULL, &p), 2);
	assert_int_equal(p, A(10, 21, 0, 0));
	/* inside 10.20, 60 is nearer to 90 (30 away) than to 30 (30 away):
	 * a tie, +d first */
	assert_int_equal(round_view_target(&v, A(10, 20, 60, 7), NULL, &p), 1);
	assert_int_equal(p, A(10, 20, 90, 0));
	/* lands in our own gnode */
	assert_int_equal(round_view_target(&v, A(10, 20, 31, 255), NULL, &p), 0);
	assert_int_equal(p, A(10, 20, 30, 0));
	/* edges: target 0.0.0.0 rounds up to 10, then to 20, then to 30 */
	assert_int_equal(round_view_target(&v, 0, NULL, &p), 0);
	assert_int_equal(round_view_target(&v, 0xffffffffu, NULL, &p), 3);
	assert_int_equal(p, A(50, 0, 0, 0));
}

static void
test_view_exclusion(void **state)
{
	struct round_view v;
	ovl_addr_t p = 0;
	struct round_exclude ex = { .n = 1, .prefix = { A(10, 20, 30, 0) } };

	(void)state;
	view_init(&v);
	/* our own gnode excluded: the next in rounding order is 90 */
	assert_int_equal(round_view_target(&v, A(10, 20, 30, 1), &ex, &p), 1);
	assert_int_equal(p, A(10, 20, 90, 0));
	/* a sibling with one child, that child excluded: skipped */
	ex.prefix[0] = A(10, 21, 7, 0);
	assert_int_equal(round_view_target(&v, A(10, 21, 7, 1), &ex, &p), 0);
	assert_int_equal(p, A(10, 20, 30, 0));
	/* exclusions that name nothing of a sibling do not hide it */
	ex.prefix[0] = A(50, 1, 1, 0);
	v.children[3][50] = 2;
	assert_int_equal(round_view_target(&v, A(50, 1, 1, 1), &ex, &p), 3);
	assert_int_equal(p, A(50, 0, 0, 0));
	/* everything excluded: no route */
	struct round_view lone;
	memset(&lone, 0, sizeof(lone));
	lone.self = A(1, 2, 3, 4);
	idset_add(&lone.ids[3], 1);
	idset_add(&lone.ids[2], 2);
	idset_add(&lone.ids[1], 3);
	ex.n = 1;
	ex.prefix[0] = A(1, 2, 3, 0);
	assert_int_equal(round_view_target(&lone, 12345, &ex, &p), -1);
}

static void
test_levels(void **state)
{
	(void)state;
	assert_int_equal(ovl_diff_level(A(1, 2, 3, 4), A(1, 2, 3, 9)), 0);
	assert_int_equal(ovl_diff_level(A(1, 2, 3, 4), A(1, 2, 4, 4)), 1);
	assert_int_equal(ovl_diff_level(A(1, 2, 3, 4), A(1, 3, 3, 4)), 2);
	assert_int_equal(ovl_diff_level(A(1, 2, 3, 4), A(2, 2, 3, 4)), 3);
	assert_int_equal(ovl_prefix(A(1, 2, 3, 4), 1), A(1, 2, 3, 0));
	assert_int_equal(ovl_prefix(A(1, 2, 3, 4), 3), A(1, 0, 0, 0));
	assert_int_equal(ovl_prefix(A(1, 2, 3, 4), 4), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nearest_table),
		cmocka_unit_test(test_nearest_as_steps),
		cmocka_unit_test(test_view_rounding),
		cmocka_unit_test(test_view_exclusion),
		cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
