/*
 * NAME
 *	smtp_reply - build and parse SMTP replies (RFC 5321 4.2, RFC 2034)
 * SYNOPSIS
 *	#include "smtp_reply.h"
 *
 *	struct buf out;
 *	buf_init(&out, SMTP_REPLY_MAX);
 *	smtp_reply_format(&out, 250, "2.1.0", "Ok");	// "250 2.1.0 Ok\r\n"
 *	smtp_reply_format(&out, 550, "5.1.1", "<%s>: Recipient address rejected",
 *	    rcpt);
 *	static const char *const ehlo[] = {"mx.example.com", "PIPELINING",
 *	    "SIZE 10240000", "8BITMIME"};
 *	smtp_reply_lines(&out, 250, NULL, ehlo, 4);
 *
 *	struct smtp_reply r;
 *	smtp_reply_init(&r, SMTP_REPLY_LINES_MAX, SMTP_REPLY_MAX);
 *	while ((k = smtp_reply_add(&r, line, len)) == 0)
 *		... read the next line ...
 *	if (k < 0) ... protocol error: r.error says why ...
 *	// r.code 250, r.dsn "2.0.0" or "", buf_str(&r.text) the lines'
 *	// texts (dsn removed) joined with '\n'
 *	smtp_reply_free(&r);
 * DESCRIPTION
 *	smtp_reply_format() appends to out a reply with the given code
 *	(200..599, first digit 2 to 5, RFC 5321 section 4.2) and
 *	enhanced status code dsn (NULL or "" for none; otherwise valid
 *	per dsn.h and of the code's class: a 354 cannot carry one), and a
 *	text formatted like printf().  The text is made safe before it is
 *	sent: CR, LF, TAB and every other control character become a
 *	space and octets above 126 become '?', so a reply is pure
 *	printable ASCII and text taken from a client (an address, a
 *	HELO name) can never end the line or start a new reply.  Text
 *	longer than one line allows is wrapped into a multi-line reply
 *	("250-...\r\n" ... "250 ...\r\n"), each line at most
 *	SMTP_REPLY_LINE_MAX (512) octets with its code and CR LF (RFC 5321
 *	section 4.5.3.1.5), cut at a space where there is one, with the
 *	dsn repeated on every line (RFC 2034 section 4).  The formatted
 *	text is cut at SMTP_REPLY_TEXT_MAX octets.  Returns 0, or -1 when
 *	code or dsn is invalid or out has no room (out is then unchanged).
 *	smtp_reply_vformat() is the same with a va_list.
 *
 *	smtp_reply_lines() appends a multi-line reply with one line per
 *	lines[i] (n >= 1), made safe and, if need be, wrapped the same
 *	way; for EHLO.  Same return values.
 *
 *	smtp_reply_parse_line() parses one reply line, line[0..n) without
 *	its CR LF: three digits (the first 2 to 5, the second 0 to 5),
 *	then nothing (a last line with no text), a space (last line) or
 *	'-' (more lines follow), then text.  Returns 0 with *code, *last
 *	and *text (inside line; it runs to line + n, possibly empty), or
 *	-1 when the line is malformed (too short, not digits, another
 *	fourth character).  Nothing beyond line[n - 1] is ever read.
 *
 *	The accumulator collects the lines of one reply: smtp_reply_add()
 *	returns 0 when more lines are needed, 1 when the reply is
 *	complete, and -1 on a protocol error, with a reason in r->error:
 *	a malformed line, a code that differs from the first line's, more
 *	than max_lines lines, or more than max_len octets of text in all.
 *	After 1 or -1, further lines are refused (-1) until
 *	smtp_reply_reset().  When the first line's text opens with an
 *	enhanced status code of the reply's class, it is stored in r->dsn
 *	and removed from every line's text that carries it.  Control
 *	characters (NUL included) in the stored text become spaces, so
 *	r->text is a C string of lines that can be logged or quoted in a
 *	bounce; other octets are kept as received.
 * SECURITY
 *	OpenSMTPD's client read out of bounds on a multi-line reply
 *	(CVE-2020-8794) because a continuation line was handled by a path
 *	that assumed the fourth character existed.  Here every line goes
 *	through smtp_reply_parse_line(), which checks n before it looks
 *	at any byte, and the accumulated text has a hard bound.
 */
#ifndef POSTERN_SMTP_REPLY_H
#define POSTERN_SMTP_REPLY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dsn.h"

#define SMTP_REPLY_LINE_MAX	512	/* with the code and CR LF */
#define SMTP_REPLY_TEXT_MAX	4096	/* formatted text of one reply */
#define SMTP_REPLY_LINES_MAX	100	/* lines per parsed reply */
#define SMTP_REPLY_MAX		8192	/* octets per parsed reply */

int	smtp_reply_format(struct buf *out, int code, const char *dsn,
			  const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
int	smtp_reply_vformat(struct buf *out, int code, const char *dsn,
			   const char *fmt, va_list ap)
	    __attribute__((format(printf, 4, 0)));
int	smtp_reply_lines(struct buf *out, int code, const char *dsn,
			 const char *const *lines, size_t n);

int	smtp_reply_parse_line(const char *line, size_t n, int *code,
			      bool *last, const char **text);

struct smtp_reply {
	int	code;		/* 0 until the first line */
	char	dsn[DSN_MAX + 1];	/* "" when the reply has none */
	struct buf text;	/* lines' texts joined by '\n' */
	size_t	lines;
	size_t	max_lines;
	bool	done;
	bool	failed;
	const char *error;	/* static text, after -1 */
};

void	smtp_reply_init(struct smtp_reply *r, size_t max_lines, size_t max_len);
void	smtp_reply_reset(struct smtp_reply *r);
void	smtp_reply_free(struct smtp_reply *r);
int	smtp_reply_add(struct smtp_reply *r, const char *line, size_t n);

#endif
