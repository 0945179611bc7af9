/* andna-sim: runs one simulator scenario from the command line and prints
 * what it measured; with --json the last line on stdout is one JSON
 * object.  Progress goes to stderr. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "proto/err.h"
#include "sim/sim.h"

/* Everything the command line sets. */
struct cli {
	struct sim_params p;
	double max_time_s, steady_s, split_s, spread_s;
	double names_spread_s, settle_s, names_run_s, expiry_s, sync_s;
	double min_update_s;
	double converge_max_s, attack_s;
	bool json, quiet, help, signatures;
};

enum opt_type {
	OPT_INT,
	OPT_U64,
	OPT_SECONDS,
	OPT_FRACTION,
	OPT_REAL,
	OPT_FLAG,
	OPT_ATTACKS
};

/* One option: where it goes in struct cli, its range and its help. */
struct opt {
	const char *name;
	enum opt_type type;
	size_t off;
	double min, max;
	const char *arg, *help;
};

#define P(f) offsetof(struct cli, p.f)
#define C(f) offsetof(struct cli, f)

static const struct opt opts[] = {
    {"nodes", OPT_INT, P(nodes), 1, SIM_NODES_MAX, "N",
	"nodes to simulate (default 1000)"},
    {"gnode-size", OPT_INT, P(engine.gnode_size), 2, 256, "G",
	"members per gnode and gnodes per parent (default 16)"},
    {"seed", OPT_U64, P(seed), 0, 0, "S",
	"seed of the run: same seed, same run (default 1)"},
    {"loss", OPT_FRACTION, P(loss), 0, 0.99, "P",
	"datagram loss probability (default 0)"},
    {"crash", OPT_FRACTION, P(crash), 0, 0.95, "F",
	"fraction crashed at once after convergence (default 0)"},
    {"leave", OPT_FRACTION, P(leave), 0, 0.95, "F",
	"fraction leaving gracefully after convergence (default 0)"},
    {"partition", OPT_FLAG, P(partition), 0, 0, NULL,
	"split the plane in two halves, then heal"},
    {"join-rate", OPT_REAL, P(join_rate), 0, 1e6, "R",
	"joins per simulated second (default max(50, N/20))"},
    {"max-time", OPT_SECONDS, C(max_time_s), 1, 8640000, "S",
	"bound on simulated seconds (default 1200)"},
    {"steady", OPT_SECONDS, C(steady_s), 0, 86400, "S",
	"steady-state window in simulated seconds (default 30)"},
    {"split", OPT_SECONDS, C(split_s), 0, 86400, "S",
	"how long the partition lasts (default: engine timeouts + 30)"},
    {"targets", OPT_INT, P(targets), 1, 1000000, "N",
	"random targets of the agreement check (default 10000)"},
    {"probes", OPT_INT, P(probes), 0, 10000000, "N",
	"routed probes per batch (default 10000)"},
    {"probe-spread", OPT_SECONDS, C(spread_s), 0, 3600, "S",
	"simulated seconds a probe batch starts over (default 5)"},
    {"converge-max", OPT_SECONDS, C(converge_max_s), 0, 8640000, "S",
	"wait at most this for convergence, then go on (default: max time)"},
    {"names", OPT_INT, P(names), 0, 10000000, "M",
	"names to register, then resolve (default 0)"},
    {"resolves", OPT_INT, P(resolves), 0, 10000000, "N",
	"resolves per measure (default 10000; each name once if fewer)"},
    {"names-spread", OPT_SECONDS, C(names_spread_s), 0, 86400, "S",
	"seconds registrations start over (default 2 ms a name, >= 5)"},
    {"names-run", OPT_SECONDS, C(names_run_s), 0, 8640000, "S",
	"seconds the names live before they are resolved (default 0)"},
    {"settle", OPT_SECONDS, C(settle_s), 0, 86400, "S",
	"wait before measuring names after a phase (default sync + 10)"},
    {"expiry", OPT_SECONDS, C(expiry_s), 2, 4294967295.0, "S",
	"life of records, claims, tallies (default 2592000: 30 days)"},
    {"sync-interval", OPT_SECONDS, C(sync_s), 0.001, 86400, "S",
	"anti-entropy between members, in seconds (default 30)"},
    {"min-update", OPT_SECONDS, C(min_update_s), 0, 4294967295.0, "S",
	"least time between two updates of a name (default 3600)"},
    {"max-names", OPT_INT, P(engine.max_names_per_key), 1, 1000000, "N",
	"names one key may hold (default 256)"},
    {"attack", OPT_ATTACKS, P(attacks), 0, 0, "NAME[,NAME...]",
	"after the names, run these attacks (evict, death, fake-gnodes,\n"
	"                         join-outside, reflect, many-addrs, liar,\n"
	"                         theft, replay-release, lost-release,\n"
	"                         endless, rollback, counter-free,\n"
	"                         queue-fill; all)"},
    {"attack-time", OPT_SECONDS, C(attack_s), 1, 86400, "S",
	"how long each attack lasts (default 60)"},
    {"signatures", OPT_FLAG, C(signatures), 0, 0, NULL,
	"Ed25519 envelopes as andnad sends (default: digests, see --help)"},
    {"json", OPT_FLAG, C(json), 0, 0, NULL,
	"print the figures as one JSON object, last on stdout"},
    {"quiet", OPT_FLAG, C(quiet), 0, 0, NULL, "no progress on stderr"},
    {"engine-log", OPT_FLAG, P(engine_log), 0, 0, NULL,
	"engine warnings and errors to stderr"},
    {"help", OPT_FLAG, C(help), 0, 0, NULL, "this text"},
};

