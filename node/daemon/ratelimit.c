/* Token buckets per source address (see ratelimit.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/daemon/ratelimit.h"

#define RL_WAYS 8 /* slots probed per source */

/* A token bucket of one source address. */
struct rl_slot {
	uint8_t family;
	uint8_t ip[16];
	double tokens;
	uint64_t last_ms;
};

struct ratelimit {
	int n;
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct rl_slot slot[];
};

struct ratelimit *
ratelimit_new(int slots)
{
	struct ratelimit *rl;

	if (slots < RL_WAYS)
		slots = RL_WAYS;
	rl = calloc(1, sizeof(*rl) + (size_t)slots * sizeof(rl->slot[0]));
	if (rl == NULL)
		return NULL;
	rl->n = slots;
	randombytes_buf(rl->key, sizeof(rl->key));
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

bool
ratelimit_allow(struct ratelimit *rl, const struct endpoint *ep,
    uint64_t now_ms, int rate, int burst)
{
	uint8_t key[17];
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t idx;
	size_t alen = ep->family == 4 ? 4 : 16;

	key[0] = ep->family;
	memcpy(key + 1, ep->ip, alen);
	crypto_shorthash(h, key, 1 + alen, rl->key);
	memcpy(&idx, h, sizeof(idx));
	struct rl_slot *victim = NULL, *s = NULL;
	for (int i = 0; i < RL_WAYS; i++) {
		struct rl_slot *x = &rl->slot[(idx + (uint64_t)i) %
		    (uint64_t)rl->n];
		if (x->family == ep->family && memcmp(x->ip, ep->ip, alen) == 0) {
			s = x;
			break;
		}
		if (victim == NULL || x->last_ms < victim->last_ms)
			victim = x;
	}
	if (s == NULL) {
		s = victim; /* the stalest of the ways makes room */
		s->family = ep->family;
		memcpy(s->ip, ep->ip, alen);
		s->tokens = burst;
		s->last_ms = now_ms;
	}
	if (now_ms > s->last_ms)
		s->tokens += (double)(now_ms - s->last_ms) * rate / 1000.0;
	if (s->tokens > burst)
		s->tokens = burst;
	s->last_ms = now_ms;
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	return true;
}
