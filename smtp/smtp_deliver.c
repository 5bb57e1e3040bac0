/*
 * NAME
 *	smtp_deliver - one delivery request: its servers in turn, one
 *	result per recipient
 * SYNOPSIS
 *	#include "smtp_session.h"
 *
 *	rq->done = on_done;
 *	smtp_deliver(rq);	// on_done(rq) once every recipient has its result
 * DESCRIPTION
 *	For the request's next hop (smtp_nexthop.c) and TLS policy
 *	(smtp_tls_policy.c), with the SASL credentials of
 *	smtp_sasl_password_maps when smtp_sasl_auth_enable is on:
 *
 *	  1. An idle connection to the same destination (smtp_cache.c)
 *	     is used when there is one: no DNS, no connection set-up.
 *	  2. Otherwise the addresses to try (smtp_resolve.c), in order;
 *	     a DNS answer that says "never" bounces every recipient, one
 *	     that says "later" defers them.
 *	  3. One server at a time (smtp_session.c).  A server that
 *	     cannot be reached, greets with 4xx (or 5xx: see
 *	     smtp_skip_5xx_greeting), fails TLS or AUTH, answers MAIL or
 *	     a recipient with 4xx, or drops the connection, leaves those
 *	     recipients for the next address; 2xx and 5xx decide.  At
 *	     most smtp_mx_session_limit servers that answered, and the
 *	     smtp_mx_address_limit addresses resolve gave, are tried.
 *	     With TLS level may, a failed handshake is retried once at
 *	     the same address in the clear.  A cached connection that
 *	     dies before its first reply is replaced by a new one, not
 *	     counted as a server that failed.
 *	  4. What is left is deferred with the last server's reason.
 *
 *	Each recipient gets one log line when its result is known
 *	(lib/svc/delivery_log.h: "QID: to=<...>, relay=mx.example.org[192.0.2.1]:25,
 *	delay=..., delays=a/b/c/d, dsn=2.0.0, status=sent (250 2.0.0 Ok:
 *	queued as ...)"); c is the connection set-up, d the transaction.
 *
 *	The message's 8-bit classification (header text, body) is read
 *	once from the queue file before the first server is asked, for
 *	BODY=8BITMIME and the conversion to a 7-bit server.
 *
 *	The site status (rq->site_dsn, site_why) is set when every
 *	recipient was deferred because the destination as a whole
 *	failed (DNS, connection, greeting, TLS, MAIL, a lost
 *	connection), so qmgr can back off the destination; a 4xx to a
 *	recipient says nothing about the destination.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "delivery.h"
#include "delivery_log.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "smtp_session.h"
#include "str.h"

struct smtp_job {
	struct smtp_request *rq;
	struct smtp_nexthop nh;
	struct smtp_session_conf sc;
	struct smtp_resolve *res;
	struct smtp_dane_lookup *daneq;	/* TLSA of addrs[next - 1] */
	struct smtp_addr addrs[SMTP_ADDRS_MAX];
	size_t	naddrs, next;
	bool	resolved;
	bool	plain_retry;		/* the last address, without TLS */
	struct dns_addr skip_addr;	/* answered on a cached connection */
	unsigned skip_port;
	unsigned sessions;		/* servers that greeted */
	unsigned bits;			/* SMTP_8BIT_* */
	struct smtp_session *sess;
	uint64_t start_ms;
	struct smtp_job *prev, *next_job;
};

static struct smtp_job *jobs;
static size_t njobs;
unsigned smtp_default_port = 25;	/* smtp_tcp_port (smtp.c) */

size_t
smtp_deliver_count(void)
{
	return njobs;
}

/* ------------------------------------------------------------------ */
/* Results and their log lines.                                       */

static int
status_of(enum smtp_rstat st)
{
	return st == SMTP_R_SENT ? DELIVERY_SENT : st == SMTP_R_BOUNCE
	    ? DELIVERY_BOUNCE : DELIVERY_DEFER;
}

static void
log_rcpt(struct smtp_job *job, struct smtp_rcpt *r, double conn, double xfer)
{
	struct delivery_delays d = {
		.before_active = job->rq->delay_a,
		.in_active = job->rq->delay_b,
		.conn = conn,
		.xfer = xfer,
	};

	delivery_log_to(job->rq->qid, r->address, r->orcpt,
			r->relay[0] ? r->relay : "none", &d, r->dsn,
			status_of(r->stat), r->reason ? r->reason : "");
	r->logged = true;
}

