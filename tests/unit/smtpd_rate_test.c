/*
 * smtpd_rate_test - check suite for smtpd/smtpd_rate.c: counts per kind
 * and address within a time unit, the unit's end, and a full table that
 * makes room without growing.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"

#include "../../smtpd/smtpd.h"

START_TEST(test_counts_per_kind_and_address)
{
	smtpd_rate_init(16, 60000);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_CONN, 1000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_CONN, 2000), 2);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_MSG, 2000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_RCPT, 2000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.10", SMTPD_RATE_CONN, 2000), 1);
	ck_assert_uint_eq(smtpd_rate_count("2001:db8::1", SMTPD_RATE_CONN, 2000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_CONN, 60999), 3);
	smtpd_rate_free();
}
END_TEST

START_TEST(test_unit_ends)
{
	smtpd_rate_init(16, 60000);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_MSG, 1000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_MSG, 60999), 2);
	/* 60 s after the unit began: a new unit, every kind from zero */
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_MSG, 61000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_CONN, 61000), 1);
	/* a clock that went back starts a unit too */
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_MSG, 500), 1);
	smtpd_rate_free();
}
END_TEST

START_TEST(test_full_table_makes_room)
{
	smtpd_rate_init(3, 60000);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_CONN, 1000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.2", SMTPD_RATE_CONN, 2000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.3", SMTPD_RATE_CONN, 3000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.2", SMTPD_RATE_CONN, 3000), 2);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.3", SMTPD_RATE_CONN, 3000), 2);
	/* full, none ended: the earliest unit (192.0.2.1) makes room */
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.4", SMTPD_RATE_CONN, 4000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.2", SMTPD_RATE_CONN, 4000), 3);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.3", SMTPD_RATE_CONN, 4000), 3);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_CONN, 4000), 1);
	/* now 192.0.2.2 was the earliest: it went */
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.2", SMTPD_RATE_CONN, 4000), 1);
	smtpd_rate_free();
}
END_TEST

START_TEST(test_ended_unit_goes_first)
{
	smtpd_rate_init(3, 10000);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_CONN, 20000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.2", SMTPD_RATE_CONN, 1000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.3", SMTPD_RATE_CONN, 20000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_CONN, 20000), 2);
	/* 192.0.2.2's unit ended at 11000: it makes room */
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.4", SMTPD_RATE_CONN, 21000), 1);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.1", SMTPD_RATE_CONN, 21000), 3);
	ck_assert_uint_eq(smtpd_rate_count("192.0.2.3", SMTPD_RATE_CONN, 21000), 2);
	smtpd_rate_free();
}
END_TEST

START_TEST(test_many_addresses_bounded)
{
	char	a[64];

	smtpd_rate_init(100, 60000);
	for (int i = 0; i < 10000; i++) {
		(void) snprintf(a, sizeof(a), "2001:db8::%x", i);
		ck_assert_uint_eq(smtpd_rate_count(a, SMTPD_RATE_CONN, 1000 + (unsigned) i), 1);
	}
	/* the last 100 are still known */
	for (int i = 9900; i < 10000; i++) {
		(void) snprintf(a, sizeof(a), "2001:db8::%x", i);
		ck_assert_uint_eq(smtpd_rate_count(a, SMTPD_RATE_CONN, 20000), 2);
	}
	/* a 63-byte address is kept whole */
	memset(a, 'a', 63);
	a[63] = 0;
	ck_assert_uint_eq(smtpd_rate_count(a, SMTPD_RATE_MSG, 20000), 1);
	ck_assert_uint_eq(smtpd_rate_count(a, SMTPD_RATE_MSG, 20000), 2);
	smtpd_rate_free();
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtpd_rate");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_counts_per_kind_and_address);
	tcase_add_test(tc, test_unit_ends);
	tcase_add_test(tc, test_full_table_makes_room);
	tcase_add_test(tc, test_ended_unit_goes_first);
	tcase_add_test(tc, test_many_addresses_bounded);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
