/*
 * smtp_deliver_test - check suite for smtp/smtp_deliver.c and what it
 * drives (smtp_resolve.c, smtp_session.c, smtp_cache.c): whole
 * deliveries on a real event loop, against a DNS server and SMTP
 * servers in the same process (fake_dns.h, fake_smtp.h), on loopback.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "fake_dns.h"
#include "fake_smtp.h"
#include "test_config.h"

#include "../../smtp/smtp_session.h"
#include "dns.h"
#include "event.h"
#include "log.h"

static struct ev_loop *loop;
static struct dns *resolver;
static struct fake_dns fdns;

struct req {
	struct smtp_request rq;
	struct smtp_rcpt rc[4];
	bool	done;
	char	path[64];
};

static const struct fake_rr no_zone[] = {{NULL}};

static void
setup(const struct fake_rr *zone, const char *extra)
{
	char	text[4096], why[256];
	struct dns_conf dc = {.timeout_ms = 300, .tries = 1};

	log_init("smtp_deliver_test", LOG_DEST_STDERR);
	loop = ev_loop_new();
	smtp_loop = loop;
	ck_assert_int_eq(fake_dns_start(&fdns, loop, zone ? zone : no_zone), 0);
	(void) snprintf(text, sizeof(text), "myhostname = client.example.net\n"
			"resolver_servers = 127.0.0.1:%d\n"
			"inet_protocols = ipv4\n"
			"smtp_tls_security_level = none\n"
			"smtp_helo_timeout = 1s\n"
			"smtp_connect_timeout = 2s\n%s", fdns.port, extra ? extra : "");
	test_config_text(text);
	dc.servers = cfg->resolver_servers;
	resolver = dns_new(&dc, why, sizeof(why));
	ck_assert_msg(resolver != NULL, "%s", why);
	dns_attach(resolver, loop);
	smtp_resolve_init(loop, resolver);
	ck_assert_int_eq(smtp_tls_policy_open(why, sizeof(why)), 0);
}

static void
teardown(void)
{
	smtp_cache_close_all();
	/* Let QUITs go out and sessions close. */
	for (int i = 0; i < 20 && smtp_session_count > 0; i++)
		(void) ev_run_once(loop, 50);
	fake_dns_stop(&fdns, loop);
	dns_free(resolver);
	ev_loop_free(loop);
}

static void
on_done(struct smtp_request *rq)
{
	((struct req *) rq->ctx)->done = true;
}

/* req_init - a queue-file-like file holding header and body */
static void
req_init(struct req *r, const char *nexthop, const char *hdr, const char *body,
	 size_t n, ...)
{
	va_list ap;
	FILE   *f;

	memset(r, 0, sizeof(*r));
	(void) strcpy(r->path, "/tmp/smtp_deliver_test.XXXXXX");
	r->rq.fd = mkstemp(r->path);
	ck_assert_int_ge(r->rq.fd, 0);
	f = fdopen(dup(r->rq.fd), "w");
	fputs("JUNK", f);		/* so offsets are not 0 */
	fputs(hdr, f);
	fputs("XX", f);
	fputs(body, f);
	fclose(f);
	r->rq.hdr_off = 4;
	r->rq.hdr_len = strlen(hdr);
	r->rq.body_off = 4 + (off_t) strlen(hdr) + 2;
	r->rq.body_len = strlen(body);
	(void) strcpy(r->rq.qid, "TESTQID");
	r->rq.sender = "sender@example.net";
	r->rq.envid = "";
	r->rq.ret = "";
	r->rq.nexthop = nexthop;
	r->rq.transport = "smtp";
	r->rq.rcpts = r->rc;
	r->rq.nrcpts = n;
	r->rq.done = on_done;
	r->rq.ctx = r;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		r->rc[i].address = va_arg(ap, const char *);
		r->rc[i].orcpt = "";
		r->rc[i].notify = "";
		r->rc[i].index = i;
	}
	va_end(ap);
}

static void
req_free(struct req *r)
{
	for (size_t i = 0; i < r->rq.nrcpts; i++)
		free(r->rc[i].reason);
	close(r->rq.fd);
	unlink(r->path);
}

static void
run(struct req *r, int max_ms)
{
	uint64_t end = ev_time_ms() + (uint64_t) max_ms;

	while (!r->done && ev_time_ms() < end)
		(void) ev_run_once(loop, 20);
	ck_assert_msg(r->done, "delivery did not finish in %d ms", max_ms);
}

static const char *
reject_b(struct fake_smtp *f, const char *line)
{
	(void) f;
	if (strcmp(line, "RCPT TO:<b@example.org>") == 0)
		return "550 5.1.1 <b@example.org>: no such user\r\n";
	return NULL;
}

