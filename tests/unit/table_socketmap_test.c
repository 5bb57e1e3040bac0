/*
 * table_socketmap_test - check suite for lib/table/table_socketmap: the
 * Sendmail socket map protocol against a server played by a child
 * process (UNIX socket and TCP): found, not found, the server's
 * failures, a malformed reply, keys lowercased, a kept connection, the
 * spec syntax, and lookups as events (table_get_async()) that answer
 * from the loop while a slow one waits.
 *
 * The server reads netstrings "map key" and answers: "found..." ->
 * "OK value-of-<key>", "temp..." -> "TEMP busy", "bad..." -> garbage,
 * "slow..." -> after 300 ms "OK slow", anything else "NOTFOUND ".  It
 * writes 'A' on a pipe for each connection it accepts.
 */
#include <check.h>
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
#include "table_get.h"
#include "scratch.h"

#include "buf.h"
#include "event.h"
#include "log.h"
#include "str.h"
#include "table.h"

static char dir[] = "/tmp/table_socketmap_test.XXXXXX";
static char uspec[200], ispec[100];
static pid_t servers[2];
static int report = -1;

static int
readn(int fd, char *b, size_t n)
{
	size_t  got = 0;

	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);

		if (r <= 0)
			return -1;
		got += (size_t) r;
	}
	return 0;
}

static void
reply(int fd, const char *s)
{
	char    out[600];
	int     n = snprintf(out, sizeof(out), "%zu:%s,", strlen(s), s);

	if (write(fd, out, (size_t) n) != n)
		_exit(3);
}

static _Noreturn void
serve(int fd)
{
	for (;;) {
		char    len[16], req[600], out[700];
		size_t  k = 0, n;

		while (k < sizeof(len) - 1 && readn(fd, len + k, 1) == 0 && len[k] != ':')
			k++;
		if (k == 0 || len[k] != ':')
			_exit(0);
		len[k] = '\0';
		n = strtoul(len, NULL, 10);
		if (n >= sizeof(req) || readn(fd, req, n + 1) < 0)
			_exit(0);
		req[n] = '\0';
		{
			const char *key = strchr(req, ' ') ? strchr(req, ' ') + 1 : "";

			if (strncmp(req, "themap ", 7) != 0)
				reply(fd, "PERM unknown map");
			else if (strncmp(key, "found", 5) == 0) {
				(void) snprintf(out, sizeof(out), "OK value-of-%s", key);
				reply(fd, out);
			} else if (strncmp(key, "temp", 4) == 0)
				reply(fd, "TEMP busy");
			else if (strncmp(key, "bad", 3) == 0) {
				if (write(fd, "xx", 2) < 0)
					_exit(3);
			} else if (strncmp(key, "slow", 4) == 0) {
				struct timespec ts = {0, 300 * 1000000L};

				nanosleep(&ts, NULL);
				reply(fd, "OK slow");
			} else
				reply(fd, "NOTFOUND ");
		}
	}
}

static pid_t
server(int lfd)
{
	pid_t   pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid > 0) {
		close(lfd);
		return pid;
	}
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int     fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (write(report, "A", 1) != 1)
			_exit(2);
		if (fork() == 0)
			serve(fd);
		close(fd);
	}
}

