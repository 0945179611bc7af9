/* Signed records: known-answer bytes and signature, round trips, limits,
 * rejections and a mutation loop over the decoder.
 * `test_record write-corpus DIR` writes the fuzz seed corpus instead. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "proto/err.h"
#include "proto/record.h"

/* RFC 8032, section 7.1, test 1: secret seed and public key. */
static const uint8_t rfc_seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a,
    0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5,
    0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f,
    0x60};

/* The signed bytes of the known-answer record, written out by hand from
 * the msgpack spec: ["andna-record-2", "habr.ru", pk, 2^32, ttl 300,
 * [[0, 0, 10, 5, 10.0.0.1], [80, 6, 200, 1, 2001:db8::1],
 *  [443, 6, 20, 0, "web.habr.ru"]]] */
/* clang-format off */
static const uint8_t kat_signing[] = {
    0x96,                                           /* fixarray 6 */
    0xae, 'a', 'n', 'd', 'n', 'a', '-', 'r', 'e', 'c', 'o', 'r', 'd', '-',
    '2',                                            /* fixstr 14 */
    0xa7, 'h', 'a', 'b', 'r', '.', 'r', 'u',        /* fixstr 7 */
    0xc4, 0x20,                                     /* bin 8, 32 bytes */
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3,
    0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
    0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
    0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* uint 64 */
    0xcd, 0x01, 0x2c,                               /* uint 16: 300 */
    0x93,                                           /* fixarray 3 */
    0x95, 0x00, 0x00, 0x0a, 0x05, 0xc4, 0x04, 0x0a, 0x00, 0x00, 0x01,
    0x95, 0x50, 0x06, 0xcc, 0xc8, 0x01, 0xc4, 0x10, 0x20, 0x01, 0x0d, 0xb8,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x95, 0xcd, 0x01, 0xbb, 0x06, 0x14, 0x00, 0xab, 'w', 'e', 'b', '.', 'h',
    'a', 'b', 'r', '.', 'r', 'u'};
/* clang-format on */

/* Ed25519 signature of kat_signing by the RFC key, from OpenSSL 3.0
 * (`openssl pkeyutl -sign -rawin`), an implementation independent of ours. */
static const uint8_t kat_sig[64] = {0x47, 0xc5, 0xad, 0xfd, 0x9a, 0xe8, 0xf6,
    0x69, 0xf0, 0x90, 0x31, 0xe2, 0xa7, 0xf1, 0x41, 0xef, 0x59, 0x32, 0xe5,
    0x2c, 0xa5, 0xcc, 0xbd, 0x80, 0x3c, 0x4f, 0xfd, 0xeb, 0xaf, 0xd5, 0x39,
    0x39, 0x19, 0xf6, 0x94, 0xab, 0xd3, 0x1d, 0x3d, 0x03, 0x06, 0x3f, 0x28,
    0x7e, 0x0f, 0x49, 0x12, 0xd8, 0x76, 0xa8, 0xe8, 0x6d, 0x02, 0x06, 0x4d,
    0xf0, 0x6d, 0x02, 0x20, 0x13, 0x53, 0xf8, 0x5c, 0x0a};

/* A small deterministic generator for test data. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* An entry with an IPv4 target. */
static struct record_entry
entry_v4(uint16_t service, uint8_t proto, uint8_t last)
{
	struct record_entry e = {.service = service,
	    .proto = proto,
	    .priority = 10,
	    .weight = 5,
	    .kind = RECORD_TARGET_IPV4};
	e.target.ip[0] = 10;
	e.target.ip[3] = last;
	return e;
}

/* An entry with a name target. */
static struct record_entry
entry_name(uint16_t service, const char *name)
{
	struct record_entry e = {.service = service,
	    .proto = RECORD_PROTO_TCP,
	    .priority = 1,
	    .weight = 2,
	    .kind = RECORD_TARGET_NAME};
	strcpy(e.target.name, name);
	return e;
}

