/*
 * NAME
 *	num - checked number parsing
 * DESCRIPTION
 *	See num.h.  Hand-written rather than strtol(): strtol accepts
 *	leading white space, a '+' sign and a "0x" prefix, and its errors
 *	are easy to miss; configuration and protocol numbers are plain
 *	decimal.
 */
#include <stddef.h>

#include "num.h"
#include "str.h"

#define WHY(w)	do { if (why) *why = (w); } while (0)

/* digits - parse leading decimal digits of s into *v; return end */
static const char *
digits(const char *s, uint64_t *v, int *overflow)
{
	uint64_t acc = 0;

	*overflow = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned) (*s - '0');

		if (acc > (UINT64_MAX - d) / 10)
			*overflow = 1;
		else
			acc = acc * 10 + d;
	}
	*v = acc;
	return s;
}

int
num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
	      const char **why)
{
	uint64_t v;
	int     ovf;
	const char *e;

	if (s == NULL || *s < '0' || *s > '9') {
		WHY("not a number");
		return -1;
	}
	e = digits(s, &v, &ovf);
	if (*e != '\0') {
		WHY("not a number");
		return -1;
	}
	if (ovf || v < min || v > max) {
		WHY("out of range");
		return -1;
	}
	*out = v;
	return 0;
}

int
num_parse_int(const char *s, long long min, long long max, long long *out,
	      const char **why)
{
	int     neg = 0;
	uint64_t v;
	long long r;

	if (s && *s == '-') {
		neg = 1;
		s++;
	}
	if (num_parse_u64(s, 0, UINT64_MAX, &v, why) < 0)
		return -1;
	if (neg) {
		if (v > (uint64_t) INT64_MAX + 1) {
			WHY("out of range");
			return -1;
		}
		r = v == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(long long) v;
	} else {
		if (v > INT64_MAX) {
			WHY("out of range");
			return -1;
		}
		r = (long long) v;
	}
	if (r < min || r > max) {
		WHY("out of range");
		return -1;
	}
	*out = r;
	return 0;
}

/* scaled - parse number + one-letter unit, multiply by unit's factor */
static int
scaled(const char *s, uint64_t (*factor)(int), int def_unit, uint64_t min,
       uint64_t max, uint64_t *out, const char **why)
{
	uint64_t v, f;
	int     ovf;
	const char *e;
	int     unit;

	if (s == NULL || *s < '0' || *s > '9') {
		WHY("not a number");
		return -1;
	}
	e = digits(s, &v, &ovf);
	if (*e == '\0')
		unit = def_unit;
	else if (e[1] == '\0')
		unit = (unsigned char) *e;
	else {
		WHY("bad unit");
		return -1;
	}
	if ((f = factor(unit)) == 0) {
		WHY("bad unit");
		return -1;
	}
	if (ovf || (v != 0 && f > UINT64_MAX / v)) {
		WHY("out of range");
		return -1;
	}
	v *= f;
	if (v < min || v > max) {
		WHY("out of range");
		return -1;
	}
	*out = v;
	return 0;
}

static uint64_t
size_factor(int u)
{
	switch (u) {
	case 0:
	case 'b': case 'B':
		return 1;
	case 'k': case 'K':
		return 1024;
	case 'm': case 'M':
		return 1024 * 1024;
	case 'g': case 'G':
		return 1024 * 1024 * 1024;
	default:
		return 0;
	}
}

static uint64_t
time_factor(int u)
{
	switch (u) {
	case 's': case 'S':
		return 1;
	case 'm': case 'M':
		return 60;
	case 'h': case 'H':
		return 3600;
	case 'd': case 'D':
		return 86400;
	case 'w': case 'W':
		return 7 * 86400;
	default:
		return 0;
	}
}

int
num_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
	       const char **why)
{
	return scaled(s, size_factor, 0, min, max, out, why);
}

int
num_parse_time(const char *s, int def_unit, uint64_t min, uint64_t max,
	       uint64_t *out, const char **why)
{
	return scaled(s, time_factor, def_unit, min, max, out, why);
}

int
num_parse_bool(const char *s, bool *out, const char **why)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};

	if (s == NULL) {
		WHY("not a boolean");
		return -1;
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (str_casecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (str_casecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	WHY("not a boolean (use yes or no)");
	return -1;
}
