/* Keeping every copy where it belongs (DESIGN.md section 4, Redundancy):
 * a joining member pulls its gnode's records and tallies page by page;
 * members compare digests now and then and trade what one of them lacks;
 * when the maps change, what now belongs to another gnode is handed over
 * and dropped only once that gnode acknowledged it; and the hash gnode
 * keeps a copy of each record in the backup gnode. */
#include <stdlib.h>
#include <string.h>

#include "node/engine/engine_int.h"
#include "proto/err.h"

#define KINDS 3                /* records, claims, tallies */
#define HANDOVER_DELAY_MS 5000 /* let the maps settle first */
#define HANDOVER_BATCH 64      /* items looked at per tick */
#define HANDOVER_AGAIN_MS 30000 /* a scan again after a handover failed */
#define HANDOVER_AGAIN_MAX_MS 3600000

/* ---- identities, buckets and digests ------------------------------------ */

/* An item as anti-entropy sees it: an 8-byte id and its sequence. */
struct ident {
	uint8_t id[MSG_HASH8_LEN];
	uint64_t seq;
};

/* The id of a record (name and owner), a claim (name and claimant) or a
 * tally (owner and name).  A record's owner is part of its id: two
 * members holding the name under different owners (the halves of a split
 * gnode met again) must each fetch the other's record so that both settle
 * it by the same rule, which sequence numbers of different keys cannot
 * decide. */
static void
ident_of(uint8_t kind, const struct record *rec, struct ident *out)
{
	uint8_t buf[ANDNA_NAME_MAX + ANDNA_PK_LEN], h[ANDNA_HASH_LEN];
	size_t nlen = strlen(rec->name), len = 0;

	if (kind == MSG_KIND_TALLIES) {
		memcpy(buf, rec->owner, ANDNA_PK_LEN);
		len = ANDNA_PK_LEN;
	}
	memcpy(buf + len, rec->name, nlen);
	len += nlen;
	if (kind != MSG_KIND_TALLIES) {
		memcpy(buf + len, rec->owner, ANDNA_PK_LEN);
		len += ANDNA_PK_LEN;
	}
	hash_blake2b(h, buf, len);
	memcpy(out->id, h, MSG_HASH8_LEN);
	out->seq = rec->seq;
}

static int
bucket_of(const uint8_t id[MSG_HASH8_LEN])
{
	return id[0] >> 4;
}

/* One item of ours met while walking a kind. */
typedef int item_fn(void *arg, uint8_t kind, const uint8_t *blob, size_t len,
    uint64_t stored_at, uint64_t expires_at, const struct claim_host *host);

struct walk {
	uint8_t kind;
	item_fn *fn;
	void *arg;
};

static int
walk_record_cb(void *arg, const struct store_record *r)
{
	const struct walk *w = arg;

	return w->fn(w->arg, w->kind, r->rec, r->rec_len, r->stored_at,
	    r->expires_at, NULL);
}

static int
walk_claim_cb(void *arg, const struct store_claim *c)
{
	const struct walk *w = arg;

	return w->fn(w->arg, w->kind, c->rec, c->rec_len, c->stored_at,
	    c->expires_at, &c->host);
}

static int
walk_counter_cb(void *arg, const struct store_counter *c)
{
	const struct walk *w = arg;

	/* a tally counts from when the name was registered: the age matters
	 * to records only, so the remaining life is what travels */
	return w->fn(w->arg, w->kind, c->rec, c->rec_len, 0, c->expires_at,
	    NULL);
}

/* Calls fn for every item of `kind` we hold. */
static int
walk_kind(struct store_txn *t, uint8_t kind, item_fn *fn, void *arg)
{
	struct walk w = { kind, fn, arg };
	struct store_pos pos = { 0 };

	switch (kind) {
	case MSG_KIND_RECORDS:
		return store_record_range(t, 0, UINT64_MAX, &pos, 0,
		    walk_record_cb, &w);
	case MSG_KIND_CLAIMS:
		return store_claim_each(t, walk_claim_cb, &w);
	default:
		return store_counter_each(t, NULL, walk_counter_cb, &w);
	}
}

/* The digest of one kind: per bucket, the XOR of a hash of every item's
 * id and sequence, so two holders of the same items agree whatever their
 * order. */
struct digest {
	uint64_t now;
	uint8_t fp[MSG_BUCKETS][MSG_HASH8_LEN];
	/* when `want` >= 0, the idents of that bucket are collected too */
	int want;
	int n;
	struct ident ids[MSG_IDS_MAX];
};

static int
digest_cb(void *arg, uint8_t kind, const uint8_t *blob, size_t len,
    uint64_t stored_at, uint64_t expires_at, const struct claim_host *host)
{
	struct digest *d = arg;
	struct record *rec = NULL;
	struct ident id;
	uint8_t h[ANDNA_HASH_LEN];

	(void)stored_at;
	(void)host;
	if (expires_at <= d->now || record_decode(blob, len, &rec) != 0)
		return 0;
	ident_of(kind, rec, &id);
	record_free(rec);
	hash_blake2b(h, &id, sizeof(id));
	for (int i = 0; i < MSG_HASH8_LEN; i++)
		d->fp[bucket_of(id.id)][i] ^= h[i];
	if (d->want == bucket_of(id.id) && d->n < MSG_IDS_MAX)
		d->ids[d->n++] = id;
	return 0;
}

static struct store_txn *
read_txn(struct engine *e)
{
	struct store_txn *t = NULL;

	return store_txn_begin(e->io.store, false, &t) == 0 ? t : NULL;
}

/* Fills `d` for `kind`, collecting the idents of bucket `want` (or none
 * when want < 0).  Returns 0 or a store error. */
