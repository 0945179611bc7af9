/* The name service at its two kinds of gnode (DESIGN.md section 4).  The
 * hash gnode of a name holds its signed record, its queue of waiting
 * claims, and registers, updates and releases it; the counter gnode of a
 * key holds the tally of the names that key holds.  Every member of a
 * gnode keeps every copy: the member that takes a request replicates it to
 * the others and answers once they hold it.  Everything expires on each
 * member's own clock; only ages cross the wire. */
#include <stdlib.h>
#include <string.h>

#include "node/engine/engine_int.h"
#include "proto/err.h"

#define SWEEP_BATCH 64     /* entries expired per table per tick */
#define RENEW_RETRY_MS 60000
#define RENEW_AFTER_HOOK_MS 10000 /* the maps settle first */
#define NS_SYNC_SOON_MS 2000 /* digest exchange after a release */

enum ns_role
ns_role(struct engine *e, ovl_addr_t target)
{
	const struct round_view *v = route_view(e);
	ovl_addr_t prefix, next;

	int level = round_view_target(v, target, NULL, &prefix);
	if (level == 0)
		return NS_PRIMARY;
	if (level < 0)
		return NS_NONE;
	/* the backup is the next gnode in rounding order: round again with
	 * the hash gnode left out.  For a gnode above level 1, `prefix`
	 * (zero below its level) stands for its children, and leaves it out
	 * only when it has a single one. */
	struct round_exclude ex = { .n = 1, .prefix = { prefix } };
	return round_view_target(v, target, &ex, &next) == 0 ? NS_BACKUP : NS_NONE;
}

bool
ns_leader(const struct engine *e)
{
	for (int i = 0; i < e->inner.n; i++)
		if (e->inner.m[i].state == MEMBER_ALIVE &&
		    e->inner.m[i].id < ovl_id(e->addr, 0))
			return false;
	return true;
}

/* ---- records and blobs -------------------------------------------------- */

/* Every record the engine takes in is checked here. */
int
ns_verify(const struct engine *e, const struct record *rec)
{
	return record_verify_with(rec, e->io.verify_cb, e->io.ctx);
}

/* The record's wire form in a buffer the caller frees; NULL on failure. */
static uint8_t *
rec_blob(const struct record *rec, size_t *len)
{
	uint8_t *buf = malloc(RECORD_WIRE_MAX);

	if (buf == NULL || record_encode(rec, buf, RECORD_WIRE_MAX, len) != 0) {
		free(buf);
		return NULL;
	}
	uint8_t *fit = realloc(buf, *len);
	return fit != NULL ? fit : buf;
}

struct record *
ns_record_copy(const struct record *rec)
{
	size_t len;
	uint8_t *blob = rec_blob(rec, &len);
	struct record *out = NULL;

	if (blob != NULL && record_decode(blob, len, &out) != 0)
		out = NULL;
	free(blob);
	return out;
}

/* Whether two records carry the same address set. */
static bool
same_entries(const struct record *a, const struct record *b)
{
	return a->n_entries == b->n_entries &&
	    (a->n_entries == 0 || memcmp(a->entries, b->entries,
	    a->n_entries * sizeof(a->entries[0])) == 0);
}

int
ns_item_of(struct engine *e, uint8_t kind, const uint8_t *blob, size_t len,
    uint64_t stored_at, uint64_t expires_at, uint64_t now,
    struct msg_item *out)
{
	(void)e;
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->age = (uint32_t)(now > stored_at ? (now - stored_at) / 1000 : 0);
	out->life = (uint32_t)(expires_at > now ? (expires_at - now) / 1000 : 0);
	return record_decode(blob, len, &out->rec);
}

/* Builds an item for `rec`.  The item borrows the record (only to send
 * it), hence the cast: items own their records when decoded. */
static struct msg_item
item_for(uint8_t kind, const struct record *rec, uint64_t stored_at,
    uint64_t expires_at, uint64_t now)
{
	struct msg_item it = { .kind = kind, .rec = (struct record *)rec };

	it.age = (uint32_t)(now > stored_at ? (now - stored_at) / 1000 : 0);
	it.life = (uint32_t)(expires_at > now ? (expires_at - now) / 1000 : 0);
	return it;
}

/* ---- store access ------------------------------------------------------- */

static struct store_txn *
txn_begin(struct engine *e, bool write)
{
	struct store_txn *t = NULL;
	int rc = store_txn_begin(e->io.store, write, &t);

	if (rc != 0) {
		engine_log(e, ENGINE_LOG_ERR, "the store cannot start a "
		    "transaction: %s", andna_strerror(rc));
		return NULL;
	}
	return t;
}

/* Commits `t` if rc is 0, else drops it; returns rc or the commit's. */
static int
txn_end(struct engine *e, struct store_txn *t, int rc)
{
	if (rc != 0) {
		store_txn_abort(t);
		return rc;
	}
	rc = store_txn_commit(t);
	if (rc != 0)
		engine_log(e, ENGINE_LOG_ERR, "the store could not save a "
		    "change: %s", andna_strerror(rc));
	return rc;
}

/* Stores `rec` as the record of its name (a release as its tombstone),
 * with STORE_REC_* `flags`. */
static int
put_record(struct store_txn *t, const struct record *rec, uint64_t stored_at,
    uint64_t expires_at, uint8_t flags)
{
	struct store_record r = { .h8 = name_hash8(rec->name), .seq = rec->seq,
		.stored_at = stored_at, .expires_at = expires_at,
		.flags = (uint8_t)(flags | (record_is_release(rec) ?
		    STORE_REC_RELEASED : 0)) };
	size_t len;
	uint8_t *blob = rec_blob(rec, &len);

	if (blob == NULL)
		return ANDNA_ENOMEM;
	memcpy(r.name, rec->name, sizeof(r.name));
	memcpy(r.pk, rec->owner, ANDNA_PK_LEN);
	r.rec = blob;
	r.rec_len = len;
	int rc = store_record_put(t, &r);
	free(blob);
	return rc;
}

/* A name's queue of claims, copied out of the store in order. */
struct queue_copy {
	int n, cap;
	struct queued {
		uint8_t pk[ANDNA_PK_LEN];
		uint8_t *rec;
		size_t rec_len;
		uint64_t stored_at, expires_at;
		struct claim_host host;
	} * v;
};

static int
queue_copy_cb(void *arg, const struct store_claim *c)
{
	struct queue_copy *q = arg;

	if (q->n == q->cap) {
		int cap = q->cap > 0 ? 2 * q->cap : 8;
		struct queued *v = realloc(q->v, (size_t)cap * sizeof(*v));
		if (v == NULL)
			return ANDNA_ENOMEM;
		q->v = v;
		q->cap = cap;
	}
	struct queued *x = &q->v[q->n];
	if ((x->rec = malloc(c->rec_len)) == NULL)
		return ANDNA_ENOMEM;
	memcpy(x->rec, c->rec, c->rec_len);
	memcpy(x->pk, c->pk, ANDNA_PK_LEN);
	x->rec_len = c->rec_len;
	x->stored_at = c->stored_at;
	x->expires_at = c->expires_at;
	x->host = c->host;
	q->n++;
	return 0;
}

static void
queue_copy_free(struct queue_copy *q)
{
	for (int i = 0; i < q->n; i++)
		free(q->v[i].rec);
	free(q->v);
}

/* Writes the queue of c's name again as `q` says, in q's order: the
 * store appends in arrival order. */
static int
queue_write(struct engine *e, struct store_txn *t,
    const struct store_claim *c, const struct queue_copy *q)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < q->n; i++) {
		rc = store_claim_del(t, c->h8, c->name, q->v[i].pk);
		rc = rc == ANDNA_ENOTFOUND ? 0 : rc;
	}
	size_t cap = (size_t)(q->n > e->cfg.queue_len ? q->n : e->cfg.queue_len);
	for (int i = 0; rc == 0 && i < q->n; i++) {
		struct store_claim x = {.h8 = c->h8, .rec = q->v[i].rec,
		    .rec_len = q->v[i].rec_len, .stored_at = q->v[i].stored_at,
		    .expires_at = q->v[i].expires_at, .host = q->v[i].host};
		memcpy(x.name, c->name, sizeof(x.name));
		memcpy(x.pk, q->v[i].pk, ANDNA_PK_LEN);
		rc = store_claim_add(t, &x, cap, false);
	}
	return rc;
}

/* The claim `c` (of a record with sequence `seq`) renews the one its key
 * already has on the name: that one keeps its place in the queue and
 * takes the newer record and the later expiry, so a claimant that keeps
 * renewing keeps waiting; a known host in `c` (proven since, or by a
 * member) replaces the one held.  Returns 0, ANDNA_EEXIST when `c`
 * brings nothing newer, or a store error. */
static int
refresh_claim(struct engine *e, struct store_txn *t,
    const struct store_claim *c, uint64_t seq)
{
	struct queue_copy q = {0};
	struct record *old = NULL;
	int at = -1;
	int rc = store_claim_list(t, c->h8, c->name, queue_copy_cb, &q);

	for (int i = 0; rc == 0 && i < q.n; i++)
		if (memcmp(q.v[i].pk, c->pk, ANDNA_PK_LEN) == 0)
			at = i;
	if (rc == 0 &&
	    (at < 0 || record_decode(q.v[at].rec, q.v[at].rec_len, &old) != 0))
		rc = ANDNA_EEXIST;
	bool newer = rc == 0 && seq > old->seq;
	bool moved = rc == 0 && c->host.ep.family != 0 &&
	    (c->host.addr != q.v[at].host.addr ||
	    !ep_equal(&c->host.ep, &q.v[at].host.ep));
	if (rc == 0 && !newer && !moved &&
	    c->expires_at <= q.v[at].expires_at)
		rc = ANDNA_EEXIST;
	record_free(old);
	if (rc == 0) {
		struct queued *x = &q.v[at];
		if (newer) {
			uint8_t *blob = malloc(c->rec_len);
			if (blob == NULL) {
				queue_copy_free(&q);
				return ANDNA_ENOMEM;
			}
			memcpy(blob, c->rec, c->rec_len);
			free(x->rec);
			x->rec = blob;
			x->rec_len = c->rec_len;
		}
		if (c->expires_at > x->expires_at)
			x->expires_at = c->expires_at;
		if (moved)
			x->host = c->host;
		rc = queue_write(e, t, c, &q);
	}
	queue_copy_free(&q);
	return rc;
}

