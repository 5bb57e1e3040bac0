/*
 * config_test - check suite for lib/svc/params and lib/svc/config: the parameter
 * table, main.cf syntax, $name expansion, typed values and their bounds,
 * error reports, overrides and lists.
 *
 * Each test runs in a fresh temporary directory holding main.cf and a
 * log file that captures warnings (log_open_file()).
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "buf.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "str.h"

static char dir[64];
static char logpath[128];
static struct buf err;

static void
setup(void)
{
	(void) str_copy(dir, sizeof(dir), "/tmp/config_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void) str_fmt(logpath, sizeof(logpath), "%s/log", dir);
	log_init("config_test", 0);
	ck_assert_int_eq(log_open_file(logpath), 0);
	buf_init(&err, 256 * 1024);
}

static void
teardown(void)
{
	char    path[128];

	log_close_file();
	buf_free(&err);
	(void) str_fmt(path, sizeof(path), "%s/main.cf", dir);
	(void) unlink(path);
	(void) rmdir(path);
	(void) unlink(logpath);
	ck_assert_int_eq(rmdir(dir), 0);
}

static void
write_file(const char *name, const char *text, size_t len)
{
	char    path[128];
	FILE   *fp;

	(void) str_fmt(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
write_main(const char *text)
{
	write_file("main.cf", text, strlen(text));
}

/* load - write main.cf and load it with overrides */
static struct params *
load_ov(const char *text, const char *const *ov, size_t n)
{
	if (text)
		write_main(text);
	buf_reset(&err);
	return config_load(dir, ov, n, &err);
}

static struct params *
load(const char *text)
{
	return load_ov(text, NULL, 0);
}

/* must_load - load, and fail the test with the error text if that fails */
static struct params *
must_load(const char *text)
{
	struct params *p = load(text);

	ck_assert_msg(p != NULL, "config_load failed: %s", buf_str(&err));
	return p;
}

/* must_fail - load, expect failure whose report contains want */
static void
must_fail(const char *text, const char *want)
{
	struct params *p = load(text);

	ck_assert_msg(p == NULL, "config_load accepted: %.300s", text);
	ck_assert_msg(strstr(buf_str(&err), want) != NULL,
		      "error \"%.1000s\" lacks \"%s\"", buf_str(&err), want);
}

/* logged - the text of the captured log */
static const char *
logged(void)
{
	static char text[64 * 1024];
	ssize_t n;
	int     fd;

	ck_assert_int_ge(fd = open(logpath, O_RDONLY), 0);
	n = read(fd, text, sizeof(text) - 1);
	ck_assert_int_ge(n, 0);
	text[n] = '\0';
	close(fd);
	return text;
}

static int
count_lines(const char *s)
{
	int     n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * The parameter table.
 */

START_TEST(test_table)
{
	ck_assert_uint_gt(param_count, 100);
	for (size_t i = 0; i < param_count; i++) {
		const struct param_info *pi = &param_table[i];

		ck_assert_ptr_eq(param_find(pi->name), pi);
		ck_assert_uint_lt(pi->offset, sizeof(struct params));
		for (size_t j = 0; j < i; j++) {
			ck_assert_str_ne(param_table[j].name, pi->name);
			ck_assert_uint_ne(param_table[j].offset, pi->offset);
		}
		if (pi->type == PT_INT || pi->type == PT_SIZE || pi->type == PT_TIME)
			ck_assert_int_le(pi->min, pi->max);
		if (pi->type == PT_TIME)
			ck_assert_ptr_nonnull(strchr("smhdw", pi->unit));
	}
	ck_assert_ptr_null(param_find("no_such_parameter"));
	ck_assert_ptr_null(param_find(""));
	ck_assert_ptr_null(param_find("MYHOSTNAME"));
	ck_assert_ptr_null(cfg);		/* nothing before config_install() */
}
END_TEST

START_TEST(test_defaults)
{
	struct params *p = must_load("");
	char    want[512];

	ck_assert_str_eq(p->config_directory, dir);
	ck_assert_str_eq(p->queue_directory, "/var/spool/postern");
	ck_assert_int_eq(p->line_length_limit, 2048);
	ck_assert_uint_eq(p->message_size_limit, 10240000);
	ck_assert_uint_eq(p->smtpd_timeout, 300);
	ck_assert_uint_eq(p->maximal_queue_lifetime, 5 * 86400);
	ck_assert_uint_eq(p->delay_warning_time, 0);
	ck_assert_uint_eq(p->lookup_reopen_check_time, 0);
	ck_assert(p->biff == false);
	ck_assert(p->smtpd_per_request_deadline == true);
	ck_assert_str_eq(p->relayhost, "");
	ck_assert_str_eq(p->myorigin, p->myhostname);
	ck_assert_str_ne(p->myhostname, "");
	(void) str_fmt(want, sizeof(want), "%s ESMTP postern", p->myhostname);
	ck_assert_str_eq(p->smtpd_banner, want);
	(void) str_fmt(want, sizeof(want), "%s, localhost.%s, localhost",
		       p->myhostname, p->mydomain);
	ck_assert_str_eq(p->mydestination, want);
	(void) str_fmt(want, sizeof(want), "local:%s", p->myhostname);
	ck_assert_str_eq(p->local_transport, want);
	ck_assert_str_eq(p->local_recipient_maps,
			 "unix:passwd.byname hash:/etc/aliases");
	/* Expanded per delivery by local, so kept as written. */
	ck_assert_str_eq(p->forward_path, "$home/.forward");
	/* No default refers to an unknown name or warns otherwise. */
	ck_assert_str_eq(logged(), "");
	config_free(p);
}
END_TEST

START_TEST(test_hostname_domain)
{
	struct params *p = must_load("");
	const char *dot = strchr(p->myhostname, '.');

	/* The computed defaults agree with each other. */
	if (dot && dot[1])
		ck_assert_str_eq(p->mydomain, dot + 1);
	else
		ck_assert_str_eq(p->mydomain, "localdomain");
	config_free(p);

	p = must_load("myhostname = mail.example.com\n");
	ck_assert_str_eq(p->mydomain, "example.com");
	ck_assert_str_eq(p->myorigin, "mail.example.com");
	config_free(p);

	p = must_load("myhostname = single\n");
	ck_assert_str_eq(p->mydomain, "localdomain");
	config_free(p);

	p = must_load("myhostname = trailing.\nmyorigin = example.com\n");
	ck_assert_str_eq(p->mydomain, "localdomain");
	config_free(p);

	p = must_load("mydomain = example.org\nmyhostname = a.b.example.com\n");
	ck_assert_str_eq(p->mydomain, "example.org");
	config_free(p);
}
END_TEST

/*
 * Syntax.
 */

START_TEST(test_continuation_and_comments)
{
	struct params *p;

	p = must_load("mydestination = a,\n  b,\n\tc\n"
		      "# relayhost = commented\n"
		      "   # indented comment\n"
		      "smtpd_banner = one\n"
		      "# a comment between a line and its continuation\n"
		      "\n"
		      "    two   \n"
		      "mail_name = x # not a comment\n");
	ck_assert_str_eq(p->mydestination, "a, b, c");
	ck_assert_str_eq(p->relayhost, "");
	ck_assert_str_eq(p->smtpd_banner, "one two");
	ck_assert_str_eq(p->mail_name, "x # not a comment");
	config_free(p);

	/* A final line without LF, CR LF line ends, spaces around '='. */
	p = must_load("relayhost=a\r\nmail_name   =   b c  \r\nsyslog_name =");
	ck_assert_str_eq(p->relayhost, "a");
	ck_assert_str_eq(p->mail_name, "b c");
	ck_assert_str_eq(p->syslog_name, "");
	config_free(p);

	/* A value may hold '='. */
	p = must_load("relayhost = a=b\n");
	ck_assert_str_eq(p->relayhost, "a=b");
	config_free(p);
}
END_TEST

START_TEST(test_later_overrides_earlier)
{
	struct params *p = must_load("relayhost = a\nsmtpd_timeout = 5\n"
				     "relayhost = b\nsmtpd_timeout = 7\n");

	ck_assert_str_eq(p->relayhost, "b");
	ck_assert_uint_eq(p->smtpd_timeout, 7);
	config_free(p);
}
END_TEST

START_TEST(test_missing_equals_and_bad_name)
{
	must_fail("relayhost example.com\n",
		  "main.cf, line 1: missing '=' in \"relayhost example.com\"");
	must_fail("\n\nrelay-host = x\n",
		  "main.cf, line 3: bad parameter name \"relay-host\"");
	must_fail("= x\n", "main.cf, line 1: bad parameter name \"\"");
}
END_TEST

START_TEST(test_orphan_continuation_and_nul)
{
	struct params *p;

	must_fail("  relayhost = x\n  more\nmail_name = y\n",
		  "main.cf, line 1: continuation line without a line");
	ck_assert_int_eq(count_lines(buf_str(&err)), 1);

	write_file("main.cf", "relayhost = x\nmail_name = a\0b\n", 30);
	p = load(NULL);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "main.cf, line 2: NUL byte"));
}
END_TEST

