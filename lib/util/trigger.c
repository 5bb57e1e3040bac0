/*
 * NAME
 *	trigger - one-byte wake-ups through a FIFO
 * DESCRIPTION
 *	See trigger.h.  A FIFO is the cheapest wake-up there is: no
 *	connection, no reply, and a full FIFO already means "wake up".
 *	The writer never waits for the reader, so a stuck qmgr cannot
 *	hold up cleanup.
 * SECURITY
 *	O_NOFOLLOW and the fstat() check keep a writer from being sent to
 *	a regular file or a device by a name planted in public/; the open
 *	is non-blocking, and no byte is written to anything that is not a
 *	FIFO with one link (a hard link to someone else's FIFO is not the
 *	one the master made).
 *
 *	Writing to a FIFO whose reader has gone raises SIGPIPE, which
 *	would kill postqueue or sendmail.  trigger_send() blocks SIGPIPE
 *	around the write and takes away a SIGPIPE that the write caused,
 *	so callers need not ignore the signal.  A caller that ignores it
 *	(every daemon: server_main(), for life) gets none, so then the
 *	write goes out alone; the disposition is asked once and, when it
 *	is SIG_IGN, remembered (trigger.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "reach.h"
#include "safefile.h"
#include "trigger.h"

int
trigger_open(const char *fifo_path)
{
	struct stat st;
	int     fd, saved;

	if (!reach_ok(fifo_path))
		return -1;
	fd = open(fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		saved = errno;
	else if (!S_ISFIFO(st.st_mode) || st.st_nlink != 1)
		saved = EPERM;		/* never write a byte into anything else */
	else
		return fd;
	(void) close(fd);
	errno = saved;
	return -1;
}

int
trigger_send(int fd, char code)
{
	static const struct timespec zero = {0, 0};
	static bool pipe_ignored;
	sigset_t pipe_set, old, pending;
	struct sigaction sa;
	bool    was_pending;
	ssize_t n;
	int     saved;

	if (!pipe_ignored)
		pipe_ignored = sigaction(SIGPIPE, NULL, &sa) == 0
		    && sa.sa_handler == SIG_IGN;
	/* An ignored SIGPIPE is never raised: nothing to block or take away. */
	if (pipe_ignored) {
		do
			n = write(fd, &code, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
			return 0;
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &pipe_set, &old) < 0)
		return -1;
	/* Only a caller that blocks SIGPIPE itself can have one pending. */
	was_pending = false;
	if (sigismember(&old, SIGPIPE) == 1) {
		sigemptyset(&pending);
		was_pending = sigpending(&pending) == 0
		    && sigismember(&pending, SIGPIPE) == 1;
	}

	do
		n = write(fd, &code, 1);
	while (n < 0 && errno == EINTR);
	saved = errno;

	/* Our write raised it: take it away before unblocking. */
	if (n < 0 && saved == EPIPE && !was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	(void) sigprocmask(SIG_SETMASK, &old, NULL);

	if (n == 1 || (n < 0 && (saved == EAGAIN || saved == EWOULDBLOCK)))
		return 0;
	errno = n < 0 ? saved : EIO;
	return -1;
}

int
trigger_once(const char *fifo_path, char code)
{
	int     fd, r, saved;

	if ((fd = trigger_open(fifo_path)) < 0)
		return -1;
	r = trigger_send(fd, code);
	saved = errno;
	(void) close(fd);
	errno = saved;
	return r;
}

int
trigger_read(int fd, char *codes, size_t max)
{
	struct pollfd pfd;
	size_t  got = 0, want;
	ssize_t n;
	int     r;

	if (fd < 0) {			/* poll() would skip it silently */
		errno = EBADF;
		return -1;
	}
	if (max > INT_MAX)
		max = INT_MAX;
	while (got < max) {
		/* poll() first: the descriptor may be in blocking mode. */
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((r = poll(&pfd, 1, 0)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd.revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		if (r == 0 || (pfd.revents & POLLIN) == 0)
			break;
		want = max - got;
		if ((n = read(fd, codes + got, want)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		if (n == 0)			/* no writer left (read-only open) */
			break;
		got += (size_t) n;
		/* A FIFO read returns all it holds: a short read drained it. */
		if ((size_t) n < want)
			break;
	}
	return (int) got;
}

int
trigger_listen(const char *fifo_path, mode_t mode)
{
	struct stat st;
	mode_t  old;
	int     fd, r, saved;

	if (sf_clear_path(fifo_path) < 0)
		return -1;
	old = umask(~mode & 0777);
	r = mkfifo(fifo_path, mode & 0777);
	saved = errno;
	(void) umask(old);
	if (r < 0) {
		errno = saved;
		return -1;
	}
	fd = open(fifo_path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		saved = errno;
	} else if (!S_ISFIFO(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()
		   || (st.st_mode & 07777) != (mode & 0777)) {
		saved = EPERM;
	} else {
		return fd;
	}
	(void) close(fd);
	errno = saved;
	return -1;
}