/* The claim `c`, just added at the tail, goes before the claims queued
 * clearly later than it: copies of one queue reach a member in any order
 * (anti-entropy, a bulk pull, one handover message a claim), and first
 * come must stay first served.  Ages travel in whole seconds, so claims
 * less than two seconds apart keep their order of arrival. */
static int
claim_order(struct engine *e, struct store_txn *t, const struct store_claim *c)
{
	const uint64_t tie_ms = 2000;
	struct queue_copy q = {0};
	int rc = store_claim_list(t, c->h8, c->name, queue_copy_cb, &q);
	int at = 0;

	while (rc == 0 && at < q.n - 1 &&
	    q.v[at].stored_at <= c->stored_at + tie_ms)
		at++;
	if (rc == 0 && at < q.n - 1) {
		struct queued last = q.v[q.n - 1];
		memmove(&q.v[at + 1], &q.v[at],
		    (size_t)(q.n - 1 - at) * sizeof(q.v[0]));
		q.v[at] = last;
		rc = queue_write(e, t, c, &q);
	}
	queue_copy_free(&q);
	return rc;
}

/* How many claims of keys other than `pk` in `q` came from the underlay
 * host of `ep`. */
static int
host_claims(const struct queue_copy *q, const struct endpoint *ep,
    const uint8_t *pk)
{
	int n = 0;

	for (int i = 0; i < q->n; i++)
		n += memcmp(q->v[i].pk, pk, ANDNA_PK_LEN) != 0 &&
		    ep_same_host(&q->v[i].host.ep, ep);
	return n;
}

/* Whether the host `h` (when known) may hold one more claim, rec's, on
 * rec's name: at most nodes_per_ipv4 claims per IPv4 address and
 * nodes_per_ipv6_64 per IPv6 /64 in one queue (DESIGN.md section 10,
 * "Nodes cost addresses"). */
static int
host_room(struct engine *e, struct store_txn *t, const struct record *rec,
    const struct claim_host *h)
{
	struct queue_copy q = {0};

	if (h == NULL || h->ep.family == 0)
		return 0;
	int rc = store_claim_list(t, name_hash8(rec->name), rec->name,
	    queue_copy_cb, &q);
	if (rc == 0 && host_claims(&q, &h->ep, rec->owner) >=
	    engine_host_limit(e, &h->ep))
		rc = ANDNA_EHOST_FULL;
	queue_copy_free(&q);
	return rc;
}

/* Queues `rec` as a claim on its name from host `h` (NULL: not known),
 * or renews the claim its key has there already (see refresh_claim()).
 * Returns 0, ANDNA_EEXIST (nothing newer), ANDNA_EQUEUE_FULL,
 * ANDNA_EHOST_FULL (h's host has its share of the queue) or a store
 * error. */
static int
put_claim(struct engine *e, struct store_txn *t, const struct record *rec,
    uint64_t stored_at, uint64_t expires_at, bool at_head,
    const struct claim_host *h)
{
	struct store_claim c = { .h8 = name_hash8(rec->name), .stored_at = stored_at,
		.expires_at = expires_at };
	size_t len;
	uint8_t *blob = NULL;
	int rc = at_head ? 0 : host_room(e, t, rec, h);

	if (rc != 0)
		return rc;
	if (h != NULL)
		c.host = *h;
	if ((blob = rec_blob(rec, &len)) == NULL)
		return ANDNA_ENOMEM;
	memcpy(c.name, rec->name, sizeof(c.name));
	memcpy(c.pk, rec->owner, ANDNA_PK_LEN);
	c.rec = blob;
	c.rec_len = len;
	rc = store_claim_add(t, &c, (size_t)e->cfg.queue_len, at_head);
	if (rc == ANDNA_EEXIST && !at_head)
		rc = refresh_claim(e, t, &c, rec->seq);
	else if (rc == 0 && !at_head)
		rc = claim_order(e, t, &c);
	free(blob);
	return rc;
}

/* The 1-based place of `pk` in the queue of `name`, or 0; *queued_at
 * is when the claim was first queued. */
static uint32_t
claim_place(struct store_txn *t, uint64_t h8, const char *name,
    const uint8_t *pk, uint64_t *queued_at)
{
	struct queue_copy q = {0};
	uint32_t place = 0;

	if (store_claim_list(t, h8, name, queue_copy_cb, &q) == 0)
		for (int i = 0; place == 0 && i < q.n; i++)
			if (memcmp(q.v[i].pk, pk, ANDNA_PK_LEN) == 0) {
				place = (uint32_t)i + 1;
				*queued_at = q.v[i].stored_at;
			}
	queue_copy_free(&q);
	return place;
}

/* Reads the live record of `name`; ANDNA_ENOTFOUND when none is held, it
 * has expired or the owner released it.  *sr is filled whenever the store
 * holds an entry (a tombstone included: STORE_REC_RELEASED), else zeroed.
 * *rec is the caller's to free. */
static int
get_record(struct store_txn *t, const char *name, uint64_t now,
    struct store_record *sr, struct record **rec)
{
	*rec = NULL;
	memset(sr, 0, sizeof(*sr));
	int rc = store_record_get(t, name_hash8(name), name, sr);
	if (rc != 0) {
		memset(sr, 0, sizeof(*sr));
		return rc;
	}
	if (sr->expires_at <= now || (sr->flags & STORE_REC_RELEASED))
		return ANDNA_ENOTFOUND;
	return record_decode(sr->rec, sr->rec_len, rec);
}

/* Whether `sr`, as get_record() left it, is a tombstone still kept. */
static bool
tombstone(const struct store_record *sr, uint64_t now)
{
	return (sr->flags & STORE_REC_RELEASED) && sr->expires_at > now;
}

/* ---- replication -------------------------------------------------------- */

int
ns_replicate(struct engine *e, const struct msg_item *items, int n,
    uint64_t id)
{
	struct msg m;
	int sent = 0;

	msg_init(&m);
	m.type = MSG_REPLICATE;
	m.id = id;
	m.u.replicate.n = (uint8_t)n;
	m.u.replicate.v = (struct msg_item *)items;
	for (int i = 0; i < e->inner.n; i++) {
		if (e->inner.m[i].state != MEMBER_ALIVE)
			continue;
		if (engine_send(e, &e->inner.m[i].eps[0], &m) > 0)
			sent++;
	}
	m.u.replicate.v = NULL; /* the caller's */
	return sent;
}

void
ns_replicate_then_answer(struct engine *e, const struct msg_item *it, int n,
    const struct msg_route *route, uint64_t reply_id, uint8_t reply_type,
    uint8_t status, uint32_t pos, uint8_t after, uint64_t now)
{
	struct pending *p = pending_add(e, PK_REPLICAS, 0, now);
	uint64_t wait_id = engine_rand64(e);

	e->ns.replicated++;
	int sent = ns_replicate(e, it, n, wait_id);
	if (p == NULL)
		return;
	p->wire_id = wait_id;
	p->for_peer = true;
	p->peer_route = *route;
	p->peer_id = reply_id;
	p->peer_type = reply_type;
	p->peer_status = status;
	p->queue_pos = pos;
	p->life = it->life;
	p->acks_left = sent;
	p->members = sent;
	if (after != 0 && n == 1 && (p->rec = ns_record_copy(it->rec)) != NULL) {
		p->after = after;
		p->op = it->kind;
		p->age = it->age;
		p->host = it->host;
	}
	/* a member that misses its copy gets it from anti-entropy later */
	p->deadline = now + 2 * e->cfg.hop_timeout_ms;
	if (sent == 0)
		ns_pending_done(e, p, NULL, now);
}

/* Sends the answer a pending request owes a peer. */
static void
answer_peer(struct engine *e, const struct pending *p, uint8_t status,
    uint32_t life, uint32_t count, uint64_t now)
{
	struct msg r;

	if (p->peer_type == 0)
		return; /* nobody waits */
	msg_init(&r);
	r.type = p->peer_type;
	r.id = p->peer_id;
	if (r.type == MSG_REGISTER_REPLY) {
		r.u.reg_reply.status = status;
		r.u.reg_reply.queue_pos = p->queue_pos;
		r.u.reg_reply.life = life;
	} else {
		r.u.status_count.status = status;
		r.u.status_count.count = count;
	}
	engine_reply_routed(e, &p->peer_route, &r, now);
}

static void
reply_register(struct engine *e, const struct msg_route *route, uint64_t id,
    uint8_t status, uint32_t pos, uint32_t life, uint64_t now)
{
	struct msg r;

	msg_init(&r);
	r.type = MSG_REGISTER_REPLY;
	r.id = id;
	r.u.reg_reply.status = status;
	r.u.reg_reply.queue_pos = pos;
	r.u.reg_reply.life = life;
	engine_reply_routed(e, route, &r, now);
}

/* Says STALE with the record we hold of the name for the same key (NULL:
 * none could be read), signed by that key: the owner's node then signs
 * again above its sequence number (see resign()), and a liar cannot make
 * it jump further than a number the key really signed. */
static void
reply_stale(struct engine *e, const struct msg_route *route, uint64_t id,
    const struct record *held, uint64_t now)
{
	struct msg r;

	msg_init(&r);
	r.type = MSG_REGISTER_REPLY;
	r.id = id;
	r.u.reg_reply.status = MSG_ST_STALE;
	r.u.reg_reply.held = (struct record *)held; /* borrowed, to send */
	engine_reply_routed(e, route, &r, now);
}

/* Asks the counter gnode of rec's owner to add (or drop) the name.  With
 * `m` the registration `m` waits for the answer; without, nobody does. */
static void
counter_ask(struct engine *e, const struct record *rec, uint8_t op,
    const struct msg *m, uint64_t now)
{
	struct pending *p = pending_add(e, PK_COUNTER, MSG_COUNTER_CHECK, now);

	if (p == NULL)
		return;
	p->rec = ns_record_copy(rec);
	if (p->rec == NULL) {
		pending_remove(e, p);
		return;
	}
	p->op = op;
	p->target = key_hash(rec->owner);
	if (m != NULL) {
		p->for_peer = true;
		p->peer_route = m->u.reg.route;
		p->peer_id = m->id;
		p->peer_type = MSG_REGISTER_REPLY;
		/* where its claimant answers, should it lose the name */
		p->host.addr = m->u.reg.route.origin;
		p->host.ep = m->u.reg.ep;
	}
	pending_send(e, p, now);
}

