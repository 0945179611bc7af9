/* Hostile nodes in the simulator (see adversary.h).  An attack speaks from
 * hostile slots: a bare slot is only an endpoint, and everything sent to
 * it is the attacker's to answer; a slot running a real engine (an
 * attacker that hooked honestly) hands the engine whatever the attacker
 * does not answer itself.  Envelopes go out sealed as the simulator seals
 * them, and only ever with keys the attacker minted or owns, as a real
 * attacker could sign with no other.  The attacker draws from its own
 * generator, so attacking does not change the honest nodes' draws. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/engine/round.h"
#include "proto/err.h"
#include "proto/msg.h"
#include "sim/adversary.h"
#include "sim/adversary_int.h"
#include "sim/sim.h"

#define ADV_REJOIN_MS 20000	/* join-outside: JOINs again, so the fake
				 * entries stay fresh in honest maps */
#define ADV_IDS_MAX 8192	/* reflect: requests remembered */
#define ADV_MINT_TRIES 100000	/* evict: keys minted for a lower one */
#define ADV_REFLECT_BURST 4	/* reflect: requests per step */
#define ADV_MANY_GAP_MS 1000	/* many-addrs: between two of its joins */
#define ADV_MANY_PORT 1000	/* many-addrs: its first port */
#define ADV_STORM 50		/* deliveries during an attack, over those
				 * of the quiet window before it, that make
				 * a storm */

/* Hostile slots, after the honest nodes: one per attack, the
 * many-addresses attacker's ADV_MANY next, then one per attack on names
 * (ADV_LIAR onwards, in enum order). */
enum { SLOT_EVICT, SLOT_DEATH, SLOT_FAKE, SLOT_JOIN, SLOT_REFLECT, SLOT_MANY,
	SLOT_NAMES = SLOT_MANY + ADV_MANY };

