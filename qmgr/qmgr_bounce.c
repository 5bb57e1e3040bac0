/*
 * NAME
 *	qmgr_bounce - delivery status notifications (RFC 3464)
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	kind = qmgr_bounce_policy(sender, &to, env_sender, sizeof(env_sender));
 *	qmgr_dsn_compose(&info, &text);		// the whole notification
 *	qmgr_bounce_start(msg);			// compose and submit, async
 * DESCRIPTION
 *	qmgr_bounce_policy() decides who hears about recipients that
 *	failed, so that a notification can never loop:
 *	  - an ordinary sender gets a notification from the null sender
 *	    (QB_SENDER);
 *	  - a message from the null sender (itself a notification) is
 *	    never bounced: bounce_notice_recipient (postmaster) gets a
 *	    copy, with double_bounce_sender@myhostname as the sender
 *	    (QB_POSTMASTER);
 *	  - a message from double_bounce_sender (such a copy, which could
 *	    not be delivered either) is dropped with a log line
 *	    (QB_DISCARD).
 *	qmgr_notify_failure() is false when the recipient's DSN NOTIFY
 *	(RFC 3461) asked for no failure notice (NEVER, or a list without
 *	FAILURE).
 *
 *	qmgr_dsn_compose() writes the notification, header and body, in
 *	Unix form (LF line ends), into out:
 *
 *	  From: MAILER-DAEMON@HOST (Mail Delivery System)
 *	  To: <SENDER>, Subject, Date, Message-ID, Auto-Submitted,
 *	  MIME-Version, Content-Type: multipart/report;
 *	    report-type=delivery-status; boundary="..."
 *	  1. text/plain: what happened, one paragraph per recipient;
 *	  2. message/delivery-status: Reporting-MTA, X-Postern-Queue-ID,
 *	     X-Postern-Sender, Arrival-Date; then per recipient
 *	     Final-Recipient, Original-Recipient (when known), Action,
 *	     Status, Remote-MTA and Diagnostic-Code (type "smtp", the
 *	     server's reply alone) when the text is the SMTP client's
 *	     "host NAME[ADDR] said: REPLY (in reply to X command)",
 *	     else Diagnostic-Code "smtp" for a bare reply, "x-postern"
 *	     for anything else;
 *	  3. text/rfc822-headers: the original's header section, at most
 *	     size_limit (bounce_size_limit) bytes, cut at a line end.
 *
 *	It returns 0, or -1 when out's bound is too small.
 * SECURITY
 *	Every piece of text that comes from the original message or from
 *	a remote server is attacker-controlled.  Addresses, reasons and
 *	the sender go through qmgr_dsn_clean(): control characters
 *	(CR and LF included) become spaces, runs of white space one
 *	space, octets above 127 '?', and the result is bounded; header
 *	fields are then folded at spaces, so nothing can end a field or
 *	start a new one.  Non-ASCII addresses in the report use the
 *	"utf-8" address type with \x{HEX} escapes (RFC 6533).  The
 *	copied header section keeps its bytes but loses its control
 *	characters (other than tab and line end), has over-long lines
 *	folded, and the MIME boundary is chosen so that it occurs in none
 *	of the copied text, so no part can be ended or added from inside.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "cleanup_clnt.h"
#include "cleanup_spool.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "qmgr.h"
#include "safefile.h"
#include "str.h"
#include "utf8.h"

#define FOLD_COL	78		/* fold header fields after this */
#define WORD_MAX	900		/* a "word" longer than this is cut */
#define LINE_MAX_COPY	990		/* header lines copied into part 3 */
#define REASON_SHOWN	2000		/* bytes of one reason in a report */

/*
 * Policy.
 */

enum qmgr_bounce_kind
qmgr_bounce_policy(const char *sender, const char **to, char *env_sender,
		   size_t size)
{
	char    local[ADDR_LOCAL_MAX * 4 + 1], domain[ADDR_DOMAIN_MAX + 1];

	*to = sender;
	env_sender[0] = '\0';
	if (*sender == '\0') {
		*to = cfg->bounce_notice_recipient;
		(void) str_fmt(env_sender, size, "%s@%s", cfg->double_bounce_sender,
			       cfg->myhostname);
		return QB_POSTMASTER;
	}
	if (addr_split(sender, local, sizeof(local), domain, sizeof(domain)) == 0
	    && str_casecmp(local, cfg->double_bounce_sender) == 0
	    && qmgr_is_local_domain(domain))
		return QB_DISCARD;
	return QB_SENDER;
}

