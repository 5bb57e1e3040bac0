/*
 * qmgr_sched_test - check suite for qmgr/qmgr_sched.c and the parts of
 * qmgr/qmgr_scan.c that decide without I/O: round-robin between
 * messages and between a message's destinations, recipient batches
 * per destination, per-destination windows with Postfix's feedback
 * (growth on success, shrinking and suspension on site failures), dead
 * times that double and are remembered, fairness (a destination with
 * thousands of messages does not hold up one with a single message),
 * dropping a message wherever its recipients wait, destination keys,
 * wake-up codes, and moves that never replace a file.
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
#include "mem.h"
#include "params.h"
#include "str.h"
#include "trigger.h"
#include "../../qmgr/qmgr.h"

#define MIN_BACKOFF	300
#define MAX_BACKOFF	4000

/* install - a main.cf with these lines, for the limits and the delimiter */
static void
install(const char *text)
{
	char    all[4096];

	(void) str_fmt(all, sizeof(all), "minimal_backoff_time = %ds\n"
		       "maximal_backoff_time = %ds\n%s", MIN_BACKOFF, MAX_BACKOFF, text);
	test_config_text(all);
}

/* transport - a transport with these limits, outside qmgr_transport.c */
static struct qmgr_transport *
transport(const char *name, int dest_limit, int rcpt_limit, int init_conc)
{
	struct qmgr_transport *tp = xcalloc(1, sizeof(*tp));

	(void) str_copy(tp->name, sizeof(tp->name), name);
	tp->dest_limit = dest_limit;
	tp->rcpt_limit = rcpt_limit;
	tp->init_conc = init_conc;
	tp->per_rcpt = rcpt_limit == 1;
	/* The defaults: 1/concurrency each way, one failed cohort. */
	tp->pos_fb.base = tp->neg_fb.base = 1;
	tp->pos_fb.per_window = tp->neg_fb.per_window = true;
	tp->fail_cohort_limit = 1;
	tp->pipeline = 1;
	return tp;
}

/* transport_free - nothing may wait or be in flight any more */
static void
transport_free(struct qmgr_transport *tp)
{
	qmgr_sched_sweep(tp, UINT64_MAX);
	ck_assert_uint_eq(tp->waiting, 0);
	ck_assert_uint_eq(tp->ready, 0);
	ck_assert_uint_eq(tp->ndests, 0);
	ck_assert_ptr_null(tp->round_head);
	ck_assert_ptr_null(tp->dead_head);
	free(tp->dests);
	free(tp);
}

/* A message with n recipients to addresses[i] (or "u<i>@x.org"). */
struct tmsg {
	struct qmgr_msg m;
	struct qmgr_rcpt r[64];
	char	addr[64][32];
};

static struct tmsg *
tmsg(const char *id, size_t n, const char *const *addresses)
{
	struct tmsg *t = xcalloc(1, sizeof(*t));

	(void) str_copy(t->m.qid, sizeof(t->m.qid), id);
	t->m.rcpts = t->r;
	t->m.env.nrcpts = n;
	for (size_t i = 0; i < n; i++) {
		t->r[i].msg = &t->m;
		t->r[i].index = i;
		if (addresses)
			(void) str_copy(t->addr[i], sizeof(t->addr[i]), addresses[i]);
		else
			(void) str_fmt(t->addr[i], sizeof(t->addr[i]), "u%zu@x.org", i);
		t->r[i].address = t->addr[i];
	}
	return t;
}

/* enqueue - every recipient of t, to the next hop of its domain */
static void
enqueue(struct qmgr_transport *tp, struct tmsg *t, uint64_t now)
{
	for (size_t i = 0; i < t->m.env.nrcpts; i++)
		qmgr_sched_enqueue(tp, &t->r[i], strchr(t->addr[i], '@') + 1, now);
}

START_TEST(test_round_robin)
{
	struct qmgr_transport *tp;
	const char *ua[] = {"a1@h", "a2@h", "a3@h"}, *ub[] = {"b1@h"},
	       *uc[] = {"c1@h", "c2@h"};
	const char *want[] = {"a1@h", "b1@h", "c1@h", "a2@h", "c2@h", "a3@h"};
	struct qmgr_batch *b[6];
	struct tmsg *a, *bm, *c;

	install("");
	/* One recipient per request: each is its own destination. */
	tp = transport("local", 1000, 1, 5);
	a = tmsg("A", 3, ua);
	bm = tmsg("B", 1, ub);
	c = tmsg("C", 2, uc);
	enqueue(tp, a, 1);
	enqueue(tp, bm, 2);
	enqueue(tp, c, 3);
	ck_assert_uint_eq(tp->waiting, 6);
	ck_assert_uint_eq(tp->ndests, 6);
	ck_assert_int_eq(a->r[0].state, QR_QUEUED);
	/* A big message shares the agents with the ones behind it. */
	for (int i = 0; i < 6; i++) {
		b[i] = qmgr_sched_take(tp, 10);
		ck_assert_ptr_nonnull(b[i]);
		ck_assert_uint_eq(b[i]->n, 1);
		ck_assert_msg(str_eq(b[i]->rcpts[0]->address, want[i]),
			      "take %d: got %s", i, b[i]->rcpts[0]->address);
		ck_assert_ptr_null(b[i]->rcpts[0]->peer);
	}
	ck_assert_ptr_null(qmgr_sched_take(tp, 10));
	ck_assert_uint_eq(tp->waiting, 0);
	ck_assert_ptr_null(a->m.jobs);
	ck_assert_ptr_null(bm->m.jobs);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(qmgr_sched_done(b[i], QMGR_FB_OK, NULL, NULL, 11), 0);
	transport_free(tp);
	free(a);
	free(bm);
	free(c);
}
END_TEST

