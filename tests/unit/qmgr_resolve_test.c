/*
 * qmgr_resolve_test - check suite for qmgr/qmgr_resolve.c and
 * qmgr/qmgr_transport.c: local domains, the address classes with
 * relayhost, transport_maps (mocked lookups: order, wildcards,
 * failures; discard:, error:, smtp:[host]:port), transport names that
 * cannot be services, each transport's limits from main.cf, and the
 * content filter's route.
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
	qmgr_transport_reset();
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

START_TEST(test_remote)
{
	struct qmgr_route rt;

	load_cfg("");
	reset();
	/* Any other domain: default_transport, the domain as the next hop. */
	qmgr_resolve("someone@example.org", &rt);
	ck_assert_int_eq(rt.status, 0);
	ck_assert_str_eq(rt.transport, "smtp");
	ck_assert_str_eq(rt.nexthop, "example.org");
	ck_assert_str_eq(rt.tp->service, "private/smtp");

	/* relayhost is the next hop of the relay and the default classes. */
	load_cfg("relay_domains = relayed.org\nrelayhost = [smart.example.net]:2525\n");
	reset();
	qmgr_resolve("x@relayed.org", &rt);
	ck_assert_str_eq(rt.transport, "relay");
	ck_assert_str_eq(rt.nexthop, "[smart.example.net]:2525");
	qmgr_resolve("x@elsewhere.org", &rt);
	ck_assert_str_eq(rt.transport, "smtp");
	ck_assert_str_eq(rt.nexthop, "[smart.example.net]:2525");
	/* Never for local mail. */
	qmgr_resolve("x@example.com", &rt);
	ck_assert_str_eq(rt.transport, "local");
	ck_assert_str_eq(rt.nexthop, "mx.example.com");

	/* A class transport with its own next hop wins over relayhost. */
	load_cfg("relayhost = [smart.example.net]\n"
		 "default_transport = slow:[10.0.0.1]:25\nrelay_transport = relay:\n"
		 "relay_domains = relayed.org\n");
	reset();
	qmgr_resolve("x@elsewhere.org", &rt);
	ck_assert_str_eq(rt.transport, "slow");
	ck_assert_str_eq(rt.nexthop, "[10.0.0.1]:25");
	ck_assert_str_eq(rt.tp->service, "private/slow");
	qmgr_resolve("x@relayed.org", &rt);
	ck_assert_str_eq(rt.transport, "relay");
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
	ck_assert_int_eq(rt.status, 0);
	ck_assert_str_eq(rt.transport, "smtp");
	ck_assert_str_eq(rt.nexthop, "[backup.example.com]");

	/* What a Postfix administrator writes. */
	table[3][0] = "gone.org";
	table[3][1] = "error:5.1.1 gone";
	table[4][0] = "quiet.org";
	table[4][1] = "discard:";
	table[5][0] = "hub.org";
	table[5][1] = "smtp:[127.0.0.1]:2525";
	table[6][0] = "mx.org";
	table[6][1] = "smtp:mail.mx.org";
	table[7][0] = "keep.org";
	table[7][1] = ":[10.1.1.1]";
	qmgr_resolve("a@gone.org", &rt);
	ck_assert_str_eq(rt.transport, "error");
	ck_assert_str_eq(rt.nexthop, "5.1.1 gone");
	ck_assert_str_eq(rt.tp->service, "private/error");
	qmgr_resolve("a@quiet.org", &rt);
	ck_assert_str_eq(rt.transport, "discard");
	ck_assert_str_eq(rt.nexthop, "quiet.org");
	qmgr_resolve("a@hub.org", &rt);
	ck_assert_str_eq(rt.transport, "smtp");
	ck_assert_str_eq(rt.nexthop, "[127.0.0.1]:2525");
	qmgr_resolve("a@mx.org", &rt);
	ck_assert_str_eq(rt.nexthop, "mail.mx.org");
	qmgr_resolve("a@keep.org", &rt);
	ck_assert_str_eq(rt.transport, "smtp");		/* the class's */
	ck_assert_str_eq(rt.nexthop, "[10.1.1.1]");

	/* Not in the table: the usual class; "*" is the last resort. */
	asked[0] = '\0';
	qmgr_resolve("alice@example.com", &rt);
	ck_assert_str_eq(rt.transport, "local");
	ck_assert_ptr_nonnull(strstr(asked, "|*|"));
	table[8][0] = "*";
	table[8][1] = "local";
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
	table[0][1] = "../cleanup:gateway";
	qmgr_resolve("alice@example.com", &rt);
	ck_assert_int_eq(rt.status, 4);
	ck_assert_str_eq(rt.dsn, "4.3.0");
	ck_assert_ptr_nonnull(strstr(rt.reason, "mail transport unavailable"));
	ck_assert_ptr_nonnull(strstr(rt.reason, "is not a transport name"));

	/* Any valid name is a transport: whether it exists shows later. */
	table[0][1] = "uucp:gateway";
	qmgr_resolve("alice@example.com", &rt);
	ck_assert_int_eq(rt.status, 0);
	ck_assert_str_eq(rt.tp->service, "private/uucp");

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

