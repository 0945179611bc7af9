/* Inside the engine: the state shared by node/engine/engine.c (dispatch, timers,
 * sending), node/engine/swim.c (liveness), node/engine/hook.c (joining), node/engine/gossip.c
 * (outer map) and node/engine/route.c (routing).  Not for use outside node/. */
#ifndef ANDNA_NODE_ENGINE_INT_H
#define ANDNA_NODE_ENGINE_INT_H

#include "node/engine/engine.h"
#include "node/engine/maps.h"
#include "proto/msg.h"

#define SWIM_UPDATES_MAX 8   /* piggybacked per ping or ack */
#define SWIM_INDIRECT 2      /* members asked to ping a silent one */
#define SWIM_RIVALS 8        /* nodes at contested addresses we ask */
#define FORWARD_TRIES 5      /* next hops tried per hop */
#define SEEN_MAX 256         /* routed requests remembered for dedupe */
#define HOOK_OFFER_HOLD_MS 10000
#define HOOK_OFFERS 16        /* places held for joiners at once */
#define CHECKS_MAX 32         /* gnodes being checked at once */
#define CLAIM_CHECKS_MAX 8    /* queue claims waiting for their claimant's
			       * answer (checks from CHECKS_MAX on) */
#define SOURCES_MAX 16        /* sources whose news of new gnodes we pace */

enum hook_state {
	HOOK_IDLE,    /* not started */
	HOOK_ASKING,  /* sent HOOK_REQ, waiting for an offer */
	HOOK_JOINING, /* took an address, waiting for MAP_FULL */
	HOOK_AGAIN,   /* a node with every place held asked us to come back */
	HOOK_DONE,
	HOOK_GONE,    /* left the overlay */
};

/* A member update waiting to be piggybacked on pings and acks. */
struct swim_news {
	uint8_t id; /* member id, or our own id for news about us */
	uint8_t left; /* transmissions left */
};

/* A member asked us to ping `target` for it (indirect probe). */
struct swim_relay {
	uint64_t our_id;   /* request id of our ping to the target */
	uint64_t their_id; /* request id of their PING_REQ */
	ovl_addr_t target; /* the member to ping */
	struct endpoint requester;
	uint64_t deadline;
};

/* A node of our gnode's prefix at the address of one of our members with
 * another key, as a member names it or as it speaks to us itself: the
 * other half of a gnode that was founded twice.  While our own address is
 * contested we ask it whom it holds there (see address_conflict()). */
struct swim_rival {
	uint8_t id;
	bool votes;        /* it said it holds the contesting key at ours */
	uint8_t pk[ANDNA_PK_LEN];
	struct endpoint ep;
	uint64_t heard_at; /* when last named or heard; 0: a free slot */
	uint64_t asked_at;
};

/* Where the reply to a routed request we passed on goes back to: the
 * endpoint the request came from, never one the request names. */
struct back {
	uint64_t req_id;
	struct endpoint ep;
	uint64_t deadline;
};

/* A queue claim that waits until its claimant proved its host: the node
 * at the claim's overlay address answers a CHALLENGE from the endpoint it
 * named (DESIGN.md section 10, "Nodes cost addresses"). */
struct claim_wait {
	struct record *rec;     /* the claim, owned; NULL: a gnode check */
	struct msg_route route; /* a REGISTER's: where its answer goes */
	uint64_t reply_id;      /* the REGISTER's id; 0: a HANDOVER's item,
				 * nobody waits for an answer */
	uint32_t age, life;     /* a HANDOVER's item: its times */
	/* a HANDOVER's claims after this one, checked in turn so that they
	 * join the queue in the order they came (owned, from `at` on) */
	struct msg_item *rest;
	uint8_t n_rest, at;
};

/* A gnode heard of but not yet in the outer map: one of its contacts is
 * asked to prove, from its own endpoint, that it holds an address inside
 * it (DESIGN.md section 10, "Maps believe what they can check").  The
 * same check proves the host of a queue claim (`claim`). */
