/* Forwarding to upstream resolvers: one fresh UDP socket per attempt, TCP
 * after a truncated answer, strict matching of answers. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/util.h>
#include <sodium.h>

#include "node/dns/dns_forward.h"
#include "proto/err.h"

struct dns_forward_req {
	struct dns_forward *fw;
	struct dns_forward_req *prev, *next;
	dns_forward_cb cb;
	void *arg;
	uint16_t client_id;
	struct dns_name qname;
	uint16_t qtype, qclass, flags;
	bool edns, edns_do;
	int attempt;  /* attempts started */
	int upstream; /* index of the current attempt's upstream */
	uint16_t id;  /* the current attempt's query id */
	int fd;	      /* the current UDP socket, or -1 */
	struct event *ev_udp;
	struct bufferevent *bev; /* the current TCP connection */
	struct event *ev_timer;
	uint8_t q[DNS_NAME_WIRE_MAX + 64];
	size_t qlen;
};

struct dns_forward {
	struct event_base *base;
	struct dns_forward_config cfg;
	struct dns_forward_req *reqs;
	int preferred; /* the upstream that answered last */
	struct dns_forward_stats st;
	uint8_t buf[DNS_TCP_LIMIT + 2];
};

void
dns_forward_config_defaults(struct dns_forward_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = 1500;
	cfg->tries = 3;
	cfg->max_pending = 512;
}

socklen_t
dns_endpoint_to_sockaddr(const struct endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep->port);
		memcpy(&s6->sin6_addr, ep->ip, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(ep->port);
	memcpy(&s4->sin_addr, ep->ip, 4);
	return sizeof(*s4);
}

int
dns_endpoint_from_sockaddr(const struct sockaddr *sa, struct endpoint *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		out->family = 4;
		memcpy(out->ip, &s4->sin_addr, 4);
		out->port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		out->family = 6;
		memcpy(out->ip, &s6->sin6_addr, 16);
		out->port = ntohs(s6->sin6_port);
		return 0;
	}
	return ANDNA_EINVAL;
}

int
dns_endpoint_parse(
    const char *text, uint16_t default_port, struct endpoint *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return ANDNA_EINVAL;
	if (text[0] == '[') {
		if ((end = strchr(text, ']')) == NULL)
			return ANDNA_EINVAL;
		hlen = (size_t)(end - text - 1);
		text++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return ANDNA_EINVAL;
	} else if ((end = strchr(text, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL) {
		hlen = (size_t)(end - text); /* IPv4 with a port */
		port = end + 1;
	} else
		hlen = strlen(text);
	if (hlen == 0 || hlen >= sizeof(host))
		return ANDNA_EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->ip) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, host, out->ip) == 1)
		out->family = 6;
	else
		return ANDNA_EINVAL;
	out->port = default_port;
	if (port != NULL) {
		char *e = NULL;
		unsigned long v;
		if (*port < '0' || *port > '9')
			return ANDNA_EINVAL;
		errno = 0;
		v = strtoul(port, &e, 10);
		if (errno != 0 || *e != '\0' || v > 65535)
			return ANDNA_EINVAL;
		out->port = (uint16_t)v;
	}
	return 0;
}

/* True for 0.0.0.0, ::, 127/8 and ::1 (and ::ffff:127/104). */
static bool
ip_is_local(const struct endpoint *ep)
{
	static const uint8_t zero[16];
	if (ep->family == 4)
		return ep->ip[0] == 127 || memcmp(ep->ip, zero, 4) == 0;
	if (memcmp(ep->ip, zero, 15) == 0 && ep->ip[15] <= 1)
		return true;
	return memcmp(ep->ip, zero, 10) == 0 && ep->ip[10] == 0xff &&
	    ep->ip[11] == 0xff && ep->ip[12] == 127;
}

/* True when ep is a wildcard address. */
static bool
ip_is_any(const struct endpoint *ep)
{
	static const uint8_t zero[16];
	return memcmp(ep->ip, zero, ep->family == 4 ? 4 : 16) == 0;
}

