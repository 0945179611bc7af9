/* The deterministic discrete-event simulator: many engines over a virtual
 * underlay (positions on a plane, distance latency, datagram loss,
 * partitions) and a virtual clock.  Engines are driven only through
 * node/engine/engine.h, as the daemon drives them.  Everything lives in one
 * struct sim: one process may hold several, and the same seed gives the
 * same run, event for event. */
#ifndef ANDNA_SIM_SIM_H
#define ANDNA_SIM_SIM_H

#include <stdio.h>

#include "node/engine/engine.h"
#include "sim/adversary.h"

#define SIM_NODES_MAX 1000000
#define SIM_HOSTILE_MAX 256 /* node slots for attackers */
#define SIM_STREAM_MIN 1233 /* longer messages go by stream: never lost */

struct sim;

/* What to simulate.  sim_params_defaults() fills every field; the
 * underlay and engine fields are used by sim_new(), the rest by
 * sim_scenario_run(). */
struct sim_params {
	int nodes;
	uint64_t seed;
	double loss;	  /* datagram loss probability, 0..1 */
	double join_rate; /* joins per simulated second; 0: max(50, N/20) */
	struct engine_config engine;
	int targets;	   /* random targets of the agreement check */
	uint32_t check_ms; /* period of the convergence check */
	/* scenario */
	double crash;		  /* fraction crashed at once, 0: none */
	double leave;		  /* fraction leaving gracefully, 0: none */
	bool partition;		  /* split in two halves, then heal */
	uint32_t split_ms;	  /* how long the split lasts; 0: auto */
	uint32_t steady_ms;	  /* steady-state window for msgs_per_node_s
				   * and bytes_per_node_s */
	int probes;		  /* routed probes per batch */
	uint32_t probe_spread_ms; /* probes of a batch start over this time */
	uint64_t max_time_ms;	  /* bound on the simulated time of a run */
	FILE *progress;		  /* progress lines, or NULL */
	bool engine_log;	  /* engine warnings and errors to progress */
	/* names (DESIGN.md section 4): registered after the first probes,
	 * then resolved and counted after every phase */
	int names;		  /* names to register, 0: no names phase */
	int resolves;		  /* resolves per measure; all names if more */
	uint32_t names_spread_ms; /* registrations start over this time;
				   * 0: 2 ms per name, at least 5 s */
	uint32_t settle_ms;	  /* wait before each measure after a
				   * disturbance; 0: a sync interval + 10 s */
	uint64_t names_run_ms;	  /* the names live this long (renewals,
				   * expiry) before the first measure */
	uint64_t converge_max_ms; /* after the joins, wait this long at most
				   * for the maps to converge, then go on;
				   * 0: up to the max time */
	/* hostile nodes (sim/adversary.h) */
	int hostile;	    /* node slots after the `nodes` honest ones, for
			     * attackers: never joined by sim_join_all() */
	unsigned attacks;   /* bit k: attack k (enum adv_kind) runs after
			     * the names, each for attack_ms; needs hostile
			     * >= ADV_SLOTS */
	uint32_t attack_ms; /* 0: ADV_DEFAULT_MS */
};

/* Fills `p` with the defaults: 1,000 nodes, seed 1, no loss, gnode size
 * 16, 10,000 targets and probes, 30 s steady window, 20 min bound, no
 * names (10,000 resolves per measure when there are). */
void sim_params_defaults(struct sim_params *p);

/* Checks `p`; returns 0, or ANDNA_EINVAL and a one-line reason in `why`
 * (static text). */
int sim_params_check(const struct sim_params *p, const char **why);

/* Message and event counts of a run; equal for equal seeds. */
struct sim_counters {
	uint64_t events; /* events taken off the queue, stale ones too */
	uint64_t joins, crashes, leaves;
	uint64_t sent;	    /* messages handed to the underlay */
	uint64_t delivered; /* messages handed to engine_input */
	uint64_t lost;	    /* dropped by the loss model */
	uint64_t cut;	    /* dropped by the partition */
	uint64_t dead;	    /* destination not running */
	uint64_t bad_dest;  /* destination not a node's endpoint */
	uint64_t streams;   /* messages longer than a datagram */
	uint64_t bytes;	    /* bytes handed to the underlay */
	uint64_t hash;	    /* digest of every delivery (time, ends, bytes) */
};

