/*
 * NAME
 *	qmgr_deliver - connections to delivery agents, never blocking
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	qmgr_deliver_init(loop);
 *	qmgr_deliver_kick(tp);		// start what the limits allow
 * DESCRIPTION
 *	A transport's recipients (qmgr_sched.c) go to its agent over
 *	persistent connections to the agent's socket (private/NAME for
 *	transport NAME), one request at a time per connection (unless the
 *	agent takes more, below), in the
 *	delivery protocol every agent speaks (lib/svc/delivery.h).  An agent
 *	greets each connection it accepts (DELIVERY_HELLO), and nothing
 *	is sent on a connection before its greeting: a connection that
 *	has not been greeted is pending.  At most QMGR_PENDING_MAX are
 *	pending per transport, and only while recipients wait, so qmgr
 *	never needs to know how many processes an agent may have: as in
 *	Postfix, the master starts agent processes up to the service's
 *	maxproc in master.cf, each takes one connection, and what the
 *	agents cannot take waits in qmgr, not in their listen queue.  A
 *	connection that has been idle for QMGR_IDLE_MS is closed so that
 *	the process may retire.  An agent that greets with a pipeline of
 *	P (lib/svc/delivery.h; local says 8) is sent up to P requests on a
 *	connection before their replies, all for the destination that
 *	connection is delivering to: peers parked there because it is at
 *	its window ride along (qmgr_sched_join()), so a busy mailbox gets
 *	its deliveries in batches that local commits together, without
 *	more parallel deliveries than its window.  Replies come in the
 *	order the requests went.  Which recipient goes next, and whether
 *	its destination has room, is qmgr_sched.c's decision; a
 *	connection serves any destination.  An idle connection that last
 *	served the same destination is preferred: the local process
 *	behind it keeps that user's delivery child (local_kept.c), which
 *	another process would have to fork.  When a reply comes, the
 *	connection gets its next request before the results are recorded
 *	(and the message perhaps removed): the agent does not wait for
 *	qmgr's bookkeeping.  The agent logs each recipient's result; qmgr
 *	records it in the queue file.
 *
 *	Everything is non-blocking: connect() to a UNIX socket does not
 *	wait (a full listen queue is EAGAIN, tried again shortly), the
 *	request (with the queue file's descriptor) is queued on an
 *	ipc_conn and written when the socket takes it, and the reply is
 *	read by the event loop.  A reply must come within ipc_timeout
 *	plus QMGR_REPLY_SLACK_MS; otherwise, and when the connection
 *	breaks or the agent says something malformed, the request's
 *	recipients are deferred ("4.3.0 lost connection with the local
 *	delivery agent") and the connection closed.  An agent that cannot
 *	be reached at all (no such service: connect() fails; or no
 *	greeting within QMGR_GREET_MS while the transport has no other
 *	connection) defers what waits for it, and the transport is left
 *	alone for QMGR_RETRY_MS.
 *
 *	While qmgr stops (server_stopping()), nothing new is started;
 *	requests in flight finish.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "delivery.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "qmgr.h"
#include "server.h"
#include "str.h"

#define QMGR_IDLE_MS		3000	/* close an idle agent connection */
#define QMGR_REPLY_SLACK_MS	60000	/* beyond ipc_timeout */
#define QMGR_RETRY_MS		5000	/* after an agent could not be reached */
#define QMGR_BACKLOG_MS		100	/* after a full listen queue */
#define QMGR_GREET_MS		60000	/* a connection waits for its greeting */
#define QMGR_PENDING_MAX	2	/* connections not greeted yet */
#define QMGR_CONN_MAX		10000	/* connections per transport */
#define QMGR_REP_MAX		IPC_MSG_MAX

/* A request sent and not answered yet. */
struct qmgr_flight {
	struct qmgr_batch *batch;
	struct delivery_rcpt *req;	/* what the request said of them */
	uint64_t send_ms;		/* when it went out */
	double	conn_delay;		/* opening the connection, for the first */
};

