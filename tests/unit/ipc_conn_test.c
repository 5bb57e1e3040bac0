/* ipc_conn_test - check suite for lib/ipc/ipc_conn: buffered I/O, fds, sockets. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"

#include "ipc.h"

static void
pair(int sv[2])
{
	ck_assert_int_eq(ipc_socketpair(sv), 0);
}

/* send_fd - one sendmsg() of n bytes with fd attached */
static void
send_fd(int sock, const void *p, size_t n, int fd)
{
	union {
		struct cmsghdr h;
		char    b[CMSG_SPACE(sizeof(int))];
	}       ctl;
	struct iovec iov = {.iov_base = (void *) p, .iov_len = n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
	.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
	struct cmsghdr *cm;

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &mh, 0), (ssize_t) n);
}

/* wire - the bytes of a message with one blob of n bytes, flags set */
static size_t
wire(unsigned char *out, size_t size, uint16_t type, size_t n, int flags)
{
	struct ipc_msg m;
	int     sv[2];
	ssize_t got;
	char   *d = calloc(1, n + 1);

	ipc_msg_init(&m, type);
	ck_assert_int_eq(ipc_put_blob(&m, "b", d, n), 0);
	free(d);
	pair(sv);
	ck_assert_int_eq(ipc_send(sv[1], &m, -1, 1000), 0);
	got = read(sv[0], out, size);
	ck_assert_int_eq(got, (ssize_t) (IPC_HDR_LEN + 7 + n));
	out[3] = (unsigned char) flags;
	ipc_msg_free(&m);
	close(sv[0]);
	close(sv[1]);
	return (size_t) got;
}

/* pipe_echo - a byte written to w comes out of r */
static void
pipe_echo(int w, int r, char c)
{
	char    got;

	ck_assert_int_eq(write(w, &c, 1), 1);
	ck_assert_int_eq(read(r, &got, 1), 1);
	ck_assert_int_eq(got, c);
}

START_TEST(test_several_messages_in_one_read)
{
	struct ipc_conn c;
	struct ipc_in in;
	struct ipc_msg m;
	int     sv[2], p[2], fd;
	uint64_t v;

	pair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (int i = 0; i < 3; i++) {
		ipc_msg_init(&m, (uint16_t) (10 + i));
		ipc_put_num(&m, "i", (uint64_t) i);
		/* A read ends after bytes with descriptors: fd on the last. */
		ck_assert_int_eq(ipc_send(sv[1], &m, i == 2 ? p[0] : -1, 1000), 0);
		ipc_msg_free(&m);
	}
	close(p[0]);
	ipc_conn_init(&c, sv[0], 0);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_conn_next(&c, &in, &fd), 0);
	ck_assert_int_gt(ipc_conn_read(&c), 3 * IPC_HDR_LEN);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ipc_conn_next(&c, &in, &fd), 1);
		ck_assert_uint_eq(in.type, 10 + i);
		ck_assert_int_eq(ipc_get_num(&in, "i", &v), 0);
		ck_assert(v == (uint64_t) i);
		ck_assert_int_eq(ipc_get_end(&in), 0);
		if (i == 2) {
			ck_assert_int_ge(fd, 0);
			pipe_echo(p[1], fd, 'a');
			close(fd);
		} else {
			ck_assert_int_eq(fd, -1);
		}
	}
	ck_assert_int_eq(ipc_conn_next(&c, &in, &fd), 0);
	ck_assert_int_eq(ipc_conn_read(&c), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(sv[1]);
	ck_assert_int_eq(ipc_conn_read(&c), 0);		/* EOF */
	ipc_conn_free(&c);
	ipc_in_free(&in);
	close(p[1]);
	close(sv[0]);
}
END_TEST

