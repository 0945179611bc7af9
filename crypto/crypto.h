/* Keys, signatures, hashes and names: everything andna asks of libsodium,
 * plus the canonical form of names (DESIGN.md sections 2 and 3). */
#ifndef ANDNA_CRYPTO_H
#define ANDNA_CRYPTO_H

#include <sodium.h>

#include "proto/types.h"

/* Ours are named sig_* and hash_*: libsodium owns the crypto_* names. */

/* Initialises libsodium; call once per process before anything else.
 * Returns 0 or ANDNA_EIO. */
int crypto_init(void);

/* An Ed25519 key pair.  Wipe it with keypair_wipe() when done.  `sk` is in
 * libsodium's layout: the 32-byte seed followed by the public key. */
struct keypair {
	uint8_t pk[ANDNA_PK_LEN];
	uint8_t sk[ANDNA_SK_LEN];
};

/* Fills `kp` with a fresh random key pair. */
void keypair_generate(struct keypair *kp);

/* Derives a key pair from a 32-byte seed (tests and the simulator). */
void keypair_from_seed(struct keypair *kp, const uint8_t seed[32]);

/* Overwrites the secret half (and the rest) with zeros. */
void keypair_wipe(struct keypair *kp);

/* Key file format (version 1), exactly 148 bytes of ASCII text:
 *
 *	andna-secret-key-1\n
 *	<128 lower-case hex digits: the 64-byte secret key>\n
 *
 * The secret key is the seed followed by the public key; on load the public
 * key is derived again from the seed and must equal the stored one.  Nothing
 * may precede, follow or be inserted; upper-case hex is accepted on load. */

/* Writes `kp` to `path` with mode 0600, atomically: a temp file created
 * with O_EXCL in the same directory, fsync, rename over `path`, fsync of
 * the directory.  Returns 0 or ANDNA_EKEY_WRITE (the temp file is removed
 * and `path` is left as it was). */
int keypair_save(const struct keypair *kp, const char *path);

/* Reads a key pair from `path`.  Returns 0, ANDNA_EKEY_MISSING (no such
 * file), ANDNA_EKEY_PERMS (any group or other mode bit set),
 * ANDNA_EKEY_CORRUPT (not a regular file, or not exactly the format
 * above), ANDNA_EKEY_MISMATCH (stored public key is not the seed's) or
 * ANDNA_EIO (the file cannot be opened or read for another reason);
 * `kp` is wiped on any error. */
int keypair_load(struct keypair *kp, const char *path);

/* Signs `len` bytes of `msg` with `sk` into `sig` (Ed25519, detached). */
void sig_sign(uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg, size_t len,
    const uint8_t sk[ANDNA_SK_LEN]);

/* Returns 0 if `sig` is pk's signature over `msg`, else ANDNA_ESIG. */
int sig_verify(const uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg,
    size_t len, const uint8_t pk[ANDNA_PK_LEN]);

/* A stand-in for sig_verify() that a host may inject (see
 * record_verify_with()): it must give sig_verify()'s verdict, 0 or
 * ANDNA_ESIG, for every input.  The simulator's remembers verdicts, since
 * thousands of its nodes check the same record. */
typedef int sig_verify_fn(void *arg, const uint8_t sig[ANDNA_SIG_LEN],
    const uint8_t *msg, size_t len, const uint8_t pk[ANDNA_PK_LEN]);

/* The simulator's stand-in for a signature: BLAKE2b-512 of `msg` keyed by
 * the signer's public key `pk`.  Anyone can make it, so it proves nothing
 * against a liar; it catches damaged bytes at a hundredth of the cost of
 * sig_sign() plus sig_verify(). */
void sig_digest(uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg, size_t len,
    const uint8_t pk[ANDNA_PK_LEN]);

/* BLAKE2b-256 (unkeyed) of `len` bytes. */
void hash_blake2b(uint8_t out[ANDNA_HASH_LEN], const void *in, size_t len);

/* Checks `in` and writes its canonical form to `out` (NUL-terminated, at
 * most ANDNA_NAME_MAX characters): letters folded to lower case and one
 * trailing dot dropped; nothing else is changed.  Returns 0 or the
 * ANDNA_ENAME_* code of the first fault; `out` is "" on error.
 *
 * Order of checks: ENAME_TOO_LONG if more than 253 characters remain after
 * dropping the trailing dot (at most 255 bytes of `in` are read, whatever
 * its length); ENAME_EMPTY for "" and "."; then one pass left to right, where
 * the first bad spot wins: ENAME_CHAR (anything but letters, digits, '-',
 * '.'), ENAME_LABEL_EMPTY (leading dot or two in a row, and a name ending
 * in two dots), ENAME_LABEL_TOO_LONG (64th character of a label),
 * ENAME_HYPHEN (label starts or ends with '-').  ANDNA_EINVAL if an argument
 * is NULL. */
int name_canonical(char out[ANDNA_NAME_MAX + 1], const char *in);

/* Returns true if `name` is already canonical (false for NULL). */
bool name_is_canonical(const char *name);

/* H(name): the first 4 bytes of BLAKE2b-256 of the canonical name (without
 * its NUL), big endian, as an overlay address.  `name` must be canonical. */
ovl_addr_t name_hash(const char *name);

/* The first 8 bytes of the same hash, big endian: the key prefix under
 * which stores keep what they hold of a name.  `name` must be
 * canonical. */
uint64_t name_hash8(const char *name);

/* C(key): the same over an owner's 32-byte public key. */
ovl_addr_t key_hash(const uint8_t pk[ANDNA_PK_LEN]);

#endif
