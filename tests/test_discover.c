/* Neighbour discovery without a network: announcements that count (signed,
 * from the link, naming a routed endpoint of a family the node has) and
 * those that do not (forged, unsigned, replayed, from off the link, our
 * own, link-local only, another type, mutated), and a flood of minted
 * keys that never grows the table past its cap nor pushes out a live
 * neighbour. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "node/daemon/discover.h"
#include "proto/err.h"
#include "proto/msg.h"

#define FAMS ((1u << 4) | (1u << 6))
#define STALE 3000

static void
seed_key(struct keypair *kp, uint32_t n)
{
	uint8_t seed[32] = {0};

	memcpy(seed, &n, sizeof(n));
	seed[31] = 0x5a;
	keypair_from_seed(kp, seed);
}

static struct endpoint
ep6(uint8_t first, uint8_t second, uint8_t last)
{
	struct endpoint ep = {.family = 6, .port = 7269};

	ep.ip[0] = first;
	ep.ip[1] = second;
	ep.ip[15] = last;
	return ep;
}

static struct endpoint
ep4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct endpoint ep = {.family = 4, .ip = {a, b, c, d}, .port = 7269};

	return ep;
}

/* The announcement of node `n` at the ULA fd00::n. */
static size_t
hello(uint32_t n, bool hooked, uint8_t *buf, size_t cap)
{
	struct keypair kp;
	struct endpoint ep = ep6(0xfd, 0, (uint8_t)n);
	size_t len;

	seed_key(&kp, n);
	assert_int_equal(discover_build(&kp, hooked, 0x01020300 | n, &ep, 1,
	    buf, cap, &len), 0);
	keypair_wipe(&kp);
	return len;
}

