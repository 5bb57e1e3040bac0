/*
 * NAME
 *	local_mbox - append a message to an mbox file
 * SYNOPSIS
 *	#include "local.h"
 *
 *	struct local_mbox_opts o = { .use_fcntl = true, ... };
 *	struct local_result r;
 *	local_mbox_deliver("/var/mail/alice", &msg, rcpt, &o, &r);
 * DESCRIPTION
 *	local_mbox_deliver() runs in a delivery child that already has
 *	the rights of the mailbox owner (or of whoever a /file target
 *	runs as).  It opens path without following a symbolic link,
 *	creating it (mode 0600) when it does not exist, and checks after
 *	the open that it is a regular file with one link, owned by
 *	o->want_uid.  Then it locks it as mailbox_delivery_lock says
 *	(fcntl and/or PATH.lock, each tried o->lock_attempts times
 *	o->lock_delay_ms apart; a PATH.lock older than o->stale_secs,
 *	stale_lock_time, or whose process is gone, is removed, when the
 *	directory lets the owner: see local_spool.c for a sticky spool),
 *	checks that the name still refers to the
 *	file it locked (a mail reader may have replaced the mailbox
 *	meanwhile; then it starts over, at most three times), checks
 *	mailbox_size_limit, and appends the message in mbox form (From_
 *	line, ">From " quoting, an empty line after), then fsync()s.  A
 *	failed write cuts the file back to its old size, so a mailbox
 *	never keeps half a message.  The result goes to r:
 *
 *	  2.0.0	delivered to mailbox
 *	  4.2.0	the mailbox is locked, is a symbolic link, has more than
 *		one link, has the wrong owner, or cannot be opened
 *	  4.3.0	no space (ENOSPC) or another write error
 *	  4.2.2	over the user's disk quota (EDQUOT)
 *	  5.2.2	mailbox_size_limit reached (or EFBIG)
 *
 *	local_mbox_locks() reads mailbox_delivery_lock ("fcntl",
 *	"dotlock", both, separated by commas or spaces); -1 for an
 *	unknown method.
 *
 *	local_result_set() fills a result; local_errno_dsn() maps an
 *	errno of a write to a status code (def for everything that is
 *	not a full disk or a quota).
 * SECURITY
 *	The open refuses symbolic links (O_NOFOLLOW) and, after the
 *	open, hard links, non-regular files and files of another owner;
 *	O_TRUNC is never used.  Nothing here runs as root: the caller has
 *	dropped to the owner's uid and gid first.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "local.h"
#include "num.h"
#include "safefile.h"
#include "str.h"

#define REOPEN_TRIES	3

void
local_result_set(struct local_result *r, int status, const char *dsn,
		 const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	(void) str_copy(r->dsn, sizeof(r->dsn), dsn);
	va_start(ap, fmt);
	str_vline(r->text, sizeof(r->text), fmt, ap);	/* one printable line */
	va_end(ap);
}

const char *
local_errno_dsn(int err, const char *def)
{
	switch (err) {
	case ENOSPC:
		return "4.3.0";
	case EDQUOT:
		return "4.2.2";
	case EFBIG:
		return "5.2.2";
	default:
		return def;
	}
}

static int
status_of(const char *dsn)
{
	return dsn[0] == '5' ? 5 : dsn[0] == '4' ? 4 : 0;
}

int
local_mbox_locks(const char *spec, bool *use_fcntl, bool *use_dotlock)
{
	char  **items;
	int     n, ret = 0;

	*use_fcntl = *use_dotlock = false;
	if ((n = config_list_split(spec, 16, &items)) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (str_casecmp(items[i], "fcntl") == 0)
			*use_fcntl = true;
		else if (str_casecmp(items[i], "dotlock") == 0)
			*use_dotlock = true;
		else
			ret = -1;
	}
	config_list_free(items, n);
	return ret;
}

