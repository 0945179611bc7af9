/* Node-to-node messages: envelope and bodies, strict msgpack codec. */
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/msg.h"
#include "proto/wire.h"

/* Writes the wire form of an endpoint. */
size_t
msg_ep_encode(const struct endpoint *ep, uint8_t out[MSG_EP_MAX_LEN])
{
	size_t iplen = ep->family == 4 ? 4 : ep->family == 6 ? 16 : 0;

	if (iplen == 0)
		return 0;
	memcpy(out, ep->ip, iplen);
	out[iplen] = (uint8_t)(ep->port >> 8);
	out[iplen + 1] = (uint8_t)ep->port;
	return iplen + 2;
}

/* Reads the wire form of an endpoint. */
int
msg_ep_decode(const uint8_t *p, size_t len, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (len != 6 && len != 18)
		return ANDNA_EDEC_VALUE;
	ep->family = len == 6 ? 4 : 6;
	memcpy(ep->ip, p, len - 2);
	ep->port = (uint16_t)(p[len - 2] << 8 | p[len - 1]);
	return 0;
}

/* Writers of the element types of doc/protocol.md. */

/* Writes an `ep`. */
static void
put_ep(struct wire_enc *e, const struct endpoint *ep)
{
	uint8_t b[MSG_EP_MAX_LEN];
	size_t n = msg_ep_encode(ep, b);

	if (n == 0)
		wire_enc_fail(e, ANDNA_EINVAL);
	wire_put_bin(e, b, n);
}

/* Writes an array of 1..4 endpoints. */
static void
put_eps(struct wire_enc *e, size_t n, const struct endpoint *eps)
{
	wire_put_array(e, n, 1, MSG_EPS_MAX);
	for (size_t i = 0; e->err == 0 && i < n; i++)
		put_ep(e, &eps[i]);
}

/* Writes an `addr`. */
static void
put_addr(struct wire_enc *e, ovl_addr_t addr)
{
	wire_put_uint(e, addr, UINT32_MAX);
}

/* Writes an array of member updates. */
static void
put_updates(struct wire_enc *e, const struct msg_updates *u)
{
	wire_put_array(e, u->n, 0, MSG_UPDATES_MAX);
	for (size_t i = 0; e->err == 0 && i < u->n; i++) {
		const struct msg_update *v = &u->v[i];
		wire_put_array(e, 5, 5, 5);
		wire_put_uint(e, v->state, MSG_STATE_LEFT);
		put_addr(e, v->addr);
		wire_put_uint(e, v->incarnation, UINT32_MAX);
		wire_put_bin(e, v->key, ANDNA_PK_LEN);
		put_eps(e, v->n_eps, v->eps);
	}
}

/* Writes an array of at most `max` contacts. */
static void
put_contacts(
    struct wire_enc *e, size_t n, const struct msg_contact *c, size_t max)
{
	wire_put_array(e, n, 0, max);
	for (size_t i = 0; e->err == 0 && i < n; i++) {
		wire_put_array(e, 2, 2, 2);
		put_addr(e, c[i].addr);
		put_ep(e, &c[i].ep);
	}
}

/* Writes one outer-map entry. */
static void
put_outer_entry(struct wire_enc *e, const struct msg_outer *o)
{
	wire_put_array(e, 5, 5, 5);
	wire_put_uint(e, o->level, ANDNA_LEVELS - 1);
	if (o->level == 0)
		wire_enc_fail(e, ANDNA_EINVAL);
	wire_put_uint(e, o->id, UINT8_MAX);
	wire_put_uint(e, o->children, UINT16_MAX);
	wire_put_uint(e, o->age, UINT32_MAX);
	put_contacts(e, o->n_contacts, o->contacts, MSG_OUTER_CONTACTS_MAX);
}

/* Writes an array of outer-map entries. */
static void
put_outer(struct wire_enc *e, size_t n, const struct msg_outer *o)
{
	wire_put_array(e, n, 0, MSG_OUTER_MAX);
	for (size_t i = 0; e->err == 0 && i < n; i++)
		put_outer_entry(e, &o[i]);
}

size_t
msg_outer_len(const struct msg_outer *o)
{
	uint8_t buf[MSG_OUTER_LEN_MAX];
	msgpack_packer pk;
	struct wire_buf wb;
	struct wire_enc e = {.pk = &pk};

	wire_buf_init(&wb, &pk, buf, sizeof(buf));
	put_outer_entry(&e, o);
	return e.err == 0 && !wb.full ? wb.len : 0;
}

/* Writes a routing header. */
static void
put_route(struct wire_enc *e, const struct msg_route *r)
{
	wire_put_array(e, 3, 3, 3);
	put_addr(e, r->target);
	put_addr(e, r->origin);
	wire_put_array(e, r->n_exclude, 0, MSG_EXCLUDE_MAX);
	for (size_t i = 0; e->err == 0 && i < r->n_exclude; i++) {
		if (ovl_id(r->exclude[i], 0) != 0)
			wire_enc_fail(e, ANDNA_EINVAL);
		put_addr(e, r->exclude[i]);
	}
}

/* Writes a record; a missing one is an error. */
static void
put_record(struct wire_enc *e, const struct record *rec)
{
	if (rec == NULL)
		wire_enc_fail(e, ANDNA_EINVAL);
	if (e->err == 0)
		wire_enc_fail(e, record_pack(e->pk, rec));
}

/* Writes an array of items. */
static void
put_items(struct wire_enc *e, const struct msg_items *it)
{
	wire_put_array(e, it->n, 0, MSG_ITEMS_MAX);
	for (size_t i = 0; e->err == 0 && i < it->n; i++) {
		const struct claim_host *h = &it->v[i].host;
		wire_put_array(e, 5, 5, 5);
		wire_put_uint(e, it->v[i].kind, MSG_KIND_TALLIES);
		wire_put_uint(e, it->v[i].age, UINT32_MAX);
		wire_put_uint(e, it->v[i].life, UINT32_MAX);
		put_record(e, it->v[i].rec);
		if (h->ep.family == 0 || it->v[i].kind != MSG_KIND_CLAIMS) {
			wire_put_nil(e);
			continue;
		}
		wire_put_array(e, 2, 2, 2);
		put_addr(e, h->addr);
		put_ep(e, &h->ep);
	}
}

