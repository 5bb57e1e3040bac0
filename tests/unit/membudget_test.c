/* membudget_test - check suite for lib/util/membudget: take, charge, give, pressure, trim. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "membudget.h"

START_TEST(test_take_and_charge)
{
	membudget_init(1000);
	ck_assert(membudget_take(600));
	ck_assert(!membudget_take(401));	/* would pass the limit */
	ck_assert(membudget_take(400));		/* exactly at it */
	ck_assert(!membudget_take(1));
	ck_assert_uint_eq(membudget_used(), 1000);
	membudget_charge(50);			/* a floor: always granted */
	ck_assert_uint_eq(membudget_used(), 1050);
	ck_assert_uint_eq(membudget_floors(), 50);
	ck_assert(!membudget_take(1));
	membudget_give(1000);
	membudget_uncharge(50);
	ck_assert_uint_eq(membudget_used(), 0);
	ck_assert_uint_eq(membudget_floors(), 0);
	ck_assert_uint_eq(membudget_peak(), 1050);
	ck_assert(!membudget_take((size_t) -1));	/* no overflow */
	ck_assert_uint_eq(membudget_limit(), 1000);

	membudget_init(0);			/* no budget */
	ck_assert(membudget_take((size_t) 1 << 40));
	ck_assert(!membudget_pressure());
	membudget_give((size_t) 1 << 40);
}
END_TEST

START_TEST(test_pressure)
{
	membudget_init(1000);
	membudget_set_pressure(80);
	membudget_charge(799);
	ck_assert(!membudget_pressure());
	ck_assert(membudget_take(1));
	ck_assert(membudget_pressure());
	membudget_give(1);
	membudget_uncharge(799);
	membudget_set_pressure(100);
	membudget_charge(999);
	ck_assert(!membudget_pressure());
	membudget_uncharge(999);
	membudget_set_pressure(80);
}
END_TEST

START_TEST(test_trim_after_a_burst)
{
	void   *p[64];

	membudget_init(0);
	for (int i = 0; i < 64; i++) {
		p[i] = malloc(65536);
		memset(p[i], 1, 65536);
		membudget_charge(65536);
	}
	ck_assert(!membudget_trim());		/* no drop yet: nothing to do */
	for (int i = 0; i < 64; i++) {
		free(p[i]);
		membudget_uncharge(65536);
	}
	ck_assert(membudget_trim());		/* 4 MiB less than the peak */
	ck_assert_uint_eq(membudget_peak(), 0);	/* a new peak starts */
	ck_assert(!membudget_trim());
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("membudget");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_take_and_charge);
	tcase_add_test(tc, test_pressure);
	tcase_add_test(tc, test_trim_after_a_burst);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
