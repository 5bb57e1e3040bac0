/*
 * NAME
 *	qmgr_sched - per-transport queues: messages, destinations, their
 *	concurrency, feedback and suspension, recipient batches
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	qmgr_sched_enqueue(tp, rcpt, nexthop, now);
 *	while ((peer = qmgr_sched_next(tp, now)) != NULL) {
 *		... an idle connection, preferably one that served
 *		    peer->dest last, or wait for one ...
 *		batch = qmgr_sched_take(tp, now);	// peer's recipients
 *		... deliver ...
 *	}
 *	qmgr_sched_done(batch, QMGR_FB_OK, NULL, NULL, now);	// reply came
 *	timer_at(qmgr_sched_wake(tp, now));	// rate delays that are over
 *
 *	// a connection to a pipelining agent, delivering for dest d
 *	while (room && (more = qmgr_sched_join(d, now)) != NULL) ... send ...
 *	qmgr_sched_handover(answered, next_on_that_connection);
 *	while ((rcpt = qmgr_sched_take_dead(tp, dsn, n, reason, n)) != NULL)
 *		... defer rcpt: its destination is suspended ...
 * DESCRIPTION
 *	The recipients that wait for a transport are kept three levels
 *	deep, as in Postfix's queue manager:
 *
 *	  - a job is one message's recipients for the transport; the
 *	    transport serves its jobs round-robin, one request at a time,
 *	    so a message with ten thousand recipients shares the agents
 *	    with the one-recipient messages behind it;
 *	  - a peer is one job's recipients for one destination; a job
 *	    serves its peers round-robin, so its destinations take turns;
 *	  - a destination is what the concurrency limit counts: the next
 *	    hop ("example.com", "[192.0.2.1]:25"), or, for a transport
 *	    whose requests carry one recipient (rcpt_limit 1: local), the
 *	    recipient in lower case without its address extension, "@"
 *	    the next hop (qmgr_dest_key()), so two deliveries to one user
 *	    run at most local_destination_concurrency_limit at a time
 *	    while different users go in parallel.
 *
 *	A request (a batch, qmgr_sched_take()) carries up to the
 *	transport's recipient limit (NAME_destination_recipient_limit)
 *	of one peer: recipients of one message for one destination, in
 *	queue file order.
 *
 *	Concurrency per destination follows Postfix's feedback: a new
 *	destination may have its transport's initial concurrency at once
 *	(NAME_initial_destination_concurrency, at most the limit); each
 *	request that worked adds the positive feedback
 *	(NAME_destination_concurrency_positive_feedback: a constant, or
 *	N/concurrency, N divided by the window; 1/concurrency here by
 *	default) to a success count, and each time that reaches 1 the
 *	window grows by one (at the end of a sequence of 1/feedback
 *	successes), up to NAME_destination_concurrency_limit, and only
 *	while the destination uses what it has (active + initial
 *	concurrency above the window).  A request whose reply says the
 *	destination itself failed (the site status of lib/svc/delivery.h: no
 *	connection, a 4xx greeting, a timeout...) takes the negative
 *	feedback (_negative_feedback, the same forms) from a failure
 *	count, and each time that goes below 0 the window shrinks by one
 *	(at the start of a sequence of 1/feedback failures; never below
 *	1); it also adds 1/window to a count of failed pseudo-cohorts (a
 *	window's worth of requests): once
 *	NAME_destination_concurrency_failed_cohort_limit cohorts (1) have
 *	failed with no success in between, the destination is suspended
 *	(never with a limit of 0).
 *
 *	Rate delay.  With NAME_destination_rate_delay, a destination gets
 *	one delivery at a time (the transport's concurrency limit is 1,
 *	as in Postfix), and the next one no sooner than the delay after
 *	the last one ended: the destination waits on the transport's
 *	paced list, in time order (one delay per transport), and
 *	qmgr_sched_wake() lets the ones whose time has come go again and
 *	returns the time of the next (the caller's timer); nothing rides
 *	along on its connection (qmgr_sched_join()).  A destination keeps
 *	its time while nothing waits for it, so mail that comes later
 *	waits too.
 *
 *	A suspended (dead) destination gets no request until its dead
 *	time is over: minimal_backoff_time after its first suspension,
 *	doubled after each one that follows without a success in between,
 *	at most maximal_backoff_time (qmgr_dead_time()).  Its recipients,
 *	queued now or arriving meanwhile, go to the transport's dead list
 *	and are deferred at once by the caller ("delivery temporarily
 *	suspended: REASON", the destination's last reason), so their
 *	messages wait in deferred/ with their own backoff: however much
 *	mail waits for a server that answers 4xx, it sees at most one
 *	cohort of attempts per dead time.  When the dead time is over the
 *	destination gets one request (window 1): a success brings it
 *	back, another failure suspends it for twice as long.  A
 *	destination that was suspended is remembered when nothing refers
 *	to it any more, until maximal_backoff_time after its dead time,
 *	so that the doubling works across messages that come and go (at
 *	most QMGR_REMEMBER_MAX per transport; qmgr_sched_sweep() forgets
 *	the ones whose time is over).
 *
 *	Fairness.  qmgr_sched_next() looks at the first job of the round
 *	and its first ready peer.  A peer whose destination is at its
 *	window is parked on the destination, O(1), and the next peer or
 *	job goes instead, so a destination with a hundred thousand
 *	messages holds at most its window of agents and is looked at once
 *	per message, while a message for another destination is taken as
 *	soon as the round reaches it.  When a request to the destination
 *	ends (qmgr_sched_done()), parked peers go back to their jobs
 *	while the window allows, first come first served, and a job that
 *	had left the round rejoins it at its end.  A peer of a dead
 *	destination goes to the dead list instead.
 *
 *	qmgr_sched_enqueue() marks a recipient QR_QUEUED and adds it to its
 *	message's peer for its destination (made when missing: recipients
 *	of one message are enqueued together, so the destination's newest
 *	peer is the one to extend).  qmgr_sched_next() returns the peer
 *	that would be taken now, or NULL when nothing may go; it takes
 *	nothing.  qmgr_sched_take() takes a batch from it and counts it
 *	in its destination; the caller gives every batch back with
 *	qmgr_sched_done(), with the feedback of its reply (QMGR_FB_NONE
 *	when the reply says nothing about the destination: the agent was
 *	lost), and frees it so; it returns the dead time in seconds when
 *	that suspended the destination, else 0.  qmgr_sched_take_dead() pops one recipient to defer
 *	from the dead list, with the destination's status code and
 *	reason.  qmgr_sched_drop_msg() forgets every waiting recipient of
 *	a message (no state change).  A destination is freed when no
 *	peer or batch refers to it and it is not remembered.
 *
 *	Pipelining.  An agent that takes several requests in flight on
 *	one connection (lib/svc/delivery.h, "pipeline"; local commits a
 *	user's maildir deliveries together) may be given more batches for
 *	the destination a connection is delivering to, beyond the
 *	destination's window: the window counts deliveries that run in
 *	parallel (connections), and what rides on one of them runs one
 *	after the other.  qmgr_sched_join(d) takes a batch from the first
 *	peer parked on d (it waits only because d is at its window) as a
 *	passenger, not counted in d->active; its feedback counts as any
 *	other's.  When the batch that holds a connection's place is done
 *	while a passenger of the same destination follows it there,
 *	qmgr_sched_handover() gives the place to that one instead of
 *	freeing it, so the destination never gets more parallel
 *	deliveries than its window.
 *	Share of the active queue.  qmgr_sched_busy() says whether the
 *	destination with hash h (qmgr_dest_hash()) already has
 *	qmgr_sched_budget() units of work in memory (peers waiting and
 *	requests in flight): twice its transport's concurrency limit
 *	times the largest pipeline its agents offered, at most a quarter
 *	of qmgr_message_active_limit (at least 1).  More of its mail in
 *	memory would not make it go faster; qmgr_scan.c leaves such mail
 *	in incoming/ or deferred/ while the active queue is crowded.  A
 *	suspended destination is never busy: its mail is deferred at
 *	once.
 * BOUNDS
 *	Destinations: at most one per recipient in memory
 *	(qmgr_message_recipient_limit), plus QMGR_REMEMBER_MAX
 *	remembered per transport, in a hash table that grows with them.
 *	Keys: QMGR_DEST_KEY_MAX bytes.  Work per recipient: O(1) to
 *	enqueue, take, park and unpark.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "qmgr.h"
#include "str.h"

#define DESTS_MIN		64	/* first size of a destination table */
#define QMGR_REMEMBER_MAX	10000	/* suspended destinations kept unused */

