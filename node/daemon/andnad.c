/* andnad(8): the andna node daemon.  Reads the configuration, detaches
 * unless told to stay in the foreground, and runs the daemon until SIGTERM
 * or SIGINT; SIGHUP loads the configuration again. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "node/daemon/conf.h"
#include "node/daemon/daemon.h"
#include "node/daemon/log.h"
#include "proto/err.h"

#ifndef ANDNA_SYSCONFDIR
#define ANDNA_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG ANDNA_SYSCONFDIR "/andna/andnad.conf"

/* What SIGHUP needs to load the configuration again. */
struct reload_ctx {
	const struct config_flags *flags;
};

static int
reload_cb(void *arg, struct config *out, char *err, size_t errlen)
{
	struct reload_ctx *r = arg;

	return config_load(out, r->flags, DEFAULT_CONFIG, err, errlen);
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: andnad [--config FILE] [--data-dir DIR] "
	    "[--listen ADDR:PORT]... [--bootstrap HOST:PORT]...\n"
	    "              [--control PATH] [--dns-listen ADDR:PORT]... "
	    "[--foreground] [-v] [--pid-file FILE]\n\n"
	    "The andna node: joins the overlay, holds its share of the names "
	    "and answers\nthe andna command on the control socket.  Without "
	    "--config it reads\n%s if that exists.  See andnad(8) and "
	    "andnad.conf(5).\n\n", DEFAULT_CONFIG);
	config_usage(out);
}

/* Forks into the background.  The parent waits until the child says it
 * is ready (a byte on the pipe) and exits 0, or 1 if the child failed
 * (it has said why on stderr).  Returns the child's end of the pipe. */
static int
daemonize(void)
{
	int p[2];
	char ok;

	if (pipe(p) != 0) {
		perror("andnad: pipe");
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("andnad: fork");
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		ssize_t n;
		do {
			n = read(p[0], &ok, 1);
		} while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	setsid();
	if (chdir("/") != 0)
		return -1;
	return p[1];
}

/* Tells the waiting parent that start-up is done, and lets go of the
 * terminal: stdio goes to /dev/null, the log to syslog. */
static void
detach_done(int ready_fd, struct log *lg)
{
	int null = open("/dev/null", O_RDWR);

	log_to_syslog(lg);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (write(ready_fd, "", 1) != 1)
		log_warn(lg, "cannot tell the parent process we are ready");
	close(ready_fd);
}

static int
write_pid_file(const char *path, struct log *lg)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		log_err(lg, "cannot write the pid file %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct config_flags flags;
	struct config cfg;
	struct log lg;
	struct daemon *d = NULL;
	char err[CONFIG_ERR_MAX];
	int ready_fd = -1, rc;
	bool ran = false;

	if (config_flags_parse(&flags, argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "andnad: %s\n", err);
		return 2;
	}
	if (flags.help) {
		usage(stdout);
		return 0;
	}
	if (flags.version) {
		printf("andnad %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (config_load(&cfg, &flags, DEFAULT_CONFIG, err, sizeof(err)) != 0) {
		fprintf(stderr, "andnad: %s\n", err);
		return 2;
	}
	if (crypto_init() != 0) {
		fprintf(stderr, "andnad: cannot initialise libsodium\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init(&lg, "andnad", cfg.verbose, cfg.log_rate);
	if (!cfg.foreground && (ready_fd = daemonize()) < 0)
		return 1;
	if (cfg.pid_file[0] != '\0' && write_pid_file(cfg.pid_file, &lg) != 0)
		return 1;
	struct reload_ctx rctx = {&flags};
	rc = daemon_new(&cfg, &lg, &d);
	if (rc == 0) {
		daemon_set_reload(d, reload_cb, &rctx);
		rc = daemon_drop_privileges(d);
	}
	if (rc == 0)
		rc = daemon_start(d);
	if (rc == 0) {
		if (ready_fd >= 0)
			detach_done(ready_fd, &lg);
		log_info(&lg, "andnad %s started", PACKAGE_VERSION);
		ran = true;
		rc = daemon_run(d);
	}
	daemon_free(d);
	if (cfg.pid_file[0] != '\0')
		unlink(cfg.pid_file);
	/* what went wrong was logged where it happened */
	if (rc == 0)
		log_info(&lg, "stopped");
	else
		log_err(&lg, ran ? "stopped after an error" : "not started");
	log_fini(&lg);
	return rc == 0 ? 0 : 1;
}
