/* crypto/: known answers for Ed25519 and BLAKE2b, key files on disk, and
 * the canonical form of names. */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "proto/err.h"

/* RFC 8032 section 7.1, TEST 1 and TEST 2: secret seed, public key,
 * message and signature, in hex as the RFC prints them. */
struct ed25519_vector {
	const char *seed;
	const char *pk;
	const char *msg;
	const char *sig;
};

static const struct ed25519_vector rfc8032[] = {
    {
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	"",
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	"5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    },
    {
	"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	"72",
	"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    },
};

#define KEYFILE_LEN 148 /* header line, 128 hex digits, newline */

/* Decodes the whole of a hex string known to the test; returns its length. */
static size_t
unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t len = 0;

	assert_int_equal(
	    sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len, NULL), 0);
	return len;
}

static void
assert_all_bytes(const void *p, int byte, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		assert_int_equal(b[i], byte);
}

static void
test_init(void **state)
{
	(void)state;
	assert_int_equal(crypto_init(), 0);
	assert_int_equal(crypto_init(), 0); /* again is harmless */
}

/* Seed gives the RFC's key pair; signing gives the RFC's signature; verify
 * takes it and refuses every single-bit change of signature, message and
 * public key. */
static void
test_ed25519_rfc8032(void **state)
{
	(void)state;
	for (size_t v = 0; v < sizeof(rfc8032) / sizeof(rfc8032[0]); v++) {
		uint8_t seed[32], pk[ANDNA_PK_LEN], sig[ANDNA_SIG_LEN];
		uint8_t msg[8], got[ANDNA_SIG_LEN], bad[ANDNA_SIG_LEN];
		uint8_t badpk[ANDNA_PK_LEN], badmsg[9];
		struct keypair kp;
		size_t mlen;

		assert_int_equal(
		    unhex(seed, sizeof(seed), rfc8032[v].seed), 32);
		assert_int_equal(unhex(pk, sizeof(pk), rfc8032[v].pk), 32);
		assert_int_equal(unhex(sig, sizeof(sig), rfc8032[v].sig), 64);
		mlen = unhex(msg, sizeof(msg), rfc8032[v].msg);
		assert_int_equal(mlen, v); /* TEST 1: 0 bytes, TEST 2: 1 byte */

		keypair_from_seed(&kp, seed);
		assert_memory_equal(kp.pk, pk, 32);
		assert_memory_equal(kp.sk, seed, 32);
		assert_memory_equal(kp.sk + 32, pk, 32);

		sig_sign(got, msg, mlen, kp.sk);
		assert_memory_equal(got, sig, 64);
		assert_int_equal(sig_verify(sig, msg, mlen, pk), 0);

		for (size_t bit = 0; bit < 8 * sizeof(sig); bit++) {
			memcpy(bad, sig, sizeof(bad));
			bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(
			    sig_verify(bad, msg, mlen, pk), ANDNA_ESIG);
		}
		for (size_t bit = 0; bit < 8 * sizeof(pk); bit++) {
			memcpy(badpk, pk, sizeof(badpk));
			badpk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(
			    sig_verify(sig, msg, mlen, badpk), ANDNA_ESIG);
		}
		for (size_t bit = 0; bit < 8 * mlen; bit++) {
			memcpy(badmsg, msg, mlen);
			badmsg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(
			    sig_verify(sig, badmsg, mlen, pk), ANDNA_ESIG);
		}
		/* A byte more or less is another message too. */
		memcpy(badmsg, msg, mlen);
		badmsg[mlen] = 0;
		assert_int_equal(
		    sig_verify(sig, badmsg, mlen + 1, pk), ANDNA_ESIG);
		if (mlen > 0)
			assert_int_equal(
			    sig_verify(sig, msg, mlen - 1, pk), ANDNA_ESIG);
		keypair_wipe(&kp);
	}
}

/* Fresh keys differ, sign and verify, and one key's signature is not
 * another's. */