static int
digest_kind(struct engine *e, uint8_t kind, int want, struct digest *d,
    uint64_t now)
{
	memset(d, 0, sizeof(*d));
	d->now = now;
	d->want = want;
	struct store_txn *t = read_txn(e);
	if (t == NULL)
		return ANDNA_ESTORE_TXN;
	int rc = walk_kind(t, kind, digest_cb, d);
	store_txn_abort(t);
	return rc;
}

/* ---- items out of the store ---------------------------------------------- */

/* Collects the items whose ids are in a list (or all, up to the cap). */
struct gather {
	struct engine *e;
	uint64_t now;
	const uint8_t (*want)[MSG_HASH8_LEN];
	int n_want;
	int n;
	struct msg_item items[MSG_ITEMS_MAX];
};

static int
gather_cb(void *arg, uint8_t kind, const uint8_t *blob, size_t len,
    uint64_t stored_at, uint64_t expires_at, const struct claim_host *host)
{
	struct gather *g = arg;
	struct msg_item it;
	struct ident id;

	if (expires_at <= g->now ||
	    ns_item_of(g->e, kind, blob, len, stored_at, expires_at, g->now,
	    &it) != 0)
		return 0;
	ident_of(kind, it.rec, &id);
	bool wanted = g->want == NULL;
	for (int i = 0; !wanted && i < g->n_want; i++)
		wanted = memcmp(g->want[i], id.id, MSG_HASH8_LEN) == 0;
	if (!wanted) {
		record_free(it.rec);
		return 0;
	}
	if (host != NULL)
		it.host = *host;
	g->items[g->n++] = it;
	return g->n == MSG_ITEMS_MAX;
}

static void
gather_free(struct gather *g)
{
	for (int i = 0; i < g->n; i++)
		record_free(g->items[i].rec);
	g->n = 0;
}

/* Sends `items` of `kind` to `to` as a page of anti-entropy. */
static void
send_items(struct engine *e, const struct endpoint *to, uint8_t kind,
    struct msg_item *items, int n, uint64_t id)
{
	struct msg m;

	msg_init(&m);
	m.type = MSG_SYNC_PAGE;
	m.id = id;
	m.u.sync_page.kind = kind;
	m.u.sync_page.items.n = (uint8_t)n;
	m.u.sync_page.items.v = items;
	m.u.sync_page.next.end = true;
	engine_send(e, to, &m);
}

/* ---- anti-entropy --------------------------------------------------------- */

/* Picks a random live member, or NULL. */
static const struct member *
random_member(struct engine *e)
{
	int live = 0;

	for (int i = 0; i < e->inner.n; i++)
		live += e->inner.m[i].state == MEMBER_ALIVE;
	if (live == 0)
		return NULL;
	uint32_t k = engine_rand_below(e, (uint32_t)live);
	for (int i = 0; i < e->inner.n; i++)
		if (e->inner.m[i].state == MEMBER_ALIVE && k-- == 0)
			return &e->inner.m[i];
	return NULL;
}

/* Starts an exchange: our digest of one kind to a random member. */
static void
send_summary(struct engine *e, uint64_t now)
{
	const struct member *mb = random_member(e);
	struct digest *d;
	struct msg m;

	if (mb == NULL || (d = malloc(sizeof(*d))) == NULL)
		return;
	uint8_t kind = e->sync_kind;
	e->sync_kind = (uint8_t)((e->sync_kind + 1) % KINDS);
	if (digest_kind(e, kind, -1, d, now) == 0) {
		msg_init(&m);
		m.type = MSG_SYNC_SUMMARY;
		m.id = engine_rand64(e);
		m.u.sync_summary.kind = kind;
		memcpy(m.u.sync_summary.buckets, d->fp, sizeof(d->fp));
		engine_send(e, &mb->eps[0], &m);
	}
	free(d);
}

/* A member's digest: for each bucket that differs from ours, list our
 * items of it, so it can see what either side lacks. */
static void
summary_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now)
{
	uint8_t kind = m->u.sync_summary.kind;
	struct digest *d = malloc(sizeof(*d));

	if (d == NULL || digest_kind(e, kind, -1, d, now) != 0) {
		free(d);
		return;
	}
	uint8_t theirs[MSG_BUCKETS][MSG_HASH8_LEN];
	memcpy(theirs, m->u.sync_summary.buckets, sizeof(theirs));
	for (int b = 0; b < MSG_BUCKETS; b++) {
		if (memcmp(theirs[b], d->fp[b], MSG_HASH8_LEN) == 0)
			continue;
		struct digest *one = malloc(sizeof(*one));
		if (one == NULL || digest_kind(e, kind, b, one, now) != 0) {
			free(one);
			break;
		}
		struct msg r;
		struct msg_id *ids = calloc((size_t)one->n + 1, sizeof(*ids));
		if (ids != NULL) {
			for (int i = 0; i < one->n; i++) {
				memcpy(ids[i].hash, one->ids[i].id, MSG_HASH8_LEN);
				ids[i].seq = one->ids[i].seq;
			}
			msg_init(&r);
			r.type = MSG_SYNC_IDS;
			r.id = m->id;
			r.u.sync_ids.kind = kind;
			r.u.sync_ids.bucket = (uint8_t)b;
			r.u.sync_ids.n_ids = (uint16_t)one->n;
			r.u.sync_ids.ids = ids;
			engine_send(e, from, &r);
			msg_free(&r);
		}
		free(one);
	}
	free(d);
}

/* A member's items of one bucket: fetch what it has newer, push what we
 * have newer. */
