/* Strict msgpack reading and canonical msgpack writing (see wire.h). */
#include <string.h>

#include "crypto/crypto.h"
#include "proto/err.h"
#include "proto/wire.h"

/* The msgpack_packer callback of a wire_buf: refuses what does not fit. */
static int
wire_buf_write_cb(void *data, const char *p, size_t n)
{
	struct wire_buf *b = data;

	if (b->full || n > b->cap - b->len) {
		b->full = true;
		return -1;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Points a packer at a caller-owned buffer. */
void
wire_buf_init(struct wire_buf *b, msgpack_packer *pk, uint8_t *p, size_t cap)
{
	*b = (struct wire_buf){.p = p, .cap = cap};
	msgpack_packer_init(pk, b, wire_buf_write_cb);
}

/* Keeps the first encoding error. */
void
wire_enc_fail(struct wire_enc *e, int err)
{
	if (e->err == 0)
		e->err = err;
}

/* Turns a msgpack-c pack result into the context's error. */
static void
wire_enc_check(struct wire_enc *e, int r)
{
	if (r != 0)
		wire_enc_fail(e, ANDNA_EENC_TOO_BIG);
}

/* Writes an unsigned integer in its smallest form. */
void
wire_put_uint(struct wire_enc *e, uint64_t v, uint64_t max)
{
	if (v > max)
		wire_enc_fail(e, ANDNA_EINVAL);
	if (e->err == 0)
		wire_enc_check(e, msgpack_pack_uint64(e->pk, v));
}

/* Writes an array header after checking the count. */
void
wire_put_array(struct wire_enc *e, size_t n, size_t min, size_t max)
{
	if (n < min || n > max)
		wire_enc_fail(e, ANDNA_EINVAL);
	if (e->err == 0)
		wire_enc_check(e, msgpack_pack_array(e->pk, n));
}

/* Writes a bin. */
void
wire_put_bin(struct wire_enc *e, const void *p, size_t n)
{
	if (e->err == 0)
		wire_enc_check(e, msgpack_pack_bin(e->pk, n));
	if (e->err == 0)
		wire_enc_check(e, msgpack_pack_bin_body(e->pk, p, n));
}

/* Writes a str. */
void
wire_put_str(struct wire_enc *e, const char *s, size_t n)
{
	if (e->err == 0)
		wire_enc_check(e, msgpack_pack_str(e->pk, n));
	if (e->err == 0)
		wire_enc_check(e, msgpack_pack_str_body(e->pk, s, n));
}

/* Writes a canonical name as a str. */
void
wire_put_name(struct wire_enc *e, const char name[ANDNA_NAME_MAX + 1])
{
	if (memchr(name, '\0', ANDNA_NAME_MAX + 1) == NULL ||
	    !name_is_canonical(name))
		wire_enc_fail(e, ANDNA_EINVAL);
	else
		wire_put_str(e, name, strlen(name));
}

/* Writes nil. */
void
wire_put_nil(struct wire_enc *e)
{
	if (e->err == 0)
		wire_enc_check(e, msgpack_pack_nil(e->pk));
}

/* Writes a boolean. */
void
wire_put_bool(struct wire_enc *e, bool v)
{
	if (e->err == 0)
		wire_enc_check(e,
		    v ? msgpack_pack_true(e->pk) : msgpack_pack_false(e->pk));
}

/* Reads a big-endian integer of `n` bytes. */
static uint64_t
wire_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads one msgpack header at *off: sets the bytes its body takes and,
 * for an array, its element count.  Maps and ext types never occur in the
 * protocol and are refused here, before msgpack-c could allocate for them.
 * Returns 0, ANDNA_EDEC_TRUNCATED or ANDNA_EDEC_TYPE. */
static int
wire_scan_header(const uint8_t *buf, size_t len, size_t *off, uint64_t *body,
    uint64_t *count, bool *array)
{
	uint8_t b = buf[(*off)++];
	size_t w; /* bytes of the length field */

	*body = 0;
	*count = 0;
	*array = false;
	if (b <= 0x7f || b >= 0xe0)
		return 0; /* fixints */
	if (b <= 0x8f)
		return ANDNA_EDEC_TYPE; /* fixmap */
	if (b <= 0x9f) {
		*array = true;
		*count = b & 0x0f;
		return 0;
	}
	if (b <= 0xbf) {
		*body = b & 0x1f;
		return 0;
	}
	switch (b) {
	case 0xc0: /* nil, false, true */
	case 0xc2:
	case 0xc3:
		return 0;
	case 0xcc: /* uint8, int8 */
	case 0xd0:
		*body = 1;
		return 0;
	case 0xcd: /* uint16, int16 */
	case 0xd1:
		*body = 2;
		return 0;
	case 0xca: /* float32, uint32, int32 */
	case 0xce:
	case 0xd2:
		*body = 4;
		return 0;
	case 0xcb: /* float64, uint64, int64 */
	case 0xcf:
	case 0xd3:
		*body = 8;
		return 0;
	case 0xc4: /* bin8, str8 */
	case 0xd9:
		w = 1;
		break;
	case 0xc5: /* bin16, str16, array16 */
	case 0xda:
	case 0xdc:
		w = 2;
		break;
	case 0xc6: /* bin32, str32, array32 */
	case 0xdb:
	case 0xdd:
		w = 4;
		break;
	default:
		return ANDNA_EDEC_TYPE;
	}
	if (w > len - *off)
		return ANDNA_EDEC_TRUNCATED;
	uint64_t v = wire_be(buf + *off, w);
	*off += w;
	*array = b == 0xdc || b == 0xdd;
	*(*array ? count : body) = v;
	return 0;
}

/* Walks one msgpack value without allocating and checks the limits. */
static int
wire_scan(const uint8_t *buf, size_t len)
{
	uint64_t left[WIRE_DEPTH_MAX + 1];
	size_t top = 0, off = 0;
	uint64_t objects = 0, body, count;
	bool array;

	for (;;) {
		if (off == len)
			return ANDNA_EDEC_TRUNCATED;
		int r = wire_scan_header(buf, len, &off, &body, &count, &array);
		if (r != 0)
			return r;
		if (body > len - off)
			return ANDNA_EDEC_TRUNCATED;
		off += body;
		if (array) {
			if (top > WIRE_DEPTH_MAX)
				return ANDNA_EDEC_TOO_DEEP;
			objects += count;
			if (count > WIRE_ARRAY_MAX ||
			    objects > WIRE_OBJECTS_MAX)
				return ANDNA_EDEC_TOO_MANY;
			if (count > len - off)
				return ANDNA_EDEC_TRUNCATED;
			if (count > 0) {
				left[top++] = count;
				continue;
			}
		}
		while (top > 0 && --left[top - 1] == 0)
			top--;
		if (top == 0)
			break;
	}
	return off == len ? 0 : ANDNA_EDEC_TRAILING;
}

/* Checks the bytes, then lets msgpack-c build the object tree. */
int
wire_unpack(msgpack_unpacked *u, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int r = wire_scan(buf, len);

	if (r != 0)
		return r;
	r = msgpack_unpack_next(u, (const char *)buf, len, &off);
	if (r == MSGPACK_UNPACK_SUCCESS && off == len)
		return 0;
	return r == MSGPACK_UNPACK_NOMEM_ERROR ? ANDNA_ENOMEM : ANDNA_EDEC_TYPE;
}

/* Keeps the first decoding error. */
void
wire_dec_fail(struct wire_dec *d, int err)
{
	if (d->err == 0)
		d->err = err;
}

/* Returns the elements of a fixed-length array. */
const msgpack_object *
wire_tuple(struct wire_dec *d, const msgpack_object *o, uint32_t n)
{
	static const msgpack_object nils[8];

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != n)
		wire_dec_fail(d, ANDNA_EDEC_TYPE);
	return d->err == 0 ? o->via.array.ptr : nils;
}

/* Returns the elements of a variable-length array. */
uint32_t
wire_list(struct wire_dec *d, const msgpack_object *o, uint32_t min,
    uint32_t max, const msgpack_object **elems)
{
	*elems = NULL;
	if (o->type != MSGPACK_OBJECT_ARRAY)
		wire_dec_fail(d, ANDNA_EDEC_TYPE);
	else if (o->via.array.size > max)
		wire_dec_fail(d, ANDNA_EDEC_TOO_MANY);
	else if (o->via.array.size < min)
		wire_dec_fail(d, ANDNA_EDEC_VALUE);
	if (d->err != 0)
		return 0;
	*elems = o->via.array.ptr;
	return o->via.array.size;
}

/* Returns an unsigned integer within min..max. */
uint64_t
wire_uint(
    struct wire_dec *d, const msgpack_object *o, uint64_t min, uint64_t max)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		wire_dec_fail(d, ANDNA_EDEC_VALUE);
	else if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		wire_dec_fail(d, ANDNA_EDEC_TYPE);
	else if (o->via.u64 < min || o->via.u64 > max)
		wire_dec_fail(d, ANDNA_EDEC_VALUE);
	return d->err == 0 ? o->via.u64 : min;
}

