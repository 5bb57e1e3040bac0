/*
 * NAME
 *	event - epoll event loop with timers
 * DESCRIPTION
 *	See event.h.  One epoll descriptor (level-triggered), a binary
 *	min-heap of timers indexed from 1 (index 0 means "not armed"),
 *	and one signalfd for every handled signal.
 *
 *	The dispatch round: epoll_wait() with the time to the earliest
 *	timer as its timeout, update the cached clock, call the
 *	descriptor callbacks, then the timers that are due.
 *
 *	Stopped watchers: epoll_wait() returns up to EV_MAX_EVENTS
 *	pointers to watchers.  A callback may stop (and free) a watcher
 *	whose event is still waiting further down that array, so
 *	ev_io_stop() looks for the watcher among the events not yet
 *	dispatched in the current round and clears them.  The scan is
 *	over at most EV_MAX_EVENTS entries, costs no system call, and
 *	lets the dispatcher trust every pointer it still finds; a
 *	generation number inside the watcher could not do that, because
 *	reading it from freed memory is the very bug to avoid.
 *
 *	Timers: the heap orders by (when, seq) where seq is a per-loop
 *	counter taken at each start, so equal deadlines run in start
 *	order.  The timer phase runs only timers started before the
 *	round began; one re-armed with a delay of 0 waits for the next
 *	round (epoll_wait() then gets a timeout of 0).
 * DIAGNOSTICS
 *	Misuse (a second watcher on a descriptor, stopping a watcher
 *	whose descriptor was already closed, a nested ev_run_once()) is
 *	a bug and panics; a failing epoll_ctl() for lack of resources is
 *	fatal.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "mem.h"

#define EV_MAX_EVENTS	64
#define EV_NSIG		65	/* signals 1..64 */

struct ev_loop {
	int	epfd;
	uint64_t now;
	bool	brk;
	bool	running;		/* inside ev_run_once() */

	/* The round being dispatched: events[pos + 1 .. n) are pending. */
	struct epoll_event events[EV_MAX_EVENTS];
	int	disp_pos;
	int	disp_n;

	/* Timer heap: heap[1 .. nheap]; heap[0] unused. */
	struct ev_timer **heap;
	size_t	nheap;
	size_t	heap_cap;
	uint64_t seq;

	/* Signals. */
	int	sigfd;
	sigset_t sigmask;
	struct ev_io sigio;
	ev_signal_cb *sigcb[EV_NSIG];
};

uint64_t
ev_time_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		log_panic("clock_gettime(CLOCK_MONOTONIC): %m");
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

struct ev_loop *
ev_loop_new(void)
{
	struct ev_loop *loop = xcalloc(1, sizeof(*loop));

	if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		log_fatal("epoll_create1: %m (raise the process's descriptor limit?)");
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->now = ev_time_ms();
	loop->heap_cap = 16;
	loop->heap = xreallocarray(NULL, loop->heap_cap + 1, sizeof(*loop->heap));
	return loop;
}

void
ev_loop_free(struct ev_loop *loop)
{
	if (loop == NULL)
		return;
	if (loop->running)
		log_panic("ev_loop_free: called from inside a callback");
	if (loop->sigfd >= 0) {
		(void) sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
		(void) close(loop->sigfd);
	}
	(void) close(loop->epfd);
	free(loop->heap);
	free(loop);
}

uint64_t
ev_now(struct ev_loop *loop)
{
	return loop->now;
}

void
ev_break(struct ev_loop *loop)
{
	loop->brk = true;
}

/*
 * Descriptors.
 */

void
ev_io_init(struct ev_io *io, int fd, ev_io_cb *cb, void *data)
{
	io->fd = fd;
	io->events = 0;
	io->active = false;
	io->cb = cb;
	io->data = data;
}

static uint32_t
to_epoll(unsigned events)
{
	return ((events & EV_READ) ? EPOLLIN : 0)
	    | ((events & EV_WRITE) ? EPOLLOUT : 0);
}

