/*
 * NAME
 *	clnt_pool - asynchronous calls to a service, with kept connections,
 *	a bound, deadlines and cancellation
 * SYNOPSIS
 *	#include "clnt_pool.h"
 *
 *	static const struct clnt_proto lookup_proto = {
 *		.service = "the lookup service", .reply_max = LOOKUP_REP_MAX,
 *		.frame = clnt_frame_ipc, .resend = true,
 *	};
 *	struct clnt_pool_conf conf = {
 *		.endpoint = "private/lookup", .proto = &lookup_proto,
 *		.max_conns = 16, .max_idle = 4, .idle_ms = 60000,
 *	};
 *	char why[CLNT_WHY_MAX];
 *	struct clnt_pool *p = clnt_pool_new(loop, &conf, why, sizeof(why));
 *
 *	// An event loop (smtpd, qmgr, the lookup service):
 *	struct clnt_call *c = clnt_pool_call(p, req, len, -1, 10000, 0,
 *					     done, ctx);
 *	... done(ctx, c, &res) runs later, from the loop, exactly once ...
 *	clnt_pool_cancel(c);		// or: give up first; done never runs
 *
 *	// A conversation (SASL): the call keeps its connection.
 *	c = clnt_pool_call(p, req, len, -1, 5000, CLNT_HOLD, step, ctx);
 *	// in step(): clnt_pool_send(c, next, n, -1, 5000, step, ctx);
 *	//	  or:  clnt_pool_release(c);	// back to the pool
 *
 *	// A program without an event loop (cleanup, pickup, commands):
 *	struct clnt_pool *p = clnt_pool_new(NULL, &conf, why, sizeof(why));
 *	struct buf reply;
 *	buf_init(&reply, LOOKUP_REP_MAX);
 *	if (clnt_pool_wait(p, req, len, -1, 10000, &reply, why,
 *			   sizeof(why)) != CLNT_OK) ... why ...
 * DESCRIPTION
 *	One model for every call a postern process makes to another
 *	service (lookup, cleanup, a policy server, a socket map, an
 *	authentication server): a request is bytes, the reply is bytes
 *	whose end the protocol's frame function finds, and everything
 *	between (connections, kept connections, their bound, the wait
 *	for one, the deadline, the retry of a request that met a kept
 *	connection the server had closed, cancellation) is done here,
 *	once.  Nothing here blocks an event loop: connecting, writing
 *	and reading are events.
 *
 *	struct clnt_proto says how a service speaks:
 *	  service	names it in reasons ("the lookup service").
 *	  reply_max	the largest reply in bytes (at most IPC_MSG_MAX).
 *	  frame		frame(p, len, max, why, whylen): does p[0..len)
 *			start with a whole reply?  Its length in bytes,
 *			0 when more must come, -1 when it is malformed or
 *			longer than max (why says what).  clnt_frame_ipc
 *			(one lib/ipc/ipc.h message), clnt_frame_line (one line
 *			ending in LF) and clnt_frame_para (lines up to an
 *			empty one: the policy delegation protocol) are here.
 *	  check		check(reply, len, why, whylen), when set: 0 the
 *			reply makes sense, -1 it does not (why says what):
 *			the call then fails with CLNT_ERROR and the
 *			connection is closed, never kept.
 *	  resend	the server closes a kept connection only between
 *			requests (postern daemons, most servers), so a
 *			request that meets one that was closed (a write
 *			error, or the end of the connection before any
 *			byte of an answer) was not taken: it is sent once
 *			more on a new connection.  Once any byte of an
 *			answer came, or after a deadline, never.  A server
 *			that may have acted on a request it did not
 *			answer can make this a duplicate, never a loss.
 *	  hello		bytes sent first on every new connection (NULL:
 *			none), hello_len of them.
 *	  greeting	frame function of a greeting the server sends
 *			first on every new connection (NULL: none); no
 *			request goes out before it came, and greeting_ok
 *			(when set) must accept it (1) or the connection
 *			fails with its why (0).
 *
 *	struct clnt_pool_conf: endpoint is "unix:PATH", "inet:HOST:PORT"
 *	("inet:[::1]:PORT" for IPv6) or a bare PATH (a UNIX socket,
 *	relative to the working directory: for daemons the queue
 *	directory, so "private/lookup").  An inet HOST is resolved once,
 *	by clnt_pool_new() (getaddrinfo(): a daemon makes its pools before
 *	its chroot, or uses numeric addresses); the first address is
 *	used.  max_conns bounds the connections (in use and idle; 0: no
 *	bound); a call that finds none free waits for one, first come
 *	first served, at most max_waiting of them (0: no bound; beyond,
 *	the call fails at once: "too many requests waiting").  max_idle
 *	connections are kept between calls, each at most idle_ms (0: until
 *	the server closes it or the pool is freed); the most recently used
 *	is taken first, so the oldest can time out after a burst.
 *	greeting_ctx is passed to greeting_ok.
 *
 *	clnt_pool_new() makes a pool; with loop NULL it makes a private
 *	loop for clnt_pool_wait().  It returns NULL with why filled when
 *	the endpoint is malformed or its host does not resolve.
 *	clnt_pool_free() closes every connection; no call may be alive.
 *
 *	clnt_pool_call() sends req[0..len) (copied; pass_fd, when not -1,
 *	travels with its first byte and must stay open until done runs)
 *	on an idle connection, a new one, or the first that becomes free,
 *	and returns the call.  done(ctx, call, res) runs exactly once,
 *	from the loop, never from inside clnt_pool_call() or
 *	clnt_pool_cancel(): res->status is CLNT_OK (res->reply[0..
 *	res->len) is the whole reply, valid during the callback only),
 *	CLNT_ERROR (no usable answer: no connection, the connection broke,
 *	a malformed reply; res->why says what) or CLNT_TIMEOUT (timeout_ms
 *	passed, counted from clnt_pool_call(), waiting for a connection
 *	included).  The connection of a call that did not end with a whole
 *	reply and nothing more is closed, never reused: a late answer is
 *	never read as the answer to a later request.  When done runs the
 *	call is over (unless held, below) and its pointer is dead; done
 *	may start new calls.  A UNIX socket whose listen queue is full
 *	(every server process busy) is tried again every
 *	CLNT_RETRY_CONNECT_MS until the deadline, not counted as a failure.
 *
 *	clnt_pool_cancel() abandons a call that has not completed: its
 *	connection, if it had one, is closed, done does not run.
 *
 *	Conversations: with CLNT_HOLD in flags, the call keeps its
 *	connection after a reply, and done runs with the call still
 *	alive, whatever the status; the caller then either sends the
 *	next request on the same connection with clnt_pool_send() (same
 *	rules, new deadline, done and ctx), gives the connection back
 *	with clnt_pool_release() (the call ends), or ends the call with
 *	clnt_pool_cancel() (the connection is closed).  After a failure,
 *	or when the server closed the connection between exchanges, the
 *	call has no connection and its next clnt_pool_send() fails (done
 *	runs with CLNT_ERROR).  Only a conversation's first request
 *	may be resent (as any call's, above: a kept connection the
 *	server closed before answering anything); nothing after its
 *	first reply ever is.
 *
 *	clnt_pool_wait() is the blocking form, for a pool made without a
 *	loop: the same call, run on the private loop until it is over;
 *	the reply is copied into reply (CLNT_ERROR when it does not fit
 *	reply->max); it returns the status, why filled unless CLNT_OK.
 *	clnt_pool_run() runs a pool's private loop until *over is true:
 *	the blocking form of a conversation, or of calls whose done sets
 *	the flag (clnt_pool_wait() is one such call).
 *	clnt_pool_numeric() writes endpoint ep with an inet host resolved
 *	to its address ("inet:192.0.2.1:25"; anything else as it is): a
 *	daemon resolves its endpoints before the chroot and makes its
 *	pools from the result later.  0, or -1 with why.
 *	clnt_pool_close_idle() closes the idle connections (a process
 *	about to fork, or done with a burst).  clnt_pool_conns(),
 *	clnt_pool_idle() and clnt_pool_waiting() count connections (all,
 *	idle) and calls waiting for one (tests, diagnostics).
 * SECURITY
 *	Replies are bounded by reply_max before any parsing; a reply
 *	that brings a descriptor is a protocol error.  The caller parses
 *	the reply's bytes as untrusted input.
 */