/* The latest time a caller gave: what the calls without one go by. */
static uint64_t sched_now;

void
qmgr_dest_key(const struct qmgr_transport *tp, const char *address,
	      const char *nexthop, char *out, size_t size)
{
	char    local[ADDR_LOCAL_MAX * 4 + 1], domain[ADDR_DOMAIN_MAX + 1];

	if (address == NULL)
		address = "";
	if (!tp->per_rcpt) {
		(void) str_copy(out, size, nexthop);
	} else if (addr_split(address, local, sizeof(local), domain, sizeof(domain)) < 0) {
		/* Not a usable address: the agent refuses it; any key does. */
		(void) str_copy(out, size, address);
	} else {
		if (cfg != NULL)
			(void) addr_strip_extension(local, cfg->recipient_delimiter, NULL);
		(void) str_fmt(out, size, "%s@%s", local, *nexthop ? nexthop : domain);
	}
	str_lower(out);
}

uint64_t
qmgr_dest_hash(const struct qmgr_transport *tp, const char *address,
	       const char *nexthop)
{
	char	key[QMGR_DEST_KEY_MAX];

	qmgr_dest_key(tp, address, nexthop, key, sizeof(key));
	return str_hash(key);
}

size_t
qmgr_sched_budget(const struct qmgr_transport *tp)
{
	size_t	b = 2 * (size_t) tp->dest_limit * (tp->pipeline ? tp->pipeline : 1);
	size_t	cap = (size_t) cfg->qmgr_message_active_limit / 4;

	if (b > cap)
		b = cap;
	return b > 0 ? b : 1;
}

