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
 *	qmgr_postpone.c	 files that wait in incoming/ or deferred/ for
 *			 busy destinations while the active queue is
 *			 crowded
 *	qmgr_message.c	 a message in the active queue: read, resolve,
 *			 record results, finish (remove, defer, bounce)
 *	qmgr_resolve.c	 recipient -> transport and next hop
 *	qmgr_transport.c the transports met so far and their limits
 *	qmgr_sched.c	 per-transport queues: messages, destinations,
 *			 their concurrency, feedback, rate delay and
 *			 suspension, recipient batches, their share of
 *			 the active queue
 *	qmgr_deliver.c	 connections to delivery agents (private/NAME)
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
#include "delivery.h"
#include "event.h"
#include "params.h"
#include "qfile.h"
#include "qid.h"

#define QMGR_REASON_MAX		1024	/* reason text kept per recipient */
#define QMGR_ADDRESS_MAX	1024	/* an address in a queue file */
#define QMGR_NEXTHOP_MAX	DELIVERY_NEXTHOP_MAX
#define QMGR_DEST_KEY_MAX	(QMGR_ADDRESS_MAX + QMGR_NEXTHOP_MAX + 2)
#define QMGR_TRANSPORTS_MAX	256	/* transports met at once */

struct qmgr_msg;
struct qmgr_transport;
struct qmgr_rcpt;
struct qmgr_peer;

/*
 * The scheduler's data (qmgr_sched.c).  A job is one message's
 * recipients for one transport; the transport serves its jobs
 * round-robin.  A peer is one job's recipients for one destination;
 * a job serves its ready peers round-robin.  A destination is what
 * the concurrency limit counts: the next hop, or for a transport whose
 * requests carry one recipient (local) the recipient.  A batch is what
 * one delivery request carries: recipients of one peer.
 */
enum qmgr_peer_where {
	QP_READY,			/* on its job's ready list */
	QP_PARKED,			/* waits for a slot at its destination */
	QP_DEAD,			/* its destination is suspended: to defer */
};

struct qmgr_job {
	struct qmgr_transport *tp;
	struct qmgr_msg *msg;
	struct qmgr_peer *ready_head;	/* peers that may go, round-robin */
	struct qmgr_peer *ready_tail;
	struct qmgr_peer *peers;	/* all of them (next_in_job) */
	size_t	npeers;
	bool	in_round;		/* on the transport's round */
	struct qmgr_job *next;		/* in the transport's round */
	struct qmgr_job *next_in_msg;	/* the message's jobs */
};

struct qmgr_peer {
	struct qmgr_job *job;
	struct qmgr_dest *dest;
	struct qmgr_rcpt *head, *tail;	/* in queue file order */
	size_t	n;
	enum qmgr_peer_where where;
	struct qmgr_peer *next;		/* ready, parked or dead list */
	struct qmgr_peer *next_in_job;
};

struct qmgr_dest {
	struct qmgr_transport *tp;
	struct qmgr_dest *hnext;	/* the transport's hash chain */
	struct qmgr_peer *parked_head;	/* waiting for a slot here, */
	struct qmgr_peer *parked_tail;	/* in arrival order */
	struct qmgr_peer *last_peer;	/* the newest peer (enqueue) */
	size_t	refs;			/* peers, batches, remembrance */
	int	active;			/* batches in flight */
	int	window;			/* concurrency allowed now */
	double	success;		/* positive feedback gathered */
	double	failure;		/* negative feedback gathered */
	double	fail_cohorts;		/* failed pseudo-cohorts in a row */
	uint64_t ready_at;		/* rate delay: no request before (ms) */
	bool	paced;			/* on the transport's paced list */
	struct qmgr_dest *next_paced;
	uint64_t dead_until;		/* suspended until (ms), or 0 */
	unsigned dead_count;		/* suspensions in a row */
	uint64_t forget_at;		/* remembered until (ms) */
	bool	remembered;		/* on the transport's remembered list */
	struct qmgr_dest *next_remembered;
	char	dsn[10];		/* the last site failure */
	char   *reason;
	char   *nexthop;		/* as routed (first recipient's) */
	uint64_t hash;
	char	key[];
};

struct qmgr_batch {
	struct qmgr_transport *tp;
	struct qmgr_dest *dest;
	struct qmgr_msg *msg;
	bool	passenger;		/* rides on another's place (pipelining) */
	size_t	n;
	struct qmgr_rcpt *rcpts[];
};

/*
 * A transport (qmgr_transport.c): a master.cf unix service that qmgr
 * delivers through, private/NAME, met in a route.  Its limits come from
 * main.cf when it is first met (NAME_destination_concurrency_limit ...).
 */
