/*
 * qmgr_bounce_test - check suite for qmgr/qmgr_bounce.c: who gets a
 * notification (no loops), RFC 3464 structure, and that nothing copied
 * from the original or from a reason can add header fields or MIME
 * parts (REFERENCE 3.4, bounce injection).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "test_config.h"

#include "buf.h"
#include "config.h"
#include "params.h"
#include "str.h"
#include "../../qmgr/qmgr.h"


static void
load_cfg(const char *lines)
{
	char    text[8192];

	ck_assert_int_eq(str_fmt(text, sizeof(text), "myhostname = mx.example.com\n"
				 "mydestination = example.com, localhost, $myhostname\n%s",
				 lines), 0);
	test_config_text(text);
}

static const char *hdrs =
	"Received: from x by y\n\tfor <bob@example.com>; Mon, 1 Jan 2024 00:00:00 +0000\n"
	"Subject: hello\n"
	"From: Alice <alice@example.org>\n";

static void
info_init(struct qmgr_dsn_info *in, struct qmgr_dsn_rcpt *r, size_t n)
{
	memset(in, 0, sizeof(*in));
	in->qid = "0PZ1K8Q3F7M2W9X";
	in->hostname = "mx.example.com";
	in->sender = "alice@example.org";
	in->to = "alice@example.org";
	in->arrival = 1700000000;
	in->now = 1700000100;
	in->headers = hdrs;
	in->headers_len = strlen(hdrs);
	in->size_limit = 50000;
	in->rcpts = r;
	in->nrcpts = n;
}

/* The boundary of the outer Content-Type. */
static void
boundary_of(const char *text, char *out, size_t size)
{
	const char *p = strstr(text, "boundary=\"");
	const char *q;

	ck_assert_ptr_nonnull(p);
	p += strlen("boundary=\"");
	q = strchr(p, '"');
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_lt((size_t) (q - p), size);
	memcpy(out, p, (size_t) (q - p));
	out[q - p] = '\0';
}

/* count_lines - lines of text equal to line */
static int
count_lines(const char *text, const char *line)
{
	size_t  n = strlen(line);
	int     c = 0;

	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t  l = e ? (size_t) (e - p) : strlen(p);

		if (l == n && memcmp(p, line, n) == 0)
			c++;
		p = e ? e + 1 : NULL;
	}
	return c;
}

