/*
 * NAME
 *	local_copy - the bytes a local delivery writes
 * SYNOPSIS
 *	#include "local.h"
 *
 *	local_copy_message(fd, &msg, rcpt, LC_FROM_LINE | LC_MBOX_QUOTE, now);
 *
 *	struct local_stream st;
 *	local_stream_init(&st, &msg, rcpt);
 *	while ((r = local_stream_pump(&st, pipe_fd)) == 0)
 *		... wait until pipe_fd is writable ...
 * DESCRIPTION
 *	A delivered message is
 *
 *	  [From SENDER DATE]		mbox only
 *	  Return-Path: <SENDER>
 *	  Delivered-To: RECIPIENT
 *	  the stored header section	(the queue file's H record)
 *	  an empty line
 *	  the stored body		(the queue file's B record)
 *	  [an empty line]		mbox only
 *
 *	The header and body are taken from the queue file descriptor at
 *	the offsets the request gave (already checked against its size).
 *	Without quoting they move with copy_file_range(2), falling back to
 *	sendfile(2) and then to pread()/write() where the kernel cannot
 *	(a pipe, another file system type); nothing is copied through
 *	user space unless it has to be.
 *
 *	local_mbox_from_line() writes the mbox separator "From SENDER
 *	DATE\n" (MAILER-DAEMON for the null sender; white space and
 *	control characters in the sender become '_', so the line stays
 *	one line of three fields; DATE in asctime() form, local time).
 *	local_prefix_headers() writes the Return-Path and Delivered-To
 *	lines.  Both return the length, or 0 when size is too small.
 *
 *	local_quote_copy() copies len bytes at off from in to out, with
 *	">" put before every line that starts with "From " (the mboxo
 *	convention that mutt, Postfix and procmail share), reading in
 *	chunks: a line start near the end of a chunk is read again with
 *	the next one, so the result does not depend on where chunks end.
 *	*ends_nl tells whether the last byte copied was a line end (true
 *	for an empty copy).
 *
 *	local_copy_message() writes the whole message to a file
 *	descriptor (blocking; a regular file).  A message of at most
 *	SMALL_MSG bytes is read with one pread() (header and body lie
 *	next to each other in the queue file), assembled in memory and
 *	written with one write(); a larger one is streamed.  With LC_MBOX_QUOTE the
 *	header and body are quoted, the body is ended with a line end if
 *	it lacked one, and an empty line follows, as mbox wants.
 *
 *	local_stream_pump() writes as much of the message (without the
 *	mbox parts) as a non-blocking descriptor takes: 1 when all was
 *	written, 0 when the descriptor is full, -1 on error (errno).
 *	All functions return 0 or -1 with errno; a source shorter than
 *	promised is EIO.
 */
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "safefile.h"
#include "str.h"

#define CHUNK		(64 * 1024)
#define SMALL_MSG	(256 * 1024)	/* assembled in memory below this */

/* Methods, best first; a stream falls back as the kernel refuses. */
enum { M_CFR, M_SENDFILE, M_RW };

static bool
method_refused(int err)
{
	return err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP
	    || err == EBADF;
}

/*
 * copy_some - move up to len bytes at *off from in to out with *method;
 * returns bytes moved (0 only when the source ended early), or -1.
 */
static ssize_t
copy_some(int in, off_t *off, uint64_t len, int out, int *method)
{
	char    buf[CHUNK];
	size_t  n = len > (1u << 30) ? (1u << 30) : (size_t) len;
	ssize_t r, w;

	for (;;) {
		switch (*method) {
		case M_CFR:
			r = copy_file_range(in, off, out, NULL, n, 0);
			if (r < 0 && method_refused(errno)) {
				*method = M_SENDFILE;
				continue;
			}
			return r;
		case M_SENDFILE:
			r = sendfile(out, in, off, n);
			if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
				*method = M_RW;
				continue;
			}
			return r;
		default:
			if (n > sizeof(buf))
				n = sizeof(buf);
			r = pread(in, buf, n, *off);
			if (r <= 0)
				return r;
			w = write(out, buf, (size_t) r);
			if (w > 0)
				*off += w;
			return w;
		}
	}
}

int
local_copy_range(int in, off_t off, uint64_t len, int out)
{
	int     method = M_CFR;

	while (len > 0) {
		ssize_t r = copy_some(in, &off, len, out, &method);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		len -= (uint64_t) r;
	}
	return 0;
}

