/*
 * qmgr_message_test - check suite for qmgr/qmgr_message.c with the
 * delivery and notification paths of qmgr_deliver.c and qmgr_bounce.c,
 * in a scratch queue directory, against fake agents (a private/local
 * and a private/cleanup served by child processes): corrupt files,
 * delivery and removal (the last delivery writes no status record into
 * a file about to go; a file that stays records each), deferral with
 * backoff, notifications for
 * failed and expired recipients, postmaster copies of failed
 * notifications, and resuming from recorded status.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "fake_agent.h"
#include "test_config.h"
#include "scratch.h"

#include "buf.h"
#include "cleanup_clnt.h"
#include "config.h"
#include "event.h"
#include "ipc.h"
#include "delivery.h"
#include "log.h"
#include "params.h"
#include "qfile.h"
#include "safefile.h"
#include "str.h"
#include "../../qmgr/qmgr.h"

static char dir[] = "/tmp/qmgr_message_test.XXXXXX";
static char cwd[1024];
static struct ev_loop *loop;
static pid_t agents[2];
static int cleanup_status;		/* what the fake cleanup answers */
static bool later_sent;			/* fake local: "later..." delivered too */

static void
setup(void)
{
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	(void) str_copy(dir, sizeof(dir), "/tmp/qmgr_message_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	test_config_load(dir, "myhostname = mx.example.com\n"
			 "mydestination = localhost, $myhostname\n"
			 "minimal_backoff_time = 300s\nmaximal_backoff_time = 4000s\n"
			 "maximal_queue_lifetime = 5d\nbounce_queue_lifetime = 5d\n");
	ck_assert_int_eq(chdir(dir), 0);
	for (const char *const *d = (const char *const[]) {"incoming", "active", "deferred",
		"corrupt", "spool", "private", NULL}; *d; d++)
		ck_assert_int_eq(mkdir(*d, 0700), 0);
	log_init("qmgr_message_test", LOG_DEST_STDERR);
	loop = ev_loop_new();
	qmgr_deliver_init(loop);
	qmgr_bounce_init(loop);
	qmgr_msg_set_stopping(false);
	agents[0] = agents[1] = 0;
	cleanup_status = 0;
	later_sent = false;
}

static void
teardown(void)
{
	for (int i = 0; i < 2; i++)
		if (agents[i] > 0) {
			(void) kill(agents[i], SIGKILL);
			(void) waitpid(agents[i], NULL, 0);
		}
	/* Connections to the fake agents go with the loop. */
	qmgr_deliver_close_idle();
	ev_loop_free(loop);
	ck_assert_int_eq(chdir(cwd), 0);
	scratch_remove(dir, "/tmp/qmgr_message_test.");
}

/* qfile - write QUEUE/QID with the given envelope and status records */
static void
qfile(const char *queue, const char *qid, const char *sender, const char *const *rcpts,
      time_t arrival, const char *const *status)
{
	char    path[300];
	struct qfile_writer w;
	struct timeval tv = {arrival, 123456};
	const char *hdr = "Subject: test\nFrom: someone@example.org\n";
	const char *body = "hello\n";
	int     fd;

	(void) str_fmt(path, sizeof(path), "%s/%s", queue, qid);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	qfile_writer_init(&w, fd);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_VERSION, QFILE_VERSION), 0);
	ck_assert_int_eq(qfile_put_time(&w, &tv), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_QID, qid), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_SENDER, sender), 0);
	for (int i = 0; rcpts[i]; i++)
		ck_assert_int_eq(qfile_put_str(&w, QF_REC_RCPT, rcpts[i]), 0);
	ck_assert_int_eq(qfile_put(&w, QF_REC_HEADER, hdr, strlen(hdr)), 0);
	ck_assert_int_eq(qfile_put(&w, QF_REC_BODY, body, strlen(body)), 0);
	ck_assert_int_eq(qfile_put(&w, QF_REC_END, NULL, 0), 0);
	ck_assert_int_eq(qfile_finish(&w), 0);
	qfile_writer_free(&w);
	(void) close(fd);
	if (status) {
		fd = open(path, O_WRONLY | O_APPEND);
		for (int i = 0; status[i]; i++)
			ck_assert_int_eq(qfile_append_status(fd, status[i][0], status[i] + 1), 0);
		(void) close(fd);
	}
}

