/*
 * table_rules_test - check suite for the tables read whole at open:
 * lib/table/table_rules (the rule file format: continuation lines, comments,
 * if/endif, negation, $N substitution, errors with file and line),
 * regexp: and pcre: (flags, groups, catastrophic patterns bounded by
 * PCRE2's match limit: an error, not a miss), cidr: (IPv4, IPv6 with
 * and without brackets, negation, keys that are no address) and
 * texthash: (a postmap source without .db); changed files noticed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "table_get.h"
#include "scratch.h"

#include "buf.h"
#include "log.h"
#include "str.h"
#include "table.h"

static char dir[64];
static char spec[256];

static void
setup(void)
{
	log_init("table_rules_test", 0);
	(void) str_copy(dir, sizeof(dir), "/tmp/table_rules_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	scratch_remove(dir, "/tmp/table_rules_test.");
}

/* file - write text to dir/name; spec becomes "type:dir/name" */
static const char *
file(const char *type, const char *name, const char *text)
{
	char    path[200];
	FILE   *f;

	(void) str_fmt(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	(void) str_fmt(spec, sizeof(spec), "%s:%s", type, path);
	return spec;
}

static struct table *
open_ok(const char *s)
{
	char    err[TABLE_ERROR_MAX];
	struct table *t = table_open(s, 0, err, sizeof(err));

	ck_assert_msg(t != NULL, "%s: %s", s, err);
	return t;
}

/* open_bad - the table does not open and err holds want */
static void
open_bad(const char *s, const char *want)
{
	char    err[TABLE_ERROR_MAX];
	struct table *t = table_open(s, 0, err, sizeof(err));

	ck_assert_msg(t == NULL, "%s opened", s);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
}

static const char rules[] =
	"# header checks\n"
	"/^Subject:.*buy now/\tREJECT no spam\n"
	"/^Subject: (.*) (deal)/  WARN $2: ${1}\n"
	"   and $$ more\n"
	"\n"
	"if /^From:/\n"
	"/@example\\.com>?$/ OK\n"
	"!/@/\tREJECT no at\n"
	"endif\n"
	"/^x-(a|b)-([a-z]+)/ PREPEND X-Seen: $2\n"
	"/^CASE$/i exact\n"
	"/^multi$/m line\n";

static void
common_rules(const char *type)
{
	struct table *t = open_ok(file(type, "hc", rules));

	ck_assert_str_eq(get(t, "Subject: buy now please"), "REJECT no spam");
	ck_assert_str_eq(get(t, "SUBJECT: BUY NOW"), "REJECT no spam");	/* i by default */
	ck_assert_str_eq(get(t, "Subject: big deal"), "WARN deal: big and $ more");
	ck_assert_str_eq(get(t, "From: a@example.com"), "OK");
	ck_assert_str_eq(get(t, "From: nobody"), "REJECT no at");
	ck_assert_str_eq(get(t, "From: a@example.org"), "-");
	ck_assert_str_eq(get(t, "To: nobody"), "-");		/* outside the if */
	ck_assert_str_eq(get(t, "X-B-word"), "PREPEND X-Seen: word");
	ck_assert_str_eq(get(t, "CASE"), "exact");
	ck_assert_str_eq(get(t, "case"), "-");			/* i toggled off */
	ck_assert_str_eq(get(t, "a\nmulti\nb"), "line");
	ck_assert(table_changed(t) == false);
	table_close(t);
}

START_TEST(test_regexp_and_pcre)
{
	common_rules("regexp");
	common_rules("pcre");
}
END_TEST

START_TEST(test_rule_file_errors)
{
	open_bad(file("regexp", "e1", "/abc/\n"), "line 1: a rule without a result");
	open_bad(file("regexp", "e2", "# c\n/a/ x\n/(b/ y\n"), "line 3: bad regular expression");
	open_bad(file("pcre", "e3", "/a/ x\n/(b/ y\n"), "line 2: bad regular expression");
	open_bad(file("regexp", "e4", "/a/q x\n"), "unknown flag 'q'");
	open_bad(file("pcre", "e5", "/a(b)/ $2\n"), "names a group the pattern does not have");
	open_bad(file("pcre", "e6", "!/a(b)/ $1\n"), "a negated pattern has no groups");
	open_bad(file("regexp", "e7", "if /a/\n/b/ x\n"), "line 1: if without endif");
	open_bad(file("regexp", "e8", "/b/ x\nendif\n"), "line 2: endif without if");
	open_bad(file("regexp", "e9", "/abc x\n"), "no closing delimiter");
	open_bad(file("regexp", "e10", "  /a/ x\n"), "continuation line without a line");
	open_bad(file("regexp", "e11", "abc x\n"), "must start with a delimiter");
	open_bad(file("pcre", "e12", "/a/ $x\n"), "'$' must be followed by a group");
	open_bad(file("cidr", "e13", "192.0.2.0/33 x\n"), "line 1:");
	open_bad(file("cidr", "e14", "hello x\n"), "is no address or network");
	open_bad("regexp:/nonexistent/file", "cannot open");
}
END_TEST

START_TEST(test_pcre_match_limit)
{
	/* Exponential backtracking: bounded, and an error, not a miss. */
	struct table *t = open_ok(file("pcre", "cat", "/^(a+)+$/ REJECT catastrophic\n"
					 "/^Subject:/ DUNNO\n"));
	char    key[200];
	struct timespec a, b;
	const char *r;
	double  ms;

	memset(key, 'a', 60);
	memcpy(key + 60, "b", 2);
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = get(t, key);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double) (b.tv_sec - a.tv_sec) * 1e3 + (double) (b.tv_nsec - a.tv_nsec) / 1e6;
	ck_assert_msg(r[0] == '!', "got %s", r);
	ck_assert_msg(strstr(r, "line 1") != NULL && strstr(r, "limit") != NULL, "%s", r);
	/* Not a speed test: only that it ends, reported for the note. */
	fprintf(stderr, "table_rules_test: catastrophic pcre on 61 bytes ended after %.1f ms\n", ms);
	ck_assert_str_eq(get(t, "aaaa"), "REJECT catastrophic");
	table_close(t);
}
END_TEST