static void
ids_input(struct engine *e, const struct endpoint *from, const struct msg *m,
    uint64_t now)
{
	uint8_t kind = m->u.sync_ids.kind;
	struct digest *d = malloc(sizeof(*d));
	uint8_t(*fetch)[MSG_HASH8_LEN] = calloc(MSG_IDS_MAX, MSG_HASH8_LEN);
	uint8_t(*push)[MSG_HASH8_LEN] = calloc(MSG_IDS_MAX, MSG_HASH8_LEN);
	int n_fetch = 0, n_push = 0;

	if (d == NULL || fetch == NULL || push == NULL ||
	    digest_kind(e, kind, m->u.sync_ids.bucket, d, now) != 0)
		goto out;
	for (int i = 0; i < m->u.sync_ids.n_ids; i++) {
		const struct msg_id *x = &m->u.sync_ids.ids[i];
		bool newer = true;
		for (int j = 0; j < d->n; j++)
			if (memcmp(d->ids[j].id, x->hash, MSG_HASH8_LEN) == 0)
				newer = x->seq > d->ids[j].seq;
		if (newer && n_fetch < MSG_IDS_MAX)
			memcpy(fetch[n_fetch++], x->hash, MSG_HASH8_LEN);
	}
	for (int j = 0; j < d->n; j++) {
		bool newer = true;
		for (int i = 0; i < m->u.sync_ids.n_ids; i++)
			if (memcmp(d->ids[j].id, m->u.sync_ids.ids[i].hash,
			    MSG_HASH8_LEN) == 0)
				newer = d->ids[j].seq > m->u.sync_ids.ids[i].seq;
		if (newer)
			memcpy(push[n_push++], d->ids[j].id, MSG_HASH8_LEN);
	}
	if (n_fetch > 0) {
		struct msg r;
		msg_init(&r);
		r.type = MSG_SYNC_FETCH;
		r.id = engine_rand64(e);
		r.u.sync_fetch.kind = kind;
		r.u.sync_fetch.n_hashes = (uint16_t)n_fetch;
		r.u.sync_fetch.hashes = fetch;
		engine_send(e, from, &r);
	}
	if (n_push > 0) {
		struct gather g = { .e = e, .now = now, .want = push,
			.n_want = n_push };
		struct store_txn *t = read_txn(e);
		if (t != NULL) {
			walk_kind(t, kind, gather_cb, &g);
			store_txn_abort(t);
		}
		/* as a page, as the items it fetches come: the member tells
		 * anti-entropy from replication (see page_input()) */
		if (g.n > 0)
			send_items(e, from, kind, g.items, g.n,
			    engine_rand64(e));
		e->ns.synced += (uint64_t)g.n;
		gather_free(&g);
	}
out:
	free(d);
	free(fetch);
	free(push);
}

/* A member wants items of ours by id. */
static void
fetch_input(struct engine *e, const struct endpoint *from, const struct msg *m,
    uint64_t now)
{
	struct gather g = { .e = e, .now = now,
		.want = (const uint8_t(*)[MSG_HASH8_LEN])m->u.sync_fetch.hashes,
		.n_want = m->u.sync_fetch.n_hashes };
	struct store_txn *t = read_txn(e);

	if (t == NULL)
		return;
	walk_kind(t, m->u.sync_fetch.kind, gather_cb, &g);
	store_txn_abort(t);
	send_items(e, from, m->u.sync_fetch.kind, g.items, g.n,
	    m->id);
	gather_free(&g);
}

/* ---- bulk sync while joining ---------------------------------------------- */

/* A page of items from a cursor, in store order.  The cursor is the key
 * to start from (a record's or a queue's 8-byte name hash, a tally's
 * owner key and name hash); a page ends on a key boundary, and never
 * inside a queue, whose claims must arrive in order. */
struct page {
	struct engine *e;
	uint64_t now;
	int n;
	struct msg_item items[MSG_ITEMS_MAX];
	struct msg_cursor next;
	uint64_t last_h8; /* claims: the queue of the last item */
	bool more;        /* claims: the page stopped before the last */
};

static void
cursor_set(struct msg_cursor *c, const uint8_t *key, size_t len)
{
	c->end = false;
	c->len = (uint8_t)len;
	memcpy(c->bytes, key, len);
}

static int
page_record_cb(void *arg, const struct store_record *r)
{
	struct page *pg = arg;
	uint8_t key[8];

	if (pg->n == MSG_ITEMS_MAX)
		return 1;
	if (r->expires_at > pg->now &&
	    ns_item_of(pg->e, MSG_KIND_RECORDS, r->rec, r->rec_len, r->stored_at,
	    r->expires_at, pg->now, &pg->items[pg->n]) == 0)
		pg->n++;
	/* the next page starts after this hash: names sharing an 8-byte
	 * hash are as rare as collisions of it */
	be64_put(key, r->h8 + 1);
	cursor_set(&pg->next, key, r->h8 == UINT64_MAX ? 0 : 8);
	pg->next.end = r->h8 == UINT64_MAX;
	return 0;
}

static int
page_claim_cb(void *arg, const struct store_claim *c)
{
	struct page *pg = arg;
	const struct msg_cursor *from = &pg->next;
	uint8_t key[8];

	if (from->len == sizeof(key) && c->h8 < be64_get(from->bytes))
		return 0; /* before the cursor */
	if ((pg->n > 0 && c->h8 != pg->last_h8 &&
	    pg->n + pg->e->cfg.queue_len > MSG_ITEMS_MAX) ||
	    pg->n == MSG_ITEMS_MAX) {
		pg->more = true; /* the next queue might not fit whole */
		return 1;
	}
	if (c->expires_at > pg->now &&
	    ns_item_of(pg->e, MSG_KIND_CLAIMS, c->rec, c->rec_len, c->stored_at,
	    c->expires_at, pg->now, &pg->items[pg->n]) == 0)
		pg->items[pg->n++].host = c->host;
	pg->last_h8 = c->h8;
	/* as for records, names sharing an 8-byte hash are left to chance */
	be64_put(key, c->h8 + 1);
	cursor_set(&pg->next, key, c->h8 == UINT64_MAX ? 0 : 8);
	return 0;
}

