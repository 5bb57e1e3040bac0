/*
 * NAME
 *	ipc_conn - non-blocking message buffers; UNIX socket helpers
 * DESCRIPTION
 *	See ipc.h.  Input is read greedily (IPC_READ_CHUNK, or what the
 *	message being received still needs when that is more), so a
 *	read can bring several messages; ipc_conn_next() takes them one
 *	by one.  The input bound is the largest message plus one read,
 *	which a reader that drains after every read never reaches.
 *
 *	Descriptors arrive with the first byte of their message.  They
 *	queue in arrival order and a message flagged IPC_F_FD takes the
 *	oldest.  One that nobody claims is found at the latest when the
 *	input runs empty: every descriptor belongs to a message whose
 *	first byte came with it, so a descriptor left over when no byte
 *	is left came unannounced.
 *
 *	Output: each descriptor to send is kept with the offset in the
 *	output of its message's first byte; ipc_conn_flush() never sends
 *	across such an offset, so the descriptor goes with that byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "event.h"
#include "ipc.h"
#include "ipc_impl.h"
#include "log.h"
#include "reach.h"
#include "safefile.h"

#define IPC_READ_CHUNK	16384

static int
conn_fail(struct ipc_conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
conn_fail(struct ipc_conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(c->errbuf, sizeof(c->errbuf), fmt, ap);
	va_end(ap);
	c->err = c->errbuf;
	errno = err;
	return -1;
}

void
ipc_conn_init(struct ipc_conn *c, int fd, size_t max_msg)
{
	if (max_msg == 0)
		max_msg = IPC_MSG_MAX;
	if (max_msg > IPC_MSG_MAX)
		log_panic("ipc_conn_init: bound %zu exceeds %d", max_msg,
			  IPC_MSG_MAX);
	c->fd = fd;
	c->max_msg = max_msg;
	buf_init(&c->in, IPC_HDR_LEN + max_msg + IPC_READ_CHUNK);
	buf_init(&c->out, IPC_CONN_OUT_MAX);
	c->nfds = 0;
	c->n_out_fds = 0;
	c->err = NULL;
	c->raw = false;
}

void
ipc_conn_free(struct ipc_conn *c)
{
	for (int i = 0; i < c->nfds; i++)
		(void) close(c->fds[i]);
	for (int i = 0; i < c->n_out_fds; i++)
		(void) close(c->out_fds[i].fd);
	c->nfds = c->n_out_fds = 0;
	buf_free(&c->in);
	buf_free(&c->out);
}

ssize_t
ipc_conn_read(struct ipc_conn *c)
{
	size_t  want = IPC_READ_CHUNK;
	bool    bad = false;
	ssize_t r;
	char   *p;

	if (c->err != NULL) {
		errno = EPROTO;
		return -1;
	}
	if (!c->raw && c->in.len >= IPC_HDR_LEN) {
		/* Complete the message being received in one read. */
		const unsigned char *h = (const unsigned char *) c->in.data;
		size_t  len = (size_t) h[8] << 24 | (size_t) h[9] << 16
		    | (size_t) h[10] << 8 | h[11];

		if (len <= c->max_msg && c->in.len < IPC_HDR_LEN + len
		    && IPC_HDR_LEN + len - c->in.len > want)
			want = IPC_HDR_LEN + len - c->in.len;
	}
	if (want > buf_room(&c->in))
		want = buf_room(&c->in);
	if (want == 0) {
		errno = ENOBUFS;
		return -1;
	}
	p = buf_reserve(&c->in, want);
	do
		r = ipc_recvmsg(c->fd, p, want, MSG_DONTWAIT, c->fds, &c->nfds,
				IPC_MAX_FDS, &bad);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		buf_commit(&c->in, (size_t) r);
	if (bad)
		return conn_fail(c, EPROTO, "descriptors arrived in excess or "
				 "several at once");
	return r;
}

