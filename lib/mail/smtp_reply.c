/*
 * NAME
 *	smtp_reply - build and parse SMTP replies (RFC 5321 4.2, RFC 2034)
 * DESCRIPTION
 *	See smtp_reply.h.  Building: the text is formatted into a fixed
 *	array, sanitised in place, then cut into lines; the reply is
 *	appended to the caller's buffer in pieces and, if any piece does
 *	not fit, the buffer is truncated back to where it was, so a
 *	caller never sends half a reply.
 */
#include <stdio.h>
#include <string.h>

#include "smtp_reply.h"

static bool
code_valid(int code)
{
	return code >= 200 && code <= 599 && (code / 10) % 10 <= 5;
}

/* dsn_ok - dsn is absent, or valid and of the code's class */
static bool
dsn_ok(int code, const char *dsn)
{
	if (dsn == NULL || *dsn == '\0')
		return true;
	return dsn_class(dsn) == '0' + code / 100;
}

/* sanitise - make text printable ASCII: no line can be split or faked */
static void
sanitise(char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) text[i];

		if (c < 0x20 || c == 0x7f)
			text[i] = ' ';
		else if (c > 0x7e)
			text[i] = '?';
	}
}

/* put_line - one reply line: code, separator, dsn, text, CR LF */
static int
put_line(struct buf *out, int code, const char *dsn, const char *text,
	 size_t len, bool last)
{
	bool    has_dsn = dsn != NULL && *dsn != '\0';

	if (buf_appendf(out, "%03d", code) < 0)
		return -1;
	if (last ? (has_dsn || len > 0) && buf_putc(out, ' ') < 0 :
	    buf_putc(out, '-') < 0)
		return -1;
	if (has_dsn && buf_puts(out, dsn) < 0)
		return -1;
	if (has_dsn && len > 0 && buf_putc(out, ' ') < 0)
		return -1;
	if (buf_append(out, text, len) < 0 || buf_append(out, "\r\n", 2) < 0)
		return -1;
	return 0;
}

/*
 * put_text - text[0..len) as one or more lines; the last of them ends
 * the reply when last is true.  Lines are cut at the last space that
 * keeps them within SMTP_REPLY_LINE_MAX, else hard.
 */
static int
put_text(struct buf *out, int code, const char *dsn, const char *text,
	 size_t len, bool last)
{
	size_t  dlen = (dsn != NULL && *dsn != '\0') ? strlen(dsn) + 1 : 0;
	size_t  room = SMTP_REPLY_LINE_MAX - 4 - dlen - 2;
	size_t  pos = 0;

	while (len - pos > room) {
		size_t  cut = pos + room, next;

		while (cut > pos && text[cut] != ' ')
			cut--;
		if (cut == pos) {
			cut = pos + room;	/* one long word: cut it */
			next = cut;
		} else {
			next = cut + 1;		/* the space goes */
		}
		if (put_line(out, code, dsn, text + pos, cut - pos, false) < 0)
			return -1;
		pos = next;
	}
	return put_line(out, code, dsn, text + pos, len - pos, last);
}

int
smtp_reply_vformat(struct buf *out, int code, const char *dsn,
		   const char *fmt, va_list ap)
{
	char    text[SMTP_REPLY_TEXT_MAX + 1];
	size_t  saved = out->len, len;
	int     n;

	if (!code_valid(code) || !dsn_ok(code, dsn))
		return -1;
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return -1;
	len = (size_t) n < SMTP_REPLY_TEXT_MAX ? (size_t) n : SMTP_REPLY_TEXT_MAX;
	sanitise(text, len);
	if (put_text(out, code, dsn, text, len, true) < 0) {
		buf_truncate(out, saved);
		return -1;
	}
	return 0;
}

int
smtp_reply_format(struct buf *out, int code, const char *dsn,
		  const char *fmt, ...)
{
	va_list ap;
	int     r;

	va_start(ap, fmt);
	r = smtp_reply_vformat(out, code, dsn, fmt, ap);
	va_end(ap);
	return r;
}

