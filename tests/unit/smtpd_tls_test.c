/*
 * smtpd_tls_test - check suite for smtpd/smtpd_tls.c: STARTTLS offered
 * and taken, plaintext pipelined behind STARTTLS discarded (CVE-2011-0411),
 * the session starting over after the handshake, security level encrypt,
 * wrapper mode, the refusals, a failed handshake, the protocol name and
 * the Received: text.  A real session on a socket pair, the client a
 * tlsio of its own on the same loop.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"
#include "fake_lookup.h"
#include "smtpd_test.h"
#include "test_config.h"
#include "tls_cert.h"

#include "buf.h"
#include "config.h"
#include "event.h"
#include "params.h"
#include "tls_ctx.h"
#include "tlsio.h"
#include "../../smtpd/smtpd.h"

static char dir[] = "/tmp/smtpd_tls_test.XXXXXX";
static char certs[] = "/tmp/smtpd_tls_certs.XXXXXX";
static struct ev_loop *loop;
static SSL_CTX *cctx;

static int
fake_lookup(const char *param, const char *address)
{
	(void) param;
	return strcmp(address, "alice@example.com") == 0;
}

static void
load(const char *extra)
{
	char	text[4096];

	smtpd_tls_end();
	ck_assert_int_eq(str_fmt(text, sizeof(text), "myhostname = mx.example.com\n"
		"mydestination = example.com\n"
		"mynetworks = 127.0.0.0/8\n"
		"local_recipient_maps = inline:{x=y}\n"
		"smtpd_tls_cert_file = %s/server.crt\n"
		"smtpd_tls_key_file = %s/server.key\n"
		"smtpd_tls_security_level = may\n"
		"%s\n", certs, certs, extra), 0);
	test_config_load(dir, text);
	smtpd_conf_free();
	smtpd_conf.spool_dir = ".";
	smtpd_conf.deliver_dir = ".";
	smtpd_conf_init();
	smtpd_restrict_init();
	fake_lookup_install(fake_lookup);
	smtpd_tls_init();
}

static void
setup(void)
{
	struct tls_client_conf cc = {"", "", "", "", ">=TLSv1.2", "medium"};
	char	why[300];

	signal(SIGPIPE, SIG_IGN);		/* as the daemons do */
	ck_assert_ptr_nonnull(mkdtemp(certs));
	tls_cert_make(certs, "server", "mx.example.com", "P-256");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	loop = ev_loop_new();
	smtpd_loop = loop;
	load("");
	cctx = tls_ctx_client(&cc, why, sizeof(why));
	ck_assert_msg(cctx != NULL, "%s", why);
}

static void
teardown(void)
{
	smtpd_test_drain(loop, 2000);
	ev_loop_free(loop);
	smtpd_tls_end();
	tls_ctx_free(cctx);
	smtpd_test_unload();
	smtpd_test_rmdir(dir);
	scratch_remove(certs, "/tmp/smtpd_tls_certs.");
}

/* The client: a tlsio whose lines pile up in got. */
struct cl {
	struct tlsio io;
	struct buf got;
	int	lines;
	bool	up, failed, eof;
};

static void
on_client(struct tlsio *io, unsigned ev, void *ctx)
{
	struct cl *c = ctx;
	struct lb_line l;

	c->up |= (ev & TLSIO_TLS_UP) != 0;
	c->failed |= (ev & TLSIO_TLS_FAIL) != 0;
	c->eof |= (ev & TLSIO_EOF) != 0;
	while (tlsio_get(io, &l) == LB_LINE) {
		buf_append(&c->got, l.data, l.len);
		buf_puts(&c->got, "\n");
		c->lines++;
	}
	tlsio_want_input(io, true);
}

static void
connect_client(struct cl *c, const char *addr)
{
	int	sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
				    0, sv), 0);
	memset(c, 0, sizeof(*c));
	buf_init(&c->got, 1 << 20);
	tlsio_init(&c->io, loop, sv[1], sv[1], 2048, 1 << 20, on_client, c);
	tlsio_want_input(&c->io, true);
	smtpd_session_new(loop, sv[0], sv[0], addr, "1");
}

