/* Hooking: how a node takes its place in the overlay.  It asks a bootstrap
 * peer for a free place (a free slot in the peer's level-1 gnode, or a new
 * gnode in the lowest parent that is not full), announces itself to the
 * members there and takes their maps. */
#include <stdlib.h>
#include <string.h>

#include "node/engine/engine_int.h"
#include "proto/err.h"

#define HOOK_ASK_MS 2000       /* the wait for a redirect's or a JOIN's
				* answer; the backoff starts from it */
#define HOOK_ASK_MAX_MS 16000  /* ... when peer after peer stays silent */
#define HOOK_REDIRECTS_MAX 16  /* a redirect chain ends within this */
#define HOOK_AGAIN_MS 250      /* ... a busy node asks us back after this */
#define HOOK_PEERS_MAX 64      /* peers asked, joiners that asked us added */
#define HOOK_LOW_TTL_MS 60000  /* a joiner's key counts this long after its
				* owner was last heard from */
#define JOIN_TRIES 3

static void gossip_peers(struct engine *e, uint64_t now);

static void
hook_done(struct engine *e, uint64_t now)
{
	e->hook = HOOK_DONE;
	e->hook_tries = 0;
	e->n_hook_full = 0;
	e->next_sync = 0; /* the name service pulls its new gnode's data */
	e->bulk_kind = 0;
	e->hooked_at = now; /* and renews our names from the new place */
	e->names_came_at = now;
	e->next_ping = now + engine_rand_below(e, e->cfg.ping_interval_ms);
	e->next_gossip = now + engine_rand_below(e, e->cfg.gossip_interval_ms);
	engine_maps_changed(e);
	struct engine_event ev = { .type = ENGINE_EV_HOOKED, .addr = e->addr };
	engine_log(e, ENGINE_LOG_INFO, "joined the overlay as %u.%u.%u.%u",
	    ovl_id(e->addr, 3), ovl_id(e->addr, 2), ovl_id(e->addr, 1),
	    ovl_id(e->addr, 0));
	if (e->joiner_round >= 0)
		gossip_peers(e, now);
	engine_emit(e, &ev);
}

/* We joined while other nodes were joining too (a mesh restarting): if
 * two of them founded meshes apart, or a hooked peer's offer was lost
 * and we founded beside its mesh, our peers are now in another mesh than
 * ours.  Gossip with each of them once: whichever of two such nodes
 * hooks later reaches the other, and the outer maps of both meshes merge
 * into one (gossip_merge(); messages to peers still joining are only
 * dropped). */
static void
gossip_peers(struct engine *e, uint64_t now)
{
	for (int i = 0; i < e->n_peers; i++)
		gossip_hello(e, &e->peers[i], now);
}

/* Whether a joiner with a lower key than ours was heard from lately. */
static bool
low_fresh(const struct engine *e, uint64_t now)
{
	return e->low_heard != 0 && now - e->low_heard < HOOK_LOW_TTL_MS;
}

/* The lowest key of a joiner we heard of, ours included, for the joiners
 * we ask and answer.  The age grows by a second at each hop, so a key
 * passed around among nodes that all outlived its owner ages out. */
static void
lowest_out(const struct engine *e, uint64_t now, struct msg_lowest *l)
{
	if (low_fresh(e, now)) {
		memcpy(l->key, e->low_key, ANDNA_PK_LEN);
		l->age = (uint32_t)((now - e->low_heard) / 1000) + 1;
	} else {
		memcpy(l->key, e->key.pk, ANDNA_PK_LEN);
		l->age = 0;
	}
}

/* Learns that a joiner with key `pk` was heard from `age_ms` ago. */
static void
low_learn(struct engine *e, const uint8_t *pk, uint64_t age_ms, uint64_t now)
{
	if (age_ms >= HOOK_LOW_TTL_MS || age_ms >= now ||
	    memcmp(pk, e->key.pk, ANDNA_PK_LEN) >= 0)
		return;
	e->lower_round = e->hook_round;
	int cmp = memcmp(pk, e->low_key, ANDNA_PK_LEN);
	if (low_fresh(e, now) && (cmp > 0 ||
	    (cmp == 0 && now - age_ms <= e->low_heard)))
		return;
	memcpy(e->low_key, pk, ANDNA_PK_LEN);
	e->low_heard = now - age_ms;
}

/* Sends HOOK_REQ to `to` and waits `wait_ms` for the answer. */
static void
ask_peer(struct engine *e, const struct endpoint *to, uint64_t wait_ms,
    uint64_t now)
{
	struct msg m;

	e->hook = HOOK_ASKING;
	msg_init(&m);
	m.type = MSG_HOOK_REQ;
	lowest_out(e, now, &m.u.hook_req.lowest);
	m.id = e->hook_req = engine_rand64(e);
	m.u.hook_req.n_full = (uint8_t)e->n_hook_full;
	memcpy(m.u.hook_req.full, e->hook_full,
	    (size_t)e->n_hook_full * sizeof(e->hook_full[0]));
	engine_send(e, to, &m);
	e->hook_deadline = now + wait_ms;
}

