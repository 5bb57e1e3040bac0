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
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "delivery_agent.h"
#include "delivery_log.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
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
	(void) vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	for (char *p = r->text; *p; p++)
		if ((unsigned char) *p < ' ' || *p == 0x7f)
			*p = ' ';
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

/* serve_request - every recipient of rq in turn, logged, into m */
static void
serve_request(const struct delivery_agent *a, struct delivery_request *rq,
	      int qfd, uint64_t got_ms, struct ipc_msg *m)
{
	struct delivery_agent_result all, one;
	char    why[300];
	bool    fixed = false;

	memset(&all, 0, sizeof(all));
	(void) str_copy(all.relay, sizeof(all.relay), a->relay ? a->relay : "none");
	if (delivery_agent_fits(rq, qfd, why, sizeof(why)) < 0) {
		delivery_agent_set(&all, DELIVERY_DEFER, "4.3.0", "%s", why);
		fixed = true;
	} else if (a->check != NULL && a->check(rq, qfd, &all) != 0) {
		fixed = true;
	}
	delivery_reply_init(m, rq);
	for (size_t i = 0; i < rq->nrcpts; i++) {
		const struct delivery_rcpt *rc = &rq->rcpts[i];
		struct delivery_delays d;
		uint64_t start = ev_time_ms();

		one = all;
		if (!fixed)
			a->deliver(rq, i, qfd, &one);
		if (one.relay[0] == '\0')
			(void) str_copy(one.relay, sizeof(one.relay), a->relay ? a->relay : "none");
		delivery_log_delays(rq, &d, 0, (double) (ev_time_ms() - start) / 1000.0);
		d.in_active += (double) (start - got_ms) / 1000.0;
		delivery_log_to(rq->queue_id, rc->address, rc->orcpt, one.relay, &d,
				one.dsn, one.status, one.text);
		if (delivery_reply_add(m, rq, i, one.status, one.dsn, one.text,
				       one.relay) < 0)
			log_panic("%s: cannot add a delivery result (status %d, dsn %s)",
				  a->name, one.status, one.dsn);
	}
	if (delivery_reply_end(m, rq, NULL, NULL) < 0)
		log_panic("%s: cannot end a delivery reply: %m", a->name);
}

static int
wait_default(int fd)
{
	return server_wait_request(fd, (int) (cfg->max_idle * 1000));
}

void
delivery_agent_serve(int fd, const struct delivery_agent *a)
{
	int     (*wait)(int) = a->wait ? a->wait : wait_default;
	struct ipc_conn conn;
	struct ipc_in in;
	struct ipc_msg m;
	int     r;

	/* The greeting: qmgr sends nothing before it. */
	if (delivery_hello_build(&m, a->name) < 0)
		log_panic("cannot build the delivery agent greeting of %s", a->name);
	r = ipc_send(fd, &m, -1, DELIVERY_AGENT_IO_MS);
	ipc_msg_free(&m);
	if (r < 0) {
		log_warn("cannot greet qmgr: %m");
		return;
	}
	ipc_conn_init(&conn, fd, IPC_MSG_MAX);
	ipc_in_init_max(&in, IPC_MSG_MAX);
	/*
	 * SIGTERM is seen while waiting for a request, never in the middle
	 * of one; an idle connection ends after max_idle.  max_use counts
	 * connections: qmgr does not send a request again when a kept
	 * connection closes under it.
	 */
	while (conn.in.len > 0 || wait(fd) > 0) {
		struct delivery_request rq;
		char    why[256];
		int     qfd = -1;

		r = ipc_conn_recv(&conn, &in, &qfd, DELIVERY_AGENT_IO_MS, false);
		if (r == 1)
			break;			/* qmgr closed an idle connection */
		if (r < 0) {
			if (errno != ECONNRESET)
				log_warn("delivery request: %s", errno == EPROTO
					 ? ipc_error(&in) : strerror(errno));
			break;
		}
		if (qfd < 0 || delivery_request_parse(&in, &rq, why, sizeof(why)) < 0) {
			log_warn("%s", qfd < 0 ? "delivery request without a queue file" : why);
			if (qfd >= 0)
				(void) close(qfd);
			break;
		}
		serve_request(a, &rq, qfd, ev_time_ms(), &m);
		(void) close(qfd);
		r = ipc_send(fd, &m, -1, DELIVERY_AGENT_IO_MS);
		ipc_msg_free(&m);
		if (r < 0)
			log_warn("%s: cannot send the delivery result to qmgr: %m",
				 rq.queue_id);
		delivery_request_free(&rq);
		if (r < 0)
			break;
	}
	ipc_in_free(&in);
	ipc_conn_free(&conn);
}
