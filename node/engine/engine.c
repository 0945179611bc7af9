/* The engine's frame: creation, the clock, sending, dispatch of incoming
 * messages to the parts that handle them, and end-to-end requests. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/engine/engine_int.h"
#include "proto/err.h"

void
engine_config_defaults(struct engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->gnode_size = 256;
	cfg->ping_interval_ms = 2000;
	cfg->ping_timeout_ms = 800;
	cfg->suspect_ms = 6000;
	cfg->gossip_interval_ms = 3000;
	cfg->outer_timeout_ms = 120000;
	cfg->hop_timeout_ms = 1000;
	cfg->request_timeout_ms = 4000;
	cfg->request_tries = 3;
	cfg->hop_limit = 8;
	cfg->nodes_per_ipv4 = 1;
	cfg->nodes_per_ipv6_64 = 4;
	cfg->expiry_s = 30 * 24 * 3600;
	cfg->min_update_s = 3600;
	cfg->max_names_per_key = 256;
	cfg->queue_len = 5;
	cfg->cache_cap_s = 300;
	cfg->negative_s = 30;
	cfg->cache_max = 10000;
	cfg->sync_interval_ms = 30000;
}

struct engine *
engine_new(const struct engine_config *cfg, const struct engine_io *io,
    const struct keypair *key, const struct endpoint *eps, int n_eps,
    uint64_t now)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->cfg = *cfg;
	e->io = *io;
	e->key = *key;
	if (n_eps > 4)
		n_eps = 4;
	memcpy(e->eps, eps, (size_t)n_eps * sizeof(*eps));
	e->n_eps = n_eps;
	e->view_version = 1;
	e->next_sweep = now + 1000;
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	for (int i = 0; i < e->n_fwd; i++)
		free(e->fwd[i].buf);
	free(e->fwd);
	for (int i = 0; i < e->n_rfwd; i++)
		free(e->rfwd[i].buf);
	free(e->rfwd);
	free(e->back);
	for (int i = 0; i < e->n_pend; i++)
		record_free(e->pend[i].rec);
	free(e->pend);
	gossip_checks_free(e);
	for (int i = 0; i < e->n_votes; i++)
		ns_vote_free(&e->votes[i]);
	free(e->votes);
	for (int i = 0; i < e->n_uncount; i++)
		record_free(e->uncount[i]);
	free(e->peers);
	inner_fini(&e->inner);
	outer_fini(&e->outer);
	keypair_wipe(&e->key);
	free(e);
}

uint64_t
engine_rand64(struct engine *e)
{
	uint64_t v;

	e->io.random_cb(e->io.ctx, &v, sizeof(v));
	return v;
}

uint32_t
engine_rand_below(struct engine *e, uint32_t n)
{
	return n == 0 ? 0 : (uint32_t)(engine_rand64(e) % n);
}

void
engine_log(struct engine *e, enum engine_log_level lvl, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (e->io.log_cb == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->io.log_cb(e->io.ctx, lvl, line);
}

void
engine_emit(struct engine *e, const struct engine_event *ev)
{
	if (e->io.event_cb != NULL)
		e->io.event_cb(e->io.ctx, ev);
}

void *
engine_grow(void *arr, int n, int *cap, size_t size)
{
	if (n < *cap)
		return arr;
	int ncap = *cap == 0 ? 8 : *cap * 2;
	void *p = realloc(arr, (size_t)ncap * size);
	if (p != NULL)
		*cap = ncap;
	return p;
}

struct member *
engine_sender(struct engine *e, const struct msg *m)
{
	struct member *mb = NULL;

	if (m->has_src && ovl_prefix(m->src, 1) == ovl_prefix(e->addr, 1))
		mb = inner_find(&e->inner, ovl_id(m->src, 0));
	return mb != NULL && memcmp(mb->pk, m->key, ANDNA_PK_LEN) == 0 ? mb :
	    NULL;
}

int
engine_host_limit(const struct engine *e, const struct endpoint *ep)
{
	return ep->family == 4 ? e->cfg.nodes_per_ipv4 :
	    e->cfg.nodes_per_ipv6_64;
}

void
engine_maps_changed(struct engine *e)
{
	e->view_version++;
}

/* Encodes `m` with our envelope into `buf` of `cap` bytes; returns its
 * length, or 0 (logged) if it does not fit or is malformed. */
