/* hdr_addr_test - check suite for lib/mail/hdr_addr: address lists in headers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "hdr_addr.h"
#include "str.h"

struct sink {
	char	out[8192];
	int	stop_at;	/* return non-zero on this call (1-based); 0 never */
	int	calls;
};

static int
record(void *ctx, const char *addr, unsigned aflags)
{
	struct sink *k = ctx;

	k->calls++;
	if (k->out[0] != '\0')
		str_append(k->out, sizeof(k->out), " ");
	str_append(k->out, sizeof(k->out), addr);
	if (aflags & HDR_ADDR_F_NO_DOMAIN)
		str_append(k->out, sizeof(k->out), "(nd)");
	if (aflags & HDR_ADDR_F_LITERAL)
		str_append(k->out, sizeof(k->out), "(lit)");
	if (aflags & HDR_ADDR_F_UTF8)
		str_append(k->out, sizeof(k->out), "(u)");
	return k->calls == k->stop_at ? 7 : 0;
}

struct list_case {
	const char *label;
	const char *in;
	size_t	n;		/* 0: strlen */
	unsigned flags;
	const char *want;	/* addresses, space-separated, with flags */
	size_t	want_skipped;
};

#define U HDR_ADDR_UTF8

static const struct list_case cases[] = {
	{"empty", "", 0, 0, "", 0},
	{"white space", " \r\n\t ", 0, 0, "", 0},
	{"addr-spec", " a@example.com", 0, 0, "a@example.com", 0},
	{"domain lowercased", "A.B@Example.COM", 0, 0, "A.B@example.com", 0},
	{"name-addr", "John Doe <john@example.com>", 0, 0, "john@example.com", 0},
	{"quoted name with comma", "\"Doe, John\" <john@example.com>, jane@example.com", 0, 0,
	 "john@example.com jane@example.com", 0},
	{"trailing comment", "john@example.com (John Doe)", 0, 0, "john@example.com", 0},
	{"comments everywhere", "(c0) john(c1)@(c2)example.com(c3)", 0, 0,
	 "john@example.com", 0},
	{"nested comment", "a@x (outer (inner) done)", 0, 0, "a@x", 0},
	{"comment with pairs", "a@x (\\( \\) \\\\)", 0, 0, "a@x", 0},
	{"comment holds <>,;:@", "a@x (b@y, <c@z>; d:)", 0, 0, "a@x", 0},
	{"three", "a@x, b@y, c@z", 0, 0, "a@x b@y c@z", 0},
	{"empty elements", "a@x,,b@y, ,", 0, 0, "a@x b@y", 0},
	{"only commas", ", ,", 0, 0, "", 0},
	{"semicolon separates", "a@x;b@y", 0, 0, "a@x b@y", 0},
	{"folded", "a@x,\r\n b@y,\n\tc@z", 0, 0, "a@x b@y c@z", 0},
	{"name-addr folded", "John\n Doe\n <j@x>", 0, 0, "j@x", 0},

	/* Groups. */
	{"group", "Friends: a@x, b@y;", 0, 0, "a@x b@y", 0},
	{"empty group", "undisclosed-recipients:;", 0, 0, "", 0},
	{"empty group, spaces", "Undisclosed recipients: ;", 0, 0, "", 0},
	{"group then more", "G: a@x; b@y", 0, 0, "a@x b@y", 0},
	{"group missing ;", "G: a@x, Name <b@y>", 0, 0, "a@x b@y", 0},
	{"two groups", "G1: a@x; G2: b@y;", 0, 0, "a@x b@y", 0},
	{"quoted group name", "\"My: group\": a@x;", 0, 0, "a@x", 0},
	{"nested group", "G: H: a@x;;", 0, 0, "", 1},
	{"colon after address", "a@x: b@y", 0, 0, "", 1},
	{"route without <>", "@a:b@c", 0, 0, "", 1},

	/* Local parts. */
	{"quoted needed", "\"john doe\"@example.com", 0, 0, "\"john doe\"@example.com", 0},
	{"quoted needless", "\"john\"@example.com", 0, 0, "john@example.com", 0},
	{"quoted pair", "\"a\\\"b\"@x", 0, 0, "\"a\\\"b\"@x", 0},
	{"obsolete words", "\"a\".\"b\"@x", 0, 0, "a.b@x", 0},
	{"obsolete mixed", "a.\"b c\"@x", 0, 0, "\"a.b c\"@x", 0},
	{"double dot tolerated", "john..doe@x", 0, 0, "\"john..doe\"@x", 0},
	{"leading dot tolerated", ".john@x", 0, 0, "\".john\"@x", 0},
	{"obsolete spaces", "john . doe @ example . com", 0, 0, "john.doe@example.com", 0},
	{"folded quoted string", "\"john\r\n doe\"@x", 0, 0, "\"john doe\"@x", 0},
	{"shell: semicolon", "\"foo;reboot\"@x", 0, 0, "\"foo;reboot\"@x", 0},
	{"shell: backquote atext", "\"`id`\"@x", 0, 0, "`id`@x", 0},
	{"shell: $()", "Evil <\"$(reboot)\"@x>", 0, 0, "\"$(reboot)\"@x", 0},
	{"two words", "john doe@x", 0, 0, "", 1},
	{"empty local", "@x", 0, 0, "", 1},
	{"empty quoted local", "\"\"@x", 0, 0, "", 1},

	/* Routes, literals, bare names. */
	{"route", "<@a,@b:user@x>", 0, 0, "user@x", 0},
	{"route with name", "Name <@a.example:user@x>", 0, 0, "user@x", 0},
	{"route with literal", "<@[192.0.2.1]:user@x>", 0, 0, "user@x", 0},
	{"bad route", "<@a,b:user@x>", 0, 0, "", 1},
	{"route without colon", "<@a user@x>", 0, 0, "", 1},
	{"IPv4 literal", "user@[192.0.2.1]", 0, 0, "user@[192.0.2.1](lit)", 0},
	{"IPv6 literal", "<user@[IPv6:2001:db8::1]>", 0, 0, "user@[IPv6:2001:db8::1](lit)", 0},
	{"bad literal", "user@[300.1.1.1]", 0, 0, "", 1},
	{"unbalanced literal", "user@[192.0.2.1, b@y", 0, 0, "b@y", 1},
	{"unbalanced literal at end", "b@y, user@[192.0.2.1", 0, 0, "b@y", 1},
	{"literal with space", "user@[192.0.2.1 ], b@y", 0, 0, "b@y", 1},
	{"bare user", "user", 0, 0, "user(nd)", 0},
	{"bare quoted user", "\"a b\"", 0, 0, "\"a b\"(nd)", 0},
	{"Smith, John", "Smith, John <j@x>", 0, 0, "Smith(nd) j@x", 0},
	{"display name only", "John Doe", 0, 0, "", 1},

	/* Malformed elements are skipped, the rest survives. */
	{"<>", "<>", 0, 0, "", 1},
	{"name <>", "Name <>, a@x", 0, 0, "a@x", 1},
	{"unbalanced <", "<a@x", 0, 0, "", 1},
	{"unbalanced < swallows the rest", "<a@x, b@y", 0, 0, "", 1},
	{"stray >", "a@x>, b@y", 0, 0, "b@y", 1},
	{"double brackets", "<<a@x>>, b@y", 0, 0, "b@y", 1},
	{"junk after >", "<a@x> junk, b@y", 0, 0, "b@y", 1},
	{"two angle addrs", "<a@x> <b@y>", 0, 0, "", 1},
	{"unbalanced quote", "\"unbalanced@x", 0, 0, "", 1},
	{"unbalanced quote at end", "a@x, \"unb", 0, 0, "a@x", 1},
	{"backslash at end of quote", "a@x, \"b\\", 0, 0, "a@x", 1},
	{"unterminated comment", "(unterminated a@x", 0, 0, "", 1},
	{"unterminated comment after", "a@x (unterminated", 0, 0, "", 1},
	{"stray )", "a@x), b@y", 0, 0, "b@y", 1},
	{"stray ]", "a]@x, b@y", 0, 0, "b@y", 1},
	{"stray backslash", "a\\b@x, c@y", 0, 0, "c@y", 1},
	{"two @", "a@b@c, d@e", 0, 0, "d@e", 1},
	{"empty domain", "a@, b@y", 0, 0, "b@y", 1},
	{"bad domain hyphen", "a@-x.com, b@y", 0, 0, "b@y", 1},
	{"bad domain dots", "a@x..com, b@y", 0, 0, "b@y", 1},
	{"numeric TLD", "a@192.168.1.1, b@y", 0, 0, "b@y", 1},
	{"control in local", "a\x01b@x, c@y", 0, 0, "c@y", 1},
	{"control in quotes", "\"a\x01\"@x, c@y", 0, 0, "c@y", 1},
	{"control in display name", "Na\x1bme <a@x>, c@y", 0, 0, "c@y", 1},
	{"control in comment", "a@x (\x07), c@y", 0, 0, "c@y", 1},
	{"DEL", "a\x7f@x, c@y", 0, 0, "c@y", 1},
	{"NUL", "a@x\0, b@y", 9, 0, "b@y", 1},
	{"NUL in quotes", "\"a\0\"@x, b@y", 11, 0, "b@y", 1},
	{"TAB in quotes", "\"a\tb\"@x, c@y", 0, 0, "c@y", 1},

	/* UTF-8. */
	{"UTF-8 address refused", "j\xc3\xb6hn@x, a@y", 0, 0, "a@y", 1},
	{"UTF-8 address allowed", "j\xc3\xb6hn@ex\xc3\xa4mple.com", 0, U,
	 "j\xc3\xb6hn@ex\xc3\xa4mple.com(u)", 0},
	{"UTF-8 domain refused", "a@ex\xc3\xa4mple.com", 0, 0, "", 1},
	{"UTF-8 display name", "J\xc3\xb6rg <j@x>", 0, 0, "j@x", 0},
	{"8-bit junk display name", "\xff\xfe <j@x>", 0, 0, "j@x", 0},
	{"overlong", "\xc0\xaf@x, a@y", 0, U, "a@y", 1},
	{"surrogate", "\xed\xa0\x80@x", 0, U, "", 1},
	{"truncated", "a\xc3@x", 0, U, "", 1},
	{"C1 control", "a\xc2\x9b@x", 0, U, "", 1},
};

