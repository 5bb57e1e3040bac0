/*
 * NAME
 *	smtp_mime - 8-bit MIME content to quoted-printable, for a server
 *	without 8BITMIME
 * SYNOPSIS
 *	#include "smtp.h"
 *
 *	struct smtp_mime m;
 *	smtp_mime_init(&m);
 *	smtp_mime_feed(&m, p, n, &enc, out);	// header, "\n", body, in pieces
 *	smtp_mime_end(&m, &enc, out);
 *	smtp_mime_free(&m);
 * DESCRIPTION
 *	Sits in front of the wire encoder (smtp_content.c) and rewrites
 *	the message as it streams, as Postfix's smtp does for a server
 *	that does not announce 8BITMIME (RFC 6152 section 3):
 *
 *	  - A message without MIME-Version is not MIME: it passes
 *	    unchanged (there is no encoding to declare), as in Postfix.
 *	  - Each entity's header is read whole (at most SMTP_MIME_HDR_MAX
 *	    bytes; beyond that the entity passes unchanged).
 *	  - multipart: the parts between its boundary lines are
 *	    entities of their own (at most SMTP_MIME_DEPTH deep; deeper
 *	    parts pass unchanged); message/rfc822 and message/global:
 *	    the body is an entity (a message); its own
 *	    Content-Transfer-Encoding, when 8bit or binary, becomes 7bit.
 *	  - Any other entity (a leaf) whose Content-Transfer-Encoding is
 *	    none, 7bit, 8bit or binary is encoded as quoted-printable
 *	    (RFC 2045 section 6.7: lines of at most 76 characters with
 *	    soft breaks, '=' and bytes outside 33..126 as =XX, a space or
 *	    TAB at the end of a line encoded), and its header says so;
 *	    base64 and quoted-printable leaves pass unchanged.
 *
 *	Input may be cut anywhere.  Lines longer than SMTP_MIME_LINE are
 *	handled in pieces (a boundary line is far shorter).
 * BUGS
 *	8-bit text in a part's header (not the message's: smtp_proto.c
 *	does not send that to a 7-bit server) passes unchanged; RFC 2047
 *	encoding is not attempted.
 */
#include <string.h>

#include "log.h"
#include "mem.h"
#include "smtp.h"
#include "str.h"

enum { M_HEADER, M_BODY };

static void
emit(struct smtp_mime *m, const char *p, size_t n)
{
	smtp_enc_feed(m->enc, p, n, m->out);
}

void
smtp_mime_init(struct smtp_mime *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->hdr, SMTP_MIME_HDR_MAX);
	buf_init(&m->line, SMTP_MIME_LINE + 1);
	m->state = M_HEADER;
	m->top = true;
	m->bol = true;
}

void
smtp_mime_reset(struct smtp_mime *m)
{
	buf_free(&m->hdr);
	buf_free(&m->line);
	smtp_mime_init(m);
}

void
smtp_mime_free(struct smtp_mime *m)
{
	buf_free(&m->hdr);
	buf_free(&m->line);
}

/* param - the value of parameter name in a Content-Type value */
static bool
param(const char *v, const char *name, char *out, size_t size)
{
	size_t	n = strlen(name);

	for (const char *p = strchr(v, ';'); p != NULL; p = strchr(p + 1, ';')) {
		const char *q = p + 1;
		size_t	k = 0;

		while (*q == ' ' || *q == '\t')
			q++;
		if (str_ncasecmp(q, name, n) != 0)
			continue;
		q += n;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q++ != '=')
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '"') {
			for (q++; *q && *q != '"' && k + 1 < size; q++)
				out[k++] = *q;
		} else
			for (; *q && !strchr(" \t;()<>@,:\\\"/[]?=", *q) && k + 1 < size; q++)
				out[k++] = *q;
		out[k] = '\0';
		return k > 0;
	}
	return false;
}

