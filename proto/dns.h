/* The DNS wire format (RFC 1035, 3596, 2782, 6891): a bounds-checked parser
 * for queries from untrusted clients and for responses from upstream
 * resolvers, and a builder that writes responses (with name compression,
 * EDNS0 and truncation) and queries into a caller's buffer.  Nothing here
 * allocates; every byte read goes through one bounds-checked reader.
 *
 * Names are held as uncompressed wire labels (struct dns_name) exactly as the
 * peer wrote them, letter case included, so an answer can echo a client's
 * case.  Comparisons are ASCII case-insensitive. */
#ifndef ANDNA_PROTO_DNS_H
#define ANDNA_PROTO_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_NAME_WIRE_MAX                                                      \
	255		 /* octets of a name on the wire, root included        \
			  */
#define DNS_LABEL_MAX 63 /* octets of one label */
#define DNS_NAME_TEXT_MAX                                                      \
	1024		       /* presentation text, escapes and NUL included  \
				*/
#define DNS_PTR_HOPS_MAX 127   /* compression pointers followed per name */
#define DNS_UDP_MIN 512	       /* what every client accepts over UDP */
#define DNS_TCP_LIMIT 65535    /* the limit to build TCP answers with */
#define DNS_EDNS_UDP_SIZE 1232 /* the UDP payload size we advertise */
#define DNS_OPT_LEN 11	       /* an OPT record without options */
#define DNS_COMP_MAX 128       /* names remembered for compression */

/* Header flag bits, as they sit in the 16-bit flags word. */
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_FLAG_Z 0x0040
#define DNS_FLAG_AD 0x0020
#define DNS_FLAG_CD 0x0010

#define DNS_OPCODE_QUERY 0

/* ASCII lower case: DNS names compare without locale. */
static inline uint8_t
dns_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5
#define DNS_RCODE_BADVERS 16 /* extended: needs an OPT record */

#define DNS_TYPE_A 1
#define DNS_TYPE_NS 2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_PTR 12
#define DNS_TYPE_MX 15
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_SRV 33
#define DNS_TYPE_OPT 41
#define DNS_TYPE_ANY 255

#define DNS_CLASS_IN 1
#define DNS_CLASS_CH 3
#define DNS_CLASS_ANY 255

#define DNS_EDNS_NSID 3
#define DNS_EDNS_COOKIE 10
#define DNS_EDNS_PADDING 12

/* RFC 7873: a COOKIE option is a client cookie of 8 octets, alone or
 * followed by a server cookie of 8 to 32. */
#define DNS_COOKIE_CLIENT_LEN 8
#define DNS_COOKIE_MAX 40

enum dns_section {
	DNS_SEC_ANSWER = 0,
	DNS_SEC_AUTHORITY = 1,
	DNS_SEC_ADDITIONAL = 2,
};

/* A name as uncompressed wire labels ending with the root label: "www.ntk"
 * is 03 'w' 'w' 'w' 03 'n' 't' 'k' 00, len 9; the root is 00, len 1. */
struct dns_name {
	uint8_t wire[DNS_NAME_WIRE_MAX];
	uint16_t len;	 /* octets used in wire, 1..255 */
	uint8_t nlabels; /* labels before the root */
};

struct dns_header {
	uint16_t id;
	bool qr, aa, tc, rd, ra, z, ad, cd;
	uint8_t opcode; /* 4 bits */
	uint8_t rcode;	/* the 4 bits of the header (see dns_msg.rcode) */
	uint16_t qdcount, ancount, nscount, arcount;
};

struct dns_question {
	struct dns_name name;	      /* the client's case */
	char text[DNS_NAME_TEXT_MAX]; /* dns_name_to_text() of name */
	uint16_t qtype, qclass;
};