static size_t
encode_into(struct engine *e, struct msg *m, uint8_t *buf, size_t cap)
{
	size_t len = 0;

	m->has_src = e->hook == HOOK_DONE || e->hook == HOOK_JOINING;
	m->src = e->addr;
	int rc = msg_encode_sealed(m, e->cfg.seal, &e->key, buf, cap, &len);
	if (rc == 0)
		return len;
	if (rc != ANDNA_EENC_TOO_BIG || cap == MSG_STREAM_MAX)
		engine_log(e, ENGINE_LOG_ERR, "cannot encode a %s message: %s",
		    msg_type_name(m->type), andna_strerror(rc));
	return 0;
}

uint8_t *
engine_encode(struct engine *e, struct msg *m, size_t *len)
{
	uint8_t stackbuf[65536];
	uint8_t *big = NULL, *out = NULL;

	*len = encode_into(e, m, stackbuf, sizeof(stackbuf));
	if (*len == 0 && (big = malloc(MSG_STREAM_MAX)) != NULL)
		*len = encode_into(e, m, big, MSG_STREAM_MAX);
	if (*len > 0 && (out = malloc(*len)) != NULL)
		memcpy(out, big != NULL ? big : stackbuf, *len);
	free(big);
	return out;
}

size_t
engine_send(struct engine *e, const struct endpoint *to, struct msg *m)
{
	uint8_t stackbuf[65536];
	size_t len = encode_into(e, m, stackbuf, sizeof(stackbuf));

	if (len > 0) {
		engine_send_raw(e, to, stackbuf, len);
		return len;
	}
	uint8_t *buf = engine_encode(e, m, &len);
	if (buf != NULL)
		engine_send_raw(e, to, buf, len);
	free(buf);
	return buf != NULL ? len : 0;
}

void
engine_send_raw(struct engine *e, const struct endpoint *to,
    const uint8_t *buf, size_t len)
{
	e->io.send_cb(e->io.ctx, to, buf, len);
	e->stats.sent++;
	e->stats.bytes_sent += len;
}

struct pending *
pending_add(struct engine *e, uint8_t kind, uint8_t type, uint64_t now)
{
	struct pending *arr = engine_grow(e->pend, e->n_pend, &e->cap_pend,
	    sizeof(*arr));
	if (arr == NULL)
		return NULL;
	e->pend = arr;
	struct pending *p = &e->pend[e->n_pend++];
	memset(p, 0, sizeof(*p));
	p->req_id = engine_rand64(e);
	p->kind = kind;
	p->type = type;
	p->started = now;
	p->deadline = now + e->cfg.request_timeout_ms;
	return p;
}

struct pending *
pending_find(struct engine *e, uint64_t wire_id)
{
	for (int i = 0; i < e->n_pend; i++)
		if (e->pend[i].wire_id == wire_id)
			return &e->pend[i];
	return NULL;
}

/* Takes one of the passes of *passes; false when they are spent. */
static bool
await_pass(uint8_t *passes)
{
	if (*passes >= ENGINE_AWAIT_PASSES)
		return false;
	(*passes)++;
	return true;
}

bool
engine_awaits(struct engine *e, uint64_t id)
{
	struct pending *p = pending_find(e, id);

	if (p != NULL)
		return await_pass(&p->passes);
	/* the ROUTE_ACK of a routed message or reply we passed on: a node
	 * resolving many names at once acknowledges many replies */
	for (int i = 0; i < e->n_fwd; i++)
		if (e->fwd[i].req_id == id)
			return await_pass(&e->fwd[i].passes);
	for (int i = 0; i < e->n_rfwd; i++)
		if (e->rfwd[i].req_id == id)
			return await_pass(&e->rfwd[i].passes);
	return false;
}

