/* The deterministic discrete-event simulator (see sim.h).  One event queue
 * ordered by (time, insertion sequence) and one PRNG drive everything, the
 * engines' randomness included, so a seed fixes the whole run.  The
 * agreement check and the metrics only read the engines and never draw
 * from that PRNG, so watching a run does not change it. */
#include "config.h"

#include <sys/resource.h>

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "proto/err.h"
#include "proto/msg.h"
#include "sim/sigmemo.h"
#include "sim/sim.h"

/* Engines see this as the time of sim_new(): a real clock is never near
 * zero, and zero is a tempting "never" inside an engine. */
#define SIM_EPOCH_MS 1000000ULL
#define SIM_NEVER UINT64_MAX
#define JOIN_RETRY_MS 100
#define PROBE_POLL_MS 100

enum sim_ev_type {
	EV_JOIN,
	EV_WAKE,
	EV_DELIVER,
	EV_PROBE,
	EV_NSOP,
	EV_RESTART
};

/* One queued event.  `node` is the node it happens to (for EV_PROBE and
 * EV_NSOP, the index of the probe or request in its batch); a delivery
 * owns `buf`. */
struct sim_event {
	uint64_t time;
	uint64_t seq;
	uint8_t *buf;
	uint32_t node;
	uint32_t from;
	uint32_t len;
	uint8_t type;
};

/* NODE_DOWN: restarting (sim_restart_all()), its store and peers kept */
enum node_state { NODE_IDLE, NODE_RUNNING, NODE_CRASHED, NODE_LEFT, NODE_DOWN };

/* One node slot.  The engine's io.ctx points here, so the array is never
 * moved. */
struct sim_node {
	struct engine *e;
	struct store *st; /* the engine's store, while it runs or is down */
	struct endpoint *peers; /* NODE_DOWN: the live peers it knew */
	int n_peers;
	struct sim *sim;
	uint64_t wake_at; /* the one live wake-up in the queue, or SIM_NEVER */
	double x, y;
	int32_t grid_next, grid_prev;
	uint32_t idx;
	uint8_t state;
	bool in_grid;
	bool hostile; /* a slot of sim_params.hostile: an attacker's */
};

/* xoshiro256** state. */
struct rng {
	uint64_t s[4];
};

/* One probe of a batch. */
struct probe_rec {
	uint64_t id;
	uint32_t node;
	ovl_addr_t target, addr;
	int status, hops;
	bool started, done;
};

/* What a name-service request of a batch is. */
enum op_kind { OP_REGISTER, OP_RELEASE, OP_RESOLVE };

/* One name-service request of a batch: of generated name `name`, or of
 * the caller's name (s->one) when name < 0. */
struct ns_op {
	uint64_t id;
	uint32_t node;
	int32_t name;
	const char *text; /* the caller's name when name < 0, or NULL:
			   * s->one's */
	uint8_t kind;
	bool started, done, ok;
	bool refused; /* the engine call itself failed */
	int status, hops, asked;
	uint32_t ms, queue_pos, life_s, ttl_s;
	struct record *rec; /* one resolve of the caller's: a copy */
};

/* The caller's request of sim_register() and friends. */
struct one_req {
	const char *name;
	const struct record_entry *entries;
	int n_entries;
	uint32_t ttl; /* register: the owner's TTL, 0 for none */
	const struct keypair *owner;
};

/* A generated name as the checks need it. */
struct name_info {
	uint64_t h8;
	ovl_addr_t target; /* name_hash() */
	uint8_t pk[ANDNA_PK_LEN];
	int status; /* of its registration; 1: never tried */
};

/* A target of the agreement check with its true rounded gnode. */
struct target {
	ovl_addr_t gnode; /* sort key */
	ovl_addr_t addr;
};

struct sim {
	struct sim_params p;
	struct sim_node *nodes;
	int n;
	double side;
	uint64_t now;
	uint64_t seq;
	struct rng rng;
	struct sim_counters c;
	int running;
	bool split;

	struct sim_event *heap;
	size_t heap_len, heap_cap;

	/* uniform grid of hooked nodes for nearest-neighbour lookups */
	int cells;
	double cell;
	int32_t *grid;

	/* the truth: gnodes of running hooked nodes */
	struct idset top;
	struct idset l2[256];
	struct idset *l1; /* 65536, by level-2 prefix >> 16 */
	ovl_addr_t *addrs;
	int n_addrs, unhooked;
	struct target *targets;
	uint8_t *bad;
	struct round_view view;

	/* the probe batch under way, if any */
	struct probe_rec *probes;
	int n_probes, probes_finished;
	uint32_t *probe_hash; /* record index + 1, 0 empty */
	size_t probe_mask;
	int probing; /* record whose engine_probe() call is running, or -1 */

	/* the batch of name-service requests under way, if any */
	struct ns_op *ops;
	int n_ops, ops_finished;
	uint32_t *op_hash; /* request index + 1, 0 empty */
	size_t op_mask;
	int op_starting; /* request whose engine call is running, or -1 */
	struct one_req one;

	/* the generated names so far */
	struct name_info *names;
	int n_names;


	sim_filter_fn *filter;
	void *filter_arg;
	sim_tap_fn *tap;
	void *tap_arg;
	struct endpoint *hostile_ep; /* the endpoint of each hostile slot */
	uint8_t *side_of; /* the halves of sim_partition_nodes(), or NULL */
	struct sigmemo *memo; /* record signature verdicts, for every node */
	struct store_blobs *blobs; /* the signed records all stores hold */
};

/* Ends the run: a simulation that does not fit has no figures worth
 * having, and out of memory inside a callback has nowhere to go. */
static _Noreturn void
out_of_memory(void)
{
	fputs("andna-sim: out of memory: simulate fewer nodes or names, "
	      "or run where there is more memory\n",
	    stderr);
	abort();
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		out_of_memory();
	return p;
}

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, 1). */
static double
rng_double(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n > 0 (the modulo bias is below 2^-40 here). */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(rng_next(r) % n);
}

static void
rng_fill(struct rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		uint64_t x = rng_next(r);
		size_t k = len < 8 ? len : 8;
		memcpy(p, &x, k);
		p += k;
		len -= k;
	}
}

static uint64_t
hash_mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
}

/* ---- event queue: a binary min-heap on (time, seq) ---- */

static bool
ev_before(const struct sim_event *a, const struct sim_event *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void
heap_push(struct sim *s, struct sim_event ev)
{
	if (s->heap_len == s->heap_cap) {
		size_t cap = s->heap_cap ? s->heap_cap * 2 : 1024;
		struct sim_event *h = realloc(s->heap, cap * sizeof(*h));
		if (h == NULL)
			out_of_memory();
		s->heap = h;
		s->heap_cap = cap;
	}
	ev.seq = s->seq++;
	size_t i = s->heap_len++;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!ev_before(&ev, &s->heap[up]))
			break;
		s->heap[i] = s->heap[up];
		i = up;
	}
	s->heap[i] = ev;
}

static struct sim_event
heap_pop(struct sim *s)
{
	struct sim_event top = s->heap[0];
	struct sim_event last = s->heap[--s->heap_len];
	size_t i = 0, n = s->heap_len;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && ev_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (n > 0)
		s->heap[i] = last;
	return top;
}

static void
push_simple(struct sim *s, uint8_t type, uint64_t time, uint32_t node)
{
	struct sim_event ev = {.time = time, .type = type, .node = node};

	heap_push(s, ev);
}

/* ---- the virtual underlay ---- */

/* Node i's endpoint: 127.x.y.z with x.y.z = i + 1, port 1. */
static void
node_endpoint(uint32_t i, struct endpoint *ep)
{
	uint32_t v = i + 1;

	memset(ep, 0, sizeof(*ep));
	ep->family = 4;
	ep->ip[0] = 127;
	ep->ip[1] = (uint8_t)(v >> 16);
	ep->ip[2] = (uint8_t)(v >> 8);
	ep->ip[3] = (uint8_t)v;
	ep->port = 1;
}

