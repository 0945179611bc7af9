/* The attacks on names (DESIGN.md sections 4, 5 and 10; sim/adversary.h).
 * Each is an attacker as strong as a real one: it mints keys at will but
 * signs records and envelopes only with keys it minted or its own node's;
 * it replays whatever it has seen, and it reads the true state of the
 * simulation (the records honest stores hold), as a real attacker could
 * have sniffed them.  It sends from its hostile slot, where its node runs
 * a real engine that hooked honestly (a bare endpoint if it could not).
 *
 * Messages that claim to come from a member of a gnode (REPLICATE,
 * SYNC_IDS, SYNC_PAGE) carry the address of an honest member of that
 * gnode, since that is what a receiver checks when it checks least, and
 * the attacker's own key, since it holds no other.  Routed requests
 * (HANDOVER, REGISTER, COUNTER_CHECK) go straight to an honest member of
 * the gnode they are for, as the last hop of a route would hand them.
 *
 * The victims are names honest nodes registered: the simulation's names
 * where the attack changes nothing an honest owner does (liar, theft,
 * queue-fill), and names of its own, registered by honest nodes under
 * honest keys, where the owner releases or updates its name (replay-
 * release, lost-release, endless, rollback), so that the names the
 * honest figures count keep their address sets.  Those owners' keys are
 * a pure function of the seed; the attacker never signs with them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/engine/round.h"
#include "proto/err.h"
#include "proto/msg.h"
#include "proto/record.h"
#include "sim/adversary.h"
#include "sim/adversary_int.h"
#include "sim/sim.h"
#include "store/store.h"

#define NM_VICTIMS 8	      /* victim names of one attack at most */
#define NM_NAMES 20	      /* registered when the simulation has none */
#define NM_RESOLVERS 10	      /* honest nodes that resolve each victim */
#define NM_PATH_NAMES 64      /* names a path attack watches at most */
#define NM_PATH_RESOLVES 800  /* resolutions it watches at most */
#define NM_IDS 4096	      /* requests a path attack remembers */
#define NM_SERVED 16	      /* items it serves to a SYNC_FETCH */
#define NM_SETTLE_MS 2000     /* a request's copies reach the members */
#define NM_SYNC_PERIODS 4     /* lost-release waits these after it */
#define NM_CLAIMS 5	      /* queue-fill: keys it mints for claims */
#define NM_NAME_TRIES 4096    /* names tried for a hash gnode that fits */
#define NM_REGISTER_TRIES 3   /* registrations of one name of ours */
#define NM_LIFE_SLACK_MS 2000 /* endless: a renewal in flight */

/* How the reply to a request reaches the attacker's node: it is the
 * member asked for its cache, a hop that passes a routed reply back, or
 * the hash-gnode member that answers itself. */
enum way { WAY_CACHE, WAY_HOP, WAY_MEMBER, WAYS };

static const char *const way_names[WAYS] = {"cache", "hop", "member"};

/* What a predicate over records looks for. */
enum want { WANT_ANY, WANT_OWNER, WANT_SEQ, WANT_ENDLESS };

/* A victim name. */
struct victim {
	char name[ANDNA_NAME_MAX + 1];
	ovl_addr_t gnode;    /* its true hash gnode */
	int owner_node;	     /* the honest node holding it, -1: not known */
	struct keypair key;  /* the honest owner's key, for names of ours
			      * (the attacker never signs with it) */
	uint64_t registered; /* sim_now() when registered, names of ours */
	uint8_t owner[ANDNA_PK_LEN];
	struct record *rec; /* what the attacker sends of it: its own
			     * record (theft), or the owner's it captured
			     * (replay, endless, rollback) */
	uint32_t age, life; /* that record's age and life as captured */
};

/* A request a path attack saw reach its node. */
struct seen {
	uint64_t id;
	uint8_t way;
	bool lied; /* an answer to it was replaced (retries count once) */
	char name[ANDNA_NAME_MAX + 1];
};

struct adv_names {
	int n;
	struct victim v[NM_VICTIMS];
	ovl_addr_t gnode;    /* the attacker's gnode, UINT32_MAX: none */
	struct keypair own;  /* the key it signs its records with */
	struct keypair node; /* its node's key, for envelopes it rewrites */
	bool attacking;	     /* the filter acts only while it attacks */
	int acts;
	/* liar and rollback: the requests seen, the answers replaced, and
	 * the liar's key for each way (one each, to tell them apart) */
	bool path;
	int path_first; /* rollback: victims from here are on the path */
	struct seen *seen;
	int n_seen;
	int lies[WAYS];
	struct keypair lie[WAYS];
	char (*watched)[ANDNA_NAME_MAX + 1]; /* liar: the names it watches */
	int n_watched;
	/* items it serves to a SYNC_FETCH (records borrowed from victims) */
	int n_served;
	struct msg_item served[NM_SERVED];
	/* lost-release: the REPLICATE it drops (to one of these members of
	 * the hash gnode), and when */
	bool drop_armed;
	int n_drop_to, drop_to[256];
	int dropped_to;
	uint64_t released_at;
	/* queue-fill: its claims' keys, and the node key and overlay
	 * address each claim's REGISTER came from (it answers the hash
	 * gnode's CHALLENGE for them, from its one host) */
	struct keypair claim[NM_CLAIMS], claim_node[NM_CLAIMS];
	ovl_addr_t claim_origin[NM_CLAIMS];
};

bool
names_kind(enum adv_kind kind)
{
	return kind >= ADV_LIAR && kind < ADV_KINDS;
}

/* A copy of `rec` the caller frees, or NULL. */
static struct record *
record_copy(const struct record *rec)
{
	uint8_t *buf = malloc(RECORD_WIRE_MAX);
	struct record *out = NULL;
	size_t len;

	if (buf != NULL &&
	    record_encode(rec, buf, RECORD_WIRE_MAX, &len) == 0 &&
	    record_decode(buf, len, &out) != 0)
		out = NULL;
	free(buf);
	return out;
}

/* ---- what honest stores hold ---- */

/* The live record of `name` in honest node i's store, a copy the caller
 * frees, with its times; NULL when there is none.  A release kept as a
 * tombstone holds no name and reads as none. */
static struct record *
stored(struct adv *a, int i, const char *name, uint64_t *stored_at,
    uint64_t *expires_at)
{
	struct store *st = adv_honest(a, i) != NULL ? sim_store(a->s, i) : NULL;
	struct store_txn *t = NULL;
	struct store_record sr;
	struct record *rec = NULL;

	if (st == NULL || store_txn_begin(st, false, &t) != 0)
		return NULL;
	if (store_record_get(t, name_hash8(name), name, &sr) == 0 &&
	    sr.expires_at > sim_clock(a->s) &&
	    record_decode(sr.rec, sr.rec_len, &rec) == 0) {
		*stored_at = sr.stored_at;
		*expires_at = sr.expires_at;
		if (record_is_release(rec)) {
			record_free(rec);
			rec = NULL;
		}
	}
	store_txn_abort(t);
	return rec;
}

/* Whether `rec` (with its expiry) is what `want` looks for. */
static bool
wanted(const struct adv *a, const struct record *rec, uint64_t expires_at,
    enum want want, const uint8_t *pk, uint64_t seq)
{
	uint64_t now = sim_clock(a->s);

	switch (want) {
	case WANT_ANY:
		return true;
	case WANT_OWNER:
		return memcmp(rec->owner, pk, ANDNA_PK_LEN) == 0;
	case WANT_SEQ:
		return memcmp(rec->owner, pk, ANDNA_PK_LEN) == 0 &&
		    rec->seq == seq;
	default:
		return expires_at > now &&
		    expires_at - now >
		    (uint64_t)a->p->engine.expiry_s * 1000 + NM_LIFE_SLACK_MS;
	}
}

/* Honest nodes whose store holds a live record of `name` that `want`
 * looks for. */
static int
count_held(struct adv *a, const char *name, enum want want, const uint8_t *pk,
    uint64_t seq)
{
	int n = 0;

	for (int i = 0; i < a->p->nodes; i++) {
		uint64_t at, exp;
		struct record *rec = stored(a, i, name, &at, &exp);
		if (rec != NULL)
			n += wanted(a, rec, exp, want, pk, seq);
		record_free(rec);
	}
	return n;
}

/* Honest nodes whose resolved cache holds a record of `name` that `want`
 * looks for. */
static int
count_cached(struct adv *a, const char *name, enum want want, const uint8_t *pk,
    uint64_t seq)
{
	int n = 0;

	for (int i = 0; i < a->p->nodes; i++) {
		struct store *st =
		    adv_honest(a, i) != NULL ? sim_store(a->s, i) : NULL;
		struct store_txn *t = NULL;
		struct store_cache c;
		struct record *rec = NULL;
		if (st == NULL || store_txn_begin(st, false, &t) != 0)
			continue;
		if (store_cache_get(t, name, sim_clock(a->s), &c) == 0 &&
		    c.rec != NULL && record_decode(c.rec, c.rec_len, &rec) == 0)
			n += wanted(a, rec, c.expires_at, want, pk, seq);
		record_free(rec);
		store_txn_abort(t);
	}
	return n;
}

