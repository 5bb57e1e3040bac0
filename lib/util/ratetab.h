/*
 * NAME
 *	ratetab - a bounded table of per-key counters that start again
 *	every time unit
 * SYNOPSIS
 *	#include "ratetab.h"
 *
 *	struct counts { uint32_t conn, msg; };
 *	struct ratetab *t = ratetab_new(16384, sizeof(struct counts), 60000);
 *	ratetab_on_drop(t, summarise, ctx);	// optional
 *
 *	struct counts *c = ratetab_get(t, "192.0.2.1", now_ms);
 *	if (++c->conn > limit) ... refuse ...
 *	c = ratetab_find(t, "192.0.2.1", now_ms);	// NULL: none this unit
 *	ratetab_expire(t, now_ms);		// drop the units that ended
 *	ratetab_free(t);
 * DESCRIPTION
 *	Each key (a string of at most RATETAB_KEY_MAX bytes: a client
 *	address, a network, "kind|address") has a value of value_size
 *	bytes that the caller reads and writes, and a unit: the time
 *	unit_ms from the key's first use after its previous unit ended
 *	(Postfix's anvil counts the same way).  ratetab_get() returns the
 *	key's value, zeroed when the key is new or its unit has ended (a
 *	clock that went back ends it too); the pointer is valid until the
 *	next call on the table.  ratetab_find() does the same without
 *	creating or restarting anything.
 *
 *	The table holds at most max_keys keys and is allocated at the
 *	first ratetab_get(), so a table nobody uses costs nothing.  When
 *	it is full, the key whose unit started earliest (so one whose unit
 *	has ended, when there is one) makes room: a flood of new keys can
 *	make an old key's count start again, never make the table grow.
 *	Every operation costs O(1): keys are found through a chained
 *	hash index (FNV-1a) and kept in a list ordered by the start of
 *	their unit, whose head is the one to go.
 *
 *	ratetab_on_drop() names a function called with a key's value
 *	whenever that value is about to be discarded: its unit ended (in
 *	ratetab_get() or ratetab_expire()), it makes room, or the table is
 *	freed.  It may read the value (to log a summary of the unit, for
 *	example) but not call the table.  ratetab_expire() drops every key
 *	whose unit has ended, oldest first, and stops at the first that
 *	has not (the list is in order): the work is what has ended.
 */
#ifndef POSTERN_RATETAB_H
#define POSTERN_RATETAB_H

#include <stddef.h>
#include <stdint.h>

#define RATETAB_KEY_MAX	64

struct ratetab;

typedef void ratetab_drop_fn(void *ctx, const char *key, void *value,
			     uint64_t start_ms);

struct ratetab *ratetab_new(size_t max_keys, size_t value_size, uint64_t unit_ms);
void	ratetab_on_drop(struct ratetab *t, ratetab_drop_fn *fn, void *ctx);
void   *ratetab_get(struct ratetab *t, const char *key, uint64_t now_ms);
void   *ratetab_find(struct ratetab *t, const char *key, uint64_t now_ms);
void	ratetab_expire(struct ratetab *t, uint64_t now_ms);
size_t	ratetab_size(const struct ratetab *t);
void	ratetab_free(struct ratetab *t);

#endif
