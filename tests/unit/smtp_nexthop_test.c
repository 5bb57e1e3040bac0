/* smtp_nexthop_test - check suite for smtp/smtp_nexthop.c: next hop syntax, MX order. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "../../smtp/smtp.h"

struct nh_case {
	const char *in;
	const char *host;	/* NULL: refused */
	unsigned port;
	bool	mx;
	int	family;
	const char *key;
};

static const struct nh_case nh_cases[] = {
	{"example.org", "example.org", 25, true, 0, "example.org"},
	{"Example.ORG", "example.org", 25, true, 0, "example.org"},
	{"example.org:2525", "example.org", 2525, true, 0, "example.org:2525"},
	{"[mail.example.org]", "mail.example.org", 25, false, 0, "[mail.example.org]"},
	{"[mail.example.org]:587", "mail.example.org", 587, false, 0, "[mail.example.org]:587"},
	{"[mail.example.org]:submission", "mail.example.org", 587, false, 0, "[mail.example.org]:587"},
	{"[127.0.0.1]:2526", "127.0.0.1", 2526, false, AF_INET, "[127.0.0.1]:2526"},
	{"[ipv6:::1]:2526", "::1", 2526, false, AF_INET6, "[::1]:2526"},
	{"[2001:db8::1]", "2001:db8::1", 25, false, AF_INET6, "[2001:db8::1]"},
	{"127.0.0.1", NULL, 0, false, 0, NULL},		/* an address needs [] */
	{"", NULL, 0, false, 0, NULL},
	{"[example.org", NULL, 0, false, 0, NULL},
	{"[example.org]x", NULL, 0, false, 0, NULL},
	{"example.org:0", NULL, 0, false, 0, NULL},
	{"example.org:65536", NULL, 0, false, 0, NULL},
	{"example.org:pop3", NULL, 0, false, 0, NULL},
	{"exa mple.org", NULL, 0, false, 0, NULL},
	{"-bad.example", NULL, 0, false, 0, NULL},
};

START_TEST(test_nexthop_table)
{
	const struct nh_case *c = &nh_cases[_i];
	struct smtp_nexthop nh;
	char	why[512];
	int	r = smtp_nexthop_parse(c->in, 25, &nh, why, sizeof(why));

	if (c->host == NULL) {
		ck_assert_msg(r < 0, "%s: accepted as %s", c->in, nh.key);
		ck_assert_msg(strstr(why, "bad next hop") != NULL, "%s: %s", c->in, why);
		return;
	}
	ck_assert_msg(r == 0, "%s: %s", c->in, why);
	ck_assert_str_eq(nh.host, c->host);
	ck_assert_uint_eq(nh.port, c->port);
	ck_assert_int_eq(nh.mx, c->mx);
	ck_assert_int_eq(nh.literal.family, c->family);
	ck_assert_str_eq(nh.key, c->key);
}
END_TEST

static unsigned
first(unsigned n)
{
	(void) n;
	return 0;
}

static unsigned
last(unsigned n)
{
	return n - 1;
}

static void
set(struct dns_mx *m, unsigned pref, const char *name)
{
	m->pref = pref;
	(void) strcpy(m->name, name);
}

START_TEST(test_default_port)
{
	struct smtp_nexthop nh;
	char	why[256];
	unsigned port;

	ck_assert_int_eq(smtp_nexthop_parse("example.org", 2525, &nh, why, sizeof(why)), 0);
	ck_assert_uint_eq(nh.port, 2525);
	ck_assert_str_eq(nh.key, "example.org:2525");
	ck_assert_int_eq(smtp_nexthop_parse("[h.example.org]:26", 2525, &nh, why, sizeof(why)), 0);
	ck_assert_uint_eq(nh.port, 26);
	ck_assert_int_eq(smtp_port_parse("smtp", &port), 0);
	ck_assert_uint_eq(port, 25);
	ck_assert_int_eq(smtp_port_parse("2525", &port), 0);
	ck_assert_uint_eq(port, 2525);
	ck_assert_int_eq(smtp_port_parse("imap", &port), -1);
}
END_TEST

START_TEST(test_mx_order)
{
	struct dns_mx mx[5];
	bool	loops;
	size_t	n;

	set(&mx[0], 20, "c");
	set(&mx[1], 10, "a");
	set(&mx[2], 10, "b");
	set(&mx[3], 30, "d");
	n = smtp_mx_order(mx, 4, "here.example", first, &loops);
	ck_assert_uint_eq(n, 4);
	ck_assert(!loops);
	ck_assert_uint_eq(mx[0].pref, 10);
	ck_assert_uint_eq(mx[1].pref, 10);
	ck_assert_str_eq(mx[2].name, "c");
	ck_assert_str_eq(mx[3].name, "d");
	/* The two of preference 10 are shuffled: both orders happen. */
	{
		char	a[2], b[2];

		set(&mx[0], 10, "a");
		set(&mx[1], 10, "b");
		(void) smtp_mx_order(mx, 2, "x", first, &loops);
		a[0] = mx[0].name[0];
		set(&mx[0], 10, "a");
		set(&mx[1], 10, "b");
		(void) smtp_mx_order(mx, 2, "x", last, &loops);
		b[0] = mx[0].name[0];
		ck_assert_int_ne(a[0], b[0]);
	}
}
END_TEST

START_TEST(test_mx_self)
{
	struct dns_mx mx[4];
	bool	loops;
	size_t	n;

	set(&mx[0], 10, "primary.example");
	set(&mx[1], 20, "HERE.example");
	set(&mx[2], 20, "other.example");
	set(&mx[3], 30, "backup.example");
	n = smtp_mx_order(mx, 4, "here.example", first, &loops);
	ck_assert_uint_eq(n, 1);
	ck_assert(!loops);
	ck_assert_str_eq(mx[0].name, "primary.example");

	set(&mx[0], 10, "here.example");
	set(&mx[1], 20, "backup.example");
	n = smtp_mx_order(mx, 2, "here.example", first, &loops);
	ck_assert_uint_eq(n, 0);
	ck_assert(loops);
}
END_TEST

START_TEST(test_null_mx)
{
	struct dns_mx mx[2];

	set(&mx[0], 0, "");
	ck_assert(smtp_mx_is_null(mx, 1));
	set(&mx[0], 0, ".");
	ck_assert(smtp_mx_is_null(mx, 1));
	set(&mx[1], 10, "mx.example");
	ck_assert(!smtp_mx_is_null(mx, 2));
	set(&mx[0], 0, "mx.example");
	ck_assert(!smtp_mx_is_null(mx, 1));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtp_nexthop");
	TCase  *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_nexthop_table, 0, sizeof(nh_cases) / sizeof(nh_cases[0]));
	tcase_add_test(tc, test_default_port);
	tcase_add_test(tc, test_mx_order);
	tcase_add_test(tc, test_mx_self);
	tcase_add_test(tc, test_null_mx);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
