/*
 * cleanup_scan_test - check suite for the content checks of a body
 * (cleanup_scan.c, cleanup_mime.c, the edits of cleanup_body.c): whole
 * messages through cleanup_message() with regexp: tables, the stored
 * body read back from the queue file.
 */
#include "cleanup_msg_util.h"

static char tdir[64];			/* the tables */

static void
scan_teardown(void)
{
	cleanup_checks_free();
	teardown();
	scratch_remove(tdir, "/tmp/cleanup_scan.");
}

/* table - TDIR/name holding text; its "regexp:" name in out */
static void
table(const char *name, const char *text, char *out, size_t size)
{
	char    path[128];
	FILE   *f;

	(void) str_fmt(path, sizeof(path), "%s/%s", tdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	(void) str_fmt(out, size, "regexp:%s", path);
}

/*
 * with - main.cf lines; each "%s" in conf is the table name of the
 * next rules text (at most three)
 */
static void
with(const char *conf, const char *r1, const char *r2, const char *r3)
{
	char    t1[160], t2[160], t3[160], text[2048];

	(void) str_copy(tdir, sizeof(tdir), "/tmp/cleanup_scan.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	if (r1)
		table("t1", r1, t1, sizeof(t1));
	if (r2)
		table("t2", r2, t2, sizeof(t2));
	if (r3)
		table("t3", r3, t3, sizeof(t3));
	ck_assert_int_eq(str_fmt(text, sizeof(text), conf, t1, t2, t3), 0);
	setup(text);
	cleanup_checks_init();
}

/* stored - the body of the queued message (the caller frees) */
static char *
stored(const struct cleanup_result *res)
{
	struct qfile_env env;
	char   *b;
	int     fd;

	ck_assert_msg(res->status == CLEANUP_STAT_OK, "%d %s", res->status, res->reason);
	fd = load(res->queue_id, &env);
	b = section(fd, env.body_off, env.body_len);
	qfile_env_free(&env);
	close(fd);
	return b;
}

static const char attachment[] =
    "Subject: report\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed;\n"
    "\tboundary=\"=-outer\"\n"
    "\n"
    "preamble\n"
    "--=-outer\n"
    "Content-Type: text/plain\n"
    "\n"
    "Content-Type: application/x-msdownload; name=\"text.exe\"\n"
    "--=-outer\n"
    "Content-Type: application/octet-stream;\n"
    "\tname=\"invoice.exe\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "TVqQAAMAAAAEAAAA\n"
    "--=-outer--\n"
    "epilogue\n";

#define EXE_RULE "/^Content-(Type|Disposition):.*name=\"?[^\"]*\\.exe\"?/ " \
	"REJECT Executable attachments are not accepted\n"

START_TEST(test_part_header_rejected)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;

	/* header_checks alone: mime_header_checks is $header_checks. */
	with("header_checks = %s\n", EXE_RULE, NULL, NULL);
	submit(&req, attachment, strlen(attachment), &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_str_eq(res.reason, "5.7.1 Executable attachments are not accepted");
	assert_empty();
}
END_TEST

START_TEST(test_text_that_looks_like_a_header_is_text)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	/* The first part's text holds the same line: not a header. */
	const char *msg =
	    "Subject: plain\n\n"
	    "Content-Type: application/x-msdownload; name=\"text.exe\"\n";
	char   *b;

	with("header_checks = %s\n", EXE_RULE, NULL, NULL);
	submit(&req, msg, strlen(msg), &res);
	b = stored(&res);
	ck_assert_str_eq(b, "Content-Type: application/x-msdownload; name=\"text.exe\"\n");
	free(b);
}
END_TEST

START_TEST(test_mime_header_checks_empty_means_none)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	char   *b;

	with("header_checks = %s\nmime_header_checks =\n", EXE_RULE, NULL, NULL);
	submit(&req, attachment, strlen(attachment), &res);
	b = stored(&res);
	ck_assert_ptr_nonnull(strstr(b, "name=\"invoice.exe\""));
	free(b);
}
END_TEST