static void
job_free(struct smtp_job *job)
{
	if (job->res != NULL)
		smtp_resolve_cancel(job->res);
	smtp_dane_cancel(job->daneq);
	if (job->prev)
		job->prev->next_job = job->next_job;
	else
		jobs = job->next_job;
	if (job->next_job)
		job->next_job->prev = job->prev;
	njobs--;
	OPENSSL_cleanse(job->sc.sasl_pass, sizeof(job->sc.sasl_pass));
	free(job);
}

/* finish - everything undecided is deferred; answer; forget the job */
static void
finish(struct smtp_job *job)
{
	struct smtp_request *rq = job->rq;
	double	conn = (double) (ev_now(smtp_loop) - job->start_ms) / 1000.0;
	bool	all_site = rq->site_why[0] != '\0';

	for (size_t i = 0; i < rq->nrcpts; i++) {
		struct smtp_rcpt *r = &rq->rcpts[i];

		if (r->stat == SMTP_R_TODO) {
			const char *why = r->reason ? r->reason : rq->site_why[0]
			    ? rq->site_why : "no SMTP server was available";
			char	dsn[DSN_MAX + 1];

			(void) str_copy(dsn, sizeof(dsn), r->dsn[0] == '4' ? r->dsn
					: rq->site_dsn[0] ? rq->site_dsn : "4.4.1");
			why = xstrdup(why);
			smtp_rcpt_set(r, SMTP_R_DEFER, dsn, why);
			free((void *) why);
		}
		if (!r->logged)
			log_rcpt(job, r, conn, 0);
		if (r->stat != SMTP_R_DEFER || r->site_decided == false)
			all_site = false;
	}
	if (!all_site)
		rq->site_dsn[0] = rq->site_why[0] = '\0';
	job_free(job);
	rq->done(rq);
}

/* fail_all - every open recipient: 4 defer or 5 bounce, before any server */
static void
fail_all(struct smtp_job *job, int status, const char *dsn, const char *why)
{
	struct smtp_request *rq = job->rq;

	for (size_t i = 0; i < rq->nrcpts; i++) {
		struct smtp_rcpt *r = &rq->rcpts[i];

		if (r->stat != SMTP_R_TODO)
			continue;
		smtp_rcpt_set(r, status == 5 ? SMTP_R_BOUNCE : SMTP_R_DEFER, dsn, why);
		r->site_decided = status == 4;
	}
	if (status == 4) {
		(void) str_copy(rq->site_dsn, sizeof(rq->site_dsn), dsn);
		(void) str_copy(rq->site_why, sizeof(rq->site_why), why);
	}
	finish(job);
}

/* ------------------------------------------------------------------ */
/* Servers in turn.                                                   */

static void on_outcome(void *owner, struct smtp_session *s,
		       const struct smtp_outcome *o);
static void start_resolve(struct smtp_job *job);
static void next_server(struct smtp_job *job);

/* open_server - a session to a, at TLS level (DANE: with its records) */
static void
open_server(struct smtp_job *job, const struct smtp_addr *a,
	    enum smtp_tls_level level, const struct smtp_dane *dane)
{
	struct smtp_session_conf sc = job->sc;

	sc.tls.level = level;
	sc.dane = dane;
	sc.nnames = smtp_tls_names(&sc.tls, &job->nh, a->host, sc.names,
				   sc.name_store, sizeof(sc.name_store));
	(void) str_copy(sc.sni, sizeof(sc.sni), job->nh.literal.family ? "" : a->host);
	job->sess = smtp_session_open(a, &sc, job->rq, job->bits, on_outcome, job);
}

/*
 * server_failed - a without a session (DANE said no): its reason
 * stays with the open recipients for the next server, or the deferral
 */
static void
server_failed(struct smtp_job *job, const struct smtp_addr *a, const char *why)
{
	struct smtp_request *rq = job->rq;
	char	text[INET6_ADDRSTRLEN], relay[SMTP_PEER_MAX];

	if (inet_ntop(a->addr.family, a->addr.a, text, sizeof(text)) == NULL)
		(void) str_copy(text, sizeof(text), "?");
	(void) str_fmt(relay, sizeof(relay), "%s[%s]:%u", a->host, text, a->port);
	log_info("%s: %s: %s", rq->qid, relay, why);
	for (size_t i = 0; i < rq->nrcpts; i++) {
		struct smtp_rcpt *r = &rq->rcpts[i];

		if (r->stat != SMTP_R_TODO)
			continue;
		smtp_rcpt_keep(r, "4.7.5", why);
		r->kept = false;
		r->site_decided = true;
		(void) str_copy(r->relay, sizeof(r->relay), relay);
	}
	(void) str_copy(rq->site_dsn, sizeof(rq->site_dsn), "4.7.5");
	(void) str_copy(rq->site_why, sizeof(rq->site_why), why);
}

