/*
 * NAME
 *	cleanup_msg - one message, from request to reply
 * DESCRIPTION
 *	cleanup_message() does everything between a parsed request and
 *	its reply, in this order:
 *	  1. the content descriptor: a regular file; offset and length
 *	     checked against its size (fstat());
 *	  2. message_size_limit (5.3.4) and free space in the queue: less
 *	     than queue_minfree (0: 1.5 x message_size_limit, as Postfix
 *	     does) plus the message is "4.3.1 Insufficient system storage";
 *	  3. a queue ID (lib/util/qid.h) and the arrival time;
 *	  4. the sender: syntax, @myorigin, sender_canonical_maps and
 *	     canonical_maps;
 *	  5. the header section (cleanup_hdr.c), read from the descriptor
 *	     with bounds, through header_checks; too many Received: is
 *	     5.4.6; smtpd's PREPEND headers go on top; then the body's
 *	     checks: body_checks, and mime_header_checks and
 *	     nested_header_checks on the headers of its MIME parts and
 *	     attached messages (cleanup_scan.c): a REJECT is the reply
 *	     (5.7.1; 5.6.0 for MIME nesting too deep), a DISCARD says
 *	     "queued" and writes nothing, a table that fails is 4.3.0;
 *	     IGNORE, REPLACE and PREPEND make an edited copy of the body,
 *	     which is what step 7 stores (5.3.4 if it would outgrow
 *	     message_size_limit);
 *	  6. the recipients: the client's, plus those of To/Cc/Bcc with
 *	     CLEANUP_F_EXTRACT; syntax, @myorigin,
 *	     recipient_canonical_maps and canonical_maps,
 *	     virtual_alias_maps, duplicates removed;
 *	  7. the queue file: V T Q A S (O N R)... H B E into a temporary
 *	     file in incoming/, fsync, rename to incoming/QUEUEID (hold/
 *	     for a HOLD action: qmgr leaves it until postsuper -H), fsync
 *	     of the directory (cleanup_queue.c); a FILTER action is the
 *	     attribute "filter=transport:nexthop", a REDIRECT replaces the
 *	     recipients;
 *	  8. the log lines; the caller sends the reply and only then
 *	     wakes qmgr (cleanup_wake_qmgr()), so that the client's own
 *	     line about the message (smtpd's "client=", pickup's "uid=")
 *	     usually comes before qmgr's "from=" in the log, as log readers
 *	     (pflogsumm) expect; nothing but the client's speed orders
 *	     the two.
 *	res is always filled: status 0 with the queue ID only after step
 *	7 completed; otherwise 4 or 5 with "X.Y.Z text", and nothing is
 *	left in incoming/.  Log lines:
 *	  QUEUEID: message-id=<...>
 *	(The "from=<...>, size=N, nrcpt=N (queue active)" line is qmgr's:
 *	logged once per message, as Postfix does, so that log readers such
 *	as pflogsumm count each message once.)
 *
 *	cleanup_wake_qmgr() writes one TRIGGER_WAKE byte to public/qmgr.
 *	The FIFO stays open from one message to the next; when qmgr is
 *	not running (no reader), nothing is logged: qmgr scans incoming/
 *	when it starts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "params.h"
#include "qfile.h"
#include "qid.h"
#include "safefile.h"
#include "str.h"
#include "table.h"
#include "trigger.h"

static int qmgr_fd = -1;

void
cleanup_wake_qmgr(void)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (qmgr_fd < 0 && (qmgr_fd = trigger_open("public/qmgr")) < 0)
			return;			/* not running: it scans at start */
		if (trigger_send(qmgr_fd, TRIGGER_WAKE) == 0)
			return;
		/* EPIPE: that qmgr went away; a new one may be there. */
		(void) close(qmgr_fd);
		qmgr_fd = -1;
	}
}

static void
set(struct cleanup_result *res, int status, const char *reason)
{
	res->status = status;
	res->queue_id[0] = '\0';
	(void) str_copy(res->reason, sizeof(res->reason), reason);
}

static void
set_err(struct cleanup_result *res, const struct cleanup_err *e)
{
	set(res, e->status, e->reason);
}

