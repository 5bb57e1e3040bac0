/*
 * NAME
 *	cleanup_clnt - hand a message to the cleanup service
 * DESCRIPTION
 *	See cleanup_clnt.h.  The request is built once and the same
 *	bytes go out whether the caller blocks or drives an event loop.
 *
 *	A pool connection is its own handle (struct cleanup_call): the
 *	caller keeps the pointer from submit to its callback, and a
 *	retry on a new connection happens inside the same structure.
 *	Idle connections stay registered for reading in the event loop
 *	(level-triggered), so taking one costs no system call, and one
 *	that cleanup closes is noticed and dropped by itself.
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
#include "dsn.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "qid.h"
#include "str.h"

static char clnt_path[108] = CLEANUP_SOCKET;
static bool keep;			/* cleanup_submit() keeps its connection */
static int kept_fd = -1;

void
cleanup_clnt_set_path(const char *path)
{
	(void) str_copy(clnt_path, sizeof(clnt_path), path);
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
	if (kept_fd >= 0)
		(void) close(kept_fd);
	kept_fd = -1;
}

int
cleanup_submit(const struct cleanup_envelope *env, int content_fd,
	       struct cleanup_result *res)
{
	struct ipc_msg m;
	struct ipc_in in;
	int     fd, r;

	if (cleanup_request_build(&m, env) < 0) {
		cleanup_clnt_fail(res, "cannot build the cleanup request: %s",
				  strerror(errno));
		ipc_msg_free(&m);
		return res->status;
	}
	ipc_in_init_max(&in, CLEANUP_REP_MAX);
	for (;;) {
		bool    reused = kept_fd >= 0, unsent;

		fd = reused ? kept_fd : ipc_connect(clnt_path, false);
		kept_fd = -1;
		if (fd < 0) {
			cleanup_clnt_fail(res, "cannot connect to the cleanup service: %s",
					  strerror(errno));
			break;
		}
		unsent = false;
		if (ipc_send(fd, &m, content_fd, CLEANUP_TIMEOUT_MS) < 0) {
			r = -1;
			unsent = errno == ECONNRESET;
			cleanup_clnt_fail(res, "cannot send to the cleanup service: %s",
					  strerror(errno));
		} else if ((r = ipc_recv(fd, &in, NULL, CLEANUP_TIMEOUT_MS)) != 0) {
			cleanup_clnt_fail(res, "no answer from the cleanup service: %s",
					  r == 1 ? "connection closed" : errno == ETIMEDOUT
					  ? "timed out" : strerror(errno));
		} else if (cleanup_reply_parse(&in, res) == 0 && keep) {
			kept_fd = fd;		/* a clean exchange: keep it */
			break;
		}
		(void) close(fd);
		/*
		 * A kept connection that cleanup closed while it was idle
		 * (max_use, SIGTERM, its idle limit) took nothing: send the
		 * request again on a new one.  After a timeout, or once any
		 * byte of an answer came (ipc_recv() returns 1 only when
		 * none did), never.
		 */
		if (reused && (r == 1 || unsent))
			continue;
		break;
	}
	ipc_in_free(&in);
	ipc_msg_free(&m);
	return res->status;
}

/*
 * The connection pool for event loops.
 */

struct cleanup_call {
	struct cleanup_pool *pool;
	struct ipc_conn conn;
	struct ev_io io;
	bool	busy;			/* a request in flight */
	bool	reused;			/* it served an earlier request */
	bool	retried;		/* the request was sent again once */
	uint64_t idle_since;		/* ms (ev_now) */
	struct ipc_msg req;		/* in flight, kept for a retry */
	int	content_fd;		/* the caller's, open until done */
	cleanup_done_fn *done;
	void   *ctx;
	struct cleanup_call *prev, *next;	/* the idle list */
};

struct cleanup_pool {
	struct ev_loop *loop;
	size_t	max_idle;
	uint64_t idle_ms;
	struct cleanup_call *head, *tail;	/* idle: newest first */
	size_t	nidle;
	size_t	nbusy;
	struct ev_timer sweep;
};

static void call_io(struct ev_loop *loop, struct ev_io *io, unsigned revents);

static void
idle_unlink(struct cleanup_pool *p, struct cleanup_call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		p->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		p->tail = c->prev;
	c->prev = c->next = NULL;
	p->nidle--;
}

