/* The read-only HTTP status page, status.json and metrics (see http.h). */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <sodium.h>

#include "node/daemon/control.h"
#include "node/daemon/daemon.h"
#include "node/daemon/http.h"
#include "node/daemon/ratelimit.h"
#include "node/daemon/timebase.h"
#include "node/dns/dns_forward.h"
#include "node/dns/dns_node.h"
#include "proto/err.h"

#define HTTP_RL_SLOTS 1024    /* sources tracked by the rate limiter */
#define HTTP_MINUTE_MS 60000
#define HTTP_ACCEPT_PAUSE_S 1 /* after running out of descriptors */

/* The page: node/daemon/http_page.html made a C string by the build. */
static const char page_html[] =
#include "node/daemon/http_page.inc"
    ;

/* A connection evhttp took, followed so that no source holds too many
 * (evhttp 2.1 has no such limit of its own).  We hold a reference to its
 * bufferevent: when evhttp lets the connection go, bufferevent_free()
 * clears its callbacks, and that is how we see it gone. */
struct http_conn {
	TAILQ_ENTRY(http_conn) link;
	struct bufferevent *bev;
	struct endpoint src;
	bool known;   /* src read */
	bool refused; /* shut down, for evhttp to free */
};
TAILQ_HEAD(http_conns, http_conn);

struct http {
	struct daemon *d;
	struct log *lg;
	struct evhttp *srv;
	struct evconnlistener *ls[CONFIG_ADDRS_MAX];
	struct endpoint at[CONFIG_ADDRS_MAX]; /* where each listens */
	int n_ls;
	struct event *ev_minute, *ev_resume, *ev_check;
	struct ratelimit *rl;
	struct http_conns conns;
	/* DNS queries and definite answers (NOERROR, NXDOMAIN) per minute:
	 * a ring of the last HTTP_MINUTES - 1 whole minutes, and the totals
	 * when the minute in progress began */
	uint32_t q[HTTP_MINUTES - 1], a[HTTP_MINUTES - 1];
	int head, filled;
	uint64_t q_mark, a_mark;
	uint64_t requests, rate_limited, conns_refused;
};

/* ---- connections ------------------------------------------------------- */

/* Whether evhttp has let the connection go. */
static bool
conn_gone(const struct http_conn *c)
{
	bufferevent_event_cb ecb = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
	return ecb == NULL;
}

/* Forgets the connections evhttp has let go. */
static void
conns_prune(struct http *h)
{
	struct http_conn *c, *next;

	for (c = TAILQ_FIRST(&h->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (!conn_gone(c))
			continue;
		TAILQ_REMOVE(&h->conns, c, link);
		bufferevent_decref(c->bev);
		free(c);
	}
}

/* Whether `c`, whose source is known, is one too many: over
 * HTTP_CONNS_MAX in all or HTTP_CONNS_PER_SOURCE from its address. */
static bool
conn_over(struct http *h, const struct http_conn *c)
{
	const struct http_conn *x;
	int all = 0, same = 0;
	size_t alen = c->src.family == 4 ? 4 : 16;

	TAILQ_FOREACH(x, &h->conns, link) {
		if (x == c || !x->known || x->refused)
			continue;
		all++;
		if (x->src.family == c->src.family &&
		    memcmp(x->src.ip, c->src.ip, alen) == 0)
			same++;
	}
	return all >= HTTP_CONNS_MAX || same >= HTTP_CONNS_PER_SOURCE;
}

/* Reads the source of each new connection and shuts down those over the
 * limits: evhttp then reads their end and frees them.  Runs once the
 * loop has handed evhttp the new connections (their descriptors are set
 * by then). */
static void
conns_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	struct http_conn *c;

	conns_prune(h);
	TAILQ_FOREACH(c, &h->conns, link) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = (int)bufferevent_getfd(c->bev);
		if (c->known)
			continue;
		c->known = true;
		if (cfd < 0 || getpeername(cfd, (struct sockaddr *)&ss,
		    &sl) != 0 || dns_endpoint_from_sockaddr(
		    (struct sockaddr *)&ss, &c->src) != 0) {
			c->refused = true; /* no address to account it to */
			continue;
		}
		if (!conn_over(h, c))
			continue;
		char b[INET6_ADDRSTRLEN];
		c->refused = true;
		h->conns_refused++;
		shutdown(cfd, SHUT_RDWR);
		inet_ntop(c->src.family == 4 ? AF_INET : AF_INET6, c->src.ip, b,
		    sizeof(b));
		log_limited(h->lg, LOG_LEVEL_WARN, LOG_KIND_CONN,
		    "%s opens more connections to the status page than it may "
		    "(%d from one address, %d in all); closing the excess", b,
		    HTTP_CONNS_PER_SOURCE, HTTP_CONNS_MAX);
	}
}