START_TEST(test_missing_file)
{
	char    path[128];

	buf_reset(&err);
	ck_assert_ptr_null(config_load(dir, NULL, 0, &err));
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "/main.cf: cannot open: "));
	ck_assert_ptr_nonnull(strstr(buf_str(&err), dir));

	/* A directory in place of main.cf. */
	(void) str_fmt(path, sizeof(path), "%s/main.cf", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	buf_reset(&err);
	ck_assert_ptr_null(config_load(dir, NULL, 0, &err));
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "not a regular file"));
}
END_TEST

START_TEST(test_unknown_parameter_recorded)
{
	struct params *p = must_load("relayhost = x\nno_such_param = 1\n"
				     "smtpd_milters = inet:127.0.0.1:8891\nno_such_param = 2\n");

	ck_assert_str_eq(p->relayhost, "x");
	/* Recorded for postern check, never logged by every program. */
	ck_assert_str_eq(logged(), "");
	ck_assert_uint_eq(p->n_unused, 2);
	ck_assert_str_eq(p->unused[0].name, "no_such_param");
	ck_assert_int_eq(p->unused[0].line, 4);
	ck_assert_str_eq(p->unused[1].name, "smtpd_milters");
	ck_assert_int_eq(p->unused[1].line, 3);
	config_free(p);
}
END_TEST

/* TRANSPORT_SUFFIX names: checked like their fallback, read per transport. */
START_TEST(test_per_transport)
{
	const char *ov[] = {"slow_destination_recipient_limit=3"};
	struct params *p;

	p = must_load("default_destination_concurrency_limit = 7\n"
		      "slow_destination_concurrency_limit = 2\n"
		      "slow_destination_concurrency_limit = 3\n"
		      "relay_initial_destination_concurrency = $local_destination_concurrency_limit\n"
		      "local_destination_concurrency_limit = 4\n");
	/* Not unused: no note from postern check. */
	ck_assert_uint_eq(p->n_unused, 0);
	ck_assert_int_eq(param_transport_int(p, "slow", "_destination_concurrency_limit"), 3);
	ck_assert_int_eq(param_transport_int(p, "smtp", "_destination_concurrency_limit"), 7);
	/* A params.def name is itself, not a member of the family. */
	ck_assert_int_eq(param_transport_int(p, "local", "_destination_concurrency_limit"), 4);
	ck_assert_int_eq(param_transport_int(p, "local", "_destination_recipient_limit"), 1);
	ck_assert_int_eq(param_transport_int(p, "smtp", "_destination_recipient_limit"), 50);
	ck_assert_int_eq(param_transport_int(p, "relay", "_initial_destination_concurrency"), 4);
	ck_assert_int_eq(param_transport_int(p, "smtp", "_initial_destination_concurrency"), 5);
	config_free(p);

	/* -o too. */
	p = load_ov("", ov, 1);
	ck_assert_msg(p != NULL, "%s", buf_str(&err));
	ck_assert_int_eq(param_transport_int(p, "slow", "_destination_recipient_limit"), 3);
	config_free(p);

	/* Bounds and syntax are the fallback's, reported with the name. */
	must_fail("slow_destination_recipient_limit = 1000\n",
		  "line 1: parameter slow_destination_recipient_limit: bad value \"1000\"");
	must_fail("x_destination_concurrency_limit = many\n",
		  "parameter x_destination_concurrency_limit: bad value \"many\"");
	ck_assert_int_eq(param_family_of("slow_destination_concurrency_limit"), 0);
	ck_assert_int_eq(param_family_of("default_destination_concurrency_limit"), -1);
	ck_assert_int_eq(param_family_of("local_destination_concurrency_limit"), -1);
	ck_assert_int_eq(param_family_of("_destination_concurrency_limit"), -1);
	ck_assert_int_eq(param_family_of("smtp_transport_rate_delay"), -1);
}
END_TEST

