/* Overlay upkeep of one engine: which outer-map entries go in a gossip
 * datagram, whole or as refreshes, and what a receiver takes from them
 * (node/engine/gossip.c); the news of full gnodes a joiner brings (node/engine/hook.c);
 * how a member answers pings while it joins and refutes a suspicion
 * (node/engine/swim.c), keeps the place of one declared dead a moment ago,
 * and settles two nodes at one address in a gnode founded twice.  The engine founds an overlay alone; its maps are then
 * filled by hand, as large as gnodes of 32 and of 256 make them. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "node/engine/engine_int.h"

#define NOW 1000000

static uint64_t rng = 0x2545f4914f6cdd1dull;

static void
random_cb(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		((uint8_t *)buf)[i] = (uint8_t)rng;
	}
}

/* What the engine sent, decoded. */
static struct {
	struct endpoint to;
	struct msg m;
} sent[64];
static int n_sent;

static void
send_cb(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (n_sent < 64 && msg_decode(buf, len, &sent[n_sent].m) == 0)
		sent[n_sent++].to = *to;
}

static void
sent_clear(void)
{
	for (int i = 0; i < n_sent; i++)
		msg_free(&sent[i].m);
	n_sent = 0;
}

/* A hooked engine alone in its overlay. */
static struct engine *
lone_engine(void)
{
	struct engine_config cfg;
	struct keypair kp;
	uint8_t seed[32] = {7};
	struct endpoint ep = {.family = 4, .ip = {127, 0, 0, 9}, .port = 1};
	struct engine_io io = {.send_cb = send_cb, .random_cb = random_cb};

	engine_config_defaults(&cfg);
	keypair_from_seed(&kp, seed);
	struct engine *e = engine_new(&cfg, &io, &kp, &ep, 1, NOW);
	assert_non_null(e);
	engine_bootstrap(e, NULL, 0, NOW);
	engine_tick(e, NOW);
	assert_true(engine_hooked(e));
	sent_clear();
	return e;
}

/* The CHALLENGE the engine sent to prove `addr`, or NULL. */
static const struct msg *
challenge_sent(ovl_addr_t addr)
{
	for (int i = 0; i < n_sent; i++)
		if (sent[i].m.type == MSG_CHALLENGE &&
		    sent[i].m.u.challenge.addr == addr)
			return &sent[i].m;
	return NULL;
}

/* Answers the challenge `ch` as the node at `src` (with a wrong nonce
 * when `bad_nonce`), from the endpoint it was sent to. */
static void
answer_challenge(struct engine *e, const struct msg *ch, ovl_addr_t src,
    bool bad_nonce, uint64_t now)
{
	struct keypair kp;
	uint8_t seed[32] = {31}, buf[MSG_DGRAM_MAX];
	struct msg r;
	size_t len;

	const struct endpoint *to = NULL;
	for (int i = 0; i < n_sent; i++)
		if (&sent[i].m == ch)
			to = &sent[i].to;
	assert_non_null(to);
	keypair_from_seed(&kp, seed);
	msg_init(&r);
	r.type = MSG_CHALLENGE_REPLY;
	r.id = ch->id;
	r.has_src = true;
	r.src = src;
	memcpy(r.u.challenge_reply.nonce, ch->u.challenge.nonce, MSG_NONCE_LEN);
	r.u.challenge_reply.nonce[0] ^= bad_nonce;
	assert_int_equal(msg_encode(&r, &kp, buf, sizeof(buf), &len), 0);
	engine_input(e, to, buf, len, now);
}

/* Adds `per_level` sibling gnodes at each level, each with 3 contacts
 * inside it; the entry learned last is the one added last. */
