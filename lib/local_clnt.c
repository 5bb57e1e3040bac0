/*
 * NAME
 *	local_clnt - the private/local delivery protocol, both sides
 * DESCRIPTION
 *	See local_clnt.h.  Building and parsing live together so that the
 *	two ends cannot drift apart; the check suite round-trips them.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "dsn.h"
#include "ipc.h"
#include "local_clnt.h"
#include "qid.h"
#include "str.h"

/* Offsets and lengths must fit off_t, and their sum too. */
#define OFF_MAX		((uint64_t) INT64_MAX / 2)

static int
whyf(char *why, size_t whylen, const char *fmt, const char *arg)
{
	(void) str_fmt(why, whylen, fmt, arg);
	return -1;
}

/* clean - true when s is free of control characters */
static bool
clean(const char *s)
{
	return !str_has_ctl(s, strlen(s));
}

int
local_request_build(struct ipc_msg *m, const struct local_request *rq)
{
	ipc_msg_init(m, LOCAL_REQ_DELIVER);
	if (strlen(rq->queue_id) > LOCAL_QID_MAX
	    || strlen(rq->sender) > LOCAL_ADDR_MAX
	    || strlen(rq->rcpt) > LOCAL_ADDR_MAX
	    || strlen(rq->orcpt) > LOCAL_ADDR_MAX
	    || rq->hdr_off > OFF_MAX || rq->hdr_len > OFF_MAX
	    || rq->body_off > OFF_MAX || rq->body_len > OFF_MAX)
		goto fail;
	if (ipc_put_str(m, "queue_id", rq->queue_id) < 0
	    || ipc_put_str(m, "sender", rq->sender) < 0
	    || ipc_put_str(m, "rcpt", rq->rcpt) < 0
	    || ipc_put_str(m, "orcpt", rq->orcpt) < 0
	    || ipc_put_num(m, "index", rq->index) < 0
	    || ipc_put_num(m, "arrival", rq->arrival) < 0
	    || ipc_put_num(m, "hdr_off", rq->hdr_off) < 0
	    || ipc_put_num(m, "hdr_len", rq->hdr_len) < 0
	    || ipc_put_num(m, "body_off", rq->body_off) < 0
	    || ipc_put_num(m, "body_len", rq->body_len) < 0)
		goto fail;
	return 0;
fail:
	ipc_msg_free(m);
	errno = EINVAL;
	return -1;
}

int
local_request_parse(struct ipc_in *in, struct local_request *rq,
		    char *why, size_t whylen)
{
	memset(rq, 0, sizeof(*rq));
	if (in->type != LOCAL_REQ_DELIVER)
		return whyf(why, whylen, "unexpected message type%s", "");
	if (ipc_get_str(in, "queue_id", &rq->queue_id, LOCAL_QID_MAX) < 0
	    || ipc_get_str(in, "sender", &rq->sender, LOCAL_ADDR_MAX) < 0
	    || ipc_get_str(in, "rcpt", &rq->rcpt, LOCAL_ADDR_MAX) < 0
	    || ipc_get_str(in, "orcpt", &rq->orcpt, LOCAL_ADDR_MAX) < 0
	    || ipc_get_num(in, "index", &rq->index) < 0
	    || ipc_get_num(in, "arrival", &rq->arrival) < 0
	    || ipc_get_num(in, "hdr_off", &rq->hdr_off) < 0
	    || ipc_get_num(in, "hdr_len", &rq->hdr_len) < 0
	    || ipc_get_num(in, "body_off", &rq->body_off) < 0
	    || ipc_get_num(in, "body_len", &rq->body_len) < 0
	    || ipc_get_end(in) < 0)
		return whyf(why, whylen, "malformed delivery request: %s", ipc_error(in));
	if (!qid_valid(rq->queue_id))
		return whyf(why, whylen, "bad queue ID in delivery request%s", "");
	if (!clean(rq->sender) || !clean(rq->rcpt) || !clean(rq->orcpt))
		return whyf(why, whylen, "control character in an address of "
			    "a delivery request%s", "");
	if (rq->rcpt[0] == '\0')
		return whyf(why, whylen, "empty recipient in delivery request%s", "");
	if (rq->hdr_off > OFF_MAX || rq->hdr_len > OFF_MAX
	    || rq->body_off > OFF_MAX || rq->body_len > OFF_MAX)
		return whyf(why, whylen, "offset out of range in delivery request%s", "");
	return 0;
}

int
local_reply_build(struct ipc_msg *m, int status, const char *dsn,
		  const char *reason)
{
	ipc_msg_init(m, LOCAL_REP);
	if (strlen(reason) > LOCAL_REASON_MAX || !dsn_valid(dsn)) {
		ipc_msg_free(m);
		errno = EINVAL;
		return -1;
	}
	if (ipc_put_num(m, "status", (uint64_t) status) < 0
	    || ipc_put_str(m, "dsn", dsn) < 0
	    || ipc_put_str(m, "reason", reason) < 0) {
		ipc_msg_free(m);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
local_reply_parse(struct ipc_in *in, struct local_reply *rep, char *why,
		  size_t whylen)
{
	uint64_t st;
	char    want;

	memset(rep, 0, sizeof(*rep));
	if (in->type != LOCAL_REP)
		return whyf(why, whylen, "unexpected message type%s", "");
	if (ipc_get_num(in, "status", &st) < 0
	    || ipc_get_str(in, "dsn", &rep->dsn, DSN_MAX) < 0
	    || ipc_get_str(in, "reason", &rep->reason, LOCAL_REASON_MAX) < 0
	    || ipc_get_end(in) < 0)
		return whyf(why, whylen, "malformed delivery reply: %s", ipc_error(in));
	switch (st) {
	case LOCAL_STAT_SENT:
		want = '2';
		break;
	case LOCAL_STAT_DEFER:
		want = '4';
		break;
	case LOCAL_STAT_BOUNCE:
		want = '5';
		break;
	default:
		return whyf(why, whylen, "bad status in delivery reply%s", "");
	}
	if (dsn_class(rep->dsn) != want)
		return whyf(why, whylen, "status code does not match the status "
			    "in delivery reply%s", "");
	if (!clean(rep->reason))
		return whyf(why, whylen, "control character in delivery reply%s", "");
	rep->status = (int) st;
	return 0;
}