/* The record of victim `v` an honest member of its hash gnode holds,
 * into v->rec with its age and life; false when none holds one. */
static bool
capture(struct adv *a, struct victim *v)
{
	int m[256], n = adv_members_of(a, v->gnode, m, 256);
	uint64_t now = sim_clock(a->s);

	record_free(v->rec);
	v->rec = NULL;
	for (int k = 0; k < n && v->rec == NULL; k++) {
		uint64_t at, exp;
		v->rec = stored(a, m[k], v->name, &at, &exp);
		if (v->rec != NULL) {
			v->age = (uint32_t)((now - at) / 1000);
			v->life = (uint32_t)((exp - now) / 1000);
		}
	}
	return v->rec != NULL;
}

/* ---- choosing victims ---- */

/* Honest hooked nodes, into `out` (room for p->nodes); returns how
 * many. */
static int
honest_nodes(const struct adv *a, int *out)
{
	int n = 0;

	for (int i = 0; i < a->p->nodes; i++)
		if (adv_honest(a, i) != NULL)
			out[n++] = i;
	return n;
}

/* Whether honest node `i` holds `name` as its own (it registered it). */
static bool
owns(struct adv *a, int i, const char *name)
{
	struct store *st = adv_honest(a, i) != NULL ? sim_store(a->s, i) : NULL;
	struct store_txn *t = NULL;
	struct store_own o;
	bool yes = false;

	if (st != NULL && store_txn_begin(st, false, &t) == 0) {
		yes = store_own_get(t, name, &o) == 0;
		store_txn_abort(t);
	}
	return yes;
}

/* Fills victim `v` with the simulation's registered name k. */
static void
victim_of_name(struct adv *a, struct victim *v, int k)
{
	struct record_entry ents[SIM_NAME_ENTRIES_MAX];
	struct keypair kp;
	int n;

	memset(v, 0, sizeof(*v));
	sim_name_gen(a->s, k, v->name, ents, &n);
	sim_hash_gnode(a->s, v->name, &v->gnode, NULL);
	/* the owner's public key only: the attacker can read it off any
	 * copy */
	sim_name_owner(a->s, k, &kp);
	memcpy(v->owner, kp.pk, ANDNA_PK_LEN);
	keypair_wipe(&kp);
	v->owner_node = -1;
	for (int i = 0; i < a->p->nodes && v->owner_node < 0; i++)
		if (owns(a, i, v->name))
			v->owner_node = i;
}

/* Picks up to `want` of the simulation's registered names as victims,
 * whose hash gnode has `min` to `max` honest members and is not the
 * attacker's; those whose backup gnode is the attacker's first (it holds
 * their copies by right, and a handover from it is what a receiver could
 * expect).  Returns how many. */
static int
victims_registered(struct adv *a, int want, int min, int max)
{
	struct adv_names *nm = a->nm;
	int total = sim_names_count(a->s), m[256];

	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < total && nm->n < want; k++) {
			char name[ANDNA_NAME_MAX + 1];
			struct record_entry ents[SIM_NAME_ENTRIES_MAX];
			ovl_addr_t g, b;
			int n, dup = 0;
			if (sim_name_status(a->s, k) != 0)
				continue;
			sim_name_gen(a->s, k, name, ents, &n);
			sim_hash_gnode(a->s, name, &g, &b);
			int members = adv_members_of(a, g, m, 256);
			if (g == nm->gnode || members < min || members > max ||
			    (pass == 0) != (b == nm->gnode))
				continue;
			for (int j = 0; j < nm->n; j++)
				dup |= strcmp(nm->v[j].name, name) == 0;
			if (!dup)
				victim_of_name(a, &nm->v[nm->n++], k);
		}
	}
	return nm->n;
}

/* The key of the honest owner of our name k: a pure function of the seed,
 * held by the honest node that registers the name. */
static void
honest_key(const struct adv *a, int k, struct keypair *kp)
{
	uint8_t in[32] = "adv-honest-owner", seed[ANDNA_HASH_LEN];

	for (int b = 0; b < 8; b++)
		in[16 + b] = (uint8_t)(a->p->seed >> (8 * b));
	in[24] = (uint8_t)a->kind;
	in[25] = (uint8_t)k;
	hash_blake2b(seed, in, sizeof(in));
	keypair_from_seed(kp, seed);
	sodium_memzero(seed, sizeof(seed));
}

/* The address set of our name k: 10.99.k.`last`. */
static struct record_entry
entry_of(int k, uint8_t last)
{
	struct record_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = RECORD_TARGET_IPV4;
	e.priority = 10;
	e.weight = 1;
	e.target.ip[0] = 10;
	e.target.ip[1] = 99;
	e.target.ip[2] = (uint8_t)k;
	e.target.ip[3] = last;
	return e;
}

/* A name of ours as victim: registered by a random honest node under an
 * honest key, with a hash gnode of at least `min` honest members that is
 * `in` (UINT32_MAX: any but the attacker's).  Returns 0 or ANDNA_EINVAL
 * when no name fits or none registers. */
static int
victim_ours(struct adv *a, int min, ovl_addr_t in)
{
	struct adv_names *nm = a->nm;
	int *from = malloc((size_t)a->p->nodes * sizeof(*from));
	int m[256], nfrom, k = nm->n, done = 0;

	if (k >= NM_VICTIMS || from == NULL) {
		free(from);
		return k >= NM_VICTIMS ? ANDNA_EINVAL : ANDNA_ENOMEM;
	}
	nfrom = honest_nodes(a, from);
	struct victim *v = &nm->v[k];
	memset(v, 0, sizeof(*v));
	honest_key(a, k, &v->key);
	memcpy(v->owner, v->key.pk, ANDNA_PK_LEN);
	for (int t = 0, regs = 0; !done && nfrom > 0 && t < NM_NAME_TRIES &&
	     regs < NM_REGISTER_TRIES;
	     t++) {
		snprintf(v->name, sizeof(v->name), "%s-v%d-%d.adv",
		    adv_kind_name(a->kind), k, t);
		sim_hash_gnode(a->s, v->name, &v->gnode, NULL);
		if ((in != UINT32_MAX && v->gnode != in) ||
		    (in == UINT32_MAX && v->gnode == nm->gnode) ||
		    adv_members_of(a, v->gnode, m, 256) < min)
			continue;
		struct record_entry e = entry_of(k, 1);
		struct sim_ns_result r;
		v->owner_node = from[adv_rand(a) % (uint64_t)nfrom];
		regs++;
		if (sim_register(a->s, v->owner_node, v->name, &e, 1, &v->key,
			&r) == 0 &&
		    r.status == 0)
			done = 1;
		sim_ns_result_fini(&r);
	}
	free(from);
	if (!done) {
		keypair_wipe(&v->key);
		return ANDNA_EINVAL;
	}
	v->registered = sim_now(a->s);
	nm->n++;
	return 0;
}

/* Registers `count` names of ours as victims, as victim_ours(), with
 * hash gnodes of three honest members or more where there are such,
 * else of two. */
static int
victims_ours(struct adv *a, int count, ovl_addr_t in)
{
	for (int k = 0; k < count; k++) {
		int err = victim_ours(a, 3, in);
		if (err == ANDNA_EINVAL)
			err = victim_ours(a, 2, in);
		if (err != 0)
			return err;
	}
	sim_run_until(a->s, sim_now(a->s) + NM_SETTLE_MS);
	return 0;
}

/* ---- its node ---- */

/* Hooks the attacker's node beside honest node `at`, in its gnode when
 * that has room; a bare endpoint there if it does not hook.  Its node key
 * signs the envelopes it sends from then on. */
static int
hook(struct adv *a, int at)
{
	struct adv_names *nm = a->nm;

	if (at < 0 || sim_hostile_place(a->s, a->slot, at, NULL) != 0)
		return ANDNA_EINVAL;
	sim_node_key(a->s, a->slot, &nm->node);
	if (adv_join_wait(a, a->slot)) {
		a->self = engine_addr(sim_engine(a->s, a->slot));
		nm->gnode = ovl_prefix(a->self, 1);
		keypair_wipe(&a->key);
		a->key = nm->node;
	} else {
		sim_crash(a->s, a->slot);
		a->bare = true;
		a->self = adv_free_addr(
		    a, ovl_prefix(engine_addr(sim_engine(a->s, at)), 1));
	}
	return 0;
}

/* An honest node in a gnode with at least `min` honest members and room
 * for one more, or -1. */
static int
room_at(struct adv *a, int min)
{
	int at = adv_pick_honest(a, min, a->p->engine.gnode_size);

	return at >= 0 ? at : adv_pick_honest(a, min, 257);
}

/* ---- what it sends ---- */

/* An address to claim as the sender of member-to-member traffic to
 * honest node `to` of gnode `g`: another honest member's, else a free
 * one. */
static ovl_addr_t
spoof(struct adv *a, ovl_addr_t g, int to)
{
	int m[256], n = adv_members_of(a, g, m, 256);

	for (int k = 0; k < n; k++)
		if (m[k] != to)
			return engine_addr(sim_engine(a->s, m[k]));
	return adv_free_addr(a, g);
}

