/* The DNS front: listeners, the life of one query, answers from records,
 * forwarding, rate limits and privilege drop.  What it answers is
 * described in dns_front.h, the choice and order of entries in
 * dns_answer.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <sodium.h>

#include "node/dns/dns_answer.h"
#include "node/dns/dns_cookie.h"
#include "node/dns/dns_front.h"
#include "proto/err.h"

#define DNS_CHASE_MAX 8		  /* CNAME hops followed inside the overlay */
#define RATE_SLOTS 4096		  /* token buckets (clients seen recently) */
#define RR_SLOTS 4096		  /* per-name rotation counters */
/* datagrams per recvmmsg()/sendmmsg(): in bench-dns.sh 10 cost less CPU
 * per answer than 64 (1.12 against 1.30 times Knot DNS's), and answer
 * sooner (p99 0.6 ms against 2.6 ms) */
#define UDP_BATCH 10
#define UDP_ROUNDS 4		  /* batches per wake-up: TCP gets its turn */
#define UDP_RX_MAX 4096		  /* a longer datagram is cut: FORMERR */
#define HOT_SETS 1024		  /* overlay outcomes kept (hot_ms), */
#define HOT_WAYS 4		  /* in sets of this many names */
#define READY_SETS 2048	  /* answers kept ready in wire form, */
#define READY_WAYS 2		  /* in sets of this many */
#define READY_MAX 512		  /* longer answers are built each time */
#define FQ_POOL 256		  /* finished queries kept for reuse */
#define FQ_KEEP 2048		  /* larger buffers are not kept */
#define TCP_OUT_HIGH (256 * 1024) /* stop reading while this much is queued */
#define TCP_BACKLOG 1024	  /* connections waiting for accept() */
#define ZONE_REFRESH 3600
#define ZONE_RETRY 600
#define ZONE_EXPIRE 86400

struct dns_front;
struct conn;

/* One UDP socket and one TCP listener on the same address and port. */
struct listener {
	struct dns_front *f;
	struct endpoint ep; /* as bound */
	bool wildcard;	    /* reply from the address the query came to */
	int ufd;
	struct event *uev;
	struct evconnlistener *tl;
	struct event *resume; /* accepting again after EMFILE */
};

enum fq_phase { PHASE_NONE, PHASE_RESOLVE, PHASE_REVERSE, PHASE_FORWARD };

/* Where a UDP answer goes, and for a wildcard listener the address it
 * leaves from (the one the query came to). */
struct udp_peer {
	struct sockaddr_storage sa;
	socklen_t len;
	bool has_local;
	struct endpoint local;
	unsigned ifindex;
};

/* One query from a client, from arrival to answer.  Finished queries go
 * to a pool with their timer and buffers (timer..abuf_cap survive reuse). */
struct fq {
	struct event *timer;
	uint8_t *pkt;
	size_t pkt_cap;
	uint8_t *abuf;
	size_t abuf_cap;
	struct dns_front *f;
	struct fq *prev, *next;	  /* every query of the front, or the pool */
	struct fq *cprev, *cnext; /* the queries of its connection */
	struct conn *conn;	  /* TCP, or NULL for UDP */
	struct listener *l;	  /* UDP: the socket it came on */
	struct udp_peer up;	  /* UDP: where the answer goes */
	struct endpoint peer_ep;
	bool cut;	   /* UDP: longer than UDP_RX_MAX */
	uint64_t ready_key; /* UDP: its ready answer's key, or 0 */
	const struct hot_slot *ready_from; /* the outcome it is answered from */
	enum dns_cookie_status cookie;
	uint8_t cookie_out[DNS_COOKIE_MAX]; /* the COOKIE option to answer */
	size_t cookie_len;
	bool capped; /* UDP: alimit lowered by the amplification cap */
	size_t pkt_len;
	struct dns_msg msg;
	struct dns_qinfo qi;
	enum fq_phase phase;
	bool lookup;		     /* a resolver call in flight */
	char lname[ANDNA_NAME_MAX + 1]; /* the name it is for */
	struct dns_forward_req *fwd; /* a forwarded query in flight */
	int busy;		     /* inside a resolver call */
	bool done;		     /* answered: free when not busy */
	int hops;
	uint64_t seen[DNS_CHASE_MAX + 1];
	struct dns_name owner; /* owner of what the lookup answers */
	uint32_t ttl;
	size_t alimit;
	struct dns_builder b;
};

/* A TCP client. */
struct conn {
	struct dns_front *f;
	struct conn *prev, *next;
	struct listener *l;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct endpoint peer_ep;
	struct fq *queries;
	int inflight;
	struct event *idle;
	bool eof;    /* the client sends no more */
	bool paused; /* reading stopped: too many queries or output */
	bool freeing;
};

struct rate_slot {
	uint64_t key;
	uint64_t last_ms;
	uint64_t milli; /* thousandths of a token */
};

struct rr_slot {
	uint64_t key, count;
};

/* An overlay outcome kept for hot_ms: a record, or no such name. */
struct hot_slot {
	uint64_t key;	    /* hash of name; 0: empty */
	uint64_t gen;	    /* which outcome: a new one for every hot_put */
	uint64_t stale_ms;  /* the resolver is asked again from then on */
	uint64_t until_ms;  /* the end of the resolver's TTL */
	int status;	    /* 0 or ANDNA_ENOTFOUND */
	struct record *rec; /* status 0: a copy */
	char *name;	    /* a copy */
};

/* An answer kept ready in wire form: the bytes sent for a plain UDP
 * query (A or AAAA of an overlay name, no EDNS options) answered from a
 * hot outcome, kept while that outcome is.  The next query for the same
 * name in any letter case, type and EDNS gets them with its own id, RD
 * and CD flags and question patched in, the TTLs counted down, and the
 * addresses written in that query's rotation (and health order): what
 * building the answer would give, without building it. */
struct ready {
	uint64_t key;		/* of the query (ready_parse()); 0: empty */
	const struct hot_slot *hot; /* the outcome it was made from, */
	uint64_t gen;		/* while it holds this one */
	uint64_t order_key;	/* the rotation of the addresses */
	uint8_t *wire;		/* the answer, its question in lower case */
	const struct record_entry **base; /* the addresses, record order */
	uint16_t len, qlen;	/* of the answer, of the question's name */
	uint16_t n_ans;		/* address records, right after the question */
	uint16_t soa_ttl;	/* offset of the SOA's TTL, or 0 */
	bool soa_counts;	/* the SOA's TTL counts down with the outcome */
};

/* Control messages of a datagram: room for IP_PKTINFO and IPV6_PKTINFO
 * (72 bytes on Linux; CMSG_SPACE() is no constant to every compiler). */
union udp_ctl {
	char buf[128];
	size_t align; /* that of struct cmsghdr */
};

/* A datagram read in a batch. */
struct udp_in {
	struct sockaddr_storage peer;
	union udp_ctl ctl;
	struct iovec iov;
	uint8_t buf[UDP_RX_MAX];
};

/* An answer waiting for the end of its batch. */
struct udp_out {
	struct sockaddr_storage peer;
	union udp_ctl ctl;
	struct iovec iov;
	uint8_t buf[DNS_EDNS_UDP_SIZE];
};

struct dns_front {
	struct event_base *base;
	struct dns_front_config cfg;
	struct dns_front_resolver res;
	struct listener ls[DNS_FRONT_MAX_LISTEN];
	int n_ls;
	struct dns_name suffixes[DNS_FRONT_MAX_SUFFIXES];
	int n_suffixes;
	bool has_ns_name;
	struct dns_name ns_name;
	struct dns_name rname;
	uint32_t serial;
	struct dns_probe *probe;
	struct fq *queries;
	int nq;
	struct fq *pool;
	int npool;
	struct conn *conns;
	int nconns;
	uint64_t salt;
	struct rate_slot rate[RATE_SLOTS];
	struct rr_slot rr[RR_SLOTS];
	struct hot_slot hot[HOT_SETS][HOT_WAYS];
	uint64_t hot_gen;
	struct ready ready[READY_SETS][READY_WAYS];
	struct dns_net allow[DNS_FRONT_MAX_NETS];
	int n_allow;
	struct dns_net exempt[DNS_FRONT_MAX_NETS];
	int n_exempt;
	struct dns_front_stats st;
	struct dns_cookies cookies;
	uint64_t now_ms;	  /* inside a batch: when it was read */
	struct listener *batch;	  /* the listener whose batch is open */
	int nout;
	struct mmsghdr inh[UDP_BATCH], outh[UDP_BATCH];
	struct udp_in in[UDP_BATCH];
	struct udp_out out[UDP_BATCH];
	uint8_t ubuf[DNS_TCP_LIMIT]; /* a TCP query being read */
};

void
dns_front_config_defaults(struct dns_front_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen[0].family = 6;
	cfg->listen[0].port = 53;
	cfg->listen[1].family = 4;
	cfg->listen[1].port = 53;
	cfg->n_listen = 2;
	cfg->suffixes[0] = "ntk";
	cfg->n_suffixes = 1;
	cfg->timeout_ms = 3000;
	cfg->reverse_timeout_ms = 1500;
	cfg->negative_ttl = 30;
	cfg->zone_ttl = 300;
	cfg->hot_ms = 1000;
	cfg->tcp_idle_ms = 10000;
	cfg->tcp_max_conns = 256;
	cfg->tcp_max_per_host = 32;
	cfg->tcp_max_inflight = 32;
	cfg->max_queries = 4096;
	cfg->rate_qps = 100;
	cfg->rate_burst = 200;
	dns_net_parse("127.0.0.0/8", &cfg->rate_exempt[0]);
	dns_net_parse("::1/128", &cfg->rate_exempt[1]);
	cfg->n_rate_exempt = 2;
	cfg->allow_local = true;
	cfg->probe = true;
	cfg->probe_port = 80;
	dns_probe_config_defaults(&cfg->probe_cfg);
}