static void
on_dane(void *ctx, enum smtp_dane_verdict v, const char *why, struct smtp_dane *dane)
{
	struct smtp_job *job = ctx;
	const struct smtp_addr *a = &job->addrs[job->next - 1];

	job->daneq = NULL;
	switch (v) {
	case SMTP_DANE_VERIFY:
		open_server(job, a, job->sc.tls.level, dane);
		free(dane);
		return;
	case SMTP_DANE_ENCRYPT:
		log_info("%s: %s: TLS security level encrypt", job->rq->qid, why);
		open_server(job, a, SMTP_TLS_ENCRYPT, NULL);
		return;
	case SMTP_DANE_MAY:
		open_server(job, a, SMTP_TLS_MAY, NULL);
		return;
	case SMTP_DANE_FAIL:
		server_failed(job, a, why);
		next_server(job);
		return;
	}
}

static void
next_server(struct smtp_job *job)
{
	while (job->next < job->naddrs) {
		const struct smtp_addr *a;
		enum smtp_tls_level level = job->sc.tls.level;
		char	why[SMTP_REASON_MAX];

		if (cfg->smtp_mx_session_limit > 0
		    && job->sessions >= (unsigned) cfg->smtp_mx_session_limit)
			break;
		a = &job->addrs[job->next++];
		if (job->skip_addr.family != 0 && a->addr.family == job->skip_addr.family
		    && memcmp(a->addr.a, job->skip_addr.a, 16) == 0
		    && a->port == job->skip_port)
			continue;	/* the cached connection's server said no */
		if (job->plain_retry && !job->sc.wrapper) {
			level = SMTP_TLS_NONE;
			job->plain_retry = false;
		} else if (smtp_tls_dane_level(level)) {
			if (a->dnssec) {
				job->daneq = smtp_dane_start(a, level, on_dane, job);
				return;
			}
			if (smtp_dane_insecure(level, a, why, sizeof(why)) == SMTP_DANE_FAIL) {
				server_failed(job, a, why);
				continue;
			}
			level = SMTP_TLS_MAY;
		}
		open_server(job, a, level, NULL);
		return;
	}
	finish(job);
}

static void
on_outcome(void *owner, struct smtp_session *s, const struct smtp_outcome *o)
{
	struct smtp_job *job = owner;
	struct smtp_request *rq = job->rq;
	double	conn = (double) o->conn_ms / 1000.0, xfer = (double) o->xfer_ms / 1000.0;
	bool	open = false;

	job->sess = NULL;
	if (o->greeted && (!o->reused || o->answered))
		job->sessions++;
	if (o->reused && o->answered) {
		job->skip_addr = s->addr.addr;
		job->skip_port = s->addr.port;
	}
	for (size_t i = 0; i < rq->nrcpts; i++) {
		struct smtp_rcpt *r = &rq->rcpts[i];

		if (r->stat != SMTP_R_TODO && !r->logged) {
			(void) str_copy(r->relay, sizeof(r->relay), s->relay);
			r->site_decided = r->stat == SMTP_R_DEFER && o->site_why[0];
			log_rcpt(job, r, conn, xfer);
		} else if (r->kept) {
			(void) str_copy(r->relay, sizeof(r->relay), s->relay);
			r->kept = false;
			r->site_decided = o->site_why[0] != '\0';
			open = true;
		}
	}
	if (o->site_why[0]) {
		(void) str_copy(rq->site_dsn, sizeof(rq->site_dsn), o->site_dsn);
		(void) str_copy(rq->site_why, sizeof(rq->site_why), o->site_why);
	} else
		rq->site_dsn[0] = rq->site_why[0] = '\0';
	if (!o->closing)
		smtp_cache_put(s);	/* or QUIT, when it cannot be reused */
	if (!open) {
		finish(job);
		return;
	}
	if (o->tls_may_failed && job->next > 0) {
		job->next--;		/* the same server, in the clear */
		job->plain_retry = true;
	}
	if (o->reused && !o->answered) {
		/* The cached connection was gone: a fresh one, uncounted. */
		start_resolve(job);
		return;
	}
	if (!job->resolved) {
		start_resolve(job);
		return;
	}
	next_server(job);
}

