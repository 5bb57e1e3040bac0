/*
 * NAME
 *	ipc_io - blocking message I/O and descriptor passing
 * DESCRIPTION
 *	See ipc.h for ipc_send() and ipc_recv(), ipc_impl.h for the
 *	sendmsg()/recvmsg() helpers that ipc_conn.c shares.
 *
 *	ipc_recv() reads the header, then exactly the payload, straight
 *	into in->store: bytes of the next message stay in the socket,
 *	together with the descriptor that may come with them.  Every read
 *	is a recvmsg() with room for descriptors, so that one arriving
 *	where none is announced is seen (and closed) rather than lost.
 *	With a timeout, it polls before reading the header (a reply is
 *	usually not there yet) and reads the payload optimistically (the
 *	sender wrote the message in one piece).  Reads and writes use
 *	MSG_DONTWAIT when there is a deadline, so a blocking socket
 *	cannot hold the caller past it.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event.h"
#include "ipc.h"
#include "ipc_impl.h"

/*
 * Blocking I/O with one deadline for the whole call.
 */

struct deadline {
	bool	forever;
	uint64_t at;
};

static void
deadline_set(struct deadline *d, int timeout_ms)
{
	d->forever = timeout_ms < 0;
	d->at = d->forever ? 0 : ev_time_ms() + (uint64_t) timeout_ms;
}

/* wait_for - poll until fd is ready for events; -1 ETIMEDOUT at the deadline */
static int
wait_for(int fd, short events, const struct deadline *d)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int     r, ms;

	for (;;) {
		if (d->forever) {
			ms = -1;
		} else {
			uint64_t now = ev_time_ms();

			ms = now >= d->at ? 0 : (int) (d->at - now);
		}
		if ((r = poll(&pfd, 1, ms)) > 0)
			return 0;	/* errors and hang-ups show in the I/O */
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

int
ipc_send(int fd, struct ipc_msg *m, int pass_fd, int timeout_ms)
{
	struct deadline d;
	size_t  sent = 0;
	int     flags = timeout_ms < 0 ? 0 : MSG_DONTWAIT;

	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	deadline_set(&d, timeout_ms);
	ipc_hdr_finish(m, pass_fd >= 0);
	while (sent < m->b.len) {
		ssize_t r = ipc_sendmsg(fd, m->b.data + sent, m->b.len - sent,
					pass_fd, flags);

		if (r > 0) {
			sent += (size_t) r;
			pass_fd = -1;		/* went with the first byte */
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_for(fd, POLLOUT, &d) < 0)
				return -1;
		} else if (errno != EINTR) {
			if (errno == EPIPE)
				errno = ECONNRESET;
			return -1;
		}
	}
	return 0;
}

/*
 * read_exact - read n bytes; 1 done, 0 EOF (*got says after how many),
 * -1 error.  wait_first: poll before the first read.
 */
static int
read_exact(int fd, void *p, size_t n, const struct deadline *d,
	   bool wait_first, int *fds, int *nfds, bool *bad, size_t *got)
{
	int     flags = d->forever ? 0 : MSG_DONTWAIT;

	*got = 0;
	while (*got < n) {
		ssize_t r;

		if (wait_first && wait_for(fd, POLLIN, d) < 0)
			return -1;
		wait_first = false;
		r = ipc_recvmsg(fd, (char *) p + *got, n - *got, flags, fds, nfds,
				IPC_MAX_FDS, bad);
		if (r > 0)
			*got += (size_t) r;
		else if (r == 0)
			return 0;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			wait_first = true;
		else if (errno != EINTR)
			return -1;
	}
	return 1;
}

static void
close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		(void) close(fds[i]);
}

int
ipc_recv(int fd, struct ipc_in *in, int *fd_out, int timeout_ms)
{
	unsigned char hdr[IPC_HDR_LEN];
	struct ipc_hdr h;
	struct deadline d;
	int     fds[IPC_MAX_FDS], nfds = 0, r, err;
	bool    bad = false;
	size_t  got;
	char   *p;

	if (fd_out != NULL)
		*fd_out = -1;
	ipc_in_reset(in);
	in->err = NULL;
	deadline_set(&d, timeout_ms);

	r = read_exact(fd, hdr, sizeof(hdr), &d, timeout_ms >= 0, fds, &nfds,
		       &bad, &got);
	if (got == 0 && nfds == 0 && (r == 0 || (r < 0 && errno == ECONNRESET))) {
		in->err = r == 0 ? "connection closed" : "connection reset";
		return 1;			/* nothing of a message came */
	}
	if (r <= 0)
		goto io_error;
	if (ipc_hdr_parse(hdr, in->store.max, &h, in->errbuf,
			  sizeof(in->errbuf)) < 0) {
		in->err = in->errbuf;
		goto fail;
	}
	p = buf_reserve(&in->store, h.len);	/* h.len <= max: cannot fail */
	r = read_exact(fd, p, h.len, &d, false, fds, &nfds, &bad, &got);
	if (r <= 0)
		goto io_error;
	buf_commit(&in->store, h.len);

	if (bad || nfds > 1 || (nfds == 1 && !(h.flags & IPC_F_FD))) {
		ipc_in_fail(in, EPROTO, "descriptor%s arrived unannounced "
			    "with message type %u", nfds > 1 ? "s" : "", h.type);
		goto fail;
	}
	if ((h.flags & IPC_F_FD) && nfds == 0) {
		ipc_in_fail(in, EPROTO, "message type %u announces a descriptor "
			    "but none came", h.type);
		goto fail;
	}
	if ((h.flags & IPC_F_FD) && fd_out == NULL) {
		ipc_in_fail(in, EPROTO, "message type %u brings a descriptor "
			    "where none is expected", h.type);
		goto fail;
	}
	if (ipc_in_check(in, &h) < 0)
		goto fail;
	if (nfds == 1)
		*fd_out = fds[0];
	return 0;

io_error:
	if (r == 0) {
		ipc_in_fail(in, ECONNRESET, "connection closed in the middle "
			    "of a message");
	} else {
		err = errno;
		ipc_in_fail(in, err, "%s", err == ETIMEDOUT ? "timed out" :
			    strerror(err));
	}
fail:
	err = errno;
	close_all(fds, nfds);
	ipc_in_reset(in);
	errno = err;
	return -1;
}

/*
 * Descriptor passing.
 */

ssize_t
ipc_sendmsg(int fd, const void *p, size_t n, int pass_fd, int flags)
{
	union {
		struct cmsghdr h;
		char    b[CMSG_SPACE(sizeof(int))];
	}       ctl;
	struct iovec iov = {.iov_base = (void *) p, .iov_len = n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	return sendmsg(fd, &mh, flags | MSG_NOSIGNAL);
}

ssize_t
ipc_recvmsg(int fd, void *p, size_t n, int flags, int *fds, int *nfds,
	    int maxfds, bool *bad)
{
	union {
		struct cmsghdr h;
		char    b[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	}       ctl;
	struct iovec iov = {.iov_base = p, .iov_len = n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
	.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
	ssize_t r;

	if ((r = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC)) < 0)
		return r;
	if (mh.msg_flags & MSG_CTRUNC)
		*bad = true;			/* the kernel closed the rest */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		size_t  k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (k > 1)
			*bad = true;
		for (size_t i = 0; i < k; i++) {
			int     x;

			memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*nfds < maxfds)
				fds[(*nfds)++] = x;
			else {
				(void) close(x);
				*bad = true;
			}
		}
	}
	return r;
}
