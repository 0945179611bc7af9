/* Resolution (DESIGN.md sections 5 and 10): our own names, our cache,
 * then the owner as a majority of the hash gnode's members tells it: we
 * ask several of them at once through routes of our own choosing (a vote)
 * and take an owner only when two that are not one node agree.  A member
 * of our gnode (whose cache every member may read, and who resolves for
 * us when it misses) is a shortcut only for an owner we established so
 * before.  Every record that comes back is checked against its owner's
 * signature and the name asked before it is used or cached, and no record
 * older than one we hold of the same owner is taken: a lying node can
 * neither forge a name nor roll it back. */
#include <stdlib.h>
#include <string.h>

#include "node/engine/engine_int.h"
#include "proto/err.h"

#define REVERSE_MAX 64 /* records in one reverse answer */

static struct store_txn *
txn(struct engine *e, bool write)
{
	struct store_txn *t = NULL;

	return store_txn_begin(e->io.store, write, &t) == 0 ? t : NULL;
}

/* What we know of a name without asking anyone: 0 and *rec (owned by the
 * caller) with the seconds it may still be served (its owner's TTL for
 * our own names, else what is left of its cache life, rounded down so
 * that no copy passed on outlives ours), ANDNA_ENOTFOUND from a negative
 * cache entry, or ANDNA_EBUSY when the network must be asked; then *known
 * is the record we last established for the name, if any (the caller
 * frees it), whose owner a member's cache may vouch for.  *cached says
 * whether the answer came from the cache (a copy to refresh in time). */
static int
local_answer(struct engine *e, const char *name, uint64_t now,
    struct record **rec, uint32_t *ttl, struct record **known, bool *cached)
{
	struct store_txn *t = txn(e, false);
	struct store_own o;
	struct store_cache c;
	int rc = ANDNA_EBUSY;

	*rec = NULL;
	*known = NULL;
	*ttl = 0;
	*cached = false;
	if (t == NULL)
		return rc;
	if (store_own_get(t, name, &o) == 0 && !(o.flags & STORE_OWN_QUEUED) &&
	    record_decode(o.rec, o.rec_len, rec) == 0) {
		*ttl = (*rec)->ttl;
		rc = 0;
	} else if (store_cache_get(t, name, now, &c) == 0) {
		*cached = true;
		if (c.rec == NULL) {
			*ttl = (uint32_t)((c.expires_at - now) / 1000);
			rc = ANDNA_ENOTFOUND;
		} else if (c.fresh_until > now) {
			*ttl = (uint32_t)((c.fresh_until - now) / 1000);
			rc = record_decode(c.rec, c.rec_len, rec) == 0 ? 0 :
			    ANDNA_EBUSY;
		} else if (record_decode(c.rec, c.rec_len, known) != 0) {
			*known = NULL;
		}
	}
	store_txn_abort(t);
	return rc;
}

/* The record cached for `name`, fresh or not, if any (the caller frees
 * it). */
static struct record *
cached_record(struct engine *e, const char *name, uint64_t now)
{
	struct store_txn *t = txn(e, false);
	struct store_cache c;
	struct record *rec = NULL;

	if (t == NULL)
		return NULL;
	if (store_cache_get(t, name, now, &c) == 0 && c.rec != NULL &&
	    record_decode(c.rec, c.rec_len, &rec) != 0)
		rec = NULL;
	store_txn_abort(t);
	return rec;
}

/* The seconds a copy of `rec` that came with `life` seconds left may be
 * kept: never beyond its owner's TTL, nor our cap (DESIGN.md section 5). */
static uint32_t
cache_life(const struct engine *e, const struct record *rec, uint32_t life)
{
	uint32_t keep = life < e->cfg.cache_cap_s ? life : e->cfg.cache_cap_s;

	return rec->ttl < keep ? rec->ttl : keep;
}

/* Caches an answer: the record, served for cache_life() and kept as what
 * we know of its owner for its remaining `life`; or its absence. */