int
smtp_reply_lines(struct buf *out, int code, const char *dsn,
		 const char *const *lines, size_t n)
{
	char    text[SMTP_REPLY_TEXT_MAX + 1];
	size_t  saved = out->len, len;

	if (n == 0 || !code_valid(code) || !dsn_ok(code, dsn))
		return -1;
	for (size_t i = 0; i < n; i++) {
		len = strnlen(lines[i], SMTP_REPLY_TEXT_MAX);
		memcpy(text, lines[i], len);
		text[len] = '\0';
		sanitise(text, len);
		if (put_text(out, code, dsn, text, len, i + 1 == n) < 0) {
			buf_truncate(out, saved);
			return -1;
		}
	}
	return 0;
}

int
smtp_reply_parse_line(const char *line, size_t n, int *code, bool *last,
		      const char **text)
{
	if (n < 3)
		return -1;
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
	    line[2] < '0' || line[2] > '9')
		return -1;
	if (n == 3) {
		*last = true;
		*text = line + 3;
	} else if (line[3] == ' ' || line[3] == '-') {
		*last = line[3] == ' ';
		*text = line + 4;
	} else {
		return -1;
	}
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	return 0;
}

void
smtp_reply_init(struct smtp_reply *r, size_t max_lines, size_t max_len)
{
	buf_init(&r->text, max_len);
	r->max_lines = max_lines;
	smtp_reply_reset(r);
}

void
smtp_reply_reset(struct smtp_reply *r)
{
	buf_reset(&r->text);
	r->code = 0;
	r->dsn[0] = '\0';
	r->lines = 0;
	r->done = r->failed = false;
	r->error = NULL;
}

void
smtp_reply_free(struct smtp_reply *r)
{
	buf_free(&r->text);
}

static int
refuse(struct smtp_reply *r, const char *why)
{
	r->failed = true;
	r->error = why;
	return -1;
}

int
smtp_reply_add(struct smtp_reply *r, const char *line, size_t n)
{
	const char *text;
	size_t  tlen, dl, start;
	bool    last;
	int     code;

	if (r->failed)
		return -1;
	if (r->done)
		return refuse(r, "reply line after the last line");
	if (smtp_reply_parse_line(line, n, &code, &last, &text) < 0)
		return refuse(r, "malformed reply line");
	tlen = n - (size_t) (text - line);
	if (r->lines == 0) {
		r->code = code;
		dl = dsn_scan(text, tlen);
		if (dl > 0 && text[0] == '0' + code / 100) {
			memcpy(r->dsn, text, dl);
			r->dsn[dl] = '\0';
		}
	} else if (code != r->code) {
		return refuse(r, "reply code changed between lines");
	}
	if (r->lines >= r->max_lines)
		return refuse(r, "too many reply lines");

	/* Drop the dsn that each line repeats (RFC 2034 section 4). */
	dl = strlen(r->dsn);
	if (dl > 0 && tlen >= dl && memcmp(text, r->dsn, dl) == 0 &&
	    (tlen == dl || text[dl] == ' ')) {
		text += dl < tlen ? dl + 1 : dl;
		tlen -= dl < tlen ? dl + 1 : dl;
	}
	start = r->text.len;
	if ((r->lines > 0 && buf_putc(&r->text, '\n') < 0) ||
	    buf_append(&r->text, text, tlen) < 0) {
		buf_truncate(&r->text, start);
		return refuse(r, "reply too long");
	}
	for (size_t i = start; i < r->text.len; i++) {
		unsigned char c = (unsigned char) r->text.data[i];

		if ((c < 0x20 || c == 0x7f) && !(i == start && r->lines > 0 && c == '\n'))
			r->text.data[i] = ' ';
	}
	r->lines++;
	if (last) {
		r->done = true;
		return 1;
	}
	return 0;
}