/* Time and string families: rate delays and concurrency feedback. */
START_TEST(test_per_transport_kinds)
{
	const char *ov[] = {"relay_destination_concurrency_negative_feedback=0"};
	struct params *p;

	p = must_load("default_destination_rate_delay = 2\n"
		      "slow_destination_rate_delay = 1m\n"
		      "slow_destination_concurrency_failed_cohort_limit = 10\n"
		      "slow_destination_concurrency_positive_feedback = 1/4\n"
		      "default_destination_concurrency_negative_feedback = 1\n");
	ck_assert_uint_eq(p->n_unused, 0);
	ck_assert_int_eq(param_family_of("slow_destination_rate_delay"), 3);
	ck_assert_int_eq(param_transport_int(p, "slow", "_destination_rate_delay"), 60);
	ck_assert_int_eq(param_transport_int(p, "smtp", "_destination_rate_delay"), 2);
	ck_assert_int_eq(param_transport_int(p, "slow",
					     "_destination_concurrency_failed_cohort_limit"), 10);
	ck_assert_int_eq(param_transport_int(p, "smtp",
					     "_destination_concurrency_failed_cohort_limit"), 1);
	ck_assert_str_eq(param_transport_str(p, "slow",
					     "_destination_concurrency_positive_feedback"), "1/4");
	ck_assert_str_eq(param_transport_str(p, "smtp",
					     "_destination_concurrency_positive_feedback"),
			 "1/concurrency");
	ck_assert_str_eq(param_transport_str(p, "slow",
					     "_destination_concurrency_negative_feedback"), "1");
	config_free(p);

	p = load_ov("", ov, 1);
	ck_assert_msg(p != NULL, "%s", buf_str(&err));
	ck_assert_str_eq(param_transport_str(p, "relay",
					     "_destination_concurrency_negative_feedback"), "0");
	config_free(p);
	must_fail("slow_destination_rate_delay = soon\n",
		  "parameter slow_destination_rate_delay: bad value \"soon\"");
	must_fail("slow_destination_concurrency_failed_cohort_limit = -1\n",
		  "parameter slow_destination_concurrency_failed_cohort_limit: bad value");
}
END_TEST

/* Postfix's feedback forms: a number, N/M, N/concurrency; 0 .. 1. */
START_TEST(test_feedback_parse)
{
	struct param_feedback fb;
	char	why[256];
	static const struct {
		const char *in;
		double	base;
		bool	per_window;
	}       good[] = {
		{"1", 1, false}, {"0", 0, false}, {"0.25", 0.25, false},
		{"1/concurrency", 1, true}, {" 0.5 / concurrency ", 0.5, true},
		{"1/8", 0.125, false}, {"2/4", 0.5, false}, {"0/concurrency", 0, true},
	};
	static const char *const bad[] = {"", "x", "2", "1/0", "3/2", "1/conc",
		"-1", "1/concurrency/2", "0.5.5", "1e3", "2/concurrency", NULL};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(param_feedback_parse(good[i].in, &fb, why, sizeof(why)) == 0,
			      "%s: %s", good[i].in, why);
		ck_assert_msg(fb.base > good[i].base - 1e-12 && fb.base < good[i].base + 1e-12,
			      "%s: %f", good[i].in, fb.base);
		ck_assert_int_eq(fb.per_window, good[i].per_window);
	}
	for (int i = 0; bad[i]; i++)
		ck_assert_msg(param_feedback_parse(bad[i], &fb, why, sizeof(why)) < 0,
			      "accepted \"%s\"", bad[i]);
	ck_assert(param_feedback_parse("3/2", &fb, why, sizeof(why)) < 0);
	ck_assert_msg(strstr(why, "more than 1") != NULL, "%s", why);
	/* Applied: N/concurrency divides by the window (at least 1). */
	ck_assert(param_feedback_parse("1/concurrency", &fb, why, sizeof(why)) == 0);
	ck_assert(param_feedback_value(&fb, 4) == 0.25);
	ck_assert(param_feedback_value(&fb, 0) == 1);
	ck_assert(param_feedback_parse("0.5", &fb, why, sizeof(why)) == 0);
	ck_assert(param_feedback_value(&fb, 4) == 0.5);
}
END_TEST

START_TEST(test_myorigin_file)
{
	char    text[256];
	struct params *p;

	write_file("mailname", "  mail.example.org  \nsecond.example\n", 36);
	(void) str_fmt(text, sizeof(text), "myorigin = %s/mailname\n", dir);
	p = must_load(text);
	ck_assert_str_eq(p->myorigin, "mail.example.org");
	config_free(p);
	/* Expanded first: $config_directory/mailname works too. */
	p = must_load("myorigin = $config_directory/mailname\n");
	ck_assert_str_eq(p->myorigin, "mail.example.org");
	config_free(p);

	write_file("mailname", "not a domain\n", 13);
	must_fail(text, "parameter myorigin: \"not a domain\" is not a domain name");
	write_file("mailname", "", 0);
	must_fail(text, "parameter myorigin: \"\" is not a domain name");
	(void) str_fmt(text, sizeof(text), "myorigin = %s/absent\n", dir);
	must_fail(text, "absent: cannot open");
	must_fail(text, "names a file whose first line is the domain");
	must_fail("myorigin = /etc/mailname junk\n", "parameter myorigin");
	must_fail("myorigin = host@example.com\n", "is not a domain name");
	must_fail("myorigin =\n", "parameter myorigin: \"\" is not a domain name");
	(void) str_fmt(text, sizeof(text), "%s/mailname", dir);
	(void) unlink(text);
}
END_TEST