#ifndef POSTERN_CLNT_POOL_H
#define POSTERN_CLNT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

struct ev_loop;
struct clnt_pool;
struct clnt_call;

#define CLNT_OK		0
#define CLNT_ERROR	1
#define CLNT_TIMEOUT	2

#define CLNT_HOLD	0x1		/* flags: a conversation */

#define CLNT_WHY_MAX	512
#define CLNT_RETRY_CONNECT_MS 100

typedef ssize_t clnt_frame_fn(const char *p, size_t len, size_t max,
			      char *why, size_t whylen);

struct clnt_proto {
	const char *service;
	size_t	reply_max;
	clnt_frame_fn *frame;
	int	(*check)(const char *reply, size_t len, char *why, size_t whylen);
	bool	resend;
	const char *hello;
	size_t	hello_len;
	clnt_frame_fn *greeting;
	int	(*greeting_ok)(void *ctx, const char *g, size_t len, char *why,
			       size_t whylen);
};

struct clnt_pool_conf {
	const char *endpoint;
	const struct clnt_proto *proto;
	size_t	max_conns;
	size_t	max_idle;
	uint64_t idle_ms;
	size_t	max_waiting;
	void   *greeting_ctx;
};

struct clnt_result {
	int	status;			/* CLNT_OK, CLNT_ERROR, CLNT_TIMEOUT */
	const char *reply;		/* CLNT_OK: the reply's bytes */
	size_t	len;
	const char *why;		/* otherwise: why, for logs and replies */
};

