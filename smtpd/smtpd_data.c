/*
 * NAME
 *	smtpd_data - the DATA state machine: end of data, dot-unstuffing,
 *	line ends, bounds
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	struct smtpd_data d;
 *	smtpd_data_begin(&d, -1, data_cmd_end == LB_END_CRLF,
 *	    reject_bare, cfg->message_size_limit, cfg->header_size_limit);
 *	d.spool_open = smtpd_spool_open;	// with fd -1 only
 *	while (linebuf_get(&lb, &l) == LB_LINE)
 *		if (smtpd_data_line(&d, &l))
 *			break;			// "." seen: end of data
 *	if (smtpd_data_finish(&d) < 0 || d.flags)
 *		... reply with smtpd_data_verdict() ...
 *	fd = smtpd_data_take_fd(&d, &charged);	// the spooled content
 *	smtpd_data_free(&d);
 * DESCRIPTION
 *	smtpd_data_line() takes the message content one line (or one
 *	piece of a too-long line, see linebuf.h) at a time, exactly as
 *	the client sent it, and writes it to the spool descriptor in
 *	Unix form through a write buffer, so that a small message costs
 *	one write().
 *
 *	Memory (membudget.h): the write buffer is allocated at the first
 *	byte of content, SMTPD_DATA_WBUF (64 KiB) when the process's
 *	budget has room for it, else SMTPD_DATA_WBUF_SMALL (4 KiB, a
 *	floor that is always granted), and freed by smtpd_data_free().
 *	smtpd_data_shrink() writes out what a large buffer holds and
 *	frees it (a session parked in DATA while memory runs short); the
 *	next byte gets a buffer by the same rule.
 *
 *	The spool descriptor is either given to smtpd_data_begin() or,
 *	when that is -1, opened by d->spool_open as late as possible:
 *	spool_open(false) when the buffer first fills (the content may
 *	grow to message_size_limit: a file), spool_open(true) at
 *	smtpd_data_finish() when the whole content is still in the
 *	buffer and the budget has room for it as well (smtpd_spool_open()
 *	then uses memory, not a new inode; the bytes stay charged until
 *	the descriptor is closed: smtpd_data_take_fd() hands the charge
 *	over with it).  A descriptor opened this way belongs to d:
 *	smtpd_data_free() closes it, unless smtpd_data_take_fd() took it
 *	first.  A failed open is a write error (below).
 *
 *	End of data is <CR><LF>.<CR><LF> and nothing else: a line that
 *	is exactly "." ends the data only when it ended in CR LF and so
 *	did the line before it (for the first content line, the DATA
 *	command line).  Every other line that starts with a dot has the
 *	dot removed (RFC 5321 section 4.5.2), including a "." line that
 *	fails the rule above, which becomes an empty line.  So none of
 *	"\n.\n", "\n.\r\n", "\r.\r", "\r.\n", "\r\n.\n", "\r.\r\n",
 *	"\r\n.\r", "\r\n\0.\r\n", "\r\r\n.\r\r\n" ends the data, and
 *	whatever follows them stays message content: one transmission
 *	is never split into two messages, and text after a fake end is
 *	never read as commands.  The decision depends on the bytes only,
 *	never on how the network split them (linebuf.h makes the same
 *	promise for lines).
 *
 *	Line ends: a line's content is the bytes before its LF less one
 *	CR right before the LF (linebuf.h).  A line that ended in a bare
 *	LF is stored like one that ended in CR LF, and a CR that is left
 *	inside the content (a bare CR) becomes a space, unless
 *	reject_bare is set (smtpd_forbid_bare_newline = reject for this
 *	client): then a bare LF sets SMTPD_DATA_BARE_LF, a bare CR sets
 *	SMTPD_DATA_BARE_CR, nothing more is written, and the reader goes
 *	on to the real end of data so that the client can be answered.
 *
 *	Bounds: the content as stored (LF line ends, no dot-stuffing) is
 *	counted against size_limit (0: none); past it SMTPD_DATA_TOO_BIG
 *	is set and nothing more is written.  The header section (the
 *	lines before the first empty line or the first line that is
 *	neither "name:" nor a continuation) is counted against
 *	header_limit; past it SMTPD_DATA_HDR_TOO_BIG is set and nothing
 *	more is written.  A too-long line arrives in pieces and is
 *	written piece by piece: no line is ever held whole.
 *
 *	A write error sets SMTPD_DATA_WRITE_ERR with its errno in
 *	d->write_errno, and stops the writing; reading goes on.
 *	smtpd_data_finish() writes what is buffered and returns 0, or -1
 *	when the content did not reach the file whole (any flag set).
 *	smtpd_data_verdict() turns the flags into the reply the client
 *	gets (code, enhanced status code, text); it returns false when
 *	there is nothing to refuse.
 * SECURITY
 *	This is the SMTP smuggling boundary.  The only state carried from
 *	one line to the next is whether the previous line ended in CR LF
 *	and whether the current line is a continuation piece; both are
 *	set from the line ends that linebuf reports, which do not depend
 *	on read boundaries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "membudget.h"
#include "smtpd.h"

void
smtpd_data_begin(struct smtpd_data *d, int fd, bool prev_crlf, bool reject_bare,
		 uint64_t size_limit, uint64_t header_limit)
{
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->prev_crlf = prev_crlf;
	d->reject_bare = reject_bare;
	d->size_limit = size_limit;
	d->header_limit = header_limit;
	d->in_header = true;
}

/* release_wbuf - the write buffer goes, and its charge */
static void
release_wbuf(struct smtpd_data *d)
{
	free(d->wbuf);
	if (d->wcap == SMTPD_DATA_WBUF_SMALL)
		membudget_uncharge(d->wcap);
	else if (d->wcap > 0)
		membudget_give(d->wcap);
	d->wbuf = NULL;
	d->wcap = d->wlen = 0;
}

