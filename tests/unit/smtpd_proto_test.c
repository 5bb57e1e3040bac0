/*
 * smtpd_proto_test - check suite for smtpd/smtpd_proto.c and the session
 * machinery under it: verbs, EHLO keywords, the disconnect summary, and
 * whole dialogues over socket pairs on a real event loop (pipelining
 * violations, too-long commands, error limits, error delays that do not
 * hold up other sessions, deadlines, replies to a client that does not
 * read them).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "smtpd_test.h"
#include "test_config.h"

#include "buf.h"
#include "config.h"
#include "event.h"
#include "params.h"
#include "../../smtpd/smtpd.h"
#include "fake_lookup.h"

static char dir[] = "/tmp/smtpd_proto_test.XXXXXX";
static struct ev_loop *loop;

static int
fake_lookup(const char *param, const char *address)
{
	(void) param;
	return strcmp(address, "alice@example.com") == 0;
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
		"%s\n", extra), 0);
	test_config_load(dir, text);
	smtpd_conf_free();
	smtpd_conf.spool_dir = ".";
	smtpd_conf.deliver_dir = ".";
	smtpd_conf_init();
	smtpd_restrict_init();
	fake_lookup_install(fake_lookup);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	loop = ev_loop_new();
	smtpd_loop = loop;
	load("");
}

static void
teardown(void)
{
	/* Every test closed its client end: let the sessions see EOF. */
	smtpd_test_drain(loop, 2000);
	ev_loop_free(loop);
	smtpd_test_unload();
	smtpd_test_rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

/* client - a session on one end of a socket pair; our end returned */
static int
client(const char *addr)
{
	int	sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	smtpd_session_new(loop, sv[0], sv[0], addr, "1");
	return sv[1];
}

static void
say(int fd, const char *text)
{
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
}

/*
 * hear - run the loop until n reply lines (or EOF) came on fd, within
 * ms; returns them joined, "" when nothing came; *eof tells EOF.
 */
static char got[1 << 20];
static size_t got_len;

static const char *
hear(int fd, int n, int ms, bool *eof)
{
	uint64_t end = ev_time_ms() + (uint64_t) ms;
	int	lines = 0;

	got_len = 0;
	got[0] = 0;
	if (eof)
		*eof = false;
	while (lines < n && ev_time_ms() < end) {
		ssize_t k;

		ev_run_once(loop, 5);
		while ((k = recv(fd, got + got_len, sizeof(got) - 1 - got_len,
				 MSG_DONTWAIT)) > 0) {
			for (ssize_t i = 0; i < k; i++)
				lines += got[got_len + (size_t) i] == '\n';
			got_len += (size_t) k;
		}
		got[got_len] = 0;
		if (k == 0) {
			if (eof)
				*eof = true;
			break;
		}
	}
	return got;
}

START_TEST(test_cmd_lookup)
{
	ck_assert_int_eq(smtpd_cmd_lookup("EHLO", 4), SMTPD_CMD_EHLO);
	ck_assert_int_eq(smtpd_cmd_lookup("ehlo", 4), SMTPD_CMD_EHLO);
	ck_assert_int_eq(smtpd_cmd_lookup("QuIt", 4), SMTPD_CMD_QUIT);
	ck_assert_int_eq(smtpd_cmd_lookup("QUITX", 5), SMTPD_CMD_UNKNOWN);
	ck_assert_int_eq(smtpd_cmd_lookup("QUI", 3), SMTPD_CMD_UNKNOWN);
	ck_assert_int_eq(smtpd_cmd_lookup("", 0), SMTPD_CMD_UNKNOWN);
	ck_assert_int_eq(smtpd_cmd_lookup("EXPN", 4), SMTPD_CMD_UNKNOWN);
	ck_assert_str_eq(smtpd_cmd_name(SMTPD_CMD_RCPT), "rcpt");
	ck_assert_str_eq(smtpd_cmd_name(SMTPD_CMD_UNKNOWN), "unknown");
}
END_TEST

