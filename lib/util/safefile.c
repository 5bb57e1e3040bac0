/*
 * NAME
 *	safefile - careful file operations: no symlinks, checked owners,
 *	durable replacement, locks
 * DESCRIPTION
 *	See safefile.h.  Notes on what the header leaves open:
 *
 *	sf_open() never lets the kernel truncate before the checks:
 *	O_TRUNC is taken out of the open() flags and done with
 *	ftruncate() once the file has passed, so a hard link planted to
 *	another user's file is refused without damage.  The open also
 *	carries O_NOCTTY and, unless O_CREAT|O_EXCL makes the file ours,
 *	O_NONBLOCK (cleared again once the file has passed, unless the
 *	caller asked for it), so a FIFO or a device planted where a
 *	mailbox should be cannot hang the opener.
 *
 *	sf_replace_begin() names its temporary file PATH.tmp.PID.N and
 *	gives it exactly the mode asked for (fchmod() after create, so
 *	the umask does not matter).  After sf_replace_commit() or
 *	sf_replace_abort(), r->fd is -1 and the temporary name is gone.
 *
 *	sf_dotlock() returns -1 with errno EAGAIN when the lock is still
 *	held after all attempts; other errors (no permission in the
 *	directory, ...) end the attempts at once with their own errno.
 *	The lock file holds the pid of its creator.
 *
 *	sf_lock() takes open-file-description locks (F_OFD_SETLK), not
 *	the classic per-process kind.  A classic lock is dropped when the
 *	process closes any descriptor of the file, so a daemon that holds
 *	its pidfile lock and then reads the pidfile (or a delivery that
 *	opens a locked mailbox twice) would lose the lock silently.  OFD
 *	locks and classic locks conflict with each other, so mutt,
 *	procmail and other mailbox users still see ours.  An OFD lock is
 *	shared with children forked while the descriptor is open; the
 *	descriptors here are close-on-exec, so it ends at their exec.
 *
 *	sf_pidfile_read() asks the kernel (F_OFD_GETLK) whether the file
 *	is locked; an OFD query conflicts even with the caller's own
 *	lock, so a process holding its pidfile gets its own pid back.
 *	The pid itself comes from the file, which the holder writes
 *	right after locking.
 * SECURITY
 *	O_NOFOLLOW covers the last path component only: directories on
 *	the way must be trusted (root- or mail_owner-owned), as they are
 *	for the queue and for /var/mail.
 * BUGS
 *	Removing a stale dot-lock races with another process doing the
 *	same: between the age check and the unlink(), the other process
 *	may have removed the stale lock and made a fresh one, which we
 *	then remove.  Every dot-lock user (procmail, mutt, liblockfile)
 *	has the same window; the fcntl() lock, taken as well, is the one
 *	that does not race.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "num.h"
#include "safefile.h"
#include "str.h"

#define WHY(w)	do { if (why) *why = (w); } while (0)

int
sf_open(int dirfd, const char *path, int flags, mode_t mode, uid_t want_uid,
	struct stat *st, const char **why)
{
	struct stat sb;
	int     fd, saved, excl;

	WHY("");
	/* A file we create with O_EXCL is ours and regular: no O_NONBLOCK. */
	excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	fd = openat(dirfd, path, (flags & ~O_TRUNC) | O_NOFOLLOW | O_CLOEXEC
		    | O_NOCTTY | (excl ? 0 : O_NONBLOCK), mode);
	if (fd < 0) {
		WHY(errno == ELOOP ? "is a symbolic link" : "cannot open");
		return -1;
	}
	if (fstat(fd, &sb) < 0) {
		WHY("cannot fstat");
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		WHY("not a regular file");
		errno = EPERM;
		goto fail;
	}
	if (sb.st_nlink != 1) {
		WHY(sb.st_nlink == 0 ? "was removed while being opened"
		    : "has more than one hard link");
		errno = EPERM;
		goto fail;
	}
	if (want_uid != SF_ANY_UID && sb.st_uid != want_uid) {
		WHY("has the wrong owner");
		errno = EPERM;
		goto fail;
	}
	/* F_SETFL looks at the status flags only (O_APPEND, O_NONBLOCK, ...). */
	if (!excl && (flags & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, flags) < 0) {
		WHY("cannot clear O_NONBLOCK");
		goto fail;
	}
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && sb.st_size > 0) {
		if (ftruncate(fd, 0) < 0) {
			WHY("cannot truncate");
			goto fail;
		}
		sb.st_size = 0;
	}
	if (st)
		*st = sb;
	return fd;

fail:
	saved = errno;
	(void) close(fd);
	errno = saved;
	return -1;
}

int
sf_write_all(int fd, const void *p, size_t n)
{
	const char *cp = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, cp, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {			/* no progress: would loop forever */
			errno = EIO;
			return -1;
		}
		cp += w;
		n -= (size_t) w;
	}
	return 0;
}

