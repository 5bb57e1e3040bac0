/*
 * NAME
 *	ipc_server - the connections of an event-driven service that
 *	answers lib/ipc/ipc.h requests (lookup, anvil)
 * SYNOPSIS
 *	#include "ipc_server.h"
 *
 *	static const struct ipc_server_ops ops = {
 *		.name = "anvil", .req_max = ANVIL_REQ_MAX,
 *		.handle = handle,	// one request: its reply
 *		.open = open_client,	// optional: per-connection state
 *		.close = close_client,	// optional: it went away
 *	};
 *	// or, for requests answered later (lookup: socketmap: tables):
 *	//	.start = start,	// 0: reply now, 1: ipc_server_reply() later
 *	ipc_server_init(&ops, idle_ms, max_clients);
 *	ipc_server_listen(loop, listen_fd);	// for each listener
 *	ipc_server_add(loop, fd);		// an accepted connection
 *	ipc_server_stop(loop, grace_ms, done);	// SIGTERM; done: server_exit
 * DESCRIPTION
 *	The connection layer every postern service with persistent ipc
 *	clients shares: it keeps any number of client connections (at
 *	most max_clients; beyond that the listeners are not watched until
 *	a client leaves) in the event loop, each with an ipc_conn, and
 *	answers their requests in order as they arrive.
 *
 *	ops->handle(ctx, req, reply, why, whylen) answers one request: it
 *	initialises and fills reply and returns 0, or returns -1 for a bad
 *	request (why says what; reply is not initialised): that client is
 *	dropped.  ctx is what ops->open returned for the connection (NULL
 *	without ops->open).  ops->close(ctx) runs once when the connection
 *	ends, whatever the reason (the client closed it, an error, a bad
 *	request, idleness, the stop), before its descriptor is closed.
 *
 *	ops->start(ctx, client, req, reply, why, whylen), when set, is
 *	used instead of handle for services whose answers may wait on
 *	something else: it returns 0 with reply filled, -1 for a bad
 *	request, or 1 when the answer comes later: the service then calls
 *	ipc_server_reply(client, reply) from the loop (reply is copied
 *	into the connection's output; the caller still frees it).  Meanwhile that connection's later requests are
 *	not read (they wait in the kernel: answers stay in order); other
 *	connections go on.  A connection that ends while its answer is
 *	outstanding gets ops->close(ctx) as usual, which must abandon the
 *	pending work (ipc_server_reply() is never called for it after
 *	close).  A stop waits (up to grace_ms) for outstanding answers.
 *
 *	A client that does not read its replies is not read from until
 *	its output drains below IPC_SERVER_OUT_HIGH (so its requests
 *	cannot make our memory grow), and a client silent for idle_ms is
 *	closed (0: never).  A malformed or bad request is logged
 *	(log_warn, rate-limited, naming ops->name) and the client is
 *	dropped.  When accept() runs out of descriptors, accepting pauses
 *	for IPC_SERVER_PAUSE_MS.  ipc_server_stop() stops accepting and
 *	closes every client once its replies are written; when none is
 *	left (or after grace_ms) it calls done.  ipc_server_clients() is
 *	the number of open client connections.
 *
 *	One server per process: the state is static.
 */
#ifndef POSTERN_IPC_SERVER_H
#define POSTERN_IPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "ipc.h"

#define IPC_SERVER_OUT_HIGH	(256 * 1024)
#define IPC_SERVER_PAUSE_MS	1000

struct ipc_server_client;

struct ipc_server_ops {
	const char *name;
	size_t	req_max;
	int	(*handle)(void *ctx, struct ipc_in *req, struct ipc_msg *reply,
			  char *why, size_t whylen);
	int	(*start)(void *ctx, struct ipc_server_client *client,
			 struct ipc_in *req, struct ipc_msg *reply,
			 char *why, size_t whylen);
	void   *(*open)(int fd);
	void	(*close)(void *ctx);
};

void	ipc_server_init(const struct ipc_server_ops *ops, uint64_t idle_ms,
			size_t max_clients);
void	ipc_server_listen(struct ev_loop *loop, int listen_fd);
void	ipc_server_add(struct ev_loop *loop, int fd);
void	ipc_server_stop(struct ev_loop *loop, uint64_t grace_ms, void (*done)(void));
size_t	ipc_server_clients(void);
void	ipc_server_reply(struct ipc_server_client *client, struct ipc_msg *reply);

#endif