static void
fill_outer(struct engine *e, int per_level)
{
	for (int level = 1; level < ANDNA_LEVELS; level++) {
		int added = 0;
		for (int id = 0; id < 256 && added < per_level; id++) {
			if (id == ovl_id(e->addr, level))
				continue;
			struct outer_entry *x = outer_get(&e->outer, level,
			    (uint8_t)id);
			assert_non_null(x);
			x->children = (uint16_t)(1 + id % 31);
			x->heard_at = NOW - 5000;
			x->learned_at = NOW - 100000 + (uint64_t)(level * 256 + id);
			for (int c = 0; c < 3; c++) {
				struct contact ct;
				memset(&ct, 0, sizeof(ct));
				ct.addr = ovl_prefix(e->addr, level + 1) |
				    (ovl_addr_t)id << (8 * level) |
				    (ovl_addr_t)(c + 1);
				ct.ep.family = 4;
				ct.ep.ip[0] = 10;
				ct.ep.ip[3] = (uint8_t)c;
				ct.ep.port = 4000;
				outer_add_contact(x, &ct);
			}
			added++;
		}
	}
}

/* Where entry (level, id) is in out[0..n), or -1. */
static int
find_out(const struct msg_outer *out, int n, int level, int id)
{
	for (int i = 0; i < n; i++)
		if (out[i].level == level && out[i].id == id)
			return i;
	return -1;
}

static size_t
out_len(const struct msg_outer *out, int n)
{
	size_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += msg_outer_len(&out[i]);
	return sum;
}

#define ROOM (MSG_DGRAM_MAX - MSG_GOSSIP_HEAD)
#define OUT_MAX (ROOM / 6)

/* Gnodes of 32: 31 siblings at each of three levels, 93 entries, which
 * whole would take four datagrams.  One datagram names every one. */
static void
test_one_datagram_refreshes_all(void **state)
{
	(void)state;
	struct engine *e = lone_engine();
	struct msg_outer out[OUT_MAX];

	fill_outer(e, 31);
	int n = gossip_entries_for(e, e->addr, out, OUT_MAX, ROOM, NULL, 0,
	    NOW);
	assert_true(out_len(out, n) <= ROOM);
	assert_int_equal(n, 3 + 93);
	/* our own gnodes first, fresh, with us as the first contact */
	for (int level = 1; level < ANDNA_LEVELS; level++) {
		assert_int_equal(out[level - 1].level, level);
		assert_int_equal(out[level - 1].id, ovl_id(e->addr, level));
		assert_int_equal(out[level - 1].age, 0);
		assert_int_equal(out[level - 1].contacts[0].addr, e->addr);
	}
	int whole = 0;
	for (int level = 1; level < ANDNA_LEVELS; level++)
		for (int i = 0; i < e->outer.n[level]; i++) {
			const struct outer_entry *x = &e->outer.e[level][i];
			int k = find_out(out, n, level, x->id);
			assert_true(k >= 3);
			assert_int_equal(out[k].children, x->children);
			assert_int_equal(out[k].age, 5 + 1);
			whole += out[k].n_contacts > 0;
		}
	/* three newest plus three in turn */
	assert_int_equal(whole, 6);
	const struct outer_entry *newest = &e->outer.e[3][e->outer.n[3] - 1];
	assert_int_equal(out[find_out(out, n, 3, newest->id)].n_contacts, 3);
	engine_free(e);
}

/* An answer carries whole every entry the request did not name. */
static void
test_answer_fills_gaps(void **state)
{
	(void)state;
	struct engine *e = lone_engine();
	struct msg_outer asked[OUT_MAX], out[OUT_MAX];

	fill_outer(e, 31);
	int n_asked = gossip_entries_for(e, e->addr, asked, OUT_MAX, ROOM,
	    NULL, 0, NOW);
	/* the asker lacks the first ten entries of level 1 */
	int lacked[10];
	for (int i = 0; i < 10; i++) {
		lacked[i] = e->outer.e[1][i].id;
		int k = find_out(asked, n_asked, 1, lacked[i]);
		assert_true(k >= 0);
		asked[k] = asked[--n_asked];
	}
	int n = gossip_entries_for(e, e->addr, out, OUT_MAX, ROOM, asked,
	    n_asked, NOW);
	assert_true(out_len(out, n) <= ROOM);
	for (int i = 0; i < 10; i++) {
		int k = find_out(out, n, 1, lacked[i]);
		assert_true(k >= 0);
		assert_int_equal(out[k].n_contacts, 3);
	}
	engine_free(e);
}

