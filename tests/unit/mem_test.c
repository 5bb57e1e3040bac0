/* mem_test - check suite for lib/util/mem: copies, and overflow is fatal. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "log.h"
#include "mem.h"

START_TEST(test_dup)
{
	char   *p = xmemdup("a\0bc", 4);

	ck_assert_int_eq(memcmp(p, "a\0bc", 5), 0);	/* terminated after n */
	free(p);
	p = xstrdup("");
	ck_assert_str_eq(p, "");
	free(p);
	p = xmalloc(0);					/* a valid pointer */
	ck_assert_ptr_nonnull(p);
	free(p);
}
END_TEST

static int
exit_status_of(void (*fn)(void))
{
	pid_t   pid = fork();
	int     status;

	if (pid == 0) {
		log_init("memtest", 0);
		fn();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
overflow(void)
{
	(void) xreallocarray(NULL, SIZE_MAX / 2, 4);
}

static void
huge(void)
{
	(void) xmalloc(SIZE_MAX - 16);
}

START_TEST(test_failures_are_fatal)
{
	ck_assert_int_eq(exit_status_of(overflow), 1);
	ck_assert_int_eq(exit_status_of(huge), 1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("mem");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_dup);
	tcase_add_test(tc, test_failures_are_fatal);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