/* A random honest member of gnode `g`, or -1. */
static int
member(struct adv *a, ovl_addr_t g)
{
	int m[256], n = adv_members_of(a, g, m, 256);

	return n > 0 ? m[adv_rand(a) % (uint64_t)n] : -1;
}

/* The id anti-entropy knows an item by (node/engine/ns_sync.c): a hash of the
 * name and owner (of the owner and name for a tally), and its bucket. */
static void
ident(const struct msg_item *it, struct msg_id *id)
{
	uint8_t buf[ANDNA_NAME_MAX + ANDNA_PK_LEN], h[ANDNA_HASH_LEN];
	size_t nlen = strlen(it->rec->name), len = 0;

	if (it->kind == MSG_KIND_TALLIES) {
		memcpy(buf, it->rec->owner, ANDNA_PK_LEN);
		len = ANDNA_PK_LEN;
	}
	memcpy(buf + len, it->rec->name, nlen);
	len += nlen;
	if (it->kind != MSG_KIND_TALLIES) {
		memcpy(buf + len, it->rec->owner, ANDNA_PK_LEN);
		len += ANDNA_PK_LEN;
	}
	hash_blake2b(h, buf, len);
	memcpy(id->hash, h, MSG_HASH8_LEN);
	id->seq = it->rec->seq;
}

static void
send_replicate(struct adv *a, int to, ovl_addr_t g, const struct msg_item *it)
{
	struct msg m;

	msg_init(&m);
	m.type = MSG_REPLICATE;
	m.id = adv_rand(a);
	m.has_src = true;
	m.src = spoof(a, g, to);
	m.u.replicate.n = 1;
	m.u.replicate.v = (struct msg_item *)it; /* borrowed to encode */
	adv_send(a, a->slot, to, &m, &a->key);
}

/* Anti-entropy both ways: a page of items nobody asked for, and the id
 * of the item with its seq as a member's SYNC_IDS lists them, so that a
 * receiver that lacks it (or holds a lower seq) fetches it from us; the
 * fetch is served from nm->served. */
static void
send_sync(struct adv *a, int to, ovl_addr_t g, const struct msg_item *it)
{
	struct adv_names *nm = a->nm;
	struct msg_id id;
	struct msg m;
	bool have = false;

	for (int k = 0; k < nm->n_served; k++)
		have |= nm->served[k].rec == it->rec &&
		    nm->served[k].kind == it->kind;
	if (!have && nm->n_served < NM_SERVED)
		nm->served[nm->n_served++] = *it;
	msg_init(&m);
	m.type = MSG_SYNC_PAGE;
	m.id = adv_rand(a);
	m.has_src = true;
	m.src = spoof(a, g, to);
	m.u.sync_page.kind = it->kind;
	m.u.sync_page.items.n = 1;
	m.u.sync_page.items.v = (struct msg_item *)it;
	m.u.sync_page.next.end = true;
	adv_send(a, a->slot, to, &m, &a->key);
	ident(it, &id);
	msg_init(&m);
	m.type = MSG_SYNC_IDS;
	m.id = adv_rand(a);
	m.has_src = true;
	m.src = spoof(a, g, to);
	m.u.sync_ids.kind = it->kind;
	m.u.sync_ids.bucket = (uint8_t)(id.hash[0] >> 4);
	m.u.sync_ids.n_ids = 1;
	m.u.sync_ids.ids = &id;
	adv_send(a, a->slot, to, &m, &a->key);
}

/* A routed request's envelope and header: from the attacker's address
 * (or `origin`), for `target`, handed to its last hop. */
static void
routed_init(struct adv *a, struct msg *m, uint8_t type, ovl_addr_t origin,
    struct msg_route *r, ovl_addr_t target)
{
	m->type = type;
	m->id = adv_rand(a);
	m->hops = (uint8_t)a->p->engine.hop_limit;
	m->has_src = true;
	m->src = origin;
	r->target = target;
	r->origin = origin;
}

static void
send_handover(
    struct adv *a, int to, ovl_addr_t target, const struct msg_item *it)
{
	struct msg m;

	msg_init(&m);
	routed_init(a, &m, MSG_HANDOVER, a->self, &m.u.handover.route, target);
	m.u.handover.items.n = 1;
	m.u.handover.items.v = (struct msg_item *)it;
	adv_send(a, a->slot, to, &m, &a->key);
}

/* A REGISTER of `rec` from `origin`, in an envelope of `kp`. */
static void
send_register(struct adv *a, int to, const struct record *rec,
    ovl_addr_t origin, const struct keypair *kp)
{
	struct msg m;

	msg_init(&m);
	routed_init(
	    a, &m, MSG_REGISTER, origin, &m.u.reg.route, name_hash(rec->name));
	m.u.reg.rec = (struct record *)rec;
	m.u.reg.ep = a->ep; /* its one host: a claim is challenged there */
	adv_send(a, a->slot, to, &m, kp);
}

static void
send_counter(struct adv *a, int to, const struct record *rec, uint8_t op)
{
	struct msg m;

	msg_init(&m);
	routed_init(a, &m, MSG_COUNTER_CHECK, a->self, &m.u.counter_check.route,
	    key_hash(rec->owner));
	m.u.counter_check.op = op;
	m.u.counter_check.rec = (struct record *)rec;
	adv_send(a, a->slot, to, &m, &a->key);
}

/* Sends item `it` of victim `v` the way `type` says: REPLICATE and
 * SYNC_PAGE to every honest member of its hash gnode, HANDOVER and
 * REGISTER to one. */
static void
send_as(struct adv *a, const struct victim *v, uint8_t type,
    const struct msg_item *it)
{
	int m[256], n = adv_members_of(a, v->gnode, m, 256);

	if (n == 0)
		return;
	switch (type) {
	case MSG_REPLICATE:
		for (int k = 0; k < n; k++)
			send_replicate(a, m[k], v->gnode, it);
		break;
	case MSG_SYNC_PAGE:
		for (int k = 0; k < n; k++)
			send_sync(a, m[k], v->gnode, it);
		break;
	case MSG_HANDOVER:
		send_handover(
		    a, m[adv_rand(a) % (uint64_t)n], name_hash(v->name), it);
		break;
	default:
		send_register(
		    a, m[adv_rand(a) % (uint64_t)n], it->rec, a->self, &a->key);
		break;
	}
}

/* A record of `name` under `kp` (one IPv4 address: 6.6.6.6), signed;
 * NULL on failure. */
static struct record *
forge(const char *name, const struct keypair *kp, uint64_t seq)
{
	struct record *rec = NULL;
	struct record_entry e = entry_of(0, 0);

	e.target.ip[0] = e.target.ip[1] = e.target.ip[2] = e.target.ip[3] = 6;
	if (record_new(name, kp->pk, seq, &rec) != 0 ||
	    record_add_entry(rec, &e) != 0 || record_sign(rec, kp) != 0) {
		record_free(rec);
		return NULL;
	}
	return rec;
}

/* A release of `name` under `kp`, signed. */
static struct record *
release_of(const char *name, const struct keypair *kp, uint64_t seq)
{
	struct record *rec = NULL;

	if (record_new(name, kp->pk, seq, &rec) != 0 ||
	    record_sign(rec, kp) != 0) {
		record_free(rec);
		return NULL;
	}
	return rec;
}

/* ---- resolving ---- */

/* What honest resolutions of victims returned. */
struct tally {
	int tried, got;
};

/* Resolves `name` from NM_RESOLVERS random honest nodes, and counts the
 * answers whose record `want` looks for (WANT_ANY: any success). */
static void
resolve_count(struct adv *a, const char *name, enum want want,
    const uint8_t *pk, uint64_t seq, struct tally *t)
{
	int *from = malloc((size_t)a->p->nodes * sizeof(*from));
	int nodes[NM_RESOLVERS];
	const char *names[NM_RESOLVERS];
	struct sim_ns_result r[NM_RESOLVERS];
	int nfrom, n = 0;

	if (from == NULL)
		return;
	nfrom = honest_nodes(a, from);
	while (n < NM_RESOLVERS && n < nfrom) {
		/* distinct resolvers: a partial shuffle */
		int j = n + (int)(adv_rand(a) % (uint64_t)(nfrom - n));
		int x = from[n];
		from[n] = from[j];
		from[j] = x;
		nodes[n] = from[n];
		names[n++] = name;
	}
	free(from);
	if (sim_resolve_many(a->s, n, nodes, names, 2000, r) != 0)
		return;
	for (int k = 0; k < n; k++) {
		t->tried++;
		t->got += r[k].status == 0 && r[k].rec != NULL &&
		    wanted(a, r[k].rec, UINT64_MAX, want, pk, seq);
		sim_ns_result_fini(&r[k]);
	}
	a->r->name_resolves += n;
}

/* ---- the path attacks: liar and rollback ---- */

static struct seen *
seen_find(struct adv_names *nm, uint64_t id)
{
	for (int k = 0; k < nm->n_seen && k < NM_IDS; k++)
		if (nm->seen[k].id == id)
			return &nm->seen[k];
	return NULL;
}

