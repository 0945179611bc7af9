/* The control socket server and its protocol (see control.h). */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "crypto/crypto.h"
#include "node/daemon/control.h"
#include "node/daemon/daemon.h"
#include "node/daemon/http.h"
#include "node/dns/dns_node.h"
#include "proto/err.h"

#define CTL_CONNS_MAX 32
#define CTL_IO_TIMEOUT_S 10 /* to send a request, or take a reply */

/* One client connection: one request, one reply. */
struct ctl_conn {
	TAILQ_ENTRY(ctl_conn) link;
	struct control *ctl;
	struct bufferevent *bev;
	bool json;
	bool waiting;             /* for an engine outcome */
	enum engine_event_type wait_type;
	uint64_t wait_id;
	uint64_t deadline;        /* monotonic ms */
	char what[CONTROL_WORD_MAX + 1]; /* the name or node asked about */
	/* a reply made during the engine call that started the request,
	 * kept until the call returns the request's id to compare */
	bool stashed;
	uint64_t stash_id;
	enum control_exit stash_code;
	char stash_reason[512];
	struct evbuffer *stash;
};

struct control {
	struct daemon *d;
	struct log *lg;
	struct evconnlistener *ls;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	TAILQ_HEAD(, ctl_conn) conns;
	int n;
	struct ctl_conn *starting; /* whose engine call is running */
	uint64_t event_id;         /* of the event being handled */
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- shared helpers ---------------------------------------------------- */

enum control_exit
control_exit_for(int err)
{
	switch (err) {
	case 0:
		return CONTROL_EXIT_OK;
	case ANDNA_ENOTFOUND:
		return CONTROL_EXIT_NOTFOUND;
	case ANDNA_ENAME_TAKEN:
	case ANDNA_ENAME_QUEUED:
	case ANDNA_EQUEUE_FULL:
	case ANDNA_EHOST_FULL:
		return CONTROL_EXIT_TAKEN;
	case ANDNA_ETOO_MANY_NAMES:
	case ANDNA_ETOO_SOON:
	case ANDNA_ELIMIT:
	case ANDNA_EREC_ENTRIES:
		return CONTROL_EXIT_LIMIT;
	case ANDNA_ENOT_HOOKED:
	case ANDNA_ETIMEOUT:
	case ANDNA_EUNREACHABLE:
	case ANDNA_EBUSY:
	case ANDNA_EMINORITY:
		return CONTROL_EXIT_OVERLAY;
	case ANDNA_EINVAL:
	case ANDNA_EREC_NAME:
	case ANDNA_EREC_TTL:
	case ANDNA_ENAME_EMPTY:
	case ANDNA_ENAME_TOO_LONG:
	case ANDNA_ENAME_LABEL_EMPTY:
	case ANDNA_ENAME_LABEL_TOO_LONG:
	case ANDNA_ENAME_CHAR:
	case ANDNA_ENAME_HYPHEN:
		return CONTROL_EXIT_USAGE;
	default:
		return CONTROL_EXIT_FAIL;
	}
}

const char *
control_error_id(int err)
{
	switch (err) {
	case ANDNA_ENOTFOUND:
		return "not_found";
	case ANDNA_ENAME_TAKEN:
		return "taken";
	case ANDNA_ENAME_QUEUED:
		return "queued";
	case ANDNA_EQUEUE_FULL:
		return "queue_full";
	case ANDNA_EHOST_FULL:
		return "host_full";
	case ANDNA_ETOO_MANY_NAMES:
		return "too_many_names";
	case ANDNA_ETOO_SOON:
		return "too_soon";
	case ANDNA_ELIMIT:
	case ANDNA_EREC_ENTRIES:
		return "limit";
	case ANDNA_ENOT_HOOKED:
		return "not_joined";
	case ANDNA_ETIMEOUT:
		return "timeout";
	case ANDNA_EUNREACHABLE:
		return "unreachable";
	case ANDNA_EBUSY:
		return "busy";
	case ANDNA_EMINORITY:
		return "minority";
	default:
		return control_exit_for(err) == CONTROL_EXIT_USAGE ? "invalid" :
		    "failed";
	}
}

static const char *
proto_name(uint8_t proto)
{
	return proto == RECORD_PROTO_TCP ? "tcp" :
	    proto == RECORD_PROTO_UDP ? "udp" : "none";
}

/* Reads a decimal number up to `max` from s[0..n). */
static int
read_num(const char *s, size_t n, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;

	if (n == 0 || n > 10)
		return ANDNA_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ANDNA_EINVAL;
		x = x * 10 + (unsigned long)(s[i] - '0');
	}
	if (x > max)
		return ANDNA_EINVAL;
	*v = x;
	return 0;
}

int
control_entry_parse(const char *word, struct record_entry *e)
{
	const char *f[5];
	size_t len[5];
	unsigned long v[4];
	const char *p = word;

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < 5; i++) {
		f[i] = p;
		const char *slash = i < 4 ? strchr(p, '/') : NULL;
		if (i < 4 && slash == NULL)
			return ANDNA_EINVAL;
		len[i] = slash != NULL ? (size_t)(slash - p) : strlen(p);
		p += len[i] + 1;
	}
	if (read_num(f[0], len[0], 65535, &v[0]) != 0 ||
	    read_num(f[2], len[2], 65535, &v[2]) != 0 ||
	    read_num(f[3], len[3], 65535, &v[3]) != 0)
		return ANDNA_EINVAL;
	if (len[1] == 4 && memcmp(f[1], "none", 4) == 0)
		e->proto = RECORD_PROTO_NONE;
	else if (len[1] == 3 && memcmp(f[1], "tcp", 3) == 0)
		e->proto = RECORD_PROTO_TCP;
	else if (len[1] == 3 && memcmp(f[1], "udp", 3) == 0)
		e->proto = RECORD_PROTO_UDP;
	else
		return ANDNA_EINVAL;
	e->service = (uint16_t)v[0];
	e->priority = (uint16_t)v[2];
	e->weight = (uint16_t)v[3];
	if (inet_pton(AF_INET, f[4], e->target.ip) == 1) {
		e->kind = RECORD_TARGET_IPV4;
		return 0;
	}
	if (inet_pton(AF_INET6, f[4], e->target.ip) == 1) {
		e->kind = RECORD_TARGET_IPV6;
		return 0;
	}
	e->kind = RECORD_TARGET_NAME;
	return name_canonical(e->target.name, f[4]);
}

