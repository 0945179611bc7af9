/* A hostile node for tests/hostile.sh (DESIGN.md section 10, "Trust"): a
 * process that speaks the wire protocol through the project's own codec
 * (proto/msg.h), with node keys it mints itself, and attacks a loopback
 * mesh of andnad in one of two ways.
 *
 *   hostile_node evict --bind EP --victim-addr A.B.C.D --victim-key HEX
 *       --members EP,EP,... [--seconds N] [--rate N]
 *
 * Mints keys until one sorts below the victim's node key, then, several
 * times a second, sends every member of the victim's gnode (the victim
 * among them) PINGs whose news says the victim's address is alive with
 * that lower key at our endpoint: once relayed under a member's address
 * signed by our own key, once with the victim's address as the envelope
 * source signed by the lower key.  A third PING says the victim is dead
 * at incarnation 2^32-1.  PINGs to the stolen address are acknowledged,
 * so the fake answers its probes.
 *
 *   hostile_node fake-gnodes --bind EP --peers EP,EP,... [--gnodes N]
 *       [--seconds N] [--rate N]
 *
 * Learns the overlay from the peers' GOSSIP answers (their addresses,
 * then the level-1 gnodes of their parent), then gossips N level-1 gnodes
 * that do not exist, each with one contact inside it at our one endpoint,
 * to every peer, several times a second.  It proves whatever it is
 * challenged to be (CHALLENGE_REPLY from the challenged address),
 * acknowledges every routed request it gets from the fake contact it was
 * sent to, and answers a HANDOVER with HANDOVER_ACK OK and a big count, so
 * the holders drop their copies.
 *
 * Every address must be on loopback (127.0.0.0/8 or ::1).  The loop ends
 * at the deadline; each wake-up reads a bounded batch.  At the end one
 * line of JSON says what was sent and received, by message type. */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "node/daemon/conf.h"
#include "node/engine/round.h"
#include "proto/err.h"
#include "proto/msg.h"

#define PEERS_MAX 32
#define CONNS_MAX 8	      /* incoming TCP connections at once */
#define FRAME_HDR 4	      /* big-endian length before a TCP frame */
#define UDP_BATCH 64	      /* datagrams read per wake-up */
#define TYPES 64	      /* counters by message type */
#define KEY_TRIES_MAX 1000000 /* keys minted for one below the victim's */
#define SECONDS_MAX 600
#define RATE_MAX 50	       /* rounds per second */
#define HANDOVER_COUNT 1000000 /* items every HANDOVER_ACK claims */
#define FAKE_HOST 1	       /* our low byte inside each fake gnode */
#define LEARN_MS 4000	       /* each learning step gives up after this */
#define CLAIM_INC 1	       /* incarnation of the stolen address */
/* where the first GOSSIP comes from: far from any loopback mesh, so the
 * answers name only top-level gnodes, and their senders' addresses */
#define LEARN_SRC 0xfffffffeu

enum mode {
	MODE_EVICT,
	MODE_FAKE,
};

enum phase {
	PHASE_ADDRS, /* asking the peers their addresses */
	PHASE_IDS,   /* asking them the level-1 gnodes of their parent */
	PHASE_ATTACK,
};

struct peer {
	struct endpoint ep;
	bool known; /* it answered: addr is its overlay address */
	bool asked; /* it answered the current learning step */
	ovl_addr_t addr;
};

/* An incoming TCP connection; buf holds one frame header and body. */
struct conn {
	int fd; /* -1: free */
	size_t len;
	uint8_t *buf;
};

struct hostile {
	enum mode mode;
	struct endpoint self;
	struct keypair key; /* our node key: rumours, gossip, replies */
	int udp, lis;
	struct conn conns[CONNS_MAX];
	int n_peers;
	struct peer peers[PEERS_MAX];
	uint64_t deadline;
	unsigned seconds, rate;

	/* evict */
	ovl_addr_t victim;
	uint8_t victim_pk[ANDNA_PK_LEN];
	struct keypair low; /* sorts below the victim's key */
	uint32_t key_tries;

