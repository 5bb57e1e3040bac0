/*
 * NAME
 *	cleanup_clnt - hand a message to the cleanup service
 * SYNOPSIS
 *	#include "cleanup_clnt.h"
 *
 *	struct cleanup_rcpt_in rcpts[] = {{.addr = "bob@example.com"}};
 *	struct cleanup_envelope env = {
 *		.flags = 0, .offset = 0, .length = content_len,
 *		.client_name = "mx.example.org", .client_addr = "192.0.2.1",
 *		.helo = "mx.example.org", .protocol = "ESMTP", .uid = -1,
 *		.sender = "alice@example.org", .rcpts = rcpts, .nrcpts = 1,
 *	};
 *	struct cleanup_result res;
 *
 *	// Event loop with kept connections (smtpd):
 *	struct cleanup_pool *pool = cleanup_pool_new(loop,
 *		CLEANUP_POOL_IDLE_MAX, CLEANUP_POOL_IDLE_MS);
 *	call = cleanup_pool_submit(pool, &env, spool_fd, done, sess, &res);
 *	if (call == NULL) ... reply with res (the request cannot be built) ...
 *	// done(sess, &res, answered) runs later; or on a deadline:
 *	cleanup_pool_cancel(call);
 *
 *	// Blocking (pickup, qmgr's bounces, local's forwarding):
 *	if (cleanup_submit(&env, content_fd, &res) != CLEANUP_STAT_OK)
 *		... res.status 4 or 5, res.reason "4.3.0 ..." ...
 *	log_info("%s: queued", res.queue_id);
 *
 * DESCRIPTION
 *	The cleanup service (cleanup/cleanup.c) takes a message's
 *	envelope and a descriptor of its content, checks everything,
 *	writes the queue file durably into incoming/ and only then
 *	answers.  Wire protocol: docs/INTERNALS.md, "cleanup".
 *
 *	struct cleanup_envelope describes one submission.  The content
 *	is length bytes at offset of content_fd (a regular file; the
 *	caller keeps its descriptor): the message in Unix form (LF line
 *	ends, no dot-stuffing), header section, empty line, body.  Every
 *	string is optional (NULL: not sent) except sender (""
 *	for the null sender); uid < 0 means none.  flags:
 *	  CLEANUP_F_EXTRACT	take recipients from To/Cc/Bcc (or the
 *				Resent- ones) too, as sendmail -t does
 *	  CLEANUP_F_LOCAL	a local submission (sendmail/postdrop):
 *				a missing From: is added from sender and
 *				fullname; uid is logged
 *	  CLEANUP_F_BOUNCE	a notification made by postern itself
 *				(no Received: header is added)
 *	  CLEANUP_F_HOLD	queue it on hold (smtpd's HOLD action)
 *	  CLEANUP_F_DISCARD	accept it and throw it away (DISCARD)
 *	  CLEANUP_F_NO_CHECKS	no header_checks, mime_header_checks,
 *				nested_header_checks or body_checks
 *	  CLEANUP_F_NO_MAPS	no canonical or virtual alias mapping
 *	cleanup_overrides_parse() reads receive_override_options (a list
 *	of no_unknown_recipient_checks, no_address_mappings,
 *	no_header_body_checks, no_milters) into those flags and smtpd's
 *	no_unknown_rcpt; -1 with why for a word it does not know.
 *	filter, redirect and prepend carry smtpd's FILTER, REDIRECT and
 *	PREPEND actions (NULL: none): prepend is header lines separated
 *	by LF, added at the top of the header section.
 *	Recipients: rcpts[0..nrcpts), each an address and optionally the
 *	DSN ORCPT (orcpt) and NOTIFY (notify) values.  Zero recipients
 *	are allowed only with CLEANUP_F_EXTRACT.  One request is at most
 *	IPC_MSG_MAX bytes (about 3,500 recipients of the longest
 *	RFC 5321 length): a caller with more submits in several messages.
 *
 *	struct cleanup_result: status CLEANUP_STAT_OK (queue_id holds the
 *	new queue ID), CLEANUP_STAT_TEMP or CLEANUP_STAT_PERM with reason
 *	"X.Y.Z text" (an RFC 3463 code whose class matches the status,
 *	then text for the SMTP reply and the log; at most
 *	CLEANUP_REASON_MAX bytes, printable ASCII).  Anything that goes
 *	wrong on the way (no service, a timeout, a malformed reply) is a
 *	temporary failure "4.3.0 ...": the message was not queued, as far
 *	as the caller can tell, and must not be acknowledged.
 *
 *	cleanup_submit() connects to private/cleanup (relative to the
 *	queue directory, every daemon's working directory), sends the
 *	request with the descriptor, waits for the reply at most
 *	CLEANUP_TIMEOUT_MS in all, and closes the connection.  It returns
 *	res->status.
 *
 *	cleanup_clnt_fail() fills res with a temporary failure "4.3.0
 *	TEXT" (for the caller's timeouts and write errors).
 *
 *	The queue ID first.  With env->announced set, cleanup tells the
 *	queue ID as soon as it has one, before it reads the content, and
 *	makes the queue file visible to qmgr only after the client has
 *	called announced(announced_ctx, queue_id) and confirmed it (the
 *	request carries CLEANUP_F_ANNOUNCE; wire protocol in
 *	docs/INTERNALS.md).  smtpd logs "QUEUEID: client=..." and pickup
 *	"QUEUEID: uid=N from=<...>" there, so that line always comes
 *	before qmgr's "from=..., size=" line, as log summarisers such as
 *	pflogsumm need; it costs one short message each way, sent while
 *	cleanup writes and syncs the file.  announced runs at most once,
 *	also for a message that cleanup refuses afterwards (the queue ID
 *	then appears in the refusal's log line, as in Postfix).
 *
 *	Kept connections.  cleanup serves any number of requests on one
 *	connection; connecting costs both sides (socket, connect, accept,
 *	status records to the master, close) for every message.
 *	cleanup_clnt_keep(true) makes cleanup_submit() keep its
 *	connection for the next call (pickup, for a burst of files);
 *	cleanup_clnt_release() closes it (at the end of the burst, so the
 *	cleanup process may serve others and retire).
 *
 *	struct cleanup_pool keeps idle connections for an event loop
 *	(smtpd), on lib/ipc/clnt_pool.h.  cleanup_pool_new(loop, max_idle,
 *	idle_ms): at most max_idle idle connections are kept, each at most
 *	idle_ms, so that cleanup processes are not held longer than a
 *	burst lasts.  cleanup_pool_submit() sends env and content_fd on an
 *	idle connection (the most recently used) or a new one, and returns
 *	the call; the caller keeps content_fd open until the call ends.
 *	It returns NULL with res filled (temporary failure) only when the
 *	request cannot be built.  When cleanup's listen queue is full
 *	(every cleanup process busy), the connection is tried again every
 *	CLNT_RETRY_CONNECT_MS.  The result comes later, from the event
 *	loop, as done(ctx, res, answered): answered is true when res is
 *	cleanup's reply (queued or refused), false when the exchange
 *	failed (no service, a broken connection, CLEANUP_TIMEOUT_MS
 *	passed; res then says "4.3.0 ..." why).  The call is over when
 *	done runs; the callback may submit again.  cleanup_pool_cancel()
 *	abandons a call (the caller's deadline passed): its connection is
 *	closed, done is not called.  cleanup_pool_idle() is the number of
 *	idle connections.  cleanup_pool_free() closes the idle
 *	connections; no call may be in flight.
 *
 *	Only a connection whose exchange ended with a well-formed reply
 *	and nothing more is kept; one that failed, timed out or was
 *	cancelled is closed.  cleanup closes a kept connection only
 *	between requests (max_use, SIGTERM, idle limit), so a request
 *	that meets a closed kept connection (write error, or EOF before
 *	any byte of an answer) was not taken and is sent once more on a
 *	new connection, by both cleanup_submit() and the pool (clnt_pool's
 *	resend rule).  Should cleanup have died after queueing but before
 *	answering, that retry queues the message twice: a duplicate,
 *	never a loss.
 *
 *	cleanup_clnt_set_path() changes the socket path (tests, or a
 *	process whose working directory is not the queue directory).
 *
 *	cleanup_request_build() fills m (initialised here; the caller
 *	frees it) with the SUBMIT message of env: 0, or -1 with errno
 *	(EINVAL: a string holds a NUL or a bad flag; EMSGSIZE: too big).
 *	cleanup_reply_parse() checks a received CLEANUP_REP message and
 *	fills res: 0, or -1 for a malformed one (res then says 4.3.0).
 * SECURITY
 *	The reply is bounded and checked; a reply that does not make
 *	sense (status 0 without a valid queue ID, a reason whose class
 *	does not match the status) is a temporary failure, never success.
 */
