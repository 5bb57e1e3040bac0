/*
 * NAME
 *	event - epoll event loop with timers
 * SYNOPSIS
 *	#include "event.h"
 *
 *	struct ev_loop *loop = ev_loop_new();
 *	struct ev_io io;
 *	ev_io_init(&io, fd, on_ready, ctx);
 *	ev_io_start(loop, &io, EV_READ);
 *	struct ev_timer t;
 *	ev_timer_init(&t, on_timeout, ctx);
 *	ev_timer_start(loop, &t, 30000);	// ms from now
 *	ev_run(loop);				// until ev_break()
 * DESCRIPTION
 *	One loop per process (smtpd, qmgr, lookup, pickup, master).
 *	Watchers are embedded in the caller's structures; the loop never
 *	allocates per event.
 *
 *	ev_io: a descriptor and a callback cb(loop, io, revents) where
 *	revents is a mask of EV_READ, EV_WRITE, EV_ERROR (error or hang
 *	up; the callback should read to find out).  ev_io_start() adds or
 *	changes interest (level-triggered); ev_io_stop() removes it and
 *	must be called before the descriptor is closed.  ev_io_active()
 *	tells whether it is registered.
 *
 *	ev_timer: a one-shot timer with a callback cb(loop, timer).
 *	ev_timer_start() (re)arms it ms milliseconds from ev_now();
 *	ev_timer_stop() disarms it (harmless when not armed).  Timers live
 *	in a binary heap: O(log n) start and stop, so per-connection
 *	deadlines are cheap.  A timer may be restarted or stopped from
 *	inside any callback, including its own.
 *
 *	ev_signal: signals are blocked and delivered through a signalfd;
 *	cb(loop, sig) runs in the loop like any other event.  One
 *	callback per signal (a later call replaces it); a NULL callback
 *	stops handling the signal and unblocks it.  Returns 0, or -1 with
 *	errno (bad signal number, signalfd failure).  Like any blocked
 *	signal, two deliveries before the loop reads them count as one.
 *
 *	ev_now() is the loop's cached CLOCK_MONOTONIC time in ms, updated
 *	once per wakeup.  ev_break() makes ev_run() return after the
 *	current callbacks.  ev_run_once() waits at most timeout_ms (-1 =
 *	until an event or timer) and dispatches once; it returns -1 on a
 *	failed epoll_wait other than EINTR.
 *
 *	A watcher may be stopped, or its memory freed after stopping it,
 *	from inside any callback: the loop does not touch a watcher after
 *	it was stopped during the same dispatch round.  (ev_io_stop()
 *	removes the watcher's pending events from the round being
 *	dispatched, so nothing refers to it afterwards.)
 *
 *	One ev_io per descriptor: epoll registers a descriptor once, so
 *	one watcher carries both EV_READ and EV_WRITE interest.  A
 *	callback only sees the events it is still interested in: when an
 *	earlier callback of the same round changed the interest, the
 *	pending events are masked accordingly.
 *
 *	Order within a round: descriptor callbacks first (so data that
 *	arrived wins over a deadline that expired at the same moment),
 *	then every timer that is due, earliest first; timers due at the
 *	same millisecond run in the order they were started.  A timer
 *	(re)started from a callback with a delay of 0 runs in the next
 *	round, never in the current one, so a timer that re-arms itself
 *	cannot starve the descriptors.  ev_run_once() and ev_run() must
 *	not be called from inside a callback.
 *
 *	The epoll_wait() timeout is the time to the earliest timer (or
 *	timeout_ms if sooner); the system calls per round are one
 *	epoll_wait() plus one read() of the signalfd when a signal came.
 * BUGS
 *	Signals handled with ev_signal() stay blocked in a child after
 *	fork() and across execve(): a process that runs another program
 *	must unblock them in the child (sigprocmask) before execve().
 *	ev_loop_free() unblocks them in the calling process.
 */
#ifndef POSTERN_EVENT_H
#define POSTERN_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_READ		0x1
#define EV_WRITE	0x2
#define EV_ERROR	0x4

struct ev_loop;
struct ev_io;
struct ev_timer;

typedef void ev_io_cb(struct ev_loop *, struct ev_io *, unsigned revents);
typedef void ev_timer_cb(struct ev_loop *, struct ev_timer *);
typedef void ev_signal_cb(struct ev_loop *, int sig);

struct ev_io {
	int	fd;
	unsigned events;	/* interest mask while active */
	bool	active;
	ev_io_cb *cb;
	void   *data;
};

struct ev_timer {
	uint64_t when;		/* absolute ms, CLOCK_MONOTONIC */
	uint64_t seq;		/* internal: start order, breaks ties */
	size_t	heap_index;	/* internal; 0 when not armed */
	ev_timer_cb *cb;
	void   *data;
};

struct ev_loop *ev_loop_new(void);
void	ev_loop_free(struct ev_loop *loop);

void	ev_io_init(struct ev_io *io, int fd, ev_io_cb *cb, void *data);
void	ev_io_start(struct ev_loop *loop, struct ev_io *io, unsigned events);
void	ev_io_stop(struct ev_loop *loop, struct ev_io *io);
#define ev_io_active(io) ((io)->active)

void	ev_timer_init(struct ev_timer *t, ev_timer_cb *cb, void *data);
void	ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t ms);
void	ev_timer_stop(struct ev_loop *loop, struct ev_timer *t);
#define ev_timer_active(t) ((t)->heap_index != 0)

int	ev_signal(struct ev_loop *loop, int sig, ev_signal_cb *cb);

uint64_t ev_now(struct ev_loop *loop);
uint64_t ev_time_ms(void);	/* fresh CLOCK_MONOTONIC in ms */
void	ev_break(struct ev_loop *loop);
void	ev_run(struct ev_loop *loop);
int	ev_run_once(struct ev_loop *loop, int timeout_ms);

#endif
