/*
 * NAME
 *	anvil_count - sessions and events per client address and network
 * DESCRIPTION
 *	See anvil.h.  Sessions: a countmap from key to count for all
 *	owners together, and one per owner.  Events: two ratetabs,
 *	addresses and networks.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "anvil.h"
#include "anvil_clnt.h"
#include "countmap.h"
#include "mem.h"
#include "ratetab.h"
#include "str.h"

/* ------------------------------------------------------------------ */
/* The counts.                                                        */

struct anvil_owner {
	struct countmap held;		/* its sessions per key */
};

struct events {
	uint32_t n[ANVIL_OP_MAX + 1];	/* by operation */
};

static struct countmap all;		/* sessions per key, every owner */
static struct ratetab *addr_events, *net_events;
static size_t max_keys = ANVIL_KEYS_MAX;

void
anvil_count_init(uint64_t unit_ms, size_t keys, size_t rate_keys)
{
	anvil_count_end();
	max_keys = keys;
	countmap_init(&all, keys);
	addr_events = ratetab_new(rate_keys, sizeof(struct events), unit_ms);
	net_events = ratetab_new(rate_keys, sizeof(struct events), unit_ms);
}

void
anvil_count_end(void)
{
	countmap_free(&all);
	ratetab_free(addr_events);
	ratetab_free(net_events);
	addr_events = net_events = NULL;
}

struct anvil_owner *
anvil_owner_new(void)
{
	struct anvil_owner *o = xcalloc(1, sizeof(*o));

	countmap_init(&o->held, max_keys);
	return o;
}

/* release - an owner's sessions of one key leave the counts */
static void
release(void *ctx, const char *key, uint64_t n)
{
	(void) ctx;
	for (uint64_t k = 0; k < n; k++)
		(void) countmap_add(&all, key, -1);
}

void
anvil_owner_free(struct anvil_owner *o)
{
	if (o == NULL)
		return;
	countmap_walk(&o->held, release, NULL);
	countmap_free(&o->held);
	free(o);
}

uint64_t
anvil_sessions(const char *key)
{
	return countmap_get(&all, key);
}

size_t
anvil_keys(void)
{
	return all.used;
}

/* session - +1 or -1 session of addr and net for o; false when full */
static bool
session(struct anvil_owner *o, const char *addr, const char *net, int d)
{
	if (d < 0) {
		/* A session is an address and its network: both or none. */
		if (countmap_get(&o->held, addr) == 0 || countmap_get(&o->held, net) == 0)
			return true;
		(void) countmap_add(&o->held, addr, -1);
		(void) countmap_add(&all, addr, -1);
		(void) countmap_add(&o->held, net, -1);
		(void) countmap_add(&all, net, -1);
		return true;
	}
	/* Room for both keys in both maps first: all or nothing. */
	if (!countmap_room(&all, (countmap_get(&all, addr) == 0) + (countmap_get(&all, net) == 0))
	    || !countmap_room(&o->held, (countmap_get(&o->held, addr) == 0)
			      + (countmap_get(&o->held, net) == 0)))
		return false;
	(void) countmap_add(&o->held, addr, 1);
	(void) countmap_add(&all, addr, 1);
	(void) countmap_add(&o->held, net, 1);
	(void) countmap_add(&all, net, 1);
	return true;
}

/* event - count one event of op's kind for addr and net */
static void
event(int op, const char *addr, const char *net, uint64_t now, uint64_t *an,
      uint64_t *nn)
{
	struct events *e;

	e = ratetab_get(addr_events, addr, now);
	if (e->n[op] < UINT32_MAX)
		e->n[op]++;
	*an = e->n[op];
	e = ratetab_get(net_events, net, now);
	if (e->n[op] < UINT32_MAX)
		e->n[op]++;
	*nn = e->n[op];
}

struct op {
	uint64_t op;
	const char *addr;
	const char *net;
};

int
anvil_handle(struct anvil_owner *o, struct ipc_in *req, struct ipc_msg *reply,
	     char *why, size_t whylen)
{
	static struct op ops[ANVIL_OPS_MAX];
	uint64_t now = ev_time_ms();
	size_t	n = 0;

	if (req->type != ANVIL_REQ) {
		(void) str_fmt(why, whylen, "request of unknown type %u", req->type);
		return -1;
	}
	while (ipc_peek_name(req) != NULL) {
		if (n == ANVIL_OPS_MAX) {
			(void) str_fmt(why, whylen, "more than %d operations in a request",
				       ANVIL_OPS_MAX);
			return -1;
		}
		if (ipc_get_num(req, "op", &ops[n].op) < 0
		    || ipc_get_str(req, "addr", &ops[n].addr, ANVIL_KEY_MAX) < 0
		    || ipc_get_str(req, "net", &ops[n].net, ANVIL_KEY_MAX) < 0) {
			(void) str_fmt(why, whylen, "malformed request: %s", ipc_error(req));
			return -1;
		}
		if (ops[n].op < ANVIL_OP_CONNECT || ops[n].op > ANVIL_OP_MAX
		    || ops[n].addr[0] == 0 || ops[n].net[0] == 0) {
			(void) str_fmt(why, whylen, "malformed request: operation %llu "
				       "on \"%.60s\" \"%.60s\"", (unsigned long long) ops[n].op,
				       ops[n].addr, ops[n].net);
			return -1;
		}
		n++;
	}
	if (n == 0 || ipc_get_end(req) < 0) {
		(void) str_fmt(why, whylen, "malformed request: %s", n == 0
			       ? "no operation" : ipc_error(req));
		return -1;
	}
	ipc_msg_init(reply, ANVIL_REP);
	for (size_t i = 0; i < n; i++) {
		const struct op *p = &ops[i];
		uint64_t status = ANVIL_STAT_OK, ae = 0, ne = 0;

		switch (p->op) {
		case ANVIL_OP_CONNECT:
		case ANVIL_OP_HOLD:
			if (!session(o, p->addr, p->net, +1))
				status = ANVIL_STAT_FULL;
			else if (p->op == ANVIL_OP_CONNECT)
				event((int) p->op, p->addr, p->net, now, &ae, &ne);
			break;
		case ANVIL_OP_DISCONNECT:
			(void) session(o, p->addr, p->net, -1);
			break;
		case ANVIL_OP_LOOKUP:
			break;
		default:
			event((int) p->op, p->addr, p->net, now, &ae, &ne);
			break;
		}
		(void) ipc_put_num(reply, "status", status);
		(void) ipc_put_num(reply, "n", countmap_get(&all, p->addr));
		(void) ipc_put_num(reply, "n", countmap_get(&all, p->net));
		(void) ipc_put_num(reply, "n", ae);
		(void) ipc_put_num(reply, "n", ne);
	}
	return 0;
}
