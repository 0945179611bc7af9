/* The daemon's engine clock (see timebase.h). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node/daemon/timebase.h"
#include "proto/types.h"

#define TIMEBASE_VERSION 1
#define TIMEBASE_MAX_MS (1ULL << 62) /* beyond: a damaged blob */

static uint64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
timebase_boot_ms(void)
{
#ifdef CLOCK_BOOTTIME
	uint64_t ms = clock_ms(CLOCK_BOOTTIME);

	if (ms != 0)
		return ms;
#endif
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t
timebase_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
timebase_read_boot_id(const char *path, uint8_t out[TIMEBASE_BOOT_ID_LEN])
{
	char line[80];
	FILE *f = fopen(path, "re");
	int n = 0;

	memset(out, 0, TIMEBASE_BOOT_ID_LEN);
	if (f == NULL)
		return -1;
	bool got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	for (const char *p = line; got && *p != '\0' && *p != '\n'; p++) {
		int v = hex_digit((unsigned char)*p);
		if (*p == '-')
			continue;
		if (v < 0 || n == 2 * TIMEBASE_BOOT_ID_LEN) {
			n = -1;
			break;
		}
		out[n / 2] = (uint8_t)(out[n / 2] << 4 | v);
		n++;
	}
	if (!got || n != 2 * TIMEBASE_BOOT_ID_LEN) {
		memset(out, 0, TIMEBASE_BOOT_ID_LEN);
		return -1;
	}
	return 0;
}

static bool
boot_id_known(const uint8_t id[TIMEBASE_BOOT_ID_LEN])
{
	for (int i = 0; i < TIMEBASE_BOOT_ID_LEN; i++)
		if (id[i] != 0)
			return true;
	return false;
}

uint64_t
timebase_now(const struct timebase *tb, uint64_t boot_ms)
{
	int64_t v = (int64_t)boot_ms + tb->offset;

	return v > 0 ? (uint64_t)v : 0;
}

enum timebase_how
timebase_resume(const struct timebase *saved,
    const uint8_t boot_id[TIMEBASE_BOOT_ID_LEN], uint64_t boot_ms,
    uint64_t wall_ms, struct timebase *out)
{
	enum timebase_how how;
	uint64_t start;

	memset(out, 0, sizeof(*out));
	memcpy(out->boot_id, boot_id, TIMEBASE_BOOT_ID_LEN);
	if (saved == NULL) {
		how = TIMEBASE_FIRST;
		start =
		    wall_ms > TIMEBASE_FLOOR_MS ? wall_ms : TIMEBASE_FLOOR_MS;
		if (start > TIMEBASE_MAX_MS / 2)
			start = TIMEBASE_FLOOR_MS; /* a wall clock gone wild */
	} else if (boot_id_known(boot_id) &&
	    memcmp(saved->boot_id, boot_id, TIMEBASE_BOOT_ID_LEN) == 0 &&
	    timebase_now(saved, boot_ms) >= saved->last) {
		/* the boot clock went on while we were stopped */
		out->offset = saved->offset;
		out->last = timebase_now(out, boot_ms);
		return TIMEBASE_SAME_BOOT;
	} else {
		how = TIMEBASE_NEW_BOOT;
		start = saved->last + TIMEBASE_SAVE_MS;
	}
	out->offset = (int64_t)start - (int64_t)boot_ms;
	out->last = timebase_now(out, boot_ms);
	return how;
}

void
timebase_encode(const struct timebase *tb, uint8_t out[TIMEBASE_BLOB_LEN])
{
	out[0] = TIMEBASE_VERSION;
	memcpy(out + 1, tb->boot_id, TIMEBASE_BOOT_ID_LEN);
	be64_put(out + 1 + TIMEBASE_BOOT_ID_LEN, (uint64_t)tb->offset);
	be64_put(out + 9 + TIMEBASE_BOOT_ID_LEN, tb->last);
}

int
timebase_decode(const uint8_t *buf, size_t len, struct timebase *out)
{
	memset(out, 0, sizeof(*out));
	if (len != TIMEBASE_BLOB_LEN || buf[0] != TIMEBASE_VERSION)
		return -1;
	uint64_t off = be64_get(buf + 1 + TIMEBASE_BOOT_ID_LEN);
	uint64_t last = be64_get(buf + 9 + TIMEBASE_BOOT_ID_LEN);
	int64_t soff = off <= INT64_MAX
	    ? (int64_t)off
	    : -(int64_t)(~off) - 1; /* two's complement, without overflow */
	if (last >= TIMEBASE_MAX_MS || soff >= (int64_t)TIMEBASE_MAX_MS ||
	    soff <= -(int64_t)TIMEBASE_MAX_MS)
		return -1;
	memcpy(out->boot_id, buf + 1, TIMEBASE_BOOT_ID_LEN);
	out->offset = soff;
	out->last = last;
	return 0;
}
