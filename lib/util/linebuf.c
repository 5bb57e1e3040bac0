/*
 * NAME
 *	linebuf - bounded line reader for sockets and files
 * DESCRIPTION
 *	See linebuf.h.  One fixed buffer per reader; unread bytes are
 *	buf[start..end).  linebuf_get() looks for LF in at most the first
 *	max_line + 2 unread bytes, which is the most a line of max_line
 *	content bytes can take with its CR LF: finding none there (or a
 *	bare LF one byte too far) means the line is too long, and a piece
 *	of max_line bytes can be cut knowing that it does not end in the
 *	CR of a CR LF.  With fewer bytes buffered and no LF, the answer
 *	waits for more input.  The decision depends on the bytes only,
 *	never on how reads split them.
 *
 *	linebuf_fill() moves the unread bytes (fewer than max_line + 2
 *	after LB_NEED) to the front, so the room for the read is always
 *	at least LB_READ_SIZE, and the buffer never grows.
 *
 *	Under a budget (linebuf_budget()) the size moves between none,
 *	the floor and the full size, always with the unread bytes moved
 *	to the front first; every size holds the max_line + 2 bytes the
 *	line rules need, so the lines returned are the same.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"
#include "log.h"
#include "mem.h"
#include "membudget.h"

#define LINEBUF_MAX_LINE	((size_t) 1 << 30)

void
linebuf_init(struct linebuf *lb, int fd, size_t max_line, lb_read_fn *readfn,
	     void *readctx)
{
	if (max_line == 0 || max_line > LINEBUF_MAX_LINE)
		log_panic("linebuf_init: line bound %zu not in 1..%zu",
			  max_line, LINEBUF_MAX_LINE);
	lb->fd = fd;
	lb->max_line = max_line;
	lb->size = max_line + 2 + LB_READ_SIZE;
	lb->buf = xmalloc(lb->size);
	lb->start = lb->end = 0;
	lb->state = 0;
	lb->bytes_in = 0;
	lb->readfn = readfn;
	lb->readctx = readctx;
	lb->floor = lb->charged = lb->last_read = lb->last_room = 0;
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->start = lb->end = lb->size = 0;
	if (lb->charged > lb->floor) {
		membudget_give(lb->charged - lb->floor);
		lb->charged = lb->floor;
	}
	if (lb->charged > 0)
		membudget_uncharge(lb->charged);
	lb->charged = 0;
}

/* compact - move the unread bytes to the front */
static void
compact(struct linebuf *lb)
{
	if (lb->start > 0) {
		memmove(lb->buf, lb->buf + lb->start, lb->end - lb->start);
		lb->end -= lb->start;
		lb->start = 0;
	}
}

/*
 * resize - under a budget: make the buffer n bytes (0: none), keeping
 * the unread bytes (n holds them); growth past the floor must fit the
 * budget, else nothing changes and false is returned.
 */
static bool
resize(struct linebuf *lb, size_t n)
{
	size_t	old_floor = lb->charged < lb->floor ? lb->charged : lb->floor;
	size_t	old_take = lb->charged - old_floor;
	size_t	new_floor = n < lb->floor ? n : lb->floor;
	size_t	new_take = n - new_floor;

	if (n == lb->size)
		return true;
	if (new_take > old_take && !membudget_take(new_take - old_take))
		return false;
	if (new_take < old_take)
		membudget_give(old_take - new_take);
	if (new_floor > old_floor)
		membudget_charge(new_floor - old_floor);
	else if (new_floor < old_floor)
		membudget_uncharge(old_floor - new_floor);
	lb->charged = n;
	compact(lb);
	if (n == 0) {
		free(lb->buf);
		lb->buf = NULL;
	} else {
		lb->buf = xrealloc(lb->buf, n);
	}
	lb->size = n;
	return true;
}