START_TEST(test_batches)
{
	struct qmgr_transport *tp;
	const char *u[] = {"r0@x.org", "r1@y.org", "r2@x.org", "r3@y.org", "r4@X.ORG"};
	struct qmgr_batch *b1, *b2, *b3;
	struct tmsg *m;

	install("");
	tp = transport("smtp", 20, 2, 5);
	m = tmsg("M", 5, u);
	enqueue(tp, m, 1);
	ck_assert_uint_eq(tp->ndests, 2);		/* x.org, y.org */
	/* At most two recipients of one destination per request, in order. */
	b1 = qmgr_sched_take(tp, 2);
	ck_assert_uint_eq(b1->n, 2);
	ck_assert_str_eq(b1->dest->key, "x.org");
	ck_assert_str_eq(b1->dest->nexthop, "x.org");
	ck_assert_uint_eq(b1->rcpts[0]->index, 0);
	ck_assert_uint_eq(b1->rcpts[1]->index, 2);
	/* The message's destinations take turns. */
	b2 = qmgr_sched_take(tp, 2);
	ck_assert_str_eq(b2->dest->key, "y.org");
	ck_assert_uint_eq(b2->n, 2);
	ck_assert_uint_eq(b2->rcpts[1]->index, 3);
	b3 = qmgr_sched_take(tp, 2);
	ck_assert_str_eq(b3->dest->key, "x.org");
	ck_assert_uint_eq(b3->n, 1);
	ck_assert_uint_eq(b3->rcpts[0]->index, 4);
	ck_assert_ptr_eq(b3->msg, &m->m);
	ck_assert_ptr_null(qmgr_sched_take(tp, 2));
	ck_assert_int_eq(b1->dest->active, 2);
	qmgr_sched_done(b1, QMGR_FB_OK, NULL, NULL, 3);
	qmgr_sched_done(b2, QMGR_FB_OK, NULL, NULL, 3);
	qmgr_sched_done(b3, QMGR_FB_OK, NULL, NULL, 3);
	transport_free(tp);
	free(m);
}
END_TEST

/*
 * A destination with many messages holds its window of agents; a
 * message for another destination goes as soon as the round reaches
 * it, and the busy one gets a new request whenever one of its ends.
 */
START_TEST(test_fairness)
{
	enum { N = 3000 };
	static struct tmsg *m[N + 1];
	const char *big[] = {"x@big.example"}, *small[] = {"y@small.example"};
	struct qmgr_batch *b[3], *s, *more;
	struct qmgr_transport *tp;
	char    id[16];

	install("");
	tp = transport("smtp", 2, 50, 5);	/* window min(5, 2) = 2 */
	for (int i = 0; i < N; i++) {
		(void) str_fmt(id, sizeof(id), "B%d", i);
		m[i] = tmsg(id, 1, big);
		enqueue(tp, m[i], 1);
	}
	m[N] = tmsg("S", 1, small);
	enqueue(tp, m[N], 2);
	b[0] = qmgr_sched_take(tp, 3);
	b[1] = qmgr_sched_take(tp, 3);
	ck_assert_str_eq(b[0]->dest->key, "big.example");
	ck_assert_str_eq(b[1]->dest->key, "big.example");
	/* The third request: the small destination, not a third big one. */
	s = qmgr_sched_take(tp, 3);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->dest->key, "small.example");
	ck_assert_ptr_null(qmgr_sched_take(tp, 3));
	ck_assert_uint_eq(tp->waiting, N - 2);
	/* A request ends: the next message of the busy one, in order. */
	qmgr_sched_done(b[0], QMGR_FB_OK, NULL, NULL, 4);
	more = qmgr_sched_take(tp, 4);
	ck_assert_ptr_nonnull(more);
	ck_assert_str_eq(more->msg->qid, "B2");
	ck_assert_ptr_null(qmgr_sched_take(tp, 4));
	qmgr_sched_done(s, QMGR_FB_OK, NULL, NULL, 5);
	qmgr_sched_done(b[1], QMGR_FB_OK, NULL, NULL, 5);
	qmgr_sched_done(more, QMGR_FB_OK, NULL, NULL, 5);
	/* Drain: every message once, in arrival order. */
	for (int i = 3; i < N; i++) {
		struct qmgr_batch *x = qmgr_sched_take(tp, 6);

		ck_assert_ptr_nonnull(x);
		(void) str_fmt(id, sizeof(id), "B%d", i);
		ck_assert_str_eq(x->msg->qid, id);
		qmgr_sched_done(x, QMGR_FB_OK, NULL, NULL, 6);
	}
	ck_assert_ptr_null(qmgr_sched_take(tp, 7));
	transport_free(tp);
	for (int i = 0; i <= N; i++) {
		ck_assert_ptr_null(m[i]->m.jobs);
		free(m[i]);
	}
}
END_TEST