void
smtpd_data_free(struct smtpd_data *d)
{
	release_wbuf(d);
	if (d->own_fd && d->fd >= 0)
		(void) close(d->fd);
	if (d->spool_charge > 0)
		membudget_give(d->spool_charge);
	d->spool_charge = 0;
	d->own_fd = false;
	d->fd = -1;
}

int
smtpd_data_take_fd(struct smtpd_data *d, size_t *charged)
{
	int	fd = d->fd;

	*charged = d->spool_charge;
	d->spool_charge = 0;
	d->own_fd = false;
	d->fd = -1;
	return fd;
}

/* open_spool - the spool descriptor, opened now; false after a failure */
static bool
open_spool(struct smtpd_data *d, bool whole)
{
	if (d->fd >= 0)
		return true;
	if (d->flags & SMTPD_DATA_WRITE_ERR)
		return false;
	/* In memory only while the budget has room for the content. */
	if (whole && !membudget_take(d->wlen))
		whole = false;
	else if (whole)
		d->spool_charge = d->wlen;
	if (d->spool_open == NULL) {
		d->write_errno = EBADF;
	} else if ((d->fd = d->spool_open(whole)) >= 0) {
		d->own_fd = true;
		return true;
	} else {
		d->write_errno = errno;
	}
	if (d->spool_charge > 0)
		membudget_give(d->spool_charge);
	d->spool_charge = 0;
	d->fd = -1;
	d->flags |= SMTPD_DATA_WRITE_ERR;
	return false;
}

/* flush - write the buffer out; a failure stops all further writing */
static void
flush(struct smtpd_data *d)
{
	size_t  off = 0;

	if (!open_spool(d, false)) {
		d->wlen = 0;
		return;
	}
	while (off < d->wlen && !(d->flags & SMTPD_DATA_WRITE_ERR)) {
		ssize_t n = write(d->fd, d->wbuf + off, d->wlen - off);

		if (n > 0)
			off += (size_t) n;
		else if (n < 0 && errno == EINTR)
			continue;
		else {
			d->write_errno = n < 0 ? errno : EIO;
			d->flags |= SMTPD_DATA_WRITE_ERR;
		}
	}
	d->wlen = 0;
}

/* alloc_wbuf - a write buffer: large when the budget allows */
static void
alloc_wbuf(struct smtpd_data *d)
{
	if (membudget_take(SMTPD_DATA_WBUF)) {
		d->wcap = SMTPD_DATA_WBUF;
	} else {
		d->wcap = SMTPD_DATA_WBUF_SMALL;
		membudget_charge(d->wcap);
	}
	d->wbuf = xmalloc(d->wcap);
	d->wlen = 0;
}

size_t
smtpd_data_shrink(struct smtpd_data *d)
{
	size_t	freed = d->wcap;

	if (d->wcap <= SMTPD_DATA_WBUF_SMALL)
		return 0;
	if (d->wlen > 0 && !d->flags)
		flush(d);
	release_wbuf(d);
	return freed;
}

/*
 * put - append p[0..n) to the write buffer; with normalize set, every
 * CR in it becomes a space (a bare CR in normalize mode).
 */
