/*
 * NAME
 *	qmgr_message - a message in the active queue, from read to removal
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	qmgr_msg_activate(qid);		// active/QID is there: read, route, queue
 *	qmgr_msg_result(rcpt, 0, "2.0.0", "delivered to maildir", "local", ...);
 * DESCRIPTION
 *	qmgr_msg_activate() reads active/QID with the strict queue file
 *	reader.  A file that fails the checks is moved to corrupt/ with
 *	a warning that says why; a file that cannot be read (an I/O
 *	error) goes back to deferred/ to be tried again.  Then it logs
 *	"QID: from=<SENDER>, size=N, nrcpt=N (queue active)", takes the
 *	recipients that are not done yet (no d or f record), resolves
 *	each (qmgr_resolve.c) and queues it for its transport, or defers
 *	it at once when the transport has no agent.
 *
 *	qmgr_msg_consider() is the same for a file read where it waits
 *	(incoming/ or deferred/) while the active queue is crowded
 *	(qmgr_crowded(): half full, by messages or recipients): it goes
 *	into active/ and the active queue only when one of its
 *	destinations is not busy (qmgr_sched_busy()), or when they cannot
 *	all be named (a recipient that does not route, more than
 *	QMGR_POSTPONE_DESTS destinations) or none is left to do (1);
 *	else it stays where it is, unchanged, and its destinations are
 *	given back for qmgr_postpone.c (0); -1 when it went away, or was
 *	set aside as corrupt or unreadable.  qmgr_msg_reads counts the
 *	queue files read.
 *
 *	qmgr_msg_result() records what happened to one recipient: a
 *	status record appended to the queue file (d, w or f) and the log
 *	line "QID: to=<RCPT>, relay=R, delay=D, delays=a/b/c/d, dsn=X.Y.Z,
 *	status=sent|deferred|bounced (REASON)", where a is the time
 *	before the active queue, b the time in it before the delivery
 *	started, c the connection set-up and d the delivery.
 *
 *	When the last recipient of a message has a result for this
 *	attempt, the message is finished:
 *	  - deferred recipients older than maximal_queue_lifetime
 *	    (bounce_queue_lifetime for a message from the null sender)
 *	    are failed ("status=expired, returned to sender");
 *	  - failed recipients get one notification (qmgr_bounce.c); once
 *	    cleanup has queued it, a b record says so and the log has
 *	    "QID: sender non-delivery notification: NEWID" (a notification
 *	    that cleanup refuses for good, 5.x.x, is logged and dropped;
 *	    one it cannot take now is tried again with the message);
 *	  - a message with deferred recipients (or whose notification
 *	    could not be queued) moves to deferred/ with its mtime set to
 *	    the next attempt (qmgr_backoff());
 *	  - anything else is done: the file is removed, "QID: removed".
 *	While qmgr stops, a message is left where it is (active/) when
 *	finishing it would need a new notification or a deferral (the
 *	agents are stopping too, so their failures say little): the next
 *	qmgr takes it up again at once.
 *
 *	Bounds: at most qmgr_message_active_limit messages and
 *	qmgr_message_recipient_limit recipients in memory
 *	(qmgr_has_room(); a message is always taken when none is in
 *	memory, so one large message cannot stall the queue).  At most
 *	FD_BUDGET queue files are held open by messages that wait for a
 *	connection; the others are opened again when their turn comes.
 *
 *	Reasons written into status records are made one printable line
 *	first (str_line()).
 * SECURITY
 *	A queue file is read with the strict reader and trusted for
 *	nothing else: addresses go to the agents, which check them again,
 *	and into notifications only through qmgr_bounce.c's filters.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "delivery.h"
#include "delivery_log.h"
#include "event.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "qfile.h"
#include "qmgr.h"
#include "safefile.h"
#include "str.h"

#define FD_BUDGET	256		/* queue files kept open while waiting */

size_t	qmgr_active_count;
size_t	qmgr_rcpt_count;
uint64_t qmgr_msg_reads;
static struct qmgr_msg *active_head;
static size_t open_fds;
static bool stopping;

