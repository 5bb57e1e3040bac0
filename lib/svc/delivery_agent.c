/*
 * NAME
 *	delivery_agent - the serving loop of a single-client delivery agent
 * DESCRIPTION
 *	See delivery_agent.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "delivery_agent.h"
#include "delivery_log.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "server.h"
#include "str.h"

void
delivery_agent_set(struct delivery_agent_result *r, int status, const char *dsn,
		   const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	(void) str_copy(r->dsn, sizeof(r->dsn), dsn);
	va_start(ap, fmt);
	str_vline(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

int
delivery_agent_fits(const struct delivery_request *rq, int qfd, char *why,
		    size_t whylen)
{
	struct stat st;
	uint64_t size;

	if (fstat(qfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		(void) str_copy(why, whylen, "queue file descriptor is not a regular file");
		return -1;
	}
	size = (uint64_t) st.st_size;
	if (rq->hdr_off > size || rq->hdr_len > size - rq->hdr_off
	    || rq->body_off > size || rq->body_len > size - rq->body_off) {
		(void) str_fmt(why, whylen, "delivery request does not fit the queue "
			       "file (header %llu+%llu, body %llu+%llu, file %llu bytes)",
			       (unsigned long long) rq->hdr_off,
			       (unsigned long long) rq->hdr_len,
			       (unsigned long long) rq->body_off,
			       (unsigned long long) rq->body_len,
			       (unsigned long long) size);
		return -1;
	}
	return 0;
}

/* A request between its arrival and its reply. */
struct held {
	struct ipc_in in;		/* rq's strings point into it */
	struct delivery_request rq;
	int	qfd;
	uint64_t got_ms;		/* when it was read */
	struct delivery_agent_result *res;	/* one per recipient */
	void  **state;			/* begin()'s, or NULL: res final */
	uint64_t *start_ms;
};

/*
 * start - the checks of h, then each recipient: delivered at once
 * (deliver()) or begun (begin(), finished after the commit); true when
 * something was begun
 */
static bool
start(const struct delivery_agent *a, struct held *h)
{
	struct delivery_agent_result all;
	struct delivery_request *rq = &h->rq;
	char    why[300];
	bool    fixed = false, begun = false;

	h->res = xcalloc(rq->nrcpts, sizeof(*h->res));
	h->state = xcalloc(rq->nrcpts, sizeof(*h->state));
	h->start_ms = xcalloc(rq->nrcpts, sizeof(*h->start_ms));
	memset(&all, 0, sizeof(all));
	(void) str_copy(all.relay, sizeof(all.relay), a->relay ? a->relay : "none");
	if (delivery_agent_fits(rq, h->qfd, why, sizeof(why)) < 0) {
		delivery_agent_set(&all, DELIVERY_DEFER, "4.3.0", "%s", why);
		fixed = true;
	} else if (a->check != NULL && a->check(rq, h->qfd, &all) != 0) {
		fixed = true;
	}
	for (size_t i = 0; i < rq->nrcpts; i++) {
		h->start_ms[i] = ev_time_ms();
		h->res[i] = all;
		if (fixed)
			continue;
		if (a->begin != NULL) {
			h->state[i] = a->begin(rq, i, h->qfd, &h->res[i]);
			begun |= h->state[i] != NULL;
		} else {
			a->deliver(rq, i, h->qfd, &h->res[i]);
		}
	}
	return begun;
}

/* finish - each recipient's outcome, its log line, the reply into m */
static void
finish(const struct delivery_agent *a, struct held *h, struct ipc_msg *m)
{
	struct delivery_request *rq = &h->rq;

	delivery_reply_init(m, rq);
	for (size_t i = 0; i < rq->nrcpts; i++) {
		const struct delivery_rcpt *rc = &rq->rcpts[i];
		struct delivery_agent_result *one = &h->res[i];
		struct delivery_delays d;

		if (h->state[i] != NULL)
			a->end(h->state[i], one);
		if (one->relay[0] == '\0')
			(void) str_copy(one->relay, sizeof(one->relay), a->relay ? a->relay : "none");
		delivery_log_delays(rq, &d, 0, (double) (ev_time_ms() - h->start_ms[i])
				    / 1000.0);
		d.in_active += (double) (h->start_ms[i] - h->got_ms) / 1000.0;
		delivery_log_to(rq->queue_id, rc->address, rc->orcpt, one->relay, &d,
				one->dsn, one->status, one->text);
		if (delivery_reply_add(m, rq, i, one->status, one->dsn, one->text,
				       one->relay) < 0)
			log_panic("%s: cannot add a delivery result (status %d, dsn %s)",
				  a->name, one->status, one->dsn);
	}
	if (delivery_reply_end(m, rq, NULL, NULL) < 0)
		log_panic("%s: cannot end a delivery reply: %m", a->name);
}

