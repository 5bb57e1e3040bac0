/*
 * NAME
 *	qmgr_defer - retry arithmetic: backoff, queue lifetime, delays
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	next = now + qmgr_backoff(arrival, now, min, max);
 *	if (qmgr_expired(arrival, now, cfg->maximal_queue_lifetime)) ...
 * DESCRIPTION
 *	qmgr_backoff() is the time until a deferred message is tried
 *	again, as Postfix computes it: the message's age (now - arrival),
 *	but at least min_backoff (minimal_backoff_time) and at most
 *	max_backoff (maximal_backoff_time).  Since each attempt comes
 *	after the previous wait, the wait roughly doubles from attempt to
 *	attempt (300 s, 300 s, 600 s, 1200 s, 2400 s, then 4000 s with
 *	the defaults) with no attempt counter to keep: the file's mtime
 *	holds the next attempt time and the queue file its arrival time.
 *	A clock that went backwards (arrival in the future) counts as age
 *	0.  A min above max is taken as max (main.cf mistakes must not
 *	make a message wait forever).
 *
 *	qmgr_expired() is true once a message has been queued for
 *	lifetime seconds or more.  A lifetime of 0 means "one attempt
 *	only": expired at once, as Postfix does.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qmgr.h"
#include "str.h"

uint64_t
qmgr_backoff(time_t arrival, time_t now, uint64_t min_backoff,
	     uint64_t max_backoff)
{
	uint64_t age = now > arrival ? (uint64_t) (now - arrival) : 0;

	if (min_backoff > max_backoff)
		min_backoff = max_backoff;
	if (age < min_backoff)
		return min_backoff;
	if (age > max_backoff)
		return max_backoff;
	return age;
}

bool
qmgr_expired(time_t arrival, time_t now, uint64_t lifetime)
{
	uint64_t age = now > arrival ? (uint64_t) (now - arrival) : 0;

	return age >= lifetime;
}
