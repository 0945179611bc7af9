/* Liveness of the members of our level-1 gnode, as SWIM does it: each
 * protocol period we ping one member (in a shuffled round), ask others to
 * ping it for us when it is silent, suspect it when nobody reached it, and
 * declare it dead when the suspicion is not refuted in time.  Membership
 * news rides on pings and acks; only a member raises its own incarnation,
 * which is how it refutes a suspicion. */
#include <string.h>

#include "node/engine/engine_int.h"

/* How many times a piece of news is passed on: about 3 log2(members). */
static uint8_t
news_rounds(const struct engine *e)
{
	int n = e->inner.n + 1, r = 1;

	while (n > 1) {
		n >>= 1;
		r++;
	}
	return (uint8_t)(3 * r);
}

void
swim_news_add(struct engine *e, uint8_t id)
{
	for (int i = 0; i < e->n_news; i++) {
		if (e->news[i].id == id) {
			e->news[i].left = news_rounds(e);
			return;
		}
	}
	if (e->n_news < (int)(sizeof(e->news) / sizeof(e->news[0])))
		e->news[e->n_news++] = (struct swim_news){ id, news_rounds(e) };
}

/* Fills one update about member `id` (or about us when it is ours). */
static void
update_fill(struct engine *e, uint8_t id, struct msg_update *u)
{
	memset(u, 0, sizeof(*u));
	u->addr = ovl_prefix(e->addr, 1) | id;
	if (id == ovl_id(e->addr, 0)) {
		u->state = MSG_STATE_ALIVE;
		u->incarnation = e->inc;
		memcpy(u->key, e->key.pk, ANDNA_PK_LEN);
		u->n_eps = (uint8_t)e->n_eps;
		memcpy(u->eps, e->eps, (size_t)e->n_eps * sizeof(u->eps[0]));
		return;
	}
	const struct member *mb = inner_find(&e->inner, id);
	u->state = mb->state;
	u->incarnation = mb->inc;
	memcpy(u->key, mb->pk, ANDNA_PK_LEN);
	u->n_eps = mb->n_eps;
	memcpy(u->eps, mb->eps, (size_t)mb->n_eps * sizeof(u->eps[0]));
}

/* Piggybacks news on an outgoing ping or ack: news about us first (so a
 * member that does not know us learns our key and incarnation), then the
 * pieces passed on least often. */
static void
news_attach(struct engine *e, struct msg_updates *ups)
{
	update_fill(e, ovl_id(e->addr, 0), &ups->v[0]);
	ups->n = 1;
	for (int i = 0; i < e->n_news && ups->n < MSG_UPDATES_MAX;) {
		struct swim_news *nw = &e->news[i];
		if (nw->id != ovl_id(e->addr, 0) &&
		    inner_find(&e->inner, nw->id) == NULL) {
			e->news[i] = e->news[--e->n_news];
			continue;
		}
		if (nw->id != ovl_id(e->addr, 0))
			update_fill(e, nw->id, &ups->v[ups->n++]);
		if (--nw->left == 0)
			e->news[i] = e->news[--e->n_news];
		else
			i++;
	}
}

static void
send_swim(struct engine *e, const struct endpoint *to, uint8_t type,
    uint64_t id)
{
	struct msg m;

	msg_init(&m);
	m.type = type;
	m.id = id;
	news_attach(e, &m.u.updates);
	engine_send(e, to, &m);
}

/* Sets a member's state, telling the gnode when it changed. */
static void
member_set(struct engine *e, struct member *mb, uint8_t state, uint32_t inc,
    uint64_t now)
{
	bool changed = mb->state != state || mb->inc != inc;
	bool live_changed = (mb->state <= MEMBER_SUSPECT) !=
	    (state <= MEMBER_SUSPECT);

	mb->state = state;
	mb->inc = inc;
	if (!changed)
		return;
	mb->state_at = now;
	swim_news_add(e, mb->id);
	if (live_changed) {
		engine_maps_changed(e);
		engine_log(e, ENGINE_LOG_INFO, "member %u.%u.%u.%u is %s",
		    ovl_id(e->addr, 3), ovl_id(e->addr, 2), ovl_id(e->addr, 1),
		    mb->id, state <= MEMBER_SUSPECT ? "back" : "gone");
	}
}

