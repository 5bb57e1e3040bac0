/* postdrop_trust_test - check suite for postdrop's trusted configuration directory rule. */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"

#include "../../cmd/postdrop.h"
#include "buf.h"

static char top[64];
static char etc[128];
static char cf[160];
static struct buf why;

static void
setup(void)
{
	int     fd;

	buf_init(&why, 4096);
	(void) snprintf(top, sizeof(top), "/tmp/postdrop-trust-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	ck_assert_int_eq(chmod(top, 0755), 0);
	(void) snprintf(etc, sizeof(etc), "%s/etc", top);
	ck_assert_int_eq(mkdir(etc, 0755), 0);
	(void) snprintf(cf, sizeof(cf), "%s/main.cf", etc);
	fd = open(cf, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(chmod(etc, 0755), 0);
	ck_assert_int_eq(chmod(cf, 0644), 0);
}

static void
teardown(void)
{
	char    p[256];

	(void) unlink(cf);
	(void) snprintf(p, sizeof(p), "%s/link", top);
	(void) unlink(p);
	(void) snprintf(p, sizeof(p), "%s/sub/etc", top);
	(void) rmdir(p);
	(void) snprintf(p, sizeof(p), "%s/sub", top);
	(void) rmdir(p);
	(void) rmdir(etc);
	(void) rmdir(top);
	buf_free(&why);
}

static int
trusted(const char *dir, char *real)
{
	char    r[PATH_MAX];

	buf_reset(&why);
	return postdrop_dir_trusted(dir, real ? real : r, PATH_MAX, &why);
}

static void
expect_refused(const char *dir, const char *want)
{
	ck_assert_int_eq(trusted(dir, NULL), -1);
	ck_assert_msg(strstr(buf_str(&why), want) != NULL, "wanted '%s' in '%s'", want,
		      buf_str(&why));
}

START_TEST(test_root_owned_tree)
{
	char    real[PATH_MAX], p[256];

	if (geteuid() != 0) {
		/* The tree belongs to us, not to root: refused at its top. */
		expect_refused(etc, "not by root");
		return;
	}
	/* /tmp is world-writable with the sticky bit: allowed above. */
	ck_assert_msg(trusted(etc, real) == 0, "%s", buf_str(&why));
	ck_assert_str_eq(real, etc);
	/* A path with a symlink and a dot resolves to the same place. */
	(void) snprintf(p, sizeof(p), "%s/link", top);
	ck_assert_int_eq(symlink("etc", p), 0);
	(void) snprintf(p, sizeof(p), "%s/link/./", top);
	ck_assert_msg(trusted(p, real) == 0, "%s", buf_str(&why));
	ck_assert_str_eq(real, etc);
}
END_TEST

START_TEST(test_writable_components)
{
	if (geteuid() != 0) {
		expect_refused(etc, "not by root");	/* needs root-owned files */
		return;
	}
	ck_assert_int_eq(chmod(etc, 0775), 0);
	expect_refused(etc, "writable by its group");
	ck_assert_int_eq(chmod(etc, 0757), 0);
	expect_refused(etc, "writable by others");
	/* Sticky does not excuse the directory itself. */
	ck_assert_int_eq(chmod(etc, 01777), 0);
	expect_refused(etc, "writable by others");
	ck_assert_int_eq(chmod(etc, 0755), 0);
	/* An intermediate directory: sticky excuses it, plain does not. */
	ck_assert_int_eq(chmod(top, 01777), 0);
	ck_assert_msg(trusted(etc, NULL) == 0, "%s", buf_str(&why));
	ck_assert_int_eq(chmod(top, 0777), 0);
	expect_refused(etc, "writable by others");
	ck_assert_int_eq(chmod(top, 0755), 0);
	ck_assert_int_eq(chmod(cf, 0664), 0);
	expect_refused(etc, "main.cf is writable by its group");
	ck_assert_int_eq(chmod(cf, 01646), 0);
	expect_refused(etc, "main.cf is writable by others");
}
END_TEST

START_TEST(test_owners_and_types)
{
	char    p[256];

	if (geteuid() != 0) {
		expect_refused(etc, "not by root");	/* chown needs root */
		return;
	}
	ck_assert_int_eq(chown(cf, 1, 1), 0);
	expect_refused(etc, "main.cf is owned by uid 1");
	ck_assert_int_eq(chown(cf, 0, 0), 0);
	ck_assert_int_eq(chown(etc, 1, 0), 0);
	expect_refused(etc, "is owned by uid 1, not by root");
	ck_assert_int_eq(chown(etc, 0, 0), 0);
	ck_assert_int_eq(chown(top, 1, 0), 0);
	expect_refused(etc, "owned by uid 1");
	ck_assert_int_eq(chown(top, 0, 0), 0);

	/* main.cf a symlink to a good file: refused. */
	(void) snprintf(p, sizeof(p), "%s/sub", top);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	(void) snprintf(p, sizeof(p), "%s/sub/etc", top);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(chmod(p, 0755), 0);
	(void) snprintf(p, sizeof(p), "%s/sub/etc/main.cf", top);
	ck_assert_int_eq(symlink(cf, p), 0);
	(void) snprintf(p, sizeof(p), "%s/sub/etc", top);
	expect_refused(p, "main.cf is not a regular file");
	(void) snprintf(p, sizeof(p), "%s/sub/etc/main.cf", top);
	(void) unlink(p);
	/* No main.cf at all. */
	(void) snprintf(p, sizeof(p), "%s/sub/etc", top);
	expect_refused(p, "main.cf: No such file");
	/* The directory is a file. */
	expect_refused(cf, "is not a directory");
}
END_TEST

START_TEST(test_bad_names)
{
	expect_refused("etc", "not an absolute path");
	expect_refused("", "not an absolute path");
	expect_refused("/nonexistent/postern/etc", "No such file");
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("postdrop_trust");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_root_owned_tree);
	tcase_add_test(tc, test_writable_components);
	tcase_add_test(tc, test_owners_and_types);
	tcase_add_test(tc, test_bad_names);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
