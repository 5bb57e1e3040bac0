/* smtp_proto_test - check suite for smtp/smtp_proto.c: the client's conversation, no sockets. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "../../smtp/smtp.h"

#define PEER "mx.example.org[192.0.2.1]"

struct fx {
	struct smtp_proto p;
	struct smtp_proto_conf conf;
	struct buf out;
	struct smtp_request rq;
	struct smtp_rcpt rc[4];
};

static void
fx_init(struct fx *f, size_t nrcpt, enum smtp_tls_level tls)
{
	static const char *const addrs[] = {"a@example.org", "b@example.org",
		"c@example.org", "d@example.org"};

	memset(f, 0, sizeof(*f));
	buf_init(&f->out, SMTP_OUT_MAX);
	f->conf.helo_name = "client.example.net";
	f->conf.tls_level = tls;
	f->conf.skip_5xx_greeting = true;
	f->conf.may_convert_8bit = true;
	(void) strcpy(f->rq.qid, "QID");
	f->rq.sender = "s@example.net";
	f->rq.envid = "";
	f->rq.ret = "";
	f->rq.hdr_len = 100;
	f->rq.body_len = 200;
	f->rq.rcpts = f->rc;
	f->rq.nrcpts = nrcpt;
	for (size_t i = 0; i < nrcpt; i++) {
		f->rc[i].address = addrs[i];
		f->rc[i].orcpt = "";
		f->rc[i].notify = "";
		f->rc[i].index = i;
	}
}

static void
fx_start(struct fx *f, unsigned bits)
{
	smtp_proto_init(&f->p, &f->conf, PEER, &f->out);
	ck_assert_int_eq(smtp_proto_begin(&f->p, &f->rq, bits), SMTP_A_WAIT);
}

static void
fx_free(struct fx *f)
{
	for (size_t i = 0; i < f->rq.nrcpts; i++)
		free(f->rc[i].reason);
	buf_free(&f->out);
}

/* reply - feed one reply given as "250-a\n250 b"; returns the action */
static enum smtp_action
reply(struct fx *f, const char *text)
{
	struct smtp_reply r;
	enum smtp_action a;
	const char *p = text;
	int	k = 0;

	smtp_reply_init(&r, SMTP_REPLY_LINES_MAX, SMTP_REPLY_MAX);
	while (*p) {
		size_t	n = strcspn(p, "\n");

		k = smtp_reply_add(&r, p, n);
		ck_assert_int_ge(k, 0);
		p += n + (p[n] == '\n');
	}
	ck_assert_int_eq(k, 1);
	a = smtp_proto_reply(&f->p, &r);
	smtp_reply_free(&r);
	return a;
}

/* sent - the commands written since the last call, then forget them */
static void
sent(struct fx *f, const char *want)
{
	ck_assert_msg(strcmp(buf_str(&f->out), want) == 0, "sent <%s>, want <%s>",
		      buf_str(&f->out), want);
	buf_reset(&f->out);
}

