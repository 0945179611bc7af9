/* The node daemon's event loop (see daemon.h): overlay sockets, framing,
 * rate limits, the engine's timer, signals, known peers. */
#include "config.h"

#include <sys/file.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "node/daemon/control.h"
#include "node/daemon/discover.h"
#include "node/daemon/daemon.h"
#include "node/daemon/http.h"
#include "node/daemon/ratelimit.h"
#include "node/dns/dns_node.h"
#include "node/daemon/timebase.h"
#include "proto/err.h"
#include "proto/msg.h"

#define FRAME_HDR 4
#define UDP_BATCH 64             /* datagrams read per wake-up */
#define UDP_BUF 65536            /* larger than any datagram */
#define OUT_CONNS_MAX 64         /* outgoing TCP connections kept */
#define OUT_QUEUE_MAX (2 * (FRAME_HDR + MSG_STREAM_MAX))
#define RL_SLOTS 4096            /* sources tracked by the rate limiter */
#define PEERS_MAX 64             /* known peers kept */
#define PEERS_BOOT_MAX 40        /* peers handed to engine_bootstrap(): the
				  * saved ones (ENGINE_KEEP_MAX) and a few
				  * configured */
#define PEER_MAX_AGE_MS (7ULL * 24 * 3600 * 1000)
#define PEERS_SAVE_MS 10000      /* least time between two saves */
#define PEERS_RESAVE_MS 3600000  /* save unchanged peers, to keep their
				  * time of last being live on disk fresh */
#define HOUSE_MS 1000            /* housekeeping period */
#define ACCEPT_PAUSE_MS 1000     /* after EMFILE */
#define ENGINE_WAKE_MAX_MS 60000
#define DISCOVER_FAST 3          /* announcements right after start ... */
#define DISCOVER_FAST_MS 500     /* ... this far apart */
#define DISCOVER_WAIT_MS 2000    /* listen for neighbours before joining */
#define DISCOVER_ANSWER_MS 500   /* least time between two announcements
				  * that answer a new neighbour */
#define DISCOVER_STALE 3         /* announcements missed: a neighbour gone */

/* One overlay UDP socket. */
struct udp_sock {
	int fd;
	struct endpoint ep;
	struct event *ev;
	struct daemon *d;
};

/* One overlay TCP connection, incoming or outgoing. */
struct conn {
	TAILQ_ENTRY(conn) link;
	struct daemon *d;
	struct bufferevent *bev;
	struct endpoint peer;   /* outgoing: where to; incoming: the source */
	bool outgoing;
	bool busy;              /* handing frames to the engine: keep it */
	uint64_t last_active;   /* monotonic ms */
	uint64_t frame_started; /* monotonic ms a partial frame began, or 0 */
};
TAILQ_HEAD(conn_list, conn);

/* A live node the engine knows: saved to the store for the next start. */
struct peer {
	struct endpoint ep;
	ovl_addr_t addr;
	uint8_t pk[ANDNA_PK_LEN]; /* zero for a contact of a sibling gnode */
	uint64_t heard;           /* engine time it was last known live */
};

/* The known peers: the engine's live view, or the last run's. */
struct peer_set {
	struct peer v[PEERS_MAX];
	int n, members;
};

struct daemon {
	struct config cfg;
	struct log *lg;
	struct event_base *base;
	daemon_reload_fn *reload;
	void *reload_arg;

	struct udp_sock udp[CONFIG_ADDRS_MAX];
	int n_udp;
	struct evconnlistener *tcp[CONFIG_ADDRS_MAX];
	int n_tcp;
	bool accept_paused;
	uint64_t accept_resume;
	struct conn_list conns;
	int n_in, n_out;
	uint8_t *rbuf;

	struct ratelimit *rl;

	struct event *ev_engine, *ev_house, *ev_sig[3];
	struct control *ctl;
	struct http *http;
	struct dns_node *dns;

	int lock_fd;
	struct keypair key;
	struct store *store;
	struct engine *engine;
	struct endpoint eps[4];
	int n_eps;
	uint64_t started;

	struct peer_set peers;
	bool peers_dirty;
	uint64_t peers_saved;

	struct discover *disc;         /* NULL: no neighbour discovery */
	struct discover_table neigh;   /* neighbours heard on the links */
	struct event *ev_disc, *ev_join;
	unsigned disc_fams;            /* families we send to (bit 4, 6) */
	int disc_sent;                 /* announcements so far */
	uint64_t disc_last;            /* monotonic ms of the last one */
	uint64_t disc_next;            /* and of the next */
	bool join_waited;              /* listened for neighbours already */

	struct timebase tb;     /* the engine's clock */
	uint64_t clock_saved;   /* monotonic ms it was last saved */