int
sf_pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	const char *cp = p;
	ssize_t w;

	while (n > 0) {
		if ((w = pwrite(fd, cp, n, off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		cp += w;
		n -= (size_t) w;
		off += w;
	}
	return 0;
}

ssize_t
sf_read_all(int fd, void *p, size_t n)
{
	char   *cp = p;
	size_t  got = 0;
	ssize_t r;

	if (n > SSIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	while (got < n) {
		if ((r = read(fd, cp + got, n - got)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t) r;
	}
	return (ssize_t) got;
}

int
sf_sync(int fd)
{
	struct statvfs vfs;

	if (fsync(fd) < 0 && errno != EINVAL)
		return -1;
	/*
	 * A file system that turned itself read-only after an I/O error
	 * (ext4's errors=remount-ro) answers every later fsync with 0
	 * without writing anything: a sync there proves nothing.
	 */
	if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
		errno = EROFS;
		return -1;
	}
	return 0;
}

/* fsync_dir - sf_sync() of a directory, under its flock when locked */
static int
fsync_dir(const char *dir, bool locked)
{
	int     fd, r = 0, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (locked)
		while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
			;
	if (r == 0)
		r = sf_sync(fd);
	saved = errno;
	(void) close(fd);		/* the lock goes with it */
	errno = saved;
	return r;
}

int
sf_fsync_dir(const char *dir)
{
	return fsync_dir(dir, false);
}

int
sf_fsync_dir_locked(const char *dir)
{
	return fsync_dir(dir, true);
}

int
sf_fsync_parent(const char *path)
{
	char    dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t  len;

	if (slash == NULL)
		return sf_fsync_dir(".");
	len = (size_t) (slash - path);
	if (len == 0)
		return sf_fsync_dir("/");
	if (len >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, len);
	dir[len] = '\0';
	return sf_fsync_dir(dir);
}

int
sf_replace_begin(struct sf_replace *r, const char *path, mode_t mode)
{
	static unsigned counter;
	int     fd = -1;

	r->fd = -1;
	r->tmp[0] = '\0';
	if (str_copy(r->path, sizeof(r->path), path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* EEXIST: a leftover of a crashed process with our pid; try on. */
	for (int tries = 0; tries < 100 && fd < 0; tries++) {
		if (str_fmt(r->tmp, sizeof(r->tmp), "%s.tmp.%ld.%u",
			    path, (long) getpid(), counter++) < 0) {
			r->tmp[0] = '\0';
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(r->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  mode & 07777);
		if (fd < 0 && errno != EEXIST) {
			r->tmp[0] = '\0';
			return -1;
		}
	}
	if (fd < 0) {
		r->tmp[0] = '\0';
		return -1;
	}
	r->fd = fd;
	if (fchmod(fd, mode & 07777) < 0) {
		int     saved = errno;

		sf_replace_abort(r);
		errno = saved;
		return -1;
	}
	return 0;
}

int
sf_replace_commit(struct sf_replace *r)
{
	int     saved;

	if (r->fd < 0 || r->tmp[0] == '\0') {
		errno = EBADF;
		return -1;
	}
	if (fsync(r->fd) < 0)
		goto fail;
	if (close(r->fd) < 0) {
		r->fd = -1;
		goto fail;
	}
	r->fd = -1;
	if (rename(r->tmp, r->path) < 0)
		goto fail;
	r->tmp[0] = '\0';
	/* The new name is in place; only its durability is still open. */
	return sf_fsync_parent(r->path);

fail:
	saved = errno;
	sf_replace_abort(r);
	errno = saved;
	return -1;
}

void
sf_replace_abort(struct sf_replace *r)
{
	int     saved = errno;

	if (r->fd >= 0)
		(void) close(r->fd);
	r->fd = -1;
	if (r->tmp[0] != '\0')
		(void) unlink(r->tmp);
	r->tmp[0] = '\0';
	errno = saved;
}

int
sf_replace(const char *path, const void *p, size_t n, mode_t mode)
{
	struct sf_replace r;
	int     saved;

	if (sf_replace_begin(&r, path, mode) < 0)
		return -1;
	if (sf_write_all(r.fd, p, n) < 0) {
		saved = errno;
		sf_replace_abort(&r);
		errno = saved;
		return -1;
	}
	return sf_replace_commit(&r);
}

int
sf_lock(int fd, int exclusive, int wait)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0;				/* the whole file, however long */
	fl.l_pid = 0;				/* required for OFD locks */
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		if (errno == EINTR && wait)
			continue;
		return -1;
	}
	return 0;
}

int
sf_unlock(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	return fcntl(fd, F_OFD_SETLK, &fl);
}

static void
sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long) (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
sf_dotlock(const char *path, int attempts, int delay_ms, int stale_secs)
{
	char    lock[PATH_MAX], pid[32];
	struct stat st;
	int     fd, saved, removed = 0;

	if (str_fmt(lock, sizeof(lock), "%s.lock", path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (attempts < 1)
		attempts = 1;
	if (delay_ms < 0)
		delay_ms = 0;
	for (int i = 0; i < attempts; i++) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			(void) str_fmt(pid, sizeof(pid), "%ld\n", (long) getpid());
			if (sf_write_all(fd, pid, strlen(pid)) < 0 || close(fd) < 0) {
				saved = errno;
				(void) unlink(lock);
				errno = saved;
				return -1;
			}
			return 0;
		}
		if (errno != EEXIST)
			return -1;
		if (stale_secs > 0 && lstat(lock, &st) == 0
		    && time(NULL) - st.st_mtime > stale_secs) {
			/*
			 * Left by a process that died: remove it and try again
			 * at once, without using up an attempt (bounded, in
			 * case stale locks keep appearing).
			 */
			if (unlink(lock) < 0 && errno != ENOENT)
				return -1;
			if (removed++ < 3)
				i--;
			continue;
		}
		if (i + 1 < attempts && delay_ms > 0)
			sleep_ms(delay_ms);
	}
	errno = EAGAIN;
	return -1;
}

int
sf_dotunlock(const char *path)
{
	char    lock[PATH_MAX];

	if (str_fmt(lock, sizeof(lock), "%s.lock", path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return unlink(lock);
}

int
sf_pidfile_lock(const char *path)
{
	char    buf[32];
	int     fd, saved;

	if ((fd = sf_open(AT_FDCWD, path, O_RDWR | O_CREAT, 0644, geteuid(),
			  NULL, NULL)) < 0)
		return -1;
	if (sf_lock(fd, 1, 0) < 0) {
		saved = errno;
		(void) close(fd);
		errno = (saved == EACCES) ? EAGAIN : saved;
		return -1;
	}
	/* Truncate only now: the old content belonged to the old holder. */
	(void) str_fmt(buf, sizeof(buf), "%ld\n", (long) getpid());
	if (ftruncate(fd, 0) < 0 || sf_pwrite_all(fd, buf, strlen(buf), 0) < 0) {
		saved = errno;
		(void) close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

pid_t
sf_pidfile_read(const char *path)
{
	struct flock fl;
	char    buf[32];
	long long v;
	ssize_t n;
	int     fd, saved;
	pid_t   content = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return -1;
	if ((n = sf_read_all(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, " \t\r\n")] = '\0';
		if (num_parse_int(buf, 1, INT_MAX, &v, NULL) == 0)
			content = (pid_t) v;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_pid = 0;				/* required by F_OFD_GETLK */
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
		saved = errno;
		(void) close(fd);
		errno = saved;
		return -1;
	}
	(void) close(fd);
	if (fl.l_type == F_UNLCK) {
		errno = ESRCH;			/* a stale file: nobody holds it */
		return -1;
	}
	/*
	 * The holder wrote its pid after locking.  l_pid says nothing for
	 * an OFD lock (-1); it names the holder of a classic lock, which
	 * another program may have taken.
	 */
	if (content > 0)
		return content;
	if (fl.l_pid > 0)
		return fl.l_pid;
	errno = ESRCH;				/* locked, pid not written yet */
	return -1;
}

int
sf_mkdir_owned(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;
	int     fd, saved;

	mode &= 07777;
	if (mkdir(path, mode & 0777) < 0 && errno != EEXIST)
		return -1;
	/* O_NOFOLLOW: a symlink in our place is refused, not followed. */
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		/* Linux says ENOTDIR for a symlink here; say what it is. */
		if (errno == ENOTDIR && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			errno = ELOOP;
		return -1;
	}
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	if ((uid != (uid_t) -1 && st.st_uid != uid)
	    || (gid != (gid_t) -1 && st.st_gid != gid)) {
		if (fchown(fd, uid, gid) < 0)
			goto fail;
		st.st_mode = 0;			/* chown may clear set-id bits */
	}
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
		goto fail;
	return close(fd);

fail:
	saved = errno;
	(void) close(fd);
	errno = saved;
	return -1;
}

int64_t
sf_free_space(const char *path)
{
	struct statvfs sv;
	uint64_t bsize;

	if (statvfs(path, &sv) < 0)
		return -1;
	bsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	if (bsize != 0 && (uint64_t) sv.f_bavail > (uint64_t) INT64_MAX / bsize)
		return INT64_MAX;
	return (int64_t) ((uint64_t) sv.f_bavail * bsize);
}

int
sf_clear_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	/* unlink() never follows a link: the name goes, not its target. */
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}
