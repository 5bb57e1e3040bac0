/*
 * NAME
 *	lookup_maps - the tables that the lookup service answers for
 * DESCRIPTION
 *	See lookup_maps.h.  One entry per served parameter holds its
 *	main.cf value and its open table list (NULL while it cannot be
 *	opened).  Two parameters that name the same table (alias_maps is
 *	part of local_recipient_maps by default) open it twice: a Berkeley
 *	DB handle is cheap, and sharing would tie their reopen state.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "log.h"
#include "lookup_maps.h"
#include "mem.h"
#include "restriction.h"
#include "str.h"
#include "table.h"

const char *const lookup_maps_params[] = {
	"alias_maps",
	"virtual_alias_maps",
	"canonical_maps",
	"sender_canonical_maps",
	"recipient_canonical_maps",
	"transport_maps",
	"local_recipient_maps",
	"smtpd_sender_login_maps",
	NULL,
};

#define N_PARAMS (sizeof(lookup_maps_params) / sizeof(lookup_maps_params[0]) - 1)

const char *const lookup_maps_restriction_params[] = {
	"smtpd_client_restrictions",
	"smtpd_helo_restrictions",
	"smtpd_sender_restrictions",
	"smtpd_relay_restrictions",
	"smtpd_recipient_restrictions",
	"smtpd_data_restrictions",
	"smtpd_end_of_data_restrictions",
	NULL,
};

struct map_entry {
	const char *param;
	char   *spec;			/* a restriction's table, or NULL */
	char   *value;			/* main.cf value, expanded (spec: spec) */
	struct table_list *list;	/* NULL until it opened */
	uint64_t last_check;		/* ms, CLOCK_MONOTONIC */
	bool	checked;		/* last_check is meaningful */
	uint64_t checked_req;		/* the request it was last checked in */
	char	error[LOOKUP_WHY_MAX];	/* why it does not open / reopen */
	char	logged[LOOKUP_WHY_MAX];	/* the last problem logged */
};

struct lookup_maps {
	struct map_entry *e;		/* N_PARAMS, then restriction tables */
	size_t	n;
	uint64_t check_ms;
	uint64_t request;		/* lookup_maps_request() count; 0: none */
};

/* param_index - position of a served parameter, or -1 */
static int
param_index(const char *param)
{
	for (size_t i = 0; i < N_PARAMS; i++)
		if (str_eq(param, lookup_maps_params[i]))
			return (int) i;
	return -1;
}

bool
lookup_maps_allowed(const char *param)
{
	return param_index(param) >= 0;
}

/* value_of - the string value of a parameter of p by name */
static const char *
value_of(const struct params *p, const char *name)
{
	const struct param_info *pi = param_find(name);

	if (pi == NULL || (pi->type != PT_STR && pi->type != PT_LIST))
		log_panic("lookup_maps: parameter %s is not a string in params.def", name);
	return *(const char *const *) ((const char *) p + pi->offset);
}

/* table_index - the entry of a restriction's table, or -1 */
static int
table_index(const struct lookup_maps *m, const char *param, const char *spec)
{
	for (size_t i = N_PARAMS; i < m->n; i++)
		if (str_eq(m->e[i].param, param) && str_eq(m->e[i].spec, spec))
			return (int) i;
	return -1;
}

struct add_ctx {
	struct lookup_maps *m;
	const char *param;
};

/* add_table - one check_*_access table of a restriction list */
static void
add_table(void *ctx, const char *spec)
{
	struct add_ctx *a = ctx;
	struct lookup_maps *m = a->m;

	if (table_index(m, a->param, spec) >= 0)
		return;
	m->e = xreallocarray(m->e, m->n + 1, sizeof(*m->e));
	memset(&m->e[m->n], 0, sizeof(m->e[0]));
	m->e[m->n].param = a->param;
	m->e[m->n].spec = xstrdup(spec);
	m->e[m->n].value = xstrdup(spec);
	m->n++;
}

struct lookup_maps *
lookup_maps_new(const struct params *p, uint64_t check_ms)
{
	struct lookup_maps *m = xcalloc(1, sizeof(*m));

	m->check_ms = check_ms;
	m->e = xcalloc(N_PARAMS, sizeof(*m->e));
	m->n = N_PARAMS;
	for (size_t i = 0; i < N_PARAMS; i++) {
		m->e[i].param = lookup_maps_params[i];
		m->e[i].value = xstrdup(value_of(p, lookup_maps_params[i]));
	}
	lookup_maps_add_lists(m, p);
	return m;
}

