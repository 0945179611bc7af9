/* Logging for andnad (see log.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "node/daemon/log.h"

static const char *const level_names[] = {
	"error", "warning", "info", "debug", "trace"
};
static const int level_prio[] = {
	LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG
};

void
log_init(struct log *lg, const char *ident, int verbose, int per_min)
{
	memset(lg, 0, sizeof(*lg));
	lg->ident = ident;
	lg->verbose = verbose;
	lg->per_min = per_min > 0 ? per_min : 1;
	for (int k = 0; k < LOG_KIND_MAX; k++)
		lg->b[k].tokens = LOG_BURST;
}

void
log_to_syslog(struct log *lg)
{
	if (!lg->use_syslog)
		openlog(lg->ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	lg->use_syslog = true;
}

void
log_set(struct log *lg, int verbose, int per_min)
{
	lg->verbose = verbose;
	lg->per_min = per_min > 0 ? per_min : 1;
}

void
log_fini(struct log *lg)
{
	if (lg->use_syslog)
		closelog();
	lg->use_syslog = false;
}

bool
log_enabled(const struct log *lg, enum log_level level)
{
	return (int)level <= LOG_LEVEL_INFO + lg->verbose;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Takes a token from the bucket of `kind`; false if it is empty. */
static bool
bucket_take(struct log *lg, enum log_kind kind)
{
	struct log_bucket *b = &lg->b[kind];
	uint64_t now = mono_ms();

	if (b->last_ms != 0 && now > b->last_ms)
		b->tokens += (double)(now - b->last_ms) * lg->per_min / 60000.0;
	if (b->tokens > LOG_BURST)
		b->tokens = LOG_BURST;
	b->last_ms = now;
	if (b->tokens < 1.0) {
		b->suppressed++;
		return false;
	}
	b->tokens -= 1.0;
	return true;
}

/* Replaces what a terminal or a log reader could take for control. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

void
log_msg(struct log *lg, enum log_level level, enum log_kind kind,
    const char *func, const char *fmt, ...)
{
	char msg[512], extra[80] = "";
	va_list ap;

	if (!log_enabled(lg, level))
		return;
	if (kind != LOG_KIND_NONE && kind < LOG_KIND_MAX) {
		if (!bucket_take(lg, kind))
			return;
		if (lg->b[kind].suppressed > 0) {
			snprintf(extra, sizeof(extra),
			    " (%llu similar messages suppressed)",
			    (unsigned long long)lg->b[kind].suppressed);
			lg->b[kind].suppressed = 0;
		}
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sanitize(msg);
	const char *fn = lg->verbose >= 2 && func != NULL ? func : "";
	const char *sep = *fn != '\0' ? ": " : "";
	if (lg->use_syslog) {
		syslog(level_prio[level], "%s%s%s%s", fn, sep, msg, extra);
		return;
	}
	char stamp[32] = "";
	time_t t = time(NULL);
	struct tm tm;
	if (localtime_r(&t, &tm) != NULL)
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s %s: %s: %s%s%s%s\n", stamp, lg->ident,
	    level_names[level], fn, sep, msg, extra);
}
