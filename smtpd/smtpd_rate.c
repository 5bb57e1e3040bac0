/*
 * NAME
 *	smtpd_rate - per-client event rates: connections, messages and
 *	recipients per anvil_rate_time_unit
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_rate_init(SMTPD_RATE_TABLE, unit_ms);
 *	n = smtpd_rate_count(addr, SMTPD_RATE_MSG, now_ms);
 *	if (limit > 0 && n > limit) ... refuse ...
 *	smtpd_rate_free();
 * DESCRIPTION
 *	smtpd_rate_count() counts one event of its kind for the client
 *	address and returns how many of that kind the address has had in
 *	its current time unit, this one included.  A unit starts at the
 *	address's first event after the previous unit ended (Postfix's
 *	anvil counts the same way); all three kinds share it.
 *
 *	The table holds at most the number of addresses given to
 *	smtpd_rate_init() and is allocated at the first count, so that a
 *	process with every rate limit off spends nothing on it.  When it
 *	is full, the address whose unit started earliest (so one whose
 *	unit has ended, when there is one) makes room: a flood of new
 *	addresses can make an old address's count start again, never
 *	make the table grow.  Every count costs O(1): the addresses are
 *	found through a hash index (FNV-1a, chained), and kept in a list
 *	ordered by the start of their unit, whose head is the one to go.
 *
 *	The counts are this process's: with one smtpd process (the
 *	default master.cf) they are the client's, with N processes a
 *	client may get up to N times a limit.
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "smtpd.h"
#include "str.h"

#define NIL	UINT32_MAX

struct rate_entry {
	uint64_t hash;
	uint64_t start_ms;		/* when this unit began */
	uint32_t n[SMTPD_RATE_KINDS];
	uint32_t chain;			/* next in its hash bucket */
	uint32_t older, newer;		/* the list by start_ms */
	char	addr[64];
};

static struct rate_entry *tab;
static uint32_t *bucket;		/* heads of the hash chains */
static size_t tab_cap, tab_used, nbuckets;
static uint32_t oldest = NIL, newest = NIL;
static uint64_t unit_ms = 60000;

void
smtpd_rate_init(size_t max_addresses, uint64_t unit)
{
	smtpd_rate_free();
	tab_cap = max_addresses > 0 ? max_addresses : 1;
	if (tab_cap >= NIL)
		tab_cap = NIL - 1;
	unit_ms = unit > 0 ? unit : 1;
}

void
smtpd_rate_free(void)
{
	free(tab);
	free(bucket);
	tab = NULL;
	bucket = NULL;
	tab_used = 0;
	oldest = newest = NIL;
}

/* hash - FNV-1a of the address text */
static uint64_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

static bool
ended(const struct rate_entry *e, uint64_t now_ms)
{
	return now_ms < e->start_ms || now_ms - e->start_ms >= unit_ms;
}

/* unlink_age - take entry i out of the list by start_ms */
static void
unlink_age(uint32_t i)
{
	struct rate_entry *e = tab + i;

	if (e->older != NIL)
		tab[e->older].newer = e->newer;
	else
		oldest = e->newer;
	if (e->newer != NIL)
		tab[e->newer].older = e->older;
	else
		newest = e->older;
}

/* link_age - put entry i in the list by its start_ms (at the end, as a rule) */
static void
link_age(uint32_t i)
{
	uint32_t after = newest;

	while (after != NIL && tab[after].start_ms > tab[i].start_ms)
		after = tab[after].older;	/* only when the clock went back */
	tab[i].older = after;
	tab[i].newer = after == NIL ? oldest : tab[after].newer;
	if (tab[i].newer != NIL)
		tab[tab[i].newer].older = i;
	else
		newest = i;
	if (after != NIL)
		tab[after].newer = i;
	else
		oldest = i;
}

/* unlink_hash - take entry i out of its hash chain */
static void
unlink_hash(uint32_t i)
{
	uint32_t *p = &bucket[tab[i].hash & (nbuckets - 1)];

	while (*p != i)
		p = &tab[*p].chain;
	*p = tab[i].chain;
}

unsigned
smtpd_rate_count(const char *addr, enum smtpd_rate_kind kind, uint64_t now_ms)
{
	uint64_t h = hash(addr);
	uint32_t i;
	struct rate_entry *e;

	if (tab == NULL) {
		tab = xcalloc(tab_cap, sizeof(*tab));
		for (nbuckets = 1; nbuckets < tab_cap; nbuckets <<= 1)
			;
		bucket = xmalloc(nbuckets * sizeof(*bucket));
		for (size_t b = 0; b < nbuckets; b++)
			bucket[b] = NIL;
	}
	for (i = bucket[h & (nbuckets - 1)]; i != NIL; i = tab[i].chain)
		if (tab[i].hash == h && strcmp(tab[i].addr, addr) == 0)
			break;
	if (i == NIL) {
		if (tab_used < tab_cap) {
			i = (uint32_t) tab_used++;
		} else {
			i = oldest;		/* the earliest unit makes room */
			unlink_age(i);
			unlink_hash(i);
		}
		e = tab + i;
		memset(e, 0, sizeof(*e));
		e->hash = h;
		(void) str_copy(e->addr, sizeof(e->addr), addr);
		e->start_ms = now_ms;
		e->chain = bucket[h & (nbuckets - 1)];
		bucket[h & (nbuckets - 1)] = i;
		link_age(i);
	} else if (ended(e = tab + i, now_ms)) {
		memset(e->n, 0, sizeof(e->n));
		e->start_ms = now_ms;
		unlink_age(i);
		link_age(i);
	}
	if (e->n[kind] < UINT32_MAX)
		e->n[kind]++;
	return e->n[kind];
}
