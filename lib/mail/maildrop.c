/*
 * NAME
 *	maildrop - local submission records: sendmail -> postdrop -> pickup
 * DESCRIPTION
 *	See maildrop.h.  The stream reader is a small state machine over
 *	the record order, because postdrop must refuse a bad record
 *	before it writes anything derived from it; the file reader for
 *	pickup is qfile_read(QF_MAILDROP).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "safefile.h"
#include "str.h"
#include "utf8.h"

/*
 * Output.
 */

void
maildrop_out_init(struct maildrop_out *o, int fd)
{
	o->fd = fd;
	buf_init(&o->b, MAILDROP_CHUNK_MAX + QFILE_HDR_LEN);
	o->offset = 0;
	o->error = 0;
}

void
maildrop_out_free(struct maildrop_out *o)
{
	buf_free(&o->b);
}

static int
out_fail(struct maildrop_out *o, int err)
{
	o->error = err;
	errno = err;
	return -1;
}

int
maildrop_out_flush(struct maildrop_out *o)
{
	if (o->error) {
		errno = o->error;
		return -1;
	}
	if (o->b.len > 0 && sf_write_all(o->fd, o->b.data, o->b.len) < 0)
		return out_fail(o, errno);
	buf_reset(&o->b);
	return 0;
}

int
maildrop_out_raw(struct maildrop_out *o, const void *p, size_t n)
{
	if (o->error) {
		errno = o->error;
		return -1;
	}
	o->offset += n;
	if (n <= buf_room(&o->b)) {
		(void) buf_append(&o->b, p, n);
		return 0;
	}
	if (maildrop_out_flush(o) < 0)
		return -1;
	if (n <= buf_room(&o->b)) {
		(void) buf_append(&o->b, p, n);
		return 0;
	}
	if (sf_write_all(o->fd, p, n) < 0)
		return out_fail(o, errno);
	return 0;
}

int
maildrop_out_put(struct maildrop_out *o, int type, const void *p, size_t n)
{
	char    h[QFILE_HDR_LEN];

	if (type == 0 || strchr("VTASONRME", type) == NULL)
		log_panic("maildrop_out_put: bad record type %d", type);
	if (n > UINT32_MAX)
		return out_fail(o, EFBIG);
	h[0] = (char) type;
	h[1] = (char) (n >> 24);
	h[2] = (char) (n >> 16);
	h[3] = (char) (n >> 8);
	h[4] = (char) n;
	if (maildrop_out_raw(o, h, sizeof(h)) < 0)
		return -1;
	return n > 0 ? maildrop_out_raw(o, p, n) : 0;
}

int
maildrop_out_put_str(struct maildrop_out *o, int type, const char *s)
{
	return maildrop_out_put(o, type, s, strlen(s));
}

/*
 * Input: the stream postdrop reads.
 */

enum {
	ST_VERSION,			/* V next */
	ST_TIME,			/* T next */
	ST_ATTR,			/* A or S next */
	ST_RCPT,			/* O N R or M next */
	ST_MSG,				/* M or E next */
	ST_END,				/* end of input next */
	ST_DONE,			/* 0 was returned */
};

#define IN_READ_SIZE	(64 * 1024)

void
maildrop_in_init(struct maildrop_in *in, int fd, const struct maildrop_limits *lim)
{
	memset(in, 0, sizeof(*in));
	in->fd = fd;
	in->lim = *lim;
	in->cap = QFILE_HDR_LEN + MAILDROP_CHUNK_MAX + IN_READ_SIZE;
	in->buf = xmalloc(in->cap);
	in->state = ST_VERSION;
}

void
maildrop_in_free(struct maildrop_in *in)
{
	free(in->buf);
	in->buf = NULL;
}