/* The EDNS0 OPT record (RFC 6891) of a message. */
struct dns_edns {
	bool present;
	uint16_t
	    udp_size; /* as sent; dns_query_udp_limit() applies the floor */
	uint8_t ext_rcode; /* upper 8 bits of the 12-bit rcode */
	uint8_t version;
	bool do_bit;		 /* DNSSEC OK */
	uint16_t flags;		 /* the 16 flag bits, DO included */
	uint16_t noptions;	 /* options in the record, each checked */
	size_t opt_off, opt_len; /* the options (the record's rdata) in pkt */
};

/* A parsed message.  It points into the caller's packet (pkt), which must
 * outlive it for dns_rr_next(), dns_rr_rdata() and dns_edns_option(). */
struct dns_msg {
	const uint8_t *pkt;
	size_t len;
	bool has_header;   /* hdr is valid, even when the parse failed later */
	bool has_question; /* q holds the first question */
	struct dns_header hdr;
	struct dns_question q;
	struct dns_edns edns;
	uint16_t rcode; /* 12 bits: hdr.rcode | edns.ext_rcode << 4 */
	size_t rr_off;	/* where the answer section starts */
};

/* One resource record of the answer, authority or additional section. */
struct dns_rr {
	enum dns_section section;
	struct dns_name name;
	uint16_t type, rclass;
	uint32_t ttl;
	size_t rdata_off; /* offset of the rdata in the packet */
	uint16_t rdata_len;
};

/* Walks the records of a parsed message in packet order. */
struct dns_rr_iter {
	const struct dns_msg *msg;
	size_t off;
	unsigned index; /* records read so far */
};

struct dns_soa {
	struct dns_name mname, rname;
	uint32_t serial, refresh, retry, expire, minimum;
};

struct dns_srv {
	uint16_t priority, weight, port;
	struct dns_name target;
};

/* The decoded rdata of a record; which member is set depends on type. */
struct dns_rdata {
	uint16_t type;
	const uint8_t *raw; /* the rdata in the packet, any type */
	uint16_t raw_len;
	union {
		uint8_t a[4];
		uint8_t aaaa[16];
		struct dns_name name; /* NS, CNAME, PTR */
		struct dns_soa soa;
		struct dns_srv srv;
		unsigned ntxt; /* TXT: character-strings in raw */
	} u;
};

/* --- names --- */

/* Parses presentation text ("www.example.ntk", a trailing dot optional, "."
 * for the root; \. and \DDD escapes) into *out, keeping the letter case.
 * Returns 0, ANDNA_EDNS_NAME_TEXT (empty label, bad escape, empty string),
 * ANDNA_EDNS_LABEL or ANDNA_EDNS_NAME_LONG. */
int dns_name_from_text(const char *text, struct dns_name *out);

/* Writes the presentation text of name into buf (NUL-terminated, no
 * trailing dot, "." for the root; '.', '\\' and bytes outside 0x21-0x7e
 * escaped).  A buffer of DNS_NAME_TEXT_MAX always suffices.  Returns 0 or
 * ANDNA_EINVAL when buf is too small or name is not well formed. */
int dns_name_to_text(const struct dns_name *name, char *buf, size_t size);

/* True when a and b are the same name, ignoring ASCII letter case. */
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b);

/* --- parsing --- */

/* Parses any DNS message (query or response) of len bytes: header, every
 * question (the first kept in msg->q), every record (names, lengths and the
 * OPT record checked; rdata is not decoded).  msg is cleared first and keeps
 * a pointer to pkt.  Returns 0 or ANDNA_EDNS_SHORT (packet ends inside a
 * field), _COUNTS (packet ends where the counts promise more), _TRAILING,
 * _LABEL_TYPE, _NAME_LONG, _PTR_LOOP, _PTR_HOPS, _OPT, _OPT_DUP.  On failure,
 * msg->has_header and msg->has_question say what is still valid, so the
 * caller can answer FORMERR with the right id and question. */
int dns_msg_parse(const uint8_t *pkt, size_t len, struct dns_msg *msg);