static void front_log(struct dns_front *f, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line to the host's log. */
static void
front_log(struct dns_front *f, int level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (f->cfg.log_cb == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->cfg.log_cb(f->cfg.log_ctx, level, msg);
}

/* A probe changed the health of an address: one line to the log, a
 * warning when it went down (it is answered last from now on), a debug
 * line when its first probe found it up. */
static void
probe_change_cb(void *ctx, const struct endpoint *target, enum dns_health was,
    enum dns_health health, int err)
{
	struct dns_front *f = ctx;
	char text[INET6_ADDRSTRLEN];

	inet_ntop(target->family == 4 ? AF_INET : AF_INET6, target->ip, text,
	    sizeof(text));
	if (health == DNS_HEALTH_DOWN && err == ETIMEDOUT)
		front_log(f, DNS_LOG_WARN,
		    "dns: probe: %s port %u is down (no answer in %u ms): "
		    "answered last",
		    text, target->port, (unsigned)f->cfg.probe_cfg.timeout_ms);
	else if (health == DNS_HEALTH_DOWN)
		front_log(f, DNS_LOG_WARN,
		    "dns: probe: %s port %u is down (%s): answered last", text,
		    target->port, strerror(err));
	else
		front_log(f,
		    was == DNS_HEALTH_DOWN ? DNS_LOG_INFO : DNS_LOG_DEBUG,
		    "dns: probe: %s port %u is up%s", text, target->port,
		    err == 0 ? "" : " (refused: the host answers)");
}

/* Milliseconds of the monotonic clock. */
static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Now, for rate limits and kept outcomes: a batch of datagrams shares the
 * time it was read. */
static uint64_t
front_now(const struct dns_front *f)
{
	return f->batch != NULL ? f->now_ms : mono_ms();
}

/* ---- client networks ----------------------------------------------- */

/* Clears the bits of ip past prefix. */
static void
net_clear(struct dns_net *n)
{
	int len = n->family == 4 ? 4 : 16;

	for (int i = 0; i < len; i++) {
		int bits = (int)n->prefix - i * 8;
		if (bits >= 8)
			continue;
		n->ip[i] &= bits <= 0 ? 0 : (uint8_t)(0xff00 >> bits);
	}
	if (n->family == 4)
		memset(n->ip + 4, 0, 12);
}

int
dns_net_parse(const char *text, struct dns_net *out)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix;
	char *end;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr))
		return ANDNA_EINVAL;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->ip) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, addr, out->ip) == 1)
		out->family = 6;
	else
		return ANDNA_EINVAL;
	prefix = out->family == 4 ? 32 : 128;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return ANDNA_EINVAL;
		errno = 0;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || v > prefix)
			return ANDNA_EINVAL;
		prefix = v;
	}
	out->prefix = (uint8_t)prefix;
	net_clear(out);
	return 0;
}

bool
dns_net_match(const struct dns_net *nets, int n, const struct endpoint *ep)
{
	for (int i = 0; i < n; i++) {
		const struct dns_net *nt = &nets[i];
		int whole = nt->prefix / 8, rest = nt->prefix % 8;
		if (nt->family != ep->family ||
		    memcmp(nt->ip, ep->ip, (size_t)whole) != 0)
			continue;
		if (rest == 0 ||
		    ((ep->ip[whole] ^ nt->ip[whole]) &
			(uint8_t)(0xff00 >> rest)) == 0)
			return true;
	}
	return false;
}

/* Adds a network to a list of the front, unless it is full (logged). */
static void
net_add(struct dns_front *f, struct dns_net *list, int *n,
    const struct dns_net *net, const char *what)
{
	if (*n >= DNS_FRONT_MAX_NETS) {
		front_log(f, DNS_LOG_WARN,
		    "dns: more than %d networks in %s; the rest left out",
		    DNS_FRONT_MAX_NETS, what);
		return;
	}
	list[*n] = *net;
	net_clear(&list[*n]);
	(*n)++;
}

/* The number of leading one bits of a netmask of len bytes. */
static uint8_t
mask_prefix(const uint8_t *m, int len)
{
	uint8_t p = 0;

	for (int i = 0; i < len; i++)
		for (int b = 7; b >= 0; b--) {
			if (!(m[i] & (1u << b)))
				return p;
			p++;
		}
	return p;
}

/* Whether net (bits past its prefix cleared) is in the list already: two
 * addresses of one subnet take one entry. */
static bool
net_listed(const struct dns_net *list, int n, const struct dns_net *net)
{
	struct dns_net c = *net;

	net_clear(&c);
	for (int i = 0; i < n; i++)
		if (list[i].family == c.family && list[i].prefix == c.prefix &&
		    memcmp(list[i].ip, c.ip, 16) == 0)
			return true;
	return false;
}

/* Adds loopback and the network of each address of an interface that is
 * up (its address and netmask), as the host has them now. */
static void
nets_add_local(
    struct dns_front *f, struct dns_net *list, int *n, const char *what)
{
	struct ifaddrs *ifa = NULL;
	struct dns_net net;

	dns_net_parse("127.0.0.0/8", &net);
	net_add(f, list, n, &net, what);
	dns_net_parse("::1/128", &net);
	net_add(f, list, n, &net, what);
	if (getifaddrs(&ifa) != 0) {
		front_log(f, DNS_LOG_WARN,
		    "dns: cannot list the interfaces (%s): %s has loopback "
		    "only",
		    strerror(errno), what);
		return;
	}
	for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_netmask == NULL ||
		    !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		memset(&net, 0, sizeof(net));
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *a = (void *)i->ifa_addr;
			const struct sockaddr_in *m = (void *)i->ifa_netmask;
			net.family = 4;
			memcpy(net.ip, &a->sin_addr, 4);
			net.prefix =
			    mask_prefix((const uint8_t *)&m->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *a = (void *)i->ifa_addr;
			const struct sockaddr_in6 *m = (void *)i->ifa_netmask;
			net.family = 6;
			memcpy(net.ip, &a->sin6_addr, 16);
			net.prefix =
			    mask_prefix((const uint8_t *)&m->sin6_addr, 16);
		} else
			continue;
		if (!net_listed(list, *n, &net))
			net_add(f, list, n, &net, what);
	}
	freeifaddrs(ifa);
}

/* The bytes of an address that name its host, for the rate limit and the
 * TCP share: an IPv4 address, or an IPv6 /64 (one host holds a whole /64). */
static size_t
host_len(const struct endpoint *ep)
{
	return ep->family == 4 ? 4 : 8;
}

/*
 * Rate limit: one token bucket per client (an IPv4 address, or an IPv6
 * /64, since one host holds a whole /64), rate_qps tokens a second up to
 * rate_burst.  Over the limit, a UDP query is dropped without a word: its
 * source may be forged, and any answer, even REFUSED, would make us a
 * reflector aimed at the forged address.  A TCP query gets REFUSED: the
 * handshake proved the address, the answer costs nothing, and it tells a
 * real client why.  Buckets live in a fixed table (no allocation per
 * client); a client whose slot another took starts again with a full
 * bucket, which errs on the side of answering.
 */
static bool
rate_allow(struct dns_front *f, const struct endpoint *ep)
{
	struct rate_slot *s;
	uint64_t key, now, cap;

	if (f->cfg.rate_qps == 0 || dns_net_match(f->exempt, f->n_exempt, ep))
		return true;
	key = dns_hash(DNS_HASH_INIT ^ f->salt, &ep->family, 1);
	key = dns_hash(key, ep->ip, host_len(ep));
	s = &f->rate[key % RATE_SLOTS];
	now = front_now(f);
	cap = (uint64_t)(f->cfg.rate_burst > 0 ? f->cfg.rate_burst : 1) * 1000;
	if (s->key != key || s->last_ms == 0) {
		s->key = key;
		s->milli = cap;
	} else {
		s->milli += (now - s->last_ms) * f->cfg.rate_qps;
		if (s->milli > cap)
			s->milli = cap;
	}
	s->last_ms = now == 0 ? 1 : now;
	if (s->milli < 1000) {
		f->st.rate_limited++;
		return false;
	}
	s->milli -= 1000;
	return true;
}

/* The next rotation count of a (name, query) key. */
static uint64_t
rr_next(struct dns_front *f, uint64_t key)
{
	struct rr_slot *s = &f->rr[key % RR_SLOTS];

	if (s->key != key) {
		s->key = key;
		s->count = 0;
	}
	return s->count++;
}

static void fq_free(struct fq *q);
static void conn_check(struct conn *c);
static void ready_put(struct fq *q, const uint8_t *buf, size_t len);

/* Sends the answers queued in the open batch, in as few calls as the
 * kernel allows. */
static void
udp_flush(struct dns_front *f)
{
	int fd, done = 0, n = f->nout;

	if (n == 0)
		return;
	fd = f->batch->ufd;
	f->nout = 0;
	while (done < n) {
		int r = sendmmsg(fd, f->outh + done, (unsigned)(n - done),
		    MSG_DONTWAIT);
		if (r > 0) {
			done += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* a full socket buffer drops the answer, as the network
		 * might; the rest may still fit */
		f->st.dropped++;
		done++;
	}
}

/* Fills mh to send iov to up (from the address the query came to: a
 * wildcard listener's replies must leave from it); peer and ctl are the
 * storage mh points to. */
static void
udp_msghdr(const struct udp_peer *up, struct msghdr *mh, struct iovec *iov,
    struct sockaddr_storage *peer, union udp_ctl *ctl)
{
	struct cmsghdr *cm;

	memset(mh, 0, sizeof(*mh));
	memcpy(peer, &up->sa, up->len);
	mh->msg_name = peer;
	mh->msg_namelen = up->len;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	if (!up->has_local)
		return;
	memset(ctl, 0, sizeof(*ctl));
	mh->msg_control = ctl->buf;
	cm = (struct cmsghdr *)ctl->buf;
	if (up->local.family == 4) {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, up->local.ip, 4);
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, up->local.ip, 16);
		pi.ipi6_ifindex = up->ifindex;
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
}

/* Takes the address a datagram came to from its control messages. */
static void
udp_local(struct udp_peer *up, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
	     cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			up->local.family = 4;
			memcpy(up->local.ip, &pi.ipi_addr, 4);
			up->has_local = true;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			up->local.family = 6;
			memcpy(up->local.ip, &pi.ipi6_addr, 16);
			up->ifindex = pi.ipi6_ifindex;
			up->has_local = true;
		}
	}
}

/* Sends one UDP answer on l to up: queued while l's batch is open (sent
 * with the others by udp_flush()), else at once. */
static void
udp_send(struct dns_front *f, struct listener *l, const struct udp_peer *up,
    const uint8_t *buf, size_t len)
{
	struct sockaddr_storage peer;
	union udp_ctl ctl;
	struct iovec iov = {(void *)buf, len};
	struct msghdr mh;
	struct udp_out *o;

	if (f->batch == l && len <= sizeof(o->buf)) {
		if (f->nout == UDP_BATCH)
			udp_flush(f);
		o = &f->out[f->nout];
		memcpy(o->buf, buf, len);
		o->iov.iov_base = o->buf;
		o->iov.iov_len = len;
		udp_msghdr(up, &f->outh[f->nout].msg_hdr, &o->iov, &o->peer,
		    &o->ctl);
		f->nout++;
		return;
	}
	udp_msghdr(up, &mh, &iov, &peer, &ctl);
	/* a full socket buffer drops the answer, as the network might */
	if (sendmsg(l->ufd, &mh, MSG_DONTWAIT) < 0)
		f->st.dropped++;
}