/* Outcome of one batch of probes.  Figures are -1 when nothing ran. */
struct sim_probe_result {
	int sent;	/* probes started */
	int done;	/* probes that reported back */
	int ok;		/* reached a live member of the correct gnode */
	double success; /* ok / sent */
	int hops_p50, hops_p99, hops_max; /* over the successful probes */
	/* why the others failed: no report before the batch ended, an
	 * error status, a responder that is not running, the wrong gnode */
	int timeouts, errors, dead_responder, wrong_gnode;
};

/* Creates a simulator with every node placed but none joined.  Returns 0,
 * ANDNA_EINVAL (bad params) or ANDNA_ENOMEM; *out is owned by the
 * caller (sim_free). */
int sim_new(const struct sim_params *p, struct sim **out);

/* Frees the simulator, its engines and every queued event. */
void sim_free(struct sim *s);

/* Simulated milliseconds since the simulator was created. */
uint64_t sim_now(const struct sim *s);

/* Runs every event due up to `t` (simulated ms) and sets the clock to `t`
 * (never backwards). */
void sim_run_until(struct sim *s, uint64_t t);

/* Schedules the joins of every node not yet joined, one by one at the
 * join rate starting now, nearest to the first of them first; returns the
 * time of the last join. */
uint64_t sim_join_all(struct sim *s);

/* Node `i` leaves gracefully now (engine_leave); no-op if not running. */
void sim_leave(struct sim *s, int i);

/* Node `i` crashes now: its engine vanishes without a word. */
void sim_crash(struct sim *s, int i);

/* Stops every running node at once, as a power cut of the whole mesh
 * would, and starts each again at a random moment within `spread_ms`
 * with the store and the live peers it had (those engine_keep_peer()
 * keeps), as a restarted andnad does. */
void sim_restart_all(struct sim *s, uint32_t spread_ms);

/* Crashes (or, with `graceful`, makes leave) round(f * running) random
 * running nodes at once; returns how many. */
int sim_kill_fraction(struct sim *s, double f, bool graceful);

/* Splits the underlay: nodes with x < side/2 and the rest no longer reach
 * each other, messages in flight included, until sim_heal(). */
void sim_partition(struct sim *s);
void sim_heal(struct sim *s);

/* The same with the halves given: node i is on side side[i] (one byte
 * per node, copied). */
void sim_partition_nodes(struct sim *s, const uint8_t *side);

/* Nodes running (joined, neither crashed nor left) and, of those, hooked. */
int sim_running(const struct sim *s);
int sim_hooked(const struct sim *s);

/* The engine of node `i`, or NULL when not running. */
struct engine *sim_engine(const struct sim *s, int i);

/* Whether every running node is hooked, counts exactly the running
 * members of its gnode, and agrees with the truth on the rounded gnode of
 * every target (stops at the first disagreement). */
bool sim_converged(struct sim *s);

/* Running hooked nodes whose engine_gnode_members() differs from the
 * number of running hooked nodes in their level-1 gnode. */
int sim_members_wrong(struct sim *s);

/* Fraction of the targets on which every running node agrees with the
 * truth (0 while a running node is not hooked: it cannot round at all). */
double sim_agree(struct sim *s);

/* Checks convergence every check_ms until it holds or until `deadline`;
 * returns the simulated seconds it took, or -1. */
double sim_wait_converged(struct sim *s, uint64_t deadline);

/* Level-1 gnodes that exist, and levels (1..3) at which some parent holds
 * more than one gnode. */
void sim_gnodes(struct sim *s, int *gnodes, int *levels);

/* The most members any level-1 gnode has (at most gnode_size when the
 * hooking rules hold), and in *children the most child gnodes any higher
 * gnode has, or top-level gnodes there are. */
int sim_widest(struct sim *s, int *children);

/* Runs `n` probes from random hooked nodes to random targets, started over
 * `spread_ms`, and runs the simulation until each reported back or timed
 * out.  Returns 0 or ANDNA_ENOMEM. */
int sim_probes(
    struct sim *s, int n, uint32_t spread_ms, struct sim_probe_result *out);

