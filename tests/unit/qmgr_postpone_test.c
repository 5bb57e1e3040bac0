/*
 * qmgr_postpone_test - check suite for qmgr/qmgr_postpone.c (the memory
 * of queue files postponed for busy destinations: groups per
 * destination served round-robin, busy ones passed over, a file that
 * waits for several destinations going with the first, the bound) and
 * for the admission it serves in qmgr_scan.c and qmgr_message.c, in a
 * scratch queue directory against a fake smtp agent that holds every
 * request until the test lets it answer: with a small
 * qmgr_message_active_limit, a destination with many messages fills
 * half the active queue, the rest of its messages wait in incoming/ (or
 * deferred/) unread by later scans, and a message for another
 * destination is taken at once; everything is delivered in the end,
 * each file read at most twice.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
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
#include "config.h"
#include "delivery.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "qfile.h"
#include "str.h"
#include "../../qmgr/qmgr.h"

static char dir[] = "/tmp/qmgr_postpone_test.XXXXXX";
static char cwd[1024];
static struct ev_loop *loop;
static pid_t agent;

/* ------------------------------------------------------------------ */
/* The memory of postponed files alone.                               */

static struct qmgr_transport tpa = {.name = "smtp"}, tpb = {.name = "relay"};
static uint64_t busy_hash = 1;		/* busy_one(): this destination only */

static bool
busy_one(const struct qmgr_pp_dest *d)
{
	return d->hash == busy_hash;
}

static bool
busy_all(const struct qmgr_pp_dest *d)
{
	(void) d;
	return true;
}

static void
take_is(qmgr_pp_busy_fn *busy, const char *want, int want_queue)
{
	char    qid[QID_LEN + 1];
	int     queue = -1;

	if (want == NULL) {
		ck_assert_msg(!qmgr_pp_take(busy, qid, sizeof(qid), &queue),
			      "took %s, wanted nothing", qid);
		return;
	}
	ck_assert_msg(qmgr_pp_take(busy, qid, sizeof(qid), &queue), "took nothing, "
		      "wanted %s", want);
	ck_assert_str_eq(qid, want);
	ck_assert_int_eq(queue, want_queue);
	ck_assert(!qmgr_pp_known(qid));
}

