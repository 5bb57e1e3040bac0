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
#include "str.h"

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

/* The per-transport families (params.h). */
const struct param_family param_families[] = {
	{"_destination_concurrency_limit", "default_destination_concurrency_limit"},
	{"_destination_recipient_limit", "default_destination_recipient_limit"},
	{"_initial_destination_concurrency", "initial_destination_concurrency"},
	{"_destination_rate_delay", "default_destination_rate_delay"},
	{"_destination_concurrency_failed_cohort_limit",
	"default_destination_concurrency_failed_cohort_limit"},
	{"_destination_concurrency_positive_feedback",
	"default_destination_concurrency_positive_feedback"},
	{"_destination_concurrency_negative_feedback",
	"default_destination_concurrency_negative_feedback"},
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

/*
 * transport_setting - the params.def entry for TRANSPORT+suffix, or
 * else its per_transport[] setting (*set), or else the family's fallback
 */
static const struct param_info *
transport_setting(const struct params *p, const char *transport,
		  const char *suffix, const struct param_transport **set)
{
	const struct param_info *pi;
	char    name[256];
	size_t  k, tl = strlen(transport), sl = strlen(suffix);

	*set = NULL;
	for (k = 0; k < param_family_count; k++)
		if (strcmp(param_families[k].suffix, suffix) == 0)
			break;
	if (k == param_family_count)
		log_panic("param_transport: no parameter family %s", suffix);
	if (tl + sl >= sizeof(name))
		return param_find(param_families[k].fallback);
	memcpy(name, transport, tl);
	memcpy(name + tl, suffix, sl + 1);
	if ((pi = param_find(name)) != NULL)
		return pi;
	for (size_t i = 0; i < p->n_per_transport; i++)
		if (strcmp(p->per_transport[i].name, name) == 0) {
			*set = &p->per_transport[i];
			break;
		}
	return param_find(param_families[k].fallback);
}

long long
param_transport_int(const struct params *p, const char *transport,
		    const char *suffix)
{
	const struct param_transport *set;
	const struct param_info *pi = transport_setting(p, transport, suffix, &set);
	const void *field;

	if (pi == NULL || (pi->type != PT_INT && pi->type != PT_TIME))
		log_panic("param_transport_int: %s%s is not an integer or time "
			  "parameter", transport, suffix);
	if (set != NULL)
		return set->value;
	field = (const char *) p + pi->offset;
	if (pi->type == PT_TIME)
		return (long long) *(const uint64_t *) field;
	return *(const long long *) field;
}

const char *
param_transport_str(const struct params *p, const char *transport,
		    const char *suffix)
{
	const struct param_transport *set;
	const struct param_info *pi = transport_setting(p, transport, suffix, &set);

	if (pi == NULL || pi->type != PT_STR)
		log_panic("param_transport_str: %s%s is not a string parameter",
			  transport, suffix);
	if (set != NULL && set->str != NULL)
		return set->str;
	return *(const char *const *) (const void *) ((const char *) p + pi->offset);
}

/* number - a non-negative decimal number (digits, at most one '.'), or -1 */
static int
number(const char *s, size_t n, double *out)
{
	double	v = 0, scale = 0;
	size_t	digits = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && scale == 0) {
			scale = 1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || digits >= 12)
			return -1;
		digits++;
		if (scale > 0) {
			scale /= 10;
			v += (s[i] - '0') * scale;
		} else
			v = v * 10 + (s[i] - '0');
	}
	if (digits == 0)
		return -1;
	*out = v;
	return 0;
}

/* trim - [*s, *e) without the spaces around it */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

int
param_feedback_parse(const char *value, struct param_feedback *fb, char *why,
		     size_t size)
{
	const char *slash = strchr(value, '/'), *end = value + strlen(value);
	const char *a = value, *ae = slash ? slash : end;
	double	num, den = 1;

	fb->base = 1;
	fb->per_window = false;
	trim(&a, &ae);
	if (number(a, (size_t) (ae - a), &num) < 0) {
		(void) str_fmt(why, size, "\"%s\": want a number from 0 to 1, "
			       "N/M or N/concurrency", value);
		return -1;
	}
	if (slash != NULL) {
		const char *b = slash + 1, *be = end;

		trim(&b, &be);
		if ((size_t) (be - b) == 11 && strncmp(b, "concurrency", 11) == 0) {
			fb->per_window = true;
		} else if (number(b, (size_t) (be - b), &den) < 0 || den == 0) {
			(void) str_fmt(why, size, "\"%s\": after '/' want a number "
				       "other than 0, or concurrency", value);
			return -1;
		}
	}
	if (num / den > 1) {
		(void) str_fmt(why, size, "\"%s\": more than 1 (feedback is "
			       "from 0 to 1)", value);
		return -1;
	}
	fb->base = num / den;
	return 0;
}

double
param_feedback_value(const struct param_feedback *fb, int window)
{
	if (!fb->per_window)
		return fb->base;
	return fb->base / (window > 1 ? window : 1);
}
