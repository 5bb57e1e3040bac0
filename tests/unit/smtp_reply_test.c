/* smtp_reply_test - check suite for lib/mail/smtp_reply: building and parsing replies. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "smtp_reply.h"

struct fmt_case {
	const char *label;
	int	code;
	const char *dsn;
	const char *text;	/* formatted with "%s" */
	const char *want;	/* NULL: -1 */
};

static const struct fmt_case fmt_cases[] = {
	{"ok", 250, "2.1.0", "Ok", "250 2.1.0 Ok\r\n"},
	{"no dsn", 250, NULL, "Ok", "250 Ok\r\n"},
	{"empty dsn", 250, "", "Ok", "250 Ok\r\n"},
	{"354", 354, NULL, "End data with <CR><LF>.<CR><LF>",
	 "354 End data with <CR><LF>.<CR><LF>\r\n"},
	{"empty text", 250, NULL, "", "250\r\n"},
	{"empty text, dsn", 250, "2.0.0", "", "250 2.0.0\r\n"},
	{"CR LF injection", 250, "2.0.0", "Ok\r\n250 fake", "250 2.0.0 Ok  250 fake\r\n"},
	{"bare LF", 550, "5.1.1", "a\nb", "550 5.1.1 a b\r\n"},
	{"TAB and ESC", 421, "4.3.0", "a\tb\x1b[2J", "421 4.3.0 a b [2J\r\n"},
	{"DEL and 8-bit", 550, NULL, "\x7f\xc3\xa9", "550  ??\r\n"},
	{"highest code", 559, "5.9.9", "x", "559 5.9.9 x\r\n"},
	{"lowest code", 200, NULL, "x", "200 x\r\n"},
	{"code 199", 199, NULL, "x", NULL},
	{"code 600", 600, NULL, "x", NULL},
	{"code 260", 260, NULL, "x", NULL},
	{"code 0", 0, NULL, "x", NULL},
	{"negative code", -250, NULL, "x", NULL},
	{"dsn on 354", 354, "2.0.0", "x", NULL},
	{"dsn class mismatch", 550, "4.1.1", "x", NULL},
	{"dsn class mismatch 2xx", 250, "5.0.0", "x", NULL},
	{"bad dsn", 250, "2.01.0", "x", NULL},
	{"dsn with junk", 250, "2.0.0 x", "x", NULL},
};