bool
qmgr_sched_busy(struct qmgr_transport *tp, uint64_t h)
{
	struct qmgr_dest *d;
	size_t	load;

	if (tp->dests_size == 0)
		return false;
	for (d = tp->dests[h & (tp->dests_size - 1)]; d != NULL; d = d->hnext)
		if (d->hash == h)
			break;
	if (d == NULL)
		return false;
	/* Suspended: its mail is deferred at once, which makes room. */
	if (d->dead_until != 0 && sched_now < d->dead_until)
		return false;
	load = d->refs - (d->remembered ? 1 : 0) - (d->paced ? 1 : 0);
	return load >= qmgr_sched_budget(tp);
}

uint64_t
qmgr_dead_time(unsigned count)
{
	uint64_t t = cfg->minimal_backoff_time, max = cfg->maximal_backoff_time;

	if (t > max)
		t = max;
	for (unsigned i = 0; i < count && t < max; i++)
		t *= 2;
	return t < max ? t : max;
}

/*
 * Destinations.
 */

/* dest_get - the destination named key, made when new */
static struct qmgr_dest *
dest_get(struct qmgr_transport *tp, const char *key, const char *nexthop)
{
	uint64_t h = str_hash(key);
	struct qmgr_dest *d;
	size_t  len;

	if (tp->dests_size > 0)
		for (d = tp->dests[h & (tp->dests_size - 1)]; d != NULL; d = d->hnext)
			if (d->hash == h && str_eq(d->key, key))
				return d;
	if (tp->ndests >= tp->dests_size) {
		size_t  nsize = tp->dests_size ? tp->dests_size * 2 : DESTS_MIN;
		struct qmgr_dest **nt = xcalloc(nsize, sizeof(*nt));

		for (size_t i = 0; i < tp->dests_size; i++)
			while ((d = tp->dests[i]) != NULL) {
				tp->dests[i] = d->hnext;
				d->hnext = nt[d->hash & (nsize - 1)];
				nt[d->hash & (nsize - 1)] = d;
			}
		free(tp->dests);
		tp->dests = nt;
		tp->dests_size = nsize;
	}
	len = strlen(key);
	d = xcalloc(1, sizeof(*d) + len + 1);
	memcpy(d->key, key, len + 1);
	d->tp = tp;
	d->hash = h;
	d->window = tp->init_conc < tp->dest_limit ? tp->init_conc : tp->dest_limit;
	d->nexthop = xstrdup(nexthop);
	d->hnext = tp->dests[h & (tp->dests_size - 1)];
	tp->dests[h & (tp->dests_size - 1)] = d;
	tp->ndests++;
	return d;
}

