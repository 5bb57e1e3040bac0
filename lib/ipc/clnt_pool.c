/*
 * NAME
 *	clnt_pool - asynchronous calls to a service, with kept connections,
 *	a bound, deadlines and cancellation
 * DESCRIPTION
 *	See clnt_pool.h.  A connection (struct conn) carries at most one
 *	call at a time; it is idle (in the pool's idle list, newest
 *	first, still watched for reading so that a close by the server is
 *	noticed and costs nothing later), or attached to a call.  A call
 *	(struct clnt_call) is waiting (in the pool's FIFO), attached, or
 *	neither for a moment (a connect to retry, a failure to report).
 *
 *	Every failure reaches the caller through the call's timer with a
 *	delay of 0, so done never runs from inside a function the caller
 *	called; only a whole reply is delivered straight from the
 *	connection's event.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clnt_pool.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "reach.h"
#include "str.h"

enum phase { PH_CONNECTING, PH_GREETING, PH_READY };

struct conn {
	struct clnt_pool *pool;
	struct ipc_conn io;
	struct ev_io w;
	enum phase phase;
	struct clnt_call *call;		/* attached, or NULL: idle */
	bool	reused;			/* it completed an exchange before */
	uint64_t idle_since;		/* ms (ev_now) */
	struct conn *prev, *next;	/* the idle list */
};

struct clnt_call {
	struct clnt_pool *pool;
	struct conn *conn;		/* attached, or NULL */
	struct buf req;			/* kept for a resend */
	int	pass_fd;
	unsigned flags;
	bool	busy;			/* an exchange is under way */
	bool	waiting;		/* in the pool's FIFO */
	bool	retried;		/* sent again once already */
	bool	answered;		/* a conversation had a reply */
	int	fail_status;		/* a failure to report, or CLNT_OK */
	char	why[CLNT_WHY_MAX];
	struct ev_timer timer;		/* deadline; a failure to report */
	struct ev_timer retry;		/* connect again (listen queue full) */
	clnt_done_fn *done;
	void   *ctx;
	struct clnt_call *wprev, *wnext;	/* the waiting FIFO */
};

struct clnt_pool {
	struct ev_loop *loop;
	bool	own_loop;
	struct clnt_proto proto;
	char   *endpoint;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	size_t	max_conns, max_idle, max_waiting;
	uint64_t idle_ms;
	void   *greeting_ctx;
	size_t	nconns, nidle, nwaiting, ncalls;
	struct conn *idle_head, *idle_tail;
	struct clnt_call *wait_head, *wait_tail;
	struct ev_timer sweep;
	struct buf rbuf;		/* the reply, during done */
};

static void conn_event(struct ev_loop *, struct ev_io *, unsigned);
static void dispatch(struct clnt_call *c, bool fresh);
static void send_req(struct clnt_call *c);
static void pump(struct clnt_pool *p);
static void conn_close(struct conn *k);
static void idle_unlink(struct clnt_pool *p, struct conn *k);

/* ------------------------------------------------------------------ */
/* Framing helpers.                                                   */

ssize_t
clnt_frame_ipc(const char *p, size_t len, size_t max, char *why, size_t whylen)
{
	return ipc_frame(p, len, max, why, whylen);
}

ssize_t
clnt_frame_line(const char *p, size_t len, size_t max, char *why, size_t whylen)
{
	const char *nl = memchr(p, '\n', len < max ? len : max);

	if (nl != NULL)
		return nl - p + 1;
	if (len >= max) {
		(void) str_fmt(why, whylen, "reply line longer than %zu bytes", max);
		return -1;
	}
	return 0;
}

