/* The one error enum of andna: every function that can fail returns 0 or
 * one of these negative codes, and andna_strerror() says what it means in
 * words an operator understands.  Each module owns one block of codes; add
 * new codes to your module's block only. */
#ifndef ANDNA_PROTO_ERR_H
#define ANDNA_PROTO_ERR_H

#define ANDNA_ERRORS(X)                                                        \
	/* general */                                                          \
	X(ENOMEM, "out of memory")                                             \
	X(EINVAL, "invalid argument")                                          \
	X(EIO, "input/output error")                                           \
	X(ENOTFOUND, "not found")                                              \
	X(EEXIST, "already exists")                                            \
	X(ETIMEOUT, "timed out")                                               \
	X(ELIMIT, "a limit was reached")                                       \
	X(EBUSY, "busy, try again later")                                      \
	/* crypto: keys and signatures */                                      \
	X(EKEY_MISSING, "key file does not exist")                             \
	X(EKEY_CORRUPT, "key file is corrupt (wrong size or format)")          \
	X(EKEY_PERMS, "key file is readable by group or others (chmod 600 it)")\
	X(EKEY_MISMATCH, "key file's public key does not match its secret key")\
	X(EKEY_WRITE, "cannot write key file")                                 \
	X(ESIG, "signature does not verify")                                   \
	/* crypto: names */                                                    \
	X(ENAME_EMPTY, "name is empty")                                        \
	X(ENAME_TOO_LONG, "name is longer than 253 characters")                \
	X(ENAME_LABEL_EMPTY, "name has an empty label (two dots in a row, or a leading dot)") \
	X(ENAME_LABEL_TOO_LONG, "name has a label longer than 63 characters")  \
	X(ENAME_CHAR, "name has a character other than a-z, 0-9, '-' and '.'")\
	X(ENAME_HYPHEN, "a label of the name starts or ends with '-'")         \
	/* proto: msgpack messages and records */                              \
	X(EDEC_TRUNCATED, "message is truncated")                              \
	X(EDEC_TRAILING, "message has bytes after its end")                    \
	X(EDEC_TYPE, "message field has the wrong type")                       \
	X(EDEC_TOO_BIG, "message or field is larger than allowed")             \
	X(EDEC_TOO_MANY, "message has more elements than allowed")             \
	X(EDEC_TOO_DEEP, "message is nested too deeply")                       \
	X(EDEC_VERSION, "message has an unsupported protocol version")         \
	X(EDEC_UNKNOWN, "message type is unknown")                             \
	X(EDEC_VALUE, "message field has a value out of range")                \
	X(EDEC_SIG, "message signature does not verify")                       \
	X(EREC_SIG, "record signature does not verify")                        \
	X(EREC_NAME, "record name is not a valid name")                        \
	X(EREC_ENTRIES, "record has too many entries (16 per service, 256 in all)") \
	X(EREC_TTL, "record TTL is outside 5 s .. 1 day (86400 s)")           \
	X(EENC_TOO_BIG, "encoded message would be larger than allowed")        \
	/* proto: DNS wire format */                                           \
	X(EDNS_SHORT, "DNS packet is truncated")                               \
	X(EDNS_LABEL, "DNS name has a label longer than 63 octets")            \
	X(EDNS_NAME_LONG, "DNS name is longer than 255 octets")                \
	X(EDNS_PTR_LOOP, "DNS name compression pointer loops or points forward") \
	X(EDNS_PTR_HOPS, "DNS name follows too many compression pointers")    \
	X(EDNS_LABEL_TYPE, "DNS name uses a reserved label type")              \
	X(EDNS_COUNTS, "DNS header counts do not match the packet")            \
	X(EDNS_OPT, "DNS packet has a malformed or misplaced OPT record")     \
	X(EDNS_OPT_DUP, "DNS packet has more than one OPT record")             \
	X(EDNS_QDCOUNT, "DNS query does not hold exactly one question")        \
	X(EDNS_NOT_QUERY, "DNS packet is a response where a query was expected") \
	X(EDNS_RDATA, "DNS record data is malformed for its type")             \
	X(EDNS_NAME_TEXT, "DNS name text is malformed (empty label or bad escape)") \
	X(EDNS_TRAILING, "DNS packet has bytes after its last record")         \
	X(EDNS_NOSPACE, "DNS answer does not fit in the buffer")               \
	/* store: LMDB and the in-memory back end */                           \
	X(ESTORE_FULL, "store is full (raise map_size in the configuration)")  \
	X(ESTORE_CORRUPT, "store holds a corrupt value")                       \
	X(ESTORE_OPEN, "cannot open the store (check the data directory)")     \
	X(ESTORE_SCHEMA, "the store was written by another version of andnad: " \
	    "move the data directory away to start afresh")                    \
	X(ESTORE_TXN, "store transaction failed")                              \
	/* name service outcomes */                                            \
	X(ENAME_TAKEN, "name is held by another key")                          \
	X(ENAME_QUEUED, "name is held by another key; claim queued")           \
	X(EQUEUE_FULL, "name's queue of waiting claims is full")               \
	X(EHOST_FULL, "the name's queue holds as many claims from this "        \
	    "underlay host as one host may have")                              \
	X(EMINORITY, "stored on fewer than half of the name's gnode so far; "   \
	    "it spreads from there, register again later to be sure")          \
	X(ETOO_MANY_NAMES, "key already holds the maximum number of names")    \
	X(ESTALE, "sequence number is not newer than the stored one")          \
	X(ETOO_SOON, "update comes sooner than the minimum update interval")   \
	X(EUNREACHABLE, "the overlay could not be reached")                    \
	X(ENOT_HOOKED, "node has not joined the overlay yet")                  \
	/* node: DNS front */                                                  \
	X(EBIND, "cannot bind a DNS listener (address in use, or port 53 without root)") \
	X(EPRIV, "cannot drop privileges to the configured user")

enum andna_err {
	ANDNA_OK = 0,
	ANDNA__ERR_BASE = -1000, /* keeps every code negative and distinct */
#define ANDNA_ERR_ENUM(name, text) ANDNA_##name,
	ANDNA_ERRORS(ANDNA_ERR_ENUM)
#undef ANDNA_ERR_ENUM
	ANDNA__ERR_END
};

/* Returns a static English sentence for an andna error code (never NULL). */
const char *andna_strerror(int err);

#endif