/* Replication of an item ended: a majority of the gnode holds it, or the
 * requester hears BUSY.  Only once it is held does the backup gnode get
 * its copy (it asks this gnode before it keeps one) and the owner's
 * counter gnode hear that the key may not hold the name any more (it asks
 * this gnode too). */
static void
replicas_done(struct engine *e, struct pending *p, uint64_t now)
{
	struct pending q = *p; /* as in counter_done() */
	p->rec = NULL;
	pending_remove(e, p);
	int holders = 1 + q.members - q.acks_left;
	bool held = 2 * holders > inner_live(&e->inner) + 1;
	if (held && q.rec != NULL) {
		struct msg_item it = { .kind = q.op, .age = q.age,
			.life = q.life, .rec = q.rec, .host = q.host };
		if (q.after & NS_AFTER_BACKUP)
			ns_push_backup(e, &it, 1, now);
		if (q.after & NS_AFTER_UNCOUNT)
			counter_ask(e, q.rec, MSG_OP_REMOVE, NULL, now);
	}
	/* a handover is confirmed only by a majority; a record held by fewer
	 * says so (the owner asks again), a claim asks again at once */
	uint8_t st = held ? q.peer_status : q.peer_type == MSG_REGISTER_REPLY &&
	    q.peer_status == MSG_ST_OK && holders > 1 ? MSG_ST_MINORITY :
	    MSG_ST_BUSY;
	answer_peer(e, &q, st, q.life, (uint32_t)holders, now);
	record_free(q.rec);
}

/* ---- applying replicated items ------------------------------------------ */

/* Two owners hold one name (the halves of a partition met): the older
 * continuous registration keeps it, a tie goes to the lower key.  Ages
 * travel in whole seconds, so registrations less than a few seconds apart
 * count as a tie. */
static bool
incoming_wins(uint64_t in_at, const uint8_t *in_pk, uint64_t cur_at,
    const uint8_t *cur_pk)
{
	const uint64_t tie_ms = 5000;

	if (in_at + tie_ms < cur_at)
		return true;
	if (cur_at + tie_ms < in_at)
		return false;
	return memcmp(in_pk, cur_pk, ANDNA_PK_LEN) < 0;
}

/* Whether the key of `rec` holds the live record of its name. */
static bool
owns_name(struct store_txn *t, const struct record *rec, uint64_t now)
{
	struct store_record cur;
	struct record *have = NULL;
	bool owns = get_record(t, rec->name, now, &cur, &have) == 0 &&
	    memcmp(cur.pk, rec->owner, ANDNA_PK_LEN) == 0;

	record_free(have);
	return owns;
}

/* Two owners met on one name (registrations that raced, or the halves of
 * a partition): the loser's key keeps a tally until its counter gnode
 * hears of it.  The gnode's leader tells it, out of the store transaction
 * (see uncount_flush()). */
static void
uncount_later(struct engine *e, const struct record *loser)
{
	if (e->n_uncount < UNCOUNT_MAX && ns_leader(e) &&
	    (e->uncount[e->n_uncount] = ns_record_copy(loser)) != NULL)
		e->n_uncount++;
}

static void
uncount_flush(struct engine *e, uint64_t now)
{
	while (e->n_uncount > 0) {
		struct record *rec = e->uncount[--e->n_uncount];
		counter_ask(e, rec, MSG_OP_REMOVE, NULL, now);
		record_free(rec);
	}
}

/* Applies a replicated record (or release) of a name we hold a role for.
 * A release is kept as a tombstone until the name would have expired, so
 * that no older record of its owner (a replay, or a member that missed
 * the release) brings the name back; no record older than one held of the
 * same owner is ever taken. */
static int
apply_record(struct engine *e, struct store_txn *t, const struct record *rec,
    uint64_t stored_at, uint64_t expires_at, bool backup, uint64_t now)
{
	struct store_record cur;
	struct record *have = NULL;
	uint64_t h8 = name_hash8(rec->name);
	uint8_t flags = backup ? STORE_REC_BACKUP : 0;
	int rc = get_record(t, rec->name, now, &cur, &have);

	if (rc != 0 && rc != ANDNA_ENOTFOUND)
		return rc;
	record_free(have);
	bool held = rc == 0;
	bool kept = held || tombstone(&cur, now);
	bool same = kept && memcmp(cur.pk, rec->owner, ANDNA_PK_LEN) == 0;
	if (same && (rec->seq < cur.seq || (rec->seq == cur.seq &&
	    (!held || record_is_release(rec)))))
		return 0; /* older, or a release we keep already */
	if (record_is_release(rec)) {
		if (held && !same)
			return 0; /* a former owner's: the name is another's */
		/* the tombstone lives as long as the name would have */
		rc = put_record(t, rec, now, held ? cur.expires_at : expires_at,
		    flags);
		if (held) {
			e->next_promote = now; /* the queue's turn */
			/* the record of the claim the leader promotes next may
			 * have crossed this release on its way here and been
			 * queued as a claim: a digest exchange soon brings it
			 * back */
			if (e->next_sync > now + NS_SYNC_SOON_MS)
				e->next_sync = now + NS_SYNC_SOON_MS;
		}
		return rc;
	}
	if (!held) {
		rc = put_record(t, rec, stored_at, expires_at, flags);
		if (rc == 0 && store_claim_del(t, h8, rec->name, rec->owner) == ANDNA_ENOTFOUND)
			rc = 0;
		return rc;
	}
	if (same) {
		/* the same record again never lives longer: only the owner's
		 * renewal (a new sequence number) moves the expiry, so no
		 * replay keeps a name alive or makes its owner's update "too
		 * soon" */
		if (rec->seq == cur.seq)
			return 0;
		return put_record(t, rec, cur.stored_at < stored_at ?
		    cur.stored_at : stored_at, expires_at, flags);
	}
	if (!incoming_wins(stored_at, rec->owner, cur.stored_at, cur.pk)) {
		rc = put_claim(e, t, rec, stored_at, expires_at, true, NULL);
		uncount_later(e, rec);
		return rc == ANDNA_EEXIST ? 0 : rc;
	}
	/* the incoming owner keeps the name; ours waits at the queue's head */
	struct record *loser = NULL;
	rc = record_decode(cur.rec, cur.rec_len, &loser);
	if (rc == 0)
		rc = put_claim(e, t, loser, cur.stored_at, cur.expires_at, true,
		    NULL);
	if (loser != NULL)
		uncount_later(e, loser);
	record_free(loser);
	if (rc == 0 || rc == ANDNA_EEXIST)
		rc = put_record(t, rec, stored_at, expires_at, flags);
	if (rc == 0 && store_claim_del(t, h8, rec->name, rec->owner) == ANDNA_ENOTFOUND)
		rc = 0;
	return rc;
}

/* Withdraws the claim `rec` releases, unless the claim is newer. */
static int
withdraw_claim(struct store_txn *t, const struct record *rec)
{
	struct queue_copy q = {0};
	uint64_t h8 = name_hash8(rec->name);
	int rc = store_claim_list(t, h8, rec->name, queue_copy_cb, &q);

	for (int i = 0; rc == 0 && i < q.n; i++) {
		struct record *c = NULL;
		if (memcmp(q.v[i].pk, rec->owner, ANDNA_PK_LEN) != 0 ||
		    record_decode(q.v[i].rec, q.v[i].rec_len, &c) != 0)
			continue;
		if (c->seq < rec->seq)
			rc = store_claim_del(t, h8, rec->name, rec->owner);
		record_free(c);
	}
	queue_copy_free(&q);
	return rc;
}

int
ns_apply_item(struct engine *e, const struct msg_item *it, uint64_t now)
{
	const struct record *rec = it->rec;
	int rc = ns_verify(e, rec);

	if (rc != 0) {
		e->ns.rejected_sig++;
		return rc;
	}
	ovl_addr_t target = it->kind == MSG_KIND_TALLIES ? key_hash(rec->owner) :
	    name_hash(rec->name);
	enum ns_role role = ns_role(e, target);
	if (role == NS_NONE)
		return ANDNA_ENOTFOUND;
	/* nothing lives, or was stored, longer than the expiry */
	uint32_t cap = e->cfg.expiry_s;
	uint64_t age = (uint64_t)(it->age < cap ? it->age : cap) * 1000;
	uint64_t stored_at = now > age ? now - age : 0;
	uint64_t expires_at = now + (uint64_t)(it->life < cap ? it->life : cap) *
	    1000;
	if (expires_at <= now && it->kind != MSG_KIND_TALLIES)
		return 0;
	struct store_txn *t = txn_begin(e, true);
	if (t == NULL)
		return ANDNA_ESTORE_TXN;
	switch (it->kind) {
	case MSG_KIND_RECORDS:
		rc = apply_record(e, t, rec, stored_at, expires_at,
		    role == NS_BACKUP, now);
		break;
	case MSG_KIND_CLAIMS:
		if (record_is_release(rec)) {
			rc = withdraw_claim(t, rec);
		} else if (owns_name(t, rec, now)) {
			rc = 0; /* a copy from before its claim was promoted */
		} else {
			/* a member's word: it proved the host, or took the
			 * claim from a member that did */
			rc = put_claim(e, t, rec, stored_at, expires_at, false,
			    &it->host);
			rc = rc == ANDNA_EEXIST || rc == ANDNA_EQUEUE_FULL ||
			    rc == ANDNA_EHOST_FULL ? 0 : rc;
		}
		break;
	default: {
		uint64_t h8 = name_hash8(rec->name);
		if (record_is_release(rec) || expires_at <= now) {
			/* gone from the key's tally (see tally_vote_done()) */
			rc = store_counter_del(t, rec->owner, h8);
			rc = rc == ANDNA_ENOTFOUND ? 0 : rc;
			break;
		}
		size_t len;
		uint8_t *blob = rec_blob(rec, &len);
		struct store_counter c = { .h8 = h8, .rec = blob,
			.rec_len = len, .expires_at = expires_at };
		memcpy(c.pk, rec->owner, ANDNA_PK_LEN);
		rc = blob == NULL ? ANDNA_ENOMEM : store_counter_put(t, &c);
		free(blob);
		break;
	}
	}
	return txn_end(e, t, rc);
}

/* ---- queue promotion ---------------------------------------------------- */

/* A name is free and claims wait on it: the head claim owns it once its
 * key's counter gnode consents, as a registration would; a key that
 * holds the most names already is passed over (its claim keeps its place
 * and is asked about again next time) for the claim after it.  Only the
 * gnode's leader asks, and what it decides reaches the members and the
 * backup gnode as the new owner's signed record. */

