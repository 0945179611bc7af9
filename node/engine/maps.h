/* The node's two maps (DESIGN.md section 1): the inner map of its level-1
 * gnode's members and the outer map of sibling gnodes at levels 1..3. */
#ifndef ANDNA_NODE_MAPS_H
#define ANDNA_NODE_MAPS_H

#include "node/engine/round.h"
#include "proto/types.h"

#define MEMBER_EPS 2     /* endpoints kept per member */
#define OUTER_CONTACTS 3 /* live contacts kept per sibling gnode */

enum member_state {
	MEMBER_ALIVE,
	MEMBER_SUSPECT,
	MEMBER_DEAD,
	MEMBER_LEFT,
};

/* One member of the node's level-1 gnode (the node itself is not one). */
struct member {
	uint8_t id; /* low byte of its overlay address */
	uint8_t state;
	uint8_t n_eps;
	uint32_t inc; /* incarnation: only the member itself raises it */
	uint8_t pk[ANDNA_PK_LEN];
	struct endpoint eps[MEMBER_EPS];
	uint64_t state_at; /* when the state last changed */
	uint64_t asked_at; /* when we last pinged it to hear its own word */
	uint64_t told_at;  /* when we last told another key at its address
	                    * that we hold it there */
};

struct inner_map {
	int n; /* sorted by id */
	int cap;
	struct member *m;
};

struct contact {
	ovl_addr_t addr;
	struct endpoint ep;
};

/* A sibling gnode at one level, inside the node's parent at that level. */
struct outer_entry {
	uint8_t id;
	uint8_t n_contacts;
	uint16_t children; /* members (level 1) or child gnodes */
	uint64_t heard_at; /* node time the freshest news is from */
	uint64_t learned_at; /* node time we first heard of the gnode */
	struct contact contacts[OUTER_CONTACTS];
};

struct outer_map {
	int n[ANDNA_LEVELS]; /* per level 1..3, sorted by id */
	int cap[ANDNA_LEVELS];
	struct outer_entry *e[ANDNA_LEVELS];
};

/* Returns the member with `id`, or NULL. */
struct member *inner_find(const struct inner_map *m, uint8_t id);

/* Returns the member with `id`, adding a zeroed one if absent; NULL only
 * when out of memory. */
struct member *inner_get(struct inner_map *m, uint8_t id);

void inner_remove(struct inner_map *m, uint8_t id);

/* Members alive or suspect (they still count while suspected). */
int inner_live(const struct inner_map *m);

void inner_fini(struct inner_map *m);

struct outer_entry *outer_find(const struct outer_map *o, int level, uint8_t id);

/* Returns the entry, adding a zeroed one if absent; NULL on out of memory. */
struct outer_entry *outer_get(struct outer_map *o, int level, uint8_t id);

void outer_remove(struct outer_map *o, int level, uint8_t id);

/* Puts `c` first among the entry's contacts (fresh news first), dropping
 * an older copy of it and the stalest contact beyond OUTER_CONTACTS. */
void outer_add_contact(struct outer_entry *e, const struct contact *c);

/* Drops the contact with address `addr` from the entry. */
void outer_drop_contact(struct outer_entry *e, ovl_addr_t addr);

void outer_fini(struct outer_map *o);

size_t maps_bytes(const struct inner_map *m, const struct outer_map *o);

#endif
