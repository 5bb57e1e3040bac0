/*
 * NAME
 *	smtpd_rate - per-client event rates: connections, messages,
 *	recipients and failed AUTHs per anvil_rate_time_unit
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
 *	anvil counts the same way); all kinds share it.
 *	smtpd_rate_peek() is the count without counting anything.
 *
 *	The table (lib/util/ratetab.h) holds at most the number of addresses
 *	given to smtpd_rate_init() and is allocated at the first count,
 *	so that a process with every rate limit off spends nothing on it.
 *	When it is full, the address whose unit started earliest (so one
 *	whose unit has ended, when there is one) makes room: a flood of
 *	new addresses can make an old address's count start again, never
 *	make the table grow.  Every count costs O(1).
 *
 *	The counts are this process's, a lower bound of the client's:
 *	smtpd checks them first, at no cost, and asks anvil for the counts
 *	of every process (smtpd_anvil.c); when anvil cannot be asked and
 *	smtpd_anvil_failure_mode is open, they are all there is, and with
 *	N processes a client may get up to N times a limit.
 */
#include <stdint.h>

#include "ratetab.h"
#include "smtpd.h"

struct counts {
	uint32_t n[SMTPD_RATE_KINDS];
};

static struct ratetab *tab;

void
smtpd_rate_init(size_t max_addresses, uint64_t unit)
{
	smtpd_rate_free();
	tab = ratetab_new(max_addresses, sizeof(struct counts), unit);
}

void
smtpd_rate_free(void)
{
	ratetab_free(tab);
	tab = NULL;
}

/* smtpd_rate_peek - the count so far in the address's unit, none added */
unsigned
smtpd_rate_peek(const char *addr, enum smtpd_rate_kind kind, uint64_t now_ms)
{
	struct counts *c = tab ? ratetab_find(tab, addr, now_ms) : NULL;

	return c ? c->n[kind] : 0;
}

unsigned
smtpd_rate_count(const char *addr, enum smtpd_rate_kind kind, uint64_t now_ms)
{
	struct counts *c;

	if (tab == NULL)
		smtpd_rate_init(SMTPD_RATE_TABLE, 60000);
	c = ratetab_get(tab, addr, now_ms);
	if (c->n[kind] < UINT32_MAX)
		c->n[kind]++;
	return c->n[kind];
}
