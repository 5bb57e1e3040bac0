/*
 * mastercf_test - check suite for lib/svc/mastercf: fields and their
 * defaults, inet addresses, -o options, duplicates, continuation lines,
 * error reports and bounds.
 *
 * Each test writes master.cf into a fresh temporary directory.  The
 * parameter set comes from config_load() of an empty main.cf with
 * default_process_limit = 7, so that a "-" maxproc is recognisable.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "buf.h"
#include "config.h"
#include "log.h"
#include "mastercf.h"
#include "str.h"

static char dir[64];
static char path[128];
static struct buf err;
static struct params *params;
static struct mastercf mc;

static void
write_file(const char *name, const char *text)
{
	char    p[128];
	FILE   *fp;

	(void) str_fmt(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(p, "w"));
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
setup(void)
{
	const char *ov[] = {"default_process_limit=7"};

	(void) str_copy(dir, sizeof(dir), "/tmp/mastercf_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void) str_fmt(path, sizeof(path), "%s/master.cf", dir);
	log_init("mastercf_test", 0);
	buf_init(&err, 256 * 1024);
	write_file("main.cf", "myhostname = test.example\n");
	params = config_load(dir, ov, 1, &err);
	ck_assert_msg(params != NULL, "%s", buf_str(&err));
	memset(&mc, 0, sizeof(mc));
}

static void
teardown(void)
{
	char    p[128];

	mastercf_free(&mc);
	config_free(params);
	buf_free(&err);
	(void) unlink(path);
	(void) str_fmt(p, sizeof(p), "%s/main.cf", dir);
	(void) unlink(p);
	ck_assert_int_eq(rmdir(dir), 0);
}

static void
write_master(const char *text)
{
	FILE   *fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
}

/* must_load - load text; fail the test with the report if that fails */
static void
must_load(const char *text)
{
	mastercf_free(&mc);
	write_master(text);
	buf_reset(&err);
	ck_assert_msg(mastercf_load(path, params, &mc, &err) == 0,
		      "mastercf_load failed: %.2000s", buf_str(&err));
	ck_assert_str_eq(buf_str(&err), "");
}

/* must_fail - load text; expect failure whose report contains want */
static void
must_fail(const char *text, const char *want)
{
	mastercf_free(&mc);
	write_master(text);
	buf_reset(&err);
	ck_assert_msg(mastercf_load(path, params, &mc, &err) == -1,
		      "mastercf_load accepted: %.300s", text);
	ck_assert_msg(strstr(buf_str(&err), want) != NULL,
		      "error \"%.2000s\" lacks \"%s\"", buf_str(&err), want);
	/* Nothing is returned after a failure. */
	ck_assert_ptr_null(mc.v);
	ck_assert_uint_eq(mc.n, 0);
}

