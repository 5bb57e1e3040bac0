/*
 * cleanup_clnt_test - check suite for lib/svc/cleanup_clnt's kept
 * connections: the event-loop pool (reuse, the idle limit in time and
 * in number, a connection cleanup closed between requests, a malformed
 * or missing answer, cancellation) and cleanup_submit() with
 * cleanup_clnt_keep().  The cleanup service is played by a child
 * process on a UNIX socket in a temporary directory; it reports each
 * accept ('A'), request ('R') and end of connection ('E') on a pipe,
 * so the tests count connections the way cleanup would see them.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"

#include "cleanup_clnt.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "qid.h"
#include "str.h"

enum mode {
	M_NORMAL,		/* answer every request, keep the connection */
	M_CLOSE,		/* close the connection after each answer */
	M_GARBAGE,		/* answer with a malformed reply */
	M_SILENT,		/* read the request, never answer */
	M_DROP_SECOND,		/* close without an answer at the 2nd request */
	M_TWO_QIDS,		/* with CLEANUP_F_ANNOUNCE: the queue ID twice */
};

static char dir[64], sock_path[128];
static pid_t server_pid = -1;
static int report_fd = -1;		/* test side of the report pipe */
static struct ev_loop *loop;

/* note - one report byte to the test */
static void
note(int rep, char c)
{
	if (write(rep, &c, 1) != 1)
		_exit(2);
}

/* serve_conn - one connection, in its own process */
static _Noreturn void
serve_conn(int fd, int rep, enum mode mode)
{
	struct ipc_in in;

	ipc_in_init(&in);
	for (int nreq = 1;; nreq++) {
		struct ipc_msg m;
		char    qid[QID_LEN + 1];
		int     cfd = -1, r;

		r = ipc_recv(fd, &in, &cfd, -1);
		if (r != 0)
			break;
		if (cfd >= 0)
			close(cfd);
		note(rep, 'R');
		qid_new(qid);
		if (in.type == CLEANUP_REQ_SUBMIT) {
			uint64_t flags = 0;

			(void) ipc_get_num(&in, "flags", &flags);
			if (flags & CLEANUP_F_ANNOUNCE) {
				/* The queue ID first, then the client's confirmation. */
				for (int k = 0; k < (mode == M_TWO_QIDS ? 2 : 1); k++) {
					ipc_msg_init(&m, CLEANUP_REP_QID);
					(void) ipc_put_str(&m, "queue_id", qid);
					r = ipc_send(fd, &m, -1, 5000);
					ipc_msg_free(&m);
				}
				if (ipc_recv(fd, &in, &cfd, -1) != 0
				    || in.type != CLEANUP_REQ_LOGGED)
					break;
				if (mode == M_TWO_QIDS) {
					/* Until the client gives up on us. */
					(void) ipc_recv(fd, &in, &cfd, -1);
					break;
				}
				note(rep, 'L');
			}
		}
		if (mode == M_DROP_SECOND && nreq == 2)
			break;
		if (mode == M_SILENT) {
			pause();
			break;
		}
		ipc_msg_init(&m, CLEANUP_REP);
		if (mode == M_GARBAGE) {
			(void) ipc_put_str(&m, "nonsense", "x");
		} else {
			(void) ipc_put_num(&m, "status", CLEANUP_STAT_OK);
			(void) ipc_put_str(&m, "queue_id", qid);
			(void) ipc_put_str(&m, "reason", "");
		}
		r = ipc_send(fd, &m, -1, 5000);
		ipc_msg_free(&m);
		if (r < 0 || mode == M_CLOSE)
			break;
	}
	note(rep, 'E');
	_exit(0);
}

/* start_server - a fake cleanup service in a child process */
static void
start_server(enum mode mode)
{
	int     p[2], lfd;

	(void) str_copy(dir, sizeof(dir), "/tmp/cleanup_clnt_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void) str_fmt(sock_path, sizeof(sock_path), "%s/cleanup", dir);
	lfd = ipc_listen(sock_path, 0600, 16);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(pipe(p), 0);
	server_pid = fork();
	ck_assert_int_ge(server_pid, 0);
	if (server_pid == 0) {
		close(p[0]);
		signal(SIGCHLD, SIG_IGN);	/* no zombies */
		(void) fcntl(lfd, F_SETFL, 0);	/* blocking accept */
		for (;;) {
			int     fd = accept(lfd, NULL, NULL);

			if (fd < 0)
				continue;
			note(p[1], 'A');
			if (fork() == 0) {
				close(lfd);
				serve_conn(fd, p[1], mode);
			}
			close(fd);
		}
	}
	close(p[1]);
	close(lfd);
	report_fd = p[0];
	cleanup_clnt_set_path(sock_path);
	loop = ev_loop_new();
}

static void
stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
	server_pid = -1;
	if (sock_path[0])
		(void) unlink(sock_path);
	if (dir[0])
		(void) rmdir(dir);
}

