/*
 * NAME
 *	linebuf - bounded line reader for sockets and files
 * SYNOPSIS
 *	#include "linebuf.h"
 *
 *	struct linebuf lb;
 *	linebuf_init(&lb, fd, 2048, NULL, NULL);
 *	for (;;) {
 *		struct lb_line l;
 *		int r = linebuf_get(&lb, &l);
 *		if (r == LB_NEED) { if (linebuf_fill(&lb) <= 0) ...; continue; }
 *		// l.data, l.len: the line without its end; l.end tells how
 *		// it ended; l.flags & LB_TOO_LONG: a piece of a longer line
 *	}
 * DESCRIPTION
 *	A linebuf never holds more than its bound (max_line bytes plus the
 *	line end) of one line.  A line is terminated by LF.
 *	linebuf_get() returns:
 *	  LB_LINE  a line or a piece of one in l.  l.end is LB_END_CRLF
 *		   (ended by CR LF), LB_END_LF (a bare LF), or LB_END_NONE
 *		   (a piece of a line longer than max_line: l.len ==
 *		   max_line and LB_TOO_LONG is set; the following pieces
 *		   come in later calls, the last one with its real end and
 *		   LB_TOO_LONG still set).  The CR of CR LF is not in l.
 *		   l.data stays valid until the next linebuf_get() or
 *		   linebuf_fill().
 *	  LB_NEED  no complete line is buffered; call linebuf_fill().
 *	A command reader discards a too-long line and answers "500";
 *	a DATA reader passes the pieces on, so long body lines are
 *	handled in chunks and never buffered whole.
 *
 *	linebuf_fill() reads once (through readfn when one was given, for
 *	TLS; else read(2)) and returns the byte count, 0 at EOF, or -1
 *	with errno (EAGAIN on a non-blocking socket with nothing to read).
 *	linebuf_pending() is the number of unread bytes buffered (for
 *	pipelining checks).  linebuf_take() removes and returns up to n
 *	raw bytes (for BDAT-like raw reads).  linebuf_bytes_in() counts all
 *	bytes read so far.
 */
#ifndef POSTERN_LINEBUF_H
#define POSTERN_LINEBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { LB_NEED = 0, LB_LINE = 1 };
enum lb_end { LB_END_NONE, LB_END_LF, LB_END_CRLF };
#define LB_TOO_LONG	0x1

typedef ssize_t lb_read_fn(void *ctx, void *p, size_t n);

struct lb_line {
	const char *data;
	size_t	len;
	enum lb_end end;
	unsigned flags;
};

struct linebuf {
	int	fd;
	char   *buf;
	size_t	size;		/* max_line + 2 + read slack */
	size_t	start, end;	/* unread bytes are buf[start..end) */
	size_t	max_line;
	unsigned state;		/* internal: inside a too-long line */
	uint64_t bytes_in;
	lb_read_fn *readfn;
	void   *readctx;
};

void	linebuf_init(struct linebuf *lb, int fd, size_t max_line,
		     lb_read_fn *readfn, void *readctx);
void	linebuf_free(struct linebuf *lb);
int	linebuf_get(struct linebuf *lb, struct lb_line *l);
ssize_t	linebuf_fill(struct linebuf *lb);
size_t	linebuf_take(struct linebuf *lb, void *p, size_t n);
#define linebuf_pending(lb) ((lb)->end - (lb)->start)
#define linebuf_bytes_in(lb) ((lb)->bytes_in)

#endif