static void
client_free(struct cl *c)
{
	int	fd = c->io.rfd;

	tlsio_free(&c->io);
	close(fd);
	buf_free(&c->got);
}

/* hear - run until n more reply lines came (or the end); return them */
static const char *
hear(struct cl *c, int n)
{
	int	want = c->lines + n;

	buf_reset(&c->got);
	for (int i = 0; i < 2000 && c->lines < want && !c->eof && !c->failed; i++)
		ck_assert_int_eq(ev_run_once(loop, 50), 0);
	return buf_str(&c->got);
}

static void
say(struct cl *c, const char *text)
{
	buf_puts(&c->io.out, text);
	ck_assert_int_ge(tlsio_flush(&c->io), 0);
}

static void
tls_up(struct cl *c)
{
	static const char *const names[] = {"mx.example.com"};
	struct tlsio_peer p = {"mx.example.com", names, 1, false, NULL, NULL, NULL, 0};

	ck_assert_int_eq(tlsio_starttls(&c->io, cctx, &p, NULL), 0);
	for (int i = 0; i < 2000 && !c->up && !c->failed; i++)
		ck_assert_int_eq(ev_run_once(loop, 50), 0);
	ck_assert_msg(c->up, "handshake: %s", tlsio_error(&c->io));
}

START_TEST(test_starttls_injection)
{
	struct cl c;
	const char *r;

	load("smtpd_helo_required = yes");
	connect_client(&c, "192.0.2.1");
	ck_assert_str_eq(hear(&c, 1), "220 mx.example.com ESMTP postern\n");
	say(&c, "EHLO c.example\r\n");
	r = hear(&c, 7);
	ck_assert_msg(strstr(r, "250-STARTTLS\n") != NULL, "%s", r);
	/* A command behind STARTTLS in the same write: injected. */
	say(&c, "STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n");
	ck_assert_str_eq(hear(&c, 1), "220 2.0.0 Ready to start TLS\n");
	tls_up(&c);
	/* The session started over: no HELO yet, no transaction. */
	say(&c, "MAIL FROM:<good@example.org>\r\n");
	ck_assert_str_eq(hear(&c, 1), "503 5.5.1 Error: send HELO/EHLO first\n");
	say(&c, "EHLO c.example\r\n");
	r = hear(&c, 6);
	ck_assert_msg(strstr(r, "STARTTLS") == NULL, "%s", r);
	say(&c, "MAIL FROM:<good@example.org>\r\n");
	ck_assert_str_eq(hear(&c, 1), "250 2.1.0 Ok\n");
	say(&c, "RCPT TO:<alice@example.com>\r\n");
	ck_assert_str_eq(hear(&c, 1), "250 2.1.5 Ok\n");
	say(&c, "STARTTLS\r\n");
	ck_assert_str_eq(hear(&c, 1), "554 5.5.1 Error: TLS already active\n");
	say(&c, "DATA\r\n");
	ck_assert_str_eq(hear(&c, 1), "354 End data with <CR><LF>.<CR><LF>\n");
	say(&c, "Subject: t\r\n\r\nbody\r\n.\r\n");
	r = hear(&c, 1);
	ck_assert_msg(strncmp(r, "250 2.0.0 Ok: queued as ", 24) == 0, "%s", r);
	say(&c, "QUIT\r\n");
	ck_assert_str_eq(hear(&c, 1), "221 2.0.0 Bye\n");
	client_free(&c);

	/* The -D file: protocol ESMTPS; nothing from evil@. */
	{
		DIR    *d = opendir(".");
		struct dirent *e;
		char	text[4096];
		int	files = 0;

		ck_assert_ptr_nonnull(d);
		while ((e = readdir(d)) != NULL) {
			FILE   *f;
			size_t	n;

			if (e->d_name[0] == '.' || strcmp(e->d_name, "main.cf") == 0)
				continue;
			f = fopen(e->d_name, "r");
			ck_assert_ptr_nonnull(f);
			n = fread(text, 1, sizeof(text) - 1, f);
			text[n] = 0;
			fclose(f);
			ck_assert_msg(strstr(text, "protocol=ESMTPS\n") != NULL, "%s", text);
			ck_assert_msg(strstr(text, "sender=good@example.org\n") != NULL, "%s", text);
			ck_assert(strstr(text, "evil") == NULL);
			files++;
		}
		closedir(d);
		ck_assert_int_eq(files, 1);
	}
}
END_TEST