START_TEST(test_groups)
{
	struct qmgr_pp_dest a = {&tpa, 1}, b = {&tpa, 2}, c = {&tpb, 1};
	struct qmgr_pp_dest ac[] = {{&tpa, 1}, {&tpb, 1}, {&tpa, 1}};

	test_config_text("qmgr_message_active_limit = 2\n");
	ck_assert_uint_eq(qmgr_pp_limit(), 10);
	/* Three for a, one for b, one for both a and c (a twice: once). */
	ck_assert_int_eq(qmgr_pp_add("A1", QMGR_PP_INCOMING, &a, 1), 0);
	ck_assert_int_eq(qmgr_pp_add("A2", QMGR_PP_DEFERRED, &a, 1), 0);
	ck_assert_int_eq(qmgr_pp_add("B1", QMGR_PP_INCOMING, &b, 1), 0);
	ck_assert_int_eq(qmgr_pp_add("AC", QMGR_PP_INCOMING, ac, 3), 0);
	ck_assert_int_eq(qmgr_pp_add("A3", QMGR_PP_INCOMING, &a, 1), 0);
	ck_assert_uint_eq(qmgr_pp_count, 5);
	ck_assert(qmgr_pp_known("A2") && qmgr_pp_known("AC") && !qmgr_pp_known("C9"));
	/* Nothing without a destination, or with too many. */
	ck_assert_int_eq(qmgr_pp_add("X", QMGR_PP_INCOMING, &a, 0), -1);
	ck_assert_int_eq(qmgr_pp_add("X", QMGR_PP_INCOMING, ac, QMGR_POSTPONE_DESTS + 1), -1);
	/* Everything busy: nothing goes, nothing is lost. */
	take_is(busy_all, NULL, 0);
	ck_assert_uint_eq(qmgr_pp_count, 5);
	/* Round-robin over the destinations (groups a, b, c, in order made). */
	busy_hash = 99;
	take_is(busy_one, "A1", QMGR_PP_INCOMING);
	take_is(busy_one, "B1", QMGR_PP_INCOMING);
	/* c's only file is AC: it goes, and leaves a's group too. */
	take_is(busy_one, "AC", QMGR_PP_INCOMING);
	take_is(busy_one, "A2", QMGR_PP_DEFERRED);
	take_is(busy_one, "A3", QMGR_PP_INCOMING);
	take_is(busy_one, NULL, 0);
	ck_assert_uint_eq(qmgr_pp_count, 0);

	/* A busy destination is passed over; a file of it that also waits
	 * for a quiet one goes with the quiet one. */
	ck_assert_int_eq(qmgr_pp_add("A1", QMGR_PP_INCOMING, &a, 1), 0);
	ck_assert_int_eq(qmgr_pp_add("AC", QMGR_PP_INCOMING, ac, 2), 0);
	ck_assert_int_eq(qmgr_pp_add("B1", QMGR_PP_INCOMING, &b, 1), 0);
	busy_hash = 1;				/* a and c */
	ck_assert_int_eq(c.hash, 1);
	take_is(busy_one, "B1", QMGR_PP_INCOMING);
	take_is(busy_one, NULL, 0);
	busy_hash = 2;
	take_is(busy_one, "A1", QMGR_PP_INCOMING);
	take_is(busy_one, "AC", QMGR_PP_INCOMING);
	take_is(NULL, NULL, 0);

	/* Forgotten (the file went away); added again: the newest counts. */
	ck_assert_int_eq(qmgr_pp_add("A1", QMGR_PP_INCOMING, &a, 1), 0);
	ck_assert_int_eq(qmgr_pp_add("A1", QMGR_PP_DEFERRED, &b, 1), 0);
	ck_assert_uint_eq(qmgr_pp_count, 1);
	qmgr_pp_forget("B9");
	ck_assert_uint_eq(qmgr_pp_count, 1);
	busy_hash = 1;
	take_is(busy_one, "A1", QMGR_PP_DEFERRED);
	ck_assert_int_eq(qmgr_pp_add("A1", QMGR_PP_INCOMING, &a, 1), 0);
	qmgr_pp_forget("A1");
	take_is(NULL, NULL, 0);

	/* The bound: 5 x qmgr_message_active_limit. */
	for (int i = 0; i < 10; i++) {
		char    id[8];
		struct qmgr_pp_dest d = {&tpa, (uint64_t) i % 3};

		(void) str_fmt(id, sizeof(id), "F%d", i);
		ck_assert_int_eq(qmgr_pp_add(id, QMGR_PP_INCOMING, &d, 1), 0);
	}
	ck_assert_int_eq(qmgr_pp_add("F10", QMGR_PP_INCOMING, &a, 1), -1);
	ck_assert(!qmgr_pp_known("F10"));
	qmgr_pp_clear();
	ck_assert_uint_eq(qmgr_pp_count, 0);
	ck_assert(!qmgr_pp_known("F1"));
}
END_TEST