struct qmgr_conn {
	struct qmgr_transport *tp;
	int	fd;
	struct ipc_conn ipc;
	struct ev_io io;
	struct ev_timer timer;
	struct qmgr_flight fl[DELIVERY_PIPELINE_MAX];	/* in the order sent */
	unsigned nfl;			/* in flight; 0: idle */
	unsigned pipeline;		/* the agent takes this many at once */
	bool	greeted;		/* the agent took the connection */
	uint64_t dest_hash;		/* the destination it served last */
	uint64_t open_ms;		/* when connect() was called */
	bool	replied;		/* at least one reply on it */
	struct qmgr_conn *next;
};

static struct ev_loop *dloop;
static struct ev_timer sweep_timer;
static size_t nbusy;

#define QMGR_SWEEP_MS	60000		/* forget destinations now and then */

static void conn_io(struct ev_loop *, struct ev_io *, unsigned);
static void conn_timer(struct ev_loop *, struct ev_timer *);
static int send_batch(struct qmgr_conn *c, struct qmgr_batch *b);

static void
sweep(struct ev_loop *loop, struct ev_timer *t)
{
	uint64_t now = ev_time_ms();

	for (size_t i = 0; i < qmgr_ntransports; i++)
		qmgr_sched_sweep(qmgr_transport_list[i], now);
	ev_timer_start(loop, t, QMGR_SWEEP_MS);
}

void
qmgr_deliver_init(struct ev_loop *loop)
{
	dloop = loop;
	ev_timer_init(&sweep_timer, sweep, NULL);
	ev_timer_start(loop, &sweep_timer, QMGR_SWEEP_MS);
}

size_t
qmgr_deliver_busy(void)
{
	return nbusy;
}

static double
since(uint64_t then_ms, uint64_t now_ms)
{
	return now_ms > then_ms ? (double) (now_ms - then_ms) / 1000.0 : 0;
}

/*
 * defer_batch - give b back to the scheduler with feedback fb and
 * defer its recipients with reason (qmgr logs them: no agent did)
 */
static void
defer_batch(struct qmgr_batch *b, enum qmgr_feedback fb, int status,
	    const char *dsn, const char *reason)
{
	struct qmgr_rcpt *rs[DELIVERY_RCPT_MAX];
	size_t  n = b->n;
	uint64_t t = ev_time_ms();

	memcpy(rs, b->rcpts, n * sizeof(rs[0]));
	(void) qmgr_sched_done(b, fb, NULL, NULL, t);
	for (size_t i = 0; i < n; i++)
		qmgr_msg_result(rs[i], status, dsn, reason, "none",
				since(rs[i]->msg->active_ms, t), 0, 0);
}

static void
conn_close(struct qmgr_conn *c)
{
	struct qmgr_conn **pp;

	ev_io_stop(dloop, &c->io);
	ev_timer_stop(dloop, &c->timer);
	ipc_conn_free(&c->ipc);
	(void) close(c->fd);
	for (pp = &c->tp->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->tp->nconns--;
	if (!c->greeted)
		c->tp->npending--;
	for (unsigned i = 0; i < c->nfl; i++)
		free(c->fl[i].req);
	free(c);
}

/* conn_fail - the connection is lost: defer what it carried, close, go on */
static void
conn_fail(struct qmgr_conn *c, const char *why)
{
	struct qmgr_transport *tp = c->tp;
	struct qmgr_batch *lost[DELIVERY_PIPELINE_MAX];
	unsigned nlost = c->nfl;
	char    reason[300];

	if (!c->replied)
		tp->retry_at_ms = ev_time_ms() + QMGR_RETRY_MS / 5;	/* crashes at once? */
	for (unsigned i = 0; i < nlost; i++) {
		lost[i] = c->fl[i].batch;
		free(c->fl[i].req);
	}
	c->nfl = 0;
	nbusy -= nlost;
	tp->nbusy -= (int) nlost;
	conn_close(c);
	(void) str_fmt(reason, sizeof(reason), "lost connection with the %s "
		       "delivery agent: %s", tp->name, why);
	for (unsigned i = 0; i < nlost; i++)
		defer_batch(lost[i], QMGR_FB_NONE, DELIVERY_DEFER, "4.3.0", reason);
	qmgr_deliver_kick(tp);
}

static void
kick_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop;
	qmgr_deliver_kick(t->data);
}

