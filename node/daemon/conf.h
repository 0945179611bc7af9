/* andnad's configuration: one table of options (name, type, range,
 * default, help) fills one struct.  The defaults come first, then the
 * configuration file (`key = value` lines, `#` comments), then the command
 * line flags; each later source overrides the earlier ones.  andnad.conf(5)
 * documents every option of the table. */
#ifndef ANDNA_NODE_CONF_H
#define ANDNA_NODE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "node/dns/dns_front.h"
#include "node/engine/engine.h"
#include "proto/types.h"

#define CONFIG_PORT 7269     /* overlay port, UDP and TCP */
#define CONFIG_DNS_PORT 53   /* DNS port, UDP and TCP */
#define CONFIG_HTTP_PORT 7270 /* the status page's port, TCP */
#define CONFIG_PATH_MAX 256  /* longest path */
#define CONFIG_WORD_MAX 256  /* longest word of a list (a host:port) */
#define CONFIG_ADDRS_MAX 8   /* addresses in one address list */
#define CONFIG_WORDS_MAX 16  /* words in one word list */
#define CONFIG_NETS_MAX 32   /* networks in one network list */
_Static_assert(CONFIG_NETS_MAX <= DNS_FRONT_MAX_NETS,
    "a network list must fit the DNS front's");
#define CONFIG_LINE_MAX 4096 /* longest line of the file */
#define CONFIG_FILE_MAX (1u << 20)
#define CONFIG_ERR_MAX 512   /* room for an error message */
#define CONFIG_FLAGS_MAX 64  /* flags on one command line */

/* A list of numeric addresses with ports. */
struct config_addrs {
	int n;
	struct endpoint v[CONFIG_ADDRS_MAX];
};

/* A list of words (host:port pairs, DNS suffixes). */
struct config_words {
	int n;
	char v[CONFIG_WORDS_MAX][CONFIG_WORD_MAX];
};

/* A list of client networks; `local` stands for loopback and the
 * networks of the host's interfaces, found when the DNS front starts. */
struct config_nets {
	int n;
	bool local;
	struct dns_net v[CONFIG_NETS_MAX];
};

/* Every option's value.  Durations are kept in the unit the field's name
 * says; the file and flags may write them with any unit. */
struct config {
	/* the node */
	char data_dir[CONFIG_PATH_MAX];
	char control[CONFIG_PATH_MAX];
	char control_group[64];
	char pid_file[CONFIG_PATH_MAX];
	char user[64];
	bool foreground;
	int verbose;
	int log_rate;
	/* the overlay ports */
	struct config_addrs listen;
	struct config_addrs advertise;
	struct config_words bootstrap;
	bool discover;
	struct config_words mesh_interfaces;
	uint32_t discover_interval_ms;
	int rate_limit;
	int rate_burst;
	int tcp_max_conns;
	int tcp_conns_per_source;
	uint32_t tcp_idle_ms;
	uint32_t tcp_frame_ms;
	/* the store */
	size_t map_size;
	size_t map_max;
	/* the DNS front */
	struct config_addrs dns_listen;
	struct config_addrs dns_upstream;
	struct config_words dns_suffix;
	int dns_rate_limit;
	struct config_nets dns_allow;
	struct config_nets dns_rate_exempt;
	char dns_resolv_conf[CONFIG_PATH_MAX];
	uint32_t dns_timeout_ms;
	bool dns_probe;
	int dns_probe_port;
	uint32_t dns_probe_interval_ms;
	/* the status page */
	struct config_addrs http_listen;
	int http_rate_limit;
	/* the engine's tunables */
	struct engine_config engine;
	/* where each option's value came from: enum config_source, by the
	 * option's index in the table */
	uint8_t src[64];
};

/* Where a value came from; a later source overrides an earlier one, and
 * the first value of a list from a new source replaces the whole list. */
enum config_source {
	CONFIG_SRC_DEFAULT,
	CONFIG_SRC_FILE,
	CONFIG_SRC_FLAG,
};

enum config_type {
	CONFIG_BOOL,    /* yes/no, true/false, on/off, 1/0 */
	CONFIG_INT,     /* int, within [min, max] */
	CONFIG_MS,      /* uint32_t milliseconds; a duration such as 500ms,
			 * 2s, 5m, 1h, 30d (no unit: seconds) */
	CONFIG_SECONDS, /* uint32_t seconds; a duration in whole seconds */
	CONFIG_SIZE,    /* size_t bytes; a number with K, M, G or T */
	CONFIG_STRING,  /* one word of printable ASCII, length in [min, max] */
	CONFIG_PATH,    /* an absolute path, or empty if min is 0 */
	CONFIG_ADDRS,   /* numeric ADDR[:PORT] list; [v6]:port */
	CONFIG_HOSTS,   /* HOST[:PORT] list, resolved when used */
	CONFIG_NAMES,   /* list of DNS names (canonicalised) */
	CONFIG_NETS,    /* list of ADDR/PREFIX networks and `local` */
	CONFIG_IFNAMES, /* list of network interface names */
};