/* Founds the overlay alone, in a random top-level gnode (two meshes
 * founded apart rarely share one), with id 0 below, so each place it
 * gives later lies above its own. */
static void
found(struct engine *e, uint64_t now)
{
	e->addr = (ovl_addr_t)engine_rand_below(e, 256) << 24;
	hook_done(e, now);
}

/* A round through the peer list ended.  When a whole mesh is restarted at
 * once, every node is joining and answers JOINING, so nobody can offer a
 * place: one of them must found the overlay again.  It is the node with
 * the lowest key among the joiners: each passes on the lowest key it
 * heard of in its HOOK_REQs and JOINING answers, so all learn it.  It
 * founds once two rounds went by with joiners heard (in the last one), no
 * hooked node answering and no lower key heard of; the others keep
 * asking and are admitted by it.  Two rounds, not one, so the lowest key
 * has time to spread, and a message lost once does not make a second
 * founder.  A node that heard no joiner (its peers are all silent: dead,
 * or cut off) never founds, and keeps asking.  Returns whether we
 * founded. */
static bool
round_ended(struct engine *e, uint64_t now)
{
	int r = e->hook_round++;

	if (e->joiner_round == r || e->hooked_round == r)
		e->silent_rounds = 0;
	else
		e->silent_rounds++;
	if (r < 1 || e->joiner_round != r || e->hooked_round >= r - 1 ||
	    e->lower_round >= r - 1 || low_fresh(e, now))
		return false;
	engine_log(e, ENGINE_LOG_INFO, "every peer that answered is joining "
	    "too (a restart of the whole mesh?) and our node key is the "
	    "lowest among them: founding the overlay for them to join");
	found(e, now);
	return true;
}

/* Asks the next bootstrap peer, in turn.  While peers answer (the first
 * round, and every round after one in which someone answered), a silent
 * peer is waited for as long as a hop's ack: it is dead, or its answer
 * was lost, and should not hold the node up.  After each round in which
 * nobody answered at all, the wait doubles from HOOK_ASK_MS, so a node
 * cut off from every peer asks seldom. */
static void
ask_next_peer(struct engine *e, uint64_t now)
{
	if (e->hook_tries > 0 && e->peer_next == 0 && round_ended(e, now))
		return;
	const struct endpoint *to = &e->peers[e->peer_next];
	int k = e->silent_rounds;
	uint64_t wait = k == 0 ? e->cfg.hop_timeout_ms :
	    (uint64_t)HOOK_ASK_MS << (k < 4 ? k : 4);

	e->hook_tries++;
	e->peer_next = (e->peer_next + 1) % e->n_peers;
	e->hook_redirects = 0;
	ask_peer(e, to, wait < HOOK_ASK_MAX_MS ? wait : HOOK_ASK_MAX_MS, now);
}

/* The pause before the next HOOK_REQ after a JOINING answer: the peer is
 * alive, so there is nothing to wait for but a bound on the traffic while
 * a whole mesh restarts. */
static uint64_t
busy_pace(const struct engine *e)
{
	return e->cfg.hop_timeout_ms / 4;
}

/* Adds `ep` to the peers asked in turn, unless it is one already or the
 * list is full. */
static void
peers_add(struct engine *e, const struct endpoint *ep)
{
	for (int i = 0; i < e->n_peers; i++)
		if (memcmp(&e->peers[i], ep, sizeof(*ep)) == 0)
			return;
	if (e->n_peers >= HOOK_PEERS_MAX)
		return;
	struct endpoint *v = realloc(e->peers,
	    ((size_t)e->n_peers + 1) * sizeof(*v));
	if (v == NULL)
		return; /* we ask the peers we have */
	e->peers = v;
	e->peers[e->n_peers++] = *ep;
}

/* Another joiner, with node key `pk` at `from`, answered JOINING or asked
 * us for a place, and told us the lowest key it heard of: note both for
 * round_ended(), and ask it in our next rounds, since it may be hooked
 * by then. */
static void
joiner_heard(struct engine *e, const struct endpoint *from,
    const uint8_t *pk, const struct msg_lowest *l, uint64_t now)
{
	if (e->joiner_round < 0)
		engine_log(e, ENGINE_LOG_INFO, "other nodes are joining at the "
		    "same time (a restart of the whole mesh?): unless a peer "
		    "can offer a place, the one with the lowest node key "
		    "will found the overlay");
	e->joiner_round = e->hook_round;
	low_learn(e, pk, 0, now);
	low_learn(e, l->key, (uint64_t)l->age * 1000, now);
	peers_add(e, from);
}

/* Notes that `from` sent us on to `to`: `from` found no room for us in
 * its gnode at the level where the two differ, and the next node we ask
 * should not send us back there on older news.  The newest few count. */