/* Writes a `status`. */
static void
put_status(struct wire_enc *e, uint8_t status)
{
	wire_put_uint(e, status, MSG_ST_MAX);
}

/* Writes a `kind`. */
static void
put_kind(struct wire_enc *e, uint8_t kind)
{
	wire_put_uint(e, kind, MSG_KIND_TALLIES);
}

/* Writes a cursor: bin, or nil at the end where `nil_ok`. */
static void
put_cursor(struct wire_enc *e, const struct msg_cursor *c, bool nil_ok)
{
	if (c->end && !nil_ok)
		wire_enc_fail(e, ANDNA_EINVAL);
	if (c->end)
		wire_put_nil(e);
	else if (c->len > MSG_CURSOR_MAX)
		wire_enc_fail(e, ANDNA_EINVAL);
	else
		wire_put_bin(e, c->bytes, c->len);
}

/* Readers of the element types; each records the first error in `d`. */

/* Returns a zeroed array of `n` elements of `size` for a list read from
 * the wire, or NULL when n is 0 or `d` already failed. */
static void *
get_alloc(struct wire_dec *d, size_t n, size_t size)
{
	void *p = NULL;

	if (d->err == 0 && n > 0 && (p = calloc(n, size)) == NULL)
		wire_dec_fail(d, ANDNA_ENOMEM);
	return p;
}

/* Reads an `ep`. */
static void
get_ep(struct wire_dec *d, const msgpack_object *o, struct endpoint *ep)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		wire_dec_fail(d, ANDNA_EDEC_TYPE);
	if (d->err == 0)
		wire_dec_fail(d,
		    msg_ep_decode(
			(const uint8_t *)o->via.bin.ptr, o->via.bin.size, ep));
}

/* Reads an array of 1..4 endpoints; returns their number. */
static uint8_t
get_eps(struct wire_dec *d, const msgpack_object *o, struct endpoint *eps)
{
	const msgpack_object *el;
	uint32_t n = wire_list(d, o, 1, MSG_EPS_MAX, &el);

	for (uint32_t i = 0; i < n; i++)
		get_ep(d, &el[i], &eps[i]);
	return (uint8_t)n;
}

/* Reads an `addr`. */
static ovl_addr_t
get_addr(struct wire_dec *d, const msgpack_object *o)
{
	return (ovl_addr_t)wire_uint(d, o, 0, UINT32_MAX);
}

/* Reads an array of member updates. */
static void
get_updates(struct wire_dec *d, const msgpack_object *o, struct msg_updates *u)
{
	const msgpack_object *el;

	u->n = (uint8_t)wire_list(d, o, 0, MSG_UPDATES_MAX, &el);
	for (size_t i = 0; i < u->n; i++) {
		const msgpack_object *f = wire_tuple(d, &el[i], 5);
		struct msg_update *v = &u->v[i];
		v->state = (uint8_t)wire_uint(d, &f[0], 0, MSG_STATE_LEFT);
		v->addr = get_addr(d, &f[1]);
		v->incarnation = (uint32_t)wire_uint(d, &f[2], 0, UINT32_MAX);
		wire_bin(d, &f[3], v->key, ANDNA_PK_LEN);
		v->n_eps = get_eps(d, &f[4], v->eps);
	}
}

/* Reads an array of at most `max` contacts; returns their number. */
static uint8_t
get_contacts(struct wire_dec *d, const msgpack_object *o, struct msg_contact *c,
    uint32_t max)
{
	const msgpack_object *el;
	uint32_t n = wire_list(d, o, 0, max, &el);

	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *f = wire_tuple(d, &el[i], 2);
		c[i].addr = get_addr(d, &f[0]);
		get_ep(d, &f[1], &c[i].ep);
	}
	return (uint8_t)n;
}

/* Reads an array of outer-map entries into a new array. */
static void
get_outer(struct wire_dec *d, const msgpack_object *o, uint16_t *n,
    struct msg_outer **outer)
{
	const msgpack_object *el;
	uint32_t cnt = wire_list(d, o, 0, MSG_OUTER_MAX, &el);
	struct msg_outer *v = get_alloc(d, cnt, sizeof(*v));

	*outer = v;
	*n = v == NULL ? 0 : (uint16_t)cnt;
	for (uint16_t i = 0; i < *n; i++) {
		const msgpack_object *f = wire_tuple(d, &el[i], 5);
		v[i].level = (uint8_t)wire_uint(d, &f[0], 1, ANDNA_LEVELS - 1);
		v[i].id = (uint8_t)wire_uint(d, &f[1], 0, UINT8_MAX);
		v[i].children = (uint16_t)wire_uint(d, &f[2], 0, UINT16_MAX);
		v[i].age = (uint32_t)wire_uint(d, &f[3], 0, UINT32_MAX);
		v[i].n_contacts = get_contacts(
		    d, &f[4], v[i].contacts, MSG_OUTER_CONTACTS_MAX);
	}
}

/* Reads a routing header. */
static void
get_route(struct wire_dec *d, const msgpack_object *o, struct msg_route *r)
{
	const msgpack_object *f = wire_tuple(d, o, 3), *el;

	r->target = get_addr(d, &f[0]);
	r->origin = get_addr(d, &f[1]);
	r->n_exclude = (uint8_t)wire_list(d, &f[2], 0, MSG_EXCLUDE_MAX, &el);
	for (size_t i = 0; i < r->n_exclude; i++) {
		r->exclude[i] = get_addr(d, &el[i]);
		if (ovl_id(r->exclude[i], 0) != 0)
			wire_dec_fail(d, ANDNA_EDEC_VALUE);
	}
}

/* Reads a record into a new one. */
static void
get_record(struct wire_dec *d, const msgpack_object *o, struct record **rec)
{
	if (d->err == 0)
		wire_dec_fail(d, record_unpack(o, rec));
}

