/*
 * NAME
 *	auth_clnt - password checks for SMTP AUTH, through Dovecot's
 *	authentication service or postern's own (auth(8))
 * DESCRIPTION
 *	See auth_clnt.h.  Both back ends are a struct clnt_proto on one
 *	clnt_pool: Dovecot's with a hello, a greeting that ends in "DONE"
 *	and one line per answer; postern's with lib/ipc/ipc messages.  A
 *	request that cannot be built (a name or password over its bound,
 *	a NUL in it) is answered from a 0 ms timer, so done never runs
 *	inside auth_clnt_check().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth_clnt.h"
#include "base64.h"
#include "buf.h"
#include "event.h"
#include "log.h"
#include "mem.h"
#include "num.h"
#include "str.h"

#define POOL_CONNS	8
#define POOL_IDLE	2
#define POOL_IDLE_MS	30000

struct auth_clnt {
	struct ev_loop *loop;
	bool	dovecot;
	struct clnt_proto proto;
	char	hello[64];
	struct clnt_pool *pool;
};

struct auth_call {
	struct auth_clnt *a;
	struct clnt_call *cc;
	struct ev_timer now;		/* an answer known without asking */
	auth_done_fn *done;
	void   *ctx;
	unsigned id;			/* Dovecot's request id */
	char	reason[AUTH_REASON_MAX];
};

static unsigned next_id;

/* ------------------------------------------------------------------ */
/* postern's auth service: lib/ipc/ipc messages.                          */

static int
put(struct ipc_msg *m, const char *name, const char *v, size_t max)
{
	v = v ? v : "";
	if (strlen(v) > max) {
		m->failed = EMSGSIZE;
		return -1;
	}
	return ipc_put_str(m, name, v);
}

int
auth_request_build(struct ipc_msg *m, const struct auth_request *rq)
{
	ipc_msg_init(m, AUTH_REQ_CHECK);
	(void) put(m, "user", rq->user, AUTH_USER_MAX);
	(void) put(m, "password", rq->password, AUTH_PASS_MAX);
	(void) put(m, "authzid", rq->authzid, AUTH_USER_MAX);
	(void) put(m, "service", rq->service, 32);
	(void) put(m, "client_addr", rq->client_addr, 64);
	return m->failed ? -1 : 0;
}

int
auth_request_parse(struct ipc_in *in, struct auth_request *rq, char *why,
		   size_t whylen)
{
	memset(rq, 0, sizeof(*rq));
	if (in->type != AUTH_REQ_CHECK
	    || ipc_get_str(in, "user", &rq->user, AUTH_USER_MAX) < 0
	    || ipc_get_str(in, "password", &rq->password, AUTH_PASS_MAX) < 0
	    || ipc_get_str(in, "authzid", &rq->authzid, AUTH_USER_MAX) < 0
	    || ipc_get_str(in, "service", &rq->service, 32) < 0
	    || ipc_get_str(in, "client_addr", &rq->client_addr, 64) < 0
	    || ipc_get_end(in) < 0) {
		(void) str_fmt(why, whylen, "malformed request: %s",
			       in->type != AUTH_REQ_CHECK ? "not a check" : ipc_error(in));
		return -1;
	}
	return 0;
}

int
auth_reply_build(struct ipc_msg *m, int status, const char *user, const char *reason)
{
	ipc_msg_init(m, AUTH_REP);
	(void) ipc_put_num(m, "status", (uint64_t) status);
	(void) put(m, "user", user, AUTH_USER_MAX);
	(void) put(m, "reason", reason, AUTH_REASON_MAX);
	return m->failed ? -1 : 0;
}