static void
note_full(struct engine *e, ovl_addr_t from, ovl_addr_t to)
{
	int level = ovl_diff_level(from, to);
	ovl_addr_t g = ovl_prefix(from, level) | (ovl_addr_t)level;

	if (level < 1)
		return;
	for (int i = 0; i < e->n_hook_full; i++)
		if (e->hook_full[i] == g)
			return;
	if (e->n_hook_full == MSG_HOOK_FULL_MAX)
		memmove(&e->hook_full[0], &e->hook_full[1],
		    (MSG_HOOK_FULL_MAX - 1) * sizeof(e->hook_full[0]));
	else
		e->n_hook_full++;
	e->hook_full[e->n_hook_full - 1] = g;
}

/* Follows a redirect to one of `c`, unless the chain grew too long (the
 * views it followed disagree): then the wait ends and the next bootstrap
 * peer is asked. */
static void
follow_redirect(struct engine *e, const struct msg_contact *c, int n,
    uint64_t now)
{
	if (++e->hook_redirects > HOOK_REDIRECTS_MAX) {
		engine_log(e, ENGINE_LOG_DEBUG,
		    "joining: too many redirects; asking a bootstrap peer again");
		e->hook = HOOK_ASKING; /* hook_tick asks when the wait ends */
		return;
	}
	ask_peer(e, &c[engine_rand_below(e, (uint32_t)n)].ep, HOOK_ASK_MS, now);
}

/* Announces us at our new address to one contact of the offer (the next
 * one on each retry): one member admits us and its news tells the rest, so
 * a refused joiner leaves no half-admitted copies behind. */
static void
send_join(struct engine *e, uint64_t now)
{
	struct msg m;

	msg_init(&m);
	m.type = MSG_JOIN;
	m.id = e->hook_req;
	m.u.join.incarnation = e->inc;
	m.u.join.n_eps = (uint8_t)e->n_eps;
	memcpy(m.u.join.eps, e->eps, (size_t)e->n_eps * sizeof(e->eps[0]));
	engine_send(e, &e->join_contacts[e->join_tries % e->n_join_contacts].ep, &m);
	e->hook_deadline = now + HOOK_ASK_MS;
	e->join_tries++;
}

void
engine_bootstrap(struct engine *e, const struct endpoint *peers, int n_peers,
    uint64_t now)
{
	free(e->peers);
	e->peers = NULL;
	e->n_peers = 0;
	e->hook_tries = 0;
	e->hook_round = e->silent_rounds = 0;
	e->hooked_round = e->joiner_round = e->lower_round = -1;
	e->low_heard = 0;
	if (n_peers == 0) {
		/* the first node */
		found(e, now);
		return;
	}
	e->peers = malloc((size_t)n_peers * sizeof(*peers));
	if (e->peers == NULL) {
		engine_log(e, ENGINE_LOG_ERR, "out of memory for bootstrap peers");
		return;
	}
	memcpy(e->peers, peers, (size_t)n_peers * sizeof(*peers));
	e->n_peers = n_peers;
	e->peer_next = 0;
	ask_next_peer(e, now);
}

/* Whether our maps hold the hooked node `addr` with key `pk`: a live
 * member of our gnode, or a contact of a sibling gnode.  Knowing its
 * gnode is not enough: after a healed cut our side of that gnode may be
 * other members than the neighbour's side, and only gossip with the
 * neighbour (whose answer makes it a contact) joins the two. */
static bool
neighbour_known(const struct engine *e, ovl_addr_t addr, const uint8_t *pk)
{
	int d = ovl_diff_level(e->addr, addr);

	if (d > 0) {
		const struct outer_entry *o = outer_find(&e->outer, d,
		    ovl_id(addr, d));
		for (int i = 0; o != NULL && i < o->n_contacts; i++)
			if (o->contacts[i].addr == addr)
				return true;
		return false;
	}
	const struct member *mb = inner_find(&e->inner, ovl_id(addr, 0));
	return mb != NULL && mb->state <= MEMBER_SUSPECT &&
	    memcmp(mb->pk, pk, ANDNA_PK_LEN) == 0;
}

void
engine_neighbour(struct engine *e, const uint8_t *pk, bool hooked,
    ovl_addr_t addr, const struct endpoint *ep, uint64_t now)
{
	if (e->hook == HOOK_ASKING || e->hook == HOOK_JOINING ||
	    e->hook == HOOK_AGAIN) {
		/* a place may come from it, as from a bootstrap peer */
		peers_add(e, ep);
		return;
	}
	/* A hooked neighbour our maps do not hold is in another overlay (the
	 * two were founded apart) or in the other half of a healed cut:
	 * gossip with it, and the maps of both merge as after a restart of
	 * the whole mesh (gossip_peers()).  A neighbour still joining asks
	 * us for a place itself. */
	if (e->hook != HOOK_DONE || !hooked || addr == e->addr ||
	    neighbour_known(e, addr, pk))
		return;
	engine_log(e, ENGINE_LOG_DEBUG, "a neighbour on our links, node "
	    "%u.%u.%u.%u, is not in our maps: gossiping with it",
	    ovl_id(addr, 3), ovl_id(addr, 2), ovl_id(addr, 1), ovl_id(addr, 0));
	gossip_hello(e, ep, now);
}

