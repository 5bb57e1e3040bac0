/*
 * NAME
 *	cleanup_scan - the content checks of a message body
 * SYNOPSIS
 *	#include "cleanup.h"
 *
 *	cleanup_edit_init(&ed, fd, body_off, end, max, tmpdir_fd);
 *	r = cleanup_scan_body(&cc, fd, body_off, end, blank, &ed);
 * DESCRIPTION
 *	cleanup_scan_body() reads the body at body_off..end of fd once,
 *	line by line, through the message's MIME state (cc->mime, which
 *	saw the top-level headers; blank: they ended with an empty line),
 *	and hands each header of a part or attached message to
 *	mime_header_checks or nested_header_checks and each other line,
 *	within body_checks_size_limit, to body_checks (cleanup_checks.c).
 *	The edits their actions ask for go into ed (cleanup_body.c):
 *
 *	  IGNORE	the header (all its lines) or body line is left out
 *	  REPLACE text	it becomes the line "text"
 *	  PREPEND text	the line "text" goes in before it
 *
 *	A line longer than the read buffer (64 KiB) is checked by its
 *	first 64 KiB, and an IGNORE or REPLACE takes all of it.  With
 *	disable_mime_input_processing, every line of the body is text.
 *
 *	The walk stops at the first REJECT or DISCARD, when a table fails
 *	(cc->failed), when an edit fails (ed->error), and when nothing is
 *	left to check (no header checks for the parts, and
 *	body_checks_size_limit reached).  MIME nesting past
 *	mime_nesting_limit, with header checks configured, is a REJECT
 *	with 5.6.0, logged "QID: reject: mime-error MIME nesting exceeds
 *	safety limit: HEADER from ...", as Postfix does.
 *
 *	Returns 0, or -1 with errno when the content cannot be read (EIO:
 *	the client's file is shorter than announced).
 */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "params.h"
#include "table.h"

struct scan {
	struct cleanup_checks *cc;
	struct cleanup_edit *ed;
	bool	drop_rest;		/* IGNORE or REPLACE of a long line: */
	uint64_t drop_from;		/* its start */
	struct buf instead;		/* its replacement, without LF */
	bool	replace;
};

/* apply - the result of one check of input bytes start..end */
static void
apply(struct scan *sc, int r, uint64_t start, uint64_t end, bool eol,
      const struct buf *before, const struct buf *instead)
{
	struct cleanup_edit *ed = sc->ed;

	if (before->len > 0)
		(void) cleanup_edit_put(ed, start, start, before->data, before->len);
	if (r == CLEANUP_CHECK_KEEP)
		return;
	if (!eol) {
		/* The rest of a long line comes later: take it too. */
		sc->drop_rest = true;
		sc->drop_from = start;
		sc->replace = r == CLEANUP_CHECK_REPLACE;
		(void) buf_set(&sc->instead, instead->data, instead->len);
		return;
	}
	if (r == CLEANUP_CHECK_DROP) {
		(void) cleanup_edit_put(ed, start, end, "", 0);
	} else {
		struct buf line;

		buf_init(&line, instead->len + 1);
		(void) buf_append(&line, instead->data, instead->len);
		(void) buf_putc(&line, '\n');
		(void) cleanup_edit_put(ed, start, end, line.data, line.len);
		buf_free(&line);
	}
}

/* event - one header or text fragment from the MIME state */
static void
event(void *ctx, const struct cleanup_mime_ev *ev)
{
	struct scan *sc = ctx;
	struct cleanup_checks *cc = sc->cc;
	struct buf before, instead;
	size_t  n = ev->n;
	int     r;

	if (ev->kind == CLEANUP_MIME_TEXT && !ev->line_start) {
		if (sc->drop_rest && ev->eol) {
			sc->drop_rest = false;
			apply(sc, sc->replace ? CLEANUP_CHECK_REPLACE : CLEANUP_CHECK_DROP,
			      sc->drop_from, ev->end, true, &(struct buf) {.len = 0},
			      &sc->instead);
		}
		return;
	}
	if (cc->done || cc->failed || sc->ed->error)
		return;
	buf_init(&before, TABLE_VALUE_MAX + 1);
	buf_init(&instead, TABLE_VALUE_MAX);
	if (ev->kind == CLEANUP_MIME_HEADER) {
		r = cleanup_check_header(cc, ev->hclass, ev->text, n, &before, &instead);
		apply(sc, r, ev->start, ev->end, true, &before, &instead);
	} else if (cc->body_left > 0) {
		if (ev->eol && n > 0 && ev->text[n - 1] == '\r')
			n--;
		r = cleanup_check_body(cc, ev->text, n, &before, &instead);
		apply(sc, r, ev->start, ev->end, ev->eol, &before, &instead);
	}
	buf_free(&before);
	buf_free(&instead);
}

int
cleanup_scan_body(struct cleanup_checks *cc, int fd, uint64_t body_off,
		  uint64_t end, bool blank, struct cleanup_edit *ed)
{
	struct scan sc = {.cc = cc, .ed = ed};
	struct cleanup_src b;
	struct cleanup_mime_frag f;
	bool    mime = !cfg->disable_mime_input_processing;
	bool    headers = mime && cleanup_checks_part_wanted();
	int     r = 0;

	if (!cleanup_checks_body_wanted())
		return 0;
	buf_init(&sc.instead, TABLE_VALUE_MAX);
	cleanup_mime_body_start(&cc->mime, blank);
	cleanup_src_init(&b, fd, body_off, end - body_off, CLEANUP_READ_BUF);
	while (!cc->done && !cc->failed && !ed->error
	       && (headers || cc->body_left > 0 || sc.drop_rest)
	       && (r = cleanup_src_line(&b, &f.p, &f.n, &f.start, &f.eol)) == 1) {
		f.pos = b.frag_pos;
		f.next = cleanup_src_tell(&b);
		if (mime) {
			cleanup_mime_line(&cc->mime, &f, event, &sc);
		} else {
			struct cleanup_mime_ev ev = {
				.kind = CLEANUP_MIME_TEXT, .text = f.p, .n = f.n,
				.start = f.pos, .end = f.next, .line_start = f.start,
				.eol = f.eol,
			};

			event(&sc, &ev);
		}
		if (cc->mime.nesting_error)
			cleanup_check_mime_error(cc, "MIME nesting exceeds safety limit",
						 cc->mime.nesting_text);
	}
	if (r >= 0 && mime && !cc->done && !cc->failed)
		cleanup_mime_eof(&cc->mime, event, &sc);
	cleanup_src_free(&b);
	buf_free(&sc.instead);
	return r < 0 ? -1 : 0;
}