START_TEST(test_refusals)
{
	struct cl c;
	const char *r;

	load("");
	connect_client(&c, "192.0.2.1");
	hear(&c, 1);
	say(&c, "STARTTLS now\r\n");
	ck_assert_str_eq(hear(&c, 1), "501 5.5.4 Syntax: STARTTLS\n");
	say(&c, "EHLO c\r\n");
	hear(&c, 7);
	say(&c, "MAIL FROM:<a@example.org>\r\n");
	ck_assert_str_eq(hear(&c, 1), "250 2.1.0 Ok\n");
	say(&c, "STARTTLS\r\n");
	ck_assert_str_eq(hear(&c, 1), "503 5.5.1 Error: MAIL transaction in progress\n");
	say(&c, "QUIT\r\n");
	hear(&c, 1);
	client_free(&c);

	load("smtpd_tls_security_level = none");
	connect_client(&c, "192.0.2.1");
	hear(&c, 1);
	say(&c, "EHLO c\r\n");
	r = hear(&c, 6);
	ck_assert_msg(strstr(r, "STARTTLS") == NULL, "%s", r);
	say(&c, "STARTTLS\r\n");
	ck_assert_str_eq(hear(&c, 1), "502 5.5.1 Error: command not implemented\n");
	say(&c, "QUIT\r\n");
	hear(&c, 1);
	client_free(&c);
}
END_TEST

START_TEST(test_encrypt_level)
{
	struct cl c;

	load("smtpd_tls_security_level = encrypt");
	connect_client(&c, "192.0.2.1");
	hear(&c, 1);
	say(&c, "EHLO c\r\n");
	hear(&c, 7);
	say(&c, "MAIL FROM:<a@example.org>\r\n");
	ck_assert_str_eq(hear(&c, 1), "530 5.7.0 Must issue a STARTTLS command first\n");
	say(&c, "RCPT TO:<alice@example.com>\r\n");
	ck_assert_str_eq(hear(&c, 1), "530 5.7.0 Must issue a STARTTLS command first\n");
	say(&c, "STARTTLS\r\n");
	ck_assert_str_eq(hear(&c, 1), "220 2.0.0 Ready to start TLS\n");
	tls_up(&c);
	say(&c, "EHLO c\r\n");
	hear(&c, 6);
	say(&c, "MAIL FROM:<a@example.org>\r\n");
	ck_assert_str_eq(hear(&c, 1), "250 2.1.0 Ok\n");
	say(&c, "QUIT\r\n");
	hear(&c, 1);
	client_free(&c);
}
END_TEST

START_TEST(test_wrapper_mode)
{
	struct cl c;
	const char *r;

	load("smtpd_tls_wrappermode = yes\nsmtpd_tls_security_level = none");
	connect_client(&c, "192.0.2.1");
	tls_up(&c);
	ck_assert_str_eq(hear(&c, 1), "220 mx.example.com ESMTP postern\n");
	say(&c, "EHLO c\r\n");
	r = hear(&c, 6);
	ck_assert_msg(strstr(r, "STARTTLS") == NULL, "%s", r);
	say(&c, "QUIT\r\n");
	ck_assert_str_eq(hear(&c, 1), "221 2.0.0 Bye\n");
	client_free(&c);
}
END_TEST

/* Plaintext where the ClientHello belongs ends the session. */
START_TEST(test_handshake_failure)
{
	struct cl c;

	load("");
	connect_client(&c, "192.0.2.1");
	hear(&c, 1);
	say(&c, "STARTTLS\r\n");
	ck_assert_str_eq(hear(&c, 1), "220 2.0.0 Ready to start TLS\n");
	say(&c, "EHLO plain\r\n");
	hear(&c, 1);
	ck_assert(c.eof);
	ck_assert_str_eq(buf_str(&c.got), "");
	client_free(&c);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtpd_tls");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_starttls_injection);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_encrypt_level);
	tcase_add_test(tc, test_wrapper_mode);
	tcase_add_test(tc, test_handshake_failure);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
