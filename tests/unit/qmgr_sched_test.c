/*
 * qmgr_sched_test - check suite for qmgr/qmgr_sched.c and the parts of
 * qmgr/qmgr_scan.c that decide without I/O: round-robin between
 * messages, concurrency limits, the pause after an unreachable agent,
 * wake-up codes, and moves that never replace a file.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "config.h"
#include "params.h"
#include "str.h"
#include "trigger.h"
#include "../../qmgr/qmgr.h"

static void
msg_init(struct qmgr_msg *m, struct qmgr_rcpt *r, size_t n, const char *id)
{
	memset(m, 0, sizeof(*m));
	(void) str_copy(m->qid, sizeof(m->qid), id);
	for (size_t i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].msg = m;
		r[i].index = i;
	}
}

START_TEST(test_round_robin)
{
	struct qmgr_transport tp = {.name = "local"};
	struct qmgr_msg a, b, c;
	struct qmgr_rcpt ra[3], rb[1], rc[2];
	struct qmgr_rcpt *want[6] = {&ra[0], &rb[0], &rc[0], &ra[1], &rc[1], &ra[2]};

	msg_init(&a, ra, 3, "A");
	msg_init(&b, rb, 1, "B");
	msg_init(&c, rc, 2, "C");
	for (int i = 0; i < 3; i++)
		qmgr_sched_enqueue(&tp, &ra[i], 1);
	qmgr_sched_enqueue(&tp, &rb[0], 2);
	qmgr_sched_enqueue(&tp, &rc[0], 3);
	qmgr_sched_enqueue(&tp, &rc[1], 3);
	ck_assert_uint_eq(tp.waiting, 6);
	ck_assert_int_eq(ra[0].state, QR_QUEUED);
	/* A big message shares the agents with the ones behind it. */
	for (int i = 0; i < 6; i++) {
		struct qmgr_rcpt *r = qmgr_sched_take(&tp);

		ck_assert_msg(r == want[i], "take %d: got %s[%zu]", i, r ? r->msg->qid : "NULL",
			      r ? r->index : 0);
	}
	ck_assert_ptr_null(qmgr_sched_take(&tp));
	ck_assert_uint_eq(tp.waiting, 0);
	ck_assert_ptr_null(tp.jobs_head);
	ck_assert_ptr_null(a.jobs);
	ck_assert_ptr_null(b.jobs);
}
END_TEST

START_TEST(test_two_transports_and_drop)
{
	struct qmgr_transport t1 = {.name = "local"}, t2 = {.name = "smtp"};
	struct qmgr_msg a, b;
	struct qmgr_rcpt ra[3], rb[2];

	msg_init(&a, ra, 3, "A");
	msg_init(&b, rb, 2, "B");
	qmgr_sched_enqueue(&t1, &ra[0], 0);
	qmgr_sched_enqueue(&t2, &ra[1], 0);
	qmgr_sched_enqueue(&t1, &ra[2], 0);
	qmgr_sched_enqueue(&t1, &rb[0], 0);
	qmgr_sched_enqueue(&t2, &rb[1], 0);
	ck_assert_uint_eq(t1.waiting, 3);
	ck_assert_uint_eq(t2.waiting, 2);
	/* Dropping A leaves B alone, in both transports. */
	qmgr_sched_drop_msg(&a);
	ck_assert_ptr_null(a.jobs);
	ck_assert_uint_eq(t1.waiting, 1);
	ck_assert_uint_eq(t2.waiting, 1);
	ck_assert_ptr_eq(qmgr_sched_take(&t1), &rb[0]);
	ck_assert_ptr_eq(qmgr_sched_take(&t2), &rb[1]);
	ck_assert_ptr_null(qmgr_sched_take(&t1));
	ck_assert_ptr_null(t1.jobs_tail);
	/* Order within a message is kept. */
	qmgr_sched_enqueue(&t1, &ra[0], 0);
	qmgr_sched_enqueue(&t1, &ra[1], 0);
	ck_assert_ptr_eq(qmgr_sched_take(&t1), &ra[0]);
	ck_assert_ptr_eq(qmgr_sched_take(&t1), &ra[1]);
}
END_TEST