START_TEST(test_long_keys)
{
	struct table *t = open_ok(file("regexp", "long", "/z$/ end\n"));
	char   *key = malloc(200000);

	memset(key, 'y', 199998);
	key[199998] = 'z';
	key[199999] = '\0';
	ck_assert_str_eq(get(t, key), "end");	/* a long header line */
	free(key);
	table_close(t);
}
END_TEST

START_TEST(test_cidr)
{
	struct table *t = open_ok(file("cidr", "c",
		"# blocklist\n"
		"192.0.2.0/24\tREJECT net\n"
		"198.51.100.7 one\n"
		"2001:db8::/32 v6\n"
		"[2001:db9::1] v6 one\n"
		"if 10.0.0.0/8\n"
		"!10.1.0.0/16 not10.1\n"
		"endif\n"));

	ck_assert_str_eq(get(t, "192.0.2.77"), "REJECT net");
	ck_assert_str_eq(get(t, "198.51.100.7"), "one");
	ck_assert_str_eq(get(t, "198.51.100.8"), "-");
	ck_assert_str_eq(get(t, "2001:db8::5"), "v6");
	ck_assert_str_eq(get(t, "[2001:db8::5]"), "v6");
	ck_assert_str_eq(get(t, "2001:db9::1"), "v6 one");
	ck_assert_str_eq(get(t, "::ffff:192.0.2.1"), "REJECT net");
	ck_assert_str_eq(get(t, "10.2.3.4"), "not10.1");
	ck_assert_str_eq(get(t, "10.1.3.4"), "-");
	ck_assert_str_eq(get(t, "8.8.8.8"), "-");	/* outside the if */
	ck_assert_str_eq(get(t, "mail.example.com"), "-");
	table_close(t);
}
END_TEST

START_TEST(test_texthash)
{
	struct table *t = open_ok(file("texthash", "th",
		"# access\nAlice@Example.com\tOK\nexample.org REJECT go away\n"
		"  and stay away\nbob first\nbob second\n"));

	ck_assert_str_eq(get(t, "alice@example.com"), "OK");
	ck_assert_str_eq(get(t, "ALICE@example.COM"), "OK");
	ck_assert_str_eq(get(t, "example.org"), "REJECT go away and stay away");
	ck_assert_str_eq(get(t, "bob"), "first");
	ck_assert_str_eq(get(t, "carol"), "-");
	table_close(t);
	open_bad(file("texthash", "bad", "keyonly\n"), "line 1");
}
END_TEST

START_TEST(test_changed)
{
	struct table *t = open_ok(file("cidr", "ch", "192.0.2.1 a\n"));
	struct table *u = open_ok(file("texthash", "ch2", "k v\n"));

	ck_assert(!table_changed(t));
	ck_assert(!table_changed(u));
	sleep(1);				/* a new mtime second, for coarse clocks */
	(void) file("cidr", "ch", "192.0.2.1 b\n192.0.2.2 c\n");
	(void) file("texthash", "ch2", "k w\n");
	ck_assert(table_changed(t));
	ck_assert(table_changed(u));
	ck_assert_int_eq(table_reopen(t), 0);
	ck_assert_int_eq(table_reopen(u), 0);
	ck_assert_str_eq(get(t, "192.0.2.1"), "b");
	ck_assert_str_eq(get(u, "k"), "w");
	table_close(t);
	table_close(u);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("table_rules");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_regexp_and_pcre);
	tcase_add_test(tc, test_rule_file_errors);
	tcase_add_test(tc, test_pcre_match_limit);
	tcase_add_test(tc, test_long_keys);
	tcase_add_test(tc, test_cidr);
	tcase_add_test(tc, test_texthash);
	tcase_add_test(tc, test_changed);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