void
hook_restart(struct engine *e, uint64_t now)
{
	/* ask the members we know, not only the bootstrap peers: they are
	 * the nearest nodes we have */
	int n = 0;
	struct endpoint *peers = malloc(((size_t)e->inner.n + (size_t)e->n_peers + 1) *
	    sizeof(*peers));

	if (peers == NULL) {
		engine_log(e, ENGINE_LOG_ERR, "out of memory while rehooking");
		return;
	}
	for (int i = 0; i < e->inner.n; i++)
		if (e->inner.m[i].state == MEMBER_ALIVE)
			peers[n++] = e->inner.m[i].eps[0];
	for (int i = 0; i < e->n_peers; i++)
		peers[n++] = e->peers[i];
	inner_fini(&e->inner);
	outer_fini(&e->outer);
	/* what the old gnode said of our old address is no word on the next */
	memset(e->conflict_key, 0, sizeof(e->conflict_key));
	memset(e->conflict_from, 0, sizeof(e->conflict_from));
	memset(e->rivals, 0, sizeof(e->rivals));
	e->n_news = 0;
	e->probe_active = false;
	e->probe_n = e->probe_pos = 0;
	e->inc = 0;
	e->stats.rehooks++;
	e->hook = HOOK_IDLE;
	engine_maps_changed(e);
	if (n == 0) {
		free(peers);
		engine_bootstrap(e, NULL, 0, now);
		return;
	}
	engine_bootstrap(e, peers, n, now);
	free(peers);
}

void
hook_tick(struct engine *e, uint64_t now, uint64_t *wake)
{
	if (e->hook != HOOK_ASKING && e->hook != HOOK_JOINING &&
	    e->hook != HOOK_AGAIN)
		return;
	if (now >= e->hook_deadline) {
		if (e->hook == HOOK_ASKING)
			ask_next_peer(e, now);
		else if (e->hook == HOOK_AGAIN)
			ask_peer(e, &e->hook_again, HOOK_ASK_MS, now);
		else if (e->join_tries < JOIN_TRIES)
			send_join(e, now);
		else
			hook_restart(e, now);
	}
	if (e->hook_deadline < *wake)
		*wake = e->hook_deadline;
}

/* Whether `addr` is free to offer: not ours, no member's, not offered. */
static bool
offer_free(struct engine *e, ovl_addr_t addr, uint64_t now)
{
	if (addr == e->addr)
		return false;
	for (int i = 0; i < HOOK_OFFERS; i++)
		if (e->offers[i].until > now && e->offers[i].addr == addr)
			return false;
	if (ovl_prefix(addr, 1) == ovl_prefix(e->addr, 1))
		return inner_find(&e->inner, ovl_id(addr, 0)) == NULL;
	return true;
}

/* Whether offer slot `i` holds a place that nobody has taken yet. */
static bool
offer_pending(const struct engine *e, int i, uint64_t now)
{
	ovl_addr_t a = e->offers[i].addr;
	int level = ovl_diff_level(e->addr, a);

	if (e->offers[i].until <= now || a == e->addr)
		return false;
	return level == 0 ? inner_find(&e->inner, ovl_id(a, 0)) == NULL :
	    outer_find(&e->outer, level, ovl_id(a, level)) == NULL;
}

/* Places we offered at `level` (0: a slot in our gnode; above: a new
 * gnode in our parent) that nobody has taken yet: they count as taken. */
static int
offers_held(const struct engine *e, int level, uint64_t now)
{
	int n = 0;

	for (int i = 0; i < HOOK_OFFERS; i++)
		n += offer_pending(e, i, now) &&
		    ovl_diff_level(e->addr, e->offers[i].addr) == level;
	return n;
}

/* A slot for one more offer, or -1 while every slot holds a place not yet
 * taken: dropping one would give its place away twice. */
static int
offer_slot(const struct engine *e, uint64_t now)
{
	for (int i = 0; i < HOOK_OFFERS; i++)
		if (!offer_pending(e, i, now))
			return i;
	return -1;
}

/* A random free id at `level` inside our parent (0: a slot in our gnode),
 * above ours when one is: joiners are admitted by the lowest member and
 * new gnodes founded from the lowest child (see admitter() and
 * founder_contacts()), and a place below ours would hand that role to a
 * node that does not know the places we still hold.  -1 when none. */
