/* sim/sigmemo: the memo gives exactly sig_verify()'s verdict, for good
 * and forged signatures, before and after it remembers them and across
 * its growth, and checks each triple only once. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "proto/err.h"
#include "proto/record.h"
#include "sim/sigmemo.h"

/* A key pair from a one-byte seed. */
static void
key_of(struct keypair *kp, uint8_t b)
{
	uint8_t seed[32];

	memset(seed, b, sizeof(seed));
	keypair_from_seed(kp, seed);
}

/* Asks the memo and sig_verify(): the two must agree; returns the
 * verdict. */
static int
both(struct sigmemo *m, const uint8_t *sig, const uint8_t *msg, size_t len,
    const uint8_t *pk)
{
	int want = sig_verify(sig, msg, len, pk);
	int got = sigmemo_verify(m, sig, msg, len, pk);

	assert_int_equal(got, want);
	return got;
}

/* A good signature, and forgeries of each part of the triple. */
static void
test_verdicts(void **state)
{
	struct sigmemo *m = sigmemo_new();
	struct keypair kp, other;
	uint8_t msg[64], sig[ANDNA_SIG_LEN], bad[ANDNA_SIG_LEN];

	(void)state;
	assert_non_null(m);
	key_of(&kp, 1);
	key_of(&other, 2);
	memset(msg, 'a', sizeof(msg));
	sig_sign(sig, msg, sizeof(msg), kp.sk);
	for (int round = 0; round < 2; round++) {
		/* the second round answers from the memo */
		assert_int_equal(both(m, sig, msg, sizeof(msg), kp.pk), 0);
		memcpy(bad, sig, sizeof(bad));
		bad[5] ^= 0x10;
		assert_int_equal(
		    both(m, bad, msg, sizeof(msg), kp.pk), ANDNA_ESIG);
		assert_int_equal(
		    both(m, sig, msg, sizeof(msg), other.pk), ANDNA_ESIG);
		msg[63] ^= 1;
		assert_int_equal(
		    both(m, sig, msg, sizeof(msg), kp.pk), ANDNA_ESIG);
		msg[63] ^= 1;
		/* the same bytes, one shorter */
		assert_int_equal(
		    both(m, sig, msg, sizeof(msg) - 1, kp.pk), ANDNA_ESIG);
		assert_int_equal(sigmemo_count(m), 5);
	}
	sigmemo_free(m);
	keypair_wipe(&kp);
	keypair_wipe(&other);
}

/* Many triples, half of them forged: the table grows several times and
 * every verdict stays right, without being checked again. */
static void
test_growth(void **state)
{
	enum { N = 3000 };
	static uint8_t sigs[N][ANDNA_SIG_LEN];
	struct sigmemo *m = sigmemo_new();
	struct keypair kp;
	uint32_t msg;

	(void)state;
	assert_non_null(m);
	key_of(&kp, 3);
	for (uint32_t i = 0; i < N; i++) {
		msg = i;
		sig_sign(sigs[i], (uint8_t *)&msg, sizeof(msg), kp.sk);
		if (i % 2 == 1)
			sigs[i][0] ^= 1;
	}
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < N; i++) {
			msg = i;
			assert_int_equal(both(m, sigs[i], (uint8_t *)&msg,
					     sizeof(msg), kp.pk),
			    i % 2 == 0 ? 0 : ANDNA_ESIG);
		}
		assert_int_equal(sigmemo_count(m), N);
	}
	sigmemo_free(m);
	keypair_wipe(&kp);
}

/* record_verify_with() through the memo agrees with record_verify() on a
 * signed record and on the same record with its address changed. */
static void
test_record(void **state)
{
	struct sigmemo *m = sigmemo_new();
	struct keypair kp;
	struct record *rec = NULL;
	struct record_entry e = {
	    .kind = RECORD_TARGET_IPV4, .target.ip = {10, 0, 0, 1}};

	(void)state;
	assert_non_null(m);
	key_of(&kp, 4);
	assert_int_equal(record_new("web.mesh", kp.pk, 1, &rec), 0);
	assert_int_equal(record_add_entry(rec, &e), 0);
	assert_int_equal(record_sign(rec, &kp), 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(record_verify(rec), 0);
		assert_int_equal(record_verify_with(rec, sigmemo_verify, m), 0);
		rec->entries[0].target.ip[3] = 2;
		assert_int_equal(record_verify(rec), ANDNA_EREC_SIG);
		assert_int_equal(
		    record_verify_with(rec, sigmemo_verify, m), ANDNA_EREC_SIG);
		rec->entries[0].target.ip[3] = 1;
	}
	assert_int_equal(sigmemo_count(m), 2);
	record_free(rec);
	sigmemo_free(m);
	keypair_wipe(&kp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_record),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
