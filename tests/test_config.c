/* andnad's configuration: every option type with its ranges, the file
 * reader with its line-numbered errors, list replacement by a later
 * source, and flags over the file. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/daemon/conf.h"
#include "proto/err.h"

static char err[CONFIG_ERR_MAX];

/* Sets `name` to `value` from the file; returns the code. */
static int
set(struct config *c, const char *name, const char *value)
{
	err[0] = '\0';
	return config_set(c, name, value, CONFIG_SRC_FILE, err, sizeof(err));
}

/* Parses `text` as a file named t.conf over the defaults. */
static int
parse(struct config *c, const char *text)
{
	config_defaults(c);
	err[0] = '\0';
	return config_parse(c, text, strlen(text), "t.conf", err, sizeof(err));
}

/* The table's defaults are those of the engine and DESIGN.md. */
static void
test_defaults(void **state)
{
	struct config c;
	struct engine_config e;

	config_defaults(&c);
	engine_config_defaults(&e);
	assert_memory_equal(&c.engine, &e, sizeof(e));
	assert_string_equal(c.data_dir, "/var/lib/andna");
	assert_string_equal(c.control, "/run/andna/control");
	assert_string_equal(c.pid_file, "");
	assert_false(c.foreground);
	assert_int_equal(c.listen.n, 2);
	assert_int_equal(c.listen.v[0].family, 4);
	assert_int_equal(c.listen.v[0].port, CONFIG_PORT);
	assert_int_equal(c.listen.v[1].family, 6);
	assert_int_equal(c.dns_listen.n, 2);
	assert_int_equal(c.dns_listen.v[1].port, 53);
	assert_int_equal(c.dns_suffix.n, 1);
	assert_string_equal(c.dns_suffix.v[0], "ntk");
	assert_int_equal(c.bootstrap.n, 0);
	assert_true(c.discover);
	assert_int_equal(c.mesh_interfaces.n, 0);
	assert_int_equal(c.discover_interval_ms, 5000);
	assert_int_equal(c.map_size, 64u << 20);
	assert_int_equal(c.tcp_idle_ms, 60000);
}

static void
test_bool(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_int_equal(set(&c, "foreground", "yes"), 0);
	assert_true(c.foreground);
	assert_int_equal(set(&c, "foreground", "off"), 0);
	assert_false(c.foreground);
	assert_int_equal(set(&c, "foreground", "1"), 0);
	assert_true(c.foreground);
	assert_int_equal(set(&c, "foreground", "maybe"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "yes or no"));
	assert_true(c.foreground);
}

static void
test_int(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_int_equal(set(&c, "gnode_size", "16"), 0);
	assert_int_equal(c.engine.gnode_size, 16);
	assert_int_equal(set(&c, "gnode_size", "256"), 0);
	assert_int_equal(set(&c, "gnode_size", "1"), 0);
	assert_int_equal(set(&c, "gnode_size", "0"), ANDNA_EINVAL);
	assert_string_equal(err, "'gnode_size' must be between 1 and 256");
	assert_int_equal(set(&c, "gnode_size", "257"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "gnode_size", "-3"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "gnode_size", "12x"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "gnode_size", ""), ANDNA_EINVAL);
	assert_int_equal(set(&c, "gnode_size", "+5"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "gnode_size",
	    "99999999999999999999999"), ANDNA_EINVAL);
	assert_int_equal(c.engine.gnode_size, 1);
	assert_int_equal(set(&c, "queue_len", "0"), 0);
	assert_int_equal(c.engine.queue_len, 0);
}