void
lookup_maps_add_lists(struct lookup_maps *m, const struct params *p)
{
	for (size_t i = 0; lookup_maps_restriction_params[i] != NULL; i++) {
		struct add_ctx a = {.m = m, .param = lookup_maps_restriction_params[i]};

		restriction_tables(value_of(p, a.param), add_table, &a);
		/* An access table result may name any class, in any list. */
		restriction_classes_tables(add_table, &a);
	}
}

/* note_problem - log a problem once, until it changes or goes away */
static void
note_problem(struct map_entry *e, const char *text)
{
	(void) str_copy(e->error, sizeof(e->error), text);
	if (!str_eq(e->logged, text)) {
		log_warn("%s: %s (lookups of %s fail with a temporary error until "
			 "this is fixed)", e->param, text, e->param);
		(void) str_copy(e->logged, sizeof(e->logged), text);
	}
}

static void
clear_problem(struct map_entry *e)
{
	e->error[0] = '\0';
	e->logged[0] = '\0';
}

/* open_entry - open the list of e; 0 or -1 (e->error says why) */
static int
open_entry(struct map_entry *e)
{
	char    err[TABLE_ERROR_MAX];

	e->list = table_list_open(e->value, 0, err, sizeof(err));
	if (e->list == NULL) {
		note_problem(e, err);
		return -1;
	}
	clear_problem(e);
	return 0;
}

int
lookup_maps_open_all(struct lookup_maps *m)
{
	int     failed = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct map_entry *e = &m->e[i];

		if (e->list != NULL)
			continue;
		e->last_check = ev_time_ms();
		e->checked = true;
		if (open_entry(e) < 0)
			failed++;
	}
	return failed;
}

/* refresh - (re)open the tables of e when it is time to look */
static void
refresh(struct lookup_maps *m, struct map_entry *e)
{
	uint64_t now;

	/* Once per request: the stat per table is what "at once" costs. */
	if (m->request != 0 && e->checked_req == m->request)
		return;
	e->checked_req = m->request;
	now = ev_time_ms();
	if (e->checked && now - e->last_check < m->check_ms)
		return;
	e->last_check = now;
	e->checked = true;
	if (e->list == NULL) {
		(void) open_entry(e);
		return;
	}
	if (!table_list_changed(e->list))
		return;
	if (table_list_reopen(e->list) < 0) {
		/* The old tables stay in use: answers may be stale, not wrong. */
		note_problem(e, e->list->error);
		e->error[0] = '\0';
		return;
	}
	if (e->logged[0])
		log_info("%s: tables reopened", e->param);
	clear_problem(e);
}

int
lookup_maps_get(struct lookup_maps *m, const char *param, const char *key,
		struct buf *value, char *why, size_t whylen)
{
	int     i = param_index(param);
	struct map_entry *e;
	int     r;

	if (why && whylen)
		why[0] = '\0';
	if (i < 0) {
		if (why)
			(void) str_fmt(why, whylen, "parameter %.64s is not served by "
				       "the lookup service", param);
		return -1;
	}
	e = &m->e[i];
	if (e->value[0] == '\0')
		return 0;
	refresh(m, e);
	if (e->list == NULL) {
		if (why)
			(void) str_fmt(why, whylen, "%s: %s", e->param, e->error);
		return -1;
	}
	r = table_list_get(e->list, key, value, NULL);
	if (r < 0 && why)
		(void) str_fmt(why, whylen, "%s: %s", e->param, e->list->error);
	return r;
}

int
lookup_maps_list(struct lookup_maps *m, const char *param, const char *spec,
		 struct table_list **list, char *why, size_t whylen)
{
	int     i = spec ? table_index(m, param, spec) : param_index(param);
	struct map_entry *e;

	*list = NULL;
	if (i < 0) {
		(void) str_fmt(why, whylen, spec ? "table %.200s of %.64s is not "
			       "served by the lookup service" : "parameter %.64s%s is "
			       "not served by the lookup service", spec ? spec : param,
			       spec ? param : "");
		return -2;
	}
	e = &m->e[i];
	if (e->value[0] == '\0')
		return 0;
	refresh(m, e);
	if (e->list == NULL) {
		(void) str_fmt(why, whylen, "%s: %s", e->param, e->error);
		return -1;
	}
	*list = e->list;
	return 1;
}

void
lookup_maps_request(struct lookup_maps *m)
{
	m->request++;
}

const char *
lookup_maps_value(const struct lookup_maps *m, const char *param)
{
	int     i = param_index(param);

	return i < 0 ? NULL : m->e[i].value;
}

void
lookup_maps_free(struct lookup_maps *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		table_list_close(m->e[i].list);
		free(m->e[i].value);
		free(m->e[i].spec);
	}
	free(m->e);
	free(m);
}
