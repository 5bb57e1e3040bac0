/*
 * netmatch_test - check suite for lib/mail/netmatch: IPv4 and IPv6 lists,
 * prefix edges, v4-mapped clients, exclusions, malformed entries,
 * bounds.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "buf.h"
#include "log.h"
#include "netmatch.h"
#include "safefile.h"
#include "str.h"

static struct netlist *
parse_ok(const char *list)
{
	char    err[256] = "";
	struct netlist *nl = netlist_parse(list, err, sizeof(err));

	ck_assert_msg(nl != NULL, "list \"%s\" refused: %s", list, err);
	return nl;
}

/* parse_bad - the list must be refused with a message containing want */
static void
parse_bad(const char *list, const char *want)
{
	char    err[512] = "";
	struct netlist *nl = netlist_parse(list, err, sizeof(err));

	ck_assert_msg(nl == NULL, "list \"%s\" accepted", list);
	ck_assert_msg(strstr(err, want) != NULL,
		      "list \"%s\": message \"%s\" lacks \"%s\"", list, err, want);
}

#define YES(nl, a)	ck_assert_msg(netlist_match_str((nl), (a)), "%s should match", (a))
#define NO(nl, a)	ck_assert_msg(!netlist_match_str((nl), (a)), "%s should not match", (a))

START_TEST(test_empty)
{
	struct netlist *nl;

	nl = parse_ok("");
	ck_assert_uint_eq(netlist_count(nl), 0);
	NO(nl, "127.0.0.1");
	NO(nl, "::1");
	netlist_free(nl);
	nl = parse_ok(" ,\t, \n ,, ");
	ck_assert_uint_eq(netlist_count(nl), 0);
	netlist_free(nl);
	nl = netlist_parse(NULL, NULL, 0);
	ck_assert_ptr_nonnull(nl);
	ck_assert_uint_eq(netlist_count(nl), 0);
	netlist_free(nl);
	netlist_free(NULL);
	ck_assert_uint_eq(netlist_count(NULL), 0);
	NO(NULL, "127.0.0.1");
}
END_TEST

START_TEST(test_ipv4)
{
	struct netlist *nl = parse_ok("127.0.0.0/8, 10.1.2.3 192.168.0.0/23,\t172.16.0.0/12");

	ck_assert_uint_eq(netlist_count(nl), 4);
	YES(nl, "127.0.0.1");
	YES(nl, "127.255.255.255");
	NO(nl, "128.0.0.1");
	NO(nl, "126.255.255.255");
	YES(nl, "10.1.2.3");			/* bare address: a /32 */
	NO(nl, "10.1.2.4");
	NO(nl, "10.1.2.2");
	YES(nl, "192.168.1.255");		/* /23: a bit inside a byte */
	YES(nl, "192.168.0.0");
	NO(nl, "192.168.2.0");
	YES(nl, "172.31.255.255");
	NO(nl, "172.32.0.0");
	NO(nl, "::1");
	netlist_free(nl);
}
END_TEST

START_TEST(test_ipv4_prefix_edges)
{
	struct netlist *nl;

	nl = parse_ok("0.0.0.0/0");
	YES(nl, "1.2.3.4");
	YES(nl, "255.255.255.255");
	YES(nl, "0.0.0.0");
	NO(nl, "::1");				/* IPv4 /0 is not IPv6 */
	NO(nl, "2001:db8::1");
	netlist_free(nl);

	nl = parse_ok("198.51.100.7/32");
	YES(nl, "198.51.100.7");
	NO(nl, "198.51.100.6");
	NO(nl, "198.51.100.8");
	netlist_free(nl);

	parse_bad("10.0.0.0/33", "\"10.0.0.0/33\"");	/* one past */
	parse_bad("10.0.0.0/33", "0 to 32");
	parse_bad("10.0.0.0/-1", "10.0.0.0/-1");
	parse_bad("10.0.0.0/-0", "10.0.0.0/-0");
	parse_bad("10.0.0.0/+8", "10.0.0.0/+8");
	parse_bad("10.0.0.0/", "prefix length");
	parse_bad("10.0.0.0/8x", "prefix length");
	parse_bad("10.0.0.0/8/9", "prefix length");
	parse_bad("10.0.0.0/99999999999999999999999", "prefix length");
}
END_TEST