static bool
endpoint_eq(const struct endpoint *a, const struct endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	    memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

/* Node i's endpoint: its own, or the one an attacker gave its hostile
 * slot (sim_hostile_place()). */
static void
node_ep(const struct sim *s, uint32_t i, struct endpoint *ep)
{
	if (i >= (uint32_t)s->p.nodes)
		*ep = s->hostile_ep[i - (uint32_t)s->p.nodes];
	else
		node_endpoint(i, ep);
}

/* The node behind `ep`, or -1.  Honest nodes are found by their address;
 * the few hostile slots by a look at each. */
static int
endpoint_node(const struct sim *s, const struct endpoint *ep)
{
	if (ep->family == 4 && ep->ip[0] == 127 && ep->port == 1) {
		uint32_t v = (uint32_t)ep->ip[1] << 16 |
		    (uint32_t)ep->ip[2] << 8 | ep->ip[3];
		if (v >= 1 && v <= (uint32_t)s->p.nodes)
			return (int)(v - 1);
	}
	for (int k = 0; k < s->p.hostile; k++)
		if (endpoint_eq(ep, &s->hostile_ep[k]))
			return s->p.nodes + k;
	return -1;
}

/* Base 1 ms plus 2 ms per 100 units of distance, at least 1 ms. */
static uint64_t
latency_ms(const struct sim_node *a, const struct sim_node *b)
{
	double d = hypot(a->x - b->x, a->y - b->y);
	uint64_t ms = (uint64_t)llround(1.0 + d * 0.02);

	return ms < 1 ? 1 : ms;
}

static bool
node_west(const struct sim *s, const struct sim_node *nd)
{
	return nd->x < s->side / 2;
}

static bool
crosses_split(
    const struct sim *s, const struct sim_node *a, const struct sim_node *b)
{
	if (!s->split)
		return false;
	if (s->side_of != NULL)
		return s->side_of[a->idx] != s->side_of[b->idx];
	return node_west(s, a) != node_west(s, b);
}

/* ---- grid of hooked nodes ---- */

static int
grid_coord(const struct sim *s, double v)
{
	int c = (int)(v / s->cell);

	return c < 0 ? 0 : c >= s->cells ? s->cells - 1 : c;
}

static int
grid_cell(const struct sim *s, const struct sim_node *nd)
{
	return grid_coord(s, nd->y) * s->cells + grid_coord(s, nd->x);
}

static void
grid_add(struct sim *s, struct sim_node *nd)
{
	if (nd->in_grid)
		return;
	int c = grid_cell(s, nd);
	nd->grid_prev = -1;
	nd->grid_next = s->grid[c];
	if (nd->grid_next >= 0)
		s->nodes[nd->grid_next].grid_prev = (int32_t)nd->idx;
	s->grid[c] = (int32_t)nd->idx;
	nd->in_grid = true;
}

static void
grid_remove(struct sim *s, struct sim_node *nd)
{
	if (!nd->in_grid)
		return;
	if (nd->grid_prev >= 0)
		s->nodes[nd->grid_prev].grid_next = nd->grid_next;
	else
		s->grid[grid_cell(s, nd)] = nd->grid_next;
	if (nd->grid_next >= 0)
		s->nodes[nd->grid_next].grid_prev = nd->grid_prev;
	nd->in_grid = false;
}

/* Scans one grid cell for a nearer running hooked node. */
static void
grid_scan(const struct sim *s, int gx, int gy, const struct sim_node *from,
    int *best, double *bestd)
{
	if (gx < 0 || gy < 0 || gx >= s->cells || gy >= s->cells)
		return;
	for (int32_t j = s->grid[gy * s->cells + gx]; j >= 0;
	     j = s->nodes[j].grid_next) {
		const struct sim_node *c = &s->nodes[j];
		if (c == from || c->state != NODE_RUNNING ||
		    !engine_hooked(c->e))
			continue;
		double d = hypot(c->x - from->x, c->y - from->y);
		if (*best < 0 || d < *bestd) {
			*best = j;
			*bestd = d;
		}
	}
}

/* The running hooked node nearest to `from`, or -1: rings of cells around
 * its own, until no nearer node can lie further out. */
static int
grid_nearest(const struct sim *s, const struct sim_node *from)
{
	int cx = grid_coord(s, from->x), cy = grid_coord(s, from->y);
	int best = -1;
	double bestd = 0;

	for (int r = 0; r < s->cells; r++) {
		for (int gy = cy - r; gy <= cy + r; gy++) {
			bool edge = gy == cy - r || gy == cy + r;
			int step = edge || r == 0 ? 1 : 2 * r;
			for (int gx = cx - r; gx <= cx + r; gx += step)
				grid_scan(s, gx, gy, from, &best, &bestd);
		}
		if (best >= 0 && bestd <= r * s->cell)
			break;
	}
	return best;
}

/* ---- engine callbacks ---- */

static void
deliver_schedule(struct sim *s, const struct sim_node *src,
    const struct sim_node *dst, const uint8_t *buf, size_t len, bool stream)
{
	struct sim_event ev = {.type = EV_DELIVER,
	    .node = dst->idx,
	    .from = src->idx,
	    .len = (uint32_t)len};
	uint64_t lat = latency_ms(src, dst) * (stream ? 2 : 1);

	ev.time = s->now + lat;
	ev.buf = xmalloc(len);
	memcpy(ev.buf, buf, len);
	heap_push(s, ev);
}

static void
send_cb(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	struct sim_node *src = ctx;
	struct sim *s = src->sim;
	int d = endpoint_node(s, to);

	s->c.sent++;
	s->c.bytes += len;
	if (d < 0 || len > UINT32_MAX) {
		s->c.bad_dest++;
		return;
	}
	struct sim_node *dst = &s->nodes[d];
	/* a hostile slot hears through the tap, engine or not */
	if (dst->state != NODE_RUNNING && !(dst->hostile && s->tap != NULL)) {
		s->c.dead++;
		return;
	}
	if (crosses_split(s, src, dst)) {
		s->c.cut++;
		return;
	}
	bool stream = len >= SIM_STREAM_MIN;
	if (stream)
		s->c.streams++;
	else if (s->p.loss > 0 && rng_double(&s->rng) < s->p.loss) {
		s->c.lost++;
		return;
	}
	deliver_schedule(s, src, dst, buf, len, stream);
}

static void
random_cb(void *ctx, void *buf, size_t len)
{
	struct sim_node *nd = ctx;

	rng_fill(&nd->sim->rng, buf, len);
}

/* Record signatures through the memo all nodes share: the same verdict as
 * sig_verify(), at a fraction of the CPU. */
static int
verify_cb(void *ctx, const uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg,
    size_t len, const uint8_t pk[ANDNA_PK_LEN])
{
	struct sim_node *nd = ctx;

	return sigmemo_verify(nd->sim->memo, sig, msg, len, pk);
}

static void probe_done(
    struct sim *s, struct sim_node *nd, const struct engine_event *ev);
static void op_event(
    struct sim *s, struct sim_node *nd, const struct engine_event *ev);

static void
event_cb(void *ctx, const struct engine_event *ev)
{
	struct sim_node *nd = ctx;

	switch (ev->type) {
	case ENGINE_EV_HOOKED:
		grid_add(nd->sim, nd);
		break;
	case ENGINE_EV_PROBE_DONE:
		probe_done(nd->sim, nd, ev);
		break;
	case ENGINE_EV_REGISTER_DONE:
	case ENGINE_EV_RESOLVE_DONE:
		op_event(nd->sim, nd, ev);
		break;
	default:
		break;
	}
}

static void
log_cb(void *ctx, enum engine_log_level level, const char *msg)
{
	struct sim_node *nd = ctx;
	struct sim *s = nd->sim;

	if (s->p.progress == NULL || level > ENGINE_LOG_WARN)
		return;
	fprintf(s->p.progress, "[%.3f] node %u: %s\n",
	    (double)(s->now - SIM_EPOCH_MS) / 1000, nd->idx, msg);
}

/* ---- driving the engines ---- */

/* Asks the engine what is due now and keeps one live wake-up queued. */
static void
node_rearm(struct sim *s, struct sim_node *nd)
{
	uint64_t t = engine_tick(nd->e, s->now);

	if (nd->state != NODE_RUNNING)
		return;
	if (t <= s->now)
		t = s->now + 1;
	if (t == nd->wake_at)
		return;
	nd->wake_at = t;
	if (t != SIM_NEVER)
		push_simple(s, EV_WAKE, t, nd->idx);
}

/* The key of node i: a pure function of (seed, i). */
static void
node_key(const struct sim *s, uint32_t i, struct keypair *kp)
{
	uint8_t in[24] = "andna-sim";
	uint8_t seed[ANDNA_HASH_LEN];

	for (int b = 0; b < 8; b++)
		in[10 + b] = (uint8_t)(s->p.seed >> (8 * b));
	for (int b = 0; b < 4; b++)
		in[18 + b] = (uint8_t)(i >> (8 * b));
	hash_blake2b(seed, in, sizeof(in));
	keypair_from_seed(kp, seed);
	sodium_memzero(seed, sizeof(seed));
}

/* Runs a new engine for node `nd` on its store nd->st. */
static void
node_start(struct sim *s, struct sim_node *nd)
{
	struct engine_io io = {.ctx = nd,
	    .send_cb = send_cb,
	    .random_cb = random_cb,
	    .event_cb = event_cb,
	    .log_cb = s->p.engine_log ? log_cb : NULL,
	    .store = nd->st,
	    .verify_cb = verify_cb};
	struct keypair kp;
	struct endpoint self;

	node_key(s, nd->idx, &kp);
	node_ep(s, nd->idx, &self);
	nd->e = engine_new(&s->p.engine, &io, &kp, &self, 1, s->now);
	keypair_wipe(&kp);
	if (nd->e == NULL)
		out_of_memory();
	nd->state = NODE_RUNNING;
	nd->wake_at = SIM_NEVER;
	s->running++;
}

/* Node i joins now through the nearest hooked node; the very first node
 * founds the overlay.  While nodes run but none has hooked yet, the join
 * waits. */
static void
node_join(struct sim *s, uint32_t i)
{
	struct sim_node *nd = &s->nodes[i];
	struct store *st = NULL;
	struct endpoint peer;
	int via = -1;

	if (nd->state != NODE_IDLE)
		return;
	if (s->running > 0) {
		via = grid_nearest(s, nd);
		if (via < 0) {
			push_simple(s, EV_JOIN, s->now + JOIN_RETRY_MS, i);
			return;
		}
	}
	/* every node its own store, empty at each start */
	if (store_mem_open(s->blobs, &st) != 0)
		out_of_memory();
	nd->st = st;
	node_start(s, nd);
	s->c.joins++;
	if (via >= 0) {
		node_ep(s, (uint32_t)via, &peer);
		engine_bootstrap(nd->e, &peer, 1, s->now);
	} else
		engine_bootstrap(nd->e, NULL, 0, s->now);
	node_rearm(s, nd);
}

/* A node that sim_restart_all() took down comes back with its store and
 * joins through the peers it knew, as a restarted andnad does. */
static void
node_restart(struct sim *s, uint32_t i)
{
	struct sim_node *nd = &s->nodes[i];

	if (nd->state != NODE_DOWN)
		return;
	node_start(s, nd);
	engine_bootstrap(nd->e, nd->peers, nd->n_peers, s->now);
	free(nd->peers);
	nd->peers = NULL;
	nd->n_peers = 0;
	node_rearm(s, nd);
}

static void
node_stop(struct sim *s, struct sim_node *nd, enum node_state how)
{
	grid_remove(s, nd);
	engine_free(nd->e);
	nd->e = NULL;
	store_close(nd->st); /* what the node held is gone with it */
	nd->st = NULL;
	nd->state = how;
	nd->wake_at = SIM_NEVER;
	s->running--;
}

void
sim_crash(struct sim *s, int i)
{
	if (i < 0 || i >= s->n || s->nodes[i].state != NODE_RUNNING)
		return;
	node_stop(s, &s->nodes[i], NODE_CRASHED);
	s->c.crashes++;
}

/* What a node keeps of its engine's live peers over a restart. */
struct peer_keep {
	struct sim_node *nd;
	struct engine_keep keep;
};

/* Keeps what andnad keeps of its engine's live peers. */
static int
peer_keep_cb(void *arg, const struct engine_peer *p)
{
	struct peer_keep *pk = arg;

	if (engine_keep_peer(&pk->keep, p))
		pk->nd->peers[pk->nd->n_peers++] = *p->ep;
	return 0;
}

void
sim_restart_all(struct sim *s, uint32_t spread_ms)
{
	for (int i = 0; i < s->n; i++) {
		struct sim_node *nd = &s->nodes[i];
		if (nd->state != NODE_RUNNING)
			continue;
		struct peer_keep pk = {.nd = nd};
		nd->peers = xmalloc(ENGINE_KEEP_MAX * sizeof(*nd->peers));
		nd->n_peers = 0;
		engine_peers(nd->e, peer_keep_cb, &pk);
		grid_remove(s, nd);
		engine_free(nd->e);
		nd->e = NULL;
		nd->state = NODE_DOWN;
		nd->wake_at = SIM_NEVER;
		s->running--;
		push_simple(s, EV_RESTART,
		    s->now + rng_below(&s->rng, spread_ms + 1), nd->idx);
	}
}

void
sim_leave(struct sim *s, int i)
{
	if (i < 0 || i >= s->n || s->nodes[i].state != NODE_RUNNING)
		return;
	engine_leave(s->nodes[i].e, s->now);
	node_stop(s, &s->nodes[i], NODE_LEFT);
	s->c.leaves++;
}

static void
deliver(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *dst = &s->nodes[ev->node];
	struct sim_node *src = &s->nodes[ev->from];
	struct endpoint from;
	bool tapped = dst->hostile && s->tap != NULL;

	if (dst->state != NODE_RUNNING && !tapped) {
		s->c.dead++;
		return;
	}
	if (crosses_split(s, src, dst)) {
		s->c.cut++;
		return;
	}
	s->c.delivered++;
	uint64_t h = hash_mix(s->c.hash, ev->time);
	h = hash_mix(h, (uint64_t)ev->from << 32 | ev->node);
	h = hash_mix(h, ev->len);
	for (uint32_t k = 0; k < ev->len; k += 8) {
		uint64_t w = 0;
		memcpy(&w, ev->buf + k, ev->len - k < 8 ? ev->len - k : 8);
		h = hash_mix(h, w);
	}
	s->c.hash = h;
	if (tapped && (!s->tap(s->tap_arg, (int)ev->from, (int)ev->node,
			   ev->buf, ev->len) ||
			  dst->state != NODE_RUNNING))
		return;
	const uint8_t *buf = ev->buf;
	size_t len = ev->len;
	uint8_t *out = NULL;
	if (s->filter != NULL) {
		size_t out_len = 0;
		enum sim_verdict v = s->filter(s->filter_arg, (int)ev->from,
		    (int)ev->node, ev->buf, ev->len, &out, &out_len);
		if (v == SIM_DROP) {
			free(out);
			return;
		}
		if (v == SIM_REPLACE) {
			buf = out;
			len = out_len;
		}
	}
	node_ep(s, ev->from, &from);
	engine_input(dst->e, &from, buf, len, s->now);
	free(out);
	node_rearm(s, dst);
}

static void probe_start(struct sim *s, uint32_t k);
static void op_start(struct sim *s, uint32_t k);

static void
dispatch(struct sim *s, struct sim_event *ev)
{
	struct sim_node *nd;

	switch (ev->type) {
	case EV_JOIN:
		node_join(s, ev->node);
		break;
	case EV_WAKE:
		nd = &s->nodes[ev->node];
		if (nd->state != NODE_RUNNING || nd->wake_at != ev->time)
			break;
		nd->wake_at = SIM_NEVER;
		node_rearm(s, nd);
		break;
	case EV_DELIVER:
		deliver(s, ev);
		free(ev->buf);
		break;
	case EV_PROBE:
		probe_start(s, ev->node);
		break;
	case EV_NSOP:
		op_start(s, ev->node);
		break;
	case EV_RESTART:
		node_restart(s, ev->node);
		break;
	default:
		abort();
	}
}

void
sim_run_until(struct sim *s, uint64_t t)
{
	uint64_t abs = t + SIM_EPOCH_MS;

	while (s->heap_len > 0 && s->heap[0].time <= abs) {
		struct sim_event ev = heap_pop(s);
		s->now = ev.time;
		s->c.events++;
		dispatch(s, &ev);
	}
	if (abs > s->now)
		s->now = abs;
}

uint64_t
sim_now(const struct sim *s)
{
	return s->now - SIM_EPOCH_MS;
}

struct join_at {
	double d; /* distance from the first joiner */
	uint32_t i;
};

static int
join_at_cmp(const void *a, const void *b)
{
	const struct join_at *x = a, *y = b;

	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i; /* a total order: deterministic */
}

uint64_t
sim_join_all(struct sim *s)
{
	double gap = 1000.0 / s->p.join_rate;
	uint64_t last = s->now;
	struct join_at *order = xmalloc((size_t)s->n * sizeof(*order));
	int n = 0;

	/* the mesh grows outward from where it starts, as a real one does:
	 * each joiner has hooked neighbours, so gnodes are local */
	const struct sim_node *o = NULL;
	for (int i = 0; i < s->n; i++) {
		const struct sim_node *nd = &s->nodes[i];
		if (nd->state != NODE_IDLE || nd->hostile)
			continue;
		if (o == NULL)
			o = nd;
		order[n].i = (uint32_t)i;
		order[n++].d = hypot(nd->x - o->x, nd->y - o->y);
	}
	qsort(order, (size_t)n, sizeof(*order), join_at_cmp);
	for (int k = 0; k < n; k++) {
		last = s->now + (uint64_t)((double)k * gap);
		push_simple(s, EV_JOIN, last, order[k].i);
	}
	free(order);
	return last - SIM_EPOCH_MS;
}

int
sim_kill_fraction(struct sim *s, double f, bool graceful)
{
	uint32_t *live = xmalloc((size_t)s->n * sizeof(*live));
	uint32_t n = 0;

	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].state == NODE_RUNNING)
			live[n++] = (uint32_t)i;
	uint32_t k = (uint32_t)llround(f * n);
	if (k > n)
		k = n;
	for (uint32_t j = 0; j < k; j++) {
		uint32_t r = j + rng_below(&s->rng, n - j);
		uint32_t t = live[j];
		live[j] = live[r];
		live[r] = t;
	}
	for (uint32_t j = 0; j < k; j++) {
		if (graceful)
			sim_leave(s, (int)live[j]);
		else
			sim_crash(s, (int)live[j]);
	}
	free(live);
	return (int)k;
}

