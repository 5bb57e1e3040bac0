/* ipc_test - check suite for lib/ipc/ipc: encoding, strict parsing, blocking I/O, fds. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"

#include "event.h"
#include "ipc.h"

/* A hand-made message, for what ipc_put_*() would never produce. */
struct raw {
	unsigned char b[4096];
	size_t	n;
};

static void
raw_hdr(struct raw *r, int version, int flags, uint16_t type, uint16_t nrec)
{
	unsigned char h[IPC_HDR_LEN] = {'P', 'M', (unsigned char) version,
		(unsigned char) flags, (unsigned char) (type >> 8),
		(unsigned char) type, (unsigned char) (nrec >> 8),
	(unsigned char) nrec};

	memcpy(r->b, h, sizeof(h));
	r->n = IPC_HDR_LEN;
}

static void
raw_bytes(struct raw *r, const void *p, size_t n)
{
	ck_assert_uint_le(r->n + n, sizeof(r->b));
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

/* raw_rec - a record whose data length field says dlen (not always dl) */
static void
raw_rec(struct raw *r, int kind, const char *name, const void *data,
	size_t dl, uint32_t dlen)
{
	unsigned char h[6] = {(unsigned char) kind, (unsigned char) strlen(name),
		(unsigned char) (dlen >> 24), (unsigned char) (dlen >> 16),
	(unsigned char) (dlen >> 8), (unsigned char) dlen};

	raw_bytes(r, h, sizeof(h));
	raw_bytes(r, name, strlen(name));
	raw_bytes(r, data, dl);
}

/* raw_send - fill in the payload length and write it all */
static void
raw_send(int fd, struct raw *r)
{
	uint32_t len = (uint32_t) (r->n - IPC_HDR_LEN);

	r->b[8] = (unsigned char) (len >> 24);
	r->b[9] = (unsigned char) (len >> 16);
	r->b[10] = (unsigned char) (len >> 8);
	r->b[11] = (unsigned char) len;
	ck_assert_int_eq(write(fd, r->b, r->n), (ssize_t) r->n);
}

static void
pair(int sv[2])
{
	ck_assert_int_eq(ipc_socketpair(sv), 0);
}

/* expect_bad - the raw message is refused with errno err and a reason */
static void
expect_bad(struct raw *r, int err, const char *why)
{
	struct ipc_in in;
	int     sv[2];

	pair(sv);
	raw_send(sv[1], r);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 1000), -1);
	ck_assert_int_eq(errno, err);
	ck_assert_msg(strstr(ipc_error(&in), why) != NULL,
		      "error \"%s\" does not mention \"%s\"", ipc_error(&in), why);
	ck_assert_ptr_null(ipc_peek_name(&in));
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_round_trip_every_kind)
{
	struct ipc_msg m;
	struct ipc_in in;
	const char *s;
	const void *p;
	size_t  n;
	uint64_t v;
	int     sv[2], fd;

	pair(sv);
	ipc_msg_init(&m, 4711);
	ck_assert_int_eq(ipc_put_str(&m, "sender", "a@example.org"), 0);
	ck_assert_int_eq(ipc_put_str(&m, "empty", ""), 0);
	ck_assert_int_eq(ipc_put_strn(&m, "part", "abcdef", 3), 0);
	ck_assert_int_eq(ipc_put_num(&m, "zero", 0), 0);
	ck_assert_int_eq(ipc_put_num(&m, "max", UINT64_MAX), 0);
	ck_assert_int_eq(ipc_put_num(&m, "n", 0x0102030405060708ULL), 0);
	ck_assert_int_eq(ipc_put_blob(&m, "bin", "\0\1\0\xff", 4), 0);
	ck_assert_int_eq(ipc_put_blob(&m, "none", NULL, 0), 0);
	ck_assert_int_eq(ipc_send(sv[1], &m, -1, 1000), 0);

	ipc_in_init(&in);
	ck_assert_int_eq(ipc_recv(sv[0], &in, &fd, 1000), 0);
	ck_assert_int_eq(fd, -1);
	ck_assert_uint_eq(in.type, 4711);
	ck_assert_str_eq(ipc_peek_name(&in), "sender");
	ck_assert_int_eq(ipc_get_str(&in, "sender", &s, 100), 0);
	ck_assert_str_eq(s, "a@example.org");
	ck_assert_int_eq(ipc_get_str(&in, "empty", &s, 0), 0);
	ck_assert_str_eq(s, "");
	ck_assert_int_eq(ipc_get_str(&in, "part", &s, 3), 0);
	ck_assert_str_eq(s, "abc");
	ck_assert_int_eq(ipc_get_num(&in, "zero", &v), 0);
	ck_assert(v == 0);
	ck_assert_int_eq(ipc_get_num(&in, "max", &v), 0);
	ck_assert(v == UINT64_MAX);
	ck_assert_int_eq(ipc_get_num(&in, "n", &v), 0);
	ck_assert(v == 0x0102030405060708ULL);
	ck_assert_int_eq(ipc_get_blob(&in, "bin", &p, &n, 4), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(memcmp(p, "\0\1\0\xff", 4), 0);
	ck_assert_int_eq(ipc_get_blob(&in, "none", &p, &n, 0), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(ipc_peek_name(&in));
	ck_assert_int_eq(ipc_get_end(&in), 0);

	/* The same message again, and an empty one: each read on its own. */
	ck_assert_int_eq(ipc_send(sv[1], &m, -1, 1000), 0);
	ipc_msg_free(&m);
	ipc_msg_init(&m, 0);
	ck_assert_int_eq(ipc_send(sv[1], &m, -1, -1), 0);
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, -1), 0);
	ck_assert_uint_eq(in.type, 4711);
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 1000), 0);
	ck_assert_uint_eq(in.type, 0);
	ck_assert_int_eq(ipc_get_end(&in), 0);
	ipc_msg_free(&m);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_put_names_and_strings)
{
	struct ipc_msg m;
	char    name[IPC_NAME_MAX + 2];
	int     sv[2];

	memset(name, 'x', sizeof(name));
	name[IPC_NAME_MAX] = '\0';
	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put_str(&m, name, "ok"), 0);	/* IPC_NAME_MAX */
	ck_assert_int_eq(m.failed, 0);
	name[IPC_NAME_MAX] = 'x';
	name[IPC_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(ipc_put_str(&m, name, "no"), -1);	/* one past */
	ck_assert_int_eq(m.failed, EINVAL);
	/* The failure sticks: later puts and the send fail too. */
	ck_assert_int_eq(ipc_put_num(&m, "fine", 1), -1);
	pair(sv);
	ck_assert_int_eq(ipc_send(sv[1], &m, -1, 1000), -1);
	ck_assert_int_eq(errno, EINVAL);
	ipc_msg_free(&m);

	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put_str(&m, "", "empty name"), -1);
	ipc_msg_free(&m);
	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put_str(&m, "a b", "space in name"), -1);
	ipc_msg_free(&m);
	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put_str(&m, "a\n", "control in name"), -1);
	ipc_msg_free(&m);
	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put_strn(&m, "s", "ab\0cd", 5), -1);
	ck_assert_int_eq(m.failed, EINVAL);
	ipc_msg_free(&m);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_put_size_bound)
{
	struct ipc_msg m;
	size_t  n = IPC_MSG_MAX - 6 - 1;	/* record header, name "b" */
	char   *big = calloc(1, n + 1);

	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put_blob(&m, "b", big, n + 1), -1);
	ck_assert_int_eq(m.failed, EMSGSIZE);
	ipc_msg_free(&m);
	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put_blob(&m, "b", big, n), 0);	/* exactly max */
	ck_assert_int_eq(ipc_put_blob(&m, "c", NULL, 0), -1);	/* nothing fits */
	ck_assert_int_eq(m.failed, EMSGSIZE);
	ipc_msg_free(&m);

	/* 65535 records at most. */
	ipc_msg_init(&m, 1);
	for (int i = 0; i < 65535; i++)
		ck_assert_int_eq(ipc_put_blob(&m, "r", NULL, 0), 0);
	ck_assert_int_eq(ipc_put_blob(&m, "r", NULL, 0), -1);
	ipc_msg_free(&m);
	free(big);
}
END_TEST

