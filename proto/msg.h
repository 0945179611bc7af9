/* Node-to-node messages (doc/protocol.md): the signed envelope and every
 * body as C structs, and their strict msgpack codec. */
#ifndef ANDNA_PROTO_MSG_H
#define ANDNA_PROTO_MSG_H

#include "crypto/crypto.h"
#include "proto/record.h"
#include "proto/types.h"

#define MSG_VERSION 3
#define MSG_DGRAM_MAX 1232	  /* largest message sent over UDP */
#define MSG_STREAM_MAX (4u << 20) /* largest message sent or accepted */
#define MSG_HOPS_MAX 15		  /* largest hop limit */
#define MSG_SIG_TRAILER 66	  /* bin 8 header + signature, at the end */

/* Caps of the arrays of the bodies. */
#define MSG_UPDATES_MAX 8
#define MSG_CONTACTS_MAX 8
#define MSG_EXCLUDE_MAX 8
#define MSG_EPS_MAX 4
#define MSG_OUTER_CONTACTS_MAX 3
#define MSG_MEMBERS_MAX 256
#define MSG_OUTER_MAX 768
#define MSG_HOOK_FULL_MAX 64  /* full gnodes named in one HOOK_REQ */
#define MSG_ITEMS_MAX 64
#define MSG_IDS_MAX 512
#define MSG_RECORDS_MAX 64
#define MSG_BUCKETS 16
#define MSG_CURSOR_MAX 40
#define MSG_HASH8_LEN 8
#define MSG_EP_MAX_LEN 18 /* encoded IPv6 endpoint */
#define MSG_GNODE_SIZE_MAX 256
#define MSG_NONCE_LEN 16

/* Message types. */
enum msg_type {
	MSG_PING = 1,
	MSG_ACK = 2,
	MSG_PING_REQ = 3,
	MSG_DISCOVER = 4,
	MSG_HOOK_REQ = 10,
	MSG_HOOK_OFFER = 11,
	MSG_JOIN = 12,
	MSG_MAP_FULL = 13,
	MSG_LEAVE = 14,
	MSG_GOSSIP = 15,
	MSG_CHALLENGE = 16,
	MSG_CHALLENGE_REPLY = 17,
	MSG_ROUTE_ACK = 20,
	MSG_PROBE = 21,
	MSG_PROBE_REPLY = 22,
	MSG_REGISTER = 30,
	MSG_REGISTER_REPLY = 31,
	MSG_COUNTER_CHECK = 32,
	MSG_COUNTER_REPLY = 33,
	MSG_REPLICATE = 34,
	MSG_REPLICATE_ACK = 35,
	MSG_SYNC_SUMMARY = 36,
	MSG_SYNC_IDS = 37,
	MSG_SYNC_FETCH = 38,
	MSG_SYNC_PAGE_REQ = 39,
	MSG_SYNC_PAGE = 40,
	MSG_HANDOVER = 41,
	MSG_HANDOVER_ACK = 42,
	MSG_RESOLVE = 43,
	MSG_CACHE_READ = 44,
	MSG_RESOLVE_REPLY = 45,
	MSG_REVERSE = 46,
	MSG_REVERSE_REPLY = 47,
};

/* The status of a reply.  Decoders refuse any other value. */
enum msg_status {
	MSG_ST_OK = 0,
	MSG_ST_TAKEN = 1,	    /* name held by another key */
	MSG_ST_QUEUED = 2,	    /* held by another key; claim queued */
	MSG_ST_QUEUE_FULL = 3,	    /* the name's queue is full */
	MSG_ST_TOO_MANY_NAMES = 4,  /* the key holds the most names allowed */
	MSG_ST_STALE = 5,	    /* seq not newer than the stored one */
	MSG_ST_TOO_SOON = 6,	    /* before the minimum update interval */
	MSG_ST_BAD_SIG = 7,	    /* a record signature does not verify */
	MSG_ST_NOT_RESPONSIBLE = 8, /* the receiver's gnode does not hold it */
	MSG_ST_LIMIT = 9,	    /* another limit was reached */
	MSG_ST_NOT_FOUND = 10,	    /* no such name or record */
	MSG_ST_BUSY = 11,	    /* try again later */
	MSG_ST_ADDR_TAKEN = 12,	    /* hooking: the address is already used */
	MSG_ST_FULL = 13,	    /* hooking: no free place */
	MSG_ST_REDIRECT = 14,       /* hooking: ask one of these contacts */
	MSG_ST_JOINING = 15,	    /* hooking: the sender is joining too */
	MSG_ST_MINORITY = 16,	    /* stored, but on fewer than half of the
				     * gnode's members so far */
	MSG_ST_HOST_FULL = 17,	    /* the name's queue holds its share of
				     * claims from the claimant's host */
};
#define MSG_ST_MAX MSG_ST_HOST_FULL