/* A request for `name` reached its node: remember how its answer will
 * leave (a RESOLVE counts as answered by the node itself until a reply
 * to it comes back through it). */
static void
seen_note(struct adv_names *nm, uint64_t id, const char *name, enum way way)
{
	if (seen_find(nm, id) != NULL)
		return;
	struct seen *x = &nm->seen[nm->n_seen++ % NM_IDS];
	x->id = id;
	x->way = (uint8_t)way;
	x->lied = false;
	snprintf(x->name, sizeof(x->name), "%s", name);
}

/* The record the attacker answers with for `name`, a new one the caller
 * frees, or NULL to let the answer pass: the liar's own record for any
 * name (its key for that way), rollback's captured older record for a
 * name on its path. */
static struct record *
lie_for(struct adv *a, const char *name, enum way way, uint64_t seq)
{
	struct adv_names *nm = a->nm;

	if (a->kind == ADV_LIAR)
		return forge(name, &nm->lie[way], seq);
	for (int k = nm->path_first; k < nm->n; k++)
		if (strcmp(nm->v[k].name, name) == 0)
			return record_copy(nm->v[k].rec);
	return NULL;
}

/* An answer its engine sends: rewritten to carry the attacker's record,
 * in an envelope of its node's key as the answer had. */
static enum sim_verdict
rewrite(struct adv *a, const uint8_t *buf, size_t len, uint8_t **out,
    size_t *out_len)
{
	struct adv_names *nm = a->nm;
	struct msg m;
	struct seen *x;

	if (msg_decode_sealed(a->p->engine.seal, buf, len, &m) != 0)
		return SIM_PASS;
	/* an answer to a request it did not see come in (one the resolver
	 * made some other way) is a member's answer about the name it
	 * carries */
	struct seen any = {.id = m.id, .way = WAY_MEMBER};
	if ((x = seen_find(nm, m.id)) == NULL &&
	    m.u.resolve_reply.rec != NULL) {
		memcpy(any.name, m.u.resolve_reply.rec->name, sizeof(any.name));
		x = &any;
	}
	struct record *rec = x == NULL
	    ? NULL
	    : lie_for(a, x->name, (enum way)x->way,
		  m.u.resolve_reply.rec != NULL ? m.u.resolve_reply.rec->seq + 1
						: sim_clock(a->s) / 1000);
	if (rec == NULL) {
		msg_free(&m);
		return SIM_PASS;
	}
	if (m.u.resolve_reply.status != MSG_ST_OK ||
	    m.u.resolve_reply.rec == NULL)
		m.u.resolve_reply.life = a->p->engine.expiry_s;
	m.u.resolve_reply.status = MSG_ST_OK;
	record_free(m.u.resolve_reply.rec);
	m.u.resolve_reply.rec = rec;
	*out = malloc(ADV_BUF);
	if (*out == NULL ||
	    msg_encode_sealed(&m, a->p->engine.seal, &nm->node, *out, ADV_BUF,
		out_len) != 0) {
		free(*out);
		*out = NULL;
		msg_free(&m);
		return SIM_PASS;
	}
	nm->lies[x->way] += !x->lied;
	x->lied = true;
	msg_free(&m);
	return SIM_REPLACE;
}

/* The level at which honest node `i` knows the attacker's node: 0 as a
 * member, 1..3 as a contact of a sibling gnode; -1 when it does not. */
struct knows {
	ovl_addr_t addr;
	int level;
};

static int
knows_cb(void *arg, const struct engine_peer *p)
{
	struct knows *k = arg;

	if (p->addr != k->addr)
		return 0;
	k->level = p->level;
	return 1;
}

/* The resolutions a path attack watches, into nodes/names (room for
 * NM_PATH_RESOLVES): the honest members of its gnode resolve every
 * watched name (the member one asks for its cache may be the attacker),
 * honest nodes that hold the attacker as a contact resolve the watched
 * names routed through it, and others the names whose hash gnode is its
 * own.  Shuffled, and cut at NM_PATH_RESOLVES; returns how many. */
static int
path_pairs(struct adv *a, char (*watched)[ANDNA_NAME_MAX + 1], int n_watched,
    int *nodes, const char **names)
{
	ovl_addr_t g[NM_PATH_NAMES];
	int n = 0, cap = 4 * NM_PATH_RESOLVES;
	int *pn = malloc((size_t)cap * sizeof(*pn));
	const char **pm = malloc((size_t)cap * sizeof(*pm));

	if (pn == NULL || pm == NULL) {
		free(pn);
		free(pm);
		return 0;
	}
	for (int k = 0; k < n_watched; k++)
		sim_hash_gnode(a->s, watched[k], &g[k], NULL);
	for (int i = 0; i < a->p->nodes; i++) {
		struct engine *e = adv_honest(a, i);
		struct knows kn = {.addr = a->self, .level = -1};
		if (e == NULL)
			continue;
		engine_peers(e, knows_cb, &kn);
		for (int k = 0; k < n_watched && n < cap; k++) {
			bool via = kn.level == 0 ||
			    (kn.level > 0 &&
				ovl_prefix(g[k], kn.level) ==
				    ovl_prefix(a->self, kn.level));
			/* a sample of the rest: its gnode's contacts are
			 * chosen at random, the attacker among them */
			bool mine =
			    g[k] == a->nm->gnode && adv_rand(a) % 4 == 0;
			if (via || mine) {
				pn[n] = i;
				pm[n++] = watched[k];
			}
		}
	}
	for (int k = 0; k < n; k++) {
		int j = k + (int)(adv_rand(a) % (uint64_t)(n - k));
		int x = pn[k];
		const char *y = pm[k];
		pn[k] = pn[j];
		pm[k] = pm[j];
		pn[j] = x;
		pm[j] = y;
	}
	n = n < NM_PATH_RESOLVES ? n : NM_PATH_RESOLVES;
	memcpy(nodes, pn, (size_t)n * sizeof(*pn));
	memcpy(names, pm, (size_t)n * sizeof(*pm));
	free(pn);
	free(pm);
	return n;
}

/* Runs the watched resolutions over `spread_ms`; out[] gets their
 * outcomes (the caller finis them).  Returns how many ran. */
static int
path_resolve(struct adv *a, char (*watched)[ANDNA_NAME_MAX + 1], int n_watched,
    uint32_t spread_ms, struct sim_ns_result **out)
{
	int *nodes = malloc(NM_PATH_RESOLVES * sizeof(*nodes));
	const char **names = malloc(NM_PATH_RESOLVES * sizeof(*names));
	struct sim_ns_result *r = calloc(NM_PATH_RESOLVES, sizeof(*r));
	int n = 0;

	*out = NULL;
	if (nodes != NULL && names != NULL && r != NULL) {
		n = path_pairs(a, watched, n_watched, nodes, names);
		if (sim_resolve_many(a->s, n, nodes, names, spread_ms, r) != 0)
			n = 0;
	}
	free(nodes);
	free(names);
	if (r != NULL && n == 0) {
		free(r);
		r = NULL;
	}
	*out = r;
	a->r->name_resolves += n;
	return n;
}

/* ---- liar ---- */

static int
liar_setup(struct adv *a)
{
	struct adv_names *nm = a->nm;
	int total = sim_names_count(a->s), err;

	/* on the path of a victim's resolutions: in its hash gnode, which
	 * has room for it */
	if (victims_registered(a, 1, 2, a->p->engine.gnode_size - 1) == 0 &&
	    victims_registered(a, 1, 1, 256) == 0)
		return ANDNA_EINVAL;
	int m[256], n = adv_members_of(a, nm->v[0].gnode, m, 256);
	if ((err = hook(a, m[adv_rand(a) % (uint64_t)n])) != 0)
		return err;
	nm->path = true;
	nm->seen = calloc(NM_IDS, sizeof(*nm->seen));
	nm->watched = calloc(NM_PATH_NAMES, sizeof(*nm->watched));
	if (nm->seen == NULL || nm->watched == NULL)
		return ANDNA_ENOMEM;
	/* the names of its gnode, then others at random */
	for (int pass = 0; pass < 2; pass++)
		for (int k = 0; k < total && nm->n_watched < NM_PATH_NAMES;
		     k++) {
			char *name = nm->watched[nm->n_watched];
			struct record_entry ents[SIM_NAME_ENTRIES_MAX];
			ovl_addr_t g;
			int ne;
			if (sim_name_status(a->s, k) != 0)
				continue;
			sim_name_gen(a->s, k, name, ents, &ne);
			sim_hash_gnode(a->s, name, &g, NULL);
			if (pass == 0 ? g == nm->gnode
				      : g != nm->gnode && adv_rand(a) % 2 == 0)
				nm->n_watched++;
		}
	for (int w = 0; w < WAYS; w++)
		adv_mint(a, &nm->lie[w]);
	a->r->forged_resolves = a->r->forged_cached = a->r->lies = 0;
	return 0;
}