	/* fake-gnodes */
	int want_fakes;
	enum phase phase;
	uint64_t phase_at;
	ovl_addr_t parent; /* level-2 prefix of the peers' gnodes */
	struct idset used; /* level-1 ids in use inside the parent */
	struct idset fakes;
	int n_fakes;
	uint8_t fake_ids[256];

	uint64_t sent[TYPES], received[TYPES];
	uint64_t undecodable, send_failed, entries_sent;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether `ep` is a loopback address: the only kind this tool talks to. */
static bool
ep_loopback(const struct endpoint *ep)
{
	static const uint8_t v6[16] = {[15] = 1};

	if (ep->family == 4)
		return ep->ip[0] == 127;
	return ep->family == 6 && memcmp(ep->ip, v6, sizeof(v6)) == 0;
}

static bool
ep_same(const struct endpoint *a, const struct endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	    memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

static socklen_t
ep_sockaddr(const struct endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(ep->port);
		memcpy(&s4->sin_addr, ep->ip, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(ep->port);
	memcpy(&s6->sin6_addr, ep->ip, 16);
	return sizeof(*s6);
}

/* Reads a datagram's source; returns 0 or ANDNA_EINVAL (another family). */
static int
ep_from_sockaddr(const struct sockaddr_storage *ss, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		ep->family = 4;
		ep->port = ntohs(s4->sin_port);
		memcpy(ep->ip, &s4->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		ep->family = 6;
		ep->port = ntohs(s6->sin6_port);
		memcpy(ep->ip, &s6->sin6_addr, 16);
		return 0;
	}
	return ANDNA_EINVAL;
}

/* Parses an overlay address "a.b.c.d"; returns 0 or ANDNA_EINVAL. */
static int
addr_parse(const char *s, ovl_addr_t *out)
{
	uint8_t b[4];

	*out = 0;
	if (inet_pton(AF_INET, s, b) != 1)
		return ANDNA_EINVAL;
	*out = (ovl_addr_t)b[0] << 24 | (ovl_addr_t)b[1] << 16 |
	    (ovl_addr_t)b[2] << 8 | b[3];
	return 0;
}

static void
addr_format(ovl_addr_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ovl_id(a, 3), ovl_id(a, 2),
	    ovl_id(a, 1), ovl_id(a, 0));
}

/* Parses "EP,EP,..." into the peers; returns 0 or ANDNA_EINVAL (a bad or
 * non-loopback endpoint, or more than PEERS_MAX). */
static int
peers_parse(struct hostile *h, const char *list)
{
	char buf[4096], *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return ANDNA_EINVAL;
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		struct peer *p = &h->peers[h->n_peers];
		if (h->n_peers == PEERS_MAX ||
		    config_parse_endpoint(t, 0, &p->ep) != 0 ||
		    !ep_loopback(&p->ep))
			return ANDNA_EINVAL;
		h->n_peers++;
	}
	return h->n_peers > 0 ? 0 : ANDNA_EINVAL;
}

static struct peer *
peer_at(struct hostile *h, const struct endpoint *ep)
{
	for (int i = 0; i < h->n_peers; i++)
		if (ep_same(&h->peers[i].ep, ep))
			return &h->peers[i];
	return NULL;
}

/* ---- sending -------------------------------------------------------- */

/* Signs `m` with `kp` (its public key goes into the envelope) and sends
 * it: on the connection `c`, framed, when it came by one, else to `to`
 * by UDP.  Everything we send fits one datagram.  Returns 0 or an error
 * (counted). */
static int
hostile_send(struct hostile *h, const struct keypair *kp, struct msg *m,
    const struct endpoint *to, struct conn *c)
{
	uint8_t buf[FRAME_HDR + MSG_DGRAM_MAX];
	struct sockaddr_storage ss;
	size_t len;
	ssize_t n;

	int rc = msg_encode(m, kp, buf + FRAME_HDR, MSG_DGRAM_MAX, &len);
	if (rc != 0) {
		h->send_failed++;
		return rc;
	}
	if (c != NULL) {
		buf[0] = (uint8_t)(len >> 24);
		buf[1] = (uint8_t)(len >> 16);
		buf[2] = (uint8_t)(len >> 8);
		buf[3] = (uint8_t)len;
		/* a reply or two on a connection the peer reads: a full
		 * socket buffer drops it, like a lost datagram */
		n = write(c->fd, buf, FRAME_HDR + len);
		len += FRAME_HDR;
	} else {
		socklen_t sl = ep_sockaddr(to, &ss);
		n = sendto(h->udp, buf + FRAME_HDR, len, 0,
		    (struct sockaddr *)&ss, sl);
	}
	if (n != (ssize_t)len) {
		h->send_failed++;
		return ANDNA_EIO;
	}
	h->sent[m->type % TYPES]++;
	return 0;
}

/* ---- evict ---------------------------------------------------------- */

/* Mints keys until one sorts below the victim's.  Returns 0 or
 * ANDNA_ELIMIT (none in KEY_TRIES_MAX: the victim's key is very low). */
static int
evict_mint(struct hostile *h)
{
	for (h->key_tries = 1; h->key_tries <= KEY_TRIES_MAX; h->key_tries++) {
		keypair_generate(&h->low);
		if (memcmp(h->low.pk, h->victim_pk, ANDNA_PK_LEN) < 0)
			return 0;
	}
	keypair_wipe(&h->low);
	return ANDNA_ELIMIT;
}

/* News that the victim's address is alive with our lower key, at our
 * endpoint. */
static void
evict_claim(const struct hostile *h, struct msg_update *u)
{
	memset(u, 0, sizeof(*u));
	u->state = MSG_STATE_ALIVE;
	u->addr = h->victim;
	u->incarnation = CLAIM_INC;
	memcpy(u->key, h->low.pk, ANDNA_PK_LEN);
	u->n_eps = 1;
	u->eps[0] = h->self;
}

/* An address inside the victim's gnode to relay rumours under: a member
 * other than the victim and the receiver, once one has answered us; the
 * victim's own until then. */
static ovl_addr_t
evict_relay(const struct hostile *h, const struct peer *to)
{
	for (int i = 0; i < h->n_peers; i++) {
		const struct peer *p = &h->peers[i];
		if (p->known && p != to && p->addr != h->victim &&
		    ovl_prefix(p->addr, 1) == ovl_prefix(h->victim, 1))
			return p->addr;
	}
	return h->victim;
}

static void
evict_round(struct hostile *h)
{
	const struct endpoint *victim_ep = &h->self;
	struct msg m;

	for (int i = 0; i < h->n_peers; i++)
		if (h->peers[i].known && h->peers[i].addr == h->victim)
			victim_ep = &h->peers[i].ep;
	for (int i = 0; i < h->n_peers; i++) {
		struct peer *p = &h->peers[i];

		/* a rumour: a member relays that the lower key holds the
		 * victim's address */
		msg_init(&m);
		m.type = MSG_PING;
		m.id = randombytes_random();
		m.has_src = true;
		m.src = evict_relay(h, p);
		evict_claim(h, &m.u.updates.v[m.u.updates.n++]);
		hostile_send(h, &h->key, &m, &p->ep, NULL);

		/* the claim itself, from the victim's address */
		m.id = randombytes_random();
		m.src = h->victim;
		hostile_send(h, &h->low, &m, &p->ep, NULL);

		/* the victim is dead, at an incarnation that cannot be
		 * topped without wrapping */
		m.id = randombytes_random();
		m.src = evict_relay(h, p);
		struct msg_update *u = &m.u.updates.v[0];
		memset(u, 0, sizeof(*u));
		u->state = MSG_STATE_DEAD;
		u->addr = h->victim;
		u->incarnation = UINT32_MAX;
		memcpy(u->key, h->victim_pk, ANDNA_PK_LEN);
		u->n_eps = 1;
		u->eps[0] = *victim_ep;
		hostile_send(h, &h->key, &m, &p->ep, NULL);
	}
}

static void
evict_input(struct hostile *h, const struct endpoint *from, struct conn *c,
    const struct msg *m)
{
	struct peer *p = peer_at(h, from);
	struct msg r;

	/* a member's ping or ack names its address and key */
	if (p != NULL && m->has_src &&
	    (m->type == MSG_PING || m->type == MSG_ACK)) {
		p->known = true;
		p->addr = m->src;
	}
	if (m->type != MSG_PING)
		return;
	/* members probe the address we took: the fake answers */
	msg_init(&r);
	r.type = MSG_ACK;
	r.id = m->id;
	r.has_src = true;
	r.src = h->victim;
	evict_claim(h, &r.u.updates.v[r.u.updates.n++]);
	hostile_send(h, &h->low, &r, from, c);
}

/* ---- fake gnodes ---------------------------------------------------- */

static ovl_addr_t
fake_contact(const struct hostile *h, uint8_t id)
{
	return h->parent | (ovl_addr_t)id << 8 | FAKE_HOST;
}

/* Asks every peer that has not answered this step for its entries, from
 * `src`. */
static void
fake_ask(struct hostile *h, ovl_addr_t src)
{
	struct msg m;

	for (int i = 0; i < h->n_peers; i++) {
		if (h->peers[i].asked)
			continue;
		msg_init(&m);
		m.type = MSG_GOSSIP;
		m.id = randombytes_random();
		m.has_src = true;
		m.src = src;
		m.u.gossip.want_reply = true;
		hostile_send(h, &h->key, &m, &h->peers[i].ep, NULL);
	}
}

/* The lowest level-1 id free in the parent, to ask from; -1 if none. */
static int
fake_free_id(const struct hostile *h)
{
	for (int id = 0; id < 256; id++)
		if (!idset_has(&h->used, (uint8_t)id))
			return id;
	return -1;
}

static bool
fake_all_asked(const struct hostile *h)
{
	for (int i = 0; i < h->n_peers; i++)
		if (!h->peers[i].asked)
			return false;
	return true;
}

/* Moves to the next learning step once every peer answered or the step
 * timed out with an answer from one at least. */
static void
fake_learn(struct hostile *h, uint64_t now)
{
	bool over = fake_all_asked(h) || now - h->phase_at >= LEARN_MS;
	int known = 0;

	for (int i = 0; i < h->n_peers; i++)
		known += h->peers[i].known;
	if (h->phase == PHASE_ADDRS && over && known > 0) {
		/* the parent of the first peer that answered: a loopback
		 * mesh has one */
		for (int i = h->n_peers - 1; i >= 0; i--)
			if (h->peers[i].known)
				h->parent = ovl_prefix(h->peers[i].addr, 2);
		for (int i = 0; i < h->n_peers; i++) {
			const struct peer *p = &h->peers[i];
			if (p->known && ovl_prefix(p->addr, 2) == h->parent)
				idset_add(&h->used, ovl_id(p->addr, 1));
			h->peers[i].asked = false;
		}
		h->phase = PHASE_IDS;
		h->phase_at = now;
	} else if (h->phase == PHASE_IDS && over) {
		for (int id = 0; id < 256 && h->n_fakes < h->want_fakes; id++) {
			if (idset_has(&h->used, (uint8_t)id))
				continue;
			idset_add(&h->fakes, (uint8_t)id);
			h->fake_ids[h->n_fakes++] = (uint8_t)id;
		}
		h->phase = PHASE_ATTACK;
		h->phase_at = now;
	}
}

/* Sends every fake gnode to `to`, as many per GOSSIP as fit a datagram,
 * each GOSSIP from our contact in its first entry; the first carries
 * `id` (an answer's) when not 0. */
static void
fake_gossip(struct hostile *h, const struct endpoint *to, struct conn *c,
    uint64_t id)
{
	struct msg_outer entries[(MSG_DGRAM_MAX - MSG_GOSSIP_HEAD) / 6];
	struct msg m;

	for (int k = 0; k < h->n_fakes;) {
		size_t room = MSG_DGRAM_MAX - MSG_GOSSIP_HEAD;
		int n = 0;
		for (; k < h->n_fakes && n < (int)(sizeof(entries) /
		    sizeof(entries[0])); k++) {
			struct msg_outer *o = &entries[n];
			memset(o, 0, sizeof(*o));
			o->level = 1;
			o->id = h->fake_ids[k];
			o->children = 1;
			o->age = 0;
			o->n_contacts = 1;
			o->contacts[0].addr = fake_contact(h, o->id);
			o->contacts[0].ep = h->self;
			size_t len = msg_outer_len(o);
			if (len == 0 || len > room)
				break;
			room -= len;
			n++;
		}
		if (n == 0)
			return;
		msg_init(&m);
		m.type = MSG_GOSSIP;
		m.id = id != 0 ? id : randombytes_random();
		m.has_src = true;
		m.src = fake_contact(h, entries[0].id);
		m.u.gossip.n_outer = (uint16_t)n;
		m.u.gossip.outer = entries;
		if (hostile_send(h, &h->key, &m, to, c) == 0)
			h->entries_sent += (uint64_t)n;
		m.u.gossip.outer = NULL; /* on our stack, not for msg_free */
		id = 0;
	}
}

static void
fake_round(struct hostile *h, uint64_t now)
{
	fake_learn(h, now);
	switch (h->phase) {
	case PHASE_ADDRS:
		fake_ask(h, LEARN_SRC);
		break;
	case PHASE_IDS:
		fake_ask(h, fake_contact(h, (uint8_t)fake_free_id(h)));
		break;
	case PHASE_ATTACK:
		for (int i = 0; i < h->n_peers; i++)
			fake_gossip(h, &h->peers[i].ep, NULL, 0);
		break;
	}
}

/* The fake contact a routed request was handed to: the sender rounds the
 * target among the gnodes it knows, ours included, and it reached us, so
 * it rounded to the fake gnode nearest the target in the same order
 * (round_nearest) outside the gnodes the request excludes. */
static ovl_addr_t
fake_via(const struct hostile *h, const struct msg_route *r)
{
	struct idset s = h->fakes;

	for (int i = 0; i < r->n_exclude; i++) {
		uint8_t id = ovl_id(r->exclude[i], 1);
		if (ovl_prefix(r->exclude[i], 2) == h->parent)
			s.w[id >> 6] &= ~((uint64_t)1 << (id & 63));
	}
	int id = round_nearest(&s, ovl_id(r->target, 1));
	return fake_contact(h, (uint8_t)(id >= 0 ? id : h->fake_ids[0]));
}


/* Takes the level-1 gnodes a peer's GOSSIP names inside our parent as in
 * use, and its sender as known. */
static void
fake_learn_gossip(struct hostile *h, const struct endpoint *from,
    const struct msg *m)
{
	struct peer *p = peer_at(h, from);

	if (p != NULL && m->has_src) {
		p->known = true;
		p->asked = true;
		p->addr = m->src;
	}
	if (h->phase != PHASE_IDS || !m->has_src ||
	    ovl_prefix(m->src, 2) != h->parent)
		return;
	for (int i = 0; i < m->u.gossip.n_outer; i++)
		if (m->u.gossip.outer[i].level == 1)
			idset_add(&h->used, m->u.gossip.outer[i].id);
}

static void
fake_input(struct hostile *h, const struct endpoint *from, struct conn *c,
    const struct msg *m)
{
	const struct msg_route *route = msg_route_of(m);
	struct msg r;

	msg_init(&r);
	r.id = m->id;
	r.has_src = true;
	if (m->type == MSG_GOSSIP) {
		fake_learn_gossip(h, from, m);
		if (m->u.gossip.want_reply && h->phase == PHASE_ATTACK)
			fake_gossip(h, from, c, m->id);
	} else if (m->type == MSG_CHALLENGE) {
		/* "prove you are addr": we are whatever we are asked */
		r.type = MSG_CHALLENGE_REPLY;
		r.src = m->u.challenge.addr;
		memcpy(r.u.challenge_reply.nonce, m->u.challenge.nonce,
		    MSG_NONCE_LEN);
		hostile_send(h, &h->key, &r, from, c);
	} else if (route != NULL && h->n_fakes > 0) {
		r.type = MSG_ROUTE_ACK;
		r.src = fake_via(h, route);
		hostile_send(h, &h->key, &r, from, c);
		if (m->type == MSG_HANDOVER) {
			r.type = MSG_HANDOVER_ACK;
			r.u.status_count.status = MSG_ST_OK;
			r.u.status_count.count = HANDOVER_COUNT;
			hostile_send(h, &h->key, &r, from, c);
		}
	}
}

/* ---- the loop ------------------------------------------------------- */

static void
hostile_input(struct hostile *h, const struct endpoint *from, struct conn *c,
    const uint8_t *buf, size_t len)
{
	struct msg m;

	if (msg_decode(buf, len, &m) != 0) {
		h->undecodable++;
		return;
	}
	h->received[m.type % TYPES]++;
	if (h->mode == MODE_EVICT)
		evict_input(h, from, c, &m);
	else
		fake_input(h, from, c, &m);
	msg_free(&m);
}

static void
udp_read(struct hostile *h)
{
	uint8_t buf[MSG_DGRAM_MAX + 1];

	for (int i = 0; i < UDP_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct endpoint from;
		ssize_t n = recvfrom(h->udp, buf, sizeof(buf), MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;
		if (ep_from_sockaddr(&ss, &from) != 0 || n == 0 ||
		    n > MSG_DGRAM_MAX) {
			h->undecodable++;
			continue;
		}
		hostile_input(h, &from, NULL, buf, (size_t)n);
	}
}

static void
conn_close(struct conn *c)
{
	close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
	c->len = 0;
}

static void
conn_accept(struct hostile *h)
{
	int fd = accept4(h->lis, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < CONNS_MAX; i++) {
		struct conn *c = &h->conns[i];
		if (c->fd >= 0)
			continue;
		c->buf = malloc(FRAME_HDR + MSG_STREAM_MAX);
		if (c->buf == NULL)
			break;
		c->fd = fd;
		c->len = 0;
		return;
	}
	close(fd);
}

/* Reads what came on a connection and handles each whole frame. */
static void
conn_read(struct hostile *h, struct conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len,
	    FRAME_HDR + MSG_STREAM_MAX - c->len);

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	c->len += (size_t)n;
	while (c->len >= FRAME_HDR) {
		uint32_t len = (uint32_t)c->buf[0] << 24 |
		    (uint32_t)c->buf[1] << 16 | (uint32_t)c->buf[2] << 8 |
		    c->buf[3];
		if (len == 0 || len > MSG_STREAM_MAX) {
			h->undecodable++;
			conn_close(c);
			return;
		}
		if (c->len < FRAME_HDR + len)
			return;
		/* the peer's connection stands for its listening endpoint:
		 * replies go back on it */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct endpoint from;
		memset(&from, 0, sizeof(from));
		if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0)
			ep_from_sockaddr(&ss, &from);
		hostile_input(h, &from, c, c->buf + FRAME_HDR, len);
		if (c->fd < 0)
			return;
		c->len -= FRAME_HDR + len;
		memmove(c->buf, c->buf + FRAME_HDR + len, c->len);
	}
}

