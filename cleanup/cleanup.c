/*
 * NAME
 *	cleanup - check new mail and write it into the queue
 * SYNOPSIS
 *	cleanup -c config_dir -n cleanup -t unix -u -z [-S]	(started by master)
 * DESCRIPTION
 *	cleanup is the only writer of incoming/.  smtpd (mail from the
 *	network), pickup (mail from local users), qmgr (bounces) and local
 *	(forwarding) hand it a message: the envelope in a SUBMIT request
 *	and the content as a descriptor.  cleanup trusts none of it: it
 *	checks every attribute and address, reads the content itself
 *	within bounds, adds what a message must have, rewrites and expands
 *	the envelope through the tables, writes the queue file, makes it
 *	durable, and only then answers "queued".  Then it wakes qmgr.
 *
 *	Content: Unix form (LF line ends, no dot-stuffing), header
 *	section, empty line, body.  cleanup
 *	  - refuses a message over message_size_limit (5.3.4) and, with a
 *	    temporary error (4.3.1), one that would leave less than
 *	    queue_minfree free in the queue file system (0, the default,
 *	    means 1.5 x message_size_limit, as in Postfix);
 *	  - keeps at most header_size_limit bytes of headers: the rest is
 *	    discarded and logged, and the message goes on;
 *	  - refuses a message with more than hopcount_limit Received:
 *	    headers (ours included): a mail loop, 5.4.6;
 *	  - with cleanup_replace_stray_cr_lf (default yes) replaces a CR
 *	    that does not end a line by a space and drops a CR before an
 *	    LF, in headers and body: what is stored has LF line ends and
 *	    nothing that a later hop could read as a line end (SMTP
 *	    smuggling);
 *	  - adds Received: at the top, Message-ID: and Date: when
 *	    missing, and for local submissions From: when missing;
 *	  - with CLEANUP_F_EXTRACT (sendmail -t) adds the recipients of
 *	    To:/Cc:/Bcc: (or Resent-To:/Resent-Cc:/Resent-Bcc:) and
 *	    appends @$myorigin to bare names; Bcc: headers are removed for
 *	    -t and for every local submission; Return-Path: is removed;
 *	  - rewrites the sender through sender_canonical_maps and
 *	    canonical_maps, recipients through recipient_canonical_maps
 *	    and canonical_maps, then expands recipients through
 *	    virtual_alias_maps (recursively; a loop or an expansion larger
 *	    than expansion_limit is a temporary error, as in Postfix),
 *	    through the lookup service; duplicate recipients are removed.
 *
 *	The queue file (lib/mail/qfile.h, docs/INTERNALS.md) is written to
 *	incoming/.tmp-PID-N, fsynced, renamed to incoming/QUEUEID, and
 *	the directory fsynced: "queued" is said only after that.  The
 *	directory fsync is a group commit shared by all cleanup processes
 *	(cleanup_commit.c, the board private/.cleanup-commit): one sync
 *	that began after a rename covers it, so messages that arrive
 *	together are committed together, and a message that arrives alone
 *	is synced at once.  Any
 *	failure (a full disk, an I/O error, a table that cannot be read)
 *	is a temporary error, and the temporary file is removed; files left
 *	by a process that was killed are removed when the next cleanup
 *	process starts.
 * WIRE PROTOCOL
 *	lib/ipc/ipc.h messages on private/cleanup (docs/INTERNALS.md,
 *	"cleanup"; lib/svc/cleanup_clnt.h is the client).  Any number of
 *	requests per connection, one at a time.
 *
 *	CLEANUP_REQ_SUBMIT, with the content descriptor:
 *	  "flags" num		CLEANUP_F_EXTRACT 1, CLEANUP_F_LOCAL 2,
 *				CLEANUP_F_BOUNCE 4, CLEANUP_F_ANNOUNCE 8,
 *				CLEANUP_F_HOLD 16, CLEANUP_F_DISCARD 32,
 *				CLEANUP_F_NO_CHECKS 64 (no header or
 *				body checks), CLEANUP_F_NO_MAPS 128 (no
 *				canonical or virtual alias mapping): the
 *				client's receive_override_options
 *	  "offset" num, "length" num	where the message is in the file
 *	  optional, at most once each, in this order:
 *	  "client_name" str (host name or "unknown"), "client_addr" str
 *	  (IPv4 or IPv6), "helo" str, "protocol" str, "tls" str (TLS
 *	  protocol and cipher for Received:), "sasl_method" str,
 *	  "sasl_username" str, "uid" num, "fullname" str, "envid" str,
 *	  "ret" str (FULL or HDRS), "smtputf8" num (0 or 1)
 *	  "sender" str		"" for the null sender
 *	  per recipient: optional "orcpt" str, optional "notify" str
 *	  (NEVER or SUCCESS,FAILURE,DELAY), then "rcpt" str
 *	With CLEANUP_F_ANNOUNCE, as soon as the queue ID is chosen:
 *	  CLEANUP_REP_QID: "queue_id" str
 *	and the client answers CLEANUP_REQ_LOGGED (no attributes) once it
 *	logged its line for that ID; the queue file is renamed into
 *	incoming/ (where qmgr sees it) only after that came, and the final
 *	CLEANUP_REP is sent only after it came, so that log lines keep
 *	Postfix's order (smtpd's client= before qmgr's from=).
 *	CLEANUP_REP:
 *	  "status" num		0 queued, 4 temporary failure, 5 permanent
 *	  "queue_id" str	the new queue ID when queued, else ""
 *	  "reason" str		"X.Y.Z text" when not queued, else ""
 *
 *	A request that breaks the protocol (unknown, missing, repeated or
 *	misordered records, a value outside its syntax or bound, no
 *	descriptor) is answered with a temporary error and the connection
 *	is closed; a bad address is answered 5.1.3 (5.1.7 for the sender).
 * SECURITY
 *	Unprivileged (mail_owner) and chrooted to the queue directory.
 *	Every value received is checked before use (cleanup_req.c); the
 *	content is read with pread() within offset..offset+length, checked
 *	against fstat(), never trusted to end where the client says, and
 *	never passed to a shell or used as a format.
 * LIMITS
 *	A connection that sends no request for min(ipc_timeout, 300 s) is
 *	closed.  Clients keep connections between messages (smtpd keeps
 *	a few idle ones for CLEANUP_POOL_IDLE_MS): each request counts
 *	towards max_use, and a process that reached it, or got SIGTERM
 *	while waiting for the next request, closes the connection after
 *	its reply; the client then sends its next request on a new one.
 *	SIGTERM is never acted on in the middle of a request.  Recipients per message: cleanup_recipient_limit (5.5.3
 *	beyond it).  Addresses: 1,024 bytes; attributes: 256 bytes.
 * CONFIGURATION PARAMETERS
 *	myhostname, myorigin, mydestination, recipient_delimiter,
 *	message_size_limit, header_size_limit, hopcount_limit,
 *	queue_minfree, cleanup_replace_stray_cr_lf,
 *	cleanup_recipient_limit, expansion_limit, canonical_maps,
 *	sender_canonical_maps, recipient_canonical_maps,
 *	virtual_alias_maps, ipc_timeout, header_checks,
 *	mime_header_checks, nested_header_checks, body_checks,
 *	body_checks_size_limit (content checks: cleanup_checks.c),
 *	disable_mime_input_processing, mime_nesting_limit,
 *	mime_boundary_length_limit (the MIME structure those checks see:
 *	cleanup_mime.c).
 * SEE ALSO
 *	cleanup/cleanup.h (the modules), lib/svc/cleanup_clnt.h, lib/mail/qfile.h.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ipc.h"
#include "log.h"
#include "params.h"
#include "server.h"
#include "str.h"

#define IDLE_MAX_MS	(300 * 1000)
#define REPLY_MS	10000

static int
idle_ms(void)
{
	uint64_t ms = cfg->ipc_timeout * 1000;

	return (int) (ms < IDLE_MAX_MS ? ms : IDLE_MAX_MS);
}

static void
cleanup_pre_jail(void)
{
	/* Read the time zone while /etc/localtime is still reachable. */
	tzset();
	/* The content check tables too: they live outside the queue. */
	cleanup_checks_init();
}

