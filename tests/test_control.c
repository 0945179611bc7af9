/* The control protocol's shared pieces: address set entries as request
 * words (with a mutation loop), JSON strings, and the exit code and id of
 * each outcome. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon/control.h"
#include "proto/err.h"

static void
test_entry_parse(void **state)
{
	struct record_entry e;

	assert_int_equal(control_entry_parse("0/none/0/1/10.0.0.1", &e), 0);
	assert_int_equal(e.service, 0);
	assert_int_equal(e.proto, RECORD_PROTO_NONE);
	assert_int_equal(e.priority, 0);
	assert_int_equal(e.weight, 1);
	assert_int_equal(e.kind, RECORD_TARGET_IPV4);
	assert_memory_equal(e.target.ip, "\x0a\x00\x00\x01", 4);

	assert_int_equal(control_entry_parse("443/tcp/2/65535/fd00::7", &e), 0);
	assert_int_equal(e.service, 443);
	assert_int_equal(e.proto, RECORD_PROTO_TCP);
	assert_int_equal(e.priority, 2);
	assert_int_equal(e.weight, 65535);
	assert_int_equal(e.kind, RECORD_TARGET_IPV6);
	assert_int_equal(e.target.ip[0], 0xfd);
	assert_int_equal(e.target.ip[15], 7);

	assert_int_equal(control_entry_parse("53/udp/0/0/NS1.Example.", &e), 0);
	assert_int_equal(e.proto, RECORD_PROTO_UDP);
	assert_int_equal(e.kind, RECORD_TARGET_NAME);
	assert_string_equal(e.target.name, "ns1.example");

	static const char *const bad[] = {
		"", "0", "0/none/0/1", "0/none/0/1/", "/none/0/1/10.0.0.1",
		"0//0/1/10.0.0.1", "0/sctp/0/1/10.0.0.1", "0/TCP/0/1/10.0.0.1",
		"65536/tcp/0/1/10.0.0.1", "0/none/-1/1/10.0.0.1",
		"0/none/0/99999999999/10.0.0.1", "0/none/0x1/1/10.0.0.1",
		"0/none/0/1/bad..name", "0/none/0/1/-bad", "0/none/0/1/a b",
		"0/none/0/1/10.0.0.1/extra",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (control_entry_parse(bad[i], &e) == 0)
			fail_msg("'%s' parsed", bad[i]);
}

/* An owner's TTL: whole seconds with an optional unit, 5 s to a day. */
static void
test_ttl_parse(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint32_t ttl;
	} cases[] = {
		{"5", 0, 5}, {"10s", 0, 10}, {"90", 0, 90}, {"5m", 0, 300},
		{"2h", 0, 7200}, {"1d", 0, 86400}, {"86400", 0, 86400},
		{"10000ms", 0, 10},
		{"4", ANDNA_EREC_TTL, 0}, {"0", ANDNA_EREC_TTL, 0},
		{"86401", ANDNA_EREC_TTL, 0}, {"2d", ANDNA_EREC_TTL, 0},
		{"25h", ANDNA_EREC_TTL, 0},
		{"99999999999999999999", ANDNA_EINVAL, 0},
		{"", ANDNA_EINVAL, 0}, {"s", ANDNA_EINVAL, 0},
		{"10x", ANDNA_EINVAL, 0}, {"-10", ANDNA_EINVAL, 0},
		{"1.5m", ANDNA_EINVAL, 0}, {"10 s", ANDNA_EINVAL, 0},
		{"5500ms", ANDNA_EINVAL, 0}, {"10S", ANDNA_EINVAL, 0},
	};
	uint32_t ttl;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ttl = 12345;
		int rc = control_ttl_parse(cases[i].s, &ttl);
		if (rc != cases[i].rc || ttl != cases[i].ttl)
			fail_msg("'%s': %d and %u, not %d and %u", cases[i].s,
			    rc, ttl, cases[i].rc, cases[i].ttl);
	}
	assert_int_equal(control_exit_for(ANDNA_EREC_TTL), CONTROL_EXIT_USAGE);
	assert_string_equal(control_error_id(ANDNA_EREC_TTL), "invalid");
}

static void
test_entry_roundtrip(void **state)
{
	static const char *const words[] = {
		"0/none/0/1/10.0.0.1", "80/tcp/10/20/fd00::1",
		"5060/udp/0/0/sip.example.mesh", "0/none/7/3/0.0.0.0",
	};
	char buf[CONTROL_WORD_MAX + 1];
	struct record_entry e, f;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		assert_int_equal(control_entry_parse(words[i], &e), 0);
		assert_int_equal(control_entry_format(&e, buf, sizeof(buf)), 0);
		assert_string_equal(buf, words[i]);
		assert_int_equal(control_entry_parse(buf, &f), 0);
		assert_memory_equal(&e, &f, sizeof(e));
	}
	e.kind = 0;
	assert_int_equal(control_entry_format(&e, buf, sizeof(buf)),
	    ANDNA_EINVAL);
	assert_int_equal(control_entry_parse(words[2], &e), 0);
	assert_int_equal(control_entry_format(&e, buf, 8), ANDNA_EINVAL);
}

