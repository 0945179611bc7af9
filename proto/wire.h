/* Strict msgpack reading and canonical msgpack writing, shared by the
 * record and message codecs (proto/record.c, proto/msg.c).  Both sides keep
 * the first error in a context and turn later calls into no-ops, so a codec
 * is a straight list of fields with one check at the end. */
#ifndef ANDNA_PROTO_WIRE_H
#define ANDNA_PROTO_WIRE_H

#include <msgpack.h>

#include "proto/types.h"

/* Limits of wire_unpack(), checked on the raw bytes before msgpack-c builds
 * anything: msgpack-c allocates an array's slots as soon as it reads the
 * header, so a lying header must never reach it. */
#define WIRE_DEPTH_MAX 6	/* arrays nested below the outermost one */
#define WIRE_ARRAY_MAX 768	/* elements of one array (the largest cap) */
#define WIRE_OBJECTS_MAX 131072 /* array elements in all (64 full records) */

/* A writer: `pk` appends to something; `err` is 0 or the first error. */
struct wire_enc {
	msgpack_packer *pk;
	int err;
};

/* A bounded output buffer behind a msgpack_packer. */
struct wire_buf {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool full; /* a write did not fit: everything after it is refused */
};

/* Points `pk` at `b`, which writes into the caller's `p` of `cap` bytes. */
void wire_buf_init(
    struct wire_buf *b, msgpack_packer *pk, uint8_t *p, size_t cap);

/* Sets e->err to `err` unless an earlier error is already there. */
void wire_enc_fail(struct wire_enc *e, int err);

/* Writes `v` in its smallest form; ANDNA_EINVAL if it exceeds `max`. */
void wire_put_uint(struct wire_enc *e, uint64_t v, uint64_t max);

/* Writes an array header of `n`; ANDNA_EINVAL unless min <= n <= max. */
void wire_put_array(struct wire_enc *e, size_t n, size_t min, size_t max);

/* Writes `n` bytes as a msgpack bin. */
void wire_put_bin(struct wire_enc *e, const void *p, size_t n);

/* Writes `n` bytes as a msgpack str. */
void wire_put_str(struct wire_enc *e, const char *s, size_t n);

/* Writes a canonical name as a str; ANDNA_EINVAL if it is not one. */
void wire_put_name(struct wire_enc *e, const char name[ANDNA_NAME_MAX + 1]);

/* Writes nil. */
void wire_put_nil(struct wire_enc *e);

/* Writes true or false. */
void wire_put_bool(struct wire_enc *e, bool v);

/* Checks `len` bytes for one msgpack value within the WIRE_* limits (no
 * maps, no ext types, nothing after it), then unpacks it into `u`, which
 * the caller has initialised and destroys.  Strings and bins in the result
 * point into `buf`.  Returns 0, ANDNA_EDEC_TRUNCATED, ANDNA_EDEC_TRAILING,
 * ANDNA_EDEC_TOO_DEEP, ANDNA_EDEC_TOO_MANY, ANDNA_EDEC_TYPE or
 * ANDNA_ENOMEM. */
int wire_unpack(msgpack_unpacked *u, const uint8_t *buf, size_t len);

/* A reader: `err` is 0 or the first error. */
struct wire_dec {
	int err;
};

/* Sets d->err to `err` unless an earlier error is already there. */
void wire_dec_fail(struct wire_dec *d, int err);

/* Returns the `n` (at most 8) elements of the array `o`; ANDNA_EDEC_TYPE
 * if `o` is not an array of exactly `n`, and then `n` nils to read on. */
const msgpack_object *wire_tuple(
    struct wire_dec *d, const msgpack_object *o, uint32_t n);

/* Returns the number of elements of the array `o` and sets `*elems`;
 * ANDNA_EDEC_TYPE if `o` is no array, ANDNA_EDEC_TOO_MANY above `max`,
 * ANDNA_EDEC_VALUE below `min`; 0 elements on any error. */
uint32_t wire_list(struct wire_dec *d, const msgpack_object *o, uint32_t min,
    uint32_t max, const msgpack_object **elems);

/* Returns the unsigned integer `o`; ANDNA_EDEC_TYPE if it is no integer,
 * ANDNA_EDEC_VALUE outside min..max; `min` on any error. */
uint64_t wire_uint(
    struct wire_dec *d, const msgpack_object *o, uint64_t min, uint64_t max);

/* Returns the boolean `o`; ANDNA_EDEC_TYPE if it is none. */
bool wire_bool(struct wire_dec *d, const msgpack_object *o);

/* Copies the bin `o` of exactly `len` bytes to `out`; ANDNA_EDEC_TYPE if
 * it is no bin, ANDNA_EDEC_VALUE if its length differs. */
void wire_bin(
    struct wire_dec *d, const msgpack_object *o, void *out, size_t len);

/* Copies the str `o` to `out` as a NUL-terminated canonical name;
 * ANDNA_EDEC_TYPE if it is no str, ANDNA_EDEC_TOO_BIG above
 * ANDNA_NAME_MAX bytes, `bad` if it is not canonical. */
void wire_name(struct wire_dec *d, const msgpack_object *o,
    char out[ANDNA_NAME_MAX + 1], int bad);

#endif