START_TEST(test_ehlo_keywords)
{
	const char *kw[10];
	char	sz[40];
	size_t	n;

	n = smtpd_ehlo_keywords(NULL, kw, 10, sz, sizeof(sz));
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(kw[0], "PIPELINING");
	ck_assert_str_eq(kw[1], "SIZE 10240000");
	ck_assert_str_eq(kw[2], "ENHANCEDSTATUSCODES");
	ck_assert_str_eq(kw[3], "8BITMIME");
	ck_assert_str_eq(kw[4], "SMTPUTF8");
	load("disable_vrfy_command = no\nmessage_size_limit = 0\n"
	     "smtpd_discard_ehlo_keywords = 8bitmime smtputf8 silent-discard");
	n = smtpd_ehlo_keywords(NULL, kw, 10, sz, sizeof(sz));
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(kw[1], "SIZE");
	ck_assert_str_eq(kw[2], "VRFY");
	ck_assert_str_eq(kw[3], "ENHANCEDSTATUSCODES");
	/* The bound on out is kept. */
	ck_assert_uint_eq(smtpd_ehlo_keywords(NULL, kw, 2, sz, sizeof(sz)), 2);
	load("smtpd_discard_ehlo_keywords = size");
	n = smtpd_ehlo_keywords(NULL, kw, 10, sz, sizeof(sz));
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(kw[1], "ENHANCEDSTATUSCODES");
}
END_TEST

START_TEST(test_summary)
{
	struct smtpd_session s;
	struct buf b;

	memset(&s, 0, sizeof(s));
	buf_init(&b, 1024);
	smtpd_disconnect_summary(&s, &b);
	ck_assert_str_eq(buf_str(&b), " commands=0");
	buf_reset(&b);
	s.cmd_total[SMTPD_CMD_EHLO] = s.cmd_ok[SMTPD_CMD_EHLO] = 1;
	s.cmd_total[SMTPD_CMD_MAIL] = s.cmd_ok[SMTPD_CMD_MAIL] = 1;
	s.cmd_total[SMTPD_CMD_RCPT] = 2;
	s.cmd_ok[SMTPD_CMD_RCPT] = 1;
	s.cmd_total[SMTPD_CMD_QUIT] = s.cmd_ok[SMTPD_CMD_QUIT] = 1;
	s.cmd_total[SMTPD_CMD_UNKNOWN] = 3;
	smtpd_disconnect_summary(&s, &b);
	ck_assert_str_eq(buf_str(&b), " ehlo=1 mail=1 rcpt=1/2 quit=1 unknown=0/3 commands=4/8");
	buf_free(&b);
}
END_TEST

START_TEST(test_dialogue)
{
	int	fd = client("192.0.2.1");
	bool	eof;
	DIR    *d;
	struct dirent *e;
	int	files = 0;

	ck_assert_str_eq(hear(fd, 1, 2000, NULL), "220 mx.example.com ESMTP postern\r\n");
	say(fd, "EHLO c.example\r\n");
	ck_assert_str_eq(hear(fd, 6, 2000, NULL), "250-mx.example.com\r\n250-PIPELINING\r\n"
			 "250-SIZE 10240000\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
			 "250 SMTPUTF8\r\n");
	say(fd, "MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.com>\r\n"
	    "RCPT TO:<bob@example.com>\r\nDATA\r\n");
	ck_assert_str_eq(hear(fd, 4, 2000, NULL), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
			 "550 5.1.1 <bob@example.com>: Recipient address rejected: "
			 "User unknown in local recipient table\r\n"
			 "354 End data with <CR><LF>.<CR><LF>\r\n");
	say(fd, "Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n");
	hear(fd, 2, 2000, &eof);
	ck_assert_msg(strncmp(got, "250 2.0.0 Ok: queued as ", 24) == 0, "got %s", got);
	ck_assert_msg(strstr(got, "\r\n221 2.0.0 Bye\r\n") != NULL, "got %s", got);
	hear(fd, 1, 2000, &eof);
	ck_assert(eof);
	ck_assert_uint_eq(smtpd_session_count, 0);
	d = opendir(".");
	while ((e = readdir(d)) != NULL)
		files += e->d_name[0] != '.' && strcmp(e->d_name, "main.cf") != 0;
	closedir(d);
	ck_assert_int_eq(files, 1);
	close(fd);
}
END_TEST

