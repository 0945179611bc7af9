/* andnad's configuration (see conf.h): the option table, the parsers of
 * each type, the file reader and the command line. */
#include "config.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "node/daemon/conf.h"
#include "proto/err.h"

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define DAY_S (24LL * 3600)

/* The options, in the order of andnad.conf(5).  Ranges are in the unit of
 * the field (milliseconds for CONFIG_MS, seconds for CONFIG_SECONDS,
 * bytes for CONFIG_SIZE, characters for strings and paths). */
static const struct config_option table[] = {
	/* the node */
	{"data_dir", CONFIG_PATH, FIELD(data_dir), 1, CONFIG_PATH_MAX - 1, 0,
	    false, "/var/lib/andna", "DIR",
	    "directory of the node key (node.key), the owner key (owner.key) "
	    "and the store"},
	{"control", CONFIG_PATH, FIELD(control), 1, 107, 0, false,
	    "/run/andna/control", "PATH",
	    "unix socket the andna command talks to (mode 0660)"},
	{"control_group", CONFIG_STRING, FIELD(control_group), 0, 63, 0,
	    false, "", "GROUP",
	    "group that owns the control socket (none: the daemon's group)"},
	{"pid_file", CONFIG_PATH, FIELD(pid_file), 0, CONFIG_PATH_MAX - 1, 0,
	    false, "", "FILE", "write the daemon's process id here"},
	{"user", CONFIG_STRING, FIELD(user), 0, 63, 0, false, "", "USER",
	    "user to run as once every socket is bound (none: stay)"},
	{"foreground", CONFIG_BOOL, FIELD(foreground), 0, 1, 0, false, "no",
	    "BOOL", "stay in the foreground and log to stderr (else syslog)"},
	{"verbose", CONFIG_INT, FIELD(verbose), 0, 3, 0, true, "0", "N",
	    "more log: 1 debug, 2 function names and every dropped packet"},
	{"log_rate", CONFIG_INT, FIELD(log_rate), 1, 10000, 0, true, "20",
	    "N", "lines per minute about bad input, per kind of fault"},
	/* the overlay */
	{"listen", CONFIG_ADDRS, FIELD(listen), 1, CONFIG_ADDRS_MAX,
	    CONFIG_PORT, false, "0.0.0.0:7269 [::]:7269", "ADDR:PORT",
	    "overlay addresses, UDP and TCP (repeatable)"},
	{"advertise", CONFIG_ADDRS, FIELD(advertise), 0, 4, CONFIG_PORT,
	    false, "", "ADDR:PORT",
	    "addresses other nodes reach this one at (none: the listen "
	    "addresses, or the interfaces' for a wildcard)"},
	{"bootstrap", CONFIG_HOSTS, FIELD(bootstrap), 0, CONFIG_WORDS_MAX,
	    CONFIG_PORT, false, "", "HOST:PORT",
	    "nodes to join through (repeatable; none: found a new overlay, "
	    "or rejoin through the peers known from the last run)"},
	{"discover", CONFIG_BOOL, FIELD(discover), 0, 1, 0, false, "yes",
	    "BOOL", "find neighbours on the mesh interfaces by link-local "
	    "multicast and join through them"},
	{"mesh_interfaces", CONFIG_IFNAMES, FIELD(mesh_interfaces), 0,
	    CONFIG_WORDS_MAX, 0, false, "", "IFNAME",
	    "interfaces to find neighbours on (repeatable; none: every "
	    "interface that is up, not loopback)"},
	{"discover_interval", CONFIG_MS, FIELD(discover_interval_ms), 100,
	    600000, 0, false, "5s", "TIME",
	    "between two announcements to the neighbours"},
	{"rate_limit", CONFIG_INT, FIELD(rate_limit), 1, 1000000, 0, true,
	    "200", "N", "overlay messages per second accepted from one address"},
	{"rate_burst", CONFIG_INT, FIELD(rate_burst), 1, 1000000, 0, true,
	    "400", "N", "overlay messages one address may send in a burst"},
	{"tcp_max_conns", CONFIG_INT, FIELD(tcp_max_conns), 1, 4096, 0, true,
	    "64", "N", "incoming overlay TCP connections at once"},
	{"tcp_conns_per_source", CONFIG_INT, FIELD(tcp_conns_per_source), 1,
	    256, 0, true, "4", "N",
	    "incoming overlay TCP connections from one address"},
	{"tcp_idle_timeout", CONFIG_MS, FIELD(tcp_idle_ms), 100, 3600000, 0,
	    true, "60s", "TIME", "close an overlay TCP connection idle this long"},
	{"tcp_frame_timeout", CONFIG_MS, FIELD(tcp_frame_ms), 100, 600000, 0,
	    true, "10s", "TIME", "close a connection that takes longer to "
	    "send one message"},
	/* the store */
	{"map_size", CONFIG_SIZE, FIELD(map_size), 1 << 20, 1LL << 40, 0,
	    false, "64M", "SIZE", "initial size of the store's memory map"},
	{"map_max", CONFIG_SIZE, FIELD(map_max), 1 << 20, 1LL << 40, 0, false,
	    "1G", "SIZE", "largest size the store may grow to"},
	/* the DNS front */
	{"dns_listen", CONFIG_ADDRS, FIELD(dns_listen), 0, CONFIG_ADDRS_MAX,
	    CONFIG_DNS_PORT, false, "0.0.0.0:53 [::]:53", "ADDR:PORT",
	    "DNS addresses, UDP and TCP (repeatable; none: no DNS)"},
	{"dns_upstream", CONFIG_ADDRS, FIELD(dns_upstream), 0,
	    CONFIG_ADDRS_MAX, CONFIG_DNS_PORT, false, "", "ADDR:PORT",
	    "resolvers for names outside the overlay (none: those of "
	    "dns_resolv_conf)"},
	{"dns_suffix", CONFIG_NAMES, FIELD(dns_suffix), 1, CONFIG_WORDS_MAX, 0,
	    false, "ntk", "NAME", "DNS suffixes served from the overlay"},
	{"dns_rate_limit", CONFIG_INT, FIELD(dns_rate_limit), 1, 1000000, 0,
	    true, "100", "N", "DNS queries per second from one client"},
	{"dns_allow", CONFIG_NETS, FIELD(dns_allow), 0, CONFIG_NETS_MAX, 0,
	    false, "local", "ADDR/PREFIX",
	    "clients whose names outside the overlay are forwarded; others "
	    "get REFUSED for them (local: loopback and the networks of the "
	    "interfaces; empty: nobody)"},
	{"dns_rate_exempt", CONFIG_NETS, FIELD(dns_rate_exempt), 0,
	    CONFIG_NETS_MAX, 0, false, "127.0.0.0/8 ::1/128", "ADDR/PREFIX",
	    "clients dns_rate_limit does not apply to (empty: nobody)"},
	{"dns_resolv_conf", CONFIG_PATH, FIELD(dns_resolv_conf), 0,
	    CONFIG_PATH_MAX - 1, 0, false, "/etc/resolv.conf", "FILE",
	    "nameservers to forward to when dns_upstream is empty, the node's "
	    "own DNS addresses left out (empty: none)"},
	{"dns_timeout", CONFIG_MS, FIELD(dns_timeout_ms), 100, 60000, 0,
	    false, "3s", "TIME",
	    "SERVFAIL when the overlay has not answered a DNS query by then"},
	{"dns_probe", CONFIG_BOOL, FIELD(dns_probe), 0, 1, 0, false, "yes",
	    "BOOL", "probe answered addresses with a TCP connect and put "
	    "those whose host does not answer last (refused counts as up)"},
	{"dns_probe_port", CONFIG_INT, FIELD(dns_probe_port), 1, 65535, 0,
	    false, "80", "PORT", "TCP port probed for host addresses (SRV "
	    "targets: their own port)"},
	{"dns_probe_interval", CONFIG_MS, FIELD(dns_probe_interval_ms), 100,
	    3600000, 0, false, "5s", "TIME", "between two probes of an address"},
	/* the status page */
	{"http_listen", CONFIG_ADDRS, FIELD(http_listen), 0, CONFIG_ADDRS_MAX,
	    CONFIG_HTTP_PORT, false, "127.0.0.1:7270", "ADDR:PORT",
	    "read-only status page, status.json and Prometheus metrics over "
	    "HTTP (repeatable; none: no page)"},
	{"http_rate_limit", CONFIG_INT, FIELD(http_rate_limit), 1, 100000, 0,
	    true, "10", "N", "HTTP requests per second from one address"},
	/* the engine */
	{"gnode_size", CONFIG_INT, FIELD(engine.gnode_size), 1, 256, 0, false,
	    "256", "N", "members per gnode and gnodes per parent (mesh-wide)"},
	{"ping_interval", CONFIG_MS, FIELD(engine.ping_interval_ms), 10,
	    600000, 0, false, "2s", "TIME", "liveness probe period"},
	{"ping_timeout", CONFIG_MS, FIELD(engine.ping_timeout_ms), 10, 600000,
	    0, false, "800ms", "TIME", "wait for a direct ack"},
	{"suspect_timeout", CONFIG_MS, FIELD(engine.suspect_ms), 10, 3600000,
	    0, false, "6s", "TIME", "a suspected member is declared dead after"},
	{"gossip_interval", CONFIG_MS, FIELD(engine.gossip_interval_ms), 10,
	    3600000, 0, false, "3s", "TIME", "outer map exchange period"},
	{"outer_timeout", CONFIG_MS, FIELD(engine.outer_timeout_ms), 10,
	    86400000, 0, false, "2m", "TIME",
	    "an unrefreshed gnode leaves the outer map after"},
	{"hop_timeout", CONFIG_MS, FIELD(engine.hop_timeout_ms), 10, 600000, 0,
	    false, "1s", "TIME",
	    "wait for a hop's ack, or a peer's answer when joining"},
	{"request_timeout", CONFIG_MS, FIELD(engine.request_timeout_ms), 10,
	    600000, 0, false, "4s", "TIME", "wait for a reply, per attempt"},
	{"request_tries", CONFIG_INT, FIELD(engine.request_tries), 1, 10, 0,
	    false, "3", "N", "attempts of a request"},
	{"hop_limit", CONFIG_INT, FIELD(engine.hop_limit), 1, 15, 0, false,
	    "8", "N", "hops a routed message may take"},
	{"nodes_per_ipv4", CONFIG_INT, FIELD(engine.nodes_per_ipv4), 1, 256, 0,
	    false, "1", "N",
	    "nodes one IPv4 address may have in a gnode, gnodes it may vouch "
	    "for in a map"},
	{"nodes_per_ipv6_64", CONFIG_INT, FIELD(engine.nodes_per_ipv6_64), 1,
	    256, 0, false, "4", "N", "the same per IPv6 /64"},
	{"expiry", CONFIG_SECONDS, FIELD(engine.expiry_s), 1, 365 * DAY_S, 0,
	    false, "30d", "TIME", "life of a record, queued claim or tally"},
	{"min_update_interval", CONFIG_SECONDS, FIELD(engine.min_update_s), 0,
	    30 * DAY_S, 0, false, "1h", "TIME", "between two updates of a name"},
	{"max_names_per_key", CONFIG_INT, FIELD(engine.max_names_per_key), 1,
	    65535, 0, false, "256", "N", "names one owner key may hold"},
	{"queue_len", CONFIG_INT, FIELD(engine.queue_len), 0, 64, 0, false,
	    "5", "N", "claims waiting for one name"},
	{"cache_cap", CONFIG_SECONDS, FIELD(engine.cache_cap_s), 0, DAY_S, 0,
	    false, "5m", "TIME", "longest life of a resolved name in the cache"},
	{"negative_cache", CONFIG_SECONDS, FIELD(engine.negative_s), 0, DAY_S,
	    0, false, "30s", "TIME", "life of a cached \"no such name\""},
	{"cache_max", CONFIG_INT, FIELD(engine.cache_max), 1, 10000000, 0,
	    false, "10000", "N", "entries of the resolved cache"},
	{"sync_interval", CONFIG_MS, FIELD(engine.sync_interval_ms), 100,
	    86400000, 0, false, "30s", "TIME",
	    "anti-entropy with a random member, period"},
};