static void
retry_later(struct qmgr_transport *tp, uint64_t ms)
{
	if (!tp->timer_ready) {
		ev_timer_init(&tp->kick_timer, kick_timer, tp);
		tp->timer_ready = true;
	}
	if (!ev_timer_active(&tp->kick_timer))
		ev_timer_start(dloop, &tp->kick_timer, ms);
}

/* conn_open - a new, pending connection to tp's agent, or NULL (errno) */
static struct qmgr_conn *
conn_open(struct qmgr_transport *tp)
{
	struct qmgr_conn *c;
	int     fd = ipc_connect(tp->service, true);

	if (fd < 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->tp = tp;
	c->fd = fd;
	c->pipeline = 1;
	c->open_ms = ev_time_ms();
	ipc_conn_init(&c->ipc, fd, QMGR_REP_MAX);
	ev_io_init(&c->io, fd, conn_io, c);
	ev_timer_init(&c->timer, conn_timer, c);
	c->next = tp->conns;
	tp->conns = c;
	tp->nconns++;
	tp->npending++;
	ev_io_start(dloop, &c->io, EV_READ);
	ev_timer_start(dloop, &c->timer, QMGR_GREET_MS);
	return c;
}

/* drain_dead - defer what waits for a suspended destination */
static void
drain_dead(struct qmgr_transport *tp)
{
	struct qmgr_rcpt *r;
	char    dsn[10], reason[QMGR_REASON_MAX];
	uint64_t t = ev_time_ms();

	while ((r = qmgr_sched_take_dead(tp, dsn, sizeof(dsn), reason,
					 sizeof(reason))) != NULL)
		qmgr_msg_result(r, DELIVERY_DEFER, dsn, reason, "none",
				since(r->msg->active_ms, t), 0, 0);
}

/* unreachable - the agent cannot be reached: defer what waits for it */
static void
unreachable(struct qmgr_transport *tp, const char *why)
{
	struct qmgr_batch *b;
	char    reason[400];

	(void) str_fmt(reason, sizeof(reason), "mail transport unavailable: "
		       "cannot connect to the %s delivery agent (%s): %s",
		       tp->name, tp->service, why);
	log_warn("%s", reason);
	tp->retry_at_ms = ev_time_ms() + QMGR_RETRY_MS;
	while ((b = qmgr_sched_take(tp, ev_time_ms())) != NULL)
		defer_batch(b, QMGR_FB_NONE, DELIVERY_DEFER, "4.3.0", reason);
	drain_dead(tp);
}

/* idle_conn - an idle connection, one that served dest last first */
static struct qmgr_conn *
idle_conn(struct qmgr_transport *tp, const struct qmgr_dest *dest)
{
	struct qmgr_conn *c, *any = NULL;

	for (c = tp->conns; c != NULL; c = c->next) {
		if (c->nfl > 0 || !c->greeted)
			continue;
		if (c->replied && c->dest_hash == dest->hash)
			return c;
		if (any == NULL)
			any = c;
	}
	return any;
}

/*
 * open_more - connections for what waits and no idle connection takes:
 * at most QMGR_PENDING_MAX not yet greeted at a time
 */
static void
open_more(struct qmgr_transport *tp, uint64_t t)
{
	if (t < tp->retry_at_ms) {
		retry_later(tp, tp->retry_at_ms - t);
		return;
	}
	while (tp->npending < QMGR_PENDING_MAX && (size_t) tp->npending < tp->ready
	       && tp->nconns < QMGR_CONN_MAX) {
		if (conn_open(tp) != NULL)
			continue;
		if (errno == EAGAIN) {
			retry_later(tp, QMGR_BACKLOG_MS);
			return;
		}
		unreachable(tp, errno == ENOENT ? "no such service (master.cf has no "
			    "unix service of that name)" : strerror(errno));
		return;
	}
}

/*
 * fill - a connection to a pipelining agent takes more batches of the
 * destination it is delivering to, up to the agent's pipeline, from the
 * peers parked there (qmgr_sched_join())
 */
static void
fill(struct qmgr_transport *tp)
{
	for (struct qmgr_conn *c = tp->conns; c != NULL; c = c->next) {
		struct qmgr_batch *b;

		while (c->nfl > 0 && c->nfl < c->pipeline
		       && (b = qmgr_sched_join(c->fl[0].batch->dest, ev_time_ms())) != NULL)
			if (send_batch(c, b) < 0)
				return;		/* c is gone; conn_fail() kicked again */
	}
}

static void
pace_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop;
	qmgr_deliver_kick(t->data);
}

