/*
 * NAME
 *	cleanup_clnt - hand a message to the cleanup service
 * DESCRIPTION
 *	See cleanup_clnt.h.  The request is built once and the same
 *	bytes go out whether the caller blocks or drives an event loop.
 *
 *	Kept connections, their reuse, the resend after a kept connection
 *	cleanup closed, the deadline and cancellation are lib/ipc/clnt_pool's,
 *	for cleanup_submit() (a pool without a loop) as for the event-loop
 *	pool; this file builds the request and checks the reply.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup_clnt.h"
#include "clnt_pool.h"
#include "dsn.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "qid.h"
#include "reach.h"
#include "str.h"

static char clnt_path[108] = CLEANUP_SOCKET;
static bool keep;			/* cleanup_submit() keeps its connection */
static struct clnt_pool *sync_pool;	/* cleanup_submit()'s connection */

static int reply_check(const char *reply, size_t len, char *why, size_t whylen);

static const struct clnt_proto cleanup_proto = {
	.service = "the cleanup service",
	.reply_max = CLEANUP_REP_MAX,
	.frame = clnt_frame_ipc,
	.check = reply_check,
	.resend = true,				/* cleanup closes only between requests */
};

void
cleanup_clnt_set_path(const char *path)
{
	clnt_pool_free(sync_pool);
	sync_pool = NULL;
	(void) str_copy(clnt_path, sizeof(clnt_path), path);
}

/* new_pool - a pool of connections to cleanup (loop NULL: blocking) */
static struct clnt_pool *
new_pool(struct ev_loop *loop, size_t max_idle, uint64_t idle_ms)
{
	struct clnt_pool_conf conf = {
		.endpoint = clnt_path, .proto = &cleanup_proto,
		.max_idle = max_idle, .idle_ms = idle_ms,
	};
	char    why[CLNT_WHY_MAX];
	struct clnt_pool *p = clnt_pool_new(loop, &conf, why, sizeof(why));

	if (p == NULL)
		log_fatal("cleanup service: %s", why);
	return p;
}

/* parse - a reply's bytes into res: 0, or -1 (res says 4.3.0 why) */
static int
parse(const char *reply, size_t len, struct cleanup_result *res)
{
	struct ipc_in in;
	int     r;

	ipc_in_init_max(&in, CLEANUP_REP_MAX);
	if (ipc_in_parse(&in, reply, len) < 0) {
		cleanup_clnt_fail(res, "malformed reply from the cleanup service (%s)",
				  ipc_error(&in));
		r = -1;
	} else
		r = cleanup_reply_parse(&in, res);
	ipc_in_free(&in);
	return r;
}

/*
 * parse_qid - a CLEANUP_REP_QID message into qid (CLEANUP_QID_MAX + 1
 * bytes): 1; another type: 0; a malformed one: -1 (res says 4.3.0 why)
 */
static int
parse_qid(const char *reply, size_t len, char *qid, struct cleanup_result *res)
{
	struct ipc_in in;
	const char *q;
	int     r = 0;

	ipc_in_init_max(&in, CLEANUP_REP_MAX);
	if (ipc_in_parse(&in, reply, len) < 0) {
		cleanup_clnt_fail(res, "malformed reply from the cleanup service (%s)",
				  ipc_error(&in));
		r = -1;
	} else if (in.type == CLEANUP_REP_QID) {
		r = 1;
		if (ipc_get_str(&in, "queue_id", &q, CLEANUP_QID_MAX) < 0
		    || ipc_get_end(&in) < 0 || !qid_valid(q)) {
			cleanup_clnt_fail(res, "malformed queue ID message from the "
					  "cleanup service");
			r = -1;
		} else
			(void) str_copy(qid, CLEANUP_QID_MAX + 1, q);
	}
	ipc_in_free(&in);
	return r;
}