struct qmgr_transport {
	char	name[DELIVERY_TRANSPORT_MAX + 1];
	char	service[DELIVERY_TRANSPORT_MAX + 16];	/* "private/NAME" */
	int	dest_limit;		/* deliveries at once per destination */
	int	rcpt_limit;		/* recipients per request */
	int	init_conc;		/* a new destination's window */
	bool	per_rcpt;		/* rcpt_limit 1: a destination is */
					/* a recipient */
	uint64_t rate_delay_ms;		/* between deliveries to a destination */
	int	fail_cohort_limit;	/* failed cohorts that suspend; 0: never */
	struct param_feedback pos_fb;	/* window growth per success */
	struct param_feedback neg_fb;	/* window shrinking per site failure */
	unsigned pipeline;		/* the most an agent greeted with */
	/* qmgr_sched.c */
	struct qmgr_job *round_head;	/* jobs with ready peers, */
	struct qmgr_job *round_tail;	/* served round-robin */
	struct qmgr_peer *dead_head;	/* peers to defer: their */
	struct qmgr_peer *dead_tail;	/* destination is suspended */
	size_t	waiting;		/* recipients queued, parked, dead */
	size_t	ready;			/* peers on ready lists */
	struct qmgr_dest **dests;	/* hash table of destinations */
	size_t	dests_size;		/* buckets, a power of two, or 0 */
	size_t	ndests;
	struct qmgr_dest *remembered;	/* suspended lately, unused now */
	size_t	nremembered;
	struct qmgr_dest *paced_head;	/* waiting out the rate delay, */
	struct qmgr_dest *paced_tail;	/* earliest first */
	/* qmgr_deliver.c */
	struct qmgr_conn *conns;	/* connections to the agent */
	int	nconns;
	int	npending;		/* of which not greeted yet */
	int	nbusy;
	uint64_t retry_at_ms;		/* agent unreachable until then */
	struct ev_timer kick_timer;	/* try again at retry_at_ms */
	bool	timer_ready;
	struct ev_timer pace_timer;	/* the first paced destination's time */
	bool	pace_ready;
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
	struct qmgr_peer *peer;		/* while queued */
	struct qmgr_rcpt *next;		/* in its peer */
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
	bool	warned;			/* a delay warning was sent (once) */
	bool	warning;		/* ... is being submitted now */
	bool	warn_tried;		/* one try per attempt */
	bool	keep;			/* finish_rest()'s, across the warning */
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
	struct qmgr_transport *tp;	/* when status is 0 */
	char	transport[DELIVERY_TRANSPORT_MAX + 1];
	char	nexthop[QMGR_NEXTHOP_MAX + 1];
	int	status;			/* 0, or 4: defer (dsn, reason) */
	char	dsn[10];
	char	reason[300];
};

void	qmgr_resolve_set_lookup(qmgr_lookup_fn *fn);
void	qmgr_resolve(const char *rcpt, struct qmgr_route *route);
void	qmgr_resolve_filter(const char *rcpt, const char *filter,
			    struct qmgr_route *route);
bool	qmgr_is_local_domain(const char *domain);

/*
 * qmgr_transport.c
 */
extern struct qmgr_transport *qmgr_transport_list[];
extern size_t qmgr_ntransports;

struct qmgr_transport *qmgr_transport_get(const char *name);
void	qmgr_transport_reset(void);

/*
 * qmgr_sched.c - per-transport queues and destinations; no I/O.
 */
enum qmgr_feedback {
	QMGR_FB_NONE,			/* says nothing about the destination */
	QMGR_FB_OK,			/* the destination worked */
	QMGR_FB_FAIL,			/* the destination failed as a whole */
};

void	qmgr_sched_enqueue(struct qmgr_transport *tp, struct qmgr_rcpt *r,
			   const char *nexthop, uint64_t now_ms);
const struct qmgr_peer *qmgr_sched_next(struct qmgr_transport *tp,
					uint64_t now_ms);
struct qmgr_batch *qmgr_sched_take(struct qmgr_transport *tp, uint64_t now_ms);
struct qmgr_batch *qmgr_sched_join(struct qmgr_dest *d, uint64_t now_ms);
void	qmgr_sched_handover(struct qmgr_batch *from, struct qmgr_batch *to);
uint64_t qmgr_sched_done(struct qmgr_batch *b, enum qmgr_feedback fb,
			 const char *dsn, const char *text, uint64_t now_ms);