void
sim_partition(struct sim *s)
{
	free(s->side_of);
	s->side_of = NULL;
	s->split = true;
}

void
sim_partition_nodes(struct sim *s, const uint8_t *side)
{
	free(s->side_of);
	s->side_of = xmalloc((size_t)s->n);
	memcpy(s->side_of, side, (size_t)s->n);
	s->split = true;
}

void
sim_heal(struct sim *s)
{
	s->split = false;
}

int
sim_running(const struct sim *s)
{
	return s->running;
}

int
sim_hooked(const struct sim *s)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].state == NODE_RUNNING &&
		    engine_hooked(s->nodes[i].e))
			n++;
	return n;
}

struct engine *
sim_engine(const struct sim *s, int i)
{
	if (i < 0 || i >= s->n)
		return NULL;
	return s->nodes[i].e;
}

void
sim_counters(const struct sim *s, struct sim_counters *c)
{
	*c = s->c;
}

uint64_t
sim_engine_sent(const struct sim *s)
{
	uint64_t n = 0;

	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].state == NODE_RUNNING)
			n += engine_stats(s->nodes[i].e)->sent;
	return n;
}

double
sim_state_bytes(const struct sim *s)
{
	double sum = 0;

	if (s->running == 0)
		return 0;
	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].state == NODE_RUNNING)
			sum += (double)engine_state_bytes(s->nodes[i].e);
	return sum / s->running;
}

/* ---- the truth and the agreement check ---- */

static int
addr_cmp(const void *a, const void *b)
{
	ovl_addr_t x = *(const ovl_addr_t *)a, y = *(const ovl_addr_t *)b;

	return x < y ? -1 : x > y;
}