static int
sockets_open(struct hostile *h)
{
	struct sockaddr_storage ss;
	socklen_t sl = ep_sockaddr(&h->self, &ss);
	int af = h->self.family == 4 ? AF_INET : AF_INET6, one = 1;

	h->udp = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->udp < 0 || bind(h->udp, (struct sockaddr *)&ss, sl) != 0)
		return ANDNA_EIO;
	if (h->mode != MODE_FAKE)
		return 0;
	/* a HANDOVER too big for a datagram comes by TCP */
	h->lis = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->lis < 0)
		return ANDNA_EIO;
	setsockopt(h->lis, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->lis, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(h->lis, CONNS_MAX) != 0)
		return ANDNA_EIO;
	return 0;
}

/* Runs rounds at the rate asked and answers what comes until the
 * deadline. */
static void
hostile_run(struct hostile *h)
{
	uint64_t now, next_round = 0;

	while ((now = mono_ms()) < h->deadline) {
		if (now >= next_round) {
			if (h->mode == MODE_EVICT)
				evict_round(h);
			else
				fake_round(h, now);
			next_round = now + 1000 / h->rate;
		}
		struct pollfd pf[2 + CONNS_MAX];
		int map[2 + CONNS_MAX], n = 0;
		pf[n] = (struct pollfd){.fd = h->udp, .events = POLLIN};
		map[n++] = -1;
		if (h->lis >= 0) {
			pf[n] = (struct pollfd){.fd = h->lis, .events = POLLIN};
			map[n++] = -2;
		}
		for (int i = 0; i < CONNS_MAX; i++) {
			if (h->conns[i].fd < 0)
				continue;
			pf[n] = (struct pollfd){
			    .fd = h->conns[i].fd, .events = POLLIN};
			map[n++] = i;
		}
		uint64_t until = next_round < h->deadline ? next_round :
		    h->deadline;
		int wait_ms = until > now ? (int)(until - now) : 0;
		if (poll(pf, (nfds_t)n, wait_ms) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (pf[i].revents == 0)
				continue;
			if (map[i] == -1)
				udp_read(h);
			else if (map[i] == -2)
				conn_accept(h);
			else
				conn_read(h, &h->conns[map[i]]);
		}
	}
}