/* Gnodes of 256: 765 entries do not fit one datagram; they go in turn,
 * and a few exchanges name every one. */
static void
test_large_map_in_turn(void **state)
{
	(void)state;
	struct engine *e = lone_engine();
	struct msg_outer out[OUT_MAX];
	static bool seen[ANDNA_LEVELS][256];
	int exchanges = 0, left = 3 * 255;

	fill_outer(e, 255);
	memset(seen, 0, sizeof(seen));
	while (left > 0) {
		assert_true(++exchanges <= 10);
		int n = gossip_entries_for(e, e->addr, out, OUT_MAX, ROOM,
		    NULL, 0, NOW);
		assert_true(out_len(out, n) <= ROOM);
		assert_true(n > 100);
		for (int i = 3; i < n; i++)
			if (!seen[out[i].level][out[i].id]) {
				seen[out[i].level][out[i].id] = true;
				left--;
			}
	}
	assert_true(exchanges >= 5);
	engine_free(e);
}

/* A refresh renews the age and child count of an entry we have, never
 * its contacts, and does not bring in a gnode we cannot reach. */
static void
test_merge_refresh(void **state)
{
	(void)state;
	struct engine *e = lone_engine();

	fill_outer(e, 2);
	struct outer_entry *x = &e->outer.e[1][0];
	uint8_t known = x->id, unknown = 200;
	assert_null(outer_find(&e->outer, 1, unknown));
	struct outer_entry before = *x;
	struct msg_outer in[2];
	memset(in, 0, sizeof(in));
	in[0] = (struct msg_outer){.level = 1, .id = known, .children = 9,
	    .age = 1};
	in[1] = (struct msg_outer){.level = 1, .id = unknown, .children = 4,
	    .age = 1};
	ovl_addr_t from = ovl_prefix(e->addr, 1) | 5;
	struct endpoint from_ep = {.family = 4, .ip = {127, 0, 0, 5}, .port = 1};
	gossip_merge(e, from, &from_ep, false, in, 2, NOW);
	x = outer_find(&e->outer, 1, known);
	assert_non_null(x);
	assert_int_equal(x->heard_at, NOW - 1000);
	assert_int_equal(x->children, 9);
	assert_int_equal(x->n_contacts, before.n_contacts);
	assert_memory_equal(x->contacts, before.contacts, sizeof(x->contacts));
	assert_int_equal(x->learned_at, before.learned_at);
	assert_null(outer_find(&e->outer, 1, unknown));

	/* older news changes nothing */
	in[0].age = 60;
	in[0].children = 1;
	gossip_merge(e, from, &from_ep, false, in, 1, NOW);
	assert_int_equal(x->heard_at, NOW - 1000);
	assert_int_equal(x->children, 9);

	/* whole, the unknown gnode is checked first: its contact is asked
	 * to prove it holds its address */
	in[1].n_contacts = 1;
	in[1].contacts[0].addr = ovl_prefix(e->addr, 2) |
	    (ovl_addr_t)unknown << 8 | 3;
	in[1].contacts[0].ep = (struct endpoint){.family = 4,
	    .ip = {127, 0, 0, 77}, .port = 5};
	gossip_merge(e, from, &from_ep, false, &in[1], 1, NOW);
	assert_null(outer_find(&e->outer, 1, unknown));
	const struct msg *ch = challenge_sent(in[1].contacts[0].addr);
	assert_non_null(ch);
	/* an answer from another address, or with another nonce, is none */
	answer_challenge(e, ch, in[1].contacts[0].addr + 1, false, NOW + 5);
	answer_challenge(e, ch, in[1].contacts[0].addr, true, NOW + 5);
	assert_null(outer_find(&e->outer, 1, unknown));
	answer_challenge(e, ch, in[1].contacts[0].addr, false, NOW + 5);
	x = outer_find(&e->outer, 1, unknown);
	assert_non_null(x);
	assert_int_equal(x->learned_at, NOW + 5);
	assert_int_equal(x->n_contacts, 1);
	assert_memory_equal(&x->contacts[0].ep, &in[1].contacts[0].ep,
	    sizeof(struct endpoint));
	sent_clear();
	engine_free(e);
}