/* True when nameserver ns would reach one of our own listeners. */
static bool
skip_server(const struct endpoint *ns, const struct endpoint *skip, int n_skip)
{
	for (int i = 0; i < n_skip; i++) {
		if (skip[i].port != 53)
			continue;
		if (ip_is_any(&skip[i]) && ip_is_local(ns))
			return true;
		if (skip[i].family == ns->family &&
		    memcmp(skip[i].ip, ns->ip, ns->family == 4 ? 4 : 16) == 0)
			return true;
	}
	return false;
}

int
dns_resolv_conf_read(const char *path, const struct endpoint *skip, int n_skip,
    struct endpoint *out, int max, int *n)
{
	char line[512];
	FILE *f;

	*n = 0;
	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return ANDNA_EIO;
	while (fgets(line, sizeof(line), f) != NULL && *n < max) {
		char word[32], addr[64];
		struct endpoint ep;
		if (sscanf(line, "%31s %63s", word, addr) != 2 ||
		    strcmp(word, "nameserver") != 0)
			continue;
		if (strchr(addr, '%') != NULL) /* scoped: no way to reach */
			continue;
		memset(&ep, 0, sizeof(ep));
		if (inet_pton(AF_INET, addr, ep.ip) == 1)
			ep.family = 4;
		else if (inet_pton(AF_INET6, addr, ep.ip) == 1)
			ep.family = 6;
		else
			continue;
		ep.port = 53;
		if (!skip_server(&ep, skip, n_skip))
			out[(*n)++] = ep;
	}
	fclose(f);
	return 0;
}

struct dns_forward *
dns_forward_new(struct event_base *base, const struct dns_forward_config *cfg)
{
	struct dns_forward *fw = calloc(1, sizeof(*fw));

	if (fw == NULL)
		return NULL;
	fw->base = base;
	fw->cfg = *cfg;
	if (fw->cfg.n_upstreams > DNS_FORWARD_MAX_UPSTREAMS)
		fw->cfg.n_upstreams = DNS_FORWARD_MAX_UPSTREAMS;
	if (fw->cfg.n_upstreams < 0)
		fw->cfg.n_upstreams = 0;
	for (int i = 0; i < fw->cfg.n_upstreams; i++)
		if (fw->cfg.upstreams[i].port == 0)
			fw->cfg.upstreams[i].port = 53;
	if (fw->cfg.tries < 1)
		fw->cfg.tries = 1;
	if (fw->cfg.timeout_ms == 0)
		fw->cfg.timeout_ms = 1500;
	return fw;
}

/* Closes the sockets of the current attempt. */
static void
req_close(struct dns_forward_req *r)
{
	if (r->ev_udp != NULL) {
		event_free(r->ev_udp);
		r->ev_udp = NULL;
	}
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	if (r->bev != NULL) {
		bufferevent_free(r->bev);
		r->bev = NULL;
	}
}

/* Unlinks and frees a query. */
static void
req_free(struct dns_forward_req *r)
{
	struct dns_forward *fw = r->fw;

	req_close(r);
	if (r->ev_timer != NULL)
		event_free(r->ev_timer);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		fw->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	fw->st.pending--;
	free(r);
}

void
dns_forward_free(struct dns_forward *fw)
{
	if (fw == NULL)
		return;
	while (fw->reqs != NULL)
		req_free(fw->reqs);
	free(fw);
}

int
dns_forward_upstreams(const struct dns_forward *fw)
{
	return fw == NULL ? 0 : fw->cfg.n_upstreams;
}

void
dns_forward_get_stats(
    const struct dns_forward *fw, struct dns_forward_stats *out)
{
	*out = fw->st;
}

void
dns_forward_cancel(struct dns_forward_req *req)
{
	if (req != NULL)
		req_free(req);
}

/* Hands the outcome to the caller and frees the query. */
static void
req_done(struct dns_forward_req *r, int status, uint8_t *ans, size_t len)
{
	dns_forward_cb cb = r->cb;
	void *arg = r->arg;

	if (status == 0) {
		dns_id_set(ans, len, r->client_id);
		r->fw->st.answered++;
	} else
		r->fw->st.timeouts++;
	req_free(r);
	cb(arg, status, status == 0 ? ans : NULL, status == 0 ? len : 0);
}