/* Honest nodes resolve the watched names while it lies on their path. */
static void
liar_act(struct adv *a, uint32_t ms)
{
	struct adv_names *nm = a->nm;
	struct sim_ns_result *r;
	int n = path_resolve(a, nm->watched, nm->n_watched, ms / 2, &r);

	for (int w = 0; w < WAYS; w++) {
		struct adv_variant *x = &a->r->variants[w];
		x->resolves = n;
		x->resolved = 0;
	}
	for (int k = 0; k < n; k++) {
		for (int w = 0; w < WAYS; w++)
			a->r->variants[w].resolved += r[k].status == 0 &&
			    r[k].rec != NULL &&
			    memcmp(r[k].rec->owner, nm->lie[w].pk,
				ANDNA_PK_LEN) == 0;
		sim_ns_result_fini(&r[k]);
	}
	free(r);
}

static void
liar_measure(struct adv *a)
{
	struct adv_names *nm = a->nm;

	for (int w = 0; w < WAYS; w++) {
		struct adv_variant *x = &a->r->variants[w];
		x->lies = nm->lies[w];
		x->cached = 0;
		for (int k = 0; k < nm->n_watched; k++)
			x->cached += count_cached(
			    a, nm->watched[k], WANT_OWNER, nm->lie[w].pk, 0);
		a->r->forged_resolves += x->resolved;
		a->r->forged_cached += x->cached;
		a->r->lies += x->lies;
	}
}

/* ---- theft ---- */

#define THEFT_VARIANTS 6 /* handover, replicate, sync; each max and sane */

static const uint8_t theft_types[3] = {
    MSG_HANDOVER, MSG_REPLICATE, MSG_SYNC_PAGE};
static const char *const type_names[3] = {"handover", "replicate", "sync"};

static int
theft_setup(struct adv *a)
{
	struct adv_names *nm = a->nm;
	int err = hook(a, adv_pick_honest(a, 1, 257));

	if (err != 0)
		return err;
	if (victims_registered(a, THEFT_VARIANTS, 2, 256) < THEFT_VARIANTS)
		victims_registered(a, THEFT_VARIANTS, 1, 256);
	if (nm->n == 0)
		return ANDNA_EINVAL;
	for (int k = 0; k < nm->n; k++) {
		struct victim *v = &nm->v[k];
		/* its own record of the name, under a key of its own */
		v->rec = forge(v->name, &nm->own, sim_clock(a->s) / 1000);
		if (v->rec == NULL)
			return ANDNA_ENOMEM;
	}
	a->r->forged_held = a->r->forged_resolves = 0;
	return 0;
}

/* Variant k: type k / 2; age = life = 2^32-1 when k is even, else the
 * sanest values that still win (the age of a registration older than
 * anyone's, just under the expiry, and a full life). */
static void
theft_act(struct adv *a)
{
	struct adv_names *nm = a->nm;
	uint32_t sane = a->p->engine.expiry_s - 1;

	for (int k = 0; k < nm->n; k++) {
		struct victim *v = &nm->v[k];
		struct msg_item it = {.kind = MSG_KIND_RECORDS,
		    .age = k % 2 == 0 ? UINT32_MAX : sane,
		    .life = k % 2 == 0 ? UINT32_MAX : sane,
		    .rec = v->rec};
		send_as(a, v, theft_types[(k / 2) % 3], &it);
	}
}

static void
theft_measure(struct adv *a)
{
	struct adv_names *nm = a->nm;

	for (int k = 0; k < nm->n; k++) {
		struct adv_variant *x = &a->r->variants[k];
		struct tally t = {0};
		x->held =
		    count_held(a, nm->v[k].name, WANT_OWNER, nm->own.pk, 0);
		resolve_count(a, nm->v[k].name, WANT_OWNER, nm->own.pk, 0, &t);
		x->resolves = t.tried;
		x->resolved = t.got;
		a->r->forged_held += x->held;
		a->r->forged_resolves += x->resolved;
	}
}

/* ---- replay-release and lost-release ---- */

#define REPLAY_VARIANTS 4 /* replicate, handover, sync, register */

static const uint8_t replay_types[REPLAY_VARIANTS] = {
    MSG_REPLICATE, MSG_HANDOVER, MSG_SYNC_PAGE, MSG_REGISTER};
static const char *const replay_names[REPLAY_VARIANTS] = {
    "replicate", "handover", "sync", "register"};

/* The owner of victim `v` releases it, through its engine. */
static int
owner_release(struct adv *a, struct victim *v)
{
	struct sim_ns_result r;
	int err = sim_release(a->s, v->owner_node, v->name, &r);

	if (err == 0 && r.status != 0)
		err = ANDNA_EINVAL;
	sim_ns_result_fini(&r);
	return err;
}

static int
replay_setup(struct adv *a)
{
	struct adv_names *nm = a->nm;
	int err = hook(a, adv_pick_honest(a, 1, 257));

	if (err == 0)
		err = victims_ours(a, REPLAY_VARIANTS, UINT32_MAX);
	for (int k = 0; err == 0 && k < nm->n; k++) {
		/* what it saw of the name while it was held */
		if (!capture(a, &nm->v[k]))
			return ANDNA_EINVAL;
		err = owner_release(a, &nm->v[k]);
	}
	if (err != 0)
		return err;
	/* the release reached everyone a while ago */
	sim_run_until(a->s, sim_now(a->s) + a->p->engine.sync_interval_ms);
	a->r->resurrected_held = a->r->resurrected_resolves = 0;
	return 0;
}

static void
replay_act(struct adv *a)
{
	struct adv_names *nm = a->nm;

	for (int k = 0; k < nm->n; k++) {
		struct victim *v = &nm->v[k];
		struct msg_item it = {.kind = MSG_KIND_RECORDS,
		    .age = v->age,
		    .life = v->life,
		    .rec = v->rec};
		send_as(a, v, replay_types[k % REPLAY_VARIANTS], &it);
	}
}

/* Honest nodes holding the released names live again, and honest
 * resolutions that succeed. */
static void
resurrected_measure(struct adv *a)
{
	struct adv_names *nm = a->nm;

	for (int k = 0; k < nm->n; k++) {
		struct adv_variant *x = &a->r->variants[k];
		struct tally t = {0};
		x->held = count_held(a, nm->v[k].name, WANT_ANY, NULL, 0);
		resolve_count(a, nm->v[k].name, WANT_ANY, NULL, 0, &t);
		x->resolves = t.tried;
		x->resolved = t.got;
		a->r->resurrected_held += x->held;
		a->r->resurrected_resolves += x->resolved;
	}
}

static int
lost_setup(struct adv *a)
{
	/* the network loses the message: no node of its own */
	a->bare = true;
	a->self = 0;
	a->r->resurrected_held = a->r->resurrected_resolves = 0;
	return victims_ours(a, 1, UINT32_MAX);
}

/* The owner releases its name; the REPLICATE that carries the release to
 * one member is lost (the filter drops it). */
static void
lost_act(struct adv *a)
{
	struct adv_names *nm = a->nm;

	nm->n_drop_to = adv_members_of(a, nm->v[0].gnode, nm->drop_to, 256);
	nm->drop_armed = true;
	nm->dropped_to = -1;
	if (owner_release(a, &nm->v[0]) != 0)
		a->r->variants[0].status = ANDNA_EINVAL;
	nm->released_at = sim_now(a->s);
	nm->drop_armed = false;
}

/* Whether `buf` is a REPLICATE carrying a release of `name`. */
static bool
carries_release(struct adv *a, const uint8_t *buf, size_t len, const char *name)
{
	struct msg m;
	bool yes = false;

	if (len < 3 || buf[2] != MSG_REPLICATE ||
	    msg_decode_sealed(a->p->engine.seal, buf, len, &m) != 0)
		return false;
	for (int k = 0; k < m.u.replicate.n; k++)
		yes |= strcmp(m.u.replicate.v[k].rec->name, name) == 0 &&
		    record_is_release(m.u.replicate.v[k].rec);
	msg_free(&m);
	return yes;
}

/* ---- endless ---- */

/* replicate, sync, handover; each max and refresh */
#define ENDLESS_VARIANTS 6

static int
endless_setup(struct adv *a)
{
	struct adv_names *nm = a->nm;
	int err = hook(a, adv_pick_honest(a, 1, 257));

	if (err == 0)
		err = victims_ours(a, ENDLESS_VARIANTS, UINT32_MAX);
	for (int k = 0; err == 0 && k < nm->n; k++)
		if (!capture(a, &nm->v[k]))
			err = ANDNA_EINVAL;
	a->r->endless_held = a->r->update_too_soon = 0;
	return err;
}

/* The owner's own record of victim k, as genuine as it was: with life
 * 2^32-1 (even variants), or with a full life of the expiry, which a cap
 * on lives lets through, re-sent up to the owner's update so that the
 * update always seems to follow the last one too soon (odd variants; see
 * endless_measure()). */
static void
endless_send(struct adv *a, int k)
{
	struct victim *v = &a->nm->v[k];
	struct msg_item it = {.kind = MSG_KIND_RECORDS,
	    .age = v->age,
	    .life = k % 2 == 0 ? UINT32_MAX : a->p->engine.expiry_s,
	    .rec = v->rec};

	send_as(a, v, theft_types[(k / 2 + 1) % 3], &it);
}