struct gnode_check {
	uint64_t req_id; /* of the CHALLENGE; 0: slot free */
	uint8_t level, id;
	bool hello;       /* gossip with it once it passed */
	uint8_t tries;    /* CHALLENGEs sent: a lost one is sent again */
	uint16_t children;
	struct contact contact;  /* the one challenged */
	uint8_t n_others;
	struct contact others[OUTER_CONTACTS - 1]; /* taken with it */
	uint8_t nonce[MSG_NONCE_LEN];
	uint64_t deadline;
	struct claim_wait claim;
};

/* How many new gnodes one underlay host may still make us check: a token
 * bucket per source, so no node fills the maps with gnodes of its own
 * making faster than a few a minute. */
struct gnode_source {
	struct endpoint host;
	uint32_t tokens;
	uint64_t refilled;
};

/* A reply passed back towards the origin of a routed request, awaiting
 * the ROUTE_ACK of the hop it went to. */
struct reply_fwd {
	uint64_t req_id;
	struct endpoint ep;
	uint8_t passes; /* acks let past a rate limit (engine_awaits) */
	int tries;
	uint64_t deadline;
	size_t len;
	uint8_t *buf;
};

/* A routed message handed to a next hop, awaiting its ROUTE_ACK. */
struct forward {
	uint64_t req_id;
	uint8_t passes; /* acks let past a rate limit (engine_awaits) */
	ovl_addr_t prev; /* the hop it came from: never handed back there */
	ovl_addr_t via; /* the contact it was sent to */
	int tries;
	ovl_addr_t tried[FORWARD_TRIES];
	uint64_t deadline;
	struct msg_route route; /* to choose another contact */
	size_t len;
	uint8_t *buf; /* the encoded message, to send again */
};

/* What a pending request is for, and so what its reply resumes. */
enum pend_kind {
	PK_PROBE,     /* routed probe for the host */
	PK_REGISTER,  /* our REGISTER to a hash gnode, for the host */
	PK_NEIGHBOUR, /* CACHE_READ to a member of our gnode */
	PK_RESOLVE,   /* RESOLVE routed to a hash gnode */
	PK_REVERSE,   /* REVERSE to a node */
	PK_COUNTER,   /* COUNTER_CHECK for a registration we handle */
	PK_REPLICAS,  /* waiting for REPLICATE_ACKs before we answer */
	PK_HANDOVER,  /* HANDOVER of an item to the gnode now responsible */
	PK_BULK,      /* SYNC_PAGE_REQ to a member while we join */
	PK_PROMOTE,   /* COUNTER_CHECK for the claim next in a free name's
		       * queue */
};

/* A request this node started and waits on (end to end).  Resolves and
 * counter checks may be made for a peer: then the outcome is sent to it
 * instead of told to the host. */
struct pending {
	uint64_t req_id;    /* the id the host knows it by */
	uint64_t wire_id;   /* the id of the current attempt */
	uint8_t kind;       /* enum pend_kind */
	uint8_t type;       /* message type of the request */
	uint8_t passes;     /* answers let past a rate limit (engine_awaits) */
	int tries;
	uint64_t started;
	uint64_t deadline;
	ovl_addr_t target;  /* routed requests */
	struct endpoint to; /* direct requests */
	struct record *rec; /* REGISTER, COUNTER, HANDOVER, PROMOTE: owned */
	uint8_t op;         /* COUNTER, PROMOTE: enum msg_op; HANDOVER,
			     * BULK: kind */
	uint32_t age;       /* HANDOVER: the item's age */
	struct claim_host host; /* HANDOVER of a claim: its host */
	bool resigned;      /* REGISTER: signed again above the hash
			     * gnode's sequence number (see resign()) */
	struct msg_cursor cursor; /* BULK: where the page starts */
	char name[ANDNA_NAME_MAX + 1]; /* NEIGHBOUR, RESOLVE */
	/* for a peer: where the answer goes (a member asking directly, or
	 * the origin of a routed request) */
	bool for_peer;
	struct endpoint peer_ep;
	struct msg_route peer_route;
	uint64_t peer_id;
	uint8_t peer_type;  /* the type of the answer */
	uint8_t peer_status;
	int acks_left;      /* REPLICAS */
	int members;        /* REPLICAS: members replicated to */
	uint32_t life;      /* REPLICAS: the answer's remaining life */
	uint32_t queue_pos; /* REPLICAS: the answer's queue position;
			     * PROMOTE: the claim's, from 0 */
	uint8_t after;      /* REPLICAS: NS_AFTER_* once a majority holds
			     * the item (rec, op its kind, age, life) */
	uint64_t vote;      /* RESOLVE: the vote it asks for */
	uint8_t n_exclude;  /* HANDOVER: a gnode the route skips */
	ovl_addr_t exclude;
};

