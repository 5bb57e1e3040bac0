/*
 * NAME
 *	lookup_maps - the tables that the lookup service answers for
 * SYNOPSIS
 *	#include "lookup_maps.h"
 *
 *	struct lookup_maps *m = lookup_maps_new(cfg, cfg->lookup_reopen_check_time * 1000);
 *	lookup_maps_open_all(m);		// as root, before the jail
 *	char why[LOOKUP_WHY_MAX];
 *	struct buf v;
 *	buf_init(&v, TABLE_VALUE_MAX);
 *	switch (lookup_maps_get(m, "alias_maps", "postmaster", &v, why, sizeof(why))) {
 *	case 1: ... found: v ...; case 0: ... not found ...;
 *	default: ... temporary failure: why ...
 *	}
 *	lookup_maps_free(m);
 * DESCRIPTION
 *	A client of the lookup service names a main.cf parameter, never a
 *	table.  Only the parameters in lookup_maps_params[] are served:
 *	alias_maps, virtual_alias_maps, canonical_maps,
 *	sender_canonical_maps, recipient_canonical_maps, transport_maps,
 *	local_recipient_maps and smtpd_sender_login_maps.
 *	lookup_maps_allowed() tells whether a
 *	name is one of them.
 *
 *	lookup_maps_new() records the value of each of those parameters
 *	in p (main.cf, expanded) and opens nothing.  check_ms is the
 *	least time between two checks of a table for a newer file
 *	(main.cf lookup_reopen_check_time; 0 checks at every lookup).
 *
 *	lookup_maps_open_all() opens the table list of every parameter
 *	and returns how many lists failed to open (each failure is
 *	logged with log_warn).  A list that failed is opened again,
 *	at most every check_ms, when it is next asked for: a table that
 *	is missing at start-up (no newaliases run yet) starts working
 *	as soon as it exists.  Until then lookups of that parameter are
 *	temporary failures, never "not found".
 *
 *	lookup_maps_get() looks key up in the tables of param, first
 *	match wins (table_list_get()): 1 found (value holds the result),
 *	0 not found, -1 temporary failure (why says what, for the log
 *	and the client).  A parameter whose value is empty has no tables:
 *	every key is "not found".  A parameter that is not served is -1.
 *	Before the lookup, when check_ms has passed since the last
 *	check, a table whose file changed (postmap, postalias,
 *	newaliases) is reopened, so a rebuilt table takes effect without
 *	a reload; when the reopen fails, the old table stays in use and
 *	the problem is logged once.
 *
 *	lookup_maps_request() starts a request of the lookup service: from
 *	then on until the next call, each table list is checked for a
 *	newer file at most once, however many keys the request tries (an
 *	address lookup tries up to five).  Without it every
 *	lookup_maps_get() checks (when check_ms allows).
 *
 *	The tables of the smtpd access restrictions are served too
 *	(lookup_maps_restriction_params[]: smtpd_client_restrictions ...
 *	smtpd_end_of_data_restrictions): each table that a check_*_access
 *	in one of those lists names (restriction.h), under the name of
 *	its list.  A client asks for one of them by parameter and table
 *	spec, never for a table no list names.  lookup_maps_add_lists()
 *	adds the restriction tables of the lists in another set of
 *	parameters (the main.cf of an smtpd service with its master.cf
 *	-o overrides, which the lookup service reads at start).  The
 *	tables of every restriction class (restriction.h: set them
 *	before lookup_maps_new()) are served under each list's name,
 *	since an access table result may name a class in any list.
 *
 *	lookup_maps_list() gives the tables to ask, for a caller that
 *	asks them itself (the lookup service's asynchronous requests):
 *	param's own tables (spec NULL) or one restriction table (spec),
 *	reopened when changed as lookup_maps_get() does: 1 (*list set),
 *	0 (no tables), -1 (they cannot be opened: why), -2 (not served:
 *	why).
 *
 *	lookup_maps_value() is the main.cf value of a served parameter
 *	(NULL for another name).
 * SECURITY
 *	The list of parameters is fixed here; the table specs come from
 *	main.cf and the -o options of master.cf only.  A chrooted daemon that is taken over can ask for
 *	keys in these tables and nothing else.
 */
#ifndef POSTERN_LOOKUP_MAPS_H
#define POSTERN_LOOKUP_MAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "params.h"
#include "table.h"

#define LOOKUP_PARAM_MAX	64	/* bytes in a parameter name */
#define LOOKUP_WHY_MAX		512	/* bytes in a failure text */

extern const char *const lookup_maps_params[];	/* NULL-terminated */
extern const char *const lookup_maps_restriction_params[];

struct lookup_maps;

bool	lookup_maps_allowed(const char *param);
struct lookup_maps *lookup_maps_new(const struct params *p, uint64_t check_ms);
void	lookup_maps_add_lists(struct lookup_maps *m, const struct params *p);
int	lookup_maps_open_all(struct lookup_maps *m);
int	lookup_maps_get(struct lookup_maps *m, const char *param,
			const char *key, struct buf *value, char *why,
			size_t whylen);
int	lookup_maps_list(struct lookup_maps *m, const char *param,
			 const char *spec, struct table_list **list, char *why,
			 size_t whylen);
void	lookup_maps_request(struct lookup_maps *m);
const char *lookup_maps_value(const struct lookup_maps *m, const char *param);
void	lookup_maps_free(struct lookup_maps *m);

#endif
