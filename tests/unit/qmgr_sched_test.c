/*
 * qmgr_sched_test - check suite for qmgr/qmgr_sched.c and the parts of
 * qmgr/qmgr_scan.c that decide without I/O: round-robin between
 * messages, per-destination limits (a flood to one user does not hold
 * up the others; destinations take turns), destination keys, the
 * process limits from master.cf, the pause after an unreachable
 * agent, wake-up codes, and moves that never replace a file.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "test_config.h"

#include "config.h"
#include "mastercf.h"
#include "params.h"
#include "str.h"
#include "trigger.h"
#include "../../qmgr/qmgr.h"

static void
msg_init(struct qmgr_msg *m, struct qmgr_rcpt *r, size_t n, const char *id)
{
	memset(m, 0, sizeof(*m));
	(void) str_copy(m->qid, sizeof(m->qid), id);
	m->rcpts = r;
	m->env.nrcpts = n;
	for (size_t i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].msg = m;
		r[i].index = i;
	}
}

/* one - a one-recipient message to address */
static void
one(struct qmgr_msg *m, struct qmgr_rcpt *r, const char *id, const char *address)
{
	msg_init(m, r, 1, id);
	r->address = address;
	(void) str_copy(r->nexthop, sizeof(r->nexthop), "mx.example.com");
}

/* install - a main.cf with these lines, for the limits and the delimiter */
static void
install(const char *text)
{
	test_config_text(text);
}

START_TEST(test_round_robin)
{
	struct qmgr_transport tp = {.name = "local", .dest_limit = 1000};
	struct qmgr_msg a, b, c;
	struct qmgr_rcpt ra[3], rb[1], rc[2];
	struct qmgr_rcpt *want[6] = {&ra[0], &rb[0], &rc[0], &ra[1], &rc[1], &ra[2]};

	msg_init(&a, ra, 3, "A");
	msg_init(&b, rb, 1, "B");
	msg_init(&c, rc, 2, "C");
	for (int i = 0; i < 3; i++)
		qmgr_sched_enqueue(&tp, &ra[i], 1);
	qmgr_sched_enqueue(&tp, &rb[0], 2);
	qmgr_sched_enqueue(&tp, &rc[0], 3);
	qmgr_sched_enqueue(&tp, &rc[1], 3);
	ck_assert_uint_eq(tp.waiting, 6);
	ck_assert_int_eq(ra[0].state, QR_QUEUED);
	/* A big message shares the agents with the ones behind it. */
	for (int i = 0; i < 6; i++) {
		struct qmgr_rcpt *r = qmgr_sched_take(&tp);

		ck_assert_msg(r == want[i], "take %d: got %s[%zu]", i, r ? r->msg->qid : "NULL",
			      r ? r->index : 0);
		ck_assert(r->taken);
	}
	ck_assert_ptr_null(qmgr_sched_take(&tp));
	ck_assert_uint_eq(tp.waiting, 0);
	ck_assert_ptr_null(tp.jobs_head);
	ck_assert_ptr_null(a.jobs);
	ck_assert_ptr_null(b.jobs);
	/* Not per recipient: one destination, the next hop (empty here). */
	ck_assert_uint_eq(tp.ndests, 1);
	ck_assert_int_eq(ra[0].dest->active, 6);
	for (int i = 0; i < 6; i++)
		qmgr_sched_done(want[i]);
	ck_assert_uint_eq(tp.ndests, 0);
	ck_assert_ptr_null(ra[0].dest);
	/* A second done (or one for a recipient never taken) changes nothing. */
	qmgr_sched_done(&ra[0]);
	ck_assert_uint_eq(tp.ndests, 0);
	free(tp.dests);
}
END_TEST

