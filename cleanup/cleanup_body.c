/*
 * NAME
 *	cleanup_body - copy the body into the queue file
 * DESCRIPTION
 *	cleanup_body_put() writes the B record: the content from
 *	body_off to the end of s.  Stored content has LF line ends and no
 *	CR (docs/INTERNALS.md), so with replace_cr
 *	(cleanup_replace_stray_cr_lf) a CR before an LF is dropped and any
 *	other CR becomes a space (cleanup_stray_cr()).
 *
 *	Three ways, cheapest first:
 *	  - the body is already in s's buffer (most messages: the header
 *	    reader read up to 64 KiB): copied from memory, converted when
 *	    it holds a CR;
 *	  - a larger body without CR: moved with copy_file_range()
 *	    (qfile_put_fd()), after a scan with pread() that finds no CR;
 *	  - a larger body with a CR: converted chunk by chunk into an
 *	    unnamed temporary file (O_TMPFILE in tmpdir_fd, the queue's
 *	    incoming/, so the disk holds it rather than memory), which is
 *	    then copied in.
 *	*body_len receives the length stored.  Returns 0, or -1 with
 *	errno (EIO when the client's file is shorter than announced;
 *	ENOSPC and EDQUOT unchanged).
 *
 *	cleanup_edit_*() make the edited body that content checks ask for
 *	(IGNORE, REPLACE, PREPEND in body_checks, mime_header_checks,
 *	nested_header_checks): cleanup_edit_init() for the body at
 *	body_off..end of src; cleanup_edit_put() for each edit, in
 *	increasing order of the source: the bytes from..to are replaced
 *	by text[0..n) (from == to inserts).  The first edit creates an
 *	unnamed file (as above) and copies the body into it up to from;
 *	each further one copies what lies between; cleanup_edit_finish()
 *	copies the rest.  Then e->out (or -1: nothing was edited) holds
 *	e->out_len bytes, which cleanup_body_put() stores through a
 *	cleanup_src of its own.  The copy may not grow past max bytes
 *	(EFBIG: message_size_limit).  Each returns 0, or -1 with the
 *	errno in e->error (the first one is kept; later calls fail at
 *	once).  cleanup_edit_free() closes the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"
#include "safefile.h"

/* read_at - exactly n bytes at off, EIO when the file is short */
static int
read_at(int fd, char *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t got = pread(fd, p, n, (off_t) off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0) {
			errno = EIO;
			return -1;
		}
		p += got;
		n -= (size_t) got;
		off += (uint64_t) got;
	}
	return 0;
}

/* has_cr - scan off..end of fd for a CR through buf */
static int
has_cr(int fd, uint64_t off, uint64_t end, char *buf, size_t cap, bool *found)
{
	*found = false;
	while (off < end) {
		size_t  n = end - off < cap ? (size_t) (end - off) : cap;

		if (read_at(fd, buf, n, off) < 0)
			return -1;
		if (memchr(buf, '\r', n) != NULL) {
			*found = true;
			return 0;
		}
		off += n;
	}
	return 0;
}

