/*
 * NAME
 *	table_socketmap - socketmap: tables (Sendmail's socket map protocol)
 * DESCRIPTION
 *	socketmap:inet:HOST:PORT:NAME and socketmap:unix:PATH:NAME ask a
 *	server, as Postfix's socketmap_table(5) does: the request is the
 *	netstring "NAME KEY" ("LEN:NAME KEY,"), the reply one netstring
 *	"OK VALUE" (found), "NOTFOUND" (not found), "TEMP REASON",
 *	"TIMEOUT REASON" or "PERM REASON" (a failure: the lookup is -1,
 *	t->error quotes the reason).  Anything else, a reply longer than
 *	SOCKETMAP_REPLY_MAX, no reply within TABLE_SOCKETMAP_TIMEOUT_MS:
 *	-1 too.  Keys are lowercased (table.c, TABLE_FOLD_LOWER).
 *
 *	Connections are lib/ipc/clnt_pool's: kept between lookups, a request
 *	that meets a kept connection the server closed is sent again once
 *	(a lookup changes nothing), a connection whose exchange went wrong
 *	is closed.  A lookup from a program without an event loop
 *	(postmap -q, cleanup) blocks on one kept connection; from an event
 *	loop (the lookup service) it is an event (table_get_async()), on
 *	at most SOCKETMAP_CONNS connections at once per table, so a slow
 *	server holds up only the lookups that wait for it.  A HOST name is
 *	resolved once, when the table is opened.
 * SECURITY
 *	The reply is untrusted: bounded, parsed strictly, and its value
 *	checked like any table value (no NUL, at most TABLE_VALUE_MAX).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clnt_pool.h"
#include "log.h"
#include "mem.h"
#include "str.h"
#include "table.h"
#include "table_impl.h"

#define SOCKETMAP_REPLY_MAX	100000		/* payload, as Postfix */
#define SOCKETMAP_CONNS		16
#define SOCKETMAP_IDLE		4
#define SOCKETMAP_IDLE_MS	60000

struct socketmap {
	char   *endpoint;		/* numeric */
	char   *map;			/* NAME */
	struct clnt_pool *sync;
	struct clnt_pool *async;
	struct ev_loop *loop;
};

struct table_call {
	struct table *t;
	struct clnt_call *cc;
	struct buf *value;
	table_done_fn *done;
	void   *ctx;
};

/* frame - one netstring: "LEN:" LEN bytes "," */
static ssize_t
frame(const char *p, size_t len, size_t max, char *why, size_t whylen)
{
	size_t  n = 0, i;

	for (i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		n = n * 10 + (size_t) (p[i] - '0');
		if (i >= 7 || n > max) {
			(void) str_fmt(why, whylen, "reply longer than %zu bytes", max);
			return -1;
		}
	}
	if (i == len)
		return 0;
	if (i == 0 || p[i] != ':') {
		(void) str_copy(why, whylen, "reply is no netstring");
		return -1;
	}
	if (len < i + 1 + n + 1)
		return 0;
	if (p[i + 1 + n] != ',') {
		(void) str_copy(why, whylen, "netstring without its ','");
		return -1;
	}
	return (ssize_t) (i + 2 + n);
}

static const struct clnt_proto socketmap_proto = {
	.service = "the socketmap server",
	.reply_max = SOCKETMAP_REPLY_MAX + 9,
	.frame = frame,
	.resend = true,
};

/* answer - the reply's payload into value: 1, 0, -1 (t->error) */
static int
answer(struct table *t, const char *reply, size_t len, struct buf *value)
{
	const char *p = (const char *) memchr(reply, ':', len) + 1;
	size_t  n = len - (size_t) (p - reply) - 1;

	if (n >= 3 && memcmp(p, "OK ", 3) == 0)
		return table_set_value(t, "", value, p + 3, n - 3);
	if (n == 2 && memcmp(p, "OK", 2) == 0)
		return table_set_value(t, "", value, "", 0);
	if (n >= 8 && memcmp(p, "NOTFOUND", 8) == 0 && (n == 8 || p[8] == ' '))
		return 0;
	if ((n >= 4 && memcmp(p, "TEMP", 4) == 0) || (n >= 7 && memcmp(p, "TIMEOUT", 7) == 0)
	    || (n >= 4 && memcmp(p, "PERM", 4) == 0)) {
		table_seterr(t, "%s: the server said: %.*s", t->spec, (int) (n > 300 ? 300 : n), p);
		for (char *e = t->error; *e; e++)
			if ((unsigned char) *e < 0x20 || (unsigned char) *e > 0x7e)
				*e = '?';
		return -1;
	}
	table_seterr(t, "%s: malformed reply from the server", t->spec);
	return -1;
}

/* request - the netstring "NAME KEY" */
static void
request(const struct socketmap *sm, const char *key, struct buf *req)
{
	buf_init(req, TABLE_KEY_MAX + 512);
	(void) buf_appendf(req, "%zu:%s %s,", strlen(sm->map) + 1 + strlen(key),
			   sm->map, key);
}

