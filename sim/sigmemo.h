/* The simulator's memo of signature verdicts.  Every member of a hash,
 * backup and counter gnode checks the owner's Ed25519 signature of each
 * record it takes in, so in one process the same (key, message,
 * signature) is checked hundreds of times; that took four fifths of the
 * simulator's CPU.  The verdict is a pure function of the three, so the
 * memo checks each distinct triple once and gives the very same verdict
 * after.  Only the simulator uses it: the daemon checks every copy. */
#ifndef ANDNA_SIM_SIGMEMO_H
#define ANDNA_SIM_SIGMEMO_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

struct sigmemo;

/* Returns an empty memo (free it with sigmemo_free()), or NULL when out of
 * memory. */
struct sigmemo *sigmemo_new(void);

/* Frees the memo; NULL is a no-op. */
void sigmemo_free(struct sigmemo *m);

/* sig_verify() remembered: returns what sig_verify(sig, msg, len, pk)
 * returns, 0 or ANDNA_ESIG, checking the signature only the first time
 * this triple is asked about.  Triples are told apart by their BLAKE2b-256
 * digest.  A sig_verify_fn with `arg` the memo. */
int sigmemo_verify(void *arg, const uint8_t sig[ANDNA_SIG_LEN],
    const uint8_t *msg, size_t len, const uint8_t pk[ANDNA_PK_LEN]);

/* The verdicts remembered. */
size_t sigmemo_count(const struct sigmemo *m);

#endif
