/* utf8_test - check suite for lib/util/utf8: strict UTF-8 (RFC 3629). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"

#include "utf8.h"

struct utf8_case {
	const char *label;
	const char *in;
	size_t	n;		/* 0: strlen */
	size_t	want_len;	/* of the first sequence; 0: malformed */
	uint32_t want_cp;
	bool	want_valid;	/* the whole input */
};

static const struct utf8_case cases[] = {
	{"ASCII", "a", 0, 1, 'a', true},
	{"NUL is well-formed", "\0", 1, 1, 0, true},
	{"2-byte min", "\xc2\x80", 0, 2, 0x80, true},
	{"2-byte max", "\xdf\xbf", 0, 2, 0x7ff, true},
	{"3-byte min", "\xe0\xa0\x80", 0, 3, 0x800, true},
	{"3-byte before surrogates", "\xed\x9f\xbf", 0, 3, 0xd7ff, true},
	{"3-byte after surrogates", "\xee\x80\x80", 0, 3, 0xe000, true},
	{"3-byte max", "\xef\xbf\xbf", 0, 3, 0xffff, true},
	{"4-byte min", "\xf0\x90\x80\x80", 0, 4, 0x10000, true},
	{"4-byte max", "\xf4\x8f\xbf\xbf", 0, 4, 0x10ffff, true},
	{"text", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 0, 1, 'h', true},
	{"overlong C0", "\xc0\xaf", 0, 0, 0, false},
	{"overlong C1", "\xc1\xbf", 0, 0, 0, false},
	{"overlong 3-byte", "\xe0\x9f\xbf", 0, 0, 0, false},
	{"overlong 4-byte", "\xf0\x8f\xbf\xbf", 0, 0, 0, false},
	{"surrogate low", "\xed\xa0\x80", 0, 0, 0, false},
	{"surrogate high", "\xed\xbf\xbf", 0, 0, 0, false},
	{"past U+10FFFF", "\xf4\x90\x80\x80", 0, 0, 0, false},
	{"F5", "\xf5\x80\x80\x80", 0, 0, 0, false},
	{"FF", "\xff", 0, 0, 0, false},
	{"FE", "\xfe", 0, 0, 0, false},
	{"lone continuation", "\x80", 0, 0, 0, false},
	{"truncated 2", "\xc3", 0, 0, 0, false},
	{"truncated 3", "\xe2\x82", 0, 0, 0, false},
	{"truncated 4", "\xf0\x9f\x98", 0, 0, 0, false},
	{"bad second byte", "\xc3\x41", 0, 0, 0, false},
	{"bad third byte", "\xe2\x82\x41", 0, 0, 0, false},
	{"bad fourth byte", "\xf0\x9f\x98\xc0", 0, 0, 0, false},
	{"valid then truncated", "a\xc3", 0, 1, 'a', false},
	{"cut by n", "\xc3\xa9", 1, 0, 0, false},
};

START_TEST(test_table)
{
	const struct utf8_case *c = &cases[_i];
	size_t  n = c->n ? c->n : strlen(c->in);
	uint32_t cp = 0xdeadbeef;
	size_t  k = utf8_decode(c->in, n, &cp);

	ck_assert_msg(k == c->want_len, "%s: length %zu, want %zu", c->label, k, c->want_len);
	if (k > 0)
		ck_assert_msg(cp == c->want_cp, "%s: U+%04X", c->label, (unsigned) cp);
	ck_assert_msg(utf8_valid(c->in, n) == c->want_valid, "%s: valid", c->label);
	ck_assert_uint_eq(utf8_decode(c->in, n, NULL), k);
}
END_TEST

START_TEST(test_empty)
{
	ck_assert_uint_eq(utf8_decode("", 0, NULL), 0);
	ck_assert(utf8_valid("", 0));
}
END_TEST

START_TEST(test_every_two_byte_lead)
{
	/* Exhaustive over lead bytes and second bytes. */
	for (unsigned a = 0x80; a <= 0xff; a++) {
		for (unsigned b = 0; b <= 0xff; b++) {
			char    s[2] = {(char) a, (char) b};
			bool    want = a >= 0xc2 && a <= 0xdf && b >= 0x80 && b <= 0xbf;

			ck_assert_msg(utf8_valid(s, 2) == want, "%02x %02x", a, b);
		}
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("utf8");
	TCase  *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_every_two_byte_lead);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
