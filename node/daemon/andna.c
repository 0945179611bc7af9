/* andna(1): the command line of an andna node.  Every command but
 * `keygen --out` is one request on the node's control socket; the node
 * renders the reply (text or JSON) and picks the exit code, which this
 * program passes on. */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "node/daemon/conf.h"
#include "node/daemon/control.h"
#include "proto/err.h"

#define DEFAULT_CONTROL "/run/andna/control"
#define REPLY_TIMEOUT_S (CONTROL_WAIT_MS / 1000 + 15)

/* The command line, once read. */
struct cli {
	const char *control;
	bool json;
	int argc;
	char **argv; /* the command and its arguments */
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: andna [--control PATH] [--json] COMMAND [ARGUMENTS]\n\n"
	    "  keygen [--out FILE]     the node's owner key, or a new key file\n"
	    "  register NAME [OPTIONS] ADDRESS... [--ttl TTL] [--key FILE]\n"
	    "  update NAME [OPTIONS] ADDRESS... [--ttl TTL]\n"
	    "                          set the address set of NAME; OPTIONS set"
	    " the fields\n"
	    "                          of the addresses after them:\n"
	    "                          --service PORT --proto tcp|udp "
	    "--priority N --weight N\n"
	    "                          --ttl: how long resolvers may keep it, "
	    "5s to 1d\n"
	    "                          (default 60s for a new name; an update"
	    " keeps it)\n"
	    "  release NAME            give NAME up\n"
	    "  resolve NAME            the addresses of NAME\n"
	    "  reverse ADDRESS[:PORT]  the names of the node at ADDRESS\n"
	    "  names                   this node's own names\n"
	    "  status                  the node's state and counters\n\n"
	    "Exit codes: 0 done, 1 other failure, 2 bad arguments, 3 node "
	    "unreachable,\n4 name not found, 5 name taken, 6 limit reached, 7 "
	    "the overlay did not answer.\nSee andna(1).\n");
}

/* Fails with `code` and a one-line reason: on stderr, or as JSON on
 * stdout with --json. */