/* One option of the table. */
struct config_option {
	const char *name;   /* in the file; the flag is --name with '-' */
	enum config_type type;
	size_t off;         /* of the value in struct config */
	size_t size;        /* of the value */
	long long min, max; /* numbers: range in the field's unit; strings
			     * and paths: length */
	uint16_t port;      /* ADDRS and HOSTS: port when a word has none */
	bool live;          /* SIGHUP applies it without a restart */
	const char *def;    /* default, as text in the file's syntax */
	const char *arg;    /* what the value is, for --help */
	const char *help;
};

/* The table, in the order of andnad.conf(5); *n gets its length. */
const struct config_option *config_options(size_t *n);

/* The option called `name` (file syntax, or flag syntax with '-'), or
 * NULL. */
const struct config_option *config_find(const char *name);

/* Fills `c` with the defaults of the table. */
void config_defaults(struct config *c);

/* Sets option `name` from the text `value` given by `src`.  Returns 0, or
 * ANDNA_EINVAL with a one-line reason in `err` (unknown option, bad value,
 * out of range, list full). */
int config_set(struct config *c, const char *name, const char *value,
    enum config_source src, char *err, size_t errlen);

/* Reads configuration text (`len` bytes, `fname` names it in errors) over
 * `c`.  Returns 0, or ANDNA_EINVAL with "FNAME:LINE: reason" in `err` for
 * the first bad line. */
int config_parse(struct config *c, const char *text, size_t len,
    const char *fname, char *err, size_t errlen);

/* Reads the file at `path` over `c`.  Returns 0, ANDNA_ENOTFOUND (no such
 * file), ANDNA_EIO (cannot read it, or over CONFIG_FILE_MAX bytes) or
 * ANDNA_EINVAL as config_parse(); `err` says which. */
int config_load_file(struct config *c, const char *path, char *err,
    size_t errlen);

/* The command line of andnad, read once and applied over the file as
 * often as the configuration is loaded (at start and on SIGHUP). */
struct config_flags {
	const char *config_file; /* --config, or NULL */
	int verbose;             /* -v count, added to the option */
	bool help, version;      /* -h/--help, -V/--version */
	int n;
	struct {
		const struct config_option *opt;
		const char *value; /* points into argv */
	} v[CONFIG_FLAGS_MAX];
};

/* Reads argv into `f` (nothing is applied yet): --NAME VALUE,
 * --NAME=VALUE, --BOOL, --config FILE, -v, -f (--foreground), -h, -V.
 * Returns 0, or ANDNA_EINVAL with the reason in `err`. */
int config_flags_parse(struct config_flags *f, int argc, char **argv,
    char *err, size_t errlen);

/* Applies the flags over `c`.  Returns 0 or ANDNA_EINVAL with "--NAME:
 * reason" in `err`. */
int config_flags_apply(const struct config_flags *f, struct config *c,
    char *err, size_t errlen);

/* Fills `c` as andnad does: defaults, then the file (f->config_file, or
 * `default_file` if that exists), then the flags.  Returns 0, or an error
 * with the reason in `err`. */
int config_load(struct config *c, const struct config_flags *f,
    const char *default_file, char *err, size_t errlen);

/* Whether option `o` has the same value in `a` and `b`. */
bool config_equal(const struct config_option *o, const struct config *a,
    const struct config *b);

/* Writes the value of `o` in `c` in the file's syntax to `buf`. */
void config_format(const struct config_option *o, const struct config *c,
    char *buf, size_t len);

/* Prints every option with its default and help, for --help. */
void config_usage(FILE *out);

/* Parses a duration in whole seconds as the file takes one: digits and a
 * unit (s, m, h or d; none means seconds; ms when it makes whole
 * seconds).  Returns 0 and *secs, or ANDNA_EINVAL. */
int config_parse_seconds(const char *s, uint64_t *secs);

/* Parses "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT" (numeric; `port` when
 * none is given).  Returns 0 or ANDNA_EINVAL. */
int config_parse_endpoint(const char *s, uint16_t port, struct endpoint *out);

/* Writes "a.b.c.d:port" or "[v6]:port" to `buf` (at least 48 bytes). */
void config_format_endpoint(const struct endpoint *ep, char *buf, size_t len);

/* Splits "HOST:PORT", "HOST", "[V6]:PORT" into host and port; returns 0
 * or ANDNA_EINVAL. */
int config_split_host(const char *s, uint16_t defport, char *host,
    size_t hostlen, uint16_t *port);

#endif
