/*
 * NAME
 *	delivery - the delivery request and its results, both sides
 * DESCRIPTION
 *	See delivery.h.  Building and parsing live together so that the
 *	two ends cannot drift apart: the builder checks each field with
 *	the same test the parser applies (field_ok() and friends), and
 *	the check suite round-trips them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "dsn.h"
#include "ipc.h"
#include "mem.h"
#include "qid.h"
#include "str.h"

/* Offsets and lengths must fit off_t, and their sum too. */
#define OFF_MAX		((uint64_t) INT64_MAX / 2)
/* Recipient indexes: far above any cleanup_recipient_limit. */
#define INDEX_MAX	((uint64_t) 1 << 40)

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

/* bounded - clean and at most max bytes */
static bool
bounded(const char *s, size_t max)
{
	return s != NULL && strlen(s) <= max && clean(s);
}

bool
delivery_transport_valid(const char *s)
{
	size_t  n = s ? strlen(s) : 0;

	return n > 0 && n <= DELIVERY_TRANSPORT_MAX && s[0] != '.'
	    && str_all_in(s, n, STR_LOWER STR_UPPER STR_DIGITS "-_.");
}

/* agent_valid - [a-z0-9_-], 1..DELIVERY_AGENT_MAX */
static bool
agent_valid(const char *s)
{
	size_t  n = strlen(s);

	return n > 0 && n <= DELIVERY_AGENT_MAX && str_all_in(s, n, STR_LOWER STR_DIGITS "-_");
}

static bool
one_of(const char *s, const char *a, const char *b, const char *c)
{
	return str_eq(s, a) || str_eq(s, b) || str_eq(s, c);
}

int
delivery_status_of(const char *dsn)
{
	switch (dsn_class(dsn)) {
	case '2':
		return DELIVERY_SENT;
	case '4':
		return DELIVERY_DEFER;
	case '5':
		return DELIVERY_BOUNCE;
	default:
		return -1;
	}
}

/*
 * Hello.
 */

int
delivery_hello_build(struct ipc_msg *m, const char *agent)
{
	return delivery_hello_build_pipeline(m, agent, 1);
}