/* Fake gnodes cost real addresses: one source has a few new gnodes
 * checked a minute, one underlay address vouches for one gnode, and a
 * JOIN from a node founding a gnode beside ours is checked like gossip. */
static void
test_gnode_checks(void **state)
{
	(void)state;
	struct engine *e = lone_engine();
	struct endpoint src = {.family = 4, .ip = {127, 0, 0, 66}, .port = 7};
	struct msg_outer in[40];

	memset(in, 0, sizeof(in));
	for (int i = 0; i < 40; i++) {
		in[i].level = 1;
		in[i].id = (uint8_t)(100 + i);
		in[i].children = 1000; /* more than a gnode holds */
		in[i].age = 1;
		in[i].n_contacts = 1;
		in[i].contacts[0].addr = ovl_prefix(e->addr, 2) |
		    (ovl_addr_t)in[i].id << 8 | 1;
		/* gnodes 100 and 101 share one address */
		in[i].contacts[0].ep = (struct endpoint){.family = 4,
		    .ip = {127, 1, 0, (uint8_t)(i < 2 ? 1 : i)}, .port = 5};
	}
	gossip_merge(e, ovl_prefix(e->addr, 2) | 99 << 8 | 1, &src, false, in,
	    40, NOW);
	int challenged = 0;
	for (int i = 0; i < 40; i++)
		challenged += challenge_sent(in[i].contacts[0].addr) != NULL;
	assert_int_equal(challenged, 16);
	/* both gnodes behind 127.1.0.1 answer: only the first gets in */
	answer_challenge(e, challenge_sent(in[0].contacts[0].addr),
	    in[0].contacts[0].addr, false, NOW + 10);
	answer_challenge(e, challenge_sent(in[1].contacts[0].addr),
	    in[1].contacts[0].addr, false, NOW + 10);
	struct outer_entry *x = outer_find(&e->outer, 1, in[0].id);
	assert_non_null(x);
	assert_int_equal(x->children, e->cfg.gnode_size);
	assert_null(outer_find(&e->outer, 1, in[1].id));
	/* an answer after the wait is none; the challenge goes again, and
	 * an answer to that one counts */
	uint64_t late = NOW + 10 + e->cfg.hop_timeout_ms;
	answer_challenge(e, challenge_sent(in[2].contacts[0].addr),
	    in[2].contacts[0].addr, false, late);
	assert_null(outer_find(&e->outer, 1, in[2].id));
	sent_clear();
	engine_tick(e, late);
	const struct msg *again = challenge_sent(in[2].contacts[0].addr);
	assert_non_null(again);
	answer_challenge(e, again, in[2].contacts[0].addr, false, late + 5);
	assert_non_null(outer_find(&e->outer, 1, in[2].id));
	/* ten seconds later, one more */
	gossip_merge(e, ovl_prefix(e->addr, 2) | 99 << 8 | 1, &src, false,
	    &in[20], 1, NOW + 10000);
	assert_non_null(challenge_sent(in[20].contacts[0].addr));
	gossip_merge(e, ovl_prefix(e->addr, 2) | 99 << 8 | 1, &src, false,
	    &in[21], 1, NOW + 10000);
	assert_null(challenge_sent(in[21].contacts[0].addr));

	sent_clear();

	/* a JOIN of a node founding gnode 150 beside ours */
	struct keypair kp;
	uint8_t seed[32] = {42}, buf[MSG_DGRAM_MAX];
	struct endpoint founder = {.family = 4, .ip = {127, 2, 0, 1}, .port = 3};
	struct msg m;
	size_t len;
	keypair_from_seed(&kp, seed);
	msg_init(&m);
	m.type = MSG_JOIN;
	m.id = 5;
	m.has_src = true;
	m.src = ovl_prefix(e->addr, 2) | 150 << 8;
	m.u.join.n_eps = 1;
	m.u.join.eps[0] = founder;
	assert_int_equal(msg_encode(&m, &kp, buf, sizeof(buf), &len), 0);
	engine_input(e, &founder, buf, len, NOW + 20000);
	assert_null(outer_find(&e->outer, 1, 150));
	const struct msg *ch = challenge_sent(m.src);
	assert_non_null(ch);
	answer_challenge(e, ch, m.src, false, NOW + 20010);
	assert_non_null(outer_find(&e->outer, 1, 150));
	sent_clear();
	engine_free(e);
}