/* What a vote on a name's owner is for. */
enum vote_for {
	VOTE_HOST,  /* a resolution for the host */
	VOTE_PEER,  /* a resolution for a member that read our cache */
	VOTE_TALLY, /* at the counter gnode: does the key still hold it? */
	VOTE_VOUCH, /* an item handed over to us: is it the hash gnode's? */
};

#define VOTE_ASK 3      /* hash-gnode members asked at once */
#define VOTE_ROUNDS 2   /* rounds of asking before a vote fails */
#define VOTE_MAX 256    /* votes at once */
#define VOTE_RESERVED 64 /* of them kept for resolutions: no flood of
			  * handed-over items leaves the host without */
#define VOUCH_RETRIES 3 /* votes again on a handed-over item */
#define UNCOUNT_MAX 16  /* tallies to recheck, met within one tick */

/* One answer to a vote. */
struct vote_answer {
	ovl_addr_t addr;          /* the member that answered */
	uint8_t key[ANDNA_PK_LEN]; /* and the node key it signed with */
	uint8_t status;           /* MSG_ST_OK or MSG_ST_NOT_FOUND */
	struct record *rec;       /* OK: verified, for the name, owned */
	uint32_t age, life;
	int hops;
	uint8_t hits;             /* requests it answered */
};

/* Who owns a name, asked of several members of its hash gnode through
 * routes of our own choosing (DESIGN.md section 10, "Owners come from a
 * majority"): an owner counts once two members that are not one node
 * agree, or when every request came back from the same one (for
 * VOTE_VOUCH, only where lone_ok says so). */
struct vote {
	uint64_t id;
	uint8_t purpose;  /* enum vote_for */
	uint8_t open;     /* requests sent and not ended */
	uint8_t rounds;
	uint8_t retries;  /* VOUCH: asked again */
	uint64_t retry_at; /* VOUCH: when to ask again (0: not waiting) */
	uint8_t n_ans;
	bool lone_ok;     /* VOUCH: one node answering alone may do */
	bool at_gnode;    /* ask the level-1 gnode of `gnode`, not the name's,
			   * the node at `gnode` itself first in each round */
	ovl_addr_t gnode;
	char name[ANDNA_NAME_MAX + 1];
	uint64_t started;
	int asked;        /* requests sent in all */
	struct vote_answer ans[VOTE_ASK * VOTE_ROUNDS];
	/* HOST */
	uint64_t req_id;
	/* PEER */
	struct endpoint peer_ep;
	uint64_t peer_id;
	/* TALLY, VOUCH: the item in question (owned) */
	struct msg_item item;
};

struct engine {
	struct engine_config cfg;
	struct engine_io io;
	struct keypair key;
	struct endpoint eps[4];
	int n_eps;
	struct engine_stats stats;

