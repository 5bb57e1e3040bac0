/* pickup_notice_test - the notice a local sender gets when cleanup refused its message. */
#include <check.h>
#include <string.h>

#include "check_main.h"

#include "../../pickup/pickup.h"
#include "buf.h"

START_TEST(test_compose)
{
	struct buf out;
	const char hdr[] = "Subject: hello\nX-Tab:\tx\n\nbody must not appear\n";

	buf_init(&out, 64 * 1024);
	ck_assert_int_eq(pickup_notice_compose(&out, "mx.example.org", "u@example.org", 1000,
					       "5.1.3 bad address", hdr, sizeof(hdr) - 1,
					       50000), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "From: MAILER-DAEMON@mx.example.org"));
	ck_assert_ptr_nonnull(strstr(out.data, "\nTo: <u@example.org>\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "\nAuto-Submitted: auto-replied\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "by uid 1000"));
	ck_assert_ptr_nonnull(strstr(out.data, "    5.1.3 bad address\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "\n\nSubject: hello\nX-Tab:\tx\n"));
	ck_assert_ptr_null(strstr(out.data, "body must not appear"));
	/* The header section of the notice ends at the first empty line. */
	ck_assert_ptr_nonnull(strstr(out.data, "charset=us-ascii\n\nThis is the mail system"));
	buf_free(&out);
}
END_TEST

START_TEST(test_hostile_text)
{
	struct buf out;
	const char hdr[] = "Subject: a\rBcc: evil@x\nX-8bit: \xc3\xa9\x01\n";
	char   *body;

	buf_init(&out, 64 * 1024);
	ck_assert_int_eq(pickup_notice_compose(&out, "h", "u@x\nBcc: evil@y", 1,
					       "5.0.0 why\r\nBcc: z@z", hdr, sizeof(hdr) - 1,
					       50000), 0);
	body = strstr(out.data, "\n\n");
	ck_assert_ptr_nonnull(body);
	/* Nothing the user wrote can start a field of the notice's header. */
	*body = '\0';
	ck_assert_ptr_null(strstr(out.data, "\nBcc:"));
	ck_assert_ptr_nonnull(strstr(out.data, "To: <u@x?Bcc: evil@y>"));
	*body = '\n';
	ck_assert_ptr_nonnull(strstr(out.data, "5.0.0 why??Bcc: z@z"));
	ck_assert_ptr_nonnull(strstr(out.data, "Subject: a?Bcc: evil@x\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "X-8bit: ???\n"));
	for (size_t i = 0; i < out.len; i++)
		ck_assert_msg(out.data[i] == '\n' || out.data[i] == '\t'
			      || (out.data[i] >= 0x20 && out.data[i] < 0x7f),
			      "byte %zu is 0x%02x", i, (unsigned char) out.data[i]);
	buf_free(&out);
}
END_TEST

START_TEST(test_bounds)
{
	struct buf out, small;
	char    hdr[4000], line[1200];

	/* Whole lines only, within the size limit; long lines cut. */
	memset(hdr, 0, sizeof(hdr));
	for (int i = 0; i < 10; i++)		/* 10 lines of 50 bytes */
		memcpy(hdr + 50 * i, "X-Line: 01234567890123456789012345678901234567890\n", 50);
	buf_init(&out, 64 * 1024);
	ck_assert_int_eq(pickup_notice_compose(&out, "h", "u@x", 1, "5.0.0 r", hdr, strlen(hdr),
					       100), 0);
	{
		const char *a = strstr(out.data, "X-Line"), *b;

		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(b = strstr(a + 1, "X-Line"));	/* 100 bytes fit */
		ck_assert_ptr_null(strstr(b + 1, "X-Line"));		/* 150 do not */
	}
	buf_reset(&out);
	memset(line, 'L', sizeof(line));
	memcpy(line, "X-Long: ", 8);
	line[sizeof(line) - 1] = '\n';
	ck_assert_int_eq(pickup_notice_compose(&out, "h", "u@x", 1, "5.0.0 r", line, sizeof(line),
					       50000), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "X-Long: "));
	ck_assert_uint_eq(strlen(strstr(out.data, "X-Long: ")), 900 + 1);
	buf_free(&out);

	/* No room: nothing appended. */
	buf_init(&small, 100);
	ck_assert_int_eq(buf_puts(&small, "keep"), 0);
	ck_assert_int_eq(pickup_notice_compose(&small, "h", "u@x", 1, "5.0.0 r", "", 0, 10), -1);
	ck_assert_str_eq(small.data, "keep");
	buf_free(&small);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("pickup_notice");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_compose);
	tcase_add_test(tc, test_hostile_text);
	tcase_add_test(tc, test_bounds);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
