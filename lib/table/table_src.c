/*
 * NAME
 *	table_src - read a postmap or postalias source file
 * DESCRIPTION
 *	See table_impl.h and the format in table.h.  The file is read
 *	with read(2) into a fixed buffer; a physical line is at most
 *	TABLE_LINE_MAX bytes and a logical line (a line plus its
 *	continuation lines, joined with one space) too, so memory stays
 *	bounded whatever the file holds.
 *
 *	A logical line ends only when the next line that is neither blank
 *	nor a comment starts in column one (or at the end of the file),
 *	so the reader keeps the line being assembled (cur) apart from
 *	the one it returns (out).
 * DIAGNOSTICS
 *	Every problem is one line appended to err: "FILE, line N: what is
 *	wrong".  A problem in a logical line is reported once, at the line
 *	number where it starts, and the whole logical line is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "str.h"
#include "table.h"
#include "table_impl.h"

/* Room for the longest allowed line and its LF. */
#define SRC_READ_SIZE	(TABLE_LINE_MAX + 1)

struct table_src {
	int	fd;
	char   *path;
	int	alias_mode;
	unsigned flags;
	struct stat st;
	/* read buffer: unread bytes are rbuf[rpos..rlen) */
	char   *rbuf;
	size_t	rpos, rlen;
	bool	eof;
	unsigned long lineno;	/* physical lines read */
	/* the logical line being assembled */
	struct buf cur;
	unsigned long cur_line;
	bool	have_cur, cur_bad;
	/* the logical line returned to the caller, and its parts */
	struct buf out;
	char   *key, *value;
};

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

struct table_src *
table_src_open(const char *path, int alias_mode, unsigned flags,
	       struct buf *err)
{
	struct table_src *s;
	int     fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		int     saved = errno;

		(void) buf_appendf(err, "open source file %s: %s\n", path,
				   strerror(saved));
		errno = saved;
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	if (fstat(fd, &s->st) < 0 || !S_ISREG(s->st.st_mode)) {
		int     saved = EINVAL;

		if (!S_ISREG(s->st.st_mode) && s->st.st_mode != 0)
			(void) buf_appendf(err, "source file %s is not a regular "
					   "file\n", path);
		else {
			saved = errno;
			(void) buf_appendf(err, "source file %s: %s\n", path,
					   strerror(saved));
		}
		(void) close(fd);
		free(s);
		errno = saved;
		return NULL;
	}
	s->fd = fd;
	s->path = xstrdup(path);
	s->alias_mode = alias_mode;
	s->flags = flags;
	s->rbuf = xmalloc(SRC_READ_SIZE);
	buf_init(&s->cur, TABLE_LINE_MAX);
	buf_init(&s->out, TABLE_LINE_MAX);
	return s;
}

const struct stat *
table_src_stat(const struct table_src *s)
{
	return &s->st;
}

void
table_src_close(struct table_src *s)
{
	if (s == NULL)
		return;
	(void) close(s->fd);
	free(s->path);
	free(s->rbuf);
	buf_free(&s->cur);
	buf_free(&s->out);
	free(s);
}

/* problem - report one malformed line */
static void
problem(struct table_src *s, struct buf *err, unsigned long line,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
problem(struct table_src *s, struct buf *err, unsigned long line,
	const char *fmt, ...)
{
	va_list ap;

	(void) buf_appendf(err, "%s, line %lu: ", s->path, line);
	va_start(ap, fmt);
	(void) buf_vappendf(err, fmt, ap);
	va_end(ap);
	(void) buf_puts(err, "\n");
}

/*
 * physical - the next physical line, without its LF.  Returns 1 with
 * *p and *n set (valid until the next call), 0 at the end of the file, -1
 * for a line that is too long or holds a NUL (reported; the line is
 * skipped), -2 on a read error (reported).
 */
static int
physical(struct table_src *s, const char **p, size_t *n, struct buf *err)
{
	bool	too_long = false;

	for (;;) {
		char   *lf = memchr(s->rbuf + s->rpos, '\n', s->rlen - s->rpos);
		ssize_t got;

		if (lf != NULL || (s->eof && s->rpos < s->rlen)) {
			size_t  len = lf ? (size_t) (lf - (s->rbuf + s->rpos))
				: s->rlen - s->rpos;

			*p = s->rbuf + s->rpos;
			*n = len;
			s->rpos += len + (lf ? 1 : 0);
			s->lineno++;
			if (too_long) {
				problem(s, err, s->lineno, "line longer than %d "
					"bytes", TABLE_LINE_MAX);
				return -1;
			}
			if (memchr(*p, '\0', len) != NULL) {
				problem(s, err, s->lineno, "NUL byte in line");
				return -1;
			}
			return 1;
		}
		if (s->eof)
			return 0;
		/* No LF buffered: make room and read more. */
		if (s->rpos > 0) {
			memmove(s->rbuf, s->rbuf + s->rpos, s->rlen - s->rpos);
			s->rlen -= s->rpos;
			s->rpos = 0;
		}
		if (s->rlen == SRC_READ_SIZE) {
			/* A physical line longer than the buffer: drop it. */
			too_long = true;
			s->rlen = 0;
		}
		do
			got = read(s->fd, s->rbuf + s->rlen, SRC_READ_SIZE - s->rlen);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			(void) buf_appendf(err, "read %s: %s\n", s->path,
					   strerror(errno));
			return -2;
		}
		if (got == 0)
			s->eof = true;
		s->rlen += (size_t) got;
	}
}