void
ev_io_start(struct ev_loop *loop, struct ev_io *io, unsigned events)
{
	struct epoll_event ev;
	int     op;

	events &= EV_READ | EV_WRITE;
	if (io->active && io->events == events)
		return;				/* no change, no system call */
	if (io->fd < 0)
		log_panic("ev_io_start: watcher has no descriptor");
	memset(&ev, 0, sizeof(ev));
	ev.events = to_epoll(events);
	ev.data.ptr = io;
	op = io->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(loop->epfd, op, io->fd, &ev) < 0) {
		if (errno == ENOMEM || errno == ENOSPC)
			log_fatal("epoll_ctl: fd %d: %m (raise "
				  "fs.epoll.max_user_watches?)", io->fd);
		log_panic("ev_io_start: epoll_ctl %s fd %d: %m (second "
			  "watcher on one descriptor, or not pollable?)",
			  op == EPOLL_CTL_ADD ? "add" : "mod", io->fd);
	}
	io->events = events;
	io->active = true;
}

void
ev_io_stop(struct ev_loop *loop, struct ev_io *io)
{
	if (!io->active)
		return;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0)
		log_panic("ev_io_stop: epoll_ctl del fd %d: %m (descriptor "
			  "closed before ev_io_stop?)", io->fd);
	io->active = false;
	io->events = 0;
	/* Forget its events that this round has not dispatched yet. */
	for (int i = loop->disp_pos + 1; i < loop->disp_n; i++)
		if (loop->events[i].data.ptr == io)
			loop->events[i].data.ptr = NULL;
}

/*
 * Timers: a binary min-heap in heap[1 .. nheap].
 */

static bool
timer_before(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void
heap_set(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void
sift_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	while (i > 1 && timer_before(t, loop->heap[i / 2])) {
		heap_set(loop, i, loop->heap[i / 2]);
		i /= 2;
	}
	heap_set(loop, i, t);
}

static void
sift_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	size_t  n = loop->nheap;

	for (;;) {
		size_t  c = 2 * i;

		if (c > n)
			break;
		if (c + 1 <= n && timer_before(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!timer_before(loop->heap[c], t))
			break;
		heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	heap_set(loop, i, t);
}

static void
heap_remove(struct ev_loop *loop, struct ev_timer *t)
{
	size_t  i = t->heap_index;
	struct ev_timer *last;

	if (i == 0 || i > loop->nheap || loop->heap[i] != t)
		log_panic("ev_timer: heap index %zu of %zu is corrupt "
			  "(timer armed on another loop, or freed while armed?)",
			  i, loop->nheap);
	last = loop->heap[loop->nheap--];
	t->heap_index = 0;
	if (last == t)
		return;
	heap_set(loop, i, last);
	if (i > 1 && timer_before(last, loop->heap[i / 2]))
		sift_up(loop, i);
	else
		sift_down(loop, i);
}

void
ev_timer_init(struct ev_timer *t, ev_timer_cb *cb, void *data)
{
	t->when = 0;
	t->seq = 0;
	t->heap_index = 0;
	t->cb = cb;
	t->data = data;
}

void
ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t ms)
{
	if (t->heap_index != 0)
		heap_remove(loop, t);
	t->when = ms > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + ms;
	t->seq = loop->seq++;
	if (loop->nheap == loop->heap_cap) {
		loop->heap_cap *= 2;
		loop->heap = xreallocarray(loop->heap, loop->heap_cap + 1,
					   sizeof(*loop->heap));
	}
	loop->nheap++;
	loop->heap[loop->nheap] = t;
	sift_up(loop, loop->nheap);
}

void
ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	if (t->heap_index != 0)
		heap_remove(loop, t);
}

/*
 * Signals.
 */

static void
on_signalfd(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct signalfd_siginfo si[8];
	ssize_t n;

	(void) revents;
	n = read(io->fd, si, sizeof(si));
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_error("read signalfd: %m");
		return;
	}
	for (size_t i = 0; i < (size_t) n / sizeof(si[0]); i++) {
		uint32_t sig = si[i].ssi_signo;

		/* Look the callback up each time: one may remove another. */
		if (sig < EV_NSIG && loop->sigcb[sig] != NULL)
			loop->sigcb[sig](loop, (int) sig);
	}
}