/* evhttp's hook for the bufferevent of each connection it accepts: ours,
 * so that we can follow the connection. */
static struct bufferevent *
conn_bev_cb(struct event_base *base, void *arg)
{
	struct http *h = arg;
	struct http_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev = c == NULL ? NULL :
	    bufferevent_socket_new(base, -1, 0);

	if (bev == NULL) {
		free(c);
		return NULL; /* evhttp makes one of its own, unfollowed */
	}
	bufferevent_incref(bev);
	c->bev = bev;
	TAILQ_INSERT_TAIL(&h->conns, c, link);
	event_active(h->ev_check, EV_TIMEOUT, 0);
	return bev;
}

/* ---- DNS per minute ---------------------------------------------------- */

/* What the chart shows: queries, and the answers that said yes or no. */
static void
dns_totals(struct http *h, uint64_t *q, uint64_t *a)
{
	struct dns_front_stats s;

	dns_node_stats(daemon_dns(h->d), &s);
	*q = s.udp_queries + s.tcp_queries;
	*a = s.noerror + s.nxdomain;
}

/* Closes the minute in progress into the ring. */
static void
minute_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	uint64_t q, a;

	dns_totals(h, &q, &a);
	h->q[h->head] = (uint32_t)(q - h->q_mark);
	h->a[h->head] = (uint32_t)(a - h->a_mark);
	h->head = (h->head + 1) % (HTTP_MINUTES - 1);
	if (h->filled < HTTP_MINUTES - 1)
		h->filled++;
	h->q_mark = q;
	h->a_mark = a;
	conns_prune(h); /* those that went since the last new one */
}

/* "dns_per_minute": the whole minutes, oldest first, then the one in
 * progress. */
static void
minutes_json(struct http *h, struct evbuffer *b)
{
	uint64_t q, a;
	const uint32_t *ring[2] = {h->q, h->a};

	dns_totals(h, &q, &a);
	uint64_t now[2] = {q - h->q_mark, a - h->a_mark};
	evbuffer_add_printf(b, "\"dns_per_minute\":{");
	for (int k = 0; k < 2; k++) {
		evbuffer_add_printf(b, "%s\"%s\":[", k > 0 ? "," : "",
		    k == 0 ? "queries" : "answered");
		for (int i = 0; i < h->filled; i++) {
			int at = (h->head - h->filled + i + 2 * (HTTP_MINUTES - 1)) %
			    (HTTP_MINUTES - 1);
			evbuffer_add_printf(b, "%u,", ring[k][at]);
		}
		evbuffer_add_printf(b, "%llu]", (unsigned long long)now[k]);
	}
	evbuffer_add(b, "}", 1);
}

/* ---- status.json ---------------------------------------------------------- */

/* The overlay address `a` as text, its ids from level 3 down to
 * `from_level` ("10.20.30" for 1, the whole address for 0). */
static void
ovl_str(ovl_addr_t a, int from_level, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int l = ANDNA_LEVELS - 1; l >= from_level && n < len; l--)
		n += (size_t)snprintf(buf + n, len - n, "%s%u",
		    l < ANDNA_LEVELS - 1 ? "." : "", ovl_id(a, l));
}

/* The gnodes the node knows, one level per entry: at level L, the
 * level-L gnodes inside its level-(L+1) gnode, with their member counts
 * (level 1) or child gnode counts. */