/* scratch_file - an unnamed file for the converted body */
static int
scratch_file(int tmpdir_fd)
{
	int     fd = openat(tmpdir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		fd = memfd_create("cleanup-body", MFD_CLOEXEC);
	return fd;
}

int
cleanup_body_put(struct qfile_writer *w, struct cleanup_src *s, uint64_t body_off,
		 bool replace_cr, int tmpdir_fd, uint64_t *body_len)
{
	uint64_t len = s->end - body_off;
	bool    found;
	int     tmp, saved;
	char   *out;
	uint64_t total = 0, off;
	bool    pending = false;

	/* In memory already. */
	if (body_off >= s->buf_pos && s->buf_pos + s->len >= s->end) {
		const char *p = s->buf + (body_off - s->buf_pos);
		size_t  n = (size_t) len, m;
		int     r;

		if (!replace_cr || memchr(p, '\r', n) == NULL) {
			*body_len = n;
			return qfile_put(w, QF_REC_BODY, p, n);
		}
		out = xmalloc(n + 1);
		m = cleanup_stray_cr(p, n, out, &pending, true);
		r = qfile_put(w, QF_REC_BODY, out, m);
		free(out);
		*body_len = m;
		return r;
	}

	if (!replace_cr) {
		*body_len = len;
		return qfile_put_fd(w, QF_REC_BODY, s->fd, (off_t) body_off, len);
	}
	if (has_cr(s->fd, body_off, s->end, s->buf, s->cap, &found) < 0)
		return -1;
	if (!found) {
		*body_len = len;
		return qfile_put_fd(w, QF_REC_BODY, s->fd, (off_t) body_off, len);
	}

	if ((tmp = scratch_file(tmpdir_fd)) < 0)
		return -1;
	out = xmalloc(s->cap + 1);
	for (off = body_off; off < s->end;) {
		size_t  n = s->end - off < s->cap ? (size_t) (s->end - off) : s->cap;
		size_t  m;

		if (read_at(s->fd, s->buf, n, off) < 0)
			goto fail;
		off += n;
		m = cleanup_stray_cr(s->buf, n, out, &pending, off == s->end);
		if (sf_write_all(tmp, out, m) < 0)
			goto fail;
		total += m;
	}
	free(out);
	*body_len = total;
	if (qfile_put_fd(w, QF_REC_BODY, tmp, 0, total) < 0)
		goto fail_closed;
	(void) close(tmp);
	return 0;

fail:
	free(out);
fail_closed:
	saved = errno;
	(void) close(tmp);
	errno = saved;
	return -1;
}

void
cleanup_edit_init(struct cleanup_edit *e, int src, uint64_t body_off,
		  uint64_t end, uint64_t max, int tmpdir_fd)
{
	e->src = src;
	e->done = body_off;
	e->end = end;
	e->out = -1;
	e->out_len = 0;
	e->max = max;
	e->tmpdir_fd = tmpdir_fd;
	e->error = 0;
}

void
cleanup_edit_free(struct cleanup_edit *e)
{
	if (e->out >= 0)
		(void) close(e->out);
	e->out = -1;
}

/* edit_fail - remember the first error */
static int
edit_fail(struct cleanup_edit *e, int err)
{
	if (e->error == 0)
		e->error = err;
	return -1;
}

/* edit_write - n more bytes of the copy */
static int
edit_write(struct cleanup_edit *e, const char *p, size_t n)
{
	if (n > e->max || e->out_len > e->max - n)
		return edit_fail(e, EFBIG);
	if (sf_write_all(e->out, p, n) < 0)
		return edit_fail(e, errno);
	e->out_len += n;
	return 0;
}

/* edit_copy - the source up to offset "to" into the copy */
static int
edit_copy(struct cleanup_edit *e, uint64_t to)
{
	char    chunk[16 * 1024];

	while (e->done < to) {
		size_t  n = to - e->done < sizeof(chunk) ? (size_t) (to - e->done)
		    : sizeof(chunk);

		if (read_at(e->src, chunk, n, e->done) < 0)
			return edit_fail(e, errno);
		if (edit_write(e, chunk, n) < 0)
			return -1;
		e->done += n;
	}
	return 0;
}

int
cleanup_edit_put(struct cleanup_edit *e, uint64_t from, uint64_t to,
		 const char *text, size_t n)
{
	if (e->error)
		return -1;
	if (from < e->done || to < from || to > e->end)
		return edit_fail(e, EINVAL);	/* out of order: a bug */
	if (e->out < 0 && (e->out = scratch_file(e->tmpdir_fd)) < 0)
		return edit_fail(e, errno);
	if (edit_copy(e, from) < 0 || edit_write(e, text, n) < 0)
		return -1;
	e->done = to;
	return 0;
}

int
cleanup_edit_finish(struct cleanup_edit *e)
{
	if (e->error)
		return -1;
	if (e->out < 0)
		return 0;
	return edit_copy(e, e->end);
}
