/* The outer map: which sibling gnodes exist at each level, how many
 * children each has, and a few live contacts in each.  Nodes exchange
 * entries push-pull with a random peer each period.  An entry carries its
 * age (seconds since a member of that gnode vouched for it); every hop adds
 * a second, so news can only grow older as it travels, and an entry nobody
 * refreshes ages out of every map: that is how a vanished gnode leaves. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/engine/engine_int.h"
#include "proto/err.h"

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
	bool unnamed; /* the receiver's message did not name it */
	bool taken;
};

/* Entries that go whole in an exchange besides our own: those the asker
 * did not name in its request (it lacks them), the newest we learned of
 * (a new gnode spreads at once), then some in turn (every entry's
 * contacts go round).  The others go as refreshes without contacts,
 * about 7 bytes each, so one datagram refreshes a map of a hundred
 * entries and an entry's age does not grow with the map. */
#define GOSSIP_WHOLE_NEW 3
#define GOSSIP_WHOLE_TURN 3

/* Appends `o` to out[*n] unless it would pass `max` entries or `room`
 * bytes; returns whether it went. */
static bool
put_entry(struct msg_outer *out, int *n, int max, size_t *room,
    const struct msg_outer *o)
{
	size_t len = msg_outer_len(o);

	if (*n >= max || len == 0 || len > *room)
		return false;
	out[(*n)++] = *o;
	*room -= len;
	return true;
}

/* The next entry to go whole: one the receiver did not name (it lacks
 * it), else the newest we learned of; NULL when none is left. */
static struct pick *
next_whole(struct engine *e, struct pick *picks, int total)
{
	struct pick *best = NULL;

	for (int i = 0; i < total; i++) {
		struct pick *p = &picks[i];
		if (p->taken)
			continue;
		if (best == NULL || p->unnamed > best->unnamed ||
		    (p->unnamed == best->unnamed &&
		    e->outer.e[p->level][p->idx].learned_at >
		    e->outer.e[best->level][best->idx].learned_at))
			best = p;
	}
	return best;
}

int
gossip_entries_for(struct engine *e, ovl_addr_t to, struct msg_outer *out,
    int max, size_t room, const struct msg_outer *heard, int n_heard,
    uint64_t now)
{
	int diff = ovl_diff_level(e->addr, to), n = 0, total = 0;
	int first = diff > 0 ? diff : 1;
	struct pick picks[MSG_OUTER_MAX];
	struct msg_outer o;
	size_t whole = 0;
	uint8_t named[ANDNA_LEVELS][256 / 8];

	memset(named, 0, sizeof(named));
	for (int i = 0; i < n_heard; i++)
		named[heard[i].level][heard[i].id / 8] |=
		    (uint8_t)(1u << (heard[i].id % 8));

	/* our own gnodes first: they are the freshest news we have */
	for (int level = first; level < ANDNA_LEVELS; level++) {
		own_entry(e, level, &o);
		put_entry(out, &n, max, &room, &o);
	}
	for (int level = first; level < ANDNA_LEVELS; level++) {
		for (int i = 0; i < e->outer.n[level]; i++) {
			const struct outer_entry *x = &e->outer.e[level][i];
			entry_out(x, level, now, &o);
			if (level == diff && x->id == ovl_id(to, diff)) {
				/* the receiver's own gnode always goes: our
				 * contacts there may be members it has not met
				 * (see meet_unknown) */
				put_entry(out, &n, max, &room, &o);
				continue;
			}
			whole += msg_outer_len(&o);
			bool unnamed = heard != NULL &&
			    (named[level][x->id / 8] & (1u << (x->id % 8))) == 0;
			picks[total++] = (struct pick){ level, i, unnamed, false };
		}
	}
	if (total == 0)
		return n;
	bool all_whole = whole <= room && n + total <= max;
	for (int k = 0; !all_whole; k++) {
		struct pick *p = next_whole(e, picks, total);
		if (p == NULL || (!p->unnamed && k >= GOSSIP_WHOLE_NEW))
			break;
		entry_out(&e->outer.e[p->level][p->idx], p->level, now, &o);
		if (!put_entry(out, &n, max, &room, &o))
			break;
		p->taken = true;
	}
	/* the rest in turn from where the last exchange stopped, so every
	 * entry goes out even when they do not all fit */
	int start = e->gossip_rotate % total, k, turn = 0;
	for (k = 0; k < total; k++) {
		struct pick *p = &picks[(start + k) % total];
		if (p->taken)
			continue;
		entry_out(&e->outer.e[p->level][p->idx], p->level, now, &o);
		if (!all_whole && turn++ >= GOSSIP_WHOLE_TURN)
			o.n_contacts = 0;
		if (!put_entry(out, &n, max, &room, &o))
			break;
	}
	e->gossip_rotate = (start + k) % total;
	return n;
}