static void
test_routed(void **state)
{
	(void)state;
	struct endpoint ok[] = {ep6(0xfd, 0x12, 1), ep6(0x20, 0x01, 7),
	    ep4(10, 0, 0, 1), ep4(192, 0, 2, 1)};
	struct endpoint no[] = {ep6(0xfe, 0x80, 1), ep6(0, 0, 1), ep6(0, 0, 0),
	    ep6(0xff, 0x02, 1), ep4(127, 0, 0, 1), ep4(169, 254, 3, 4),
	    ep4(0, 0, 0, 0), ep4(224, 0, 0, 179)};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(discover_routed(&ok[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(discover_routed(&no[i]));
}

static void
test_accept(void **state)
{
	static struct discover_table t;
	struct keypair own;
	uint8_t buf[MSG_DGRAM_MAX];
	struct discover_neigh *x;
	bool is_new;

	(void)state;
	memset(&t, 0, sizeof(t));
	seed_key(&own, 999);
	size_t len = hello(7, true, buf, sizeof(buf));
	assert_int_equal(discover_accept(&t, own.pk, buf, len, DISCOVER_HOPS,
	    FAMS, 100, STALE, &x, &is_new), 0);
	assert_true(is_new);
	assert_int_equal(t.n, 1);
	assert_true(x->hooked);
	assert_int_equal(x->addr, 0x01020307);
	assert_int_equal(x->ep.family, 6);
	assert_int_equal(x->ep.ip[15], 7);
	assert_int_equal(x->heard, 100);

	/* replayed: the same neighbour, refreshed, nothing added */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(discover_accept(&t, own.pk, buf, len,
		    DISCOVER_HOPS, FAMS, 200 + (uint64_t)i, STALE, &x,
		    &is_new), 0);
		assert_false(is_new);
	}
	assert_int_equal(t.n, 1);

	/* from beyond the link: a router on the way lowered the hop limit */
	assert_int_equal(discover_accept(&t, own.pk, buf, len, 254, FAMS, 300,
	    STALE, &x, &is_new), ANDNA_EINVAL);
	assert_int_equal(discover_accept(&t, own.pk, buf, len, -1, FAMS, 300,
	    STALE, &x, &is_new), ANDNA_EINVAL);
	assert_null(x);

	/* a node that reaches IPv4 only cannot use an IPv6 endpoint */
	assert_int_equal(discover_accept(&t, own.pk, buf, len, DISCOVER_HOPS,
	    1u << 4, 300, STALE, &x, &is_new), ANDNA_EINVAL);

	/* our own announcement, looped back */
	struct keypair k7;
	seed_key(&k7, 7);
	assert_int_equal(discover_accept(&t, k7.pk, buf, len, DISCOVER_HOPS,
	    FAMS, 300, STALE, &x, &is_new), ANDNA_EINVAL);
	keypair_wipe(&k7);
	keypair_wipe(&own);
}

static void
test_forged(void **state)
{
	static struct discover_table t;
	struct keypair own, k;
	uint8_t buf[MSG_DGRAM_MAX], b2[MSG_DGRAM_MAX];
	struct discover_neigh *x;
	bool is_new;
	size_t len, l2;

	(void)state;
	memset(&t, 0, sizeof(t));
	seed_key(&own, 999);
	len = hello(8, false, buf, sizeof(buf));

	/* unsigned: the signature zeroed */
	memcpy(b2, buf, len);
	memset(b2 + len - 64, 0, 64);
	assert_int_equal(discover_accept(&t, own.pk, b2, len, DISCOVER_HOPS,
	    FAMS, 1, STALE, &x, &is_new), ANDNA_EDEC_SIG);

	/* forged: another endpoint put in under the same key */
	struct msg m;
	assert_int_equal(msg_decode(buf, len, &m), 0);
	m.u.discover.eps[0].ip[15] = 66;
	seed_key(&k, 1234); /* signed by another key ... */
	assert_int_equal(msg_encode(&m, &k, b2, sizeof(b2), &l2), 0);
	/* ... then given the victim's key in the envelope */
	uint8_t *kpos = memmem(b2, l2, k.pk, ANDNA_PK_LEN);
	assert_non_null(kpos);
	memcpy(kpos, m.key, ANDNA_PK_LEN);
	assert_int_equal(discover_accept(&t, own.pk, b2, l2, DISCOVER_HOPS,
	    FAMS, 1, STALE, &x, &is_new), ANDNA_EDEC_SIG);

	/* naming only link-local or loopback endpoints */
	m.u.discover.n_eps = 2;
	m.u.discover.eps[0] = ep6(0xfe, 0x80, 9);
	m.u.discover.eps[1] = ep4(127, 0, 0, 1);
	assert_int_equal(msg_encode(&m, &k, b2, sizeof(b2), &l2), 0);
	assert_int_equal(discover_accept(&t, own.pk, b2, l2, DISCOVER_HOPS,
	    FAMS, 1, STALE, &x, &is_new), ANDNA_EINVAL);
	assert_int_equal(discover_build(&k, false, 0, m.u.discover.eps, 2, b2,
	    sizeof(b2), &l2), ANDNA_EINVAL);

	/* another type, well signed */
	msg_free(&m);
	msg_init(&m);
	m.type = MSG_ROUTE_ACK;
	assert_int_equal(msg_encode(&m, &k, b2, sizeof(b2), &l2), 0);
	assert_int_equal(discover_accept(&t, own.pk, b2, l2, DISCOVER_HOPS,
	    FAMS, 1, STALE, &x, &is_new), ANDNA_EINVAL);

	/* every flipped bit and every cut fails, and the decoder stays in
	 * its buffer (the sanitizer build checks that) */
	for (size_t i = 0; i < len * 8; i++) {
		memcpy(b2, buf, len);
		b2[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(discover_accept(&t, own.pk, b2, len,
		    DISCOVER_HOPS, FAMS, 1, STALE, &x, &is_new), 0);
	}
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(discover_accept(&t, own.pk, buf, n,
		    DISCOVER_HOPS, FAMS, 1, STALE, &x, &is_new), 0);
	assert_int_equal(t.n, 0);
	msg_free(&m);
	keypair_wipe(&k);
	keypair_wipe(&own);
}

static void
test_flood(void **state)
{
	static struct discover_table t;
	struct keypair own;
	uint8_t buf[MSG_DGRAM_MAX];
	struct discover_neigh *x;
	bool is_new;
	int limited = 0;
	const int keys = 500;

	(void)state;
	memset(&t, 0, sizeof(t));
	seed_key(&own, 999);
	/* a real neighbour first, then a flood of minted keys, while the
	 * real one keeps announcing itself */
	size_t len = hello(1, true, buf, sizeof(buf));
	assert_int_equal(discover_accept(&t, own.pk, buf, len, DISCOVER_HOPS,
	    FAMS, 1000, STALE, &x, &is_new), 0);
	for (int i = 0; i < keys; i++) {
		uint64_t now = 1000 + (uint64_t)i;
		len = hello(100 + (uint32_t)i, false, buf, sizeof(buf));
		int rc = discover_accept(&t, own.pk, buf, len, DISCOVER_HOPS,
		    FAMS, now, STALE, &x, &is_new);
		assert_true(rc == 0 || rc == ANDNA_ELIMIT);
		limited += rc == ANDNA_ELIMIT;
		assert_true(t.n <= DISCOVER_NEIGH_MAX);
		if (i % 50 == 0) {
			len = hello(1, true, buf, sizeof(buf));
			assert_int_equal(discover_accept(&t, own.pk, buf, len,
			    DISCOVER_HOPS, FAMS, now, STALE, &x, &is_new), 0);
			assert_false(is_new);
		}
	}
	assert_int_equal(t.n, DISCOVER_NEIGH_MAX);
	assert_int_equal(limited, keys - (DISCOVER_NEIGH_MAX - 1));
	/* once the flood's keys are stale, a new neighbour gets a slot */
	len = hello(77777, false, buf, sizeof(buf));
	assert_int_equal(discover_accept(&t, own.pk, buf, len, DISCOVER_HOPS,
	    FAMS, 1000 + keys + STALE, STALE, &x, &is_new), 0);
	assert_true(is_new);
	assert_int_equal(t.n, DISCOVER_NEIGH_MAX);
	keypair_wipe(&own);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routed),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_flood),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
