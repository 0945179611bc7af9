/* andnad's log: levels, the format of a line, what a line may not carry,
 * the buckets that keep bad input from filling a disk, and that a
 * detached daemon writes nothing to stderr.  Each test reads back what
 * the log wrote to stderr, redirected into a temporary file. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/daemon/log.h"

/* stderr, redirected while a test writes lines. */
struct capture {
	FILE *f;
	int saved_fd;
};

/* The capture running now, so that a failed assertion's teardown can give
 * cmocka its stderr back. */
static struct capture *running;

static void
capture_begin(struct capture *c)
{
	running = c;
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved_fd = dup(STDERR_FILENO);
	assert_true(c->saved_fd >= 0);
	assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
}

/* Restores stderr; returns what was written (the caller frees it). */
static char *
capture_end(struct capture *c)
{
	fflush(stderr);
	assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
	close(c->saved_fd);
	running = NULL;
	long n = ftell(c->f);
	assert_true(n >= 0);
	char *buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	rewind(c->f);
	assert_int_equal(fread(buf, 1, (size_t)n, c->f), (size_t)n);
	fclose(c->f);
	return buf;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void
test_levels(void **state)
{
	struct log lg;
	struct capture c;

	log_init(&lg, "andnad", 0, 20);
	assert_true(log_enabled(&lg, LOG_LEVEL_INFO));
	assert_false(log_enabled(&lg, LOG_LEVEL_DEBUG));
	capture_begin(&c);
	log_err(&lg, "the store is %s", "gone");
	log_info(&lg, "joined");
	log_debug(&lg, "not shown at verbose 0");
	char *out = capture_end(&c);
	assert_int_equal(count_lines(out), 2);
	assert_non_null(strstr(out, " andnad: error: the store is gone\n"));
	assert_non_null(strstr(out, " andnad: info: joined\n"));
	/* no function names below -vv */
	assert_null(strstr(out, "test_levels"));
	free(out);

	log_set(&lg, 2, 20);
	capture_begin(&c);
	log_debug(&lg, "shown at -vv");
	log_msg(&lg, LOG_LEVEL_TRACE, LOG_KIND_NONE, __func__, "trace");
	out = capture_end(&c);
	assert_int_equal(count_lines(out), 2);
	assert_non_null(strstr(out, "debug: test_levels: shown at -vv\n"));
	assert_non_null(strstr(out, "trace: test_levels: trace\n"));
	free(out);
	log_fini(&lg);
}

/* Bytes from outside that are quoted in a line cannot forge another line
 * or drive a terminal. */
static void
test_sanitize(void **state)
{
	struct log lg;
	struct capture c;

	log_init(&lg, "andnad", 0, 20);
	capture_begin(&c);
	log_info(&lg, "name %s",
	    "evil\n2026-01-01 andnad: error: \x1b[31mfake\xff");
	char *out = capture_end(&c);
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "name evil?2026-01-01 andnad: error: "
	    "?[31mfake?\n"));
	free(out);
	log_fini(&lg);
}

/* A flood of bad input costs LOG_BURST lines, then the rate; the next line
 * written says how many were left out.  Each kind has its own bucket, and
 * the daemon's own lines are never left out. */
static void
test_rate_limit(void **state)
{
	struct log lg;
	struct capture c;

	log_init(&lg, "andnad", 0, 1);
	capture_begin(&c);
	for (int i = 0; i < 1000; i++)
		log_limited(&lg, LOG_LEVEL_WARN, LOG_KIND_INPUT,
		    "dropped a malformed message %d", i);
	for (int i = 0; i < 50; i++)
		log_limited(&lg, LOG_LEVEL_WARN, LOG_KIND_RATE, "over rate %d",
		    i);
	for (int i = 0; i < 100; i++)
		log_info(&lg, "our own line %d", i);
	char *out = capture_end(&c);
	assert_int_equal(count_lines(out), LOG_BURST + LOG_BURST + 100);
	assert_non_null(strstr(out, "malformed message 9\n"));
	assert_null(strstr(out, "malformed message 10\n"));
	assert_non_null(strstr(out, "over rate 9\n"));
	assert_non_null(strstr(out, "our own line 99\n"));
	free(out);

	/* at 60000 lines a minute, a token comes back each millisecond */
	log_set(&lg, 0, 60000);
	sleep_ms(20);
	capture_begin(&c);
	log_limited(&lg, LOG_LEVEL_WARN, LOG_KIND_INPUT, "after the flood");
	out = capture_end(&c);
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "after the flood (990 similar messages "
	    "suppressed)\n"));
	free(out);

	/* lines below the level are not counted as suppressed */
	capture_begin(&c);
	for (int i = 0; i < 10; i++)
		log_limited(&lg, LOG_LEVEL_TRACE, LOG_KIND_INPUT, "hidden");
	log_limited(&lg, LOG_LEVEL_WARN, LOG_KIND_INPUT, "next");
	out = capture_end(&c);
	assert_non_null(strstr(out, "next\n"));
	assert_null(strstr(out, "suppressed"));
	free(out);
	log_fini(&lg);
}

/* Once detached, the daemon's lines go to syslog, none to stderr. */
static void
test_syslog(void **state)
{
	struct log lg;
	struct capture c;

	log_init(&lg, "andna-test", 0, 20);
	capture_begin(&c);
	log_info(&lg, "before");
	log_to_syslog(&lg);
	assert_true(lg.use_syslog);
	log_info(&lg, "test_log: a line for syslog");
	log_fini(&lg);
	assert_false(lg.use_syslog);
	char *out = capture_end(&c);
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "info: before\n"));
	free(out);
}

/* After a failed assertion: stderr back, with what the log wrote. */
static int
restore_stderr(void **state)
{
	if (running != NULL) {
		char *out = capture_end(running);
		fprintf(stderr, "the log wrote:\n%s", out);
		free(out);
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_levels, restore_stderr),
		cmocka_unit_test_teardown(test_sanitize, restore_stderr),
		cmocka_unit_test_teardown(test_rate_limit, restore_stderr),
		cmocka_unit_test_teardown(test_syslog, restore_stderr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
