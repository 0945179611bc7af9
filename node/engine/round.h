/* Rounding a 32-bit target to an existing gnode (DESIGN.md section 2), as a
 * pure function of what one node knows: its own address and, for each
 * level 1..3, the set of sibling gnode ids that exist inside its parent. */
#ifndef ANDNA_NODE_ROUND_H
#define ANDNA_NODE_ROUND_H

#include "proto/types.h"

/* 256-bit set of gnode ids. */
struct idset {
	uint64_t w[4];
};

static inline void
idset_add(struct idset *s, uint8_t id)
{
	s->w[id >> 6] |= (uint64_t)1 << (id & 63);
}

static inline bool
idset_has(const struct idset *s, uint8_t id)
{
	return (s->w[id >> 6] >> (id & 63)) & 1;
}

/* The nearest id of `s` to `want`, trying want, +1, -1, +2, -2, ... inside
 * 0..255 without wrap-around; -1 when `s` is empty. */
int round_nearest(const struct idset *s, uint8_t want);

/* One node's knowledge: its address, the ids that exist at each level
 * 1..3 inside its parent (its own id included; index 0 unused), and for
 * each such id how many children it has (used to skip a gnode whose every
 * child is excluded). */
struct round_view {
	ovl_addr_t self;
	struct idset ids[ANDNA_LEVELS];
	uint16_t children[ANDNA_LEVELS][256];
};

/* Gnodes to skip: level-1 prefixes (low byte zero). */
struct round_exclude {
	int n;
	ovl_addr_t prefix[8];
};

/* Rounds `target` as far as `view` allows.  Returns the level L (1..3) of
 * the first gnode on the way that is not the node's own, and sets *prefix
 * to that gnode's address (lower levels zero): the message must be handed
 * to a contact there, which rounds the rest.  Returns 0 when the rounded
 * level-1 gnode is the node's own (*prefix = its level-1 prefix).  Returns
 * -1 when every known gnode is excluded.  `ex` may be NULL. */
int round_view_target(const struct round_view *view, ovl_addr_t target,
    const struct round_exclude *ex, ovl_addr_t *prefix);

/* The level-L prefix of `addr`: the bytes above level L-1 kept, the rest
 * zero (L = 1 gives a.b.c.0). */
static inline ovl_addr_t
ovl_prefix(ovl_addr_t addr, int level)
{
	return level >= ANDNA_LEVELS ? 0 : addr & ~(((ovl_addr_t)1 << (8 * level)) - 1);
}

/* The highest level at which `a` and `b` lie in different gnodes (1..3),
 * 0 when they share their level-1 gnode. */
int ovl_diff_level(ovl_addr_t a, ovl_addr_t b);

#endif