START_TEST(test_config_directory_forced)
{
	struct params *p = must_load("config_directory = /elsewhere\n");

	ck_assert_str_eq(p->config_directory, dir);
	ck_assert_ptr_nonnull(strstr(logged(), "line 1: config_directory ignored"));
	config_free(p);
}
END_TEST

/*
 * Expansion.
 */

START_TEST(test_expansion_forms)
{
	struct params *p;

	p = must_load("myhostname = h.example.com\n"
		      "relayhost = $myhostname\n"
		      "smtpd_banner = ${myhostname} $(mail_name)!\n"
		      "recipient_delimiter = +\n"
		      "home_mailbox = ${recipient_delimiter?set}${recipient_delimiter:unset}\n"
		      "mailbox_delivery_lock = ${relay_domains?set}${relay_domains:unset}\n"
		      "mail_name = a$$b\n"
		      "default_transport = x$(recipient_delimiter?[$mydomain])y\n"
		      "relay_transport = ${relay_domains:${myhostname?$(mydomain)}}\n"
		      "double_bounce_sender = $syslog_name\n"
		      "syslog_name = late\n"
		      "bounce_notice_recipient = $relayhost-$myhostname_x\n");
	ck_assert_str_eq(p->relayhost, "h.example.com");
	ck_assert_str_eq(p->smtpd_banner, "h.example.com a$b!");
	ck_assert_str_eq(p->home_mailbox, "set");
	ck_assert_str_eq(p->mailbox_delivery_lock, "unset");
	ck_assert_str_eq(p->mail_name, "a$b");
	ck_assert_str_eq(p->default_transport, "x[example.com]y");
	ck_assert_str_eq(p->relay_transport, "example.com");
	/* Order does not matter: a later line is seen by an earlier one. */
	ck_assert_str_eq(p->double_bounce_sender, "late");
	/* A name is the longest run of name characters. */
	ck_assert_str_eq(p->bounce_notice_recipient, "h.example.com-");
	ck_assert_ptr_nonnull(strstr(logged(), "unknown parameter $myhostname_x"));
	config_free(p);

	/* Numbers expand too, then convert. */
	p = must_load("smtpd_soft_error_limit = 7\n"
		      "smtpd_hard_error_limit = ${smtpd_soft_error_limit}\n"
		      "message_size_limit = ${smtpd_soft_error_limit}m\n");
	ck_assert_int_eq(p->smtpd_hard_error_limit, 7);
	ck_assert_uint_eq(p->message_size_limit, 7 * 1024 * 1024);
	config_free(p);
}
END_TEST

START_TEST(test_unknown_reference)
{
	struct params *p = must_load("relayhost = [$nosuch]${nosuch2?x}\n");

	ck_assert_str_eq(p->relayhost, "[]");
	ck_assert_ptr_nonnull(strstr(logged(), "main.cf, line 1: parameter relayhost: "
				     "unknown parameter $nosuch expands to nothing"));
	ck_assert_ptr_nonnull(strstr(logged(), "unknown parameter $nosuch2"));
	config_free(p);
}
END_TEST

START_TEST(test_expansion_syntax_errors)
{
	must_fail("relayhost = ${mail_name\n",
		  "main.cf, line 1: parameter relayhost: missing '}' after \"${mail_name\"");
	must_fail("relayhost = $(mail_name?x\n", "missing ')'");
	must_fail("\nrelayhost = a$\n",
		  "main.cf, line 2: parameter relayhost: '$' at the end");
	must_fail("relayhost = $-\n", "'$' not followed by a parameter name");
	must_fail("relayhost = ${}\n", "\"${\" not followed by a parameter name");
	must_fail("relayhost = ${mail_name!x}\n", "unexpected '!' after \"${mail_name\"");
	/* A '$' in a number is only expanded, never taken literally. */
	must_fail("smtpd_timeout = 1$$\n", "bad value \"1$\"");
}
END_TEST

START_TEST(test_loops)
{
	must_fail("relayhost = $mail_name\nmail_name = x${relayhost}\n",
		  "main.cf, line 1: parameter relayhost: expansion loop "
		  "relayhost -> mail_name -> relayhost");
	ck_assert_int_eq(count_lines(buf_str(&err)), 1);

	must_fail("# self\nrelayhost = a $relayhost\n",
		  "main.cf, line 2: parameter relayhost: expansion loop "
		  "relayhost -> relayhost");

	/* A loop through a default is blamed on the line that made it. */
	must_fail("myhostname = $myorigin\n",
		  "main.cf, line 1: parameter myhostname: expansion loop "
		  "myhostname -> myorigin -> myhostname");
	must_fail("myhostname = x.$mydomain\n",
		  "main.cf, line 1: parameter myhostname: expansion loop "
		  "myhostname -> mydomain -> myhostname");

	/* A reference inside unused conditional text is not followed. */
	struct params *p = must_load("relayhost = ${relay_domains?$relayhost}\n");

	ck_assert_str_eq(p->relayhost, "");
	config_free(p);
}
END_TEST