/* conn_close - close a connection that is in no list */
static void
conn_close(struct cleanup_call *c)
{
	ev_io_stop(c->pool->loop, &c->io);
	(void) close(c->conn.fd);
	ipc_conn_free(&c->conn);
	free(c);
}

static void
sweep_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct cleanup_pool *p = t->data;
	uint64_t now = ev_now(loop);

	while (p->tail != NULL && now - p->tail->idle_since >= p->idle_ms) {
		struct cleanup_call *c = p->tail;

		idle_unlink(p, c);
		conn_close(c);
	}
	if (p->tail != NULL)
		ev_timer_start(loop, t, p->idle_ms - (now - p->tail->idle_since));
}

struct cleanup_pool *
cleanup_pool_new(struct ev_loop *loop, size_t max_idle, uint64_t idle_ms)
{
	struct cleanup_pool *p = xcalloc(1, sizeof(*p));

	p->loop = loop;
	p->max_idle = max_idle;
	p->idle_ms = idle_ms;
	ev_timer_init(&p->sweep, sweep_cb, p);
	return p;
}

void
cleanup_pool_free(struct cleanup_pool *p)
{
	if (p == NULL)
		return;
	if (p->nbusy > 0)
		log_panic("cleanup_pool_free: %zu calls still in flight", p->nbusy);
	while (p->head != NULL) {
		struct cleanup_call *c = p->head;

		idle_unlink(p, c);
		conn_close(c);
	}
	ev_timer_stop(p->loop, &p->sweep);
	free(p);
}

size_t
cleanup_pool_idle(const struct cleanup_pool *p)
{
	return p->nidle;
}

