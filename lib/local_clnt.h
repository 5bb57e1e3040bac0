/*
 * NAME
 *	local_clnt - the private/local delivery protocol, both sides
 * SYNOPSIS
 *	#include "local_clnt.h"
 *
 *	// qmgr: build a request, send it with the queue file descriptor
 *	struct local_request rq = { .queue_id = qid, .sender = s, ... };
 *	struct ipc_msg m;
 *	if (local_request_build(&m, &rq) < 0) ... too long ...
 *	ipc_conn_queue(&conn, &m, queue_fd);
 *
 *	// local: parse it
 *	if (local_request_parse(&in, &rq, why, sizeof(why)) < 0) ... drop ...
 *
 *	// local: answer; qmgr: read the answer
 *	local_reply_build(&m, LOCAL_STAT_DEFER, "4.2.0", "mailbox is locked");
 *	if (local_reply_parse(&in, &rep, why, sizeof(why)) < 0) ... drop ...
 * DESCRIPTION
 *	One request per recipient on a persistent connection from qmgr to
 *	local (docs/INTERNALS.md, "local"):
 *
 *	LOCAL_REQ_DELIVER, with the queue file's descriptor (read-only):
 *	  "queue_id" str, "sender" str, "rcpt" str, "orcpt" str (may be
 *	  empty), "index" num, "arrival" num (seconds since the epoch),
 *	  "hdr_off", "hdr_len", "body_off", "body_len" num.
 *	LOCAL_REP:
 *	  "status" num (LOCAL_STAT_SENT 0, LOCAL_STAT_DEFER 4,
 *	  LOCAL_STAT_BOUNCE 5), "dsn" str (its class matches the status:
 *	  2, 4 or 5), "reason" str (one line of printable text).
 *
 *	local_request_build() and local_reply_build() initialise m (the
 *	caller frees it with ipc_msg_free()) and return 0, or -1 when a
 *	field breaks a bound below (m is then freed already).
 *
 *	local_request_parse() and local_reply_parse() read one message
 *	that ipc_recv() or ipc_conn_next() delivered and check every
 *	field: the type, the record names and order, the string bounds,
 *	no control character in any string, a valid queue ID, a valid
 *	status code whose class matches the status, offsets and lengths
 *	that cannot overflow off_t.  The strings point into in.  They
 *	return 0, or -1 with why[] saying what was wrong (the peer is
 *	then not to be trusted with the rest of the connection).
 *	Whether the offsets fit the descriptor is for the receiver to
 *	check (local does, with fstat()).
 * SECURITY
 *	The request decides nothing about privilege: local looks the
 *	recipient up itself.  Every string is bounded and free of control
 *	characters before either side uses it in a log line, a status
 *	record or a bounce.
 */
#ifndef POSTERN_LOCAL_CLNT_H
#define POSTERN_LOCAL_CLNT_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

#define LOCAL_REQ_DELIVER	301
#define LOCAL_REP		302

#define LOCAL_SERVICE		"private/local"

#define LOCAL_STAT_SENT		0
#define LOCAL_STAT_DEFER	4
#define LOCAL_STAT_BOUNCE	5

#define LOCAL_ADDR_MAX		1024	/* sender, rcpt, orcpt (as qfile) */
#define LOCAL_QID_MAX		31
#define LOCAL_REASON_MAX	3000	/* fits a 4 KiB queue status record */

struct local_request {
	const char *queue_id;
	const char *sender;
	const char *rcpt;
	const char *orcpt;		/* "" when unknown */
	uint64_t index;
	uint64_t arrival;
	uint64_t hdr_off;
	uint64_t hdr_len;
	uint64_t body_off;
	uint64_t body_len;
};

struct local_reply {
	int	status;			/* LOCAL_STAT_* */
	const char *dsn;
	const char *reason;
};

int	local_request_build(struct ipc_msg *m, const struct local_request *rq);
int	local_request_parse(struct ipc_in *in, struct local_request *rq,
			    char *why, size_t whylen);
int	local_reply_build(struct ipc_msg *m, int status, const char *dsn,
			  const char *reason);
int	local_reply_parse(struct ipc_in *in, struct local_reply *rep,
			  char *why, size_t whylen);

#endif
