/* Routing a message to any 32-bit target (DESIGN.md section 2): at the
 * highest level where our address differs from the rounded target, hand it
 * to a live contact of that gnode; each hop repeats the choice.  Every hop
 * acknowledges to the one before it, which tries another contact when the
 * ack does not come; the hop limit bounds the path, and a node drops a
 * request it has already passed on. */
#include <stdlib.h>
#include <string.h>

#include "node/engine/engine_int.h"

const struct round_view *
route_view(struct engine *e)
{
	struct round_view *v = &e->view;

	if (e->view_built == e->view_version)
		return v;
	memset(v, 0, sizeof(*v));
	v->self = e->addr;
	for (int level = 1; level < ANDNA_LEVELS; level++) {
		uint8_t own = ovl_id(e->addr, level);
		idset_add(&v->ids[level], own);
		v->children[level][own] = engine_own_children(e, level);
		for (int i = 0; i < e->outer.n[level]; i++) {
			const struct outer_entry *x = &e->outer.e[level][i];
			idset_add(&v->ids[level], x->id);
			v->children[level][x->id] = x->children;
		}
	}
	e->view_built = e->view_version;
	return v;
}

static bool
tried_has(const struct forward *f, ovl_addr_t a)
{
	for (int i = 0; i < f->tries; i++)
		if (f->tried[i] == a)
			return true;
	return false;
}

/* A live member of our gnode that `f` has not tried, nor came from; or
 * NULL.  When none of our contacts of a gnode answers, a member's contacts
 * (learnt apart from ours) likely still do. */
static const struct member *
delegate(struct engine *e, const struct forward *f)
{
	const struct member *pick = NULL;
	int n = 0;

	for (int i = 0; i < e->inner.n; i++) {
		const struct member *mb = &e->inner.m[i];
		ovl_addr_t a = ovl_prefix(e->addr, 1) | mb->id;
		if (mb->state != MEMBER_ALIVE || a == f->prev || tried_has(f, a))
			continue;
		if (engine_rand_below(e, (uint32_t)++n) == 0)
			pick = mb; /* each candidate with chance 1/n */
	}
	return pick;
}

/* Picks the next hop for `r`, avoiding the hops `f` already tried: a
 * contact of the gnode the target rounds to, else a member of ours to
 * route it for us.  Returns 1 (forward to *via at *to), 0 (handle here)
 * or -1 (no route). */
static int
next_hop(struct engine *e, const struct msg_route *r, const struct forward *f,
    ovl_addr_t *via, struct endpoint *to)
{
	struct round_exclude ex = { .n = r->n_exclude };
	ovl_addr_t prefix;

	memcpy(ex.prefix, r->exclude, (size_t)r->n_exclude * sizeof(ex.prefix[0]));
	int level = round_view_target(route_view(e), r->target, &ex, &prefix);
	if (level < 0)
		return -1;
	if (level == 0) {
		/* our gnode: the live member nearest the target's id gets it
		 * (the exact node if it exists), so that requests for one
		 * name meet at one member, and votes that ask at random
		 * places inside a gnode reach different members */
		if (ovl_prefix(r->target, 1) != ovl_prefix(e->addr, 1))
			return 0;
		int want = ovl_id(r->target, 0);
		int best = ovl_id(e->addr, 0);
		const struct member *pick = NULL;
		for (int i = 0; i < e->inner.n; i++) {
			const struct member *mb = &e->inner.m[i];
			int d = abs(mb->id - want), bd = abs(best - want);
			if (mb->state != MEMBER_ALIVE || d > bd ||
			    (d == bd && mb->id > best) ||
			    tried_has(f, ovl_prefix(e->addr, 1) | mb->id))
				continue;
			best = mb->id;
			pick = mb;
		}
		if (pick == NULL)
			return 0;
		*via = ovl_prefix(e->addr, 1) | pick->id;
		*to = pick->eps[0];
		return 1;
	}
	const struct outer_entry *x = outer_find(&e->outer, level,
	    ovl_id(prefix, level));
	int n = 0;
	const struct contact *cand[OUTER_CONTACTS];
	for (int i = 0; x != NULL && i < x->n_contacts; i++)
		if (!tried_has(f, x->contacts[i].addr))
			cand[n++] = &x->contacts[i];
	if (n == 0) {
		const struct member *mb = delegate(e, f);
		if (mb == NULL)
			return -1;
		*via = ovl_prefix(e->addr, 1) | mb->id;
		*to = mb->eps[0];
		return 1;
	}
	const struct contact *c = cand[engine_rand_below(e, (uint32_t)n)];
	*via = c->addr;
	*to = c->ep;
	return 1;
}

