/*
 * NAME
 *	smtpd_policy - check_policy_service: the policy delegation
 *	protocol, as events
 * SYNOPSIS
 *	#include "smtpd_restrict.h"
 *
 *	smtpd_policy_init("inet:127.0.0.1:10023", why, sizeof(why)); // pre-jail
 *	out = smtpd_policy(c, "inet:127.0.0.1:10023");
 *	smtpd_policy_end();
 * DESCRIPTION
 *	Postfix's policy delegation protocol (SMTPD_POLICY_README), so
 *	that postgrey, policyd-spf and their kin work unchanged: for each
 *	evaluation smtpd sends "name=value" lines and an empty line,
 *
 *	  request=smtpd_access_policy, protocol_state (HELO, EHLO, MAIL,
 *	  RCPT, VRFY, DATA, END-OF-MESSAGE), protocol_name (SMTP, ESMTP),
 *	  helo_name, queue_id (empty: postern numbers a message in
 *	  cleanup), sender, recipient, recipient_count (at DATA and
 *	  END-OF-MESSAGE), client_address, client_name,
 *	  reverse_client_name, instance (the same for every request of
 *	  one mail transaction), sasl_method, sasl_username, sasl_sender,
 *	  size, ccert_subject, ccert_issuer, ccert_fingerprint,
 *	  ccert_pubkey_fingerprint, encryption_protocol,
 *	  encryption_cipher, encryption_keysize, etrn_domain, stress,
 *	  policy_context (smtpd_policy_service_policy_context),
 *	  server_address, server_port, compatibility_level, mail_version
 *
 *	and reads "action=..." (other attributes are ignored) up to an
 *	empty line.  The action is an access table result
 *	(smtpd_access.c: OK, REJECT text, DEFER_IF_PERMIT text, DUNNO,
 *	PREPEND header, 4NN/5NN text ...).
 *
 *	The endpoint is "unix:PATH" (below the queue directory, since
 *	smtpd is chrooted there: unix:private/policy) or "inet:HOST:PORT"
 *	(HOST resolved once, before the chroot).  Connections are kept
 *	and shared by the process's sessions (lib/ipc/clnt_pool.h: at most
 *	SMTPD_POLICY_CONNS at once, one request on each, an idle one
 *	closed after smtpd_policy_service_max_idle; a request that meets
 *	a kept connection the server closed is sent once more on a new
 *	one), so a slow answer holds up only its own session.  A request
 *	waits at most smtpd_policy_service_timeout; a connection that
 *	fails is tried again smtpd_policy_service_try_limit times in all,
 *	smtpd_policy_service_retry_delay apart.  When no answer comes
 *	("warning: problem talking to server ENDPOINT: ..."), the result
 *	is smtpd_policy_service_default_action (451 4.3.5 Server
 *	configuration problem).
 * SECURITY
 *	The policy server is trusted as much as main.cf, but its reply is
 *	still bounded (SMTPD_POLICY_REPLY_MAX) and parsed strictly.
 *	Values sent are single lines of client data that smtpd already
 *	checked; a CR or LF in one is replaced.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clnt_pool.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "smtpd.h"
#include "smtpd_restrict.h"
#include "str.h"
#include "version.h"

#define SMTPD_POLICY_CONNS	8
#define SMTPD_POLICY_IDLE	2
#define SMTPD_POLICY_REPLY_MAX	16384

struct endpoint {
	char   *name;			/* as main.cf has it */
	char   *numeric;		/* resolved */
	struct clnt_pool *pool;		/* made on first use, on smtpd's loop */
	struct endpoint *next;
};

static struct endpoint *endpoints;

struct request {
	struct smtpd_check *c;
	struct endpoint *ep;
	struct clnt_call *call;
	struct buf req;
	unsigned tries;
	struct ev_timer retry;
};

static const struct clnt_proto policy_proto = {
	.service = "the policy service",
	.reply_max = SMTPD_POLICY_REPLY_MAX,
	.frame = clnt_frame_para,
	.resend = true,
};

static struct endpoint *
find(const char *name)
{
	for (struct endpoint *e = endpoints; e != NULL; e = e->next)
		if (str_eq(e->name, name))
			return e;
	return NULL;
}

