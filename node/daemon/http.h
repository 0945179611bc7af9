/* The node's read-only HTTP interface, on libevent's own HTTP server
 * (evhttp), for people and graphs rather than scripts on the router:
 *
 *	/             one page (inline style and script, no external asset,
 *	              so it works on a mesh without internet): the node, its
 *	              gnode's members, the gnodes it knows drawn as nested
 *	              boxes, its names, what it holds, DNS over the last hour;
 *	              it refreshes itself from /status.json
 *	/status.json  `andna --json status` (the same code builds it) plus the
 *	              map, the members, the names and the DNS per minute
 *	/metrics      Prometheus text exposition format
 *
 * Only GET and HEAD (other methods get 405), unknown paths 404.  It shows
 * nothing secret (the node key is public) and changes nothing.  Each
 * request does bounded work: lists are capped (HTTP_MEMBERS_MAX,
 * HTTP_NAMES_MAX), headers and bodies are capped by evhttp, a connection
 * that sends nothing is closed after HTTP_TIMEOUT_S, connections beyond
 * HTTP_CONNS_MAX, or HTTP_CONNS_PER_SOURCE from one address, are closed
 * at once, and each source address has a token bucket of http_rate_limit
 * requests a second (bursts of twice that); over it, 429. */
#ifndef ANDNA_NODE_HTTP_H
#define ANDNA_NODE_HTTP_H

#include <stddef.h>

#define HTTP_MEMBERS_MAX 64        /* members listed */
#define HTTP_NAMES_MAX 32          /* own names listed */
#define HTTP_NAMES_BYTES (64 * 1024) /* room for them in status.json */
#define HTTP_HEADERS_MAX 8192      /* bytes of request line and headers */
#define HTTP_BODY_MAX 1024         /* a GET has none; a small one lets a
				    * POST hear 405 rather than 413 */
#define HTTP_TIMEOUT_S 10          /* to send a request, or take a reply */
#define HTTP_MINUTES 60            /* DNS samples kept, one a minute */
#define HTTP_CONNS_MAX 64          /* connections at once */
#define HTTP_CONNS_PER_SOURCE 8    /* connections at once from one address */

struct daemon;
struct http;

/* Binds the HTTP server on the addresses of the daemon's http_listen; an
 * address that cannot be bound is logged and left out.  Returns 0 and
 * *out (NULL when no address is served), or ANDNA_ENOMEM. */
int http_open(struct daemon *d, struct http **out);

/* Writes the page's URL ("http://127.0.0.1:7270/": its first address)
 * to `buf`; "" for NULL. */
void http_url(const struct http *h, char *buf, size_t len);

/* Closes every connection and socket.  NULL is a no-op. */
void http_close(struct http *h);

#endif
