/* Every error code has its own message and they never collide with 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto/err.h"

static void
test_every_code_has_text(void **state)
{
	(void)state;
	assert_string_equal(andna_strerror(ANDNA_OK), "success");
	for (int e = ANDNA__ERR_BASE + 1; e < ANDNA__ERR_END; e++) {
		assert_true(e < 0);
		const char *t = andna_strerror(e);
		assert_string_not_equal(t, "unknown error");
		for (int f = e + 1; f < ANDNA__ERR_END; f++)
			assert_string_not_equal(t, andna_strerror(f));
	}
	assert_string_equal(andna_strerror(12345), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_has_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