/* notify_has - NOTIFY (RFC 3461) lists word; no NOTIFY: dflt */
static bool
notify_has(const char *notify, const char *word, bool dflt)
{
	char  **items;
	int     n;
	bool    yes = false;

	if (notify == NULL || *notify == '\0')
		return dflt;
	if ((n = config_list_split(notify, 8, &items)) < 0)
		return dflt;
	for (int i = 0; i < n; i++)
		if (str_casecmp(items[i], word) == 0)
			yes = true;
	config_list_free(items, n);
	return yes;
}

bool
qmgr_notify_failure(const char *notify)
{
	return notify_has(notify, "FAILURE", true);	/* the default: notified */
}

bool
qmgr_notify_delay(const char *notify)
{
	/* As Postfix: without NOTIFY, delays are notified (delay_warning_time). */
	return notify_has(notify, "DELAY", true);
}

/*
 * Text hygiene.
 */

void
qmgr_dsn_clean(const char *in, size_t n, struct buf *out, size_t max)
{
	size_t  start = out->len;
	bool    space = true;		/* drop leading white space */

	for (size_t i = 0; i < n && out->len - start < max; i++) {
		unsigned char c = (unsigned char) in[i];

		if (c == '\0')
			break;
		if (c <= ' ' || c == 0x7f) {
			if (!space && buf_putc(out, ' ') < 0)
				break;
			space = true;
			continue;
		}
		if (buf_putc(out, c >= 0x80 ? '?' : (char) c) < 0)
			break;
		space = false;
	}
	while (out->len > start && out->data[out->len - 1] == ' ')
		buf_truncate(out, out->len - 1);
}

/*
 * words - text's space-separated words appended from column col:
 * before each word a space, or, when the line already holds a word and
 * this one would end past limit, brk (a newline and the continuation's
 * indent).  A word longer than WORD_MAX is cut there.  lead_space: a
 * space before the first word too.
 */
static void
words(struct buf *out, const char *text, size_t col, size_t limit,
      const char *brk, bool lead_space)
{
	const char *p = text;
	bool    placed = false;

	while (*p) {
		const char *w;
		size_t  wl;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p && *p != ' ')
			p++;
		wl = (size_t) (p - w);
		if (wl > WORD_MAX) {
			wl = WORD_MAX;
			p = w + WORD_MAX;
		}
		if (placed && col + 1 + wl > limit) {
			(void) buf_puts(out, brk);
			col = strlen(brk) - 1;
		} else if (placed || lead_space) {
			(void) buf_putc(out, ' ');
			col++;
		}
		placed = true;
		(void) buf_append(out, w, wl);
		col += wl;
	}
	(void) buf_putc(out, '\n');
}

/* field - "Name: value", value folded at spaces (value is clean) */
static void
field(struct buf *out, const char *name, const char *value)
{
	(void) buf_appendf(out, "%s:", name);
	words(out, value, strlen(name) + 1, FOLD_COL, "\n ", true);
}

/* wrap - a body paragraph, at most 72 columns, continuation indented */
static void
wrap(struct buf *out, const char *text, const char *indent)
{
	char    brk[16];

	(void) str_fmt(brk, sizeof(brk), "\n%s", indent);
	words(out, text, 0, 72, brk, false);
}

/* addr_type - "rfc822; ADDR" or, for non-ASCII, "utf-8; ADDR" escaped */
static void
addr_type(struct buf *out, const char *addr, size_t max)
{
	const char *p = addr;
	size_t  n = strlen(addr), start;
	bool    ascii = true;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char) addr[i] >= 0x80)
			ascii = false;
	if (ascii) {
		(void) buf_puts(out, "rfc822; ");
		qmgr_dsn_clean(addr, n, out, max);
		return;
	}
	(void) buf_puts(out, "utf-8; ");
	start = out->len;
	while (n > 0 && out->len - start < max) {
		uint32_t cp;
		size_t  k = utf8_decode(p, n, &cp);

		if (k == 0) {
			cp = 0xFFFD;
			k = 1;
		}
		if (cp > ' ' && cp < 0x7f && cp != '\\' && cp != '+' && cp != '=')
			(void) buf_putc(out, (char) cp);
		else
			(void) buf_appendf(out, "\\x{%X}", (unsigned) cp);
		p += k;
		n -= k;
	}
}