/* Remembers a node at member `id`'s address with another key, named by
 * a member or speaking itself: the other half of a gnode founded twice,
 * found when the halves meet. */
static void
rival_note(struct engine *e, uint8_t id, const uint8_t *pk,
    const struct endpoint *ep, uint64_t now)
{
	struct swim_rival *r = &e->rivals[0];

	for (int i = 0; i < SWIM_RIVALS; i++) {
		struct swim_rival *x = &e->rivals[i];
		if (x->heard_at != 0 && x->id == id) {
			r = x;
			break;
		}
		if (x->heard_at < r->heard_at)
			r = x; /* a free slot, or the one named longest ago */
	}
	if (r->heard_at == 0 || r->id != id || !ep_equal(&r->ep, ep) ||
	    memcmp(r->pk, pk, ANDNA_PK_LEN) != 0) {
		memset(r, 0, sizeof(*r));
		r->id = id;
		memcpy(r->pk, pk, ANDNA_PK_LEN);
		r->ep = *ep;
	}
	r->heard_at = now;
}

/* Whether rival `r` still stands: named lately, and another key than the
 * live member we hold at its address. */
static bool
rival_stands(const struct engine *e, const struct swim_rival *r,
    uint64_t now)
{
	if (r->heard_at == 0 || now - r->heard_at >= e->cfg.outer_timeout_ms)
		return false;
	const struct member *mb = inner_find(&e->inner, r->id);
	return mb != NULL && mb->state <= MEMBER_SUSPECT &&
	    memcmp(mb->pk, r->pk, ANDNA_PK_LEN) != 0;
}

/* Votes of rivals on our address: one per host, and none from a host
 * that holds its share of our members, so that they cost addresses as
 * members do. */
static int
rival_votes(const struct engine *e, uint64_t now)
{
	int n = 0;

	for (int i = 0; i < SWIM_RIVALS; i++) {
		const struct swim_rival *r = &e->rivals[i];
		bool skip = !r->votes || !rival_stands(e, r, now) ||
		    !swim_host_room(e, &r->ep, r->id);
		for (int j = 0; j < i && !skip; j++)
			skip = e->rivals[j].votes &&
			    ep_same_host(&e->rivals[j].ep, &r->ep);
		n += !skip;
	}
	return n;
}

/* Another key holds our address in the maps of some: `from_id`, a member
 * of ours (or with `rival`, the node at a contested member's address),
 * says so.  The gnode's admission record is its members' maps: we give
 * the address up only once most of the gnode holds the other key there
 * (half of it, if that key is the lower), never on one node's word.
 * Where a gnode was founded twice, its halves may hold two nodes at
 * several addresses; each of those nodes has a vote, or each half of an
 * even split would count itself the larger (we hold only one node at each
 * such address, and it is on our side). */
static void
address_conflict(struct engine *e, uint8_t from_id, bool rival,
    const uint8_t *pk, uint64_t now)
{
	if (memcmp(pk, e->conflict_key, ANDNA_PK_LEN) != 0) {
		memcpy(e->conflict_key, pk, ANDNA_PK_LEN);
		memset(e->conflict_from, 0, sizeof(e->conflict_from));
		for (int i = 0; i < SWIM_RIVALS; i++)
			e->rivals[i].votes = false;
	}
	if (!rival)
		e->conflict_from[from_id / 8] |= (uint8_t)(1u << (from_id % 8));
	int n = 0;
	for (int i = 0; i < e->inner.n; i++) {
		uint8_t id = e->inner.m[i].id;
		n += e->inner.m[i].state <= MEMBER_SUSPECT &&
		    (e->conflict_from[id / 8] & (1u << (id % 8))) != 0;
	}
	int votes = rival_votes(e, now);
	int live = inner_live(&e->inner) + votes;
	n += votes;
	/* an even split goes to the lower key */
	if (2 * n > live ||
	    (2 * n == live && memcmp(pk, e->key.pk, ANDNA_PK_LEN) < 0)) {
		engine_log(e, ENGINE_LOG_WARN,
		    "most members of our gnode hold our overlay address with "
		    "another node key; taking a new address");
		/* those that hold us let the address go at once */
		swim_leave(e);
		hook_restart(e, now);
		return;
	}
	swim_news_add(e, ovl_id(e->addr, 0));
	for (int i = 0; i < SWIM_RIVALS; i++) {
		struct swim_rival *r = &e->rivals[i];
		if (rival_stands(e, r, now) &&
		    now - r->asked_at >= e->cfg.ping_interval_ms) {
			r->asked_at = now;
			swim_introduce(e, &r->ep);
		}
	}
}