static int
page_counter_cb(void *arg, const struct store_counter *c)
{
	struct page *pg = arg;
	const struct msg_cursor *from = &pg->next;
	uint8_t key[ANDNA_PK_LEN + 8];

	memcpy(key, c->pk, ANDNA_PK_LEN);
	be64_put(key + ANDNA_PK_LEN, c->h8);
	if (from->len == sizeof(key) && memcmp(key, from->bytes, sizeof(key)) <= 0)
		return 0; /* before the cursor */
	if (pg->n == MSG_ITEMS_MAX)
		return 1;
	if (c->expires_at > pg->now &&
	    ns_item_of(pg->e, MSG_KIND_TALLIES, c->rec, c->rec_len, 0,
	    c->expires_at, pg->now, &pg->items[pg->n]) == 0)
		pg->n++;
	cursor_set(&pg->next, key, sizeof(key));
	return 0;
}

static void
page_req_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now)
{
	struct page *pg = calloc(1, sizeof(*pg));
	const struct msg_cursor *c = &m->u.sync_page_req.cursor;
	struct store_txn *t;
	int rc = 0;

	if (pg == NULL || (t = read_txn(e)) == NULL) {
		free(pg);
		return;
	}
	pg->e = e;
	pg->now = now;
	if (m->u.sync_page_req.kind == MSG_KIND_RECORDS) {
		struct store_pos pos = { 0 };
		uint64_t lo = c->len == 8 ? be64_get(c->bytes) : 0;
		rc = store_record_range(t, lo, UINT64_MAX, &pos, MSG_ITEMS_MAX,
		    page_record_cb, pg);
		pg->next.end = pg->next.end || pos.done || pg->n < MSG_ITEMS_MAX;
	} else if (m->u.sync_page_req.kind == MSG_KIND_TALLIES) {
		pg->next = *c;
		rc = store_counter_each(t, NULL, page_counter_cb, pg);
		pg->next.end = pg->n < MSG_ITEMS_MAX;
	} else {
		/* few names have a queue: a walk of them all is cheap */
		pg->next = *c;
		rc = store_claim_each(t, page_claim_cb, pg);
		pg->next.end = !pg->more;
	}
	store_txn_abort(t);
	if (rc == 0) {
		struct msg r;
		msg_init(&r);
		r.type = MSG_SYNC_PAGE;
		r.id = m->id;
		r.u.sync_page.kind = m->u.sync_page_req.kind;
		r.u.sync_page.items.n = (uint8_t)pg->n;
		r.u.sync_page.items.v = pg->items;
		r.u.sync_page.next = pg->next;
		engine_send(e, from, &r);
	}
	for (int i = 0; i < pg->n; i++)
		record_free(pg->items[i].rec);
	free(pg);
}

/* Asks a random member for the next page of what we pull while joining. */
static void
bulk_ask(struct engine *e, const struct msg_cursor *cursor, uint64_t now)
{
	const struct member *mb = random_member(e);
	struct pending *p;

	if (mb == NULL) {
		e->bulk_kind = KINDS; /* alone: nothing to pull */
		return;
	}
	if ((p = pending_add(e, PK_BULK, MSG_SYNC_PAGE_REQ, now)) == NULL)
		return;
	p->op = e->bulk_kind;
	p->to = mb->eps[0];
	if (cursor != NULL)
		p->cursor = *cursor;
	pending_send(e, p, now);
}

/* A page of the bulk pull: verify and keep each item, then the next. */
static void
bulk_page(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	/* forgotten first: applying an item may add requests (a promotion
	 * tells the counter gnode), which can move the table under `p` */
	pending_remove(e, p);
	if (m == NULL) {
		/* that member did not answer: start over with another */
		bulk_ask(e, NULL, now);
		return;
	}
	for (int i = 0; i < m->u.sync_page.items.n; i++)
		e->ns.synced += ns_apply_item(e, &m->u.sync_page.items.v[i], now) == 0;
	if (!m->u.sync_page.next.end) {
		bulk_ask(e, &m->u.sync_page.next, now);
		return;
	}
	/* records, then the queues of claims on them, then tallies */
	e->bulk_kind++;
	if (e->bulk_kind < KINDS)
		bulk_ask(e, NULL, now);
}

static void
page_input(struct engine *e, const struct msg *m, uint64_t now)
{
	struct pending *p = pending_find(e, m->id);

	if (p != NULL && p->kind == PK_BULK) {
		bulk_page(e, p, m, now);
		return;
	}
	/* items of anti-entropy: the answer to our SYNC_FETCH, or what a
	 * member holds newer than we do */
	bool leader = ns_leader(e);
	for (int i = 0; i < m->u.sync_page.items.n; i++) {
		const struct msg_item *it = &m->u.sync_page.items.v[i];
		if (ns_apply_item(e, it, now) != 0)
			continue;
		e->ns.synced++;
		/* the leader pushes the backup copies of what its gnode holds
		 * when the maps change (handover_scan()): a record or tally it
		 * lacked then goes now (a claim alone would lose its place in
		 * the queue; the next scan sends the queue whole) */
		ovl_addr_t target = it->kind == MSG_KIND_TALLIES ?
		    key_hash(it->rec->owner) : name_hash(it->rec->name);
		if (leader && it->kind != MSG_KIND_CLAIMS &&
		    ns_role(e, target) == NS_PRIMARY)
			ns_push_backup(e, it, 1, now);
	}
}

/* ---- backups and handover ------------------------------------------------- */