static void
cache_put(struct engine *e, const char *name, const struct record *rec,
    uint32_t life, uint64_t now)
{
	uint8_t *blob = NULL;
	size_t len = 0;
	uint32_t fresh = rec == NULL ? e->cfg.negative_s :
	    cache_life(e, rec, life);
	uint32_t keep = rec == NULL ? fresh : life;
	struct store_txn *t;

	if (keep == 0 || (t = txn(e, true)) == NULL)
		return;
	if (rec != NULL) {
		blob = malloc(RECORD_WIRE_MAX);
		if (blob == NULL || record_encode(rec, blob, RECORD_WIRE_MAX, &len)) {
			free(blob);
			store_txn_abort(t);
			return;
		}
	}
	struct store_cache c = { .rec = blob, .rec_len = len,
		.expires_at = now + (uint64_t)keep * 1000,
		.fresh_until = now + (uint64_t)fresh * 1000 };
	int rc = store_cache_put(t, name, &c, (size_t)e->cfg.cache_max);
	if (rc == 0)
		store_txn_commit(t);
	else
		store_txn_abort(t);
	free(blob);
}

/* Whom a resolution answers, and what it cost. */
struct asker {
	bool for_peer;
	struct endpoint peer_ep;
	uint64_t peer_id;
	uint64_t req_id;
	uint64_t started;
	int asked; /* nodes asked */
};

/* Sends a resolve answer to a member that asked us; `hops` are those the
 * answer took to be found. */
static void
answer_member(struct engine *e, const struct endpoint *to, uint64_t id,
    int status, struct record *rec, uint32_t ttl, int hops)
{
	struct msg r;

	msg_init(&r);
	r.type = MSG_RESOLVE_REPLY;
	r.id = id;
	r.u.resolve_reply.status = status == 0 ? MSG_ST_OK :
	    status == ANDNA_ENOTFOUND ? MSG_ST_NOT_FOUND : MSG_ST_BUSY;
	r.u.resolve_reply.rec = status == 0 ? rec : NULL;
	r.u.resolve_reply.life = ttl;
	r.u.resolve_reply.hops = (uint32_t)hops;
	engine_send(e, to, &r);
}

/* Ends a resolution: tells the host or the member that asked.  `hops`
 * counts the overlay hops the request took until a node had the answer
 * (0 when we had it ourselves). */
static void
finish(struct engine *e, const struct asker *a, int status,
    struct record *rec, uint32_t ttl, int hops, uint64_t now)
{
	if (status == 0)
		e->ns.resolved++;
	else
		e->ns.resolve_failed++;
	if (!a->for_peer && a->req_id == 0)
		return; /* a refresh of the cache: nobody waits */
	if (a->for_peer) {
		answer_member(e, &a->peer_ep, a->peer_id, status, rec, ttl, hops);
		return;
	}
	struct engine_event ev = { .type = ENGINE_EV_RESOLVE_DONE,
		.id = a->req_id, .status = status, .rec = status == 0 ? rec : NULL,
		.ttl_s = ttl, .hops = hops, .asked = a->asked,
		.rtt_ms = (uint32_t)(now - a->started) };
	engine_emit(e, &ev);
}

/* ---- votes ---------------------------------------------------------------- */

static struct vote *
vote_find(struct engine *e, uint64_t id)
{
	for (int i = 0; i < e->n_votes; i++)
		if (e->votes[i].id == id)
			return &e->votes[i];
	return NULL;
}

void
ns_vote_free(struct vote *v)
{
	for (int i = 0; i < v->n_ans; i++)
		record_free(v->ans[i].rec);
	record_free(v->item.rec);
	v->n_ans = 0;
	v->item.rec = NULL;
}

struct vote *
ns_vote_new(struct engine *e, const char *name, uint8_t purpose, uint64_t now)
{
	bool resolution = purpose == VOTE_HOST || purpose == VOTE_PEER;

	if (e->n_votes >= (resolution ? VOTE_MAX : VOTE_MAX - VOTE_RESERVED))
		return NULL;
	struct vote *nv = engine_grow(e->votes, e->n_votes, &e->cap_votes,
	    sizeof(*nv));
	if (nv == NULL)
		return NULL;
	e->votes = nv;
	struct vote *v = &e->votes[e->n_votes++];
	memset(v, 0, sizeof(*v));
	v->id = engine_rand64(e) | 1;
	v->purpose = purpose;
	v->started = now;
	memcpy(v->name, name, sizeof(v->name));
	return v;
}

static void vote_check(struct engine *e, uint64_t id, uint64_t now);

/* Sends a round of requests: each to a random place inside the gnode
 * asked, so that the routes (whose next hops are random contacts) and the
 * members answering (the live member nearest each place) differ.  An
 * answer may come before the round is sent (from ourselves): the round
 * counts as open until then. */
