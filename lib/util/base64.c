/*
 * NAME
 *	base64 - RFC 4648 base64, strict on input
 * DESCRIPTION
 *	See base64.h.
 */
#include <stdint.h>

#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
base64_encode(const void *in, size_t n, struct buf *out)
{
	const unsigned char *p = in;
	size_t	need;
	char   *o;

	if (n > (SIZE_MAX - 3) / 4 * 3)
		return -1;
	need = (n + 2) / 3 * 4;
	if (need > buf_room(out))
		return -1;
	o = buf_reserve(out, need);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t) p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t) p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = alphabet[(v >> 18) & 63];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? alphabet[v & 63] : '=';
	}
	buf_commit(out, need);
	return 0;
}

static int
value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(const char *in, size_t n, void *out, size_t max, size_t *len)
{
	unsigned char *o = out;
	size_t	k = 0;

	*len = 0;
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int	a = value(in[i]), b = value(in[i + 1]);
		int	c = value(in[i + 2]), d = value(in[i + 3]);
		size_t	bytes = 3;
		uint32_t v;

		if (a < 0 || b < 0)
			return -1;
		if (c < 0 || d < 0) {
			/* Padding: only in the last quantum, "x=" or "==". */
			if (i + 4 != n || in[i + 3] != '='
			    || (c < 0 && in[i + 2] != '='))
				return -1;
			bytes = c < 0 ? 1 : 2;
			c = c < 0 ? 0 : c;
			d = 0;
		}
		v = (uint32_t) a << 18 | (uint32_t) b << 12 | (uint32_t) c << 6 | (uint32_t) d;
		/* Canonical: the bits the padding drops are zero. */
		if ((bytes == 1 && (v & 0xffff) != 0) || (bytes == 2 && (v & 0xff) != 0))
			return -1;
		if (k + bytes > max)
			return -1;
		o[k++] = (unsigned char) (v >> 16);
		if (bytes > 1)
			o[k++] = (unsigned char) (v >> 8);
		if (bytes > 2)
			o[k++] = (unsigned char) v;
	}
	*len = k;
	return 0;
}
