/*
 * qmgr_defer_test - check suite for qmgr/qmgr_defer.c: the retry
 * backoff (Postfix's: the message's age, within minimal_backoff_time
 * and maximal_backoff_time), the queue lifetime, delay formatting.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"

#include "../../qmgr/qmgr.h"

START_TEST(test_backoff_bounds)
{
	/* New message: the minimum. */
	ck_assert_uint_eq(qmgr_backoff(1000, 1000, 300, 4000), 300);
	ck_assert_uint_eq(qmgr_backoff(1000, 1299, 300, 4000), 300);
	/* Within the bounds: the age. */
	ck_assert_uint_eq(qmgr_backoff(1000, 1300, 300, 4000), 300);
	ck_assert_uint_eq(qmgr_backoff(1000, 1301, 300, 4000), 301);
	ck_assert_uint_eq(qmgr_backoff(1000, 5000, 300, 4000), 4000);
	/* Old message: the maximum, exactly, and one past it. */
	ck_assert_uint_eq(qmgr_backoff(1000, 5001, 300, 4000), 4000);
	ck_assert_uint_eq(qmgr_backoff(0, 10000000, 300, 4000), 4000);
	/* A clock that went back counts as age 0. */
	ck_assert_uint_eq(qmgr_backoff(5000, 1000, 300, 4000), 300);
	/* min above max: max wins, a message never waits longer than max. */
	ck_assert_uint_eq(qmgr_backoff(0, 0, 5000, 4000), 4000);
}
END_TEST

START_TEST(test_backoff_grows)
{
	time_t  arrival = 1000000, t = arrival;
	uint64_t prev = 0, waits[10];

	/* Each attempt waits its backoff: the waits grow, then stay at max. */
	for (int i = 0; i < 10; i++) {
		waits[i] = qmgr_backoff(arrival, t, 300, 4000);
		ck_assert_uint_ge(waits[i], prev);
		prev = waits[i];
		t += (time_t) waits[i];
	}
	ck_assert_uint_eq(waits[0], 300);
	ck_assert_uint_eq(waits[1], 300);
	ck_assert_uint_eq(waits[2], 600);
	ck_assert_uint_eq(waits[3], 1200);
	ck_assert_uint_eq(waits[4], 2400);
	ck_assert_uint_eq(waits[5], 4000);
	ck_assert_uint_eq(waits[9], 4000);
}
END_TEST

START_TEST(test_expired)
{
	ck_assert(!qmgr_expired(1000, 1000, 432000));
	ck_assert(!qmgr_expired(1000, 1000 + 431999, 432000));
	ck_assert(qmgr_expired(1000, 1000 + 432000, 432000));
	ck_assert(qmgr_expired(1000, 1000 + 432001, 432000));
	/* Lifetime 0: one attempt only. */
	ck_assert(qmgr_expired(1000, 1000, 0));
	/* A clock that went back never expires a message early. */
	ck_assert(!qmgr_expired(5000, 1000, 10));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qmgr_defer");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_backoff_bounds);
	tcase_add_test(tc, test_backoff_grows);
	tcase_add_test(tc, test_expired);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
