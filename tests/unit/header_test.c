/* header_test - check suite for lib/mail/header: the header section iterator. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "header.h"
#include "str.h"

/*
 * walk - run the iterator over in[0..n) with bound max and describe
 * what it returned: "H<name>=<value>" per header ("+T" when truncated),
 * "J<raw>" per junk line, "|" between, "E@offset" at the end.
 */
static void
walk(const char *in, size_t n, size_t max, char *out, size_t size)
{
	struct header_iter it;
	struct header h;
	char    piece[512];
	int     r, guard = 0;

	out[0] = '\0';
	header_iter_init(&it, in, n, max);
	while ((r = header_next(&it, &h)) != HEADER_END) {
		ck_assert_int_lt(++guard, 1000);
		ck_assert(h.raw >= in && h.raw + h.raw_len <= in + n);
		if (r == HEADER_NEXT) {
			ck_assert(h.value >= h.raw && h.value + h.value_len == h.raw + h.raw_len);
			snprintf(piece, sizeof(piece), "H%.*s=%.*s%s|", (int) h.name_len, h.name,
				 (int) h.value_len, h.value,
				 (h.flags & HEADER_TRUNCATED) ? "+T" : "");
		} else {
			ck_assert_int_eq(r, HEADER_JUNK);
			ck_assert_ptr_null(h.name);
			snprintf(piece, sizeof(piece), "J%.*s%s|", (int) h.raw_len, h.raw,
				 (h.flags & HEADER_TRUNCATED) ? "+T" : "");
		}
		str_append(out, size, piece);
	}
	snprintf(piece, sizeof(piece), "E@%zu", header_iter_offset(&it));
	str_append(out, size, piece);
	/* HEADER_END sticks. */
	ck_assert_int_eq(header_next(&it, &h), HEADER_END);
	ck_assert_int_eq(header_next(&it, &h), HEADER_END);
}

struct walk_case {
	const char *label;
	const char *in;
	size_t	n;		/* 0: strlen */
	size_t	max;		/* 0: 1000 */
	const char *want;
};

static const struct walk_case cases[] = {
	{"empty input", "", 0, 0, "E@0"},
	{"empty line only", "\n", 0, 0, "E@1"},
	{"one header", "Subject: hi\n", 0, 0, "HSubject= hi|E@12"},
	{"no final LF", "Subject: hi", 0, 0, "HSubject= hi|E@11"},
	{"end at blank line", "A: 1\nB: 2\n\nbody\n", 0, 0, "HA= 1|HB= 2|E@11"},
	{"folded", "Subject: a\n b\n\tc\nX: y\n", 0, 0, "HSubject= a\n b\n\tc|HX= y|E@22"},
	{"folded then blank", "To: a,\n b\n\nbody", 0, 0, "HTo= a,\n b|E@11"},
	{"empty value", "X:\n", 0, 0, "HX=|E@3"},
	{"no space after colon", "X:y\n", 0, 0, "HX=y|E@4"},
	{"space before colon", "Subject : hi\n", 0, 0, "HSubject= hi|E@13"},
	{"tab before colon", "Subject\t: hi\n", 0, 0, "HSubject= hi|E@13"},
	{"whitespace-only continuation", "X: a\n \nY: b\n", 0, 0, "HX= a\n |HY= b|E@12"},
	{"colon in value", "X: a:b\n", 0, 0, "HX= a:b|E@7"},
	{"odd but valid name", "X-!#$%&'*+-./;<=>?@[]^_`{|}~: v\n", 0, 0,
	 "HX-!#$%&'*+-./;<=>?@[]^_`{|}~= v|E@32"},

	{"junk: no colon", "not a header\nX: y\n", 0, 0, "Jnot a header|HX= y|E@18"},
	{"junk: From_ line", "From a@b Mon Jan 1\nX: y\n", 0, 0, "JFrom a@b Mon Jan 1|HX= y|E@24"},
	{"junk: empty name", ": v\n", 0, 0, "J: v|E@4"},
	{"junk: leading continuation", " cont\nX: y\n", 0, 0, "J cont|HX= y|E@11"},
	{"junk: space in name", "Sub ject: x\n", 0, 0, "JSub ject: x|E@12"},
	{"junk: 8-bit name", "S\xc3\xa9: x\n", 0, 0, "JS\xc3\xa9: x|E@7"},
	{"junk: CR line is not the end", "A: 1\n\r\nB: 2\n", 0, 0, "HA= 1|J\r|HB= 2|E@12"},
	{"CR kept in value", "A: 1\r\n", 0, 0, "HA= 1\r|E@6"},
	{"NUL in value (shown cut)", "A: 1\0x\nB: 2\n", 12, 0, "HA= 1|HB= 2|E@12"},

	/* The bound applies to the whole logical header. */
	{"exactly max", "A: 123456\n", 0, 9, "HA= 123456|E@10"},
	{"one past max", "A: 1234567\n", 0, 9, "HA= 123456+T|E@11"},
	{"folded past max", "A: 12\n 34\n 56\nB: x\n", 0, 9, "HA= 12\n 34+T|HB= x|E@19"},
	{"junk past max", "abcdefghijkl\nB: x\n", 0, 5, "Jabcde+T|HB= x|E@18"},
	{"name past max", "ABCDEFGHIJ: x\nB: x\n", 0, 5, "JABCDE+T|HB= x|E@19"},
	{"name and colon exactly max", "ABCD: x\n", 0, 5, "HABCD=+T|E@8"},
	{"max 1", "A: x\nB\n", 0, 1, "JA+T|JB|E@7"},
};

