/*
 * NAME
 *	qmgr_transport - the transports qmgr delivers through
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	struct qmgr_transport *tp = qmgr_transport_get("smtp");
 *	for (size_t i = 0; i < qmgr_ntransports; i++)
 *		... qmgr_transport_list[i] ...
 * DESCRIPTION
 *	A transport is a master.cf unix service that speaks the delivery
 *	protocol (lib/svc/delivery.h): the name a route gives ("smtp",
 *	"relay", "local", "discard", "error", or one an administrator
 *	added, such as "slow") is the service, private/NAME, as in
 *	Postfix.  qmgr keeps no list of them from master.cf: a transport
 *	exists for qmgr once a route names it, and whether a service
 *	answers is found out by connecting (qmgr_deliver.c: a name with
 *	no service defers its mail, "mail transport unavailable").
 *
 *	qmgr_transport_get() returns the transport of that name, made when
 *	first met, or NULL when the name is not a valid service name
 *	(delivery_transport_valid()) or QMGR_TRANSPORTS_MAX transports
 *	exist already.  Its limits are read from main.cf then
 *	(param_transport_int(): NAME_destination_concurrency_limit,
 *	NAME_destination_recipient_limit,
 *	NAME_initial_destination_concurrency, each defaulting to its
 *	default_ or initial_ parameter; local has its own
 *	local_destination_concurrency_limit and
 *	local_destination_recipient_limit), and its feedback and pacing:
 *	NAME_destination_rate_delay (a delay makes the concurrency limit
 *	1, as in Postfix), NAME_destination_concurrency_failed_cohort_limit,
 *	NAME_destination_concurrency_positive_feedback and
 *	_negative_feedback (param_feedback_parse(); a value postern check
 *	would refuse counts as 1/concurrency, with a warning): a reload is
 *	a new qmgr.  A
 *	transport whose recipient limit is 1 delivers one recipient per
 *	request, and its destinations are recipients (per_rcpt).
 *
 *	qmgr_transport_list[0 .. qmgr_ntransports) are the transports met
 *	so far, in that order.  qmgr_transport_reset() forgets them all
 *	(tests; nothing may refer to them).
 * BOUNDS
 *	QMGR_TRANSPORTS_MAX transports; names of DELIVERY_TRANSPORT_MAX
 *	bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "qmgr.h"
#include "str.h"

struct qmgr_transport *qmgr_transport_list[QMGR_TRANSPORTS_MAX];
size_t	qmgr_ntransports;

/*
 * feedback - NAME+suffix as a concurrency feedback; a bad value (which
 * postern check refuses) is 1/concurrency, with a warning
 */
static void
feedback(const char *name, const char *suffix, struct param_feedback *fb)
{
	const char *v = param_transport_str(cfg, name, suffix);
	char	why[256];

	if (param_feedback_parse(v, fb, why, sizeof(why)) < 0) {
		log_warn("transport %s: %s%s = %s; using 1/concurrency", name,
			 name, suffix, why);
		fb->base = 1;
		fb->per_window = true;
	}
}

struct qmgr_transport *
qmgr_transport_get(const char *name)
{
	struct qmgr_transport *tp;

	for (size_t i = 0; i < qmgr_ntransports; i++)
		if (str_eq(qmgr_transport_list[i]->name, name))
			return qmgr_transport_list[i];
	if (!delivery_transport_valid(name) || qmgr_ntransports >= QMGR_TRANSPORTS_MAX)
		return NULL;
	tp = xcalloc(1, sizeof(*tp));
	(void) str_copy(tp->name, sizeof(tp->name), name);
	(void) str_fmt(tp->service, sizeof(tp->service), "private/%s", name);
	tp->dest_limit = (int) param_transport_int(cfg, name, "_destination_concurrency_limit");
	tp->rcpt_limit = (int) param_transport_int(cfg, name, "_destination_recipient_limit");
	tp->init_conc = (int) param_transport_int(cfg, name, "_initial_destination_concurrency");
	if (tp->rcpt_limit > DELIVERY_RCPT_MAX)
		tp->rcpt_limit = DELIVERY_RCPT_MAX;
	if (tp->rcpt_limit < 1)
		tp->rcpt_limit = 1;
	if (tp->dest_limit < 1)
		tp->dest_limit = 1;
	if (tp->init_conc < 1)
		tp->init_conc = 1;
	tp->per_rcpt = tp->rcpt_limit == 1;
	tp->rate_delay_ms = (uint64_t) param_transport_int(cfg, name,
						"_destination_rate_delay") * 1000;
	if (tp->rate_delay_ms > 0)
		tp->dest_limit = tp->init_conc = 1;	/* one at a time, spaced */
	tp->fail_cohort_limit = (int) param_transport_int(cfg, name,
				"_destination_concurrency_failed_cohort_limit");
	feedback(name, "_destination_concurrency_positive_feedback", &tp->pos_fb);
	feedback(name, "_destination_concurrency_negative_feedback", &tp->neg_fb);
	tp->pipeline = 1;
	qmgr_transport_list[qmgr_ntransports++] = tp;
	return tp;
}

void
qmgr_transport_reset(void)
{
	for (size_t i = 0; i < qmgr_ntransports; i++) {
		qmgr_sched_sweep(qmgr_transport_list[i], UINT64_MAX);
		free(qmgr_transport_list[i]->dests);
		free(qmgr_transport_list[i]);
		qmgr_transport_list[i] = NULL;
	}
	qmgr_ntransports = 0;
}
