/*
 * NAME
 *	membudget - one process-wide budget for the buffers strangers make
 *	a process hold
 * DESCRIPTION
 *	See membudget.h.  Four numbers and malloc_trim().
 */
#include <malloc.h>

#include "log.h"
#include "membudget.h"

static size_t limit;			/* 0: no budget */
static size_t used;			/* floors + taken */
static size_t floors;
static size_t peak;
static unsigned pressure_pct = 80;

void
membudget_init(size_t n)
{
	limit = n;
	used = floors = peak = 0;
}

static void
add(size_t n)
{
	used += n;
	if (used > peak)
		peak = used;
}

bool
membudget_take(size_t n)
{
	if (limit > 0 && (n > limit || used > limit - n))
		return false;
	add(n);
	return true;
}

void
membudget_charge(size_t n)
{
	floors += n;
	add(n);
}

void
membudget_give(size_t n)
{
	if (n > used - floors)
		log_panic("membudget_give: %zu bytes given back, %zu taken", n,
			  used - floors);
	used -= n;
}

void
membudget_uncharge(size_t n)
{
	if (n > floors)
		log_panic("membudget_uncharge: %zu bytes, %zu charged", n, floors);
	floors -= n;
	used -= n;
}

size_t
membudget_floors(void)
{
	return floors;
}

size_t
membudget_used(void)
{
	return used;
}

size_t
membudget_limit(void)
{
	return limit;
}

size_t
membudget_peak(void)
{
	return peak;
}

void
membudget_set_pressure(unsigned percent)
{
	pressure_pct = percent > 100 ? 100 : percent;
}

bool
membudget_pressure(void)
{
	return limit > 0 && used >= limit / 100 * pressure_pct;
}

bool
membudget_trim(void)
{
	if (peak - used < MEMBUDGET_TRIM_DROP)
		return false;
	(void) malloc_trim(0);
	peak = used;
	return true;
}