int
control_ttl_parse(const char *s, uint32_t *ttl)
{
	uint64_t v;

	*ttl = 0;
	if (config_parse_seconds(s, &v) != 0)
		return ANDNA_EINVAL;
	if (v < ANDNA_TTL_MIN || v > ANDNA_TTL_MAX)
		return ANDNA_EREC_TTL;
	*ttl = (uint32_t)v;
	return 0;
}

void
control_target_format(const struct record_entry *e, char *buf, size_t len)
{
	if (e->kind == RECORD_TARGET_IPV4)
		inet_ntop(AF_INET, e->target.ip, buf, (socklen_t)len);
	else if (e->kind == RECORD_TARGET_IPV6)
		inet_ntop(AF_INET6, e->target.ip, buf, (socklen_t)len);
	else
		snprintf(buf, len, "%s", e->target.name);
}

int
control_entry_format(const struct record_entry *e, char *buf, size_t len)
{
	char t[ANDNA_NAME_MAX + 1];

	if (e->kind < RECORD_TARGET_IPV4 || e->kind > RECORD_TARGET_NAME)
		return ANDNA_EINVAL;
	control_target_format(e, t, sizeof(t));
	int n = snprintf(buf, len, "%u/%s/%u/%u/%s", e->service,
	    proto_name(e->proto), e->priority, e->weight, t);
	return n < 0 || (size_t)n >= len ? ANDNA_EINVAL : 0;
}

size_t
control_json_string(const char *s, char *buf, size_t len)
{
	size_t n = 0;

#define PUT(ch)                                                                \
	do {                                                                   \
		if (n + 1 < len)                                               \
			buf[n] = (ch);                                         \
		n++;                                                           \
	} while (0)
	PUT('"');
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			PUT('\\');
			PUT((char)ch);
		} else if (ch < 0x20 || ch > 0x7e) {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			for (int i = 0; esc[i] != '\0'; i++)
				PUT(esc[i]);
		} else {
			PUT((char)ch);
		}
	}
	PUT('"');
#undef PUT
	if (len > 0)
		buf[n < len ? n : len - 1] = '\0';
	return n;
}

/* ---- replies ----------------------------------------------------------- */

static void
j_str(struct evbuffer *b, const char *s)
{
	size_t n = control_json_string(s, NULL, 0);
	char *tmp = malloc(n + 1);

	if (tmp == NULL)
		return;
	control_json_string(s, tmp, n + 1);
	evbuffer_add(b, tmp, n);
	free(tmp);
}

static void
conn_free(struct ctl_conn *cc)
{
	struct control *c = cc->ctl;

	if (c->starting == cc)
		c->starting = NULL;
	if (cc->stash != NULL)
		evbuffer_free(cc->stash);
	TAILQ_REMOVE(&c->conns, cc, link);
	c->n--;
	bufferevent_free(cc->bev);
	free(cc);
}

static void
conn_flushed_cb(struct bufferevent *bev, void *arg)
{
	conn_free(arg);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	conn_free(arg); /* the client went away, or timed out */
}

/* Sends the reply (header line, then `body`, taken) and closes the
 * connection once it is written. */
static void
reply(struct ctl_conn *cc, enum control_exit code, const char *reason,
    struct evbuffer *body)
{
	struct evbuffer *out = bufferevent_get_output(cc->bev);
	char line[512];

	if (cc->ctl->starting == cc) {
		/* an outcome during the call: is it this request's? */
		cc->stashed = true;
		cc->stash_id = cc->ctl->event_id;
		cc->stash_code = code;
		snprintf(cc->stash_reason, sizeof(cc->stash_reason), "%s",
		    reason);
		cc->stash = body;
		return;
	}
	cc->waiting = false;
	snprintf(line, sizeof(line), "%d %s", (int)code, reason);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	evbuffer_add_printf(out, "%s\n", line);
	if (body != NULL) {
		evbuffer_add_buffer(out, body);
		evbuffer_free(body);
	}
	bufferevent_disable(cc->bev, EV_READ);
	bufferevent_setcb(cc->bev, NULL, conn_flushed_cb, conn_event_cb, cc);
	bufferevent_enable(cc->bev, EV_WRITE);
}

/* Replies with an error: `err` (ANDNA_E*) decides the exit code and the
 * id, `extra` (may be NULL) adds JSON members such as ",\"position\":2". */
static void
reply_err(struct ctl_conn *cc, int err, const char *extra, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
reply_err(struct ctl_conn *cc, int err, const char *extra, const char *fmt,
    ...)
{
	char msg[400];
	va_list ap;
	struct evbuffer *b = evbuffer_new();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b != NULL && cc->json) {
		evbuffer_add_printf(b, "{\"ok\":false,\"error\":\"%s\","
		    "\"message\":", control_error_id(err));
		j_str(b, msg);
		evbuffer_add_printf(b, "%s}\n", extra != NULL ? extra : "");
	}
	reply(cc, control_exit_for(err), msg, b);
}

/* ---- rendering ---------------------------------------------------------- */

static const char *const target_kind[] = {
	[RECORD_TARGET_IPV4] = "ipv4", [RECORD_TARGET_IPV6] = "ipv6",
	[RECORD_TARGET_NAME] = "name"
};

static void
record_json(struct evbuffer *b, const struct record *r)
{
	char hex[2 * ANDNA_PK_LEN + 1], t[ANDNA_NAME_MAX + 1];

	sodium_bin2hex(hex, sizeof(hex), r->owner, ANDNA_PK_LEN);
	evbuffer_add_printf(b, "{\"name\":");
	j_str(b, r->name);
	evbuffer_add_printf(b, ",\"owner\":\"%s\",\"seq\":%llu,\"ttl\":%u,"
	    "\"entries\":[", hex, (unsigned long long)r->seq, r->ttl);
	for (int i = 0; i < r->n_entries; i++) {
		const struct record_entry *e = &r->entries[i];
		control_target_format(e, t, sizeof(t));
		evbuffer_add_printf(b, "%s{\"service\":%u,\"proto\":\"%s\","
		    "\"priority\":%u,\"weight\":%u,\"type\":\"%s\","
		    "\"target\":", i > 0 ? "," : "", e->service,
		    proto_name(e->proto), e->priority, e->weight,
		    e->kind <= RECORD_TARGET_NAME ? target_kind[e->kind] : "?");
		j_str(b, t);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add(b, "]}", 2);
}

/* One line per entry: NAME TARGET [port P/PROTO priority P weight W]. */
static void
record_text(struct evbuffer *b, const struct record *r)
{
	char t[ANDNA_NAME_MAX + 1];

	for (int i = 0; i < r->n_entries; i++) {
		const struct record_entry *e = &r->entries[i];
		control_target_format(e, t, sizeof(t));
		evbuffer_add_printf(b, "%s\t%s", r->name, t);
		if (e->service != 0)
			evbuffer_add_printf(b, "\tport %u/%s", e->service,
			    proto_name(e->proto));
		if (e->service != 0 || e->priority != 0 || e->weight != 1)
			evbuffer_add_printf(b, "\tpriority %u weight %u",
			    e->priority, e->weight);
		evbuffer_add(b, "\n", 1);
	}
}

static void
addr_str(ovl_addr_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ovl_id(a, 3), ovl_id(a, 2),
	    ovl_id(a, 1), ovl_id(a, 0));
}

