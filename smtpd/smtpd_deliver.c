/*
 * NAME
 *	smtpd_deliver - the spool file and the hand-off of a message to
 *	cleanup
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	int fd = smtpd_spool_open(whole);	// smtpd_data.c calls it
 *	smtpd_deliver(s);		// at the end of data
 *	smtpd_deliver_abort(s);		// session over or cleanup too slow
 * DESCRIPTION
 *	smtpd_spool_open() creates an unnamed file (lib/svc/cleanup_spool.h:
 *	O_TMPFILE, mode 0600)
 *	in smtpd_spool_directory, relative to the working directory (the
 *	queue directory, which is the root of the chroot).  It has no
 *	name, so nothing needs removing when a session dies, and nobody
 *	else can open it.  With whole set the caller holds the entire
 *	content already, at most SMTPD_DATA_WBUF bytes (most mail): the
 *	spool is then an anonymous memory file (memfd_create()), which
 *	costs the file system nothing (no inode to allocate, put on the
 *	orphan list and free for each message) and lives only until
 *	cleanup has copied it; when memory files are not available, the
 *	unnamed file is used.  Either way cleanup reads a descriptor.
 *
 *	smtpd_deliver() hands the finished message to cleanup without
 *	blocking: over a connection to private/cleanup from the process's
 *	pool (lib/svc/cleanup_clnt.h: at most CLEANUP_POOL_IDLE_MAX idle
 *	connections, each kept CLEANUP_POOL_IDLE_MS, so a burst of
 *	messages costs one connect, and cleanup one accept, not one per
 *	message; a failed or abandoned connection is never reused), it
 *	sends the envelope
 *	(client_name, client_addr, helo, protocol for the Received:
 *	header; sender; recipients) with the spool descriptor, and puts
 *	the session in SMTPD_ST_DELIVER, where it reads nothing more from
 *	its client.  Cleanup's answer arrives as an event and becomes the
 *	client's reply (smtpd_proto_queued()); the session's deadline
 *	timer bounds the wait (smtpd_session.c).  When cleanup's listen
 *	queue is full, the connection is retried every
 *	CLNT_RETRY_CONNECT_MS until the deadline (lib/ipc/clnt_pool.h).
 *
 *	With -D DIR (standalone tests) the message is written to a file
 *	DIR/QUEUEID instead, synchronously: envelope lines
 *	"client_name=", "client_addr=", "helo=", "protocol=",
 *	"smtputf8=", "sender=", "sasl_method=" and "sasl_username=" for
 *	an authenticated client, one "rcpt=" per recipient, an empty line,
 *	then the content exactly as spooled.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup_clnt.h"
#include "cleanup_spool.h"
#include "log.h"
#include "mem.h"
#include "membudget.h"
#include "params.h"
#include "qid.h"
#include "smtpd.h"
#include "str.h"

int
smtpd_spool_open(bool whole)
{
	return cleanup_spool_fd(smtpd_conf.spool_dir, whole);
}

/* smtpd_spool_close - the session's spool goes, and its memory charge */
void
smtpd_spool_close(struct smtpd_session *s)
{
	if (s->spool_fd >= 0)
		close(s->spool_fd);
	s->spool_fd = -1;
	if (s->spool_charge > 0)
		membudget_give(s->spool_charge);
	s->spool_charge = 0;
}

/* write_all - the whole of p[0..n) to fd */
static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = write(fd, c, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t) k;
	}
	return 0;
}

/* write_dir - -D: the message as a file in the working directory */
static void
write_dir(struct smtpd_session *s)
{
	char	qid[QID_LEN + 1], tmp[QID_LEN + 8];
	char	buf[64 * 1024];
	struct buf env;
	int	fd;
	ssize_t n;
	off_t	off = 0;

	qid_new(qid);
	(void) str_fmt(tmp, sizeof(tmp), ".%s.tmp", qid);
	buf_init(&env, 4 * 1024 * 1024);
	(void) buf_appendf(&env, "client_name=%s\nclient_addr=%s\nhelo=%s\n"
			   "protocol=%s\nsmtputf8=%d\nsender=%s\n", s->name, s->addr,
			   s->helo, smtpd_protocol(s), s->smtputf8, s->sender);
	if (smtpd_sasl_authenticated(s))
		(void) buf_appendf(&env, "sasl_method=%s\nsasl_username=%s\n",
				   s->sasl_method, s->sasl_username);
	for (size_t i = 0; i < s->nrcpt; i++)
		(void) buf_appendf(&env, "rcpt=%s\n", s->rcpt[i]);
	(void) buf_putc(&env, '\n');

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, env.data, env.len) < 0)
		goto fail;
	while ((n = pread(s->spool_fd, buf, sizeof(buf), off)) > 0) {
		if (write_all(fd, buf, (size_t) n) < 0)
			goto fail;
		off += n;
	}
	if (n < 0 || fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, qid) < 0) {
		fd = -1;
		goto fail;
	}
	buf_free(&env);
	smtpd_proto_client_line(s, qid);
	smtpd_proto_queued(s, 0, qid, "");
	return;