/* A joiner's HOOK_REQ names gnodes that turned it away as full: siblings
 * inside our parents count as full until their next refresh; gnodes
 * outside them are not ours to judge. */
static void
test_joiner_names_full(void **state)
{
	(void)state;
	struct engine *e = lone_engine();
	struct keypair kp;
	uint8_t seed[32] = {99}, buf[MSG_DGRAM_MAX];
	struct endpoint from = {.family = 4, .ip = {127, 0, 0, 50}, .port = 9};
	struct msg m;
	size_t len;

	fill_outer(e, 4);
	struct outer_entry *l1 = &e->outer.e[1][0], *l2 = &e->outer.e[2][1];
	struct outer_entry *other = &e->outer.e[1][2];
	uint16_t other_children = other->children;
	uint64_t heard = l1->heard_at;
	assert_true(l1->children < 32 && l2->children < 32);
	keypair_from_seed(&kp, seed);
	msg_init(&m);
	m.type = MSG_HOOK_REQ;
	m.id = 77;
	m.u.hook_req.full[m.u.hook_req.n_full++] = ovl_prefix(e->addr, 2) |
	    (ovl_addr_t)l1->id << 8 | 1;
	m.u.hook_req.full[m.u.hook_req.n_full++] = ovl_prefix(e->addr, 3) |
	    (ovl_addr_t)l2->id << 16 | 2;
	/* a level-1 gnode under another level-2 parent */
	m.u.hook_req.full[m.u.hook_req.n_full++] =
	    (ovl_prefix(e->addr, 3) | (ovl_addr_t)l2->id << 16 |
	    (ovl_addr_t)other->id << 8) | 1;
	memcpy(m.u.hook_req.lowest.key, kp.pk, ANDNA_PK_LEN);
	assert_int_equal(msg_encode(&m, &kp, buf, sizeof(buf), &len), 0);
	engine_input(e, &from, buf, len, NOW + 10);

	assert_int_equal(l1->children, e->cfg.gnode_size);
	assert_int_equal(l2->children, e->cfg.gnode_size);
	assert_int_equal(other->children, other_children);
	assert_int_equal(l1->heard_at, heard);

	/* the gnode's own refresh brings its true size back */
	struct msg_outer in = {.level = 1, .id = l1->id, .children = 5,
	    .age = 1};
	gossip_merge(e, ovl_prefix(e->addr, 1) | 5, &from, false, &in, 1,
	    NOW + 10);
	assert_int_equal(l1->children, 5);
	engine_free(e);
}

/* Adds `n` live members to our gnode, at ids 1..n, endpoints
 * 10.0.0.id. */
static void
fill_inner(struct engine *e, int n)
{
	for (int id = 1; id <= n; id++) {
		struct member *mb = inner_get(&e->inner, (uint8_t)id);
		assert_non_null(mb);
		struct keypair kp;
		uint8_t seed[32];
		memset(seed, id, sizeof(seed));
		keypair_from_seed(&kp, seed); /* as ping_from() signs */
		memcpy(mb->pk, kp.pk, ANDNA_PK_LEN);
		mb->state = MEMBER_ALIVE;
		mb->n_eps = 1;
		mb->eps[0] = (struct endpoint){.family = 4,
		    .ip = {10, 0, 0, (uint8_t)id}, .port = 7};
	}
}

/* A SWIM message from the node with key seed `seed` at `src`, sent from
 * `from`, carrying `n` updates. */