#define NOPTS (sizeof(table) / sizeof(table[0]))
_Static_assert(NOPTS <= sizeof(((struct config *)0)->src),
    "config.src has no room for every option");

const struct config_option *
config_options(size_t *n)
{
	*n = NOPTS;
	return table;
}

const struct config_option *
config_find(const char *name)
{
	char key[64];
	size_t i;

	for (i = 0; name[i] != '\0' && i < sizeof(key) - 1; i++)
		key[i] = name[i] == '-' ? '_' : name[i];
	if (name[i] != '\0')
		return NULL;
	key[i] = '\0';
	for (i = 0; i < NOPTS; i++)
		if (strcmp(table[i].name, key) == 0)
			return &table[i];
	return NULL;
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- values -------------------------------------------------------- */

/* Reads the decimal digits at *s into *v, moving *s past them.  Returns 0,
 * or -1 for no digits or a value over `max`. */
static int
read_digits(const char **s, unsigned long long max, unsigned long long *v)
{
	const char *p = *s;
	unsigned long long x = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (x > (max - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*s = p;
	*v = x;
	return 0;
}

/* A duration in milliseconds: digits and a unit (ms, s, m, h, d; none
 * means seconds). */
static int
parse_duration(const char *s, unsigned long long *ms)
{
	static const struct {
		const char *unit;
		unsigned long long ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60000},
	    {"h", 3600000}, {"d", 86400000}};
	unsigned long long v;

	if (read_digits(&s, ULLONG_MAX, &v) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].unit) != 0)
			continue;
		if (v > ULLONG_MAX / units[i].ms)
			return -1;
		*ms = v * units[i].ms;
		return 0;
	}
	return -1;
}

