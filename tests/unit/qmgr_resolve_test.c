/*
 * qmgr_resolve_test - check suite for qmgr/qmgr_resolve.c: local
 * domains, transport_maps (mocked lookups: order, wildcards, failures),
 * relay_domains, unknown transports and transports without an agent.
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
#include "str.h"
#include "../../qmgr/qmgr.h"


static void
load_cfg(const char *lines)
{
	char    text[8192];

	ck_assert_int_eq(str_fmt(text, sizeof(text), "myhostname = mx.example.com\n"
				 "mydestination = example.com, localhost, $myhostname\n%s",
				 lines), 0);
	test_config_text(text);
}

/* A transport table in memory, and a record of the keys asked. */
static const char *table[16][2];
static char asked[1024];
static bool fail_lookups;

static int
mock_lookup(const char *param, const char *key, struct buf *value)
{
	ck_assert_str_eq(param, "transport_maps");
	(void) str_append(asked, sizeof(asked), key);
	(void) str_append(asked, sizeof(asked), "|");
	if (fail_lookups)
		return -1;
	for (int i = 0; table[i][0]; i++)
		if (str_eq(table[i][0], key)) {
			(void) buf_puts(value, table[i][1]);
			return 1;
		}
	return 0;
}

static void
reset(void)
{
	memset(table, 0, sizeof(table));
	asked[0] = '\0';
	fail_lookups = false;
	qmgr_resolve_set_lookup(mock_lookup);
}

START_TEST(test_local)
{
	struct qmgr_route rt;

	load_cfg("");
	reset();
	qmgr_resolve("alice@example.com", &rt);
	ck_assert_int_eq(rt.status, 0);
	ck_assert_str_eq(rt.transport, "local");
	ck_assert_ptr_nonnull(rt.tp);
	ck_assert_str_eq(rt.tp->service, "private/local");
	qmgr_resolve("bob@LOCALHOST", &rt);
	ck_assert_str_eq(rt.transport, "local");
	qmgr_resolve("postmaster", &rt);	/* no domain: local */
	ck_assert_str_eq(rt.transport, "local");
	qmgr_resolve("\"a b\"@mx.example.com", &rt);
	ck_assert_str_eq(rt.transport, "local");
	/* No transport_maps: no lookups at all. */
	ck_assert_str_eq(asked, "");
	ck_assert(qmgr_is_local_domain(""));
	ck_assert(qmgr_is_local_domain("Example.COM"));
	ck_assert(!qmgr_is_local_domain("example.org"));
}
END_TEST

START_TEST(test_remote_waits)
{
	struct qmgr_route rt;

	load_cfg("");
	reset();
	qmgr_resolve("someone@example.org", &rt);
	ck_assert_int_eq(rt.status, 4);
	ck_assert_str_eq(rt.dsn, "4.4.1");
	ck_assert_ptr_nonnull(strstr(rt.reason, "remote delivery is not available yet"));
	ck_assert_str_eq(rt.transport, "smtp");
	ck_assert_str_eq(rt.nexthop, "example.org");
	ck_assert_ptr_null(rt.tp->service);

	load_cfg("relay_domains = relayed.org\nrelayhost = [smart.example.net]\n");
	reset();
	qmgr_resolve("x@relayed.org", &rt);
	ck_assert_str_eq(rt.transport, "relay");
	qmgr_resolve("x@elsewhere.org", &rt);
	ck_assert_str_eq(rt.transport, "smtp");
	ck_assert_str_eq(rt.nexthop, "[smart.example.net]");
}
END_TEST

START_TEST(test_transport_maps)
{
	struct qmgr_route rt;

	load_cfg("transport_maps = hash:/nonexistent/transport\n");
	reset();
	table[0][0] = "special.org";
	table[0][1] = "local:";
	table[1][0] = ".sub.example.net";
	table[1][1] = "local:[127.0.0.1]";
	table[2][0] = "vip@example.com";
	table[2][1] = "smtp:[backup.example.com]";

	qmgr_resolve("Someone@Special.ORG", &rt);
	ck_assert_int_eq(rt.status, 0);
	ck_assert_str_eq(rt.transport, "local");
	ck_assert_str_eq(rt.nexthop, "special.org");
	/* The address first, then the domain. */
	ck_assert_str_eq(asked, "someone@special.org|special.org|");

	asked[0] = '\0';
	qmgr_resolve("a@deep.sub.example.net", &rt);
	ck_assert_int_eq(rt.status, 0);
	ck_assert_str_eq(rt.nexthop, "[127.0.0.1]");
	ck_assert_str_eq(asked, "a@deep.sub.example.net|deep.sub.example.net|"
			 ".sub.example.net|");

	/* An entry can also send a local domain elsewhere. */
	qmgr_resolve("vip@example.com", &rt);
	ck_assert_str_eq(rt.transport, "smtp");
	ck_assert_str_eq(rt.nexthop, "[backup.example.com]");
	ck_assert_int_eq(rt.status, 4);

	/* Not in the table: the usual class; "*" is the last resort. */
	asked[0] = '\0';
	qmgr_resolve("alice@example.com", &rt);
	ck_assert_str_eq(rt.transport, "local");
	ck_assert_ptr_nonnull(strstr(asked, "|*|"));
	table[3][0] = "*";
	table[3][1] = "local";
	qmgr_resolve("x@anywhere.org", &rt);
	ck_assert_int_eq(rt.status, 0);
	ck_assert_str_eq(rt.transport, "local");
}
END_TEST

START_TEST(test_failures)
{
	struct qmgr_route rt;

	load_cfg("transport_maps = hash:/nonexistent/transport\n");
	reset();
	fail_lookups = true;
	qmgr_resolve("alice@example.com", &rt);
	ck_assert_int_eq(rt.status, 4);
	ck_assert_str_eq(rt.dsn, "4.3.0");
	ck_assert_ptr_nonnull(strstr(rt.reason, "transport_maps"));

	fail_lookups = false;
	table[0][0] = "example.com";
	table[0][1] = "uucp:gateway";
	qmgr_resolve("alice@example.com", &rt);
	ck_assert_int_eq(rt.status, 4);
	ck_assert_str_eq(rt.dsn, "4.3.0");
	ck_assert_ptr_null(rt.tp);
	ck_assert_ptr_nonnull(strstr(rt.reason, "\"uucp\" is not known"));

	/* A transport name longer than the field is cut, never overflows. */
	{
		char    big[200];

		memset(big, 'x', sizeof(big));
		big[150] = ':';
		big[199] = '\0';
		table[0][1] = big;
		qmgr_resolve("alice@example.com", &rt);
		ck_assert_int_eq(rt.status, 4);
		ck_assert_uint_lt(strlen(rt.transport), sizeof(rt.transport));
	}
}
END_TEST

START_TEST(test_table)
{
	ck_assert_ptr_nonnull(qmgr_transport_find("local"));
	ck_assert_ptr_nonnull(qmgr_transport_find("smtp"));
	ck_assert_ptr_null(qmgr_transport_find("nosuch"));
	ck_assert_ptr_null(qmgr_transport_find(""));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qmgr_resolve");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_local);
	tcase_add_test(tc, test_remote_waits);
	tcase_add_test(tc, test_transport_maps);
	tcase_add_test(tc, test_failures);
	tcase_add_test(tc, test_table);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