static void
swim_from(struct engine *e, uint8_t type, uint8_t seed, ovl_addr_t src,
    const struct endpoint *from, const struct msg_update *u, int n)
{
	struct keypair kp;
	uint8_t sd[32], buf[MSG_DGRAM_MAX];
	struct msg m;
	size_t len;

	memset(sd, seed, sizeof(sd));
	keypair_from_seed(&kp, sd);
	msg_init(&m);
	m.type = type;
	m.id = 4242;
	m.has_src = true;
	m.src = src;
	for (int i = 0; i < n; i++)
		m.u.updates.v[m.u.updates.n++] = u[i];
	assert_int_equal(msg_encode(&m, &kp, buf, sizeof(buf), &len), 0);
	engine_input(e, from, buf, len, NOW + 20);
}

/* A PING from member `id` of our gnode carrying `u`, as the engine
 * would get it. */
static void
ping_from(struct engine *e, int id, const struct msg_update *u)
{
	struct endpoint from = {.family = 4, .ip = {10, 0, 0, (uint8_t)id},
	    .port = 7};

	swim_from(e, MSG_PING, (uint8_t)id, ovl_prefix(e->addr, 1) |
	    (ovl_addr_t)id, &from, u, u != NULL);
}

/* Suspected, a member refutes to every live member at once, not at the
 * pace of its news queue. */
static void
test_refute_to_all(void **state)
{
	(void)state;
	struct engine *e = lone_engine();

	fill_inner(e, 5);
	inner_find(&e->inner, 5)->state = MEMBER_DEAD;
	uint32_t inc = e->inc;
	struct msg_update u = {.state = MSG_STATE_SUSPECT, .addr = e->addr,
	    .incarnation = inc, .n_eps = 1};
	memcpy(u.key, e->key.pk, ANDNA_PK_LEN);
	u.eps[0] = e->eps[0];
	ping_from(e, 1, &u);
	assert_int_equal(e->inc, inc + 1);
	bool told[6] = {false};
	for (int i = 0; i < n_sent; i++) {
		const struct msg *m = &sent[i].m;
		if (m->type != MSG_PING)
			continue;
		assert_true(m->u.updates.n >= 1);
		assert_int_equal(m->u.updates.v[0].addr, e->addr);
		assert_int_equal(m->u.updates.v[0].state, MSG_STATE_ALIVE);
		assert_int_equal(m->u.updates.v[0].incarnation, inc + 1);
		told[sent[i].to.ip[3]] = true;
	}
	for (int id = 1; id <= 4; id++)
		assert_true(told[id]);
	assert_false(told[5]); /* not to the dead */
	sent_clear();

	/* older news of the same suspicion changes nothing more */
	ping_from(e, 2, &u);
	assert_int_equal(e->inc, inc + 1);
	for (int i = 0; i < n_sent; i++)
		assert_int_not_equal(sent[i].m.type, MSG_PING);
	sent_clear();
	engine_free(e);
}

/* While its maps are on the way, a node the gnode already counts answers
 * pings, so no member suspects it. */
static void
test_joining_answers_pings(void **state)
{
	(void)state;
	struct engine *e = lone_engine();

	fill_inner(e, 2);
	e->hook = HOOK_JOINING;
	ping_from(e, 2, NULL);
	int acks = 0;
	for (int i = 0; i < n_sent; i++)
		if (sent[i].m.type == MSG_ACK) {
			assert_int_equal(sent[i].m.id, 4242);
			assert_int_equal(sent[i].to.ip[3], 2);
			acks++;
		}
	assert_int_equal(acks, 1);
	sent_clear();
	e->hook = HOOK_DONE;
	engine_free(e);
}

