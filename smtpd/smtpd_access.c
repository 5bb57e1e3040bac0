/*
 * NAME
 *	smtpd_access - check_*_access restrictions and access table results
 * SYNOPSIS
 *	#include "smtpd_restrict.h"
 *
 *	out = smtpd_access(c, R_CHECK_SENDER_ACCESS, "hash:/etc/postern/access",
 *			   local_table_or_NULL);
 *	out = smtpd_access_result(c, "REJECT go away", "hash:...");
 * DESCRIPTION
 *	The keys, in Postfix's order (access(5)); the first one found
 *	answers, and DUNNO stops the search in that table:
 *
 *	  check_client_access	the client's name and its parent domains,
 *				then its address and the networks above it
 *				(1.2.3.4, 1.2.3, 1.2, 1; IPv6 by ':' parts)
 *	  check_reverse_client_hostname_access
 *				the same with the PTR name, confirmed or not
 *	  check_helo_access	the HELO name and its parent domains
 *	  check_sender_access	the MAIL FROM address (the null sender is
 *				smtpd_null_access_lookup_key, "<>")
 *	  check_recipient_access the RCPT TO address
 *
 *	An address: user+ext@domain, user@domain (without the
 *	recipient_delimiter extension), domain and its parents,
 *	user+ext@, user@.  Parent domains are matched without a leading
 *	dot (Postfix's parent_domain_matches_subdomains default for
 *	smtpd_access_maps).  A table that matches patterns (regexp:, pcre:,
 *	cidr:) is asked the whole name, address or address only, never
 *	the parts, as in Postfix.
 *
 *	A table read whole is asked in this process; any other through
 *	the lookup service, all keys in one request (lookup_table_start():
 *	the service answers with the first key found), as an event.  A
 *	table that fails gives "451 4.3.5 <name>: Class rejected: Server
 *	configuration error".
 *
 *	smtpd_access_result() acts on a value, as Postfix's access(5):
 *	OK, RELAY, an all-digit value: permit.  REJECT [text]: reject
 *	with access_map_reject_code (554), DEFER [text] with
 *	access_map_defer_code (450); "4NN text", "5NN text": that code; a
 *	text may start with its enhanced status code ("5.7.1 text").
 *	DEFER_IF_PERMIT, DEFER_IF_REJECT [text]; DUNNO; WARN text (logged,
 *	"warn"); HOLD, DISCARD (which also permits), FILTER
 *	transport:nexthop, REDIRECT user@domain, PREPEND header: text
 *	(message actions, logged as Postfix does); or restriction names
 *	(evaluated in turn; one that waits must be the last).  A value
 *	that names a lookup table is a configuration error (451 4.3.5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dsn.h"
#include "header.h"
#include "log.h"
#include "lookup_clnt.h"
#include "mem.h"
#include "params.h"
#include "smtpd.h"
#include "smtpd_restrict.h"
#include "str.h"
#include "table.h"

#define KEY_MAX		(ADDR_CANON_MAX + 8)

struct keys {
	char   *k[SMTPD_ACCESS_KEYS];
	size_t	n;
};

struct access {
	struct smtpd_check *c;
	struct lookup_call *call;
	char	spec[TABLE_LINE_MAX > 1024 ? 1024 : TABLE_LINE_MAX];
};

static void
add(struct keys *ks, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add(struct keys *ks, const char *fmt, ...)
{
	char    key[KEY_MAX + 1];
	va_list ap;

	if (ks->n == SMTPD_ACCESS_KEYS)
		return;
	va_start(ap, fmt);
	(void) vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	if (key[0] == '\0')
		return;
	for (size_t i = 0; i < ks->n; i++)
		if (str_eq(ks->k[i], key))
			return;
	ks->k[ks->n++] = xstrdup(key);
}

static void
keys_free(struct keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->k[i]);
	ks->n = 0;
}

/* numeric - an address, bracketed or not */
static bool
numeric(const char *d)
{
	return d[0] == '[' || strspn(d, "0123456789.") == strlen(d) || strchr(d, ':') != NULL;
}

