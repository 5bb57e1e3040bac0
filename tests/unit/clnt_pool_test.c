/*
 * clnt_pool_test - check suite for lib/ipc/clnt_pool: calls on an event
 * loop (a reply, kept connections and their reuse, the bound on
 * connections and the queue of waiting calls, deadlines, cancellation,
 * the resend of a request that met a kept connection the server had
 * closed and no second one, a reply followed by more bytes, a
 * malformed or missing reply, a connect failure reported from the
 * loop, conversations, greetings, TCP) and the blocking form.
 *
 * The service is played by child processes on a UNIX socket (and a
 * TCP port) in a temporary directory, one process per connection,
 * speaking lines: "echo X" answers X; "slow MS X" answers X after MS
 * milliseconds; "hangup" closes without an answer; "drop X" closes
 * without an answer on a connection that already answered, else
 * answers X; "twice" answers two lines; "long" answers 5,000 bytes
 * without a line end.  Each accept is reported as 'A' on a pipe.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"

#include "clnt_pool.h"
#include "event.h"
#include "log.h"
#include "str.h"

static char dir[] = "/tmp/clnt_pool_test.XXXXXX";
static char path[128], gpath[128], ep_inet[64];
static pid_t servers[3];
static int nservers;
static int report_fd = -1;
static struct ev_loop *loop;

static const struct clnt_proto line_proto = {
	.service = "the test service", .reply_max = 1024,
	.frame = clnt_frame_line, .resend = true,
};

static int
greeting_ok(void *ctx, const char *g, size_t len, char *why, size_t whylen)
{
	(void) ctx;
	if (len == 6 && memcmp(g, "HELLO\n", 6) == 0)
		return 1;
	(void) str_copy(why, whylen, "not HELLO");
	return 0;
}

static const struct clnt_proto greet_proto = {
	.service = "the greeting service", .reply_max = 1024,
	.frame = clnt_frame_line, .resend = true,
	.hello = "HI\n", .hello_len = 3,
	.greeting = clnt_frame_line, .greeting_ok = greeting_ok,
};

static int
no_b(const char *reply, size_t len, char *why, size_t whylen)
{
	if (len == 2 && reply[0] == 'b') {
		(void) str_copy(why, whylen, "b is no answer");
		return -1;
	}
	return 0;
}

static const struct clnt_proto checked_proto = {
	.service = "the checked service", .reply_max = 1024,
	.frame = clnt_frame_line, .check = no_b, .resend = true,
};

static void
msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* getline_fd - one line from fd into b (no LF); -1 at EOF */
static int
getline_fd(int fd, char *b, size_t n)
{
	size_t  k = 0;

	for (;;) {
		char    c;
		ssize_t r = read(fd, &c, 1);

		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		if (k + 1 < n)
			b[k++] = c;
	}
	b[k] = 0;
	return 0;
}

static void
put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		_exit(3);
}

static _Noreturn void
serve_conn(int fd, bool greet)
{
	char    line[512];
	int     answered = 0;

	if (greet) {
		put(fd, "HELLO\n");
		if (getline_fd(fd, line, sizeof(line)) < 0 || strcmp(line, "HI") != 0)
			_exit(0);
	}
	while (getline_fd(fd, line, sizeof(line)) == 0) {
		char    out[600];

		if (strncmp(line, "echo ", 5) == 0) {
			(void) str_fmt(out, sizeof(out), "%s\n", line + 5);
			put(fd, out);
		} else if (strncmp(line, "slow ", 5) == 0) {
			char   *sp = strchr(line + 5, ' ');

			msleep(strtol(line + 5, NULL, 10));
			(void) str_fmt(out, sizeof(out), "%s\n", sp ? sp + 1 : "");
			put(fd, out);
		} else if (strcmp(line, "hangup") == 0) {
			_exit(0);
		} else if (strncmp(line, "drop ", 5) == 0) {
			if (answered > 0)
				_exit(0);
			(void) str_fmt(out, sizeof(out), "%s\n", line + 5);
			put(fd, out);
		} else if (strcmp(line, "twice") == 0) {
			put(fd, "a\nb\n");
		} else if (strcmp(line, "long") == 0) {
			memset(out, 'x', sizeof(out));
			for (int i = 0; i < 10; i++)
				if (write(fd, out, 500) < 0)
					_exit(3);
		}
		answered++;
	}
	_exit(0);
}

