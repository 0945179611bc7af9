/* andnad's DNS service, from the dns_* options (see dns_node.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "node/daemon/conf.h"
#include "node/dns/dns_engine.h"
#include "node/dns/dns_forward.h"
#include "node/dns/dns_node.h"
#include "node/daemon/log.h"
#include "proto/err.h"

struct dns_node {
	struct daemon *d;
	struct dns_forward *fw;
	struct dns_engine *de;
	struct dns_front *front;
};

static struct engine *
host_engine(void *ctx)
{
	return daemon_engine(ctx);
}

static uint64_t
host_now(void *ctx)
{
	return daemon_now(ctx);
}

static void
host_done(void *ctx)
{
	daemon_engine_done(ctx);
}

/* The front's lines into the daemon's log; complaints about clients are
 * rate limited like any bad input. */
static void
front_log_cb(void *ctx, int level, const char *msg)
{
	static const enum log_level map[] = {
	    LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG};

	log_msg(daemon_log(ctx),
	    level >= 0 && level <= DNS_LOG_DEBUG ? map[level] : LOG_LEVEL_DEBUG,
	    level <= DNS_LOG_ERR ? LOG_KIND_NONE : LOG_KIND_INPUT, "dns", "%s",
	    msg);
}

/* The forwarder: dns_upstream, else dns_resolv_conf's nameservers. */
static int
forward_new(struct dns_node *n, const struct config *c)
{
	struct dns_forward_config fc;
	struct log *lg = daemon_log(n->d);
	char text[64];

	dns_forward_config_defaults(&fc);
	for (int i = 0; i < c->dns_upstream.n && i < DNS_FORWARD_MAX_UPSTREAMS;
	     i++)
		fc.upstreams[fc.n_upstreams++] = c->dns_upstream.v[i];
	if (fc.n_upstreams == 0 && c->dns_resolv_conf[0] != '\0' &&
	    dns_resolv_conf_read(c->dns_resolv_conf, c->dns_listen.v,
		c->dns_listen.n, fc.upstreams, DNS_FORWARD_MAX_UPSTREAMS,
		&fc.n_upstreams) != 0)
		log_warn(lg,
		    "cannot read %s: names outside the overlay get "
		    "REFUSED",
		    c->dns_resolv_conf);
	for (int i = 0; i < fc.n_upstreams; i++) {
		config_format_endpoint(&fc.upstreams[i], text, sizeof(text));
		log_info(lg, "dns: upstream %s", text);
	}
	if (fc.n_upstreams == 0)
		log_info(lg,
		    "dns: no upstream: names outside the overlay get "
		    "REFUSED");
	n->fw = dns_forward_new(daemon_base(n->d), &fc);
	return n->fw == NULL ? ANDNA_ENOMEM : 0;
}

/* The front's configuration from the daemon's. */
static void
front_config(
    struct dns_node *n, const struct config *c, struct dns_front_config *fc)
{
	static const uint8_t zero[16];

	dns_front_config_defaults(fc);
	fc->n_listen = 0;
	for (int i = 0; i < c->dns_listen.n && i < DNS_FRONT_MAX_LISTEN; i++) {
		const struct endpoint *ep = &c->dns_listen.v[i];
		fc->listen[fc->n_listen++] = *ep;
		/* the zone's NS answers with the addresses we know */
		if (memcmp(ep->ip, zero, ep->family == 4 ? 4 : 16) != 0 &&
		    fc->n_ns_addrs < DNS_FRONT_MAX_NS_ADDRS)
			fc->ns_addrs[fc->n_ns_addrs++] = *ep;
	}
	fc->n_suffixes = 0;
	for (int i = 0; i < c->dns_suffix.n && i < DNS_FRONT_MAX_SUFFIXES; i++)
		fc->suffixes[fc->n_suffixes++] = c->dns_suffix.v[i];
	fc->negative_ttl = c->engine.negative_s;
	fc->timeout_ms = c->dns_timeout_ms;
	fc->rate_qps = (uint32_t)c->dns_rate_limit;
	fc->rate_burst = (uint32_t)c->dns_rate_limit * 2;
	/* CONFIG_NETS_MAX is below DNS_FRONT_MAX_NETS: every one fits */
	fc->n_allow = c->dns_allow.n;
	memcpy(fc->allow, c->dns_allow.v, sizeof(c->dns_allow.v));
	fc->allow_local = c->dns_allow.local;
	fc->n_rate_exempt = c->dns_rate_exempt.n;
	memcpy(fc->rate_exempt, c->dns_rate_exempt.v,
	    sizeof(c->dns_rate_exempt.v));
	fc->rate_exempt_local = c->dns_rate_exempt.local;
	fc->probe = c->dns_probe;
	fc->probe_port = (uint16_t)c->dns_probe_port;
	fc->probe_cfg.interval_ms = c->dns_probe_interval_ms;
	fc->forward = n->fw;
	fc->log_cb = front_log_cb;
	fc->log_ctx = n->d;
}

int
dns_node_new(struct daemon *d, struct dns_node **out)
{
	const struct config *c = daemon_config(d);
	struct dns_engine_host host = {d, host_engine, host_now, host_done, 0};
	struct dns_front_resolver res;
	struct dns_front_config fc;
	struct dns_node *n = NULL;
	int rc = ANDNA_ENOMEM;

	*out = NULL;
	if (c->dns_listen.n == 0)
		return 0;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return ANDNA_ENOMEM;
	n->d = d;
	host.overlay_port = c->listen.n > 0 ? c->listen.v[0].port : CONFIG_PORT;
	if ((rc = forward_new(n, c)) != 0)
		goto out;
	if ((n->de = dns_engine_new(daemon_base(d), &host)) == NULL) {
		rc = ANDNA_ENOMEM;
		goto out;
	}
	dns_engine_resolver(n->de, &res);
	front_config(n, c, &fc);
	if ((rc = dns_front_new(daemon_base(d), &fc, &res, &n->front)) != 0) {
		log_err(daemon_log(d), "dns: %s", andna_strerror(rc));
		goto out;
	}
	*out = n;
	n = NULL;
out:
	dns_node_free(n);
	return rc;
}

void
dns_node_event(struct dns_node *n, const struct engine_event *ev)
{
	if (n == NULL)
		return;
	/* a name of ours changed: answer it from the store at once, not
	 * from what the front kept */
	if (ev->type == ENGINE_EV_REGISTER_DONE)
		dns_front_forget(n->front);
	dns_engine_event(n->de, ev);
}

void
dns_node_stats(const struct dns_node *n, struct dns_front_stats *out)
{
	if (n == NULL || n->front == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	dns_front_get_stats(n->front, out);
}

void
dns_node_free(struct dns_node *n)
{
	if (n == NULL)
		return;
	/* the front cancels its lookups and forwarded queries first */
	dns_front_free(n->front);
	dns_engine_free(n->de);
	dns_forward_free(n->fw);
	free(n);
}