/* fill - take every request the window allows now */
static int
fill(struct qmgr_transport *tp, struct qmgr_batch **b, int max, uint64_t now)
{
	int     n = 0;

	while (n < max && (b[n] = qmgr_sched_take(tp, now)) != NULL)
		n++;
	return n;
}

/*
 * Postfix's positive feedback: while a destination uses its window,
 * each window's worth of successes adds one, up to the limit.  Requests
 * end one at a time and the freed slot is used at once, as qmgr does.
 */
START_TEST(test_window_grows)
{
	enum { N = 400 };
	static struct tmsg *m[N];
	struct qmgr_transport *tp;
	struct qmgr_batch *inflight[64];
	struct qmgr_dest *d;
	char    id[16];
	int     n = 0, most = 0, done = 0, seen[9] = {0};

	install("");
	tp = transport("smtp", 8, 50, 2);
	for (int i = 0; i < N; i++) {
		(void) str_fmt(id, sizeof(id), "M%d", i);
		m[i] = tmsg(id, 1, NULL);
		enqueue(tp, m[i], 1);
	}
	n = fill(tp, inflight, 64, 2);
	ck_assert_int_eq(n, 2);			/* the initial concurrency */
	d = inflight[0]->dest;
	while (n > 0) {
		/* The oldest request ends; the window is used again at once. */
		qmgr_sched_done(inflight[0], QMGR_FB_OK, NULL, NULL, 3);
		done++;
		memmove(inflight, inflight + 1, (size_t) --n * sizeof(inflight[0]));
		n += fill(tp, inflight + n, 64 - n, 3);
		ck_assert_int_le(n, 8);		/* never beyond the limit */
		if (n > 0)			/* (d goes with its last request) */
			ck_assert_int_le(n, d->window);
		if (n > most) {
			most = n;
			seen[n] = done;
		}
	}
	ck_assert_int_eq(most, 8);
	/* It took a window's worth of successes to grow by one. */
	ck_assert_int_eq(seen[3], 2);
	ck_assert_int_eq(seen[4], 2 + 3);
	ck_assert_int_eq(seen[5], 2 + 3 + 4);
	transport_free(tp);
	for (int i = 0; i < N; i++)
		free(m[i]);
}
END_TEST

/*
 * A destination that fails as a whole shrinks, is suspended after a
 * cohort of failures, its waiting mail is deferred without an attempt,
 * it gets one request when the dead time is over, and the dead time
 * doubles until a success.
 */