static void
vote_round(struct engine *e, uint64_t id, uint64_t now)
{
	struct vote *v = vote_find(e, id);

	if (v == NULL)
		return;
	v->open += VOTE_ASK;
	for (int i = 0; i < VOTE_ASK; i++) {
		struct pending *p;
		if ((v = vote_find(e, id)) == NULL)
			return;
		if ((p = pending_add(e, PK_RESOLVE, MSG_RESOLVE, now)) == NULL) {
			v->open--;
			continue;
		}
		v->asked++;
		memcpy(p->name, v->name, sizeof(p->name));
		p->vote = id;
		p->started = v->started;
		p->target = ((v->at_gnode ? v->gnode : name_hash(v->name)) &
		    ~(ovl_addr_t)0xff) | (ovl_addr_t)engine_rand_below(e, 256);
		if (v->at_gnode && i == 0)
			p->target = v->gnode;
		pending_send(e, p, now);
	}
	vote_check(e, id, now);
}

void
ns_vote_send(struct engine *e, uint64_t vote_id, uint64_t now)
{
	struct vote *v = vote_find(e, vote_id);

	if (v != NULL)
		v->rounds = 1;
	vote_round(e, vote_id, now);
}

/* Records an answer to vote `v` from the sender of `m`: each node counts
 * once, whatever address or key it names. */
static void
vote_answer(struct vote *v, const struct msg *m, uint8_t st,
    const struct record *rec, int hops)
{
	if (!m->has_src || v->n_ans == VOTE_ASK * VOTE_ROUNDS)
		return;
	for (int i = 0; i < v->n_ans; i++)
		if (v->ans[i].addr == m->src ||
		    memcmp(v->ans[i].key, m->key, ANDNA_PK_LEN) == 0) {
			v->ans[i].hits++;
			return;
		}
	struct vote_answer *a = &v->ans[v->n_ans];
	memset(a, 0, sizeof(*a));
	if (st == MSG_ST_OK && (a->rec = ns_record_copy(rec)) == NULL)
		return;
	a->addr = m->src;
	memcpy(a->key, m->key, ANDNA_PK_LEN);
	a->status = st;
	a->hops = hops;
	a->hits = 1;
	a->age = m->u.resolve_reply.age;
	a->life = m->u.resolve_reply.life;
	v->n_ans++;
}

/* Whether two answers say the same: no owner, or the same owner. */
static bool
same_word(const struct vote_answer *a, const struct vote_answer *b)
{
	return a->status == b->status && (a->status != MSG_ST_OK ||
	    memcmp(a->rec->owner, b->rec->owner, ANDNA_PK_LEN) == 0);
}

/* The answer a majority of `v`'s answers agrees with, or NULL while
 * there is none: two nodes naming the same owner (its newest record
 * wins); two saying nobody holds the name, when nobody said otherwise or
 * no more answers will come (a member that has not got a new record yet
 * says nobody holds it, so one owner's word asks for more answers); or,
 * once every answer is in, one node that answered more than one request
 * while nobody else did (a gnode of one, or routes that all met), unless
 * the vote is on an item handed over that its sender's gnode has no
 * business holding (see vouch_start()): a gnode of one node could hand
 * over anything it likes and vouch for it. */
static const struct vote_answer *
vote_winner(const struct vote *v)
{
	const struct vote_answer *none = NULL;
	bool owner_named = false;
	bool final = v->open == 0 && v->rounds >= VOTE_ROUNDS;

	for (int i = 0; i < v->n_ans; i++) {
		const struct vote_answer *newest = &v->ans[i];
		int agree = 0;
		owner_named |= newest->status == MSG_ST_OK;
		for (int j = 0; j < v->n_ans; j++) {
			const struct vote_answer *b = &v->ans[j];
			if (!same_word(&v->ans[i], b))
				continue;
			agree++;
			if (b->status == MSG_ST_OK && b->rec->seq > newest->rec->seq)
				newest = b;
		}
		if (agree >= 2 && newest->status == MSG_ST_OK)
			return newest;
		if (agree >= 2)
			none = newest;
	}
	if (none != NULL && (!owner_named || final))
		return none;
	if (final && v->n_ans == 1 && v->ans[0].hits >= 2 &&
	    (v->purpose != VOTE_VOUCH || v->lone_ok))
		return &v->ans[0];
	return NULL;
}

