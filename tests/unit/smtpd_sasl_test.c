/*
 * smtpd_sasl_test - check suite for smtpd/smtpd_sasl.c: AUTH PLAIN and
 * LOGIN against postern's auth protocol (a forked stand-in for the auth
 * service, with a real table of crypt(3) hashes), the refusals, failure
 * counting and the disconnect at smtpd_sasl_failure_limit, a back end
 * that is not there, relaying and the -D file of an authenticated
 * client, and the verdicts of reject_sender_login_mismatch.
 */
#include <check.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "fake_lookup.h"
#include "smtpd_test.h"
#include "test_config.h"

#include "auth_clnt.h"
#include "auth_users.h"
#include "base64.h"
#include "buf.h"
#include "config.h"
#include "event.h"
#include "ipc.h"
#include "params.h"
#include "../../smtpd/smtpd.h"

static char dir[] = "/tmp/smtpd_sasl_test.XXXXXX";
static struct ev_loop *loop;
static pid_t server = -1;

static int
answer(const char *param, const char *address)
{
	(void) param;
	return strcmp(address, "alice@example.com") == 0;
}

/* serve - the stand-in auth service: one connection at a time */
static _Noreturn void
serve(int lfd, const char *table)
{
	char	why[600];
	struct auth_users *t = auth_users_load(table, why, sizeof(why));

	if (t == NULL) {
		fprintf(stderr, "stand-in auth: %s\n", why);
		_exit(1);
	}
	for (;;) {
		int	fd = accept(lfd, NULL, NULL);
		struct ipc_in in;

		if (fd < 0)
			continue;
		ipc_in_init(&in);
		while (ipc_recv(fd, &in, NULL, 10000) == 0) {
			struct auth_request rq;
			struct ipc_msg m;
			int	st;

			if (auth_request_parse(&in, &rq, why, sizeof(why)) < 0)
				break;
			st = auth_users_check(t, rq.user, rq.password);
			(void) auth_reply_build(&m, st, rq.user, st ? "nope" : "");
			(void) ipc_send(fd, &m, -1, 10000);
			ipc_msg_free(&m);
		}
		ipc_in_free(&in);
		close(fd);
	}
}

static void
load(const char *extra)
{
	char	text[4096];

	smtpd_sasl_end();
	ck_assert_int_eq(str_fmt(text, sizeof(text), "myhostname = mx.example.com\n"
		"mydestination = example.com\n"
		"mynetworks = 198.51.100.0/24\n"
		"local_recipient_maps = inline:{x=y}\n"
		"smtpd_sasl_auth_enable = yes\n"
		"smtpd_sasl_type = postern\n"
		"smtpd_sasl_path = %s/auth\n"
		"smtpd_tls_auth_only = no\n"
		"smtpd_sasl_failure_delay = 0\n"
		"anvil_rate_time_unit = 3600s\n"
		"%s\n", dir, extra), 0);
	test_config_load(dir, text);
	smtpd_conf_free();
	smtpd_conf.spool_dir = ".";
	smtpd_conf.deliver_dir = ".";
	smtpd_conf_init();
	smtpd_restrict_init();
	fake_lookup_install(answer);
	smtpd_sasl_init(loop);
}

static void
setup(void)
{
	char	path[600], table[600], setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data data;
	FILE   *f;
	int	lfd;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	snprintf(table, sizeof(table), "%s/users", dir);
	memset(&data, 0, sizeof(data));
	ck_assert_ptr_nonnull(crypt_gensalt_rn("$6$", 0, NULL, 0, setting, sizeof(setting)));
	ck_assert_ptr_nonnull(crypt_rn("s3cret pass", setting, &data, sizeof(data)));
	f = fopen(table, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "alice@example.org:%s\n", data.output);
	fclose(f);
	snprintf(path, sizeof(path), "%s/auth", dir);
	lfd = ipc_listen(path, 0600, 16);
	ck_assert_int_ge(lfd, 0);
	if ((server = fork()) == 0)
		serve(lfd, table);
	close(lfd);
	loop = ev_loop_new();
	smtpd_loop = loop;
	load("");
}