/* ---- commands ------------------------------------------------------------ */

#define U(x) ((unsigned long long)(x))

/* The DNS front's lines of `status`: what came in, what went out by
 * rcode (NODATA is a NOERROR without answers, BADVERS an extended rcode),
 * and what was turned away. */
static void
status_dns_text(struct evbuffer *b, bool on, const struct dns_front_stats *s)
{
	if (!on) {
		evbuffer_add_printf(b, "DNS:             off\n");
		return;
	}
	evbuffer_add_printf(b, "DNS:             %llu queries (%llu UDP, %llu "
	    "TCP on %llu connections), %llu from the overlay (%llu kept), "
	    "%llu forwarded, %llu timed out\n", U(s->udp_queries +
	    s->tcp_queries), U(s->udp_queries), U(s->tcp_queries),
	    U(s->tcp_conns), U(s->overlay), U(s->cached), U(s->forwarded),
	    U(s->timeouts));
	evbuffer_add_printf(b, "DNS answers:     %llu NOERROR (%llu NODATA), "
	    "%llu NXDOMAIN, %llu SERVFAIL, %llu FORMERR, %llu NOTIMP, "
	    "%llu REFUSED, %llu BADVERS, %llu truncated (TC; %llu by the "
	    "amplification cap)\n",
	    U(s->noerror), U(s->nodata), U(s->nxdomain), U(s->servfail),
	    U(s->formerr), U(s->notimp), U(s->refused), U(s->badvers),
	    U(s->truncated), U(s->capped));
	evbuffer_add_printf(b, "DNS cookies:     %llu valid, %llu not "
	    "valid\n", U(s->cookie_valid), U(s->cookie_invalid));
	evbuffer_add_printf(b, "DNS turned away: %llu dropped, %llu over "
	    "rate, %llu TCP connections refused\n", U(s->dropped),
	    U(s->rate_limited), U(s->tcp_rejected));
}

/* The same as the last member of the JSON status. */
static void
status_dns_json(struct evbuffer *b, bool on, const struct dns_front_stats *s)
{
	evbuffer_add_printf(b, "\"dns\":{\"enabled\":%s,\"udp_queries\":%llu,"
	    "\"tcp_queries\":%llu,\"tcp_conns\":%llu,\"overlay\":%llu,"
	    "\"cached\":%llu,\"forwarded\":%llu,\"timeouts\":%llu,"
	    "\"noerror\":%llu,\"nodata\":%llu,\"nxdomain\":%llu,"
	    "\"servfail\":%llu,\"formerr\":%llu,\"notimp\":%llu,"
	    "\"refused\":%llu,\"badvers\":%llu,\"truncated\":%llu,"
	    "\"capped\":%llu,\"cookie_valid\":%llu,\"cookie_invalid\":%llu,"
	    "\"dropped\":%llu,\"rate_limited\":%llu,\"tcp_rejected\":%llu}",
	    on ? "true" : "false", U(s->udp_queries), U(s->tcp_queries),
	    U(s->tcp_conns), U(s->overlay), U(s->cached), U(s->forwarded),
	    U(s->timeouts), U(s->noerror), U(s->nodata), U(s->nxdomain),
	    U(s->servfail), U(s->formerr), U(s->notimp), U(s->refused),
	    U(s->badvers), U(s->truncated), U(s->capped), U(s->cookie_valid),
	    U(s->cookie_invalid), U(s->dropped), U(s->rate_limited),
	    U(s->tcp_rejected));
}

/* What both forms of the status show, read once. */
struct status_facts {
	struct engine *e;
	const struct engine_stats *s;
	const struct daemon_counters *io;
	const struct endpoint *eps;
	int n_eps;
	bool hooked;
	struct engine_ns_stats ns;
	struct dns_front_stats dns;
	char key[2 * ANDNA_PK_LEN + 1], addr[20], url[80];
};

/* Fills `f`; the engine must exist. */
static void
status_gather(struct daemon *d, struct status_facts *f)
{
	f->e = daemon_engine(d);
	f->s = engine_stats(f->e);
	f->io = daemon_counters(d);
	f->n_eps = daemon_endpoints(d, &f->eps);
	f->hooked = engine_hooked(f->e);
	engine_ns_stats(f->e, &f->ns);
	dns_node_stats(daemon_dns(d), &f->dns);
	sodium_bin2hex(f->key, sizeof(f->key), engine_node_key(f->e),
	    ANDNA_PK_LEN);
	addr_str(engine_addr(f->e), f->addr, sizeof(f->addr));
	http_url(daemon_http(d), f->url, sizeof(f->url));
}

