/*
 * NAME
 *	cleanup_queue - write a queue file into incoming/ durably
 * DESCRIPTION
 *	cleanup_queue_init() opens the incoming/ directory (relative to
 *	the working directory, the queue directory) and keeps it open for
 *	the life of the process: every file is created, renamed and made
 *	durable relative to that descriptor.  Returns 0, or -1 with errno.
 *	cleanup_queue_dirfd() returns it.
 *
 *	cleanup_queue_create() creates a new temporary file
 *	incoming/.tmp-PID-N (mode 0600, O_EXCL, O_NOFOLLOW), whose name
 *	starts with a dot, so the queue manager never takes it for a
 *	queue file.  A file by that name left by an earlier process with
 *	the same pid is removed first (no live process can own it).
 *
 *	cleanup_queue_spare() makes the file the next cleanup_queue_create()
 *	will hand out (at most one; nothing when one is waiting or it
 *	cannot be made: create makes one then).  cleanup calls it after
 *	its reply, while no client waits: making a file is the costliest
 *	step of a submission on ext4 without a journal, which walks past
 *	every inode freed in the last minute before it reuses one (with a
 *	busy queue, thousands).  cleanup_queue_spare_name() names it (NULL: none), and
 *	cleanup_queue_close() removes it: the spare is always empty, and
 *	one left by a killed process goes with the sweep below.
 *
 *	Why a named file and not O_TMPFILE + linkat(): linking an unnamed
 *	file into a directory needs either /proc/self/fd (absent in the
 *	chroot) or linkat(AT_EMPTY_PATH), which needs CAP_DAC_READ_SEARCH
 *	on the kernels this runs on, and cleanup has no capabilities.  The
 *	dot name costs nothing but the sweep below.
 *
 *	cleanup_queue_sync() makes the written file durable (fsync(); on
 *	failure the temporary file is removed and -1 returned with errno).
 *	It is separate from the commit so that what must happen between
 *	the two (waiting for the client's confirmation of the queue ID)
 *	overlaps the sync instead of adding to it.
 *
 *	cleanup_queue_commit(), after cleanup_queue_sync(), makes the
 *	file visible and its name durable: renameat2(RENAME_NOREPLACE) to
 *	incoming/QUEUEID (a queue file is never replaced, whatever happens
 *	to queue IDs), and an fsync() of the directory that began after
 *	the rename, shared with the other cleanup processes
 *	(cleanup_commit.c).  Only after this returns 0 may the client hear
 *	"queued".  On failure the temporary file is removed and -1
 *	returned with errno: nothing half-written is left.
 *	cleanup_queue_abort() closes and removes the temporary file.
 *
 *	cleanup_queue_sweep() removes temporary files of processes that
 *	no longer exist (a crash, kill -9 in the middle of a write): any
 *	".tmp-PID-N" whose PID is gone (kill(PID, 0) says ESRCH).  Run at
 *	start-up; returns the number removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "num.h"
#include "str.h"

#define TMP_PREFIX	".tmp-"

static int dirfd_incoming = -1;
static int dirfd_hold = -1;
static unsigned long counter;
static struct cleanup_qfile spare = {.fd = -1};

int
cleanup_queue_init(void)
{
	if (dirfd_incoming >= 0)
		return 0;
	dirfd_incoming = open("incoming", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd_incoming < 0)
		return -1;
	/* HOLD: a message goes straight to hold/ (the same file system). */
	dirfd_hold = open("hold", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return 0;
}

int
cleanup_queue_dirfd(void)
{
	return dirfd_incoming;
}

void
cleanup_queue_close(void)
{
	cleanup_queue_abort(&spare);
	if (dirfd_incoming >= 0)
		(void) close(dirfd_incoming);
	if (dirfd_hold >= 0)
		(void) close(dirfd_hold);
	dirfd_incoming = dirfd_hold = -1;
}