	/* place in the overlay */
	enum hook_state hook;
	ovl_addr_t addr;
	uint32_t inc;          /* our incarnation */
	struct endpoint *peers; /* bootstrap peers, and joiners that asked us */
	int n_peers;
	int peer_next;
	int hook_tries;        /* HOOK_REQs to bootstrap peers */
	/* Rounds through the peer list, and the last round (-1: none) in
	 * which a hooked node answered, a joiner was heard (a JOINING answer or
	 * a HOOK_REQ), and a joiner with a lower node key was heard of: what
	 * decides whether a whole mesh restarted at once is ours to found
	 * (see round_ended() in hook.c). */
	int hook_round;
	int silent_rounds;     /* rounds in a row in which nobody answered */
	int hooked_round, joiner_round, lower_round;
	/* the lowest key of a joiner heard of, if lower than ours, and when
	 * its owner was heard from (0: none) */
	uint8_t low_key[ANDNA_PK_LEN];
	uint64_t low_heard;
	int hook_redirects;    /* redirects followed since the last of those */
	int join_tries;        /* JOINs sent for the offer we took */
	uint64_t hook_deadline;
	uint64_t hook_req;     /* request id of HOOK_REQ or JOIN */
	struct endpoint hook_again; /* whom to ask when HOOK_AGAIN ends */
	ovl_addr_t hook_full[MSG_HOOK_FULL_MAX]; /* gnodes that sent us on */
	int n_hook_full;
	unsigned full_told;    /* bit L: siblings told our level-L gnode is full */
	struct contact join_contacts[8];
	int n_join_contacts;

	/* offers we made and hold for a while, so two joiners asking us at
	 * once do not get the same address */
	struct {
		ovl_addr_t addr;
		uint64_t until;
	} offers[HOOK_OFFERS];

	struct inner_map inner;
	struct outer_map outer;
	struct round_view view; /* cached rounding view, built at */
	uint64_t view_built;    /* this version of the maps */
	uint64_t view_version;  /* raised on every change that rounding sees */

	/* liveness (SWIM) */
	uint64_t next_ping;
	uint8_t probe_order[256]; /* shuffled member ids, walked in turn */
	int probe_n, probe_pos;
	uint8_t probing;        /* member id being probed */
	bool probe_active, probe_indirect;
	uint64_t probe_req, probe_deadline;
	struct swim_news news[256];
	int n_news;
	struct swim_relay relays[8];
	uint64_t excess_since;  /* when our gnode held too many nodes, or 0 */
	/* members that said another key holds our address, and that key */
	uint8_t conflict_key[ANDNA_PK_LEN];
	uint8_t conflict_from[256 / 8];
	struct swim_rival rivals[SWIM_RIVALS];

	/* outer map exchange */
	uint64_t next_gossip;
	int gossip_rotate; /* sibling entry to start from next time */
	struct gnode_check checks[CHECKS_MAX + CLAIM_CHECKS_MAX];
	struct gnode_source sources[SOURCES_MAX];
	/* hosts we were asked to challenge for queue claims */
	struct gnode_source claim_sources[SOURCES_MAX];

	/* routing */
	struct forward *fwd;
	int n_fwd, cap_fwd;
	struct pending *pend;
	int n_pend, cap_pend;
	struct {
		ovl_addr_t origin;
		uint64_t req_id;
	} seen[SEEN_MAX];
	int seen_pos;
	struct back *back;
	int n_back, cap_back;
	struct reply_fwd *rfwd;
	int n_rfwd, cap_rfwd;

	uint64_t next_sweep; /* expiry of suspects, tombstones, outer entries */

	/* name service */
	uint64_t next_sync;     /* anti-entropy with a random member */
	uint8_t sync_kind;      /* which kind the next exchange is about */
	uint64_t handover_at;   /* 0, or when to look for records to hand over */
	uint64_t handover_seen; /* view version the last handover scan saw */
	uint64_t handover_print; /* round_print() when the last scan began */
	uint32_t handover_wait; /* until a scan again after one failed */
	uint64_t next_renew;    /* next look at our names' age */
	uint64_t hooked_at;     /* when we took our address */
	uint64_t renew_hooked;  /* hooked_at when our names were last set
				 * to be renewed from there */
	uint64_t next_promote;  /* next look for free names with a queue */
	uint64_t names_came_at; /* when names last came to our gnode: our
				 * hook, or a gnode gone from our maps */
	uint8_t bulk_kind;      /* joining: the kind being pulled, or done */
	struct store_pos handover_pos; /* where the handover scan goes on */
	struct vote *votes;
	int n_votes, cap_votes;
	struct record *uncount[UNCOUNT_MAX]; /* losers whose tally goes */
	int n_uncount;
	uint8_t handover_kind;
	/* cache refreshes started in the second refresh_sec (ns_resolve.c) */
	uint64_t refresh_sec;
	int n_refresh;
	struct engine_ns_stats ns;
};

