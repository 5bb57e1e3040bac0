/*
 * NAME
 *	str - bounded string helpers
 * DESCRIPTION
 *	See str.h.  Everything here is ASCII-only on purpose: mail
 *	protocols are defined on octets, and the C locale functions
 *	(tolower, strcasecmp) change with the environment.
 */
#include <stdarg.h>
#include <stdio.h>

#include "str.h"

int
str_copy(char *dst, size_t size, const char *src)
{
	size_t  n = strlen(src);

	if (size == 0)
		return -1;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
str_append(char *dst, size_t size, const char *src)
{
	size_t  len = strnlen(dst, size);

	if (len == size)
		return -1;
	return str_copy(dst + len, size - len, src);
}

int
str_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (size == 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t) n >= size) ? -1 : 0;
}

static inline int
lc(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int
str_casecmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *) a;
	const unsigned char *q = (const unsigned char *) b;

	while (*p && lc(*p) == lc(*q))
		p++, q++;
	return lc(*p) - lc(*q);
}

int
str_ncasecmp(const char *a, const char *b, size_t n)
{
	const unsigned char *p = (const unsigned char *) a;
	const unsigned char *q = (const unsigned char *) b;

	for (; n > 0; n--, p++, q++) {
		if (lc(*p) != lc(*q))
			return lc(*p) - lc(*q);
		if (*p == '\0')
			break;
	}
	return 0;
}

void
str_lower(char *s)
{
	for (; *s; s++)
		*s = (char) lc((unsigned char) *s);
}

bool
str_has_prefix_nocase(const char *s, const char *prefix)
{
	return str_ncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_has_ctl(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *) p;

	for (size_t i = 0; i < n; i++)
		if (u[i] < 0x20 || u[i] == 0x7f)
			return true;
	return false;
}

bool
str_all_in(const char *p, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\0' || strchr(set, p[i]) == NULL)
			return false;
	return true;
}

/* printable - c, or a space for a control character */
static inline char
printable(char c)
{
	return ((unsigned char) c < 0x20 || c == 0x7f) ? ' ' : c;
}

void
str_line(char *dst, size_t size, const char *src)
{
	size_t  o = 0;

	if (size == 0)
		return;
	for (; src != NULL && src[o] && o + 1 < size; o++)
		dst[o] = printable(src[o]);
	dst[o] = '\0';
}

void
str_vline(char *dst, size_t size, const char *fmt, va_list ap)
{
	if (size == 0)
		return;
	(void) vsnprintf(dst, size, fmt, ap);
	for (char *p = dst; *p; p++)
		*p = printable(*p);
}

static inline bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

char *
str_trim(char *s)
{
	char   *e;

	while (is_space((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

char *
str_split(char **p, const char *delims)
{
	char   *s = *p;
	char   *tok;

	if (s == NULL)
		return NULL;
	s += strspn(s, delims);
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	tok = s;
	s += strcspn(s, delims);
	if (*s)
		*s++ = '\0';
	*p = s;
	return tok;
}

uint64_t
str_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}
