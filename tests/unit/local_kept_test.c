/*
 * local_kept_test - check suite for local/local_kept.c's job messages:
 * what the parent builds the kept child parses back exactly, and the
 * child's parser refuses what a broken or hostile parent could send
 * (wrong type, missing or extra records, numbers out of range, paths
 * and addresses one byte past their bounds, a relative path); and a
 * parsed job run in this process delivers into a maildir.  The
 * privileged side (the child per user, reuse, limits) is in
 * tests/e2e/test_reuse.py.
 */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "test_config.h"
#include "scratch.h"

#include "config.h"
#include "ipc.h"
#include "../../local/local.h"
#include "params.h"
#include "safefile.h"
#include "str.h"

/* roundtrip - send m over a socket pair and receive it into in */
static void
roundtrip(struct ipc_msg *m, struct ipc_in *in)
{
	int     sv[2];

	ck_assert_int_eq(ipc_socketpair(sv), 0);
	ck_assert_int_eq(ipc_send(sv[0], m, -1, 1000), 0);
	ipc_in_init_max(in, LOCAL_JOB_MAX);
	ck_assert_int_eq(ipc_recv(sv[1], in, NULL, 1000), 0);
	close(sv[0]);
	close(sv[1]);
}

static struct local_msg msg = {
	.qfd = -1, .queue_id = "1NGF7Q2KH5J09FB", .sender = "a@example.org",
	.rcpt = "bob@example.com", .hdr_off = 100, .hdr_len = 11,
	.body_off = 111, .body_len = 5, .arrival = 1700000000,
};

