/*
 * NAME
 *	qmgr_sched - per-transport queues, destinations and their limits
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	qmgr_sched_enqueue(tp, rcpt, now_ms);
 *	while ((rcpt = qmgr_sched_next(tp)) != NULL) {
 *		... find an idle connection, or wait for one ...
 *		rcpt = qmgr_sched_take(tp);	// the same rcpt
 *		... deliver ...
 *	}
 *	qmgr_sched_done(rcpt);			// its delivery is over
 * DESCRIPTION
 *	The per-destination limit decides how many deliveries run at
 *	once, with the meaning it has in Postfix (how many agent
 *	processes there are is the master's business: qmgr_deliver.c):
 *
 *	  - per destination, qmgr_dest_limit(): at most
 *	    local_destination_concurrency_limit deliveries at once to one
 *	    destination of the local transport,
 *	    default_destination_concurrency_limit for the others.  A
 *	    transport that delivers one recipient per request (local;
 *	    Postfix's local_destination_recipient_limit = 1) has one
 *	    destination per recipient: the address in lower case, without
 *	    its extension (recipient_delimiter), "@" the next hop
 *	    (qmgr_dest_key()); so two deliveries to one user run at most
 *	    two at a time while different users are delivered in
 *	    parallel.  For the other transports the destination is the
 *	    next hop;
 *
 *	Fairness.  The recipients that wait for a transport are grouped
 *	per message (a struct qmgr_job per message and transport), and
 *	the messages are served round-robin: qmgr_sched_take() takes one
 *	recipient of the first message and moves that message to the end
 *	of the round, so a message with ten thousand recipients shares
 *	the agents with the one-recipient messages behind it instead of
 *	holding them up.  Recipients of one message keep their order.  A
 *	recipient whose destination is at its limit is not taken:
 *	qmgr_sched_next() parks it on its destination, and the next
 *	recipient in the round goes instead, so a flood to one user
 *	holds at most that user's limit of agents and everybody else is
 *	delivered meanwhile.  When a delivery to the destination ends
 *	(qmgr_sched_done()), the first recipient parked there goes back
 *	to its message, at the end of the round when the message had
 *	nothing else waiting: destinations take turns.  Parking and
 *	unparking cost O(1) per recipient (as Postfix's blocker tags,
 *	they keep a blocked destination from being looked at again and
 *	again).
 *
 *	qmgr_sched_enqueue() marks the recipient QR_QUEUED, finds or
 *	makes its destination, and appends it to its message's job.
 *	qmgr_sched_next() returns the recipient that would be taken now,
 *	or NULL when nothing may go (nothing waits, or everything that
 *	waits is parked); it takes nothing, so a caller without a
 *	connection leaves it where it is.  qmgr_sched_take() takes it and
 *	counts it in its destination; qmgr_sched_done() ends that (every
 *	taken recipient gets exactly one, through qmgr_msg_result()).
 *	qmgr_sched_drop_msg() forgets every queued or parked recipient of
 *	a message.  A destination is freed when no recipient refers to
 *	it.
 *
 * BOUNDS
 *	Destinations: at most one per recipient in memory
 *	(qmgr_message_recipient_limit), in a hash table that grows with
 *	them.  Keys: QMGR_DEST_KEY_MAX bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "qmgr.h"
#include "str.h"

#define DESTS_MIN	64		/* first size of a destination table */

/* hash - FNV-1a, 64 bits */
static uint64_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char) *s;
		h *= 1099511628211ULL;
	}
	return h;
}

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

int
qmgr_dest_limit(const struct qmgr_transport *tp)
{
	if (tp->dest_limit > 0)
		return tp->dest_limit;
	if (str_eq(tp->name, "local"))
		return (int) cfg->local_destination_concurrency_limit;
	return (int) cfg->default_destination_concurrency_limit;
}

/* dest_get - the destination named key, made when new */
static struct qmgr_dest *
dest_get(struct qmgr_transport *tp, const char *key)
{
	uint64_t h = hash(key);
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
	d->hnext = tp->dests[h & (tp->dests_size - 1)];
	tp->dests[h & (tp->dests_size - 1)] = d;
	tp->ndests++;
	return d;
}

/* dest_unref - one recipient less refers to d; free it after the last */
static void
dest_unref(struct qmgr_dest *d)
{
	struct qmgr_transport *tp = d->tp;
	struct qmgr_dest **pp;

	if (d->refs == 0)
		log_panic("qmgr_sched: destination %s released too often", d->key);
	if (--d->refs > 0)
		return;
	for (pp = &tp->dests[d->hash & (tp->dests_size - 1)]; *pp != d; pp = &(*pp)->hnext)
		;
	*pp = d->hnext;
	tp->ndests--;
	free(d);
}

/* job_of - m's job for tp; made (at the end of the round) when missing */
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
		if (tp->jobs_tail)
			tp->jobs_tail->next = j;
		else
			tp->jobs_head = j;
		tp->jobs_tail = j;
	}
	return j;
}

/* job_forget - take j out of its message's list and free it */
static void
job_forget(struct qmgr_job *j)
{
	struct qmgr_job **pp;

	for (pp = &j->msg->jobs; *pp != NULL; pp = &(*pp)->next_in_msg)
		if (*pp == j) {
			*pp = j->next_in_msg;
			break;
		}
	free(j);
}