START_TEST(test_flood_to_one_user)
{
	struct qmgr_transport tp = {.name = "local", .per_rcpt = true, .dest_limit = 2};
	struct qmgr_msg a[10], b, c;
	struct qmgr_rcpt ra[10], rb, rc, *r, *t1, *t2;
	char    id[8];

	for (int i = 0; i < 10; i++) {
		(void) str_fmt(id, sizeof(id), "A%d", i);
		one(&a[i], &ra[i], id, "alice@localhost");
		qmgr_sched_enqueue(&tp, &ra[i], 1);
	}
	one(&b, &rb, "B", "bob@localhost");
	one(&c, &rc, "C", "carol@localhost");
	qmgr_sched_enqueue(&tp, &rb, 2);
	qmgr_sched_enqueue(&tp, &rc, 2);
	ck_assert_uint_eq(tp.ndests, 3);

	/* Two for alice, then bob and carol: not after alice's ten. */
	t1 = qmgr_sched_take(&tp);
	t2 = qmgr_sched_take(&tp);
	ck_assert_ptr_eq(t1, &ra[0]);
	ck_assert_ptr_eq(t2, &ra[1]);
	ck_assert_ptr_eq(qmgr_sched_next(&tp), &rb);
	ck_assert_ptr_eq(qmgr_sched_take(&tp), &rb);
	ck_assert_ptr_eq(qmgr_sched_take(&tp), &rc);
	ck_assert_ptr_null(qmgr_sched_next(&tp));
	ck_assert_ptr_null(qmgr_sched_take(&tp));
	ck_assert_int_eq(ra[0].dest->active, 2);
	ck_assert_uint_eq(tp.parked, 8);
	ck_assert_uint_eq(tp.waiting, 8);
	ck_assert(ra[2].parked);
	ck_assert_int_eq(ra[2].state, QR_QUEUED);

	/* bob's delivery ends: nothing of alice's may go yet. */
	qmgr_sched_done(&rb);
	ck_assert_ptr_null(qmgr_sched_take(&tp));
	/* Each of alice's that ends lets the next one go, in order. */
	for (int i = 2; i < 10; i++) {
		qmgr_sched_done(t1);
		ck_assert_int_eq(ra[i].dest->active, 1);
		ck_assert(!ra[i].parked);
		r = qmgr_sched_take(&tp);
		ck_assert_msg(r == &ra[i], "after a delivery to alice ended: got %s",
			      r ? r->msg->qid : "NULL");
		ck_assert_ptr_null(qmgr_sched_take(&tp));
		ck_assert_int_eq(r->dest->active, 2);
		t1 = t2;
		t2 = r;
	}
	ck_assert_uint_eq(tp.parked, 0);
	ck_assert_uint_eq(tp.waiting, 0);
	qmgr_sched_done(t1);
	qmgr_sched_done(t2);
	qmgr_sched_done(&rc);
	ck_assert_uint_eq(tp.ndests, 0);
	free(tp.dests);
}
END_TEST

/*
 * With fewer connections than destinations: the destination whose
 * delivery ended goes behind the others (its next message was parked).
 */
START_TEST(test_destinations_take_turns)
{
	struct qmgr_transport tp = {.name = "local", .per_rcpt = true, .dest_limit = 1};
	struct qmgr_msg m[9];
	struct qmgr_rcpt r[9], *inflight[2], *t;
	const char *users[3] = {"a@localhost", "b@localhost", "c@localhost"};
	char    got[32], id[8];
	size_t  n = 0;

	/* a a a b b b c c c, in arrival order */
	for (int i = 0; i < 9; i++) {
		(void) str_fmt(id, sizeof(id), "M%d", i);
		one(&m[i], &r[i], id, users[i / 3]);
		qmgr_sched_enqueue(&tp, &r[i], 1);
	}
	/* Two connections: each delivery that ends starts the next. */
	inflight[0] = qmgr_sched_take(&tp);
	inflight[1] = qmgr_sched_take(&tp);
	got[n++] = inflight[0]->address[0];
	got[n++] = inflight[1]->address[0];
	for (int k = 0; k < 7; k++) {
		qmgr_sched_done(inflight[k % 2]);
		t = qmgr_sched_take(&tp);
		ck_assert_ptr_nonnull(t);
		inflight[k % 2] = t;
		got[n++] = t->address[0];
	}
	got[n] = '\0';
	ck_assert_str_eq(got, "abcabcabc");
	qmgr_sched_done(inflight[0]);
	qmgr_sched_done(inflight[1]);
	ck_assert_uint_eq(tp.ndests, 0);
	free(tp.dests);
}
END_TEST

