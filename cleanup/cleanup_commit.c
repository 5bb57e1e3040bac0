/*
 * NAME
 *	cleanup_commit - group commit of incoming/: one directory sync for
 *	every rename made before it, across all cleanup processes
 * SYNOPSIS
 *	#include "cleanup.h"
#include "safefile.h"
 *
 *	cleanup_commit_init("private/.cleanup-commit", why, sizeof(why));
 *	token = cleanup_commit_begin();
 *	...rename a file into the directory dirfd...
 *	if (cleanup_commit_dir(dirfd, token) < 0) ... not durable: take it back ...
 * DESCRIPTION
 *	A queue file is durable when the file and its directory entry are
 *	on disk: cleanup fsyncs the file, renames it into incoming/ and
 *	then must fsync incoming/.  One fsync of a directory makes durable
 *	every entry made in it before the fsync started, so when several
 *	cleanup processes rename at about the same time, one fsync can
 *	serve them all.  This module is the commit point they share.
 *
 *	The board: a small file (the path given to cleanup_commit_init(),
 *	relative to the queue directory, created 0600 when missing and
 *	checked: a regular file of ours with one link) mapped shared by
 *	every cleanup process, holding three counters: "renamed", the
 *	tickets handed out, "synced", the highest ticket known to be
 *	durable, and "failed", the syncs that failed.  An flock() on the
 *	board file elects the process that syncs.
 *
 *	cleanup_commit_begin(), called before the rename, returns a token:
 *	the count of failed syncs so far.  cleanup_commit_dir(dirfd,
 *	token), called after the rename into dirfd has returned:
 *	  1. takes a ticket t (renamed + 1, atomically): the rename
 *	     happened before it;
 *	  2. takes the lock (waiting while another process syncs); if
 *	     synced >= t, a sync that started after the ticket was taken
 *	     covered the rename: done;
 *	  3. otherwise it is the leader: it reads renamed (R, every rename
 *	     with a ticket up to R is done), fsyncs the directory, and on
 *	     success sets synced to R; then lets the lock go, and the
 *	     processes waiting for it find themselves covered or lead the
 *	     next sync.
 *	It returns 0 only when a sync that began after this process's
 *	rename succeeded (sf_sync(): on a file system that is still
 *	writable afterwards) and no sync failed since the token was taken;
 *	-1 (errno EIO, or its own sync's) otherwise.
 *
 *	Why a failure anywhere fails every commit that was under way: on
 *	Linux a failed fsync is reported once.  When the journal commit
 *	that held several processes' renames fails, the process that
 *	waited for it gets the error, and the next fsync of the same
 *	directory, by anyone, finds nothing left to wait for and returns 0
 *	although the renames never reached the disk (test_powercut found
 *	this).  So a failed sync is counted on the board, and a commit
 *	whose rename may have been in it (its token is older) is refused
 *	however its own sync ends: the client hears a temporary error, and
 *	the worst that can follow is a duplicate, never a loss.
 *
 *	Nothing waits for company: a process alone takes the lock at once
 *	and syncs at once (two flock() calls more than a bare fsync()).
 *	The grouping comes only from processes that arrive while a sync
 *	is under way, which is exactly when the disk is the bottleneck.
 *
 *	A process that dies holding the lock releases it (flock); a
 *	process that dies after taking a ticket leaves a ticket nobody
 *	waits for, which costs nothing.  A board that cannot be made or
 *	mapped (cleanup_commit_init() returns -1 and says why) leaves
 *	cleanup_commit_dir() to fsync the directory itself, every time,
 *	as before.
 * SECURITY
 *	The board is mail_owner's, in mail_owner's private/ directory,
 *	opened without following links and checked after the open.  Any
 *	process that can write it (a mail_owner process) can also write
 *	incoming/ itself; a board with a wrong magic number is reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "safefile.h"
#include "str.h"

#define BOARD_MAGIC	0x706f6363u	/* "pocc" */
#define BOARD_SIZE	4096

struct board {
	uint32_t magic;
	uint32_t pad;
	_Atomic uint64_t renamed;	/* tickets handed out */
	_Atomic uint64_t synced;	/* every ticket up to this is durable */
	_Atomic uint64_t syncs;		/* directory syncs done */
	_Atomic uint64_t covered;	/* commits that needed no sync of their own */
	_Atomic uint64_t failed;	/* directory syncs that failed */
};

