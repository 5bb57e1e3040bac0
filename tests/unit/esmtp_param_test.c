/* esmtp_param_test - check suite for lib/mail/esmtp_param: MAIL/RCPT parameters. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"

#include "esmtp_param.h"
#include "str.h"

struct param_case {
	const char *label;
	const char *in;
	size_t	n;		/* 0: strlen */
	size_t	max;		/* 0: ESMTP_PARAMS_MAX */
	int	want_rc;
	size_t	want_count;
	const char *want;	/* "K=V K2 ..." as parsed, or an error substring */
};

static const struct param_case cases[] = {
	{"empty", "", 0, 0, 0, 0, ""},
	{"spaces only", "    ", 0, 0, 0, 0, ""},
	{"one", " SIZE=1000", 0, 0, 0, 1, "SIZE=1000"},
	{"two", " SIZE=1000 BODY=8BITMIME", 0, 0, 0, 2, "SIZE=1000 BODY=8BITMIME"},
	{"no value", " SMTPUTF8", 0, 0, 0, 1, "SMTPUTF8"},
	{"many spaces", "   SIZE=1    SMTPUTF8   ", 0, 0, 0, 2, "SIZE=1 SMTPUTF8"},
	{"keyword case kept", " size=1 Body=7BIT", 0, 0, 0, 2, "size=1 Body=7BIT"},
	{"hyphen in keyword", " MT-PRIORITY=3", 0, 0, 0, 1, "MT-PRIORITY=3"},
	{"digit first", " 8BIT=x", 0, 0, 0, 1, "8BIT=x"},
	{"xtext value", " ORCPT=rfc822;a+2Bb@example.com", 0, 0, 0, 1,
	 "ORCPT=rfc822;a+2Bb@example.com"},
	{"value with < > and quotes", " AUTH=<>", 0, 0, 0, 1, "AUTH=<>"},
	{"junk as a keyword", " junk", 0, 0, 0, 1, "junk"},
	{"no leading space needed", "SIZE=1", 0, 0, 0, 1, "SIZE=1"},

	{"empty value", " SIZE=", 0, 0, -1, 0, "empty value for SIZE"},
	{"empty value then more", " SIZE= BODY=7BIT", 0, 0, -1, 0, "empty value for SIZE"},
	{"double =", " SIZE==1", 0, 0, -1, 0, "'=' in the value"},
	{"= in value", " ENVID=a=b", 0, 0, -1, 0, "'=' in the value"},
	{"hyphen first", " -SIZE=1", 0, 0, -1, 0, "starts with a letter or digit"},
	{"= first", " =1", 0, 0, -1, 0, "starts with a letter or digit"},
	{"underscore in keyword", " X_Y=1", 0, 0, -1, 0, "invalid character in keyword"},
	{"dot in keyword", " X.Y", 0, 0, -1, 0, "invalid character in keyword"},
	{"tab separator", " SIZE=1\tBODY=7BIT", 0, 0, -1, 0, "invalid character in the value"},
	{"CR in value", " SIZE=1\r", 0, 0, -1, 0, "invalid character in the value"},
	{"LF in keyword", " SI\nZE=1", 0, 0, -1, 0, "invalid character in keyword"},
	{"NUL in value", " SIZE=1\0x", 8, 0, -1, 0, "invalid character in the value"},
	{"8-bit in value", " ENVID=\xc3\xa9", 0, 0, -1, 0, "invalid character in the value"},
	{"DEL in value", " ENVID=a\x7f", 0, 0, -1, 0, "invalid character in the value"},
	{"duplicate", " SIZE=1 SIZE=2", 0, 0, -1, 0, "SIZE given twice"},
	{"duplicate any case", " SIZE=1 size=2", 0, 0, -1, 0, "size given twice"},
	{"duplicate without value", " SMTPUTF8 SMTPUTF8", 0, 0, -1, 0, "given twice"},
	{"max 2, 2 given", " A B", 0, 2, 0, 2, "A B"},
	{"max 2, 3 given", " A B C", 0, 2, -1, 0, "too many parameters (limit 2)"},
	{"n cuts the value", " SIZE=1000", 7, 0, 0, 1, "SIZE=1"},
	{"n cuts after =", " SIZE=1000", 6, 0, -1, 0, "empty value"},
};

