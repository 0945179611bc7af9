/* Resolution (DESIGN.md section 5): our own names, our cache, a random
 * member of our gnode (whose cache every member may read, and who resolves
 * for us when it misses), then the hash gnode, whose forwarders fall back
 * to the backup gnode when the hash gnode cannot be reached.  Every record
 * that comes back is checked against its owner's signature and the name
 * asked before it is used or cached: a lying node cannot forge a name. */
#include <stdlib.h>
#include <string.h>

#include "node/engine_int.h"
#include "proto/err.h"

#define REVERSE_MAX 64 /* records in one reverse answer */

static struct store_txn *
txn(struct engine *e, bool write)
{
	struct store_txn *t = NULL;

	return store_txn_begin(e->io.store, write, &t) == 0 ? t : NULL;
}

/* What we know of a name without asking anyone: 0 and *rec (owned by the
 * caller) with the seconds it may be kept (its owner's TTL for our own
 * names, else what is left of its cache life, rounded down so that no
 * copy passed on outlives ours), ANDNA_ENOTFOUND from a negative cache
 * entry, or ANDNA_EBUSY when the network must be asked. */
static int
local_answer(struct engine *e, const char *name, uint64_t now,
    struct record **rec, uint32_t *ttl)
{
	struct store_txn *t = txn(e, false);
	struct store_own o;
	struct store_cache c;
	int rc = ANDNA_EBUSY;

	*rec = NULL;
	*ttl = 0;
	if (t == NULL)
		return rc;
	if (store_own_get(t, name, &o) == 0 && !(o.flags & STORE_OWN_QUEUED) &&
	    record_decode(o.rec, o.rec_len, rec) == 0) {
		*ttl = (*rec)->ttl;
		rc = 0;
	} else if (store_cache_get(t, name, now, &c) == 0) {
		*ttl = (uint32_t)((c.expires_at - now) / 1000);
		rc = c.rec == NULL ? ANDNA_ENOTFOUND :
		    record_decode(c.rec, c.rec_len, rec);
	}
	store_txn_abort(t);
	return rc;
}

/* The seconds a copy of `rec` that came with `life` seconds left may be
 * kept: never beyond its owner's TTL, nor our cap (DESIGN.md section 5). */
static uint32_t
cache_life(const struct engine *e, const struct record *rec, uint32_t life)
{
	uint32_t keep = life < e->cfg.cache_cap_s ? life : e->cfg.cache_cap_s;

	return rec->ttl < keep ? rec->ttl : keep;
}

/* Caches an answer: the record for cache_life(), or its absence. */
static void
cache_put(struct engine *e, const char *name, const struct record *rec,
    uint32_t life, uint64_t now)
{
	uint8_t *blob = NULL;
	size_t len = 0;
	uint32_t keep =
	    rec == NULL ? e->cfg.negative_s : cache_life(e, rec, life);
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
		.expires_at = now + (uint64_t)keep * 1000 };
	int rc = store_cache_put(t, name, &c, (size_t)e->cfg.cache_max);
	if (rc == 0)
		store_txn_commit(t);
	else
		store_txn_abort(t);
	free(blob);
}

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
finish(struct engine *e, const struct pending *p, int status,
    struct record *rec, uint32_t ttl, int hops, uint64_t now)
{
	if (status == 0)
		e->ns.resolved++;
	else
		e->ns.resolve_failed++;
	if (p->for_peer) {
		answer_member(e, &p->peer_ep, p->peer_id, status, rec, ttl, hops);
		return;
	}
	struct engine_event ev = { .type = ENGINE_EV_RESOLVE_DONE,
		.id = p->req_id, .status = status, .rec = status == 0 ? rec : NULL,
		.ttl_s = ttl, .hops = hops,
		.rtt_ms = (uint32_t)(now - p->started) };
	engine_emit(e, &ev);
}

/* Asks the hash gnode (or, first, a neighbour) for `name`, on behalf of a
 * resolution that began at `started`. */
static void
ask(struct engine *e, uint8_t kind, const char *name, bool for_peer,
    const struct endpoint *peer, uint64_t peer_id, uint64_t req_id,
    uint64_t started, uint64_t now)
{
	struct pending *p = pending_add(e, kind, kind == PK_NEIGHBOUR ?
	    MSG_CACHE_READ : MSG_RESOLVE, now);

	if (p == NULL)
		return;
	p->started = started;
	memcpy(p->name, name, sizeof(p->name));
	p->req_id = req_id;
	p->target = name_hash(name);
	p->for_peer = for_peer;
	if (for_peer) {
		p->peer_ep = *peer;
		p->peer_id = peer_id;
	}
	if (kind == PK_NEIGHBOUR) {
		/* a random live member: its cache, or it resolves for us */
		int live = 0;
		for (int i = 0; i < e->inner.n; i++)
			live += e->inner.m[i].state == MEMBER_ALIVE;
		uint32_t k = engine_rand_below(e, (uint32_t)live);
		for (int i = 0; i < e->inner.n; i++)
			if (e->inner.m[i].state == MEMBER_ALIVE && k-- == 0)
				p->to = e->inner.m[i].eps[0];
	}
	pending_send(e, p, now);
}