/* domain_keys - the name, then (fixed tables) its parent domains */
static void
domain_keys(struct keys *ks, const char *d, bool fixed)
{
	size_t  n = strlen(d);

	/* A name may end in '.': not a key of its own. */
	while (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0)
		return;
	add(ks, "%.*s", (int) n, d);
	if (!fixed || numeric(d))
		return;
	for (const char *p = strchr(d, '.'); p != NULL && (size_t) (p + 1 - d) < n;
	     p = strchr(p + 1, '.'))
		add(ks, "%.*s", (int) (n - (size_t) (p + 1 - d)), p + 1);
}

/* addr_keys - the address, then (fixed tables) the networks above it */
static void
addr_keys(struct keys *ks, const char *a, bool fixed)
{
	char    buf[128];
	char    delim = strchr(a, ':') ? ':' : '.';
	char   *p;

	add(ks, "%s", a);
	if (!fixed)
		return;
	(void) str_copy(buf, sizeof(buf), a);
	while ((p = strrchr(buf, delim)) != NULL) {
		*p = '\0';
		add(ks, "%s", buf);
	}
}

/* mail_keys - an address's keys in Postfix's order */
static void
mail_keys(struct keys *ks, const char *addr, bool fixed)
{
	const char *at = strrchr(addr, '@'), *domain = at ? at + 1 : "";
	char    local[ADDR_CANON_MAX + 1], base[ADDR_CANON_MAX + 1];
	const char *delims = cfg->recipient_delimiter;
	bool    ext = false;
	int     delim;

	add(ks, "%s", addr);
	if (!fixed)
		return;
	(void) str_fmt(local, sizeof(local), "%.*s", (int) (at ? at - addr : (long) strlen(addr)),
		       addr);
	(void) str_copy(base, sizeof(base), local);
	if (*delims && local[0] != '"' && addr_strip_extension(base, delims, &delim) != NULL)
		ext = true;
	if (ext)
		add(ks, at ? "%s@%s" : "%s", base, domain);
	if (*domain)
		domain_keys(ks, domain, true);
	add(ks, "%s@", local);
	if (ext)
		add(ks, "%s@", base);
}

/* keys_for - the keys of a check, none when it does not apply */
static void
keys_for(struct smtpd_check *c, enum restriction_code code, bool fixed, struct keys *ks)
{
	struct smtpd_session *s = c->s;
	const char *a;

	switch (code) {
	case R_CHECK_CLIENT_ACCESS:
		domain_keys(ks, s->name, fixed);
		addr_keys(ks, s->addr, fixed);
		break;
	case R_CHECK_REVERSE_CLIENT_HOSTNAME_ACCESS:
		domain_keys(ks, s->reverse_name ? s->reverse_name : "unknown", fixed);
		addr_keys(ks, s->addr, fixed);
		break;
	case R_CHECK_HELO_ACCESS:
		if (s->helo[0])
			domain_keys(ks, s->helo, fixed);
		break;
	case R_CHECK_SENDER_ACCESS:
		if (!s->in_mail)
			break;
		if (s->sender[0] == '\0')
			add(ks, "%s", cfg->smtpd_null_access_lookup_key);
		else
			mail_keys(ks, s->sender, fixed);
		break;
	default:
		if ((a = smtpd_check_rcpt_addr(c)) != NULL && *a)
			mail_keys(ks, a, fixed);
		break;
	}
}

/* class_of - the access word's own name and class (not the list's) */
static enum smtpd_stage
stage_of(enum restriction_code code, enum smtpd_stage list)
{
	switch (code) {
	case R_CHECK_CLIENT_ACCESS:
	case R_CHECK_REVERSE_CLIENT_HOSTNAME_ACCESS:
		return SMTPD_STAGE_CLIENT;
	case R_CHECK_HELO_ACCESS:
		return SMTPD_STAGE_HELO;
	case R_CHECK_SENDER_ACCESS:
		return SMTPD_STAGE_SENDER;
	case R_CHECK_RECIPIENT_ACCESS:
		return list == SMTPD_STAGE_RELAY ? list : SMTPD_STAGE_RECIPIENT;
	default:
		return list;
	}
}

int
smtpd_check_server_error(struct smtpd_check *c)
{
	char    nb[600];

	return smtpd_check_reject(c, 451, "4.3.5", "<%s>: %s rejected: Server "
				  "configuration error", smtpd_check_name(c, nb, sizeof(nb)),
				  smtpd_check_class(c));
}

static void
access_cancel(void *arg)
{
	struct access *a = arg;

	lookup_cancel(a->call);
	free(a);
}

