/* buf_test - check suite for lib/util/buf: bounds, growth, formatting. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "buf.h"

START_TEST(test_empty)
{
	struct buf b;

	buf_init(&b, 16);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_bound_exact_and_one_past)
{
	struct buf b;
	char    big[17];

	memset(big, 'x', sizeof(big));
	buf_init(&b, 16);
	ck_assert_int_eq(buf_append(&b, big, 16), 0);	/* exactly max */
	ck_assert_uint_eq(b.len, 16);
	ck_assert_int_eq(buf_putc(&b, 'y'), -1);	/* one past */
	ck_assert_uint_eq(b.len, 16);
	ck_assert_int_eq(b.data[16], '\0');
	buf_reset(&b);
	ck_assert_int_eq(buf_append(&b, big, 17), -1);	/* unchanged on failure */
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_str(&b), "");
	buf_free(&b);
}
END_TEST

START_TEST(test_growth_keeps_nul)
{
	struct buf b;

	buf_init(&b, 100000);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(buf_puts(&b, "abcdefghij"), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_int_eq(b.data[b.len], '\0');
	ck_assert_int_eq(buf_putc(&b, 'z'), -1);
	ck_assert_uint_le(b.cap, b.max);
	buf_free(&b);
}
END_TEST

START_TEST(test_appendf)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_appendf(&b, "%d-%s", 42, "ab"), 0);
	ck_assert_str_eq(buf_str(&b), "42-ab");
	ck_assert_int_eq(buf_appendf(&b, "%s", "123456"), -1);	/* 11 > 10 */
	ck_assert_str_eq(buf_str(&b), "42-ab");
	ck_assert_int_eq(buf_appendf(&b, "%s", "12345"), 0);	/* exactly 10 */
	ck_assert_str_eq(buf_str(&b), "42-ab12345");
	buf_free(&b);

	/* Formatting past the initial allocation must grow, not truncate. */
	buf_init(&b, 1000);
	ck_assert_int_eq(buf_appendf(&b, "%0500d", 7), 0);
	ck_assert_uint_eq(b.len, 500);
	ck_assert_int_eq(b.data[499], '7');
	buf_free(&b);
}
END_TEST

START_TEST(test_consume_truncate_reserve)
{
	struct buf b;
	char   *p;

	buf_init(&b, 32);
	buf_puts(&b, "hello world");
	buf_consume(&b, 6);
	ck_assert_str_eq(buf_str(&b), "world");
	buf_truncate(&b, 3);
	ck_assert_str_eq(buf_str(&b), "wor");
	p = buf_reserve(&b, 5);
	ck_assert_ptr_nonnull(p);
	memcpy(p, "ld!!", 4);
	buf_commit(&b, 4);
	ck_assert_str_eq(buf_str(&b), "world!!");
	ck_assert_ptr_null(buf_reserve(&b, 26));	/* 7 + 26 > 32 */
	buf_free(&b);
}
END_TEST

START_TEST(test_binary_and_steal)
{
	struct buf b;
	char   *s;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_append(&b, "a\0b", 3), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "a\0b", 4), 0);
	s = buf_steal(&b);
	ck_assert_int_eq(s[2], 'b');
	ck_assert_uint_eq(b.len, 0);
	free(s);
	ck_assert_int_eq(buf_set(&b, "123456789", 9), -1);
	ck_assert_int_eq(buf_set(&b, "12345678", 8), 0);
	buf_free(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("buf");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_bound_exact_and_one_past);
	tcase_add_test(tc, test_growth_keeps_nul);
	tcase_add_test(tc, test_appendf);
	tcase_add_test(tc, test_consume_truncate_reserve);
	tcase_add_test(tc, test_binary_and_steal);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
