/*
 * NAME
 *	local_maildir - deliver a message into a maildir
 * SYNOPSIS
 *	#include "local.h"
 *
 *	local_maildir_deliver("/home/alice/Maildir/", &msg, rcpt, host, uid, &r);
 * DESCRIPTION
 *	local_maildir_name() makes the unique file name
 *	"SECONDS.PID_N.HOST", where HOST has '/' written as "\057" and
 *	':' as "\072" (the maildir convention, since ':' starts the flags
 *	of a file in cur/) and control characters dropped.  It returns 0,
 *	or -1 when size is too small.
 *
 *	local_maildir_deliver() runs in a delivery child that already
 *	has the rights of the mailbox owner.  It writes the message to a
 *	new file in tmp/ (O_EXCL,
 *	O_NOFOLLOW, checked owner; another name is tried if the name is
 *	taken), fsync()s it, moves it into new/ without replacing
 *	anything there (renameat2 RENAME_NOREPLACE, or link() and
 *	unlink() where the file system lacks it) and fsync()s new/, so
 *	that the delivery is on disk before local says so.  The maildir
 *	(dir, dir/tmp, dir/new, dir/cur, mode 0700) is created where parts
 *	are missing only when the file cannot be made in tmp/ (ENOENT) or
 *	moved into new/ (ENOENT), and tried once more: an existing
 *	maildir costs no mkdir or stat per delivery.  On any
 *	failure the file in tmp/ is removed.  Results: 2.0.0 "delivered
 *	to maildir"; 4.2.0 a maildir part that cannot be made or opened;
 *	4.3.0 or 4.2.2 a full disk or quota (local_errno_dsn()).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "safefile.h"
#include "str.h"

#define NAME_TRIES	10

static unsigned name_seq;	/* names made by this process */

int
local_maildir_name(char *out, size_t size, time_t t, pid_t pid, unsigned seq,
		   const char *host)
{
	char    h[256];
	size_t  o = 0;

	for (const char *p = host; *p && o + 5 < sizeof(h); p++) {
		if (*p == '/') {
			memcpy(h + o, "\\057", 4);
			o += 4;
		} else if (*p == ':') {
			memcpy(h + o, "\\072", 4);
			o += 4;
		} else if ((unsigned char) *p > ' ' && *p != 0x7f)
			h[o++] = *p;
	}
	h[o] = '\0';
	if (o == 0)
		(void) str_copy(h, sizeof(h), "localhost");
	return str_fmt(out, size, "%lld.%ld_%u.%s", (long long) t, (long) pid, seq, h);
}

/* make_dir - mkdir that accepts an existing directory */
static int
make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* make_maildir - the parts of a maildir that are missing; -1 sets r */
static int
make_maildir(const char *base, const char *tmpd, const char *newd,
	     const char *curd, struct local_result *r)
{
	int     saved;

	/*
	 * The new entries are made durable too (base's own, in its parent,
	 * and tmp/ new/ cur/ in base): the fsync of new/ after the move
	 * would not keep a message whose new/ vanished in a crash.
	 */
	if (make_dir(base) < 0 || make_dir(tmpd) < 0 || make_dir(newd) < 0
	    || make_dir(curd) < 0 || sf_fsync_dir(base) < 0 || sf_fsync_parent(base) < 0) {
		saved = errno;
		local_result_set(r, 4, local_errno_dsn(saved, "4.2.0"),
				 "cannot create maildir %s: %s", base, strerror(saved));
		return -1;
	}
	return 0;
}

/* move_noreplace - rename from to to, failing with EEXIST if to exists */
static int
move_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) < 0)
		return -1;
	(void) unlink(from);
	return 0;
}