static void finish(struct qmgr_msg *m);
static void finish_rest(struct qmgr_msg *m, bool keep);

void
qmgr_msg_set_stopping(bool on)
{
	stopping = on;
}

bool
qmgr_crowded(void)
{
	return 2 * qmgr_active_count >= (size_t) cfg->qmgr_message_active_limit
	    || 2 * qmgr_rcpt_count >= (size_t) cfg->qmgr_message_recipient_limit;
}

bool
qmgr_has_room(void)
{
	if (qmgr_active_count == 0)
		return true;
	return qmgr_active_count < (size_t) cfg->qmgr_message_active_limit
	    && qmgr_rcpt_count < (size_t) cfg->qmgr_message_recipient_limit;
}

static double
secs_since(const struct timeval *tv)
{
	struct timeval now;

	(void) gettimeofday(&now, NULL);
	return (double) (now.tv_sec - tv->tv_sec) + (double) (now.tv_usec - tv->tv_usec) / 1e6;
}

static void
close_fds(struct qmgr_msg *m)
{
	if (m->fd >= 0) {
		(void) close(m->fd);
		m->fd = -1;
		open_fds--;
	}
	if (m->afd >= 0) {
		(void) close(m->afd);
		m->afd = -1;
	}
}

int
qmgr_msg_fd(struct qmgr_msg *m)
{
	char    path[64];

	if (m->fd >= 0)
		return m->fd;
	(void) str_fmt(path, sizeof(path), "active/%s", m->qid);
	m->fd = sf_open(AT_FDCWD, path, O_RDONLY, 0, geteuid(), NULL, NULL);
	if (m->fd >= 0)
		open_fds++;
	return m->fd;
}

/* append - one status record; a failure is logged, not fatal */
static void
append(struct qmgr_msg *m, int type, const char *data)
{
	char    path[64];

	if (m->afd < 0) {
		(void) str_fmt(path, sizeof(path), "active/%s", m->qid);
		m->afd = sf_open(AT_FDCWD, path, O_WRONLY | O_APPEND, 0, geteuid(), NULL, NULL);
		if (m->afd < 0) {
			log_error("%s: cannot open the queue file to record a result: %m",
				  m->qid);
			return;
		}
	}
	if (qfile_append_status(m->afd, type, data) < 0)
		log_error("%s: cannot record a delivery result in the queue file: %m "
			  "(the recipient may be tried again)", m->qid);
}

/* record - the d/w/f record of r */
static void
record(struct qmgr_rcpt *r, int type)
{
	char    data[QFILE_STATUS_MAX + 1];

	if (type == QF_REC_DONE)
		(void) str_fmt(data, sizeof(data), "%zu", r->index);
	else
		(void) str_fmt(data, sizeof(data), "%zu %s %.3500s", r->index, r->dsn,
			       r->reason ? r->reason : "");
	append(r->msg, type, data);
}

static void
set_reason(struct qmgr_rcpt *r, const char *dsn, const char *reason)
{
	char    clean[QMGR_REASON_MAX];

	(void) str_copy(r->dsn, sizeof(r->dsn), dsn);
	str_line(clean, sizeof(clean), reason);
	free(r->reason);
	r->reason = xstrdup(clean);
}

/* log_to - the "to=" line of a result qmgr logs itself */
static void
log_to(struct qmgr_rcpt *r, const char *relay, int status, double b, double c,
       double d)
{
	struct delivery_delays dl = {r->msg->queue_delay, b, c, d};

	delivery_log_to(r->msg->qid, r->address, r->orig, relay, &dl, r->dsn,
			status, r->reason ? r->reason : "");
}

/*
 * goes_now - r, just delivered, is the last recipient of m that had
 * anything left, and nothing else keeps the file: finish() removes it
 * next, and the removal records r's delivery.  Its d record would be
 * a write into a file about to go; finish_rest() writes it after all
 * when the file cannot be removed.
 */
