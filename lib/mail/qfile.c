/*
 * NAME
 *	qfile - queue file records: writer, strict reader, status appends
 * DESCRIPTION
 *	See qfile.h and docs/INTERNALS.md.  The writer keeps one buffer
 *	and sends the content records (H, B) with copy_file_range(), so a
 *	whole queue file costs a handful of system calls.  The reader
 *	keeps one buffer filled with pread(): the small records of a
 *	file are usually read with one system call, and the content is
 *	never read at all.
 *
 *	The reader is a straight sequence of steps, one per place in the
 *	core section, rather than a table-driven machine: the order is
 *	fixed, and each step can then say exactly what it expected.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "num.h"
#include "qfile.h"
#include "qid.h"
#include "str.h"

#define TIME_MAX	32		/* bytes in a T record */
#define VERSION_MAX	16		/* bytes in a V record */
#define QFILE_SMALL_MAX	(1024 * 1024)	/* sanity bound on addr_max, attr_max */

/*
 * Writer.
 */

static bool
known_type(int type)
{
	return type != 0 && strchr("VTQASONRHBMEdfwb", type) != NULL;
}

static void
put_header(char *p, int type, uint32_t len)
{
	p[0] = (char) type;
	p[1] = (char) (len >> 24);
	p[2] = (char) (len >> 16);
	p[3] = (char) (len >> 8);
	p[4] = (char) len;
}

static int
fail(struct qfile_writer *w, int err)
{
	w->error = err;
	errno = err;
	return -1;
}

/* write_vec - write every byte of iov[0..cnt), retrying short writes */
static int
write_vec(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(fd, iov, cnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		while (cnt > 0 && (size_t) n >= iov->iov_len) {
			n -= (ssize_t) iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *) iov->iov_base + n;
			iov->iov_len -= (size_t) n;
		}
	}
	return 0;
}

/* flush - write the buffer and then extra[0..n) */
static int
flush(struct qfile_writer *w, const void *extra, size_t n)
{
	struct iovec iov[2];
	int     cnt = 0;

	if (w->len > 0) {
		iov[cnt].iov_base = w->buf;
		iov[cnt++].iov_len = w->len;
	}
	if (n > 0) {
		iov[cnt].iov_base = (void *) extra;
		iov[cnt++].iov_len = n;
	}
	if (cnt > 0 && write_vec(w->fd, iov, cnt) < 0)
		return fail(w, errno);
	w->len = 0;
	return 0;
}

void
qfile_writer_init(struct qfile_writer *w, int fd)
{
	w->fd = fd;
	w->buf = xmalloc(QFILE_WBUF);
	w->len = 0;
	w->offset = 0;
	w->error = 0;
}

void
qfile_writer_free(struct qfile_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = 0;
}

/* begin - common checks and the record header; -1 on failure */
static int
begin(struct qfile_writer *w, int type, uint64_t len)
{
	if (w->error) {
		errno = w->error;
		return -1;
	}
	if (!known_type(type))
		log_panic("qfile_put: bad record type %d", type);
	if (len > UINT32_MAX || ((type == QF_REC_BODY || type == QF_REC_MSG)
				 && len > QFILE_BODY_ABS_MAX))
		return fail(w, EFBIG);
	if (QFILE_WBUF - w->len < QFILE_HDR_LEN && flush(w, NULL, 0) < 0)
		return -1;
	put_header(w->buf + w->len, type, (uint32_t) len);
	w->len += QFILE_HDR_LEN;
	w->offset += QFILE_HDR_LEN;
	return 0;
}

int
qfile_put(struct qfile_writer *w, int type, const void *data, size_t len)
{
	if (begin(w, type, len) < 0)
		return -1;
	w->offset += len;
	if (len <= QFILE_WBUF - w->len) {
		if (len > 0)
			memcpy(w->buf + w->len, data, len);
		w->len += len;
		return 0;
	}
	/* Too big for the buffer: buffer and data in one writev(). */
	return flush(w, data, len);
}

int
qfile_put_str(struct qfile_writer *w, int type, const char *s)
{
	return qfile_put(w, type, s, strlen(s));
}

