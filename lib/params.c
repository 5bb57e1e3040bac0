/*
 * NAME
 *	params - the table of main.cf parameters
 * DESCRIPTION
 *	See params.h.  param_table[] is generated from params.def, so a
 *	parameter is added in one place only; each entry records where
 *	its field lives in struct params (offsetof), which lets config.c
 *	fill the structure without knowing any parameter by name.
 *
 *	cfg stays NULL until config_install(): code that reads a
 *	parameter before the configuration is loaded crashes at once
 *	instead of silently using a default.
 *
 *	param_find() is a linear search: the table has a few hundred
 *	entries at most and is searched only while a configuration is
 *	loaded, never per message.  param_transport_int() searches too:
 *	qmgr calls it once per transport it meets, not per message.
 */
#include <stddef.h>
#include <string.h>

#include "log.h"
#include "params.h"

const struct param_info param_table[] = {
#define PARAM_STR(n, d) \
	{#n, PT_STR, d, 0, 0, 0, offsetof(struct params, n), false},
#define PARAM_LIST(n, d) \
	{#n, PT_LIST, d, 0, 0, 0, offsetof(struct params, n), false},
#define PARAM_MAPS(n, d) \
	{#n, PT_LIST, d, 0, 0, 0, offsetof(struct params, n), true},
#define PARAM_INT(n, d, lo, hi) \
	{#n, PT_INT, d, 0, lo, hi, offsetof(struct params, n), false},
#define PARAM_SIZE(n, d, lo, hi) \
	{#n, PT_SIZE, d, 0, lo, hi, offsetof(struct params, n), false},
#define PARAM_TIME(n, d, u, lo, hi) \
	{#n, PT_TIME, d, u, lo, hi, offsetof(struct params, n), false},
#define PARAM_BOOL(n, d) \
	{#n, PT_BOOL, d, 0, 0, 0, offsetof(struct params, n), false},
#include "params.def"
#undef PARAM_STR
#undef PARAM_LIST
#undef PARAM_MAPS
#undef PARAM_INT
#undef PARAM_SIZE
#undef PARAM_TIME
#undef PARAM_BOOL
};

const size_t param_count = sizeof(param_table) / sizeof(param_table[0]);

const struct params *cfg;

/* The per-transport families (params.h); fallbacks are PARAM_INT. */
const struct param_family param_families[] = {
	{"_destination_concurrency_limit", "default_destination_concurrency_limit"},
	{"_destination_recipient_limit", "default_destination_recipient_limit"},
	{"_initial_destination_concurrency", "initial_destination_concurrency"},
};

const size_t param_family_count = sizeof(param_families) / sizeof(param_families[0]);

const struct param_info *
param_find(const char *name)
{
	for (size_t i = 0; i < param_count; i++)
		if (strcmp(param_table[i].name, name) == 0)
			return &param_table[i];
	return NULL;
}

int
param_family_of(const char *name)
{
	size_t  n = strlen(name);

	if (param_find(name) != NULL)
		return -1;
	for (size_t k = 0; k < param_family_count; k++) {
		size_t  sl = strlen(param_families[k].suffix);

		/* A transport name before the suffix, and not "default". */
		if (n > sl && strcmp(name + n - sl, param_families[k].suffix) == 0
		    && !(n - sl == 7 && strncmp(name, "default", 7) == 0))
			return (int) k;
	}
	return -1;
}

long long
param_transport_int(const struct params *p, const char *transport,
		    const char *suffix)
{
	const struct param_info *pi;
	char    name[256];
	size_t  k, tl = strlen(transport), sl = strlen(suffix);

	for (k = 0; k < param_family_count; k++)
		if (strcmp(param_families[k].suffix, suffix) == 0)
			break;
	if (k == param_family_count)
		log_panic("param_transport_int: no parameter family %s", suffix);
	if (tl + sl >= sizeof(name))
		return 0;
	memcpy(name, transport, tl);
	memcpy(name + tl, suffix, sl + 1);
	if ((pi = param_find(name)) == NULL) {
		for (size_t i = 0; i < p->n_per_transport; i++)
			if (strcmp(p->per_transport[i].name, name) == 0)
				return p->per_transport[i].value;
		pi = param_find(param_families[k].fallback);
	}
	if (pi == NULL || pi->type != PT_INT)
		log_panic("param_transport_int: %s is not an integer parameter", name);
	return *(const long long *) (const void *) ((const char *) p + pi->offset);
}