/* Prints the counts of one direction as a JSON object by type name. */
static void
counts_print(const uint64_t *v)
{
	const char *sep = "";

	putchar('{');
	for (int t = 0; t < TYPES; t++) {
		if (v[t] == 0)
			continue;
		printf("%s\"%s\":%llu", sep, msg_type_name((unsigned)t),
		    (unsigned long long)v[t]);
		sep = ",";
	}
	putchar('}');
}

static void
report_print(const struct hostile *h)
{
	char a[20];
	int known = 0;

	for (int i = 0; i < h->n_peers; i++)
		known += h->peers[i].known;
	printf("{\"mode\":\"%s\",\"seconds\":%u,\"peers\":%d,"
	    "\"peers_known\":%d,", h->mode == MODE_EVICT ? "evict" :
	    "fake-gnodes", h->seconds, h->n_peers, known);
	if (h->mode == MODE_EVICT) {
		addr_format(h->victim, a, sizeof(a));
		printf("\"victim\":\"%s\",\"key_tries\":%u,", a, h->key_tries);
	} else {
		int used = 0;
		for (int id = 0; id < 256; id++)
			used += idset_has(&h->used, (uint8_t)id);
		addr_format(h->parent, a, sizeof(a));
		printf("\"parent\":\"%s\",\"gnodes_in_use\":%d,"
		    "\"fake_gnodes\":%d,\"entries_sent\":%llu,", a, used,
		    h->n_fakes, (unsigned long long)h->entries_sent);
	}
	printf("\"sent\":");
	counts_print(h->sent);
	printf(",\"received\":");
	counts_print(h->received);
	printf(",\"undecodable\":%llu,\"send_failed\":%llu}\n",
	    (unsigned long long)h->undecodable,
	    (unsigned long long)h->send_failed);
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: hostile_node evict --bind EP --victim-addr A.B.C.D "
	    "--victim-key HEX\n"
	    "           --members EP,... [--seconds N] [--rate N]\n"
	    "       hostile_node fake-gnodes --bind EP --peers EP,... "
	    "[--gnodes N]\n"
	    "           [--seconds N] [--rate N]\n"
	    "Every endpoint must be on loopback.\n");
}