static int
target_cmp(const void *a, const void *b)
{
	const struct target *x = a, *y = b;

	if (x->gnode != y->gnode)
		return x->gnode < y->gnode ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The true rounded level-1 gnode of `t`; the truth must not be empty. */
static ovl_addr_t
truth_round(const struct sim *s, ovl_addr_t t)
{
	int a = round_nearest(&s->top, ovl_id(t, 3));
	int b = round_nearest(&s->l2[a], ovl_id(t, 2));
	int c = round_nearest(&s->l1[a << 8 | b], ovl_id(t, 1));

	assert(a >= 0 && b >= 0 && c >= 0);
	return (ovl_addr_t)a << 24 | (ovl_addr_t)b << 16 | (ovl_addr_t)c << 8;
}

/* Collects the gnodes of running hooked nodes and rounds every target
 * over them; the targets end up sorted by their true gnode. */
static void
truth_build(struct sim *s)
{
	memset(&s->top, 0, sizeof(s->top));
	memset(s->l2, 0, sizeof(s->l2));
	memset(s->l1, 0, 65536 * sizeof(*s->l1));
	s->n_addrs = 0;
	s->unhooked = 0;
	for (int i = 0; i < s->n; i++) {
		const struct sim_node *nd = &s->nodes[i];
		if (nd->state != NODE_RUNNING)
			continue;
		if (!engine_hooked(nd->e)) {
			s->unhooked++;
			continue;
		}
		ovl_addr_t a = engine_addr(nd->e);
		s->addrs[s->n_addrs++] = a;
		idset_add(&s->top, ovl_id(a, 3));
		idset_add(&s->l2[ovl_id(a, 3)], ovl_id(a, 2));
		idset_add(&s->l1[a >> 16], ovl_id(a, 1));
	}
	qsort(s->addrs, (size_t)s->n_addrs, sizeof(*s->addrs), addr_cmp);
	if (s->n_addrs == 0)
		return;
	for (int k = 0; k < s->p.targets; k++)
		s->targets[k].gnode = truth_round(s, s->targets[k].addr);
	qsort(
	    s->targets, (size_t)s->p.targets, sizeof(*s->targets), target_cmp);
}

static bool
idset_eq(const struct idset *a, const struct idset *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* First target whose true gnode is >= `key`. */
static size_t
targets_lower(const struct sim *s, uint64_t key)
{
	size_t lo = 0, hi = (size_t)s->p.targets;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->targets[mid].gnode < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether view `v` rounds target k as the truth does. */
static bool
view_agrees(const struct round_view *v, const struct target *t)
{
	ovl_addr_t prefix = 0;
	int level = round_view_target(v, t->addr, NULL, &prefix);

	if (level > 0)
		return prefix == ovl_prefix(t->gnode, level);
	return level == 0 && ovl_prefix(v->self, 1) == t->gnode;
}

/* Checks one node's view against the truth and marks the targets it gets
 * wrong in s->bad, skipping those already marked; returns how many it
 * marked, stopping at the first with `first_only`.  Only targets whose
 * true path enters the highest level where the view's id set differs
 * from the truth's can come out differently, so only those are rounded. */
static int
view_check(struct sim *s, const struct round_view *v, bool first_only)
{
	ovl_addr_t self = v->self;
	uint64_t lo, width;
	int marked = 0;

	if (!idset_eq(&v->ids[3], &s->top)) {
		lo = 0;
		width = (uint64_t)1 << 32;
	} else if (!idset_eq(&v->ids[2], &s->l2[ovl_id(self, 3)])) {
		lo = ovl_prefix(self, 3);
		width = (uint64_t)1 << 24;
	} else if (!idset_eq(&v->ids[1], &s->l1[self >> 16])) {
		lo = ovl_prefix(self, 2);
		width = (uint64_t)1 << 16;
	} else
		return 0;
	size_t end = targets_lower(s, lo + width);
	for (size_t k = targets_lower(s, lo); k < end; k++) {
		if (s->bad[k] || view_agrees(v, &s->targets[k]))
			continue;
		s->bad[k] = 1;
		marked++;
		if (first_only)
			break;
	}
	return marked;
}

/* First running hooked address >= `a`. */
static int
addrs_lower(const struct sim *s, uint64_t a)
{
	int lo = 0, hi = s->n_addrs;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (s->addrs[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether node `e` counts exactly the running hooked members of its
 * level-1 gnode (itself included): its inner map has caught up with
 * crashes, leaves and joins. */
static bool
members_exact(const struct sim *s, const struct engine *e)
{
	uint64_t p = ovl_prefix(engine_addr(e), 1);

	return engine_gnode_members(e) ==
	    addrs_lower(s, p + 256) - addrs_lower(s, p);
}

bool
sim_converged(struct sim *s)
{
	truth_build(s);
	if (s->unhooked > 0 || s->n_addrs == 0)
		return false;
	memset(s->bad, 0, (size_t)s->p.targets);
	for (int i = 0; i < s->n; i++) {
		if (s->nodes[i].state != NODE_RUNNING)
			continue;
		if (!members_exact(s, s->nodes[i].e))
			return false;
		engine_round_view(s->nodes[i].e, &s->view);
		if (view_check(s, &s->view, true) > 0)
			return false;
	}
	return true;
}

int
sim_members_wrong(struct sim *s)
{
	int n = 0;

	truth_build(s);
	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].state == NODE_RUNNING &&
		    engine_hooked(s->nodes[i].e) &&
		    !members_exact(s, s->nodes[i].e))
			n++;
	return n;
}

/* Fraction of the targets on which every running hooked node agrees;
 * with `strict`, 0 as soon as a running node is not hooked. */
static double
agree_over(struct sim *s, bool strict)
{
	int bad = 0;

	truth_build(s);
	if ((strict && s->unhooked > 0) || s->n_addrs == 0)
		return 0;
	memset(s->bad, 0, (size_t)s->p.targets);
	for (int i = 0; i < s->n && bad < s->p.targets; i++) {
		if (s->nodes[i].state != NODE_RUNNING)
			continue;
		if (!engine_hooked(s->nodes[i].e))
			continue;
		engine_round_view(s->nodes[i].e, &s->view);
		bad += view_check(s, &s->view, false);
	}
	return 1.0 - (double)bad / s->p.targets;
}

double
sim_agree(struct sim *s)
{
	return agree_over(s, true);
}

double
sim_wait_converged(struct sim *s, uint64_t deadline)
{
	uint64_t start = sim_now(s);

	for (;;) {
		if (sim_converged(s))
			return (double)(sim_now(s) - start) / 1000;
		if (sim_now(s) >= deadline)
			return -1;
		uint64_t next = sim_now(s) + s->p.check_ms;
		sim_run_until(s, next < deadline ? next : deadline);
	}
}

static int
idset_count(const struct idset *set)
{
	int k = 0;

	for (int w = 0; w < 4; w++)
		k += __builtin_popcountll(set->w[w]);
	return k;
}

void
sim_gnodes(struct sim *s, int *gnodes, int *levels)
{
	int g = 0, l1 = 0, l2 = 0;

	truth_build(s);
	for (int p = 0; p < 65536; p++) {
		int k = idset_count(&s->l1[p]);
		g += k;
		l1 |= k > 1;
	}
	for (int t = 0; t < 256; t++)
		l2 |= idset_count(&s->l2[t]) > 1;
	int l3 = idset_count(&s->top);
	*gnodes = g;
	*levels = l1 + l2 + (l3 > 1);
}

int
sim_widest(struct sim *s, int *children)
{
	int widest = 0;

	truth_build(s);
	for (int a = 0; a < s->n_addrs;) {
		int b = a;
		while (b < s->n_addrs && s->addrs[b] >> 8 == s->addrs[a] >> 8)
			b++;
		widest = b - a > widest ? b - a : widest;
		a = b;
	}
	*children = 0;
	for (int p = 0; p < 65536 + 256 + 1; p++) {
		int k = idset_count(p < 65536 ? &s->l1[p] :
		    p < 65536 + 256 ? &s->l2[p - 65536] : &s->top);
		*children = k > *children ? k : *children;
	}
	return widest;
}

/* ---- probes ---- */

static size_t
probe_slot(const struct sim *s, uint32_t node, uint64_t id)
{
	uint64_t x = ((uint64_t)node << 32) ^ id;

	return (size_t)splitmix64(&x) & s->probe_mask;
}

/* Starts probe k of the batch from its node. */
static void
probe_start(struct sim *s, uint32_t k)
{
	if (s->probes == NULL || (int)k >= s->n_probes)
		return;
	struct probe_rec *r = &s->probes[k];
	struct sim_node *nd = &s->nodes[r->node];
	if (nd->state != NODE_RUNNING || !engine_hooked(nd->e)) {
		s->probes_finished++;
		return;
	}
	r->started = true;
	s->probing = (int)k;
	r->id = engine_probe(nd->e, r->target, s->now);
	s->probing = -1;
	if (!r->done) {
		size_t h = probe_slot(s, r->node, r->id);
		while (s->probe_hash[h] != 0)
			h = (h + 1) & s->probe_mask;
		s->probe_hash[h] = k + 1;
	}
	node_rearm(s, nd);
}

/* Records the outcome of a probe of the batch; late and foreign reports
 * are ignored.  A report from inside engine_probe() belongs to the probe
 * being started, whose id is not known yet. */
static void
probe_done(struct sim *s, struct sim_node *nd, const struct engine_event *ev)
{
	struct probe_rec *r = NULL;

	if (s->probes == NULL)
		return;
	for (size_t h = probe_slot(s, nd->idx, ev->id); s->probe_hash[h] != 0;
	     h = (h + 1) & s->probe_mask) {
		struct probe_rec *c = &s->probes[s->probe_hash[h] - 1];
		if (c->node == nd->idx && c->id == ev->id) {
			r = c;
			break;
		}
	}
	if (r == NULL && s->probing >= 0 &&
	    s->probes[s->probing].node == nd->idx)
		r = &s->probes[s->probing];
	if (r == NULL || r->done)
		return;
	r->done = true;
	r->status = ev->status;
	r->addr = ev->addr;
	r->hops = ev->hops;
	s->probes_finished++;
}

static bool
addr_running(const struct sim *s, ovl_addr_t a)
{
	return bsearch(&a, s->addrs, (size_t)s->n_addrs, sizeof(*s->addrs),
		   addr_cmp) != NULL;
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* Value at quantile q of sorted v[0..n-1] (nearest rank). */
static int
quantile(const int *v, int n, double q)
{
	int rank = (int)ceil(q * n);

	return v[rank < 1 ? 0 : rank - 1];
}

static void
probes_score(struct sim *s, struct sim_probe_result *out)
{
	int *hops = xmalloc((size_t)s->n_probes * sizeof(*hops));

	for (int k = 0; k < s->n_probes; k++) {
		const struct probe_rec *r = &s->probes[k];
		out->sent += r->started;
		out->done += r->done;
		if (!r->started)
			continue;
		if (!r->done)
			out->timeouts++;
		else if (r->status != 0)
			out->errors++;
		else if (!addr_running(s, r->addr))
			out->dead_responder++;
		else if (ovl_prefix(r->addr, 1) != truth_round(s, r->target))
			out->wrong_gnode++;
		else
			hops[out->ok++] = r->hops;
	}
	out->success = out->sent > 0 ? (double)out->ok / out->sent : 0;
	if (out->ok > 0) {
		qsort(hops, (size_t)out->ok, sizeof(*hops), int_cmp);
		out->hops_p50 = quantile(hops, out->ok, 0.5);
		out->hops_p99 = quantile(hops, out->ok, 0.99);
		out->hops_max = hops[out->ok - 1];
	}
	free(hops);
}

int
sim_probes(
    struct sim *s, int n, uint32_t spread_ms, struct sim_probe_result *out)
{
	uint32_t *from = NULL;
	int nfrom = 0, err = 0;

	memset(out, 0, sizeof(*out));
	out->hops_p50 = out->hops_p99 = out->hops_max = -1;
	truth_build(s);
	if (n <= 0 || s->n_addrs == 0)
		return 0;
	from = malloc((size_t)s->n * sizeof(*from));
	s->probes = calloc((size_t)n, sizeof(*s->probes));
	for (s->probe_mask = 1; s->probe_mask < 2 * (size_t)n;)
		s->probe_mask <<= 1;
	s->probe_hash = calloc(s->probe_mask, sizeof(*s->probe_hash));
	s->probe_mask--;
	if (from == NULL || s->probes == NULL || s->probe_hash == NULL) {
		err = ANDNA_ENOMEM;
		goto out;
	}
	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].state == NODE_RUNNING &&
		    engine_hooked(s->nodes[i].e))
			from[nfrom++] = (uint32_t)i;
	s->n_probes = n;
	s->probes_finished = 0;
	s->probing = -1;
	for (int k = 0; k < n; k++) {
		struct probe_rec *r = &s->probes[k];
		r->node = from[rng_below(&s->rng, (uint32_t)nfrom)];
		r->target = (ovl_addr_t)rng_next(&s->rng);
		uint64_t at = spread_ms ? rng_below(&s->rng, spread_ms) : 0;
		push_simple(s, EV_PROBE, s->now + at, (uint32_t)k);
	}
	const struct engine_config *ec = &s->p.engine;
	uint64_t end = sim_now(s) + spread_ms + 5000 +
	    (uint64_t)ec->request_timeout_ms *
		(uint64_t)(ec->request_tries > 0 ? ec->request_tries : 1);
	while (s->probes_finished < n && sim_now(s) < end)
		sim_run_until(s, sim_now(s) + PROBE_POLL_MS);
	probes_score(s, out);
out:
	free(from);
	free(s->probes);
	free(s->probe_hash);
	s->probes = NULL;
	s->probe_hash = NULL;
	s->n_probes = 0;
	return err;
}

/* ---- nodes one by one ---- */

void
sim_join(struct sim *s, int i)
{
	/* a node down comes back by itself */
	if (i < 0 || i >= s->n || s->nodes[i].state == NODE_RUNNING ||
	    s->nodes[i].state == NODE_DOWN)
		return;
	s->nodes[i].state = NODE_IDLE; /* a stopped node comes back afresh */
	node_join(s, (uint32_t)i);
}

void
sim_node_endpoint(const struct sim *s, int i, struct endpoint *ep)
{
	node_ep(s, (uint32_t)i, ep);
}

void
sim_node_key(const struct sim *s, int i, struct keypair *kp)
{
	node_key(s, (uint32_t)i, kp);
}

struct store *
sim_store(const struct sim *s, int i)
{
	if (i < 0 || i >= s->n || s->nodes[i].state != NODE_RUNNING)
		return NULL;
	return s->nodes[i].st;
}

void
sim_set_filter(struct sim *s, sim_filter_fn *fn, void *arg)
{
	s->filter = fn;
	s->filter_arg = arg;
}

void
sim_set_tap(struct sim *s, sim_tap_fn *fn, void *arg)
{
	s->tap = fn;
	s->tap_arg = arg;
}

const struct sim_params *
sim_config(const struct sim *s)
{
	return &s->p;
}

int
sim_hostile_place(struct sim *s, int i, int at, const struct endpoint *ep)
{
	struct endpoint own;

	if (i < s->p.nodes || i >= s->n || at < 0 || at >= s->n ||
	    s->nodes[i].state == NODE_RUNNING || s->nodes[i].state == NODE_DOWN)
		return ANDNA_EINVAL;
	node_endpoint((uint32_t)i, &own);
	if (ep == NULL)
		ep = &own;
	int d = endpoint_node(s, ep);
	if ((ep->family != 4 && ep->family != 6) || (d >= 0 && d != i))
		return ANDNA_EINVAL;
	s->hostile_ep[i - s->p.nodes] = *ep;
	s->nodes[i].x = s->nodes[at].x;
	s->nodes[i].y = s->nodes[at].y;
	return 0;
}

void
sim_inject(struct sim *s, int from, int to, const uint8_t *buf, size_t len)
{
	if (from < 0 || from >= s->n || to < 0 || to >= s->n ||
	    len > UINT32_MAX)
		return;
	deliver_schedule(
	    s, &s->nodes[from], &s->nodes[to], buf, len, len >= SIM_STREAM_MIN);
}

/* ---- names ---- */

/* The 8-byte name hash the store keys records by. */
/* ---- generated names ---- */

/* The stream of name k: a pure function of the seed and k. */
static uint64_t
name_stream(const struct sim *s, int k)
{
	return s->p.seed ^ 0x6e616d6573ULL ^
	    ((uint64_t)(uint32_t)k * 0xd1b54a32d192ed03ULL);
}

void
sim_name_gen(const struct sim *s, int k, char name[ANDNA_NAME_MAX + 1],
    struct record_entry *entries, int *n_entries)
{
	static const struct {
		uint16_t port;
		uint8_t proto;
	} svc[] = {{80, RECORD_PROTO_TCP}, {443, RECORD_PROTO_TCP},
	    {53, RECORD_PROTO_UDP}, {5060, RECORD_PROTO_UDP}};
	uint64_t x = name_stream(s, k);
	uint64_t u = splitmix64(&x);

	snprintf(name, ANDNA_NAME_MAX + 1, "n%d-%08x.sim", k, (uint32_t)u);
	*n_entries = 1 + (int)((u >> 32) % SIM_NAME_ENTRIES_MAX);
	for (int j = 0; j < *n_entries; j++) {
		struct record_entry *e = &entries[j];
		uint64_t v = splitmix64(&x), w = splitmix64(&x);
		memset(e, 0, sizeof(*e));
		/* the first entry is the host; a quarter of the others a
		 * service */
		if (j > 0 && v % 4 == 0) {
			e->service = svc[(v >> 8) % 4].port;
			e->proto = svc[(v >> 8) % 4].proto;
		}
		e->priority = (uint16_t)(10 + 10 * ((v >> 16) % 2));
		e->weight = (uint16_t)(1 + (v >> 24) % 10);
		if ((v >> 32) % 4 == 0) { /* a quarter IPv6 */
			e->kind = RECORD_TARGET_IPV6;
			e->target.ip[0] = 0xfd;
			memcpy(e->target.ip + 1, &w, 8);
			memcpy(e->target.ip + 9, &v, 7);
		} else {
			e->kind = RECORD_TARGET_IPV4;
			e->target.ip[0] = 10;
			memcpy(e->target.ip + 1, &w, 3);
		}
	}
}

void
sim_name_owner(const struct sim *s, int k, struct keypair *kp)
{
	uint8_t in[24] = "andna-sim-owner";
	uint8_t seed[ANDNA_HASH_LEN];
	uint64_t x = name_stream(s, k);

	for (int b = 0; b < 8; b++)
		in[16 + b] = (uint8_t)(x >> (8 * b));
	hash_blake2b(seed, in, sizeof(in));
	keypair_from_seed(kp, seed);
	sodium_memzero(seed, sizeof(seed));
}

static bool
entry_same(const struct record_entry *a, const struct record_entry *b)
{
	if (a->service != b->service || a->proto != b->proto ||
	    a->priority != b->priority || a->weight != b->weight ||
	    a->kind != b->kind)
		return false;
	switch (a->kind) {
	case RECORD_TARGET_IPV4:
		return memcmp(a->target.ip, b->target.ip, 4) == 0;
	case RECORD_TARGET_IPV6:
		return memcmp(a->target.ip, b->target.ip, 16) == 0;
	default:
		return strcmp(a->target.name, b->target.name) == 0;
	}
}

/* Whether `rec` is exactly what generated name k was registered with:
 * its name, its owner and its whole address set, under a valid
 * signature. */
static bool
resolved_right(const struct sim *s, int k, const struct record *rec)
{
	char name[ANDNA_NAME_MAX + 1];
	struct record_entry want[SIM_NAME_ENTRIES_MAX];
	int n;

	sim_name_gen(s, k, name, want, &n);
	if (strcmp(rec->name, name) != 0 ||
	    memcmp(rec->owner, s->names[k].pk, ANDNA_PK_LEN) != 0 ||
	    rec->n_entries != n ||
	    record_verify_with(rec, sigmemo_verify, s->memo) != 0)
		return false;
	for (int j = 0; j < n; j++)
		if (!entry_same(&rec->entries[j], &want[j]))
			return false;
	return true;
}

/* Generates names up to `upto` (exclusive). */
static int
names_grow(struct sim *s, int upto)
{
	if (upto <= s->n_names)
		return 0;
	struct name_info *v = realloc(s->names, (size_t)upto * sizeof(*v));
	if (v == NULL)
		return ANDNA_ENOMEM;
	s->names = v;
	for (int k = s->n_names; k < upto; k++) {
		char name[ANDNA_NAME_MAX + 1];
		struct record_entry ents[SIM_NAME_ENTRIES_MAX];
		struct keypair kp;
		int n;
		sim_name_gen(s, k, name, ents, &n);
		sim_name_owner(s, k, &kp);
		v[k].h8 = name_hash8(name);
		v[k].target = name_hash(name);
		memcpy(v[k].pk, kp.pk, ANDNA_PK_LEN);
		v[k].status = 1;
		keypair_wipe(&kp);
	}
	s->n_names = upto;
	return 0;
}

/* ---- batches of name-service requests ---- */

static size_t
op_slot(const struct sim *s, uint32_t node, uint64_t id)
{
	uint64_t x = ((uint64_t)node << 32) ^ id ^ 0x6f7073ULL;

	return (size_t)splitmix64(&x) & s->op_mask;
}

static int
batch_new(struct sim *s, int n)
{
	s->ops = calloc((size_t)n, sizeof(*s->ops));
	for (s->op_mask = 1; s->op_mask < 2 * (size_t)n;)
		s->op_mask <<= 1;
	s->op_hash = calloc(s->op_mask, sizeof(*s->op_hash));
	s->op_mask--;
	s->n_ops = n;
	s->ops_finished = 0;
	s->op_starting = -1;
	if (s->ops == NULL || s->op_hash == NULL)
		return ANDNA_ENOMEM;
	return 0;
}

static void
batch_free(struct sim *s)
{
	for (int k = 0; s->ops != NULL && k < s->n_ops; k++)
		record_free(s->ops[k].rec);
	free(s->ops);
	free(s->op_hash);
	s->ops = NULL;
	s->op_hash = NULL;
	s->n_ops = 0;
}

static void
op_finish(struct sim *s, struct ns_op *op, int status)
{
	op->done = true;
	op->status = status;
	s->ops_finished++;
}

/* Deep copy of a record, or NULL. */
static struct record *
record_dup(const struct record *r)
{
	uint8_t *buf = xmalloc(RECORD_WIRE_MAX);
	struct record *out = NULL;
	size_t len;

	if (record_encode(r, buf, RECORD_WIRE_MAX, &len) != 0 ||
	    record_decode(buf, len, &out) != 0)
		out = NULL;
	free(buf);
	return out;
}

/* Makes request k of the batch to its node's engine. */
static void
op_start(struct sim *s, uint32_t k)
{
	char name[ANDNA_NAME_MAX + 1];
	struct record_entry ents[SIM_NAME_ENTRIES_MAX];
	const struct record_entry *e = s->one.entries;
	int n = s->one.n_entries;
	const char *nm = NULL;
	struct keypair kp;
	uint64_t id = 0;
	int rc;

	if (s->ops == NULL || (int)k >= s->n_ops)
		return;
	struct ns_op *op = &s->ops[k];
	struct sim_node *nd = &s->nodes[op->node];
	op->started = true;
	if (nd->state != NODE_RUNNING) {
		op_finish(s, op, ANDNA_EINVAL);
		return;
	}
	if (op->name >= 0) {
		sim_name_gen(s, op->name, name, ents, &n);
		nm = name;
		e = ents;
	} else
		nm = op->text != NULL ? op->text : s->one.name;
	s->op_starting = (int)k;
	switch (op->kind) {
	case OP_REGISTER:
		if (op->name >= 0) {
			sim_name_owner(s, op->name, &kp);
			rc = engine_register(
			    nd->e, nm, e, n, 0, &kp, s->now, &id);
			keypair_wipe(&kp);
		} else
			rc = engine_register(nd->e, nm, e, n, s->one.ttl,
			    s->one.owner, s->now, &id);
		break;
	case OP_RELEASE:
		rc = engine_release(nd->e, nm, s->now, &id);
		break;
	default:
		rc = engine_resolve(nd->e, nm, s->now, &id);
		break;
	}
	s->op_starting = -1;
	if (rc != 0) {
		op->refused = true;
		if (!op->done) {
			op_finish(s, op, rc);
			if (op->kind == OP_REGISTER && op->name >= 0)
				s->names[op->name].status = rc;
		}
	} else if (!op->done) {
		op->id = id;
		size_t h = op_slot(s, op->node, id);
		while (s->op_hash[h] != 0)
			h = (h + 1) & s->op_mask;
		s->op_hash[h] = k + 1;
	}
	node_rearm(s, nd);
}

/* An engine reported the outcome of a request: of the batch if it is one
 * of it (a report from inside the engine call belongs to the request
 * being made, whose id is not known yet), else it is ignored. */
static void
op_event(struct sim *s, struct sim_node *nd, const struct engine_event *ev)
{
	struct ns_op *op = NULL;

	if (s->ops == NULL)
		return;
	for (size_t h = op_slot(s, nd->idx, ev->id); s->op_hash[h] != 0;
	     h = (h + 1) & s->op_mask) {
		struct ns_op *c = &s->ops[s->op_hash[h] - 1];
		if (c->node == nd->idx && c->id == ev->id) {
			op = c;
			break;
		}
	}
	if (op == NULL && s->op_starting >= 0 &&
	    s->ops[s->op_starting].node == nd->idx)
		op = &s->ops[s->op_starting];
	if (op == NULL || op->done ||
	    (op->kind == OP_RESOLVE) != (ev->type == ENGINE_EV_RESOLVE_DONE))
		return;
	op->queue_pos = ev->queue_pos;
	op->life_s = ev->life_s;
	op->ttl_s = ev->ttl_s;
	/* what the engine measured: the simulator takes no shortcut */
	op->ms = ev->rtt_ms;
	if (op->kind == OP_RESOLVE) {
		op->hops = ev->hops;
		op->asked = ev->asked;
		if (ev->status == 0 && ev->rec != NULL) {
			if (op->name >= 0)
				op->ok = resolved_right(s, op->name, ev->rec);
			else
				op->rec = record_dup(ev->rec);
		}
	} else if (op->name >= 0)
		s->names[op->name].status = ev->status;
	op_finish(s, op, ev->status);
}

/* How long after its start a request surely has its outcome: every try
 * of the engine, a neighbour's wait, and room for slow routes. */
static uint64_t
op_slack(const struct sim *s)
{
	const struct engine_config *c = &s->p.engine;
	uint64_t tries = c->request_tries > 0 ? (uint64_t)c->request_tries : 1;

	return 2 * (uint64_t)c->request_timeout_ms * (tries + 1) + 10000;
}

/* Runs until every request of the batch ended or `end` (simulated ms). */
static void
batch_run(struct sim *s, uint64_t end, uint64_t step)
{
	while (s->ops_finished < s->n_ops && sim_now(s) < end)
		sim_run_until(s, sim_now(s) + step);
}

/* Hooked running nodes, into `from` (room for s->n); returns how many. */
static int
hooked_nodes(const struct sim *s, uint32_t *from)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].state == NODE_RUNNING &&
		    engine_hooked(s->nodes[i].e))
			from[n++] = (uint32_t)i;
	return n;
}

