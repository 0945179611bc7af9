/* The signed record of a name and its SNSD address set (DESIGN.md section
 * 3, doc/protocol.md "Records"): built, signed, verified, encoded and
 * decoded here. */
#ifndef ANDNA_PROTO_RECORD_H
#define ANDNA_PROTO_RECORD_H

#include <msgpack.h>

#include "crypto/crypto.h"
#include "proto/types.h"

/* Transport protocols of an entry. */
#define RECORD_PROTO_NONE 0
#define RECORD_PROTO_TCP 6
#define RECORD_PROTO_UDP 17

/* What an entry's target is. */
enum record_target {
	RECORD_TARGET_IPV4 = 1,
	RECORD_TARGET_IPV6,
	RECORD_TARGET_NAME,
};

/* One SNSD entry.  Service 0 is the host itself, else the port. */
struct record_entry {
	uint16_t service;
	uint8_t proto; /* RECORD_PROTO_* */
	uint16_t priority;
	uint16_t weight;
	uint8_t kind; /* enum record_target */
	union {
		uint8_t ip[16];		       /* IPv4 in the first 4 bytes */
		char name[ANDNA_NAME_MAX + 1]; /* canonical */
	} target;
};

/* A record.  `entries` holds exactly `n_entries` and is owned by it. */
struct record {
	char name[ANDNA_NAME_MAX + 1]; /* canonical */
	uint8_t owner[ANDNA_PK_LEN];
	uint64_t seq;
	uint32_t ttl; /* the owner's: seconds any copy may be cached,
		       * ANDNA_TTL_MIN..ANDNA_TTL_MAX */
	uint8_t sig[ANDNA_SIG_LEN];
	uint16_t n_entries;
	struct record_entry *entries;
};

/* The largest encoding of one entry, of the signed bytes and of a whole
 * record (a 253-byte name, a TTL above 65535 (a uint32), 256 entries each
 * naming a 253-byte target; a proto is always a one-byte fixint). */
#define RECORD_ENTRY_MAX_LEN (1 + 3 + 1 + 3 + 3 + 2 + ANDNA_NAME_MAX)
#define RECORD_SIGNING_MAX                                                     \
	(1 + 15 + 2 + ANDNA_NAME_MAX + 2 + ANDNA_PK_LEN + 9 + 5 + 3 +          \
	    ANDNA_ENTRIES_MAX * RECORD_ENTRY_MAX_LEN)
#define RECORD_WIRE_MAX (RECORD_SIGNING_MAX - 15 + 2 + ANDNA_SIG_LEN)

/* Makes an unsigned record with no entries and the default TTL
 * (ANDNA_TTL_DEFAULT; set rec->ttl before signing for another).  Returns
 * 0 and the record in *out (the caller frees it with record_free()),
 * ANDNA_EREC_NAME if `name` is not canonical, or ANDNA_ENOMEM; *out is
 * NULL on error. */
int record_new(const char *name, const uint8_t owner[ANDNA_PK_LEN],
    uint64_t seq, struct record **out);

/* Frees a record and its entries; NULL is fine. */
void record_free(struct record *rec);

/* Appends a copy of `e`.  Returns 0, ANDNA_EREC_ENTRIES (16 of its service
 * or 256 in all already), ANDNA_EREC_NAME (target name not canonical),
 * ANDNA_EINVAL (unknown proto or target kind) or ANDNA_ENOMEM; `rec` is
 * unchanged on error. */
int record_add_entry(struct record *rec, const struct record_entry *e);

/* Writes the canonical bytes the owner signs, the msgpack of
 * ["andna-record-2", name, owner, seq, ttl, entries], to the caller's `buf`
 * of `cap` bytes (RECORD_SIGNING_MAX always suffices) and their length to
 * *len.  Returns 0, ANDNA_EREC_NAME, ANDNA_EREC_TTL (a TTL out of range),
 * ANDNA_EREC_ENTRIES, ANDNA_EINVAL (a malformed entry) or
 * ANDNA_EENC_TOO_BIG. */
int record_signing_bytes(
    const struct record *rec, uint8_t *buf, size_t cap, size_t *len);

/* Signs `rec` with `kp`, whose public key must be rec->owner.  Returns 0,
 * ANDNA_EINVAL (another key), ANDNA_ENOMEM or an error of
 * record_signing_bytes(). */
int record_sign(struct record *rec, const struct keypair *kp);

/* Checks that the name is canonical, the TTL in range, the entries are
 * well formed and the owner signed exactly these fields.  Returns 0,
 * ANDNA_EREC_NAME, ANDNA_EREC_TTL, ANDNA_EREC_SIG, ANDNA_ENOMEM or an
 * error of record_signing_bytes(). */
int record_verify(const struct record *rec);

/* The same with `fn` (called with `arg`) checking the signature instead of
 * sig_verify(); fn NULL is record_verify(). */
int record_verify_with(
    const struct record *rec, sig_verify_fn *fn, void *arg);

/* Returns true if `a` and `b` hold the same fields and signature. */
bool record_equal(const struct record *a, const struct record *b);

/* Returns true if `rec` is a release (it has no entries). */
bool record_is_release(const struct record *rec);

/* Appends the wire form [name, owner, seq, ttl, entries, sig] to `pk`.  Returns
 * 0, an error of record_signing_bytes() for a malformed record, or
 * ANDNA_EENC_TOO_BIG if the packer's writer refuses bytes. */
int record_pack(msgpack_packer *pk, const struct record *rec);

/* Encodes the wire form into the caller's `buf` of `cap` bytes
 * (RECORD_WIRE_MAX always suffices), its length into *len.  Returns as
 * record_pack(). */
int record_encode(
    const struct record *rec, uint8_t *buf, size_t cap, size_t *len);

/* Decodes the wire form from an unpacked msgpack object, strictly, but
 * does not check the signature (see record_verify()).  Returns 0 and a new
 * record in *out (the caller frees it), ANDNA_EDEC_* for a malformed value,
 * ANDNA_EREC_NAME (a name or target name not canonical), ANDNA_EREC_TTL
 * (a TTL outside ANDNA_TTL_MIN..ANDNA_TTL_MAX), ANDNA_EREC_ENTRIES (17
 * entries of one service) or ANDNA_ENOMEM; *out is NULL on error. */
int record_unpack(const msgpack_object *o, struct record **out);

/* The same from `len` raw bytes holding one record and nothing else.  Also
 * returns ANDNA_EDEC_TOO_BIG above RECORD_WIRE_MAX and the errors of
 * wire_unpack(). */
int record_decode(const uint8_t *buf, size_t len, struct record **out);

#endif
