/*
 * NAME
 *	lookup_job - one request of the lookup service, answered at once
 *	or as an event
 * DESCRIPTION
 *	See lookup_server.h.  A request becomes a job: keys to try in
 *	order (one for GET, the address forms for ADDR, the client's for
 *	TABLE) against a list of tables (the parameter's, or one
 *	restriction table).  Each (key, table) is asked with
 *	table_get_async(): tables in this process answer at once, a
 *	socketmap: answers later from the loop, and the job goes on from
 *	its callback.  The first answer (found or failed) ends the job.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "lookup_clnt.h"
#include "lookup_maps.h"
#include "lookup_server.h"
#include "mem.h"
#include "str.h"
#include "table.h"

struct lookup_job {
	struct lookup_maps *maps;
	struct ev_loop *loop;
	uint16_t type;
	char	param[LOOKUP_PARAM_MAX + 1];
	char   *address;		/* ADDR: as asked */
	struct lookup_addr_plan *plan;	/* ADDR */
	char  **keys;
	size_t	nkeys, ki;
	struct table_list *list;	/* NULL: no tables */
	size_t	ti;
	struct table_call *call;	/* in flight */
	struct buf value;
	bool	broken;			/* the tables do not open */
	char	why[LOOKUP_WHY_MAX];
	lookup_job_done_fn *done;
	void   *ctx;
};

static void
job_free(struct lookup_job *j)
{
	if (j->call != NULL)
		table_call_cancel(table_list_at(j->list, j->ti), j->call);
	for (size_t i = 0; j->keys != NULL && i < j->nkeys; i++)
		free(j->keys[i]);
	free(j->keys);
	free(j->plan);
	free(j->address);
	buf_free(&j->value);
	free(j);
}

/* reply - the LOOKUP_REP of result r */
static void
reply(struct lookup_job *j, int r, struct ipc_msg *m)
{
	ipc_msg_init(m, LOOKUP_REP);
	if (r > 0 && j->type == LOOKUP_REQ_ADDR) {
		r = lookup_addr_result(j->param, j->address, j->plan, j->ki, &j->value);
		if (r < 0)
			(void) str_copy(j->why, sizeof(j->why), lookup_clnt_error());
	}
	if (r > 0) {
		(void) ipc_put_num(m, "status", LOOKUP_STAT_FOUND);
		(void) ipc_put_strn(m, "value", j->value.data, j->value.len);
	} else if (r == 0) {
		(void) ipc_put_num(m, "status", LOOKUP_STAT_NOTFOUND);
		(void) ipc_put_str(m, "value", "");
	} else {
		(void) ipc_put_num(m, "status", LOOKUP_STAT_TEMP);
		(void) ipc_put_str(m, "value", j->why);
	}
}

static void table_done(void *ctx, int r, const char *why);