START_TEST(test_suspension)
{
	enum { N = 40 };
	static struct tmsg *m[N];
	struct qmgr_transport *tp;
	struct qmgr_batch *b[16];
	struct qmgr_rcpt *r;
	struct qmgr_dest *d;
	char    id[16], dsn[10], reason[QMGR_REASON_MAX];
	uint64_t t = 1000, dead;
	int     n, deferred;

	install("");
	tp = transport("smtp", 20, 50, 5);
	for (int i = 0; i < N; i++) {
		(void) str_fmt(id, sizeof(id), "M%d", i);
		m[i] = tmsg(id, 1, NULL);
		enqueue(tp, m[i], t);
	}
	n = fill(tp, b, 16, t);
	ck_assert_int_eq(n, 5);
	d = b[0]->dest;
	/*
	 * Negative feedback 1/concurrency: one less at the start of each
	 * window's worth of failures; the cohort (1/5 + 4 x 1/4 of a
	 * window) failed at the fifth.
	 */
	ck_assert_uint_eq(qmgr_sched_done(b[0], QMGR_FB_FAIL, "4.4.1",
					  "connect to x.org: refused", t), 0);
	ck_assert_int_eq(d->window, 4);
	for (int i = 1; i < 4; i++)
		ck_assert_uint_eq(qmgr_sched_done(b[i], QMGR_FB_FAIL, "4.4.1",
						  "connect to x.org: refused", t), 0);
	ck_assert_int_eq(d->window, 4);
	dead = qmgr_sched_done(b[4], QMGR_FB_FAIL, "4.4.1", "connect to x.org: refused", t);
	ck_assert_uint_eq(dead, MIN_BACKOFF);
	ck_assert_int_eq(d->window, 3);
	/* Everything that waits for it is deferred now, with its reason. */
	ck_assert_ptr_null(qmgr_sched_take(tp, t));
	deferred = 0;
	while ((r = qmgr_sched_take_dead(tp, dsn, sizeof(dsn), reason, sizeof(reason))) != NULL) {
		ck_assert_str_eq(dsn, "4.4.1");
		ck_assert_str_eq(reason, "delivery temporarily suspended: "
				 "connect to x.org: refused");
		ck_assert_ptr_null(r->peer);
		deferred++;
	}
	ck_assert_int_eq(deferred, N - 5);
	ck_assert_uint_eq(tp->waiting, 0);
	/* Nothing refers to it, but it is remembered. */
	ck_assert_uint_eq(tp->ndests, 1);
	ck_assert_uint_eq(tp->nremembered, 1);

	/* Mail that arrives while it is dead is deferred at once. */
	m[0]->r[0].state = QR_TODO;
	enqueue(tp, m[0], t + 1000);
	ck_assert_ptr_null(qmgr_sched_take(tp, t + 1000));
	ck_assert_ptr_nonnull(qmgr_sched_take_dead(tp, dsn, sizeof(dsn), reason,
						   sizeof(reason)));

	/* After the dead time: one request at a time. */
	t += MIN_BACKOFF * 1000;
	enqueue(tp, m[0], t);
	enqueue(tp, m[1], t);
	n = fill(tp, b, 16, t);
	ck_assert_int_eq(n, 1);
	/* It fails again: twice as long. */
	dead = qmgr_sched_done(b[0], QMGR_FB_FAIL, "4.7.0", "421 go away", t);
	ck_assert_uint_eq(dead, 2 * MIN_BACKOFF);
	ck_assert_ptr_nonnull(r = qmgr_sched_take_dead(tp, dsn, sizeof(dsn), reason,
						       sizeof(reason)));
	ck_assert_str_eq(reason, "delivery temporarily suspended: 421 go away");
	t += 2 * MIN_BACKOFF * 1000;
	enqueue(tp, m[1], t);
	n = fill(tp, b, 16, t);
	ck_assert_int_eq(n, 1);
	/* A success: back, and the next suspension starts short again. */
	ck_assert_uint_eq(qmgr_sched_done(b[0], QMGR_FB_OK, NULL, NULL, t), 0);
	ck_assert_uint_eq(d->dead_count, 0);
	/* A request that says nothing (a lost agent) changes nothing. */
	enqueue(tp, m[2], t);
	n = fill(tp, b, 16, t);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(qmgr_sched_done(b[0], QMGR_FB_NONE, NULL, NULL, t), 0);
	ck_assert_uint_eq(d->dead_count, 0);
	transport_free(tp);
	for (int i = 0; i < N; i++)
		free(m[i]);
}
END_TEST

/* postqueue -f: every suspension ends, its history forgotten. */
START_TEST(test_revive)
{
	struct qmgr_transport *tp;
	struct qmgr_batch *b[8];
	struct tmsg *m[3];
	char    dsn[10], reason[200], id[8];
	int     n;

	install("");
	tp = transport("smtp", 20, 50, 1);	/* window 1 */
	for (int i = 0; i < 3; i++) {
		(void) str_fmt(id, sizeof(id), "M%d", i);
		m[i] = tmsg(id, 1, NULL);
		enqueue(tp, m[i], 10);
	}
	b[0] = qmgr_sched_take(tp, 10);
	ck_assert_uint_gt(qmgr_sched_done(b[0], QMGR_FB_FAIL, "4.4.1", "down", 10), 0);
	/* next() sets the waiting ones aside for deferral. */
	ck_assert_ptr_null(qmgr_sched_next(tp, 10));
	ck_assert_ptr_nonnull(qmgr_sched_take_dead(tp, dsn, sizeof(dsn), reason, sizeof(reason)));
	ck_assert_ptr_nonnull(qmgr_sched_take_dead(tp, dsn, sizeof(dsn), reason, sizeof(reason)));
	ck_assert_uint_eq(tp->nremembered, 1);
	qmgr_sched_revive(tp);
	m[1]->r[0].state = QR_TODO;
	enqueue(tp, m[1], 11);
	n = fill(tp, b, 8, 11);
	ck_assert_int_eq(n, 1);
	ck_assert_ptr_null(tp->dead_head);
	qmgr_sched_done(b[0], QMGR_FB_OK, NULL, NULL, 12);
	transport_free(tp);
	for (int i = 0; i < 3; i++)
		free(m[i]);
}
END_TEST

START_TEST(test_dead_time)
{
	install("");
	ck_assert_uint_eq(qmgr_dead_time(0), 300);
	ck_assert_uint_eq(qmgr_dead_time(1), 600);
	ck_assert_uint_eq(qmgr_dead_time(3), 2400);
	ck_assert_uint_eq(qmgr_dead_time(4), 4000);
	ck_assert_uint_eq(qmgr_dead_time(1000), 4000);
	test_config_text("minimal_backoff_time = 5000s\nmaximal_backoff_time = 4000s\n");
	ck_assert_uint_eq(qmgr_dead_time(0), 4000);
}
END_TEST

