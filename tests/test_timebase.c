/* The daemon's engine clock (node/daemon/timebase.h): where it starts, how it
 * goes on across restarts on the same boot and after a reboot, that it
 * never goes back and never reads the wall clock again, and the blob the
 * store keeps of it. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "node/daemon/timebase.h"

#define DAY_MS (24ULL * 3600 * 1000)
#define WALL_2026 1780000000000ULL /* a wall clock that is right */

static const uint8_t boot_a[TIMEBASE_BOOT_ID_LEN] = {0xa1, 0x02, 0x03};
static const uint8_t boot_b[TIMEBASE_BOOT_ID_LEN] = {0xb1, 0x02, 0x03};
static const uint8_t boot_unknown[TIMEBASE_BOOT_ID_LEN];

/* A first start takes the wall clock once; a router without a real-time
 * clock (1970 and a few seconds) starts at the floor instead, above any
 * age a record can carry. */
static void
test_first_start(void **state)
{
	struct timebase tb;

	(void)state;
	assert_int_equal(timebase_resume(NULL, boot_a, 5000, WALL_2026, &tb),
	    TIMEBASE_FIRST);
	assert_int_equal(tb.last, WALL_2026);
	assert_int_equal(timebase_now(&tb, 5000), WALL_2026);
	assert_int_equal(timebase_now(&tb, 65000), WALL_2026 + 60000);
	assert_memory_equal(tb.boot_id, boot_a, TIMEBASE_BOOT_ID_LEN);

	assert_int_equal(
	    timebase_resume(NULL, boot_a, 5000, 7000, &tb), TIMEBASE_FIRST);
	assert_int_equal(tb.last, TIMEBASE_FLOOR_MS);
	assert_true(tb.last > 365 * DAY_MS); /* the longest expiry */
	/* and a wall clock gone wild is not taken either */
	assert_int_equal(timebase_resume(NULL, boot_a, 5000, UINT64_MAX, &tb),
	    TIMEBASE_FIRST);
	assert_int_equal(tb.last, TIMEBASE_FLOOR_MS);
}

/* The same boot: the same offset, so the time the daemon was stopped
 * counts, whatever the wall clock did meanwhile. */
static void
test_same_boot(void **state)
{
	struct timebase first, saved, tb;

	(void)state;
	timebase_resume(NULL, boot_a, 1000, WALL_2026, &first);
	saved = first;
	saved.last = timebase_now(&first, 61000); /* saved a minute in */
	/* stopped for an hour; NTP moved the wall clock a year on */
	uint64_t boot = 61000 + 3600000;
	assert_int_equal(timebase_resume(&saved, boot_a, boot,
			     WALL_2026 + 365 * DAY_MS, &tb),
	    TIMEBASE_SAME_BOOT);
	assert_true(tb.offset == first.offset);
	assert_int_equal(tb.last, WALL_2026 + 60000 + 3600000);
	/* or a day back: the same */
	assert_int_equal(
	    timebase_resume(&saved, boot_a, boot, WALL_2026 - DAY_MS, &tb),
	    TIMEBASE_SAME_BOOT);
	assert_int_equal(tb.last, WALL_2026 + 60000 + 3600000);
}

/* Another boot, or none known: engine time goes on from the last saved
 * one plus the save period, never back, and the downtime is lost; the
 * wall clock, right or wrong, changes nothing. */
static void
test_new_boot(void **state)
{
	struct timebase saved, tb, tb2;

	(void)state;
	timebase_resume(NULL, boot_a, 1000, WALL_2026, &saved);
	saved.last = WALL_2026 + 10 * DAY_MS; /* ran ten days */
	assert_int_equal(
	    timebase_resume(&saved, boot_b, 20, 0, &tb), TIMEBASE_NEW_BOOT);
	assert_int_equal(tb.last, saved.last + TIMEBASE_SAVE_MS);
	assert_memory_equal(tb.boot_id, boot_b, TIMEBASE_BOOT_ID_LEN);
	assert_int_equal(
	    timebase_now(&tb, 20 + 5000), saved.last + TIMEBASE_SAVE_MS + 5000);
	assert_int_equal(timebase_resume(&saved, boot_b, 20,
			     WALL_2026 + 3650 * DAY_MS, &tb2),
	    TIMEBASE_NEW_BOOT);
	assert_int_equal(tb2.last, tb.last);
	/* a boot clock far on at start (a long uptime): still from last */
	assert_int_equal(timebase_resume(&saved, boot_b, 400 * DAY_MS, 0, &tb),
	    TIMEBASE_NEW_BOOT);
	assert_int_equal(tb.last, saved.last + TIMEBASE_SAVE_MS);
	/* no boot id now, or none then: never taken for the same boot */
	assert_int_equal(
	    timebase_resume(&saved, boot_unknown, 20, WALL_2026, &tb),
	    TIMEBASE_NEW_BOOT);
	struct timebase blind = saved;
	memset(blind.boot_id, 0, sizeof(blind.boot_id));
	assert_int_equal(
	    timebase_resume(&blind, boot_unknown, 20, WALL_2026, &tb),
	    TIMEBASE_NEW_BOOT);
	/* the same boot id, but its clock behind what was saved (a store
	 * copied from elsewhere): going on from last, not back */
	assert_int_equal(timebase_resume(&saved, boot_a, 20, WALL_2026, &tb),
	    TIMEBASE_NEW_BOOT);
	assert_int_equal(tb.last, saved.last + TIMEBASE_SAVE_MS);
}

