/*
 * NAME
 *	local_spool - what others left in a shared mail spool directory
 * SYNOPSIS
 *	#include "local.h"
 *
 *	if (local_spool_check(cfg->mail_spool_directory, u, &r) < 0)
 *		return;			// r says why the delivery waits
 * DESCRIPTION
 *	mbox files live in mail_spool_directory, which everyone's mail
 *	shares.  The model is Debian's /var/mail: root:mail, mode 2775
 *	(postern init makes the instance's so).  Only local's delivery
 *	children (which keep the directory's group, local_deliver.c) and
 *	set-group-id mail programs (dotlockfile, mail readers) create
 *	entries there, so no user can make a name for another.
 *
 *	A spool that everyone may write (mode 1777, as some systems
 *	have it) lets any user create USER or USER.lock for another
 *	user, and the sticky bit then keeps USER from removing them:
 *	mail to USER would wait for ever.  local_spool_check() runs in
 *	local before every delivery to DIR/USER and turns that into a
 *	bounded, explained failure or repairs it:
 *
 *	  - DIR/USER is there but is not a regular file of USER's with
 *	    one link (a symbolic link, another user's file, a FIFO ...):
 *	    the delivery is deferred (4.2.0) with a reason that names the
 *	    owner, and a warning tells the administrator.  Nothing is
 *	    removed (it may hold mail).  As with any deferral, the message
 *	    returns to its sender after maximal_queue_lifetime.
 *	  - DIR/USER.lock is older than stale_lock_time, belongs to
 *	    another user (not USER, not root), and the directory is
 *	    sticky, so USER cannot remove it: local removes it, as the
 *	    user who made it, and warns.  A younger one is left: the
 *	    delivery waits as for any lock (deliver_lock_attempts).
 *	In a directory without the sticky bit the delivery child
 *	removes a stale lock itself (sf_dotlock()).
 *
 *	It returns 0 when the delivery may go on, -1 with r set.
 * SECURITY
 *	local is root and the directory is writable by others, so it
 *	never acts there by name as root: it looks with fstatat() on a
 *	descriptor of the directory (opened without following a link),
 *	never following a link, and removes a stale lock with the
 *	effective ids of the lock's owner (priv_as_begin()), whom the
 *	sticky bit lets remove that user's own entries only: if the name
 *	has been replaced meanwhile by someone else's file, the removal
 *	fails and nothing else is touched.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "params.h"
#include "priv.h"
#include "str.h"

/* stale_lock - remove NAME.lock of another user, as that user; see above */
static void
stale_lock(int dfd, const char *dir, const char *name, const struct local_user *u,
	   const struct stat *dst)
{
	char    lock[LOCAL_NAME_MAX + 8];
	struct priv_as as;
	struct stat st;
	time_t  age;
	int     r, saved;

	if (str_fmt(lock, sizeof(lock), "%s.lock", name) < 0
	    || fstatat(dfd, lock, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	age = time(NULL) - st.st_mtime;
	if (!(dst->st_mode & S_ISVTX) || st.st_uid == u->uid || st.st_uid == 0
	    || st.st_gid == 0 || S_ISDIR(st.st_mode) || age <= (time_t) cfg->stale_lock_time)
		return;
	priv_as_begin(st.st_uid, st.st_gid, &as);
	r = unlinkat(dfd, lock, 0);
	saved = errno;
	priv_as_end(&as);
	if (r == 0)
		log_warn("removed %s/%s: a lock of uid %ld, %ld s old (stale_lock_time "
			 "%lld s), that %s could not remove from the sticky spool "
			 "directory; who made it?", dir, lock, (long) st.st_uid,
			 (long) age, (long long) cfg->stale_lock_time, u->name);
	else
		log_warn("cannot remove the stale lock %s/%s of uid %ld: %s",
			 dir, lock, (long) st.st_uid, strerror(saved));
}

int
local_spool_check(const char *dir, const struct local_user *u, struct local_result *res)
{
	struct stat dst, st;
	int     dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0
	    || fstat(dfd, &dst) < 0) {
		local_result_set(res, 4, "4.3.0", "mail spool directory %s: %s", dir,
				 strerror(errno));
		if (dfd >= 0)
			(void) close(dfd);
		return -1;
	}
	/* A spool only root and its group write holds nothing of strangers. */
	if (!(dst.st_mode & S_IWOTH)) {
		(void) close(dfd);
		return 0;
	}
	if (fstatat(dfd, u->name, &st, AT_SYMLINK_NOFOLLOW) == 0
	    && (!S_ISREG(st.st_mode) || st.st_uid != u->uid || st.st_nlink != 1)) {
		const char *what = S_ISLNK(st.st_mode) ? "a symbolic link"
		    : !S_ISREG(st.st_mode) ? "not a regular file"
		    : st.st_uid != u->uid ? "a file" : "a file with more than one link";

		log_warn("mailbox %s/%s of %s is %s of uid %ld: mail to %s waits until "
			 "it is removed (mail_spool_directory is writable by everyone; "
			 "Debian's model is root:mail 2775)", dir, u->name, u->name, what,
			 (long) st.st_uid, u->name);
		local_result_set(res, 4, "4.2.0", "mailbox %s/%s is %s of uid %ld, not "
				 "a file of %s's", dir, u->name, what, (long) st.st_uid,
				 u->name);
		(void) close(dfd);
		return -1;
	}
	stale_lock(dfd, dir, u->name, u, &dst);
	(void) close(dfd);
	return 0;
}