/* Adds to `ups` whom we hold at the other contested addresses we know
 * of: a node at a contested address that we do not hold is on the other
 * side of a gnode founded twice, and learns there the nodes of its own
 * side that it cannot know otherwise, and that have a vote on its address
 * (see address_conflict()). */
static void
rivals_held(struct engine *e, uint8_t except, struct msg_updates *ups,
    uint64_t now)
{
	for (int i = 0; i < SWIM_RIVALS && ups->n < MSG_UPDATES_MAX; i++) {
		const struct swim_rival *r = &e->rivals[i];
		if (r->id != except && rival_stands(e, r, now))
			update_fill(e, r->id, &ups->v[ups->n++]);
	}
}

/* A rival we asked (see address_conflict()) says whom it holds at our
 * address; true when its vote made us take a new address. */
static bool
rival_heard(struct engine *e, const struct msg *m, const struct endpoint *from,
    uint64_t now)
{
	if (m->type != MSG_ACK)
		return false;
	for (int i = 0; i < SWIM_RIVALS; i++) {
		struct swim_rival *r = &e->rivals[i];
		if (r->heard_at == 0 || r->id != ovl_id(m->src, 0) ||
		    !ep_equal(&r->ep, from) ||
		    memcmp(r->pk, m->key, ANDNA_PK_LEN) != 0)
			continue;
		for (int k = 0; k < m->u.updates.n; k++) {
			const struct msg_update *u = &m->u.updates.v[k];
			if (u->addr != e->addr || u->state > MSG_STATE_SUSPECT ||
			    memcmp(u->key, e->conflict_key, ANDNA_PK_LEN) != 0)
				continue;
			r->votes = true;
			address_conflict(e, r->id, true, u->key, now);
			return e->hook != HOOK_DONE;
		}
	}
	return false;
}

/* Whether news (inc, state) overrides what we hold, by SWIM's precedence:
 * a higher incarnation wins; at equal incarnation dead (or left) beats
 * suspect beats alive. */
static bool
news_wins(uint32_t inc, uint8_t state, const struct member *mb)
{
	int rank = state >= MEMBER_DEAD ? 2 : state;
	int have = mb->state >= MEMBER_DEAD ? 2 : mb->state;

	return inc > mb->inc || (inc == mb->inc && rank > have);
}

bool
swim_host_room(const struct engine *e, const struct endpoint *ep,
    uint8_t except)
{
	int n = ep_same_host(ep, &e->eps[0]);

	for (int i = 0; i < e->inner.n; i++) {
		const struct member *mb = &e->inner.m[i];
		if (mb->id != except && mb->state <= MEMBER_SUSPECT &&
		    mb->n_eps > 0 && ep_same_host(ep, &mb->eps[0]))
			n++;
	}
	return n < engine_host_limit(e, ep);
}

/* Applies one member update.  `own` is the member's own word (the update
 * is about the node that signed the message); otherwise a member that our
 * inner map authenticates relays it.  Only a member's own word raises its
 * incarnation, and a member we hold keeps its address against any other
 * key while it lives: the gnode admitted it first. */