static bool
goes_now(const struct qmgr_msg *m, const struct qmgr_rcpt *r)
{
	if (m->busy != 1 || m->bouncing || m->finishing)
		return false;
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		const struct qmgr_rcpt *o = &m->rcpts[i];

		if (o != r && o->state != QR_DONE && o->state != QR_BOUNCED)
			return false;
	}
	return true;
}

/* result - record r's result; log it unless the agent did (b < 0) */
static void
result(struct qmgr_rcpt *r, int status, const char *dsn, const char *reason,
       const char *relay, double b, double c, double d)
{
	struct qmgr_msg *m = r->msg;
	bool    log = b >= 0;

	if (r->state == QR_INFLIGHT && m->inflight > 0)
		m->inflight--;
	set_reason(r, dsn, reason);
	switch (status) {
	case DELIVERY_SENT:
		r->state = QR_DONE;
		if (goes_now(m, r))
			m->unrecorded = r;
		else
			record(r, QF_REC_DONE);
		break;
	case DELIVERY_BOUNCE:
		r->state = QR_FAILED;
		record(r, QF_REC_FAIL);
		break;
	default:
		status = DELIVERY_DEFER;
		r->state = QR_DEFERRED;
		record(r, QF_REC_DEFER);
		break;
	}
	if (log)
		log_to(r, relay, status, b, c, d);
	/* Not needed while it waits: let other messages have the file. */
	if (m->inflight == 0 && m->busy > 1 && open_fds > FD_BUDGET)
		close_fds(m);
	if (m->busy > 0 && --m->busy == 0)
		finish(m);
}

void
qmgr_msg_result(struct qmgr_rcpt *r, int status, const char *dsn,
		const char *reason, const char *relay, double wait_delay,
		double conn_delay, double xfer_delay)
{
	result(r, status, dsn, reason, relay, wait_delay < 0 ? 0 : wait_delay,
	       conn_delay, xfer_delay);
}

void
qmgr_msg_record(struct qmgr_rcpt *r, int status, const char *dsn,
		const char *reason)
{
	result(r, status, dsn, reason, NULL, -1, 0, 0);
}

void
qmgr_msg_request(const struct qmgr_msg *m, const char *transport,
		 const char *nexthop, uint64_t now_ms, struct delivery_request *rq)
{
	const char *utf8 = qfile_env_attr(&m->env, "smtputf8");
	const char *envid = qfile_env_attr(&m->env, "envid");
	const char *ret = qfile_env_attr(&m->env, "ret");
	const char *body = qfile_env_attr(&m->env, "body");

	rq->queue_id = m->qid;
	rq->transport = transport;
	rq->nexthop = nexthop;
	rq->sender = m->env.sender;
	rq->smtputf8 = utf8 != NULL && str_eq(utf8, "1");
	rq->body_type = body != NULL && (str_eq(body, "7BIT") || str_eq(body, "8BITMIME"))
	    ? body : "";
	rq->envid = envid ? envid : "";
	rq->ret = ret != NULL && (str_eq(ret, "FULL") || str_eq(ret, "HDRS")) ? ret : "";
	rq->arrival = (uint64_t) m->env.arrival.tv_sec;
	rq->delay_queue_ms = (uint64_t) (m->queue_delay * 1000.0);
	rq->delay_active_ms = now_ms > m->active_ms ? now_ms - m->active_ms : 0;
	rq->hdr_off = (uint64_t) m->env.hdr_off;
	rq->hdr_len = m->env.hdr_len;
	rq->body_off = (uint64_t) m->env.body_off;
	rq->body_len = m->env.body_len;
}

static void
msg_free(struct qmgr_msg *m)
{
	qmgr_bounce_cancel(m);
	qmgr_sched_drop_msg(m);
	close_fds(m);
	if (m->prev)
		m->prev->next = m->next;
	else
		active_head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	qmgr_active_count--;
	qmgr_rcpt_count -= m->env.nrcpts;
	for (size_t i = 0; i < m->env.nrcpts; i++)
		free(m->rcpts[i].reason);
	free(m->rcpts);
	qfile_env_free(&m->env);
	free(m);
	qmgr_scan_room();
}