/* round_pop - the first job of the round leaves it */
static void
round_pop(struct qmgr_transport *tp)
{
	struct qmgr_job *j = tp->jobs_head;

	tp->jobs_head = j->next;
	if (tp->jobs_head == NULL)
		tp->jobs_tail = NULL;
	j->next = NULL;
}

/* job_pop - the first recipient of j leaves it */
static struct qmgr_rcpt *
job_pop(struct qmgr_job *j)
{
	struct qmgr_rcpt *r = j->head;

	j->head = r->next;
	if (j->head == NULL)
		j->tail = NULL;
	r->next = NULL;
	return r;
}

void
qmgr_sched_enqueue(struct qmgr_transport *tp, struct qmgr_rcpt *r, uint64_t now_ms)
{
	struct qmgr_job *j = job_of(tp, r->msg);
	char    key[QMGR_DEST_KEY_MAX];

	qmgr_dest_key(tp, r->address, r->nexthop, key, sizeof(key));
	r->dest = dest_get(tp, key);
	r->dest->refs++;
	r->parked = false;
	r->taken = false;
	r->next = NULL;
	if (j->tail)
		j->tail->next = r;
	else
		j->head = r;
	j->tail = r;
	r->state = QR_QUEUED;
	r->queued_ms = now_ms;
	tp->waiting++;
}

/* park - r waits on its destination until a delivery there ends */
static void
park(struct qmgr_rcpt *r)
{
	struct qmgr_dest *d = r->dest;

	r->parked = true;
	r->next = NULL;
	if (d->parked_tail)
		d->parked_tail->next = r;
	else
		d->parked_head = r;
	d->parked_tail = r;
	d->tp->parked++;
}

struct qmgr_rcpt *
qmgr_sched_next(struct qmgr_transport *tp)
{
	int     limit = qmgr_dest_limit(tp);
	struct qmgr_job *j;

	while ((j = tp->jobs_head) != NULL) {
		if (j->head->dest->active < limit)
			return j->head;
		/* Its destination is busy enough: let the others go first. */
		park(job_pop(j));
		if (j->head == NULL) {
			round_pop(tp);
			job_forget(j);
		}
	}
	return NULL;
}

struct qmgr_rcpt *
qmgr_sched_take(struct qmgr_transport *tp)
{
	struct qmgr_rcpt *r = qmgr_sched_next(tp);
	struct qmgr_job *j;

	if (r == NULL)
		return NULL;
	j = tp->jobs_head;		/* next() left r first in it */
	(void) job_pop(j);
	/* Off the head of the round: to its end, or gone when empty. */
	round_pop(tp);
	if (j->head == NULL) {
		job_forget(j);
	} else {
		if (tp->jobs_tail)
			tp->jobs_tail->next = j;
		else
			tp->jobs_head = j;
		tp->jobs_tail = j;
	}
	tp->waiting--;
	r->taken = true;
	r->dest->active++;
	return r;
}

void
qmgr_sched_done(struct qmgr_rcpt *r)
{
	struct qmgr_dest *d = r->dest;
	struct qmgr_transport *tp;

	if (d == NULL || !r->taken)
		return;
	tp = d->tp;
	r->taken = false;
	r->dest = NULL;
	d->active--;
	if (d->parked_head != NULL && d->active < qmgr_dest_limit(tp)) {
		struct qmgr_rcpt *p = d->parked_head;
		struct qmgr_job *j;

		d->parked_head = p->next;
		if (d->parked_head == NULL)
			d->parked_tail = NULL;
		p->parked = false;
		tp->parked--;
		/* Back to its message, first: it has waited longest. */
		j = job_of(tp, p->msg);
		p->next = j->head;
		j->head = p;
		if (j->tail == NULL)
			j->tail = p;
	}
	dest_unref(d);
}

/* qmgr_sched_drop_msg - forget every waiting recipient of m (no state change) */
void
qmgr_sched_drop_msg(struct qmgr_msg *m)
{
	while (m->jobs != NULL) {
		struct qmgr_job *j = m->jobs;
		struct qmgr_transport *tp = j->tp;
		struct qmgr_job **pp;

		while (j->head != NULL) {
			struct qmgr_rcpt *r = job_pop(j);

			tp->waiting--;
			dest_unref(r->dest);
			r->dest = NULL;
		}
		for (pp = &tp->jobs_head; *pp != NULL; pp = &(*pp)->next)
			if (*pp == j) {
				*pp = j->next;
				break;
			}
		tp->jobs_tail = NULL;
		for (struct qmgr_job *k = tp->jobs_head; k != NULL; k = k->next)
			tp->jobs_tail = k;
		job_forget(j);
	}
	for (size_t i = 0; m->rcpts != NULL && i < m->env.nrcpts; i++) {
		struct qmgr_rcpt *r = &m->rcpts[i], **pp, *prev = NULL;
		struct qmgr_dest *d = r->dest;

		if (!r->parked)
			continue;
		for (pp = &d->parked_head; *pp != r; pp = &(*pp)->next)
			prev = *pp;
		*pp = r->next;
		if (d->parked_tail == r)
			d->parked_tail = prev;
		r->parked = false;
		r->next = NULL;
		r->dest = NULL;
		d->tp->parked--;
		d->tp->waiting--;
		dest_unref(d);
	}
}