int
ipc_conn_next(struct ipc_conn *c, struct ipc_in *in, int *fd_out)
{
	struct ipc_hdr h;
	size_t  total;
	int     fd = -1;

	if (fd_out != NULL)
		*fd_out = -1;
	if (c->err != NULL)
		return ipc_in_fail(in, EPROTO, "%s", c->err);
	if (c->in.len < IPC_HDR_LEN)
		goto none;
	if (ipc_hdr_parse((const unsigned char *) c->in.data, c->max_msg, &h,
			  c->errbuf, sizeof(c->errbuf)) < 0) {
		c->err = c->errbuf;
		return ipc_in_fail(in, errno, "%s", c->err);
	}
	total = IPC_HDR_LEN + h.len;
	if (c->in.len < total)
		goto none;
	ipc_in_reset(in);
	if (buf_set(&in->store, c->in.data + IPC_HDR_LEN, h.len) < 0) {
		conn_fail(c, EMSGSIZE, "message type %u of %lu bytes exceeds "
			  "the bound of %zu", h.type, (unsigned long) h.len,
			  in->store.max);
		return ipc_in_fail(in, EMSGSIZE, "%s", c->err);
	}
	if (ipc_in_check(in, &h) < 0) {
		conn_fail(c, EPROTO, "%s", in->err);
		return -1;
	}
	if (h.flags & IPC_F_FD) {
		if (c->nfds == 0) {
			conn_fail(c, EPROTO, "message type %u announces a "
				  "descriptor but none came", h.type);
			goto bad;
		}
		fd = c->fds[0];
		memmove(c->fds, c->fds + 1, (size_t) --c->nfds * sizeof(int));
		if (fd_out == NULL) {
			(void) close(fd);
			conn_fail(c, EPROTO, "message type %u brings a "
				  "descriptor where none is expected", h.type);
			goto bad;
		}
	}
	if (c->in.len == total && c->nfds > 0) {
		if (fd >= 0)
			(void) close(fd);
		conn_fail(c, EPROTO, "descriptor arrived unannounced (before "
			  "the end of message type %u)", h.type);
		goto bad;
	}
	buf_consume(&c->in, total);
	if (fd_out != NULL)
		*fd_out = fd;
	return 1;

none:
	/* A descriptor with no byte left to claim it came unannounced. */
	if (c->in.len == 0 && c->nfds > 0) {
		conn_fail(c, EPROTO, "descriptor arrived without a message");
		return ipc_in_fail(in, EPROTO, "%s", c->err);
	}
	return 0;

bad:
	ipc_in_reset(in);
	return ipc_in_fail(in, EPROTO, "%s", c->err);
}

/* out_fds_consume - n bytes of output went out: shift the offsets */
static void
out_consume(struct ipc_conn *c, size_t n)
{
	buf_consume(&c->out, n);
	for (int i = 0; i < c->n_out_fds; i++)
		c->out_fds[i].off -= n;
}

int
ipc_conn_queue(struct ipc_conn *c, struct ipc_msg *m, int pass_fd)
{
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	ipc_hdr_finish(m, pass_fd >= 0);
	return ipc_conn_queue_bytes(c, m->b.data, m->b.len, pass_fd);
}