/* field - is the header line (unfolded) the field name? value after */
static const char *
field(const char *line, const char *name)
{
	size_t	n = strlen(name);

	if (str_ncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/* classify - read the buffered header: what kind of entity is this? */
static void
classify(struct smtp_mime *m)
{
	const char *p = buf_str(&m->hdr), *end = p + m->hdr.len;
	bool	mime = !m->top;

	m->kind = SMTP_MIME_LEAF;
	m->cte_ok = true;		/* none, 7bit, 8bit, binary */
	m->boundary[0] = '\0';
	while (p < end) {
		char	line[1024];
		size_t	k = 0;
		const char *v;

		/* Unfold one field into line[] (cut at its size). */
		do {
			const char *nl = memchr(p, '\n', (size_t) (end - p));
			size_t	n = nl ? (size_t) (nl - p) : (size_t) (end - p);

			for (size_t i = 0; i < n && k + 1 < sizeof(line); i++)
				line[k++] = p[i] == '\t' ? ' ' : p[i];
			p += n + (nl != NULL);
		} while (p < end && (*p == ' ' || *p == '\t'));
		line[k] = '\0';
		if (field(line, "MIME-Version") != NULL)
			mime = true;
		else if ((v = field(line, "Content-Type")) != NULL) {
			if (str_has_prefix_nocase(v, "multipart/")) {
				m->kind = param(v, "boundary", m->boundary,
						sizeof(m->boundary)) ? SMTP_MIME_MULTI
				    : SMTP_MIME_OPAQUE;
			} else if (str_has_prefix_nocase(v, "message/rfc822")
				   || str_has_prefix_nocase(v, "message/global"))
				m->kind = SMTP_MIME_MESSAGE;
			else if (str_has_prefix_nocase(v, "message/"))
				m->kind = SMTP_MIME_OPAQUE;
		} else if ((v = field(line, "Content-Transfer-Encoding")) != NULL) {
			m->cte_ok = str_has_prefix_nocase(v, "7bit")
			    || str_has_prefix_nocase(v, "8bit")
			    || str_has_prefix_nocase(v, "binary");
		}
	}
	if (!mime)
		m->kind = SMTP_MIME_NONE;
}

/* flush_header - the entity's header, rewritten as its kind needs */
static void
flush_header(struct smtp_mime *m)
{
	const char *p = buf_str(&m->hdr), *end = p + m->hdr.len;
	bool	qp = m->kind == SMTP_MIME_LEAF && m->cte_ok;
	bool	seven = m->kind == SMTP_MIME_MESSAGE || m->kind == SMTP_MIME_MULTI;
	bool	skipping = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		size_t	n = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);

		if (*p != ' ' && *p != '\t') {
			skipping = (qp || seven)
			    && str_ncasecmp(p, "Content-Transfer-Encoding:", 26) == 0;
			if (skipping && seven)
				emit(m, "Content-Transfer-Encoding: 7bit\n", 32);
		}
		if (!skipping)
			emit(m, p, n);
		p += n;
	}
	if (qp)
		emit(m, "Content-Transfer-Encoding: quoted-printable\n", 44);
	buf_reset(&m->hdr);
	m->qp = qp;
	m->col = 0;
}

/* qp_put - encode body bytes of a quoted-printable leaf */
static void
qp_put(struct smtp_mime *m, const char *p, size_t n, bool eol)
{
	static const char hex[] = "0123456789ABCDEF";
	char	o[SMTP_MIME_LINE * 4 + 16];
	size_t	k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) p[i];
		bool	last = eol && i + 1 == n;
		bool	lit = (c >= 33 && c <= 126 && c != '=')
		    || ((c == ' ' || c == '\t') && !last);
		size_t	w = lit ? 1 : 3;

		if (m->col + w > 75) {
			o[k++] = '=';
			o[k++] = '\n';
			m->col = 0;
		}
		if (lit)
			o[k++] = (char) c;
		else {
			o[k++] = '=';
			o[k++] = hex[c >> 4];
			o[k++] = hex[c & 15];
		}
		m->col += w;
	}
	if (eol) {
		o[k++] = '\n';
		m->col = 0;
	}
	emit(m, o, k);
}

