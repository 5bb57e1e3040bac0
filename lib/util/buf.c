/*
 * NAME
 *	buf - growable byte buffer with a hard upper bound
 * DESCRIPTION
 *	See buf.h.  The invariant checked everywhere: len <= max,
 *	len <= cap, data[len] == '\0'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "mem.h"

#define BUF_MIN_CAP	64

void
buf_init(struct buf *b, size_t max)
{
	if (max == 0 || max > ((size_t) 1 << 40))
		log_panic("buf_init: bad bound %zu", max);
	b->cap = max < BUF_MIN_CAP ? max : BUF_MIN_CAP;
	b->data = xmalloc(b->cap + 1);
	b->data[0] = '\0';
	b->len = 0;
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

/* grow - make room for need bytes in all; caller checked need <= max */
static void
grow(struct buf *b, size_t need)
{
	size_t ncap = b->cap;

	if (need <= b->cap)
		return;
	while (ncap < need)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	b->data = xrealloc(b->data, ncap + 1);
	b->cap = ncap;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->max - b->len)
		return -1;
	grow(b, b->len + n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, int c)
{
	char ch = (char) c;

	return buf_append(b, &ch, 1);
}

int
buf_set(struct buf *b, const void *p, size_t n)
{
	if (n > b->max)
		return -1;
	buf_reset(b);
	return buf_append(b, p, n);
}

int
buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int     n;
	size_t  room = b->cap - b->len;

	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, room + 1, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		goto fail;
	if ((size_t) n > b->max - b->len)
		goto fail;
	if ((size_t) n > room) {
		grow(b, b->len + (size_t) n);
		if (vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap) != n)
			goto fail;
	}
	b->len += (size_t) n;
	return 0;

fail:
	b->data[b->len] = '\0';
	return -1;
}

int
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int     r;

	va_start(ap, fmt);
	r = buf_vappendf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		log_panic("buf_consume: %zu > length %zu", n, b->len);
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len > b->len)
		log_panic("buf_truncate: %zu > length %zu", len, b->len);
	b->len = len;
	b->data[len] = '\0';
}

char *
buf_reserve(struct buf *b, size_t n)
{
	if (n > b->max - b->len)
		return NULL;
	grow(b, b->len + n);
	return b->data + b->len;
}

void
buf_commit(struct buf *b, size_t n)
{
	if (n > b->cap - b->len)
		log_panic("buf_commit: %zu exceeds reserved room", n);
	b->len += n;
	b->data[b->len] = '\0';
}

char *
buf_steal(struct buf *b)
{
	char   *p = b->data;

	b->cap = b->max < BUF_MIN_CAP ? b->max : BUF_MIN_CAP;
	b->data = xmalloc(b->cap + 1);
	b->data[0] = '\0';
	b->len = 0;
	return p;
}
