/*
 * NAME
 *	smtpd_restrict - smtpd_*_restrictions: the lists and their
 *	evaluation, as events
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_restrict_init();		// pre-jail: lists, tables, endpoints
 *	if (smtpd_restrict(s, SMTPD_AT_RCPT, rcpt, &v, done))
 *		... decided at once: v.code 0 accepts, else the reply ...
 *	else
 *		... done(s, &v, rcpt) comes later, from the loop ...
 *	smtpd_restrict_cancel(s);	// the session ends first
 * DESCRIPTION
 *	Postfix's access restrictions with Postfix's names, order and
 *	replies.  Each list is main.cf's (restriction.h parses the words;
 *	an unknown word is fatal at start, and postern check refuses it
 *	first):
 *
 *	  smtpd_client_restrictions	the client's address and name
 *	  smtpd_helo_restrictions	the HELO/EHLO name
 *	  smtpd_sender_restrictions	the MAIL FROM address
 *	  smtpd_relay_restrictions	relay control (default
 *		permit_mynetworks, permit_sasl_authenticated,
 *		defer_unauth_destination, as Postfix 3.7)
 *	  smtpd_recipient_restrictions	each RCPT TO address
 *	  smtpd_data_restrictions	the DATA command
 *	  smtpd_end_of_data_restrictions the end of the content
 *
 *	With smtpd_delay_reject = yes (the default) the client, HELO and
 *	sender lists are evaluated at each RCPT TO, before the relay and
 *	recipient lists, so a refusal names the recipient and the client
 *	sees it where every client expects one.  With no, the client list
 *	runs at the first HELO/EHLO or MAIL (a refusal then answers that
 *	command and every later HELO, MAIL and RCPT), the HELO list at
 *	HELO/EHLO (or MAIL when HELO was skipped), the sender list at
 *	MAIL.  VRFY runs the relay and recipient lists.
 *
 *	Within a list the words are evaluated in order: a restriction
 *	permits (the list is done: on to the next list), rejects (the
 *	command is refused: no further list), or has no opinion (the next
 *	word).  defer_if_permit turns a final acceptance into 450,
 *	defer_if_reject a later rejection into 450, warn_if_reject makes
 *	the rejection of the next word a logged "reject_warning" instead.
 *	As in Postfix, defer_if_reject and warn_if_reject hold within the
 *	lists evaluated together (the client list; the HELO list; the
 *	sender list; the relay and recipient lists), defer_if_permit up to
 *	the RCPT verdict: with smtpd_delay_reject = no, one named in the
 *	client, HELO or sender list refuses nothing at HELO or MAIL and
 *	is kept in the session (early_defer) for the RCPTs.
 *	After the relay and recipient lists, when
 *	smtpd_reject_unlisted_recipient = yes and no reject_unlisted_
 *	recipient ran, the recipient must be known (as Postfix does:
 *	local domains in local_recipient_maps or virtual_alias_maps).
 *	A list must contain what stops unauthorised relaying: Postfix's
 *	rule (reject_unauth_destination, defer_unauth_destination,
 *	reject, defer or defer_if_permit in the relay or the recipient
 *	list) is checked at start.
 *
 *	Actions that concern the message rather than the command
 *	(access table results HOLD, DISCARD, FILTER, REDIRECT, PREPEND)
 *	are collected in s->actions and go with the message to cleanup;
 *	RSET and a new MAIL forget them.  WARN only logs.
 *
 *	An access table result (or a policy service's action) that names
 *	restrictions ("reject_rbl_client bl.example, reject") is a list
 *	of its own, entered where the word stands (smtpd_restrict.h,
 *	SMTPD_R_PUSH): its words run in order, waits included, and its
 *	outcome is the outcome of the word whose result it was; its
 *	replies name what that word looked up ("Client host rejected").
 *	A restriction class (smtpd_restriction_classes; its list is a
 *	main.cf parameter of that name, lib/svc/restriction_params.h) is
 *	entered the same way wherever its name stands, in a list or as an
 *	access table result; its list is parsed and its whole tables are
 *	opened at start, like the seven lists.
 *
 *	Nothing blocks: a word that needs the lookup service, DNS or a
 *	policy server starts it and the evaluation goes on from its
 *	answer (smtpd_check_resume()); meanwhile the session reads no
 *	command (SMTPD_ST_CHECK) and every other session is served.
 *	Tables read whole (cidr, regexp, pcre, texthash, inline, static)
 *	are opened here before the chroot and asked in this process;
 *	others (hash, btree, unix, socketmap) through the lookup service.
 * DIAGNOSTICS
 *	Postfix's log lines: "NOQUEUE: reject: RCPT from NAME[ADDR]: 554
 *	5.7.1 <rcpt>: Recipient address rejected: Access denied;
 *	from=<s> to=<r> proto=ESMTP helo=<h>", and in the same shape
 *	"reject_warning", "warn", "hold", "discard", "filter",
 *	"redirect".
 * CONFIGURATION PARAMETERS
 *	smtpd_client_restrictions, smtpd_helo_restrictions,
 *	smtpd_sender_restrictions, smtpd_relay_restrictions,
 *	smtpd_recipient_restrictions, smtpd_data_restrictions,
 *	smtpd_end_of_data_restrictions, smtpd_restriction_classes,
 *	smtpd_delay_reject,
 *	smtpd_reject_unlisted_recipient, reject_code, defer_code,
 *	relay_domains_reject_code, unknown_client_reject_code,
 *	invalid_hostname_reject_code, non_fqdn_reject_code,
 *	unknown_local_recipient_reject_code,
 *	multi_recipient_bounce_reject_code; see also smtpd_access.c,
 *	smtpd_dnsbl.c, smtpd_policy.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "restriction_params.h"
#include "smtpd.h"
#include "smtpd_restrict.h"
#include "str.h"
#include "table.h"

struct smtpd_rlist smtpd_rlists[SMTPD_STAGES];

static const char *const list_params[SMTPD_STAGES] = {
	"smtpd_client_restrictions", "smtpd_helo_restrictions",
	"smtpd_sender_restrictions", "smtpd_relay_restrictions",
	"smtpd_recipient_restrictions", "smtpd_data_restrictions",
	"smtpd_end_of_data_restrictions", "smtpd_reject_unlisted_recipient",
};

static struct restriction unlisted_word = {
	R_REJECT_UNLISTED_RECIPIENT, "reject_unlisted_recipient", NULL
};

/* list_value - main.cf value of a list */
static const char *
list_value(enum smtpd_stage st)
{
	switch (st) {
	case SMTPD_STAGE_CLIENT:
		return cfg->smtpd_client_restrictions;
	case SMTPD_STAGE_HELO:
		return cfg->smtpd_helo_restrictions;
	case SMTPD_STAGE_SENDER:
		return cfg->smtpd_sender_restrictions;
	case SMTPD_STAGE_RELAY:
		return cfg->smtpd_relay_restrictions;
	case SMTPD_STAGE_RECIPIENT:
		return cfg->smtpd_recipient_restrictions;
	case SMTPD_STAGE_DATA:
		return cfg->smtpd_data_restrictions;
	case SMTPD_STAGE_EOD:
		return cfg->smtpd_end_of_data_restrictions;
	default:
		return "";
	}
}