/* Whether a contact really lies in the gnode an entry is about. */
static bool
contact_inside(ovl_addr_t contact, ovl_addr_t gnode, int level)
{
	return ovl_prefix(contact, level) == gnode;
}

static void check_send(struct engine *e, struct gnode_check *k,
    uint64_t now);
static void gossip_send(struct engine *e, const struct endpoint *to,
    ovl_addr_t to_addr, bool want_reply, uint64_t id,
    const struct msg *asked, uint64_t now);

#define CHECK_BURST 16         /* new gnodes one source may have us check
				* at once ... */
#define CHECK_REFILL_MS 10000  /* ... and one more every 10 s */
#define CHECK_TRIES 3          /* CHALLENGEs sent before a check fails */

bool
gossip_host_room(const struct engine *e, const struct endpoint *ep,
    int level, uint8_t id)
{
	/* a host with a node in our gnode vouches for our gnode */
	int n = ep_same_host(ep, &e->eps[0]);
	for (int i = 0; i < e->inner.n && n == 0; i++)
		n = e->inner.m[i].state <= MEMBER_SUSPECT &&
		    ep_same_host(ep, &e->inner.m[i].eps[0]);

	for (int l = 1; l < ANDNA_LEVELS; l++)
		for (int i = 0; i < e->outer.n[l]; i++) {
			const struct outer_entry *x = &e->outer.e[l][i];
			if (l == level && x->id == id)
				continue;
			for (int c = 0; c < x->n_contacts; c++)
				if (ep_same_host(ep, &x->contacts[c].ep)) {
					n++;
					break;
				}
		}
	return n < engine_host_limit(e, ep);
}

/* Takes a token from the bucket of the host at `src`; false when it has
 * none left. */
static bool
source_allows(struct gnode_source *table, const struct endpoint *src,
    uint64_t now)
{
	struct gnode_source *s = NULL, *stalest = &table[0];

	for (int i = 0; i < SOURCES_MAX && s == NULL; i++) {
		struct gnode_source *x = &table[i];
		if (x->host.family != 0 && ep_same_host(&x->host, src))
			s = x;
		else if (x->refilled < stalest->refilled)
			stalest = x;
	}
	if (s == NULL) {
		s = stalest;
		s->host = *src;
		s->tokens = CHECK_BURST;
		s->refilled = now;
	}
	uint64_t k = (now - s->refilled) / CHECK_REFILL_MS;
	if (k > 0) {
		s->tokens = s->tokens + k > CHECK_BURST ? CHECK_BURST :
		    s->tokens + (uint32_t)k;
		s->refilled += k * CHECK_REFILL_MS;
	}
	if (s->tokens == 0)
		return false;
	s->tokens--;
	return true;
}

void
gossip_check(struct engine *e, int level, uint8_t id, uint16_t children,
    const struct contact *c, int n, const struct endpoint *source,
    bool asked, bool hello, uint64_t now)
{
	struct gnode_check *free_slot = NULL;

	if (outer_find(&e->outer, level, id) != NULL ||
	    !gossip_host_room(e, &c->ep, level, id))
		return;
	for (int i = 0; i < CHECKS_MAX; i++) {
		struct gnode_check *k = &e->checks[i];
		if (k->req_id != 0) {
			if (k->level == level && k->id == id)
				return; /* already asked */
		} else if (free_slot == NULL) {
			free_slot = k;
		}
	}
	if (free_slot == NULL ||
	    (!asked && !source_allows(e->sources, source, now))) {
		e->stats.dropped[ENGINE_DROP_UNTRUSTED]++;
		return;
	}
	struct gnode_check *k = free_slot;
	k->req_id = engine_rand64(e);
	k->level = (uint8_t)level;
	k->id = id;
	k->children = children;
	k->hello = hello;
	k->tries = 0;
	k->contact = c[0];
	k->n_others = 0;
	for (int i = 1; i < n && k->n_others < OUTER_CONTACTS - 1; i++)
		k->others[k->n_others++] = c[i];
	e->io.random_cb(e->io.ctx, k->nonce, sizeof(k->nonce));
	check_send(e, k, now);
}