/* Builds the known-answer record, signed by `kp`. */
static struct record *
kat_record(const struct keypair *kp)
{
	struct record *rec;
	struct record_entry e;

	assert_int_equal(record_new("habr.ru", kp->pk, 1ull << 32, &rec), 0);
	assert_int_equal(rec->ttl, ANDNA_TTL_DEFAULT);
	rec->ttl = 300;
	e = entry_v4(0, RECORD_PROTO_NONE, 1);
	assert_int_equal(record_add_entry(rec, &e), 0);
	e = (struct record_entry){.service = 80,
	    .proto = RECORD_PROTO_TCP,
	    .priority = 200,
	    .weight = 1,
	    .kind = RECORD_TARGET_IPV6};
	memcpy(e.target.ip, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_int_equal(record_add_entry(rec, &e), 0);
	e = (struct record_entry){.service = 443,
	    .proto = RECORD_PROTO_TCP,
	    .priority = 20,
	    .weight = 0,
	    .kind = RECORD_TARGET_NAME};
	strcpy(e.target.name, "web.habr.ru");
	assert_int_equal(record_add_entry(rec, &e), 0);
	assert_int_equal(record_sign(rec, kp), 0);
	return rec;
}

/* Encodes `rec`, decodes it again, checks it is the same and returns the
 * decoded copy. */
static struct record *
round_trip(const struct record *rec)
{
	uint8_t *buf = malloc(RECORD_WIRE_MAX);
	struct record *back;
	size_t len;

	assert_non_null(buf);
	assert_int_equal(record_encode(rec, buf, RECORD_WIRE_MAX, &len), 0);
	assert_int_equal(record_decode(buf, len, &back), 0);
	assert_true(record_equal(rec, back));
	free(buf);
	return back;
}

static void
test_kat(void **state)
{
	struct keypair kp;
	uint8_t buf[RECORD_SIGNING_MAX];
	size_t len;

	(void)state;
	keypair_from_seed(&kp, rfc_seed);
	assert_memory_equal(kp.pk, kat_signing + 26, 32);
	struct record *rec = kat_record(&kp);
	assert_int_equal(record_signing_bytes(rec, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(kat_signing));
	assert_memory_equal(buf, kat_signing, sizeof(kat_signing));
	assert_memory_equal(rec->sig, kat_sig, 64);
	assert_int_equal(record_verify(rec), 0);

	/* The wire form: the signed array without its tag, then the sig. */
	uint8_t want[sizeof(kat_signing) - 15 + 66];
	want[0] = 0x96;
	memcpy(want + 1, kat_signing + 16, sizeof(kat_signing) - 16);
	memcpy(want + sizeof(kat_signing) - 15, "\xc4\x40", 2);
	memcpy(want + sizeof(kat_signing) - 13, kat_sig, 64);
	assert_int_equal(record_encode(rec, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	/* One byte short of room is refused. */
	assert_int_equal(
	    record_signing_bytes(rec, buf, sizeof(kat_signing) - 1, &len),
	    ANDNA_EENC_TOO_BIG);
	assert_int_equal(len, 0);
	assert_int_equal(record_encode(rec, buf, sizeof(want) - 1, &len),
	    ANDNA_EENC_TOO_BIG);
	record_free(rec);
	keypair_wipe(&kp);
}

static void
test_round_trips(void **state)
{
	struct keypair kp;
	struct record *rec, *back;
	struct record_entry e;

	(void)state;
	keypair_from_seed(&kp, rfc_seed);
	rec = kat_record(&kp);
	back = round_trip(rec);
	assert_int_equal(record_verify(back), 0);
	assert_false(record_is_release(back));
	assert_int_equal(back->entries[0].kind, RECORD_TARGET_IPV4);
	assert_int_equal(back->entries[1].kind, RECORD_TARGET_IPV6);
	assert_string_equal(back->entries[2].target.name, "web.habr.ru");
	assert_int_equal(back->entries[2].service, 443);
	assert_int_equal(back->ttl, 300);
	record_free(back);
	record_free(rec);

	/* A release: no entries, and a TTL all the same (the default). */
	assert_int_equal(record_new("a", kp.pk, 0, &rec), 0);
	assert_int_equal(record_sign(rec, &kp), 0);
	back = round_trip(rec);
	assert_true(record_is_release(back));
	assert_int_equal(back->ttl, ANDNA_TTL_DEFAULT);
	assert_int_equal(record_verify(back), 0);
	record_free(back);
	record_free(rec);

	/* The biggest record, and on the way every count of the biggest
	 * entries: a 253-byte name, the longest TTL (a uint32), 16 services
	 * of 16 entries, each of the largest integers and naming a 253-byte
	 * target. */
	char big[ANDNA_NAME_MAX + 1];
	for (int i = 0; i < ANDNA_NAME_MAX; i++)
		big[i] = i % 64 == 63 ? '.' : (char)('a' + i % 26);
	big[ANDNA_NAME_MAX] = '\0';
	assert_int_equal(record_new(big, kp.pk, UINT64_MAX, &rec), 0);
	rec->ttl = ANDNA_TTL_MAX;
	for (int i = 0; i < ANDNA_ENTRIES_MAX; i++) {
		e = entry_name((uint16_t)(1000 + i / 16), big);
		e.proto = RECORD_PROTO_UDP;
		e.priority = UINT16_MAX;
		e.weight = (uint16_t)(UINT16_MAX - i);
		assert_int_equal(record_add_entry(rec, &e), 0);
		/* signing sizes its buffer by the entries: each count fits */
		assert_int_equal(record_sign(rec, &kp), 0);
		assert_int_equal(record_verify(rec), 0);
	}
	uint8_t *buf = malloc(RECORD_WIRE_MAX);
	size_t len;
	assert_int_equal(record_encode(rec, buf, RECORD_WIRE_MAX, &len), 0);
	assert_int_equal(len, RECORD_WIRE_MAX); /* the bound is tight */
	assert_int_equal(
	    record_signing_bytes(rec, buf, RECORD_WIRE_MAX, &len), 0);
	assert_int_equal(len, RECORD_SIGNING_MAX);
	free(buf);
	back = round_trip(rec);
	assert_int_equal(back->n_entries, ANDNA_ENTRIES_MAX);
	assert_int_equal(record_verify(back), 0);
	record_free(back);
	record_free(rec);
	keypair_wipe(&kp);
}

static void
test_rejections(void **state)
{
	struct keypair kp, other;
	struct record *rec;
	uint8_t seed2[32] = {7};

	(void)state;
	keypair_from_seed(&kp, rfc_seed);
	keypair_from_seed(&other, seed2);

	rec = kat_record(&kp);
	rec->sig[10] ^= 0x01;
	assert_int_equal(record_verify(rec), ANDNA_EREC_SIG);
	record_free(rec);

	rec = kat_record(&kp);
	rec->seq++;
	assert_int_equal(record_verify(rec), ANDNA_EREC_SIG);
	record_free(rec);

	/* The TTL is signed, and one out of range is refused by every
	 * encoder with its own code. */
	rec = kat_record(&kp);
	rec->ttl = 301;
	assert_int_equal(record_verify(rec), ANDNA_EREC_SIG);
	const uint32_t bad_ttl[] = {0, ANDNA_TTL_MIN - 1, ANDNA_TTL_MAX + 1,
	    UINT32_MAX};
	for (size_t i = 0; i < sizeof(bad_ttl) / sizeof(bad_ttl[0]); i++) {
		uint8_t tb[RECORD_SIGNING_MAX];
		size_t tl;
		rec->ttl = bad_ttl[i];
		assert_int_equal(record_verify(rec), ANDNA_EREC_TTL);
		assert_int_equal(record_sign(rec, &kp), ANDNA_EREC_TTL);
		assert_int_equal(
		    record_encode(rec, tb, sizeof(tb), &tl), ANDNA_EREC_TTL);
		assert_int_equal(tl, 0);
	}
	rec->ttl = ANDNA_TTL_MIN;
	assert_int_equal(record_sign(rec, &kp), 0);
	assert_int_equal(record_verify(rec), 0);
	rec->ttl = ANDNA_TTL_MAX;
	assert_int_equal(record_sign(rec, &kp), 0);
	assert_int_equal(record_verify(rec), 0);
	record_free(rec);

	rec = kat_record(&kp);
	rec->entries[1].target.ip[15] = 2;
	assert_int_equal(record_verify(rec), ANDNA_EREC_SIG);
	rec->entries[1].target.ip[15] = 1;
	rec->entries[2].weight = 1;
	assert_int_equal(record_verify(rec), ANDNA_EREC_SIG);
	rec->entries[2].weight = 0;
	assert_int_equal(record_verify(rec), 0);
	strcpy(rec->name, "habr.rv");
	assert_int_equal(record_verify(rec), ANDNA_EREC_SIG);
	strcpy(rec->name, "Habr.ru");
	assert_int_equal(record_verify(rec), ANDNA_EREC_NAME);
	strcpy(rec->name, "habr.ru");
	memcpy(rec->owner, other.pk, 32);
	assert_int_equal(record_verify(rec), ANDNA_EREC_SIG);
	assert_int_equal(record_sign(rec, &kp), ANDNA_EINVAL);
	record_free(rec);

	/* Names: not canonical, for the record and for a target. */
	assert_int_equal(
	    record_new("Habr.ru", kp.pk, 1, &rec), ANDNA_EREC_NAME);
	assert_null(rec);
	assert_int_equal(
	    record_new("habr..ru", kp.pk, 1, &rec), ANDNA_EREC_NAME);
	assert_int_equal(record_new("", kp.pk, 1, &rec), ANDNA_EREC_NAME);
	assert_int_equal(record_new("habr.ru", kp.pk, 1, &rec), 0);
	struct record_entry e = entry_name(0, "-bad.ru");
	assert_int_equal(record_add_entry(rec, &e), ANDNA_EREC_NAME);
	e = entry_v4(0, 7, 1);
	assert_int_equal(record_add_entry(rec, &e), ANDNA_EINVAL);
	e = entry_v4(0, RECORD_PROTO_UDP, 1);
	e.kind = 9;
	assert_int_equal(record_add_entry(rec, &e), ANDNA_EINVAL);
	assert_int_equal(rec->n_entries, 0);

	/* 16 per service, then the 17th is refused; others still fit. */
	for (int i = 0; i < ANDNA_ENTRIES_PER_SVC; i++) {
		e = entry_v4(53, RECORD_PROTO_UDP, (uint8_t)i);
		assert_int_equal(record_add_entry(rec, &e), 0);
	}
	e = entry_v4(53, RECORD_PROTO_TCP, 99);
	assert_int_equal(record_add_entry(rec, &e), ANDNA_EREC_ENTRIES);
	assert_int_equal(rec->n_entries, ANDNA_ENTRIES_PER_SVC);
	for (int i = ANDNA_ENTRIES_PER_SVC; i < ANDNA_ENTRIES_MAX; i++) {
		e = entry_v4((uint16_t)(1000 + i / 16), RECORD_PROTO_TCP, 1);
		assert_int_equal(record_add_entry(rec, &e), 0);
	}
	e = entry_v4(9999, RECORD_PROTO_TCP, 1);
	assert_int_equal(record_add_entry(rec, &e), ANDNA_EREC_ENTRIES);
	assert_int_equal(rec->n_entries, ANDNA_ENTRIES_MAX);

	/* A record broken in memory is refused by the encoders. */
	uint8_t buf[64];
	size_t len;
	rec->entries[20].service = 53; /* the 17th of service 53 */
	assert_int_equal(record_sign(rec, &kp), ANDNA_EREC_ENTRIES);
	assert_int_equal(
	    record_encode(rec, buf, sizeof(buf), &len), ANDNA_EREC_ENTRIES);
	rec->entries[20].service = 1001;
	rec->entries[3].kind = 0;
	assert_int_equal(record_verify(rec), ANDNA_EINVAL);
	record_free(rec);
	keypair_wipe(&kp);
	keypair_wipe(&other);
}

static void
test_equal(void **state)
{
	struct keypair kp;

	(void)state;
	keypair_from_seed(&kp, rfc_seed);
	struct record *a = kat_record(&kp), *b = kat_record(&kp);
	assert_true(record_equal(a, b));
	b->entries[0].target.ip[1] = 1;
	assert_false(record_equal(a, b));
	b->entries[0].target.ip[1] = 0;
	b->entries[2].target.name[0] = 'x';
	assert_false(record_equal(a, b));
	b->entries[2].target.name[0] = 'w';
	b->sig[0] ^= 1;
	assert_false(record_equal(a, b));
	b->sig[0] ^= 1;
	b->ttl++;
	assert_false(record_equal(a, b));
	b->ttl--;
	b->n_entries = 2;
	assert_false(record_equal(a, b));
	b->n_entries = 3;
	assert_true(record_equal(a, b));
	record_free(a);
	record_free(b);
	keypair_wipe(&kp);
}

/* A msgpack-c packer over a growing buffer, for hand-made encodings. */
struct raw {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void
raw_init(struct raw *r)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

/* Decodes what `r` holds, frees it and returns the result code. */
static int
raw_decode(struct raw *r)
{
	struct record *rec;
	int e = record_decode((const uint8_t *)r->sb.data, r->sb.size, &rec);

	if (e == 0)
		record_free(rec);
	else
		assert_null(rec);
	msgpack_sbuffer_destroy(&r->sb);
	return e;
}

/* Packs the start [name, owner, seq, ttl 60, entries header of n] of a
 * record; the caller packs the n entries and then raw_sig(). */
static void
raw_head_n(struct raw *r, const char *name, size_t namelen, uint32_t n)
{
	raw_init(r);
	msgpack_pack_array(&r->pk, 6);
	msgpack_pack_str_with_body(&r->pk, name, namelen);
	msgpack_pack_bin_with_body(&r->pk, rfc_seed, 32);
	msgpack_pack_uint64(&r->pk, 1);
	msgpack_pack_uint8(&r->pk, 60);
	msgpack_pack_array(&r->pk, n);
}

/* Packs a release [name, owner, seq, ttl, [], sig] with the TTL as the
 * caller packs it in `put` (called with `v`). */
static int
raw_ttl(void (*put)(struct raw *, int64_t), int64_t v)
{
	struct raw r;

	raw_init(&r);
	msgpack_pack_array(&r.pk, 6);
	msgpack_pack_str_with_body(&r.pk, "ok.example", 10);
	msgpack_pack_bin_with_body(&r.pk, rfc_seed, 32);
	msgpack_pack_uint64(&r.pk, 1);
	put(&r, v);
	msgpack_pack_array(&r.pk, 0);
	msgpack_pack_bin_with_body(&r.pk, kat_sig, 64);
	return raw_decode(&r);
}

static void
put_uint(struct raw *r, int64_t v)
{
	msgpack_pack_uint64(&r->pk, (uint64_t)v);
}

static void
put_int(struct raw *r, int64_t v)
{
	msgpack_pack_int64(&r->pk, v);
}

static void
put_str(struct raw *r, int64_t v)
{
	(void)v;
	msgpack_pack_str_with_body(&r->pk, "60", 2);
}

static void
put_nil(struct raw *r, int64_t v)
{
	(void)v;
	msgpack_pack_nil(&r->pk);
}

/* The same for a NUL-terminated name. */
static void
raw_head(struct raw *r, const char *name, uint32_t n)
{
	raw_head_n(r, name, strlen(name), n);
}

static void
raw_entry(struct raw *r, uint16_t service, uint8_t proto)
{
	msgpack_pack_array(&r->pk, 5);
	msgpack_pack_uint16(&r->pk, service);
	msgpack_pack_uint8(&r->pk, proto);
	msgpack_pack_uint16(&r->pk, 1);
	msgpack_pack_uint16(&r->pk, 1);
	msgpack_pack_bin_with_body(&r->pk, "\x7f\0\0\x01", 4);
}

static void
raw_sig(struct raw *r)
{
	msgpack_pack_bin_with_body(&r->pk, kat_sig, 64);
}

static void
test_decode_strict(void **state)
{
	struct raw r;

	(void)state;
	raw_head(&r, "ok.example", 1);
	raw_entry(&r, 80, 6);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), 0);

	/* The TTL: 5 s .. a day, in any integer form; others refused. */
	assert_int_equal(raw_ttl(put_uint, ANDNA_TTL_MIN), 0);
	assert_int_equal(raw_ttl(put_uint, ANDNA_TTL_MAX), 0);
	assert_int_equal(raw_ttl(put_int, 60), 0);
	assert_int_equal(raw_ttl(put_uint, 0), ANDNA_EREC_TTL);
	assert_int_equal(raw_ttl(put_uint, ANDNA_TTL_MIN - 1), ANDNA_EREC_TTL);
	assert_int_equal(raw_ttl(put_uint, ANDNA_TTL_MAX + 1), ANDNA_EREC_TTL);
	assert_int_equal(raw_ttl(put_uint, 1ll << 32), ANDNA_EREC_TTL);
	assert_int_equal(raw_ttl(put_uint, INT64_MAX), ANDNA_EREC_TTL);
	assert_int_equal(raw_ttl(put_int, -60), ANDNA_EDEC_VALUE);
	assert_int_equal(raw_ttl(put_str, 0), ANDNA_EDEC_TYPE);
	assert_int_equal(raw_ttl(put_nil, 0), ANDNA_EDEC_TYPE);

	/* A record of version 1 (no TTL, 5 elements) is not one. */
	raw_init(&r);
	msgpack_pack_array(&r.pk, 5);
	msgpack_pack_str_with_body(&r.pk, "ok.example", 10);
	msgpack_pack_bin_with_body(&r.pk, rfc_seed, 32);
	msgpack_pack_uint64(&r.pk, 1);
	msgpack_pack_array(&r.pk, 0);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_TYPE);

	/* Caps: 257 entries, 17 of one service. */
	raw_head(&r, "ok.example", 257);
	for (int i = 0; i < 257; i++)
		raw_entry(&r, (uint16_t)i, 6);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_TOO_MANY);
	raw_head(&r, "ok.example", 17);
	for (int i = 0; i < 17; i++)
		raw_entry(&r, 443, 6);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EREC_ENTRIES);

	/* Names. */
	raw_head(&r, "Ok.example", 0);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EREC_NAME);
	raw_head(&r, "", 0);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EREC_NAME);
	raw_head_n(&r, "ok\0x", 4, 0);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EREC_NAME);
	char longname[ANDNA_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[ANDNA_NAME_MAX + 1] = '\0';
	raw_head(&r, longname, 0);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_TOO_BIG);
	raw_head(&r, "ok.example", 1);
	msgpack_pack_array(&r.pk, 5);
	msgpack_pack_uint16(&r.pk, 1);
	msgpack_pack_uint8(&r.pk, 6);
	msgpack_pack_uint16(&r.pk, 1);
	msgpack_pack_uint16(&r.pk, 1);
	msgpack_pack_str_with_body(&r.pk, "Target.example", 14);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EREC_NAME);

	/* Types and values. */
	raw_head(&r, "ok.example", 1);
	raw_entry(&r, 80, 7); /* proto neither 0, 6 nor 17 */
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_VALUE);
	for (int bad = 0; bad < 2; bad++) {
		raw_head(&r, "ok.example", 1);
		msgpack_pack_array(&r.pk, 5);
		msgpack_pack_int8(&r.pk, bad ? 1 : -1); /* negative service */
		msgpack_pack_uint8(&r.pk, 6);
		msgpack_pack_uint16(&r.pk, 1);
		msgpack_pack_uint32(&r.pk, bad ? 70000 : 1); /* over uint16 */
		msgpack_pack_bin_with_body(&r.pk, "\x7f\0\0\x01", 4);
		raw_sig(&r);
		assert_int_equal(raw_decode(&r), ANDNA_EDEC_VALUE);
	}
	raw_head(&r, "ok.example", 1);
	msgpack_pack_array(&r.pk, 5);
	for (int i = 0; i < 4; i++)
		msgpack_pack_uint8(&r.pk, 6);
	msgpack_pack_bin_with_body(&r.pk, "\x7f\0\0\x01\0", 5);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_VALUE);
	raw_head(&r, "ok.example", 1);
	msgpack_pack_array(&r.pk, 5);
	for (int i = 0; i < 4; i++)
		msgpack_pack_uint8(&r.pk, 6);
	msgpack_pack_true(&r.pk);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_TYPE);
	raw_head(&r, "ok.example", 1);
	msgpack_pack_array(&r.pk, 4); /* an entry of 4 */
	for (int i = 0; i < 4; i++)
		msgpack_pack_uint8(&r.pk, 6);
	raw_sig(&r);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_TYPE);
	raw_head(&r, "ok.example", 0);
	msgpack_pack_bin_with_body(&r.pk, kat_sig, 63);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_VALUE);
	raw_head(&r, "ok.example", 0);
	msgpack_pack_str_with_body(&r.pk, "x", 1); /* sig as str */
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_TYPE);
	raw_head(&r, "ok.example", 0);
	raw_sig(&r);
	msgpack_pack_nil(&r.pk);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_TRAILING);
	raw_init(&r);
	msgpack_pack_map(&r.pk, 1);
	msgpack_pack_nil(&r.pk);
	msgpack_pack_nil(&r.pk);
	assert_int_equal(raw_decode(&r), ANDNA_EDEC_TYPE);

	/* Too long to be a record at all. */
	uint8_t *big = calloc(1, RECORD_WIRE_MAX + 1);
	struct record *rec;
	assert_int_equal(
	    record_decode(big, RECORD_WIRE_MAX + 1, &rec), ANDNA_EDEC_TOO_BIG);
	free(big);
}