static void
dest_free(struct qmgr_dest *d)
{
	struct qmgr_transport *tp = d->tp;
	struct qmgr_dest **pp;

	for (pp = &tp->dests[d->hash & (tp->dests_size - 1)]; *pp != d; pp = &(*pp)->hnext)
		;
	*pp = d->hnext;
	tp->ndests--;
	free(d->reason);
	free(d->nexthop);
	free(d);
}

/*
 * dest_unref - one peer or batch less refers to d; after the last, d is
 * remembered when it was suspended lately, else freed
 */
static void
dest_unref(struct qmgr_dest *d)
{
	struct qmgr_transport *tp = d->tp;

	if (d->refs == 0)
		log_panic("qmgr_sched: destination %s released too often", d->key);
	if (--d->refs > 0)
		return;
	if (d->dead_count > 0 && sched_now < d->forget_at
	    && tp->nremembered < QMGR_REMEMBER_MAX) {
		d->remembered = true;
		d->refs = 1;			/* the remembered list's */
		d->next_remembered = tp->remembered;
		tp->remembered = d;
		tp->nremembered++;
		return;
	}
	dest_free(d);
}

void
qmgr_sched_sweep(struct qmgr_transport *tp, uint64_t now_ms)
{
	struct qmgr_dest **pp = &tp->remembered, *d;

	(void) qmgr_sched_wake(tp, now_ms);
	if (now_ms != UINT64_MAX)
		sched_now = now_ms;
	while ((d = *pp) != NULL) {
		if (now_ms < d->forget_at && d->dead_count > 0) {
			pp = &d->next_remembered;
			continue;
		}
		/* Forgotten: freed now, or by its last user. */
		*pp = d->next_remembered;
		tp->nremembered--;
		d->remembered = false;
		d->forget_at = 0;
		if (--d->refs == 0)
			dest_free(d);
	}
}

/* dead - true while d is suspended; the end of its dead time resumes it */
static bool
dead(struct qmgr_dest *d, uint64_t now_ms)
{
	if (d->dead_until == 0)
		return false;
	if (now_ms < d->dead_until)
		return true;
	/* One request to find out: success brings it back. */
	d->dead_until = 0;
	d->window = 1;
	d->success = d->failure = d->fail_cohorts = 0;
	return false;
}

/*
 * Jobs and peers.
 */

static struct qmgr_job *
job_of(struct qmgr_transport *tp, struct qmgr_msg *m)
{
	struct qmgr_job *j;

	for (j = m->jobs; j != NULL && j->tp != tp; j = j->next_in_msg)
		;
	if (j == NULL) {
		j = xcalloc(1, sizeof(*j));
		j->tp = tp;
		j->msg = m;
		j->next_in_msg = m->jobs;
		m->jobs = j;
	}
	return j;
}

/* job_free - j has no peer left: out of its message, freed */
static void
job_free(struct qmgr_job *j)
{
	struct qmgr_job **pp;

	for (pp = &j->msg->jobs; *pp != NULL; pp = &(*pp)->next_in_msg)
		if (*pp == j) {
			*pp = j->next_in_msg;
			break;
		}
	free(j);
}

