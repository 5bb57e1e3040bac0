/*
 * NAME
 *	cleanup_checks - header_checks, mime_header_checks,
 *	nested_header_checks, body_checks
 * SYNOPSIS
 *	#include "cleanup.h"
 *
 *	cleanup_checks_init();		// pre-jail: the tables, read now
 *	struct cleanup_checks cc;
 *	cleanup_checks_begin(&cc, qid, req);
 *	r = cleanup_check_header(&cc, hdr, n, &before, &instead);
 *	r = cleanup_check_body(&cc, line, n);
 *	cleanup_checks_end(&cc);
 * DESCRIPTION
 *	Postfix's content checks (header_checks(5), body_checks(5)): each
 *	logical header (with its continuation lines, line ends kept as
 *	"\n") and each line of text (without its line end) is looked up
 *	in one list of tables, chosen as Postfix chooses it:
 *
 *	  header_checks		the top-level headers (cleanup_hdr.c), but
 *	  mime_header_checks	MIME-Version: and Content-*: headers at any
 *				level, and every header of a multipart's
 *				parts (cleanup_mime.c finds them)
 *	  nested_header_checks	the other headers of attached messages
 *				(message/rfc822, at any depth)
 *	  body_checks		every other line of the body: the text of
 *				the parts and the boundary lines, within
 *				the first body_checks_size_limit bytes of
 *				the body
 *
 *	The tables are normally regexp: or pcre:; they are opened by
 *	cleanup before its chroot and read once (postern reload takes a
 *	changed file).  The first table of the list that matches answers,
 *	and its result is an action:
 *
 *	  REJECT [text]		the message is refused: "5.7.1 text" (or
 *				"5.7.1 Message content rejected"); smtpd
 *				answers the client 550 with it, a local
 *				submission bounces (pickup)
 *	  DISCARD [text]	accepted and thrown away
 *	  HOLD [text]		queued on hold (postsuper -H releases it)
 *	  FILTER transport:nexthop	an attribute for qmgr's routing
 *	  REDIRECT user@domain	every recipient replaced by that one
 *	  WARN [text], INFO [text]	logged only
 *	  IGNORE		the header (or body line) is left out
 *	  REPLACE text		the header (or body line) becomes text
 *	  PREPEND text		text goes in before it
 *	  DUNNO, OK		nothing
 *
 *	IGNORE, REPLACE and PREPEND change what is stored: the top-level
 *	header section (cleanup_hdr.c), or the body (cleanup_scan.c makes
 *	an edited copy).  The first REJECT or DISCARD ends the checks of
 *	the message.  Each action is logged as Postfix does: "QUEUEID:
 *	reject: header Subject: buy now from NAME[ADDR]; from=<s> to=<r>
 *	proto=ESMTP helo=<h>: 5.7.1 text" ("header" for headers of any
 *	level, "body" for body lines; "warning" for WARN, "hold",
 *	"discard", "filter", "redirect", "replace", "prepend", "info"),
 *	the content cut to 200 bytes.
 *
 *	A table that fails (a pcre: pattern past its match limit, a table
 *	that cannot be read) makes the message a temporary failure
 *	("4.3.0 Error: content check failed"): the client retries later,
 *	the administrator reads the log line naming the table and the
 *	pattern, and a pattern cannot be made to look like "no match" by
 *	whoever writes the message.
 *
 *	cleanup_checks_begin() also starts the message's MIME state
 *	(cc->mime): the top-level Content-Type: passes through
 *	cleanup_check_header() on its way.  With any header check
 *	configured, MIME nesting deeper than mime_nesting_limit refuses
 *	the message (5.6.0, cleanup_scan.c), so that nesting cannot hide a
 *	header from the checks.
 * CONFIGURATION PARAMETERS
 *	header_checks, mime_header_checks, nested_header_checks,
 *	body_checks, body_checks_size_limit, mime_nesting_limit,
 *	mime_boundary_length_limit, header_size_limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "dsn.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "str.h"
#include "table.h"

static struct table_list *header_tables;
static struct table_list *mime_tables;
static struct table_list *nested_tables;
static struct table_list *body_tables;

static struct table_list *
open_list(const char *param, const char *value)
{
	char    err[TABLE_ERROR_MAX];
	struct table_list *l;

	if (value[0] == '\0')
		return NULL;
	if ((l = table_list_open(value, 0, err, sizeof(err))) == NULL)
		log_fatal("%s: %s", param, err);
	return l;
}

void
cleanup_checks_init(void)
{
	cleanup_checks_free();
	header_tables = open_list("header_checks", cfg->header_checks);
	mime_tables = open_list("mime_header_checks", cfg->mime_header_checks);
	nested_tables = open_list("nested_header_checks", cfg->nested_header_checks);
	body_tables = open_list("body_checks", cfg->body_checks);
}

void
cleanup_checks_free(void)
{
	table_list_close(header_tables);
	table_list_close(mime_tables);
	table_list_close(nested_tables);
	table_list_close(body_tables);
	header_tables = mime_tables = nested_tables = body_tables = NULL;
}

bool
cleanup_checks_body_wanted(void)
{
	return body_tables != NULL || cleanup_checks_part_wanted();
}

bool
cleanup_checks_part_wanted(void)
{
	return mime_tables != NULL || nested_tables != NULL;
}

void
cleanup_checks_begin(struct cleanup_checks *cc, const char *qid,
		     const struct cleanup_req *req)
{
	memset(cc, 0, sizeof(*cc));
	cc->qid = qid;
	cc->req = req;
	cc->body_left = body_tables != NULL ? (uint64_t) cfg->body_checks_size_limit : 0;
	cleanup_mime_init(&cc->mime, (size_t) cfg->mime_nesting_limit,
			  (size_t) cfg->mime_boundary_length_limit,
			  (size_t) cfg->header_size_limit,
			  header_tables != NULL || mime_tables != NULL
			  || nested_tables != NULL);
}

void
cleanup_checks_end(struct cleanup_checks *cc)
{
	free(cc->filter);
	free(cc->redirect);
	cc->filter = cc->redirect = NULL;
	cleanup_mime_free(&cc->mime);
}

/* client - "NAME[ADDR]", or "local" */
static void
client(const struct cleanup_req *r, char *from, size_t size)
{
	if (r->client_name != NULL)
		(void) str_fmt(from, size, "%s[%s]", r->client_name,
			       r->client_addr ? r->client_addr : "unknown");
	else
		(void) str_copy(from, size, "local");
}