/* A record arriving in larger forms than needed is accepted, and its
 * signature still verifies over the canonical re-encoding. */
static void
test_noncanonical_accepted(void **state)
{
	struct keypair kp;
	struct raw r;
	struct record *rec;

	(void)state;
	keypair_from_seed(&kp, rfc_seed);
	raw_init(&r);
	const uint8_t head[] = {0xdc, 0x00, 0x06,	   /* array 16 */
	    0xd9, 0x07, 'h', 'a', 'b', 'r', '.', 'r', 'u', /* str 8 */
	    0xc5, 0x00, 0x20};				   /* bin 16 */
	msgpack_sbuffer_write(&r.sb, (const char *)head, sizeof(head));
	msgpack_sbuffer_write(&r.sb, (const char *)kp.pk, 32);
	msgpack_sbuffer_write(&r.sb, "\xcf\0\0\0\x01\0\0\0\0", 9);
	msgpack_sbuffer_write(&r.sb, "\xce\0\0\x01\x2c", 5); /* uint 32 */
	msgpack_sbuffer_write(&r.sb, "\xdd\0\0\0\x03", 5); /* array 32 */
	const uint8_t e1[] = {0x95, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0, 0xd0, 0x00,
	    0xcd, 0x00, 0x0a, 0xce, 0, 0, 0, 5, 0xc6, 0, 0, 0, 4, 10, 0, 0, 1};
	msgpack_sbuffer_write(&r.sb, (const char *)e1, sizeof(e1));
	msgpack_sbuffer_write(
	    &r.sb, (const char *)kat_signing + 82, sizeof(kat_signing) - 82);
	msgpack_sbuffer_write(&r.sb, "\xc4\x40", 2);
	msgpack_sbuffer_write(&r.sb, (const char *)kat_sig, 64);
	assert_int_equal(
	    record_decode((const uint8_t *)r.sb.data, r.sb.size, &rec), 0);
	struct record *want = kat_record(&kp);
	assert_true(record_equal(rec, want));
	assert_int_equal(record_verify(rec), 0);
	record_free(want);
	record_free(rec);
	msgpack_sbuffer_destroy(&r.sb);
	keypair_wipe(&kp);
}

