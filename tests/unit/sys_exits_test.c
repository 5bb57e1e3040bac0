/* sys_exits_test - check suite for lib/mail/sys_exits: the exit code table. */
#include <check.h>
#include <string.h>

#include "check_main.h"

#include "dsn.h"
#include "sys_exits.h"

struct want {
	int	code;
	const char *dsn;
	bool	temp;
};

static const struct want wants[] = {
	{EX_USAGE, "5.3.0", false},
	{EX_DATAERR, "5.6.0", false},
	{EX_NOINPUT, "5.3.0", false},
	{EX_NOUSER, "5.1.1", false},
	{EX_NOHOST, "5.1.2", false},
	{EX_UNAVAILABLE, "5.3.0", false},
	{EX_SOFTWARE, "5.3.0", false},
	{EX_OSERR, "4.3.0", true},
	{EX_OSFILE, "5.3.0", false},
	{EX_CANTCREAT, "5.2.0", false},
	{EX_IOERR, "5.3.0", false},
	{EX_TEMPFAIL, "4.3.0", true},
	{EX_PROTOCOL, "5.5.0", false},
	{EX_NOPERM, "5.7.0", false},
	{EX_CONFIG, "5.3.5", false},
};

START_TEST(test_known)
{
	const struct want *w = &wants[_i];
	const struct sys_exit_info *x = sys_exits_lookup(w->code);

	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(x->code, w->code);	/* the table is in order */
	ck_assert_str_eq(x->dsn, w->dsn);
	ck_assert(dsn_valid(x->dsn));
	ck_assert(x->text != NULL && x->text[0] != '\0');
	ck_assert(sys_exits_is_known(w->code));
	ck_assert(sys_exits_is_temp(w->code) == w->temp);
}
END_TEST

START_TEST(test_unknown)
{
	static const int codes[] = {0, 1, 63, 79, 100, 111, 255, -1, 1 << 30};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const struct sys_exit_info *x = sys_exits_lookup(codes[i]);

		ck_assert_ptr_nonnull(x);
		ck_assert_int_eq(x->code, -1);
		ck_assert_str_eq(x->dsn, "5.3.0");
		ck_assert_str_eq(x->text, "unknown mail system error");
		ck_assert(!sys_exits_is_known(codes[i]));
		ck_assert(!sys_exits_is_temp(codes[i]));
	}
}
END_TEST

START_TEST(test_every_code_covered)
{
	for (int c = EX__BASE; c <= EX__MAX; c++) {
		ck_assert(sys_exits_is_known(c));
		ck_assert_int_eq(sys_exits_lookup(c)->code, c);
	}
	ck_assert_uint_eq(sizeof(wants) / sizeof(wants[0]), EX__MAX - EX__BASE + 1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("sys_exits");
	TCase  *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_known, 0, sizeof(wants) / sizeof(wants[0]));
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_every_code_covered);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