/* Mutated and random words either fail or parse into an entry that
 * formats and parses back to itself; nothing reads past a word. */
static void
test_entry_mutations(void **state)
{
	static const char *const seeds[] = {
		"0/none/0/1/10.0.0.1", "443/tcp/2/65535/fd00::7",
		"53/udp/0/0/ns1.example",
	};
	char w[64], buf[CONTROL_WORD_MAX + 1];
	struct record_entry e, f;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int parsed = 0;

	for (int round = 0; round < 20000; round++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		const char *seed = seeds[x % 3];
		size_t n = strlen(seed);
		memcpy(w, seed, n + 1);
		switch ((x >> 8) % 4) {
		case 0: /* flip a byte */
			w[(x >> 16) % n] ^= (char)(1 + (x >> 24) % 255);
			break;
		case 1: /* cut short */
			w[(x >> 16) % n] = '\0';
			break;
		case 2: /* a printable byte anywhere */
			w[(x >> 16) % n] = (char)(0x21 + (x >> 24) % 94);
			break;
		default: /* random printable bytes */
			n = (x >> 16) % (sizeof(w) - 1);
			for (size_t i = 0; i < n; i++)
				w[i] = (char)(0x21 + ((x >> (i % 56)) + i) % 94);
			w[n] = '\0';
			break;
		}
		if (control_entry_parse(w, &e) != 0)
			continue;
		parsed++;
		assert_int_equal(control_entry_format(&e, buf, sizeof(buf)), 0);
		assert_int_equal(control_entry_parse(buf, &f), 0);
		assert_memory_equal(&e, &f, sizeof(e));
	}
	assert_true(parsed > 100);
}

static void
test_json_string(void **state)
{
	char buf[64];

	assert_int_equal(control_json_string("plain", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "\"plain\"");
	assert_int_equal(control_json_string("a\"b\\c\n\x01\x7f", buf,
	    sizeof(buf)), 27);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\"");
	/* too small: cut, terminated, and the length it needs */
	assert_int_equal(control_json_string("abcdef", buf, 4), 8);
	assert_string_equal(buf, "\"ab");
	assert_int_equal(control_json_string("", NULL, 0), 2);
}

static void
test_exit_codes(void **state)
{
	assert_int_equal(control_exit_for(0), CONTROL_EXIT_OK);
	assert_int_equal(control_exit_for(ANDNA_ENOTFOUND), CONTROL_EXIT_NOTFOUND);
	assert_int_equal(control_exit_for(ANDNA_ENAME_QUEUED), CONTROL_EXIT_TAKEN);
	assert_int_equal(control_exit_for(ANDNA_ENAME_TAKEN), CONTROL_EXIT_TAKEN);
	assert_int_equal(control_exit_for(ANDNA_EQUEUE_FULL), CONTROL_EXIT_TAKEN);
	assert_int_equal(control_exit_for(ANDNA_EHOST_FULL), CONTROL_EXIT_TAKEN);
	assert_string_equal(control_error_id(ANDNA_EHOST_FULL), "host_full");
	assert_int_equal(control_exit_for(ANDNA_ETOO_MANY_NAMES),
	    CONTROL_EXIT_LIMIT);
	assert_int_equal(control_exit_for(ANDNA_ETOO_SOON), CONTROL_EXIT_LIMIT);
	assert_int_equal(control_exit_for(ANDNA_ENOT_HOOKED),
	    CONTROL_EXIT_OVERLAY);
	assert_int_equal(control_exit_for(ANDNA_ETIMEOUT), CONTROL_EXIT_OVERLAY);
	assert_int_equal(control_exit_for(ANDNA_ENAME_CHAR), CONTROL_EXIT_USAGE);
	assert_int_equal(control_exit_for(ANDNA_EIO), CONTROL_EXIT_FAIL);
	assert_string_equal(control_error_id(ANDNA_ENAME_QUEUED), "queued");
	assert_string_equal(control_error_id(ANDNA_ENOTFOUND), "not_found");
	assert_string_equal(control_error_id(ANDNA_ENAME_HYPHEN), "invalid");
	assert_string_equal(control_error_id(ANDNA_EIO), "failed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_parse),
		cmocka_unit_test(test_ttl_parse),
		cmocka_unit_test(test_entry_roundtrip),
		cmocka_unit_test(test_entry_mutations),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_exit_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
