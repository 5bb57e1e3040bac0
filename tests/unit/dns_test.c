/*
 * dns_test - check suite for lib/mail/dns: the resolver_servers list, and
 * lookups through c-ares on a real event loop against a DNS server in
 * the same process (fake_dns.h): PTR, A, AAAA, MX, no such name, no
 * data, server failure, no answer at all, cancelled lookups, results
 * known at once, bounds on what is kept, sockets closed when idle;
 * TLSA answers parsed from hand-made messages (good ones, bounds, every
 * truncation, bad lengths and labels); DNSSEC queries (DO and AD bits
 * sent, the answer's AD bit read).
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake_dns.h"

#include "dns.h"
#include "event.h"

/* ------------------------------------------------------------------ */
/* dns_servers_csv                                                    */

static const char *
csv(const char *list)
{
	static char out[DNS_SERVERS_CSV], why[256];

	if (dns_servers_csv(list, out, sizeof(out), why, sizeof(why)) < 0) {
		ck_assert_str_eq(out, "");
		ck_assert_msg(why[0] != 0, "no reason for %s", list);
		return NULL;
	}
	return out;
}

START_TEST(test_servers_good)
{
	ck_assert_str_eq(csv(""), "");
	ck_assert_str_eq(csv(" , "), "");
	ck_assert_str_eq(csv("127.0.0.1"), "127.0.0.1:53");
	ck_assert_str_eq(csv("127.0.0.1:5353"), "127.0.0.1:5353");
	ck_assert_str_eq(csv("::1"), "[::1]:53");
	ck_assert_str_eq(csv("[::1]"), "[::1]:53");
	ck_assert_str_eq(csv("[::1]:5353"), "[::1]:5353");
	ck_assert_str_eq(csv("[192.0.2.1]:54"), "192.0.2.1:54");
	ck_assert_str_eq(csv("[2001:DB8:0:0::1]:1"), "[2001:db8::1]:1");
	ck_assert_str_eq(csv("192.0.2.1, 192.0.2.2:65535\t[::1]:53\n"),
			 "192.0.2.1:53,192.0.2.2:65535,[::1]:53");
}
END_TEST