static const char forwarded[] =
    "Subject: fwd\n"
    "Content-Type: multipart/mixed; boundary=b1\n"
    "\n"
    "--b1\n"
    "Content-Type: text/plain\n"
    "\n"
    "Subject: secret plans\n"
    "--b1\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: x@example.net\n"
    "Subject: secret plans\n"
    "Content-Type: multipart/alternative; boundary=\"b2\"\n"
    "\n"
    "--b2\n"
    "Content-Type: text/html\n"
    "Content-Description: the plans\n"
    "\n"
    "<p>plans</p>\n"
    "--b2--\n"
    "--b1--\n";

START_TEST(test_nested_header_rejected)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	const char *top = "Subject: secret plans\n\nhello\n";
	char   *b;

	with("nested_header_checks = %s\n",
	     "/^Subject: secret/ REJECT No secrets in attachments\n", NULL, NULL);
	submit(&req, forwarded, strlen(forwarded), &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_str_eq(res.reason, "5.7.1 No secrets in attachments");
	assert_empty();
	/* The top-level Subject: is header_checks' (empty here). */
	req = smtp(rc1, 1);
	submit(&req, top, strlen(top), &res);
	b = stored(&res);
	ck_assert_str_eq(b, "hello\n");
	free(b);
}
END_TEST

START_TEST(test_nested_headers_and_parts_classified)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	char   *b;

	/*
	 * Each class edits what it sees: the attached message's Subject:
	 * (nested), the Content-Description: of a part inside it (MIME),
	 * and body text; the text "Subject: secret plans" of the first
	 * part is body text, not a header.
	 */
	with("nested_header_checks = %s\nmime_header_checks = %s\nbody_checks = %s\n",
	     "/^Subject: (.*)/ REPLACE Subject: [nested] $1\n",
	     "/^Content-Description:/ IGNORE\n",
	     "/^<p>(.*)<\\/p>$/ REPLACE <b>$1</b>\n/^Subject:/ PREPEND [text]\n");
	submit(&req, forwarded, strlen(forwarded), &res);
	b = stored(&res);
	ck_assert_str_eq(b,
			 "--b1\n"
			 "Content-Type: text/plain\n"
			 "\n"
			 "[text]\n"
			 "Subject: secret plans\n"
			 "--b1\n"
			 "Content-Type: message/rfc822\n"
			 "\n"
			 "From: x@example.net\n"
			 "Subject: [nested] secret plans\n"
			 "Content-Type: multipart/alternative; boundary=\"b2\"\n"
			 "\n"
			 "--b2\n"
			 "Content-Type: text/html\n"
			 "\n"
			 "<b>plans</b>\n"
			 "--b2--\n"
			 "--b1--\n");
	free(b);
}
END_TEST

START_TEST(test_body_edits_stored)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	const char *msg =
	    "Subject: edits\n\n"
	    "keep 1\r\n"
	    "drop this line\r\n"
	    "old text here\r\n"
	    "before me\n"
	    "keep 2\n"
	    "old at the end";
	char   *b;

	with("body_checks = %s\n",
	     "/^drop/ IGNORE\n/^old (.*)/ REPLACE new $1\n/^before/ PREPEND inserted\n",
	     NULL, NULL);
	submit(&req, msg, strlen(msg), &res);
	b = stored(&res);
	ck_assert_str_eq(b, "keep 1\nnew text here\ninserted\nbefore me\nkeep 2\n"
			 "new at the end\n");
	free(b);
}
END_TEST

START_TEST(test_body_edits_of_a_large_body)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	struct buf msg, want;
	char   *b;

	/* 200,000 bytes of body, a long line; edits past the read buffer. */
	buf_init(&msg, 1 << 20);
	buf_init(&want, 1 << 20);
	(void) buf_puts(&msg, "Subject: big\n\n");
	for (int i = 0; i < 2000; i++) {
		(void) buf_appendf(&msg, "line %04d %s\n", i, i % 500 == 7 ? "secret" : "text");
		if (i % 500 != 7)
			(void) buf_appendf(&want, "line %04d text\n", i);
	}
	(void) buf_puts(&msg, "drop ");
	for (int i = 0; i < 100000; i++)
		(void) buf_putc(&msg, 'x');
	(void) buf_puts(&msg, "\nlast\n");
	(void) buf_puts(&want, "last\n");
	with("body_checks = %s\nbody_checks_size_limit = 10m\n",
	     "/secret$/ IGNORE\n/^drop x/ IGNORE\n", NULL, NULL);
	submit(&req, msg.data, msg.len, &res);
	b = stored(&res);
	ck_assert_uint_eq(strlen(b), want.len);
	ck_assert(strcmp(b, want.data) == 0);
	free(b);
	buf_free(&msg);
	buf_free(&want);
}
END_TEST

