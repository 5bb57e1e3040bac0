/*
 * local_mbox_test - check suite for local/local_copy.c and
 * local/local_mbox.c: the From_ line, ">From " quoting across read
 * chunks, the delivered content, and mbox delivery with its refusals
 * (symbolic link, hard link, wrong owner), locks, size limit and the
 * cut back after a failed write.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"

#include "buf.h"
#include "../../local/local.h"
#include "safefile.h"
#include "str.h"

static char dir[] = "/tmp/local_mbox_test.XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	scratch_remove(dir, "/tmp/local_mbox_test.");
	(void) str_copy(dir, sizeof(dir), "/tmp/local_mbox_test.XXXXXX");
}

/* source - a fake queue file: junk, header, junk, body */
static int
source(struct local_msg *m, const char *hdr, const char *body, size_t body_len)
{
	char    path[256];
	int     fd;

	(void) str_fmt(path, sizeof(path), "%s/queuefile", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sf_write_all(fd, "JUNKJUNK", 8), 0);
	ck_assert_int_eq(sf_write_all(fd, hdr, strlen(hdr)), 0);
	ck_assert_int_eq(sf_write_all(fd, "XX", 2), 0);
	ck_assert_int_eq(sf_write_all(fd, body, body_len), 0);
	ck_assert_int_eq(sf_write_all(fd, "TAIL", 4), 0);
	memset(m, 0, sizeof(*m));
	m->qfd = fd;
	m->queue_id = "0PZ1K8Q3F7M2W9X";
	m->sender = "sender@example.org";
	m->rcpt = "alice@example.com";
	m->hdr_off = 8;
	m->hdr_len = strlen(hdr);
	m->body_off = 8 + (off_t) strlen(hdr) + 2;
	m->body_len = body_len;
	return fd;
}

static void
slurp(const char *path, struct buf *b)
{
	char    chunk[65536];
	int     fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	buf_reset(b);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		ck_assert_int_eq(buf_append(b, chunk, (size_t) n), 0);
	close(fd);
}

START_TEST(test_from_line)
{
	char    out[256];
	size_t  n;

	n = local_mbox_from_line(out, sizeof(out), "", 0);
	ck_assert_uint_gt(n, 0);
	ck_assert(strncmp(out, "From MAILER-DAEMON ", 19) == 0);
	ck_assert_int_eq(out[n - 1], '\n');
	n = local_mbox_from_line(out, sizeof(out), "\"a b\"@x\ty", time(NULL));
	ck_assert(strncmp(out, "From \"a_b\"@x_y ", 15) == 0);
	/* Exactly three fields on one line. */
	ck_assert_ptr_eq(strchr(out, '\n'), out + n - 1);
	ck_assert_uint_eq(local_mbox_from_line(out, 10, "someone@example.org", 0), 0);
	ck_assert_uint_eq(local_prefix_headers(out, sizeof(out), "", "a@b"),
			  strlen("Return-Path: <>\nDelivered-To: a@b\n"));
	ck_assert_str_eq(out, "Return-Path: <>\nDelivered-To: a@b\n");
	ck_assert_uint_eq(local_prefix_headers(out, 20, "x@y", "a@b"), 0);
}
END_TEST