typedef void clnt_done_fn(void *ctx, struct clnt_call *call,
			  const struct clnt_result *res);

struct clnt_pool *clnt_pool_new(struct ev_loop *loop,
				const struct clnt_pool_conf *conf, char *why,
				size_t whylen);
void	clnt_pool_free(struct clnt_pool *p);
struct clnt_call *clnt_pool_call(struct clnt_pool *p, const void *req,
				 size_t len, int pass_fd, uint64_t timeout_ms,
				 unsigned flags, clnt_done_fn *done, void *ctx);
void	clnt_pool_cancel(struct clnt_call *c);
void	clnt_pool_send(struct clnt_call *c, const void *req, size_t len,
		       int pass_fd, uint64_t timeout_ms, clnt_done_fn *done,
		       void *ctx);
void	clnt_pool_release(struct clnt_call *c);
int	clnt_pool_wait(struct clnt_pool *p, const void *req, size_t len,
		       int pass_fd, uint64_t timeout_ms, struct buf *reply,
		       char *why, size_t whylen);
void	clnt_pool_run(struct clnt_pool *p, const bool *over);
void	clnt_pool_close_idle(struct clnt_pool *p);
size_t	clnt_pool_conns(const struct clnt_pool *p);
size_t	clnt_pool_idle(const struct clnt_pool *p);
size_t	clnt_pool_waiting(const struct clnt_pool *p);
const char *clnt_pool_endpoint(const struct clnt_pool *p);
int	clnt_pool_numeric(const char *ep, char *out, size_t outlen, char *why,
			  size_t whylen);

clnt_frame_fn clnt_frame_ipc;
clnt_frame_fn clnt_frame_line;
clnt_frame_fn clnt_frame_para;

#endif