/* dns_msg_parse() for a query from a client, plus: ANDNA_EDNS_NOT_QUERY
 * when QR is set (checked first: never answer a response), and
 * ANDNA_EDNS_QDCOUNT when the otherwise well-formed message does not hold
 * exactly one question (answer FORMERR).  Opcode and flags are not judged. */
int dns_query_parse(const uint8_t *pkt, size_t len, struct dns_msg *msg);

/* The most a UDP answer to query may hold: 512 without EDNS, else the
 * client's payload size, never below 512. */
size_t dns_query_udp_limit(const struct dns_msg *query);

/* Starts walking the records of msg (answer, authority, additional). */
void dns_rr_iter_init(struct dns_rr_iter *it, const struct dns_msg *msg);

/* Reads the next record into *rr (cleared first); the OPT record is one of
 * them.  Returns 0,
 * ANDNA_ENOTFOUND after the last record, or a decode error when msg did not
 * come from a successful dns_msg_parse(). */
int dns_rr_next(struct dns_rr_iter *it, struct dns_rr *rr);

/* Decodes the rdata of rr (A, AAAA, NS, CNAME, PTR, SOA, SRV, TXT; other
 * types get only raw).  Names inside may be compressed.  Returns 0 or
 * ANDNA_EDNS_RDATA (wrong length, a name running past the rdata) or a name
 * decode error. */
int dns_rr_rdata(
    const struct dns_msg *msg, const struct dns_rr *rr, struct dns_rdata *out);

/* Finds EDNS option code in msg's OPT record: *data points into the packet
 * (NULL when the option is empty), *len is its length.  Returns 0 or
 * ANDNA_ENOTFOUND (no OPT record or no such option). */
int dns_edns_option(const struct dns_msg *msg, uint16_t code,
    const uint8_t **data, uint16_t *len);

/* --- building responses --- */

/* Writes one response into a caller's buffer.  Fields are private. */
struct dns_builder {
	uint8_t *buf;
	size_t cap;	/* min(buffer, limit, 65535) */
	size_t len;	/* bytes written */
	size_t reserve; /* kept free for the OPT record */
	uint16_t flags, qdcount;
	uint16_t count[3];
	uint16_t rcode;
	bool edns, edns_do, truncated, full;
	uint8_t cookie[DNS_COOKIE_MAX]; /* the COOKIE option to send */
	uint8_t cookie_len;
	enum dns_section section;
	/* the RRset being written, rolled back whole when it does not fit */
	size_t set_off;
	uint16_t set_count, set_type;
	bool set_open, set_dropped;
	enum dns_section set_section;
	struct dns_name set_owner;
	/* where earlier names start, for compression */
	uint16_t comp_off[DNS_COMP_MAX];
	unsigned ncomp;
};

/* Starts a response to query into buf (bufsize bytes): QR set; id, opcode,
 * RD and CD copied; the question echoed as the client wrote it when the
 * query holds exactly one (none otherwise, e.g. for FORMERR); an OPT record
 * (our DNS_EDNS_UDP_SIZE, DO copied) reserved when the query had one.  The
 * answer never exceeds limit (pass dns_query_udp_limit() for UDP, DNS_TCP_LIMIT
 * for TCP) nor bufsize. Returns 0, ANDNA_EINVAL (no header in query) or
 * ANDNA_EDNS_NOSPACE (header, question and OPT do not fit). */
int dns_response_init(struct dns_builder *b, uint8_t *buf, size_t bufsize,
    size_t limit, const struct dns_msg *query);

/* Puts a COOKIE option of len octets (DNS_COOKIE_CLIENT_LEN up to
 * DNS_COOKIE_MAX, copied) into the OPT record of the response, once, and
 * keeps room for it as for the OPT record itself.  Returns 0, ANDNA_EINVAL
 * (no OPT record, a bad length, a cookie set already) or
 * ANDNA_EDNS_NOSPACE (what is written already leaves no room). */
