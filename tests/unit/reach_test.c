/*
 * reach_test - check suite for lib/util/reach: the endpoints a daemon
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
	/* An asterisk inside: a prefix and a suffix, which may not overlap. */
	static const char *const mid[] = {"smtpd_*_restrictions", NULL};
	ck_assert(reach_match(mid, "smtpd_recipient_restrictions"));
	ck_assert(reach_match(mid, "smtpd__restrictions"));
	ck_assert(!reach_match(mid, "smtpd_restrictions"));
	ck_assert(!reach_match(mid, "smtpd_recipient_restrictions2"));
}
END_TEST

/* The endpoints a configuration value names: a declaration's "$name". */
START_TEST(test_endpoints)
{
	char	buf[256];
	const char *out[8];

	ck_assert_int_eq(reach_endpoints("private/auth", buf, sizeof(buf), out, 8), 1);
	ck_assert_str_eq(out[0], "private/auth");
	ck_assert_int_eq(reach_endpoints(" unix:private/auth ", buf, sizeof(buf), out, 8), 1);
	ck_assert_str_eq(out[0], "private/auth");
	ck_assert_int_eq(reach_endpoints("", buf, sizeof(buf), out, 8), 0);
	/* A restriction list: only check_policy_service's unix: socket. */
	ck_assert_int_eq(reach_endpoints("permit_mynetworks, check_policy_service "
					 "unix:private/policy,\n  check_policy_service "
					 "inet:127.0.0.1:10023, reject_unauth_destination, "
					 "check_client_access hash:/etc/postern/access",
					 buf, sizeof(buf), out, 8), 1);
	ck_assert_str_eq(out[0], "private/policy");
	/* Tables: a socketmap's socket, not its map name. */
	ck_assert_int_eq(reach_endpoints("hash:/etc/aliases socketmap:unix:private/sm:virt, "
					 "socketmap:inet:127.0.0.1:9:m UNIX:/run/x",
					 buf, sizeof(buf), out, 8), 2);
	ck_assert_str_eq(out[0], "private/sm");
	ck_assert_str_eq(out[1], "/run/x");
	/* Too many, or too long: -1, never a cut path. */
	ck_assert_int_eq(reach_endpoints("unix:a unix:b unix:c", buf, sizeof(buf), out, 2), -1);
	ck_assert_int_eq(reach_endpoints("unix:private/policy", buf, 8, out, 8), -1);
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
	tcase_add_test(tc, test_endpoints);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
