/* num_test - check suite for lib/util/num: every parser at its bounds. */
#include <check.h>
#include <stdint.h>

#include "check_main.h"
#include "num.h"

START_TEST(test_int)
{
	long long v = 7;
	const char *why = NULL;

	ck_assert_int_eq(num_parse_int("0", 0, 10, &v, &why), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(num_parse_int("-5", -5, 10, &v, &why), 0);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(num_parse_int("10", 0, 10, &v, &why), 0);		/* max */
	ck_assert_int_eq(num_parse_int("11", 0, 10, &v, &why), -1);		/* one past */
	ck_assert_str_eq(why, "out of range");
	ck_assert_int_eq(v, 10);						/* unchanged */
	ck_assert_int_eq(num_parse_int("-6", -5, 10, &v, &why), -1);
	ck_assert_int_eq(num_parse_int("-9223372036854775808", INT64_MIN, 0, &v, &why), 0);
	ck_assert(v == INT64_MIN);
	ck_assert_int_eq(num_parse_int("9223372036854775808", INT64_MIN, INT64_MAX, &v, &why), -1);
	ck_assert_int_eq(num_parse_int("99999999999999999999999", 0, INT64_MAX, &v, &why), -1);
}
END_TEST

START_TEST(test_junk)
{
	long long v;
	uint64_t u;
	const char *why;
	const char *bad[] = {"", " 1", "1 ", "+1", "0x10", "1e3", "--1", "-", "1.5", "abc", NULL};

	for (int i = 0; bad[i]; i++) {
		ck_assert_msg(num_parse_int(bad[i], INT64_MIN, INT64_MAX, &v, &why) == -1, "%s", bad[i]);
		ck_assert_msg(num_parse_u64(bad[i], 0, UINT64_MAX, &u, &why) == -1, "%s", bad[i]);
	}
	ck_assert_int_eq(num_parse_u64(NULL, 0, 1, &u, NULL), -1);
	ck_assert_int_eq(num_parse_u64("-1", 0, UINT64_MAX, &u, &why), -1);
	ck_assert_int_eq(num_parse_u64("18446744073709551615", 0, UINT64_MAX, &u, &why), 0);
	ck_assert(u == UINT64_MAX);
	ck_assert_int_eq(num_parse_u64("18446744073709551616", 0, UINT64_MAX, &u, &why), -1);
}
END_TEST

START_TEST(test_size)
{
	uint64_t v;
	const char *why;

	ck_assert_int_eq(num_parse_size("10240000", 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 10240000);
	ck_assert_int_eq(num_parse_size("10k", 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 10240);
	ck_assert_int_eq(num_parse_size("2M", 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 2 * 1024 * 1024);
	ck_assert_int_eq(num_parse_size("1g", 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 1024ULL * 1024 * 1024);
	ck_assert_int_eq(num_parse_size("1024", 0, 1024, &v, &why), 0);
	ck_assert_int_eq(num_parse_size("1025", 0, 1024, &v, &why), -1);
	ck_assert_int_eq(num_parse_size("2k", 0, 2047, &v, &why), -1);
	ck_assert_int_eq(num_parse_size("10x", 0, UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "bad unit");
	ck_assert_int_eq(num_parse_size("10kk", 0, UINT64_MAX, &v, &why), -1);
	ck_assert_int_eq(num_parse_size("k", 0, UINT64_MAX, &v, &why), -1);
	ck_assert_int_eq(num_parse_size("17179869184g", 0, UINT64_MAX, &v, &why), -1); /* overflow */
}
END_TEST

START_TEST(test_time)
{
	uint64_t v;
	const char *why;

	ck_assert_int_eq(num_parse_time("300s", 's', 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 300);
	ck_assert_int_eq(num_parse_time("300", 's', 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 300);
	ck_assert_int_eq(num_parse_time("5", 'd', 0, UINT64_MAX, &v, &why), 0);	/* default unit */
	ck_assert(v == 5 * 86400);
	ck_assert_int_eq(num_parse_time("5d", 's', 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 5 * 86400);
	ck_assert_int_eq(num_parse_time("2h", 's', 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 7200);
	ck_assert_int_eq(num_parse_time("10m", 's', 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 600);
	ck_assert_int_eq(num_parse_time("1w", 's', 0, UINT64_MAX, &v, &why), 0);
	ck_assert(v == 604800);
	ck_assert_int_eq(num_parse_time("3600s", 's', 0, 3600, &v, &why), 0);
	ck_assert_int_eq(num_parse_time("3601s", 's', 0, 3600, &v, &why), -1);
	ck_assert_int_eq(num_parse_time("1y", 's', 0, UINT64_MAX, &v, &why), -1);
	ck_assert_int_eq(num_parse_time("s", 's', 0, UINT64_MAX, &v, &why), -1);
	ck_assert_int_eq(num_parse_time("1s ", 's', 0, UINT64_MAX, &v, &why), -1);
}
END_TEST

START_TEST(test_bool)
{
	bool    b = false;
	const char *why;
	const char *yes[] = {"yes", "YES", "true", "on", "1"};
	const char *no[] = {"no", "No", "false", "off", "0"};

	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(num_parse_bool(yes[i], &b, &why), 0);
		ck_assert(b);
		ck_assert_int_eq(num_parse_bool(no[i], &b, &why), 0);
		ck_assert(!b);
	}
	ck_assert_int_eq(num_parse_bool("", &b, &why), -1);
	ck_assert_int_eq(num_parse_bool("yess", &b, &why), -1);
	ck_assert_int_eq(num_parse_bool(NULL, &b, &why), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("num");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_int);
	tcase_add_test(tc, test_junk);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_bool);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