/* Whether an answer to `v` names the owner of the item in question. */
static bool
names_owner(const struct vote *v)
{
	for (int i = 0; i < v->n_ans; i++)
		if (v->ans[i].status == MSG_ST_OK &&
		    memcmp(v->ans[i].rec->owner, v->item.rec->owner,
		    ANDNA_PK_LEN) == 0)
			return true;
	return false;
}

/* Forgets the answers of `v`, to ask again. */
static void
vote_clear(struct vote *v)
{
	for (int i = 0; i < v->n_ans; i++)
		record_free(v->ans[i].rec);
	v->n_ans = 0;
	v->rounds = 0;
	v->open = 0;
}

/* A vote of ours for the host or a member ended: answer with what the
 * majority said, or with what we hold of the same owner if that is newer. */
static void
vote_resolved(struct engine *e, const struct vote *v,
    const struct vote_answer *w, uint64_t now)
{
	struct asker a = { .for_peer = v->purpose == VOTE_PEER,
		.peer_ep = v->peer_ep, .peer_id = v->peer_id,
		.req_id = v->req_id, .started = v->started, .asked = v->asked };

	if (w == NULL) {
		finish(e, &a, v->n_ans == 0 ? ANDNA_ETIMEOUT : ANDNA_EUNREACHABLE,
		    NULL, 0, 0, now);
		return;
	}
	if (w->status != MSG_ST_OK) {
		cache_put(e, v->name, NULL, 0, now);
		finish(e, &a, ANDNA_ENOTFOUND, NULL, e->cfg.negative_s,
		    w->hops, now);
		return;
	}
	struct record *mine = cached_record(e, v->name, now);
	struct record *rec = w->rec;
	if (mine != NULL && memcmp(mine->owner, rec->owner, ANDNA_PK_LEN) == 0 &&
	    mine->seq > rec->seq)
		rec = mine; /* never back to an older record */
	cache_put(e, v->name, rec, w->life, now);
	finish(e, &a, 0, rec, cache_life(e, rec, w->life), w->hops, now);
	record_free(mine);
}

/* Looks whether `v` is decided, asks again when a round ended without a
 * majority, and ends it otherwise. */
static void
vote_check(struct engine *e, uint64_t id, uint64_t now)
{
	struct vote *v = vote_find(e, id);

	if (v == NULL)
		return;
	const struct vote_answer *w = vote_winner(v);
	if (w == NULL && v->open > 0)
		return;
	if (w == NULL && v->rounds < VOTE_ROUNDS) {
		v->rounds++;
		vote_round(e, id, now);
		return;
	}
	if (v->purpose == VOTE_VOUCH && v->retries < VOUCH_RETRIES &&
	    (w == NULL || w->status != MSG_ST_OK) && names_owner(v)) {
		/* a member named the owner, others did not hold it yet: a
		 * member that missed the copy gets it from anti-entropy
		 * within a few exchanges, so ask again then */
		vote_clear(v);
		v->retries++;
		v->retry_at = now + 2 * (uint64_t)e->cfg.sync_interval_ms;
		return;
	}
	/* out of the table before anyone is told: telling may start votes */
	struct vote done = *v;
	*v = e->votes[--e->n_votes];
	w = vote_winner(&done);
	if (done.purpose == VOTE_HOST || done.purpose == VOTE_PEER)
		vote_resolved(e, &done, w, now);
	else
		ns_vote_done(e, &done, w, now);
	ns_vote_free(&done);
}

void
ns_vote_sweep(struct engine *e, uint64_t now)
{
	for (int i = 0; i < e->n_votes; i++)
		if (e->votes[i].retry_at != 0 && e->votes[i].retry_at <= now) {
			e->votes[i].retry_at = 0;
			e->votes[i].started = now;
			ns_vote_send(e, e->votes[i].id, now);
			i = -1; /* the table may have moved */
		}
	/* every request of every round has timed out by then: a vote still
	 * open lost a request that never ended (our address changed) */
	uint64_t limit = (uint64_t)VOTE_ROUNDS * (uint64_t)e->cfg.request_tries *
	    e->cfg.request_timeout_ms + e->cfg.request_timeout_ms;

	for (int i = 0; i < e->n_votes; i++)
		if (e->votes[i].retry_at == 0 && e->votes[i].started + limit < now) {
			e->votes[i].open = 0;
			e->votes[i].rounds = VOTE_ROUNDS;
			vote_check(e, e->votes[i].id, now);
			i = -1; /* the table moved */
		}
}

/* ---- resolution ------------------------------------------------------------ */