#ifndef POSTERN_CLEANUP_CLNT_H
#define POSTERN_CLEANUP_CLNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

/* Message types (docs/INTERNALS.md, "cleanup"). */
#define CLEANUP_REQ_SUBMIT	0x0201
#define CLEANUP_REP		0x0202
#define CLEANUP_REP_QID		0x0203	/* the queue ID, before the file is visible */
#define CLEANUP_REQ_LOGGED	0x0204	/* the client logged its line for it */

#define CLEANUP_SOCKET		"private/cleanup"

/* flags */
#define CLEANUP_F_EXTRACT	0x1
#define CLEANUP_F_LOCAL		0x2
#define CLEANUP_F_BOUNCE	0x4
#define CLEANUP_F_ANNOUNCE	0x8	/* set by cleanup_request_build() */
#define CLEANUP_F_HOLD		0x10	/* smtpd's HOLD: queue it on hold */
#define CLEANUP_F_DISCARD	0x20	/* smtpd's DISCARD: accept, throw away */
#define CLEANUP_F_NO_CHECKS	0x40	/* no header_checks, body_checks, ... */
#define CLEANUP_F_NO_MAPS	0x80	/* no canonical_maps, virtual_alias_maps */
#define CLEANUP_F_MASK		0xff

#define CLEANUP_FILTER_MAX	256	/* "filter": printable ASCII, no space */