static int
in_bad(struct maildrop_in *in, int err, int type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
in_bad(struct maildrop_in *in, int err, int type, const char *fmt, ...)
{
	char    text[180];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (type >= 0x21 && type <= 0x7e)
		(void) str_fmt(in->why, sizeof(in->why), "record %zu (%c): %s",
			       in->recno, type, text);
	else if (type >= 0)
		(void) str_fmt(in->why, sizeof(in->why), "record %zu (\\x%02x): %s",
			       in->recno, type & 0xff, text);
	else
		(void) str_fmt(in->why, sizeof(in->why), "%s", text);
	in->failed = true;
	errno = err;
	return -1;
}

/*
 * fill - make n bytes available at in->buf + in->start (n <= cap).
 * Returns 1, 0 when the input ends first, -1 on a read error.
 */
static int
fill(struct maildrop_in *in, size_t n)
{
	while (in->end - in->start < n) {
		ssize_t k;

		if (in->cap - in->start < n) {
			memmove(in->buf, in->buf + in->start, in->end - in->start);
			in->end -= in->start;
			in->start = 0;
		}
		k = read(in->fd, in->buf + in->end, in->cap - in->end);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0)
			return 0;
		in->end += (size_t) k;
		in->bytes_in += (uint64_t) k;
	}
	return 1;
}

/* attr_ok - "name=value", name of [a-z0-9_] */
static bool
attr_ok(const char *p, size_t n)
{
	size_t  i;

	for (i = 0; i < n && p[i] != '='; i++)
		;
	return i > 0 && i < n && str_all_in(p, i, STR_LOWER STR_DIGITS "_");
}

static size_t
type_max(const struct maildrop_in *in, int type)
{
	switch (type) {
	case QF_REC_VERSION:
		return 16;
	case QF_REC_TIME:
		return MAILDROP_TIME_MAX;
	case QF_REC_ATTR:
		return in->lim.attr_max;
	case QF_REC_SENDER:
	case QF_REC_ORCPT:
	case QF_REC_RCPT:
		return in->lim.addr_max;
	case QF_REC_NOTIFY:
		return QFILE_NOTIFY_MAX;
	case QF_REC_MSG:
		return MAILDROP_CHUNK_MAX;
	default:
		return 0;
	}
}

/* order - is type allowed now?  Advances the state when it is. */
static int
order(struct maildrop_in *in, int type)
{
	switch (in->state) {
	case ST_VERSION:
		if (type != QF_REC_VERSION)
			return in_bad(in, 0, type, "expected V (the version) first");
		in->state = ST_TIME;
		return 0;
	case ST_TIME:
		if (type != QF_REC_TIME)
			return in_bad(in, 0, type, "expected T (the time) after V");
		in->state = ST_ATTR;
		return 0;
	case ST_ATTR:
		if (type == QF_REC_ATTR) {
			if (in->nattrs == in->lim.attr_count)
				return in_bad(in, 0, type, "more than %zu attributes",
					      in->lim.attr_count);
			in->nattrs++;
			return 0;
		}
		if (type != QF_REC_SENDER)
			return in_bad(in, 0, type, "expected A or S here");
		in->state = ST_RCPT;
		return 0;
	case ST_RCPT:
		if (type == QF_REC_ORCPT) {
			if (in->have_orcpt || in->have_notify)
				return in_bad(in, 0, type, "O must come first, once, before its R");
			in->have_orcpt = true;
			return 0;
		}
		if (type == QF_REC_NOTIFY) {
			if (in->have_notify)
				return in_bad(in, 0, type, "two N records before one R");
			in->have_notify = true;
			return 0;
		}
		if (type == QF_REC_RCPT) {
			if (in->nrcpts == in->lim.rcpt_max)
				return in_bad(in, 0, type, "more than %zu recipients",
					      in->lim.rcpt_max);
			in->nrcpts++;
			in->have_orcpt = in->have_notify = false;
			return 0;
		}
		if (type != QF_REC_MSG)
			return in_bad(in, 0, type, "expected O, N, R or M here");
		if (in->have_orcpt || in->have_notify)
			return in_bad(in, 0, type, "O or N without its R");
		in->state = ST_MSG;
		return 0;
	case ST_MSG:
		if (type == QF_REC_MSG)
			return 0;
		if (type != QF_REC_END)
			return in_bad(in, 0, type, "expected M or E here");
		in->state = ST_END;
		return 0;
	default:
		return in_bad(in, 0, type, "data after the end record");
	}
}

