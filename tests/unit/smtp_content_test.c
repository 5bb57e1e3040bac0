/* smtp_content_test - check suite for smtp/smtp_content.c: CR LF, dot-stuffing, long lines, 8-bit. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "../../smtp/smtp.h"

struct enc_case {
	const char *label;
	unsigned limit;
	const char *in;
	const char *want;
};

static const struct enc_case enc_cases[] = {
	{"plain", 998, "a\nb\n", "a\r\nb\r\n.\r\n"},
	{"empty", 998, "", ".\r\n"},
	{"no final LF", 998, "a\nb", "a\r\nb\r\n.\r\n"},
	{"dot line", 998, ".\n", "..\r\n.\r\n"},
	{"dot start", 998, "a\n.b\n..c\n", "a\r\n..b\r\n...c\r\n.\r\n"},
	{"dot first line", 998, ".x", "..x\r\n.\r\n"},
	{"dot mid line", 998, "a.b\n", "a.b\r\n.\r\n"},
	{"smuggle", 998, "a\n.\nMAIL FROM:<x>\n", "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n"},
	{"empty lines", 998, "\n\n", "\r\n\r\n.\r\n"},
	{"long line", 4, "abcdefghij\n", "abcd\r\n efg\r\n hij\r\n.\r\n"},
	{"exact limit", 4, "abcd\nefgh\n", "abcd\r\nefgh\r\n.\r\n"},
	{"no limit", 0, "abcdefghij\n", "abcdefghij\r\n.\r\n"},
	{"long dot line", 3, ".abcd\n", "..ab\r\n cd\r\n.\r\n"},
};

static void
check_split(const struct enc_case *c, size_t step)
{
	struct smtp_enc e;
	struct buf out;
	size_t	n = strlen(c->in);

	buf_init(&out, 1 << 16);
	smtp_enc_init(&e, c->limit);
	for (size_t i = 0; i < n; i += step) {
		size_t	k = n - i < step ? n - i : step;

		smtp_enc_feed(&e, c->in + i, k, &out);
	}
	smtp_enc_end(&e, &out);
	ck_assert_msg(strcmp(buf_str(&out), c->want) == 0, "%s (step %zu): <%s>, want <%s>",
		      c->label, step, buf_str(&out), c->want);
	buf_free(&out);
}

START_TEST(test_enc_table)
{
	/* The result must not depend on how the input is cut. */
	for (size_t step = 1; step <= 12; step++)
		check_split(&enc_cases[_i], step);
}
END_TEST

START_TEST(test_enc_room)
{
	/* The worst case fits the room the encoder asks for. */
	static const char dots[] = ".\n.\n.\n.\n";
	struct smtp_enc e;
	struct buf out;

	buf_init(&out, smtp_enc_room(sizeof(dots) - 1));
	smtp_enc_init(&e, 1);
	smtp_enc_feed(&e, dots, sizeof(dots) - 1, &out);
	ck_assert_uint_le(out.len, smtp_enc_room(sizeof(dots) - 1));
	buf_free(&out);
}
END_TEST

START_TEST(test_8bit)
{
	char	big[100];

	ck_assert_uint_eq(smtp_8bit_scan("plain text", 10), 0);
	ck_assert_uint_ne(smtp_8bit_scan("caf\xc3\xa9", 5), 0);
	memset(big, 'a', sizeof(big));
	ck_assert_uint_eq(smtp_8bit_scan(big, sizeof(big)), 0);
	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = (char) 0x80;
		ck_assert_uint_ne(smtp_8bit_scan(big, sizeof(big)), 0);
		big[i] = 'a';
	}
}
END_TEST

START_TEST(test_utf8_needed)
{
	struct smtp_rcpt r[2] = {{.address = "a@example.org"}, {.address = "b@example.org"}};

	ck_assert(!smtp_utf8_needed("s@example.net", r, 2));
	ck_assert(smtp_utf8_needed("j\xc3\xb6rg@example.net", r, 2));
	r[1].address = "\xc3\xa9@example.org";
	ck_assert(smtp_utf8_needed("s@example.net", r, 2));
	/* A recipient already decided does not count. */
	r[1].stat = SMTP_R_SENT;
	ck_assert(!smtp_utf8_needed("s@example.net", r, 2));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtp_content");
	TCase  *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_enc_table, 0, sizeof(enc_cases) / sizeof(enc_cases[0]));
	tcase_add_test(tc, test_enc_room);
	tcase_add_test(tc, test_8bit);
	tcase_add_test(tc, test_utf8_needed);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