	struct daemon_counters cnt;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
daemon_now(const struct daemon *d)
{
	return timebase_now(&d->tb, timebase_boot_ms());
}

/* ---- addresses ------------------------------------------------------ */

static socklen_t
ep_to_sa(const struct endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(ep->port);
		memcpy(&sin->sin_addr, ep->ip, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(ep->port);
	memcpy(&sin6->sin6_addr, ep->ip, 16);
	return sizeof(*sin6);
}

/* Reads a socket address; returns 0, or -1 for another family. */
static int
sa_to_ep(const struct sockaddr *sa, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		ep->family = 4;
		ep->port = ntohs(sin->sin_port);
		memcpy(ep->ip, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		ep->family = 6;
		ep->port = ntohs(s6->sin6_port);
		memcpy(ep->ip, &s6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static bool
ep_wildcard(const struct endpoint *ep)
{
	static const uint8_t zero[16];

	return memcmp(ep->ip, zero, ep->family == 4 ? 4 : 16) == 0;
}

/* Formats an endpoint for log lines (a static buffer per call site is
 * not allowed: the caller passes one). */
static const char *
ep_str(const struct endpoint *ep, char *buf, size_t len)
{
	config_format_endpoint(ep, buf, len);
	return buf;
}

/* Logs a message's type at -vv. */
static void
trace_msg(struct daemon *d, const char *dir, const struct endpoint *ep,
    const uint8_t *buf, size_t len, const char *via)
{
	char b[64];
	uint8_t t;

	if (!log_enabled(d->lg, LOG_LEVEL_TRACE))
		return;
	bool ok = msg_peek_type(buf, len, &t) == 0;
	const char *type = ok ? msg_type_name(t) : "garbage";
	log_msg(d->lg, LOG_LEVEL_TRACE, ok ? LOG_KIND_NONE : LOG_KIND_INPUT,
	    NULL,
	    "%s %s %s: %s, %zu bytes", via, dir, ep_str(ep, b, sizeof(b)),
	    type, len);
}

/* ---- rate limits ------------------------------------------------------ */

/* Takes a token from the bucket of `ep`'s address for the message buf
 * (len bytes); false if it has none, unless the message answers a request
 * of ours: a burst of answers we asked for (a node resolving many names
 * at once) is not the sender's flood. */
static bool
rate_allow(struct daemon *d, const struct endpoint *ep, const uint8_t *buf,
    size_t len)
{
	uint64_t id;

	if (ratelimit_allow(d->rl, ep, mono_ms(), d->cfg.rate_limit,
	    d->cfg.rate_burst))
		return true;
	if (msg_peek_id(buf, len, &id) == 0 && engine_awaits(d->engine, id))
		return true;
	char b[64];
	d->cnt.rate_limited++;
	log_limited(d->lg, LOG_LEVEL_WARN, LOG_KIND_RATE,
	    "%s sends more than %d messages a second; dropping the excess",
	    ep_str(ep, b, sizeof(b)), d->cfg.rate_limit);
	return false;
}

/* ---- known peers ---------------------------------------------------- */

static struct peer *
peer_find(struct peer_set *set, const struct endpoint *ep)
{
	for (int i = 0; i < set->n; i++)
		if (ep_equal(&set->v[i].ep, ep))
			return &set->v[i];
	return NULL;
}

static bool
own_endpoint(const struct daemon *d, const struct endpoint *ep)
{
	for (int i = 0; i < d->n_eps; i++)
		if (ep_equal(&d->eps[i], ep))
			return true;
	return false;
}

/* Collects the engine's live peers into a peer_set (an engine_peers
 * visitor): those engine_keep_peer() keeps, members and contacts of
 * other gnodes at every level. */
struct peer_scan {
	struct daemon *d;
	struct peer_set set;
	struct engine_keep keep;
	uint64_t now;
};

static int
peer_scan_cb(void *arg, const struct engine_peer *ep)
{
	struct peer_scan *sc = arg;
	struct peer_set *set = &sc->set;

	if (set->n == PEERS_MAX)
		return 1;
	if (own_endpoint(sc->d, ep->ep) || peer_find(set, ep->ep) != NULL ||
	    !engine_keep_peer(&sc->keep, ep))
		return 0; /* a contact may name us, from before a restart */
	struct peer *p = &set->v[set->n++];
	memset(p, 0, sizeof(*p));
	p->ep = *ep->ep;
	p->addr = ep->addr;
	if (ep->pk != NULL)
		memcpy(p->pk, ep->pk, ANDNA_PK_LEN);
	p->heard = sc->now;
	set->members += ep->level == 0;
	return 0;
}

/* Whether every peer of `a` is in `b` at the same overlay address. */
static bool
peers_within(struct peer_set *a, struct peer_set *b)
{
	for (int i = 0; i < a->n; i++) {
		const struct peer *q = peer_find(b, &a->v[i].ep);
		if (q == NULL || q->addr != a->v[i].addr)
			return false;
	}
	return true;
}

/* Takes the engine's live view as the known peers.  An empty view (not
 * hooked, or alone) keeps the peers known before, so a node cut off for
 * a while still knows whom to try when it restarts. */
static void
peers_refresh(struct daemon *d)
{
	struct peer_scan *sc = malloc(sizeof(*sc));

	if (sc == NULL)
		return;
	sc->d = d;
	sc->set.n = sc->set.members = 0;
	memset(&sc->keep, 0, sizeof(sc->keep));
	sc->now = daemon_now(d);
	engine_peers(d->engine, peer_scan_cb, sc);
	if (sc->set.n > 0) {
		if (sc->set.n != d->peers.n ||
		    !peers_within(&sc->set, &d->peers))
			d->peers_dirty = true;
		d->peers = sc->set;
	}
	free(sc);
}

/* Collects the addresses of the saved peers, to delete them. */
struct peer_addrs {
	ovl_addr_t v[1024];
	int n;
};

static int
peer_addr_cb(void *arg, const struct store_peer *p)
{
	struct peer_addrs *a = arg;

	if (a->n >= (int)(sizeof(a->v) / sizeof(a->v[0])))
		return 1;
	a->v[a->n++] = p->addr;
	return 0;
}

/* Replaces the saved peers with the ones known now (a store_write body). */
static int
peers_save_txn(void *arg, struct store_txn *txn)
{
	struct daemon *d = arg;
	struct peer_addrs *old = malloc(sizeof(*old));
	int rc;

	if (old == NULL)
		return ANDNA_ENOMEM;
	old->n = 0;
	rc = store_peer_each(txn, peer_addr_cb, old);
	for (int i = 0; rc == 0 && i < old->n; i++)
		rc = store_peer_del(txn, old->v[i]);
	free(old);
	for (int i = 0; rc == 0 && i < d->peers.n; i++) {
		const struct peer *p = &d->peers.v[i];
		uint8_t blob[1 + MSG_EP_MAX_LEN];
		size_t n = msg_ep_encode(&p->ep, blob + 1);
		blob[0] = (uint8_t)n;
		struct store_peer sp = {.addr = p->addr, .endpoints = blob,
		    .endpoints_len = n + 1, .last_heard = p->heard};
		memcpy(sp.pk, p->pk, ANDNA_PK_LEN);
		rc = store_peer_put(txn, &sp);
	}
	return rc;
}

static void
peers_save(struct daemon *d)
{
	if (d->store == NULL)
		return;
	int rc = store_write(d->store, peers_save_txn, d);
	if (rc != 0)
		log_warn(d->lg, "cannot save the known peers: %s",
		    andna_strerror(rc));
	d->peers_dirty = false;
	d->peers_saved = mono_ms();
}

/* ---- the engine's clock -------------------------------------------------- */

static int
clock_save_txn(void *arg, struct store_txn *txn)
{
	struct daemon *d = arg;
	uint8_t blob[TIMEBASE_BLOB_LEN];

	timebase_encode(&d->tb, blob);
	return store_meta_put(txn, TIMEBASE_META_KEY, blob, sizeof(blob));
}

/* Saves the engine's clock (its offset, the boot that holds for, and the
 * engine time now), so that the next start goes on from it. */
static void
clock_save(struct daemon *d)
{
	if (d->store == NULL)
		return;
	d->tb.last = daemon_now(d);
	int rc = store_write(d->store, clock_save_txn, d);
	if (rc != 0)
		log_warn(d->lg, "cannot save the engine clock: %s",
		    andna_strerror(rc));
	d->clock_saved = mono_ms();
}

/* Sets the engine's clock from what the store kept (see timebase.h) and
 * saves it at once. */
static void
clock_load(struct daemon *d)
{
	struct store_txn *txn = NULL;
	struct timebase saved;
	uint8_t boot_id[TIMEBASE_BOOT_ID_LEN];
	const uint8_t *v;
	size_t n;
	bool have = false;

	if (store_txn_begin(d->store, false, &txn) == 0) {
		int rc = store_meta_get(txn, TIMEBASE_META_KEY, &v, &n);
		have = rc == 0 && timebase_decode(v, n, &saved) == 0;
		if (rc == 0 && !have)
			log_warn(d->lg, "the saved engine clock is damaged: "
			    "starting it again");
		store_txn_abort(txn);
	}
	if (timebase_read_boot_id(TIMEBASE_BOOT_ID_PATH, boot_id) != 0)
		log_info(d->lg, "cannot read the boot id (%s): the time the "
		    "daemon is stopped will not count", TIMEBASE_BOOT_ID_PATH);
	switch (timebase_resume(have ? &saved : NULL, boot_id,
	    timebase_boot_ms(), timebase_wall_ms(), &d->tb)) {
	case TIMEBASE_FIRST:
		log_info(d->lg, "engine clock set at %llu s (first start)",
		    (unsigned long long)(d->tb.last / 1000));
		break;
	case TIMEBASE_SAME_BOOT:
		log_info(d->lg, "engine clock at %llu s, %llu s after it was "
		    "last saved", (unsigned long long)(d->tb.last / 1000),
		    (unsigned long long)((d->tb.last - saved.last) / 1000));
		break;
	case TIMEBASE_NEW_BOOT:
		log_info(d->lg, "engine clock at %llu s, going on after a "
		    "reboot (the time the machine was down does not count)",
		    (unsigned long long)(d->tb.last / 1000));
		break;
	}
	clock_save(d);
}

/* Reads one saved peer into the table (a store_peer_each visitor). */
static int
peer_load_cb(void *arg, const struct store_peer *sp)
{
	struct daemon *d = arg;
	struct endpoint ep;

	if (d->peers.n == PEERS_MAX)
		return 1;
	if (sp->endpoints_len < 1 || sp->endpoints[0] + 1u > sp->endpoints_len ||
	    msg_ep_decode(sp->endpoints + 1, sp->endpoints[0], &ep) != 0)
		return 0; /* not ours, or damaged: skip it */
	if (daemon_now(d) > sp->last_heard + PEER_MAX_AGE_MS ||
	    own_endpoint(d, &ep) || peer_find(&d->peers, &ep) != NULL)
		return 0;
	struct peer *p = &d->peers.v[d->peers.n++];
	memset(p, 0, sizeof(*p));
	p->ep = ep;
	p->addr = sp->addr;
	memcpy(p->pk, sp->pk, ANDNA_PK_LEN);
	p->heard = sp->last_heard;
	return 0;
}

static void
peers_shuffle(struct peer *v, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)randombytes_uniform((uint32_t)i + 1);
		struct peer t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/* Reads the peers of the last run: the members of the node's old gnode
 * first, since once they have noticed it went they have a free place for
 * it at once, where a sibling gnode may be full and send it on; each kind
 * in random order, so that no one peer takes every restart. */
static void
peers_load(struct daemon *d)
{
	static const uint8_t zero[ANDNA_PK_LEN];
	struct store_txn *txn = NULL;
	int members = 0;

	if (store_txn_begin(d->store, false, &txn) != 0)
		return;
	int rc = store_peer_each(txn, peer_load_cb, d);
	store_txn_abort(txn);
	if (rc != 0)
		log_warn(d->lg, "cannot read the peers of the last run: %s",
		    andna_strerror(rc));
	for (int i = 0; i < d->peers.n; i++) {
		if (memcmp(d->peers.v[i].pk, zero, ANDNA_PK_LEN) == 0)
			continue;
		struct peer t = d->peers.v[members];
		d->peers.v[members++] = d->peers.v[i];
		d->peers.v[i] = t;
	}
	d->peers.members = members;
	peers_shuffle(d->peers.v, members);
	peers_shuffle(d->peers.v + members, d->peers.n - members);
}

/* ---- sending ---------------------------------------------------------- */

static void conn_free(struct conn *c);
static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void
udp_send(struct daemon *d, const struct endpoint *to, const uint8_t *buf,
    size_t len)
{
	struct sockaddr_storage ss;
	char b[64];

	for (int i = 0; i < d->n_udp; i++) {
		if (d->udp[i].ep.family != to->family)
			continue;
		socklen_t sl = ep_to_sa(to, &ss);
		ssize_t n;
		do {
			n = sendto(d->udp[i].fd, buf, len,
			    MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss,
			    sl);
		} while (n < 0 && errno == EINTR);
		if (n == (ssize_t)len) {
			d->cnt.udp_out++;
			return;
		}
		d->cnt.send_failed++;
		log_limited(d->lg, LOG_LEVEL_DEBUG, LOG_KIND_SEND,
		    "cannot send to %s: %s", ep_str(to, b, sizeof(b)),
		    n < 0 ? strerror(errno) : "short write");
		return;
	}
	d->cnt.send_failed++;
	log_limited(d->lg, LOG_LEVEL_WARN, LOG_KIND_SEND,
	    "cannot reach %s: no IPv%u overlay socket",
	    ep_str(to, b, sizeof(b)), to->family);
}

/* A local address to send TCP from: the first specific listen address of
 * the family, so peers see the node's own address. */
static const struct endpoint *
tcp_source(struct daemon *d, uint8_t family)
{
	for (int i = 0; i < d->cfg.listen.n; i++)
		if (d->cfg.listen.v[i].family == family &&
		    !ep_wildcard(&d->cfg.listen.v[i]))
			return &d->cfg.listen.v[i];
	return NULL;
}

static struct conn *
conn_new(struct daemon *d, int fd, const struct endpoint *peer,
    bool outgoing)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->d = d;
	c->peer = *peer;
	c->outgoing = outgoing;
	c->last_active = mono_ms();
	c->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, FRAME_HDR + MSG_STREAM_MAX);
	TAILQ_INSERT_TAIL(&d->conns, c, link);
	if (outgoing)
		d->n_out++;
	else
		d->n_in++;
	return c;
}

/* Opens a connection to `to`, making room in the pool first. */
static struct conn *
conn_connect(struct daemon *d, const struct endpoint *to)
{
	struct sockaddr_storage ss;
	struct conn *c, *lru = NULL;

	if (d->n_out >= OUT_CONNS_MAX) {
		TAILQ_FOREACH(c, &d->conns, link)
			if (c->outgoing && !c->busy &&
			    (lru == NULL || c->last_active < lru->last_active))
				lru = c;
		if (lru == NULL)
			return NULL;
		conn_free(lru);
	}
	int fd = socket(to->family == 4 ? AF_INET : AF_INET6,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	const struct endpoint *src = tcp_source(d, to->family);
	if (src != NULL) {
		struct endpoint any = *src;
		any.port = 0;
		socklen_t sl = ep_to_sa(&any, &ss);
		if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
			close(fd);
			return NULL;
		}
	}
	if ((c = conn_new(d, fd, to, true)) == NULL)
		return NULL;
	struct timeval tv = {d->cfg.tcp_frame_ms / 1000,
	    (d->cfg.tcp_frame_ms % 1000) * 1000};
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	socklen_t sl = ep_to_sa(to, &ss);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	    (int)sl) != 0) {
		conn_free(c);
		return NULL;
	}
	d->cnt.conns_out++;
	return c;
}

/* The connection a peer opened to us from `from`, or NULL.  Its source
 * port is its own, not one it listens at: what we send there goes back on
 * that connection. */
static struct conn *
conn_incoming(struct daemon *d, const struct endpoint *from)
{
	struct conn *c;

	TAILQ_FOREACH(c, &d->conns, link)
		if (!c->outgoing && ep_equal(&c->peer, from))
			return c;
	return NULL;
}

static void
tcp_send(struct daemon *d, const struct endpoint *to, const uint8_t *buf,
    size_t len)
{
	struct conn *c = conn_incoming(d, to);
	char b[64];

	if (c == NULL)
		TAILQ_FOREACH(c, &d->conns, link)
			if (c->outgoing && ep_equal(&c->peer, to))
				break;
	if (c == NULL && (c = conn_connect(d, to)) == NULL) {
		d->cnt.send_failed++;
		log_limited(d->lg, LOG_LEVEL_DEBUG, LOG_KIND_SEND,
		    "cannot connect to %s: %s", ep_str(to, b, sizeof(b)),
		    strerror(errno));
		return;
	}
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) + FRAME_HDR + len > OUT_QUEUE_MAX) {
		d->cnt.send_failed++;
		log_limited(d->lg, LOG_LEVEL_WARN, LOG_KIND_SEND,
		    "%s does not take its messages fast enough; dropping one",
		    ep_str(to, b, sizeof(b)));
		return;
	}
	uint8_t hdr[FRAME_HDR] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
	    (uint8_t)(len >> 8), (uint8_t)len};
	if (evbuffer_add(out, hdr, sizeof(hdr)) != 0 ||
	    evbuffer_add(out, buf, len) != 0) {
		d->cnt.send_failed++;
		return;
	}
	c->last_active = mono_ms();
	d->cnt.tcp_out++;
}