static pid_t
start_server(int lfd, bool greet)
{
	pid_t   pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid > 0) {
		close(lfd);
		return pid;
	}
	signal(SIGCHLD, SIG_IGN);		/* no zombies */
	for (;;) {
		int     fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (write(report_fd, "A", 1) != 1)
			_exit(2);
		if (fork() == 0) {
			close(lfd);
			serve_conn(fd, greet);
		}
		close(fd);
	}
}

static int
unix_listener(const char *p)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int     fd = socket(AF_UNIX, SOCK_STREAM, 0);

	(void) str_copy(sun.sun_path, sizeof(sun.sun_path), p);
	ck_assert_int_eq(bind(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

static void
setup(void)
{
	int     pfd[2], tfd;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);

	log_init("clnt_pool_test", LOG_DEST_STDERR);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void) str_fmt(path, sizeof(path), "%s/svc", dir);
	(void) str_fmt(gpath, sizeof(gpath), "unix:%s/greet", dir);
	ck_assert_int_eq(pipe(pfd), 0);
	report_fd = pfd[1];
	servers[nservers++] = start_server(unix_listener(path), false);
	servers[nservers++] = start_server(unix_listener(gpath + 5), true);
	tfd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(tfd, (struct sockaddr *) &sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(tfd, 16), 0);
	ck_assert_int_eq(getsockname(tfd, (struct sockaddr *) &sin, &sl), 0);
	(void) str_fmt(ep_inet, sizeof(ep_inet), "inet:127.0.0.1:%u", ntohs(sin.sin_port));
	servers[nservers++] = start_server(tfd, false);
	close(report_fd);
	report_fd = pfd[0];
	loop = ev_loop_new();
}

static void
teardown(void)
{
	for (int i = 0; i < nservers; i++) {
		kill(servers[i], SIGKILL);
		waitpid(servers[i], NULL, 0);
	}
	nservers = 0;
	close(report_fd);
	ev_loop_free(loop);
	scratch_remove(dir, "/tmp/clnt_pool_test.");
	(void) str_copy(dir, sizeof(dir), "/tmp/clnt_pool_test.XXXXXX");
}

/* accepts - connections the servers took since the last call */
static int
accepts(void)
{
	char    b[64];
	int     n = 0;
	struct pollfd p = {.fd = report_fd, .events = POLLIN};

	msleep(30);				/* let the children report */
	while (poll(&p, 1, 0) == 1) {
		ssize_t r = read(report_fd, b, sizeof(b));

		if (r <= 0)
			break;
		n += (int) r;
	}
	return n;
}

struct res {
	int	calls;
	int	status;
	char	reply[1100];
	char	why[CLNT_WHY_MAX];
	struct clnt_call *held;
};

static void
done(void *ctx, struct clnt_call *call, const struct clnt_result *r)
{
	struct res *x = ctx;

	x->calls++;
	x->status = r->status;
	x->held = call;
	if (r->status == CLNT_OK)
		(void) str_fmt(x->reply, sizeof(x->reply), "%.*s", (int) r->len, r->reply);
	else
		(void) str_copy(x->why, sizeof(x->why), r->why);
}

static void
run_until(int *calls, int want)
{
	for (int i = 0; i < 2000 && *calls < want; i++)
		ck_assert_int_ge(ev_run_once(loop, 20), 0);
	ck_assert_int_eq(*calls, want);
}

static struct clnt_pool *
pool(const char *ep, const struct clnt_proto *pr, size_t max_conns, size_t max_idle,
     size_t max_waiting)
{
	struct clnt_pool_conf conf = {
		.endpoint = ep, .proto = pr, .max_conns = max_conns,
		.max_idle = max_idle, .idle_ms = 60000, .max_waiting = max_waiting,
	};
	char    why[CLNT_WHY_MAX];
	struct clnt_pool *p = clnt_pool_new(loop, &conf, why, sizeof(why));

	ck_assert_msg(p != NULL, "%s", why);
	return p;
}

static struct clnt_call *
call(struct clnt_pool *p, const char *req, uint64_t ms, unsigned flags, struct res *x)
{
	return clnt_pool_call(p, req, strlen(req), -1, ms, flags, done, x);
}

