/*
 * NAME
 *	qtree - the queue directory tree: names, owners, modes
 * SYNOPSIS
 *	#include "qtree.h"
 *
 *	if (qtree_create(cfg, &err) < 0) ...	// postern init, master start
 *	n = qtree_check(cfg, &problems);	// postern check
 * DESCRIPTION
 *	The one table of the directories under queue_directory, with the
 *	owner, group and mode each must have (SECURITY.md explains why):
 *
 *	  .		root:root	 0755
 *	  maildrop	owner:setgid	 1730  postdrop writes, nobody lists
 *	  incoming active deferred hold corrupt
 *	  		owner:owner	 0700
 *	  spool		owner:owner	 0700  smtpd's unnamed DATA files
 *	  private	owner:owner	 0700  daemon sockets
 *	  public	owner:setgid	 0711  wake-up fifos, showq
 *	  pid		root:root	 0755
 *
 *	plus data_directory (root:root 0700).  "owner" is mail_owner and
 *	"setgid" is setgid_group.
 *
 *	qtree_create() creates missing directories and corrects owner,
 *	group and mode of existing ones (never following a symlink); it
 *	returns 0, or -1 with the problems appended to err.  It must run
 *	as root.  qtree_check() only inspects, appends one line per
 *	problem to out ("queue directory /x/incoming: mode 0755, want
 *	0700 (run postern init or fix by hand)") and returns the count.
 *	qtree_user_ids() looks up mail_owner and setgid_group.
 */
#ifndef POSTERN_QTREE_H
#define POSTERN_QTREE_H

#include <sys/types.h>

#include "buf.h"
#include "params.h"

extern const char *const qtree_queues[];	/* incoming active deferred hold corrupt */

int	qtree_user_ids(const struct params *p, uid_t *owner, gid_t *owner_gid,
		       gid_t *setgid_gid, struct buf *err);
int	qtree_create(const struct params *p, struct buf *err);
int	qtree_check(const struct params *p, struct buf *out);

#endif