/* The HOOK_OFFER the engine gives a joiner. */
static const struct msg *
offer_for_joiner(struct engine *e, uint64_t now)
{
	struct keypair kp;
	uint8_t seed[32] = {200}, buf[MSG_DGRAM_MAX];
	struct endpoint from = {.family = 4, .ip = {127, 0, 0, 60}, .port = 9};
	struct msg m;
	size_t len;

	sent_clear();
	keypair_from_seed(&kp, seed);
	msg_init(&m);
	m.type = MSG_HOOK_REQ;
	m.id = 5150;
	memcpy(m.u.hook_req.lowest.key, kp.pk, ANDNA_PK_LEN);
	assert_int_equal(msg_encode(&m, &kp, buf, sizeof(buf), &len), 0);
	engine_input(e, &from, buf, len, now);
	for (int i = 0; i < n_sent; i++)
		if (sent[i].m.type == MSG_HOOK_OFFER && sent[i].m.id == 5150)
			return &sent[i].m;
	fail_msg("no HOOK_OFFER");
	return NULL;
}

/* A member declared dead a moment ago may yet refute it: its place is
 * not given away until the suspicion timeout has passed again. */
static void
test_dead_keep_place(void **state)
{
	(void)state;
	struct engine *e = lone_engine();

	e->cfg.gnode_size = 16;
	fill_inner(e, 15);
	struct member *mb = inner_find(&e->inner, 15);
	mb->state = MEMBER_DEAD;
	mb->state_at = NOW;
	const struct msg *r = offer_for_joiner(e, NOW + 100);
	assert_int_equal(r->u.hook_offer.status, MSG_ST_OK);
	assert_int_not_equal(ovl_prefix(r->u.hook_offer.addr, 1),
	    ovl_prefix(e->addr, 1)); /* a new gnode beside ours */

	r = offer_for_joiner(e, NOW + e->cfg.suspect_ms);
	assert_int_equal(r->u.hook_offer.status, MSG_ST_OK);
	assert_int_equal(ovl_prefix(r->u.hook_offer.addr, 1),
	    ovl_prefix(e->addr, 1)); /* now the place is free */
	sent_clear();
	engine_free(e);
}

/* An update saying that the node with key seed `seed` is alive at `addr`
 * and endpoint `ep`. */
static struct msg_update
alive_update(uint8_t seed, ovl_addr_t addr, const struct endpoint *ep)
{
	struct keypair kp;
	uint8_t sd[32];
	struct msg_update u = {.state = MSG_STATE_ALIVE, .addr = addr,
	    .n_eps = 1};

	memset(sd, seed, sizeof(sd));
	keypair_from_seed(&kp, sd);
	memcpy(u.key, kp.pk, ANDNA_PK_LEN);
	u.eps[0] = *ep;
	return u;
}

/* A gnode founded twice holds two nodes at our address (us, and the
 * rival R) and two at member 4's (ours, and 4').  Members 5, 6 and 7 hold
 * R and 4'; we hold 4, who holds us.  Counting members alone, we have 4
 * of 7 and R (by the same count) 4 of 7: both would stay forever.  4' has
 * a vote too, once it has said itself that it holds R: the split is even
 * and the lower key keeps the address. */