static void
round_push(struct qmgr_transport *tp, struct qmgr_job *j)
{
	j->next = NULL;
	if (tp->round_tail)
		tp->round_tail->next = j;
	else
		tp->round_head = j;
	tp->round_tail = j;
	j->in_round = true;
}

/* round_pop - the first job of the round leaves it */
static void
round_pop(struct qmgr_transport *tp)
{
	struct qmgr_job *j = tp->round_head;

	tp->round_head = j->next;
	if (tp->round_head == NULL)
		tp->round_tail = NULL;
	j->next = NULL;
	j->in_round = false;
}

/* ready_push - p to its job's ready list, at the end or the front */
static void
ready_push(struct qmgr_peer *p, bool front)
{
	struct qmgr_job *j = p->job;

	p->where = QP_READY;
	if (front) {
		p->next = j->ready_head;
		j->ready_head = p;
		if (j->ready_tail == NULL)
			j->ready_tail = p;
	} else {
		p->next = NULL;
		if (j->ready_tail)
			j->ready_tail->next = p;
		else
			j->ready_head = p;
		j->ready_tail = p;
	}
	j->tp->ready++;
	if (!j->in_round)
		round_push(j->tp, j);
}

/* ready_pop - the first ready peer of j leaves the list */
static struct qmgr_peer *
ready_pop(struct qmgr_job *j)
{
	struct qmgr_peer *p = j->ready_head;

	j->ready_head = p->next;
	if (j->ready_head == NULL)
		j->ready_tail = NULL;
	p->next = NULL;
	j->tp->ready--;
	return p;
}

static void
park(struct qmgr_peer *p)
{
	struct qmgr_dest *d = p->dest;

	p->where = QP_PARKED;
	p->next = NULL;
	if (d->parked_tail)
		d->parked_tail->next = p;
	else
		d->parked_head = p;
	d->parked_tail = p;
}

static void
dead_push(struct qmgr_peer *p)
{
	struct qmgr_transport *tp = p->job->tp;

	p->where = QP_DEAD;
	p->next = NULL;
	if (tp->dead_tail)
		tp->dead_tail->next = p;
	else
		tp->dead_head = p;
	tp->dead_tail = p;
}

/* peer_free - p holds no recipient any more: forget it */
static void
peer_free(struct qmgr_peer *p)
{
	struct qmgr_job *j = p->job;
	struct qmgr_dest *d = p->dest;
	struct qmgr_peer **pp;

	for (pp = &j->peers; *pp != p; pp = &(*pp)->next_in_job)
		;
	*pp = p->next_in_job;
	j->npeers--;
	if (d->last_peer == p)
		d->last_peer = NULL;
	free(p);
	if (j->npeers == 0 && !j->in_round)
		job_free(j);
	dest_unref(d);
}

/* unpark - parked peers of d go back to their jobs while its window allows */
static void
unpark(struct qmgr_dest *d, uint64_t now_ms)
{
	struct qmgr_peer *p;

	while ((p = d->parked_head) != NULL) {
		if (dead(d, now_ms)) {
			d->parked_head = p->next;
			if (d->parked_head == NULL)
				d->parked_tail = NULL;
			dead_push(p);
			continue;
		}
		if (d->active >= d->window || now_ms < d->ready_at)
			return;
		d->parked_head = p->next;
		if (d->parked_head == NULL)
			d->parked_tail = NULL;
		/* First in its job: it has waited longest. */
		ready_push(p, true);
	}
}

void
qmgr_sched_enqueue(struct qmgr_transport *tp, struct qmgr_rcpt *r,
		   const char *nexthop, uint64_t now_ms)
{
	struct qmgr_job *j = job_of(tp, r->msg);
	char    key[QMGR_DEST_KEY_MAX];
	struct qmgr_dest *d;
	struct qmgr_peer *p;

	sched_now = now_ms;
	qmgr_dest_key(tp, r->address, nexthop, key, sizeof(key));
	d = dest_get(tp, key, nexthop);
	if ((p = d->last_peer) == NULL || p->job != j) {
		p = xcalloc(1, sizeof(*p));
		p->job = j;
		p->dest = d;
		p->next_in_job = j->peers;
		j->peers = p;
		j->npeers++;
		d->refs++;
		d->last_peer = p;
		if (dead(d, now_ms))
			dead_push(p);
		else
			ready_push(p, false);
	}
	r->next = NULL;
	if (p->tail)
		p->tail->next = r;
	else
		p->head = r;
	p->tail = r;
	p->n++;
	r->peer = p;
	r->state = QR_QUEUED;
	tp->waiting++;
}

