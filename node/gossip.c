/* The outer map: which sibling gnodes exist at each level, how many
 * children each has, and a few live contacts in each.  Nodes exchange
 * entries push-pull with a random peer each period.  An entry carries its
 * age (seconds since a member of that gnode vouched for it); every hop adds
 * a second, so news can only grow older as it travels, and an entry nobody
 * refreshes ages out of every map: that is how a vanished gnode leaves. */
#include <stdlib.h>
#include <string.h>

#include "node/engine_int.h"

#define GOSSIP_OWN_CONTACTS 3

/* Our own gnode at `level` as an entry: age 0, us and a few members as
 * contacts (every member of our level-1 gnode is inside it too). */
static void
own_entry(struct engine *e, int level, struct msg_outer *o)
{
	memset(o, 0, sizeof(*o));
	o->level = (uint8_t)level;
	o->id = ovl_id(e->addr, level);
	o->children = engine_own_children(e, level);
	o->contacts[0].addr = e->addr;
	o->contacts[0].ep = e->eps[0];
	o->n_contacts = 1;
	int live = inner_live(&e->inner);
	if (live == 0)
		return;
	uint32_t start = engine_rand_below(e, (uint32_t)e->inner.n);
	for (int k = 0; k < e->inner.n && o->n_contacts < GOSSIP_OWN_CONTACTS; k++) {
		const struct member *mb = &e->inner.m[(start + (uint32_t)k) %
		    (uint32_t)e->inner.n];
		if (mb->state != MEMBER_ALIVE)
			continue;
		o->contacts[o->n_contacts].addr = ovl_prefix(e->addr, 1) | mb->id;
		o->contacts[o->n_contacts++].ep = mb->eps[0];
	}
}

static void
entry_out(const struct outer_entry *x, int level, uint64_t now,
    struct msg_outer *o)
{
	memset(o, 0, sizeof(*o));
	o->level = (uint8_t)level;
	o->id = x->id;
	o->children = x->children;
	/* +1: news grows older on every hop, so it cannot circulate forever */
	o->age = (uint32_t)((now - x->heard_at) / 1000) + 1;
	o->n_contacts = x->n_contacts;
	for (int i = 0; i < x->n_contacts; i++) {
		o->contacts[i].addr = x->contacts[i].addr;
		o->contacts[i].ep = x->contacts[i].ep;
	}
}

/* A sibling entry we may pass on, for choosing which ones go. */
struct pick {
	int level;
	int idx;
	uint64_t heard_at;
	bool taken;
};

static int
fresher_first(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	return x->heard_at < y->heard_at ? 1 : x->heard_at > y->heard_at ? -1 : 0;
}

int
gossip_entries_for(struct engine *e, ovl_addr_t to, struct msg_outer *out,
    int max, uint64_t now)
{
	int diff = ovl_diff_level(e->addr, to), n = 0, total = 0;
	int first = diff > 0 ? diff : 1;
	struct pick picks[MSG_OUTER_MAX];

	/* our own gnodes first: they are the freshest news we have */
	for (int level = first; level < ANDNA_LEVELS && n < max; level++)
		own_entry(e, level, &out[n++]);
	for (int level = first; level < ANDNA_LEVELS; level++) {
		for (int i = 0; i < e->outer.n[level]; i++) {
			const struct outer_entry *x = &e->outer.e[level][i];
			if (level == diff && x->id == ovl_id(to, diff) && n < max) {
				/* the receiver's own gnode always goes: our
				 * contacts there may be members it has not met
				 * (see meet_unknown) */
				entry_out(x, level, now, &out[n++]);
				continue;
			}
			picks[total++] = (struct pick){ level, i, x->heard_at, false };
		}
	}
	if (total == 0)
		return n;
	/* half the room for the entries in the order we keep them, in turn
	 * from where the last exchange stopped, so every entry goes out... */
	int start = e->gossip_rotate % total, k;
	for (k = 0; k < total && n < max - (max - n) / 2; k++) {
		struct pick *p = &picks[(start + k) % total];
		p->taken = true;
		entry_out(&e->outer.e[p->level][p->idx], p->level, now, &out[n++]);
	}
	e->gossip_rotate = (start + k) % total;
	/* ...and the rest for the freshest news, so it spreads at once */
	qsort(picks, (size_t)total, sizeof(picks[0]), fresher_first);
	for (int i = 0; i < total && n < max; i++)
		if (!picks[i].taken)
			entry_out(&e->outer.e[picks[i].level][picks[i].idx],
			    picks[i].level, now, &out[n++]);
	return n;
}