static void
access_done(void *ctx, int r, const char *value, const char *why)
{
	struct access *a = ctx;
	struct smtpd_check *c = a->c;
	int     out;

	a->call = NULL;
	if (r < 0) {
		log_warn("%s: table lookup problem: %s", a->spec, why);
		out = smtpd_check_server_error(c);
	} else if (r == 0)
		out = SMTPD_R_DUNNO;
	else
		out = smtpd_access_result(c, value, a->spec);
	free(a);
	if (out != SMTPD_R_WAIT)
		smtpd_check_resume(c, out);
}

int
smtpd_access(struct smtpd_check *c, enum restriction_code code, const char *spec,
	     struct table *local)
{
	struct keys ks = {.n = 0};
	enum smtpd_stage saved = c->stage;
	int     out = SMTPD_R_DUNNO;

	/* Replies name what was looked up: the client, the sender ... */
	c->stage = stage_of(code, c->stage);
	keys_for(c, code, table_spec_fixed(spec), &ks);
	if (ks.n == 0) {
		c->stage = saved;
		return SMTPD_R_DUNNO;
	}
	if (local != NULL) {
		struct buf v;

		buf_init(&v, TABLE_VALUE_MAX);
		for (size_t i = 0; i < ks.n; i++) {
			int     r = table_get(local, ks.k[i], &v);

			if (r < 0) {
				log_warn("%s: table lookup problem: %s", spec, local->error);
				out = smtpd_check_server_error(c);
				break;
			}
			if (r > 0) {
				out = smtpd_access_result(c, buf_str(&v), spec);
				break;
			}
		}
		buf_free(&v);
	} else {
		struct access *a = xcalloc(1, sizeof(*a));

		a->c = c;
		(void) str_copy(a->spec, sizeof(a->spec), spec);
		smtpd_check_wait(c, access_cancel, a);
		a->call = lookup_table_start(smtpd_rlists[saved].param, spec,
					     (const char *const *) ks.k, ks.n, 0,
					     access_done, a);
		out = SMTPD_R_WAIT;
	}
	keys_free(&ks);
	/* An answer that waits keeps the stage: it replies when it comes. */
	if (out != SMTPD_R_WAIT)
		c->stage = saved;
	return out;
}

/* word - the first word of value (length) and the text after it */
static size_t
word(const char *value, const char **text)
{
	size_t  n = strcspn(value, " \t");
	const char *t = value + n;

	while (*t == ' ' || *t == '\t')
		t++;
	*text = t;
	return n;
}

static bool
is(const char *value, size_t n, const char *w)
{
	return strlen(w) == n && str_ncasecmp(value, w, n) == 0;
}

/* coded - a reply with an optional "X.Y.Z " at the start of text */
static int
coded(struct smtpd_check *c, int code, const char *def_dsn, const char *text,
      const char *def_text)
{
	char    dsn[DSN_MAX + 1], nb[600];
	size_t  k = dsn_scan(text, strlen(text));

	(void) str_copy(dsn, sizeof(dsn), def_dsn);
	if (k > 0 && k <= DSN_MAX && (text[k] == ' ' || text[k] == '\0')) {
		memcpy(dsn, text, k);
		dsn[k] = '\0';
		text += k;
		while (*text == ' ')
			text++;
	}
	return smtpd_check_reject(c, code, dsn, "<%s>: %s rejected: %s",
				  smtpd_check_name(c, nb, sizeof(nb)), smtpd_check_class(c),
				  *text ? text : def_text);
}