/* Remembers a routed request; returns true if it was seen before. */
static bool
seen_before(struct engine *e, ovl_addr_t origin, uint64_t id)
{
	for (int i = 0; i < SEEN_MAX; i++)
		if (e->seen[i].req_id == id && e->seen[i].origin == origin)
			return true;
	e->seen[e->seen_pos].origin = origin;
	e->seen[e->seen_pos].req_id = id;
	e->seen_pos = (e->seen_pos + 1) % SEEN_MAX;
	return false;
}

static void
forward_send(struct engine *e, struct forward *f, ovl_addr_t via,
    const struct endpoint *to, uint64_t now)
{
	f->tried[f->tries++] = via;
	f->via = via;
	f->deadline = now + e->cfg.hop_timeout_ms;
	engine_send_raw(e, to, f->buf, f->len);
}

/* Hands `m` on towards its target, or handles it here. */
static void
route_deliver(struct engine *e, struct msg *m, uint64_t now)
{
	struct msg_route *r = msg_route_of(m);
	struct forward probe_f = { .prev = m->has_src ? m->src : 0 };
	ovl_addr_t via;
	struct endpoint to;

	int how = next_hop(e, r, &probe_f, &via, &to);
	if (how == 0) {
		engine_handle_routed(e, m, e->cfg.hop_limit - m->hops, now);
		return;
	}
	if (how < 0 || m->hops == 0) {
		e->stats.dropped[how < 0 ? ENGINE_DROP_NOROUTE : ENGINE_DROP_HOPS]++;
		return;
	}
	struct forward *nf = engine_grow(e->fwd, e->n_fwd, &e->cap_fwd,
	    sizeof(*nf));
	if (nf == NULL)
		return;
	e->fwd = nf;
	struct forward *f = &e->fwd[e->n_fwd];
	memset(f, 0, sizeof(*f));
	f->req_id = m->id;
	f->prev = probe_f.prev;
	m->hops--;
	m->has_src = true;
	m->src = e->addr;
	f->buf = engine_encode(e, m, &f->len);
	if (f->buf == NULL)
		return;
	f->route = *r;
	e->n_fwd++;
	e->stats.forwarded++;
	forward_send(e, f, via, &to, now);
}

/* Remembers where the reply to request `id` goes back to, for as long as
 * its origin waits for it. */
static void
back_add(struct engine *e, uint64_t id, const struct endpoint *from,
    uint64_t now)
{
	struct back *nb = engine_grow(e->back, e->n_back, &e->cap_back,
	    sizeof(*nb));
	if (nb == NULL)
		return;
	e->back = nb;
	e->back[e->n_back++] = (struct back){ id, *from,
		now + 2 * e->cfg.request_timeout_ms };
}

bool
route_back_take(struct engine *e, uint64_t req_id, struct endpoint *ep)
{
	for (int i = 0; i < e->n_back; i++) {
		if (e->back[i].req_id != req_id)
			continue;
		*ep = e->back[i].ep;
		e->back[i] = e->back[--e->n_back];
		return true;
	}
	return false;
}

void
route_send(struct engine *e, struct msg *m, ovl_addr_t target, uint64_t now)
{
	struct msg_route *r = msg_route_of(m);

	r->target = target;
	r->origin = e->addr;
	m->hops = (uint8_t)e->cfg.hop_limit;
	seen_before(e, e->addr, m->id);
	route_deliver(e, m, now);
}

void
route_input(struct engine *e, const struct endpoint *from, struct msg *m,
    uint64_t now)
{
	struct msg ack;

	if (e->hook != HOOK_DONE || !m->has_src) {
		e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
		return;
	}
	msg_init(&ack);
	ack.type = MSG_ROUTE_ACK;
	ack.id = m->id;
	engine_send(e, from, &ack);
	if (seen_before(e, msg_route_of(m)->origin, m->id))
		return;
	back_add(e, m->id, from, now);
	route_deliver(e, m, now);
}

