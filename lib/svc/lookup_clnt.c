/*
 * NAME
 *	lookup_clnt - table and address lookups through the lookup service
 * DESCRIPTION
 *	See lookup_clnt.h.  The connection is file-scope state: postern
 *	daemons are single-threaded and one connection serves every
 *	caller in the process.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "clnt_pool.h"
#include "config.h"
#include "event.h"
#include "hdr_addr.h"
#include "log.h"
#include "mem.h"
#include "lookup_clnt.h"
#include "lookup_maps.h"
#include "params.h"
#include "str.h"
#include "table.h"

#define ADDR_MAX	LOOKUP_ADDR_MAX

static char clnt_path[256] = LOOKUP_SOCKET;
static char clnt_err[LOOKUP_WHY_MAX + 64];
static bool direct;
static struct lookup_maps *direct_maps;
static struct clnt_pool *sync_pool;	/* blocking calls: one kept connection */
static struct clnt_pool *async_pool;	/* calls from an event loop */
static struct ev_loop *async_loop;
static size_t async_calls;		/* alive, for lookup_clnt_set_path() */

static int reply_check(const char *reply, size_t len, char *why, size_t whylen);

static const struct clnt_proto lookup_proto = {
	.service = "the lookup service",
	.reply_max = LOOKUP_REP_MAX,
	.frame = clnt_frame_ipc,
	.check = reply_check,
	.resend = true,				/* lookups change nothing */
};

const char *
lookup_clnt_error(void)
{
	return clnt_err;
}

void
lookup_clnt_close(void)
{
	clnt_pool_free(sync_pool);
	sync_pool = NULL;
	if (async_pool != NULL)
		clnt_pool_close_idle(async_pool);
}

/* pool - the pool of the blocking calls or of loop; NULL with clnt_err */
static struct clnt_pool *
pool(struct ev_loop *loop)
{
	struct clnt_pool **pp = loop ? &async_pool : &sync_pool;
	struct clnt_pool_conf conf = {
		.endpoint = clnt_path, .proto = &lookup_proto,
		.max_conns = loop ? LOOKUP_POOL_CONNS : 1,
		.max_idle = loop ? LOOKUP_POOL_IDLE : 1,
		.idle_ms = loop ? LOOKUP_POOL_IDLE_MS : 0,
	};
	char    why[CLNT_WHY_MAX];

	if (*pp == NULL && (*pp = clnt_pool_new(loop, &conf, why, sizeof(why))) == NULL)
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: %s", why);
	return *pp;
}

void
lookup_clnt_set_path(const char *path)
{
	if (async_calls > 0)
		log_panic("lookup_clnt_set_path: %zu calls in flight", async_calls);
	lookup_clnt_close();
	clnt_pool_free(async_pool);
	async_pool = NULL;
	if (str_copy(clnt_path, sizeof(clnt_path), path) < 0)
		log_panic("lookup_clnt_set_path: path too long: %.64s...", path);
}

void
lookup_clnt_attach(struct ev_loop *loop)
{
	if (async_calls > 0)
		log_panic("lookup_clnt_attach: %zu calls in flight", async_calls);
	clnt_pool_free(async_pool);
	async_pool = NULL;
	async_loop = loop;
}

void
lookup_clnt_direct(bool on)
{
	direct = on;
	if (!on) {
		lookup_maps_free(direct_maps);
		direct_maps = NULL;
	}
}

void
lookup_req_build(struct ipc_msg *m, const char *param, const char *key)
{
	ipc_msg_init(m, LOOKUP_REQ_GET);
	(void) ipc_put_str(m, "param", param);
	(void) ipc_put_str(m, "key", key);
}

void
lookup_addr_req_build(struct ipc_msg *m, const char *param, const char *address)
{
	ipc_msg_init(m, LOOKUP_REQ_ADDR);
	(void) ipc_put_str(m, "param", param);
	(void) ipc_put_str(m, "address", address);
}

