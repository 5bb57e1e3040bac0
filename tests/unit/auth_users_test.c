/*
 * auth_users_test - check suite for lib/svc/auth_users.c: the table's format
 * (hash methods, Dovecot scheme prefixes, comments), its errors (named
 * with the line), and the password check.
 */
#include <check.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"

#include "auth_users.h"

static char dir[] = "/tmp/auth_users_test.XXXXXX";
static char path[600];

static const char *
hash(const char *prefix, const char *password)
{
	static char out[4][CRYPT_OUTPUT_SIZE];
	static int i;
	char	setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data data;

	i = (i + 1) % 4;
	memset(&data, 0, sizeof(data));
	ck_assert_ptr_nonnull(crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof(setting)));
	ck_assert_ptr_nonnull(crypt_rn(password, setting, &data, sizeof(data)));
	snprintf(out[i], sizeof(out[i]), "%s", data.output);
	return out[i];
}

static void
write_table(const char *text)
{
	FILE   *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* load_error - the table does not load; the reason names want */
static void
load_error(const char *text, const char *want)
{
	char	why[700];
	struct auth_users *t;

	write_table(text);
	t = auth_users_load(path, why, sizeof(why));
	ck_assert_msg(t == NULL, "table loaded: %s", text);
	ck_assert_msg(strstr(why, want) != NULL, "\"%s\" not in \"%s\"", want, why);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
}

static void
teardown(void)
{
	scratch_remove(dir, "/tmp/auth_users_test.");
}

START_TEST(test_check)
{
	char	text[4096], why[600];
	struct auth_users *t;

	snprintf(text, sizeof(text), "# users\n\n"
		 "alice@example.org:%s\n"
		 "bob:%s:1000:1000::/home/bob:/bin/sh\n"
		 "carol:{SHA512-CRYPT}%s\r\n"
		 "dave:{CRYPT}%s",
		 hash("$y$", "wonderland"), hash("$6$", "builder"),
		 hash("$6$", "c4r0l"), hash("$2b$", "d"));
	write_table(text);
	t = auth_users_load(path, why, sizeof(why));
	ck_assert_msg(t != NULL, "%s", why);
	ck_assert_uint_eq(auth_users_count(t), 4);
	ck_assert_int_eq(auth_users_check(t, "alice@example.org", "wonderland"), AUTH_OK);
	ck_assert_int_eq(auth_users_check(t, "alice@example.org", "Wonderland"), AUTH_FAIL);
	ck_assert_int_eq(auth_users_check(t, "alice@example.org", ""), AUTH_FAIL);
	ck_assert_int_eq(auth_users_check(t, "Alice@example.org", "wonderland"), AUTH_FAIL);
	ck_assert_int_eq(auth_users_check(t, "bob", "builder"), AUTH_OK);
	ck_assert_int_eq(auth_users_check(t, "carol", "c4r0l"), AUTH_OK);
	ck_assert_int_eq(auth_users_check(t, "dave", "d"), AUTH_OK);
	ck_assert_int_eq(auth_users_check(t, "eve", "wonderland"), AUTH_FAIL);
	ck_assert_int_eq(auth_users_check(t, "", ""), AUTH_FAIL);
	auth_users_free(t);
}
END_TEST

START_TEST(test_errors)
{
	char	text[8192];

	load_error("alice\n", "line 1: expected name:hash");
	load_error("# c\nal ice:$6$x$y\n", "line 2: expected name:hash");
	load_error(":$6$abc$def\n", "line 1: expected name:hash");
	load_error("alice:secret\n", "line 1: not a crypt(3) hash");
	load_error("alice:abJnggxhB/yWI\n", "line 1: not a crypt(3) hash");	/* DES */
	snprintf(text, sizeof(text), "alice:%s\n", hash("$1$", "x"));
	load_error(text, "line 1: a legacy or disabled hash method");
	snprintf(text, sizeof(text), "alice:%s\nbob:%s\nalice:%s\n", hash("$6$", "a"),
		 hash("$6$", "b"), hash("$6$", "c"));
	load_error(text, "user alice is listed twice");
	memset(text, 'x', 5000);
	text[5000] = '\0';
	load_error(text, "line 1: longer than 4096 bytes");
	{
		char	why[700];

		snprintf(path, sizeof(path), "%s/nope", dir);
		ck_assert_ptr_null(auth_users_load(path, why, sizeof(why)));
		ck_assert_msg(strstr(why, "nope: No such file") != NULL, "%s", why);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("auth_users");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
