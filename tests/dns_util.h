/* Helpers shared by the DNS front and forwarder tests: a real event_base,
 * loopback sockets, queries built and answers read with proto/dns.h. */
#ifndef ANDNA_TESTS_DNS_UTIL_H
#define ANDNA_TESTS_DNS_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "node/dns/dns_forward.h"
#include "proto/dns.h"

/* Milliseconds of the monotonic clock. */
static inline uint64_t
tu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* An IPv4 loopback endpoint 127.0.0.x:port. */
static inline struct endpoint
tu_lo(uint8_t x, uint16_t port)
{
	struct endpoint ep;
	memset(&ep, 0, sizeof(ep));
	ep.family = 4;
	ep.ip[0] = 127;
	ep.ip[3] = x;
	ep.port = port;
	return ep;
}

/* Runs the loop until fd is readable or ms pass.  Returns true when
 * readable. */
static inline bool
tu_wait_fd(struct event_base *base, int fd, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	while (tu_now_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 1) > 0)
			return true;
	}
	return false;
}

/* Runs the loop for ms milliseconds. */
static inline void
tu_run(struct event_base *base, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	while (tu_now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* A socket of type connected to `to`, bound to `from` first when it is
 * not NULL (another loopback address: another client host). */
static inline int
tu_client(const struct endpoint *to, const struct endpoint *from, int type)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(to->family == 4 ? AF_INET : AF_INET6, type, 0);
	if (fd < 0)
		return -1;
	if (from != NULL) {
		sl = dns_endpoint_to_sockaddr(from, &ss);
		if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
			close(fd);
			return -1;
		}
	}
	sl = dns_endpoint_to_sockaddr(to, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A UDP socket connected to `to` (from the address `from` when non-NULL),
 * so only answers from `to` arrive. */
static inline int
tu_udp_client(const struct endpoint *to, const struct endpoint *from)
{
	return tu_client(to, from, SOCK_DGRAM);
}

/* A blocking TCP connection to `to` (from `from` when non-NULL). */
static inline int
tu_tcp_client(const struct endpoint *to, const struct endpoint *from)
{
	return tu_client(to, from, SOCK_STREAM);
}

/* Builds a query for text/qtype into buf.  edns 0: no OPT record. */
static inline size_t
tu_query(uint8_t *buf, size_t size, uint16_t id, const char *text,
    uint16_t qtype, uint16_t edns)
{
	struct dns_name n;
	struct dns_query_spec spec;
	size_t len = 0;

	if (dns_name_from_text(text, &n) != 0)
		return 0;
	memset(&spec, 0, sizeof(spec));
	spec.id = id;
	spec.qname = &n;
	spec.qtype = qtype;
	spec.qclass = DNS_CLASS_IN;
	spec.flags = DNS_FLAG_RD;
	spec.edns_size = edns;
	if (dns_query_build(&spec, buf, size, &len) != 0)
		return 0;
	return len;
}

/* Sends len bytes over UDP on fd and waits up to ms for one datagram.
 * Returns its length, or 0 when none came. */
static inline size_t
tu_udp_ask(struct event_base *base, int fd, const uint8_t *q, size_t len,
    uint8_t *ans, size_t size, int ms)
{
	ssize_t n;
	if (send(fd, q, len, 0) != (ssize_t)len)
		return 0;
	if (!tu_wait_fd(base, fd, ms))
		return 0;
	n = recv(fd, ans, size, MSG_DONTWAIT);
	return n > 0 ? (size_t)n : 0;
}

/* Writes one length-prefixed message on a TCP socket. */
static inline bool
tu_tcp_send(int fd, const uint8_t *q, size_t len)
{
	uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	return send(fd, hdr, 2, MSG_NOSIGNAL) == 2 &&
	    send(fd, q, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* Reads exactly n bytes from a TCP socket, running the loop meanwhile. */
static inline bool
tu_tcp_read_n(struct event_base *base, int fd, uint8_t *buf, size_t n, int ms)
{
	size_t got = 0;
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	while (got < n && tu_now_ms() < end) {
		ssize_t r;
		if (!tu_wait_fd(base, fd, (int)(end - tu_now_ms()) + 1))
			return false;
		r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			return false;
		if (r > 0)
			got += (size_t)r;
	}
	return got == n;
}

/* Reads one length-prefixed message.  Returns its length or 0. */
static inline size_t
tu_tcp_recv(struct event_base *base, int fd, uint8_t *buf, size_t size, int ms)
{
	uint8_t hdr[2];
	size_t len;
	if (!tu_tcp_read_n(base, fd, hdr, 2, ms))
		return 0;
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (len > size || !tu_tcp_read_n(base, fd, buf, len, ms))
		return 0;
	return len;
}

/* ---- a fake upstream resolver on loopback -------------------------- */

enum tu_up_mode {
	TU_UP_ANSWER,	/* A 192.0.2.<n> for any name */
	TU_UP_SILENT,	/* never answers */
	TU_UP_SPOOF_ID, /* a wrong-id answer (6.6.6.6) before the real one */
	TU_UP_SPOOF_Q,	/* a wrong-question answer before the real one */
	TU_UP_TC,	/* UDP: TC and nothing else; TCP: 60 A records */
	TU_UP_SERVFAIL, /* SERVFAIL */
};

struct tu_upstream {
	struct event_base *base;
	enum tu_up_mode mode;
	uint8_t last; /* the 4th byte of its A answers */
	struct endpoint ep;
	int ufd, tfd, cfd;
	struct event *uev, *tev, *cev;
	int udp_queries, tcp_queries;
	uint16_t ids[256], ports[256];
	int n;
	uint8_t cbuf[70000];
	size_t clen;
};

/* Builds the upstream's answer to query q into out; returns its length. */
static inline size_t
tu_up_answer(struct tu_upstream *u, const uint8_t *q, size_t qlen, uint8_t *out,
    size_t size, bool tcp, uint16_t id_xor, uint8_t a4)
{
	struct dns_msg m;
	struct dns_builder b;
	size_t len = 0;
	uint8_t a[4] = {192, 0, 2, a4};

	if (dns_query_parse(q, qlen, &m) != 0)
		return 0;
	m.hdr.id ^= id_xor;
	if (dns_response_init(&b, out, size, tcp ? 65535 : 512, &m) != 0)
		return 0;
	dns_response_set_flag(&b, DNS_FLAG_RA, true);
	if (u->mode == TU_UP_SERVFAIL)
		dns_response_set_rcode(&b, DNS_RCODE_SERVFAIL);
	else if (u->mode == TU_UP_TC && tcp) {
		for (int i = 0; i < 60; i++) {
			a[3] = (uint8_t)(i + 1);
			dns_response_add_a(
			    &b, DNS_SEC_ANSWER, &m.q.name, 60, a);
		}
	} else if (u->mode != TU_UP_TC)
		dns_response_add_a(&b, DNS_SEC_ANSWER, &m.q.name, 60, a);
	if (dns_response_finish(&b, &len) != 0)
		return 0;
	if (u->mode == TU_UP_TC && !tcp)
		out[2] |= 0x02;
	return len;
}

static inline void
tu_up_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tu_upstream *u = arg;
	uint8_t q[4096], a[4096];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct endpoint from;
	ssize_t n;
	size_t len;

	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&ss, &sl);
	if (n < DNS_HEADER_LEN)
		return;
	dns_endpoint_from_sockaddr((struct sockaddr *)&ss, &from);
	u->udp_queries++;
	if (u->n < 256) {
		u->ids[u->n] = (uint16_t)(q[0] << 8 | q[1]);
		u->ports[u->n++] = from.port;
	}
	if (u->mode == TU_UP_SILENT)
		return;
	if (u->mode == TU_UP_SPOOF_ID &&
	    (len = tu_up_answer(u, q, (size_t)n, a, sizeof(a), false, 1, 66)))
		sendto(fd, a, len, 0, (struct sockaddr *)&ss, sl);
	if (u->mode == TU_UP_SPOOF_Q) {
		/* the same id, another name: flip the case-insensitive
		 * first letter to a different one */
		uint8_t q2[4096];
		memcpy(q2, q, (size_t)n);
		q2[13] = (uint8_t)(q2[13] == 'z' ? 'y' : 'z');
		if ((len = tu_up_answer(
			 u, q2, (size_t)n, a, sizeof(a), false, 0, 66)))
			sendto(fd, a, len, 0, (struct sockaddr *)&ss, sl);
	}
	if ((len = tu_up_answer(
		 u, q, (size_t)n, a, sizeof(a), false, 0, u->last)))
		sendto(fd, a, len, 0, (struct sockaddr *)&ss, sl);
}

static inline void
tu_up_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tu_upstream *u = arg;
	ssize_t n = recv(
	    fd, u->cbuf + u->clen, sizeof(u->cbuf) - u->clen, MSG_DONTWAIT);
	uint8_t a[65535 + 2];
	size_t qlen, len;

	if (n <= 0) {
		event_free(u->cev);
		u->cev = NULL;
		close(u->cfd);
		u->cfd = -1;
		return;
	}
	u->clen += (size_t)n;
	if (u->clen < 2)
		return;
	qlen = (size_t)u->cbuf[0] << 8 | u->cbuf[1];
	if (u->clen < qlen + 2)
		return;
	u->tcp_queries++;
	len = tu_up_answer(
	    u, u->cbuf + 2, qlen, a + 2, sizeof(a) - 2, true, 0, u->last);
	u->clen = 0;
	a[0] = (uint8_t)(len >> 8);
	a[1] = (uint8_t)len;
	if (len > 0 && send(fd, a, len + 2, MSG_NOSIGNAL) < 0)
		return;
}

static inline void
tu_up_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tu_upstream *u = arg;
	int c = accept(fd, NULL, NULL);

	if (c < 0)
		return;
	if (u->cev != NULL) {
		event_free(u->cev);
		close(u->cfd);
	}
	u->cfd = c;
	u->clen = 0;
	u->cev = event_new(u->base, c, EV_READ | EV_PERSIST, tu_up_conn_cb, u);
	event_add(u->cev, NULL);
}

