/* sendmail_opts_test - check suite for the sendmail command line (cmd/sendmail_opts.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "buf.h"
#include "hdr_addr.h"
#include "../../cmd/sendmail.h"

#define MAXARGS 32

/* parse - parse a NULL-terminated word list; returns the result */
static int
parse_v(struct sendmail_opts *o, struct buf *err, char **words)
{
	static char *argv[MAXARGS];
	int     argc = 0;

	while (words[argc] != NULL && argc < MAXARGS - 1) {
		argv[argc] = words[argc];
		argc++;
	}
	argv[argc] = NULL;
	buf_reset(err);
	return sendmail_opts_parse(argc, argv, o, err);
}

#define PARSE(o, err, ...) parse_v((o), (err), (char *[]) {__VA_ARGS__, NULL})

static struct buf err;

static void
setup(void)
{
	buf_init(&err, 4096);
}

static void
teardown(void)
{
	buf_free(&err);
}

START_TEST(test_defaults_and_names)
{
	struct sendmail_opts o;

	ck_assert_int_eq(PARSE(&o, &err, "sendmail"), 0);
	ck_assert_int_eq(o.mode, SM_DELIVER);
	ck_assert(!o.extract);
	ck_assert(!o.ignore_dots);
	ck_assert_ptr_null(o.sender);
	ck_assert_int_eq(o.nrcpts, 0);
	ck_assert_int_eq(PARSE(&o, &err, "/usr/bin/mailq"), 0);
	ck_assert_int_eq(o.mode, SM_LIST);
	ck_assert_int_eq(PARSE(&o, &err, "newaliases"), 0);
	ck_assert_int_eq(o.mode, SM_ALIASES);
	ck_assert_int_eq(PARSE(&o, &err, "/x/mailq.bak"), 0);
	ck_assert_int_eq(o.mode, SM_DELIVER);
	/* argc 0 is possible (execve with an empty argv). */
	ck_assert_int_eq(sendmail_opts_parse(0, (char *[]) {NULL}, &o, &err), 0);
	ck_assert_int_eq(o.mode, SM_DELIVER);
}
END_TEST

START_TEST(test_common_invocations)
{
	struct sendmail_opts o;

	/* cron */
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-FCronDaemon", "-i", "-B8BITMIME",
			       "-oem", "root"), 0);
	ck_assert_str_eq(o.fullname, "CronDaemon");
	ck_assert(o.ignore_dots);
	ck_assert_str_eq(o.body, "8BITMIME");
	ck_assert_int_eq(o.nrcpts, 1);
	ck_assert_str_eq(o.rcpts[0], "root");
	ck_assert_int_eq(o.nnotes, 1);
	ck_assert_str_eq(o.notes[0], "-oem");

	/* PHP mail() */
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-t", "-i"), 0);
	ck_assert(o.extract);
	ck_assert(o.ignore_dots);
	ck_assert_int_eq(o.nrcpts, 0);

	/* grouped flags, attached and detached arguments */
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-ti", "-f", "a@b", "-oi", "c@d"), 0);
	ck_assert(o.extract && o.ignore_dots);
	ck_assert_str_eq(o.sender, "a@b");
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-tfa@b", "x"), 0);
	ck_assert(o.extract);
	ck_assert_str_eq(o.sender, "a@b");
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-r", "", "x"), 0);
	ck_assert_str_eq(o.sender, "");
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-o", "i", "x"), 0);
	ck_assert(o.ignore_dots);

	/* git send-email, mutt */
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-i", "-f", "me@x", "--", "a@x", "-b@x"), 0);
	ck_assert_int_eq(o.nrcpts, 2);
	ck_assert_str_eq(o.rcpts[0], "a@x");
	ck_assert_str_eq(o.rcpts[1], "-b@x");
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-oem", "-oi", "--", "u"), 0);
	ck_assert_int_eq(o.nrcpts, 1);
}
END_TEST