static void
test_truncations(void **state)
{
	struct keypair kp;
	uint8_t buf[RECORD_SIGNING_MAX];
	size_t len;
	struct record *rec, *out;

	(void)state;
	keypair_from_seed(&kp, rfc_seed);
	rec = kat_record(&kp);
	assert_int_equal(record_encode(rec, buf, sizeof(buf), &len), 0);
	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n + 1); /* exact size for ASan */
		memcpy(cut, buf, n);
		assert_int_equal(
		    record_decode(cut, n, &out), ANDNA_EDEC_TRUNCATED);
		assert_null(out);
		free(cut);
	}
	record_free(rec);
	keypair_wipe(&kp);
}

/* Mutated encodings never crash the decoder, and whatever it accepts
 * re-encodes and decodes to the same record. */
static void
test_mutations(void **state)
{
	struct keypair kp;
	uint8_t enc[RECORD_SIGNING_MAX], *m, re[RECORD_WIRE_MAX];
	size_t len, mlen, relen;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct record *rec, *out, *again;
	unsigned accepted = 0;

	(void)state;
	keypair_from_seed(&kp, rfc_seed);
	rec = kat_record(&kp);
	assert_int_equal(record_encode(rec, enc, sizeof(enc), &len), 0);
	m = malloc(len + 8);
	for (int i = 0; i < 20000; i++) {
		memcpy(m, enc, len);
		mlen = len;
		uint64_t x = next_rand(&seed);
		switch (i % 4) {
		case 0: /* a few bit flips */
			for (int k = 0; k < 1 + (int)(x % 3); k++)
				m[next_rand(&seed) % len] ^=
				    (uint8_t)(1u << next_rand(&seed) % 8);
			break;
		case 1: /* truncation and a flip */
			mlen = x % len;
			if (mlen > 0)
				m[next_rand(&seed) % mlen] ^= 0x10;
			break;
		case 2: /* random bytes over a stretch */
			for (size_t k = x % len; k < len && k < x % len + 8;
			     k++)
				m[k] = (uint8_t)next_rand(&seed);
			break;
		default: /* insertion of a random byte */
			memmove(m + x % len + 1, m + x % len, len - x % len);
			m[x % len] = (uint8_t)next_rand(&seed);
			mlen = len + 1;
			break;
		}
		int r = record_decode(m, mlen, &out);
		assert_true(r <= 0 && r > ANDNA__ERR_BASE);
		if (r != 0) {
			assert_null(out);
			continue;
		}
		accepted++;
		r = record_verify(out);
		assert_true(r == 0 || r == ANDNA_EREC_SIG);
		assert_int_equal(record_encode(out, re, sizeof(re), &relen), 0);
		assert_int_equal(record_decode(re, relen, &again), 0);
		assert_true(record_equal(out, again));
		record_free(again);
		record_free(out);
	}
	assert_true(accepted > 0); /* flips in values keep it well formed */
	free(m);
	record_free(rec);
	keypair_wipe(&kp);
}