fail:
	log_warn("cannot write message file %s in the -D directory: %m", tmp);
	if (fd >= 0)
		close(fd);
	(void) unlink(tmp);
	buf_free(&env);
	smtpd_proto_queued(s, 4, "", "4.3.0 Error: queue file write error");
}

static struct cleanup_pool *pool;

/* done - cleanup answered, or the hand-off failed: reply and go on */
static void
done(void *ctx, const struct cleanup_result *res, bool answered)
{
	struct smtpd_session *s = ctx;

	s->cl_call = NULL;			/* over: nothing to cancel */
	if (!answered)
		log_warn("no valid answer from cleanup for a message from %s[%s]: %s",
			 s->name, s->addr, res->reason);
	smtpd_deliver_abort(s);
	smtpd_proto_queued(s, res->status, res->queue_id, res->reason);
	smtpd_session_resume(s);
}

/* announced - cleanup's queue ID, before qmgr can see the message */
static void
announced(void *ctx, const char *qid)
{
	smtpd_proto_client_line(ctx, qid);
}

/* start - send to cleanup; false (res filled) when nothing was sent */
static bool
start(struct smtpd_session *s, struct cleanup_result *res)
{
	struct cleanup_rcpt_in *rc = xcalloc(s->nrcpt, sizeof(*rc));
	char	tls[CLEANUP_TLS_MAX + 1];
	struct cleanup_envelope env;

	smtpd_tls_received(s, tls, sizeof(tls));
	env = (struct cleanup_envelope) {
		.flags = 0,
		.offset = 0,
		.length = s->data.size,
		.client_name = s->name,
		.client_addr = s->addr,
		.helo = s->helo[0] ? s->helo : NULL,
		.protocol = smtpd_protocol(s),
		.tls = tls[0] ? tls : NULL,
		.sasl_method = s->sasl_method[0] ? s->sasl_method : NULL,
		.sasl_username = s->sasl_username[0] ? s->sasl_username : NULL,
		.uid = -1,
		.smtputf8 = s->smtputf8,
		.sender = s->sender,
		.rcpts = rc,
		.nrcpts = s->nrcpt,
		.announced = announced,
		.announced_ctx = s,
	};
	/* One pool per process: connections are kept across sessions. */
	if (pool == NULL)
		pool = cleanup_pool_new(s->loop, CLEANUP_POOL_IDLE_MAX,
					CLEANUP_POOL_IDLE_MS);
	for (size_t i = 0; i < s->nrcpt; i++)
		rc[i].addr = s->rcpt[i];
	env.flags |= smtpd_conf.overrides.flags;
	/* An after-queue content filter; a FILTER action below wins. */
	if (cfg->content_filter[0] != '\0')
		env.filter = cfg->content_filter;
	if (s->actions != NULL) {
		/* What the restrictions asked of the message (smtpd_access.c). */
		if (s->actions->flags & SMTPD_ACT_HOLD)
			env.flags |= CLEANUP_F_HOLD;
		if (s->actions->flags & SMTPD_ACT_DISCARD)
			env.flags |= CLEANUP_F_DISCARD;
		if (s->actions->filter != NULL)
			env.filter = s->actions->filter;
		env.redirect = s->actions->redirect;
		if (s->actions->prepend.len > 0)
			env.prepend = buf_str(&s->actions->prepend);
	}
	s->cl_call = cleanup_pool_submit(pool, &env, s->spool_fd, done, s, res);
	free(rc);
	return s->cl_call != NULL;
}

void
smtpd_deliver(struct smtpd_session *s)
{
	struct cleanup_result res;

	if (smtpd_conf.deliver_dir != NULL) {
		write_dir(s);
		return;
	}
	s->state = SMTPD_ST_DELIVER;
	smtpd_set_deadline(s, cfg->smtpd_timeout * 1000);	/* cleanup's, not the client's */
	if (!start(s, &res)) {			/* refused at once */
		log_warn("cannot hand a message to cleanup: %s", res.reason);
		s->state = SMTPD_ST_CMD;
		smtpd_proto_queued(s, res.status, res.queue_id, res.reason);
	}
}

void
smtpd_deliver_abort(struct smtpd_session *s)
{
	if (s->cl_call != NULL) {
		/* Never reused: a late answer must not be read as the next one's. */
		cleanup_pool_cancel(s->cl_call);
		s->cl_call = NULL;
	}
}