void
linebuf_budget(struct linebuf *lb, size_t read_min)
{
	if (read_min == 0 || read_min > LB_READ_SIZE)
		log_panic("linebuf_budget: read_min %zu not in 1..%d", read_min,
			  LB_READ_SIZE);
	if (lb->end > lb->start || lb->floor > 0)
		log_panic("linebuf_budget: called on a reader in use");
	lb->floor = lb->max_line + 2 + read_min;
	free(lb->buf);				/* nothing pending: no buffer */
	lb->buf = NULL;
	lb->start = lb->end = lb->size = 0;
	lb->charged = 0;
}

void
linebuf_shrink(struct linebuf *lb)
{
	size_t	pending = lb->end - lb->start;

	if (lb->floor == 0)
		return;
	if (pending == 0)
		(void) resize(lb, 0);
	else if (lb->size > lb->floor && pending <= lb->floor)
		(void) resize(lb, lb->floor);
}

const char *
linebuf_peek(const struct linebuf *lb)
{
	return lb->buf != NULL ? lb->buf + lb->start : "";
}

static void
consume(struct linebuf *lb, size_t n)
{
	lb->start += n;
	if (lb->start == lb->end)
		lb->start = lb->end = 0;	/* spares the next move */
}

/* need - LB_NEED; under a budget a peer that paused gives memory back */
static int
need(struct linebuf *lb)
{
	if (lb->floor > 0 && lb->last_read < lb->floor - lb->max_line - 2)
		linebuf_shrink(lb);
	return LB_NEED;
}

int
linebuf_get(struct linebuf *lb, struct lb_line *l)
{
	const char *p = lb->buf + lb->start;
	size_t  n = lb->end - lb->start;
	size_t  look = n < lb->max_line + 2 ? n : lb->max_line + 2;
	const char *lf;

	if (n == 0)
		return need(lb);
	lf = memchr(p, '\n', look);

	l->data = p;
	l->flags = lb->state ? LB_TOO_LONG : 0;
	if (lf != NULL) {
		size_t  k = (size_t) (lf - p);

		l->len = k;
		l->end = LB_END_LF;
		if (k > 0 && p[k - 1] == '\r') {
			l->len = k - 1;
			l->end = LB_END_CRLF;
		}
		if (l->len <= lb->max_line) {
			lb->state = 0;
			consume(lb, k + 1);
			return LB_LINE;
		}
		/* max_line + 1 bytes and a bare LF: cut a piece. */
	} else if (n < lb->max_line + 2) {
		return need(lb);
	}
	l->len = lb->max_line;
	l->end = LB_END_NONE;
	l->flags = LB_TOO_LONG;
	lb->state = 1;
	consume(lb, lb->max_line);
	return LB_LINE;
}

ssize_t
linebuf_fill(struct linebuf *lb)
{
	size_t  room, full = lb->max_line + 2 + LB_READ_SIZE;
	ssize_t r;

	if (lb->floor > 0) {
		if (lb->size < lb->floor)
			(void) resize(lb, lb->floor);
		else if (lb->size < full && lb->last_read > 0
			 && lb->last_read == lb->last_room)
			(void) resize(lb, full);	/* it filled the room: more */
	}
	compact(lb);
	if ((room = lb->size - lb->end) == 0) {
		errno = ENOBUFS;
		return -1;
	}
	if (lb->readfn != NULL)
		r = lb->readfn(lb->readctx, lb->buf + lb->end, room);
	else
		do
			r = read(lb->fd, lb->buf + lb->end, room);
		while (r < 0 && errno == EINTR);
	if (r > 0) {
		if ((size_t) r > room)
			log_panic("linebuf_fill: reader returned %zd bytes for "
				  "room of %zu", r, room);
		lb->end += (size_t) r;
		lb->bytes_in += (uint64_t) r;
	}
	lb->last_read = r > 0 ? (size_t) r : 0;
	lb->last_room = room;
	return r;
}

size_t
linebuf_take(struct linebuf *lb, void *p, size_t n)
{
	size_t  k = linebuf_pending(lb);

	if (n < k)
		k = n;
	if (p != NULL && k > 0)
		memcpy(p, lb->buf + lb->start, k);
	consume(lb, k);
	lb->state = 0;
	return k;
}
