/*
 * NAME
 *	dsn - enhanced mail system status codes (RFC 3463)
 * DESCRIPTION
 *	See dsn.h.  RFC 3463 allows 1*3digit for subject and detail;
 *	leading zeros are refused as well, so that each code has one
 *	spelling and string comparison of two valid codes is exact.
 */
#include <string.h>

#include "dsn.h"

/* number - length of a 0..999 number without leading zero at p, or 0 */
static size_t
number(const char *p, size_t n)
{
	size_t  i = 0;

	while (i < n && i < 4 && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == 0 || i > 3)
		return 0;
	if (i > 1 && p[0] == '0')
		return 0;
	return i;
}

/* prefix - length of the code at the start of p[0..n), or 0 */
static size_t
prefix(const char *p, size_t n)
{
	size_t  i, k;

	if (n < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	i = 2;
	if ((k = number(p + i, n - i)) == 0)
		return 0;
	i += k;
	if (i >= n || p[i] != '.')
		return 0;
	i++;
	if ((k = number(p + i, n - i)) == 0)
		return 0;
	return i + k;
}

bool
dsn_valid(const char *s)
{
	size_t  n = strnlen(s, DSN_MAX + 1);

	return n > 0 && n <= DSN_MAX && prefix(s, n) == n;
}

char
dsn_class(const char *s)
{
	return dsn_valid(s) ? s[0] : '\0';
}

size_t
dsn_scan(const char *p, size_t n)
{
	size_t  k = prefix(p, n);

	if (k == 0 || (k < n && p[k] != ' '))
		return 0;
	return k;
}