START_TEST(test_format_table)
{
	const struct fmt_case *c = &fmt_cases[_i];
	struct buf b;
	int     rc;

	buf_init(&b, SMTP_REPLY_MAX);
	buf_puts(&b, "prev\r\n");
	rc = smtp_reply_format(&b, c->code, c->dsn, "%s", c->text);
	if (c->want == NULL) {
		ck_assert_msg(rc == -1, "%s: accepted: <%s>", c->label, buf_str(&b));
		ck_assert_str_eq(buf_str(&b), "prev\r\n");
	} else {
		ck_assert_msg(rc == 0, "%s: refused", c->label);
		ck_assert_msg(strcmp(buf_str(&b) + 6, c->want) == 0, "%s: <%s>, want <%s>",
			      c->label, buf_str(&b) + 6, c->want);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_format_args)
{
	struct buf b;

	buf_init(&b, 1024);
	ck_assert_int_eq(smtp_reply_format(&b, 550, "5.1.1", "<%s>: Recipient address rejected: %s",
					   "a@b", "User unknown"), 0);
	ck_assert_str_eq(buf_str(&b),
			 "550 5.1.1 <a@b>: Recipient address rejected: User unknown\r\n");
	/* A NUL produced by the format is sanitised too. */
	buf_reset(&b);
	ck_assert_int_eq(smtp_reply_format(&b, 250, NULL, "a%cb", 0), 0);
	ck_assert_uint_eq(b.len, 9);
	ck_assert_str_eq(buf_str(&b), "250 a b\r\n");
	buf_free(&b);
}
END_TEST

/*
 * check_lines - out holds a well-formed reply: every line <= 512 octets
 * with CR LF, "CODE-" on all but the last, "CODE " on the last, the
 * dsn after each; returns the texts joined with single spaces.
 */
static char *
check_lines(const char *out, int code, const char *dsn, size_t *nlines)
{
	char    prefix[16], *joined = calloc(1, strlen(out) + 1);
	const char *p = out, *e;
	size_t  plen, dl = dsn ? strlen(dsn) : 0, n = 0, jlen = 0;

	ck_assert_ptr_nonnull(joined);
	snprintf(prefix, sizeof(prefix), "%03d", code);
	while (*p) {
		e = strstr(p, "\r\n");
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_le((size_t) (e - p) + 2, SMTP_REPLY_LINE_MAX);
		ck_assert(memchr(p, '\n', (size_t) (e - p)) == NULL);
		ck_assert_int_eq(strncmp(p, prefix, 3), 0);
		ck_assert_int_eq(p[3], e[2] == '\0' ? ' ' : '-');
		plen = 4;
		if (dl > 0) {
			ck_assert_int_eq(strncmp(p + 4, dsn, dl), 0);
			ck_assert_int_eq(p[4 + dl], ' ');
			plen += dl + 1;
		}
		if (n++ > 0)
			joined[jlen++] = ' ';
		memcpy(joined + jlen, p + plen, (size_t) (e - p) - plen);
		jlen += (size_t) (e - p) - plen;
		joined[jlen] = '\0';
		p = e + 2;
	}
	*nlines = n;
	return joined;
}

START_TEST(test_wrap_words)
{
	struct buf b;
	char    text[3000], *joined;
	size_t  n, lines;

	/* Words of 1..9 letters separated by single spaces. */
	for (n = 0; n < sizeof(text) - 12;) {
		size_t  w = 1 + n % 9;

		memset(text + n, 'a' + (int) (n % 26), w);
		n += w;
		text[n++] = ' ';
	}
	text[n - 1] = '\0';
	buf_init(&b, SMTP_REPLY_MAX);
	ck_assert_int_eq(smtp_reply_format(&b, 550, "5.7.1", "%s", text), 0);
	joined = check_lines(buf_str(&b), 550, "5.7.1", &lines);
	ck_assert_uint_ge(lines, 6);
	ck_assert_str_eq(joined, text);
	free(joined);
	buf_free(&b);
}
END_TEST

START_TEST(test_wrap_long_word)
{
	struct buf b;
	char    text[1100], *joined;
	size_t  lines, room = SMTP_REPLY_LINE_MAX - 4 - 2;

	buf_init(&b, SMTP_REPLY_MAX);
	/* Exactly one full line: 512 octets with code and CR LF. */
	memset(text, 'x', room);
	text[room] = '\0';
	ck_assert_int_eq(smtp_reply_format(&b, 250, NULL, "%s", text), 0);
	ck_assert_uint_eq(b.len, SMTP_REPLY_LINE_MAX);
	joined = check_lines(buf_str(&b), 250, NULL, &lines);
	ck_assert_uint_eq(lines, 1);
	free(joined);
	/* One more octet: two lines, cut inside the word. */
	buf_reset(&b);
	text[room] = 'x';
	text[room + 1] = '\0';
	ck_assert_int_eq(smtp_reply_format(&b, 250, NULL, "%s", text), 0);
	free(check_lines(buf_str(&b), 250, NULL, &lines));
	ck_assert_uint_eq(lines, 2);
	ck_assert_uint_eq(b.len, SMTP_REPLY_LINE_MAX + 4 + 1 + 2);
	/* With a dsn the room shrinks by its length and a space. */
	buf_reset(&b);
	memset(text, 'y', 1000);
	text[1000] = '\0';
	ck_assert_int_eq(smtp_reply_format(&b, 550, "5.999.999", "%s", text), 0);
	joined = check_lines(buf_str(&b), 550, "5.999.999", &lines);
	ck_assert_uint_eq(lines, 3);	/* 496 + 496 + 8 */
	free(joined);
	/* A space exactly at the cut goes, and nothing else. */
	buf_reset(&b);
	memset(text, 'z', room);
	text[room] = ' ';
	memcpy(text + room + 1, "tail", 5);
	ck_assert_int_eq(smtp_reply_format(&b, 250, NULL, "%s", text), 0);
	joined = check_lines(buf_str(&b), 250, NULL, &lines);
	ck_assert_uint_eq(lines, 2);
	ck_assert_str_eq(joined, text);
	free(joined);
	buf_free(&b);
}
END_TEST

START_TEST(test_text_bound_and_room)
{
	struct buf b;
	char   *big = malloc(20000);
	size_t  lines;
	char   *joined;

	memset(big, 'w', 19999);
	big[19999] = '\0';
	/* The text is cut at SMTP_REPLY_TEXT_MAX. */
	buf_init(&b, 64 * 1024);
	ck_assert_int_eq(smtp_reply_format(&b, 250, NULL, "%s", big), 0);
	joined = check_lines(buf_str(&b), 250, NULL, &lines);
	ck_assert_uint_eq(strlen(joined), SMTP_REPLY_TEXT_MAX + lines - 1);
	free(joined);
	buf_free(&b);

	/* Not enough room in out: -1, out unchanged. */
	buf_init(&b, 20);
	buf_puts(&b, "keep");
	ck_assert_int_eq(smtp_reply_format(&b, 250, "2.0.0", "%s", "0123456789"), -1);
	ck_assert_str_eq(buf_str(&b), "keep");
	buf_reset(&b);
	ck_assert_int_eq(smtp_reply_format(&b, 250, "2.0.0", "%s", "01234567"), 0);	/* 20 */
	ck_assert_uint_eq(b.len, 20);
	buf_free(&b);
	free(big);
}
END_TEST

START_TEST(test_lines)
{
	static const char *const ehlo[] = {"mx.example.com", "PIPELINING", "SIZE 10240000",
		"8BITMIME"};
	static const char *const evil[] = {"ok\r\n250 fake", "x"};
	struct buf b;

	buf_init(&b, 1024);
	ck_assert_int_eq(smtp_reply_lines(&b, 250, NULL, ehlo, 4), 0);
	ck_assert_str_eq(buf_str(&b), "250-mx.example.com\r\n250-PIPELINING\r\n"
			 "250-SIZE 10240000\r\n250 8BITMIME\r\n");
	buf_reset(&b);
	ck_assert_int_eq(smtp_reply_lines(&b, 250, NULL, ehlo, 1), 0);
	ck_assert_str_eq(buf_str(&b), "250 mx.example.com\r\n");
	buf_reset(&b);
	ck_assert_int_eq(smtp_reply_lines(&b, 550, "5.7.1", evil, 2), 0);
	ck_assert_str_eq(buf_str(&b), "550-5.7.1 ok  250 fake\r\n550 5.7.1 x\r\n");
	buf_reset(&b);
	ck_assert_int_eq(smtp_reply_lines(&b, 250, NULL, ehlo, 0), -1);
	ck_assert_int_eq(smtp_reply_lines(&b, 250, "5.0.0", ehlo, 2), -1);
	ck_assert_int_eq(smtp_reply_lines(&b, 700, NULL, ehlo, 2), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);

	/* All or nothing when out is too small. */
	buf_init(&b, 40);
	buf_puts(&b, "keep");
	ck_assert_int_eq(smtp_reply_lines(&b, 250, NULL, ehlo, 4), -1);
	ck_assert_str_eq(buf_str(&b), "keep");
	buf_free(&b);
}
END_TEST

struct parse_case {
	const char *line;
	size_t	n;		/* 0: strlen */
	int	want_rc;
	int	want_code;
	bool	want_last;
	const char *want_text;
};

static const struct parse_case parse_cases[] = {
	{"250 Ok", 0, 0, 250, true, "Ok"},
	{"250-Ok", 0, 0, 250, false, "Ok"},
	{"250", 0, 0, 250, true, ""},
	{"250 ", 0, 0, 250, true, ""},
	{"250-", 0, 0, 250, false, ""},
	{"554 5.7.1 no", 0, 0, 554, true, "5.7.1 no"},
	{"221 2.0.0 Bye", 0, 0, 221, true, "2.0.0 Bye"},
	{"354 go", 0, 0, 354, true, "go"},
	{"250-abc", 3, 0, 250, true, ""},	/* n ends the line */
	{"250-abc", 4, 0, 250, false, ""},
	{"", 0, -1, 0, false, NULL},
	{"2", 0, -1, 0, false, NULL},
	{"25", 0, -1, 0, false, NULL},
	{"2500", 0, -1, 0, false, NULL},
	{"250x", 0, -1, 0, false, NULL},
	{"250\t", 0, -1, 0, false, NULL},
	{"250\r", 0, -1, 0, false, NULL},
	{"199 x", 0, -1, 0, false, NULL},
	{"600 x", 0, -1, 0, false, NULL},
	{"099 x", 0, -1, 0, false, NULL},
	{"260 x", 0, -1, 0, false, NULL},
	{"25a x", 0, -1, 0, false, NULL},
	{"2a0 x", 0, -1, 0, false, NULL},
	{" 250 x", 0, -1, 0, false, NULL},
	{"-250 x", 0, -1, 0, false, NULL},
	{"250 Ok", 2, -1, 0, false, NULL},
};

START_TEST(test_parse_table)
{
	const struct parse_case *c = &parse_cases[_i];
	size_t  n = c->n ? c->n : strlen(c->line);
	/* An exact-size copy, so a read past n is caught under ASan. */
	char   *line = malloc(n ? n : 1);
	const char *text = NULL;
	bool    last = false;
	int     code = 0, rc;

	memcpy(line, c->line, n);
	rc = smtp_reply_parse_line(line, n, &code, &last, &text);
	ck_assert_msg(rc == c->want_rc, "\"%s\"/%zu: rc %d", c->line, n, rc);
	if (rc == 0) {
		ck_assert_int_eq(code, c->want_code);
		ck_assert(last == c->want_last);
		ck_assert(text >= line && text <= line + n);
		ck_assert_uint_eq((size_t) (line + n - text), strlen(c->want_text));
		ck_assert_int_eq(memcmp(text, c->want_text, strlen(c->want_text)), 0);
	}
	free(line);
}
END_TEST

/* add - feed one line from an exact-size copy */
static int
add(struct smtp_reply *r, const char *s, size_t n)
{
	char   *line = malloc(n ? n : 1);
	int     rc;

	memcpy(line, s, n);
	rc = smtp_reply_add(r, line, n);
	free(line);
	return rc;
}

#define ADD(r, s)	add((r), (s), strlen(s))

START_TEST(test_accumulate)
{
	struct smtp_reply r;

	smtp_reply_init(&r, SMTP_REPLY_LINES_MAX, SMTP_REPLY_MAX);
	ck_assert_int_eq(ADD(&r, "250 2.0.0 Ok"), 1);
	ck_assert_int_eq(r.code, 250);
	ck_assert_str_eq(r.dsn, "2.0.0");
	ck_assert_str_eq(buf_str(&r.text), "Ok");
	ck_assert_uint_eq(r.lines, 1);
	/* Nothing after the last line. */
	ck_assert_int_eq(ADD(&r, "250 more"), -1);
	ck_assert_str_eq(r.error, "reply line after the last line");

	smtp_reply_reset(&r);
	ck_assert_int_eq(ADD(&r, "250-mx.example.com"), 0);
	ck_assert_int_eq(ADD(&r, "250-PIPELINING"), 0);
	ck_assert_int_eq(ADD(&r, "250 8BITMIME"), 1);
	ck_assert_str_eq(buf_str(&r.text), "mx.example.com\nPIPELINING\n8BITMIME");
	ck_assert_str_eq(r.dsn, "");
	ck_assert_uint_eq(r.lines, 3);

	/* The dsn each line repeats is removed. */
	smtp_reply_reset(&r);
	ck_assert_int_eq(ADD(&r, "550-5.1.1 The email account"), 0);
	ck_assert_int_eq(ADD(&r, "550-5.1.1"), 0);
	ck_assert_int_eq(ADD(&r, "550 5.1.1 does not exist"), 1);
	ck_assert_str_eq(r.dsn, "5.1.1");
	ck_assert_str_eq(buf_str(&r.text), "The email account\n\ndoes not exist");

	/* A dsn of the wrong class is text. */
	smtp_reply_reset(&r);
	ck_assert_int_eq(ADD(&r, "550 2.0.0 odd"), 1);
	ck_assert_str_eq(r.dsn, "");
	ck_assert_str_eq(buf_str(&r.text), "2.0.0 odd");

	/* Bare code lines. */
	smtp_reply_reset(&r);
	ck_assert_int_eq(ADD(&r, "250-"), 0);
	ck_assert_int_eq(ADD(&r, "250"), 1);
	ck_assert_str_eq(buf_str(&r.text), "\n");

	/* Controls in the text become spaces; NUL too. */
	smtp_reply_reset(&r);
	ck_assert_int_eq(add(&r, "250 a\0b\x1b[2J\x7f", 12), 1);
	ck_assert_uint_eq(r.text.len, 8);
	ck_assert_str_eq(buf_str(&r.text), "a b [2J ");
	smtp_reply_free(&r);
}
END_TEST

START_TEST(test_accumulate_errors)
{
	struct smtp_reply r;

	smtp_reply_init(&r, SMTP_REPLY_LINES_MAX, SMTP_REPLY_MAX);
	ck_assert_int_eq(ADD(&r, "250-a"), 0);
	ck_assert_int_eq(ADD(&r, "251 b"), -1);
	ck_assert_str_eq(r.error, "reply code changed between lines");
	/* Failure sticks until reset. */
	ck_assert_int_eq(ADD(&r, "250 b"), -1);

	static const char *const bad[] = {"", "2", "25", "250x", "25-", "2500 x", "abc"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtp_reply_reset(&r);
		ck_assert_int_eq(ADD(&r, "250-first"), 0);
		ck_assert_msg(ADD(&r, bad[i]) == -1, "continuation \"%s\" accepted", bad[i]);
		ck_assert_str_eq(r.error, "malformed reply line");
		smtp_reply_reset(&r);
		ck_assert_msg(ADD(&r, bad[i]) == -1, "first line \"%s\" accepted", bad[i]);
	}
	smtp_reply_free(&r);
}
END_TEST

START_TEST(test_accumulate_bounds)
{
	struct smtp_reply r;
	char   *huge;
	size_t  n = 1 << 20;

	/* Line count: 3 lines pass, a 4th does not. */
	smtp_reply_init(&r, 3, SMTP_REPLY_MAX);
	ck_assert_int_eq(ADD(&r, "250-a"), 0);
	ck_assert_int_eq(ADD(&r, "250-b"), 0);
	ck_assert_int_eq(ADD(&r, "250 c"), 1);
	smtp_reply_reset(&r);
	ck_assert_int_eq(ADD(&r, "250-a"), 0);
	ck_assert_int_eq(ADD(&r, "250-b"), 0);
	ck_assert_int_eq(ADD(&r, "250-c"), 0);
	ck_assert_int_eq(ADD(&r, "250 d"), -1);
	ck_assert_str_eq(r.error, "too many reply lines");
	smtp_reply_free(&r);

	/* Length: 16 octets of text pass (newlines counted), 17 do not. */
	smtp_reply_init(&r, 100, 16);
	ck_assert_int_eq(ADD(&r, "250-0123456789"), 0);
	ck_assert_int_eq(ADD(&r, "250 abcde"), 1);
	ck_assert_uint_eq(r.text.len, 16);
	smtp_reply_reset(&r);
	ck_assert_int_eq(ADD(&r, "250-0123456789"), 0);
	ck_assert_int_eq(ADD(&r, "250 abcdef"), -1);
	ck_assert_str_eq(r.error, "reply too long");
	ck_assert_str_eq(buf_str(&r.text), "0123456789");
	smtp_reply_free(&r);

	/* A hostile server: endless continuation lines, or one huge line. */
	smtp_reply_init(&r, SMTP_REPLY_LINES_MAX, SMTP_REPLY_MAX);
	for (int i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		ck_assert_int_eq(ADD(&r, "250-"), 0);
	ck_assert_int_eq(ADD(&r, "250-"), -1);
	smtp_reply_reset(&r);
	huge = malloc(n);
	memcpy(huge, "250-", 4);
	memset(huge + 4, 'h', n - 4);
	ck_assert_int_eq(add(&r, huge, n), -1);
	ck_assert_str_eq(r.error, "reply too long");
	ck_assert_uint_eq(r.text.len, 0);
	free(huge);
	smtp_reply_free(&r);
}
END_TEST

static unsigned long long rnd_state = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned) (rnd_state % n);
}

