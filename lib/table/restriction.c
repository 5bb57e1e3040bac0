/*
 * NAME
 *	restriction - the words of smtpd_*_restrictions lists
 * DESCRIPTION
 *	See restriction.h.  One table of names; smtpd (which evaluates),
 *	the lookup service (which serves the access tables) and postern
 *	check (which refuses a list smtpd would refuse) read it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "restriction.h"
#include "str.h"
#include "table.h"

const struct restriction_word restriction_words[] = {
	{"permit", R_PERMIT, RESTR_ARG_NONE, false},
	{"reject", R_REJECT, RESTR_ARG_NONE, true},
	{"defer", R_DEFER, RESTR_ARG_NONE, true},
	{"defer_if_permit", R_DEFER_IF_PERMIT, RESTR_ARG_NONE, true},
	{"defer_if_reject", R_DEFER_IF_REJECT, RESTR_ARG_NONE, false},
	{"warn_if_reject", R_WARN_IF_REJECT, RESTR_ARG_NONE, false},
	{"permit_mynetworks", R_PERMIT_MYNETWORKS, RESTR_ARG_NONE, false},
	{"permit_sasl_authenticated", R_PERMIT_SASL_AUTHENTICATED, RESTR_ARG_NONE, false},
	{"reject_unauth_destination", R_REJECT_UNAUTH_DESTINATION, RESTR_ARG_NONE, true},
	{"defer_unauth_destination", R_DEFER_UNAUTH_DESTINATION, RESTR_ARG_NONE, true},
	{"permit_auth_destination", R_PERMIT_AUTH_DESTINATION, RESTR_ARG_NONE, false},
	{"reject_unauth_pipelining", R_REJECT_UNAUTH_PIPELINING, RESTR_ARG_NONE, false},
	{"reject_unknown_sender_domain", R_REJECT_UNKNOWN_SENDER_DOMAIN, RESTR_ARG_NONE, false},
	{"reject_unknown_recipient_domain", R_REJECT_UNKNOWN_RECIPIENT_DOMAIN, RESTR_ARG_NONE, false},
	{"reject_non_fqdn_sender", R_REJECT_NON_FQDN_SENDER, RESTR_ARG_NONE, false},
	{"reject_non_fqdn_recipient", R_REJECT_NON_FQDN_RECIPIENT, RESTR_ARG_NONE, false},
	{"reject_non_fqdn_helo_hostname", R_REJECT_NON_FQDN_HELO_HOSTNAME, RESTR_ARG_NONE, false},
	{"reject_non_fqdn_hostname", R_REJECT_NON_FQDN_HELO_HOSTNAME, RESTR_ARG_NONE, false},
	{"reject_invalid_helo_hostname", R_REJECT_INVALID_HELO_HOSTNAME, RESTR_ARG_NONE, false},
	{"reject_invalid_hostname", R_REJECT_INVALID_HELO_HOSTNAME, RESTR_ARG_NONE, false},
	{"reject_unknown_helo_hostname", R_REJECT_UNKNOWN_HELO_HOSTNAME, RESTR_ARG_NONE, false},
	{"reject_unknown_hostname", R_REJECT_UNKNOWN_HELO_HOSTNAME, RESTR_ARG_NONE, false},
	{"reject_unknown_client_hostname", R_REJECT_UNKNOWN_CLIENT_HOSTNAME, RESTR_ARG_NONE, false},
	{"reject_unknown_client", R_REJECT_UNKNOWN_CLIENT_HOSTNAME, RESTR_ARG_NONE, false},
	{"reject_unknown_reverse_client_hostname", R_REJECT_UNKNOWN_REVERSE_CLIENT_HOSTNAME, RESTR_ARG_NONE, false},
	{"reject_unlisted_recipient", R_REJECT_UNLISTED_RECIPIENT, RESTR_ARG_NONE, false},
	{"reject_unlisted_sender", R_REJECT_UNLISTED_SENDER, RESTR_ARG_NONE, false},
	{"check_client_access", R_CHECK_CLIENT_ACCESS, RESTR_ARG_TABLE, false},
	{"check_reverse_client_hostname_access", R_CHECK_REVERSE_CLIENT_HOSTNAME_ACCESS, RESTR_ARG_TABLE, false},
	{"check_helo_access", R_CHECK_HELO_ACCESS, RESTR_ARG_TABLE, false},
	{"check_sender_access", R_CHECK_SENDER_ACCESS, RESTR_ARG_TABLE, false},
	{"check_recipient_access", R_CHECK_RECIPIENT_ACCESS, RESTR_ARG_TABLE, false},
	{"reject_rbl_client", R_REJECT_RBL_CLIENT, RESTR_ARG_ZONE, false},
	{"reject_rhsbl_client", R_REJECT_RHSBL_CLIENT, RESTR_ARG_ZONE, false},
	{"reject_rhsbl_sender", R_REJECT_RHSBL_SENDER, RESTR_ARG_ZONE, false},
	{"reject_rhsbl_helo", R_REJECT_RHSBL_HELO, RESTR_ARG_ZONE, false},
	{"reject_rhsbl_recipient", R_REJECT_RHSBL_RECIPIENT, RESTR_ARG_ZONE, false},
	{"permit_dnswl_client", R_PERMIT_DNSWL_CLIENT, RESTR_ARG_ZONE, false},
	{"check_policy_service", R_CHECK_POLICY_SERVICE, RESTR_ARG_ENDPOINT, false},
	{"reject_multi_recipient_bounce", R_REJECT_MULTI_RECIPIENT_BOUNCE, RESTR_ARG_NONE, false},
	{"reject_sender_login_mismatch", R_REJECT_SENDER_LOGIN_MISMATCH, RESTR_ARG_NONE, false},
	{"reject_authenticated_sender_login_mismatch",
	 R_REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH, RESTR_ARG_NONE, false},
	{"reject_unauthenticated_sender_login_mismatch",
	 R_REJECT_UNAUTHENTICATED_SENDER_LOGIN_MISMATCH, RESTR_ARG_NONE, false},
	{NULL, R_COUNT, RESTR_ARG_NONE, false},
};

/* The restriction classes: names and their lists. */
static char **class_names;
static char **class_values;
static size_t n_classes;