int
config_parse_seconds(const char *s, uint64_t *secs)
{
	unsigned long long ms;

	*secs = 0;
	if (parse_duration(s, &ms) != 0 || ms % 1000 != 0)
		return ANDNA_EINVAL;
	*secs = ms / 1000;
	return 0;
}

/* A size in bytes: digits and an optional K, M, G or T (powers of 1024). */
static int
parse_size(const char *s, unsigned long long *bytes)
{
	unsigned long long v;
	int shift;

	if (read_digits(&s, ULLONG_MAX, &v) != 0)
		return -1;
	switch (toupper((unsigned char)*s)) {
	case '\0':
		shift = 0;
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -1;
	}
	if (*s != '\0' && s[1] != '\0')
		return -1;
	if (v > (ULLONG_MAX >> shift))
		return -1;
	*bytes = v << shift;
	return 0;
}

/* Writes a duration of `ms` in its largest exact unit. */
static void
format_duration(unsigned long long ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0s");
	else if (ms % 86400000 == 0)
		snprintf(buf, len, "%llud", ms / 86400000);
	else if (ms % 3600000 == 0)
		snprintf(buf, len, "%lluh", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%llum", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", ms / 1000);
	else
		snprintf(buf, len, "%llums", ms);
}

static void
format_size(unsigned long long b, char *buf, size_t len)
{
	static const char units[] = "TGMK";

	for (int i = 0; i < 4; i++) {
		int shift = 40 - 10 * i;
		if (b != 0 && b % (1ULL << shift) == 0) {
			snprintf(buf, len, "%llu%c", b >> shift, units[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", b);
}

/* Writes a number of option `o` in its unit, for range messages. */
static void
format_number(const struct config_option *o, long long v, char *buf,
    size_t len)
{
	switch (o->type) {
	case CONFIG_MS:
		format_duration((unsigned long long)v, buf, len);
		break;
	case CONFIG_SECONDS:
		format_duration((unsigned long long)v * 1000, buf, len);
		break;
	case CONFIG_SIZE:
		format_size((unsigned long long)v, buf, len);
		break;
	default:
		snprintf(buf, len, "%lld", v);
		break;
	}
}

static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long long v;

	if (read_digits(&s, 65535, &v) != 0 || *s != '\0' || v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
config_split_host(const char *s, uint16_t defport, char *host,
    size_t hostlen, uint16_t *port)
{
	const char *h = s, *colon = NULL;
	size_t hl;

	*port = defport;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return ANDNA_EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			colon = close + 1;
		else if (close[1] != '\0')
			return ANDNA_EINVAL;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL; /* a bare IPv6 address */
		hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0 || hl >= hostlen)
		return ANDNA_EINVAL;
	for (size_t i = 0; i < hl; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' &&
		    h[i] != '-' && h[i] != ':' && h[i] != '_')
			return ANDNA_EINVAL;
	if (colon != NULL && parse_port(colon + 1, port) != 0)
		return ANDNA_EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
}

int
config_parse_endpoint(const char *s, uint16_t port, struct endpoint *out)
{
	char host[64];

	memset(out, 0, sizeof(*out));
	if (config_split_host(s, port, host, sizeof(host), &out->port) != 0)
		return ANDNA_EINVAL;
	if (inet_pton(AF_INET, host, out->ip) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, host, out->ip) == 1)
		out->family = 6;
	else
		return ANDNA_EINVAL;
	if (out->port == 0)
		return ANDNA_EINVAL;
	return 0;
}

void
config_format_endpoint(const struct endpoint *ep, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ep->family == 4) {
		inet_ntop(AF_INET, ep->ip, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ep->port);
	} else {
		inet_ntop(AF_INET6, ep->ip, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ep->port);
	}
}

/* ---- setting one option ------------------------------------------- */

/* Checks a number against the range of `o`. */
static int
check_range(const struct config_option *o, long long v, char *err,
    size_t errlen)
{
	char lo[32], hi[32];

	if (v >= o->min && v <= o->max)
		return 0;
	format_number(o, o->min, lo, sizeof(lo));
	format_number(o, o->max, hi, sizeof(hi));
	seterr(err, errlen, "'%s' must be between %s and %s", o->name, lo, hi);
	return ANDNA_EINVAL;
}

static int
set_bool(const struct config_option *o, void *p, const char *v, char *err,
    size_t errlen)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (int i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
			*(bool *)p = strcmp(v, yes[i]) == 0;
			return 0;
		}
	}
	seterr(err, errlen, "'%s' must be yes or no, not '%s'", o->name, v);
	return ANDNA_EINVAL;
}

