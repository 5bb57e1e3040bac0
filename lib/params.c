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
 *	loaded, never per message.
 */
#include <stddef.h>
#include <string.h>

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

const struct param_info *
param_find(const char *name)
{
	for (size_t i = 0; i < param_count; i++)
		if (strcmp(param_table[i].name, name) == 0)
			return &param_table[i];
	return NULL;
}
