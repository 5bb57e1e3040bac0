/*
 * NAME
 *	delivery_agent - the serving loop of a single-client delivery agent
 * SYNOPSIS
 *	#include "delivery_agent.h"
 *
 *	static void
 *	deliver(const struct delivery_request *rq, size_t i, int qfd,
 *		struct delivery_agent_result *res)
 *	{
 *		delivery_agent_set(res, DELIVERY_SENT, "2.0.0", "%s", rq->nexthop);
 *	}
 *
 *	static const struct delivery_agent agent = {
 *		.name = "discard", .deliver = deliver,
 *	};
 *
 *	// or, committing what arrives together, together
 *	static const struct delivery_agent agent = {
 *		.name = "local", .pipeline = 8, .begin = begin,
 *		.commit = commit, .end = end,
 *	};
 *
 *	static void serve(int fd) { delivery_agent_serve(fd, &agent); }
 * DESCRIPTION
 *	The side of lib/svc/delivery.h that every single-client agent (local,
 *	discard, error) serves in the same way, written once:
 *	delivery_agent_serve() greets the connection (DELIVERY_HELLO with
 *	a->name), then, for each request until qmgr closes the connection
 *	or the wait says to stop: receives it with the queue file's
 *	descriptor, parses it (a malformed request, or one without a
 *	descriptor, ends the connection with a warning), checks it against
 *	the descriptor (delivery_agent_fits(): a regular file that holds
 *	the header and body the request names; else every recipient gets
 *	a temporary failure), calls a->check once when set (a non-zero
 *	return: its result for every recipient), then a->deliver for each
 *	recipient in turn, logs each result's "to=" line
 *	(lib/svc/delivery_log.h, delays a/b from the request, c = 0, d the
 *	recipient's own time), and sends one reply with every result.
 *
 *	a->wait(fd) waits for the next request: 1 when one is there, 0 to
 *	end the connection (NULL: server_wait_request() for max_idle).
 *	The descriptor is closed after each request; nothing the agent
 *	does may keep it beyond deliver() (or end(), below).
 *
 *	Group commit.  An agent that makes its deliveries durable together
 *	(local: one sync of a maildir's new/ for several messages) sets
 *	a->pipeline (2 to DELIVERY_PIPELINE_MAX) and a->begin, a->commit
 *	and a->end instead of a->deliver.  The greeting then offers that
 *	pipeline, and when a request arrives, the requests already waiting
 *	on the connection are taken with it (never waiting for more: a
 *	lone request is served alone, at once).  Each recipient of each
 *	goes through a->begin(), which either fills its result and returns
 *	NULL, or returns a state whose result a->end() fills after
 *	a->commit(), which runs once for them all.  Only then is each
 *	result logged, and each request answered, in the order they came.
 *	Descriptors stay open until then.
 *
 *	delivery_agent_set() fills a result: status, code (its class must
 *	match the status) and text from fmt, made one printable line; the
 *	relay stays what the agent set (a->relay, "none" when NULL, is
 *	each result's default).
 *
 *	delivery_agent_fits() is the descriptor check: 0, or -1 with why.
 * SECURITY
 *	Every request is parsed strictly before anything is done, and
 *	whether its offsets fit is checked with fstat(); an agent's
 *	deliver() is called only for a request that passed both.
 */
#ifndef POSTERN_DELIVERY_AGENT_H
#define POSTERN_DELIVERY_AGENT_H

#include <stddef.h>

#include "delivery.h"

#define DELIVERY_AGENT_IO_MS	10000	/* one message, once it started */

struct delivery_agent_result {
	int	status;			/* DELIVERY_SENT, _DEFER, _BOUNCE */
	char	dsn[10];
	char	text[DELIVERY_TEXT_MAX + 1];
	char	relay[DELIVERY_RELAY_MAX + 1];
};

struct delivery_agent {
	const char *name;		/* the greeting's agent name */
	const char *relay;		/* the log's relay=, NULL: "none" */
	int	(*check)(const struct delivery_request *rq, int qfd,
			 struct delivery_agent_result *res);
	void	(*deliver)(const struct delivery_request *rq, size_t i, int qfd,
			   struct delivery_agent_result *res);
	int	(*wait)(int fd);
	/* group commit (optional) */
	unsigned pipeline;		/* requests held at once, 2..8 */
	void   *(*begin)(const struct delivery_request *rq, size_t i, int qfd,
			 struct delivery_agent_result *res);
	void	(*commit)(void);
	void	(*end)(void *state, struct delivery_agent_result *res);
};

void	delivery_agent_serve(int fd, const struct delivery_agent *a);
void	delivery_agent_set(struct delivery_agent_result *r, int status,
			   const char *dsn, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
int	delivery_agent_fits(const struct delivery_request *rq, int qfd,
			    char *why, size_t whylen);

#endif