size_t
local_mbox_from_line(char *out, size_t size, const char *sender, time_t when)
{
	char    date[64];
	struct tm tm;
	size_t  n, i, start;

	if (localtime_r(&when, &tm) == NULL
	    || strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		(void) str_copy(date, sizeof(date), "Thu Jan  1 00:00:00 1970");
	if (*sender == '\0')
		sender = "MAILER-DAEMON";
	if (str_fmt(out, size, "From %s %s\n", sender, date) < 0)
		return 0;
	n = strlen(out);
	start = 5;
	for (i = start; i < start + strlen(sender); i++)
		if ((unsigned char) out[i] <= ' ' || out[i] == 0x7f)
			out[i] = '_';
	return n;
}

size_t
local_prefix_headers(char *out, size_t size, const char *sender,
		     const char *delivered_to)
{
	if (str_fmt(out, size, "Return-Path: <%s>\nDelivered-To: %s\n",
		    sender, delivered_to) < 0)
		return 0;
	return strlen(out);
}

/* last_byte_is_nl - true when the range is empty or ends with LF */
static int
last_byte_is_nl(int fd, off_t off, uint64_t len, bool *nl)
{
	char    c;
	ssize_t r;

	*nl = true;
	if (len == 0)
		return 0;
	r = pread(fd, &c, 1, off + (off_t) len - 1);
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = EIO;
		return -1;
	}
	*nl = c == '\n';
	return 0;
}