/* Writes the seed corpus of tests/fuzz/fuzz_record to `dir`. */
static int
write_corpus(const char *dir)
{
	struct keypair kp;
	struct record *recs[3];
	struct record_entry e = entry_v4(0, RECORD_PROTO_NONE, 1);
	uint8_t buf[RECORD_SIGNING_MAX];
	size_t len;
	char path[4096];

	keypair_from_seed(&kp, rfc_seed);
	recs[0] = kat_record(&kp);
	if (record_new("a.b", kp.pk, 2, &recs[1]) != 0 ||
	    record_sign(recs[1], &kp) != 0 ||
	    record_new("mesh.example", kp.pk, 3, &recs[2]) != 0)
		return 1;
	recs[2]->ttl = 10;
	for (int i = 0; i < 16; i++) {
		e.service = (uint16_t)(i % 2 * 8080);
		e.target.ip[3] = (uint8_t)i;
		if (record_add_entry(recs[2], &e) != 0)
			return 1;
	}
	if (record_sign(recs[2], &kp) != 0)
		return 1;
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/record-%d", dir, i);
		FILE *f = fopen(path, "wb");
		if (f == NULL ||
		    record_encode(recs[i], buf, sizeof(buf), &len) != 0 ||
		    fwrite(buf, 1, len, f) != len || fclose(f) != 0)
			return 1;
		record_free(recs[i]);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kat),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_rejections),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_decode_strict),
	    cmocka_unit_test(test_noncanonical_accepted),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_mutations),
	};

	if (crypto_init() != 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "write-corpus") == 0)
		return write_corpus(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