/* A remembered destination keeps its history, and is forgotten later. */
START_TEST(test_remembered)
{
	struct qmgr_transport *tp;
	struct qmgr_batch *b;
	struct tmsg *m = tmsg("M", 1, NULL);
	char    dsn[10], reason[200];
	uint64_t t = 5000;

	install("");
	tp = transport("smtp", 20, 50, 1);
	enqueue(tp, m, t);
	b = qmgr_sched_take(tp, t);
	ck_assert_uint_eq(qmgr_sched_done(b, QMGR_FB_FAIL, "4.4.2", "timeout", t), MIN_BACKOFF);
	ck_assert_uint_eq(tp->nremembered, 1);
	/* Later, after the dead time, a new message fails: twice as long. */
	t += MIN_BACKOFF * 1000 + 1;
	m->r[0].state = QR_TODO;
	enqueue(tp, m, t);
	b = qmgr_sched_take(tp, t);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(qmgr_sched_done(b, QMGR_FB_FAIL, "4.4.2", "timeout", t),
			  2 * MIN_BACKOFF);
	ck_assert_ptr_null(qmgr_sched_take_dead(tp, dsn, sizeof(dsn), reason, sizeof(reason)));
	/* A sweep before its time keeps it, after it forgets it. */
	qmgr_sched_sweep(tp, t + 1000);
	ck_assert_uint_eq(tp->ndests, 1);
	qmgr_sched_sweep(tp, t + (2 * MIN_BACKOFF + MAX_BACKOFF) * 1000 + 1);
	ck_assert_uint_eq(tp->ndests, 0);
	ck_assert_uint_eq(tp->nremembered, 0);
	transport_free(tp);
	free(m);
}
END_TEST

/* A message is dropped wherever its recipients wait: ready, parked, dead. */
START_TEST(test_drop_msg)
{
	const char *ua[] = {"a@busy.org", "b@dead.org", "c@free.org"};
	const char *ub[] = {"x@busy.org"};
	struct qmgr_transport *tp;
	struct qmgr_batch *b, *dd;
	struct tmsg *first = tmsg("F", 1, ub), *m = tmsg("M", 3, ua);
	const char *udead[] = {"y@dead.org"};
	struct tmsg *dm = tmsg("D", 1, udead);

	install("");
	tp = transport("smtp", 1, 50, 1);
	/* dead.org fails and is suspended; busy.org is at its limit. */
	enqueue(tp, dm, 1);
	dd = qmgr_sched_take(tp, 1);
	ck_assert_str_eq(dd->dest->key, "dead.org");
	(void) qmgr_sched_done(dd, QMGR_FB_FAIL, "4.4.1", "down", 1);
	enqueue(tp, first, 2);
	b = qmgr_sched_take(tp, 2);
	ck_assert_str_eq(b->dest->key, "busy.org");
	enqueue(tp, m, 3);
	/* next() parks busy.org's peer and sets dead.org's aside. */
	ck_assert_ptr_nonnull(qmgr_sched_next(tp, 3));
	ck_assert_ptr_nonnull(tp->dead_head);
	ck_assert_uint_eq(tp->waiting, 3);
	qmgr_sched_drop_msg(&m->m);
	ck_assert_ptr_null(m->m.jobs);
	ck_assert_uint_eq(tp->waiting, 0);
	ck_assert_ptr_null(tp->dead_head);
	ck_assert_ptr_null(tp->round_head);
	qmgr_sched_done(b, QMGR_FB_OK, NULL, NULL, 4);
	ck_assert_ptr_null(qmgr_sched_take(tp, 4));
	transport_free(tp);
	free(first);
	free(m);
	free(dm);
}
END_TEST

/* Local: a flood to one user holds two agents; the others go meanwhile. */
START_TEST(test_flood_to_one_user)
{
	static struct tmsg *a[10];
	const char *ua[] = {"alice+x@localhost"}, *ub[] = {"bob@localhost"},
	       *uc[] = {"Carol@localhost"};
	struct tmsg *bm = tmsg("B", 1, ub), *cm = tmsg("C", 1, uc);
	struct qmgr_batch *t[4], *more;
	struct qmgr_transport *tp;
	char    id[8];

	install("recipient_delimiter = +\n");
	tp = transport("local", 2, 1, 5);
	for (int i = 0; i < 10; i++) {
		(void) str_fmt(id, sizeof(id), "A%d", i);
		a[i] = tmsg(id, 1, i % 2 ? ua : (const char *[]) {"alice@localhost"});
		for (size_t k = 0; k < 1; k++)
			qmgr_sched_enqueue(tp, &a[i]->r[k], "mx.example.com", 1);
	}
	qmgr_sched_enqueue(tp, &bm->r[0], "mx.example.com", 2);
	qmgr_sched_enqueue(tp, &cm->r[0], "mx.example.com", 2);
	/* One destination per user, extensions and case aside. */
	ck_assert_uint_eq(tp->ndests, 3);
	for (int i = 0; i < 4; i++)
		t[i] = qmgr_sched_take(tp, 3);
	ck_assert_str_eq(t[0]->msg->qid, "A0");
	ck_assert_str_eq(t[1]->msg->qid, "A1");
	ck_assert_str_eq(t[2]->msg->qid, "B");
	ck_assert_str_eq(t[3]->msg->qid, "C");
	ck_assert_ptr_null(qmgr_sched_take(tp, 3));
	qmgr_sched_done(t[1], QMGR_FB_OK, NULL, NULL, 4);
	more = qmgr_sched_take(tp, 4);
	ck_assert_str_eq(more->msg->qid, "A2");
	qmgr_sched_done(more, QMGR_FB_OK, NULL, NULL, 5);
	qmgr_sched_done(t[0], QMGR_FB_OK, NULL, NULL, 5);
	qmgr_sched_done(t[2], QMGR_FB_OK, NULL, NULL, 5);
	qmgr_sched_done(t[3], QMGR_FB_OK, NULL, NULL, 5);
	for (int i = 3; i < 10; i++) {
		struct qmgr_batch *x = qmgr_sched_take(tp, 6);

		ck_assert_ptr_nonnull(x);
		qmgr_sched_done(x, QMGR_FB_OK, NULL, NULL, 6);
	}
	transport_free(tp);
	for (int i = 0; i < 10; i++)
		free(a[i]);
	free(bm);
	free(cm);
}
END_TEST