static void
status_text(struct daemon *d, struct evbuffer *b)
{
	struct status_facts f;
	char ep[64];

	status_gather(d, &f);
	struct engine *e = f.e;
	const struct engine_stats *s = f.s;
	const struct daemon_counters *io = f.io;
	evbuffer_add_printf(b, "node key:        %s\n", f.key);
	evbuffer_add_printf(b, "overlay address: %s\n", f.hooked ? f.addr :
	    "none (joining)");
	for (int i = 0; i < f.n_eps; i++) {
		config_format_endpoint(&f.eps[i], ep, sizeof(ep));
		evbuffer_add_printf(b, "%s%s", i == 0 ?
		    "endpoints:       " : " ", ep);
	}
	evbuffer_add_printf(b, "\nhttp:            %s\n", f.url[0] != '\0' ?
	    f.url : "off");
	evbuffer_add_printf(b, "uptime:          %llus\n"
	    "gnode members:   %d\n"
	    "outer map:       %d gnodes at level 1, %d at level 2, "
	    "%d at level 3\n"
	    "own names:       %llu\n"
	    "records held:    %llu (%llu queued claims)\n"
	    "counter tallies: %llu\n"
	    "cache entries:   %llu\n"
	    "known peers:     %d (%d neighbours on the links)\n"
	    "messages:        %llu sent, %llu received, %llu forwarded\n"
	    "dropped:         %llu malformed, %llu bad signature, "
	    "%llu unexpected, %llu over hop limit, %llu no route, "
	    "%llu untrusted\n"
	    "overlay I/O:     UDP %llu in %llu out, TCP %llu in %llu out\n"
	    "refused input:   %llu over rate, %llu oversized, %llu "
	    "truncated, %llu connections\n",
	    (unsigned long long)daemon_uptime_s(d),
	    engine_gnode_members(e), engine_outer_count(e, 1),
	    engine_outer_count(e, 2), engine_outer_count(e, 3),
	    (unsigned long long)f.ns.own, (unsigned long long)f.ns.records,
	    (unsigned long long)f.ns.claims,
	    (unsigned long long)f.ns.tallies, (unsigned long long)f.ns.cache,
	    daemon_known_peers(d), daemon_neighbours(d),
	    (unsigned long long)s->sent,
	    (unsigned long long)s->received,
	    (unsigned long long)s->forwarded,
	    (unsigned long long)s->dropped[ENGINE_DROP_MALFORMED],
	    (unsigned long long)s->dropped[ENGINE_DROP_SIGNATURE],
	    (unsigned long long)s->dropped[ENGINE_DROP_UNEXPECTED],
	    (unsigned long long)s->dropped[ENGINE_DROP_HOPS],
	    (unsigned long long)s->dropped[ENGINE_DROP_NOROUTE],
	    (unsigned long long)s->dropped[ENGINE_DROP_UNTRUSTED],
	    (unsigned long long)io->udp_in,
	    (unsigned long long)io->udp_out,
	    (unsigned long long)io->tcp_in,
	    (unsigned long long)io->tcp_out,
	    (unsigned long long)io->rate_limited,
	    (unsigned long long)io->oversized,
	    (unsigned long long)io->truncated,
	    (unsigned long long)io->conns_refused);
	status_dns_text(b, daemon_dns(d) != NULL, &f.dns);
}

int
control_status_json(struct daemon *d, struct evbuffer *b)
{
	struct status_facts f;
	char ep[64];

	if (daemon_engine(d) == NULL)
		return ANDNA_EBUSY;
	status_gather(d, &f);
	struct engine *e = f.e;
	const struct engine_stats *s = f.s;
	const struct daemon_counters *io = f.io;
	evbuffer_add_printf(b, "\"node_key\":\"%s\",\"joined\":%s,"
	    "\"address\":", f.key, f.hooked ? "true" : "false");
	if (f.hooked)
		evbuffer_add_printf(b, "\"%s\"", f.addr);
	else
		evbuffer_add_printf(b, "null");
	evbuffer_add_printf(b, ",\"endpoints\":[");
	for (int i = 0; i < f.n_eps; i++) {
		config_format_endpoint(&f.eps[i], ep, sizeof(ep));
		evbuffer_add_printf(b, "%s\"%s\"", i > 0 ? "," : "", ep);
	}
	evbuffer_add_printf(b, "],\"uptime_s\":%llu,\"gnode_members\":%d,"
	    "\"outer\":[%d,%d,%d],\"own_names\":%llu,\"records\":%llu,"
	    "\"claims\":%llu,\"tallies\":%llu,\"cache\":%llu,"
	    "\"known_peers\":%d,\"neighbours\":%d,", U(daemon_uptime_s(d)),
	    engine_gnode_members(e), engine_outer_count(e, 1),
	    engine_outer_count(e, 2), engine_outer_count(e, 3), U(f.ns.own),
	    U(f.ns.records), U(f.ns.claims), U(f.ns.tallies), U(f.ns.cache),
	    daemon_known_peers(d), daemon_neighbours(d));
	evbuffer_add_printf(b, "\"name_service\":{\"registered\":%llu,"
	    "\"resolved\":%llu,\"resolve_failed\":%llu,\"rejected_sig\":%llu,"
	    "\"replicated\":%llu,\"synced\":%llu,\"handed_over\":%llu,"
	    "\"expired\":%llu},", U(f.ns.registered), U(f.ns.resolved),
	    U(f.ns.resolve_failed), U(f.ns.rejected_sig), U(f.ns.replicated),
	    U(f.ns.synced), U(f.ns.handed_over), U(f.ns.expired));
	evbuffer_add_printf(b, "\"messages\":{\"sent\":%llu,\"received\":%llu,"
	    "\"bytes_sent\":%llu,\"bytes_received\":%llu,\"forwarded\":%llu,"
	    "\"hop_retries\":%llu,\"rehooks\":%llu,\"dropped\":{"
	    "\"malformed\":%llu,\"signature\":%llu,\"unexpected\":%llu,"
	    "\"hops\":%llu,\"noroute\":%llu,\"untrusted\":%llu}},",
	    U(s->sent), U(s->received),
	    U(s->bytes_sent), U(s->bytes_received), U(s->forwarded),
	    U(s->hop_retries), U(s->rehooks),
	    U(s->dropped[ENGINE_DROP_MALFORMED]),
	    U(s->dropped[ENGINE_DROP_SIGNATURE]),
	    U(s->dropped[ENGINE_DROP_UNEXPECTED]),
	    U(s->dropped[ENGINE_DROP_HOPS]), U(s->dropped[ENGINE_DROP_NOROUTE]),
	    U(s->dropped[ENGINE_DROP_UNTRUSTED]));
	evbuffer_add_printf(b, "\"io\":{\"udp_in\":%llu,\"udp_out\":%llu,"
	    "\"tcp_in\":%llu,\"tcp_out\":%llu,\"conns_in\":%llu,"
	    "\"conns_out\":%llu,\"dropped\":{\"rate_limited\":%llu,"
	    "\"oversized\":%llu,\"truncated\":%llu,\"conns_refused\":%llu,"
	    "\"send_failed\":%llu}},", U(io->udp_in), U(io->udp_out),
	    U(io->tcp_in), U(io->tcp_out), U(io->conns_in), U(io->conns_out),
	    U(io->rate_limited), U(io->oversized), U(io->truncated),
	    U(io->conns_refused), U(io->send_failed));
	status_dns_json(b, daemon_dns(d) != NULL, &f.dns);
	if (f.url[0] != '\0')
		evbuffer_add_printf(b, ",\"http\":\"%s\"", f.url);
	else
		evbuffer_add_printf(b, ",\"http\":null");
	return 0;
}