START_TEST(test_table)
{
	const struct list_case *c = &cases[_i];
	struct sink k = {.out = ""};
	struct hdr_addr_stats st;
	size_t  n = c->n ? c->n : strlen(c->in);
	int     rc = hdr_addr_walk(c->in, n, c->flags, 100, record, &k, &st);

	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strcmp(k.out, c->want) == 0, "%s: <%s>, want <%s>", c->label, k.out,
		      c->want);
	ck_assert_msg(st.skipped == c->want_skipped, "%s: skipped %zu, want %zu", c->label,
		      st.skipped, c->want_skipped);
	ck_assert_uint_eq(st.found, (size_t) k.calls);
	ck_assert_uint_eq(st.dropped, 0);
}
END_TEST

/* nest - "a@x " + depth levels of "(" + ")" */
static void
nest(char *out, size_t size, int depth)
{
	size_t  i = 0;

	i += (size_t) snprintf(out, size, "b@y, a@x ");
	for (int d = 0; d < depth; d++)
		out[i++] = '(';
	out[i++] = 'c';
	for (int d = 0; d < depth; d++)
		out[i++] = ')';
	out[i] = '\0';
	ck_assert_uint_lt(i, size);
}

START_TEST(test_comment_depth)
{
	char    in[256];
	struct sink k = {.out = ""};
	struct hdr_addr_stats st;

	nest(in, sizeof(in), HDR_ADDR_DEPTH_MAX);
	hdr_addr_walk(in, strlen(in), 0, 100, record, &k, &st);
	ck_assert_str_eq(k.out, "b@y a@x");
	ck_assert_uint_eq(st.skipped, 0);

	k.out[0] = '\0';
	k.calls = 0;
	nest(in, sizeof(in), HDR_ADDR_DEPTH_MAX + 1);
	hdr_addr_walk(in, strlen(in), 0, 100, record, &k, &st);
	ck_assert_str_eq(k.out, "b@y");
	ck_assert_uint_eq(st.skipped, 1);

	/* Deep nesting, then a good address: parsing resumes after it. */
	{
		static char big[100000];
		size_t  i = 0;

		for (int d = 0; d < 40000; d++)
			big[i++] = '(';
		for (int d = 0; d < 40000; d++)
			big[i++] = ')';
		memcpy(big + i, "x, c@z", 6);
		i += 6;
		k.out[0] = '\0';
		k.calls = 0;
		hdr_addr_walk(big, i, 0, 100, record, &k, &st);
		ck_assert_str_eq(k.out, "c@z");
		ck_assert_uint_eq(st.skipped, 1);
	}
}
END_TEST