START_TEST(test_pipelined_two_rcpts_one_550)
{
	struct fx f;

	fx_init(&f, 2, SMTP_TLS_NONE);
	fx_start(&f, 0);
	sent(&f, "");
	ck_assert_int_eq(reply(&f, "220 mx ESMTP"), SMTP_A_WAIT);
	sent(&f, "EHLO client.example.net\r\n");
	ck_assert_int_eq(reply(&f, "250-mx\n250-PIPELINING\n250-SIZE 1000000\n250 8BITMIME"),
			 SMTP_A_WAIT);
	sent(&f, "MAIL FROM:<s@example.net> SIZE=301\r\n"
	     "RCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	ck_assert_int_eq(reply(&f, "250 2.1.0 Ok"), SMTP_A_WAIT);
	ck_assert_int_eq(reply(&f, "250 2.1.5 Ok"), SMTP_A_WAIT);
	ck_assert_int_eq(reply(&f, "550 5.1.1 <b@example.org>: User unknown"), SMTP_A_WAIT);
	ck_assert_int_eq(reply(&f, "354 go ahead"), SMTP_A_CONTENT);
	ck_assert_int_eq(f.rc[1].stat, SMTP_R_BOUNCE);
	ck_assert_str_eq(f.rc[1].dsn, "5.1.1");
	ck_assert_str_eq(f.rc[1].reason, "host " PEER " said: 550 5.1.1 <b@example.org>: "
			 "User unknown (in reply to RCPT TO command)");
	smtp_proto_content_done(&f.p);
	ck_assert_int_eq(reply(&f, "250 2.0.0 Ok: queued as ABC"), SMTP_A_READY);
	ck_assert_int_eq(f.rc[0].stat, SMTP_R_SENT);
	ck_assert_str_eq(f.rc[0].dsn, "2.0.0");
	ck_assert_str_eq(f.rc[0].reason, "250 2.0.0 Ok: queued as ABC");
	ck_assert_ptr_eq(f.p.finished, &f.rq);
	ck_assert_uint_eq(f.p.transactions, 1);
	sent(&f, "");
	fx_free(&f);
}
END_TEST

START_TEST(test_lockstep_without_pipelining)
{
	struct fx f;

	fx_init(&f, 2, SMTP_TLS_NONE);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	sent(&f, "EHLO client.example.net\r\n");
	reply(&f, "250 mx");
	sent(&f, "MAIL FROM:<s@example.net>\r\n");
	reply(&f, "250 ok");
	sent(&f, "RCPT TO:<a@example.org>\r\n");
	reply(&f, "451 4.3.0 try later");
	sent(&f, "RCPT TO:<b@example.org>\r\n");
	reply(&f, "250 ok");
	sent(&f, "DATA\r\n");
	ck_assert_int_eq(reply(&f, "354 go"), SMTP_A_CONTENT);
	smtp_proto_content_done(&f.p);
	ck_assert_int_eq(reply(&f, "250 queued"), SMTP_A_READY);
	ck_assert(f.rc[0].kept);
	ck_assert_int_eq(f.rc[0].stat, SMTP_R_TODO);
	ck_assert_str_eq(f.rc[0].dsn, "4.3.0");
	ck_assert_int_eq(f.rc[1].stat, SMTP_R_SENT);
	ck_assert_str_eq(f.rc[1].dsn, "2.0.0");
	fx_free(&f);
}
END_TEST

START_TEST(test_all_rcpts_refused_rset)
{
	struct fx f;

	fx_init(&f, 1, SMTP_TLS_NONE);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	reply(&f, "250-mx\n250 PIPELINING");
	buf_reset(&f.out);
	reply(&f, "250 ok");
	reply(&f, "550 no");
	ck_assert_int_eq(reply(&f, "554 no valid recipients"), SMTP_A_WAIT);
	sent(&f, "RSET\r\n");
	ck_assert_ptr_eq(f.p.finished, &f.rq);
	ck_assert_int_eq(reply(&f, "250 ok"), SMTP_A_READY);
	ck_assert_int_eq(f.rc[0].stat, SMTP_R_BOUNCE);
	fx_free(&f);
}
END_TEST

START_TEST(test_greeting_421_keeps)
{
	struct fx f;

	fx_init(&f, 2, SMTP_TLS_NONE);
	fx_start(&f, 0);
	ck_assert_int_eq(reply(&f, "421 4.3.2 busy"), SMTP_A_WAIT);
	sent(&f, "QUIT\r\n");
	ck_assert(f.rc[0].kept && f.rc[1].kept);
	ck_assert_str_eq(f.rc[0].reason, "host " PEER " refused to talk to me: 421 4.3.2 busy");
	ck_assert(f.p.broken);
	ck_assert_int_eq(reply(&f, "221 bye"), SMTP_A_CLOSE);
	fx_free(&f);
}
END_TEST

START_TEST(test_greeting_554)
{
	struct fx f;

	fx_init(&f, 1, SMTP_TLS_NONE);
	f.conf.skip_5xx_greeting = false;
	fx_start(&f, 0);
	reply(&f, "554 go away");
	ck_assert_int_eq(f.rc[0].stat, SMTP_R_BOUNCE);
	ck_assert_str_eq(f.rc[0].dsn, "5.0.0");
	fx_free(&f);

	fx_init(&f, 1, SMTP_TLS_NONE);
	fx_start(&f, 0);
	reply(&f, "554 go away");
	ck_assert(f.rc[0].kept);
	ck_assert_str_eq(f.rc[0].dsn, "4.0.0");
	fx_free(&f);
}
END_TEST

START_TEST(test_helo_fallback)
{
	struct fx f;

	fx_init(&f, 1, SMTP_TLS_NONE);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "502 what");
	sent(&f, "HELO client.example.net\r\n");
	reply(&f, "250 hi");
	sent(&f, "MAIL FROM:<s@example.net>\r\n");
	fx_free(&f);
}
END_TEST

