/*
 * smtpd_check_test - check suite for smtpd/smtpd_check.c: local and
 * relay domains, recipient decisions (relay denied, user unknown,
 * temporary lookup failure, postmaster, virtual aliases), the
 * configuration it derives, and the free-space rule with its
 * once-a-second cache.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "test_config.h"

#include "buf.h"
#include "config.h"
#include "params.h"
#include "../../smtpd/smtpd.h"
#include "fake_lookup.h"

static char dir[] = "/tmp/smtpd_check_test.XXXXXX";
static struct ev_loop *loop;

/* A fake lookup service: a few keys, and one that fails. */
static int
fake_lookup(const char *param, const char *address)
{
	if (strstr(address, "fail") != NULL)
		return -1;
	if (strcmp(param, "local_recipient_maps") == 0)
		return strcmp(address, "alice@example.com") == 0
		    || strcmp(address, "alice") == 0;
	if (strcmp(param, "virtual_alias_maps") == 0)
		return strcmp(address, "sales@example.com") == 0;
	return 0;
}

static void
load(const char *extra)
{
	char    text[4096];

	ck_assert_int_eq(str_fmt(text, sizeof(text), "myhostname = mx.example.com\n"
		"mydestination = example.com, Localhost, [192.0.2.9], hash:/x/y\n"
		"relay_domains = relay.example.net, .sub.example.org\n"
		"mynetworks = 192.0.2.0/28\n"
		"local_recipient_maps = inline:{x=y}\n"
		"virtual_alias_maps = inline:{y=z}\n"
		"message_size_limit = 1000\n"
		"%s\n", extra), 0);
	test_config_load(dir, text);
	smtpd_conf_free();
	smtpd_conf_init();
	smtpd_restrict_init();
	fake_lookup_install(fake_lookup);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	loop = ev_loop_new();
	smtpd_loop = loop;
	load("");
}