/* orig_field - Original-Recipient: "TYPE; ADDR" as given, else rfc822 */
static void
orig_value(struct buf *out, const char *orig)
{
	const char *semi = strchr(orig, ';');
	bool    typed = semi != NULL && semi > orig;

	for (const char *p = orig; typed && p < semi; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		      || (*p >= '0' && *p <= '9') || *p == '-'))
			typed = false;
	if (typed) {
		qmgr_dsn_clean(orig, (size_t) (semi - orig), out, 32);
		(void) buf_puts(out, "; ");
		qmgr_dsn_clean(semi + 1, strlen(semi + 1), out, 1024);
	} else
		addr_type(out, orig, 1024);
}

/* is_smtp_reply - a remote server's reply: "550 ..." or "550-..." */
static bool
is_smtp_reply(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9'
	    && s[2] >= '0' && s[2] <= '9' && (s[3] == ' ' || s[3] == '-');
}

/*
 * remote_reply - "host NAME[ADDR] said: REPLY (in reply to X command)",
 * the SMTP client's text for a server's answer (delivery reasons may
 * be prefixed "delivery temporarily suspended: "): NAME into host and
 * REPLY into reply, true; anything else false.
 */
static bool
remote_reply(const char *s, struct buf *host, struct buf *reply)
{
	const char *said, *br, *end;

	if (str_has_prefix_nocase(s, "delivery temporarily suspended: "))
		s += 32;
	/* " said: " is looked for after "host ": in "host said: ..." the
	 * space of "host " would start it, and the name's length go negative. */
	if (strncmp(s, "host ", 5) != 0 || (said = strstr(s + 5, " said: ")) == NULL)
		return false;
	br = memchr(s + 5, '[', (size_t) (said - s - 5));
	if (br == NULL || br == s + 5 || !is_smtp_reply(said + 7))
		return false;
	buf_reset(host);
	buf_reset(reply);
	(void) buf_append(host, s + 5, (size_t) (br - s - 5));
	end = strstr(said + 7, " (in reply to ");
	(void) buf_append(reply, said + 7, end ? (size_t) (end - said - 7) : strlen(said + 7));
	return true;
}

