/* smtp_mime_test - check suite for smtp/smtp_mime.c: 8-bit MIME to quoted-printable. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "../../smtp/smtp.h"

/* convert - header + "\n" + body through the converter, cut every step bytes */
static char *
convert(const char *msg, size_t step)
{
	struct smtp_mime m;
	struct smtp_enc e;
	struct buf out;
	size_t	n = strlen(msg);
	char   *r;

	buf_init(&out, 1 << 20);
	smtp_enc_init(&e, 0);
	smtp_mime_init(&m);
	for (size_t i = 0; i < n; i += step)
		smtp_mime_feed(&m, msg + i, n - i < step ? n - i : step, &e, &out);
	smtp_mime_end(&m, &e, &out);
	smtp_enc_end(&e, &out);
	smtp_mime_free(&m);
	r = buf_steal(&out);
	buf_free(&out);
	return r;
}

static void
check(const char *label, const char *in, const char *want)
{
	for (size_t step = 1; step < 40; step += 7) {
		char   *got = convert(in, step);

		ck_assert_msg(strcmp(got, want) == 0, "%s (step %zu):\n<%s>\nwant\n<%s>",
			      label, step, got, want);
		free(got);
	}
}

START_TEST(test_not_mime)
{
	check("no MIME-Version", "Subject: x\n\ncaf\xc3\xa9\n",
	      "Subject: x\r\n\r\ncaf\xc3\xa9\r\n.\r\n");
}
END_TEST

START_TEST(test_single_part)
{
	check("8bit leaf",
	      "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
	      "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9 = 1 \n.dot\n",
	      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	      "caf=C3=A9 =3D 1=20\r\n..dot\r\n.\r\n");
	check("no CTE", "MIME-Version: 1.0\n\n\xff\n",
	      "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	      "=FF\r\n.\r\n");
	check("base64 stays", "MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\nAAAA\n",
	      "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n.\r\n");
}
END_TEST

START_TEST(test_soft_breaks)
{
	char	in[256], want[512];

	(void) snprintf(in, sizeof(in), "MIME-Version: 1.0\n\n%080d\n", 0);
	(void) snprintf(want, sizeof(want), "MIME-Version: 1.0\r\n"
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
			"%075d=\r\n%05d\r\n.\r\n", 0, 0);
	check("76 columns", in, want);
}
END_TEST

START_TEST(test_multipart)
{
	check("multipart",
	      "MIME-Version: 1.0\n"
	      "Content-Type: multipart/mixed; boundary=\"b1\"\n"
	      "Content-Transfer-Encoding: 8bit\n"
	      "\n"
	      "preamble\n"
	      "--b1\n"
	      "Content-Type: text/plain\n"
	      "Content-Transfer-Encoding: 8bit\n"
	      "\n"
	      "\xe9t\xe9\n"
	      "--b1\n"
	      "Content-Type: application/octet-stream\n"
	      "Content-Transfer-Encoding: base64\n"
	      "\n"
	      "QUJD\n"
	      "--b1--\n"
	      "epilogue\n",
	      "MIME-Version: 1.0\r\n"
	      "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	      "Content-Transfer-Encoding: 7bit\r\n"
	      "\r\n"
	      "preamble\r\n"
	      "--b1\r\n"
	      "Content-Type: text/plain\r\n"
	      "Content-Transfer-Encoding: quoted-printable\r\n"
	      "\r\n"
	      "=E9t=E9\r\n"
	      "--b1\r\n"
	      "Content-Type: application/octet-stream\r\n"
	      "Content-Transfer-Encoding: base64\r\n"
	      "\r\n"
	      "QUJD\r\n"
	      "--b1--\r\n"
	      "epilogue\r\n.\r\n");
}
END_TEST

START_TEST(test_nested_message)
{
	check("message/rfc822",
	      "MIME-Version: 1.0\n"
	      "Content-Type: multipart/mixed; boundary=outer\n"
	      "\n"
	      "--outer\n"
	      "Content-Type: message/rfc822\n"
	      "\n"
	      "Subject: inner\n"
	      "Content-Type: text/plain\n"
	      "\n"
	      "\xe9\n"
	      "--outer--\n",
	      "MIME-Version: 1.0\r\n"
	      "Content-Type: multipart/mixed; boundary=outer\r\n"
	      "\r\n"
	      "--outer\r\n"
	      "Content-Type: message/rfc822\r\n"
	      "\r\n"
	      "Subject: inner\r\n"
	      "Content-Type: text/plain\r\n"
	      "Content-Transfer-Encoding: quoted-printable\r\n"
	      "\r\n"
	      "=E9\r\n"
	      "--outer--\r\n.\r\n");
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtp_mime");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_not_mime);
	tcase_add_test(tc, test_single_part);
	tcase_add_test(tc, test_soft_breaks);
	tcase_add_test(tc, test_multipart);
	tcase_add_test(tc, test_nested_message);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