/* notify_ok - NEVER, or a list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1) */
static bool
notify_ok(const char *p, size_t n)
{
	size_t	i = 0, items = 0;
	bool	never = false;

	while (i <= n) {
		size_t	k = i;

		while (k < n && p[k] != ',')
			k++;
		if (k - i == 5 && str_ncasecmp(p + i, "NEVER", 5) == 0)
			never = true;
		else if (!((k - i == 7 && (str_ncasecmp(p + i, "SUCCESS", 7) == 0
					   || str_ncasecmp(p + i, "FAILURE", 7) == 0))
			   || (k - i == 5 && str_ncasecmp(p + i, "DELAY", 5) == 0)))
			return false;
		items++;
		i = k + 1;
	}
	return items > 0 && (!never || items == 1);
}

/*
 * maildrop_value_why - see the manual above.  2026-11 review: cleanup
 * refuses these values as a malformed request, a temporary failure for
 * pickup, whose scan stops at one: "sendmail -F ''" held back for ever
 * the local mail of every user whose file came after it in maildrop/.
 * The rules are cleanup_req.c's (V_TEXT, V_TOKEN, notify_ok()).
 */
const char *
maildrop_value_why(int type, const char *p, size_t n)
{
	const char *eq, *v;
	size_t	vn;

	switch (type) {
	case QF_REC_ATTR:
		if ((eq = memchr(p, '=', n)) == NULL)
			return "attribute is not name=value";
		v = eq + 1;
		vn = n - (size_t) (v - p);
		if ((size_t) (eq - p) == strlen(MAILDROP_A_FULLNAME)
		    && memcmp(p, MAILDROP_A_FULLNAME, (size_t) (eq - p)) == 0) {
			if (vn > MAILDROP_FULLNAME_MAX)
				return "fullname= is longer than 256 bytes";
			if (str_has_ctl(v, vn) || !utf8_valid(v, vn))
				return "fullname= is not UTF-8 text";
		} else if ((size_t) (eq - p) == strlen(MAILDROP_A_ENVID)
			   && memcmp(p, MAILDROP_A_ENVID, (size_t) (eq - p)) == 0) {
			if (vn == 0 || vn > MAILDROP_ENVID_MAX)
				return "envid= is not 1 to 100 characters";
			for (size_t i = 0; i < vn; i++)
				if ((unsigned char) v[i] < 0x21 || (unsigned char) v[i] > 0x7e)
					return "envid= holds a space or a non-ASCII character";
		}
		return NULL;
	case QF_REC_ORCPT:
		if (n == 0 || str_has_ctl(p, n) || !utf8_valid(p, n))
			return "O record is not UTF-8 text";
		return NULL;
	case QF_REC_NOTIFY:
		if (!notify_ok(p, n))
			return "N record is not a NOTIFY list (NEVER, or SUCCESS, "
			    "FAILURE, DELAY)";
		return NULL;
	default:
		return NULL;
	}
}