static void
cmd_status(struct ctl_conn *cc)
{
	struct daemon *d = cc->ctl->d;
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || daemon_engine(d) == NULL) {
		evbuffer_free(b);
		reply_err(cc, ANDNA_EBUSY, NULL, "the node is starting");
		return;
	}
	if (!cc->json) {
		status_text(d, b);
	} else {
		evbuffer_add_printf(b, "{\"ok\":true,");
		control_status_json(d, b);
		evbuffer_add_printf(b, "}\n");
	}
	reply(cc, CONTROL_EXIT_OK, "", b);
}

#undef U

/* Renders one own name (a store_own_each visitor). */
struct names_walk {
	struct evbuffer *b;
	bool json;
	int n;           /* rendered */
	int total;       /* visited */
	int max;         /* rendered at most */
	size_t max_bytes; /* no more is rendered once `b` holds this many */
	uint64_t now;    /* engine time */
	uint32_t expiry_s;
};

static int
names_cb(void *arg, const struct store_own *o)
{
	struct names_walk *w = arg;
	struct record *r = NULL;

	w->total++;
	if (w->n >= w->max || evbuffer_get_length(w->b) >= w->max_bytes)
		return 0; /* counted, not shown */
	if (record_decode(o->rec, o->rec_len, &r) != 0)
		return 0;
	bool queued = (o->flags & STORE_OWN_QUEUED) != 0;
	if (w->json) {
		/* an age: engine time is no date (see node/daemon/timebase.h);
		 * the hash gnode keeps the name `expiry` after the last
		 * registration or renewal */
		uint64_t age = w->now > o->registered_at ?
		    (w->now - o->registered_at) / 1000 : 0;
		uint64_t life = age < w->expiry_s ? w->expiry_s - age : 0;
		evbuffer_add_printf(w->b, "%s{\"queued\":%s,\"age_s\":"
		    "%llu,\"life_s\":%llu,\"record\":", w->n > 0 ? "," : "",
		    queued ? "true" : "false", (unsigned long long)age,
		    (unsigned long long)life);
		record_json(w->b, r);
		evbuffer_add(w->b, "}", 1);
	} else {
		if (queued)
			evbuffer_add_printf(w->b, "%s\t(queued: held by "
			    "another key)\n", r->name);
		else
			record_text(w->b, r);
	}
	w->n++;
	record_free(r);
	return 0;
}

/* Renders the node's own names into `b`, at most `max` of them and none
 * once `b` holds `max_bytes`; *total gets how many there are. */
static int
names_render(struct daemon *d, struct evbuffer *b, bool json, int max,
    size_t max_bytes, int *total)
{
	struct store *st = daemon_store(d);
	struct store_txn *txn = NULL;
	struct names_walk w = {b, json, 0, 0, max, max_bytes, daemon_now(d),
	    daemon_config(d)->engine.expiry_s};
	int rc = st == NULL ? ANDNA_EBUSY : store_txn_begin(st, false, &txn);

	if (rc == 0)
		rc = store_own_each(txn, names_cb, &w);
	store_txn_abort(txn);
	*total = w.total;
	return rc;
}

int
control_names_json(struct daemon *d, struct evbuffer *b, int max,
    size_t max_bytes, int *total)
{
	return names_render(d, b, true, max, max_bytes, total);
}

static void
cmd_names(struct ctl_conn *cc)
{
	struct evbuffer *b = evbuffer_new();
	int total, rc = b == NULL ? ANDNA_ENOMEM : 0;

	if (rc == 0 && cc->json)
		evbuffer_add_printf(b, "{\"ok\":true,\"names\":[");
	if (rc == 0)
		rc = names_render(cc->ctl->d, b, cc->json, INT_MAX, SIZE_MAX,
		    &total);
	if (rc != 0) {
		if (b != NULL)
			evbuffer_free(b);
		reply_err(cc, rc, NULL, "cannot read the names: %s",
		    andna_strerror(rc));
		return;
	}
	if (cc->json)
		evbuffer_add_printf(b, "]}\n");
	reply(cc, CONTROL_EXIT_OK, "", b);
}

/* Loads the node's owner key, creating it if missing (*created says). */
static int
owner_key(struct ctl_conn *cc, struct keypair *kp, bool *created)
{
	char path[CONFIG_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/owner.key",
	    daemon_config(cc->ctl->d)->data_dir);
	*created = false;
	int rc = keypair_load(kp, path);
	if (rc == ANDNA_EKEY_MISSING) {
		keypair_generate(kp);
		rc = keypair_save(kp, path);
		*created = rc == 0;
		if (rc == 0)
			log_info(cc->ctl->lg, "created the owner key %s", path);
	}
	if (rc != 0)
		log_err(cc->ctl->lg, "owner key %s: %s", path,
		    andna_strerror(rc));
	return rc;
}

static void
cmd_keygen(struct ctl_conn *cc)
{
	struct keypair kp;
	bool created;
	char hex[2 * ANDNA_PK_LEN + 1];
	int rc = owner_key(cc, &kp, &created);

	if (rc != 0) {
		reply_err(cc, rc, NULL, "owner key: %s", andna_strerror(rc));
		return;
	}
	sodium_bin2hex(hex, sizeof(hex), kp.pk, ANDNA_PK_LEN);
	keypair_wipe(&kp);
	struct evbuffer *b = evbuffer_new();
	if (b != NULL && cc->json)
		evbuffer_add_printf(b, "{\"ok\":true,\"public_key\":\"%s\","
		    "\"created\":%s}\n", hex, created ? "true" : "false");
	else if (b != NULL)
		evbuffer_add_printf(b, "%s owner key %s\n", created ?
		    "created the" : "the node's", hex);
	reply(cc, CONTROL_EXIT_OK, "", b);
}

/* Starts waiting for the engine outcome `type` of the call whose id comes
 * back in *id; the outcome may come during the call itself. */
static void
wait_begin(struct ctl_conn *cc, enum engine_event_type type)
{
	cc->waiting = true;
	cc->wait_type = type;
	cc->wait_id = 0;
	cc->deadline = mono_ms() + CONTROL_WAIT_MS;
	cc->ctl->starting = cc;
}

/* Ends an engine call started by wait_begin() that returned `rc` and
 * `id`.  Returns false if the call failed (the caller replies), true if
 * the request is answered or waits for its outcome. */