/*
 * fake_local - answer n requests with status/dsn/reason (a recipient
 * whose address starts with "later" gets 4.2.0 unless later_sent), on as many
 * connections at once as qmgr opens; log each "QID RCPT INDEX".
 */
#define FAKE_CONNS	16

static int fake_status;
static const char *fake_dsn, *fake_reason;

static int
fake_decide(const char *rcpt, const char **dsn, const char **text)
{
	if (!later_sent && strncmp(rcpt, "later", 5) == 0) {
		*dsn = "4.2.0";
		*text = "try later";
		return DELIVERY_DEFER;
	}
	*dsn = fake_dsn;
	*text = fake_reason;
	return fake_status;
}

static void
fake_local(int n, int status, const char *dsn, const char *reason)
{
	int     lfd = ipc_listen("private/local", 0600, 16);

	ck_assert_int_ge(lfd, 0);
	fake_status = status;
	fake_dsn = dsn;
	fake_reason = reason;
	agents[0] = fork();
	ck_assert_int_ge(agents[0], 0);
	if (agents[0] > 0) {
		(void) close(lfd);
		return;
	}
	{
		struct pollfd pfd[FAKE_CONNS + 1];
		struct ipc_in in;
		int     done = 0, nc = 0;
		int     log = open("local.log", O_WRONLY | O_CREAT | O_APPEND, 0600);

		(void) fcntl(lfd, F_SETFL, 0);
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		ipc_in_init(&in);
		while (done < n) {
			if (poll(pfd, (nfds_t) nc + 1, 5000) <= 0)
				_exit(5);
			if ((pfd[0].revents & POLLIN) && nc < FAKE_CONNS) {
				int     c = fake_agent_accept(lfd, "local");

				if (c < 0)
					_exit(3);
				pfd[++nc].fd = c;
				pfd[nc].events = POLLIN;
				pfd[nc].revents = 0;
			}
			for (int i = 1; i <= nc; i++) {
				int     r;

				if (!(pfd[i].revents & (POLLIN | POLLHUP)))
					continue;
				r = fake_agent_answer(pfd[i].fd, &in, log, fake_decide, "local");
				if (r == -2)
					_exit(4);
				if (r < 0) {
					pfd[i--] = pfd[nc--];
					continue;
				}
				done++;
			}
		}
		ipc_in_free(&in);
		_exit(0);
	}
}

/* fake_cleanup - take one submission: content to bounce.txt, envelope to bounce.env */
static void
fake_cleanup(void)
{
	int     lfd = ipc_listen("private/cleanup", 0600, 16);

	ck_assert_int_ge(lfd, 0);
	agents[1] = fork();
	ck_assert_int_ge(agents[1], 0);
	if (agents[1] > 0) {
		(void) close(lfd);
		return;
	}
	{
		struct ipc_in in;
		struct ipc_msg m;
		uint64_t flags, off, len;
		const char *proto, *sender, *rcpt;
		char    buf[65536], meta[2048];
		int     c, cfd = -1, out;
		ssize_t k;

		(void) fcntl(lfd, F_SETFL, 0);
		if ((c = accept(lfd, NULL, NULL)) < 0)
			_exit(3);
		ipc_in_init(&in);
		if (ipc_recv(c, &in, &cfd, 5000) != 0
		    || ipc_get_num(&in, "flags", &flags) < 0
		    || ipc_get_num(&in, "offset", &off) < 0
		    || ipc_get_num(&in, "length", &len) < 0
		    || ipc_get_str(&in, "protocol", &proto, 100) < 0
		    || ipc_get_str(&in, "sender", &sender, 1000) < 0
		    || ipc_get_str(&in, "rcpt", &rcpt, 1000) < 0)
			_exit(4);
		out = open("bounce.txt", O_WRONLY | O_CREAT, 0600);
		while ((k = pread(cfd, buf, sizeof(buf), (off_t) off)) > 0) {
			(void) !write(out, buf, (size_t) k);
			off += (uint64_t) k;
		}
		(void) close(out);
		(void) str_fmt(meta, sizeof(meta), "flags=%llu sender=<%s> rcpt=<%s>\n",
			       (unsigned long long) flags, sender, rcpt);
		out = open("bounce.env", O_WRONLY | O_CREAT, 0600);
		(void) !write(out, meta, strlen(meta));
		(void) close(out);
		ipc_msg_init(&m, CLEANUP_REP);
		(void) ipc_put_num(&m, "status", (uint64_t) cleanup_status);
		(void) ipc_put_str(&m, "queue_id", cleanup_status ? "" : "0PZ1K8Q3F7M2W9Y");
		(void) ipc_put_str(&m, "reason", cleanup_status == 5 ? "5.3.4 message too big"
				   : cleanup_status == 4 ? "4.3.0 try later" : "");
		(void) ipc_send(c, &m, -1, 5000);
		_exit(0);
	}
}

