/*
 * NAME
 *	priv - chroot and privilege drop, done once and verified
 * DESCRIPTION
 *	See priv.h.  The order matters and is the usual one: chroot while
 *	still root (chroot needs CAP_SYS_CHROOT), then groups (setgroups
 *	needs CAP_SETGID), then the gid, and the uid last, because once
 *	the uid is gone nothing else can be changed.
 *
 *	Nothing is taken on trust afterwards.  The ids are read back with
 *	getresuid()/getresgid(), the group list with getgroups(), the
 *	kernel's capability sets with capget(), and the way back is tried:
 *	setuid(0), setgid(0) and setgroups() must all fail.  The new root
 *	is compared (device and inode) with the directory that was opened
 *	before the chroot, so a path that changed under us (a rename or a
 *	symlink swapped in) is caught.
 * SECURITY
 *	The root directory is opened once and entered with fchdir() and
 *	chroot("."), so the directory checked and the directory entered
 *	are the same object, whatever happens to the path meanwhile.
 *
 *	A gid of 0 is refused as well as a uid of 0: the group root owns
 *	files a mail daemon has no business reading, and with gid 0
 *	setgid(0) would succeed and the verification could not pass.
 *
 *	PR_SET_DUMPABLE is cleared after the uid change (setresuid()
 *	resets it), so that another process of the same user cannot
 *	ptrace the daemon or read its memory through /proc.
 *	PR_SET_NO_NEW_PRIVS makes any later execve() unable to gain
 *	privilege through a set-id file or file capabilities (except
 *	after priv_drop_ids_deliver(): see priv.h for why).
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "priv.h"
#include "str.h"

int
priv_lookup(const char *name, struct priv_user *u)
{
	struct passwd *pw;

	if (name == NULL || *name == '\0' || strlen(name) >= sizeof(u->name)) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		if (errno == 0)
			errno = ENOENT;
		return -1;
	}
	if (str_copy(u->home, sizeof(u->home), pw->pw_dir ? pw->pw_dir : "") < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void) str_copy(u->name, sizeof(u->name), name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

/* caps_all_clear - true when the effective and permitted sets are empty */
static int
caps_all_clear(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (syscall(SYS_capget, &hdr, data) < 0)
		log_fatal("privilege drop: cannot read capability sets: %m");
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective != 0 || data[i].permitted != 0)
			return 0;
	return 1;
}

/*
 * set_ids - groups, gid, uid, then the process flags; who names the
 * target in messages.
 */
static void
set_ids(uid_t uid, gid_t gid, gid_t extra, bool nnp, const char *who)
{
	gid_t   groups[2] = {gid, extra};

	if (uid == 0)
		log_fatal("refusing to run as %s: uid 0 (root); "
			  "set mail_owner to an unprivileged user", who);
	if (gid == 0 || extra == 0)
		log_fatal("refusing to run as %s: gid 0 (root); "
			  "give the user an unprivileged primary group", who);
	if (setgroups(extra == (gid_t) -1 || extra == gid ? 1 : 2, groups) < 0)
		log_fatal("privilege drop to %s: setgroups(%ld): %m", who, (long) gid);
	if (setresgid(gid, gid, gid) < 0)
		log_fatal("privilege drop to %s: setresgid(%ld): %m", who, (long) gid);
	if (setresuid(uid, uid, uid) < 0)
		log_fatal("privilege drop to %s: setresuid(%ld): %m", who, (long) uid);
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		log_fatal("privilege drop to %s: PR_SET_NO_NEW_PRIVS: %m", who);
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0)
		log_fatal("privilege drop to %s: PR_SET_DUMPABLE: %m", who);
}