/* Claims and records come apart: to a node that has just taken its
 * address (the bulk pull), and to a gnode that has just become a name's
 * holder (a handover, whose records wait for the old holders' vote while
 * its claims need only their claimants).  Promoting a head claim then
 * would hand the name to it until the owner's record arrived and won it
 * back (the older registration wins), and resolvers would cache the
 * claimant's addresses meanwhile.  So a name we hold claims on but no
 * record of counts as free only once the pull is done and a handover has
 * had its delay, all its tries and two rounds of anti-entropy. */
bool
ns_names_settled(const struct engine *e, uint64_t now)
{
	uint64_t wait = HANDOVER_DELAY_MS + 2 * (uint64_t)e->cfg.sync_interval_ms +
	    (uint64_t)e->cfg.request_tries * e->cfg.request_timeout_ms;

	return e->bulk_kind >= KINDS && now >= e->names_came_at + wait;
}

void
ns_push_backup(struct engine *e, const struct msg_item *it, int n,
    uint64_t now)
{
	ovl_addr_t target = it->kind == MSG_KIND_TALLIES ?
	    key_hash(it->rec->owner) : name_hash(it->rec->name);
	struct round_exclude ours = { .n = 1,
		.prefix = { ovl_prefix(e->addr, 1) } };
	ovl_addr_t next;
	struct pending *p;
	struct msg m;

	/* No gnode but ours: no backup gnode to push to.  The message would
	 * be dropped for want of a route, and a pending handover would hold a
	 * copy of the record through all its tries (thousands of them while
	 * a one-gnode mesh takes names in quickly).  When another gnode
	 * appears, the leader's refresh after the maps change pushes them. */
	if (round_view_target(route_view(e), target, &ours, &next) < 0)
		return;
	if (n == 1 && (p = pending_add(e, PK_HANDOVER, MSG_HANDOVER, now)) != NULL) {
		/* sent again until the backup gnode holds it: it asks us
		 * before it keeps a record or a tally */
		if ((p->rec = ns_record_copy(it->rec)) == NULL) {
			pending_remove(e, p);
			return;
		}
		p->op = it->kind;
		p->age = it->age;
		p->life = it->life;
		p->host = it->host;
		p->target = target;
		p->n_exclude = 1;
		p->exclude = ovl_prefix(e->addr, 1);
		pending_send(e, p, now);
		return;
	}
	/* a queue of claims, taken at once: one message keeps its order */
	msg_init(&m);
	m.type = MSG_HANDOVER;
	m.id = engine_rand64(e);
	/* the next gnode in rounding order: ours left out */
	m.u.handover.route.n_exclude = 1;
	m.u.handover.route.exclude[0] = ovl_prefix(e->addr, 1);
	m.u.handover.items.n = (uint8_t)n;
	m.u.handover.items.v = (struct msg_item *)it;
	route_send(e, &m, target, now);
}

/* Whether we hold `rec` (a record of its owner at least as new, or the
 * tally) already: taking it again changes nothing (the same record never
 * lives longer, see apply_record()).  *left is the seconds our copy has
 * left. */
static bool
held_as_is(struct engine *e, uint8_t kind, const struct record *rec,
    uint64_t now, uint32_t *left)
{
	struct store_txn *t = read_txn(e);
	uint64_t until = 0;
	bool held = false;

	if (t == NULL)
		return false;
	if (kind == MSG_KIND_RECORDS) {
		struct store_record sr;
		held = store_record_get(t, name_hash8(rec->name), rec->name, &sr) == 0 &&
		    !(sr.flags & STORE_REC_RELEASED) && sr.expires_at > now &&
		    memcmp(sr.pk, rec->owner, ANDNA_PK_LEN) == 0 &&
		    sr.seq >= rec->seq;
		until = sr.expires_at;
	} else {
		struct store_counter c;
		held = store_counter_get(t, rec->owner, name_hash8(rec->name), &c) == 0 &&
		    c.expires_at > now;
		until = c.expires_at;
	}
	store_txn_abort(t);
	*left = held ? (uint32_t)((until - now) / 1000) : 0;
	return held;
}

/* Whether a vote runs on a handed-over item of `kind` for `name` from
 * the gnode of `from` (a record) or from anywhere (a tally): a gnode
 * that cannot vouch for it does not keep another from doing so. */
static bool
vouching(const struct engine *e, uint8_t kind, const char *name,
    ovl_addr_t from)
{
	for (int i = 0; i < e->n_votes; i++) {
		const struct vote *v = &e->votes[i];
		if (v->purpose == VOTE_VOUCH && v->item.kind == kind &&
		    strcmp(v->name, name) == 0 && (!v->at_gnode ||
		    ovl_prefix(v->gnode, 1) == ovl_prefix(from, 1)))
			return true;
	}
	return false;
}

/* Whether `from` lies in the gnode that holds the names of `target` in
 * our maps besides us: the hash gnode when we are its backup, the gnode
 * the name rounds to with ours left out when we are its hash gnode (the
 * one that held it before ours appeared). */
static bool
holder_gnode(struct engine *e, ovl_addr_t target, ovl_addr_t from)
{
	struct round_exclude ex = { .n = 0 };
	ovl_addr_t prefix;

	if (ns_role(e, target) == NS_PRIMARY) {
		ex.n = 1;
		ex.prefix[0] = ovl_prefix(e->addr, 1);
	}
	int level = round_view_target(route_view(e), target, &ex, &prefix);
	return level >= 1 && ovl_prefix(from, level) == prefix;
}

/* Whether we hold a live record of `rec`'s name under another key. */
static bool
held_by_other(struct engine *e, const struct record *rec, uint64_t now)
{
	struct store_txn *t = read_txn(e);
	struct store_record sr;
	bool other = t != NULL &&
	    store_record_get(t, name_hash8(rec->name), rec->name, &sr) == 0 &&
	    sr.expires_at > now && !(sr.flags & STORE_REC_RELEASED) &&
	    memcmp(sr.pk, rec->owner, ANDNA_PK_LEN) != 0;

	if (t != NULL)
		store_txn_abort(t);
	return other;
}

