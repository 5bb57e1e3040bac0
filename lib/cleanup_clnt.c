/*
 * NAME
 *	cleanup_clnt - hand a message to the cleanup service
 * DESCRIPTION
 *	See cleanup_clnt.h.  The request is built once and the same
 *	bytes go out whether the caller blocks or drives an event loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup_clnt.h"
#include "dsn.h"
#include "ipc.h"
#include "qid.h"
#include "str.h"

static char clnt_path[108] = CLEANUP_SOCKET;

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
	if ((fd = ipc_connect(clnt_path, false)) < 0) {
		cleanup_clnt_fail(res, "cannot connect to the cleanup service: %s",
				  strerror(errno));
		ipc_msg_free(&m);
		return res->status;
	}
	ipc_in_init_max(&in, CLEANUP_REP_MAX);
	if (ipc_send(fd, &m, content_fd, CLEANUP_TIMEOUT_MS) < 0) {
		cleanup_clnt_fail(res, "cannot send to the cleanup service: %s",
				  strerror(errno));
	} else if ((r = ipc_recv(fd, &in, NULL, CLEANUP_TIMEOUT_MS)) != 0) {
		cleanup_clnt_fail(res, "no answer from the cleanup service: %s",
				  r == 1 ? "connection closed" : errno == ETIMEDOUT
				  ? "timed out" : strerror(errno));
	} else {
		(void) cleanup_reply_parse(&in, res);
	}
	ipc_in_free(&in);
	ipc_msg_free(&m);
	(void) close(fd);
	return res->status;
}