/* starts_line - some line of text[0..limit) starts with prefix */
static bool
starts_line(const char *text, const char *prefix)
{
	size_t  n = strlen(prefix);

	for (const char *p = text; p && *p;) {
		if (strncmp(p, prefix, n) == 0)
			return true;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

/* check_structure - header fields well formed, exactly three parts */
static void
check_structure(const char *text, char *b, size_t bsize)
{
	char    delim[400], close[400];
	const char *body = strstr(text, "\n\n");

	ck_assert_ptr_nonnull(body);
	/* Every header line is a field or a continuation. */
	for (const char *p = text; p < body + 1;) {
		const char *e = strchr(p, '\n');

		ck_assert(*p == ' ' || *p == '\t' || (strchr(p, ':') && strchr(p, ':') < e));
		ck_assert_uint_le((size_t) (e - p), 998);
		p = e + 1;
	}
	boundary_of(text, b, bsize);
	(void) str_fmt(delim, sizeof(delim), "--%s", b);
	(void) str_fmt(close, sizeof(close), "--%s--", b);
	ck_assert_int_eq(count_lines(text, delim), 3);
	ck_assert_int_eq(count_lines(text, close), 1);
	/* No line anywhere is longer than RFC 5322 allows. */
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');

		ck_assert_ptr_nonnull(e);
		ck_assert_uint_le((size_t) (e - p), 998);
		p = e + 1;
	}
}

START_TEST(test_compose)
{
	struct qmgr_dsn_rcpt r[2] = {
		{"bob@example.com", "rfc822;Bob@Example.com", "failed", "5.1.1",
		 "unknown user: \"bob\""},
		{"carol@example.com", NULL, "failed", "5.2.2", "550 5.2.2 mailbox full"},
	};
	struct qmgr_dsn_info in;
	struct buf out;
	char    b[300];

	load_cfg("");
	info_init(&in, r, 2);
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(qmgr_dsn_compose(&in, &out), 0);
	check_structure(out.data, b, sizeof(b));
	ck_assert(starts_line(out.data, "From: MAILER-DAEMON@mx.example.com"));
	ck_assert(starts_line(out.data, "To: <alice@example.org>"));
	ck_assert(starts_line(out.data, "Subject: Undelivered Mail Returned to Sender"));
	ck_assert(starts_line(out.data, "Auto-Submitted: auto-replied"));
	ck_assert(starts_line(out.data, "MIME-Version: 1.0"));
	ck_assert(starts_line(out.data, "Content-Type: multipart/report; report-type=delivery-status;"));
	ck_assert(starts_line(out.data, "Content-Type: message/delivery-status"));
	ck_assert(starts_line(out.data, "Content-Type: text/rfc822-headers"));
	ck_assert(starts_line(out.data, "Reporting-MTA: dns; mx.example.com"));
	ck_assert(starts_line(out.data, "Arrival-Date: "));
	ck_assert(starts_line(out.data, "Final-Recipient: rfc822; bob@example.com"));
	ck_assert(starts_line(out.data, "Original-Recipient: rfc822; Bob@Example.com"));
	ck_assert(starts_line(out.data, "Action: failed"));
	ck_assert(starts_line(out.data, "Status: 5.1.1"));
	ck_assert(starts_line(out.data, "Diagnostic-Code: x-postern; unknown user: \"bob\""));
	ck_assert(starts_line(out.data, "Final-Recipient: rfc822; carol@example.com"));
	ck_assert(starts_line(out.data, "Diagnostic-Code: smtp; 550 5.2.2 mailbox full"));
	ck_assert(!starts_line(out.data, "Remote-MTA:"));
	ck_assert(starts_line(out.data, "Subject: hello"));
	ck_assert(!starts_line(out.data, "Content-Transfer-Encoding"));
	/* The parts come in RFC 3464's order. */
	ck_assert(strstr(out.data, "text/plain") < strstr(out.data, "message/delivery-status"));
	ck_assert(strstr(out.data, "message/delivery-status")
		  < strstr(out.data, "text/rfc822-headers"));
	buf_free(&out);
}
END_TEST

START_TEST(test_injection)
{
	struct qmgr_dsn_rcpt r[1] = {
		{"bob@example.com\r\nBcc: victim@example.net", "rfc822;x\nX-Evil: 1",
		 "failed", "5.1.1\nX-Evil: 2",
		 "host said: 550 no\r\nSubject: injected\r\n\r\n--0PZ1K8Q3F7M2W9X.1700000100/mx.example.com\r\n"
		 "Content-Type: text/html\r\n\r\n<b>phish</b>"},
	};
	struct qmgr_dsn_info in;
	struct buf out, h;
	char    b[300];

	load_cfg("");
	/* The original's headers plant the boundary qmgr would pick first. */
	buf_init(&h, 4096);
	(void) buf_puts(&h, "Subject: x\n--0PZ1K8Q3F7M2W9X.1700000100/mx.example.com\n"
			"X-Bad: \x01\x1b[31m\r\n"
			"--0PZ1K8Q3F7M2W9X.1700000100/mx.example.com--\n");
	info_init(&in, r, 1);
	in.to = "alice@example.org>\r\nCc: victim@example.net";
	in.headers = h.data;
	in.headers_len = h.len;
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(qmgr_dsn_compose(&in, &out), 0);
	check_structure(out.data, b, sizeof(b));
	ck_assert_str_ne(b, "0PZ1K8Q3F7M2W9X.1700000100/mx.example.com");
	ck_assert(!starts_line(out.data, "Bcc:"));
	ck_assert(!starts_line(out.data, "Cc:"));
	ck_assert(!starts_line(out.data, "X-Evil"));
	ck_assert(!starts_line(out.data, "Subject: injected"));
	ck_assert(!starts_line(out.data, "Content-Type: text/html"));
	ck_assert(!starts_line(out.data, "<b>phish"));
	ck_assert_ptr_null(strchr(out.data, '\r'));
	ck_assert_ptr_null(strchr(out.data, '\x1b'));
	ck_assert_ptr_null(strchr(out.data, '\x01'));
	/* The planted lines are still there, as text inside part 3. */
	ck_assert(starts_line(out.data, "--0PZ1K8Q3F7M2W9X.1700000100/mx.example.com"));
	buf_free(&out);
	buf_free(&h);
}
END_TEST

START_TEST(test_header_limit_and_8bit)
{
	struct qmgr_dsn_rcpt r[1] = {
		{"b\xc3\xa9@example.com", NULL, "failed", "5.1.1", "unknown user"},
	};
	struct qmgr_dsn_info in;
	struct buf out, h;
	char    b[300];
	const char *part;

	load_cfg("");
	buf_init(&h, 1 << 20);
	for (int i = 0; i < 100; i++)
		(void) buf_appendf(&h, "X-Line-%03d: %s\n", i, "0123456789012345678901234567890");
	(void) buf_puts(&h, "Subject: caf\xc3\xa9\n");
	/* One very long line: folded, never longer than 998. */
	(void) buf_puts(&h, "X-Long: ");
	for (int i = 0; i < 3000; i++)
		(void) buf_putc(&h, 'y');
	(void) buf_putc(&h, '\n');
	info_init(&in, r, 1);
	in.headers = h.data;
	in.headers_len = h.len;
	buf_init(&out, 1 << 20);

	/* A limit in the middle of line 10: lines 0..9 only. */
	in.size_limit = 10 * 44 + 20;
	ck_assert_int_eq(qmgr_dsn_compose(&in, &out), 0);
	check_structure(out.data, b, sizeof(b));
	part = strstr(out.data, "text/rfc822-headers");
	ck_assert(strstr(part, "X-Line-009:") != NULL);
	ck_assert(strstr(part, "X-Line-010") == NULL);
	ck_assert(starts_line(out.data, "Final-Recipient: utf-8; b\\x{E9}@example.com"));
	ck_assert(!starts_line(out.data, "Content-Transfer-Encoding"));

	/* Everything: the 8-bit Subject needs 8bit, the long line is folded. */
	buf_reset(&out);
	in.size_limit = 1 << 20;
	ck_assert_int_eq(qmgr_dsn_compose(&in, &out), 0);
	check_structure(out.data, b, sizeof(b));
	ck_assert(starts_line(out.data, "Content-Transfer-Encoding: 8bit"));
	ck_assert(starts_line(out.data, "Subject: caf\xc3\xa9"));
	buf_free(&out);
	buf_free(&h);
}
END_TEST

START_TEST(test_long_reason_folded)
{
	struct qmgr_dsn_rcpt r[1] = {{"bob@example.com", NULL, "failed", "5.0.0", NULL}};
	struct qmgr_dsn_info in;
	struct buf out, reason;
	char    b[300];
	const char *p;

	load_cfg("");
	buf_init(&reason, 65536);
	for (int i = 0; i < 200; i++)
		(void) buf_puts(&reason, "word ");
	r[0].reason = reason.data;
	info_init(&in, r, 1);
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(qmgr_dsn_compose(&in, &out), 0);
	check_structure(out.data, b, sizeof(b));
	p = strstr(out.data, "Diagnostic-Code: ");
	ck_assert_ptr_nonnull(p);
	/*
	 * Folded lines of at most 78 columns, each continuation indented,
	 * the words one space apart on every line, none lost.
	 */
	{
		int	words = 0, lines = 0;

		const char *line = p;

		p += strlen("Diagnostic-Code:");
		ck_assert_msg(strncmp(p, " x-postern;", 11) == 0, "got %.40s", p);
		p += 11;
		for (;;) {
			const char *e = strchr(p, '\n');

			ck_assert_uint_le((size_t) (e - line), 78);
			for (; p < e; p += 5, words++)
				ck_assert_msg(strncmp(p, " word", 5) == 0, "at %.20s", p);
			lines++;
			line = p = e + 1;
			if (*p != ' ')
				break;
		}
		ck_assert_int_gt(lines, 5);
		ck_assert_int_eq(words, 200);
	}
	buf_free(&out);
	buf_free(&reason);
}
END_TEST

START_TEST(test_postmaster_copy)
{
	struct qmgr_dsn_rcpt r[1] = {{"gone@example.org", NULL, "failed", "5.1.1", "no"}};
	struct qmgr_dsn_info in;
	struct buf out;
	char    b[300];

	load_cfg("");
	info_init(&in, r, 1);
	in.sender = "";
	in.to = "postmaster";
	in.postmaster_copy = true;
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(qmgr_dsn_compose(&in, &out), 0);
	check_structure(out.data, b, sizeof(b));
	ck_assert(starts_line(out.data, "Subject: Postmaster Copy: Undelivered Mail"));
	ck_assert(starts_line(out.data, "To: <postmaster>"));
	ck_assert(starts_line(out.data, "X-Postern-Sender: rfc822;"));
	buf_free(&out);
}
END_TEST

START_TEST(test_policy)
{
	char    env[256];
	const char *to;

	load_cfg("double_bounce_sender = double-bounce\nbounce_notice_recipient = postmaster\n");
	ck_assert_int_eq(qmgr_bounce_policy("alice@example.org", &to, env, sizeof(env)),
			 QB_SENDER);
	ck_assert_str_eq(to, "alice@example.org");
	ck_assert_str_eq(env, "");
	/* A bounce is never bounced: postmaster gets it, from double-bounce. */
	ck_assert_int_eq(qmgr_bounce_policy("", &to, env, sizeof(env)), QB_POSTMASTER);
	ck_assert_str_eq(to, "postmaster");
	ck_assert_str_eq(env, "double-bounce@mx.example.com");
	/* And that copy, failing too, is dropped. */
	{
		char    copy[256];

		(void) str_copy(copy, sizeof(copy), env);
		ck_assert_int_eq(qmgr_bounce_policy(copy, &to, env, sizeof(env)), QB_DISCARD);
	}
	ck_assert_int_eq(qmgr_bounce_policy("Double-Bounce@localhost", &to, env,
					    sizeof(env)), QB_DISCARD);
	ck_assert_int_eq(qmgr_bounce_policy("double-bounce", &to, env, sizeof(env)),
			 QB_DISCARD);
	/* Someone else's double-bounce address is an ordinary sender. */
	ck_assert_int_eq(qmgr_bounce_policy("double-bounce@remote.org", &to, env,
					    sizeof(env)), QB_SENDER);
}
END_TEST

START_TEST(test_notify)
{
	ck_assert(qmgr_notify_failure(NULL));
	ck_assert(qmgr_notify_failure(""));
	ck_assert(qmgr_notify_failure("FAILURE"));
	ck_assert(qmgr_notify_failure("success,failure"));
	ck_assert(!qmgr_notify_failure("NEVER"));
	ck_assert(!qmgr_notify_failure("SUCCESS,DELAY"));
	/* Delays: notified by default, as Postfix does with delay_warning_time. */
	ck_assert(qmgr_notify_delay(NULL));
	ck_assert(qmgr_notify_delay(""));
	ck_assert(qmgr_notify_delay("DELAY"));
	ck_assert(qmgr_notify_delay("failure,delay"));
	ck_assert(!qmgr_notify_delay("NEVER"));
	ck_assert(!qmgr_notify_delay("SUCCESS,FAILURE"));
}
END_TEST

/* The SMTP client's reason: who said it, and the bare reply. */
START_TEST(test_remote_mta)
{
	struct qmgr_dsn_rcpt r[2] = {
		{"bob@example.com", NULL, "failed", "5.1.1",
		 "host mx1.example.com[192.0.2.1] said: 550 5.1.1 <bob@example.com>: "
		 "no such user (in reply to RCPT TO command)"},
		{"eve@example.com", NULL, "failed", "4.4.1",
		 "delivery temporarily suspended: host mx2.example.com[192.0.2.2] said: "
		 "421 4.7.0 go away (in reply to MAIL FROM command)"},
	};
	struct qmgr_dsn_info in;
	struct buf out;
	char    b[300];

	load_cfg("");
	info_init(&in, r, 2);
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(qmgr_dsn_compose(&in, &out), 0);
	check_structure(out.data, b, sizeof(b));
	ck_assert(starts_line(out.data, "Remote-MTA: dns; mx1.example.com"));
	ck_assert(starts_line(out.data, "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: "
			      "no such user"));
	ck_assert(starts_line(out.data, "Remote-MTA: dns; mx2.example.com"));
	ck_assert(starts_line(out.data, "Diagnostic-Code: smtp; 421 4.7.0 go away"));
	/* The people's part keeps the whole reason. */
	ck_assert_ptr_nonnull(strstr(out.data, "(in reply to RCPT TO"));
	buf_free(&out);
}
END_TEST

START_TEST(test_delay_warning)
{
	struct qmgr_dsn_rcpt r[1] = {{"far@example.net", NULL, "delayed", "4.4.1",
				      "connect to mx.example.net[192.0.2.1]:25: refused"}};
	struct qmgr_dsn_info in;
	struct buf out;
	char    b[300];

	load_cfg("");
	info_init(&in, r, 1);
	in.delayed = true;
	in.arrival = in.now - 4 * 3600;
	in.retry_until = in.arrival + 5 * 86400;
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(qmgr_dsn_compose(&in, &out), 0);
	check_structure(out.data, b, sizeof(b));
	ck_assert(starts_line(out.data, "Subject: Delayed Mail (still being retried)"));
	ck_assert(starts_line(out.data, "Action: delayed"));
	ck_assert(starts_line(out.data, "Status: 4.4.1"));
	ck_assert(starts_line(out.data, "Will-Retry-Until: "));
	ck_assert(starts_line(out.data, "Content-Description: Delayed Message Headers"));
	ck_assert_ptr_nonnull(strstr(out.data, "THIS IS A WARNING ONLY"));
	ck_assert_ptr_nonnull(strstr(out.data, "for 4 hours"));
	buf_free(&out);
}
END_TEST

START_TEST(test_clean)
{
	struct buf b;

	buf_init(&b, 4096);
	qmgr_dsn_clean("  a\r\nb\tc   d\x7f" "e\xff ", 18, &b, 100);
	ck_assert_str_eq(b.data, "a b c d e?");
	buf_reset(&b);
	qmgr_dsn_clean("0123456789", 10, &b, 4);
	ck_assert_str_eq(b.data, "0123");
	buf_reset(&b);
	qmgr_dsn_clean("ab\0cd", 5, &b, 100);	/* stops at NUL */
	ck_assert_str_eq(b.data, "ab");
	buf_free(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qmgr_bounce");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_compose);
	tcase_add_test(tc, test_injection);
	tcase_add_test(tc, test_header_limit_and_8bit);
	tcase_add_test(tc, test_long_reason_folded);
	tcase_add_test(tc, test_postmaster_copy);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_delay_warning);
	tcase_add_test(tc, test_remote_mta);
	tcase_add_test(tc, test_clean);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
