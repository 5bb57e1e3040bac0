/*
 * NAME
 *	dsn - enhanced mail system status codes (RFC 3463)
 * SYNOPSIS
 *	#include "dsn.h"
 *
 *	if (dsn_valid("5.1.1")) ...
 *	char c = dsn_class("4.7.1");		// '4'
 *	size_t k = dsn_scan(text, n);		// "5.1.1 User unknown" -> 5
 * DESCRIPTION
 *	An enhanced status code is "class.subject.detail": class one of
 *	2 (success), 4 (persistent transient failure) or 5 (permanent
 *	failure); subject and detail each 0 to 999 written without
 *	leading zeros ("0", "7", "10", "999"; not "00" or "01").  The
 *	longest code is DSN_MAX octets.
 *
 *	dsn_valid() is true when the whole of s is such a code.
 *	dsn_class() returns the class character ('2', '4' or '5'), or
 *	'\0' when s is not valid.
 *	dsn_scan() looks for a code at the start of p[0..n) that is
 *	followed by the end of the input or a space (the way a code
 *	opens the text of an SMTP reply) and returns its length, or 0.
 */
#ifndef POSTERN_DSN_H
#define POSTERN_DSN_H

#include <stdbool.h>
#include <stddef.h>

#define DSN_MAX		9	/* "5.999.999" */

bool	dsn_valid(const char *s);
char	dsn_class(const char *s);
size_t	dsn_scan(const char *p, size_t n);

#endif
