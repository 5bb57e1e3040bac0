/*
 * NAME
 *	countmap - counts per string key that go away at zero
 * DESCRIPTION
 *	See countmap.h.
 */
#include <stdlib.h>
#include <string.h>

#include "countmap.h"
#include "mem.h"
#include "str.h"

struct countmap_entry {
	struct countmap_entry *next;
	uint64_t hash;
	uint64_t n;
	char	key[COUNTMAP_KEY_MAX + 1];
};

void
countmap_init(struct countmap *m, size_t max_keys)
{
	memset(m, 0, sizeof(*m));
	m->max_keys = max_keys;
}

/* slot - where key's entry is, or where it would be linked */
static struct countmap_entry **
slot(const struct countmap *m, const char *key, uint64_t h)
{
	struct countmap_entry **p;

	if (m->nbuckets == 0)
		return NULL;
	for (p = &m->bucket[h & (m->nbuckets - 1)]; *p; p = &(*p)->next)
		if ((*p)->hash == h && strcmp((*p)->key, key) == 0)
			return p;
	return p;
}

static void
grow(struct countmap *m)
{
	size_t	nb = m->nbuckets ? m->nbuckets * 2 : 64;
	struct countmap_entry **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < m->nbuckets; i++) {
		struct countmap_entry *e, *next;

		for (e = m->bucket[i]; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->bucket);
	m->bucket = b;
	m->nbuckets = nb;
}

uint64_t
countmap_get(const struct countmap *m, const char *key)
{
	char	k[COUNTMAP_KEY_MAX + 1];
	struct countmap_entry **p;

	(void) str_copy(k, sizeof(k), key);
	p = slot(m, k, str_hash(k));
	return p != NULL && *p != NULL ? (*p)->n : 0;
}

bool
countmap_room(const struct countmap *m, size_t n)
{
	return m->max_keys == 0 || m->used + n <= m->max_keys;
}

bool
countmap_add(struct countmap *m, const char *key, int d)
{
	char	k[COUNTMAP_KEY_MAX + 1];
	uint64_t h;
	struct countmap_entry **p, *e;

	(void) str_copy(k, sizeof(k), key);
	h = str_hash(k);
	p = slot(m, k, h);
	if (p != NULL && *p != NULL) {
		e = *p;
		if (d < 0 && e->n <= 1) {
			*p = e->next;
			free(e);
			m->used--;
		} else if (d < 0) {
			e->n--;
		} else {
			e->n++;
		}
		return true;
	}
	if (d < 0)
		return true;			/* nothing held: nothing to give back */
	if (!countmap_room(m, 1))
		return false;
	if (m->used >= m->nbuckets)
		grow(m);
	e = xcalloc(1, sizeof(*e));
	e->hash = h;
	e->n = 1;
	memcpy(e->key, k, sizeof(k));
	e->next = m->bucket[h & (m->nbuckets - 1)];
	m->bucket[h & (m->nbuckets - 1)] = e;
	m->used++;
	return true;
}

void
countmap_walk(const struct countmap *m, void (*fn)(void *, const char *, uint64_t),
	      void *ctx)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct countmap_entry *e = m->bucket[i]; e; e = e->next)
			fn(ctx, e->key, e->n);
}

void
countmap_free(struct countmap *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct countmap_entry *e, *next;

		for (e = m->bucket[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->bucket);
	memset(m, 0, sizeof(*m));
}
