/*
 * postconf_edit_test - check suite for postconf's main.cf edits and
 * master.cf listings (cmd/postconf_edit.c, cmd/postconf_master.c):
 * settings replaced in place with comments, blank lines and order kept,
 * continuation lines dropped, new ones appended, removal and commenting
 * out; the refusals of -e; -M, -F and -P in Postfix's formats.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "buf.h"
#include "../../cmd/postconf.h"
#include "str.h"

static const char text[] =
	"# head\n"
	"relayhost = a\n"
	"myorigin = x\n"
	"   continued\n"
	"# mid\n"
	"\n"
	"mydestination = a,\n"
	"# inside\n"
	"  b\n"
	"relayhost = b\n"
	"noeol = 1";

/* edit - apply changes given as arguments of one op; the result */
static const char *
edit(enum postconf_op op, const char *const *args, size_t n)
{
	static struct buf out;
	struct postconf_change ch[8];
	struct buf err;

	buf_init(&err, 4096);
	buf_free(&out);
	buf_init(&out, 64 * 1024);
	for (size_t k = 0; k < n; k++)
		ck_assert_msg(postconf_change_parse(args[k], op, &ch[k], &err) == 0,
			      "%s: %s", args[k], buf_str(&err));
	ck_assert_int_eq(postconf_edit_text(text, strlen(text), ch, n, &out), 0);
	for (size_t k = 0; k < n; k++) {
		free(ch[k].name);
		free(ch[k].value);
	}
	buf_free(&err);
	return buf_str(&out);
}

START_TEST(test_set)
{
	const char *args[] = {"relayhost=c", "mydomain = example.com", "myorigin = y",
			      "mydestination=z"};

	ck_assert_str_eq(edit(POSTCONF_SET, args, 4),
			 "# head\n"
			 "relayhost = c\n"
			 "myorigin = y\n"
			 "# mid\n"
			 "\n"
			 "mydestination = z\n"
			 "# inside\n"
			 "relayhost = c\n"
			 "noeol = 1\n"
			 "mydomain = example.com\n");
}
END_TEST

START_TEST(test_set_twice_and_empty)
{
	const char *args[] = {"mydomain=a.example", "mydomain=b.example", "relayhost="};

	ck_assert_str_eq(edit(POSTCONF_SET, args, 3),
			 "# head\nrelayhost = \nmyorigin = x\n   continued\n# mid\n\n"
			 "mydestination = a,\n# inside\n  b\nrelayhost = \nnoeol = 1\n"
			 "mydomain = b.example\n");
}
END_TEST

START_TEST(test_remove_and_comment)
{
	const char *rm[] = {"relayhost", "mydestination"};
	const char *cm[] = {"myorigin"};

	ck_assert_str_eq(edit(POSTCONF_REMOVE, rm, 2),
			 "# head\nmyorigin = x\n   continued\n# mid\n\n# inside\nnoeol = 1");
	ck_assert_str_eq(edit(POSTCONF_COMMENT, cm, 1),
			 "# head\nrelayhost = a\n#myorigin = x\n#   continued\n# mid\n\n"
			 "mydestination = a,\n# inside\n  b\nrelayhost = b\nnoeol = 1");
}
END_TEST

