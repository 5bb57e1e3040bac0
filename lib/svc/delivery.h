/*
 * NAME
 *	delivery - the delivery request and its results: the one protocol
 *	between qmgr and every delivery agent
 * SYNOPSIS
 *	#include "delivery.h"
 *
 *	// agent, once per accepted connection, before anything else
 *	delivery_hello_build(&m, "local");
 *	ipc_send(fd, &m, -1, timeout_ms);
 *
 *	// qmgr: the first message on a new connection
 *	if (delivery_hello_parse(&in, &agent, why, sizeof(why)) < 0) ... close ...
 *
 *	// qmgr: a request, sent with the queue file's descriptor
 *	struct delivery_rcpt rcpts[] = {{.address = "bob@example.com",
 *		.orcpt = "", .notify = "", .index = 0}};
 *	struct delivery_request rq = {.queue_id = qid, .transport = "smtp",
 *		.nexthop = "example.com", .sender = "alice@example.org", ...,
 *		.rcpts = rcpts, .nrcpts = 1};
 *	if (delivery_request_build(&m, &rq) < 0) ... a bound or bad value ...
 *	ipc_conn_queue(&conn, &m, queue_fd);
 *
 *	// agent: parse it, deliver, answer one result per recipient
 *	if (delivery_request_parse(&in, &rq, why, sizeof(why)) < 0) ... close ...
 *	delivery_reply_init(&m, &rq);
 *	for (i = 0; i < rq.nrcpts; i++)
 *		delivery_reply_add(&m, &rq, i, DELIVERY_SENT, "2.0.0",
 *				   "delivered to maildir", "local");
 *	delivery_reply_end(&m, &rq, NULL, NULL);  // or a 4.x.x site failure
 *	ipc_send(fd, &m, -1, timeout_ms);
 *	delivery_request_free(&rq);
 *
 *	// qmgr: read the results
 *	if (delivery_reply_parse(&in, &rq_sent, &rep, why, sizeof(why)) < 0) ...
 *	... rep.results[i] belongs to rq_sent.rcpts[i] ...
 *	delivery_reply_free(&rep);
 * DESCRIPTION
 *	Every transport (local, smtp, relay, discard, error, and any
 *	later agent) speaks this protocol, over a UNIX stream socket in
 *	private/ named after the transport's master.cf service, in
 *	lib/ipc/ipc.h messages (docs/INTERNALS.md, "Delivery agents"):
 *
 *	DELIVERY_HELLO, from the agent, first on every connection it
 *	accepts: "version" num (DELIVERY_VERSION), "agent" str (its
 *	program name, 1..DELIVERY_AGENT_MAX bytes of [a-z0-9_-]), then
 *	optionally "pipeline" num (2..DELIVERY_PIPELINE_MAX; absent
 *	means 1): how many requests the agent takes in flight on this
 *	connection.  It tells qmgr that a process took the connection;
 *	qmgr sends nothing before it.  On a connection greeted with
 *	pipeline P, qmgr may send up to P requests before their
 *	replies; the agent may hold them together (local writes them
 *	and makes them durable with one directory sync) and still
 *	answers each request once, in the order they came.
 *
 *	DELIVERY_REQ, from qmgr, with the queue file's descriptor
 *	(read-only): "queue_id" str, "transport" str, "nexthop" str,
 *	"sender" str, "smtputf8" num (0 or 1), "body_type" str ("",
 *	"7BIT" or "8BITMIME"), "envid" str (DSN ENVID, "" for none),
 *	"ret" str (DSN RET: "", "FULL" or "HDRS"), "arrival" num (seconds
 *	since the epoch), "delay_queue_ms" num (from arrival to the
 *	active queue) and "delay_active_ms" num (in the active queue
 *	before this request: the a and b of the log's delays=a/b/c/d),
 *	"hdr_off", "hdr_len", "body_off", "body_len" num (the stored
 *	header and body in the queue file), "nrcpt" num (1 to
 *	DELIVERY_RCPT_MAX), then per recipient "rcpt" str (the address),
 *	"orcpt" str (the original recipient, as the queue file's O record
 *	has it; "" when unknown), "notify" str (DSN NOTIFY, "" for the
 *	default), "index" num (its position in the queue file, strictly
 *	increasing within a request).
 *
 *	DELIVERY_REP, from the agent, exactly one per request, in order:
 *	"nrcpt" num (the request's), then per recipient in the request's
 *	order "index" num (the request's), "status" num (DELIVERY_SENT 0,
 *	DELIVERY_DEFER 4, DELIVERY_BOUNCE 5), "dsn" str (an RFC 3463 code
 *	whose class matches the status), "text" str (the remote server's
 *	reply or the local reason: one line, for the log, mailq and the
 *	bounce), "relay" str (where it went: "local", "none",
 *	"mx.example.org[192.0.2.1]:25"; for the log and the Remote-MTA of
 *	a bounce); then "site_dsn" str and "site_text" str: empty when
 *	the destination itself worked, else a 4.x.x code and why the
 *	destination as a whole failed (no connection, a 4xx or broken
 *	greeting, HELO or MAIL, a lost connection, a timeout: what says
 *	nothing about one recipient).  qmgr uses the site status to slow
 *	down and suspend a destination that keeps failing, never to
 *	decide a recipient: the recipients' results do that.
 *
 *	The agent logs its own "to=" line for each recipient
 *	(delivery_log.h), as Postfix's agents do; qmgr records the
 *	results in the queue file and logs only what it decides itself.
 *
 *	Building.  delivery_hello_build(), delivery_request_build() and
 *	delivery_reply_init() initialise m (the caller frees it with
 *	ipc_msg_free()); delivery_hello_build() is
 *	delivery_hello_build_pipeline() with pipeline 1 (nothing sent),
 *	and delivery_hello_parse() is delivery_hello_parse_pipeline()
 *	for a caller that sends one request at a time whatever the
 *	agent says.  delivery_request_build() checks every field as
 *	the parser will and returns 0, or -1 with errno EINVAL (a value
 *	out of bounds or malformed) or EMSGSIZE (too big; m is then freed
 *	already).  delivery_reply_add() appends the result of recipient
 *	i (results go in the request's order, each once); the text and
 *	relay are made one printable line (control characters become
 *	spaces) and cut to their bounds, so text from a remote server
 *	can be passed as it came; the status code must match the status
 *	(else -1, EINVAL: a bug in the agent).  delivery_reply_end()
 *	adds the site status (NULL or "" for none; a code must be 4.x.x)
 *	and returns 0 when every recipient got its result.  On -1 the
 *	reply must not be sent.
 *
 *	Parsing.  delivery_hello_parse(), delivery_request_parse() and
 *	delivery_reply_parse() read one message that ipc_recv() or
 *	ipc_conn_next() delivered and check every field: the type, the
 *	record names, kinds and order, the bounds below, no control
 *	character in any string, a valid queue ID, a transport name of
 *	[A-Za-z0-9._-] (delivery_transport_valid()), known values of the
 *	enumerations, offsets that cannot overflow off_t, recipient
 *	indexes that increase, status codes whose class matches the
 *	status; a reply must answer exactly the request it is given
 *	(same count, same indexes).  Strings point into in (valid until
 *	the next receive into it); delivery_request_parse() allocates
 *	rq->rcpts, which delivery_request_free() releases, and
 *	delivery_reply_parse() rep->results, released by
 *	delivery_reply_free().  They return 0, or -1 with why[] saying
 *	what was wrong: the peer is then not to be trusted with the
 *	rest of the connection.  Whether the offsets fit the descriptor
 *	is for the agent to check (fstat()).
 * BOUNDS
 *	DELIVERY_RCPT_MAX recipients per request (a request with every
 *	field at its bound stays under IPC_MSG_MAX, and so does its
 *	reply); addresses DELIVERY_ADDR_MAX bytes (as queue files), next
 *	hops DELIVERY_NEXTHOP_MAX, transport names DELIVERY_TRANSPORT_MAX,
 *	texts DELIVERY_TEXT_MAX (fits a queue status record), relays
 *	DELIVERY_RELAY_MAX, ENVID DELIVERY_ENVID_MAX, NOTIFY
 *	DELIVERY_NOTIFY_MAX.
 * SECURITY
 *	The request decides nothing about privilege: local looks each
 *	recipient up itself.  Every string is bounded and free of control
 *	characters before either side puts it in a log line, a status
 *	record or a notification.
 */