/* pace_later - a kick when the first destination waiting out its rate delay may go */
static void
pace_later(struct qmgr_transport *tp, uint64_t at, uint64_t now)
{
	if (at == 0)
		return;
	if (!tp->pace_ready) {
		ev_timer_init(&tp->pace_timer, pace_timer, tp);
		tp->pace_ready = true;
	}
	ev_timer_stop(dloop, &tp->pace_timer);
	ev_timer_start(dloop, &tp->pace_timer, at > now ? at - now : 0);
}

void
qmgr_deliver_kick(struct qmgr_transport *tp)
{
	const struct qmgr_peer *p;
	uint64_t now = ev_time_ms();

	if (server_stopping())
		return;
	/* Destinations whose rate delay is over may go again. */
	(void) qmgr_sched_wake(tp, now);
	drain_dead(tp);
	while ((p = qmgr_sched_next(tp, ev_time_ms())) != NULL) {
		struct qmgr_conn *c = idle_conn(tp, p->dest);

		if (c == NULL) {
			open_more(tp, ev_time_ms());
			break;
		}
		(void) send_batch(c, qmgr_sched_take(tp, ev_time_ms()));
	}
	fill(tp);
	/* next() moves the peers of suspended destinations aside. */
	drain_dead(tp);
	/* The next kick comes when the first rate delay is over. */
	pace_later(tp, tp->paced_head != NULL ? tp->paced_head->ready_at : 0, now);
}

void
qmgr_deliver_kick_all(void)
{
	for (size_t i = 0; i < qmgr_ntransports; i++)
		if (qmgr_transport_list[i]->waiting > 0)
			qmgr_deliver_kick(qmgr_transport_list[i]);
}

void
qmgr_deliver_revive(void)
{
	for (size_t i = 0; i < qmgr_ntransports; i++) {
		qmgr_sched_revive(qmgr_transport_list[i]);
		qmgr_transport_list[i]->retry_at_ms = 0;
	}
}

void
qmgr_deliver_close_idle(void)
{
	for (size_t i = 0; i < qmgr_ntransports; i++) {
		struct qmgr_conn *c = qmgr_transport_list[i]->conns, *next;

		for (; c != NULL; c = next) {
			next = c->next;
			if (c->nfl == 0)
				conn_close(c);
		}
	}
}

/* send_batch - b on c; -1 when c failed (and is gone) */
static int
send_batch(struct qmgr_conn *c, struct qmgr_batch *b)
{
	struct qmgr_msg *m = b->msg;
	struct qmgr_flight *f = &c->fl[c->nfl];
	struct delivery_request rq;
	struct ipc_msg msg;
	uint64_t t = ev_time_ms();
	int     fd;

	if ((fd = qmgr_msg_fd(m)) < 0) {
		defer_batch(b, QMGR_FB_NONE, DELIVERY_DEFER, "4.3.0",
			    "cannot open the queue file");
		return 0;
	}
	memset(&rq, 0, sizeof(rq));
	f->req = xcalloc(b->n, sizeof(*f->req));
	for (size_t i = 0; i < b->n; i++) {
		const struct qmgr_rcpt *r = b->rcpts[i];
		const char *notify = m->env.rcpts[r->index].notify;

		f->req[i].address = r->address;
		f->req[i].orcpt = r->orig ? r->orig : "";
		f->req[i].notify = notify ? notify : "";
		f->req[i].index = r->index;
	}
	qmgr_msg_request(m, c->tp->name, b->dest->nexthop, t, &rq);
	rq.rcpts = f->req;
	rq.nrcpts = b->n;
	if (delivery_request_build(&msg, &rq) < 0) {
		free(f->req);
		f->req = NULL;
		defer_batch(b, QMGR_FB_NONE, DELIVERY_BOUNCE, "5.3.0", "a recipient, "
			    "the sender or the next hop breaks a bound of the "
			    "delivery protocol");
		return 0;
	}
	for (size_t i = 0; i < b->n; i++)
		b->rcpts[i]->state = QR_INFLIGHT;
	m->inflight += b->n;
	f->batch = b;
	f->send_ms = t;
	f->conn_delay = c->replied || c->nfl > 0 ? 0 : since(c->open_ms, t);
	c->nfl++;
	c->dest_hash = b->dest->hash;
	nbusy++;
	c->tp->nbusy++;
	if (ipc_conn_queue(&c->ipc, &msg, fd) < 0) {
		ipc_msg_free(&msg);
		conn_fail(c, strerror(errno));
		return -1;
	}
	ipc_msg_free(&msg);
	switch (ipc_conn_flush(&c->ipc)) {
	case -1:
		conn_fail(c, strerror(errno));
		return -1;
	case 1:
		ev_io_start(dloop, &c->io, EV_READ | EV_WRITE);
		break;
	default:
		ev_io_start(dloop, &c->io, EV_READ);
		break;
	}
	/* The oldest request's answer is due; one more does not move that. */
	if (c->nfl == 1) {
		ev_timer_stop(dloop, &c->timer);
		ev_timer_start(dloop, &c->timer, cfg->ipc_timeout * 1000 + QMGR_REPLY_SLACK_MS);
	}
	return 0;
}