/* Reads a number in lo..hi; returns 0 or ANDNA_EINVAL. */
static int
number_parse(const char *s, long lo, long hi, long *out)
{
	char *end = NULL;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *out < lo || *out > hi)
		return ANDNA_EINVAL;
	return 0;
}

static int
args_parse(struct hostile *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{"bind", required_argument, NULL, 'b'},
		{"victim-addr", required_argument, NULL, 'a'},
		{"victim-key", required_argument, NULL, 'k'},
		{"members", required_argument, NULL, 'm'},
		{"peers", required_argument, NULL, 'p'},
		{"gnodes", required_argument, NULL, 'g'},
		{"seconds", required_argument, NULL, 's'},
		{"rate", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	bool bound = false, victim = false, key = false;
	size_t klen = 0;
	long v;
	int ch;

	if (argc < 2)
		return ANDNA_EINVAL;
	if (strcmp(argv[1], "evict") == 0)
		h->mode = MODE_EVICT;
	else if (strcmp(argv[1], "fake-gnodes") == 0)
		h->mode = MODE_FAKE;
	else
		return ANDNA_EINVAL;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int rc = 0;
		switch (ch) {
		case 'b':
			rc = config_parse_endpoint(optarg, 0, &h->self);
			if (rc == 0 && !ep_loopback(&h->self))
				rc = ANDNA_EINVAL;
			bound = rc == 0;
			break;
		case 'a':
			rc = addr_parse(optarg, &h->victim);
			victim = rc == 0;
			break;
		case 'k':
			if (sodium_hex2bin(h->victim_pk, ANDNA_PK_LEN, optarg,
			    strlen(optarg), NULL, &klen, NULL) != 0 ||
			    klen != ANDNA_PK_LEN)
				rc = ANDNA_EINVAL;
			key = rc == 0;
			break;
		case 'm':
		case 'p':
			if ((ch == 'm') != (h->mode == MODE_EVICT))
				rc = ANDNA_EINVAL;
			else
				rc = peers_parse(h, optarg);
			break;
		case 'g':
			rc = number_parse(optarg, 1, 250, &v);
			h->want_fakes = (int)v;
			break;
		case 's':
			rc = number_parse(optarg, 1, SECONDS_MAX, &v);
			h->seconds = (unsigned)v;
			break;
		case 'r':
			rc = number_parse(optarg, 1, RATE_MAX, &v);
			h->rate = (unsigned)v;
			break;
		default:
			rc = ANDNA_EINVAL;
			break;
		}
		if (rc != 0)
			return rc;
	}
	if (optind != argc || !bound || h->n_peers == 0)
		return ANDNA_EINVAL;
	if (h->mode == MODE_EVICT && (!victim || !key))
		return ANDNA_EINVAL;
	return 0;
}

