/*
 * NAME
 *	anvil_clnt - the client of the anvil service, on the event loop
 * DESCRIPTION
 *	See anvil_clnt.h.  Operations wait in a queue; one batch is out at
 *	a time on the held conversation (clnt_pool.h, CLNT_HOLD).  A batch
 *	that fails on a connection that had worked before (anvil went away
 *	between two exchanges) is sent once more on a new connection,
 *	after the resync; a second failure takes the client down.
 */
#include <stdlib.h>
#include <string.h>

#include "anvil_clnt.h"
#include "clnt_pool.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "str.h"

struct anvil_call {
	struct anvil_clnt *a;
	int	op;
	char	addr[ANVIL_KEY_MAX + 1];
	char	net[ANVIL_KEY_MAX + 1];
	anvil_done_fn *done;		/* NULL: nobody waits */
	void   *ctx;
	struct anvil_call *next;
};

struct anvil_clnt {
	struct ev_loop *loop;
	struct clnt_pool *pool;
	uint64_t timeout_ms;
	anvil_resync_fn *resync;
	void   *ctx;
	struct clnt_call *conv;		/* the held conversation, or NULL */
	bool	worked;			/* conv has had an answer */
	struct anvil_call *head, *tail;	/* queued, not sent */
	struct anvil_call *sent[ANVIL_OPS_MAX];
	size_t	nsent;
	bool	busy;			/* a batch is out */
	bool	resent;			/* it is out for the second time */
	bool	down;
	bool	was_down;		/* say so when it answers again */
	bool	kicking;		/* in kick(): resync queues, no recursion */
	size_t	resynced;		/* operations the last resync queued */
	struct ev_timer keepalive;
	uint64_t retry_ms;
	struct ev_timer retry;
	char	last_why[CLNT_WHY_MAX];
};

static const struct clnt_proto anvil_proto = {
	.service = "the anvil service",
	.reply_max = ANVIL_REP_MAX,
	.frame = clnt_frame_ipc,
};

static void kick(struct anvil_clnt *a);

bool
anvil_clnt_up(const struct anvil_clnt *a)
{
	return a != NULL && !a->down;
}

static void
append(struct anvil_clnt *a, struct anvil_call *c)
{
	c->next = NULL;
	if (a->tail)
		a->tail->next = c;
	else
		a->head = c;
	a->tail = c;
}

struct anvil_call *
anvil_clnt_op(struct anvil_clnt *a, int op, const char *addr, const char *net,
	      anvil_done_fn *done, void *ctx)
{
	struct anvil_call *c;

	if (a == NULL || a->down || op < ANVIL_OP_CONNECT || op > ANVIL_OP_MAX
	    || strlen(addr) > ANVIL_KEY_MAX || strlen(net) > ANVIL_KEY_MAX)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	c->op = op;
	(void) str_copy(c->addr, sizeof(c->addr), addr);
	(void) str_copy(c->net, sizeof(c->net), net);
	c->done = done;
	c->ctx = ctx;
	append(a, c);
	if (!a->kicking)
		kick(a);
	return c;
}

void
anvil_clnt_cancel(struct anvil_call *c)
{
	if (c != NULL)
		c->done = NULL;		/* still sent: anvil counts it */
}

/* finish - an operation is over: its answer (or none) goes to its caller */
static void
finish(struct anvil_call *c, const struct anvil_counts *counts, bool ok)
{
	static const struct anvil_counts none;

	if (c->done != NULL)
		c->done(c->ctx, counts != NULL ? counts : &none, ok);
	free(c);
}

static void
on_keepalive(struct ev_loop *loop, struct ev_timer *t)
{
	struct anvil_clnt *a = t->data;

	(void) loop;
	if (!a->busy && a->head == NULL && a->conv != NULL)
		(void) anvil_clnt_op(a, ANVIL_OP_LOOKUP, "-", "-", NULL, NULL);
}

static void
on_retry(struct ev_loop *loop, struct ev_timer *t)
{
	struct anvil_clnt *a = t->data;

	(void) loop;
	a->down = false;
	kick(a);			/* a new connection and its resync */
}