int
lookup_rep_parse(struct ipc_in *in, struct buf *value)
{
	uint64_t st;
	const char *v;

	if (in->type != LOOKUP_REP) {
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: reply "
			       "of type %u, expected %u", in->type, LOOKUP_REP);
		return -2;
	}
	if (ipc_get_num(in, "status", &st) < 0
	    || ipc_get_str(in, "value", &v, TABLE_VALUE_MAX) < 0
	    || ipc_get_end(in) < 0) {
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: "
			       "malformed reply: %s", ipc_error(in));
		return -2;
	}
	switch (st) {
	case LOOKUP_STAT_FOUND:
		if (buf_set(value, v, strlen(v)) < 0) {
			(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup result "
				       "longer than %zu bytes", value->max);
			return -1;
		}
		return 1;
	case LOOKUP_STAT_NOTFOUND:
		return 0;
	case LOOKUP_STAT_TEMP:
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: "
			       "temporary error: %.400s", v);
		return -1;
	default:
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: "
			       "unknown status %llu", (unsigned long long) st);
		return -2;
	}
}

/* request - the request's message; -1 with clnt_err when it cannot be built */
static int
request(struct ipc_msg *m, bool addr, const char *param, const char *key)
{
	if (addr)
		lookup_addr_req_build(m, param, key);
	else
		lookup_req_build(m, param, key);
	if (m->failed) {
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup request for %s "
			       "cannot be built: %s", param, strerror(m->failed));
		return -1;
	}
	return 0;
}

/* parse - a reply's bytes: 1, 0, -1 as lookup_get(), -2 malformed */
static int
parse(const char *p, size_t len, struct buf *value)
{
	struct ipc_in in;
	int     r;

	ipc_in_init_max(&in, LOOKUP_REP_MAX);
	if (ipc_in_parse(&in, p, len) < 0) {
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: "
			       "malformed reply: %s", ipc_error(&in));
		r = -2;
	} else
		r = lookup_rep_parse(&in, value);
	ipc_in_free(&in);
	return r;
}

/* reply_check - a malformed reply condemns its connection */
static int
reply_check(const char *reply, size_t len, char *why, size_t whylen)
{
	struct buf v;
	int     r;

	buf_init(&v, TABLE_VALUE_MAX);
	r = parse(reply, len, &v);
	buf_free(&v);
	if (r != -2)
		return 0;
	log_warn("%s", clnt_err);
	(void) str_copy(why, whylen, clnt_err);
	return -1;
}

/* reply - a checked reply's bytes: 1, 0, -1 as lookup_get() */
static int
reply(const char *p, size_t len, struct buf *value)
{
	int     r = parse(p, len, value);

	return r == -2 ? -1 : r;
}

/* remote - one request, blocking (lib/ipc/clnt_pool.h: resent once on a new
 * connection when the kept one was closed) */
static int
remote(bool addr, const char *param, const char *key, struct buf *value)
{
	struct ipc_msg m;
	struct clnt_pool *p;
	struct buf rep;
	const void *wire;
	size_t  len;
	char    why[CLNT_WHY_MAX];
	int     r = -1;

	if (request(&m, addr, param, key) < 0 || (p = pool(NULL)) == NULL) {
		ipc_msg_free(&m);
		return -1;
	}
	wire = ipc_msg_wire(&m, false, &len);
	buf_init(&rep, LOOKUP_REP_MAX + IPC_HDR_LEN);
	if (clnt_pool_wait(p, wire, len, -1, LOOKUP_TIMEOUT_MS, &rep, why,
			   sizeof(why)) == CLNT_OK)
		r = reply(rep.data, rep.len, value);
	else
		(void) str_fmt(clnt_err, sizeof(clnt_err), "%s", why);
	buf_free(&rep);
	ipc_msg_free(&m);
	return r;
}

/* param_value - main.cf value of param, or NULL when unknown */
static const char *
param_value(const char *param)
{
	const struct param_info *pi;

	if (cfg == NULL || (pi = param_find(param)) == NULL
	    || (pi->type != PT_STR && pi->type != PT_LIST))
		return NULL;
	return *(const char *const *) ((const char *) cfg + pi->offset);
}

/* served - 1 param has tables to ask, 0 it has none, -1 not served */
static int
served(const char *param)
{
	const char *pv = param_value(param);

	if (!lookup_maps_allowed(param)) {
		(void) str_fmt(clnt_err, sizeof(clnt_err), "parameter %.64s is not "
			       "served by the lookup service", param);
		return -1;
	}
	return pv != NULL && *pv == '\0' ? 0 : 1;
}

/* direct_get - one key from the tables of this process (direct mode) */
static int
direct_get(void *ctx, const char *param, const char *key, struct buf *value)
{
	(void) ctx;
	return lookup_maps_get(direct_maps, param, key, value, clnt_err,
			       sizeof(clnt_err));
}