/* Whether a contact really lies in the gnode an entry is about. */
static bool
contact_inside(ovl_addr_t contact, ovl_addr_t gnode, int level)
{
	return ovl_prefix(contact, level) == gnode;
}

static void gossip_send(struct engine *e, const struct endpoint *to,
    ovl_addr_t to_addr, bool want_reply, uint64_t id, uint64_t now);

/* News of one of our own gnodes may name nodes inside it that we do not
 * know, nor their gnodes: two groups that founded gnodes under one parent
 * at once, or the halves of a healed partition.  Meet them, so the maps
 * of both sides merge. */
static void
meet_unknown(struct engine *e, const struct msg_outer *x, ovl_addr_t gnode,
    uint64_t now)
{
	for (int c = 0; c < x->n_contacts; c++) {
		ovl_addr_t a = x->contacts[c].addr;
		if (a == e->addr || !contact_inside(a, gnode, x->level))
			continue;
		int d = ovl_diff_level(e->addr, a);
		if (d == 0 && inner_find(&e->inner, ovl_id(a, 0)) == NULL)
			swim_introduce(e, &x->contacts[c].ep);
		else if (d > 0 && outer_find(&e->outer, d, ovl_id(a, d)) == NULL)
			gossip_send(e, &x->contacts[c].ep, a, true,
			    engine_rand64(e), now);
	}
}

void
gossip_merge(struct engine *e, ovl_addr_t from, const struct msg_outer *in,
    int n, uint64_t now)
{
	int diff = ovl_diff_level(e->addr, from);

	for (int i = 0; i < n; i++) {
		const struct msg_outer *x = &in[i];
		int level = x->level;
		if (level < diff || level < 1 || level >= ANDNA_LEVELS)
			continue; /* not inside a parent we share */
		ovl_addr_t gnode = ovl_prefix(e->addr, level + 1) |
		    ((ovl_addr_t)x->id << (8 * level));
		if (x->id == ovl_id(e->addr, level)) {
			meet_unknown(e, x, gnode, now);
			continue;
		}
		uint64_t age_ms = (uint64_t)x->age * 1000;
		if (age_ms >= e->cfg.outer_timeout_ms)
			continue;
		uint64_t heard = now > age_ms ? now - age_ms : 0;
		struct outer_entry *o = outer_find(&e->outer, level, x->id);
		if (o != NULL && heard <= o->heard_at)
			continue;
		if (o == NULL) {
			if (e->outer.n[level] + 1 >= 256)
				continue;
			o = outer_get(&e->outer, level, x->id);
			if (o == NULL)
				continue;
			engine_maps_changed(e);
		}
		if (o->children != x->children)
			engine_maps_changed(e);
		o->children = x->children;
		o->heard_at = heard;
		for (int c = x->n_contacts - 1; c >= 0; c--) {
			struct contact ct = { x->contacts[c].addr, x->contacts[c].ep };
			if (contact_inside(ct.addr, gnode, level))
				outer_add_contact(o, &ct);
		}
	}
}

void
gossip_sweep(struct engine *e, uint64_t now)
{
	for (int level = 1; level < ANDNA_LEVELS; level++) {
		for (int i = 0; i < e->outer.n[level];) {
			struct outer_entry *x = &e->outer.e[level][i];
			if (now - x->heard_at < e->cfg.outer_timeout_ms) {
				i++;
				continue;
			}
			engine_log(e, ENGINE_LOG_INFO,
			    "level-%d gnode %u is no longer heard of", level, x->id);
			outer_remove(&e->outer, level, x->id);
			engine_maps_changed(e);
		}
	}
}