void
ns_resolve_start(struct engine *e, const char *name,
    const struct endpoint *peer, uint64_t peer_id, uint64_t req_id,
    uint64_t now)
{
	struct record *rec = NULL;
	uint32_t ttl;
	int rc = local_answer(e, name, now, &rec, &ttl);

	if (rc != ANDNA_EBUSY) {
		struct pending p = { .req_id = req_id, .for_peer = peer != NULL,
			.started = now };
		if (peer != NULL) {
			p.peer_ep = *peer;
			p.peer_id = peer_id;
		}
		finish(e, &p, rc, rec, ttl, 0, now);
		record_free(rec);
		return;
	}
	/* a member asking us goes straight to the hash gnode: asking yet
	 * another member would only add a hop */
	bool neighbour = peer == NULL && inner_live(&e->inner) > 0;
	ask(e, neighbour ? PK_NEIGHBOUR : PK_RESOLVE, name, peer != NULL, peer,
	    peer_id, req_id, now, now);
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

/* A RESOLVE_REPLY (or a time-out) for one of our resolutions. */
void
ns_resolve_pending_done(struct engine *e, struct pending *p,
    const struct msg *m, uint64_t now)
{
	uint8_t st = m == NULL ? MSG_ST_BUSY : m->u.resolve_reply.status;
	struct record *rec = m == NULL ? NULL : m->u.resolve_reply.rec;
	if (st == MSG_ST_OK && (rec == NULL || ns_verify(e, rec) != 0 ||
	    strcmp(rec->name, p->name) != 0 || record_is_release(rec))) {
		/* a forged, foreign or empty record: never used, never cached */
		e->ns.rejected_sig++;
		st = MSG_ST_BUSY;
	}
	if (st == MSG_ST_BUSY || st == MSG_ST_NOT_RESPONSIBLE) {
		if (p->kind == PK_RESOLVE && m != NULL &&
		    p->tries < e->cfg.request_tries) {
			pending_send(e, p, now);
			return;
		}
		if (p->kind == PK_NEIGHBOUR) {
			/* the neighbour failed us: ask the hash gnode ourselves */
			struct pending q = *p;
			p->rec = NULL;
			pending_remove(e, p);
			ask(e, PK_RESOLVE, q.name, q.for_peer, &q.peer_ep, q.peer_id,
			    q.req_id, q.started, now);
			return;
		}
		finish(e, p, m == NULL ? ANDNA_ETIMEOUT : ANDNA_EUNREACHABLE,
		    NULL, 0, 0, now);
		pending_remove(e, p);
		return;
	}
	/* a member asked for its cache is a hop of its own */
	int hops = (int)(m->u.resolve_reply.hops < MSG_HOPS_MAX ?
	    m->u.resolve_reply.hops : MSG_HOPS_MAX) + (p->kind == PK_NEIGHBOUR);
	if (st == MSG_ST_OK) {
		uint32_t life = cache_life(e, rec, m->u.resolve_reply.life);
		cache_put(e, p->name, rec, life, now);
		finish(e, p, 0, rec, life, hops, now);
	} else {
		cache_put(e, p->name, NULL, 0, now);
		finish(e, p, ANDNA_ENOTFOUND, NULL, e->cfg.negative_s, hops, now);
	}
	pending_remove(e, p);
}

/* A routed RESOLVE reached us after `hops` hops: answer from the records
 * we hold. */
void
ns_resolve_handle_routed(struct engine *e, struct msg *m, int hops,
    uint64_t now)
{
	struct msg r;
	struct store_record sr;
	struct store_txn *t = txn(e, false);
	const char *name = m->u.resolve.name;

	msg_init(&r);
	r.type = MSG_RESOLVE_REPLY;
	r.id = m->id;
	r.u.resolve_reply.status = MSG_ST_NOT_FOUND;
	r.u.resolve_reply.hops = (uint32_t)hops;
	if (ns_role(e, name_hash(name)) == NS_NONE || t == NULL) {
		r.u.resolve_reply.status = MSG_ST_NOT_RESPONSIBLE;
	} else if (store_record_get(t, ns_h8(name), name, &sr) == 0 &&
	    sr.expires_at > now &&
	    record_decode(sr.rec, sr.rec_len, &r.u.resolve_reply.rec) == 0) {
		r.u.resolve_reply.status = MSG_ST_OK;
		r.u.resolve_reply.age = (uint32_t)((now - sr.stored_at) / 1000);
		r.u.resolve_reply.life = (uint32_t)((sr.expires_at - now) / 1000);
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