ssize_t
clnt_frame_para(const char *p, size_t len, size_t max, char *why, size_t whylen)
{
	size_t  n = len < max ? len : max;

	/* Lines up to an empty one: "\n\n", or "\n" alone at the start. */
	if (n > 0 && p[0] == '\n')
		return 1;
	for (size_t i = 1; i < n; i++)
		if (p[i] == '\n' && p[i - 1] == '\n')
			return (ssize_t) i + 1;
	if (len >= max) {
		(void) str_fmt(why, whylen, "reply longer than %zu bytes", max);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Endpoints.                                                         */

static int
parse_endpoint(struct clnt_pool *p, const char *ep, char *why, size_t whylen)
{
	memset(&p->addr, 0, sizeof(p->addr));
	if (str_has_prefix_nocase(ep, "inet:")) {
		char    host[256], *port;
		const char *hp = ep + 5;
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV}, *res;
		int     r;

		if (hp[0] == '[') {
			const char *close = strchr(hp, ']');

			if (close == NULL || close[1] != ':' || close - hp - 1 >= (long) sizeof(host)) {
				(void) str_fmt(why, whylen, "%s: want inet:[ADDRESS]:PORT", ep);
				return -1;
			}
			memcpy(host, hp + 1, (size_t) (close - hp - 1));
			host[close - hp - 1] = '\0';
			port = (char *) close + 2;
		} else {
			const char *colon = strrchr(hp, ':');

			if (colon == NULL || colon == hp || colon - hp >= (long) sizeof(host)) {
				(void) str_fmt(why, whylen, "%s: want inet:HOST:PORT", ep);
				return -1;
			}
			memcpy(host, hp, (size_t) (colon - hp));
			host[colon - hp] = '\0';
			port = (char *) colon + 1;
		}
		if (*port == '\0' || strspn(port, "0123456789") != strlen(port)) {
			(void) str_fmt(why, whylen, "%s: the port must be a number", ep);
			return -1;
		}
		if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
			(void) str_fmt(why, whylen, "%s: cannot resolve %s: %s", ep,
				       host, gai_strerror(r));
			return -1;
		}
		memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
		p->addrlen = res->ai_addrlen;
		freeaddrinfo(res);
		return 0;
	}
	{
		struct sockaddr_un *sun = (struct sockaddr_un *) &p->addr;
		const char *path = str_has_prefix_nocase(ep, "unix:") ? ep + 5 : ep;

		if (*path == '\0' || str_copy(sun->sun_path, sizeof(sun->sun_path),
					      path) < 0) {
			(void) str_fmt(why, whylen, "%s: empty, or too long for a "
				       "socket path", ep);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		p->addrlen = sizeof(*sun);
	}
	return 0;
}

int
clnt_pool_numeric(const char *ep, char *out, size_t outlen, char *why, size_t whylen)
{
	struct clnt_pool p;
	char    host[NI_MAXHOST], serv[NI_MAXSERV];
	int     r;

	if (!str_has_prefix_nocase(ep, "inet:"))
		return str_copy(out, outlen, ep) < 0 ? (str_fmt(why, whylen, "%.100s: "
								 "too long", ep), -1) : 0;
	if (parse_endpoint(&p, ep, why, whylen) < 0)
		return -1;
	if ((r = getnameinfo((struct sockaddr *) &p.addr, p.addrlen, host, sizeof(host),
			     serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV)) != 0) {
		(void) str_fmt(why, whylen, "%s: %s", ep, gai_strerror(r));
		return -1;
	}
	if (str_fmt(out, outlen, strchr(host, ':') ? "inet:[%s]:%s" : "inet:%s:%s",
		    host, serv) < 0) {
		(void) str_fmt(why, whylen, "%.100s: too long", ep);
		return -1;
	}
	return 0;
}

const char *
clnt_pool_endpoint(const struct clnt_pool *p)
{
	return p->endpoint;
}

/* ------------------------------------------------------------------ */
/* Pools.                                                             */

static void
sweep_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct clnt_pool *p = t->data;
	uint64_t now = ev_now(loop);

	while (p->idle_tail != NULL && now - p->idle_tail->idle_since >= p->idle_ms) {
		struct conn *k = p->idle_tail;

		idle_unlink(p, k);
		conn_close(k);
	}
	if (p->idle_tail != NULL)
		ev_timer_start(loop, t, p->idle_ms - (now - p->idle_tail->idle_since));
	pump(p);
}