static void
logged(struct smtpd_check *c, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
logged(struct smtpd_check *c, const char *what, const char *fmt, ...)
{
	char    text[800];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtpd_check_log(c, what, text);
}

int
smtpd_access_result(struct smtpd_check *c, const char *value, const char *origin)
{
	const char *text;
	size_t  n = word(value, &text);
	char    nb[600];
	const char *name = smtpd_check_name(c, nb, sizeof(nb));
	const char *cls = smtpd_check_class(c);

	if (is(value, n, "DUNNO"))
		return SMTPD_R_DUNNO;
	if (is(value, n, "OK") || is(value, n, "RELAY")
	    || (n > 0 && strspn(value, "0123456789") == strlen(value)))
		return SMTPD_R_OK;
	if (is(value, n, "REJECT"))
		return coded(c, (int) cfg->access_map_reject_code, "5.7.1", text,
			     "Access denied");
	if (is(value, n, "DEFER"))
		return coded(c, (int) cfg->access_map_defer_code, "4.7.1", text,
			     "Access denied");
	if (n == 3 && (value[0] == '4' || value[0] == '5')
	    && value[1] >= '0' && value[1] <= '9' && value[2] >= '0' && value[2] <= '9'
	    && *text)
		return coded(c, (value[0] - '0') * 100 + (value[1] - '0') * 10 + value[2] - '0',
			     value[0] == '4' ? "4.7.1" : "5.7.1", text, "Access denied");
	if (is(value, n, "DEFER_IF_PERMIT") || is(value, n, "DEFER_IF_REJECT")) {
		struct smtpd_verdict *slot = is(value, n, "DEFER_IF_PERMIT")
		    ? &c->defer_if_permit : &c->defer_if_reject;
		struct smtpd_verdict saved = c->v;

		if (slot->code == 0) {
			(void) coded(c, (int) cfg->access_map_defer_code, "4.7.1", text,
				     "Service unavailable");
			*slot = c->v;
		}
		c->v = saved;
		return SMTPD_R_DUNNO;
	}
	if (is(value, n, "WARN")) {
		logged(c, "warn", "%s", text);
		return SMTPD_R_DUNNO;
	}
	if (is(value, n, "HOLD")) {
		if (c->s->actions == NULL || !(c->s->actions->flags & SMTPD_ACT_HOLD))
			logged(c, "hold", "<%s>: %s %s", name, cls,
			       *text ? text : "triggers HOLD action");
		smtpd_check_action(c, SMTPD_ACT_HOLD, NULL);
		return SMTPD_R_DUNNO;
	}
	if (is(value, n, "DISCARD")) {
		logged(c, "discard", "<%s>: %s %s", name, cls,
		       *text ? text : "triggers DISCARD action");
		smtpd_check_action(c, SMTPD_ACT_DISCARD, NULL);
		return SMTPD_R_OK;
	}
	if (is(value, n, "FILTER") || is(value, n, "REDIRECT")) {
		bool    filter = is(value, n, "FILTER");

		if (!*text || strchr(text, filter ? ':' : '@') == NULL) {
			log_warn("access table %s entry \"%.100s\" requires %s", origin,
				 value, filter ? "transport:destination" : "user@domain target");
			return SMTPD_R_DUNNO;
		}
		logged(c, filter ? "filter" : "redirect", "<%s>: %s triggers %s %s",
		       name, cls, filter ? "FILTER" : "REDIRECT", text);
		smtpd_check_action(c, 0, NULL);
		if (filter) {
			free(c->s->actions->filter);
			c->s->actions->filter = xstrdup(text);
		} else {
			free(c->s->actions->redirect);
			c->s->actions->redirect = xstrdup(text);
		}
		return SMTPD_R_DUNNO;
	}
	if (is(value, n, "PREPEND")) {
		const char *colon = strchr(text, ':');

		if (c->stage == SMTPD_STAGE_EOD || colon == NULL
		    || !header_name_valid(text, (size_t) (colon - text))
		    || strpbrk(text, "\r\n") != NULL) {
			log_warn("access table %s entry \"%.100s\" requires header: text%s",
				 origin, value, c->stage == SMTPD_STAGE_EOD
				 ? ", before the end of data" : "");
			return SMTPD_R_DUNNO;
		}
		smtpd_check_action(c, 0, NULL);
		if (buf_appendf(&c->s->actions->prepend, "%s\n", text) < 0)
			log_warn("PREPEND from %s: too many headers, dropped", origin);
		return SMTPD_R_DUNNO;
	}
	if (strchr(value, ':') != NULL) {
		log_warn("access table %s has entry with lookup table: %.100s "
			 "(name restrictions, not tables, in access table results)",
			 origin, value);
		return smtpd_check_server_error(c);
	}
	/* Restriction names: a list the walk enters (SMTPD_R_PUSH). */
	{
		struct restriction *l;
		size_t  nl;
		char    why[RESTRICTION_WHY_MAX];

		if (++c->depth > 100 || restriction_parse(value, &l, &nl, why, sizeof(why)) < 0) {
			log_warn("access table %s: result \"%.100s\": %s", origin, value,
				 c->depth > 100 ? "unreasonable recursion" : why);
			return smtpd_check_server_error(c);
		}
		return smtpd_check_push(c, l, nl);
	}
}
