/*
 * NAME
 *	esmtp_param - MAIL FROM / RCPT TO parameters (RFC 5321 4.1.2)
 * SYNOPSIS
 *	#include "esmtp_param.h"
 *
 *	struct esmtp_param prm[ESMTP_PARAMS_MAX];
 *	size_t	count;
 *	struct addr_error e;
 *
 *	// after addr_parse_path(arg, n, ..., &used, &e):
 *	if (esmtp_params_parse(arg + used, n - used, prm, ESMTP_PARAMS_MAX,
 *	    &count, &e) < 0)
 *		reply(e.code, e.dsn, "%s", e.text);	// 501 5.5.4 ...
 *	const struct esmtp_param *size = esmtp_param_find(prm, count, "SIZE");
 * DESCRIPTION
 *	esmtp_params_parse() splits s[0..n) into parameters separated by
 *	one or more spaces (leading and trailing spaces are allowed):
 *	  esmtp-param   = esmtp-keyword ["=" esmtp-value]
 *	  esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
 *	  esmtp-value   = 1*(%d33-60 / %d62-126)
 *	that is, a value holds no '=', space, control character or octet
 *	above 126, and "KEY=" (an empty value) is an error.  A keyword is
 *	at most ESMTP_KEY_MAX octets, a value ESMTP_VALUE_MAX (RFC 3461
 *	limits ORCPT to 500 characters; nothing standard needs more).
 *	At most max parameters are taken; the same keyword twice (in any
 *	case) is an error, as RFC 5321 leaves its meaning undefined.
 *	Keywords are stored as written: compare with esmtp_param_find()
 *	or str_casecmp().  No keyword is interpreted here.
 *
 *	Returns 0 with *count set, or -1 with *count = 0 and *e (when e
 *	is not NULL) filled:
 *	501 5.5.4 ("Invalid command arguments", RFC 3463) and a short text
 *	such as "malformed parameter: empty value for ORCPT" or "too many
 *	parameters (limit 10)"; e->pos is the offset in s.
 *
 *	esmtp_param_find() returns the parameter whose keyword equals key
 *	(ASCII case-insensitive), or NULL.
 * SECURITY
 *	Values are copied into fixed arrays after their length is checked;
 *	the parser does one pass over s and never reads past s + n.
 */
#ifndef POSTERN_ESMTP_PARAM_H
#define POSTERN_ESMTP_PARAM_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define ESMTP_PARAMS_MAX	10
#define ESMTP_KEY_MAX		32
#define ESMTP_VALUE_MAX		512

struct esmtp_param {
	char	key[ESMTP_KEY_MAX + 1];
	char	value[ESMTP_VALUE_MAX + 1];	/* "" when has_value is false */
	bool	has_value;
};

int	esmtp_params_parse(const char *s, size_t n, struct esmtp_param *out,
			   size_t max, size_t *count, struct addr_error *e);
const struct esmtp_param *esmtp_param_find(const struct esmtp_param *prm,
					   size_t count, const char *key);

#endif
