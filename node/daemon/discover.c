/* Neighbour discovery on the mesh links: the table and checks of
 * DISCOVER datagrams, and the multicast sockets that carry them. */
#include "config.h"

#include "node/daemon/discover.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "node/daemon/log.h"
#include "proto/err.h"
#include "proto/msg.h"

bool
discover_routed(const struct endpoint *ep)
{
	static const uint8_t zero[16];

	if (ep->family == 4)
		return ep->ip[0] != 127 && ep->ip[0] != 0 &&
		    !(ep->ip[0] == 169 && ep->ip[1] == 254) && ep->ip[0] < 224;
	if (ep->family != 6 || memcmp(ep->ip, zero, 16) == 0 ||
	    ep->ip[0] == 0xff || (ep->ip[0] == 0xfe && (ep->ip[1] & 0xc0) == 0x80))
		return false;
	/* ::1, and IPv4-mapped loopback */
	return !(memcmp(ep->ip, zero, 15) == 0 && ep->ip[15] == 1);
}

int
discover_build(const struct keypair *key, bool hooked, ovl_addr_t addr,
    const struct endpoint *eps, int n, uint8_t *buf, size_t cap,
    size_t *len)
{
	struct msg m;

	*len = 0;
	msg_init(&m);
	m.type = MSG_DISCOVER;
	m.has_src = hooked;
	m.src = hooked ? addr : 0;
	for (int i = 0; i < n && m.u.discover.n_eps < MSG_EPS_MAX; i++)
		if (discover_routed(&eps[i]))
			m.u.discover.eps[m.u.discover.n_eps++] = eps[i];
	if (m.u.discover.n_eps == 0)
		return ANDNA_EINVAL;
	return msg_encode(&m, key, buf, cap, len);
}

/* The slot for key `pk`: its own, a free one, or the stalest of those
 * not heard for `stale_ms`; NULL when every slot is fresh. */
static struct discover_neigh *
slot_for(struct discover_table *t, const uint8_t *pk, uint64_t now,
    uint64_t stale_ms, bool *is_new)
{
	struct discover_neigh *old = NULL;

	*is_new = false;
	for (int i = 0; i < t->n; i++) {
		struct discover_neigh *x = &t->v[i];
		if (memcmp(x->pk, pk, ANDNA_PK_LEN) == 0)
			return x;
		if (now - x->heard >= stale_ms &&
		    (old == NULL || x->heard < old->heard))
			old = x;
	}
	*is_new = true;
	if (t->n < DISCOVER_NEIGH_MAX)
		old = &t->v[t->n++];
	if (old != NULL)
		memset(old, 0, sizeof(*old));
	return old;
}

int
discover_accept(struct discover_table *t, const uint8_t *own,
    const uint8_t *buf, size_t len, int hops, unsigned families,
    uint64_t now, uint64_t stale_ms, struct discover_neigh **out,
    bool *is_new)
{
	struct msg m;
	const struct endpoint *ep = NULL;
	int rc;

	*out = NULL;
	*is_new = false;
	/* the hop limit first: it costs nothing, and only a neighbour on
	 * the link can make it 255 */
	if (hops != DISCOVER_HOPS)
		return ANDNA_EINVAL;
	if ((rc = msg_decode(buf, len, &m)) != 0)
		return rc;
	if (m.type != MSG_DISCOVER || memcmp(m.key, own, ANDNA_PK_LEN) == 0) {
		msg_free(&m);
		return ANDNA_EINVAL;
	}
	for (int i = 0; i < m.u.discover.n_eps && ep == NULL; i++)
		if (discover_routed(&m.u.discover.eps[i]) &&
		    (families & (1u << m.u.discover.eps[i].family)))
			ep = &m.u.discover.eps[i];
	if (ep == NULL) {
		msg_free(&m);
		return ANDNA_EINVAL;
	}
	struct discover_neigh *x = slot_for(t, m.key, now, stale_ms, is_new);
	if (x == NULL) {
		msg_free(&m);
		return ANDNA_ELIMIT;
	}
	memcpy(x->pk, m.key, ANDNA_PK_LEN);
	x->hooked = m.has_src;
	x->addr = m.src;
	x->ep = *ep;
	x->heard = now;
	*out = x;
	msg_free(&m);
	return 0;
}

/* ---- the sockets ----------------------------------------------------- */

struct discover_sock {
	int fd;
	int family; /* 4 or 6 */
	struct event *ev;
	struct discover *ds;
};