int
ev_signal(struct ev_loop *loop, int sig, ev_signal_cb *cb)
{
	sigset_t one;
	int     fd;

	if (sig <= 0 || sig >= EV_NSIG || sig == SIGKILL || sig == SIGSTOP) {
		errno = EINVAL;
		return -1;
	}
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (cb == NULL) {
		loop->sigcb[sig] = NULL;
		if (!sigismember(&loop->sigmask, sig))
			return 0;
		sigdelset(&loop->sigmask, sig);
		if (signalfd(loop->sigfd, &loop->sigmask, 0) < 0)
			return -1;
		return sigprocmask(SIG_UNBLOCK, &one, NULL);
	}
	if (sigismember(&loop->sigmask, sig)) {
		loop->sigcb[sig] = cb;
		return 0;
	}
	/* Block first, so that no delivery slips in between. */
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return -1;
	sigaddset(&loop->sigmask, sig);
	fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		int     saved = errno;

		sigdelset(&loop->sigmask, sig);
		(void) sigprocmask(SIG_UNBLOCK, &one, NULL);
		errno = saved;
		return -1;
	}
	loop->sigcb[sig] = cb;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		ev_io_init(&loop->sigio, fd, on_signalfd, NULL);
		ev_io_start(loop, &loop->sigio, EV_READ);
	}
	return 0;
}

/*
 * The loop.
 */

/* wait_ms - epoll_wait() timeout: until the first timer, at most cap */
static int
wait_ms(struct ev_loop *loop, int cap)
{
	uint64_t fresh, when, ms;

	if (loop->nheap == 0)
		return cap;
	when = loop->heap[1]->when;
	fresh = ev_time_ms();		/* callbacks may have taken a while */
	ms = when > fresh ? when - fresh : 0;
	if (cap >= 0 && ms > (uint64_t) cap)
		return cap;
	return ms > INT_MAX ? INT_MAX : (int) ms;
}

static unsigned
from_epoll(uint32_t e)
{
	return ((e & EPOLLIN) ? EV_READ : 0)
	    | ((e & EPOLLOUT) ? EV_WRITE : 0)
	    | ((e & (EPOLLERR | EPOLLHUP)) ? EV_ERROR : 0);
}

int
ev_run_once(struct ev_loop *loop, int timeout_ms)
{
	uint64_t seq_limit = loop->seq;
	int     n;

	if (loop->running)
		log_panic("ev_run_once: called from inside a callback");
	loop->running = true;
	n = epoll_wait(loop->epfd, loop->events, EV_MAX_EVENTS,
		       wait_ms(loop, timeout_ms));
	loop->now = ev_time_ms();
	if (n < 0) {
		if (errno != EINTR) {
			loop->running = false;
			return -1;
		}
		n = 0;
	}

	loop->disp_n = n;
	for (loop->disp_pos = 0; loop->disp_pos < n; loop->disp_pos++) {
		struct epoll_event *e = &loop->events[loop->disp_pos];
		struct ev_io *io = e->data.ptr;
		unsigned revents;

		if (io == NULL)			/* stopped earlier this round */
			continue;
		revents = from_epoll(e->events) & (io->events | EV_ERROR);
		if (revents != 0)
			io->cb(loop, io, revents);
		/* io may be gone now: do not touch it. */
	}
	loop->disp_pos = loop->disp_n = 0;

	while (loop->nheap > 0) {
		struct ev_timer *t = loop->heap[1];

		if (t->when > loop->now || t->seq >= seq_limit)
			break;
		heap_remove(loop, t);
		t->cb(loop, t);
		/* t may be re-armed or gone: do not touch it. */
	}
	loop->running = false;
	return 0;
}

void
ev_run(struct ev_loop *loop)
{
	loop->brk = false;
	while (!loop->brk)
		if (ev_run_once(loop, -1) < 0)
			log_fatal("epoll_wait: %m");
	loop->brk = false;
}
