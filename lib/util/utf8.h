/*
 * NAME
 *	utf8 - strict UTF-8 validation for mail data
 * SYNOPSIS
 *	#include "utf8.h"
 *
 *	uint32_t cp;
 *	size_t	len = utf8_decode(p, n, &cp);	// 0: malformed here
 *	if (!utf8_valid(p, n))
 *		... refuse ...
 * DESCRIPTION
 *	utf8_decode() looks at the sequence that starts at p[0] (at most n
 *	bytes are read) and returns its length, 1 to 4, storing the code
 *	point in *cp (cp may be NULL); an ASCII byte is a sequence of one.
 *	It returns 0 when the bytes at p are not a well-formed sequence
 *	in the sense of RFC 3629 section 4: a stray continuation byte, a
 *	lead byte 0xC0, 0xC1 or 0xF5..0xFF, an overlong form, a UTF-16
 *	surrogate (U+D800..U+DFFF), a value above U+10FFFF, or a sequence
 *	cut short by the end of the input (n == 0 included).
 *
 *	utf8_valid() is true when all of p[0..n) is well-formed.  NUL and
 *	other control characters are well-formed UTF-8: callers that must
 *	refuse them check for them separately.
 * SECURITY
 *	Lenient decoders turn overlong forms into '/', '.', '"' or NUL
 *	after a syntax check passed; refusing every non-shortest form
 *	keeps one byte string from meaning two things.
 */
#ifndef POSTERN_UTF8_H
#define POSTERN_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

size_t	utf8_decode(const char *p, size_t n, uint32_t *cp);
bool	utf8_valid(const char *p, size_t n);

#endif