static void
quote(const char *in, size_t n, struct buf *out, bool *nl)
{
	char    path[256];
	int     fd, ofd;

	(void) str_fmt(path, sizeof(path), "%s/q.in", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(sf_write_all(fd, in, n), 0);
	(void) str_fmt(path, sizeof(path), "%s/q.out", dir);
	ofd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(local_quote_copy(fd, 0, n, ofd, nl), 0);
	close(fd);
	close(ofd);
	slurp(path, out);
}

START_TEST(test_quote_lines)
{
	struct buf out;
	bool    nl;
	const char *in = "From x\nabc From y\nFrom  z\n>From w\nFromage\nfrom q\nFrom ";

	buf_init(&out, 1 << 20);
	quote(in, strlen(in), &out, &nl);
	ck_assert_str_eq(out.data, ">From x\nabc From y\n>From  z\n>From w\nFromage\n"
			 "from q\n>From ");
	ck_assert(!nl);
	quote("", 0, &out, &nl);
	ck_assert_uint_eq(out.len, 0);
	ck_assert(nl);
	quote("x\n", 2, &out, &nl);
	ck_assert(nl);
	buf_free(&out);
}
END_TEST

START_TEST(test_quote_chunk_edges)
{
	struct buf in, out, want;
	bool    nl;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	buf_init(&want, 1 << 20);
	/* "From " starting 1..6 bytes before the 64 KiB chunk end. */
	for (int back = 1; back <= 6; back++) {
		buf_reset(&in);
		buf_reset(&want);
		for (int i = 0; i < 65536 - back - 1; i++)
			(void) buf_putc(&in, 'a');
		(void) buf_putc(&in, '\n');
		(void) buf_append(&want, in.data, in.len);
		(void) buf_puts(&in, "From me\nFrom you\n");
		(void) buf_puts(&want, ">From me\n>From you\n");
		quote(in.data, in.len, &out, &nl);
		ck_assert_msg(out.len == want.len && memcmp(out.data, want.data, want.len) == 0,
			      "chunk edge %d bytes back: quoting differs", back);
		ck_assert(nl);
	}
	buf_free(&in);
	buf_free(&out);
	buf_free(&want);
}
END_TEST

START_TEST(test_copy_message)
{
	struct local_msg m;
	struct buf out;
	char    path[256];
	int     ofd;

	buf_init(&out, 1 << 20);
	source(&m, "Subject: hi\nFrom: a@b\n", "From the start\nbody\n", 20);
	(void) str_fmt(path, sizeof(path), "%s/plain", dir);
	ofd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(local_copy_message(ofd, &m, m.rcpt, 0, 0), 0);
	close(ofd);
	slurp(path, &out);
	ck_assert_str_eq(out.data, "Return-Path: <sender@example.org>\n"
			 "Delivered-To: alice@example.com\n"
			 "Subject: hi\nFrom: a@b\n\nFrom the start\nbody\n");

	/* mbox form: From_ line, quoting, an empty line after. */
	ofd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(local_copy_message(ofd, &m, m.rcpt, LC_FROM_LINE | LC_MBOX_QUOTE,
					    0), 0);
	close(ofd);
	slurp(path, &out);
	ck_assert(strncmp(out.data, "From sender@example.org ", 24) == 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\nFrom: a@b\n\n>From the start\nbody\n\n"));
	ck_assert_int_eq(out.data[out.len - 1], '\n');
	ck_assert_int_eq(out.data[out.len - 2], '\n');
	ck_assert_int_ne(out.data[out.len - 3], '\n');
	close(m.qfd);

	/* A body without a final line end still ends an mbox message right. */
	source(&m, "Subject: x\n", "no newline", 10);
	ofd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(local_copy_message(ofd, &m, m.rcpt, LC_FROM_LINE | LC_MBOX_QUOTE,
					    0), 0);
	close(ofd);
	slurp(path, &out);
	ck_assert_ptr_nonnull(strstr(out.data, "\n\nno newline\n\n"));
	close(m.qfd);

	/* A source shorter than promised is an error, not a short copy. */
	source(&m, "Subject: x\n", "body\n", 5);
	m.body_len = 1000;
	ofd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(local_copy_message(ofd, &m, m.rcpt, 0, 0), -1);
	ck_assert_int_eq(errno, EIO);
	close(ofd);
	close(m.qfd);
	buf_free(&out);
}
END_TEST

/* Above SMALL_MSG the content is streamed; the bytes must be the same. */
START_TEST(test_copy_large)
{
	struct local_msg m;
	struct buf body, out, want;
	char    path[256];
	int     ofd, lines = 0;

	buf_init(&body, 1 << 21);
	buf_init(&out, 1 << 22);
	buf_init(&want, 1 << 22);
	while (body.len < 400 * 1024) {
		(void) buf_puts(&body, lines % 3 == 0 ? "From a line\n" : "plain line\n");
		lines++;
	}
	(void) buf_puts(&body, "no newline at the end");
	source(&m, "Subject: big\n", body.data, body.len);
	(void) str_fmt(path, sizeof(path), "%s/large", dir);
	ofd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(local_copy_message(ofd, &m, m.rcpt, LC_MBOX_QUOTE, 0), 0);
	close(ofd);
	slurp(path, &out);
	(void) buf_puts(&want, "Return-Path: <sender@example.org>\nDelivered-To: alice@example.com\n"
			"Subject: big\n\n");
	for (const char *p = body.data; *p;) {
		const char *e = strchr(p, '\n');
		size_t  n = e ? (size_t) (e - p) + 1 : strlen(p);

		if (strncmp(p, "From ", 5) == 0)
			(void) buf_putc(&want, '>');
		(void) buf_append(&want, p, n);
		p += n;
	}
	(void) buf_puts(&want, "\n\n");
	ck_assert_uint_eq(out.len, want.len);
	ck_assert(memcmp(out.data, want.data, want.len) == 0);

	/* Unquoted (maildir): the bytes as stored. */
	ofd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(local_copy_message(ofd, &m, m.rcpt, 0, 0), 0);
	close(ofd);
	slurp(path, &out);
	ck_assert_uint_eq(out.len, strlen("Return-Path: <sender@example.org>\nDelivered-To: "
					  "alice@example.com\nSubject: big\n\n") + body.len);
	ck_assert(memcmp(out.data + out.len - body.len, body.data, body.len) == 0);
	close(m.qfd);
	buf_free(&body);
	buf_free(&out);
	buf_free(&want);
}
END_TEST

START_TEST(test_stream_to_pipe)
{
	struct local_stream st;
	struct local_msg m;
	struct buf out;
	int     p[2], r;
	char    chunk[4096];
	ssize_t n;

	buf_init(&out, 1 << 20);
	/* Bigger than a pipe holds, so the pump has to stop and go on. */
	{
		struct buf body;

		buf_init(&body, 1 << 20);
		for (int i = 0; i < 20000; i++)
			(void) buf_puts(&body, "0123456789\n");
		source(&m, "Subject: big\n", body.data, body.len);
		buf_free(&body);
	}
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	ck_assert_int_eq(local_stream_init(&st, &m, m.rcpt), 0);
	while ((r = local_stream_pump(&st, p[1])) == 0)
		while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
			ck_assert_int_eq(buf_append(&out, chunk, (size_t) n), 0);
	ck_assert_int_eq(r, 1);
	close(p[1]);
	while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
		ck_assert_int_eq(buf_append(&out, chunk, (size_t) n), 0);
	close(p[0]);
	ck_assert_uint_eq(out.len, strlen("Return-Path: <sender@example.org>\n"
					  "Delivered-To: alice@example.com\n"
					  "Subject: big\n\n") + 220000);
	ck_assert(strncmp(out.data + out.len - 11, "0123456789\n", 11) == 0);
	close(m.qfd);
	buf_free(&out);
}
END_TEST

static void
opts(struct local_mbox_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->use_fcntl = true;
	o->use_dotlock = true;
	o->lock_attempts = 2;
	o->lock_delay_ms = 1;
	o->want_uid = geteuid();
}

START_TEST(test_mbox_deliver)
{
	struct local_mbox_opts o;
	struct local_result r;
	struct local_msg m;
	struct buf out;
	struct stat st;
	char    path[256], lock[300];

	buf_init(&out, 1 << 20);
	opts(&o);
	source(&m, "Subject: one\n", "From here\nline\n", 15);
	(void) str_fmt(path, sizeof(path), "%s/mbox", dir);
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_msg(r.status == 0, "%s %s", r.dsn, r.text);
	ck_assert_str_eq(r.text, "delivered to mailbox");
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_int_eq(r.status, 0);
	slurp(path, &out);
	ck_assert_ptr_eq(strstr(out.data, "From sender@example.org "), out.data);
	ck_assert_ptr_nonnull(strstr(out.data, "line\n\nFrom sender@example.org "));
	ck_assert_ptr_nonnull(strstr(out.data, "\n>From here\n"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	/* The dot-lock is gone. */
	(void) str_fmt(lock, sizeof(lock), "%s.lock", path);
	ck_assert_int_eq(access(lock, F_OK), -1);
	close(m.qfd);
	buf_free(&out);
}
END_TEST

START_TEST(test_mbox_refusals)
{
	struct local_mbox_opts o;
	struct local_result r;
	struct local_msg m;
	struct buf out;
	char    path[256], target[256];
	int     fd;

	buf_init(&out, 4096);
	opts(&o);
	source(&m, "Subject: x\n", "body\n", 5);
	(void) str_fmt(target, sizeof(target), "%s/target", dir);
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(sf_write_all(fd, "precious\n", 9), 0);
	close(fd);

	/* A symbolic link planted as the mailbox. */
	(void) str_fmt(path, sizeof(path), "%s/symlinked", dir);
	ck_assert_int_eq(symlink(target, path), 0);
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_int_eq(r.status, 4);
	ck_assert_str_eq(r.dsn, "4.2.0");
	ck_assert_ptr_nonnull(strstr(r.text, "symbolic link"));

	/* A hard link planted as the mailbox. */
	(void) str_fmt(path, sizeof(path), "%s/hardlinked", dir);
	ck_assert_int_eq(link(target, path), 0);
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_int_eq(r.status, 4);
	ck_assert_ptr_nonnull(strstr(r.text, "hard link"));
	slurp(target, &out);
	ck_assert_str_eq(out.data, "precious\n");

	/* Somebody else's file. */
	(void) str_fmt(path, sizeof(path), "%s/other", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	o.want_uid = 4242;
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_int_eq(r.status, 4);
	ck_assert_ptr_nonnull(strstr(r.text, "wrong owner"));

	/* A FIFO does not hang the delivery. */
	(void) str_fmt(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	o.want_uid = geteuid();
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_int_eq(r.status, 4);
	close(m.qfd);
	buf_free(&out);
}
END_TEST

START_TEST(test_mbox_locked)
{
	struct local_mbox_opts o;
	struct local_result r;
	struct local_msg m;
	char    path[256], lock[300];
	int     fd, lfd;

	opts(&o);
	source(&m, "Subject: x\n", "body\n", 5);
	(void) str_fmt(path, sizeof(path), "%s/locked", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_eq(sf_lock(fd, 1, 0), 0);
	o.use_dotlock = false;
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_int_eq(r.status, 4);
	ck_assert_str_eq(r.dsn, "4.2.0");
	ck_assert_ptr_nonnull(strstr(r.text, "locked"));
	ck_assert_int_eq(sf_unlock(fd), 0);
	close(fd);

	/* A dot-lock held by someone else. */
	(void) str_fmt(lock, sizeof(lock), "%s.lock", path);
	lfd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(lfd, 0);
	close(lfd);
	o.use_dotlock = true;
	o.use_fcntl = false;
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_int_eq(r.status, 4);
	ck_assert_ptr_nonnull(strstr(r.text, "locked"));
	/* Not ours: left in place. */
	ck_assert_int_eq(access(lock, F_OK), 0);

	/* A lock holding a live pid stays, and the mailbox waits. */
	{
		char    pid[32];
		pid_t   dead;
		int     st;

		lfd = open(lock, O_WRONLY | O_TRUNC);
		(void) str_fmt(pid, sizeof(pid), "%ld\n", (long) getpid());
		ck_assert_int_eq(sf_write_all(lfd, pid, strlen(pid)), 0);
		close(lfd);
		local_mbox_deliver(path, &m, m.rcpt, &o, &r);
		ck_assert_int_eq(r.status, 4);
		ck_assert_int_eq(access(lock, F_OK), 0);

		/* The pid of a process that is gone: stale at once. */
		dead = fork();
		if (dead == 0)
			_exit(0);
		ck_assert_int_eq(waitpid(dead, &st, 0), dead);
		lfd = open(lock, O_WRONLY | O_TRUNC);
		(void) str_fmt(pid, sizeof(pid), "%ld\n", (long) dead);
		ck_assert_int_eq(sf_write_all(lfd, pid, strlen(pid)), 0);
		close(lfd);
		local_mbox_deliver(path, &m, m.rcpt, &o, &r);
		ck_assert_msg(r.status == 0, "%s %s", r.dsn, r.text);
		ck_assert_int_eq(access(lock, F_OK), -1);

		/* A zombie (killed, not reaped yet) is gone too. */
		dead = fork();
		if (dead == 0)
			_exit(0);
		usleep(100000);
		lfd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0600);
		(void) str_fmt(pid, sizeof(pid), "%ld\n", (long) dead);
		ck_assert_int_eq(sf_write_all(lfd, pid, strlen(pid)), 0);
		close(lfd);
		local_mbox_deliver(path, &m, m.rcpt, &o, &r);
		ck_assert_msg(r.status == 0, "%s %s", r.dsn, r.text);
		ck_assert_int_eq(access(lock, F_OK), -1);
		ck_assert_int_eq(waitpid(dead, &st, 0), dead);
	}
	close(m.qfd);
}
END_TEST

START_TEST(test_mbox_size_limit)
{
	struct local_mbox_opts o;
	struct local_result r;
	struct local_msg m;
	struct stat st;
	char    path[256];

	opts(&o);
	source(&m, "Subject: x\n", "body\n", 5);
	(void) str_fmt(path, sizeof(path), "%s/full", dir);
	o.size_limit = 1000;
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(r.dsn, "5.2.2");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	o.size_limit = 0;			/* no limit */
	local_mbox_deliver(path, &m, m.rcpt, &o, &r);
	ck_assert_int_eq(r.status, 0);
	close(m.qfd);
}
END_TEST

/* A write that fails half-way: the mailbox is cut back to its old size. */
START_TEST(test_mbox_cut_back)
{
	struct local_mbox_opts o;
	struct local_msg m;
	struct stat st;
	struct buf body;
	char    path[256];
	off_t   before;
	int     status;
	pid_t   pid;

	opts(&o);
	buf_init(&body, 1 << 20);
	for (int i = 0; i < 10000; i++)
		(void) buf_puts(&body, "From line that is quoted\n");
	source(&m, "Subject: x\n", body.data, body.len);
	(void) str_fmt(path, sizeof(path), "%s/cut", dir);
	{
		struct local_result r;

		local_mbox_deliver(path, &m, m.rcpt, &o, &r);
		ck_assert_int_eq(r.status, 0);
	}
	ck_assert_int_eq(stat(path, &st), 0);
	before = st.st_size;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = {(rlim_t) before + 1000, (rlim_t) before + 1000};
		struct local_result r;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(3);
		local_mbox_deliver(path, &m, m.rcpt, &o, &r);
		_exit(r.status == 5 && str_eq(r.dsn, "5.2.2") ? 0 : 4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %x", status);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, before);
	buf_free(&body);
	close(m.qfd);
}
END_TEST

START_TEST(test_locks_spec)
{
	bool    f, d;

	ck_assert_int_eq(local_mbox_locks("fcntl, dotlock", &f, &d), 0);
	ck_assert(f && d);
	ck_assert_int_eq(local_mbox_locks("dotlock", &f, &d), 0);
	ck_assert(!f && d);
	ck_assert_int_eq(local_mbox_locks("", &f, &d), 0);
	ck_assert(!f && !d);
	ck_assert_int_eq(local_mbox_locks("fcntl flock", &f, &d), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("local_mbox");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_from_line);
	tcase_add_test(tc, test_quote_lines);
	tcase_add_test(tc, test_quote_chunk_edges);
	tcase_add_test(tc, test_copy_message);
	tcase_add_test(tc, test_copy_large);
	tcase_add_test(tc, test_stream_to_pipe);
	tcase_add_test(tc, test_mbox_deliver);
	tcase_add_test(tc, test_mbox_refusals);
	tcase_add_test(tc, test_mbox_locked);
	tcase_add_test(tc, test_mbox_size_limit);
	tcase_add_test(tc, test_mbox_cut_back);
	tcase_add_test(tc, test_locks_spec);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