/* The engine's send_cb: UDP up to MSG_DGRAM_MAX, else a TCP frame; an
 * answer to a message that came by a connection goes back on it (the
 * engine answers the endpoint a request came from). */
static void
engine_send_cb(void *ctx, const struct endpoint *to, const uint8_t *buf,
    size_t len)
{
	struct daemon *d = ctx;
	bool udp = len <= MSG_DGRAM_MAX && conn_incoming(d, to) == NULL;

	trace_msg(d, "to", to, buf, len, udp ? "UDP" : "TCP");
	if (udp)
		udp_send(d, to, buf, len);
	else if (len <= MSG_STREAM_MAX)
		tcp_send(d, to, buf, len);
	else
		d->cnt.send_failed++;
}

static void
engine_random_cb(void *ctx, void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

/* The least sequence number of a first registration: the wall clock's
 * seconds, the one thing it still serves (see seq_floor_cb in engine.h). */
static uint64_t
engine_seq_floor_cb(void *ctx)
{
	return timebase_wall_ms() / 1000;
}

static void
engine_event_cb(void *ctx, const struct engine_event *ev)
{
	struct daemon *d = ctx;

	control_event(d->ctl, ev);
	dns_node_event(d->dns, ev);
}

static void
engine_log_cb(void *ctx, enum engine_log_level level, const char *msg)
{
	struct daemon *d = ctx;
	static const enum log_level map[] = {LOG_LEVEL_ERR, LOG_LEVEL_WARN,
	    LOG_LEVEL_INFO, LOG_LEVEL_DEBUG};

	log_msg(d->lg, level <= ENGINE_LOG_DEBUG ? map[level] : LOG_LEVEL_DEBUG,
	    LOG_KIND_ENGINE, NULL, "%s", msg);
}

/* ---- receiving ---------------------------------------------------------- */

static uint64_t
bad_drops(const struct engine *e)
{
	const struct engine_stats *s = engine_stats(e);

	return s->dropped[ENGINE_DROP_MALFORMED] +
	    s->dropped[ENGINE_DROP_SIGNATURE];
}

/* Hands one message to the engine. */
static void
input(struct daemon *d, const struct endpoint *from, const uint8_t *buf,
    size_t len, bool udp)
{
	uint64_t bad = bad_drops(d->engine);
	char b[64];

	trace_msg(d, "from", from, buf, len, udp ? "UDP" : "TCP");
	engine_input(d->engine, from, buf, len, daemon_now(d));
	if (bad_drops(d->engine) != bad)
		log_limited(d->lg, LOG_LEVEL_TRACE, LOG_KIND_INPUT,
		    "dropped a malformed or badly signed message from %s",
		    ep_str(from, b, sizeof(b)));
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *u = arg;
	struct daemon *d = u->d;
	char b[64];

	for (int i = 0; i < UDP_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct endpoint from;
		ssize_t n = recvfrom(fd, d->rbuf, UDP_BUF, MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &sl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_limited(d->lg, LOG_LEVEL_DEBUG,
				    LOG_KIND_INPUT, "reading UDP: %s",
				    strerror(errno));
			break;
		}
		if (sa_to_ep((struct sockaddr *)&ss, &from) != 0 ||
		    d->engine == NULL)
			continue;
		if (!rate_allow(d, &from, d->rbuf, (size_t)n))
			continue;
		d->cnt.udp_in++;
		if (n == 0 || n > MSG_DGRAM_MAX) {
			*(n == 0 ? &d->cnt.truncated : &d->cnt.oversized) += 1;
			log_limited(d->lg, LOG_LEVEL_INFO, LOG_KIND_INPUT,
			    "dropped a%s datagram from %s (%zd bytes)",
			    n == 0 ? "n empty" : "n oversized",
			    ep_str(&from, b, sizeof(b)), n);
			continue;
		}
		input(d, &from, d->rbuf, (size_t)n, true);
	}
	daemon_engine_done(d);
}

/* Reads the whole frames that arrived on a connection. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;
	struct evbuffer *in = bufferevent_get_input(bev);
	char b[64];

	c->last_active = mono_ms();
	c->busy = true;
	for (;;) {
		size_t have = evbuffer_get_length(in);
		uint8_t hdr[FRAME_HDR];
		if (have < FRAME_HDR) {
			c->frame_started = have == 0 ? 0 :
			    c->frame_started != 0 ? c->frame_started :
			    c->last_active;
			break;
		}
		evbuffer_copyout(in, hdr, FRAME_HDR);
		uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		if (n == 0 || n > MSG_STREAM_MAX) {
			d->cnt.oversized++;
			log_limited(d->lg, LOG_LEVEL_INFO, LOG_KIND_INPUT,
			    "%s announced a message of %u bytes; closing its "
			    "connection", ep_str(&c->peer, b, sizeof(b)), n);
			conn_free(c);
			daemon_engine_done(d);
			return;
		}
		if (have < FRAME_HDR + (size_t)n) {
			if (c->frame_started == 0)
				c->frame_started = c->last_active;
			break;
		}
		c->frame_started = 0;
		evbuffer_drain(in, FRAME_HDR);
		const uint8_t *p = evbuffer_pullup(in, n);
		if (p != NULL && d->engine != NULL &&
		    rate_allow(d, &c->peer, p, n)) {
			d->cnt.tcp_in++;
			input(d, &c->peer, p, n, false);
		}
		evbuffer_drain(in, n);
	}
	c->busy = false;
	daemon_engine_done(d);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;
	char b[64];

	if (what & BEV_EVENT_CONNECTED)
		return;
	size_t in = evbuffer_get_length(bufferevent_get_input(bev));
	size_t out = evbuffer_get_length(bufferevent_get_output(bev));
	if (in > 0) {
		d->cnt.truncated++;
		log_limited(d->lg, LOG_LEVEL_INFO, LOG_KIND_INPUT,
		    "%s closed its connection in the middle of a message",
		    ep_str(&c->peer, b, sizeof(b)));
	}
	if (out > 0) {
		d->cnt.send_failed++;
		log_limited(d->lg, LOG_LEVEL_DEBUG, LOG_KIND_SEND,
		    "connection to %s failed: %s", ep_str(&c->peer, b,
		    sizeof(b)), what & BEV_EVENT_TIMEOUT ? "timed out" :
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	conn_free(c);
}

static void
conn_free(struct conn *c)
{
	struct daemon *d = c->d;

	TAILQ_REMOVE(&d->conns, c, link);
	if (c->outgoing)
		d->n_out--;
	else
		d->n_in--;
	bufferevent_free(c->bev);
	free(c);
}

static void
accept_cb(struct evconnlistener *ls, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct daemon *d = arg;
	struct endpoint from;
	struct conn *c;
	int same = 0;
	char b[64];

	if (sa_to_ep(sa, &from) != 0) {
		evutil_closesocket(fd);
		return;
	}
	TAILQ_FOREACH(c, &d->conns, link)
		if (!c->outgoing && c->peer.family == from.family &&
		    memcmp(c->peer.ip, from.ip, 16) == 0)
			same++;
	if (d->n_in >= d->cfg.tcp_max_conns ||
	    same >= d->cfg.tcp_conns_per_source) {
		d->cnt.conns_refused++;
		log_limited(d->lg, LOG_LEVEL_WARN, LOG_KIND_CONN,
		    "refused a connection from %s: %s",
		    ep_str(&from, b, sizeof(b)), same >=
		    d->cfg.tcp_conns_per_source ? "too many from that address" :
		    "too many connections");
		evutil_closesocket(fd);
		return;
	}
	if ((c = conn_new(d, fd, &from, false)) == NULL)
		return;
	struct timeval tv = {d->cfg.tcp_idle_ms / 1000,
	    (d->cfg.tcp_idle_ms % 1000) * 1000};
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
	d->cnt.conns_in++;
}

static void
accept_error_cb(struct evconnlistener *ls, void *arg)
{
	struct daemon *d = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* out of descriptors: stop accepting for a moment */
		for (int i = 0; i < d->n_tcp; i++)
			evconnlistener_disable(d->tcp[i]);
		d->accept_paused = true;
		d->accept_resume = mono_ms() + ACCEPT_PAUSE_MS;
	}
	log_limited(d->lg, LOG_LEVEL_WARN, LOG_KIND_CONN,
	    "cannot accept a connection: %s", strerror(err));
}