static void
levels_json(struct engine *e, struct evbuffer *b)
{
	struct round_view *v = malloc(sizeof(*v));
	char pfx[16];

	evbuffer_add_printf(b, "\"levels\":[");
	if (v == NULL || !engine_hooked(e)) {
		free(v);
		evbuffer_add(b, "]", 1);
		return;
	}
	engine_round_view(e, v);
	for (int l = 1; l < ANDNA_LEVELS; l++) {
		ovl_str(v->self, l + 1, pfx, sizeof(pfx));
		evbuffer_add_printf(b, "%s{\"level\":%d,\"parent\":\"%s\","
		    "\"own\":%u,\"gnodes\":[", l > 1 ? "," : "", l, pfx,
		    ovl_id(v->self, l));
		int n = 0;
		for (int id = 0; id < 256; id++)
			if (idset_has(&v->ids[l], (uint8_t)id))
				evbuffer_add_printf(b, "%s{\"id\":%d,\"count\":%u}",
				    n++ > 0 ? "," : "", id, v->children[l][id]);
		evbuffer_add(b, "]}", 2);
	}
	evbuffer_add(b, "]", 1);
	free(v);
}

static const char *const liveness[] = {
	[ENGINE_MEMBER_ALIVE] = "alive", [ENGINE_MEMBER_SUSPECT] = "suspect",
	[ENGINE_MEMBER_DEAD] = "dead", [ENGINE_MEMBER_LEFT] = "left",
};

struct members_walk {
	struct evbuffer *b;
	uint64_t now;
	int n, total;
};

/* One member of "map", counted always, listed up to HTTP_MEMBERS_MAX. */
static void
member_json(struct members_walk *w, ovl_addr_t addr, const uint8_t *pk,
    const char *state, uint64_t since_s, bool self)
{
	char a[20], key[2 * ANDNA_PK_LEN + 1];

	w->total++;
	if (w->n >= HTTP_MEMBERS_MAX)
		return;
	ovl_str(addr, 0, a, sizeof(a));
	sodium_bin2hex(key, sizeof(key), pk, ANDNA_PK_LEN);
	evbuffer_add_printf(w->b, "%s{\"address\":\"%s\",\"node_key\":\"%s\","
	    "\"state\":\"%s\",\"since_s\":%llu,\"self\":%s}", w->n++ > 0 ?
	    "," : "", a, key, state, (unsigned long long)since_s,
	    self ? "true" : "false");
}

/* An engine_members() visitor. */
static int
member_cb(void *arg, const struct engine_member *m)
{
	struct members_walk *w = arg;

	member_json(w, m->addr, m->pk, liveness[m->state], w->now > m->since ?
	    (w->now - m->since) / 1000 : 0, false);
	return 0;
}

/* "map": the gnode levels and the members of the node's own gnode, the
 * node itself first. */
static void
map_json(struct http *h, struct engine *e, struct evbuffer *b)
{
	struct members_walk w = {b, daemon_now(h->d), 0, 0};

	evbuffer_add_printf(b, "\"map\":{");
	levels_json(e, b);
	evbuffer_add_printf(b, ",\"members\":[");
	if (engine_hooked(e)) {
		member_json(&w, engine_addr(e), engine_node_key(e), "alive",
		    daemon_uptime_s(h->d), true);
		engine_members(e, member_cb, &w);
	}
	evbuffer_add_printf(b, "],\"members_total\":%d}", w.total);
}

/* status.json into `b`; returns 0 or ANDNA_EBUSY while the node starts. */
static int
status_json(struct http *h, struct evbuffer *b)
{
	struct engine *e = daemon_engine(h->d);
	int total = 0;

	evbuffer_add_printf(b, "{\"ok\":true,");
	int rc = control_status_json(h->d, b);
	if (rc != 0)
		return rc;
	evbuffer_add(b, ",", 1);
	map_json(h, e, b);
	evbuffer_add_printf(b, ",\"names\":[");
	size_t cap = evbuffer_get_length(b) + HTTP_NAMES_BYTES;
	rc = control_names_json(h->d, b, HTTP_NAMES_MAX, cap, &total);
	if (rc != 0)
		return rc;
	evbuffer_add_printf(b, "],\"names_total\":%d,", total);
	minutes_json(h, b);
	evbuffer_add(b, "}\n", 2);
	return 0;
}

/* ---- metrics ----------------------------------------------------------- */

/* A metric of one sample. */
struct metric {
	const char *name, *type, *help;
	uint64_t v;
};

/* A metric family whose samples differ by one label. */
struct family {
	const char *name, *type, *help, *label;
	int n;
	const char *const *values;
	const uint64_t *v;
};

