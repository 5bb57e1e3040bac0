/*
 * NAME
 *	table_static - static: and inline: tables
 * DESCRIPTION
 *	See table.h.  static:VALUE answers VALUE for every key;
 *	static:{VALUE} is the same with the braces removed and the inside
 *	trimmed, so a value with spaces or commas survives a main.cf list.
 *
 *	inline:{KEY=VALUE, ...} is parsed once at open into an array
 *	searched linearly: such tables are written by hand in main.cf and
 *	hold a few entries.  Keys are stored lowercased unless
 *	TABLE_F_NOFOLD (the lookup retries a key with capitals in lower
 *	case, see table.c), like a hash: table built by postmap.
 * DIAGNOSTICS
 *	An inline table without braces, an element without '=', an empty
 *	key, a key longer than TABLE_KEY_MAX, unbalanced braces and more
 *	than INLINE_MAX elements are refused at open, naming the element.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "str.h"
#include "table.h"
#include "table_impl.h"

#define INLINE_MAX	1024	/* elements in one inline: table */

struct static_state {
	char   *value;
	size_t	len;
};

struct inline_entry {
	char   *key;
	char   *value;
};

struct inline_state {
	struct inline_entry *e;
	size_t	n;
};

/* trim_span - strip ASCII white space from both ends of [*p, *p + *n) */
static void
trim_span(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
		(*p)++, (*n)--;
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'
			  || (*p)[*n - 1] == '\n' || (*p)[*n - 1] == '\r'))
		(*n)--;
}

static int
static_open(struct table *t)
{
	struct static_state *st;
	const char *p = t->name;
	size_t  n = strlen(p);

	if (n >= 2 && p[0] == '{' && p[n - 1] == '}') {
		p++;
		n -= 2;
		trim_span(&p, &n);
	}
	if (n > TABLE_VALUE_MAX) {
		table_seterr(t, "%.100s: the value is longer than %d bytes",
			     t->spec, TABLE_VALUE_MAX);
		errno = EINVAL;
		return -1;
	}
	st = xmalloc(sizeof(*st));
	st->value = xmemdup(p, n);
	st->len = n;
	t->state = st;
	return 0;
}

static int
static_get(struct table *t, const char *key, struct buf *value)
{
	struct static_state *st = t->state;

	return table_set_value(t, key, value, st->value, st->len);
}

static void
static_close(void *state)
{
	struct static_state *st = state;

	if (st == NULL)
		return;
	free(st->value);
	free(st);
}

const struct table_backend table_static_backend = {
	.type = "static",
	.whole = true,
	.open = static_open,
	.get = static_get,
	.changed = NULL,
	.close = static_close,
};

static void
inline_close(void *state)
{
	struct inline_state *st = state;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n; i++) {
		free(st->e[i].key);
		free(st->e[i].value);
	}
	free(st->e);
	free(st);
}

/* inline_add - parse one element "key = value" of p[0..n) into st */
static int
inline_add(struct table *t, struct inline_state *st, const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	const char *k = p, *v;
	size_t  kn, vn;

	if (eq == NULL) {
		table_seterr(t, "%.200s: element '%.*s' has no '=': write "
			     "inline:{key=value, ...}, or {key = value} for an "
			     "element with spaces", t->spec,
			     (int) (n > 100 ? 100 : n), p);
		return -1;
	}
	kn = (size_t) (eq - p);
	v = eq + 1;
	vn = n - kn - 1;
	trim_span(&k, &kn);
	trim_span(&v, &vn);
	if (kn == 0 || kn > TABLE_KEY_MAX) {
		table_seterr(t, "%.200s: element '%.*s' has %s key", t->spec,
			     (int) (n > 100 ? 100 : n), p,
			     kn == 0 ? "an empty" : "a too long");
		return -1;
	}
	if (vn > TABLE_VALUE_MAX) {
		table_seterr(t, "%.200s: element '%.*s' has a value longer than "
			     "%d bytes", t->spec, (int) kn, k, TABLE_VALUE_MAX);
		return -1;
	}
	if (st->n == INLINE_MAX) {
		table_seterr(t, "%.200s: more than %d elements", t->spec,
			     INLINE_MAX);
		return -1;
	}
	if (st->n % 16 == 0)
		st->e = xreallocarray(st->e, st->n + 16, sizeof(*st->e));
	st->e[st->n].key = xmemdup(k, kn);
	if (!(t->flags & TABLE_F_NOFOLD))
		str_lower(st->e[st->n].key);
	st->e[st->n].value = xmemdup(v, vn);
	st->n++;
	return 0;
}

static int
inline_open(struct table *t)
{
	const char *s = t->name;
	size_t  len = strlen(s);
	const char *end;
	struct inline_state *st;

	if (len < 2 || s[0] != '{' || s[len - 1] != '}') {
		table_seterr(t, "%.200s: an inline table is written "
			     "inline:{key=value, ...} with braces", t->spec);
		errno = EINVAL;
		return -1;
	}
	st = xcalloc(1, sizeof(*st));
	end = s + len - 1;		/* the closing brace */
	s++;
	while (s < end) {
		const char *start;
		size_t  n;

		while (s < end && (*s == ',' || *s == ' ' || *s == '\t'
				   || *s == '\n' || *s == '\r'))
			s++;
		if (s == end)
			break;
		if (*s == '{') {
			/* {key = value with, commas}: up to the matching brace */
			int     depth = 0;

			start = s + 1;
			for (; s < end; s++) {
				if (*s == '{')
					depth++;
				else if (*s == '}' && --depth == 0)
					break;
			}
			if (s == end) {
				table_seterr(t, "%.200s: unbalanced braces",
					     t->spec);
				goto fail;
			}
			n = (size_t) (s - start);
			s++;
		} else {
			start = s;
			while (s < end && *s != ',' && *s != ' ' && *s != '\t'
			       && *s != '\n' && *s != '\r') {
				if (*s == '{' || *s == '}') {
					table_seterr(t, "%.200s: unexpected brace "
						     "inside an element", t->spec);
					goto fail;
				}
				s++;
			}
			n = (size_t) (s - start);
		}
		if (inline_add(t, st, start, n) < 0)
			goto fail;
	}
	t->state = st;
	return 0;

fail:
	inline_close(st);
	errno = EINVAL;
	return -1;
}

static int
inline_get(struct table *t, const char *key, struct buf *value)
{
	struct inline_state *st = t->state;

	for (size_t i = 0; i < st->n; i++)
		if (str_eq(st->e[i].key, key))
			return table_set_value(t, key, value, st->e[i].value,
					       strlen(st->e[i].value));
	return 0;
}

const struct table_backend table_inline_backend = {
	.type = "inline",
	.whole = true,
	.open = inline_open,
	.get = inline_get,
	.changed = NULL,
	.close = inline_close,
};