int
qfile_put_time(struct qfile_writer *w, const struct timeval *tv)
{
	char    t[TIME_MAX];

	if (str_fmt(t, sizeof(t), "%lld.%06ld", (long long) tv->tv_sec,
		    (long) tv->tv_usec) < 0 || tv->tv_sec < 0
	    || tv->tv_usec < 0 || tv->tv_usec > 999999)
		log_panic("qfile_put_time: bad time %lld.%ld",
			  (long long) tv->tv_sec, (long) tv->tv_usec);
	return qfile_put_str(w, QF_REC_TIME, t);
}

/* copy_plain - pread()/write() fallback through the (empty) buffer */
static int
copy_plain(struct qfile_writer *w, int srcfd, off_t off, uint64_t left)
{
	while (left > 0) {
		size_t  chunk = left < QFILE_WBUF ? (size_t) left : QFILE_WBUF;
		ssize_t n = pread(srcfd, w->buf, chunk, off);
		struct iovec iov;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(w, errno);
		}
		if (n == 0)
			return fail(w, EIO);	/* the source is shorter */
		iov.iov_base = w->buf;
		iov.iov_len = (size_t) n;
		if (write_vec(w->fd, &iov, 1) < 0)
			return fail(w, errno);
		off += n;
		left -= (uint64_t) n;
	}
	return 0;
}

int
qfile_put_fd(struct qfile_writer *w, int type, int srcfd, off_t off,
	     uint64_t len)
{
	loff_t	in = off;
	uint64_t left = len;

	if (w->error == 0 && off < 0)
		return fail(w, EINVAL);
	if (begin(w, type, len) < 0 || flush(w, NULL, 0) < 0)
		return -1;
	w->offset += len;
	while (left > 0) {
		size_t  chunk = left < ((uint64_t) 1 << 30) ? (size_t) left : (size_t) 1 << 30;
		ssize_t n = copy_file_range(srcfd, &in, w->fd, NULL, chunk, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/*
			 * Not possible between these two files (another file
			 * system on an old kernel, a file system without
			 * support, an O_APPEND destination): copy by hand,
			 * from where the kernel stopped.
			 */
			if (errno == EXDEV || errno == EINVAL || errno == ENOSYS
			    || errno == EOPNOTSUPP || errno == EBADF)
				return copy_plain(w, srcfd, in, left);
			return fail(w, errno);
		}
		if (n == 0)
			return fail(w, EIO);	/* the source is shorter */
		left -= (uint64_t) n;
	}
	return 0;
}

int
qfile_finish(struct qfile_writer *w)
{
	if (w->error) {
		errno = w->error;
		return -1;
	}
	return flush(w, NULL, 0);
}

/*
 * Reader.
 */

void
qfile_limits_default(struct qfile_limits *lim)
{
	lim->addr_max = 1024;
	lim->attr_max = 1024;
	lim->attr_count = 1000;
	lim->rcpt_max = 100000;
	lim->hdr_max = 102400 + 65536;
	lim->body_max = 10240000 + 65536;
}

struct reader {
	int	fd;
	unsigned flags;
	const struct qfile_limits *lim;
	struct qfile_env *env;
	off_t	fsize;
	off_t	off;			/* the next record header */
	size_t	recno;			/* records read, for messages */
	char   *buf;			/* pread() cache of the file */
	size_t	cap;
	off_t	buf_off;		/* file offset of buf[0] */
	size_t	buf_len;
	char   *why;
	size_t	whylen;
	int	io_errno;		/* an I/O error, not corruption */
	/* the current record */
	int	type;
	uint32_t len;
	off_t	rec_off;
};

/* bad - set why for the current record; returns -1 */
static int
bad(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad(struct reader *r, const char *fmt, ...)
{
	char    text[200];
	char    type[8];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r->type >= 0x21 && r->type <= 0x7e)
		(void) str_fmt(type, sizeof(type), "%c", r->type);
	else
		(void) str_fmt(type, sizeof(type), "\\x%02x", r->type & 0xff);
	(void) str_fmt(r->why, r->whylen, "record %zu (%s) at offset %lld: %s",
		       r->recno, type, (long long) r->rec_off, text);
	return -1;
}

