/* The daemon's engine clock (DESIGN.md section 4, "Expiry"): milliseconds
 * that never jump and go on across restarts.  Engine time is the kernel's
 * boot clock (CLOCK_BOOTTIME, which counts suspend; CLOCK_MONOTONIC where
 * there is none) plus an offset.  The store keeps the offset with the
 * kernel's boot id and the last engine time, saved every minute and at a
 * clean stop:
 *
 * - same boot: the same offset, so the time the daemon was stopped counts;
 * - another boot, or no boot id: engine time goes on from the last one
 *   saved (plus the save period: a run that crashed may have gone on that
 *   long after its last save); the time the machine was down is lost, and
 *   engine time never goes back;
 * - first start: the wall clock once, but never less than TIMEBASE_FLOOR_MS,
 *   so that times less ages (up to the longest expiry) stay above zero.
 *
 * The wall clock is read at the first start only, and then never again:
 * a router without a real-time clock that jumps years when NTP syncs moves
 * nothing.  Nothing here touches the store; the daemon reads and writes
 * the blob. */
#ifndef ANDNA_NODE_TIMEBASE_H
#define ANDNA_NODE_TIMEBASE_H

#include <stddef.h>
#include <stdint.h>

#define TIMEBASE_META_KEY "clock" /* the store's meta entry */
#define TIMEBASE_BOOT_ID_LEN 16
#define TIMEBASE_BLOB_LEN (1 + TIMEBASE_BOOT_ID_LEN + 8 + 8)
#define TIMEBASE_SAVE_MS 60000 /* how often the daemon saves */
/* The least engine time of a first start: two years, above any age. */
#define TIMEBASE_FLOOR_MS (2ULL * 366 * 24 * 3600 * 1000)
#define TIMEBASE_BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

struct timebase {
	uint8_t boot_id[TIMEBASE_BOOT_ID_LEN]; /* all zero: unknown */
	int64_t offset; /* engine ms = boot clock ms + offset */
	uint64_t last;	/* engine ms when saved */
};

/* How timebase_resume() went on. */
enum timebase_how {
	TIMEBASE_FIRST,	    /* nothing saved: from the wall clock */
	TIMEBASE_SAME_BOOT, /* the saved offset */
	TIMEBASE_NEW_BOOT,  /* from the last saved engine time */
};

/* Milliseconds of the boot clock. */
uint64_t timebase_boot_ms(void);

/* Milliseconds of the wall clock (CLOCK_REALTIME): for a first start. */
uint64_t timebase_wall_ms(void);

/* Reads the kernel's boot id (a UUID in text) from `path` into `out`.
 * Returns 0, or -1 with `out` zeroed when it cannot be read or parsed. */
int timebase_read_boot_id(const char *path, uint8_t out[TIMEBASE_BOOT_ID_LEN]);

/* Fills *out for a start at boot clock `boot_ms` with kernel boot id
 * `boot_id` (all zero: unknown), from what was saved (`saved` NULL:
 * nothing) or, on a first start, from `wall_ms`.  out->last is the engine
 * time now.  Returns how it went on. */
enum timebase_how timebase_resume(const struct timebase *saved,
    const uint8_t boot_id[TIMEBASE_BOOT_ID_LEN], uint64_t boot_ms,
    uint64_t wall_ms, struct timebase *out);

/* The engine time at boot clock `boot_ms`. */
uint64_t timebase_now(const struct timebase *tb, uint64_t boot_ms);

/* Writes the TIMEBASE_BLOB_LEN bytes the store keeps of `tb`. */
void timebase_encode(const struct timebase *tb, uint8_t out[TIMEBASE_BLOB_LEN]);

/* Reads a blob of timebase_encode().  Returns 0, or -1 (cleared *out)
 * when it is of another length or version. */
int timebase_decode(const uint8_t *buf, size_t len, struct timebase *out);

#endif
