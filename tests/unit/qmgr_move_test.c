/*
 * qmgr_move_test - check suite for qmgr/qmgr_move.c: a move keeps a
 * name on disk at every instant (link, sync, unlink: both names
 * between qmgr_move_add() and qmgr_move_commit(), never none), never
 * replaces a file, and qmgr_names_keep() picks the name a recovery
 * keeps when a crash left one file under two queue directories.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"

#include "../../qmgr/qmgr.h"

#define QA	"0PZ1K8Q3F7M2W9X"
#define QB	"0PZ1K8Q3F7M2W9Y"

static char dir[] = "/tmp/qmgr_move_test.XXXXXX";
static char cwd[1024];

static void
setup(void)
{
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(mkdir("incoming", 0700), 0);
	ck_assert_int_eq(mkdir("active", 0700), 0);
	ck_assert_int_eq(mkdir("deferred", 0700), 0);
}

static void
teardown(void)
{
	const char *const names[] = {"incoming/" QA, "incoming/" QB, "active/" QA,
		"active/" QB, "deferred/" QA, "deferred/" QB};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		(void) unlink(names[i]);
	(void) rmdir("incoming");
	(void) rmdir("active");
	(void) rmdir("deferred");
	ck_assert_int_eq(chdir(cwd), 0);
	(void) rmdir(dir);
}

static nlink_t
links(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_nlink : 0;
}

START_TEST(test_batch_keeps_a_name)
{
	scratch_write("incoming/" QA, "a", O_EXCL);
	scratch_write("incoming/" QB, "b", O_EXCL);
	ck_assert_int_eq(qmgr_move_add("incoming", QA, "active", false), 0);
	ck_assert_int_eq(qmgr_move_add("incoming", QB, "deferred", false), 0);
	ck_assert_uint_eq(qmgr_move_pending(), 2);
	/* Before the commit: both names, one file. */
	ck_assert_uint_eq(links("incoming/" QA), 2);
	ck_assert_uint_eq(links("active/" QA), 2);
	ck_assert_uint_eq(links("deferred/" QB), 2);
	qmgr_move_commit();
	ck_assert_uint_eq(qmgr_move_pending(), 0);
	ck_assert_int_eq(access("incoming/" QA, F_OK), -1);
	ck_assert_int_eq(access("incoming/" QB, F_OK), -1);
	ck_assert_uint_eq(links("active/" QA), 1);
	ck_assert_uint_eq(links("deferred/" QB), 1);
	/* An empty commit does nothing. */
	qmgr_move_commit();
	ck_assert_uint_eq(links("active/" QA), 1);
}
END_TEST

START_TEST(test_never_replaces)
{
	scratch_write("incoming/" QA, "new", O_EXCL);
	scratch_write("active/" QA, "old", O_EXCL);
	ck_assert_int_eq(qmgr_move_add("incoming", QA, "active", false), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_uint_eq(qmgr_move_pending(), 0);
	ck_assert_int_eq(qmgr_move("incoming", QA, "active"), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_uint_eq(links("incoming/" QA), 1);
	ck_assert_uint_eq(links("active/" QA), 1);
	/* Gone already: ENOENT, nothing remembered. */
	ck_assert_int_eq(qmgr_move_add("incoming", QB, "active", false), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(qmgr_move_pending(), 0);
}
END_TEST

START_TEST(test_later_without_loop)
{
	/* Without an event loop a later move is committed at once. */
	scratch_write("active/" QA, "a", O_EXCL);
	ck_assert_int_eq(qmgr_move_later("active", QA, "deferred"), 0);
	ck_assert_uint_eq(qmgr_move_pending(), 0);
	ck_assert_int_eq(access("active/" QA, F_OK), -1);
	ck_assert_uint_eq(links("deferred/" QA), 1);
}
END_TEST

START_TEST(test_names_keep)
{
	struct stat a = {.st_dev = 1, .st_ino = 10}, same = a,
	    other = {.st_dev = 1, .st_ino = 11}, otherdev = {.st_dev = 2, .st_ino = 10};
	const struct stat *st[3];

	/* deferred/, incoming/, active/: the first name present stays. */
	st[0] = NULL, st[1] = &a, st[2] = &same;
	ck_assert_int_eq(qmgr_names_keep(st, 3), 1);
	st[0] = &a, st[1] = NULL, st[2] = &same;
	ck_assert_int_eq(qmgr_names_keep(st, 3), 0);
	st[0] = &a, st[1] = &same, st[2] = &same;
	ck_assert_int_eq(qmgr_names_keep(st, 3), 0);
	st[0] = NULL, st[1] = NULL, st[2] = &a;
	ck_assert_int_eq(qmgr_names_keep(st, 3), 2);
	/* Two different files under one queue ID: nobody decides but a human. */
	st[0] = NULL, st[1] = &a, st[2] = &other;
	ck_assert_int_eq(qmgr_names_keep(st, 3), -1);
	st[0] = &a, st[1] = &same, st[2] = &other;
	ck_assert_int_eq(qmgr_names_keep(st, 3), -1);
	st[0] = &otherdev, st[1] = NULL, st[2] = &a;
	ck_assert_int_eq(qmgr_names_keep(st, 3), -1);
	/* No name at all. */
	st[0] = st[1] = st[2] = NULL;
	ck_assert_int_eq(qmgr_names_keep(st, 3), -1);
}
END_TEST

/* rec - one queue file record into p; the bytes written */
static size_t
rec(unsigned char *p, int type, const char *data)
{
	size_t  n = strlen(data);

	p[0] = (unsigned char) type;
	p[1] = (unsigned char) (n >> 24);
	p[2] = (unsigned char) (n >> 16);
	p[3] = (unsigned char) (n >> 8);
	p[4] = (unsigned char) n;
	memcpy(p + 5, data, n);
	return 5 + n;
}

START_TEST(test_stale_name)
{
	unsigned char head[256];
	size_t  n = 0;
	const char *maildir = "Return-Path: <a@example.org>\nDelivered-To: b\n";

	n += rec(head + n, 'V', "1");
	n += rec(head + n, 'T', "1700000000.000001");
	n += rec(head + n, 'Q', QA);
	n += rec(head + n, 'A', "x=y");
	/* The queue file QA itself: never stale, whole or cut short. */
	ck_assert(!qmgr_stale_name(QA, head, n));
	ck_assert(!qmgr_stale_name(QA, head, 30));
	/* Another queue file's inode under QB's name. */
	ck_assert(qmgr_stale_name(QB, head, n));
	/* A delivered maildir file, an empty file: not queue files. */
	ck_assert(qmgr_stale_name(QA, (const unsigned char *) maildir, strlen(maildir)));
	ck_assert(qmgr_stale_name(QA, head, 0));
	ck_assert(qmgr_stale_name(QA, head, 4));
	/* Cannot tell (Q not within the bytes read): it stays. */
	ck_assert(!qmgr_stale_name(QB, head, 12));
	/* A Q record that is a prefix of the name, or longer. */
	n = 0;
	n += rec(head + n, 'V', "1");
	n += rec(head + n, 'T', "1");
	n += rec(head + n, 'Q', "0PZ1K8Q3F7M2W9");
	ck_assert(qmgr_stale_name(QA, head, n));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qmgr_move");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_batch_keeps_a_name);
	tcase_add_test(tc, test_never_replaces);
	tcase_add_test(tc, test_later_without_loop);
	tcase_add_test(tc, test_names_keep);
	tcase_add_test(tc, test_stale_name);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