static void
cleanup_post_jail(void)
{
	char    why[256];

	if (cleanup_queue_init() < 0)
		log_fatal("cannot open the incoming queue directory %s/incoming: %m "
			  "(run postern init, or check queue_directory)",
			  cfg->queue_directory);
	(void) cleanup_queue_sweep();
	if (cleanup_commit_init(CLEANUP_COMMIT_BOARD, why, sizeof(why)) < 0)
		log_warn("group commit off, each message syncs incoming/ alone: %s", why);
}

/* reply - send a result; -1 when the client is gone */
static int
reply(int fd, const struct cleanup_result *res)
{
	struct ipc_msg m;
	int     r;

	ipc_msg_init(&m, CLEANUP_REP);
	(void) ipc_put_num(&m, "status", (uint64_t) res->status);
	(void) ipc_put_str(&m, "queue_id", res->queue_id);
	(void) ipc_put_str(&m, "reason", res->reason);
	r = ipc_send(fd, &m, -1, REPLY_MS);
	ipc_msg_free(&m);
	if (r < 0 && res->status == CLEANUP_STAT_OK)
		log_warn("%s: the client went away before the reply: %m (the "
			 "message is queued and will be delivered)", res->queue_id);
	return r;
}

/* The CLEANUP_F_ANNOUNCE conversation of one request (cleanup.h). */
struct announce {
	int	fd;
	struct ipc_conn *conn;
	bool	told;			/* CLEANUP_REP_QID sent */
	bool	confirmed;		/* CLEANUP_REQ_LOGGED received */
	bool	broken;			/* the exchange failed: close after the reply */
};

