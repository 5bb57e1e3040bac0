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
 *	Line ends and pieces, exactly.  Take a line's content to be the
 *	bytes before its LF, less one CR right before that LF.  Every
 *	other CR (alone, doubled, or before anything but LF) is content.
 *	A content of at most max_line bytes comes as one line.  A longer
 *	one comes as pieces: each but the last has exactly max_line bytes
 *	and LB_END_NONE, the last has 1..max_line bytes and the real end,
 *	all have LB_TOO_LONG, and they concatenate to the content.  How
 *	the input was split into reads never changes the result: a piece
 *	is cut only when max_line + 2 bytes without an LF are buffered
 *	(or an LF comes right after max_line + 1 content bytes), so a CR
 *	at the end of a read, or at the edge of a piece, waits for the
 *	next byte before it is taken for content.  Until then the answer
 *	is LB_NEED.
 *
 *	At EOF, bytes after the last LF are never returned as a line:
 *	when linebuf_fill() returns 0 and linebuf_pending() is not 0, the
 *	input ended inside a line (fewer than max_line + 2 bytes of it
 *	remain; earlier pieces of it were returned).  linebuf_take() can
 *	fetch them.
 *
 *	linebuf_fill() moves the unread bytes to the start of the buffer
 *	and reads once into the rest (through readfn when one was given,
 *	for TLS; else read(2), retried on EINTR), and returns the byte
 *	count, 0 at EOF, or -1 with errno (EAGAIN on a non-blocking
 *	socket with nothing to read; ENOBUFS when the buffer is full,
 *	which does not happen after linebuf_get() said LB_NEED).
 *	linebuf_get() does no I/O.
 *	linebuf_pending() is the number of unread bytes buffered (for
 *	pipelining checks).  linebuf_take() removes and returns up to n
 *	raw bytes (for BDAT-like raw reads; p may be NULL to discard) and
 *	ends any too-long line in progress.  linebuf_bytes_in() counts
 *	all bytes read so far.
 *
 *	Size: the buffer is max_line + 2 + LB_READ_SIZE bytes, allocated
 *	once by linebuf_init().  After LB_NEED at most max_line + 1 bytes
 *	are pending, so every read can take at least LB_READ_SIZE (64 KiB)
 *	bytes: a whole pipelined command group, or a large chunk of DATA,
 *	in one system call.
 *
 *	Under a budget: after linebuf_budget(lb, read_min) (called on a
 *	new reader, before anything was read) the buffer is
 *	charged to the process's membudget.h budget and sized by need.
 *	It is max_line + 2 + read_min bytes (the floor, always granted)
 *	while the peer sends little, grows to the full size for the next
 *	read when a read filled the whole room and the budget allows
 *	(else reads stay small: more system calls, never more memory),
 *	and goes back to the floor, or is freed altogether when nothing
 *	is pending, when linebuf_get() says LB_NEED after a read of fewer
 *	than read_min bytes (the peer paused).  linebuf_shrink() does the
 *	same at once whatever the last read was (an owner under memory
 *	pressure, or one whose peer went quiet after a large read); call
 *	it only after LB_NEED.  So an idle connection holds no buffer at
 *	all, a trickling one the floor, and only one that sends at volume
 *	the full size.  The line semantics above do not change: a piece
 *	is still cut at max_line + 2 bytes, which the floor holds.
 *	linebuf_peek() points at the pending bytes (never NULL).
 * SECURITY
 *	Bytes buffered beyond the current line are the client's pipelined
 *	input.  A reader that switches to TLS (sets readfn and readctx)
 *	must first make sure linebuf_pending() is 0 and refuse or discard
 *	otherwise, or plaintext sent before the handshake would be taken
 *	as if it came through TLS.
 */
#ifndef POSTERN_LINEBUF_H
#define POSTERN_LINEBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { LB_NEED = 0, LB_LINE = 1 };
enum lb_end { LB_END_NONE, LB_END_LF, LB_END_CRLF };
#define LB_TOO_LONG	0x1
#define LB_READ_SIZE	65536

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
	size_t	size;		/* max_line + 2 + LB_READ_SIZE */
	size_t	start, end;	/* unread bytes are buf[start..end) */
	size_t	max_line;
	unsigned state;		/* internal: inside a too-long line */
	uint64_t bytes_in;
	lb_read_fn *readfn;
	void   *readctx;
	/* linebuf_budget(): */
	size_t	floor;		/* max_line + 2 + read_min; 0: no budget */
	size_t	charged;	/* bytes charged to membudget */
	size_t	last_read;	/* bytes the last fill read */
	size_t	last_room;	/* room it had */
};

void	linebuf_init(struct linebuf *lb, int fd, size_t max_line,
		     lb_read_fn *readfn, void *readctx);
void	linebuf_free(struct linebuf *lb);
int	linebuf_get(struct linebuf *lb, struct lb_line *l);
ssize_t	linebuf_fill(struct linebuf *lb);
size_t	linebuf_take(struct linebuf *lb, void *p, size_t n);
void	linebuf_budget(struct linebuf *lb, size_t read_min);
void	linebuf_shrink(struct linebuf *lb);
const char *linebuf_peek(const struct linebuf *lb);
#define linebuf_pending(lb) ((lb)->end - (lb)->start)
#define linebuf_bytes_in(lb) ((lb)->bytes_in)

#endif