/* count - the server's reports of kind c so far, waiting up to ms for want */
static int
count(char c, int want, int ms)
{
	static char seen[4096];
	static size_t nseen;
	uint64_t end = ev_time_ms() + (uint64_t) ms;
	int     n;

	for (;;) {
		struct pollfd pfd = {.fd = report_fd, .events = POLLIN};
		uint64_t now = ev_time_ms();

		n = 0;
		for (size_t i = 0; i < nseen; i++)
			n += seen[i] == c;
		if (n >= want || now >= end)
			return n;
		if (poll(&pfd, 1, (int) (end - now)) > 0) {
			ssize_t k = read(report_fd, seen + nseen, sizeof(seen) - nseen);

			if (k > 0)
				nseen += (size_t) k;
		}
	}
}

struct result {
	bool	done;
	bool	answered;
	struct cleanup_result res;
};

static void
on_done(void *ctx, const struct cleanup_result *res, bool answered)
{
	struct result *r = ctx;

	r->done = true;
	r->answered = answered;
	r->res = *res;
}

/* run_until - drive the loop until *flag or ms pass */
static void
run_until(const bool *flag, int ms)
{
	uint64_t end = ev_time_ms() + (uint64_t) ms;

	while ((flag == NULL || !*flag) && ev_time_ms() < end)
		(void) ev_run_once(loop, 20);
}

static int
content(void)
{
	char    path[] = "/tmp/cleanup_clnt_content.XXXXXX";
	int     fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	(void) unlink(path);
	ck_assert_int_eq(write(fd, "Subject: x\n\nbody\n", 17), 17);
	return fd;
}

static const struct cleanup_rcpt_in rcpt = {.addr = "bob@example.com"};
static const struct cleanup_envelope env = {
	.length = 17, .uid = -1, .sender = "alice@example.org",
	.rcpts = &rcpt, .nrcpts = 1,
};

/* submit - one submission through the pool, to its end */
static struct result
submit(struct cleanup_pool *p, int fd)
{
	struct result r = {0};
	struct cleanup_call *c = cleanup_pool_submit(p, &env, fd, on_done, &r, &r.res);

	ck_assert_msg(c != NULL, "submit failed: %s", r.res.reason);
	run_until(&r.done, 5000);
	ck_assert_msg(r.done, "no result within 5 s");
	return r;
}

/* receive_override_options: Postfix's words, any separators, no others. */
START_TEST(test_overrides_parse)
{
	struct cleanup_overrides o;
	char	why[300];

	ck_assert_int_eq(cleanup_overrides_parse("", &o, why, sizeof(why)), 0);
	ck_assert_uint_eq(o.flags, 0);
	ck_assert(!o.no_unknown_rcpt);
	ck_assert_int_eq(cleanup_overrides_parse("no_unknown_recipient_checks, "
						 "no_header_body_checks\tno_milters,"
						 "NO_ADDRESS_MAPPINGS", &o, why,
						 sizeof(why)), 0);
	ck_assert_uint_eq(o.flags, CLEANUP_F_NO_CHECKS | CLEANUP_F_NO_MAPS);
	ck_assert(o.no_unknown_rcpt);
	ck_assert_int_eq(cleanup_overrides_parse("no_milters", &o, why, sizeof(why)), 0);
	ck_assert_uint_eq(o.flags, 0);
	ck_assert_int_eq(cleanup_overrides_parse("no_address_mappings, no_such_thing", &o,
						 why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "\"no_such_thing\"") != NULL, "%s", why);
}
END_TEST