/* Returns a boolean. */
bool
wire_bool(struct wire_dec *d, const msgpack_object *o)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		wire_dec_fail(d, ANDNA_EDEC_TYPE);
	return d->err == 0 && o->via.boolean;
}

/* Copies a bin of a fixed length. */
void
wire_bin(struct wire_dec *d, const msgpack_object *o, void *out, size_t len)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		wire_dec_fail(d, ANDNA_EDEC_TYPE);
	else if (o->via.bin.size != len)
		wire_dec_fail(d, ANDNA_EDEC_VALUE);
	if (d->err == 0)
		memcpy(out, o->via.bin.ptr, len);
}

/* Copies a canonical name. */
void
wire_name(struct wire_dec *d, const msgpack_object *o,
    char out[ANDNA_NAME_MAX + 1], int bad)
{
	out[0] = '\0';
	if (o->type != MSGPACK_OBJECT_STR)
		wire_dec_fail(d, ANDNA_EDEC_TYPE);
	else if (o->via.str.size > ANDNA_NAME_MAX)
		wire_dec_fail(d, ANDNA_EDEC_TOO_BIG);
	else if (o->via.str.size == 0) /* msgpack-c gives no pointer */
		wire_dec_fail(d, bad);
	if (d->err != 0)
		return;
	memcpy(out, o->via.str.ptr, o->via.str.size);
	out[o->via.str.size] = '\0';
	if (strlen(out) != o->via.str.size || !name_is_canonical(out)) {
		out[0] = '\0';
		wire_dec_fail(d, bad);
	}
}