/* Reads an array of items into a new array. */
static void
get_items(struct wire_dec *d, const msgpack_object *o, struct msg_items *it)
{
	const msgpack_object *el;
	uint32_t n = wire_list(d, o, 0, MSG_ITEMS_MAX, &el);

	it->v = get_alloc(d, n, sizeof(*it->v));
	it->n = it->v == NULL ? 0 : (uint8_t)n;
	for (size_t i = 0; i < it->n; i++) {
		const msgpack_object *f = wire_tuple(d, &el[i], 5);
		it->v[i].kind =
		    (uint8_t)wire_uint(d, &f[0], 0, MSG_KIND_TALLIES);
		it->v[i].age = (uint32_t)wire_uint(d, &f[1], 0, UINT32_MAX);
		it->v[i].life = (uint32_t)wire_uint(d, &f[2], 0, UINT32_MAX);
		get_record(d, &f[3], &it->v[i].rec);
		if (d->err != 0 || f[4].type == MSGPACK_OBJECT_NIL)
			continue;
		if (it->v[i].kind != MSG_KIND_CLAIMS)
			wire_dec_fail(d, ANDNA_EDEC_VALUE);
		const msgpack_object *h = wire_tuple(d, &f[4], 2);
		if (d->err == 0) {
			it->v[i].host.addr = get_addr(d, &h[0]);
			get_ep(d, &h[1], &it->v[i].host.ep);
		}
	}
}

/* Reads a `status`. */
static uint8_t
get_status(struct wire_dec *d, const msgpack_object *o)
{
	return (uint8_t)wire_uint(d, o, 0, MSG_ST_MAX);
}

/* Reads a `kind`. */
static uint8_t
get_kind(struct wire_dec *d, const msgpack_object *o)
{
	return (uint8_t)wire_uint(d, o, 0, MSG_KIND_TALLIES);
}

/* Reads a cursor: bin of 0..40 bytes, or nil where `nil_ok`. */
static void
get_cursor(struct wire_dec *d, const msgpack_object *o, struct msg_cursor *c,
    bool nil_ok)
{
	if (o->type == MSGPACK_OBJECT_NIL && nil_ok)
		c->end = true;
	else if (o->type != MSGPACK_OBJECT_BIN)
		wire_dec_fail(d, ANDNA_EDEC_TYPE);
	else if (o->via.bin.size > MSG_CURSOR_MAX)
		wire_dec_fail(d, ANDNA_EDEC_TOO_BIG);
	else if (d->err == 0 && o->via.bin.size > 0) {
		c->len = (uint8_t)o->via.bin.size;
		memcpy(c->bytes, o->via.bin.ptr, c->len);
	}
}

/* The bodies, one writer and one reader per layout.  A writer appends the
 * elements after the body's array header; a reader gets the elements of a
 * body array whose length is already checked. */

/* PING, ACK: [updates] */
static void
pack_updates(struct wire_enc *e, const struct msg *m)
{
	put_updates(e, &m->u.updates);
}

static void
unpack_updates(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	get_updates(d, &f[0], &m->u.updates);
}

/* PING_REQ: [target addr, target ep, updates] */
static void
pack_ping_req(struct wire_enc *e, const struct msg *m)
{
	put_addr(e, m->u.ping_req.target);
	put_ep(e, &m->u.ping_req.target_ep);
	put_updates(e, &m->u.ping_req.updates);
}

static void
unpack_ping_req(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.ping_req.target = get_addr(d, &f[0]);
	get_ep(d, &f[1], &m->u.ping_req.target_ep);
	get_updates(d, &f[2], &m->u.ping_req.updates);
}

/* Writes a `lowest key, lowest age` pair (two body elements). */
static void
put_lowest(struct wire_enc *e, const struct msg_lowest *l)
{
	wire_put_bin(e, l->key, ANDNA_PK_LEN);
	wire_put_uint(e, l->age, UINT32_MAX);
}

static void
get_lowest(struct wire_dec *d, const msgpack_object *f, struct msg_lowest *l)
{
	wire_bin(d, &f[0], l->key, ANDNA_PK_LEN);
	l->age = (uint32_t)wire_uint(d, &f[1], 0, UINT32_MAX);
}

/* HOOK_REQ: [full gnodes, lowest key, lowest age] */
static void
pack_hook_req(struct wire_enc *e, const struct msg *m)
{
	wire_put_array(e, m->u.hook_req.n_full, 0, MSG_HOOK_FULL_MAX);
	for (size_t i = 0; e->err == 0 && i < m->u.hook_req.n_full; i++)
		put_addr(e, m->u.hook_req.full[i]);
	put_lowest(e, &m->u.hook_req.lowest);
}

static void
unpack_hook_req(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	const msgpack_object *el;

	m->u.hook_req.n_full =
	    (uint8_t)wire_list(d, &f[0], 0, MSG_HOOK_FULL_MAX, &el);
	for (size_t i = 0; i < m->u.hook_req.n_full; i++) {
		ovl_addr_t g = get_addr(d, &el[i]);
		int level = ovl_id(g, 0);
		/* a level from 1 to 3, and nothing else below the prefix */
		if (level < 1 || level >= ANDNA_LEVELS ||
		    (g >> 8 & ((1u << (8 * level - 8)) - 1)) != 0)
			wire_dec_fail(d, ANDNA_EDEC_VALUE);
		m->u.hook_req.full[i] = g;
	}
	get_lowest(d, &f[1], &m->u.hook_req.lowest);
}

/* HOOK_OFFER: [status, offered addr, gnode_size, contacts, lowest key,
 * lowest age] */
static void
pack_hook_offer(struct wire_enc *e, const struct msg *m)
{
	put_status(e, m->u.hook_offer.status);
	put_addr(e, m->u.hook_offer.addr);
	wire_put_uint(e, m->u.hook_offer.gnode_size, MSG_GNODE_SIZE_MAX);
	if (m->u.hook_offer.gnode_size == 0)
		wire_enc_fail(e, ANDNA_EINVAL);
	put_contacts(e, m->u.hook_offer.n_contacts, m->u.hook_offer.contacts,
	    MSG_CONTACTS_MAX);
	put_lowest(e, &m->u.hook_offer.lowest);
}