/* ---- timers and signals --------------------------------------------------- */

static void
engine_arm(struct daemon *d, uint64_t wake)
{
	uint64_t now = daemon_now(d);
	uint64_t ms = wake > now ? wake - now : 0;

	if (ms > ENGINE_WAKE_MAX_MS)
		ms = ENGINE_WAKE_MAX_MS;
	struct timeval tv = {(time_t)(ms / 1000),
	    (suseconds_t)((ms % 1000) * 1000)};
	evtimer_add(d->ev_engine, &tv);
}

void
daemon_engine_done(struct daemon *d)
{
	if (d->engine != NULL)
		engine_arm(d, engine_tick(d->engine, daemon_now(d)));
}

static void
engine_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	daemon_engine_done(arg);
}

/* Closes idle connections and stalled frames, resumes accepting, takes
 * the engine's live peers and saves them when they changed. */
static void
house_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t now = mono_ms();
	struct conn *c, *next;
	char b[64];

	for (c = TAILQ_FIRST(&d->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->frame_started != 0 &&
		    now - c->frame_started > d->cfg.tcp_frame_ms) {
			d->cnt.truncated++;
			log_limited(d->lg, LOG_LEVEL_INFO, LOG_KIND_INPUT,
			    "%s is too slow to send a message; closing its "
			    "connection", ep_str(&c->peer, b, sizeof(b)));
			conn_free(c);
		} else if (c->outgoing && now - c->last_active >
		    d->cfg.tcp_idle_ms && evbuffer_get_length(
		    bufferevent_get_output(c->bev)) == 0) {
			conn_free(c);
		}
	}
	if (d->accept_paused && now >= d->accept_resume) {
		for (int i = 0; i < d->n_tcp; i++)
			evconnlistener_enable(d->tcp[i]);
		d->accept_paused = false;
	}
	peers_refresh(d);
	if ((d->peers_dirty && now - d->peers_saved >= PEERS_SAVE_MS) ||
	    now - d->peers_saved >= PEERS_RESAVE_MS)
		peers_save(d);
	if (now - d->clock_saved >= TIMEBASE_SAVE_MS)
		clock_save(d);
	control_tick(d->ctl);
}