/* ---- one request at a time ---- */

void
sim_ns_result_fini(struct sim_ns_result *r)
{
	record_free(r->rec);
	r->rec = NULL;
}

static int
one_op(struct sim *s, int i, uint8_t kind, const char *name,
    const struct record_entry *entries, int n_entries, uint32_t ttl,
    const struct keypair *owner, struct sim_ns_result *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->status = ANDNA_ETIMEOUT;
	if (i < 0 || i >= s->n || s->nodes[i].state != NODE_RUNNING ||
	    s->ops != NULL)
		return ANDNA_EINVAL;
	if ((err = batch_new(s, 1)) != 0) {
		batch_free(s);
		return err;
	}
	s->one = (struct one_req){name, entries, n_entries, ttl, owner};
	struct ns_op *op = &s->ops[0];
	op->node = (uint32_t)i;
	op->name = -1;
	op->kind = kind;
	op_start(s, 0);
	if (op->refused)
		err = op->status;
	else {
		batch_run(s, sim_now(s) + op_slack(s), 10);
		if (op->done) {
			out->status = op->status;
			out->ms = op->ms;
		}
		out->queue_pos = op->queue_pos;
		out->life_s = op->life_s;
		out->ttl_s = op->ttl_s;
		out->hops = op->hops;
		out->rec = op->rec;
		op->rec = NULL;
	}
	s->one = (struct one_req){0};
	batch_free(s);
	return err;
}

int
sim_register(struct sim *s, int i, const char *name,
    const struct record_entry *entries, int n_entries,
    const struct keypair *owner, struct sim_ns_result *out)
{
	return sim_register_ttl(s, i, name, entries, n_entries, 0, owner, out);
}

int
sim_register_ttl(struct sim *s, int i, const char *name,
    const struct record_entry *entries, int n_entries, uint32_t ttl,
    const struct keypair *owner, struct sim_ns_result *out)
{
	return one_op(
	    s, i, OP_REGISTER, name, entries, n_entries, ttl, owner, out);
}

int
sim_start_register(struct sim *s, int i, const char *name,
    const struct record_entry *entries, int n_entries,
    const struct keypair *owner)
{
	uint64_t id;

	if (i < 0 || i >= s->n || s->nodes[i].state != NODE_RUNNING)
		return ANDNA_EINVAL;
	int rc = engine_register(s->nodes[i].e, name, entries, n_entries, 0, owner,
	    s->now, &id);
	node_rearm(s, &s->nodes[i]);
	return rc;
}

int
sim_release(struct sim *s, int i, const char *name, struct sim_ns_result *out)
{
	return one_op(s, i, OP_RELEASE, name, NULL, 0, 0, NULL, out);
}

int
sim_resolve(struct sim *s, int i, const char *name, struct sim_ns_result *out)
{
	return one_op(s, i, OP_RESOLVE, name, NULL, 0, 0, NULL, out);
}

int
sim_resolve_many(struct sim *s, int n, const int *nodes,
    const char *const *names, uint32_t spread_ms, struct sim_ns_result *out)
{
	int err;

	for (int k = 0; k < n; k++) {
		memset(&out[k], 0, sizeof(out[k]));
		out[k].status = ANDNA_ETIMEOUT;
	}
	if (n <= 0)
		return 0;
	if (s->ops != NULL)
		return ANDNA_EINVAL;
	if ((err = batch_new(s, n)) != 0) {
		batch_free(s);
		return err;
	}
	for (int k = 0; k < n; k++) {
		struct ns_op *op = &s->ops[k];
		op->kind = OP_RESOLVE;
		op->name = -1;
		op->text = names[k];
		op->node = nodes[k] >= 0 && nodes[k] < s->n ? (uint32_t)nodes[k]
							    : 0;
		if (nodes[k] < 0 || nodes[k] >= s->n)
			op_finish(s, op, ANDNA_EINVAL);
		else
			push_simple(s, EV_NSOP,
			    s->now + (uint64_t)spread_ms * (uint64_t)k /
				(uint64_t)n,
			    (uint32_t)k);
	}
	batch_run(s, sim_now(s) + spread_ms + op_slack(s), PROBE_POLL_MS);
	for (int k = 0; k < n; k++) {
		struct ns_op *op = &s->ops[k];
		if (op->done)
			out[k].status = op->status;
		out[k].ms = op->ms;
		out[k].ttl_s = op->ttl_s;
		out[k].hops = op->hops;
		out[k].rec = op->rec;
		op->rec = NULL;
	}
	batch_free(s);
	return 0;
}

int
sim_names_count(const struct sim *s)
{
	return s->n_names;
}

int
sim_name_status(const struct sim *s, int k)
{
	return k >= 0 && k < s->n_names ? s->names[k].status : ANDNA_EINVAL;
}

uint64_t
sim_clock(const struct sim *s)
{
	return s->now;
}

/* ---- copies in the stores ---- */

/* The true backup gnode of target `t` whose hash gnode is `g`: where `t`
 * rounds with `g` left out (its parents too when it is their only
 * child); UINT32_MAX when `g` is the only gnode. */
static ovl_addr_t
truth_backup(const struct sim *s, ovl_addr_t t, ovl_addr_t g)
{
	int A = ovl_id(g, 3), B = ovl_id(g, 2), C = ovl_id(g, 1);
	bool only1 = idset_count(&s->l1[A << 8 | B]) == 1;
	bool only2 = idset_count(&s->l2[A]) == 1;
	struct idset v = s->top;

	if (only1 && only2)
		v.w[A >> 6] &= ~((uint64_t)1 << (A & 63));
	int a = round_nearest(&v, ovl_id(t, 3));
	if (a < 0)
		return UINT32_MAX;
	v = s->l2[a];
	if (a == A && only1)
		v.w[B >> 6] &= ~((uint64_t)1 << (B & 63));
	int b = round_nearest(&v, ovl_id(t, 2));
	if (b < 0)
		return UINT32_MAX;
	v = s->l1[a << 8 | b];
	if (a == A && b == B)
		v.w[C >> 6] &= ~((uint64_t)1 << (C & 63));
	int c = round_nearest(&v, ovl_id(t, 1));
	if (c < 0)
		return UINT32_MAX;
	return (ovl_addr_t)a << 24 | (ovl_addr_t)b << 16 | (ovl_addr_t)c << 8;
}