static int
count_lines(const char *s)
{
	int     n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The default table of conf/master.cf. */
static const char default_table[] =
	"# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
	"#               (yes)   (yes)   (yes)   (never) (100)\n"
	"# ==========================================================================\n"
	"smtp      inet  n       -       y       -       -       smtpd\n"
	"cleanup   unix  -       -       y       -       0       cleanup\n"
	"lookup    unix  -       -       n       -       1       lookup\n"
	"qmgr      fifo  n       -       y       300     1       qmgr\n"
	"local     unix  -       n       n       -       -       local\n"
	"pickup    fifo  n       -       y       60      1       pickup\n"
	"showq     unix  n       -       y       -       -       showq\n"
	"smtp      unix  -       -       y       -       1       smtp\n"
	"relay     unix  -       -       y       -       1       smtp\n"
	"discard   unix  -       -       y       -       -       discard\n"
	"error     unix  -       -       y       -       -       error\n"
	"anvil     unix  -       -       y       -       1       anvil\n";

START_TEST(test_default_table)
{
	const struct mastercf_entry *e;

	must_load(default_table);
	ck_assert_uint_eq(mc.n, 12);

	e = &mc.v[0];
	ck_assert_str_eq(e->name, "smtp");
	ck_assert_int_eq(e->type, SVC_INET);
	ck_assert(!e->private_ && e->unpriv && e->chroot);
	ck_assert_int_eq(e->wakeup, 0);
	ck_assert(!e->wakeup_if_used);
	/* "-": one per CPU for smtpd (the master decides) */
	ck_assert(e->maxproc_default);
	ck_assert_ptr_null(e->host);
	ck_assert_str_eq(e->port, "25");
	ck_assert_int_eq(e->argc, 1);
	ck_assert_str_eq(e->argv[0], "smtpd");
	ck_assert_ptr_null(e->argv[1]);
	ck_assert_int_eq(e->n_overrides, 0);
	ck_assert_ptr_null(e->overrides[0]);
	ck_assert_int_eq(e->line, 4);

	e = &mc.v[1];
	ck_assert_int_eq(e->type, SVC_UNIX);
	ck_assert(e->private_ && e->unpriv && e->chroot);
	ck_assert_int_eq(e->maxproc, 0);
	ck_assert_ptr_null(e->host);
	ck_assert_ptr_null(e->port);

	e = &mc.v[2];
	ck_assert_str_eq(e->name, "lookup");
	ck_assert(e->private_ && e->unpriv && !e->chroot);

	e = &mc.v[3];
	ck_assert_int_eq(e->type, SVC_FIFO);
	ck_assert_int_eq(e->wakeup, 300);
	ck_assert(!e->wakeup_if_used);

	e = &mc.v[4];
	ck_assert_str_eq(e->name, "local");
	ck_assert(e->private_ && !e->unpriv && !e->chroot);
	ck_assert_int_eq(e->maxproc, 7);	/* default_process_limit */
	ck_assert_int_eq(e->line, 8);

	e = &mc.v[5];
	ck_assert_str_eq(e->name, "pickup");
	ck_assert(!e->private_ && e->unpriv && e->chroot);
	ck_assert_int_eq(e->wakeup, 60);

	e = &mc.v[6];
	ck_assert_str_eq(e->argv[0], "showq");
	ck_assert(!e->private_);
	ck_assert_int_eq(e->maxproc, 7);
	ck_assert_int_eq(e->line, 10);

	/* The SMTP client: a unix service named like the inet one. */
	e = &mc.v[7];
	ck_assert_str_eq(e->name, "smtp");
	ck_assert_int_eq(e->type, SVC_UNIX);
	ck_assert_str_eq(e->argv[0], "smtp");
	ck_assert(e->private_ && e->unpriv && e->chroot);
	ck_assert_int_eq(e->maxproc, 1);

	/* The discard and error transports: chrooted, unprivileged. */
	e = &mc.v[9];
	ck_assert_str_eq(e->name, "discard");
	ck_assert_str_eq(e->argv[0], "discard");
	ck_assert(e->private_ && e->unpriv && e->chroot);
	e = &mc.v[10];
	ck_assert_str_eq(e->name, "error");
	ck_assert_str_eq(e->argv[0], "error");
	ck_assert(e->private_ && e->unpriv && e->chroot);

	/* anvil: one process, chrooted, unprivileged. */
	e = &mc.v[11];
	ck_assert_str_eq(e->name, "anvil");
	ck_assert(e->private_ && e->unpriv && e->chroot);
	ck_assert_int_eq(e->maxproc, 1);
	ck_assert(!e->maxproc_default);
}
END_TEST

START_TEST(test_the_sample_file)
{
	/* conf/master.cf is the table above; tests run from the top. */
	struct mastercf sample;

	if (access("conf/master.cf", R_OK) != 0)
		return;
	buf_reset(&err);
	ck_assert_msg(mastercf_load("conf/master.cf", params, &sample, &err) == 0,
		      "%s", buf_str(&err));
	must_load(default_table);
	ck_assert_uint_eq(sample.n, mc.n);
	for (size_t i = 0; i < mc.n; i++) {
		const struct mastercf_entry *a = &sample.v[i], *b = &mc.v[i];

		ck_assert_str_eq(a->name, b->name);
		ck_assert_int_eq(a->type, b->type);
		ck_assert_int_eq(a->private_, b->private_);
		ck_assert_int_eq(a->unpriv, b->unpriv);
		ck_assert_int_eq(a->chroot, b->chroot);
		ck_assert_int_eq(a->wakeup, b->wakeup);
		ck_assert_int_eq(a->maxproc, b->maxproc);
		ck_assert_str_eq(a->argv[0], b->argv[0]);
	}
	mastercf_free(&sample);
}
END_TEST

START_TEST(test_fields_and_defaults)
{
	const struct mastercf_entry *e;

	must_load("a unix - - - - - prog\n"
		  "b unix y y y 0 0 prog\n"
		  "c fifo n n n 60? 10000 prog -v x\n"
		  "d pass - - - 0? - prog\n"
		  "2525 inet - - - - - smtpd\n");
	ck_assert_uint_eq(mc.n, 5);
	e = &mc.v[0];
	ck_assert(e->private_ && e->unpriv && e->chroot);
	ck_assert_int_eq(e->wakeup, 0);
	ck_assert_int_eq(e->maxproc, 7);
	e = &mc.v[1];
	ck_assert(e->private_ && e->unpriv && e->chroot);
	ck_assert_int_eq(e->maxproc, 0);
	e = &mc.v[2];
	ck_assert_int_eq(e->type, SVC_FIFO);
	ck_assert(!e->private_ && !e->unpriv && !e->chroot);
	ck_assert_int_eq(e->wakeup, 60);
	ck_assert(e->wakeup_if_used);
	ck_assert_int_eq(e->maxproc, 10000);
	ck_assert_int_eq(e->argc, 3);
	ck_assert_str_eq(e->argv[0], "prog");
	ck_assert_str_eq(e->argv[1], "-v");
	ck_assert_str_eq(e->argv[2], "x");
	ck_assert_ptr_null(e->argv[3]);
	e = &mc.v[3];
	ck_assert_int_eq(e->type, SVC_PASS);
	ck_assert_int_eq(e->wakeup, 0);
	ck_assert(!e->wakeup_if_used);		/* "0?" is never */
	e = &mc.v[4];
	ck_assert(!e->private_);		/* inet: never private */
	ck_assert_str_eq(e->port, "2525");
}
END_TEST

START_TEST(test_no_params)
{
	/* Without a parameter set, "-" is params.def's default, 100. */
	mastercf_free(&mc);
	write_master("a unix - - - - - prog\n");
	buf_reset(&err);
	ck_assert_int_eq(mastercf_load(path, NULL, &mc, &err), 0);
	ck_assert_int_eq(mc.v[0].maxproc, 100);
}
END_TEST

START_TEST(test_empty_comments_continuation)
{
	const struct mastercf_entry *e;

	must_load("");
	ck_assert_uint_eq(mc.n, 0);
	must_load("# only\n\n   \n\t# comments\n");
	ck_assert_uint_eq(mc.n, 0);

	must_load("# header\n"
		  "\n"
		  "submission inet n - y - - smtpd\n"
		  "  -o smtpd_timeout=5s\n"
		  "# a comment inside the entry\n"
		  "\t-o relayhost=[mx]:25 -v\n"
		  "  -o smtpd_banner=$myhostname\n"
		  "cleanup unix n - y - 0 cleanup\n");
	ck_assert_uint_eq(mc.n, 2);
	e = &mc.v[0];
	ck_assert_int_eq(e->line, 3);
	ck_assert_str_eq(e->port, "587");
	ck_assert_int_eq(e->n_overrides, 3);
	ck_assert_str_eq(e->overrides[0], "smtpd_timeout=5s");
	ck_assert_str_eq(e->overrides[1], "relayhost=[mx]:25");
	ck_assert_str_eq(e->overrides[2], "smtpd_banner=$myhostname");
	ck_assert_ptr_null(e->overrides[3]);
	ck_assert_int_eq(e->argc, 2);
	ck_assert_str_eq(e->argv[1], "-v");
	ck_assert_int_eq(mc.v[1].line, 8);
}
END_TEST

START_TEST(test_missing_file)
{
	buf_reset(&err);
	ck_assert_int_eq(mastercf_load(path, params, &mc, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "master.cf: cannot open: "));
	ck_assert_ptr_null(mc.v);
}
END_TEST

/*
 * Field errors: each line must fail with its own message.
 */

struct bad_case {
	const char *line;
	const char *want;
};

static const struct bad_case bad_cases[] = {
	{"a unix - - - - -", "7 fields, expected 8 or more"},
	{"a", "1 fields, expected 8 or more"},
	{"a tcp - - - - - prog", "bad type \"tcp\" (use inet, unix, fifo or pass)"},
	{"a UNIX - - - - - prog", "bad type \"UNIX\""},
	{"a unix yes - - - - prog", "bad private field \"yes\" (use y, n or -)"},
	{"a unix - Y - - - prog", "bad unpriv field \"Y\""},
	{"a unix - - x - - prog", "bad chroot field \"x\""},
	{"smtp inet y - - - - smtpd", "an inet service cannot be private"},
	{"a unix - - - -5 - prog", "bad wakeup field \"-5\""},
	{"a unix - - - ? - prog", "bad wakeup field \"?\""},
	{"a unix - - - 10?? - prog", "bad wakeup field \"10??\""},
	{"a unix - - - 1m - prog", "bad wakeup field \"1m\""},
	{"a unix - - - 86401 - prog", "bad wakeup field \"86401\""},
	{"a unix - - - 99999999999999999999 - prog", "bad wakeup field"},
	{"a unix - - - - 10001 prog", "bad maxproc field \"10001\""},
	{"a unix - - - - -1 prog", "bad maxproc field \"-1\""},
	{"a unix - - - - many prog", "bad maxproc field \"many\""},
	{"a unix - - - - 1? prog", "bad maxproc field \"1?\""},
	{"a unix - - - - - /bin/sh", "command \"/bin/sh\" must be a program name in "
	 "daemon_directory, without '/'"},
	{"a unix - - - - - ../prog", "without '/'"},
	{"a unix - - - - - ..", "bad command \"..\""},
	{"a unix - - - - - pro$g", "bad command \"pro$g\""},
	{"a/b unix - - - - - prog", "bad service name \"a/b\""},
	{".. unix - - - - - prog", "bad service name \"..\""},
	{"a*b fifo - - - - - prog", "bad service name \"a*b\""},
	{"a unix - - - - - prog -o", "-o at the end of the line"},
	{"a unix - - - - - prog -o nosuch=1", "-o \"nosuch=1\": unknown parameter \"nosuch\""},
	{"a unix - - - - - prog -o smtpd_timeout", "-o \"smtpd_timeout\": expected name=value"},
	{"a unix - - - - - prog -o =x", "-o \"=x\": expected name=value"},
	{"a unix - - - - - prog -o smtpd_timeout=10x",
	 "-o \"smtpd_timeout=10x\": bad value for smtpd_timeout: bad unit (use a time"},
	{"a unix - - - - - prog -o biff=perhaps", "bad value for biff: not a boolean"},
	{"a unix - - - - - prog -o max_use=0", "bad value for max_use: out of range"},
	/* inet service fields */
	{"::1:25 inet - - - - - smtpd", "write an IPv6 address in brackets"},
	{"[::1] inet - - - - - smtpd", "write an IPv6 address as [address]:port"},
	{"[::1]25 inet - - - - - smtpd", "write an IPv6 address as [address]:port"},
	{"[zz::1]:25 inet - - - - - smtpd", "bad IPv6 address \"zz::1\""},
	{"[127.0.0.1]:25 inet - - - - - smtpd", "bad IPv6 address \"127.0.0.1\""},
	{"1.2.3.999:25 inet - - - - - smtpd", "bad host \"1.2.3.999\""},
	{":25 inet - - - - - smtpd", "bad host \"\""},
	{"bad/host:25 inet - - - - - smtpd", "bad host \"bad/host\""},
	{"127.0.0.1: inet - - - - - smtpd", "bad port \"\""},
	{"127.0.0.1:0 inet - - - - - smtpd", "bad port \"0\""},
	{"65536 inet - - - - - smtpd", "bad port \"65536\""},
	{"25x inet - - - - - smtpd", "bad port \"25x\""},
	{"localhost:no-such-service-name inet - - - - - smtpd",
	 "unknown port name \"no-such-service-name\""},
	{"host:sm$tp inet - - - - - smtpd", "bad port \"sm$tp\""},
};

START_TEST(test_bad_fields)
{
	const struct bad_case *bc = &bad_cases[_i];
	char    text[512];

	(void) str_fmt(text, sizeof(text), "# comment\nok unix - - - - - prog\n%s\n",
		       bc->line);
	must_fail(text, bc->want);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "master.cf, line 3: "));
	ck_assert_msg(count_lines(buf_str(&err)) == 1, "%s", buf_str(&err));
}
END_TEST