/* The HELP and TYPE lines of one metric family. */
static void
metric_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A family of samples that one label tells apart. */
static void
family_text(struct evbuffer *b, const struct family *f)
{
	metric_head(b, f->name, f->type, f->help);
	for (int i = 0; i < f->n; i++)
		evbuffer_add_printf(b, "%s{%s=\"%s\"} %llu\n", f->name, f->label,
		    f->values[i], (unsigned long long)f->v[i]);
}

/* /metrics: the status counters in the Prometheus text format, units in
 * the names (seconds, bytes), counters ending in _total. */
static void
metrics_text(struct http *h, struct evbuffer *b)
{
	struct engine *e = daemon_engine(h->d);
	const struct engine_stats *s = engine_stats(e);
	const struct daemon_counters *io = daemon_counters(h->d);
	struct engine_ns_stats ns;
	struct dns_front_stats dns;
	char key[2 * ANDNA_PK_LEN + 1], addr[20];

	engine_ns_stats(e, &ns);
	dns_node_stats(daemon_dns(h->d), &dns);
	sodium_bin2hex(key, sizeof(key), engine_node_key(e), ANDNA_PK_LEN);
	ovl_str(engine_addr(e), 0, addr, sizeof(addr));
	metric_head(b, "andna_node_info", "gauge",
	    "The node's public key and overlay address (empty while joining).");
	evbuffer_add_printf(b, "andna_node_info{node_key=\"%s\",address=\"%s\"}"
	    " 1\n", key, engine_hooked(e) ? addr : "");
	const struct metric one[] = {
		{"andna_uptime_seconds", "gauge", "Seconds since the node "
		    "started.", daemon_uptime_s(h->d)},
		{"andna_joined", "gauge", "1 once the node has an overlay "
		    "address.", engine_hooked(e)},
		{"andna_gnode_members", "gauge", "Live members of the node's "
		    "gnode, itself included.", (uint64_t)engine_gnode_members(e)},
		{"andna_known_peers", "gauge", "Live peers known, saved for the "
		    "next start.", (uint64_t)daemon_known_peers(h->d)},
		{"andna_own_names", "gauge", "Names this node owns.", ns.own},
		{"andna_records_held", "gauge", "Records held for the hash "
		    "gnode.", ns.records},
		{"andna_queued_claims", "gauge", "Queued claims held.",
		    ns.claims},
		{"andna_counter_tallies", "gauge", "Counter tallies held for "
		    "owner keys.", ns.tallies},
		{"andna_cache_entries", "gauge", "Entries of the resolved "
		    "cache.", ns.cache},
		{"andna_overlay_messages_sent_total", "counter", "Overlay "
		    "messages sent.", s->sent},
		{"andna_overlay_messages_received_total", "counter", "Overlay "
		    "messages received.", s->received},
		{"andna_overlay_bytes_sent_total", "counter", "Bytes of overlay "
		    "messages sent.", s->bytes_sent},
		{"andna_overlay_bytes_received_total", "counter", "Bytes of "
		    "overlay messages received.", s->bytes_received},
		{"andna_overlay_messages_forwarded_total", "counter", "Routed "
		    "messages passed on to the next hop.", s->forwarded},
		{"andna_names_registered_total", "counter", "Registrations, "
		    "updates and renewals stored for the hash gnode.",
		    ns.registered},
		{"andna_names_resolved_total", "counter", "Names this node "
		    "resolved.", ns.resolved},
		{"andna_names_resolve_failed_total", "counter", "Resolutions "
		    "that failed.", ns.resolve_failed},
		{"andna_records_replicated_total", "counter", "Records taken in "
		    "from replication.", ns.replicated},
		{"andna_records_synced_total", "counter", "Records taken in by "
		    "anti-entropy.", ns.synced},
		{"andna_records_expired_total", "counter", "Records, claims and "
		    "tallies expired.", ns.expired},
		{"andna_dns_truncated_total", "counter", "DNS answers sent "
		    "truncated (TC).", dns.truncated},
		{"andna_dns_overlay_lookups_total", "counter", "DNS queries "
		    "answered from the overlay.", dns.overlay},
		{"andna_dns_forwarded_total", "counter", "DNS queries forwarded "
		    "to upstream resolvers.", dns.forwarded},
		{"andna_dns_timeouts_total", "counter", "DNS queries the overlay "
		    "did not answer in time.", dns.timeouts},
		{"andna_http_requests_total", "counter", "HTTP requests "
		    "served.", h->requests},
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		metric_head(b, one[i].name, one[i].type, one[i].help);
		evbuffer_add_printf(b, "%s %llu\n", one[i].name,
		    (unsigned long long)one[i].v);
	}
	static const char *const levels[] = {"1", "2", "3"};
	static const char *const transports[] = {"udp", "tcp"};
	static const char *const dirs[] = {"in", "out"};
	static const char *const rcodes[] = {"NOERROR", "NXDOMAIN",
	    "SERVFAIL", "FORMERR", "NOTIMP", "REFUSED", "BADVERS"};
	static const char *const drops[] = {"malformed", "signature",
	    "unexpected", "hops", "noroute", "untrusted"};
	static const char *const refusals[] = {"rate_limited", "oversized",
	    "truncated", "connection_refused", "send_failed"};
	static const char *const dns_refusals[] = {"dropped", "rate_limited",
	    "tcp_rejected"};
	const uint64_t outer[] = {(uint64_t)engine_outer_count(e, 1),
	    (uint64_t)engine_outer_count(e, 2),
	    (uint64_t)engine_outer_count(e, 3)};
	const uint64_t udp[] = {io->udp_in, io->udp_out};
	const uint64_t tcp[] = {io->tcp_in, io->tcp_out};
	const uint64_t queries[] = {dns.udp_queries, dns.tcp_queries};
	const uint64_t answers[] = {dns.noerror, dns.nxdomain, dns.servfail,
	    dns.formerr, dns.notimp, dns.refused, dns.badvers};
	const uint64_t dropped[] = {s->dropped[ENGINE_DROP_MALFORMED],
	    s->dropped[ENGINE_DROP_SIGNATURE],
	    s->dropped[ENGINE_DROP_UNEXPECTED], s->dropped[ENGINE_DROP_HOPS],
	    s->dropped[ENGINE_DROP_NOROUTE],
	    s->dropped[ENGINE_DROP_UNTRUSTED]};
	const uint64_t refused[] = {io->rate_limited, io->oversized,
	    io->truncated, io->conns_refused, io->send_failed};
	const uint64_t dns_refused[] = {dns.dropped, dns.rate_limited,
	    dns.tcp_rejected};
	const uint64_t http_refused[] = {h->rate_limited, h->conns_refused};
	static const char *const http_reasons[] = {"rate_limited",
	    "connections"};
	const struct family fams[] = {
		{"andna_outer_gnodes", "gauge", "Sibling gnodes known, by level.",
		    "level", 3, levels, outer},
		{"andna_overlay_udp_datagrams_total", "counter", "Overlay UDP "
		    "datagrams, by direction.", "direction", 2, dirs, udp},
		{"andna_overlay_tcp_frames_total", "counter", "Overlay TCP "
		    "frames, by direction.", "direction", 2, dirs, tcp},
		{"andna_overlay_dropped_total", "counter", "Overlay messages "
		    "dropped by the engine, by reason.", "reason", 6, drops,
		    dropped},
		{"andna_overlay_refused_total", "counter", "Overlay input "
		    "refused and sends failed, by reason.", "reason", 5, refusals,
		    refused},
		{"andna_dns_queries_total", "counter", "DNS queries, by "
		    "transport.", "transport", 2, transports, queries},
		{"andna_dns_responses_total", "counter", "DNS responses, by "
		    "rcode.", "rcode", 7, rcodes, answers},
		{"andna_dns_refused_total", "counter", "DNS queries and "
		    "connections turned away, by reason.", "reason", 3,
		    dns_refusals, dns_refused},
		{"andna_http_refused_total", "counter", "HTTP requests and "
		    "connections turned away, by reason.", "reason", 2,
		    http_reasons, http_refused},
	};
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		family_text(b, &fams[i]);
}