/* Asks a member of our gnode for `name`, whose owner we know from `known`
 * (owned by the request from here on). */
static void
ask_neighbour(struct engine *e, const struct asker *a, const char *name,
    struct record *known, uint64_t now)
{
	struct pending *p = pending_add(e, PK_NEIGHBOUR, MSG_CACHE_READ, now);

	if (p == NULL) {
		record_free(known);
		return;
	}
	p->started = a->started;
	memcpy(p->name, name, sizeof(p->name));
	p->req_id = a->req_id;
	p->rec = known;
	/* a random live member (alive or suspect, as inner_live() counts
	 * them: else the draw can land on none, and the request went to a
	 * zeroed endpoint): its cache, or it resolves for us */
	uint32_t k = engine_rand_below(e, (uint32_t)inner_live(&e->inner));
	for (int i = 0; i < e->inner.n; i++)
		if (e->inner.m[i].state <= MEMBER_SUSPECT && k-- == 0)
			p->to = e->inner.m[i].eps[0];
	pending_send(e, p, now);
}

/* Starts a vote on `name` for the host or for a member that asked. */
static void
ask_majority(struct engine *e, const struct asker *a, const char *name,
    uint64_t now)
{
	struct vote *v = ns_vote_new(e, name, a->for_peer ? VOTE_PEER : VOTE_HOST,
	    now);

	if (v == NULL) {
		finish(e, a, ANDNA_EBUSY, NULL, 0, 0, now);
		return;
	}
	v->started = a->started;
	v->asked = a->asked;
	v->req_id = a->req_id;
	v->peer_ep = a->peer_ep;
	v->peer_id = a->peer_id;
	ns_vote_send(e, v->id, now);
}

/* Whether a refresh of `name` (a resolution nobody waits for) is under
 * way. */
static bool
refreshing(const struct engine *e, const char *name)
{
	for (int i = 0; i < e->n_votes; i++)
		if (e->votes[i].req_id == 0 &&
		    e->votes[i].purpose == VOTE_HOST &&
		    strcmp(e->votes[i].name, name) == 0)
			return true;
	for (int i = 0; i < e->n_pend; i++)
		if (e->pend[i].kind == PK_NEIGHBOUR && e->pend[i].req_id == 0 &&
		    strcmp(e->pend[i].name, name) == 0)
			return true;
	return false;
}

static void ns_resolve_ask(struct engine *e, const struct asker *a,
    const char *name, struct record *known, uint64_t now);

/* A cache entry that a query just read, with `ttl` seconds left of the
 * `life` it had, is refreshed before it runs out, so that no query waits
 * for its resolution; each name at its own point in the last 5 to 20% of
 * its life (names cached together, say at start, do not all ask at once),
 * and at most REFRESH_PER_S a second, whatever the queries.  `known` is
 * the entry's record (NULL for "no such name"), owned from here on. */
#define REFRESH_PER_S 50
static void
refresh_early(struct engine *e, const char *name, uint32_t ttl,
    uint32_t life, struct record *known, uint64_t now)
{
	uint64_t window = (uint64_t)life * 10 *
	    (5 + name_hash8(name) % 16); /* ms: 5% to 20% of life */
	struct asker a = { .started = now };

	if (now / 1000 != e->refresh_sec) {
		e->refresh_sec = now / 1000;
		e->n_refresh = 0;
	}
	if ((uint64_t)ttl * 1000 > window || e->n_refresh >= REFRESH_PER_S ||
	    refreshing(e, name)) {
		record_free(known);
		return;
	}
	e->n_refresh++;
	ns_resolve_ask(e, &a, name, known, now);
}

void
ns_resolve_start(struct engine *e, const char *name,
    const struct endpoint *peer, uint64_t peer_id, uint64_t req_id,
    uint64_t now)
{
	struct record *rec = NULL, *known = NULL;
	uint32_t ttl;
	bool cached;
	int rc = local_answer(e, name, now, &rec, &ttl, &known, &cached);
	struct asker a = { .for_peer = peer != NULL, .peer_id = peer_id,
		.req_id = req_id, .started = now };

	if (peer != NULL)
		a.peer_ep = *peer;
	if (rc != ANDNA_EBUSY) {
		finish(e, &a, rc, rec, ttl, 0, now);
		record_free(known);
		if (cached && rc == 0)
			refresh_early(e, name, ttl,
			    cache_life(e, rec, UINT32_MAX), rec, now);
		else if (cached && rc == ANDNA_ENOTFOUND)
			refresh_early(e, name, ttl, e->cfg.negative_s, NULL, now);
		else
			record_free(rec);
		return;
	}
	ns_resolve_ask(e, &a, name, known, now);
}

