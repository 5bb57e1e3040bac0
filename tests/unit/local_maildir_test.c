/*
 * local_maildir_test - check suite for local/local_maildir.c: unique
 * names, the maildir tree made on demand (and only then: a missing
 * part is made when the open in tmp/ or the move into new/ fails), the
 * file in new/ with the right content and nothing left in tmp/; a batch
 * committed together, each job with its own result.
 */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

static char dir[] = "/tmp/local_maildir_test.XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	scratch_remove(dir, "/tmp/local_maildir_test.");
	(void) str_copy(dir, sizeof(dir), "/tmp/local_maildir_test.XXXXXX");
}

START_TEST(test_names)
{
	char    out[256];

	ck_assert_int_eq(local_maildir_name(out, sizeof(out), 1700000000, 4242, 1,
					    "mx.example.com"), 0);
	ck_assert_str_eq(out, "1700000000.4242_1.mx.example.com");
	ck_assert_int_eq(local_maildir_name(out, sizeof(out), 1, 2, 3, "a/b:c\nd"), 0);
	ck_assert_str_eq(out, "1.2_3.a\\057b\\072cd");
	ck_assert_int_eq(local_maildir_name(out, sizeof(out), 1, 2, 3, ""), 0);
	ck_assert_str_eq(out, "1.2_3.localhost");
	/* Too small: an error, never a cut name. */
	ck_assert_int_eq(local_maildir_name(out, 10, 1700000000, 4242, 1, "host"), -1);
	/* Different sequence numbers give different names. */
	{
		char    a[64], b[64];

		(void) local_maildir_name(a, sizeof(a), 5, 6, 1, "h");
		(void) local_maildir_name(b, sizeof(b), 5, 6, 2, "h");
		ck_assert_str_ne(a, b);
	}
}
END_TEST

static int
count(const char *path, char *first, size_t size)
{
	DIR    *d = opendir(path);
	struct dirent *e;
	int     n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n++ == 0 && first)
			(void) str_copy(first, size, e->d_name);
	}
	closedir(d);
	return n;
}