/* receive_override_options, parsed (smtpd, pickup, postern check) */
struct cleanup_overrides {
	unsigned flags;			/* CLEANUP_F_NO_CHECKS, CLEANUP_F_NO_MAPS */
	bool	no_unknown_rcpt;	/* smtpd: no unknown recipient checks */
};

int	cleanup_overrides_parse(const char *value, struct cleanup_overrides *o,
				char *why, size_t size);

/* reply status */
#define CLEANUP_STAT_OK		0
#define CLEANUP_STAT_TEMP	4
#define CLEANUP_STAT_PERM	5

#define CLEANUP_QID_MAX		31
#define CLEANUP_REASON_MAX	512
#define CLEANUP_TLS_MAX		255		/* the "tls" attribute */
#define CLEANUP_TIMEOUT_MS	(300 * 1000)	/* RFC 5321 4.5.3.2.6 */
#define CLEANUP_REP_MAX		4096		/* reply payload */
#define CLEANUP_POOL_IDLE_MAX	4		/* idle kept connections */
#define CLEANUP_POOL_IDLE_MS	3000		/* ... kept this long */

struct cleanup_rcpt_in {
	const char *addr;
	const char *orcpt;		/* DSN ORCPT, or NULL */
	const char *notify;		/* DSN NOTIFY, or NULL */
};

struct cleanup_envelope {
	unsigned flags;
	uint64_t offset;
	uint64_t length;
	const char *client_name;
	const char *client_addr;
	const char *helo;
	const char *protocol;		/* "SMTP", "ESMTP", "ESMTPS", "local" */
	const char *tls;		/* TLS in use, for Received: (tlsio_summary) */
	const char *sasl_method;
	const char *sasl_username;
	long long uid;			/* local submissions; < 0: none */
	const char *fullname;		/* sendmail -F */
	const char *envid;		/* DSN ENVID (xtext decoded) */
	const char *ret;		/* DSN RET: "FULL" or "HDRS" */
	bool	smtputf8;		/* SMTPUTF8 was given */
	const char *filter;		/* FILTER transport:nexthop, or NULL */
	const char *redirect;		/* REDIRECT address, or NULL */
	const char *prepend;		/* PREPEND header lines, LF-separated */
	const char *sender;		/* "" for the null sender */
	const struct cleanup_rcpt_in *rcpts;
	size_t	nrcpts;
	/* When set: called with the queue ID before qmgr can see the file. */
	void	(*announced)(void *ctx, const char *queue_id);
	void   *announced_ctx;
};

struct cleanup_result {
	int	status;			/* CLEANUP_STAT_* */
	char	queue_id[CLEANUP_QID_MAX + 1];
	char	reason[CLEANUP_REASON_MAX + 1];
};

int	cleanup_request_build(struct ipc_msg *m, const struct cleanup_envelope *env);
int	cleanup_reply_parse(struct ipc_in *in, struct cleanup_result *res);
int	cleanup_submit(const struct cleanup_envelope *env, int content_fd,
		       struct cleanup_result *res);
void	cleanup_clnt_fail(struct cleanup_result *res, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	cleanup_clnt_set_path(const char *path);
void	cleanup_clnt_keep(bool on);
void	cleanup_clnt_release(void);

struct ev_loop;
struct cleanup_pool;
struct cleanup_call;
typedef void cleanup_done_fn(void *ctx, const struct cleanup_result *res,
			     bool answered);

struct cleanup_pool *cleanup_pool_new(struct ev_loop *loop, size_t max_idle,
				      uint64_t idle_ms);
void	cleanup_pool_free(struct cleanup_pool *p);
struct cleanup_call *cleanup_pool_submit(struct cleanup_pool *p,
					 const struct cleanup_envelope *env,
					 int content_fd, cleanup_done_fn *done,
					 void *ctx, struct cleanup_result *res);
void	cleanup_pool_cancel(struct cleanup_call *c);
size_t	cleanup_pool_idle(const struct cleanup_pool *p);

#endif