struct discover {
	struct log *lg;
	struct config_words ifnames;
	struct discover_sock s[2];
	int n_s;
	int ifs[DISCOVER_IFS_MAX]; /* interfaces whose groups we joined */
	int n_ifs;
	discover_input_cb *cb;
	void *arg;
	uint8_t buf[MSG_DGRAM_MAX + 1];
};

/* Joins the group of socket `s` on interface `ifindex`. */
static int
join_group(struct discover_sock *s, unsigned ifindex)
{
	if (s->family == 6) {
		struct ipv6_mreq mr = {.ipv6mr_interface = ifindex};
		inet_pton(AF_INET6, DISCOVER_GROUP6, &mr.ipv6mr_multiaddr);
		return setsockopt(s->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr,
		    sizeof(mr));
	}
	struct ip_mreqn mr = {.imr_ifindex = (int)ifindex};
	inet_pton(AF_INET, DISCOVER_GROUP4, &mr.imr_multiaddr);
	return setsockopt(s->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
	    sizeof(mr));
}

/* Whether interface `name` (flags `flags`) is a mesh interface. */
static bool
is_mesh_if(const struct discover *ds, const char *name, unsigned flags)
{
	if (!(flags & IFF_UP))
		return false;
	if (ds->ifnames.n == 0)
		return !(flags & IFF_LOOPBACK) && (flags & IFF_MULTICAST);
	for (int i = 0; i < ds->ifnames.n; i++)
		if (strcmp(ds->ifnames.v[i], name) == 0)
			return true;
	return false;
}

/* Joins the groups on mesh interfaces that are up and not joined yet
 * (an interface may come up after the daemon started). */
static void
scan_ifs(struct discover *ds)
{
	struct ifaddrs *ifa = NULL;

	if (getifaddrs(&ifa) != 0) {
		log_warn(ds->lg, "cannot list the interfaces: %s",
		    strerror(errno));
		return;
	}
	for (struct ifaddrs *x = ifa; x != NULL; x = x->ifa_next) {
		unsigned idx = if_nametoindex(x->ifa_name);
		bool known = false;
		for (int i = 0; i < ds->n_ifs && !known; i++)
			known = ds->ifs[i] == (int)idx;
		if (idx == 0 || known || ds->n_ifs >= DISCOVER_IFS_MAX ||
		    !is_mesh_if(ds, x->ifa_name, x->ifa_flags))
			continue;
		int joined = 0;
		for (int i = 0; i < ds->n_s; i++) {
			if (join_group(&ds->s[i], idx) == 0 || errno == EADDRINUSE)
				joined++;
			else
				log_debug(ds->lg, "cannot join the IPv%d group "
				    "on %s: %s", ds->s[i].family, x->ifa_name,
				    strerror(errno));
		}
		if (joined == 0)
			continue;
		ds->ifs[ds->n_ifs++] = (int)idx;
		log_info(ds->lg, "looking for neighbours on %s", x->ifa_name);
	}
	freeifaddrs(ifa);
}

/* The hop limit or TTL a datagram came with, from its control data. */
static int
recv_hops(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
	    c = CMSG_NXTHDR(mh, c)) {
		int v;
		if ((c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_HOPLIMIT) ||
		    (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v;
		}
	}
	return -1;
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct discover_sock *s = arg;
	struct discover *ds = s->ds;

	(void)what;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		union {
			struct cmsghdr h;
			uint8_t b[CMSG_SPACE(sizeof(int)) * 4];
		} ctl;
		struct iovec iov = {ds->buf, sizeof(ds->buf)};
		struct msghdr mh = {.msg_name = &ss, .msg_namelen = sizeof(ss),
		    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
		    .msg_controllen = sizeof(ctl.b)};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* a datagram larger than any DISCOVER is cut to the buffer
		 * and fails to decode */
		ds->cb(ds->arg, ds->buf, (size_t)n, (struct sockaddr *)&ss,
		    recv_hops(&mh));
	}
}

/* The discovery port at the wildcard address (to bind), or at the group
 * on interface `ifindex` (to send to), of `family`; returns its length. */
static socklen_t
port_addr(int family, bool group, int ifindex, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(DISCOVER_PORT);
		if (group) {
			a->sin6_scope_id = (uint32_t)ifindex;
			inet_pton(AF_INET6, DISCOVER_GROUP6, &a->sin6_addr);
		}
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons(DISCOVER_PORT);
	if (group)
		inet_pton(AF_INET, DISCOVER_GROUP4, &a->sin_addr);
	return sizeof(*a);
}