const struct qmgr_peer *
qmgr_sched_next(struct qmgr_transport *tp, uint64_t now_ms)
{
	struct qmgr_job *j;
	struct qmgr_peer *p;

	sched_now = now_ms;
	while ((j = tp->round_head) != NULL) {
		while ((p = j->ready_head) != NULL) {
			struct qmgr_dest *d = p->dest;

			if (dead(d, now_ms)) {
				dead_push(ready_pop(j));
				continue;
			}
			if (d->active < d->window && now_ms >= d->ready_at)
				return p;
			/* Its destination is busy enough: the others go first. */
			park(ready_pop(j));
		}
		round_pop(tp);
		if (j->npeers == 0)
			job_free(j);
	}
	return NULL;
}

/* batch_of - up to the recipient limit of p's recipients, as a batch */
static struct qmgr_batch *
batch_of(struct qmgr_peer *p)
{
	struct qmgr_transport *tp = p->job->tp;
	struct qmgr_batch *b;
	size_t  n;

	n = p->n < (size_t) tp->rcpt_limit ? p->n : (size_t) tp->rcpt_limit;
	b = xmalloc(sizeof(*b) + n * sizeof(b->rcpts[0]));
	b->tp = tp;
	b->dest = p->dest;
	b->msg = p->job->msg;
	b->n = n;
	b->passenger = false;
	for (size_t i = 0; i < n; i++) {
		struct qmgr_rcpt *r = p->head;

		p->head = r->next;
		r->next = NULL;
		r->peer = NULL;
		b->rcpts[i] = r;
	}
	if (p->head == NULL)
		p->tail = NULL;
	p->n -= n;
	tp->waiting -= n;
	p->dest->refs++;			/* the batch's */
	return b;
}

struct qmgr_batch *
qmgr_sched_join(struct qmgr_dest *d, uint64_t now_ms)
{
	struct qmgr_peer *p = d->parked_head;
	struct qmgr_batch *b;

	sched_now = now_ms;
	/* A rate delay spaces deliveries out: nothing rides along. */
	if (p == NULL || d->tp->rate_delay_ms > 0 || dead(d, now_ms))
		return NULL;
	b = batch_of(p);
	b->passenger = true;
	if (p->n == 0) {
		d->parked_head = p->next;
		if (d->parked_head == NULL)
			d->parked_tail = NULL;
		p->next = NULL;
		peer_free(p);			/* and its job, when that was its last */
	}
	return b;
}

void
qmgr_sched_handover(struct qmgr_batch *from, struct qmgr_batch *to)
{
	if (from->dest != to->dest || from->passenger || !to->passenger)
		log_panic("qmgr_sched: handover between unrelated batches");
	from->passenger = true;
	to->passenger = false;
}

struct qmgr_batch *
qmgr_sched_take(struct qmgr_transport *tp, uint64_t now_ms)
{
	const struct qmgr_peer *next = qmgr_sched_next(tp, now_ms);
	struct qmgr_job *j;
	struct qmgr_peer *p;
	struct qmgr_batch *b;

	if (next == NULL)
		return NULL;
	j = tp->round_head;			/* next() left p first in it */
	p = ready_pop(j);
	b = batch_of(p);
	p->dest->active++;
	/* The job to the end of the round, the peer to the end of the job. */
	round_pop(tp);
	if (p->n > 0) {
		ready_push(p, false);
	} else {
		if (j->ready_head != NULL)
			round_push(tp, j);
		peer_free(p);			/* and j, when that was its last */
	}
	return b;
}