/* Sends our entries to `to`, asking for theirs when `want_reply`. */
static void
gossip_send(struct engine *e, const struct endpoint *to, ovl_addr_t to_addr,
    bool want_reply, uint64_t id, uint64_t now)
{
	/* as many entries as fit one datagram at about 60 bytes each */
	struct msg_outer entries[(MSG_DGRAM_MAX - 200) / 60];
	struct msg m;

	msg_init(&m);
	m.type = MSG_GOSSIP;
	m.id = id;
	m.u.gossip.want_reply = want_reply;
	m.u.gossip.outer = entries;
	m.u.gossip.n_outer = (uint16_t)gossip_entries_for(e, to_addr, entries,
	    (int)(sizeof(entries) / sizeof(entries[0])), now);
	engine_send(e, to, &m);
	m.u.gossip.outer = NULL; /* on our stack, not for msg_free */
}

void
gossip_hello(struct engine *e, const struct endpoint *to, uint64_t now)
{
	/* as if to ourselves: every level of ours, since we do not know
	 * where the receiver is */
	gossip_send(e, to, e->addr, true, engine_rand64(e), now);
}

void
gossip_push(struct engine *e, const struct endpoint *to, ovl_addr_t to_addr,
    uint64_t now)
{
	gossip_send(e, to, to_addr, false, engine_rand64(e), now);
}

void
gossip_tick(struct engine *e, uint64_t now, uint64_t *wake)
{
	if (now >= e->next_gossip) {
		/* a random level with someone to talk to, then a random peer */
		int levels[ANDNA_LEVELS], nl = 0;
		if (inner_live(&e->inner) > 0)
			levels[nl++] = 0;
		for (int l = 1; l < ANDNA_LEVELS; l++)
			if (e->outer.n[l] > 0)
				levels[nl++] = l;
		if (nl > 0) {
			int level = levels[engine_rand_below(e, (uint32_t)nl)];
			const struct endpoint *ep = NULL;
			ovl_addr_t addr = 0;
			if (level == 0) {
				uint32_t k = engine_rand_below(e, (uint32_t)e->inner.n);
				for (int i = 0; i < e->inner.n && ep == NULL; i++) {
					const struct member *mb = &e->inner.m[(k + (uint32_t)i) %
					    (uint32_t)e->inner.n];
					if (mb->state == MEMBER_ALIVE) {
						ep = &mb->eps[0];
						addr = ovl_prefix(e->addr, 1) | mb->id;
					}
				}
			} else {
				const struct outer_entry *x = &e->outer.e[level][
				    engine_rand_below(e, (uint32_t)e->outer.n[level])];
				if (x->n_contacts > 0) {
					const struct contact *c = &x->contacts[
					    engine_rand_below(e, x->n_contacts)];
					ep = &c->ep;
					addr = c->addr;
				}
			}
			if (ep != NULL)
				gossip_send(e, ep, addr, true, engine_rand64(e), now);
		}
		uint32_t iv = e->cfg.gossip_interval_ms;
		e->next_gossip = now + iv / 2 + engine_rand_below(e, iv);
	}
	if (e->next_gossip < *wake)
		*wake = e->next_gossip;
}

void
gossip_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now)
{
	if (e->hook != HOOK_DONE || !m->has_src) {
		e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
		return;
	}
	/* answer from our maps as they were: merging first would put the
	 * asker's own contacts in place of ours in its gnode's entry, and
	 * ours may be members it never met (two groups that founded one id,
	 * or the halves of a healed partition) */
	if (m->u.gossip.want_reply)
		gossip_send(e, from, m->src, false, m->id, now);
	gossip_merge(e, m->src, m->u.gossip.outer, m->u.gossip.n_outer, now);
}
