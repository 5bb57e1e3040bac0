/*
 * NAME
 *	cleanup_src - read the client's content: bounded, line by line
 * DESCRIPTION
 *	cleanup_src_init() prepares to read the bytes offset ..
 *	offset+length of fd (the caller has checked them against the
 *	file's size) through a buffer of cap bytes.  Reads use pread(),
 *	so the descriptor's file offset, which the client shares, is
 *	neither used nor moved.
 *
 *	cleanup_src_line() returns the next fragment of a line: 1 with
 *	*p, *n (the bytes, without the LF; valid until the next call),
 *	*start (the fragment begins a line) and *eol (it ends one: an LF
 *	followed, or the content ended); 0 when the content is used up;
 *	-1 on a read error, with errno (EIO when the file is shorter than
 *	announced: the client truncated it).  A line longer than the
 *	buffer comes in fragments of at most cap bytes; nothing is ever
 *	held beyond cap.
 *
 *	cleanup_src_tell() is the file offset of the first byte not yet
 *	returned; s->frag_pos is that of the last fragment returned.
 *	cleanup_src_free() releases the buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"

void
cleanup_src_init(struct cleanup_src *s, int fd, uint64_t offset,
		 uint64_t length, size_t cap)
{
	s->fd = fd;
	s->end = offset + length;
	s->buf_pos = offset;
	s->cap = cap;
	s->buf = xmalloc(cap);
	s->off = s->len = 0;
	s->line_start = true;
	s->frag_pos = offset;
}

void
cleanup_src_free(struct cleanup_src *s)
{
	free(s->buf);
	s->buf = NULL;
}

uint64_t
cleanup_src_tell(const struct cleanup_src *s)
{
	return s->buf_pos + s->off;
}

/* fill - move unread bytes to the front and read more; -1 on error */
static int
fill(struct cleanup_src *s)
{
	uint64_t file_pos;
	size_t  want;
	ssize_t got;

	if (s->off > 0) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->buf_pos += s->off;
		s->len -= s->off;
		s->off = 0;
	}
	file_pos = s->buf_pos + s->len;
	want = s->cap - s->len;
	if (s->end - file_pos < want)
		want = (size_t) (s->end - file_pos);
	if (want == 0)
		return 0;
	do
		got = pread(s->fd, s->buf + s->len, want, (off_t) file_pos);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -1;
	if (got == 0) {
		errno = EIO;		/* shorter than announced */
		return -1;
	}
	s->len += (size_t) got;
	return 0;
}

int
cleanup_src_line(struct cleanup_src *s, const char **p, size_t *n, bool *start,
		 bool *eol)
{
	char   *lf;
	size_t  avail;

	for (;;) {
		avail = s->len - s->off;
		lf = avail ? memchr(s->buf + s->off, '\n', avail) : NULL;
		if (lf != NULL)
			break;
		if (s->buf_pos + s->len >= s->end) {
			if (avail == 0)
				return 0;
			break;		/* the last line has no LF */
		}
		if (avail == s->cap)
			break;		/* a fragment of a long line */
		if (fill(s) < 0)
			return -1;
	}
	*p = s->buf + s->off;
	*start = s->line_start;
	s->frag_pos = s->buf_pos + s->off;
	if (lf != NULL) {
		*n = (size_t) (lf - (s->buf + s->off));
		s->off += *n + 1;
		*eol = true;
	} else {
		*n = avail;
		s->off += avail;
		*eol = s->buf_pos + s->len >= s->end;
	}
	s->line_start = *eol;
	return 1;
}