static void
test_twice_founded(void **state)
{
	(void)state;
	struct engine *e = lone_engine();
	struct endpoint rival_ep = {.family = 4, .ip = {10, 0, 1, 4},
	    .port = 7};
	struct endpoint other_ep = {.family = 4, .ip = {10, 0, 2, 4},
	    .port = 7};
	ovl_addr_t four = ovl_prefix(e->addr, 1) | 4;
	uint8_t r_seed = 100;
	struct keypair kp;
	uint8_t sd[32];

	/* R's key is the lower, so that an even split goes to it */
	for (;; r_seed++) {
		memset(sd, r_seed, sizeof(sd));
		keypair_from_seed(&kp, sd);
		if (memcmp(kp.pk, e->key.pk, ANDNA_PK_LEN) < 0)
			break;
	}
	fill_inner(e, 7);
	struct msg_update r_at_us = alive_update(r_seed, e->addr, &rival_ep);
	struct msg_update four_b = alive_update(104, four, &rival_ep);
	for (int id = 5; id <= 7; id++)
		ping_from(e, id, &r_at_us);
	assert_int_equal(e->hook, HOOK_DONE); /* 3 of 7 is no majority */

	/* 4' answering unasked, from anywhere, has no vote */
	struct msg_update own4 = alive_update(104, four, &other_ep);
	struct msg_update votes[2] = {own4, r_at_us};
	swim_from(e, MSG_ACK, 104, four, &other_ep, votes, 2);
	assert_int_equal(e->hook, HOOK_DONE);

	/* member 5 names 4'; the next word of the conflict makes us ask it */
	ping_from(e, 5, &four_b);
	sent_clear();
	ping_from(e, 6, &r_at_us);
	bool asked = false;
	for (int i = 0; i < n_sent; i++)
		asked |= sent[i].m.type == MSG_PING &&
		    ep_equal(&sent[i].to, &rival_ep);
	assert_true(asked);
	assert_int_equal(e->hook, HOOK_DONE);

	/* 4' says it holds R at our address: 4 of 8, and R is the lower */
	sent_clear();
	own4 = alive_update(104, four, &rival_ep);
	votes[0] = own4;
	swim_from(e, MSG_ACK, 104, four, &rival_ep, votes, 2);
	assert_int_not_equal(e->hook, HOOK_DONE);
	int leaves = 0;
	for (int i = 0; i < n_sent; i++)
		leaves += sent[i].m.type == MSG_LEAVE;
	assert_int_equal(leaves, 7); /* those that held us let go at once */
	/* what this gnode said is no word in the next one */
	uint8_t none[256 / 8] = {0};
	assert_memory_equal(e->conflict_from, none, sizeof(none));
	for (int i = 0; i < SWIM_RIVALS; i++)
		assert_int_equal(e->rivals[i].heard_at, 0);
	sent_clear();
	engine_free(e);
}

/* The other side of that gnode: nodes at members 4's and 2's addresses
 * with other keys ping us.  Our answer to 2' says whom we hold there, and
 * whom we hold at the other contested address we know of (4), so that 2'
 * learns of the node on its own side that it may ask for a vote. */
static void
test_twice_founded_answer(void **state)
{
	(void)state;
	struct engine *e = lone_engine();
	struct endpoint b_ep = {.family = 4, .ip = {10, 0, 1, 4}, .port = 7};
	struct endpoint two_b = {.family = 4, .ip = {10, 0, 1, 2}, .port = 7};
	ovl_addr_t two = ovl_prefix(e->addr, 1) | 2;
	ovl_addr_t four = ovl_prefix(e->addr, 1) | 4;

	fill_inner(e, 7);
	struct msg_update four_b = alive_update(104, four, &b_ep);
	swim_from(e, MSG_PING, 104, four, &b_ep, &four_b, 1);
	sent_clear();
	struct msg_update own2 = alive_update(102, two, &two_b);
	swim_from(e, MSG_PING, 102, two, &two_b, &own2, 1);
	assert_int_equal(n_sent, 1);
	const struct msg *r = &sent[0].m;
	assert_int_equal(r->type, MSG_ACK);
	assert_true(ep_equal(&sent[0].to, &two_b));
	assert_int_equal(r->u.updates.n, 3);
	assert_int_equal(r->u.updates.v[1].addr, two);
	assert_memory_equal(r->u.updates.v[1].key,
	    inner_find(&e->inner, 2)->pk, ANDNA_PK_LEN);
	assert_int_equal(r->u.updates.v[2].addr, four);
	assert_memory_equal(r->u.updates.v[2].key,
	    inner_find(&e->inner, 4)->pk, ANDNA_PK_LEN);
	sent_clear();
	engine_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_datagram_refreshes_all),
	    cmocka_unit_test(test_answer_fills_gaps),
	    cmocka_unit_test(test_large_map_in_turn),
	    cmocka_unit_test(test_merge_refresh),
	    cmocka_unit_test(test_gnode_checks),
	    cmocka_unit_test(test_joiner_names_full),
	    cmocka_unit_test(test_refute_to_all),
	    cmocka_unit_test(test_joining_answers_pings),
	    cmocka_unit_test(test_dead_keep_place),
	    cmocka_unit_test(test_twice_founded),
	    cmocka_unit_test(test_twice_founded_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