START_TEST(test_recipients_anywhere)
{
	struct sendmail_opts o;

	/* Options after recipients are options (GNU style), order kept. */
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "a", "-i", "b", "-f", "s", "c", "-"), 0);
	ck_assert(o.ignore_dots);
	ck_assert_str_eq(o.sender, "s");
	ck_assert_int_eq(o.nrcpts, 4);
	ck_assert_str_eq(o.rcpts[0], "a");
	ck_assert_str_eq(o.rcpts[1], "b");
	ck_assert_str_eq(o.rcpts[2], "c");
	ck_assert_str_eq(o.rcpts[3], "-");
	/* "--" ends the options; a later "--" is a recipient. */
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "--", "-t", "--"), 0);
	ck_assert(!o.extract);
	ck_assert_int_eq(o.nrcpts, 2);
	ck_assert_str_eq(o.rcpts[0], "-t");
	ck_assert_str_eq(o.rcpts[1], "--");
}
END_TEST

START_TEST(test_modes)
{
	struct sendmail_opts o;

	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-bs"), 0);
	ck_assert_int_eq(o.mode, SM_SMTP);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-b", "p"), 0);
	ck_assert_int_eq(o.mode, SM_LIST);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-bi"), 0);
	ck_assert_int_eq(o.mode, SM_ALIASES);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-I"), 0);
	ck_assert_int_eq(o.mode, SM_ALIASES);
	ck_assert_int_eq(PARSE(&o, &err, "mailq", "-bm", "x"), 0);
	ck_assert_int_eq(o.mode, SM_DELIVER);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-q"), 0);
	ck_assert_int_eq(o.mode, SM_FLUSH);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-qRexample.com"), 0);
	ck_assert_int_eq(o.mode, SM_FLUSH);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-q15m"), 0);
	ck_assert_int_eq(o.mode, SM_NOTHING);
	ck_assert_int_eq(o.nnotes, 1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-bd"), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "postern start"));
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-bt"), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "unsupported mode -bt"));
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-b"), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "needs an argument"));
}
END_TEST

START_TEST(test_dsn_and_body)
{
	struct sendmail_opts o;

	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-N", "delay,Success", "x"), 0);
	ck_assert_str_eq(o.notify, "SUCCESS,DELAY");
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-Nnever", "x"), 0);
	ck_assert_str_eq(o.notify, "NEVER");
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-N", "failure, delay,success", "x"), 0);
	ck_assert_str_eq(o.notify, "SUCCESS,FAILURE,DELAY");
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-N", "never,success", "x"), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-N", "success,success", "x"), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-N", ",", "x"), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-N", "bogus", "x"), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-Rhdrs", "-V", "id-1", "-B", "7bit", "x"), 0);
	ck_assert_str_eq(o.ret, "HDRS");
	ck_assert_str_eq(o.envid, "id-1");
	ck_assert_str_eq(o.body, "7BIT");
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-R", "some", "x"), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-B", "binarymime", "x"), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-V", "has space", "x"), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-V", "", "x"), -1);
}
END_TEST

START_TEST(test_bad_options)
{
	struct sendmail_opts o;
	char    big[1100];

	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-Z"), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "unknown option -Z"));
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-tZ"), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "in a group"));
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "--help"), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-f"), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "-f needs an argument"));
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-F", "a\nb", "x"), -1);
	/* The full name bound: what fits an attribute, then one more. */
	memset(big, 'n', sizeof(big));
	big[MAILDROP_ATTR_MAX - sizeof(MAILDROP_A_FULLNAME)] = '\0';
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-F", big, "x"), 0);
	big[MAILDROP_ATTR_MAX - sizeof(MAILDROP_A_FULLNAME)] = 'n';
	big[MAILDROP_ATTR_MAX - sizeof(MAILDROP_A_FULLNAME) + 1] = '\0';
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-F", big, "x"), -1);
}
END_TEST