START_TEST(test_pool_reuses_a_connection)
{
	struct cleanup_pool *p;
	int     fd = content();

	start_server(M_NORMAL);
	p = cleanup_pool_new(loop, 4, 10000);
	for (int i = 0; i < 5; i++) {
		struct result r = submit(p, fd);

		ck_assert(r.answered);
		ck_assert_int_eq(r.res.status, CLEANUP_STAT_OK);
		ck_assert(qid_valid(r.res.queue_id));
		ck_assert_uint_eq(cleanup_pool_idle(p), 1);
	}
	ck_assert_int_eq(count('R', 5, 2000), 5);
	ck_assert_int_eq(count('A', 2, 200), 1);	/* one connection for all */
	cleanup_pool_free(p);
	ck_assert_int_eq(count('E', 1, 2000), 1);	/* closed by free */
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_pool_closes_idle_connections)
{
	struct cleanup_pool *p;
	struct result r;
	int     fd = content();

	start_server(M_NORMAL);
	p = cleanup_pool_new(loop, 4, 200);
	r = submit(p, fd);
	ck_assert(r.answered);
	ck_assert_uint_eq(cleanup_pool_idle(p), 1);
	run_until(NULL, 100);
	ck_assert_uint_eq(cleanup_pool_idle(p), 1);	/* not yet */
	run_until(NULL, 400);
	ck_assert_uint_eq(cleanup_pool_idle(p), 0);
	ck_assert_int_eq(count('E', 1, 2000), 1);	/* cleanup may retire */
	/* The next message opens a new connection. */
	r = submit(p, fd);
	ck_assert(r.answered);
	ck_assert_int_eq(count('A', 2, 2000), 2);
	cleanup_pool_free(p);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_pool_bounds_idle_connections)
{
	struct result r[7];
	struct cleanup_call *c[7];
	struct cleanup_pool *p;
	int     fd = content(), ndone;

	start_server(M_NORMAL);
	p = cleanup_pool_new(loop, 4, 10000);
	/* Seven at once: seven connections, four of them kept afterwards. */
	for (int i = 0; i < 7; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		c[i] = cleanup_pool_submit(p, &env, fd, on_done, &r[i], &r[i].res);
		ck_assert_ptr_nonnull(c[i]);
	}
	for (uint64_t end = ev_time_ms() + 5000; ev_time_ms() < end;) {
		ndone = 0;
		for (int i = 0; i < 7; i++)
			ndone += r[i].done;
		if (ndone == 7)
			break;
		(void) ev_run_once(loop, 20);
	}
	for (int i = 0; i < 7; i++)
		ck_assert(r[i].done && r[i].answered);
	ck_assert_int_eq(count('A', 7, 2000), 7);
	ck_assert_uint_eq(cleanup_pool_idle(p), 4);
	ck_assert_int_eq(count('E', 3, 2000), 3);
	cleanup_pool_free(p);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_pool_retries_a_connection_closed_between_requests)
{
	struct cleanup_pool *p;
	int     fd = content();

	/* cleanup closes after each answer (max_use, SIGTERM): no failure. */
	start_server(M_CLOSE);
	p = cleanup_pool_new(loop, 4, 10000);
	for (int i = 0; i < 3; i++) {
		struct result r = {0};
		struct cleanup_call *c;

		/* Submit before the loop has seen the close: the stale case. */
		c = cleanup_pool_submit(p, &env, fd, on_done, &r, &r.res);
		ck_assert_ptr_nonnull(c);
		run_until(&r.done, 5000);
		ck_assert_msg(r.done && r.answered && r.res.status == CLEANUP_STAT_OK,
			      "message %d: %s", i, r.res.reason);
		ck_assert_int_eq(count('E', i + 1, 2000), i + 1);
	}
	ck_assert_int_eq(count('R', 3, 2000), 3);	/* each sent and taken once */
	ck_assert_int_eq(count('A', 3, 2000), 3);
	cleanup_pool_free(p);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_pool_resends_once_when_a_kept_connection_dies)
{
	struct cleanup_pool *p;
	struct result r;
	int     fd = content();

	/* Sent on a kept connection that then closes without a byte. */
	start_server(M_DROP_SECOND);
	p = cleanup_pool_new(loop, 4, 10000);
	r = submit(p, fd);
	ck_assert(r.answered);
	r = submit(p, fd);
	ck_assert_msg(r.answered && r.res.status == CLEANUP_STAT_OK, "%s", r.res.reason);
	ck_assert_int_eq(count('A', 2, 2000), 2);
	ck_assert_int_eq(count('R', 3, 2000), 3);
	/* The new connection is kept; its second request dies too: resent. */
	r = submit(p, fd);
	ck_assert(r.answered);
	ck_assert_int_eq(count('A', 3, 2000), 3);
	cleanup_pool_free(p);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_pool_drops_a_connection_after_a_bad_answer)
{
	struct cleanup_pool *p;
	struct result r;
	int     fd = content();

	start_server(M_GARBAGE);
	p = cleanup_pool_new(loop, 4, 10000);
	r = submit(p, fd);
	ck_assert(!r.answered);
	ck_assert_int_eq(r.res.status, CLEANUP_STAT_TEMP);
	ck_assert_msg(strncmp(r.res.reason, "4.3.0 ", 6) == 0, "%s", r.res.reason);
	ck_assert_uint_eq(cleanup_pool_idle(p), 0);
	r = submit(p, fd);
	ck_assert(!r.answered);
	ck_assert_int_eq(count('A', 2, 2000), 2);	/* never reused */
	ck_assert_int_eq(count('R', 3, 300), 2);	/* and never resent */
	cleanup_pool_free(p);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_pool_cancel_closes_the_connection)
{
	struct cleanup_pool *p;
	struct cleanup_call *c;
	struct result r = {0};
	int     fd = content();

	start_server(M_SILENT);
	p = cleanup_pool_new(loop, 4, 10000);
	c = cleanup_pool_submit(p, &env, fd, on_done, &r, &r.res);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(count('R', 1, 2000), 1);
	run_until(&r.done, 100);
	ck_assert(!r.done);
	cleanup_pool_cancel(c);			/* the caller's deadline */
	ck_assert_uint_eq(cleanup_pool_idle(p), 0);
	run_until(NULL, 50);
	ck_assert(!r.done);			/* no callback after cancel */
	cleanup_pool_free(p);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_pool_no_service)
{
	struct cleanup_pool *p;
	struct result r = {0};

	loop = ev_loop_new();
	cleanup_clnt_set_path("/nonexistent/cleanup");
	p = cleanup_pool_new(loop, 4, 10000);
	ck_assert_ptr_nonnull(cleanup_pool_submit(p, &env, 0, on_done, &r, &r.res));
	ck_assert(!r.done);			/* never from inside the submit */
	run_until(&r.done, 5000);
	ck_assert(r.done);
	ck_assert(!r.answered);
	ck_assert_int_eq(r.res.status, CLEANUP_STAT_TEMP);
	ck_assert_msg(strstr(r.res.reason, "cannot connect") != NULL, "%s", r.res.reason);
	cleanup_pool_free(p);
}
END_TEST

