/*
 * NAME
 *	lookup_server - the lookup service's connections and requests
 * DESCRIPTION
 *	See lookup_server.h.  The connections are lib/ipc/ipc_server.h's; the
 *	requests are lookup_job.c's: one that waits for a table
 *	(socketmap:) is answered later through ipc_server_reply().
 */
#include <stdlib.h>

#include "ipc.h"
#include "ipc_server.h"
#include "lookup_clnt.h"
#include "lookup_maps.h"
#include "lookup_server.h"
#include "mem.h"

static struct lookup_maps *maps;
static struct ev_loop *server_loop;

/* A connection: the job its outstanding answer waits for, if any. */
struct conn {
	struct ipc_server_client *client;
	struct lookup_job *job;
};

static void *
conn_open(int fd)
{
	(void) fd;
	return xcalloc(1, sizeof(struct conn));
}

static void
conn_close(void *ctx)
{
	struct conn *c = ctx;

	lookup_job_cancel(c->job);
	free(c);
}

/* answered - a request that waited for a table has its reply */
static void
answered(void *ctx, struct ipc_msg *reply)
{
	struct conn *c = ctx;

	c->job = NULL;
	ipc_server_reply(c->client, reply);	/* may close c (conn_close) */
}

static int
start(void *ctx, struct ipc_server_client *client, struct ipc_in *req,
      struct ipc_msg *reply, char *why, size_t whylen)
{
	struct conn *c = ctx;

	c->client = client;
	return lookup_job_start(maps, server_loop, req, reply, answered, c, &c->job,
				why, whylen);
}

static const struct ipc_server_ops ops = {
	.name = "lookup",
	.req_max = LOOKUP_REQ_MAX,
	.start = start,
	.open = conn_open,
	.close = conn_close,
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
	server_loop = loop;
	ipc_server_listen(loop, fd);
}

void
lookup_server_add(struct ev_loop *loop, int fd)
{
	server_loop = loop;
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