int
delivery_hello_build_pipeline(struct ipc_msg *m, const char *agent,
			      unsigned pipeline)
{
	ipc_msg_init(m, DELIVERY_HELLO);
	if (!agent_valid(agent) || pipeline < 1 || pipeline > DELIVERY_PIPELINE_MAX
	    || ipc_put_num(m, "version", DELIVERY_VERSION) < 0
	    || ipc_put_str(m, "agent", agent) < 0
	    || (pipeline > 1 && ipc_put_num(m, "pipeline", pipeline) < 0)) {
		ipc_msg_free(m);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
delivery_hello_parse(struct ipc_in *in, const char **agent, char *why,
		     size_t whylen)
{
	unsigned pipeline;

	return delivery_hello_parse_pipeline(in, agent, &pipeline, why, whylen);
}

int
delivery_hello_parse_pipeline(struct ipc_in *in, const char **agent,
			      unsigned *pipeline, char *why, size_t whylen)
{
	uint64_t v, p = 1;
	const char *name;

	*agent = "";
	*pipeline = 1;
	if (in->type != DELIVERY_HELLO)
		return whyf(why, whylen, "the first message is not a delivery "
			    "agent's greeting (is this service a delivery agent?)%s", "");
	if (ipc_get_num(in, "version", &v) < 0
	    || ipc_get_str(in, "agent", agent, DELIVERY_AGENT_MAX) < 0
	    || ((name = ipc_peek_name(in)) != NULL && str_eq(name, "pipeline")
		&& ipc_get_num(in, "pipeline", &p) < 0)
	    || ipc_get_end(in) < 0)
		return whyf(why, whylen, "malformed delivery agent greeting: %s",
			    ipc_error(in));
	if (v != DELIVERY_VERSION)
		return whyf(why, whylen, "delivery agent speaks another protocol "
			    "version (a daemon from another build?)%s", "");
	if (!agent_valid(*agent))
		return whyf(why, whylen, "bad agent name in a delivery agent "
			    "greeting%s", "");
	if (p < 1 || p > DELIVERY_PIPELINE_MAX) {
		(void) str_fmt(why, whylen, "delivery agent greeting: pipeline %llu "
			       "out of range (1 to %d)", (unsigned long long) p,
			       DELIVERY_PIPELINE_MAX);
		return -1;
	}
	*pipeline = (unsigned) p;
	return 0;
}

/*
 * Request.
 */

/* request_why - the first field of rq that breaks a rule, or NULL */
static const char *
request_why(const struct delivery_request *rq)
{
	uint64_t last = 0;

	if (!qid_valid(rq->queue_id))
		return "bad queue ID";
	if (!delivery_transport_valid(rq->transport))
		return "bad transport name";
	if (!bounded(rq->nexthop, DELIVERY_NEXTHOP_MAX))
		return "next hop too long or with a control character";
	if (!bounded(rq->sender, DELIVERY_ADDR_MAX))
		return "sender too long or with a control character";
	if (!one_of(rq->body_type, "", "7BIT", "8BITMIME"))
		return "unknown body type";
	if (!bounded(rq->envid, DELIVERY_ENVID_MAX))
		return "ENVID too long or with a control character";
	if (!one_of(rq->ret, "", "FULL", "HDRS"))
		return "unknown RET value";
	if (rq->hdr_off > OFF_MAX || rq->hdr_len > OFF_MAX
	    || rq->body_off > OFF_MAX || rq->body_len > OFF_MAX)
		return "offset or length out of range";
	if (rq->nrcpts == 0 || rq->nrcpts > DELIVERY_RCPT_MAX)
		return "no recipient, or too many";
	for (size_t i = 0; i < rq->nrcpts; i++) {
		const struct delivery_rcpt *r = &rq->rcpts[i];

		if (r->address == NULL || r->address[0] == '\0'
		    || !bounded(r->address, DELIVERY_ADDR_MAX))
			return "recipient empty, too long or with a control character";
		if (!bounded(r->orcpt, DELIVERY_ADDR_MAX))
			return "original recipient too long or with a control character";
		if (!bounded(r->notify, DELIVERY_NOTIFY_MAX))
			return "NOTIFY too long or with a control character";
		if (r->index >= INDEX_MAX || (i > 0 && r->index <= last))
			return "recipient indexes out of range or not increasing";
		last = r->index;
	}
	return NULL;
}

int
delivery_request_build(struct ipc_msg *m, const struct delivery_request *rq)
{
	ipc_msg_init(m, DELIVERY_REQ);
	if (request_why(rq) != NULL) {
		ipc_msg_free(m);
		errno = EINVAL;
		return -1;
	}
	(void) ipc_put_str(m, "queue_id", rq->queue_id);
	(void) ipc_put_str(m, "transport", rq->transport);
	(void) ipc_put_str(m, "nexthop", rq->nexthop);
	(void) ipc_put_str(m, "sender", rq->sender);
	(void) ipc_put_num(m, "smtputf8", rq->smtputf8 ? 1 : 0);
	(void) ipc_put_str(m, "body_type", rq->body_type);
	(void) ipc_put_str(m, "envid", rq->envid);
	(void) ipc_put_str(m, "ret", rq->ret);
	(void) ipc_put_num(m, "arrival", rq->arrival);
	(void) ipc_put_num(m, "delay_queue_ms", rq->delay_queue_ms);
	(void) ipc_put_num(m, "delay_active_ms", rq->delay_active_ms);
	(void) ipc_put_num(m, "hdr_off", rq->hdr_off);
	(void) ipc_put_num(m, "hdr_len", rq->hdr_len);
	(void) ipc_put_num(m, "body_off", rq->body_off);
	(void) ipc_put_num(m, "body_len", rq->body_len);
	(void) ipc_put_num(m, "nrcpt", rq->nrcpts);
	for (size_t i = 0; i < rq->nrcpts; i++) {
		(void) ipc_put_str(m, "rcpt", rq->rcpts[i].address);
		(void) ipc_put_str(m, "orcpt", rq->rcpts[i].orcpt);
		(void) ipc_put_str(m, "notify", rq->rcpts[i].notify);
		(void) ipc_put_num(m, "index", rq->rcpts[i].index);
	}
	/* A put failure sticks in m->failed. */
	if (m->failed) {
		int     err = m->failed;

		ipc_msg_free(m);
		errno = err;
		return -1;
	}
	return 0;
}

int
delivery_request_parse(struct ipc_in *in, struct delivery_request *rq,
		       char *why, size_t whylen)
{
	uint64_t utf8, n;
	const char *bad;

	memset(rq, 0, sizeof(*rq));
	if (in->type != DELIVERY_REQ)
		return whyf(why, whylen, "unexpected message type (not a "
			    "delivery request)%s", "");
	if (ipc_get_str(in, "queue_id", &rq->queue_id, DELIVERY_QID_MAX) < 0
	    || ipc_get_str(in, "transport", &rq->transport, DELIVERY_TRANSPORT_MAX) < 0
	    || ipc_get_str(in, "nexthop", &rq->nexthop, DELIVERY_NEXTHOP_MAX) < 0
	    || ipc_get_str(in, "sender", &rq->sender, DELIVERY_ADDR_MAX) < 0
	    || ipc_get_num(in, "smtputf8", &utf8) < 0
	    || ipc_get_str(in, "body_type", &rq->body_type, 8) < 0
	    || ipc_get_str(in, "envid", &rq->envid, DELIVERY_ENVID_MAX) < 0
	    || ipc_get_str(in, "ret", &rq->ret, 4) < 0
	    || ipc_get_num(in, "arrival", &rq->arrival) < 0
	    || ipc_get_num(in, "delay_queue_ms", &rq->delay_queue_ms) < 0
	    || ipc_get_num(in, "delay_active_ms", &rq->delay_active_ms) < 0
	    || ipc_get_num(in, "hdr_off", &rq->hdr_off) < 0
	    || ipc_get_num(in, "hdr_len", &rq->hdr_len) < 0
	    || ipc_get_num(in, "body_off", &rq->body_off) < 0
	    || ipc_get_num(in, "body_len", &rq->body_len) < 0
	    || ipc_get_num(in, "nrcpt", &n) < 0)
		goto malformed;
	if (utf8 > 1)
		return whyf(why, whylen, "smtputf8 is not 0 or 1 in a delivery "
			    "request%s", "");
	rq->smtputf8 = utf8 == 1;
	if (n == 0 || n > DELIVERY_RCPT_MAX)
		return whyf(why, whylen, "no recipient, or too many, in a "
			    "delivery request%s", "");
	rq->rcpts = xcalloc((size_t) n, sizeof(*rq->rcpts));
	rq->nrcpts = (size_t) n;
	for (size_t i = 0; i < rq->nrcpts; i++) {
		struct delivery_rcpt *r = &rq->rcpts[i];

		if (ipc_get_str(in, "rcpt", &r->address, DELIVERY_ADDR_MAX) < 0
		    || ipc_get_str(in, "orcpt", &r->orcpt, DELIVERY_ADDR_MAX) < 0
		    || ipc_get_str(in, "notify", &r->notify, DELIVERY_NOTIFY_MAX) < 0
		    || ipc_get_num(in, "index", &r->index) < 0)
			goto malformed;
	}
	if (ipc_get_end(in) < 0)
		goto malformed;
	if ((bad = request_why(rq)) != NULL) {
		delivery_request_free(rq);
		return whyf(why, whylen, "delivery request: %s", bad);
	}
	return 0;

malformed:
	delivery_request_free(rq);
	return whyf(why, whylen, "malformed delivery request: %s", ipc_error(in));
}

void
delivery_request_free(struct delivery_request *rq)
{
	free(rq->rcpts);
	rq->rcpts = NULL;
	rq->nrcpts = 0;
}

/*
 * Reply.
 */

void
delivery_reply_init(struct ipc_msg *m, struct delivery_request *rq)
{
	ipc_msg_init(m, DELIVERY_REP);
	rq->nreplied = 0;
	(void) ipc_put_num(m, "nrcpt", rq->nrcpts);
}

int
delivery_reply_add(struct ipc_msg *m, struct delivery_request *rq, size_t i,
		   int status, const char *dsn, const char *text,
		   const char *relay)
{
	char    t[DELIVERY_TEXT_MAX + 1], rl[DELIVERY_RELAY_MAX + 1];

	if (i != rq->nreplied || i >= rq->nrcpts
	    || delivery_status_of(dsn) != status) {
		errno = EINVAL;
		return -1;
	}
	str_line(t, sizeof(t), text);
	str_line(rl, sizeof(rl), relay);
	if (ipc_put_num(m, "index", rq->rcpts[i].index) < 0
	    || ipc_put_num(m, "status", (uint64_t) status) < 0
	    || ipc_put_str(m, "dsn", dsn) < 0
	    || ipc_put_str(m, "text", t) < 0
	    || ipc_put_str(m, "relay", rl) < 0)
		return -1;
	rq->nreplied++;
	return 0;
}

int
delivery_reply_end(struct ipc_msg *m, struct delivery_request *rq,
		   const char *site_dsn, const char *site_text)
{
	char    t[DELIVERY_TEXT_MAX + 1];

	if (site_dsn == NULL || site_dsn[0] == '\0') {
		site_dsn = "";
		site_text = "";
	} else if (dsn_class(site_dsn) != '4') {
		errno = EINVAL;
		return -1;
	}
	str_line(t, sizeof(t), site_text);
	if (rq->nreplied != rq->nrcpts) {
		errno = EINVAL;
		return -1;
	}
	if (ipc_put_str(m, "site_dsn", site_dsn) < 0
	    || ipc_put_str(m, "site_text", t) < 0)
		return -1;
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	return 0;
}

int
delivery_reply_parse(struct ipc_in *in, const struct delivery_request *rq,
		     struct delivery_reply *rep, char *why, size_t whylen)
{
	uint64_t n, st;

	memset(rep, 0, sizeof(*rep));
	if (in->type != DELIVERY_REP)
		return whyf(why, whylen, "unexpected message type (not a "
			    "delivery reply)%s", "");
	if (ipc_get_num(in, "nrcpt", &n) < 0)
		goto malformed;
	if (n != rq->nrcpts)
		return whyf(why, whylen, "a delivery reply with another number "
			    "of recipients than its request%s", "");
	rep->results = xcalloc(rq->nrcpts + 1, sizeof(*rep->results));
	rep->nresults = rq->nrcpts;
	for (size_t i = 0; i < rq->nrcpts; i++) {
		struct delivery_result *r = &rep->results[i];

		if (ipc_get_num(in, "index", &r->index) < 0
		    || ipc_get_num(in, "status", &st) < 0
		    || ipc_get_str(in, "dsn", &r->dsn, DSN_MAX) < 0
		    || ipc_get_str(in, "text", &r->text, DELIVERY_TEXT_MAX) < 0
		    || ipc_get_str(in, "relay", &r->relay, DELIVERY_RELAY_MAX) < 0)
			goto malformed;
		if (r->index != rq->rcpts[i].index) {
			delivery_reply_free(rep);
			return whyf(why, whylen, "a delivery reply for a recipient "
				    "that was not asked for%s", "");
		}
		if (st > DELIVERY_BOUNCE || delivery_status_of(r->dsn) != (int) st) {
			delivery_reply_free(rep);
			return whyf(why, whylen, "bad status, or a status code that "
				    "does not match it, in a delivery reply%s", "");
		}
		if (!clean(r->text) || !clean(r->relay)) {
			delivery_reply_free(rep);
			return whyf(why, whylen, "control character in a delivery "
				    "reply%s", "");
		}
		r->status = (int) st;
	}
	if (ipc_get_str(in, "site_dsn", &rep->site_dsn, DSN_MAX) < 0
	    || ipc_get_str(in, "site_text", &rep->site_text, DELIVERY_TEXT_MAX) < 0
	    || ipc_get_end(in) < 0)
		goto malformed;
	if ((rep->site_dsn[0] != '\0' && dsn_class(rep->site_dsn) != '4')
	    || (rep->site_dsn[0] == '\0' && rep->site_text[0] != '\0')
	    || !clean(rep->site_text)) {
		delivery_reply_free(rep);
		return whyf(why, whylen, "bad site status in a delivery reply%s", "");
	}
	return 0;

malformed:
	delivery_reply_free(rep);
	return whyf(why, whylen, "malformed delivery reply: %s", ipc_error(in));
}

void
delivery_reply_free(struct delivery_reply *rep)
{
	free(rep->results);
	rep->results = NULL;
	rep->nresults = 0;
}
