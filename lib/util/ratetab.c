/*
 * NAME
 *	ratetab - a bounded table of per-key counters that start again
 *	every time unit
 * DESCRIPTION
 *	See ratetab.h.  Entries live in one array (allocated at the first
 *	ratetab_get()), values in a second one of the same length; NIL
 *	ends a chain or a list.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "ratetab.h"
#include "str.h"

#define NIL	UINT32_MAX

struct entry {
	uint64_t hash;
	uint64_t start_ms;		/* when this unit began */
	uint32_t chain;			/* next in its hash bucket */
	uint32_t older, newer;		/* the list by start_ms */
	char	key[RATETAB_KEY_MAX];
};

struct ratetab {
	struct entry *tab;
	unsigned char *vals;
	uint32_t *bucket;		/* heads of the hash chains */
	size_t	cap, used, nbuckets, vsize;
	uint32_t oldest, newest;
	uint64_t unit_ms;
	ratetab_drop_fn *drop;
	void   *ctx;
};

struct ratetab *
ratetab_new(size_t max_keys, size_t value_size, uint64_t unit_ms)
{
	struct ratetab *t = xcalloc(1, sizeof(*t));

	t->cap = max_keys > 0 ? max_keys : 1;
	if (t->cap >= NIL)
		t->cap = NIL - 1;
	t->vsize = value_size;
	t->unit_ms = unit_ms > 0 ? unit_ms : 1;
	t->oldest = t->newest = NIL;
	return t;
}

void
ratetab_on_drop(struct ratetab *t, ratetab_drop_fn *fn, void *ctx)
{
	t->drop = fn;
	t->ctx = ctx;
}

static void *
value(const struct ratetab *t, uint32_t i)
{
	return t->vals + (size_t) i * t->vsize;
}

static void
dropped(struct ratetab *t, uint32_t i)
{
	if (t->drop != NULL)
		t->drop(t->ctx, t->tab[i].key, value(t, i), t->tab[i].start_ms);
}

void
ratetab_free(struct ratetab *t)
{
	if (t == NULL)
		return;
	for (uint32_t i = t->oldest; i != NIL; i = t->tab[i].newer)
		dropped(t, i);
	free(t->tab);
	free(t->vals);
	free(t->bucket);
	free(t);
}

size_t
ratetab_size(const struct ratetab *t)
{
	return t->used;
}

static bool
ended(const struct ratetab *t, const struct entry *e, uint64_t now_ms)
{
	return now_ms < e->start_ms || now_ms - e->start_ms >= t->unit_ms;
}

/* unlink_age - take entry i out of the list by start_ms */
static void
unlink_age(struct ratetab *t, uint32_t i)
{
	struct entry *e = t->tab + i;

	if (e->older != NIL)
		t->tab[e->older].newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NIL)
		t->tab[e->newer].older = e->older;
	else
		t->newest = e->older;
}

/* link_age - put entry i in the list by its start_ms (at the end, as a rule) */
static void
link_age(struct ratetab *t, uint32_t i)
{
	uint32_t after = t->newest;

	while (after != NIL && t->tab[after].start_ms > t->tab[i].start_ms)
		after = t->tab[after].older;	/* only when the clock went back */
	t->tab[i].older = after;
	t->tab[i].newer = after == NIL ? t->oldest : t->tab[after].newer;
	if (t->tab[i].newer != NIL)
		t->tab[t->tab[i].newer].older = i;
	else
		t->newest = i;
	if (after != NIL)
		t->tab[after].newer = i;
	else
		t->oldest = i;
}

/* unlink_hash - take entry i out of its hash chain */
static void
unlink_hash(struct ratetab *t, uint32_t i)
{
	uint32_t *p = &t->bucket[t->tab[i].hash & (t->nbuckets - 1)];

	while (*p != i)
		p = &t->tab[*p].chain;
	*p = t->tab[i].chain;
}

/* remove - entry i leaves the table; the last one moves into its slot */
static void
remove_entry(struct ratetab *t, uint32_t i)
{
	uint32_t last = (uint32_t) (t->used - 1);

	unlink_age(t, i);
	unlink_hash(t, i);
	if (i != last) {
		uint32_t *p = &t->bucket[t->tab[last].hash & (t->nbuckets - 1)];

		while (*p != last)
			p = &t->tab[*p].chain;
		*p = i;
		t->tab[i] = t->tab[last];
		memcpy(value(t, i), value(t, last), t->vsize);
		if (t->tab[i].older != NIL)
			t->tab[t->tab[i].older].newer = i;
		else
			t->oldest = i;
		if (t->tab[i].newer != NIL)
			t->tab[t->tab[i].newer].older = i;
		else
			t->newest = i;
	}
	t->used--;
}

static uint32_t
lookup(const struct ratetab *t, const char *key, uint64_t h)
{
	uint32_t i;

	if (t->tab == NULL)
		return NIL;
	for (i = t->bucket[h & (t->nbuckets - 1)]; i != NIL; i = t->tab[i].chain)
		if (t->tab[i].hash == h && strcmp(t->tab[i].key, key) == 0)
			break;
	return i;
}

void   *
ratetab_find(struct ratetab *t, const char *key, uint64_t now_ms)
{
	uint32_t i = lookup(t, key, str_hash(key));

	return i == NIL || ended(t, t->tab + i, now_ms) ? NULL : value(t, i);
}

void   *
ratetab_get(struct ratetab *t, const char *key, uint64_t now_ms)
{
	uint64_t h = str_hash(key);
	uint32_t i;
	struct entry *e;

	if (t->tab == NULL) {
		t->tab = xcalloc(t->cap, sizeof(*t->tab));
		t->vals = xcalloc(t->cap, t->vsize > 0 ? t->vsize : 1);
		for (t->nbuckets = 1; t->nbuckets < t->cap; t->nbuckets <<= 1)
			;
		t->bucket = xmalloc(t->nbuckets * sizeof(*t->bucket));
		for (size_t b = 0; b < t->nbuckets; b++)
			t->bucket[b] = NIL;
	}
	if ((i = lookup(t, key, h)) == NIL) {
		if (t->used < t->cap) {
			i = (uint32_t) t->used++;
		} else {
			i = t->oldest;		/* the earliest unit makes room */
			dropped(t, i);
			unlink_age(t, i);
			unlink_hash(t, i);
		}
		e = t->tab + i;
		memset(e, 0, sizeof(*e));
		e->hash = h;
		(void) str_copy(e->key, sizeof(e->key), key);
		e->start_ms = now_ms;
		e->chain = t->bucket[h & (t->nbuckets - 1)];
		t->bucket[h & (t->nbuckets - 1)] = i;
		link_age(t, i);
		memset(value(t, i), 0, t->vsize);
	} else if (ended(t, e = t->tab + i, now_ms)) {
		dropped(t, i);
		memset(value(t, i), 0, t->vsize);
		e->start_ms = now_ms;
		unlink_age(t, i);
		link_age(t, i);
	}
	return value(t, i);
}

void
ratetab_expire(struct ratetab *t, uint64_t now_ms)
{
	while (t->oldest != NIL && ended(t, t->tab + t->oldest, now_ms)) {
		uint32_t i = t->oldest;

		dropped(t, i);
		remove_entry(t, i);
	}
}