struct qmgr_rcpt *qmgr_sched_take_dead(struct qmgr_transport *tp, char *dsn,
				       size_t dsn_size, char *reason,
				       size_t reason_size);
void	qmgr_sched_drop_msg(struct qmgr_msg *m);
void	qmgr_sched_sweep(struct qmgr_transport *tp, uint64_t now_ms);
void	qmgr_sched_revive(struct qmgr_transport *tp);
uint64_t qmgr_sched_wake(struct qmgr_transport *tp, uint64_t now_ms);
void	qmgr_dest_key(const struct qmgr_transport *tp, const char *address,
		      const char *nexthop, char *out, size_t size);
uint64_t qmgr_dest_hash(const struct qmgr_transport *tp, const char *address,
			const char *nexthop);
size_t	qmgr_sched_budget(const struct qmgr_transport *tp);
bool	qmgr_sched_busy(struct qmgr_transport *tp, uint64_t hash);
uint64_t qmgr_dead_time(unsigned count);

/*
 * qmgr_postpone.c - files waiting for their busy destinations; no I/O.
 */
#define QMGR_POSTPONE_DESTS	4	/* destinations remembered per file */

enum { QMGR_PP_INCOMING, QMGR_PP_DEFERRED };

struct qmgr_pp_dest {
	struct qmgr_transport *tp;
	uint64_t hash;			/* qmgr_dest_hash() */
};

typedef bool qmgr_pp_busy_fn(const struct qmgr_pp_dest *dest);

extern size_t qmgr_pp_count;

size_t	qmgr_pp_limit(void);
bool	qmgr_pp_known(const char *qid);
int	qmgr_pp_add(const char *qid, int queue, const struct qmgr_pp_dest *dests,
		    size_t n);
bool	qmgr_pp_take(qmgr_pp_busy_fn *busy, char *qid, size_t size, int *queue);
void	qmgr_pp_forget(const char *qid);
void	qmgr_pp_clear(void);

/*
 * qmgr_message.c
 */
extern size_t qmgr_active_count;
extern size_t qmgr_rcpt_count;
extern uint64_t qmgr_msg_reads;

int	qmgr_msg_activate(const char *qid);
int	qmgr_msg_consider(const char *queue, const char *qid,
			  struct qmgr_pp_dest *dests, size_t *ndests);
bool	qmgr_crowded(void);
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

/*
 * qmgr_deliver.c
 */
void	qmgr_deliver_init(struct ev_loop *loop);
void	qmgr_deliver_kick(struct qmgr_transport *tp);
void	qmgr_deliver_kick_all(void);
size_t	qmgr_deliver_busy(void);
void	qmgr_deliver_close_idle(void);
void	qmgr_deliver_revive(void);

/*
 * qmgr_scan.c
 */
#define QMGR_SCAN_INCOMING	0x1
#define QMGR_SCAN_DEFERRED	0x2
#define QMGR_SCAN_FLUSH		0x4	/* every deferred message is due */
#define QMGR_SCAN_POSTPONED	0x8	/* postponed files, no directory */

void	qmgr_scan_init(struct ev_loop *loop, int fifo_fd);
void	qmgr_scan_room(void);
void	qmgr_scan_request(unsigned what);
unsigned qmgr_trigger_bits(const char *codes, size_t n);
void	qmgr_scan_recover(void);
void	qmgr_scan_stop(void);

/*
 * qmgr_move.c
 */
int	qmgr_move(const char *from_queue, const char *qid, const char *to_queue);
int	qmgr_move_add(const char *from_queue, const char *qid, const char *to_queue,
		      bool activate);
int	qmgr_move_later(const char *from_queue, const char *qid, const char *to_queue);
size_t	qmgr_move_pending(void);
void	qmgr_move_commit(void);
void	qmgr_move_later_init(struct ev_loop *loop);
void	qmgr_move_later_stop(void);
struct stat;
ssize_t	qmgr_names_keep(const struct stat *const st[], size_t n);
bool	qmgr_stale_name(const char *qid, const unsigned char *head, size_t n);

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
	bool	delayed;		/* a delay warning, not a bounce */
	time_t	retry_until;		/* delayed: tried until then */
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
bool	qmgr_notify_delay(const char *notify);
int	qmgr_dsn_compose(const struct qmgr_dsn_info *in, struct buf *out);
void	qmgr_dsn_clean(const char *in, size_t n, struct buf *out, size_t max);
int	qmgr_bounce_start(struct qmgr_msg *m, bool delay);
void	qmgr_bounce_cancel(struct qmgr_msg *m);
void	qmgr_bounce_init(struct ev_loop *loop);
size_t	qmgr_bounce_busy(void);

#endif