int
gossip_check_claim(struct engine *e, const struct contact *c,
    const struct claim_wait *w, uint64_t now)
{
	struct gnode_check *free_slot = NULL;

	if (c->addr == e->addr && ep_equal(&c->ep, &e->eps[0])) {
		/* our own claim: we know where we are */
		struct claim_wait mine = *w;
		struct claim_host self = { c->addr, c->ep };
		ns_claim_proven(e, &mine, &self, now);
		return 0;
	}
	for (int i = CHECKS_MAX; i < CHECKS_MAX + CLAIM_CHECKS_MAX; i++) {
		struct gnode_check *k = &e->checks[i];
		if (k->req_id == 0) {
			free_slot = free_slot != NULL ? free_slot : k;
			continue;
		}
		if (strcmp(k->claim.rec->name, w->rec->name) != 0 ||
		    memcmp(k->claim.rec->owner, w->rec->owner,
		    ANDNA_PK_LEN) != 0)
			continue;
		if (w->reply_id != 0) {
			/* the claimant asked again: answer that request */
			k->claim.route = w->route;
			k->claim.reply_id = w->reply_id;
		}
		return ANDNA_EEXIST;
	}
	/* paced per host challenged, so that no REGISTER makes us send
	 * more than a few packets to a third party */
	if (free_slot == NULL || !source_allows(e->claim_sources, &c->ep, now)) {
		e->stats.dropped[ENGINE_DROP_UNTRUSTED]++;
		return ANDNA_ELIMIT;
	}
	struct gnode_check *k = free_slot;
	memset(k, 0, sizeof(*k));
	k->req_id = engine_rand64(e);
	k->contact = *c;
	k->claim = *w;
	e->io.random_cb(e->io.ctx, k->nonce, sizeof(k->nonce));
	check_send(e, k, now);
	return 0;
}

void
gossip_checks_free(struct engine *e)
{
	for (int i = CHECKS_MAX; i < CHECKS_MAX + CLAIM_CHECKS_MAX; i++) {
		ns_claim_wait_free(&e->checks[i].claim);
		e->checks[i].req_id = 0;
	}
}

/* Sends (again) the CHALLENGE of check `k`. */
static void
check_send(struct engine *e, struct gnode_check *k, uint64_t now)
{
	struct msg m;

	k->tries++;
	k->deadline = now + e->cfg.hop_timeout_ms;
	msg_init(&m);
	m.type = MSG_CHALLENGE;
	m.id = k->req_id;
	m.u.challenge.addr = k->contact.addr;
	memcpy(m.u.challenge.nonce, k->nonce, MSG_NONCE_LEN);
	engine_send(e, &k->contact.ep, &m);
}

/* Sends the CHALLENGEs that went unanswered again, and ends the checks
 * that used up their tries. */
static void
checks_tick(struct engine *e, uint64_t now, uint64_t *wake)
{
	for (int i = 0; i < CHECKS_MAX + CLAIM_CHECKS_MAX; i++) {
		struct gnode_check *k = &e->checks[i];
		if (k->req_id == 0)
			continue;
		if (k->deadline <= now && k->tries < CHECK_TRIES) {
			check_send(e, k, now);
		} else if (k->deadline <= now) {
			struct claim_wait w = k->claim;
			k->req_id = 0;
			memset(&k->claim, 0, sizeof(k->claim));
			if (w.rec != NULL)
				ns_claim_unproven(e, &w, now);
		}
		if (k->req_id != 0 && k->deadline < *wake)
			*wake = k->deadline;
	}
}

/* A contact answered our challenge: its gnode enters the outer map, with
 * it as the contact at the endpoint it answered from. */