void
pending_remove(struct engine *e, struct pending *p)
{
	record_free(p->rec);
	*p = e->pend[--e->n_pend];
}

void
pending_send(struct engine *e, struct pending *p, uint64_t now)
{
	struct msg m;
	struct msg_item item; /* HANDOVER: lives until the message is sent */
	bool routed = true;

	msg_init(&m);
	m.type = p->type;
	/* each attempt has its own id: nodes on the way drop repeats of an
	 * id, and a late reply to an old attempt is not taken for this one */
	m.id = p->wire_id = engine_rand64(e);
	p->passes = 0;
	p->tries++;
	p->deadline = now + e->cfg.request_timeout_ms;
	switch (p->kind) {
	case PK_REGISTER:
		m.u.reg.rec = p->rec;
		m.u.reg.ep = e->eps[0]; /* challenged before a claim waits */
		break;
	case PK_COUNTER:
	case PK_PROMOTE:
		m.u.counter_check.op = p->op;
		m.u.counter_check.rec = p->rec;
		break;
	case PK_RESOLVE:
		memcpy(m.u.resolve.name, p->name, sizeof(p->name));
		break;
	case PK_NEIGHBOUR:
		memcpy(m.u.cache_read.name, p->name, sizeof(p->name));
		routed = false;
		/* a member answers from its cache at once; past a hop timeout
		 * (the read lost, dropped over its rate limit in a burst, or
		 * the member still resolving for us) we vote ourselves, in
		 * time for the DNS client still waiting: at worst the name is
		 * resolved twice */
		p->deadline = now + e->cfg.hop_timeout_ms;
		break;
	case PK_REVERSE:
		routed = false;
		break;
	case PK_HANDOVER:
		item = (struct msg_item){.kind = p->op,
		    .age = p->age,
		    .life = p->life,
		    .rec = p->rec,
		    .host = p->host};
		m.u.handover.items.n = 1;
		m.u.handover.items.v = &item;
		m.u.handover.route.n_exclude = p->n_exclude;
		m.u.handover.route.exclude[0] = p->exclude;
		break;
	case PK_BULK:
		m.u.sync_page_req.kind = p->op;
		m.u.sync_page_req.cursor = p->cursor;
		m.u.sync_page_req.max_items = MSG_ITEMS_MAX;
		routed = false;
		break;
	case PK_REPLICAS:
		return; /* waits for acks, sends nothing */
	}
	if (routed)
		route_send(e, &m, p->target, now);
	else
		engine_send(e, &p->to, &m);
	/* the record is the pending request's, not the message's; nothing
	 * else in `m` was allocated */
	(void)m;
}

uint64_t
engine_probe(struct engine *e, ovl_addr_t target, uint64_t now)
{
	struct pending *p = pending_add(e, PK_PROBE, MSG_PROBE, now);

	if (p == NULL)
		return 0;
	uint64_t id = p->req_id;
	p->target = target;
	if (e->hook != HOOK_DONE) {
		struct engine_event ev = { .type = ENGINE_EV_PROBE_DONE,
			.id = id, .status = ANDNA_ENOT_HOOKED };
		pending_remove(e, p);
		engine_emit(e, &ev);
		return id;
	}
	pending_send(e, p, now);
	return id;
}

/* Finishes a pending request with the reply `m`, or NULL on time-out. */
static void
pending_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now)
{
	if (p->kind != PK_PROBE) {
		ns_pending_done(e, p, m, now);
		return;
	}
	struct engine_event ev = { .type = ENGINE_EV_PROBE_DONE,
		.id = p->req_id, .status = ANDNA_ETIMEOUT,
		.rtt_ms = (uint32_t)(now - p->started) };
	if (m != NULL) {
		ev.status = 0;
		ev.addr = m->u.probe_reply.responder;
		ev.hops = (int)m->u.probe_reply.hops;
	}
	pending_remove(e, p);
	engine_emit(e, &ev);
}