/* run - ask on from (ki, ti): the result, or TABLE_PENDING */
static int
run(struct lookup_job *j)
{
	for (; j->list != NULL && j->ki < j->nkeys; j->ki++, j->ti = 0) {
		for (; j->ti < table_list_count(j->list); j->ti++) {
			struct table *t = table_list_at(j->list, j->ti);
			int     r = table_get_async(t, j->keys[j->ki], &j->value, j->loop,
						    table_done, j, &j->call);

			if (r == TABLE_PENDING)
				return r;
			if (r < 0)
				(void) str_fmt(j->why, sizeof(j->why), "%s: %s", j->param,
					       t->error);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

static void
table_done(void *ctx, int r, const char *why)
{
	struct lookup_job *j = ctx;
	struct ipc_msg m;

	j->call = NULL;
	if (r < 0)
		(void) str_fmt(j->why, sizeof(j->why), "%s: %s", j->param, why);
	else if (r == 0) {
		j->ti++;
		if ((r = run(j)) == TABLE_PENDING)
			return;
	}
	reply(j, r, &m);
	j->done(j->ctx, &m);
	ipc_msg_free(&m);
	job_free(j);
}

/* parse - the request into j; -1 with why for a bad one */
static int
parse(struct lookup_job *j, struct ipc_in *in, char *why, size_t whylen)
{
	const char *param, *key, *spec = NULL;

	if (in->type != LOOKUP_REQ_GET && in->type != LOOKUP_REQ_ADDR
	    && in->type != LOOKUP_REQ_TABLE) {
		(void) str_fmt(why, whylen, "request of unknown type %u", in->type);
		return -1;
	}
	j->type = in->type;
	if (ipc_get_str(in, "param", &param, LOOKUP_PARAM_MAX) < 0
	    || (j->type == LOOKUP_REQ_TABLE
		&& ipc_get_str(in, "table", &spec, TABLE_LINE_MAX) < 0)) {
		(void) str_fmt(why, whylen, "malformed request: %s", ipc_error(in));
		return -1;
	}
	(void) str_copy(j->param, sizeof(j->param), param);
	j->keys = xcalloc(LOOKUP_TABLE_KEYS, sizeof(*j->keys));
	do {
		if (ipc_get_str(in, j->type == LOOKUP_REQ_ADDR ? "address" : "key",
				&key, TABLE_KEY_MAX) < 0) {
			(void) str_fmt(why, whylen, "malformed request: %s", ipc_error(in));
			return -1;
		}
		j->keys[j->nkeys++] = xstrdup(key);
	} while (j->type == LOOKUP_REQ_TABLE && j->nkeys < LOOKUP_TABLE_KEYS
		 && ipc_peek_name(in) != NULL);
	if (ipc_get_end(in) < 0) {
		(void) str_fmt(why, whylen, "malformed request: %s", ipc_error(in));
		return -1;
	}
	if (j->type != LOOKUP_REQ_TABLE && !lookup_maps_allowed(param)) {
		(void) str_fmt(why, whylen, "request for parameter \"%.64s\", which "
			       "is not a table list the lookup service serves", param);
		return -1;
	}
	lookup_maps_request(j->maps);		/* one stat per table, at most */
	switch (lookup_maps_list(j->maps, param, spec, &j->list, j->why, sizeof(j->why))) {
	case -2:
		(void) str_copy(why, whylen, j->why);
		return -1;
	case -1:
		j->broken = true;		/* a temporary error, not a bad request */
		return 0;
	default:
		break;
	}
	if (j->type == LOOKUP_REQ_ADDR) {
		j->address = j->keys[0];
		j->keys[0] = NULL;
		j->nkeys = 0;
		j->plan = xmalloc(sizeof(*j->plan));
		(void) lookup_addr_plan(j->address, j->plan);
		for (size_t i = 0; i < j->plan->n && i < LOOKUP_TABLE_KEYS; i++)
			j->keys[j->nkeys++] = xstrdup(j->plan->keys[i]);
	}
	return 0;
}

int
lookup_job_start(struct lookup_maps *m, struct ev_loop *loop, struct ipc_in *in,
		 struct ipc_msg *rep, lookup_job_done_fn *done, void *ctx,
		 struct lookup_job **job, char *why, size_t whylen)
{
	struct lookup_job *j = xcalloc(1, sizeof(*j));
	int     r;

	*job = NULL;
	j->maps = m;
	j->loop = loop;
	j->done = done;
	j->ctx = ctx;
	buf_init(&j->value, TABLE_VALUE_MAX);
	if (parse(j, in, why, whylen) < 0) {
		job_free(j);
		return -1;
	}
	if (j->broken)
		r = -1;
	else if ((r = run(j)) == TABLE_PENDING) {
		*job = j;
		return 1;
	}
	reply(j, r, rep);
	job_free(j);
	return 0;
}

void
lookup_job_cancel(struct lookup_job *j)
{
	if (j != NULL)
		job_free(j);
}

int
lookup_handle(struct lookup_maps *m, struct ipc_in *in, struct ipc_msg *rep,
	      char *why, size_t whylen)
{
	struct lookup_job *j;

	/* Without a loop every table answers at once (socketmap: blocks). */
	return lookup_job_start(m, NULL, in, rep, NULL, NULL, &j, why, whylen);
}
