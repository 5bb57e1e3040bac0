/*
 * NAME
 *	table_impl - what the table backends share (private to lib/table/table*.c)
 * SYNOPSIS
 *	#include "table_impl.h"
 * DESCRIPTION
 *	Each backend fills a struct table_backend.  table.c parses the
 *	spec, checks the key bound and does the case-folding retry, so a
 *	backend only opens, looks up one exact key, and closes:
 *
 *	fold		how keys are given to get (the case-folding retry
 *			of file tables, none for patterns and addresses,
 *			lowercase once for remote tables); key_max the
 *			longest key (0: TABLE_KEY_MAX); whole: the table
 *			is read whole at open (no I/O per lookup).
 *	open(t)		sets t->state from t->name and t->flags; returns 0,
 *			or -1 with t->error and errno set.  table_reopen()
 *			calls it with t->state NULL and puts the old state
 *			back on failure.
 *	get(t, key, value)
 *			1 found, 0 not found, -1 error (t->error).
 *	changed(t)	NULL for tables that never change.
 *	close(state)	releases a state returned by open.
 *	start, cancel	optional: the lookup as an event on loop (remote
 *			tables); done(ctx, r, why) later, value filled when
 *			r is 1.  Without them table_get_async() calls get.
 *
 *	table_seterr() formats t->error.  table_set_value() stores a
 *	result in the caller's buffer after checking its length and that
 *	it holds no NUL byte.
 *
 *	table_src_*() read a postmap/postalias source file for
 *	table_build(): table_src_next() returns 1 with the next entry,
 *	0 at the end, -1 for a malformed line (the message is appended to
 *	err; reading may go on to find more problems) and -2 for a read
 *	error (stop).
 *
 *	table_db_build() writes PATH.db for table_build().
 */
#ifndef POSTERN_TABLE_IMPL_H
#define POSTERN_TABLE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "buf.h"
#include "table.h"

/* How keys meet the table (table.c applies it before get). */
enum table_fold {
	TABLE_FOLD_RETRY,		/* as given, then lowercased if it has capitals */
	TABLE_FOLD_NONE,		/* as given only (patterns, addresses) */
	TABLE_FOLD_LOWER,		/* lowercased once (remote tables) */
};

struct table_backend {
	const char *type;
	enum table_fold fold;
	size_t	key_max;		/* 0: TABLE_KEY_MAX */
	bool	whole;			/* read whole at open: no I/O per lookup */
	int	(*open)(struct table *t);
	int	(*get)(struct table *t, const char *key, struct buf *value);
	bool	(*changed)(struct table *t);
	void	(*close)(void *state);
	/* Optional: a lookup as an event (table_get_async()). */
	struct table_call *(*start)(struct table *t, const char *key,
				    struct buf *value, struct ev_loop *loop,
				    table_done_fn *done, void *ctx);
	void	(*cancel)(struct table_call *c);
};

extern const struct table_backend table_hash_backend;
extern const struct table_backend table_btree_backend;
extern const struct table_backend table_static_backend;
extern const struct table_backend table_inline_backend;
extern const struct table_backend table_unix_backend;
extern const struct table_backend table_regexp_backend;
extern const struct table_backend table_pcre_backend;
extern const struct table_backend table_cidr_backend;
extern const struct table_backend table_texthash_backend;
extern const struct table_backend table_socketmap_backend;

void	table_seterr(struct table *t, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	table_set_value(struct table *t, const char *key, struct buf *value,
			const void *data, size_t len);

struct table_src;

struct table_src *table_src_open(const char *path, int alias_mode,
				 unsigned flags, struct buf *err);
int	table_src_next(struct table_src *s, const char **key,
		       const char **value, unsigned long *line,
		       struct buf *err);
const struct stat *table_src_stat(const struct table_src *s);
void	table_src_close(struct table_src *s);

int	table_db_build(const struct table_backend *be, const char *name,
		       int alias_mode, unsigned flags, struct buf *err);

#endif
