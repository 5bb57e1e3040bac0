/*
 * error_reason_test - check suite for error/error_reason.c: the status
 * code and text an error transport's next hop gives.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"

#include "delivery.h"
#include "../../error/error.h"

START_TEST(test_reasons)
{
	static const struct {
		const char *nexthop;
		int	status;
		const char *dsn, *text;
	} cases[] = {
		{"5.1.1 gone", DELIVERY_BOUNCE, "5.1.1", "gone"},
		{"5.1.1   gone away", DELIVERY_BOUNCE, "5.1.1", "gone away"},
		{"4.7.0 try tomorrow", DELIVERY_DEFER, "4.7.0", "try tomorrow"},
		{"5.7.1", DELIVERY_BOUNCE, "5.7.1", "mail for this destination is not deliverable"},
		{"mail for example.org is not accepted", DELIVERY_BOUNCE, "5.0.0",
		 "mail for example.org is not accepted"},
		{"example.org", DELIVERY_BOUNCE, "5.0.0", "example.org"},
		/* Not a code at the start: the whole text. */
		{"2.0.0 fine", DELIVERY_BOUNCE, "5.0.0", "2.0.0 fine"},
		{"5.1.1x gone", DELIVERY_BOUNCE, "5.0.0", "5.1.1x gone"},
		{"5.01.1 gone", DELIVERY_BOUNCE, "5.0.0", "5.01.1 gone"},
		{"", DELIVERY_BOUNCE, "5.0.0", "mail for this destination is not deliverable"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error_reason r;

		error_reason(cases[i].nexthop, &r);
		ck_assert_msg(r.status == cases[i].status, "case %zu", i);
		ck_assert_str_eq(r.dsn, cases[i].dsn);
		ck_assert_str_eq(r.text, cases[i].text);
		ck_assert_int_eq(delivery_status_of(r.dsn), r.status);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("error_reason");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_reasons);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