/* fetch - make file bytes [off, off + n) available; n <= r->cap */
static const char *
fetch(struct reader *r, off_t off, size_t n)
{
	size_t  want, got = 0;

	if (off >= r->buf_off && (uint64_t) (off - r->buf_off) + n <= r->buf_len)
		return r->buf + (off - r->buf_off);
	want = (uint64_t) (r->fsize - off) < r->cap ? (size_t) (r->fsize - off) : r->cap;
	if (want < n)
		want = n;
	while (got < want) {
		ssize_t k = pread(r->fd, r->buf + got, want - got, off + (off_t) got);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			r->io_errno = errno;
			(void) str_fmt(r->why, r->whylen, "read at offset %lld: %s",
				       (long long) (off + (off_t) got), strerror(errno));
			return NULL;
		}
		if (k == 0)
			break;
		got += (size_t) k;
	}
	r->buf_off = off;
	r->buf_len = got;
	if (got < n) {
		(void) str_fmt(r->why, r->whylen, "the file shrank to %lld "
			       "bytes while being read", (long long) (off + (off_t) got));
		r->buf_len = 0;
		return NULL;
	}
	return r->buf;
}

/*
 * header - read the record header at r->off into r->type/len.
 * Returns 0, 1 when the file ends exactly here, -1 on error (a header
 * cut short or a length past the end of the file).
 */
static int
header(struct reader *r)
{
	const unsigned char *p;

	r->rec_off = r->off;
	r->type = 0;
	if (r->off == r->fsize)
		return 1;
	r->recno++;
	if (r->fsize - r->off < QFILE_HDR_LEN)
		return bad(r, "the file ends inside the record header");
	if ((p = (const unsigned char *) fetch(r, r->off, QFILE_HDR_LEN)) == NULL)
		return -1;
	r->type = p[0];
	r->len = (uint32_t) p[1] << 24 | (uint32_t) p[2] << 16
		| (uint32_t) p[3] << 8 | (uint32_t) p[4];
	if ((uint64_t) r->len > (uint64_t) (r->fsize - r->off - QFILE_HDR_LEN))
		return bad(r, "length %lu reaches past the end of the file "
			   "(%lld bytes)", (unsigned long) r->len,
			   (long long) r->fsize);
	return 0;
}

/* expect - read the next header, which must be of this type */
static int
expect(struct reader *r, int type, const char *what)
{
	int     h = header(r);

	if (h < 0)
		return -1;
	if (h > 0) {
		r->recno++;
		r->type = type;
		return bad(r, "the file ends where %c (%s) was expected", type,
			   what);
	}
	if (r->type != type)
		return bad(r, "expected %c (%s) here", type, what);
	return 0;
}

/*
 * take - the data of the current small record, as a new NUL-terminated
 * string, after checking its length against max and that it holds no
 * NUL; NULL with why set on failure.
 */
static char *
take(struct reader *r, size_t max, const char *what)
{
	const char *p;

	if (r->len > max) {
		(void) bad(r, "%s longer than %zu bytes", what, max);
		return NULL;
	}
	if ((p = fetch(r, r->off + QFILE_HDR_LEN, r->len)) == NULL)
		return NULL;
	if (memchr(p, '\0', r->len) != NULL) {
		(void) bad(r, "NUL byte inside the %s", what);
		return NULL;
	}
	r->off += QFILE_HDR_LEN + (off_t) r->len;
	return xmemdup(p, r->len);
}

/* skip - step over the current record's data (H and B) */
static void
skip(struct reader *r)
{
	r->off += QFILE_HDR_LEN + (off_t) r->len;
}

static int
parse_time(struct reader *r, const char *s)
{
	const char *dot = strchr(s, '.');
	char    secs[TIME_MAX];
	uint64_t sec, usec;

	if (dot == NULL || dot == s || strlen(dot + 1) != 6
	    || (size_t) (dot - s) >= sizeof(secs))
		return bad(r, "arrival time '%.40s' is not SECONDS.MICROSECONDS", s);
	memcpy(secs, s, (size_t) (dot - s));
	secs[dot - s] = '\0';
	if (num_parse_u64(secs, 0, (uint64_t) INT64_MAX / 2, &sec, NULL) < 0
	    || num_parse_u64(dot + 1, 0, 999999, &usec, NULL) < 0)
		return bad(r, "arrival time '%.40s' is not SECONDS.MICROSECONDS", s);
	r->env->arrival.tv_sec = (time_t) sec;
	r->env->arrival.tv_usec = (suseconds_t) usec;
	return 0;
}