START_TEST(test_ignored_and_config)
{
	struct sendmail_opts o;

	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-odi", "-oQ/x", "-L", "lbl", "-X", "/tmp/t",
			       "-O", "a=b", "-h", "3", "-e", "q", "-p", "x:y", "-G", "-U", "-m",
			       "-n", "-x", "-v", "-v", "-c", "/etc/x", "u"), 0);
	ck_assert_int_eq(o.verbose, 2);
	ck_assert_str_eq(o.config_dir, "/etc/x");
	ck_assert(!o.config_is_file);
	ck_assert_int_eq(o.nrcpts, 1);
	ck_assert_int_eq(o.nnotes, 13);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-C/etc/x/main.cf", "u"), 0);
	ck_assert(o.config_is_file);
	/* Notes are bounded. */
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-G", "-G", "-G", "-G", "-G", "-G", "-G",
			       "-G", "-G", "-G", "-G", "-G", "-G", "-G", "-G", "-G", "-G",
			       "-G", "-G", "-G"), 0);
	ck_assert_int_eq(o.nnotes, SENDMAIL_NOTES_MAX);
}
END_TEST

START_TEST(test_sender)
{
	char    out[HDR_ADDR_MAX + 1];
	char    big[HDR_ADDR_MAX + 20];

	ck_assert_int_eq(sendmail_sender("", out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(sendmail_sender(" <> ", out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(sendmail_sender("user", out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "user");
	ck_assert_int_eq(sendmail_sender("User@Example.COM", out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "User@example.com");
	ck_assert_int_eq(sendmail_sender("<a@b.org>", out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "a@b.org");
	ck_assert_int_eq(sendmail_sender("Cron Daemon <a@b.org>", out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "a@b.org");
	ck_assert_int_eq(sendmail_sender("a@b.org, c@d.org", out, sizeof(out), &err), -1);
	ck_assert_int_eq(sendmail_sender("a@@b", out, sizeof(out), &err), -1);
	ck_assert_int_eq(sendmail_sender("a@b\n", out, sizeof(out), &err), 0);	/* trimmed */
	ck_assert_int_eq(sendmail_sender("\"unbalanced@b", out, sizeof(out), &err), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(sendmail_sender(big, out, sizeof(out), &err), -1);
}
END_TEST

START_TEST(test_rcpts)
{
	struct sendmail_opts o;
	char  **list;
	int     n;

	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "u1", "A@X.ORG, Name <b@y.org>",
			       "\"a b\"@z.org"), 0);
	n = sendmail_rcpts(&o, 10, &list, &err);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(list[0], "u1");
	ck_assert_str_eq(list[1], "A@x.org");
	ck_assert_str_eq(list[2], "b@y.org");
	ck_assert_str_eq(list[3], "\"a b\"@z.org");
	sendmail_rcpts_free(list, n);

	/* The limit: exactly, then one more. */
	n = sendmail_rcpts(&o, 4, &list, &err);
	ck_assert_int_eq(n, 4);
	sendmail_rcpts_free(list, n);
	buf_reset(&err);
	ck_assert_int_eq(sendmail_rcpts(&o, 3, &list, &err), -2);
	ck_assert_ptr_null(list);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "too many recipients"));

	/* Malformed, or no address at all. */
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "ok@x.org", "<bad"), 0);
	ck_assert_int_eq(sendmail_rcpts(&o, 10, &list, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "<bad"));
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", ""), 0);
	ck_assert_int_eq(sendmail_rcpts(&o, 10, &list, &err), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "undisclosed-recipients:;"), 0);
	ck_assert_int_eq(sendmail_rcpts(&o, 10, &list, &err), -1);
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "a@x, <b@y"), 0);
	ck_assert_int_eq(sendmail_rcpts(&o, 10, &list, &err), -1);

	/* None: an empty list, not an error (-t decides). */
	ck_assert_int_eq(PARSE(&o, &err, "sendmail", "-t"), 0);
	ck_assert_int_eq(sendmail_rcpts(&o, 10, &list, &err), 0);
	ck_assert_ptr_null(list);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("sendmail_opts");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults_and_names);
	tcase_add_test(tc, test_common_invocations);
	tcase_add_test(tc, test_recipients_anywhere);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_dsn_and_body);
	tcase_add_test(tc, test_bad_options);
	tcase_add_test(tc, test_ignored_and_config);
	tcase_add_test(tc, test_sender);
	tcase_add_test(tc, test_rcpts);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
