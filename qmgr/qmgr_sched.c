/*
 * NAME
 *	qmgr_sched - per-transport queues of recipients, served round-robin
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	qmgr_sched_enqueue(tp, rcpt, now_ms);
 *	while (qmgr_sched_may_open(tp, qmgr_transport_limit(tp), now) ...)
 *		rcpt = qmgr_sched_take(tp);
 * DESCRIPTION
 *	Each transport keeps the recipients that wait for a connection,
 *	grouped per message (a struct qmgr_job per message and
 *	transport).  qmgr_sched_take() takes one recipient from the first
 *	message and moves that message to the end of the round, so a
 *	message with ten thousand recipients shares the agents with the
 *	one-recipient messages behind it instead of holding them up.
 *	Recipients of one message keep their order.
 *
 *	qmgr_sched_enqueue() marks the recipient QR_QUEUED and appends
 *	it.  qmgr_sched_take() returns NULL when nothing waits.
 *
 *	qmgr_transport_limit() is the concurrency limit of a transport:
 *	local_destination_concurrency_limit for "local", else
 *	default_destination_concurrency_limit.  qmgr_sched_may_open() is
 *	true when another connection may be opened: below the limit and
 *	not inside the pause after the agent could not be reached.
 */
#include <stdlib.h>

#include "mem.h"
#include "params.h"
#include "qmgr.h"
#include "str.h"

void
qmgr_sched_enqueue(struct qmgr_transport *tp, struct qmgr_rcpt *r, uint64_t now_ms)
{
	struct qmgr_msg *m = r->msg;
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

/* unlink_job - take j out of its transport's round and its message */
static void
unlink_job(struct qmgr_job *j)
{
	struct qmgr_transport *tp = j->tp;
	struct qmgr_job **pp;

	for (pp = &tp->jobs_head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	tp->jobs_tail = NULL;
	for (struct qmgr_job *k = tp->jobs_head; k != NULL; k = k->next)
		tp->jobs_tail = k;
	for (pp = &j->msg->jobs; *pp != NULL; pp = &(*pp)->next_in_msg)
		if (*pp == j) {
			*pp = j->next_in_msg;
			break;
		}
}

struct qmgr_rcpt *
qmgr_sched_take(struct qmgr_transport *tp)
{
	struct qmgr_job *j = tp->jobs_head;
	struct qmgr_rcpt *r;

	if (j == NULL)
		return NULL;
	r = j->head;
	j->head = r->next;
	if (j->head == NULL)
		j->tail = NULL;
	r->next = NULL;
	tp->waiting--;
	/* Off the head of the round: to its end, or gone when empty. */
	tp->jobs_head = j->next;
	if (tp->jobs_head == NULL)
		tp->jobs_tail = NULL;
	j->next = NULL;
	if (j->head == NULL) {
		struct qmgr_job **pp;

		for (pp = &j->msg->jobs; *pp != NULL; pp = &(*pp)->next_in_msg)
			if (*pp == j) {
				*pp = j->next_in_msg;
				break;
			}
		free(j);
	} else {
		if (tp->jobs_tail)
			tp->jobs_tail->next = j;
		else
			tp->jobs_head = j;
		tp->jobs_tail = j;
	}
	return r;
}

/* qmgr_sched_drop_msg - forget every waiting recipient of m (no state change) */
void
qmgr_sched_drop_msg(struct qmgr_msg *m)
{
	while (m->jobs != NULL) {
		struct qmgr_job *j = m->jobs;

		for (struct qmgr_rcpt *r = j->head; r != NULL; r = r->next)
			j->tp->waiting--;
		unlink_job(j);
		free(j);
	}
}

int
qmgr_transport_limit(const struct qmgr_transport *tp)
{
	if (str_eq(tp->name, "local"))
		return (int) cfg->local_destination_concurrency_limit;
	return (int) cfg->default_destination_concurrency_limit;
}

bool
qmgr_sched_may_open(const struct qmgr_transport *tp, int limit, uint64_t now_ms)
{
	return tp->nconns < limit && now_ms >= tp->retry_at_ms;
}