/* engine.c */
uint64_t engine_rand64(struct engine *e);
uint32_t engine_rand_below(struct engine *e, uint32_t n);
void engine_log(struct engine *e, enum engine_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void engine_emit(struct engine *e, const struct engine_event *ev);
/* How many nodes one such host may have in a gnode (and gnodes it may
 * vouch for in an outer map). */
int engine_host_limit(const struct engine *e, const struct endpoint *ep);
/* Makes room for one more element of `size` bytes in the growable array
 * `arr` of `n` elements in `*cap` slots: returns the array, moved maybe
 * (`*cap` then grown), or NULL when out of memory (`arr` is kept). */
void *engine_grow(void *arr, int n, int *cap, size_t size);
/* The member our inner map holds at the source of `m` with the node key
 * that signed it, or NULL: whom a message's word may count for. */
struct member *engine_sender(struct engine *e, const struct msg *m);
/* Notes that the maps changed in a way rounding can see. */
void engine_maps_changed(struct engine *e);
/* Children of our own gnode at `level` (members, or child gnodes). */
uint16_t engine_own_children(const struct engine *e, int level);
/* Encodes `m` with our envelope (sender fields filled here) and sends it
 * to `to`; returns the bytes sent, 0 if it could not be encoded. */
size_t engine_send(struct engine *e, const struct endpoint *to, struct msg *m);
/* Encodes `m` as engine_send() does into a buffer the caller frees;
 * NULL on failure. */
uint8_t *engine_encode(struct engine *e, struct msg *m, size_t *len);
void engine_send_raw(struct engine *e, const struct endpoint *to,
    const uint8_t *buf, size_t len);
/* Handles a routed request that reached its gnode. */
void engine_handle_routed(struct engine *e, struct msg *m, int hops_taken,
    uint64_t now);
/* Adds a request of `kind` sent as message `type`; NULL when out of
 * memory.  The caller fills it, then calls pending_send(). */
struct pending *pending_add(struct engine *e, uint8_t kind, uint8_t type,
    uint64_t now);
/* Sends (again) the request behind `p`, under a new wire id. */
void pending_send(struct engine *e, struct pending *p, uint64_t now);
struct pending *pending_find(struct engine *e, uint64_t wire_id);
/* Forgets `p` and frees what it owns. */
void pending_remove(struct engine *e, struct pending *p);
/* Sends a reply to the origin of a routed request, back the way the
 * request came; a request of our own is answered without the network. */
void engine_reply_routed(struct engine *e, const struct msg_route *r,
    struct msg *reply, uint64_t now);

/* ns.c: registrations, counters, queues, replication, expiry */
/* Whether we are the member that speaks for the gnode when one must (the
 * lowest address among the live members). */
bool ns_leader(const struct engine *e);
enum ns_role { NS_NONE, NS_PRIMARY, NS_BACKUP };
/* Our gnode's role for a name (or key) hashing to `target`. */
enum ns_role ns_role(struct engine *e, ovl_addr_t target);
void ns_tick(struct engine *e, uint64_t now, uint64_t *wake);
/* Handles a name-service message; false if it is not one. */
bool ns_input(struct engine *e, const struct endpoint *from, struct msg *m,
    uint64_t now);
/* Handles a routed name-service request that reached its gnode after
 * `hops_taken` hops. */
void ns_handle_routed(struct engine *e, struct msg *m, int hops_taken,
    uint64_t now);
/* A reply to a pending request of the name service arrived (or, with
 * m NULL, the request timed out for good). */
void ns_pending_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now);
/* Applies one replicated item; returns 0 or an ANDNA_ code. */
int ns_apply_item(struct engine *e, const struct msg_item *it, uint64_t now);
/* The claimant of `w` proved that its node at host->addr answers at
 * host->ep: the claim enters its name's queue (when there is room for
 * it and for its host), is replicated, and w's REGISTER is answered.
 * Takes w->rec. */