static void
on_resolved(void *ctx, int status, const char *dsn, const char *why,
	    const struct smtp_addr *a, size_t n)
{
	struct smtp_job *job = ctx;

	job->res = NULL;
	if (status != 0) {
		fail_all(job, status, dsn, why);
		return;
	}
	memcpy(job->addrs, a, n * sizeof(*a));
	job->naddrs = n;
	job->next = 0;
	job->resolved = true;
	next_server(job);
}

static void
start_resolve(struct smtp_job *job)
{
	if (job->resolved) {
		/* Resolved already (a cached connection failed later): go on. */
		next_server(job);
		return;
	}
	job->res = smtp_resolve_start(&job->nh, on_resolved, job);
}

/* ------------------------------------------------------------------ */
/* Starting.                                                          */

/* scan - 8-bit bytes in the header, in the body */
static int
scan(struct smtp_request *rq, unsigned *bits, char *why, size_t whylen)
{
	char	buf[65536];
	const struct {
		off_t	off;
		uint64_t len;
		unsigned bit;
	} part[2] = {
		{rq->hdr_off, rq->hdr_len, SMTP_8BIT_HEADER},
		{rq->body_off, rq->body_len, SMTP_8BIT_BODY},
	};

	*bits = 0;
	for (int p = 0; p < 2; p++) {
		for (uint64_t pos = 0; pos < part[p].len;) {
			size_t	n = part[p].len - pos < sizeof(buf)
			    ? (size_t) (part[p].len - pos) : sizeof(buf);
			ssize_t	k = pread(rq->fd, buf, n, part[p].off + (off_t) pos);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				(void) str_fmt(why, whylen, "error reading the queue "
					       "file: %s", k ? strerror(errno)
					       : "it ends early");
				return -1;
			}
			if (smtp_8bit_scan(buf, (size_t) k)) {
				*bits |= part[p].bit;
				break;
			}
			pos += (uint64_t) k;
		}
	}
	return 0;
}

void
smtp_deliver(struct smtp_request *rq)
{
	struct smtp_job *job = xcalloc(1, sizeof(*job));
	char	why[SMTP_REASON_MAX];
	int	r;

	job->rq = rq;
	job->start_ms = ev_now(smtp_loop);
	job->next_job = jobs;
	if (jobs)
		jobs->prev = job;
	jobs = job;
	njobs++;
	rq->site_dsn[0] = rq->site_why[0] = '\0';

	if (smtp_nexthop_parse(rq->nexthop, smtp_default_port, &job->nh, why,
			       sizeof(why)) < 0) {
		fail_all(job, 4, "4.3.5", why);
		return;
	}
	if (smtp_tls_policy_for(&job->nh, &job->sc.tls, why, sizeof(why)) < 0) {
		fail_all(job, 4, "4.7.5", why);
		return;
	}
	if (cfg->smtp_sasl_auth_enable) {
		r = smtp_sasl_lookup(&job->nh, job->sc.sasl_user, sizeof(job->sc.sasl_user),
				     job->sc.sasl_pass, sizeof(job->sc.sasl_pass),
				     why, sizeof(why));
		if (r < 0) {
			fail_all(job, 4, "4.7.0", why);
			return;
		}
		job->sc.proto.sasl = r == 1;
		job->sc.proto.sasl_plaintext_ok = !config_list_contains(
			cfg->smtp_sasl_security_options, "noplaintext");
		job->sc.proto.sasl_tls_plaintext_ok = !config_list_contains(
			cfg->smtp_sasl_tls_security_options, "noplaintext");
	}
	/* Wrapper mode is TLS or nothing: at least encrypt. */
	if ((job->sc.wrapper = cfg->smtp_tls_wrappermode) && job->sc.tls.level < SMTP_TLS_ENCRYPT)
		job->sc.tls.level = SMTP_TLS_ENCRYPT;
	job->sc.proto.skip_5xx_greeting = cfg->smtp_skip_5xx_greeting;
	job->sc.proto.may_convert_8bit = !cfg->disable_mime_output_conversion;
	(void) str_fmt(job->sc.key, sizeof(job->sc.key), "%s/%s/%s/%s", rq->transport,
		       job->nh.key, smtp_tls_level_name(job->sc.tls.level),
		       job->sc.sasl_user);
	if (scan(rq, &job->bits, why, sizeof(why)) < 0) {
		log_warn("%s: %s", rq->qid, why);
		fail_all(job, 4, "4.3.0", why);
		return;
	}
	if ((job->sess = smtp_cache_take(job->sc.key)) != NULL) {
		smtp_session_begin(job->sess, rq, job->bits, on_outcome, job);
		return;
	}
	start_resolve(job);
}