/* quoted_pairs - walk "\"" + pairs * "\\\"" + "\"@x"; return the count found */
static size_t
quoted_pairs(char *in, int pairs)
{
	struct hdr_addr_stats st;
	struct sink k = {.out = ""};
	size_t  i = 0;

	in[i++] = '"';
	for (int p = 0; p < pairs; p++) {
		in[i++] = '\\';
		in[i++] = '"';
	}
	memcpy(in + i, "\"@x", 3);
	i += 3;
	hdr_addr_walk(in, i, 0, 100, record, &k, &st);
	ck_assert_uint_eq(st.found + st.skipped, 1);
	if (st.found == 1)
		ck_assert_uint_eq(strlen(k.out), (size_t) pairs * 2 + 4);
	return st.found;
}

START_TEST(test_address_length)
{
	static char in[8192];
	struct sink k = {.out = ""};
	struct hdr_addr_stats st;
	size_t  local;

	/* 1,024 octets pass: local part + "@x.org" (6). */
	local = HDR_ADDR_MAX - 6;
	memset(in, 'a', local);
	memcpy(in + local, "@x.org", 7);
	hdr_addr_walk(in, strlen(in), 0, 100, record, &k, &st);
	ck_assert_uint_eq(st.found, 1);
	ck_assert_uint_eq(strlen(k.out), HDR_ADDR_MAX);

	/* 1,025 do not. */
	memset(in, 'a', local + 1);
	memcpy(in + local + 1, "@x.org, b@y", 12);
	k.out[0] = '\0';
	k.calls = 0;
	hdr_addr_walk(in, strlen(in), 0, 100, record, &k, &st);
	ck_assert_str_eq(k.out, "b@y");
	ck_assert_uint_eq(st.skipped, 1);

	/*
	 * The canonical form is bounded too: 510 quoted pairs give 1,020
	 * octets of content, "\"" + 1,020 + "\"@x" = 1,024; 511 give 1,026.
	 */
	ck_assert_uint_eq(quoted_pairs(in, 510), 1);
	ck_assert_uint_eq(quoted_pairs(in, 511), 0);

	/* A long display name does not count. */
	memset(in, 'N', 5000);
	memcpy(in + 5000, " <a@x>", 7);
	k.out[0] = '\0';
	k.calls = 0;
	hdr_addr_walk(in, strlen(in), 0, 100, record, &k, &st);
	ck_assert_str_eq(k.out, "a@x");
	/* ... unless there is no angle address after it. */
	memcpy(in + 5000, "@x", 3);
	k.out[0] = '\0';
	k.calls = 0;
	hdr_addr_walk(in, strlen(in), 0, 100, record, &k, &st);
	ck_assert_str_eq(k.out, "");
	ck_assert_uint_eq(st.skipped, 1);
}
END_TEST