START_TEST(test_deliver)
{
	struct local_result r;
	struct local_msg m;
	struct stat st;
	char    qpath[256], md[256], sub[300], name[256], file[600], data[512];
	int     fd;
	ssize_t n;

	(void) str_fmt(qpath, sizeof(qpath), "%s/q", dir);
	fd = open(qpath, O_RDWR | O_CREAT, 0600);
	ck_assert_int_eq(sf_write_all(fd, "Subject: s\nbody\n", 16), 0);
	memset(&m, 0, sizeof(m));
	m.qfd = fd;
	m.sender = "";
	m.rcpt = "bob@example.com";
	m.hdr_off = 0;
	m.hdr_len = 11;
	m.body_off = 11;
	m.body_len = 5;

	(void) str_fmt(md, sizeof(md), "%s/home/Maildir/", dir);
	/* The parent does not exist: a clean failure, no partial tree. */
	local_maildir_deliver(md, &m, m.rcpt, "host", geteuid(), &r);
	ck_assert_int_eq(r.status, 4);
	(void) str_fmt(sub, sizeof(sub), "%s/home", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	local_maildir_deliver(md, &m, m.rcpt, "host", geteuid(), &r);
	ck_assert_msg(r.status == 0, "%s %s", r.dsn, r.text);
	ck_assert_str_eq(r.text, "delivered to maildir");
	local_maildir_deliver(md, &m, m.rcpt, "host", geteuid(), &r);
	ck_assert_int_eq(r.status, 0);

	(void) str_fmt(sub, sizeof(sub), "%stmp", md);
	ck_assert_int_eq(count(sub, NULL, 0), 0);
	(void) str_fmt(sub, sizeof(sub), "%scur", md);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	(void) str_fmt(sub, sizeof(sub), "%snew", md);
	ck_assert_int_eq(count(sub, name, sizeof(name)), 2);
	ck_assert_ptr_nonnull(strstr(name, ".host"));
	(void) str_fmt(file, sizeof(file), "%s/%s", sub, name);
	fd = open(file, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, data, sizeof(data) - 1);
	ck_assert_int_gt(n, 0);
	data[n] = '\0';
	close(fd);
	ck_assert_str_eq(data, "Return-Path: <>\nDelivered-To: bob@example.com\n"
			 "Subject: s\n\nbody\n");
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	/* A file where the maildir should be: temporary failure. */
	(void) str_fmt(md, sizeof(md), "%s/home/notadir", dir);
	fd = open(md, O_WRONLY | O_CREAT, 0600);
	close(fd);
	local_maildir_deliver(md, &m, m.rcpt, "host", geteuid(), &r);
	ck_assert_int_eq(r.status, 4);
	close(m.qfd);
}
END_TEST

/* qfile - a queue file stand-in holding a tiny message */
static void
qfile(struct local_msg *m)
{
	char    qpath[256];
	int     fd;

	(void) str_fmt(qpath, sizeof(qpath), "%s/q", dir);
	fd = open(qpath, O_RDWR | O_CREAT, 0600);
	ck_assert_int_eq(sf_write_all(fd, "Subject: s\nbody\n", 16), 0);
	memset(m, 0, sizeof(*m));
	m->qfd = fd;
	m->sender = "";
	m->rcpt = "bob@example.com";
	m->hdr_len = 11;
	m->body_off = 11;
	m->body_len = 5;
}

/* in - files in md/sub */
static int
in(const char *md, const char *sub)
{
	char    path[512];

	(void) str_fmt(path, sizeof(path), "%s/%s", md, sub);
	return count(path, NULL, 0);
}

START_TEST(test_missing_parts_made_on_demand)
{
	struct local_result r;
	struct local_msg m;
	struct stat st;
	char    md[256], sub[300];

	qfile(&m);
	/* tmp/ there, new/ missing: made at the move, delivered. */
	(void) str_fmt(md, sizeof(md), "%s/Maildir", dir);
	ck_assert_int_eq(mkdir(md, 0700), 0);
	(void) str_fmt(sub, sizeof(sub), "%s/tmp", md);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	local_maildir_deliver(md, &m, m.rcpt, "host", geteuid(), &r);
	ck_assert_msg(r.status == 0, "%s %s", r.dsn, r.text);
	ck_assert_int_eq(in(md, "new"), 1);
	ck_assert_int_eq(in(md, "tmp"), 0);
	(void) str_fmt(sub, sizeof(sub), "%s/cur", md);
	ck_assert_int_eq(stat(sub, &st), 0);

	/* A maildir that exists is used as it is: nothing is made again. */
	ck_assert_int_eq(rmdir(sub), 0);
	local_maildir_deliver(md, &m, m.rcpt, "host", geteuid(), &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(in(md, "new"), 2);
	ck_assert_int_eq(stat(sub, &st), -1);

	/* tmp/ gone: made again at the open. */
	(void) str_fmt(sub, sizeof(sub), "%s/tmp", md);
	ck_assert_int_eq(rmdir(sub), 0);
	local_maildir_deliver(md, &m, m.rcpt, "host", geteuid(), &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(in(md, "new"), 3);
	ck_assert_int_eq(in(md, "cur"), 0);

	/* new/ is a file: the move fails, nothing is left in tmp/. */
	(void) str_fmt(md, sizeof(md), "%s/Other", dir);
	ck_assert_int_eq(mkdir(md, 0700), 0);
	(void) str_fmt(sub, sizeof(sub), "%s/tmp", md);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	(void) str_fmt(sub, sizeof(sub), "%s/new", md);
	close(open(sub, O_WRONLY | O_CREAT, 0600));
	local_maildir_deliver(md, &m, m.rcpt, "host", geteuid(), &r);
	ck_assert_int_eq(r.status, 4);
	ck_assert_str_eq(r.dsn, "4.2.0");
	ck_assert_int_eq(in(md, "tmp"), 0);
	close(m.qfd);
}
END_TEST

/*
 * A batch: several messages into two maildirs (one made on the way) and
 * one that cannot be delivered; each gets its own result, the good ones
 * are in new/, nothing is left in tmp/, and a name taken in new/ gives
 * the file another name instead of failing.
 */
START_TEST(test_batch)
{
	struct local_maildir_job j[7];
	struct local_result r[7];
	struct local_msg m;
	char    md[256], md2[256], bad[256], sub[300], name[256];

	qfile(&m);
	(void) str_fmt(md, sizeof(md), "%s/Maildir/", dir);
	(void) str_fmt(md2, sizeof(md2), "%s/Second", dir);
	(void) str_fmt(bad, sizeof(bad), "%s/notadir", dir);
	close(open(bad, O_WRONLY | O_CREAT, 0600));
	for (int i = 0; i < 7; i++) {
		j[i].dir = i == 3 ? bad : i % 2 ? md2 : md;
		j[i].m = &m;
		j[i].delivered_to = m.rcpt;
		memset(&r[i], 0, sizeof(r[i]));
	}
	local_maildir_deliver_batch(j, 7, "host", geteuid(), r);
	for (int i = 0; i < 7; i++) {
		if (i == 3) {
			ck_assert_int_eq(r[i].status, 4);
			continue;
		}
		ck_assert_msg(r[i].status == 0, "job %d: %s %s", i, r[i].dsn, r[i].text);
		ck_assert_str_eq(r[i].text, "delivered to maildir");
	}
	ck_assert_int_eq(in(md, "new"), 4);
	ck_assert_int_eq(in(md, "tmp"), 0);
	ck_assert_int_eq(in(md2, "new"), 2);
	ck_assert_int_eq(in(md2, "tmp"), 0);

	/* Every name this process makes next is taken in new/ already. */
	(void) str_fmt(sub, sizeof(sub), "%s/Second/new", dir);
	for (time_t t = time(NULL), u = t; u <= t + 1; u++)
		for (unsigned seq = 1; seq < 200; seq++) {
			char    path[600];

			(void) local_maildir_name(name, sizeof(name), u, getpid(), seq,
						  "host");
			(void) str_fmt(path, sizeof(path), "%s/%s", sub, name);
			close(open(path, O_WRONLY | O_CREAT, 0600));
		}
	local_maildir_deliver_batch(j + 1, 1, "host", geteuid(), r);
	ck_assert_int_eq(r[0].status, 4);	/* ten names tried, all taken */
	ck_assert_int_eq(in(md2, "tmp"), 0);
	close(m.qfd);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("local_maildir");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_deliver);
	tcase_add_test(tc, test_missing_parts_made_on_demand);
	tcase_add_test(tc, test_batch);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