static int
announce(void *ctx, const char *qid)
{
	struct announce *a = ctx;
	struct ipc_msg m;
	int     r;

	ipc_msg_init(&m, CLEANUP_REP_QID);
	(void) ipc_put_str(&m, "queue_id", qid);
	r = ipc_send(a->fd, &m, -1, REPLY_MS);
	ipc_msg_free(&m);
	if (r < 0) {
		a->broken = true;
		return -1;
	}
	a->told = true;
	return 0;
}

/* confirmed - wait (at most REPLY_MS) for CLEANUP_REQ_LOGGED */
static int
confirmed(void *ctx, const char *qid)
{
	struct announce *a = ctx;
	struct ipc_in in;
	int     cfd = -1, r;

	if (a->confirmed)
		return 0;
	if (!a->told || a->broken)
		return -1;
	ipc_in_init_max(&in, CLEANUP_REQ_MAX);
	r = ipc_conn_recv(a->conn, &in, &cfd, REPLY_MS, true);
	if (r == 0 && cfd < 0 && in.type == CLEANUP_REQ_LOGGED && ipc_get_end(&in) == 0) {
		a->confirmed = true;
	} else {
		log_warn("%s: the client did not confirm the queue ID: %s", qid,
			 r < 0 ? strerror(errno) : r == 1 ? "it closed the connection"
			 : "a message other than the confirmation");
		a->broken = true;
	}
	if (cfd >= 0)
		(void) close(cfd);
	ipc_in_free(&in);
	return a->confirmed ? 0 : -1;
}