START_TEST(test_pipelining_violation)
{
	int	fd = client("192.0.2.1");
	bool	eof;

	hear(fd, 1, 2000, NULL);
	say(fd, "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL),
			 "554 5.5.0 Error: SMTP protocol synchronization\r\n");
	hear(fd, 1, 2000, &eof);
	ck_assert(eof);
	close(fd);

	/* The same from mynetworks is fine. */
	fd = client("127.0.0.1");
	hear(fd, 1, 2000, NULL);
	say(fd, "HELO c.example\r\nMAIL FROM:<a@example.org>\r\n");
	ck_assert_str_eq(hear(fd, 2, 2000, NULL), "250 mx.example.com\r\n250 2.1.0 Ok\r\n");
	close(fd);
}
END_TEST

/*
 * 2026-12 review: only EHLO, HELO, DATA, NOOP, VRFY and QUIT were
 * checked, so a client after HELO (or with no HELO) pipelined MAIL,
 * RCPT and RSET freely.  PIPELINING is offered in the EHLO reply only:
 * without it every command waits for its reply (RFC 2920 section 3.1).
 */
START_TEST(test_pipelining_without_ehlo)
{
	static const char *groups[] = {
		"HELO c.example\r\n|MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.com>\r\n",
		"HELO c.example\r\n|RSET\r\nMAIL FROM:<a@example.org>\r\n",
		"|MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.com>\r\n",
		"|HELP\r\nRSET\r\n",
	};

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		const char *bar = strchr(groups[i], '|');
		char	first[128];
		int	fd = client("192.0.2.1");
		bool	eof;

		hear(fd, 1, 2000, NULL);
		if (bar > groups[i]) {
			ck_assert_int_lt((int) (bar - groups[i]), (int) sizeof(first));
			memcpy(first, groups[i], (size_t) (bar - groups[i]));
			first[bar - groups[i]] = '\0';
			say(fd, first);
			hear(fd, 1, 2000, NULL);
		}
		say(fd, bar + 1);
		ck_assert_msg(strstr(hear(fd, 2, 2000, NULL),
				     "554 5.5.0 Error: SMTP protocol synchronization\r\n") != NULL,
			      "group %zu: got %s", i, got);
		hear(fd, 1, 2000, &eof);
		ck_assert(eof);
		close(fd);
	}
}
END_TEST

/*
 * A client that may not pipeline sends a second message in the write
 * that ends the first: neither is queued, and the session ends.
 */