START_TEST(test_ipv6)
{
	struct netlist *nl = parse_ok("[::1] [2001:db8::]/32, [2001:db8:1::]/33");

	ck_assert_uint_eq(netlist_count(nl), 3);
	YES(nl, "::1");
	YES(nl, "[::1]");
	NO(nl, "::2");
	NO(nl, "127.0.0.1");
	YES(nl, "2001:db8::1");
	YES(nl, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	NO(nl, "2001:db9::");
	NO(nl, "2001:db7:ffff::");
	netlist_free(nl);

	nl = parse_ok("[2001:db8:8000::]/33");
	YES(nl, "2001:db8:ffff::1");
	NO(nl, "2001:db8:7fff::1");
	netlist_free(nl);

	nl = parse_ok("[::]/0");
	YES(nl, "::");
	YES(nl, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	YES(nl, "2001:db8::1");
	NO(nl, "1.2.3.4");			/* IPv6 /0 is not IPv4 */
	NO(nl, "::ffff:1.2.3.4");		/* mapped = IPv4 */
	netlist_free(nl);

	nl = parse_ok("[2001:db8::5]/128");
	YES(nl, "2001:db8::5");
	NO(nl, "2001:db8::4");
	NO(nl, "2001:db8::6");
	netlist_free(nl);

	parse_bad("[2001:db8::]/129", "\"[2001:db8::]/129\"");	/* one past */
	parse_bad("[2001:db8::]/129", "0 to 128");
	parse_bad("[::1]/", "prefix length");
	parse_bad("::1", "brackets");
	parse_bad("2001:db8::/32", "brackets");
	parse_bad("[::1", "missing \"]\"");
	parse_bad("[::1]x", "junk after");
	parse_bad("[::1]]", "junk after");
	parse_bad("[g::1]", "not an IPv6 address");
	parse_bad("[]", "not an IPv6 address");
	parse_bad("[fe80::1%eth0]", "not an IPv6 address");
	parse_bad("[1:2:3:4:5:6:7:8:9]", "not an IPv6 address");
}
END_TEST

START_TEST(test_bracketed_ipv4)
{
	struct netlist *nl = parse_ok("[192.0.2.0]/24");

	YES(nl, "192.0.2.200");
	NO(nl, "192.0.3.1");
	netlist_free(nl);
	parse_bad("[192.0.2.0]/25x", "prefix length");
	parse_bad("[192.0.2.0]/33", "0 to 32");
}
END_TEST

START_TEST(test_v4_mapped)
{
	struct netlist *nl = parse_ok("127.0.0.0/8, [::ffff:10.0.0.0]/104, [::fffe:0:0]/95");
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	/* Mapped client addresses match IPv4 entries ... */
	YES(nl, "::ffff:127.0.0.1");
	YES(nl, "[::ffff:127.0.0.1]");
	NO(nl, "::ffff:128.0.0.1");
	/* ... and a mapped entry of /96 or more is an IPv4 entry. */
	YES(nl, "10.200.3.4");
	YES(nl, "::ffff:10.200.3.4");
	NO(nl, "11.0.0.1");
	/* A mapped entry shorter than /96 stays IPv6 and sees no IPv4. */
	NO(nl, "192.0.2.1");
	YES(nl, "::fffe:1:2");			/* inside ::fffe:0:0/95 */

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr), 1);
	ck_assert(netlist_match(nl, (struct sockaddr *) &s6));
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:9.0.0.1", &s6.sin6_addr), 1);
	ck_assert(!netlist_match(nl, (struct sockaddr *) &s6));
	/* ::127.0.0.1 (v4-compatible, not mapped) is plain IPv6. */
	ck_assert_int_eq(inet_pton(AF_INET6, "::127.0.0.1", &s6.sin6_addr), 1);
	ck_assert(!netlist_match(nl, (struct sockaddr *) &s6));

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, "10.9.8.7", &s4.sin_addr), 1);
	ck_assert(netlist_match(nl, (struct sockaddr *) &s4));
	netlist_free(nl);
}
END_TEST