/* The sender writes a payload of exactly IPC_MSG_MAX from a child. */
START_TEST(test_recv_at_max_and_one_past)
{
	size_t  n = IPC_MSG_MAX - 7;
	struct ipc_in in;
	const void *p;
	size_t  got;
	int     sv[2];
	pid_t   pid;
	int     st;

	pair(sv);
	if ((pid = fork()) == 0) {
		struct ipc_msg m;
		char   *big = malloc(n);

		memset(big, 'q', n);
		ipc_msg_init(&m, 9);
		if (ipc_put_blob(&m, "b", big, n) < 0
		    || ipc_send(sv[1], &m, -1, 5000) < 0)
			_exit(1);
		_exit(0);
	}
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 5000), 0);
	ck_assert_int_eq(ipc_get_blob(&in, "b", &p, &got, n), 0);
	ck_assert_uint_eq(got, n);
	ck_assert_int_eq(((const char *) p)[n - 1], 'q');
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(st, 0);
	ipc_in_free(&in);

	/* A receiver with a lower bound: exactly it, then one past. */
	{
		struct ipc_msg m;
		char    data[94] = {0};

		ipc_in_init_max(&in, 100);
		ipc_msg_init(&m, 1);
		ipc_put_blob(&m, "b", data, 93);	/* 6 + 1 + 93 = 100 */
		ck_assert_int_eq(ipc_send(sv[1], &m, -1, 1000), 0);
		ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 1000), 0);
		ipc_msg_free(&m);
		ipc_msg_init(&m, 1);
		ipc_put_blob(&m, "b", data, 94);
		ck_assert_int_eq(ipc_send(sv[1], &m, -1, 1000), 0);
		ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 1000), -1);
		ck_assert_int_eq(errno, EMSGSIZE);
		ck_assert_ptr_nonnull(strstr(ipc_error(&in), "101 bytes"));
		ipc_msg_free(&m);
		ipc_in_free(&in);
	}

	/* One past IPC_MSG_MAX is refused from the header alone. */
	{
		unsigned char h[IPC_HDR_LEN] = {'P', 'M', IPC_VERSION, 0, 0, 1,
		0, 1, 0, 0x10, 0, 1};	/* 0x100001 = IPC_MSG_MAX + 1 */

		ck_assert_int_eq(IPC_MSG_MAX + 1, 0x100001);
		close(sv[0]);
		close(sv[1]);
		pair(sv);
		ipc_in_init(&in);
		ck_assert_int_eq(write(sv[1], h, sizeof(h)), (ssize_t) sizeof(h));
		ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 1000), -1);
		ck_assert_int_eq(errno, EMSGSIZE);
		ipc_in_free(&in);
	}
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_header_faults)
{
	struct raw r;

	raw_hdr(&r, IPC_VERSION, 0, 1, 0);
	r.b[0] = 'X';
	expect_bad(&r, EPROTO, "magic");
	raw_hdr(&r, IPC_VERSION + 1, 0, 1, 0);
	expect_bad(&r, EPROTO, "version");
	raw_hdr(&r, IPC_VERSION, 0x80, 1, 0);
	expect_bad(&r, EPROTO, "flags");
	/* Record count that does not match, both ways. */
	raw_hdr(&r, IPC_VERSION, 0, 1, 2);
	raw_rec(&r, 'n', "a", "12345678", 8, 8);
	expect_bad(&r, EPROTO, "2 records announced, 1");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 'n', "a", "12345678", 8, 8);
	raw_rec(&r, 'n', "b", "12345678", 8, 8);
	expect_bad(&r, EPROTO, "1 records announced, more present");
	raw_hdr(&r, IPC_VERSION, 0, 1, 0);
	raw_bytes(&r, "\0", 1);			/* trailing byte, no record */
	expect_bad(&r, EPROTO, "truncated record header");
}
END_TEST