static int
read_core(struct reader *r, const char *expect_qid)
{
	struct qfile_env *env = r->env;
	const struct qfile_limits *lim = r->lim;
	char   *s, *orig = NULL, *notify = NULL;
	size_t  acap = 0, rcap = 0;
	uint64_t body_max;
	int     h;

	/* V */
	if (expect(r, QF_REC_VERSION, "the version") < 0
	    || (s = take(r, VERSION_MAX, "version")) == NULL)
		return -1;
	if (!str_eq(s, QFILE_VERSION)) {
		(void) bad(r, "unsupported format version '%s'", s);
		free(s);
		return -1;
	}
	free(s);
	env->version = 1;

	/* T */
	if (expect(r, QF_REC_TIME, "the arrival time") < 0
	    || (s = take(r, TIME_MAX, "arrival time")) == NULL)
		return -1;
	h = parse_time(r, s);
	free(s);
	if (h < 0)
		return -1;

	/* Q, except in maildrop files */
	if ((h = header(r)) < 0)
		return -1;
	if (r->flags & QF_MAILDROP) {
		if (h == 0 && r->type == QF_REC_QID)
			return bad(r, "a maildrop file has no queue ID record");
	} else {
		if (h > 0 || r->type != QF_REC_QID) {
			if (h > 0) {
				r->recno++;
				r->type = QF_REC_QID;
			}
			return bad(r, "expected Q (the queue ID) here");
		}
		if ((s = take(r, QFILE_QID_MAX, "queue ID")) == NULL)
			return -1;
		if (!qid_valid(s)) {
			(void) bad(r, "'%s' is not a queue ID", s);
			free(s);
			return -1;
		}
		if (expect_qid != NULL && !str_eq(s, expect_qid)) {
			(void) bad(r, "queue ID %s does not match the file name %.40s",
				   s, expect_qid);
			free(s);
			return -1;
		}
		(void) str_copy(env->qid, sizeof(env->qid), s);
		free(s);
		if ((h = header(r)) < 0)
			return -1;
	}

	/* A* */
	while (h == 0 && r->type == QF_REC_ATTR) {
		char   *eq;

		if (env->nattrs == lim->attr_count)
			return bad(r, "more than %zu attributes", lim->attr_count);
		if ((s = take(r, lim->attr_max, "attribute")) == NULL)
			return -1;
		if ((eq = strchr(s, '=')) == NULL || eq == s) {
			(void) bad(r, "attribute '%.60s' is not name=value", s);
			free(s);
			return -1;
		}
		if (env->nattrs == acap) {
			acap = acap ? 2 * acap : 8;
			env->attrs = xreallocarray(env->attrs, acap, sizeof(char *));
		}
		env->attrs[env->nattrs++] = s;
		if ((h = header(r)) < 0)
			return -1;
	}

	/* S */
	if (h > 0 || r->type != QF_REC_SENDER) {
		if (h > 0) {
			r->recno++;
			r->type = QF_REC_SENDER;
		}
		return bad(r, "expected S (the sender) here");
	}
	if ((env->sender = take(r, lim->addr_max, "sender")) == NULL)
		return -1;

	/* ([O] [N] R)+ */
	for (;;) {
		if ((h = header(r)) < 0)
			goto fail;
		if (h > 0) {
			r->recno++;
			r->type = (r->flags & QF_MAILDROP) ? QF_REC_MSG : QF_REC_HEADER;
			(void) bad(r, "the file ends inside the recipient list");
			goto fail;
		}
		if (r->type == QF_REC_ORCPT) {
			if (orig != NULL || notify != NULL) {
				(void) bad(r, "O must come first, once, before its R");
				goto fail;
			}
			if ((orig = take(r, lim->addr_max, "original recipient")) == NULL)
				goto fail;
			if (*orig == '\0') {
				(void) bad(r, "empty original recipient");
				goto fail;
			}
		} else if (r->type == QF_REC_NOTIFY) {
			if (notify != NULL) {
				(void) bad(r, "two N records before one R");
				goto fail;
			}
			if ((notify = take(r, QFILE_NOTIFY_MAX, "notify flags")) == NULL)
				goto fail;
			if (*notify == '\0') {
				(void) bad(r, "empty notify flags");
				goto fail;
			}
		} else if (r->type == QF_REC_RCPT) {
			struct qfile_rcpt *rc;

			if (env->nrcpts == lim->rcpt_max) {
				(void) bad(r, "more than %zu recipients", lim->rcpt_max);
				goto fail;
			}
			if ((s = take(r, lim->addr_max, "recipient")) == NULL)
				goto fail;
			if (*s == '\0') {
				free(s);
				(void) bad(r, "empty recipient");
				goto fail;
			}
			if (env->nrcpts == rcap) {
				rcap = rcap ? 2 * rcap : 8;
				env->rcpts = xreallocarray(env->rcpts, rcap,
							   sizeof(*env->rcpts));
			}
			rc = &env->rcpts[env->nrcpts++];
			memset(rc, 0, sizeof(*rc));
			rc->address = s;
			rc->orig = orig;
			rc->notify = notify;
			rc->status = QF_RCPT_PENDING;
			orig = notify = NULL;
		} else if (r->type == ((r->flags & QF_MAILDROP) ? QF_REC_MSG : QF_REC_HEADER)) {
			if (orig != NULL || notify != NULL) {
				(void) bad(r, "O or N without its R");
				goto fail;
			}
			if (env->nrcpts == 0 && !(r->flags & QF_MAILDROP)) {
				(void) bad(r, "no recipient (R) before the header");
				goto fail;
			}
			break;
		} else {
			(void) bad(r, "unexpected record in the recipient list");
			goto fail;
		}
	}

	/* M: a maildrop file holds the whole message in one record. */
	if (r->flags & QF_MAILDROP) {
		body_max = lim->hdr_max + lim->body_max;
		if (body_max > QFILE_BODY_ABS_MAX)
			body_max = QFILE_BODY_ABS_MAX;
		if (r->len > body_max)
			return bad(r, "message longer than %llu bytes",
				   (unsigned long long) body_max);
		env->msg_off = r->off + QFILE_HDR_LEN;
		env->msg_len = r->len;
		skip(r);
		goto end;
	}

	/* H */
	if (r->len > lim->hdr_max)
		return bad(r, "header section longer than %llu bytes",
			   (unsigned long long) lim->hdr_max);
	env->hdr_off = r->off + QFILE_HDR_LEN;
	env->hdr_len = r->len;
	skip(r);

	/* B */
	if (expect(r, QF_REC_BODY, "the body") < 0)
		return -1;
	body_max = lim->body_max < QFILE_BODY_ABS_MAX ? lim->body_max : QFILE_BODY_ABS_MAX;
	if (r->len > body_max)
		return bad(r, "body longer than %llu bytes",
			   (unsigned long long) body_max);
	env->body_off = r->off + QFILE_HDR_LEN;
	env->body_len = r->len;
	skip(r);

	/* E */
end:
	if (expect(r, QF_REC_END, "the end of the core section") < 0)
		return -1;
	if (r->len != 0)
		return bad(r, "the end record is not empty");
	skip(r);
	env->core_end = r->off;
	env->status_end = r->off;
	return 0;

fail:
	free(orig);
	free(notify);
	return -1;
}