struct clnt_pool *
clnt_pool_new(struct ev_loop *loop, const struct clnt_pool_conf *conf,
	      char *why, size_t whylen)
{
	struct clnt_pool *p = xcalloc(1, sizeof(*p));

	if (conf->proto == NULL || conf->proto->frame == NULL
	    || conf->proto->reply_max == 0 || conf->proto->reply_max > IPC_MSG_MAX)
		log_panic("clnt_pool_new: %s: incomplete protocol", conf->endpoint);
	if (parse_endpoint(p, conf->endpoint, why, whylen) < 0) {
		free(p);
		return NULL;
	}
	p->proto = *conf->proto;
	p->endpoint = xstrdup(conf->endpoint);
	p->max_conns = conf->max_conns;
	p->max_idle = conf->max_idle;
	p->max_waiting = conf->max_waiting;
	p->idle_ms = conf->idle_ms;
	p->greeting_ctx = conf->greeting_ctx;
	if (loop == NULL) {
		loop = ev_loop_new();
		p->own_loop = true;
	}
	p->loop = loop;
	ev_timer_init(&p->sweep, sweep_cb, p);
	buf_init(&p->rbuf, p->proto.reply_max);
	return p;
}

/* conn_close - close a connection that is attached to no call */
static void
conn_close(struct conn *k)
{
	struct clnt_pool *p = k->pool;

	ev_io_stop(p->loop, &k->w);
	(void) close(k->io.fd);
	ipc_conn_free(&k->io);
	p->nconns--;
	free(k);
}

static void
idle_unlink(struct clnt_pool *p, struct conn *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		p->idle_head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		p->idle_tail = k->prev;
	k->prev = k->next = NULL;
	p->nidle--;
}

void
clnt_pool_close_idle(struct clnt_pool *p)
{
	while (p->idle_head != NULL) {
		struct conn *k = p->idle_head;

		idle_unlink(p, k);
		conn_close(k);
	}
	ev_timer_stop(p->loop, &p->sweep);
}

void
clnt_pool_free(struct clnt_pool *p)
{
	if (p == NULL)
		return;
	if (p->ncalls > 0)
		log_panic("clnt_pool_free: %s: %zu calls still alive", p->endpoint,
			  p->ncalls);
	clnt_pool_close_idle(p);
	buf_free(&p->rbuf);
	if (p->own_loop)
		ev_loop_free(p->loop);
	free(p->endpoint);
	free(p);
}

size_t
clnt_pool_conns(const struct clnt_pool *p)
{
	return p->nconns;
}

size_t
clnt_pool_idle(const struct clnt_pool *p)
{
	return p->nidle;
}

size_t
clnt_pool_waiting(const struct clnt_pool *p)
{
	return p->nwaiting;
}

/* ------------------------------------------------------------------ */
/* Connections.                                                       */

static void
watch(struct conn *k)
{
	unsigned ev = EV_READ;

	if (k->phase == PH_CONNECTING)
		ev = EV_WRITE;
	else if (ipc_conn_pending(&k->io))
		ev |= EV_WRITE;
	ev_io_start(k->pool->loop, &k->w, ev);
}

/* connected - the connection is up: hello, greeting, or ready */
static void
connected(struct conn *k)
{
	struct clnt_pool *p = k->pool;

	k->phase = p->proto.greeting ? PH_GREETING : PH_READY;
	if (p->proto.hello != NULL
	    && ipc_conn_queue_bytes(&k->io, p->proto.hello, p->proto.hello_len, -1) < 0)
		log_panic("clnt_pool: %s: hello of %zu bytes does not fit",
			  p->endpoint, p->proto.hello_len);
	if (k->phase == PH_READY && k->call != NULL)
		send_req(k->call);		/* watches k itself */
	else
		watch(k);
}

/* conn_open - a new connection (connecting or connected); NULL with errno */
static struct conn *
conn_open(struct clnt_pool *p)
{
	struct conn *k;
	int     fd, r;

	if (p->addr.ss_family == AF_UNIX
	    && !reach_ok(((const struct sockaddr_un *) &p->addr)->sun_path))
		return NULL;
	fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/*
	 * A UNIX socket connects at once or not at all (EAGAIN: its listen
	 * queue is full); TCP connects in the background.
	 */
	do
		r = connect(fd, (struct sockaddr *) &p->addr, p->addrlen);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EINPROGRESS) {
		int     saved = errno;

		(void) close(fd);
		errno = saved;
		return NULL;
	}
	k = xcalloc(1, sizeof(*k));
	k->pool = p;
	ipc_conn_init(&k->io, fd, p->proto.reply_max);
	k->io.raw = p->proto.frame != clnt_frame_ipc;
	ev_io_init(&k->w, fd, conn_event, k);
	k->phase = r < 0 ? PH_CONNECTING : PH_READY;
	p->nconns++;
	return k;
}