void
local_maildir_deliver(const char *dir, const struct local_msg *m,
		      const char *delivered_to, const char *host,
		      uid_t want_uid, struct local_result *r)
{
	char    base[LOCAL_PATH_MAX + 1], tmpd[LOCAL_PATH_MAX + 16];
	char    newd[LOCAL_PATH_MAX + 16], curd[LOCAL_PATH_MAX + 16];
	char    name[512], tmpf[LOCAL_PATH_MAX + 600], newf[LOCAL_PATH_MAX + 600];
	const char *why = "";
	size_t  n;
	int     fd, saved, moved;
	bool	made = false;
	time_t  now = time(NULL);

	/* "Maildir/" and "Maildir" name the same directory. */
	if (str_copy(base, sizeof(base), dir) < 0) {
		local_result_set(r, 5, "5.3.5", "maildir path too long: %.100s", dir);
		return;
	}
	n = strlen(base);
	while (n > 1 && base[n - 1] == '/')
		base[--n] = '\0';
	if (str_fmt(tmpd, sizeof(tmpd), "%s/tmp", base) < 0
	    || str_fmt(newd, sizeof(newd), "%s/new", base) < 0
	    || str_fmt(curd, sizeof(curd), "%s/cur", base) < 0) {
		local_result_set(r, 5, "5.3.5", "maildir path too long: %.100s", dir);
		return;
	}
	/*
	 * The maildir is made only when it is missing: a file in tmp/ is
	 * tried first, and ENOENT (no maildir, or no tmp/) or, at the
	 * move, no new/ makes the parts and tries again, once.
	 */
	for (int tries = 0;; tries++) {
		if (local_maildir_name(name, sizeof(name), now, log_pid(), ++name_seq, host) < 0
		    || str_fmt(tmpf, sizeof(tmpf), "%s/%s", tmpd, name) < 0
		    || str_fmt(newf, sizeof(newf), "%s/%s", newd, name) < 0) {
			local_result_set(r, 5, "5.3.5", "maildir path too long: %.100s", dir);
			return;
		}
		fd = sf_open(AT_FDCWD, tmpf, O_WRONLY | O_CREAT | O_EXCL, 0600,
			     want_uid, NULL, &why);
		if (fd < 0 && errno == ENOENT && !made) {
			if (make_maildir(base, tmpd, newd, curd, r) < 0)
				return;
			made = true;
			continue;
		}
		if (fd < 0) {
			saved = errno;
			/* A name taken in tmp/ or in new/: the next one. */
			if (saved == EEXIST && tries + 1 < NAME_TRIES)
				continue;
			local_result_set(r, 4, local_errno_dsn(saved, "4.2.0"),
					 "cannot create file in maildir %s: %s", tmpd,
					 strerror(saved));
			return;
		}
		if (local_copy_message(fd, m, delivered_to, 0, now) < 0 || fsync(fd) < 0) {
			saved = errno;
			(void) close(fd);
			(void) unlink(tmpf);
			local_result_set(r, saved == EFBIG ? 5 : 4,
					 local_errno_dsn(saved, "4.3.0"),
					 "cannot write to maildir %s: %s", base, strerror(saved));
			return;
		}
		if (close(fd) < 0) {
			saved = errno;
			(void) unlink(tmpf);
			local_result_set(r, 4, local_errno_dsn(saved, "4.2.0"),
					 "cannot write to maildir %s: %s", base, strerror(saved));
			return;
		}
		moved = move_noreplace(tmpf, newf);
		if (moved < 0 && errno == ENOENT && !made) {
			/* tmp/ is there, new/ is not: make what is missing, once. */
			if (make_maildir(base, tmpd, newd, curd, r) < 0) {
				(void) unlink(tmpf);
				return;
			}
			made = true;
			moved = move_noreplace(tmpf, newf);
		}
		if (moved == 0)
			break;
		saved = errno;
		(void) unlink(tmpf);
		if (saved == EEXIST && tries + 1 < NAME_TRIES)
			continue;
		local_result_set(r, 4, local_errno_dsn(saved, "4.2.0"),
				 "cannot move message into %s: %s", newd, strerror(saved));
		return;
	}
	if (sf_fsync_dir(newd) < 0) {
		saved = errno;
		local_result_set(r, 4, local_errno_dsn(saved, "4.2.0"),
				 "cannot sync %s: %s", newd, strerror(saved));
		return;
	}
	local_result_set(r, 0, "2.0.0", "delivered to maildir");
}