/* Counts an answer's rcode (the whole 12 bits: BADVERS has 0 in the
 * header) and its TC bit. */
static void
count_answer(struct dns_front_stats *st, const uint8_t *buf, size_t len,
    uint16_t rcode)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		st->noerror++;
		break;
	case DNS_RCODE_FORMERR:
		st->formerr++;
		break;
	case DNS_RCODE_SERVFAIL:
		st->servfail++;
		break;
	case DNS_RCODE_NXDOMAIN:
		st->nxdomain++;
		break;
	case DNS_RCODE_NOTIMP:
		st->notimp++;
		break;
	case DNS_RCODE_REFUSED:
		st->refused++;
		break;
	case DNS_RCODE_BADVERS:
		st->badvers++;
		break;
	}
	if (len >= 3 && (buf[2] & 0x02))
		st->truncated++;
}

/* Sends an answer to the client of q and counts it (TC under the cap
 * also as capped). */
static void
fq_send(struct fq *q, const uint8_t *buf, size_t len, uint16_t rcode)
{
	uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};

	count_answer(&q->f->st, buf, len, rcode);
	q->f->st.capped += q->capped && len >= 3 && (buf[2] & 0x02);
	if (q->conn == NULL) {
		udp_send(q->f, q->l, &q->up, buf, len);
		return;
	}
	bufferevent_write(q->conn->bev, hdr, 2);
	bufferevent_write(q->conn->bev, buf, len);
}

/* Marks q answered and frees it unless a resolver call is on the stack. */
static void
fq_done(struct fq *q)
{
	q->done = true;
	if (q->busy == 0)
		fq_free(q);
}

/* Starts (or restarts) the answer to q in its buffer. */
static int
fq_begin(struct fq *q, bool ours)
{
	int rc;

	if (q->alimit == 0) {
		if (q->conn != NULL)
			q->alimit = DNS_TCP_LIMIT;
		else {
			/* never above our own advertised size: big UDP
			 * answers fragment, and fragments get lost or
			 * forged; TC sends the client to TCP instead */
			size_t lim = dns_query_udp_limit(&q->msg);
			if (lim > DNS_EDNS_UDP_SIZE)
				lim = DNS_EDNS_UDP_SIZE;
			q->alimit =
			    dns_cookie_udp_limit(lim, q->pkt_len, q->cookie);
			q->capped = q->alimit < lim;
		}
	}
	if (q->abuf_cap < q->alimit) {
		free(q->abuf);
		q->abuf_cap = 0;
		if ((q->abuf = malloc(q->alimit)) == NULL)
			return ANDNA_ENOMEM;
		q->abuf_cap = q->alimit;
	}
	rc = dns_response_init(&q->b, q->abuf, q->alimit, q->alimit, &q->msg);
	if (rc == 0 && q->cookie_len > 0)
		rc = dns_response_set_cookie(
		    &q->b, q->cookie_out, q->cookie_len);
	if (rc != 0)
		return rc;
	dns_response_set_flag(&q->b, DNS_FLAG_AA, ours);
	dns_response_set_flag(
	    &q->b, DNS_FLAG_RA, dns_forward_upstreams(q->f->cfg.forward) > 0);
	return 0;
}

/* Finishes the answer being built and sends it. */
static void
fq_finish(struct fq *q)
{
	size_t len;

	if (dns_response_finish(&q->b, &len) == 0) {
		fq_send(q, q->abuf, len, q->b.rcode);
		if (q->ready_from != NULL)
			ready_put(q, q->abuf, len);
	}
	fq_done(q);
}

/* Answers q with nothing but an rcode. */
static void
fq_error(struct fq *q, uint16_t rcode)
{
	if (fq_begin(q, false) != 0) {
		q->f->st.dropped++;
		fq_done(q);
		return;
	}
	dns_response_set_rcode(&q->b, rcode);
	fq_finish(q);
}

/* The SOA of the zone q falls in. */
static void
zone_soa(struct fq *q, struct dns_soa *soa)
{
	struct dns_front *f = q->f;

	memset(soa, 0, sizeof(*soa));
	soa->mname = f->has_ns_name ? f->ns_name : q->qi.apex;
	soa->rname = f->rname;
	soa->serial = f->serial;
	soa->refresh = ZONE_REFRESH;
	soa->retry = ZONE_RETRY;
	soa->expire = ZONE_EXPIRE;
	soa->minimum = f->cfg.negative_ttl;
}

/* The TTL of the SOA in a denial: the negative TTL, never above the
 * zone's own. */
static uint32_t
denial_ttl(const struct dns_front *f)
{
	return f->cfg.negative_ttl < f->cfg.zone_ttl ? f->cfg.negative_ttl
						     : f->cfg.zone_ttl;
}

/* Ends an overlay answer with no (further) records: NXDOMAIN or NODATA,
 * the zone's SOA in authority so resolvers cache the denial for the SOA
 * minimum (RFC 2308), or less when the denial comes from a record (an
 * AAAA of a name with IPv4 only, a service it lacks): the SOA's TTL then
 * is at most the record's, so the owner's next address set is not
 * denied for longer than the TTL the owner chose. */
static void
fq_negative(struct fq *q, uint16_t rcode)
{
	struct dns_front *f = q->f;
	struct dns_soa soa;
	uint32_t ttl = denial_ttl(f);

	if (q->ttl < ttl)
		ttl = q->ttl;

	if (rcode == DNS_RCODE_NOERROR && q->b.count[DNS_SEC_ANSWER] == 0)
		f->st.nodata++;
	zone_soa(q, &soa);
	dns_response_add_soa(&q->b, DNS_SEC_AUTHORITY, &q->qi.apex, ttl, &soa);
	dns_response_set_rcode(&q->b, rcode);
	fq_finish(q);
}

/* Adds the node's own addresses (ns_addrs) of the families qtype asks
 * for, owned by owner, to section. */
static void
add_ns_addrs(struct fq *q, enum dns_section sec, const struct dns_name *owner,
    uint16_t qtype)
{
	struct dns_front *f = q->f;

	for (int i = 0; i < f->cfg.n_ns_addrs; i++) {
		const struct endpoint *a = &f->cfg.ns_addrs[i];
		if (a->family == 4 &&
		    (qtype == DNS_TYPE_A || qtype == DNS_TYPE_ANY))
			dns_response_add_a(
			    &q->b, sec, owner, f->cfg.zone_ttl, a->ip);
	}
	for (int i = 0; i < f->cfg.n_ns_addrs; i++) {
		const struct endpoint *a = &f->cfg.ns_addrs[i];
		if (a->family == 6 &&
		    (qtype == DNS_TYPE_AAAA || qtype == DNS_TYPE_ANY))
			dns_response_add_aaaa(
			    &q->b, sec, owner, f->cfg.zone_ttl, a->ip);
	}
}

/* Answers at a suffix apex: SOA, NS (with the node's addresses as glue
 * when the NS is the apex itself), A/AAAA of the apex, else NODATA. */
static void
answer_apex(struct fq *q)
{
	struct dns_front *f = q->f;
	const struct dns_name *qn = &q->msg.q.name;
	const struct dns_name *ns = f->has_ns_name ? &f->ns_name : qn;
	uint16_t t = q->msg.q.qtype;
	struct dns_soa soa;

	if (t == DNS_TYPE_SOA || t == DNS_TYPE_ANY) {
		zone_soa(q, &soa);
		dns_response_add_soa(
		    &q->b, DNS_SEC_ANSWER, qn, f->cfg.zone_ttl, &soa);
	}
	if (t == DNS_TYPE_NS || t == DNS_TYPE_ANY)
		dns_response_add_ns(
		    &q->b, DNS_SEC_ANSWER, qn, f->cfg.zone_ttl, ns);
	if (!f->has_ns_name &&
	    (t == DNS_TYPE_A || t == DNS_TYPE_AAAA || t == DNS_TYPE_ANY))
		add_ns_addrs(q, DNS_SEC_ANSWER, qn, t);
	if (t == DNS_TYPE_NS && !f->has_ns_name)
		add_ns_addrs(q, DNS_SEC_ADDITIONAL, qn, DNS_TYPE_ANY);
	if (q->b.count[DNS_SEC_ANSWER] == 0 && !dns_response_truncated(&q->b)) {
		fq_negative(q, DNS_RCODE_NOERROR);
		return;
	}
	fq_finish(q);
}

/* Answers `<ip>._ip.<suffix>`, the names given to IP targets of SRV. */
static void
answer_addr(struct fq *q)
{
	const struct endpoint *ip = &q->qi.ip;
	uint16_t t = q->msg.q.qtype;
	uint32_t ttl = q->f->cfg.zone_ttl;

	if (ip->family == 4 && (t == DNS_TYPE_A || t == DNS_TYPE_ANY))
		dns_response_add_a(
		    &q->b, DNS_SEC_ANSWER, &q->msg.q.name, ttl, ip->ip);
	if (ip->family == 6 && (t == DNS_TYPE_AAAA || t == DNS_TYPE_ANY))
		dns_response_add_aaaa(
		    &q->b, DNS_SEC_ANSWER, &q->msg.q.name, ttl, ip->ip);
	if (q->b.count[DNS_SEC_ANSWER] == 0 && !dns_response_truncated(&q->b)) {
		fq_negative(q, DNS_RCODE_NOERROR);
		return;
	}
	fq_finish(q);
}

/* The endpoint of an IP entry: its address and the port a probe tries. */
static void
entry_endpoint(const struct record_entry *e, uint16_t port, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = e->kind == RECORD_TARGET_IPV4 ? 4 : 6;
	memcpy(ep->ip, e->target.ip, ep->family == 4 ? 4 : 16);
	ep->port = port;
}

/* With probes on, moves targets that are down after the others in
 * p->e[from..to), keeping the order within each part. */
static void
order_health(struct dns_front *f, struct dns_pick *p, int from, int to,
    bool srv)
{
	const struct record_entry *down[ANDNA_ENTRIES_MAX];
	int nd = 0, out = from;

	if (f->probe == NULL)
		return;
	for (int i = from; i < to; i++) {
		const struct record_entry *e = p->e[i];
		struct endpoint ep;
		if (e->kind == RECORD_TARGET_NAME) {
			p->e[out++] = e;
			continue;
		}
		entry_endpoint(e, srv ? e->service : f->cfg.probe_port, &ep);
		if (dns_probe_health(f->probe, &ep) == DNS_HEALTH_DOWN)
			down[nd++] = e;
		else
			p->e[out++] = e;
	}
	memcpy(&p->e[out], down, (size_t)nd * sizeof(down[0]));
}