START_TEST(test_expansion_bounds)
{
	struct buf text;
	struct params *p;
	int     k;

	/* The value bound: exactly CONFIG_VALUE_MAX, then one more. */
	buf_init(&text, 256 * 1024);
	buf_puts(&text, "mail_name = ");
	for (k = 0; k < CONFIG_VALUE_MAX / 2; k++)
		buf_putc(&text, 'x');
	buf_puts(&text, "\nrelayhost = ${mail_name}${mail_name}\n");
	p = must_load(buf_str(&text));
	ck_assert_uint_eq(strlen(p->relayhost), CONFIG_VALUE_MAX);
	config_free(p);
	buf_truncate(&text, text.len - 1);
	buf_puts(&text, "y\n");
	must_fail(buf_str(&text), "main.cf, line 2: parameter relayhost: value "
		  "longer than 65536 bytes after expansion");

	/* Exponential growth stops at the bound, quickly. */
	must_fail("mail_name = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
		  "relayhost = $mail_name$mail_name$mail_name$mail_name\n"
		  "relay_transport = $relayhost$relayhost$relayhost$relayhost\n"
		  "default_transport = $relay_transport$relay_transport$relay_transport$relay_transport\n"
		  "smtpd_banner = $default_transport$default_transport$default_transport$default_transport\n"
		  "home_mailbox = $smtpd_banner$smtpd_banner$smtpd_banner$smtpd_banner\n",
		  "parameter home_mailbox: value longer than");

	/*
	 * Nesting: the value's own text is level 1, each conditional adds
	 * one; CONFIG_DEPTH_MAX levels pass, one more does not.
	 */
	for (int depth = CONFIG_DEPTH_MAX - 1; depth <= CONFIG_DEPTH_MAX; depth++) {
		buf_reset(&text);
		buf_puts(&text, "smtpd_banner = ");
		for (k = 0; k < depth; k++)
			buf_puts(&text, "${maillog_file:");
		buf_putc(&text, 'z');
		for (k = 0; k < depth; k++)
			buf_putc(&text, '}');
		buf_putc(&text, '\n');
		if (depth < CONFIG_DEPTH_MAX) {
			p = must_load(buf_str(&text));
			ck_assert_str_eq(p->smtpd_banner, "z");
			config_free(p);
		} else {
			must_fail(buf_str(&text), "parameter smtpd_banner: $name "
				  "references nested more than 100 deep");
		}
	}
	buf_free(&text);
}
END_TEST

/*
 * Types and bounds.
 */

struct value_case {
	const char *text;		/* one main.cf line */
	const char *name;		/* parameter to look at */
	long long want;			/* its value; -1: load must fail */
};

static const struct value_case value_cases[] = {
	/* PT_INT: line_length_limit 512 .. 1048576 */
	{"line_length_limit = 512", "line_length_limit", 512},
	{"line_length_limit = 511", "line_length_limit", -1},
	{"line_length_limit = 1048576", "line_length_limit", 1048576},
	{"line_length_limit = 1048577", "line_length_limit", -1},
	{"line_length_limit = 1k", "line_length_limit", -1},
	{"line_length_limit = ", "line_length_limit", -1},
	{"line_length_limit = -600", "line_length_limit", -1},
	{"line_length_limit = 99999999999999999999999", "line_length_limit", -1},
	/* PT_SIZE: header_size_limit 1024 .. 1 GiB */
	{"header_size_limit = 1024", "header_size_limit", 1024},
	{"header_size_limit = 1023", "header_size_limit", -1},
	{"header_size_limit = 1k", "header_size_limit", 1024},
	{"header_size_limit = 1g", "header_size_limit", 1073741824},
	{"header_size_limit = 1073741824", "header_size_limit", 1073741824},
	{"header_size_limit = 1073741825", "header_size_limit", -1},
	{"header_size_limit = 2G", "header_size_limit", -1},
	{"header_size_limit = 10x", "header_size_limit", -1},
	{"header_size_limit = 10kb", "header_size_limit", -1},
	{"message_size_limit = 0", "message_size_limit", 0},
	/* PT_TIME: ipc_timeout 1s .. 86400s, bare number in seconds */
	{"ipc_timeout = 86400", "ipc_timeout", 86400},
	{"ipc_timeout = 1d", "ipc_timeout", 86400},
	{"ipc_timeout = 1440m", "ipc_timeout", 86400},
	{"ipc_timeout = 86401", "ipc_timeout", -1},
	{"ipc_timeout = 86401s", "ipc_timeout", -1},
	{"ipc_timeout = 2d", "ipc_timeout", -1},
	{"ipc_timeout = 0", "ipc_timeout", -1},
	{"ipc_timeout = 1s", "ipc_timeout", 1},
	{"ipc_timeout = 5y", "ipc_timeout", -1},
	{"ipc_timeout = 5 s", "ipc_timeout", -1},
	{"ipc_timeout = 1w", "ipc_timeout", -1},
	{"lookup_reopen_check_time = 0", "lookup_reopen_check_time", 0},
	/* a bare number counts in the parameter's own unit */
	{"maximal_queue_lifetime = 2", "maximal_queue_lifetime", 2 * 86400},
	{"maximal_queue_lifetime = 1w", "maximal_queue_lifetime", 7 * 86400},
	{"maximal_queue_lifetime = 100", "maximal_queue_lifetime", 100 * 86400},
	{"maximal_queue_lifetime = 101", "maximal_queue_lifetime", -1},
	{"delay_warning_time = 3", "delay_warning_time", 3 * 3600},
	/* PT_BOOL */
	{"biff = yes", "biff", 1},
	{"biff = true", "biff", 1},
	{"biff = ON", "biff", 1},
	{"biff = no", "biff", 0},
	{"biff = 0", "biff", 0},
	{"biff = maybe", "biff", -1},
	{"biff = ", "biff", -1},
};

