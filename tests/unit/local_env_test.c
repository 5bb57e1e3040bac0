/*
 * local_env_test - check suite for local/local_env.c: the clean
 * environment of delivery commands, and the values it refuses.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"

#include "../../local/local.h"

static const char *
get(const struct local_env *e, const char *name)
{
	size_t  n = strlen(name);

	for (int i = 0; i < e->n; i++)
		if (strncmp(e->vars[i], name, n) == 0 && e->vars[i][n] == '=')
			return e->vars[i] + n + 1;
	return NULL;
}

START_TEST(test_all)
{
	struct local_env e;
	struct local_env_vals v = {
		.sender = "a@b.org", .recipient = "bob+x@example.com", .local = "bob+x",
		.domain = "example.com", .extension = "x", .home = "/home/bob",
		.user = "bob", .shell = "/bin/sh", .path = "/usr/bin:/bin",
	};

	local_env_build(&e, &v);
	ck_assert_int_eq(e.n, 10);
	ck_assert_ptr_null(e.vars[e.n]);
	ck_assert_str_eq(get(&e, "SENDER"), "a@b.org");
	ck_assert_str_eq(get(&e, "RECIPIENT"), "bob+x@example.com");
	ck_assert_str_eq(get(&e, "LOCAL"), "bob+x");
	ck_assert_str_eq(get(&e, "DOMAIN"), "example.com");
	ck_assert_str_eq(get(&e, "EXTENSION"), "x");
	ck_assert_str_eq(get(&e, "HOME"), "/home/bob");
	ck_assert_str_eq(get(&e, "USER"), "bob");
	ck_assert_str_eq(get(&e, "LOGNAME"), "bob");
	ck_assert_str_eq(get(&e, "SHELL"), "/bin/sh");
	ck_assert_str_eq(get(&e, "PATH"), "/usr/bin:/bin");
	ck_assert_int_eq(e.omitted, 0);
	local_env_free(&e);
}
END_TEST

START_TEST(test_refused_values)
{
	struct local_env e;
	char    longv[LOCAL_PATH_MAX + 2];
	struct local_env_vals v = {
		.sender = "", .recipient = "x@y\nInjected: yes", .local = "a\rb",
		.home = "/h", .user = "u",
	};

	local_env_build(&e, &v);
	/* The null sender is an empty value, not a missing one. */
	ck_assert_str_eq(get(&e, "SENDER"), "");
	ck_assert_ptr_null(get(&e, "RECIPIENT"));
	ck_assert_ptr_null(get(&e, "LOCAL"));
	ck_assert_ptr_null(get(&e, "DOMAIN"));	/* NULL: silently absent */
	ck_assert_int_eq(e.omitted, 2);
	ck_assert_str_eq(e.omitted_names, "RECIPIENT LOCAL");
	local_env_free(&e);

	/* The length bound: exactly LOCAL_PATH_MAX passes, one more does not. */
	memset(longv, 'a', sizeof(longv));
	longv[LOCAL_PATH_MAX] = '\0';
	v.recipient = longv;
	v.local = "ok";
	local_env_build(&e, &v);
	ck_assert_ptr_nonnull(get(&e, "RECIPIENT"));
	local_env_free(&e);
	longv[LOCAL_PATH_MAX] = 'a';
	longv[LOCAL_PATH_MAX + 1] = '\0';
	local_env_build(&e, &v);
	ck_assert_ptr_null(get(&e, "RECIPIENT"));
	ck_assert_int_eq(e.omitted, 1);
	local_env_free(&e);

	/* DEL is a control character too. */
	v.recipient = "a\x7f";
	local_env_build(&e, &v);
	ck_assert_ptr_null(get(&e, "RECIPIENT"));
	local_env_free(&e);
}
END_TEST

START_TEST(test_nothing_inherited)
{
	struct local_env e;
	struct local_env_vals v = {0};

	/* The process environment never leaks in. */
	local_env_build(&e, &v);
	ck_assert_int_eq(e.n, 0);
	ck_assert_ptr_null(e.vars[0]);
	local_env_free(&e);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("local_env");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_all);
	tcase_add_test(tc, test_refused_values);
	tcase_add_test(tc, test_nothing_inherited);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