int
smtpd_policy_init(const char *name, char *why, size_t whylen)
{
	char    numeric[600];
	struct endpoint *e;

	if (find(name) != NULL)
		return 0;
	if (clnt_pool_numeric(name, numeric, sizeof(numeric), why, whylen) < 0)
		return -1;
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->numeric = xstrdup(numeric);
	e->next = endpoints;
	endpoints = e;
	return 0;
}

void
smtpd_policy_end(void)
{
	while (endpoints != NULL) {
		struct endpoint *e = endpoints;

		endpoints = e->next;
		clnt_pool_free(e->pool);
		free(e->name);
		free(e->numeric);
		free(e);
	}
}

/* attr - one "name=value" line, the value made one line */
static void
attr(struct buf *b, const char *name, const char *value)
{
	(void) buf_appendf(b, "%s=", name);
	for (const char *p = value ? value : ""; *p; p++)
		(void) buf_putc(b, *p == '\r' || *p == '\n' ? '?' : *p);
	(void) buf_putc(b, '\n');
}

static void
attr_num(struct buf *b, const char *name, unsigned long long v)
{
	(void) buf_appendf(b, "%s=%llu\n", name, v);
}

/* build - the request of the evaluation c */
static void
build(struct smtpd_check *c, struct buf *b)
{
	static const char *const states[] = {
		[SMTPD_AT_HELO] = "HELO", [SMTPD_AT_MAIL] = "MAIL",
		[SMTPD_AT_RCPT] = "RCPT", [SMTPD_AT_VRFY] = "VRFY",
		[SMTPD_AT_DATA] = "DATA", [SMTPD_AT_EOD] = "END-OF-MESSAGE",
	};
	struct smtpd_session *s = c->s;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char    host[NI_MAXHOST] = "", port[NI_MAXSERV] = "", inst[64];
	bool    late = c->when == SMTPD_AT_DATA || c->when == SMTPD_AT_EOD;
	const char *rcpt = smtpd_check_rcpt_addr(c);

	if (getsockname(s->rfd, (struct sockaddr *) &ss, &sl) < 0
	    || getnameinfo((struct sockaddr *) &ss, sl, host, sizeof(host), port,
			   sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		host[0] = port[0] = '\0';
	(void) str_fmt(inst, sizeof(inst), "%lx.%llx.%x", (unsigned long) getpid(),
		       (unsigned long long) s->start_ms, s->transaction);
	attr(b, "request", "smtpd_access_policy");
	attr(b, "protocol_state", c->when == SMTPD_AT_HELO && s->esmtp ? "EHLO"
	     : states[c->when]);
	attr(b, "protocol_name", s->esmtp ? "ESMTP" : "SMTP");
	attr(b, "helo_name", s->helo);
	attr(b, "queue_id", "");
	attr(b, "sender", s->in_mail ? s->sender : "");
	attr(b, "recipient", rcpt ? rcpt : (late && s->nrcpt == 1 ? s->rcpt[0] : ""));
	attr_num(b, "recipient_count", late ? s->nrcpt : 0);
	attr(b, "client_address", s->addr);
	attr(b, "client_name", s->name);
	attr(b, "reverse_client_name", s->reverse_name ? s->reverse_name : "unknown");
	attr(b, "instance", inst);
	attr(b, "sasl_method", "");
	attr(b, "sasl_username", "");
	attr(b, "sasl_sender", "");
	if (c->when == SMTPD_AT_EOD)
		attr_num(b, "size", s->data.size);
	else
		attr_num(b, "size", s->declared_size);
	attr(b, "ccert_subject", "");
	attr(b, "ccert_issuer", "");
	attr(b, "ccert_fingerprint", "");
	attr(b, "ccert_pubkey_fingerprint", "");
	attr(b, "encryption_protocol", tlsio_is_tls(&s->io) ? tlsio_protocol(&s->io) : "");
	attr(b, "encryption_cipher", tlsio_is_tls(&s->io) ? tlsio_cipher(&s->io) : "");
	attr_num(b, "encryption_keysize", tlsio_is_tls(&s->io)
		 ? (unsigned long long) tlsio_bits(&s->io, NULL) : 0);
	attr(b, "etrn_domain", "");
	attr(b, "stress", "");
	attr(b, "policy_context", cfg->smtpd_policy_service_policy_context);
	attr(b, "server_address", host);
	attr(b, "server_port", port);
	attr(b, "compatibility_level", "3.6");
	attr(b, "mail_version", POSTERN_VERSION);
	(void) buf_putc(b, '\n');
}

static void
request_free(struct request *r)
{
	ev_timer_stop(smtpd_loop, &r->retry);
	buf_free(&r->req);
	free(r);
}

static void
request_cancel(void *arg)
{
	struct request *r = arg;

	clnt_pool_cancel(r->call);
	request_free(r);
}

/* action - the value of "action=" in a reply; NULL when there is none */
static const char *
action(const char *reply, size_t len, char *out, size_t outlen)
{
	const char *p = reply, *end = reply + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		size_t  n = (size_t) ((nl ? nl : end) - p);

		if (n > 7 && memcmp(p, "action=", 7) == 0) {
			if (n - 7 >= outlen)
				return NULL;
			memcpy(out, p + 7, n - 7);
			out[n - 7] = '\0';
			return out;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return NULL;
}

static void send_request(struct request *r);

static void
retry_cb(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop;
	send_request(t->data);
}

static void
done(void *ctx, struct clnt_call *call, const struct clnt_result *res)
{
	struct request *r = ctx;
	struct smtpd_check *c = r->c;
	char    act[SMTPD_POLICY_REPLY_MAX];
	const char *a = NULL, *why = res->why;
	int     out;

	(void) call;
	r->call = NULL;
	if (res->status == CLNT_OK) {
		for (size_t i = 0; i < res->len; i++)
			if ((unsigned char) res->reply[i] < 0x20 && res->reply[i] != '\n'
			    && res->reply[i] != '\t')
				why = "a control character in the reply";
		if (why == NULL && (a = action(res->reply, res->len, act, sizeof(act))) == NULL)
			why = "no action= in the reply";
	}
	if (a == NULL && res->status == CLNT_ERROR
	    && ++r->tries < (unsigned) cfg->smtpd_policy_service_try_limit) {
		smtpd_log(c->s, "warning: problem talking to server %s: %s (trying again)",
			  r->ep->name, why);
		ev_timer_start(smtpd_loop, &r->retry,
			       (uint64_t) cfg->smtpd_policy_service_retry_delay * 1000);
		return;
	}
	if (a == NULL) {
		smtpd_log(c->s, "warning: problem talking to server %s: %s",
			  r->ep->name, why ? why : "no reply");
		a = cfg->smtpd_policy_service_default_action;
	}
	out = smtpd_access_result(c, a, r->ep->name);
	request_free(r);
	if (out != SMTPD_R_WAIT)
		smtpd_check_resume(c, out);
}

static void
send_request(struct request *r)
{
	struct endpoint *ep = r->ep;

	if (ep->pool == NULL) {
		struct clnt_pool_conf conf = {
			.endpoint = ep->numeric, .proto = &policy_proto,
			.max_conns = SMTPD_POLICY_CONNS, .max_idle = SMTPD_POLICY_IDLE,
			.idle_ms = (uint64_t) cfg->smtpd_policy_service_max_idle * 1000,
		};
		char    why[CLNT_WHY_MAX];

		if ((ep->pool = clnt_pool_new(smtpd_loop, &conf, why, sizeof(why))) == NULL)
			log_fatal("check_policy_service %s: %s", ep->name, why);
	}
	r->call = clnt_pool_call(ep->pool, r->req.data, r->req.len, -1,
				 (uint64_t) cfg->smtpd_policy_service_timeout * 1000, 0,
				 done, r);
}

int
smtpd_policy(struct smtpd_check *c, const char *name)
{
	struct endpoint *ep = find(name);
	struct request *r;

	if (ep == NULL)
		log_panic("smtpd_policy: %s was not set up at start", name);
	r = xcalloc(1, sizeof(*r));
	r->c = c;
	r->ep = ep;
	buf_init(&r->req, 64 * 1024);
	ev_timer_init(&r->retry, retry_cb, r);
	build(c, &r->req);
	smtpd_check_wait(c, request_cancel, r);
	send_request(r);
	return SMTPD_R_WAIT;
}