static void
update_apply(struct engine *e, const struct msg_update *u, bool own,
    uint8_t relay_id, uint64_t now)
{
	if (ovl_prefix(u->addr, 1) != ovl_prefix(e->addr, 1))
		return;
	if (u->addr == e->addr) {
		if (memcmp(u->key, e->key.pk, ANDNA_PK_LEN) != 0) {
			if (!own && u->state <= MSG_STATE_SUSPECT)
				address_conflict(e, relay_id, false, u->key, now);
		} else if (u->state != MSG_STATE_ALIVE && u->incarnation == e->inc &&
		    e->inc < UINT32_MAX) {
			/* refute, to every member at once: in a burst of joins
			 * the news queue would take longer than the suspicion
			 * timeout to carry it */
			e->inc++;
			swim_news_add(e, ovl_id(e->addr, 0));
			swim_tell_all(e, ovl_id(e->addr, 0));
		}
		return;
	}
	struct member *mb = inner_find(&e->inner, ovl_id(u->addr, 0));
	if (mb != NULL && memcmp(mb->pk, u->key, ANDNA_PK_LEN) != 0) {
		if (mb->state <= MEMBER_SUSPECT || u->state > MSG_STATE_SUSPECT) {
			swim_news_add(e, mb->id); /* the holder's news goes on */
			if (mb->state <= MEMBER_SUSPECT &&
			    u->state <= MSG_STATE_SUSPECT && u->n_eps > 0)
				rival_note(e, mb->id, u->key, &u->eps[0], now);
			return;
		}
		inner_remove(&e->inner, mb->id);
		mb = NULL;
	}
	if (mb == NULL) {
		/* a node of our prefix is counted even where joins that
		 * raced overfilled the gnode (or founded it twice, apart),
		 * so that every member counts the same; what bounds it is
		 * the addresses it costs */
		if (u->state > MSG_STATE_SUSPECT ||
		    !swim_host_room(e, &u->eps[0], ovl_id(u->addr, 0)))
			return;
		mb = inner_get(&e->inner, ovl_id(u->addr, 0));
		if (mb == NULL)
			return;
		memcpy(mb->pk, u->key, ANDNA_PK_LEN);
		mb->state = u->state;
		mb->inc = u->incarnation;
		mb->state_at = now;
		swim_news_add(e, mb->id);
		engine_maps_changed(e);
	} else if (!own && u->incarnation > mb->inc) {
		/* news of a newer incarnation counts only from the member
		 * itself: ask it (at most once a protocol period), and its
		 * ack says */
		if (now - mb->asked_at >= e->cfg.ping_interval_ms) {
			mb->asked_at = now;
			swim_introduce(e, &mb->eps[0]);
		}
		return;
	} else if (news_wins(u->incarnation, u->state, mb)) {
		member_set(e, mb, u->state, u->incarnation, now);
	} else {
		return;
	}
	mb->n_eps = u->n_eps < MEMBER_EPS ? u->n_eps : MEMBER_EPS;
	memcpy(mb->eps, u->eps, mb->n_eps * sizeof(mb->eps[0]));
}

void
swim_member_seen(struct engine *e, ovl_addr_t addr, const uint8_t *pk,
    uint32_t inc, const struct endpoint *eps, int n_eps, uint64_t now)
{
	struct msg_update u;

	memset(&u, 0, sizeof(u));
	u.state = MSG_STATE_ALIVE;
	u.addr = addr;
	u.incarnation = inc;
	memcpy(u.key, pk, ANDNA_PK_LEN);
	u.n_eps = (uint8_t)(n_eps < MSG_EPS_MAX ? n_eps : MSG_EPS_MAX);
	memcpy(u.eps, eps, u.n_eps * sizeof(u.eps[0]));
	update_apply(e, &u, true, 0, now);
}

void
swim_introduce(struct engine *e, const struct endpoint *to)
{
	send_swim(e, to, MSG_PING, engine_rand64(e));
}