START_TEST(test_input_after_end_of_data)
{
	int	fd = client("192.0.2.1");
	bool	eof;

	hear(fd, 1, 2000, NULL);
	say(fd, "HELO c.example\r\n");
	hear(fd, 1, 2000, NULL);
	say(fd, "MAIL FROM:<s@example.org>\r\n");
	hear(fd, 1, 2000, NULL);
	say(fd, "RCPT TO:<alice@example.com>\r\n");
	hear(fd, 1, 2000, NULL);
	say(fd, "DATA\r\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL), "354 End data with <CR><LF>.<CR><LF>\r\n");
	say(fd, "Subject: one\r\n\r\nbody\r\n.\r\nMAIL FROM:<s@example.org>\r\n"
	    "RCPT TO:<alice@example.com>\r\nDATA\r\nSubject: two\r\n\r\nx\r\n.\r\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL),
			 "554 5.5.0 Error: SMTP protocol synchronization\r\n");
	hear(fd, 1, 2000, &eof);
	ck_assert(eof);
	close(fd);

	/* After EHLO (PIPELINING offered) the next command may follow the dot. */
	fd = client("192.0.2.1");
	hear(fd, 1, 2000, NULL);
	say(fd, "EHLO c.example\r\n");
	hear(fd, 6, 2000, NULL);
	say(fd, "MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n");
	hear(fd, 3, 2000, NULL);
	say(fd, "Subject: one\r\n\r\nbody\r\n.\r\nQUIT\r\n");
	hear(fd, 2, 2000, NULL);
	ck_assert_msg(strncmp(got, "250 2.0.0 Ok: queued as ", 24) == 0, "got %s", got);
	close(fd);
}
END_TEST

START_TEST(test_pregreet)
{
	int	sv[2];
	bool	eof;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	say(sv[1], "EHLO early\r\n");
	smtpd_session_new(loop, sv[0], sv[0], "192.0.2.1", "1");
	ck_assert_str_eq(hear(sv[1], 1, 2000, &eof),
			 "554 5.5.0 Error: SMTP protocol synchronization\r\n");
	ck_assert_uint_eq(smtpd_session_count, 0);
	close(sv[1]);
}
END_TEST

START_TEST(test_command_too_long)
{
	int	fd = client("192.0.2.1");
	char	big[5000];

	hear(fd, 1, 2000, NULL);
	memset(big, 'x', sizeof(big));
	memcpy(big, "NOOP ", 5);
	ck_assert_int_eq(write(fd, big, sizeof(big)), (ssize_t) sizeof(big));
	say(fd, "\r\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL), "500 5.5.2 Error: command too long\r\n");
	/* Exactly line_length_limit (2048) is fine. */
	ck_assert_int_eq(write(fd, big, 2048), 2048);
	say(fd, "\r\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL), "250 2.0.0 Ok\r\n");
	/* One past it is not. */
	ck_assert_int_eq(write(fd, big, 2049), 2049);
	say(fd, "\r\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL), "500 5.5.2 Error: command too long\r\n");
	close(fd);
}
END_TEST

START_TEST(test_hard_limit)
{
	int	fd;
	bool	eof;

	load("smtpd_hard_error_limit = 3");
	fd = client("192.0.2.1");
	hear(fd, 1, 2000, NULL);
	say(fd, "X1\r\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL), "502 5.5.2 Error: command not recognized\r\n");
	say(fd, "X2\r\n");
	hear(fd, 1, 2000, NULL);
	say(fd, "X3\r\n");
	ck_assert_str_eq(hear(fd, 2, 2000, &eof), "502 5.5.2 Error: command not recognized\r\n"
			 "421 4.7.0 mx.example.com Error: too many errors\r\n");
	hear(fd, 1, 2000, &eof);
	ck_assert(eof);
	close(fd);
}
END_TEST

START_TEST(test_delay_does_not_block)
{
	int	a, b;
	uint64_t t0, t1;

	load("smtpd_soft_error_limit = 1\nsmtpd_error_sleep_time = 1s");
	a = client("192.0.2.1");
	hear(a, 1, 2000, NULL);
	say(a, "BAD\r\n");
	t0 = ev_time_ms();
	/* A's reply is held; B is served meanwhile. */
	ck_assert_str_eq(hear(a, 1, 200, NULL), "");
	b = client("192.0.2.2");
	ck_assert_str_eq(hear(b, 1, 300, NULL), "220 mx.example.com ESMTP postern\r\n");
	say(b, "NOOP\r\n");
	ck_assert_str_eq(hear(b, 1, 300, NULL), "250 2.0.0 Ok\r\n");
	ck_assert_uint_lt(ev_time_ms() - t0, 900);
	ck_assert_str_eq(hear(a, 1, 3000, NULL), "502 5.5.2 Error: command not recognized\r\n");
	t1 = ev_time_ms();
	ck_assert_uint_ge(t1 - t0, 950);
	close(a);
	close(b);
}
END_TEST

START_TEST(test_timeout)
{
	int	fd;
	bool	eof;
	uint64_t t0;

	load("smtpd_timeout = 1s");
	fd = client("192.0.2.1");
	t0 = ev_time_ms();
	hear(fd, 1, 2000, NULL);
	say(fd, "NO");
	ck_assert_str_eq(hear(fd, 1, 3000, &eof),
			 "421 4.4.2 mx.example.com Error: timeout exceeded\r\n");
	ck_assert_uint_ge(ev_time_ms() - t0, 950);
	hear(fd, 1, 1000, &eof);
	ck_assert(eof);
	ck_assert_uint_eq(smtpd_session_count, 0);
	close(fd);
}
END_TEST

START_TEST(test_bare_lf_command)
{
	int	fd;

	load("smtpd_forbid_bare_newline = reject");
	fd = client("192.0.2.1");
	hear(fd, 1, 2000, NULL);
	say(fd, "NOOP\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL), "550 5.5.2 Error: bare <LF> received\r\n");
	say(fd, "NOOP\r\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL), "250 2.0.0 Ok\r\n");
	close(fd);
}
END_TEST

START_TEST(test_unread_replies)
{
	/*
	 * A trusted client pipelines 20,000 NOOPs and reads nothing until
	 * it cannot write any more: the server stops reading instead of
	 * buffering replies without bound, and no reply is lost.
	 */
	enum { N = 20000 };
	static const char cmd[] = "NOOP\r\n";
	int	fd, sent = 0, replies = 0;
	size_t	partial = 0;
	uint64_t end;

	load("smtpd_junk_command_limit = 100000");
	fd = client("127.0.0.1");
	hear(fd, 1, 2000, NULL);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	end = ev_time_ms() + 20000;
	while (replies < N && ev_time_ms() < end) {
		char	rb[65536];
		ssize_t k;

		while (sent < N) {
			k = write(fd, cmd + partial, sizeof(cmd) - 1 - partial);
			if (k < 0)
				break;
			partial += (size_t) k;
			if (partial == sizeof(cmd) - 1)
				partial = 0, sent++;
		}
		ev_run_once(loop, 5);
		/* Read only once the writer is stuck or done. */
		if (sent < N && errno != EAGAIN)
			continue;
		while ((k = read(fd, rb, sizeof(rb))) > 0)
			for (ssize_t i = 0; i < k; i++)
				replies += rb[i] == '\n';
	}
	ck_assert_int_eq(sent, N);
	ck_assert_int_eq(replies, N);
	close(fd);
}
END_TEST

START_TEST(test_spool_failure)
{
	int	fd = client("192.0.2.1");
	static char line[1002];
	const char *r;

	/*
	 * A directory that cannot hold O_TMPFILE files.  A message that
	 * fits smtpd's buffer is spooled in memory and never needs it;
	 * a larger one gets 451 at its end, and the session goes on.
	 */
	smtpd_conf.spool_dir = "/proc";
	hear(fd, 1, 2000, NULL);
	say(fd, "EHLO c.example\r\n");
	hear(fd, 6, 2000, NULL);
	say(fd, "MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n");
	ck_assert_str_eq(hear(fd, 3, 2000, NULL), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
			 "354 End data with <CR><LF>.<CR><LF>\r\n");
	say(fd, "Subject: small\r\n\r\nhello\r\n.\r\n");
	r = hear(fd, 1, 2000, NULL);
	ck_assert_msg(strncmp(r, "250 2.0.0 Ok: queued as ", 24) == 0, "got %s", r);

	say(fd, "MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n");
	ck_assert_str_eq(hear(fd, 3, 2000, NULL), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
			 "354 End data with <CR><LF>.<CR><LF>\r\n");
	memset(line, 'x', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\r';
	line[sizeof(line) - 1] = '\n';
	for (int i = 0; i < 70; i++)	/* 70 KiB: more than the buffer */
		ck_assert_int_eq(write(fd, line, sizeof(line)), (ssize_t) sizeof(line));
	say(fd, ".\r\n");
	ck_assert_str_eq(hear(fd, 1, 2000, NULL),
			 "451 4.3.0 Error: queue file write error\r\n");
	smtpd_conf.spool_dir = ".";
	say(fd, "MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n");
	ck_assert_str_eq(hear(fd, 3, 2000, NULL), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
			 "354 End data with <CR><LF>.<CR><LF>\r\n");
	close(fd);
}
END_TEST

/* queued - the reply for one answer from cleanup */
static const char *
queued(int status, const char *qid, const char *reason)
{
	static char out[1024];
	struct smtpd_session s;

	memset(&s, 0, sizeof(s));
	s.loop = loop;
	s.spool_fd = -1;
	s.cl_call = NULL;
	buf_init(&s.io.out, SMTPD_OUT_MAX);
	ev_timer_init(&s.deadline, NULL, &s);
	ev_timer_init(&s.sleep, NULL, &s);
	s.state = SMTPD_ST_DELIVER;
	s.in_mail = true;
	smtpd_proto_queued(&s, status, qid, reason);
	ck_assert_int_eq(s.state, SMTPD_ST_CMD);
	ck_assert(!s.in_mail);
	ck_assert_int_eq(s.errors, status != 0);
	ck_assert_uint_eq(s.cmd_ok[SMTPD_CMD_DATA], status == 0);
	snprintf(out, sizeof(out), "%s", buf_str(&s.io.out));
	buf_free(&s.io.out);
	return out;
}

START_TEST(test_queued_replies)
{
	ck_assert_str_eq(queued(0, "1NGF30GB0HG069T", ""),
			 "250 2.0.0 Ok: queued as 1NGF30GB0HG069T\r\n");
	ck_assert_str_eq(queued(4, "", "4.3.0 Error: cleanup is busy"),
			 "451 4.3.0 Error: cleanup is busy\r\n");
	ck_assert_str_eq(queued(4, "", "4.3.1 Insufficient system storage"),
			 "452 4.3.1 Insufficient system storage\r\n");
	ck_assert_str_eq(queued(5, "", "5.7.1 Message content rejected"),
			 "550 5.7.1 Message content rejected\r\n");
	ck_assert_str_eq(queued(5, "", "5.3.4 Message too big"),
			 "552 5.3.4 Message too big\r\n");
	/* A code of the wrong class is not trusted as one. */
	ck_assert_str_eq(queued(5, "", "4.0.0 odd"), "554 5.0.0 4.0.0 odd\r\n");
	ck_assert_str_eq(queued(4, "", ""), "451 4.3.0 Error: queue file write error\r\n");
	ck_assert_str_eq(queued(5, "", "no code"), "554 5.0.0 no code\r\n");
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtpd_proto");
	TCase  *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cmd_lookup);
	tcase_add_test(tc, test_ehlo_keywords);
	tcase_add_test(tc, test_summary);
	tcase_add_test(tc, test_dialogue);
	tcase_add_test(tc, test_pipelining_violation);
	tcase_add_test(tc, test_pipelining_without_ehlo);
	tcase_add_test(tc, test_input_after_end_of_data);
	tcase_add_test(tc, test_pregreet);
	tcase_add_test(tc, test_command_too_long);
	tcase_add_test(tc, test_hard_limit);
	tcase_add_test(tc, test_delay_does_not_block);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_bare_lf_command);
	tcase_add_test(tc, test_unread_replies);
	tcase_add_test(tc, test_spool_failure);
	tcase_add_test(tc, test_queued_replies);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