static void
unpack_hook_offer(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.hook_offer.status = get_status(d, &f[0]);
	m->u.hook_offer.addr = get_addr(d, &f[1]);
	m->u.hook_offer.gnode_size =
	    (uint16_t)wire_uint(d, &f[2], 1, MSG_GNODE_SIZE_MAX);
	m->u.hook_offer.n_contacts =
	    get_contacts(d, &f[3], m->u.hook_offer.contacts, MSG_CONTACTS_MAX);
	get_lowest(d, &f[4], &m->u.hook_offer.lowest);
}

/* JOIN: [incarnation, eps] */
static void
pack_join(struct wire_enc *e, const struct msg *m)
{
	wire_put_uint(e, m->u.join.incarnation, UINT32_MAX);
	put_eps(e, m->u.join.n_eps, m->u.join.eps);
}

static void
unpack_join(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.join.incarnation = (uint32_t)wire_uint(d, &f[0], 0, UINT32_MAX);
	m->u.join.n_eps = get_eps(d, &f[1], m->u.join.eps);
}

/* DISCOVER: [eps] */
static void
pack_discover(struct wire_enc *e, const struct msg *m)
{
	put_eps(e, m->u.discover.n_eps, m->u.discover.eps);
}

static void
unpack_discover(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.discover.n_eps = get_eps(d, &f[0], m->u.discover.eps);
}

/* MAP_FULL: [status, members, outer] */
static void
pack_map_full(struct wire_enc *e, const struct msg *m)
{
	const struct msg_member *v = m->u.map_full.members;

	put_status(e, m->u.map_full.status);
	wire_put_array(e, m->u.map_full.n_members, 0, MSG_MEMBERS_MAX);
	for (size_t i = 0; e->err == 0 && i < m->u.map_full.n_members; i++) {
		wire_put_array(e, 4, 4, 4);
		put_addr(e, v[i].addr);
		wire_put_bin(e, v[i].key, ANDNA_PK_LEN);
		wire_put_uint(e, v[i].incarnation, UINT32_MAX);
		put_eps(e, v[i].n_eps, v[i].eps);
	}
	put_outer(e, m->u.map_full.n_outer, m->u.map_full.outer);
}

static void
unpack_map_full(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	const msgpack_object *el;

	m->u.map_full.status = get_status(d, &f[0]);
	uint32_t n = wire_list(d, &f[1], 0, MSG_MEMBERS_MAX, &el);
	struct msg_member *v = get_alloc(d, n, sizeof(*v));
	m->u.map_full.members = v;
	m->u.map_full.n_members = v == NULL ? 0 : (uint16_t)n;
	for (size_t i = 0; i < m->u.map_full.n_members; i++) {
		const msgpack_object *g = wire_tuple(d, &el[i], 4);
		v[i].addr = get_addr(d, &g[0]);
		wire_bin(d, &g[1], v[i].key, ANDNA_PK_LEN);
		v[i].incarnation = (uint32_t)wire_uint(d, &g[2], 0, UINT32_MAX);
		v[i].n_eps = get_eps(d, &g[3], v[i].eps);
	}
	get_outer(d, &f[2], &m->u.map_full.n_outer, &m->u.map_full.outer);
}

/* LEAVE: [incarnation] */
static void
pack_leave(struct wire_enc *e, const struct msg *m)
{
	wire_put_uint(e, m->u.leave.incarnation, UINT32_MAX);
}

static void
unpack_leave(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.leave.incarnation = (uint32_t)wire_uint(d, &f[0], 0, UINT32_MAX);
}

/* GOSSIP: [want reply, outer] */
static void
pack_gossip(struct wire_enc *e, const struct msg *m)
{
	wire_put_bool(e, m->u.gossip.want_reply);
	put_outer(e, m->u.gossip.n_outer, m->u.gossip.outer);
}

static void
unpack_gossip(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.gossip.want_reply = wire_bool(d, &f[0]);
	get_outer(d, &f[1], &m->u.gossip.n_outer, &m->u.gossip.outer);
}

/* CHALLENGE: [addr, nonce] */
static void
pack_challenge(struct wire_enc *e, const struct msg *m)
{
	put_addr(e, m->u.challenge.addr);
	wire_put_bin(e, m->u.challenge.nonce, MSG_NONCE_LEN);
}

static void
unpack_challenge(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.challenge.addr = get_addr(d, &f[0]);
	wire_bin(d, &f[1], m->u.challenge.nonce, MSG_NONCE_LEN);
}

/* CHALLENGE_REPLY: [nonce] */
static void
pack_challenge_reply(struct wire_enc *e, const struct msg *m)
{
	wire_put_bin(e, m->u.challenge_reply.nonce, MSG_NONCE_LEN);
}

static void
unpack_challenge_reply(
    struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	wire_bin(d, &f[0], m->u.challenge_reply.nonce, MSG_NONCE_LEN);
}

/* PROBE: [route] */
static void
pack_probe(struct wire_enc *e, const struct msg *m)
{
	put_route(e, &m->u.probe.route);
}

static void
unpack_probe(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	get_route(d, &f[0], &m->u.probe.route);
}

/* PROBE_REPLY: [responder addr, hops taken] */
static void
pack_probe_reply(struct wire_enc *e, const struct msg *m)
{
	put_addr(e, m->u.probe_reply.responder);
	wire_put_uint(e, m->u.probe_reply.hops, UINT32_MAX);
}

static void
unpack_probe_reply(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.probe_reply.responder = get_addr(d, &f[0]);
	m->u.probe_reply.hops = (uint32_t)wire_uint(d, &f[1], 0, UINT32_MAX);
}

/* REGISTER: [route, record, ep] */
static void
pack_register(struct wire_enc *e, const struct msg *m)
{
	put_route(e, &m->u.reg.route);
	put_record(e, m->u.reg.rec);
	put_ep(e, &m->u.reg.ep);
}

static void
unpack_register(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	get_route(d, &f[0], &m->u.reg.route);
	get_record(d, &f[1], &m->u.reg.rec);
	get_ep(d, &f[2], &m->u.reg.ep);
}

/* REGISTER_REPLY: [status, queue position, remaining life, held record
 * or nil] */