int
restriction_classes_set(const char *const *names, const char *const *values,
			size_t n)
{
	for (size_t i = 0; i < n_classes; i++) {
		free(class_names[i]);
		free(class_values[i]);
	}
	free(class_names);
	free(class_values);
	class_names = class_values = NULL;
	n_classes = 0;
	if (n > RESTRICTION_CLASSES_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (n == 0)
		return 0;
	class_names = xcalloc(n, sizeof(*class_names));
	class_values = xcalloc(n, sizeof(*class_values));
	for (size_t i = 0; i < n; i++) {
		class_names[i] = xstrdup(names[i]);
		class_values[i] = xstrdup(values[i]);
	}
	n_classes = n;
	return 0;
}

/* class_index - the position of a class, or n_classes */
static size_t
class_index(const char *name)
{
	size_t  i;

	for (i = 0; i < n_classes; i++)
		if (str_eq(class_names[i], name))
			break;
	return i;
}

const char *
restriction_class_name(const char *name)
{
	size_t  i = class_index(name);

	return i < n_classes ? class_names[i] : NULL;
}

const char *
restriction_class(const char *name)
{
	size_t  i = class_index(name);

	return i < n_classes ? class_values[i] : NULL;
}

/* The name Postfix uses today for each code (old spellings map here). */
static const char *
canonical_name(enum restriction_code code)
{
	for (const struct restriction_word *w = restriction_words; w->name; w++)
		if (w->code == code)
			return w->name;
	return "?";
}

const struct restriction_word *
restriction_word(const char *name)
{
	for (const struct restriction_word *w = restriction_words; w->name; w++)
		if (str_casecmp(w->name, name) == 0)
			return w;
	return NULL;
}

/* octet_ok - "N" or "[N..M]" or "[N;M;...]" of 0..255 */
static bool
octet_ok(const char *p, size_t n)
{
	if (n == 0)
		return false;
	if (p[0] == '[') {
		if (n < 3 || p[n - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < n; i++)
			if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == ';'))
				return false;
		return true;
	}
	if (n > 3)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return strtoul(p, NULL, 10) <= 255;
}

/* zone_ok - "dns.zone" or "dns.zone=d.d.d.d" */
static bool
zone_ok(const char *z)
{
	const char *eq = strchr(z, '=');
	size_t  zl = eq ? (size_t) (eq - z) : strlen(z);

	if (zl == 0 || zl > 200 || !str_all_in(z, zl, STR_LOWER STR_UPPER STR_DIGITS "-._"))
		return false;
	if (eq != NULL) {
		const char *p = eq + 1;

		for (int k = 0; k < 4; k++) {
			size_t  n = strcspn(p, ".");

			/* a range holds dots too: take up to the closing bracket */
			if (*p == '[' && strchr(p, ']') != NULL)
				n = (size_t) (strchr(p, ']') - p) + 1;
			if (!octet_ok(p, n))
				return false;
			p += n;
			if (k < 3 && *p++ != '.')
				return false;
		}
		if (*p != '\0')
			return false;
	}
	return true;
}