START_TEST(test_record_faults)
{
	struct raw r;

	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_bytes(&r, "s\1\0", 3);		/* half a record header */
	expect_bad(&r, EPROTO, "truncated record header");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 'b', "x", "12345", 5, 10);	/* says 10, has 5 */
	expect_bad(&r, EPROTO, "truncated");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 'b', "x", "12345", 5, 0xffffffffU);
	expect_bad(&r, EPROTO, "truncated");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_bytes(&r, "b\x40\0\0\0\0xx", 8);	/* name length past the end */
	expect_bad(&r, EPROTO, "truncated");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 'z', "x", "", 0, 0);
	expect_bad(&r, EPROTO, "unknown kind");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 'b', "", "", 0, 0);
	expect_bad(&r, EPROTO, "bad name");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 'b', "a b", "", 0, 0);
	expect_bad(&r, EPROTO, "bad name");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 'n', "n", "1234567", 7, 7);
	expect_bad(&r, EPROTO, "expected 8");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 's', "s", "abc", 3, 3);	/* no trailing NUL */
	expect_bad(&r, EPROTO, "NUL");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 's', "s", "a\0c\0", 4, 4);	/* NUL inside */
	expect_bad(&r, EPROTO, "NUL");
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 's', "s", "", 0, 0);	/* not even the NUL */
	expect_bad(&r, EPROTO, "NUL");
}
END_TEST