START_TEST(test_walk_table)
{
	const struct walk_case *c = &cases[_i];
	size_t  n = c->n ? c->n : strlen(c->in);
	char    got[4096];

	walk(c->in, n, c->max ? c->max : 1000, got, sizeof(got));
	ck_assert_msg(strcmp(got, c->want) == 0, "%s:\n got <%s>\nwant <%s>", c->label, got,
		      c->want);
}
END_TEST

START_TEST(test_nul_value)
{
	struct header_iter it;
	struct header h;

	/* A NUL inside a value is data: the length says where it ends. */
	header_iter_init(&it, "A: 1\0x\nB: 2\n", 12, 100);
	ck_assert_int_eq(header_next(&it, &h), HEADER_NEXT);
	ck_assert_uint_eq(h.value_len, 4);
	ck_assert_int_eq(memcmp(h.value, " 1\0x", 4), 0);
	ck_assert_int_eq(header_next(&it, &h), HEADER_NEXT);
	ck_assert(header_name_is(&h, "b"));
	ck_assert_int_eq(header_next(&it, &h), HEADER_END);
}
END_TEST

START_TEST(test_body_offset)
{
	const char *msg = "From: a@b\nTo: c@d\n\nHello\n\nWorld\n";
	struct header_iter it;
	struct header h;
	int     k = 0;

	header_iter_init(&it, msg, strlen(msg), 1000);
	while (header_next(&it, &h) == HEADER_NEXT)
		k++;
	ck_assert_int_eq(k, 2);
	ck_assert_str_eq(msg + header_iter_offset(&it), "Hello\n\nWorld\n");
}
END_TEST

START_TEST(test_long_header_linear)
{
	/* 1.5 MB of continuation lines: cut at the bound, then skipped whole. */
	size_t  n = 0, cap = 3 * 512 * 1024 + 64;
	char   *big = malloc(cap);
	struct header_iter it;
	struct header h;

	ck_assert_ptr_nonnull(big);
	memcpy(big, "X: a", 4);
	n = 4;
	while (n + 3 < cap - 16) {
		memcpy(big + n, "\n a", 3);
		n += 3;
	}
	memcpy(big + n, "\nY: z\n", 6);
	n += 6;
	header_iter_init(&it, big, n, 102400);
	ck_assert_int_eq(header_next(&it, &h), HEADER_NEXT);
	ck_assert(header_name_is(&h, "X"));
	ck_assert(h.flags & HEADER_TRUNCATED);
	ck_assert_uint_eq(h.raw_len, 102400);
	ck_assert_uint_eq(h.value_len, 102400 - 2);
	ck_assert_int_eq(header_next(&it, &h), HEADER_NEXT);
	ck_assert(header_name_is(&h, "y"));
	ck_assert_int_eq(h.flags, 0);
	ck_assert_int_eq(header_next(&it, &h), HEADER_END);
	ck_assert_uint_eq(header_iter_offset(&it), n);
	free(big);
}
END_TEST