/* The rotation key of a name and what is asked of it. */
static uint64_t
order_key(const char *name, uint16_t what, uint8_t proto)
{
	uint64_t h = dns_hash(DNS_HASH_INIT, name, strlen(name));
	h = dns_hash(h, &what, sizeof(what));
	return dns_hash(h, &proto, 1);
}

static void fq_lookup(struct fq *q, const char *name);

/* Adds the addresses of one family of a host record to the answer.
 * Returns the kind the record offered. */
static enum dns_pick_kind
add_hosts(struct fq *q, const struct record *rec, int family, uint32_t ttl,
    uint16_t qtype)
{
	struct dns_pick pick;
	enum dns_pick_kind k = dns_pick_host(rec, family, &pick);
	uint64_t key;

	if (k != DNS_PICK_ADDRS ||
	    (qtype != DNS_TYPE_ANY &&
		qtype != (family == 4 ? DNS_TYPE_A : DNS_TYPE_AAAA)))
		return k;
	key = order_key(rec->name, (uint16_t)family, 0);
	dns_order(&pick, 0, pick.n, rr_next(q->f, key), key);
	order_health(q->f, &pick, 0, pick.n, false);
	for (int i = 0; i < pick.n; i++) {
		if (family == 4)
			dns_response_add_a(&q->b, DNS_SEC_ANSWER, &q->owner,
			    ttl, pick.e[i]->target.ip);
		else
			dns_response_add_aaaa(&q->b, DNS_SEC_ANSWER, &q->owner,
			    ttl, pick.e[i]->target.ip);
	}
	return k;
}

/* A host whose service-0 entries are all names: a CNAME to the first of
 * the rotated best set, chased inside the overlay for address queries. */
static void
answer_cname(struct fq *q, const struct record *rec, uint32_t ttl)
{
	struct dns_pick pick;
	struct dns_name target;
	uint16_t t = q->msg.q.qtype;
	uint64_t key, h;
	const char *next;

	q->ready_from = NULL; /* a chase: built each time */
	dns_pick_host(rec, 4, &pick);
	key = order_key(rec->name, 0, 0);
	dns_order(&pick, 0, pick.n, rr_next(q->f, key), key);
	next = pick.e[0]->target.name;
	if (dns_overlay_name(next, &q->qi.apex, &target) != 0) {
		fq_error(q, DNS_RCODE_SERVFAIL);
		return;
	}
	dns_response_add_cname(&q->b, DNS_SEC_ANSWER, &q->owner, ttl, &target);
	if (t != DNS_TYPE_A && t != DNS_TYPE_AAAA && t != DNS_TYPE_ANY) {
		fq_finish(q);
		return;
	}
	/* a loop or a long chain: hand back what we have */
	h = dns_hash(DNS_HASH_INIT, next, strlen(next));
	for (int i = 0; i <= q->hops; i++) {
		if (q->seen[i] == h || q->hops >= DNS_CHASE_MAX) {
			fq_finish(q);
			return;
		}
	}
	q->seen[++q->hops] = h;
	q->owner = target;
	fq_lookup(q, next);
}

/* Answers a host name (A, AAAA, ANY, anything else) from its record. */
static void
answer_host(struct fq *q, const struct record *rec, uint32_t ttl)
{
	uint16_t t = q->msg.q.qtype;

	if (add_hosts(q, rec, t == DNS_TYPE_AAAA ? 6 : 4, ttl, t) ==
	    DNS_PICK_CNAME) {
		answer_cname(q, rec, ttl);
		return;
	}
	if (t == DNS_TYPE_ANY)
		add_hosts(q, rec, 6, ttl, t);
	if (q->b.count[DNS_SEC_ANSWER] == 0 && !dns_response_truncated(&q->b)) {
		fq_negative(q, DNS_RCODE_NOERROR);
		return;
	}
	fq_finish(q);
}

/* Answers `_svc._proto.NAME`: every matching entry by priority, each
 * priority's set weighted and (with probes) live first, IP targets under
 * their `_ip` names with glue. */
static void
answer_srv(struct fq *q, const struct record *rec, uint32_t ttl)
{
	struct dns_pick pick;
	uint16_t t = q->msg.q.qtype;
	uint64_t key, count;
	int n;

	n = dns_pick_srv(rec, q->qi.port, q->qi.proto, &pick);
	if (n == 0) {
		fq_negative(q, DNS_RCODE_NXDOMAIN);
		return;
	}
	if (t != DNS_TYPE_SRV && t != DNS_TYPE_ANY) {
		fq_negative(q, DNS_RCODE_NOERROR);
		return;
	}
	key = order_key(rec->name, q->qi.port, q->qi.proto);
	count = rr_next(q->f, key);
	for (int i = 0, j; i < n; i = j) {
		for (j = i;
		     j < n && pick.e[j]->priority == pick.e[i]->priority;)
			j++;
		dns_order(&pick, i, j, count, key);
		order_health(q->f, &pick, i, j, true);
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			const struct record_entry *e = pick.e[i];
			struct dns_srv srv;
			struct endpoint ip;
			int rc;
			memset(&srv, 0, sizeof(srv));
			if (e->kind == RECORD_TARGET_NAME) {
				if (pass == 1)
					continue;
				rc = dns_overlay_name(
				    e->target.name, &q->qi.apex, &srv.target);
			} else {
				entry_endpoint(e, 0, &ip);
				rc = dns_addr_name(
				    &ip, &q->qi.apex, &srv.target);
			}
			if (rc != 0)
				continue;
			if (pass == 0) {
				srv.priority = e->priority;
				srv.weight = e->weight;
				srv.port = e->service;
				dns_response_add_srv(&q->b, DNS_SEC_ANSWER,
				    &q->owner, ttl, &srv);
			} else if (ip.family == 4)
				dns_response_add_a(&q->b, DNS_SEC_ADDITIONAL,
				    &srv.target, ttl, ip.ip);
			else
				dns_response_add_aaaa(&q->b, DNS_SEC_ADDITIONAL,
				    &srv.target, ttl, ip.ip);
		}
	}
	fq_finish(q);
}

/* A copy of rec that record_free() frees, or NULL. */
static struct record *
rec_copy(const struct record *rec)
{
	struct record *c = malloc(sizeof(*c));
	size_t len = (size_t)rec->n_entries * sizeof(rec->entries[0]);

	if (c == NULL)
		return NULL;
	*c = *rec;
	c->entries = NULL;
	if (len > 0 && (c->entries = malloc(len)) == NULL) {
		free(c);
		return NULL;
	}
	if (len > 0)
		memcpy(c->entries, rec->entries, len);
	return c;
}

/* The set of slots name may be kept in, and its key. */
static struct hot_slot *
hot_set(struct dns_front *f, const char *name, uint64_t *key)
{
	*key = dns_hash(DNS_HASH_INIT ^ f->salt, name, strlen(name)) | 1;
	return f->hot[*key % HOT_SETS];
}

/* Empties a slot. */
static void
hot_clear(struct hot_slot *h)
{
	record_free(h->rec);
	free(h->name);
	memset(h, 0, sizeof(*h));
}

/* Whether a kept outcome is the one given: the same status and, for a
 * record, the same signed record (owner, sequence number, signature). */
static bool
hot_same(const struct hot_slot *h, int status, const struct record *rec)
{
	if (h->status != status)
		return false;
	return status != 0 ||
	    (h->rec->seq == rec->seq &&
		memcmp(h->rec->owner, rec->owner, sizeof(rec->owner)) == 0 &&
		memcmp(h->rec->sig, rec->sig, sizeof(rec->sig)) == 0);
}

/* Keeps a resolver's outcome for name (a record, or no such name) for
 * hot_ms, never beyond its TTL, in the slot of its set that held it, or
 * else in the one that goes stale first.  The same outcome again only
 * renews its times, so the answers kept ready from it stay.  Other
 * outcomes are not kept: the next query asks again. */
static void
hot_put(struct dns_front *f, const char *name, int status,
    const struct record *rec, uint32_t ttl)
{
	struct hot_slot *set, *h;
	struct record *copy = NULL;
	char *ncopy = NULL;
	uint64_t key, now = front_now(f);
	bool found = false;

	if (f->cfg.hot_ms == 0 || ttl == 0 ||
	    (status != 0 && status != ANDNA_ENOTFOUND))
		return;
	set = hot_set(f, name, &key);
	h = &set[0];
	for (int i = 0; i < HOT_WAYS; i++) {
		if (set[i].key == key && strcmp(set[i].name, name) == 0) {
			h = &set[i];
			found = true;
			break;
		}
		if (set[i].stale_ms < h->stale_ms)
			h = &set[i];
	}
	if (!found || !hot_same(h, status, rec)) {
		if ((status == 0 && (copy = rec_copy(rec)) == NULL) ||
		    (ncopy = strdup(name)) == NULL) {
			record_free(copy);
			return;
		}
		hot_clear(h);
		h->key = key;
		h->gen = ++f->hot_gen;
		h->status = status;
		h->rec = copy;
		h->name = ncopy;
	}
	h->until_ms = now + (uint64_t)ttl * 1000;
	/* each name its own share of hot_ms: names kept together (a burst
	 * of queries, the start) do not all go back to the resolver in one
	 * turn of the loop */
	h->stale_ms = now + f->cfg.hot_ms / 2 +
	    (key ^ f->salt) % (f->cfg.hot_ms / 2 + 1);
	if (h->stale_ms > h->until_ms)
		h->stale_ms = h->until_ms;
}

/* Seconds left of a kept outcome's TTL, rounded up, as the resolver's
 * cache would count them. */
static uint32_t
hot_ttl(const struct dns_front *f, const struct hot_slot *h)
{
	uint64_t left = h->until_ms - front_now(f);

	return (uint32_t)((left + 999) / 1000);
}

/* The kept outcome of name, or NULL when there is none or it is stale. */
static const struct hot_slot *
hot_get(struct dns_front *f, const char *name)
{
	uint64_t key, now = front_now(f);
	const struct hot_slot *set = hot_set(f, name, &key);

	for (int i = 0; i < HOT_WAYS; i++)
		if (set[i].key == key && now < set[i].stale_ms &&
		    strcmp(set[i].name, name) == 0)
			return &set[i];
	return NULL;
}

void
dns_front_forget(struct dns_front *f)
{
	for (int i = 0; i < HOT_SETS; i++)
		for (int j = 0; j < HOT_WAYS; j++)
			hot_clear(&f->hot[i][j]);
}

/* ---- ready answers ------------------------------------------------ */

/* The key of a query that a ready answer may serve: opcode QUERY, one
 * question (A or AAAA, class IN, a name of plain labels) and nothing else
 * but an OPT of version 0 without options.  Writes the name in lower case
 * to lc, its length to *qlen and the largest answer the client takes to
 * *limit (within the amplification cap: such a query has no cookie).
 * Returns 0 for any other query: that one is built. */
