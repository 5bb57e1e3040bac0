/*
 * table_test - check suite for lib/table/table*: building hash and btree
 * tables, lookups with case folding, malformed sources, atomic
 * replacement, static/inline/unix tables, specs, change detection,
 * bounds, ownership, and the DB_CONFIG defence.
 */
#include <check.h>
#include <db.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"

#include "buf.h"
#include "log.h"
#include "mem.h"
#include "str.h"
#include "table.h"

static char dir[64];

static void
setup(void)
{
	log_init("table_test", 0);
	(void) str_copy(dir, sizeof(dir), "/tmp/table_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	scratch_remove(dir, "/tmp/table_test.");
}

/* count_entries - the number of names in dir, without . and .. */
static int
count_entries(void)
{
	DIR    *d = opendir(dir);
	struct dirent *e;
	int     n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (!str_eq(e->d_name, ".") && !str_eq(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* path_in - dir/name in a static buffer (one at a time) */
static const char *
path_in(const char *name)
{
	static char p[2][256];
	static int which;

	which ^= 1;
	(void) str_fmt(p[which], sizeof(p[which]), "%s/%s", dir, name);
	return p[which];
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int     fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
	ck_assert_int_eq(close(fd), 0);
}

static void
write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

/* build - table_build(), returning the result; msg gets the problems */
static int
build(const char *spec, int alias_mode, unsigned flags, struct buf *msg)
{
	buf_reset(msg);
	return table_build(spec, alias_mode, flags, msg);
}

/* lookup - open spec, get key; returns table_get's result, value in out */
static int
lookup(const char *spec, unsigned flags, const char *key, char *out,
       size_t outlen)
{
	char    err[TABLE_ERROR_MAX];
	struct table *t = table_open(spec, flags, err, sizeof(err));
	struct buf v;
	int     r;

	ck_assert_msg(t != NULL, "open %s: %s", spec, err);
	buf_init(&v, TABLE_VALUE_MAX);
	r = table_get(t, key, &v);
	if (r == 1 && out)
		(void) str_copy(out, outlen, buf_str(&v));
	buf_free(&v);
	table_close(t);
	return r;
}

static char *
spec_of(const char *type, const char *name)
{
	static char s[2][300];
	static int which;

	which ^= 1;
	(void) str_fmt(s[which], sizeof(s[which]), "%s:%s", type, path_in(name));
	return s[which];
}

static void
check_basic(const char *type)
{
	struct buf msg;
	char    v[256];

	buf_init(&msg, 64 * 1024);
	write_str(path_in("map"),
		  "# a comment\n"
		  "\n"
		  "Example.COM   relay:[mx.example.com]\n"
		  "user@x.org\tlocal\n"
		  "  # indented comment\n"
		  "multi first\n"
		  "   second  \n"
		  "\tthird\n"
		  "crlf value\r\n"
		  "last no-newline");
	ck_assert_int_eq(build(spec_of(type, "map"), 0, 0, &msg), TABLE_OK);
	ck_assert_str_eq(buf_str(&msg), "");

	ck_assert_int_eq(lookup(spec_of(type, "map"), 0, "example.com", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "relay:[mx.example.com]");
	/* Keys were lowercased at build; a capitalised lookup folds. */
	ck_assert_int_eq(lookup(spec_of(type, "map"), 0, "EXAMPLE.com", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "relay:[mx.example.com]");
	ck_assert_int_eq(lookup(spec_of(type, "map"), TABLE_F_NOFOLD, "EXAMPLE.com", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup(spec_of(type, "map"), 0, "user@x.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "local");
	ck_assert_int_eq(lookup(spec_of(type, "map"), 0, "multi", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "first second third");
	ck_assert_int_eq(lookup(spec_of(type, "map"), 0, "crlf", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "value");
	ck_assert_int_eq(lookup(spec_of(type, "map"), 0, "last", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "no-newline");
	ck_assert_int_eq(lookup(spec_of(type, "map"), 0, "nothere", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup(spec_of(type, "map"), 0, "", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup(spec_of(type, "map"), 0, "#", v, sizeof(v)), 0);
	buf_free(&msg);
}

START_TEST(test_hash_build_lookup)
{
	check_basic("hash");
}
END_TEST

START_TEST(test_btree_build_lookup)
{
	check_basic("btree");
}
END_TEST

START_TEST(test_nofold_build)
{
	struct buf msg;
	char    v[64];

	buf_init(&msg, 4096);
	write_str(path_in("m"), "MixedCase one\nlower two\n");
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, TABLE_F_NOFOLD, &msg), TABLE_OK);
	/* As given first: the capitalised key is found as written. */
	ck_assert_int_eq(lookup(spec_of("hash", "m"), 0, "MixedCase", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "one");
	ck_assert_int_eq(lookup(spec_of("hash", "m"), 0, "mixedcase", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup(spec_of("hash", "m"), 0, "LOWER", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "two");
	buf_free(&msg);
}
END_TEST

START_TEST(test_nonul_keys_found)
{
	struct buf msg;
	char    v[64];

	/* Tables written without the NUL (postmap -n) are read as well. */
	buf_init(&msg, 4096);
	write_str(path_in("m"), "k v\n");
	ck_assert_int_eq(build(spec_of("btree", "m"), 0, TABLE_F_NONUL, &msg), TABLE_OK);
	ck_assert_int_eq(lookup(spec_of("btree", "m"), 0, "k", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "v");
	buf_free(&msg);
}
END_TEST

START_TEST(test_alias_format)
{
	struct buf msg;
	char    v[256];

	buf_init(&msg, 4096);
	write_str(path_in("aliases"),
		  "# aliases\n"
		  "postmaster: root\n"
		  "Staff:  alice,\n"
		  "        bob,\n"
		  "   carol\n"
		  "\"with space\": dave\n"
		  "\"q\\\"uote\": erin\n"
		  "pipe: \"|/usr/bin/filter -x\"\n"
		  "spaced   :  frank\n");
	ck_assert_int_eq(build(spec_of("hash", "aliases"), 1, 0, &msg), TABLE_OK);
	ck_assert_int_eq(lookup(spec_of("hash", "aliases"), 0, "postmaster", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "root");
	ck_assert_int_eq(lookup(spec_of("hash", "aliases"), 0, "STAFF", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "alice, bob, carol");
	ck_assert_int_eq(lookup(spec_of("hash", "aliases"), 0, "with space", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "dave");
	ck_assert_int_eq(lookup(spec_of("hash", "aliases"), 0, "q\"uote", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "erin");
	ck_assert_int_eq(lookup(spec_of("hash", "aliases"), 0, "pipe", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "\"|/usr/bin/filter -x\"");
	ck_assert_int_eq(lookup(spec_of("hash", "aliases"), 0, "spaced", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "frank");
	buf_free(&msg);
}
END_TEST

/* expect_bad - a build of src fails with TABLE_EDATA and says want */
static void
expect_bad(int alias_mode, const char *src, size_t len, const char *want)
{
	struct buf msg;
	struct stat sb;

	buf_init(&msg, 64 * 1024);
	write_file(path_in("bad"), src, len);
	(void) unlink(path_in("bad.db"));
	ck_assert_int_eq(build(spec_of("hash", "bad"), alias_mode, 0, &msg), TABLE_EDATA);
	ck_assert_msg(strstr(buf_str(&msg), want) != NULL,
		      "wanted '%s' in '%s'", want, buf_str(&msg));
	/* The message names the file. */
	ck_assert_ptr_nonnull(strstr(buf_str(&msg), path_in("bad")));
	ck_assert_int_eq(stat(path_in("bad.db"), &sb), -1);
	buf_free(&msg);
}

START_TEST(test_malformed_lines)
{
	expect_bad(0, "good value\nnovalue\n", 19, "line 2: 'novalue' has no value");
	expect_bad(0, "  starts with space\n", 20, "line 1: continuation line");
	expect_bad(0, "a b\nnul\0x y\n", 12, "line 2: NUL byte");
	expect_bad(1, "root: x\nnocolon\n", 16, "line 2: 'nocolon' has no ':'");
	expect_bad(1, "two words: x\n", 13, "line 1: alias name 'two words' contains white space");
	expect_bad(1, "empty:\n", 7, "line 1: alias 'empty' has no value");
	expect_bad(1, ": value\n", 8, "line 1: empty key");
	expect_bad(1, "\"open: x\n", 9, "line 1: missing '\"'");
	/* A problem in a later logical line is reported at its first line. */
	expect_bad(0, "a b\n# c\nk\n  \n# d\nz 1\n", 22, "line 3: 'k' has no value");
}
END_TEST

START_TEST(test_many_errors_capped)
{
	struct buf msg, src;
	int     lines = 0;

	buf_init(&msg, 64 * 1024);
	buf_init(&src, 64 * 1024);
	for (int i = 0; i < 50; i++)
		(void) buf_appendf(&src, "novalue%d\n", i);
	write_file(path_in("m"), src.data, src.len);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_EDATA);
	for (const char *p = msg.data; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	ck_assert_int_eq(lines, TABLE_BUILD_MAX_ERRORS + 1);
	ck_assert_ptr_nonnull(strstr(buf_str(&msg), "too many errors"));
	buf_free(&msg);
	buf_free(&src);
}
END_TEST

START_TEST(test_failed_build_keeps_old_table)
{
	struct buf msg;
	struct stat before, after;
	char    v[64];

	buf_init(&msg, 4096);
	write_str(path_in("m"), "key old\n");
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	ck_assert_int_eq(stat(path_in("m.db"), &before), 0);
	write_str(path_in("m"), "key new\nbroken\n");
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_EDATA);
	ck_assert_int_eq(stat(path_in("m.db"), &after), 0);
	ck_assert_uint_eq(before.st_ino, after.st_ino);
	ck_assert_int_eq(lookup(spec_of("hash", "m"), 0, "key", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "old");
	/* No temporary file is left behind. */
	ck_assert_int_eq(count_entries(), 2);		/* m and m.db */
	buf_free(&msg);
}
END_TEST

START_TEST(test_duplicates_keep_first)
{
	struct buf msg;
	char    v[64];

	buf_init(&msg, 4096);
	write_str(path_in("m"), "dup first\nother x\nDUP second\n");
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	ck_assert_int_eq(lookup(spec_of("hash", "m"), 0, "dup", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "first");
	buf_free(&msg);
}
END_TEST

START_TEST(test_empty_source)
{
	struct buf msg;

	buf_init(&msg, 4096);
	write_str(path_in("m"), "");
	ck_assert_int_eq(build(spec_of("btree", "m"), 0, 0, &msg), TABLE_OK);
	ck_assert_int_eq(lookup(spec_of("btree", "m"), 0, "x", NULL, 0), 0);
	buf_free(&msg);
}
END_TEST

START_TEST(test_missing_source_and_db)
{
	struct buf msg;
	char    err[TABLE_ERROR_MAX];

	buf_init(&msg, 4096);
	ck_assert_int_eq(build(spec_of("hash", "nosuch"), 0, 0, &msg), TABLE_ENOINPUT);
	ck_assert_ptr_nonnull(strstr(buf_str(&msg), "nosuch"));
	errno = 0;
	ck_assert_ptr_null(table_open(spec_of("hash", "nosuch"), 0, err, sizeof(err)));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "does not exist"));
	ck_assert_ptr_nonnull(strstr(err, "nosuch.db"));
	buf_free(&msg);
}
END_TEST

START_TEST(test_wrong_db_type)
{
	struct buf msg;
	char    err[TABLE_ERROR_MAX];

	buf_init(&msg, 4096);
	write_str(path_in("m"), "a b\n");
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	ck_assert_ptr_null(table_open(spec_of("btree", "m"), 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a btree database"));
	/* Garbage in the .db file is refused, not crashed on. */
	write_str(path_in("g.db"), "this is not a database at all\n");
	ck_assert_ptr_null(table_open(spec_of("hash", "g"), 0, err, sizeof(err)));
	buf_free(&msg);
}
END_TEST

START_TEST(test_spec_errors)
{
	char    err[TABLE_ERROR_MAX];
	struct buf msg;

	buf_init(&msg, 4096);
	errno = 0;
	ck_assert_ptr_null(table_open("foo", 0, err, sizeof(err)));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(err, "table 'foo' has no type: write hash:foo");
	ck_assert_ptr_null(table_open("/etc/aliases", 0, err, sizeof(err)));
	ck_assert_str_eq(err, "table '/etc/aliases' has no type: write hash:/etc/aliases");
	ck_assert_ptr_null(table_open("./x:y", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "has no type"));
	ck_assert_ptr_null(table_open(":x", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "has no type"));
	ck_assert_ptr_null(table_open("cdb:/etc/x", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "unknown type 'cdb'"));
	ck_assert_ptr_null(table_open("HASH:/etc/x", 0, err, sizeof(err)));
	ck_assert_ptr_null(table_open("hash:", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "has no file name"));
	ck_assert_ptr_null(table_open("unix:shadow.byname", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "unknown unix: table"));

	ck_assert_int_eq(build("aliases", 1, 0, &msg), TABLE_EUSAGE);
	ck_assert_str_eq(buf_str(&msg), "table 'aliases' has no type: write hash:aliases\n");
	ck_assert_int_eq(build("static:x", 0, 0, &msg), TABLE_EUSAGE);
	ck_assert_int_eq(build("hash:", 0, 0, &msg), TABLE_EUSAGE);
	buf_free(&msg);
}
END_TEST

START_TEST(test_static_inline)
{
	char    v[256];
	char    err[TABLE_ERROR_MAX];

	ck_assert_int_eq(lookup("static:OK", 0, "anything", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "OK");
	ck_assert_int_eq(lookup("static:{ a value, with commas }", 0, "x", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "a value, with commas");
	ck_assert_int_eq(lookup("static:", 0, "x", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "");

	ck_assert_int_eq(lookup("inline:{k1=v1, {K2 = v2} ,{k3 = a b, c}}", 0, "k1", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "v1");
	ck_assert_int_eq(lookup("inline:{k1=v1, {K2 = v2} ,{k3 = a b, c}}", 0, "k2", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "v2");
	ck_assert_int_eq(lookup("inline:{k1=v1, {K2 = v2} ,{k3 = a b, c}}", 0, "K3", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "a b, c");
	ck_assert_int_eq(lookup("inline:{k1=v1}", 0, "k2", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup("inline:{}", 0, "k2", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup("inline:{a=}", 0, "a", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "");

	ck_assert_ptr_null(table_open("inline:k=v", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "with braces"));
	ck_assert_ptr_null(table_open("inline:{k}", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "element 'k' has no '='"));
	/* Outside braces white space separates elements, as in Postfix. */
	ck_assert_ptr_null(table_open("inline:{k = v}", 0, err, sizeof(err)));
	ck_assert_ptr_null(table_open("inline:{=v}", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "empty key"));
	ck_assert_ptr_null(table_open("inline:{{a=b}", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "unbalanced"));
	ck_assert_ptr_null(table_open("inline:{a=b}c}", 0, err, sizeof(err)));
}
END_TEST

START_TEST(test_inline_element_limit)
{
	struct buf spec;
	char    err[TABLE_ERROR_MAX];
	struct table *t;

	buf_init(&spec, 1024 * 1024);
	(void) buf_puts(&spec, "inline:{");
	for (int i = 0; i < 1024; i++)
		(void) buf_appendf(&spec, "k%d=v,", i);
	(void) buf_puts(&spec, "}");
	t = table_open(buf_str(&spec), 0, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	table_close(t);
	buf_truncate(&spec, spec.len - 1);
	(void) buf_puts(&spec, "one=more}");
	ck_assert_ptr_null(table_open(buf_str(&spec), 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "more than 1024 elements"));
	buf_free(&spec);
}
END_TEST

START_TEST(test_unix_tables)
{
	char    v[1024];
	struct passwd *pw = getpwuid(0);

	ck_assert_ptr_nonnull(pw);
	ck_assert_int_eq(lookup("unix:passwd.byname", 0, pw->pw_name, v, sizeof(v)), 1);
	ck_assert_msg(strncmp(v, "root:x:0:0:", 11) == 0, "got %s", v);
	ck_assert_ptr_nonnull(strstr(v, pw->pw_dir));
	/* Capitals fold, as for the other tables. */
	ck_assert_int_eq(lookup("unix:passwd.byname", 0, "ROOT", v, sizeof(v)), 1);
	ck_assert_int_eq(lookup("unix:passwd.byname", TABLE_F_NOFOLD, "ROOT", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup("unix:passwd.byname", 0, "no-such-user-here", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup("unix:passwd.byname", 0, "", v, sizeof(v)), 0);
	/* Not a user name at all: "not found" without asking the name service. */
	ck_assert_int_eq(lookup("unix:passwd.byname", 0, "root@localhost", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup("unix:passwd.byname", 0, "../root", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup("unix:passwd.byname", 0, "ro ot", v, sizeof(v)), 0);
	ck_assert_int_eq(lookup("unix:group.byname", 0, "root", v, sizeof(v)), 1);
	ck_assert_msg(strncmp(v, "root:x:0:", 9) == 0, "got %s", v);
}
END_TEST

START_TEST(test_changed_and_reopen)
{
	struct buf msg, v;
	char    err[TABLE_ERROR_MAX];
	struct table *t;

	buf_init(&msg, 4096);
	buf_init(&v, 256);
	write_str(path_in("m"), "k one\n");
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	t = table_open(spec_of("hash", "m"), 0, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert(!table_changed(t));
	ck_assert_str_eq(table_spec(t), spec_of("hash", "m"));

	write_str(path_in("m"), "k two\n");
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	ck_assert(table_changed(t));
	/* The open handle still reads the file it opened. */
	ck_assert_int_eq(table_get(t, "k", &v), 1);
	ck_assert_str_eq(buf_str(&v), "one");
	ck_assert_int_eq(table_reopen(t), 0);
	ck_assert(!table_changed(t));
	ck_assert_int_eq(table_get(t, "k", &v), 1);
	ck_assert_str_eq(buf_str(&v), "two");

	/* A failed reopen keeps the old table answering. */
	ck_assert_int_eq(unlink(path_in("m.db")), 0);
	ck_assert(table_changed(t));
	ck_assert_int_eq(table_reopen(t), -1);
	ck_assert_ptr_nonnull(strstr(t->error, "does not exist"));
	ck_assert_int_eq(table_get(t, "k", &v), 1);
	ck_assert_str_eq(buf_str(&v), "two");
	table_close(t);

	/* Tables without a file never change. */
	t = table_open("static:x", 0, err, sizeof(err));
	ck_assert(!table_changed(t));
	table_close(t);
	buf_free(&msg);
	buf_free(&v);
}
END_TEST

START_TEST(test_key_bounds)
{
	struct buf msg, src, v;
	char    key[TABLE_KEY_MAX + 2];
	char    err[TABLE_ERROR_MAX];
	struct table *t;

	buf_init(&msg, 4096);
	buf_init(&src, 4 * TABLE_KEY_MAX);
	buf_init(&v, TABLE_VALUE_MAX);
	memset(key, 'k', TABLE_KEY_MAX);
	key[TABLE_KEY_MAX] = '\0';
	(void) buf_appendf(&src, "%s max\n", key);
	write_file(path_in("m"), src.data, src.len);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	t = table_open(spec_of("hash", "m"), 0, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(table_get(t, key, &v), 1);	/* exactly the maximum */
	ck_assert_str_eq(buf_str(&v), "max");
	key[TABLE_KEY_MAX] = 'k';
	key[TABLE_KEY_MAX + 1] = '\0';
	ck_assert_int_eq(table_get(t, key, &v), -1);	/* one past */
	ck_assert_ptr_nonnull(strstr(t->error, "more than the limit of 1024"));
	table_close(t);
	/* Static tables enforce the same key bound. */
	t = table_open("static:x", 0, err, sizeof(err));
	ck_assert_int_eq(table_get(t, key, &v), -1);
	table_close(t);

	buf_reset(&src);
	(void) buf_appendf(&src, "%s toolong\n", key);
	write_file(path_in("m"), src.data, src.len);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_EDATA);
	ck_assert_ptr_nonnull(strstr(buf_str(&msg), "line 1: key"));
	ck_assert_ptr_nonnull(strstr(buf_str(&msg), "longer than 1024"));
	buf_free(&msg);
	buf_free(&src);
	buf_free(&v);
}
END_TEST

START_TEST(test_line_and_value_bounds)
{
	struct buf msg, src, v;
	char    err[TABLE_ERROR_MAX];
	struct table *t;
	size_t  vlen;

	buf_init(&msg, 4096);
	buf_init(&src, 4 * TABLE_LINE_MAX);
	buf_init(&v, TABLE_VALUE_MAX);

	/* A physical line of exactly TABLE_LINE_MAX bytes is accepted. */
	vlen = TABLE_LINE_MAX - 2;		/* "k " + value */
	(void) buf_puts(&src, "k ");
	for (size_t i = 0; i < vlen; i++)
		(void) buf_putc(&src, 'v');
	(void) buf_puts(&src, "\nnext ok\n");
	write_file(path_in("m"), src.data, src.len);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	t = table_open(spec_of("hash", "m"), 0, err, sizeof(err));
	ck_assert_int_eq(table_get(t, "k", &v), 1);
	ck_assert_uint_eq(v.len, vlen);
	ck_assert_int_eq(table_get(t, "next", &v), 1);
	ck_assert_str_eq(buf_str(&v), "ok");
	{
		/* A caller's buffer smaller than the value: an error. */
		struct buf small;

		buf_init(&small, 100);
		ck_assert_int_eq(table_get(t, "k", &small), -1);
		ck_assert_ptr_nonnull(strstr(t->error, "more than the 100"));
		buf_free(&small);
	}
	table_close(t);

	/* One byte more is a too-long line, reported with its number. */
	buf_reset(&src);
	(void) buf_puts(&src, "a b\nk ");
	for (size_t i = 0; i < vlen + 1; i++)
		(void) buf_putc(&src, 'v');
	(void) buf_puts(&src, "\n");
	write_file(path_in("m"), src.data, src.len);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_EDATA);
	ck_assert_msg(strstr(buf_str(&msg), "line 2: line longer than 65536") != NULL,
		      "%s", buf_str(&msg));

	/* Continuation lines adding up past the bound: the logical line. */
	buf_reset(&src);
	(void) buf_puts(&src, "k a\n");
	for (int l = 0; l < 3; l++) {
		(void) buf_puts(&src, " ");
		for (int i = 0; i < 30000; i++)
			(void) buf_putc(&src, 'v');
		(void) buf_puts(&src, "\n");
	}
	(void) buf_puts(&src, "z 1\n");
	write_file(path_in("m"), src.data, src.len);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_EDATA);
	ck_assert_msg(strstr(buf_str(&msg), "line 1: logical line longer than 65536") != NULL,
		      "%s", buf_str(&msg));
	buf_free(&msg);
	buf_free(&src);
	buf_free(&v);
}
END_TEST

START_TEST(test_mode_follows_source)
{
	struct buf msg;
	struct stat sb;

	buf_init(&msg, 4096);
	write_str(path_in("m"), "a b\n");
	ck_assert_int_eq(chmod(path_in("m"), 0640), 0);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	ck_assert_int_eq(stat(path_in("m.db"), &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0640);
	ck_assert_int_eq(chmod(path_in("m"), 0755), 0);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	ck_assert_int_eq(stat(path_in("m.db"), &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0644);	/* no execute bits */
	buf_free(&msg);
}
END_TEST

START_TEST(test_root_builds_as_owner)
{
	struct buf msg;
	struct stat sb;
	char    v[64];
	uid_t   nobody = 65534;

	if (geteuid() != 0)
		return;			/* needs root to change ids */
	buf_init(&msg, 4096);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	write_str(path_in("m"), "a b\n");
	ck_assert_int_eq(chown(path_in("m"), nobody, nobody), 0);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	ck_assert_int_eq(stat(path_in("m.db"), &sb), 0);
	ck_assert_uint_eq(sb.st_uid, nobody);
	ck_assert_uint_eq(sb.st_gid, nobody);
	/* Root's ids are back. */
	ck_assert_uint_eq(geteuid(), 0);
	ck_assert_uint_eq(getegid(), 0);
	ck_assert_int_eq(lookup(spec_of("hash", "m"), 0, "a", v, sizeof(v)), 1);

	/* The owner cannot write the directory: the build fails cleanly. */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_ETEMP);
	ck_assert_uint_eq(geteuid(), 0);
	buf_free(&msg);
}
END_TEST

static void
quiet(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void) env;
	(void) pfx;
	(void) msg;
}

START_TEST(test_db_config_in_cwd_is_ignored)
{
	struct buf msg;
	char    v[64];
	DB_ENV *env;
	DB     *db;
	int     r;

	buf_init(&msg, 4096);
	write_str(path_in("m"), "key value\n");
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);

	/*
	 * A DB_CONFIG that breaks any environment that reads it: an
	 * unknown directive and a data directory that does not exist.
	 */
	ck_assert_int_eq(chdir(dir), 0);
	write_str("DB_CONFIG", "set_data_dir /nonexistent\nthis is garbage\n");

	/* Control: an environment whose home is here does read it. */
	ck_assert_int_eq(db_env_create(&env, 0), 0);
	env->set_errcall(env, quiet);
	r = env->open(env, dir, DB_CREATE | DB_INIT_MPOOL | DB_PRIVATE, 0);
	ck_assert_int_ne(r, 0);
	(void) env->close(env, 0);

	/* Ours does not: by absolute and by relative name. */
	ck_assert_int_eq(lookup(spec_of("hash", "m"), 0, "key", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "value");
	ck_assert_int_eq(lookup("hash:m", 0, "key", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "value");
	write_str("rel", "other thing\n");
	ck_assert_int_eq(build("btree:rel", 0, 0, &msg), TABLE_OK);
	ck_assert_int_eq(lookup("btree:rel", 0, "other", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "thing");

	/* And a standalone handle, as a careless program would make. */
	ck_assert_int_eq(db_create(&db, NULL, 0), 0);
	(void) db->close(db, 0);
	buf_free(&msg);
}
END_TEST

START_TEST(test_table_list)
{
	struct buf msg, v;
	char    err[TABLE_ERROR_MAX];
	struct table_list *l;
	char    list[512];
	size_t  which = 99;

	buf_init(&msg, 4096);
	buf_init(&v, 256);
	write_str(path_in("m"), "a from-hash\n");
	ck_assert_int_eq(build(spec_of("hash", "m"), 0, 0, &msg), TABLE_OK);
	(void) str_fmt(list, sizeof(list),
		       " %s,inline:{a=from-inline, {b = from-inline}}\n\tstatic:{last resort}",
		       spec_of("hash", "m"));
	l = table_list_open(list, 0, err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	ck_assert_uint_eq(table_list_count(l), 3);
	ck_assert_str_eq(table_spec(table_list_at(l, 1)), "inline:{a=from-inline, {b = from-inline}}");
	ck_assert_int_eq(table_list_get(l, "A", &v, &which), 1);
	ck_assert_str_eq(buf_str(&v), "from-hash");
	ck_assert_uint_eq(which, 0);
	ck_assert_int_eq(table_list_get(l, "b", &v, &which), 1);
	ck_assert_str_eq(buf_str(&v), "from-inline");
	ck_assert_uint_eq(which, 1);
	ck_assert_int_eq(table_list_get(l, "zz", &v, &which), 1);
	ck_assert_str_eq(buf_str(&v), "last resort");
	ck_assert_uint_eq(which, 2);
	ck_assert(!table_list_changed(l));
	table_list_close(l);

	/* An error in an earlier table stops the search. */
	{
		struct buf small;

		buf_init(&small, 4);
		l = table_list_open("inline:{a=toolong} static:ok", 0, err, sizeof(err));
		ck_assert_ptr_nonnull(l);
		ck_assert_int_eq(table_list_get(l, "a", &small, &which), -1);
		ck_assert_uint_eq(which, 0);
		ck_assert_str_ne(l->error, "");
		table_list_close(l);
		buf_free(&small);
	}

	l = table_list_open("", 0, err, sizeof(err));
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(table_list_count(l), 0);
	ck_assert_int_eq(table_list_get(l, "a", &v, NULL), 0);
	table_list_close(l);

	ck_assert_ptr_null(table_list_open("static:a, inline:{a=b", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "unbalanced"));
	ck_assert_ptr_null(table_list_open("static:a, aliases", 0, err, sizeof(err)));
	ck_assert_str_eq(err, "table 'aliases' has no type: write hash:aliases");
	buf_free(&msg);
	buf_free(&v);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("table");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hash_build_lookup);
	tcase_add_test(tc, test_btree_build_lookup);
	tcase_add_test(tc, test_nofold_build);
	tcase_add_test(tc, test_nonul_keys_found);
	tcase_add_test(tc, test_alias_format);
	tcase_add_test(tc, test_malformed_lines);
	tcase_add_test(tc, test_many_errors_capped);
	tcase_add_test(tc, test_failed_build_keeps_old_table);
	tcase_add_test(tc, test_duplicates_keep_first);
	tcase_add_test(tc, test_empty_source);
	tcase_add_test(tc, test_missing_source_and_db);
	tcase_add_test(tc, test_wrong_db_type);
	tcase_add_test(tc, test_spec_errors);
	tcase_add_test(tc, test_static_inline);
	tcase_add_test(tc, test_inline_element_limit);
	tcase_add_test(tc, test_unix_tables);
	tcase_add_test(tc, test_changed_and_reopen);
	tcase_add_test(tc, test_key_bounds);
	tcase_add_test(tc, test_line_and_value_bounds);
	tcase_add_test(tc, test_mode_follows_source);
	tcase_add_test(tc, test_root_builds_as_owner);
	tcase_add_test(tc, test_db_config_in_cwd_is_ignored);
	tcase_add_test(tc, test_table_list);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