static bool
wait_started(struct ctl_conn *cc, int rc, uint64_t id)
{
	struct control *c = cc->ctl;
	bool answered = false;

	c->starting = NULL;
	if (cc->stashed) {
		struct evbuffer *body = cc->stash;
		cc->stash = NULL;
		cc->stashed = false;
		if (rc == 0 && cc->stash_id == id) {
			reply(cc, cc->stash_code, cc->stash_reason, body);
			answered = true;
		} else if (body != NULL) {
			evbuffer_free(body); /* another request's outcome */
		}
	}
	if (rc != 0)
		cc->waiting = false;
	else if (!answered)
		cc->wait_id = id;
	daemon_engine_done(c->d);
	return rc == 0;
}

/* The key to sign `name` with: `key=HEX` if given, else the key that
 * holds the name on this node, else the node's owner key. */
static int
signing_key(struct ctl_conn *cc, const char *name, const char *hex,
    struct keypair *kp)
{
	struct store *st = daemon_store(cc->ctl->d);
	struct store_txn *txn = NULL;
	struct store_own o;
	bool created;
	size_t n = 0;

	if (hex != NULL) {
		uint8_t sk[ANDNA_SK_LEN];
		if (sodium_hex2bin(sk, sizeof(sk), hex, strlen(hex), NULL, &n,
		    NULL) != 0 || n != sizeof(sk))
			return ANDNA_EKEY_CORRUPT;
		keypair_from_seed(kp, sk);
		int rc = memcmp(kp->pk, sk + 32, ANDNA_PK_LEN) == 0 ? 0 :
		    ANDNA_EKEY_MISMATCH;
		sodium_memzero(sk, sizeof(sk));
		return rc;
	}
	int rc = store_txn_begin(st, false, &txn);
	if (rc == 0)
		rc = store_own_get(txn, name, &o);
	if (rc == 0) {
		memcpy(kp->pk, o.pk, ANDNA_PK_LEN);
		rc = store_key_get(txn, o.pk, kp->sk);
	}
	store_txn_abort(txn);
	if (rc != ANDNA_ENOTFOUND)
		return rc;
	return owner_key(cc, kp, &created);
}

/* register and update: NAME ENTRY... [ttl=TTL] [key=HEX] */
static void
cmd_register(struct ctl_conn *cc, bool update, char **w, int n)
{
	struct record_entry *entries = NULL;
	const char *hex = NULL;
	struct keypair kp;
	char name[ANDNA_NAME_MAX + 1];
	int ne = 0, rc;
	uint32_t ttl = 0; /* none chosen: the default, or the name's own */
	uint64_t id = 0;
	struct daemon *d = cc->ctl->d;

	if (n < 2) {
		reply_err(cc, ANDNA_EINVAL, NULL, "usage: %s NAME ADDRESS...",
		    update ? "update" : "register");
		return;
	}
	if ((rc = name_canonical(name, w[0])) != 0) {
		reply_err(cc, rc, NULL, "%s: %s", w[0], andna_strerror(rc));
		return;
	}
	snprintf(cc->what, sizeof(cc->what), "%s", name);
	if ((entries = calloc((size_t)n, sizeof(*entries))) == NULL) {
		reply_err(cc, ANDNA_ENOMEM, NULL, "out of memory");
		return;
	}
	for (int i = 1; i < n; i++) {
		if (strncmp(w[i], "key=", 4) == 0 && hex == NULL) {
			hex = w[i] + 4;
			continue;
		}
		if (strncmp(w[i], "ttl=", 4) == 0 && ttl == 0) {
			if ((rc = control_ttl_parse(w[i] + 4, &ttl)) != 0) {
				reply_err(cc, rc, NULL, "bad TTL '%s': the TTL "
				    "is %d s to 1 day (%d s)", w[i] + 4,
				    ANDNA_TTL_MIN, ANDNA_TTL_MAX);
				goto out;
			}
			continue;
		}
		if ((rc = control_entry_parse(w[i], &entries[ne++])) != 0) {
			reply_err(cc, ANDNA_EINVAL, NULL, "bad address '%s': %s",
			    w[i], andna_strerror(rc));
			goto out;
		}
	}
	if (ne == 0) {
		reply_err(cc, ANDNA_EINVAL, NULL, "%s needs at least one "
		    "address", name);
		goto out;
	}
	if (update) {
		struct store_txn *txn = NULL;
		struct store_own o;
		rc = store_txn_begin(daemon_store(d), false, &txn);
		if (rc == 0)
			rc = store_own_get(txn, name, &o);
		store_txn_abort(txn);
		if (rc != 0) {
			reply_err(cc, rc, NULL, "%s: %s", name, rc ==
			    ANDNA_ENOTFOUND ? "not registered by this node" :
			    andna_strerror(rc));
			goto out;
		}
	}
	if ((rc = signing_key(cc, name, hex, &kp)) != 0) {
		reply_err(cc, rc, NULL, "owner key: %s", andna_strerror(rc));
		goto out;
	}
	wait_begin(cc, ENGINE_EV_REGISTER_DONE);
	rc = engine_register(daemon_engine(d), name, entries, ne, ttl, &kp,
	    daemon_now(d), &id);
	keypair_wipe(&kp);
	if (!wait_started(cc, rc, id))
		reply_err(cc, rc, NULL, "%s: %s", name, andna_strerror(rc));
out:
	free(entries);
}

static void
cmd_release(struct ctl_conn *cc, char **w, int n)
{
	char name[ANDNA_NAME_MAX + 1];
	uint64_t id = 0;
	int rc;

	if (n != 1) {
		reply_err(cc, ANDNA_EINVAL, NULL, "usage: release NAME");
		return;
	}
	if ((rc = name_canonical(name, w[0])) != 0) {
		reply_err(cc, rc, NULL, "%s: %s", w[0], andna_strerror(rc));
		return;
	}
	snprintf(cc->what, sizeof(cc->what), "%s", name);
	wait_begin(cc, ENGINE_EV_REGISTER_DONE);
	struct daemon *d = cc->ctl->d;
	rc = engine_release(daemon_engine(d), name, daemon_now(d), &id);
	if (!wait_started(cc, rc, id))
		reply_err(cc, rc, NULL, "%s: %s", name, rc == ANDNA_ENOTFOUND ?
		    "not registered by this node" : andna_strerror(rc));
}

static void
cmd_resolve(struct ctl_conn *cc, char **w, int n)
{
	char name[ANDNA_NAME_MAX + 1];
	uint64_t id = 0;
	int rc;

	if (n != 1) {
		reply_err(cc, ANDNA_EINVAL, NULL, "usage: resolve NAME");
		return;
	}
	if ((rc = name_canonical(name, w[0])) != 0) {
		reply_err(cc, rc, NULL, "%s: %s", w[0], andna_strerror(rc));
		return;
	}
	snprintf(cc->what, sizeof(cc->what), "%s", name);
	wait_begin(cc, ENGINE_EV_RESOLVE_DONE);
	struct daemon *d = cc->ctl->d;
	rc = engine_resolve(daemon_engine(d), name, daemon_now(d), &id);
	if (!wait_started(cc, rc, id))
		reply_err(cc, rc, NULL, "%s: %s", name, andna_strerror(rc));
}