static uint64_t
ready_parse(const struct dns_front *f, const uint8_t *p, size_t n,
    uint8_t *lc, uint16_t *qlen, size_t *limit)
{
	size_t off = DNS_HEADER_LEN;
	uint16_t qtype;
	uint8_t edns = 0;
	uint64_t key;

	/* no opcode, no TC; one question, no answer or authority; the OPT */
	if (n < DNS_HEADER_LEN + 5 || (p[2] & 0x7a) != 0 || p[4] != 0 ||
	    p[5] != 1 || (p[6] | p[7] | p[8] | p[9] | p[10]) != 0 ||
	    p[11] > 1)
		return 0;
	for (;;) {
		size_t len;
		if (off >= n || (len = p[off]) > 63 || off + 1 + len > n ||
		    off + 1 + len - DNS_HEADER_LEN > DNS_NAME_WIRE_MAX)
			return 0;
		lc[off - DNS_HEADER_LEN] = (uint8_t)len;
		for (size_t i = 1; i <= len; i++)
			lc[off - DNS_HEADER_LEN + i] = dns_lower(p[off + i]);
		off += 1 + len;
		if (len == 0)
			break;
	}
	*qlen = (uint16_t)(off - DNS_HEADER_LEN);
	if (off + 4 > n)
		return 0;
	qtype = (uint16_t)(p[off] << 8 | p[off + 1]);
	if ((qtype != DNS_TYPE_A && qtype != DNS_TYPE_AAAA) ||
	    p[off + 2] != 0 || p[off + 3] != DNS_CLASS_IN)
		return 0;
	off += 4;
	*limit = DNS_UDP_MIN;
	if (p[11] == 1) {
		size_t udp;
		/* root owner, OPT, extended rcode and version 0, no data */
		if (off + DNS_OPT_LEN != n || p[off] != 0 ||
		    p[off + 1] != 0 || p[off + 2] != DNS_TYPE_OPT ||
		    p[off + 5] != 0 || p[off + 6] != 0 || p[off + 9] != 0 ||
		    p[off + 10] != 0)
			return 0;
		udp = (size_t)(p[off + 3] << 8 | p[off + 4]);
		if (udp > DNS_EDNS_UDP_SIZE)
			udp = DNS_EDNS_UDP_SIZE;
		if (udp > *limit)
			*limit = udp;
		edns = (p[off + 7] & 0x80) ? 2 : 1;
	} else if (off != n)
		return 0;
	/* an OPT with no options holds no cookie: the amplification cap */
	*limit = dns_cookie_udp_limit(*limit, n, DNS_COOKIE_NONE);
	key = dns_hash(DNS_HASH_INIT ^ f->salt, lc, *qlen);
	key = dns_hash(key, &qtype, sizeof(qtype));
	return dns_hash(key, &edns, 1) | 1;
}

