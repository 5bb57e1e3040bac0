/* xtext_test - check suite for lib/mail/xtext: RFC 3461 xtext. */
#include <check.h>
#include <string.h>

#include "check_main.h"

#include "xtext.h"

struct dec_case {
	const char *in;
	const char *want;	/* NULL: -1 */
};

static const struct dec_case dec_cases[] = {
	{"", ""},
	{"abc", "abc"},
	{"rfc822;a+2Bb@example.com", "rfc822;a+b@example.com"},
	{"a+3Db", "a=b"},
	{"+20", " "},
	{"+7E", "~"},
	{"+41", "A"},			/* needless, but well-formed */
	{"+2b", NULL},			/* lower-case hex */
	{"+2", NULL},			/* cut short */
	{"+", NULL},
	{"a+", NULL},
	{"+G0", NULL},
	{"+00", NULL},			/* NUL */
	{"+0D+0A", NULL},		/* CR LF */
	{"+1F", NULL},
	{"+7F", NULL},			/* DEL */
	{"+80", NULL},			/* 8-bit */
	{"+FF", NULL},
	{"a b", NULL},			/* space */
	{"a=b", NULL},
	{"a\tb", NULL},
	{"\xc3\xa9", NULL},
};

START_TEST(test_decode_table)
{
	const struct dec_case *c = &dec_cases[_i];
	char    out[64];
	int     rc = xtext_decode(c->in, out, sizeof(out));

	if (c->want == NULL) {
		ck_assert_msg(rc == -1, "\"%s\" accepted as \"%s\"", c->in, out);
		ck_assert_str_eq(out, "");
	} else {
		ck_assert_msg(rc == 0, "\"%s\" refused", c->in);
		ck_assert_str_eq(out, c->want);
	}
}
END_TEST

START_TEST(test_room)
{
	char    out[8];

	ck_assert_int_eq(xtext_decode("abcdefg", out, 8), 0);
	ck_assert_int_eq(xtext_decode("abcdefgh", out, 8), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(xtext_decode("+41+42", out, 3), 0);
	ck_assert_str_eq(out, "AB");
	ck_assert_int_eq(xtext_decode("+41+42", out, 2), -1);
	ck_assert_int_eq(xtext_decode("", out, 1), 0);
	ck_assert_int_eq(xtext_decode("", out, 0), -1);

	ck_assert_int_eq(xtext_encode("a=b", out, 6), 0);
	ck_assert_str_eq(out, "a+3Db");
	ck_assert_int_eq(xtext_encode("a=b", out, 5), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(xtext_encode("==", out, 7), 0);
	ck_assert_int_eq(xtext_encode("==", out, 6), -1);
	ck_assert_int_eq(xtext_encode("", out, 0), -1);
}
END_TEST

START_TEST(test_encode_roundtrip)
{
	static const char *const ins[] = {
		"", "a", "a+b=c@example.com", "rfc822;\"john doe\"@x", " ~!+=",
		"all printable: !\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~",
	};
	char    enc[256], dec[128];

	for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		ck_assert_int_eq(xtext_encode(ins[i], enc, sizeof(enc)), 0);
		for (const char *p = enc; *p; p++)
			ck_assert(*p > ' ' && *p < 0x7f && *p != '=');
		ck_assert_int_eq(xtext_decode(enc, dec, sizeof(dec)), 0);
		ck_assert_str_eq(dec, ins[i]);
	}
	/* Octets outside printable ASCII are encoded (but not decoded back). */
	ck_assert_int_eq(xtext_encode("\r\n\xc3\xa9", enc, sizeof(enc)), 0);
	ck_assert_str_eq(enc, "+0D+0A+C3+A9");
	ck_assert_int_eq(xtext_decode(enc, dec, sizeof(dec)), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("xtext");
	TCase  *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_decode_table, 0, sizeof(dec_cases) / sizeof(dec_cases[0]));
	tcase_add_test(tc, test_room);
	tcase_add_test(tc, test_encode_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