static void req_attempt(struct dns_forward_req *r);

/* Checks that pkt answers the current attempt of r.  Returns the parsed
 * rcode (>= 0) or -1 when it does not match. */
static int
answer_match(struct dns_forward_req *r, const uint8_t *pkt, size_t len)
{
	struct dns_msg m;

	if (dns_msg_parse(pkt, len, &m) != 0 || !m.hdr.qr ||
	    m.hdr.id != r->id || m.hdr.qdcount != 1 ||
	    !dns_name_equal(&m.q.name, &r->qname) || m.q.qtype != r->qtype ||
	    m.q.qclass != r->qclass) {
		r->fw->st.mismatched++;
		return -1;
	}
	return m.hdr.tc ? 0x1000 | m.rcode : m.rcode;
}

/* Takes a matching answer: relayed, or a reason to try the next upstream
 * (SERVFAIL and REFUSED, when another upstream is left to ask). */
static void
answer_take(struct dns_forward_req *r, int rcode, uint8_t *pkt, size_t len)
{
	struct dns_forward *fw = r->fw;

	if ((rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED) &&
	    fw->cfg.n_upstreams > 1 && r->attempt < fw->cfg.tries) {
		req_close(r);
		req_attempt(r);
		return;
	}
	fw->preferred = r->upstream;
	req_done(r, 0, pkt, len);
}

/* Reads the upstream's TCP answer once it is whole. */
static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_forward_req *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[2];
	size_t len;
	int rc;

	if (evbuffer_copyout(in, hdr, 2) != 2)
		return;
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (evbuffer_get_length(in) < len + 2)
		return;
	evbuffer_drain(in, 2);
	evbuffer_remove(in, r->fw->buf, len);
	rc = answer_match(r, r->fw->buf, len);
	if (rc < 0 || (rc & 0x1000)) { /* TC over TCP makes no sense */
		req_close(r);
		return; /* the timer moves on */
	}
	answer_take(r, rc, r->fw->buf, len);
}

/* A failed TCP connection ends the attempt early. */
static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dns_forward_req *r = arg;

	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		req_close(r);
		event_active(r->ev_timer, EV_TIMEOUT, 0);
	}
}

/* Asks the current upstream again over TCP after a truncated answer. */
static void
req_tcp(struct dns_forward_req *r)
{
	struct dns_forward *fw = r->fw;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t hdr[2] = {(uint8_t)(r->qlen >> 8), (uint8_t)r->qlen};

	req_close(r);
	fw->st.tcp_retries++;
	sl = dns_endpoint_to_sockaddr(&fw->cfg.upstreams[r->upstream], &ss);
	r->bev = bufferevent_socket_new(fw->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->bev == NULL)
		return; /* the timer moves on */
	bufferevent_setcb(r->bev, tcp_read_cb, NULL, tcp_event_cb, r);
	if (bufferevent_socket_connect(
		r->bev, (struct sockaddr *)&ss, (int)sl) != 0) {
		req_close(r);
		return;
	}
	bufferevent_write(r->bev, hdr, 2);
	bufferevent_write(r->bev, r->q, r->qlen);
	bufferevent_enable(r->bev, EV_READ);
}

/* Reads datagrams on the attempt's socket; strangers are counted and
 * dropped. */
static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_forward_req *r = arg;
	struct dns_forward *fw = r->fw;
	const struct endpoint *up = &fw->cfg.upstreams[r->upstream];

	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct endpoint from;
		ssize_t n;
		int rc;

		n = recvfrom(fd, fw->buf, sizeof(fw->buf), 0,
		    (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error: wait for timer */
		if (dns_endpoint_from_sockaddr((struct sockaddr *)&ss, &from) !=
			0 ||
		    from.family != up->family || from.port != up->port ||
		    memcmp(from.ip, up->ip, up->family == 4 ? 4 : 16) != 0) {
			fw->st.mismatched++;
			continue;
		}
		if ((rc = answer_match(r, fw->buf, (size_t)n)) < 0)
			continue;
		if (rc & 0x1000) {
			req_tcp(r);
			return;
		}
		answer_take(r, rc, fw->buf, (size_t)n);
		return;
	}
}