START_TEST(test_message_with_a_busy_destination)
{
	struct qmgr_transport tp = {.name = "local", .per_rcpt = true, .dest_limit = 1};
	struct qmgr_msg a, m;
	struct qmgr_rcpt ra, rm[3];

	one(&a, &ra, "A", "alice@localhost");
	qmgr_sched_enqueue(&tp, &ra, 1);
	ck_assert_ptr_eq(qmgr_sched_take(&tp), &ra);
	/* alice is busy: the message's other recipients go meanwhile. */
	msg_init(&m, rm, 3, "M");
	rm[0].address = "alice@localhost";
	rm[1].address = "bob@localhost";
	rm[2].address = "carol@localhost";
	for (int i = 0; i < 3; i++) {
		(void) str_copy(rm[i].nexthop, sizeof(rm[i].nexthop), "mx.example.com");
		qmgr_sched_enqueue(&tp, &rm[i], 2);
	}
	ck_assert_uint_eq(tp.ndests, 3);
	ck_assert_ptr_eq(qmgr_sched_take(&tp), &rm[1]);
	ck_assert(rm[0].parked);
	ck_assert_ptr_eq(qmgr_sched_take(&tp), &rm[2]);
	ck_assert_ptr_null(qmgr_sched_take(&tp));
	ck_assert_ptr_null(m.jobs);
	qmgr_sched_done(&ra);
	ck_assert(!rm[0].parked);
	ck_assert_ptr_nonnull(m.jobs);
	ck_assert_ptr_eq(qmgr_sched_take(&tp), &rm[0]);
	for (int i = 0; i < 3; i++)
		qmgr_sched_done(&rm[i]);
	ck_assert_uint_eq(tp.ndests, 0);
	free(tp.dests);
}
END_TEST

START_TEST(test_two_transports_and_drop)
{
	struct qmgr_transport t1 = {.name = "local", .dest_limit = 5};
	struct qmgr_transport t2 = {.name = "smtp", .dest_limit = 5};
	struct qmgr_msg a, b;
	struct qmgr_rcpt ra[3], rb[2];

	msg_init(&a, ra, 3, "A");
	msg_init(&b, rb, 2, "B");
	qmgr_sched_enqueue(&t1, &ra[0], 0);
	qmgr_sched_enqueue(&t2, &ra[1], 0);
	qmgr_sched_enqueue(&t1, &ra[2], 0);
	qmgr_sched_enqueue(&t1, &rb[0], 0);
	qmgr_sched_enqueue(&t2, &rb[1], 0);
	ck_assert_uint_eq(t1.waiting, 3);
	ck_assert_uint_eq(t2.waiting, 2);
	/* Dropping A leaves B alone, in both transports. */
	qmgr_sched_drop_msg(&a);
	ck_assert_ptr_null(a.jobs);
	ck_assert_ptr_null(ra[0].dest);
	ck_assert_uint_eq(t1.waiting, 1);
	ck_assert_uint_eq(t2.waiting, 1);
	ck_assert_ptr_eq(qmgr_sched_take(&t1), &rb[0]);
	ck_assert_ptr_eq(qmgr_sched_take(&t2), &rb[1]);
	ck_assert_ptr_null(qmgr_sched_take(&t1));
	ck_assert_ptr_null(t1.jobs_tail);
	/* Order within a message is kept. */
	qmgr_sched_enqueue(&t1, &ra[0], 0);
	qmgr_sched_enqueue(&t1, &ra[1], 0);
	ck_assert_ptr_eq(qmgr_sched_take(&t1), &ra[0]);
	ck_assert_ptr_eq(qmgr_sched_take(&t1), &ra[1]);
	qmgr_sched_done(&ra[0]);
	qmgr_sched_done(&ra[1]);
	qmgr_sched_done(&rb[0]);
	qmgr_sched_done(&rb[1]);
	ck_assert_uint_eq(t1.ndests, 0);
	ck_assert_uint_eq(t2.ndests, 0);
	free(t1.dests);
	free(t2.dests);
}
END_TEST

START_TEST(test_drop_parked)
{
	struct qmgr_transport tp = {.name = "local", .per_rcpt = true, .dest_limit = 1};
	struct qmgr_msg a, b, c, d;
	struct qmgr_rcpt ra, rb, rc, rd;

	one(&a, &ra, "A", "alice@localhost");
	one(&b, &rb, "B", "alice@localhost");
	one(&c, &rc, "C", "alice@localhost");
	one(&d, &rd, "D", "alice@localhost");
	qmgr_sched_enqueue(&tp, &ra, 0);
	qmgr_sched_enqueue(&tp, &rb, 0);
	qmgr_sched_enqueue(&tp, &rc, 0);
	qmgr_sched_enqueue(&tp, &rd, 0);
	ck_assert_ptr_eq(qmgr_sched_take(&tp), &ra);
	ck_assert_ptr_null(qmgr_sched_next(&tp));
	ck_assert_uint_eq(tp.parked, 3);
	ck_assert_uint_eq(ra.dest->refs, 4);
	/* The middle one, then the last one of the parked list. */
	qmgr_sched_drop_msg(&c);
	ck_assert(!rc.parked);
	ck_assert_ptr_null(rc.dest);
	qmgr_sched_drop_msg(&d);
	ck_assert_uint_eq(tp.parked, 1);
	ck_assert_uint_eq(tp.waiting, 1);
	ck_assert_ptr_eq(ra.dest->parked_tail, &rb);
	ck_assert_uint_eq(ra.dest->refs, 2);
	qmgr_sched_done(&ra);
	ck_assert_ptr_eq(qmgr_sched_take(&tp), &rb);
	qmgr_sched_done(&rb);
	ck_assert_uint_eq(tp.ndests, 0);
	ck_assert_uint_eq(tp.parked, 0);
	ck_assert_uint_eq(tp.waiting, 0);
	free(tp.dests);
}
END_TEST

