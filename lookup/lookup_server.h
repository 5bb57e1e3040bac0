/*
 * NAME
 *	lookup_server - the lookup service's connections and requests
 * SYNOPSIS
 *	#include "lookup_server.h"
 *
 *	lookup_server_init(maps, idle_ms, max_clients);
 *	lookup_server_listen(loop, listen_fd);	// for each listener
 *	lookup_server_add(loop, fd);		// an accepted connection
 *	lookup_server_stop(loop, done);		// SIGTERM; done: server_exit
 *
 *	r = lookup_handle(maps, &req, &reply, why, sizeof(why));
 * DESCRIPTION
 *	lookup_job_start() takes one request message (lookup_job.c): it
 *	checks it strictly (type LOOKUP_REQ_GET, LOOKUP_REQ_ADDR or
 *	LOOKUP_REQ_TABLE, "param" a served parameter name of at most
 *	LOOKUP_PARAM_MAX bytes, for TABLE a "table" that a check_*_access
 *	of that restriction list names, "key" (GET: one; TABLE: one to
 *	LOOKUP_TABLE_KEYS) or "address" (ADDR) of at most TABLE_KEY_MAX
 *	bytes, nothing else), looks the key up, the keys in order (the
 *	first found answers), or the address with Postfix's key sequence
 *	and rewriting (lookup_addr_plan()), each table checked for a newer
 *	file at most once per request.  It returns 0 with the LOOKUP_REP
 *	message in reply (initialised here; the caller frees it) when the
 *	answer is known at once; 1 when a table answers later from loop
 *	(socketmap:): *job is set, and done(ctx, reply) runs then (the
 *	reply is freed after it returns); -1 for a bad request (why says
 *	what; reply is not initialised): the caller drops that client.
 *	lookup_job_cancel() abandons a job (its client went away).
 *	lookup_handle() is the same without a loop (every table answers
 *	at once; socketmap: blocks), for tests.
 *
 *	The connection layer keeps any number of persistent client
 *	connections (at most max_clients; beyond that the listeners are
 *	not watched until a client leaves) in the event loop, each with
 *	an ipc_conn.  Requests are answered in order as they arrive (a
 *	request that waits for a remote table holds back only the later
 *	requests of its own connection; clients that want lookups in
 *	parallel open several connections, as lookup_clnt's pool does); a
 *	client that does not read its replies is not read from until its
 *	output drains (so its requests cannot make our memory grow), and
 *	a client silent for idle_ms is closed.  A malformed or bad
 *	request is logged (log_warn, rate-limited) and the client is
 *	dropped.  lookup_server_stop() stops accepting and closes every
 *	client once its replies are written; when none is left (or after
 *	LOOKUP_STOP_MS) it calls done (the daemon passes a function that
 *	calls server_exit()).  Clients reconnect to the new generation's
 *	process: lookup_clnt retries a request once on a new connection.
 *	lookup_server_clients() is the number of open client connections.
 */
#ifndef POSTERN_LOOKUP_SERVER_H
#define POSTERN_LOOKUP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "ipc.h"
#include "lookup_maps.h"

#define LOOKUP_STOP_MS		10000

int	lookup_handle(struct lookup_maps *maps, struct ipc_in *req,
		      struct ipc_msg *reply, char *why, size_t whylen);

struct lookup_job;
typedef void lookup_job_done_fn(void *ctx, struct ipc_msg *reply);
int	lookup_job_start(struct lookup_maps *maps, struct ev_loop *loop,
			 struct ipc_in *req, struct ipc_msg *reply,
			 lookup_job_done_fn *done, void *ctx,
			 struct lookup_job **job, char *why, size_t whylen);
void	lookup_job_cancel(struct lookup_job *job);

void	lookup_server_init(struct lookup_maps *maps, uint64_t idle_ms,
			   size_t max_clients);
void	lookup_server_listen(struct ev_loop *loop, int listen_fd);
void	lookup_server_add(struct ev_loop *loop, int fd);
void	lookup_server_stop(struct ev_loop *loop, void (*done)(void));
size_t	lookup_server_clients(void);

#endif
