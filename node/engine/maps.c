#include <stdlib.h>
#include <string.h>

#include "node/engine/maps.h"

/* Index of the first element of a sorted id array not below `id`. */
#define LOWER_BOUND(arr, n, key, out)                                         \
	do {                                                                  \
		int lo_ = 0, hi_ = (n);                                       \
		while (lo_ < hi_) {                                           \
			int mid_ = (lo_ + hi_) / 2;                           \
			if ((arr)[mid_].id < (key))                           \
				lo_ = mid_ + 1;                               \
			else                                                  \
				hi_ = mid_;                                   \
		}                                                             \
		(out) = lo_;                                                  \
	} while (0)

/* Makes room for one more element of `size` bytes in a growable array. */
static void *
grow(void *arr, int n, int *cap, size_t size)
{
	if (n < *cap)
		return arr;
	int ncap = *cap == 0 ? 4 : *cap * 2;
	void *p = realloc(arr, (size_t)ncap * size);
	if (p != NULL)
		*cap = ncap;
	return p;
}

struct member *
inner_find(const struct inner_map *m, uint8_t id)
{
	int i;

	LOWER_BOUND(m->m, m->n, id, i);
	return i < m->n && m->m[i].id == id ? &m->m[i] : NULL;
}

struct member *
inner_get(struct inner_map *m, uint8_t id)
{
	int i;

	LOWER_BOUND(m->m, m->n, id, i);
	if (i < m->n && m->m[i].id == id)
		return &m->m[i];
	struct member *arr = grow(m->m, m->n, &m->cap, sizeof(*arr));
	if (arr == NULL)
		return NULL;
	m->m = arr;
	memmove(&arr[i + 1], &arr[i], (size_t)(m->n - i) * sizeof(*arr));
	m->n++;
	memset(&arr[i], 0, sizeof(*arr));
	arr[i].id = id;
	return &arr[i];
}

void
inner_remove(struct inner_map *m, uint8_t id)
{
	struct member *p = inner_find(m, id);

	if (p == NULL)
		return;
	int i = (int)(p - m->m);
	memmove(&m->m[i], &m->m[i + 1], (size_t)(m->n - i - 1) * sizeof(*p));
	m->n--;
}

int
inner_live(const struct inner_map *m)
{
	int n = 0;

	for (int i = 0; i < m->n; i++)
		n += m->m[i].state <= MEMBER_SUSPECT;
	return n;
}

void
inner_fini(struct inner_map *m)
{
	free(m->m);
	memset(m, 0, sizeof(*m));
}

struct outer_entry *
outer_find(const struct outer_map *o, int level, uint8_t id)
{
	int i;

	LOWER_BOUND(o->e[level], o->n[level], id, i);
	return i < o->n[level] && o->e[level][i].id == id ? &o->e[level][i] : NULL;
}

struct outer_entry *
outer_get(struct outer_map *o, int level, uint8_t id)
{
	int i;

	LOWER_BOUND(o->e[level], o->n[level], id, i);
	if (i < o->n[level] && o->e[level][i].id == id)
		return &o->e[level][i];
	struct outer_entry *arr = grow(o->e[level], o->n[level], &o->cap[level],
	    sizeof(*arr));
	if (arr == NULL)
		return NULL;
	o->e[level] = arr;
	memmove(&arr[i + 1], &arr[i], (size_t)(o->n[level] - i) * sizeof(*arr));
	o->n[level]++;
	memset(&arr[i], 0, sizeof(*arr));
	arr[i].id = id;
	return &arr[i];
}

void
outer_remove(struct outer_map *o, int level, uint8_t id)
{
	struct outer_entry *p = outer_find(o, level, id);

	if (p == NULL)
		return;
	int i = (int)(p - o->e[level]);
	memmove(p, p + 1, (size_t)(o->n[level] - i - 1) * sizeof(*p));
	o->n[level]--;
}

void
outer_drop_contact(struct outer_entry *e, ovl_addr_t addr)
{
	for (int i = 0; i < e->n_contacts; i++) {
		if (e->contacts[i].addr != addr)
			continue;
		memmove(&e->contacts[i], &e->contacts[i + 1],
		    (size_t)(e->n_contacts - i - 1) * sizeof(e->contacts[0]));
		e->n_contacts--;
		return;
	}
}

void
outer_add_contact(struct outer_entry *e, const struct contact *c)
{
	outer_drop_contact(e, c->addr);
	int keep = e->n_contacts < OUTER_CONTACTS ? e->n_contacts : OUTER_CONTACTS - 1;
	memmove(&e->contacts[1], &e->contacts[0], (size_t)keep * sizeof(*c));
	e->contacts[0] = *c;
	e->n_contacts = (uint8_t)(keep + 1);
}

void
outer_fini(struct outer_map *o)
{
	for (int l = 0; l < ANDNA_LEVELS; l++)
		free(o->e[l]);
	memset(o, 0, sizeof(*o));
}

size_t
maps_bytes(const struct inner_map *m, const struct outer_map *o)
{
	size_t b = (size_t)m->cap * sizeof(struct member);

	for (int l = 0; l < ANDNA_LEVELS; l++)
		b += (size_t)o->cap[l] * sizeof(struct outer_entry);
	return b;
}
