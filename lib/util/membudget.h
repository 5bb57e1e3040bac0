/*
 * NAME
 *	membudget - one process-wide budget for the buffers strangers make
 *	a process hold
 * SYNOPSIS
 *	#include "membudget.h"
 *
 *	membudget_init(64 * 1024 * 1024);	// 0: no budget (take never fails)
 *
 *	if (membudget_take(65536))		// room for a large buffer?
 *		p = xmalloc(65536);		// yes: it is charged
 *	else
 *		... make do with less, or put it in a file ...
 *	membudget_give(65536);			// freed: given back
 *	membudget_charge(4096);		// a floor that is always granted
 *	membudget_uncharge(4096);		// the floor is freed
 *
 *	if (membudget_pressure()) ...		// used above the pressure mark
 *	membudget_trim();			// after a burst: back to the system
 * DESCRIPTION
 *	A daemon that holds buffers on behalf of many clients (smtpd's
 *	read areas and DATA buffers) charges every byte of them here, so
 *	that the process as a whole stays within one bound whatever its
 *	clients do.  There are two kinds of charge:
 *
 *	membudget_take(n) asks for n bytes the caller can do without (a
 *	large read area, an in-memory spool): granted, and charged, only
 *	while used + n stays within the limit.
 *
 *	membudget_charge(n) records n bytes the caller cannot do without
 *	(a session's fixed state, its smallest read area): always
 *	granted.  The owner bounds these itself (smtpd: smtpd_client_limit
 *	sessions, each with a fixed floor), and they count against the
 *	limit, so a process full of floors takes nothing large.
 *
 *	membudget_give(n) returns what membudget_take() granted,
 *	membudget_uncharge(n) what membudget_charge() recorded.
 *	membudget_used() (both kinds), membudget_floors() (the second
 *	kind alone: when it nears the limit, the owner holds too many
 *	clients, not too many large buffers), membudget_limit() and
 *	membudget_peak() (the most used since the last membudget_trim())
 *	report; membudget_pressure() says whether
 *	used is at or above the pressure mark (membudget_set_pressure(),
 *	percent of the limit, default 80), where owners shrink what they
 *	can and shorten what they wait for.
 *
 *	membudget_trim() hands freed heap memory back to the kernel
 *	(malloc_trim(): whole free pages anywhere in the heap, not just
 *	at its top) when the process uses at least MEMBUDGET_TRIM_DROP
 *	bytes less than at the peak since the last trim, and then starts
 *	a new peak.  Called from a timer, it makes a burst's memory go
 *	back after the burst, and costs nothing while the load is steady.
 *	It returns true when it trimmed.
 * BUGS
 *	The budget counts what owners charge, not what malloc() spends
 *	around it (headers, fragmentation); owners charge what they
 *	allocate, rounded up as they see fit.  One budget per process: the
 *	state is global, as the memory is.
 */
#ifndef POSTERN_MEMBUDGET_H
#define POSTERN_MEMBUDGET_H

#include <stdbool.h>
#include <stddef.h>

#define MEMBUDGET_TRIM_DROP	(1024 * 1024)

void	membudget_init(size_t limit);
bool	membudget_take(size_t n);
void	membudget_charge(size_t n);
void	membudget_give(size_t n);
void	membudget_uncharge(size_t n);
size_t	membudget_used(void);
size_t	membudget_floors(void);
size_t	membudget_limit(void);
size_t	membudget_peak(void);
void	membudget_set_pressure(unsigned percent);
bool	membudget_pressure(void);
bool	membudget_trim(void);

#endif