/* Asks whether a handed-over item is what the majority of the gnode
 * that held it holds: for a record, the gnode the handover came from (a
 * gnode that held it before us, or the hash gnode whose backup we are),
 * its sender first; for a tally, the name's hash gnode, whose word a
 * tally follows.  A gnode of one node may vouch only where our own maps
 * say it holds the name, and never to take a name from its owner here.
 * When as many votes run as we allow, the item waits for the sender to
 * hand it over again. */
static void
vouch_start(struct engine *e, const struct msg_item *it, ovl_addr_t from,
    uint64_t now)
{
	struct vote *v;

	if (vouching(e, it->kind, it->rec->name, from) ||
	    (v = ns_vote_new(e, it->rec->name, VOTE_VOUCH, now)) == NULL)
		return;
	v->item = *it;
	if ((v->item.rec = ns_record_copy(it->rec)) == NULL) {
		e->n_votes--; /* the vote just added, unsent */
		return;
	}
	if (it->kind == MSG_KIND_RECORDS) {
		v->at_gnode = true;
		v->gnode = from; /* the sender holds it; others must too */
		v->lone_ok = holder_gnode(e, name_hash(it->rec->name), from) &&
		    !held_by_other(e, it->rec, now);
	} else {
		v->lone_ok = true; /* the name's hash gnode, as resolvers ask */
	}
	ns_vote_send(e, v->id, now);
}

void
ns_vouch_done(struct engine *e, const struct vote *v,
    const struct vote_answer *w, uint64_t now)
{
	const struct msg_item *it = &v->item;

	if (w == NULL || w->status != MSG_ST_OK ||
	    memcmp(w->rec->owner, it->rec->owner, ANDNA_PK_LEN) != 0) {
		e->ns.vouch_refused++;
		return; /* not the hash gnode's word: never stored */
	}
	/* the newer record of the two, and the shorter times */
	struct msg_item x = *it;
	if (it->kind == MSG_KIND_RECORDS && w->rec->seq > it->rec->seq)
		x.rec = w->rec;
	x.age = w->age < it->age ? w->age : it->age;
	x.life = w->life < it->life ? w->life : it->life;
	if (ns_apply_item(e, &x, now) != 0)
		return;
	e->ns.handed_over++;
	struct msg_route nobody = { 0 };
	ns_replicate_then_answer(e, &x, 1, &nobody, 0, 0, MSG_ST_OK, 0,
	    x.kind == MSG_KIND_RECORDS &&
	    ns_role(e, name_hash(x.rec->name)) == NS_PRIMARY ?
	    NS_AFTER_BACKUP : 0, now);
}

/* A claim handed over from outside.  Its host is the sender's word only,
 * so a claim we do not hold yet waits until its claimant proves that
 * host, as for a REGISTER (ns_claim_proven(), which puts it behind the
 * claims we hold): it goes to `chain`, whose claims are checked in turn;
 * one we hold already is renewed, keeping the host we know.  Returns 0
 * when taken, 1 when it waits for its claimant, -1 when it cannot be
 * taken (no host). */
static int
handover_claim(struct engine *e, const struct msg_item *it,
    struct msg_item *chain, uint8_t *n_chain, uint64_t now)
{
	if (ns_role(e, name_hash(it->rec->name)) == NS_NONE)
		return -1;
	if (ns_claim_held(e, it->rec)) {
		struct msg_item x = *it;
		memset(&x.host, 0, sizeof(x.host));
		return ns_apply_item(e, &x, now) == 0 ? 0 : -1;
	}
	if (it->host.ep.family == 0) {
		e->stats.dropped[ENGINE_DROP_UNTRUSTED]++;
		return -1;
	}
	if (chain != NULL && (chain[*n_chain] = *it,
	    chain[*n_chain].rec = ns_record_copy(it->rec)) != NULL)
		(*n_chain)++;
	return 1;
}

/* A HANDOVER, from a gnode that held items which round to us now, or a
 * hash gnode's copy for us as its backup.  Its sender is not known to us,
 * so what it says is believed only where it cannot hurt: tombstones are
 * taken, a claim once its claimant proved its host (handover_claim()), a
 * record or tally we hold as it is already is acknowledged, and any other
 * record or tally waits until the majority of the gnode that held it says
 * the same (vouch_start()).  Nothing is acknowledged meanwhile: the
 * sender asks again and keeps its copy until we hold it. */