/*
 * Pipelining: a connection delivering to alice takes alice's parked
 * messages as passengers; they do not count against her window, and
 * when the batch holding a connection's place is done the next
 * passenger on that connection keeps the place, so her parallel
 * deliveries never exceed the window.
 */
START_TEST(test_passengers)
{
	static struct tmsg *a[6];
	const char *ua[] = {"alice@localhost"}, *ub[] = {"bob@localhost"};
	struct tmsg *bm = tmsg("B", 1, ub);
	struct qmgr_batch *h, *p1, *p2, *b, *x;
	struct qmgr_transport *tp;
	char    id[8];

	install("");
	tp = transport("local", 1, 1, 1);
	for (int i = 0; i < 6; i++) {
		(void) str_fmt(id, sizeof(id), "A%d", i);
		a[i] = tmsg(id, 1, ua);
		qmgr_sched_enqueue(tp, &a[i]->r[0], "localhost", 1);
	}
	qmgr_sched_enqueue(tp, &bm->r[0], "localhost", 2);
	h = qmgr_sched_take(tp, 3);
	ck_assert_str_eq(h->msg->qid, "A0");
	ck_assert(!h->passenger);
	/* The rest of alice's are parked: bob's goes next. */
	b = qmgr_sched_take(tp, 3);
	ck_assert_str_eq(b->msg->qid, "B");
	ck_assert_ptr_null(qmgr_sched_take(tp, 3));
	/* They join the connection that delivers to alice, in order. */
	p1 = qmgr_sched_join(h->dest, 3);
	p2 = qmgr_sched_join(h->dest, 3);
	ck_assert_str_eq(p1->msg->qid, "A1");
	ck_assert_str_eq(p2->msg->qid, "A2");
	ck_assert(p1->passenger && p2->passenger);
	ck_assert_int_eq(h->dest->active, 1);
	ck_assert_uint_eq(tp->waiting, 3);
	/* The holder is done; its place goes to the next on the connection. */
	qmgr_sched_handover(h, p1);
	qmgr_sched_done(h, QMGR_FB_OK, NULL, NULL, 4);
	ck_assert(!p1->passenger);
	ck_assert_int_eq(p1->dest->active, 1);
	ck_assert_ptr_null(qmgr_sched_take(tp, 4));
	qmgr_sched_handover(p1, p2);
	qmgr_sched_done(p1, QMGR_FB_OK, NULL, NULL, 4);
	ck_assert_int_eq(p2->dest->active, 1);
	ck_assert_ptr_null(qmgr_sched_take(tp, 4));
	/* The last one on the connection ends: the next parked one may go. */
	qmgr_sched_done(p2, QMGR_FB_OK, NULL, NULL, 5);
	x = qmgr_sched_take(tp, 5);
	ck_assert_str_eq(x->msg->qid, "A3");
	ck_assert_int_eq(x->dest->active, 1);
	/* Unparked, the others park again when the round meets them. */
	ck_assert_ptr_null(qmgr_sched_take(tp, 5));
	/* A passenger that is done gives nothing back. */
	p1 = qmgr_sched_join(x->dest, 5);
	ck_assert_str_eq(p1->msg->qid, "A4");
	qmgr_sched_done(p1, QMGR_FB_OK, NULL, NULL, 5);
	ck_assert_int_eq(x->dest->active, 1);
	ck_assert_ptr_null(qmgr_sched_take(tp, 5));
	p2 = qmgr_sched_join(x->dest, 5);
	ck_assert_str_eq(p2->msg->qid, "A5");
	ck_assert_ptr_null(qmgr_sched_join(x->dest, 5));
	qmgr_sched_done(x, QMGR_FB_OK, NULL, NULL, 6);
	qmgr_sched_done(p2, QMGR_FB_OK, NULL, NULL, 6);
	qmgr_sched_done(b, QMGR_FB_OK, NULL, NULL, 6);
	transport_free(tp);
	for (int i = 0; i < 6; i++)
		free(a[i]);
	free(bm);
}
END_TEST

