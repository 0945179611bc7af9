/* The control socket: how the andna command talks to its node.  A unix
 * stream socket (mode 0660) carries one request and one reply per
 * connection, in text that is strict and easy to check:
 *
 *	request:  FORMAT SP VERB *(SP WORD) LF
 *	reply:    EXIT SP REASON LF BODY          (then the node closes)
 *
 * FORMAT is "text" or "json"; a WORD is 1..CONTROL_WORD_MAX printable
 * ASCII characters other than space; the line is at most
 * CONTROL_LINE_MAX bytes.  EXIT is the exit code andna(1) ends with
 * (enum control_exit), REASON a one-line message (empty on success),
 * BODY the command's output in the FORMAT asked for (in JSON it always is
 * one object with "ok" and, on failure, "error" and "message").  The
 * verbs and their words:
 *
 *	status | names | keygen
 *	register NAME ENTRY... [ttl=TTL] [key=HEX]
 *	update NAME ENTRY... [ttl=TTL]
 *		(ENTRY as control_entry_parse(), TTL as control_ttl_parse())
 *	release NAME
 *	resolve NAME
 *	reverse ADDR[:PORT]
 */
#ifndef ANDNA_NODE_CONTROL_H
#define ANDNA_NODE_CONTROL_H

#include <stddef.h>

#include "node/engine/engine.h"
#include "proto/record.h"

#define CONTROL_LINE_MAX (128 * 1024) /* longest request */
#define CONTROL_WORD_MAX 512          /* longest word of a request */
#define CONTROL_WORDS_MAX (ANDNA_ENTRIES_MAX + 8)
#define CONTROL_REPLY_MAX (16u << 20) /* longest reply andna reads */
#define CONTROL_WAIT_MS 60000 /* longest wait for the overlay's answer */

/* Exit codes of andna(1), chosen by the node for each outcome. */
enum control_exit {
	CONTROL_EXIT_OK = 0,
	CONTROL_EXIT_FAIL = 1,        /* anything else */
	CONTROL_EXIT_USAGE = 2,       /* bad arguments, invalid name */
	CONTROL_EXIT_UNREACHABLE = 3, /* node unreachable */
	CONTROL_EXIT_NOTFOUND = 4,    /* no such name */
	CONTROL_EXIT_TAKEN = 5,       /* held by another key (queued or not) */
	CONTROL_EXIT_LIMIT = 6,       /* a limit was reached */
	CONTROL_EXIT_OVERLAY = 7,     /* not joined yet, or no answer */
};

struct control;
struct daemon;

/* Binds the control socket at the daemon's `control` path with mode 0660
 * (group `control_group` if set), creating its directory if missing and
 * replacing a stale socket; refuses to take over the socket of a live
 * node.  Returns 0 and *out, or an error (logged). */
int control_open(struct daemon *d, struct control **out);

/* Closes every connection and the socket, and removes its file.  NULL is
 * a no-op. */
void control_close(struct control *c);

/* Hands an engine outcome to the request waiting for it, if any.  Called
 * from the engine's event callback: it never calls the engine. */
void control_event(struct control *c, const struct engine_event *ev);

/* Ends requests that waited too long; call it every second. */
void control_tick(struct control *c);

/* ---- shared with the HTTP status page ------------------------------ */

struct evbuffer;

/* Appends the node's status to `b` as the members of one JSON object,
 * without its braces: what `andna --json status` prints after "ok".
 * Returns 0, or ANDNA_EBUSY (nothing appended) while the node starts. */
int control_status_json(struct daemon *d, struct evbuffer *b);

/* Appends the node's own names to `b` as JSON objects separated by
 * commas, as `andna --json names` lists them, but at most `max` of them
 * and none more once `b` holds `max_bytes`; *total gets how many the node
 * owns.  Returns 0 or a store error (ANDNA_EBUSY while the node starts). */
int control_names_json(struct daemon *d, struct evbuffer *b, int max,
    size_t max_bytes, int *total);

/* ---- shared with andna(1) ------------------------------------------- */

/* The exit code for an ANDNA_E* outcome. */
enum control_exit control_exit_for(int err);

/* A short word naming an ANDNA_E* outcome for scripts ("not_found",
 * "taken", "queued", "limit", ...). */
const char *control_error_id(int err);

/* Parses a request word "SERVICE/PROTO/PRIORITY/WEIGHT/TARGET" (PROTO is
 * none, tcp or udp; TARGET an IPv4 or IPv6 address or a name, folded to
 * its canonical form).  Returns 0, ANDNA_EINVAL or an ANDNA_ENAME_* code
 * for a bad target name. */
int control_entry_parse(const char *word, struct record_entry *e);

/* Parses an owner's TTL as andna(1) takes it: a duration in whole
 * seconds ("90", "10s", "5m", "1h", "1d").  Returns 0 and *ttl,
 * ANDNA_EINVAL (no such duration) or ANDNA_EREC_TTL (outside
 * ANDNA_TTL_MIN..ANDNA_TTL_MAX). */
int control_ttl_parse(const char *s, uint32_t *ttl);

/* Writes `e` as a request word (at least CONTROL_WORD_MAX bytes).
 * Returns 0 or ANDNA_EINVAL. */
int control_entry_format(const struct record_entry *e, char *buf,
    size_t len);

/* Writes an entry's target as text ("10.0.0.1", "fd00::1", "host.name")
 * to `buf` of at least ANDNA_NAME_MAX + 1 bytes. */
void control_target_format(const struct record_entry *e, char *buf,
    size_t len);

/* Writes `s` as a quoted JSON string to `buf`; returns the length it
 * needs (as snprintf). */
size_t control_json_string(const char *s, char *buf, size_t len);

#endif