#undef P
#undef C

static void
usage(FILE *f)
{
	fputs("usage: andna-sim [options]\n"
	      "Simulates an andna overlay deterministically: join, converge,\n"
	      "measure, then crash, leave or partition as asked.\n"
	      "Envelopes between nodes carry a digest, not a signature, unless\n"
	      "--signatures: records are still signed and checked, and a run\n"
	      "costs a tenth of the CPU.\n\n",
	    f);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char left[40];
		snprintf(left, sizeof(left), "--%s%s%s", opts[i].name,
		    opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-22s %s\n", left, opts[i].help);
	}
}

/* Says what was wrong with an option's value and what it wants. */
static int
bad_value(const struct opt *o, const char *v)
{
	const char *what = o->type == OPT_INT ? "an integer"
	    : o->type == OPT_U64	      ? "an integer"
					      : "a number";

	if (o->type == OPT_U64)
		fprintf(stderr,
		    "andna-sim: --%s wants an integer from 0 to "
		    "18446744073709551615, not '%s' (see andna-sim --help)\n",
		    o->name, v);
	else
		fprintf(stderr,
		    "andna-sim: --%s wants %s from %.15g to %.15g, not '%s' "
		    "(see andna-sim --help)\n",
		    o->name, what, o->min, o->max, v);
	return -1;
}

/* Parses `v` into the field of `o`; returns 0 or -1 after a message. */
static int
set_value(struct cli *cli, const struct opt *o, const char *v)
{
	char *field = (char *)cli + o->off;
	char *end = NULL;

	errno = 0;
	if (o->type == OPT_ATTACKS) {
		if (adv_parse(v, (unsigned *)(void *)field) == 0)
			return 0;
		fprintf(stderr,
		    "andna-sim: --%s wants attack names separated by commas "
		    "(evict, death, fake-gnodes, join-outside, reflect, "
		    "many-addrs, liar, theft, replay-release, lost-release, "
		    "endless, rollback, counter-free, queue-fill, all), not "
		    "'%s'\n",
		    o->name, v);
		return -1;
	}
	if (o->type == OPT_U64) {
		if (*v == '-' || *v == '\0')
			return bad_value(o, v);
		unsigned long long u = strtoull(v, &end, 0);
		if (errno != 0 || *end != '\0')
			return bad_value(o, v);
		*(uint64_t *)(void *)field = u;
		return 0;
	}
	double d = strtod(v, &end);
	if (*v == '\0' || errno != 0 || *end != '\0' || !(d >= o->min) ||
	    !(d <= o->max))
		return bad_value(o, v);
	if (o->type == OPT_INT) {
		if (d != (double)(int)d)
			return bad_value(o, v);
		*(int *)(void *)field = (int)d;
	} else
		*(double *)(void *)field = d;
	return 0;
}

