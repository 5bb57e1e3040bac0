/*
 * NAME
 *	cleanup_clnt - hand a message to the cleanup service
 * DESCRIPTION
 *	See cleanup_clnt.h.  The request is built once and the same
 *	bytes go out whether the caller blocks or drives an event loop.
 *
 *	Kept connections, their reuse, the resend after a kept connection
 *	cleanup closed, the deadline and cancellation are lib/clnt_pool's,
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

/* reply_check - a reply that makes no sense condemns its connection */
static int
reply_check(const char *reply, size_t len, char *why, size_t whylen)
{
	struct cleanup_result res;

	if (parse(reply, len, &res) == 0)
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
	if ((env->flags & ~(unsigned) CLEANUP_F_MASK) != 0 || env->sender == NULL) {
		m->failed = EINVAL;
		errno = EINVAL;
		return -1;
	}
	(void) ipc_put_num(m, "flags", env->flags);
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

/* connect_nb - non-blocking connect to the cleanup socket */
static int
connect_nb(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int     fd;

	if (str_copy(sun.sun_path, sizeof(sun.sun_path), clnt_path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!reach_ok(clnt_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/*
	 * A UNIX socket connects at once or not at all: EAGAIN means the
	 * listen queue is full (every cleanup process busy and the master
	 * not keeping up).  Never block an event loop on that.
	 */
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0
	    && errno != EINPROGRESS) {
		int     saved = errno;

		(void) close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
cleanup_clnt_start(const struct cleanup_envelope *env, int content_fd,
		   struct ipc_conn *conn, struct cleanup_result *res)
{
	struct ipc_msg m;
	int     fd;

	if (cleanup_request_build(&m, env) < 0) {
		cleanup_clnt_fail(res, "cannot build the cleanup request: %s",
				  strerror(errno));
		ipc_msg_free(&m);
		return -1;
	}
	if ((fd = connect_nb()) < 0) {
		int     saved = errno;

		cleanup_clnt_fail(res, "cannot connect to the cleanup service: %s",
				  strerror(saved));
		ipc_msg_free(&m);
		errno = saved;
		return -1;
	}
	ipc_conn_init(conn, fd, CLEANUP_REP_MAX);
	if (ipc_conn_queue(conn, &m, content_fd) < 0
	    || ipc_conn_flush(conn) < 0) {
		int     saved = errno;

		cleanup_clnt_fail(res, "cannot send to the cleanup service: %s",
				  strerror(saved));
		ipc_msg_free(&m);
		cleanup_clnt_close(conn);
		errno = saved;
		return -1;
	}
	ipc_msg_free(&m);
	return fd;
}

int
cleanup_clnt_result(struct ipc_conn *conn, struct cleanup_result *res)
{
	struct ipc_in in;
	ssize_t n;
	int     r;

	n = ipc_conn_read(conn);
	if (n == 0) {
		cleanup_clnt_fail(res, "the cleanup service closed the connection "
				  "without an answer");
		return -1;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		cleanup_clnt_fail(res, "reading from the cleanup service: %s",
				  strerror(errno));
		return -1;
	}
	ipc_in_init_max(&in, CLEANUP_REP_MAX);
	r = ipc_conn_next(conn, &in, NULL);
	if (r == 0) {
		ipc_in_free(&in);
		return 0;
	}
	if (r < 0) {
		cleanup_clnt_fail(res, "malformed reply from the cleanup service (%s)",
				  conn->err ? conn->err : ipc_error(&in));
		ipc_in_free(&in);
		return -1;
	}
	r = cleanup_reply_parse(&in, res);
	ipc_in_free(&in);
	return r < 0 ? -1 : 1;
}

void
cleanup_clnt_close(struct ipc_conn *conn)
{
	if (conn->fd >= 0)
		(void) close(conn->fd);
	ipc_conn_free(conn);
	conn->fd = -1;
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

int
cleanup_submit(const struct cleanup_envelope *env, int content_fd,
	       struct cleanup_result *res)
{
	struct ipc_msg m;
	struct clnt_result r = {.status = CLNT_ERROR};
	struct buf rep;
	const void *wire;
	size_t  len;
	char    why[CLNT_WHY_MAX];

	if (cleanup_request_build(&m, env) < 0) {
		cleanup_clnt_fail(res, "cannot build the cleanup request: %s",
				  strerror(errno));
		ipc_msg_free(&m);
		return res->status;
	}
	if (sync_pool == NULL)
		sync_pool = new_pool(NULL, 1, 0);
	wire = ipc_msg_wire(&m, content_fd >= 0, &len);
	buf_init(&rep, IPC_HDR_LEN + CLEANUP_REP_MAX);
	r.status = clnt_pool_wait(sync_pool, wire, len, content_fd,
				  CLEANUP_TIMEOUT_MS, &rep, why, sizeof(why));
	r.reply = rep.data;
	r.len = rep.len;
	r.why = why;
	/* Only a well-formed answer leaves the connection fit to keep. */
	if (!answer(&r, res) || !keep)
		cleanup_clnt_release();
	buf_free(&rep);
	ipc_msg_free(&m);
	return res->status;
}

/*
 * The pool for event loops: lib/clnt_pool.h does the connections.
 */

struct cleanup_pool {
	struct clnt_pool *cp;
};

struct cleanup_call {
	struct clnt_call *cc;
	cleanup_done_fn *done;
	void   *ctx;
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

static void
pool_done(void *ctx, struct clnt_call *cc, const struct clnt_result *r)
{
	struct cleanup_call *c = ctx;
	cleanup_done_fn *done = c->done;
	void   *dctx = c->ctx;
	struct cleanup_result res;
	bool    answered;

	(void) cc;
	free(c);
	answered = answer(r, &res);
	done(dctx, &res, answered);
}

struct cleanup_call *
cleanup_pool_submit(struct cleanup_pool *p, const struct cleanup_envelope *env,
		    int content_fd, cleanup_done_fn *done, void *ctx,
		    struct cleanup_result *res)
{
	struct cleanup_call *c;
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
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->done = done;
	c->ctx = ctx;
	wire = ipc_msg_wire(&m, content_fd >= 0, &len);
	c->cc = clnt_pool_call(p->cp, wire, len, content_fd, CLEANUP_TIMEOUT_MS, 0,
			       pool_done, c);
	ipc_msg_free(&m);
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