static void
put(struct smtpd_data *d, const char *p, size_t n, bool normalize)
{
	if (d->wbuf == NULL && n > 0)
		alloc_wbuf(d);
	while (n > 0) {
		size_t	k = d->wcap - d->wlen;
		char   *dst, *cr;

		if (k == 0) {
			flush(d);
			continue;
		}
		if (k > n)
			k = n;
		dst = d->wbuf + d->wlen;
		memcpy(dst, p, k);
		if (normalize)
			for (cr = memchr(dst, '\r', k); cr != NULL;
			     cr = memchr(cr + 1, '\r', k - (size_t) (cr + 1 - dst)))
				*cr = ' ';
		d->wlen += k;
		p += k;
		n -= k;
	}
}

/* header_shaped - true when p[0..n) opens a header field: "name:" */
static bool
header_shaped(const char *p, size_t n)
{
	size_t	i = 0;

	while (i < n && (unsigned char) p[i] > 32 && (unsigned char) p[i] < 127
	       && p[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))	/* obsolete "Name :" */
		i++;
	return i < n && p[i] == ':';
}

int
smtpd_data_line(struct smtpd_data *d, const struct lb_line *l)
{
	const char *p = l->data;
	size_t	n = l->len;
	bool	line_start = !d->mid_line;
	bool	has_cr;
	uint64_t add;

	if (line_start && n > 0 && p[0] == '.') {
		if (n == 1 && l->end == LB_END_CRLF && d->prev_crlf)
			return 1;
		p++;			/* dot-unstuffing, also of a fake end */
		n--;
	}
	d->lines += l->end != LB_END_NONE;
	if (l->end != LB_END_NONE) {
		d->prev_crlf = l->end == LB_END_CRLF;
		d->mid_line = false;
	} else
		d->mid_line = true;

	has_cr = n > 0 && memchr(p, '\r', n) != NULL;
	if (d->reject_bare) {
		if (l->end == LB_END_LF)
			d->flags |= SMTPD_DATA_BARE_LF;
		if (has_cr)
			d->flags |= SMTPD_DATA_BARE_CR;
	}

	/* Header section bound. */
	if (d->in_header && line_start) {
		if (n == 0 || (p[0] != ' ' && p[0] != '\t' && !header_shaped(p, n)))
			d->in_header = false;
	}
	add = (uint64_t) n + (l->end != LB_END_NONE);
	if (d->in_header) {
		d->header_size += add;
		if (d->header_size > d->header_limit)
			d->flags |= SMTPD_DATA_HDR_TOO_BIG;
	}

	d->size += add;
	if (d->size_limit > 0 && d->size > d->size_limit)
		d->flags |= SMTPD_DATA_TOO_BIG;

	if (d->flags)
		return 0;		/* refused or failed: read, don't write */
	put(d, p, n, has_cr);
	if (l->end != LB_END_NONE) {
		if (d->wbuf == NULL)
			alloc_wbuf(d);
		if (d->wlen == d->wcap)
			flush(d);
		d->wbuf[d->wlen++] = '\n';
	}
	return 0;
}

int
smtpd_data_finish(struct smtpd_data *d)
{
	if (!d->flags && open_spool(d, true) && d->wlen > 0)
		flush(d);
	d->wlen = 0;
	return d->flags ? -1 : 0;
}

bool
smtpd_data_verdict(const struct smtpd_data *d, int *code, const char **dsn,
		   const char **text)
{
	if (d->flags & SMTPD_DATA_BARE_LF) {
		*code = 550, *dsn = "5.5.2", *text = "Error: bare <LF> received";
	} else if (d->flags & SMTPD_DATA_BARE_CR) {
		*code = 550, *dsn = "5.5.2", *text = "Error: bare <CR> received";
	} else if (d->flags & SMTPD_DATA_TOO_BIG) {
		*code = 552, *dsn = "5.3.4", *text = "Error: message file too big";
	} else if (d->flags & SMTPD_DATA_HDR_TOO_BIG) {
		*code = 552, *dsn = "5.3.4", *text = "Error: message header too big";
	} else if (d->flags & SMTPD_DATA_WRITE_ERR) {
		if (d->write_errno == ENOSPC || d->write_errno == EDQUOT)
			*code = 452, *dsn = "4.3.1", *text = "Insufficient system storage";
		else
			*code = 451, *dsn = "4.3.0", *text = "Error: queue file write error";
	} else
		return false;
	return true;
}
