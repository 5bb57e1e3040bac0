/*
 * NAME
 *	restriction - the words of smtpd_*_restrictions lists
 * SYNOPSIS
 *	#include "restriction.h"
 *
 *	struct restriction *list;
 *	size_t n;
 *	char why[RESTRICTION_WHY_MAX];
 *	if (restriction_parse(cfg->smtpd_recipient_restrictions, &list, &n,
 *			      why, sizeof(why)) < 0)
 *		... "smtpd_recipient_restrictions: " why ...
 *	for (size_t i = 0; i < n; i++) ... list[i].code, list[i].arg ...
 *	restriction_free(list, n);
 *
 *	const struct restriction_word *w = restriction_word("permit");
 * DESCRIPTION
 *	A restriction list is words separated by commas and/or white
 *	space, as Postfix's: a restriction name, and after the names that
 *	take one, its argument (a table "type:name" for check_*_access, a
 *	DNS zone "zone" or "zone=d.d.d.d" for the DNS lists, an endpoint
 *	"unix:private/policy" or "inet:host:port" for
 *	check_policy_service).  "{ ... }" groups one word.  The names are
 *	Postfix's (restriction_words[]: each with its code, what argument
 *	it takes, and whether it may end a list as the relay check Postfix
 *	demands); a few old spellings are taken as their new names
 *	(reject_invalid_hostname, reject_non_fqdn_hostname,
 *	reject_unknown_client, reject_unknown_hostname).
 *
 *	restriction_parse() fills a new array with one entry per
 *	restriction (the argument copied, NULL when none) and returns 0,
 *	or -1 with why naming the word: an unknown restriction, a
 *	restriction that wants an argument and has none, an argument that
 *	is malformed (no "type:" of a table, a bad zone or reply address),
 *	more than RESTRICTION_MAX words.  An unknown restriction is a
 *	configuration error, never skipped.  restriction_free() frees it.
 *
 *	restriction_word() finds a name (or an old spelling); NULL when
 *	unknown.  restriction_tables() calls fn for the table of every
 *	check_*_access in a list (the tables the lookup service serves
 *	for that list); lists that do not parse give none.
 *	restriction_relay_ok() tells whether a relay list or recipient
 *	list holds what Postfix requires of one of them: a restriction
 *	that stops unauthorised relaying (reject_unauth_destination,
 *	defer_unauth_destination, reject, defer, defer_if_permit).
 *
 *	Restriction classes (Postfix's smtpd_restriction_classes):
 *	restriction_classes_set() makes names[i] stand for the list
 *	values[i] (copied; it replaces any earlier set; at most
 *	RESTRICTION_CLASSES_MAX).  From then on restriction_parse() takes
 *	such a name as a word (code R_CLASS, arg and name the class
 *	name), restriction_class() gives a class's list (NULL: not a
 *	class), restriction_class_name() the registry's copy of its name, and restriction_tables() also reports the tables of the
 *	classes a list names, and of the classes those name, up to
 *	RESTRICTION_CLASS_DEPTH.  restriction_classes_tables() reports
 *	the tables of every class (an access table result may name any
 *	class).
 */
#ifndef POSTERN_RESTRICTION_H
#define POSTERN_RESTRICTION_H

#include <stdbool.h>
#include <stddef.h>

#define RESTRICTION_MAX		200	/* words in one list */
#define RESTRICTION_WHY_MAX	512
#define RESTRICTION_CLASSES_MAX	100
#define RESTRICTION_CLASS_DEPTH	10

enum restriction_arg {
	RESTR_ARG_NONE,
	RESTR_ARG_TABLE,		/* type:name */
	RESTR_ARG_ZONE,			/* zone or zone=d.d.d.d */
	RESTR_ARG_ENDPOINT,		/* unix:path or inet:host:port */
};

enum restriction_code {
	R_PERMIT, R_REJECT, R_DEFER, R_DEFER_IF_PERMIT, R_DEFER_IF_REJECT,
	R_WARN_IF_REJECT,
	R_PERMIT_MYNETWORKS, R_PERMIT_SASL_AUTHENTICATED,
	R_REJECT_UNAUTH_DESTINATION, R_DEFER_UNAUTH_DESTINATION,
	R_PERMIT_AUTH_DESTINATION, R_REJECT_UNAUTH_PIPELINING,
	R_REJECT_UNKNOWN_SENDER_DOMAIN, R_REJECT_UNKNOWN_RECIPIENT_DOMAIN,
	R_REJECT_NON_FQDN_SENDER, R_REJECT_NON_FQDN_RECIPIENT,
	R_REJECT_NON_FQDN_HELO_HOSTNAME, R_REJECT_INVALID_HELO_HOSTNAME,
	R_REJECT_UNKNOWN_HELO_HOSTNAME,
	R_REJECT_UNKNOWN_CLIENT_HOSTNAME, R_REJECT_UNKNOWN_REVERSE_CLIENT_HOSTNAME,
	R_REJECT_UNLISTED_RECIPIENT, R_REJECT_UNLISTED_SENDER,
	R_CHECK_CLIENT_ACCESS, R_CHECK_REVERSE_CLIENT_HOSTNAME_ACCESS,
	R_CHECK_HELO_ACCESS, R_CHECK_SENDER_ACCESS, R_CHECK_RECIPIENT_ACCESS,
	R_REJECT_RBL_CLIENT, R_REJECT_RHSBL_CLIENT, R_REJECT_RHSBL_SENDER,
	R_REJECT_RHSBL_HELO, R_REJECT_RHSBL_RECIPIENT,
	R_PERMIT_DNSWL_CLIENT, R_CHECK_POLICY_SERVICE,
	R_REJECT_MULTI_RECIPIENT_BOUNCE,
	R_REJECT_SENDER_LOGIN_MISMATCH,
	R_REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH,
	R_REJECT_UNAUTHENTICATED_SENDER_LOGIN_MISMATCH,
	R_CLASS,			/* a restriction class: arg names it */
	R_COUNT
};

struct restriction_word {
	const char *name;
	enum restriction_code code;
	enum restriction_arg arg;
	bool	relay_check;		/* stops unauthorised relaying */
};

struct restriction {
	enum restriction_code code;
	const char *name;		/* Postfix's name */
	char   *arg;			/* NULL when none */
};

extern const struct restriction_word restriction_words[];

const struct restriction_word *restriction_word(const char *name);
int	restriction_parse(const char *value, struct restriction **list,
			  size_t *n, char *why, size_t whylen);
void	restriction_free(struct restriction *list, size_t n);
void	restriction_tables(const char *value,
			   void (*fn)(void *ctx, const char *spec), void *ctx);
bool	restriction_relay_ok(const char *value);
int	restriction_classes_set(const char *const *names,
				const char *const *values, size_t n);
const char *restriction_class(const char *name);
const char *restriction_class_name(const char *name);
void	restriction_classes_tables(void (*fn)(void *ctx, const char *spec),
				   void *ctx);

#endif
