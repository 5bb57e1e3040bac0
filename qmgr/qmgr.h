/*
 * NAME
 *	qmgr.h - the queue manager's private interfaces
 * SYNOPSIS
 *	#include "qmgr.h"
 * DESCRIPTION
 *	qmgr/qmgr.c holds main() and the manual; the rest is split by
 *	responsibility so that the check suites (tests/unit/qmgr_*_test.c)
 *	can link it:
 *
 *	qmgr_scan.c	 wake-ups, coalesced scans of incoming/ and
 *			 deferred/, moves into active/
 *	qmgr_message.c	 a message in the active queue: read, resolve,
 *			 record results, finish (remove, defer, bounce)
 *	qmgr_resolve.c	 recipient -> transport and next hop; the
 *			 transport table
 *	qmgr_sched.c	 per-transport job queues, destinations and
 *			 their concurrency
 *	qmgr_deliver.c	 connections to delivery agents (private/local)
 *	qmgr_defer.c	 backoff and queue lifetime arithmetic, delays
 *	qmgr_bounce.c	 delivery status notifications (RFC 3464):
 *			 composition and submission through cleanup
 */
#ifndef POSTERN_QMGR_H
#define POSTERN_QMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include "buf.h"
#include "event.h"
#include "qfile.h"
#include "qid.h"

#define QMGR_REASON_MAX		1024	/* reason text kept per recipient */
#define QMGR_NEXTHOP_MAX	256
#define QMGR_ADDRESS_MAX	1024	/* an address in a queue file */
#define QMGR_DEST_KEY_MAX	(QMGR_ADDRESS_MAX + QMGR_NEXTHOP_MAX + 2)

struct delivery_request;
struct qmgr_msg;
struct qmgr_transport;
struct qmgr_rcpt;

/* The recipients of one message waiting for one transport. */
struct qmgr_job {
	struct qmgr_transport *tp;
	struct qmgr_msg *msg;
	struct qmgr_rcpt *head, *tail;
	struct qmgr_job *next;		/* in the transport's round */
	struct qmgr_job *next_in_msg;	/* the message's jobs */
};

/*
 * A destination (qmgr_sched.c): what the per-destination concurrency
 * limit counts.  For a transport that delivers one recipient per
 * request (local) it is the recipient, without its address extension;
 * for the others the next hop.  It lives while a recipient refers to
 * it.
 */
struct qmgr_dest {
	struct qmgr_transport *tp;
	struct qmgr_dest *hnext;	/* the transport's hash chain */
	struct qmgr_rcpt *parked_head;	/* waiting for a slot here, */
	struct qmgr_rcpt *parked_tail;	/* in arrival order */
	size_t	refs;			/* recipients queued, parked, taken */
	int	active;			/* taken: being delivered */
	uint64_t hash;
	char	key[];
};

/*
 * Transports (qmgr_resolve.c).  A table entry names a transport that
 * main.cf (transport_maps, local_transport, default_transport) may
 * use; service NULL means no delivery agent exists for it yet, and its
 * recipients are deferred with unavailable_dsn/unavailable_text.
 */
struct qmgr_transport {
	const char *name;		/* "local", "smtp", ... */
	const char *service;		/* "private/local", or NULL */
	const char *unavailable_dsn;
	const char *unavailable_text;
	bool	per_rcpt;		/* one recipient per request: a */
					/* destination is a recipient */
	/* limits; 0: from main.cf (qmgr_dest_limit()) */
	int	dest_limit;		/* deliveries at once per destination */
	/* run-time state (qmgr_sched.c, qmgr_deliver.c) */
	struct qmgr_job *jobs_head;	/* messages with recipients waiting, */
	struct qmgr_job *jobs_tail;	/* served round-robin */
	size_t	waiting;		/* recipients queued (parked too) */
	size_t	parked;			/* of which wait for a destination */
	struct qmgr_dest **dests;	/* hash table of destinations */
	size_t	dests_size;		/* buckets, a power of two, or 0 */
	size_t	ndests;
	struct qmgr_conn *conns;	/* connections to the agent */
	int	nconns;
	int	npending;		/* of which not greeted yet */
	int	nbusy;
	uint64_t retry_at_ms;		/* agent unreachable until then */
	struct ev_timer kick_timer;	/* try again at retry_at_ms */
	bool	timer_ready;
};

