/*
 * NAME
 *	safefile - careful file operations: no symlinks, checked owners,
 *	durable replacement, locks
 * SYNOPSIS
 *	#include "safefile.h"
 * DESCRIPTION
 *	sf_open() opens path (relative to dirfd, or AT_FDCWD) with
 *	O_NOFOLLOW | O_CLOEXEC added to flags, then checks with fstat()
 *	that it is a regular file with exactly one link and, when
 *	want_uid is not SF_ANY_UID, owned by want_uid.  It returns the fd,
 *	or -1 with errno (ELOOP for a symlink; EPERM for a wrong owner,
 *	type or link count) and *why set to a short reason.  st, when not
 *	NULL, receives the fstat() result.  Mailboxes and queue files are
 *	opened this way only.
 *
 *	sf_write_all() writes all n bytes (retrying on EINTR and short
 *	writes); sf_pwrite_all() likewise at an offset.  sf_read_all()
 *	reads until n bytes or EOF and returns the count.  All return -1
 *	on error.
 *
 *	sf_sync() fsyncs fd (a directory on a file system that cannot
 *	sync one counts as synced) and then fails with EROFS when the file
 *	system is read-only: one that remounted itself read-only after an
 *	I/O error (ext4's errors=remount-ro) reports later fsyncs as done
 *	without writing anything, so such a sync cannot be trusted.
 *	sf_fsync_dir() opens a directory and sf_sync()s it, so a rename or
 *	create in it is durable.  sf_fsync_dir_locked() does the same
 *	under an exclusive flock() of the directory, so that processes
 *	that all use it sync one directory one at a time (without a
 *	journal, two syncs of one directory at once can both miss a
 *	block: local's Maildir new/).  sf_fsync_parent() does it for the
 *	directory holding path.
 *
 *	sf_replace() writes n bytes to a temporary file in the same
 *	directory as path (mode mode, O_EXCL), fsyncs it, renames it over
 *	path and fsyncs the directory: a reader sees the old file or the
 *	new one, never a part.  sf_replace_begin()/sf_replace_commit()/
 *	sf_replace_abort() do the same for content written through the fd
 *	by the caller (postmap writes a database there).
 *
 *	sf_lock() takes a whole-file fcntl() lock (exclusive or shared),
 *	waiting or not; it returns 0, or -1 (EAGAIN/EACCES: held by
 *	another).  sf_unlock() releases it.
 *	sf_dotlock() creates PATH.lock with O_EXCL (retrying attempts
 *	times, delay_ms apart, removing a lock older than stale_secs) and
 *	sf_dotunlock() removes it.
 *
 *	sf_pidfile_lock() opens path (creating it 0644), takes a
 *	non-blocking exclusive lock, writes the pid and keeps the fd open
 *	(returned) for the life of the process; -1 when another process
 *	holds it (errno EAGAIN) or on error.  sf_pidfile_read() returns the
 *	pid of the lock holder, or -1 when the file is missing or not
 *	locked (a stale file).
 *
 *	sf_mkdir_owned() creates a directory (or fixes an existing one)
 *	with exactly the owner, group and mode given, refusing a symlink.
 *
 *	sf_clear_path() removes what is at path unless it is a directory
 *	(a socket or FIFO left by an earlier run, a file, a symbolic
 *	link: the link itself, never what it points to).  It returns 0
 *	when path is gone (or was never there); -1 with errno otherwise
 *	(EEXIST for a directory).  In a directory that a less privileged
 *	user can write, a root caller calls it with that user's effective
 *	ids (priv_as_begin()).
 *
 *	sf_free_space() returns the bytes available to unprivileged
 *	users in the file system holding path, or -1.
 */
#ifndef POSTERN_SAFEFILE_H
#define POSTERN_SAFEFILE_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define SF_ANY_UID	((uid_t) -1)

struct sf_replace {
	int	fd;
	char	tmp[4096];
	char	path[4096];
};

int	sf_open(int dirfd, const char *path, int flags, mode_t mode,
		uid_t want_uid, struct stat *st, const char **why);
int	sf_write_all(int fd, const void *p, size_t n);
int	sf_pwrite_all(int fd, const void *p, size_t n, off_t off);
ssize_t	sf_read_all(int fd, void *p, size_t n);
int	sf_sync(int fd);
int	sf_fsync_dir(const char *dir);
int	sf_fsync_dir_locked(const char *dir);
int	sf_fsync_parent(const char *path);
int	sf_replace(const char *path, const void *p, size_t n, mode_t mode);
int	sf_replace_begin(struct sf_replace *r, const char *path, mode_t mode);
int	sf_replace_commit(struct sf_replace *r);
void	sf_replace_abort(struct sf_replace *r);
int	sf_lock(int fd, int exclusive, int wait);
int	sf_unlock(int fd);
int	sf_dotlock(const char *path, int attempts, int delay_ms, int stale_secs);
int	sf_dotunlock(const char *path);
int	sf_pidfile_lock(const char *path);
pid_t	sf_pidfile_read(const char *path);
int	sf_mkdir_owned(const char *path, uid_t uid, gid_t gid, mode_t mode);
int	sf_clear_path(const char *path);
int64_t	sf_free_space(const char *path);

#endif