/* Asks the network for `name`: a member's cache when we know its owner
 * (`known`, freed here), else a vote. */
static void
ns_resolve_ask(struct engine *e, const struct asker *a, const char *name,
    struct record *known, uint64_t now)
{
	bool peer = a->for_peer;

	/* a member asking us goes straight to the hash gnode: asking yet
	 * another member would only add a hop */
	if (!peer && known != NULL && inner_live(&e->inner) > 0) {
		ask_neighbour(e, a, name, known, now);
		return;
	}
	record_free(known);
	ask_majority(e, a, name, now);
}

int
engine_resolve(struct engine *e, const char *name, uint64_t now, uint64_t *id)
{
	char canon[ANDNA_NAME_MAX + 1];
	int rc = name_canonical(canon, name);

	*id = 0;
	if (rc != 0)
		return rc;
	if (e->io.store == NULL)
		return ANDNA_EINVAL;
	*id = engine_rand64(e) | 1;
	ns_resolve_start(e, canon, NULL, 0, *id, now);
	return 0;
}

/* Whether `rec`, as an answer about `name`, can be used at all: signed by
 * its owner, for the name asked, not a release. */
static bool
usable(struct engine *e, const struct record *rec, const char *name)
{
	if (rec != NULL && ns_verify(e, rec) == 0 && strcmp(rec->name, name) == 0 &&
	    !record_is_release(rec))
		return true;
	e->ns.rejected_sig++; /* a forged, foreign or empty record */
	return false;
}

/* The member asked for its cache answered (or did not): its record counts
 * only for the owner we established, at least as new as we know it. */
static void
neighbour_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	struct asker a = { .req_id = p->req_id, .started = p->started,
		.asked = 1 };
	const struct record *known = p->rec;
	struct record *rec = m != NULL && m->u.resolve_reply.status == MSG_ST_OK ?
	    m->u.resolve_reply.rec : NULL;
	char name[ANDNA_NAME_MAX + 1];

	memcpy(name, p->name, sizeof(name));
	if (rec != NULL && usable(e, rec, name) &&
	    memcmp(rec->owner, known->owner, ANDNA_PK_LEN) == 0 &&
	    rec->seq >= known->seq) {
		uint32_t life = m->u.resolve_reply.life;
		int hops = 1 + (int)(m->u.resolve_reply.hops < MSG_HOPS_MAX ?
		    m->u.resolve_reply.hops : MSG_HOPS_MAX);
		cache_put(e, name, rec, life, now);
		finish(e, &a, 0, rec, cache_life(e, rec, life), hops, now);
		pending_remove(e, p);
		return;
	}
	/* it failed us, or speaks of another owner: ask the majority */
	pending_remove(e, p);
	ask_majority(e, &a, name, now);
}

/* A RESOLVE_REPLY (or a time-out) for one of our requests. */
void
ns_resolve_pending_done(struct engine *e, struct pending *p,
    const struct msg *m, uint64_t now)
{
	if (p->kind == PK_NEIGHBOUR) {
		neighbour_done(e, p, m, now);
		return;
	}
	uint8_t st = m == NULL ? MSG_ST_BUSY : m->u.resolve_reply.status;
	struct record *rec = m == NULL ? NULL : m->u.resolve_reply.rec;
	if (st == MSG_ST_OK && !usable(e, rec, p->name))
		st = MSG_ST_BUSY;
	if ((st == MSG_ST_BUSY || st == MSG_ST_NOT_RESPONSIBLE) && m != NULL &&
	    p->tries < e->cfg.request_tries) {
		pending_send(e, p, now);
		return;
	}
	uint64_t id = p->vote;
	struct vote *v = vote_find(e, id);
	if (v != NULL) {
		v->open -= v->open > 0;
		if (st == MSG_ST_OK || st == MSG_ST_NOT_FOUND) {
			int hops = (int)(m->u.resolve_reply.hops < MSG_HOPS_MAX ?
			    m->u.resolve_reply.hops : MSG_HOPS_MAX);
			vote_answer(v, m, st, rec, hops);
		}
	}
	pending_remove(e, p);
	vote_check(e, id, now);
}

