/*
 * NAME
 *	ipc_server - the connections of an event-driven service that
 *	answers lib/ipc/ipc.h requests
 * DESCRIPTION
 *	See ipc_server.h.  Every client is a struct ipc_server_client in
 *	a doubly linked list, with its ipc_conn, its ev_io and its idle
 *	timer embedded, so the loop never allocates per request.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "ipc_server.h"
#include "log.h"
#include "master_proto.h"
#include "mem.h"

#define ACCEPT_BURST	64		/* connections accepted per wakeup */

struct ipc_server_client {
	struct ipc_conn conn;
	struct ev_io io;
	struct ev_timer idle;
	void   *ctx;			/* ops->open's */
	struct ev_loop *loop;
	bool	waiting;		/* ops->start's answer is outstanding */
	struct ipc_server_client *prev;
	struct ipc_server_client *next;
};


static const struct ipc_server_ops *ops;
static uint64_t idle_ms;
static size_t max_clients;
static struct ipc_server_client *clients;
static size_t nclients;
static struct ev_io listeners[MASTER_MAX_LISTEN];
static int nlisteners;
static bool paused;			/* listeners not watched */
static struct ev_timer resume_timer;
static bool stopping;
static struct ev_timer stop_timer;
static void (*stop_done)(void);
static bool done_called;
static struct ipc_in req;
static struct log_rate warn_rate;

/* finish - the stop is complete: tell the daemon, once */
static void
finish(void)
{
	if (done_called)
		return;
	done_called = true;
	if (stop_done)
		stop_done();
}

/* warn - log a client's fault, rate-limited: a broken client repeats */
static void
warn(const char *what, const char *detail)
{
	if (!log_rate_ok(&warn_rate, ev_time_ms()))
		return;
	if (warn_rate.dropped > 0)
		log_warn("%s: dropping a client: %s%s (%u such lines suppressed so "
			 "far)", ops->name, what, detail, warn_rate.dropped);
	else
		log_warn("%s: dropping a client: %s%s", ops->name, what, detail);
}

static void listen_cb(struct ev_loop *, struct ev_io *, unsigned);

static void
watch_listeners(struct ev_loop *loop, bool on)
{
	for (int i = 0; i < nlisteners; i++) {
		if (on)
			ev_io_start(loop, &listeners[i], EV_READ);
		else
			ev_io_stop(loop, &listeners[i]);
	}
	paused = !on;
}

static void
drop(struct ev_loop *loop, struct ipc_server_client *c)
{
	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->idle);
	if (ops->close != NULL)
		ops->close(c->ctx);
	(void) close(c->conn.fd);
	ipc_conn_free(&c->conn);
	if (c->prev)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	nclients--;
	if (stopping) {
		if (nclients == 0)
			finish();
		return;
	}
	if (paused && nclients < max_clients && !ev_timer_active(&resume_timer))
		watch_listeners(loop, true);
}

/* serve - answer the complete requests buffered for c, then set interest */
static void
serve(struct ev_loop *loop, struct ipc_server_client *c)
{
	char    why[1024];
	int     r;

	while (!stopping && !c->waiting && c->conn.out.len < IPC_SERVER_OUT_HIGH) {
		struct ipc_msg reply;

		r = ipc_conn_next(&c->conn, &req, NULL);
		if (r == 0)
			break;
		if (r < 0) {
			warn("", c->conn.err ? c->conn.err : ipc_error(&req));
			drop(loop, c);
			return;
		}
		r = ops->start != NULL
			? ops->start(c->ctx, c, &req, &reply, why, sizeof(why))
			: ops->handle(c->ctx, &req, &reply, why, sizeof(why));
		if (r < 0) {
			warn("", why);
			drop(loop, c);
			return;
		}
		if (r > 0) {
			c->waiting = true;	/* ipc_server_reply() goes on */
			break;
		}
		r = ipc_conn_queue(&c->conn, &reply, -1);
		ipc_msg_free(&reply);
		if (r < 0) {
			warn("", strerror(errno));
			drop(loop, c);
			return;
		}
	}
	if (ipc_conn_pending(&c->conn) && ipc_conn_flush(&c->conn) < 0) {
		drop(loop, c);			/* it went away */
		return;
	}
	if (ipc_conn_pending(&c->conn)) {
		ev_io_start(loop, &c->io, EV_WRITE);
		return;
	}
	if (stopping && !c->waiting) {
		drop(loop, c);
		return;
	}
	/* While an answer is outstanding, later requests wait in the kernel. */
	if (c->waiting)
		ev_io_stop(loop, &c->io);
	else
		ev_io_start(loop, &c->io, EV_READ);
}