/* log_action - Postfix's line: "QID: what: class content from ...: text" */
static void
log_action(const struct cleanup_checks *cc, const char *what, const char *class,
	   const char *content, size_t n, const char *text)
{
	const struct cleanup_req *r = cc->req;
	char    from[CLEANUP_HOST_MAX + 80];

	client(r, from, sizeof(from));
	log_info("%s: %s: %s %.*s from %s; from=<%s> to=<%s> proto=%s helo=<%s>%s%s",
		 cc->qid, what, class, (int) (n > 200 ? 200 : n), content, from,
		 r->sender ? r->sender : "", r->nrcpts > 0 ? r->rcpts[0].addr : "",
		 r->protocol ? r->protocol : "local", r->helo ? r->helo : "",
		 text && *text ? ": " : "", text ? text : "");
}

/* act - one table result for content[0..n): CLEANUP_CHECK_* */
static int
act(struct cleanup_checks *cc, const char *class, const char *content, size_t n,
    const char *value, struct buf *before, struct buf *instead)
{
	size_t  wl = strcspn(value, " \t");
	const char *text = value + wl;

	while (*text == ' ' || *text == '\t')
		text++;
#define IS(w) (strlen(w) == wl && str_ncasecmp(value, (w), wl) == 0)
	if (IS("DUNNO") || IS("OK"))
		return CLEANUP_CHECK_KEEP;
	if (IS("REJECT")) {
		char    reason[CLEANUP_REASON_MAX - 16];

		if (dsn_scan(text, strlen(text)) > 0 && text[0] == '5')
			(void) str_copy(reason, sizeof(reason), text);
		else
			(void) str_fmt(reason, sizeof(reason), "5.7.1 %s",
				       *text ? text : "Message content rejected");
		for (char *p = reason; *p; p++)
			if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
				*p = '?';
		log_action(cc, "reject", class, content, n, reason);
		(void) str_copy(cc->reject, sizeof(cc->reject), reason);
		cc->done = true;
		return CLEANUP_CHECK_KEEP;
	}
	if (IS("DISCARD")) {
		log_action(cc, "discard", class, content, n, text);
		cc->discard = true;
		cc->done = true;
		return CLEANUP_CHECK_KEEP;
	}
	if (IS("HOLD")) {
		log_action(cc, "hold", class, content, n, text);
		cc->hold = true;
		return CLEANUP_CHECK_KEEP;
	}
	if (IS("WARN") || IS("INFO")) {
		log_action(cc, IS("WARN") ? "warning" : "info", class, content, n, text);
		return CLEANUP_CHECK_KEEP;
	}
	if (IS("FILTER") || IS("REDIRECT")) {
		bool    filter = IS("FILTER");

		if (!*text || strchr(text, filter ? ':' : '@') == NULL || strpbrk(text, " \t")) {
			log_warn("%s: %s map entry \"%.100s\": %s needs %s", cc->qid, class,
				 value, filter ? "FILTER" : "REDIRECT",
				 filter ? "transport:nexthop" : "user@domain");
			return CLEANUP_CHECK_KEEP;
		}
		log_action(cc, filter ? "filter" : "redirect", class, content, n, text);
		free(filter ? cc->filter : cc->redirect);
		if (filter)
			cc->filter = xstrdup(text);
		else
			cc->redirect = xstrdup(text);
		return CLEANUP_CHECK_KEEP;
	}
	if (IS("IGNORE"))
		return CLEANUP_CHECK_DROP;
	if (IS("REPLACE") || IS("PREPEND")) {
		bool    prepend = IS("PREPEND");

		if (!*text) {
			log_warn("%s: %s map entry \"%.100s\" has no text", cc->qid,
				 class, value);
			return CLEANUP_CHECK_KEEP;
		}
		log_action(cc, prepend ? "prepend" : "replace", class, content, n, text);
		if (prepend) {
			(void) buf_appendf(before, "%s\n", text);
			return CLEANUP_CHECK_KEEP;
		}
		(void) buf_set(instead, text, strlen(text));
		return CLEANUP_CHECK_REPLACE;
	}
#undef IS
	log_warn("%s: %s map entry \"%.100s\": unknown action (ignored)", cc->qid,
		 class, value);
	return CLEANUP_CHECK_KEEP;
}