static bool
is_boundary(struct smtp_mime *m, const char *p, size_t n, bool *final)
{
	for (int d = m->depth - 1; d >= 0; d--) {
		const char *b = m->stack[d];
		size_t	bl = strlen(b);

		if (n >= bl + 2 && p[0] == '-' && p[1] == '-' && memcmp(p + 2, b, bl) == 0) {
			const char *rest = p + 2 + bl;
			size_t	rn = n - 2 - bl;

			*final = rn >= 2 && rest[0] == '-' && rest[1] == '-';
			if (*final)
				rest += 2, rn -= 2;
			while (rn > 0 && (*rest == ' ' || *rest == '\t'))
				rest++, rn--;
			if (rn == 0) {
				/* Closing an outer boundary ends the inner ones. */
				m->hit = d;
				return true;
			}
		}
	}
	return false;
}

/* header_done - the entity's header ended: decide, emit, go on */
static void
header_done(struct smtp_mime *m)
{
	classify(m);
	flush_header(m);
	m->state = M_BODY;
	if (m->kind == SMTP_MIME_MULTI && m->depth < SMTP_MIME_DEPTH) {
		(void) str_copy(m->stack[m->depth], sizeof(m->stack[0]), m->boundary);
		m->depth++;
	} else if (m->kind == SMTP_MIME_MESSAGE) {
		m->state = M_HEADER;	/* the enclosed message's header */
		m->top = false;
	}
	m->top = false;
}

/* line - one whole line (without LF), or a piece of a long one */
static void
line(struct smtp_mime *m, const char *p, size_t n, bool eol)
{
	bool	final;

	if (m->state == M_HEADER) {
		if (m->bol && n == 0 && eol) {
			header_done(m);
			emit(m, "\n", 1);
			return;
		}
		if (buf_append(&m->hdr, p, n) < 0 || (eol && buf_putc(&m->hdr, '\n') < 0)) {
			/* Too big to judge: pass it and everything under it. */
			emit(m, buf_str(&m->hdr), m->hdr.len);
			buf_reset(&m->hdr);
			emit(m, p, n);
			if (eol)
				emit(m, "\n", 1);
			m->kind = SMTP_MIME_NONE;
			m->qp = false;
			m->state = M_BODY;
			m->depth = 0;
		}
		return;
	}
	if (m->bol && m->depth > 0 && is_boundary(m, p, n, &final)) {
		emit(m, p, n);
		if (eol)
			emit(m, "\n", 1);
		m->depth = m->hit + 1;
		if (final) {
			m->depth--;
			m->qp = false;
			m->state = M_BODY;	/* epilogue: unchanged */
		} else {
			m->state = M_HEADER;
			m->qp = false;
		}
		return;
	}
	if (m->qp)
		qp_put(m, p, n, eol);
	else {
		emit(m, p, n);
		if (eol)
			emit(m, "\n", 1);
	}
}

void
smtp_mime_feed(struct smtp_mime *m, const char *p, size_t n, struct smtp_enc *e,
	       struct buf *out)
{
	const char *end = p + n;

	m->enc = e;
	m->out = out;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		size_t	take = nl ? (size_t) (nl - p) : (size_t) (end - p);
		size_t	room = SMTP_MIME_LINE - m->line.len;

		if (take > room) {
			/* A long line: what is held goes out as a piece. */
			(void) buf_append(&m->line, p, room);
			p += room;
			line(m, buf_str(&m->line), m->line.len, false);
			buf_reset(&m->line);
			m->bol = false;
			continue;
		}
		(void) buf_append(&m->line, p, take);
		p += take;
		if (nl != NULL) {
			line(m, buf_str(&m->line), m->line.len, true);
			buf_reset(&m->line);
			m->bol = true;
			p++;
		}
	}
}

void
smtp_mime_end(struct smtp_mime *m, struct smtp_enc *e, struct buf *out)
{
	m->enc = e;
	m->out = out;
	if (m->line.len > 0) {
		line(m, buf_str(&m->line), m->line.len, false);
		buf_reset(&m->line);
	}
	if (m->state == M_HEADER && m->hdr.len > 0) {
		emit(m, buf_str(&m->hdr), m->hdr.len);
		buf_reset(&m->hdr);
	}
}
