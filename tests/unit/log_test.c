/* log_test - check suite for lib/util/log: file output, sanitising, limits. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "log.h"
#include "str.h"

static char path[] = "/tmp/log_test.XXXXXX";

static char *
slurp(void)
{
	static char text[16384];
	FILE   *fp = fopen(path, "r");
	size_t  n;

	ck_assert_ptr_nonnull(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

static void
setup(void)
{
	int     fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	log_init("logtest", 0);
	ck_assert_int_eq(log_open_file(path), 0);
}

static void
teardown(void)
{
	log_close_file();
	unlink(path);
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
}

START_TEST(test_format_and_levels)
{
	char   *t;

	log_set_syslog_name("postern-test");
	log_info("%s: from=<%s>, size=%d", "ABC", "a@b", 12);
	log_warn("bad thing %d", 1);
	t = slurp();
	ck_assert_ptr_nonnull(strstr(t, "postern-test/logtest["));
	ck_assert_ptr_nonnull(strstr(t, "]: ABC: from=<a@b>, size=12\n"));
	ck_assert_ptr_nonnull(strstr(t, "]: warning: bad thing 1\n"));
}
END_TEST

START_TEST(test_sanitise)
{
	char   *t;

	/* A client trying to forge a second log line. */
	log_info("helo=<%s>", "x\nNov 26 00:00:00 host postern/smtpd[1]: fake\r\x7f");
	t = slurp();
	ck_assert_ptr_null(strstr(t, "\nNov 26 00:00:00 host"));
	ck_assert_ptr_nonnull(strstr(t, "helo=<x?Nov 26"));
	ck_assert_int_eq((int) (strchr(t, '\n') - t), (int) strlen(t) - 1);	/* one line */
}
END_TEST

/*
 * 2026-12 review: C1 controls passed.  U+009B in UTF-8 (C2 9B) is CSI
 * to a terminal that shows the log: pre-greeting junk or a command's
 * output in "status=bounced (...)" could send it escape sequences.
 */
START_TEST(test_sanitise_c1_and_bidi)
{
	char    s[64];
	size_t  n;
	char   *t;

	log_info("junk=<%s>", "a\xc2\x9b" "31mred\xc2\x85x\x9b" "2Jb\xe2\x80\xae" "cba"
		 "\xe2\x80\xa8" "d\xc3\xa9" "\xf0\x9f\x93\xa7\xc0\xaf");
	t = slurp();
	ck_assert_ptr_nonnull(strstr(t, "junk=<a?31mred?x?2Jb?cba?d\xc3\xa9\xf0\x9f\x93\xa7?" "?>\n"));
	ck_assert_ptr_null(strstr(t, "\xc2\x9b"));
	ck_assert_ptr_null(strstr(t, "\x9b"));

	/* In place, for callers with their own buffers. */
	(void) str_copy(s, sizeof(s), "ok \xc2\xa0 \x1b[0m");
	n = log_sanitize(s, strlen(s));
	s[n] = '\0';
	ck_assert_str_eq(s, "ok \xc2\xa0 ?[0m");
}
END_TEST

START_TEST(test_long_line_cut)
{
	char    big[LOG_LINE_MAX * 2];
	char   *t;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	t = slurp();
	ck_assert_uint_lt(strlen(t), LOG_LINE_MAX + 200);
	ck_assert_ptr_nonnull(strstr(t, "...\n"));
}
END_TEST

START_TEST(test_multiline)
{
	char   *t;

	log_multiline(LOG_L_WARN, "cfg: ", "one\ntwo\n\nthree");
	t = slurp();
	ck_assert_ptr_nonnull(strstr(t, "warning: cfg: one\n"));
	ck_assert_ptr_nonnull(strstr(t, "warning: cfg: two\n"));
	ck_assert_ptr_nonnull(strstr(t, "warning: cfg: three\n"));
}
END_TEST

START_TEST(test_error_limit_is_fatal)
{
	pid_t   pid = fork();
	int     status;

	if (pid == 0) {
		for (int i = 0; i < 12; i++)
			log_error("e%d", i);
		_exit(0);		/* 12 errors: still alive */
	}
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 13; i++)
			log_error("e%d", i);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert_ptr_nonnull(strstr(slurp(), "fatal: too many errors"));
}
END_TEST

START_TEST(test_pid_after_fork)
{
	pid_t   pid = fork();
	char    want[64];
	int     status;

	if (pid == 0) {
		log_info("from the child");
		_exit(0);
	}
	waitpid(pid, &status, 0);
	snprintf(want, sizeof(want), "[%ld]: from the child", (long) pid);
	ck_assert_ptr_nonnull(strstr(slurp(), want));
}
END_TEST

START_TEST(test_rate)
{
	struct log_rate r;
	int     ok = 0;

	log_rate_init(&r, 5, 60);
	for (int i = 0; i < 100; i++)
		ok += log_rate_ok(&r, 1000);
	ck_assert_int_eq(ok, 5);		/* burst */
	ck_assert_uint_eq(r.dropped, 95);
	ck_assert(!log_rate_ok(&r, 1500));	/* half a token */
	ck_assert(log_rate_ok(&r, 2100));	/* one a second */
	ck_assert(!log_rate_ok(&r, 2100));
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += log_rate_ok(&r, 3600 * 1000);	/* refill caps at burst */
	ck_assert_int_eq(ok, 5);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("log");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_format_and_levels);
	tcase_add_test(tc, test_sanitise);
	tcase_add_test(tc, test_sanitise_c1_and_bidi);
	tcase_add_test(tc, test_long_line_cut);
	tcase_add_test(tc, test_multiline);
	tcase_add_test(tc, test_error_limit_is_fatal);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_pid_after_fork);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
