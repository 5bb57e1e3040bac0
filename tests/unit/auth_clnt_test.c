/*
 * auth_clnt_test - check suite for lib/svc/auth_clnt: Dovecot's protocol
 * against a forked stand-in (handshake, OK with the user it names, FAIL,
 * FAIL temp, an answer to another id, control characters, a handshake of
 * another version or without PLAIN), postern's messages both ways, and a
 * request over its bounds.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"

#include "auth_clnt.h"
#include "base64.h"
#include "event.h"
#include "ipc.h"

static char dir[] = "/tmp/auth_clnt_test.XXXXXX";
static char path[600];
static pid_t server = -1;
static struct ev_loop *loop;

/* The stand-in: handshake text, then one answer per AUTH line. */
static _Noreturn void
dovecot(int lfd, const char *handshake)
{
	for (;;) {
		int	fd = accept(lfd, NULL, NULL);
		char	in[8192];
		size_t	len = 0;
		ssize_t	n;

		if (fd < 0)
			continue;
		(void) !write(fd, handshake, strlen(handshake));
		while ((n = read(fd, in + len, sizeof(in) - 1 - len)) > 0) {
			char   *nl;

			len += (size_t) n;
			in[len] = '\0';
			while ((nl = strchr(in, '\n')) != NULL) {
				char	answer[1024], user[700] = "", *resp;
				unsigned char raw[600];
				size_t	rl = 0;
				unsigned id = 0;

				*nl = '\0';
				if (sscanf(in, "AUTH\t%u\t", &id) == 1
				    && (resp = strstr(in, "resp=")) != NULL
				    && base64_decode(resp + 5, strlen(resp + 5), raw,
						     sizeof(raw) - 1, &rl) == 0) {
					raw[rl] = '\0';
					snprintf(user, sizeof(user), "%s", (char *) raw + 1);
				}
				if (id == 0)
					answer[0] = '\0';
				else if (strcmp(user, "alice") == 0 && rl > 7
					 && strcmp((char *) raw + 7, "pw") == 0)
					snprintf(answer, sizeof(answer), "OK\t%u\tuser=alice@example.org\n", id);
				else if (strcmp(user, "temp") == 0)
					snprintf(answer, sizeof(answer), "FAIL\t%u\tuser=temp\ttemp\n", id);
				else if (strcmp(user, "other") == 0)
					snprintf(answer, sizeof(answer), "OK\t%u\tuser=other\n", id + 1);
				else if (strcmp(user, "ctl") == 0)
					snprintf(answer, sizeof(answer), "OK\t%u\tuser=c\001tl\n", id);
				else
					snprintf(answer, sizeof(answer), "FAIL\t%u\tuser=%s\n", id, user);
				(void) !write(fd, answer, strlen(answer));
				len -= (size_t) (nl + 1 - in);
				memmove(in, nl + 1, len + 1);
			}
		}
		close(fd);
	}
}

static void
start(const char *handshake)
{
	int	lfd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/auth", dir);
	lfd = ipc_listen(path, 0600, 16);
	ck_assert_int_ge(lfd, 0);
	if ((server = fork()) == 0)
		dovecot(lfd, handshake);
	close(lfd);
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	loop = ev_loop_new();
}

static void
teardown(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		(void) waitpid(server, NULL, 0);
		server = -1;
	}
	ev_loop_free(loop);
	scratch_remove(dir, "/tmp/auth_clnt_test.");
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

struct result {
	bool	done;
	int	status;
	char	user[300];
	char	reason[300];
};