START_TEST(test_edits_past_message_size_limit)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	struct buf msg;

	buf_init(&msg, 1 << 16);
	(void) buf_puts(&msg, "Subject: grow\n\n");
	for (int i = 0; i < 200; i++)
		(void) buf_puts(&msg, "x\n");
	with("body_checks = %s\nmessage_size_limit = 2000\n",
	     "/^x$/ PREPEND a line that makes the body larger\n", NULL, NULL);
	submit(&req, msg.data, msg.len, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_str_eq(res.reason, "5.3.4 Message size exceeds fixed limit");
	assert_empty();
	buf_free(&msg);
}
END_TEST

/* nested - a message with depth multiparts inside one another */
static void
nested(struct buf *m, int depth)
{
	buf_init(m, 1 << 16);
	(void) buf_puts(m, "Subject: deep\nContent-Type: multipart/mixed; boundary=b0\n\n");
	for (int i = 1; i < depth; i++)
		(void) buf_appendf(m, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n",
				   i - 1, i);
	(void) buf_appendf(m, "--b%d\nContent-Type: application/octet-stream; "
			   "name=\"deep.exe\"\n\nTVqQ\n", depth - 1);
	for (int i = depth; i-- > 0;)
		(void) buf_appendf(m, "--b%d--\n", i);
}

START_TEST(test_nesting_limit)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	struct buf m3, m5;
	char   *b;

	nested(&m3, 3);
	nested(&m5, 5);
	with("header_checks = %s\nmime_nesting_limit = 3\n", EXE_RULE, NULL, NULL);
	/* At the limit, the deepest part's header is checked. */
	submit(&req, m3.data, m3.len, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_str_eq(res.reason, "5.7.1 Executable attachments are not accepted");
	/* Past it, the message is refused before a check could be missed. */
	req = smtp(rc1, 1);
	submit(&req, m5.data, m5.len, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_str_eq(res.reason, "5.6.0 MIME nesting exceeds safety limit");
	assert_empty();
	scan_teardown();

	/* Without header checks, deep nesting is only text. */
	with("body_checks = %s\nmime_nesting_limit = 3\n", "/^nothing$/ REJECT\n",
	     NULL, NULL);
	req = smtp(rc1, 1);
	submit(&req, m5.data, m5.len, &res);
	b = stored(&res);
	ck_assert_ptr_nonnull(strstr(b, "deep.exe"));
	free(b);
	buf_free(&m3);
	buf_free(&m5);
}
END_TEST

START_TEST(test_digest_and_boundaries)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	/*
	 * multipart/digest parts are messages: their Subject: is nested.
	 * An outer boundary closes the inner multipart; a boundary with
	 * trailing white space still counts; a long boundary is compared
	 * by its first mime_boundary_length_limit bytes.
	 */
	const char *msg =
	    "Content-Type: multipart/digest; boundary=\"0123456789abcdef\"\n\n"
	    "--0123456789abcdef   \n"
	    "\n"
	    "Subject: first\n"
	    "\n"
	    "text\n"
	    "--0123456789abXXXX\n"
	    "\n"
	    "Subject: second\n";
	char   *b;

	with("nested_header_checks = %s\nmime_boundary_length_limit = 12\n",
	     "/^Subject: (.*)/ REPLACE Subject: seen $1\n", NULL, NULL);
	submit(&req, msg, strlen(msg), &res);
	b = stored(&res);
	ck_assert_str_eq(b,
			 "--0123456789abcdef   \n\nSubject: seen first\n\ntext\n"
			 "--0123456789abXXXX\n\nSubject: seen second\n");
	free(b);
}
END_TEST