static void
teardown(void)
{
	char	path[256];

	smtpd_conf_free();
	ev_loop_free(loop);
	{
		struct params *last = (struct params *) cfg;

		config_install(NULL);
		config_free(last);
	}
	(void) snprintf(path, sizeof(path), "%s/main.cf", dir);
	unlink(path);
	rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static bool decided;
static struct smtpd_verdict last_v;

static void
checked(struct smtpd_session *s, const struct smtpd_verdict *v, const char *addr)
{
	(void) s;
	(void) addr;
	decided = true;
	last_v = *v;
}

/* decide - parse rcpt as RCPT TO would and run the check */
static int
decide(const char *client, const char *rcpt, struct smtpd_verdict *v)
{
	struct smtpd_session s;
	struct addr a;
	struct addr_error e;
	size_t	used;

	memset(&s, 0, sizeof(s));
	s.trusted = netlist_match_str(smtpd_conf.mynetworks, client);
	ck_assert_msg(addr_parse_path(rcpt, strlen(rcpt), ADDR_ALLOW_NO_DOMAIN, &a,
				      &used, &e) == 0, "parse %s: %s", rcpt, e.text);
	decided = false;
	if (smtpd_restrict(&s, SMTPD_AT_RCPT, a.addr, v, checked))
		return v->code;
	ck_assert_ptr_nonnull(s.check);
	for (int i = 0; i < 100 && !decided; i++)
		ck_assert_int_ge(ev_run_once(loop, 10), 0);
	ck_assert(decided);
	ck_assert_ptr_null(s.check);
	*v = last_v;
	return v->code;
}

START_TEST(test_domains)
{
	ck_assert(smtpd_domain_local(""));
	ck_assert(smtpd_domain_local("example.com"));
	ck_assert(smtpd_domain_local("EXAMPLE.com"));
	ck_assert(smtpd_domain_local("localhost"));
	ck_assert(smtpd_domain_local("[192.0.2.9]"));
	ck_assert(!smtpd_domain_local("sub.example.com"));	/* exact only */
	ck_assert(!smtpd_domain_local("xample.com"));
	ck_assert_int_eq(smtpd_conf.n_mydestination, 3);	/* table skipped */

	ck_assert(smtpd_domain_relay("relay.example.net"));
	ck_assert(smtpd_domain_relay("a.b.relay.example.net"));
	ck_assert(smtpd_domain_relay("RELAY.example.NET"));
	ck_assert(!smtpd_domain_relay("notrelay.example.net"));
	ck_assert(!smtpd_domain_relay("example.net"));
	ck_assert(!smtpd_domain_relay("sub.example.org"));	/* ".x": subdomains only */
	ck_assert(smtpd_domain_relay("a.sub.example.org"));
	ck_assert(!smtpd_domain_relay(""));
}
END_TEST

START_TEST(test_relay)
{
	struct smtpd_verdict v;

	/* Postfix 3.7's default relay list ends in defer_unauth_destination. */
	ck_assert_int_eq(decide("198.51.100.1", "<x@elsewhere.example>", &v), 454);
	ck_assert_str_eq(v.dsn, "4.7.1");
	ck_assert_str_eq(v.text, "<x@elsewhere.example>: Relay access denied");
	ck_assert_int_eq(decide("198.51.100.1", "<x@[192.0.2.10]>", &v), 454);
	ck_assert_int_eq(decide("192.0.2.1", "<x@elsewhere.example>", &v), 0);
	ck_assert_int_eq(decide("192.0.2.16", "<x@elsewhere.example>", &v), 454);
	ck_assert_int_eq(decide("198.51.100.1", "<x@relay.example.net>", &v), 0);
	ck_assert_int_eq(fake_lookups, 0);		/* relaying needs no lookup */
	load("smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination");
	ck_assert_int_eq(decide("198.51.100.1", "<x@elsewhere.example>", &v), 554);
	ck_assert_str_eq(v.dsn, "5.7.1");
}
END_TEST

START_TEST(test_local)
{
	struct smtpd_verdict v;

	ck_assert_int_eq(decide("198.51.100.1", "<alice@example.com>", &v), 0);
	ck_assert_int_eq(decide("198.51.100.1", "<alice>", &v), 0);
	ck_assert_int_eq(decide("198.51.100.1", "<sales@example.com>", &v), 0);
	ck_assert_int_eq(decide("198.51.100.1", "<zed@example.com>", &v), 550);
	ck_assert_str_eq(v.dsn, "5.1.1");
	ck_assert_str_eq(v.text, "<zed@example.com>: Recipient address rejected: "
			 "User unknown in local recipient table");
	/* A trusted client gets no pass for unknown local users. */
	ck_assert_int_eq(decide("192.0.2.1", "<zed@localhost>", &v), 550);
	ck_assert_int_eq(decide("198.51.100.1", "<zed>", &v), 550);
	ck_assert_int_eq(decide("198.51.100.1", "<zed@[192.0.2.9]>", &v), 550);
}
END_TEST

START_TEST(test_postmaster)
{
	struct smtpd_verdict v;

	fake_lookups = 0;
	ck_assert_int_eq(decide("198.51.100.1", "<postmaster>", &v), 0);
	ck_assert_int_eq(decide("198.51.100.1", "<POSTMASTER>", &v), 0);
	ck_assert_int_eq(fake_lookups, 0);
	/* With a domain it is an ordinary local recipient. */
	ck_assert_int_eq(decide("198.51.100.1", "<postmaster@example.com>", &v), 550);
}
END_TEST

START_TEST(test_lookup_failure)
{
	struct smtpd_verdict v;

	ck_assert_int_eq(decide("198.51.100.1", "<fail@example.com>", &v), 451);
	ck_assert_str_eq(v.dsn, "4.3.0");
	ck_assert_str_eq(v.text, "<fail@example.com>: Temporary lookup failure");
}
END_TEST

START_TEST(test_no_recipient_maps)
{
	struct smtpd_verdict v;

	load("local_recipient_maps =");
	ck_assert_int_eq(decide("198.51.100.1", "<anyone@example.com>", &v), 0);
	load("smtpd_reject_unlisted_recipient = no");
	ck_assert_int_eq(decide("198.51.100.1", "<anyone@example.com>", &v), 0);
	ck_assert_int_eq(decide("198.51.100.1", "<anyone@elsewhere.example>", &v), 454);
	ck_assert_int_eq(fake_lookups, 0);
}
END_TEST

START_TEST(test_no_virtual)
{
	struct smtpd_verdict v;

	load("virtual_alias_maps =");
	ck_assert_int_eq(decide("198.51.100.1", "<sales@example.com>", &v), 550);
	ck_assert_int_eq(fake_lookups, 1);		/* virtual not asked */
}
END_TEST

START_TEST(test_conf)
{
	ck_assert(!smtpd_conf.bare_reject);
	ck_assert_uint_eq(smtpd_conf.minfree, 1500);	/* 1.5 x message_size_limit */
	load("queue_minfree = 5000");
	ck_assert_uint_eq(smtpd_conf.minfree, 5000);
	load("smtpd_forbid_bare_newline = reject\n"
	     "smtpd_forbid_bare_newline_exclusions = 10.0.0.0/8\n"
	     "smtpd_discard_ehlo_keywords = pipelining, dsn");
	ck_assert(smtpd_conf.bare_reject);
	ck_assert(netlist_match_str(smtpd_conf.bare_exclusions, "10.1.2.3"));
	ck_assert_int_eq(smtpd_conf.n_discard_ehlo, 2);
	load("smtpd_forbid_bare_newline = normalize");
	ck_assert(!smtpd_conf.bare_reject);
}
END_TEST

START_TEST(test_space)
{
	char	cwd[4096];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir("/"), 0);
	smtpd_conf.minfree = 1;
	smtpd_check_space_reset();
	ck_assert_int_eq(smtpd_check_space(0, 1000), 0);
	/* A declared size beyond any disk. */
	ck_assert_int_eq(smtpd_check_space(UINT64_MAX - 10, 1001), -1);
	/* /proc has no free space, but the answer is cached for a second. */
	ck_assert_int_eq(chdir("/proc"), 0);
	ck_assert_int_eq(smtpd_check_space(0, 1500), 0);
	ck_assert_int_eq(smtpd_check_space(0, 1999), 0);
	ck_assert_int_eq(smtpd_check_space(0, 2000), -1);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(smtpd_check_space(0, 2500), -1);	/* still cached */
	ck_assert_int_eq(smtpd_check_space(0, 3000), 0);
	/* Free space below minfree. */
	smtpd_conf.minfree = UINT64_MAX;
	ck_assert_int_eq(smtpd_check_space(0, 3001), -1);
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtpd_check");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_domains);
	tcase_add_test(tc, test_relay);
	tcase_add_test(tc, test_local);
	tcase_add_test(tc, test_postmaster);
	tcase_add_test(tc, test_lookup_failure);
	tcase_add_test(tc, test_no_recipient_maps);
	tcase_add_test(tc, test_no_virtual);
	tcase_add_test(tc, test_conf);
	tcase_add_test(tc, test_space);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