/* The queue ID first: announced before the answer, then the same ID. */
struct told {
	char	qid[CLEANUP_QID_MAX + 1];
	int	n;
	const bool *done;		/* the call's end, not yet when told */
	bool	early;
};

static void
on_announced(void *ctx, const char *qid)
{
	struct told *t = ctx;

	(void) str_copy(t->qid, sizeof(t->qid), qid);
	t->n++;
	t->early = t->done == NULL || !*t->done;
	/* The server waits for our confirmation: nothing confirmed yet. */
	ck_assert_int_eq(count('L', t->n, 0), t->n - 1);
}

START_TEST(test_announce_pool)
{
	struct cleanup_pool *p;
	int     fd = content();

	start_server(M_NORMAL);
	p = cleanup_pool_new(loop, 4, 60000);
	for (int i = 1; i <= 2; i++) {
		struct result r = {0};
		struct told t = {.done = &r.done};
		struct cleanup_envelope e = env;
		struct cleanup_call *c;

		t.n = i - 1;
		e.announced = on_announced;
		e.announced_ctx = &t;
		c = cleanup_pool_submit(p, &e, fd, on_done, &r, &r.res);
		ck_assert_ptr_nonnull(c);
		run_until(&r.done, 5000);
		ck_assert(r.done && r.answered);
		ck_assert_int_eq(r.res.status, CLEANUP_STAT_OK);
		ck_assert_int_eq(t.n, i);
		ck_assert(t.early);
		ck_assert_str_eq(t.qid, r.res.queue_id);
		ck_assert_int_eq(count('L', i, 2000), i);
	}
	/* The conversation gave its connection back: one for both. */
	ck_assert_int_eq(count('A', 2, 200), 1);
	cleanup_pool_free(p);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_announce_blocking)
{
	struct cleanup_result res;
	struct told t = {0};
	struct cleanup_envelope e = env;
	int     fd = content();

	start_server(M_NORMAL);
	e.announced = on_announced;
	e.announced_ctx = &t;
	ck_assert_int_eq(cleanup_submit(&e, fd, &res), CLEANUP_STAT_OK);
	ck_assert_int_eq(t.n, 1);
	ck_assert_str_eq(t.qid, res.queue_id);
	ck_assert_int_eq(count('L', 1, 2000), 1);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_announce_twice_is_a_failure)
{
	struct cleanup_result res;
	struct told t = {0};
	struct cleanup_envelope e = env;
	int     fd = content();

	start_server(M_TWO_QIDS);
	e.announced = on_announced;
	e.announced_ctx = &t;
	/* Whether the second comes with the first (spoken out of turn) or
	 * after the confirmation, the submission fails, announced once. */
	ck_assert_int_eq(cleanup_submit(&e, fd, &res), CLEANUP_STAT_TEMP);
	ck_assert_msg(strncmp(res.reason, "4.3.0 ", 6) == 0, "%s", res.reason);
	ck_assert_int_eq(t.n, 1);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_submit_keeps_its_connection)
{
	struct cleanup_result res;
	int     fd = content();

	start_server(M_NORMAL);
	cleanup_clnt_keep(true);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(cleanup_submit(&env, fd, &res), CLEANUP_STAT_OK);
	ck_assert_int_eq(count('R', 4, 2000), 4);
	ck_assert_int_eq(count('A', 2, 200), 1);
	cleanup_clnt_release();
	ck_assert_int_eq(count('E', 1, 2000), 1);
	ck_assert_int_eq(cleanup_submit(&env, fd, &res), CLEANUP_STAT_OK);
	ck_assert_int_eq(count('A', 2, 2000), 2);
	cleanup_clnt_keep(false);		/* closes the kept one */
	ck_assert_int_eq(count('E', 2, 2000), 2);
	/* Without keep: one connection per message. */
	ck_assert_int_eq(cleanup_submit(&env, fd, &res), CLEANUP_STAT_OK);
	ck_assert_int_eq(count('E', 3, 2000), 3);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_submit_retries_a_closed_kept_connection)
{
	struct cleanup_result res;
	int     fd = content();

	start_server(M_CLOSE);
	cleanup_clnt_keep(true);
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(cleanup_submit(&env, fd, &res) == CLEANUP_STAT_OK,
			      "message %d: %s", i, res.reason);
		ck_assert_int_eq(count('E', i + 1, 2000), i + 1);
	}
	ck_assert_int_eq(count('R', 4, 300), 3);
	cleanup_clnt_keep(false);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(test_submit_never_retries_after_an_answer)
{
	struct cleanup_result res;
	int     fd = content();

	start_server(M_GARBAGE);
	cleanup_clnt_keep(true);
	ck_assert_int_eq(cleanup_submit(&env, fd, &res), CLEANUP_STAT_TEMP);
	ck_assert_int_eq(cleanup_submit(&env, fd, &res), CLEANUP_STAT_TEMP);
	ck_assert_int_eq(count('A', 2, 2000), 2);	/* the bad one was closed */
	ck_assert_int_eq(count('R', 3, 300), 2);
	cleanup_clnt_keep(false);
	close(fd);
	stop_server();
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("cleanup_clnt");
	TCase  *tc = tcase_create("pool");

	signal(SIGPIPE, SIG_IGN);
	log_init("cleanup_clnt_test", LOG_DEST_STDERR);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_overrides_parse);
	tcase_add_test(tc, test_pool_reuses_a_connection);
	tcase_add_test(tc, test_pool_closes_idle_connections);
	tcase_add_test(tc, test_pool_bounds_idle_connections);
	tcase_add_test(tc, test_pool_retries_a_connection_closed_between_requests);
	tcase_add_test(tc, test_pool_resends_once_when_a_kept_connection_dies);
	tcase_add_test(tc, test_pool_drops_a_connection_after_a_bad_answer);
	tcase_add_test(tc, test_pool_cancel_closes_the_connection);
	tcase_add_test(tc, test_pool_no_service);
	tcase_add_test(tc, test_submit_keeps_its_connection);
	tcase_add_test(tc, test_submit_retries_a_closed_kept_connection);
	tcase_add_test(tc, test_submit_never_retries_after_an_answer);
	tcase_add_test(tc, test_announce_pool);
	tcase_add_test(tc, test_announce_blocking);
	tcase_add_test(tc, test_announce_twice_is_a_failure);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