/* A routed RESOLVE reached us after `hops` hops: answer from the records
 * we hold, whatever our role (a gnode that handed a name over may be
 * asked whether it held it). */
void
ns_resolve_handle_routed(struct engine *e, struct msg *m, int hops,
    uint64_t now)
{
	struct msg r;
	struct store_record sr;
	struct store_txn *t = txn(e, false);
	const char *name = m->u.resolve.name;
	bool live = t != NULL &&
	    store_record_get(t, name_hash8(name), name, &sr) == 0 &&
	    sr.expires_at > now;

	msg_init(&r);
	r.type = MSG_RESOLVE_REPLY;
	r.id = m->id;
	r.u.resolve_reply.status = MSG_ST_NOT_FOUND;
	r.u.resolve_reply.hops = (uint32_t)hops;
	if (live && !(sr.flags & STORE_REC_RELEASED) &&
	    record_decode(sr.rec, sr.rec_len, &r.u.resolve_reply.rec) == 0) {
		r.u.resolve_reply.status = MSG_ST_OK;
		r.u.resolve_reply.age = (uint32_t)((now - sr.stored_at) / 1000);
		r.u.resolve_reply.life = (uint32_t)((sr.expires_at - now) / 1000);
	} else if (!live && (t == NULL || ns_role(e, name_hash(name)) == NS_NONE)) {
		r.u.resolve_reply.status = MSG_ST_NOT_RESPONSIBLE;
	}
	if (t != NULL)
		store_txn_abort(t);
	engine_reply_routed(e, &m->u.resolve.route, &r, now);
	msg_free(&r);
}

/* ---- reverse resolution ----------------------------------------------- */

struct own_list {
	int n;
	struct record *recs[REVERSE_MAX];
};

static int
own_cb(void *arg, const struct store_own *o)
{
	struct own_list *l = arg;

	if (!(o->flags & STORE_OWN_QUEUED) &&
	    record_decode(o->rec, o->rec_len, &l->recs[l->n]) == 0)
		l->n++;
	return l->n == REVERSE_MAX;
}

int
engine_reverse(struct engine *e, const struct endpoint *node, uint64_t now,
    uint64_t *id)
{
	struct pending *p = pending_add(e, PK_REVERSE, MSG_REVERSE, now);

	*id = 0;
	if (p == NULL)
		return ANDNA_ENOMEM;
	p->to = *node;
	*id = p->req_id;
	pending_send(e, p, now);
	return 0;
}

void
ns_reverse_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	const struct record *ok[MSG_RECORDS_MAX];
	struct engine_event ev = { .type = ENGINE_EV_REVERSE_DONE,
		.id = p->req_id, .status = ANDNA_ETIMEOUT, .recs = ok,
		.rtt_ms = (uint32_t)(now - p->started) };

	if (m != NULL) {
		ev.status = 0;
		for (int i = 0; i < m->u.reverse_reply.n_records; i++) {
			const struct record *rec = m->u.reverse_reply.records[i];
			if (ns_verify(e, rec) == 0 && !record_is_release(rec))
				ok[ev.n_recs++] = rec;
			else
				e->ns.rejected_sig++;
		}
		if (ev.n_recs == 0)
			ev.status = ANDNA_ENOTFOUND;
	}
	pending_remove(e, p);
	engine_emit(e, &ev);
}

bool
ns_resolve_input(struct engine *e, const struct endpoint *from, struct msg *m,
    uint64_t now)
{
	if (m->type == MSG_CACHE_READ) {
		if (e->hook != HOOK_DONE || !m->has_src ||
		    ovl_prefix(m->src, 1) != ovl_prefix(e->addr, 1)) {
			e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
			return true;
		}
		ns_resolve_start(e, m->u.cache_read.name, from, m->id, 0, now);
		return true;
	}
	/* REVERSE: the names this node holds, with their signed records */
	struct own_list l = { 0 };
	struct store_txn *t = txn(e, false);
	struct msg r;

	if (t != NULL) {
		store_own_each(t, own_cb, &l);
		store_txn_abort(t);
	}
	msg_init(&r);
	r.type = MSG_REVERSE_REPLY;
	r.id = m->id;
	r.u.reverse_reply.n_records = (uint8_t)l.n;
	r.u.reverse_reply.records = l.recs;
	engine_send(e, from, &r);
	for (int i = 0; i < l.n; i++)
		record_free(l.recs[i]);
	return true;
}