/* reply_check - a reply that makes no sense condemns its connection */
static int
reply_check(const char *reply, size_t len, char *why, size_t whylen)
{
	struct cleanup_result res;
	char    qid[CLEANUP_QID_MAX + 1];
	int     r = parse_qid(reply, len, qid, &res);

	if (r == 1 || (r == 0 && parse(reply, len, &res) == 0))
		return 0;
	(void) str_copy(why, whylen, res.reason + 6);	/* after "4.3.0 " */
	return -1;
}

/* answer - cleanup's reply (or why there is none) into res; true: answered */
static bool
answer(const struct clnt_result *r, struct cleanup_result *res)
{
	if (r->status != CLNT_OK) {
		cleanup_clnt_fail(res, "%s", r->why);
		return false;
	}
	return parse(r->reply, r->len, res) == 0;
}

void
cleanup_clnt_fail(struct cleanup_result *res, const char *fmt, ...)
{
	char    text[CLEANUP_REASON_MAX - 8];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	res->status = CLEANUP_STAT_TEMP;
	res->queue_id[0] = '\0';
	(void) str_fmt(res->reason, sizeof(res->reason), "4.3.0 %s", text);
}

/* put_opt - an optional string attribute */
static void
put_opt(struct ipc_msg *m, const char *name, const char *v)
{
	if (v != NULL)
		(void) ipc_put_str(m, name, v);
}

int
cleanup_request_build(struct ipc_msg *m, const struct cleanup_envelope *env)
{
	ipc_msg_init(m, CLEANUP_REQ_SUBMIT);
	if ((env->flags & ~(unsigned) (CLEANUP_F_MASK & ~CLEANUP_F_ANNOUNCE)) != 0
	    || env->sender == NULL) {
		m->failed = EINVAL;
		errno = EINVAL;
		return -1;
	}
	(void) ipc_put_num(m, "flags", env->flags
			   | (env->announced != NULL ? CLEANUP_F_ANNOUNCE : 0));
	(void) ipc_put_num(m, "offset", env->offset);
	(void) ipc_put_num(m, "length", env->length);
	/* Optional attributes, in this order (cleanup checks the order). */
	put_opt(m, "client_name", env->client_name);
	put_opt(m, "client_addr", env->client_addr);
	put_opt(m, "helo", env->helo);
	put_opt(m, "protocol", env->protocol);
	put_opt(m, "tls", env->tls);
	put_opt(m, "sasl_method", env->sasl_method);
	put_opt(m, "sasl_username", env->sasl_username);
	if (env->uid >= 0)
		(void) ipc_put_num(m, "uid", (uint64_t) env->uid);
	put_opt(m, "fullname", env->fullname);
	put_opt(m, "envid", env->envid);
	put_opt(m, "ret", env->ret);
	if (env->smtputf8)
		(void) ipc_put_num(m, "smtputf8", 1);
	put_opt(m, "filter", env->filter);
	put_opt(m, "redirect", env->redirect);
	put_opt(m, "prepend", env->prepend);
	(void) ipc_put_str(m, "sender", env->sender);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct cleanup_rcpt_in *r = &env->rcpts[i];

		if (r->addr == NULL) {
			m->failed = EINVAL;
			break;
		}
		put_opt(m, "orcpt", r->orcpt);
		put_opt(m, "notify", r->notify);
		(void) ipc_put_str(m, "rcpt", r->addr);
	}
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	return 0;
}

/* printable - 1..n printable ASCII bytes */
static bool
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
			return false;
	return true;
}

