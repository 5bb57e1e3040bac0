/*
 * NAME
 *	table_texthash - texthash: tables (a postmap source, no .db)
 * DESCRIPTION
 *	texthash:PATH reads PATH at open with the postmap source reader
 *	(table_src: "KEY VALUE" lines, continuation lines, comments; keys
 *	lowercased unless TABLE_F_NOFOLD) into a sorted array searched by
 *	bisection, as Postfix's texthash: does: the results of hash:PATH
 *	without running postmap.  A duplicate key keeps its first value.
 *	A malformed line makes the open fail, naming the file and the line.
 *	At most TEXTHASH_MAX entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mem.h"
#include "str.h"
#include "table.h"
#include "table_impl.h"

#define TEXTHASH_MAX	1000000

struct entry {
	char   *key;
	char   *value;
	size_t	order;			/* line order: the first duplicate wins */
};

struct texthash {
	struct entry *e;
	size_t	n;
	char   *path;
	struct stat st;
};

static int
by_key(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int     c = strcmp(x->key, y->key);

	return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

static void
texthash_close(void *state)
{
	struct texthash *h = state;

	if (h == NULL)
		return;
	for (size_t i = 0; i < h->n; i++) {
		free(h->e[i].key);
		free(h->e[i].value);
	}
	free(h->e);
	free(h->path);
	free(h);
}

/* seterr - the first problem table_src reported, as t->error */
static void
seterr(struct table *t, const struct buf *err)
{
	const char *e = buf_str(err);

	table_seterr(t, "%s: %.*s", t->spec, (int) strcspn(e, "\n"), e);
}

static int
texthash_open(struct table *t)
{
	struct texthash *h = xcalloc(1, sizeof(*h));
	struct table_src *src;
	struct buf err;
	const char *k, *v;
	unsigned long line;
	size_t  cap = 0, out = 0;
	int     r;

	buf_init(&err, TABLE_ERROR_MAX);
	if ((src = table_src_open(t->name, 0, t->flags, &err)) == NULL) {
		seterr(t, &err);
		buf_free(&err);
		free(h);
		return -1;
	}
	h->st = *table_src_stat(src);
	while ((r = table_src_next(src, &k, &v, &line, &err)) == 1) {
		if (h->n == TEXTHASH_MAX) {
			(void) buf_appendf(&err, "%s: more than %d entries", t->name,
					   TEXTHASH_MAX);
			r = -2;
			break;
		}
		if (h->n == cap) {
			cap = cap ? 2 * cap : 64;
			h->e = xreallocarray(h->e, cap, sizeof(*h->e));
		}
		h->e[h->n].key = xstrdup(k);
		h->e[h->n].value = xstrdup(v);
		h->e[h->n].order = h->n;
		h->n++;
	}
	table_src_close(src);
	if (r != 0 || err.len > 0) {
		seterr(t, &err);
		buf_free(&err);
		texthash_close(h);
		errno = EINVAL;
		return -1;
	}
	buf_free(&err);
	qsort(h->e, h->n, sizeof(*h->e), by_key);
	for (size_t i = 0; i < h->n; i++) {
		if (out > 0 && strcmp(h->e[out - 1].key, h->e[i].key) == 0) {
			free(h->e[i].key);
			free(h->e[i].value);
			continue;
		}
		h->e[out++] = h->e[i];
	}
	h->n = out;
	h->path = xstrdup(t->name);
	t->state = h;
	return 0;
}

static int
texthash_get(struct table *t, const char *key, struct buf *value)
{
	struct texthash *h = t->state;
	size_t  lo = 0, hi = h->n;

	while (lo < hi) {
		size_t  mid = lo + (hi - lo) / 2;
		int     c = strcmp(key, h->e[mid].key);

		if (c == 0)
			return table_set_value(t, key, value, h->e[mid].value,
					       strlen(h->e[mid].value));
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static bool
texthash_changed(struct table *t)
{
	struct texthash *h = t->state;
	struct stat sb;

	return stat(h->path, &sb) < 0 || sb.st_dev != h->st.st_dev
	    || sb.st_ino != h->st.st_ino || sb.st_size != h->st.st_size
	    || sb.st_mtim.tv_sec != h->st.st_mtim.tv_sec
	    || sb.st_mtim.tv_nsec != h->st.st_mtim.tv_nsec;
}

const struct table_backend table_texthash_backend = {
	.type = "texthash",
	.whole = true,
	.fold = TABLE_FOLD_RETRY,
	.open = texthash_open,
	.get = texthash_get,
	.changed = texthash_changed,
	.close = texthash_close,
};