/* make - a new empty temporary file */
static int
make(struct cleanup_qfile *q)
{
	(void) str_fmt(q->tmp, sizeof(q->tmp), TMP_PREFIX "%ld-%lu", (long) log_pid(),
		       ++counter);
	q->fd = openat(dirfd_incoming, q->tmp, O_WRONLY | O_CREAT | O_EXCL
		       | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (q->fd < 0 && errno == EEXIST) {
		/* Left by a dead process that had our pid. */
		(void) unlinkat(dirfd_incoming, q->tmp, 0);
		q->fd = openat(dirfd_incoming, q->tmp, O_WRONLY | O_CREAT | O_EXCL
			       | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (q->fd < 0)
		q->tmp[0] = '\0';
	return q->fd < 0 ? -1 : 0;
}

int
cleanup_queue_create(struct cleanup_qfile *q)
{
	if (spare.fd >= 0) {
		*q = spare;
		spare.fd = -1;
		spare.tmp[0] = '\0';
		return 0;
	}
	return make(q);
}

void
cleanup_queue_spare(void)
{
	if (spare.fd < 0 && dirfd_incoming >= 0)
		(void) make(&spare);
}

const char *
cleanup_queue_spare_name(void)
{
	return spare.fd >= 0 ? spare.tmp : NULL;
}

void
cleanup_queue_abort(struct cleanup_qfile *q)
{
	int     saved = errno;

	if (q->fd >= 0) {
		(void) close(q->fd);
		q->fd = -1;
	}
	if (q->tmp[0])
		(void) unlinkat(dirfd_incoming, q->tmp, 0);
	q->tmp[0] = '\0';
	errno = saved;
}

int
cleanup_queue_sync(struct cleanup_qfile *q)
{
	if (fsync(q->fd) < 0) {
		cleanup_queue_abort(q);
		return -1;
	}
	return 0;
}

int
cleanup_queue_commit(struct cleanup_qfile *q, const char *qid, bool hold)
{
	uint64_t token;
	int     dfd = hold ? dirfd_hold : dirfd_incoming;
	int     r;

	if (dfd < 0) {
		errno = ENOENT;			/* no hold/ at start */
		goto fail;
	}
	token = hold ? 0 : cleanup_commit_begin();
	r = renameat2(dirfd_incoming, q->tmp, dfd, qid, RENAME_NOREPLACE);
	if (r < 0 && errno == EINVAL) {
		/* A file system without RENAME_NOREPLACE: link() cannot replace. */
		if (linkat(dirfd_incoming, q->tmp, dfd, qid, 0) < 0)
			goto fail;
		(void) unlinkat(dirfd_incoming, q->tmp, 0);
	} else if (r < 0) {
		goto fail;
	}
	q->tmp[0] = '\0';
	if ((hold ? fsync(dfd) : cleanup_commit_dir(dirfd_incoming, token)) < 0) {
		/*
		 * The name may or may not survive a crash: never say "queued"
		 * for it.  Take it back; qmgr has not opened it yet unless it
		 * raced us, in which case it is delivered and we defer: a
		 * duplicate at worst, never a loss.
		 */
		int     saved = errno;

		(void) unlinkat(dfd, qid, 0);
		(void) close(q->fd);
		q->fd = -1;
		errno = saved;
		return -1;
	}
	if (close(q->fd) < 0) {
		q->fd = -1;
		return 0;		/* fsync succeeded: the data is on disk */
	}
	q->fd = -1;
	return 0;

fail:
	cleanup_queue_abort(q);
	return -1;
}

int
cleanup_queue_sweep(void)
{
	DIR    *d;
	struct dirent *de;
	int     dfd, removed = 0;

	if (dirfd_incoming < 0 || (dfd = dup(dirfd_incoming)) < 0)
		return 0;
	if ((d = fdopendir(dfd)) == NULL) {
		(void) close(dfd);
		return 0;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		char    pidtext[24];
		const char *p, *dash;
		long long pid;

		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		p = de->d_name + strlen(TMP_PREFIX);
		if ((dash = strchr(p, '-')) == NULL || (size_t) (dash - p) >= sizeof(pidtext))
			continue;
		memcpy(pidtext, p, (size_t) (dash - p));
		pidtext[dash - p] = '\0';
		if (num_parse_int(pidtext, 1, INT32_MAX, &pid, NULL) < 0)
			continue;
		if (pid != (long long) getpid() && (kill((pid_t) pid, 0) == 0 || errno != ESRCH))
			continue;
		if (pid == (long long) getpid() && counter > 0)
			continue;		/* ours, in use */
		if (unlinkat(dirfd_incoming, de->d_name, 0) == 0) {
			removed++;
			log_info("removed incomplete file incoming/%s left by process %lld",
				 de->d_name, pid);
		}
	}
	closedir(d);
	return removed;
}
