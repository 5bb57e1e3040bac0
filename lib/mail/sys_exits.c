/*
 * NAME
 *	sys_exits - sendmail-compatible exit status codes and what they mean
 * DESCRIPTION
 *	See sys_exits.h.  The table is indexed by code - EX__BASE and is
 *	checked against its index by the unit test, so an entry added out
 *	of order cannot silently shift the others.
 */
#include <stddef.h>

#include "sys_exits.h"

static const struct sys_exit_info table[] = {
	{EX_USAGE, "5.3.0", "command line usage error"},
	{EX_DATAERR, "5.6.0", "data format error"},
	{EX_NOINPUT, "5.3.0", "cannot open input"},
	{EX_NOUSER, "5.1.1", "user unknown"},
	{EX_NOHOST, "5.1.2", "host name unknown"},
	{EX_UNAVAILABLE, "5.3.0", "service unavailable"},
	{EX_SOFTWARE, "5.3.0", "internal software error"},
	{EX_OSERR, "4.3.0", "system resource problem"},
	{EX_OSFILE, "5.3.0", "critical OS file missing"},
	{EX_CANTCREAT, "5.2.0", "cannot create user output file"},
	{EX_IOERR, "5.3.0", "input/output error"},
	{EX_TEMPFAIL, "4.3.0", "temporary failure"},
	{EX_PROTOCOL, "5.5.0", "remote error in protocol"},
	{EX_NOPERM, "5.7.0", "permission denied"},
	{EX_CONFIG, "5.3.5", "local configuration error"},
};

static const struct sys_exit_info unknown = {
	-1, "5.3.0", "unknown mail system error"
};

_Static_assert(sizeof(table) / sizeof(table[0]) == EX__MAX - EX__BASE + 1,
	       "sys_exits table must cover EX__BASE..EX__MAX");

bool
sys_exits_is_known(int code)
{
	return code >= EX__BASE && code <= EX__MAX;
}

const struct sys_exit_info *
sys_exits_lookup(int code)
{
	if (!sys_exits_is_known(code))
		return &unknown;
	return &table[code - EX__BASE];
}

bool
sys_exits_is_temp(int code)
{
	return sys_exits_lookup(code)->dsn[0] == '4';
}