/* Opens the socket of one family; -1 when it cannot (said in the log). */
static int
open_sock(struct discover *ds, int family)
{
	int one = 1, off = 0, hops = DISCOVER_HOPS;
	int af = family == 6 ? AF_INET6 : AF_INET;
	struct sockaddr_storage ss;
	socklen_t sl = port_addr(family, false, 0, &ss);
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	if (family == 6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one)) != 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one,
		    sizeof(one)) != 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops,
		    sizeof(hops)) != 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off,
		    sizeof(off)) != 0)
			goto fail;
	} else {
		unsigned char ttl = DISCOVER_HOPS, loop = 0;
		if (setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one,
		    sizeof(one)) != 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
		    sizeof(ttl)) != 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop,
		    sizeof(loop)) != 0)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
		goto fail;
	return fd;
fail:
	log_warn(ds->lg, "no IPv%d neighbour discovery (port %d): %s", family,
	    DISCOVER_PORT, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

struct discover *
discover_open(struct event_base *base, struct log *lg, unsigned families,
    const struct config_words *ifnames, discover_input_cb *cb, void *arg)
{
	struct discover *ds = calloc(1, sizeof(*ds));

	if (ds == NULL)
		return NULL;
	ds->lg = lg;
	ds->ifnames = *ifnames;
	ds->cb = cb;
	ds->arg = arg;
	for (int f = 6; f >= 4; f -= 2) {
		if (!(families & (1u << f)))
			continue;
		int fd = open_sock(ds, f);
		if (fd < 0)
			continue;
		struct discover_sock *s = &ds->s[ds->n_s];
		s->fd = fd;
		s->family = f;
		s->ds = ds;
		s->ev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, s);
		if (s->ev == NULL || event_add(s->ev, NULL) != 0) {
			if (s->ev != NULL)
				event_free(s->ev);
			close(fd);
			continue;
		}
		ds->n_s++;
	}
	if (ds->n_s == 0) {
		free(ds);
		return NULL;
	}
	for (int i = 0; i < ifnames->n; i++)
		if (if_nametoindex(ifnames->v[i]) == 0)
			log_warn(lg, "mesh interface %s does not exist (yet): "
			    "looking for neighbours there once it is up",
			    ifnames->v[i]);
	scan_ifs(ds);
	return ds;
}

/* Sends `buf` on socket `s` out of interface `ifindex`. */
static void
send_on(struct discover *ds, struct discover_sock *s, int ifindex,
    const uint8_t *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = port_addr(s->family, true, ifindex, &ss);
	int rc;

	if (s->family == 6) {
		rc = setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
		    &ifindex, sizeof(ifindex));
	} else {
		struct ip_mreqn mr = {.imr_ifindex = ifindex};
		rc = setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr,
		    sizeof(mr));
	}
	if (rc == 0 && sendto(s->fd, buf, len, 0, (struct sockaddr *)&ss,
	    sl) >= 0)
		return;
	/* an interface without an IPv4 address, or gone: the other family
	 * and the other interfaces still carry it */
	char name[IF_NAMESIZE] = "?";
	if_indextoname((unsigned)ifindex, name);
	log_limited(ds->lg, LOG_LEVEL_DEBUG, LOG_KIND_SEND,
	    "cannot announce this node on %s over IPv%d: %s", name, s->family,
	    strerror(errno));
}

void
discover_send(struct discover *ds, const uint8_t *buf, size_t len)
{
	char name[IF_NAMESIZE];

	scan_ifs(ds);
	for (int i = 0; i < ds->n_ifs;) {
		if (if_indextoname((unsigned)ds->ifs[i], name) == NULL) {
			/* gone: forget it, so it is joined again if it
			 * comes back under this index */
			ds->ifs[i] = ds->ifs[--ds->n_ifs];
			continue;
		}
		for (int k = 0; k < ds->n_s; k++)
			send_on(ds, &ds->s[k], ds->ifs[i], buf, len);
		i++;
	}
}

void
discover_close(struct discover *ds)
{
	if (ds == NULL)
		return;
	for (int i = 0; i < ds->n_s; i++) {
		event_free(ds->s[i].ev);
		close(ds->s[i].fd);
	}
	free(ds);
}