/* States of a member update. */
enum msg_state {
	MSG_STATE_ALIVE = 0,
	MSG_STATE_SUSPECT = 1,
	MSG_STATE_DEAD = 2,
	MSG_STATE_LEFT = 3,
};

/* What a sync message or an item is about. */
enum msg_kind {
	MSG_KIND_RECORDS = 0,
	MSG_KIND_CLAIMS = 1,
	MSG_KIND_TALLIES = 2,
};

/* Counter check operations. */
enum msg_op {
	MSG_OP_ADD = 0,
	MSG_OP_REMOVE = 1,
};

/* A member update [state, addr, incarnation, key, eps]. */
struct msg_update {
	uint8_t state; /* enum msg_state */
	ovl_addr_t addr;
	uint32_t incarnation;
	uint8_t key[ANDNA_PK_LEN];
	uint8_t n_eps; /* 1..MSG_EPS_MAX */
	struct endpoint eps[MSG_EPS_MAX];
};

/* Up to 8 member updates, piggybacked on the failure detector. */
struct msg_updates {
	uint8_t n;
	struct msg_update v[MSG_UPDATES_MAX];
};

/* A contact [addr, ep]. */
struct msg_contact {
	ovl_addr_t addr;
	struct endpoint ep;
};

/* An inner-map member [addr, key, incarnation, eps]. */
struct msg_member {
	ovl_addr_t addr;
	uint8_t key[ANDNA_PK_LEN];
	uint32_t incarnation;
	uint8_t n_eps; /* 1..MSG_EPS_MAX */
	struct endpoint eps[MSG_EPS_MAX];
};

/* An outer-map entry [level, gnode id, child count, age, contacts]. */
struct msg_outer {
	uint8_t level; /* 1..3 */
	uint8_t id;
	uint16_t children;
	uint32_t age;
	uint8_t n_contacts;
	struct msg_contact contacts[MSG_OUTER_CONTACTS_MAX];
};

/* The longest encoding of one outer-map entry: header, level, id,
 * children, age, and three contacts of [addr, IPv6 endpoint]. */
#define MSG_OUTER_LEN_MAX (1 + 1 + 2 + 3 + 5 + 1 + 3 * (1 + 5 + 2 + 18))

/* The most a GOSSIP without entries takes: envelope (header, version,
 * type, id, hops, src, node key), body header, want-reply flag, the entry
 * array's header, and the seal.  A datagram has MSG_DGRAM_MAX less this
 * for entries. */
#define MSG_GOSSIP_HEAD \
	(1 + 1 + 1 + 9 + 1 + 5 + 2 + ANDNA_PK_LEN + 1 + 1 + 3 + MSG_SIG_TRAILER)

/* The encoded length of the entry `o`, for filling a datagram; 0 if `o`
 * cannot be encoded. */
size_t msg_outer_len(const struct msg_outer *o);

/* The routing header [target, origin, exclude] of a routed request.
 * Replies retrace the request's path hop by hop, so a request names no
 * endpoint to answer at. */
struct msg_route {
	ovl_addr_t target;
	ovl_addr_t origin;
	uint8_t n_exclude;
	ovl_addr_t exclude[MSG_EXCLUDE_MAX]; /* level-1 prefixes, low byte 0 */
};

/* What a joining node tells the others it asks or answers while none of
 * them has a place to offer (a whole mesh restarting): the lowest node
 * key of a joiner it has heard of, its own included, and the seconds
 * since that joiner was heard from. */
struct msg_lowest {
	uint8_t key[ANDNA_PK_LEN];
	uint32_t age;
};

/* A replicated item [kind, age, life, record, host]; the item owns the
 * record.  `age` is the seconds since the record's owner first registered
 * the name (it settles which of two owners keeps a name), `life` the
 * seconds left before it expires; `host` is the node a claim came from
 * (host.ep.family 0: none, nil on the wire; only claims carry one). */
struct msg_item {
	uint8_t kind; /* enum msg_kind */
	uint32_t age;
	uint32_t life;
	struct record *rec;
	struct claim_host host;
};

/* Up to 64 items in an array from malloc(), owned by the message. */
struct msg_items {
	uint8_t n;
	struct msg_item *v;
};

/* A sync id [hash8, seq]. */
struct msg_id {
	uint8_t hash[MSG_HASH8_LEN];
	uint64_t seq;
};

/* An opaque page cursor; `end` stands for nil (SYNC_PAGE only). */
struct msg_cursor {
	bool end;
	uint8_t len;
	uint8_t bytes[MSG_CURSOR_MAX];
};