START_TEST(test_values)
{
	const struct value_case *vc = &value_cases[_i];
	const struct param_info *pi = param_find(vc->name);
	struct params *p;
	char    text[256];
	const char *f;

	ck_assert_ptr_nonnull(pi);
	(void) str_fmt(text, sizeof(text), "# comment\n%s\n", vc->text);
	p = load(text);
	if (vc->want < 0) {
		ck_assert_msg(p == NULL, "accepted: %s", vc->text);
		(void) str_fmt(text, sizeof(text), "main.cf, line 2: parameter %s: "
			       "bad value \"", vc->name);
		ck_assert_msg(strstr(buf_str(&err), text) != NULL,
			      "%s: error \"%s\"", vc->text, buf_str(&err));
		/* Every message says what to do. */
		ck_assert_ptr_nonnull(strstr(buf_str(&err), "(use "));
		return;
	}
	ck_assert_msg(p != NULL, "%s: %s", vc->text, buf_str(&err));
	f = (const char *) p + pi->offset;
	switch (pi->type) {
	case PT_INT:
		ck_assert_int_eq(*(const long long *) (const void *) f, vc->want);
		break;
	case PT_SIZE:
	case PT_TIME:
		ck_assert_uint_eq(*(const uint64_t *) (const void *) f,
				  (uint64_t) vc->want);
		break;
	case PT_BOOL:
		ck_assert_int_eq(*(const bool *) (const void *) f, vc->want);
		break;
	default:
		ck_abort_msg("no string cases here");
	}
	config_free(p);
}
END_TEST

START_TEST(test_all_errors_with_lines)
{
	const char *e;

	must_fail("relayhost = ok\n"
		  "smtpd_timeout = never\n"		/* line 2 */
		  "mydestination = a,\n"
		  "   b\n"
		  "biff = perhaps\n"			/* line 5 */
		  "what is this\n"			/* line 6 */
		  "unknown_one = 1\n"
		  "mail_name = ${x\n",			/* line 8 */
		  "line 2: parameter smtpd_timeout: bad value \"never\": not a number");
	e = buf_str(&err);
	ck_assert_ptr_nonnull(strstr(e, "main.cf, line 5: parameter biff: bad value \"perhaps\""));
	ck_assert_ptr_nonnull(strstr(e, "main.cf, line 6: missing '='"));
	ck_assert_ptr_nonnull(strstr(e, "main.cf, line 8: parameter mail_name: missing '}'"));
	ck_assert_int_eq(count_lines(e), 4);
	ck_assert_ptr_null(strstr(logged(), "unknown_one"));
}
END_TEST

START_TEST(test_line_bound)
{
	struct buf text;
	struct params *p;
	const char *head = "smtpd_banner = ";
	size_t  fill = CONFIG_LINE_MAX - strlen(head);

	buf_init(&text, 256 * 1024);
	buf_puts(&text, "relayhost = a\n");
	buf_puts(&text, head);
	for (size_t k = 0; k < fill; k++)
		buf_putc(&text, 'b');
	buf_putc(&text, '\n');
	p = must_load(buf_str(&text));			/* exactly the bound */
	ck_assert_uint_eq(strlen(p->smtpd_banner), fill);
	config_free(p);

	buf_truncate(&text, text.len - 1);
	buf_puts(&text, "c\nmail_name = fine\n");	/* one past */
	must_fail(buf_str(&text), "main.cf, line 2: logical line longer than 65536 bytes");

	/* Continuations count, joined with one space. */
	buf_reset(&text);
	buf_puts(&text, head);
	for (size_t k = 0; k < fill - 2; k++)
		buf_putc(&text, 'b');
	buf_puts(&text, "\n  c\n");
	p = must_load(buf_str(&text));
	ck_assert_uint_eq(strlen(p->smtpd_banner), fill);
	config_free(p);
	buf_truncate(&text, text.len - 1);
	buf_puts(&text, "d\n");
	must_fail(buf_str(&text), "main.cf, line 1: logical line longer");
	buf_free(&text);
}
END_TEST

START_TEST(test_settings_bound)
{
	struct buf text;
	struct params *p;
	const char *ov[] = {"biff = yes"};

	buf_init(&text, 1024 * 1024);
	for (int k = 0; k < CONFIG_SETTINGS_MAX; k++)
		buf_puts(&text, "biff = no\n");
	p = must_load(buf_str(&text));
	config_free(p);
	ck_assert_ptr_null(load_ov(buf_str(&text), ov, 1));
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "-o \"biff = yes\": more than 10000 settings"));
	buf_puts(&text, "biff = no\n");
	must_fail(buf_str(&text), "main.cf, line 10001: more than 10000 settings");
	buf_free(&text);
}
END_TEST

START_TEST(test_file_bound)
{
	char   *text = xmalloc(CONFIG_FILE_MAX + 1);
	struct params *p;

	/* Exactly CONFIG_FILE_MAX bytes of comments, then one more. */
	memset(text, 'x', CONFIG_FILE_MAX + 1);
	for (size_t k = 0; k < CONFIG_FILE_MAX; k += 1024) {
		text[k] = '#';
		text[k + 1023] = '\n';
	}
	write_file("main.cf", text, CONFIG_FILE_MAX);
	p = load(NULL);
	ck_assert_msg(p != NULL, "%s", buf_str(&err));
	config_free(p);
	write_file("main.cf", text, CONFIG_FILE_MAX + 1);
	ck_assert_ptr_null(load(NULL));
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "main.cf: larger than 16777216 bytes"));
	free(text);
}
END_TEST

START_TEST(test_the_sample_file)
{
	struct buf text;
	struct params *p;
	char    line[1024];
	FILE   *fp;
	int     n = 0;

	/* conf/main.cf loads, quietly; tests run from the top directory. */
	if ((fp = fopen("conf/main.cf", "r")) == NULL)
		return;
	buf_reset(&err);
	p = config_load("conf", NULL, 0, &err);
	ck_assert_msg(p != NULL, "%s", buf_str(&err));
	ck_assert_str_eq(logged(), "");
	config_free(p);

	/* Every example in it is valid when uncommented. */
	buf_init(&text, 256 * 1024);
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t  name = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");

		if (line[0] == '#' && name > 0 && line[1 + name] == ' '
		    && line[2 + name] == '=') {
			buf_puts(&text, line + 1);
			n++;
		}
	}
	fclose(fp);
	ck_assert_int_gt(n, 10);
	p = must_load(buf_str(&text));
	ck_assert_str_eq(logged(), "");
	config_free(p);
	buf_free(&text);
}
END_TEST