START_TEST(test_strict_getters)
{
	struct ipc_msg m;
	struct ipc_in in;
	const char *s;
	const void *p;
	size_t  n;
	uint64_t v;
	int     sv[2];

	pair(sv);
	ipc_msg_init(&m, 2);
	ipc_put_str(&m, "a", "hello");
	ipc_put_num(&m, "b", 7);
	ipc_put_blob(&m, "c", "xyz", 3);
	ipc_in_init(&in);
	for (int round = 0; round < 7; round++) {
		ck_assert_int_eq(ipc_send(sv[1], &m, -1, 1000), 0);
		ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 1000), 0);
		switch (round) {
		case 0:			/* wrong kind */
			ck_assert_int_eq(ipc_get_num(&in, "a", &v), -1);
			ck_assert_str_eq(ipc_error(&in), "expected number \"a\", "
					 "found string \"a\"");
			break;
		case 1:			/* wrong name (order) */
			ck_assert_int_eq(ipc_get_str(&in, "b", &s, 10), -1);
			ck_assert_ptr_nonnull(strstr(ipc_error(&in), "found string \"a\""));
			break;
		case 2:			/* over the bound, and exactly at it */
			ck_assert_int_eq(ipc_get_str(&in, "a", &s, 4), -1);
			ck_assert_ptr_nonnull(strstr(ipc_error(&in), "5 bytes exceeds"));
			ck_assert_int_eq(ipc_get_str(&in, "a", &s, 5), 0);
			ck_assert_int_eq(ipc_get_num(&in, "b", &v), 0);
			ck_assert_int_eq(ipc_get_blob(&in, "c", &p, &n, 2), -1);
			ck_assert_int_eq(ipc_get_blob(&in, "c", &p, &n, 3), 0);
			break;
		case 3:			/* trailing data */
			ck_assert_int_eq(ipc_get_str(&in, "a", &s, 10), 0);
			ck_assert_int_eq(ipc_get_end(&in), -1);
			ck_assert_ptr_nonnull(strstr(ipc_error(&in), "number \"b\""));
			break;
		case 4:			/* a name that is a prefix */
			ck_assert_int_eq(ipc_get_str(&in, "aa", &s, 10), -1);
			break;
		case 5:			/* reading past the end */
			ck_assert_int_eq(ipc_get_str(&in, "a", &s, 10), 0);
			ck_assert_int_eq(ipc_get_num(&in, "b", &v), 0);
			ck_assert_int_eq(ipc_get_blob(&in, "c", &p, &n, 3), 0);
			ck_assert_int_eq(ipc_get_end(&in), 0);
			ck_assert_int_eq(ipc_get_num(&in, "d", &v), -1);
			ck_assert_ptr_nonnull(strstr(ipc_error(&in), "end of the message"));
			break;
		case 6:			/* peek does not consume */
			ck_assert_str_eq(ipc_peek_name(&in), "a");
			ck_assert_str_eq(ipc_peek_name(&in), "a");
			ck_assert_int_eq(ipc_get_str(&in, "a", &s, 10), 0);
			ck_assert_str_eq(ipc_peek_name(&in), "b");
			break;
		}
	}
	ipc_msg_free(&m);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* is_cloexec - the descriptor is open and close-on-exec */