/* A message.  The union member in use follows `type` (see each comment).
 * Every pointer in a body is from malloc() and owned by the message:
 * msg_free() frees it, records with record_free().  Counts of inline
 * arrays stay within their caps. */
struct msg {
	uint8_t type; /* enum msg_type */
	uint64_t id;  /* request id; a reply echoes it */
	uint8_t hops; /* 0..MSG_HOPS_MAX */
	bool has_src; /* false: the sender has no address yet (nil) */
	ovl_addr_t src;
	uint8_t key[ANDNA_PK_LEN]; /* sender node key: set by msg_decode() */
	union {
		/* PING, ACK */
		struct msg_updates updates;
		/* PING_REQ */
		struct {
			ovl_addr_t target;
			struct endpoint target_ep;
			struct msg_updates updates;
		} ping_req;
		/* HOOK_REQ: gnodes that turned the joiner away as full, each
		 * as the gnode's address prefix with its level (1..3) in the
		 * low byte; the lowest key of a joiner it heard of */
		struct {
			uint8_t n_full;
			ovl_addr_t full[MSG_HOOK_FULL_MAX];
			struct msg_lowest lowest;
		} hook_req;
		/* HOOK_OFFER */
		struct {
			uint8_t status;
			ovl_addr_t addr;
			uint16_t gnode_size; /* 1..MSG_GNODE_SIZE_MAX */
			uint8_t n_contacts;
			struct msg_contact contacts[MSG_CONTACTS_MAX];
			struct msg_lowest lowest;
		} hook_offer;
		/* JOIN */
		struct {
			uint32_t incarnation;
			uint8_t n_eps; /* 1..MSG_EPS_MAX */
			struct endpoint eps[MSG_EPS_MAX];
		} join;
		/* DISCOVER: the routed endpoints a neighbour on the link
		 * reaches the sender at */
		struct {
			uint8_t n_eps; /* 1..MSG_EPS_MAX */
			struct endpoint eps[MSG_EPS_MAX];
		} discover;
		/* MAP_FULL */
		struct {
			uint8_t status;
			uint16_t n_members;
			struct msg_member *members;
			uint16_t n_outer;
			struct msg_outer *outer;
		} map_full;
		/* LEAVE */
		struct {
			uint32_t incarnation;
		} leave;
		/* GOSSIP */
		struct {
			bool want_reply;
			uint16_t n_outer;
			struct msg_outer *outer;
		} gossip;
		/* CHALLENGE: the node at the endpoint it was sent to must
		 * answer from `addr`, echoing the nonce */
		struct {
			ovl_addr_t addr;
			uint8_t nonce[MSG_NONCE_LEN];
		} challenge;
		/* CHALLENGE_REPLY */
		struct {
			uint8_t nonce[MSG_NONCE_LEN];
		} challenge_reply;
		/* PROBE */
		struct {
			struct msg_route route;
		} probe;
		/* PROBE_REPLY */
		struct {
			ovl_addr_t responder;
			uint32_t hops;
		} probe_reply;
		/* REGISTER */
		struct {
			struct msg_route route;
			struct record *rec;
			/* the underlay endpoint of the node that sent it
			 * (the route's origin), proven by a CHALLENGE
			 * before its claim is queued */
			struct endpoint ep;
		} reg;
		/* REGISTER_REPLY */
		struct {
			uint8_t status;
			uint32_t queue_pos;
			uint32_t life; /* remaining seconds */
			/* STALE: the record the hash gnode holds of the
			 * name for the same key, as proof of the sequence
			 * number to go above (owned); else NULL */
			struct record *held;
		} reg_reply;
		/* COUNTER_CHECK */
		struct {
			struct msg_route route;
			uint8_t op; /* enum msg_op */
			struct record *rec;
		} counter_check;
		/* COUNTER_REPLY, REPLICATE_ACK, HANDOVER_ACK */
		struct {
			uint8_t status;
			uint32_t count;
		} status_count;
		/* REPLICATE */
		struct msg_items replicate;
		/* SYNC_SUMMARY */
		struct {
			uint8_t kind;
			uint8_t buckets[MSG_BUCKETS][MSG_HASH8_LEN];
		} sync_summary;
		/* SYNC_IDS */
		struct {
			uint8_t kind;
			uint8_t bucket; /* 0..15 */
			uint16_t n_ids;
			struct msg_id *ids;
		} sync_ids;
		/* SYNC_FETCH */
		struct {
			uint8_t kind;
			uint16_t n_hashes;
			uint8_t (*hashes)[MSG_HASH8_LEN];
		} sync_fetch;
		/* SYNC_PAGE_REQ; the cursor is never nil (empty: from the
		 * start) */
		struct {
			uint8_t kind;
			struct msg_cursor cursor;
			uint8_t max_items; /* 1..MSG_ITEMS_MAX */
		} sync_page_req;
		/* SYNC_PAGE */
		struct {
			uint8_t kind;
			struct msg_items items;
			struct msg_cursor next;
		} sync_page;
		/* HANDOVER */
		struct {
			struct msg_route route;
			struct msg_items items;
		} handover;
		/* RESOLVE */
		struct {
			struct msg_route route;
			char name[ANDNA_NAME_MAX + 1];
		} resolve;
		/* CACHE_READ */
		struct {
			char name[ANDNA_NAME_MAX + 1];
		} cache_read;
		/* RESOLVE_REPLY; rec is NULL for nil */
		struct {
			uint8_t status;
			struct record *rec;
			uint32_t age;
			uint32_t life; /* remaining seconds */
			uint32_t hops; /* hops the answer took to be found */
		} resolve_reply;
		/* REVERSE_REPLY */
		struct {
			uint8_t n_records;
			struct record **records;
		} reverse_reply;
	} u;
};

