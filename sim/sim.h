/* The deterministic discrete-event simulator: many engines over a virtual
 * underlay (positions on a plane, distance latency, datagram loss,
 * partitions) and a virtual clock.  Engines are driven only through
 * node/engine.h, as the daemon drives them.  Everything lives in one
 * struct sim: one process may hold several, and the same seed gives the
 * same run, event for event. */
#ifndef ANDNA_SIM_SIM_H
#define ANDNA_SIM_SIM_H

#include <stdio.h>

#include "node/engine.h"

#define SIM_NODES_MAX 1000000
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
	uint32_t steady_ms;	  /* steady-state window for msgs_per_node_s */
	int probes;		  /* routed probes per batch */
	uint32_t probe_spread_ms; /* probes of a batch start over this time */
	uint64_t max_time_ms;	  /* bound on the simulated time of a run */
	FILE *progress;		  /* progress lines, or NULL */
	bool engine_log;	  /* engine warnings and errors to progress */
};

/* Fills `p` with the defaults: 1,000 nodes, seed 1, no loss, gnode size
 * 16, 10,000 targets and probes, 30 s steady window, 20 min bound. */
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
 * join rate starting now; returns the time of the last join. */
uint64_t sim_join_all(struct sim *s);

/* Node `i` leaves gracefully now (engine_leave); no-op if not running. */
void sim_leave(struct sim *s, int i);

/* Node `i` crashes now: its engine vanishes without a word. */
void sim_crash(struct sim *s, int i);

/* Crashes (or, with `graceful`, makes leave) round(f * running) random
 * running nodes at once; returns how many. */
int sim_kill_fraction(struct sim *s, double f, bool graceful);

/* Splits the underlay: nodes with x < side/2 and the rest no longer reach
 * each other, messages in flight included, until sim_heal(). */
void sim_partition(struct sim *s);
void sim_heal(struct sim *s);

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
	struct sim_probe_result probes;
	double msgs_per_node_s;
	double bytes_state_per_node;
	int crashed;
	double crash_converged_s, crash_agree;
	struct sim_probe_result crash_probes;
	int left;
	double leave_converged_s, leave_agree;
	struct sim_probe_result leave_probes;
	bool partition;
	double split_s, split_agree, heal_converged_s, heal_agree;
	struct sim_probe_result heal_probes;
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
