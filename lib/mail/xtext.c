/*
 * NAME
 *	xtext - RFC 3461 xtext encoding (ORCPT, ENVID, AUTH=)
 * DESCRIPTION
 *	See xtext.h.
 */
#include <stdbool.h>

#include "xtext.h"

static inline bool
is_xchar(unsigned char c)
{
	return c >= '!' && c <= '~' && c != '+' && c != '=';
}

/* hexval - value of an upper-case hex digit, or -1 */
static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
xtext_decode(const char *in, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *) in;
	size_t  len = 0;
	int     hi, lo;
	unsigned char c;

	if (outsz == 0)
		return -1;
	for (; *p != '\0'; p++) {
		if (*p == '+') {
			if ((hi = hexval(p[1])) < 0 || (lo = hexval(p[2])) < 0)
				goto bad;
			c = (unsigned char) (hi * 16 + lo);
			if (c < 0x20 || c > 0x7e)
				goto bad;
			p += 2;
		} else if (is_xchar(*p)) {
			c = *p;
		} else {
			goto bad;
		}
		if (len + 1 >= outsz)
			goto bad;
		out[len++] = (char) c;
	}
	out[len] = '\0';
	return 0;

bad:
	out[0] = '\0';
	return -1;
}

int
xtext_encode(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *) in;
	size_t  len = 0;

	if (outsz == 0)
		return -1;
	for (; *p != '\0'; p++) {
		if (is_xchar(*p)) {
			if (len + 1 >= outsz)
				goto full;
			out[len++] = (char) *p;
		} else {
			if (len + 3 >= outsz)
				goto full;
			out[len++] = '+';
			out[len++] = hex[*p >> 4];
			out[len++] = hex[*p & 15];
		}
	}
	out[len] = '\0';
	return 0;

full:
	out[0] = '\0';
	return -1;
}