/* pid_gone - no such process, or only its zombie (killed, not yet reaped) */
static bool
pid_gone(pid_t pid)
{
	char    path[64], stat[256];
	const char *p;
	ssize_t n;
	int     fd;

	if (kill(pid, 0) < 0)
		return errno == ESRCH;
	(void) str_fmt(path, sizeof(path), "/proc/%ld/stat", (long) pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, stat, sizeof(stat) - 1);
	(void) close(fd);
	if (n <= 0)
		return false;
	stat[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	if ((p = strrchr(stat, ')')) == NULL)
		return false;
	return p[1] == ' ' && p[2] == 'Z';
}

/*
 * clear_dead_dotlock - a dot-lock whose creator is gone is stale now.
 * Our locks (and liblockfile's) hold the creator's pid; a delivery
 * killed with -9 must not keep the mailbox for stale_lock_time.  Only
 * a lock that holds a pid and whose process does not exist (ESRCH) is
 * removed (a zombie counts as gone: a killed delivery whose parent died
 * too waits for init to reap it), and only if it is still the file that
 * was read.
 */
static void
clear_dead_dotlock(const char *path)
{
	char    lock[PATH_MAX], buf[32];
	struct stat st, now;
	long long pid;
	ssize_t n;
	int     fd;

	if (str_fmt(lock, sizeof(lock), "%s.lock", path) < 0)
		return;
	fd = open(lock, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 20
	    || (n = read(fd, buf, sizeof(buf) - 1)) <= 0) {
		(void) close(fd);
		return;
	}
	(void) close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (num_parse_int(buf, 2, INT32_MAX, &pid, NULL) < 0)
		return;
	if (!pid_gone((pid_t) pid))
		return;
	if (lstat(lock, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino)
		(void) unlink(lock);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* lock_fcntl - an exclusive fcntl lock, retried; 0 or -1 (errno) */
static int
lock_fcntl(int fd, const struct local_mbox_opts *o)
{
	for (int i = 0; i < o->lock_attempts; i++) {
		if (sf_lock(fd, 1, 0) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES)
			return -1;
		if (i + 1 < o->lock_attempts)
			sleep_ms(o->lock_delay_ms);
	}
	errno = EAGAIN;
	return -1;
}

void
local_mbox_deliver(const char *path, const struct local_msg *m,
		   const char *delivered_to, const struct local_mbox_opts *o,
		   struct local_result *r)
{
	struct stat st, now_st;
	const char *why;
	bool    dotlocked = false;
	off_t   old_size;
	int     fd = -1, saved;

	for (int tries = 0;; tries++) {
		fd = sf_open(AT_FDCWD, path, O_WRONLY | O_CREAT, 0600, o->want_uid,
			     &st, &why);
		if (fd < 0) {
			saved = errno;
			local_result_set(r, status_of(local_errno_dsn(saved, "4.2.0")),
					 local_errno_dsn(saved, "4.2.0"),
					 "cannot open mailbox %s: %s%s%s", path, why,
					 *why ? ": " : "", strerror(saved));
			return;
		}
		if (o->use_dotlock) {
			int     k = sf_dotlock(path, 1, 0, o->stale_secs);

			/* Held: by a live process, or by one that died? */
			if (k < 0 && errno == EAGAIN) {
				clear_dead_dotlock(path);
				k = sf_dotlock(path, o->lock_attempts, o->lock_delay_ms,
					       o->stale_secs);
			}
			if (k < 0) {
				saved = errno;
				(void) close(fd);
				if (saved == EAGAIN)
					local_result_set(r, 4, "4.2.0", "mailbox %s is locked "
							 "(dot-lock %s.lock held)", path, path);
				else
					local_result_set(r, 4, "4.2.0", "cannot create dot-lock "
							 "%s.lock: %s", path, strerror(saved));
				return;
			}
			dotlocked = true;
		}
		if (o->use_fcntl && lock_fcntl(fd, o) < 0) {
			saved = errno;
			goto lock_failed;
		}
		/* Did the name move while we locked?  Then lock the new file. */
		if (lstat(path, &now_st) == 0 && now_st.st_dev == st.st_dev
		    && now_st.st_ino == st.st_ino)
			break;
		if (dotlocked)
			(void) sf_dotunlock(path);
		dotlocked = false;
		(void) close(fd);
		fd = -1;
		if (tries + 1 >= REOPEN_TRIES) {
			local_result_set(r, 4, "4.2.0", "mailbox %s keeps being replaced "
					 "while it is locked", path);
			return;
		}
	}

	if ((old_size = lseek(fd, 0, SEEK_END)) < 0) {
		saved = errno;
		local_result_set(r, 4, "4.3.0", "mailbox %s: %s", path, strerror(saved));
		goto out;
	}
	if (o->size_limit > 0
	    && (uint64_t) old_size + m->hdr_len + m->body_len + 2 * LOCAL_PATH_MAX
	    > o->size_limit) {
		local_result_set(r, 5, "5.2.2", "mailbox %s is full "
				 "(mailbox_size_limit %llu bytes)", path,
				 (unsigned long long) o->size_limit);
		goto out;
	}
	if (local_copy_message(fd, m, delivered_to, LC_FROM_LINE | LC_MBOX_QUOTE,
			       time(NULL)) < 0 || fsync(fd) < 0) {
		saved = errno;
		/* Never leave half a message: the next one would join it. */
		if (ftruncate(fd, old_size) < 0 || fsync(fd) < 0)
			local_result_set(r, 4, local_errno_dsn(saved, "4.3.0"),
					 "cannot update mailbox %s: %s; and cannot cut "
					 "it back to its old size", path, strerror(saved));
		else
			local_result_set(r, status_of(local_errno_dsn(saved, "4.3.0")),
					 local_errno_dsn(saved, "4.3.0"),
					 "cannot update mailbox %s: %s", path, strerror(saved));
		goto out;
	}
	local_result_set(r, 0, "2.0.0", "delivered to mailbox");

out:
	if (dotlocked)
		(void) sf_dotunlock(path);
	(void) close(fd);
	return;

lock_failed:
	if (dotlocked)
		(void) sf_dotunlock(path);
	(void) close(fd);
	if (saved == EAGAIN)
		local_result_set(r, 4, "4.2.0", "mailbox %s is locked", path);
	else
		local_result_set(r, 4, "4.2.0", "cannot lock mailbox %s: %s", path,
				 strerror(saved));
}