/* Many files and destinations: every file comes out once. */
START_TEST(test_many)
{
	enum { N = 20000, D = 97 };
	static bool seen[N];
	char    id[16];
	int     queue, n = 0;

	test_config_text("qmgr_message_active_limit = 20000\n");
	for (int i = 0; i < N; i++) {
		struct qmgr_pp_dest d[2] = {{&tpa, (uint64_t) (i % D)},
			{&tpb, (uint64_t) (i % 7)}};

		(void) str_fmt(id, sizeof(id), "M%d", i);
		ck_assert_int_eq(qmgr_pp_add(id, QMGR_PP_INCOMING, d, i % 2 ? 2 : 1), 0);
	}
	busy_hash = 5;
	while (qmgr_pp_take(busy_one, id, sizeof(id), &queue)) {
		int     i = (int) strtol(id + 1, NULL, 10);

		ck_assert(!seen[i]);
		seen[i] = true;
		n++;
	}
	/* Left: those whose every destination is busy (hash 5 of either). */
	ck_assert_uint_eq(qmgr_pp_count, (size_t) (N - n));
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(seen[i], !(i % D == 5 && (i % 2 == 0 || i % 7 == 5)));
	qmgr_pp_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Admission: scans against a fake smtp agent.                        */

static void
setup(void)
{
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	(void) str_copy(dir, sizeof(dir), "/tmp/qmgr_postpone_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	test_config_load(dir, "myhostname = mx.example.com\n"
			 "mydestination = localhost, $myhostname\n"
			 "qmgr_message_active_limit = 20\n"
			 "minimal_backoff_time = 300s\nmaximal_backoff_time = 4000s\n");
	ck_assert_int_eq(chdir(dir), 0);
	for (const char *const *d = (const char *const[]) {"incoming", "active", "deferred",
		"corrupt", "private", NULL}; *d; d++)
		ck_assert_int_eq(mkdir(*d, 0700), 0);
	log_init("qmgr_postpone_test", LOG_DEST_STDERR);
	loop = ev_loop_new();
	qmgr_deliver_init(loop);
	qmgr_scan_init(loop, -1);
	agent = 0;
}

static void
teardown(void)
{
	if (agent > 0) {
		(void) kill(agent, SIGKILL);
		(void) waitpid(agent, NULL, 0);
	}
	qmgr_scan_stop();
	qmgr_deliver_close_idle();
	ev_loop_free(loop);
	ck_assert_int_eq(chdir(cwd), 0);
	scratch_remove(dir, "/tmp/qmgr_postpone_test.");
}

/* qid - the queue ID of file number i: they sort by i */
static void
qid(int i, char out[QID_LEN + 1])
{
	static const char d32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

	(void) str_fmt(out, QID_LEN + 1, "0PZ1K8Q00%c%cW9X0", d32[(i / 32) % 32],
		       d32[i % 32]);
}

/* qfile - QUEUE/ID of file i, one recipient */
static void
qfile(const char *queue, int i, const char *rcpt)
{
	char    path[300], id[QID_LEN + 1];
	struct qfile_writer w;
	struct timeval tv = {time(NULL) - 10, 0};
	const char *hdr = "Subject: test\n", *body = "hello\n";
	int     fd;

	qid(i, id);
	(void) str_fmt(path, sizeof(path), "%s/%s", queue, id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	qfile_writer_init(&w, fd);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_VERSION, QFILE_VERSION), 0);
	ck_assert_int_eq(qfile_put_time(&w, &tv), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_QID, id), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_SENDER, "s@example.org"), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_RCPT, rcpt), 0);
	ck_assert_int_eq(qfile_put(&w, QF_REC_HEADER, hdr, strlen(hdr)), 0);
	ck_assert_int_eq(qfile_put(&w, QF_REC_BODY, body, strlen(body)), 0);
	ck_assert_int_eq(qfile_put(&w, QF_REC_END, NULL, 0), 0);
	ck_assert_int_eq(qfile_finish(&w), 0);
	qfile_writer_free(&w);
	(void) close(fd);
	if (str_eq(queue, "deferred")) {
		struct timespec ts[2] = {{time(NULL) - 5, 0}, {time(NULL) - 5, 0}};

		ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
}

static bool
exists(const char *queue, int i)
{
	char    path[64], id[QID_LEN + 1];

	qid(i, id);
	(void) str_fmt(path, sizeof(path), "%s/%s", queue, id);
	return access(path, F_OK) == 0;
}

static size_t
count(const char *queue)
{
	DIR    *d = opendir(queue);
	struct dirent *e;
	size_t  n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	(void) closedir(d);
	return n;
}

/*
 * fake_smtp_agent - a delivery agent on private/smtp that greets every
 * connection, then answers nothing while the file "hold" exists; after
 * that it delivers every request (status sent) and logs "QID RCPT
 * INDEX" per recipient to agent.log
 */
#define AGENT_CONNS	32

static int
sent(const char *rcpt, const char **dsn, const char **text)
{
	(void) rcpt;
	*dsn = "2.0.0";
	*text = "250 ok";
	return DELIVERY_SENT;
}

