/*
 * NAME
 *	buf - growable byte buffer with a hard upper bound
 * SYNOPSIS
 *	#include "buf.h"
 *
 *	struct buf b;
 *	buf_init(&b, 64 * 1024);	// never holds more than 64 KiB
 *	if (buf_append(&b, data, n) < 0)
 *		... too long: b is unchanged ...
 *	use(b.data, b.len);		// b.data[b.len] == '\0' always
 *	buf_free(&b);
 * DESCRIPTION
 *	A buf holds up to max bytes of arbitrary data (NUL bytes allowed)
 *	and always keeps a NUL after the last byte, so data can be used
 *	as a C string when it holds no NUL.  Storage grows on demand
 *	(doubling) and is never larger than max + 1.
 *
 *	Every function that adds data returns 0 on success and -1 when
 *	the result would exceed max; on -1 the buffer is left exactly as
 *	it was, so a caller can report "too long" and go on.  Allocation
 *	failure is fatal (see mem.h).
 *
 *	buf_appendf() formats like snprintf() into the buffer.
 *	buf_consume() drops n bytes from the front (n <= len).
 *	buf_truncate() shortens the buffer to len bytes (len <= b->len).
 *	buf_reserve() makes room for n more bytes and returns a pointer
 *	to it; the caller writes up to n bytes and calls buf_commit().
 *	buf_steal() returns the storage (NUL-terminated) and resets b.
 */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char   *data;		/* never NULL after buf_init() */
	size_t  len;		/* bytes in use */
	size_t  cap;		/* bytes allocated, excluding the NUL */
	size_t  max;		/* hard bound on len */
};

void	buf_init(struct buf *b, size_t max);
void	buf_free(struct buf *b);
void	buf_reset(struct buf *b);
int	buf_append(struct buf *b, const void *p, size_t n);
int	buf_puts(struct buf *b, const char *s);
int	buf_putc(struct buf *b, int c);
int	buf_appendf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_vappendf(struct buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
int	buf_set(struct buf *b, const void *p, size_t n);
void	buf_consume(struct buf *b, size_t n);
void	buf_truncate(struct buf *b, size_t len);
char   *buf_reserve(struct buf *b, size_t n);
void	buf_commit(struct buf *b, size_t n);
char   *buf_steal(struct buf *b);

#define buf_str(b)	((const char *) (b)->data)
#define buf_len(b)	((b)->len)
#define buf_room(b)	((b)->max - (b)->len)

#endif