static int
socketmap_open(struct table *t)
{
	struct socketmap *sm;
	const char *name = t->name, *last = strrchr(name, ':');
	char    why[CLNT_WHY_MAX], ep[600], numeric[700];

	if ((strncmp(name, "inet:", 5) != 0 && strncmp(name, "unix:", 5) != 0)
	    || last == NULL || last - name <= 5 || last[1] == '\0'
	    || strlen(name) > 500) {
		table_seterr(t, "%s: write socketmap:inet:HOST:PORT:NAME or "
			     "socketmap:unix:PATH:NAME", t->spec);
		errno = EINVAL;
		return -1;
	}
	(void) str_fmt(ep, sizeof(ep), "%.*s", (int) (last - name), name);
	/* Resolve now, once: a pool made later must not block on DNS. */
	if ((strncmp(ep, "inet:", 5) == 0 && strrchr(ep + 5, ':') == NULL)
	    || clnt_pool_numeric(ep, numeric, sizeof(numeric), why, sizeof(why)) < 0) {
		if (strncmp(ep, "inet:", 5) == 0 && strrchr(ep + 5, ':') == NULL)
			table_seterr(t, "%s: write socketmap:inet:HOST:PORT:NAME or "
				     "socketmap:unix:PATH:NAME", t->spec);
		else
			table_seterr(t, "%s: %s", t->spec, why);
		errno = EINVAL;
		return -1;
	}
	sm = xcalloc(1, sizeof(*sm));
	sm->endpoint = xstrdup(numeric);
	sm->map = xstrdup(last + 1);
	t->state = sm;
	return 0;
}

/* pool - the blocking pool, or the loop's; NULL with t->error */
static struct clnt_pool *
pool(struct table *t, struct ev_loop *loop)
{
	struct socketmap *sm = t->state;
	struct clnt_pool **pp = loop ? &sm->async : &sm->sync;
	struct clnt_pool_conf conf = {
		.endpoint = sm->endpoint, .proto = &socketmap_proto,
		.max_conns = loop ? SOCKETMAP_CONNS : 1,
		.max_idle = loop ? SOCKETMAP_IDLE : 1,
		.idle_ms = loop ? SOCKETMAP_IDLE_MS : 0,
	};
	char    why[CLNT_WHY_MAX];

	if (loop != NULL && sm->loop != NULL && sm->loop != loop)
		log_panic("socketmap: %s used from two event loops", t->spec);
	if (*pp == NULL && (*pp = clnt_pool_new(loop, &conf, why, sizeof(why))) == NULL)
		table_seterr(t, "%s: %s", t->spec, why);
	if (loop != NULL)
		sm->loop = loop;
	return *pp;
}

static int
socketmap_get(struct table *t, const char *key, struct buf *value)
{
	struct clnt_pool *p = pool(t, NULL);
	struct buf req, rep;
	char    why[CLNT_WHY_MAX];
	int     r = -1;

	if (p == NULL)
		return -1;
	request(t->state, key, &req);
	buf_init(&rep, socketmap_proto.reply_max);
	if (clnt_pool_wait(p, req.data, req.len, -1, TABLE_SOCKETMAP_TIMEOUT_MS, &rep,
			   why, sizeof(why)) == CLNT_OK)
		r = answer(t, rep.data, rep.len, value);
	else
		table_seterr(t, "%s: %s", t->spec, why);
	buf_free(&req);
	buf_free(&rep);
	return r;
}

static void
call_done(void *ctx, struct clnt_call *cc, const struct clnt_result *res)
{
	struct table_call *c = ctx;
	struct table *t = c->t;
	table_done_fn *done = c->done;
	void   *dctx = c->ctx;
	int     r = -1;

	(void) cc;
	if (res->status == CLNT_OK)
		r = answer(t, res->reply, res->len, c->value);
	else
		table_seterr(t, "%s: %s", t->spec, res->why);
	free(c);
	done(dctx, r, r < 0 ? t->error : "");
}

static struct table_call *
socketmap_start(struct table *t, const char *key, struct buf *value,
		struct ev_loop *loop, table_done_fn *done, void *ctx)
{
	struct clnt_pool *p = pool(t, loop);
	struct table_call *c = xcalloc(1, sizeof(*c));
	struct buf req;

	c->t = t;
	c->value = value;
	c->done = done;
	c->ctx = ctx;
	if (p == NULL)
		log_panic("socketmap: %s: %s", t->spec, t->error);
	request(t->state, key, &req);
	c->cc = clnt_pool_call(p, req.data, req.len, -1, TABLE_SOCKETMAP_TIMEOUT_MS,
			       0, call_done, c);
	buf_free(&req);
	return c;
}

static void
socketmap_cancel(struct table_call *c)
{
	clnt_pool_cancel(c->cc);
	free(c);
}

static void
socketmap_close(void *state)
{
	struct socketmap *sm = state;

	if (sm == NULL)
		return;
	clnt_pool_free(sm->sync);
	clnt_pool_free(sm->async);
	free(sm->endpoint);
	free(sm->map);
	free(sm);
}

const struct table_backend table_socketmap_backend = {
	.type = "socketmap",
	.fold = TABLE_FOLD_LOWER,
	.open = socketmap_open,
	.get = socketmap_get,
	.close = socketmap_close,
	.start = socketmap_start,
	.cancel = socketmap_cancel,
};
