/* libFuzzer target for node-to-node messages: msg_decode() on any bytes;
 * what it accepts must re-encode, in no more bytes than it came in (the
 * encoding is canonical), and decode again to a message that re-encodes
 * to the very same bytes.  Inputs that end in what looks like a signature
 * are first re-signed with the test key (seed of 32 bytes of 0x42, as in
 * tests/test_msg.c), so that mutations get past the signature check and
 * reach the body decoders.  Seeds: tests/fuzz/corpus/msg/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "proto/msg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keypair key;

/* Sets up libsodium and the test key once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t seed[32];

	(void)argc;
	(void)argv;
	if (crypto_init() != 0)
		abort();
	memset(seed, 0x42, sizeof(seed));
	keypair_from_seed(&key, seed);
	return 0;
}

/* Decodes one input and checks the round trip of what it accepts. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m, again;
	size_t len, len2;
	uint8_t *in = malloc(size + 1), *re = malloc(size + 1),
		*re2 = malloc(size + 1);

	if (in == NULL || re == NULL || re2 == NULL)
		abort();
	memcpy(in, data, size);
	if (size >= MSG_SIG_TRAILER && in[size - MSG_SIG_TRAILER] == 0xc4 &&
	    in[size - MSG_SIG_TRAILER + 1] == ANDNA_SIG_LEN)
		sig_sign(in + size - ANDNA_SIG_LEN, in,
		    size - MSG_SIG_TRAILER, key.sk);
	if (msg_decode(in, size, &m) == 0) {
		if (msg_encode(&m, &key, re, size, &len) != 0 ||
		    msg_decode(re, len, &again) != 0 || again.type != m.type ||
		    msg_encode(&again, &key, re2, size, &len2) != 0 ||
		    len2 != len || memcmp(re, re2, len) != 0)
			abort();
		msg_free(&again);
	}
	msg_free(&m);
	free(in);
	free(re);
	free(re2);
	return 0;
}
