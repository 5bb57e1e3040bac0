/*
 * local_command_test - check suite for local/local_command.c: a
 * command runs as the given user (never root) with the message on its
 * input and a clean environment; exit codes map to results; the time
 * limit kills the whole process group; output is bounded; a command
 * that leaves a background child or reads nothing does not hang the
 * delivery.  Needs root (it drops to nobody, 65534).
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"

#include "buf.h"
#include "../../local/local.h"
#include "safefile.h"
#include "str.h"

#define NOBODY	65534

static char dir[] = "/tmp/local_command_test.XXXXXX";
static struct local_msg msg;

static void
setup(void)
{
	char    path[300];
	int     fd;

	ck_assert_msg(geteuid() == 0, "this suite needs root: it drops to nobody");
	signal(SIGPIPE, SIG_IGN);		/* as server_main() has it */
	(void) str_copy(dir, sizeof(dir), "/tmp/local_command_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	(void) str_fmt(path, sizeof(path), "%s/q", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_eq(sf_write_all(fd, "Subject: s\nbody\n", 16), 0);
	memset(&msg, 0, sizeof(msg));
	msg.qfd = fd;
	msg.queue_id = "0PZ1K8Q3F7M2W9X";
	msg.sender = "a@b.org";
	msg.rcpt = "bob@example.com";
	msg.hdr_off = 0;
	msg.hdr_len = 11;
	msg.body_off = 11;
	msg.body_len = 5;
}

static void
teardown(void)
{
	(void) close(msg.qfd);
	scratch_remove(dir, "/tmp/local_command_test.");
}

static char *env_default[] = {"PATH=/usr/bin:/bin", "SENDER=a@b.org", NULL};

static void
run(const char *command, uint64_t limit, size_t outmax, struct local_result *r,
    struct buf *out)
{
	struct local_command c;

	memset(&c, 0, sizeof(c));
	c.command = command;
	c.uid = NOBODY;
	c.gid = NOBODY;
	c.cwd = dir;
	c.envp = env_default;
	c.time_limit = limit;
	c.output_limit = outmax;
	local_command_run(&c, &msg, msg.rcpt, r, out);
}