START_TEST(test_all_problems_reported)
{
	const char *e;

	must_fail("a unix maybe - - - - prog\n"
		  "b fifo - - - - lots prog\n"
		  "good unix - - - - - prog\n"
		  "c unix - - - x - prog -o nosuch=1\n"
		  "good unix - - - - - prog\n",
		  "master.cf, line 1: bad private field \"maybe\"");
	e = buf_str(&err);
	ck_assert_ptr_nonnull(strstr(e, "master.cf, line 2: bad maxproc field \"lots\""));
	ck_assert_ptr_nonnull(strstr(e, "master.cf, line 4: bad wakeup field \"x\""));
	ck_assert_ptr_nonnull(strstr(e, "master.cf, line 4: -o \"nosuch=1\""));
	ck_assert_ptr_nonnull(strstr(e, "master.cf, line 5: service \"good\" (unix) is "
				     "already defined at line 3"));
	ck_assert_int_eq(count_lines(e), 5);

	/* One line with every field wrong reports each field. */
	must_fail("a/ tcp no no no no no /x\n", "line 1: bad type");
	ck_assert_int_eq(count_lines(buf_str(&err)), 7);
}
END_TEST

START_TEST(test_inet_forms)
{
	struct {
		const char *name;
		const char *host;
		const char *port;
	} cases[] = {
		{"smtp", NULL, "25"},
		{"2525", NULL, "2525"},
		{"00465", NULL, "465"},
		{"127.0.0.1:2525", "127.0.0.1", "2525"},
		{"[::1]:2525", "::1", "2525"},
		{"[2001:db8::25]:smtp", "2001:db8::25", "25"},
		{"localhost:smtp", "localhost", "25"},
		{"mail.example.com:submission", "mail.example.com", "587"},
		{"0.0.0.0:65535", "0.0.0.0", "65535"},
		{"h:1", "h", "1"},
	};
	struct buf text;

	buf_init(&text, 4096);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		buf_appendf(&text, "%s inet n - y - - smtpd\n", cases[i].name);
	must_load(buf_str(&text));
	ck_assert_uint_eq(mc.n, sizeof(cases) / sizeof(cases[0]));
	for (size_t i = 0; i < mc.n; i++) {
		ck_assert_str_eq(mc.v[i].name, cases[i].name);
		if (cases[i].host == NULL)
			ck_assert_ptr_null(mc.v[i].host);
		else
			ck_assert_str_eq(mc.v[i].host, cases[i].host);
		ck_assert_str_eq(mc.v[i].port, cases[i].port);
	}
	buf_free(&text);
}
END_TEST