/* zero_tail - are the file's bytes from off to the end all NUL? */
static int
zero_tail(struct reader *r, off_t off)
{
	while (off < r->fsize) {
		size_t  n = (uint64_t) (r->fsize - off) < r->cap ? (size_t) (r->fsize - off) : r->cap;
		const char *p = fetch(r, off, n);

		if (p == NULL)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (p[i] != '\0')
				return 0;
		off += (off_t) n;
	}
	return 1;
}

/* parse_index - the recipient index at the start of s; advances *s */
static int
parse_index(struct reader *r, const char **s, size_t *index)
{
	char    digits[16];
	size_t  n = strspn(*s, "0123456789");
	uint64_t v;

	if (n == 0 || n >= sizeof(digits))
		return bad(r, "no recipient index");
	memcpy(digits, *s, n);
	digits[n] = '\0';
	if (num_parse_u64(digits, 0, UINT64_MAX, &v, NULL) < 0
	    || v >= r->env->nrcpts)
		return bad(r, "recipient index %s out of range (%zu recipients)",
			   digits, r->env->nrcpts);
	*index = (size_t) v;
	*s += n;
	return 0;
}

/* parse_dsn - "C.S.D" at *s (RFC 3463: class 2, 4 or 5; 1-3 digits) */
static int
parse_dsn(struct reader *r, const char **s, char **dsn)
{
	const char *p = *s;
	size_t  n;

	if (*p != '2' && *p != '4' && *p != '5')
		return bad(r, "no DSN status code");
	p++;
	for (int part = 0; part < 2; part++) {
		if (*p != '.')
			return bad(r, "malformed DSN status code");
		p++;
		n = strspn(p, "0123456789");
		if (n == 0 || n > 3)
			return bad(r, "malformed DSN status code");
		p += n;
	}
	*dsn = xmemdup(*s, (size_t) (p - *s));
	*s = p;
	return 0;
}