START_TEST(test_one_accepted_one_refused)
{
	struct fake_smtp srv = {.greeting = "220 mx ESMTP",
		.ehlo = "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n", .reply = reject_b};
	struct req r;
	char	hop[64], relay[64];

	setup(NULL, NULL);
	ck_assert_int_eq(fake_smtp_start(&srv, loop, "127.0.0.1", 0), 0);
	(void) snprintf(hop, sizeof(hop), "[127.0.0.1]:%d", srv.port);
	req_init(&r, hop, "Subject: test\n", ".hidden\nline\n", 2, "a@example.org",
		 "b@example.org");
	smtp_deliver(&r.rq);
	run(&r, 3000);
	(void) snprintf(relay, sizeof(relay), "127.0.0.1[127.0.0.1]:%d", srv.port);
	ck_assert_int_eq(r.rc[0].stat, SMTP_R_SENT);
	ck_assert_str_eq(r.rc[0].dsn, "2.0.0");
	ck_assert_str_eq(r.rc[0].reason, "250 2.0.0 Ok: queued as FAKE1");
	ck_assert_str_eq(r.rc[0].relay, relay);
	ck_assert_int_eq(r.rc[1].stat, SMTP_R_BOUNCE);
	ck_assert_str_eq(r.rc[1].dsn, "5.1.1");
	ck_assert_msg(strstr(r.rc[1].reason, "said: 550 5.1.1 <b@example.org>: no such user "
			     "(in reply to RCPT TO command)") != NULL, "%s", r.rc[1].reason);
	/* CR LF, the empty line between header and body, dot-stuffing. */
	ck_assert_str_eq(buf_str(&srv.data), "Subject: test\r\n\r\n..hidden\r\nline\r\n");
	ck_assert_msg(strstr(buf_str(&srv.log), "C: MAIL FROM:<sender@example.net>\n")
		      != NULL, "%s", buf_str(&srv.log));
	ck_assert_str_eq(r.rq.site_why, "");
	req_free(&r);
	fake_smtp_stop(&srv, loop);
	teardown();
}
END_TEST

START_TEST(test_mx_next_after_421_and_reuse)
{
	struct fake_smtp good = {.greeting = "220 mx2", .ehlo = "250-mx2\r\n250 PIPELINING\r\n"};
	struct fake_smtp busy = {.greeting = "421 4.3.2 busy"};
	static const struct fake_rr zone[] = {
		{"example.test", FAKE_MX, 0, false, {"20 mx2.example.test", "10 mx1.example.test"}},
		{"mx1.example.test", FAKE_A, 0, false, {"127.0.0.2"}},
		{"mx2.example.test", FAKE_A, 0, false, {"127.0.0.3"}},
		{NULL},
	};
	struct req r, r2;
	char	hop[64];

	setup(zone, NULL);
	ck_assert_int_eq(fake_smtp_start(&good, loop, "127.0.0.3", 0), 0);
	ck_assert_int_eq(fake_smtp_start(&busy, loop, "127.0.0.2", good.port), 0);
	(void) snprintf(hop, sizeof(hop), "example.test:%d", good.port);
	req_init(&r, hop, "Subject: x\n", "body\n", 1, "u@example.test");
	smtp_deliver(&r.rq);
	run(&r, 3000);
	ck_assert_int_eq(busy.conns_total, 1);
	ck_assert_int_eq(good.conns_total, 1);
	ck_assert_int_eq(r.rc[0].stat, SMTP_R_SENT);
	ck_assert_msg(strncmp(r.rc[0].relay, "mx2.example.test[127.0.0.3]:", 28) == 0,
		      "%s", r.rc[0].relay);
	/* The next message to the same destination takes the idle connection. */
	ck_assert_uint_eq(smtp_cache_count(), 1);
	req_init(&r2, hop, "Subject: y\n", "body\n", 1, "v@example.test");
	smtp_deliver(&r2.rq);
	run(&r2, 3000);
	ck_assert_int_eq(r2.rc[0].stat, SMTP_R_SENT);
	ck_assert_int_eq(good.conns_total, 1);
	ck_assert_int_eq(good.mails, 2);
	req_free(&r);
	req_free(&r2);
	fake_smtp_stop(&good, loop);
	fake_smtp_stop(&busy, loop);
	teardown();
}
END_TEST