/* The restriction classes, opened like the lists. */
static struct smtpd_rlist *classes;
static size_t n_classes;

/*
 * rlist_open - parse a list, open its whole tables (as root, before the
 * chroot hides them), prepare its policy services; fatal on a problem
 */
static void
rlist_open(struct smtpd_rlist *l, const char *param, const char *value)
{
	char    why[RESTRICTION_WHY_MAX], err[TABLE_ERROR_MAX];

	l->param = param;
	if (restriction_parse(value, &l->r, &l->n, why, sizeof(why)) < 0)
		log_fatal("%s: %s (fix main.cf or the service's -o)", param, why);
	l->local = xcalloc(l->n + 1, sizeof(*l->local));
	for (size_t i = 0; i < l->n; i++) {
		const struct restriction *r = &l->r[i];
		const struct restriction_word *w = restriction_word(r->name);

		if (w == NULL)			/* a class: opened on its own */
			continue;
		if (w->arg == RESTR_ARG_TABLE && table_spec_whole(r->arg)
		    && (l->local[i] = table_open(r->arg, 0, err, sizeof(err))) == NULL)
			log_fatal("%s: %s", param, err);
		if (w->arg == RESTR_ARG_ENDPOINT
		    && smtpd_policy_init(r->arg, why, sizeof(why)) < 0)
			log_fatal("%s: check_policy_service %s: %s", param, r->arg, why);
	}
}

static void
rlist_free(struct smtpd_rlist *l)
{
	for (size_t i = 0; l->local != NULL && i < l->n; i++)
		table_close(l->local[i]);
	free(l->local);
	restriction_free(l->r, l->n);
	memset(l, 0, sizeof(*l));
}

/* class_lists - each restriction class, opened like the lists */
static void
class_lists(void)
{
	char  **names;
	int     n = config_list_split(cfg->smtpd_restriction_classes,
				      RESTRICTION_CLASSES_MAX, &names);

	if (n > 0) {
		classes = xcalloc((size_t) n, sizeof(*classes));
		for (int i = 0; i < n; i++)	/* param: restriction.h's copy of the name */
			rlist_open(&classes[i], restriction_class_name(names[i]),
				   restriction_class(names[i]));
		n_classes = (size_t) n;
	}
	config_list_free(names, n > 0 ? n : 0);	/* allocated for an empty list too */
}

/* class_find - a class's opened list, or NULL */
static struct smtpd_rlist *
class_find(const char *name)
{
	for (size_t i = 0; i < n_classes; i++)
		if (str_eq(classes[i].param, name))
			return &classes[i];
	return NULL;
}

void
smtpd_restrict_init(void)
{
	char    why[RESTRICTION_WHY_MAX];

	smtpd_restrict_free();
	if (restriction_params_classes(cfg, why, sizeof(why)) < 0)
		log_fatal("smtpd_restriction_classes: %s (fix main.cf)", why);
	class_lists();
	for (int st = 0; st < SMTPD_STAGE_UNLISTED; st++)
		rlist_open(&smtpd_rlists[st], list_params[st], list_value(st));
	if (!restriction_relay_ok(cfg->smtpd_relay_restrictions)
	    && !restriction_relay_ok(cfg->smtpd_recipient_restrictions))
		log_fatal("in parameter smtpd_relay_restrictions or "
			  "smtpd_recipient_restrictions, specify at least one "
			  "working instance of: reject_unauth_destination, "
			  "defer_unauth_destination, reject, defer, defer_if_permit "
			  "(else this server relays for anyone)");
	smtpd_rlists[SMTPD_STAGE_UNLISTED].param = list_params[SMTPD_STAGE_UNLISTED];
	if (cfg->smtpd_reject_unlisted_recipient) {
		smtpd_rlists[SMTPD_STAGE_UNLISTED].r = &unlisted_word;
		smtpd_rlists[SMTPD_STAGE_UNLISTED].n = 1;
	}
}