int
cleanup_reply_parse(struct ipc_in *in, struct cleanup_result *res)
{
	uint64_t st;
	const char *qid, *reason;

	if (in->type != CLEANUP_REP
	    || ipc_get_num(in, "status", &st) < 0
	    || ipc_get_str(in, "queue_id", &qid, CLEANUP_QID_MAX) < 0
	    || ipc_get_str(in, "reason", &reason, CLEANUP_REASON_MAX) < 0
	    || ipc_get_end(in) < 0) {
		cleanup_clnt_fail(res, "malformed reply from the cleanup service (%s)",
				  in->type != CLEANUP_REP ? "wrong message type"
				  : ipc_error(in));
		return -1;
	}
	if (st == CLEANUP_STAT_OK) {
		if (!qid_valid(qid)) {
			cleanup_clnt_fail(res, "the cleanup service said \"queued\" "
					  "without a valid queue ID");
			return -1;
		}
		res->status = CLEANUP_STAT_OK;
		(void) str_copy(res->queue_id, sizeof(res->queue_id), qid);
		res->reason[0] = '\0';
		return 0;
	}
	{
		size_t  k = dsn_scan(reason, strlen(reason));
		char    code[DSN_MAX + 1];

		if ((st != CLEANUP_STAT_TEMP && st != CLEANUP_STAT_PERM)
		    || !printable(reason) || k == 0 || k > DSN_MAX) {
			cleanup_clnt_fail(res, "malformed reply from the cleanup "
					  "service (status %llu)", (unsigned long long) st);
			return -1;
		}
		memcpy(code, reason, k);
		code[k] = '\0';
		if (dsn_class(code) != (st == CLEANUP_STAT_TEMP ? '4' : '5')) {
			cleanup_clnt_fail(res, "malformed reply from the cleanup "
					  "service (status %llu, code %s)",
					  (unsigned long long) st, code);
			return -1;
		}
	}
	res->status = (int) st;
	res->queue_id[0] = '\0';
	(void) str_copy(res->reason, sizeof(res->reason), reason);
	return 0;
}

void
cleanup_clnt_keep(bool on)
{
	keep = on;
	if (!on)
		cleanup_clnt_release();
}

void
cleanup_clnt_release(void)
{
	if (sync_pool != NULL)
		clnt_pool_close_idle(sync_pool);
}

/*
 * One submission, blocking or from an event loop: the SUBMIT, and with
 * env->announced the conversation CLEANUP_REP_QID -> announced() ->
 * CLEANUP_REQ_LOGGED before the final CLEANUP_REP.
 */
struct cleanup_call {
	struct clnt_call *cc;
	cleanup_done_fn *done;		/* event loop: the caller's callback */
	void   *ctx;
	void	(*announced)(void *ctx, const char *queue_id);
	void   *announced_ctx;
	bool	told;			/* the queue ID came and was announced */
	bool	over;			/* blocking: the call ended */
	bool	answered;		/* ... with cleanup's reply in res */
	struct cleanup_result res;
};

/* finish - the call's outcome is in c->res: tell the caller */
static void
finish(struct cleanup_call *c, bool answered)
{
	c->answered = answered;
	if (c->done == NULL) {
		c->over = true;			/* cleanup_submit() reads it */
		return;
	}
	c->done(c->ctx, &c->res, answered);
	free(c);
}

/* step - one reply (or failure) of a submission */
static void
step(void *ctx, struct clnt_call *cc, const struct clnt_result *r)
{
	struct cleanup_call *c = ctx;
	char    qid[CLEANUP_QID_MAX + 1];
	int     k;

	if (c->announced == NULL) {		/* a plain call: over now */
		finish(c, answer(r, &c->res));
		return;
	}
	/* A conversation: the call holds its connection until here. */
	if (r->status != CLNT_OK) {
		cleanup_clnt_fail(&c->res, "%s", r->why);
		clnt_pool_cancel(cc);
		finish(c, false);
		return;
	}
	k = parse_qid(r->reply, r->len, qid, &c->res);
	if (k == 1 && !c->told) {
		struct ipc_msg m;
		size_t  len;
		const void *wire;

		c->told = true;
		c->announced(c->announced_ctx, qid);
		ipc_msg_init(&m, CLEANUP_REQ_LOGGED);
		wire = ipc_msg_wire(&m, false, &len);
		clnt_pool_send(cc, wire, len, -1, CLEANUP_TIMEOUT_MS, step, c);
		ipc_msg_free(&m);
		return;
	}
	if (k == 1) {
		cleanup_clnt_fail(&c->res, "the cleanup service sent a second queue ID");
		k = -1;
	}
	if (k == 0 && parse(r->reply, r->len, &c->res) == 0) {
		clnt_pool_release(cc);		/* a whole exchange: keep it */
		finish(c, true);
		return;
	}
	clnt_pool_cancel(cc);
	finish(c, false);
}