/* ---- requests ------------------------------------------------------------ */

/* Sends `body` (not taken) with the headers every answer carries. */
static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);

	evhttp_add_header(hd, "Content-Type", type);
	evhttp_add_header(hd, "Cache-Control", "no-store");
	evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
	/* the page's own inline script and style, and fetches of its own
	 * origin; nothing from elsewhere, and no framing by other pages */
	evhttp_add_header(hd, "Content-Security-Policy", "default-src 'none'; "
	    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
	    "connect-src 'self'; frame-ancestors 'none'");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* the length GET would send, and no body: evhttp 2.1 would
		 * send the body and no length */
		char len[24];
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(hd, "Content-Length", len);
		body = NULL;
	}
	evhttp_send_reply(req, code, reason, body);
}

/* A short error page: `code` and a sentence. */
static void
reply_error(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, NULL);
		return;
	}
	evbuffer_add_printf(b, "%d %s: %s\n", code, reason, text);
	reply(req, code, reason, "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

/* Takes a token of the request's source; false (429 sent, the connection
 * closed after it) when it has none. */
static bool
rate_allow(struct http *h, struct evhttp_request *req)
{
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	const struct sockaddr *sa = evhttp_connection_get_addr(con);
	struct endpoint ep;
	char b[INET6_ADDRSTRLEN];
	int rate = daemon_config(h->d)->http_rate_limit;

	if (sa == NULL || dns_endpoint_from_sockaddr(sa, &ep) != 0)
		return true; /* not an IP socket: nobody to account it to */
	if (ratelimit_allow(h->rl, &ep, timebase_boot_ms(), rate, 2 * rate))
		return true;
	h->rate_limited++;
	/* the address alone: the bucket is the address's, whatever port
	 * each connection came from */
	inet_ntop(ep.family == 4 ? AF_INET : AF_INET6, ep.ip, b, sizeof(b));
	log_limited(h->lg, LOG_LEVEL_WARN, LOG_KIND_RATE,
	    "%s asks the status page more than %d times a second; turning "
	    "the excess away", b, rate);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
	    "1");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection",
	    "close");
	reply_error(req, 429, "Too Many Requests", "slow down");
	return false;
}