static void
check_passed(struct engine *e, struct gnode_check *k,
    const struct endpoint *from, uint64_t now)
{
	int level = k->level;
	struct contact c = { k->contact.addr, *from };

	k->req_id = 0;
	/* the gnode must still lie beside ours (we may have moved) */
	if (ovl_diff_level(e->addr, c.addr) != level ||
	    e->outer.n[level] + 1 >= 256 || !gossip_host_room(e, from, level, k->id))
		return;
	struct outer_entry *o = outer_find(&e->outer, level, k->id);
	if (o == NULL) {
		if ((o = outer_get(&e->outer, level, k->id)) == NULL)
			return;
		o->learned_at = now;
		o->heard_at = now;
		o->children = k->children;
		engine_maps_changed(e);
		/* what it knows that we do not (and the reverse) comes at
		 * once, not at the next random exchange */
		if (k->hello)
			gossip_send(e, from, c.addr, true, engine_rand64(e),
			    NULL, now);
	}
	for (int i = k->n_others - 1; i >= 0; i--)
		if (gossip_host_room(e, &k->others[i].ep, level, k->id))
			outer_add_contact(o, &k->others[i]);
	outer_add_contact(o, &c);
}

void
gossip_challenge_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now)
{
	if (m->type == MSG_CHALLENGE) {
		if ((e->hook != HOOK_DONE && e->hook != HOOK_JOINING) ||
		    m->u.challenge.addr != e->addr) {
			e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
			return;
		}
		struct msg r;
		msg_init(&r);
		r.type = MSG_CHALLENGE_REPLY;
		r.id = m->id;
		memcpy(r.u.challenge_reply.nonce, m->u.challenge.nonce,
		    MSG_NONCE_LEN);
		engine_send(e, from, &r);
		return;
	}
	for (int i = 0; i < CHECKS_MAX + CLAIM_CHECKS_MAX; i++) {
		struct gnode_check *k = &e->checks[i];
		if (k->req_id != m->id || k->req_id == 0)
			continue;
		/* a claimant answers from the very endpoint it named */
		bool where = k->claim.rec == NULL || ep_equal(from, &k->contact.ep);
		if (k->deadline > now && m->has_src && where &&
		    m->src == k->contact.addr && e->hook == HOOK_DONE &&
		    sodium_memcmp(k->nonce, m->u.challenge_reply.nonce,
		    MSG_NONCE_LEN) == 0) {
			if (k->claim.rec == NULL) {
				check_passed(e, k, from, now);
				return;
			}
			struct claim_wait w = k->claim;
			struct claim_host host = { k->contact.addr, *from };
			k->req_id = 0;
			memset(&k->claim, 0, sizeof(k->claim));
			ns_claim_proven(e, &w, &host, now);
			return;
		}
		break;
	}
	e->stats.dropped[ENGINE_DROP_UNTRUSTED]++;
}

/* News of one of our own gnodes may name nodes inside it that we do not
 * know, nor their gnodes: two groups that founded gnodes under one parent
 * at once, or the halves of a healed partition.  Meet them, so the maps
 * of both sides merge: members by a ping, other gnodes by a check (once
 * it passes, we gossip with them). */
static void
meet_unknown(struct engine *e, const struct msg_outer *x, ovl_addr_t gnode,
    const struct endpoint *source, bool asked, uint64_t now)
{
	for (int c = 0; c < x->n_contacts; c++) {
		ovl_addr_t a = x->contacts[c].addr;
		if (a == e->addr || !contact_inside(a, gnode, x->level))
			continue;
		int d = ovl_diff_level(e->addr, a);
		if (d == 0 && inner_find(&e->inner, ovl_id(a, 0)) == NULL)
			swim_introduce(e, &x->contacts[c].ep);
		else if (d > 0) {
			struct contact ct = { a, x->contacts[c].ep };
			gossip_check(e, d, ovl_id(a, d), 1, &ct, 1, source,
			    asked, true, now);
		}
	}
}