START_TEST(test_refusals)
{
	struct postconf_change ch;
	struct buf err;

	buf_init(&err, 4096);
	ck_assert_int_eq(postconf_change_parse("noequal", POSTCONF_SET, &ch, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "missing '='"));
	buf_reset(&err);
	ck_assert_int_eq(postconf_change_parse("bad name=1", POSTCONF_SET, &ch, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "bad parameter name"));
	buf_reset(&err);
	ck_assert_int_eq(postconf_change_parse("smtpd_milters=inet:x:1", POSTCONF_SET, &ch,
					       &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "smtpd_milters is not supported "
				     "yet (milters)"));
	buf_reset(&err);
	/* A name Postfix does not have either: a user-defined parameter. */
	ck_assert_int_eq(postconf_change_parse("mua_client_restrictions = permit", POSTCONF_SET,
					       &ch, &err), 0);
	ck_assert_str_eq(ch.name, "mua_client_restrictions");
	ck_assert_str_eq(ch.value, "permit");
	free(ch.name);
	free(ch.value);
	buf_reset(&err);
	ck_assert_int_eq(postconf_change_parse("message_size_limit=lots", POSTCONF_SET, &ch,
					       &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "not a number"));
	buf_reset(&err);
	ck_assert_int_eq(postconf_change_parse("config_directory=/x", POSTCONF_SET, &ch, &err),
			 -1);
	/* Ignored names may be set; anything may be removed. */
	ck_assert_int_eq(postconf_change_parse("readme_directory=no", POSTCONF_SET, &ch, &err),
			 0);
	free(ch.name);
	free(ch.value);
	ck_assert_int_eq(postconf_change_parse("smtpd_milters", POSTCONF_REMOVE, &ch,
					       &err), 0);
	ck_assert_str_eq(ch.name, "smtpd_milters");
	free(ch.name);
	buf_free(&err);
}
END_TEST

START_TEST(test_master_listings)
{
	char    dir[] = "/tmp/postconf_test.XXXXXX", path[64];
	char   *sel[] = {"qmgr/fifo", "nosuch"};
	char   *psel[] = {"*/*/syslog_name"};
	struct buf out, err;
	FILE   *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void) str_fmt(path, sizeof(path), "%s/master.cf", dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs("# service type private unpriv chroot wakeup maxproc command\n"
	      "127.0.0.1:2525    inet  n       -       y       -       1       smtpd\n"
	      "  -o syslog_name=postern/sub\n"
	      "  # a comment inside\n"
	      " -o smtpd_banner=hello\n"
	      "verylongservicename unix - n n - - local\n"
	      "qmgr fifo n - y 300? 1 qmgr\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	buf_init(&out, 64 * 1024);
	buf_init(&err, 4096);
	ck_assert_int_eq(postconf_master(dir, POSTCONF_M, NULL, 0, &out, &err), 0);
	ck_assert_str_eq(buf_str(&out),
			 "127.0.0.1:2525 inet n    -       y       -       1       smtpd "
			 "-o syslog_name=postern/sub -o smtpd_banner=hello\n"
			 "verylongservicename unix - n     n       -       -       local\n"
			 "qmgr       fifo  n       -       y       300?    1       qmgr\n");
	buf_reset(&out);
	ck_assert_int_eq(postconf_master(dir, POSTCONF_M, sel, 2, &out, &err), -1);
	ck_assert_str_eq(buf_str(&out),
			 "qmgr       fifo  n       -       y       300?    1       qmgr\n");
	ck_assert_str_eq(buf_str(&err), "unmatched request: \"nosuch\"\n");
	buf_reset(&out);
	buf_reset(&err);
	ck_assert_int_eq(postconf_master(dir, POSTCONF_F, sel, 1, &out, &err), 0);
	ck_assert_str_eq(buf_str(&out),
			 "qmgr/fifo/service = qmgr\nqmgr/fifo/type = fifo\n"
			 "qmgr/fifo/private = n\nqmgr/fifo/unprivileged = -\n"
			 "qmgr/fifo/chroot = y\nqmgr/fifo/wakeup = 300?\n"
			 "qmgr/fifo/process_limit = 1\nqmgr/fifo/command = qmgr\n");
	buf_reset(&out);
	ck_assert_int_eq(postconf_master(dir, POSTCONF_P, NULL, 0, &out, &err), 0);
	ck_assert_str_eq(buf_str(&out),
			 "127.0.0.1:2525/inet/syslog_name = postern/sub\n"
			 "127.0.0.1:2525/inet/smtpd_banner = hello\n");
	buf_reset(&out);
	ck_assert_int_eq(postconf_master(dir, POSTCONF_P, psel, 1, &out, &err), 0);
	ck_assert_str_eq(buf_str(&out), "127.0.0.1:2525/inet/syslog_name = postern/sub\n");
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	buf_free(&out);
	buf_free(&err);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("postconf_edit");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_set_twice_and_empty);
	tcase_add_test(tc, test_remove_and_comment);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_master_listings);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