/* Sets a number of any numeric type. */
static int
set_number(const struct config_option *o, void *p, const char *v, char *err,
    size_t errlen)
{
	unsigned long long u = 0;
	long long x;
	int rc = 0;
	const char *s = v;

	switch (o->type) {
	case CONFIG_INT:
		if (*s == '-')
			s++;
		rc = read_digits(&s, LLONG_MAX, &u) != 0 || *s != '\0' ? -1 : 0;
		x = *v == '-' ? -(long long)u : (long long)u;
		break;
	case CONFIG_MS:
	case CONFIG_SECONDS:
		rc = parse_duration(v, &u);
		if (rc == 0 && o->type == CONFIG_SECONDS && u % 1000 != 0) {
			seterr(err, errlen, "'%s' takes whole seconds, not '%s'",
			    o->name, v);
			return ANDNA_EINVAL;
		}
		if (o->type == CONFIG_SECONDS)
			u /= 1000;
		x = u > LLONG_MAX ? LLONG_MAX : (long long)u;
		break;
	default:
		rc = parse_size(v, &u);
		x = u > LLONG_MAX ? LLONG_MAX : (long long)u;
		break;
	}
	if (rc != 0) {
		static const char *const what[] = {[CONFIG_INT] = "a number",
		    [CONFIG_MS] = "a duration such as 500ms, 2s, 5m, 1h or 30d",
		    [CONFIG_SECONDS] = "a duration such as 30s, 5m, 1h or 30d",
		    [CONFIG_SIZE] = "a size such as 64M or 1G"};
		seterr(err, errlen, "'%s' must be %s, not '%s'", o->name,
		    what[o->type], v);
		return ANDNA_EINVAL;
	}
	if (check_range(o, x, err, errlen) != 0)
		return ANDNA_EINVAL;
	if (o->type == CONFIG_INT)
		*(int *)p = (int)x;
	else if (o->type == CONFIG_SIZE)
		*(size_t *)p = (size_t)x;
	else
		*(uint32_t *)p = (uint32_t)x;
	return 0;
}

