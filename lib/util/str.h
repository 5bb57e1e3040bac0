/*
 * NAME
 *	str - bounded string helpers
 * SYNOPSIS
 *	#include "str.h"
 * DESCRIPTION
 *	str_copy(dst, size, src) copies like strlcpy(); it returns 0, or
 *	-1 when src did not fit (dst then holds a truncated, terminated
 *	copy).  str_append() is the same for concatenation.
 *	str_fmt(dst, size, fmt, ...) is snprintf() that returns 0 or -1 on
 *	truncation.
 *
 *	str_casecmp()/str_ncasecmp() compare ASCII case-insensitively
 *	(locale never matters to mail).  str_lower() lowercases ASCII
 *	letters in place.  str_has_prefix_nocase() tests an ASCII prefix.
 *	str_has_ctl(p, n) is true when p[0..n) holds a byte < 0x20 or 0x7f.
 *	str_all_in(p, n, set) is true when every byte of p[0..n) is one of
 *	set's (a NUL in p never is); STR_LOWER, STR_UPPER, STR_DIGITS and
 *	STR_PUNCT (the other printable ASCII but space) spell the usual
 *	sets, to be joined by string concatenation (the names of
 *	transports, hosts, table types and attributes).
 *	str_line(dst, size, src) copies src (NULL: empty) as one printable
 *	line: every byte < 0x20 and 0x7f becomes a space, the copy is cut
 *	to size - 1 bytes; str_vline(dst, size, fmt, ap) formats, then the
 *	same (the text of a delivery result, a reason in a queue file).
 *	str_trim() removes leading and trailing ASCII white space in place
 *	and returns the first non-space character.
 *	str_split(&p, delims) returns the next token of *p separated by any
 *	of delims (empty tokens skipped) and advances *p; NULL at the end.
 *	str_eq(a, b) is strcmp(a, b) == 0.  str_hash() is the 64-bit
 *	FNV-1a hash of a string (hash tables of addresses and keys).
 */
#ifndef POSTERN_STR_H
#define POSTERN_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int	str_copy(char *dst, size_t size, const char *src);
int	str_append(char *dst, size_t size, const char *src);
int	str_fmt(char *dst, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	str_casecmp(const char *a, const char *b);
int	str_ncasecmp(const char *a, const char *b, size_t n);
void	str_lower(char *s);
bool	str_has_prefix_nocase(const char *s, const char *prefix);
bool	str_has_ctl(const char *p, size_t n);
bool	str_all_in(const char *p, size_t n, const char *set);
void	str_line(char *dst, size_t size, const char *src);
void	str_vline(char *dst, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
char   *str_trim(char *s);
char   *str_split(char **p, const char *delims);
uint64_t str_hash(const char *s);

#define str_eq(a, b)	(strcmp((a), (b)) == 0)

#define STR_LOWER	"abcdefghijklmnopqrstuvwxyz"
#define STR_UPPER	"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define STR_DIGITS	"0123456789"
#define STR_PUNCT	"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

#endif
