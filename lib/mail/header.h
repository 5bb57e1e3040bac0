/*
 * NAME
 *	header - walk an RFC 5322 header section held in memory
 * SYNOPSIS
 *	#include "header.h"
 *
 *	struct header_iter it;
 *	struct header h;
 *	int	r;
 *
 *	header_iter_init(&it, data, len, cfg->header_size_limit);
 *	while ((r = header_next(&it, &h)) != HEADER_END) {
 *		if (r == HEADER_JUNK) {
 *			... h.raw[0..h.raw_len) is not a header line ...
 *			continue;
 *		}
 *		if (h.flags & HEADER_TRUNCATED)
 *			... longer than the bound, cut ...
 *		if (header_name_is(&h, "To"))
 *			use(h.value, h.value_len);
 *	}
 *	body = data + header_iter_offset(&it);
 *
 *	struct buf v;
 *	buf_init(&v, 64 * 1024);
 *	header_unfold(h.value, h.value_len, &v);	// one line
 * DESCRIPTION
 *	The input is LF-terminated lines in Unix form (a queue file's H
 *	record, or the start of a spooled message), data[0..len); it need
 *	not be NUL-terminated and may hold NUL bytes.  A last line without
 *	LF ends at the end of the input.
 *
 *	header_next() returns one logical header at a time:
 *	  HEADER_NEXT	a header: "name:" then the value, plus every
 *			following line that starts with a space or tab
 *			(folded continuation).  h->name, h->name_len: the
 *			field name (without white space before the ':',
 *			which RFC 5322's obsolete syntax allows);
 *			h->value, h->value_len: everything after the ':'
 *			up to the last line's LF (exclusive), continuation
 *			LFs included, nothing trimmed; h->raw, h->raw_len:
 *			the whole logical header without its last LF.
 *			When the logical header is longer than the bound
 *			(raw_len counted), raw and value are cut at the
 *			bound, HEADER_TRUNCATED is set in h->flags, and
 *			the rest of it is skipped.
 *	  HEADER_JUNK	a line that is neither "name:" nor a continuation
 *			(including a continuation line before any header):
 *			h->raw, h->raw_len hold it (cut at the bound, with
 *			HEADER_TRUNCATED), h->name is NULL.  A header
 *			whose name and ':' alone pass the bound is
 *			reported this way too.  The caller decides:
 *			Postfix ends the header section at such a line
 *			(the rest is body); a reader may skip it.
 *	  HEADER_END	the header section is over: an empty line was
 *			read (it is consumed) or the input ended.  Every
 *			later call returns HEADER_END again.
 *	header_iter_offset() is the offset of the first byte not yet
 *	consumed: after HEADER_END, where the body begins.
 *
 *	header_name_valid() is true for a field name of 1 or more
 *	printable US-ASCII characters other than ':' (RFC 5322 ftext:
 *	%d33-57 / %d59-126).  header_name_is() compares a header's name
 *	with name, ASCII case-insensitive.
 *
 *	header_unfold() appends raw[0..n) to out with every LF (or CR LF)
 *	that is followed by a space or tab removed (RFC 5322 section
 *	2.2.3: unfolding keeps the white space); an LF or CR that is not
 *	part of a fold becomes a space, so the result is one line.
 *	Returns 0, or -1 when out's bound cut it short (out then holds
 *	what fitted).
 * SECURITY
 *	The iterator only moves forward and never looks past data + len;
 *	the amount of one header that the caller gets is bounded, and a
 *	longer one costs a linear scan and nothing else.
 */
#ifndef POSTERN_HEADER_H
#define POSTERN_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum { HEADER_END = 0, HEADER_NEXT = 1, HEADER_JUNK = 2 };

#define HEADER_TRUNCATED	0x1

struct header {
	const char *name;	/* NULL for HEADER_JUNK */
	size_t	name_len;
	const char *value;	/* after ':' */
	size_t	value_len;
	const char *raw;	/* the whole logical header */
	size_t	raw_len;
	unsigned flags;
};

struct header_iter {
	const char *data;
	size_t	len;
	size_t	pos;
	size_t	max;		/* bound on one logical header */
	bool	done;
};

void	header_iter_init(struct header_iter *it, const char *data, size_t len,
			 size_t max);
int	header_next(struct header_iter *it, struct header *h);
size_t	header_iter_offset(const struct header_iter *it);
bool	header_name_valid(const char *p, size_t n);
bool	header_name_is(const struct header *h, const char *name);
int	header_unfold(const char *raw, size_t n, struct buf *out);

#endif
