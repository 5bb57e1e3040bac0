/*
 * NAME
 *	sys_exits - sendmail-compatible exit status codes and what they mean
 * SYNOPSIS
 *	#include "sys_exits.h"
 *
 *	const struct sys_exit_info *x = sys_exits_lookup(status);
 *	log_info("... dsn=%s, status=%s (%s)", x->dsn,
 *	    sys_exits_is_temp(status) ? "deferred" : "bounced", x->text);
 * DESCRIPTION
 *	Delivery commands (|command in aliases and .forward, a
 *	mailbox_command) report failure through the <sysexits.h> codes,
 *	as they do under sendmail.  This module is the one table that
 *	turns such a code into an enhanced status code (RFC 3463) and a
 *	short text.
 *
 *	sys_exits_lookup() returns the table entry for code (EX_USAGE
 *	.. EX_CONFIG).  Any other code, 0 included, gets one fixed entry
 *	with code -1, dsn "5.3.0" and text "unknown mail system error":
 *	as in Postfix, a delivery command that fails with a status nobody
 *	defined (exit 1, say) has refused the message, and that is
 *	permanent; a command that wants a retry exits 75 (EX_TEMPFAIL).
 *	The caller logs the number itself.  The result is never NULL and
 *	points to static storage.
 *
 *	sys_exits_is_known() is true for EX_USAGE .. EX_CONFIG.
 *	sys_exits_is_temp() is true when the code's dsn class is 4
 *	(EX_OSERR and EX_TEMPFAIL).
 * BUGS
 *	EX_USAGE is 5.3.0 here as in Postfix
 *	(a delivery program's usage error is a local system problem, not
 *	a bad SMTP argument, so 5.5.4 would mislead the sender).
 */
#ifndef POSTERN_SYS_EXITS_H
#define POSTERN_SYS_EXITS_H

#include <stdbool.h>
#include <sysexits.h>

struct sys_exit_info {
	int	code;		/* EX_*, or -1 for the unknown entry */
	const char *dsn;	/* RFC 3463, "5.1.1" */
	const char *text;	/* lower case, no trailing period */
};

const struct sys_exit_info *sys_exits_lookup(int code);
bool	sys_exits_is_known(int code);
bool	sys_exits_is_temp(int code);

#endif