/* Running hooked nodes in the level-1 gnode `prefix` (truth built). */
static int
gnode_members(const struct sim *s, ovl_addr_t prefix)
{
	return addrs_lower(s, (uint64_t)prefix + 256) - addrs_lower(s, prefix);
}

/* One node's records met by sim_names_copies(). */
struct copy_walk {
	const struct sim *s;
	const uint32_t *tab; /* name index + 1 by h8, 0 empty */
	size_t mask;
	uint32_t *copies, *prim, *back;
	const ovl_addr_t *g, *b;
	ovl_addr_t self; /* the node's level-1 prefix, UINT32_MAX unhooked */
	long stray;
	double bytes;
};

static int
copy_cb(void *arg, const struct store_record *r)
{
	struct copy_walk *w = arg;
	uint64_t x = r->h8;

	if (r->expires_at <= w->s->now)
		return 0;
	w->bytes += (double)r->rec_len;
	for (size_t h = (size_t)splitmix64(&x) & w->mask; w->tab[h] != 0;
	     h = (h + 1) & w->mask) {
		uint32_t k = w->tab[h] - 1;
		if (w->s->names[k].h8 != r->h8 ||
		    memcmp(w->s->names[k].pk, r->pk, ANDNA_PK_LEN) != 0)
			continue;
		w->copies[k]++;
		if (w->self == UINT32_MAX)
			break;
		if (w->self == w->g[k])
			w->prim[k]++;
		else if (w->self == w->b[k])
			w->back[k]++;
		else
			w->stray++;
		break;
	}
	return 0;
}

void
sim_names_copies(struct sim *s, struct sim_names_result *out)
{
	int M = s->n_names;
	size_t mask = 1;

	out->copies_min = -1;
	out->copies_mean = -1;
	out->missing = out->missing_backup = out->stray = -1;
	out->bytes_records_max = out->bytes_records_mean = -1;
	truth_build(s);
	if (s->n_addrs == 0 || M == 0)
		return;
	while (mask < 2 * (size_t)M)
		mask <<= 1;
	uint32_t *tab = calloc(mask, sizeof(*tab));
	uint32_t *cnt = calloc(3 * (size_t)M, sizeof(*cnt));
	ovl_addr_t *gb = malloc(2 * (size_t)M * sizeof(*gb));
	if (tab == NULL || cnt == NULL || gb == NULL)
		out_of_memory();
	mask--;
	struct copy_walk w = {.s = s,
	    .tab = tab,
	    .mask = mask,
	    .copies = cnt,
	    .prim = cnt + M,
	    .back = cnt + 2 * M,
	    .g = gb,
	    .b = gb + M};
	for (int k = 0; k < M; k++) {
		uint64_t x = s->names[k].h8;
		size_t h = (size_t)splitmix64(&x) & mask;
		while (tab[h] != 0)
			h = (h + 1) & mask;
		tab[h] = (uint32_t)k + 1;
		gb[k] = truth_round(s, s->names[k].target);
		gb[M + k] = truth_backup(s, s->names[k].target, gb[k]);
	}
	double bytes_sum = 0, bytes_max = 0;
	for (int i = 0; i < s->n; i++) {
		struct sim_node *nd = &s->nodes[i];
		struct store_txn *t = NULL;
		struct store_pos pos = {0};
		if (nd->state != NODE_RUNNING ||
		    store_txn_begin(nd->st, false, &t) != 0)
			continue;
		w.self = engine_hooked(nd->e)
		    ? ovl_prefix(engine_addr(nd->e), 1)
		    : UINT32_MAX;
		w.bytes = 0;
		store_record_range(t, 0, UINT64_MAX, &pos, 0, copy_cb, &w);
		store_txn_abort(t);
		bytes_sum += w.bytes;
		if (w.bytes > bytes_max)
			bytes_max = w.bytes;
	}
	long missing = 0, missing_b = 0;
	double sum = 0;
	int min = INT32_MAX;
	for (int k = 0; k < M; k++) {
		int have = (int)w.copies[k];
		sum += have;
		min = have < min ? have : min;
		missing += gnode_members(s, gb[k]) - (long)w.prim[k];
		if (gb[M + k] != UINT32_MAX)
			missing_b +=
			    gnode_members(s, gb[M + k]) - (long)w.back[k];
	}
	out->copies_min = min;
	out->copies_mean = sum / M;
	out->missing = missing;
	out->missing_backup = missing_b;
	out->stray = w.stray;
	out->bytes_records_max = bytes_max;
	out->bytes_records_mean = s->running > 0 ? bytes_sum / s->running : 0;
	free(tab);
	free(cnt);
	free(gb);
}

/* What the per-name counters below look for in one store. */
struct find {
	const uint8_t *pk;
	uint64_t now;
	bool hit;
};

static int
claim_hit_cb(void *arg, const struct store_claim *c)
{
	struct find *f = arg;

	if (c->expires_at > f->now && memcmp(c->pk, f->pk, ANDNA_PK_LEN) == 0)
		f->hit = true;
	return f->hit;
}

static int
tally_hit_cb(void *arg, const struct store_counter *c)
{
	struct find *f = arg;

	f->hit = f->hit || c->expires_at > f->now;
	return f->hit;
}

enum find_kind { FIND_RECORD, FIND_CLAIM, FIND_TALLY };

/* Running nodes whose store holds what `kind` says. */
static int
count_nodes(
    struct sim *s, enum find_kind kind, const char *name, const uint8_t *pk)
{
	uint64_t h8 = name != NULL ? name_hash8(name) : 0;
	int n = 0;

	for (int i = 0; i < s->n; i++) {
		struct store_txn *t = NULL;
		struct store_record r;
		struct find f = {.pk = pk, .now = s->now};
		if (s->nodes[i].state != NODE_RUNNING ||
		    store_txn_begin(s->nodes[i].st, false, &t) != 0)
			continue;
		if (kind == FIND_RECORD)
			f.hit = store_record_get(t, h8, name, &r) == 0 &&
			    r.expires_at > s->now &&
			    !(r.flags & STORE_REC_RELEASED) &&
			    (pk == NULL || memcmp(r.pk, pk, ANDNA_PK_LEN) == 0);
		else if (kind == FIND_CLAIM)
			store_claim_list(t, h8, name, claim_hit_cb, &f);
		else
			store_counter_each(t, pk, tally_hit_cb, &f);
		store_txn_abort(t);
		n += f.hit;
	}
	return n;
}

int
sim_record_copies(struct sim *s, const char *name, const uint8_t *owner)
{
	return count_nodes(s, FIND_RECORD, name, owner);
}

int
sim_claim_copies(
    struct sim *s, const char *name, const uint8_t claimant[ANDNA_PK_LEN])
{
	return count_nodes(s, FIND_CLAIM, name, claimant);
}

int
sim_tally_copies(struct sim *s, const uint8_t owner[ANDNA_PK_LEN])
{
	return count_nodes(s, FIND_TALLY, NULL, owner);
}

ovl_addr_t
sim_round_target(struct sim *s, ovl_addr_t target)
{
	truth_build(s);
	return s->n_addrs == 0 ? UINT32_MAX : truth_round(s, target);
}

int
sim_hash_gnode(
    struct sim *s, const char *name, ovl_addr_t *gnode, ovl_addr_t *backup)
{
	ovl_addr_t t = name_hash(name);

	truth_build(s);
	*gnode = 0;
	if (backup != NULL)
		*backup = UINT32_MAX;
	if (s->n_addrs == 0)
		return -1;
	*gnode = truth_round(s, t);
	if (backup != NULL)
		*backup = truth_backup(s, t, *gnode);
	return gnode_members(s, *gnode);
}

/* ---- the names phase ---- */

static void
names_result_init(struct sim_names_result *r)
{
	memset(r, 0, sizeof(*r));
	r->resolve_success = -1;
	r->hops_p50 = r->hops_p99 = r->hops_max = -1;
	r->ms_p50 = r->ms_p99 = -1;
	r->asked_p50 = r->asked_p99 = -1;
	r->copies_min = -1;
	r->copies_mean = -1;
	r->missing = r->missing_backup = r->stray = -1;
	r->bytes_records_max = r->bytes_records_mean = -1;
}

/* The name counts of `r`. */
static void
names_count(const struct sim *s, struct sim_names_result *r)
{
	r->names = s->n_names;
	r->registered = r->reg_failed = 0;
	for (int k = 0; k < s->n_names; k++) {
		r->registered += s->names[k].status == 0;
		r->reg_failed += s->names[k].status < 0;
	}
}

int
sim_names_register(struct sim *s, int first, int n, uint32_t spread_ms,
    struct sim_names_result *out)
{
	uint32_t *from = NULL;
	int nfrom, err;

	names_result_init(out);
	if (first < 0 || first > s->n_names || n < 0)
		return ANDNA_EINVAL;
	if ((err = names_grow(s, first + n)) != 0)
		return err;
	from = malloc((size_t)s->n * sizeof(*from));
	if (from == NULL)
		return ANDNA_ENOMEM;
	nfrom = hooked_nodes(s, from);
	if (n > 0 && nfrom > 0 && (err = batch_new(s, n)) == 0) {
		for (int k = 0; k < n; k++) {
			struct ns_op *op = &s->ops[k];
			op->kind = OP_REGISTER;
			op->name = first + k;
			op->node = from[rng_below(&s->rng, (uint32_t)nfrom)];
			uint64_t at =
			    spread_ms ? rng_below(&s->rng, spread_ms) : 0;
			push_simple(s, EV_NSOP, s->now + at, (uint32_t)k);
		}
		batch_run(
		    s, sim_now(s) + spread_ms + op_slack(s), PROBE_POLL_MS);
	}
	batch_free(s);
	free(from);
	names_count(s, out);
	return err;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The figures of the resolve batch that just ran. */
static void
names_score(struct sim *s, struct sim_names_result *out)
{
	int *hops = xmalloc((size_t)s->n_ops * sizeof(*hops));
	int *asked = xmalloc((size_t)s->n_ops * sizeof(*asked));
	uint32_t *ms = xmalloc((size_t)s->n_ops * sizeof(*ms));
	int ok = 0;

	out->resolves = 0;
	for (int k = 0; k < s->n_ops; k++) {
		const struct ns_op *op = &s->ops[k];
		if (!op->started)
			continue;
		out->resolves++;
		if (!op->done)
			out->timeouts++;
		else if (op->status != 0)
			out->errors++;
		else if (!op->ok)
			out->wrong++;
		else {
			hops[ok] = op->hops;
			asked[ok] = op->asked;
			ms[ok++] = op->ms;
		}
	}
	out->resolve_success =
	    out->resolves > 0 ? (double)ok / out->resolves : -1;
	if (ok > 0) {
		qsort(hops, (size_t)ok, sizeof(*hops), int_cmp);
		qsort(ms, (size_t)ok, sizeof(*ms), u32_cmp);
		out->hops_p50 = quantile(hops, ok, 0.5);
		out->hops_p99 = quantile(hops, ok, 0.99);
		out->hops_max = hops[ok - 1];
		qsort(asked, (size_t)ok, sizeof(*asked), int_cmp);
		out->asked_p50 = quantile(asked, ok, 0.5);
		out->asked_p99 = quantile(asked, ok, 0.99);
		int r50 = (int)ceil(0.5 * ok), r99 = (int)ceil(0.99 * ok);
		out->ms_p50 = ms[r50 < 1 ? 0 : r50 - 1];
		out->ms_p99 = ms[r99 < 1 ? 0 : r99 - 1];
	}
	free(hops);
	free(asked);
	free(ms);
}

int
sim_names_resolve(
    struct sim *s, int n, uint32_t spread_ms, struct sim_names_result *out)
{
	uint32_t *from = NULL;
	int nfrom, err = 0;

