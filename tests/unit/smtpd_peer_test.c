/*
 * smtpd_peer_test - check suite for smtpd/smtpd_peer.c: which names a
 * PTR record may give, and whole sessions over socket pairs whose
 * client name comes from a DNS server in the test (fake_dns.h):
 * forward-confirmed names, names that do not resolve back, junk in
 * PTR records, several PTR names, IPv6, no answer within the bound
 * while another session is served, talk before the greeting during
 * the wait, a client that leaves during the wait, lookups off.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "smtpd_test.h"
#include "test_config.h"
#include "fake_dns.h"

#include "buf.h"
#include "config.h"
#include "event.h"
#include "log.h"
#include "params.h"
#include "../../smtpd/smtpd.h"
#include "fake_lookup.h"

/* ------------------------------------------------------------------ */
/* Names.                                                             */

START_TEST(test_name_ok)
{
	static const char *const good[] = {
		"mail.example.org", "a", "localhost", "MX-1.Example.ORG",
		"host_name.example.org", "a1.b2.c3", "xn--bcher-kva.example",
		"1.example.org",
	};
	static const char *const bad[] = {
		"", "unknown", "UNKNOWN", "Unknown", "192.0.2.1", "a.123",
		"a..b", ".a", "a.", "-a.example", "a-.example", "a b.example",
		"a\001.example", "a\n.example", "a\x7f.example", "a\\.b.example",
		"a\"b.example", "[192.0.2.1]", "[IPv6:2001:db8::1]",
		"b\xc3\xbc" "cher.example", "a@b.example", "a/b.example",
		"a:b.example", "a%b.example", "a*.example", "*.example",
	};
	char	name[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(smtpd_peer_name_ok(good[i]), "refused %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!smtpd_peer_name_ok(bad[i]), "accepted %s", bad[i]);

	/* 63-octet labels: 255 octets in all pass, 256 do not. */
	memset(name, 'a', sizeof(name));
	for (int i = 63; i < 255; i += 64)
		name[i] = '.';
	name[255] = 0;
	ck_assert(smtpd_peer_name_ok(name));
	name[255] = 'b';
	name[256] = 0;
	ck_assert(!smtpd_peer_name_ok(name));
	/* A 64-octet label does not. */
	memset(name, 'a', 64);
	(void) snprintf(name + 64, sizeof(name) - 64, ".example");
	ck_assert(!smtpd_peer_name_ok(name));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Sessions.                                                          */

static const struct fake_rr zone[] = {
	/* 192.0.2.1: confirmed. */
	{"1.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"mail.example.org"}},
	{"mail.example.org", FAKE_A, 0, false, {"192.0.2.99", "192.0.2.1"}},
	/* 192.0.2.2: the name belongs to someone else. */
	{"2.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"liar.example.org"}},
	{"liar.example.org", FAKE_A, 0, false, {"198.51.100.7"}},
	/* 192.0.2.3: the name does not exist. */
	{"3.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"gone.example.org"}},
	/* 192.0.2.4: no answer at all. */
	{"4.2.0.192.in-addr.arpa", FAKE_PTR, 0, true, {NULL}},
	/* 192.0.2.5: junk c-ares refuses. */
	{"5.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"evil\r\nname.example.org"}},
	/* 192.0.2.6: names smtpd refuses, then one that is confirmed. */
	{"6.2.0.192.in-addr.arpa", FAKE_PTR, 0, false,
	 {"192.0.2.6", "unknown", "bad_.-x.example", "liar.example.org", "six.example.org"}},
	{"six.example.org", FAKE_A, 0, false, {"192.0.2.6"}},
	/* 192.0.2.7: a name whose forward lookup fails for now. */
	{"7.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"broken.example.org"}},
	{"broken.example.org", FAKE_A, 2, false, {NULL}},
	/* 192.0.2.8: the name has only an IPv6 address. */
	{"8.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"v6only.example.org"}},
	{"v6only.example.org", FAKE_AAAA, 0, false, {"::ffff:192.0.2.8"}},
	/* 2001:db8::1 */
	{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	 FAKE_PTR, 0, false, {"v6.example.org"}},
	{"v6.example.org", FAKE_AAAA, 0, false, {"2001:db8::1"}},
	{"v6.example.org", FAKE_A, 0, false, {"192.0.2.1"}},
	/* 192.0.2.9: a PTR record of "localhost" (RFC 6761: loopback). */
	{"9.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"localhost"}},
	{NULL, 0, 0, false, {NULL}},
};

static char dir[] = "/tmp/smtpd_peer_test.XXXXXX";
static char logpath[300];
static struct ev_loop *loop;
static struct fake_dns fake;

static int
fake_lookup(const char *param, const char *address)
{
	(void) param;
	(void) address;
	return 0;
}

static void
load(const char *extra)
{
	char    text[4096];

	ck_assert_int_eq(str_fmt(text, sizeof(text), "myhostname = mx.example.com\n"
		"mydestination = example.com\n"
		"mynetworks = 127.0.0.0/8\n"
		"local_recipient_maps = inline:{x=y}\n"
		"smtpd_error_sleep_time = 0\n"
		"smtpd_peername_lookup_timeout = 1s\n"
		"resolver_servers = 127.0.0.1:%d\n"
		"%s\n", fake.port, extra), 0);
	test_config_load(dir, text);
	smtpd_peer_end();
	smtpd_conf_free();
	smtpd_conf.spool_dir = ".";
	smtpd_conf.deliver_dir = ".";
	smtpd_conf_init();
	smtpd_restrict_init();
	fake_lookup_install(fake_lookup);
	smtpd_peer_init();
	smtpd_peer_start(loop);
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as smtpd has it */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	(void) snprintf(logpath, sizeof(logpath), "%s/log", dir);
	log_init("smtpd", 0);
	ck_assert_int_eq(log_open_file(logpath), 0);
	loop = ev_loop_new();
	smtpd_loop = loop;
	ck_assert_int_eq(fake_dns_start(&fake, loop, zone), 0);
	load("");
}

static void
teardown(void)
{
	smtpd_test_drain(loop, 3000);
	smtpd_peer_end();
	fake_dns_stop(&fake, loop);
	ev_loop_free(loop);
	smtpd_test_unload();
	log_close_file();
	smtpd_test_rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

/* logged - the log so far */
static const char *
logged(void)
{
	static char text[65536];
	int	fd = open(logpath, O_RDONLY);
	ssize_t	n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = 0;
	return text;
}

static int
client(const char *addr)
{
	int	sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	smtpd_session_new(loop, sv[0], sv[0], addr, "1");
	return sv[1];
}

/* reply - run the loop until fd has a whole reply line; "" if none */
static const char *
reply(int fd, int ms)
{
	static char line[1024];
	size_t	n = 0;
	uint64_t end = ev_time_ms() + (uint64_t) ms;

	for (;;) {
		ssize_t	r = recv(fd, line + n, 1, 0);

		if (r == 1) {
			if (line[n] == '\n') {
				line[n + 1] = 0;
				return line;
			}
			if (++n >= sizeof(line) - 2)
				break;
			continue;
		}
		if (r == 0 || ev_time_ms() >= end)
			break;
		ev_run_once(loop, 5);
	}
	line[n] = 0;
	return line;
}

static void
send_str(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t) strlen(s));
}

/* session_with - connect from addr, check the greeting and the name */
static void
session_with(const char *addr, const char *name)
{
	int	fd = client(addr);
	char	want[300];
	const char *r = reply(fd, 3000);

	ck_assert_msg(strncmp(r, "220 ", 4) == 0, "%s: greeting %s", addr, r);
	(void) snprintf(want, sizeof(want), "connect from %s[%s]", name, addr);
	ck_assert_msg(strstr(logged(), want) != NULL, "no \"%s\" in:\n%s", want, logged());
	send_str(fd, "QUIT\r\n");
	r = reply(fd, 2000);
	ck_assert_msg(strncmp(r, "221 ", 4) == 0, "%s", r);
	close(fd);
	while (smtpd_session_count > 0)
		ev_run_once(loop, 5);
	(void) snprintf(want, sizeof(want), "disconnect from %s[%s] quit=1", name, addr);
	ck_assert_msg(strstr(logged(), want) != NULL, "no \"%s\" in:\n%s", want, logged());
}

START_TEST(test_confirmed)
{
	session_with("192.0.2.1", "mail.example.org");
	ck_assert_str_eq(fake.last, "mail.example.org");
	ck_assert_int_eq(fake.last_type, FAKE_A);
	ck_assert_int_eq(fake.queries, 2);
	ck_assert_ptr_null(strstr(logged(), "warning"));
}
END_TEST

START_TEST(test_not_confirmed)
{
	session_with("192.0.2.2", "unknown");
	ck_assert_ptr_nonnull(strstr(logged(), "warning: hostname liar.example.org "
				     "does not resolve to address 192.0.2.2\n"));
	session_with("192.0.2.3", "unknown");
	ck_assert_ptr_nonnull(strstr(logged(), "warning: hostname gone.example.org "
				     "does not resolve to address 192.0.2.3: "));
	session_with("192.0.2.7", "unknown");
	ck_assert_ptr_nonnull(strstr(logged(), "warning: hostname broken.example.org "
				     "does not resolve to address 192.0.2.7: "));
	/* A name with an address of the other family only. */
	session_with("192.0.2.8", "unknown");
	/* No PTR record: unknown, and nothing worth a warning. */
	session_with("192.0.2.200", "unknown");
	ck_assert_ptr_null(strstr(logged(), "192.0.2.200: "));
}
END_TEST

START_TEST(test_junk)
{
	session_with("192.0.2.5", "unknown");
	ck_assert_ptr_null(strstr(logged(), "evil\r"));
	ck_assert_ptr_null(strstr(logged(), "evil\n"));
	ck_assert_ptr_nonnull(strstr(logged(), "warning: reverse lookup of 192.0.2.5 failed"));
}
END_TEST

START_TEST(test_first_good_name_wins)
{
	const char *log;

	session_with("192.0.2.6", "six.example.org");
	log = logged();
	ck_assert_ptr_nonnull(strstr(log, "malformed host name in the PTR record of "
				     "192.0.2.6: 192.0.2.6\n"));
	ck_assert_ptr_nonnull(strstr(log, "malformed host name in the PTR record of "
				     "192.0.2.6: unknown\n"));
	ck_assert_ptr_nonnull(strstr(log, "malformed host name in the PTR record of "
				     "192.0.2.6: bad_.-x.example\n"));
	ck_assert_ptr_nonnull(strstr(log, "hostname liar.example.org does not "
				     "resolve to address 192.0.2.6\n"));
	/* PTR, liar's A, six's A: refused names cost no query. */
	ck_assert_int_eq(fake.queries, 3);
}
END_TEST

START_TEST(test_ipv6)
{
	session_with("2001:db8::1", "v6.example.org");
	ck_assert_int_eq(fake.last_type, FAKE_AAAA);
}
END_TEST

START_TEST(test_localhost_ptr)
{
	/* "localhost" is 127.0.0.1, not 192.0.2.9: not confirmed. */
	session_with("192.0.2.9", "unknown");
	ck_assert_int_eq(fake.queries, 1);
}
END_TEST

START_TEST(test_bound_others_served)
{
	uint64_t start;
	int	slow, fast;
	const char *r;

	/* Deadlines count from the loop's clock: bring it up to date. */
	ev_run_once(loop, 0);
	start = ev_time_ms();
	slow = client("192.0.2.4");

	/* The slow client waits; another one is served meanwhile. */
	fast = client("192.0.2.1");
	r = reply(fast, 900);
	ck_assert_msg(strncmp(r, "220 ", 4) == 0, "%s", r);
	ck_assert_uint_lt(ev_time_ms() - start, 900);
	send_str(fast, "EHLO fast.example\r\n");
	r = reply(fast, 500);
	ck_assert_msg(strncmp(r, "250-", 4) == 0, "%s", r);
	ck_assert_ptr_null(strstr(logged(), "[192.0.2.4]"));

	/* The bound (1 s) passes: unknown, and the greeting. */
	r = reply(slow, 3000);
	ck_assert_msg(strncmp(r, "220 ", 4) == 0, "%s", r);
	ck_assert_uint_ge(ev_time_ms() - start, 950);
	ck_assert_ptr_nonnull(strstr(logged(), "connect from unknown[192.0.2.4]"));
	ck_assert_ptr_nonnull(strstr(logged(), "warning: name lookup for 192.0.2.4 "
				     "took more than 1s"));
	close(slow);
	close(fast);
}
END_TEST

START_TEST(test_pregreet_during_wait)
{
	int	fd = client("192.0.2.4");
	const char *r;

	/* Talk before the greeting, while the name is looked up. */
	send_str(fd, "EHLO eager.example\r\n");
	r = reply(fd, 3000);
	ck_assert_msg(strncmp(r, "554 5.5.0 ", 10) == 0, "%s", r);
	ck_assert_ptr_nonnull(strstr(logged(), "improper command pipelining after "
				     "CONNECT from unknown[192.0.2.4]: EHLO eager.example"));
	close(fd);
}
END_TEST

START_TEST(test_client_leaves_during_wait)
{
	int	fd = client("192.0.2.4");

	close(fd);
	while (smtpd_session_count > 0)
		ev_run_once(loop, 5);
	ck_assert_ptr_nonnull(strstr(logged(), "lost connection after CONNECT from "
				     "unknown[192.0.2.4]"));
	ck_assert_ptr_nonnull(strstr(logged(), "disconnect from unknown[192.0.2.4]"));
}
END_TEST

START_TEST(test_lookup_off)
{
	int	fd;
	const char *r;

	load("smtpd_peername_lookup = no");
	fd = client("192.0.2.1");
	/* The greeting is there at once: no event needed. */
	r = reply(fd, 0);
	ck_assert_msg(strncmp(r, "220 ", 4) == 0, "%s", r);
	ck_assert_ptr_nonnull(strstr(logged(), "connect from unknown[192.0.2.1]"));
	close(fd);
	while (smtpd_session_count > 0)
		ev_run_once(loop, 5);
	ck_assert_int_eq(fake.queries, 0);
}
END_TEST

START_TEST(test_not_an_address)
{
	/* What client_addr() gives for a UNIX socket: no lookup. */
	session_with("unknown", "unknown");
	ck_assert_int_eq(fake.queries, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtpd_peer");
	TCase  *n = tcase_create("names");
	TCase  *t = tcase_create("sessions");

	tcase_add_test(n, test_name_ok);
	suite_add_tcase(s, n);

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, test_confirmed);
	tcase_add_test(t, test_not_confirmed);
	tcase_add_test(t, test_junk);
	tcase_add_test(t, test_first_good_name_wins);
	tcase_add_test(t, test_ipv6);
	tcase_add_test(t, test_localhost_ptr);
	tcase_add_test(t, test_bound_others_served);
	tcase_add_test(t, test_pregreet_during_wait);
	tcase_add_test(t, test_client_leaves_during_wait);
	tcase_add_test(t, test_lookup_off);
	tcase_add_test(t, test_not_an_address);
	suite_add_tcase(s, t);
	return s;
}

CHECK_MAIN(suite)