START_TEST(test_duplicates)
{
	/* Same name and type. */
	must_fail("smtp inet n - y - - smtpd\n"
		  "# between\n"
		  "smtp inet n - y - - smtpd\n",
		  "master.cf, line 3: service \"smtp\" (inet) is already defined "
		  "at line 1 as \"smtp\" (inet)");
	/* The same port written two ways. */
	must_fail("smtp inet n - y - - smtpd\n25 inet n - y - - smtpd\n",
		  "line 2: service \"25\" (inet) is already defined at line 1 as \"smtp\"");
	must_fail("LocalHost:2525 inet n - y - - smtpd\nlocalhost:2525 inet n - y - - smtpd\n",
		  "line 2: service \"localhost:2525\"");
	/* Same name in the same directory, other type. */
	must_fail("foo unix n - y - - prog\nfoo fifo n - y - - prog\n",
		  "line 2: service \"foo\" (fifo) is already defined at line 1 as \"foo\" (unix)");
	/* Same name and type, other directory: still one service twice. */
	must_fail("foo unix n - y - - prog\nfoo unix y - y - - prog\n",
		  "line 2: service \"foo\" (unix)");

	/* Not duplicates. */
	must_load("smtp inet n - y - - smtpd\n"
		  "127.0.0.1:smtp inet n - y - - smtpd\n"
		  "[::1]:smtp inet n - y - - smtpd\n"
		  "smtp unix - - y - - smtp\n"
		  "foo unix y - y - - prog\n"
		  "foo fifo n - y - - prog\n");
	ck_assert_uint_eq(mc.n, 6);
}
END_TEST

