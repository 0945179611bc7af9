#include "node/engine/round.h"

/* The lowest id of `s` at or above `from`, or -1. */
static int
first_at_or_above(const struct idset *s, int from)
{
	for (int w = from >> 6; w < 4; w++) {
		uint64_t bits = s->w[w];
		if (w == from >> 6)
			bits &= ~(uint64_t)0 << (from & 63);
		if (bits != 0)
			return w * 64 + __builtin_ctzll(bits);
	}
	return -1;
}

/* The highest id of `s` at or below `from`, or -1. */
static int
last_at_or_below(const struct idset *s, int from)
{
	for (int w = from >> 6; w >= 0; w--) {
		uint64_t bits = s->w[w];
		if (w == from >> 6 && (from & 63) < 63)
			bits &= ((uint64_t)1 << ((from & 63) + 1)) - 1;
		if (bits != 0)
			return w * 64 + 63 - __builtin_clzll(bits);
	}
	return -1;
}

int
round_nearest(const struct idset *s, uint8_t want)
{
	/* a word at a time: every route and every rounding asks this */
	int up = first_at_or_above(s, want), down = last_at_or_below(s, want);

	if (up < 0)
		return down;
	if (down < 0 || up - want <= want - down)
		return up; /* a tie goes up, as +d is tried before -d */
	return down;
}

int
ovl_diff_level(ovl_addr_t a, ovl_addr_t b)
{
	for (int level = ANDNA_LEVELS - 1; level >= 1; level--)
		if (ovl_id(a, level) != ovl_id(b, level))
			return level;
	return 0;
}

/* How many excluded level-1 gnodes lie inside the gnode `prefix` of
 * `level`. */
static int
excluded_inside(const struct round_exclude *ex, ovl_addr_t prefix, int level)
{
	int n = 0;

	for (int i = 0; ex != NULL && i < ex->n; i++)
		if (ovl_prefix(ex->prefix[i], level) == prefix)
			n++;
	return n;
}

/* Whether every child of the gnode `prefix` at `level` is excluded.  For
 * the node's own ancestors the children are known exactly; for a sibling,
 * only its child count is, and the exclusions inside it are taken to name
 * existing children. */
static bool
fully_excluded(const struct round_view *v, const struct round_exclude *ex,
    ovl_addr_t prefix, int level)
{
	if (ex == NULL || ex->n == 0)
		return false;
	if (level == 1)
		return excluded_inside(ex, prefix, 1) > 0;
	if (ovl_prefix(v->self, level) != prefix) {
		int n = excluded_inside(ex, prefix, level);
		return n > 0 && n >= v->children[level][ovl_id(prefix, level)];
	}
	/* own ancestor: every existing child one level down excluded? */
	for (int id = 0; id < 256; id++) {
		if (!idset_has(&v->ids[level - 1], (uint8_t)id))
			continue;
		ovl_addr_t child = prefix | ((ovl_addr_t)id << (8 * (level - 1)));
		if (!fully_excluded(v, ex, child, level - 1))
			return false;
	}
	return true;
}

int
round_view_target(const struct round_view *v, ovl_addr_t target,
    const struct round_exclude *ex, ovl_addr_t *prefix)
{
	for (int level = ANDNA_LEVELS - 1; level >= 1; level--) {
		ovl_addr_t parent = ovl_prefix(v->self, level + 1);
		struct idset live = v->ids[level];

		/* drop the ids whose gnodes are wholly excluded */
		for (int w = 0; ex != NULL && ex->n > 0 && w < 4; w++) {
			uint64_t bits = live.w[w];
			while (bits != 0) {
				int id = w * 64 + __builtin_ctzll(bits);
				bits &= bits - 1;
				ovl_addr_t p = parent | ((ovl_addr_t)id << (8 * level));
				if (fully_excluded(v, ex, p, level))
					live.w[w] &= ~((uint64_t)1 << (id & 63));
			}
		}
		int got = round_nearest(&live, ovl_id(target, level));
		if (got < 0)
			return -1;
		*prefix = parent | ((ovl_addr_t)got << (8 * level));
		if (got != ovl_id(v->self, level))
			return level;
	}
	*prefix = ovl_prefix(v->self, 1);
	return 0;
}