/* Parses argv into `cli`; returns 0 or -1 after a message. */
static int
parse(struct cli *cli, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const struct opt *o = NULL;
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr,
			    "andna-sim: unexpected argument '%s' "
			    "(options start with --; see --help)\n",
			    a);
			return -1;
		}
		a += 2;
		size_t len = strcspn(a, "=");
		for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strlen(opts[k].name) == len &&
			    strncmp(opts[k].name, a, len) == 0)
				o = &opts[k];
		if (o == NULL) {
			fprintf(stderr,
			    "andna-sim: unknown option '%s' (see "
			    "andna-sim --help)\n",
			    argv[i]);
			return -1;
		}
		if (o->type == OPT_FLAG) {
			if (a[len] == '=') {
				fprintf(stderr,
				    "andna-sim: --%s takes no value\n",
				    o->name);
				return -1;
			}
			*(bool *)(void *)((char *)cli + o->off) = true;
			continue;
		}
		if (a[len] == '=')
			v = a + len + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else {
			fprintf(stderr,
			    "andna-sim: --%s needs a value %s (see "
			    "andna-sim --help)\n",
			    o->name, o->arg);
			return -1;
		}
		if (set_value(cli, o, v) != 0)
			return -1;
	}
	return 0;
}

static void
print_probes(const char *what, const struct sim_probe_result *r)
{
	if (r->success < 0)
		return;
	printf("%-10s route success %.4f (%d of %d), hops p50 %d p99 %d "
	       "max %d\n",
	    what, r->success, r->ok, r->sent, r->hops_p50, r->hops_p99,
	    r->hops_max);
	if (r->ok < r->sent)
		printf("%-10s failed: %d timed out, %d with an error, %d from "
		       "a dead node, %d in the wrong gnode\n",
		    "", r->timeouts, r->errors, r->dead_responder,
		    r->wrong_gnode);
}

/* Seconds for a reader, or "never" for a time that was not reached. */
static const char *
secs(double v, char *buf, size_t len)
{
	if (v < 0)
		return "never";
	snprintf(buf, len, "%.1f s", v);
	return buf;
}

/* The names figures of one measure. */
static void
print_names(const char *what, const struct sim_names_result *r)
{
	if (r->resolves > 0) {
		printf("%-10s resolve success %.4f (%d resolves), hops p50 %d "
		       "p99 %d max %d, ms p50 %.0f p99 %.0f\n",
		    what, r->resolve_success, r->resolves, r->hops_p50,
		    r->hops_p99, r->hops_max, r->ms_p50, r->ms_p99);
		if (r->timeouts + r->errors + r->wrong > 0)
			printf("%-10s failed: %d timed out, %d with an error, "
			       "%d with a wrong record\n",
			    "", r->timeouts, r->errors, r->wrong);
	}
	if (r->copies_min >= 0)
		printf("%-10s copies min %d mean %.1f; %ld missing in hash "
		       "gnodes, %ld in backups, %ld stray; record bytes/node "
		       "max %.0f mean %.0f\n",
		    what, r->copies_min, r->copies_mean, r->missing,
		    r->missing_backup, r->stray, r->bytes_records_max,
		    r->bytes_records_mean);
}