void
route_reply(struct engine *e, const struct endpoint *to, uint64_t req_id,
    const uint8_t *buf, size_t len, uint64_t now)
{
	engine_send_raw(e, to, buf, len);
	struct reply_fwd *nr = engine_grow(e->rfwd, e->n_rfwd, &e->cap_rfwd,
	    sizeof(*nr));
	if (nr == NULL)
		return;
	e->rfwd = nr;
	uint8_t *copy = malloc(len);
	if (copy == NULL)
		return;
	memcpy(copy, buf, len);
	e->rfwd[e->n_rfwd++] = (struct reply_fwd){ req_id, *to, 0, 1,
		now + e->cfg.hop_timeout_ms, len, copy };
}

void
route_ack_input(struct engine *e, const struct endpoint *from,
    const struct msg *m)
{
	for (int i = 0; i < e->n_fwd; i++) {
		struct forward *f = &e->fwd[i];
		if (f->req_id != m->id || !m->has_src || f->via != m->src)
			continue;
		free(f->buf);
		e->fwd[i] = e->fwd[--e->n_fwd];
		return;
	}
	for (int i = 0; i < e->n_rfwd; i++) {
		struct reply_fwd *r = &e->rfwd[i];
		if (r->req_id != m->id || !ep_equal(&r->ep, from))
			continue;
		free(r->buf);
		e->rfwd[i] = e->rfwd[--e->n_rfwd];
		return;
	}
	e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
}

/* No contact of a sibling gnode answered: leave that gnode out and route
 * again, so the request reaches the next gnode in rounding order (for a
 * name, its backup gnode).  Only a level-1 sibling can be left out, as only
 * its whole prefix is known here.  Returns true if the request went on. */
static bool
route_around(struct engine *e, const struct forward *f, uint64_t now)
{
	struct round_exclude ex = { .n = f->route.n_exclude };
	struct msg m;
	ovl_addr_t prefix;

	memcpy(ex.prefix, f->route.exclude, (size_t)ex.n * sizeof(ex.prefix[0]));
	if (ex.n >= MSG_EXCLUDE_MAX ||
	    round_view_target(route_view(e), f->route.target, &ex, &prefix) != 1 ||
	    msg_decode_sealed(e->cfg.seal, f->buf, f->len, &m) != 0)
		return false;
	struct msg_route *r = msg_route_of(&m);
	r->exclude[r->n_exclude++] = prefix;
	m.hops++; /* route_deliver takes one hop off again */
	route_deliver(e, &m, now);
	msg_free(&m);
	return true;
}

void
route_tick(struct engine *e, uint64_t now, uint64_t *wake)
{
	for (int i = 0; i < e->n_back;) {
		if (e->back[i].deadline <= now)
			e->back[i] = e->back[--e->n_back];
		else
			i++;
	}
	for (int i = 0; i < e->n_rfwd;) {
		struct reply_fwd *r = &e->rfwd[i];
		if (r->deadline > now) {
			if (r->deadline < *wake)
				*wake = r->deadline;
			i++;
		} else if (r->tries < FORWARD_TRIES) {
			r->tries++;
			r->deadline = now + e->cfg.hop_timeout_ms;
			engine_send_raw(e, &r->ep, r->buf, r->len);
			i++;
		} else {
			free(r->buf);
			e->rfwd[i] = e->rfwd[--e->n_rfwd];
		}
	}
	for (int i = 0; i < e->n_fwd;) {
		struct forward *f = &e->fwd[i];
		if (f->deadline > now) {
			if (f->deadline < *wake)
				*wake = f->deadline;
			i++;
			continue;
		}
		/* a contact that did not ack goes: live ones come back with
		 * the next news of their gnode */
		int level = ovl_diff_level(e->addr, f->via);
		struct outer_entry *x = level > 0 ? outer_find(&e->outer, level,
		    ovl_id(f->via, level)) : NULL;
		if (x != NULL)
			outer_drop_contact(x, f->via);
		ovl_addr_t via;
		struct endpoint to;
		if (f->tries < FORWARD_TRIES &&
		    next_hop(e, &f->route, f, &via, &to) == 1) {
			e->stats.hop_retries++;
			forward_send(e, f, via, &to, now);
			if (f->deadline < *wake)
				*wake = f->deadline;
			i++;
			continue;
		}
		struct forward dead = *f;
		e->fwd[i] = e->fwd[--e->n_fwd];
		if (!route_around(e, &dead, now))
			e->stats.dropped[ENGINE_DROP_NOROUTE]++;
		free(dead.buf);
	}
}