/* fail - the conversation failed: everything waiting gets !ok */
static void
fail(struct anvil_clnt *a, const char *why)
{
	struct anvil_call *c;

	if (!a->down)
		log_warn("anvil: %s; trying again in %llus", why,
			 (unsigned long long) (a->retry_ms / 1000));
	(void) str_copy(a->last_why, sizeof(a->last_why), why);
	a->down = true;
	a->was_down = true;
	ev_timer_stop(a->loop, &a->keepalive);
	for (size_t i = 0; i < a->nsent; i++)
		finish(a->sent[i], NULL, false);
	a->nsent = 0;
	while ((c = a->head) != NULL) {
		a->head = c->next;
		finish(c, NULL, false);
	}
	a->tail = NULL;
	ev_timer_start(a->loop, &a->retry, a->retry_ms);
	a->retry_ms = a->retry_ms * 2 > ANVIL_RETRY_MAX_MS ? ANVIL_RETRY_MAX_MS
	    : a->retry_ms * 2;
}

/* answered - parse a reply and give each operation its counts */
static bool
answered(struct anvil_clnt *a, const char *p, size_t len, char *why, size_t whylen)
{
	struct ipc_in in;
	static uint64_t st[ANVIL_OPS_MAX], n[ANVIL_OPS_MAX][4];
	struct anvil_call *sent[ANVIL_OPS_MAX];
	size_t	nsent;
	bool	ok = true;

	ipc_in_init_max(&in, ANVIL_REP_MAX);
	if (ipc_in_parse(&in, p, len) < 0 || in.type != ANVIL_REP)
		ok = false;
	for (size_t i = 0; ok && i < a->nsent; i++) {
		if (ipc_get_num(&in, "status", &st[i]) < 0)
			ok = false;
		for (int k = 0; ok && k < 4; k++)
			if (ipc_get_num(&in, "n", &n[i][k]) < 0)
				ok = false;
	}
	if (ok && ipc_get_end(&in) < 0)
		ok = false;
	if (!ok)
		(void) str_fmt(why, whylen, "malformed answer: %s", in.type != ANVIL_REP
			       ? "not an ANVIL_REP" : ipc_error(&in));
	ipc_in_free(&in);
	if (!ok)
		return false;
	/* The callbacks may queue more: the batch is taken out first. */
	nsent = a->nsent;
	memcpy(sent, a->sent, nsent * sizeof(*sent));
	a->nsent = 0;
	for (size_t i = 0; i < nsent; i++) {
		struct anvil_counts c = {n[i][0], n[i][1], n[i][2], n[i][3]};

		finish(sent[i], &c, st[i] == ANVIL_STAT_OK);
	}
	return true;
}

static void
on_reply(void *ctx, struct clnt_call *call, const struct clnt_result *res)
{
	struct anvil_clnt *a = ctx;
	char	why[CLNT_WHY_MAX];

	(void) call;
	if (res->status == CLNT_OK
	    && answered(a, res->reply, res->len, why, sizeof(why))) {
		a->busy = false;
		a->worked = true;
		a->resent = false;
		a->retry_ms = ANVIL_RETRY_MS;
		if (a->was_down)
			log_info("anvil: answering again (it was away: %s)", a->last_why);
		a->was_down = false;
		kick(a);
		return;
	}
	a->busy = false;
	if (res->status != CLNT_OK)
		(void) str_copy(why, sizeof(why), res->why);
	clnt_pool_cancel(a->conv);
	a->conv = NULL;
	if (a->worked && !a->resent && res->status == CLNT_ERROR) {
		/* anvil went away between two exchanges: once more, anew. */
		a->worked = false;
		a->resent = true;
		for (size_t i = a->nsent; i-- > 0;) {
			a->sent[i]->next = a->head;
			a->head = a->sent[i];
			if (a->tail == NULL)
				a->tail = a->head;
		}
		a->nsent = 0;
		kick(a);
		return;
	}
	fail(a, why);
}