/* Applies a new configuration from SIGHUP: the live options now, the
 * others at the next start (said in the log). */
static void
reload(struct daemon *d)
{
	struct config *nc = malloc(sizeof(*nc));
	char err[CONFIG_ERR_MAX];
	size_t n;
	const struct config_option *opts = config_options(&n);

	if (nc == NULL || d->reload == NULL) {
		free(nc);
		return;
	}
	if (d->reload(d->reload_arg, nc, err, sizeof(err)) != 0) {
		log_err(d->lg, "configuration not reloaded: %s", err);
		free(nc);
		return;
	}
	int live = 0;
	for (size_t i = 0; i < n; i++) {
		if (config_equal(&opts[i], &d->cfg, nc))
			continue;
		if (!opts[i].live) {
			log_warn(d->lg, "'%s' changed; it takes effect at the "
			    "next start", opts[i].name);
			continue;
		}
		memcpy((char *)&d->cfg + opts[i].off, (char *)nc + opts[i].off,
		    opts[i].size);
		live++;
	}
	log_set(d->lg, d->cfg.verbose, d->cfg.log_rate);
	log_info(d->lg, "configuration reloaded (%d option%s changed)", live,
	    live == 1 ? "" : "s");
	free(nc);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (sig == SIGHUP) {
		reload(d);
		return;
	}
	log_info(d->lg, "%s: shutting down", sig == SIGTERM ? "SIGTERM" :
	    "SIGINT");
	event_base_loopbreak(d->base);
}

/* ---- start-up ------------------------------------------------------------- */