enum qmgr_rcpt_state {
	QR_TODO,			/* not decided in this attempt */
	QR_QUEUED,			/* waiting for a connection */
	QR_INFLIGHT,			/* sent to an agent */
	QR_DONE,			/* delivered (now or earlier) */
	QR_DEFERRED,			/* try again later */
	QR_FAILED,			/* to be bounced */
	QR_BOUNCED,			/* failed, bounce already queued */
};

struct qmgr_rcpt {
	struct qmgr_msg *msg;
	size_t	index;			/* in the queue file */
	const char *address;		/* points into msg->env */
	const char *orig;		/* O record, or NULL */
	enum qmgr_rcpt_state state;
	char	dsn[10];
	char   *reason;			/* deferred/failed: why */
	const struct qmgr_transport *tp;
	char	nexthop[QMGR_NEXTHOP_MAX];
	struct qmgr_dest *dest;		/* while queued, parked or taken */
	bool	parked;			/* on dest's parked list */
	bool	taken;			/* counted in dest->active */
	struct qmgr_rcpt *next;		/* job or parked list link */
	uint64_t queued_ms;		/* when it was queued */
};

struct qmgr_msg {
	char	qid[QID_LEN + 1];
	struct qfile_env env;
	struct qmgr_rcpt *rcpts;	/* env.nrcpts of them */
	int	fd;			/* O_RDONLY, passed to agents; -1 */
	int	afd;			/* O_WRONLY|O_APPEND for status; -1 */
	size_t	busy;			/* recipients queued or in flight */
	size_t	inflight;		/* recipients sent to an agent */
	uint64_t active_ms;		/* monotonic ms when it became active */
	double	queue_delay;		/* seconds from arrival to active */
	struct qmgr_rcpt *unrecorded;	/* delivered last; its d record is */
					/* left out since the file goes */
	bool	bouncing;		/* a notification is being submitted */
	bool	finishing;
	struct qmgr_msg *prev, *next;	/* the active list */
	struct qmgr_bounce *bounce;	/* the submission in progress */
	struct qmgr_job *jobs;		/* per transport, while waiting */
};

/*
 * qmgr_defer.c - arithmetic, no I/O.
 */
uint64_t qmgr_backoff(time_t arrival, time_t now, uint64_t min_backoff,
		      uint64_t max_backoff);
bool	qmgr_expired(time_t arrival, time_t now, uint64_t lifetime);

/*
 * qmgr_resolve.c
 */
typedef int qmgr_lookup_fn(const char *param, const char *key, struct buf *value);

struct qmgr_route {
	const struct qmgr_transport *tp;	/* NULL: no such transport */
	char	transport[64];
	char	nexthop[QMGR_NEXTHOP_MAX];
	int	status;				/* 0, or 4: defer (dsn, reason) */
	char	dsn[10];
	char	reason[256];
};

extern struct qmgr_transport qmgr_transports[];
extern const size_t qmgr_ntransports;

struct qmgr_transport *qmgr_transport_find(const char *name);
void	qmgr_resolve_set_lookup(qmgr_lookup_fn *fn);
void	qmgr_resolve(const char *rcpt, struct qmgr_route *route);
bool	qmgr_is_local_domain(const char *domain);

/*
 * qmgr_sched.c - per-transport queues and destinations; no I/O.
 */
void	qmgr_sched_enqueue(struct qmgr_transport *tp, struct qmgr_rcpt *r,
			   uint64_t now_ms);