/* Copies living past the expiry; then, once the minimum interval since
 * it registered is over, the owner updates its address set. */
static void
endless_measure(struct adv *a)
{
	struct adv_names *nm = a->nm;
	uint64_t ready = 0;

	for (int k = 0; k < nm->n; k++) {
		struct adv_variant *x = &a->r->variants[k];
		x->held = count_held(a, nm->v[k].name, WANT_ENDLESS, NULL, 0);
		a->r->endless_held += x->held;
		uint64_t t = nm->v[k].registered +
		    (uint64_t)a->p->engine.min_update_s * 1000 + NM_SETTLE_MS;
		ready = t > ready ? t : ready;
	}
	if (sim_now(a->s) < ready)
		sim_run_until(a->s, ready);
	for (int k = 0; k < nm->n; k++) {
		struct victim *v = &nm->v[k];
		struct adv_variant *x = &a->r->variants[k];
		struct record_entry e = entry_of(k, 2);
		struct sim_ns_result r;
		if (k % 2 == 1) {
			/* a fresh life just before the update */
			endless_send(a, k);
			sim_run_until(a->s, sim_now(a->s) + NM_SETTLE_MS / 2);
		}
		int err = sim_register(
		    a->s, v->owner_node, v->name, &e, 1, &v->key, &r);
		x->status = err != 0 ? err : r.status;
		x->outcome = x->status == ANDNA_ETOO_SOON;
		a->r->update_too_soon += x->outcome;
		sim_ns_result_fini(&r);
	}
}

/* ---- rollback ---- */

#define ROLLBACK_MEMBERS 3 /* replicate, handover, sync */
#define ROLLBACK_PATH 2	   /* names on its path */

static int
rollback_setup(struct adv *a)
{
	struct adv_names *nm = a->nm;
	int err = hook(a, room_at(a, 3));

	if (err != 0)
		return err;
	/* names replayed to members elsewhere, then names in its gnode,
	 * whose resolutions it answers or passes */
	if ((err = victims_ours(a, ROLLBACK_MEMBERS, UINT32_MAX)) != 0)
		return err;
	nm->path_first = nm->n;
	if (nm->gnode != UINT32_MAX &&
	    (err = victims_ours(a, ROLLBACK_PATH, nm->gnode)) != 0)
		return err;
	uint64_t ready = 0;
	for (int k = 0; k < nm->n; k++) {
		if (!capture(a, &nm->v[k]))
			return ANDNA_EINVAL;
		uint64_t t = nm->v[k].registered +
		    (uint64_t)a->p->engine.min_update_s * 1000 + NM_SETTLE_MS;
		ready = t > ready ? t : ready;
	}
	/* the owners update their address sets since */
	if (sim_now(a->s) < ready)
		sim_run_until(a->s, ready);
	for (int k = 0; k < nm->n; k++) {
		struct victim *v = &nm->v[k];
		struct record_entry e = entry_of(k, 2);
		struct sim_ns_result r;
		err = sim_register(
		    a->s, v->owner_node, v->name, &e, 1, &v->key, &r);
		if (err == 0 && r.status != 0)
			err = ANDNA_EINVAL;
		sim_ns_result_fini(&r);
		if (err != 0)
			return err;
	}
	sim_run_until(a->s, sim_now(a->s) + NM_SETTLE_MS);
	/* its members hold the newer record now: the older one is what
	 * the attack brings back */
	for (int k = 0; k < nm->n; k++)
		if (count_held(a, nm->v[k].name, WANT_SEQ, nm->v[k].owner,
			nm->v[k].rec->seq) > 0)
			return ANDNA_EINVAL;
	nm->path = nm->n > nm->path_first;
	nm->seen = calloc(NM_IDS, sizeof(*nm->seen));
	if (nm->seen == NULL)
		return ANDNA_ENOMEM;
	a->r->rolled_back_held = a->r->rolled_back_resolves = 0;
	a->r->rolled_back_cached = 0;
	return 0;
}

static void
rollback_act(struct adv *a, uint32_t ms)
{
	struct adv_names *nm = a->nm;
	char(*watched)[ANDNA_NAME_MAX + 1] = NULL;

	for (int k = 0; k < nm->path_first; k++) {
		struct victim *v = &nm->v[k];
		struct msg_item it = {.kind = MSG_KIND_RECORDS,
		    .age = v->age,
		    .life = v->life,
		    .rec = v->rec};
		send_as(a, v, theft_types[(k + 1) % 3], &it);
	}
	int np = nm->n - nm->path_first;
	if (np <= 0 || (watched = calloc((size_t)np, sizeof(*watched))) == NULL)
		return;
	for (int k = 0; k < np; k++)
		memcpy(watched[k], nm->v[nm->path_first + k].name,
		    sizeof(watched[k]));
	struct sim_ns_result *r;
	int n = path_resolve(a, watched, np, ms / 2, &r);
	struct adv_variant *x = &a->r->variants[ROLLBACK_MEMBERS];
	x->resolves = n;
	x->resolved = 0;
	for (int k = 0; k < n; k++) {
		for (int j = nm->path_first; j < nm->n; j++)
			x->resolved += r[k].status == 0 && r[k].rec != NULL &&
			    strcmp(r[k].rec->name, nm->v[j].name) == 0 &&
			    wanted(a, r[k].rec, UINT64_MAX, WANT_SEQ,
				nm->v[j].owner, nm->v[j].rec->seq);
		sim_ns_result_fini(&r[k]);
	}
	free(r);
	free(watched);
}

static void
rollback_measure(struct adv *a)
{
	struct adv_names *nm = a->nm;

	for (int k = 0; k < nm->path_first; k++) {
		struct victim *v = &nm->v[k];
		struct adv_variant *x = &a->r->variants[k];
		struct tally t = {0};
		x->held =
		    count_held(a, v->name, WANT_SEQ, v->owner, v->rec->seq);
		resolve_count(a, v->name, WANT_SEQ, v->owner, v->rec->seq, &t);
		x->resolves = t.tried;
		x->resolved = t.got;
		x->cached =
		    count_cached(a, v->name, WANT_SEQ, v->owner, v->rec->seq);
		a->r->rolled_back_held += x->held;
		a->r->rolled_back_resolves += x->resolved;
		a->r->rolled_back_cached += x->cached;
	}
	if (nm->n == nm->path_first)
		return;
	struct adv_variant *x = &a->r->variants[ROLLBACK_MEMBERS];
	x->lies =
	    nm->lies[WAY_CACHE] + nm->lies[WAY_HOP] + nm->lies[WAY_MEMBER];
	x->cached = x->held = 0;
	for (int k = nm->path_first; k < nm->n; k++) {
		struct victim *v = &nm->v[k];
		x->held +=
		    count_held(a, v->name, WANT_SEQ, v->owner, v->rec->seq);
		x->cached +=
		    count_cached(a, v->name, WANT_SEQ, v->owner, v->rec->seq);
	}
	a->r->rolled_back_held += x->held;
	a->r->rolled_back_resolves += x->resolved;
	a->r->rolled_back_cached += x->cached;
}

/* ---- counter-free ---- */

/* COUNTER_CHECK remove, a tally's release by HANDOVER, by REPLICATE */
#define COUNTER_VARIANTS 3

static const char *const counter_names[COUNTER_VARIANTS] = {
    "counter-check", "tally-handover", "tally-replicate"};

/* Registers name `tag`-`k` under its own key from its own node; returns
 * the status. */
static int
own_register(struct adv *a, const char *tag, int k, struct victim *v)
{
	struct record_entry e = entry_of(k, 66);
	struct sim_ns_result r;

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s-%s%d.adv",
	    adv_kind_name(a->kind), tag, k);
	sim_hash_gnode(a->s, v->name, &v->gnode, NULL);
	memcpy(v->owner, a->nm->own.pk, ANDNA_PK_LEN);
	v->owner_node = a->slot;
	int err = sim_register(a->s, a->slot, v->name, &e, 1, &a->nm->own, &r);
	sim_ns_result_fini(&r);
	return err != 0 ? err : r.status;
}

static int
counter_setup(struct adv *a)
{
	struct adv_names *nm = a->nm;
	int err = hook(a, adv_pick_honest(a, 1, 257));

	if (err != 0 || a->bare)
		return err != 0 ? err : ANDNA_EINVAL;
	/* its key at its limit: as many names as it may hold */
	for (int k = 0; k < a->p->engine.max_names_per_key; k++) {
		struct victim v;
		if (own_register(a, "n", k, &v) != 0)
			return ANDNA_EINVAL;
		if (nm->n < COUNTER_VARIANTS)
			nm->v[nm->n++] = v;
	}
	sim_run_until(a->s, sim_now(a->s) + NM_SETTLE_MS);
	a->r->extra_names = 0;
	return nm->n > 0 ? 0 : ANDNA_EINVAL;
}

/* Each variant: a release of a name it still holds reaches only its
 * counter gnode; then it registers one name more. */