START_TEST(test_byte_by_byte)
{
	struct ipc_conn c;
	struct ipc_in in;
	unsigned char w[256];
	size_t  n = wire(w, sizeof(w), 7, 100, IPC_F_FD);
	int     sv[2], p[2], fd;
	const void *d;
	size_t  dl;

	pair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ipc_conn_init(&c, sv[0], 0);
	ipc_in_init(&in);
	send_fd(sv[1], w, 1, p[0]);		/* the fd with the first byte */
	close(p[0]);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			ck_assert_int_eq(write(sv[1], w + i, 1), 1);
		ck_assert_int_eq(ipc_conn_read(&c), 1);
		ck_assert_int_eq(ipc_conn_next(&c, &in, &fd), i + 1 == n);
	}
	ck_assert_uint_eq(in.type, 7);
	ck_assert_int_eq(ipc_get_blob(&in, "b", &d, &dl, 100), 0);
	ck_assert_uint_eq(dl, 100);
	ck_assert_int_ge(fd, 0);
	pipe_echo(p[1], fd, 'b');
	close(fd);
	ck_assert_int_eq(ipc_conn_next(&c, &in, &fd), 0);
	ipc_conn_free(&c);
	ipc_in_free(&in);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_bound_exact_and_one_past)
{
	struct ipc_conn c;
	struct ipc_in in;
	unsigned char w[256];
	size_t  n;
	int     sv[2], fd;

	pair(sv);
	ipc_conn_init(&c, sv[0], 100);
	ipc_in_init(&in);
	n = wire(w, sizeof(w), 1, 93, 0);	/* payload 6 + 1 + 93 = 100 */
	ck_assert_int_eq(write(sv[1], w, n), (ssize_t) n);
	n = wire(w, sizeof(w), 2, 94, 0);	/* 101 */
	ck_assert_int_eq(write(sv[1], w, n), (ssize_t) n);
	ck_assert_int_gt(ipc_conn_read(&c), 0);
	ck_assert_int_eq(ipc_conn_next(&c, &in, &fd), 1);
	ck_assert_uint_eq(in.type, 1);
	ck_assert_int_eq(ipc_conn_next(&c, &in, &fd), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_ptr_nonnull(strstr(c.err, "101 bytes"));
	ck_assert_str_eq(ipc_error(&in), c.err);
	/* The error sticks. */
	ck_assert_int_eq(ipc_conn_next(&c, &in, &fd), -1);
	ck_assert_int_eq(ipc_conn_read(&c), -1);
	ipc_conn_free(&c);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * A pipe's read end travels where it should not.  After the connection
 * is freed no copy of it is left, so a write fails with EPIPE.
 */
static void
check_fd_refused(int flags, bool want_fd, const char *why)
{
	struct ipc_conn c;
	struct ipc_in in;
	unsigned char w[64];
	size_t  n = wire(w, sizeof(w), 3, 0, flags);
	int     sv[2], p[2], fd = 12345;

	signal(SIGPIPE, SIG_IGN);
	pair(sv);
	ck_assert_int_eq(pipe(p), 0);
	send_fd(sv[1], w, n, p[0]);
	close(p[0]);
	ipc_conn_init(&c, sv[0], 0);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_conn_read(&c), (ssize_t) n);
	ck_assert_int_eq(ipc_conn_next(&c, &in, want_fd ? &fd : NULL), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_msg(strstr(c.err, why) != NULL, "\"%s\" lacks \"%s\"", c.err, why);
	if (want_fd)
		ck_assert_int_eq(fd, -1);
	ipc_conn_free(&c);
	ck_assert_int_eq(write(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_fd_faults)
{
	struct ipc_conn c;
	struct ipc_in in;
	unsigned char w[64];
	size_t  n;
	int     sv[2], fd;

	check_fd_refused(0, true, "unannounced");
	check_fd_refused(IPC_F_FD, false, "none is expected");

	/* Announced, but nothing came. */
	pair(sv);
	n = wire(w, sizeof(w), 3, 0, IPC_F_FD);
	ck_assert_int_eq(write(sv[1], w, n), (ssize_t) n);
	ipc_conn_init(&c, sv[0], 0);
	ipc_in_init(&in);
	ck_assert_int_gt(ipc_conn_read(&c), 0);
	ck_assert_int_eq(ipc_conn_next(&c, &in, &fd), -1);
	ck_assert_ptr_nonnull(strstr(c.err, "none came"));
	ipc_conn_free(&c);
	close(sv[0]);
	close(sv[1]);

	/* Descriptors piling up beyond IPC_MAX_FDS: each read takes one. */
	pair(sv);
	n = wire(w, sizeof(w), 3, 0, IPC_F_FD);
	for (int i = 0; i <= IPC_MAX_FDS; i++)
		send_fd(sv[1], w, n, sv[1]);
	ipc_conn_init(&c, sv[0], 0);
	for (int i = 0; i < IPC_MAX_FDS; i++)
		ck_assert_int_eq(ipc_conn_read(&c), (ssize_t) n);
	ck_assert_int_eq(ipc_conn_read(&c), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_int_eq(c.nfds, IPC_MAX_FDS);
	ipc_conn_free(&c);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Queued output, descriptors behind pending bytes, a slow reader. */
START_TEST(test_queue_and_flush)
{
	struct ipc_conn tx, rx;
	struct ipc_msg big, small;
	struct ipc_in in;
	char   *blob = calloc(1, 512 * 1024);
	int     sv[2], p[3][2], fd, got = 0, r;
	uint64_t v;

	pair(sv);
	ipc_conn_init(&tx, sv[1], 0);
	ipc_conn_init(&rx, sv[0], 0);
	ipc_in_init(&in);
	ipc_msg_init(&big, 1);
	ipc_put_blob(&big, "b", blob, 512 * 1024);

	/* Nothing pending: a message with a descriptor goes at once. */
	ck_assert_int_eq(pipe2(p[0], O_CLOEXEC), 0);
	ipc_msg_init(&small, 2);
	ipc_put_num(&small, "k", 0);
	ck_assert_int_eq(ipc_conn_queue(&tx, &small, p[0][0]), 0);
	ck_assert(!ipc_conn_pending(&tx));
	close(p[0][0]);
	ipc_msg_free(&small);

	/* Big output first, then two descriptors that have to wait. */
	ck_assert_int_eq(ipc_conn_queue(&tx, &big, -1), 0);
	ck_assert(ipc_conn_pending(&tx));
	for (int k = 1; k <= 2; k++) {
		ck_assert_int_eq(pipe2(p[k], O_CLOEXEC), 0);
		ipc_msg_init(&small, 2);
		ipc_put_num(&small, "k", (uint64_t) k);
		ck_assert_int_eq(ipc_conn_queue(&tx, &small, p[k][0]), 0);
		close(p[k][0]);			/* the queue holds its own copy */
		ipc_msg_free(&small);
		if (k == 1)
			ck_assert_int_eq(ipc_conn_queue(&tx, &big, -1), 0);
	}
	ck_assert_int_eq(tx.n_out_fds, 2);
	ck_assert_int_eq(ipc_conn_flush(&tx), 1);	/* the peer is not reading */

	while (got < 5) {
		r = ipc_conn_flush(&tx);
		ck_assert_int_ge(r, 0);
		if (ipc_conn_read(&rx) < 0)
			ck_assert_int_eq(errno, EAGAIN);
		while ((r = ipc_conn_next(&rx, &in, &fd)) == 1) {
			got++;
			if (in.type == 1) {
				ck_assert_int_eq(fd, -1);
				continue;
			}
			ck_assert_int_eq(ipc_get_num(&in, "k", &v), 0);
			ck_assert_int_ge(fd, 0);
			pipe_echo(p[v][1], fd, (char) ('0' + v));
			close(fd);
		}
		ck_assert_int_eq(r, 0);
	}
	ck_assert(!ipc_conn_pending(&tx));
	ck_assert_int_eq(tx.n_out_fds, 0);
	for (int k = 0; k < 3; k++)
		close(p[k][1]);

	/* At most IPC_MAX_FDS descriptors wait. */
	ck_assert_int_eq(ipc_conn_queue(&tx, &big, -1), 0);
	ipc_msg_init(&small, 2);
	for (int i = 0; i < IPC_MAX_FDS; i++)
		ck_assert_int_eq(ipc_conn_queue(&tx, &small, sv[0]), 0);
	ck_assert_int_eq(ipc_conn_queue(&tx, &small, sv[0]), -1);
	ck_assert_int_eq(errno, ENOBUFS);
	/* A failed message is refused with its own errno. */
	ipc_put_str(&small, "bad name", "x");
	ck_assert_int_eq(ipc_conn_queue(&tx, &small, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ipc_msg_free(&small);

	/* The output is bounded. */
	while (ipc_conn_queue(&tx, &big, -1) == 0)
		ck_assert_uint_le(tx.out.len, IPC_CONN_OUT_MAX);
	ck_assert_int_eq(errno, ENOBUFS);

	ipc_conn_free(&tx);
	ipc_conn_free(&rx);
	ipc_msg_free(&big);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
	free(blob);
}
END_TEST

START_TEST(test_flush_peer_gone)
{
	struct ipc_conn c;
	struct ipc_msg m;
	int     sv[2];

	pair(sv);
	ipc_conn_init(&c, sv[1], 0);
	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_conn_queue(&c, &m, -1), 0);
	close(sv[0]);
	ck_assert_int_eq(ipc_conn_flush(&c), -1);	/* and no SIGPIPE */
	ck_assert_int_eq(errno, ECONNRESET);
	ipc_msg_free(&m);
	ipc_conn_free(&c);
	close(sv[1]);
}
END_TEST

START_TEST(test_sockets)
{
	char    dir[] = "/tmp/ipc_test.XXXXXX", path[200], longp[200];
	struct ipc_msg m;
	struct ipc_in in;
	struct stat st;
	int     lfd, cfd, afd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/sock", dir), (int) sizeof(path));
	lfd = ipc_listen(path, 0620, 4);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0620);
	ck_assert(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(lfd, F_GETFD) & FD_CLOEXEC);

	cfd = ipc_connect(path, false);
	ck_assert_int_ge(cfd, 0);
	ck_assert(!(fcntl(cfd, F_GETFL) & O_NONBLOCK));
	ck_assert(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(afd, 0);
	ipc_msg_init(&m, 77);
	ck_assert_int_eq(ipc_send(cfd, &m, -1, 1000), 0);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_recv(afd, &in, NULL, 1000), 0);
	ck_assert_uint_eq(in.type, 77);
	close(afd);
	close(cfd);
	cfd = ipc_connect(path, true);
	ck_assert_int_ge(cfd, 0);
	ck_assert(fcntl(cfd, F_GETFL) & O_NONBLOCK);
	close(cfd);
	close(lfd);

	/* A stale socket is connection refused, then replaced. */
	ck_assert_int_eq(ipc_connect(path, false), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	lfd = ipc_listen(path, 0600, 4);
	ck_assert_int_ge(lfd, 0);
	close(lfd);

	/*
	 * A symbolic link there is removed, never followed: its target
	 * keeps its mode, and the socket is made in the link's place.
	 */
	{
		char    target[200];
		int     tfd;

		ck_assert_int_lt(snprintf(target, sizeof(target), "%s/target", dir),
				 (int) sizeof(target));
		tfd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0640);
		ck_assert_int_ge(tfd, 0);
		close(tfd);
		ck_assert_int_eq(unlink(path), 0);
		ck_assert_int_eq(symlink(target, path), 0);
		lfd = ipc_listen(path, 0666, 4);
		ck_assert_int_ge(lfd, 0);
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert(S_ISSOCK(st.st_mode));
		ck_assert_uint_eq(st.st_mode & 07777, 0666);
		ck_assert_int_eq(stat(target, &st), 0);
		ck_assert(S_ISREG(st.st_mode));
		ck_assert_uint_eq(st.st_mode & 07777, 0640);
		close(lfd);
		/* So is a plain file. */
		ck_assert_int_eq(unlink(path), 0);
		ck_assert_int_eq(link(target, path), 0);
		lfd = ipc_listen(path, 0600, 4);
		ck_assert_int_ge(lfd, 0);
		close(lfd);
		ck_assert_int_eq(stat(target, &st), 0);
		ck_assert_uint_eq(st.st_nlink, 1);
		ck_assert_int_eq(unlink(target), 0);
	}

	/* A directory at the path is left alone. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(ipc_listen(path, 0600, 4), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(ipc_connect(path, false), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* sun_path holds 107 characters and the NUL; 108 do not fit. */
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[108] = '\0';
	ck_assert_int_eq(ipc_listen(longp, 0600, 4), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_int_eq(ipc_connect(longp, false), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	longp[107] = '\0';
	ck_assert_int_eq(ipc_connect(longp, false), -1);
	ck_assert_int_ne(errno, ENAMETOOLONG);

	ck_assert_int_eq(rmdir(dir), 0);
	ipc_msg_free(&m);
	ipc_in_free(&in);
}
END_TEST

/* msg_bytes - the wire bytes of a message with one number record v */
static size_t
msg_bytes(unsigned char *out, size_t size, uint64_t v)
{
	struct ipc_msg m;
	int     sv[2];
	ssize_t got;

	ipc_msg_init(&m, 7);
	ck_assert_int_eq(ipc_put_num(&m, "v", v), 0);
	pair(sv);
	ck_assert_int_eq(ipc_send(sv[1], &m, -1, 1000), 0);
	got = read(sv[0], out, size);
	ck_assert_int_gt(got, 0);
	ipc_msg_free(&m);
	close(sv[0]);
	close(sv[1]);
	return (size_t) got;
}

static uint64_t
value_of(struct ipc_in *in)
{
	uint64_t v = 0;

	ck_assert_int_eq(in->type, 7);
	ck_assert_int_eq(ipc_get_num(in, "v", &v), 0);
	ck_assert_int_eq(ipc_get_end(in), 0);
	return v;
}

START_TEST(test_recv_blocking)
{
	unsigned char a[64], b[64], both[128];
	size_t  na = msg_bytes(a, sizeof(a), 1), nb = msg_bytes(b, sizeof(b), 2);
	struct ipc_conn c;
	struct ipc_in in;
	int     sv[2], fd = -1, pfd[2];

	pair(sv);
	ipc_conn_init(&c, sv[0], 0);
	ipc_in_init(&in);
	/* Nothing there: the timeout, not a hang. */
	ck_assert_int_eq(ipc_conn_recv(&c, &in, NULL, 50, true), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(ipc_conn_recv(&c, &in, NULL, 50, false), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	/* Two messages in one write: one read, the second stays buffered. */
	memcpy(both, a, na);
	memcpy(both + na, b, nb);
	ck_assert_int_eq(write(sv[1], both, na + nb), (ssize_t) (na + nb));
	ck_assert_int_eq(ipc_conn_recv(&c, &in, NULL, 1000, false), 0);
	ck_assert_uint_eq(value_of(&in), 1);
	ck_assert_uint_eq(c.in.len, nb);
	ck_assert_int_eq(ipc_conn_recv(&c, &in, NULL, 0, true), 0);
	ck_assert_uint_eq(value_of(&in), 2);
	/* In pieces: waits for the rest. */
	ck_assert_int_eq(write(sv[1], a, 5), 5);
	if (fork() == 0) {
		usleep(50000);
		_exit(write(sv[1], a + 5, na - 5) == (ssize_t) (na - 5) ? 0 : 1);
	}
	ck_assert_int_eq(ipc_conn_recv(&c, &in, NULL, 2000, true), 0);
	ck_assert_uint_eq(value_of(&in), 1);
	/* A descriptor comes with its message. */
	ck_assert_int_eq(pipe(pfd), 0);
	a[3] = IPC_F_FD;
	send_fd(sv[1], a, na, pfd[0]);
	ck_assert_int_eq(ipc_conn_recv(&c, &in, &fd, 1000, true), 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(pfd[0]);
	close(pfd[1]);
	/* Half a message, then EOF: a reset, not a clean end. */
	a[3] = 0;
	ck_assert_int_eq(write(sv[1], a, 5), 5);
	close(sv[1]);
	ck_assert_int_eq(ipc_conn_recv(&c, &in, NULL, 1000, true), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	ipc_conn_free(&c);
	close(sv[0]);

	/* EOF before any byte: 1. */
	pair(sv);
	ipc_conn_init(&c, sv[0], 0);
	close(sv[1]);
	ck_assert_int_eq(ipc_conn_recv(&c, &in, NULL, 1000, true), 1);
	ipc_conn_free(&c);
	close(sv[0]);

	/* A malformed message: a protocol error. */
	pair(sv);
	ipc_conn_init(&c, sv[0], 0);
	ck_assert_int_eq(write(sv[1], "XX\1\0\0\7\0\0\0\0\0\0", 12), 12);
	ck_assert_int_eq(ipc_conn_recv(&c, &in, NULL, 1000, true), -1);
	ck_assert_int_eq(errno, EPROTO);
	ipc_conn_free(&c);
	close(sv[0]);
	close(sv[1]);
	ipc_in_free(&in);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("ipc_conn");
	TCase  *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_several_messages_in_one_read);
	tcase_add_test(tc, test_byte_by_byte);
	tcase_add_test(tc, test_bound_exact_and_one_past);
	tcase_add_test(tc, test_fd_faults);
	tcase_add_test(tc, test_queue_and_flush);
	tcase_add_test(tc, test_flush_peer_gone);
	tcase_add_test(tc, test_sockets);
	tcase_add_test(tc, test_recv_blocking);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
