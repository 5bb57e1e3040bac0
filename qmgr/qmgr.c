/*
 * NAME
 *	qmgr - the queue manager
 * SYNOPSIS
 *	qmgr -c config_dir -n qmgr -t fifo -u -z	(started by the master)
 * DESCRIPTION
 *	qmgr moves mail through the queue.  cleanup writes each accepted
 *	message into incoming/ and wakes qmgr; qmgr moves it into
 *	active/ (the messages it holds in memory, at most
 *	qmgr_message_active_limit of them), decides for each recipient
 *	which transport delivers it and to which next hop (as Postfix:
 *	mydestination and no domain: local_transport; relay_domains:
 *	relay_transport; other domains: default_transport, "smtp", with
 *	relayhost as the next hop when it is set; transport_maps can say
 *	otherwise, "example.org discard:", "example.org error:5.1.1
 *	gone", "example.org smtp:[10.0.0.1]:25"), hands the recipients to
 *	the delivery agents with bounded concurrency, and records each
 *	result in the queue file.  A transport is a master.cf unix
 *	service of that name (private/NAME); qmgr reads no master.cf:
 *	mail for a transport with no such service is deferred ("mail
 *	transport unavailable").  A message with a content filter (the
 *	queue file's "filter" attribute, from a FILTER action) goes to
 *	that transport:nexthop for every recipient instead.
 *
 *	Then: a message whose recipients are all done is removed (the
 *	removal records the last delivery: no status record is written
 *	into a file about to go); one
 *	with deferred recipients moves to deferred/ and is tried again
 *	after a backoff that grows with its age (minimal_backoff_time up
 *	to maximal_backoff_time) until maximal_queue_lifetime
 *	(bounce_queue_lifetime for a notification), when it is returned
 *	with the last reason; failed recipients get one delivery status
 *	notification (RFC 3464) from MAILER-DAEMON with the null sender,
 *	and a notification that fails goes to postmaster once, never back
 *	and forth.  With delay_warning_time set, the sender of a message
 *	still deferred that long gets one "delayed" notification.
 *
 *	Details: qmgr_scan.c (wake-ups, scans), qmgr_message.c (one
 *	message), qmgr_resolve.c (routing), qmgr_transport.c (the
 *	transports and their limits), qmgr_sched.c (queues per transport,
 *	destinations, feedback, suspension), qmgr_deliver.c (agent
 *	connections), qmgr_defer.c (backoff), qmgr_bounce.c
 *	(notifications).
 * SCHEDULING
 *	As in Postfix.  Per destination (the next hop; for a transport
 *	whose requests carry one recipient, local, the recipient): at
 *	most NAME_destination_concurrency_limit deliveries at once
 *	(default_destination_concurrency_limit, 20;
 *	local_destination_concurrency_limit, 2), starting at
 *	NAME_initial_destination_concurrency (5) and growing by one per
 *	window's worth of requests that worked; a destination that fails
 *	as a whole (no connection, a 4xx greeting, a timeout: the agent's
 *	site status) shrinks, and after a window's worth of such failures
 *	it is suspended: its mail is deferred at once, without an
 *	attempt, for minimal_backoff_time, twice that after the next
 *	failure, up to maximal_backoff_time; then one request tries it.
 *	Per request: up to NAME_destination_recipient_limit recipients
 *	of one message for one destination (default_destination_recipient_limit
 *	50; local_destination_recipient_limit 1).  Messages are served
 *	round-robin, and a message's destinations take turns, so a
 *	message with many recipients does not hold up the ones behind
 *	it, and a destination at its limit waits while the others go: a
 *	destination with thousands of messages does not hold up one with
 *	a single message.  Beyond the active queue too: once it is half
 *	full, a message whose destinations all hold their share of it
 *	already (twice what their concurrency limit lets run) is left
 *	in incoming/ or deferred/ and remembered (at most 5 x
 *	qmgr_message_active_limit of them) without being read again, so
 *	the other half is for mail to the other destinations.
 *	The feedback is Postfix's, with its parameters:
 *	NAME_destination_concurrency_positive_feedback and
 *	_negative_feedback (default_destination_concurrency_..., a
 *	number from 0 to 1 or N/concurrency; 1/concurrency by default,
 *	where Postfix's default is 1) and
 *	NAME_destination_concurrency_failed_cohort_limit (1; 0: never
 *	suspend).  NAME_destination_rate_delay
 *	(default_destination_rate_delay, 0: none) spaces the deliveries
 *	to a destination (a recipient, for local) by that much, one at a
 *	time.  How many agent processes there are is the
 *	master's business: an agent greets each connection it accepts,
 *	and qmgr keeps at most two connections per transport waiting for
 *	a greeting, so the service's maxproc bounds the deliveries at
 *	once; a connection is reused for any destination.
 * WAKE-UPS
 *	The FIFO public/qmgr (the master's descriptor 4): 'W' new mail,
 *	'F' flush the deferred queue (postqueue -f), 'S' scan everything;
 *	any other byte counts as 'W'.  Wake-ups are coalesced: at most
 *	one scan per 50 ms, whatever their rate.
 * START AND STOP
 *	At start every file left in active/ by a crash or a stop goes back
 *	to incoming/, and incoming/ and the due part of deferred/ are
 *	scanned: nothing that cleanup acknowledged is forgotten.  SIGTERM
 *	stops scans and new deliveries; deliveries in flight finish (at
 *	most STOP_GRACE_MS), and the rest stays in active/ for the next
 *	start.
 * PROTOCOL
 *	As a client: private/TRANSPORT (lib/svc/delivery.h, the protocol of
 *	every delivery agent),
 *	private/cleanup (lib/svc/cleanup_clnt.h) for notifications,
 *	private/lookup (lib/svc/lookup_clnt.h) for transport_maps.
 * LOGGING
 *	QUEUEID: from=<SENDER>, size=N, nrcpt=N (queue active)
 *	QUEUEID: to=<RCPT>, relay=none, delay=D, delays=a/b/c/d,
 *	  dsn=X.Y.Z, status=deferred|bounced (REASON), for what qmgr
 *	  decides without an agent (the agents log their own results)
 *	transport T: destination D suspended for Ns after failures: REASON
 *	QUEUEID: sender non-delivery notification: NEWID
 *	QUEUEID: from=<SENDER>, status=expired, returned to sender
 *	QUEUEID: removed
 * SECURITY
 *	qmgr runs as mail_owner, chrooted into the queue directory, in
 *	one process.  It reads queue files with the strict reader (a bad
 *	one goes to corrupt/ with a warning) and never decides whose
 *	rights a delivery uses: local looks each recipient up itself.
 *	Text that goes into a notification is filtered there
 *	(qmgr_bounce.c).  It never blocks on a delivery agent, cleanup or
 *	a wake-up.
 * CONFIGURATION PARAMETERS
 *	qmgr_message_active_limit, qmgr_message_recipient_limit,
 *	queue_run_delay, minimal_backoff_time, maximal_backoff_time,
 *	maximal_queue_lifetime, bounce_queue_lifetime,
 *	delay_warning_time, default_destination_concurrency_limit,
 *	local_destination_concurrency_limit,
 *	initial_destination_concurrency,
 *	default_destination_recipient_limit,
 *	local_destination_recipient_limit,
 *	default_destination_rate_delay,
 *	default_destination_concurrency_failed_cohort_limit,
 *	default_destination_concurrency_positive_feedback,
 *	default_destination_concurrency_negative_feedback, and per transport
 *	NAME_destination_concurrency_limit,
 *	NAME_destination_recipient_limit,
 *	NAME_initial_destination_concurrency,
 *	NAME_destination_rate_delay,
 *	NAME_destination_concurrency_failed_cohort_limit,
 *	NAME_destination_concurrency_positive_feedback,
 *	NAME_destination_concurrency_negative_feedback; recipient_delimiter (the
 *	local destination), ipc_timeout (reply deadline), mydestination,
 *	relay_domains, relayhost, transport_maps, local_transport,
 *	default_transport, relay_transport, bounce_notice_recipient,
 *	double_bounce_sender, bounce_size_limit, myhostname.
 */
