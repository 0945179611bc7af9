/* Keys, signatures, hashes and names: everything andna asks of libsodium,
 * plus the canonical form of names (DESIGN.md sections 2 and 3). */
#ifndef ANDNA_CRYPTO_H
#define ANDNA_CRYPTO_H

#include "proto/types.h"

/* Initialises libsodium; call once per process before anything else.
 * Returns 0 or ANDNA_EIO. */
int crypto_init(void);

/* An Ed25519 key pair.  Wipe it with keypair_wipe() when done. */
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

/* Writes `kp` to `path` with mode 0600, atomically (temp file + rename).
 * Returns 0 or ANDNA_EKEY_WRITE. */
int keypair_save(const struct keypair *kp, const char *path);

/* Reads a key pair from `path`.  Returns 0, ANDNA_EKEY_MISSING,
 * ANDNA_EKEY_PERMS (group/world readable), ANDNA_EKEY_CORRUPT or
 * ANDNA_EKEY_MISMATCH; `kp` is wiped on any error. */
int keypair_load(struct keypair *kp, const char *path);

/* Signs `len` bytes of `msg` with `sk` into `sig`. */
void crypto_sign(uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg, size_t len,
    const uint8_t sk[ANDNA_SK_LEN]);

/* Returns 0 if `sig` is pk's signature over `msg`, else ANDNA_ESIG. */
int crypto_verify(const uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg,
    size_t len, const uint8_t pk[ANDNA_PK_LEN]);

/* BLAKE2b-256 of `len` bytes. */
void crypto_hash(uint8_t out[ANDNA_HASH_LEN], const void *in, size_t len);

/* Checks `in` and writes its canonical form to `out` (NUL-terminated, at
 * most ANDNA_NAME_MAX characters): letters folded to lower case and one
 * trailing dot dropped; nothing else is changed.  Returns 0 or the
 * ANDNA_ENAME_* code of the first fault; `out` is "" on error. */
int name_canonical(char out[ANDNA_NAME_MAX + 1], const char *in);

/* Returns true if `name` is already canonical. */
bool name_is_canonical(const char *name);

/* H(name): the first 4 bytes of BLAKE2b-256 of the canonical name, big
 * endian, as an overlay address.  `name` must be canonical. */
ovl_addr_t name_hash(const char *name);

/* C(key): the same over an owner's public key. */
ovl_addr_t key_hash(const uint8_t pk[ANDNA_PK_LEN]);

#endif