/* release - the connection's exchange ended cleanly: reuse or keep it */
static void
release(struct conn *k)
{
	struct clnt_pool *p = k->pool;

	k->call = NULL;
	k->reused = true;
	if (p->wait_head != NULL) {
		struct clnt_call *c = p->wait_head;

		p->wait_head = c->wnext;
		if (p->wait_head)
			p->wait_head->wprev = NULL;
		else
			p->wait_tail = NULL;
		c->wnext = c->wprev = NULL;
		c->waiting = false;
		p->nwaiting--;
		c->conn = k;
		k->call = c;
		send_req(c);
		return;
	}
	if (p->nidle >= p->max_idle) {
		conn_close(k);
		return;
	}
	k->idle_since = ev_now(p->loop);
	k->prev = NULL;
	k->next = p->idle_head;
	if (p->idle_head)
		p->idle_head->prev = k;
	else
		p->idle_tail = k;
	p->idle_head = k;
	p->nidle++;
	ev_io_start(p->loop, &k->w, EV_READ);
	if (p->idle_ms > 0 && !ev_timer_active(&p->sweep))
		ev_timer_start(p->loop, &p->sweep, p->idle_ms);
}

/* ------------------------------------------------------------------ */
/* Calls.                                                             */

/* fail - report a failure from the loop, on the next round */
static void
fail(struct clnt_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct clnt_call *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->fail_status = status;
	ev_timer_stop(c->pool->loop, &c->retry);
	ev_timer_start(c->pool->loop, &c->timer, 0);
}

static void
call_free(struct clnt_call *c)
{
	struct clnt_pool *p = c->pool;

	ev_timer_stop(p->loop, &c->timer);
	ev_timer_stop(p->loop, &c->retry);
	buf_free(&c->req);
	p->ncalls--;
	free(c);
}

static void
wait_unlink(struct clnt_call *c)
{
	struct clnt_pool *p = c->pool;

	if (!c->waiting)
		return;
	if (c->wprev)
		c->wprev->wnext = c->wnext;
	else
		p->wait_head = c->wnext;
	if (c->wnext)
		c->wnext->wprev = c->wprev;
	else
		p->wait_tail = c->wprev;
	c->wnext = c->wprev = NULL;
	c->waiting = false;
	p->nwaiting--;
}

/*
 * finish - the exchange is over with res: hand the connection back
 * (clean), keep it (held), or close it; then tell the caller.
 */
static void
finish(struct clnt_call *c, const struct clnt_result *res, bool clean)
{
	struct clnt_pool *p = c->pool;
	struct conn *k = c->conn;
	bool    hold = (c->flags & CLNT_HOLD) && res->status == CLNT_OK && clean;

	ev_timer_stop(p->loop, &c->timer);
	ev_timer_stop(p->loop, &c->retry);
	wait_unlink(c);
	c->busy = false;
	if (k != NULL && !hold) {
		c->conn = NULL;
		if (res->status == CLNT_OK && clean)
			release(k);
		else {
			k->call = NULL;
			conn_close(k);
		}
	} else if (k != NULL) {
		k->reused = true;
		ev_io_start(p->loop, &k->w, EV_READ);	/* notice a close */
	}
	if (c->flags & CLNT_HOLD) {
		/* A conversation ends only by release or cancel. */
		if (res->status == CLNT_OK)
			c->answered = true;
		c->done(c->ctx, c, res);
		pump(p);
		return;
	}
	{
		clnt_done_fn *done = c->done;
		void   *ctx = c->ctx;
		char    why[CLNT_WHY_MAX];
		struct clnt_result r = *res;

		/* res->why may be the call's own text. */
		if (r.why != NULL) {
			(void) str_copy(why, sizeof(why), r.why);
			r.why = why;
		}
		call_free(c);
		done(ctx, NULL, &r);
	}
	pump(p);
}