int
local_quote_copy(int in, off_t off, uint64_t len, int out, bool *ends_nl)
{
	static char ibuf[CHUNK];
	static char obuf[2 * CHUNK];
	bool    bol = true;
	uint64_t left = len;

	*ends_nl = true;
	while (left > 0) {
		size_t  want = left > CHUNK ? CHUNK : (size_t) left, i, o = 0;
		size_t  used;
		ssize_t r;

		r = pread(in, ibuf, want, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		used = (size_t) r;
		for (i = 0; i < (size_t) r; i++) {
			if (bol) {
				/* Near the end of a chunk: decide with the next one. */
				if ((size_t) r - i < 5 && (uint64_t) r < left && i > 0) {
					used = i;
					break;
				}
				if ((size_t) r - i >= 5 && memcmp(ibuf + i, "From ", 5) == 0)
					obuf[o++] = '>';
			}
			obuf[o++] = ibuf[i];
			bol = ibuf[i] == '\n';
		}
		if (sf_write_all(out, obuf, o) < 0)
			return -1;
		off += (off_t) used;
		left -= used;
		*ends_nl = bol;
	}
	return 0;
}

/* quote_mem - append in[0..n) to out, ">" before "From " at line starts */
static void
quote_mem(const char *in, size_t n, struct buf *out, bool quote, bool *nl)
{
	bool    bol = true;
	size_t  start = 0;

	*nl = true;
	if (n == 0)
		return;
	for (size_t i = 0; quote && i < n; i++) {
		if (bol && n - i >= 5 && memcmp(in + i, "From ", 5) == 0) {
			(void) buf_append(out, in + start, i - start);
			(void) buf_putc(out, '>');
			start = i;
		}
		bol = in[i] == '\n';
	}
	(void) buf_append(out, in + start, n - start);
	*nl = in[n - 1] == '\n';
}

/*
 * copy_small - a message of at most SMALL_MSG bytes: one or two preads,
 * assembled in memory, one write; three to five system calls fewer than
 * the streaming path, which is what most mail costs.
 */
static int
copy_small(int out, const struct local_msg *m, const char *head, size_t headlen,
	   unsigned flags)
{
	bool    quote = (flags & LC_MBOX_QUOTE) != 0, nl;
	off_t   hdr_end = m->hdr_off + (off_t) m->hdr_len;
	size_t  span, gap = 0;
	struct buf o;
	char   *in;
	ssize_t r;
	int     ret = 0;

	/* The B record follows H after a 5-byte record header: read both. */
	if (m->body_off >= hdr_end && m->body_off - hdr_end <= 64) {
		gap = (size_t) (m->body_off - hdr_end);
		span = m->hdr_len + gap + m->body_len;
		in = malloc(span + 1);
		if (in == NULL)
			return -1;
		r = span ? pread(m->qfd, in, span, m->hdr_off) : 0;
	} else {
		span = m->hdr_len + m->body_len;
		in = malloc(span + 1);
		if (in == NULL)
			return -1;
		r = m->hdr_len ? pread(m->qfd, in, m->hdr_len, m->hdr_off) : 0;
		if (r == (ssize_t) m->hdr_len && m->body_len > 0) {
			ssize_t k = pread(m->qfd, in + m->hdr_len, m->body_len, m->body_off);

			r = k < 0 ? k : r + k;
		}
	}
	if (r < 0 || (size_t) r != span) {
		free(in);
		if (r >= 0)
			errno = EIO;
		return -1;
	}
	buf_init(&o, headlen + 2 * span + 64);
	(void) buf_append(&o, head, headlen);
	quote_mem(in, m->hdr_len, &o, quote, &nl);
	(void) buf_puts(&o, nl ? "\n" : "\n\n");
	quote_mem(in + m->hdr_len + gap, m->body_len, &o, quote, &nl);
	if (quote)
		(void) buf_puts(&o, nl ? "\n" : "\n\n");
	if (sf_write_all(out, o.data, o.len) < 0)
		ret = -1;
	buf_free(&o);
	free(in);
	return ret;
}

int
local_copy_message(int out, const struct local_msg *m,
		   const char *delivered_to, unsigned flags, time_t now)
{
	char    head[64 + 4 * LOCAL_PATH_MAX];
	size_t  n = 0, k;
	bool    nl;

	if (flags & LC_FROM_LINE) {
		if ((n = local_mbox_from_line(head, sizeof(head), m->sender, now)) == 0)
			goto toolong;
	}
	if ((k = local_prefix_headers(head + n, sizeof(head) - n, m->sender,
				      delivered_to)) == 0)
		goto toolong;
	if (m->hdr_len + m->body_len <= SMALL_MSG)
		return copy_small(out, m, head, n + k, flags);
	if (sf_write_all(out, head, n + k) < 0)
		return -1;

	if (flags & LC_MBOX_QUOTE) {
		if (local_quote_copy(m->qfd, m->hdr_off, m->hdr_len, out, &nl) < 0)
			return -1;
	} else {
		if (local_copy_range(m->qfd, m->hdr_off, m->hdr_len, out) < 0
		    || last_byte_is_nl(m->qfd, m->hdr_off, m->hdr_len, &nl) < 0)
			return -1;
	}
	/* The empty line that ends the header (after a missing line end). */
	if (sf_write_all(out, "\n\n" + (nl ? 1 : 0), nl ? 1 : 2) < 0)
		return -1;

	if (flags & LC_MBOX_QUOTE) {
		if (local_quote_copy(m->qfd, m->body_off, m->body_len, out, &nl) < 0)
			return -1;
		/* mbox: the body ends with a line end, then an empty line. */
		if (sf_write_all(out, "\n\n" + (nl ? 1 : 0), nl ? 1 : 2) < 0)
			return -1;
	} else if (local_copy_range(m->qfd, m->body_off, m->body_len, out) < 0)
		return -1;
	return 0;

toolong:
	errno = ENAMETOOLONG;
	return -1;
}

int
local_stream_init(struct local_stream *s, const struct local_msg *m,
		  const char *delivered_to)
{
	size_t  k;
	bool    nl;

	memset(s, 0, sizeof(*s));
	s->fd = m->qfd;
	s->method = M_CFR;
	if ((k = local_prefix_headers(s->head, sizeof(s->head), m->sender,
				      delivered_to)) == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (last_byte_is_nl(m->qfd, m->hdr_off, m->hdr_len, &nl) < 0)
		return -1;
	s->seg[0].mem = s->head;
	s->seg[0].len = k;
	s->seg[1].off = m->hdr_off;
	s->seg[1].len = m->hdr_len;
	s->seg[2].mem = "\n\n";
	s->seg[2].len = nl ? 1 : 2;
	s->seg[3].off = m->body_off;
	s->seg[3].len = m->body_len;
	s->nseg = 4;
	return 0;
}

int
local_stream_pump(struct local_stream *s, int out)
{
	while (s->cur < s->nseg) {
		ssize_t r;

		if (s->seg[s->cur].len == 0) {
			s->cur++;
			continue;
		}
		if (s->seg[s->cur].mem != NULL) {
			r = write(out, s->seg[s->cur].mem + s->seg[s->cur].off,
				  (size_t) s->seg[s->cur].len);
			if (r > 0)
				s->seg[s->cur].off += r;
		} else
			r = copy_some(s->fd, &s->seg[s->cur].off, s->seg[s->cur].len,
				      out, &s->method);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		s->seg[s->cur].len -= (uint64_t) r;
	}
	return 1;
}