static int
free_id(struct engine *e, int level, uint64_t now)
{
	int own = ovl_id(e->addr, level), pick[2] = { -1, -1 };
	uint32_t seen[2] = { 0, 0 };

	for (int id = 0; id < 256; id++) {
		ovl_addr_t addr = ovl_prefix(e->addr, level + 1) |
		    ((ovl_addr_t)id << (8 * level));
		if (id == own || !offer_free(e, addr, now) ||
		    (level > 0 && outer_find(&e->outer, level, (uint8_t)id)))
			continue;
		int above = id > own;
		if (engine_rand_below(e, ++seen[above]) == 0)
			pick[above] = id; /* each candidate with chance 1/seen */
	}
	return pick[1] >= 0 ? pick[1] : pick[0];
}

/* Copies the contacts of a sibling entry into `c`; returns how many. */
static int
entry_contacts(const struct outer_entry *x, struct msg_contact *c)
{
	for (int i = 0; i < x->n_contacts; i++) {
		c[i].addr = x->contacts[i].addr;
		c[i].ep = x->contacts[i].ep;
	}
	return x->n_contacts;
}

/* The member that admits joiners into our gnode: the live member with the
 * lowest id, us included (NULL when that is us).  One member decides, so
 * joiners arriving at once through different members do not overfill the
 * gnode; maps that disagree for a moment cost a member or two too many,
 * never a lost joiner. */
static const struct member *
admitter(const struct engine *e)
{
	for (int i = 0; i < e->inner.n; i++) {
		const struct member *mb = &e->inner.m[i];
		if (mb->id > ovl_id(e->addr, 0))
			return NULL;
		if (mb->state == MEMBER_ALIVE)
			return mb;
	}
	return NULL;
}

/* New gnodes at `level` inside our parent are founded by one node: the
 * admitter of the lowest child gnode, and so on down.  In agreeing maps
 * that is one node, so two joiners never found one id twice and the
 * parent never holds more than gnode_size children.  Fills `c` with
 * contacts one level nearer to that node and returns how many; 0 when we
 * are it. */
static int
founder_contacts(struct engine *e, int level, struct msg_contact *c)
{
	for (int k = level; k >= 1; k--) {
		for (int i = 0; i < e->outer.n[k]; i++) {
			const struct outer_entry *x = &e->outer.e[k][i];
			if (x->id > ovl_id(e->addr, k))
				break;
			if (x->n_contacts == 0)
				continue; /* cannot be reached: not its turn */
			return entry_contacts(x, c);
		}
	}
	const struct member *mb = admitter(e);
	if (mb == NULL)
		return 0;
	c[0].addr = ovl_prefix(e->addr, 1) | mb->id;
	c[0].ep = mb->eps[0];
	return 1;
}

/* News that one of our gnodes has filled up goes at once to a contact in
 * every sibling, from the one node that fills it (see founder_contacts()):
 * gossip takes many seconds to spread it, and meanwhile joiners would be
 * sent there on older news and sent on again. */
void
hook_sweep(struct engine *e, uint64_t now)
{
	struct msg_contact c[MSG_CONTACTS_MAX];

	for (int level = 1; level < ANDNA_LEVELS; level++) {
		unsigned bit = 1u << level;
		if (engine_own_children(e, level) < e->cfg.gnode_size) {
			e->full_told &= ~bit;
			continue;
		}
		if ((e->full_told & bit) != 0)
			continue;
		e->full_told |= bit;
		if (founder_contacts(e, level - 1, c) != 0)
			continue;
		for (int i = 0; i < e->outer.n[level]; i++) {
			const struct outer_entry *x = &e->outer.e[level][i];
			if (x->n_contacts > 0)
				gossip_push(e, &x->contacts[0].ep,
				    x->contacts[0].addr, now);
		}
	}
}

/* The joiner names gnodes that sent it on for want of room: siblings of
 * ours we still think roomy are full for now, so the joiners after it
 * are not sent round them again.  The next refresh from those gnodes
 * brings their true size back (the age of our entry stays). */
static void
take_full_news(struct engine *e, const struct msg *req)
{
	for (int i = 0; i < req->u.hook_req.n_full; i++) {
		ovl_addr_t g = req->u.hook_req.full[i];
		int level = ovl_id(g, 0); /* 1..3, as the decoder checked */
		if (ovl_prefix(g, level + 1) != ovl_prefix(e->addr, level + 1))
			continue;
		struct outer_entry *x = outer_find(&e->outer, level,
		    ovl_id(g, level));
		if (x != NULL && x->children < e->cfg.gnode_size)
			x->children = (uint16_t)e->cfg.gnode_size;
	}
}

/* A sibling gnode at `level` with room that we can name contacts of, or
 * NULL.  Siblings the joiner found full count as full already (see
 * take_full_news()). */
static const struct outer_entry *
roomy_sibling(struct engine *e, int level)
{
	int n = 0;
	const struct outer_entry *pick = NULL;

	for (int i = 0; i < e->outer.n[level]; i++) {
		const struct outer_entry *x = &e->outer.e[level][i];
		if (x->children >= e->cfg.gnode_size || x->n_contacts == 0)
			continue;
		if (engine_rand_below(e, (uint32_t)++n) == 0)
			pick = x; /* each candidate with chance 1/n */
	}
	return pick;
}

