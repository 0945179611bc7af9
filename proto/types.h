/* Types and limits shared by every layer: overlay addresses, underlay
 * endpoints, key sizes and the caps of DESIGN.md section 9. */
#ifndef ANDNA_PROTO_TYPES_H
#define ANDNA_PROTO_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ANDNA_PK_LEN 32   /* Ed25519 public key */
#define ANDNA_SK_LEN 64   /* Ed25519 secret key (libsodium layout) */
#define ANDNA_SIG_LEN 64  /* Ed25519 signature */
#define ANDNA_HASH_LEN 32 /* BLAKE2b-256 */

#define ANDNA_NAME_MAX 253  /* characters of a canonical name */
#define ANDNA_LABEL_MAX 63  /* characters of one label */
#define ANDNA_LEVELS 4      /* overlay address: 4 levels of 8 bits */
#define ANDNA_ENTRIES_MAX 256      /* SNSD entries per record */
#define ANDNA_ENTRIES_PER_SVC 16   /* SNSD entries per service */

/* The owner's TTL of a record, in seconds: how long any copy of it may be
 * cached (DESIGN.md sections 3 and 5). */
#define ANDNA_TTL_MIN 5
#define ANDNA_TTL_MAX 86400 /* a day */
#define ANDNA_TTL_DEFAULT 60

/* An overlay address a.b.c.d: a is the top byte (level 3 gnode id), d the
 * node inside its level-1 gnode a.b.c. */
typedef uint32_t ovl_addr_t;

/* Writes `v` big endian into p[0..8). */
static inline void
be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Writes `v` big endian into p[0..4). */
static inline void
be32_put(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Reads a big-endian 64-bit number from p[0..8). */
static inline uint64_t
be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The gnode id of `addr` at `level` (0 = the node itself, 3 = top). */
static inline uint8_t
ovl_id(ovl_addr_t addr, int level)
{
	return (uint8_t)(addr >> (8 * level));
}

/* An underlay endpoint: an IPv4 or IPv6 address and a UDP/TCP port. */
struct endpoint {
	uint8_t family; /* 4 or 6 */
	uint8_t ip[16]; /* IPv4 in the first 4 bytes */
	uint16_t port;  /* host byte order */
};

/* Whether two endpoints are the same address and port. */
static inline bool
ep_equal(const struct endpoint *a, const struct endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	    memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

/* Whether two endpoints are on one underlay host: the same IPv4 address,
 * or the same IPv6 /64 (what one router is given). */
static inline bool
ep_same_host(const struct endpoint *a, const struct endpoint *b)
{
	return a->family == b->family &&
	    memcmp(a->ip, b->ip, a->family == 4 ? 4 : 8) == 0;
}

/* The node a queue claim came from (DESIGN.md section 10, "Nodes cost
 * addresses"): its overlay address and the underlay endpoint it answered
 * a challenge from.  ep.family 0: not known (a claim put back at the head
 * of its queue by a split settled, or stored before hosts were kept). */
struct claim_host {
	ovl_addr_t addr;
	struct endpoint ep;
};

#endif