static void
test_ed25519_random_keys(void **state)
{
	static const uint8_t msg[] = "register habr.ru";
	struct keypair a, b;
	uint8_t sig[ANDNA_SIG_LEN];

	(void)state;
	keypair_generate(&a);
	keypair_generate(&b);
	assert_memory_not_equal(a.pk, b.pk, ANDNA_PK_LEN);
	assert_memory_equal(a.sk + 32, a.pk, ANDNA_PK_LEN);
	sig_sign(sig, msg, sizeof(msg), a.sk);
	assert_int_equal(sig_verify(sig, msg, sizeof(msg), a.pk), 0);
	assert_int_equal(
	    sig_verify(sig, msg, sizeof(msg), b.pk), ANDNA_ESIG);

	keypair_wipe(&a);
	assert_all_bytes(&a, 0, sizeof(a));
	keypair_wipe(&b);
}

/* BLAKE2b-256 known answers (RFC 7693's function, 32-byte output). */
static void
test_blake2b_kat(void **state)
{
	uint8_t h[ANDNA_HASH_LEN], want[ANDNA_HASH_LEN];

	(void)state;
	hash_blake2b(h, "", 0);
	unhex(want, sizeof(want),
	    "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	assert_memory_equal(h, want, sizeof(h));

	hash_blake2b(h, "abc", 3);
	unhex(want, sizeof(want),
	    "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
	assert_memory_equal(h, want, sizeof(h));
}

/* H(name) and C(key).  Expected values computed outside this code with
 * python3: hashlib.blake2b(data, digest_size=32).hexdigest()[:8], where
 * data is the name's ASCII bytes or the RFC 8032 public key's bytes. */
static void
test_name_and_key_hash_kat(void **state)
{
	uint8_t pk[ANDNA_PK_LEN], h[ANDNA_HASH_LEN];

	(void)state;
	assert_int_equal(name_hash("abc"), 0xbddd813cu);
	assert_int_equal(name_hash("habr.ru"), 0xc707f51eu);
	assert_int_equal(name_hash("example.org"), 0xa6beb19bu);

	unhex(pk, sizeof(pk), rfc8032[0].pk);
	assert_int_equal(key_hash(pk), 0x7849ac30u);
	unhex(pk, sizeof(pk), rfc8032[1].pk);
	assert_int_equal(key_hash(pk), 0x6ec9e955u);

	/* The overlay address is the hash's first four bytes, big endian:
	 * byte 0 is the top-level gnode id. */
	hash_blake2b(h, "habr.ru", 7);
	assert_int_equal(ovl_id(name_hash("habr.ru"), 3), h[0]);
	assert_int_equal(ovl_id(name_hash("habr.ru"), 0), h[3]);
}

/* --- key files --- */

struct keydir {
	char dir[64];
	char path[128];
};

static int
keydir_setup(void **state)
{
	struct keydir *kd;

	if ((kd = calloc(1, sizeof(*kd))) == NULL)
		return -1;
	strcpy(kd->dir, "/tmp/andna-test-crypto-XXXXXX");
	if (mkdtemp(kd->dir) == NULL) {
		free(kd);
		return -1;
	}
	snprintf(kd->path, sizeof(kd->path), "%s/node.key", kd->dir);
	*state = kd;
	return 0;
}

/* Number of entries in `dir` other than "." and "..". */
static int
dir_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int
keydir_teardown(void **state)
{
	struct keydir *kd = *state;
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(kd->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", kd->dir, de->d_name);
			if (unlink(p) != 0)
				rmdir(p);
		}
		closedir(d);
	}
	rmdir(kd->dir);
	free(kd);
	return 0;
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static size_t
read_file(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd;

	assert_true((fd = open(path, O_RDONLY)) >= 0);
	n = read(fd, buf, cap);
	assert_true(n >= 0);
	close(fd);
	return (size_t)n;
}

/* The RFC 8032 TEST 1 key pair. */
static void
rfc_keypair(struct keypair *kp)
{
	uint8_t seed[32];

	unhex(seed, sizeof(seed), rfc8032[0].seed);
	keypair_from_seed(kp, seed);
}

/* Loads `path` into a struct full of 0xaa, expects `want`, and on error
 * checks that nothing of the struct survived. */
static void
load_expect(const char *path, int want)
{
	struct keypair kp;

	memset(&kp, 0xaa, sizeof(kp));
	assert_int_equal(keypair_load(&kp, path), want);
	if (want != 0)
		assert_all_bytes(&kp, 0, sizeof(kp));
}

static void
test_keyfile_round_trip(void **state)
{
	struct keydir *kd = *state;
	struct keypair kp, back, other;
	struct stat st;

	(void)state;
	keypair_generate(&kp);
	assert_int_equal(keypair_save(&kp, kd->path), 0);
	assert_int_equal(stat(kd->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, KEYFILE_LEN);
	assert_int_equal(dir_entries(kd->dir), 1); /* no temp file left */

	memset(&back, 0x55, sizeof(back));
	assert_int_equal(keypair_load(&back, kd->path), 0);
	assert_memory_equal(&back, &kp, sizeof(kp));

	/* Saving again replaces the file whole. */
	keypair_generate(&other);
	assert_int_equal(keypair_save(&other, kd->path), 0);
	assert_int_equal(keypair_load(&back, kd->path), 0);
	assert_memory_equal(&back, &other, sizeof(other));
	assert_int_equal(dir_entries(kd->dir), 1);

	/* Owner execute and read-only are fine: only group/other bits are
	 * refused. */
	assert_int_equal(chmod(kd->path, 0400), 0);
	load_expect(kd->path, 0);
	assert_int_equal(chmod(kd->path, 0700), 0);
	load_expect(kd->path, 0);

	keypair_wipe(&kp);
	keypair_wipe(&back);
	keypair_wipe(&other);
}

/* The bytes on disk are exactly the documented format. */
static void
test_keyfile_format(void **state)
{
	struct keydir *kd = *state;
	char want[KEYFILE_LEN + 1], got[KEYFILE_LEN + 8];
	struct keypair kp, back;

	rfc_keypair(&kp);
	snprintf(want, sizeof(want), "andna-secret-key-1\n%s%s\n",
	    rfc8032[0].seed, rfc8032[0].pk);
	assert_int_equal(strlen(want), KEYFILE_LEN);
	assert_int_equal(keypair_save(&kp, kd->path), 0);
	assert_int_equal(read_file(kd->path, got, sizeof(got)), KEYFILE_LEN);
	assert_memory_equal(got, want, KEYFILE_LEN);

	/* Upper-case hex is read too. */
	for (size_t i = 19; i < KEYFILE_LEN - 1; i++)
		if (want[i] >= 'a' && want[i] <= 'f')
			want[i] = (char)(want[i] - 'a' + 'A');
	write_file(kd->path, want, KEYFILE_LEN, 0600);
	assert_int_equal(keypair_load(&back, kd->path), 0);
	assert_memory_equal(&back, &kp, sizeof(kp));
	keypair_wipe(&kp);
	keypair_wipe(&back);
}

static void
test_keyfile_missing_and_perms(void **state)
{
	struct keydir *kd = *state;
	char p[PATH_MAX];
	struct keypair kp;

	load_expect(kd->path, ANDNA_EKEY_MISSING);
	snprintf(p, sizeof(p), "%s/no/such/dir", kd->dir);
	load_expect(p, ANDNA_EKEY_MISSING);

	rfc_keypair(&kp);
	assert_int_equal(keypair_save(&kp, kd->path), 0);
	keypair_wipe(&kp);
	static const mode_t bad[] = {
	    0640, 0604, 0620, 0602, 0610, 0601, 0644, 0666};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(kd->path, bad[i]), 0);
		load_expect(kd->path, ANDNA_EKEY_PERMS);
	}
	/* Perms are judged before content: a world-readable bad file says
	 * PERMS, so the operator fixes the exposure first. */
	write_file(kd->path, "junk", 4, 0644);
	load_expect(kd->path, ANDNA_EKEY_PERMS);
}

static void
test_keyfile_corrupt(void **state)
{
	struct keydir *kd = *state;
	char good[KEYFILE_LEN + 1], buf[KEYFILE_LEN + 16];
	char *big;
	struct keypair kp;

	rfc_keypair(&kp);
	assert_int_equal(keypair_save(&kp, kd->path), 0);
	keypair_wipe(&kp);
	assert_int_equal(read_file(kd->path, good, sizeof(good)), KEYFILE_LEN);
	load_expect(kd->path, 0);

	/* empty */
	write_file(kd->path, "", 0, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	/* truncated: inside the hex, and just the final newline missing */
	write_file(kd->path, good, 100, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	write_file(kd->path, good, KEYFILE_LEN - 1, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	/* header only */
	write_file(kd->path, good, 19, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	/* bad hex digit, first and last position */
	memcpy(buf, good, KEYFILE_LEN);
	buf[19] = 'g';
	write_file(kd->path, buf, KEYFILE_LEN, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	memcpy(buf, good, KEYFILE_LEN);
	buf[KEYFILE_LEN - 2] = ' ';
	write_file(kd->path, buf, KEYFILE_LEN, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	/* the newline in the wrong place */
	memcpy(buf, good, KEYFILE_LEN);
	buf[KEYFILE_LEN - 1] = ' ';
	write_file(kd->path, buf, KEYFILE_LEN, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	/* bad header: other version, other case */
	memcpy(buf, good, KEYFILE_LEN);
	buf[17] = '2';
	write_file(kd->path, buf, KEYFILE_LEN, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	memcpy(buf, good, KEYFILE_LEN);
	buf[0] = 'A';
	write_file(kd->path, buf, KEYFILE_LEN, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	/* trailing bytes: a second newline, a NUL, junk */
	memcpy(buf, good, KEYFILE_LEN);
	buf[KEYFILE_LEN] = '\n';
	write_file(kd->path, buf, KEYFILE_LEN + 1, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	buf[KEYFILE_LEN] = '\0';
	write_file(kd->path, buf, KEYFILE_LEN + 1, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	memcpy(buf + KEYFILE_LEN, "junk", 4);
	write_file(kd->path, buf, KEYFILE_LEN + 4, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	/* a large file is refused without being read whole */
	assert_non_null(big = malloc(1 << 20));
	memset(big, 'a', 1 << 20);
	memcpy(big, good, KEYFILE_LEN);
	write_file(kd->path, big, 1 << 20, 0600);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	free(big);
	/* a directory is not a key file */
	unlink(kd->path);
	assert_int_equal(mkdir(kd->path, 0700), 0);
	load_expect(kd->path, ANDNA_EKEY_CORRUPT);
	assert_int_equal(rmdir(kd->path), 0);

	/* well-formed, but the stored public key is not the seed's: change
	 * the last hex digit ('a' of ...511a) and the first of the pk half */
	memcpy(buf, good, KEYFILE_LEN);
	assert_int_equal(buf[KEYFILE_LEN - 2], 'a');
	buf[KEYFILE_LEN - 2] = 'b';
	write_file(kd->path, buf, KEYFILE_LEN, 0600);
	load_expect(kd->path, ANDNA_EKEY_MISMATCH);
	memcpy(buf, good, KEYFILE_LEN);
	assert_int_equal(buf[19 + 64], 'd');
	buf[19 + 64] = 'e';
	write_file(kd->path, buf, KEYFILE_LEN, 0600);
	load_expect(kd->path, ANDNA_EKEY_MISMATCH);
	/* a changed seed no longer gives the stored public key either */
	memcpy(buf, good, KEYFILE_LEN);
	assert_int_equal(buf[19], '9');
	buf[19] = '8';
	write_file(kd->path, buf, KEYFILE_LEN, 0600);
	load_expect(kd->path, ANDNA_EKEY_MISMATCH);

	/* and the good bytes still load */
	write_file(kd->path, good, KEYFILE_LEN, 0600);
	load_expect(kd->path, 0);
	sodium_memzero(good, sizeof(good));
	sodium_memzero(buf, sizeof(buf));
}

/* A failed save leaves no temp file and does not touch the target. */
static void
test_keyfile_save_fails(void **state)
{
	struct keydir *kd = *state;
	char p[PATH_MAX];
	struct keypair kp;

	rfc_keypair(&kp);
	snprintf(p, sizeof(p), "%s/no/such/dir/node.key", kd->dir);
	assert_int_equal(keypair_save(&kp, p), ANDNA_EKEY_WRITE);
	assert_int_equal(dir_entries(kd->dir), 0);

	/* rename over a directory fails after the temp file was written */
	assert_int_equal(mkdir(kd->path, 0700), 0);
	assert_int_equal(keypair_save(&kp, kd->path), ANDNA_EKEY_WRITE);
	assert_int_equal(dir_entries(kd->dir), 1);
	assert_int_equal(rmdir(kd->path), 0);
	keypair_wipe(&kp);
}

/* --- names --- */

/* Fills `buf` with a name of `len` characters: labels of 63 letters
 * (cycling a..z) separated by dots, the last one shorter. */
static char *
long_name(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (i % 64 == 63) ? '.' : (char)('a' + i % 26);
	buf[len] = '\0';
	return buf;
}

static void
test_name_valid(void **state)
{
	static const struct {
		const char *in, *want;
	} ok[] = {
	    {"a", "a"},
	    {"habr.ru", "habr.ru"},
	    {"habr.ru.", "habr.ru"},
	    {"HaBr.RU", "habr.ru"},
	    {"WWW.EXAMPLE.ORG.", "www.example.org"},
	    {"xn--p1ai", "xn--p1ai"},
	    {"a-b-c.0-9", "a-b-c.0-9"},
	    {"123", "123"},
	    {"0.0.0.0", "0.0.0.0"},
	};
	char out[ANDNA_NAME_MAX + 1], in[ANDNA_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(name_canonical(out, ok[i].in), 0);
		assert_string_equal(out, ok[i].want);
		assert_true(name_is_canonical(out));
		assert_int_equal(name_is_canonical(ok[i].in),
		    strcmp(ok[i].in, ok[i].want) == 0);
		/* canonical form is a fixed point */
		assert_int_equal(name_canonical(in, out), 0);
		assert_string_equal(in, out);
	}

	/* a 63-character label, alone and with others */
	memset(in, 'Q', 63);
	in[63] = '\0';
	assert_int_equal(name_canonical(out, in), 0);
	assert_int_equal(strlen(out), 63);
	assert_all_bytes(out, 'q', 63);
	memcpy(in + 63, ".x", 3);
	assert_int_equal(name_canonical(out, in), 0);
	assert_int_equal(strlen(out), 65);

	/* 253 characters, and 253 with the trailing dot */
	long_name(in, 253);
	assert_int_equal(name_canonical(out, in), 0);
	assert_string_equal(out, in);
	assert_true(name_is_canonical(in));
	in[253] = '.';
	in[254] = '\0';
	assert_int_equal(name_canonical(out, in), 0);
	assert_int_equal(strlen(out), 253);
	assert_memory_equal(out, in, 253);
	assert_false(name_is_canonical(in));
}

static void
test_name_invalid(void **state)
{
	static const struct {
		const char *in;
		int err;
	} bad[] = {
	    {"", ANDNA_ENAME_EMPTY},
	    {".", ANDNA_ENAME_EMPTY},
	    {"..", ANDNA_ENAME_LABEL_EMPTY},
	    {"a..", ANDNA_ENAME_LABEL_EMPTY},
	    {"a..b", ANDNA_ENAME_LABEL_EMPTY},
	    {".a", ANDNA_ENAME_LABEL_EMPTY},
	    {"a_b", ANDNA_ENAME_CHAR},
	    {"a b", ANDNA_ENAME_CHAR},
	    {"caf\xc3\xa9", ANDNA_ENAME_CHAR},
	    {"\xc3", ANDNA_ENAME_CHAR},
	    {"a\x7f", ANDNA_ENAME_CHAR},
	    {"a/b", ANDNA_ENAME_CHAR},
	    {"*.example", ANDNA_ENAME_CHAR},
	    {"-a", ANDNA_ENAME_HYPHEN},
	    {"a-", ANDNA_ENAME_HYPHEN},
	    {"a-.", ANDNA_ENAME_HYPHEN},
	    {"a.-b", ANDNA_ENAME_HYPHEN},
	    {"a-.b", ANDNA_ENAME_HYPHEN},
	    {"-", ANDNA_ENAME_HYPHEN},
	    /* the first fault from the left wins */
	    {"a_b.-c", ANDNA_ENAME_CHAR},
	    {"-a_b", ANDNA_ENAME_HYPHEN},
	    {"a..b_", ANDNA_ENAME_LABEL_EMPTY},
	    {"a-.b_", ANDNA_ENAME_HYPHEN},
	};
	char out[ANDNA_NAME_MAX + 1], in[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(name_canonical(out, bad[i].in), bad[i].err);
		assert_all_bytes(out, 0, sizeof(out));
		assert_false(name_is_canonical(bad[i].in));
	}

	/* a 64-character label, alone, first and last */
	memset(in, 'a', 64);
	in[64] = '\0';
	assert_int_equal(name_canonical(out, in), ANDNA_ENAME_LABEL_TOO_LONG);
	assert_string_equal(out, "");
	memcpy(in + 64, ".b", 3);
	assert_int_equal(name_canonical(out, in), ANDNA_ENAME_LABEL_TOO_LONG);
	memcpy(in, "b.", 2);
	memset(in + 2, 'a', 64);
	in[66] = '\0';
	assert_int_equal(name_canonical(out, in), ANDNA_ENAME_LABEL_TOO_LONG);

	/* 254 characters, with and without a trailing dot; 300 and more */
	long_name(in, 254);
	assert_int_equal(name_canonical(out, in), ANDNA_ENAME_TOO_LONG);
	assert_string_equal(out, "");
	in[254] = '.';
	in[255] = '\0';
	assert_int_equal(name_canonical(out, in), ANDNA_ENAME_TOO_LONG);
	long_name(in, 399);
	assert_int_equal(name_canonical(out, in), ANDNA_ENAME_TOO_LONG);
	assert_false(name_is_canonical(in));
	/* too long wins over a bad character further on */
	in[300] = '_';
	assert_int_equal(name_canonical(out, in), ANDNA_ENAME_TOO_LONG);

	assert_int_equal(name_canonical(out, NULL), ANDNA_EINVAL);
	assert_string_equal(out, "");
	assert_false(name_is_canonical(NULL));
}

/* An input with no NUL in sight is refused after a bounded look: the buffer
 * holds exactly 255 bytes, so AddressSanitizer would catch any read past
 * the 255th. */
static void
test_name_bounded_read(void **state)
{
	char out[ANDNA_NAME_MAX + 1];
	char *unterminated;

	(void)state;
	assert_non_null(unterminated = malloc(ANDNA_NAME_MAX + 2));
	memset(unterminated, 'a', ANDNA_NAME_MAX + 2);
	assert_int_equal(
	    name_canonical(out, unterminated), ANDNA_ENAME_TOO_LONG);
	free(unterminated);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_ed25519_rfc8032),
	    cmocka_unit_test(test_ed25519_random_keys),
	    cmocka_unit_test(test_blake2b_kat),
	    cmocka_unit_test(test_name_and_key_hash_kat),
	    cmocka_unit_test_setup_teardown(
		test_keyfile_round_trip, keydir_setup, keydir_teardown),
	    cmocka_unit_test_setup_teardown(
		test_keyfile_format, keydir_setup, keydir_teardown),
	    cmocka_unit_test_setup_teardown(
		test_keyfile_missing_and_perms, keydir_setup, keydir_teardown),
	    cmocka_unit_test_setup_teardown(
		test_keyfile_corrupt, keydir_setup, keydir_teardown),
	    cmocka_unit_test_setup_teardown(
		test_keyfile_save_fails, keydir_setup, keydir_teardown),
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_name_invalid),
	    cmocka_unit_test(test_name_bounded_read),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