void
ns_handover_input(struct engine *e, struct msg *m, uint64_t now)
{
	struct msg r;
	uint32_t applied = 0;
	bool waiting = false;
	int n = m->u.handover.items.n;
	struct claim_wait chain = { .rest = calloc((size_t)n + 1,
		sizeof(struct msg_item)) };

	for (int i = 0; i < n; i++) {
		struct msg_item *it = &m->u.handover.items.v[i];
		bool gone = record_is_release(it->rec) || it->life == 0;
		uint32_t left;
		if (ns_verify(e, it->rec) != 0) {
			e->ns.rejected_sig++;
		} else if (it->kind == MSG_KIND_TALLIES && gone) {
			e->stats.dropped[ENGINE_DROP_UNTRUSTED]++; /* see tally_recheck() */
		} else if (it->kind == MSG_KIND_CLAIMS && !gone) {
			int took = handover_claim(e, it, chain.rest,
			    &chain.n_rest, now);
			applied += took == 0;
			waiting |= took > 0;
		} else if (it->kind == MSG_KIND_CLAIMS ||
		    (it->kind == MSG_KIND_RECORDS && gone)) {
			applied += ns_apply_item(e, it, now) == 0;
		} else if (held_as_is(e, it->kind, it->rec, now, &left)) {
			/* as it is; what goes on to our members has our life
			 * left, not the one the sender says */
			it->life = it->life < left ? it->life : left;
			applied++;
		} else if (ns_role(e, it->kind == MSG_KIND_TALLIES ?
		    key_hash(it->rec->owner) : name_hash(it->rec->name)) != NS_NONE) {
			vouch_start(e, it, m->u.handover.route.origin, now);
			waiting = true;
		}
	}
	e->ns.handed_over += applied;
	ns_claim_next(e, &chain, now); /* the claims to check, in order */
	if (waiting)
		return;
	if (applied == (uint32_t)n && n > 0) {
		/* answered once a majority of our gnode holds the items */
		ns_replicate_then_answer(e, m->u.handover.items.v, n,
		    &m->u.handover.route, m->id, MSG_HANDOVER_ACK, MSG_ST_OK, 0,
		    0, now);
		return;
	}
	if (applied > 0)
		ns_replicate(e, m->u.handover.items.v, n, engine_rand64(e));
	msg_init(&r);
	r.type = MSG_HANDOVER_ACK;
	r.id = m->id;
	r.u.status_count.status = MSG_ST_NOT_RESPONSIBLE;
	r.u.status_count.count = applied;
	engine_reply_routed(e, &m->u.handover.route, &r, now);
}

/* Whether a HANDOVER_ACK for `target` confirms that the gnode now
 * responsible holds the item: it comes from inside the gnode the target
 * rounds to in our maps (one that passed the outer map's check), and
 * names a majority of that gnode's members as holders (its size as our
 * map has it, where it is our sibling). */
static bool
handover_confirmed(struct engine *e, ovl_addr_t target, const struct msg *m)
{
	ovl_addr_t prefix;

	if (m == NULL || m->u.status_count.status != MSG_ST_OK || !m->has_src)
		return false;
	int level = round_view_target(route_view(e), target, NULL, &prefix);
	if (level < 1 || ovl_prefix(m->src, level) != prefix)
		return false;
	const struct outer_entry *x = level == 1 ?
	    outer_find(&e->outer, 1, ovl_id(m->src, 1)) : NULL;
	uint32_t size = x != NULL ? x->children : 1;
	return 2 * m->u.status_count.count > size;
}

/* The gnode now responsible acknowledged an item: our copy may go. */
static void
handover_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	const struct record *rec = p->rec;

	ovl_addr_t target = p->op == MSG_KIND_TALLIES ? key_hash(rec->owner) :
	    name_hash(rec->name);
	bool confirmed = handover_confirmed(e, target, m);
	if (!confirmed && ns_role(e, target) == NS_NONE && e->handover_at == 0) {
		/* ours keeps it till then; a gnode that never takes it (it
		 * cannot vouch for it) is asked ever less often */
		uint32_t wait = e->handover_wait != 0 ? e->handover_wait :
		    HANDOVER_AGAIN_MS;
		e->handover_at = now + wait;
		e->handover_wait = wait < HANDOVER_AGAIN_MAX_MS / 2 ? 2 * wait :
		    HANDOVER_AGAIN_MAX_MS;
	}
	if (confirmed) {
		struct store_txn *t = NULL;
		/* only if it still is not ours: the maps may have moved back */
		if (ns_role(e, target) == NS_NONE &&
		    store_txn_begin(e->io.store, true, &t) == 0) {
			uint64_t h8 = name_hash8(rec->name);
			int rc = p->op == MSG_KIND_RECORDS ?
			    store_record_del(t, h8, rec->name) :
			    p->op == MSG_KIND_CLAIMS ?
			    store_claim_del(t, h8, rec->name, rec->owner) :
			    store_counter_del(t, rec->owner, h8);
			if (rc == 0 || rc == ANDNA_ENOTFOUND)
				store_txn_commit(t);
			else
				store_txn_abort(t);
		}
	}
	pending_remove(e, p);
}

/* Looks at a batch of our items after the maps changed: what belongs to
 * another gnode now is handed over; the gnode's leader refreshes the
 * backup copies of what we are primary for, claims included, and offers
 * the hash gnode what we hold as its backup. */
struct scan {
	struct engine *e;
	uint64_t now;
	bool leader;
	int seen;
	uint8_t last[MSG_HASH8_LEN + ANDNA_PK_LEN];
	/* the claims of one queue, pushed to the backup gnode in one
	 * message so that they arrive in their order */
	int n_queue;
	struct msg_item queue[MSG_ITEMS_MAX];
};

static void
scan_flush_queue(struct scan *s)
{
	if (s->n_queue > 0)
		ns_push_backup(s->e, s->queue, s->n_queue, s->now);
	for (int i = 0; i < s->n_queue; i++)
		record_free(s->queue[i].rec);
	s->n_queue = 0;
}