START_TEST(test_job_roundtrip)
{
	struct local_job j = {LJ_MBOX, "/var/mail/bob", &msg, "bob@example.com", {0}};
	struct local_job got;
	struct local_msg gm;
	struct ipc_msg m;
	struct ipc_in in;
	uid_t   uid;
	char    why[256];

	j.o.use_fcntl = true;
	j.o.lock_attempts = 20;
	j.o.lock_delay_ms = 1000;
	j.o.size_limit = 51200000;
	j.o.want_uid = 1234;
	ck_assert_int_eq(local_job_build(&m, &j, 1234), 0);
	roundtrip(&m, &in);
	ck_assert_msg(local_job_parse(&in, &got, &gm, &uid, why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(uid, 1234);
	ck_assert_int_eq(got.kind, LJ_MBOX);
	ck_assert_str_eq(got.path, "/var/mail/bob");
	ck_assert_str_eq(got.delivered_to, "bob@example.com");
	ck_assert_ptr_eq(got.m, &gm);
	ck_assert_str_eq(gm.queue_id, msg.queue_id);
	ck_assert_str_eq(gm.sender, msg.sender);
	ck_assert_str_eq(gm.rcpt, msg.rcpt);
	ck_assert_int_eq(gm.hdr_off, 100);
	ck_assert_uint_eq(gm.hdr_len, 11);
	ck_assert_int_eq(gm.body_off, 111);
	ck_assert_uint_eq(gm.body_len, 5);
	ck_assert_int_eq(gm.arrival, 1700000000);
	ck_assert_int_eq(gm.qfd, -1);		/* the descriptor is the caller's */
	ck_assert(got.o.use_fcntl);
	ck_assert(!got.o.use_dotlock);
	ck_assert_int_eq(got.o.lock_attempts, 20);
	ck_assert_int_eq(got.o.lock_delay_ms, 1000);
	ck_assert_uint_eq(got.o.size_limit, 51200000);
	ck_assert_uint_eq(got.o.want_uid, 1234);
	ipc_in_free(&in);
	ipc_msg_free(&m);
}
END_TEST

/* parse_of - build j as uid, send it, parse it: the parser's result */
static int
parse_of(const struct local_job *j, uid_t uid, char *why, size_t whylen)
{
	struct local_job got;
	struct local_msg gm;
	struct ipc_msg m;
	struct ipc_in in;
	uid_t   u;
	int     r;

	ck_assert_int_eq(local_job_build(&m, j, uid), 0);
	roundtrip(&m, &in);
	r = local_job_parse(&in, &got, &gm, &u, why, whylen);
	ipc_in_free(&in);
	ipc_msg_free(&m);
	return r;
}

START_TEST(test_job_bounds)
{
	struct local_job j = {LJ_MAILDIR, NULL, &msg, "bob@example.com", {0}};
	struct local_msg long_msg = msg;
	char    path[LOCAL_PATH_MAX + 2], addr[LOCAL_ADDR_MAX + 2], why[256];

	/* A path of LOCAL_PATH_MAX bytes passes, one more does not. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[LOCAL_PATH_MAX] = '\0';
	j.path = path;
	ck_assert_int_eq(parse_of(&j, 1000, why, sizeof(why)), 0);
	path[LOCAL_PATH_MAX] = 'p';
	path[LOCAL_PATH_MAX + 1] = '\0';
	ck_assert_int_eq(parse_of(&j, 1000, why, sizeof(why)), -1);

	/* Addresses: LOCAL_ADDR_MAX bytes, then one more. */
	j.path = "/home/bob/Maildir/";
	memset(addr, 'a', sizeof(addr));
	addr[LOCAL_ADDR_MAX] = '\0';
	long_msg.rcpt = addr;
	j.m = &long_msg;
	ck_assert_int_eq(parse_of(&j, 1000, why, sizeof(why)), 0);
	addr[LOCAL_ADDR_MAX] = 'a';
	addr[LOCAL_ADDR_MAX + 1] = '\0';
	ck_assert_int_eq(parse_of(&j, 1000, why, sizeof(why)), -1);
	j.m = &msg;
	j.delivered_to = addr;
	ck_assert_int_eq(parse_of(&j, 1000, why, sizeof(why)), -1);
	j.delivered_to = "bob@example.com";

	/* A relative path is never taken. */
	j.path = "Maildir/";
	ck_assert_int_eq(parse_of(&j, 1000, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "relative") != NULL, "%s", why);
	j.path = "/home/bob/Maildir/";

	/* uid: (uid_t) -1 is no uid. */
	ck_assert_int_eq(parse_of(&j, (uid_t) -1, why, sizeof(why)), -1);
	ck_assert_int_eq(parse_of(&j, 0, why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_job_malformed)
{
	struct local_job got;
	struct local_msg gm;
	struct ipc_msg m;
	struct ipc_in in;
	uid_t   u;
	char    why[256];

	/* Another message type. */
	ipc_msg_init(&m, LOCAL_JOB + 1);
	(void) ipc_put_num(&m, "uid", 1);
	roundtrip(&m, &in);
	ck_assert_int_eq(local_job_parse(&in, &got, &gm, &u, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "type") != NULL, "%s", why);
	ipc_in_free(&in);
	ipc_msg_free(&m);

	/* Cut short after the kind; a kind that does not exist. */
	ipc_msg_init(&m, LOCAL_JOB);
	(void) ipc_put_num(&m, "uid", 1);
	(void) ipc_put_num(&m, "kind", LJ_MAILDIR);
	roundtrip(&m, &in);
	ck_assert_int_eq(local_job_parse(&in, &got, &gm, &u, why, sizeof(why)), -1);
	ipc_in_free(&in);
	ipc_msg_free(&m);
	ipc_msg_init(&m, LOCAL_JOB);
	(void) ipc_put_num(&m, "uid", 1);
	(void) ipc_put_num(&m, "kind", LJ_MBOX + 1);
	roundtrip(&m, &in);
	ck_assert_int_eq(local_job_parse(&in, &got, &gm, &u, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "range") != NULL, "%s", why);
	ipc_in_free(&in);
	ipc_msg_free(&m);

	/* Anything after the last record. */
	{
		struct local_job j = {LJ_MAILDIR, "/m/", &msg, "b@x", {0}};

		ck_assert_int_eq(local_job_build(&m, &j, 5), 0);
		(void) ipc_put_num(&m, "extra", 1);
		roundtrip(&m, &in);
		ck_assert_int_eq(local_job_parse(&in, &got, &gm, &u, why, sizeof(why)), -1);
		ipc_in_free(&in);
		ipc_msg_free(&m);
	}
}
END_TEST

/* The batch mark: "last" travels, and local_job_build() says 1. */
START_TEST(test_job_last)
{
	struct local_job j = {LJ_MAILDIR, "/home/bob/Maildir/", &msg, "bob@example.com", {0}};
	struct local_job got;
	struct local_msg gm;
	struct ipc_msg m;
	struct ipc_in in;
	uid_t   u;
	bool    last = true;
	char    why[256];

	ck_assert_int_eq(local_job_build_batch(&m, &j, 1000, false), 0);
	roundtrip(&m, &in);
	ck_assert_msg(local_job_parse_batch(&in, &got, &gm, &u, &last, why,
					    sizeof(why)) == 0, "%s", why);
	ck_assert(!last);
	ck_assert_str_eq(got.path, "/home/bob/Maildir/");
	ipc_in_free(&in);
	ipc_msg_free(&m);
	ck_assert_int_eq(local_job_build(&m, &j, 1000), 0);
	roundtrip(&m, &in);
	ck_assert_int_eq(local_job_parse_batch(&in, &got, &gm, &u, &last, why,
					       sizeof(why)), 0);
	ck_assert(last);
	ipc_in_free(&in);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_job_runs_a_maildir_delivery)
{
	char    dir[] = "/tmp/local_kept_test.XXXXXX", md[128], qpath[128], newd[160];
	struct local_job j = {LJ_MAILDIR, md, &msg, "bob@example.com", {0}};
	struct local_job got;
	struct local_msg gm, qm = msg;
	struct local_result r;
	struct ipc_msg m;
	struct ipc_in in;
	struct dirent *e;
	DIR    *d;
	uid_t   u;
	char    why[256];
	int     n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* cfg->myhostname names the file. */
	test_config_load(dir, "");

	(void) str_fmt(qpath, sizeof(qpath), "%s/q", dir);
	qm.qfd = open(qpath, O_RDWR | O_CREAT, 0600);
	ck_assert_int_eq(sf_write_all(qm.qfd, "Subject: s\nbody\n", 16), 0);
	qm.hdr_off = 0;
	qm.body_off = 11;
	j.m = &qm;
	(void) str_fmt(md, sizeof(md), "%s/Maildir/", dir);
	ck_assert_int_eq(local_job_build(&m, &j, geteuid()), 0);
	roundtrip(&m, &in);
	ck_assert_msg(local_job_parse(&in, &got, &gm, &u, why, sizeof(why)) == 0, "%s", why);
	gm.qfd = qm.qfd;
	local_job_run(&got, u, &r);
	ck_assert_msg(r.status == 0, "%s %s", r.dsn, r.text);
	(void) str_fmt(newd, sizeof(newd), "%s/Maildir/new", dir);
	ck_assert_ptr_nonnull(d = opendir(newd));
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(n, 1);
	ipc_in_free(&in);
	ipc_msg_free(&m);
	close(qm.qfd);
	scratch_remove(dir, "/tmp/local_kept_test.");
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("local_kept");
	TCase  *tc = tcase_create("jobs");

	tcase_add_test(tc, test_job_roundtrip);
	tcase_add_test(tc, test_job_last);
	tcase_add_test(tc, test_job_bounds);
	tcase_add_test(tc, test_job_malformed);
	tcase_add_test(tc, test_job_runs_a_maildir_delivery);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