static void
render(const struct esmtp_param *p, size_t n, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			str_append(out, size, " ");
		str_append(out, size, p[i].key);
		if (p[i].has_value) {
			str_append(out, size, "=");
			str_append(out, size, p[i].value);
		} else {
			ck_assert_str_eq(p[i].value, "");
		}
	}
}

START_TEST(test_table)
{
	const struct param_case *c = &cases[_i];
	struct esmtp_param p[ESMTP_PARAMS_MAX];
	struct addr_error e;
	size_t  count = 99, n = c->n ? c->n : strlen(c->in);
	size_t  max = c->max ? c->max : ESMTP_PARAMS_MAX;
	char    got[2048];
	int     rc = esmtp_params_parse(c->in, n, p, max, &count, &e);

	ck_assert_msg(rc == c->want_rc, "%s: rc %d (%s)", c->label, rc, e.text);
	if (rc == 0) {
		ck_assert_msg(count == c->want_count, "%s: count %zu", c->label, count);
		render(p, count, got, sizeof(got));
		ck_assert_msg(strcmp(got, c->want) == 0, "%s: <%s>, want <%s>", c->label, got,
			      c->want);
	} else {
		ck_assert_int_eq(count, 0);
		ck_assert_int_eq(e.code, 501);
		ck_assert_str_eq(e.dsn, "5.5.4");
		ck_assert_msg(strstr(e.text, c->want) != NULL, "%s: \"%s\" lacks \"%s\"",
			      c->label, e.text, c->want);
		ck_assert_uint_le(e.pos, n);
	}
}
END_TEST

START_TEST(test_limits)
{
	struct esmtp_param p[ESMTP_PARAMS_MAX];
	struct addr_error e;
	char    in[2048], key[64];
	size_t  count;

	/* Keyword of 32 passes, 33 does not. */
	memset(key, 'K', 32);
	key[32] = '\0';
	snprintf(in, sizeof(in), " %s=1", key);
	ck_assert_int_eq(esmtp_params_parse(in, strlen(in), p, 10, &count, &e), 0);
	ck_assert_uint_eq(strlen(p[0].key), 32);
	snprintf(in, sizeof(in), " %sK=1", key);
	ck_assert_int_eq(esmtp_params_parse(in, strlen(in), p, 10, &count, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.text, "keyword longer than 32"));

	/* Value of 512 passes, 513 does not. */
	memcpy(in, " ENVID=", 7);
	memset(in + 7, 'v', 512);
	in[7 + 512] = '\0';
	ck_assert_int_eq(esmtp_params_parse(in, strlen(in), p, 10, &count, &e), 0);
	ck_assert_uint_eq(strlen(p[0].value), 512);
	in[7 + 512] = 'v';
	in[7 + 513] = '\0';
	ck_assert_int_eq(esmtp_params_parse(in, strlen(in), p, 10, &count, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.text, "longer than 512"));

	/* Ten parameters pass, eleven do not. */
	ck_assert_int_eq(esmtp_params_parse(" A B C D E F G H I J", 20, p, ESMTP_PARAMS_MAX,
					    &count, &e), 0);
	ck_assert_uint_eq(count, 10);
	ck_assert_int_eq(esmtp_params_parse(" A B C D E F G H I J K", 22, p,
					    ESMTP_PARAMS_MAX, &count, &e), -1);
	ck_assert_str_eq(e.text, "too many parameters (limit 10)");

	/* No room at all: only an empty list passes. */
	ck_assert_int_eq(esmtp_params_parse("  ", 2, p, 0, &count, &e), 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_int_eq(esmtp_params_parse(" A", 2, p, 0, &count, &e), -1);
}
END_TEST

START_TEST(test_find)
{
	struct esmtp_param p[ESMTP_PARAMS_MAX];
	struct addr_error e;
	size_t  count;
	const struct esmtp_param *f;

	ck_assert_int_eq(esmtp_params_parse(" size=10 SMTPUTF8", 17, p, 10, &count, &e), 0);
	f = esmtp_param_find(p, count, "SIZE");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->value, "10");
	ck_assert(f->has_value);
	f = esmtp_param_find(p, count, "smtputf8");
	ck_assert_ptr_nonnull(f);
	ck_assert(!f->has_value);
	ck_assert_ptr_null(esmtp_param_find(p, count, "BODY"));
	ck_assert_ptr_null(esmtp_param_find(p, 0, "SIZE"));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("esmtp_param");
	TCase  *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_find);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
