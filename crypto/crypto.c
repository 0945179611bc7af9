/* Keys, signatures, hashes and names on top of libsodium.  Nothing here
 * keeps state between calls: the only global is libsodium's own. */
#include "config.h"

#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "proto/err.h"

/* The key file: a header line, 128 hex digits, a newline (see crypto.h). */
#define KEYFILE_HEADER "andna-secret-key-1\n"
#define KEYFILE_HEADER_LEN (sizeof(KEYFILE_HEADER) - 1)
#define KEYFILE_HEX_LEN (2 * ANDNA_SK_LEN)
#define KEYFILE_LEN (KEYFILE_HEADER_LEN + KEYFILE_HEX_LEN + 1)

#define SEED_LEN crypto_sign_SEEDBYTES

_Static_assert(ANDNA_PK_LEN == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(ANDNA_SK_LEN == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(ANDNA_SIG_LEN == crypto_sign_BYTES, "signature size");
_Static_assert(SEED_LEN == 32, "seed size");
_Static_assert(ANDNA_HASH_LEN >= crypto_generichash_BYTES_MIN &&
	ANDNA_HASH_LEN <= crypto_generichash_BYTES_MAX,
    "hash size");

int
crypto_init(void)
{
	return sodium_init() < 0 ? ANDNA_EIO : 0;
}

void
keypair_generate(struct keypair *kp)
{
	crypto_sign_keypair(kp->pk, kp->sk);
}

void
keypair_from_seed(struct keypair *kp, const uint8_t seed[32])
{
	crypto_sign_seed_keypair(kp->pk, kp->sk, seed);
}

void
keypair_wipe(struct keypair *kp)
{
	sodium_memzero(kp, sizeof(*kp));
}

/* Writes all `len` bytes of `buf` to `fd`; returns 0 or -1. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Flushes the directory holding `path` so a rename into it survives a
 * crash.  Best effort: the new file is in place whatever this returns. */
static void
sync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t len;
	int fd;

	slash = strrchr(path, '/');
	if (slash == NULL) {
		len = 1;
		dir[0] = '.';
	} else {
		len = slash == path ? 1 : (size_t)(slash - path);
		if (len >= sizeof(dir))
			return;
		memcpy(dir, path, len);
	}
	dir[len] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)fsync(fd);
	(void)close(fd);
}

int
keypair_save(const struct keypair *kp, const char *path)
{
	char text[KEYFILE_LEN];
	char tmp[PATH_MAX];
	int fd = -1, created = 0, ret = ANDNA_EKEY_WRITE;
	int n;

	assert(kp != NULL && path != NULL);
	/* A pair whose halves disagree would only come back as a mismatch. */
	assert(sodium_memcmp(kp->pk, kp->sk + SEED_LEN, ANDNA_PK_LEN) == 0);

	memcpy(text, KEYFILE_HEADER, KEYFILE_HEADER_LEN);
	/* bin2hex ends with a NUL, which the newline then replaces. */
	sodium_bin2hex(text + KEYFILE_HEADER_LEN, KEYFILE_HEX_LEN + 1, kp->sk,
	    ANDNA_SK_LEN);
	text[KEYFILE_LEN - 1] = '\n';

	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		goto out;
	/* mkstemp opens with O_CREAT | O_EXCL and mode 0600; fchmod makes it
	 * exactly 0600 whatever the umask. */
	fd = mkstemp(tmp);
	if (fd < 0)
		goto out;
	created = 1;
	if (fchmod(fd, S_IRUSR | S_IWUSR) != 0 ||
	    write_all(fd, text, sizeof(text)) != 0 || fsync(fd) != 0)
		goto out;
	n = close(fd);
	fd = -1;
	if (n != 0 || rename(tmp, path) != 0)
		goto out;
	created = 0;
	sync_parent_dir(path);
	ret = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	if (created)
		(void)unlink(tmp);
	sodium_memzero(text, sizeof(text));
	return ret;
}

/* Reads up to `cap` bytes of `fd` into `buf`; returns the count or -1. */
static ssize_t
read_upto(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Parses the whole of a key file's `len` bytes into `sk`; returns 0 or
 * ANDNA_EKEY_CORRUPT. */
static int
keyfile_parse(uint8_t sk[ANDNA_SK_LEN], const char *text, size_t len)
{
	const char *hex = text + KEYFILE_HEADER_LEN, *end = NULL;
	size_t bin_len = 0;

	if (len != KEYFILE_LEN ||
	    memcmp(text, KEYFILE_HEADER, KEYFILE_HEADER_LEN) != 0 ||
	    text[KEYFILE_LEN - 1] != '\n')
		return ANDNA_EKEY_CORRUPT;
	if (sodium_hex2bin(sk, ANDNA_SK_LEN, hex, KEYFILE_HEX_LEN, NULL,
		&bin_len, &end) != 0 ||
	    bin_len != ANDNA_SK_LEN || end != hex + KEYFILE_HEX_LEN)
		return ANDNA_EKEY_CORRUPT;
	return 0;
}

int
keypair_load(struct keypair *kp, const char *path)
{
	char text[KEYFILE_LEN + 1]; /* one more, to see trailing bytes */
	struct keypair stored, derived;
	struct stat st;
	ssize_t len;
	int fd = -1, ret;

	assert(kp != NULL && path != NULL);
	keypair_wipe(kp);
	keypair_wipe(&stored);
	keypair_wipe(&derived);

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = errno == ENOENT ? ANDNA_EKEY_MISSING : ANDNA_EIO;
		goto out;
	}
	ret = ANDNA_EIO;
	if (fstat(fd, &st) != 0)
		goto out;
	ret = ANDNA_EKEY_CORRUPT;
	if (!S_ISREG(st.st_mode))
		goto out;
	ret = ANDNA_EKEY_PERMS;
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		goto out;
	ret = ANDNA_EIO;
	if ((len = read_upto(fd, text, sizeof(text))) < 0)
		goto out;
	if ((ret = keyfile_parse(stored.sk, text, (size_t)len)) != 0)
		goto out;

	/* The stored public half must be the one the seed gives. */
	keypair_from_seed(&derived, stored.sk);
	ret = ANDNA_EKEY_MISMATCH;
	if (sodium_memcmp(derived.pk, stored.sk + SEED_LEN, ANDNA_PK_LEN) != 0)
		goto out;
	memcpy(kp, &derived, sizeof(*kp));
	ret = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	sodium_memzero(text, sizeof(text));
	keypair_wipe(&stored);
	keypair_wipe(&derived);
	return ret;
}