START_TEST(reply_and_reuse)
{
	struct clnt_pool *p = pool(path, &line_proto, 4, 4, 0);
	struct res x = {0};

	(void) accepts();
	(void) call(p, "echo one\n", 5000, 0, &x);
	ck_assert_int_eq(x.calls, 0);		/* never from inside the call */
	run_until(&x.calls, 1);
	ck_assert_int_eq(x.status, CLNT_OK);
	ck_assert_str_eq(x.reply, "one\n");
	ck_assert_ptr_null(x.held);
	ck_assert_uint_eq(clnt_pool_idle(p), 1);
	(void) call(p, "echo two\n", 5000, 0, &x);
	run_until(&x.calls, 2);
	ck_assert_str_eq(x.reply, "two\n");
	ck_assert_int_eq(accepts(), 1);		/* one connection for both */
	ck_assert_uint_eq(clnt_pool_conns(p), 1);
	clnt_pool_free(p);
}
END_TEST

START_TEST(bound_and_queue)
{
	struct clnt_pool *p = pool(path, &line_proto, 1, 1, 2);
	struct res a = {0}, b = {0}, c = {0}, d = {0};

	(void) accepts();
	(void) call(p, "slow 100 first\n", 5000, 0, &a);
	(void) call(p, "echo second\n", 5000, 0, &b);
	(void) call(p, "echo third\n", 5000, 0, &c);
	ck_assert_uint_eq(clnt_pool_waiting(p), 2);
	(void) call(p, "echo fourth\n", 5000, 0, &d);	/* beyond max_waiting */
	run_until(&d.calls, 1);
	ck_assert_int_eq(d.status, CLNT_ERROR);
	ck_assert_ptr_nonnull(strstr(d.why, "too many requests waiting"));
	run_until(&c.calls, 1);
	ck_assert_int_eq(a.calls + b.calls, 2);
	ck_assert_str_eq(a.reply, "first\n");
	ck_assert_str_eq(b.reply, "second\n");
	ck_assert_str_eq(c.reply, "third\n");
	ck_assert_int_eq(accepts(), 1);		/* in turn, on one connection */
	clnt_pool_free(p);
}
END_TEST

START_TEST(deadline_and_cancel)
{
	struct clnt_pool *p = pool(path, &line_proto, 4, 4, 0);
	struct res a = {0}, b = {0};
	struct clnt_call *k;

	(void) call(p, "slow 2000 late\n", 100, 0, &a);
	run_until(&a.calls, 1);
	ck_assert_int_eq(a.status, CLNT_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(a.why, "in time"));
	ck_assert_uint_eq(clnt_pool_conns(p), 0);	/* never reused */
	k = call(p, "slow 200 never\n", 5000, 0, &b);
	for (int i = 0; i < 3; i++)
		(void) ev_run_once(loop, 10);
	clnt_pool_cancel(k);
	ck_assert_uint_eq(clnt_pool_conns(p), 0);
	for (int i = 0; i < 20; i++)
		(void) ev_run_once(loop, 20);
	ck_assert_int_eq(b.calls, 0);
	clnt_pool_free(p);
}
END_TEST

START_TEST(resend_once)
{
	struct clnt_pool *p = pool(path, &line_proto, 4, 4, 0);
	struct res x = {0};

	(void) accepts();
	(void) call(p, "echo warm\n", 5000, 0, &x);
	run_until(&x.calls, 1);
	/* The kept connection is closed at the request: sent again, once. */
	(void) call(p, "drop again\n", 5000, 0, &x);
	run_until(&x.calls, 2);
	ck_assert_int_eq(x.status, CLNT_OK);
	ck_assert_str_eq(x.reply, "again\n");
	ck_assert_int_eq(accepts(), 2);
	/* A server that never answers: the resend fails too, no third try. */
	(void) call(p, "hangup\n", 5000, 0, &x);
	run_until(&x.calls, 3);
	ck_assert_int_eq(x.status, CLNT_ERROR);
	ck_assert_ptr_nonnull(strstr(x.why, "without an answer"));
	ck_assert_int_eq(accepts(), 1);
	/* A fresh connection is never resent. */
	(void) call(p, "hangup\n", 5000, 0, &x);
	run_until(&x.calls, 4);
	ck_assert_int_eq(x.status, CLNT_ERROR);
	ck_assert_int_eq(accepts(), 1);
	clnt_pool_free(p);
}
END_TEST