/* suspend - d failed a whole cohort: no requests for a while (seconds) */
static uint64_t
suspend(struct qmgr_dest *d, uint64_t now_ms)
{
	uint64_t secs = qmgr_dead_time(d->dead_count);
	struct qmgr_peer *p;

	d->dead_until = now_ms + secs * 1000;
	d->forget_at = d->dead_until + cfg->maximal_backoff_time * 1000;
	d->dead_count++;
	while ((p = d->parked_head) != NULL) {
		d->parked_head = p->next;
		dead_push(p);
	}
	d->parked_tail = NULL;
	return secs;
}

/* pace - a delivery to d ended: the next one waits out the rate delay */
static void
pace(struct qmgr_dest *d, uint64_t now_ms)
{
	struct qmgr_transport *tp = d->tp;

	d->ready_at = now_ms + tp->rate_delay_ms;
	if (d->paced)
		return;
	d->paced = true;
	d->refs++;				/* the paced list's */
	d->next_paced = NULL;
	if (tp->paced_tail)
		tp->paced_tail->next_paced = d;
	else
		tp->paced_head = d;
	tp->paced_tail = d;
}

uint64_t
qmgr_sched_wake(struct qmgr_transport *tp, uint64_t now_ms)
{
	struct qmgr_dest *d;

	if (now_ms != UINT64_MAX)
		sched_now = now_ms;
	/* One delay per transport: the list is in time order. */
	while ((d = tp->paced_head) != NULL && d->ready_at <= now_ms) {
		tp->paced_head = d->next_paced;
		if (tp->paced_head == NULL)
			tp->paced_tail = NULL;
		d->next_paced = NULL;
		d->paced = false;
		d->refs++;			/* unpark() may free nothing under us */
		dest_unref(d);			/* the paced list's */
		unpark(d, now_ms);
		dest_unref(d);
	}
	return d != NULL ? d->ready_at : 0;
}

/* feedback_ok - the destination worked: Postfix's positive feedback */
static void
feedback_ok(struct qmgr_dest *d)
{
	struct qmgr_transport *tp = d->tp;
	double	f;

	d->fail_cohorts = 0;
	d->dead_count = 0;
	if (d->dead_until != 0) {
		/* It worked after all: back, carefully. */
		d->dead_until = 0;
		d->window = 1;
	}
	/* Only while it uses what it has, with the initial concurrency as slack. */
	if (d->window >= tp->dest_limit || d->window >= d->active + 1 + tp->init_conc)
		return;
	f = param_feedback_value(&tp->pos_fb, d->window);
	d->success += f;
	/* The end of a sequence of 1/f successes: one more. */
	while (d->success >= 1.0 - 1e-9) {
		d->window++;
		d->success -= 1.0;
		d->failure = 0;
	}
	if (d->window > tp->dest_limit)
		d->window = tp->dest_limit;
}

/*
 * feedback_fail - the destination failed as a whole: Postfix's negative
 * feedback, and the failed pseudo-cohorts that suspend it; returns the
 * dead time (seconds) when it was suspended, else 0
 */
static uint64_t
feedback_fail(struct qmgr_dest *d, const char *dsn, const char *text,
	      uint64_t now_ms)
{
	struct qmgr_transport *tp = d->tp;
	double	f;

	(void) str_copy(d->dsn, sizeof(d->dsn), dsn ? dsn : "4.4.1");
	free(d->reason);
	d->reason = xstrdup(text ? text : "");
	d->fail_cohorts += 1.0 / d->window;
	/* The start of a sequence of 1/f failures: one less (never below 1). */
	f = param_feedback_value(&tp->neg_fb, d->window);
	d->failure -= f;
	while (d->failure < -1e-9) {
		if (d->window > 1)
			d->window--;
		d->success = 0;
		d->failure += 1.0;
	}
	if (tp->fail_cohort_limit > 0
	    && d->fail_cohorts >= (double) tp->fail_cohort_limit - 1e-9)
		return suspend(d, now_ms);
	return 0;
}