/* Copies the counters so far. */
void sim_counters(const struct sim *s, struct sim_counters *c);

/* Sum of engine_stats().sent over running nodes. */
uint64_t sim_engine_sent(const struct sim *s);

/* Mean engine_state_bytes() over running nodes. */
double sim_state_bytes(const struct sim *s);

/* ---- Nodes one by one ---------------------------------------------- */

/* Node `i` joins now through the nearest hooked node (it founds the
 * overlay when nothing runs).  A crashed or departed node comes back as a
 * new engine with an empty store, as a rebooted router without a disk
 * would.  No-op while it runs or restarts (sim_restart_all()). */
void sim_join(struct sim *s, int i);

/* Node `i`'s underlay endpoint and node key (a pure function of the seed
 * and i); the caller wipes the key. */
void sim_node_endpoint(const struct sim *s, int i, struct endpoint *ep);
void sim_node_key(const struct sim *s, int i, struct keypair *kp);

/* The store of running node `i` (in memory, owned by the simulator), or
 * NULL.  Read it only between calls that run the simulation. */
struct store *sim_store(const struct sim *s, int i);

/* ---- Tampering with the underlay --------------------------------------- */

enum sim_verdict { SIM_PASS, SIM_DROP, SIM_REPLACE };

/* Sees every message about to be handed to a running node's engine.  It
 * returns SIM_PASS, SIM_DROP, or SIM_REPLACE after pointing *out at
 * *out_len bytes from malloc() to hand over instead (the simulator frees
 * them).  It must not call back into the simulator. */
typedef enum sim_verdict sim_filter_fn(void *arg, int from, int to,
    const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len);

/* Installs `fn` (NULL: none). */
void sim_set_filter(struct sim *s, sim_filter_fn *fn, void *arg);

/* Hands `len` bytes (copied) to node `to` as if node `from` had sent them
 * now; they arrive after the usual latency, split and loss aside. */
void sim_inject(
    struct sim *s, int from, int to, const uint8_t *buf, size_t len);

/* ---- Hostile slots (sim_params.hostile) -------------------------------- */

/* Slots p.nodes .. p.nodes + p.hostile - 1 are the attackers'.  One may
 * run a real engine (sim_join(), which joins through the hooked node
 * nearest to where the slot stands) or be a bare endpoint that the
 * attacker speaks from with sim_inject(). */

/* Sees every message delivered to a hostile slot, engine or not, from
 * node `from`; returns whether the slot's engine (if it runs) gets it
 * too.  Called between events, never inside an engine: it may
 * sim_inject() and read any engine, but not run the simulation. */
typedef bool sim_tap_fn(void *arg, int from, int to, const uint8_t *buf,
    size_t len);

/* Installs `fn` (NULL: none; a bare slot then hears nothing). */
void sim_set_tap(struct sim *s, sim_tap_fn *fn, void *arg);

/* Puts hostile slot `i` (not running) where node `at` stands, at the
 * underlay endpoint `ep` (NULL: its own 127.x.y.z:1).  Several slots may
 * share one IP on different ports, as processes of one machine do.
 * Returns 0 or ANDNA_EINVAL (not a hostile slot, running, or `ep` is
 * another node's). */
int sim_hostile_place(struct sim *s, int i, int at, const struct endpoint *ep);

/* The parameters the simulator runs with (join rate filled in). */
const struct sim_params *sim_config(const struct sim *s);

/* ---- The name service, one request at a time --------------------------- */

/* The outcome of one name-service request. */
struct sim_ns_result {
	int status;	    /* 0 or the ANDNA_E* code of the engine's event;
			     * ANDNA_ETIMEOUT when none came in time */
	uint32_t queue_pos; /* register: place in the queue */
	uint32_t life_s;    /* register: seconds until the name expires */
	uint32_t ttl_s;	    /* resolve: seconds the answer may be cached */
	/* resolve: overlay messages on the way to the node that answered
	 * (0: the resolver's own store; a neighbour's cache counts 1).  The
	 * engine leaves ENGINE_EV_RESOLVE_DONE's hops at 0 (RESOLVE_REPLY
	 * carries no hop count), so the simulator counts them on the wire. */
	int hops;
	uint32_t ms;	    /* simulated ms from the call to the outcome */
	struct record *rec; /* resolve: a copy of the verified record, or
			     * NULL; freed by sim_ns_result_fini() */
};

