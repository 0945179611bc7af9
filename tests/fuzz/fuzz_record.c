/* libFuzzer target for signed records: record_decode() on any bytes; a
 * record it accepts must verify cleanly or fail with ANDNA_EREC_SIG, and
 * re-encode, in no more bytes than it came in, to bytes that decode to an
 * equal record.  Seeds: tests/fuzz/corpus/record/. */
#include <stdint.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "proto/err.h"
#include "proto/record.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sets up libsodium once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return crypto_init() == 0 ? 0 : -1;
}

/* Decodes one input and checks what it accepts. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record *rec, *again;
	size_t len;

	if (record_decode(data, size, &rec) != 0)
		return 0;
	int r = record_verify(rec);
	uint8_t *re = malloc(size);
	if (re == NULL || (r != 0 && r != ANDNA_EREC_SIG) ||
	    record_encode(rec, re, size, &len) != 0 ||
	    record_decode(re, len, &again) != 0 || !record_equal(rec, again))
		abort();
	record_free(again);
	record_free(rec);
	free(re);
	return 0;
}