static void
pack_register_reply(struct wire_enc *e, const struct msg *m)
{
	put_status(e, m->u.reg_reply.status);
	wire_put_uint(e, m->u.reg_reply.queue_pos, UINT32_MAX);
	wire_put_uint(e, m->u.reg_reply.life, UINT32_MAX);
	if (m->u.reg_reply.held == NULL)
		wire_put_nil(e);
	else
		put_record(e, m->u.reg_reply.held);
}

static void
unpack_register_reply(
    struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.reg_reply.status = get_status(d, &f[0]);
	m->u.reg_reply.queue_pos = (uint32_t)wire_uint(d, &f[1], 0, UINT32_MAX);
	m->u.reg_reply.life = (uint32_t)wire_uint(d, &f[2], 0, UINT32_MAX);
	if (f[3].type != MSGPACK_OBJECT_NIL)
		get_record(d, &f[3], &m->u.reg_reply.held);
}

/* COUNTER_CHECK: [route, op, record] */
static void
pack_counter_check(struct wire_enc *e, const struct msg *m)
{
	put_route(e, &m->u.counter_check.route);
	wire_put_uint(e, m->u.counter_check.op, MSG_OP_REMOVE);
	put_record(e, m->u.counter_check.rec);
}

static void
unpack_counter_check(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	get_route(d, &f[0], &m->u.counter_check.route);
	m->u.counter_check.op = (uint8_t)wire_uint(d, &f[1], 0, MSG_OP_REMOVE);
	get_record(d, &f[2], &m->u.counter_check.rec);
}

/* COUNTER_REPLY, REPLICATE_ACK, HANDOVER_ACK: [status, count] */
static void
pack_status_count(struct wire_enc *e, const struct msg *m)
{
	put_status(e, m->u.status_count.status);
	wire_put_uint(e, m->u.status_count.count, UINT32_MAX);
}

static void
unpack_status_count(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.status_count.status = get_status(d, &f[0]);
	m->u.status_count.count = (uint32_t)wire_uint(d, &f[1], 0, UINT32_MAX);
}

/* REPLICATE: [items] */
static void
pack_replicate(struct wire_enc *e, const struct msg *m)
{
	put_items(e, &m->u.replicate);
}

static void
unpack_replicate(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	get_items(d, &f[0], &m->u.replicate);
}

/* SYNC_SUMMARY: [kind, buckets] */
static void
pack_sync_summary(struct wire_enc *e, const struct msg *m)
{
	put_kind(e, m->u.sync_summary.kind);
	wire_put_array(e, MSG_BUCKETS, MSG_BUCKETS, MSG_BUCKETS);
	for (size_t i = 0; i < MSG_BUCKETS; i++)
		wire_put_bin(e, m->u.sync_summary.buckets[i], MSG_HASH8_LEN);
}

static void
unpack_sync_summary(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	const msgpack_object *el;

	m->u.sync_summary.kind = get_kind(d, &f[0]);
	uint32_t n = wire_list(d, &f[1], MSG_BUCKETS, MSG_BUCKETS, &el);
	for (size_t i = 0; i < n; i++)
		wire_bin(
		    d, &el[i], m->u.sync_summary.buckets[i], MSG_HASH8_LEN);
}

/* SYNC_IDS: [kind, bucket, ids] */
static void
pack_sync_ids(struct wire_enc *e, const struct msg *m)
{
	put_kind(e, m->u.sync_ids.kind);
	wire_put_uint(e, m->u.sync_ids.bucket, MSG_BUCKETS - 1);
	wire_put_array(e, m->u.sync_ids.n_ids, 0, MSG_IDS_MAX);
	for (size_t i = 0; e->err == 0 && i < m->u.sync_ids.n_ids; i++) {
		wire_put_array(e, 2, 2, 2);
		wire_put_bin(e, m->u.sync_ids.ids[i].hash, MSG_HASH8_LEN);
		wire_put_uint(e, m->u.sync_ids.ids[i].seq, UINT64_MAX);
	}
}

static void
unpack_sync_ids(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	const msgpack_object *el;

	m->u.sync_ids.kind = get_kind(d, &f[0]);
	m->u.sync_ids.bucket = (uint8_t)wire_uint(d, &f[1], 0, MSG_BUCKETS - 1);
	uint32_t n = wire_list(d, &f[2], 0, MSG_IDS_MAX, &el);
	struct msg_id *v = get_alloc(d, n, sizeof(*v));
	m->u.sync_ids.ids = v;
	m->u.sync_ids.n_ids = v == NULL ? 0 : (uint16_t)n;
	for (size_t i = 0; i < m->u.sync_ids.n_ids; i++) {
		const msgpack_object *g = wire_tuple(d, &el[i], 2);
		wire_bin(d, &g[0], v[i].hash, MSG_HASH8_LEN);
		v[i].seq = wire_uint(d, &g[1], 0, UINT64_MAX);
	}
}

/* SYNC_FETCH: [kind, hashes] */
static void
pack_sync_fetch(struct wire_enc *e, const struct msg *m)
{
	put_kind(e, m->u.sync_fetch.kind);
	wire_put_array(e, m->u.sync_fetch.n_hashes, 0, MSG_IDS_MAX);
	for (size_t i = 0; e->err == 0 && i < m->u.sync_fetch.n_hashes; i++)
		wire_put_bin(e, m->u.sync_fetch.hashes[i], MSG_HASH8_LEN);
}

static void
unpack_sync_fetch(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	const msgpack_object *el;

	m->u.sync_fetch.kind = get_kind(d, &f[0]);
	uint32_t n = wire_list(d, &f[1], 0, MSG_IDS_MAX, &el);
	m->u.sync_fetch.hashes = get_alloc(d, n, MSG_HASH8_LEN);
	m->u.sync_fetch.n_hashes =
	    m->u.sync_fetch.hashes == NULL ? 0 : (uint16_t)n;
	for (size_t i = 0; i < m->u.sync_fetch.n_hashes; i++)
		wire_bin(d, &el[i], m->u.sync_fetch.hashes[i], MSG_HASH8_LEN);
}