struct qmgr_rcpt *qmgr_sched_next(struct qmgr_transport *tp);
struct qmgr_rcpt *qmgr_sched_take(struct qmgr_transport *tp);
void	qmgr_sched_done(struct qmgr_rcpt *r);
void	qmgr_sched_drop_msg(struct qmgr_msg *m);
int	qmgr_dest_limit(const struct qmgr_transport *tp);
void	qmgr_dest_key(const struct qmgr_transport *tp, const char *address,
		      const char *nexthop, char *out, size_t size);

/*
 * qmgr_message.c
 */
extern size_t qmgr_active_count;
extern size_t qmgr_rcpt_count;

int	qmgr_msg_activate(const char *qid);
void	qmgr_msg_result(struct qmgr_rcpt *r, int status, const char *dsn,
			const char *reason, const char *relay, double wait_delay,
			double conn_delay, double xfer_delay);
void	qmgr_msg_record(struct qmgr_rcpt *r, int status, const char *dsn,
			const char *reason);
void	qmgr_msg_request(const struct qmgr_msg *m, const char *transport,
			 const char *nexthop, uint64_t now_ms,
			 struct delivery_request *rq);
void	qmgr_msg_set_stopping(bool on);
int	qmgr_msg_fd(struct qmgr_msg *m);
void	qmgr_msg_bounce_done(struct qmgr_msg *m, bool ok, const char *queue_id,
			     const char *why);
bool	qmgr_has_room(void);
size_t	qmgr_msg_inflight(void);
void	qmgr_sanitize(const char *in, char *out, size_t size);

/*
 * qmgr_deliver.c
 */
void	qmgr_deliver_init(struct ev_loop *loop);
void	qmgr_deliver_kick(struct qmgr_transport *tp);
void	qmgr_deliver_kick_all(void);
size_t	qmgr_deliver_busy(void);
void	qmgr_deliver_close_idle(void);

/*
 * qmgr_scan.c
 */
#define QMGR_SCAN_INCOMING	0x1
#define QMGR_SCAN_DEFERRED	0x2
#define QMGR_SCAN_FLUSH		0x4	/* every deferred message is due */

void	qmgr_scan_init(struct ev_loop *loop, int fifo_fd);
void	qmgr_scan_room(void);
void	qmgr_scan_request(unsigned what);
unsigned qmgr_trigger_bits(const char *codes, size_t n);
void	qmgr_scan_recover(void);
void	qmgr_scan_stop(void);
int	qmgr_move(const char *from_queue, const char *qid, const char *to_queue);

/*
 * qmgr_bounce.c
 */
struct qmgr_dsn_rcpt {
	const char *address;
	const char *orig;		/* NULL when unknown */
	const char *action;		/* "failed", "delayed" */
	const char *dsn;
	const char *reason;
};

struct qmgr_dsn_info {
	const char *qid;
	const char *hostname;		/* myhostname */
	const char *sender;		/* the original's envelope sender */
	const char *to;			/* who gets the notification */
	bool	postmaster_copy;	/* a bounce of a bounce */
	time_t	arrival;
	time_t	now;
	const char *headers;		/* the original's header section */
	size_t	headers_len;
	size_t	size_limit;		/* bounce_size_limit */
	const struct qmgr_dsn_rcpt *rcpts;
	size_t	nrcpts;
};

enum qmgr_bounce_kind {
	QB_SENDER,			/* to the sender, from <> */
	QB_POSTMASTER,			/* a bounce failed: to postmaster */
	QB_DISCARD,			/* a postmaster notice failed: log, drop */
};

enum qmgr_bounce_kind qmgr_bounce_policy(const char *sender, const char **to,
					 char *env_sender, size_t size);
bool	qmgr_notify_failure(const char *notify);
int	qmgr_dsn_compose(const struct qmgr_dsn_info *in, struct buf *out);
void	qmgr_dsn_clean(const char *in, size_t n, struct buf *out, size_t max);
int	qmgr_bounce_start(struct qmgr_msg *m);
void	qmgr_bounce_cancel(struct qmgr_msg *m);
void	qmgr_bounce_init(struct ev_loop *loop);
size_t	qmgr_bounce_busy(void);

#endif