START_TEST(test_dns_outcomes)
{
	static const struct fake_rr zone[] = {
		{"nullmx.test", FAKE_MX, 0, false, {"0 "}},
		{"slow.test", FAKE_MX, 0, true, {NULL}},
		{"broken.test", FAKE_MX, 2, false, {NULL}},
		{"noaddr.test", FAKE_MX, 0, false, {"10 nothing.noaddr.test"}},
		{NULL},
	};
	static const struct {
		const char *hop;
		enum smtp_rstat stat;
		const char *dsn;
		const char *text;
	} cases[] = {
		{"nullmx.test", SMTP_R_BOUNCE, "5.1.10", "Domain nullmx.test does not accept mail (nullMX)"},
		{"nxdomain.test", SMTP_R_BOUNCE, "5.4.4", "Host or domain name not found. Name service error for name=nxdomain.test type=A"},
		{"slow.test", SMTP_R_DEFER, "4.4.3", "type=MX: Host not found, try again"},
		{"broken.test", SMTP_R_DEFER, "4.4.3", "type=MX: Host not found, try again"},
		{"noaddr.test", SMTP_R_BOUNCE, "5.4.4", "name=nothing.noaddr.test type=A"},
		{"[bad", SMTP_R_DEFER, "4.3.5", "bad next hop"},
	};

	setup(zone, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct req r;

		req_init(&r, cases[i].hop, "S: x\n", "b\n", 1, "u@x.test");
		smtp_deliver(&r.rq);
		run(&r, 3000);
		ck_assert_msg(r.rc[0].stat == cases[i].stat, "%s: stat %d (%s)", cases[i].hop,
			      r.rc[0].stat, r.rc[0].reason);
		ck_assert_str_eq(r.rc[0].dsn, cases[i].dsn);
		ck_assert_msg(strstr(r.rc[0].reason, cases[i].text) != NULL, "%s: %s",
			      cases[i].hop, r.rc[0].reason);
		ck_assert_str_eq(r.rc[0].relay, "");
		if (cases[i].stat == SMTP_R_DEFER)
			ck_assert_str_eq(r.rq.site_dsn, cases[i].dsn);
		req_free(&r);
	}
	teardown();
}
END_TEST

START_TEST(test_silent_server_times_out)
{
	struct fake_smtp mute = {.greeting = NULL};
	struct req r;
	char	hop[64];

	setup(NULL, NULL);
	ck_assert_int_eq(fake_smtp_start(&mute, loop, "127.0.0.1", 0), 0);
	(void) snprintf(hop, sizeof(hop), "[127.0.0.1]:%d", mute.port);
	req_init(&r, hop, "S: x\n", "b\n", 1, "u@x.test");
	smtp_deliver(&r.rq);
	run(&r, 4000);
	ck_assert_int_eq(r.rc[0].stat, SMTP_R_DEFER);
	ck_assert_str_eq(r.rc[0].dsn, "4.4.2");
	ck_assert_msg(strstr(r.rc[0].reason, "timed out while receiving the initial "
			     "server greeting") != NULL, "%s", r.rc[0].reason);
	ck_assert_str_eq(r.rq.site_dsn, "4.4.2");
	req_free(&r);
	fake_smtp_stop(&mute, loop);
	teardown();
}
END_TEST

START_TEST(test_connection_refused)
{
	struct fake_smtp tmp = {.greeting = "220 x"};
	struct req r;
	char	hop[64];
	int	port;

	setup(NULL, NULL);
	ck_assert_int_eq(fake_smtp_start(&tmp, loop, "127.0.0.1", 0), 0);
	port = tmp.port;
	fake_smtp_stop(&tmp, loop);	/* nothing listens there now */
	(void) snprintf(hop, sizeof(hop), "[127.0.0.1]:%d", port);
	req_init(&r, hop, "S: x\n", "b\n", 1, "u@x.test");
	smtp_deliver(&r.rq);
	run(&r, 3000);
	ck_assert_int_eq(r.rc[0].stat, SMTP_R_DEFER);
	ck_assert_str_eq(r.rc[0].dsn, "4.4.1");
	ck_assert_msg(strstr(r.rc[0].reason, "Connection refused") != NULL, "%s",
		      r.rc[0].reason);
	req_free(&r);
	teardown();
}
END_TEST

START_TEST(test_8bit_to_7bit_server)
{
	struct fake_smtp srv = {.greeting = "220 mx", .ehlo = "250-mx\r\n250 PIPELINING\r\n"};
	struct req r;
	char	hop[64];

	setup(NULL, NULL);
	ck_assert_int_eq(fake_smtp_start(&srv, loop, "127.0.0.1", 0), 0);
	(void) snprintf(hop, sizeof(hop), "[127.0.0.1]:%d", srv.port);
	req_init(&r, hop, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		 "Content-Transfer-Encoding: 8bit\n", "caf\xc3\xa9 = ok \n", 1, "u@x.test");
	smtp_deliver(&r.rq);
	run(&r, 3000);
	ck_assert_int_eq(r.rc[0].stat, SMTP_R_SENT);
	ck_assert_str_eq(buf_str(&srv.data), "MIME-Version: 1.0\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
			 "caf=C3=A9 =3D ok=20\r\n");
	ck_assert_msg(strstr(buf_str(&srv.log), "BODY=8BITMIME") == NULL, "%s",
		      buf_str(&srv.log));
	req_free(&r);
	fake_smtp_stop(&srv, loop);
	teardown();
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtp_deliver");
	TCase  *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_one_accepted_one_refused);
	tcase_add_test(tc, test_mx_next_after_421_and_reuse);
	tcase_add_test(tc, test_dns_outcomes);
	tcase_add_test(tc, test_silent_server_times_out);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_8bit_to_7bit_server);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