START_TEST(unclean_and_malformed)
{
	struct clnt_pool *p = pool(path, &line_proto, 4, 4, 0);
	struct res x = {0};

	(void) call(p, "twice\n", 5000, 0, &x);
	run_until(&x.calls, 1);
	ck_assert_int_eq(x.status, CLNT_OK);
	ck_assert_str_eq(x.reply, "a\n");
	ck_assert_uint_eq(clnt_pool_conns(p), 0);	/* "b" left: closed */
	(void) call(p, "long\n", 5000, 0, &x);
	run_until(&x.calls, 2);
	ck_assert_int_eq(x.status, CLNT_ERROR);
	ck_assert_ptr_nonnull(strstr(x.why, "longer than 1024"));
	ck_assert_uint_eq(clnt_pool_conns(p), 0);
	clnt_pool_free(p);
	/* A whole reply that the protocol's check refuses. */
	p = pool(path, &checked_proto, 4, 4, 0);
	(void) call(p, "echo a\n", 5000, 0, &x);
	run_until(&x.calls, 3);
	ck_assert_int_eq(x.status, CLNT_OK);
	ck_assert_uint_eq(clnt_pool_idle(p), 1);
	(void) call(p, "echo b\n", 5000, 0, &x);
	run_until(&x.calls, 4);
	ck_assert_int_eq(x.status, CLNT_ERROR);
	ck_assert_ptr_nonnull(strstr(x.why, "b is no answer"));
	ck_assert_uint_eq(clnt_pool_conns(p), 0);
	clnt_pool_free(p);
}
END_TEST

START_TEST(connect_failure)
{
	char    ep[200];
	struct clnt_pool *p;
	struct res x = {0};
	char    why[CLNT_WHY_MAX];
	struct clnt_pool_conf bad = {.endpoint = "inet:127.0.0.1:port", .proto = &line_proto};

	(void) str_fmt(ep, sizeof(ep), "unix:%s/nothing-here", dir);
	p = pool(ep, &line_proto, 4, 4, 0);
	(void) call(p, "echo x\n", 5000, 0, &x);
	ck_assert_int_eq(x.calls, 0);
	run_until(&x.calls, 1);
	ck_assert_int_eq(x.status, CLNT_ERROR);
	ck_assert_ptr_nonnull(strstr(x.why, "cannot connect"));
	ck_assert_ptr_nonnull(strstr(x.why, "nothing-here"));
	clnt_pool_free(p);
	ck_assert_ptr_null(clnt_pool_new(loop, &bad, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "port must be a number"));
}
END_TEST

static void
step2(void *ctx, struct clnt_call *c, const struct clnt_result *r)
{
	struct res *x = ctx;

	done(ctx, c, r);
	if (x->calls == 1)
		clnt_pool_send(c, "echo two\n", 9, -1, 5000, step2, x);
}

START_TEST(conversation)
{
	struct clnt_pool *p = pool(path, &line_proto, 1, 1, 0);
	struct res x = {0}, y = {0};

	(void) clnt_pool_call(p, "echo one\n", 9, -1, 5000, CLNT_HOLD, step2, &x);
	(void) call(p, "echo other\n", 5000, 0, &y);	/* waits: bound of 1 */
	run_until(&x.calls, 2);
	ck_assert_str_eq(x.reply, "two\n");
	ck_assert_ptr_nonnull(x.held);
	ck_assert_int_eq(y.calls, 0);		/* the connection is held */
	clnt_pool_release(x.held);
	run_until(&y.calls, 1);
	ck_assert_str_eq(y.reply, "other\n");
	clnt_pool_free(p);
}
END_TEST