#ifndef POSTERN_DELIVERY_H
#define POSTERN_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

#define DELIVERY_HELLO		501
#define DELIVERY_REQ		502
#define DELIVERY_REP		503

#define DELIVERY_VERSION	1

#define DELIVERY_SENT		0
#define DELIVERY_DEFER		4
#define DELIVERY_BOUNCE		5

#define DELIVERY_RCPT_MAX	256
/* Requests in flight per connection: each brings a descriptor (ipc.h). */
#define DELIVERY_PIPELINE_MAX	IPC_MAX_FDS
#define DELIVERY_ADDR_MAX	1024	/* sender, rcpt, orcpt */
#define DELIVERY_NEXTHOP_MAX	1024	/* "[host]:port", "5.1.1 text" */
#define DELIVERY_TRANSPORT_MAX	64	/* as master.cf service names */
#define DELIVERY_AGENT_MAX	32
#define DELIVERY_QID_MAX	31
#define DELIVERY_TEXT_MAX	3000	/* fits a queue status record */
#define DELIVERY_RELAY_MAX	300
#define DELIVERY_ENVID_MAX	100	/* RFC 3461 */
#define DELIVERY_NOTIFY_MAX	64	/* as the queue file's N record */

struct delivery_rcpt {
	const char *address;
	const char *orcpt;		/* "" when unknown */
	const char *notify;		/* "" for the default */
	uint64_t index;			/* in the queue file */
};