/* Retries or gives up the end-to-end requests that timed out. */
static void
pending_tick(struct engine *e, uint64_t now, uint64_t *wake)
{
	for (int i = 0; i < e->n_pend;) {
		struct pending *p = &e->pend[i];
		if (p->deadline > now) {
			if (p->deadline < *wake)
				*wake = p->deadline;
			i++;
			continue;
		}
		if (p->tries < e->cfg.request_tries && e->hook == HOOK_DONE &&
		    p->kind != PK_REPLICAS && p->kind != PK_NEIGHBOUR) {
			pending_send(e, p, now);
			continue;
		}
		pending_done(e, p, NULL, now);
	}
}

/* Which pending kinds a reply type may answer. */
static bool
reply_fits(const struct pending *p, uint8_t type)
{
	switch (type) {
	case MSG_PROBE_REPLY:
		return p->kind == PK_PROBE;
	case MSG_REGISTER_REPLY:
		return p->kind == PK_REGISTER;
	case MSG_COUNTER_REPLY:
		return p->kind == PK_COUNTER || p->kind == PK_PROMOTE;
	case MSG_RESOLVE_REPLY:
		return p->kind == PK_RESOLVE || p->kind == PK_NEIGHBOUR;
	case MSG_REVERSE_REPLY:
		return p->kind == PK_REVERSE;
	case MSG_HANDOVER_ACK:
		return p->kind == PK_HANDOVER;
	default:
		return false;
	}
}

/* Whether requests of this kind are routed, and so answered back along
 * their path, hop by hop. */
static bool
kind_routed(uint8_t kind)
{
	return kind != PK_NEIGHBOUR && kind != PK_REVERSE && kind != PK_BULK;
}

/* A reply to a request of ours arrived (`from` NULL: from ourselves), or
 * one to pass back along the path of a routed request we handed on (`buf`
 * as it came).  A reply that came back along a path is acknowledged to the
 * hop that passed it, as requests are. */
static void
reply_input(struct engine *e, const struct endpoint *from, const struct msg *m,
    const uint8_t *buf, size_t len, uint64_t now)
{
	struct pending *p = pending_find(e, m->id);
	struct endpoint back;
	bool routed;

	if (p != NULL && reply_fits(p, m->type)) {
		routed = kind_routed(p->kind);
		pending_done(e, p, m, now);
	} else if (from != NULL && route_back_take(e, m->id, &back)) {
		routed = true;
		route_reply(e, &back, m->id, buf, len, now);
	} else {
		e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
		return;
	}
	if (routed && from != NULL) {
		struct msg ack;
		msg_init(&ack);
		ack.type = MSG_ROUTE_ACK;
		ack.id = m->id;
		engine_send(e, from, &ack);
	}
}

void
engine_reply_routed(struct engine *e, const struct msg_route *r,
    struct msg *reply, uint64_t now)
{
	struct endpoint back;
	size_t len;
	uint8_t *buf;

	if (r->origin == e->addr) {
		/* as it would arrive, signed by us */
		reply->has_src = true;
		reply->src = e->addr;
		memcpy(reply->key, e->key.pk, ANDNA_PK_LEN);
		reply_input(e, NULL, reply, NULL, 0, now);
	} else if (!route_back_take(e, reply->id, &back)) {
		e->stats.dropped[ENGINE_DROP_NOROUTE]++;
	} else if ((buf = engine_encode(e, reply, &len)) != NULL) {
		route_reply(e, &back, reply->id, buf, len, now);
		free(buf);
	}
}