/* Skips a name in a packet we built; returns the offset after it, or 0. */
static size_t
ready_skip_name(const uint8_t *p, size_t len, size_t off)
{
	while (off < len) {
		if (p[off] >= 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (p[off] == 0)
			return off + 1;
		off += 1 + (size_t)p[off];
	}
	return 0;
}

/* Keeps q's answer (buf, len bytes) ready for the next queries like q,
 * when it has the expected form: the outcome's addresses of the family
 * asked, each owned by a pointer to the question, or none and the SOA in
 * authority, and the OPT when the query had one. */
static void
ready_put(struct fq *q, const uint8_t *buf, size_t len)
{
	struct dns_front *f = q->f;
	struct ready *set = f->ready[q->ready_key % READY_SETS], *r;
	const struct hot_slot *h = q->ready_from;
	uint16_t qtype = q->msg.q.qtype, an, ns, ar;
	size_t alen = qtype == DNS_TYPE_A ? 4 : 16, off, qlen;
	struct dns_pick pick;
	int family = qtype == DNS_TYPE_A ? 4 : 6;
	uint8_t *wire;
	const struct record_entry **base = NULL;
	uint16_t soa_ttl = 0;

	pick.n = 0;
	if (len > READY_MAX || len < DNS_HEADER_LEN || (buf[2] & 0x02) ||
	    ((buf[3] & 0x0f) != DNS_RCODE_NOERROR &&
		(buf[3] & 0x0f) != DNS_RCODE_NXDOMAIN))
		return;
	if (h->status == 0 && !record_is_release(h->rec) &&
	    dns_pick_host(h->rec, family, &pick) == DNS_PICK_CNAME)
		return;
	an = (uint16_t)(buf[6] << 8 | buf[7]);
	ns = (uint16_t)(buf[8] << 8 | buf[9]);
	ar = (uint16_t)(buf[10] << 8 | buf[11]);
	if (an != pick.n || ns > 1 || (an > 0) == (ns > 0) ||
	    ar != (q->msg.edns.present ? 1 : 0))
		return;
	if ((off = ready_skip_name(buf, len, DNS_HEADER_LEN)) == 0)
		return;
	qlen = off - DNS_HEADER_LEN;
	off += 4;
	for (int i = 0; i < an; i++, off += 12 + alen) {
		const uint8_t *rr = buf + off;
		if (off + 12 + alen > len || rr[0] != 0xc0 ||
		    rr[1] != DNS_HEADER_LEN || rr[2] != 0 ||
		    rr[3] != qtype || rr[4] != 0 || rr[5] != DNS_CLASS_IN ||
		    rr[10] != 0 || rr[11] != alen)
			return;
	}
	if (ns == 1) {
		if ((off = ready_skip_name(buf, len, off)) == 0 ||
		    off + 10 > len || buf[off] != 0 ||
		    buf[off + 1] != DNS_TYPE_SOA)
			return;
		soa_ttl = (uint16_t)(off + 4);
		off += 10 + (size_t)(buf[off + 8] << 8 | buf[off + 9]);
	}
	if (off + (ar == 1 ? DNS_OPT_LEN : 0) != len)
		return;
	if ((wire = malloc(len)) == NULL ||
	    (an > 0 && (base = malloc(an * sizeof(*base))) == NULL)) {
		free(wire);
		return;
	}
	/* in the way that held it, or else first, the oldest dropped */
	r = NULL;
	for (int i = 0; i < READY_WAYS && r == NULL; i++)
		if (set[i].key == q->ready_key)
			r = &set[i];
	if (r == NULL) {
		r = &set[READY_WAYS - 1];
		free(r->wire);
		free(r->base);
		memmove(&set[1], &set[0], (READY_WAYS - 1) * sizeof(set[0]));
		r = &set[0];
	} else {
		free(r->wire);
		free(r->base);
	}
	memcpy(wire, buf, len);
	for (size_t i = DNS_HEADER_LEN; i < DNS_HEADER_LEN + qlen; i++)
		wire[i] = dns_lower(wire[i]);
	if (an > 0)
		memcpy(base, pick.e, an * sizeof(*base));
	r->key = q->ready_key;
	r->hot = h;
	r->gen = h->gen;
	r->order_key = an > 0 ? order_key(h->rec->name, (uint16_t)family, 0) : 0;
	r->wire = wire;
	r->base = base;
	r->len = (uint16_t)len;
	r->qlen = (uint16_t)qlen;
	r->n_ans = an;
	r->soa_ttl = soa_ttl;
	r->soa_counts = (buf[3] & 0x0f) == DNS_RCODE_NOERROR;
}

/* Answers the UDP query pkt (n bytes, key from ready_parse()) on l from
 * its ready answer.  Returns false when it has none: the query is built. */
static bool
ready_answer(struct listener *l, struct msghdr *mh, const uint8_t *pkt,
    size_t n, uint64_t key, const uint8_t *lc, uint16_t qlen, size_t limit)
{
	struct dns_front *f = l->f;
	struct ready *set = f->ready[key % READY_SETS], *r = NULL;
	uint8_t a[READY_MAX];
	struct udp_peer up;
	struct dns_pick pick;
	size_t alen, off;
	uint32_t ttl, cap;

	for (int i = 0; i < READY_WAYS && r == NULL; i++)
		if (set[i].key == key)
			r = &set[i];
	if (r == NULL || r->gen != r->hot->gen ||
	    front_now(f) >= r->hot->stale_ms || r->qlen != qlen ||
	    r->len > limit || memcmp(r->wire + DNS_HEADER_LEN, lc, qlen) != 0)
		return false;
	memcpy(a, r->wire, r->len);
	a[0] = pkt[0];
	a[1] = pkt[1];
	a[2] = (uint8_t)((a[2] & ~0x01) | (pkt[2] & 0x01)); /* RD */
	a[3] = (uint8_t)((a[3] & ~0x10) | (pkt[3] & 0x10)); /* CD */
	memcpy(a + DNS_HEADER_LEN, pkt + DNS_HEADER_LEN, qlen);
	ttl = hot_ttl(f, r->hot);
	if (r->n_ans > 0) {
		alen = a[DNS_HEADER_LEN + qlen + 1] == DNS_TYPE_A ? 4 : 16;
		pick.n = r->n_ans;
		memcpy(pick.e, r->base, r->n_ans * sizeof(pick.e[0]));
		dns_order(&pick, 0, pick.n, rr_next(f, r->order_key),
		    r->order_key);
		order_health(f, &pick, 0, pick.n, false);
		off = DNS_HEADER_LEN + qlen + 4;
		for (int i = 0; i < pick.n; i++, off += 12 + alen) {
			be32_put(a + off + 6, ttl);
			memcpy(a + off + 12, pick.e[i]->target.ip, alen);
		}
	}
	if (r->soa_ttl != 0 && r->soa_counts) {
		cap = denial_ttl(f);
		be32_put(a + r->soa_ttl, ttl < cap ? ttl : cap);
	}
	memcpy(&up.sa, mh->msg_name, mh->msg_namelen);
	up.len = mh->msg_namelen;
	up.has_local = false;
	if (l->wildcard)
		udp_local(&up, mh);
	f->st.overlay++;
	f->st.cached++;
	f->st.ready++;
	if (r->n_ans == 0 && (a[3] & 0x0f) == DNS_RCODE_NOERROR)
		f->st.nodata++;
	count_answer(&f->st, a, r->len, a[3] & 0x0f);
	udp_send(f, l, &up, a, r->len);
	return true;
}

/* Answers q from the outcome of a lookup. */
static void
fq_resolved(struct fq *q, int status, const struct record *rec, uint32_t ttl)
{
	if (status == ANDNA_ENOTFOUND ||
	    (status == 0 && (rec == NULL || record_is_release(rec)))) {
		fq_negative(q, DNS_RCODE_NXDOMAIN);
		return;
	}
	if (status != 0 || rec == NULL) {
		q->f->st.timeouts += status == ANDNA_ETIMEOUT;
		fq_error(q, DNS_RCODE_SERVFAIL);
		return;
	}
	if (ttl < q->ttl)
		q->ttl = ttl;
	if (q->qi.kind == DNS_Q_SRV)
		answer_srv(q, rec, q->ttl);
	else
		answer_host(q, rec, q->ttl);
}

/* The outcome of a name lookup, kept for the next queries of the name. */
static void
resolve_cb(void *arg, int status, const struct record *rec, uint32_t ttl)
{
	struct fq *q = arg;

	q->lookup = false;
	hot_put(q->f, q->lname, status, rec, ttl);
	if (!q->done)
		fq_resolved(q, status, rec, ttl);
}

/* Answers q from the outcome kept for name, or starts a lookup of name
 * in the overlay; the deadline runs from the first lookup of the query. */
static void
fq_lookup(struct fq *q, const char *name)
{
	struct dns_front *f = q->f;
	const struct hot_slot *h = hot_get(f, name);
	struct timeval tv;
	int rc;

	if (h != NULL) {
		f->st.cached++;
		if (q->hops == 0 && q->ready_key != 0 &&
		    q->qi.kind == DNS_Q_NAME)
			q->ready_from = h;
		fq_resolved(q, h->status, h->rec, hot_ttl(f, h));
		return;
	}
	snprintf(q->lname, sizeof(q->lname), "%s", name);
	if (q->phase != PHASE_RESOLVE) {
		q->phase = PHASE_RESOLVE;
		tv.tv_sec = f->cfg.timeout_ms / 1000;
		tv.tv_usec = (f->cfg.timeout_ms % 1000) * 1000;
		evtimer_add(q->timer, &tv);
	}
	q->busy++;
	q->lookup = true;
	rc = f->res.resolve(f->res.ctx, q->lname, resolve_cb, q);
	/* still busy while answering a failed call, so q is freed once,
	 * below, and not inside fq_error() too */
	if (rc != 0) {
		q->lookup = false;
		if (!q->done)
			fq_error(q, DNS_RCODE_SERVFAIL);
	}
	q->busy--;
	if (q->done && q->busy == 0)
		fq_free(q);
}

/* Relays an upstream's answer, or SERVFAIL when none came.  An answer
 * larger than the client takes over UDP (or than the amplification cap
 * lets it have) becomes an empty one with TC, so the client asks again
 * over TCP. */
static void
forward_cb(void *arg, int status, const uint8_t *ans, size_t len)
{
	struct fq *q = arg;
	size_t out;

	q->fwd = NULL;
	if (status != 0) {
		q->f->st.timeouts++;
		fq_error(q, DNS_RCODE_SERVFAIL);
		return;
	}
	if (fq_begin(q, false) != 0) {
		fq_done(q);
		return;
	}
	if (len <= q->alimit) {
		/* a client that sent a cookie gets ours here too: a resolver
		 * that knows we speak cookies may take an answer without one
		 * for a forgery */
		if (q->cookie_len > 0) {
			memcpy(q->abuf, ans, len);
			len = dns_cookie_append(q->abuf, len, q->alimit,
			    q->cookie_out, q->cookie_len);
			ans = q->abuf;
		}
		fq_send(q, ans, len, ans[3] & 0x0f);
		fq_done(q);
		return;
	}
	dns_response_set_rcode(&q->b, ans[3] & 0x0f);
	if (dns_response_finish(&q->b, &out) == 0) {
		q->abuf[2] |= DNS_FLAG_TC >> 8;
		fq_send(q, q->abuf, out, q->b.rcode);
	}
	fq_done(q);
}

/* Sends q to an upstream, or REFUSED when there is none or the client
 * is outside the allowed networks. */
static void
fq_forward(struct fq *q)
{
	struct dns_front *f = q->f;
	int rc;

	q->phase = PHASE_FORWARD;
	if (!dns_net_match(f->allow, f->n_allow, &q->peer_ep) ||
	    dns_forward_upstreams(f->cfg.forward) == 0) {
		fq_error(q, DNS_RCODE_REFUSED);
		return;
	}
	if (q->msg.q.qclass != DNS_CLASS_IN) {
		fq_error(q, DNS_RCODE_REFUSED);
		return;
	}
	rc = dns_forward_query(f->cfg.forward, &q->msg, forward_cb, q, &q->fwd);
	if (rc != 0) {
		fq_error(q, DNS_RCODE_SERVFAIL);
		return;
	}
	f->st.forwarded++;
}

/* The outcome of a reverse lookup: PTRs to the names the node holds, or
 * on to the upstream when no node answered there. */
static void
reverse_cb(void *arg, int status, const struct record *const *recs, int n,
    uint32_t ttl)
{
	struct fq *q = arg;
	struct dns_front *f = q->f;
	struct dns_name target;

	q->lookup = false;
	if (q->done)
		return;
	evtimer_del(q->timer);
	if (status != 0 && status != ANDNA_ENOTFOUND) {
		fq_forward(q);
		return;
	}
	q->f->st.overlay++;
	if (fq_begin(q, true) != 0) {
		fq_done(q);
		return;
	}
	for (int i = 0; status == 0 && i < n; i++) {
		if (recs[i] == NULL || record_is_release(recs[i]) ||
		    dns_overlay_name(recs[i]->name, &f->suffixes[0], &target) !=
			0)
			continue;
		dns_response_add_ptr(
		    &q->b, DNS_SEC_ANSWER, &q->msg.q.name, ttl, &target);
	}
	if (q->b.count[DNS_SEC_ANSWER] == 0 && !dns_response_truncated(&q->b))
		dns_response_set_rcode(&q->b, DNS_RCODE_NXDOMAIN);
	fq_finish(q);
}

/* Asks the overlay which names the node at q's address holds. */
static void
fq_reverse(struct fq *q)
{
	struct dns_front *f = q->f;
	struct timeval tv;
	int rc;

	q->phase = PHASE_REVERSE;
	tv.tv_sec = f->cfg.reverse_timeout_ms / 1000;
	tv.tv_usec = (f->cfg.reverse_timeout_ms % 1000) * 1000;
	evtimer_add(q->timer, &tv);
	q->busy++;
	q->lookup = true;
	rc = f->res.reverse(f->res.ctx, &q->qi.ip, reverse_cb, q);
	/* as in fq_lookup(): freed once, below */
	if (rc != 0) {
		q->lookup = false;
		evtimer_del(q->timer);
		if (!q->done)
			fq_forward(q);
	}
	q->busy--;
	if (q->done && q->busy == 0)
		fq_free(q);
}

/* The deadline of a lookup: SERVFAIL, or for a reverse lookup, forward. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fq *q = arg;
	struct dns_front *f = q->f;

	if (q->lookup) {
		f->res.cancel(f->res.ctx, q);
		q->lookup = false;
	}
	if (q->phase == PHASE_REVERSE) {
		fq_forward(q);
		return;
	}
	f->st.timeouts++;
	fq_error(q, DNS_RCODE_SERVFAIL);
}

/* Reads the COOKIE option of q: the cookie to answer with, and whether
 * the client proved its address (no cap on its UDP answers).  Without
 * EDNS nothing is done, without a cookie the options are only walked; a
 * cookie costs one SipHash.  Returns false when the option is malformed
 * (FORMERR, RFC 7873 section 5.2.2). */
static bool
fq_cookie(struct fq *q)
{
	struct dns_front_stats *st = &q->f->st;

	if (!q->msg.edns.present)
		return true;
	q->cookie = dns_cookie_check(&q->f->cookies, &q->msg, &q->peer_ep,
	    (uint32_t)(front_now(q->f) / 1000), q->cookie_out, &q->cookie_len);
	st->cookie_valid += q->cookie == DNS_COOKIE_VALID;
	st->cookie_invalid += q->cookie == DNS_COOKIE_INVALID ||
	    q->cookie == DNS_COOKIE_MALFORMED;
	return q->cookie != DNS_COOKIE_MALFORMED;
}

/* Reads a query and sends it where it goes. */
static void
query_start(struct fq *q)
{
	struct dns_front *f = q->f;
	struct dns_msg *m = &q->msg;
	uint16_t t;
	int rc;

	rc = dns_query_parse(q->pkt, q->pkt_len, m);
	if (!m->has_header || rc == ANDNA_EDNS_NOT_QUERY) {
		f->st.dropped++;
		fq_done(q);
		return;
	}
	if (m->hdr.opcode != DNS_OPCODE_QUERY) {
		fq_error(q, DNS_RCODE_NOTIMP);
		return;
	}
	/* a datagram cut by our read buffer cannot be read whole */
	if (rc != 0 || q->cut) {
		fq_error(q, DNS_RCODE_FORMERR);
		return;
	}
	if (m->edns.present && m->edns.version != 0) {
		fq_error(q, DNS_RCODE_BADVERS);
		return;
	}
	if (!fq_cookie(q)) {
		fq_error(q, DNS_RCODE_FORMERR);
		return;
	}
	t = m->q.qtype;
	if (t == 251 || t == 252) { /* IXFR, AXFR: the overlay has no list */
		fq_error(q, DNS_RCODE_REFUSED);
		return;
	}
	if (f->has_ns_name && dns_name_equal(&m->q.name, &f->ns_name) &&
	    (t == DNS_TYPE_A || t == DNS_TYPE_AAAA) && f->cfg.n_ns_addrs > 0) {
		if (fq_begin(q, true) != 0) {
			fq_done(q);
			return;
		}
		add_ns_addrs(q, DNS_SEC_ANSWER, &m->q.name, t);
		fq_finish(q);
		return;
	}
	dns_qname_classify(&m->q.name, f->suffixes, f->n_suffixes, &q->qi);
	if (q->qi.kind == DNS_Q_OTHER) {
		fq_forward(q);
		return;
	}
	if (q->qi.kind == DNS_Q_REVERSE) {
		if ((t == DNS_TYPE_PTR || t == DNS_TYPE_ANY) &&
		    f->res.reverse != NULL && m->q.qclass == DNS_CLASS_IN)
			fq_reverse(q);
		else
			fq_forward(q);
		return;
	}
	if (m->q.qclass != DNS_CLASS_IN && m->q.qclass != DNS_CLASS_ANY) {
		fq_error(q, DNS_RCODE_REFUSED);
		return;
	}
	f->st.overlay++;
	if (fq_begin(q, true) != 0) {
		fq_done(q);
		return;
	}
	q->owner = m->q.name;
	q->ttl = UINT32_MAX;
	switch (q->qi.kind) {
	case DNS_Q_APEX:
		answer_apex(q);
		break;
	case DNS_Q_ADDR:
		answer_addr(q);
		break;
	case DNS_Q_ADDR_ENT:
		fq_negative(q, DNS_RCODE_NOERROR);
		break;
	case DNS_Q_BADNAME:
		fq_negative(q, DNS_RCODE_NXDOMAIN);
		break;
	case DNS_Q_NAME:
	case DNS_Q_SRV:
		if (f->nq > f->cfg.max_queries) {
			fq_error(q, DNS_RCODE_SERVFAIL);
			break;
		}
		q->seen[0] =
		    dns_hash(DNS_HASH_INIT, q->qi.name, strlen(q->qi.name));
		fq_lookup(q, q->qi.name);
		break;
	default:
		fq_forward(q);
		break;
	}
}

/* Frees a query that is in no list, with its timer and buffers. */
static void
fq_destroy(struct fq *q)
{
	event_free(q->timer);
	free(q->pkt);
	free(q->abuf);
	free(q);
}

/* Makes a query of len bytes from a client (conn NULL: UDP on l), from
 * the pool when it has one. */
static struct fq *
fq_new(struct dns_front *f, struct conn *conn, struct listener *l,
    const uint8_t *pkt, size_t len)
{
	struct fq *q = f->pool;

	if (q != NULL) {
		f->pool = q->next;
		f->npool--;
	} else {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return NULL;
		if ((q->timer = evtimer_new(f->base, timer_cb, q)) == NULL) {
			free(q);
			return NULL;
		}
	}
	memset(&q->f, 0, sizeof(*q) - offsetof(struct fq, f));
	q->f = f;
	q->l = l;
	if (q->pkt_cap < len) {
		free(q->pkt);
		q->pkt_cap = 0;
		if ((q->pkt = malloc(len)) == NULL) {
			fq_destroy(q);
			return NULL;
		}
		q->pkt_cap = len;
	}
	memcpy(q->pkt, pkt, len);
	q->pkt_len = len;
	q->next = f->queries;
	if (f->queries != NULL)
		f->queries->prev = q;
	f->queries = q;
	f->nq++;
	if (conn != NULL) {
		q->conn = conn;
		q->cnext = conn->queries;
		if (conn->queries != NULL)
			conn->queries->cprev = q;
		conn->queries = q;
		conn->inflight++;
	}
	return q;
}

/* Frees a query, cancelling what it waits for; it goes to the pool with
 * its timer and its buffers unless they are large. */
static void
fq_free(struct fq *q)
{
	struct dns_front *f = q->f;
	struct conn *c = q->conn;

	if (q->lookup)
		f->res.cancel(f->res.ctx, q);
	if (q->fwd != NULL)
		dns_forward_cancel(q->fwd);
	evtimer_del(q->timer);
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		f->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	f->nq--;
	if (c != NULL) {
		if (q->cprev != NULL)
			q->cprev->cnext = q->cnext;
		else
			c->queries = q->cnext;
		if (q->cnext != NULL)
			q->cnext->cprev = q->cprev;
		c->inflight--;
		if (!c->freeing)
			conn_check(c);
	}
	if (f->npool >= FQ_POOL) {
		fq_destroy(q);
		return;
	}
	if (q->pkt_cap > FQ_KEEP) {
		free(q->pkt);
		q->pkt = NULL;
		q->pkt_cap = 0;
	}
	if (q->abuf_cap > FQ_KEEP) {
		free(q->abuf);
		q->abuf = NULL;
		q->abuf_cap = 0;
	}
	q->next = f->pool;
	f->pool = q;
	f->npool++;
}

/* ---- UDP ---------------------------------------------------------- */

/* Makes datagram slot i of the batch ready for recvmmsg() (which writes
 * the lengths back).  Sockets that give no control messages leave the
 * control buffer alone. */
static void
udp_in_reset(struct dns_front *f, int i)
{
	struct udp_in *in = &f->in[i];
	struct msghdr *mh = &f->inh[i].msg_hdr;

	memset(mh, 0, sizeof(*mh));
	in->iov.iov_base = in->buf;
	in->iov.iov_len = sizeof(in->buf);
	mh->msg_name = &in->peer;
	mh->msg_namelen = sizeof(in->peer);
	mh->msg_iov = &in->iov;
	mh->msg_iovlen = 1;
	mh->msg_control = in->ctl.buf;
	mh->msg_controllen = sizeof(in->ctl.buf);
}

/* One datagram of a batch: rate limit, then its ready answer or a
 * query. */
static void
udp_query(struct listener *l, struct msghdr *mh, size_t n)
{
	struct dns_front *f = l->f;
	const uint8_t *pkt = mh->msg_iov[0].iov_base;
	uint8_t lc[DNS_NAME_WIRE_MAX];
	uint16_t qlen;
	size_t limit;
	uint64_t key = 0;
	struct endpoint ep;
	struct fq *q;

	f->st.udp_queries++;
	if (dns_endpoint_from_sockaddr(mh->msg_name, &ep) != 0 ||
	    !rate_allow(f, &ep))
		return;
	/* no header, or a response: never answered */
	if (n < DNS_HEADER_LEN || (pkt[2] & 0x80)) {
		f->st.dropped++;
		return;
	}
	if ((mh->msg_flags & MSG_TRUNC) == 0 &&
	    (key = ready_parse(f, pkt, n, lc, &qlen, &limit)) != 0 &&
	    ready_answer(l, mh, pkt, n, key, lc, qlen, limit))
		return;
	if ((q = fq_new(f, NULL, l, pkt, n)) == NULL) {
		f->st.dropped++;
		return;
	}
	memcpy(&q->up.sa, mh->msg_name, mh->msg_namelen);
	q->up.len = mh->msg_namelen;
	q->peer_ep = ep;
	q->cut = (mh->msg_flags & MSG_TRUNC) != 0;
	q->ready_key = key;
	if (l->wildcard)
		udp_local(&q->up, mh);
	query_start(q);
}

/* Drains the socket in batches of UDP_BATCH datagrams (UDP_ROUNDS of
 * them at most, so TCP and the overlay get their turn); the answers to
 * each batch leave together. */
static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct dns_front *f = l->f;

	f->batch = l;
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n = recvmmsg(fd, f->inh, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EAGAIN, or an error to shrug off */
		f->now_ms = mono_ms();
		for (int i = 0; i < n; i++) {
			udp_query(l, &f->inh[i].msg_hdr, f->inh[i].msg_len);
			udp_in_reset(f, i);
		}
		udp_flush(f);
		if (n < UDP_BATCH)
			break;
	}
	f->batch = NULL;
}