/* What we build, we parse back: same code, same dsn, bounded lines. */
START_TEST(test_roundtrip_random)
{
	static const int codes[] = {250, 221, 354, 421, 451, 550, 554};
	static const char *const dsns[] = {NULL, "2.0.0", "4.7.1", "5.1.1", "5.999.999"};
	char    text[3000];
	struct buf b;
	struct smtp_reply r;

	buf_init(&b, SMTP_REPLY_MAX * 2);
	smtp_reply_init(&r, SMTP_REPLY_LINES_MAX, SMTP_REPLY_MAX);
	for (int round = 0; round < 20000; round++) {
		int     code = codes[rnd(7)];
		const char *dsn = dsns[rnd(5)];
		size_t  n = rnd(sizeof(text));
		const char *p, *e;
		int     rc = 0;

		for (size_t i = 0; i < n; i++)
			text[i] = (char) (rnd(4) ? 'a' + rnd(3) : (rnd(2) ? ' ' : rnd(256)));
		buf_reset(&b);
		smtp_reply_reset(&r);
		if (smtp_reply_format(&b, code, dsn, "%.*s", (int) n, text) < 0) {
			/* Only a dsn of another class is refused. */
			ck_assert(dsn != NULL && dsn[0] != '0' + code / 100);
			continue;
		}
		for (p = buf_str(&b); *p; p = e + 2) {
			e = strstr(p, "\r\n");
			ck_assert_ptr_nonnull(e);
			ck_assert_uint_le((size_t) (e - p) + 2, SMTP_REPLY_LINE_MAX);
			ck_assert_int_eq(rc, 0);
			rc = smtp_reply_add(&r, p, (size_t) (e - p));
			ck_assert_int_ge(rc, 0);
		}
		ck_assert_int_eq(rc, 1);
		ck_assert_int_eq(r.code, code);
		ck_assert_str_eq(r.dsn, dsn ? dsn : "");
	}
	smtp_reply_free(&r);
	buf_free(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtp_reply");
	TCase  *tb = tcase_create("build");
	TCase  *tp = tcase_create("parse");
	tcase_set_timeout(tp, 120);	/* random round trips: slow under the sanitizers */

	tcase_add_loop_test(tb, test_format_table, 0, sizeof(fmt_cases) / sizeof(fmt_cases[0]));
	tcase_add_test(tb, test_format_args);
	tcase_add_test(tb, test_wrap_words);
	tcase_add_test(tb, test_wrap_long_word);
	tcase_add_test(tb, test_text_bound_and_room);
	tcase_add_test(tb, test_lines);
	suite_add_tcase(s, tb);

	tcase_add_loop_test(tp, test_parse_table, 0,
			    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tp, test_accumulate);
	tcase_add_test(tp, test_accumulate_errors);
	tcase_add_test(tp, test_accumulate_bounds);
	tcase_add_test(tp, test_roundtrip_random);
	suite_add_tcase(s, tp);
	return s;
}

CHECK_MAIN(suite)