/* storage_error - the reply for a failed write */
static void
storage_error(struct cleanup_result *res, const char *qid, int err)
{
	if (err == ENOSPC || err == EDQUOT) {
		log_warn("%s: not queued: %s (the queue file system is full)", qid,
			 strerror(err));
		set(res, CLEANUP_STAT_TEMP, "4.3.1 Insufficient system storage");
	} else {
		log_error("%s: cannot write the queue file: %s", qid, strerror(err));
		set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: queue file write error");
	}
}

/* minfree - bytes that must stay free in the queue file system */
static uint64_t
minfree(void)
{
	if (cfg->queue_minfree > 0)
		return cfg->queue_minfree;
	return cfg->message_size_limit + cfg->message_size_limit / 2;
}

/* add_rcpt - one client or header recipient through the whole pipeline */
static int
add_rcpt(struct cleanup_rcpts *out, const struct cleanup_req *req,
	 const char *addr, const char *orcpt, const char *notify,
	 struct cleanup_err *e)
{
	char    a[CLEANUP_ADDR_MAX + 1], c[CLEANUP_ADDR_MAX + 1];
	bool    map = !(req->flags & CLEANUP_F_NO_MAPS);

	if (cleanup_addr_check(addr, false, req->smtputf8 || (req->flags & CLEANUP_F_LOCAL),
			       a, sizeof(a), e) < 0)
		return -1;
	if (!map)
		(void) str_copy(c, sizeof(c), a);
	else if (cleanup_addr_canon("recipient_canonical_maps", a, c, sizeof(c), e) < 0)
		return -1;
	return cleanup_addr_virtual(out, c, orcpt ? orcpt : (str_eq(c, addr) ? NULL : addr),
				    notify, map, e);
}

/* put_attr - one A record "name=value" when value is set */
static void
put_attr(struct qfile_writer *w, const char *name, const char *value)
{
	char    rec[CLEANUP_ATTR_MAX + 64];

	if (value == NULL)
		return;
	(void) str_fmt(rec, sizeof(rec), "%s=%s", name, value);
	(void) qfile_put_str(w, QF_REC_ATTR, rec);
}

static void
put_attrs(struct qfile_writer *w, const struct cleanup_req *req)
{
	char    num[32];

	put_attr(w, "client_name", req->client_name);
	put_attr(w, "client_addr", req->client_addr);
	put_attr(w, "helo", req->helo);
	put_attr(w, "protocol", req->protocol);
	put_attr(w, "sasl_method", req->sasl_method);
	put_attr(w, "sasl_username", req->sasl_username);
	if (req->uid >= 0) {
		(void) str_fmt(num, sizeof(num), "%lld", req->uid);
		put_attr(w, "uid", num);
	}
	put_attr(w, "fullname", req->fullname);
	put_attr(w, "envid", req->envid);
	put_attr(w, "ret", req->ret);
	if (req->smtputf8)
		put_attr(w, "smtputf8", "1");
	if (req->flags & CLEANUP_F_BOUNCE)
		put_attr(w, "bounce", "1");
}

/*
 * read_headers - step 5; body_off receives where the body starts, blank
 * whether an empty line ended the headers
 */
static int
read_headers(struct cleanup_src *src, struct cleanup_hdr *h, uint64_t *body_off,
	     bool *blank)
{
	const char *p;
	size_t  n;
	bool    start, eol;
	int     r;

	while ((r = cleanup_src_line(src, &p, &n, &start, &eol)) == 1) {
		switch (cleanup_hdr_line(h, p, n, start, eol)) {
		case CLEANUP_HDR_MORE:
			continue;
		case CLEANUP_HDR_END:
			*body_off = cleanup_src_tell(src);
			*blank = true;
			return 0;
		case CLEANUP_HDR_JUNK:
			*body_off = src->frag_pos;
			cleanup_hdr_eof(h);
			return 0;
		}
	}
	if (r < 0)
		return -1;
	cleanup_hdr_eof(h);
	*body_off = src->end;
	return 0;
}