/* The figures for a reader, when --json is not given. */
static void
print_text(const struct sim_report *r)
{
	char b[32];

	printf("nodes %d (running %d), gnode size %d, seed %llu, loss %g\n",
	    r->nodes, r->running, r->gnode_size, (unsigned long long)r->seed,
	    r->loss);
	printf("joined in %.1f s, converged after %s, agree %.4f\n", r->join_s,
	    secs(r->converged_s, b, sizeof(b)), r->agree);
	printf("%d level-1 gnodes over %d levels, widest holds %d nodes, "
	       "widest parent %d gnodes; %.2f msgs/node/s (%.0f bytes/node/s); "
	       "%.0f bytes of state/node\n",
	    r->gnodes, r->levels, r->widest, r->widest_children,
	    r->msgs_per_node_s,
	    r->bytes_per_node_s, r->bytes_state_per_node);
	print_probes("probes", &r->probes);
	if (r->names.names > 0) {
		printf("names %d: %d registered, %d failed, in %.1f s\n",
		    r->names.names, r->names.registered, r->names.reg_failed,
		    r->register_s);
		print_names("names", &r->names);
	}
	if (r->crashed > 0) {
		printf("crashed %d: converged after %s, agree %.4f\n",
		    r->crashed, secs(r->crash_converged_s, b, sizeof(b)),
		    r->crash_agree);
		print_probes("  probes", &r->crash_probes);
		print_names("  names", &r->crash_names);
	}
	if (r->left > 0) {
		printf("left %d: converged after %s, agree %.4f\n", r->left,
		    secs(r->leave_converged_s, b, sizeof(b)), r->leave_agree);
		print_probes("  probes", &r->leave_probes);
		print_names("  names", &r->leave_names);
	}
	if (r->partition) {
		printf("split %.0f s (agree %.4f, %d nodes miscount their "
		       "gnode), healed: converged after %s, agree %.4f\n",
		    r->split_s, r->split_agree, r->split_members_wrong,
		    secs(r->heal_converged_s, b, sizeof(b)), r->heal_agree);
		print_probes("  probes", &r->heal_probes);
		print_names("  names", &r->heal_names);
	}
	for (int k = 0; k < r->n_attacks; k++) {
		printf("attack %s: ",
		    adv_kind_name((enum adv_kind)r->attacks[k].kind));
		adv_result_json(&r->attacks[k], stdout);
		putchar('\n');
	}
	printf("%.1f simulated s, %llu events, %llu messages; wall %.1f s, "
	       "CPU %.1f s, peak RSS %ld kB\n",
	    r->sim_s, (unsigned long long)r->counters.events,
	    (unsigned long long)r->counters.sent, r->wall_s, r->cpu_s,
	    r->peak_rss_kb);
}

int
main(int argc, char **argv)
{
	struct cli cli;
	struct sim_report r;
	const char *why = NULL;
	int err;

	memset(&cli, 0, sizeof(cli));
	sim_params_defaults(&cli.p);
	cli.max_time_s = (double)cli.p.max_time_ms / 1000;
	cli.steady_s = cli.p.steady_ms / 1000.0;
	cli.spread_s = cli.p.probe_spread_ms / 1000.0;
	cli.expiry_s = cli.p.engine.expiry_s;
	cli.min_update_s = cli.p.engine.min_update_s;
	cli.sync_s = cli.p.engine.sync_interval_ms / 1000.0;
	if (parse(&cli, argc, argv) != 0)
		return 2;
	if (cli.help) {
		usage(stdout);
		return 0;
	}
	cli.p.max_time_ms = (uint64_t)(cli.max_time_s * 1000);
	cli.p.steady_ms = (uint32_t)(cli.steady_s * 1000);
	cli.p.split_ms = (uint32_t)(cli.split_s * 1000);
	cli.p.probe_spread_ms = (uint32_t)(cli.spread_s * 1000);
	cli.p.names_spread_ms = (uint32_t)(cli.names_spread_s * 1000);
	cli.p.settle_ms = (uint32_t)(cli.settle_s * 1000);
	cli.p.names_run_ms = (uint64_t)(cli.names_run_s * 1000);
	cli.p.converge_max_ms = (uint64_t)(cli.converge_max_s * 1000);
	cli.p.attack_ms = (uint32_t)(cli.attack_s * 1000);
	if (cli.p.attacks != 0)
		cli.p.hostile = ADV_SLOTS;
	cli.p.engine.expiry_s = (uint32_t)cli.expiry_s;
	cli.p.engine.min_update_s = (uint32_t)cli.min_update_s;
	cli.p.engine.sync_interval_ms = (uint32_t)(cli.sync_s * 1000);
	cli.p.progress = cli.quiet ? NULL : stderr;
	if (cli.signatures)
		cli.p.engine.seal = MSG_SEAL_SIGNED;
	if (sim_params_check(&cli.p, &why) != 0) {
		fprintf(stderr, "andna-sim: %s (see andna-sim --help)\n", why);
		return 2;
	}
	if (crypto_init() != 0) {
		fprintf(stderr, "andna-sim: cannot initialise libsodium\n");
		return 1;
	}
	if ((err = sim_scenario_run(&cli.p, &r)) != 0) {
		fprintf(stderr, "andna-sim: %s\n", andna_strerror(err));
		return 1;
	}
	if (cli.json)
		sim_report_json(&r, stdout);
	else
		print_text(&r);
	return 0;
}