static void
done(void *ctx, int status, const char *user, const char *reason)
{
	struct result *r = ctx;

	r->done = true;
	r->status = status;
	snprintf(r->user, sizeof(r->user), "%s", user);
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

static struct result
check(struct auth_clnt *a, const char *user, const char *pass)
{
	struct auth_request rq = {"PLAIN", "", user, pass, "smtp", "192.0.2.1", true};
	struct result r = {0};

	(void) auth_clnt_check(a, &rq, 10000, done, &r);
	ck_assert(!r.done);			/* never from inside */
	for (int i = 0; i < 400 && !r.done; i++)
		ck_assert_int_eq(ev_run_once(loop, 25), 0);
	ck_assert(r.done);
	return r;
}

#define GOOD_HANDSHAKE "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n" \
	"SPID\t123\nCUID\t1\nCOOKIE\t0123456789abcdef\nDONE\n"

START_TEST(test_dovecot)
{
	char	why[CLNT_WHY_MAX];
	struct auth_clnt *a;
	struct result r;
	char	big[AUTH_PASS_MAX + 10];

	start(GOOD_HANDSHAKE);
	a = auth_clnt_new(loop, "dovecot", path, why, sizeof(why));
	ck_assert_msg(a != NULL, "%s", why);
	r = check(a, "alice", "pw");
	ck_assert_int_eq(r.status, AUTH_OK);
	ck_assert_str_eq(r.user, "alice@example.org");
	r = check(a, "alice", "wrong");
	ck_assert_int_eq(r.status, AUTH_FAIL);
	r = check(a, "temp", "x");
	ck_assert_int_eq(r.status, AUTH_TEMP);
	r = check(a, "other", "x");
	ck_assert_int_eq(r.status, AUTH_TEMP);
	ck_assert_msg(strstr(r.reason, "another request") != NULL, "%s", r.reason);
	r = check(a, "ctl", "x");
	ck_assert_int_eq(r.status, AUTH_TEMP);
	ck_assert_str_eq(r.user, "");
	/* A kept connection still works after all that. */
	r = check(a, "alice", "pw");
	ck_assert_int_eq(r.status, AUTH_OK);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = check(a, "alice", big);
	ck_assert_int_eq(r.status, AUTH_TEMP);
	ck_assert_msg(strstr(r.reason, "too long") != NULL, "%s", r.reason);
	auth_clnt_free(a);
}
END_TEST

START_TEST(test_dovecot_bad_handshakes)
{
	char	why[CLNT_WHY_MAX];
	struct auth_clnt *a;
	struct result r;

	start("VERSION\t2\t0\nMECH\tPLAIN\nDONE\n");
	a = auth_clnt_new(loop, "dovecot", path, why, sizeof(why));
	ck_assert_ptr_nonnull(a);
	r = check(a, "alice", "pw");
	ck_assert_int_eq(r.status, AUTH_TEMP);
	ck_assert_msg(strstr(r.reason, "version 1") != NULL, "%s", r.reason);
	auth_clnt_free(a);
	teardown();
	setup();

	start("VERSION\t1\t2\nMECH\tCRAM-MD5\nDONE\n");
	a = auth_clnt_new(loop, "dovecot", path, why, sizeof(why));
	r = check(a, "alice", "pw");
	ck_assert_int_eq(r.status, AUTH_TEMP);
	ck_assert_msg(strstr(r.reason, "does not offer PLAIN") != NULL, "%s", r.reason);
	auth_clnt_free(a);
}
END_TEST

START_TEST(test_postern_messages)
{
	struct auth_request rq = {"LOGIN", "", "bob", "pass word", "smtp", "::1", false};
	struct auth_request got;
	struct ipc_msg m;
	struct ipc_in in;
	const void *wire;
	const char *user, *reason;
	char	why[200], big[AUTH_USER_MAX + 2];
	size_t	len;
	int	st;

	ck_assert_int_eq(auth_request_build(&m, &rq), 0);
	wire = ipc_msg_wire(&m, false, &len);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_in_parse(&in, wire, len), 0);
	ck_assert_int_eq(auth_request_parse(&in, &got, why, sizeof(why)), 0);
	ck_assert_str_eq(got.user, "bob");
	ck_assert_str_eq(got.password, "pass word");
	ck_assert_str_eq(got.client_addr, "::1");
	ipc_in_free(&in);
	ipc_msg_free(&m);

	ck_assert_int_eq(auth_reply_build(&m, AUTH_FAIL, "bob", "nope"), 0);
	wire = ipc_msg_wire(&m, false, &len);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_in_parse(&in, wire, len), 0);
	ck_assert_int_eq(auth_reply_parse(&in, &st, &user, &reason), 0);
	ck_assert_int_eq(st, AUTH_FAIL);
	ck_assert_str_eq(reason, "nope");
	ipc_in_free(&in);
	ipc_msg_free(&m);

	memset(big, 'u', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rq.user = big;
	ck_assert_int_eq(auth_request_build(&m, &rq), -1);
	ipc_msg_free(&m);
	ck_assert_ptr_null(auth_clnt_new(loop, "cyrus", "x", why, sizeof(why)));
	ck_assert_msg(strstr(why, "cyrus") != NULL, "%s", why);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("auth_clnt");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dovecot);
	tcase_add_test(tc, test_dovecot_bad_handshakes);
	tcase_add_test(tc, test_postern_messages);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