/* Members holding a place in our gnode, us included: the live ones, and
 * those declared dead so lately that they may yet refute it.  Under loss
 * a live member is now and then declared dead; its place given away, the
 * gnode would hold one too many when it comes back. */
static int
places_taken(const struct engine *e, uint64_t now)
{
	int n = 1;

	for (int i = 0; i < e->inner.n; i++) {
		const struct member *mb = &e->inner.m[i];
		n += mb->state <= MEMBER_SUSPECT || (mb->state == MEMBER_DEAD &&
		    now - mb->state_at < e->cfg.suspect_ms);
	}
	return n;
}

/* Fills the answer `r` to a joiner.  Places are taken lowest first:
 * a free slot in our gnode; a sibling with room; a new gnode beside ours;
 * then the same one level up.  Each place is given by the one node that
 * decides it (see admitter() and founder_contacts()); anyone else sends
 * the joiner on to that node.  Returns MSG_ST_OK, MSG_ST_REDIRECT,
 * MSG_ST_FULL, or MSG_ST_BUSY while every offer slot holds a place. */
static uint8_t
make_offer(struct engine *e, const struct endpoint *joiner, uint64_t now,
    struct msg *r)
{
	struct msg_contact *c = r->u.hook_offer.contacts;
	int size = e->cfg.gnode_size, slot = offer_slot(e, now), id = -1;
	ovl_addr_t addr = 0;

	/* a joiner whose underlay address has its share of our gnode goes
	 * elsewhere, as if we were full */
	if (places_taken(e, now) + offers_held(e, 0, now) < size &&
	    swim_host_room(e, joiner, ovl_id(e->addr, 0))) {
		const struct member *a = admitter(e);
		if (a != NULL) {
			c[0].addr = ovl_prefix(e->addr, 1) | a->id;
			c[0].ep = a->eps[0];
			r->u.hook_offer.n_contacts = 1;
			return MSG_ST_REDIRECT;
		}
		id = free_id(e, 0, now);
		addr = ovl_prefix(e->addr, 1) | (uint8_t)id;
	}
	if (id >= 0)
		goto hold; /* a slot in our gnode */
	for (int level = 1; level < ANDNA_LEVELS; level++) {
		const struct outer_entry *x = roomy_sibling(e, level);
		if (x != NULL) {
			r->u.hook_offer.n_contacts = (uint8_t)entry_contacts(x, c);
			return MSG_ST_REDIRECT;
		}
		/* nor may a joiner found a gnode while its underlay address
		 * vouches for one already */
		if (e->outer.n[level] + 1 + offers_held(e, level, now) >= size ||
		    !gossip_host_room(e, joiner, 0, 0))
			continue;
		int n = founder_contacts(e, level, c);
		if (n > 0) {
			r->u.hook_offer.n_contacts = (uint8_t)n;
			return MSG_ST_REDIRECT;
		}
		id = free_id(e, level, now);
		if (id < 0)
			continue;
		/* a new gnode; its founder takes id 0 at every level below,
		 * so each place it gives later lies above its own */
		addr = ovl_prefix(e->addr, level + 1) |
		    ((ovl_addr_t)id << (8 * level));
		break;
	}
	if (id < 0)
		return MSG_ST_FULL;
hold:
	if (slot < 0)
		return MSG_ST_BUSY;
	/* the joiner announces itself to us alone: we counted the place, and
	 * another member might admit it on an older count */
	c[0].addr = e->addr;
	c[0].ep = e->eps[0];
	r->u.hook_offer.n_contacts = 1;
	e->offers[slot].addr = addr;
	e->offers[slot].until = now + HOOK_OFFER_HOLD_MS;
	r->u.hook_offer.addr = addr;
	return MSG_ST_OK;
}

static void
hook_req_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now)
{
	struct msg r;

	msg_init(&r);
	r.type = MSG_HOOK_OFFER;
	r.id = m->id;
	r.u.hook_offer.gnode_size = (uint16_t)e->cfg.gnode_size;
	if (e->hook == HOOK_DONE) {
		take_full_news(e, m);
		r.u.hook_offer.status = make_offer(e, from, now, &r);
	} else {
		r.u.hook_offer.status = MSG_ST_JOINING;
		if (e->hook == HOOK_ASKING || e->hook == HOOK_AGAIN)
			joiner_heard(e, from, m->key, &m->u.hook_req.lowest, now);
	}
	lowest_out(e, now, &r.u.hook_offer.lowest);
	engine_send(e, from, &r);
}