/* to_deferred - mtime = next attempt, then into deferred/ */
static void
to_deferred(struct qmgr_msg *m)
{
	struct timespec ts[2];
	char    path[64];
	time_t  now = time(NULL);
	uint64_t wait = qmgr_backoff(m->env.arrival.tv_sec, now, cfg->minimal_backoff_time,
				     cfg->maximal_backoff_time);

	(void) str_fmt(path, sizeof(path), "active/%s", m->qid);
	ts[0].tv_sec = now;
	ts[0].tv_nsec = 0;
	ts[1].tv_sec = now + (time_t) wait;
	ts[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		log_warn("%s: cannot set the next attempt time: %m", m->qid);
	if (qmgr_move_later("active", m->qid, "deferred") < 0)
		log_error("%s: cannot move to deferred/: %m (it stays in active/ "
			  "until qmgr restarts)", m->qid);
}

static void
finish(struct qmgr_msg *m)
{
	time_t  now = time(NULL);
	uint64_t lifetime = m->env.sender[0] == '\0' ? cfg->bounce_queue_lifetime
	    : cfg->maximal_queue_lifetime;
	bool    failed = false, expired = false;
	int     r;

	if (m->bouncing || m->finishing)
		return;
	m->finishing = true;

	/* Too old: what is still deferred is returned. */
	if (qmgr_expired(m->env.arrival.tv_sec, now, lifetime)) {
		for (size_t i = 0; i < m->env.nrcpts; i++) {
			struct qmgr_rcpt *rc = &m->rcpts[i];

			if (rc->state != QR_DEFERRED)
				continue;
			rc->state = QR_FAILED;
			record(rc, QF_REC_FAIL);
			expired = true;
		}
		if (expired)
			log_info("%s: from=<%s>, status=expired, returned to sender",
				 m->qid, m->env.sender);
	}
	for (size_t i = 0; i < m->env.nrcpts; i++)
		if (m->rcpts[i].state == QR_FAILED)
			failed = true;
	if (!failed) {
		finish_rest(m, false);
		return;
	}
	if (stopping) {
		/* Left in active/: the next qmgr sends the notification. */
		m->finishing = false;
		msg_free(m);
		return;
	}
	r = qmgr_bounce_start(m, false);
	if (r == 0) {
		m->bouncing = true;
		m->finishing = false;
		return;
	}
	if (r == 1) {
		/* Nothing to send (NOTIFY=NEVER, a dropped postmaster notice). */
		append(m, QF_REC_BOUNCED, "");
		for (size_t i = 0; i < m->env.nrcpts; i++)
			if (m->rcpts[i].state == QR_FAILED)
				m->rcpts[i].state = QR_BOUNCED;
		finish_rest(m, false);
		return;
	}
	finish_rest(m, true);
}

void
qmgr_msg_bounce_done(struct qmgr_msg *m, bool ok, const char *queue_id,
		     const char *why)
{
	m->bouncing = false;
	if (m->warning) {
		m->warning = false;
		if (ok || (why != NULL && why[0] == '5')) {
			if (ok)
				log_info("%s: sender delay notification: %s", m->qid, queue_id);
			else
				log_warn("%s: delay notification refused: %s; not sent",
					 m->qid, why);
			append(m, QF_REC_WARNED, "");
			m->warned = true;
		} else {
			log_warn("%s: cannot queue a delay notification: %s (will try "
				 "again)", m->qid, why ? why : "unknown error");
		}
		m->finishing = true;
		finish_rest(m, m->keep);
		return;
	}
	if (ok) {
		log_info("%s: %s non-delivery notification: %s", m->qid,
			 m->env.sender[0] == '\0' ? "postmaster" : "sender", queue_id);
		append(m, QF_REC_BOUNCED, "");
		for (size_t i = 0; i < m->env.nrcpts; i++)
			if (m->rcpts[i].state == QR_FAILED)
				m->rcpts[i].state = QR_BOUNCED;
	} else if (why != NULL && why[0] == '5') {
		/* Refused for good (too big, say): retrying cannot help. */
		log_warn("%s: non-delivery notification refused: %s; not sent",
			 m->qid, why);
		append(m, QF_REC_BOUNCED, "");
		for (size_t i = 0; i < m->env.nrcpts; i++)
			if (m->rcpts[i].state == QR_FAILED)
				m->rcpts[i].state = QR_BOUNCED;
		ok = true;
	} else {
		log_warn("%s: cannot queue a non-delivery notification: %s "
			 "(will try again)", m->qid, why ? why : "unknown error");
	}
	m->finishing = true;
	finish_rest(m, !ok);
}

/*
 * warn_due - m stays deferred, has waited delay_warning_time, and its
 * sender has not been warned yet (once per message, as Postfix)
 */
static bool
warn_due(const struct qmgr_msg *m)
{
	time_t  now = time(NULL);

	if (cfg->delay_warning_time == 0 || m->warned || m->warn_tried
	    || m->env.sender[0] == '\0'
	    || now - m->env.arrival.tv_sec < (time_t) cfg->delay_warning_time)
		return false;
	for (size_t i = 0; i < m->env.nrcpts; i++)
		if (m->rcpts[i].state == QR_DEFERRED
		    && qmgr_notify_delay(m->env.rcpts[i].notify))
			return true;
	return false;
}

/* finish_rest - deferred/ when anything is left to do, else removed */
static void
finish_rest(struct qmgr_msg *m, bool keep)
{
	char    path[64];
	bool    deferred = keep;

	for (size_t i = 0; i < m->env.nrcpts; i++)
		if (m->rcpts[i].state == QR_DEFERRED)
			deferred = true;
	if (deferred && !stopping && warn_due(m)) {
		int     r;

		m->warn_tried = true;
		r = qmgr_bounce_start(m, true);
		if (r == 0) {
			/* qmgr_msg_bounce_done() comes back here. */
			m->bouncing = m->warning = true;
			m->keep = keep;
			m->finishing = false;
			return;
		}
		if (r == 1) {
			append(m, QF_REC_WARNED, "");
			m->warned = true;
		}
	}
	close_fds(m);
	if (deferred && stopping) {
		/*
		 * Agents are being stopped too, so a failure now says little
		 * about the destination: the next qmgr tries again at once.
		 */
	} else if (deferred) {
		to_deferred(m);
	} else {
		(void) str_fmt(path, sizeof(path), "active/%s", m->qid);
		if (unlink(path) < 0 && errno != ENOENT) {
			log_error("%s: cannot remove the queue file: %m", m->qid);
			/* It stays: it must say what was delivered after all. */
			if (m->unrecorded != NULL)
				record(m->unrecorded, QF_REC_DONE);
		} else
			log_info("%s: removed", m->qid);
	}
	msg_free(m);
}

/* limits - the reader's bounds, from main.cf */
static void
limits(struct qfile_limits *lim)
{
	uint64_t body;

	qfile_limits_default(lim);
	lim->rcpt_max = (size_t) cfg->cleanup_recipient_limit;
	lim->hdr_max = cfg->header_size_limit + 65536;
	body = cfg->message_size_limit == 0 ? QFILE_BODY_ABS_MAX
	    : cfg->message_size_limit + 65536;
	lim->body_max = body > QFILE_BODY_ABS_MAX ? QFILE_BODY_ABS_MAX : body;
}

/* defer_now - a recipient that cannot even be queued */
static void
defer_now(struct qmgr_rcpt *r, const char *dsn, const char *reason)
{
	set_reason(r, dsn, reason);
	r->state = QR_DEFERRED;
	record(r, QF_REC_DEFER);
	log_to(r, "none", DELIVERY_DEFER, 0, 0, 0);
}

/*
 * msg_read - QUEUE/QID with the strict reader, as a message not yet in
 * the active queue, or NULL: gone, or set aside (a file that fails the
 * checks to corrupt/; one that cannot be read to deferred/, to be tried
 * again)
 */
static struct qmgr_msg *
msg_read(const char *queue, const char *qid)
{
	struct qfile_limits lim;
	struct qmgr_msg *m;
	char    path[64], why[512];
	const char *reason;
	int     fd;

	/*
	 * A queue file is a plain file of ours with one link (sf_open):
	 * not a link, a FIFO, a device, or a hard link to a file that
	 * lives elsewhere; the reader checks every record after that.
	 */
	(void) str_fmt(path, sizeof(path), "%s/%s", queue, qid);
	fd = sf_open(AT_FDCWD, path, O_RDONLY, 0, geteuid(), NULL, &reason);
	if (fd < 0) {
		if (errno == ENOENT)
			return NULL;
		log_warn("%s: cannot open %s: %s: %m; moved to corrupt/", qid, path, reason);
		(void) qmgr_move(queue, qid, "corrupt");
		return NULL;
	}
	qmgr_msg_reads++;
	m = xcalloc(1, sizeof(*m));
	m->fd = fd;
	m->afd = -1;
	open_fds++;
	(void) str_copy(m->qid, sizeof(m->qid), qid);
	limits(&lim);
	if (qfile_read(fd, 0, qid, &lim, &m->env, why, sizeof(why)) < 0) {
		int     err = errno;

		(void) close(fd);
		open_fds--;
		free(m);
		if (err == 0) {
			log_warn("%s: corrupt queue file moved to corrupt/: %s", qid, why);
			(void) qmgr_move(queue, qid, "corrupt");
		} else {
			log_error("%s: cannot read the queue file: %s; trying again later",
				  qid, why);
			if (!str_eq(queue, "deferred"))
				(void) qmgr_move(queue, qid, "deferred");
		}
		return NULL;
	}
	if (m->env.status_truncated) {
		int     wfd = sf_open(AT_FDCWD, path, O_WRONLY, 0, geteuid(), NULL, NULL);

		if (wfd < 0 || qfile_repair_tail(wfd, &m->env) < 0)
			log_warn("%s: cannot cut a damaged status record: %m", qid);
		else
			log_warn("%s: a damaged status record at the end was cut off", qid);
		if (wfd >= 0)
			(void) close(wfd);
	}
	return m;
}

/* msg_unread - a message read but not taken into the active queue */
static void
msg_unread(struct qmgr_msg *m)
{
	close_fds(m);
	qfile_env_free(&m->env);
	free(m);
}

/* msg_start - m, read from active/, joins the active queue: route, queue */
static void
msg_start(struct qmgr_msg *m)
{
	uint64_t now_ms = ev_time_ms();
	const char *filter;

	m->active_ms = now_ms;
	m->warned = m->env.warned;
	m->queue_delay = secs_since(&m->env.arrival);
	if (m->queue_delay < 0)
		m->queue_delay = 0;
	m->rcpts = xcalloc(m->env.nrcpts + 1, sizeof(*m->rcpts));
	m->next = active_head;
	if (active_head)
		active_head->prev = m;
	active_head = m;
	qmgr_active_count++;
	qmgr_rcpt_count += m->env.nrcpts;

	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", m->qid,
		 m->env.sender, (unsigned long long) (m->env.hdr_len + 1 + m->env.body_len),
		 m->env.nrcpts);

	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct qmgr_rcpt *r = &m->rcpts[i];
		const struct qfile_rcpt *qr = &m->env.rcpts[i];

		r->msg = m;
		r->index = i;
		r->address = qr->address;
		r->orig = qr->orig;
		switch (qr->status) {
		case QF_RCPT_DELIVERED:
			r->state = QR_DONE;
			break;
		case QF_RCPT_FAILED:
			r->state = qr->bounced ? QR_BOUNCED : QR_FAILED;
			(void) str_copy(r->dsn, sizeof(r->dsn), qr->dsn ? qr->dsn : "5.0.0");
			r->reason = xstrdup(qr->reason ? qr->reason : "");
			break;
		default:
			r->state = QR_TODO;
			break;
		}
	}

	/* Route and queue what is left.  busy holds finish() back meanwhile. */
	filter = qfile_env_attr(&m->env, "filter");
	m->busy = 1;
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct qmgr_rcpt *r = &m->rcpts[i];
		struct qmgr_route rt;

		if (r->state != QR_TODO)
			continue;
		qmgr_resolve_filter(r->address, filter, &rt);
		if (rt.status != 0) {
			defer_now(r, rt.dsn, rt.reason);
			continue;
		}
		qmgr_sched_enqueue(rt.tp, r, rt.nexthop, now_ms);
		m->busy++;
	}
	if (open_fds > FD_BUDGET) {
		(void) close(m->fd);
		m->fd = -1;
		open_fds--;
	}
	if (--m->busy == 0)
		finish(m);
	else
		qmgr_deliver_kick_all();
}