START_TEST(test_starttls_may_and_required)
{
	struct fx f;

	/* may: offered -> STARTTLS, EHLO again, features re-read. */
	fx_init(&f, 1, SMTP_TLS_MAY);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250-mx\n250-STARTTLS\n250 PIPELINING");
	sent(&f, "STARTTLS\r\n");
	ck_assert_int_eq(reply(&f, "220 go ahead"), SMTP_A_TLS);
	sent(&f, "");
	smtp_proto_tls_done(&f.p);
	sent(&f, "EHLO client.example.net\r\n");
	ck_assert_uint_eq(f.p.features, 0);
	reply(&f, "250-mx\n250 PIPELINING");
	sent(&f, "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	fx_free(&f);

	/* may: not offered -> plaintext. */
	fx_init(&f, 1, SMTP_TLS_MAY);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250 mx");
	sent(&f, "MAIL FROM:<s@example.net>\r\n");
	fx_free(&f);

	/* may: refused -> plaintext. */
	fx_init(&f, 1, SMTP_TLS_MAY);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	reply(&f, "250-mx\n250 STARTTLS");
	buf_reset(&f.out);
	reply(&f, "454 4.7.0 TLS not available");
	sent(&f, "MAIL FROM:<s@example.net>\r\n");
	fx_free(&f);

	/* encrypt: not offered -> nothing of the message, 4.7.4. */
	fx_init(&f, 1, SMTP_TLS_ENCRYPT);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250 mx");
	sent(&f, "QUIT\r\n");
	ck_assert(f.rc[0].kept);
	ck_assert_str_eq(f.rc[0].dsn, "4.7.4");
	ck_assert_str_eq(f.rc[0].reason, "TLS is required, but was not offered by host " PEER);
	fx_free(&f);

	/* verify: refused STARTTLS -> 4.7.4 with the server's text. */
	fx_init(&f, 1, SMTP_TLS_VERIFY);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	reply(&f, "250-mx\n250 STARTTLS");
	buf_reset(&f.out);
	reply(&f, "454 4.7.0 no");
	sent(&f, "QUIT\r\n");
	ck_assert_str_eq(f.rc[0].reason, "TLS is required, but host " PEER
			 " refused to start TLS: 454 4.7.0 no");
	fx_free(&f);
}
END_TEST

START_TEST(test_auth_plain_and_login)
{
	struct fx f;

	fx_init(&f, 1, SMTP_TLS_MAY);
	f.conf.sasl = true;
	f.conf.sasl_tls_plaintext_ok = true;
	f.conf.sasl_user = "user";
	f.conf.sasl_pass = "secret";
	fx_start(&f, 0);
	reply(&f, "220 mx");
	reply(&f, "250-mx\n250-AUTH LOGIN PLAIN\n250 STARTTLS");
	buf_reset(&f.out);
	/* Not before TLS. */
	reply(&f, "220 go");
	smtp_proto_tls_done(&f.p);
	buf_reset(&f.out);
	reply(&f, "250-mx\n250 AUTH LOGIN PLAIN");
	sent(&f, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n");
	reply(&f, "235 2.7.0 ok");
	sent(&f, "MAIL FROM:<s@example.net>\r\n");
	fx_free(&f);

	fx_init(&f, 1, SMTP_TLS_NONE);
	f.conf.sasl = true;
	f.conf.sasl_plaintext_ok = true;
	f.conf.sasl_user = "user";
	f.conf.sasl_pass = "secret";
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250-mx\n250 AUTH=LOGIN");
	sent(&f, "AUTH LOGIN\r\n");
	reply(&f, "334 VXNlcm5hbWU6");
	sent(&f, "dXNlcg==\r\n");
	reply(&f, "334 UGFzc3dvcmQ6");
	sent(&f, "c2VjcmV0\r\n");
	reply(&f, "535 5.7.8 bad");
	sent(&f, "QUIT\r\n");
	ck_assert(f.rc[0].kept);
	ck_assert_str_eq(f.rc[0].dsn, "4.7.0");
	ck_assert_str_eq(f.rc[0].reason, "SASL authentication failed; server " PEER
			 " said: 535 5.7.8 bad");
	fx_free(&f);

	/* Without TLS and without plaintext permission: no AUTH at all. */
	fx_init(&f, 1, SMTP_TLS_NONE);
	f.conf.sasl = true;
	f.conf.sasl_user = "user";
	f.conf.sasl_pass = "secret";
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250-mx\n250 AUTH PLAIN");
	sent(&f, "MAIL FROM:<s@example.net>\r\n");
	fx_free(&f);
}
END_TEST

START_TEST(test_size_and_8bit_and_utf8)
{
	struct fx f;

	fx_init(&f, 1, SMTP_TLS_NONE);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	ck_assert_int_eq(reply(&f, "250-mx\n250 SIZE 300"), SMTP_A_READY);
	sent(&f, "");
	ck_assert_int_eq(f.rc[0].stat, SMTP_R_BOUNCE);
	ck_assert_str_eq(f.rc[0].dsn, "5.3.4");
	ck_assert_str_eq(f.rc[0].reason, "message size 301 exceeds size limit 300 of server " PEER);
	fx_free(&f);

	/* 8-bit body, server with 8BITMIME. */
	fx_init(&f, 1, SMTP_TLS_NONE);
	fx_start(&f, SMTP_8BIT_BODY);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250-mx\n250 8BITMIME");
	sent(&f, "MAIL FROM:<s@example.net> BODY=8BITMIME\r\n");
	ck_assert(!f.p.convert);
	fx_free(&f);

	/* 8-bit body, 7-bit server: converted. */
	fx_init(&f, 1, SMTP_TLS_NONE);
	fx_start(&f, SMTP_8BIT_BODY);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250 mx");
	sent(&f, "MAIL FROM:<s@example.net>\r\n");
	ck_assert(f.p.convert);
	fx_free(&f);

	/* 8-bit header text, 7-bit server: kept, 4.6.3. */
	fx_init(&f, 1, SMTP_TLS_NONE);
	fx_start(&f, SMTP_8BIT_HEADER | SMTP_8BIT_BODY);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250 mx");
	sent(&f, "");
	ck_assert(f.rc[0].kept);
	ck_assert_str_eq(f.rc[0].dsn, "4.6.3");
	fx_free(&f);

	/* UTF-8 address, no SMTPUTF8: 5.6.7. */
	fx_init(&f, 1, SMTP_TLS_NONE);
	f.rc[0].address = "j\xc3\xb6rg@example.org";
	f.rq.smtputf8 = true;
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250-mx\n250 8BITMIME");
	ck_assert_int_eq(f.rc[0].stat, SMTP_R_BOUNCE);
	ck_assert_str_eq(f.rc[0].dsn, "5.6.7");
	fx_free(&f);

	/* With SMTPUTF8. */
	fx_init(&f, 1, SMTP_TLS_NONE);
	f.rc[0].address = "j\xc3\xb6rg@example.org";
	f.rq.smtputf8 = true;
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250-mx\n250 SMTPUTF8");
	sent(&f, "MAIL FROM:<s@example.net> SMTPUTF8\r\n");
	fx_free(&f);
}
END_TEST

START_TEST(test_dsn_params)
{
	struct fx f;

	fx_init(&f, 2, SMTP_TLS_NONE);
	f.rq.ret = "HDRS";
	f.rq.envid = "id+1=2";
	f.rc[0].notify = "SUCCESS,FAILURE";
	f.rc[0].orcpt = "orig+x@example.org";
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250-mx\n250-PIPELINING\n250 DSN");
	sent(&f, "MAIL FROM:<s@example.net> RET=HDRS ENVID=id+2B1+3D2\r\n"
	     "RCPT TO:<a@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2Bx@example.org\r\n"
	     "RCPT TO:<b@example.org>\r\nDATA\r\n");
	fx_free(&f);

	/* No DSN offered: nothing of it is sent. */
	fx_init(&f, 1, SMTP_TLS_NONE);
	f.rq.ret = "FULL";
	f.rc[0].notify = "NEVER";
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250-mx\n250 PIPELINING");
	sent(&f, "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	fx_free(&f);
}
END_TEST

START_TEST(test_mail_refused)
{
	struct fx f;

	fx_init(&f, 2, SMTP_TLS_NONE);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	reply(&f, "250-mx\n250 PIPELINING");
	buf_reset(&f.out);
	reply(&f, "452 4.3.1 full");
	reply(&f, "503 need MAIL");
	reply(&f, "503 need MAIL");
	ck_assert_int_eq(reply(&f, "503 need RCPT"), SMTP_A_READY);
	ck_assert(f.rc[0].kept && f.rc[1].kept);
	ck_assert_str_eq(f.rc[1].reason, "host " PEER " said: 452 4.3.1 full "
			 "(in reply to MAIL FROM command)");
	sent(&f, "");
	fx_free(&f);
}
END_TEST

START_TEST(test_reuse_second_transaction)
{
	struct fx f;
	struct smtp_request rq2;
	struct smtp_rcpt r2 = {.address = "z@example.org", .orcpt = "", .notify = ""};

	fx_init(&f, 1, SMTP_TLS_NONE);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	reply(&f, "250-mx\n250 PIPELINING");
	reply(&f, "250 ok");
	reply(&f, "250 ok");
	reply(&f, "354 go");
	smtp_proto_content_done(&f.p);
	ck_assert_int_eq(reply(&f, "250 ok"), SMTP_A_READY);
	buf_reset(&f.out);
	f.p.finished = NULL;
	rq2 = f.rq;
	rq2.rcpts = &r2;
	rq2.nrcpts = 1;
	ck_assert_int_eq(smtp_proto_begin(&f.p, &rq2, 0), SMTP_A_WAIT);
	sent(&f, "MAIL FROM:<s@example.net>\r\nRCPT TO:<z@example.org>\r\nDATA\r\n");
	smtp_proto_fail(&f.p, SMTP_FAIL_LOST, "4.4.2", "lost connection");
	ck_assert(r2.kept);
	ck_assert_ptr_eq(f.p.finished, &rq2);
	free(r2.reason);
	fx_free(&f);
}
END_TEST

START_TEST(test_fail_after_dot_defers)
{
	struct fx f;

	fx_init(&f, 1, SMTP_TLS_NONE);
	fx_start(&f, 0);
	reply(&f, "220 mx");
	reply(&f, "250-mx\n250 PIPELINING");
	reply(&f, "250 ok");
	reply(&f, "250 ok");
	reply(&f, "354 go");
	smtp_proto_content_done(&f.p);
	smtp_proto_fail(&f.p, SMTP_FAIL_TIMEOUT, "4.4.2", "timed out");
	ck_assert(!f.rc[0].kept);
	ck_assert_int_eq(f.rc[0].stat, SMTP_R_DEFER);
	fx_free(&f);
}
END_TEST

START_TEST(test_request_not_trusted)
{
	struct fx f;

	/* An address that would smuggle a parameter; a NOTIFY with one. */
	fx_init(&f, 3, SMTP_TLS_NONE);
	f.rc[0].address = "a@example.org> NOTIFY=NEVER";
	f.rc[1].notify = "SUCCESS ORCPT=x";
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250-mx\n250-PIPELINING\n250 DSN");
	sent(&f, "MAIL FROM:<s@example.net>\r\nRCPT TO:<b@example.org>\r\n"
	     "RCPT TO:<c@example.org>\r\nDATA\r\n");
	ck_assert_int_eq(f.rc[0].stat, SMTP_R_BOUNCE);
	ck_assert_str_eq(f.rc[0].dsn, "5.1.3");
	fx_free(&f);

	fx_init(&f, 1, SMTP_TLS_NONE);
	f.rq.sender = "s@x> SIZE=1";
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250 mx");
	sent(&f, "");
	ck_assert(f.rc[0].kept);
	ck_assert_str_eq(f.rc[0].dsn, "4.3.0");
	fx_free(&f);

	/* The null sender and a local part that needs quotes are fine. */
	fx_init(&f, 1, SMTP_TLS_NONE);
	f.rq.sender = "";
	f.rc[0].address = "\"john doe\"@example.org";
	fx_start(&f, 0);
	reply(&f, "220 mx");
	buf_reset(&f.out);
	reply(&f, "250 mx");
	sent(&f, "MAIL FROM:<>\r\n");
	reply(&f, "250 ok");
	sent(&f, "RCPT TO:<\"john doe\"@example.org>\r\n");
	fx_free(&f);
}
END_TEST

START_TEST(test_reply_reason_sanitised)
{
	struct smtp_reply r;
	char	out[256], dsn[16];

	smtp_reply_init(&r, 10, 1024);
	ck_assert_int_eq(smtp_reply_add(&r, "550-5.7.1 first \xff", 17), 0);
	ck_assert_int_eq(smtp_reply_add(&r, "550 5.7.1 second", 16), 1);
	smtp_reply_reason(&r, "h[1.2.3.4]", "RCPT TO", out, sizeof(out));
	ck_assert_str_eq(out, "host h[1.2.3.4] said: 550 5.7.1 first ? second "
			 "(in reply to RCPT TO command)");
	smtp_reply_dsn(&r, dsn, sizeof(dsn));
	ck_assert_str_eq(dsn, "5.7.1");
	smtp_reply_free(&r);
	smtp_reply_init(&r, 10, 1024);
	ck_assert_int_eq(smtp_reply_add(&r, "451 later", 9), 1);
	smtp_reply_dsn(&r, dsn, sizeof(dsn));
	ck_assert_str_eq(dsn, "4.0.0");
	smtp_reply_free(&r);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtp_proto");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_pipelined_two_rcpts_one_550);
	tcase_add_test(tc, test_lockstep_without_pipelining);
	tcase_add_test(tc, test_all_rcpts_refused_rset);
	tcase_add_test(tc, test_greeting_421_keeps);
	tcase_add_test(tc, test_greeting_554);
	tcase_add_test(tc, test_helo_fallback);
	tcase_add_test(tc, test_starttls_may_and_required);
	tcase_add_test(tc, test_auth_plain_and_login);
	tcase_add_test(tc, test_size_and_8bit_and_utf8);
	tcase_add_test(tc, test_dsn_params);
	tcase_add_test(tc, test_mail_refused);
	tcase_add_test(tc, test_reuse_second_transaction);
	tcase_add_test(tc, test_fail_after_dot_defers);
	tcase_add_test(tc, test_request_not_trusted);
	tcase_add_test(tc, test_reply_reason_sanitised);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
