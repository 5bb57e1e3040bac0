/* str_test - check suite for lib/util/str: bounded copies and ASCII helpers. */
#include <check.h>
#include <stdarg.h>
#include <string.h>

#include "check_main.h"
#include "str.h"

START_TEST(test_copy_bounds)
{
	char    d[4];

	ck_assert_int_eq(str_copy(d, sizeof(d), "abc"), 0);	/* exactly fits */
	ck_assert_str_eq(d, "abc");
	ck_assert_int_eq(str_copy(d, sizeof(d), "abcd"), -1);	/* one past */
	ck_assert_str_eq(d, "abc");
	ck_assert_int_eq(str_copy(d, sizeof(d), ""), 0);
	ck_assert_str_eq(d, "");
	ck_assert_int_eq(str_copy(d, 0, "x"), -1);
	ck_assert_int_eq(str_append(d, sizeof(d), "ab"), 0);
	ck_assert_int_eq(str_append(d, sizeof(d), "c"), 0);
	ck_assert_str_eq(d, "abc");
	ck_assert_int_eq(str_append(d, sizeof(d), "d"), -1);
	ck_assert_str_eq(d, "abc");
	ck_assert_int_eq(str_fmt(d, sizeof(d), "%d", 123), 0);
	ck_assert_int_eq(str_fmt(d, sizeof(d), "%d", 1234), -1);
	ck_assert_str_eq(d, "123");
}
END_TEST

START_TEST(test_case)
{
	char    s[] = "MiXeD\xc3\x89";

	ck_assert_int_eq(str_casecmp("Postmaster", "POSTMASTER"), 0);
	ck_assert_int_ne(str_casecmp("a", "b"), 0);
	ck_assert_int_ne(str_casecmp("a", "ab"), 0);
	ck_assert_int_eq(str_ncasecmp("HELOx", "helo", 4), 0);
	ck_assert(str_has_prefix_nocase("MAIL FROM:<a>", "mail from:"));
	ck_assert(!str_has_prefix_nocase("MAIL", "mail from:"));
	str_lower(s);
	ck_assert_str_eq(s, "mixed\xc3\x89");	/* non-ASCII untouched */
}
END_TEST

static void
vline(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vline(dst, size, fmt, ap);
	va_end(ap);
}

START_TEST(test_all_in)
{
	const char *name = STR_LOWER STR_UPPER STR_DIGITS "-_.";

	ck_assert(str_all_in("smtp-relay_2.example", 20, name));
	ck_assert(str_all_in("", 0, name));
	ck_assert(!str_all_in("a b", 3, name));
	ck_assert(!str_all_in("a/b", 3, name));
	/* Only p[0..n) counts, and a NUL inside it never matches. */
	ck_assert(str_all_in("ab/", 2, name));
	ck_assert(!str_all_in("a\0b", 3, name));
	ck_assert(!str_all_in("Abc", 3, STR_LOWER));
	ck_assert(!str_all_in("\xc3\xa9", 2, name));
}
END_TEST

START_TEST(test_line)
{
	char    b[8];

	str_line(b, sizeof(b), "a\r\nb\x7f\tc");
	ck_assert_str_eq(b, "a  b  c");
	str_line(b, sizeof(b), "0123456789");	/* cut to size - 1 */
	ck_assert_str_eq(b, "0123456");
	str_line(b, sizeof(b), NULL);
	ck_assert_str_eq(b, "");
	str_line(b, sizeof(b), "\xc3\xa9");	/* 8-bit bytes stay */
	ck_assert_str_eq(b, "\xc3\xa9");
	vline(b, sizeof(b), "%s:%d", "x\ny", 42);
	ck_assert_str_eq(b, "x y:42");
	vline(b, sizeof(b), "%s", "long\nlong text");
	ck_assert_str_eq(b, "long lo");
}
END_TEST

START_TEST(test_ctl_trim_split)
{
	char    t[] = "  \t hello world \r\n";
	char    l[] = ",a, b,,c ,";
	char   *p = l, *tok;
	int     n = 0;

	ck_assert(!str_has_ctl("plain text", 10));
	ck_assert(str_has_ctl("a\rb", 3));
	ck_assert(str_has_ctl("a\0b", 3));
	ck_assert(str_has_ctl("\x7f", 1));
	ck_assert(!str_has_ctl("\xc3\xa9", 2));
	ck_assert_str_eq(str_trim(t), "hello world");
	while ((tok = str_split(&p, ", ")) != NULL) {
		ck_assert(strlen(tok) == 1);
		n++;
	}
	ck_assert_int_eq(n, 3);
	ck_assert_ptr_null(str_split(&p, ", "));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("str");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_copy_bounds);
	tcase_add_test(tc, test_case);
	tcase_add_test(tc, test_ctl_trim_split);
	tcase_add_test(tc, test_line);
	tcase_add_test(tc, test_all_in);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
