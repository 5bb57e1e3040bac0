/*
 * NAME
 *	daemon_decl - what a daemon declares it may be, and master.cf held
 *	against it
 * SYNOPSIS
 *	#include "daemon_decl.h"
 *
 *	const struct daemon_decl *d;
 *	if ((d = daemon_decl_get("/usr/libexec/postern/smtpd", "postern",
 *				 why, sizeof(why))) == NULL) ...
 *	n += daemon_decl_check(params, &mc, problems);	// postern check
 * DESCRIPTION
 *	Every daemon's server_ops say whether it runs as root, whether it
 *	must, may or must not be chrooted, which endpoints it connects to
 *	and which main.cf parameters it reads (lib/svc/server.h); "DAEMON -D"
 *	prints that.  daemon_decl_get() runs path with -D (as user, when
 *	called as root; execve with a fixed argument vector and an empty
 *	environment; at most DECL_WAIT_MS) and parses the answer.  Answers
 *	are kept per file (device, inode, size, time) for the life of the
 *	process, so a reload asks again only a program that changed.  It
 *	returns the declaration (owned by the cache), or NULL with why
 *	(not a postern daemon, no answer, a malformed line).
 *
 *	daemon_decl_check() asks every program that master.cf runs and
 *	appends one line per contradiction to problems, returning their
 *	count:
 *	  - the unpriv column says y (or -) for a daemon that runs as root,
 *	    or n for one that must not;
 *	  - the chroot column says n for a daemon that must be chrooted,
 *	    or y for one that must not;
 *	  - an -o override names a parameter the daemon does not read;
 *	  - a program that does not answer -D.
 *	An endpoint a daemon talks to that no master.cf service provides
 *	(or that is public where the name says private/) is only noted
 *	(log_info): master.cf may leave a part of the system out.
 * SECURITY
 *	The programs run are the ones the master will run (daemon_directory
 *	and master.cf's command), with -D only; as root, the child drops
 *	to mail_owner before execve.
 */
#ifndef POSTERN_DAEMON_DECL_H
#define POSTERN_DAEMON_DECL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "mastercf.h"
#include "params.h"

#define DECL_LIST_MAX	256
#define DECL_WAIT_MS	5000

enum decl_chroot { DECL_CHROOT_MAY, DECL_CHROOT_MUST, DECL_CHROOT_NEVER };

struct daemon_decl {
	char	name[64];
	bool	event;			/* model event (else single) */
	bool	root;			/* runs as root */
	enum decl_chroot chroot;
	char   *talks[DECL_LIST_MAX + 1];	/* NULL-terminated */
	char   *params[DECL_LIST_MAX + 1];	/* NULL-terminated */
	char   *text;			/* the answer; the lists point into it */
};

const struct daemon_decl *daemon_decl_get(const char *path, const char *user,
					  char *why, size_t whylen);
int	daemon_decl_check(const struct params *p, const struct mastercf *mc,
			  struct buf *problems);

#endif