/* Starts a fake upstream on 127.0.0.x (UDP and TCP, one free port). */
static inline bool
tu_up_start(struct tu_upstream *u, struct event_base *base, uint8_t x,
    enum tu_up_mode mode)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	memset(u, 0, sizeof(*u));
	u->base = base;
	u->mode = mode;
	u->last = 1;
	u->cfd = -1;
	u->ep = tu_lo(x, 0);
	for (int tries = 0; tries < 20; tries++) {
		u->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		sl = dns_endpoint_to_sockaddr(&u->ep, &ss);
		if (bind(u->ufd, (struct sockaddr *)&ss, sl) != 0)
			return false;
		sl = sizeof(ss);
		getsockname(u->ufd, (struct sockaddr *)&ss, &sl);
		dns_endpoint_from_sockaddr((struct sockaddr *)&ss, &u->ep);
		u->tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(u->tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(u->tfd, (struct sockaddr *)&ss, sl) == 0 &&
		    listen(u->tfd, 8) == 0)
			break;
		close(u->tfd);
		close(u->ufd);
		u->tfd = u->ufd = -1;
		u->ep.port = 0;
	}
	if (u->tfd < 0)
		return false;
	u->uev = event_new(base, u->ufd, EV_READ | EV_PERSIST, tu_up_udp_cb, u);
	u->tev =
	    event_new(base, u->tfd, EV_READ | EV_PERSIST, tu_up_accept_cb, u);
	event_add(u->uev, NULL);
	event_add(u->tev, NULL);
	return true;
}

static inline void
tu_up_stop(struct tu_upstream *u)
{
	if (u->cev != NULL) {
		event_free(u->cev);
		close(u->cfd);
	}
	if (u->uev != NULL)
		event_free(u->uev);
	if (u->tev != NULL)
		event_free(u->tev);
	if (u->ufd >= 0)
		close(u->ufd);
	if (u->tfd >= 0)
		close(u->tfd);
	memset(u, 0, sizeof(*u));
	u->ufd = u->tfd = u->cfd = -1;
}

#endif