/* check_data - the content rules of one record */
static int
check_data(struct maildrop_in *in, int type, const char *p, size_t n)
{
	const char *why;

	switch (type) {
	case QF_REC_MSG:
		if (n > in->lim.msg_max - in->msg_len)
			return in_bad(in, EFBIG, type, "message larger than %llu bytes",
				      (unsigned long long) in->lim.msg_max);
		in->msg_len += n;
		return 0;
	case QF_REC_END:
		return 0;
	default:
		break;
	}
	if (str_has_ctl(p, n))
		return in_bad(in, 0, type, "control character or NUL in the record");
	switch (type) {
	case QF_REC_VERSION:
		if (n != strlen(QFILE_VERSION) || memcmp(p, QFILE_VERSION, n) != 0)
			return in_bad(in, 0, type, "unsupported version '%.*s'",
				      (int) n, p);
		return 0;
	case QF_REC_ATTR:
		if (!attr_ok(p, n))
			return in_bad(in, 0, type, "attribute is not name=value");
		if ((why = maildrop_value_why(type, p, n)) != NULL)
			return in_bad(in, 0, type, "%s", why);
		return 0;
	case QF_REC_ORCPT:
	case QF_REC_NOTIFY:
	case QF_REC_RCPT:
		if (n == 0)
			return in_bad(in, 0, type, "empty record");
		if ((why = maildrop_value_why(type, p, n)) != NULL)
			return in_bad(in, 0, type, "%s", why);
		return 0;
	default:
		return 0;
	}
}

int
maildrop_in_next(struct maildrop_in *in, struct maildrop_rec *rec)
{
	const unsigned char *h;
	uint32_t len;
	int     type, r;

	if (in->failed) {
		errno = 0;
		return -1;
	}
	if (in->state == ST_DONE)
		return 0;
	if ((r = fill(in, 1)) < 0)
		return in_bad(in, errno, -1, "read error: %s", strerror(errno));
	if (r == 0) {
		if (in->state == ST_END) {
			in->state = ST_DONE;
			return 0;
		}
		return in_bad(in, 0, -1, "the input ended before the end record "
			      "(after %zu records)", in->recno);
	}
	in->recno++;
	if ((r = fill(in, QFILE_HDR_LEN)) <= 0)
		return r < 0 ? in_bad(in, errno, -1, "read error: %s", strerror(errno))
			: in_bad(in, 0, -1, "the input ended inside a record header");
	h = (const unsigned char *) in->buf + in->start;
	type = h[0];
	len = (uint32_t) h[1] << 24 | (uint32_t) h[2] << 16 | (uint32_t) h[3] << 8 | h[4];
	if (type == 0 || strchr("VTASONRME", type) == NULL)
		return in_bad(in, 0, type, "unknown record type");
	if (order(in, type) < 0)
		return -1;
	if (len > type_max(in, type))
		return in_bad(in, 0, type, "%lu bytes, more than the %zu allowed",
			      (unsigned long) len, type_max(in, type));
	if ((r = fill(in, QFILE_HDR_LEN + (size_t) len)) <= 0)
		return r < 0 ? in_bad(in, errno, -1, "read error: %s", strerror(errno))
			: in_bad(in, 0, type, "the input ended inside the record");
	rec->type = type;
	rec->data = in->buf + in->start + QFILE_HDR_LEN;
	rec->len = len;
	in->start += QFILE_HDR_LEN + (size_t) len;
	if (check_data(in, type, rec->data, rec->len) < 0)
		return -1;
	return 1;
}

/*
 * Message content.
 */

void
maildrop_msg_init(struct maildrop_msg *m, uint64_t max, unsigned flags,
		  maildrop_chunk_fn *fn, void *ctx)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->out, MAILDROP_CHUNK_MAX);
	m->max = (max == 0 || max > QFILE_BODY_ABS_MAX) ? QFILE_BODY_ABS_MAX : max;
	m->flags = flags;
	m->first = true;
	m->fn = fn;
	m->ctx = ctx;
}

void
maildrop_msg_free(struct maildrop_msg *m)
{
	buf_free(&m->out);
}

static int
hand_over(struct maildrop_msg *m)
{
	if (m->out.len > 0 && m->fn(m->ctx, m->out.data, m->out.len) != 0)
		return m->status = MAILDROP_EOUT;
	buf_reset(&m->out);
	return 0;
}

