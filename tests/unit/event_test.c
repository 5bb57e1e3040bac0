/* event_test - check suite for lib/util/event: io, timers, signals, stop in callbacks. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"

#include "event.h"
#include "mem.h"

static void
pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* A watcher that records what it saw. */
struct rec {
	struct ev_io io;
	unsigned last;
	int	calls;
};

static void
on_rec(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct rec *r = io->data;

	(void) loop;
	r->last = revents;
	r->calls++;
}

START_TEST(test_io_read_write)
{
	struct ev_loop *loop = ev_loop_new();
	struct rec r = {0};
	int     sv[2];
	char    c;

	pair(sv);
	ev_io_init(&r.io, sv[0], on_rec, &r);
	ev_io_start(loop, &r.io, EV_READ);
	ck_assert(ev_io_active(&r.io));

	/* Nothing to read: no callback. */
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 0);

	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	ck_assert_int_eq(ev_run_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_uint_eq(r.last, EV_READ);

	/* Level-triggered: still readable until read. */
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 2);
	ck_assert_int_eq(read(sv[0], &c, 1), 1);
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 2);

	/* Change interest to write: a socket with room is writable. */
	ev_io_start(loop, &r.io, EV_WRITE);
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 3);
	ck_assert_uint_eq(r.last, EV_WRITE);

	/* Read interest only: pending data is seen, not writability. */
	ck_assert_int_eq(write(sv[1], "y", 1), 1);
	ev_io_start(loop, &r.io, EV_READ | EV_WRITE);
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_uint_eq(r.last, EV_READ | EV_WRITE);
	ev_io_start(loop, &r.io, EV_READ);
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_uint_eq(r.last, EV_READ);

	ev_io_stop(loop, &r.io);
	ck_assert(!ev_io_active(&r.io));
	ev_io_stop(loop, &r.io);		/* harmless twice */
	r.calls = 0;
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 0);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(loop);
}
END_TEST

START_TEST(test_io_hangup)
{
	struct ev_loop *loop = ev_loop_new();
	struct rec r = {0};
	int     p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ev_io_init(&r.io, p[0], on_rec, &r);
	ev_io_start(loop, &r.io, EV_READ);
	close(p[1]);
	ck_assert_int_eq(ev_run_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert(r.last & EV_ERROR);
	ev_io_stop(loop, &r.io);
	close(p[0]);
	ev_loop_free(loop);
}
END_TEST

/*
 * Two readable watchers; whichever runs first stops and frees the other.
 * The freed watcher is scribbled over first: if the loop still called
 * it, the NULL callback would crash the test.
 */
struct victim {
	struct ev_io io;
	struct victim **other;		/* where the peer's pointer lives */
	int    *calls;
};

static void
on_victim(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct victim *v = io->data;
	struct victim *o = *v->other;

	(void) revents;
	(*v->calls)++;
	if (o != NULL) {
		ev_io_stop(loop, &o->io);
		memset(o, 0, sizeof(*o));
		free(o);
		*v->other = NULL;
	}
}

START_TEST(test_stop_and_free_other_in_same_round)
{
	struct ev_loop *loop = ev_loop_new();
	struct victim *a = xmalloc(sizeof(*a)), *b = xmalloc(sizeof(*b));
	int     s1[2], s2[2], calls = 0;

	pair(s1);
	pair(s2);
	a->other = &b, a->calls = &calls;
	b->other = &a, b->calls = &calls;
	ev_io_init(&a->io, s1[0], on_victim, a);
	ev_io_init(&b->io, s2[0], on_victim, b);
	ev_io_start(loop, &a->io, EV_READ);
	ev_io_start(loop, &b->io, EV_READ);
	ck_assert_int_eq(write(s1[1], "x", 1), 1);
	ck_assert_int_eq(write(s2[1], "x", 1), 1);
	ck_assert_int_eq(ev_run_once(loop, 1000), 0);
	ck_assert_int_eq(calls, 1);
	/* The survivor goes on working. */
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_int_eq(calls, 2);
	if (a != NULL) {
		ev_io_stop(loop, &a->io);
		free(a);
	}
	if (b != NULL) {
		ev_io_stop(loop, &b->io);
		free(b);
	}
	close(s1[0]), close(s1[1]), close(s2[0]), close(s2[1]);
	ev_loop_free(loop);
}
END_TEST

/* A watcher that stops itself, closes, and a new one reuses the fd. */
struct reuse {
	struct ev_io io;
	struct rec *fresh;
	int	newfd;
	int	calls;
};

static void
on_reuse(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct reuse *u = io->data;
	int     fd = io->fd;

	(void) revents;
	u->calls++;
	ev_io_stop(loop, io);
	close(fd);
	/* The same descriptor number, now a fresh socket with no data. */
	ck_assert_int_eq(dup2(u->newfd, fd), fd);
	ev_io_init(&u->fresh->io, fd, on_rec, u->fresh);
	ev_io_start(loop, &u->fresh->io, EV_READ);
}

START_TEST(test_stop_and_reuse_fd_in_callback)
{
	struct ev_loop *loop = ev_loop_new();
	struct reuse u = {0};
	struct rec fresh = {0};
	int     s1[2], s2[2];

	pair(s1);
	pair(s2);
	u.fresh = &fresh;
	u.newfd = s2[0];
	ev_io_init(&u.io, s1[0], on_reuse, &u);
	ev_io_start(loop, &u.io, EV_READ);
	ck_assert_int_eq(write(s1[1], "x", 1), 1);
	ck_assert_int_eq(ev_run_once(loop, 1000), 0);
	ck_assert_int_eq(u.calls, 1);
	ck_assert_int_eq(fresh.calls, 0);
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_int_eq(fresh.calls, 0);	/* nothing stale delivered */
	ck_assert_int_eq(write(s2[1], "y", 1), 1);
	ck_assert_int_eq(ev_run_once(loop, 1000), 0);
	ck_assert_int_eq(fresh.calls, 1);
	ev_io_stop(loop, &fresh.io);
	close(s1[0]), close(s1[1]), close(s2[0]), close(s2[1]);
	ev_loop_free(loop);
}
END_TEST

/*
 * Timers.
 */
#define NT	1000

static int order[NT];
static int norder;

struct tmr {
	struct ev_timer t;
	int	id;
};

static void
on_order(struct ev_loop *loop, struct ev_timer *t)
{
	struct tmr *x = t->data;

	(void) loop;
	ck_assert_int_lt(norder, NT);
	order[norder++] = x->id;
}

START_TEST(test_timer_order_and_ties)
{
	struct ev_loop *loop = ev_loop_new();
	static struct tmr ts[6];
	static const uint64_t delay[6] = {30, 10, 20, 10, 0, 20};
	static const int want[6] = {4, 1, 3, 2, 5, 0};

	norder = 0;
	for (int i = 0; i < 6; i++) {
		ts[i].id = i;
		ev_timer_init(&ts[i].t, on_order, &ts[i]);
		ck_assert(!ev_timer_active(&ts[i].t));
		ev_timer_start(loop, &ts[i].t, delay[i]);
		ck_assert(ev_timer_active(&ts[i].t));
	}
	while (norder < 6)
		ck_assert_int_eq(ev_run_once(loop, -1), 0);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(order[i], want[i]);
		ck_assert(!ev_timer_active(&ts[i].t));
	}
	ev_loop_free(loop);
}
END_TEST