/* Starts the next probe of the protocol period. */
static void
probe_next(struct engine *e, uint64_t now)
{
	if (e->probe_pos >= e->probe_n) {
		e->probe_n = 0;
		for (int i = 0; i < e->inner.n; i++)
			if (e->inner.m[i].state <= MEMBER_SUSPECT)
				e->probe_order[e->probe_n++] = e->inner.m[i].id;
		for (int i = e->probe_n - 1; i > 0; i--) {
			int j = (int)engine_rand_below(e, (uint32_t)i + 1);
			uint8_t t = e->probe_order[i];
			e->probe_order[i] = e->probe_order[j];
			e->probe_order[j] = t;
		}
		e->probe_pos = 0;
	}
	while (e->probe_pos < e->probe_n) {
		struct member *mb = inner_find(&e->inner,
		    e->probe_order[e->probe_pos++]);
		if (mb == NULL || mb->state > MEMBER_SUSPECT)
			continue;
		e->probing = mb->id;
		e->probe_active = true;
		e->probe_indirect = false;
		e->probe_req = engine_rand64(e);
		e->probe_deadline = now + e->cfg.ping_timeout_ms;
		send_swim(e, &mb->eps[0], MSG_PING, e->probe_req);
		return;
	}
}

/* Asks up to SWIM_INDIRECT other members to ping the silent one. */
static void
probe_indirect(struct engine *e, struct member *target, uint64_t now)
{
	int live = 0;

	for (int i = 0; i < e->inner.n; i++)
		live += e->inner.m[i].state == MEMBER_ALIVE &&
		    e->inner.m[i].id != target->id;
	for (int k = 0; k < SWIM_INDIRECT && live > 0; k++) {
		uint32_t pick = engine_rand_below(e, (uint32_t)live);
		for (int i = 0; i < e->inner.n; i++) {
			struct member *mb = &e->inner.m[i];
			if (mb->state != MEMBER_ALIVE || mb->id == target->id)
				continue;
			if (pick-- != 0)
				continue;
			struct msg m;
			msg_init(&m);
			m.type = MSG_PING_REQ;
			m.id = e->probe_req;
			m.u.ping_req.target = ovl_prefix(e->addr, 1) | target->id;
			m.u.ping_req.target_ep = target->eps[0];
			news_attach(e, &m.u.ping_req.updates);
			engine_send(e, &mb->eps[0], &m);
			break;
		}
	}
	e->probe_indirect = true;
	e->probe_deadline = now + (e->cfg.ping_interval_ms - e->cfg.ping_timeout_ms);
}

void
swim_tick(struct engine *e, uint64_t now, uint64_t *wake)
{
	if (e->probe_active && now >= e->probe_deadline) {
		struct member *mb = inner_find(&e->inner, e->probing);
		if (mb == NULL || mb->state > MEMBER_SUSPECT) {
			e->probe_active = false;
		} else if (!e->probe_indirect) {
			probe_indirect(e, mb, now);
		} else {
			e->probe_active = false;
			if (mb->state == MEMBER_ALIVE)
				member_set(e, mb, MEMBER_SUSPECT, mb->inc, now);
		}
	}
	if (now >= e->next_ping && !e->probe_active) {
		probe_next(e, now);
		e->next_ping = now + e->cfg.ping_interval_ms;
	}
	if (e->probe_active && e->probe_deadline < *wake)
		*wake = e->probe_deadline;
	if (e->next_ping < *wake)
		*wake = e->next_ping;
	for (int i = 0; i < (int)(sizeof(e->relays) / sizeof(e->relays[0])); i++)
		if (e->relays[i].deadline != 0 && e->relays[i].deadline <= now)
			e->relays[i].deadline = 0;
}

void
swim_sweep(struct engine *e, uint64_t now)
{
	for (int i = 0; i < e->inner.n;) {
		struct member *mb = &e->inner.m[i];
		if (mb->state == MEMBER_SUSPECT &&
		    now - mb->state_at >= e->cfg.suspect_ms) {
			member_set(e, mb, MEMBER_DEAD, mb->inc, now);
		} else if (mb->state >= MEMBER_DEAD &&
		    now - mb->state_at >= e->cfg.outer_timeout_ms) {
			/* the tombstone has kept stale news out long enough */
			inner_remove(&e->inner, mb->id);
			continue;
		}
		i++;
	}
}