static int
set_string(const struct config_option *o, void *p, const char *v, char *err,
    size_t errlen)
{
	size_t n = strlen(v);

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch < 0x20 || ch > 0x7e ||
		    (o->type == CONFIG_STRING && ch == ' ')) {
			seterr(err, errlen, "'%s' has a character that is not "
			    "allowed", o->name);
			return ANDNA_EINVAL;
		}
	}
	if ((long long)n < o->min || (long long)n > o->max || n >= o->size) {
		seterr(err, errlen, n == 0 ? "'%s' needs a value" :
		    "'%s' is too long", o->name);
		return ANDNA_EINVAL;
	}
	if (o->type == CONFIG_PATH && n > 0 && v[0] != '/') {
		seterr(err, errlen, "'%s' must be an absolute path, not '%s'",
		    o->name, v);
		return ANDNA_EINVAL;
	}
	memcpy(p, v, n + 1);
	return 0;
}

/* Appends one network (or `local`) to a network list. */
static int
add_net(const struct config_option *o, struct config_nets *l, const char *w,
    char *err, size_t errlen)
{
	struct dns_net net;
	const char *slash = strchr(w, '/');

	if (strcmp(w, "local") == 0) {
		l->local = true;
		return 0;
	}
	if (dns_net_parse(w, &net) != 0) {
		char addr[CONFIG_WORD_MAX];
		size_t alen = slash != NULL ? (size_t)(slash - w) : 0;
		/* the address is fine: the prefix is not */
		if (alen > 0 && alen < sizeof(addr)) {
			memcpy(addr, w, alen);
			addr[alen] = '\0';
		}
		if (alen > 0 && alen < sizeof(addr) &&
		    dns_net_parse(addr, &net) == 0)
			seterr(err, errlen, "'%s': '%s': the prefix length of "
			    "an IPv%d network is a number from 0 to %d (e.g. "
			    "%s)", o->name, w, net.family,
			    net.family == 4 ? 32 : 128,
			    net.family == 4 ? "192.168.1.0/24" : "fd00::/8");
		else
			seterr(err, errlen, "'%s' needs numeric networks "
			    "ADDRESS/PREFIX (e.g. 127.0.0.0/8 ::1/128 "
			    "192.168.1.0/24) or 'local', not '%s'", o->name, w);
		return ANDNA_EINVAL;
	}
	if (l->n >= o->max || l->n >= CONFIG_NETS_MAX) {
		seterr(err, errlen, "'%s' takes at most %lld networks", o->name,
		    o->max);
		return ANDNA_EINVAL;
	}
	l->v[l->n++] = net;
	return 0;
}

/* Appends one word to a list option. */
static int
add_word(const struct config_option *o, void *p, const char *w, char *err,
    size_t errlen)
{
	if (o->type == CONFIG_NETS)
		return add_net(o, p, w, err, errlen);
	if (o->type == CONFIG_ADDRS) {
		struct config_addrs *a = p;
		struct endpoint ep;
		if (config_parse_endpoint(w, o->port, &ep) != 0) {
			seterr(err, errlen, "'%s' needs a numeric ADDRESS[:PORT]"
			    " ([ADDRESS]:PORT for IPv6), not '%s'", o->name, w);
			return ANDNA_EINVAL;
		}
		if (a->n >= o->max || a->n >= CONFIG_ADDRS_MAX) {
			seterr(err, errlen, "'%s' takes at most %lld addresses",
			    o->name, o->max);
			return ANDNA_EINVAL;
		}
		a->v[a->n++] = ep;
		return 0;
	}
	struct config_words *l = p;
	char host[CONFIG_WORD_MAX];
	uint16_t port;
	if (l->n >= o->max || l->n >= CONFIG_WORDS_MAX) {
		seterr(err, errlen, "'%s' takes at most %lld values", o->name,
		    o->max);
		return ANDNA_EINVAL;
	}
	if (o->type == CONFIG_IFNAMES) {
		/* what the kernel takes: IFNAMSIZ - 1 bytes, no '/' */
		if (strlen(w) >= IF_NAMESIZE || strchr(w, '/') != NULL) {
			seterr(err, errlen, "'%s' needs interface names of at "
			    "most %d characters without '/', not '%s'", o->name,
			    IF_NAMESIZE - 1, w);
			return ANDNA_EINVAL;
		}
		snprintf(l->v[l->n++], CONFIG_WORD_MAX, "%s", w);
		return 0;
	}
	if (o->type == CONFIG_HOSTS) {
		if (strlen(w) >= CONFIG_WORD_MAX ||
		    config_split_host(w, o->port, host, sizeof(host), &port)) {
			seterr(err, errlen, "'%s' needs HOST[:PORT], not '%s'",
			    o->name, w);
			return ANDNA_EINVAL;
		}
		snprintf(l->v[l->n++], CONFIG_WORD_MAX, "%s", w);
		return 0;
	}
	char name[ANDNA_NAME_MAX + 1];
	int rc = name_canonical(name, w);
	if (rc != 0) {
		seterr(err, errlen, "'%s': '%s': %s", o->name, w,
		    andna_strerror(rc));
		return ANDNA_EINVAL;
	}
	snprintf(l->v[l->n++], CONFIG_WORD_MAX, "%s", name);
	return 0;
}

static bool
is_list(const struct config_option *o)
{
	return o->type == CONFIG_ADDRS || o->type == CONFIG_HOSTS ||
	    o->type == CONFIG_NAMES || o->type == CONFIG_NETS ||
	    o->type == CONFIG_IFNAMES;
}