struct delivery_request {
	const char *queue_id;
	const char *transport;		/* the master.cf service */
	const char *nexthop;
	const char *sender;		/* "" for the null sender */
	bool	smtputf8;
	const char *body_type;		/* "", "7BIT", "8BITMIME" */
	const char *envid;		/* "" for none */
	const char *ret;		/* "", "FULL", "HDRS" */
	uint64_t arrival;		/* seconds since the epoch */
	uint64_t delay_queue_ms;	/* arrival -> active queue */
	uint64_t delay_active_ms;	/* active queue -> this request */
	uint64_t hdr_off;
	uint64_t hdr_len;
	uint64_t body_off;
	uint64_t body_len;
	struct delivery_rcpt *rcpts;
	size_t	nrcpts;
	/* used by the reply builder */
	size_t	nreplied;
};

struct delivery_result {
	int	status;			/* DELIVERY_SENT, _DEFER, _BOUNCE */
	const char *dsn;
	const char *text;
	const char *relay;
	uint64_t index;
};

struct delivery_reply {
	const char *site_dsn;		/* "" when the destination worked */
	const char *site_text;
	struct delivery_result *results;	/* one per request recipient */
	size_t	nresults;
};

int	delivery_hello_build(struct ipc_msg *m, const char *agent);
int	delivery_hello_parse(struct ipc_in *in, const char **agent,
			     char *why, size_t whylen);
int	delivery_hello_build_pipeline(struct ipc_msg *m, const char *agent,
				      unsigned pipeline);
int	delivery_hello_parse_pipeline(struct ipc_in *in, const char **agent,
				      unsigned *pipeline, char *why,
				      size_t whylen);

int	delivery_request_build(struct ipc_msg *m, const struct delivery_request *rq);
int	delivery_request_parse(struct ipc_in *in, struct delivery_request *rq,
			       char *why, size_t whylen);
void	delivery_request_free(struct delivery_request *rq);

void	delivery_reply_init(struct ipc_msg *m, struct delivery_request *rq);
int	delivery_reply_add(struct ipc_msg *m, struct delivery_request *rq,
			   size_t i, int status, const char *dsn,
			   const char *text, const char *relay);
int	delivery_reply_end(struct ipc_msg *m, struct delivery_request *rq,
			   const char *site_dsn, const char *site_text);
int	delivery_reply_parse(struct ipc_in *in, const struct delivery_request *rq,
			     struct delivery_reply *rep, char *why, size_t whylen);
void	delivery_reply_free(struct delivery_reply *rep);

bool	delivery_transport_valid(const char *name);
int	delivery_status_of(const char *dsn);

#endif
