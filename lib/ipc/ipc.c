/*
 * NAME
 *	ipc - typed, length-prefixed messages between postern processes
 * DESCRIPTION
 *	See ipc.h.  This file builds and parses messages; ipc_io.c does
 *	the blocking ipc_send() and ipc_recv() and passes descriptors;
 *	ipc_conn.c holds the non-blocking connection buffers and the
 *	socket helpers.
 *
 *	A struct ipc_msg holds the 12-byte header followed by the records,
 *	so a message goes out with one sendmsg() and no copy; the header
 *	is filled in when the message is sent.
 *
 *	The payload is checked as a whole on receipt (ipc_in_check()), so
 *	ipc_get_*() can rely on the record structure and only compare
 *	kind, name and bound.
 * SECURITY
 *	Every length is checked against what was received before it is
 *	used; names are limited to printable characters so that they can
 *	be named in diagnostics; message data never is.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"
#include "ipc_impl.h"
#include "log.h"

#define REC_HDR_LEN	6	/* kind, name length, data length */

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char) (v >> 8);
	p[1] = (unsigned char) v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char) v;
}

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
	    | (uint32_t) p[2] << 8 | p[3];
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t) get32(p) << 32 | get32(p + 4);
}

static const char *
kind_name(int kind)
{
	switch (kind) {
	case 's':
		return "string";
	case 'n':
		return "number";
	case 'b':
		return "blob";
	default:
		return "unknown";
	}
}

