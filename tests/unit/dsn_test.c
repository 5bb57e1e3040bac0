/* dsn_test - check suite for lib/mail/dsn: enhanced status code syntax. */
#include <check.h>
#include <string.h>

#include "check_main.h"

#include "dsn.h"

struct dsn_case {
	const char *in;
	char	want_class;	/* '\0': invalid */
};

static const struct dsn_case cases[] = {
	{"2.0.0", '2'},
	{"4.7.1", '4'},
	{"5.1.1", '5'},
	{"5.999.999", '5'},
	{"5.10.0", '5'},
	{"4.0.100", '4'},
	{"5.0.0", '5'},
	{"", 0},
	{"5", 0},
	{"5.", 0},
	{"5.1", 0},
	{"5.1.", 0},
	{"5..1", 0},
	{".1.1", 0},
	{"3.1.1", 0},		/* class 2, 4, 5 only */
	{"1.1.1", 0},
	{"6.1.1", 0},
	{"0.1.1", 0},
	{"55.1.1", 0},
	{"5.01.1", 0},		/* leading zero */
	{"5.1.01", 0},
	{"5.00.0", 0},
	{"5.1000.1", 0},	/* over 999 */
	{"5.1.1000", 0},
	{"5.1.1.1", 0},
	{"5.1.1 ", 0},		/* trailing junk */
	{" 5.1.1", 0},
	{"5.1.a", 0},
	{"5.-1.1", 0},
	{"5.1.1\n", 0},
	{"5.999.9999", 0},
};

START_TEST(test_table)
{
	const struct dsn_case *c = &cases[_i];

	ck_assert_msg(dsn_valid(c->in) == (c->want_class != 0), "dsn_valid(\"%s\")", c->in);
	ck_assert_msg(dsn_class(c->in) == c->want_class, "dsn_class(\"%s\") = %d", c->in,
		      dsn_class(c->in));
}
END_TEST

START_TEST(test_scan)
{
	ck_assert_uint_eq(dsn_scan("5.1.1 User unknown", 18), 5);
	ck_assert_uint_eq(dsn_scan("5.1.1", 5), 5);
	ck_assert_uint_eq(dsn_scan("2.0.0 Ok", 8), 5);
	ck_assert_uint_eq(dsn_scan("4.7.10 later", 12), 6);
	ck_assert_uint_eq(dsn_scan("5.1.1User", 9), 0);	/* no space after it */
	ck_assert_uint_eq(dsn_scan("5.1.1.2 x", 9), 0);
	ck_assert_uint_eq(dsn_scan("Ok", 2), 0);
	ck_assert_uint_eq(dsn_scan("", 0), 0);
	ck_assert_uint_eq(dsn_scan("5.1.1 x", 4), 0);	/* n cuts the code */
	ck_assert_uint_eq(dsn_scan("5.1.12", 5), 5);	/* n ends it */
	ck_assert_uint_eq(dsn_scan("5.123", 5), 0);
	ck_assert_uint_eq(dsn_scan("5.999.999 x", 11), 9);
	ck_assert_uint_eq(dsn_scan("3.0.0 x", 7), 0);
}
END_TEST

START_TEST(test_long_input)
{
	char    s[64];

	/* A long digit run is refused without reading past the string. */
	memset(s, '9', sizeof(s) - 1);
	s[0] = '5';
	s[1] = '.';
	s[sizeof(s) - 1] = '\0';
	ck_assert(!dsn_valid(s));
	ck_assert_uint_eq(dsn_scan(s, strlen(s)), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("dsn");
	TCase  *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_scan);
	tcase_add_test(tc, test_long_input);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