/* Many destinations: the table grows, each one is found again, all go. */
START_TEST(test_many_destinations)
{
	enum { N = 5000 };
	struct qmgr_transport tp = {.name = "local", .per_rcpt = true, .dest_limit = 1};
	struct qmgr_msg m, m2;
	struct qmgr_rcpt *r = calloc(N, sizeof(*r)), r2[N / 10];
	struct qmgr_rcpt **taken = calloc(N + N / 10, sizeof(*taken));
	char  (*addr)[32] = calloc(N, sizeof(*addr));
	size_t	ntaken, total = 0;

	msg_init(&m, r, N, "M");
	for (int i = 0; i < N; i++) {
		(void) str_fmt(addr[i], sizeof(addr[i]), "user%d@localhost", i);
		r[i].address = addr[i];
		qmgr_sched_enqueue(&tp, &r[i], 0);
	}
	ck_assert_uint_eq(tp.ndests, N);
	ck_assert_uint_ge(tp.dests_size, N);
	/* A second message to every tenth user shares their destinations. */
	msg_init(&m2, r2, N / 10, "M2");
	for (int i = 0; i < N / 10; i++) {
		r2[i].address = addr[i * 10];
		qmgr_sched_enqueue(&tp, &r2[i], 0);
		ck_assert_ptr_eq(r2[i].dest, r[i * 10].dest);
	}
	ck_assert_uint_eq(tp.ndests, N);
	/* Rounds: take what may go, then end those deliveries. */
	for (int round = 0; round < 3; round++) {
		struct qmgr_rcpt *t;

		ntaken = 0;
		while ((t = qmgr_sched_take(&tp)) != NULL) {
			ck_assert_int_eq(t->dest->active, 1);
			taken[ntaken++] = t;
		}
		/* What is left waits behind a delivery to the same user. */
		ck_assert_uint_eq(tp.parked, tp.waiting);
		for (size_t i = 0; i < ntaken; i++)
			qmgr_sched_done(taken[i]);
		total += ntaken;
	}
	ck_assert_uint_eq(total, N + N / 10);
	ck_assert_uint_eq(tp.waiting, 0);
	ck_assert_uint_eq(tp.parked, 0);
	ck_assert_uint_eq(tp.ndests, 0);
	free(tp.dests);
	free(r);
	free(taken);
	free(addr);
}
END_TEST