/* call - start a submission on pool p; false (res filled) when not sent */
static bool
call(struct clnt_pool *p, struct cleanup_call *c, const struct cleanup_envelope *env,
     int content_fd, struct cleanup_result *res)
{
	struct ipc_msg m;
	const void *wire;
	size_t  len;
	int     saved;

	if (cleanup_request_build(&m, env) < 0) {
		saved = errno;
		cleanup_clnt_fail(res, "cannot build the cleanup request: %s",
				  strerror(saved));
		ipc_msg_free(&m);
		errno = saved;
		return false;
	}
	c->announced = env->announced;
	c->announced_ctx = env->announced_ctx;
	wire = ipc_msg_wire(&m, content_fd >= 0, &len);
	c->cc = clnt_pool_call(p, wire, len, content_fd, CLEANUP_TIMEOUT_MS,
			       c->announced ? CLNT_HOLD : 0, step, c);
	ipc_msg_free(&m);
	return true;
}

int
cleanup_submit(const struct cleanup_envelope *env, int content_fd,
	       struct cleanup_result *res)
{
	struct cleanup_call c = {0};

	if (sync_pool == NULL)
		sync_pool = new_pool(NULL, 1, 0);
	if (!call(sync_pool, &c, env, content_fd, res))
		return res->status;
	clnt_pool_run(sync_pool, &c.over);
	*res = c.res;
	/* Only a well-formed answer leaves the connection fit to keep. */
	if (!c.answered || !keep)
		cleanup_clnt_release();
	return res->status;
}

/*
 * The pool for event loops: lib/ipc/clnt_pool.h does the connections.
 */

struct cleanup_pool {
	struct clnt_pool *cp;
};

struct cleanup_pool *
cleanup_pool_new(struct ev_loop *loop, size_t max_idle, uint64_t idle_ms)
{
	struct cleanup_pool *p = xcalloc(1, sizeof(*p));

	p->cp = new_pool(loop, max_idle, idle_ms);
	return p;
}

void
cleanup_pool_free(struct cleanup_pool *p)
{
	if (p == NULL)
		return;
	clnt_pool_free(p->cp);
	free(p);
}

size_t
cleanup_pool_idle(const struct cleanup_pool *p)
{
	return clnt_pool_idle(p->cp);
}

struct cleanup_call *
cleanup_pool_submit(struct cleanup_pool *p, const struct cleanup_envelope *env,
		    int content_fd, cleanup_done_fn *done, void *ctx,
		    struct cleanup_result *res)
{
	struct cleanup_call *c = xcalloc(1, sizeof(*c));

	c->done = done;
	c->ctx = ctx;
	if (!call(p->cp, c, env, content_fd, res)) {
		free(c);
		return NULL;
	}
	return c;
}

void
cleanup_pool_cancel(struct cleanup_call *c)
{
	if (c == NULL)
		return;
	clnt_pool_cancel(c->cc);
	free(c);
}

int
cleanup_overrides_parse(const char *value, struct cleanup_overrides *o, char *why,
			size_t size)
{
	char   *copy = xstrdup(value), *p = copy, *w;
	int	ret = 0;

	memset(o, 0, sizeof(*o));
	while ((w = str_split(&p, " \t\r\n,")) != NULL) {
		if (str_casecmp(w, "no_unknown_recipient_checks") == 0)
			o->no_unknown_rcpt = true;
		else if (str_casecmp(w, "no_address_mappings") == 0)
			o->flags |= CLEANUP_F_NO_MAPS;
		else if (str_casecmp(w, "no_header_body_checks") == 0)
			o->flags |= CLEANUP_F_NO_CHECKS;
		else if (str_casecmp(w, "no_milters") == 0)
			continue;		/* postern has no milters */
		else {
			(void) str_fmt(why, size, "unknown option \"%.64s\": want "
				       "no_unknown_recipient_checks, no_address_mappings, "
				       "no_header_body_checks or no_milters", w);
			ret = -1;
			break;
		}
	}
	free(copy);
	return ret;
}