int dns_response_set_cookie(
    struct dns_builder *b, const uint8_t *cookie, size_t len);

/* Sets or clears a header flag (DNS_FLAG_AA, DNS_FLAG_RA, DNS_FLAG_AD). */
void dns_response_set_flag(struct dns_builder *b, uint16_t flag, bool on);

/* Sets the response code; codes above 15 go partly into the OPT record.
 * Returns 0 or ANDNA_EINVAL (above 4095, or above 15 without EDNS). */
int dns_response_set_rcode(struct dns_builder *b, uint16_t rcode);

/* The dns_response_add_* functions append one class IN record to section.
 * Sections must be filled in order (answer, authority, additional).  Owner
 * names and the names inside NS, CNAME, PTR and SOA are compressed; the SRV
 * target is not (RFC 2782).  Consecutive records of one section with the
 * same owner and type form an RRset.  When a record does not fit, its whole
 * RRset is taken out again; in the answer or authority section TC is set and
 * every later record is dropped, in the additional section the RRset is just
 * left out (RFC 2181 section 9).  A dropped record still returns 0: see
 * dns_response_truncated().  Errors: ANDNA_EINVAL (section out of order,
 * rdata over 65535 octets). */
int dns_response_add_a(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const uint8_t addr[4]);
int dns_response_add_aaaa(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const uint8_t addr[16]);
int dns_response_add_ns(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_name *ns);
int dns_response_add_cname(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_name *target);
int dns_response_add_ptr(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_name *target);
int dns_response_add_soa(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_soa *soa);
int dns_response_add_srv(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const struct dns_srv *srv);
/* TXT: data is split into character-strings of at most 255 octets (one
 * empty string when len is 0). */
int dns_response_add_txt(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint32_t ttl, const uint8_t *data,
    size_t len);
/* Any type, rdata copied as is (RFC 3597: no compression inside). */
int dns_response_add_rdata(struct dns_builder *b, enum dns_section section,
    const struct dns_name *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, size_t rdata_len);

/* True once a record was dropped for lack of room in the answer or
 * authority section (the TC bit will be set). */
bool dns_response_truncated(const struct dns_builder *b);

/* Writes the OPT record and the header counts and flags; *lenp gets the
 * length of the response in buf.  The builder may not be used afterwards.
 * Returns 0. */
int dns_response_finish(struct dns_builder *b, size_t *lenp);

/* --- queries and relaying --- */

/* What dns_query_build() writes. */
struct dns_query_spec {
	uint16_t id;
	const struct dns_name *qname;
	uint16_t qtype, qclass;
	uint16_t flags;	    /* DNS_FLAG_RD, DNS_FLAG_CD, DNS_FLAG_AD */
	uint16_t edns_size; /* 0: no OPT record */
	bool edns_do;
};

/* Writes a query into buf (size bytes); *lenp gets its length.  Returns 0,
 * ANDNA_EINVAL or ANDNA_EDNS_NOSPACE. */
int dns_query_build(
    const struct dns_query_spec *spec, uint8_t *buf, size_t size, size_t *lenp);

/* Reads the id of a packet.  Returns 0 or ANDNA_EDNS_SHORT. */
int dns_id_get(const uint8_t *pkt, size_t len, uint16_t *id);

/* Rewrites the id of a packet in place (an upstream answer relayed to the
 * client that asked).  Returns 0 or ANDNA_EDNS_SHORT. */
int dns_id_set(uint8_t *pkt, size_t len, uint16_t id);

/* Copies a packet of len bytes into dst (dstsize bytes) with its id set to
 * id.  Returns 0, ANDNA_EDNS_SHORT (no header) or ANDNA_EDNS_NOSPACE. */
int dns_copy_with_id(
    uint8_t *dst, size_t dstsize, const uint8_t *pkt, size_t len, uint16_t id);

#endif