/* Every request: rate limit, method, then one of the three paths. */
static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *b = NULL;

	if (!rate_allow(h, req))
		return;
	h->requests++;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		reply_error(req, 405, "Method Not Allowed",
		    "the status page is read-only: GET or HEAD");
		return;
	}
	if (path == NULL || (strcmp(path, "/") != 0 &&
	    strcmp(path, "/status.json") != 0 && strcmp(path, "/metrics") != 0)) {
		reply_error(req, HTTP_NOTFOUND, "Not Found",
		    "there is /, /status.json and /metrics");
		return;
	}
	if (strcmp(path, "/") == 0) {
		b = evbuffer_new();
		if (b != NULL && evbuffer_add_reference(b, page_html,
		    sizeof(page_html) - 1, NULL, NULL) == 0)
			reply(req, HTTP_OK, "OK", "text/html; charset=utf-8", b);
		else
			evhttp_send_error(req, HTTP_SERVUNAVAIL, NULL);
		evbuffer_free(b);
		return;
	}
	if (daemon_engine(h->d) == NULL || (b = evbuffer_new()) == NULL) {
		reply_error(req, HTTP_SERVUNAVAIL, "Service Unavailable",
		    "the node is starting");
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		metrics_text(h, b);
		reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4; "
		    "charset=utf-8", b);
	} else if (status_json(h, b) == 0) {
		reply(req, HTTP_OK, "OK", "application/json", b);
	} else {
		reply_error(req, HTTP_SERVUNAVAIL, "Service Unavailable",
		    "the node cannot read its store");
	}
	evbuffer_free(b);
}

/* ---- sockets ------------------------------------------------------------ */

/* Accepting again after a pause for want of descriptors. */
static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	for (int i = 0; i < h->n_ls; i++)
		evconnlistener_enable(h->ls[i]);
}

/* An accept() that failed. */
static void
accept_error_cb(struct evconnlistener *ls, void *arg)
{
	struct http *h = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* out of descriptors: stop accepting for a moment, rather
		 * than spin on a socket that stays readable */
		struct timeval tv = {HTTP_ACCEPT_PAUSE_S, 0};
		for (int i = 0; i < h->n_ls; i++)
			evconnlistener_disable(h->ls[i]);
		evtimer_add(h->ev_resume, &tv);
	}
	log_limited(h->lg, LOG_LEVEL_WARN, LOG_KIND_CONN,
	    "cannot accept a connection to the status page: %s",
	    strerror(err));
}