static void
test_duration(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_int_equal(set(&c, "ping_interval", "500ms"), 0);
	assert_int_equal(c.engine.ping_interval_ms, 500);
	assert_int_equal(set(&c, "ping_interval", "2s"), 0);
	assert_int_equal(c.engine.ping_interval_ms, 2000);
	assert_int_equal(set(&c, "ping_interval", "3"), 0);
	assert_int_equal(c.engine.ping_interval_ms, 3000);
	assert_int_equal(set(&c, "ping_interval", "1m"), 0);
	assert_int_equal(c.engine.ping_interval_ms, 60000);
	assert_int_equal(set(&c, "ping_interval", "5ms"), ANDNA_EINVAL);
	assert_string_equal(err, "'ping_interval' must be between 10ms and 10m");
	assert_int_equal(set(&c, "ping_interval", "2w"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "duration"));
	assert_int_equal(set(&c, "ping_interval", "s"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "ping_interval", "99999999999999999d"),
	    ANDNA_EINVAL);
	assert_int_equal(c.engine.ping_interval_ms, 60000);
	/* whole seconds */
	assert_int_equal(set(&c, "expiry", "30d"), 0);
	assert_int_equal(c.engine.expiry_s, 30 * 86400);
	assert_int_equal(set(&c, "expiry", "90s"), 0);
	assert_int_equal(c.engine.expiry_s, 90);
	assert_int_equal(set(&c, "expiry", "1500ms"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "whole seconds"));
	assert_int_equal(set(&c, "expiry", "400d"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "min_update_interval", "0"), 0);
	assert_int_equal(c.engine.min_update_s, 0);
}

static void
test_size(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_int_equal(set(&c, "map_size", "128M"), 0);
	assert_int_equal(c.map_size, 128u << 20);
	assert_int_equal(set(&c, "map_max", "2g"), 0);
	assert_int_equal(c.map_max, (size_t)2 << 30);
	assert_int_equal(set(&c, "map_size", "1048576"), 0);
	assert_int_equal(c.map_size, 1u << 20);
	assert_int_equal(set(&c, "map_size", "512K"), ANDNA_EINVAL);
	assert_string_equal(err, "'map_size' must be between 1M and 1T");
	assert_int_equal(set(&c, "map_size", "1MB"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "map_size", "1X"), ANDNA_EINVAL);
	assert_int_equal(c.map_size, 1u << 20);
}

