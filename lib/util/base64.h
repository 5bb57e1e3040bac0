/*
 * NAME
 *	base64 - RFC 4648 base64, strict on input
 * SYNOPSIS
 *	#include "base64.h"
 *
 *	if (base64_encode(data, n, &b) < 0) ... no room in b ...
 *	unsigned char raw[1024]; size_t len;
 *	if (base64_decode(text, strlen(text), raw, sizeof(raw), &len) < 0)
 *		... not base64, or longer than raw ...
 * DESCRIPTION
 *	base64_encode() appends the encoding of in[0..n) (with padding, no
 *	line breaks) to out; -1 and out unchanged when it does not fit.
 *
 *	base64_decode() decodes in[0..n) into out (at most max bytes) and
 *	sets *len; it returns -1 for anything that is not exactly a
 *	canonical encoding: a character outside the alphabet (white space
 *	included), a length that is not a multiple of 4, padding anywhere
 *	but at the end, or padding bits that are not zero.  SMTP AUTH
 *	(RFC 4954) wants a reply 501 for such input, never a guess.  An
 *	empty input decodes to nothing.
 */
#ifndef POSTERN_BASE64_H
#define POSTERN_BASE64_H

#include <stddef.h>

#include "buf.h"

int	base64_encode(const void *in, size_t n, struct buf *out);
int	base64_decode(const char *in, size_t n, void *out, size_t max, size_t *len);

#endif