static int
emit(struct maildrop_msg *m, const char *p, size_t n)
{
	while (n > 0) {
		size_t  k = n < buf_room(&m->out) ? n : buf_room(&m->out);

		(void) buf_append(&m->out, p, k);
		p += k;
		n -= k;
		if (buf_room(&m->out) == 0 && hand_over(m) < 0)
			return m->status;
	}
	return 0;
}

int
maildrop_msg_line(struct maildrop_msg *m, const struct lb_line *l)
{
	bool    ends = l->end != LB_END_NONE;
	uint64_t add = (uint64_t) l->len + (ends ? 1 : 0);

	if (m->status == MAILDROP_EOUT)
		return m->status;
	if (m->first) {
		m->first = false;
		if ((m->flags & MAILDROP_MSG_SKIP_FROM_) && l->len >= 5
		    && memcmp(l->data, "From ", 5) == 0) {
			m->skipping = !ends;
			return 0;
		}
	} else if (m->skipping) {
		m->skipping = !ends;
		return 0;
	}
	m->in_long = !ends;
	m->size += add;
	if (m->status == MAILDROP_ETOOBIG)
		return m->status;
	if (m->size > m->max) {
		m->status = MAILDROP_ETOOBIG;
		buf_reset(&m->out);
		return m->status;
	}
	if (emit(m, l->data, l->len) < 0 || (ends && emit(m, "\n", 1) < 0))
		return m->status;
	return 0;
}

int
maildrop_msg_finish(struct maildrop_msg *m)
{
	if (m->status != 0)
		return m->status;
	return hand_over(m);
}

int
maildrop_read_input(int fd, size_t line_max, bool ignore_dots, struct maildrop_msg *m)
{
	struct linebuf lb;
	struct lb_line l;
	int     rc = MAILDROP_OK;
	bool    at_start = true;

	linebuf_init(&lb, fd, line_max, NULL, NULL);
	for (;;) {
		if (linebuf_get(&lb, &l) == LB_NEED) {
			ssize_t n = linebuf_fill(&lb);
			size_t  k;
			char   *rest;

			if (n < 0) {
				if (errno == EINTR)
					continue;
				rc = MAILDROP_EIO;
				goto out;
			}
			if (n > 0)
				continue;
			/* End of input, possibly inside a last line without LF. */
			if ((k = linebuf_pending(&lb)) == 0)
				break;
			rest = xmalloc(k);
			k = linebuf_take(&lb, rest, k);
			if (k > 0 && rest[k - 1] == '\r')
				k--;
			l.data = rest;
			l.len = k;
			l.end = LB_END_LF;
			l.flags = at_start ? 0 : LB_TOO_LONG;
			if (!(!ignore_dots && at_start && k == 1 && rest[0] == '.'))
				rc = maildrop_msg_line(m, &l);
			free(rest);
			if (rc != MAILDROP_OK)
				goto out;
			break;
		}
		if (!ignore_dots && !(l.flags & LB_TOO_LONG) && l.len == 1 && l.data[0] == '.')
			break;
		at_start = l.end != LB_END_NONE;
		if ((rc = maildrop_msg_line(m, &l)) != MAILDROP_OK)
			goto out;
	}
	rc = maildrop_msg_finish(m);
out:
	linebuf_free(&lb);
	return rc;
}

/*
 * Names.
 */

void
maildrop_name_new(char out[MAILDROP_NAME_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[MAILDROP_NAME_LEN / 2];
	size_t  got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("getrandom: %m (a maildrop file name must not be guessable)");
		}
		got += (size_t) n;
	}
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[MAILDROP_NAME_LEN] = '\0';
}

bool
maildrop_name_valid(const char *s)
{
	size_t  n = strspn(s, "0123456789abcdef");

	return n == MAILDROP_NAME_LEN && s[n] == '\0';
}

bool
maildrop_temp_valid(const char *s)
{
	return strncmp(s, MAILDROP_TEMP_PREFIX, strlen(MAILDROP_TEMP_PREFIX)) == 0
		&& maildrop_name_valid(s + strlen(MAILDROP_TEMP_PREFIX));
}