/* verify_ids - prove that the drop happened and cannot be undone */
static void
verify_ids(uid_t uid, gid_t gid, gid_t extra, bool nnp, const char *who)
{
	uid_t   ru, eu, su;
	gid_t   rg, eg, sg;
	gid_t   groups[3];
	int     n, want = extra == (gid_t) -1 || extra == gid ? 1 : 2;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		log_fatal("privilege drop to %s: cannot read ids back: %m", who);
	if (ru != uid || eu != uid || su != uid)
		log_fatal("privilege drop to %s failed: uids are %ld/%ld/%ld, "
			  "want %ld", who, (long) ru, (long) eu, (long) su, (long) uid);
	if (rg != gid || eg != gid || sg != gid)
		log_fatal("privilege drop to %s failed: gids are %ld/%ld/%ld, "
			  "want %ld", who, (long) rg, (long) eg, (long) sg, (long) gid);

	/* One slot more than wanted: a group the kernel kept must show. */
	if ((n = getgroups(want + 1, groups)) < 0 && errno != EINVAL)
		log_fatal("privilege drop to %s: getgroups: %m", who);
	/* The kernel keeps the list sorted: compare as a set. */
	if (n < 0 || n > want
	    || (n == 1 && groups[0] != gid)
	    || (n == 2 && !((groups[0] == gid && groups[1] == extra)
			    || (groups[0] == extra && groups[1] == gid))))
		log_fatal("privilege drop to %s failed: supplementary groups "
			  "are not just %ld", who, (long) gid);

	if (!caps_all_clear())
		log_fatal("privilege drop to %s failed: capabilities remain", who);

	/* The way back must be closed.  Each call is harmless if refused. */
	if (setuid(0) == 0 || errno != EPERM)
		log_fatal("privilege drop to %s failed: setuid(0) was not refused", who);
	if (setgid(0) == 0 || errno != EPERM)
		log_fatal("privilege drop to %s failed: setgid(0) was not refused", who);
	if (setgroups(0, NULL) == 0 || errno != EPERM)
		log_fatal("privilege drop to %s failed: setgroups() was not refused", who);

	if (nnp && prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1)
		log_fatal("privilege drop to %s failed: no_new_privs is not set", who);
	if (prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
		log_fatal("privilege drop to %s failed: process is still dumpable", who);
}

void
priv_drop(const struct priv_user *u, const char *root_dir)
{
	struct stat before, now, cwd;
	int     fd;

	if (root_dir != NULL) {
		fd = open(root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			log_fatal("cannot open chroot directory %s: %m; "
				  "check queue_directory", root_dir);
		if (fstat(fd, &before) < 0)
			log_fatal("cannot stat chroot directory %s: %m", root_dir);
		if (fchdir(fd) < 0)
			log_fatal("cannot chdir to %s: %m", root_dir);
		(void) close(fd);
		if (chroot(".") < 0)
			log_fatal("cannot chroot to %s: %m", root_dir);
		if (stat("/", &now) < 0)
			log_fatal("chroot to %s: cannot stat the new root: %m", root_dir);
		if (now.st_dev != before.st_dev || now.st_ino != before.st_ino)
			log_fatal("chroot to %s failed: the root directory is not %s",
				  root_dir, root_dir);
	}

	set_ids(u->uid, u->gid, (gid_t) -1, true, u->name);
	verify_ids(u->uid, u->gid, (gid_t) -1, true, u->name);

	/* Checked again as the user: the drop must not have moved the root. */
	if (root_dir != NULL) {
		if (stat("/", &now) < 0 || stat(".", &cwd) < 0)
			log_fatal("chroot to %s: cannot stat / or . as %s: %m",
				  root_dir, u->name);
		if (now.st_dev != before.st_dev || now.st_ino != before.st_ino
		    || cwd.st_dev != before.st_dev || cwd.st_ino != before.st_ino)
			log_fatal("chroot to %s failed: root or working directory "
				  "moved after the privilege drop", root_dir);
	}
}

void
priv_drop_ids(uid_t uid, gid_t gid)
{
	char    who[64];

	(void) str_fmt(who, sizeof(who), "uid %ld gid %ld", (long) uid, (long) gid);
	set_ids(uid, gid, (gid_t) -1, true, who);
	verify_ids(uid, gid, (gid_t) -1, true, who);
}

/* priv_drop_ids_deliver - see priv.h: no no_new_privs, one extra group */
void
priv_drop_ids_deliver(uid_t uid, gid_t gid, gid_t extra_gid)
{
	char    who[64];

	(void) str_fmt(who, sizeof(who), "uid %ld gid %ld", (long) uid, (long) gid);
	set_ids(uid, gid, extra_gid, false, who);
	verify_ids(uid, gid, extra_gid, false, who);
}

void
priv_check_not_root(void)
{
	uid_t   ru, eu, su;
	gid_t   rg, eg, sg;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		log_fatal("cannot read process ids: %m");
	if (ru == 0 || eu == 0 || su == 0 || rg == 0 || eg == 0 || sg == 0)
		log_fatal("this program must not run with root privilege "
			  "(uids %ld/%ld/%ld, gids %ld/%ld/%ld)",
			  (long) ru, (long) eu, (long) su,
			  (long) rg, (long) eg, (long) sg);
}

/*
 * priv_as_begin - effective ids and groups of uid/gid, saved ones kept.
 * Groups first and the uid last: once the effective uid is not 0 the
 * effective capabilities are gone, and setgroups() needs CAP_SETGID.
 */
void
priv_as_begin(uid_t uid, gid_t gid, struct priv_as *saved)
{
	int     n;

	if (uid == 0 || gid == 0)
		log_panic("priv_as_begin: uid %ld gid %ld: not a less privileged user",
			  (long) uid, (long) gid);
	saved->euid = geteuid();
	saved->egid = getegid();
	if (saved->euid != 0)
		log_panic("priv_as_begin: effective uid is %ld, not 0", (long) saved->euid);
	if ((n = getgroups(0, NULL)) < 0)
		log_fatal("priv_as_begin: getgroups: %m");
	saved->groups = xcalloc((size_t) n + 1, sizeof(gid_t));
	if ((saved->ngroups = getgroups(n, saved->groups)) < 0)
		log_fatal("priv_as_begin: getgroups: %m");
	if (setgroups(1, &gid) < 0)
		log_fatal("cannot take the groups of uid %ld: setgroups(%ld): %m",
			  (long) uid, (long) gid);
	if (setresgid((gid_t) -1, gid, (gid_t) -1) < 0)
		log_fatal("cannot take effective gid %ld: %m", (long) gid);
	if (setresuid((uid_t) -1, uid, (uid_t) -1) < 0)
		log_fatal("cannot take effective uid %ld: %m", (long) uid);
	if (geteuid() != uid || getegid() != gid)
		log_fatal("effective ids are %ld/%ld after taking %ld/%ld",
			  (long) geteuid(), (long) getegid(), (long) uid, (long) gid);
}

void
priv_as_end(struct priv_as *saved)
{
	if (setresuid((uid_t) -1, saved->euid, (uid_t) -1) < 0)
		log_fatal("cannot take back effective uid %ld: %m", (long) saved->euid);
	if (setresgid((gid_t) -1, saved->egid, (gid_t) -1) < 0)
		log_fatal("cannot take back effective gid %ld: %m", (long) saved->egid);
	if (setgroups((size_t) saved->ngroups, saved->groups) < 0)
		log_fatal("cannot take back the group list: %m");
	if (geteuid() != saved->euid || getegid() != saved->egid)
		log_fatal("effective ids are %ld/%ld after taking back %ld/%ld",
			  (long) geteuid(), (long) getegid(), (long) saved->euid,
			  (long) saved->egid);
	free(saved->groups);
	saved->groups = NULL;
}
