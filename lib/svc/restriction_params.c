/*
 * NAME
 *	restriction_params - main.cf's restriction classes
 * DESCRIPTION
 *	See restriction_params.h.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mem.h"
#include "restriction.h"
#include "restriction_params.h"
#include "str.h"

/* user_value - main.cf's value of a name params.def does not have */
static const char *
user_value(const struct params *p, const char *name)
{
	for (size_t k = 0; k < p->n_unused; k++)
		if (str_eq(p->unused[k].name, name) && p->unused[k].value != NULL)
			return p->unused[k].expanded ? p->unused[k].expanded
			    : p->unused[k].value;
	return NULL;
}

int
restriction_params_classes(const struct params *p, char *why, size_t whylen)
{
	char  **names = NULL;
	const char **values;
	int     n, r = -1;

	if ((n = config_list_split(p->smtpd_restriction_classes,
				   RESTRICTION_CLASSES_MAX, &names)) < 0) {
		(void) str_fmt(why, whylen, "more than %d classes",
			       RESTRICTION_CLASSES_MAX);
		(void) restriction_classes_set(NULL, NULL, 0);
		return -1;
	}
	values = xcalloc((size_t) n + 1, sizeof(*values));
	for (int i = 0; i < n; i++) {
		if (param_find(names[i]) != NULL || restriction_word(names[i]) != NULL) {
			(void) str_fmt(why, whylen, "class %.100s: the name of a %s "
				       "(choose another name)", names[i],
				       param_find(names[i]) ? "parameter" : "restriction");
			goto out;
		}
		if ((values[i] = user_value(p, names[i])) == NULL) {
			(void) str_fmt(why, whylen, "class %.100s is not set in main.cf "
				       "(add \"%.100s = restrictions ...\")", names[i],
				       names[i]);
			goto out;
		}
	}
	(void) restriction_classes_set((const char *const *) names, values, (size_t) n);
	/* Each list, now that every class name is a word. */
	for (int i = 0; i < n; i++) {
		struct restriction *l;
		size_t  k;
		char    w[RESTRICTION_WHY_MAX];

		if (restriction_parse(values[i], &l, &k, w, sizeof(w)) < 0) {
			(void) str_fmt(why, whylen, "class %.100s = %.200s: %s", names[i],
				       values[i], w);
			goto out;
		}
		restriction_free(l, k);
	}
	r = 0;
out:
	if (r < 0)
		(void) restriction_classes_set(NULL, NULL, 0);
	free(values);
	config_list_free(names, n);
	return r;
}