struct claim_at {
	uint32_t want; /* place sought, from 0 */
	uint32_t place;
	struct record *rec;
};

static int
claim_at_cb(void *arg, const struct store_claim *c)
{
	struct claim_at *a = arg;

	if (a->place++ < a->want)
		return 0;
	return record_decode(c->rec, c->rec_len, &a->rec) == 0 ? 1 : 0;
}

/* Asks the counter gnode about the claim at `place` (from 0) in the queue
 * of the free name `name`, or at the first place after it that holds a
 * claim; the answer comes to promote_done(). */
static void
promote_ask(struct engine *e, const char *name, uint32_t place, uint64_t now)
{
	struct claim_at a = { .want = place };
	struct store_txn *t = txn_begin(e, false);
	struct pending *p;

	if (t == NULL)
		return;
	store_claim_list(t, name_hash8(name), name, claim_at_cb, &a);
	store_txn_abort(t);
	if (a.rec == NULL ||
	    (p = pending_add(e, PK_PROMOTE, MSG_COUNTER_CHECK, now)) == NULL) {
		record_free(a.rec);
		return;
	}
	p->rec = a.rec;
	p->op = MSG_OP_ADD;
	p->queue_pos = a.place - 1;
	p->target = key_hash(a.rec->owner);
	pending_send(e, p, now);
}

/* The counter consented: the claim `rec` owns its name if the name is
 * still free and the claim still waits. */
static void
promote(struct engine *e, const struct record *rec, uint64_t now)
{
	uint64_t h8 = name_hash8(rec->name);
	uint64_t exp = now + (uint64_t)e->cfg.expiry_s * 1000;
	struct store_record cur;
	struct record *have = NULL;
	struct store_txn *t;

	if (ns_role(e, name_hash(rec->name)) != NS_PRIMARY ||
	    (t = txn_begin(e, true)) == NULL)
		return;
	int rc = get_record(t, rec->name, now, &cur, &have);
	record_free(have);
	if (rc == 0)
		rc = ANDNA_EEXIST; /* owned again meanwhile */
	else if (rc == ANDNA_ENOTFOUND)
		rc = store_claim_del(t, h8, rec->name, rec->owner);
	if (rc == 0)
		rc = put_record(t, rec, now, exp, false);
	if (txn_end(e, t, rc) != 0)
		return;
	e->ns.registered++;
	struct msg_item it = item_for(MSG_KIND_RECORDS, rec, now, exp, now);
	struct msg_route nobody = { 0 };
	ns_replicate_then_answer(e, &it, 1, &nobody, 0, 0, MSG_ST_OK, 0,
	    NS_AFTER_BACKUP, now);
}

/* The counter's answer about a claim we would promote. */
static void
promote_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	struct record *rec = p->rec;
	uint32_t place = p->queue_pos;
	uint8_t st = m == NULL ? MSG_ST_BUSY : m->u.status_count.status;

	p->rec = NULL;
	pending_remove(e, p);
	if (st == MSG_ST_OK)
		promote(e, rec, now);
	else if (st == MSG_ST_TOO_MANY_NAMES)
		promote_ask(e, rec->name, place + 1, now);
	/* else the next look asks again */
	record_free(rec);
}

/* Whether we are asking the counter about a claim on `name` already. */
static bool
promoting(const struct engine *e, const char *name)
{
	for (int i = 0; i < e->n_pend; i++)
		if (e->pend[i].kind == PK_PROMOTE &&
		    strcmp(e->pend[i].rec->name, name) == 0)
			return true;
	return false;
}

/* Free names with claims waiting, found by promote_scan(). */
struct free_names {
	struct engine *e;
	struct store_txn *t;
	uint64_t now;
	bool settled; /* no record can be on its way here (ns_names_settled()) */
	char last[ANDNA_NAME_MAX + 1]; /* the queue looked at last */
	int n;
	char name[SWEEP_BATCH][ANDNA_NAME_MAX + 1];
};

static int
free_name_cb(void *arg, const struct store_claim *c)
{
	struct free_names *f = arg;
	struct store_record sr;

	if (strcmp(c->name, f->last) == 0)
		return 0; /* the rest of a queue seen already */
	memcpy(f->last, c->name, sizeof(f->last));
	int got = store_record_get(f->t, c->h8, c->name, &sr);
	if ((got == 0 && sr.expires_at > f->now &&
	    !(sr.flags & STORE_REC_RELEASED)) || (got != 0 && !f->settled) ||
	    ns_role(f->e, name_hash(c->name)) != NS_PRIMARY ||
	    promoting(f->e, c->name))
		return 0;
	memcpy(f->name[f->n++], c->name, sizeof(f->name[0]));
	return f->n == SWEEP_BATCH;
}

/* The leader looks for free names with a queue: the owner released one,
 * it expired, a refused claim may fit now, or the leader that asked
 * before is gone. */
static void
promote_scan(struct engine *e, uint64_t now)
{
	struct free_names *f;

	if (!ns_leader(e) || (f = calloc(1, sizeof(*f))) == NULL)
		return;
	f->e = e;
	f->now = now;
	f->settled = ns_names_settled(e, now);
	if ((f->t = txn_begin(e, false)) != NULL) {
		store_claim_each(f->t, free_name_cb, f);
		store_txn_abort(f->t);
	}
	for (int i = 0; i < f->n; i++)
		promote_ask(e, f->name[i], 0, now);
	free(f);
}

/* ---- at the hash gnode -------------------------------------------------- */

/* Replicates the outcome of a request for `rec` (kind `kind`, stored at
 * `stored_at`, expiring at `exp`) and answers `m` with `status` once a
 * majority of the gnode holds it; `after` is what follows then. */
static void
store_then_answer(struct engine *e, const struct msg_route *route,
    uint64_t id, uint8_t kind,
    const struct record *rec, uint64_t stored_at, uint64_t exp,
    uint8_t status, uint32_t pos, uint8_t after, uint64_t now)
{
	struct msg_item it = item_for(kind, rec, stored_at, exp, now);

	ns_replicate_then_answer(e, &it, 1, route, id, MSG_REGISTER_REPLY,
	    status, pos, after, now);
}

/* A release: by the owner it leaves a tombstone, the name going to the
 * head of its queue; by a claimant it withdraws the claim. */
static void
handle_release(struct engine *e, const struct msg *m, struct store_txn *t,
    const struct store_record *cur, bool held, uint64_t now)
{
	const struct record *rec = m->u.reg.rec;
	bool same = memcmp(cur->pk, rec->owner, ANDNA_PK_LEN) == 0;
	uint64_t exp = now + (uint64_t)e->cfg.expiry_s * 1000;
	uint64_t queued_at;
	int rc;

	if (!held && tombstone(cur, now) && same && rec->seq <= cur->seq) {
		/* released already (a retry whose answer was lost, or an
		 * older release): the tombstone we keep goes round again */
		struct record *tomb = NULL;
		rc = record_decode(cur->rec, cur->rec_len, &tomb);
		txn_end(e, t, 0);
		if (rc != 0)
			reply_register(e, &m->u.reg.route, m->id, MSG_ST_BUSY,
			    0, 0, now);
		else
			store_then_answer(e, &m->u.reg.route, m->id,
			    MSG_KIND_RECORDS, tomb, now, cur->expires_at,
			    MSG_ST_OK, 0, NS_AFTER_BACKUP, now);
		record_free(tomb);
		return;
	}
	if (!held || !same) {
		bool waits = claim_place(t, name_hash8(rec->name), rec->name,
		    rec->owner, &queued_at) > 0;
		rc = waits ? withdraw_claim(t, rec) : 0;
		txn_end(e, t, rc);
		if (!waits || rc != 0) {
			reply_register(e, &m->u.reg.route, m->id,
			    waits ? MSG_ST_BUSY : MSG_ST_NOT_FOUND, 0, 0, now);
			return;
		}
		store_then_answer(e, &m->u.reg.route, m->id, MSG_KIND_CLAIMS,
		    rec, now, exp, MSG_ST_OK, 0, 0, now);
		return;
	}
	if (rec->seq <= cur->seq) {
		struct record *have = NULL;
		if (record_decode(cur->rec, cur->rec_len, &have) != 0)
			have = NULL;
		txn_end(e, t, 0);
		reply_stale(e, &m->u.reg.route, m->id, have, now);
		record_free(have);
		return;
	}
	rc = apply_record(e, t, rec, now, exp, false, now);
	if (txn_end(e, t, rc) != 0) {
		reply_register(e, &m->u.reg.route, m->id, MSG_ST_BUSY, 0, 0,
		    now);
		return;
	}
	/* the tombstone is kept, replicated and backed up until the name
	 * would have expired; the counter gnode drops the tally once it has
	 * asked us */
	store_then_answer(e, &m->u.reg.route, m->id, MSG_KIND_RECORDS, rec, now,
	    cur->expires_at, MSG_ST_OK, 0, NS_AFTER_BACKUP | NS_AFTER_UNCOUNT,
	    now);
}

/* Replicates the claim `rec` from `host`, queued at `queued_at` in place
 * `pos`, and answers QUEUED once a majority of the gnode holds it (with
 * `id` 0 nobody waits: only replicated).  Every member and the backup
 * gnode keep the claim, so that it outlives crashes and handovers like a
 * record. */
static void
claim_then_answer(struct engine *e, const struct msg_route *route,
    uint64_t id, const struct record *rec, const struct claim_host *host,
    uint64_t queued_at, uint64_t exp, uint32_t pos, uint64_t now)
{
	struct msg_item it = item_for(MSG_KIND_CLAIMS, rec, queued_at, exp, now);

	it.host = *host;
	if (id == 0) {
		ns_replicate(e, &it, 1, engine_rand64(e));
		return;
	}
	/* a claim may be a registration that lost the race for a free name
	 * after its counter gnode counted it: that gnode hears of it */
	ns_replicate_then_answer(e, &it, 1, route, id, MSG_REGISTER_REPLY,
	    MSG_ST_QUEUED, pos, NS_AFTER_BACKUP | NS_AFTER_UNCOUNT, now);
}

/* Asks the node at the origin of REGISTER `m` to prove it answers at the
 * endpoint `m` names before its claim is queued.  Returns 0 (the answer
 * to `m` comes later) or the status to answer now. */