static int
arg_ok(const struct restriction_word *w, const char *arg, char *why, size_t whylen)
{
	char    err[TABLE_ERROR_MAX];

	switch (w->arg) {
	case RESTR_ARG_NONE:
		return 0;
	case RESTR_ARG_TABLE:
		if (table_list_check(arg, err, sizeof(err)) < 0) {
			(void) str_fmt(why, whylen, "%s %s: %s", w->name, arg, err);
			return -1;
		}
		return 0;
	case RESTR_ARG_ZONE:
		if (!zone_ok(arg)) {
			(void) str_fmt(why, whylen, "%s %.200s: not a DNS zone, or a "
				       "zone=d.d.d.d whose address is malformed",
				       w->name, arg);
			return -1;
		}
		return 0;
	case RESTR_ARG_ENDPOINT:
		if (!str_has_prefix_nocase(arg, "unix:") && !str_has_prefix_nocase(arg, "inet:")) {
			(void) str_fmt(why, whylen, "%s %.200s: write unix:PATH (below "
				       "the queue directory, e.g. unix:private/policy) "
				       "or inet:HOST:PORT", w->name, arg);
			return -1;
		}
		return 0;
	}
	return 0;
}

int
restriction_parse(const char *value, struct restriction **list, size_t *n,
		  char *why, size_t whylen)
{
	struct restriction *l = NULL;
	const char *p = value, *start;
	size_t  count = 0;
	long    len;

	*list = NULL;
	*n = 0;
	while ((len = table_list_next(&p, &start)) > 0) {
		char   *word = xmemdup(start, (size_t) len);
		const struct restriction_word *w = restriction_word(word);

		if (w == NULL && restriction_class(word) != NULL) {
			if (count == RESTRICTION_MAX) {
				free(word);
				(void) str_fmt(why, whylen, "more than %d restrictions",
					       RESTRICTION_MAX);
				goto bad;
			}
			l = xreallocarray(l, count + 1, sizeof(*l));
			l[count].code = R_CLASS;
			l[count].arg = word;
			l[count].name = word;
			count++;
			continue;
		}
		if (w == NULL) {
			(void) str_fmt(why, whylen, "unknown restriction \"%.100s\" "
				       "(see the list in README: an unknown "
				       "restriction is refused, never skipped)", word);
			free(word);
			goto bad;
		}
		free(word);
		if (count == RESTRICTION_MAX) {
			(void) str_fmt(why, whylen, "more than %d restrictions", RESTRICTION_MAX);
			goto bad;
		}
		l = xreallocarray(l, count + 1, sizeof(*l));
		l[count].code = w->code;
		l[count].name = canonical_name(w->code);
		l[count].arg = NULL;
		count++;
		if (w->arg == RESTR_ARG_NONE)
			continue;
		if ((len = table_list_next(&p, &start)) <= 0) {
			(void) str_fmt(why, whylen, "%s needs an argument (%s)", w->name,
				       w->arg == RESTR_ARG_TABLE ? "a table type:name"
				       : w->arg == RESTR_ARG_ZONE ? "a DNS zone"
				       : "unix:PATH or inet:HOST:PORT");
			goto bad;
		}
		if (start[0] == '{') {
			(void) str_fmt(why, whylen, "%s { ... }: options in braces are "
				       "not supported; give the argument alone", w->name);
			goto bad;
		}
		l[count - 1].arg = xmemdup(start, (size_t) len);
		if (arg_ok(w, l[count - 1].arg, why, whylen) < 0)
			goto bad;
	}
	if (len < 0) {
		(void) str_fmt(why, whylen, "unbalanced braces");
		goto bad;
	}
	*list = l;
	*n = count;
	return 0;

bad:
	restriction_free(l, count);
	errno = EINVAL;
	return -1;
}

void
restriction_free(struct restriction *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].arg);
	free(list);
}

/* tables - restriction_tables() at a class depth */
static void
tables(const char *value, int depth, void (*fn)(void *ctx, const char *spec),
       void *ctx)
{
	struct restriction *l;
	size_t  n;
	char    why[RESTRICTION_WHY_MAX];

	if (depth > RESTRICTION_CLASS_DEPTH
	    || restriction_parse(value, &l, &n, why, sizeof(why)) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct restriction_word *w;

		if (l[i].code == R_CLASS) {
			tables(restriction_class(l[i].arg), depth + 1, fn, ctx);
			continue;
		}
		w = restriction_word(l[i].name);
		if (w != NULL && w->arg == RESTR_ARG_TABLE)
			fn(ctx, l[i].arg);
	}
	restriction_free(l, n);
}

void
restriction_tables(const char *value, void (*fn)(void *ctx, const char *spec),
		   void *ctx)
{
	tables(value, 0, fn, ctx);
}

void
restriction_classes_tables(void (*fn)(void *ctx, const char *spec), void *ctx)
{
	for (size_t i = 0; i < n_classes; i++)
		tables(class_values[i], 0, fn, ctx);
}

bool
restriction_relay_ok(const char *value)
{
	struct restriction *l;
	size_t  n;
	bool    ok = false;
	char    why[RESTRICTION_WHY_MAX];

	if (restriction_parse(value, &l, &n, why, sizeof(why)) < 0)
		return true;			/* reported as unparseable instead */
	for (size_t i = 0; i < n && !ok; i++) {
		const struct restriction_word *w = restriction_word(l[i].name);

		ok = w != NULL && w->relay_check;
	}
	restriction_free(l, n);
	return ok;
}
