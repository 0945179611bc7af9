/* Signed records: building, canonical signing bytes, wire codec. */
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/record.h"
#include "proto/wire.h"

/* The domain tag that starts the signed bytes of every record. */
#define RECORD_TAG "andna-record-2"

/* Returns true for a NUL-terminated canonical name in a name buffer. */
static bool
record_name_ok(const char name[ANDNA_NAME_MAX + 1])
{
	return memchr(name, '\0', ANDNA_NAME_MAX + 1) != NULL &&
	    name_is_canonical(name);
}

/* Returns true for a TTL an owner may choose. */
static bool
record_ttl_ok(uint64_t ttl)
{
	return ttl >= ANDNA_TTL_MIN && ttl <= ANDNA_TTL_MAX;
}

/* Returns true for the transport protocols an entry may name. */
static bool
record_proto_ok(uint8_t proto)
{
	return proto == RECORD_PROTO_NONE || proto == RECORD_PROTO_TCP ||
	    proto == RECORD_PROTO_UDP;
}

/* Checks entry `e` as the entry after the first `n` of `rec`. */
static int
record_entry_check(
    const struct record *rec, size_t n, const struct record_entry *e)
{
	size_t same = 0;

	if (n >= ANDNA_ENTRIES_MAX)
		return ANDNA_EREC_ENTRIES;
	for (size_t i = 0; i < n; i++)
		same += rec->entries[i].service == e->service;
	if (same >= ANDNA_ENTRIES_PER_SVC)
		return ANDNA_EREC_ENTRIES;
	if (!record_proto_ok(e->proto))
		return ANDNA_EINVAL;
	if (e->kind == RECORD_TARGET_NAME)
		return record_name_ok(e->target.name) ? 0 : ANDNA_EREC_NAME;
	if (e->kind != RECORD_TARGET_IPV4 && e->kind != RECORD_TARGET_IPV6)
		return ANDNA_EINVAL;
	return 0;
}

/* Checks a whole record before it is encoded. */
static int
record_check(const struct record *rec)
{
	if (!record_name_ok(rec->name))
		return ANDNA_EREC_NAME;
	if (!record_ttl_ok(rec->ttl))
		return ANDNA_EREC_TTL;
	for (size_t i = 0; i < rec->n_entries; i++) {
		int r = record_entry_check(rec, i, &rec->entries[i]);
		if (r != 0)
			return r;
	}
	return 0;
}

/* Makes an empty, unsigned record. */
int
record_new(const char *name, const uint8_t owner[ANDNA_PK_LEN], uint64_t seq,
    struct record **out)
{
	*out = NULL;
	if (!name_is_canonical(name))
		return ANDNA_EREC_NAME;
	struct record *rec = calloc(1, sizeof(*rec));
	if (rec == NULL)
		return ANDNA_ENOMEM;
	strcpy(rec->name, name);
	memcpy(rec->owner, owner, ANDNA_PK_LEN);
	rec->seq = seq;
	rec->ttl = ANDNA_TTL_DEFAULT;
	*out = rec;
	return 0;
}

/* Frees a record. */
void
record_free(struct record *rec)
{
	if (rec == NULL)
		return;
	free(rec->entries);
	free(rec);
}

/* Appends one entry, growing the array by exactly one. */
int
record_add_entry(struct record *rec, const struct record_entry *e)
{
	int r = record_entry_check(rec, rec->n_entries, e);

	if (r != 0)
		return r;
	struct record_entry *v =
	    realloc(rec->entries, (rec->n_entries + 1) * sizeof(*v));
	if (v == NULL)
		return ANDNA_ENOMEM;
	v[rec->n_entries++] = *e;
	rec->entries = v;
	return 0;
}

/* Writes name, owner, seq, ttl and entries, the fields both forms
 * share. */
static void
record_pack_fields(struct wire_enc *e, const struct record *rec)
{
	wire_put_name(e, rec->name);
	wire_put_bin(e, rec->owner, ANDNA_PK_LEN);
	wire_put_uint(e, rec->seq, UINT64_MAX);
	wire_put_uint(e, rec->ttl, ANDNA_TTL_MAX);
	wire_put_array(e, rec->n_entries, 0, ANDNA_ENTRIES_MAX);
	for (size_t i = 0; i < rec->n_entries; i++) {
		const struct record_entry *en = &rec->entries[i];
		wire_put_array(e, 5, 5, 5);
		wire_put_uint(e, en->service, UINT16_MAX);
		wire_put_uint(e, en->proto, UINT8_MAX);
		wire_put_uint(e, en->priority, UINT16_MAX);
		wire_put_uint(e, en->weight, UINT16_MAX);
		if (en->kind == RECORD_TARGET_NAME)
			wire_put_name(e, en->target.name);
		else
			wire_put_bin(e, en->target.ip,
			    en->kind == RECORD_TARGET_IPV4 ? 4 : 16);
	}
}