START_TEST(test_many_timers_with_cancellation)
{
	struct ev_loop *loop = ev_loop_new();
	static struct tmr ts[NT];
	uint64_t start = ev_now(loop);
	int     fired = 0;

	srandom(42);
	norder = 0;
	for (int i = 0; i < NT; i++) {
		ts[i].id = i;
		ev_timer_init(&ts[i].t, on_order, &ts[i]);
		ev_timer_start(loop, &ts[i].t, (uint64_t) (random() % 40));
	}
	/* Cancel every third, re-arm every fifth with a new delay. */
	for (int i = 0; i < NT; i += 3)
		ev_timer_stop(loop, &ts[i].t);
	for (int i = 0; i < NT; i += 5)
		ev_timer_start(loop, &ts[i].t, (uint64_t) (random() % 40));
	for (int i = 0; i < NT; i++)
		fired += ev_timer_active(&ts[i].t);
	while (norder < fired)
		ck_assert_int_eq(ev_run_once(loop, -1), 0);
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_int_eq(norder, fired);
	/* Deadlines never go backwards; ties in start order. */
	for (int i = 1; i < norder; i++) {
		const struct ev_timer *p = &ts[order[i - 1]].t, *q = &ts[order[i]].t;

		ck_assert(p->when < q->when || (p->when == q->when && p->seq < q->seq));
	}
	for (int i = 0; i < norder; i++) {
		ck_assert_int_ne(order[i] % 3 == 0 && order[i] % 5 != 0, 1);
		ck_assert_uint_le(ts[order[i]].t.when, ev_now(loop));
	}
	ck_assert_uint_ge(ev_now(loop), start);
	ev_loop_free(loop);
}
END_TEST

/* Timer A, when it fires, stops B (due in the same round) and re-arms C. */
static struct ev_timer timer_a, timer_b, timer_c;
static int na, nb, nc;

static void
on_a(struct ev_loop *loop, struct ev_timer *t)
{
	(void) t;
	na++;
	ev_timer_stop(loop, &timer_b);
	ev_timer_start(loop, &timer_c, 10000);
}

static void
on_b(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop, (void) t;
	nb++;
}

static void
on_c(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop, (void) t;
	nc++;
}