START_TEST(test_sockaddr)
{
	struct netlist *nl = parse_ok("192.0.2.0/24 [2001:db8::]/48");
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct sockaddr_un su;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(25);
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.99", &s4.sin_addr), 1);
	ck_assert(netlist_match(nl, (struct sockaddr *) &s4));
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.3.99", &s4.sin_addr), 1);
	ck_assert(!netlist_match(nl, (struct sockaddr *) &s4));

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:0:ffff::1", &s6.sin6_addr), 1);
	ck_assert(netlist_match(nl, (struct sockaddr *) &s6));
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1::1", &s6.sin6_addr), 1);
	ck_assert(!netlist_match(nl, (struct sockaddr *) &s6));

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	ck_assert(!netlist_match(nl, (struct sockaddr *) &su));
	ck_assert(!netlist_match(nl, NULL));
	ck_assert(!netlist_match(NULL, (struct sockaddr *) &s4));
	netlist_free(nl);
}
END_TEST

START_TEST(test_host_bits_masked)
{
	char    logpath[] = "/tmp/netmatch_test.XXXXXX";
	char    text[4096];
	struct netlist *nl;
	ssize_t n;
	int     fd;

	fd = mkstemp(logpath);
	ck_assert_int_ge(fd, 0);
	log_init("netmatch_test", 0);
	ck_assert_int_eq(log_open_file(logpath), 0);

	nl = parse_ok("10.1.2.3/8, [2001:db8::1]/32, !192.168.1.77/24, 10.0.0.0/8");
	log_close_file();
	YES(nl, "10.9.9.9");
	YES(nl, "2001:db8:5::5");
	NO(nl, "192.168.1.1");			/* the masked exclusion */
	netlist_free(nl);

	n = sf_read_all(fd, text, sizeof(text) - 1);
	close(fd);
	unlink(logpath);
	ck_assert_int_gt(n, 0);
	text[n] = '\0';
	ck_assert_msg(strstr(text, "warning: non-null host address bits in \"10.1.2.3/8\", "
			     "perhaps you should use \"10.0.0.0/8\" instead") != NULL,
		      "log: %s", text);
	ck_assert_msg(strstr(text, "\"[2001:db8::1]/32\", perhaps you should use "
			     "\"[2001:db8::]/32\"") != NULL, "log: %s", text);
	ck_assert_msg(strstr(text, "\"!192.168.1.0/24\"") != NULL, "log: %s", text);
	/* The clean entry gave no warning: three lines in all. */
	{
		int     lines = 0;

		for (char *p = text; *p; p++)
			lines += *p == '\n';
		ck_assert_int_eq(lines, 3);
	}
}
END_TEST

START_TEST(test_negation)
{
	struct netlist *nl;

	nl = parse_ok("!10.0.0.1, 10.0.0.0/8");
	NO(nl, "10.0.0.1");
	YES(nl, "10.0.0.2");
	NO(nl, "11.0.0.1");
	netlist_free(nl);
	/* The first match decides: an exclusion after its network is moot. */
	nl = parse_ok("10.0.0.0/8 !10.0.0.1");
	YES(nl, "10.0.0.1");
	netlist_free(nl);
	nl = parse_ok("![::1] [::]/0");
	NO(nl, "::1");
	YES(nl, "::2");
	netlist_free(nl);
	parse_bad("!", "\"!\"");
	parse_bad("!!10.0.0.1", "!!10.0.0.1");
}
END_TEST