static uint8_t
claim_challenge(struct engine *e, const struct msg *m, uint64_t now)
{
	struct contact c = { m->u.reg.route.origin, m->u.reg.ep };
	struct claim_wait w = { .route = m->u.reg.route, .reply_id = m->id };

	if ((w.rec = ns_record_copy(m->u.reg.rec)) == NULL)
		return MSG_ST_BUSY;
	int rc = gossip_check_claim(e, &c, &w, now);
	if (rc != 0)
		record_free(w.rec);
	return rc == 0 || rc == ANDNA_EEXIST ? 0 : MSG_ST_BUSY;
}

/* The queue of rec's name as a HANDOVER from outside may join it: after
 * every claim held, whatever age it says (its sender is not known to us,
 * so it may not put a claim before one we hold).  Returns the stored_at
 * to use for a claim of age `age_ms`. */
static uint64_t
handed_stored_at(struct store_txn *t, const struct record *rec,
    uint64_t age_ms, uint64_t now)
{
	struct queue_copy q = {0};
	uint64_t at = now > age_ms ? now - age_ms : 0;

	if (store_claim_list(t, name_hash8(rec->name), rec->name, queue_copy_cb,
	    &q) == 0)
		for (int i = 0; i < q.n; i++)
			if (memcmp(q.v[i].pk, rec->owner, ANDNA_PK_LEN) != 0 &&
			    q.v[i].stored_at > at)
				at = q.v[i].stored_at;
	queue_copy_free(&q);
	return at;
}

void
ns_claim_proven(struct engine *e, struct claim_wait *w,
    const struct claim_host *host, uint64_t now)
{
	const struct record *rec = w->rec;
	uint64_t h8 = name_hash8(rec->name);
	uint32_t cap = e->cfg.expiry_s;
	uint64_t exp = now + (uint64_t)cap * 1000;
	uint64_t stored_at = now, queued_at = now;
	struct store_record cur;
	struct record *have = NULL;
	size_t waiting = 0;
	uint32_t pos = 0;
	uint8_t st = MSG_ST_BUSY;
	struct store_txn *t = txn_begin(e, true);
	int rc = t == NULL ? ANDNA_ESTORE_TXN :
	    get_record(t, rec->name, now, &cur, &have);

	record_free(have);
	bool other = rc == 0 && memcmp(cur.pk, rec->owner, ANDNA_PK_LEN) != 0;
	bool own = rc == 0 && !other;
	if (t != NULL && store_claim_count(t, h8, rec->name, &waiting) != 0)
		waiting = 0;
	if (t != NULL && w->reply_id == 0) {
		stored_at = handed_stored_at(t, rec, (uint64_t)(w->age < cap ?
		    w->age : cap) * 1000, now);
		exp = now + (uint64_t)(w->life < cap ? w->life : cap) * 1000;
	}
	/* the name may have changed meanwhile: a registered claim waits
	 * only on a name another key holds or others wait for (else the
	 * claimant's node asks again and the name goes the way of a free
	 * one); a handed-over claim is kept as replicated ones are, unless
	 * its key owns the name (the record may come after it) */
	bool waits = w->reply_id == 0 ? !own : other || (waiting > 0 && !own);
	rc = 0;
	if (t != NULL && waits && exp > now) {
		rc = put_claim(e, t, rec, stored_at, exp, false, host);
		pos = claim_place(t, h8, rec->name, rec->owner, &queued_at);
		st = rc == ANDNA_EQUEUE_FULL ? MSG_ST_QUEUE_FULL :
		    rc == ANDNA_EHOST_FULL ? MSG_ST_HOST_FULL :
		    (rc == 0 || rc == ANDNA_EEXIST) && pos > 0 ? MSG_ST_QUEUED :
		    MSG_ST_BUSY;
		if (rc == ANDNA_EEXIST || rc == ANDNA_EQUEUE_FULL ||
		    rc == ANDNA_EHOST_FULL)
			rc = 0; /* nothing written */
	}
	if (t != NULL && txn_end(e, t, rc) != 0)
		st = MSG_ST_BUSY;
	if (st == MSG_ST_QUEUED) {
		e->ns.handed_over += w->reply_id == 0;
		claim_then_answer(e, &w->route, w->reply_id, rec, host,
		    queued_at, exp, pos, now);
	} else if (w->reply_id != 0) {
		reply_register(e, &w->route, w->reply_id, st, 0, 0, now);
	}
	record_free(w->rec);
	w->rec = NULL;
	ns_claim_next(e, w, now);
}

void
ns_claim_wait_free(struct claim_wait *w)
{
	record_free(w->rec);
	w->rec = NULL;
	for (int i = w->at; i < w->n_rest; i++)
		record_free(w->rest[i].rec);
	free(w->rest);
	w->rest = NULL;
	w->n_rest = w->at = 0;
}

void
ns_claim_next(struct engine *e, struct claim_wait *w, uint64_t now)
{
	while (w->rest != NULL && w->at < w->n_rest) {
		struct msg_item *it = &w->rest[w->at++];
		struct contact c = { it->host.addr, it->host.ep };
		struct claim_wait next = { .rec = it->rec, .age = it->age,
			.life = it->life, .rest = w->rest, .n_rest = w->n_rest,
			.at = w->at };
		it->rec = NULL;
		if (gossip_check_claim(e, &c, &next, now) == 0) {
			w->rest = NULL; /* the next check's now */
			break;
		}
		record_free(next.rec);
	}
	free(w->rest);
	w->rest = NULL;
	w->n_rest = w->at = 0;
}

void
ns_claim_unproven(struct engine *e, struct claim_wait *w, uint64_t now)
{
	if (w->reply_id != 0)
		reply_register(e, &w->route, w->reply_id, MSG_ST_BUSY, 0, 0, now);
	record_free(w->rec);
	w->rec = NULL;
	ns_claim_next(e, w, now);
}

bool
ns_claim_held(struct engine *e, const struct record *rec)
{
	uint64_t queued_at;
	struct store_txn *t = txn_begin(e, false);

	if (t == NULL)
		return false;
	bool held = claim_place(t, name_hash8(rec->name), rec->name, rec->owner,
	    &queued_at) > 0;
	store_txn_abort(t);
	return held;
}

/* Stores a registration the counter allowed and says what came of it:
 * the name is the key's, or nothing was stored, or another registration
 * took it meanwhile (then the counter gnode hears the key may not count
 * it): the claim waits in the queue once the node at `host` answered a
 * challenge, as any claim does, so a host racing for a free name with
 * many keys gets no more of its queue. */
static void
register_store(struct engine *e, const struct record *rec,
    const struct msg_route *route, uint64_t id,
    const struct claim_host *host, uint64_t now)
{
	uint64_t exp = now + (uint64_t)e->cfg.expiry_s * 1000;
	uint64_t queued_at = now;
	struct store_txn *t = txn_begin(e, true);
	int rc = t == NULL ? ANDNA_ESTORE_TXN : apply_record(e, t, rec, now, exp,
	    false, now);
	bool owns = rc == 0 && owns_name(t, rec, now);
	uint32_t pos = rc == 0 && !owns ? claim_place(t, name_hash8(rec->name),
	    rec->name, rec->owner, &queued_at) : 0;

	/* apply_record() put the loser first in the queue, as after a
	 * split; a race is no split: the claim waits for its challenge */
	if (pos > 0 && (rc = store_claim_del(t, name_hash8(rec->name), rec->name,
	    rec->owner)) == ANDNA_ENOTFOUND)
		rc = 0;
	if (t != NULL && txn_end(e, t, rc) != 0)
		rc = ANDNA_ESTORE_TXN;
	if (rc != 0 || (!owns && pos == 0)) {
		reply_register(e, route, id,
		    rc != 0 ? MSG_ST_BUSY : MSG_ST_TAKEN, 0, 0, now);
		return;
	}
	if (owns) {
		e->ns.registered++;
		store_then_answer(e, route, id, MSG_KIND_RECORDS, rec, now, exp,
		    MSG_ST_OK, 0, NS_AFTER_BACKUP, now);
		return;
	}
	struct contact c = { host->addr, host->ep };
	struct claim_wait w = { .route = *route, .reply_id = id };
	if (host->ep.family == 0 || (w.rec = ns_record_copy(rec)) == NULL) {
		reply_register(e, route, id, MSG_ST_BUSY, 0, 0, now);
		return;
	}
	rc = gossip_check_claim(e, &c, &w, now);
	if (rc != 0)
		record_free(w.rec);
	if (rc != 0 && rc != ANDNA_EEXIST)
		reply_register(e, route, id, MSG_ST_BUSY, 0, 0, now);
}

/* A claim on a name held by another key, or free with claims waiting
 * (`t` is ours to end).  A renewal from the host its claim came from
 * keeps its place at once; any other claim first costs its claimant an
 * address: the node at the route's origin must answer a CHALLENGE from
 * the endpoint the REGISTER names (ns_claim_proven() goes on), and a
 * host that has its share of the queue, or a full queue, is refused
 * before anything is sent. */
static void
register_claim(struct engine *e, struct msg *m, struct store_txn *t,
    uint64_t now)
{
	const struct record *rec = m->u.reg.rec;
	const struct endpoint *ep = &m->u.reg.ep;
	const struct msg_route *route = &m->u.reg.route;
	uint64_t h8 = name_hash8(rec->name);
	uint64_t exp = now + (uint64_t)e->cfg.expiry_s * 1000;
	struct queue_copy q = {0};
	int rc = store_claim_list(t, h8, rec->name, queue_copy_cb, &q);
	int mine = -1;
	uint8_t st = rc != 0 ? MSG_ST_BUSY : 0;

	for (int i = 0; rc == 0 && i < q.n; i++)
		if (memcmp(q.v[i].pk, rec->owner, ANDNA_PK_LEN) == 0)
			mine = i;
	struct claim_host host = { route->origin, *ep };
	bool renewal = mine >= 0 && q.v[mine].host.addr == route->origin &&
	    ep_same_host(&q.v[mine].host.ep, ep);
	if (renewal)
		host = q.v[mine].host; /* as proven */
	if (st == 0 && host_claims(&q, ep, rec->owner) >=
	    engine_host_limit(e, ep))
		st = MSG_ST_HOST_FULL;
	else if (st == 0 && mine < 0 && q.n >= e->cfg.queue_len)
		st = MSG_ST_QUEUE_FULL;
	queue_copy_free(&q);
	if (st != 0 || !renewal) {
		txn_end(e, t, 0);
		if (st == 0)
			st = claim_challenge(e, m, now);
		if (st != 0)
			reply_register(e, route, m->id, st, 0, 0, now);
		return;
	}
	rc = put_claim(e, t, rec, now, exp, false, &host);
	/* its place: where it was */
	uint64_t queued_at = now;
	uint32_t n = claim_place(t, h8, rec->name, rec->owner, &queued_at);
	if (txn_end(e, t, rc == ANDNA_EEXIST ? 0 : rc) != 0 ||
	    (rc != 0 && rc != ANDNA_EEXIST) || n == 0) {
		reply_register(e, route, m->id, rc == ANDNA_EHOST_FULL ?
		    MSG_ST_HOST_FULL : MSG_ST_BUSY, 0, 0, now);
		return;
	}
	claim_then_answer(e, route, m->id, rec, &host, queued_at, exp, n, now);
}