/* Opens a UDP socket towards up on a random source port. */
static int
udp_socket(const struct endpoint *up)
{
	struct sockaddr_storage ss, local;
	socklen_t sl = dns_endpoint_to_sockaddr(up, &ss);
	struct endpoint any;
	int fd;

	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&any, 0, sizeof(any));
	any.family = up->family;
	for (int i = 0; i < 8; i++) {
		any.port = (uint16_t)(1024 + randombytes_uniform(65536 - 1024));
		socklen_t ll = dns_endpoint_to_sockaddr(&any, &local);
		if (bind(fd, (struct sockaddr *)&local, ll) == 0)
			break;
	}
	/* when 8 random ports were taken, connect() picks one */
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts the next attempt, or ends the query when none is left. */
static void
req_attempt(struct dns_forward_req *r)
{
	struct dns_forward *fw = r->fw;
	struct dns_query_spec spec;
	struct timeval tv = {0, 0};

	if (r->attempt >= fw->cfg.tries) {
		req_done(r, ANDNA_ETIMEOUT, NULL, 0);
		return;
	}
	r->upstream = (fw->preferred + r->attempt) % fw->cfg.n_upstreams;
	r->attempt++;
	r->id = (uint16_t)randombytes_uniform(65536);
	memset(&spec, 0, sizeof(spec));
	spec.id = r->id;
	spec.qname = &r->qname;
	spec.qtype = r->qtype;
	spec.qclass = r->qclass;
	spec.flags = r->flags;
	spec.edns_size = r->edns ? DNS_EDNS_UDP_SIZE : 0;
	spec.edns_do = r->edns_do;
	if (dns_query_build(&spec, r->q, sizeof(r->q), &r->qlen) == 0 &&
	    (r->fd = udp_socket(&fw->cfg.upstreams[r->upstream])) >= 0 &&
	    send(r->fd, r->q, r->qlen, 0) == (ssize_t)r->qlen) {
		r->ev_udp = event_new(
		    fw->base, r->fd, EV_READ | EV_PERSIST, udp_read_cb, r);
		if (r->ev_udp != NULL && event_add(r->ev_udp, NULL) == 0) {
			tv.tv_sec = fw->cfg.timeout_ms / 1000;
			tv.tv_usec = (fw->cfg.timeout_ms % 1000) * 1000;
		}
	}
	/* a failed send moves on at once, but from the event loop */
	evtimer_add(r->ev_timer, &tv);
}

/* The attempt's time is up (or it failed): the next one. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_forward_req *r = arg;

	req_close(r);
	req_attempt(r);
}

int
dns_forward_query(struct dns_forward *fw, const struct dns_msg *query,
    dns_forward_cb cb, void *arg, struct dns_forward_req **reqp)
{
	struct dns_forward_req *r;

	*reqp = NULL;
	if (fw == NULL || fw->cfg.n_upstreams == 0)
		return ANDNA_ENOTFOUND;
	if (!query->has_question || cb == NULL)
		return ANDNA_EINVAL;
	if (fw->st.pending >= (uint64_t)fw->cfg.max_pending)
		return ANDNA_ELIMIT;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ANDNA_ENOMEM;
	r->fw = fw;
	r->fd = -1;
	r->cb = cb;
	r->arg = arg;
	r->client_id = query->hdr.id;
	r->qname = query->q.name;
	r->qtype = query->q.qtype;
	r->qclass = query->q.qclass;
	r->flags = (uint16_t)((query->hdr.rd ? DNS_FLAG_RD : 0) |
	    (query->hdr.cd ? DNS_FLAG_CD : 0) |
	    (query->hdr.ad ? DNS_FLAG_AD : 0));
	r->edns = query->edns.present;
	r->edns_do = query->edns.do_bit;
	if ((r->ev_timer = evtimer_new(fw->base, timer_cb, r)) == NULL) {
		free(r);
		return ANDNA_ENOMEM;
	}
	r->next = fw->reqs;
	if (fw->reqs != NULL)
		fw->reqs->prev = r;
	fw->reqs = r;
	fw->st.pending++;
	fw->st.queries++;
	req_attempt(r);
	*reqp = r;
	return 0;
}
