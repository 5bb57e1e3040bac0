/*
 * NAME
 *	lookup_server - the lookup service's connections and requests
 * DESCRIPTION
 *	See lookup_server.h.  The connections are lib/ipc_server.h's; this
 *	file answers the requests.
 */
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "ipc_server.h"
#include "log.h"
#include "lookup_clnt.h"
#include "lookup_maps.h"
#include "lookup_server.h"
#include "str.h"
#include "table.h"

static struct lookup_maps *maps;

/* server_get - one key for lookup_addr_keys(); keeps the first reason */
struct get_ctx {
	struct lookup_maps *maps;
	char	why[LOOKUP_WHY_MAX];
};

static int
server_get(void *ctx, const char *param, const char *key, struct buf *value)
{
	struct get_ctx *g = ctx;

	return lookup_maps_get(g->maps, param, key, value, g->why, sizeof(g->why));
}

int
lookup_handle(struct lookup_maps *m, struct ipc_in *in, struct ipc_msg *reply,
	      char *why, size_t whylen)
{
	const char *param, *key;
	const char *kname = in->type == LOOKUP_REQ_ADDR ? "address" : "key";
	struct get_ctx g = {.maps = m};
	struct buf value;
	int     r;

	if (in->type != LOOKUP_REQ_GET && in->type != LOOKUP_REQ_ADDR) {
		(void) str_fmt(why, whylen, "request of unknown type %u", in->type);
		return -1;
	}
	if (ipc_get_str(in, "param", &param, LOOKUP_PARAM_MAX) < 0
	    || ipc_get_str(in, kname, &key, TABLE_KEY_MAX) < 0
	    || ipc_get_end(in) < 0) {
		(void) str_fmt(why, whylen, "malformed request: %s", ipc_error(in));
		return -1;
	}
	if (!lookup_maps_allowed(param)) {
		(void) str_fmt(why, whylen, "request for parameter \"%.64s\", which "
			       "is not a table list the lookup service serves", param);
		return -1;
	}
	buf_init(&value, TABLE_VALUE_MAX);
	lookup_maps_request(m);			/* one stat per table, at most */
	if (in->type == LOOKUP_REQ_ADDR) {
		r = lookup_addr_keys(param, key, &value, server_get, &g);
		if (r < 0 && g.why[0] == '\0')
			(void) str_copy(g.why, sizeof(g.why), lookup_clnt_error());
	} else {
		r = server_get(&g, param, key, &value);
	}
	ipc_msg_init(reply, LOOKUP_REP);
	if (r > 0) {
		(void) ipc_put_num(reply, "status", LOOKUP_STAT_FOUND);
		(void) ipc_put_strn(reply, "value", value.data, value.len);
	} else if (r == 0) {
		(void) ipc_put_num(reply, "status", LOOKUP_STAT_NOTFOUND);
		(void) ipc_put_str(reply, "value", "");
	} else {
		(void) ipc_put_num(reply, "status", LOOKUP_STAT_TEMP);
		(void) ipc_put_str(reply, "value", g.why);
	}
	buf_free(&value);
	return 0;
}

static int
handle(void *ctx, struct ipc_in *req, struct ipc_msg *reply, char *why, size_t whylen)
{
	(void) ctx;
	return lookup_handle(maps, req, reply, why, whylen);
}

static const struct ipc_server_ops ops = {
	.name = "lookup",
	.req_max = LOOKUP_REQ_MAX,
	.handle = handle,
};

void
lookup_server_init(struct lookup_maps *m, uint64_t idle, size_t max)
{
	maps = m;
	ipc_server_init(&ops, idle, max);
}

void
lookup_server_listen(struct ev_loop *loop, int fd)
{
	ipc_server_listen(loop, fd);
}

void
lookup_server_add(struct ev_loop *loop, int fd)
{
	ipc_server_add(loop, fd);
}

void
lookup_server_stop(struct ev_loop *loop, void (*done)(void))
{
	ipc_server_stop(loop, LOOKUP_STOP_MS, done);
}

size_t
lookup_server_clients(void)
{
	return ipc_server_clients();
}