int
auth_reply_parse(struct ipc_in *in, int *status, const char **user,
		 const char **reason)
{
	uint64_t st;

	if (in->type != AUTH_REP || ipc_get_num(in, "status", &st) < 0 || st > AUTH_TEMP
	    || ipc_get_str(in, "user", user, AUTH_USER_MAX) < 0
	    || ipc_get_str(in, "reason", reason, AUTH_REASON_MAX) < 0
	    || ipc_get_end(in) < 0)
		return -1;
	*status = (int) st;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Dovecot's protocol.                                                */

/* dovecot_greeting - the handshake ends with a line "DONE" */
static ssize_t
dovecot_greeting(const char *p, size_t len, size_t max, char *why, size_t whylen)
{
	for (size_t i = 0; i + 5 <= len; i++)
		if ((i == 0 || p[i - 1] == '\n') && memcmp(p + i, "DONE\n", 5) == 0)
			return (ssize_t) (i + 5);
	if (len > max) {
		(void) str_fmt(why, whylen, "handshake longer than %zu bytes", max);
		return -1;
	}
	return 0;
}

/* line_is - does the line at p (up to LF) start with word and a tab? */
static bool
has_line(const char *g, size_t len, const char *word)
{
	size_t	w = strlen(word);

	for (size_t i = 0; i + w < len; i++)
		if ((i == 0 || g[i - 1] == '\n') && memcmp(g + i, word, w) == 0
		    && (g[i + w] == '\t' || g[i + w] == '\n'))
			return true;
	return false;
}

static int
dovecot_greeting_ok(void *ctx, const char *g, size_t len, char *why, size_t whylen)
{
	(void) ctx;
	if (len < 10 || memcmp(g, "VERSION\t1\t", 10) != 0) {
		(void) str_copy(why, whylen, "not Dovecot's authentication protocol "
				"version 1 (check smtpd_sasl_path)");
		return 0;
	}
	if (!has_line(g, len, "MECH\tPLAIN")) {
		(void) str_copy(why, whylen, "Dovecot does not offer PLAIN (add plain "
				"to auth_mechanisms)");
		return 0;
	}
	return 1;
}

static int
dovecot_check(const char *r, size_t len, char *why, size_t whylen)
{
	if ((len > 3 && memcmp(r, "OK\t", 3) == 0) || (len > 5 && memcmp(r, "FAIL\t", 5) == 0)
	    || (len > 5 && memcmp(r, "CONT\t", 5) == 0))
		return 0;
	(void) str_fmt(why, whylen, "unexpected answer from Dovecot: %.40s", r);
	return -1;
}

static int
dovecot_request(struct buf *out, unsigned id, const struct auth_request *rq)
{
	const char *authz = rq->authzid ? rq->authzid : "";
	size_t	zl = strlen(authz), ul = strlen(rq->user), pl = strlen(rq->password);
	unsigned char raw[AUTH_USER_MAX * 2 + AUTH_PASS_MAX + 2];
	int	r;

	if (zl > AUTH_USER_MAX || ul > AUTH_USER_MAX || pl > AUTH_PASS_MAX)
		return -1;
	memcpy(raw, authz, zl);
	raw[zl] = '\0';
	memcpy(raw + zl + 1, rq->user, ul);
	raw[zl + 1 + ul] = '\0';
	memcpy(raw + zl + 2 + ul, rq->password, pl);
	r = buf_appendf(out, "AUTH\t%u\tPLAIN\tservice=%s\tnologin\trip=%s\t%sresp=", id,
			rq->service, rq->client_addr, rq->secured ? "secured\t" : "");
	if (r == 0)
		r = base64_encode(raw, zl + ul + pl + 2, out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return r == 0 ? buf_putc(out, '\n') : -1;
}

/*
 * dovecot_answer - OK / FAIL / CONT id param...: the status, with user
 * and reason copied out (printable only: they reach the log)
 */
static int
dovecot_answer(const char *r, size_t len, unsigned id, char *user, size_t usize,
	       char *reason, size_t rsize)
{
	char	line[AUTH_REPLY_MAX + 1], *p = line, *w;
	int	status;
	bool	temp = false;
	uint64_t got;
	const char *why;

	*user = *reason = '\0';
	if (len == 0 || len > AUTH_REPLY_MAX)
		return AUTH_TEMP;
	memcpy(line, r, len);
	line[len - 1] = '\0';			/* the LF */
	w = str_split(&p, "\t");
	if (str_eq(w, "OK"))
		status = AUTH_OK;
	else if (str_eq(w, "FAIL"))
		status = AUTH_FAIL;
	else {
		(void) str_copy(reason, rsize, "Dovecot asked for more (CONT) for "
				"PLAIN with a response");
		return AUTH_TEMP;
	}
	if ((w = str_split(&p, "\t")) == NULL
	    || num_parse_u64(w, 1, UINT32_MAX, &got, &why) < 0 || got != id) {
		(void) str_copy(reason, rsize, "Dovecot answered another request");
		return AUTH_TEMP;
	}
	while ((w = str_split(&p, "\t")) != NULL) {
		if (strncmp(w, "user=", 5) == 0)
			(void) str_copy(user, usize, w + 5);
		else if (strncmp(w, "reason=", 7) == 0)
			(void) str_copy(reason, rsize, w + 7);
		else if (str_eq(w, "temp"))
			temp = true;
	}
	if (str_has_ctl(user, strlen(user)) || str_has_ctl(reason, strlen(reason))) {
		*user = '\0';
		(void) str_copy(reason, rsize, "Dovecot's answer holds control characters");
		return AUTH_TEMP;
	}
	if (status == AUTH_OK && *user == '\0') {
		(void) str_copy(reason, rsize, "Dovecot's OK names no user");
		return AUTH_TEMP;
	}
	return status == AUTH_FAIL && temp ? AUTH_TEMP : status;
}

/* ------------------------------------------------------------------ */
/* Calls.                                                             */

static void
finish(struct auth_call *c, int status, const char *user, const char *reason)
{
	auth_done_fn *done = c->done;
	void   *ctx = c->ctx;

	ev_timer_stop(c->a->loop, &c->now);
	free(c);
	done(ctx, status, user, reason);
}

static void
on_now(struct ev_loop *loop, struct ev_timer *t)
{
	struct auth_call *c = t->data;
	char	reason[AUTH_REASON_MAX];

	(void) loop;
	(void) str_copy(reason, sizeof(reason), c->reason);
	finish(c, AUTH_TEMP, "", reason);
}

static void
on_reply(void *ctx, struct clnt_call *cc, const struct clnt_result *res)
{
	struct auth_call *c = ctx;
	char	user[AUTH_USER_MAX + 1] = "", reason[AUTH_REASON_MAX] = "";
	int	status = AUTH_TEMP;

	(void) cc;
	c->cc = NULL;
	if (res->status != CLNT_OK) {
		(void) str_copy(reason, sizeof(reason), res->why ? res->why : "no answer");
	} else if (c->a->dovecot) {
		status = dovecot_answer(res->reply, res->len, c->id, user, sizeof(user),
					reason, sizeof(reason));
	} else {
		struct ipc_in in;
		const char *u, *r;

		ipc_in_init_max(&in, AUTH_REPLY_MAX);
		if (ipc_in_parse(&in, res->reply, res->len) < 0
		    || auth_reply_parse(&in, &status, &u, &r) < 0
		    || str_has_ctl(u, strlen(u)) || str_has_ctl(r, strlen(r))) {
			status = AUTH_TEMP;
			(void) str_copy(reason, sizeof(reason), "malformed answer from "
					"the auth service");
		} else {
			(void) str_copy(user, sizeof(user), u);
			(void) str_copy(reason, sizeof(reason), r);
		}
		ipc_in_free(&in);
	}
	finish(c, status, user, reason);
}

static int
postern_check(const char *r, size_t len, char *why, size_t whylen)
{
	struct ipc_in in;
	int	st, ok;
	const char *u, *reason;

	ipc_in_init_max(&in, AUTH_REPLY_MAX);
	ok = ipc_in_parse(&in, r, len) == 0 && auth_reply_parse(&in, &st, &u, &reason) == 0;
	ipc_in_free(&in);
	if (!ok)
		(void) str_copy(why, whylen, "malformed answer from the auth service");
	return ok ? 0 : -1;
}

struct auth_clnt *
auth_clnt_new(struct ev_loop *loop, const char *type, const char *path, char *why,
	      size_t whylen)
{
	struct auth_clnt *a;
	struct clnt_pool_conf conf = {0};

	if (!str_eq(type, "dovecot") && !str_eq(type, "postern")) {
		(void) str_fmt(why, whylen, "unknown SASL type \"%s\" (use dovecot or "
			       "postern)", type);
		return NULL;
	}
	a = xcalloc(1, sizeof(*a));
	a->loop = loop;
	a->dovecot = str_eq(type, "dovecot");
	a->proto.reply_max = AUTH_REPLY_MAX;
	a->proto.resend = true;			/* a check changes nothing */
	if (a->dovecot) {
		(void) str_fmt(a->hello, sizeof(a->hello), "VERSION\t1\t2\nCPID\t%ld\n",
			       (long) getpid());
		a->proto.service = "Dovecot's auth service";
		a->proto.frame = clnt_frame_line;
		a->proto.check = dovecot_check;
		a->proto.hello = a->hello;
		a->proto.hello_len = strlen(a->hello);
		a->proto.greeting = dovecot_greeting;
		a->proto.greeting_ok = dovecot_greeting_ok;
	} else {
		a->proto.service = "the auth service";
		a->proto.frame = clnt_frame_ipc;
		a->proto.check = postern_check;
	}
	conf.endpoint = path;
	conf.proto = &a->proto;
	conf.max_conns = POOL_CONNS;
	conf.max_idle = POOL_IDLE;
	conf.idle_ms = POOL_IDLE_MS;
	if ((a->pool = clnt_pool_new(loop, &conf, why, whylen)) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void
auth_clnt_free(struct auth_clnt *a)
{
	if (a == NULL)
		return;
	clnt_pool_free(a->pool);
	free(a);
}

struct auth_call *
auth_clnt_check(struct auth_clnt *a, const struct auth_request *rq, uint64_t timeout_ms,
		auth_done_fn *done, void *ctx)
{
	struct auth_call *c = xcalloc(1, sizeof(*c));
	struct buf req;
	struct ipc_msg m;
	const void *wire;
	size_t	len;
	int	r;

	c->a = a;
	c->done = done;
	c->ctx = ctx;
	ev_timer_init(&c->now, on_now, c);
	if (a->dovecot) {
		c->id = ++next_id ? next_id : ++next_id;
		buf_init(&req, 4 * (AUTH_USER_MAX * 2 + AUTH_PASS_MAX) + 512);
		if ((r = dovecot_request(&req, c->id, rq)) == 0)
			c->cc = clnt_pool_call(a->pool, req.data, req.len, -1, timeout_ms,
					       0, on_reply, c);
		OPENSSL_cleanse(req.data, req.len);
		buf_free(&req);
	} else {
		if ((r = auth_request_build(&m, rq)) == 0) {
			wire = ipc_msg_wire(&m, false, &len);
			c->cc = clnt_pool_call(a->pool, wire, len, -1, timeout_ms, 0,
					       on_reply, c);
			OPENSSL_cleanse((void *) wire, len);
		}
		ipc_msg_free(&m);
	}
	if (r < 0) {
		(void) str_copy(c->reason, sizeof(c->reason), "user name or password "
				"too long for the authentication service");
		ev_timer_start(a->loop, &c->now, 0);
	}
	return c;
}

void
auth_clnt_cancel(struct auth_call *c)
{
	if (c == NULL)
		return;
	if (c->cc != NULL)
		clnt_pool_cancel(c->cc);
	ev_timer_stop(c->a->loop, &c->now);
	free(c);
}