static void
setup(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int     pfd[2], u, t;

	log_init("table_socketmap_test", 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(pipe(pfd), 0);
	report = pfd[1];
	(void) str_fmt(sun.sun_path, sizeof(sun.sun_path), "%s/sock", dir);
	u = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(u, (struct sockaddr *) &sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(u, 8), 0);
	(void) str_fmt(uspec, sizeof(uspec), "socketmap:unix:%s:themap", sun.sun_path);
	t = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(t, (struct sockaddr *) &sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(t, 8), 0);
	ck_assert_int_eq(getsockname(t, (struct sockaddr *) &sin, &sl), 0);
	(void) str_fmt(ispec, sizeof(ispec), "socketmap:inet:localhost:%u:themap",
		       ntohs(sin.sin_port));
	servers[0] = server(u);
	servers[1] = server(t);
	close(report);
	report = pfd[0];
}

static void
teardown(void)
{
	for (int i = 0; i < 2; i++) {
		kill(servers[i], SIGKILL);
		waitpid(servers[i], NULL, 0);
	}
	close(report);
	scratch_remove(dir, "/tmp/table_socketmap_test.");
	(void) str_copy(dir, sizeof(dir), "/tmp/table_socketmap_test.XXXXXX");
}

static int
accepts(void)
{
	struct pollfd p = {.fd = report, .events = POLLIN};
	struct timespec ts = {0, 30 * 1000000L};
	char    b[32];
	int     n = 0;

	nanosleep(&ts, NULL);
	while (poll(&p, 1, 0) == 1) {
		ssize_t r = read(report, b, sizeof(b));

		if (r <= 0)
			break;
		n += (int) r;
	}
	return n;
}

START_TEST(test_blocking)
{
	char    err[TABLE_ERROR_MAX];
	struct table *t = table_open(uspec, 0, err, sizeof(err));
	struct table *i = table_open(ispec, 0, err, sizeof(err));

	ck_assert_msg(t != NULL && i != NULL, "%s", err);
	(void) accepts();
	ck_assert_str_eq(get(t, "found1"), "value-of-found1");
	ck_assert_str_eq(get(t, "FOUND2"), "value-of-found2");	/* lowercased */
	ck_assert_str_eq(get(t, "other"), "-");
	ck_assert_int_eq(accepts(), 1);			/* one kept connection */
	ck_assert_msg(strstr(get(t, "temp1"), "the server said: TEMP busy") != NULL,
		      "%s", get(t, "temp1"));
	ck_assert_msg(get(t, "bad1")[0] == '!', "%s", get(t, "bad1"));
	ck_assert_str_eq(get(t, "found3"), "value-of-found3");	/* a new connection */
	ck_assert_str_eq(get(i, "found4"), "value-of-found4");	/* TCP, name resolved */
	table_close(t);
	table_close(i);
	ck_assert_ptr_null(table_open("socketmap:inet:127.0.0.1:themap", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "socketmap:inet:HOST:PORT:NAME"));
	ck_assert_ptr_null(table_open("socketmap:tcp:x:1:m", 0, err, sizeof(err)));
}
END_TEST

struct res {
	int	done;
	int	r;
	char	why[300];
};

static void
on_done(void *ctx, int r, const char *why)
{
	struct res *x = ctx;

	x->done++;
	x->r = r;
	(void) str_copy(x->why, sizeof(x->why), why);
}

START_TEST(test_async)
{
	char    err[TABLE_ERROR_MAX];
	struct table *t = table_open(uspec, 0, err, sizeof(err));
	struct ev_loop *loop = ev_loop_new();
	struct table_call *c1, *c2, *c3;
	struct res slow = {0}, fast = {0}, gone = {0};
	struct buf v1, v2, v3;

	ck_assert_ptr_nonnull(t);
	ck_assert(table_remote(t));
	buf_init(&v1, TABLE_VALUE_MAX);
	buf_init(&v2, TABLE_VALUE_MAX);
	buf_init(&v3, TABLE_VALUE_MAX);
	ck_assert_int_eq(table_get_async(t, "slow1", &v1, loop, on_done, &slow, &c1),
			 TABLE_PENDING);
	ck_assert_int_eq(table_get_async(t, "Found5", &v2, loop, on_done, &fast, &c2),
			 TABLE_PENDING);
	ck_assert_int_eq(table_get_async(t, "found6", &v3, loop, on_done, &gone, &c3),
			 TABLE_PENDING);
	table_call_cancel(t, c3);
	/* The fast answer comes while the slow one still waits. */
	for (int i = 0; i < 200 && !fast.done; i++)
		(void) ev_run_once(loop, 10);
	ck_assert_int_eq(fast.done, 1);
	ck_assert_int_eq(slow.done, 0);
	ck_assert_int_eq(fast.r, 1);
	ck_assert_str_eq(buf_str(&v2), "value-of-found5");
	for (int i = 0; i < 200 && !slow.done; i++)
		(void) ev_run_once(loop, 10);
	ck_assert_int_eq(slow.r, 1);
	ck_assert_str_eq(buf_str(&v1), "slow");
	for (int i = 0; i < 10; i++)
		(void) ev_run_once(loop, 10);
	ck_assert_int_eq(gone.done, 0);		/* cancelled */
	buf_free(&v1);
	buf_free(&v2);
	buf_free(&v3);
	table_close(t);
	ev_loop_free(loop);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("table_socketmap");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_blocking);
	tcase_add_test(tc, test_async);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