static void
timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct clnt_call *c = t->data;
	struct clnt_result res = {.status = c->fail_status, .why = c->why};

	(void) loop;
	if (c->fail_status == CLNT_OK) {
		/* The deadline: what is on the wire can no longer be trusted. */
		(void) str_fmt(c->why, sizeof(c->why), "no answer from %s (%s) in time",
			       c->pool->proto.service, c->pool->endpoint);
		res.status = CLNT_TIMEOUT;
	}
	if (c->conn != NULL) {
		c->conn->call = NULL;
		conn_close(c->conn);
		c->conn = NULL;
	}
	c->fail_status = CLNT_OK;
	finish(c, &res, false);
}

static void
retry_cb(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop;
	dispatch(t->data, false);
}

/* send_req - queue the request on the call's connection */
static void
send_req(struct clnt_call *c)
{
	struct conn *k = c->conn;
	int     r;

	c->busy = true;
	if (ipc_conn_queue_bytes(&k->io, c->req.data, c->req.len, c->pass_fd) < 0
	    || (r = ipc_conn_flush(&k->io)) < 0) {
		int     saved = errno;
		bool    resend = k->reused && !c->retried && c->pool->proto.resend
		    && (saved == ECONNRESET || saved == EPIPE) && !c->answered;

		k->call = NULL;
		conn_close(k);
		c->conn = NULL;
		if (resend) {
			c->retried = true;
			dispatch(c, true);
			return;
		}
		fail(c, CLNT_ERROR, "cannot send to %s (%s): %s", c->pool->proto.service,
		     c->pool->endpoint, strerror(saved));
		return;
	}
	watch(k);
}

/*
 * dispatch - give the call a connection: an idle one (unless fresh),
 * a new one, or a place in the queue.
 */
static void
dispatch(struct clnt_call *c, bool fresh)
{
	struct clnt_pool *p = c->pool;
	struct conn *k;

	if (!fresh && p->idle_head != NULL) {
		k = p->idle_head;		/* the newest: the oldest may retire */
		idle_unlink(p, k);
		k->call = c;
		c->conn = k;
		send_req(c);
		return;
	}
	if (fresh && p->max_conns > 0 && p->nconns >= p->max_conns
	    && p->idle_tail != NULL) {
		/* A resend wants a new connection: the oldest idle one makes room. */
		k = p->idle_tail;
		idle_unlink(p, k);
		conn_close(k);
	}
	if (p->max_conns == 0 || p->nconns < p->max_conns) {
		if ((k = conn_open(p)) == NULL) {
			if (errno == EAGAIN) {
				ev_timer_start(p->loop, &c->retry, CLNT_RETRY_CONNECT_MS);
				return;
			}
			fail(c, CLNT_ERROR, "cannot connect to %s (%s): %s",
			     p->proto.service, p->endpoint, strerror(errno));
			return;
		}
		k->call = c;
		c->conn = k;
		if (k->phase == PH_READY)
			connected(k);
		else
			watch(k);
		return;
	}
	if (p->max_waiting > 0 && p->nwaiting >= p->max_waiting) {
		fail(c, CLNT_ERROR, "too many requests waiting for %s (%s)",
		     p->proto.service, p->endpoint);
		return;
	}
	c->waiting = true;
	if (fresh) {				/* a resend goes first */
		c->wnext = p->wait_head;
		if (p->wait_head)
			p->wait_head->wprev = c;
		else
			p->wait_tail = c;
		p->wait_head = c;
	} else {
		c->wprev = p->wait_tail;
		if (p->wait_tail)
			p->wait_tail->wnext = c;
		else
			p->wait_head = c;
		p->wait_tail = c;
	}
	p->nwaiting++;
}

/* pump - waiting calls take the connections that became possible */
static void
pump(struct clnt_pool *p)
{
	while (p->wait_head != NULL && (p->idle_head != NULL || p->max_conns == 0
					|| p->nconns < p->max_conns)) {
		struct clnt_call *c = p->wait_head;

		wait_unlink(c);
		dispatch(c, false);
	}
}

