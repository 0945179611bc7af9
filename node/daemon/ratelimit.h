/* Token buckets per source address, for every port of the daemon that
 * faces the network (the overlay ports, the HTTP status page).  A fixed
 * table of slots, found by a keyed hash of the address (so a remote host
 * cannot aim its addresses at one slot): no allocation per source, and a
 * source whose slot another took starts again with a full bucket, which
 * errs on the side of serving. */
#ifndef ANDNA_NODE_RATELIMIT_H
#define ANDNA_NODE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/types.h"

struct ratelimit;

/* A table of `slots` buckets.  Returns NULL on out of memory. */
struct ratelimit *ratelimit_new(int slots);

/* NULL is a no-op. */
void ratelimit_free(struct ratelimit *rl);

/* Takes a token from the bucket of `ep`'s address (its port is not part
 * of it) at monotonic time `now_ms`; the bucket refills at `rate` tokens
 * a second up to `burst`.  Returns false when it has none left.  The rate
 * and burst are passed on every call so that a reload takes effect at
 * once. */
bool ratelimit_allow(struct ratelimit *rl, const struct endpoint *ep,
    uint64_t now_ms, int rate, int burst);

#endif
