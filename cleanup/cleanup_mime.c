/*
 * NAME
 *	cleanup_mime - the MIME structure of a message body
 * SYNOPSIS
 *	#include "cleanup.h"
 *
 *	struct cleanup_mime m;
 *	cleanup_mime_init(&m, nesting_limit, boundary_limit, header_limit,
 *			  report_nesting);
 *	cleanup_mime_header(&m, hdr, n);	// each top-level header
 *	cleanup_mime_body_start(&m, blank);	// the top-level headers end
 *	cleanup_mime_line(&m, &frag, emit, ctx);	// each body fragment
 *	cleanup_mime_eof(&m, emit, ctx);
 *	cleanup_mime_free(&m);
 * DESCRIPTION
 *	A state machine over the lines of a body that tells the headers
 *	inside it from its text, as Postfix's MIME processor does, so
 *	that mime_header_checks and nested_header_checks see the headers
 *	of every part and of every attached message, and body_checks
 *	sees only text:
 *
 *	  - a Content-Type: multipart/... header with a boundary=
 *	    parameter (quoted or not; several are all taken) pushes the
 *	    boundary; in the text that follows, a line "--boundary"
 *	    starts the headers of a part, "--boundary--" ends the
 *	    multipart; a boundary of an outer multipart ends the inner
 *	    ones.  Only the first boundary_limit bytes of a boundary are
 *	    kept and compared; anything after the boundary on its line is
 *	    ignored (MUAs put white space there);
 *	  - the parts of multipart/digest are message/rfc822 unless their
 *	    headers say otherwise; those of any other multipart are text;
 *	  - the headers of a part are followed, after their empty line, by
 *	    the text of the part or, for message/rfc822, by the headers of
 *	    the attached message, and so on down;
 *	  - a line that is neither a header nor a continuation ends a
 *	    header block too (it is text, as is the empty line).
 *
 *	emit() receives, in the order of the input, each header of a part
 *	or attached message once it is complete (struct cleanup_mime_ev
 *	kind CLEANUP_MIME_HEADER: the logical header, continuation lines
 *	joined by "\n", CR line ends removed, at most header_limit bytes
 *	of it; start and end: the bytes of the body it came from, line
 *	ends included) and every other fragment of the input as it was
 *	given (CLEANUP_MIME_TEXT).  A header is CLEANUP_MIME_PART when it
 *	is a MIME header (cleanup_mime_is_mime_header(): MIME-Version:,
 *	Content-*:) at any level or any header of a multipart's part, and
 *	CLEANUP_MIME_NESTED for the other headers of an attached message:
 *	Postfix applies mime_header_checks to the first, and
 *	nested_header_checks to the second.
 * LIMITS
 *	No more than nesting_limit multiparts inside one another: a
 *	deeper one is not entered (its parts are text) and, with
 *	report_nesting, m->nesting_error is set and m->nesting_text holds
 *	the header that went too deep (Postfix then refuses the message
 *	when header checks are configured, so that nesting cannot hide a
 *	header from them).  One header: header_limit bytes (the rest is
 *	dropped from what emit() sees; start..end still cover it all).
 *	Memory: the boundaries (nesting_limit x boundary_limit bytes at
 *	most) and one header.
 */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "str.h"

enum { ST_BODY, ST_PART, ST_NESTED };		/* m->state */
enum { CT_TEXT, CT_RFC822, CT_MULTIPART, CT_OTHER };	/* m->ctype */

struct cleanup_mime_bound {
	char   *text;
	size_t	len;
	bool	digest;			/* parts default to message/rfc822 */
};

bool
cleanup_mime_is_mime_header(const char *h, size_t n)
{
	return (n >= 8 && str_ncasecmp(h, "Content-", 8) == 0)
	    || (n >= 13 && str_ncasecmp(h, "MIME-Version:", 13) == 0);
}

void
cleanup_mime_init(struct cleanup_mime *m, size_t nesting_limit,
		  size_t boundary_limit, size_t header_limit, bool report_nesting)
{
	memset(m, 0, sizeof(*m));
	m->nesting_limit = nesting_limit;
	m->boundary_limit = boundary_limit > 0 ? boundary_limit : 1;
	m->header_limit = header_limit;
	m->report_nesting = report_nesting;
	m->state = ST_BODY;
	m->ctype = CT_TEXT;
	buf_init(&m->hdr, header_limit);
}

static void
pop(struct cleanup_mime *m)
{
	free(m->stack[--m->depth].text);
}

void
cleanup_mime_free(struct cleanup_mime *m)
{
	while (m->depth > 0)
		pop(m);
	free(m->stack);
	m->stack = NULL;
	m->cap = 0;
	buf_free(&m->hdr);
}