/* Restarts of every kind in a row: engine time never goes back. */
static void
test_never_back(void **state)
{
	struct timebase tb, next;
	uint64_t boot = 1000, prev;
	uint32_t x = 7;

	(void)state;
	timebase_resume(NULL, boot_a, boot, 0, &tb);
	prev = tb.last;
	for (int i = 0; i < 1000; i++) {
		x = x * 1103515245u + 12345u;
		bool reboot = (x >> 16) % 3 == 0;
		uint64_t run = (x >> 8) % 100000;
		/* runs a while, saves, stops; maybe the machine reboots */
		tb.last = timebase_now(&tb, boot + run);
		assert_true(tb.last >= prev);
		prev = tb.last;
		boot = reboot ? (x >> 4) % 5000 : boot + run + (x % 7000);
		uint64_t wall = (x % 2) ? 0 : WALL_2026 + (x >> 3) * DAY_MS;
		timebase_resume(&tb,
		    reboot ? (i % 2 ? boot_b : boot_a) : tb.boot_id, boot, wall,
		    &next);
		assert_true(next.last >= prev);
		tb = next;
	}
}

/* The blob the store keeps: a round trip, a negative offset included;
 * another length or version, or values out of range, are refused. */
static void
test_blob(void **state)
{
	struct timebase tb, back;
	uint8_t blob[TIMEBASE_BLOB_LEN];

	(void)state;
	/* a boot clock ahead of the floor gives a negative offset */
	timebase_resume(NULL, boot_b, TIMEBASE_FLOOR_MS + 5000, 0, &tb);
	assert_true(tb.offset < 0);
	timebase_encode(&tb, blob);
	assert_int_equal(timebase_decode(blob, sizeof(blob), &back), 0);
	assert_memory_equal(back.boot_id, tb.boot_id, TIMEBASE_BOOT_ID_LEN);
	assert_true(back.offset == tb.offset);
	assert_int_equal(back.last, tb.last);
	timebase_resume(NULL, boot_a, 1000, WALL_2026, &tb);
	timebase_encode(&tb, blob);
	assert_int_equal(timebase_decode(blob, sizeof(blob), &back), 0);
	assert_true(back.offset == tb.offset && back.last == tb.last);

	assert_int_equal(timebase_decode(blob, sizeof(blob) - 1, &back), -1);
	uint8_t longer[TIMEBASE_BLOB_LEN + 1] = {0};
	memcpy(longer, blob, sizeof(blob));
	assert_int_equal(timebase_decode(longer, sizeof(longer), &back), -1);
	blob[0] = 2;
	assert_int_equal(timebase_decode(blob, sizeof(blob), &back), -1);
	blob[0] = 1;
	memset(blob + 1 + TIMEBASE_BOOT_ID_LEN + 8, 0xff, 8); /* last */
	assert_int_equal(timebase_decode(blob, sizeof(blob), &back), -1);
	assert_int_equal(back.last, 0);
}

/* Writes `text` to a fresh file; returns its path (static). */
static const char *
file_with(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/test_timebase.%ld", (long)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* The kernel's boot id, as /proc shows it; anything else reads as
 * unknown (all zero). */
static void
test_boot_id(void **state)
{
	uint8_t id[TIMEBASE_BOOT_ID_LEN], zero[TIMEBASE_BOOT_ID_LEN] = {0};
	static const uint8_t want[TIMEBASE_BOOT_ID_LEN] = {0x01, 0x23, 0x45,
	    0x67, 0x89, 0xab, 0xcd, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
	    0x66, 0x77};

	(void)state;
	assert_int_equal(
	    timebase_read_boot_id(
		file_with("01234567-89ab-cdef-0011-223344556677\n"), id),
	    0);
	assert_memory_equal(id, want, sizeof(want));
	static const char *bad[] = {"", "\n", "01234567-89ab-cdef-0011\n",
	    "01234567-89ab-cdef-0011-2233445566778\n",
	    "0123456x-89ab-cdef-0011-223344556677\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    timebase_read_boot_id(file_with(bad[i]), id), -1);
		assert_memory_equal(id, zero, sizeof(zero));
	}
	unlink(file_with(""));
	assert_int_equal(timebase_read_boot_id("/nonexistent/boot_id", id), -1);
	assert_memory_equal(id, zero, sizeof(zero));
	/* this machine's, where there is one */
	if (access(TIMEBASE_BOOT_ID_PATH, R_OK) == 0) {
		assert_int_equal(
		    timebase_read_boot_id(TIMEBASE_BOOT_ID_PATH, id), 0);
		assert_memory_not_equal(id, zero, sizeof(zero));
	}
	/* the boot clock moves forward */
	uint64_t a = timebase_boot_ms();
	usleep(20000);
	assert_true(timebase_boot_ms() >= a + 15);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_start),
	    cmocka_unit_test(test_same_boot),
	    cmocka_unit_test(test_new_boot),
	    cmocka_unit_test(test_never_back),
	    cmocka_unit_test(test_blob),
	    cmocka_unit_test(test_boot_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