static bool
is_cloexec(int fd)
{
	int     f = fcntl(fd, F_GETFD);

	return f >= 0 && (f & FD_CLOEXEC);
}

START_TEST(test_fd_passing)
{
	struct ipc_msg m;
	struct ipc_in in;
	int     sv[2], p[2], got;
	char    c;

	pair(sv);
	ck_assert_int_eq(pipe(p), 0);
	ipc_msg_init(&m, 3);
	ipc_put_str(&m, "what", "pipe");
	/* A message without, then one with: the first read must not grab it. */
	ck_assert_int_eq(ipc_send(sv[1], &m, -1, 1000), 0);
	ck_assert_int_eq(ipc_send(sv[1], &m, p[0], 1000), 0);
	close(p[0]);				/* the sender keeps no copy */
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_recv(sv[0], &in, &got, 1000), 0);
	ck_assert_int_eq(got, -1);
	ck_assert_int_eq(ipc_recv(sv[0], &in, &got, 1000), 0);
	ck_assert_int_ge(got, 0);
	ck_assert_uint_eq(in.flags, IPC_F_FD);
	ck_assert(is_cloexec(got));
	ck_assert_int_eq(write(p[1], "!", 1), 1);
	ck_assert_int_eq(read(got, &c, 1), 1);
	ck_assert_int_eq(c, '!');
	close(got);
	close(p[1]);
	ipc_msg_free(&m);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* raw_send_fd - one sendmsg() of r with fd attached */
static void
raw_send_fd(int sock, struct raw *r, int fd)
{
	union {
		struct cmsghdr h;
		char    b[CMSG_SPACE(sizeof(int))];
	}       ctl;
	struct iovec iov;
	struct msghdr mh = {0};
	struct cmsghdr *cm;
	uint32_t len = (uint32_t) (r->n - IPC_HDR_LEN);

	r->b[8] = (unsigned char) (len >> 24);
	r->b[9] = (unsigned char) (len >> 16);
	r->b[10] = (unsigned char) (len >> 8);
	r->b[11] = (unsigned char) len;
	iov.iov_base = r->b;
	iov.iov_len = r->n;
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &mh, 0), (ssize_t) r->n);
}

/*
 * The only other copy of a pipe's read end travels unannounced.  Once
 * ipc_recv() has closed it, writing to the pipe fails with EPIPE.
 */
