/* The DNS front's resolver on top of the engine (see dns_engine.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "node/dns/dns_engine.h"
#include "proto/err.h"

enum lk_state { LK_QUEUED, LK_STARTED };

/* One lookup of the front. */
struct lookup {
	struct lookup *prev, *next;
	enum lk_state state;
	enum engine_event_type type; /* RESOLVE_DONE or REVERSE_DONE */
	uint64_t id;		     /* the engine's, once started */
	dns_resolve_cb cb;
	dns_reverse_cb rcb;
	void *arg;
	char name[ANDNA_NAME_MAX + 1];
	struct endpoint ip;
};

struct dns_engine {
	struct dns_engine_host host;
	struct event *kick; /* starts the queued lookups */
	struct lookup *list;
	int n;
	struct lookup *starting; /* inside engine_resolve()/_reverse() */
	bool started_done;	 /* its outcome came during that call */
};

static void
lk_unlink(struct dns_engine *de, struct lookup *l)
{
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		de->list = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	de->n--;
}

/* Hands an outcome to the front and forgets the lookup. */
static void
lk_deliver(
    struct dns_engine *de, struct lookup *l, const struct engine_event *ev)
{
	lk_unlink(de, l);
	if (l->type == ENGINE_EV_RESOLVE_DONE)
		l->cb(l->arg, ev->status, ev->status == 0 ? ev->rec : NULL,
		    ev->ttl_s);
	else
		l->rcb(l->arg, ev->status, ev->recs, ev->n_recs, ev->ttl_s);
	free(l);
}

/* Starts one queued lookup on the engine. */
static void
lk_start(struct dns_engine *de, struct engine *e, struct lookup *l)
{
	struct engine_event ev;
	struct endpoint node;
	uint64_t id = 0;
	int rc;

	de->starting = l;
	de->started_done = false;
	if (l->type == ENGINE_EV_RESOLVE_DONE)
		rc =
		    engine_resolve(e, l->name, de->host.now(de->host.ctx), &id);
	else {
		node = l->ip;
		node.port = de->host.overlay_port;
		rc = engine_reverse(e, &node, de->host.now(de->host.ctx), &id);
	}
	de->starting = NULL;
	if (de->started_done)
		return; /* delivered and freed during the call */
	if (rc == 0) {
		l->id = id;
		l->state = LK_STARTED;
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = l->type;
	ev.status = rc;
	lk_deliver(de, l, &ev);
}

/* Starts every queued lookup from the event loop, outside any engine
 * callback. */
static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_engine *de = arg;
	struct engine *e = de->host.engine(de->host.ctx);
	struct engine_event ev;
	bool called = false;

	for (;;) {
		struct lookup *l = de->list;
		while (l != NULL && l->state != LK_QUEUED)
			l = l->next;
		if (l == NULL)
			break;
		if (e == NULL) {
			memset(&ev, 0, sizeof(ev));
			ev.type = l->type;
			ev.status = ANDNA_ENOT_HOOKED;
			lk_deliver(de, l, &ev);
			continue;
		}
		lk_start(de, e, l);
		called = true;
	}
	if (called && de->host.engine_done != NULL)
		de->host.engine_done(de->host.ctx);
}

/* Queues a lookup and makes sure the loop starts it. */
static struct lookup *
lk_queue(struct dns_engine *de, enum engine_event_type type, void *arg)
{
	struct lookup *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->type = type;
	l->arg = arg;
	l->state = LK_QUEUED;
	l->next = de->list;
	if (de->list != NULL)
		de->list->prev = l;
	de->list = l;
	de->n++;
	event_active(de->kick, EV_TIMEOUT, 0);
	return l;
}

static int
resolve_fn(void *ctx, const char *name, dns_resolve_cb cb, void *arg)
{
	struct dns_engine *de = ctx;
	struct lookup *l;

	if (strlen(name) > ANDNA_NAME_MAX)
		return ANDNA_ENAME_TOO_LONG;
	if ((l = lk_queue(de, ENGINE_EV_RESOLVE_DONE, arg)) == NULL)
		return ANDNA_ENOMEM;
	l->cb = cb;
	strcpy(l->name, name);
	return 0;
}

static int
reverse_fn(void *ctx, const struct endpoint *ip, dns_reverse_cb cb, void *arg)
{
	struct dns_engine *de = ctx;
	struct lookup *l;

	if ((l = lk_queue(de, ENGINE_EV_REVERSE_DONE, arg)) == NULL)
		return ANDNA_ENOMEM;
	l->rcb = cb;
	l->ip = *ip;
	return 0;
}

static void
cancel_fn(void *ctx, void *arg)
{
	struct dns_engine *de = ctx;

	for (struct lookup *l = de->list; l != NULL; l = l->next) {
		if (l->arg == arg) {
			/* the engine's outcome, if it comes, finds no one */
			lk_unlink(de, l);
			free(l);
			return;
		}
	}
}

void
dns_engine_event(struct dns_engine *de, const struct engine_event *ev)
{
	struct lookup *l;

	if (de == NULL ||
	    (ev->type != ENGINE_EV_RESOLVE_DONE &&
		ev->type != ENGINE_EV_REVERSE_DONE))
		return;
	l = de->starting;
	if (l != NULL && !de->started_done && l->type == ev->type) {
		de->started_done = true;
		lk_deliver(de, l, ev);
		return;
	}
	for (l = de->list; l != NULL; l = l->next) {
		if (l->state == LK_STARTED && l->id == ev->id &&
		    l->type == ev->type) {
			lk_deliver(de, l, ev);
			return;
		}
	}
	/* a lookup the front gave up on, or someone else's (control) */
}

struct dns_engine *
dns_engine_new(struct event_base *base, const struct dns_engine_host *host)
{
	struct dns_engine *de = calloc(1, sizeof(*de));

	if (de == NULL)
		return NULL;
	de->host = *host;
	if ((de->kick = event_new(base, -1, 0, kick_cb, de)) == NULL) {
		free(de);
		return NULL;
	}
	return de;
}

void
dns_engine_free(struct dns_engine *de)
{
	if (de == NULL)
		return;
	while (de->list != NULL) {
		struct lookup *l = de->list;
		lk_unlink(de, l);
		free(l);
	}
	event_free(de->kick);
	free(de);
}

void
dns_engine_resolver(struct dns_engine *de, struct dns_front_resolver *out)
{
	memset(out, 0, sizeof(*out));
	out->ctx = de;
	out->resolve = resolve_fn;
	out->reverse = reverse_fn;
	out->cancel = cancel_fn;
}

int
dns_engine_pending(const struct dns_engine *de)
{
	return de->n;
}