int
ipc_conn_queue_bytes(struct ipc_conn *c, const void *p, size_t len, int pass_fd)
{
	const char *data = p;
	size_t  done = 0;
	int     dup_fd;

	if (pass_fd < 0) {
		if (buf_append(&c->out, data, len) < 0) {
			errno = ENOBUFS;
			return -1;
		}
		return 0;
	}
	if (len == 0 || c->n_out_fds == IPC_MAX_FDS || len > buf_room(&c->out)) {
		errno = len == 0 ? EINVAL : ENOBUFS;
		return -1;
	}
	if (c->out.len == 0) {
		ssize_t r;

		do
			r = ipc_sendmsg(c->fd, data, len, pass_fd, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r > 0) {
			done = (size_t) r;
			(void) buf_append(&c->out, data + done, len - done);
			return 0;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			if (errno == EPIPE)
				errno = ECONNRESET;
			return -1;
		}
	}
	/* Not sent yet: keep a descriptor of our own for later. */
	if ((dup_fd = fcntl(pass_fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	c->out_fds[c->n_out_fds].off = c->out.len;
	c->out_fds[c->n_out_fds].fd = dup_fd;
	c->n_out_fds++;
	(void) buf_append(&c->out, data, len);
	return 0;
}

int
ipc_conn_flush(struct ipc_conn *c)
{
	while (c->out.len > 0) {
		size_t  n = c->out.len;
		int     pfd = -1;
		ssize_t r;

		/* Send up to the next message that carries a descriptor. */
		if (c->n_out_fds > 0) {
			if (c->out_fds[0].off == 0) {
				pfd = c->out_fds[0].fd;
				if (c->n_out_fds > 1)
					n = c->out_fds[1].off;
			} else {
				n = c->out_fds[0].off;
			}
		}
		r = ipc_sendmsg(c->fd, c->out.data, n, pfd, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			if (errno == EPIPE)
				errno = ECONNRESET;
			return -1;
		}
		if (pfd >= 0) {
			(void) close(pfd);
			c->n_out_fds--;
			memmove(c->out_fds, c->out_fds + 1,
				(size_t) c->n_out_fds * sizeof(c->out_fds[0]));
		}
		out_consume(c, (size_t) r);
	}
	return 0;
}

int
ipc_conn_recv(struct ipc_conn *c, struct ipc_in *in, int *fd_out,
	      int timeout_ms, bool wait_first)
{
	uint64_t end = timeout_ms < 0 ? UINT64_MAX
	    : ev_time_ms() + (uint64_t) timeout_ms;

	for (;;) {
		ssize_t n;
		int     r = ipc_conn_next(c, in, fd_out);

		if (r != 0)
			return r > 0 ? 0 : -1;
		if (wait_first) {
			struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
			uint64_t now = ev_time_ms();
			int     ms = end == UINT64_MAX ? -1
			    : now >= end ? 0 : (int) (end - now);

			r = poll(&pfd, 1, ms);
			if (r == 0)
				return ipc_in_fail(in, ETIMEDOUT, "timed out");
			if (r < 0) {
				if (errno == EINTR)
					continue;
				return ipc_in_fail(in, errno, "%s", strerror(errno));
			}
		}
		wait_first = true;
		n = ipc_conn_read(c);
		if (n == 0) {
			if (c->in.len == 0 && c->nfds == 0) {
				ipc_in_reset(in);
				in->err = "connection closed";
				return 1;
			}
			return ipc_in_fail(in, ECONNRESET, "connection closed in "
					   "the middle of a message");
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			if (errno == EINTR) {
				wait_first = false;
				continue;
			}
			return ipc_in_fail(in, errno, "%s", c->err ? c->err
					   : strerror(errno));
		}
	}
}

/*
 * Sockets.
 */

int
ipc_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
}

static int
make_addr(struct sockaddr_un *sa, const char *path)
{
	size_t  n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sa->sun_path)) {
		errno = n == 0 ? ENOENT : ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

int
ipc_connect(const char *path, bool nonblock)
{
	struct sockaddr_un sa;
	int     fd, err;

	if (make_addr(&sa, path) < 0 || !reach_ok(path))
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* A UNIX connect that is interrupted leaves nothing half done. */
	while (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
		if (errno != EINTR)
			goto fail;
	}
	/* A fresh socket has no other status flag to keep. */
	if (nonblock && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		goto fail;
	return fd;

fail:
	err = errno;
	(void) close(fd);
	errno = err;
	return -1;
}

#define LISTEN_TRIES	3

int
ipc_listen(const char *path, mode_t mode, int backlog)
{
	struct sockaddr_un sa;
	mode_t  old;
	int     fd, r = -1, err = 0;

	if (make_addr(&sa, path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/*
	 * bind() never follows a link and fails when the name exists, so
	 * something put there between the removal and the bind costs a
	 * retry, never a socket elsewhere.  The umask gives the socket its
	 * mode as it is made: nothing changes it by name afterwards.
	 */
	for (int i = 0; i < LISTEN_TRIES && r < 0; i++) {
		if (sf_clear_path(path) < 0) {
			err = errno;
			break;
		}
		old = umask(~mode & 0777);
		r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
		err = errno;
		(void) umask(old);
		if (r < 0 && err != EADDRINUSE)
			break;
	}
	if (r < 0 || listen(fd, backlog) < 0) {
		if (r == 0)
			err = errno;
		(void) close(fd);
		errno = err;
		return -1;
	}
	return fd;
}