int
qmgr_msg_activate(const char *qid)
{
	struct qmgr_msg *m = msg_read("active", qid);

	if (m == NULL)
		return -1;
	msg_start(m);
	return 0;
}

/*
 * destinations - where m's recipients still to do go, at most max
 * distinct ones into dests; -1 when they cannot all be named so (a
 * recipient that does not route, more destinations than max), 0 when
 * none is left to do (a notification to send, say)
 */
static ssize_t
destinations(const struct qmgr_msg *m, struct qmgr_pp_dest *dests, size_t max)
{
	const char *filter = qfile_env_attr(&m->env, "filter");
	size_t  n = 0;

	for (size_t i = 0; i < m->env.nrcpts; i++) {
		const struct qfile_rcpt *qr = &m->env.rcpts[i];
		struct qmgr_route rt;
		struct qmgr_pp_dest d;
		size_t  k;

		if (qr->status == QF_RCPT_DELIVERED || qr->status == QF_RCPT_FAILED)
			continue;
		qmgr_resolve_filter(qr->address, filter, &rt);
		if (rt.status != 0)
			return -1;
		d.tp = rt.tp;
		d.hash = qmgr_dest_hash(rt.tp, qr->address, rt.nexthop);
		for (k = 0; k < n; k++)
			if (dests[k].tp == d.tp && dests[k].hash == d.hash)
				break;
		if (k < n)
			continue;
		if (n == max)
			return -1;
		dests[n++] = d;
	}
	return (ssize_t) n;
}