START_TEST(test_servers_bad)
{
	static const char *const bad[] = {
		"ns.example.org", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:",
		"192.0.2.1:x", ":53", "[::1", "[::1]x", "[::1]:", "[::1]:0",
		"[ns.example.org]:53", "192.0.2.256", "192.0.2.1:53:53",
		"[::1]:53]", "192.0.2.1:-53", "::1:53x",
		"[1111:2222:3333:4444:5555:6666:7777:8888:9999]:53",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(csv(bad[i]) == NULL, "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_servers_bounds)
{
	char	list[2048] = "", one[64], out[DNS_SERVERS_CSV], why[128];

	/* DNS_SERVERS_MAX of the longest form fit; one more does not. */
	for (int i = 0; i < DNS_SERVERS_MAX; i++) {
		(void) snprintf(one, sizeof(one), "%s[ffff:ffff:ffff:ffff:ffff:ffff:ffff:%x]:65535",
				i ? " " : "", 0xfff0 + i);
		strncat(list, one, sizeof(list) - strlen(list) - 1);
	}
	ck_assert_int_eq(dns_servers_csv(list, out, sizeof(out), why, sizeof(why)), 0);
	ck_assert_uint_eq(strlen(out), (size_t) DNS_SERVERS_MAX * 48 - 1);
	strncat(list, " 192.0.2.1", sizeof(list) - strlen(list) - 1);
	ck_assert_int_eq(dns_servers_csv(list, out, sizeof(out), why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "more than"));

	/* An entry longer than any address and port, and a small output. */
	memset(list, '1', 200);
	list[200] = 0;
	ck_assert_int_eq(dns_servers_csv(list, out, sizeof(out), why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "too long"));
	ck_assert_int_eq(dns_servers_csv("192.0.2.1 192.0.2.2", out, 20, why, sizeof(why)), -1);
	ck_assert_int_eq(dns_servers_csv("192.0.2.1", out, 20, why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_addr_match)
{
	struct dns_addr a[2] = {{AF_INET, {192, 0, 2, 1}}, {AF_INET6, {0x20, 0x01, 0x0d, 0xb8}}};
	unsigned char v4[4] = {192, 0, 2, 1}, v6[16] = {0x20, 0x01, 0x0d, 0xb8};
	unsigned char other[16] = {192, 0, 2, 2};

	ck_assert(dns_addr_match(a, 2, AF_INET, v4));
	ck_assert(dns_addr_match(a, 2, AF_INET6, v6));
	ck_assert(!dns_addr_match(a, 2, AF_INET, other));
	ck_assert(!dns_addr_match(a, 1, AF_INET6, v6));
	ck_assert(!dns_addr_match(a, 0, AF_INET, v4));
	ck_assert(!dns_addr_match(a, 2, AF_UNIX, v4));
	/* The same bytes in the other family are another address. */
	ck_assert(!dns_addr_match(&a[1], 1, AF_INET, v6));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Lookups against fake_dns.                                          */

static const struct fake_rr zone[] = {
	{"1.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"mail.example.org"}},
	{"2.2.0.192.in-addr.arpa", FAKE_PTR, 0, false,
	 {"a.example.org", "b.example.org", "c.example.org", "d.example.org",
	  "e.example.org", "f.example.org", "g.example.org", "h.example.org",
	  "i.example.org", "j.example.org"}},
	{"3.2.0.192.in-addr.arpa", FAKE_PTR, 2, false, {NULL}},
	{"4.2.0.192.in-addr.arpa", FAKE_PTR, 0, true, {NULL}},
	{"5.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"bad\001name.example.org"}},
	{"6.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"with space.example.org"}},
	{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	 FAKE_PTR, 0, false, {"v6.example.org"}},
	{"mail.example.org", FAKE_A, 0, false, {"192.0.2.1", "192.0.2.10", "192.0.2.1"}},
	{"mail.example.org", FAKE_AAAA, 0, false, {"2001:db8::1"}},
	{"mail.example.org", FAKE_MX, 0, false, {"20 mx2.example.org", "10 mx1.example.org"}},
	{"v4only.example.org", FAKE_A, 0, false, {"192.0.2.7"}},
	{"slow.example.org", FAKE_A, 0, true, {NULL}},
	{"refused.example.org", FAKE_A, 5, false, {NULL}},
	{"nx.example.org", FAKE_A, 3, false, {NULL}},
	{"_25._tcp.mail.example.org", FAKE_TLSA, 0, false,
	 {"3 1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	  "2 0 0 3082"}},
	{"_25._tcp.broken.example.org", FAKE_TLSA, 2, false, {NULL}},
	{"_25._tcp.short.example.org", FAKE_TLSA, 0, false, {"3 1"}},
	{NULL, 0, 0, false, {NULL}},
};

static struct ev_loop *loop;
static struct fake_dns fake;
static struct dns *dns;

struct result {
	bool	called;
	int	calls;
	int	status;
	char	why[128];
	size_t	n;
	char	names[DNS_NAMES_MAX][DNS_NAME_MAX + 1];
	struct dns_addr addrs[DNS_ADDRS_MAX];
	struct dns_mx mx[DNS_MX_MAX];
	struct dns_tlsa tlsa[DNS_TLSA_MAX];
	unsigned char tlsa_data[DNS_TLSA_MAX][64];
	struct dns_query *q;		/* set by the test: for dns_secure() */
	bool	secure;
};

/* got - what every callback records */
static void
got(struct result *r, int status, const char *why, size_t n)
{
	r->called = true;
	r->calls++;
	r->status = status;
	(void) snprintf(r->why, sizeof(r->why), "%s", why);
	r->n = n;
	r->secure = r->q != NULL && dns_secure(r->q);
}

static void
on_names(void *ctx, int status, const char *why, const char *const *names, size_t n)
{
	struct result *r = ctx;

	got(r, status, why, n);
	ck_assert_uint_le(n, DNS_NAMES_MAX);
	for (size_t i = 0; i < n; i++)
		(void) snprintf(r->names[i], sizeof(r->names[i]), "%s", names[i]);
}

static void
on_addrs(void *ctx, int status, const char *why, const struct dns_addr *a, size_t n)
{
	struct result *r = ctx;

	got(r, status, why, n);
	ck_assert_uint_le(n, DNS_ADDRS_MAX);
	if (n > 0)
		memcpy(r->addrs, a, n * sizeof(*a));
}

static void
on_mx(void *ctx, int status, const char *why, const struct dns_mx *mx, size_t n)
{
	struct result *r = ctx;

	got(r, status, why, n);
	if (n > 0)
		memcpy(r->mx, mx, n * sizeof(*mx));
}

static void
on_tlsa(void *ctx, int status, const char *why, const struct dns_tlsa *t, size_t n)
{
	struct result *r = ctx;

	got(r, status, why, n);
	ck_assert_uint_le(n, DNS_TLSA_MAX);
	for (size_t i = 0; i < n; i++) {
		r->tlsa[i] = t[i];
		ck_assert_uint_le(t[i].len, sizeof(r->tlsa_data[i]));
		memcpy(r->tlsa_data[i], t[i].data, t[i].len);
		r->tlsa[i].data = r->tlsa_data[i];
	}
}

static void
wait_for(const bool *flag, int ms)
{
	uint64_t end = ev_time_ms() + (uint64_t) ms;

	while (!*flag && ev_time_ms() < end)
		ev_run_once(loop, 10);
}

/* settle - run the loop until c-ares holds no lookup and no socket */
static void
settle(void)
{
	uint64_t end = ev_time_ms() + 3000;

	while ((dns_queries(dns) > 0 || dns_sockets(dns) > 0) && ev_time_ms() < end)
		ev_run_once(loop, 10);
	ck_assert_uint_eq(dns_queries(dns), 0);
	ck_assert_uint_eq(dns_sockets(dns), 0);
}

static void
setup(void)
{
	char	servers[64], why[256];
	struct dns_conf conf = {servers, 150, 1, false};

	loop = ev_loop_new();
	ck_assert_int_eq(fake_dns_start(&fake, loop, zone), 0);
	(void) snprintf(servers, sizeof(servers), "127.0.0.1:%d", fake.port);
	dns = dns_new(&conf, why, sizeof(why));
	ck_assert_msg(dns != NULL, "dns_new: %s", why);
	dns_attach(dns, loop);
}

static void
teardown(void)
{
	dns_free(dns);
	fake_dns_stop(&fake, loop);
	ev_loop_free(loop);
}

START_TEST(test_ptr)
{
	struct result r = {0};
	unsigned char a[4] = {192, 0, 2, 1};

	ck_assert_ptr_nonnull(dns_ptr(dns, AF_INET, a, on_names, &r));
	ck_assert(!r.called);
	wait_for(&r.called, 2000);
	ck_assert(r.called);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert_str_eq(r.why, "");
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.names[0], "mail.example.org");
	ck_assert_str_eq(fake.last, "1.2.0.192.in-addr.arpa");
	ck_assert_int_eq(fake.last_type, FAKE_PTR);
	settle();
	ck_assert_int_eq(r.calls, 1);
}
END_TEST

START_TEST(test_ptr_v6)
{
	struct result r = {0};
	unsigned char a[16];

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", a), 1);
	(void) dns_ptr(dns, AF_INET6, a, on_names, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.names[0], "v6.example.org");
	settle();
}
END_TEST

START_TEST(test_ptr_many_names_bounded)
{
	struct result r = {0};
	unsigned char a[4] = {192, 0, 2, 2};
	bool	seen[10] = {false};

	(void) dns_ptr(dns, AF_INET, a, on_names, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	/* Ten PTR records: DNS_NAMES_MAX kept, each one of them. */
	ck_assert_uint_eq(r.n, DNS_NAMES_MAX);
	for (size_t i = 0; i < r.n; i++) {
		ck_assert_uint_eq(strlen(r.names[i]), strlen("a.example.org"));
		ck_assert_str_eq(r.names[i] + 1, ".example.org");
		ck_assert(r.names[i][0] >= 'a' && r.names[i][0] <= 'j');
		ck_assert_msg(!seen[r.names[i][0] - 'a'], "twice: %s", r.names[i]);
		seen[r.names[i][0] - 'a'] = true;
		/* In the order of the answer. */
		ck_assert_int_eq(r.names[i][0], 'a' + (int) i);
	}
	settle();
}
END_TEST

START_TEST(test_ptr_errors)
{
	struct result nx = {0}, fail = {0}, drop = {0};
	unsigned char a9[4] = {192, 0, 2, 9}, a3[4] = {192, 0, 2, 3}, a4[4] = {192, 0, 2, 4};
	uint64_t start = ev_time_ms();

	(void) dns_ptr(dns, AF_INET, a9, on_names, &nx);
	(void) dns_ptr(dns, AF_INET, a3, on_names, &fail);
	(void) dns_ptr(dns, AF_INET, a4, on_names, &drop);
	wait_for(&nx.called, 2000);
	wait_for(&fail.called, 2000);
	ck_assert_int_eq(nx.status, DNS_NOTFOUND);
	ck_assert_uint_eq(nx.n, 0);
	ck_assert_str_ne(nx.why, "");
	ck_assert_int_eq(fail.status, DNS_TEMPFAIL);
	ck_assert_str_ne(fail.why, "");
	/* No answer at all: a temporary failure after the 150 ms try. */
	wait_for(&drop.called, 3000);
	ck_assert_int_eq(drop.status, DNS_TEMPFAIL);
	ck_assert_uint_ge(ev_time_ms() - start, 140);
	ck_assert_uint_lt(ev_time_ms() - start, 2000);
	settle();
}
END_TEST

START_TEST(test_ptr_junk)
{
	struct result ctl = {0}, sp = {0};
	unsigned char a5[4] = {192, 0, 2, 5}, a6[4] = {192, 0, 2, 6};

	/*
	 * c-ares refuses a host name with a control character or a space
	 * in it; a caller validates names anyway (smtpd_peer_test).
	 */
	(void) dns_ptr(dns, AF_INET, a5, on_names, &ctl);
	(void) dns_ptr(dns, AF_INET, a6, on_names, &sp);
	wait_for(&ctl.called, 2000);
	wait_for(&sp.called, 2000);
	ck_assert(ctl.called && sp.called);
	for (size_t i = 0; i < ctl.n; i++)
		ck_assert_msg(strchr(ctl.names[i], '\001') == NULL, "%s", ctl.names[i]);
	ck_assert_msg(ctl.status != DNS_OK, "control character passed: %s", ctl.names[0]);
	ck_assert_msg(sp.status != DNS_OK, "space passed: %s", sp.names[0]);
	settle();
}
END_TEST

START_TEST(test_host)
{
	struct result v4 = {0}, v6 = {0}, nodata = {0}, nx = {0}, refused = {0};
	unsigned char a1[4] = {192, 0, 2, 1}, a10[4] = {192, 0, 2, 10}, a6[16];

	(void) dns_host(dns, "mail.example.org", AF_INET, on_addrs, &v4);
	(void) dns_host(dns, "MAIL.example.org.", AF_INET6, on_addrs, &v6);
	(void) dns_host(dns, "v4only.example.org", AF_INET6, on_addrs, &nodata);
	(void) dns_host(dns, "nx.example.org", AF_INET, on_addrs, &nx);
	(void) dns_host(dns, "refused.example.org", AF_INET, on_addrs, &refused);
	wait_for(&v4.called, 2000);
	wait_for(&v6.called, 2000);
	wait_for(&nodata.called, 2000);
	wait_for(&nx.called, 2000);
	wait_for(&refused.called, 2000);

	/* Three records, one address twice: two addresses. */
	ck_assert_int_eq(v4.status, DNS_OK);
	ck_assert_uint_eq(v4.n, 2);
	ck_assert(dns_addr_match(v4.addrs, v4.n, AF_INET, a1));
	ck_assert(dns_addr_match(v4.addrs, v4.n, AF_INET, a10));
	ck_assert_int_eq(v6.status, DNS_OK);
	ck_assert_uint_eq(v6.n, 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", a6), 1);
	ck_assert(dns_addr_match(v6.addrs, 1, AF_INET6, a6));
	ck_assert_int_eq(nodata.status, DNS_NOTFOUND);
	ck_assert_uint_eq(nodata.n, 0);
	ck_assert_int_eq(nx.status, DNS_NOTFOUND);
	ck_assert_int_eq(refused.status, DNS_TEMPFAIL);
	settle();
}
END_TEST

START_TEST(test_host_single_label_not_searched)
{
	struct result r = {0};

	/* A name without dots is asked as it is, once. */
	(void) dns_host(dns, "mailhost", AF_INET, on_addrs, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_NOTFOUND);
	ck_assert_int_eq(fake.queries, 1);
	ck_assert_str_eq(fake.last, "mailhost");
	settle();
}
END_TEST

START_TEST(test_host_localhost)
{
	static const char *const names[] = {
		"localhost", "LOCALHOST.", "a.localhost", "x.y.Localhost.",
	};
	unsigned char lo4[4] = {127, 0, 0, 1}, lo6[16] = {[15] = 1};

	/* RFC 6761: loopback, and no query. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct result r4 = {0}, r6 = {0};

		(void) dns_host(dns, names[i], AF_INET, on_addrs, &r4);
		(void) dns_host(dns, names[i], AF_INET6, on_addrs, &r6);
		ck_assert(!r4.called && !r6.called);
		wait_for(&r6.called, 1000);
		ck_assert_int_eq(r4.status, DNS_OK);
		ck_assert_uint_eq(r4.n, 1);
		ck_assert(dns_addr_match(r4.addrs, 1, AF_INET, lo4));
		ck_assert_int_eq(r6.status, DNS_OK);
		ck_assert(dns_addr_match(r6.addrs, 1, AF_INET6, lo6));
	}
	ck_assert_int_eq(fake.queries, 0);
	/* Names that only end in the same letters are asked. */
	{
		struct result r = {0};

		(void) dns_host(dns, "notlocalhost", AF_INET, on_addrs, &r);
		wait_for(&r.called, 2000);
		ck_assert_int_eq(r.status, DNS_NOTFOUND);
		ck_assert_int_eq(fake.queries, 1);
	}
	settle();
}
END_TEST

START_TEST(test_mx)
{
	struct result r = {0}, nx = {0};

	(void) dns_mx(dns, "mail.example.org", on_mx, &r);
	(void) dns_mx(dns, "nx.example.org", on_mx, &nx);
	wait_for(&r.called, 2000);
	wait_for(&nx.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.mx[0].pref + r.mx[1].pref, 30);
	ck_assert_str_eq(r.mx[r.mx[0].pref == 10 ? 0 : 1].name, "mx1.example.org");
	ck_assert_str_eq(r.mx[r.mx[0].pref == 20 ? 0 : 1].name, "mx2.example.org");
	ck_assert_int_eq(nx.status, DNS_NOTFOUND);
	settle();
}
END_TEST

START_TEST(test_known_at_once_is_delivered_later)
{
	struct result r = {0};
	unsigned char a[4] = {192, 0, 2, 9};

	/* c-ares answers a numeric name inside the call: not seen yet. */
	ck_assert_ptr_nonnull(dns_host(dns, "192.0.2.9", AF_INET, on_addrs, &r));
	ck_assert(!r.called);
	ck_assert_uint_eq(dns_queries(dns), 1);
	ev_run_once(loop, 100);
	ck_assert(r.called);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert(dns_addr_match(r.addrs, r.n, AF_INET, a));
	ck_assert_int_eq(fake.queries, 0);
	settle();
}
END_TEST

START_TEST(test_cancel)
{
	struct result r = {0}, late = {0}, soon = {0};
	unsigned char a[4] = {192, 0, 2, 1};
	struct dns_query *q;

	/* Cancelled while c-ares waits for the server. */
	q = dns_ptr(dns, AF_INET, a, on_names, &r);
	dns_cancel(q);
	/* Cancelled after the answer was known, before its delivery. */
	q = dns_host(dns, "192.0.2.9", AF_INET, on_addrs, &soon);
	dns_cancel(q);
	dns_cancel(NULL);
	/* One that is not cancelled still comes. */
	(void) dns_host(dns, "mail.example.org", AF_INET, on_addrs, &late);
	wait_for(&late.called, 2000);
	settle();
	ck_assert(!r.called);
	ck_assert(!soon.called);
	ck_assert_int_eq(late.calls, 1);
	ck_assert_int_ge(fake.queries, 2);
}
END_TEST

/* A callback that starts the next lookup (a PTR, then its A). */
struct chain {
	struct result a;
	bool	done;
};

static void
chain_names(void *ctx, int status, const char *why, const char *const *names, size_t n)
{
	struct chain *c = ctx;

	(void) why;
	ck_assert_int_eq(status, DNS_OK);
	ck_assert_uint_eq(n, 1);
	(void) dns_host(dns, names[0], AF_INET, on_addrs, &c->a);
	c->done = true;
}

START_TEST(test_callback_starts_lookup)
{
	struct chain c = {0};
	unsigned char a[4] = {192, 0, 2, 1};

	(void) dns_ptr(dns, AF_INET, a, chain_names, &c);
	wait_for(&c.done, 2000);
	wait_for(&c.a.called, 2000);
	ck_assert_int_eq(c.a.status, DNS_OK);
	ck_assert(dns_addr_match(c.a.addrs, c.a.n, AF_INET, a));
	settle();
}
END_TEST

START_TEST(test_free_with_pending)
{
	struct result r = {0}, s = {0};
	unsigned char a[4] = {192, 0, 2, 4};

	(void) dns_ptr(dns, AF_INET, a, on_names, &r);		/* dropped */
	(void) dns_host(dns, "192.0.2.9", AF_INET, on_addrs, &s);	/* ready */
	ev_run_once(loop, 0);
	ck_assert_uint_ge(dns_sockets(dns), 1);
	dns_free(dns);
	/* No callback after dns_free(), and nothing left on the loop. */
	ck_assert(!r.called);
	dns = NULL;
	for (int i = 0; i < 5; i++)
		ev_run_once(loop, 10);
	ck_assert(!r.called);
	{
		char	servers[64], why[256];
		struct dns_conf conf = {servers, 150, 1, false};

		(void) snprintf(servers, sizeof(servers), "127.0.0.1:%d", fake.port);
		dns = dns_new(&conf, why, sizeof(why));
		ck_assert_ptr_nonnull(dns);
		dns_attach(dns, loop);
	}
}
END_TEST

START_TEST(test_new_bad_servers)
{
	char	why[256];
	struct dns_conf conf = {"ns.example.org", 0, 0, false};

	ck_assert_ptr_null(dns_new(&conf, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "ns.example.org"));
}
END_TEST

START_TEST(test_unreachable_server)
{
	struct result r = {0};
	unsigned char a[4] = {192, 0, 2, 1};
	char	why[256];
	struct dns *d2;
	struct dns_conf conf = {NULL, 150, 1, false};
	char	servers[64];
	int	fd;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	/* A port nobody listens on: ICMP unreachable, a quick failure. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
	close(fd);
	(void) snprintf(servers, sizeof(servers), "127.0.0.1:%d", ntohs(sin.sin_port));
	conf.servers = servers;
	d2 = dns_new(&conf, why, sizeof(why));
	ck_assert_ptr_nonnull(d2);
	dns_attach(d2, loop);
	(void) dns_ptr(d2, AF_INET, a, on_names, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	dns_free(d2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* DNSSEC: DO and AD asked, the answer's AD read; TLSA on the wire    */

static struct dns *
dns_dnssec(void)
{
	char	servers[64], why[256];
	struct dns_conf conf = {servers, 150, 1, true};
	struct dns *d;

	(void) snprintf(servers, sizeof(servers), "127.0.0.1:%d", fake.port);
	d = dns_new(&conf, why, sizeof(why));
	ck_assert_msg(d != NULL, "dns_new: %s", why);
	dns_attach(d, loop);
	return d;
}

START_TEST(test_dnssec_ad_bit)
{
	struct dns *d = dns_dnssec();
	struct result r = {0};

	/* Not signed: no AD, but DO and AD were asked. */
	r.q = dns_mx(d, "mail.example.org", on_mx, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert_uint_eq(r.n, 2);
	ck_assert(!r.secure);
	ck_assert(fake.last_ad);
	ck_assert(fake.last_do);

	/* Signed: MX, A (a plain query, not getaddrinfo), a denial. */
	fake.signed_zone = "example.org";
	memset(&r, 0, sizeof(r));
	r.q = dns_mx(d, "mail.example.org", on_mx, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert(r.secure);
	memset(&r, 0, sizeof(r));
	r.q = dns_host(d, "mail.example.org", AF_INET, on_addrs, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert_uint_eq(r.n, 2);		/* the duplicate dropped */
	ck_assert(r.secure);
	ck_assert_int_eq(fake.last_type, FAKE_A);
	memset(&r, 0, sizeof(r));
	r.q = dns_host(d, "nowhere.example.org", AF_INET6, on_addrs, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_NOTFOUND);
	ck_assert(r.secure);
	memset(&r, 0, sizeof(r));
	r.q = dns_host(d, "refused.example.org", AF_INET, on_addrs, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);

	/* dns_probe: any type, a status and the AD bit, no names. */
	memset(&r, 0, sizeof(r));
	r.q = dns_probe(d, FAKE_MX, "mail.example.org", on_names, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert_uint_eq(r.n, 0);
	ck_assert(r.secure);
	memset(&r, 0, sizeof(r));
	r.q = dns_probe(d, 2, "elsewhere.test", on_names, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_NOTFOUND);
	ck_assert(!r.secure);
	ck_assert_int_eq(fake.last_type, 2);

	/* Without dnssec in the conf: nothing asked, nothing believed. */
	memset(&r, 0, sizeof(r));
	r.q = dns_mx(dns, "mail.example.org", on_mx, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert(!r.secure);
	ck_assert(!fake.last_ad);
	ck_assert(!fake.last_do);
	fake.signed_zone = NULL;
	dns_free(d);
}
END_TEST

START_TEST(test_tlsa_lookup)
{
	struct dns *d = dns_dnssec();
	struct result r = {0};

	fake.signed_zone = "example.org";
	r.q = dns_tlsa(d, "_25._tcp.mail.example.org", on_tlsa, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert(r.secure);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.tlsa[0].usage, 3);
	ck_assert_uint_eq(r.tlsa[0].selector, 1);
	ck_assert_uint_eq(r.tlsa[0].mtype, 1);
	ck_assert_uint_eq(r.tlsa[0].len, 32);
	ck_assert_int_eq(r.tlsa[0].data[1], 0x11);
	ck_assert_int_eq(r.tlsa[0].data[31], 0xff);
	ck_assert_uint_eq(r.tlsa[1].usage, 2);
	ck_assert_uint_eq(r.tlsa[1].len, 2);
	ck_assert_int_eq(fake.last_type, FAKE_TLSA);

	/* No such records (a name with other types), SERVFAIL, malformed. */
	memset(&r, 0, sizeof(r));
	r.q = dns_tlsa(d, "mail.example.org", on_tlsa, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_NOTFOUND);
	ck_assert(r.secure);
	memset(&r, 0, sizeof(r));
	r.q = dns_tlsa(d, "_25._tcp.broken.example.org", on_tlsa, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	memset(&r, 0, sizeof(r));
	r.q = dns_tlsa(d, "_25._tcp.short.example.org", on_tlsa, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert_uint_eq(r.n, 0);

	/* Through a plain resolver too (no DNSSEC): never secure. */
	memset(&r, 0, sizeof(r));
	r.q = dns_tlsa(dns, "_25._tcp.mail.example.org", on_tlsa, &r);
	wait_for(&r.called, 2000);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert_uint_eq(r.n, 2);
	ck_assert(!r.secure);
	fake.signed_zone = NULL;
	dns_free(d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* dns_tlsa_parse: the raw answer, every length checked               */

struct msg {
	unsigned char b[1024];
	size_t	n;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->n + n, sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put16(struct msg *m, unsigned v)
{
	unsigned char b[2] = {(unsigned char) (v >> 8), (unsigned char) v};

	put(m, b, 2);
}

/* header: id 1, QR, AD, one question, an answers */
static void
header(struct msg *m, unsigned an)
{
	m->n = 0;
	put16(m, 1);
	put16(m, 0x81a0);
	put16(m, 1);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
	/* _25._tcp.mx.example */
	put(m, "\3_25\4_tcp\2mx\7example", 21);	/* and its final 0 */
	put16(m, 52);
	put16(m, 1);
}

/* rr - a record owned by the question's name (pointer to offset 12) */
static void
rr(struct msg *m, unsigned type, const void *rdata, unsigned rdlen)
{
	put(m, "\xc0\x0c", 2);
	put16(m, type);
	put16(m, 1);
	put(m, "\0\0\1\0", 4);
	put16(m, rdlen);
	put(m, rdata, rdlen);
}

static int
parse(const struct msg *m, struct dns_tlsa *t, size_t max, size_t *n, char *why)
{
	return dns_tlsa_parse(m->b, m->n, t, max, n, why, 256);
}

START_TEST(test_tlsa_parse_good)
{
	struct msg m;
	struct dns_tlsa t[4];
	unsigned char ee[35] = {3, 1, 1}, ta[3 + 64] = {2, 0, 2};
	char	why[256];
	size_t	n;

	memset(ee + 3, 0xab, 32);
	memset(ta + 3, 0xcd, 64);
	header(&m, 3);
	rr(&m, 5, "\2mx\7example\0", 12);	/* a CNAME: skipped */
	rr(&m, 52, ee, sizeof(ee));
	rr(&m, 52, ta, sizeof(ta));
	ck_assert_int_eq(parse(&m, t, 4, &n, why), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(t[0].usage, 3);
	ck_assert_uint_eq(t[0].selector, 1);
	ck_assert_uint_eq(t[0].mtype, 1);
	ck_assert_uint_eq(t[0].len, 32);
	ck_assert_int_eq(t[0].data[0], 0xab);
	ck_assert_int_eq(t[0].data[31], 0xab);
	ck_assert_uint_eq(t[1].usage, 2);
	ck_assert_uint_eq(t[1].mtype, 2);
	ck_assert_uint_eq(t[1].len, 64);
	ck_assert_ptr_eq(t[1].data, m.b + m.n - 64);

	/* No answers: nothing, no error. */
	header(&m, 0);
	ck_assert_int_eq(parse(&m, t, 4, &n, why), 0);
	ck_assert_uint_eq(n, 0);

	/* Three bytes and no data: kept (its use is the caller's call). */
	header(&m, 1);
	rr(&m, 52, "\3\1\1", 3);
	ck_assert_int_eq(parse(&m, t, 4, &n, why), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(t[0].len, 0);
}
END_TEST

START_TEST(test_tlsa_parse_bounded)
{
	struct msg m;
	struct dns_tlsa t[2];
	char	why[256];
	size_t	n;

	header(&m, 5);
	for (int i = 0; i < 5; i++)
		rr(&m, 52, "\3\1\1\x42", 4);
	ck_assert_int_eq(parse(&m, t, 2, &n, why), 0);
	ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_tlsa_parse_bad_lengths)
{
	struct msg m, cut;
	struct dns_tlsa t[4];
	unsigned char ee[35] = {3, 1, 1};
	char	why[256];
	size_t	n, qend;

	/* Shorter than a header. */
	header(&m, 0);
	m.n = 11;
	ck_assert_int_eq(parse(&m, t, 4, &n, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "header"));

	/* The question cut anywhere. */
	header(&m, 0);
	for (size_t len = 12; len < m.n; len++) {
		cut = m;
		cut.n = len;
		ck_assert_msg(parse(&cut, t, 4, &n, why) == -1, "question cut at %zu", len);
	}

	/* An answer cut anywhere: never a record, always an error. */
	header(&m, 0);
	qend = m.n;
	header(&m, 1);
	rr(&m, 52, ee, sizeof(ee));
	for (size_t len = qend; len < m.n; len++) {
		cut = m;
		cut.n = len;
		ck_assert_msg(parse(&cut, t, 4, &n, why) == -1, "answer cut at %zu", len);
		ck_assert_uint_eq(n, 0);
	}

	/* rdlength beyond the message. */
	header(&m, 1);
	rr(&m, 52, ee, sizeof(ee));
	m.b[m.n - 35 - 2] = 0;
	m.b[m.n - 35 - 1] = 36;
	ck_assert_int_eq(parse(&m, t, 4, &n, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "36 bytes"));

	/* A TLSA record shorter than usage, selector, matching type. */
	header(&m, 1);
	rr(&m, 52, "\3\1", 2);
	ck_assert_int_eq(parse(&m, t, 4, &n, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "at least 3"));

	/* More answers announced than there are. */
	header(&m, 2);
	rr(&m, 52, ee, sizeof(ee));
	ck_assert_int_eq(parse(&m, t, 4, &n, why), -1);

	/* A label with the reserved 0x40 bit, a pointer cut in half. */
	header(&m, 1);
	put(&m, "\x41", 1);
	ck_assert_int_eq(parse(&m, t, 4, &n, why), -1);
	header(&m, 1);
	put(&m, "\xc0", 1);
	ck_assert_int_eq(parse(&m, t, 4, &n, why), -1);

	/* A label longer than what is left. */
	header(&m, 1);
	put(&m, "\x3fxyz", 4);
	ck_assert_int_eq(parse(&m, t, 4, &n, why), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("dns");
	TCase  *t = tcase_create("servers");
	TCase  *l = tcase_create("lookups");

	tcase_add_test(t, test_servers_good);
	tcase_add_test(t, test_servers_bad);
	tcase_add_test(t, test_servers_bounds);
	tcase_add_test(t, test_addr_match);
	tcase_add_test(t, test_new_bad_servers);
	tcase_add_test(t, test_tlsa_parse_good);
	tcase_add_test(t, test_tlsa_parse_bounded);
	tcase_add_test(t, test_tlsa_parse_bad_lengths);
	suite_add_tcase(s, t);

	tcase_add_checked_fixture(l, setup, teardown);
	tcase_set_timeout(l, 30);
	tcase_add_test(l, test_ptr);
	tcase_add_test(l, test_ptr_v6);
	tcase_add_test(l, test_ptr_many_names_bounded);
	tcase_add_test(l, test_ptr_errors);
	tcase_add_test(l, test_ptr_junk);
	tcase_add_test(l, test_host);
	tcase_add_test(l, test_host_single_label_not_searched);
	tcase_add_test(l, test_host_localhost);
	tcase_add_test(l, test_mx);
	tcase_add_test(l, test_known_at_once_is_delivered_later);
	tcase_add_test(l, test_cancel);
	tcase_add_test(l, test_callback_starts_lookup);
	tcase_add_test(l, test_free_with_pending);
	tcase_add_test(l, test_unreachable_server);
	tcase_add_test(l, test_dnssec_ad_bit);
	tcase_add_test(l, test_tlsa_lookup);
	suite_add_tcase(s, l);
	return s;
}

CHECK_MAIN(suite)
