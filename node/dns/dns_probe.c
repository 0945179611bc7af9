/* TCP connect probes of answered targets, for the DNS front. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/dns/dns_forward.h"
#include "node/dns/dns_probe.h"

#define PROBE_BUCKETS 256

struct target {
	struct target *next; /* in its bucket */
	struct dns_probe *p;
	struct endpoint ep;
	enum dns_health health;
	uint64_t asked_ms;  /* last time an answer held it */
	uint64_t probed_ms; /* last probe started */
	int fd;		    /* the probe in flight, or -1 */
	struct event *ev;
};

struct dns_probe {
	struct event_base *base;
	struct dns_probe_config cfg;
	struct target *buckets[PROBE_BUCKETS];
	struct event *tick;
	uint64_t now; /* of the last tick or new target: when answers held
		       * targets, to a quarter interval, without a clock
		       * read per answered address */
	int inflight;
	struct dns_probe_stats st;
};

void
dns_probe_config_defaults(struct dns_probe_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->interval_ms = 5000;
	cfg->timeout_ms = 1000;
	cfg->forget_ms = 600000;
	cfg->max_targets = 4096;
	cfg->max_inflight = 64;
}

/* Milliseconds of the monotonic clock. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The bucket of an endpoint. */
static unsigned
bucket_of(const struct endpoint *ep)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ ep->ip[i]) * 16777619u;
	h = (h ^ ep->port) * 16777619u;
	return (h ^ ep->family) % PROBE_BUCKETS;
}

/* Ends the probe in flight of t, if any. */
static void
probe_close(struct target *t)
{
	if (t->ev != NULL) {
		event_free(t->ev);
		t->ev = NULL;
	}
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
		t->p->inflight--;
	}
}

enum dns_health
dns_probe_verdict(int err)
{
	switch (err) {
	case 0:
	case ECONNREFUSED: /* RST, ICMP port unreachable */
	case ECONNRESET:
		return DNS_HEALTH_UP;
	case ETIMEDOUT:
	case EHOSTUNREACH: /* ICMP host unreachable or prohibited, no ARP */
	case ENETUNREACH:  /* no route, ICMP network unreachable */
	case EHOSTDOWN:
	case ENETDOWN:
	case EACCES: /* ICMPv6 administratively prohibited */
	case EPERM:  /* this host's firewall */
		return DNS_HEALTH_DOWN;
	default:
		return DNS_HEALTH_UNKNOWN;
	}
}

/* Records a probe's outcome: err is the connect's errno (ETIMEDOUT when
 * it timed out). */
static void
probe_result(struct target *t, int err)
{
	enum dns_health h = dns_probe_verdict(err), was = t->health;
	struct dns_probe *p = t->p;

	probe_close(t);
	if (h == DNS_HEALTH_UNKNOWN)
		return; /* nothing learnt of the target */
	t->health = h;
	if (h == DNS_HEALTH_UP)
		p->st.up++;
	else
		p->st.down++;
	if (h != was && p->cfg.change_cb != NULL)
		p->cfg.change_cb(p->cfg.change_ctx, &t->ep, was, h, err);
}

/* The connect finished or timed out. */
static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct target *t = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (what & EV_TIMEOUT) {
		probe_result(t, ETIMEDOUT);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	probe_result(t, err);
}

/* Starts a connect to t, when the cap on probes in flight allows. */
static void
probe_start(struct target *t, uint64_t now)
{
	struct dns_probe *p = t->p;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct timeval tv;

	if (t->fd >= 0 || p->inflight >= p->cfg.max_inflight)
		return;
	t->probed_ms = now;
	p->st.probes++;
	sl = dns_endpoint_to_sockaddr(&t->ep, &ss);
	t->fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return; /* out of descriptors: the health stays as it was */
	p->inflight++;
	if (connect(t->fd, (struct sockaddr *)&ss, sl) == 0) {
		probe_result(t, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		probe_result(t, errno);
		return;
	}
	tv.tv_sec = p->cfg.timeout_ms / 1000;
	tv.tv_usec = (p->cfg.timeout_ms % 1000) * 1000;
	t->ev = event_new(p->base, t->fd, EV_WRITE, probe_cb, t);
	if (t->ev == NULL || event_add(t->ev, &tv) != 0)
		probe_close(t);
}

/* Re-probes what is due and forgets what nobody asks for any more. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_probe *p = arg;
	uint64_t now = now_ms();

	p->now = now;

	for (int b = 0; b < PROBE_BUCKETS; b++) {
		struct target **tp = &p->buckets[b];
		while (*tp != NULL) {
			struct target *t = *tp;
			if (now - t->asked_ms >= p->cfg.forget_ms) {
				*tp = t->next;
				probe_close(t);
				free(t);
				p->st.targets--;
				continue;
			}
			if (now - t->probed_ms >= p->cfg.interval_ms)
				probe_start(t, now);
			tp = &t->next;
		}
	}
}

struct dns_probe *
dns_probe_new(struct event_base *base, const struct dns_probe_config *cfg)
{
	struct dns_probe *p = calloc(1, sizeof(*p));
	struct timeval tv;
	uint32_t every;

	if (p == NULL)
		return NULL;
	p->base = base;
	p->cfg = *cfg;
	p->now = now_ms();
	if (p->cfg.interval_ms == 0)
		p->cfg.interval_ms = 5000;
	if (p->cfg.timeout_ms == 0)
		p->cfg.timeout_ms = 1000;
	/* tick at a quarter of the interval so a probe is never late by
	 * more than that */
	every = p->cfg.interval_ms / 4 > 0 ? p->cfg.interval_ms / 4 : 1;
	tv.tv_sec = every / 1000;
	tv.tv_usec = (every % 1000) * 1000;
	p->tick = event_new(base, -1, EV_PERSIST, tick_cb, p);
	if (p->tick == NULL || event_add(p->tick, &tv) != 0) {
		dns_probe_free(p);
		return NULL;
	}
	return p;
}

void
dns_probe_free(struct dns_probe *p)
{
	if (p == NULL)
		return;
	for (int b = 0; b < PROBE_BUCKETS; b++) {
		while (p->buckets[b] != NULL) {
			struct target *t = p->buckets[b];
			p->buckets[b] = t->next;
			probe_close(t);
			free(t);
		}
	}
	if (p->tick != NULL)
		event_free(p->tick);
	free(p);
}

enum dns_health
dns_probe_health(struct dns_probe *p, const struct endpoint *target)
{
	unsigned b = bucket_of(target);
	struct target *t;
	uint64_t now;

	for (t = p->buckets[b]; t != NULL; t = t->next) {
		if (ep_equal(&t->ep, target)) {
			t->asked_ms = p->now;
			return t->health;
		}
	}
	if (p->st.targets >= (uint64_t)p->cfg.max_targets)
		return DNS_HEALTH_UNKNOWN;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return DNS_HEALTH_UNKNOWN;
	now = p->now = now_ms();
	t->p = p;
	t->ep = *target;
	t->fd = -1;
	t->asked_ms = now;
	t->next = p->buckets[b];
	p->buckets[b] = t;
	p->st.targets++;
	probe_start(t, now);
	return t->health;
}

void
dns_probe_get_stats(const struct dns_probe *p, struct dns_probe_stats *out)
{
	*out = p->st;
}