/* A conversation's first request is resent like any call's; a later one never. */
START_TEST(conversation_resend)
{
	struct clnt_pool *p = pool(path, &line_proto, 4, 4, 0);
	struct res x = {0}, y = {0};

	(void) accepts();
	(void) call(p, "echo warm\n", 5000, 0, &x);
	run_until(&x.calls, 1);
	(void) clnt_pool_call(p, "drop again\n", 11, -1, 5000, CLNT_HOLD, done, &y);
	run_until(&y.calls, 1);
	ck_assert_int_eq(y.status, CLNT_OK);
	ck_assert_str_eq(y.reply, "again\n");
	ck_assert_int_eq(accepts(), 2);
	ck_assert_ptr_nonnull(y.held);
	clnt_pool_send(y.held, "hangup\n", 7, -1, 5000, done, &y);
	run_until(&y.calls, 2);
	ck_assert_int_eq(y.status, CLNT_ERROR);
	ck_assert_int_eq(accepts(), 0);
	clnt_pool_cancel(y.held);
	clnt_pool_free(p);
}
END_TEST

START_TEST(greeting_and_tcp)
{
	struct clnt_pool *g = pool(gpath, &greet_proto, 2, 2, 0);
	struct clnt_pool *t = pool(ep_inet, &line_proto, 2, 2, 0);
	struct res x = {0}, y = {0};

	(void) call(g, "echo hi\n", 5000, 0, &x);
	(void) call(t, "echo tcp\n", 5000, 0, &y);
	run_until(&x.calls, 1);
	run_until(&y.calls, 1);
	ck_assert_int_eq(x.status, CLNT_OK);
	ck_assert_str_eq(x.reply, "hi\n");
	ck_assert_int_eq(y.status, CLNT_OK);
	ck_assert_str_eq(y.reply, "tcp\n");
	clnt_pool_free(g);
	clnt_pool_free(t);
}
END_TEST

START_TEST(blocking_form)
{
	struct clnt_pool_conf conf = {
		.endpoint = path, .proto = &line_proto, .max_conns = 1, .max_idle = 1,
	};
	char    why[CLNT_WHY_MAX];
	struct clnt_pool *p = clnt_pool_new(NULL, &conf, why, sizeof(why));
	struct buf r;

	ck_assert_ptr_nonnull(p);
	buf_init(&r, 1024);
	(void) accepts();
	ck_assert_int_eq(clnt_pool_wait(p, "echo b1\n", 8, -1, 5000, &r, why,
					sizeof(why)), CLNT_OK);
	ck_assert_str_eq(buf_str(&r), "b1\n");
	ck_assert_int_eq(clnt_pool_wait(p, "drop b2\n", 8, -1, 5000, &r, why,
					sizeof(why)), CLNT_OK);
	ck_assert_str_eq(buf_str(&r), "b2\n");
	ck_assert_int_eq(accepts(), 2);
	ck_assert_int_eq(clnt_pool_wait(p, "slow 1000 z\n", 12, -1, 50, &r, why,
					sizeof(why)), CLNT_TIMEOUT);
	ck_assert_uint_eq(clnt_pool_conns(p), 0);
	buf_free(&r);
	clnt_pool_free(p);
}
END_TEST

START_TEST(frames)
{
	char    why[100];

	ck_assert_int_eq(clnt_frame_line("ab\ncd", 5, 100, why, sizeof(why)), 3);
	ck_assert_int_eq(clnt_frame_line("abcd", 4, 100, why, sizeof(why)), 0);
	ck_assert_int_eq(clnt_frame_line("abcd", 4, 4, why, sizeof(why)), -1);
	ck_assert_int_eq(clnt_frame_para("a=1\n\nx", 6, 100, why, sizeof(why)), 5);
	ck_assert_int_eq(clnt_frame_para("\n", 1, 100, why, sizeof(why)), 1);
	ck_assert_int_eq(clnt_frame_para("a=1\nb", 5, 100, why, sizeof(why)), 0);
	ck_assert_int_eq(clnt_frame_para("a=1\nb", 5, 5, why, sizeof(why)), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("clnt_pool");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, reply_and_reuse);
	tcase_add_test(tc, bound_and_queue);
	tcase_add_test(tc, deadline_and_cancel);
	tcase_add_test(tc, resend_once);
	tcase_add_test(tc, conversation_resend);
	tcase_add_test(tc, unclean_and_malformed);
	tcase_add_test(tc, connect_failure);
	tcase_add_test(tc, conversation);
	tcase_add_test(tc, greeting_and_tcp);
	tcase_add_test(tc, blocking_form);
	tcase_add_test(tc, frames);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