static void
counter_act(struct adv *a)
{
	struct adv_names *nm = a->nm;
	ovl_addr_t cg = sim_round_target(a->s, key_hash(nm->own.pk));
	int m[256], n = adv_members_of(a, cg, m, 256);

	for (int w = 0; w < COUNTER_VARIANTS && n > 0; w++) {
		struct victim *v = &nm->v[w % nm->n];
		struct adv_variant *x = &a->r->variants[w];
		if (!capture(a, v))
			continue;
		struct record *rel =
		    release_of(v->name, &nm->own, v->rec->seq + 1);
		struct msg_item it = {.kind = MSG_KIND_TALLIES,
		    .age = 0,
		    .life = a->p->engine.expiry_s,
		    .rec = rel};
		if (rel == NULL)
			continue;
		if (w == 0)
			send_counter(a, m[adv_rand(a) % (uint64_t)n], rel,
			    MSG_OP_REMOVE);
		else if (w == 1)
			send_handover(a, m[adv_rand(a) % (uint64_t)n],
			    key_hash(nm->own.pk), &it);
		else
			for (int k = 0; k < n; k++)
				send_replicate(a, m[k], cg, &it);
		sim_run_until(a->s, sim_now(a->s) + NM_SETTLE_MS);
		struct victim extra;
		x->status = own_register(a, "x", w, &extra);
		x->outcome = x->status == 0;
		/* and the name it "released" is still its own */
		x->held = count_held(a, v->name, WANT_OWNER, nm->own.pk, 0);
		a->r->extra_names += x->outcome;
		record_free(rel);
	}
}

/* ---- queue-fill ---- */

static int
queue_setup(struct adv *a)
{
	struct adv_names *nm = a->nm;
	int err = hook(a, adv_pick_honest(a, 1, 257));

	if (err != 0)
		return err;
	if (victims_registered(a, 1, 2, 256) == 0 &&
	    victims_registered(a, 1, 1, 256) == 0)
		return ANDNA_EINVAL;
	for (int k = 0; k < NM_CLAIMS; k++) {
		adv_mint(a, &nm->claim[k]);
		adv_mint(a, &nm->claim_node[k]);
	}
	a->r->attacker_claims = a->r->claimant_queued = 0;
	return 0;
}

/* Five claims of minted keys, each from an origin of its own in an
 * envelope of its own, all naming its one endpoint (the only one it can
 * answer at); then an honest node claims the name. */
static void
queue_act(struct adv *a)
{
	struct adv_names *nm = a->nm;
	struct victim *v = &nm->v[0];
	int *from = malloc((size_t)a->p->nodes * sizeof(*from));
	int nfrom = from != NULL ? honest_nodes(a, from) : 0;
	struct adv_variant *x = &a->r->variants[0];

	for (int k = 0; k < NM_CLAIMS && nfrom > 0; k++) {
		struct record *rec =
		    forge(v->name, &nm->claim[k], sim_clock(a->s) / 1000);
		int to = member(a, v->gnode);
		ovl_addr_t origin = adv_free_addr(a,
		    ovl_prefix(engine_addr(sim_engine(
				   a->s, from[adv_rand(a) % (uint64_t)nfrom])),
			1));
		nm->claim_origin[k] = origin;
		if (rec != NULL && to >= 0)
			send_register(a, to, rec, origin, &nm->claim_node[k]);
		record_free(rec);
	}
	sim_run_until(a->s, sim_now(a->s) + NM_SETTLE_MS);
	/* an honest claimant: a node that does not hold the name, a key of
	 * its own */
	int at = -1;
	for (int t = 0; t < 64 && nfrom > 0 && at < 0; t++) {
		int i = from[adv_rand(a) % (uint64_t)nfrom];
		if (i != v->owner_node && !owns(a, i, v->name))
			at = i;
	}
	free(from);
	if (at < 0)
		return;
	struct keypair kp;
	struct record_entry e = entry_of(0, 7);
	struct sim_ns_result r;
	honest_key(a, NM_CLAIMS, &kp);
	int err = sim_register(a->s, at, v->name, &e, 1, &kp, &r);
	keypair_wipe(&kp);
	x->status = err != 0 ? err : r.status;
	x->outcome = x->status != ANDNA_ENAME_QUEUED;
	a->r->claimant_queued = x->status == ANDNA_ENAME_QUEUED;
	sim_ns_result_fini(&r);
}

/* The claims of minted keys the members of the hash gnode hold. */
struct claims_seen {
	const struct adv_names *nm;
	int n;
};

static int
claims_cb(void *arg, const struct store_claim *c)
{
	struct claims_seen *cs = arg;

	for (int k = 0; k < NM_CLAIMS; k++)
		cs->n += memcmp(c->pk, cs->nm->claim[k].pk, ANDNA_PK_LEN) == 0;
	return 0;
}

static void
queue_measure(struct adv *a)
{
	struct adv_names *nm = a->nm;
	struct victim *v = &nm->v[0];
	int m[256], n = adv_members_of(a, v->gnode, m, 256), most = 0;

	for (int k = 0; k < n; k++) {
		struct claims_seen cs = {.nm = nm};
		struct store_txn *t = NULL;
		if (store_txn_begin(sim_store(a->s, m[k]), false, &t) != 0)
			continue;
		store_claim_list(t, name_hash8(v->name), v->name, claims_cb, &cs);
		store_txn_abort(t);
		most = cs.n > most ? cs.n : most;
	}
	a->r->variants[0].held = most;
	a->r->attacker_claims = most;
}

/* ---- the driver's side ---- */

static void
variant_init(struct adv_variant *x, const char *name)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->held = x->resolves = x->resolved = x->cached = x->lies = -1;
	x->outcome = -1;
}

/* Names every variant of the attack, its measures unset. */
static void
variants_name(struct adv *a)
{
	struct adv_result *r = a->r;
	char name[24];

	switch (a->kind) {
	case ADV_LIAR:
		r->n_variants = WAYS;
		for (int w = 0; w < WAYS; w++)
			variant_init(&r->variants[w], way_names[w]);
		break;
	case ADV_THEFT:
		r->n_variants = a->nm->n;
		for (int k = 0; k < a->nm->n; k++) {
			snprintf(name, sizeof(name), "%s-%s",
			    type_names[(k / 2) % 3],
			    k % 2 == 0 ? "max" : "sane");
			variant_init(&r->variants[k], name);
		}
		break;
	case ADV_REPLAY_RELEASE:
		r->n_variants = a->nm->n;
		for (int k = 0; k < a->nm->n; k++)
			variant_init(
			    &r->variants[k], replay_names[k % REPLAY_VARIANTS]);
		break;
	case ADV_LOST_RELEASE:
		r->n_variants = 1;
		variant_init(&r->variants[0], "one-replicate-lost");
		break;
	case ADV_ENDLESS:
		r->n_variants = a->nm->n;
		for (int k = 0; k < a->nm->n; k++) {
			snprintf(name, sizeof(name), "%s-%s",
			    type_names[(k / 2 + 1) % 3],
			    k % 2 == 0 ? "max" : "refresh");
			variant_init(&r->variants[k], name);
		}
		break;
	case ADV_ROLLBACK:
		r->n_variants = a->nm->path_first;
		for (int k = 0; k < a->nm->path_first; k++)
			variant_init(&r->variants[k], type_names[(k + 1) % 3]);
		if (a->nm->n > a->nm->path_first)
			variant_init(&r->variants[r->n_variants++], "path");
		break;
	case ADV_COUNTER_FREE:
		r->n_variants = COUNTER_VARIANTS;
		for (int w = 0; w < COUNTER_VARIANTS; w++)
			variant_init(&r->variants[w], counter_names[w]);
		break;
	default:
		r->n_variants = 1;
		variant_init(&r->variants[0], "five-minted-keys");
		break;
	}
}

void
names_result_init(struct adv_result *r)
{
	r->forged_resolves = r->forged_cached = r->lies = r->forged_held = -1;
	r->resurrected_held = r->resurrected_resolves = -1;
	r->endless_held = r->update_too_soon = -1;
	r->rolled_back_held = r->rolled_back_resolves = -1;
	r->rolled_back_cached = -1;
	r->extra_names = -1;
	r->attacker_claims = r->claimant_queued = -1;
	r->name_resolves = -1;
	r->n_variants = 0;
}

int
names_setup(struct adv *a)
{
	struct sim_names_result nr;
	int err, registered = 0;

	if ((a->nm = calloc(1, sizeof(*a->nm))) == NULL)
		return ANDNA_ENOMEM;
	a->nm->gnode = UINT32_MAX;
	a->nm->dropped_to = -1;
	adv_mint(a, &a->nm->own);
	for (int k = 0; k < sim_names_count(a->s); k++)
		registered += sim_name_status(a->s, k) == 0;
	if (registered == 0 &&
	    (err = sim_names_register(
		 a->s, sim_names_count(a->s), NM_NAMES, 5000, &nr)) != 0)
		return err;
	switch (a->kind) {
	case ADV_LIAR:
		err = liar_setup(a);
		break;
	case ADV_THEFT:
		err = theft_setup(a);
		break;
	case ADV_REPLAY_RELEASE:
		err = replay_setup(a);
		break;
	case ADV_LOST_RELEASE:
		err = lost_setup(a);
		break;
	case ADV_ENDLESS:
		err = endless_setup(a);
		break;
	case ADV_ROLLBACK:
		err = rollback_setup(a);
		break;
	case ADV_COUNTER_FREE:
		err = counter_setup(a);
		break;
	default:
		err = queue_setup(a);
		break;
	}
	if (err == 0) {
		variants_name(a);
		a->r->name_resolves = 0;
	}
	return err;
}