int
daemon_bind_socket(const struct endpoint *ep, int type)
{
	struct sockaddr_storage ss;
	socklen_t sl = ep_to_sa(ep, &ss);
	int one = 1;
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (ep->family == 6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) != 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Binds UDP and TCP on one listen address.  An address family the host
 * lacks is skipped (1) when the address is the default wildcard. */
static int
listen_on(struct daemon *d, const struct endpoint *ep)
{
	char b[64];
	int ufd = daemon_bind_socket(ep, SOCK_DGRAM), tfd = -1;

	if (ufd >= 0)
		tfd = daemon_bind_socket(ep, SOCK_STREAM);
	if (ufd < 0 || tfd < 0) {
		int e = errno;
		if (ufd >= 0)
			close(ufd);
		if (e == EAFNOSUPPORT && ep_wildcard(ep)) {
			log_info(d->lg, "no IPv%u here: not listening on %s",
			    ep->family, ep_str(ep, b, sizeof(b)));
			return 1;
		}
		log_err(d->lg, "cannot listen on %s: %s",
		    ep_str(ep, b, sizeof(b)), strerror(e));
		return ANDNA_EIO;
	}
	int rcvbuf = 1 << 20;
	setsockopt(ufd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct udp_sock *u = &d->udp[d->n_udp];
	u->fd = ufd;
	u->ep = *ep;
	u->d = d;
	u->ev = event_new(d->base, ufd, EV_READ | EV_PERSIST, udp_read_cb, u);
	struct evconnlistener *ls = evconnlistener_new(d->base, accept_cb, d,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, tfd);
	if (u->ev == NULL || ls == NULL) {
		if (u->ev != NULL)
			event_free(u->ev);
		close(ufd);
		if (ls == NULL)
			close(tfd);
		else
			evconnlistener_free(ls);
		return ANDNA_ENOMEM;
	}
	d->n_udp++;
	evconnlistener_set_error_cb(ls, accept_error_cb);
	d->tcp[d->n_tcp++] = ls;
	log_info(d->lg, "listening on %s (UDP and TCP)",
	    ep_str(ep, b, sizeof(b)));
	return 0;
}

int
daemon_new(const struct config *cfg, struct log *lg, struct daemon **out)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int rc = ANDNA_ENOMEM;

	*out = NULL;
	if (d == NULL)
		return ANDNA_ENOMEM;
	d->cfg = *cfg;
	d->lg = lg;
	d->lock_fd = -1;
	TAILQ_INIT(&d->conns);
	d->base = event_base_new();
	d->rbuf = malloc(UDP_BUF);
	d->rl = ratelimit_new(RL_SLOTS);
	if (d->base == NULL || d->rbuf == NULL || d->rl == NULL)
		goto fail;
	for (int i = 0; i < cfg->listen.n; i++) {
		rc = listen_on(d, &cfg->listen.v[i]);
		if (rc < 0)
			goto fail;
	}
	if (d->n_udp == 0) {
		log_err(d->lg, "no overlay address to listen on");
		rc = ANDNA_EIO;
		goto fail;
	}
	if ((rc = control_open(d, &d->ctl)) != 0)
		goto fail;
	if ((rc = http_open(d, &d->http)) != 0)
		goto fail;
	/* DNS binds here, before privileges are dropped */
	if ((rc = dns_node_new(d, &d->dns)) != 0)
		goto fail;
	*out = d;
	return 0;
fail:
	daemon_free(d);
	return rc;
}

void
daemon_set_reload(struct daemon *d, daemon_reload_fn *fn, void *arg)
{
	d->reload = fn;
	d->reload_arg = arg;
}

int
daemon_drop_privileges(struct daemon *d)
{
	int rc;

	/* every socket, DNS on port 53 included, is bound here */
	if (d->cfg.user[0] == '\0')
		return 0;
	if ((rc = dns_drop_privileges(d->cfg.user)) != 0)
		log_err(d->lg, "cannot run as user '%s': %s", d->cfg.user,
		    andna_strerror(rc));
	return rc;
}

/* The endpoints to advertise: `advertise`, else the listen addresses, with
 * a wildcard replaced by the routed addresses (global or ULA, never
 * link-local: nodes beyond the link must reach them) of the interfaces
 * that are up. */
static int
find_endpoints(struct daemon *d)
{
	struct ifaddrs *ifa = NULL;

	for (int i = 0; i < d->cfg.advertise.n && d->n_eps < 4; i++)
		d->eps[d->n_eps++] = d->cfg.advertise.v[i];
	for (int i = 0; d->n_eps == 0 && i < d->n_udp; i++) {
		const struct endpoint *l = &d->udp[i].ep;
		if (!ep_wildcard(l)) {
			if (d->n_eps < 4)
				d->eps[d->n_eps++] = *l;
			continue;
		}
		if (ifa == NULL && getifaddrs(&ifa) != 0)
			continue;
		for (struct ifaddrs *x = ifa; x != NULL; x = x->ifa_next) {
			struct endpoint ep;
			if (x->ifa_addr == NULL || !(x->ifa_flags & IFF_UP) ||
			    (x->ifa_flags & IFF_LOOPBACK) ||
			    sa_to_ep(x->ifa_addr, &ep) != 0 ||
			    ep.family != l->family || !discover_routed(&ep))
				continue;
			ep.port = l->port;
			/* a router often puts its address on every mesh
			 * interface */
			if (d->n_eps < 4 && !own_endpoint(d, &ep))
				d->eps[d->n_eps++] = ep;
		}
	}
	freeifaddrs(ifa);
	if (d->n_eps == 0) {
		log_err(d->lg, "cannot tell which address other nodes reach "
		    "this one at: set 'advertise'");
		return ANDNA_EINVAL;
	}
	return 0;
}

/* Adds `ep` to a peer list unless it is there, or is this node. */
static void
boot_add(struct daemon *d, struct endpoint *list, int *n,
    const struct endpoint *ep)
{
	if (*n >= PEERS_BOOT_MAX || own_endpoint(d, ep))
		return;
	for (int i = 0; i < *n; i++)
		if (ep_equal(&list[i], ep))
			return;
	list[(*n)++] = *ep;
}

/* Resolves the configured bootstrap peers into `list`; returns how many. */
static int
boot_configured(struct daemon *d, struct endpoint *list)
{
	char host[CONFIG_WORD_MAX];
	int n = 0;

	for (int i = 0; i < d->cfg.bootstrap.n; i++) {
		struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
		    .ai_flags = AI_NUMERICSERV}, *res = NULL;
		uint16_t port;
		char ports[8];
		if (config_split_host(d->cfg.bootstrap.v[i], CONFIG_PORT, host,
		    sizeof(host), &port) != 0)
			continue;
		snprintf(ports, sizeof(ports), "%u", port);
		int rc = getaddrinfo(host, ports, &hints, &res);
		if (rc != 0) {
			log_warn(d->lg, "cannot resolve bootstrap peer %s: %s",
			    d->cfg.bootstrap.v[i], gai_strerror(rc));
			continue;
		}
		for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
			struct endpoint ep;
			if (sa_to_ep(a->ai_addr, &ep) == 0)
				boot_add(d, list, &n, &ep);
		}
		freeaddrinfo(res);
	}
	return n;
}