/* Writes the canonical bytes the owner signs. */
int
record_signing_bytes(
    const struct record *rec, uint8_t *buf, size_t cap, size_t *len)
{
	msgpack_packer pk;
	struct wire_buf b;
	struct wire_enc e = {.pk = &pk, .err = record_check(rec)};

	*len = 0;
	wire_buf_init(&b, &pk, buf, cap);
	wire_put_array(&e, 6, 6, 6);
	wire_put_str(&e, RECORD_TAG, strlen(RECORD_TAG));
	record_pack_fields(&e, rec);
	if (e.err == 0)
		*len = b.len;
	return e.err;
}

/* Bytes that always hold the signing bytes of rec: RECORD_SIGNING_MAX
 * with only as many entries as it has (a few, not 256). */
static size_t
signing_cap(const struct record *rec)
{
	size_t n = rec->n_entries < ANDNA_ENTRIES_MAX ? rec->n_entries :
	    ANDNA_ENTRIES_MAX;

	return RECORD_SIGNING_MAX -
	    (ANDNA_ENTRIES_MAX - n) * RECORD_ENTRY_MAX_LEN;
}

/* Signs the record with its owner's key. */
int
record_sign(struct record *rec, const struct keypair *kp)
{
	size_t len, cap = signing_cap(rec);
	int r;

	if (memcmp(kp->pk, rec->owner, ANDNA_PK_LEN) != 0)
		return ANDNA_EINVAL;
	uint8_t *buf = malloc(cap);
	if (buf == NULL)
		return ANDNA_ENOMEM;
	r = record_signing_bytes(rec, buf, cap, &len);
	if (r == 0)
		sig_sign(rec->sig, buf, len, kp->sk);
	free(buf);
	return r;
}

/* Checks the owner's signature over the re-encoded canonical bytes. */
int
record_verify(const struct record *rec)
{
	return record_verify_with(rec, NULL, NULL);
}

/* sig_verify() as a sig_verify_fn. */
static int
plain_verify(void *arg, const uint8_t sig[ANDNA_SIG_LEN], const uint8_t *msg,
    size_t len, const uint8_t pk[ANDNA_PK_LEN])
{
	(void)arg;
	return sig_verify(sig, msg, len, pk);
}

/* record_verify() with an injected signature check. */
int
record_verify_with(const struct record *rec, sig_verify_fn *fn, void *arg)
{
	size_t len, cap = signing_cap(rec);
	int r;

	uint8_t *buf = malloc(cap);
	if (buf == NULL)
		return ANDNA_ENOMEM;
	r = record_signing_bytes(rec, buf, cap, &len);
	if (r == 0 && fn == NULL)
		fn = plain_verify;
	if (r == 0 && fn(arg, rec->sig, buf, len, rec->owner) != 0)
		r = ANDNA_EREC_SIG;
	free(buf);
	return r;
}

/* Compares two entries field by field. */
static bool
record_entry_equal(const struct record_entry *a, const struct record_entry *b)
{
	if (a->service != b->service || a->proto != b->proto ||
	    a->priority != b->priority || a->weight != b->weight ||
	    a->kind != b->kind)
		return false;
	if (a->kind == RECORD_TARGET_NAME)
		return strcmp(a->target.name, b->target.name) == 0;
	return memcmp(a->target.ip, b->target.ip,
		   a->kind == RECORD_TARGET_IPV4 ? 4 : 16) == 0;
}

/* Compares two records field by field. */
bool
record_equal(const struct record *a, const struct record *b)
{
	if (strcmp(a->name, b->name) != 0 ||
	    memcmp(a->owner, b->owner, ANDNA_PK_LEN) != 0 || a->seq != b->seq ||
	    a->ttl != b->ttl || memcmp(a->sig, b->sig, ANDNA_SIG_LEN) != 0 ||
	    a->n_entries != b->n_entries)
		return false;
	for (size_t i = 0; i < a->n_entries; i++)
		if (!record_entry_equal(&a->entries[i], &b->entries[i]))
			return false;
	return true;
}

/* Tells a release (no addresses) from a registration. */
bool
record_is_release(const struct record *rec)
{
	return rec->n_entries == 0;
}