static bool
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* run_until - run the loop until path's existence is want (max 5 s) */
static void
run_until(const char *path, bool want)
{
	for (int i = 0; i < 500 && exists(path) != want; i++)
		(void) ev_run_once(loop, 10);
	ck_assert_msg(exists(path) == want, "%s should %sexist", path, want ? "" : "not ");
}

static void
slurp(const char *path, struct buf *b)
{
	char    chunk[4096];
	int     fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	buf_reset(b);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		(void) buf_append(b, chunk, (size_t) n);
	(void) close(fd);
}

static void
read_env(const char *path, struct qfile_env *env)
{
	char    why[256];
	int     fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(qfile_read(fd, 0, NULL, NULL, env, why, sizeof(why)) == 0, "%s", why);
	(void) close(fd);
}

START_TEST(test_corrupt)
{
	int     fd = open("active/0PZ1K8Q3F7M2W9X", O_WRONLY | O_CREAT, 0600);

	ck_assert_int_eq(write(fd, "garbage\n", 8), 8);
	(void) close(fd);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), -1);
	ck_assert(exists("corrupt/0PZ1K8Q3F7M2W9X"));
	ck_assert(!exists("active/0PZ1K8Q3F7M2W9X"));
	ck_assert_uint_eq(qmgr_active_count, 0);

	/* The queue ID inside must match the name. */
	qfile("active", "0PZ1K8Q3F7M2W9Z", "a@example.org",
	      (const char *const[]) {"bob@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(rename("active/0PZ1K8Q3F7M2W9Z", "active/0PZ1K8Q3F7M2W8A"), 0);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W8A"), -1);
	ck_assert(exists("corrupt/0PZ1K8Q3F7M2W8A"));
}
END_TEST

/*
 * 2026-12 review: qmgr opened queue files with O_NOFOLLOW only.  A file
 * with a second link (a hard link to a file that lives elsewhere), one
 * of another owner, or a FIFO is not a queue file cleanup made: it goes
 * to corrupt/, unread.
 */