START_TEST(test_name)
{
	struct header h = {0};

	ck_assert(header_name_valid("Subject", 7));
	ck_assert(header_name_valid("X-Foo!", 6));
	ck_assert(header_name_valid("~", 1));
	ck_assert(!header_name_valid("", 0));
	ck_assert(!header_name_valid("a:b", 3));
	ck_assert(!header_name_valid("a b", 3));
	ck_assert(!header_name_valid("a\tb", 3));
	ck_assert(!header_name_valid("a\x7f", 2));
	ck_assert(!header_name_valid("a\0b", 3));
	ck_assert(!header_name_valid("\xc3\xa9", 2));

	h.name = "Delivered-To";
	h.name_len = 12;
	ck_assert(header_name_is(&h, "delivered-to"));
	ck_assert(header_name_is(&h, "DELIVERED-TO"));
	ck_assert(!header_name_is(&h, "Delivered-T"));
	ck_assert(!header_name_is(&h, "Delivered-Too"));
	ck_assert(!header_name_is(&h, ""));
	h.name_len = 9;		/* only "Delivered" */
	ck_assert(header_name_is(&h, "delivered"));
	ck_assert(!header_name_is(&h, "delivered-to"));
	h.name = NULL;
	h.name_len = 0;
	ck_assert(!header_name_is(&h, ""));
}
END_TEST

struct unfold_case {
	const char *in;
	const char *want;
};

static const struct unfold_case unfold_cases[] = {
	{"", ""},
	{" plain", " plain"},
	{" a\n b", " a b"},
	{" a\n\tb", " a\tb"},
	{" a\r\n b", " a b"},
	{" a\n  b", " a  b"},
	{" a\nb", " a b"},		/* not a fold: still one line */
	{" a\rb", " a b"},
	{" a\n", " a "},
	{"\n \n ", "  "},
	{" a\r\n\r\n b", " a  b"},
};

START_TEST(test_unfold_table)
{
	const struct unfold_case *c = &unfold_cases[_i];
	struct buf b;

	buf_init(&b, 1000);
	ck_assert_int_eq(header_unfold(c->in, strlen(c->in), &b), 0);
	ck_assert_msg(strcmp(buf_str(&b), c->want) == 0, "<%s> -> <%s>, want <%s>", c->in,
		      buf_str(&b), c->want);
	ck_assert(strchr(buf_str(&b), '\n') == NULL);
	buf_free(&b);
}
END_TEST

START_TEST(test_unfold_bound)
{
	struct buf b;

	buf_init(&b, 5);
	ck_assert_int_eq(header_unfold("ab\n cd", 6, &b), 0);	/* "ab cd" */
	ck_assert_str_eq(buf_str(&b), "ab cd");
	buf_reset(&b);
	ck_assert_int_eq(header_unfold("ab\n cde", 7, &b), -1);
	ck_assert_str_eq(buf_str(&b), "ab cd");
	buf_reset(&b);
	ck_assert_int_eq(header_unfold("abcdefgh", 8, &b), -1);
	ck_assert_str_eq(buf_str(&b), "abcde");
	buf_reset(&b);
	ck_assert_int_eq(header_unfold("abc\nx", 5, &b), 0);	/* "abc x" */
	ck_assert_str_eq(buf_str(&b), "abc x");
	buf_reset(&b);
	ck_assert_int_eq(header_unfold("abcde\nx", 7, &b), -1);
	ck_assert_str_eq(buf_str(&b), "abcde");
	/* Appends to what is there. */
	buf_reset(&b);
	buf_puts(&b, "X:");
	ck_assert_int_eq(header_unfold(" a", 2, &b), 0);
	ck_assert_str_eq(buf_str(&b), "X: a");
	buf_free(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("header");
	TCase  *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_walk_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_nul_value);
	tcase_add_test(tc, test_body_offset);
	tcase_add_test(tc, test_long_header_linear);
	tcase_add_test(tc, test_name);
	tcase_add_loop_test(tc, test_unfold_table, 0,
			    sizeof(unfold_cases) / sizeof(unfold_cases[0]));
	tcase_add_test(tc, test_unfold_bound);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