/* Binds one address of http_listen and hands it to the server.  An
 * address that cannot be bound is logged and left out: the page is no
 * reason to keep a node from serving names. */
static int
http_listen_on(struct http *h, const struct endpoint *ep)
{
	char b[64];
	int fd = daemon_bind_socket(ep, SOCK_STREAM);

	config_format_endpoint(ep, b, sizeof(b));
	if (fd < 0) {
		log_err(h->lg, "cannot serve the status page on %s: %s; going "
		    "on without it there", b, strerror(errno));
		return 0;
	}
	struct evconnlistener *ls = evconnlistener_new(daemon_base(h->d), NULL,
	    NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (ls == NULL) {
		close(fd);
		return ANDNA_ENOMEM;
	}
	if (evhttp_bind_listener(h->srv, ls) == NULL) {
		evconnlistener_free(ls);
		return ANDNA_ENOMEM;
	}
	evconnlistener_set_error_cb(ls, accept_error_cb);
	h->at[h->n_ls] = *ep;
	h->ls[h->n_ls++] = ls;
	log_info(h->lg, "status page at http://%s/", b);
	return 0;
}

int
http_open(struct daemon *d, struct http **out)
{
	const struct config *cfg = daemon_config(d);
	struct event_base *base = daemon_base(d);
	struct http *h = NULL;
	int rc = ANDNA_ENOMEM;

	*out = NULL;
	if (cfg->http_listen.n == 0)
		return 0;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ANDNA_ENOMEM;
	h->d = d;
	h->lg = daemon_log(d);
	h->srv = evhttp_new(base);
	h->rl = ratelimit_new(HTTP_RL_SLOTS);
	h->ev_minute = event_new(base, -1, EV_PERSIST, minute_cb, h);
	h->ev_resume = evtimer_new(base, resume_cb, h);
	h->ev_check = event_new(base, -1, 0, conns_check_cb, h);
	TAILQ_INIT(&h->conns);
	if (h->srv == NULL || h->rl == NULL || h->ev_minute == NULL ||
	    h->ev_resume == NULL || h->ev_check == NULL)
		goto fail;
	evhttp_set_max_headers_size(h->srv, HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(h->srv, HTTP_BODY_MAX);
	evhttp_set_timeout(h->srv, HTTP_TIMEOUT_S);
	/* every method reaches request_cb, which answers 405 with Allow,
	 * where evhttp would say 501 */
	evhttp_set_allowed_methods(h->srv, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->srv, request_cb, h);
	evhttp_set_bevcb(h->srv, conn_bev_cb, h);
	for (int i = 0; i < cfg->http_listen.n; i++)
		if ((rc = http_listen_on(h, &cfg->http_listen.v[i])) != 0)
			goto fail;
	if (h->n_ls == 0) {
		http_close(h);
		return 0;
	}
	dns_totals(h, &h->q_mark, &h->a_mark);
	struct timeval minute = {HTTP_MINUTE_MS / 1000, 0};
	event_add(h->ev_minute, &minute);
	*out = h;
	return 0;
fail:
	http_close(h);
	return rc;
}

void
http_url(const struct http *h, char *buf, size_t len)
{
	char ep[64];

	if (h == NULL) {
		snprintf(buf, len, "%s", "");
		return;
	}
	config_format_endpoint(&h->at[0], ep, sizeof(ep));
	snprintf(buf, len, "http://%s/", ep);
}

void
http_close(struct http *h)
{
	struct http_conn *c;

	if (h == NULL)
		return;
	if (h->srv != NULL)
		evhttp_free(h->srv); /* frees the listeners bound to it, and
				      * lets every connection go */
	while ((c = TAILQ_FIRST(&h->conns)) != NULL) {
		TAILQ_REMOVE(&h->conns, c, link);
		bufferevent_decref(c->bev);
		free(c);
	}
	if (h->ev_check != NULL)
		event_free(h->ev_check);
	if (h->ev_minute != NULL)
		event_free(h->ev_minute);
	if (h->ev_resume != NULL)
		event_free(h->ev_resume);
	ratelimit_free(h->rl);
	free(h);
}
