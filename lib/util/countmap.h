/*
 * NAME
 *	countmap - counts per string key that go away at zero
 * SYNOPSIS
 *	#include "countmap.h"
 *
 *	struct countmap m;
 *	countmap_init(&m, max_keys);
 *	if (!countmap_add(&m, "192.0.2.7", +1)) ... one key too many ...
 *	n = countmap_get(&m, "192.0.2.7");
 *	(void) countmap_add(&m, "192.0.2.7", -1);	// at 0 the key goes
 *	countmap_walk(&m, fn, ctx);
 *	countmap_free(&m);
 * DESCRIPTION
 *	How many of something each key holds now (sessions per client
 *	address), in O(1): chained hashing (str_hash()), the buckets
 *	doubled as keys come.  countmap_add() adds +1 or -1; a key that
 *	reaches zero is removed, and -1 on a key that is not there
 *	changes nothing.  It returns false, and changes nothing, when a
 *	new key would make more than max_keys (0: no bound).
 *	countmap_room(m, n) says whether n new keys would fit.  Keys are
 *	at most COUNTMAP_KEY_MAX bytes (longer ones are cut there).
 *	countmap_walk() calls fn(ctx, key, count) for every key.
 */
#ifndef POSTERN_COUNTMAP_H
#define POSTERN_COUNTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COUNTMAP_KEY_MAX	64

struct countmap_entry;

struct countmap {
	struct countmap_entry **bucket;
	size_t	nbuckets, used, max_keys;
};

void	countmap_init(struct countmap *m, size_t max_keys);
bool	countmap_add(struct countmap *m, const char *key, int d);
uint64_t countmap_get(const struct countmap *m, const char *key);
bool	countmap_room(const struct countmap *m, size_t n);
void	countmap_walk(const struct countmap *m,
		      void (*fn)(void *ctx, const char *key, uint64_t n), void *ctx);
void	countmap_free(struct countmap *m);

#endif