/*
 * Overrides.
 */

START_TEST(test_overrides)
{
	const char *ov[] = {"relayhost=[mx]:25", " smtpd_timeout = 10s ",
			    "mail_name=$relayhost", "smtpd_banner="};
	struct params *p;

	p = load_ov("relayhost = x\nsmtpd_timeout = 5\n", ov, 4);
	ck_assert_msg(p != NULL, "%s", buf_str(&err));
	ck_assert_str_eq(p->relayhost, "[mx]:25");
	ck_assert_uint_eq(p->smtpd_timeout, 10);
	ck_assert_str_eq(p->mail_name, "[mx]:25");
	ck_assert_str_eq(p->smtpd_banner, "");
	config_free(p);
}
END_TEST

/*
 * User-defined parameters: a main.cf name params.def does not have is
 * expanded where $name refers to it, in main.cf and in -o values
 * (Debian's master.cf: -o smtpd_client_restrictions=$mua_client_restrictions).
 */
START_TEST(test_user_defined)
{
	const char *ov[] = {"smtpd_banner=$mua_banner_text"};
	struct params *p;

	p = load_ov("mua_banner_text = $myhostname ESMTP ready\n"
		    "myhostname = mx.example.org\n"
		    "mail_name = ${my_name}\nmy_name = ${my_base}x\nmy_base = P\n",
		    ov, 1);
	ck_assert_msg(p != NULL, "%s", buf_str(&err));
	ck_assert_str_eq(p->smtpd_banner, "mx.example.org ESMTP ready");
	ck_assert_str_eq(p->mail_name, "Px");
	for (size_t k = 0; k < p->n_unused; k++)
		ck_assert_msg(p->unused[k].used, "%s not marked used", p->unused[k].name);
	config_free(p);

	/* Set but never referred to: kept, not used (postern check notes it). */
	p = must_load("never_referenced = 1\n");
	ck_assert_uint_eq(p->n_unused, 1);
	ck_assert(!p->unused[0].used);
	config_free(p);

	/* A loop through user-defined names is an error, not a crash. */
	must_fail("loop_a = $loop_b\nloop_b = x$loop_a\nmail_name = $loop_a\n",
		  "refers back to itself");
	must_fail("loop_a = $mail_name\nmail_name = $loop_a\n", "loop");
	/* An undefined name still expands to nothing (with a warning). */
	p = must_load("mail_name = a${not_set_anywhere}b\n");
	ck_assert_str_eq(p->mail_name, "ab");
	config_free(p);
}
END_TEST

START_TEST(test_bad_overrides)
{
	const char *ov[] = {"nosuch=1", "smtpd_timeout=abc", "relayhost",
			    "biff=yes", "mail_name=$", "config_directory=/x",
			    "smtpd_milters=inet:127.0.0.1:8891",
			    "readme_directory=no"};
	const char *e;
	struct params *p;

	p = load_ov("", ov, 8);
	ck_assert_ptr_null(p);
	e = buf_str(&err);
	ck_assert_ptr_nonnull(strstr(e, "-o \"nosuch=1\": unknown parameter \"nosuch\""));
	ck_assert_ptr_nonnull(strstr(e, "-o \"smtpd_milters=inet:127.0.0.1:8891\": "
				     "smtpd_milters is not supported yet (milters)"));
	ck_assert_ptr_nonnull(strstr(e, "-o \"smtpd_timeout=abc\": parameter smtpd_timeout: "
				     "bad value \"abc\": not a number"));
	ck_assert_ptr_nonnull(strstr(e, "-o \"relayhost\": missing '='"));
	ck_assert_ptr_nonnull(strstr(e, "-o \"mail_name=$\": parameter mail_name: '$' at the end"));
	/* readme_directory is ignored: postern check notes it. */
	ck_assert_int_eq(count_lines(e), 5);
	ck_assert_ptr_nonnull(strstr(logged(), "config_directory ignored"));
}
END_TEST

/*
 * Helpers.
 */

START_TEST(test_value_string)
{
	struct params *p = must_load("relayhost = [mx]\nbiff = yes\n");
	struct buf out;

	buf_init(&out, 64);
	ck_assert_int_eq(config_value_string(p, param_find("relayhost"), &out), 0);
	ck_assert_str_eq(buf_str(&out), "[mx]");
	buf_reset(&out);
	ck_assert_int_eq(config_value_string(p, param_find("line_length_limit"), &out), 0);
	ck_assert_str_eq(buf_str(&out), "2048");
	buf_reset(&out);
	ck_assert_int_eq(config_value_string(p, param_find("message_size_limit"), &out), 0);
	ck_assert_str_eq(buf_str(&out), "10240000");
	buf_reset(&out);
	ck_assert_int_eq(config_value_string(p, param_find("maximal_queue_lifetime"), &out), 0);
	ck_assert_str_eq(buf_str(&out), "432000s");
	buf_reset(&out);
	ck_assert_int_eq(config_value_string(p, param_find("biff"), &out), 0);
	ck_assert_str_eq(buf_str(&out), "yes");
	ck_assert_int_eq(config_value_string(p, param_find("smtpd_helo_required"), &out), 0);
	ck_assert_str_eq(buf_str(&out), "yesno");	/* appends */
	buf_free(&out);

	/* No room: -1 and out unchanged. */
	buf_init(&out, 3);
	ck_assert_int_eq(config_value_string(p, param_find("line_length_limit"), &out), -1);
	ck_assert_str_eq(buf_str(&out), "");
	buf_free(&out);

	/* Every parameter formats to text that loads back to the same value. */
	{
		struct buf all;
		struct params *q;

		buf_init(&all, 1024 * 1024);
		for (size_t i = 0; i < param_count; i++) {
			if (str_eq(param_table[i].name, "config_directory"))
				continue;
			buf_appendf(&all, "%s = ", param_table[i].name);
			if ((param_table[i].type == PT_STR || param_table[i].type == PT_LIST)
			    && !str_eq(param_table[i].name, "forward_path")
			    && !str_eq(param_table[i].name, "mailbox_command")) {
				/* re-escape '$' so that the text reads back as is */
				const char *v = *(const char *const *) (const void *)
					((const char *) p + param_table[i].offset);

				for (; *v; v++)
					if (*v == '$')
						buf_puts(&all, "$$");
					else
						buf_putc(&all, *v);
			} else {
				ck_assert_int_eq(config_value_string(p, &param_table[i], &all), 0);
			}
			buf_putc(&all, '\n');
		}
		q = must_load(buf_str(&all));
		for (size_t i = 0; i < param_count; i++) {
			struct buf a, b;

			buf_init(&a, 128 * 1024);
			buf_init(&b, 128 * 1024);
			config_value_string(p, &param_table[i], &a);
			config_value_string(q, &param_table[i], &b);
			ck_assert_str_eq(buf_str(&a), buf_str(&b));
			buf_free(&a);
			buf_free(&b);
		}
		config_free(q);
		buf_free(&all);
	}
	config_free(p);
}
END_TEST