static void
hook_offer_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now)
{
	if (e->hook != HOOK_ASKING || m->id != e->hook_req) {
		e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
		return;
	}
	if (m->u.hook_offer.status == MSG_ST_JOINING) {
		/* alive, but joining like us: ask the next peer soon */
		joiner_heard(e, from, m->key, &m->u.hook_offer.lowest, now);
		if (e->hook_deadline > now + busy_pace(e))
			e->hook_deadline = now + busy_pace(e);
		return;
	}
	e->hooked_round = e->hook_round;
	if (m->u.hook_offer.status == MSG_ST_REDIRECT &&
	    m->u.hook_offer.n_contacts > 0) {
		if (m->has_src)
			note_full(e, m->src, m->u.hook_offer.contacts[0].addr);
		follow_redirect(e, m->u.hook_offer.contacts,
		    m->u.hook_offer.n_contacts, now);
		return;
	}
	if (m->u.hook_offer.status == MSG_ST_BUSY &&
	    ++e->hook_redirects <= HOOK_REDIRECTS_MAX) {
		/* a joined node holds every place it may give for joiners
		 * still on their way: one will be free in a moment */
		e->hook = HOOK_AGAIN;
		e->hook_again = *from;
		e->hook_deadline = now + HOOK_AGAIN_MS / 2 +
		    engine_rand_below(e, HOOK_AGAIN_MS);
		return;
	}
	if (m->u.hook_offer.status != MSG_ST_OK ||
	    m->u.hook_offer.n_contacts == 0) {
		engine_log(e, ENGINE_LOG_INFO,
		    "a bootstrap peer had no place for us (status %u); asking again",
		    m->u.hook_offer.status);
		return; /* hook_tick asks the next peer when the wait ends */
	}
	e->addr = m->u.hook_offer.addr;
	e->hook = HOOK_JOINING;
	e->join_tries = 0;
	e->n_join_contacts = m->u.hook_offer.n_contacts;
	for (int i = 0; i < e->n_join_contacts; i++) {
		e->join_contacts[i].addr = m->u.hook_offer.contacts[i].addr;
		e->join_contacts[i].ep = m->u.hook_offer.contacts[i].ep;
	}
	send_join(e, now);
}

/* Whether a joiner with key `pk` may take `addr`: not while we or a live
 * member hold it with another key.  (The lower-key rule settles two nodes
 * that both hooked at one address; a newcomer never evicts a member.) */
static bool
join_allowed(struct engine *e, ovl_addr_t addr, const uint8_t *pk)
{
	if (addr == e->addr)
		return false;
	const struct member *mb = inner_find(&e->inner, ovl_id(addr, 0));
	return mb == NULL || mb->state > MEMBER_SUSPECT ||
	    memcmp(mb->pk, pk, ANDNA_PK_LEN) == 0;
}

int
hook_members(struct engine *e, struct msg *r, uint8_t except)
{
	struct msg_member *v = calloc((size_t)e->inner.n + 1, sizeof(*v));
	int k = 1;

	if (v == NULL)
		return ANDNA_ENOMEM;
	v[0].addr = e->addr;
	memcpy(v[0].key, e->key.pk, ANDNA_PK_LEN);
	v[0].incarnation = e->inc;
	v[0].n_eps = (uint8_t)e->n_eps;
	memcpy(v[0].eps, e->eps, (size_t)e->n_eps * sizeof(e->eps[0]));
	for (int i = 0; i < e->inner.n; i++) {
		const struct member *x = &e->inner.m[i];
		if (x->state > MEMBER_SUSPECT || x->id == except)
			continue;
		v[k].addr = ovl_prefix(e->addr, 1) | x->id;
		memcpy(v[k].key, x->pk, ANDNA_PK_LEN);
		v[k].incarnation = x->inc;
		v[k].n_eps = x->n_eps;
		memcpy(v[k++].eps, x->eps, x->n_eps * sizeof(x->eps[0]));
	}
	r->u.map_full.members = v;
	r->u.map_full.n_members = (uint16_t)k;
	return 0;
}

