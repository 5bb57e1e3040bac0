/*
 * NAME
 *	showq_clnt - list the queue through the showq service
 * SYNOPSIS
 *	#include "showq_clnt.h"
 *
 *	static int
 *	one(void *ctx, const struct showq_msg *m)
 *	{
 *		printf("%s %s %s\n", m->queue, m->queue_id, m->sender);
 *		return 0;		// non-zero stops the listing
 *	}
 *
 *	struct showq_summary sum;
 *	char why[256];
 *	if (showq_list(SHOWQ_SOCKET, one, NULL, &sum, why, sizeof(why)) < 0)
 *		... why: "cannot connect to public/showq: ..." ...
 * DESCRIPTION
 *	showq (showq/showq.c) reads the queue files' envelopes for any
 *	local user; postqueue -p/-j and mailq are its clients.  Wire
 *	protocol (docs/INTERNALS.md, "showq"): one SHOWQ_REQ_LIST
 *	request without records; the answer is one SHOWQ_REP_MSG message
 *	per queued message and a final SHOWQ_REP_END.  Streaming keeps
 *	every message within IPC_MSG_MAX however long the queue is.
 *
 *	SHOWQ_REP_MSG: "queue_id" str, "queue" str (incoming, active,
 *	deferred, hold, maildrop), "arrival" num (seconds), "size" num
 *	(bytes of content), "sender" str ("" for the null sender), then
 *	per recipient still to be delivered "rcpt" str and "reason" str
 *	(the last deferral reason, "" when there is none), then "more"
 *	num: recipients left out to keep the message within its bound.
 *	SHOWQ_REP_END: "omitted" num, the messages not listed because of
 *	showq_limit.
 *
 *	showq_list() connects to path (relative to the current directory,
 *	which for the commands is the queue directory), sends the
 *	request, and calls fn once per message, in the order the service
 *	sends them; the strings of m are valid only during the call.  It
 *	returns 0 with *sum filled (messages, bytes, omitted) after the
 *	end message, or -1 with why set: the service is not running, a
 *	timeout (SHOWQ_TIMEOUT_MS for each message), a malformed reply,
 *	or fn returned non-zero ("stopped").
 *
 *	showq_msg_put() and showq_end_put() build the two replies (for
 *	the service); showq_msg_put() stops adding recipients before the
 *	message would exceed SHOWQ_MSG_MAX and counts the rest in "more".
 *	showq_msg_parse() checks a received SHOWQ_REP_MSG (for tests
 *	and showq_list()); 0, or -1 for a malformed one.
 * SECURITY
 *	Every reply is bounded (IPC_MSG_MAX) and checked record by record
 *	with per-field bounds before fn sees it.  showq runs unprivileged
 *	and chrooted; a local user who connects learns what mailq shows
 *	anyone: queue IDs, envelope addresses, sizes, times, reasons.
 */
#ifndef POSTERN_SHOWQ_CLNT_H
#define POSTERN_SHOWQ_CLNT_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

/* Message types (docs/INTERNALS.md, "showq"). */
#define SHOWQ_REQ_LIST		401
#define SHOWQ_REP_MSG		402
#define SHOWQ_REP_END		403

#define SHOWQ_SOCKET		"public/showq"
#define SHOWQ_TIMEOUT_MS	60000
#define SHOWQ_MSG_MAX		(IPC_MSG_MAX - 8192)	/* room kept for the tail */
#define SHOWQ_ID_MAX		64
#define SHOWQ_QUEUE_MAX		16
#define SHOWQ_ADDR_MAX		1024
#define SHOWQ_REASON_MAX	4096

struct showq_rcpt {
	const char *addr;
	const char *reason;		/* "" when none */
};

struct showq_msg {
	const char *queue_id;
	const char *queue;
	uint64_t arrival;
	uint64_t size;
	const char *sender;
	struct showq_rcpt *rcpts;
	size_t	nrcpts;
	uint64_t more;			/* recipients left out */
};

struct showq_summary {
	uint64_t messages;
	uint64_t bytes;
	uint64_t omitted;
};

typedef int showq_fn(void *ctx, const struct showq_msg *m);

int	showq_list(const char *path, showq_fn *fn, void *ctx,
		   struct showq_summary *sum, char *why, size_t whylen);

int	showq_msg_put(struct ipc_msg *out, const struct showq_msg *m);
int	showq_end_put(struct ipc_msg *out, uint64_t omitted);
int	showq_msg_parse(struct ipc_in *in, struct showq_msg *m, struct showq_rcpt **store,
			size_t *store_cap);

#endif