int
qmgr_msg_consider(const char *queue, const char *qid, struct qmgr_pp_dest *dests,
		  size_t *ndests)
{
	struct qmgr_msg *m = msg_read(queue, qid);
	struct stat a, b;
	char    path[64];
	ssize_t n;
	bool    wanted;

	*ndests = 0;
	if (m == NULL)
		return -1;
	n = destinations(m, dests, QMGR_POSTPONE_DESTS);
	wanted = n <= 0;
	for (ssize_t i = 0; i < n && !wanted; i++)
		wanted = !qmgr_sched_busy(dests[i].tp, dests[i].hash);
	if (!wanted) {
		*ndests = (size_t) n;
		msg_unread(m);
		return 0;
	}
	if (qmgr_move(queue, qid, "active") < 0) {
		if (errno != ENOENT)
			log_warn("%s: cannot move from %s/ to active/: %m", qid, queue);
		msg_unread(m);
		return -1;
	}
	/* What was read is what moved (only mail_owner can swap it, but still). */
	(void) str_fmt(path, sizeof(path), "active/%s", qid);
	if (fstat(m->fd, &a) < 0 || fstatat(AT_FDCWD, path, &b, AT_SYMLINK_NOFOLLOW) < 0
	    || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		msg_unread(m);
		return qmgr_msg_activate(qid) == 0 ? 1 : -1;
	}
	msg_start(m);
	return 1;
}

size_t
qmgr_msg_inflight(void)
{
	size_t  n = 0;

	for (struct qmgr_msg *m = active_head; m != NULL; m = m->next)
		n += m->inflight;
	return n;
}