/* SYNC_PAGE_REQ: [kind, cursor, max items] */
static void
pack_sync_page_req(struct wire_enc *e, const struct msg *m)
{
	put_kind(e, m->u.sync_page_req.kind);
	put_cursor(e, &m->u.sync_page_req.cursor, false);
	wire_put_uint(e, m->u.sync_page_req.max_items, MSG_ITEMS_MAX);
	if (m->u.sync_page_req.max_items == 0)
		wire_enc_fail(e, ANDNA_EINVAL);
}

static void
unpack_sync_page_req(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.sync_page_req.kind = get_kind(d, &f[0]);
	get_cursor(d, &f[1], &m->u.sync_page_req.cursor, false);
	m->u.sync_page_req.max_items =
	    (uint8_t)wire_uint(d, &f[2], 1, MSG_ITEMS_MAX);
}

/* SYNC_PAGE: [kind, items, next cursor] */
static void
pack_sync_page(struct wire_enc *e, const struct msg *m)
{
	put_kind(e, m->u.sync_page.kind);
	put_items(e, &m->u.sync_page.items);
	put_cursor(e, &m->u.sync_page.next, true);
}

static void
unpack_sync_page(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.sync_page.kind = get_kind(d, &f[0]);
	get_items(d, &f[1], &m->u.sync_page.items);
	get_cursor(d, &f[2], &m->u.sync_page.next, true);
}

/* HANDOVER: [route, items] */
static void
pack_handover(struct wire_enc *e, const struct msg *m)
{
	put_route(e, &m->u.handover.route);
	put_items(e, &m->u.handover.items);
}

static void
unpack_handover(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	get_route(d, &f[0], &m->u.handover.route);
	get_items(d, &f[1], &m->u.handover.items);
}

/* RESOLVE: [route, name] */
static void
pack_resolve(struct wire_enc *e, const struct msg *m)
{
	put_route(e, &m->u.resolve.route);
	wire_put_name(e, m->u.resolve.name);
}

static void
unpack_resolve(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	get_route(d, &f[0], &m->u.resolve.route);
	wire_name(d, &f[1], m->u.resolve.name, ANDNA_EDEC_VALUE);
}

/* CACHE_READ: [name] */
static void
pack_cache_read(struct wire_enc *e, const struct msg *m)
{
	wire_put_name(e, m->u.cache_read.name);
}

static void
unpack_cache_read(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	wire_name(d, &f[0], m->u.cache_read.name, ANDNA_EDEC_VALUE);
}

/* RESOLVE_REPLY: [status, record or nil, age, remaining life, hops] */
static void
pack_resolve_reply(struct wire_enc *e, const struct msg *m)
{
	put_status(e, m->u.resolve_reply.status);
	if (m->u.resolve_reply.rec == NULL)
		wire_put_nil(e);
	else
		put_record(e, m->u.resolve_reply.rec);
	wire_put_uint(e, m->u.resolve_reply.age, UINT32_MAX);
	wire_put_uint(e, m->u.resolve_reply.life, UINT32_MAX);
	wire_put_uint(e, m->u.resolve_reply.hops, UINT32_MAX);
}

static void
unpack_resolve_reply(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	m->u.resolve_reply.status = get_status(d, &f[0]);
	if (f[1].type != MSGPACK_OBJECT_NIL)
		get_record(d, &f[1], &m->u.resolve_reply.rec);
	m->u.resolve_reply.age = (uint32_t)wire_uint(d, &f[2], 0, UINT32_MAX);
	m->u.resolve_reply.life = (uint32_t)wire_uint(d, &f[3], 0, UINT32_MAX);
	m->u.resolve_reply.hops = (uint32_t)wire_uint(d, &f[4], 0, UINT32_MAX);
}

/* REVERSE_REPLY: [records] */
static void
pack_reverse_reply(struct wire_enc *e, const struct msg *m)
{
	wire_put_array(e, m->u.reverse_reply.n_records, 0, MSG_RECORDS_MAX);
	for (size_t i = 0; e->err == 0 && i < m->u.reverse_reply.n_records; i++)
		put_record(e, m->u.reverse_reply.records[i]);
}

static void
unpack_reverse_reply(struct wire_dec *d, const msgpack_object *f, struct msg *m)
{
	const msgpack_object *el;
	uint32_t n = wire_list(d, &f[0], 0, MSG_RECORDS_MAX, &el);

	m->u.reverse_reply.records = get_alloc(d, n, sizeof(struct record *));
	m->u.reverse_reply.n_records =
	    m->u.reverse_reply.records == NULL ? 0 : (uint8_t)n;
	for (size_t i = 0; i < m->u.reverse_reply.n_records; i++)
		get_record(d, &el[i], &m->u.reverse_reply.records[i]);
}

/* What the codec knows of each type: its name, body length and layout. */
struct msg_body {
	uint8_t type;
	uint8_t arity;
	const char *name;
	void (*pack)(struct wire_enc *e, const struct msg *m);
	void (*unpack)(
	    struct wire_dec *d, const msgpack_object *f, struct msg *m);
};

