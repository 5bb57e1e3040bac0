/*
 * NAME
 *	table - lookup tables: spec parsing, dispatch, lists, building
 * DESCRIPTION
 *	See table.h.  This file knows the spec syntax and the rules every
 *	backend shares (key bound, case-folding retry, value checks);
 *	table_db.c, table_static.c and table_unix.c do the lookups.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "str.h"
#include "table.h"
#include "table_impl.h"

#define TABLE_SPEC_MAX	TABLE_LINE_MAX

static const struct table_backend *const backends[] = {
	&table_hash_backend,
	&table_btree_backend,
	&table_static_backend,
	&table_inline_backend,
	&table_unix_backend,
	&table_regexp_backend,
	&table_pcre_backend,
	&table_cidr_backend,
	&table_texthash_backend,
	&table_socketmap_backend,
};

#define NBACKENDS	(sizeof(backends) / sizeof(backends[0]))

void
table_seterr(struct table *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
}

/* errfmt - format into a caller's err array, which may be NULL */
static void
errfmt(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
errfmt(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void) vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
table_set_value(struct table *t, const char *key, struct buf *value,
		const void *data, size_t len)
{
	if (len > TABLE_VALUE_MAX) {
		table_seterr(t, "%s: the value for key '%.100s' is %zu bytes, "
			     "more than the limit of %d: shorten it",
			     t->spec, key, len, TABLE_VALUE_MAX);
		return -1;
	}
	if (len > 0 && memchr(data, '\0', len) != NULL) {
		table_seterr(t, "%s: the value for key '%.100s' contains a NUL "
			     "byte: the table is damaged, rebuild it",
			     t->spec, key);
		return -1;
	}
	if (buf_set(value, data, len) < 0) {
		table_seterr(t, "%s: the value for key '%.100s' is %zu bytes, "
			     "more than the %zu the caller can take",
			     t->spec, key, len, value->max);
		return -1;
	}
	return 1;
}

/* valid_type - is p[0..n) made of the characters a type name may hold? */
static bool
valid_type(const char *p, size_t n)
{
	return n > 0 && str_all_in(p, n, STR_LOWER STR_DIGITS "_-");
}

/*
 * find_backend - split spec into type and name, find the backend.
 * Returns NULL with err set; every failure here is a spec that can
 * never work.
 */
static const struct table_backend *
find_backend(const char *spec, const char **name, char *err, size_t errlen)
{
	const char *colon;
	size_t  tlen;

	if (strlen(spec) > TABLE_SPEC_MAX) {
		errfmt(err, errlen, "table spec '%.60s...' is longer than %d bytes",
		       spec, TABLE_SPEC_MAX);
		return NULL;
	}
	colon = strchr(spec, ':');
	if (colon == NULL || !valid_type(spec, (size_t) (colon - spec))) {
		errfmt(err, errlen, "table '%.200s' has no type: write hash:%.200s",
		       spec, spec);
		return NULL;
	}
	tlen = (size_t) (colon - spec);
	for (size_t i = 0; i < NBACKENDS; i++) {
		if (strlen(backends[i]->type) == tlen
		    && memcmp(backends[i]->type, spec, tlen) == 0) {
			*name = colon + 1;
			return backends[i];
		}
	}
	errfmt(err, errlen, "table '%.200s' has unknown type '%.*s': postern "
	       "supports hash, btree, static, inline, unix, regexp, pcre, cidr, "
	       "texthash and socketmap",
	       spec, (int) (tlen > 40 ? 40 : tlen), spec);
	return NULL;
}

struct table *
table_open(const char *spec, unsigned flags, char *err, size_t errlen)
{
	const struct table_backend *be;
	const char *name;
	struct table *t;

	if ((be = find_backend(spec, &name, err, errlen)) == NULL) {
		errno = EINVAL;
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->spec = xstrdup(spec);
	t->type = xstrdup(be->type);
	t->name = xstrdup(name);
	t->flags = flags;
	t->backend = be;
	if (be->open(t) < 0) {
		int     saved = errno;

		errfmt(err, errlen, "%s", t->error);
		free(t->spec);
		free(t->type);
		free(t->name);
		free(t);
		errno = saved;
		return NULL;
	}
	return t;
}

/* has_upper - does s hold an ASCII upper-case letter? */
static bool
has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

/* key_ok - the key is within the table's bound */
static bool
key_ok(struct table *t, const char *key)
{
	size_t  max = t->backend->key_max ? t->backend->key_max : TABLE_KEY_MAX;
	size_t  klen = strlen(key);

	t->error[0] = '\0';
	if (klen <= max)
		return true;
	table_seterr(t, "%s: lookup key '%.60s...' is %zu bytes, more than the "
		     "limit of %zu", t->spec, key, klen, max);
	return false;
}

int
table_get(struct table *t, const char *key, struct buf *value)
{
	char    lower[TABLE_KEY_MAX + 1];
	int     r;

	if (!key_ok(t, key))
		return -1;
	if (t->backend->fold == TABLE_FOLD_LOWER && has_upper(key)
	    && !(t->flags & TABLE_F_NOFOLD)) {
		(void) str_copy(lower, sizeof(lower), key);
		str_lower(lower);
		return t->backend->get(t, lower, value);
	}
	r = t->backend->get(t, key, value);
	if (r != 0 || t->backend->fold != TABLE_FOLD_RETRY
	    || (t->flags & TABLE_F_NOFOLD) || !has_upper(key))
		return r;

	/*
	 * Tables are built with lowercased keys (postmap without -f), so
	 * a key with capitals is tried again in lower case.
	 */
	(void) str_copy(lower, sizeof(lower), key);
	str_lower(lower);
	return t->backend->get(t, lower, value);
}

bool
table_spec_whole(const char *spec)
{
	const char *name;
	const struct table_backend *be = find_backend(spec, &name, NULL, 0);

	return be != NULL && be->whole;
}

bool
table_spec_fixed(const char *spec)
{
	const char *name;
	const struct table_backend *be = find_backend(spec, &name, NULL, 0);

	return be == NULL || be->fold != TABLE_FOLD_NONE;
}

bool
table_remote(const struct table *t)
{
	return t->backend->start != NULL;
}

int
table_get_async(struct table *t, const char *key, struct buf *value,
		struct ev_loop *loop, table_done_fn *done, void *ctx,
		struct table_call **call)
{
	char    lower[TABLE_KEY_MAX + 1];

	*call = NULL;
	if (t->backend->start == NULL || loop == NULL)
		return table_get(t, key, value);
	if (!key_ok(t, key))
		return -1;
	if (t->backend->fold == TABLE_FOLD_LOWER && !(t->flags & TABLE_F_NOFOLD)) {
		(void) str_copy(lower, sizeof(lower), key);
		str_lower(lower);
		key = lower;
	}
	*call = t->backend->start(t, key, value, loop, done, ctx);
	return TABLE_PENDING;
}

void
table_call_cancel(struct table *t, struct table_call *c)
{
	if (c != NULL)
		t->backend->cancel(c);
}

bool
table_changed(struct table *t)
{
	return t->backend->changed != NULL && t->backend->changed(t);
}

int
table_reopen(struct table *t)
{
	void   *old = t->state;

	t->error[0] = '\0';
	t->state = NULL;
	if (t->backend->open(t) < 0) {
		t->state = old;
		return -1;
	}
	t->backend->close(old);
	return 0;
}

void
table_close(struct table *t)
{
	if (t == NULL)
		return;
	t->backend->close(t->state);
	free(t->spec);
	free(t->type);
	free(t->name);
	free(t);
}

const char *
table_spec(const struct table *t)
{
	return t->spec;
}

/*
 * table_list_next - the next item of a main.cf table list.  Items are
 * separated by commas and white space outside braces, so
 * "inline:{a=b, c=d}" stays one item.  Returns the length of the item
 * at *p (0 at the end) and advances *p past it; -1 on unbalanced braces.
 */
long
table_list_next(const char **p, const char **start)
{
	const char *s = *p;
	int     depth = 0;

	while (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	*start = s;
	for (; *s; s++) {
		if (*s == '{')
			depth++;
		else if (*s == '}') {
			if (--depth < 0)
				return -1;
		} else if (depth == 0 && (*s == ',' || *s == ' ' || *s == '\t'
					  || *s == '\n' || *s == '\r'))
			break;
	}
	if (depth != 0)
		return -1;
	*p = s;
	return (long) (s - *start);
}

struct table_list *
table_list_open(const char *list_value, unsigned flags, char *err,
		size_t errlen)
{
	struct table_list *l = xcalloc(1, sizeof(*l));
	const char *p = list_value;
	const char *start;
	long    n;

	l->tables = xcalloc(TABLE_LIST_MAX, sizeof(*l->tables));
	while ((n = table_list_next(&p, &start)) > 0) {
		char   *spec;

		if (l->count == TABLE_LIST_MAX) {
			errfmt(err, errlen, "table list '%.200s' has more than %d "
			       "tables", list_value, TABLE_LIST_MAX);
			errno = EINVAL;
			goto fail;
		}
		spec = xmemdup(start, (size_t) n);
		l->tables[l->count] = table_open(spec, flags, err, errlen);
		free(spec);
		if (l->tables[l->count] == NULL)
			goto fail;
		l->count++;
	}
	if (n < 0) {
		errfmt(err, errlen, "table list '%.200s' has unbalanced braces",
		       list_value);
		errno = EINVAL;
		goto fail;
	}
	return l;

fail:
	{
		int     saved = errno;

		table_list_close(l);
		errno = saved;
	}
	return NULL;
}

int
table_list_check(const char *list_value, char *err, size_t errlen)
{
	const char *p = list_value, *start, *name;
	const struct table_backend *be;
	size_t  count = 0;
	long    n;

	while ((n = table_list_next(&p, &start)) > 0) {
		char   *spec = xmemdup(start, (size_t) n);
		struct table *t = NULL;

		if (++count > TABLE_LIST_MAX) {
			errfmt(err, errlen, "table list '%.200s' has more than %d "
			       "tables", list_value, TABLE_LIST_MAX);
			free(spec);
			return -1;
		}
		be = find_backend(spec, &name, err, errlen);
		/*
		 * A table without a file is opened whole: its text is all; so
		 * is one read whole at open (regexp, pcre, cidr, texthash), so
		 * that a pattern that does not compile is refused here.
		 */
		if (be != NULL && (be->changed == NULL || be->whole) && !be->start
		    && (t = table_open(spec, 0, err, errlen)) == NULL)
			be = NULL;
		table_close(t);
		free(spec);
		if (be == NULL)
			return -1;
	}
	if (n < 0) {
		errfmt(err, errlen, "table list '%.200s' has unbalanced braces",
		       list_value);
		return -1;
	}
	return 0;
}

int
table_list_get(struct table_list *l, const char *key, struct buf *value,
	       size_t *which)
{
	l->error[0] = '\0';
	for (size_t i = 0; i < l->count; i++) {
		int     r = table_get(l->tables[i], key, value);

		if (r != 0) {
			if (which)
				*which = i;
			if (r < 0)
				(void) str_copy(l->error, sizeof(l->error),
						l->tables[i]->error);
			return r;
		}
	}
	return 0;
}

bool
table_list_changed(struct table_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		if (table_changed(l->tables[i]))
			return true;
	return false;
}

int
table_list_reopen(struct table_list *l)
{
	int     ret = 0;

	l->error[0] = '\0';
	for (size_t i = 0; i < l->count; i++) {
		if (!table_changed(l->tables[i]))
			continue;
		if (table_reopen(l->tables[i]) < 0) {
			(void) str_copy(l->error, sizeof(l->error),
					l->tables[i]->error);
			ret = -1;
		}
	}
	return ret;
}

size_t
table_list_count(const struct table_list *l)
{
	return l->count;
}

struct table *
table_list_at(struct table_list *l, size_t i)
{
	if (i >= l->count)
		log_panic("table_list_at: index %zu of %zu", i, l->count);
	return l->tables[i];
}

void
table_list_close(struct table_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->count; i++)
		table_close(l->tables[i]);
	free(l->tables);
	free(l);
}

int
table_build(const char *spec, int alias_mode, unsigned flags, struct buf *err)
{
	const struct table_backend *be;
	const char *name;
	char    why[TABLE_ERROR_MAX];

	if ((be = find_backend(spec, &name, why, sizeof(why))) == NULL) {
		(void) buf_appendf(err, "%s\n", why);
		return TABLE_EUSAGE;
	}
	if (be != &table_hash_backend && be != &table_btree_backend) {
		(void) buf_appendf(err, "table '%.200s': only hash: and btree: "
				   "tables are built from a source file\n", spec);
		return TABLE_EUSAGE;
	}
	if (*name == '\0') {
		(void) buf_appendf(err, "table '%.200s' has no file name\n", spec);
		return TABLE_EUSAGE;
	}
	return table_db_build(be, name, alias_mode, flags, err);
}