void sim_ns_result_fini(struct sim_ns_result *r);

/* Each call below asks node `i`'s engine and runs the simulation until
 * its outcome arrives or the engine's retries are surely over.  Returns 0
 * with the outcome in *out, or at once the engine's refusal (for example
 * ANDNA_ETOO_SOON, ANDNA_ENOT_HOOKED) or ANDNA_EINVAL (node not running)
 * with nothing run. */
int sim_register(struct sim *s, int i, const char *name,
    const struct record_entry *entries, int n_entries,
    const struct keypair *owner, struct sim_ns_result *out);
/* The same with the owner's TTL (engine_register(): 0 for none). */
int sim_register_ttl(struct sim *s, int i, const char *name,
    const struct record_entry *entries, int n_entries, uint32_t ttl,
    const struct keypair *owner, struct sim_ns_result *out);
/* Starts a registration on node i whose outcome nobody waits for (one of
 * several racing for a name); returns engine_register()'s code. */
int sim_start_register(struct sim *s, int i, const char *name,
    const struct record_entry *entries, int n_entries,
    const struct keypair *owner);
int sim_release(
    struct sim *s, int i, const char *name, struct sim_ns_result *out);
int sim_resolve(
    struct sim *s, int i, const char *name, struct sim_ns_result *out);

/* Resolves names[k] from node nodes[k] for each k < n, the requests
 * started evenly over `spread_ms`, and runs the simulation until each has
 * its outcome or surely will not; out[k] (n of them) gets the outcome of
 * request k as sim_resolve() gives it (a node not running: ANDNA_EINVAL)
 * and the caller calls sim_ns_result_fini() on each.  The names are
 * borrowed until it returns.  Returns 0, ANDNA_EINVAL (a batch of
 * requests is under way) or ANDNA_ENOMEM. */
int sim_resolve_many(struct sim *s, int n, const int *nodes,
    const char *const *names, uint32_t spread_ms, struct sim_ns_result *out);

/* The clock the engines run on, in ms: the times their stores keep
 * (stored_at, expires_at) are on it. */
uint64_t sim_clock(const struct sim *s);

/* Running nodes holding a live record of `name` (backups included, a
 * release's tombstone not) and, of those, the ones whose record is owned
 * by `owner` (NULL: any). */
int sim_record_copies(struct sim *s, const char *name, const uint8_t *owner);

/* Running nodes holding a live claim of `claimant` on `name`. */
int sim_claim_copies(
    struct sim *s, const char *name, const uint8_t claimant[ANDNA_PK_LEN]);

/* Running nodes holding a live tally entry of `owner` (any name). */
int sim_tally_copies(struct sim *s, const uint8_t owner[ANDNA_PK_LEN]);

/* The level-1 gnode that `target` truly rounds to over the running hooked
 * nodes (a name's hash gnode for name_hash(), a key's counter gnode for
 * key_hash()), or UINT32_MAX when none runs. */
ovl_addr_t sim_round_target(struct sim *s, ovl_addr_t target);

/* The true hash gnode of `name` (level-1 prefix) over the running hooked
 * nodes and, when `backup` is not NULL, its backup gnode (UINT32_MAX when
 * there is none); returns the members of the hash gnode, or -1 when no
 * node runs. */
int sim_hash_gnode(
    struct sim *s, const char *name, ovl_addr_t *gnode, ovl_addr_t *backup);

/* ---- Generated names ---------------------------------------------------- */

/* Names of the names phase: name k, its owner key and its address set (1
 * to 4 entries: IPv4, some IPv6, some services) are pure functions of the
 * seed and k, and each has its own owner. */
#define SIM_NAME_ENTRIES_MAX 4
void sim_name_gen(const struct sim *s, int k, char name[ANDNA_NAME_MAX + 1],
    struct record_entry *entries, int *n_entries);
void sim_name_owner(const struct sim *s, int k, struct keypair *kp);