static void
direct_open(void)
{
	if (cfg == NULL)
		log_panic("lookup_clnt: direct mode without a configuration");
	if (direct_maps == NULL)
		direct_maps = lookup_maps_new(cfg, cfg->lookup_reopen_check_time * 1000);
	lookup_maps_request(direct_maps);
}

int
lookup_get(const char *param, const char *key, struct buf *value)
{
	int     r;

	clnt_err[0] = '\0';
	if ((r = served(param)) <= 0)
		return r;			/* no tables, no round trip */
	if (direct) {
		direct_open();
		return direct_get(NULL, param, key, value);
	}
	return remote(false, param, key, value);
}

/* is_local_domain - domain listed in mydestination */
static bool
is_local_domain(const char *domain)
{
	return cfg != NULL && config_list_contains(cfg->mydestination, domain);
}

struct ext_ctx {
	struct buf *out;
	const char *delim_ext;		/* "+ext" */
	int	failed;
};

/* add_ext - append one result address with the extension to the list */
static int
add_ext(void *ctx, const char *a, unsigned aflags)
{
	struct ext_ctx *x = ctx;
	const char *at = strrchr(a, '@');
	int     r;

	(void) aflags;
	if (x->out->len > 0 && buf_puts(x->out, ", ") < 0)
		goto full;
	if (a[0] == '"') {
		/* Inside quotes the extension would change the quoting. */
		r = buf_puts(x->out, a);
	} else if (at == NULL) {
		r = buf_appendf(x->out, "%s%s", a, x->delim_ext);
	} else {
		r = buf_appendf(x->out, "%.*s%s%s", (int) (at - a), a, x->delim_ext, at);
	}
	if (r == 0)
		return 0;
full:
	x->failed = 1;
	return 1;
}

int
lookup_addr(const char *param, const char *address, struct buf *value)
{
	int     r;

	clnt_err[0] = '\0';
	if ((r = served(param)) <= 0)
		return r;
	if (strlen(address) == 0 || strlen(address) > ADDR_MAX)
		return 0;			/* in no table: no round trip */
	if (direct) {
		direct_open();
		return lookup_addr_keys(param, address, value, direct_get, NULL);
	}
	/* One round trip: the service tries the keys itself. */
	return remote(true, param, address, value);
}

/*
 * Calls from an event loop.
 */

struct lookup_call {
	struct clnt_call *cc;		/* remote, in flight */
	struct ev_timer now;		/* an answer known at once */
	int	r;
	struct buf value;
	char   *why;
	lookup_done_fn *done;
	void   *ctx;
};

static void
call_end(struct lookup_call *c, int r, const char *why)
{
	lookup_done_fn *done = c->done;
	void   *ctx = c->ctx;
	struct buf v = c->value;

	ev_timer_stop(async_loop, &c->now);
	free(c->why);
	free(c);
	async_calls--;
	done(ctx, r, r > 0 ? buf_str(&v) : "", r < 0 ? why : "");
	buf_free(&v);
}

static void
now_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct lookup_call *c = t->data;
	char    why[LOOKUP_WHY_MAX + 64];

	(void) loop;
	(void) str_copy(why, sizeof(why), c->why ? c->why : "");
	call_end(c, c->r, why);
}

static void
remote_done(void *ctx, struct clnt_call *cc, const struct clnt_result *res)
{
	struct lookup_call *c = ctx;
	int     r = -1;

	(void) cc;
	c->cc = NULL;
	clnt_err[0] = '\0';
	if (res->status == CLNT_OK)
		r = reply(res->reply, res->len, &c->value);
	else
		(void) str_fmt(clnt_err, sizeof(clnt_err), "%s", res->why);
	call_end(c, r, clnt_err);
}

static struct lookup_call *call_at_once(struct lookup_call *c);

/* call_new - a call of the loop's, not yet started */
static struct lookup_call *
call_new(lookup_done_fn *done, void *ctx)
{
	struct lookup_call *c = xcalloc(1, sizeof(*c));

	if (async_loop == NULL)
		log_panic("lookup_clnt: an asynchronous lookup without "
			  "lookup_clnt_attach()");
	c->done = done;
	c->ctx = ctx;
	buf_init(&c->value, TABLE_VALUE_MAX);
	ev_timer_init(&c->now, now_cb, c);
	async_calls++;
	clnt_err[0] = '\0';
	return c;
}