static void
test_string_path(void **state)
{
	struct config c;
	char long_path[CONFIG_PATH_MAX + 8];

	config_defaults(&c);
	assert_int_equal(set(&c, "control_group", "andna"), 0);
	assert_string_equal(c.control_group, "andna");
	assert_int_equal(set(&c, "control_group", "two words"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "control_group", "tab\there"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "control_group", ""), 0);
	assert_string_equal(c.control_group, "");
	assert_int_equal(set(&c, "data_dir", "/srv/andna node"), 0);
	assert_string_equal(c.data_dir, "/srv/andna node");
	assert_int_equal(set(&c, "data_dir", "relative/dir"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(set(&c, "data_dir", ""), ANDNA_EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(set(&c, "pid_file", ""), 0);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(set(&c, "data_dir", long_path), ANDNA_EINVAL);
	/* a unix socket path has room for 107 characters */
	long_path[108] = '\0';
	assert_int_equal(set(&c, "control", long_path), ANDNA_EINVAL);
	long_path[107] = '\0';
	assert_int_equal(set(&c, "control", long_path), 0);
}

static void
test_addrs(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_int_equal(set(&c, "listen", "127.0.0.1 [::1]:7000"), 0);
	assert_int_equal(c.listen.n, 2);
	assert_int_equal(c.listen.v[0].family, 4);
	assert_int_equal(c.listen.v[0].port, CONFIG_PORT);
	assert_memory_equal(c.listen.v[0].ip, "\x7f\x00\x00\x01", 4);
	assert_int_equal(c.listen.v[1].family, 6);
	assert_int_equal(c.listen.v[1].port, 7000);
	assert_int_equal(c.listen.v[1].ip[15], 1);
	/* a second line of the same source appends */
	assert_int_equal(set(&c, "listen", "10.1.2.3:9"), 0);
	assert_int_equal(c.listen.n, 3);
	assert_int_equal(set(&c, "dns_listen", "127.0.0.1"), 0);
	assert_int_equal(c.dns_listen.v[0].port, 53);
	assert_int_equal(set(&c, "listen", "1.2.3.4:0"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "listen", "1.2.3.4:65536"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "listen", "host.example:1"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "numeric"));
	assert_int_equal(set(&c, "listen", "[::1"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "listen", "1.2.3.4:"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "listen", "::1"), 0); /* bare IPv6 */
	assert_int_equal(c.listen.v[3].family, 6);
	assert_int_equal(c.listen.v[3].port, CONFIG_PORT);
	assert_int_equal(set(&c, "listen", "1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 "
	    "5.5.5.5"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "at most 8"));
	/* an empty value empties the list */
	assert_int_equal(set(&c, "advertise", ""), 0);
	assert_int_equal(c.advertise.n, 0);
}

/* Network lists: CIDR of both families, `local`, empty, bad values. */
static void
test_nets(void **state)
{
	struct config c;
	char buf[512];

	config_defaults(&c);
	/* the defaults: forwarding for loopback and the interfaces'
	 * networks, loopback not rate limited */
	assert_true(c.dns_allow.local);
	assert_int_equal(c.dns_allow.n, 0);
	assert_false(c.dns_rate_exempt.local);
	assert_int_equal(c.dns_rate_exempt.n, 2);
	assert_int_equal(c.dns_rate_exempt.v[0].family, 4);
	assert_int_equal(c.dns_rate_exempt.v[0].prefix, 8);
	assert_int_equal(c.dns_rate_exempt.v[1].family, 6);
	assert_int_equal(c.dns_rate_exempt.v[1].prefix, 128);
	assert_int_equal(set(&c, "dns_allow",
	    "127.0.0.0/8 ::1/128 192.168.1.77/24 fd00::/8 10.0.0.1"), 0);
	assert_false(c.dns_allow.local);
	assert_int_equal(c.dns_allow.n, 5);
	assert_int_equal(c.dns_allow.v[2].ip[3], 0); /* host bits cleared */
	assert_int_equal(c.dns_allow.v[4].prefix, 32);
	config_format(config_find("dns_allow"), &c, buf, sizeof(buf));
	assert_string_equal(buf,
	    "127.0.0.0/8 ::1/128 192.168.1.0/24 fd00::/8 10.0.0.1/32");
	assert_int_equal(set(&c, "dns_allow", "local 10.0.0.0/8"), 0);
	assert_true(c.dns_allow.local);
	assert_int_equal(c.dns_allow.n, 6);
	/* an empty list: nobody */
	assert_int_equal(parse(&c, "dns_allow =\ndns_rate_exempt =\n"), 0);
	assert_false(c.dns_allow.local);
	assert_int_equal(c.dns_allow.n, 0);
	assert_int_equal(c.dns_rate_exempt.n, 0);
	/* bad values say what is wrong and what a right one looks like */
	assert_int_equal(set(&c, "dns_allow", "10.0.0.0/33"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "0 to 32"));
	assert_non_null(strstr(err, "192.168.1.0/24"));
	assert_int_equal(set(&c, "dns_rate_exempt", "::1/200"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "0 to 128"));
	assert_non_null(strstr(err, "dns_rate_exempt"));
	assert_int_equal(set(&c, "dns_allow", "10.0.0.0/x"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "prefix length"));
	assert_int_equal(set(&c, "dns_allow", "lan.example/24"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "numeric networks ADDRESS/PREFIX"));
	assert_non_null(strstr(err, "'lan.example/24'"));
	assert_int_equal(set(&c, "dns_allow", "10.0.0/8"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "numeric"));
	assert_int_equal(set(&c, "dns_allow", "10.0.0.0:53"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "dns_allow", "/8"), ANDNA_EINVAL);
	assert_int_equal(parse(&c, "dns_allow = 10.0.0.0/8 lan\n"),
	    ANDNA_EINVAL);
	assert_non_null(strstr(err, "t.conf:1:"));
	assert_non_null(strstr(err, "'lan'"));
	/* at most CONFIG_NETS_MAX */
	config_defaults(&c);
	for (int i = 0; i < CONFIG_NETS_MAX; i++) {
		snprintf(buf, sizeof(buf), "10.0.%d.0/24", i);
		assert_int_equal(set(&c, "dns_allow", buf), 0);
	}
	assert_int_equal(set(&c, "dns_allow", "10.1.0.0/16"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "at most 32 networks"));
}

static void
test_hosts_names(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_int_equal(set(&c, "bootstrap", "node1.mesh:7000 10.0.0.1 "
	    "[fd00::1]:7269"), 0);
	assert_int_equal(c.bootstrap.n, 3);
	assert_string_equal(c.bootstrap.v[0], "node1.mesh:7000");
	assert_int_equal(set(&c, "bootstrap", "bad/host"), ANDNA_EINVAL);
	assert_int_equal(set(&c, "bootstrap", "host:99999"), ANDNA_EINVAL);
	assert_int_equal(c.bootstrap.n, 3);

	/* interface names as the kernel takes them: 15 bytes, no '/' */
	assert_int_equal(set(&c, "mesh_interfaces", "wlan0-mesh eth0.12 "
	    "bat0"), 0);
	assert_int_equal(c.mesh_interfaces.n, 3);
	assert_string_equal(c.mesh_interfaces.v[1], "eth0.12");
	assert_int_equal(set(&c, "mesh_interfaces", "a/b"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "mesh_interfaces"));
	assert_int_equal(set(&c, "mesh_interfaces", "abcdefghijklmnop"),
	    ANDNA_EINVAL);
	assert_int_equal(set(&c, "mesh_interfaces", "abcdefghijklmno"), 0);
	assert_int_equal(set(&c, "mesh_interfaces", ""), 0);
	assert_int_equal(c.mesh_interfaces.n, 0);
	assert_int_equal(set(&c, "discover", "no"), 0);
	assert_false(c.discover);
	assert_int_equal(set(&c, "discover_interval", "50ms"), ANDNA_EINVAL);

	char host[64];
	uint16_t port;
	assert_int_equal(config_split_host("node1.mesh:7000", 1, host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "node1.mesh");
	assert_int_equal(port, 7000);
	assert_int_equal(config_split_host("[fd00::1]", 7269, host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "fd00::1");
	assert_int_equal(port, 7269);

	assert_int_equal(set(&c, "dns_suffix", "NTK mesh.LAN."), 0);
	assert_int_equal(c.dns_suffix.n, 2);
	assert_string_equal(c.dns_suffix.v[0], "ntk");
	assert_string_equal(c.dns_suffix.v[1], "mesh.lan");
	assert_int_equal(set(&c, "dns_suffix", "bad..name"), ANDNA_EINVAL);
	assert_non_null(strstr(err, "empty label"));
}

/* A file: comments, blanks, spaces, CRLF; lists from the file replace the
 * defaults. */
static void
test_file(void **state)
{
	struct config c;

	assert_int_equal(parse(&c,
	    "# andnad.conf\n"
	    "\n"
	    "data_dir = /srv/andna   # where the node lives\n"
	    "  gnode_size=16\r\n"
	    "\tlisten = 127.0.1.1:7000\n"
	    "listen = 127.0.1.1:7001  \n"
	    "bootstrap = 127.0.1.2:7000\n"
	    "control = /tmp/x#y\n"
	    "foreground = yes\n"), 0);
	assert_string_equal(c.data_dir, "/srv/andna");
	assert_int_equal(c.engine.gnode_size, 16);
	assert_int_equal(c.listen.n, 2);
	assert_int_equal(c.listen.v[1].port, 7001);
	assert_int_equal(c.bootstrap.n, 1);
	assert_string_equal(c.control, "/tmp/x#y");
	assert_true(c.foreground);
	/* untouched options keep their defaults */
	assert_int_equal(c.dns_listen.n, 2);
	assert_int_equal(c.engine.ping_interval_ms, 2000);
	/* no newline at the end is fine */
	assert_int_equal(parse(&c, "verbose = 2"), 0);
	assert_int_equal(c.verbose, 2);
	assert_int_equal(parse(&c, ""), 0);
}

/* Each bad line is reported with its file and line number. */
static void
test_file_errors(void **state)
{
	struct config c;

	assert_int_equal(parse(&c, "# ok\nverbose = 1\nbogus = 3\n"),
	    ANDNA_EINVAL);
	assert_string_equal(err, "t.conf:3: unknown option 'bogus'");
	assert_int_equal(parse(&c, "verbose = 1\nverbose 2\n"), ANDNA_EINVAL);
	assert_string_equal(err, "t.conf:2: expected 'option = value'");
	assert_int_equal(parse(&c, "\n\nverbose = 1\n\nverbose = 2\n"),
	    ANDNA_EINVAL);
	assert_string_equal(err, "t.conf:5: 'verbose' is already set on line 3");
	assert_int_equal(parse(&c, "gnode_size = 1000\n"), ANDNA_EINVAL);
	assert_string_equal(err,
	    "t.conf:1: 'gnode_size' must be between 1 and 256");
	assert_int_equal(parse(&c, "= 5\n"), ANDNA_EINVAL);
	assert_string_equal(err, "t.conf:1: expected an option name before '='");
	assert_int_equal(parse(&c, "Verbose = 1\n"), ANDNA_EINVAL);
	assert_string_equal(err, "t.conf:1: bad option name 'Verbose'");
	assert_int_equal(parse(&c, "a\n\nlisten = nowhere\n"), ANDNA_EINVAL);
	assert_string_equal(err, "t.conf:1: expected 'option = value'");
	assert_int_equal(parse(&c, "verbose = 1\nlisten = nowhere\n"),
	    ANDNA_EINVAL);
	assert_non_null(strstr(err, "t.conf:2: 'listen' needs a numeric"));

	char nul[] = "verbose = 1\nverbose\0 = 2\n";
	config_defaults(&c);
	assert_int_equal(config_parse(&c, nul, sizeof(nul) - 1, "t.conf", err,
	    sizeof(err)), ANDNA_EINVAL);
	assert_string_equal(err, "t.conf:2: line holds a NUL byte");

	char *big = malloc(CONFIG_LINE_MAX + 32);
	assert_non_null(big);
	strcpy(big, "verbose = 1\ndata_dir = /");
	size_t n = strlen(big);
	memset(big + n, 'a', CONFIG_LINE_MAX);
	big[n + CONFIG_LINE_MAX] = '\0';
	assert_int_equal(parse(&c, big), ANDNA_EINVAL);
	assert_non_null(strstr(err, "t.conf:2: line is longer than"));
	free(big);

	/* checks over the whole file */
	assert_int_equal(parse(&c, "listen =\n"), ANDNA_EINVAL);
	assert_string_equal(err, "t.conf: 'listen' needs at least one value");
	assert_int_equal(parse(&c, "dns_suffix =\n"), ANDNA_EINVAL);
	assert_int_equal(parse(&c, "map_size = 2G\nmap_max = 1G\n"),
	    ANDNA_EINVAL);
	assert_string_equal(err, "t.conf: 'map_max' must not be below 'map_size'");
	/* an empty DNS listen list is allowed: no DNS front */
	assert_int_equal(parse(&c, "dns_listen =\n"), 0);
	assert_int_equal(c.dns_listen.n, 0);
}

/* Files on disk: missing, present, and config_load()'s choice of file. */
static void
test_load_file(void **state)
{
	struct config c;
	struct config_flags f;
	char path[] = "/tmp/andna-conf-XXXXXX";
	char *argv[] = {"andnad", "--config", path, NULL};
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	const char text[] = "gnode_size = 8\nlisten = 127.0.0.1:9\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);

	config_defaults(&c);
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.engine.gnode_size, 8);
	assert_int_equal(config_load_file(&c, "/nonexistent/andnad.conf", err,
	    sizeof(err)), ANDNA_ENOTFOUND);
	assert_int_equal(config_load_file(&c, "/tmp", err, sizeof(err)),
	    ANDNA_EIO);

	/* the default file may be missing; an explicit one may not */
	assert_int_equal(config_flags_parse(&f, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(config_load(&c, &f, "/nonexistent/andnad.conf", err,
	    sizeof(err)), 0);
	assert_int_equal(c.engine.gnode_size, 256);
	assert_int_equal(config_load(&c, &f, path, err, sizeof(err)), 0);
	assert_int_equal(c.engine.gnode_size, 8);
	assert_int_equal(config_flags_parse(&f, 3, argv, err, sizeof(err)), 0);
	assert_string_equal(f.config_file, path);
	assert_int_equal(config_load(&c, &f, "/nonexistent/x", err,
	    sizeof(err)), 0);
	assert_int_equal(c.engine.gnode_size, 8);
	argv[2] = "/nonexistent/andnad.conf";
	assert_int_equal(config_flags_parse(&f, 3, argv, err, sizeof(err)), 0);
	assert_int_equal(config_load(&c, &f, path, err, sizeof(err)),
	    ANDNA_ENOTFOUND);
	unlink(path);
}

/* Flags override the file, lists included; -v adds to the file's level. */
static void
test_flags_override(void **state)
{
	struct config c;
	struct config_flags f;
	char *argv[] = {"andnad", "--gnode-size", "8", "--data-dir=/flag/dir",
	    "-vv", "--listen", "127.0.0.2:1", "--listen", "127.0.0.3:2",
	    "--foreground", "--ping_interval", "250ms", NULL};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	assert_int_equal(parse(&c, "gnode_size = 16\ndata_dir = /file/dir\n"
	    "verbose = 1\nlisten = 127.0.0.1:7\nbootstrap = 10.0.0.1\n"), 0);
	assert_int_equal(config_flags_parse(&f, argc, argv, err, sizeof(err)),
	    0);
	assert_int_equal(f.verbose, 2);
	assert_int_equal(config_flags_apply(&f, &c, err, sizeof(err)), 0);
	assert_int_equal(c.engine.gnode_size, 8);
	assert_string_equal(c.data_dir, "/flag/dir");
	assert_int_equal(c.verbose, 3);
	assert_true(c.foreground);
	assert_int_equal(c.engine.ping_interval_ms, 250);
	/* the flags' list replaced the file's, and the second flag appended */
	assert_int_equal(c.listen.n, 2);
	assert_int_equal(c.listen.v[0].port, 1);
	assert_int_equal(c.listen.v[1].port, 2);
	/* what no flag names keeps the file's value */
	assert_int_equal(c.bootstrap.n, 1);
	assert_int_equal(c.src[config_find("gnode_size") - config_options(
	    &(size_t){0})], CONFIG_SRC_FLAG);
	assert_int_equal(c.src[config_find("bootstrap") - config_options(
	    &(size_t){0})], CONFIG_SRC_FILE);
}

static void
test_flag_errors(void **state)
{
	struct config c;
	struct config_flags f;
	char *a1[] = {"andnad", "--no-such-thing", NULL};
	char *a2[] = {"andnad", "--listen", NULL};
	char *a3[] = {"andnad", "stray", NULL};
	char *a4[] = {"andnad", "-x", NULL};
	char *a5[] = {"andnad", "--gnode-size", "0", NULL};
	char *a6[] = {"andnad", "-hV", "-f", NULL};

	assert_int_equal(config_flags_parse(&f, 2, a1, err, sizeof(err)),
	    ANDNA_EINVAL);
	assert_non_null(strstr(err, "unknown flag '--no-such-thing'"));
	assert_int_equal(config_flags_parse(&f, 2, a2, err, sizeof(err)),
	    ANDNA_EINVAL);
	assert_string_equal(err, "'--listen' needs a value");
	assert_int_equal(config_flags_parse(&f, 2, a3, err, sizeof(err)),
	    ANDNA_EINVAL);
	assert_non_null(strstr(err, "unexpected argument 'stray'"));
	assert_int_equal(config_flags_parse(&f, 2, a4, err, sizeof(err)),
	    ANDNA_EINVAL);
	assert_int_equal(config_flags_parse(&f, 3, a5, err, sizeof(err)), 0);
	config_defaults(&c);
	assert_int_equal(config_flags_apply(&f, &c, err, sizeof(err)),
	    ANDNA_EINVAL);
	assert_string_equal(err,
	    "--gnode-size: 'gnode_size' must be between 1 and 256");
	assert_int_equal(config_flags_parse(&f, 3, a6, err, sizeof(err)), 0);
	assert_true(f.help);
	assert_true(f.version);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0].opt->name, "foreground");
}

/* Every option's value reads back in the file's syntax and sets the same
 * value again; config_equal() sees a change. */
static void
test_format_roundtrip(void **state)
{
	struct config a, b;
	size_t n;
	const struct config_option *opts = config_options(&n);
	char buf[4096];

	assert_true(n > 30);
	config_defaults(&a);
	assert_int_equal(set(&a, "listen", "127.0.0.1:5 [fe80::1]:6"), 0);
	assert_int_equal(set(&a, "expiry", "90m"), 0);
	assert_int_equal(set(&a, "ping_interval", "1500ms"), 0);
	assert_int_equal(set(&a, "dns_allow", "local 10.0.0.0/8 fd00::/8"), 0);
	config_defaults(&b);
	for (size_t i = 0; i < n; i++) {
		config_format(&opts[i], &a, buf, sizeof(buf));
		assert_int_equal(config_set(&b, opts[i].name, buf,
		    CONFIG_SRC_FLAG, err, sizeof(err)), 0);
		assert_true(config_equal(&opts[i], &a, &b));
	}
	config_format(config_find("ping_interval"), &a, buf, sizeof(buf));
	assert_string_equal(buf, "1500ms");
	config_format(config_find("expiry"), &a, buf, sizeof(buf));
	assert_string_equal(buf, "90m");
	config_format(config_find("listen"), &a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:5 [fe80::1]:6");
	config_format(config_find("dns_allow"), &a, buf, sizeof(buf));
	assert_string_equal(buf, "local 10.0.0.0/8 fd00::/8");
	config_format(config_find("dns_rate_exempt"), &a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.0/8 ::1/128");
	assert_int_equal(set(&b, "verbose", "3"), 0);
	assert_false(config_equal(config_find("verbose"), &a, &b));
	assert_true(config_equal(config_find("listen"), &a, &b));
	assert_int_equal(set(&b, "bootstrap", "x:1"), 0);
	assert_false(config_equal(config_find("bootstrap"), &a, &b));
}

static void
test_endpoint_format(void **state)
{
	struct endpoint ep;
	char buf[64];

	assert_int_equal(config_parse_endpoint("[2001:db8::7]:53", 1, &ep), 0);
	config_format_endpoint(&ep, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::7]:53");
	assert_int_equal(config_parse_endpoint("192.0.2.1", 7269, &ep), 0);
	config_format_endpoint(&ep, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1:7269");
	assert_int_equal(config_parse_endpoint("192.0.2.300", 1, &ep),
	    ANDNA_EINVAL);
	assert_int_equal(config_parse_endpoint("", 1, &ep), ANDNA_EINVAL);
	assert_int_equal(config_parse_endpoint("[]:5", 1, &ep), ANDNA_EINVAL);
}

/* Reads a file of the source tree into a new buffer, NUL-terminated. */
static char *
read_doc(const char *rel)
{
	char path[1024];
	const char *top = getenv("top_srcdir");
	FILE *f;
	char *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/%s", top != NULL ? top : ".", rel);
	assert_non_null(buf);
	f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* doc/andnad.conf names every option with its default (uncommented, it
 * parses to the defaults), and andnad.conf(5) documents every option. */
static void
test_docs(void **state)
{
	struct config def, c;
	size_t n;
	const struct config_option *opts = config_options(&n);
	char *ex = read_doc("doc/andnad.conf");
	char *man = read_doc("doc/andnad.conf.5");
	char *text = malloc(strlen(ex) + 1), *out = text;

	assert_non_null(text);
	for (const char *p = ex; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
		/* "# option = value" lines are the defaults, commented out */
		if (strncmp(p, "# ", 2) == 0 && p[2] >= 'a' && p[2] <= 'z' &&
		    strchr(p, '=') != NULL && strchr(p, '=') < p + len) {
			p += 2;
			len -= 2;
		}
		memcpy(out, p, len);
		out += len;
		p += len;
	}
	*out = '\0';
	config_defaults(&def);
	assert_int_equal(parse(&c, text), 0);
	for (size_t i = 0; i < n; i++) {
		char key[80];
		snprintf(key, sizeof(key), "\n%s =", opts[i].name);
		if (strstr(text, key) == NULL)
			fail_msg("doc/andnad.conf lacks %s", opts[i].name);
		assert_true(config_equal(&opts[i], &def, &c));
		assert_int_equal(c.src[i], CONFIG_SRC_FILE);
		snprintf(key, sizeof(key), ".BI %s ", opts[i].name);
		if (strstr(man, key) == NULL)
			fail_msg("andnad.conf(5) lacks %s", opts[i].name);
	}
	free(text);
	free(ex);
	free(man);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_string_path),
		cmocka_unit_test(test_addrs),
		cmocka_unit_test(test_nets),
		cmocka_unit_test(test_hosts_names),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_flags_override),
		cmocka_unit_test(test_flag_errors),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_endpoint_format),
		cmocka_unit_test(test_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