/* Joins through the peers of the last run and the configured bootstrap
 * peers, taken in turn: the engine waits longer after each peer that
 * does not answer, so the first few asked should be live.  The saved
 * peers were the engine's live view at most PEERS_SAVE_MS before the last
 * run ended; the configured ones are the operator's choice for a node
 * that was away long.  With neither, the node founds a new overlay. */
static void
join(struct daemon *d)
{
	struct endpoint conf[PEERS_BOOT_MAX], list[PEERS_BOOT_MAX];
	int n = 0, saved = 0, n_conf = boot_configured(d, conf);
	char b[64];

	for (int i = 0; i < PEERS_BOOT_MAX; i++) {
		if (i < d->peers.n) {
			int before = n;
			boot_add(d, list, &n, &d->peers.v[i].ep);
			saved += n - before;
		}
		if (i < n_conf)
			boot_add(d, list, &n, &conf[i]);
	}
	if (n == 0 && d->disc != NULL && !d->join_waited) {
		struct timeval tv = {DISCOVER_WAIT_MS / 1000,
		    (DISCOVER_WAIT_MS % 1000) * 1000};
		log_info(d->lg, "no bootstrap peers: looking for neighbours on "
		    "the mesh links for %d ms", DISCOVER_WAIT_MS);
		d->join_waited = true;
		evtimer_add(d->ev_join, &tv);
		return;
	}
	/* neighbours with a place first: they can offer one */
	int neigh = n;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < d->neigh.n; i++)
			if (d->neigh.v[i].hooked == (pass == 0))
				boot_add(d, list, &n, &d->neigh.v[i].ep);
	neigh = n - neigh;
	if (n == 0)
		log_info(d->lg, "no bootstrap peers%s: founding a new overlay",
		    d->disc != NULL ? " and no neighbour heard" : "");
	else
		log_info(d->lg, "joining through %s%s (%d peer%s, %d from the "
		    "last run, %d neighbour%s)", ep_str(&list[0], b, sizeof(b)),
		    n > 1 ? " and others" : "", n, n == 1 ? "" : "s", saved,
		    neigh, neigh == 1 ? "" : "s");
	engine_bootstrap(d->engine, list, n, daemon_now(d));
}

/* The wait for neighbours before joining is over. */
static void
join_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	join(d);
	daemon_engine_done(d);
}

/* ---- neighbour discovery -------------------------------------------- */

