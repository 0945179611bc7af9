/* The node daemon's event loop: one libevent event_base drives one engine.
 * It owns the overlay sockets (UDP and TCP, IPv4 and IPv6), the engine's
 * timer, the signals, the per-source rate limits, the store, the node key
 * and the control socket.  Start-up runs in steps so that privileges can
 * be dropped once every socket is bound:
 *
 *	daemon_new()              binds the overlay and control sockets
 *	(the DNS front binds port 53 through daemon_base())
 *	daemon_drop_privileges()
 *	daemon_start()            node key, store, engine, joining
 *	daemon_run()              until SIGTERM or SIGINT
 *	daemon_free()             leaves the overlay, saves peers, closes
 *
 * Messages up to MSG_DGRAM_MAX bytes go over UDP; larger ones over TCP,
 * each framed by a 4-byte big-endian length, on a small pool of outgoing
 * connections.  Engine time is milliseconds of a clock that never jumps
 * and goes on across restarts (node/daemon/timebase.h): records expire on the
 * node's own clock, and the wall clock decides nothing. */
#ifndef ANDNA_NODE_DAEMON_H
#define ANDNA_NODE_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "node/daemon/conf.h"
#include "node/engine/engine.h"
#include "node/daemon/log.h"
#include "store/store.h"

struct daemon;
struct event_base;
struct dns_node;
struct http;

/* What the I/O layer counts, for `andna status`. */
struct daemon_counters {
	uint64_t udp_in, udp_out;       /* datagrams */
	uint64_t tcp_in, tcp_out;       /* framed messages */
	uint64_t conns_in, conns_out;   /* connections accepted, opened */
	uint64_t rate_limited;          /* messages over a source's rate */
	uint64_t oversized;             /* datagrams over MSG_DGRAM_MAX,
					 * frames over MSG_STREAM_MAX */
	uint64_t truncated;             /* empty datagrams, connections
					 * closed or timed out mid-frame */
	uint64_t conns_refused;         /* over a connection limit */
	uint64_t send_failed;           /* messages that could not be sent */
	uint64_t disc_dropped;          /* announcements of neighbours not
					 * taken (see discover_accept()) */
};

/* Loads the configuration again for SIGHUP: returns 0 and fills `out`, or
 * an error with the reason in `err`. */
typedef int daemon_reload_fn(void *arg, struct config *out, char *err,
    size_t errlen);

/* Creates the daemon for `cfg` (copied), logging to `lg` (kept): makes the
 * event base and binds the overlay sockets and the control socket.
 * Returns 0 and *out, or an error (logged). */
int daemon_new(const struct config *cfg, struct log *lg, struct daemon **out);

/* Sets what SIGHUP calls to load the configuration again. */
void daemon_set_reload(struct daemon *d, daemon_reload_fn *fn, void *arg);

/* The hook where privileges are dropped, once every socket is bound and
 * before any file of the data directory is opened.  Returns 0 or an
 * error (logged). */
int daemon_drop_privileges(struct daemon *d);

/* Locks the data directory, loads or creates the node key, opens the
 * store, creates the engine and starts joining through the bootstrap
 * peers and the peers known from the last run.  Returns 0 or an error
 * (logged). */
int daemon_start(struct daemon *d);

/* Runs the event loop until SIGTERM or SIGINT.  Returns 0, or an error if
 * the loop failed. */
int daemon_run(struct daemon *d);

/* Leaves the overlay, saves the known peers, closes the store and every
 * socket (the control socket's file is removed) and frees `d`.  NULL is
 * a no-op. */
void daemon_free(struct daemon *d);

/* ---- for the control socket and the DNS front ---------------------- */

/* The engine's time in milliseconds (see node/daemon/timebase.h). */
uint64_t daemon_now(const struct daemon *d);

struct event_base *daemon_base(struct daemon *d);
struct engine *daemon_engine(struct daemon *d); /* NULL before start */
struct store *daemon_store(struct daemon *d);   /* NULL before start */
struct dns_node *daemon_dns(struct daemon *d);  /* NULL: no DNS front */
struct http *daemon_http(struct daemon *d);     /* NULL: no status page */
struct log *daemon_log(struct daemon *d);
const struct config *daemon_config(const struct daemon *d);
const struct daemon_counters *daemon_counters(const struct daemon *d);

/* Runs the engine's due work and re-arms its timer.  Call it after every
 * engine call made from outside an engine callback. */
void daemon_engine_done(struct daemon *d);

/* The endpoints the node advertises; returns how many (*eps points into
 * the daemon). */
int daemon_endpoints(const struct daemon *d, const struct endpoint **eps);

/* Live peers known: the engine's view once joined (before that, the last
 * run's), saved for the next start. */
int daemon_known_peers(const struct daemon *d);

/* Neighbours heard on the mesh links lately (0 without discovery). */
int daemon_neighbours(const struct daemon *d);

/* Binds a non-blocking socket of `type` (SOCK_DGRAM, or SOCK_STREAM then
 * listening) to `ep`, IPv6 only for an IPv6 address.  Returns the
 * descriptor or -1 (errno set). */
int daemon_bind_socket(const struct endpoint *ep, int type);

/* Seconds since daemon_start(). */
uint64_t daemon_uptime_s(const struct daemon *d);

#endif