/* conn_open - a new connection, not yet watched; NULL with errno */
static struct cleanup_call *
conn_open(struct cleanup_pool *p)
{
	struct cleanup_call *c;
	int     fd = connect_nb();

	if (fd < 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->pool = p;
	c->content_fd = -1;
	ipc_conn_init(&c->conn, fd, CLEANUP_REP_MAX);
	ev_io_init(&c->io, fd, call_io, c);
	return c;
}

/* send_req - queue c->req on c and watch for what comes next */
static int
send_req(struct cleanup_call *c)
{
	if (ipc_conn_queue(&c->conn, &c->req, c->content_fd) < 0
	    || ipc_conn_flush(&c->conn) < 0)
		return -1;
	/* A kept connection is already watched for reading: no system call. */
	ev_io_start(c->pool->loop, &c->io, ipc_conn_pending(&c->conn) ? EV_WRITE
		    : EV_READ);
	return 0;
}

/* reconnect - send the request again on a new connection, in place */
static int
reconnect(struct cleanup_call *c)
{
	int     fd;

	ev_io_stop(c->pool->loop, &c->io);
	(void) close(c->conn.fd);
	ipc_conn_free(&c->conn);
	c->conn.fd = -1;
	if ((fd = connect_nb()) < 0)
		return -1;
	ipc_conn_init(&c->conn, fd, CLEANUP_REP_MAX);
	ev_io_init(&c->io, fd, call_io, c);
	c->reused = false;
	c->retried = true;
	return send_req(c);
}

struct cleanup_call *
cleanup_pool_submit(struct cleanup_pool *p, const struct cleanup_envelope *env,
		    int content_fd, cleanup_done_fn *done, void *ctx,
		    struct cleanup_result *res)
{
	struct cleanup_call *c;
	struct ipc_msg m;
	int     saved;

	if (cleanup_request_build(&m, env) < 0) {
		saved = errno;
		cleanup_clnt_fail(res, "cannot build the cleanup request: %s",
				  strerror(saved));
		ipc_msg_free(&m);
		errno = saved;
		return NULL;
	}
	for (;;) {
		bool    reused = p->head != NULL;

		if (reused) {
			c = p->head;		/* the newest: the oldest may retire */
			idle_unlink(p, c);
		} else if ((c = conn_open(p)) == NULL) {
			saved = errno;
			cleanup_clnt_fail(res, "cannot connect to the cleanup service: %s",
					  strerror(saved));
			ipc_msg_free(&m);
			errno = saved;
			return NULL;
		}
		c->req = m;
		c->content_fd = content_fd;
		if (send_req(c) == 0)
			break;
		saved = errno;
		conn_close(c);			/* m stays ours */
		/* cleanup closed that kept one meanwhile: try the next. */
		if (reused)
			continue;
		cleanup_clnt_fail(res, "cannot send to the cleanup service: %s",
				  strerror(saved));
		ipc_msg_free(&m);
		errno = saved;
		return NULL;
	}
	c->busy = true;
	c->done = done;
	c->ctx = ctx;
	p->nbusy++;
	return c;
}

/* finish - the exchange is over: keep or close c, then tell the caller */
static void
finish(struct cleanup_call *c, const struct cleanup_result *res, bool answered)
{
	struct cleanup_pool *p = c->pool;
	cleanup_done_fn *done = c->done;
	void   *ctx = c->ctx;

	ipc_msg_free(&c->req);
	c->busy = false;
	c->done = NULL;
	c->ctx = NULL;
	c->content_fd = -1;
	p->nbusy--;
	/* Only a clean exchange leaves a connection fit to be used again. */
	if (answered && c->conn.in.len == 0 && c->conn.nfds == 0
	    && !ipc_conn_pending(&c->conn) && p->nidle < p->max_idle) {
		c->reused = true;
		c->retried = false;
		c->idle_since = ev_now(p->loop);
		c->next = p->head;
		if (p->head)
			p->head->prev = c;
		else
			p->tail = c;
		p->head = c;
		p->nidle++;
		if (!ev_timer_active(&p->sweep))
			ev_timer_start(p->loop, &p->sweep, p->idle_ms);
	} else {
		conn_close(c);
	}
	done(ctx, res, answered);
}

/* lost - the connection broke: a kept one is retried once, else fail */
static void
lost(struct cleanup_call *c, const char *fmt, const char *detail)
{
	struct cleanup_result res;
	int     saved;

	/*
	 * A kept connection that cleanup closed before it read our
	 * request (max_use, SIGTERM, its idle limit: it closes only
	 * between requests) took nothing; nothing of an answer came.
	 */
	if (c->reused && !c->retried && c->conn.in.len == 0) {
		if (reconnect(c) == 0)
			return;
		saved = errno;
		cleanup_clnt_fail(&res, "cannot connect to the cleanup service: %s",
				  strerror(saved));
		finish(c, &res, false);
		return;
	}
	cleanup_clnt_fail(&res, fmt, detail);
	finish(c, &res, false);
}

static void
call_io(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct cleanup_call *c = io->data;
	struct cleanup_result res;
	struct ipc_in in;
	ssize_t n;
	int     r;

	if (!c->busy) {
		/* Idle: cleanup closed it (or spoke out of turn). */
		idle_unlink(c->pool, c);
		conn_close(c);
		return;
	}
	if (revents & EV_WRITE) {
		if ((r = ipc_conn_flush(&c->conn)) < 0) {
			lost(c, "cannot send to the cleanup service: %s", strerror(errno));
			return;
		}
		if (r == 0)
			ev_io_start(loop, io, EV_READ);
		return;
	}
	n = ipc_conn_read(&c->conn);
	if (n == 0) {
		lost(c, "%s", "the cleanup service closed the connection without "
		     "an answer");
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		lost(c, "reading from the cleanup service: %s", c->conn.err
		     ? c->conn.err : strerror(errno));
		return;
	}
	ipc_in_init_max(&in, CLEANUP_REP_MAX);
	r = ipc_conn_next(&c->conn, &in, NULL);
	if (r == 0) {
		ipc_in_free(&in);
		return;				/* more to come */
	}
	if (r < 0)
		cleanup_clnt_fail(&res, "malformed reply from the cleanup service (%s)",
				  c->conn.err ? c->conn.err : ipc_error(&in));
	else
		r = cleanup_reply_parse(&in, &res);
	ipc_in_free(&in);
	finish(c, &res, r >= 0);
}

void
cleanup_pool_cancel(struct cleanup_call *c)
{
	if (c == NULL)
		return;
	if (!c->busy)
		log_panic("cleanup_pool_cancel: call not in flight");
	ipc_msg_free(&c->req);
	c->pool->nbusy--;
	conn_close(c);
}