/* Names generated so far (sim_names_register()), and the status of the
 * registration of name k: 0 registered, an ANDNA_E* code, 1 when it was
 * never tried, ANDNA_EINVAL when there is no name k. */
int sim_names_count(const struct sim *s);
int sim_name_status(const struct sim *s, int k);

/* What a batch of resolves found, and a count of the copies.  Figures are
 * -1 when nothing ran. */
struct sim_names_result {
	int names;	/* generated names so far */
	int registered; /* of them, registered (REGISTER_DONE status 0) */
	int reg_failed; /* refused or timed out */
	int resolves;	/* resolves started */
	double resolve_success; /* resolved to exactly the registered set */
	int hops_p50, hops_p99, hops_max;
	double ms_p50, ms_p99;
	int asked_p50, asked_p99; /* nodes asked per resolution */
	/* why the others failed: no report, an error status, a record that
	 * differs from the registered one (never expected: the engine checks
	 * signatures) */
	int timeouts, errors, wrong;
	/* copies over the stores of running nodes */
	int copies_min; /* fewest live copies of any name */
	double copies_mean;
	long missing;	     /* (name, live member of its true hash gnode)
			      * pairs without a copy */
	long missing_backup; /* the same for the true backup gnode */
	long stray;	     /* copies on nodes of neither gnode */
	/* record bytes (signed blobs, any name) held per running node */
	double bytes_records_max, bytes_records_mean;
};

/* Registers names [first, first + n) from random hooked nodes, started over
 * `spread_ms`, and runs until each reported or timed out; fills the name
 * counts of *out.  Returns 0, ANDNA_EINVAL (`first` beyond the names so
 * far) or ANDNA_ENOMEM. */
int sim_names_register(struct sim *s, int first, int n, uint32_t spread_ms,
    struct sim_names_result *out);

/* Resolves `n` names (every generated name once when n is at least their
 * number, else a random sample) from random hooked nodes, started over
 * `spread_ms`, runs until each reported or timed out, and counts the
 * copies.  Returns 0 or ANDNA_ENOMEM. */
int sim_names_resolve(
    struct sim *s, int n, uint32_t spread_ms, struct sim_names_result *out);

/* Only the count of copies (the copy fields of *out). */
void sim_names_copies(struct sim *s, struct sim_names_result *out);

/* What a whole scenario measured.  Times in simulated seconds; a figure
 * that was not reached (no convergence within max time, phase not run) is
 * -1 and printed as null. */
struct sim_report {
	int nodes, running, gnode_size;
	uint64_t seed;
	double loss;
	double join_s;	    /* first join to last join */
	double converged_s; /* last join to agreement */
	double agree;
	int gnodes, levels;
	int widest;	    /* members, see sim_widest() */
	int widest_children; /* child gnodes, see sim_widest() */
	struct sim_probe_result probes;
	double msgs_per_node_s;
	double bytes_per_node_s; /* what those messages weigh */
	double bytes_state_per_node;
	int crashed;
	double crash_converged_s, crash_agree;
	struct sim_probe_result crash_probes;
	int left;
	double leave_converged_s, leave_agree;
	struct sim_probe_result leave_probes;
	bool partition;
	double split_s, split_agree, heal_converged_s, heal_agree;
	int split_members_wrong; /* nodes miscounting their gnode at the end
				  * of the split: halves that lost each other */
	struct sim_probe_result heal_probes;
	/* names: after the first probes and after each phase */
	struct sim_names_result names, crash_names, leave_names, heal_names;
	/* the attacks asked for, in enum adv_kind order */
	int n_attacks;
	struct adv_result attacks[ADV_KINDS];
	double register_s; /* registrations, first to last outcome */
	double sim_s;
	struct sim_counters counters;
	double wall_s;
	double cpu_s; /* user + system CPU of the process (wall_s on a busy
			 machine says little) */
	long peak_rss_kb;
};

/* Runs the scenario `p` describes: join all, converge, steady window,
 * probes, then crash, leave and partition phases as asked.  Returns 0 or
 * a negative ANDNA_E* code (nothing useful in `r` then). */
int sim_scenario_run(const struct sim_params *p, struct sim_report *r);

/* Writes `r` as one JSON object on one line. */
void sim_report_json(const struct sim_report *r, FILE *f);

#endif