	names_result_init(out);
	names_count(s, out);
	if (n <= 0 || s->n_names == 0)
		goto copies;
	bool each = n >= s->n_names;
	if (each)
		n = s->n_names;
	from = malloc((size_t)s->n * sizeof(*from));
	if (from == NULL)
		return ANDNA_ENOMEM;
	nfrom = hooked_nodes(s, from);
	if (nfrom > 0 && (err = batch_new(s, n)) == 0) {
		for (int k = 0; k < n; k++) {
			struct ns_op *op = &s->ops[k];
			op->kind = OP_RESOLVE;
			op->name = each
			    ? k
			    : (int32_t)rng_below(&s->rng, (uint32_t)s->n_names);
			op->node = from[rng_below(&s->rng, (uint32_t)nfrom)];
			uint64_t at =
			    spread_ms ? rng_below(&s->rng, spread_ms) : 0;
			push_simple(s, EV_NSOP, s->now + at, (uint32_t)k);
		}
		batch_run(
		    s, sim_now(s) + spread_ms + op_slack(s), PROBE_POLL_MS);
		names_score(s, out);
	}
	batch_free(s);
	free(from);
	if (err != 0)
		return err;
copies:
	sim_names_copies(s, out);
	return 0;
}

/* ---- set-up ---- */

void
sim_params_defaults(struct sim_params *p)
{
	memset(p, 0, sizeof(*p));
	p->nodes = 1000;
	p->seed = 1;
	engine_config_defaults(&p->engine);
	p->engine.gnode_size = 16;
	/* simulated nodes do not forge envelopes; signatures would cost 90%
	 * of the CPU (andna-sim --signatures brings them back) */
	p->engine.seal = MSG_SEAL_DIGEST;
	p->targets = 10000;
	p->check_ms = 1000;
	p->steady_ms = 30000;
	p->probes = 10000;
	p->probe_spread_ms = 5000;
	p->max_time_ms = 1200000;
	p->resolves = 10000;
}

int
sim_params_check(const struct sim_params *p, const char **why)
{
	*why = NULL;
	if (p->nodes < 1 || p->nodes > SIM_NODES_MAX)
		*why = "nodes must be 1..1000000";
	else if (p->engine.gnode_size < 2 || p->engine.gnode_size > 256)
		*why = "gnode size must be 2..256";
	else if (!(p->loss >= 0 && p->loss < 1))
		*why = "loss must be at least 0 and below 1";
	else if (!(p->join_rate >= 0 && p->join_rate <= 1e6))
		*why = "join rate must be 0 (auto) or up to 1000000 per second";
	else if (!(p->crash >= 0 && p->crash < 1) ||
	    !(p->leave >= 0 && p->leave < 1))
		*why =
		    "crash and leave fractions must be at least 0 and below 1";
	else if (p->crash + p->leave >= 1)
		*why =
		    "crash plus leave must stay below 1: someone must remain";
	else if (p->targets < 1 || p->targets > 1000000)
		*why = "targets must be 1..1000000";
	else if (p->probes < 0 || p->probes > 10000000)
		*why = "probes must be 0..10000000";
	else if (p->check_ms < 1)
		*why = "check period must be at least 1 ms";
	else if (p->max_time_ms < 1 || p->max_time_ms > 100ULL * 86400000)
		*why = "max time must be 1 ms to 100 days";
	else if (p->names < 0 || p->names > 10000000)
		*why = "names must be 0..10000000";
	else if (p->resolves < 0 || p->resolves > 10000000)
		*why = "resolves must be 0..10000000";
	else if (p->engine.expiry_s < 2 || p->engine.sync_interval_ms < 1)
		*why = "expiry must be at least 2 s and the sync interval 1 ms";
	else if (p->hostile < 0 || p->hostile > SIM_HOSTILE_MAX)
		*why = "hostile slots must be 0..256";
	else if ((p->attacks & ~((1u << ADV_KINDS) - 1)) != 0)
		*why = "unknown attack";
	else if (p->attacks != 0 && p->hostile < ADV_SLOTS)
		*why = "attacks need their hostile slots";
	return *why != NULL ? ANDNA_EINVAL : 0;
}

int
sim_new(const struct sim_params *p, struct sim **out)
{
	struct sim *s = NULL;
	const char *why;
	uint64_t tseed;
	int err = 0;

	*out = NULL;
	if (sim_params_check(p, &why) != 0)
		return ANDNA_EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ANDNA_ENOMEM;
	s->p = *p;
	if (s->p.join_rate == 0)
		s->p.join_rate = p->nodes / 20 > 50 ? p->nodes / 20.0 : 50;
	s->n = p->nodes + p->hostile;
	s->side = 1000 * sqrt(p->nodes / 1000.0);
	s->now = SIM_EPOCH_MS;
	s->probing = -1;
	s->op_starting = -1;
	s->cells = (int)ceil(sqrt(p->nodes));
	s->cell = s->side / s->cells;
	rng_seed(&s->rng, p->seed);
	s->nodes = calloc((size_t)s->n, sizeof(*s->nodes));
	s->hostile_ep = calloc((size_t)p->hostile + 1, sizeof(*s->hostile_ep));
	s->grid = malloc((size_t)s->cells * s->cells * sizeof(*s->grid));
	s->l1 = calloc(65536, sizeof(*s->l1));
	s->addrs = calloc((size_t)s->n, sizeof(*s->addrs));
	s->targets = calloc((size_t)p->targets, sizeof(*s->targets));
	s->bad = calloc((size_t)p->targets, 1);
	s->memo = sigmemo_new();
	s->blobs = store_blobs_new();
	if (s->nodes == NULL || s->hostile_ep == NULL || s->grid == NULL ||
	    s->l1 == NULL || s->addrs == NULL || s->targets == NULL ||
	    s->bad == NULL || s->memo == NULL) {
		err = ANDNA_ENOMEM;
		goto out;
	}
	for (int c = 0; c < s->cells * s->cells; c++)
		s->grid[c] = -1;
	for (int i = 0; i < s->n; i++) {
		struct sim_node *nd = &s->nodes[i];
		nd->sim = s;
		nd->idx = (uint32_t)i;
		nd->wake_at = SIM_NEVER;
		nd->grid_next = nd->grid_prev = -1;
		if (i >= p->nodes) {
			/* placed by the attacker; never drawn, so hostile
			 * slots leave the honest run's stream alone */
			nd->hostile = true;
			node_endpoint((uint32_t)i, &s->hostile_ep[i - p->nodes]);
			continue;
		}
		nd->x = rng_double(&s->rng) * s->side;
		nd->y = rng_double(&s->rng) * s->side;
	}
	/* targets from their own stream: fixed whatever the run does */
	tseed = p->seed ^ 0x7461726765747321ULL;
	for (int k = 0; k < p->targets; k++)
		s->targets[k].addr = (ovl_addr_t)splitmix64(&tseed);
	*out = s;
	s = NULL;
out:
	sim_free(s);
	return err;
}

void
sim_free(struct sim *s)
{
	if (s == NULL)
		return;
	for (int i = 0; s->nodes != NULL && i < s->n; i++) {
		engine_free(s->nodes[i].e);
		store_close(s->nodes[i].st);
		free(s->nodes[i].peers);
	}
	for (size_t k = 0; k < s->heap_len; k++)
		free(s->heap[k].buf);
	free(s->heap);
	free(s->nodes);
	free(s->hostile_ep);
	free(s->grid);
	free(s->l1);
	free(s->addrs);
	free(s->targets);
	free(s->bad);
	free(s->probes);
	free(s->probe_hash);
	free(s->ops);
	free(s->op_hash);
	free(s->names);
	free(s->side_of);
	sigmemo_free(s->memo);
	store_blobs_free(s->blobs);
	free(s);
}

/* ---- the scenario ---- */

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
progress(const struct sim *s, double wall0, const char *what)
{
	if (s->p.progress == NULL)
		return;
	fprintf(s->p.progress,
	    "sim: t=%.1fs wall=%.1fs running=%d events=%llu: %s\n",
	    (double)sim_now(s) / 1000, wall_now() - wall0, s->running,
	    (unsigned long long)s->c.events, what);
	fflush(s->p.progress);
}

/* Runs until `t`, printing a line every few seconds of wall time. */
static void
run_reporting(struct sim *s, uint64_t t, double wall0, const char *what)
{
	double last = wall_now();

	while (sim_now(s) < t) {
		uint64_t next = sim_now(s) + 1000;
		sim_run_until(s, next < t ? next : t);
		if (s->p.progress != NULL && wall_now() - last >= 5) {
			last = wall_now();
			progress(s, wall0, what);
		}
	}
}

static void
probes_unrun(struct sim_probe_result *r)
{
	memset(r, 0, sizeof(*r));
	r->success = -1;
	r->hops_p50 = r->hops_p99 = r->hops_max = -1;
}

/* Probes after a phase, unless the time is up. */
static int
phase_probes(
    struct sim *s, uint64_t deadline, double wall0, struct sim_probe_result *r)
{
	probes_unrun(r);
	if (sim_now(s) >= deadline || s->p.probes == 0)
		return 0;
	progress(s, wall0, "probing");
	return sim_probes(s, s->p.probes, s->p.probe_spread_ms, r);
}

/* sim_wait_converged(), with a progress line every few seconds of wall
 * time that says how far the views are from agreeing. */
static double
converge_reporting(
    struct sim *s, uint64_t deadline, double wall0, const char *what)
{
	uint64_t start = sim_now(s);
	double last = wall_now();
	char line[160];