static void
handle_register(struct engine *e, struct msg *m, uint64_t now)
{
	struct record *rec = m->u.reg.rec;

	if (ns_role(e, name_hash(rec->name)) != NS_PRIMARY ||
	    m->u.reg.route.n_exclude > 0) {
		reply_register(e, &m->u.reg.route, m->id,
		    MSG_ST_NOT_RESPONSIBLE, 0, 0, now);
		return;
	}
	if (ns_verify(e, rec) != 0) {
		e->ns.rejected_sig++;
		reply_register(e, &m->u.reg.route, m->id, MSG_ST_BAD_SIG, 0, 0,
		    now);
		return;
	}
	struct store_txn *t = txn_begin(e, true);
	if (t == NULL) {
		reply_register(e, &m->u.reg.route, m->id, MSG_ST_BUSY, 0, 0,
		    now);
		return;
	}
	struct store_record cur;
	struct record *have = NULL;
	uint64_t h8 = name_hash8(rec->name);
	int rc = get_record(t, rec->name, now, &cur, &have);
	bool held = rc == 0;
	bool known = cur.rec != NULL; /* live, expired or released */
	bool same = cur.rec != NULL &&
	    memcmp(cur.pk, rec->owner, ANDNA_PK_LEN) == 0;
	size_t waiting = 0;
	if (!held && cur.rec != NULL && cur.expires_at <= now &&
	    store_record_del(t, h8, rec->name) == 0) {
		e->next_promote = now; /* expired, not swept yet */
		memset(&cur, 0, sizeof(cur));
	}
	if (!held && store_claim_count(t, h8, rec->name, &waiting) != 0)
		waiting = 0;
	if (record_is_release(rec)) {
		record_free(have);
		handle_release(e, m, t, &cur, held, now);
		return;
	}
	if (!held && same && tombstone(&cur, now) && rec->seq <= cur.seq) {
		/* a record its owner has released since: the owner's node
		 * signs above the tombstone if it wants the name again, nobody
		 * else can */
		struct record *tomb = NULL;
		if (record_decode(cur.rec, cur.rec_len, &tomb) != 0)
			tomb = NULL;
		txn_end(e, t, 0);
		reply_stale(e, &m->u.reg.route, m->id, tomb, now);
		record_free(tomb);
		return;
	}
	uint64_t exp = now + (uint64_t)e->cfg.expiry_s * 1000;
	if (held && same) {
		/* update, renewal, or a retry whose answer was lost */
		uint8_t st = MSG_ST_OK;
		if (rec->seq < cur.seq || (rec->seq == cur.seq &&
		    !record_equal(rec, have)))
			st = MSG_ST_STALE;
		else if (rec->seq > cur.seq && !same_entries(rec, have) &&
		    now < cur.expires_at - (uint64_t)e->cfg.expiry_s * 1000 +
		    (uint64_t)e->cfg.min_update_s * 1000)
			st = MSG_ST_TOO_SOON;
		if (st == MSG_ST_OK && rec->seq > cur.seq)
			rc = put_record(t, rec, cur.stored_at, exp, 0);
		if (txn_end(e, t, rc) != 0)
			st = MSG_ST_BUSY;
		if (st == MSG_ST_STALE)
			reply_stale(e, &m->u.reg.route, m->id, have, now);
		record_free(have);
		if (st == MSG_ST_STALE)
			return;
		if (st != MSG_ST_OK) {
			reply_register(e, &m->u.reg.route, m->id, st, 0,
			    (uint32_t)((cur.expires_at - now) / 1000), now);
			return;
		}
		if (rec->seq > cur.seq)
			counter_ask(e, rec, MSG_OP_ADD, NULL, now); /* the tally lives on */
		store_then_answer(e, &m->u.reg.route, m->id, MSG_KIND_RECORDS,
		    rec, cur.stored_at,
		    rec->seq > cur.seq ? exp : cur.expires_at, MSG_ST_OK, 0,
		    NS_AFTER_BACKUP, now);
		return;
	}
	record_free(have);
	if (!known && waiting > 0 && !ns_names_settled(e, now)) {
		/* claims and no record: the record may be on its way here
		 * (ns_names_settled()), and this its owner's renewal, which
		 * queued behind its claimants would mark the name queued at
		 * the owner's node until the next renewal; asked again (within
		 * a minute for a renewal), we know */
		txn_end(e, t, 0);
		reply_register(e, &m->u.reg.route, m->id, MSG_ST_BUSY, 0, 0,
		    now);
		return;
	}
	if (held || waiting > 0) {
		/* held by another key, or free with claims first in line (the
		 * leader promotes them in turn): the claim waits in the queue */
		register_claim(e, m, t, now);
		return;
	}
	txn_end(e, t, 0);
	/* a new name: the owner's counter gnode must allow it first */
	counter_ask(e, rec, MSG_OP_ADD, m, now);
}

/* ---- at the counter gnode ----------------------------------------------- */

/* Whether a vote on whether rec's key still holds its name runs. */
static bool
tally_voting(const struct engine *e, const struct record *rec)
{
	for (int i = 0; i < e->n_votes; i++) {
		const struct vote *v = &e->votes[i];
		if (v->purpose == VOTE_TALLY && strcmp(v->name, rec->name) == 0 &&
		    memcmp(v->item.rec->owner, rec->owner, ANDNA_PK_LEN) == 0)
			return true;
	}
	return false;
}

/* The hash gnode may have taken a name from a key (released, expired, or
 * lost to another registration): ask its majority ourselves, and drop the
 * tally only on its word.  Nobody's word but the hash gnode's frees a
 * counter slot, so an owner cannot free one for a name it keeps. */
static void
tally_recheck(struct engine *e, const struct record *rec, uint64_t now)
{
	struct vote *v;

	if (tally_voting(e, rec) ||
	    (v = ns_vote_new(e, rec->name, VOTE_TALLY, now)) == NULL)
		return;
	v->item.kind = MSG_KIND_TALLIES;
	if ((v->item.rec = ns_record_copy(rec)) == NULL) {
		e->n_votes--; /* the vote just added, unsent */
		return;
	}
	ns_vote_send(e, v->id, now);
}

/* The hash gnode's majority answered about a tally: drop it, here and at
 * every member, unless the key still holds the name. */
static void
tally_vote_done(struct engine *e, const struct vote *v,
    const struct vote_answer *w, uint64_t now)
{
	const struct record *rec = v->item.rec;

	if (w == NULL || (w->status == MSG_ST_OK &&
	    memcmp(w->rec->owner, rec->owner, ANDNA_PK_LEN) == 0))
		return; /* no word, or it holds the name */
	/* a tally with no life left is gone (replicated like any other) */
	struct msg_item it = { .kind = MSG_KIND_TALLIES, .rec = v->item.rec };
	if (ns_apply_item(e, &it, now) == 0)
		ns_replicate(e, &it, 1, engine_rand64(e));
}

void
ns_vote_done(struct engine *e, const struct vote *v,
    const struct vote_answer *w, uint64_t now)
{
	if (v->purpose == VOTE_TALLY)
		tally_vote_done(e, v, w, now);
	else
		ns_vouch_done(e, v, w, now);
}

static void
handle_counter(struct engine *e, struct msg *m, uint64_t now)
{
	struct record *rec = m->u.counter_check.rec;
	bool add = m->u.counter_check.op == MSG_OP_ADD;
	struct msg r;
	size_t n = 0;
	uint8_t status = MSG_ST_OK;

	msg_init(&r);
	r.type = MSG_COUNTER_REPLY;
	r.id = m->id;
	if (ns_role(e, key_hash(rec->owner)) != NS_PRIMARY ||
	    m->u.counter_check.route.n_exclude > 0) {
		status = MSG_ST_NOT_RESPONSIBLE;
	} else if (ns_verify(e, rec) != 0 || (add && record_is_release(rec))) {
		e->ns.rejected_sig++;
		status = MSG_ST_BAD_SIG;
	} else {
		uint64_t h8 = name_hash8(rec->name);
		struct store_counter have;
		struct store_txn *t = txn_begin(e, true);
		int rc = t == NULL ? ANDNA_ESTORE_TXN :
		    store_counter_count(t, rec->owner, &n);
		bool known = rc == 0 &&
		    store_counter_get(t, rec->owner, h8, &have) == 0;
		if (t != NULL)
			txn_end(e, t, 0);
		if (rc == 0 && !add) {
			if (known)
				tally_recheck(e, rec, now);
		} else if (rc == 0 && !known &&
		    n >= (size_t)e->cfg.max_names_per_key) {
			status = MSG_ST_TOO_MANY_NAMES;
		} else if (rc == 0) {
			struct msg_item it = item_for(MSG_KIND_TALLIES, rec, now,
			    now + (uint64_t)e->cfg.expiry_s * 1000, now);
			rc = ns_apply_item(e, &it, now);
			if (rc == 0)
				ns_replicate(e, &it, 1, engine_rand64(e));
			n += !known;
		}
		if (rc != 0)
			status = MSG_ST_BUSY;
	}
	r.u.status_count.status = status;
	r.u.status_count.count = (uint32_t)n;
	engine_reply_routed(e, &m->u.counter_check.route, &r, now);
}

void
ns_handle_routed(struct engine *e, struct msg *m, int hops_taken, uint64_t now)
{
	switch (m->type) {
	case MSG_REGISTER:
		handle_register(e, m, now);
		break;
	case MSG_COUNTER_CHECK:
		handle_counter(e, m, now);
		break;
	case MSG_HANDOVER:
		ns_handover_input(e, m, now);
		break;
	case MSG_RESOLVE:
		ns_resolve_handle_routed(e, m, hops_taken, now);
		break;
	}
}