int
main(int argc, char **argv)
{
	struct hostile *h = calloc(1, sizeof(*h));
	int rc, status = 1;

	if (h == NULL || crypto_init() != 0)
		goto out;
	h->udp = h->lis = -1;
	for (int i = 0; i < CONNS_MAX; i++)
		h->conns[i].fd = -1;
	h->seconds = 20;
	h->rate = 4;
	h->want_fakes = 200;
	if (args_parse(h, argc, argv) != 0) {
		usage(stderr);
		status = 2;
		goto out;
	}
	keypair_generate(&h->key);
	if (h->mode == MODE_EVICT && (rc = evict_mint(h)) != 0) {
		fprintf(stderr, "hostile_node: no key below the victim's in %d "
		    "tries: %s\n", KEY_TRIES_MAX, andna_strerror(rc));
		goto out;
	}
	if ((rc = sockets_open(h)) != 0) {
		fprintf(stderr, "hostile_node: cannot bind: %s\n",
		    strerror(errno));
		goto out;
	}
	h->phase_at = mono_ms();
	h->deadline = h->phase_at + (uint64_t)h->seconds * 1000;
	hostile_run(h);
	report_print(h);
	status = h->mode == MODE_FAKE && h->n_fakes == 0 ? 1 : 0;
	if (status != 0)
		fprintf(stderr, "hostile_node: learnt no overlay from the "
		    "peers: no fake gnode went out\n");
out:
	if (h != NULL) {
		for (int i = 0; i < CONNS_MAX; i++)
			if (h->conns[i].fd >= 0)
				conn_close(&h->conns[i]);
		if (h->udp >= 0)
			close(h->udp);
		if (h->lis >= 0)
			close(h->lis);
		keypair_wipe(&h->key);
		keypair_wipe(&h->low);
		free(h);
	}
	return status;
}