/* A node announces itself at its new address; we answer with our maps. */
static void
join_input(struct engine *e, const struct endpoint *from, const struct msg *m,
    uint64_t now)
{
	struct msg r;
	bool ours = ovl_prefix(m->src, 1) == ovl_prefix(e->addr, 1);

	if (e->hook != HOOK_DONE || !m->has_src) {
		e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
		return;
	}
	msg_init(&r);
	r.type = MSG_MAP_FULL;
	r.id = m->id;
	if (ours && !join_allowed(e, m->src, m->key)) {
		r.u.map_full.status = MSG_ST_ADDR_TAKEN;
		engine_send(e, from, &r);
		return;
	}
	if (ours && inner_find(&e->inner, ovl_id(m->src, 0)) == NULL &&
	    (places_taken(e, now) >= e->cfg.gnode_size ||
	    !swim_host_room(e, from, ovl_id(m->src, 0)))) {
		/* whoever offered the place did not know we are full, or the
		 * joiner's underlay address has its share of our gnode */
		r.u.map_full.status = MSG_ST_FULL;
		engine_send(e, from, &r);
		return;
	}
	if (ours) {
		struct endpoint eps[MSG_EPS_MAX];
		int n = 0;
		eps[n++] = *from; /* as we see it, then as it says */
		for (int i = 0; i < m->u.join.n_eps && n < MSG_EPS_MAX; i++)
			if (memcmp(&m->u.join.eps[i], from, sizeof(*from)) != 0)
				eps[n++] = m->u.join.eps[i];
		struct member *old = inner_find(&e->inner, ovl_id(m->src, 0));
		if (old != NULL && memcmp(old->pk, m->key, ANDNA_PK_LEN) != 0)
			inner_remove(&e->inner, old->id);
		swim_member_seen(e, m->src, m->key, m->u.join.incarnation, eps, n, now);
		struct member *mb = inner_find(&e->inner, ovl_id(m->src, 0));
		if (mb != NULL && mb->state != MEMBER_ALIVE) {
			/* a node that left or died and comes back */
			mb->state = MEMBER_ALIVE;
			mb->state_at = now;
			mb->inc = m->u.join.incarnation;
			swim_news_add(e, mb->id);
			engine_maps_changed(e);
		}
		if (hook_members(e, &r, ovl_id(m->src, 0)) != 0)
			return;
		/* tell the gnode now, not at the pace of news on pings, so
		 * no member offers the same room twice */
		swim_tell_all(e, ovl_id(m->src, 0));
	} else {
		/* a node founding a new gnode beside ours.  The one we offered
		 * that place to counts from now on, so we do not offer the
		 * gnode twice nor more gnodes than the parent holds; another
		 * counts once it proved it holds that address (a node outside
		 * our gnode cannot add gnodes to our map by its word) */
		int level = ovl_diff_level(e->addr, m->src);
		struct contact c = { m->src, *from };
		struct outer_entry *x = offer_free(e, m->src, now) ? NULL :
		    outer_get(&e->outer, level, ovl_id(m->src, level));
		if (x == NULL) {
			gossip_check(e, level, ovl_id(m->src, level), 1, &c, 1,
			    from, false, false, now);
		} else if (x->heard_at < now) {
			if (x->children == 0) {
				x->children = 1;
				x->learned_at = now;
			}
			x->heard_at = now;
			outer_add_contact(x, &c);
			engine_maps_changed(e);
		}
	}
	r.u.map_full.outer = calloc(MSG_OUTER_MAX, sizeof(*r.u.map_full.outer));
	if (r.u.map_full.outer == NULL) {
		msg_free(&r);
		return;
	}
	r.u.map_full.n_outer = (uint16_t)gossip_entries_for(e, m->src,
	    r.u.map_full.outer, MSG_OUTER_MAX, MSG_STREAM_MAX, NULL, 0, now);
	engine_send(e, from, &r);
	msg_free(&r);
}

/* The maps of our new gnode arrive: we are in. */
static void
map_full_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now)
{
	if (m->id != e->hook_req ||
	    (e->hook != HOOK_JOINING && e->hook != HOOK_DONE)) {
		e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
		return;
	}
	if (m->u.map_full.status != MSG_ST_OK) {
		if (e->hook == HOOK_JOINING) {
			/* the member that refused knows its gnode best: it
			 * offers a free slot or a place elsewhere; members
			 * we heard of meanwhile are not ours */
			inner_fini(&e->inner);
			e->n_news = 0;
			engine_log(e, ENGINE_LOG_DEBUG,
			    "the place we were offered is %s; asking again",
			    m->u.map_full.status == MSG_ST_FULL ? "full" : "taken");
			struct msg_contact c = { m->src, *from };
			follow_redirect(e, &c, 1, now);
		}
		return;
	}
	for (int i = 0; i < m->u.map_full.n_members; i++) {
		const struct msg_member *x = &m->u.map_full.members[i];
		if (x->addr != e->addr)
			swim_member_seen(e, x->addr, x->key, x->incarnation,
			    x->eps, x->n_eps, now);
	}
	gossip_merge(e, m->src, from, true, m->u.map_full.outer,
	    m->u.map_full.n_outer, now);
	if (e->hook == HOOK_JOINING) {
		swim_news_add(e, ovl_id(e->addr, 0));
		hook_done(e, now);
	}
}

void
hook_input(struct engine *e, const struct endpoint *from, const struct msg *m,
    uint64_t now)
{
	switch (m->type) {
	case MSG_HOOK_REQ:
		hook_req_input(e, from, m, now);
		break;
	case MSG_HOOK_OFFER:
		hook_offer_input(e, from, m, now);
		break;
	case MSG_JOIN:
		join_input(e, from, m, now);
		break;
	case MSG_MAP_FULL:
		map_full_input(e, from, m, now);
		break;
	}
}

void
engine_leave(struct engine *e, uint64_t now)
{
	if (e->hook == HOOK_DONE)
		swim_leave(e);
	e->hook = HOOK_GONE;
	engine_log(e, ENGINE_LOG_INFO, "left the overlay");
}
