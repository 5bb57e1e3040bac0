/*
 * cleanup_spool_test - check suite for lib/svc/cleanup_spool: memory and
 * unnamed files (nothing appears in the directory), byte counts after
 * writes and after writing into the descriptor directly, close twice,
 * and what a refusal from cleanup means for a delivery result.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "cleanup_spool.h"
#include "delivery.h"
#include "str.h"

/* entries - files in dir besides . and .. */
static int
entries(const char *dir)
{
	DIR    *d = opendir(dir);
	struct dirent *e;
	int     n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (!str_eq(e->d_name, ".") && !str_eq(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* link_of - what /proc/self/fd/FD points at */
static void
link_of(int fd, char *out, size_t size)
{
	char    path[64];
	ssize_t n;

	(void) str_fmt(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, out, size - 1);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
}

START_TEST(test_files)
{
	char    dir[] = "/tmp/cleanup_spool_test.XXXXXX", target[512], buf[16];
	struct cleanup_spool s;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* Small: a memory file. */
	ck_assert_int_eq(cleanup_spool_open(&s, dir, true), 0);
	link_of(s.fd, target, sizeof(target));
	ck_assert_msg(strncmp(target, "/memfd:", 7) == 0, "%s", target);
	ck_assert_int_eq(cleanup_spool_write(&s, "hello\n", 6), 0);
	ck_assert_int_eq(cleanup_spool_write(&s, "", 0), 0);
	ck_assert_uint_eq(s.len, 6);
	ck_assert_int_eq(pread(s.fd, buf, sizeof(buf), 0), 6);
	cleanup_spool_close(&s);
	cleanup_spool_close(&s);		/* twice is fine */
	ck_assert_int_eq(s.fd, -1);

	/* Otherwise: an unnamed file in dir, never seen there. */
	ck_assert_int_eq(cleanup_spool_open(&s, dir, false), 0);
	link_of(s.fd, target, sizeof(target));
	ck_assert_msg(strncmp(target, dir, strlen(dir)) == 0, "%s", target);
	ck_assert_int_eq(entries(dir), 0);
	ck_assert_int_eq(write(s.fd, "0123456789", 10), 10);
	ck_assert_int_eq(cleanup_spool_written(&s), 0);
	ck_assert_uint_eq(s.len, 10);
	ck_assert_int_eq(entries(dir), 0);
	cleanup_spool_close(&s);

	/* No such directory: -1 with errno. */
	errno = 0;
	ck_assert_int_eq(cleanup_spool_open(&s, "/nonexistent/spool", false), -1);
	ck_assert_int_ne(errno, 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_refusal)
{
	static const struct {
		const char *reason;
		int	status;
		const char *dsn, *text;
	} cases[] = {
		{"5.3.4 message too big", DELIVERY_BOUNCE, "5.3.4", "message too big"},
		{"4.3.0 cannot connect to the cleanup service", DELIVERY_DEFER, "4.3.0",
		 "cannot connect to the cleanup service"},
		{"4.7.1  try later", DELIVERY_DEFER, "4.7.1", "try later"},
		{"no code at all", DELIVERY_DEFER, "4.3.0", "no code at all"},
		{"2.0.0 odd", DELIVERY_DEFER, "4.3.0", "2.0.0 odd"},
		{"", DELIVERY_DEFER, "4.3.0", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cleanup_result res;
		const char *text;
		char    dsn[10];
		int     status;

		memset(&res, 0, sizeof(res));
		res.status = CLEANUP_STAT_TEMP;
		(void) str_copy(res.reason, sizeof(res.reason), cases[i].reason);
		cleanup_spool_refusal(&res, &status, dsn, sizeof(dsn), &text);
		ck_assert_msg(status == cases[i].status, "case %zu", i);
		ck_assert_str_eq(dsn, cases[i].dsn);
		ck_assert_str_eq(text, cases[i].text);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("cleanup_spool");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_refusal);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