START_TEST(test_limits)
{
	struct qmgr_transport tp = {.name = "local"};

	ck_assert(qmgr_sched_may_open(&tp, 2, 100));
	tp.nconns = 1;
	ck_assert(qmgr_sched_may_open(&tp, 2, 100));
	tp.nconns = 2;
	ck_assert(!qmgr_sched_may_open(&tp, 2, 100));	/* at the limit */
	tp.nconns = 0;
	tp.retry_at_ms = 5000;
	ck_assert(!qmgr_sched_may_open(&tp, 2, 4999));	/* pausing */
	ck_assert(qmgr_sched_may_open(&tp, 2, 5000));
}
END_TEST

START_TEST(test_transport_limits)
{
	char    dir[] = "/tmp/qmgr_sched_test.XXXXXX", path[256];
	struct params *p;
	struct buf err;
	FILE   *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void) str_fmt(path, sizeof(path), "%s/main.cf", dir);
	f = fopen(path, "w");
	fputs("local_destination_concurrency_limit = 3\n"
	      "default_destination_concurrency_limit = 7\n", f);
	fclose(f);
	buf_init(&err, 65536);
	p = config_load(dir, NULL, 0, &err);
	ck_assert_msg(p != NULL, "%s", err.data);
	config_install(p);
	unlink(path);
	rmdir(dir);
	ck_assert_int_eq(qmgr_transport_limit(qmgr_transport_find("local")), 3);
	ck_assert_int_eq(qmgr_transport_limit(qmgr_transport_find("smtp")), 7);
	buf_free(&err);
}
END_TEST

START_TEST(test_trigger_bits)
{
	ck_assert_uint_eq(qmgr_trigger_bits("", 0), 0);
	ck_assert_uint_eq(qmgr_trigger_bits("W", 1), QMGR_SCAN_INCOMING);
	ck_assert_uint_eq(qmgr_trigger_bits("F", 1),
			  QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED | QMGR_SCAN_FLUSH);
	ck_assert_uint_eq(qmgr_trigger_bits("S", 1), QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED);
	/* Anything else from a local user is only a wake-up. */
	ck_assert_uint_eq(qmgr_trigger_bits("x\0\377", 3), QMGR_SCAN_INCOMING);
	/* A burst is one set of bits. */
	ck_assert_uint_eq(qmgr_trigger_bits("WWWWWWWWWWF", 11),
			  QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED | QMGR_SCAN_FLUSH);
}
END_TEST

START_TEST(test_move)
{
	char    dir[] = "/tmp/qmgr_move_test.XXXXXX", cwd[1024];
	int     fd;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(mkdir("incoming", 0700), 0);
	ck_assert_int_eq(mkdir("active", 0700), 0);
	fd = open("incoming/0PZ1K8Q3F7M2W9X", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "new", 3), 3);
	close(fd);
	fd = open("active/0PZ1K8Q3F7M2W9X", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "old", 3), 3);
	close(fd);
	/* Never replaces a file that is there. */
	ck_assert_int_eq(qmgr_move("incoming", "0PZ1K8Q3F7M2W9X", "active"), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(unlink("active/0PZ1K8Q3F7M2W9X"), 0);
	ck_assert_int_eq(qmgr_move("incoming", "0PZ1K8Q3F7M2W9X", "active"), 0);
	ck_assert_int_eq(access("incoming/0PZ1K8Q3F7M2W9X", F_OK), -1);
	ck_assert_int_eq(access("active/0PZ1K8Q3F7M2W9X", F_OK), 0);
	ck_assert_int_eq(qmgr_move("incoming", "0PZ1K8Q3F7M2W9X", "active"), -1);
	ck_assert_int_eq(errno, ENOENT);
	(void) unlink("active/0PZ1K8Q3F7M2W9X");
	(void) rmdir("incoming");
	(void) rmdir("active");
	ck_assert_int_eq(chdir(cwd), 0);
	(void) rmdir(dir);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qmgr_sched");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_round_robin);
	tcase_add_test(tc, test_two_transports_and_drop);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_transport_limits);
	tcase_add_test(tc, test_trigger_bits);
	tcase_add_test(tc, test_move);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