uint32_t
names_act(struct adv *a, uint32_t ms)
{
	struct adv_names *nm = a->nm;
	uint32_t once = ms + 1; /* no second act */

	nm->attacking = true;
	switch (a->kind) {
	case ADV_LIAR:
		liar_act(a, ms);
		return once;
	case ADV_THEFT:
		theft_act(a);
		break; /* and again halfway */
	case ADV_REPLAY_RELEASE:
		replay_act(a);
		break;
	case ADV_LOST_RELEASE:
		if (nm->acts++ == 0)
			lost_act(a);
		return once;
	case ADV_ENDLESS:
		for (int k = 0; k < nm->n; k++)
			endless_send(a, k);
		break;
	case ADV_ROLLBACK:
		rollback_act(a, ms);
		return once;
	case ADV_COUNTER_FREE:
		counter_act(a);
		return once;
	default:
		queue_act(a);
		return once;
	}
	return nm->acts++ == 0 ? ms / 2 : once;
}

void
names_measure(struct adv *a)
{
	struct adv_names *nm = a->nm;

	nm->attacking = false;
	switch (a->kind) {
	case ADV_LIAR:
		liar_measure(a);
		break;
	case ADV_THEFT:
		theft_measure(a);
		break;
	case ADV_REPLAY_RELEASE:
		resurrected_measure(a);
		break;
	case ADV_LOST_RELEASE: {
		/* a few anti-entropy periods after the release */
		uint64_t t = nm->released_at +
		    NM_SYNC_PERIODS * (uint64_t)a->p->engine.sync_interval_ms;
		if (sim_now(a->s) < t)
			sim_run_until(a->s, t);
		a->r->variants[0].lies = nm->dropped_to >= 0; /* lost: 1 */
		resurrected_measure(a);
		break;
	}
	case ADV_ENDLESS:
		endless_measure(a);
		break;
	case ADV_ROLLBACK:
		rollback_measure(a);
		break;
	case ADV_COUNTER_FREE:
		break;
	default:
		queue_measure(a);
		break;
	}
}

/* A member fetches items by id, most likely after our SYNC_IDS: it gets
 * those we serve, from the member address it thinks it asked. */
static bool
serve_fetch(struct adv *a, int from, const struct msg *m)
{
	struct adv_names *nm = a->nm;
	struct msg_item items[NM_SERVED];
	struct msg r;
	int n = 0;

	for (int k = 0; k < nm->n_served; k++) {
		struct msg_id id;
		if (nm->served[k].kind != m->u.sync_fetch.kind)
			continue;
		ident(&nm->served[k], &id);
		for (int j = 0; j < m->u.sync_fetch.n_hashes; j++)
			if (memcmp(m->u.sync_fetch.hashes[j], id.hash,
				MSG_HASH8_LEN) == 0) {
				items[n++] = nm->served[k];
				break;
			}
	}
	struct engine *e = adv_honest(a, from);
	if (n == 0 || e == NULL)
		return false;
	msg_init(&r);
	r.type = MSG_SYNC_PAGE;
	r.id = m->id;
	r.has_src = true;
	r.src = spoof(a, ovl_prefix(engine_addr(e), 1), from);
	r.u.sync_page.kind = m->u.sync_fetch.kind;
	r.u.sync_page.items.n = (uint8_t)n;
	r.u.sync_page.items.v = items;
	r.u.sync_page.next.end = true;
	adv_send(a, a->slot, from, &r, &a->key);
	return true;
}

/* Answers the CHALLENGE `m` for the origin it names, with key `kp`, from
 * the attacker's slot: what a real attacker on one host can do. */
static void
answer_claim(struct adv *a, int from, const struct msg *m,
    const struct keypair *kp)
{
	struct msg r;

	msg_init(&r);
	r.type = MSG_CHALLENGE_REPLY;
	r.id = m->id;
	r.has_src = true;
	r.src = m->u.challenge.addr;
	memcpy(r.u.challenge_reply.nonce, m->u.challenge.nonce, MSG_NONCE_LEN);
	adv_send(a, a->slot, from, &r, kp);
}

bool
names_tap(struct adv *a, int from, int to, const struct msg *m)
{
	struct adv_names *nm = a->nm;
	struct seen *x;

	(void)to;
	switch (m->type) {
	case MSG_CHALLENGE:
		/* queue-fill: "prove you are the origin of that claim" */
		for (int k = 0; a->kind == ADV_QUEUE_FILL && k < NM_CLAIMS; k++)
			if (m->u.challenge.addr == nm->claim_origin[k]) {
				answer_claim(a, from, m, &nm->claim_node[k]);
				return false;
			}
		break;
	case MSG_CACHE_READ:
		if (nm->path)
			seen_note(nm, m->id, m->u.cache_read.name, WAY_CACHE);
		break;
	case MSG_RESOLVE:
		if (nm->path)
			seen_note(nm, m->id, m->u.resolve.name, WAY_MEMBER);
		break;
	case MSG_RESOLVE_REPLY:
		/* an answer coming back through it: it is a hop */
		if (nm->path && (x = seen_find(nm, m->id)) != NULL &&
		    x->way == WAY_MEMBER)
			x->way = WAY_HOP;
		break;
	case MSG_SYNC_FETCH:
		if (nm->attacking && serve_fetch(a, from, m))
			return false;
		break;
	default:
		break;
	}
	return !a->bare;
}

enum sim_verdict
names_filter(struct adv *a, int from, int to, const uint8_t *buf, size_t len,
    uint8_t **out, size_t *out_len)
{
	struct adv_names *nm = a->nm;

	bool to_member = false;

	for (int k = 0; nm->drop_armed && k < nm->n_drop_to; k++)
		to_member |= nm->drop_to[k] == to;
	if (to_member && carries_release(a, buf, len, nm->v[0].name)) {
		nm->drop_armed = false;
		nm->dropped_to = to;
		return SIM_DROP;
	}
	if (nm->path && nm->attacking && from == a->slot && len > 2 &&
	    buf[2] == MSG_RESOLVE_REPLY)
		return rewrite(a, buf, len, out, out_len);
	return SIM_PASS;
}

void
names_free(struct adv *a)
{
	struct adv_names *nm = a->nm;

	if (nm == NULL)
		return;
	for (int k = 0; k < nm->n; k++) {
		record_free(nm->v[k].rec);
		keypair_wipe(&nm->v[k].key);
	}
	for (int w = 0; w < WAYS; w++)
		keypair_wipe(&nm->lie[w]);
	for (int k = 0; k < NM_CLAIMS; k++) {
		keypair_wipe(&nm->claim[k]);
		keypair_wipe(&nm->claim_node[k]);
	}
	keypair_wipe(&nm->own);
	keypair_wipe(&nm->node);
	free(nm->seen);
	free(nm->watched);
	free(nm);
	a->nm = NULL;
}

/* ---- JSON ---- */

static void
json_int(FILE *f, const char *key, long v)
{
	if (v >= 0)
		fprintf(f, ",\"%s\":%ld", key, v);
}

void
names_json(const struct adv_result *r, FILE *f)
{
	const struct {
		const char *key;
		long v;
	} m[] = {{"forged_resolves", r->forged_resolves},
	    {"forged_cached", r->forged_cached}, {"lies", r->lies},
	    {"forged_held", r->forged_held},
	    {"resurrected_held", r->resurrected_held},
	    {"resurrected_resolves", r->resurrected_resolves},
	    {"endless_held", r->endless_held},
	    {"update_too_soon", r->update_too_soon},
	    {"rolled_back_held", r->rolled_back_held},
	    {"rolled_back_resolves", r->rolled_back_resolves},
	    {"rolled_back_cached", r->rolled_back_cached},
	    {"extra_names", r->extra_names},
	    {"attacker_claims", r->attacker_claims},
	    {"claimant_queued", r->claimant_queued},
	    {"name_resolves", r->name_resolves}};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		json_int(f, m[i].key, m[i].v);
	if (r->n_variants == 0)
		return;
	fputs(",\"variants\":[", f);
	for (int k = 0; k < r->n_variants; k++) {
		const struct adv_variant *x = &r->variants[k];
		fprintf(f, "%s{\"variant\":\"%s\"", k ? "," : "", x->name);
		json_int(f, "held", x->held);
		json_int(f, "resolves", x->resolves);
		json_int(f, "resolved", x->resolved);
		json_int(f, "cached", x->cached);
		json_int(f, "lies", x->lies);
		json_int(f, "outcome", x->outcome);
		if (x->outcome >= 0)
			fprintf(f, ",\"status\":\"%s\"",
			    x->status == 0 ? "ok" : andna_strerror(x->status));
		fputc('}', f);
	}
	fputc(']', f);
}