static struct board *board;
static int board_fd = -1;

/* lock - flock, again after a signal; -1 on a real failure */
static int
lock(int how)
{
	int     r;

	do
		r = flock(board_fd, how);
	while (r < 0 && errno == EINTR);
	return r;
}

int
cleanup_commit_init(const char *path, char *why, size_t whylen)
{
	struct stat st;
	void   *p;
	int     fd;

	if (board != NULL)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		(void) str_fmt(why, whylen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1
	    || st.st_uid != geteuid()) {
		(void) str_fmt(why, whylen, "%s is not a regular file of uid %ld with "
				"one link (remove it)", path, (long) geteuid());
		(void) close(fd);
		return -1;
	}
	if (st.st_size < BOARD_SIZE && ftruncate(fd, BOARD_SIZE) < 0) {
		(void) str_fmt(why, whylen, "cannot size %s: %s", path, strerror(errno));
		(void) close(fd);
		return -1;
	}
	p = mmap(NULL, BOARD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		(void) str_fmt(why, whylen, "cannot map %s: %s", path, strerror(errno));
		(void) close(fd);
		return -1;
	}
	board_fd = fd;
	board = p;
	/* A new (zero) or foreign board is set up once, under the lock. */
	if (lock(LOCK_EX) < 0) {
		(void) str_fmt(why, whylen, "cannot lock %s: %s", path, strerror(errno));
		cleanup_commit_close();
		return -1;
	}
	if (board->magic != BOARD_MAGIC) {
		atomic_store(&board->renamed, 0);
		atomic_store(&board->synced, 0);
		atomic_store(&board->syncs, 0);
		atomic_store(&board->covered, 0);
		atomic_store(&board->failed, 0);
		board->magic = BOARD_MAGIC;
	}
	(void) lock(LOCK_UN);
	return 0;
}

void
cleanup_commit_close(void)
{
	if (board != NULL)
		(void) munmap(board, BOARD_SIZE);
	if (board_fd >= 0)
		(void) close(board_fd);
	board = NULL;
	board_fd = -1;
}

/* sync_dir - fsync of a directory, on a file system still writable */
static int
sync_dir(int dirfd)
{
	return sf_sync(dirfd);
}

uint64_t
cleanup_commit_begin(void)
{
	return board ? atomic_load(&board->failed) : 0;
}

/* refused - a sync failed since token: this rename may have gone with it */
static int
refused(uint64_t token)
{
	if (atomic_load(&board->failed) == token)
		return 0;
	errno = EIO;
	return -1;
}

int
cleanup_commit_dir(int dirfd, uint64_t token)
{
	uint64_t t, r;
	int     saved, ret;

	if (board == NULL)
		return sync_dir(dirfd);
	/* The rename returned before the ticket is taken. */
	t = atomic_fetch_add(&board->renamed, 1) + 1;
	if (lock(LOCK_EX) < 0) {
		ret = sync_dir(dirfd);		/* cannot wait for others: alone */
		return ret < 0 ? ret : refused(token);
	}
	if (atomic_load(&board->synced) >= t) {
		atomic_fetch_add(&board->covered, 1);
		ret = refused(token);
		(void) lock(LOCK_UN);
		return ret;
	}
	/* Every rename with a ticket up to r returned before this sync. */
	r = atomic_load(&board->renamed);
	if ((ret = refused(token)) == 0 && (ret = sync_dir(dirfd)) == 0) {
		if (r > atomic_load(&board->synced))
			atomic_store(&board->synced, r);
		atomic_fetch_add(&board->syncs, 1);
	} else if (atomic_load(&board->failed) == token) {
		atomic_fetch_add(&board->failed, 1);
	}
	saved = errno;
	(void) lock(LOCK_UN);
	errno = saved;
	return ret;
}

void
cleanup_commit_stats(uint64_t *syncs, uint64_t *covered)
{
	*syncs = board ? atomic_load(&board->syncs) : 0;
	*covered = board ? atomic_load(&board->covered) : 0;
}
