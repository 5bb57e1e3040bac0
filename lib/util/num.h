/*
 * NAME
 *	num - checked number parsing
 * SYNOPSIS
 *	#include "num.h"
 * DESCRIPTION
 *	Each parser takes the whole string (no leading or trailing junk,
 *	no sign unless stated, no empty string), checks the inclusive
 *	range [min, max] and stores the result only on success.  Each
 *	returns 0 on success and -1 on failure, with a short reason in
 *	*why (a static string: "not a number", "out of range", ...) when
 *	why is not NULL.
 *
 *	num_parse_int()   decimal, optional leading '-'.
 *	num_parse_u64()   decimal, unsigned.
 *	num_parse_size()  a byte count with an optional unit: k K (1024),
 *			  m M (1024^2), g G (1024^3); "10240000", "10M".
 *	num_parse_time()  a time interval in seconds: a number with an
 *			  optional unit s m h d w; "300s", "5d", "1h".
 *			  def_unit ('s', 'm', 'h', 'd', 'w') applies to a
 *			  bare number, as Postfix does.
 *	num_parse_bool()  yes/no, true/false, on/off, 1/0 (any case).
 */
#ifndef POSTERN_NUM_H
#define POSTERN_NUM_H

#include <stdbool.h>
#include <stdint.h>

int	num_parse_int(const char *s, long long min, long long max,
		      long long *out, const char **why);
int	num_parse_u64(const char *s, uint64_t min, uint64_t max,
		      uint64_t *out, const char **why);
int	num_parse_size(const char *s, uint64_t min, uint64_t max,
		       uint64_t *out, const char **why);
int	num_parse_time(const char *s, int def_unit, uint64_t min, uint64_t max,
		       uint64_t *out, const char **why);
int	num_parse_bool(const char *s, bool *out, const char **why);

#endif
