/*
 * NAME
 *	showq_clnt - list the queue through the showq service
 * DESCRIPTION
 *	See showq_clnt.h.  Both ends of the protocol live here, so the
 *	encoder and the checks cannot drift apart.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "mem.h"
#include "showq_clnt.h"
#include "str.h"

int
showq_msg_put(struct ipc_msg *out, const struct showq_msg *m)
{
	size_t  i;

	ipc_msg_init(out, SHOWQ_REP_MSG);
	ipc_put_str(out, "queue_id", m->queue_id);
	ipc_put_str(out, "queue", m->queue);
	ipc_put_num(out, "arrival", m->arrival);
	ipc_put_num(out, "size", m->size);
	ipc_put_str(out, "sender", m->sender);
	for (i = 0; i < m->nrcpts; i++) {
		size_t  need = strlen(m->rcpts[i].addr) + strlen(m->rcpts[i].reason) + 64;

		if (out->b.len + need > SHOWQ_MSG_MAX)
			break;
		ipc_put_str(out, "rcpt", m->rcpts[i].addr);
		ipc_put_str(out, "reason", m->rcpts[i].reason);
	}
	ipc_put_num(out, "more", m->more + (m->nrcpts - i));
	if (out->failed) {
		errno = out->failed;
		return -1;
	}
	return 0;
}

int
showq_end_put(struct ipc_msg *out, uint64_t omitted)
{
	ipc_msg_init(out, SHOWQ_REP_END);
	ipc_put_num(out, "omitted", omitted);
	if (out->failed) {
		errno = out->failed;
		return -1;
	}
	return 0;
}

int
showq_msg_parse(struct ipc_in *in, struct showq_msg *m, struct showq_rcpt **store,
		size_t *store_cap)
{
	const char *name;

	memset(m, 0, sizeof(*m));
	if (in->type != SHOWQ_REP_MSG
	    || ipc_get_str(in, "queue_id", &m->queue_id, SHOWQ_ID_MAX) < 0
	    || ipc_get_str(in, "queue", &m->queue, SHOWQ_QUEUE_MAX) < 0
	    || ipc_get_num(in, "arrival", &m->arrival) < 0
	    || ipc_get_num(in, "size", &m->size) < 0
	    || ipc_get_str(in, "sender", &m->sender, SHOWQ_ADDR_MAX) < 0)
		return -1;
	while ((name = ipc_peek_name(in)) != NULL && str_eq(name, "rcpt")) {
		if (m->nrcpts == *store_cap) {
			*store_cap = *store_cap ? 2 * *store_cap : 16;
			*store = xreallocarray(*store, *store_cap, sizeof(**store));
		}
		if (ipc_get_str(in, "rcpt", &(*store)[m->nrcpts].addr, SHOWQ_ADDR_MAX) < 0
		    || ipc_get_str(in, "reason", &(*store)[m->nrcpts].reason,
				   SHOWQ_REASON_MAX) < 0)
			return -1;
		m->nrcpts++;
	}
	m->rcpts = *store;
	if (ipc_get_num(in, "more", &m->more) < 0 || ipc_get_end(in) < 0)
		return -1;
	if (str_has_ctl(m->queue_id, strlen(m->queue_id)) || m->queue_id[0] == '\0'
	    || str_has_ctl(m->queue, strlen(m->queue)))
		return -1;
	return 0;
}

int
showq_list(const char *path, showq_fn *fn, void *ctx, struct showq_summary *sum,
	   char *why, size_t whylen)
{
	struct ipc_msg req;
	struct ipc_in in;
	struct showq_rcpt *store = NULL;
	size_t  cap = 0;
	int     fd, r, ret = -1;

	memset(sum, 0, sizeof(*sum));
	if ((fd = ipc_connect(path, false)) < 0) {
		(void) str_fmt(why, whylen, "cannot connect to %s: %s", path, strerror(errno));
		return -1;
	}
	ipc_msg_init(&req, SHOWQ_REQ_LIST);
	r = ipc_send(fd, &req, -1, SHOWQ_TIMEOUT_MS);
	ipc_msg_free(&req);
	if (r < 0) {
		(void) str_fmt(why, whylen, "cannot send to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	ipc_in_init(&in);
	for (;;) {
		struct showq_msg m;
		uint64_t omitted;

		r = ipc_recv(fd, &in, NULL, SHOWQ_TIMEOUT_MS);
		if (r != 0) {
			(void) str_fmt(why, whylen, "%s: %s", path, r > 0 ? "the listing ended early"
				       : errno == EPROTO ? ipc_error(&in) : strerror(errno));
			break;
		}
		if (in.type == SHOWQ_REP_END) {
			if (ipc_get_num(&in, "omitted", &omitted) < 0 || ipc_get_end(&in) < 0) {
				(void) str_fmt(why, whylen, "%s: malformed end: %s", path,
					       ipc_error(&in));
				break;
			}
			sum->omitted = omitted;
			ret = 0;
			break;
		}
		if (showq_msg_parse(&in, &m, &store, &cap) < 0) {
			(void) str_fmt(why, whylen, "%s: malformed reply: %s", path, ipc_error(&in));
			break;
		}
		sum->messages++;
		sum->bytes += m.size;
		if (fn(ctx, &m) != 0) {
			(void) str_fmt(why, whylen, "stopped");
			break;
		}
	}
	free(store);
	ipc_in_free(&in);
	close(fd);
	return ret;
}