/* ---- at the owner's node ------------------------------------------------ */

/* Maps a reply status to the host's error code. */
static int
status_err(uint8_t st)
{
	switch (st) {
	case MSG_ST_OK:
		return 0;
	case MSG_ST_QUEUED:
		return ANDNA_ENAME_QUEUED;
	case MSG_ST_TAKEN:
		return ANDNA_ENAME_TAKEN;
	case MSG_ST_QUEUE_FULL:
		return ANDNA_EQUEUE_FULL;
	case MSG_ST_HOST_FULL:
		return ANDNA_EHOST_FULL;
	case MSG_ST_TOO_MANY_NAMES:
		return ANDNA_ETOO_MANY_NAMES;
	case MSG_ST_STALE:
		return ANDNA_ESTALE;
	case MSG_ST_TOO_SOON:
		return ANDNA_ETOO_SOON;
	case MSG_ST_BAD_SIG:
		return ANDNA_ESIG;
	case MSG_ST_NOT_FOUND:
		return ANDNA_ENOTFOUND;
	case MSG_ST_MINORITY:
		return ANDNA_EMINORITY;
	default:
		return ANDNA_EUNREACHABLE;
	}
}

/* The hash gnode holds `held`, a record of our key for the name with a
 * sequence number not below ours (the key moved here from another node,
 * or the number came from a wall clock that was behind): signs the same
 * address set again one above it and sends it, once per request.
 * Returns 0 when sent. */
static int
resign(struct engine *e, struct pending *p, const struct record *held,
    uint64_t now)
{
	struct keypair kp;
	struct store_txn *t;
	uint64_t seq = p->rec->seq;

	if (p->resigned || held == NULL || held->seq < seq ||
	    held->seq == UINT64_MAX || strcmp(held->name, p->rec->name) != 0 ||
	    memcmp(held->owner, p->rec->owner, ANDNA_PK_LEN) != 0 ||
	    ns_verify(e, held) != 0 || (t = txn_begin(e, false)) == NULL)
		return ANDNA_ESTALE;
	memcpy(kp.pk, p->rec->owner, ANDNA_PK_LEN);
	int rc = store_key_get(t, kp.pk, kp.sk);
	store_txn_abort(t);
	p->rec->seq = held->seq + 1;
	if (rc == 0)
		rc = record_sign(p->rec, &kp);
	keypair_wipe(&kp);
	if (rc != 0) {
		p->rec->seq = seq;
		return rc;
	}
	p->resigned = true;
	pending_send(e, p, now);
	return 0;
}

/* Our registration's outcome: remember the name, tell the host. */
static void
register_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	struct engine_event ev = { .type = ENGINE_EV_REGISTER_DONE,
		.id = p->req_id, .status = ANDNA_ETIMEOUT,
		.rtt_ms = (uint32_t)(now - p->started) };

	if (m != NULL) {
		uint8_t st = m->u.reg_reply.status;
		if ((st == MSG_ST_BUSY || st == MSG_ST_NOT_RESPONSIBLE ||
		    st == MSG_ST_MINORITY) && p->tries < e->cfg.request_tries) {
			pending_send(e, p, now); /* maps were moving: again */
			return;
		}
		if (st == MSG_ST_STALE &&
		    resign(e, p, m->u.reg_reply.held, now) == 0)
			return;
		ev.status = status_err(st);
		ev.queue_pos = m->u.reg_reply.queue_pos;
		ev.life_s = m->u.reg_reply.life;
	}
	if (ev.status == 0 || ev.status == ANDNA_ENAME_QUEUED ||
	    ev.status == ANDNA_EMINORITY) {
		/* kept and renewed: a minority's copy spreads from there */
		struct store_txn *t = txn_begin(e, true);
		struct store_own o = { .pk = { 0 }, .registered_at = now,
			.last_renew = now };
		struct store_own old;
		int rc = t == NULL ? ANDNA_ESTORE_TXN : 0;
		if (rc == 0 && record_is_release(p->rec)) {
			rc = store_own_del(t, p->rec->name);
			rc = rc == ANDNA_ENOTFOUND ? 0 : rc;
		} else if (rc == 0) {
			size_t len;
			uint8_t *blob = rec_blob(p->rec, &len);
			if (store_own_get(t, p->rec->name, &old) == 0)
				o.registered_at = old.registered_at;
			memcpy(o.name, p->rec->name, sizeof(o.name));
			memcpy(o.pk, p->rec->owner, ANDNA_PK_LEN);
			/* a queued claim is kept (and renewed) but not answered
			 * for: the name is someone else's until it comes to us */
			o.flags = ev.status == ANDNA_ENAME_QUEUED ? STORE_OWN_QUEUED : 0;
			o.rec = blob;
			o.rec_len = len;
			rc = blob == NULL ? ANDNA_ENOMEM : store_own_put(t, &o);
			free(blob);
		}
		if (t != NULL)
			txn_end(e, t, rc);
	}
	if (p->req_id == 0) {
		/* a renewal of ours */
		if (ev.status != 0 && ev.status != ANDNA_ENAME_QUEUED)
			engine_log(e, ENGINE_LOG_WARN,
			    "could not renew %s: %s (trying again in a minute)",
			    p->rec->name, andna_strerror(ev.status));
		pending_remove(e, p);
		return;
	}
	pending_remove(e, p);
	engine_emit(e, &ev);
}

/* The counter's answer for a registration we handle at the hash gnode. */
static void
counter_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	if (!p->for_peer) {
		pending_remove(e, p);
		return;
	}
	uint8_t st = m == NULL ? MSG_ST_BUSY : m->u.status_count.status;
	if (st == MSG_ST_OK) {
		struct record *rec = p->rec;
		struct msg_route route = p->peer_route;
		struct claim_host host = p->host;
		uint64_t id = p->peer_id;
		p->rec = NULL;
		pending_remove(e, p);
		register_store(e, rec, &route, id, &host, now);
		record_free(rec);
		return;
	}
	if (st == MSG_ST_NOT_RESPONSIBLE || st == MSG_ST_BAD_SIG)
		st = MSG_ST_BUSY;
	/* forget the request before answering: an answer to ourselves runs
	 * the origin's code at once, which may move the pending array */
	struct pending q = *p;
	p->rec = NULL;
	pending_remove(e, p);
	answer_peer(e, &q, st, 0, 0, now);
	record_free(q.rec);
}

void
ns_pending_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	switch (p->kind) {
	case PK_REGISTER:
		register_done(e, p, m, now);
		break;
	case PK_COUNTER:
		counter_done(e, p, m, now);
		break;
	case PK_PROMOTE:
		promote_done(e, p, m, now);
		break;
	case PK_REPLICAS:
		replicas_done(e, p, now);
		break;
	case PK_HANDOVER:
	case PK_BULK:
		ns_sync_pending_done(e, p, m, now);
		break;
	case PK_REVERSE:
		ns_reverse_done(e, p, m, now);
		break;
	default:
		ns_resolve_pending_done(e, p, m, now);
		break;
	}
}

/* Signs `rec` for its owner and sends it to its hash gnode. */
static int
send_register(struct engine *e, struct record *rec, const struct keypair *kp,
    uint64_t req_id, uint64_t now, uint64_t *id)
{
	int rc = record_sign(rec, kp);
	struct pending *p;

	if (rc != 0 || (p = pending_add(e, PK_REGISTER, MSG_REGISTER, now)) == NULL) {
		record_free(rec);
		return rc != 0 ? rc : ANDNA_ENOMEM;
	}
	p->rec = rec;
	p->req_id = req_id;
	p->target = name_hash(rec->name);
	if (id != NULL)
		*id = req_id;
	pending_send(e, p, now);
	return 0;
}

/* The next sequence number for a name: one above the last one we used,
 * or for a name we hold no record of the host's floor (seq_floor_cb in
 * engine.h).  No clock of the engine's sets it: where the hash gnode
 * holds a higher number of the same key, it says so (see resign()). */
static uint64_t
next_seq(struct engine *e, struct store_txn *t, const char *name)
{
	struct store_own o;
	struct record *old = NULL;
	uint64_t seq = 1;

	if (store_own_get(t, name, &o) == 0 &&
	    record_decode(o.rec, o.rec_len, &old) == 0)
		seq = old->seq + 1;
	else if (e->io.seq_floor_cb != NULL)
		seq = e->io.seq_floor_cb(e->io.ctx);
	record_free(old);
	return seq > 0 ? seq : 1;
}

/* The TTL of our record of `name`, or the default for a name we do not
 * hold yet: what a register that chose none keeps. */
static uint32_t
own_ttl(struct store_txn *t, const char *name)
{
	struct store_own o;
	struct record *old = NULL;
	uint32_t ttl = ANDNA_TTL_DEFAULT;

	if (store_own_get(t, name, &o) == 0 &&
	    record_decode(o.rec, o.rec_len, &old) == 0)
		ttl = old->ttl;
	record_free(old);
	return ttl;
}

int
engine_register(struct engine *e, const char *name,
    const struct record_entry *entries, int n_entries, uint32_t ttl,
    const struct keypair *owner, uint64_t now, uint64_t *id)
{
	char canon[ANDNA_NAME_MAX + 1];
	struct record *rec = NULL;
	struct store_own o;
	int rc = name_canonical(canon, name);

	*id = 0;
	if (rc != 0)
		return rc;
	if (n_entries < 1)
		return ANDNA_EINVAL;
	if (ttl != 0 && (ttl < ANDNA_TTL_MIN || ttl > ANDNA_TTL_MAX))
		return ANDNA_EREC_TTL;
	if (e->hook != HOOK_DONE)
		return ANDNA_ENOT_HOOKED;
	struct store_txn *t = txn_begin(e, true);
	if (t == NULL)
		return ANDNA_ESTORE_TXN;
	rc = store_own_get(t, canon, &o);
	if (rc == 0 && memcmp(o.pk, owner->pk, ANDNA_PK_LEN) != 0)
		rc = ANDNA_ENAME_TAKEN;
	else if (rc == ANDNA_ENOTFOUND)
		rc = 0;
	if (rc == 0)
		rc = record_new(canon, owner->pk, next_seq(e, t, canon), &rec);
	if (rc == 0)
		rec->ttl = ttl != 0 ? ttl : own_ttl(t, canon);
	for (int i = 0; rc == 0 && i < n_entries; i++)
		rc = record_add_entry(rec, &entries[i]);
	/* the key stays with the node so it can renew the name by itself */
	if (rc == 0)
		rc = store_key_put(t, owner->pk, owner->sk);
	if ((rc = txn_end(e, t, rc)) != 0) {
		record_free(rec);
		return rc;
	}
	return send_register(e, rec, owner, engine_rand64(e) | 1, now, id);
}