void
ipc_server_reply(struct ipc_server_client *c, struct ipc_msg *reply)
{
	int	r;

	if (!c->waiting)
		log_panic("ipc_server_reply: no answer is outstanding");
	c->waiting = false;
	r = ipc_conn_queue(&c->conn, reply, -1);
	if (r < 0) {
		warn("", strerror(errno));
		drop(c->loop, c);
		return;
	}
	serve(c->loop, c);
}

static void
client_cb(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct ipc_server_client *c = io->data;

	if (idle_ms > 0)
		ev_timer_start(loop, &c->idle, idle_ms);
	if (revents & EV_WRITE) {
		if (ipc_conn_flush(&c->conn) < 0) {
			drop(loop, c);
			return;
		}
		if (ipc_conn_pending(&c->conn))
			return;
		serve(loop, c);			/* requests left in the buffer */
		return;
	}
	if (revents & (EV_READ | EV_ERROR)) {
		ssize_t n = ipc_conn_read(&c->conn);

		if (n == 0) {
			drop(loop, c);		/* the client closed: normal */
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno != ECONNRESET)
				warn("read: ", c->conn.err ? c->conn.err
				     : strerror(errno));
			drop(loop, c);
			return;
		}
		serve(loop, c);
	}
}

static void
idle_cb(struct ev_loop *loop, struct ev_timer *t)
{
	drop(loop, t->data);
}

void
ipc_server_add(struct ev_loop *loop, int fd)
{
	struct ipc_server_client *c = xcalloc(1, sizeof(*c));

	ipc_conn_init(&c->conn, fd, ops->req_max);
	c->loop = loop;
	c->ctx = ops->open != NULL ? ops->open(fd) : NULL;
	ev_io_init(&c->io, fd, client_cb, c);
	ev_timer_init(&c->idle, idle_cb, c);
	c->next = clients;
	if (clients)
		clients->prev = c;
	clients = c;
	nclients++;
	ev_io_start(loop, &c->io, EV_READ);
	if (idle_ms > 0)
		ev_timer_start(loop, &c->idle, idle_ms);
	if (nclients >= max_clients && !paused)
		watch_listeners(loop, false);
}

static void
resume_cb(struct ev_loop *loop, struct ev_timer *t)
{
	(void) t;
	if (!stopping && nclients < max_clients)
		watch_listeners(loop, true);
}

static void
listen_cb(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	(void) revents;
	for (int i = 0; i < ACCEPT_BURST && !paused; i++) {
		int     fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM
			    || errno == ENOBUFS) {
				log_warn("%s: accept: %s; not accepting for %d ms "
					 "(%zu clients)", ops->name, strerror(errno),
					 IPC_SERVER_PAUSE_MS, nclients);
				watch_listeners(loop, false);
				ev_timer_start(loop, &resume_timer, IPC_SERVER_PAUSE_MS);
			}
			return;
		}
		ipc_server_add(loop, fd);
	}
}

void
ipc_server_init(const struct ipc_server_ops *o, uint64_t idle, size_t max)
{
	ops = o;
	idle_ms = idle;
	max_clients = max ? max : 1;
	ipc_in_init_max(&req, o->req_max);
	ev_timer_init(&resume_timer, resume_cb, NULL);
	log_rate_init(&warn_rate, 20, 60);
}

void
ipc_server_listen(struct ev_loop *loop, int fd)
{
	if (nlisteners == MASTER_MAX_LISTEN)
		log_panic("ipc_server_listen: more than %d listeners", MASTER_MAX_LISTEN);
	ev_io_init(&listeners[nlisteners], fd, listen_cb, NULL);
	ev_io_start(loop, &listeners[nlisteners], EV_READ);
	nlisteners++;
}

static void
stop_cb(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop;
	(void) t;
	finish();
}

void
ipc_server_stop(struct ev_loop *loop, uint64_t grace_ms, void (*done)(void))
{
	struct ipc_server_client *c, *next;

	stopping = true;
	stop_done = done;
	watch_listeners(loop, false);
	ev_timer_stop(loop, &resume_timer);
	for (c = clients; c != NULL; c = next) {
		next = c->next;
		if (!ipc_conn_pending(&c->conn) && !c->waiting)
			drop(loop, c);		/* may call done when it is the last */
	}
	if (nclients == 0) {
		finish();
		return;
	}
	ev_timer_init(&stop_timer, stop_cb, NULL);
	ev_timer_start(loop, &stop_timer, grace_ms);
}

size_t
ipc_server_clients(void)
{
	return nclients;
}