START_TEST(test_max_and_stop)
{
	struct sink k = {.out = ""};
	struct hdr_addr_stats st;
	static char many[60000];
	size_t  n = 0;

	ck_assert_int_eq(hdr_addr_walk("a@x, b@y, c@z", 13, 0, 2, record, &k, &st), 0);
	ck_assert_str_eq(k.out, "a@x b@y");
	ck_assert_uint_eq(st.found, 2);
	ck_assert_uint_eq(st.dropped, 1);

	k.out[0] = '\0';
	k.calls = 0;
	ck_assert_int_eq(hdr_addr_walk("a@x, b@y", 8, 0, 0, record, &k, &st), 0);
	ck_assert_int_eq(k.calls, 0);
	ck_assert_uint_eq(st.dropped, 2);

	/* The callback stops the walk. */
	k.out[0] = '\0';
	k.calls = 0;
	k.stop_at = 2;
	ck_assert_int_eq(hdr_addr_walk("a@x, b@y, c@z", 13, 0, 10, record, &k, &st), 7);
	ck_assert_str_eq(k.out, "a@x b@y");
	k.stop_at = 0;

	/* 10,000 addresses, 1,000 taken. */
	for (int i = 0; i < 10000; i++) {
		memcpy(many + n, "a@x, ", 5);
		n += 5;
	}
	k.out[0] = '\0';
	k.calls = 0;
	hdr_addr_walk(many, n, 0, 1000, record, &k, NULL);
	ck_assert_int_eq(k.calls, 1000);
	hdr_addr_walk(many, n, 0, 1000, record, &k, &st);
	ck_assert_uint_eq(st.found, 1000);
	ck_assert_uint_eq(st.dropped, 9000);
	ck_assert_uint_eq(st.skipped, 0);
}
END_TEST