START_TEST(test_bounds)
{
	struct buf text;
	char    name[MASTERCF_NAME_MAX + 2];

	buf_init(&text, 512 * 1024);

	/* Service name: MASTERCF_NAME_MAX bytes, then one more. */
	memset(name, 'n', sizeof(name));
	name[MASTERCF_NAME_MAX] = '\0';
	buf_appendf(&text, "%s unix - - - - - prog\n", name);
	must_load(buf_str(&text));
	name[MASTERCF_NAME_MAX] = 'n';
	name[MASTERCF_NAME_MAX + 1] = '\0';
	buf_reset(&text);
	buf_appendf(&text, "%s unix - - - - - prog\n", name);
	must_fail(buf_str(&text), "bad service name");

	/* Wakeup and maxproc at their maximum. */
	must_load("a fifo - - - 86400? 10000 prog\n");
	ck_assert_int_eq(mc.v[0].wakeup, MASTERCF_WAKEUP_MAX);
	ck_assert_int_eq(mc.v[0].maxproc, MASTERCF_MAXPROC_MAX);

	/* Arguments: the command and MASTERCF_ARGS_MAX - 1 more fit. */
	buf_reset(&text);
	buf_puts(&text, "a unix - - - - - prog");
	for (int k = 1; k < MASTERCF_ARGS_MAX; k++)
		buf_puts(&text, " arg");
	buf_putc(&text, '\n');
	must_load(buf_str(&text));
	ck_assert_int_eq(mc.v[0].argc, MASTERCF_ARGS_MAX);
	ck_assert_ptr_null(mc.v[0].argv[MASTERCF_ARGS_MAX]);
	buf_truncate(&text, text.len - 1);
	buf_puts(&text, " one-more\n");
	must_fail(buf_str(&text), "line 1: more than 100 command arguments");

	/* -o options: MASTERCF_ARGS_MAX, then one more. */
	buf_reset(&text);
	buf_puts(&text, "a unix - - - - - prog");
	for (int k = 0; k < MASTERCF_ARGS_MAX; k++)
		buf_puts(&text, "\n  -o biff=yes");
	buf_putc(&text, '\n');
	must_load(buf_str(&text));
	ck_assert_int_eq(mc.v[0].n_overrides, MASTERCF_ARGS_MAX);
	ck_assert_ptr_null(mc.v[0].overrides[MASTERCF_ARGS_MAX]);
	buf_puts(&text, "  -o biff=no\n");
	must_fail(buf_str(&text), "line 1: more than 100 -o options");

	/* Services: MASTERCF_SERVICES_MAX, then one more. */
	buf_reset(&text);
	for (int k = 0; k < MASTERCF_SERVICES_MAX; k++)
		buf_appendf(&text, "s%d unix - - - - - prog\n", k);
	must_load(buf_str(&text));
	ck_assert_uint_eq(mc.n, MASTERCF_SERVICES_MAX);
	buf_puts(&text, "last unix - - - - - prog\n");
	must_fail(buf_str(&text), "line 1001: more than 1000 services");

	/* A logical line longer than CONFIG_LINE_MAX. */
	buf_reset(&text);
	buf_puts(&text, "a unix - - - - - prog\n  -o smtpd_banner=");
	for (int k = 0; k < CONFIG_LINE_MAX; k++)
		buf_putc(&text, 'x');
	buf_putc(&text, '\n');
	must_fail(buf_str(&text), "master.cf, line 1: logical line longer than 65536 bytes");
	buf_free(&text);
}
END_TEST

START_TEST(test_type_name)
{
	ck_assert_str_eq(mastercf_type_name(SVC_INET), "inet");
	ck_assert_str_eq(mastercf_type_name(SVC_UNIX), "unix");
	ck_assert_str_eq(mastercf_type_name(SVC_FIFO), "fifo");
	ck_assert_str_eq(mastercf_type_name(SVC_PASS), "pass");
	ck_assert_str_eq(mastercf_type_name((enum svc_type) 99), "unknown");
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("mastercf");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_default_table);
	tcase_add_test(tc, test_the_sample_file);
	tcase_add_test(tc, test_fields_and_defaults);
	tcase_add_test(tc, test_no_params);
	tcase_add_test(tc, test_empty_comments_continuation);
	tcase_add_test(tc, test_missing_file);
	tcase_add_loop_test(tc, test_bad_fields, 0,
			    (int) (sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_all_problems_reported);
	tcase_add_test(tc, test_inet_forms);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_type_name);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