START_TEST(test_checked_open)
{
	qfile("active", "0PZ1K8Q3F7M2W9X", "a@example.org",
	      (const char *const[]) {"bob@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(link("active/0PZ1K8Q3F7M2W9X", "elsewhere"), 0);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), -1);
	ck_assert(exists("corrupt/0PZ1K8Q3F7M2W9X"));
	ck_assert_uint_eq(qmgr_active_count, 0);

	qfile("active", "0PZ1K8Q3F7M2W9Y", "a@example.org",
	      (const char *const[]) {"bob@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(chown("active/0PZ1K8Q3F7M2W9Y", geteuid() + 1, (gid_t) -1), 0);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9Y"), -1);
	ck_assert(exists("corrupt/0PZ1K8Q3F7M2W9Y"));

	ck_assert_int_eq(mkfifo("active/0PZ1K8Q3F7M2W9Z", 0600), 0);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9Z"), -1);
	ck_assert(exists("corrupt/0PZ1K8Q3F7M2W9Z"));
	ck_assert_uint_eq(qmgr_active_count, 0);
}
END_TEST

START_TEST(test_deliver_and_remove)
{
	struct buf b;

	fake_local(2, DELIVERY_SENT, "2.0.0", "delivered to mailbox");
	qfile("active", "0PZ1K8Q3F7M2W9X", "a@example.org",
	      (const char *const[]) {"bob@localhost", "carol@mx.example.com", NULL},
	      time(NULL), NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	ck_assert(!exists("deferred/0PZ1K8Q3F7M2W9X"));
	ck_assert_uint_eq(qmgr_active_count, 0);
	ck_assert_uint_eq(qmgr_rcpt_count, 0);
	buf_init(&b, 65536);
	slurp("local.log", &b);
	ck_assert_ptr_nonnull(strstr(b.data, "0PZ1K8Q3F7M2W9X bob@localhost 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "0PZ1K8Q3F7M2W9X carol@mx.example.com 1\n"));
	buf_free(&b);
}
END_TEST

/*
 * kept - a name that goes on showing the file at path after qmgr
 * renames or removes it: /proc/self/fd/N of a descriptor kept open
 * (a hard link would do, but qmgr refuses a queue file with two).
 */
static void
kept(const char *path, char *name, size_t size)
{
	int     fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(str_fmt(name, size, "/proc/self/fd/%d", fd), 0);
}

/* count_status - how many status records of type t the file at path has */
static int
count_status(const char *path, int t)
{
	struct qfile_env env;
	int     n = 0;

	read_env(path, &env);
	for (size_t i = 0; i < env.nrcpts; i++)
		if ((t == QF_REC_DONE && env.rcpts[i].status == QF_RCPT_DELIVERED)
		    || (t == QF_REC_DEFER && env.rcpts[i].status == QF_RCPT_DEFERRED))
			n++;
	qfile_env_free(&env);
	return n;
}

/*
 * The last delivery of a message that is then removed writes no d
 * record: the removal says it.  A descriptor kept open shows what was
 * appended to the file before it went.
 */
START_TEST(test_last_delivery_not_recorded)
{
	struct stat st0, st1;
	char    seen3[64], seen1[64];

	fake_local(4, DELIVERY_SENT, "2.0.0", "delivered to maildir");
	qfile("active", "0PZ1K8Q3F7M2W9X", "a@example.org",
	      (const char *const[]) {"a@localhost", "b@localhost", "c@localhost", NULL},
	      time(NULL), NULL);
	kept("active/0PZ1K8Q3F7M2W9X", seen3, sizeof(seen3));
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	ck_assert(!exists("deferred/0PZ1K8Q3F7M2W9X"));
	ck_assert_int_eq(count_status(seen3, QF_REC_DONE), 2);

	/* One recipient: the file is removed exactly as cleanup wrote it. */
	qfile("active", "0PZ1K8Q3F7M2W9Y", "a@example.org",
	      (const char *const[]) {"d@localhost", NULL}, time(NULL), NULL);
	kept("active/0PZ1K8Q3F7M2W9Y", seen1, sizeof(seen1));
	ck_assert_int_eq(stat(seen1, &st0), 0);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9Y"), 0);
	run_until("active/0PZ1K8Q3F7M2W9Y", false);
	ck_assert_int_eq(stat(seen1, &st1), 0);
	ck_assert_int_eq(st1.st_size, st0.st_size);
	ck_assert_int_eq(count_status(seen1, QF_REC_DONE), 0);
}
END_TEST

/* A message that stays (a recipient deferred) records every delivery. */
START_TEST(test_partial_defer_records_delivered)
{
	struct qfile_env env;
	struct buf b;
	char    seen[64];

	fake_local(4, DELIVERY_SENT, "2.0.0", "delivered to maildir");
	qfile("active", "0PZ1K8Q3F7M2W9X", "a@example.org",
	      (const char *const[]) {"a@localhost", "later@localhost", "c@localhost",
		      "d@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("deferred/0PZ1K8Q3F7M2W9X", true);
	ck_assert_uint_eq(qmgr_active_count, 0);
	read_env("deferred/0PZ1K8Q3F7M2W9X", &env);
	ck_assert_int_eq(env.rcpts[0].status, QF_RCPT_DELIVERED);
	ck_assert_int_eq(env.rcpts[1].status, QF_RCPT_DEFERRED);
	ck_assert_str_eq(env.rcpts[1].dsn, "4.2.0");
	ck_assert_int_eq(env.rcpts[2].status, QF_RCPT_DELIVERED);
	ck_assert_int_eq(env.rcpts[3].status, QF_RCPT_DELIVERED);
	qfile_env_free(&env);

	/* The next attempt delivers only the one left, and removes the file. */
	ck_assert_int_eq(unlink("local.log"), 0);
	(void) waitpid(agents[0], NULL, 0);
	agents[0] = 0;
	ck_assert_int_eq(unlink("private/local"), 0);
	qmgr_deliver_close_idle();
	later_sent = true;
	fake_local(1, DELIVERY_SENT, "2.0.0", "delivered to maildir");
	ck_assert_int_eq(rename("deferred/0PZ1K8Q3F7M2W9X", "active/0PZ1K8Q3F7M2W9X"), 0);
	kept("active/0PZ1K8Q3F7M2W9X", seen, sizeof(seen));
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	ck_assert(!exists("deferred/0PZ1K8Q3F7M2W9X"));
	buf_init(&b, 4096);
	slurp("local.log", &b);
	ck_assert_str_eq(b.data, "0PZ1K8Q3F7M2W9X later@localhost 1\n");
	buf_free(&b);
	/* Its delivery was the last: no d record for it. */
	ck_assert_int_eq(count_status(seen, QF_REC_DONE), 3);
	ck_assert_int_eq(count_status(seen, QF_REC_DEFER), 1);
}
END_TEST

START_TEST(test_defer_without_agent)
{
	struct qfile_env env;
	struct stat st;
	time_t  now = time(NULL);

	/* No private/local and no private/smtp: both deferred, not bounced. */
	qfile("active", "0PZ1K8Q3F7M2W9X", "a@example.org",
	      (const char *const[]) {"bob@localhost", "far@example.org", NULL}, now, NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	ck_assert(exists("deferred/0PZ1K8Q3F7M2W9X"));
	ck_assert_int_eq(stat("deferred/0PZ1K8Q3F7M2W9X", &st), 0);
	/* mtime = the next attempt: minimal_backoff_time from now. */
	ck_assert_int_ge(st.st_mtime, now + 299);
	ck_assert_int_le(st.st_mtime, now + 302);
	read_env("deferred/0PZ1K8Q3F7M2W9X", &env);
	ck_assert_int_eq(env.rcpts[0].status, QF_RCPT_DEFERRED);
	ck_assert_str_eq(env.rcpts[0].dsn, "4.3.0");
	ck_assert_ptr_nonnull(strstr(env.rcpts[0].reason, "cannot connect"));
	ck_assert_int_eq(env.rcpts[1].status, QF_RCPT_DEFERRED);
	ck_assert_str_eq(env.rcpts[1].dsn, "4.3.0");
	ck_assert_ptr_nonnull(strstr(env.rcpts[1].reason, "mail transport unavailable: "
				     "cannot connect to the smtp delivery agent"));
	qfile_env_free(&env);
	ck_assert_uint_eq(qmgr_active_count, 0);
}
END_TEST

/* delay_warning_time: one "delayed" notice, recorded, never a second. */
START_TEST(test_delay_warning)
{
	struct qfile_env env;
	struct buf b;

	test_config_load(dir, "myhostname = mx.example.com\n"
			 "mydestination = localhost, $myhostname\n"
			 "delay_warning_time = 1h\n");
	fake_cleanup();
	/* Two hours old; no smtp agent here: deferred again. */
	qfile("active", "0PZ1K8Q3F7M2W9X", "alice@example.org",
	      (const char *const[]) {"far@example.org", NULL}, time(NULL) - 7200, NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("deferred/0PZ1K8Q3F7M2W9X", true);
	buf_init(&b, 1 << 20);
	slurp("bounce.env", &b);
	ck_assert_str_eq(b.data, "flags=4 sender=<> rcpt=<alice@example.org>\n");
	slurp("bounce.txt", &b);
	ck_assert_ptr_nonnull(strstr(b.data, "\nSubject: Delayed Mail (still being retried)\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nAction: delayed\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nFinal-Recipient: rfc822; far@example.org\n"));
	buf_free(&b);
	read_env("deferred/0PZ1K8Q3F7M2W9X", &env);
	ck_assert(env.warned);
	ck_assert_int_eq(env.rcpts[0].status, QF_RCPT_DEFERRED);
	qfile_env_free(&env);
	/* The next attempt warns no more (no cleanup service is there now). */
	(void) unlink("bounce.txt");
	ck_assert_int_eq(qmgr_move("deferred", "0PZ1K8Q3F7M2W9X", "active"), 0);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("deferred/0PZ1K8Q3F7M2W9X", true);
	ck_assert(!exists("bounce.txt"));
}
END_TEST

START_TEST(test_bounce)
{
	struct buf b;

	fake_local(1, DELIVERY_BOUNCE, "5.1.1", "unknown user: \"nobody2\"");
	fake_cleanup();
	qfile("active", "0PZ1K8Q3F7M2W9X", "alice@example.org",
	      (const char *const[]) {"nobody2@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	ck_assert(!exists("deferred/0PZ1K8Q3F7M2W9X"));
	buf_init(&b, 1 << 20);
	slurp("bounce.env", &b);
	ck_assert_str_eq(b.data, "flags=4 sender=<> rcpt=<alice@example.org>\n");
	slurp("bounce.txt", &b);
	ck_assert_ptr_nonnull(strstr(b.data, "\nFinal-Recipient: rfc822; nobody2@localhost\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nStatus: 5.1.1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nAction: failed\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nSubject: test\n"));
	buf_free(&b);
}
END_TEST

START_TEST(test_bounce_of_bounce)
{
	struct buf b;

	fake_local(1, DELIVERY_BOUNCE, "5.1.1", "unknown user");
	fake_cleanup();
	qfile("active", "0PZ1K8Q3F7M2W9X", "",
	      (const char *const[]) {"gone@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	buf_init(&b, 1 << 20);
	slurp("bounce.env", &b);
	ck_assert_str_eq(b.data, "flags=4 sender=<double-bounce@mx.example.com> "
			 "rcpt=<postmaster>\n");
	buf_free(&b);
}
END_TEST

START_TEST(test_failed_postmaster_copy_dropped)
{
	fake_local(1, DELIVERY_BOUNCE, "5.1.1", "unknown user");
	qfile("active", "0PZ1K8Q3F7M2W9X", "double-bounce@mx.example.com",
	      (const char *const[]) {"postmaster@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	/* Nothing was sent: no cleanup service was even there. */
	ck_assert(!exists("bounce.txt"));
	ck_assert(!exists("deferred/0PZ1K8Q3F7M2W9X"));
}
END_TEST

START_TEST(test_expired)
{
	struct buf b;

	fake_cleanup();
	/* Six days old, still deferred: this attempt is the last, and its */
	/* reason (no smtp agent here: 4.3.0) is the one reported. */
	qfile("active", "0PZ1K8Q3F7M2W9X", "alice@example.org",
	      (const char *const[]) {"far@example.org", NULL}, time(NULL) - 6 * 86400,
	      (const char *const[]) {"w0 4.4.1 connect to example.org: refused", NULL});
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	ck_assert(!exists("deferred/0PZ1K8Q3F7M2W9X"));
	buf_init(&b, 1 << 20);
	slurp("bounce.txt", &b);
	ck_assert_ptr_nonnull(strstr(b.data, "\nFinal-Recipient: rfc822; far@example.org\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nAction: failed\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nStatus: 4.3.0\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "mail transport unavailable"));
	buf_free(&b);
}
END_TEST

START_TEST(test_bounce_fails_then_deferred)
{
	struct qfile_env env;

	/* No cleanup service: the failure is kept, the message waits. */
	fake_local(1, DELIVERY_BOUNCE, "5.1.1", "unknown user");
	qfile("active", "0PZ1K8Q3F7M2W9X", "alice@example.org",
	      (const char *const[]) {"x@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("deferred/0PZ1K8Q3F7M2W9X", true);
	read_env("deferred/0PZ1K8Q3F7M2W9X", &env);
	ck_assert_int_eq(env.rcpts[0].status, QF_RCPT_FAILED);
	ck_assert(!env.rcpts[0].bounced);
	qfile_env_free(&env);

	/* Next attempt: no new delivery, only the notification. */
	fake_cleanup();
	ck_assert_int_eq(rename("deferred/0PZ1K8Q3F7M2W9X", "active/0PZ1K8Q3F7M2W9X"), 0);
	ck_assert_int_eq(unlink("local.log"), 0);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	ck_assert(exists("bounce.txt"));
	ck_assert(!exists("local.log"));
}
END_TEST

START_TEST(test_bounce_refused)
{
	struct qfile_env env;

	/* Refused for now: the failure waits in deferred/ for another try. */
	fake_local(1, DELIVERY_BOUNCE, "5.1.1", "unknown user");
	cleanup_status = 4;
	fake_cleanup();
	qfile("active", "0PZ1K8Q3F7M2W9X", "alice@example.org",
	      (const char *const[]) {"x@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("deferred/0PZ1K8Q3F7M2W9X", true);
	read_env("deferred/0PZ1K8Q3F7M2W9X", &env);
	ck_assert(!env.bounced);
	qfile_env_free(&env);
	(void) waitpid(agents[1], NULL, 0);
	agents[1] = 0;
	ck_assert_int_eq(unlink("private/cleanup"), 0);

	/* Refused for good: dropped, not retried for ever. */
	cleanup_status = 5;
	fake_cleanup();
	ck_assert_int_eq(rename("deferred/0PZ1K8Q3F7M2W9X", "active/0PZ1K8Q3F7M2W9X"), 0);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	ck_assert(!exists("deferred/0PZ1K8Q3F7M2W9X"));
}
END_TEST

START_TEST(test_resume)
{
	struct buf b;

	/* Recipient 0 was delivered before a crash; 2 failed and was bounced. */
	fake_local(1, DELIVERY_SENT, "2.0.0", "delivered to maildir");
	qfile("active", "0PZ1K8Q3F7M2W9X", "alice@example.org",
	      (const char *const[]) {"a@localhost", "b@localhost", "c@localhost", NULL},
	      time(NULL), (const char *const[]) {"d0", "f2 5.1.1 unknown", "b", NULL});
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("active/0PZ1K8Q3F7M2W9X", false);
	buf_init(&b, 4096);
	slurp("local.log", &b);
	ck_assert_str_eq(b.data, "0PZ1K8Q3F7M2W9X b@localhost 1\n");
	ck_assert(!exists("bounce.txt"));
	buf_free(&b);
}
END_TEST

START_TEST(test_agent_dies)
{
	struct qfile_env env;

	/* An agent that takes the request and goes away. */
	fake_local(0, 0, "2.0.0", "");
	qfile("active", "0PZ1K8Q3F7M2W9X", "alice@example.org",
	      (const char *const[]) {"a@localhost", NULL}, time(NULL), NULL);
	ck_assert_int_eq(qmgr_msg_activate("0PZ1K8Q3F7M2W9X"), 0);
	run_until("deferred/0PZ1K8Q3F7M2W9X", true);
	read_env("deferred/0PZ1K8Q3F7M2W9X", &env);
	ck_assert_int_eq(env.rcpts[0].status, QF_RCPT_DEFERRED);
	ck_assert_str_eq(env.rcpts[0].dsn, "4.3.0");
	qfile_env_free(&env);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qmgr_message");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_corrupt);
	tcase_add_test(tc, test_checked_open);
	tcase_add_test(tc, test_deliver_and_remove);
	tcase_add_test(tc, test_last_delivery_not_recorded);
	tcase_add_test(tc, test_partial_defer_records_delivered);
	tcase_add_test(tc, test_defer_without_agent);
	tcase_add_test(tc, test_delay_warning);
	tcase_add_test(tc, test_bounce);
	tcase_add_test(tc, test_bounce_of_bounce);
	tcase_add_test(tc, test_failed_postmaster_copy_dropped);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_bounce_fails_then_deferred);
	tcase_add_test(tc, test_bounce_refused);
	tcase_add_test(tc, test_resume);
	tcase_add_test(tc, test_agent_dies);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