/* ---- TCP ---------------------------------------------------------- */

/* Closes a connection and drops its queries. */
static void
conn_free(struct conn *c)
{
	struct dns_front *f = c->f;

	c->freeing = true;
	while (c->queries != NULL)
		fq_free(c->queries);
	if (c->idle != NULL)
		event_free(c->idle);
	bufferevent_free(c->bev);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	f->nconns--;
	free(c);
}

/* After a query ends: read again if reading was held back, and time the
 * connection out (or close it after a client EOF) once nothing is left. */
static void
conn_check(struct conn *c)
{
	struct dns_front *f = c->f;
	struct timeval tv;

	if (c->paused && !c->eof && c->inflight < f->cfg.tcp_max_inflight &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) <
		TCP_OUT_HIGH) {
		c->paused = false;
		bufferevent_enable(c->bev, EV_READ);
		/* queries may wait in the input buffer already */
		bufferevent_trigger(c->bev, EV_READ, BEV_OPT_DEFER_CALLBACKS);
	}
	if (c->inflight > 0)
		return;
	if (c->eof) {
		event_active(c->idle, EV_TIMEOUT, 0);
		return;
	}
	tv.tv_sec = f->cfg.tcp_idle_ms / 1000;
	tv.tv_usec = (f->cfg.tcp_idle_ms % 1000) * 1000;
	evtimer_add(c->idle, &tv);
}

/* Idle for too long, or done after an EOF: close once the answers are
 * out (an idle client that does not read loses them). */
static void
conn_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->inflight > 0)
		return;
	if (c->eof && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return; /* conn_write_cb closes it */
	conn_free(c);
}

/* Output drained: close after EOF, or read again. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->eof && c->inflight == 0) {
		conn_free(c);
		return;
	}
	conn_check(c);
}

/* Reads every whole query in the input, while the caps allow. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct dns_front *f = c->f;
	struct evbuffer *in = bufferevent_get_input(bev);

	/* Only whole queries hold the idle timer back (their ends start it
	 * again in conn_check): a client that trickles a query a byte at a
	 * time, as a slow-loris does, is closed tcp_idle_ms after its last
	 * answer all the same. */
	for (;;) {
		uint8_t hdr[2];
		size_t len;
		struct fq *q;

		if (c->inflight >= f->cfg.tcp_max_inflight ||
		    evbuffer_get_length(bufferevent_get_output(bev)) >=
			TCP_OUT_HIGH) {
			c->paused = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (evbuffer_copyout(in, hdr, 2) != 2)
			break;
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (len < DNS_HEADER_LEN) { /* nothing to answer to */
			f->st.dropped++;
			conn_free(c);
			return;
		}
		if (evbuffer_get_length(in) < len + 2)
			break;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, f->ubuf, len);
		evtimer_del(c->idle);
		f->st.tcp_queries++;
		if ((q = fq_new(f, c, NULL, f->ubuf, len)) == NULL) {
			conn_free(c);
			return;
		}
		q->peer_ep = c->peer_ep;
		if (rate_allow(f, &c->peer_ep)) {
			query_start(q);
			continue;
		}
		/* REFUSED needs the id and question, so parse first */
		dns_query_parse(q->pkt, q->pkt_len, &q->msg);
		if (q->msg.has_header && !q->msg.hdr.qr)
			fq_error(q, DNS_RCODE_REFUSED);
		else
			fq_done(q);
	}
}

/* EOF: answer what was asked, then close.  Errors: close now. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_EOF) {
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		conn_check(c);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

/* The connections of ep's host. */
static int
conns_of_host(const struct dns_front *f, const struct endpoint *ep)
{
	int n = 0;

	for (const struct conn *c = f->conns; c != NULL; c = c->next)
		n += c->peer_ep.family == ep->family &&
		    memcmp(c->peer_ep.ip, ep->ip, host_len(ep)) == 0;
	return n;
}

/* A new TCP client: over the cap, or over its host's share of it, it is
 * closed at once.  The share keeps one host from holding every slot, so
 * others still get TCP (the fallback of every truncated answer) while it
 * tries (DESIGN.md section 6). */