/* run_window - n requests to one destination end one by one with fb; the most at once */
static int
run_window(struct qmgr_transport *tp, int nmsg, enum qmgr_feedback fb, int *window_after)
{
	struct tmsg **m = xcalloc((size_t) nmsg, sizeof(*m));
	struct qmgr_batch *inflight[64];
	char	id[16];
	int	n, most = 0;

	for (int i = 0; i < nmsg; i++) {
		(void) str_fmt(id, sizeof(id), "M%d", i);
		m[i] = tmsg(id, 1, NULL);
		enqueue(tp, m[i], 1);
	}
	n = fill(tp, inflight, 64, 2);
	*window_after = 0;
	while (n > 0) {
		struct qmgr_dest *d = inflight[0]->dest;

		if (n > most)
			most = n;
		*window_after = d->window;
		qmgr_sched_done(inflight[0], fb, "4.4.1", "down", 3);
		memmove(inflight, inflight + 1, (size_t) --n * sizeof(inflight[0]));
		n += fill(tp, inflight + n, 64 - n, 3);
		if (fb == QMGR_FB_FAIL) {
			char	dsn[10], reason[200];

			while (qmgr_sched_take_dead(tp, dsn, sizeof(dsn), reason,
						    sizeof(reason)) != NULL)
				;
		}
	}
	for (int i = 0; i < nmsg; i++)
		free(m[i]);
	free(m);
	return most;
}

/*
 * The feedback knobs: a constant positive feedback of 1 grows the
 * window by one per success (Postfix's default), 0 never; with a
 * negative feedback of 0 and no failed-cohort limit a failing
 * destination keeps its window and is never suspended; with a limit of
 * 3 it takes three windows' worth of failures.
 */
START_TEST(test_feedback_knobs)
{
	struct qmgr_transport *tp;
	int	w;

	install("");
	tp = transport("smtp", 8, 50, 2);
	tp->pos_fb.per_window = false;		/* "1" */
	ck_assert_int_eq(run_window(tp, 40, QMGR_FB_OK, &w), 8);
	transport_free(tp);

	tp = transport("smtp", 8, 50, 2);
	tp->pos_fb.base = 0;			/* "0": stays at the initial 2 */
	ck_assert_int_eq(run_window(tp, 40, QMGR_FB_OK, &w), 2);
	ck_assert_int_eq(w, 2);
	transport_free(tp);

	tp = transport("smtp", 8, 50, 4);
	tp->neg_fb.base = 0;
	tp->fail_cohort_limit = 0;		/* immune to site failures */
	ck_assert_int_eq(run_window(tp, 30, QMGR_FB_FAIL, &w), 4);
	ck_assert_int_eq(w, 4);
	ck_assert_uint_eq(tp->nremembered, 0);	/* never suspended */
	transport_free(tp);

	tp = transport("smtp", 8, 50, 4);
	tp->neg_fb.per_window = false;		/* "1": one less per failure */
	tp->fail_cohort_limit = 3;
	{
		enum { N = 20 };
		struct tmsg *m[N];
		struct qmgr_batch *b[8];
		struct qmgr_dest *d;
		char	id[8];
		int	n, i, dead_at = -1;

		for (i = 0; i < N; i++) {
			(void) str_fmt(id, sizeof(id), "F%d", i);
			m[i] = tmsg(id, 1, NULL);
			enqueue(tp, m[i], 1);
		}
		n = fill(tp, b, 8, 1);
		ck_assert_int_eq(n, 4);
		d = b[0]->dest;
		/* 1/4 + 1/3 + 1/2 + 1 + 1 = 3.08 cohorts: dead at the fifth. */
		for (i = 0; i < 8 && dead_at < 0; i++) {
			if (qmgr_sched_done(b[0], QMGR_FB_FAIL, "4.4.1", "down", 2) > 0)
				dead_at = i;
			else
				ck_assert_int_eq(d->window, i < 3 ? 3 - i : 1);
			memmove(b, b + 1, (size_t) --n * sizeof(b[0]));
			n += fill(tp, b + n, 8 - n, 2);
		}
		ck_assert_int_eq(dead_at, 4);
		while (n > 0) {
			qmgr_sched_done(b[0], QMGR_FB_NONE, NULL, NULL, 2);
			memmove(b, b + 1, (size_t) --n * sizeof(b[0]));
		}
		{
			char	dsn[10], reason[200];

			while (qmgr_sched_take_dead(tp, dsn, sizeof(dsn), reason,
						    sizeof(reason)) != NULL)
				;
		}
		/* Suspended: remembered, so d is still there. */
		ck_assert_uint_eq(tp->nremembered, 1);
		ck_assert_uint_gt(d->dead_until, 0);
		for (i = 0; i < N; i++)
			free(m[i]);
	}
	transport_free(tp);
}
END_TEST