static void
rfc5322_date(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL
	    || strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		(void) str_copy(out, size, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/* copy_headers - the original's header section for part 3 */
static bool
copy_headers(const struct qmgr_dsn_info *in, struct buf *out)
{
	size_t  n = in->headers_len, col = 0;
	bool    eight = false;

	if (n > in->size_limit) {
		n = in->size_limit;
		/* Cut at a line end: no half header. */
		while (n > 0 && in->headers[n - 1] != '\n')
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) in->headers[i];

		if (c == '\n') {
			(void) buf_putc(out, '\n');
			col = 0;
			continue;
		}
		if (col >= LINE_MAX_COPY) {
			(void) buf_puts(out, "\n ");
			col = 1;
		}
		if ((c < ' ' && c != '\t') || c == 0x7f)
			c = ' ';
		if (c >= 0x80)
			eight = true;
		(void) buf_putc(out, (char) c);
		col++;
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		(void) buf_putc(out, '\n');
	return eight;
}

/* fmt_age - a delay for people: "40 minutes", "4 hours", "2 days" */
static void
fmt_age(time_t secs, char *out, size_t size)
{
	long long v = secs < 0 ? 0 : (long long) secs;

	if (v < 2 * 3600)
		(void) str_fmt(out, size, "%lld minute%s", v / 60, v / 60 == 1 ? "" : "s");
	else if (v < 2 * 86400)
		(void) str_fmt(out, size, "%lld hours", v / 3600);
	else
		(void) str_fmt(out, size, "%lld days", v / 86400);
}

int
qmgr_dsn_compose(const struct qmgr_dsn_info *in, struct buf *out)
{
	struct buf human, status, hdrs, tmp, host, rhost, rtext;
	char    date[64], arrival[64], boundary[300];
	bool    eight;
	int     ret = 0;

	buf_init(&human, 4 * 1024 * 1024);
	buf_init(&status, 4 * 1024 * 1024);
	buf_init(&hdrs, in->size_limit + in->size_limit / 64 + 64);
	buf_init(&tmp, 64 * 1024);
	buf_init(&host, 512);
	buf_init(&rhost, 1024);
	buf_init(&rtext, 4096);
	qmgr_dsn_clean(in->hostname, strlen(in->hostname), &host, 255);
	rfc5322_date(in->now, date, sizeof(date));
	rfc5322_date(in->arrival, arrival, sizeof(arrival));

	/* Part 1: for people. */
	(void) buf_appendf(&human, "This is the mail system at host %s.\n\n", host.data);
	if (in->delayed) {
		char    age[64], until[64];

		fmt_age(in->now - in->arrival, age, sizeof(age));
		rfc5322_date(in->retry_until, until, sizeof(until));
		(void) buf_appendf(&human,
				   "####################################################\n"
				   "# THIS IS A WARNING ONLY: DO NOT SEND YOUR MESSAGE  #\n"
				   "# AGAIN.  The mail system is still trying.          #\n"
				   "####################################################\n\n"
				   "Your message could not be delivered for %s to the\n"
				   "recipients below.  It will be tried again until\n"
				   "%s; only if it cannot be delivered by then will\n"
				   "it be returned to you.  Its headers are attached below.\n\n"
				   "                   The mail system\n\n", age, until);
	} else if (in->postmaster_copy) {
		(void) buf_puts(&human,
				"A delivery status notification (a message from the null\n"
				"sender) could not be delivered.  It is not returned to its\n"
				"sender, to keep notifications from looping; its headers are\n"
				"attached below.\n\n");
	} else {
		(void) buf_puts(&human,
				"I'm sorry to have to inform you that your message could not\n"
				"be delivered to one or more recipients.  Its headers are\n"
				"attached below.\n\n"
				"For further assistance, please send mail to postmaster.\n\n"
				"If you do so, please include this problem report.\n\n"
				"                   The mail system\n\n");
	}
	for (size_t i = 0; i < in->nrcpts; i++) {
		const struct qmgr_dsn_rcpt *r = &in->rcpts[i];

		buf_reset(&tmp);
		(void) buf_putc(&tmp, '<');
		qmgr_dsn_clean(r->address, strlen(r->address), &tmp, 1024);
		(void) buf_puts(&tmp, ">: ");
		qmgr_dsn_clean(r->reason, strlen(r->reason), &tmp, REASON_SHOWN);
		wrap(&human, tmp.data, "    ");
		(void) buf_putc(&human, '\n');
	}

	/* Part 2: for programs. */
	buf_reset(&tmp);
	(void) buf_appendf(&tmp, "dns; %s", host.data);
	field(&status, "Reporting-MTA", tmp.data);
	buf_reset(&tmp);
	qmgr_dsn_clean(in->qid, strlen(in->qid), &tmp, 64);
	field(&status, "X-Postern-Queue-ID", tmp.data);
	buf_reset(&tmp);
	addr_type(&tmp, in->sender, 1024);
	field(&status, "X-Postern-Sender", tmp.data);
	field(&status, "Arrival-Date", arrival);
	for (size_t i = 0; i < in->nrcpts; i++) {
		const struct qmgr_dsn_rcpt *r = &in->rcpts[i];

		(void) buf_putc(&status, '\n');
		buf_reset(&tmp);
		addr_type(&tmp, r->address, 1024);
		field(&status, "Final-Recipient", tmp.data);
		if (r->orig != NULL && *r->orig != '\0') {
			buf_reset(&tmp);
			orig_value(&tmp, r->orig);
			field(&status, "Original-Recipient", tmp.data);
		}
		field(&status, "Action", r->action);
		buf_reset(&tmp);
		qmgr_dsn_clean(r->dsn, strlen(r->dsn), &tmp, 16);
		field(&status, "Status", tmp.data);
		if (in->delayed && in->retry_until > 0) {
			char    until[64];

			rfc5322_date(in->retry_until, until, sizeof(until));
			field(&status, "Will-Retry-Until", until);
		}
		buf_reset(&tmp);
		if (remote_reply(r->reason, &rhost, &rtext)) {
			/* The server's own words, and who said them (RFC 3464). */
			buf_reset(&tmp);
			(void) buf_puts(&tmp, "dns; ");
			qmgr_dsn_clean(rhost.data, rhost.len, &tmp, 255);
			field(&status, "Remote-MTA", tmp.data);
			buf_reset(&tmp);
			(void) buf_puts(&tmp, "smtp; ");
			qmgr_dsn_clean(rtext.data, rtext.len, &tmp, REASON_SHOWN);
		} else {
			buf_reset(&tmp);
			(void) buf_puts(&tmp, is_smtp_reply(r->reason) ? "smtp; " : "x-postern; ");
			qmgr_dsn_clean(r->reason, strlen(r->reason), &tmp, REASON_SHOWN);
		}
		field(&status, "Diagnostic-Code", tmp.data);
	}

	/* Part 3: the original's header section. */
	eight = copy_headers(in, &hdrs);

	/* A boundary that none of the copied text contains (RFC 2046 bchars only). */
	{
		char    bhost[64];
		size_t  o = 0;

		for (const char *p = host.data; *p && o + 1 < sizeof(bhost); p++)
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
			    || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')
				bhost[o++] = *p;
		bhost[o] = '\0';
		for (int k = 0;; k++) {
			if (k == 0)
				(void) str_fmt(boundary, sizeof(boundary), "%.40s.%lld/%s",
					       in->qid, (long long) in->now, bhost);
			else
				(void) str_fmt(boundary, sizeof(boundary), "%.40s.%lld/%s=_%d",
					       in->qid, (long long) in->now, bhost, k);
			if (strstr(human.data, boundary) == NULL
			    && strstr(status.data, boundary) == NULL
			    && strstr(hdrs.data, boundary) == NULL)
				break;
			if (k > 1000) {
				ret = -1;
				goto out;
			}
		}
	}

	/* The header. */
	buf_reset(&tmp);
	(void) buf_appendf(&tmp, "MAILER-DAEMON@%s (Mail Delivery System)", host.data);
	field(out, "From", tmp.data);
	buf_reset(&tmp);
	(void) buf_putc(&tmp, '<');
	qmgr_dsn_clean(in->to, strlen(in->to), &tmp, 1024);
	(void) buf_putc(&tmp, '>');
	field(out, "To", tmp.data);
	field(out, "Subject", in->delayed ? "Delayed Mail (still being retried)"
	      : in->postmaster_copy ? "Postmaster Copy: Undelivered Mail"
	      : "Undelivered Mail Returned to Sender");
	field(out, "Date", date);
	buf_reset(&tmp);
	(void) buf_putc(&tmp, '<');
	qmgr_dsn_clean(in->qid, strlen(in->qid), &tmp, 64);
	(void) buf_appendf(&tmp, ".%lld@%s>", (long long) in->now, host.data);
	field(out, "Message-ID", tmp.data);
	field(out, "Auto-Submitted", "auto-replied");
	field(out, "MIME-Version", "1.0");
	buf_reset(&tmp);
	(void) buf_appendf(&tmp, "multipart/report; report-type=delivery-status; "
			   "boundary=\"%s\"", boundary);
	field(out, "Content-Type", tmp.data);
	if (eight)
		field(out, "Content-Transfer-Encoding", "8bit");
	(void) buf_puts(out, "\nThis is a MIME-encapsulated message.\n\n");

	(void) buf_appendf(out, "--%s\n", boundary);
	field(out, "Content-Description", "Notification");
	field(out, "Content-Type", "text/plain; charset=us-ascii");
	(void) buf_putc(out, '\n');
	(void) buf_append(out, human.data, human.len);
	(void) buf_appendf(out, "\n--%s\n", boundary);
	field(out, "Content-Description", "Delivery report");
	field(out, "Content-Type", "message/delivery-status");
	(void) buf_putc(out, '\n');
	(void) buf_append(out, status.data, status.len);
	(void) buf_appendf(out, "\n--%s\n", boundary);
	field(out, "Content-Description", in->delayed ? "Delayed Message Headers"
	      : "Undelivered Message Headers");
	field(out, "Content-Type", "text/rfc822-headers");
	if (eight)
		field(out, "Content-Transfer-Encoding", "8bit");
	(void) buf_putc(out, '\n');
	(void) buf_append(out, hdrs.data, hdrs.len);
	if (buf_appendf(out, "\n--%s--\n", boundary) < 0)
		ret = -1;

out:
	buf_free(&human);
	buf_free(&status);
	buf_free(&hdrs);
	buf_free(&tmp);
	buf_free(&host);
	buf_free(&rhost);
	buf_free(&rtext);
	return ret;
}

/*
 * Submission through cleanup, without blocking the event loop: the
 * notification goes into an unnamed file and to cleanup over a kept
 * connection of qmgr's pool (lib/svc/cleanup_spool.h), within
 * CLEANUP_TIMEOUT_MS.
 */

struct qmgr_bounce {
	struct qmgr_msg *msg;
	struct cleanup_spool spool;	/* open until cleanup answered */
	struct cleanup_call *call;
	struct cleanup_result res;
	struct ev_timer timer;
};

static struct ev_loop *bloop;
static struct cleanup_pool *pool;
static size_t nbusy;

void
qmgr_bounce_init(struct ev_loop *loop)
{
	bloop = loop;
	pool = cleanup_pool_new(loop, 1, CLEANUP_POOL_IDLE_MS);
}

size_t
qmgr_bounce_busy(void)
{
	return nbusy;
}

/* bounce_free - stop b's timer, close its spool, forget it */
static void
bounce_free(struct qmgr_bounce *b)
{
	ev_timer_stop(bloop, &b->timer);
	cleanup_spool_close(&b->spool);
	b->msg->bounce = NULL;
	free(b);
	nbusy--;
}

static void
bounce_end(struct qmgr_bounce *b, bool ok, const char *queue_id, const char *why)
{
	struct qmgr_msg *m = b->msg;

	bounce_free(b);
	qmgr_msg_bounce_done(m, ok, queue_id, why);
}

/* bounce_done - cleanup answered, or the exchange failed (res says why) */
static void
bounce_done(void *ctx, const struct cleanup_result *res, bool answered)
{
	struct qmgr_bounce *b = ctx;
	char    id[CLEANUP_QID_MAX + 1], why[CLEANUP_REASON_MAX + 1];

	(void) answered;
	b->call = NULL;
	(void) str_copy(id, sizeof(id), res->queue_id);
	(void) str_copy(why, sizeof(why), res->reason);
	if (res->status == CLEANUP_STAT_OK)
		bounce_end(b, true, id, NULL);
	else
		bounce_end(b, false, NULL, why);
}

static void
bounce_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct qmgr_bounce *b = t->data;

	(void) loop;
	if (b->call != NULL)
		cleanup_pool_cancel(b->call);
	b->call = NULL;
	bounce_end(b, false, NULL, "4.3.0 the cleanup service did not answer in time");
}

void
qmgr_bounce_cancel(struct qmgr_msg *m)
{
	struct qmgr_bounce *b = m->bounce;

	if (b == NULL)
		return;
	if (b->call != NULL)
		cleanup_pool_cancel(b->call);
	bounce_free(b);
}

/* headers_of - the original's header section, at most limit bytes */
static char *
headers_of(struct qmgr_msg *m, size_t limit, size_t *len)
{
	size_t  n = m->env.hdr_len < limit ? (size_t) m->env.hdr_len : limit;
	char   *p = xmalloc(n + 1);
	int     fd = qmgr_msg_fd(m);
	ssize_t r = n && fd >= 0 ? pread(fd, p, n, m->env.hdr_off) : 0;

	*len = r > 0 ? (size_t) r : 0;
	p[*len] = '\0';
	return p;
}

/*
 * qmgr_bounce_start - notify about the recipients in QR_FAILED, or with
 * delay set, warn about those in QR_DEFERRED (delay_warning_time).
 * 0: submitted, the result comes through qmgr_msg_bounce_done();
 * 1: nothing to send (no one asked, or a dropped postmaster notice);
 * -1: cannot now (the caller defers the message).
 */
int
qmgr_bounce_start(struct qmgr_msg *m, bool delay)
{
	struct qmgr_dsn_info info;
	struct qmgr_dsn_rcpt *rs;
	struct cleanup_envelope env;
	struct cleanup_rcpt_in rcpt;
	struct qmgr_bounce *b;
	enum qmgr_bounce_kind kind;
	const char *to;
	char    env_sender[512];
	struct buf text;
	size_t  n = 0, hlen;
	char   *hdrs;

	kind = qmgr_bounce_policy(m->env.sender, &to, env_sender, sizeof(env_sender));
	/* Delays are told to senders only, never about a notification. */
	if (delay && kind != QB_SENDER)
		return 1;
	rs = xcalloc(m->env.nrcpts + 1, sizeof(*rs));
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct qmgr_rcpt *r = &m->rcpts[i];
		const char *notify = m->env.rcpts[i].notify;

		if (delay ? r->state != QR_DEFERRED || !qmgr_notify_delay(notify)
		    : r->state != QR_FAILED || !qmgr_notify_failure(notify))
			continue;
		rs[n].address = r->address;
		rs[n].orig = r->orig;
		rs[n].action = delay ? "delayed" : "failed";
		rs[n].dsn = r->dsn;
		rs[n].reason = r->reason ? r->reason : "";
		n++;
	}
	if (n == 0) {
		free(rs);
		return 1;
	}
	if (kind == QB_DISCARD) {
		log_info("%s: undeliverable postmaster notification discarded", m->qid);
		free(rs);
		return 1;
	}

	hdrs = headers_of(m, (size_t) cfg->bounce_size_limit, &hlen);
	memset(&info, 0, sizeof(info));
	info.qid = m->qid;
	info.hostname = cfg->myhostname;
	info.sender = m->env.sender;
	info.to = to;
	info.postmaster_copy = kind == QB_POSTMASTER;
	info.arrival = m->env.arrival.tv_sec;
	info.now = time(NULL);
	info.headers = hdrs;
	info.headers_len = hlen;
	info.size_limit = (size_t) cfg->bounce_size_limit;
	info.rcpts = rs;
	info.nrcpts = n;
	info.delayed = delay;
	info.retry_until = m->env.arrival.tv_sec + (time_t) cfg->maximal_queue_lifetime;
	buf_init(&text, 16 * 1024 * 1024);
	if (qmgr_dsn_compose(&info, &text) < 0) {
		log_warn("%s: cannot compose a delivery status notification (too big)",
			 m->qid);
		buf_free(&text);
		free(hdrs);
		free(rs);
		return -1;
	}
	free(hdrs);
	free(rs);

	b = xcalloc(1, sizeof(*b));
	b->msg = m;
	/* Small and whole in memory: a memory file when the kernel has them. */
	if (cleanup_spool_open(&b->spool, cfg->smtpd_spool_directory, true) < 0
	    || cleanup_spool_write(&b->spool, text.data, text.len) < 0) {
		log_warn("%s: cannot write a delivery status notification in %s: %m",
			 m->qid, cfg->smtpd_spool_directory);
		cleanup_spool_close(&b->spool);
		free(b);
		buf_free(&text);
		return -1;
	}
	buf_free(&text);

	memset(&env, 0, sizeof(env));
	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.addr = to;
	env.flags = CLEANUP_F_BOUNCE;
	env.protocol = "local";
	env.uid = -1;
	env.sender = env_sender;
	env.rcpts = &rcpt;
	env.nrcpts = 1;

	b->call = cleanup_spool_submit_pool(pool, &b->spool, &env, bounce_done, b, &b->res);
	if (b->call == NULL) {
		log_warn("%s: cannot submit a delivery status notification: %s",
			 m->qid, b->res.reason);
		cleanup_spool_close(&b->spool);
		free(b);
		return -1;
	}
	m->bounce = b;
	nbusy++;
	ev_timer_init(&b->timer, bounce_timeout, b);
	ev_timer_start(bloop, &b->timer, CLEANUP_TIMEOUT_MS);
	return 0;
}