/* parse_postmap - split "key value" in s->out */
static int
parse_postmap(struct table_src *s, unsigned long line, struct buf *err)
{
	char   *p = s->out.data;

	s->key = p;
	while (*p && !is_space(*p))
		p++;
	if (*p)
		*p++ = '\0';
	while (is_space(*p))
		p++;
	s->value = p;
	if (*s->value == '\0') {
		problem(s, err, line, "'%.100s' has no value: expected "
			"\"key whitespace value\"", s->key);
		return -1;
	}
	return 0;
}

/* parse_alias - split "name: value" in s->out; unquote "quoted names" */
static int
parse_alias(struct table_src *s, unsigned long line, struct buf *err)
{
	char   *p = s->out.data;

	if (*p == '"') {
		char   *w = p;

		/* Copy the unquoted name over the quoted one, in place. */
		for (p++;; p++) {
			if (*p == '\0') {
				problem(s, err, line, "missing '\"' after the "
					"quoted alias name");
				return -1;
			}
			if (*p == '"')
				break;
			if (*p == '\\' && p[1] != '\0')
				p++;
			*w++ = *p;
		}
		*w = '\0';
		p++;
		while (is_space(*p))
			p++;
		if (*p != ':') {
			problem(s, err, line, "expected ':' after the quoted "
				"alias name");
			return -1;
		}
	} else {
		char   *colon = strchr(p, ':');
		char   *end;

		if (colon == NULL) {
			problem(s, err, line, "'%.100s' has no ':': expected "
				"\"name: value\"", p);
			return -1;
		}
		end = colon;
		while (end > p && is_space(end[-1]))
			end--;
		for (char *q = p; q < end; q++) {
			if (is_space(*q)) {
				*end = '\0';
				problem(s, err, line, "alias name '%.100s' "
					"contains white space: quote it", p);
				return -1;
			}
		}
		*end = '\0';
		p = colon;
	}
	s->key = s->out.data;
	p++;				/* the ':' */
	while (is_space(*p))
		p++;
	s->value = p;
	if (*s->value == '\0') {
		problem(s, err, line, "alias '%.100s' has no value", s->key);
		return -1;
	}
	return 0;
}

/* finish - check and split the logical line in s->out */
static int
finish(struct table_src *s, unsigned long line, struct buf *err)
{
	size_t  klen;

	if ((s->alias_mode ? parse_alias(s, line, err)
	     : parse_postmap(s, line, err)) < 0)
		return -1;
	klen = strlen(s->key);
	if (klen == 0) {
		problem(s, err, line, "empty key");
		return -1;
	}
	if (klen > TABLE_KEY_MAX) {
		problem(s, err, line, "key '%.60s...' is longer than %d bytes",
			s->key, TABLE_KEY_MAX);
		return -1;
	}
	if (!(s->flags & TABLE_F_NOFOLD))
		str_lower(s->key);
	return 0;
}

/* emit - move the assembled line to out; 1 when it is good, -1 if not */
static int
emit(struct table_src *s, const char **key, const char **value,
     unsigned long *line, struct buf *err)
{
	bool	bad = s->cur_bad;
	unsigned long l = s->cur_line;

	if (buf_set(&s->out, s->cur.data, s->cur.len) < 0)
		bad = true;		/* cannot happen: same bound */
	s->have_cur = false;
	s->cur_bad = false;
	buf_reset(&s->cur);
	if (bad || finish(s, l, err) < 0)
		return -1;
	*key = s->key;
	*value = s->value;
	*line = l;
	return 1;
}

int
table_src_next(struct table_src *s, const char **key, const char **value,
	       unsigned long *line, struct buf *err)
{
	for (;;) {
		const char *p;
		size_t  n;
		int     r = physical(s, &p, &n, err);

		if (r == -2)
			return -2;
		if (r == 0)
			return s->have_cur ? emit(s, key, value, line, err) : 0;
		if (r < 0) {
			/*
			 * A bad physical line (already reported) starts a bad
			 * logical line, which swallows its continuation lines.
			 */
			int     er = s->have_cur ? emit(s, key, value, line, err) : 0;

			s->have_cur = true;
			s->cur_bad = true;
			s->cur_line = s->lineno;
			if (er != 0)
				return er;
			continue;
		}
		/* Drop trailing white space, including a CR before the LF. */
		while (n > 0 && is_space(p[n - 1]))
			n--;
		{
			size_t  i = 0;

			while (i < n && is_space(p[i]))
				i++;
			if (i == n || p[i] == '#')
				continue;	/* blank or comment */
			if (i > 0) {
				/* A continuation line. */
				if (!s->have_cur) {
					problem(s, err, s->lineno, "continuation "
						"line (it starts with white space) "
						"without a line to continue");
					return -1;
				}
				if (s->cur_bad)
					continue;
				if (buf_putc(&s->cur, ' ') < 0
				    || buf_append(&s->cur, p + i, n - i) < 0) {
					problem(s, err, s->cur_line, "logical "
						"line longer than %d bytes",
						TABLE_LINE_MAX);
					s->cur_bad = true;
				}
				continue;
			}
		}
		/* A new logical line: return the previous one, if any. */
		if (s->have_cur) {
			int     er = emit(s, key, value, line, err);

			s->have_cur = true;
			s->cur_line = s->lineno;
			(void) buf_set(&s->cur, p, n);
			return er;
		}
		s->have_cur = true;
		s->cur_line = s->lineno;
		(void) buf_set(&s->cur, p, n);
	}
}
