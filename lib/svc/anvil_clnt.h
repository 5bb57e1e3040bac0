/*
 * NAME
 *	anvil_clnt - the client of the anvil service (per-client counts
 *	across every smtpd process), on the event loop
 * SYNOPSIS
 *	#include "anvil_clnt.h"
 *
 *	struct anvil_clnt *a = anvil_clnt_new(loop, "private/anvil",
 *					      timeout_ms, resync, ctx);
 *	struct anvil_call *c = anvil_clnt_op(a, ANVIL_OP_CONNECT,
 *					     "192.0.2.7", "192.0.2.0/24",
 *					     done, session);
 *	...  done(session, &counts, ok) runs later, from the loop ...
 *	anvil_clnt_cancel(c);		// or: done never runs
 *	(void) anvil_clnt_op(a, ANVIL_OP_DISCONNECT, addr, net, NULL, NULL);
 *	anvil_clnt_free(a);
 * DESCRIPTION
 *	One connection to anvil per process, held for the life of the
 *	process as a conversation of lib/ipc/clnt_pool.h (CLNT_HOLD): anvil
 *	counts a process's sessions per connection, so the connection is
 *	the process's identity there, and anvil forgets its sessions
 *	when it closes.  Operations queue in order and go out in batches:
 *	whatever queued while a request was out goes in the next one (at
 *	most ANVIL_OPS_MAX), so a storm of connections costs one round
 *	trip per batch, not per connection.
 *
 *	anvil_clnt_op() queues one operation on the addresses' counts and
 *	returns a handle, or NULL when anvil cannot be asked now (done
 *	does not run then: the caller decides at once, open or closed).
 *	done(ctx, counts, ok) runs exactly once, from the loop: ok with
 *	the counts after the operation, or !ok when the connection failed
 *	or anvil refused the operation (a full table).  With done NULL
 *	the operation is fire-and-forget (DISCONNECT, HOLD).
 *	anvil_clnt_cancel() forgets a handle whose answer is no longer
 *	wanted; the operation itself still reaches anvil (a CONNECT that
 *	went out is counted, and the caller owes its DISCONNECT).
 *
 *	When the connection fails (anvil restarted, or too slow: each
 *	request must be answered within timeout_ms), every operation
 *	waiting gets !ok, and the client is down: anvil_clnt_op() returns
 *	NULL until it tries again, after ANVIL_RETRY_MS, doubling to
 *	ANVIL_RETRY_MAX_MS while it keeps failing.  On every new
 *	connection, before anything else, it calls resync(ctx): the
 *	caller queues one ANVIL_OP_HOLD for each session it holds, so
 *	that anvil's concurrency counts are whole again (its rates start
 *	from zero).  So that a restart of anvil is noticed even by a
 *	client with nothing to count, an idle connection is asked a
 *	LOOKUP every ANVIL_KEEPALIVE_MS; a reconnection is logged with the
 *	number of sessions reported again.  anvil_clnt_up() says whether
 *	it is connected.
 * WIRE PROTOCOL
 *	lib/ipc/ipc.h messages on private/anvil, one request at a time:
 *
 *	ANVIL_REQ	one to ANVIL_OPS_MAX operations, each three
 *			records: "op" num (ANVIL_OP_*), "addr" str, "net"
 *			str (at most ANVIL_KEY_MAX bytes each: the client
 *			address and its network as smtpd_client_network_*
 *			_prefix make it; the client decides what a network
 *			is, anvil counts).
 *	ANVIL_REP	per operation, in order: "status" num (0 counted;
 *			1 refused: a table is full, nothing was counted for
 *			it), then four "n" num records: the address's
 *			sessions, the network's sessions, the address's
 *			events of the operation's kind in this unit, the
 *			network's (CONNECT: connections; MESSAGE: MAIL
 *			commands; RCPT, AUTH: theirs; DISCONNECT, HOLD: 0).
 *
 *	A malformed request (a type, a record, a bound, an unknown
 *	operation) closes the connection, which forgets the client's
 *	sessions: a well-behaved client never sends one.
 *
 *	ANVIL_OP_CONNECT	a session begins: +1 session, +1 connection
 *	ANVIL_OP_DISCONNECT	a session ends: -1 session
 *	ANVIL_OP_HOLD		a session held across a reconnection: +1
 *				session, no connection counted
 *	ANVIL_OP_MESSAGE	+1 MAIL command
 *	ANVIL_OP_RCPT		+1 RCPT command
 *	ANVIL_OP_AUTH		+1 AUTH failure
 *	ANVIL_OP_LOOKUP		nothing: the counts as they are (the
 *				client's keepalive, tests)
 */
#ifndef POSTERN_ANVIL_CLNT_H
#define POSTERN_ANVIL_CLNT_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

#define ANVIL_REQ		0x0601
#define ANVIL_REP		0x0602

#define ANVIL_OP_CONNECT	1
#define ANVIL_OP_DISCONNECT	2
#define ANVIL_OP_HOLD		3
#define ANVIL_OP_MESSAGE	4
#define ANVIL_OP_RCPT		5
#define ANVIL_OP_AUTH		6
#define ANVIL_OP_LOOKUP		7
#define ANVIL_OP_MAX		7

#define ANVIL_OPS_MAX		256	/* operations per request */
#define ANVIL_KEY_MAX		60	/* bytes of an address or network */
#define ANVIL_REQ_MAX		(ANVIL_OPS_MAX * 3 * (6 + 14 + ANVIL_KEY_MAX + 1))
#define ANVIL_REP_MAX		(ANVIL_OPS_MAX * (6 + 6 + 8 + 4 * (6 + 1 + 8)))

#define ANVIL_STAT_OK		0
#define ANVIL_STAT_FULL		1

#define ANVIL_RETRY_MS		1000
#define ANVIL_RETRY_MAX_MS	30000
#define ANVIL_KEEPALIVE_MS	1000

struct anvil_counts {
	uint64_t addr_sessions;
	uint64_t net_sessions;
	uint64_t addr_events;
	uint64_t net_events;
};

struct anvil_clnt;
struct anvil_call;

typedef void anvil_done_fn(void *ctx, const struct anvil_counts *counts, bool ok);
typedef void anvil_resync_fn(void *ctx);

struct anvil_clnt *anvil_clnt_new(struct ev_loop *loop, const char *endpoint,
				  uint64_t timeout_ms, anvil_resync_fn *resync,
				  void *ctx);
struct anvil_call *anvil_clnt_op(struct anvil_clnt *a, int op, const char *addr,
				 const char *net, anvil_done_fn *done, void *ctx);
void	anvil_clnt_cancel(struct anvil_call *c);
bool	anvil_clnt_up(const struct anvil_clnt *a);
void	anvil_clnt_free(struct anvil_clnt *a);

#endif