START_TEST(test_list)
{
	char  **list = (char **) 1;
	struct hdr_addr_stats st;
	size_t  n;

	const char *in = "To <a@x>, \"b c\"@Y.org, junk>, d";

	n = hdr_addr_list(in, strlen(in), 0, 10, &list, &st);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0], "a@x");
	ck_assert_str_eq(list[1], "\"b c\"@y.org");
	ck_assert_str_eq(list[2], "d");
	ck_assert_uint_eq(st.skipped, 1);
	hdr_addr_list_free(list, n);

	n = hdr_addr_list("", 0, 0, 10, &list, NULL);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(list);
	hdr_addr_list_free(list, n);
}
END_TEST

static unsigned long long rnd_state = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned) (rnd_state % n);
}

struct again {
	char	first[HDR_ADDR_MAX + 1];
	int	n;
};

static int
keep_first(void *ctx, const char *addr, unsigned aflags)
{
	struct again *g = ctx;

	(void) aflags;
	if (g->n++ == 0)
		str_copy(g->first, sizeof(g->first), addr);
	return 0;
}

static int
check_again(void *ctx, const char *addr, unsigned aflags)
{
	struct again g = {.n = 0};
	unsigned flags = *(unsigned *) ctx;
	struct hdr_addr_stats st;

	(void) aflags;
	ck_assert(!str_has_ctl(addr, strlen(addr)));
	ck_assert_uint_le(strlen(addr), HDR_ADDR_MAX);
	/* The canonical form is a list of one: itself. */
	hdr_addr_walk(addr, strlen(addr), flags, 10, keep_first, &g, &st);
	ck_assert_msg(g.n == 1 && strcmp(g.first, addr) == 0 && st.skipped == 0,
		      "<%s> reparsed as %d: <%s>", addr, g.n, g.first);
	return 0;
}

/* Random lists: never a crash, and every address reparses to itself. */
START_TEST(test_random_lists)
{
	static const char alpha[] = "<>@\",.;:()[]\\ab- \t\r\n\0\x7f\xc3\xa9\x80`$1";
	char    in[80];
	struct hdr_addr_stats st;
	size_t  found = 0;

	for (int round = 0; round < 40000; round++) {
		size_t  n = rnd(sizeof(in));
		unsigned flags = rnd(2) ? HDR_ADDR_UTF8 : 0;

		for (size_t i = 0; i < n; i++)
			in[i] = alpha[rnd(sizeof(alpha) - 1)];
		hdr_addr_walk(in, n, flags, 100, check_again, &flags, &st);
		found += st.found;
	}
	ck_assert_uint_gt(found, 1000);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("hdr_addr");
	TCase  *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);	/* random round trips: slow under the sanitizers */

	tcase_add_loop_test(tc, test_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_comment_depth);
	tcase_add_test(tc, test_address_length);
	tcase_add_test(tc, test_max_and_stop);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_random_lists);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
