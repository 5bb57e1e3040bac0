/*
 * NAME
 *	reach - the sockets and FIFOs a daemon has declared it talks to
 * SYNOPSIS
 *	#include "reach.h"
 *
 *	reach_limit(talks);	// {"private/cleanup", "public/qmgr", NULL}
 *	if (!reach_ok(path)) ... refuse ...
 * DESCRIPTION
 *	A daemon's server_ops name the endpoints it connects to
 *	(lib/svc/server.h, "talks"); the skeleton hands that list to
 *	reach_limit() before the first client, and ipc_connect() and
 *	trigger_open() ask reach_ok() before they touch a path.  An
 *	entry is a path relative to the queue directory ("private/lookup",
 *	"public/qmgr"), or a prefix followed by an asterisk ("private/"
 *	and an asterisk: any service in private/).  Without reach_limit() (commands, unit
 *	tests) every path is allowed.
 *
 *	reach_ok() returns true when path is allowed; otherwise it logs a
 *	warning the first time and returns false with errno EPERM.
 *
 *	reach_match() is the matching itself, for any such list (the
 *	skeleton uses it for declared parameters too): name equals an
 *	entry, or, for an entry with an asterisk, starts with what comes
 *	before the asterisk and ends with what comes after it
 *	("private/" and an asterisk, "*_maps", "smtpd_*_restrictions").
 *
 *	reach_endpoints() finds the UNIX-domain endpoints a configuration
 *	value names, for a declaration's "$name" entries (lib/svc/server.h):
 *	each word (words are separated by blanks and commas) that starts
 *	with "unix:" names the rest of the word (check_policy_service
 *	unix:private/policy); a word "socketmap:unix:PATH:MAP" names PATH;
 *	a value of one word without a colon is itself a path
 *	(smtpd_sasl_path = private/auth).  Other words (inet:HOST:PORT,
 *	table names, restriction names) name no UNIX endpoint.  The
 *	paths are copied, each NUL-terminated, into buf (size bytes);
 *	up to max pointers into it go to out.  It returns how many, or
 *	-1 when buf or out is too small.
 * SECURITY
 *	A daemon that an attacker steers (a crafted configuration
 *	override, a bug) cannot make it connect to an endpoint it was
 *	never meant to use; the list is what postern check and
 *	SECURITY.md's privilege table are held against.
 */
#ifndef POSTERN_REACH_H
#define POSTERN_REACH_H

#include <stdbool.h>
#include <stddef.h>

void	reach_limit(const char *const *allowed);
bool	reach_ok(const char *path);
bool	reach_match(const char *const *list, const char *name);
int	reach_endpoints(const char *value, char *buf, size_t size,
			const char **out, size_t max);

#endif