/* Appends the wire form to a packer. */
int
record_pack(msgpack_packer *pk, const struct record *rec)
{
	struct wire_enc e = {.pk = pk, .err = record_check(rec)};

	wire_put_array(&e, 6, 6, 6);
	record_pack_fields(&e, rec);
	wire_put_bin(&e, rec->sig, ANDNA_SIG_LEN);
	return e.err;
}

/* Encodes the wire form into a caller's buffer. */
int
record_encode(const struct record *rec, uint8_t *buf, size_t cap, size_t *len)
{
	msgpack_packer pk;
	struct wire_buf b;

	*len = 0;
	wire_buf_init(&b, &pk, buf, cap);
	int r = record_pack(&pk, rec);
	if (r == 0)
		*len = b.len;
	return r;
}

/* Reads one entry [service, proto, priority, weight, target]. */
static void
record_unpack_entry(
    struct wire_dec *d, const msgpack_object *o, struct record_entry *e)
{
	const msgpack_object *f = wire_tuple(d, o, 5);
	const msgpack_object *t = &f[4];

	e->service = wire_uint(d, &f[0], 0, UINT16_MAX);
	e->proto = wire_uint(d, &f[1], 0, UINT8_MAX);
	if (!record_proto_ok(e->proto))
		wire_dec_fail(d, ANDNA_EDEC_VALUE);
	e->priority = wire_uint(d, &f[2], 0, UINT16_MAX);
	e->weight = wire_uint(d, &f[3], 0, UINT16_MAX);
	if (t->type == MSGPACK_OBJECT_STR) {
		e->kind = RECORD_TARGET_NAME;
		wire_name(d, t, e->target.name, ANDNA_EREC_NAME);
	} else if (t->type == MSGPACK_OBJECT_BIN && t->via.bin.size == 4) {
		e->kind = RECORD_TARGET_IPV4;
		wire_bin(d, t, e->target.ip, 4);
	} else if (t->type == MSGPACK_OBJECT_BIN && t->via.bin.size == 16) {
		e->kind = RECORD_TARGET_IPV6;
		wire_bin(d, t, e->target.ip, 16);
	} else {
		wire_dec_fail(d,
		    t->type == MSGPACK_OBJECT_BIN ? ANDNA_EDEC_VALUE
						  : ANDNA_EDEC_TYPE);
	}
}

/* Decodes the wire form from a msgpack object. */
int
record_unpack(const msgpack_object *o, struct record **out)
{
	struct wire_dec d = {0};
	const msgpack_object *f = wire_tuple(&d, o, 6), *ents;

	*out = NULL;
	struct record *rec = calloc(1, sizeof(*rec));
	if (rec == NULL)
		return ANDNA_ENOMEM;
	wire_name(&d, &f[0], rec->name, ANDNA_EREC_NAME);
	wire_bin(&d, &f[1], rec->owner, ANDNA_PK_LEN);
	rec->seq = wire_uint(&d, &f[2], 0, UINT64_MAX);
	uint64_t ttl = wire_uint(&d, &f[3], 0, UINT64_MAX);
	if (d.err == 0 && !record_ttl_ok(ttl))
		wire_dec_fail(&d, ANDNA_EREC_TTL);
	rec->ttl = (uint32_t)ttl;
	uint32_t n = wire_list(&d, &f[4], 0, ANDNA_ENTRIES_MAX, &ents);
	wire_bin(&d, &f[5], rec->sig, ANDNA_SIG_LEN);
	if (d.err == 0 && n > 0 &&
	    (rec->entries = calloc(n, sizeof(*rec->entries))) == NULL)
		wire_dec_fail(&d, ANDNA_ENOMEM);
	for (uint32_t i = 0; d.err == 0 && i < n; i++) {
		record_unpack_entry(&d, &ents[i], &rec->entries[i]);
		if (d.err == 0)
			wire_dec_fail(
			    &d, record_entry_check(rec, i, &rec->entries[i]));
		rec->n_entries = i + 1;
	}
	if (d.err != 0) {
		record_free(rec);
		return d.err;
	}
	*out = rec;
	return 0;
}

/* Decodes the wire form from raw bytes. */
int
record_decode(const uint8_t *buf, size_t len, struct record **out)
{
	msgpack_unpacked u;

	*out = NULL;
	if (len > RECORD_WIRE_MAX)
		return ANDNA_EDEC_TOO_BIG;
	msgpack_unpacked_init(&u);
	int r = wire_unpack(&u, buf, len);
	if (r == 0)
		r = record_unpack(&u.data, out);
	msgpack_unpacked_destroy(&u);
	return r;
}