/*
 * got_hello - the agent took a pending connection: it may carry
 * requests; -1 when the greeting was bad (c is gone)
 */
static int
got_hello(struct qmgr_conn *c, struct ipc_in *in)
{
	const char *agent;
	char    why[256];

	if (delivery_hello_parse_pipeline(in, &agent, &c->pipeline, why,
					  sizeof(why)) < 0) {
		log_warn("%s (transport %s): %s", c->tp->service, c->tp->name, why);
		c->tp->retry_at_ms = ev_time_ms() + QMGR_RETRY_MS;
		conn_fail(c, why);
		return -1;
	}
	c->greeted = true;
	c->tp->npending--;
	if (c->pipeline > c->tp->pipeline)
		c->tp->pipeline = c->pipeline;
	ev_timer_stop(dloop, &c->timer);
	ev_timer_start(dloop, &c->timer, QMGR_IDLE_MS);
	return 0;
}

/*
 * feedback - what a reply says about its destination: it failed as a
 * whole (site status), it worked (some recipient was delivered or
 * refused for good: the server answered), or nothing (every recipient
 * deferred without a site status: a 4xx to RCPT, say); only the first
 * two move the destination's window.
 */
static enum qmgr_feedback
feedback(const struct delivery_reply *rep)
{
	if (rep->site_dsn[0] != '\0')
		return QMGR_FB_FAIL;
	for (size_t i = 0; i < rep->nresults; i++)
		if (rep->results[i].status != DELIVERY_DEFER)
			return QMGR_FB_OK;
	return QMGR_FB_NONE;
}

/*
 * got_reply - the answer to c's oldest request.  With kick, the next
 * requests go out before the results are written down, and 1 is
 * returned: c may be gone then.  Otherwise 0 (the caller kicks later),
 * or -1 when the reply was bad (c is gone).
 */