/* name_ok - 1..IPC_NAME_MAX bytes, each printable ASCII but not space */
static bool
name_ok(const unsigned char *p, size_t n)
{
	if (n == 0 || n > IPC_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	return true;
}

/*
 * Building.
 */

void
ipc_msg_init(struct ipc_msg *m, uint16_t type)
{
	unsigned char hdr[IPC_HDR_LEN] = {'P', 'M', IPC_VERSION};

	buf_init(&m->b, IPC_HDR_LEN + IPC_MSG_MAX);
	put16(hdr + 4, type);
	(void) buf_append(&m->b, hdr, sizeof(hdr));
	m->nrec = 0;
	m->failed = 0;
}

void
ipc_msg_free(struct ipc_msg *m)
{
	buf_free(&m->b);
}

static int
put_rec(struct ipc_msg *m, int kind, const char *name, const void *data,
	size_t n, bool nul)
{
	size_t  nl = strlen(name), need;
	unsigned char *p;

	if (m->failed)
		return -1;
	if (!name_ok((const unsigned char *) name, nl)) {
		m->failed = EINVAL;
		return -1;
	}
	if (m->nrec == UINT16_MAX || n > IPC_MSG_MAX
	    || (need = REC_HDR_LEN + nl + n + nul) > buf_room(&m->b)
	    || (p = (unsigned char *) buf_reserve(&m->b, need)) == NULL) {
		m->failed = EMSGSIZE;
		return -1;
	}
	p[0] = (unsigned char) kind;
	p[1] = (unsigned char) nl;
	put32(p + 2, (uint32_t) (n + nul));
	memcpy(p + REC_HDR_LEN, name, nl);
	if (n > 0)
		memcpy(p + REC_HDR_LEN + nl, data, n);
	if (nul)
		p[REC_HDR_LEN + nl + n] = '\0';
	buf_commit(&m->b, need);
	m->nrec++;
	return 0;
}

int
ipc_put_strn(struct ipc_msg *m, const char *name, const char *s, size_t n)
{
	if (memchr(s, '\0', n) != NULL) {
		if (!m->failed)
			m->failed = EINVAL;
		return -1;
	}
	return put_rec(m, 's', name, s, n, true);
}

int
ipc_put_str(struct ipc_msg *m, const char *name, const char *s)
{
	return put_rec(m, 's', name, s, strlen(s), true);
}

int
ipc_put_num(struct ipc_msg *m, const char *name, uint64_t v)
{
	unsigned char p[8];

	put32(p, (uint32_t) (v >> 32));
	put32(p + 4, (uint32_t) v);
	return put_rec(m, 'n', name, p, sizeof(p), false);
}

int
ipc_put_blob(struct ipc_msg *m, const char *name, const void *p, size_t n)
{
	return put_rec(m, 'b', name, p, n, false);
}

void
ipc_hdr_finish(struct ipc_msg *m, bool with_fd)
{
	unsigned char *h = (unsigned char *) m->b.data;

	h[3] = with_fd ? IPC_F_FD : 0;
	put16(h + 6, m->nrec);
	put32(h + 8, (uint32_t) (m->b.len - IPC_HDR_LEN));
}

const void *
ipc_msg_wire(struct ipc_msg *m, bool with_fd, size_t *len)
{
	ipc_hdr_finish(m, with_fd);
	*len = m->b.len;
	return m->b.data;
}

/*
 * Parsing.
 */

void
ipc_in_init_max(struct ipc_in *in, size_t max)
{
	if (max == 0 || max > IPC_MSG_MAX)
		log_panic("ipc_in_init_max: bound %zu not in 1..%d", max,
			  IPC_MSG_MAX);
	buf_init(&in->store, max);
	ipc_in_reset(in);
	in->err = NULL;
}

/* ipc_in_reset - no message: getters fail, the error text stays */
void
ipc_in_reset(struct ipc_in *in)
{
	buf_reset(&in->store);
	in->type = 0;
	in->flags = 0;
	in->nrec_left = 0;
	in->pos = 0;
	in->name[0] = '\0';
}

void
ipc_in_init(struct ipc_in *in)
{
	ipc_in_init_max(in, IPC_MSG_MAX);
}

void
ipc_in_free(struct ipc_in *in)
{
	buf_free(&in->store);
}

int
ipc_in_fail(struct ipc_in *in, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(in->errbuf, sizeof(in->errbuf), fmt, ap);
	va_end(ap);
	in->err = in->errbuf;
	errno = err;
	return -1;
}

const char *
ipc_error(const struct ipc_in *in)
{
	return in->err ? in->err : "no error";
}

int
ipc_hdr_parse(const unsigned char *p, size_t max, struct ipc_hdr *h,
	      char *why, size_t whylen)
{
	if (p[0] != 'P' || p[1] != 'M') {
		(void) snprintf(why, whylen, "bad magic 0x%02x%02x (not a "
				"postern message)", p[0], p[1]);
		errno = EPROTO;
		return -1;
	}
	if (p[2] != IPC_VERSION) {
		(void) snprintf(why, whylen, "protocol version %u, expected %u "
				"(mixed postern versions?)", p[2], IPC_VERSION);
		errno = EPROTO;
		return -1;
	}
	if (p[3] & ~IPC_F_FD) {
		(void) snprintf(why, whylen, "unknown flags 0x%02x", p[3]);
		errno = EPROTO;
		return -1;
	}
	h->flags = p[3];
	h->type = get16(p + 4);
	h->nrec = get16(p + 6);
	h->len = get32(p + 8);
	if (h->len > max) {
		(void) snprintf(why, whylen, "message type %u of %lu bytes "
				"exceeds the bound of %zu", h->type,
				(unsigned long) h->len, max);
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

ssize_t
ipc_frame(const void *p, size_t len, size_t max, char *why, size_t whylen)
{
	struct ipc_hdr h;

	if (len < IPC_HDR_LEN)
		return 0;
	if (ipc_hdr_parse(p, max, &h, why, whylen) < 0)
		return -1;
	if (h.flags & IPC_F_FD) {
		(void) snprintf(why, whylen, "message type %u brings a "
				"descriptor where none is expected", h.type);
		errno = EPROTO;
		return -1;
	}
	return len < IPC_HDR_LEN + (size_t) h.len ? 0
	    : (ssize_t) (IPC_HDR_LEN + (size_t) h.len);
}

int
ipc_in_parse(struct ipc_in *in, const void *p, size_t len)
{
	struct ipc_hdr h;

	ipc_in_reset(in);
	if (len < IPC_HDR_LEN)
		return ipc_in_fail(in, EPROTO, "truncated message header");
	if (ipc_hdr_parse(p, in->store.max, &h, in->errbuf, sizeof(in->errbuf)) < 0) {
		in->err = in->errbuf;
		return -1;
	}
	if (len != IPC_HDR_LEN + (size_t) h.len)
		return ipc_in_fail(in, EPROTO, "message type %u: %zu bytes, "
				   "its header says %lu", h.type, len,
				   (unsigned long) (IPC_HDR_LEN + h.len));
	if (h.flags & IPC_F_FD)
		return ipc_in_fail(in, EPROTO, "message type %u announces a "
				   "descriptor", h.type);
	if (buf_set(&in->store, (const char *) p + IPC_HDR_LEN, h.len) < 0)
		return ipc_in_fail(in, EMSGSIZE, "message type %u of %lu bytes "
				   "exceeds the bound of %zu", h.type,
				   (unsigned long) h.len, in->store.max);
	return ipc_in_check(in, &h);
}

int
ipc_in_check(struct ipc_in *in, const struct ipc_hdr *h)
{
	const unsigned char *p = (const unsigned char *) in->store.data;
	size_t  len = in->store.len, pos = 0, count = 0;

	while (pos < len) {
		size_t  left, nl, dl;
		const unsigned char *data;
		int     kind;

		if (len - pos < REC_HDR_LEN)
			return ipc_in_fail(in, EPROTO, "record %zu: truncated "
					   "record header", count + 1);
		left = len - pos - REC_HDR_LEN;
		kind = p[pos];
		nl = p[pos + 1];
		dl = get32(p + pos + 2);
		if (kind != 's' && kind != 'n' && kind != 'b')
			return ipc_in_fail(in, EPROTO, "record %zu: unknown "
					   "kind 0x%02x", count + 1, kind);
		if (nl > left || dl > left - nl)
			return ipc_in_fail(in, EPROTO, "record %zu: truncated "
					   "(%zu+%zu bytes announced, %zu left)",
					   count + 1, nl, dl, left);
		if (!name_ok(p + pos + REC_HDR_LEN, nl))
			return ipc_in_fail(in, EPROTO, "record %zu: bad name "
					   "(length %zu)", count + 1, nl);
		data = p + pos + REC_HDR_LEN + nl;
		if (kind == 'n' && dl != 8)
			return ipc_in_fail(in, EPROTO, "number \"%.*s\" of %zu "
					   "bytes, expected 8", (int) nl,
					   p + pos + REC_HDR_LEN, dl);
		if (kind == 's' && (dl == 0 || data[dl - 1] != '\0'
				    || memchr(data, '\0', dl - 1) != NULL))
			return ipc_in_fail(in, EPROTO, "string \"%.*s\" is not "
					   "one NUL-terminated string", (int) nl,
					   p + pos + REC_HDR_LEN);
		if (++count > h->nrec)
			break;
		pos += REC_HDR_LEN + nl + dl;
	}
	if (count > h->nrec)
		return ipc_in_fail(in, EPROTO, "%u records announced, more "
				   "present", h->nrec);
	if (count < h->nrec)
		return ipc_in_fail(in, EPROTO, "%u records announced, %zu "
				   "present", h->nrec, count);
	in->type = h->type;
	in->flags = h->flags;
	in->nrec_left = h->nrec;
	in->pos = 0;
	in->err = NULL;
	return 0;
}

/* next_rec - the next record if it has this kind and name, else NULL */
static const unsigned char *
next_rec(struct ipc_in *in, int kind, const char *name, size_t *dl)
{
	const unsigned char *p = (const unsigned char *) in->store.data + in->pos;
	size_t  nl;

	if (in->nrec_left == 0) {
		(void) ipc_in_fail(in, EPROTO, "expected %s \"%s\", found the "
				   "end of the message", kind_name(kind), name);
		return NULL;
	}
	nl = p[1];
	*dl = get32(p + 2);
	if (p[0] != kind || nl != strlen(name)
	    || memcmp(p + REC_HDR_LEN, name, nl) != 0) {
		(void) ipc_in_fail(in, EPROTO, "expected %s \"%s\", found %s "
				   "\"%.*s\"", kind_name(kind), name,
				   kind_name(p[0]), (int) nl, p + REC_HDR_LEN);
		return NULL;
	}
	return p + REC_HDR_LEN + nl;
}

static void
advance(struct ipc_in *in, const unsigned char *data, size_t dl)
{
	in->pos = (size_t) (data - (const unsigned char *) in->store.data) + dl;
	in->nrec_left--;
}

int
ipc_get_str(struct ipc_in *in, const char *name, const char **s, size_t max)
{
	const unsigned char *d;
	size_t  dl;

	if ((d = next_rec(in, 's', name, &dl)) == NULL)
		return -1;
	if (dl - 1 > max)
		return ipc_in_fail(in, EPROTO, "string \"%s\" of %zu bytes "
				   "exceeds the bound of %zu", name, dl - 1, max);
	*s = (const char *) d;
	advance(in, d, dl);
	return 0;
}

int
ipc_get_num(struct ipc_in *in, const char *name, uint64_t *v)
{
	const unsigned char *d;
	size_t  dl;

	if ((d = next_rec(in, 'n', name, &dl)) == NULL)
		return -1;
	*v = get64(d);
	advance(in, d, dl);
	return 0;
}

int
ipc_get_blob(struct ipc_in *in, const char *name, const void **p,
	     size_t *n, size_t max)
{
	const unsigned char *d;
	size_t  dl;

	if ((d = next_rec(in, 'b', name, &dl)) == NULL)
		return -1;
	if (dl > max)
		return ipc_in_fail(in, EPROTO, "blob \"%s\" of %zu bytes "
				   "exceeds the bound of %zu", name, dl, max);
	*p = d;
	*n = dl;
	advance(in, d, dl);
	return 0;
}

const char *
ipc_peek_name(struct ipc_in *in)
{
	const unsigned char *p = (const unsigned char *) in->store.data + in->pos;

	if (in->nrec_left == 0)
		return NULL;
	memcpy(in->name, p + REC_HDR_LEN, p[1]);
	in->name[p[1]] = '\0';
	return in->name;
}

int
ipc_get_end(struct ipc_in *in)
{
	const unsigned char *p = (const unsigned char *) in->store.data + in->pos;

	if (in->nrec_left != 0)
		return ipc_in_fail(in, EPROTO, "unexpected %s \"%.*s\" after "
				   "the last expected record", kind_name(p[0]),
				   (int) p[1], p + REC_HDR_LEN);
	return 0;
}