static void
release(struct held *h)
{
	free(h->res);
	free(h->state);
	free(h->start_ms);
	h->res = NULL;
	h->state = NULL;
	h->start_ms = NULL;
	delivery_request_free(&h->rq);
	if (h->qfd >= 0)
		(void) close(h->qfd);
	h->qfd = -1;
}

/* parse - the request just received into h; false (after a warning): malformed */
static bool
parse(struct held *h)
{
	char    why[256];

	h->got_ms = ev_time_ms();
	if (h->qfd < 0 || delivery_request_parse(&h->in, &h->rq, why, sizeof(why)) < 0) {
		log_warn("%s", h->qfd < 0 ? "delivery request without a queue file" : why);
		if (h->qfd >= 0)
			(void) close(h->qfd);
		h->qfd = -1;
		return false;
	}
	return true;
}

/* take_now - a request already here (1), none without waiting (0), or -1 */
static int
take_now(struct ipc_conn *conn, struct held *h)
{
	for (;;) {
		int     r = ipc_conn_next(conn, &h->in, &h->qfd);

		if (r != 0)
			return r;
		if (ipc_conn_read(conn) <= 0)
			return 0;		/* nothing more now; EOF: later */
	}
}

static int
wait_default(int fd)
{
	return server_wait_request(fd, (int) (cfg->max_idle * 1000));
}

void
delivery_agent_serve(int fd, const struct delivery_agent *a)
{
	static struct held held[DELIVERY_PIPELINE_MAX];
	int     (*wait)(int) = a->wait ? a->wait : wait_default;
	unsigned pipeline = a->begin != NULL && a->pipeline > 1 ? a->pipeline : 1;
	struct ipc_conn conn;
	struct ipc_msg m;
	bool    broken = false, last = false;
	int     r;

	if (pipeline > DELIVERY_PIPELINE_MAX)
		pipeline = DELIVERY_PIPELINE_MAX;
	/* The greeting: qmgr sends nothing before it. */
	if (delivery_hello_build_pipeline(&m, a->name, pipeline) < 0)
		log_panic("cannot build the delivery agent greeting of %s", a->name);
	r = ipc_send(fd, &m, -1, DELIVERY_AGENT_IO_MS);
	ipc_msg_free(&m);
	if (r < 0) {
		log_warn("cannot greet qmgr: %m");
		return;
	}
	ipc_conn_init(&conn, fd, IPC_MSG_MAX);
	for (unsigned i = 0; i < pipeline; i++) {
		ipc_in_init_max(&held[i].in, IPC_MSG_MAX);
		held[i].qfd = -1;
	}
	/*
	 * SIGTERM is seen while waiting for a request, never in the middle
	 * of one; an idle connection ends after max_idle.  max_use counts
	 * connections: qmgr does not send a request again when a kept
	 * connection closes under it.
	 *
	 * Group commit: the requests that are already here when one
	 * arrives (qmgr sends up to the pipeline before their replies) are
	 * taken with it, never waiting for more; their recipients are
	 * begun, committed together, and then each request is answered,
	 * in order.  A malformed request ends the connection once those
	 * before it are answered.
	 */
	while (!broken && !last && (conn.in.len > 0 || wait(fd) > 0)) {
		unsigned n;
		bool    begun = false;

		r = ipc_conn_recv(&conn, &held[0].in, &held[0].qfd, DELIVERY_AGENT_IO_MS,
				  false);
		if (r == 1)
			break;			/* qmgr closed an idle connection */
		if (r < 0) {
			if (errno != ECONNRESET)
				log_warn("delivery request: %s", errno == EPROTO
					 ? ipc_error(&held[0].in) : strerror(errno));
			break;
		}
		if (!parse(&held[0]))
			break;
		for (n = 1; n < pipeline && !last; n++) {
			if ((r = take_now(&conn, &held[n])) == 0)
				break;
			if (r < 0)
				log_warn("delivery request: %s", ipc_error(&held[n].in));
			if (r < 0 || !parse(&held[n]))
				last = true;
		}
		if (last)
			n--;
		for (unsigned i = 0; i < n; i++)
			begun |= start(a, &held[i]);
		if (begun)
			a->commit();
		for (unsigned i = 0; i < n; i++) {
			finish(a, &held[i], &m);
			if (!broken && ipc_send(fd, &m, -1, DELIVERY_AGENT_IO_MS) < 0) {
				log_warn("%s: cannot send the delivery result to qmgr: %m",
					 held[i].rq.queue_id);
				broken = true;
			}
			ipc_msg_free(&m);
			release(&held[i]);
		}
	}
	for (unsigned i = 0; i < pipeline; i++)
		ipc_in_free(&held[i].in);
	ipc_conn_free(&conn);
}
