/*
 * NAME
 *	smtp_listen - the delivery protocol's server side (private/smtp)
 * SYNOPSIS
 *	#include "smtp_session.h"
 *
 *	smtp_listen_start(loop);	// accept qmgr's connections
 *	smtp_listen_stop(loop);		// SIGTERM: finish, then exit
 * DESCRIPTION
 *	qmgr connects to the service's socket (private/smtp, or whatever
 *	master.cf names the transport) as often as it wants deliveries
 *	to run at once; every connection gets DELIVERY_HELLO first, then
 *	carries DELIVERY_REQ messages, each with the queue file's
 *	descriptor (lib/svc/delivery.h, docs/INTERNALS.md).  Each request
 *	becomes a delivery (smtp_deliver.c) at once, and its
 *	DELIVERY_REP goes back on the same connection in the order the
 *	requests came, with the site status when the destination failed
 *	as a whole.
 *
 *	A request is checked before anything is done with it: the parser
 *	checks every field (delivery_request_parse()), and the header
 *	and body must lie inside the descriptor's file (fstat()); a
 *	request that fails that is answered with every recipient
 *	deferred (4.3.0) and a warning, a malformed message closes the
 *	connection.  Nothing in a request decides privilege: smtp runs
 *	as mail_owner, chrooted, and only reads the descriptor.
 *
 *	SIGTERM: no new connection is accepted, idle connections to qmgr
 *	and to servers are closed, deliveries in progress finish and are
 *	answered; the process exits when none is left.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delivery.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "server.h"
#include "smtp_session.h"
#include "str.h"

struct smtp_work;

struct smtp_client {
	int	fd;
	struct ev_io io;
	struct ipc_conn conn;
	struct smtp_work *head, *tail;	/* requests, in arrival order */
	bool	dead;			/* EOF or error: close when idle */
	bool	busy;			/* inside on_client: do not free */
	struct smtp_client *next, *prev;
};

struct smtp_work {
	struct smtp_client *cl;
	struct ipc_in in;		/* the request's strings point here */
	struct delivery_request drq;
	struct smtp_request rq;
	bool	parsed;
	bool	done;
	struct smtp_work *next;
};

static struct ev_loop *loop;
static struct ev_io *listeners;
static int nlisteners;
static struct smtp_client *clients;
static bool stopping;

static void client_update(struct smtp_client *cl);

static void
work_free(struct smtp_work *w)
{
	if (w->rq.fd >= 0)
		close(w->rq.fd);
	for (size_t i = 0; i < w->rq.nrcpts; i++)
		free(w->rq.rcpts[i].reason);
	free(w->rq.rcpts);
	if (w->parsed)
		delivery_request_free(&w->drq);
	ipc_in_free(&w->in);
	free(w);
}

static void
client_free(struct smtp_client *cl)
{
	struct smtp_work *w;

	/* Deliveries still running keep their work: detach it. */
	for (w = cl->head; w != NULL; w = w->next)
		w->cl = NULL;
	ev_io_stop(loop, &cl->io);
	ipc_conn_free(&cl->conn);
	close(cl->fd);
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	free(cl);
}

/* answer - replies for the finished requests at the head, in order */
static void
answer(struct smtp_client *cl)
{
	struct smtp_work *w;

	while ((w = cl->head) != NULL && w->done) {
		struct ipc_msg m;
		int	r = 0;

		cl->head = w->next;
		if (cl->head == NULL)
			cl->tail = NULL;
		delivery_reply_init(&m, &w->drq);
		for (size_t i = 0; i < w->rq.nrcpts && r == 0; i++) {
			const struct smtp_rcpt *rc = &w->rq.rcpts[i];

			r = delivery_reply_add(&m, &w->drq, i, rc->stat == SMTP_R_SENT
					       ? DELIVERY_SENT : rc->stat == SMTP_R_BOUNCE
					       ? DELIVERY_BOUNCE : DELIVERY_DEFER,
					       rc->dsn, rc->reason ? rc->reason : "",
					       rc->relay[0] ? rc->relay : "none");
		}
		if (r == 0)
			r = delivery_reply_end(&m, &w->drq, w->rq.site_dsn,
					       w->rq.site_why);
		if (r < 0)
			log_panic("%s: cannot build the delivery reply: %s",
				  w->rq.qid, strerror(errno));
		if (ipc_conn_queue(&cl->conn, &m, -1) < 0) {
			log_warn("cannot queue a reply to qmgr: %s", strerror(errno));
			cl->dead = true;
		}
		ipc_msg_free(&m);
		work_free(w);
	}
	client_update(cl);
}

static void
on_done(struct smtp_request *rq)
{
	struct smtp_work *w = rq->ctx;

	w->done = true;
	if (w->cl == NULL) {		/* qmgr went away meanwhile */
		work_free(w);
		return;
	}
	answer(w->cl);
}