void ns_claim_proven(struct engine *e, struct claim_wait *w,
    const struct claim_host *host, uint64_t now);
/* No answer came to the challenge for `w`: its REGISTER is answered
 * BUSY (the claimant's node asks again).  Takes w->rec. */
void ns_claim_unproven(struct engine *e, struct claim_wait *w, uint64_t now);
/* Frees what `w` holds. */
void ns_claim_wait_free(struct claim_wait *w);
/* Starts the check of the next claim `w->rest` holds, if any (w->rest
 * is taken; w->rec is not touched). */
void ns_claim_next(struct engine *e, struct claim_wait *w, uint64_t now);
/* Whether we hold a claim of rec's key on its name (handover). */
bool ns_claim_held(struct engine *e, const struct record *rec);
/* Fills an item for the stored record `r`. */
int ns_item_of(struct engine *e, uint8_t kind, const uint8_t *blob,
    size_t len, uint64_t stored_at, uint64_t expires_at, uint64_t now,
    struct msg_item *out);
/* What follows once a majority of the gnode holds an item. */
#define NS_AFTER_BACKUP 0x01  /* the backup gnode gets its copy */
#define NS_AFTER_UNCOUNT 0x02 /* the owner's counter gnode rechecks */
/* Replicates `n` items to our gnode's live members and, once they
 * acknowledged (or after a wait), answers `reply_type` (0: nobody) with
 * `status` (and a queue position `pos`) back along `route`: BUSY instead
 * unless the holders are a majority of the gnode; then, for one item,
 * does what `after` says. */
void ns_replicate_then_answer(struct engine *e, const struct msg_item *it,
    int n, const struct msg_route *route, uint64_t reply_id,
    uint8_t reply_type, uint8_t status, uint32_t pos, uint8_t after,
    uint64_t now);
/* Sends items to every live member of our gnode; returns how many. */
int ns_replicate(struct engine *e, const struct msg_item *items, int n,
    uint64_t id);
/* A deep copy of `rec`, or NULL when out of memory. */
struct record *ns_record_copy(const struct record *rec);
/* record_verify() through the host's io.verify_cb, if it gave one. */
int ns_verify(const struct engine *e, const struct record *rec);

/* ns_sync.c: anti-entropy, bulk sync, handover, backups */
void ns_sync_tick(struct engine *e, uint64_t now, uint64_t *wake);
/* Whether no record of a name we hold claims on can be on its way to us
 * (see promote_scan()). */
bool ns_names_settled(const struct engine *e, uint64_t now);
bool ns_sync_input(struct engine *e, const struct endpoint *from,
    struct msg *m, uint64_t now);
/* Sends copies of `n` items of one name (or key) we are primary for to
 * the backup gnode, in one message. */
void ns_push_backup(struct engine *e, const struct msg_item *it, int n,
    uint64_t now);
void ns_handover_input(struct engine *e, struct msg *m, uint64_t now);
/* The majority answered a vote on a handed-over item (see ns_vote_done()). */
void ns_vouch_done(struct engine *e, const struct vote *v,
    const struct vote_answer *w, uint64_t now);
/* A HANDOVER or bulk page request ended (m NULL: timed out). */
void ns_sync_pending_done(struct engine *e, struct pending *p,
    const struct msg *m, uint64_t now);

/* ns_resolve.c: resolution, caches, reverse, votes */
/* Asks the hash gnode of `name` who owns it, for `purpose` (the caller
 * fills the vote's fields for it, at_gnode among them, before
 * ns_vote_send()).  NULL when out of room. */