void
gossip_merge(struct engine *e, ovl_addr_t from, const struct endpoint *from_ep,
    bool asked, const struct msg_outer *in, int n, uint64_t now)
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
			meet_unknown(e, x, gnode, from_ep, asked, now);
			continue;
		}
		/* what can be true: no more children than a gnode holds, and
		 * news older by a second for every hop but the first */
		uint16_t children = x->children < e->cfg.gnode_size ?
		    x->children : (uint16_t)e->cfg.gnode_size;
		uint32_t age = x->age == 0 && !contact_inside(from, gnode, level) ?
		    1 : x->age;
		uint64_t age_ms = (uint64_t)age * 1000;
		if (age_ms >= e->cfg.outer_timeout_ms)
			continue;
		uint64_t heard = now > age_ms ? now - age_ms : 0;
		struct outer_entry *o = outer_find(&e->outer, level, x->id);
		if (o == NULL) {
			/* a gnode new to us enters the map once one of its
			 * contacts proves it holds an address inside it */
			struct contact ct[MSG_OUTER_CONTACTS_MAX];
			int k = 0;
			for (int c = 0; c < x->n_contacts; c++) {
				ct[k] = (struct contact){ x->contacts[c].addr,
					x->contacts[c].ep };
				k += contact_inside(ct[k].addr, gnode, level) &&
				    gossip_host_room(e, &ct[k].ep, level, x->id);
			}
			if (k > 0)
				gossip_check(e, level, x->id, children, ct, k,
				    from_ep, asked, false, now);
			continue;
		}
		if (heard <= o->heard_at)
			continue;
		if (o->children != children)
			engine_maps_changed(e);
		o->children = children;
		o->heard_at = heard;
		for (int c = x->n_contacts - 1; c >= 0; c--) {
			struct contact ct = { x->contacts[c].addr, x->contacts[c].ep };
			if (contact_inside(ct.addr, gnode, level) &&
			    gossip_host_room(e, &ct.ep, level, x->id))
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
			e->names_came_at = now; /* its names round elsewhere */
		}
	}
}

/* Sends our entries to `to`, asking for theirs when `want_reply`, or
 * answering its GOSSIP `asked`. */
static void
gossip_send(struct engine *e, const struct endpoint *to, ovl_addr_t to_addr,
    bool want_reply, uint64_t id, const struct msg *asked, uint64_t now)
{
	/* as many entries as fit one datagram, at 6 bytes or more each */
	struct msg_outer entries[(MSG_DGRAM_MAX - MSG_GOSSIP_HEAD) / 6];
	struct msg m;

	msg_init(&m);
	m.type = MSG_GOSSIP;
	m.id = id;
	m.u.gossip.want_reply = want_reply;
	m.u.gossip.outer = entries;
	m.u.gossip.n_outer = (uint16_t)gossip_entries_for(e, to_addr, entries,
	    (int)(sizeof(entries) / sizeof(entries[0])),
	    MSG_DGRAM_MAX - MSG_GOSSIP_HEAD,
	    asked != NULL ? asked->u.gossip.outer : NULL,
	    asked != NULL ? asked->u.gossip.n_outer : 0, now);
	engine_send(e, to, &m);
	m.u.gossip.outer = NULL; /* on our stack, not for msg_free */
}

void
gossip_hello(struct engine *e, const struct endpoint *to, uint64_t now)
{
	/* as if to ourselves: every level of ours, since we do not know
	 * where the receiver is */
	gossip_send(e, to, e->addr, true, engine_rand64(e), NULL, now);
}

void
gossip_push(struct engine *e, const struct endpoint *to, ovl_addr_t to_addr,
    uint64_t now)
{
	gossip_send(e, to, to_addr, false, engine_rand64(e), NULL, now);
}

void
gossip_tick(struct engine *e, uint64_t now, uint64_t *wake)
{
	checks_tick(e, now, wake);
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
				gossip_send(e, ep, addr, true, engine_rand64(e),
				    NULL, now);
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
		gossip_send(e, from, m->src, false, m->id, m, now);
	/* the members of our gnode (as our map authenticates them) pass on
	 * what a growing mesh founds at its pace: only other sources are
	 * paced, and every gnode still costs an address and a check */
	const struct member *mb = engine_sender(e, m);
	bool member = mb != NULL && mb->state <= MEMBER_SUSPECT;
	gossip_merge(e, m->src, from, member, m->u.gossip.outer,
	    m->u.gossip.n_outer, now);
}
