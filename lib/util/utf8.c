/*
 * NAME
 *	utf8 - strict UTF-8 validation for mail data
 * DESCRIPTION
 *	See utf8.h.  The table of well-formed sequences is RFC 3629
 *	section 4 (UTF8-2, UTF8-3, UTF8-4): the second byte's range
 *	depends on the lead byte, which is how overlongs (E0 80..9F,
 *	F0 80..8F), surrogates (ED A0..BF) and values past U+10FFFF
 *	(F4 90..BF) are excluded without decoding first.
 */
#include "utf8.h"

static inline bool
is_cont(unsigned char c)
{
	return c >= 0x80 && c <= 0xbf;
}

size_t
utf8_decode(const char *p, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *) p;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t  len;
	uint32_t v;

	if (n == 0)
		return 0;
	if (u[0] < 0x80) {
		v = u[0];
		len = 1;
		goto done;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		len = 2;
		v = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		len = 3;
		v = u[0] & 0x0f;
		if (u[0] == 0xe0)
			lo = 0xa0;	/* below: overlong */
		else if (u[0] == 0xed)
			hi = 0x9f;	/* above: surrogates */
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		len = 4;
		v = u[0] & 0x07;
		if (u[0] == 0xf0)
			lo = 0x90;	/* below: overlong */
		else if (u[0] == 0xf4)
			hi = 0x8f;	/* above: past U+10FFFF */
	} else {
		return 0;	/* continuation, C0, C1, F5..FF */
	}
	if (n < len)
		return 0;
	if (u[1] < lo || u[1] > hi)
		return 0;
	v = (v << 6) | (u[1] & 0x3f);
	for (size_t i = 2; i < len; i++) {
		if (!is_cont(u[i]))
			return 0;
		v = (v << 6) | (u[i] & 0x3f);
	}
done:
	if (cp != NULL)
		*cp = v;
	return len;
}

bool
utf8_valid(const char *p, size_t n)
{
	size_t  i = 0, k;

	while (i < n) {
		if ((unsigned char) p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_decode(p + i, n - i, NULL)) == 0)
			return false;
		i += k;
	}
	return true;
}