static void
teardown(void)
{
	smtpd_test_drain(loop, 3000);
	smtpd_sasl_end();
	if (server > 0) {
		kill(server, SIGKILL);
		(void) waitpid(server, NULL, 0);
	}
	ev_loop_free(loop);
	smtpd_test_unload();
	smtpd_test_rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

/* A client on a socket pair; hear() runs the loop for n reply lines. */
static int
client(void)
{
	int	sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	smtpd_session_new(loop, sv[0], sv[0], "192.0.2.77", "1");
	return sv[1];
}

static void
say(int fd, const char *text)
{
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
}

static char got[65536];

static const char *
hear(int fd, int n, bool *eof)
{
	size_t	len = 0;
	int	lines = 0;

	*eof = false;
	for (int i = 0; i < 400 && lines < n && !*eof; i++) {
		ssize_t	k;

		ck_assert_int_eq(ev_run_once(loop, 25), 0);
		while ((k = read(fd, got + len, sizeof(got) - 1 - len)) > 0) {
			for (ssize_t j = 0; j < k; j++)
				lines += got[len + (size_t) j] == '\n';
			len += (size_t) k;
		}
		if (k == 0)
			*eof = true;
	}
	got[len] = '\0';
	return got;
}

static const char *
plain(const char *user, const char *pass)
{
	static char out[512];
	char	raw[256];
	struct buf b;
	size_t	ul = strlen(user), pl = strlen(pass);

	raw[0] = '\0';
	memcpy(raw + 1, user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, pass, pl);
	buf_init(&b, sizeof(out) - 1);
	ck_assert_int_eq(base64_encode(raw, ul + pl + 2, &b), 0);
	snprintf(out, sizeof(out), "%s", buf_str(&b));
	buf_free(&b);
	return out;
}

static const char *
b64(const char *s)
{
	static char out[512];
	struct buf b;

	buf_init(&b, sizeof(out) - 1);
	ck_assert_int_eq(base64_encode(s, strlen(s), &b), 0);
	snprintf(out, sizeof(out), "%s", buf_str(&b));
	buf_free(&b);
	return out;
}

static void
cmd(int fd, const char *line, const char *want)
{
	char	text[1024];
	bool	eof;

	snprintf(text, sizeof(text), "%s\r\n", line);
	say(fd, text);
	ck_assert_str_eq(hear(fd, 1, &eof), want);
}

static void
ehlo(int fd)
{
	bool	eof;

	say(fd, "EHLO c.example\r\n");
	ck_assert_msg(strstr(hear(fd, 7, &eof), "250 SMTPUTF8\r\n") != NULL, "%s", got);
}

START_TEST(test_plain_and_relay)
{
	int	fd = client();
	char	line[600], name[64];
	bool	eof;
	const char *r;

	hear(fd, 1, &eof);
	say(fd, "EHLO c.example\r\n");
	r = hear(fd, 7, &eof);
	ck_assert_msg(strstr(r, "250-AUTH PLAIN LOGIN\r\n") != NULL, "%s", r);
	/* Before AUTH, relaying is refused. */
	cmd(fd, "MAIL FROM:<alice@example.org>", "250 2.1.0 Ok\r\n");
	cmd(fd, "RCPT TO:<x@elsewhere.example>", "454 4.7.1 <x@elsewhere.example>: "
	    "Relay access denied\r\n");
	cmd(fd, "AUTH PLAIN", "503 5.5.1 Error: MAIL transaction in progress\r\n");
	cmd(fd, "RSET", "250 2.0.0 Ok\r\n");
	snprintf(line, sizeof(line), "AUTH PLAIN %s", plain("alice@example.org", "s3cret pass"));
	cmd(fd, line, "235 2.7.0 Authentication successful\r\n");
	cmd(fd, "AUTH LOGIN", "503 5.5.1 Error: already authenticated\r\n");
	say(fd, "EHLO c.example\r\n");
	r = hear(fd, 6, &eof);
	ck_assert_msg(strstr(r, "AUTH") == NULL, "%s", r);
	cmd(fd, "MAIL FROM:<alice@example.org> AUTH=<>", "250 2.1.0 Ok\r\n");
	cmd(fd, "RCPT TO:<x@elsewhere.example>", "250 2.1.5 Ok\r\n");
	cmd(fd, "DATA", "354 End data with <CR><LF>.<CR><LF>\r\n");
	say(fd, "Subject: t\r\n\r\nbody\r\n.\r\n");
	r = hear(fd, 1, &eof);
	ck_assert_msg(strncmp(r, "250 2.0.0 Ok: queued as ", 24) == 0, "%s", r);
	ck_assert_int_eq(sscanf(r, "250 2.0.0 Ok: queued as %63s", name), 1);
	cmd(fd, "QUIT", "221 2.0.0 Bye\r\n");
	close(fd);
	smtpd_test_drain(loop, 2000);
	{
		char	text[4096];
		FILE   *f;
		size_t	n;

		f = fopen(name, "r");
		ck_assert_ptr_nonnull(f);
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		ck_assert_msg(strstr(text, "protocol=ESMTPA\n") != NULL, "%s", text);
		ck_assert_msg(strstr(text, "sasl_method=PLAIN\nsasl_username=alice@example.org\n")
			      != NULL, "%s", text);
	}
}
END_TEST

START_TEST(test_login_and_refusals)
{
	int	fd = client();
	bool	eof;

	hear(fd, 1, &eof);
	ehlo(fd);
	cmd(fd, "AUTH CRAM-MD5", "504 5.5.4 Unsupported authentication mechanism\r\n");
	cmd(fd, "AUTH", "501 5.5.4 Syntax: AUTH mechanism\r\n");
	cmd(fd, "AUTH LOGIN", "334 VXNlcm5hbWU6\r\n");
	cmd(fd, "*", "501 5.7.0 Authentication aborted\r\n");
	cmd(fd, "AUTH PLAIN", "334\r\n");
	cmd(fd, "not base64!", "501 5.5.2 Cannot decode response\r\n");
	cmd(fd, "AUTH PLAIN dXNlcg==", "501 5.5.2 Cannot decode response\r\n");
	cmd(fd, "AUTH LOGIN", "334 VXNlcm5hbWU6\r\n");
	cmd(fd, b64("alice@example.org"), "334 UGFzc3dvcmQ6\r\n");
	cmd(fd, b64("s3cret pass"), "235 2.7.0 Authentication successful\r\n");
	cmd(fd, "QUIT", "221 2.0.0 Bye\r\n");
	close(fd);
}
END_TEST

/* Failures: 535 each, at the limit 421 and the end; AUTH refused after. */
START_TEST(test_failure_limit)
{
	int	fd;
	char	line[600];
	bool	eof;
	const char *r;

	load("smtpd_sasl_failure_limit = 3");
	fd = client();
	hear(fd, 1, &eof);
	ehlo(fd);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", plain("alice@example.org", "guess1"));
	cmd(fd, line, "535 5.7.8 Error: authentication failed: authentication failure\r\n");
	snprintf(line, sizeof(line), "AUTH PLAIN %s", plain("mallory@example.org", "x"));
	cmd(fd, line, "535 5.7.8 Error: authentication failed: authentication failure\r\n");
	snprintf(line, sizeof(line), "AUTH PLAIN %s", plain("alice@example.org", "guess3"));
	say(fd, line);
	say(fd, "\r\n");
	r = hear(fd, 1, &eof);
	ck_assert_str_eq(r, "421 4.7.0 mx.example.com Error: too many failed "
			 "authentications\r\n");
	hear(fd, 1, &eof);
	ck_assert(eof);
	close(fd);

	/* The same client, a new session: refused at once, right password too. */
	fd = client();
	hear(fd, 1, &eof);
	ehlo(fd);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", plain("alice@example.org", "s3cret pass"));
	cmd(fd, line, "421 4.7.0 mx.example.com Error: too many failed authentications\r\n");
	close(fd);
}
END_TEST

START_TEST(test_backend_missing)
{
	int	fd;
	char	line[600];
	bool	eof;

	load("smtpd_sasl_path = no-such-socket");
	fd = client();
	hear(fd, 1, &eof);
	ehlo(fd);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", plain("alice@example.org", "s3cret pass"));
	cmd(fd, line, "454 4.7.0 Temporary authentication failure\r\n");
	cmd(fd, "QUIT", "221 2.0.0 Bye\r\n");
	close(fd);
}
END_TEST

/* Outside TLS with smtpd_tls_auth_only: not offered, refused. */
START_TEST(test_tls_only)
{
	int	fd;
	bool	eof;
	const char *r;

	load("smtpd_tls_auth_only = yes");
	fd = client();
	hear(fd, 1, &eof);
	say(fd, "EHLO c.example\r\n");
	r = hear(fd, 6, &eof);
	ck_assert_msg(strstr(r, "AUTH") == NULL, "%s", r);
	cmd(fd, "AUTH PLAIN", "538 5.7.11 Encryption required for requested "
	    "authentication mechanism\r\n");
	cmd(fd, "QUIT", "221 2.0.0 Bye\r\n");
	close(fd);

	load("smtpd_sasl_auth_enable = no");
	fd = client();
	hear(fd, 1, &eof);
	cmd(fd, "AUTH PLAIN", "503 5.5.1 Error: authentication not enabled\r\n");
	close(fd);
}
END_TEST

START_TEST(test_sender_mismatch_verdicts)
{
	static const struct {
		const char *login;	/* "" not logged in */
		int	r;		/* the table's answer */
		const char *owners;
		int	want;
	} cases[] = {
		{"", 0, "", 0},				/* nobody owns it */
		{"", 1, "alice", 553},			/* owned, not logged in */
		{"alice", 1, "alice", 0},
		{"alice", 1, "bob, alice", 0},
		{"alice", 1, "bob,carol", 553},		/* not hers */
		{"alice", 1, "alice2", 553},
		{"alice", 0, "", 553},			/* logged in, owns nothing */
		{"alice", -1, "", 451},
		{"", -1, "", 451},
	};
	struct smtpd_session s;
	struct smtpd_verdict v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&s, 0, sizeof(s));
		snprintf(s.sasl_username, sizeof(s.sasl_username), "%s", cases[i].login);
		smtpd_sasl_mismatch(&s, "a@example.org", cases[i].r, cases[i].owners, &v);
		ck_assert_msg(v.code == cases[i].want, "case %zu: %d %s", i, v.code, v.text);
	}
	memset(&s, 0, sizeof(s));
	snprintf(s.sasl_username, sizeof(s.sasl_username), "alice");
	smtpd_sasl_mismatch(&s, "b@example.org", 1, "bob", &v);
	ck_assert_str_eq(v.text, "<b@example.org>: Sender address rejected: not owned "
			 "by user alice");
	ck_assert_str_eq(v.dsn, "5.7.1");
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtpd_sasl");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_plain_and_relay);
	tcase_add_test(tc, test_login_and_refusals);
	tcase_add_test(tc, test_failure_limit);
	tcase_add_test(tc, test_backend_missing);
	tcase_add_test(tc, test_tls_only);
	tcase_add_test(tc, test_sender_mismatch_verdicts);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