/*
 * A rate delay: one delivery at a time per destination, the next no
 * sooner than the delay after the last one ended, however much waits;
 * other destinations are not held up; nothing rides along
 * (pipelining); the destination's time is kept while nothing waits.
 */
START_TEST(test_rate_delay)
{
	const char *ua[] = {"a@slow.org"}, *ub[] = {"b@other.org"};
	struct tmsg *a[4], *bm = tmsg("B", 1, ub);
	struct qmgr_transport *tp;
	struct qmgr_batch *x, *y;
	char	id[8];

	install("");
	tp = transport("smtp", 1, 50, 1);
	tp->rate_delay_ms = 10000;
	tp->pipeline = 8;
	for (int i = 0; i < 4; i++) {
		(void) str_fmt(id, sizeof(id), "A%d", i);
		a[i] = tmsg(id, 1, ua);
		enqueue(tp, a[i], 1);
	}
	enqueue(tp, bm, 1);
	x = qmgr_sched_take(tp, 100);
	ck_assert_str_eq(x->msg->qid, "A0");
	y = qmgr_sched_take(tp, 100);
	ck_assert_str_eq(y->msg->qid, "B");
	ck_assert_ptr_null(qmgr_sched_take(tp, 100));
	ck_assert_ptr_null(qmgr_sched_join(x->dest, 100));
	qmgr_sched_done(x, QMGR_FB_OK, NULL, NULL, 1000);
	qmgr_sched_done(y, QMGR_FB_OK, NULL, NULL, 1000);
	/* Paced until 11000: the wake-up time is the caller's timer. */
	ck_assert_uint_eq(qmgr_sched_wake(tp, 5000), 11000);
	ck_assert_ptr_null(qmgr_sched_take(tp, 10999));
	ck_assert_uint_eq(qmgr_sched_wake(tp, 11000), 0);
	x = qmgr_sched_take(tp, 11000);
	ck_assert_str_eq(x->msg->qid, "A1");
	ck_assert_int_eq(x->dest->window, 1);
	qmgr_sched_done(x, QMGR_FB_OK, NULL, NULL, 12000);
	ck_assert_uint_eq(qmgr_sched_wake(tp, 12000), 22000);
	ck_assert_ptr_null(qmgr_sched_take(tp, 21999));
	(void) qmgr_sched_wake(tp, 22000);
	x = qmgr_sched_take(tp, 22000);
	ck_assert_str_eq(x->msg->qid, "A2");
	qmgr_sched_done(x, QMGR_FB_OK, NULL, NULL, 22000);
	(void) qmgr_sched_wake(tp, 32000);
	x = qmgr_sched_take(tp, 32000);
	ck_assert_str_eq(x->msg->qid, "A3");
	qmgr_sched_done(x, QMGR_FB_OK, NULL, NULL, 32000);
	/* Nothing waits, but the destination keeps its time (B's is gone). */
	ck_assert_uint_eq(tp->ndests, 1);
	a[0]->r[0].state = QR_TODO;
	enqueue(tp, a[0], 33000);
	ck_assert_ptr_null(qmgr_sched_take(tp, 33000));
	ck_assert_uint_eq(qmgr_sched_wake(tp, 42000), 0);
	x = qmgr_sched_take(tp, 42000);
	ck_assert_ptr_nonnull(x);
	qmgr_sched_done(x, QMGR_FB_OK, NULL, NULL, 42000);
	transport_free(tp);
	for (int i = 0; i < 4; i++)
		free(a[i]);
	free(bm);
}
END_TEST

START_TEST(test_dest_key)
{
	struct qmgr_transport local = {.name = "local", .per_rcpt = true};
	struct qmgr_transport smtp = {.name = "smtp"};
	char    key[QMGR_DEST_KEY_MAX], big[QMGR_ADDRESS_MAX + 1];
	char    hop[QMGR_NEXTHOP_MAX + 1];

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
	ck_assert_uint_eq(strlen(key), QMGR_NEXTHOP_MAX);
	qmgr_dest_key(&local, NULL, "h", key, sizeof(key));
	ck_assert_str_eq(key, "");
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
	tcase_add_test(tc, test_batches);
	tcase_add_test(tc, test_fairness);
	tcase_add_test(tc, test_window_grows);
	tcase_add_test(tc, test_feedback_knobs);
	tcase_add_test(tc, test_rate_delay);
	tcase_add_test(tc, test_suspension);
	tcase_add_test(tc, test_dead_time);
	tcase_add_test(tc, test_revive);
	tcase_add_test(tc, test_remembered);
	tcase_add_test(tc, test_drop_msg);
	tcase_add_test(tc, test_flood_to_one_user);
	tcase_add_test(tc, test_passengers);
	tcase_add_test(tc, test_dest_key);
	tcase_add_test(tc, test_trigger_bits);
	tcase_add_test(tc, test_move);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