/* Schedules the next announcement `ms` from now. */
static void
disc_schedule(struct daemon *d, uint64_t ms)
{
	d->disc_next = mono_ms() + ms;
	struct timeval tv = {(time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(d->ev_disc, &tv);
}

/* Announces this node on every mesh link: fast right after start, so
 * that nodes started together find each other before they join, then
 * every discover_interval, jittered by a quarter either way so the
 * announcements of routers booted together spread out. */
static void
disc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint8_t buf[MSG_DGRAM_MAX];
	size_t len;
	bool hooked = engine_hooked(d->engine);

	(void)fd;
	(void)what;
	int rc = discover_build(&d->key, hooked, hooked ?
	    engine_addr(d->engine) : 0, d->eps, d->n_eps, buf, sizeof(buf),
	    &len);
	if (rc == 0)
		discover_send(d->disc, buf, len);
	else
		log_err(d->lg, "cannot build the announcement to neighbours: "
		    "%s", andna_strerror(rc));
	d->disc_sent++;
	d->disc_last = mono_ms();
	uint32_t iv = d->cfg.discover_interval_ms;
	disc_schedule(d, d->disc_sent < DISCOVER_FAST ? DISCOVER_FAST_MS :
	    iv - iv / 4 + randombytes_uniform(iv / 2 + 1));
}

/* One datagram on the discovery port: rate limited as on the overlay
 * port, then checked (signed, from the link, naming a routed endpoint)
 * and handed to the engine as a bootstrap candidate, at most once per
 * announcement interval for each neighbour. */
static void
disc_input_cb(void *arg, const uint8_t *buf, size_t len,
    const struct sockaddr *sa, int hops)
{
	struct daemon *d = arg;
	struct endpoint from;
	struct discover_neigh *x;
	bool is_new;
	uint64_t now = mono_ms(), iv = d->cfg.discover_interval_ms;
	char b[64], e[64];

	/* no message on this port answers a request of ours, so none gets
	 * past the limit as an answer does (hence no bytes to peek at) */
	if (sa_to_ep(sa, &from) != 0 || !rate_allow(d, &from, NULL, 0))
		return;
	int rc = discover_accept(&d->neigh, d->key.pk, buf, len, hops,
	    d->disc_fams, now, DISCOVER_STALE * iv, &x, &is_new);
	if (rc != 0) {
		d->cnt.disc_dropped++;
		log_limited(d->lg, LOG_LEVEL_DEBUG, LOG_KIND_INPUT,
		    "dropped an announcement from %s: %s%s",
		    ep_str(&from, b, sizeof(b)), andna_strerror(rc),
		    rc == ANDNA_EINVAL ? " (not a signed DISCOVER from the "
		    "link naming a routed address, or our own)" : "");
		return;
	}
	if (is_new) {
		char key[2 * ANDNA_PK_LEN + 1];
		sodium_bin2hex(key, sizeof(key), x->pk, ANDNA_PK_LEN);
		log_info(d->lg, "neighbour %.16s... on the link at %s, reached "
		    "at %s, %s", key, ep_str(&from, b, sizeof(b)),
		    ep_str(&x->ep, e, sizeof(e)), x->hooked ? "in the overlay" :
		    "joining");
		/* answer soon, so a router that just came up hears us
		 * before it decides how to join; never later than planned,
		 * so new keys arriving in a stream cannot put it off */
		if (now - d->disc_last >= DISCOVER_ANSWER_MS &&
		    d->disc_next > now + 200)
			disc_schedule(d, randombytes_uniform(200));
	}
	if (x->fed != 0 && now - x->fed < iv)
		return;
	x->fed = now;
	engine_neighbour(d->engine, x->pk, x->hooked, x->addr, &x->ep,
	    daemon_now(d));
	daemon_engine_done(d);
}

/* Starts neighbour discovery unless it is off, or this node has no routed
 * address to announce (a node on loopback, as in the loopback tests). */
static void
disc_start(struct daemon *d)
{
	int routed = 0;

	if (!d->cfg.discover)
		return;
	for (int i = 0; i < d->n_eps; i++)
		routed += discover_routed(&d->eps[i]);
	if (routed == 0) {
		log_info(d->lg, "not looking for neighbours: this node has no "
		    "routed address to announce (set 'advertise', or "
		    "'discover = no' to say so)");
		return;
	}
	for (int i = 0; i < d->n_udp; i++)
		d->disc_fams |= 1u << d->udp[i].ep.family;
	d->disc = discover_open(d->base, d->lg, d->disc_fams,
	    &d->cfg.mesh_interfaces, disc_input_cb, d);
	if (d->disc != NULL)
		disc_schedule(d, randombytes_uniform(DISCOVER_FAST_MS));
}

/* Loads the node key, creating it on first start. */
static int
load_node_key(struct daemon *d)
{
	char path[CONFIG_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/node.key", d->cfg.data_dir);
	int rc = keypair_load(&d->key, path);
	if (rc == ANDNA_EKEY_MISSING) {
		keypair_generate(&d->key);
		rc = keypair_save(&d->key, path);
		if (rc == 0)
			log_info(d->lg, "created the node key %s", path);
	}
	if (rc != 0)
		log_err(d->lg, "node key %s: %s", path, andna_strerror(rc));
	return rc;
}

/* Makes the data directory if missing and locks it against a second
 * daemon. */
static int
lock_data_dir(struct daemon *d)
{
	char path[CONFIG_PATH_MAX + 16];

	if (mkdir(d->cfg.data_dir, 0700) != 0 && errno != EEXIST) {
		log_err(d->lg, "cannot create the data directory %s: %s",
		    d->cfg.data_dir, strerror(errno));
		return ANDNA_EIO;
	}
	snprintf(path, sizeof(path), "%s/lock", d->cfg.data_dir);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		log_err(d->lg, "cannot lock %s: %s", path, errno == EWOULDBLOCK ?
		    "another andnad uses this data directory" : strerror(errno));
		return ANDNA_EBUSY;
	}
	return 0;
}

int
daemon_start(struct daemon *d)
{
	char path[CONFIG_PATH_MAX + 16];
	int rc;

	if ((rc = lock_data_dir(d)) != 0 || (rc = load_node_key(d)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/store", d->cfg.data_dir);
	struct store_lmdb_opts so = {d->cfg.map_size, d->cfg.map_max};
	if ((rc = store_lmdb_open(path, &so, &d->store)) != 0) {
		log_err(d->lg, "store %s: %s", path, andna_strerror(rc));
		return rc;
	}
	if ((rc = find_endpoints(d)) != 0)
		return rc;
	clock_load(d);
	peers_load(d);
	struct engine_io io = {.ctx = d, .send_cb = engine_send_cb,
	    .random_cb = engine_random_cb, .event_cb = engine_event_cb,
	    .log_cb = engine_log_cb, .store = d->store,
	    .seq_floor_cb = engine_seq_floor_cb};
	d->engine = engine_new(&d->cfg.engine, &io, &d->key, d->eps, d->n_eps,
	    daemon_now(d));
	d->ev_engine = evtimer_new(d->base, engine_timer_cb, d);
	d->ev_house = event_new(d->base, -1, EV_PERSIST, house_cb, d);
	d->ev_disc = evtimer_new(d->base, disc_cb, d);
	d->ev_join = evtimer_new(d->base, join_cb, d);
	static const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++)
		d->ev_sig[i] = evsignal_new(d->base, sigs[i], signal_cb, d);
	if (d->engine == NULL || d->ev_engine == NULL || d->ev_house == NULL ||
	    d->ev_disc == NULL || d->ev_join == NULL || d->ev_sig[0] == NULL ||
	    d->ev_sig[1] == NULL || d->ev_sig[2] == NULL)
		return ANDNA_ENOMEM;
	for (int i = 0; i < 3; i++)
		evsignal_add(d->ev_sig[i], NULL);
	struct timeval tv = {HOUSE_MS / 1000, (HOUSE_MS % 1000) * 1000};
	event_add(d->ev_house, &tv);
	for (int i = 0; i < d->n_udp; i++)
		event_add(d->udp[i].ev, NULL);
	d->started = mono_ms();
	char key[2 * ANDNA_PK_LEN + 1], b[64];
	sodium_bin2hex(key, sizeof(key), d->key.pk, ANDNA_PK_LEN);
	log_info(d->lg, "node %.16s... at %s, data in %s", key,
	    ep_str(&d->eps[0], b, sizeof(b)), d->cfg.data_dir);
	disc_start(d);
	join(d);
	daemon_engine_done(d);
	return 0;
}

int
daemon_run(struct daemon *d)
{
	if (event_base_dispatch(d->base) < 0) {
		log_err(d->lg, "the event loop failed");
		return ANDNA_EIO;
	}
	return 0;
}

void
daemon_free(struct daemon *d)
{
	struct conn *c;

	if (d == NULL)
		return;
	dns_node_free(d->dns);
	d->dns = NULL;
	if (d->engine != NULL) {
		peers_refresh(d); /* before leaving empties the engine's view */
		peers_save(d);
		engine_leave(d->engine, daemon_now(d));
		engine_free(d->engine);
		clock_save(d); /* a clean stop: the next start goes on here */
	}
	control_close(d->ctl);
	http_close(d->http);
	while ((c = TAILQ_FIRST(&d->conns)) != NULL)
		conn_free(c);
	for (int i = 0; i < d->n_tcp; i++)
		evconnlistener_free(d->tcp[i]);
	for (int i = 0; i < d->n_udp; i++) {
		event_free(d->udp[i].ev);
		close(d->udp[i].fd);
	}
	if (d->ev_engine != NULL)
		event_free(d->ev_engine);
	if (d->ev_house != NULL)
		event_free(d->ev_house);
	discover_close(d->disc);
	if (d->ev_disc != NULL)
		event_free(d->ev_disc);
	if (d->ev_join != NULL)
		event_free(d->ev_join);
	for (int i = 0; i < 3; i++)
		if (d->ev_sig[i] != NULL)
			event_free(d->ev_sig[i]);
	store_close(d->store);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	if (d->base != NULL)
		event_base_free(d->base);
	keypair_wipe(&d->key);
	free(d->rbuf);
	ratelimit_free(d->rl);
	free(d);
}

/* ---- accessors ------------------------------------------------------------ */

struct event_base *
daemon_base(struct daemon *d)
{
	return d->base;
}

struct engine *
daemon_engine(struct daemon *d)
{
	return d->engine;
}

struct store *
daemon_store(struct daemon *d)
{
	return d->store;
}

struct http *
daemon_http(struct daemon *d)
{
	return d->http;
}

struct dns_node *
daemon_dns(struct daemon *d)
{
	return d->dns;
}

struct log *
daemon_log(struct daemon *d)
{
	return d->lg;
}

const struct config *
daemon_config(const struct daemon *d)
{
	return &d->cfg;
}

const struct daemon_counters *
daemon_counters(const struct daemon *d)
{
	return &d->cnt;
}

int
daemon_endpoints(const struct daemon *d, const struct endpoint **eps)
{
	*eps = d->eps;
	return d->n_eps;
}

int
daemon_known_peers(const struct daemon *d)
{
	return d->peers.n;
}

int
daemon_neighbours(const struct daemon *d)
{
	uint64_t now = mono_ms(), stale = DISCOVER_STALE *
	    (uint64_t)d->cfg.discover_interval_ms;
	int n = 0;

	for (int i = 0; i < d->neigh.n; i++)
		n += now - d->neigh.v[i].heard < stale;
	return n;
}

uint64_t
daemon_uptime_s(const struct daemon *d)
{
	return d->started != 0 ? (mono_ms() - d->started) / 1000 : 0;
}
