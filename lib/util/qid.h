/*
 * NAME
 *	qid - queue IDs: short, unique, ordered by arrival time
 * SYNOPSIS
 *	#include "qid.h"
 *
 *	char id[QID_LEN + 1];
 *	qid_new(id);			// "0PZ1K8Q3F7M2W9X"
 *	if (!qid_valid(name)) ... not a queue file name ...
 *	struct timeval tv;
 *	qid_time(id, &tv);		// when the ID was made
 * DESCRIPTION
 *	A queue ID is QID_LEN (15) characters from Crockford's base-32
 *	alphabet, 0-9 and A-Z without I, L, O and U, most significant
 *	digit first: 7 characters of seconds since the epoch, 4 of
 *	microseconds, 4 of the process id (mod 32^4).  The width is fixed,
 *	so comparing two IDs with strcmp() compares their times; only the
 *	safe characters above ever appear in a file name.
 *
 *	qid_new() writes a new ID and its NUL into out.  It waits until
 *	the microsecond clock has moved past the last time this process
 *	used, so the IDs of one process are unique and strictly
 *	increasing; IDs of processes alive at the same time differ in
 *	their pid part.  When the clock has been stepped back by more
 *	than a second, it does not wait that long: it goes on from the
 *	last time used, one microsecond at a time, until the clock
 *	catches up (one warning is logged).
 *
 *	qid_valid() is true when s is exactly QID_LEN characters, all
 *	from the alphabet (upper case only), with a microsecond part
 *	below 1,000,000 (so every valid ID has a time).
 *
 *	qid_time() decodes the time of a valid ID into tv; it returns 0,
 *	or -1 (errno EINVAL) when id is not valid.
 */
#ifndef POSTERN_QID_H
#define POSTERN_QID_H

#include <stdbool.h>
#include <sys/time.h>

#define QID_LEN		15
#define QID_SEC_LEN	7
#define QID_USEC_LEN	4
#define QID_PID_LEN	4

void	qid_new(char out[QID_LEN + 1]);
bool	qid_valid(const char *s);
int	qid_time(const char *id, struct timeval *tv);

#endif
