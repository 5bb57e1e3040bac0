/*
 * lookup_clnt_test - check suite for lib/svc/lookup_clnt: Postfix's address
 * lookup order and result rewriting, bounds (direct mode).  The
 * client's connection handling against the real server is tested in
 * lookup_server_test.c, which links the server.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "test_config.h"
#include "scratch.h"

#include "buf.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "lookup_clnt.h"
#include "lookup_maps.h"
#include "params.h"
#include "str.h"
#include "table.h"

static char dir[64];

static void
teardown(void)
{
	scratch_remove(dir, "/tmp/lookup_clnt.");
}

static void
setup_cfg(const char *lines)
{
	char    text[8192];

	(void) str_copy(dir, sizeof(dir), "/tmp/lookup_clnt.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(str_fmt(text, sizeof(text), "alias_maps =\n%s", lines), 0);
	test_config_load(dir, text);
}

static const char *virt =
	"mydestination = localhost, example.com\n"
	"recipient_delimiter = +\n"
	"virtual_alias_maps = inline:{ a@example.org=x@y, b@example.org=@other.net,"
	" {c@example.org = c1@y, c2}, @catch.org=all@y, local=l@y, plain=p@y,"
	" postmaster=pm@y, {multi@example.org = m1@y, m2@z}, "
	" {q@example.org = \"a b\"@y} }\n";

/* addr - lookup_addr() result and value (or "" when not found) */
static int
addr(const char *a, char *out, size_t size)
{
	struct buf v;
	int     r;

	buf_init(&v, TABLE_VALUE_MAX);
	r = lookup_addr("virtual_alias_maps", a, &v);
	(void) str_copy(out, size, r > 0 ? buf_str(&v) : "");
	buf_free(&v);
	return r;
}

START_TEST(test_addr_order_and_rewriting)
{
	char    v[512];

	setup_cfg(virt);
	lookup_clnt_direct(true);

	ck_assert_int_eq(addr("a@example.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "x@y");
	/* user@domain after user+ext@domain; the extension propagates. */
	ck_assert_int_eq(addr("a+ext@example.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "x+ext@y");
	ck_assert_int_eq(addr("multi+e@example.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "m1+e@y, m2+e@z");
	/* Quoted results keep their quotes; no extension inside them. */
	ck_assert_int_eq(addr("q+e@example.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "\"a b\"@y");
	/* "@otherdomain": the same local part, extension included. */
	ck_assert_int_eq(addr("b@example.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "b@other.net");
	ck_assert_int_eq(addr("b+e@example.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "b+e@other.net");
	/* Several results, no rewriting: as the table has them. */
	ck_assert_int_eq(addr("c@example.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "c1@y, c2");
	/* @domain last, and without extension propagation. */
	ck_assert_int_eq(addr("zz@catch.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "all@y");
	ck_assert_int_eq(addr("zz+e@catch.org", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "all@y");
	/* The bare user only in a local domain (mydestination). */
	ck_assert_int_eq(addr("local@example.com", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "l@y");
	ck_assert_int_eq(addr("local@EXAMPLE.COM", v, sizeof(v)), 1);
	ck_assert_int_eq(addr("local@example.org", v, sizeof(v)), 0);
	ck_assert_int_eq(addr("local+x@localhost", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "l+x@y");
	/* No domain at all. */
	ck_assert_int_eq(addr("plain", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "p@y");
	ck_assert_int_eq(addr("plain+x", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "p+x@y");
	ck_assert_int_eq(addr("postmaster@example.com", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "pm@y");
	ck_assert_int_eq(addr("postmaster+x@example.com", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "pm+x@y");
	/* Nothing for the null address or strangers. */
	ck_assert_int_eq(addr("", v, sizeof(v)), 0);
	ck_assert_int_eq(addr("nobody@nowhere.test", v, sizeof(v)), 0);
}
END_TEST

START_TEST(test_addr_without_delimiter)
{
	char    v[512];

	setup_cfg("mydestination = localhost\n"
		  "virtual_alias_maps = inline:{ a@example.org=x@y }\n");
	lookup_clnt_direct(true);
	ck_assert_int_eq(addr("a@example.org", v, sizeof(v)), 1);
	ck_assert_int_eq(addr("a+ext@example.org", v, sizeof(v)), 0);
}
END_TEST

START_TEST(test_get_bounds_and_params)
{
	struct buf v;

	setup_cfg("virtual_alias_maps = inline:{ a=0123456789 }\n");
	lookup_clnt_direct(true);
	buf_init(&v, 10);
	ck_assert_int_eq(lookup_get("virtual_alias_maps", "a", &v), 1);
	ck_assert_str_eq(buf_str(&v), "0123456789");
	buf_free(&v);
	buf_init(&v, 9);			/* one byte short */
	ck_assert_int_eq(lookup_get("virtual_alias_maps", "a", &v), -1);
	ck_assert_int_eq(lookup_get("mydestination", "a", &v), -1);
	ck_assert_msg(strstr(lookup_clnt_error(), "mydestination") != NULL, "%s",
		      lookup_clnt_error());
	/* An empty parameter answers "not found" without any service. */
	lookup_clnt_direct(false);
	lookup_clnt_set_path("/nonexistent/lookup");
	ck_assert_int_eq(lookup_get("canonical_maps", "a", &v), 0);
	ck_assert_int_eq(lookup_get("virtual_alias_maps", "a", &v), -1);
	ck_assert_msg(strstr(lookup_clnt_error(), "cannot connect") != NULL, "%s",
		      lookup_clnt_error());
	buf_free(&v);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("lookup_clnt");
	TCase  *tc = tcase_create("core");

	log_init("lookup_clnt_test", LOG_DEST_STDERR);
	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_addr_order_and_rewriting);
	tcase_add_test(tc, test_addr_without_delimiter);
	tcase_add_test(tc, test_get_bounds_and_params);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