/*
 * Content-Type syntax (RFC 2045 section 5.1): type "/" subtype, then
 * ";" attribute "=" value, where a value is a token or a quoted
 * string, with comments and folding white space anywhere between.
 */
struct lex {
	const char *p, *end;
};

#define TSPECIALS	"()<>@,;:\\\"/[]?="

/* skip_cfws - white space, line ends and (nested (comments)) */
static void
skip_cfws(struct lex *x)
{
	int     depth = 0;

	while (x->p < x->end) {
		char    c = *x->p;

		if (depth > 0 && c == '\\' && x->p + 1 < x->end) {
			x->p += 2;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return;
		x->p++;
	}
}

/* token - a run of non-special characters; its length (0: none) */
static size_t
token(struct lex *x, const char **start)
{
	skip_cfws(x);
	*start = x->p;
	while (x->p < x->end && (unsigned char) *x->p > ' ' && *x->p != 0x7f
	       && strchr(TSPECIALS, *x->p) == NULL)
		x->p++;
	return (size_t) (x->p - *start);
}

/* special - the next character is c; consumed */
static bool
special(struct lex *x, char c)
{
	skip_cfws(x);
	if (x->p < x->end && *x->p == c) {
		x->p++;
		return true;
	}
	return false;
}

/* value - a token or quoted string into out (unescaped, cut at max) */
static void
value(struct lex *x, struct buf *out)
{
	const char *s;
	size_t  n;

	buf_reset(out);
	skip_cfws(x);
	if (x->p < x->end && *x->p == '"') {
		for (x->p++; x->p < x->end && *x->p != '"'; x->p++) {
			if (*x->p == '\\' && x->p + 1 < x->end)
				x->p++;
			if (*x->p != '\r' && *x->p != '\n')
				(void) buf_putc(out, *x->p);
		}
		if (x->p < x->end)
			x->p++;
		return;
	}
	n = token(x, &s);
	(void) buf_append(out, s, n > out->max ? out->max : n);
}

/* push - a multipart's boundary, or the nesting error */
static void
push(struct cleanup_mime *m, const struct buf *b, bool digest, const char *h,
     size_t n)
{
	struct cleanup_mime_bound *sb;

	if (m->depth >= m->nesting_limit) {
		if (m->report_nesting && !m->nesting_error) {
			m->nesting_error = true;
			(void) str_fmt(m->nesting_text, sizeof(m->nesting_text), "%.*s",
				       (int) (n > 100 ? 100 : n), h);
		}
		return;
	}
	if (m->depth == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 4;
		m->stack = xreallocarray(m->stack, m->cap, sizeof(*m->stack));
	}
	sb = &m->stack[m->depth++];
	sb->len = b->len;
	sb->text = xmemdup(b->data, b->len);
	sb->digest = digest;
}

/* content_type - what a Content-Type: header (value v) says */
static void
content_type(struct cleanup_mime *m, const char *v, size_t vn, const char *h,
	     size_t n)
{
	struct lex x = {.p = v, .end = v + vn};
	const char *t, *s;
	size_t  tn, sn;
	bool    digest;
	struct buf b;

	if ((tn = token(&x, &t)) == 0)
		return;
	sn = special(&x, '/') ? token(&x, &s) : 0;
	if (tn == 7 && str_ncasecmp(t, "message", 7) == 0) {
		m->ctype = sn == 6 && str_ncasecmp(s, "rfc822", 6) == 0 ? CT_RFC822
		    : CT_OTHER;
		return;
	}
	if (tn == 4 && str_ncasecmp(t, "text", 4) == 0) {
		m->ctype = CT_TEXT;
		return;
	}
	if (tn != 9 || str_ncasecmp(t, "multipart", 9) != 0) {
		m->ctype = CT_OTHER;
		return;
	}
	m->ctype = CT_MULTIPART;
	digest = sn == 6 && str_ncasecmp(s, "digest", 6) == 0;
	buf_init(&b, m->boundary_limit);
	while (x.p < x.end) {
		const char *a;
		size_t  an;

		if (!special(&x, ';')) {
			/* Junk: move on to the next parameter. */
			while (x.p < x.end && *x.p != ';')
				x.p++;
			continue;
		}
		an = token(&x, &a);
		if (!special(&x, '='))
			continue;
		value(&x, &b);
		/* Each boundary= is taken: a second one must not hide parts. */
		if (an == 8 && str_ncasecmp(a, "boundary", 8) == 0 && b.len > 0)
			push(m, &b, digest, h, n);
	}
	buf_free(&b);
}

void
cleanup_mime_header(struct cleanup_mime *m, const char *h, size_t n)
{
	const char *colon = memchr(h, ':', n);
	size_t  k;

	if (colon == NULL)
		return;
	/* "Content-Type :" is the obsolete syntax of the same header. */
	for (k = (size_t) (colon - h); k > 0 && (h[k - 1] == ' ' || h[k - 1] == '\t');)
		k--;
	if (k == 12 && str_ncasecmp(h, "Content-Type", 12) == 0)
		content_type(m, colon + 1, (size_t) (h + n - colon - 1), h, n);
}

void
cleanup_mime_body_start(struct cleanup_mime *m, bool blank)
{
	/* An attached message follows only a proper empty line. */
	m->state = blank && m->ctype == CT_RFC822 ? ST_NESTED : ST_BODY;
	if (m->state == ST_NESTED)
		m->ctype = CT_TEXT;
}

/* flush - the complete header to emit() */
static void
flush(struct cleanup_mime *m, cleanup_mime_emit emit, void *ctx)
{
	struct cleanup_mime_ev ev = {0};

	if (!m->in_hdr)
		return;
	m->in_hdr = false;
	cleanup_mime_header(m, m->hdr.data, m->hdr.len);
	ev.kind = CLEANUP_MIME_HEADER;
	ev.hclass = m->state == ST_NESTED
	    && !cleanup_mime_is_mime_header(m->hdr.data, m->hdr.len)
	    ? CLEANUP_MIME_NESTED : CLEANUP_MIME_PART;
	ev.text = m->hdr.data;
	ev.n = m->hdr.len;
	ev.start = m->hdr_start;
	ev.end = m->hdr_end;
	emit(ctx, &ev);
	buf_reset(&m->hdr);
}

/* add - more of the header being read, within header_limit */
static void
add(struct cleanup_mime *m, const char *p, size_t n)
{
	size_t  room = buf_room(&m->hdr);

	(void) buf_append(&m->hdr, p, n < room ? n : room);
}

/* boundary - a "--boundary" line: the state after it */
static void
boundary(struct cleanup_mime *m, const char *p, size_t n)
{
	if (m->depth == 0 || n < 3 || p[0] != '-' || p[1] != '-')
		return;
	for (size_t i = m->depth; i-- > 0;) {
		const struct cleanup_mime_bound *b = &m->stack[i];

		if (n < 2 + b->len || memcmp(p + 2, b->text, b->len) != 0)
			continue;
		while (m->depth > i + 1)
			pop(m);
		if (n >= 4 + b->len && p[2 + b->len] == '-' && p[3 + b->len] == '-') {
			pop(m);
			m->state = ST_BODY;
			m->ctype = CT_OTHER;
		} else {
			m->state = ST_PART;
			m->ctype = b->digest ? CT_RFC822 : CT_TEXT;
		}
		return;
	}
}

void
cleanup_mime_line(struct cleanup_mime *m, const struct cleanup_mime_frag *f,
		  cleanup_mime_emit emit, void *ctx)
{
	struct cleanup_mime_ev ev = {0};
	size_t  n = f->n;

	if (f->eol && n > 0 && f->p[n - 1] == '\r')
		n--;
	if (m->state != ST_BODY) {
		if (!f->start) {
			/* The rest of a long line: of a header, or text. */
			if (m->in_hdr) {
				add(m, f->p, n);
				m->hdr_end = f->next;
				return;
			}
		} else if (m->in_hdr && n > 0 && (f->p[0] == ' ' || f->p[0] == '\t')) {
			add(m, "\n", 1);
			add(m, f->p, n);
			m->hdr_end = f->next;
			return;
		} else {
			flush(m, emit, ctx);
			if (cleanup_hdr_start(f->p, n)) {
				m->in_hdr = true;
				m->hdr_start = f->pos;
				m->hdr_end = f->next;
				add(m, f->p, n);
				return;
			}
			/* The header block ends here. */
			if (n == 0 && f->eol && m->ctype == CT_RFC822) {
				m->state = ST_NESTED;
				m->ctype = CT_TEXT;
			} else {
				m->state = ST_BODY;
			}
		}
	}
	if (f->start)
		boundary(m, f->p, n);
	ev.kind = CLEANUP_MIME_TEXT;
	ev.text = f->p;
	ev.n = f->n;
	ev.start = f->pos;
	ev.end = f->next;
	ev.line_start = f->start;
	ev.eol = f->eol;
	emit(ctx, &ev);
}

void
cleanup_mime_eof(struct cleanup_mime *m, cleanup_mime_emit emit, void *ctx)
{
	flush(m, emit, ctx);
}