/* check - the request's parts must lie inside its file */
static int
check(struct smtp_work *w, char *why, size_t whylen)
{
	struct stat st;
	const struct delivery_request *d = &w->drq;

	if (fstat(w->rq.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		(void) str_fmt(why, whylen, "the queue file descriptor is not a "
			       "regular file");
		return -1;
	}
	if (d->hdr_off > (uint64_t) st.st_size || d->hdr_len > (uint64_t) st.st_size - d->hdr_off
	    || d->body_off > (uint64_t) st.st_size
	    || d->body_len > (uint64_t) st.st_size - d->body_off) {
		(void) str_fmt(why, whylen, "header or body offsets lie outside the "
			       "queue file (%lld bytes)", (long long) st.st_size);
		return -1;
	}
	return 0;
}

static void
start(struct smtp_work *w)
{
	struct delivery_request *d = &w->drq;
	struct smtp_request *rq = &w->rq;
	char	why[256];

	(void) str_copy(rq->qid, sizeof(rq->qid), d->queue_id);
	rq->hdr_off = (off_t) d->hdr_off;
	rq->hdr_len = d->hdr_len;
	rq->body_off = (off_t) d->body_off;
	rq->body_len = d->body_len;
	rq->sender = d->sender;
	rq->envid = d->envid;
	rq->ret = d->ret;
	rq->smtputf8 = d->smtputf8;
	rq->nexthop = d->nexthop;
	rq->transport = d->transport;
	rq->arrival = (double) d->arrival;
	rq->delay_a = (double) d->delay_queue_ms / 1000.0;
	rq->delay_b = (double) d->delay_active_ms / 1000.0;
	rq->nrcpts = d->nrcpts;
	rq->rcpts = xcalloc(d->nrcpts, sizeof(*rq->rcpts));
	for (size_t i = 0; i < d->nrcpts; i++) {
		rq->rcpts[i].address = d->rcpts[i].address;
		rq->rcpts[i].orcpt = d->rcpts[i].orcpt;
		rq->rcpts[i].notify = d->rcpts[i].notify;
		rq->rcpts[i].index = d->rcpts[i].index;
	}
	rq->done = on_done;
	rq->ctx = w;
	if (check(w, why, sizeof(why)) < 0) {
		log_warn("%s: refusing a delivery request: %s", rq->qid, why);
		for (size_t i = 0; i < rq->nrcpts; i++)
			smtp_rcpt_set(&rq->rcpts[i], SMTP_R_DEFER, "4.3.0", why);
		on_done(rq);
		return;
	}
	smtp_deliver(rq);
}

static void
on_client(struct ev_loop *l, struct ev_io *io, unsigned revents)
{
	struct smtp_client *cl = io->data;

	(void) l;
	cl->busy = true;
	if (revents & EV_WRITE) {
		if (ipc_conn_flush(&cl->conn) < 0)
			cl->dead = true;
	}
	if ((revents & (EV_READ | EV_ERROR)) && !cl->dead) {
		ssize_t	n = ipc_conn_read(&cl->conn);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			cl->dead = true;
		while (!cl->dead) {
			struct smtp_work *w = xcalloc(1, sizeof(*w));
			char	why[256];
			int	k;

			w->rq.fd = -1;
			ipc_in_init(&w->in);
			k = ipc_conn_next(&cl->conn, &w->in, &w->rq.fd);
			if (k == 0) {
				work_free(w);
				break;
			}
			if (k < 0 || delivery_request_parse(&w->in, &w->drq, why, sizeof(why)) < 0) {
				log_warn("malformed delivery request from qmgr: %s",
					 k < 0 ? cl->conn.err : why);
				work_free(w);
				cl->dead = true;
				break;
			}
			w->parsed = true;
			if (w->rq.fd < 0) {
				log_warn("delivery request from qmgr without a queue file");
				work_free(w);
				cl->dead = true;
				break;
			}
			w->cl = cl;
			if (cl->tail)
				cl->tail->next = w;
			else
				cl->head = w;
			cl->tail = w;
			start(w);	/* may answer at once: cl is busy, kept */
		}
	}
	cl->busy = false;
	client_update(cl);
}

/* client_update - interest, or the end of a connection */
static void
client_update(struct smtp_client *cl)
{
	unsigned ev = EV_READ;

	if (cl->busy)
		return;
	if (cl->dead || (stopping && cl->head == NULL && !ipc_conn_pending(&cl->conn))) {
		if (cl->head == NULL || cl->dead) {
			client_free(cl);
			if (stopping && clients == NULL && smtp_deliver_count() == 0)
				server_exit(0);
			return;
		}
	}
	if (ipc_conn_pending(&cl->conn))
		ev |= EV_WRITE;
	ev_io_start(loop, &cl->io, ev);
}

static void
on_accept(struct ev_loop *l, struct ev_io *io, unsigned revents)
{
	struct smtp_client *cl;
	struct ipc_msg m;
	int	fd;

	(void) l;
	(void) revents;
	while ((fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		cl = xcalloc(1, sizeof(*cl));
		cl->fd = fd;
		ipc_conn_init(&cl->conn, fd, 0);
		ev_io_init(&cl->io, fd, on_client, cl);
		cl->next = clients;
		if (clients)
			clients->prev = cl;
		clients = cl;
		if (delivery_hello_build(&m, "smtp") < 0
		    || ipc_conn_queue(&cl->conn, &m, -1) < 0)
			log_panic("cannot build the delivery hello: %s", strerror(errno));
		ipc_msg_free(&m);
		(void) ipc_conn_flush(&cl->conn);
		client_update(cl);
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED
	    && errno != EINTR)
		log_warn("accept on the delivery socket: %s", strerror(errno));
}

void
smtp_listen_start(struct ev_loop *l)
{
	loop = l;
	nlisteners = server_listen_count();
	listeners = xcalloc((size_t) (nlisteners ? nlisteners : 1), sizeof(*listeners));
	for (int i = 0; i < nlisteners; i++) {
		ev_io_init(&listeners[i], server_listen_fd(i), on_accept, NULL);
		ev_io_start(loop, &listeners[i], EV_READ);
	}
}

void
smtp_listen_stop(struct ev_loop *l)
{
	struct smtp_client *cl, *next;

	(void) l;
	stopping = true;
	for (int i = 0; i < nlisteners; i++)
		ev_io_stop(loop, &listeners[i]);
	smtp_cache_close_all();
	for (cl = clients; cl != NULL; cl = next) {
		next = cl->next;
		client_update(cl);
	}
	if (clients == NULL && smtp_deliver_count() == 0)
		server_exit(0);
}
