/*
 * NAME
 *	priv - chroot and privilege drop, done once and verified
 * SYNOPSIS
 *	#include "priv.h"
 *
 *	struct priv_user u;
 *	if (priv_lookup(cfg->mail_owner, &u) < 0) log_fatal(...);
 *	priv_drop(&u, cfg->queue_directory);	// or NULL: no chroot
 * DESCRIPTION
 *	priv_lookup() finds a user by name (getpwnam) and fills uid, gid
 *	and home; it returns -1 when there is no such user.  It must run
 *	before any chroot, where the user database is out of reach.
 *
 *	priv_drop() is the only way a daemon gives up root: it chdirs to
 *	and chroots into root_dir (when not NULL), then setgroups() to
 *	exactly the user's primary group, setresgid(), setresuid(), and
 *	verifies the result: real, effective and saved ids are the user's,
 *	the supplementary groups are only that group, setuid(0) and
 *	setgid(0) fail, and the root directory is root_dir.  Any failure
 *	is fatal.  A uid of 0 is refused (fatal): postern's unprivileged
 *	daemons must never run as root.  It also sets PR_SET_DUMPABLE off
 *	and PR_SET_NO_NEW_PRIVS on.
 *
 *	priv_drop_ids() is priv_drop() for a uid/gid pair (local delivery
 *	children dropping to a recipient; root is refused there too) with
 *	no chroot.
 *
 *	priv_drop_ids_deliver() is the variant for local delivery
 *	children.  It differs in two ways.  It does not set
 *	PR_SET_NO_NEW_PRIVS: a command from a user's .forward runs as that
 *	user anyway, and must be able to run what the user could run at a
 *	shell, such as a setgid procmail or dotlockfile (no_new_privs
 *	would silently take their set-id bits away); nothing is gained,
 *	since the user can exec them directly.  And it may keep one
 *	supplementary group, extra_gid (-1 for none): the group of a
 *	mail spool directory that is group-writable but not
 *	world-writable (Debian's /var/mail is root:mail 2775), so that the
 *	child can create a mailbox or its dot-lock there as the
 *	recipient.  Everything else (root refused, ids verified, the way
 *	back closed, not dumpable) is as priv_drop_ids().
 *
 *	priv_check_not_root() is fatal when any of the process's ids is 0,
 *	for code that must never run privileged.
 *
 *	priv_as_begin() and priv_as_end() bracket what a root process
 *	does in a directory that a less privileged user can write (the
 *	master in private/ and public/, which belong to mail_owner): in
 *	between, the effective uid and gid and the group list are that
 *	user's, so the kernel checks every path with the user's rights
 *	and whatever is created belongs to the user from the start; no
 *	chown or chmod by path is ever needed, and a symbolic link or
 *	hard link planted there can reach nothing the user could not.
 *	The real and saved uids stay 0, so priv_as_end() can restore the
 *	effective ids and groups saved in *saved.  Any failure is fatal
 *	(a process half switched must not go on).  Not for threads:
 *	ids are per process.
 */
#ifndef POSTERN_PRIV_H
#define POSTERN_PRIV_H

#include <sys/types.h>

struct priv_user {
	uid_t	uid;
	gid_t	gid;
	char	name[64];
	char	home[1024];
};

int	priv_lookup(const char *name, struct priv_user *u);
void	priv_drop(const struct priv_user *u, const char *root_dir);
void	priv_drop_ids(uid_t uid, gid_t gid);
void	priv_drop_ids_deliver(uid_t uid, gid_t gid, gid_t extra_gid);
void	priv_check_not_root(void);

struct priv_as {
	uid_t	euid;
	gid_t	egid;
	int	ngroups;
	gid_t  *groups;
};

void	priv_as_begin(uid_t uid, gid_t gid, struct priv_as *saved);
void	priv_as_end(struct priv_as *saved);

#endif
