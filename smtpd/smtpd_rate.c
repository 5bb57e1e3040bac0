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
 *	is full, an address whose unit has ended makes room, else the
 *	one whose unit started earliest: a flood of new addresses can
 *	make an old address's count start again, never make the table
 *	grow.  Lookups compare a hash first, then the text.
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

struct rate_entry {
	uint64_t hash;
	uint64_t start_ms;		/* when this unit began */
	uint32_t n[SMTPD_RATE_KINDS];
	char	addr[64];
};

static struct rate_entry *tab;
static size_t tab_cap, tab_used;
static uint64_t unit_ms = 60000;

void
smtpd_rate_init(size_t max_addresses, uint64_t unit)
{
	smtpd_rate_free();
	tab_cap = max_addresses > 0 ? max_addresses : 1;
	unit_ms = unit > 0 ? unit : 1;
}

void
smtpd_rate_free(void)
{
	free(tab);
	tab = NULL;
	tab_used = 0;
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

unsigned
smtpd_rate_count(const char *addr, enum smtpd_rate_kind kind, uint64_t now_ms)
{
	uint64_t h = hash(addr);
	struct rate_entry *e = NULL, *victim = NULL;

	if (tab == NULL)
		tab = xcalloc(tab_cap, sizeof(*tab));
	for (size_t i = 0; i < tab_used; i++) {
		struct rate_entry *t = tab + i;

		if (t->hash == h && strcmp(t->addr, addr) == 0) {
			e = t;
			break;
		}
		if (victim == NULL || (!ended(victim, now_ms)
				       && (ended(t, now_ms) || t->start_ms < victim->start_ms)))
			victim = t;
	}
	if (e == NULL) {
		e = tab_used < tab_cap ? tab + tab_used++ : victim;
		memset(e, 0, sizeof(*e));
		e->hash = h;
		(void) str_copy(e->addr, sizeof(e->addr), addr);
		e->start_ms = now_ms;
	} else if (ended(e, now_ms)) {
		memset(e->n, 0, sizeof(e->n));
		e->start_ms = now_ms;
	}
	if (e->n[kind] < UINT32_MAX)
		e->n[kind]++;
	return e->n[kind];
}