/* The routing header of a routed request (PROBE, REGISTER, COUNTER_CHECK,
 * HANDOVER, RESOLVE), or NULL for other types.  Like strchr(), it points
 * into `m` without its const. */
struct msg_route *msg_route_of(const struct msg *m);

/* Zeroes `m`: an empty message that msg_free() accepts. */
void msg_init(struct msg *m);

/* Frees what the body of `m` owns and zeroes it again. */
void msg_free(struct msg *m);

/* Returns the name of a message type for logs ("PING"), or "UNKNOWN". */
const char *msg_type_name(unsigned type);

/* How an envelope is sealed.  Nodes sign with Ed25519.  The simulator may
 * seal with sig_digest() instead, which catches damage but not lies: its
 * nodes do not lie unless a test makes them, and a signature costs as much
 * as all the rest of a simulated message, so 100,000 nodes would not fit
 * the CPU of one machine. */
enum msg_seal {
	MSG_SEAL_SIGNED,
	MSG_SEAL_DIGEST,
};

/* msg_encode() and msg_decode() with the seal given. */
int msg_encode_sealed(const struct msg *m, enum msg_seal seal,
    const struct keypair *node_key, uint8_t *buf, size_t cap,
    size_t *out_len);
int msg_decode_sealed(enum msg_seal seal, const uint8_t *buf, size_t len,
    struct msg *out);

/* Encodes `m` into the caller's `buf` of `cap` bytes, signed by node_key
 * (whose public key goes into the envelope; m->key is not used), and its
 * length into *out_len.  Returns 0, ANDNA_EINVAL (a field out of range, a
 * count over its cap, a malformed record or unknown type) or
 * ANDNA_EENC_TOO_BIG (more than `cap` or MSG_STREAM_MAX bytes). */
int msg_encode(const struct msg *m, const struct keypair *node_key,
    uint8_t *buf, size_t cap, size_t *out_len);

/* Decodes and checks one message of `len` bytes into `out`, which the
 * caller need not initialise; records inside are checked for form, not for
 * their signature (see record_verify()).  Returns 0 (the caller then owns
 * `out` and calls msg_free()) or an error, and `out` is then empty:
 * ANDNA_EDEC_TOO_BIG, _TRUNCATED, _TRAILING, _TOO_DEEP, _TOO_MANY, _TYPE,
 * _VERSION, _UNKNOWN, _VALUE, _SIG, ANDNA_EREC_NAME, ANDNA_EREC_TTL,
 * ANDNA_EREC_ENTRIES or ANDNA_ENOMEM. */
int msg_decode(const uint8_t *buf, size_t len, struct msg *out);

/* Reads the id of an encoded message from its header, without decoding
 * or checking anything else (a rate limit asks it before paying for a
 * decode).  Returns 0 and *id, or ANDNA_EDEC_TYPE when the header is not
 * ours. */
int msg_peek_id(const uint8_t *buf, size_t len, uint64_t *id);
/* The type of an encoded message, without decoding or checking it. */
int msg_peek_type(const uint8_t *buf, size_t len, uint8_t *type);

/* Writes the wire form of `ep` to `out`.  Returns its length (6 for IPv4,
 * 18 for IPv6) or 0 if ep->family is neither 4 nor 6. */
size_t msg_ep_encode(const struct endpoint *ep, uint8_t out[MSG_EP_MAX_LEN]);

/* Reads an endpoint from its wire form of `len` bytes.  Returns 0 or
 * ANDNA_EDEC_VALUE if `len` is neither 6 nor 18. */
int msg_ep_decode(const uint8_t *p, size_t len, struct endpoint *ep);

#endif