/* Handles a routed request that reached the gnode it was meant for. */
void
engine_handle_routed(struct engine *e, struct msg *m, int hops_taken,
    uint64_t now)
{
	struct msg r;

	if (m->type != MSG_PROBE) {
		ns_handle_routed(e, m, hops_taken, now);
		return;
	}
	msg_init(&r);
	r.type = MSG_PROBE_REPLY;
	r.id = m->id;
	r.u.probe_reply.responder = e->addr;
	r.u.probe_reply.hops = (uint32_t)hops_taken;
	engine_reply_routed(e, &m->u.probe.route, &r, now);
}

void
engine_input(struct engine *e, const struct endpoint *from,
    const uint8_t *buf, size_t len, uint64_t now)
{
	struct msg m;

	e->stats.received++;
	e->stats.bytes_received += len;
	int rc = msg_decode_sealed(e->cfg.seal, buf, len, &m);
	if (rc != 0) {
		e->stats.dropped[rc == ANDNA_EDEC_SIG ? ENGINE_DROP_SIGNATURE :
		    ENGINE_DROP_MALFORMED]++;
		return;
	}
	if (e->hook == HOOK_GONE || e->hook == HOOK_IDLE ||
	    memcmp(m.key, e->key.pk, ANDNA_PK_LEN) == 0) {
		e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
		goto out;
	}
	switch (m.type) {
	case MSG_PING:
	case MSG_ACK:
	case MSG_PING_REQ:
	case MSG_LEAVE:
		swim_input(e, from, &m, now);
		break;
	case MSG_HOOK_REQ:
	case MSG_HOOK_OFFER:
	case MSG_JOIN:
	case MSG_MAP_FULL:
		hook_input(e, from, &m, now);
		break;
	case MSG_GOSSIP:
		gossip_input(e, from, &m, now);
		break;
	case MSG_CHALLENGE:
	case MSG_CHALLENGE_REPLY:
		gossip_challenge_input(e, from, &m, now);
		break;
	case MSG_ROUTE_ACK:
		route_ack_input(e, from, &m);
		break;
	case MSG_PROBE:
	case MSG_REGISTER:
	case MSG_COUNTER_CHECK:
	case MSG_HANDOVER:
	case MSG_RESOLVE:
		route_input(e, from, &m, now);
		break;
	case MSG_PROBE_REPLY:
	case MSG_REGISTER_REPLY:
	case MSG_COUNTER_REPLY:
	case MSG_RESOLVE_REPLY:
	case MSG_REVERSE_REPLY:
	case MSG_HANDOVER_ACK:
		reply_input(e, from, &m, buf, len, now);
		break;
	default:
		if (!ns_input(e, from, &m, now))
			e->stats.dropped[ENGINE_DROP_UNEXPECTED]++;
		break;
	}
out:
	msg_free(&m);
}

uint64_t
engine_tick(struct engine *e, uint64_t now)
{
	uint64_t wake = now + 60000;

	hook_tick(e, now, &wake);
	if (e->hook == HOOK_DONE) {
		swim_tick(e, now, &wake);
		gossip_tick(e, now, &wake);
		route_tick(e, now, &wake);
		if (now >= e->next_sweep) {
			swim_sweep(e, now);
			gossip_sweep(e, now);
			hook_sweep(e, now);
			e->next_sweep = now + 1000;
			if (swim_overfull(e, now)) {
				swim_leave(e);
				hook_restart(e, now);
			}
		}
		ns_tick(e, now, &wake);
		if (e->next_sweep < wake)
			wake = e->next_sweep;
	}
	pending_tick(e, now, &wake);
	return wake;
}

bool
engine_hooked(const struct engine *e)
{
	return e->hook == HOOK_DONE;
}

ovl_addr_t
engine_addr(const struct engine *e)
{
	return e->addr;
}

const uint8_t *
engine_node_key(const struct engine *e)
{
	return e->key.pk;
}

const struct engine_stats *
engine_stats(const struct engine *e)
{
	return &e->stats;
}

void
engine_round_view(struct engine *e, struct round_view *v)
{
	*v = *route_view(e);
}