/* call_send - m to the service (freed here); or the failure at once */
static struct lookup_call *
call_send(struct lookup_call *c, struct ipc_msg *m, uint64_t timeout_ms)
{
	struct clnt_pool *p;
	const void *wire;
	size_t  len;

	if (m->failed || (p = pool(async_loop)) == NULL) {
		if (m->failed)
			(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup request "
				       "cannot be built: %s", strerror(m->failed));
		ipc_msg_free(m);
		c->r = -1;
		return call_at_once(c);
	}
	wire = ipc_msg_wire(m, false, &len);
	c->cc = clnt_pool_call(p, wire, len, -1, timeout_ms ? timeout_ms
			       : LOOKUP_TIMEOUT_MS, 0, remote_done, c);
	ipc_msg_free(m);
	return c;
}

/* call_at_once - the answer is c->r: deliver it on the next round */
static struct lookup_call *
call_at_once(struct lookup_call *c)
{
	if (c->r < 0)
		c->why = xstrdup(clnt_err);
	ev_timer_start(async_loop, &c->now, 0);
	return c;
}

static struct lookup_call *
start(bool addr, const char *param, const char *key, uint64_t timeout_ms,
      lookup_done_fn *done, void *ctx)
{
	struct lookup_call *c = call_new(done, ctx);
	struct ipc_msg m;

	if ((c->r = served(param)) <= 0
	    || (addr && (strlen(key) == 0 || strlen(key) > ADDR_MAX))) {
		c->r = c->r < 0 ? -1 : 0;	/* no tables, no round trip */
		goto at_once;
	}
	if (direct) {
		direct_open();
		c->r = addr ? lookup_addr_keys(param, key, &c->value, direct_get, NULL)
		    : direct_get(NULL, param, key, &c->value);
		goto at_once;
	}
	if (request(&m, addr, param, key) < 0) {
		ipc_msg_free(&m);
		c->r = -1;
		goto at_once;
	}
	return call_send(c, &m, timeout_ms);

at_once:
	return call_at_once(c);
}

struct lookup_call *
lookup_get_start(const char *param, const char *key, uint64_t timeout_ms,
		 lookup_done_fn *done, void *ctx)
{
	return start(false, param, key, timeout_ms, done, ctx);
}

struct lookup_call *
lookup_addr_start(const char *param, const char *address, uint64_t timeout_ms,
		  lookup_done_fn *done, void *ctx)
{
	return start(true, param, address, timeout_ms, done, ctx);
}

/* direct_table - direct mode: the keys in one restriction table */
static int
direct_table(const char *param, const char *spec, const char *const *keys,
	     size_t nkeys, struct buf *value)
{
	struct table_list *l;
	int     r;

	direct_open();
	r = lookup_maps_list(direct_maps, param, spec, &l, clnt_err, sizeof(clnt_err));
	if (r <= 0)
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < nkeys; i++) {
		if ((r = table_list_get(l, keys[i], value, NULL)) < 0)
			(void) str_fmt(clnt_err, sizeof(clnt_err), "%s: %s", param, l->error);
		if (r != 0)
			return r;
	}
	return 0;
}

struct lookup_call *
lookup_table_start(const char *param, const char *spec, const char *const *keys,
		   size_t nkeys, uint64_t timeout_ms, lookup_done_fn *done,
		   void *ctx)
{
	struct lookup_call *c;
	struct ipc_msg m;

	if (nkeys == 0 || nkeys > LOOKUP_TABLE_KEYS)
		log_panic("lookup_table_start: %zu keys", nkeys);
	c = call_new(done, ctx);
	if (direct) {
		c->r = direct_table(param, spec, keys, nkeys, &c->value);
		return call_at_once(c);
	}
	ipc_msg_init(&m, LOOKUP_REQ_TABLE);
	(void) ipc_put_str(&m, "param", param);
	(void) ipc_put_str(&m, "table", spec);
	for (size_t i = 0; i < nkeys; i++)
		(void) ipc_put_str(&m, "key", keys[i]);
	return call_send(c, &m, timeout_ms);
}

void
lookup_cancel(struct lookup_call *c)
{
	if (c == NULL)
		return;
	if (c->cc != NULL)
		clnt_pool_cancel(c->cc);
	ev_timer_stop(async_loop, &c->now);
	buf_free(&c->value);
	free(c->why);
	free(c);
	async_calls--;
}