/* Loads the key that holds `name` and a new record for it with the next
 * sequence number, the TTL it has and, unless `release`, the address set
 * it has now. */
static int
own_record(struct engine *e, const char *name, bool release, uint64_t now,
    struct record **out, struct keypair *kp)
{
	struct store_own o;
	struct record *old = NULL;
	struct store_txn *t = txn_begin(e, false);
	int rc = t == NULL ? ANDNA_ESTORE_TXN : store_own_get(t, name, &o);

	*out = NULL;
	if (rc == 0)
		rc = store_key_get(t, o.pk, kp->sk);
	if (rc == 0)
		rc = record_decode(o.rec, o.rec_len, &old);
	if (rc == 0)
		rc = record_new(name, o.pk, next_seq(e, t, name), out);
	if (rc == 0)
		(*out)->ttl = old->ttl;
	for (int i = 0; rc == 0 && !release && i < old->n_entries; i++)
		rc = record_add_entry(*out, &old->entries[i]);
	if (rc == 0)
		memcpy(kp->pk, o.pk, ANDNA_PK_LEN);
	record_free(old);
	if (t != NULL)
		store_txn_abort(t);
	if (rc != 0) {
		record_free(*out);
		*out = NULL;
	}
	return rc;
}

int
engine_release(struct engine *e, const char *name, uint64_t now, uint64_t *id)
{
	struct keypair kp;
	struct record *rec;

	*id = 0;
	if (e->hook != HOOK_DONE)
		return ANDNA_ENOT_HOOKED;
	int rc = own_record(e, name, true, now, &rec, &kp);
	if (rc == 0)
		rc = send_register(e, rec, &kp, engine_rand64(e) | 1, now, id);
	keypair_wipe(&kp);
	return rc;
}

struct renew_scan {
	struct engine *e;
	uint64_t now;
	char due[16][ANDNA_NAME_MAX + 1];
	int n;
};

static int
renew_cb(void *arg, const struct store_own *o)
{
	struct renew_scan *s = arg;
	uint64_t half = (uint64_t)s->e->cfg.expiry_s * 500;

	/* times are compared by their difference: last_renew may lie
	 * "before" 0 (see renew_after_hook()) */
	if (s->now - o->last_renew >= half)
		memcpy(s->due[s->n++], o->name, sizeof(s->due[0]));
	return s->n == 16;
}

/* Renews our names that are due at half their life (a few per look). */
static void
renew_due(struct engine *e, uint64_t now)
{
	struct renew_scan s = { .e = e, .now = now };
	struct store_txn *t = txn_begin(e, true);

	if (t == NULL)
		return;
	int rc = store_own_each(t, renew_cb, &s);
	for (int i = 0; rc == 0 && i < s.n; i++) {
		/* pushed on a minute, so an unanswered renewal is tried again */
		struct store_own o;
		if (store_own_get(t, s.due[i], &o) != 0)
			continue;
		o.last_renew = now - (uint64_t)e->cfg.expiry_s * 500 + RENEW_RETRY_MS;
		uint8_t *blob = malloc(o.rec_len);
		if (blob == NULL)
			break;
		memcpy(blob, o.rec, o.rec_len);
		o.rec = blob;
		rc = store_own_put(t, &o);
		free(blob);
	}
	if (txn_end(e, t, rc) != 0)
		return;
	for (int i = 0; i < s.n; i++) {
		struct keypair kp;
		struct record *rec;
		if (own_record(e, s.due[i], false, now, &rec, &kp) == 0)
			send_register(e, rec, &kp, 0, now, NULL);
		keypair_wipe(&kp);
	}
}

/* Our names, copied out of the store. */
struct own_names {
	int n, cap;
	char (*name)[ANDNA_NAME_MAX + 1];
};

static int
own_names_cb(void *arg, const struct store_own *o)
{
	struct own_names *l = arg;

	if (l->n == l->cap) {
		int cap = l->cap > 0 ? 2 * l->cap : 16;
		void *v = realloc(l->name, (size_t)cap * sizeof(l->name[0]));
		if (v == NULL)
			return ANDNA_ENOMEM;
		l->name = v;
		l->cap = cap;
	}
	memcpy(l->name[l->n++], o->name, sizeof(l->name[0]));
	return 0;
}

/* We took a new address: our names are renewed soon from there, and then
 * as renewals are (again each minute until one is answered).  A mesh
 * restarted whole may have lost their copies: a handed-over copy is kept
 * only on the word of the gnode that held it, and its members are
 * scattered now. */
static void
renew_after_hook(struct engine *e, uint64_t now)
{
	struct own_names l = { 0 };
	struct store_txn *t = txn_begin(e, true);
	int rc = t == NULL ? ANDNA_ESTORE_TXN : store_own_each(t, own_names_cb, &l);

	for (int i = 0; rc == 0 && i < l.n; i++) {
		struct store_own o;
		if (store_own_get(t, l.name[i], &o) != 0)
			continue;
		/* due at half its life RENEW_AFTER_HOOK_MS from now (times
		 * are compared by their difference, so this may lie "before"
		 * 0) */
		o.last_renew = now + RENEW_AFTER_HOOK_MS -
		    (uint64_t)e->cfg.expiry_s * 500;
		uint8_t *blob = malloc(o.rec_len);
		if (blob == NULL) {
			rc = ANDNA_ENOMEM;
			break;
		}
		memcpy(blob, o.rec, o.rec_len);
		o.rec = blob;
		rc = store_own_put(t, &o);
		free(blob);
	}
	free(l.name);
	if (t != NULL)
		txn_end(e, t, rc);
}

/* ---- expiry ------------------------------------------------------------- */

/* Expires what is due on our own clock; a name that expires passes to
 * its queue (see promote_scan()). */
static void
sweep(struct engine *e, uint64_t now)
{
	static const enum store_table tables[] = { STORE_T_RECORDS,
		STORE_T_CLAIMS, STORE_T_COUNTERS, STORE_T_CACHE };
	struct store_txn *t = txn_begin(e, true);
	int rc = 0;

	if (t == NULL)
		return;
	for (size_t i = 0; rc == 0 && i < sizeof(tables) / sizeof(tables[0]); i++) {
		size_t n = 0;
		rc = store_sweep(t, tables[i], now, SWEEP_BATCH, NULL, NULL, &n);
		if (tables[i] != STORE_T_CACHE)
			e->ns.expired += n;
		if (tables[i] == STORE_T_RECORDS && n > 0)
			e->next_promote = now;
	}
	txn_end(e, t, rc);
}

void
ns_tick(struct engine *e, uint64_t now, uint64_t *wake)
{
	if (e->io.store == NULL)
		return;
	uncount_flush(e, now);
	if (e->hooked_at != e->renew_hooked) {
		e->renew_hooked = e->hooked_at;
		renew_after_hook(e, now);
	}
	if (now >= e->next_renew) {
		sweep(e, now);
		ns_vote_sweep(e, now);
		renew_due(e, now);
		e->next_renew = now + 1000;
	}
	if (now >= e->next_promote) {
		promote_scan(e, now);
		e->next_promote = now + e->cfg.sync_interval_ms;
	}
	if (e->next_renew < *wake)
		*wake = e->next_renew;
	if (e->next_promote < *wake)
		*wake = e->next_promote;
	ns_sync_tick(e, now, wake);
}

/* ---- messages ----------------------------------------------------------- */

static void
replicate_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now)
{
	struct msg r;
	uint32_t applied = 0;

	if (e->hook != HOOK_DONE || engine_sender(e, m) == NULL) {
		/* stored data moves only between members we know */
		e->stats.dropped[ENGINE_DROP_UNTRUSTED]++;
		return;
	}
	for (int i = 0; i < m->u.replicate.n; i++)
		applied += ns_apply_item(e, &m->u.replicate.v[i], now) == 0;
	msg_init(&r);
	r.type = MSG_REPLICATE_ACK;
	r.id = m->id;
	r.u.status_count.count = applied;
	engine_send(e, from, &r);
}

static void
replicate_ack_input(struct engine *e, const struct msg *m, uint64_t now)
{
	struct pending *p = pending_find(e, m->id);

	if (p == NULL || p->kind != PK_REPLICAS)
		return; /* late, or for an exchange nobody waits on */
	if (engine_sender(e, m) == NULL) {
		e->stats.dropped[ENGINE_DROP_UNTRUSTED]++;
		return; /* only the members we replicated to confirm */
	}
	if (--p->acks_left <= 0)
		ns_pending_done(e, p, m, now);
}

bool
ns_input(struct engine *e, const struct endpoint *from, struct msg *m,
    uint64_t now)
{
	if (e->io.store == NULL)
		return false;
	switch (m->type) {
	case MSG_REPLICATE:
		replicate_input(e, from, m, now);
		return true;
	case MSG_REPLICATE_ACK:
		replicate_ack_input(e, m, now);
		return true;
	case MSG_CACHE_READ:
	case MSG_REVERSE:
		return ns_resolve_input(e, from, m, now);
	default:
		return ns_sync_input(e, from, m, now);
	}
}

void
engine_ns_stats(struct engine *e, struct engine_ns_stats *out)
{
	static const struct {
		enum store_table t;
		size_t off;
	} counts[] = {
		{ STORE_T_OWN, offsetof(struct engine_ns_stats, own) },
		{ STORE_T_RECORDS, offsetof(struct engine_ns_stats, records) },
		{ STORE_T_CLAIMS, offsetof(struct engine_ns_stats, claims) },
		{ STORE_T_COUNTERS, offsetof(struct engine_ns_stats, tallies) },
		{ STORE_T_CACHE, offsetof(struct engine_ns_stats, cache) },
	};

	*out = e->ns;
	struct store_txn *t = e->io.store != NULL ? txn_begin(e, false) : NULL;
	for (size_t i = 0; t != NULL && i < sizeof(counts) / sizeof(counts[0]); i++) {
		size_t n = 0;
		store_raw_count(t, counts[i].t, &n);
		*(uint64_t *)((char *)out + counts[i].off) = n;
	}
	if (t != NULL)
		store_txn_abort(t);
}