void
smtpd_restrict_free(void)
{
	for (int st = 0; st < SMTPD_STAGE_UNLISTED; st++)
		rlist_free(&smtpd_rlists[st]);
	for (size_t i = 0; i < n_classes; i++)
		rlist_free(&classes[i]);
	free(classes);
	classes = NULL;
	n_classes = 0;
	memset(&smtpd_rlists[SMTPD_STAGE_UNLISTED], 0, sizeof(smtpd_rlists[0]));
	smtpd_policy_end();
}

bool
smtpd_restrict_needs_dns(void)
{
	for (int st = 0; st < SMTPD_STAGES; st++)
		for (size_t i = 0; i < smtpd_rlists[st].n; i++)
			if (smtpd_dns_needed(smtpd_rlists[st].r[i].code))
				return true;
	for (size_t c = 0; c < n_classes; c++)
		for (size_t i = 0; i < classes[c].n; i++)
			if (smtpd_dns_needed(classes[c].r[i].code))
				return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Names, replies, logs.                                              */

const char *
smtpd_check_rcpt_addr(const struct smtpd_check *c)
{
	return (c->when == SMTPD_AT_RCPT || c->when == SMTPD_AT_VRFY) ? c->addr : NULL;
}

const char *
smtpd_check_name(const struct smtpd_check *c, char *buf, size_t len)
{
	const struct smtpd_session *s = c->s;

	switch (c->stage) {
	case SMTPD_STAGE_CLIENT:
		(void) str_fmt(buf, len, "%s[%s]", s->name, s->addr);
		return buf;
	case SMTPD_STAGE_HELO:
		return s->helo;
	case SMTPD_STAGE_SENDER:
		return s->sender;
	case SMTPD_STAGE_DATA:
		return "DATA";
	case SMTPD_STAGE_EOD:
		return "END-OF-MESSAGE";
	default:
		return c->addr;
	}
}

const char *
smtpd_check_class(const struct smtpd_check *c)
{
	switch (c->stage) {
	case SMTPD_STAGE_CLIENT:
		return "Client host";
	case SMTPD_STAGE_HELO:
		return "Helo command";
	case SMTPD_STAGE_SENDER:
		return "Sender address";
	case SMTPD_STAGE_DATA:
		return "Data command";
	case SMTPD_STAGE_EOD:
		return "End-of-data";
	default:
		return "Recipient address";
	}
}

/* command - the command name of the log line */
static const char *
command(const struct smtpd_check *c)
{
	static const char *const names[] = {
		[SMTPD_AT_HELO] = "HELO", [SMTPD_AT_MAIL] = "MAIL",
		[SMTPD_AT_RCPT] = "RCPT", [SMTPD_AT_VRFY] = "VRFY",
		[SMTPD_AT_DATA] = "DATA", [SMTPD_AT_EOD] = "END-OF-MESSAGE",
	};

	if (c->when == SMTPD_AT_HELO)
		return c->s->esmtp ? "EHLO" : "HELO";
	return names[c->when];
}

void
smtpd_check_log(const struct smtpd_check *c, const char *what, const char *text)
{
	smtpd_log_event(c->s, what, command(c), text, smtpd_check_rcpt_addr(c));
}

int
smtpd_check_reject(struct smtpd_check *c, int code, const char *dsn,
		   const char *fmt, ...)
{
	va_list ap;

	memset(&c->v, 0, sizeof(c->v));
	c->v.code = code;
	(void) str_copy(c->v.dsn, sizeof(c->v.dsn), dsn);
	/* The class of the code decides: 4xx with a 5.x.x code is 4.x.x. */
	c->v.dsn[0] = (char) ('0' + code / 100);
	va_start(ap, fmt);
	(void) vsnprintf(c->v.text, sizeof(c->v.text), fmt, ap);
	va_end(ap);
	return SMTPD_R_REJECT;
}

/* remember - a deferred verdict (defer_if_permit, defer_if_reject) */
static void
remember(struct smtpd_check *c, struct smtpd_verdict *slot, const char *word)
{
	char    nb[600];

	if (slot->code != 0)
		return;
	slot->code = (int) cfg->defer_code;
	(void) str_copy(slot->dsn, sizeof(slot->dsn), "4.7.1");
	(void) str_fmt(slot->text, sizeof(slot->text), "<%s>: %s rejected: %s "
		       "requested", smtpd_check_name(c, nb, sizeof(nb)),
		       smtpd_check_class(c), word);
}

void
smtpd_check_action(struct smtpd_check *c, unsigned flag, const char *arg)
{
	struct smtpd_session *s = c->s;

	if (s->actions == NULL) {
		s->actions = xcalloc(1, sizeof(*s->actions));
		buf_init(&s->actions->prepend, 64 * 1024);
	}
	s->actions->flags |= flag;
	(void) arg;
}

void
smtpd_actions_reset(struct smtpd_session *s)
{
	if (s->actions == NULL)
		return;
	free(s->actions->filter);
	free(s->actions->redirect);
	buf_free(&s->actions->prepend);
	free(s->actions);
	s->actions = NULL;
}

/* ------------------------------------------------------------------ */
/* The words that need nothing from outside.                          */

/* domain_of - the domain of an address ("" when none) */
static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/*
 * undotted - a name without its one trailing dot ("host.example." is
 * judged as "host.example"; "host.example.." keeps both), as Postfix
 */
static const char *
undotted(const char *name, char *buf, size_t len)
{
	size_t  n = strlen(name);

	if (n < 2 || name[n - 1] != '.' || name[n - 2] == '.'
	    || str_fmt(buf, len, "%.*s", (int) (n - 1), name) < 0)
		return name;
	return buf;
}

/* fqdn - a domain with a dot, valid, or an address literal */
static bool
fqdn(const char *d)
{
	char    b[ADDR_CANON_MAX + 1];

	if (d[0] == '[')
		return true;
	d = undotted(d, b, sizeof(b));
	return strchr(d, '.') != NULL && addr_domain_valid(d, false);
}

static int
unauth_destination(struct smtpd_check *c, enum restriction_code code)
{
	const char *rcpt = smtpd_check_rcpt_addr(c), *d;
	bool    ok;

	if (rcpt == NULL)
		return SMTPD_R_DUNNO;
	d = domain_of(rcpt);
	ok = *d == '\0' || smtpd_domain_local(d) || smtpd_domain_relay(d);
	if (code == R_PERMIT_AUTH_DESTINATION)
		return ok ? SMTPD_R_OK : SMTPD_R_DUNNO;
	if (ok)
		return SMTPD_R_DUNNO;
	if (code == R_DEFER_UNAUTH_DESTINATION)
		return smtpd_check_reject(c, 454, "4.7.1", "<%s>: Relay access denied", rcpt);
	return smtpd_check_reject(c, (int) cfg->relay_domains_reject_code, "5.7.1",
				  "<%s>: Relay access denied", rcpt);
}

static int
non_fqdn(struct smtpd_check *c, enum restriction_code code)
{
	const char *a;

	switch (code) {
	case R_REJECT_NON_FQDN_HELO_HOSTNAME:
		if (c->s->helo[0] == '\0' || fqdn(c->s->helo))
			return SMTPD_R_DUNNO;
		return smtpd_check_reject(c, (int) cfg->non_fqdn_reject_code, "5.5.2",
					  "<%s>: Helo command rejected: need fully-"
					  "qualified hostname", c->s->helo);
	case R_REJECT_NON_FQDN_SENDER:
		a = c->s->in_mail ? c->s->sender : "";
		if (*a == '\0' || fqdn(domain_of(a)))
			return SMTPD_R_DUNNO;
		return smtpd_check_reject(c, (int) cfg->non_fqdn_reject_code, "5.5.2",
					  "<%s>: Sender address rejected: need fully-"
					  "qualified address", a);
	default:
		if ((a = smtpd_check_rcpt_addr(c)) == NULL || fqdn(domain_of(a)))
			return SMTPD_R_DUNNO;
		return smtpd_check_reject(c, (int) cfg->non_fqdn_reject_code, "5.5.2",
					  "<%s>: Recipient address rejected: need fully-"
					  "qualified address", a);
	}
}

static int
invalid_helo(struct smtpd_check *c)
{
	char    b[SMTPD_HELO_MAX + 1];
	const char *h = undotted(c->s->helo, b, sizeof(b));
	bool    ok;

	if (h[0] == '\0')
		return SMTPD_R_DUNNO;
	if (h[0] == '[') {
		struct addr a;
		struct addr_error e;
		char    path[SMTPD_HELO_MAX + 8];
		size_t  used;

		/* An address literal: check it as the domain of a path. */
		(void) str_fmt(path, sizeof(path), "<x@%s>", h);
		ok = addr_parse_path(path, strlen(path), 0, &a, &used, &e) == 0
		    && used == strlen(path);
	} else
		ok = addr_domain_valid(h, false);
	if (ok)
		return SMTPD_R_DUNNO;
	return smtpd_check_reject(c, (int) cfg->invalid_hostname_reject_code, "5.5.2",
				  "<%s>: Helo command rejected: Invalid name", c->s->helo);
}

static int
unknown_client(struct smtpd_check *c, enum restriction_code code)
{
	bool    reverse = code == R_REJECT_UNKNOWN_REVERSE_CLIENT_HOSTNAME;
	unsigned st = reverse ? c->s->reverse_status : c->s->name_status;

	if (st == 0)
		return SMTPD_R_DUNNO;
	return smtpd_check_reject(c, st == 4 ? 450 : (int) cfg->unknown_client_reject_code,
				  "4.7.25", "Client host rejected: cannot find your "
				  "%shostname, [%s]", reverse ? "reverse " : "", c->s->addr);
}

static int
unauth_pipelining(struct smtpd_check *c)
{
	char    nb[600];

	if (!smtpd_pipelined(c->s))
		return SMTPD_R_DUNNO;
	return smtpd_check_reject(c, 503, "5.5.0", "<%s>: %s rejected: Improper use "
				  "of SMTP command pipelining",
				  smtpd_check_name(c, nb, sizeof(nb)), smtpd_check_class(c));
}

static int
multi_recipient_bounce(struct smtpd_check *c)
{
	char    nb[600];
	size_t  n = c->s->nrcpt + (c->when == SMTPD_AT_RCPT ? 1 : 0);

	if (!c->s->in_mail || c->s->sender[0] != '\0' || n <= 1)
		return SMTPD_R_DUNNO;
	return smtpd_check_reject(c, (int) cfg->multi_recipient_bounce_reject_code,
				  "5.5.3", "<%s>: %s rejected: Multi-recipient bounce",
				  smtpd_check_name(c, nb, sizeof(nb)), smtpd_check_class(c));
}

/* ------------------------------------------------------------------ */
/* reject_unlisted_recipient, reject_unlisted_sender.                 */

struct unlisted {
	struct smtpd_check *c;
	void   *lookup;
	bool	sender;
	const char *param;
	char	addr[ADDR_CANON_MAX + 1];
};

static void unlisted_done(void *ctx, int r, const char *value, const char *why);

static void
unlisted_cancel(void *arg)
{
	struct unlisted *u = arg;

	if (u->lookup != NULL)
		smtpd_lookup_cancel(u->lookup);
	free(u);
}

static void
unlisted_ask(struct unlisted *u, const char *param)
{
	u->param = param;
	u->lookup = smtpd_lookup(param, u->addr, unlisted_done, u);
}

static void
unlisted_done(void *ctx, int r, const char *value, const char *why)
{
	struct unlisted *u = ctx;
	struct smtpd_check *c = u->c;
	int     out = SMTPD_R_DUNNO;

	(void) value;
	u->lookup = NULL;
	if (r == 0 && str_eq(u->param, "local_recipient_maps")
	    && cfg->virtual_alias_maps[0] != '\0') {
		unlisted_ask(u, "virtual_alias_maps");
		return;
	}
	if (r < 0) {
		log_warn("lookup of %s in %s failed: %s", u->addr, u->param, why);
		out = smtpd_check_reject(c, 451, "4.3.0", "<%s>: Temporary lookup failure",
					 u->addr);
	} else if (r == 0)
		out = smtpd_check_reject(c, (int) cfg->unknown_local_recipient_reject_code,
					 u->sender ? "5.1.0" : "5.1.1", "<%s>: %s address "
					 "rejected: User unknown in local recipient table",
					 u->addr, u->sender ? "Sender" : "Recipient");
	free(u);
	smtpd_check_resume(c, out);
}

static int
unlisted(struct smtpd_check *c, enum restriction_code code)
{
	bool    sender = code == R_REJECT_UNLISTED_SENDER;
	const char *a = sender ? (c->s->in_mail ? c->s->sender : "") : smtpd_check_rcpt_addr(c);
	struct unlisted *u;

	if (!sender)
		c->unlisted_done = true;
	/* receive_override_options = no_unknown_recipient_checks (a filter's way back). */
	if (!sender && smtpd_conf.overrides.no_unknown_rcpt)
		return SMTPD_R_DUNNO;
	if (a == NULL || *a == '\0' || !smtpd_domain_local(domain_of(a))
	    || cfg->local_recipient_maps[0] == '\0')
		return SMTPD_R_DUNNO;
	/* RFC 5321 4.5.1: <postmaster> is always accepted. */
	if (!sender && str_casecmp(a, "postmaster") == 0)
		return SMTPD_R_DUNNO;
	u = xcalloc(1, sizeof(*u));
	u->c = c;
	u->sender = sender;
	(void) str_copy(u->addr, sizeof(u->addr), a);
	smtpd_check_wait(c, unlisted_cancel, u);
	unlisted_ask(u, "local_recipient_maps");
	return SMTPD_R_WAIT;
}

/* ------------------------------------------------------------------ */
/* reject_*sender_login_mismatch: smtpd_sender_login_maps (smtpd_sasl). */

static void
login_cancel(void *arg)
{
	smtpd_sasl_sender_cancel(arg);
}

static void
login_done(struct smtpd_session *s, const struct smtpd_verdict *v, const char *sender)
{
	struct smtpd_check *c = s->check;

	(void) sender;
	smtpd_check_resume(c, v->code == 0 ? SMTPD_R_DUNNO
			   : smtpd_check_reject(c, v->code, v->dsn, "%s", v->text));
}

/*
 * login_mismatch - reject_sender_login_mismatch is both of the others:
 * an authenticated client must own the sender (the table names its
 * login for it), an unauthenticated one must not use a sender the
 * table gives an owner
 */
static int
login_mismatch(struct smtpd_check *c, enum restriction_code code)
{
	struct smtpd_session *s = c->s;
	struct smtpd_verdict v;

	if (!s->in_mail
	    || (code == R_REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH
		&& !smtpd_sasl_authenticated(s))
	    || (code == R_REJECT_UNAUTHENTICATED_SENDER_LOGIN_MISMATCH
		&& smtpd_sasl_authenticated(s)))
		return SMTPD_R_DUNNO;
	if (smtpd_sasl_sender_check(s, s->sender, &v, login_done))
		return v.code == 0 ? SMTPD_R_DUNNO
			: smtpd_check_reject(c, v.code, v.dsn, "%s", v.text);
	smtpd_check_wait(c, login_cancel, s);
	return SMTPD_R_WAIT;
}

/* ------------------------------------------------------------------ */
/* One word.                                                          */

/* class_word - a restriction class: its opened list, entered as a frame */
static int
class_word(struct smtpd_check *c, const char *name)
{
	const struct smtpd_rlist *l = class_find(name);

	if (l == NULL || ++c->depth > 100) {
		log_warn("restriction class %s: %s", name, l == NULL ? "unknown"
			 : "unreasonable recursion (classes that name each other?)");
		return smtpd_check_server_error(c);
	}
	restriction_free(c->push_r, c->push_n);
	c->push_r = NULL;
	c->push_n = 0;
	c->push_class = l;
	c->push_stage = c->stage;
	return SMTPD_R_PUSH;
}

int
smtpd_check_push(struct smtpd_check *c, struct restriction *l, size_t n)
{
	restriction_free(c->push_r, c->push_n);
	c->push_r = l;
	c->push_n = n;
	c->push_class = NULL;
	c->push_stage = c->stage;
	return SMTPD_R_PUSH;
}

int
smtpd_check_word(struct smtpd_check *c, enum restriction_code code,
		 const char *arg, struct table *local)
{
	char    nb[600];

	switch (code) {
	case R_PERMIT:
		return SMTPD_R_OK;
	case R_REJECT:
		return smtpd_check_reject(c, (int) cfg->reject_code, "5.7.1",
					  "<%s>: %s rejected: Access denied",
					  smtpd_check_name(c, nb, sizeof(nb)),
					  smtpd_check_class(c));
	case R_DEFER:
		return smtpd_check_reject(c, (int) cfg->defer_code, "4.3.2",
					  "<%s>: %s rejected: Try again later",
					  smtpd_check_name(c, nb, sizeof(nb)),
					  smtpd_check_class(c));
	case R_DEFER_IF_PERMIT:
		remember(c, &c->defer_if_permit, "defer_if_permit");
		return SMTPD_R_DUNNO;
	case R_DEFER_IF_REJECT:
		remember(c, &c->defer_if_reject, "defer_if_reject");
		return SMTPD_R_DUNNO;
	case R_WARN_IF_REJECT:
		c->warn_armed = true;
		return SMTPD_R_DUNNO;
	case R_PERMIT_MYNETWORKS:
		return c->s->trusted ? SMTPD_R_OK : SMTPD_R_DUNNO;
	case R_PERMIT_SASL_AUTHENTICATED:
		return smtpd_sasl_authenticated(c->s) ? SMTPD_R_OK : SMTPD_R_DUNNO;
	case R_REJECT_UNAUTH_DESTINATION:
	case R_DEFER_UNAUTH_DESTINATION:
	case R_PERMIT_AUTH_DESTINATION:
		return unauth_destination(c, code);
	case R_REJECT_UNAUTH_PIPELINING:
		return unauth_pipelining(c);
	case R_REJECT_NON_FQDN_SENDER:
	case R_REJECT_NON_FQDN_RECIPIENT:
	case R_REJECT_NON_FQDN_HELO_HOSTNAME:
		return non_fqdn(c, code);
	case R_REJECT_INVALID_HELO_HOSTNAME:
		return invalid_helo(c);
	case R_REJECT_UNKNOWN_CLIENT_HOSTNAME:
	case R_REJECT_UNKNOWN_REVERSE_CLIENT_HOSTNAME:
		return unknown_client(c, code);
	case R_REJECT_UNLISTED_RECIPIENT:
	case R_REJECT_UNLISTED_SENDER:
		return unlisted(c, code);
	case R_REJECT_UNKNOWN_SENDER_DOMAIN:
	case R_REJECT_UNKNOWN_RECIPIENT_DOMAIN:
	case R_REJECT_UNKNOWN_HELO_HOSTNAME:
		return smtpd_domain_check(c, code);
	case R_CHECK_CLIENT_ACCESS:
	case R_CHECK_REVERSE_CLIENT_HOSTNAME_ACCESS:
	case R_CHECK_HELO_ACCESS:
	case R_CHECK_SENDER_ACCESS:
	case R_CHECK_RECIPIENT_ACCESS:
		return smtpd_access(c, code, arg, local);
	case R_REJECT_RBL_CLIENT:
	case R_REJECT_RHSBL_CLIENT:
	case R_REJECT_RHSBL_SENDER:
	case R_REJECT_RHSBL_HELO:
	case R_REJECT_RHSBL_RECIPIENT:
	case R_PERMIT_DNSWL_CLIENT:
		return smtpd_dnsbl(c, code, arg);
	case R_CHECK_POLICY_SERVICE:
		return smtpd_policy(c, arg);
	case R_REJECT_MULTI_RECIPIENT_BOUNCE:
		return multi_recipient_bounce(c);
	case R_REJECT_SENDER_LOGIN_MISMATCH:
	case R_REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH:
	case R_REJECT_UNAUTHENTICATED_SENDER_LOGIN_MISMATCH:
		return login_mismatch(c, code);
	case R_CLASS:
		return class_word(c, arg);
	case R_COUNT:
		break;
	}
	log_panic("smtpd_check_word: restriction code %d", code);
}

/* ------------------------------------------------------------------ */
/* The walk.                                                          */

/*
 * keep_deferral - smtpd_delay_reject = no: what the client, HELO or
 * sender list (st) leaves pending for RCPT (Postfix carries a
 * defer_if_permit of these lists to the RCPT verdict)
 */
static void
keep_deferral(struct smtpd_check *c, enum smtpd_stage st)
{
	struct smtpd_session *s = c->s;

	if (s->early_defer == NULL) {
		if (c->defer_if_permit.code == 0)
			return;
		s->early_defer = xcalloc(SMTPD_STAGE_SENDER + 1, sizeof(*s->early_defer));
	}
	s->early_defer[st] = c->defer_if_permit;
}

/*
 * seed_deferral - smtpd_delay_reject = no: the defer_if_permit the
 * lists evaluated at earlier commands left: the client's for HELO, the
 * client's and HELO's for MAIL, all three for RCPT and VRFY
 */
static void
seed_deferral(struct smtpd_check *c)
{
	struct smtpd_session *s = c->s;
	enum smtpd_stage from;

	if (cfg->smtpd_delay_reject || s->early_defer == NULL)
		return;
	switch (c->when) {
	case SMTPD_AT_HELO:
		from = SMTPD_STAGE_CLIENT;
		break;
	case SMTPD_AT_MAIL:
		from = s->helo_checked ? SMTPD_STAGE_HELO : SMTPD_STAGE_CLIENT;
		break;
	case SMTPD_AT_RCPT:
	case SMTPD_AT_VRFY:
		from = SMTPD_STAGE_SENDER;
		break;
	default:
		return;
	}
	if (c->nseq > 0 && c->seq[0] <= from)
		return;				/* that list runs now */
	c->defer_if_permit = s->early_defer[from];
}

/* list_done - a list was evaluated to its end or a permit */
static void
list_done(struct smtpd_check *c)
{
	enum smtpd_stage st = c->si < c->nseq ? c->seq[c->si] : SMTPD_STAGES;

	if (st == SMTPD_STAGE_CLIENT)
		c->s->client_checked = true;
	else if (st == SMTPD_STAGE_HELO)
		c->s->helo_checked = true;
	if (!cfg->smtpd_delay_reject && st <= SMTPD_STAGE_SENDER)
		keep_deferral(c, st);
}

/*
 * group - the lists Postfix evaluates as one: the client's, the HELO's,
 * the sender's, the relay and recipient lists together, DATA's, the end
 * of data's.  defer_if_reject and warn_if_reject hold within a group.
 */
static enum smtpd_stage
group(enum smtpd_stage st)
{
	return st == SMTPD_STAGE_RECIPIENT || st == SMTPD_STAGE_UNLISTED
	    ? SMTPD_STAGE_RELAY : st;
}

/* next_list - on to the next list; a new group starts afresh */
static void
next_list(struct smtpd_check *c)
{
	enum smtpd_stage from = c->seq[c->si];

	c->si++;
	c->ri = 0;
	if (c->si < c->nseq && group(c->seq[c->si]) != group(from)) {
		memset(&c->defer_if_reject, 0, sizeof(c->defer_if_reject));
		c->warn_armed = false;
	}
}

/* frames_free - the lists entered and the one about to be */
static void
frames_free(struct smtpd_check *c)
{
	while (c->nframes > 0) {
		struct smtpd_frame *f = &c->frames[--c->nframes];

		if (f->class == NULL)
			restriction_free(f->r, f->n);
	}
	restriction_free(c->push_r, c->push_n);
	c->push_r = NULL;
	c->push_n = 0;
}

/* check_free - an evaluation and what it holds */
static void
check_free(struct smtpd_check *c)
{
	frames_free(c);
	free(c);
}

/* nested_warn - warn_if_reject before a word of a frame */
static int
nested_warn(struct smtpd_check *c, int out)
{
	char    text[700];

	if (!c->nested_warn || out == SMTPD_R_WAIT || out == SMTPD_R_PUSH)
		return out;
	c->nested_warn = false;
	if (out == SMTPD_R_REJECT) {
		(void) str_fmt(text, sizeof(text), "%d %s %s", c->v.code, c->v.dsn,
			       c->v.text);
		smtpd_check_log(c, "reject_warning", text);
		return SMTPD_R_DUNNO;
	}
	return out;
}

/*
 * nested - out is the outcome of the word under way in the innermost
 * frame (or of the list's own word when there is none); go on in the
 * frames until the list's word has its outcome (returned), or a word
 * waits (SMTPD_R_WAIT).  A permit or a rejection anywhere decides for
 * the list's word; a frame that ends has no opinion, which is the
 * outcome of the word whose result it was.
 */
static int
nested(struct smtpd_check *c, int out)
{
	if (c->nframes > 0)
		out = nested_warn(c, out);
	for (;;) {
		struct smtpd_frame *f;
		const struct restriction *r;

		if (out == SMTPD_R_PUSH) {
			if (c->nframes == SMTPD_FRAMES) {
				log_warn("access table results name restrictions more than "
					 "%d deep: check the tables for results that name "
					 "each other", SMTPD_FRAMES);
				frames_free(c);
				return smtpd_check_server_error(c);
			}
			f = &c->frames[c->nframes++];
			f->class = c->push_class;
			f->r = f->class ? f->class->r : c->push_r;
			f->n = f->class ? f->class->n : c->push_n;
			f->i = 0;
			f->stage = c->push_stage;
			c->push_r = NULL;
			c->push_n = 0;
			c->push_class = NULL;
		} else if (c->nframes == 0) {
			return out;
		} else if (out == SMTPD_R_OK || out == SMTPD_R_REJECT) {
			frames_free(c);
			return out;
		} else {
			/* No opinion: the frame's next word. */
			c->frames[c->nframes - 1].i++;
		}
		f = &c->frames[c->nframes - 1];
		if (f->i >= f->n) {
			c->nframes--;
			if (f->class == NULL)
				restriction_free(f->r, f->n);
			out = SMTPD_R_DUNNO;
			continue;
		}
		r = &f->r[f->i];
		if (r->code == R_WARN_IF_REJECT) {
			c->nested_warn = true;
			out = SMTPD_R_DUNNO;
			continue;
		}
		c->stage = f->stage;
		out = nested_warn(c, smtpd_check_word(c, r->code, r->arg,
						      f->class ? f->class->local[f->i] : NULL));
		if (out == SMTPD_R_WAIT)
			return out;
	}
}

/*
 * walk - evaluate from (si, ri) on; out is the outcome of the word at
 * ri (or of the word under way in its frames) when it had to wait, or
 * -1.  Returns SMTPD_R_OK (accepted), SMTPD_R_REJECT (c->v) or
 * SMTPD_R_WAIT.
 */
static int
walk(struct smtpd_check *c, int out)
{
	char    text[700];

	while (c->si < c->nseq) {
		struct smtpd_rlist *l = &smtpd_rlists[c->seq[c->si]];

		if (c->nframes == 0)
			c->stage = c->seq[c->si];
		if (c->stage == SMTPD_STAGE_UNLISTED && out < 0) {
			/* Postfix: a pending defer_if_permit answers first. */
			if (c->defer_if_permit.code != 0)
				break;
			if (c->unlisted_done) {
				next_list(c);
				continue;
			}
		}
		if (c->ri >= l->n) {
			list_done(c);
			next_list(c);
			continue;
		}
		if (out < 0) {
			const struct restriction *r = &l->r[c->ri];

			if (r->code == R_WARN_IF_REJECT) {
				c->warn_armed = true;
				c->ri++;
				continue;
			}
			c->cur = r;
			c->cur_table = l->local != NULL ? l->local[c->ri] : NULL;
			c->depth = 0;
			out = smtpd_check_word(c, r->code, r->arg, c->cur_table);
			if (out == SMTPD_R_WAIT)
				return out;
		}
		if ((out = nested(c, out)) == SMTPD_R_WAIT)
			return out;
		c->stage = c->seq[c->si];
		if (c->warn_armed) {
			c->warn_armed = false;
			if (out == SMTPD_R_REJECT) {
				(void) str_fmt(text, sizeof(text), "%d %s %s", c->v.code,
					       c->v.dsn, c->v.text);
				smtpd_check_log(c, "reject_warning", text);
				out = SMTPD_R_DUNNO;
			}
		}
		if (out == SMTPD_R_REJECT) {
			if (c->v.code >= 500 && c->defer_if_reject.code != 0)
				c->v = c->defer_if_reject;
			list_done(c);
			return out;
		}
		if (out == SMTPD_R_OK) {
			list_done(c);
			next_list(c);
		} else
			c->ri++;
		out = -1;
	}
	/* At HELO and MAIL (smtpd_delay_reject = no) it waits for RCPT. */
	if (c->defer_if_permit.code != 0 && c->when != SMTPD_AT_HELO
	    && c->when != SMTPD_AT_MAIL) {
		c->v = c->defer_if_permit;
		return SMTPD_R_REJECT;
	}
	return SMTPD_R_OK;
}

void
smtpd_check_wait(struct smtpd_check *c, void (*cancel)(void *), void *arg)
{
	c->cancel = cancel;
	c->cancel_arg = arg;
}

/* end - the evaluation is over with out: keep a client refusal, free c */
static void
end(struct smtpd_check *c, int out, struct smtpd_verdict *v)
{
	struct smtpd_session *s = c->s;

	if (out == SMTPD_R_REJECT) {
		*v = c->v;
		if (c->si < c->nseq && c->seq[c->si] == SMTPD_STAGE_CLIENT
		    && !cfg->smtpd_delay_reject && s->refusal == NULL) {
			s->refusal = xmalloc(sizeof(*s->refusal));
			*s->refusal = c->v;
		}
	} else
		memset(v, 0, sizeof(*v));
}

void
smtpd_check_resume(struct smtpd_check *c, int outcome)
{
	struct smtpd_session *s = c->s;
	struct smtpd_verdict v;
	int     out;

	c->cancel = NULL;
	c->cancel_arg = NULL;
	out = walk(c, outcome);
	if (out == SMTPD_R_WAIT)
		return;
	end(c, out, &v);
	s->check = NULL;
	if (c->waiting) {
		smtpd_check_done_fn *done = c->done;
		char    addr[ADDR_CANON_MAX + 1];

		(void) str_copy(addr, sizeof(addr), c->addr);
		check_free(c);
		done(s, &v, addr);
		return;
	}
	log_panic("smtpd_check_resume: an answer came inside the start");
}

/* sequence - the lists the command evaluates */
static void
sequence(struct smtpd_check *c)
{
	struct smtpd_session *s = c->s;
	bool    delay = cfg->smtpd_delay_reject;

#define ADD(st) (c->seq[c->nseq++] = (st))
	switch (c->when) {
	case SMTPD_AT_HELO:
		if (!delay && !s->client_checked)
			ADD(SMTPD_STAGE_CLIENT);
		if (!delay)
			ADD(SMTPD_STAGE_HELO);
		break;
	case SMTPD_AT_MAIL:
		if (!delay && !s->client_checked)
			ADD(SMTPD_STAGE_CLIENT);
		if (!delay && !s->helo_checked)
			ADD(SMTPD_STAGE_HELO);
		if (!delay)
			ADD(SMTPD_STAGE_SENDER);
		break;
	case SMTPD_AT_RCPT:
		if (delay) {
			ADD(SMTPD_STAGE_CLIENT);
			ADD(SMTPD_STAGE_HELO);
			ADD(SMTPD_STAGE_SENDER);
		}
		/* FALLTHROUGH */
	case SMTPD_AT_VRFY:
		ADD(SMTPD_STAGE_RELAY);
		ADD(SMTPD_STAGE_RECIPIENT);
		ADD(SMTPD_STAGE_UNLISTED);
		break;
	case SMTPD_AT_DATA:
		ADD(SMTPD_STAGE_DATA);
		break;
	case SMTPD_AT_EOD:
		ADD(SMTPD_STAGE_EOD);
		break;
	}
#undef ADD
}

bool
smtpd_restrict(struct smtpd_session *s, enum smtpd_when when, const char *addr,
	       struct smtpd_verdict *v, smtpd_check_done_fn *done)
{
	struct smtpd_check *c;
	size_t  words = 0;
	int     out;

	memset(v, 0, sizeof(*v));
	if (s->check != NULL)
		log_panic("smtpd_restrict: an evaluation is already under way");
	if (s->refusal != NULL && when != SMTPD_AT_DATA && when != SMTPD_AT_EOD) {
		*v = *s->refusal;		/* smtpd_delay_reject = no */
		return true;
	}
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->when = when;
	c->done = done;
	(void) str_copy(c->addr, sizeof(c->addr), addr ? addr : "");
	sequence(c);
	seed_deferral(c);
	for (size_t i = 0; i < c->nseq; i++)
		words += smtpd_rlists[c->seq[i]].n;
	if (words == 0) {			/* nothing to evaluate */
		for (c->si = 0; c->si < c->nseq; c->si++)
			list_done(c);
		free(c);
		return true;
	}
	s->check = c;
	out = walk(c, -1);
	if (out == SMTPD_R_WAIT) {
		c->waiting = true;
		return false;
	}
	s->check = NULL;
	end(c, out, v);
	check_free(c);
	return true;
}

void
smtpd_restrict_cancel(struct smtpd_session *s)
{
	struct smtpd_check *c = s->check;

	if (c == NULL)
		return;
	if (c->cancel != NULL)
		c->cancel(c->cancel_arg);
	check_free(c);
	s->check = NULL;
}