int
lookup_addr_plan(const char *address, struct lookup_addr_plan *p)
{
	char    base[LOOKUP_ADDR_MAX + 1];
	const char *at, *domain, *delims;
	size_t  alen = strlen(address);
	bool    local_dom;
	int     delim = 0;

	memset(p, 0, sizeof(*p));
	if (alen == 0 || alen > LOOKUP_ADDR_MAX)
		return 0;			/* the null address is in no table */
	at = strrchr(address, '@');
	domain = at ? at + 1 : "";
	if (at)
		(void) str_fmt(p->local, sizeof(p->local), "%.*s", (int) (at - address),
			       address);
	else
		(void) str_copy(p->local, sizeof(p->local), address);
	(void) str_copy(base, sizeof(base), p->local);

	delims = cfg ? cfg->recipient_delimiter : "";
	if (*delims && p->local[0] != '"') {
		char   *e = addr_strip_extension(base, delims, &delim);

		if (e != NULL) {
			(void) str_fmt(p->ext, sizeof(p->ext), "%c%s", delim, e);
			p->has_ext = true;
		}
	}
	local_dom = *domain == '\0' || is_local_domain(domain);

	/* The keys, in Postfix's order; the first answer wins. */
	for (int step = 0; step < LOOKUP_ADDR_KEYS; step++) {
		char   *key = p->keys[p->n];

		switch (step) {
		case 0:
			(void) str_copy(key, sizeof(p->keys[0]), address);
			break;
		case 1:
			if (!p->has_ext || *domain == '\0')
				continue;
			(void) str_fmt(key, sizeof(p->keys[0]), "%s@%s", base, domain);
			break;
		case 2:
			if (!local_dom || *domain == '\0')
				continue;
			(void) str_copy(key, sizeof(p->keys[0]), p->local);
			break;
		case 3:
			if (!local_dom || !p->has_ext)
				continue;
			(void) str_copy(key, sizeof(p->keys[0]), base);
			break;
		case 4:
			if (*domain == '\0')
				continue;
			(void) str_fmt(key, sizeof(p->keys[0]), "@%s", domain);
			break;
		}
		/* Found without its extension: the extension is carried over. */
		p->stripped[p->n] = p->has_ext && (step == 1 || step == 3);
		p->n++;
	}
	return (int) p->n;
}

int
lookup_addr_result(const char *param, const char *address,
		   const struct lookup_addr_plan *p, size_t which, struct buf *value)
{
	bool    stripped = p->stripped[which];

	/* "@otherdomain": the same local part in another domain. */
	{
		const char *v = buf_str(value);

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '@') {
			struct buf nv;

			buf_init(&nv, value->max);
			if (buf_appendf(&nv, "%s%s", p->local, v) < 0
			    || buf_set(value, nv.data, nv.len) < 0) {
				buf_free(&nv);
				(void) str_fmt(clnt_err, sizeof(clnt_err), "%s: result "
					       "for %.200s too long", param, address);
				return -1;
			}
			buf_free(&nv);
			stripped = false;	/* the extension is in local already */
		}
	}

	if (stripped) {
		struct buf nv;
		struct ext_ctx x = {.out = &nv, .delim_ext = p->ext};
		struct hdr_addr_stats st;

		buf_init(&nv, value->max);
		(void) hdr_addr_walk(value->data, value->len, HDR_ADDR_UTF8,
				     (size_t) -1, add_ext, &x, &st);
		if (st.found == 0) {
			/* Nothing that looks like an address: leave it alone. */
			buf_free(&nv);
			return 1;
		}
		if (x.failed || buf_set(value, nv.data, nv.len) < 0) {
			buf_free(&nv);
			(void) str_fmt(clnt_err, sizeof(clnt_err), "%s: result for "
				       "%.200s too long with the extension", param, address);
			return -1;
		}
		buf_free(&nv);
	}
	return 1;
}

int
lookup_addr_keys(const char *param, const char *address, struct buf *value,
		 lookup_key_fn *get, void *ctx)
{
	struct lookup_addr_plan *p = xmalloc(sizeof(*p));
	int     r = 0;
	size_t  i;

	clnt_err[0] = '\0';
	(void) lookup_addr_plan(address, p);
	for (i = 0; i < p->n && r == 0; i++)
		r = get(ctx, param, p->keys[i], value);
	if (r > 0)
		r = lookup_addr_result(param, address, p, i - 1, value);
	free(p);
	return r;
}