#include <sys/resource.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "event.h"
#include "log.h"
#include "params.h"
#include "qmgr.h"
#include "server.h"
#include "str.h"

#define STOP_GRACE_MS	8000	/* the master kills after 10 s */
#define STOP_POLL_MS	50

static struct ev_timer stop_timer;
static uint64_t stop_deadline;

static void
qmgr_start(struct ev_loop *loop)
{
	struct rlimit rl;

	/* Descriptors are bounded by the design; give the bound room. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
	qmgr_deliver_init(loop);
	qmgr_bounce_init(loop);
	qmgr_scan_init(loop, server_listen_count() > 0 ? server_listen_fd(0) : -1);
	qmgr_scan_recover();
}

static void
stop_check(struct ev_loop *loop, struct ev_timer *t)
{
	if ((qmgr_deliver_busy() == 0 && qmgr_bounce_busy() == 0)
	    || ev_now(loop) >= stop_deadline) {
		if (qmgr_deliver_busy() > 0)
			log_warn("stopping with %zu deliveries in flight; their messages "
				 "stay in active/", qmgr_deliver_busy());
		server_exit(0);
	}
	ev_timer_start(loop, t, STOP_POLL_MS);
}

static void
qmgr_stop(struct ev_loop *loop)
{
	qmgr_msg_set_stopping(true);
	qmgr_scan_stop();
	qmgr_deliver_close_idle();
	stop_deadline = ev_now(loop) + STOP_GRACE_MS;
	ev_timer_init(&stop_timer, stop_check, NULL);
	ev_timer_start(loop, &stop_timer, 0);
}

static const char *const talks[] = {
	"private/*", NULL,
};
static const char *const params[] = {
	"*_destination_concurrency_limit", "*_destination_recipient_limit",
	"*_initial_destination_concurrency",
	"*_destination_concurrency_failed_cohort_limit",
	"*_destination_concurrency_positive_feedback",
	"*_destination_concurrency_negative_feedback",
	"*_destination_rate_delay",
	"bounce_notice_recipient", "bounce_queue_lifetime",
	"bounce_size_limit", "cleanup_recipient_limit", "default_filter_nexthop",
	"default_transport",
	"delay_warning_time", "double_bounce_sender", "header_size_limit",
	"initial_destination_concurrency", "ipc_timeout", "local_transport",
	"maximal_backoff_time", "maximal_queue_lifetime",
	"message_size_limit", "minimal_backoff_time", "mydestination",
	"myhostname", "qmgr_message_active_limit",
	"qmgr_message_recipient_limit", "queue_run_delay",
	"recipient_delimiter", "relay_domains", "relay_transport",
	"relayhost", "smtpd_spool_directory", "transport_maps", NULL,
};

static const char *const syscalls[] = {
	"fchmod", "link", "linkat", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "utimensat", "copy_file_range", "sendfile",
	NULL,
};

static const struct server_ops ops = {
	.model = SERVER_EVENT,
	.chroot = SERVER_CHROOT_MUST,
	.syscalls = syscalls,
	.talks = talks,
	.params = params,
	.start = qmgr_start,
	.stop = qmgr_stop,
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