static void
cleanup_serve(int fd)
{
	struct ipc_conn conn;
	struct ipc_in in;
	bool	first = true;

	ipc_conn_init(&conn, fd, CLEANUP_REQ_MAX);
	ipc_in_init_max(&in, CLEANUP_REQ_MAX);
	for (;;) {
		struct cleanup_req req;
		struct cleanup_result res;
		char    why[256];
		int     cfd = -1, r;

		/*
		 * Between requests on a kept connection: SIGTERM ends it
		 * (the client retries on a new connection), as do max_use
		 * and the idle limit.  The first request is sent with the
		 * connect, so it is read at once, as is one already here.
		 */
		if (!first) {
			if (!server_use_request())
				break;
			if (conn.in.len == 0) {
				r = server_wait_request(fd, idle_ms());
				if (r == 0 && errno == ETIMEDOUT && !server_stopping())
					log_warn("client sent no request for %d s: closing",
						 idle_ms() / 1000);
				if (r <= 0)
					break;
			}
		}
		first = false;
		r = ipc_conn_recv(&conn, &in, &cfd, idle_ms(), false);
		if (r == 1)
			break;			/* the client is done */
		if (r < 0) {
			if (errno == EPROTO || errno == EMSGSIZE)
				log_warn("bad request from a client: %s", ipc_error(&in));
			else if (errno == ETIMEDOUT)
				log_warn("client sent no request for %d s: closing",
					 idle_ms() / 1000);
			break;
		}
		if (cleanup_req_parse(&in, &req, why, sizeof(why)) < 0 || cfd < 0) {
			log_warn("%s from a client: closing the connection",
				 cfd < 0 ? "a request without a content descriptor" : why);
			if (cfd >= 0)
				(void) close(cfd);
			else
				cleanup_req_free(&req);
			cleanup_clnt_fail(&res, "Error: malformed request");
			(void) reply(fd, &res);
			break;
		}
		{
			struct announce a = {.fd = fd, .conn = &conn};
			struct cleanup_hooks hooks = {announce, confirmed, &a};
			bool	ann = (req.flags & CLEANUP_F_ANNOUNCE) != 0;

			cleanup_message(&req, cfd, &res, ann ? &hooks : NULL);
			(void) close(cfd);
			cleanup_req_free(&req);
			/* A refusal after the queue ID: its confirmation first. */
			if (ann && a.told && !a.confirmed && !a.broken)
				(void) confirmed(&a, res.queue_id[0] ? res.queue_id : "NOQUEUE");
			r = a.broken ? -1 : reply(fd, &res);
		}
		/* After the reply: the client's log line goes first (cleanup_msg.c). */
		if (res.status == CLEANUP_STAT_OK)
			cleanup_wake_qmgr();
		/* The next message's file, while nobody waits (cleanup_queue.c). */
		cleanup_queue_spare();
		if (r < 0)
			break;
	}
	ipc_in_free(&in);
	ipc_conn_free(&conn);
}

static const char *const talks[] = {
	"private/lookup", "public/qmgr", NULL,
};
static const char *const params[] = {
	"body_checks", "body_checks_size_limit", "canonical_maps",
	"cleanup_recipient_limit",
	"cleanup_replace_stray_cr_lf", "disable_mime_input_processing",
	"expansion_limit",
	"header_checks", "header_size_limit", "hopcount_limit", "ipc_timeout",
	"message_size_limit", "mime_boundary_length_limit", "mime_header_checks",
	"mime_nesting_limit", "mydestination",
	"myhostname", "myorigin", "nested_header_checks",
	"queue_minfree", "recipient_canonical_maps", "recipient_delimiter",
	"sender_canonical_maps", "virtual_alias_maps", NULL,
};

static const char *const syscalls[] = {
	"flock", "fchmod", "fchown", "link", "linkat", "unlink", "unlinkat",
	"rename", "renameat", "renameat2", "copy_file_range", "sendfile",
	"memfd_create", "kill:probe", NULL,
};

static const struct server_ops ops = {
	.model = SERVER_SINGLE,
	.chroot = SERVER_CHROOT_MUST,
	.syscalls = syscalls,
	.talks = talks,
	.params = params,
	.pre_jail = cleanup_pre_jail,
	.post_jail = cleanup_post_jail,
	.serve = cleanup_serve,
	.on_exit = cleanup_queue_close,		/* removes the spare file */
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
