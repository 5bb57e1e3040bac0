/*
 * param_class_test - check suite for lib/svc/param_class: every name is in
 * exactly one class, params.def wins, patterns match as documented, and
 * every Postfix 3.7 parameter name is classified (none is "unknown",
 * so none is silently ignored).
 */
#include <check.h>
#include <string.h>

#include "check_main.h"

#include "param_class.h"
#include "params.h"

/* The same list param_postfix_name() searches. */
static const char *const postfix_names[] = {
#define POSTFIX_NAME(n)	n,
#include "postfix_names.def"
#undef POSTFIX_NAME
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* matches - how many entries of class cls match name */
static int
matches(const char *name, enum param_class cls)
{
	int     n = 0;

	for (size_t i = 0; i < param_class_count; i++)
		if (param_class_table[i].cls == cls
		    && param_pattern_match(param_class_table[i].pattern, name))
			n++;
	return n;
}

/* in_both - name matches an unsupported and an ignored entry */
static void
assert_one_class(const char *name)
{
	int     u = matches(name, PARAM_UNSUPPORTED), g = matches(name, PARAM_IGNORED);

	ck_assert_msg(!(u && g), "%s matches both an unsupported and an ignored "
		      "entry of params_postfix.def", name);
}

START_TEST(test_patterns)
{
	ck_assert(param_pattern_match("*_tls_*", "smtpd_tls_security_level"));
	ck_assert(param_pattern_match("*_tls_*", "smtp_tls_CApath"));
	ck_assert(!param_pattern_match("*_tls_*", "tls_random_source"));
	ck_assert(param_pattern_match("tls_*", "tls_random_source"));
	ck_assert(param_pattern_match("*_restrictions", "smtpd_relay_restrictions"));
	ck_assert(!param_pattern_match("*_restrictions", "smtpd_relay_restrictions_x"));
	ck_assert(param_pattern_match("*", ""));
	ck_assert(param_pattern_match("a*b*c", "abc"));
	ck_assert(param_pattern_match("a*b*c", "axxbyyc"));
	ck_assert(!param_pattern_match("a*b*c", "axxbyy"));
	ck_assert(param_pattern_match("*milter*", "milter_default_action"));
	ck_assert(param_pattern_match("*milter*", "non_smtpd_milters"));
	ck_assert(!param_pattern_match("biff", "biff2"));
	ck_assert(!param_pattern_match("biff2", "biff"));
}
END_TEST

START_TEST(test_no_entry_in_two_classes)
{
	/* Every pattern, taken as a name, and every Postfix name. */
	for (size_t i = 0; i < param_class_count; i++)
		if (strchr(param_class_table[i].pattern, '*') == NULL)
			assert_one_class(param_class_table[i].pattern);
	for (size_t i = 0; i < N(postfix_names); i++)
		assert_one_class(postfix_names[i]);
}
END_TEST

START_TEST(test_params_def_wins)
{
	const char *what;

	/* Implemented names are implemented whatever the other file says. */
	for (size_t i = 0; i < param_count; i++)
		ck_assert_int_eq(param_class(param_table[i].name, &what), PARAM_IMPLEMENTED);
	/* default_transport matches "*_transport", but params.def has it. */
	ck_assert_int_ge(matches("default_transport", PARAM_UNSUPPORTED), 1);
	ck_assert_int_eq(param_class("default_transport", NULL), PARAM_IMPLEMENTED);
}
END_TEST

START_TEST(test_every_postfix_name_classified)
{
	for (size_t i = 0; i < N(postfix_names); i++)
		ck_assert_msg(param_class(postfix_names[i], NULL) != PARAM_UNKNOWN,
			      "Postfix parameter %s is in no class: add it to "
			      "lib/svc/params_postfix.def", postfix_names[i]);
}
END_TEST

START_TEST(test_postfix_names)
{
	/* Sorted, so that bsearch finds every one. */
	for (size_t i = 1; i < N(postfix_names); i++)
		ck_assert_msg(strcmp(postfix_names[i - 1], postfix_names[i]) < 0,
			      "postfix_names.def: %s before %s", postfix_names[i - 1],
			      postfix_names[i]);
	for (size_t i = 0; i < N(postfix_names); i++)
		ck_assert(param_postfix_name(postfix_names[i]));
	ck_assert(param_postfix_name("smtpd_client_restrictions"));
	ck_assert(!param_postfix_name("mua_client_restrictions"));
	ck_assert(!param_postfix_name(""));
	ck_assert(!param_postfix_name("zzz"));
}
END_TEST

START_TEST(test_the_issue_examples)
{
	static const char *const unsupported[] = {
		"smtpd_milters", "non_smtpd_milters",
		"virtual_mailbox_domains", "virtual_mailbox_maps",
		"mailbox_transport", "internal_mail_filter_classes", "smtp_tls_fingerprint_digest",
		"smtp_bind_address", "smtp_tls_session_cache_database",
		"smtpd_use_tls", "relay_recipient_maps",
	};
	static const char *const ignored[] = {
		"readme_directory", "compatibility_level", "html_directory",
		"manpage_directory", "sample_directory",
	};
	const char *what;

	for (size_t i = 0; i < N(unsupported); i++) {
		ck_assert_msg(param_class(unsupported[i], &what) == PARAM_UNSUPPORTED,
			      "%s", unsupported[i]);
		ck_assert(what[0] != '\0');
	}
	for (size_t i = 0; i < N(ignored); i++)
		ck_assert_msg(param_class(ignored[i], &what) == PARAM_IGNORED, "%s",
			      ignored[i]);
	ck_assert_int_eq(param_class("myhostnme", &what), PARAM_UNKNOWN);
	ck_assert_str_eq(what, "");
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("param_class");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_patterns);
	tcase_add_test(tc, test_no_entry_in_two_classes);
	tcase_add_test(tc, test_params_def_wins);
	tcase_add_test(tc, test_every_postfix_name_classified);
	tcase_add_test(tc, test_the_issue_examples);
	tcase_add_test(tc, test_postfix_names);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