uint64_t
adv_rand(struct adv *a)
{
	uint64_t z = (a->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A fresh key: minting costs an attacker nothing. */
void
adv_mint(struct adv *a, struct keypair *kp)
{
	uint8_t seed[32];

	for (int i = 0; i < 4; i++) {
		uint64_t x = adv_rand(a);
		memcpy(seed + 8 * i, &x, 8);
	}
	keypair_from_seed(kp, seed);
	sodium_memzero(seed, sizeof(seed));
}

/* The engine of honest node `i` when it runs hooked, else NULL. */
struct engine *
adv_honest(const struct adv *a, int i)
{
	struct engine *e = i < a->p->nodes ? sim_engine(a->s, i) : NULL;

	return e != NULL && engine_hooked(e) ? e : NULL;
}

/* A random honest hooked node whose level-1 gnode has at least `min` and
 * fewer than `max` running nodes, or -1. */
int
adv_pick_honest(struct adv *a, int min, int max)
{
	int pick = -1, seen = 0;

	for (int i = 0; i < a->p->nodes; i++) {
		struct engine *e = adv_honest(a, i);
		if (e == NULL)
			continue;
		ovl_addr_t g = ovl_prefix(engine_addr(e), 1);
		int n = 0;
		for (int j = 0; j < a->p->nodes + a->p->hostile; j++) {
			struct engine *f = sim_engine(a->s, j);
			n += f != NULL && engine_hooked(f) &&
			    ovl_prefix(engine_addr(f), 1) == g;
		}
		if (n < min || n >= max)
			continue;
		if (adv_rand(a) % (uint64_t)++seen == 0)
			pick = i;
	}
	return pick;
}

/* Whether a running node holds `addr`, or lies in gnode `addr` at `level`
 * when level > 0. */
bool
adv_addr_used(const struct adv *a, ovl_addr_t addr, int level)
{
	for (int j = 0; j < a->p->nodes + a->p->hostile; j++) {
		struct engine *e = sim_engine(a->s, j);
		if (e != NULL && engine_hooked(e) &&
		    ovl_prefix(engine_addr(e), level) == addr)
			return true;
	}
	return false;
}

/* A free address in level-1 gnode `g` for the attacker to claim. */
ovl_addr_t
adv_free_addr(struct adv *a, ovl_addr_t g)
{
	for (;;) {
		ovl_addr_t x = g | (ovl_addr_t)(1 + adv_rand(a) % 254);
		if (!adv_addr_used(a, x, 0))
			return x;
	}
}

/* Encodes `m` signed by `kp` and sends it from hostile slot `from`. */
void
adv_send(struct adv *a, int from, int to, struct msg *m,
    const struct keypair *kp)
{
	size_t len = 0;

	if (msg_encode_sealed(m, a->p->engine.seal, kp, a->buf, ADV_BUF,
		&len) != 0)
		return;
	sim_inject(a->s, from, to, a->buf, len);
	a->r->sent++;
}

static void
update_set(struct msg_update *u, uint8_t state, ovl_addr_t addr,
    uint32_t inc, const uint8_t *pk, const struct endpoint *ep)
{
	memset(u, 0, sizeof(*u));
	u->state = state;
	u->addr = addr;
	u->incarnation = inc;
	memcpy(u->key, pk, ANDNA_PK_LEN);
	u->n_eps = 1;
	u->eps[0] = *ep;
}

/* The fake gnode holding `addr`, or -1. */
static int
fake_of(const struct adv *a, ovl_addr_t addr)
{
	for (int k = 0; k < a->n_fakes; k++)
		if (a->fakes[k].prefix == ovl_prefix(addr, 1))
			return k;
	return -1;
}

/* The key the attacker answers for `addr` with, or NULL when `addr` is
 * not one it claims (an engine of its own then answers, if it has one). */
static const struct keypair *
claims(const struct adv *a, ovl_addr_t addr)
{
	int k = fake_of(a, addr);

	if (k >= 0)
		return a->kind == ADV_JOIN_OUTSIDE ? &a->fakes[k].key : &a->key;
	if (a->kind == ADV_EVICT && addr == a->target)
		return &a->low;
	if (a->bare && addr == a->self)
		return &a->key;
	return NULL;
}

/* "Prove you are addr": it does, from addr, with its key for it. */
static bool
answer_challenge(struct adv *a, int from, int to, const struct msg *m)
{
	const struct keypair *kp = claims(a, m->u.challenge.addr);
	struct msg r;

	if (kp == NULL && !a->bare)
		return false;
	msg_init(&r);
	r.type = MSG_CHALLENGE_REPLY;
	r.id = m->id;
	r.has_src = true;
	r.src = m->u.challenge.addr;
	memcpy(r.u.challenge_reply.nonce, m->u.challenge.nonce, MSG_NONCE_LEN);
	adv_send(a, to, from, &r, kp != NULL ? kp : &a->key);
	return true;
}


/* The contact the sender handed `r` to, as the attacker can work out
 * from the sender's maps: the ROUTE_ACK must come from it. */
static ovl_addr_t
via_of(struct adv *a, int from, const struct msg_route *r)
{
	struct engine *e = sim_engine(a->s, from);
	struct round_exclude ex = {.n = r->n_exclude};
	struct round_view v;
	ovl_addr_t prefix = 0;

	if (e == NULL)
		return a->self;
	memcpy(ex.prefix, r->exclude, (size_t)r->n_exclude * sizeof(ex.prefix[0]));
	engine_round_view(e, &v);
	int level = round_view_target(&v, r->target, &ex, &prefix);
	if (level == 1 && fake_of(a, prefix) >= 0)
		return prefix | 1; /* the one contact a fake gnode has */
	if (level == 0)
		return r->target;
	return a->self != 0 ? a->self : prefix | 1;
}

/* A routed request: acknowledged, and answered as a gnode that holds
 * nothing but takes everything would. */
static bool
answer_routed(struct adv *a, int from, int to, const struct msg *m)
{
	ovl_addr_t via = via_of(a, from, msg_route_of(m));
	const struct keypair *kp = claims(a, via);
	struct msg r;

	if (kp == NULL) {
		if (!a->bare)
			return false;
		kp = &a->key;
	}
	msg_init(&r);
	r.type = MSG_ROUTE_ACK;
	r.id = m->id;
	r.has_src = true;
	r.src = via;
	adv_send(a, to, from, &r, kp);
	msg_init(&r);
	r.id = m->id;
	r.has_src = true;
	r.src = via;
	switch (m->type) {
	case MSG_PROBE:
		r.type = MSG_PROBE_REPLY;
		r.u.probe_reply.responder = via;
		r.u.probe_reply.hops = 1;
		break;
	case MSG_RESOLVE:
		r.type = MSG_RESOLVE_REPLY;
		r.u.resolve_reply.status = MSG_ST_NOT_FOUND;
		break;
	case MSG_REGISTER:
		r.type = MSG_REGISTER_REPLY;
		r.u.reg_reply.status = MSG_ST_OK;
		r.u.reg_reply.life = a->p->engine.expiry_s;
		break;
	case MSG_COUNTER_CHECK:
		r.type = MSG_COUNTER_REPLY;
		r.u.status_count.status = MSG_ST_OK;
		r.u.status_count.count = 1;
		break;
	default: /* HANDOVER: taken, and confirmed by as many as it likes */
		r.type = MSG_HANDOVER_ACK;
		r.u.status_count.status = MSG_ST_OK;
		r.u.status_count.count = UINT32_MAX;
		break;
	}
	adv_send(a, to, from, &r, kp);
	return true;
}

/* A ping to the address a bare attacker claims: alive, of course. */
static void
answer_ping(struct adv *a, int from, int to, const struct msg *m)
{
	struct msg r;

	if (a->self == 0)
		return;
	msg_init(&r);
	r.type = MSG_ACK;
	r.id = m->id;
	r.has_src = true;
	r.src = a->self;
	update_set(&r.u.updates.v[0], MSG_STATE_ALIVE, a->self, 0, a->key.pk,
	    &a->ep);
	r.u.updates.n = 1;
	adv_send(a, to, from, &r, &a->key);
}

/* Everything honest nodes send to a hostile slot comes here. */
static bool
tap_cb(void *arg, int from, int to, const uint8_t *buf, size_t len)
{
	struct adv *a = arg;
	struct msg m;
	bool mine = a->bare;

	a->r->received++;
	if (msg_decode_sealed(a->p->engine.seal, buf, len, &m) != 0)
		return true;
	if (a->nm != NULL) {
		bool engine = names_tap(a, from, to, &m);
		msg_free(&m);
		return engine;
	}
	switch (m.type) {
	case MSG_CHALLENGE:
		mine = answer_challenge(a, from, to, &m);
		break;
	case MSG_PROBE:
	case MSG_REGISTER:
	case MSG_COUNTER_CHECK:
	case MSG_HANDOVER:
	case MSG_RESOLVE:
		mine = answer_routed(a, from, to, &m);
		break;
	case MSG_PING:
		if (a->bare)
			answer_ping(a, from, to, &m);
		break;
	default:
		break;
	}
	msg_free(&m);
	return !mine;
}

/* Sees every delivery to an engine.  A storm of honest messages can grow
 * sevenfold per round trip, faster than any step of the attack's loop
 * could notice, so it is caught here: past the budget the underlay drops
 * everything and the attack ends.  For reflect, counts what
 * reaches the victim in answer to the attacker's requests; the attacks
 * on names have their own (names_filter()). */
static enum sim_verdict
filter_cb(void *arg, int from, int to, const uint8_t *buf, size_t len,
    uint8_t **out, size_t *out_len)
{
	struct adv *a = arg;
	struct msg m;

	if (a->budget > 0 && ++a->seen > a->budget) {
		a->r->storm = 1;
		return SIM_DROP;
	}
	if (a->nm != NULL)
		return names_filter(a, from, to, buf, len, out, out_len);
	if (a->ids == NULL || to != a->victim ||
	    msg_decode_sealed(a->p->engine.seal, buf, len, &m) != 0)
		return SIM_PASS;
	bool request = m.type == MSG_PROBE || m.type == MSG_RESOLVE;
	bool reply = m.type == MSG_PROBE_REPLY || m.type == MSG_RESOLVE_REPLY;
	for (int i = 0; (request || reply) && i < a->n_ids; i++) {
		if (a->ids[i] != m.id)
			continue;
		if (request)
			a->hop[i] = true;
		else if (!a->hop[i])
			a->r->unsolicited_replies++;
		break;
	}
	msg_free(&m);
	return SIM_PASS;
}

/* Honest nodes in level-1 gnode `g` (the victim included), at most `max`
 * into `out`; returns how many. */
int
adv_members_of(const struct adv *a, ovl_addr_t g, int *out, int max)
{
	int n = 0;

	for (int i = 0; i < a->p->nodes && n < max; i++) {
		struct engine *e = adv_honest(a, i);
		if (e != NULL && ovl_prefix(engine_addr(e), 1) == g)
			out[n++] = i;
	}
	return n;
}

/* What one honest node holds as a live member at one address. */
struct holds {
	ovl_addr_t addr;
	const uint8_t *pk;
	bool found;
};

static int
holds_cb(void *arg, const struct engine_peer *p)
{
	struct holds *h = arg;

	if (p->level != 0 || p->addr != h->addr)
		return 0;
	h->found = memcmp(p->pk, h->pk, ANDNA_PK_LEN) == 0;
	return 1;
}

/* Whether honest node `i` holds `addr` as a live member with key `pk`. */
static bool
node_holds(const struct adv *a, int i, ovl_addr_t addr, const uint8_t *pk)
{
	struct holds h = {.addr = addr, .pk = pk};
	struct engine *e = adv_honest(a, i);

	if (e != NULL)
		engine_peers(e, holds_cb, &h);
	return h.found;
}

/* Members of the victim's gnode but the victim holding key `pk` (or, with
 * `lack`, not holding it) at the target address. */
static int
count_holding(const struct adv *a, const uint8_t *pk, bool lack)
{
	int m[256], n = adv_members_of(a, ovl_prefix(a->target, 1), m, 256), c = 0;

	for (int k = 0; k < n; k++)
		if (m[k] != a->victim &&
		    node_holds(a, m[k], a->target, pk) != lack)
			c++;
	return c;
}

/* ---- evict ---- */

static int
evict_begin_variant(struct adv *a)
{
	struct engine *v = adv_honest(a, a->victim);

	if (v == NULL)
		return ANDNA_EINVAL;
	a->target = engine_addr(v);
	a->self = adv_free_addr(a, ovl_prefix(a->target, 1));
	a->rehooks = engine_stats(v)->rehooks;
	return 0;
}

static int
evict_setup(struct adv *a)
{
	a->victim = adv_pick_honest(a, 3, 257);
	if (a->victim < 0)
		return ANDNA_EINVAL;
	memcpy(a->victim_pk, engine_node_key(sim_engine(a->s, a->victim)),
	    ANDNA_PK_LEN);
	int t;
	for (t = 0; t < ADV_MINT_TRIES; t++) {
		adv_mint(a, &a->low);
		if (memcmp(a->low.pk, a->victim_pk, ANDNA_PK_LEN) < 0)
			break;
	}
	if (t == ADV_MINT_TRIES ||
	    sim_hostile_place(a->s, a->slot, a->victim, NULL) != 0)
		return ANDNA_EINVAL;
	a->r->victim_evicted = a->r->members_holding_forged_key = 0;
	a->r->evicted_by_news = a->r->forged_by_news = 0;
	a->r->evicted_by_src = a->r->forged_by_src = 0;
	a->bare = true;
	return evict_begin_variant(a);
}

/* Pings every member of the victim's gnode: first with news that the
 * victim's address is the attacker's lower key, then from that address. */
static void
evict_act(struct adv *a)
{
	int m[256], n = adv_members_of(a, ovl_prefix(a->target, 1), m, 256);
	struct msg p;

	msg_init(&p);
	p.type = MSG_PING;
	p.has_src = true;
	if (a->by_src) {
		p.src = a->target;
		update_set(&p.u.updates.v[p.u.updates.n++], MSG_STATE_ALIVE,
		    a->target, 0, a->low.pk, &a->ep);
	} else {
		p.src = a->self;
		update_set(&p.u.updates.v[p.u.updates.n++], MSG_STATE_ALIVE,
		    a->self, 0, a->key.pk, &a->ep);
		update_set(&p.u.updates.v[p.u.updates.n++], MSG_STATE_ALIVE,
		    a->target, 0, a->low.pk, &a->ep);
	}
	for (int k = 0; k < n; k++) {
		p.id = adv_rand(a);
		adv_send(a, a->slot, m[k], &p, a->by_src ? &a->low : &a->key);
	}
}

static void
evict_sample(struct adv *a)
{
	struct engine *v = sim_engine(a->s, a->victim);
	int forged = count_holding(a, a->low.pk, false);
	int evicted = v != NULL && engine_stats(v)->rehooks > a->rehooks;
	int *f = a->by_src ? &a->r->forged_by_src : &a->r->forged_by_news;
	int *ev = a->by_src ? &a->r->evicted_by_src : &a->r->evicted_by_news;

	if (forged > *f)
		*f = forged;
	*ev |= evicted;
	a->r->victim_evicted = a->r->evicted_by_news + a->r->evicted_by_src;
	a->r->members_holding_forged_key =
	    a->r->forged_by_news > a->r->forged_by_src ? a->r->forged_by_news
						       : a->r->forged_by_src;
}

/* ---- death ---- */

/* Runs the simulation until hostile slot `i` hooked, or a while. */
bool
adv_join_wait(struct adv *a, int i)
{
	uint64_t end = sim_now(a->s) + ADV_JOIN_WAIT_MS;

	sim_join(a->s, i);
	while (sim_now(a->s) < end) {
		struct engine *e = sim_engine(a->s, i);
		if (e != NULL && engine_hooked(e))
			return true;
		sim_run_until(a->s, sim_now(a->s) + ADV_STEP_MS);
	}
	return false;
}

static int
death_setup(struct adv *a)
{
	a->victim = adv_pick_honest(a, 2, a->p->engine.gnode_size);
	if (a->victim < 0)
		a->victim = adv_pick_honest(a, 2, 257);
	if (a->victim < 0)
		return ANDNA_EINVAL;
	struct engine *v = sim_engine(a->s, a->victim);
	a->target = engine_addr(v);
	memcpy(a->victim_pk, engine_node_key(v), ANDNA_PK_LEN);
	/* in the victim's gnode honestly when it has room: news from a
	 * member counts for more than news from outside */
	if (sim_hostile_place(a->s, a->slot, a->victim, NULL) != 0)
		return ANDNA_EINVAL;
	if (adv_join_wait(a, a->slot) &&
	    ovl_prefix(engine_addr(sim_engine(a->s, a->slot)), 1) ==
		ovl_prefix(a->target, 1)) {
		a->r->insider = 1;
		a->self = engine_addr(sim_engine(a->s, a->slot));
		keypair_wipe(&a->key);
		sim_node_key(a->s, a->slot, &a->key);
	} else {
		sim_crash(a->s, a->slot);
		a->r->insider = 0;
		a->bare = true;
		a->self = adv_free_addr(a, ovl_prefix(a->target, 1));
	}
	a->r->members_counting_dead = a->r->members_counting_dead_after = 0;
	return 0;
}

/* Tells every member of the victim's gnode that the victim is dead at
 * the last incarnation there is. */
static void
death_act(struct adv *a)
{
	int m[256], n = adv_members_of(a, ovl_prefix(a->target, 1), m, 256);
	struct endpoint vep;
	struct msg p;

	sim_node_endpoint(a->s, a->victim, &vep);
	msg_init(&p);
	p.type = MSG_PING;
	p.has_src = true;
	p.src = a->self;
	if (a->bare)
		update_set(&p.u.updates.v[p.u.updates.n++], MSG_STATE_ALIVE,
		    a->self, 0, a->key.pk, &a->ep);
	update_set(&p.u.updates.v[p.u.updates.n++], MSG_STATE_DEAD, a->target,
	    UINT32_MAX, a->victim_pk, &vep);
	for (int k = 0; k < n; k++) {
		p.id = adv_rand(a);
		adv_send(a, a->slot, m[k], &p, &a->key);
	}
}

/* ---- fake gnodes: fake-gnodes and join-outside ---- */

/* Chooses ADV_FAKES level-1 prefixes that no running node lies in, in
 * turn under each level-2 parent honest nodes live in, so that each lies
 * beside honest gnodes; each with an honest node of that parent. */
static int
fakes_choose(struct adv *a)
{
	ovl_addr_t parents[256];
	int receivers[256], np = 0;

	for (int i = 0; i < a->p->nodes && np < 256; i++) {
		struct engine *e = adv_honest(a, i);
		if (e == NULL)
			continue;
		ovl_addr_t par = ovl_prefix(engine_addr(e), 2);
		int k;
		for (k = 0; k < np && parents[k] != par; k++)
			;
		if (k == np) {
			parents[np] = par;
			receivers[np++] = i;
		}
	}
	if (np == 0)
		return ANDNA_EINVAL;
	a->fakes = calloc(ADV_FAKES, sizeof(*a->fakes));
	if (a->fakes == NULL)
		return ANDNA_ENOMEM;
	for (int tries = 0; a->n_fakes < ADV_FAKES && tries < 64 * ADV_FAKES;
	     tries++) {
		int k = a->n_fakes % np;
		ovl_addr_t g = parents[k] | (ovl_addr_t)(adv_rand(a) % 256) << 8;
		if (adv_addr_used(a, g, 1) || fake_of(a, g) >= 0)
			continue;
		struct fake *f = &a->fakes[a->n_fakes++];
		f->prefix = g;
		f->receiver = receivers[k];
		adv_mint(a, &f->key);
	}
	a->r->fake_gnodes_in_maps = a->r->maps_with_fakes = 0;
	return 0;
}

static int
fake_gnodes_setup(struct adv *a)
{
	int at = adv_pick_honest(a, 1, 257);

	if (at < 0 || sim_hostile_place(a->s, a->slot, at, NULL) != 0)
		return ANDNA_EINVAL;
	/* hooked somewhere: its own gnode is real, the 200 are not */
	if (adv_join_wait(a, a->slot)) {
		a->self = engine_addr(sim_engine(a->s, a->slot));
	} else {
		sim_crash(a->s, a->slot);
		a->bare = true;
	}
	return fakes_choose(a);
}

/* Gossips the fakes under each parent to every honest node there, as
 * their member: age 0, half full, all at the attacker's endpoint. */
static void
fake_gnodes_act(struct adv *a)
{
	struct msg_outer *o = calloc(ADV_FAKES, sizeof(*o));
	struct msg g;

	if (o == NULL)
		return;
	for (int first = 0; first < a->n_fakes; first++) {
		ovl_addr_t par = ovl_prefix(a->fakes[first].prefix, 2);
		int n = 0, k;
		for (k = 0; k < first && ovl_prefix(a->fakes[k].prefix, 2) != par;
		     k++)
			;
		if (k < first)
			continue; /* that parent went already */
		for (k = first; k < a->n_fakes; k++) {
			if (ovl_prefix(a->fakes[k].prefix, 2) != par)
				continue;
			memset(&o[n], 0, sizeof(o[n]));
			o[n].level = 1;
			o[n].id = ovl_id(a->fakes[k].prefix, 1);
			o[n].children = (uint16_t)(a->p->engine.gnode_size / 2);
			o[n].n_contacts = 1;
			o[n].contacts[0].addr = a->fakes[k].prefix | 1;
			o[n++].contacts[0].ep = a->ep;
		}
		msg_init(&g);
		g.type = MSG_GOSSIP;
		g.has_src = true;
		g.src = a->fakes[first].prefix | 1;
		g.u.gossip.n_outer = (uint16_t)n;
		g.u.gossip.outer = o;
		for (int i = 0; i < a->p->nodes; i++) {
			struct engine *e = adv_honest(a, i);
			if (e == NULL || ovl_prefix(engine_addr(e), 2) != par)
				continue;
			g.id = adv_rand(a);
			adv_send(a, a->slot, i, &g, &a->key);
		}
	}
	free(o);
}

static int
join_outside_setup(struct adv *a)
{
	int at = adv_pick_honest(a, 1, 257);

	if (at < 0 || sim_hostile_place(a->s, a->slot, at, NULL) != 0)
		return ANDNA_EINVAL;
	a->bare = true;
	return fakes_choose(a);
}

/* A JOIN from inside each fake gnode to an honest node of its parent: a
 * node founding a new gnode beside the receiver's, each with its key. */
static void
join_outside_act(struct adv *a)
{
	struct msg j;

	for (int k = 0; k < a->n_fakes; k++) {
		msg_init(&j);
		j.type = MSG_JOIN;
		j.id = adv_rand(a);
		j.has_src = true;
		j.src = a->fakes[k].prefix | 1;
		j.u.join.n_eps = 1;
		j.u.join.eps[0] = a->ep;
		adv_send(a, a->slot, a->fakes[k].receiver, &j, &a->fakes[k].key);
	}
}

/* The most fakes one honest map holds, and the maps holding any. */
static void
fakes_count(struct adv *a)
{
	int most = 0, maps = 0;

	for (int i = 0; i < a->p->nodes; i++) {
		struct engine *e = adv_honest(a, i);
		struct round_view v;
		int n = 0;
		if (e == NULL)
			continue;
		engine_round_view(e, &v);
		for (int k = 0; k < a->n_fakes; k++)
			n += ovl_prefix(a->fakes[k].prefix, 2) ==
				ovl_prefix(engine_addr(e), 2) &&
			    idset_has(&v.ids[1], ovl_id(a->fakes[k].prefix, 1));
		most = n > most ? n : most;
		maps += n > 0;
	}
	a->r->fake_gnodes_in_maps = most;
	a->r->maps_with_fakes = maps;
}

/* ---- reflect ---- */

static int
reflect_setup(struct adv *a)
{
	a->victim = adv_pick_honest(a, 1, 257);
	int at = adv_pick_honest(a, 1, 257);

	if (a->victim < 0 || at < 0 ||
	    sim_hostile_place(a->s, a->slot, at, NULL) != 0)
		return ANDNA_EINVAL;
	a->target = engine_addr(sim_engine(a->s, a->victim));
	a->bare = true;
	a->ids = calloc(ADV_IDS_MAX, sizeof(*a->ids));
	a->hop = calloc(ADV_IDS_MAX, sizeof(*a->hop));
	if (a->ids == NULL || a->hop == NULL)
		return ANDNA_ENOMEM;
	a->r->unsolicited_replies = 0;
	return 0;
}

/* Probes and resolves from random honest nodes' view, to the victim's
 * own address or anywhere, naming the victim as their origin. */
static void
reflect_act(struct adv *a)
{
	struct msg m;

	for (int k = 0; k < ADV_REFLECT_BURST && a->n_ids < ADV_IDS_MAX; k++) {
		int to = adv_pick_honest(a, 1, 257);
		if (to < 0 || to == a->victim)
			continue;
		msg_init(&m);
		m.id = adv_rand(a);
		m.hops = (uint8_t)a->p->engine.hop_limit;
		m.has_src = true;
		m.src = a->target;
		struct msg_route *r;
		if (k % 2 == 0) {
			m.type = MSG_PROBE;
			r = &m.u.probe.route;
		} else {
			m.type = MSG_RESOLVE;
			strcpy(m.u.resolve.name, "reflect.test");
			r = &m.u.resolve.route;
		}
		r->target = k < 2 ? a->target : (ovl_addr_t)adv_rand(a);
		r->origin = a->target;
		a->ids[a->n_ids++] = m.id;
		adv_send(a, a->slot, to, &m, &a->key);
	}
}

/* ---- many addresses ---- */

static int
many_setup(struct adv *a)
{
	int at = adv_pick_honest(a, 1, 257);
	struct endpoint ep = {.family = 4, .ip = {10, 0, 0, 1}};

	if (at < 0)
		return ANDNA_EINVAL;
	for (int k = 0; k < ADV_MANY; k++) {
		ep.port = (uint16_t)(ADV_MANY_PORT + k);
		if (sim_hostile_place(a->s, a->slot + k, at, &ep) != 0)
			return ANDNA_EINVAL;
	}
	a->ep = ep;
	a->r->places_held = a->r->gnodes_vouched = 0;
	return 0;
}

/* Its nodes join one by one: real engines, one IP, each its own port
 * and key, each wherever the mesh lets it in. */
static void
many_act(struct adv *a)
{
	while (a->many_joined < ADV_MANY &&
	    sim_now(a->s) >= a->start + (uint64_t)a->many_joined * ADV_MANY_GAP_MS)
		sim_join(a->s, a->slot + a->many_joined++);
}

/* The gnodes one honest outer map has a contact at the attacker's IP for. */
struct vouch {
	const uint8_t *ip;
	ovl_addr_t seen[64];
	int n;
};

static int
vouch_cb(void *arg, const struct engine_peer *p)
{
	struct vouch *v = arg;

	if (p->level == 0 || p->ep->family != 4 || memcmp(p->ep->ip, v->ip, 4))
		return 0;
	ovl_addr_t g = ovl_prefix(p->addr, p->level) | (ovl_addr_t)p->level;
	for (int k = 0; k < v->n; k++)
		if (v->seen[k] == g)
			return 0;
	if (v->n < 64)
		v->seen[v->n++] = g;
	return 0;
}

static void
many_count(struct adv *a)
{
	int held = 0, most = 0;

	for (int k = 0; k < ADV_MANY; k++) {
		struct engine *h = sim_engine(a->s, a->slot + k);
		if (h == NULL || !engine_hooked(h))
			continue;
		for (int i = 0; i < a->p->nodes; i++) {
			if (node_holds(a, i, engine_addr(h), engine_node_key(h))) {
				held++;
				break;
			}
		}
	}
	for (int i = 0; i < a->p->nodes; i++) {
		struct vouch v = {.ip = a->ep.ip};
		struct engine *e = adv_honest(a, i);
		if (e == NULL)
			continue;
		engine_peers(e, vouch_cb, &v);
		most = v.n > most ? v.n : most;
	}
	a->r->places_held = held;
	a->r->gnodes_vouched = most;
}

/* ---- running an attack ---- */

static const char *const names[ADV_KINDS] = {"evict", "death",
    "fake-gnodes", "join-outside", "reflect", "many-addrs", "liar", "theft",
    "replay-release", "lost-release", "endless", "rollback", "counter-free",
    "queue-fill"};

const char *
adv_kind_name(enum adv_kind k)
{
	return k < ADV_KINDS ? names[k] : "unknown";
}

int
adv_parse(const char *list, unsigned *mask)
{
	*mask = 0;
	while (*list != '\0') {
		size_t len = strcspn(list, ",");
		int k;
		if (len == 3 && strncmp(list, "all", 3) == 0)
			*mask |= (1u << ADV_KINDS) - 1;
		else {
			for (k = 0; k < ADV_KINDS; k++)
				if (strlen(names[k]) == len &&
				    strncmp(names[k], list, len) == 0)
					break;
			if (k == ADV_KINDS)
				return ANDNA_EINVAL;
			*mask |= 1u << k;
		}
		list += len;
		if (*list == ',' && *++list == '\0')
			return ANDNA_EINVAL;
	}
	return *mask != 0 ? 0 : ANDNA_EINVAL;
}

/* Messages honest nodes sent so far, and how many of them run. */
static uint64_t
honest_sent(const struct adv *a, int *running)
{
	uint64_t n = 0;

	*running = 0;
	for (int i = 0; i < a->p->nodes; i++) {
		struct engine *e = sim_engine(a->s, i);
		if (e != NULL) {
			n += engine_stats(e)->sent;
			(*running)++;
		}
	}
	return n;
}

static double
rate(uint64_t msgs, int nodes, uint32_t ms)
{
	return nodes > 0 && ms > 0 ? (double)msgs / nodes / (ms / 1000.0) : -1;
}

static void
result_init(struct adv_result *r, enum adv_kind kind)
{
	memset(r, 0, sizeof(*r));
	r->kind = (int)kind;
	r->victim_evicted = r->members_holding_forged_key = -1;
	r->evicted_by_news = r->forged_by_news = -1;
	r->evicted_by_src = r->forged_by_src = -1;
	r->insider = r->members_counting_dead = -1;
	r->members_counting_dead_after = -1;
	r->fake_gnodes_in_maps = r->maps_with_fakes = -1;
	r->unsolicited_replies = -1;
	r->places_held = r->gnodes_vouched = -1;
	r->honest_msgs_per_node_s_before = -1;
	r->honest_msgs_per_node_s_during = -1;
	r->converged_s = r->agree = r->route_success = -1;
	r->resolve_success = r->copies_min = r->copies_mean = -1;
	names_result_init(r);
}

static int
adv_setup(struct adv *a)
{
	static const int slot[ADV_KINDS] = {SLOT_EVICT, SLOT_DEATH, SLOT_FAKE,
	    SLOT_JOIN, SLOT_REFLECT, SLOT_MANY};
	int err = 0;

	a->slot = a->p->nodes +
	    (names_kind(a->kind) ? SLOT_NAMES + (int)(a->kind - ADV_LIAR)
				 : slot[a->kind]);
	adv_mint(a, &a->key);
	if (names_kind(a->kind)) {
		/* the endpoint its REGISTERs name, where it answers */
		sim_node_endpoint(a->s, a->slot, &a->ep);
		return names_setup(a);
	}
	switch (a->kind) {
	case ADV_EVICT:
		err = evict_setup(a);
		break;
	case ADV_DEATH:
		err = death_setup(a);
		break;
	case ADV_FAKE_GNODES:
		err = fake_gnodes_setup(a);
		break;
	case ADV_JOIN_OUTSIDE:
		err = join_outside_setup(a);
		break;
	case ADV_REFLECT:
		err = reflect_setup(a);
		break;
	default:
		err = many_setup(a);
		break;
	}
	if (err == 0 && a->kind != ADV_MANY_ADDRS)
		sim_node_endpoint(a->s, a->slot, &a->ep);
	return err;
}

/* One act of an attack that lasts `ms`, when its period comes; returns
 * the period. */
static uint32_t
adv_act(struct adv *a, uint32_t ms)
{
	const struct engine_config *c = &a->p->engine;

	if (names_kind(a->kind))
		return names_act(a, ms);
	switch (a->kind) {
	case ADV_EVICT:
		evict_act(a);
		return c->ping_interval_ms;
	case ADV_DEATH:
		death_act(a);
		return c->ping_interval_ms;
	case ADV_FAKE_GNODES:
		fake_gnodes_act(a);
		return c->gossip_interval_ms;
	case ADV_JOIN_OUTSIDE:
		join_outside_act(a);
		return ADV_REJOIN_MS;
	case ADV_REFLECT:
		reflect_act(a);
		return ADV_STEP_MS;
	default:
		many_act(a);
		return ADV_STEP_MS;
	}
}

static uint64_t
delivered(const struct sim *s)
{
	struct sim_counters c;

	sim_counters(s, &c);
	return c.delivered;
}

/* The attack proper: acts on its period for `ms`, sampling as it goes,
 * and measures at the end while it still runs.  A storm ends it early:
 * returns the ms it lasted.  An attack on names measures after that, and
 * may run the simulation on (the resolutions it counts, the owner's
 * update it spoils). */
static uint32_t
adv_attack(struct adv *a, uint32_t ms, uint64_t budget)
{
	uint64_t end = sim_now(a->s) + ms, next = sim_now(a->s);

	a->start = sim_now(a->s);
	a->r->storm = 0;
	a->seen = 0;
	a->budget = budget;
	while (sim_now(a->s) < end && !a->r->storm) {
		if (a->kind == ADV_EVICT && !a->by_src &&
		    sim_now(a->s) >= a->start + ms / 2) {
			a->by_src = true;
			evict_begin_variant(a);
		}
		if (sim_now(a->s) >= next)
			next = sim_now(a->s) + adv_act(a, ms);
		uint64_t t = sim_now(a->s) + ADV_STEP_MS;
		sim_run_until(a->s, t < end ? t : end);
		if (a->kind == ADV_EVICT)
			evict_sample(a);
	}
	if (a->kind == ADV_DEATH)
		a->r->members_counting_dead =
		    count_holding(a, a->victim_pk, true);
	if (a->kind == ADV_FAKE_GNODES || a->kind == ADV_JOIN_OUTSIDE)
		fakes_count(a);
	if (a->kind == ADV_MANY_ADDRS)
		many_count(a);
	a->budget = 0;
	if (a->r->storm && a->kind == ADV_DEATH)
		a->r->members_counting_dead_after = -1; /* nobody left to
							 * count */
	if (a->r->storm && a->victim >= 0)
		sim_crash(a->s, a->victim); /* the storm would outlive us */
	uint32_t lasted = (uint32_t)(sim_now(a->s) - a->start);
	if (names_kind(a->kind))
		names_measure(a);
	return lasted;
}

int
adv_run(struct sim *s, enum adv_kind kind, uint32_t ms,
    struct adv_result *out)
{
	const struct sim_params *p = sim_config(s);
	struct adv a = {.s = s, .p = p, .kind = kind, .r = out, .victim = -1};
	int err, nodes;

	result_init(out, kind);
	if (kind >= ADV_KINDS || p->hostile < ADV_SLOTS || ms == 0)
		return ANDNA_EINVAL;
	a.rng = p->seed ^ 0x6164766572736172ULL ^ (uint64_t)kind << 56;
	a.buf = malloc(ADV_BUF);
	if (a.buf == NULL)
		return ANDNA_ENOMEM;
	sim_set_tap(s, tap_cb, &a);
	sim_set_filter(s, filter_cb, &a);
	if ((err = adv_setup(&a)) != 0)
		goto out;
	/* out->received counts honest traffic to the attacker only while
	 * it attacks */
	uint64_t sent0 = honest_sent(&a, &nodes), dv0 = delivered(s);
	sim_run_until(s, sim_now(s) + ms);
	out->honest_msgs_per_node_s_before =
	    rate(honest_sent(&a, &nodes) - sent0, nodes, ms);
	uint64_t budget = ADV_STORM * (delivered(s) - dv0 + 1000);
	out->received = 0;
	sent0 = honest_sent(&a, &nodes);
	uint32_t lasted = adv_attack(&a, ms, budget);
	out->honest_msgs_per_node_s_during =
	    rate(honest_sent(&a, &nodes) - sent0, nodes, lasted);
	if (kind == ADV_DEATH && !out->storm) {
		/* the attacker stops: does the gnode take the victim back? */
		sim_set_tap(s, NULL, NULL);
		sim_run_until(s, sim_now(s) + p->engine.suspect_ms +
			3 * (uint64_t)p->engine.ping_interval_ms);
		out->members_counting_dead_after =
		    count_holding(&a, a.victim_pk, true);
	}
out:
	sim_set_tap(s, NULL, NULL);
	sim_set_filter(s, NULL, NULL);
	for (int i = p->nodes; i < p->nodes + p->hostile; i++)
		sim_crash(s, i); /* the attack's nodes go with it */
	for (int k = 0; a.fakes != NULL && k < a.n_fakes; k++)
		keypair_wipe(&a.fakes[k].key);
	free(a.fakes);
	free(a.ids);
	free(a.hop);
	names_free(&a);
	free(a.buf);
	keypair_wipe(&a.key);
	keypair_wipe(&a.low);
	return err;
}

/* ---- the result as JSON ---- */

static void
json_num(FILE *f, const char *key, double v)
{
	fprintf(f, ",\"%s\":", key);
	if (v < 0)
		fputs("null", f);
	else if (v == (double)(long long)v && v < 1e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.6g", v);
}

void
adv_result_json(const struct adv_result *r, FILE *f)
{
	const struct {
		const char *key;
		long v;
	} m[] = {{"victim_evicted", r->victim_evicted},
	    {"members_holding_forged_key", r->members_holding_forged_key},
	    {"evicted_by_news", r->evicted_by_news},
	    {"forged_by_news", r->forged_by_news},
	    {"evicted_by_src", r->evicted_by_src},
	    {"forged_by_src", r->forged_by_src},
	    {"insider", r->insider},
	    {"members_counting_dead", r->members_counting_dead},
	    {"members_counting_dead_after", r->members_counting_dead_after},
	    {"fake_gnodes_in_maps", r->fake_gnodes_in_maps},
	    {"maps_with_fakes", r->maps_with_fakes},
	    {"unsolicited_replies", r->unsolicited_replies},
	    {"places_held", r->places_held},
	    {"gnodes_vouched", r->gnodes_vouched}, {"storm", r->storm}};

	fprintf(f, "{\"name\":\"%s\"", adv_kind_name((enum adv_kind)r->kind));
	json_num(f, "msgs_sent", (double)r->sent);
	json_num(f, "msgs_received", (double)r->received);
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (m[i].v >= 0)
			json_num(f, m[i].key, (double)m[i].v);
	names_json(r, f);
	json_num(f, "honest_msgs_per_node_s_before",
	    r->honest_msgs_per_node_s_before);
	json_num(f, "honest_msgs_per_node_s_during",
	    r->honest_msgs_per_node_s_during);
	json_num(f, "converged_s", r->converged_s);
	json_num(f, "agree", r->agree);
	json_num(f, "route_success", r->route_success);
	json_num(f, "resolve_success", r->resolve_success);
	json_num(f, "copies_min", r->copies_min);
	json_num(f, "copies_mean", r->copies_mean);
	fputc('}', f);
}
