/* Logging for andnad: lines in words an operator understands, to stderr in
 * the foreground and to syslog as a daemon.  Messages about bad input from
 * the network go through a token bucket per kind of message, so a flood of
 * garbage costs a few lines a minute and a count of what was left out,
 * never a full disk. */
#ifndef ANDNA_NODE_LOG_H
#define ANDNA_NODE_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* How much a line matters.  A line is written when its level is at most
 * LOG_LEVEL_INFO + verbose. */
enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG, /* -v */
	LOG_LEVEL_TRACE, /* -vv: every dropped packet, every connection */
};

/* Kinds of lines that outsiders can cause; each has its own bucket. */
enum log_kind {
	LOG_KIND_NONE,    /* not rate limited: our own doing */
	LOG_KIND_INPUT,   /* malformed, oversized or truncated input */
	LOG_KIND_RATE,    /* a source over its rate limit */
	LOG_KIND_CONN,    /* connection limits, accept and connect errors */
	LOG_KIND_SEND,    /* sending failed */
	LOG_KIND_CONTROL, /* bad requests on the control socket */
	LOG_KIND_ENGINE,  /* what the engine says */
	LOG_KIND_MAX
};

/* Burst of a bucket: lines of one kind written before the rate applies. */
#define LOG_BURST 10

/* A bucket of one kind. */
struct log_bucket {
	double tokens;
	uint64_t last_ms;
	uint64_t suppressed; /* lines left out since the last one written */
};

/* A logger; embed it and set it up with log_init(). */
struct log {
	const char *ident;
	int verbose;     /* 0 and up: -v count */
	int per_min;     /* lines per minute per rate-limited kind */
	bool use_syslog; /* else stderr */
	struct log_bucket b[LOG_KIND_MAX];
};

/* Sets up `lg` to write to stderr, with `ident` (kept, not copied) naming
 * the program. */
void log_init(struct log *lg, const char *ident, int verbose, int per_min);

/* Sends every later line to syslog (facility daemon) instead of stderr. */
void log_to_syslog(struct log *lg);

/* Changes the verbosity and the rate of limited kinds (SIGHUP). */
void log_set(struct log *lg, int verbose, int per_min);

/* Closes syslog if it was opened. */
void log_fini(struct log *lg);

/* Whether a line of `level` would be written. */
bool log_enabled(const struct log *lg, enum log_level level);

/* Writes one line (printf format, no newline); bytes that are not
 * printable ASCII are shown as '?', so input quoted in a message cannot
 * forge lines.  `func` is shown from -vv on.  Lines of a kind other than
 * LOG_KIND_NONE are rate limited. */
void log_msg(struct log *lg, enum log_level level, enum log_kind kind,
    const char *func, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define log_err(lg, ...)                                                       \
	log_msg((lg), LOG_LEVEL_ERR, LOG_KIND_NONE, __func__, __VA_ARGS__)
#define log_warn(lg, ...)                                                      \
	log_msg((lg), LOG_LEVEL_WARN, LOG_KIND_NONE, __func__, __VA_ARGS__)
#define log_info(lg, ...)                                                      \
	log_msg((lg), LOG_LEVEL_INFO, LOG_KIND_NONE, __func__, __VA_ARGS__)
#define log_debug(lg, ...)                                                     \
	log_msg((lg), LOG_LEVEL_DEBUG, LOG_KIND_NONE, __func__, __VA_ARGS__)
/* A rate-limited line about something an outsider caused. */
#define log_limited(lg, level, kind, ...)                                      \
	log_msg((lg), (level), (kind), __func__, __VA_ARGS__)

#endif