START_TEST(test_check_value)
{
	char    why[512];

	ck_assert_int_eq(config_check_value(param_find("smtpd_timeout"), "10s", why, sizeof(why)), 0);
	ck_assert_int_eq(config_check_value(param_find("smtpd_timeout"), "10x", why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "bad unit (use a time from 1s to 86400s"));
	ck_assert_int_eq(config_check_value(param_find("smtpd_timeout"), "$x", why, sizeof(why)), 0);
	ck_assert_int_eq(config_check_value(param_find("max_use"), "0", why, sizeof(why)), -1);
	ck_assert_str_eq(why, "out of range (use a whole number from 1 to 1000000)");
	ck_assert_int_eq(config_check_value(param_find("biff"), "nah", why, sizeof(why)), -1);
	ck_assert_int_eq(config_check_value(param_find("relayhost"), "any thing", why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_install)
{
	struct params *p = must_load("relayhost = installed\n");

	config_install(p);
	ck_assert_ptr_eq(cfg, p);
	ck_assert_str_eq(cfg->relayhost, "installed");
	config_install(NULL);
	ck_assert_ptr_null(cfg);
	config_free(p);
	config_free(NULL);
}
END_TEST

START_TEST(test_list_split)
{
	char  **v;
	int     n;

	n = config_list_split("a, b  c,,d\te\n", 10, &v);
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(v[0], "a");
	ck_assert_str_eq(v[1], "b");
	ck_assert_str_eq(v[2], "c");
	ck_assert_str_eq(v[3], "d");
	ck_assert_str_eq(v[4], "e");
	ck_assert_ptr_null(v[5]);
	config_list_free(v, n);

	/* Exactly max, then one past. */
	n = config_list_split("x,y,z", 3, &v);
	ck_assert_int_eq(n, 3);
	config_list_free(v, n);
	v = (char **) 1;
	ck_assert_int_eq(config_list_split("x,y,z", 2, &v), -1);
	ck_assert_ptr_null(v);

	/* Empty lists. */
	n = config_list_split("", 0, &v);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_null(v[0]);
	config_list_free(v, n);
	n = config_list_split(" , ,\t", 5, &v);
	ck_assert_int_eq(n, 0);
	config_list_free(v, n);
	config_list_free(NULL, -1);

	n = config_list_split("only", 1, &v);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(v[0], "only");
	config_list_free(v, n);
}
END_TEST

START_TEST(test_list_contains)
{
	const char *list = "$myhostname, Localhost.Example.COM localhost";

	ck_assert(config_list_contains(list, "localhost.example.com"));
	ck_assert(config_list_contains(list, "LOCALHOST"));
	ck_assert(config_list_contains(list, "$myhostname"));
	ck_assert(!config_list_contains(list, "local"));
	ck_assert(!config_list_contains(list, "localhostx"));
	ck_assert(!config_list_contains(list, ""));
	ck_assert(!config_list_contains("", "a"));
	ck_assert(!config_list_contains(" , ", ""));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("config");
	TCase  *tp = tcase_create("params");
	TCase  *tc = tcase_create("load");
	TCase  *th = tcase_create("helpers");

	tcase_add_test(tp, test_table);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_hostname_domain);
	tcase_add_test(tc, test_continuation_and_comments);
	tcase_add_test(tc, test_later_overrides_earlier);
	tcase_add_test(tc, test_missing_equals_and_bad_name);
	tcase_add_test(tc, test_orphan_continuation_and_nul);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_unknown_parameter_recorded);
	tcase_add_test(tc, test_per_transport);
	tcase_add_test(tc, test_per_transport_kinds);
	tcase_add_test(tc, test_feedback_parse);
	tcase_add_test(tc, test_myorigin_file);
	tcase_add_test(tc, test_config_directory_forced);
	tcase_add_test(tc, test_expansion_forms);
	tcase_add_test(tc, test_unknown_reference);
	tcase_add_test(tc, test_expansion_syntax_errors);
	tcase_add_test(tc, test_loops);
	tcase_add_test(tc, test_expansion_bounds);
	tcase_add_loop_test(tc, test_values, 0,
			    (int) (sizeof(value_cases) / sizeof(value_cases[0])));
	tcase_add_test(tc, test_all_errors_with_lines);
	tcase_add_test(tc, test_line_bound);
	tcase_add_test(tc, test_settings_bound);
	tcase_add_test(tc, test_file_bound);
	tcase_add_test(tc, test_the_sample_file);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_bad_overrides);
	tcase_add_test(tc, test_user_defined);
	tcase_add_test(tc, test_value_string);
	tcase_add_test(tc, test_install);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(th, setup, teardown);
	tcase_add_test(th, test_check_value);
	tcase_add_test(th, test_list_split);
	tcase_add_test(th, test_list_contains);
	suite_add_tcase(s, th);
	return s;
}

CHECK_MAIN(suite)
