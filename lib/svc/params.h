/*
 * NAME
 *	params - the typed main.cf parameter set
 * SYNOPSIS
 *	#include "params.h"
 *
 *	if (cfg->message_size_limit && size > cfg->message_size_limit) ...
 * DESCRIPTION
 *	struct params holds one field per line of params.def, with the
 *	field named after the parameter:
 *	  PARAM_STR, PARAM_LIST,
 *	  PARAM_MAPS		const char * (expanded, never NULL)
 *	  PARAM_INT		long long
 *	  PARAM_SIZE		uint64_t (bytes)
 *	  PARAM_TIME		uint64_t (seconds)
 *	  PARAM_BOOL		bool
 *
 *	cfg points at the set in force in this process.  It is filled
 *	once at start-up by config_load() + config_install() and is
 *	read-only afterwards; a reload is a new process.
 *
 *	param_table[] describes every parameter (name, type, default,
 *	bounds, field offset); param_count is its length.
 *	param_find(name) returns an entry or NULL.  An entry's tables
 *	flag marks a PARAM_MAPS parameter: a list of lookup tables, each
 *	"type:name", whose types `postern check` holds against the types
 *	postern can open.
 *
 *	Per-transport parameters.  A Postfix administrator tunes the
 *	queue manager per transport, for any master.cf service used as
 *	one: "slow_destination_concurrency_limit = 2" for a transport
 *	"slow".  param_families[] lists the suffixes that make such a
 *	name (TRANSPORT + suffix); each takes its type, bounds and
 *	default from its fallback parameter in params.def
 *	(default_destination_concurrency_limit ...).  param_family_of()
 *	returns the family of a name (the index into param_families[]),
 *	or -1: a name in params.def (local_destination_concurrency_limit)
 *	is not a family member, it is itself.  config_load() checks the
 *	settings of such names like their fallback and keeps them in
 *	per_transport[].  param_transport_int() is the value for a
 *	transport of an integer or time family (seconds):
 *	the params.def parameter of that name when there is
 *	one, else its per_transport[] setting, else the fallback's value;
 *	param_transport_str() the same for a string family.
 *
 *	param_feedback_parse() reads a concurrency feedback value
 *	(default_destination_concurrency_positive_feedback ...) in
 *	Postfix's forms: a number, "N/M", or "N/concurrency" (N divided
 *	by the destination's window when it is applied); the result, the
 *	numerator divided by a number denominator, must be from 0 to 1.
 *
 *	unused[] lists the main.cf settings whose name is not in
 *	params.def (name and line; the last setting of a name only), for
 *	`postern check` to classify (param_class.h); loading itself never
 *	complains about them, so no command warns on every run.
 */
#ifndef POSTERN_PARAMS_H
#define POSTERN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct params {
#define PARAM_STR(n, d)			const char *n;
#define PARAM_LIST(n, d)		const char *n;
#define PARAM_MAPS(n, d)		const char *n;
#define PARAM_INT(n, d, lo, hi)		long long n;
#define PARAM_SIZE(n, d, lo, hi)	uint64_t n;
#define PARAM_TIME(n, d, u, lo, hi)	uint64_t n;
#define PARAM_BOOL(n, d)		bool n;
#include "params.def"
#undef PARAM_STR
#undef PARAM_LIST
#undef PARAM_MAPS
#undef PARAM_INT
#undef PARAM_SIZE
#undef PARAM_TIME
#undef PARAM_BOOL
	void   *storage;	/* owned strings; see config.c */
	struct param_unused *unused;	/* main.cf names not in params.def */
	size_t	n_unused;
	struct param_transport *per_transport;	/* TRANSPORT_SUFFIX settings */
	size_t	n_per_transport;
};

struct param_transport {
	char   *name;		/* "slow_destination_concurrency_limit" */
	long long value;	/* integer and time families */
	char   *str;		/* string families (expanded), else NULL */
};

struct param_family {
	const char *suffix;	/* "_destination_concurrency_limit" */
	const char *fallback;	/* its type, bounds and default */
};

struct param_unused {
	char   *name;
	int	line;		/* in main.cf */
	char   *value;		/* the text as set (a user-defined parameter's value) */
	char   *expanded;	/* its expansion, once a $name reference asked for it */
	unsigned char state;	/* config.c's expansion state */
	bool	used;		/* referenced as $name: a user-defined parameter */
};

enum param_type { PT_STR, PT_LIST, PT_INT, PT_SIZE, PT_TIME, PT_BOOL };

struct param_info {
	const char *name;
	enum param_type type;
	const char *def;
	int	unit;		/* PT_TIME: unit of a bare number */
	long long min, max;	/* PT_INT, PT_SIZE, PT_TIME */
	size_t	offset;		/* offsetof(struct params, name) */
	bool	tables;		/* PARAM_MAPS: a list of lookup tables */
};

extern const struct param_info param_table[];
extern const size_t param_count;
extern const struct params *cfg;
extern const struct param_family param_families[];
extern const size_t param_family_count;

const struct param_info *param_find(const char *name);
int	param_family_of(const char *name);
long long param_transport_int(const struct params *p, const char *transport,
			      const char *suffix);
const char *param_transport_str(const struct params *p, const char *transport,
				const char *suffix);

struct param_feedback {
	double	base;		/* 0 .. 1 */
	bool	per_window;	/* "N/concurrency": base / window */
};

int	param_feedback_parse(const char *value, struct param_feedback *fb,
			     char *why, size_t size);
double	param_feedback_value(const struct param_feedback *fb, int window);

#endif
