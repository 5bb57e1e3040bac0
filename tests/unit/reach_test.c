/*
 * reach_test - check suite for lib/reach: the endpoints a daemon
 * declares it talks to, and the refusal of every other.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>

#include "check_main.h"

#include "ipc.h"
#include "log.h"
#include "reach.h"
#include "trigger.h"

static const char *const talks[] = {"private/cleanup", "public/qmgr", "private/x*", NULL};

START_TEST(test_match)
{
	static const char *const params[] = {"smtpd_*", "*_destination_recipient_limit",
		"myhostname", NULL};

	ck_assert(reach_match(talks, "private/cleanup"));
	ck_assert(reach_match(talks, "private/xyz"));
	ck_assert(!reach_match(talks, "private/cleanup2"));
	ck_assert(!reach_match(talks, "public/cleanup"));
	ck_assert(!reach_match(talks, "../private/cleanup"));
	ck_assert(reach_match(params, "smtpd_banner"));
	ck_assert(reach_match(params, "relay_destination_recipient_limit"));
	ck_assert(reach_match(params, "myhostname"));
	ck_assert(!reach_match(params, "myhostname2"));
	ck_assert(!reach_match(NULL, "x"));
}
END_TEST

/* Each test runs in a child of its own (CK_FORK): the limit stays there. */
START_TEST(test_limit)
{
	log_init("reach_test", LOG_DEST_STDERR);
	/* No limit yet: only the file system says no. */
	errno = 0;
	ck_assert_int_eq(ipc_connect("private/lookup", false), -1);
	ck_assert_int_ne(errno, EPERM);

	reach_limit(talks);
	errno = 0;
	ck_assert_int_eq(ipc_connect("private/lookup", false), -1);
	ck_assert_int_eq(errno, EPERM);
	errno = 0;
	ck_assert_int_eq(trigger_open("public/pickup"), -1);
	ck_assert_int_eq(errno, EPERM);
	/* Declared ones go on to the file system (nothing there: ENOENT). */
	errno = 0;
	ck_assert_int_eq(ipc_connect("private/cleanup", false), -1);
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_int_eq(trigger_open("public/qmgr"), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* A daemon that talks to nothing reaches nothing. */
	reach_limit(NULL);
	errno = 0;
	ck_assert_int_eq(ipc_connect("private/cleanup", false), -1);
	ck_assert_int_eq(errno, EPERM);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("reach");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_limit);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