struct vote *ns_vote_new(struct engine *e, const char *name, uint8_t purpose,
    uint64_t now);
/* Sends the vote's first round; it may end before this returns. */
void ns_vote_send(struct engine *e, uint64_t vote_id, uint64_t now);
/* A vote at the counter gnode (VOTE_TALLY) or on a handed-over item
 * (VOTE_VOUCH) ended with the answer `w` of the majority (its status
 * MSG_ST_NOT_FOUND when nobody holds the name), or NULL when none was
 * found.  In ns.c. */
void ns_vote_done(struct engine *e, const struct vote *v,
    const struct vote_answer *w, uint64_t now);
/* Ends the votes that outlived every request they could have made. */
void ns_vote_sweep(struct engine *e, uint64_t now);
/* Frees what a vote owns. */
void ns_vote_free(struct vote *v);
bool ns_resolve_input(struct engine *e, const struct endpoint *from,
    struct msg *m, uint64_t now);
void ns_resolve_handle_routed(struct engine *e, struct msg *m, int hops,
    uint64_t now);
/* Starts resolving `name` for a peer (a member asking our cache) or, with
 * peer NULL, for the host under `req_id`. */
void ns_resolve_start(struct engine *e, const char *name,
    const struct endpoint *peer, uint64_t peer_id, uint64_t req_id,
    uint64_t now);
void ns_resolve_pending_done(struct engine *e, struct pending *p,
    const struct msg *m, uint64_t now);
void ns_reverse_done(struct engine *e, struct pending *p, const struct msg *m,
    uint64_t now);

/* swim.c */
void swim_tick(struct engine *e, uint64_t now, uint64_t *wake);
/* Declares suspects dead and forgets old tombstones. */
void swim_sweep(struct engine *e, uint64_t now);
void swim_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now);
void swim_news_add(struct engine *e, uint8_t id);
/* Learns that member `addr` with key `pk` is alive at `eps`. */
void swim_member_seen(struct engine *e, ovl_addr_t addr, const uint8_t *pk,
    uint32_t inc, const struct endpoint *eps, int n_eps, uint64_t now);
/* Whether our gnode has room for one more node at the underlay host of
 * `ep` (its IPv4 address, or its IPv6 /64), member `except` aside. */
bool swim_host_room(const struct engine *e, const struct endpoint *ep,
    uint8_t except);
/* Whether we should leave our gnode: joins that raced overfilled it
 * (every member counts a node of its prefix) and we are one of the
 * nodes with the highest ids beyond gnode_size, for a while now. */
bool swim_overfull(struct engine *e, uint64_t now);
/* Pings a node of our gnode we have not met, so we learn of each other. */
void swim_introduce(struct engine *e, const struct endpoint *to);
/* Tells every live member but member `id` about `id` (and us) at once,
 * so a member just admitted, or our refutation of a suspicion, is known
 * to the whole gnode in one round trip. */
void swim_tell_all(struct engine *e, uint8_t id);
/* Tells every live member we leave. */
void swim_leave(struct engine *e);

/* hook.c */
void hook_tick(struct engine *e, uint64_t now, uint64_t *wake);
/* Tells the siblings of each of our gnodes that has just filled up. */
void hook_sweep(struct engine *e, uint64_t now);
void hook_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now);
/* Puts us and our live members but `except` into r's MAP_FULL member
 * list (owned by r).  Returns 0 or ANDNA_ENOMEM. */
int hook_members(struct engine *e, struct msg *r, uint8_t except);
/* Gives up our address and hooks again through the nodes we know. */
void hook_restart(struct engine *e, uint64_t now);

/* gossip.c */
void gossip_tick(struct engine *e, uint64_t now, uint64_t *wake);
/* Sends our entries to `to` unasked. */
void gossip_push(struct engine *e, const struct endpoint *to,
    ovl_addr_t to_addr, uint64_t now);
void gossip_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now);
/* Fills `out` with the outer entries the node at `to` should hear from
 * us, our own gnodes first, in at most `room` bytes of encoding; returns
 * how many (at most `max`).  `heard` is what `to` just sent us, if we
 * answer it: the entries it did not name go whole first. */