static void
cmd_reverse(struct ctl_conn *cc, char **w, int n)
{
	struct endpoint ep;
	uint64_t id = 0;

	if (n != 1) {
		reply_err(cc, ANDNA_EINVAL, NULL, "usage: reverse ADDRESS[:PORT]");
		return;
	}
	if (config_parse_endpoint(w[0], CONFIG_PORT, &ep) != 0) {
		reply_err(cc, ANDNA_EINVAL, NULL, "'%s' is not a node address "
		    "(ADDRESS[:PORT], [IPv6]:PORT)", w[0]);
		return;
	}
	config_format_endpoint(&ep, cc->what, sizeof(cc->what));
	wait_begin(cc, ENGINE_EV_REVERSE_DONE);
	struct daemon *d = cc->ctl->d;
	int rc = engine_reverse(daemon_engine(d), &ep, daemon_now(d), &id);
	if (!wait_started(cc, rc, id))
		reply_err(cc, rc, NULL, "%s: %s", cc->what, andna_strerror(rc));
}

/* ---- engine outcomes ------------------------------------------------------ */

static void
done_register(struct ctl_conn *cc, const struct engine_event *ev)
{
	char extra[64];

	if (ev->status == ANDNA_ENAME_QUEUED) {
		snprintf(extra, sizeof(extra), ",\"position\":%u",
		    ev->queue_pos);
		reply_err(cc, ev->status, extra, "%s: name taken; claim queued "
		    "at position %u", cc->what, ev->queue_pos);
		return;
	}
	if (ev->status != 0) {
		reply_err(cc, ev->status, NULL, "%s: %s", cc->what,
		    ev->status == ANDNA_ETIMEOUT ?
		    "the overlay did not answer in time" :
		    andna_strerror(ev->status));
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (b != NULL && cc->json) {
		evbuffer_add_printf(b, "{\"ok\":true,\"name\":");
		j_str(b, cc->what);
		evbuffer_add_printf(b, ",\"life_s\":%u}\n", ev->life_s);
	} else if (b != NULL) {
		if (ev->life_s > 0)
			evbuffer_add_printf(b, "%s: done; expires in %u s unless "
			    "renewed (the node renews it)\n", cc->what,
			    ev->life_s);
		else
			evbuffer_add_printf(b, "%s: done\n", cc->what);
	}
	reply(cc, CONTROL_EXIT_OK, "", b);
}

static void
done_resolve(struct ctl_conn *cc, const struct engine_event *ev)
{
	if (ev->status != 0 || ev->rec == NULL) {
		int st = ev->status != 0 ? ev->status : ANDNA_ENOTFOUND;
		reply_err(cc, st, NULL, "%s: %s", cc->what,
		    st == ANDNA_ENOTFOUND ? "name not found" :
		    st == ANDNA_ETIMEOUT ? "the overlay did not answer in time" :
		    andna_strerror(st));
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (b != NULL && cc->json) {
		evbuffer_add_printf(b, "{\"ok\":true,\"ttl_s\":%u,\"rtt_ms\":%u,"
		    "\"record\":", ev->ttl_s, ev->rtt_ms);
		record_json(b, ev->rec);
		evbuffer_add(b, "}\n", 2);
	} else if (b != NULL) {
		record_text(b, ev->rec);
	}
	reply(cc, CONTROL_EXIT_OK, "", b);
}

static void
done_reverse(struct ctl_conn *cc, const struct engine_event *ev)
{
	if (ev->status != 0) {
		reply_err(cc, ev->status, NULL, "%s: %s", cc->what,
		    ev->status == ANDNA_ENOTFOUND ? "the node holds no names" :
		    ev->status == ANDNA_ETIMEOUT ? "the node did not answer" :
		    andna_strerror(ev->status));
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (b != NULL && cc->json) {
		evbuffer_add_printf(b, "{\"ok\":true,\"node\":\"%s\","
		    "\"records\":[", cc->what);
		for (int i = 0; i < ev->n_recs; i++) {
			if (i > 0)
				evbuffer_add(b, ",", 1);
			record_json(b, ev->recs[i]);
		}
		evbuffer_add(b, "]}\n", 3);
	} else if (b != NULL) {
		for (int i = 0; i < ev->n_recs; i++)
			record_text(b, ev->recs[i]);
	}
	reply(cc, CONTROL_EXIT_OK, "", b);
}

void
control_event(struct control *c, const struct engine_event *ev)
{
	struct ctl_conn *cc;

	if (c == NULL || (ev->type != ENGINE_EV_REGISTER_DONE &&
	    ev->type != ENGINE_EV_RESOLVE_DONE &&
	    ev->type != ENGINE_EV_REVERSE_DONE))
		return;
	cc = c->starting;
	if (cc != NULL && cc->waiting && cc->wait_type == ev->type &&
	    !cc->stashed) {
		/* the outcome may come during the call that started it;
		 * reply() keeps it until the call returns the id */
	} else {
		TAILQ_FOREACH(cc, &c->conns, link)
			if (cc->waiting && cc->wait_id == ev->id &&
			    cc->wait_type == ev->type && cc != c->starting)
				break;
		if (cc == NULL)
			return; /* a renewal, or a client that left */
	}
	c->event_id = ev->id;
	switch (ev->type) {
	case ENGINE_EV_REGISTER_DONE:
		done_register(cc, ev);
		break;
	case ENGINE_EV_RESOLVE_DONE:
		done_resolve(cc, ev);
		break;
	default:
		done_reverse(cc, ev);
		break;
	}
}

void
control_tick(struct control *c)
{
	struct ctl_conn *cc, *next;
	uint64_t now = mono_ms();

	if (c == NULL)
		return;
	for (cc = TAILQ_FIRST(&c->conns); cc != NULL; cc = next) {
		next = TAILQ_NEXT(cc, link);
		if (cc->waiting && now >= cc->deadline)
			reply_err(cc, ANDNA_ETIMEOUT, NULL, "%s: the overlay did "
			    "not answer in time", cc->what);
	}
}

/* ---- requests ------------------------------------------------------------- */

/* Splits a request line into words; returns their number, or -1 if the
 * line breaks the grammar. */
static int
split_words(char *line, char **w, int max)
{
	int n = 0;
	char *p = line;

	if (*p == '\0')
		return -1;
	for (;;) {
		char *start = p;
		while (*p > 0x20 && *p < 0x7f)
			p++;
		if (p == start || p - start > CONTROL_WORD_MAX || n >= max)
			return -1;
		w[n++] = start;
		if (*p == '\0')
			return n;
		if (*p != ' ')
			return -1;
		*p++ = '\0';
	}
}

static void
handle(struct ctl_conn *cc, char *line, size_t len)
{
	char *w[CONTROL_WORDS_MAX];
	int n = strlen(line) == len ? split_words(line, w, CONTROL_WORDS_MAX) :
	    -1;

	if (n < 2 || (strcmp(w[0], "text") != 0 && strcmp(w[0], "json") != 0)) {
		log_limited(cc->ctl->lg, LOG_LEVEL_WARN, LOG_KIND_CONTROL,
		    "malformed request on the control socket");
		reply_err(cc, ANDNA_EINVAL, NULL, "malformed request");
		return;
	}
	cc->json = strcmp(w[0], "json") == 0;
	const char *verb = w[1];
	char **args = w + 2;
	int na = n - 2;
	if (daemon_engine(cc->ctl->d) == NULL) {
		reply_err(cc, ANDNA_EBUSY, NULL, "the node is starting");
	} else if (strcmp(verb, "status") == 0 && na == 0) {
		cmd_status(cc);
	} else if (strcmp(verb, "names") == 0 && na == 0) {
		cmd_names(cc);
	} else if (strcmp(verb, "keygen") == 0 && na == 0) {
		cmd_keygen(cc);
	} else if (strcmp(verb, "register") == 0 ||
	    strcmp(verb, "update") == 0) {
		cmd_register(cc, verb[0] == 'u', args, na);
	} else if (strcmp(verb, "release") == 0) {
		cmd_release(cc, args, na);
	} else if (strcmp(verb, "resolve") == 0) {
		cmd_resolve(cc, args, na);
	} else if (strcmp(verb, "reverse") == 0) {
		cmd_reverse(cc, args, na);
	} else {
		reply_err(cc, ANDNA_EINVAL, NULL, "unknown command '%s'", verb);
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = 0;

	if (cc->waiting)
		return;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CONTROL_LINE_MAX)
			reply_err(cc, ANDNA_EINVAL, NULL, "request too long");
		return;
	}
	bufferevent_disable(bev, EV_READ);
	handle(cc, line, len);
	free(line);
}

static void
accept_cb(struct evconnlistener *ls, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct control *c = arg;
	struct ctl_conn *cc = NULL;

	if (c->n >= CTL_CONNS_MAX || (cc = calloc(1, sizeof(*cc))) == NULL) {
		log_limited(c->lg, LOG_LEVEL_WARN, LOG_KIND_CONTROL,
		    "too many control connections; refusing one");
		evutil_closesocket(fd);
		return;
	}
	cc->ctl = c;
	cc->bev = bufferevent_socket_new(daemon_base(c->d), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		evutil_closesocket(fd);
		free(cc);
		return;
	}
	TAILQ_INSERT_TAIL(&c->conns, cc, link);
	c->n++;
	struct timeval tv = {CTL_IO_TIMEOUT_S, 0};
	bufferevent_set_timeouts(cc->bev, &tv, &tv);
	bufferevent_setwatermark(cc->bev, EV_READ, 0, CONTROL_LINE_MAX + 2);
	bufferevent_setcb(cc->bev, conn_read_cb, NULL, conn_event_cb, cc);
	bufferevent_enable(cc->bev, EV_READ);
}

/* Removes a socket file left by a node that died, after checking that no
 * node listens on it. */
static int
clear_stale(struct control *c, const struct sockaddr_un *sun)
{
	struct stat st;

	if (lstat(c->path, &st) != 0)
		return errno == ENOENT ? 0 : ANDNA_EIO;
	if (!S_ISSOCK(st.st_mode)) {
		log_err(c->lg, "%s exists and is not a socket", c->path);
		return ANDNA_EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ANDNA_EIO;
	int live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		log_err(c->lg, "another andnad listens on %s", c->path);
		return ANDNA_EEXIST;
	}
	unlink(c->path);
	return 0;
}

int
control_open(struct daemon *d, struct control **out)
{
	const struct config *cfg = daemon_config(d);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct control *c = calloc(1, sizeof(*c));
	int fd = -1, rc = ANDNA_EIO;

	*out = NULL;
	if (c == NULL)
		return ANDNA_ENOMEM;
	c->d = d;
	c->lg = daemon_log(d);
	TAILQ_INIT(&c->conns);
	if (strlen(cfg->control) >= sizeof(c->path)) {
		log_err(c->lg, "control socket path too long: %s", cfg->control);
		goto fail;
	}
	snprintf(c->path, sizeof(c->path), "%s", cfg->control);
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	/* the directory, as /run/andna on a fresh boot */
	char dir[sizeof(c->path)];
	snprintf(dir, sizeof(dir), "%s", c->path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			log_err(c->lg, "cannot create %s: %s", dir,
			    strerror(errno));
			goto fail;
		}
	}
	if ((rc = clear_stale(c, &sun)) != 0)
		goto fail;
	rc = ANDNA_EIO;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	mode_t old = umask(0117);
	int b = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (b != 0 || chmod(c->path, 0660) != 0 || listen(fd, 16) != 0) {
		log_err(c->lg, "cannot listen on %s: %s", c->path,
		    strerror(errno));
		goto fail;
	}
	if (cfg->control_group[0] != '\0') {
		struct group *g = getgrnam(cfg->control_group);
		if (g == NULL || chown(c->path, (uid_t)-1, g->gr_gid) != 0) {
			log_err(c->lg, "cannot give %s to group %s: %s", c->path,
			    cfg->control_group, g == NULL ? "no such group" :
			    strerror(errno));
			goto fail;
		}
	}
	c->ls = evconnlistener_new(daemon_base(d), accept_cb, c,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (c->ls == NULL)
		goto fail;
	*out = c;
	return 0;
fail:
	if (fd >= 0) {
		close(fd);
		if (rc != ANDNA_EEXIST)
			unlink(c->path);
	}
	free(c);
	return rc;
}

void
control_close(struct control *c)
{
	struct ctl_conn *cc;

	if (c == NULL)
		return;
	while ((cc = TAILQ_FIRST(&c->conns)) != NULL)
		conn_free(cc);
	evconnlistener_free(c->ls);
	unlink(c->path);
	free(c);
}