static int
handover_cb(void *arg, uint8_t kind, const uint8_t *blob, size_t len,
    uint64_t stored_at, uint64_t expires_at, const struct claim_host *host)
{
	struct scan *s = arg;
	struct engine *e = s->e;
	struct msg_item it;

	s->seen++;
	if (expires_at <= s->now ||
	    ns_item_of(e, kind, blob, len, stored_at, expires_at, s->now, &it) != 0)
		return 0;
	if (host != NULL)
		it.host = *host;
	ovl_addr_t target = kind == MSG_KIND_TALLIES ? key_hash(it.rec->owner) :
	    name_hash(it.rec->name);
	enum ns_role role = ns_role(e, target);
	/* what is no longer ours goes to the gnode it rounds to now; the
	 * backup's leader offers its copies to the hash gnode too, which may
	 * be new and hold nothing (its old hash gnode vanished whole, or its
	 * members scattered) */
	if (role == NS_NONE || (role == NS_BACKUP && s->leader &&
	    kind != MSG_KIND_CLAIMS)) {
		struct pending *p = pending_add(e, PK_HANDOVER, MSG_HANDOVER, s->now);
		if (p != NULL) {
			p->op = kind;
			p->rec = it.rec;
			p->age = it.age;
			p->life = it.life;
			p->host = it.host;
			p->target = target;
			it.rec = NULL;
			pending_send(e, p, s->now);
		}
	} else if (role == NS_PRIMARY && s->leader && kind == MSG_KIND_CLAIMS) {
		if (s->n_queue == MSG_ITEMS_MAX || (s->n_queue > 0 &&
		    strcmp(s->queue[0].rec->name, it.rec->name) != 0))
			scan_flush_queue(s);
		s->queue[s->n_queue++] = it;
		it.rec = NULL;
	} else if (role == NS_PRIMARY && s->leader) {
		ns_push_backup(e, &it, 1, s->now);
	}
	record_free(it.rec);
	return 0;
}

/* Walks all our items once after a change of the maps (the store is small
 * next to the messages a change of maps brings anyway). */
static void
handover_scan(struct engine *e, uint64_t now)
{
	struct scan s = { .e = e, .now = now, .leader = ns_leader(e) };

	for (uint8_t kind = 0; kind < KINDS; kind++) {
		struct store_txn *t = read_txn(e);
		if (t == NULL)
			return;
		walk_kind(t, kind, handover_cb, &s);
		store_txn_abort(t);
		scan_flush_queue(&s);
	}
}

/* A fingerprint of what decides where names round: the gnode ids at each
 * level and the children of the gnodes above level 1.  Members coming and
 * going inside level-1 gnodes move no name, and a joining member pulls
 * its gnode's items by itself, so they start no handover scan: a scan
 * sends every item we are primary for to the backup gnode again. */
static uint64_t
round_print(struct engine *e)
{
	const struct round_view *v = route_view(e);
	uint8_t buf[4 + 3 * sizeof(struct idset) + 2 * 256 * 2];
	uint8_t h[ANDNA_HASH_LEN];
	size_t n = 0;
	uint64_t out = 0;

	for (int i = 0; i < 4; i++)
		buf[n++] = (uint8_t)(ovl_prefix(v->self, 1) >> (8 * i));
	for (int level = 1; level < ANDNA_LEVELS; level++) {
		memcpy(buf + n, &v->ids[level], sizeof(v->ids[level]));
		n += sizeof(v->ids[level]);
	}
	for (int level = 2; level < ANDNA_LEVELS; level++)
		for (int id = 0; id < 256; id++) {
			buf[n++] = (uint8_t)v->children[level][id];
			buf[n++] = (uint8_t)(v->children[level][id] >> 8);
		}
	hash_blake2b(h, buf, n);
	for (int i = 0; i < 8; i++)
		out = out << 8 | h[i];
	return out;
}

void
ns_sync_tick(struct engine *e, uint64_t now, uint64_t *wake)
{
	if (e->hook != HOOK_DONE)
		return;
	if (e->bulk_kind == 0 && e->next_sync == 0) {
		/* just joined: pull the gnode's data, then exchange digests */
		e->next_sync = now + e->cfg.sync_interval_ms;
		bulk_ask(e, NULL, now);
	}
	if (now >= e->next_sync) {
		send_summary(e, now);
		uint32_t iv = e->cfg.sync_interval_ms;
		e->next_sync = now + iv / 2 + engine_rand_below(e, iv);
	}
	if (e->handover_seen != e->view_version && e->handover_at == 0) {
		e->handover_seen = e->view_version;
		if (round_print(e) != e->handover_print) {
			e->handover_at = now + HANDOVER_DELAY_MS;
			e->handover_wait = 0;
		}
	}
	if (e->handover_at != 0 && now >= e->handover_at) {
		/* what changes during the scan's delay is covered by it */
		e->handover_seen = e->view_version;
		e->handover_print = round_print(e);
		e->handover_at = 0;
		handover_scan(e, now);
	}
	if (e->next_sync < *wake)
		*wake = e->next_sync;
	if (e->handover_at != 0 && e->handover_at < *wake)
		*wake = e->handover_at;
}

bool
ns_sync_input(struct engine *e, const struct endpoint *from, struct msg *m,
    uint64_t now)
{
	/* stored data moves only between members we know */
	bool member = e->hook == HOOK_DONE && engine_sender(e, m) != NULL;

	switch (m->type) {
	case MSG_SYNC_SUMMARY:
	case MSG_SYNC_IDS:
	case MSG_SYNC_FETCH:
	case MSG_SYNC_PAGE_REQ:
	case MSG_SYNC_PAGE:
		break;
	default:
		return false;
	}
	if (!member) {
		e->stats.dropped[ENGINE_DROP_UNTRUSTED]++;
		return true;
	}
	switch (m->type) {
	case MSG_SYNC_SUMMARY:
		summary_input(e, from, m, now);
		break;
	case MSG_SYNC_IDS:
		ids_input(e, from, m, now);
		break;
	case MSG_SYNC_FETCH:
		fetch_input(e, from, m, now);
		break;
	case MSG_SYNC_PAGE_REQ:
		page_req_input(e, from, m, now);
		break;
	case MSG_SYNC_PAGE:
		page_input(e, m, now);
		break;
	}
	return true;
}

/* Pending requests of this file end here. */
void
ns_sync_pending_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	if (p->kind == PK_HANDOVER)
		handover_done(e, p, m, now);
	else
		bulk_page(e, p, m, now);
}
