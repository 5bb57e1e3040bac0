/*
 * NAME
 *	esmtp_param - MAIL FROM / RCPT TO parameters (RFC 5321 4.1.2)
 * DESCRIPTION
 *	See esmtp_param.h.  Exim's extract_option() (CVE-2020-28022, in
 *	Qualys' 21Nails report, 2021) read and wrote out of bounds because
 *	it walked backwards from the end of the command line, skipping
 *	quotes.  This parser walks forwards from s only, knows no quotes,
 *	and checks every length before the copy it guards.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "esmtp_param.h"
#include "str.h"

static int
fail(struct addr_error *e, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct addr_error *e, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = 501;
	str_copy(e->dsn, sizeof(e->dsn), "5.5.4");
	va_start(ap, fmt);
	(void) vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	e->pos = pos;
	return -1;
}

static inline bool
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static inline bool
is_value_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '=';
}

int
esmtp_params_parse(const char *s, size_t n, struct esmtp_param *out,
		   size_t max, size_t *count, struct addr_error *e)
{
	size_t  i = 0, got = 0;

	*count = 0;
	if (e != NULL) {
		e->code = 0;
		e->dsn[0] = e->text[0] = '\0';
		e->pos = 0;
	}
	for (;;) {
		struct esmtp_param *prm;
		size_t  k0, klen, v0, vlen;

		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			break;

		/* The keyword. */
		k0 = i;
		if (!is_alnum((unsigned char) s[i]))
			return fail(e, i, "malformed parameter: a keyword starts with a letter or digit");
		while (i < n && (is_alnum((unsigned char) s[i]) || s[i] == '-'))
			i++;
		klen = i - k0;
		if (klen > ESMTP_KEY_MAX)
			return fail(e, k0, "malformed parameter: keyword longer than %d octets",
				    ESMTP_KEY_MAX);
		if (i < n && s[i] != ' ' && s[i] != '=')
			return fail(e, i, "malformed parameter: invalid character in keyword");
		if (got >= max)
			return fail(e, k0, "too many parameters (limit %zu)", max);
		prm = &out[got];
		memcpy(prm->key, s + k0, klen);
		prm->key[klen] = '\0';
		for (size_t j = 0; j < got; j++)
			if (str_casecmp(out[j].key, prm->key) == 0)
				return fail(e, k0, "malformed parameter: %s given twice",
					    prm->key);

		/* The value, if any. */
		prm->value[0] = '\0';
		prm->has_value = false;
		if (i < n && s[i] == '=') {
			v0 = ++i;
			while (i < n && is_value_char((unsigned char) s[i]))
				i++;
			vlen = i - v0;
			if (i < n && s[i] != ' ')
				return fail(e, i, s[i] == '=' ?
					    "malformed parameter: '=' in the value of %s" :
					    "malformed parameter: invalid character in the value of %s",
					    prm->key);
			if (vlen == 0)
				return fail(e, v0, "malformed parameter: empty value for %s",
					    prm->key);
			if (vlen > ESMTP_VALUE_MAX)
				return fail(e, v0, "malformed parameter: value of %s longer than %d octets",
					    prm->key, ESMTP_VALUE_MAX);
			memcpy(prm->value, s + v0, vlen);
			prm->value[vlen] = '\0';
			prm->has_value = true;
		}
		got++;
	}
	*count = got;
	return 0;
}

const struct esmtp_param *
esmtp_param_find(const struct esmtp_param *prm, size_t count, const char *key)
{
	for (size_t i = 0; i < count; i++)
		if (str_casecmp(prm[i].key, key) == 0)
			return &prm[i];
	return NULL;
}