struct clnt_call *
clnt_pool_call(struct clnt_pool *p, const void *req, size_t len, int pass_fd,
	       uint64_t timeout_ms, unsigned flags, clnt_done_fn *done, void *ctx)
{
	struct clnt_call *c = xcalloc(1, sizeof(*c));

	c->pool = p;
	c->flags = flags;
	c->pass_fd = pass_fd;
	c->done = done;
	c->ctx = ctx;
	c->fail_status = CLNT_OK;
	buf_init(&c->req, len + 1);
	(void) buf_set(&c->req, req, len);
	ev_timer_init(&c->timer, timer_cb, c);
	ev_timer_init(&c->retry, retry_cb, c);
	c->busy = true;
	p->ncalls++;
	ev_timer_start(p->loop, &c->timer, timeout_ms);
	if (len == 0)
		fail(c, CLNT_ERROR, "empty request for %s", p->proto.service);
	else
		dispatch(c, false);
	return c;
}

void
clnt_pool_send(struct clnt_call *c, const void *req, size_t len, int pass_fd,
	       uint64_t timeout_ms, clnt_done_fn *done, void *ctx)
{
	struct clnt_pool *p = c->pool;

	if (!(c->flags & CLNT_HOLD) || c->busy)
		log_panic("clnt_pool_send: %s: not a held call between exchanges",
			  p->endpoint);
	c->done = done;
	c->ctx = ctx;
	c->pass_fd = pass_fd;
	c->retried = true;			/* never resent within a conversation */
	buf_free(&c->req);
	buf_init(&c->req, len + 1);
	(void) buf_set(&c->req, req, len);
	c->busy = true;
	ev_timer_start(p->loop, &c->timer, timeout_ms);
	if (c->conn == NULL) {
		fail(c, CLNT_ERROR, "%s (%s) closed the connection of a "
		     "conversation", p->proto.service, p->endpoint);
		return;
	}
	send_req(c);
}

void
clnt_pool_release(struct clnt_call *c)
{
	struct clnt_pool *p = c->pool;
	struct conn *k = c->conn;

	if (c->busy)
		log_panic("clnt_pool_release: %s: an exchange is under way",
			  p->endpoint);
	c->conn = NULL;
	if (k != NULL) {
		if (k->io.in.len == 0 && !ipc_conn_pending(&k->io))
			release(k);
		else {
			k->call = NULL;
			conn_close(k);
		}
	}
	call_free(c);
	pump(p);
}

void
clnt_pool_cancel(struct clnt_call *c)
{
	struct clnt_pool *p;

	if (c == NULL)
		return;
	p = c->pool;
	wait_unlink(c);
	if (c->conn != NULL) {
		c->conn->call = NULL;
		conn_close(c->conn);
		c->conn = NULL;
	}
	call_free(c);
	pump(p);
}

/* ------------------------------------------------------------------ */
/* Connection events.                                                 */

/* lost - the connection broke (why); a kept one may be tried again */
static void
lost(struct conn *k, bool resendable, const char *fmt, const char *detail)
{
	struct clnt_call *c = k->call;
	struct clnt_pool *p = k->pool;
	bool    nothing = k->io.in.len == 0;

	if (c == NULL) {			/* idle: the server closed it */
		idle_unlink(p, k);
		conn_close(k);
		pump(p);
		return;
	}
	k->call = NULL;
	c->conn = NULL;
	if (!c->busy) {				/* a conversation between exchanges */
		conn_close(k);
		pump(p);
		return;
	}
	if (resendable && nothing && k->reused && !c->retried && p->proto.resend
	    && !c->answered) {
		conn_close(k);
		c->retried = true;
		dispatch(c, true);
		return;
	}
	conn_close(k);
	fail(c, CLNT_ERROR, fmt, detail);
	pump(p);
}