/* check - look content up in l and act on the result */
static int
check(struct cleanup_checks *cc, struct table_list *l, const char *class,
      const char *content, size_t n, struct buf *before, struct buf *instead)
{
	struct buf v;
	char   *key;
	int     r;

	if (l == NULL || cc->done || cc->failed)
		return CLEANUP_CHECK_KEEP;
	key = xmemdup(content, n);
	buf_init(&v, TABLE_VALUE_MAX);
	r = table_list_get(l, key, &v, NULL);
	if (r < 0) {
		log_warn("%s: %s check failed: %s; the message is deferred", cc->qid,
			 class, l->error);
		cc->failed = true;
		r = CLEANUP_CHECK_KEEP;
	} else if (r > 0)
		r = act(cc, class, content, n, buf_str(&v), before, instead);
	else
		r = CLEANUP_CHECK_KEEP;
	buf_free(&v);
	free(key);
	return r;
}

int
cleanup_check_header(struct cleanup_checks *cc, int hclass, const char *h,
		     size_t n, struct buf *before, struct buf *instead)
{
	struct table_list *l;

	if (hclass == CLEANUP_MIME_PRIMARY)
		cleanup_mime_header(&cc->mime, h, n);
	if (hclass == CLEANUP_MIME_NESTED)
		l = nested_tables;
	else if (hclass == CLEANUP_MIME_PART || cleanup_mime_is_mime_header(h, n))
		l = mime_tables;
	else
		l = header_tables;
	return check(cc, l, "header", h, n, before, instead);
}

void
cleanup_check_mime_error(struct cleanup_checks *cc, const char *what,
			 const char *text)
{
	const struct cleanup_req *r = cc->req;
	char    from[CLEANUP_HOST_MAX + 80];

	if (cc->done || cc->failed)
		return;
	client(r, from, sizeof(from));
	log_info("%s: reject: mime-error %s: %.100s from %s; from=<%s> to=<%s>",
		 cc->qid, what, text, from, r->sender ? r->sender : "",
		 r->nrcpts > 0 ? r->rcpts[0].addr : "unknown");
	(void) str_fmt(cc->reject, sizeof(cc->reject), "5.6.0 %s", what);
	cc->done = true;
}

int
cleanup_check_body(struct cleanup_checks *cc, const char *line, size_t n,
		   struct buf *before, struct buf *instead)
{
	if (body_tables == NULL || cc->body_left == 0)
		return CLEANUP_CHECK_KEEP;
	cc->body_left = n + 1 >= cc->body_left ? 0 : cc->body_left - n - 1;
	return check(cc, body_tables, "body", line, n, before, instead);
}