bool
swim_overfull(struct engine *e, uint64_t now)
{
	int lower = 0;
	uint8_t self = ovl_id(e->addr, 0);

	for (int i = 0; i < e->inner.n; i++)
		lower += e->inner.m[i].state == MEMBER_ALIVE &&
		    e->inner.m[i].id < self;
	if (inner_live(&e->inner) + 1 <= e->cfg.gnode_size ||
	    lower < e->cfg.gnode_size) {
		e->excess_since = 0;
		return false;
	}
	/* members see joins at different times: act once it lasted */
	if (e->excess_since == 0)
		e->excess_since = now;
	if (now - e->excess_since < e->cfg.suspect_ms)
		return false;
	engine_log(e, ENGINE_LOG_INFO, "our gnode holds %d nodes, more than the "
	    "%d it may (nodes joined it at once): leaving it to join another",
	    inner_live(&e->inner) + 1, e->cfg.gnode_size);
	e->excess_since = 0;
	return true;
}

/* Whether update `u` of `m` is its sender's word about itself. */
static bool
own_news(const struct msg *m, const struct msg_update *u)
{
	return u->addr == m->src && memcmp(u->key, m->key, ANDNA_PK_LEN) == 0;
}

/* Applies update `u` of message `m` (from `from`) if its sender may say
 * it: about itself, or as a `member` our map authenticates. */
static void
news_take(struct engine *e, const struct msg *m, const struct endpoint *from,
    bool member, const struct msg_update *u, uint64_t now)
{
	struct msg_update own = *u;

	if (!own_news(m, u)) {
		if (member)
			update_apply(e, u, false, ovl_id(m->src, 0), now);
		return;
	}
	own.eps[0] = *from; /* where it is, not where it says */
	update_apply(e, &own, true, ovl_id(m->src, 0), now);
}

/* Whether an ack with our probe's id really vouches for the member we
 * probe: it comes from that member (same address and key: a node that
 * moved to another address still answers at its old endpoint), or from a
 * member we asked to ping it, which checked the same. */
static bool
probe_answered(struct engine *e, const struct msg *m)
{
	const struct member *mb = inner_find(&e->inner, e->probing);

	if (mb == NULL)
		return false;
	if (m->src == (ovl_prefix(e->addr, 1) | mb->id))
		return memcmp(m->key, mb->pk, ANDNA_PK_LEN) == 0;
	return e->probe_indirect;
}

/* Passes a relayed ack back to the member that asked us to ping. */
static bool
relay_ack(struct engine *e, const struct msg *m)
{
	for (int i = 0; i < (int)(sizeof(e->relays) / sizeof(e->relays[0])); i++) {
		struct swim_relay *r = &e->relays[i];
		if (r->deadline == 0 || r->our_id != m->id || m->src != r->target)
			continue;
		send_swim(e, &r->requester, MSG_ACK, r->their_id);
		r->deadline = 0;
		return true;
	}
	return false;
}