static void
accept_cb(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listener *l = arg;
	struct dns_front *f = l->f;
	struct conn *c = NULL;
	struct endpoint ep;

	dns_endpoint_from_sockaddr(sa, &ep);
	if (f->nconns >= f->cfg.tcp_max_conns ||
	    conns_of_host(f, &ep) >= f->cfg.tcp_max_per_host ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		f->st.tcp_rejected++;
		close(fd);
		return;
	}
	c->f = f;
	c->l = l;
	memcpy(&c->peer, sa, (size_t)salen);
	c->peer_len = (socklen_t)salen;
	c->peer_ep = ep;
	c->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->idle = evtimer_new(f->base, conn_idle_cb, c);
	if (c->bev == NULL || c->idle == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->idle != NULL)
			event_free(c->idle);
		free(c);
		f->st.tcp_rejected++;
		return;
	}
	c->next = f->conns;
	if (f->conns != NULL)
		f->conns->prev = c;
	f->conns = c;
	f->nconns++;
	f->st.tcp_conns++;
	bufferevent_setcb(
	    c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_check(c);
}

/* Accepting again after running out of descriptors. */
static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	evconnlistener_enable(l->tl);
}

/* accept() failed: on EMFILE and the like, pause for a second. */
static void
accept_error_cb(struct evconnlistener *el, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = {1, 0};

	front_log(l->f, DNS_LOG_WARN, "dns: accept: %s; pausing 1 s",
	    strerror(errno));
	evconnlistener_disable(el);
	evtimer_add(l->resume, &tv);
}

/* ---- listeners and life cycle -------------------------------------- */

/* Opens one socket of type on ep; for IPv6, IPv6 only, so [::] and
 * 0.0.0.0 can both be bound. */
static int
sock_open(const struct endpoint *ep, int type)
{
	struct sockaddr_storage ss;
	socklen_t sl = dns_endpoint_to_sockaddr(ep, &ss);
	int fd, one = 1;

	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (ep->family == 6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Binds UDP then TCP on the same address and port (a free port when the
 * configuration says 0). */
static int
listener_bind(
    struct dns_front *f, struct listener *l, const struct endpoint *want)
{
	static const uint8_t zero[16];
	struct sockaddr_storage ss;
	socklen_t sl;
	int tfd = -1, one = 1, rcvbuf = 1 << 20;

	l->f = f;
	l->ufd = -1;
	for (int tries = 0; tries < 16 && tfd < 0; tries++) {
		if (l->ufd >= 0)
			close(l->ufd);
		if ((l->ufd = sock_open(want, SOCK_DGRAM)) < 0)
			break;
		sl = sizeof(ss);
		getsockname(l->ufd, (struct sockaddr *)&ss, &sl);
		dns_endpoint_from_sockaddr((struct sockaddr *)&ss, &l->ep);
		tfd = sock_open(&l->ep, SOCK_STREAM);
		if (tfd < 0 && (want->port != 0 || errno != EADDRINUSE))
			break;
	}
	if (l->ufd < 0 || tfd < 0) {
		char text[64];
		int e = errno;
		inet_ntop(want->family == 4 ? AF_INET : AF_INET6, want->ip,
		    text, sizeof(text));
		front_log(f, DNS_LOG_ERR, "dns: cannot bind %s port %u: %s",
		    text, want->port, strerror(e));
		if (tfd >= 0)
			close(tfd);
		return ANDNA_EBIND;
	}
	l->wildcard = memcmp(want->ip, zero, want->family == 4 ? 4 : 16) == 0;
	if (l->wildcard && want->family == 4)
		setsockopt(l->ufd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	else if (l->wildcard)
		setsockopt(
		    l->ufd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	setsockopt(l->ufd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	l->uev =
	    event_new(f->base, l->ufd, EV_READ | EV_PERSIST, udp_read_cb, l);
	/* a deep accept queue: a burst of connections from a host over its
	 * share (closed at once in accept_cb, so the queue drains fast) must
	 * not leave others' handshakes to wait for a SYN retry (1 s) */
	l->tl = evconnlistener_new(f->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, TCP_BACKLOG, tfd);
	l->resume = evtimer_new(f->base, resume_cb, l);
	if (l->tl == NULL)
		close(tfd);
	if (l->uev == NULL || l->tl == NULL || l->resume == NULL ||
	    event_add(l->uev, NULL) != 0)
		return ANDNA_ENOMEM;
	evconnlistener_set_error_cb(l->tl, accept_error_cb);
	return 0;
}

/* Closes one listener. */
static void
listener_close(struct listener *l)
{
	if (l->uev != NULL)
		event_free(l->uev);
	if (l->ufd >= 0)
		close(l->ufd);
	if (l->tl != NULL)
		evconnlistener_free(l->tl);
	if (l->resume != NULL)
		event_free(l->resume);
	memset(l, 0, sizeof(*l));
	l->ufd = -1;
}

/* Parses a name of the configuration into *out (not the root). */
static int
config_name(const char *text, struct dns_name *out)
{
	if (text == NULL || dns_name_from_text(text, out) != 0 ||
	    out->nlabels == 0)
		return ANDNA_EINVAL;
	return 0;
}

int
dns_front_new(struct event_base *base, const struct dns_front_config *cfg,
    const struct dns_front_resolver *resolver, struct dns_front **out)
{
	struct dns_front *f = NULL;
	int rc = ANDNA_EINVAL;

	*out = NULL;
	if (cfg->n_listen < 1 || cfg->n_listen > DNS_FRONT_MAX_LISTEN ||
	    cfg->n_allow < 0 || cfg->n_allow > DNS_FRONT_MAX_NETS ||
	    cfg->n_rate_exempt < 0 || cfg->n_rate_exempt > DNS_FRONT_MAX_NETS ||
	    cfg->n_suffixes < 1 || cfg->n_suffixes > DNS_FRONT_MAX_SUFFIXES ||
	    cfg->n_ns_addrs < 0 || cfg->n_ns_addrs > DNS_FRONT_MAX_NS_ADDRS ||
	    resolver == NULL || resolver->resolve == NULL ||
	    resolver->cancel == NULL)
		return ANDNA_EINVAL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return ANDNA_ENOMEM;
	f->base = base;
	f->cfg = *cfg;
	f->res = *resolver;
	for (int i = 0; i < DNS_FRONT_MAX_LISTEN; i++)
		f->ls[i].ufd = -1;
	if (f->cfg.tcp_max_inflight < 1)
		f->cfg.tcp_max_inflight = 1;
	if (f->cfg.tcp_max_per_host < 1)
		f->cfg.tcp_max_per_host = 1;
	for (int i = 0; i < cfg->n_suffixes; i++)
		if ((rc = config_name(cfg->suffixes[i], &f->suffixes[i])) != 0)
			goto out;
	f->n_suffixes = cfg->n_suffixes;
	for (int i = 0; i < cfg->n_allow; i++)
		net_add(f, f->allow, &f->n_allow, &cfg->allow[i], "dns_allow");
	if (cfg->allow_local)
		nets_add_local(f, f->allow, &f->n_allow, "dns_allow");
	for (int i = 0; i < cfg->n_rate_exempt; i++)
		net_add(f, f->exempt, &f->n_exempt, &cfg->rate_exempt[i],
		    "dns_rate_exempt");
	if (cfg->rate_exempt_local)
		nets_add_local(f, f->exempt, &f->n_exempt, "dns_rate_exempt");
	if (cfg->ns_name != NULL) {
		if ((rc = config_name(cfg->ns_name, &f->ns_name)) != 0)
			goto out;
		f->has_ns_name = true;
	}
	/* what RFC 6303 uses for zones nobody administers */
	dns_name_from_text("nobody.invalid", &f->rname);
	f->serial =
	    cfg->soa_serial != 0 ? cfg->soa_serial : (uint32_t)time(NULL);
	randombytes_buf(&f->salt, sizeof(f->salt));
	dns_cookies_init(&f->cookies, (uint32_t)(mono_ms() / 1000));
	for (int i = 0; i < UDP_BATCH; i++)
		udp_in_reset(f, i);
	if (f->cfg.probe_cfg.change_cb == NULL) {
		f->cfg.probe_cfg.change_cb = probe_change_cb;
		f->cfg.probe_cfg.change_ctx = f;
	}
	if (cfg->probe &&
	    (f->probe = dns_probe_new(base, &f->cfg.probe_cfg)) == NULL) {
		rc = ANDNA_ENOMEM;
		goto out;
	}
	for (int i = 0; i < cfg->n_listen; i++) {
		f->n_ls = i + 1;
		if ((rc = listener_bind(f, &f->ls[i], &cfg->listen[i])) != 0)
			goto out;
	}
	*out = f;
	f = NULL;
	rc = 0;
out:
	dns_front_free(f);
	return rc;
}

void
dns_front_free(struct dns_front *f)
{
	if (f == NULL)
		return;
	while (f->conns != NULL)
		conn_free(f->conns);
	while (f->queries != NULL)
		fq_free(f->queries);
	while (f->pool != NULL) {
		struct fq *q = f->pool;
		f->pool = q->next;
		fq_destroy(q);
	}
	dns_front_forget(f);
	for (int i = 0; i < READY_SETS; i++) {
		for (int j = 0; j < READY_WAYS; j++) {
			free(f->ready[i][j].wire);
			free(f->ready[i][j].base);
		}
	}
	for (int i = 0; i < f->n_ls; i++)
		listener_close(&f->ls[i]);
	dns_probe_free(f->probe);
	dns_cookies_fini(&f->cookies);
	free(f);
}

int
dns_front_local(const struct dns_front *f, int i, struct endpoint *out)
{
	memset(out, 0, sizeof(*out));
	if (f == NULL || i < 0 || i >= f->n_ls)
		return ANDNA_EINVAL;
	*out = f->ls[i].ep;
	return 0;
}

void
dns_front_get_stats(const struct dns_front *f, struct dns_front_stats *out)
{
	*out = f->st;
}

int
dns_drop_privileges(const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (user == NULL ||
	    getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return ANDNA_ENOTFOUND;
	/* already that user (systemd's User=, say): nothing to drop, and
	 * setgroups() would need a capability it does not have */
	if (pw.pw_uid != 0 && getuid() == pw.pw_uid &&
	    geteuid() == pw.pw_uid && getgid() == pw.pw_gid &&
	    getegid() == pw.pw_gid)
		return 0;
	if (setgroups(1, &pw.pw_gid) != 0 || setgid(pw.pw_gid) != 0 ||
	    setuid(pw.pw_uid) != 0)
		return ANDNA_EPRIV;
	if (getuid() != pw.pw_uid || geteuid() != pw.pw_uid ||
	    getgid() != pw.pw_gid || getegid() != pw.pw_gid)
		return ANDNA_EPRIV;
	/* a real drop cannot be undone */
	if (pw.pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return ANDNA_EPRIV;
	return 0;
}