/* Sets a list from whitespace-separated words; an empty value empties
 * it.  A list needs at least `min` values in the end, which
 * config_parse() and config_flags_apply() check. */
static int
set_list(const struct config_option *o, void *p, const char *v, char *err,
    size_t errlen)
{
	char word[CONFIG_LINE_MAX];

	if (*v == '\0') {
		memset(p, 0, o->size);
		return 0;
	}
	while (*v != '\0') {
		size_t n = strcspn(v, " \t");
		if (n >= sizeof(word)) {
			seterr(err, errlen, "'%s' has a value too long", o->name);
			return ANDNA_EINVAL;
		}
		memcpy(word, v, n);
		word[n] = '\0';
		if (n > 0 && add_word(o, p, word, err, errlen) != 0)
			return ANDNA_EINVAL;
		v += n;
		v += strspn(v, " \t");
	}
	return 0;
}

int
config_set(struct config *c, const char *name, const char *value,
    enum config_source src, char *err, size_t errlen)
{
	const struct config_option *o = config_find(name);

	if (o == NULL) {
		seterr(err, errlen, "unknown option '%s'", name);
		return ANDNA_EINVAL;
	}
	void *p = (char *)c + o->off;
	size_t idx = (size_t)(o - table);
	switch (o->type) {
	case CONFIG_BOOL:
		if (set_bool(o, p, value, err, errlen) != 0)
			return ANDNA_EINVAL;
		break;
	case CONFIG_INT:
	case CONFIG_MS:
	case CONFIG_SECONDS:
	case CONFIG_SIZE:
		if (set_number(o, p, value, err, errlen) != 0)
			return ANDNA_EINVAL;
		break;
	case CONFIG_STRING:
	case CONFIG_PATH:
		if (set_string(o, p, value, err, errlen) != 0)
			return ANDNA_EINVAL;
		break;
	default:
		if (c->src[idx] < src)
			memset(p, 0, o->size); /* a new source replaces it */
		if (set_list(o, p, value, err, errlen) != 0)
			return ANDNA_EINVAL;
		break;
	}
	c->src[idx] = (uint8_t)src;
	return 0;
}

/* Checks what no single value can: lists that must not be empty, and
 * options that depend on each other. */
static int
config_check(const struct config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < NOPTS; i++) {
		const struct config_option *o = &table[i];
		if (is_list(o) && *(const int *)((const char *)c + o->off) <
		    o->min) {
			seterr(err, errlen, "'%s' needs at least one value",
			    o->name);
			return ANDNA_EINVAL;
		}
	}
	if (c->map_max < c->map_size) {
		seterr(err, errlen, "'map_max' must not be below 'map_size'");
		return ANDNA_EINVAL;
	}
	return 0;
}

void
config_defaults(struct config *c)
{
	char err[CONFIG_ERR_MAX];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NOPTS; i++)
		if (config_set(c, table[i].name, table[i].def,
		    CONFIG_SRC_DEFAULT, err, sizeof(err)) != 0) {
			/* a broken table is a bug, not a user error */
			fprintf(stderr, "bad default: %s\n", err);
			abort();
		}
}

/* ---- the file ------------------------------------------------------ */

/* Trims spaces and tabs at both ends of s[0..*n). */
static const char *
trim(const char *s, size_t *n)
{
	while (*n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*n)--;
	}
	while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t' ||
	    s[*n - 1] == '\r'))
		(*n)--;
	return s;
}

/* Handles one line (without its newline); `seen` holds the line each
 * scalar option was set on. */
static int
parse_line(struct config *c, const char *line, size_t n, int lineno,
    int *seen, char *err, size_t errlen)
{
	char key[64], value[CONFIG_LINE_MAX];

	for (size_t i = 0; i < n; i++) {
		if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' ||
		    line[i - 1] == '\t')) {
			n = i; /* a comment runs to the end of the line */
			break;
		}
	}
	line = trim(line, &n);
	if (n == 0)
		return 0;
	const char *eq = memchr(line, '=', n);
	if (eq == NULL) {
		seterr(err, errlen, "expected 'option = value'");
		return ANDNA_EINVAL;
	}
	size_t kn = (size_t)(eq - line), vn = n - kn - 1;
	const char *k = trim(line, &kn), *v = trim(eq + 1, &vn);
	if (kn == 0 || kn >= sizeof(key)) {
		seterr(err, errlen, "expected an option name before '='");
		return ANDNA_EINVAL;
	}
	for (size_t i = 0; i < kn; i++) {
		if (!islower((unsigned char)k[i]) && k[i] != '_' &&
		    !isdigit((unsigned char)k[i])) {
			seterr(err, errlen, "bad option name '%.*s'", (int)kn, k);
			return ANDNA_EINVAL;
		}
	}
	memcpy(key, k, kn);
	key[kn] = '\0';
	memcpy(value, v, vn);
	value[vn] = '\0';
	const struct config_option *o = config_find(key);
	if (o == NULL) {
		seterr(err, errlen, "unknown option '%s'", key);
		return ANDNA_EINVAL;
	}
	size_t idx = (size_t)(o - table);
	if (!is_list(o) && seen[idx] != 0) {
		seterr(err, errlen, "'%s' is already set on line %d", key,
		    seen[idx]);
		return ANDNA_EINVAL;
	}
	seen[idx] = lineno;
	return config_set(c, key, value, CONFIG_SRC_FILE, err, errlen);
}