START_TEST(test_dest_key)
{
	struct qmgr_transport local = {.name = "local", .per_rcpt = true};
	struct qmgr_transport smtp = {.name = "smtp"};
	char    key[QMGR_DEST_KEY_MAX], big[QMGR_ADDRESS_MAX + 1];
	char    hop[QMGR_NEXTHOP_MAX];

	install("recipient_delimiter = +-\n");
	/* A user, whatever the case, extension or local domain. */
	qmgr_dest_key(&local, "Alice+list@LocalHost", "mx.example.com", key, sizeof(key));
	ck_assert_str_eq(key, "alice@mx.example.com");
	qmgr_dest_key(&local, "alice-x@mx.example.com", "mx.example.com", key, sizeof(key));
	ck_assert_str_eq(key, "alice@mx.example.com");
	qmgr_dest_key(&local, "bob@localhost", "mx.example.com", key, sizeof(key));
	ck_assert_str_eq(key, "bob@mx.example.com");
	/* No next hop: the domain. */
	qmgr_dest_key(&local, "bob@LOCALHOST", "", key, sizeof(key));
	ck_assert_str_eq(key, "bob@localhost");
	/* The delimiter first is not an extension (an empty user). */
	qmgr_dest_key(&local, "+x@localhost", "h", key, sizeof(key));
	ck_assert_str_eq(key, "+x@h");
	qmgr_dest_key(&local, "\"a b\"@localhost", "h", key, sizeof(key));
	ck_assert_str_eq(key, "a b@h");
	/* Other transports: the next hop. */
	qmgr_dest_key(&smtp, "Alice@Example.ORG", "[MX.example.org]:25", key, sizeof(key));
	ck_assert_str_eq(key, "[mx.example.org]:25");
	/* Not splittable (too long a local part): the whole address. */
	memset(big, 'X', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[sizeof(big) - 12] = '@';
	qmgr_dest_key(&local, big, "h", key, sizeof(key));
	ck_assert_uint_eq(strlen(key), QMGR_ADDRESS_MAX);
	ck_assert_int_eq(key[0], 'x');
	/* The largest of both fits. */
	memset(hop, 'h', sizeof(hop) - 1);
	hop[sizeof(hop) - 1] = '\0';
	qmgr_dest_key(&smtp, "a@b", hop, key, sizeof(key));
	ck_assert_uint_eq(strlen(key), QMGR_NEXTHOP_MAX - 1);
	qmgr_dest_key(&local, NULL, "h", key, sizeof(key));
	ck_assert_str_eq(key, "");
}
END_TEST

START_TEST(test_transport_limits)
{
	struct qmgr_transport *local, *smtp;

	install("local_destination_concurrency_limit = 3\n"
		"default_destination_concurrency_limit = 7\n");
	local = qmgr_transport_find("local");
	smtp = qmgr_transport_find("smtp");
	ck_assert_int_eq(qmgr_dest_limit(local), 3);
	ck_assert_int_eq(qmgr_dest_limit(smtp), 7);
	ck_assert(local->per_rcpt);
	ck_assert(!smtp->per_rcpt);
}
END_TEST

START_TEST(test_trigger_bits)
{
	ck_assert_uint_eq(qmgr_trigger_bits("", 0), 0);
	ck_assert_uint_eq(qmgr_trigger_bits("W", 1), QMGR_SCAN_INCOMING);
	ck_assert_uint_eq(qmgr_trigger_bits("F", 1),
			  QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED | QMGR_SCAN_FLUSH);
	ck_assert_uint_eq(qmgr_trigger_bits("S", 1), QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED);
	/* Anything else from a local user is only a wake-up. */
	ck_assert_uint_eq(qmgr_trigger_bits("x\0\377", 3), QMGR_SCAN_INCOMING);
	/* A burst is one set of bits. */
	ck_assert_uint_eq(qmgr_trigger_bits("WWWWWWWWWWF", 11),
			  QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED | QMGR_SCAN_FLUSH);
}
END_TEST

START_TEST(test_move)
{
	char    dir[] = "/tmp/qmgr_move_test.XXXXXX", cwd[1024];
	int     fd;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(mkdir("incoming", 0700), 0);
	ck_assert_int_eq(mkdir("active", 0700), 0);
	fd = open("incoming/0PZ1K8Q3F7M2W9X", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "new", 3), 3);
	close(fd);
	fd = open("active/0PZ1K8Q3F7M2W9X", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "old", 3), 3);
	close(fd);
	/* Never replaces a file that is there. */
	ck_assert_int_eq(qmgr_move("incoming", "0PZ1K8Q3F7M2W9X", "active"), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(unlink("active/0PZ1K8Q3F7M2W9X"), 0);
	ck_assert_int_eq(qmgr_move("incoming", "0PZ1K8Q3F7M2W9X", "active"), 0);
	ck_assert_int_eq(access("incoming/0PZ1K8Q3F7M2W9X", F_OK), -1);
	ck_assert_int_eq(access("active/0PZ1K8Q3F7M2W9X", F_OK), 0);
	ck_assert_int_eq(qmgr_move("incoming", "0PZ1K8Q3F7M2W9X", "active"), -1);
	ck_assert_int_eq(errno, ENOENT);
	(void) unlink("active/0PZ1K8Q3F7M2W9X");
	(void) rmdir("incoming");
	(void) rmdir("active");
	ck_assert_int_eq(chdir(cwd), 0);
	(void) rmdir(dir);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qmgr_sched");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_round_robin);
	tcase_add_test(tc, test_flood_to_one_user);
	tcase_add_test(tc, test_destinations_take_turns);
	tcase_add_test(tc, test_message_with_a_busy_destination);
	tcase_add_test(tc, test_two_transports_and_drop);
	tcase_add_test(tc, test_drop_parked);
	tcase_add_test(tc, test_many_destinations);
	tcase_add_test(tc, test_dest_key);
	tcase_add_test(tc, test_transport_limits);
	tcase_add_test(tc, test_trigger_bits);
	tcase_add_test(tc, test_move);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