void
sig_sign(uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg, size_t len,
    const uint8_t sk[ANDNA_SK_LEN])
{
	crypto_sign_detached(sig, NULL, msg, len, sk);
}

int
sig_verify(const uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg, size_t len,
    const uint8_t pk[ANDNA_PK_LEN])
{
	if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
		return ANDNA_ESIG;
	return 0;
}

void
sig_digest(uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg, size_t len,
    const uint8_t pk[ANDNA_PK_LEN])
{
	_Static_assert(ANDNA_SIG_LEN <= crypto_generichash_BYTES_MAX &&
	    ANDNA_PK_LEN <= crypto_generichash_KEYBYTES_MAX, "digest sizes");
	int rc = crypto_generichash(sig, ANDNA_SIG_LEN, msg, len, pk,
	    ANDNA_PK_LEN);

	assert(rc == 0);
	(void)rc;
}

void
hash_blake2b(uint8_t out[ANDNA_HASH_LEN], const void *in, size_t len)
{
	int rc;

	rc = crypto_generichash(out, ANDNA_HASH_LEN, in, len, NULL, 0);
	assert(rc == 0); /* fails only for sizes the _Static_assert rules out */
	(void)rc;
}

/* Is `c` (already folded) allowed inside a label? */
static int
name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Folds and checks the `n` characters of `in` (trailing dot already off)
 * into `out`; returns 0 or the ANDNA_ENAME_* code of the first fault. */
static int
name_scan(char *out, const char *in, size_t n)
{
	size_t i, label = 0;
	unsigned char c, prev = '.';

	for (i = 0; i < n; i++) {
		c = (unsigned char)in[i];
		if (c == '.') {
			if (label == 0)
				return ANDNA_ENAME_LABEL_EMPTY;
			if (prev == '-')
				return ANDNA_ENAME_HYPHEN;
			label = 0;
		} else {
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			if (!name_char_ok(c))
				return ANDNA_ENAME_CHAR;
			if (++label > ANDNA_LABEL_MAX)
				return ANDNA_ENAME_LABEL_TOO_LONG;
			if (c == '-' && label == 1)
				return ANDNA_ENAME_HYPHEN;
		}
		out[i] = (char)c;
		prev = c;
	}
	if (label == 0)
		return ANDNA_ENAME_LABEL_EMPTY; /* ended in two dots */
	if (prev == '-')
		return ANDNA_ENAME_HYPHEN;
	return 0;
}

int
name_canonical(char out[ANDNA_NAME_MAX + 1], const char *in)
{
	size_t n;
	int ret;

	if (out == NULL)
		return ANDNA_EINVAL;
	if (in == NULL) {
		ret = ANDNA_EINVAL;
		goto out;
	}
	/* Never look further than the longest input that could pass: 253
	 * characters and a trailing dot, plus one to see that it goes on. */
	n = strnlen(in, ANDNA_NAME_MAX + 2);
	ret = ANDNA_ENAME_TOO_LONG;
	if (n > ANDNA_NAME_MAX + 1)
		goto out;
	if (n > 0 && in[n - 1] == '.')
		n--;
	ret = ANDNA_ENAME_EMPTY;
	if (n == 0)
		goto out;
	ret = ANDNA_ENAME_TOO_LONG;
	if (n > ANDNA_NAME_MAX)
		goto out;
	if ((ret = name_scan(out, in, n)) != 0)
		goto out;
	out[n] = '\0';
	return 0;
out:
	memset(out, 0, ANDNA_NAME_MAX + 1);
	return ret;
}

bool
name_is_canonical(const char *name)
{
	char canon[ANDNA_NAME_MAX + 1];

	if (name == NULL || name_canonical(canon, name) != 0)
		return false;
	return strcmp(canon, name) == 0;
}

/* The first four bytes of a hash, big endian. */
static ovl_addr_t
hash_prefix(const uint8_t h[ANDNA_HASH_LEN])
{
	return (ovl_addr_t)h[0] << 24 | (ovl_addr_t)h[1] << 16 |
	    (ovl_addr_t)h[2] << 8 | (ovl_addr_t)h[3];
}

ovl_addr_t
name_hash(const char *name)
{
	uint8_t h[ANDNA_HASH_LEN];

	assert(name_is_canonical(name));
	hash_blake2b(h, name, strnlen(name, ANDNA_NAME_MAX));
	return hash_prefix(h);
}

uint64_t
name_hash8(const char *name)
{
	uint8_t h[ANDNA_HASH_LEN];

	hash_blake2b(h, name, strnlen(name, ANDNA_NAME_MAX));
	return be64_get(h);
}

ovl_addr_t
key_hash(const uint8_t pk[ANDNA_PK_LEN])
{
	uint8_t h[ANDNA_HASH_LEN];

	hash_blake2b(h, pk, ANDNA_PK_LEN);
	return hash_prefix(h);
}