uint64_t
qmgr_sched_done(struct qmgr_batch *b, enum qmgr_feedback fb, const char *dsn,
		const char *text, uint64_t now_ms)
{
	struct qmgr_dest *d = b->dest;
	struct qmgr_transport *tp = b->tp;
	uint64_t suspended = 0;

	sched_now = now_ms;
	if (!b->passenger) {
		d->active--;
		if (tp->rate_delay_ms > 0)
			pace(d, now_ms);
	}
	if (fb == QMGR_FB_OK)
		feedback_ok(d);
	else if (fb == QMGR_FB_FAIL && d->dead_until == 0)
		suspended = feedback_fail(d, dsn, text, now_ms);
	unpark(d, now_ms);
	free(b);
	dest_unref(d);
	return suspended;
}

struct qmgr_rcpt *
qmgr_sched_take_dead(struct qmgr_transport *tp, char *dsn, size_t dsn_size,
		     char *reason, size_t reason_size)
{
	struct qmgr_peer *p = tp->dead_head;
	struct qmgr_rcpt *r;

	if (p == NULL)
		return NULL;
	r = p->head;
	p->head = r->next;
	if (p->head == NULL)
		p->tail = NULL;
	p->n--;
	r->next = NULL;
	r->peer = NULL;
	tp->waiting--;
	(void) str_copy(dsn, dsn_size, p->dest->dsn[0] ? p->dest->dsn : "4.4.1");
	(void) str_fmt(reason, reason_size, "delivery temporarily suspended: %s",
		       p->dest->reason ? p->dest->reason : "");
	if (p->n == 0) {
		tp->dead_head = p->next;
		if (tp->dead_head == NULL)
			tp->dead_tail = NULL;
		peer_free(p);
	}
	return r;
}

/* unlink_peer - take p out of whichever list holds it (teardown only) */
static void
unlink_peer(struct qmgr_peer *p)
{
	struct qmgr_peer **head, **tail, **pp, *prev = NULL;

	switch (p->where) {
	case QP_READY:
		head = &p->job->ready_head;
		tail = &p->job->ready_tail;
		p->job->tp->ready--;
		break;
	case QP_PARKED:
		head = &p->dest->parked_head;
		tail = &p->dest->parked_tail;
		break;
	default:
		head = &p->job->tp->dead_head;
		tail = &p->job->tp->dead_tail;
		break;
	}
	for (pp = head; *pp != NULL && *pp != p; pp = &(*pp)->next)
		prev = *pp;
	if (*pp == NULL)
		return;
	*pp = p->next;
	if (*tail == p)
		*tail = prev;
}

void
qmgr_sched_drop_msg(struct qmgr_msg *m)
{
	while (m->jobs != NULL) {
		struct qmgr_job *j = m->jobs;
		struct qmgr_transport *tp = j->tp;

		if (j->in_round) {
			struct qmgr_job **pp, *prev = NULL;

			for (pp = &tp->round_head; *pp != j; pp = &(*pp)->next)
				prev = *pp;
			*pp = j->next;
			if (tp->round_tail == j)
				tp->round_tail = prev;
			j->in_round = false;
		}
		/* peer_free() frees j with its last peer. */
		if (j->peers == NULL) {
			job_free(j);
			continue;
		}
		while (m->jobs == j && j->peers != NULL) {
			struct qmgr_peer *p = j->peers;

			unlink_peer(p);
			for (struct qmgr_rcpt *r = p->head; r != NULL; r = r->next)
				r->peer = NULL;
			tp->waiting -= p->n;
			peer_free(p);
		}
	}
}

void
qmgr_sched_revive(struct qmgr_transport *tp)
{
	for (size_t i = 0; i < tp->dests_size; i++)
		for (struct qmgr_dest *d = tp->dests[i]; d != NULL; d = d->hnext) {
			if (d->dead_until == 0 && d->dead_count == 0)
				continue;
			d->dead_until = 0;
			d->dead_count = 0;
			d->success = d->failure = d->fail_cohorts = 0;
			d->window = tp->init_conc < tp->dest_limit ? tp->init_conc
			    : tp->dest_limit;
		}
}