START_TEST(test_timer_cancel_from_callback)
{
	struct ev_loop *loop = ev_loop_new();

	na = nb = nc = 0;
	ev_timer_init(&timer_a, on_a, NULL);
	ev_timer_init(&timer_b, on_b, NULL);
	ev_timer_init(&timer_c, on_c, NULL);
	ev_timer_start(loop, &timer_a, 5);
	ev_timer_start(loop, &timer_b, 5);
	ev_timer_start(loop, &timer_c, 5);
	usleep(20000);
	ck_assert_int_eq(ev_run_once(loop, 0), 0);
	ck_assert_int_eq(na, 1);
	ck_assert_int_eq(nb, 0);
	ck_assert_int_eq(nc, 0);
	ck_assert(!ev_timer_active(&timer_b));
	ck_assert(ev_timer_active(&timer_c));
	ck_assert_uint_ge(timer_c.when, ev_now(loop) + 10000);
	ev_timer_stop(loop, &timer_c);
	ev_timer_stop(loop, &timer_c);		/* harmless twice */
	ck_assert(!ev_timer_active(&timer_c));
	ev_loop_free(loop);
}
END_TEST

/* A timer that re-arms itself with 0 runs once per round, not forever. */
static int nself;

static void
on_self(struct ev_loop *loop, struct ev_timer *t)
{
	if (++nself < 5)
		ev_timer_start(loop, t, 0);
}

START_TEST(test_timer_rearm_zero_next_round)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer t;

	nself = 0;
	ev_timer_init(&t, on_self, NULL);
	ev_timer_start(loop, &t, 0);
	for (int round = 1; round <= 5; round++) {
		ck_assert_int_eq(ev_run_once(loop, 1000), 0);
		ck_assert_int_eq(nself, round);
	}
	ck_assert(!ev_timer_active(&t));
	ev_loop_free(loop);
}
END_TEST

static void
on_break(struct ev_loop *loop, struct ev_timer *t)
{
	(void) t;
	ev_break(loop);
}

START_TEST(test_run_break_and_clock)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer t;
	uint64_t t0 = ev_now(loop);		/* timers count from here */

	ev_timer_init(&t, on_break, NULL);
	ev_timer_start(loop, &t, 30);
	ev_run(loop);
	ck_assert_uint_ge(ev_now(loop), t0 + 30);
	ck_assert_uint_ge(ev_time_ms(), ev_now(loop));

	/* A bounded wait with nothing to do returns after the timeout. */
	t0 = ev_time_ms();
	ck_assert_int_eq(ev_run_once(loop, 25), 0);
	ck_assert_uint_ge(ev_time_ms(), t0 + 25);
	ev_loop_free(loop);
}
END_TEST

/*
 * Signals.
 */
static int got_usr1, got_usr2;

static void
on_sig(struct ev_loop *loop, int sig)
{
	(void) loop;
	if (sig == SIGUSR1)
		got_usr1++;
	if (sig == SIGUSR2)
		got_usr2++;
}

START_TEST(test_signals)
{
	struct ev_loop *loop = ev_loop_new();
	sigset_t cur;

	got_usr1 = got_usr2 = 0;
	ck_assert_int_eq(ev_signal(loop, SIGUSR1, on_sig), 0);
	ck_assert_int_eq(ev_signal(loop, SIGUSR2, on_sig), 0);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	ck_assert(sigismember(&cur, SIGUSR1));
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(ev_run_once(loop, 1000), 0);
	ck_assert_int_eq(got_usr1, 1);
	ck_assert_int_eq(got_usr2, 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(raise(SIGUSR2), 0);
	ck_assert_int_eq(ev_run_once(loop, 1000), 0);
	ck_assert_int_eq(got_usr1, 2);
	ck_assert_int_eq(got_usr2, 1);

	/* Removing the handler unblocks the signal. */
	ck_assert_int_eq(ev_signal(loop, SIGUSR2, NULL), 0);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	ck_assert(!sigismember(&cur, SIGUSR2));
	ck_assert(sigismember(&cur, SIGUSR1));

	ck_assert_int_eq(ev_signal(loop, 0, on_sig), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ev_signal(loop, SIGKILL, on_sig), -1);
	ck_assert_int_eq(ev_signal(loop, 65, on_sig), -1);

	/* Freeing the loop unblocks what it blocked. */
	ev_loop_free(loop);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	ck_assert(!sigismember(&cur, SIGUSR1));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("event");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_io_read_write);
	tcase_add_test(tc, test_io_hangup);
	tcase_add_test(tc, test_stop_and_free_other_in_same_round);
	tcase_add_test(tc, test_stop_and_reuse_fd_in_callback);
	tcase_add_test(tc, test_timer_order_and_ties);
	tcase_add_test(tc, test_many_timers_with_cancellation);
	tcase_add_test(tc, test_timer_cancel_from_callback);
	tcase_add_test(tc, test_timer_rearm_zero_next_round);
	tcase_add_test(tc, test_run_break_and_clock);
	tcase_add_test(tc, test_signals);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