static void
input(struct conn *k)
{
	struct clnt_pool *p = k->pool;
	struct clnt_call *c = k->call;
	char    why[256];
	ssize_t n;

	if (k->io.nfds > 0) {
		lost(k, false, "%s", "a descriptor came with the reply (protocol error)");
		return;
	}
	if (k->phase == PH_GREETING) {
		n = p->proto.greeting(k->io.in.data, k->io.in.len, p->proto.reply_max,
				      why, sizeof(why));
		if (n == 0)
			return;
		if (n < 0 || (p->proto.greeting_ok != NULL
			      && !p->proto.greeting_ok(p->greeting_ctx, k->io.in.data,
						       (size_t) n, why, sizeof(why)))) {
			lost(k, false, "bad greeting: %s", why);
			return;
		}
		buf_consume(&k->io.in, (size_t) n);
		k->phase = PH_READY;
		if (c != NULL)
			send_req(c);
		else
			watch(k);
		if (k->io.in.len == 0)
			return;
		c = k->call;
	}
	if (c == NULL || !c->busy) {
		lost(k, false, "%s", "the server spoke out of turn");
		return;
	}
	n = p->proto.frame(k->io.in.data, k->io.in.len, p->proto.reply_max,
			   why, sizeof(why));
	if (n == 0)
		return;
	if (n < 0 || (p->proto.check != NULL
		      && p->proto.check(k->io.in.data, (size_t) n, why, sizeof(why)) < 0)) {
		lost(k, false, "malformed reply: %s", why);
		return;
	}
	{
		struct clnt_result res = {.status = CLNT_OK};
		bool    clean;

		(void) buf_set(&p->rbuf, k->io.in.data, (size_t) n);
		buf_consume(&k->io.in, (size_t) n);
		clean = k->io.in.len == 0 && !ipc_conn_pending(&k->io);
		res.reply = p->rbuf.data;
		res.len = p->rbuf.len;
		finish(c, &res, clean);
	}
}

static void
conn_event(struct ev_loop *loop, struct ev_io *w, unsigned revents)
{
	struct conn *k = w->data;
	char    detail[160];
	ssize_t n;
	int     r;

	(void) loop;
	if (k->phase == PH_CONNECTING) {
		int     err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(k->io.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err != 0) {
			lost(k, false, "cannot connect: %s", strerror(err));
			return;
		}
		connected(k);
		return;
	}
	if (revents & EV_WRITE) {
		if ((r = ipc_conn_flush(&k->io)) < 0) {
			int     saved = errno;

			lost(k, saved == ECONNRESET || saved == EPIPE,
			     "cannot send: %s", strerror(saved));
			return;
		}
		if (r == 0)
			watch(k);
	}
	if (!(revents & (EV_READ | EV_ERROR)))
		return;
	n = ipc_conn_read(&k->io);
	if (n == 0) {
		lost(k, true, "%s", k->io.in.len == 0 ? "the connection was closed "
		     "without an answer" : "the connection was closed in the "
		     "middle of an answer");
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		(void) str_copy(detail, sizeof(detail), k->io.err ? k->io.err
				: strerror(errno));
		lost(k, errno == ECONNRESET, "reading: %s", detail);
		return;
	}
	input(k);
}

/* ------------------------------------------------------------------ */
/* The blocking form.                                                 */

struct waiter {
	bool	over;
	int	status;
	struct buf *reply;
	char   *why;
	size_t	whylen;
};

static void
wait_done(void *ctx, struct clnt_call *call, const struct clnt_result *res)
{
	struct waiter *w = ctx;

	(void) call;
	w->over = true;
	w->status = res->status;
	if (res->status == CLNT_OK) {
		if (buf_set(w->reply, res->reply, res->len) < 0) {
			w->status = CLNT_ERROR;
			(void) str_fmt(w->why, w->whylen, "reply of %zu bytes "
				       "exceeds %zu", res->len, w->reply->max);
		}
		return;
	}
	(void) str_copy(w->why, w->whylen, res->why);
}

int
clnt_pool_wait(struct clnt_pool *p, const void *req, size_t len, int pass_fd,
	       uint64_t timeout_ms, struct buf *reply, char *why, size_t whylen)
{
	struct waiter w = {.reply = reply, .why = why, .whylen = whylen};

	if (!p->own_loop)
		log_panic("clnt_pool_wait: %s: the pool belongs to an event loop",
			  p->endpoint);
	if (whylen > 0)
		why[0] = '\0';
	(void) clnt_pool_call(p, req, len, pass_fd, timeout_ms, 0, wait_done, &w);
	while (!w.over)
		if (ev_run_once(p->loop, -1) < 0)
			log_fatal("clnt_pool_wait: %s: event loop failed: %m",
				  p->endpoint);
	return w.status;
}

void
clnt_pool_run(struct clnt_pool *p, const bool *over)
{
	if (!p->own_loop)
		log_panic("clnt_pool_run: %s: the pool belongs to an event loop",
			  p->endpoint);
	while (!*over)
		if (ev_run_once(p->loop, -1) < 0)
			log_fatal("clnt_pool_run: %s: event loop failed: %m", p->endpoint);
}
