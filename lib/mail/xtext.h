/*
 * NAME
 *	xtext - RFC 3461 xtext encoding (ORCPT, ENVID, AUTH=)
 * SYNOPSIS
 *	#include "xtext.h"
 *
 *	char	orcpt[ESMTP_VALUE_MAX + 1];
 *	if (xtext_decode("rfc822;a+2Bb@example.com", out, sizeof(out)) < 0)
 *		... 501 5.5.4 malformed xtext ...
 *	xtext_encode("a+b=c@example.com", out, sizeof(out));	// a+2Bb+3Dc@...
 * DESCRIPTION
 *	xtext = *( xchar / hexchar ), xchar = "!" .. "~" except "+" and
 *	"=", hexchar = "+" followed by two upper-case hexadecimal digits.
 *
 *	xtext_decode() decodes the NUL-terminated in into out (at most
 *	outsz bytes with the NUL).  It returns 0, or -1 with out = "" when
 *	in is not xtext (a bare '+', lower-case or missing hex digits, a
 *	space, '=', a control or 8-bit octet), when a hexchar decodes to
 *	anything but printable US-ASCII or space (RFC 3461 section 4: the
 *	decoded text is US-ASCII; a decoded NUL, CR or LF would smuggle
 *	line breaks into a DSN), or when out is too small.
 *
 *	xtext_encode() encodes every octet of the NUL-terminated in that
 *	is not an xchar as "+HH".  Returns 0, or -1 with out = "" when out
 *	is too small (3 * strlen(in) + 1 is always enough).
 */
#ifndef POSTERN_XTEXT_H
#define POSTERN_XTEXT_H

#include <stddef.h>

int	xtext_decode(const char *in, char *out, size_t outsz);
int	xtext_encode(const char *in, char *out, size_t outsz);

#endif