static const struct msg_body msg_bodies[] = {
    {MSG_PING, 1, "PING", pack_updates, unpack_updates},
    {MSG_ACK, 1, "ACK", pack_updates, unpack_updates},
    {MSG_PING_REQ, 3, "PING_REQ", pack_ping_req, unpack_ping_req},
    {MSG_DISCOVER, 1, "DISCOVER", pack_discover, unpack_discover},
    {MSG_HOOK_REQ, 3, "HOOK_REQ", pack_hook_req, unpack_hook_req},
    {MSG_HOOK_OFFER, 6, "HOOK_OFFER", pack_hook_offer, unpack_hook_offer},
    {MSG_JOIN, 2, "JOIN", pack_join, unpack_join},
    {MSG_MAP_FULL, 3, "MAP_FULL", pack_map_full, unpack_map_full},
    {MSG_LEAVE, 1, "LEAVE", pack_leave, unpack_leave},
    {MSG_GOSSIP, 2, "GOSSIP", pack_gossip, unpack_gossip},
    {MSG_CHALLENGE, 2, "CHALLENGE", pack_challenge, unpack_challenge},
    {MSG_CHALLENGE_REPLY, 1, "CHALLENGE_REPLY", pack_challenge_reply,
	unpack_challenge_reply},
    {MSG_ROUTE_ACK, 0, "ROUTE_ACK", NULL, NULL},
    {MSG_PROBE, 1, "PROBE", pack_probe, unpack_probe},
    {MSG_PROBE_REPLY, 2, "PROBE_REPLY", pack_probe_reply, unpack_probe_reply},
    {MSG_REGISTER, 3, "REGISTER", pack_register, unpack_register},
    {MSG_REGISTER_REPLY, 4, "REGISTER_REPLY", pack_register_reply,
	unpack_register_reply},
    {MSG_COUNTER_CHECK, 3, "COUNTER_CHECK", pack_counter_check,
	unpack_counter_check},
    {MSG_COUNTER_REPLY, 2, "COUNTER_REPLY", pack_status_count,
	unpack_status_count},
    {MSG_REPLICATE, 1, "REPLICATE", pack_replicate, unpack_replicate},
    {MSG_REPLICATE_ACK, 2, "REPLICATE_ACK", pack_status_count,
	unpack_status_count},
    {MSG_SYNC_SUMMARY, 2, "SYNC_SUMMARY", pack_sync_summary,
	unpack_sync_summary},
    {MSG_SYNC_IDS, 3, "SYNC_IDS", pack_sync_ids, unpack_sync_ids},
    {MSG_SYNC_FETCH, 2, "SYNC_FETCH", pack_sync_fetch, unpack_sync_fetch},
    {MSG_SYNC_PAGE_REQ, 3, "SYNC_PAGE_REQ", pack_sync_page_req,
	unpack_sync_page_req},
    {MSG_SYNC_PAGE, 3, "SYNC_PAGE", pack_sync_page, unpack_sync_page},
    {MSG_HANDOVER, 2, "HANDOVER", pack_handover, unpack_handover},
    {MSG_HANDOVER_ACK, 2, "HANDOVER_ACK", pack_status_count,
	unpack_status_count},
    {MSG_RESOLVE, 2, "RESOLVE", pack_resolve, unpack_resolve},
    {MSG_CACHE_READ, 1, "CACHE_READ", pack_cache_read, unpack_cache_read},
    {MSG_RESOLVE_REPLY, 5, "RESOLVE_REPLY", pack_resolve_reply,
	unpack_resolve_reply},
    {MSG_REVERSE, 0, "REVERSE", NULL, NULL},
    {MSG_REVERSE_REPLY, 1, "REVERSE_REPLY", pack_reverse_reply,
	unpack_reverse_reply},
};

/* Finds the codec entry of a type, or NULL. */
static const struct msg_body *
msg_body_of(uint64_t type)
{
	for (size_t i = 0; i < sizeof(msg_bodies) / sizeof(msg_bodies[0]); i++)
		if (msg_bodies[i].type == type)
			return &msg_bodies[i];
	return NULL;
}

struct msg_route *
msg_route_of(const struct msg *m)
{
	struct msg *w = (struct msg *)m;

	switch (m->type) {
	case MSG_PROBE:
		return &w->u.probe.route;
	case MSG_REGISTER:
		return &w->u.reg.route;
	case MSG_COUNTER_CHECK:
		return &w->u.counter_check.route;
	case MSG_HANDOVER:
		return &w->u.handover.route;
	case MSG_RESOLVE:
		return &w->u.resolve.route;
	default:
		return NULL;
	}
}

/* Names a type for logs. */
const char *
msg_type_name(unsigned type)
{
	const struct msg_body *b = msg_body_of(type);

	return b == NULL ? "UNKNOWN" : b->name;
}

/* Zeroes a message. */
void
msg_init(struct msg *m)
{
	memset(m, 0, sizeof(*m));
}

/* Frees an array of items and their records. */
static void
msg_items_free(struct msg_items *it)
{
	for (size_t i = 0; i < it->n; i++)
		record_free(it->v[i].rec);
	free(it->v);
}

/* Frees what the body owns. */
void
msg_free(struct msg *m)
{
	switch (m->type) {
	case MSG_MAP_FULL:
		free(m->u.map_full.members);
		free(m->u.map_full.outer);
		break;
	case MSG_GOSSIP:
		free(m->u.gossip.outer);
		break;
	case MSG_REGISTER:
		record_free(m->u.reg.rec);
		break;
	case MSG_REGISTER_REPLY:
		record_free(m->u.reg_reply.held);
		break;
	case MSG_COUNTER_CHECK:
		record_free(m->u.counter_check.rec);
		break;
	case MSG_REPLICATE:
		msg_items_free(&m->u.replicate);
		break;
	case MSG_SYNC_IDS:
		free(m->u.sync_ids.ids);
		break;
	case MSG_SYNC_FETCH:
		free(m->u.sync_fetch.hashes);
		break;
	case MSG_SYNC_PAGE:
		msg_items_free(&m->u.sync_page.items);
		break;
	case MSG_HANDOVER:
		msg_items_free(&m->u.handover.items);
		break;
	case MSG_RESOLVE_REPLY:
		record_free(m->u.resolve_reply.rec);
		break;
	case MSG_REVERSE_REPLY:
		for (size_t i = 0; i < m->u.reverse_reply.n_records; i++)
			record_free(m->u.reverse_reply.records[i]);
		free(m->u.reverse_reply.records);
		break;
	}
	msg_init(m);
}

/* Encodes and signs a message. */
int
msg_encode(const struct msg *m, const struct keypair *node_key, uint8_t *buf,
    size_t cap, size_t *out_len)
{
	return msg_encode_sealed(m, MSG_SEAL_SIGNED, node_key, buf, cap,
	    out_len);
}