/* alive - the process exists and is not a zombie */
static bool
alive(pid_t pid)
{
	char    path[64], st[256], *p;
	FILE   *f;
	size_t  n;

	if (kill(pid, 0) < 0)
		return false;
	(void) str_fmt(path, sizeof(path), "/proc/%ld/stat", (long) pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(st, 1, sizeof(st) - 1, f);
	fclose(f);
	st[n] = '\0';
	p = strrchr(st, ')');
	return p == NULL || p[2] != 'Z';
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

START_TEST(test_success_input_identity)
{
	struct local_result r;
	struct buf out;
	char    cmd[512], path[300];
	int     fd;
	char    data[256];
	ssize_t n;

	buf_init(&out, 4096);
	(void) str_fmt(path, sizeof(path), "%s/in", dir);
	(void) str_fmt(cmd, sizeof(cmd), "cat > %s; id -u; id -g; env", path);
	run(cmd, 10, 4096, &r, &out);
	ck_assert_msg(r.status == 0, "%s %s", r.dsn, r.text);
	ck_assert_str_eq(r.dsn, "2.0.0");
	ck_assert_ptr_nonnull(strstr(r.text, "delivered to command: cat >"));
	ck_assert(strncmp(out.data, "65534\n65534\n", 12) == 0);
	ck_assert_ptr_nonnull(strstr(out.data, "SENDER=a@b.org\n"));
	ck_assert_ptr_null(strstr(out.data, "HOME=/root"));
	ck_assert_ptr_null(strstr(out.data, "POSTERN"));
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, data, sizeof(data) - 1);
	ck_assert_int_gt(n, 0);
	data[n] = '\0';
	close(fd);
	ck_assert_str_eq(data, "Return-Path: <a@b.org>\nDelivered-To: bob@example.com\n"
			 "Subject: s\n\nbody\n");
	buf_free(&out);
}
END_TEST

START_TEST(test_exit_codes)
{
	struct local_result r;
	struct buf out;

	buf_init(&out, 4096);
	run("echo try later; exit 75", 10, 4096, &r, &out);
	ck_assert_int_eq(r.status, 4);
	ck_assert_ptr_nonnull(strstr(r.text, "status 75"));
	run("echo no such user >&2; exit 67", 10, 4096, &r, &out);
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(r.dsn, "5.1.1");
	ck_assert_ptr_nonnull(strstr(r.text, "no such user"));
	/* Output lines become one line of text. */
	run("printf 'a\\r\\nb\\n\\tc'; exit 69", 10, 4096, &r, &out);
	ck_assert_int_eq(r.status, 5);
	ck_assert_ptr_nonnull(strstr(r.text, ": a b c"));
	ck_assert_ptr_null(strchr(r.text, '\n'));
	/* Killed by a signal: temporary. */
	run("kill -9 $$", 10, 4096, &r, &out);
	ck_assert_int_eq(r.status, 4);
	ck_assert_ptr_nonnull(strstr(r.text, "signal 9"));
	/* A status nobody defined: the command refused the message (Postfix). */
	run("exit 3", 10, 4096, &r, &out);
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(r.dsn, "5.3.0");
	buf_free(&out);
}
END_TEST

START_TEST(test_time_limit_kills_group)
{
	struct local_result r;
	struct buf out;
	char    cmd[512], path[300], pid[32];
	double  t0 = now();
	int     fd;
	ssize_t n;
	long long p;

	buf_init(&out, 4096);
	(void) str_fmt(path, sizeof(path), "%s/pid", dir);
	(void) str_fmt(cmd, sizeof(cmd), "sleep 60 & echo $! > %s; sleep 60", path);
	run(cmd, 1, 4096, &r, &out);
	ck_assert_int_eq(r.status, 4);
	ck_assert_ptr_nonnull(strstr(r.text, "time limit"));
	ck_assert(now() - t0 < 5);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, pid, sizeof(pid) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	pid[n] = '\0';
	p = strtoll(pid, NULL, 10);
	ck_assert_int_gt(p, 1);
	/* The background child went with the group (gone, or a zombie). */
	for (int i = 0; i < 50 && alive((pid_t) p); i++)
		usleep(20000);
	ck_assert(!alive((pid_t) p));
	buf_free(&out);
}
END_TEST

START_TEST(test_background_child_does_not_hang)
{
	struct local_result r;
	struct buf out;
	double  t0 = now();

	buf_init(&out, 4096);
	/* The background sleep keeps stdout open; the delivery is done anyway. */
	run("sleep 3 & echo started", 10, 4096, &r, &out);
	ck_assert_int_eq(r.status, 0);
	ck_assert(now() - t0 < 2.5);
	buf_free(&out);
}
END_TEST

START_TEST(test_output_bound_and_unread_input)
{
	struct local_result r;
	struct buf out, body;
	char    path[300];
	int     fd;

	buf_init(&out, 4096);
	run("head -c 100000 /dev/zero | tr '\\0' x; exit 69", 10, 100, &r, &out);
	ck_assert_uint_eq(out.len, 100);
	ck_assert_int_eq(r.status, 5);
	ck_assert_uint_lt(strlen(r.text), LOCAL_TEXT_MAX);

	/* A big message to a command that reads nothing: no hang, no error. */
	buf_init(&body, 4 << 20);
	while (body.len < 2 << 20)
		(void) buf_puts(&body, "0123456789abcdef0123456789abcdef\n");
	(void) str_fmt(path, sizeof(path), "%s/big", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_eq(sf_write_all(fd, "Subject: big\n", 13), 0);
	ck_assert_int_eq(sf_write_all(fd, body.data, body.len), 0);
	close(msg.qfd);
	msg.qfd = fd;
	msg.hdr_len = 13;
	msg.body_off = 13;
	msg.body_len = body.len;
	run("true", 10, 100, &r, &out);
	ck_assert_msg(r.status == 0, "%s", r.text);
	run("head -c 10 > /dev/null", 10, 100, &r, &out);
	ck_assert_msg(r.status == 0, "%s", r.text);
	run("wc -c", 10, 100, &r, &out);
	ck_assert_msg(r.status == 0, "%s", r.text);
	ck_assert_int_eq(strtoll(out.data, NULL, 10),
			 (long long) (strlen("Return-Path: <a@b.org>\nDelivered-To: bob@example.com\n")
				      + 13 + 1 + body.len));
	buf_free(&out);
	buf_free(&body);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("local_command");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_success_input_identity);
	tcase_add_test(tc, test_exit_codes);
	tcase_add_test(tc, test_time_limit_kills_group);
	tcase_add_test(tc, test_background_child_does_not_hang);
	tcase_add_test(tc, test_output_bound_and_unread_input);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