static int
fail(const struct cli *c, int code, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(const struct cli *c, int code, const char *id, const char *fmt, ...)
{
	char msg[512], q[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->json) {
		control_json_string(msg, q, sizeof(q));
		printf("{\"ok\":false,\"error\":\"%s\",\"message\":%s}\n", id, q);
	} else {
		fprintf(stderr, "andna: %s\n", msg);
	}
	return code;
}

#define USAGE(c, ...) fail((c), CONTROL_EXIT_USAGE, "invalid", __VA_ARGS__)

/* A growing request line. */
struct line {
	char *buf;
	size_t len, cap;
};

static int
line_add(struct line *l, const char *word)
{
	size_t n = strlen(word);

	if (l->len + n + 2 > CONTROL_LINE_MAX)
		return -1;
	if (l->len + n + 2 > l->cap) {
		size_t cap = l->cap == 0 ? 1024 : l->cap * 2;
		while (cap < l->len + n + 2)
			cap *= 2;
		char *p = realloc(l->buf, cap);
		if (p == NULL)
			return -1;
		l->buf = p;
		l->cap = cap;
	}
	if (l->len > 0)
		l->buf[l->len++] = ' ';
	memcpy(l->buf + l->len, word, n + 1);
	l->len += n;
	return 0;
}

static void
line_free(struct line *l)
{
	if (l->buf != NULL)
		sodium_memzero(l->buf, l->cap); /* it may hold a secret key */
	free(l->buf);
}

/* Sends the request and passes the node's reply on; returns the exit
 * code. */
static int
transact(const struct cli *c, struct line *l)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd = -1, code;

	if (strlen(c->control) >= sizeof(sun.sun_path))
		return fail(c, CONTROL_EXIT_USAGE, "invalid",
		    "control socket path too long: %s", c->control);
	memcpy(sun.sun_path, c->control, strlen(c->control) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		code = fail(c, CONTROL_EXIT_UNREACHABLE, "node_unreachable",
		    "node unreachable: %s: %s", c->control, strerror(errno));
		goto out;
	}
	struct timeval tv = {REPLY_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	l->buf[l->len] = '\n';
	for (size_t off = 0; off < l->len + 1;) {
		ssize_t n = send(fd, l->buf + off, l->len + 1 - off,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			code = fail(c, CONTROL_EXIT_UNREACHABLE,
			    "node_unreachable", "node unreachable: %s",
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			char *p = cap <= CONTROL_REPLY_MAX + 1 ?
			    realloc(buf, cap) : NULL;
			if (p == NULL) {
				code = fail(c, CONTROL_EXIT_FAIL, "failed",
				    "the node's reply is too long");
				goto out;
			}
			buf = p;
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			code = fail(c, CONTROL_EXIT_UNREACHABLE,
			    "node_unreachable", "the node did not answer: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* EXIT SP REASON LF BODY */
	char *nl = memchr(buf, '\n', len);
	size_t i = 0;
	code = 0;
	while (nl != NULL && i < 2 && buf[i] >= '0' && buf[i] <= '9')
		code = code * 10 + (buf[i++] - '0');
	if (nl == NULL || i == 0 || buf[i] != ' ' || code > 7) {
		code = fail(c, CONTROL_EXIT_FAIL, "failed",
		    "the node's reply is malformed");
		goto out;
	}
	*nl = '\0';
	fwrite(nl + 1, 1, len - (size_t)(nl + 1 - buf), stdout);
	if (code != 0 && !c->json)
		fprintf(stderr, "andna: %s\n", buf + i + 1);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return code;
}

/* keygen --out FILE: a new key file, made here (no node needed). */
static int
keygen_file(const struct cli *c, const char *path)
{
	struct keypair kp;
	struct stat st;
	char hex[2 * ANDNA_PK_LEN + 1], q[CONFIG_PATH_MAX * 6 + 8];

	if (lstat(path, &st) == 0)
		return fail(c, CONTROL_EXIT_FAIL, "exists",
		    "%s exists; not overwriting it", path);
	keypair_generate(&kp);
	int rc = keypair_save(&kp, path);
	sodium_bin2hex(hex, sizeof(hex), kp.pk, ANDNA_PK_LEN);
	keypair_wipe(&kp);
	if (rc != 0)
		return fail(c, CONTROL_EXIT_FAIL, "failed", "%s: %s", path,
		    andna_strerror(rc));
	if (c->json) {
		control_json_string(path, q, sizeof(q));
		printf("{\"ok\":true,\"public_key\":\"%s\",\"file\":%s}\n", hex,
		    q);
	} else {
		printf("wrote %s, public key %s\n", path, hex);
	}
	return 0;
}

static int
cmd_keygen(const struct cli *c, struct line *l)
{
	if (c->argc == 3 && strcmp(c->argv[1], "--out") == 0)
		return keygen_file(c, c->argv[2]);
	if (c->argc != 1)
		return USAGE(c, "usage: andna keygen [--out FILE]");
	line_add(l, "keygen");
	return transact(c, l);
}

/* Reads a number 0..65535 for option `opt`. */
static int
read_u16(const char *s, unsigned *v)
{
	char *end;

	errno = 0;
	unsigned long x = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || x > 65535)
		return -1;
	*v = (unsigned)x;
	return 0;
}

/* register and update: NAME, then options that set the fields of the
 * addresses after them, and the addresses. */
static int
cmd_register(const struct cli *c, struct line *l)
{
	const char *verb = c->argv[0], *keyfile = NULL;
	unsigned service = 0, priority = 0, weight = 1;
	const char *proto = "none";
	bool pending = false;
	int n = 0;
	uint32_t ttl = 0;
	char word[CONTROL_WORD_MAX + 1], name[ANDNA_NAME_MAX + 1];

	if (c->argc < 3)
		return USAGE(c, "usage: andna %s NAME [--service PORT --proto "
		    "tcp|udp] [--priority N] [--weight N] ADDRESS... "
		    "[--ttl TTL]", verb);
	int rc = name_canonical(name, c->argv[1]);
	if (rc != 0)
		return USAGE(c, "%s: %s", c->argv[1], andna_strerror(rc));
	line_add(l, verb);
	line_add(l, name);
	for (int i = 2; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (strcmp(a, "--ttl") == 0) {
			if (i + 1 >= c->argc)
				return USAGE(c, "%s needs a value", a);
			const char *v = c->argv[++i];
			rc = control_ttl_parse(v, &ttl);
			if (rc == ANDNA_EREC_TTL)
				return USAGE(c, "--ttl is from %ds to 1d (%d "
				    "to %d seconds), not '%s'", ANDNA_TTL_MIN,
				    ANDNA_TTL_MIN, ANDNA_TTL_MAX, v);
			if (rc != 0)
				return USAGE(c, "--ttl takes a duration in "
				    "seconds such as 90, 10s, 5m, 1h or 1d, not "
				    "'%s'", v);
			continue;
		}
		unsigned *num = strcmp(a, "--service") == 0 ? &service :
		    strcmp(a, "--priority") == 0 ? &priority :
		    strcmp(a, "--weight") == 0 ? &weight : NULL;
		if (num != NULL || strcmp(a, "--proto") == 0 ||
		    strcmp(a, "--key") == 0) {
			if (i + 1 >= c->argc)
				return USAGE(c, "%s needs a value", a);
			const char *v = c->argv[++i];
			if (num != NULL && read_u16(v, num) != 0)
				return USAGE(c, "%s takes a number from 0 to "
				    "65535, not '%s'", a, v);
			if (a[2] == 'k') {
				if (c->argv[0][0] == 'u')
					return USAGE(c, "update signs with the "
					    "key that holds the name; no --key");
				keyfile = v;
			} else if (num == NULL) {
				if (strcmp(v, "tcp") != 0 && strcmp(v, "udp") != 0)
					return USAGE(c, "--proto takes tcp or "
					    "udp, not '%s'", v);
				proto = v;
			}
			pending = pending || a[2] != 'k';
			continue;
		}
		if (a[0] == '-')
			return USAGE(c, "unknown option '%s'", a);
		if (service != 0 && strcmp(proto, "none") == 0)
			return USAGE(c, "--service %u needs --proto tcp or udp",
			    service);
		if (service == 0 && strcmp(proto, "none") != 0)
			return USAGE(c, "--proto needs --service PORT");
		struct record_entry e;
		snprintf(word, sizeof(word), "%u/%s/%u/%u/%s", service, proto,
		    priority, weight, a);
		if (strlen(a) > ANDNA_NAME_MAX ||
		    (rc = control_entry_parse(word, &e)) != 0)
			return USAGE(c, "'%s' is not an IPv4 or IPv6 address or a "
			    "name", a);
		if (++n > ANDNA_ENTRIES_MAX)
			return fail(c, CONTROL_EXIT_LIMIT, "limit",
			    "at most %d addresses per name", ANDNA_ENTRIES_MAX);
		control_entry_format(&e, word, sizeof(word));
		line_add(l, word);
		pending = false;
	}
	if (n == 0)
		return USAGE(c, "%s needs at least one address", verb);
	if (pending)
		return USAGE(c, "--service, --proto, --priority and --weight "
		    "apply to the addresses after them");
	if (ttl != 0) {
		snprintf(word, sizeof(word), "ttl=%u", (unsigned)ttl);
		line_add(l, word);
	}
	if (keyfile != NULL) {
		struct keypair kp;
		char hex[4 + 2 * ANDNA_SK_LEN + 1];
		rc = keypair_load(&kp, keyfile);
		if (rc != 0)
			return fail(c, CONTROL_EXIT_FAIL, "key", "%s: %s",
			    keyfile, andna_strerror(rc));
		memcpy(hex, "key=", 4);
		sodium_bin2hex(hex + 4, sizeof(hex) - 4, kp.sk, ANDNA_SK_LEN);
		keypair_wipe(&kp);
		rc = line_add(l, hex);
		sodium_memzero(hex, sizeof(hex));
		if (rc != 0)
			return fail(c, CONTROL_EXIT_LIMIT, "limit",
			    "too many addresses for one request");
	}
	return transact(c, l);
}

/* Commands of one fixed shape: VERB, or VERB ARG. */
static int
cmd_simple(const struct cli *c, struct line *l, int nargs, const char *args)
{
	if (c->argc != nargs + 1)
		return USAGE(c, "usage: andna %s%s", c->argv[0], args);
	for (int i = 0; i < c->argc; i++)
		if (line_add(l, c->argv[i]) != 0 || strchr(c->argv[i], ' '))
			return USAGE(c, "bad argument '%s'", c->argv[i]);
	for (const char *p = l->buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return USAGE(c, "arguments must be printable ASCII");
	return transact(c, l);
}

int
main(int argc, char **argv)
{
	struct cli c = {.control = DEFAULT_CONTROL};
	struct line l = {0};
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	int code;

	if (rest == NULL)
		return CONTROL_EXIT_FAIL;
	/* --json and --control go anywhere; the rest is the command */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c.json = true;
		else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc)
			c.control = argv[++i];
		else if (strncmp(argv[i], "--control=", 10) == 0)
			c.control = argv[i] + 10;
		else
			rest[c.argc++] = argv[i];
	}
	c.argv = rest;
	if (c.argc == 0 && c.json) {
		free(rest);
		return USAGE(&c, "no command given (try andna --help)");
	}
	if (c.argc == 0 || strcmp(rest[0], "-h") == 0 ||
	    strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "help") == 0) {
		usage(c.argc == 0 ? stderr : stdout);
		free(rest);
		return c.argc == 0 ? CONTROL_EXIT_USAGE : 0;
	}
	if (strcmp(rest[0], "--version") == 0) {
		printf("andna %s\n", PACKAGE_VERSION);
		free(rest);
		return 0;
	}
	if (crypto_init() != 0) {
		free(rest);
		return fail(&c, CONTROL_EXIT_FAIL, "failed",
		    "cannot initialise libsodium");
	}
	line_add(&l, c.json ? "json" : "text");
	const char *cmd = rest[0];
	if (strcmp(cmd, "keygen") == 0)
		code = cmd_keygen(&c, &l);
	else if (strcmp(cmd, "register") == 0 || strcmp(cmd, "update") == 0)
		code = cmd_register(&c, &l);
	else if (strcmp(cmd, "release") == 0 || strcmp(cmd, "resolve") == 0)
		code = cmd_simple(&c, &l, 1, " NAME");
	else if (strcmp(cmd, "reverse") == 0)
		code = cmd_simple(&c, &l, 1, " ADDRESS[:PORT]");
	else if (strcmp(cmd, "names") == 0 || strcmp(cmd, "status") == 0)
		code = cmd_simple(&c, &l, 0, "");
	else
		code = USAGE(&c, "unknown command '%s' (try andna --help)", cmd);
	line_free(&l);
	free(rest);
	return code;
}
