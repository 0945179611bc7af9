/* A verdict memo: an open-addressing hash table of triple digests. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/err.h"
#include "sim/sigmemo.h"

#define DIGEST_LEN 32

enum verdict { SLOT_EMPTY, SLOT_GOOD, SLOT_BAD };

struct slot {
	uint8_t digest[DIGEST_LEN];
	uint8_t verdict; /* enum verdict */
};

struct sigmemo {
	struct slot *v;
	size_t mask; /* slots - 1, a power of two less one */
	size_t n;
};

struct sigmemo *
sigmemo_new(void)
{
	struct sigmemo *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->mask = 1023;
	if ((m->v = calloc(m->mask + 1, sizeof(*m->v))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
sigmemo_free(struct sigmemo *m)
{
	if (m == NULL)
		return;
	free(m->v);
	free(m);
}

size_t
sigmemo_count(const struct sigmemo *m)
{
	return m->n;
}

/* The slot holding `digest`, or the empty slot where it would go. */
static struct slot *
slot_find(struct slot *v, size_t mask, const uint8_t digest[DIGEST_LEN])
{
	uint64_t h;

	memcpy(&h, digest, sizeof(h)); /* already uniform */
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask)
		if (v[i].verdict == SLOT_EMPTY ||
		    memcmp(v[i].digest, digest, DIGEST_LEN) == 0)
			return &v[i];
}

/* Doubles the table; false when out of memory (the old one stays). */
static bool
memo_grow(struct sigmemo *m)
{
	size_t mask = 2 * m->mask + 1;
	struct slot *v = calloc(mask + 1, sizeof(*v));

	if (v == NULL)
		return false;
	for (size_t i = 0; i <= m->mask; i++)
		if (m->v[i].verdict != SLOT_EMPTY)
			*slot_find(v, mask, m->v[i].digest) = m->v[i];
	free(m->v);
	m->v = v;
	m->mask = mask;
	return true;
}

int
sigmemo_verify(void *arg, const uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg,
    size_t len, const uint8_t pk[ANDNA_PK_LEN])
{
	struct sigmemo *m = arg;
	crypto_generichash_state st;
	uint8_t digest[DIGEST_LEN];

	/* pk and sig have fixed lengths, so the concatenation is
	 * unambiguous */
	crypto_generichash_init(&st, NULL, 0, DIGEST_LEN);
	crypto_generichash_update(&st, pk, ANDNA_PK_LEN);
	crypto_generichash_update(&st, sig, ANDNA_SIG_LEN);
	crypto_generichash_update(&st, msg, len);
	crypto_generichash_final(&st, digest, DIGEST_LEN);
	struct slot *s = slot_find(m->v, m->mask, digest);
	if (s->verdict != SLOT_EMPTY)
		return s->verdict == SLOT_GOOD ? 0 : ANDNA_ESIG;
	int rc = sig_verify(sig, msg, len, pk);
	/* at most half full; out of memory only means not remembering */
	if (2 * (m->n + 1) > m->mask + 1) {
		if (!memo_grow(m))
			return rc;
		s = slot_find(m->v, m->mask, digest);
	}
	memcpy(s->digest, digest, DIGEST_LEN);
	s->verdict = rc == 0 ? SLOT_GOOD : SLOT_BAD;
	m->n++;
	return rc;
}