static void
fake_smtp_agent(void)
{
	int     lfd = ipc_listen("private/smtp", 0600, 64), hold;

	ck_assert_int_ge(lfd, 0);
	hold = open("hold", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(hold, 0);
	(void) close(hold);
	agent = fork();
	ck_assert_int_ge(agent, 0);
	if (agent > 0) {
		(void) close(lfd);
		return;
	}
	{
		struct pollfd pfd[AGENT_CONNS + 1];
		struct ipc_in in;
		int     nc = 0, log = open("agent.log", O_WRONLY | O_CREAT | O_APPEND, 0600);

		(void) fcntl(lfd, F_SETFL, 0);
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		ipc_in_init(&in);
		for (;;) {
			bool	held = access("hold", F_OK) == 0;

			for (int i = 1; i <= nc; i++)
				pfd[i].events = held ? 0 : POLLIN;
			if (poll(pfd, (nfds_t) nc + 1, 20) < 0)
				_exit(5);
			if ((pfd[0].revents & POLLIN) && nc < AGENT_CONNS) {
				if ((pfd[++nc].fd = fake_agent_accept(lfd, "smtp")) < 0)
					_exit(3);
				pfd[nc].revents = 0;
			}
			for (int i = 1; i <= nc && !held; i++) {
				int     r;

				if (!(pfd[i].revents & (POLLIN | POLLHUP)))
					continue;
				r = fake_agent_answer(pfd[i].fd, &in, log, sent, "mx[127.0.0.1]:25");
				if (r == -2)
					_exit(4);
				if (r < 0)
					pfd[i--] = pfd[nc--];
			}
		}
	}
}

/* scan - ask for a scan and let the loop run it (and what follows) */
static void
scan(unsigned what)
{
	qmgr_scan_request(what);
	for (int i = 0; i < 20; i++)
		(void) ev_run_once(loop, 10);
}

/* drain - release the agent; run until every queue is empty (max 20 s) */
static void
drain(void)
{
	ck_assert_int_eq(unlink("hold"), 0);
	for (int i = 0; i < 2000 && (count("incoming") + count("active")
				     + count("deferred") > 0); i++)
		(void) ev_run_once(loop, 10);
	ck_assert_msg(count("incoming") + count("active") + count("deferred") == 0,
		      "left: %zu incoming, %zu active, %zu deferred, %zu postponed",
		      count("incoming"), count("active"), count("deferred"), qmgr_pp_count);
	ck_assert_uint_eq(qmgr_pp_count, 0);
	ck_assert_uint_eq(qmgr_active_count, 0);
}

/* delivered - how many times the agent logged file i */
static int
delivered(int i)
{
	char    id[QID_LEN + 1], line[256];
	FILE   *f = fopen("agent.log", "r");
	int     n = 0;

	ck_assert_ptr_nonnull(f);
	qid(i, id);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strncmp(line, id, QID_LEN) == 0;
	(void) fclose(f);
	return n;
}

/*
 * Fifty messages for slow.example, then one for quick.example, all in
 * incoming/ at once, qmgr_message_active_limit 20: slow.example takes
 * half the active queue (then its share, 5, is far exceeded), its
 * other 40 messages wait in incoming/, remembered, and the message
 * for quick.example goes into the active queue in the same scan.
 * Later scans read none of the waiting files again; a later message
 * for another quiet destination is taken at once, a later one for
 * slow.example waits too.  In the end everything is delivered once.
 */
START_TEST(test_busy_destination_waits_in_incoming)
{
	enum { SLOW = 50, QUICK = SLOW, QUICK2 = SLOW + 1, SLOW2 = SLOW + 2 };
	uint64_t reads;

	fake_smtp_agent();
	for (int i = 0; i < SLOW; i++)
		qfile("incoming", i, "u@slow.example");
	qfile("incoming", QUICK, "v@quick.example");
	scan(QMGR_SCAN_INCOMING);
	ck_assert(exists("active", QUICK));
	ck_assert_uint_eq(qmgr_active_count, 11);
	ck_assert_uint_eq(count("active"), 11);
	ck_assert_uint_eq(count("incoming"), 40);
	ck_assert_uint_eq(qmgr_pp_count, 40);
	/* The oldest went first. */
	for (int i = 0; i < 10; i++)
		ck_assert(exists("active", i));
	/* Ten taken at once, 41 read to decide. */
	ck_assert_uint_eq(qmgr_msg_reads, 51);

	/* A scan reads nothing it knows. */
	scan(QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED);
	ck_assert_uint_eq(qmgr_msg_reads, 51);
	ck_assert_uint_eq(count("incoming"), 40);

	/* New mail: for a quiet destination, taken; for the busy one, not. */
	qfile("incoming", QUICK2, "w@quick2.example");
	qfile("incoming", SLOW2, "x@slow.example");
	scan(QMGR_SCAN_INCOMING);
	ck_assert(exists("active", QUICK2));
	ck_assert(exists("incoming", SLOW2));
	ck_assert_uint_eq(qmgr_msg_reads, 53);
	ck_assert_uint_eq(qmgr_pp_count, 41);

	drain();
	for (int i = 0; i <= SLOW2; i++)
		ck_assert_msg(delivered(i) == 1, "file %d delivered %d times", i, delivered(i));
	/* Each file read at most twice: to decide, and to deliver. */
	ck_assert_uint_le(qmgr_msg_reads, 2 * (SLOW2 + 1));
	reads = qmgr_msg_reads;
	scan(QMGR_SCAN_INCOMING);
	ck_assert_uint_eq(qmgr_msg_reads, reads);
}
END_TEST

/* The same for deferred mail that is due again. */
START_TEST(test_busy_destination_waits_in_deferred)
{
	enum { SLOW = 30, QUICK = SLOW };

	fake_smtp_agent();
	for (int i = 0; i < SLOW; i++)
		qfile("deferred", i, "u@slow.example");
	qfile("deferred", QUICK, "v@quick.example");
	scan(QMGR_SCAN_DEFERRED);
	ck_assert(exists("active", QUICK));
	ck_assert_uint_eq(count("active"), 11);
	ck_assert_uint_eq(count("deferred"), 20);
	ck_assert_uint_eq(qmgr_pp_count, 20);
	ck_assert_uint_eq(qmgr_msg_reads, 31);
	scan(QMGR_SCAN_DEFERRED | QMGR_SCAN_FLUSH);
	ck_assert_uint_eq(qmgr_msg_reads, 31);
	drain();
	for (int i = 0; i <= QUICK; i++)
		ck_assert_int_eq(delivered(i), 1);
}
END_TEST

/*
 * More waiting files than the memory holds (5 x 20 = 100): the rest
 * stay unknown, and a scan then reads only the newest few, so a new
 * message for a quiet destination is still found at once, without
 * reading the backlog again.
 */
START_TEST(test_memory_full)
{
	enum { SLOW = 150, QUICK = SLOW };
	uint64_t reads;

	fake_smtp_agent();
	for (int i = 0; i < SLOW; i++)
		qfile("incoming", i, "u@slow.example");
	scan(QMGR_SCAN_INCOMING);
	ck_assert_uint_eq(qmgr_active_count, 10);
	ck_assert_uint_eq(qmgr_pp_count, 100);
	ck_assert_uint_eq(count("incoming"), 140);
	reads = qmgr_msg_reads;
	qfile("incoming", QUICK, "v@quick.example");
	scan(QMGR_SCAN_INCOMING);
	ck_assert(exists("active", QUICK));
	/* At most the newest sixteen were read. */
	ck_assert_uint_le(qmgr_msg_reads - reads, 16);
	drain();
	for (int i = 0; i <= QUICK; i++)
		ck_assert_int_eq(delivered(i), 1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qmgr_postpone");
	TCase  *tc = tcase_create("memory");
	TCase  *ta = tcase_create("admission");

	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(ta, setup, teardown);
	tcase_set_timeout(ta, 60);
	tcase_add_test(ta, test_busy_destination_waits_in_incoming);
	tcase_add_test(ta, test_busy_destination_waits_in_deferred);
	tcase_add_test(ta, test_memory_full);
	suite_add_tcase(s, ta);
	return s;
}

CHECK_MAIN(suite)
