/*
 * NAME
 *	param_class - which class a main.cf or master.cf -o name is in
 * DESCRIPTION
 *	See param_class.h.  The table is small (a few hundred patterns)
 *	and is searched only while a configuration is checked, never per
 *	message, so a linear walk is enough.  Unsupported entries are
 *	searched before ignored ones, but the unit test makes sure no
 *	name matches both, so the order never decides anything.
 */
#include <stdlib.h>
#include <string.h>

#include "param_class.h"
#include "params.h"

const struct param_class_entry param_class_table[] = {
#define PARAM_UNSUPPORTED(p, w)	{p, PARAM_UNSUPPORTED, w},
#define PARAM_IGNORED(p, w)	{p, PARAM_IGNORED, w},
#include "params_postfix.def"
#undef PARAM_UNSUPPORTED
#undef PARAM_IGNORED
};

const size_t param_class_count = sizeof(param_class_table) / sizeof(param_class_table[0]);

bool
param_pattern_match(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	/* Classic glob with one backtrack point: linear in practice. */
	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* find - the first entry of class cls that matches name, or NULL */
static const struct param_class_entry *
find(const char *name, enum param_class cls)
{
	for (size_t i = 0; i < param_class_count; i++)
		if (param_class_table[i].cls == cls
		    && param_pattern_match(param_class_table[i].pattern, name))
			return &param_class_table[i];
	return NULL;
}

enum param_class
param_class(const char *name, const char **what)
{
	const struct param_class_entry *e;

	if (what)
		*what = "";
	if (param_find(name) != NULL)
		return PARAM_IMPLEMENTED;
	if ((e = find(name, PARAM_UNSUPPORTED)) == NULL
	    && (e = find(name, PARAM_IGNORED)) == NULL)
		return PARAM_UNKNOWN;
	if (what)
		*what = e->what;
	return e->cls;
}

static const char *const postfix_names[] = {
#define POSTFIX_NAME(n)	n,
#include "postfix_names.def"
#undef POSTFIX_NAME
};

static int
by_name(const void *key, const void *elem)
{
	return strcmp((const char *) key, *(const char *const *) elem);
}

bool
param_postfix_name(const char *name)
{
	return bsearch(name, postfix_names, sizeof(postfix_names) / sizeof(postfix_names[0]),
		       sizeof(postfix_names[0]), by_name) != NULL;
}