static bool
is_final(const struct qfile_rcpt *rc)
{
	return rc->status == QF_RCPT_DELIVERED || rc->status == QF_RCPT_FAILED;
}

/* apply - check one status record's data and apply it */
static int
apply(struct reader *r, const char *data)
{
	struct qfile_env *env = r->env;
	const char *p = data;
	struct qfile_rcpt *rc;
	char   *dsn = NULL;
	size_t  i;

	switch (r->type) {
	case QF_REC_BOUNCED:
		if (*p != '\0')
			return bad(r, "the bounce record is not empty");
		for (i = 0; i < env->nrcpts; i++)
			if (env->rcpts[i].status == QF_RCPT_FAILED)
				env->rcpts[i].bounced = true;
		env->bounced = true;
		return 0;
	case QF_REC_WARNED:
		if (*p != '\0')
			return bad(r, "the delay warning record is not empty");
		env->warned = true;
		return 0;
	case QF_REC_DONE:
		if (parse_index(r, &p, &i) < 0)
			return -1;
		if (*p != '\0')
			return bad(r, "junk after the recipient index");
		rc = &env->rcpts[i];
		if (!is_final(rc)) {
			rc->status = QF_RCPT_DELIVERED;
			free(rc->dsn);
			free(rc->reason);
			rc->dsn = rc->reason = NULL;
		}
		return 0;
	case QF_REC_FAIL:
	case QF_REC_DEFER:
		if (parse_index(r, &p, &i) < 0)
			return -1;
		if (*p++ != ' ')
			return bad(r, "expected \"INDEX DSN REASON\"");
		if (parse_dsn(r, &p, &dsn) < 0)
			return -1;
		if (*p != '\0' && *p++ != ' ') {
			free(dsn);
			return bad(r, "expected \"INDEX DSN REASON\"");
		}
		rc = &env->rcpts[i];
		if (is_final(rc)) {
			free(dsn);
			return 0;
		}
		rc->status = r->type == QF_REC_FAIL ? QF_RCPT_FAILED : QF_RCPT_DEFERRED;
		free(rc->dsn);
		free(rc->reason);
		rc->dsn = dsn;
		rc->reason = xstrdup(p);
		return 0;
	default:
		return bad(r, "not a status record");
	}
}

static int
read_status(struct reader *r)
{
	struct qfile_env *env = r->env;

	for (;;) {
		const unsigned char *p;
		char   *data;
		int     z;

		r->rec_off = r->off;
		r->type = 0;
		if (r->off == r->fsize)
			return 0;
		if (r->flags & QF_MAILDROP) {
			r->recno++;
			return bad(r, "data after the end record of a maildrop file");
		}
		if ((p = (const unsigned char *) fetch(r, r->off, 1)) == NULL)
			return -1;
		if (*p == 0) {
			/* Type 0 never exists: a NUL-filled tail, or junk. */
			r->recno++;
			if ((z = zero_tail(r, r->off)) < 0)
				return -1;
			if (z == 0)
				return bad(r, "not a status record");
			env->status_truncated = true;
			return 0;
		}
		r->recno++;
		r->type = *p;
		if (r->type != QF_REC_DONE && r->type != QF_REC_FAIL
		    && r->type != QF_REC_DEFER && r->type != QF_REC_BOUNCED
		    && r->type != QF_REC_WARNED)
			return bad(r, "not a status record");
		if (r->fsize - r->off < QFILE_HDR_LEN) {
			env->status_truncated = true;	/* a cut header */
			return 0;
		}
		if ((p = (const unsigned char *) fetch(r, r->off, QFILE_HDR_LEN)) == NULL)
			return -1;
		r->len = (uint32_t) p[1] << 24 | (uint32_t) p[2] << 16
			| (uint32_t) p[3] << 8 | (uint32_t) p[4];
		if (r->len > QFILE_STATUS_MAX)
			return bad(r, "status record longer than %d bytes",
				   QFILE_STATUS_MAX);
		if ((uint64_t) r->len > (uint64_t) (r->fsize - r->off - QFILE_HDR_LEN)) {
			env->status_truncated = true;	/* cut data */
			return 0;
		}
		if ((data = take(r, QFILE_STATUS_MAX, "status record")) == NULL)
			return -1;
		z = apply(r, data);
		free(data);
		if (z < 0)
			return -1;
		env->nstatus++;
		env->status_end = r->off;
	}
}