int gossip_entries_for(struct engine *e, ovl_addr_t to,
    struct msg_outer *out, int max, size_t room,
    const struct msg_outer *heard, int n_heard, uint64_t now);
/* Merges entries heard from the node at overlay address `from`, which
 * sent them from `from_ep`; gnodes new to us are checked first, at most a
 * few a minute from one source unless `asked` (the maps of the gnode we
 * just joined, which we asked its admitter for, or news from a member of
 * our gnode). */
void gossip_merge(struct engine *e, ovl_addr_t from,
    const struct endpoint *from_ep, bool asked, const struct msg_outer *in,
    int n, uint64_t now);
/* Contacts c[0..n) hold gnode `id` at `level` beside ours, as the node at
 * `source` says: check it (c[0] is challenged) before it enters the outer
 * map with them, and gossip with c[0] once it passed when `hello` (a part
 * of the mesh we did not know, whose maps ours should merge with). */
void gossip_check(struct engine *e, int level, uint8_t id, uint16_t children,
    const struct contact *c, int n, const struct endpoint *source,
    bool asked, bool hello, uint64_t now);
/* Asks the claimant of `w->rec` to prove, from `c->ep`, that it holds
 * overlay address `c->addr`; the outcome goes to ns_claim_proven() or
 * ns_claim_unproven().  Returns 0 when the check started (it owns
 * w->rec then), ANDNA_EEXIST when that claim is being checked already
 * (the answer goes to w's REGISTER now; w->rec stays the caller's), or
 * ANDNA_ELIMIT when CLAIM_CHECKS_MAX run or c's host was asked to answer
 * as many challenges as it may for now (paced as gnode checks are). */
int gossip_check_claim(struct engine *e, const struct contact *c,
    const struct claim_wait *w, uint64_t now);
/* Ends the claim checks, freeing what they hold (engine_free()). */
void gossip_checks_free(struct engine *e);
/* CHALLENGE and CHALLENGE_REPLY. */
void gossip_challenge_input(struct engine *e, const struct endpoint *from,
    const struct msg *m, uint64_t now);
/* Whether the underlay host of `ep` vouches for fewer gnodes than it may
 * (our own, where it has its share of members, and those of our outer map
 * where it is a contact), gnode (level, id) aside (level 0: none): fake
 * gnodes then cost real addresses. */
bool gossip_host_room(const struct engine *e, const struct endpoint *ep,
    int level, uint8_t id);
/* Drops the entries nobody refreshed within the outer timeout. */
void gossip_sweep(struct engine *e, uint64_t now);
/* Sends our entries to a node whose overlay address we do not know (a
 * peer that may be in another mesh), asking for its own. */
void gossip_hello(struct engine *e, const struct endpoint *to, uint64_t now);

/* route.c */
void route_tick(struct engine *e, uint64_t now, uint64_t *wake);
/* Sends a routed request of ours to `target`: fills the route header and
 * hands it to the first hop, or handles it here. */
void route_send(struct engine *e, struct msg *m, ovl_addr_t target,
    uint64_t now);
/* A routed request from a previous hop: ack it, then pass it on. */
void route_input(struct engine *e, const struct endpoint *from,
    struct msg *m, uint64_t now);
void route_ack_input(struct engine *e, const struct endpoint *from,
    const struct msg *m);
/* Sends the reply `buf` to request `req_id` back to `to`, again until
 * that hop acknowledges it. */
void route_reply(struct engine *e, const struct endpoint *to, uint64_t req_id,
    const uint8_t *buf, size_t len, uint64_t now);
/* Takes the way back of the routed request `req_id` (one reply goes back
 * per request); false when there is none. */
bool route_back_take(struct engine *e, uint64_t req_id, struct endpoint *ep);
/* The rounding view of our maps, rebuilt when they changed. */
const struct round_view *route_view(struct engine *e);

#endif
