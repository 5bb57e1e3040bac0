/*
 * NAME
 *	header - walk an RFC 5322 header section held in memory
 * DESCRIPTION
 *	See header.h.  Each call of header_next() looks at the bytes of
 *	one logical header once (memchr for each line end), so a section
 *	of len bytes costs O(len) in all, whatever it holds.
 */
#include <string.h>

#include "header.h"
#include "log.h"
#include "str.h"

void
header_iter_init(struct header_iter *it, const char *data, size_t len,
		 size_t max)
{
	if (max == 0)
		log_panic("header_iter_init: zero bound");
	it->data = data;
	it->len = len;
	it->pos = 0;
	it->max = max;
	it->done = false;
}

size_t
header_iter_offset(const struct header_iter *it)
{
	return it->pos;
}

/* line_end - offset of the LF that ends the line at pos, or len */
static size_t
line_end(const struct header_iter *it, size_t pos)
{
	const char *lf = memchr(it->data + pos, '\n', it->len - pos);

	return lf != NULL ? (size_t) (lf - it->data) : it->len;
}

static inline bool
is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static inline bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int
header_next(struct header_iter *it, struct header *h)
{
	const char *d = it->data;
	size_t  start, e, j, k, end;

	memset(h, 0, sizeof(*h));
	if (it->done)
		return HEADER_END;
	if (it->pos >= it->len) {
		it->done = true;
		return HEADER_END;
	}
	start = it->pos;
	e = line_end(it, start);
	if (e == start) {
		it->pos = e + 1;	/* the empty line belongs to the header section */
		it->done = true;
		return HEADER_END;
	}

	/* "name" [WSP] ":" ... */
	for (j = start; j < e && is_ftext((unsigned char) d[j]); j++)
		;
	for (k = j; k < e && is_wsp(d[k]); k++)
		;
	if (j == start || k >= e || d[k] != ':' || k + 1 - start > it->max) {
		h->raw = d + start;
		h->raw_len = e - start;
		if (h->raw_len > it->max) {
			h->raw_len = it->max;
			h->flags |= HEADER_TRUNCATED;
		}
		it->pos = e < it->len ? e + 1 : e;
		return HEADER_JUNK;
	}

	/* The logical header: this line and its continuation lines. */
	end = e;
	while (end + 1 < it->len && is_wsp(d[end + 1]))
		end = line_end(it, end + 1);
	it->pos = end < it->len ? end + 1 : end;

	h->name = d + start;
	h->name_len = j - start;
	h->raw = d + start;
	h->raw_len = end - start;
	if (h->raw_len > it->max) {
		h->raw_len = it->max;
		h->flags |= HEADER_TRUNCATED;
	}
	h->value = d + k + 1;
	h->value_len = start + h->raw_len - (k + 1);
	return HEADER_NEXT;
}

bool
header_name_valid(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_ftext((unsigned char) p[i]))
			return false;
	return true;
}

bool
header_name_is(const struct header *h, const char *name)
{
	size_t  n = strlen(name);

	return h->name != NULL && h->name_len == n &&
	    str_ncasecmp(h->name, name, n) == 0;
}

/* put_run - append p[0..n), or as much as fits; -1 if cut */
static int
put_run(struct buf *out, const char *p, size_t n)
{
	if (buf_append(out, p, n) == 0)
		return 0;
	(void) buf_append(out, p, buf_room(out));
	return -1;
}

int
header_unfold(const char *raw, size_t n, struct buf *out)
{
	size_t  run = 0, i = 0;

	while (i < n) {
		size_t  skip;

		if (raw[i] != '\n' && raw[i] != '\r') {
			i++;
			continue;
		}
		if (put_run(out, raw + run, i - run) < 0)
			return -1;
		/* CR LF counts as one line end. */
		skip = (raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n') ? 2 : 1;
		if (raw[i + skip - 1] == '\n' && i + skip < n && is_wsp(raw[i + skip])) {
			/* A fold: drop the line end, keep the white space. */
		} else if (put_run(out, " ", 1) < 0) {
			return -1;
		}
		i += skip;
		run = i;
	}
	return put_run(out, raw + run, n - run);
}