int
qfile_read(int fd, unsigned flags, const char *expect_qid,
	   const struct qfile_limits *lim, struct qfile_env *env,
	   char *why, size_t whylen)
{
	struct qfile_limits deflim;
	struct reader r;
	struct stat st;
	size_t  small;
	int     ret;

	memset(env, 0, sizeof(*env));
	if (lim == NULL) {
		qfile_limits_default(&deflim);
		lim = &deflim;
	}
	if (fstat(fd, &st) < 0) {
		int     saved = errno;

		(void) str_fmt(why, whylen, "fstat: %s", strerror(saved));
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		(void) str_fmt(why, whylen, "not a regular file");
		errno = 0;
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.fd = fd;
	r.flags = flags;
	r.lim = lim;
	r.env = env;
	r.fsize = st.st_size;
	r.why = why;
	r.whylen = whylen;
	/* The buffer holds any small record whole. */
	if (lim->addr_max > QFILE_SMALL_MAX || lim->attr_max > QFILE_SMALL_MAX)
		log_panic("qfile_read: address or attribute limit over %d bytes",
			  QFILE_SMALL_MAX);
	small = lim->addr_max > lim->attr_max ? lim->addr_max : lim->attr_max;
	if (small < QFILE_STATUS_MAX)
		small = QFILE_STATUS_MAX;
	r.cap = small + QFILE_HDR_LEN > QFILE_RBUF ? small + QFILE_HDR_LEN : QFILE_RBUF;
	r.buf = xmalloc(r.cap);
	env->file_size = st.st_size;

	if ((flags & QF_MAILDROP) && expect_qid != NULL)
		log_panic("qfile_read: a maildrop file has no queue ID to expect");
	ret = read_core(&r, expect_qid);
	if (ret == 0)
		ret = read_status(&r);
	free(r.buf);
	if (ret < 0) {
		qfile_env_free(env);
		errno = r.io_errno;
		return -1;
	}
	return 0;
}

void
qfile_env_free(struct qfile_env *env)
{
	for (size_t i = 0; i < env->nattrs; i++)
		free(env->attrs[i]);
	free(env->attrs);
	free(env->sender);
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct qfile_rcpt *rc = &env->rcpts[i];

		free(rc->address);
		free(rc->orig);
		free(rc->notify);
		free(rc->dsn);
		free(rc->reason);
	}
	free(env->rcpts);
	memset(env, 0, sizeof(*env));
}

const char *
qfile_env_attr(const struct qfile_env *env, const char *name)
{
	size_t  n = strlen(name);

	for (size_t i = 0; i < env->nattrs; i++)
		if (strncmp(env->attrs[i], name, n) == 0 && env->attrs[i][n] == '=')
			return env->attrs[i] + n + 1;
	return NULL;
}

/*
 * Status appends.
 */

int
qfile_append_status(int fd, int type, const char *data)
{
	char    rec[QFILE_HDR_LEN + QFILE_STATUS_MAX];
	size_t  len = strlen(data);
	ssize_t n;

	if ((type != QF_REC_DONE && type != QF_REC_FAIL && type != QF_REC_DEFER
	     && type != QF_REC_BOUNCED && type != QF_REC_WARNED)
	    || len > QFILE_STATUS_MAX) {
		errno = EINVAL;
		return -1;
	}
	put_header(rec, type, (uint32_t) len);
	memcpy(rec + QFILE_HDR_LEN, data, len);
	do
		n = write(fd, rec, QFILE_HDR_LEN + len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t) n < QFILE_HDR_LEN + len) {
		/*
		 * Take the part back, so that a later record does not follow
		 * it.  With O_APPEND the offset is now the end of the file.
		 */
		off_t	end = lseek(fd, 0, SEEK_CUR);

		if (end >= n)
			(void) !ftruncate(fd, end - n);
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

int
qfile_repair_tail(int fd, const struct qfile_env *env)
{
	if (!env->status_truncated)
		return 0;
	return ftruncate(fd, env->status_end);
}