/* A content filter (FILTER transport:nexthop) routes every recipient. */
START_TEST(test_filter)
{
	struct qmgr_route rt;

	load_cfg("transport_maps = inline:{x=y}\nrelayhost = [smart.example.net]\n");
	reset();
	table[0][0] = "example.com";
	table[0][1] = "error:5.1.1 gone";
	qmgr_resolve_filter("alice@example.com", "scan:[127.0.0.1]:10025", &rt);
	ck_assert_int_eq(rt.status, 0);
	ck_assert_str_eq(rt.transport, "scan");
	ck_assert_str_eq(rt.nexthop, "[127.0.0.1]:10025");
	ck_assert_str_eq(rt.tp->service, "private/scan");
	/* transport_maps is not asked: the filter decides. */
	ck_assert_str_eq(asked, "");
	/* An empty next hop is the class's (relayhost here); a local one. */
	qmgr_resolve_filter("x@elsewhere.org", "smtp:", &rt);
	ck_assert_str_eq(rt.transport, "smtp");
	ck_assert_str_eq(rt.nexthop, "[smart.example.net]");
	qmgr_resolve_filter("alice@example.com", "scan", &rt);
	ck_assert_str_eq(rt.transport, "scan");
	ck_assert_str_eq(rt.nexthop, "mx.example.com");
	/* No filter: the usual route (transport_maps asked). */
	qmgr_resolve_filter("alice@example.com", NULL, &rt);
	ck_assert_str_eq(rt.transport, "error");
	qmgr_resolve_filter("alice@example.com", "", &rt);
	ck_assert_str_eq(rt.transport, "error");
	/* A filter that names no service defers. */
	qmgr_resolve_filter("alice@example.com", "a/b:x", &rt);
	ck_assert_int_eq(rt.status, 4);
	ck_assert_str_eq(rt.dsn, "4.3.0");

	/* default_filter_nexthop fills an empty next hop, never a given one. */
	load_cfg("default_filter_nexthop = [127.0.0.1]:10024\n");
	reset();
	qmgr_resolve_filter("x@elsewhere.org", "smtp:", &rt);
	ck_assert_str_eq(rt.transport, "smtp");
	ck_assert_str_eq(rt.nexthop, "[127.0.0.1]:10024");
	qmgr_resolve_filter("x@elsewhere.org", "smtp:[192.0.2.1]:25", &rt);
	ck_assert_str_eq(rt.nexthop, "[192.0.2.1]:25");
}
END_TEST

START_TEST(test_transports)
{
	struct qmgr_transport *local, *smtp, *slow, *again;
	char    name[16];

	load_cfg("default_destination_concurrency_limit = 7\n"
		 "local_destination_concurrency_limit = 3\n"
		 "slow_destination_concurrency_limit = 2\n"
		 "slow_destination_recipient_limit = 1\n"
		 "smtp_initial_destination_concurrency = 9\n");
	reset();
	local = qmgr_transport_get("local");
	smtp = qmgr_transport_get("smtp");
	slow = qmgr_transport_get("slow");
	ck_assert_int_eq(local->dest_limit, 3);
	ck_assert_int_eq(local->rcpt_limit, 1);
	ck_assert(local->per_rcpt);
	ck_assert_int_eq(smtp->dest_limit, 7);
	ck_assert_int_eq(smtp->rcpt_limit, 50);
	ck_assert_int_eq(smtp->init_conc, 9);
	ck_assert(!smtp->per_rcpt);
	ck_assert_int_eq(slow->dest_limit, 2);
	ck_assert(slow->per_rcpt);
	ck_assert_int_eq(slow->init_conc, 5);
	again = qmgr_transport_get("smtp");
	ck_assert_ptr_eq(again, smtp);
	ck_assert_ptr_null(qmgr_transport_get(""));
	ck_assert_ptr_null(qmgr_transport_get("a/b"));
	ck_assert_ptr_null(qmgr_transport_get(".."));
	/* Bounded: a table full of made-up transports stops somewhere. */
	for (int i = 0; i < QMGR_TRANSPORTS_MAX; i++) {
		(void) str_fmt(name, sizeof(name), "t%d", i);
		(void) qmgr_transport_get(name);
	}
	ck_assert_uint_eq(qmgr_ntransports, QMGR_TRANSPORTS_MAX);
	ck_assert_ptr_null(qmgr_transport_get("onemore"));
	ck_assert_ptr_eq(qmgr_transport_get("smtp"), smtp);
	qmgr_transport_reset();
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qmgr_resolve");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_local);
	tcase_add_test(tc, test_remote);
	tcase_add_test(tc, test_transport_maps);
	tcase_add_test(tc, test_failures);
	tcase_add_test(tc, test_transports);
	tcase_add_test(tc, test_filter);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