int
config_parse(struct config *c, const char *text, size_t len,
    const char *fname, char *err, size_t errlen)
{
	int seen[NOPTS] = {0};
	char why[CONFIG_ERR_MAX];
	int lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - text) - pos : len - pos;
		lineno++;
		int rc = 0;
		if (memchr(text + pos, '\0', n) != NULL) {
			seterr(why, sizeof(why), "line holds a NUL byte");
			rc = ANDNA_EINVAL;
		} else if (n >= CONFIG_LINE_MAX) {
			seterr(why, sizeof(why), "line is longer than %d "
			    "characters", CONFIG_LINE_MAX - 1);
			rc = ANDNA_EINVAL;
		} else {
			rc = parse_line(c, text + pos, n, lineno, seen, why,
			    sizeof(why));
		}
		if (rc != 0) {
			seterr(err, errlen, "%s:%d: %s", fname, lineno, why);
			return rc;
		}
		pos += n + 1;
	}
	if (config_check(c, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s: %s", fname, why);
		return ANDNA_EINVAL;
	}
	return 0;
}

int
config_load_file(struct config *c, const char *path, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int rc = ANDNA_EIO;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? ANDNA_ENOTFOUND : ANDNA_EIO;
	}
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		seterr(err, errlen, "%s: not a file", path);
		goto out;
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		rc = ANDNA_ENOMEM;
		seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, CONFIG_FILE_MAX + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > CONFIG_FILE_MAX) {
			seterr(err, errlen, "%s: larger than %u bytes", path,
			    CONFIG_FILE_MAX);
			goto out;
		}
	}
	rc = config_parse(c, buf, got, path, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- the command line ---------------------------------------------- */

/* Adds one flag to `f`. */
static int
flag_add(struct config_flags *f, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	if (f->n >= CONFIG_FLAGS_MAX) {
		seterr(err, errlen, "more than %d options on the command line",
		    CONFIG_FLAGS_MAX);
		return ANDNA_EINVAL;
	}
	f->v[f->n].opt = o;
	f->v[f->n].value = value;
	f->n++;
	return 0;
}

/* Reads a short flag cluster such as -vf. */
static int
flags_short(struct config_flags *f, const char *a, char *err, size_t errlen)
{
	for (a++; *a != '\0'; a++) {
		switch (*a) {
		case 'v':
			f->verbose++;
			break;
		case 'f':
			if (flag_add(f, config_find("foreground"), "yes", err,
			    errlen) != 0)
				return ANDNA_EINVAL;
			break;
		case 'h':
			f->help = true;
			break;
		case 'V':
			f->version = true;
			break;
		default:
			seterr(err, errlen, "unknown flag '-%c' (try --help)", *a);
			return ANDNA_EINVAL;
		}
	}
	return 0;
}

int
config_flags_parse(struct config_flags *f, int argc, char **argv, char *err,
    size_t errlen)
{
	memset(f, 0, sizeof(*f));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] != '-' && a[1] != '\0') {
			if (flags_short(f, a, err, errlen) != 0)
				return ANDNA_EINVAL;
			continue;
		}
		if (a[0] != '-' || a[1] != '-' || a[2] == '\0') {
			seterr(err, errlen, "unexpected argument '%s' (try "
			    "--help)", a);
			return ANDNA_EINVAL;
		}
		char name[64];
		const char *eq = strchr(a + 2, '=');
		size_t nl = eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nl >= sizeof(name)) {
			seterr(err, errlen, "unknown flag '%s'", a);
			return ANDNA_EINVAL;
		}
		memcpy(name, a + 2, nl);
		name[nl] = '\0';
		const char *value = eq != NULL ? eq + 1 : NULL;
		if (strcmp(name, "help") == 0 || strcmp(name, "version") == 0) {
			*(strcmp(name, "help") == 0 ? &f->help : &f->version) =
			    true;
			continue;
		}
		const struct config_option *o = config_find(name);
		if (o == NULL && strcmp(name, "config") != 0) {
			seterr(err, errlen, "unknown flag '--%s' (try --help)",
			    name);
			return ANDNA_EINVAL;
		}
		if (value == NULL && o != NULL && o->type == CONFIG_BOOL)
			value = "yes";
		if (value == NULL) {
			if (i + 1 >= argc) {
				seterr(err, errlen, "'--%s' needs a value", name);
				return ANDNA_EINVAL;
			}
			value = argv[++i];
		}
		if (o == NULL)
			f->config_file = value;
		else if (flag_add(f, o, value, err, errlen) != 0)
			return ANDNA_EINVAL;
	}
	return 0;
}