/* kick - send the next batch when none is out */
static void
kick(struct anvil_clnt *a)
{
	struct ipc_msg m;
	const void *wire;
	size_t	len;

	if (a->busy || a->down)
		return;
	if (a->conv == NULL) {
		/* A new connection: the held sessions go first. */
		struct anvil_call *queued = a->head, *qtail = a->tail;

		a->head = a->tail = NULL;
		a->kicking = true;
		if (a->resync != NULL)
			a->resync(a->ctx);
		a->kicking = false;
		a->resynced = 0;
		for (struct anvil_call *c = a->head; c != NULL; c = c->next)
			a->resynced++;
		if (a->resent && a->resynced > 0)
			log_info("anvil: a new connection; %zu session%s reported again",
				 a->resynced, a->resynced == 1 ? "" : "s");
		if (queued != NULL) {
			if (a->tail)
				a->tail->next = queued;
			else
				a->head = queued;
			a->tail = qtail;
		}
	}
	if (a->head == NULL) {
		if (a->conv != NULL)		/* idle: still there? */
			ev_timer_start(a->loop, &a->keepalive, ANVIL_KEEPALIVE_MS);
		return;
	}
	ev_timer_stop(a->loop, &a->keepalive);
	ipc_msg_init(&m, ANVIL_REQ);
	while (a->head != NULL && a->nsent < ANVIL_OPS_MAX) {
		struct anvil_call *c = a->head;

		a->head = c->next;
		if (a->head == NULL)
			a->tail = NULL;
		(void) ipc_put_num(&m, "op", (uint64_t) c->op);
		(void) ipc_put_str(&m, "addr", c->addr);
		(void) ipc_put_str(&m, "net", c->net);
		a->sent[a->nsent++] = c;
	}
	wire = ipc_msg_wire(&m, false, &len);
	a->busy = true;
	if (wire == NULL) {
		ipc_msg_free(&m);
		a->busy = false;
		fail(a, "cannot build a request");
		return;
	}
	if (a->conv == NULL)
		a->conv = clnt_pool_call(a->pool, wire, len, -1, a->timeout_ms,
					 CLNT_HOLD, on_reply, a);
	else
		clnt_pool_send(a->conv, wire, len, -1, a->timeout_ms, on_reply, a);
	ipc_msg_free(&m);
}

struct anvil_clnt *
anvil_clnt_new(struct ev_loop *loop, const char *endpoint, uint64_t timeout_ms,
	       anvil_resync_fn *resync, void *ctx)
{
	struct anvil_clnt *a = xcalloc(1, sizeof(*a));
	struct clnt_pool_conf conf = {
		.endpoint = endpoint, .proto = &anvil_proto,
		.max_conns = 1, .max_idle = 1,
	};
	char	why[CLNT_WHY_MAX];

	if ((a->pool = clnt_pool_new(loop, &conf, why, sizeof(why))) == NULL)
		log_fatal("anvil: %s", why);
	a->loop = loop;
	a->timeout_ms = timeout_ms;
	a->resync = resync;
	a->ctx = ctx;
	a->retry_ms = ANVIL_RETRY_MS;
	ev_timer_init(&a->retry, on_retry, a);
	ev_timer_init(&a->keepalive, on_keepalive, a);
	return a;
}

void
anvil_clnt_free(struct anvil_clnt *a)
{
	if (a == NULL)
		return;
	ev_timer_stop(a->loop, &a->retry);
	ev_timer_stop(a->loop, &a->keepalive);
	if (a->conv != NULL)
		clnt_pool_cancel(a->conv);
	a->conv = NULL;
	a->busy = false;
	a->down = true;			/* nothing more goes out */
	a->retry_ms = ANVIL_RETRY_MS;
	for (size_t i = 0; i < a->nsent; i++)
		finish(a->sent[i], NULL, false);
	a->nsent = 0;
	while (a->head != NULL) {
		struct anvil_call *c = a->head;

		a->head = c->next;
		finish(c, NULL, false);
	}
	clnt_pool_free(a->pool);
	free(a);
}