int
engine_gnode_members(const struct engine *e)
{
	return e->hook == HOOK_DONE ? inner_live(&e->inner) + 1 : 0;
}

int
engine_outer_count(const struct engine *e, int level)
{
	return level >= 1 && level < ANDNA_LEVELS ? e->outer.n[level] : 0;
}

void
engine_peers(const struct engine *e, engine_peer_cb *cb, void *arg)
{
	if (e->hook != HOOK_DONE)
		return;
	for (int i = 0; i < e->inner.n; i++) {
		const struct member *mb = &e->inner.m[i];
		if (mb->state != MEMBER_ALIVE || mb->n_eps == 0)
			continue;
		struct engine_peer p = {.addr = ovl_prefix(e->addr, 1) | mb->id,
		    .ep = &mb->eps[0], .pk = mb->pk};
		if (cb(arg, &p) != 0)
			return;
	}
	for (int level = 1; level < ANDNA_LEVELS; level++)
		for (int i = 0; i < e->outer.n[level]; i++) {
			const struct outer_entry *x = &e->outer.e[level][i];
			for (int k = 0; k < x->n_contacts; k++) {
				struct engine_peer p = {
				    .addr = x->contacts[k].addr,
				    .ep = &x->contacts[k].ep, .level = level};
				if (cb(arg, &p) != 0)
					return;
			}
		}
}

void
engine_members(const struct engine *e, engine_member_cb *cb, void *arg)
{
	static const enum engine_liveness state[] = {
		[MEMBER_ALIVE] = ENGINE_MEMBER_ALIVE,
		[MEMBER_SUSPECT] = ENGINE_MEMBER_SUSPECT,
		[MEMBER_DEAD] = ENGINE_MEMBER_DEAD,
		[MEMBER_LEFT] = ENGINE_MEMBER_LEFT,
	};

	if (e->hook != HOOK_DONE)
		return;
	for (int i = 0; i < e->inner.n; i++) {
		const struct member *mb = &e->inner.m[i];
		struct engine_member m = {
		    .addr = ovl_prefix(e->addr, 1) | mb->id, .pk = mb->pk,
		    .state = mb->state <= MEMBER_LEFT ? state[mb->state] :
		    ENGINE_MEMBER_DEAD, .since = mb->state_at};
		if (cb(arg, &m) != 0)
			return;
	}
}

bool
engine_keep_peer(struct engine_keep *k, const struct engine_peer *p)
{
	int level = p->level;

	if (level < 0 || level >= ANDNA_LEVELS)
		return false;
	if (level == 0) {
		if (k->n[0] >= ENGINE_KEEP_MEMBERS)
			return false;
		k->n[0]++;
		return true;
	}
	/* the contacts of one sibling come one after the other */
	ovl_addr_t g = ovl_prefix(p->addr, level);
	if (k->n[level] >= ENGINE_KEEP_PER_LEVEL ||
	    (k->n[level] > 0 && k->last[level] == g))
		return false;
	k->last[level] = g;
	k->n[level]++;
	return true;
}

size_t
engine_state_bytes(const struct engine *e)
{
	size_t b = sizeof(*e) + maps_bytes(&e->inner, &e->outer);

	b += (size_t)e->cap_fwd * sizeof(struct forward);
	for (int i = 0; i < e->n_fwd; i++)
		b += e->fwd[i].len;
	b += (size_t)e->cap_rfwd * sizeof(struct reply_fwd);
	for (int i = 0; i < e->n_rfwd; i++)
		b += e->rfwd[i].len;
	b += (size_t)e->cap_pend * sizeof(struct pending);
	b += (size_t)e->cap_back * sizeof(struct back);
	b += (size_t)e->n_peers * sizeof(struct endpoint);
	return b;
}

uint16_t
engine_own_children(const struct engine *e, int level)
{
	if (level == 1)
		return (uint16_t)(inner_live(&e->inner) + 1);
	return (uint16_t)(e->outer.n[level - 1] + 1);
}