START_TEST(test_disable_mime_input_processing)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	char   *b;

	/* Every line is body text: the part's header meets body_checks. */
	with("header_checks = %s\nbody_checks = %s\ndisable_mime_input_processing = yes\n",
	     EXE_RULE, "/^Content-Transfer-Encoding:/ REPLACE X-Seen-As-Text: yes\n",
	     NULL);
	submit(&req, attachment, strlen(attachment), &res);
	b = stored(&res);
	ck_assert_ptr_nonnull(strstr(b, "name=\"invoice.exe\"\nX-Seen-As-Text: yes\n"));
	free(b);
}
END_TEST

/*
 * Malformed MIME: random messages made of boundary lines (right, wrong,
 * closing, truncated), multipart and message/rfc822 headers, folds,
 * empty lines, long lines and text.  Each is queued, with its body
 * unchanged (no rule matches), and nothing crashes (make asan runs this
 * suite with the sanitizers).
 */
START_TEST(test_malformed_mime_is_text)
{
	static const char *const bits[] = {
		"--a\n", "--a--\n", "--b\n", "--b--  \n", "--\n", "-\n", "\n", "\n",
		"Content-Type: multipart/mixed; boundary=a\n",
		"Content-Type: multipart/digest; boundary=\"b\"; boundary=c\n",
		"Content-Type: message/rfc822\n", "Content-Type: multipart/x\n",
		"Content-Type: multipart/mixed; boundary=\"unterminated\n",
		"Content-Type: (comment (nested)) multipart / mixed ; boundary = a\n",
		"Content-type:\n", "\tfolded continuation\n", " \n", "Subject: x\n",
		"text\n", "no colon here\n", ":\n", "\r\n", "--c", "Header:value",
	};
	struct cleanup_req req;
	struct cleanup_result res;
	struct buf msg;
	uint32_t seed = 12345;
	char   *b;

	with("header_checks = %s\nbody_checks = %s\nmime_nesting_limit = 4\n"
	     "cleanup_replace_stray_cr_lf = no\n",
	     "/^Content-Type: never$/ REJECT\n", "/^never$/ REJECT\n", NULL);
	buf_init(&msg, 1 << 20);
	for (int round = 0; round < 300; round++) {
		size_t  body_at;

		buf_reset(&msg);
		(void) buf_puts(&msg, "Subject: torture\n");
		if (round % 3)
			(void) buf_puts(&msg, "Content-Type: multipart/mixed; boundary=a\n");
		(void) buf_puts(&msg, "\n");
		body_at = msg.len;
		for (int i = 0; i < 60; i++) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 97 == 0) {
				for (int k = 0; k < 70000; k++)
					(void) buf_putc(&msg, 'L');
				continue;
			}
			(void) buf_puts(&msg, bits[(seed >> 16) % (sizeof(bits) / sizeof(bits[0]))]);
		}
		req = smtp(rc1, 1);
		submit(&req, msg.data, msg.len, &res);
		if (res.status == CLEANUP_STAT_PERM) {
			/* Only the nesting bound may refuse it. */
			ck_assert_str_eq(res.reason, "5.6.0 MIME nesting exceeds safety limit");
			continue;
		}
		b = stored(&res);
		ck_assert_msg(strcmp(b, msg.data + body_at) == 0 || msg.data[msg.len - 1] != '\n',
			      "round %d: the body changed", round);
		free(b);
	}
	buf_free(&msg);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("cleanup_scan");
	TCase  *tc = tcase_create("core");

	log_init("cleanup_scan_test", LOG_DEST_STDERR);
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, scan_teardown);
	tcase_add_test(tc, test_part_header_rejected);
	tcase_add_test(tc, test_text_that_looks_like_a_header_is_text);
	tcase_add_test(tc, test_mime_header_checks_empty_means_none);
	tcase_add_test(tc, test_nested_header_rejected);
	tcase_add_test(tc, test_nested_headers_and_parts_classified);
	tcase_add_test(tc, test_body_edits_stored);
	tcase_add_test(tc, test_body_edits_of_a_large_body);
	tcase_add_test(tc, test_edits_past_message_size_limit);
	tcase_add_test(tc, test_nesting_limit);
	tcase_add_test(tc, test_digest_and_boundaries);
	tcase_add_test(tc, test_disable_mime_input_processing);
	tcase_add_test(tc, test_malformed_mime_is_text);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