static int
got_reply(struct qmgr_conn *c, struct ipc_in *in, bool kick)
{
	struct qmgr_transport *tp = c->tp;
	struct qmgr_rcpt *rs[DELIVERY_RCPT_MAX];
	struct delivery_request rq;
	struct delivery_reply rep;
	struct qmgr_batch *b;
	struct delivery_rcpt *req;
	char    why[256], dest[80];
	size_t  n;
	uint64_t suspended;

	if (c->nfl == 0) {
		conn_fail(c, "a reply nobody asked for");
		return -1;
	}
	b = c->fl[0].batch;
	req = c->fl[0].req;
	memset(&rq, 0, sizeof(rq));
	rq.rcpts = req;
	rq.nrcpts = b->n;
	if (delivery_reply_parse(in, &rq, &rep, why, sizeof(why)) < 0) {
		log_warn("%s: bad reply from the %s delivery agent: %s", b->msg->qid,
			 tp->name, why);
		conn_fail(c, "malformed reply");
		return -1;
	}
	/* The oldest is answered; a passenger behind it takes its place. */
	c->nfl--;
	memmove(&c->fl[0], &c->fl[1], c->nfl * sizeof(c->fl[0]));
	free(req);
	if (c->nfl > 0 && !b->passenger && c->fl[0].batch->passenger
	    && c->fl[0].batch->dest == b->dest)
		qmgr_sched_handover(b, c->fl[0].batch);
	c->replied = true;
	nbusy--;
	tp->nbusy--;
	ev_timer_stop(dloop, &c->timer);
	ev_timer_start(dloop, &c->timer, c->nfl > 0 ? cfg->ipc_timeout * 1000
		       + QMGR_REPLY_SLACK_MS : QMGR_IDLE_MS);

	n = b->n;
	memcpy(rs, b->rcpts, n * sizeof(rs[0]));
	(void) str_copy(dest, sizeof(dest), b->dest->key);
	suspended = qmgr_sched_done(b, feedback(&rep), rep.site_dsn, rep.site_text,
				    ev_time_ms());
	if (suspended > 0)
		log_info("transport %s: destination %s suspended for %llus after "
			 "failures: %s %s", tp->name, dest, (unsigned long long) suspended,
			 rep.site_dsn, rep.site_text);

	/*
	 * The agent may be idle: hand it (or another connection) the next
	 * request first, then write the results down and perhaps remove
	 * the message, so that the agent does not wait for that.  c may be
	 * gone after the kick; rep points into the caller's in.
	 */
	if (kick)
		qmgr_deliver_kick(tp);
	for (size_t i = 0; i < n; i++)
		qmgr_msg_record(rs[i], rep.results[i].status, rep.results[i].dsn,
				rep.results[i].text);
	delivery_reply_free(&rep);
	return kick ? 1 : 0;
}

static void
conn_io(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct qmgr_conn *c = io->data;
	struct qmgr_transport *tp = c->tp;
	struct ipc_in in;
	ssize_t n;
	int     r;

	if (revents & EV_WRITE) {
		r = ipc_conn_flush(&c->ipc);
		if (r < 0) {
			conn_fail(c, strerror(errno));
			return;
		}
		if (r == 0)
			ev_io_start(loop, io, EV_READ);
	}
	if (!(revents & (EV_READ | EV_ERROR)))
		return;
	n = ipc_conn_read(&c->ipc);
	if (n == 0) {
		if (c->nfl > 0 || !c->greeted)
			conn_fail(c, "connection closed");
		else
			conn_close(c);		/* the agent retired */
		return;
	}
	if (n < 0 && errno != EAGAIN) {
		conn_fail(c, strerror(errno));
		return;
	}
	/*
	 * A read may bring several replies (a pipelining agent).  Each is
	 * taken in turn; the last one buffered lets the kick go first (the
	 * agent waits for nothing of qmgr's), after which c may be gone.
	 */
	ipc_in_init_max(&in, QMGR_REP_MAX);
	while ((r = ipc_conn_next(&c->ipc, &in, NULL)) == 1) {
		if (!c->greeted ? got_hello(c, &in) < 0
		    : got_reply(c, &in, c->ipc.in.len == 0) != 0) {
			ipc_in_free(&in);
			return;
		}
	}
	if (r < 0) {
		ipc_in_free(&in);
		conn_fail(c, "protocol error");
		return;
	}
	ipc_in_free(&in);
	qmgr_deliver_kick(tp);
}

static void
conn_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct qmgr_conn *c = t->data;
	struct qmgr_transport *tp = c->tp;

	(void) loop;
	if (c->nfl > 0) {
		log_warn("%s: the %s delivery agent did not answer within %llu seconds",
			 c->fl[0].batch->msg->qid, tp->name,
			 (unsigned long long) (cfg->ipc_timeout + QMGR_REPLY_SLACK_MS / 1000));
		conn_fail(c, "timed out");
	} else if (!c->greeted) {
		/* Its agents are all busy, or it has none that answers. */
		bool    none = tp->nconns == tp->npending;

		conn_close(c);
		if (none)
			unreachable(tp, "no greeting (is the service running?)");
		qmgr_deliver_kick(tp);
	} else
		conn_close(c);			/* idle: let the agent retire */
}
