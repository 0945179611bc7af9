/* Finding neighbours with no configuration (DESIGN.md section 1, "Finding
 * peers"): every node sends a signed DISCOVER, naming the routed endpoints
 * it is reached at, to a link-local multicast group on each of its mesh
 * interfaces, and takes the neighbours it hears as bootstrap candidates.
 * The table of neighbours and the checks of a datagram are apart from
 * the sockets, so that tests drive them without a network. */
#ifndef ANDNA_NODE_DAEMON_DISCOVER_H
#define ANDNA_NODE_DAEMON_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/crypto.h"
#include "node/daemon/conf.h"
#include "proto/types.h"

struct event_base;
struct log;

#define DISCOVER_PORT 7270           /* UDP, beside the overlay's 7269 */
#define DISCOVER_GROUP6 "ff02::7269" /* link-local scope */
#define DISCOVER_GROUP4 "224.0.0.179" /* local network control block */
#define DISCOVER_HOPS 255 /* sent with it, taken only with it: a datagram
			   * that crossed a router arrives with less */
#define DISCOVER_NEIGH_MAX 32 /* neighbours kept */
#define DISCOVER_IFS_MAX 32   /* mesh interfaces */

/* One neighbour heard on a mesh link. */
struct discover_neigh {
	uint8_t pk[ANDNA_PK_LEN];
	bool hooked;         /* it had a place when it last spoke */
	ovl_addr_t addr;     /* the place, when hooked */
	struct endpoint ep;  /* the routed endpoint to reach it at */
	uint64_t heard;      /* ms it last spoke (the caller's clock) */
	uint64_t fed;        /* ms it was last handed to the engine, or 0 */
};

/* The neighbours heard; zeroed to start. */
struct discover_table {
	int n;
	struct discover_neigh v[DISCOVER_NEIGH_MAX];
};

/* Whether `ep` is reachable beyond its link: not loopback, IPv6
 * link-local, IPv4 link-local (169.254/16) nor unspecified. */
bool discover_routed(const struct endpoint *ep);

/* Encodes the DISCOVER of a node with key `key`, at `addr` if `hooked`,
 * naming the routed ones of `eps` (n of them), into `buf` of `cap`
 * bytes.  Returns 0 and the length in *len, ANDNA_EINVAL when no
 * endpoint is routed, or what msg_encode() returns. */
int discover_build(const struct keypair *key, bool hooked, ovl_addr_t addr,
    const struct endpoint *eps, int n, uint8_t *buf, size_t cap,
    size_t *len);

/* Checks one datagram that came with IP hop limit (TTL) `hops`, and
 * records its sender in `t`.  `own` is this node's key; `families` the
 * address families (bit 4, bit 6) this node can send to.  A neighbour
 * not heard for `stale_ms` gives its slot to a new one; with every slot
 * held by a fresh neighbour a new one is turned away, so a flood of
 * minted keys neither grows the table nor pushes out a live
 * neighbour.  Returns 0 with *out the neighbour's entry (*is_new when it
 * was not in the table), or: ANDNA_EDEC_* from msg_decode() (EDEC_SIG
 * for a bad signature), ANDNA_EINVAL (not a DISCOVER, from off the link,
 * our own, or naming no routed endpoint of a family we have),
 * ANDNA_ELIMIT (the table is full of fresh neighbours). */
int discover_accept(struct discover_table *t, const uint8_t *own,
    const uint8_t *buf, size_t len, int hops, unsigned families,
    uint64_t now, uint64_t stale_ms, struct discover_neigh **out,
    bool *is_new);

/* The multicast sockets. */
struct discover;

/* Called with each datagram read: its bytes, its source and the hop limit
 * it came with (-1 when the kernel did not say). */
typedef void discover_input_cb(void *arg, const uint8_t *buf, size_t len,
    const struct sockaddr *from, int hops);

/* Opens the sockets of the families in `families` (bit 4, bit 6) on
 * DISCOVER_PORT and joins the groups on the mesh interfaces: those named
 * in `ifnames`, or with none every interface that is up, not
 * loopback, and can multicast.  Returns NULL when no socket opens (said
 * in the log). */
struct discover *discover_open(struct event_base *base, struct log *lg,
    unsigned families, const struct config_words *ifnames,
    discover_input_cb *cb, void *arg);

/* Sends `buf` to the group of each family on each mesh interface, after
 * joining the groups on interfaces that came up since the last time. */
void discover_send(struct discover *ds, const uint8_t *buf, size_t len);

/* Closes the sockets; NULL is fine. */
void discover_close(struct discover *ds);

#endif