int
msg_encode_sealed(const struct msg *m, enum msg_seal seal,
    const struct keypair *node_key, uint8_t *buf, size_t cap,
    size_t *out_len)
{
	const struct msg_body *b = msg_body_of(m->type);
	msgpack_packer pk;
	struct wire_buf wb;
	struct wire_enc e = {.pk = &pk};

	*out_len = 0;
	if (b == NULL)
		return ANDNA_EINVAL;
	if (cap > MSG_STREAM_MAX)
		cap = MSG_STREAM_MAX;
	if (cap < MSG_SIG_TRAILER)
		return ANDNA_EENC_TOO_BIG;
	wire_buf_init(&wb, &pk, buf, cap - MSG_SIG_TRAILER);
	wire_put_array(&e, 8, 8, 8);
	wire_put_uint(&e, MSG_VERSION, MSG_VERSION);
	wire_put_uint(&e, m->type, UINT8_MAX);
	wire_put_uint(&e, m->id, UINT64_MAX);
	wire_put_uint(&e, m->hops, MSG_HOPS_MAX);
	if (m->has_src)
		put_addr(&e, m->src);
	else
		wire_put_nil(&e);
	wire_put_bin(&e, node_key->pk, ANDNA_PK_LEN);
	wire_put_array(&e, b->arity, b->arity, b->arity);
	if (b->pack != NULL)
		b->pack(&e, m);
	if (e.err != 0)
		return e.err;
	buf[wb.len] = 0xc4; /* bin 8 */
	buf[wb.len + 1] = ANDNA_SIG_LEN;
	if (seal == MSG_SEAL_SIGNED)
		sig_sign(buf + wb.len + 2, buf, wb.len, node_key->sk);
	else
		sig_digest(buf + wb.len + 2, buf, wb.len, node_key->pk);
	*out_len = wb.len + MSG_SIG_TRAILER;
	return 0;
}

/* Checks the seal that ends the `len` bytes at `buf`: 0 or ANDNA_ESIG. */
static int
seal_check(enum msg_seal seal, const uint8_t *buf, size_t len,
    const uint8_t pk[ANDNA_PK_LEN])
{
	const uint8_t *sig = buf + len - ANDNA_SIG_LEN;
	uint8_t want[ANDNA_SIG_LEN];

	if (seal == MSG_SEAL_SIGNED)
		return sig_verify(sig, buf, len - MSG_SIG_TRAILER, pk);
	sig_digest(want, buf, len - MSG_SIG_TRAILER, pk);
	return memcmp(want, sig, ANDNA_SIG_LEN) == 0 ? 0 : ANDNA_ESIG;
}

/* Checks the envelope of an unpacked message and reads it into `m`. */
static int
msg_unpack(enum msg_seal seal, const msgpack_object *o, const uint8_t *buf,
    size_t len, struct msg *m)
{
	struct wire_dec d = {0};
	const msgpack_object *f = wire_tuple(&d, o, 8);
	const struct msg_body *b = NULL;

	if (wire_uint(&d, &f[0], 0, UINT64_MAX) != MSG_VERSION)
		wire_dec_fail(&d, ANDNA_EDEC_VERSION);
	uint64_t type = wire_uint(&d, &f[1], 0, UINT64_MAX);
	if (d.err == 0 && (b = msg_body_of(type)) == NULL)
		wire_dec_fail(&d, ANDNA_EDEC_UNKNOWN);
	if (d.err != 0)
		return d.err;
	m->type = b->type;
	m->id = wire_uint(&d, &f[2], 0, UINT64_MAX);
	m->hops = (uint8_t)wire_uint(&d, &f[3], 0, MSG_HOPS_MAX);
	m->has_src = f[4].type != MSGPACK_OBJECT_NIL;
	if (m->has_src)
		m->src = get_addr(&d, &f[4]);
	wire_bin(&d, &f[5], m->key, ANDNA_PK_LEN);
	const msgpack_object *body = wire_tuple(&d, &f[6], b->arity);
	if (b->unpack != NULL)
		b->unpack(&d, body, m);
	/* The signature must be the bin 8 that ends the message. */
	if (f[7].type != MSGPACK_OBJECT_BIN)
		wire_dec_fail(&d, ANDNA_EDEC_TYPE);
	else if (f[7].via.bin.size != ANDNA_SIG_LEN ||
	    buf[len - MSG_SIG_TRAILER] != 0xc4 ||
	    buf[len - MSG_SIG_TRAILER + 1] != ANDNA_SIG_LEN)
		wire_dec_fail(&d, ANDNA_EDEC_VALUE);
	if (d.err == 0 && seal_check(seal, buf, len, m->key) != 0)
		wire_dec_fail(&d, ANDNA_EDEC_SIG);
	return d.err;
}

int
msg_peek_type(const uint8_t *buf, size_t len, uint8_t *type)
{
	/* fixarray of 8, our version and a type as positive fixints */
	if (len < 3 || buf[0] != 0x98 || buf[1] != MSG_VERSION || buf[2] > 0x7f)
		return ANDNA_EDEC_TYPE;
	*type = buf[2];
	return 0;
}

int
msg_peek_id(const uint8_t *buf, size_t len, uint64_t *id)
{
	size_t n;
	uint8_t type;

	/* the header, then the id: a positive fixint or a uint of 1, 2, 4 or
	 * 8 bytes */
	if (msg_peek_type(buf, len, &type) != 0 || len < 4)
		return ANDNA_EDEC_TYPE;
	if (buf[3] <= 0x7f) {
		*id = buf[3];
		return 0;
	}
	if (buf[3] < 0xcc || buf[3] > 0xcf)
		return ANDNA_EDEC_TYPE;
	n = (size_t)1 << (buf[3] - 0xcc);
	if (len < 4 + n)
		return ANDNA_EDEC_TYPE;
	*id = 0;
	for (size_t i = 0; i < n; i++)
		*id = *id << 8 | buf[4 + i];
	return 0;
}

/* Decodes and checks one message. */
int
msg_decode(const uint8_t *buf, size_t len, struct msg *out)
{
	return msg_decode_sealed(MSG_SEAL_SIGNED, buf, len, out);
}

int
msg_decode_sealed(enum msg_seal seal, const uint8_t *buf, size_t len,
    struct msg *out)
{
	msgpack_unpacked u;

	msg_init(out);
	if (len > MSG_STREAM_MAX)
		return ANDNA_EDEC_TOO_BIG;
	msgpack_unpacked_init(&u);
	int r = wire_unpack(&u, buf, len);
	if (r == 0)
		r = msg_unpack(seal, &u.data, buf, len, out);
	msgpack_unpacked_destroy(&u);
	if (r != 0)
		msg_free(out);
	return r;
}