	for (;;) {
		if (sim_converged(s))
			return (double)(sim_now(s) - start) / 1000;
		if (sim_now(s) >= deadline)
			return -1;
		if (s->p.progress != NULL && wall_now() - last >= 5) {
			int hooked = sim_hooked(s);
			int wrong = sim_members_wrong(s);
			snprintf(line, sizeof(line),
			    "%s: %d of %d hooked, those agree on %.4f, %d "
			    "miscount their gnode",
			    what, hooked, s->running, agree_over(s, false),
			    wrong);
			progress(s, wall0, line);
			last = wall_now();
		}
		uint64_t next = sim_now(s) + s->p.check_ms;
		sim_run_until(s, next < deadline ? next : deadline);
	}
}

/* Waits for convergence after a disturbance; sets *conv and *agree. */
static void
phase_converge(struct sim *s, uint64_t deadline, double wall0, const char *what,
    double *conv, double *agree)
{
	progress(s, wall0, what);
	*conv = converge_reporting(s, deadline, wall0, what);
	*agree = sim_agree(s);
	progress(s, wall0, *conv >= 0 ? "converged" : "did not converge");
}

/* How long a split lasts by default: long enough that each half forgets
 * the other. */
static uint64_t
split_default_ms(const struct engine_config *c)
{
	uint64_t a = c->suspect_ms, b = c->outer_timeout_ms;

	return (a > b ? a : b) + 30000;
}

/* Registrations start over this long by default: 2 ms per name, at
 * least 5 s. */
static uint32_t
names_spread(const struct sim_params *p)
{
	uint64_t ms = 2 * (uint64_t)p->names;

	if (p->names_spread_ms > 0)
		return p->names_spread_ms;
	return ms < 5000 ? 5000 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* Resolves names from random nodes and counts the copies, after letting
 * anti-entropy and handovers work for a while when `settle`. */
static int
names_measure(struct sim *s, uint64_t deadline, double wall0, bool settle,
    struct sim_names_result *r)
{
	const struct sim_params *p = &s->p;

	names_result_init(r);
	if (p->names == 0 || sim_now(s) >= deadline)
		return 0;
	if (settle) {
		uint64_t t1 = sim_now(s) +
		    (p->settle_ms ? p->settle_ms
				  : p->engine.sync_interval_ms + 10000ULL);
		run_reporting(s, t1 < deadline ? t1 : deadline, wall0,
		    "settling: anti-entropy and handovers");
	}
	progress(s, wall0, "resolving names");
	return sim_names_resolve(s, p->resolves, p->probe_spread_ms, r);
}

/* One attack, then the honest figures once it is over: convergence,
 * probes and names as after the other phases. */
static int
phase_attack(struct sim *s, enum adv_kind kind, uint64_t deadline,
    double wall0, struct adv_result *a)
{
	struct sim_probe_result pr;
	struct sim_names_result nr;
	uint32_t ms = s->p.attack_ms ? s->p.attack_ms : ADV_DEFAULT_MS;
	int err;

	if ((err = adv_run(s, kind, ms, a)) != 0)
		return err;
	phase_converge(s, deadline, wall0, "attack over", &a->converged_s,
	    &a->agree);
	if ((err = phase_probes(s, deadline, wall0, &pr)) != 0)
		return err;
	a->route_success = pr.success;
	if ((err = names_measure(s, deadline, wall0, true, &nr)) != 0)
		return err;
	a->resolve_success = nr.resolves > 0 ? nr.resolve_success : -1;
	a->copies_min = nr.copies_min;
	a->copies_mean = nr.copies_mean;
	return 0;
}

static void
report_init(const struct sim_params *p, struct sim_report *r)
{
	memset(r, 0, sizeof(*r));
	r->nodes = p->nodes;
	r->gnode_size = p->engine.gnode_size;
	r->seed = p->seed;
	r->loss = p->loss;
	r->converged_s = r->agree = -1;
	r->msgs_per_node_s = r->bytes_per_node_s = -1;
	r->bytes_state_per_node = -1;
	r->crash_converged_s = r->crash_agree = -1;
	r->leave_converged_s = r->leave_agree = -1;
	r->split_s = r->split_agree = -1;
	r->heal_converged_s = r->heal_agree = -1;
	probes_unrun(&r->probes);
	probes_unrun(&r->crash_probes);
	probes_unrun(&r->leave_probes);
	probes_unrun(&r->heal_probes);
	r->partition = p->partition;
	names_result_init(&r->names);
	names_result_init(&r->crash_names);
	names_result_init(&r->leave_names);
	names_result_init(&r->heal_names);
	r->register_s = -1;
}

static int
scenario_phases(struct sim *s, struct sim_report *r, double wall0)
{
	const struct sim_params *p = &s->p;
	uint64_t deadline = p->max_time_ms;
	int err;

	progress(s, wall0, "joining");
	uint64_t last = sim_join_all(s);
	run_reporting(s, last < deadline ? last : deadline, wall0, "joining");
	r->join_s = (double)sim_now(s) / 1000;
	uint64_t until = deadline;
	if (p->converge_max_ms > 0 && sim_now(s) + p->converge_max_ms < until)
		until = sim_now(s) + p->converge_max_ms; /* then go on anyway */
	phase_converge(
	    s, until, wall0, "converging", &r->converged_s, &r->agree);
	if (sim_now(s) < deadline) {
		uint64_t sent = sim_engine_sent(s), bytes = s->c.bytes;
		uint64_t t0 = sim_now(s), t1 = t0 + p->steady_ms;
		progress(s, wall0, "steady state");
		run_reporting(
		    s, t1 < deadline ? t1 : deadline, wall0, "steady state");
		double secs = (double)(sim_now(s) - t0) / 1000;
		if (secs > 0 && s->running > 0) {
			r->msgs_per_node_s =
			    (double)(sim_engine_sent(s) - sent) / s->running /
			    secs;
			r->bytes_per_node_s =
			    (double)(s->c.bytes - bytes) / s->running / secs;
		}
		r->bytes_state_per_node = sim_state_bytes(s);
	}
	sim_gnodes(s, &r->gnodes, &r->levels);
	r->widest = sim_widest(s, &r->widest_children);
	if ((err = phase_probes(s, deadline, wall0, &r->probes)) != 0)
		return err;
	if (p->names > 0 && sim_now(s) < deadline) {
		uint64_t t0 = sim_now(s);
		progress(s, wall0, "registering names");
		err = sim_names_register(
		    s, 0, p->names, names_spread(p), &r->names);
		if (err != 0)
			return err;
		r->register_s = (double)(sim_now(s) - t0) / 1000;
		if (p->names_run_ms > 0) {
			uint64_t t1 = sim_now(s) + p->names_run_ms;
			run_reporting(s, t1 < deadline ? t1 : deadline, wall0,
			    "names live");
		}
		if ((err = names_measure(s, deadline, wall0, false, &r->names)))
			return err;
	}
	for (int k = 0; k < ADV_KINDS; k++) {
		if ((p->attacks & 1u << k) == 0 || sim_now(s) >= deadline)
			continue;
		progress(s, wall0, adv_kind_name((enum adv_kind)k));
		if ((err = phase_attack(s, (enum adv_kind)k, deadline, wall0,
			 &r->attacks[r->n_attacks++])))
			return err;
	}
	if (p->crash > 0 && sim_now(s) < deadline) {
		r->crashed = sim_kill_fraction(s, p->crash, false);
		phase_converge(s, deadline, wall0, "crashed",
		    &r->crash_converged_s, &r->crash_agree);
		if ((err = phase_probes(s, deadline, wall0, &r->crash_probes)))
			return err;
		if ((err = names_measure(
			 s, deadline, wall0, true, &r->crash_names)))
			return err;
	}
	if (p->leave > 0 && sim_now(s) < deadline) {
		r->left = sim_kill_fraction(s, p->leave, true);
		phase_converge(s, deadline, wall0, "left",
		    &r->leave_converged_s, &r->leave_agree);
		if ((err = phase_probes(s, deadline, wall0, &r->leave_probes)))
			return err;
		if ((err = names_measure(
			 s, deadline, wall0, true, &r->leave_names)))
			return err;
	}
	if (p->partition && sim_now(s) < deadline) {
		uint64_t len =
		    p->split_ms ? p->split_ms : split_default_ms(&p->engine);
		uint64_t t1 = sim_now(s) + len;
		progress(s, wall0, "split");
		sim_partition(s);
		run_reporting(s, t1 < deadline ? t1 : deadline, wall0, "split");
		r->split_s = (double)len / 1000;
		r->split_agree = sim_agree(s);
		r->split_members_wrong = sim_members_wrong(s);
		sim_heal(s);
		phase_converge(s, deadline, wall0, "healed",
		    &r->heal_converged_s, &r->heal_agree);
		if ((err = phase_probes(s, deadline, wall0, &r->heal_probes)))
			return err;
		if ((err = names_measure(
			 s, deadline, wall0, true, &r->heal_names)))
			return err;
	}
	return 0;
}

int
sim_scenario_run(const struct sim_params *p, struct sim_report *r)
{
	struct sim *s = NULL;
	struct rusage ru;
	double wall0 = wall_now();
	int err;

	report_init(p, r);
	if ((err = sim_new(p, &s)) != 0)
		return err;
	err = scenario_phases(s, r, wall0);
	r->running = s->running;
	r->sim_s = (double)sim_now(s) / 1000;
	sim_counters(s, &r->counters);
	progress(s, wall0, "done");
	sim_free(s);
	r->wall_s = wall_now() - wall0;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		r->peak_rss_kb = ru.ru_maxrss;
		r->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	}
	return err;
}

/* ---- the report as JSON ---- */

static void
json_num(FILE *f, const char *key, double v, bool first)
{
	fprintf(f, first ? "\"%s\":" : ",\"%s\":", key);
	if (v < 0 || !isfinite(v))
		fputs("null", f);
	else if (v == floor(v) && v < 1e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.6g", v);
}

static void
json_probes(FILE *f, const char *prefix, const struct sim_probe_result *r)
{
	char key[64];

	snprintf(key, sizeof(key), "%sroute_success", prefix);
	json_num(f, key, r->success, false);
	snprintf(key, sizeof(key), "%shops_p50", prefix);
	json_num(f, key, r->hops_p50, false);
	snprintf(key, sizeof(key), "%shops_p99", prefix);
	json_num(f, key, r->hops_p99, false);
	snprintf(key, sizeof(key), "%shops_max", prefix);
	json_num(f, key, r->hops_max, false);
	snprintf(key, sizeof(key), "%sprobes", prefix);
	json_num(f, key, r->sent, false);
	snprintf(key, sizeof(key), "%sprobes_done", prefix);
	json_num(f, key, r->done, false);
	snprintf(key, sizeof(key), "%sprobe_failures", prefix);
	fprintf(f,
	    ",\"%s\":{\"timeout\":%d,\"error\":%d,\"dead\":%d,"
	    "\"wrong_gnode\":%d}",
	    key, r->timeouts, r->errors, r->dead_responder, r->wrong_gnode);
}

/* The figures of a names measure; the name counts with the first. */
static void
json_names(FILE *f, const char *prefix, const struct sim_names_result *r)
{
	static const char *keys[] = {"resolves", "resolve_success",
	    "resolve_hops_p50", "resolve_hops_p99", "resolve_hops_max",
	    "resolve_ms_p50", "resolve_ms_p99", "resolve_asked_p50",
	    "resolve_asked_p99", "copies_min", "copies_mean",
	    "copies_missing", "copies_missing_backup", "copies_stray",
	    "bytes_records_per_node_max", "bytes_records_per_node_mean"};
	double v[] = {r->resolves, r->resolve_success, r->hops_p50, r->hops_p99,
	    r->hops_max, r->ms_p50, r->ms_p99, r->asked_p50, r->asked_p99,
	    r->copies_min, r->copies_mean,
	    (double)r->missing, (double)r->missing_backup, (double)r->stray,
	    r->bytes_records_max, r->bytes_records_mean};
	char key[64];

	if (*prefix == '\0') {
		json_num(f, "names", r->names, false);
		json_num(f, "names_registered", r->registered, false);
		json_num(f, "names_failed", r->reg_failed, false);
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, keys[i]);
		json_num(f, key, r->resolves > 0 || i >= 9 ? v[i] : -1, false);
	}
	snprintf(key, sizeof(key), "%sresolve_failures", prefix);
	fprintf(f, ",\"%s\":{\"timeout\":%d,\"error\":%d,\"wrong\":%d}", key,
	    r->timeouts, r->errors, r->wrong);
}

void
sim_report_json(const struct sim_report *r, FILE *f)
{
	const struct sim_counters *c = &r->counters;

	fputc('{', f);
	json_num(f, "nodes", r->nodes, true);
	json_num(f, "running", r->running, false);
	json_num(f, "gnode_size", r->gnode_size, false);
	fprintf(f, ",\"seed\":%llu", (unsigned long long)r->seed);
	json_num(f, "loss", r->loss, false);
	json_num(f, "join_s", r->join_s, false);
	json_num(f, "converged_s", r->converged_s, false);
	json_num(f, "agree", r->agree, false);
	json_num(f, "gnodes", r->gnodes, false);
	json_num(f, "levels", r->levels, false);
	json_num(f, "widest_gnode", r->widest, false);
	json_num(f, "widest_parent", r->widest_children, false);
	json_probes(f, "", &r->probes);
	json_num(f, "msgs_per_node_s", r->msgs_per_node_s, false);
	json_num(f, "bytes_per_node_s", r->bytes_per_node_s, false);
	json_num(f, "bytes_state_per_node", r->bytes_state_per_node, false);
	json_names(f, "", &r->names);
	json_num(f, "register_s", r->register_s, false);
	json_num(f, "crashed", r->crashed, false);
	json_num(f, "crash_converged_s", r->crash_converged_s, false);
	json_num(f, "crash_agree", r->crash_agree, false);
	json_probes(f, "crash_", &r->crash_probes);
	json_names(f, "crash_", &r->crash_names);
	json_num(f, "left", r->left, false);
	json_num(f, "leave_converged_s", r->leave_converged_s, false);
	json_num(f, "leave_agree", r->leave_agree, false);
	json_probes(f, "leave_", &r->leave_probes);
	json_names(f, "leave_", &r->leave_names);
	fprintf(f, ",\"partition\":%s", r->partition ? "true" : "false");
	json_num(f, "split_s", r->split_s, false);
	json_num(f, "split_agree", r->split_agree, false);
	fprintf(f, ",\"split_members_wrong\":%d", r->split_members_wrong);
	json_num(f, "heal_converged_s", r->heal_converged_s, false);
	json_num(f, "heal_agree", r->heal_agree, false);
	json_probes(f, "heal_", &r->heal_probes);
	json_names(f, "heal_", &r->heal_names);
	fputs(",\"attacks\":[", f);
	for (int k = 0; k < r->n_attacks; k++) {
		if (k > 0)
			fputc(',', f);
		adv_result_json(&r->attacks[k], f);
	}
	fputc(']', f);
	json_num(f, "sim_s", r->sim_s, false);
	json_num(f, "events", (double)c->events, false);
	json_num(f, "msgs", (double)c->sent, false);
	json_num(f, "msgs_lost", (double)c->lost, false);
	json_num(f, "msgs_cut", (double)c->cut, false);
	json_num(f, "msgs_dead", (double)c->dead, false);
	fprintf(
	    f, ",\"delivery_hash\":\"%016llx\"", (unsigned long long)c->hash);
	json_num(f, "wall_s", r->wall_s, false);
	json_num(f, "cpu_s", r->cpu_s, false);
	json_num(f, "peak_rss_kb", (double)r->peak_rss_kb, false);
	fputs("}\n", f);
}