void
cleanup_message(const struct cleanup_req *req, int fd, struct cleanup_result *res,
		const struct cleanup_hooks *hooks)
{
	char    qid[QID_LEN + 1], sender[CLEANUP_ADDR_MAX + 1], tmp[CLEANUP_ADDR_MAX + 1];
	struct cleanup_err e = {0};
	struct cleanup_src src = {0};
	struct cleanup_hdr h;
	struct cleanup_rcpts rcpts;
	struct cleanup_qfile q = {.fd = -1};
	struct qfile_writer w;
	struct timeval arrival;
	struct stat st;
	struct buf hdr;
	uint64_t body_off = 0, body_len = 0;
	int64_t free_bytes;
	bool    utf8 = req->smtputf8 || (req->flags & CLEANUP_F_LOCAL), hold;
	bool    blank = false;
	struct cleanup_checks cc;
	struct cleanup_edit ed;
	struct cleanup_src edited = {0};

	cleanup_hdr_init(&h, req->flags, (size_t) cfg->header_size_limit,
			 cfg->hopcount_limit, cfg->cleanup_replace_stray_cr_lf,
			 (size_t) cfg->cleanup_recipient_limit);
	cleanup_rcpts_init(&rcpts, (size_t) cfg->cleanup_recipient_limit);
	buf_init(&hdr, (size_t) cfg->header_size_limit + 64 * 1024);
	cleanup_checks_begin(&cc, "NOQUEUE", req);
	cleanup_edit_init(&ed, fd, 0, 0, 0, -1);

	/* 1. The descriptor. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)
	    || req->offset > (uint64_t) st.st_size
	    || req->length > (uint64_t) st.st_size - req->offset) {
		log_warn("bad request: the content descriptor is not a regular file "
			 "holding %llu bytes at offset %llu",
			 (unsigned long long) req->length, (unsigned long long) req->offset);
		set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: bad content descriptor");
		goto out;
	}

	/* 2. Size and space. */
	if ((cfg->message_size_limit && req->length > cfg->message_size_limit)
	    || req->length > QFILE_BODY_ABS_MAX) {
		set(res, CLEANUP_STAT_PERM, "5.3.4 Message size exceeds fixed limit");
		log_info("NOQUEUE: reject: message of %llu bytes exceeds "
			 "message_size_limit %llu", (unsigned long long) req->length,
			 (unsigned long long) cfg->message_size_limit);
		goto out;
	}
	free_bytes = sf_free_space("incoming");
	if (free_bytes >= 0 && (uint64_t) free_bytes < minfree() + req->length) {
		log_warn("NOQUEUE: not queued: %lld bytes free in the queue file "
			 "system, %llu needed (queue_minfree plus the message)",
			 (long long) free_bytes,
			 (unsigned long long) (minfree() + req->length));
		set(res, CLEANUP_STAT_TEMP, "4.3.1 Insufficient system storage");
		goto out;
	}

	/* 3. Identity; the client may log its line for it now. */
	qid_new(qid);
	(void) gettimeofday(&arrival, NULL);
	if (hooks != NULL && hooks->announce(hooks->ctx, qid) < 0) {
		set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: the client went away");
		goto out;
	}
	cc.qid = qid;				/* begun above, for "out:" */
	/* receive_override_options = no_header_body_checks: none at all. */
	h.checks = (req->flags & CLEANUP_F_NO_CHECKS) ? NULL : &cc;

	/* 4. Sender. */
	if (cleanup_addr_check(req->sender, true, utf8, tmp, sizeof(tmp), &e) < 0
	    || ((req->flags & CLEANUP_F_NO_MAPS)
		? str_copy(sender, sizeof(sender), tmp) < 0
		: cleanup_addr_canon("sender_canonical_maps", tmp, sender,
				     sizeof(sender), &e) < 0)) {
		set_err(res, &e);
		goto out;
	}

	/* 5. Headers. */
	cleanup_src_init(&src, fd, req->offset, req->length, CLEANUP_READ_BUF);
	if (read_headers(&src, &h, &body_off, &blank) < 0) {
		log_warn("%s: cannot read the message content: %s", qid,
			 errno == EIO ? "it is shorter than announced" : strerror(errno));
		set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: cannot read the message content");
		goto out;
	}
	if (cleanup_hdr_too_many_hops(&h)) {
		log_info("%s: reject: %zu Received: headers, hopcount_limit is %lld "
			 "(a mail loop); from=<%s>", qid, h.hops, cfg->hopcount_limit,
			 sender);
		set(res, CLEANUP_STAT_PERM, "5.4.6 Too many hops (mail forwarding loop)");
		goto out;
	}
	if (h.discarded > 0)
		log_warn("%s: header section over header_size_limit %llu: %llu bytes "
			 "discarded", qid, (unsigned long long) cfg->header_size_limit,
			 (unsigned long long) h.discarded);
	if (req->prepend != NULL && cleanup_hdr_prepend(&h, req->prepend) < 0) {
		set(res, CLEANUP_STAT_PERM, "5.3.4 Message header too big");
		goto out;
	}

	/*
	 * 5b. Content checks: header_checks ran above; the body's here,
	 * with the edits they make in a copy of it.
	 */
	cleanup_edit_init(&ed, fd, body_off, req->offset + req->length,
			  cfg->message_size_limit ? cfg->message_size_limit
			  : QFILE_BODY_ABS_MAX, cleanup_queue_dirfd());
	if (h.checks != NULL
	    && cleanup_scan_body(&cc, fd, body_off, req->offset + req->length, blank,
				 &ed) < 0) {
		log_warn("%s: cannot read the message body: %s", qid,
			 errno == EIO ? "it is shorter than announced" : strerror(errno));
		set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: cannot read the message content");
		goto out;
	}
	if (ed.error == 0 && !cc.done && !cc.failed)
		(void) cleanup_edit_finish(&ed);
	if (ed.error == EFBIG) {
		log_info("%s: reject: the content checks' changes make the body larger "
			 "than message_size_limit %llu", qid,
			 (unsigned long long) cfg->message_size_limit);
		set(res, CLEANUP_STAT_PERM, "5.3.4 Message size exceeds fixed limit");
		goto out;
	}
	if (ed.error == EIO) {
		log_warn("%s: cannot read the message body: it is shorter than "
			 "announced", qid);
		set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: cannot read the message content");
		goto out;
	}
	if (ed.error) {
		storage_error(res, qid, ed.error);
		goto out;
	}
	if (cc.failed) {
		set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: content check failed");
		goto out;
	}
	if (cc.reject[0]) {
		set(res, CLEANUP_STAT_PERM, cc.reject);
		goto out;
	}
	if (cc.discard || (req->flags & CLEANUP_F_DISCARD)) {
		/* Said to be queued, and thrown away: what DISCARD means. */
		res->status = CLEANUP_STAT_OK;
		(void) str_copy(res->queue_id, sizeof(res->queue_id), qid);
		res->reason[0] = '\0';
		log_info("%s: discarded", qid);
		goto out;
	}

	/* 6. Recipients. */
	for (size_t i = 0; i < req->nrcpts; i++) {
		const struct cleanup_rcpt *r = &req->rcpts[i];

		if (add_rcpt(&rcpts, req, r->addr, r->orcpt, r->notify, &e) < 0) {
			set_err(res, &e);
			goto out;
		}
	}
	if (req->flags & CLEANUP_F_EXTRACT) {
		char  **xl = h.nxresent ? h.xresent : h.xrcpt;
		size_t  xn = h.nxresent ? h.nxresent : h.nxrcpt;

		for (size_t i = 0; i < xn; i++) {
			if (add_rcpt(&rcpts, req, xl[i], NULL, NULL, &e) < 0) {
				if (e.status == CLEANUP_STAT_TEMP || str_has_prefix_nocase(e.reason, "5.5.3")) {
					set_err(res, &e);
					goto out;
				}
				log_warn("%s: recipient %s from the headers ignored: %s",
					 qid, xl[i], e.reason);
			}
		}
		if (h.xskipped > 0)
			log_warn("%s: %zu malformed addresses in To:/Cc:/Bcc: ignored",
				 qid, h.xskipped);
	}
	{
		const char *redirect = cc.redirect ? cc.redirect : req->redirect;

		if (redirect != NULL) {
			/* REDIRECT: every recipient becomes that one. */
			cleanup_rcpts_free(&rcpts);
			cleanup_rcpts_init(&rcpts, (size_t) cfg->cleanup_recipient_limit);
			if (add_rcpt(&rcpts, req, redirect, NULL, NULL, &e) < 0) {
				set_err(res, &e);
				goto out;
			}
		}
	}
	if (rcpts.n == 0) {
		set(res, CLEANUP_STAT_PERM, "5.1.0 No recipients specified");
		log_info("%s: reject: no recipients; from=<%s>", qid, sender);
		goto out;
	}

	/* 7. The queue file. */
	{
		struct cleanup_hdr_info info = {
			.qid = qid, .arrival = &arrival, .myhostname = cfg->myhostname,
			.req = req, .sender = sender,
			/* Checked in step 6: a valid path, no control characters. */
			.for_rcpt = req->nrcpts == 1 && !(req->flags & CLEANUP_F_EXTRACT)
			? req->rcpts[0].addr : NULL,
		};


		if (cleanup_hdr_finish(&h, &info, &hdr) < 0) {
			log_error("%s: header section does not fit its bound", qid);
			set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: header too large");
			goto out;
		}
	}
	if (cleanup_queue_create(&q) < 0) {
		storage_error(res, qid, errno);
		goto out;
	}
	qfile_writer_init(&w, q.fd);
	(void) qfile_put_str(&w, QF_REC_VERSION, QFILE_VERSION);
	(void) qfile_put_time(&w, &arrival);
	(void) qfile_put_str(&w, QF_REC_QID, qid);
	put_attrs(&w, req);
	put_attr(&w, "filter", cc.filter ? cc.filter : req->filter);
	(void) qfile_put_str(&w, QF_REC_SENDER, sender);
	for (size_t i = 0; i < rcpts.n; i++) {
		if (rcpts.v[i].orcpt)
			(void) qfile_put_str(&w, QF_REC_ORCPT, rcpts.v[i].orcpt);
		if (rcpts.v[i].notify)
			(void) qfile_put_str(&w, QF_REC_NOTIFY, rcpts.v[i].notify);
		(void) qfile_put_str(&w, QF_REC_RCPT, rcpts.v[i].addr);
	}
	(void) qfile_put(&w, QF_REC_HEADER, hdr.data, hdr.len);
	if (ed.out >= 0)			/* the edited body instead */
		cleanup_src_init(&edited, ed.out, 0, ed.out_len, CLEANUP_READ_BUF);
	if (cleanup_body_put(&w, ed.out >= 0 ? &edited : &src, ed.out >= 0 ? 0 : body_off,
			     cfg->cleanup_replace_stray_cr_lf, cleanup_queue_dirfd(),
			     &body_len) < 0) {
		int     saved = w.error ? w.error : errno;
		struct stat now;

		qfile_writer_free(&w);
		cleanup_queue_abort(&q);
		/*
		 * EIO from a source cut short: copy_file_range() reports it
		 * through the writer too, so ask the file itself.
		 */
		if (saved == EIO && fstat(fd, &now) == 0
		    && (uint64_t) now.st_size < req->offset + req->length) {
			/* The client's file, not ours: it was truncated. */
			log_warn("%s: cannot read the message body: it is shorter "
				 "than announced", qid);
			set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: cannot read the "
			    "message content");
		} else {
			storage_error(res, qid, saved);
		}
		goto out;
	}
	(void) qfile_put(&w, QF_REC_END, NULL, 0);
	if (qfile_finish(&w) < 0) {
		int     saved = errno;

		qfile_writer_free(&w);
		cleanup_queue_abort(&q);
		storage_error(res, qid, saved);
		goto out;
	}
	qfile_writer_free(&w);
	/*
	 * The file's sync first: the client's confirmation of the queue
	 * ID normally arrives meanwhile, so waiting for it adds nothing.
	 */
	if (cleanup_queue_sync(&q) < 0) {
		storage_error(res, qid, errno);
		goto out;
	}
	/* The client's line for this queue ID comes before qmgr's. */
	if (hooks != NULL && hooks->confirmed(hooks->ctx, qid) < 0) {
		cleanup_queue_abort(&q);
		log_warn("%s: not queued: the client did not confirm the queue ID", qid);
		set(res, CLEANUP_STAT_TEMP, "4.3.0 Error: the client did not confirm "
		    "the queue ID");
		goto out;
	}
	hold = cc.hold || (req->flags & CLEANUP_F_HOLD);
	if (cleanup_queue_commit(&q, qid, hold) < 0) {
		storage_error(res, qid, errno);
		goto out;
	}

	/* 8. Done: say so. */
	res->status = CLEANUP_STAT_OK;
	(void) str_copy(res->queue_id, sizeof(res->queue_id), qid);
	res->reason[0] = '\0';
	log_info("%s: message-id=%s", qid, h.msgid);
	if (hold)
		log_info("%s: placed on hold", qid);

out:
	cleanup_checks_end(&cc);
	cleanup_edit_free(&ed);
	cleanup_src_free(&edited);
	cleanup_src_free(&src);
	cleanup_hdr_free(&h);
	cleanup_rcpts_free(&rcpts);
	buf_free(&hdr);
}