int
config_flags_apply(const struct config_flags *f, struct config *c,
    char *err, size_t errlen)
{
	char why[CONFIG_ERR_MAX];

	for (int i = 0; i < f->n; i++) {
		if (config_set(c, f->v[i].opt->name, f->v[i].value,
		    CONFIG_SRC_FLAG, why, sizeof(why)) != 0) {
			char flag[64];
			snprintf(flag, sizeof(flag), "%s", f->v[i].opt->name);
			for (char *p = flag; *p != '\0'; p++)
				if (*p == '_')
					*p = '-';
			seterr(err, errlen, "--%s: %s", flag, why);
			return ANDNA_EINVAL;
		}
	}
	c->verbose += f->verbose;
	if (c->verbose > 3)
		c->verbose = 3;
	if (config_check(c, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s", why);
		return ANDNA_EINVAL;
	}
	return 0;
}

int
config_load(struct config *c, const struct config_flags *f,
    const char *default_file, char *err, size_t errlen)
{
	config_defaults(c);
	const char *path = f->config_file != NULL ? f->config_file :
	    default_file;
	if (path != NULL) {
		int rc = config_load_file(c, path, err, errlen);
		if (rc == ANDNA_ENOTFOUND && f->config_file == NULL)
			rc = 0; /* no default file: the defaults stand */
		if (rc != 0)
			return rc;
	}
	return config_flags_apply(f, c, err, errlen);
}

/* ---- reading values back -------------------------------------------- */

bool
config_equal(const struct config_option *o, const struct config *a,
    const struct config *b)
{
	const void *pa = (const char *)a + o->off;
	const void *pb = (const char *)b + o->off;

	switch (o->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		return strcmp(pa, pb) == 0;
	case CONFIG_ADDRS: {
		const struct config_addrs *x = pa, *y = pb;
		if (x->n != y->n)
			return false;
		for (int i = 0; i < x->n; i++)
			if (x->v[i].family != y->v[i].family ||
			    x->v[i].port != y->v[i].port ||
			    memcmp(x->v[i].ip, y->v[i].ip, 16) != 0)
				return false;
		return true;
	}
	case CONFIG_NETS: {
		const struct config_nets *x = pa, *y = pb;
		if (x->n != y->n || x->local != y->local)
			return false;
		for (int i = 0; i < x->n; i++)
			if (x->v[i].family != y->v[i].family ||
			    x->v[i].prefix != y->v[i].prefix ||
			    memcmp(x->v[i].ip, y->v[i].ip, 16) != 0)
				return false;
		return true;
	}
	case CONFIG_HOSTS:
	case CONFIG_NAMES:
	case CONFIG_IFNAMES: {
		const struct config_words *x = pa, *y = pb;
		if (x->n != y->n)
			return false;
		for (int i = 0; i < x->n; i++)
			if (strcmp(x->v[i], y->v[i]) != 0)
				return false;
		return true;
	}
	default:
		return memcmp(pa, pb, o->size) == 0;
	}
}

void
config_format(const struct config_option *o, const struct config *c,
    char *buf, size_t len)
{
	const void *p = (const char *)c + o->off;
	size_t used = 0;

	buf[0] = '\0';
	switch (o->type) {
	case CONFIG_BOOL:
		snprintf(buf, len, "%s", *(const bool *)p ? "yes" : "no");
		break;
	case CONFIG_INT:
		snprintf(buf, len, "%d", *(const int *)p);
		break;
	case CONFIG_MS:
		format_duration(*(const uint32_t *)p, buf, len);
		break;
	case CONFIG_SECONDS:
		format_duration(*(const uint32_t *)p * 1000ULL, buf, len);
		break;
	case CONFIG_SIZE:
		format_size(*(const size_t *)p, buf, len);
		break;
	case CONFIG_STRING:
	case CONFIG_PATH:
		snprintf(buf, len, "%s", (const char *)p);
		break;
	case CONFIG_ADDRS: {
		const struct config_addrs *a = p;
		for (int i = 0; i < a->n && used < len; i++) {
			char ep[64];
			config_format_endpoint(&a->v[i], ep, sizeof(ep));
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			    i > 0 ? " " : "", ep);
		}
		break;
	}
	case CONFIG_NETS: {
		const struct config_nets *l = p;
		if (l->local)
			used = (size_t)snprintf(buf, len, "local");
		for (int i = 0; i < l->n && used < len; i++) {
			char ip[INET6_ADDRSTRLEN];
			inet_ntop(l->v[i].family == 4 ? AF_INET : AF_INET6,
			    l->v[i].ip, ip, sizeof(ip));
			used += (size_t)snprintf(buf + used, len - used,
			    "%s%s/%u", used > 0 ? " " : "", ip,
			    l->v[i].prefix);
		}
		break;
	}
	default: {
		const struct config_words *l = p;
		for (int i = 0; i < l->n && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			    i > 0 ? " " : "", l->v[i]);
		break;
	}
	}
}

void
config_usage(FILE *out)
{
	fprintf(out,
	    "Options (flags override the configuration file; every option "
	    "can be given\nas --name VALUE, or as 'name = value' in the "
	    "file, with '_' for '-'):\n"
	    "  --config FILE              configuration file\n"
	    "  -f, --foreground           same as --foreground=yes\n"
	    "  -v                         more log (repeatable)\n"
	    "  -h, --help, -V, --version\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct config_option *o = &table[i];
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s %s", o->name, o->arg);
		for (char *p = flag; *p != ' '; p++)
			if (*p == '_')
				*p = '-';
		fprintf(out, "  %-26s %s (default: %s)\n", flag, o->help,
		    *o->def != '\0' ? o->def : "none");
	}
}