START_TEST(test_junk)
{
	parse_bad("abc", "\"abc\"");
	parse_bad("127.0.0.0/8 abc", "\"abc\"");	/* names the bad entry */
	parse_bad("300.1.1.1", "not an IPv4 address");
	parse_bad("10.1.2", "not an IPv4 address");
	parse_bad("010.0.0.1", "not an IPv4 address");	/* octal? refused */
	parse_bad("0x7f.0.0.1", "not an IPv4 address");
	parse_bad("1.2.3.4.5", "not an IPv4 address");
	parse_bad("1.2.3.", "not an IPv4 address");
	parse_bad("/8", "file names");
	parse_bad("/etc/postern/mynetworks", "file names");
	parse_bad("hash:/etc/postern/networks", "tables are not supported");
	parse_bad("localhost", "\"localhost\"");
	parse_bad("1.2.3.4;5.6.7.8", "not an IPv4 address");

	/* No room for a message, or a tiny one: still refused, no overrun. */
	ck_assert_ptr_null(netlist_parse("junk", NULL, 0));
	{
		char    small[8];

		memset(small, 'x', sizeof(small));
		ck_assert_ptr_null(netlist_parse("junk", small, sizeof(small)));
		ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	}

	/* Text that is not an address never matches. */
	{
		struct netlist *nl = parse_ok("0.0.0.0/0 [::]/0");
		char    big[200];

		NO(nl, "");
		ck_assert(!netlist_match_str(nl, NULL));
		NO(nl, "nonsense");
		NO(nl, "[1.2.3.4");
		NO(nl, "1.2.3.4]");
		NO(nl, "[]");
		memset(big, '1', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		NO(nl, big);
		YES(nl, "fe80::1%eth0");	/* scope ignored */
		YES(nl, "[1.2.3.4]");
		netlist_free(nl);
	}
}
END_TEST

START_TEST(test_bounds)
{
	struct buf b;
	struct netlist *nl;
	char    entry[NETLIST_ENTRY_MAX + 2];

	/* Exactly NETLIST_MAX_ENTRIES entries, then one more. */
	buf_init(&b, 1024 * 1024);
	for (int i = 0; i < NETLIST_MAX_ENTRIES; i++)
		ck_assert_int_eq(buf_appendf(&b, "10.%d.%d.0/24 ", i / 256, i % 256), 0);
	nl = parse_ok(buf_str(&b));
	ck_assert_uint_eq(netlist_count(nl), NETLIST_MAX_ENTRIES);
	YES(nl, "10.39.15.1");			/* entry 9999 */
	NO(nl, "10.39.16.1");
	netlist_free(nl);
	ck_assert_int_eq(buf_puts(&b, "192.0.2.1"), 0);
	parse_bad(buf_str(&b), "more than 10000 networks");
	buf_free(&b);

	/* An entry of NETLIST_ENTRY_MAX characters is read (and judged) ... */
	memset(entry, '1', NETLIST_ENTRY_MAX);
	entry[NETLIST_ENTRY_MAX] = '\0';
	parse_bad(entry, "is not an IPv4 address");
	/* ... one more is refused for its length, named by its start. */
	memset(entry, '1', NETLIST_ENTRY_MAX + 1);
	entry[NETLIST_ENTRY_MAX + 1] = '\0';
	parse_bad(entry, "longer than 100 characters");
	parse_bad(entry, "\"1111111111");
}
END_TEST

START_TEST(test_network)
{
	char	n[64];

	ck_assert_int_eq(netmatch_network("192.0.2.77", 24, 64, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "192.0.2.0/24");
	ck_assert_int_eq(netmatch_network("192.0.2.77", 20, 64, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "192.0.0.0/20");
	ck_assert_int_eq(netmatch_network("192.0.2.77", 32, 64, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "192.0.2.77/32");
	ck_assert_int_eq(netmatch_network("2001:db8:1:2:3::9", 24, 64, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "2001:db8:1:2::/64");
	ck_assert_int_eq(netmatch_network("2001:db8:1:2:3::9", 24, 60, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "2001:db8:1::/60");
	ck_assert_int_eq(netmatch_network("::ffff:10.1.2.3", 8, 64, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "10.0.0.0/8");
	ck_assert_int_eq(netmatch_network("fe80::1%eth0", 24, 0, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "::/0");
	ck_assert_int_eq(netmatch_network("unknown", 24, 64, n, sizeof(n)), -1);
	ck_assert_int_eq(netmatch_network("192.0.2.1", 33, 64, n, sizeof(n)), -1);
	ck_assert_int_eq(netmatch_network("192.0.2.1", 24, 64, n, 5), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("netmatch");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_network);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_ipv4);
	tcase_add_test(tc, test_ipv4_prefix_edges);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_bracketed_ipv4);
	tcase_add_test(tc, test_v4_mapped);
	tcase_add_test(tc, test_sockaddr);
	tcase_add_test(tc, test_host_bits_masked);
	tcase_add_test(tc, test_negation);
	tcase_add_test(tc, test_junk);
	tcase_add_test(tc, test_bounds);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