static void
check_fd_refused(int flags, bool want_fd, const char *why)
{
	struct ipc_in in;
	struct raw r;
	int     sv[2], p[2], got = 12345;

	signal(SIGPIPE, SIG_IGN);
	pair(sv);
	ck_assert_int_eq(pipe(p), 0);
	raw_hdr(&r, IPC_VERSION, flags, 5, 0);
	raw_send_fd(sv[1], &r, p[0]);
	close(p[0]);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_recv(sv[0], &in, want_fd ? &got : NULL, 1000), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_ptr_nonnull(strstr(ipc_error(&in), why));
	if (want_fd)
		ck_assert_int_eq(got, -1);
	ck_assert_int_eq(write(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_fd_unannounced_closed)
{
	check_fd_refused(0, true, "unannounced");
	check_fd_refused(IPC_F_FD, false, "none is expected");
}
END_TEST

START_TEST(test_fd_announced_missing)
{
	struct raw r;
	struct ipc_in in;
	int     sv[2], got;

	pair(sv);
	raw_hdr(&r, IPC_VERSION, IPC_F_FD, 5, 0);
	raw_send(sv[1], &r);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_recv(sv[0], &in, &got, 1000), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_ptr_nonnull(strstr(ipc_error(&in), "none came"));
	ck_assert_int_eq(got, -1);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_eof_and_truncation)
{
	struct ipc_in in;
	struct raw r;
	int     sv[2];

	ipc_in_init(&in);
	pair(sv);
	close(sv[1]);
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 1000), 1);	/* clean EOF */
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, -1), 1);
	close(sv[0]);

	pair(sv);				/* EOF inside the header */
	ck_assert_int_eq(write(sv[1], "PM\1", 3), 3);
	close(sv[1]);
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 1000), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	close(sv[0]);

	pair(sv);				/* EOF inside the payload */
	raw_hdr(&r, IPC_VERSION, 0, 1, 1);
	raw_rec(&r, 'b', "x", "12345", 5, 5);
	r.b[11] = 20;				/* 12 bytes promised 20 */
	ck_assert_int_eq(write(sv[1], r.b, r.n), (ssize_t) r.n);
	close(sv[1]);
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 1000), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	ck_assert_ptr_nonnull(strstr(ipc_error(&in), "middle"));
	close(sv[0]);
	ipc_in_free(&in);
}
END_TEST

START_TEST(test_timeouts)
{
	struct ipc_in in;
	struct ipc_msg m;
	uint64_t t0;
	int     sv[2];
	char   *big = calloc(1, 1 << 19);

	ipc_in_init(&in);
	pair(sv);
	t0 = ev_time_ms();
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 50), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_uint_ge(ev_time_ms(), t0 + 50);
	ck_assert_str_eq(ipc_error(&in), "timed out");

	/* Half a message, then silence: one deadline for the whole call. */
	ck_assert_int_eq(write(sv[1], "PM\1\0\0\1\0\0\0\0\0\x10", 12), 12);
	t0 = ev_time_ms();
	ck_assert_int_eq(ipc_recv(sv[0], &in, NULL, 50), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_uint_lt(ev_time_ms(), t0 + 1000);
	close(sv[0]);
	close(sv[1]);

	/* A peer that does not read: the send gives up at the deadline. */
	pair(sv);
	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put_blob(&m, "b", big, 1 << 19), 0);
	ck_assert_int_eq(ipc_send(sv[1], &m, -1, 50), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	close(sv[0]);
	/* ... and a peer that is gone is ECONNRESET, without SIGPIPE. */
	ck_assert_int_eq(ipc_send(sv[1], &m, -1, 50), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	close(sv[1]);
	ipc_msg_free(&m);
	ipc_in_free(&in);
	free(big);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("ipc");
	TCase  *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_round_trip_every_kind);
	tcase_add_test(tc, test_put_names_and_strings);
	tcase_add_test(tc, test_put_size_bound);
	tcase_add_test(tc, test_recv_at_max_and_one_past);
	tcase_add_test(tc, test_header_faults);
	tcase_add_test(tc, test_record_faults);
	tcase_add_test(tc, test_strict_getters);
	tcase_add_test(tc, test_fd_passing);
	tcase_add_test(tc, test_fd_unannounced_closed);
	tcase_add_test(tc, test_fd_announced_missing);
	tcase_add_test(tc, test_eof_and_truncation);
	tcase_add_test(tc, test_timeouts);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