void
swim_input(struct engine *e, const struct endpoint *from, const struct msg *m,
    uint64_t now)
{
	if ((e->hook != HOOK_DONE && e->hook != HOOK_JOINING) || !m->has_src ||
	    ovl_prefix(m->src, 1) != ovl_prefix(e->addr, 1)) {
		e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
		return;
	}
	/* the sender is a member our map authenticates (same key), or a
	 * node of our gnode's prefix we do not hold: its word counts only
	 * about itself, and only where the gnode has room for it */
	struct member *sender = inner_find(&e->inner, ovl_id(m->src, 0));
	bool member = engine_sender(e, m) != NULL;
	if (sender != NULL && !member && sender->state <= MEMBER_SUSPECT) {
		/* another key at a live member's address: tell it whom we
		 * hold there (at most once a protocol period), so that of
		 * two nodes the gnode admitted at one address, the one most
		 * members do not hold learns it and hooks again */
		e->stats.dropped[ENGINE_DROP_UNTRUSTED]++;
		if (rival_heard(e, m, from, now))
			return;
		rival_note(e, sender->id, m->key, from, now);
		if (now - sender->told_at >= e->cfg.ping_interval_ms) {
			sender->told_at = now;
			struct msg r;
			msg_init(&r);
			r.type = MSG_ACK;
			r.id = m->id;
			update_fill(e, ovl_id(e->addr, 0), &r.u.updates.v[0]);
			update_fill(e, sender->id, &r.u.updates.v[1]);
			r.u.updates.n = 2;
			rivals_held(e, sender->id, &r.u.updates, now);
			engine_send(e, from, &r);
		}
		return;
	}
	const struct msg_updates *ups = m->type == MSG_PING_REQ ?
	    &m->u.ping_req.updates : &m->u.updates;
	if (e->hook == HOOK_JOINING) {
		/* while our JOIN is answered, news of a member admitted after
		 * us can overtake our (larger) maps: take the members it
		 * names, and nothing else until we are in */
		for (int i = 0; m->type == MSG_PING && i < ups->n; i++)
			if (ups->v[i].addr != e->addr &&
			    ups->v[i].state <= MSG_STATE_SUSPECT)
				news_take(e, m, from, member, &ups->v[i], now);
		/* the gnode counts us in already: a ping unanswered would
		 * make it suspect us */
		if (m->type == MSG_PING)
			send_swim(e, from, MSG_ACK, m->id);
		return;
	}
	for (int i = 0; m->type != MSG_LEAVE && i < ups->n; i++)
		news_take(e, m, from, member, &ups->v[i], now);
	/* the sender itself is alive, whatever its news said */
	sender = inner_find(&e->inner, ovl_id(m->src, 0));
	if (sender == NULL && m->type != MSG_LEAVE)
		swim_member_seen(e, m->src, m->key, 0, from, 1, now);
	sender = engine_sender(e, m);
	if (sender == NULL) {
		e->stats.dropped[ENGINE_DROP_UNTRUSTED]++;
		return; /* the gnode has no room for it: no answer either */
	}
	if (sender->state >= MEMBER_DEAD)
		swim_news_add(e, sender->id); /* let it hear, and refute */

	switch (m->type) {
	case MSG_PING:
		send_swim(e, from, MSG_ACK, m->id);
		break;
	case MSG_ACK:
		if (e->probe_active && m->id == e->probe_req && probe_answered(e, m))
			e->probe_active = false;
		else
			relay_ack(e, m);
		break;
	case MSG_PING_REQ:
		for (int i = 0; i < (int)(sizeof(e->relays) / sizeof(e->relays[0])); i++) {
			struct swim_relay *r = &e->relays[i];
			if (r->deadline != 0)
				continue;
			r->our_id = engine_rand64(e);
			r->their_id = m->id;
			r->target = m->u.ping_req.target;
			r->requester = *from;
			r->deadline = now + e->cfg.ping_interval_ms;
			send_swim(e, &m->u.ping_req.target_ep, MSG_PING, r->our_id);
			break;
		}
		break;
	case MSG_LEAVE:
		member_set(e, sender, MEMBER_LEFT, m->u.leave.incarnation, now);
		break;
	}
}

void
swim_leave(struct engine *e)
{
	struct msg m;

	msg_init(&m);
	m.type = MSG_LEAVE;
	m.u.leave.incarnation = e->inc;
	for (int i = 0; i < e->inner.n; i++) {
		if (e->inner.m[i].state > MEMBER_SUSPECT)
			continue;
		m.id = engine_rand64(e);
		engine_send(e, &e->inner.m[i].eps[0], &m);
	}
}

void
swim_tell_all(struct engine *e, uint8_t id)
{
	struct msg m;

	/* the news itself, not the queue's head: a burst of joins queues
	 * more news than one ping carries, and a ping to every member would
	 * spend the queue's rounds at once */
	msg_init(&m);
	m.type = MSG_PING;
	update_fill(e, ovl_id(e->addr, 0), &m.u.updates.v[m.u.updates.n++]);
	if (id != ovl_id(e->addr, 0))
		update_fill(e, id, &m.u.updates.v[m.u.updates.n++]);
	for (int i = 0; i < e->inner.n; i++) {
		const struct member *mb = &e->inner.m[i];
		if (mb->state == MEMBER_ALIVE && mb->id != id) {
			m.id = engine_rand64(e);
			engine_send(e, &mb->eps[0], &m);
		}
	}
}
