/*
 * table_get.h - for table suites: one lookup as a string to compare
 */
#ifndef POSTERN_TEST_TABLE_GET_H
#define POSTERN_TEST_TABLE_GET_H

#include "buf.h"
#include "str.h"
#include "table.h"

/* get - the value for key, or "-" not found, or "!error" */
static const char *
get(struct table *t, const char *key)
{
	static char out[TABLE_VALUE_MAX + 2];
	struct buf v;
	int	r;

	buf_init(&v, TABLE_VALUE_MAX);
	r = table_get(t, key, &v);
	if (r > 0)
		(void) str_copy(out, sizeof(out), buf_str(&v));
	else
		(void) str_fmt(out, sizeof(out), r == 0 ? "-" : "!%s", t->error);
	buf_free(&v);
	return out;
}

#endif
