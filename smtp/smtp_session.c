/*
 * NAME
 *	smtp_session - one connection to one SMTP server
 * SYNOPSIS
 *	#include "smtp.h"
 *
 *	s = smtp_session_open(&addr, &sconf, owner_cb, owner);
 *	smtp_session_begin(s, rq, bits, owner_cb, owner);  // a transaction
 *	... owner_cb(owner, s, &outcome) when it ends ...
 *	smtp_session_release(s);	// keep it (cache) or say QUIT
 * DESCRIPTION
 *	A session connects (non-blocking, smtp_connect_timeout), then
 *	runs smtp_proto.c's conversation over the shared buffered I/O
 *	object (lib/tls/tlsio.h), in the clear or over TLS after STARTTLS,
 *	with one deadline per reply awaited, named as in Postfix
 *	(smtp_helo_timeout for the greeting, EHLO, HELO and AUTH;
 *	smtp_starttls_timeout for STARTTLS and the handshake;
 *	smtp_mail_timeout, smtp_rcpt_timeout, smtp_data_init_timeout,
 *	smtp_data_done_timeout, smtp_rset_timeout, smtp_quit_timeout).
 *	While the message goes out, smtp_data_xfer_timeout bounds each
 *	stretch without progress.
 *
 *	The message is read from the queue file (pread on the descriptor
 *	qmgr passed, at the offsets of its header and body records) in
 *	chunks of SMTP_CHUNK bytes, encoded (smtp_content.c, and
 *	smtp_mime.c for a 7-bit server) into the output buffer and
 *	written as the socket takes it, so a message is never held whole
 *	in memory: at most SMTP_OUT_HIGH bytes wait.  A queue file that
 *	ends early, or cannot be read, aborts the connection without the
 *	end of data, so the server drops the partial message.
 *
 *	The owner's callback runs once per transaction (and once when a
 *	connection fails before its transaction ended), after the
 *	recipients got their results from this server; struct
 *	smtp_outcome says how far the server got.  The session then
 *	belongs to nobody until smtp_session_begin() gives it another
 *	transaction or smtp_session_release() ends it: a good
 *	connection goes to the cache (smtp_cache.c), a broken one is
 *	closed (after QUIT when the conversation still stands).
 *
 *	TLS: the policy's reference names (smtp_tls_policy.c) go to the
 *	handshake, with SNI when the server is named by a host name;
 *	verify and secure fail the handshake unless the chain verifies
 *	and a name matches.  One log line per handshake, Postfix's:
 *	"Verified TLS connection established to mx.example.org[192.0.2.1]:25:
 *	TLSv1.3 with cipher ...", prefixed with the queue ID of the
 *	message that opened the connection ("reused" instead of
 *	"established" for a resumed session).  The TLS session of each
 *	server (its address, port and the destination's key) is kept in
 *	memory, at most SMTP_TLS_SESSIONS of them (the oldest makes
 *	room), and offered for resumption on the next connection, which
 *	spares a full handshake; it is taken after the server's first
 *	reply inside TLS, when a TLS 1.3 ticket has arrived.  With
 *	smtp_tls_wrappermode (a relay on port 465) the handshake starts
 *	as soon as the connection is made, and the conversation, greeting
 *	included, runs inside TLS.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"
#include "mem.h"
#include "params.h"
#include "smtp_session.h"
#include "str.h"

#define SMTP_CHUNK	16384			/* bytes read from the file at once */
#define SMTP_OUT_HIGH	(64 * 1024)		/* encode no more while this waits */
#define SMTP_LINE_MAX	2048			/* reply line kept (longer: cut) */

struct ev_loop *smtp_loop;
SSL_CTX *smtp_tls_ctx;			/* level may */
SSL_CTX *smtp_tls_ctx_mandatory;	/* encrypt, verify, secure */
unsigned smtp_session_count;

static uint64_t
timeout_ms(enum smtp_expect x)
{
	uint64_t s;

	switch (x) {
	case SMTP_X_STARTTLS:
		s = cfg->smtp_starttls_timeout;
		break;
	case SMTP_X_MAIL:
		s = cfg->smtp_mail_timeout;
		break;
	case SMTP_X_RCPT:
		s = cfg->smtp_rcpt_timeout;
		break;
	case SMTP_X_DATA:
		s = cfg->smtp_data_init_timeout;
		break;
	case SMTP_X_DOT:
		s = cfg->smtp_data_done_timeout;
		break;
	case SMTP_X_RSET:
		s = cfg->smtp_rset_timeout;
		break;
	case SMTP_X_QUIT:
		s = cfg->smtp_quit_timeout;
		break;
	default:
		s = cfg->smtp_helo_timeout;
	}
	return s * 1000;
}

static void session_free(struct smtp_session *s);
static void on_io(struct tlsio *io, unsigned events, void *ctx);

/*
 * report - tell the owner what this transaction's server did.  With
 * closing, the session goes away when the callback returns (the owner
 * must not touch it); otherwise the owner begins another transaction
 * on it or releases it.
 */
static void
report(struct smtp_session *s, bool closing)
{
	struct smtp_outcome o;
	smtp_session_cb *cb = s->cb;
	void   *owner = s->owner;

	s->proto.finished = NULL;
	if (cb == NULL)
		return;
	memset(&o, 0, sizeof(o));
	o.greeted = s->proto.greeted;
	o.reused = s->reused;
	o.answered = s->tx_replies > 0;
	o.tls_may_failed = s->tls_may_failed;
	o.closing = closing;
	o.conn_ms = s->tx_start_ms ? s->tx_start_ms - s->begin_ms : ev_now(smtp_loop) - s->begin_ms;
	o.xfer_ms = s->tx_start_ms ? ev_now(smtp_loop) - s->tx_start_ms : 0;
	(void) str_copy(o.site_dsn, sizeof(o.site_dsn), s->proto.site_dsn);
	(void) str_copy(o.site_why, sizeof(o.site_why), s->proto.site_why);
	s->proto.site_dsn[0] = s->proto.site_why[0] = '\0';
	s->cb = NULL;
	s->owner = NULL;
	cb(owner, s, &o);
}

/* arm - the deadline for what the session waits for now */
static void
arm(struct smtp_session *s)
{
	bool	any;
	enum smtp_expect x = smtp_proto_waiting(&s->proto, &any);

	if (s->state == SMTP_S_IDLE)
		return;
	if (s->state == SMTP_S_CONTENT)
		ev_timer_start(smtp_loop, &s->timer, cfg->smtp_data_xfer_timeout * 1000);
	else if (any)
		ev_timer_start(smtp_loop, &s->timer, timeout_ms(x));
	else
		ev_timer_stop(smtp_loop, &s->timer);
}

/* close_now - the connection is over: tell the owner, free */
static void
close_now(struct smtp_session *s)
{
	if (s->proto.finished != NULL || (s->cb != NULL && s->proto.rq != NULL)) {
		if (s->proto.rq != NULL)
			smtp_proto_fail(&s->proto, SMTP_FAIL_LOST, "4.4.2", "connection closed");
		report(s, true);
	}
	session_free(s);
}

/* fail - a timeout, a lost connection, a broken reply: end it */
static void
fail(struct smtp_session *s, enum smtp_fail how, const char *dsn, const char *why)
{
	smtp_proto_fail(&s->proto, how, dsn, why);
	s->state = SMTP_S_CLOSING;
	if (s->proto.finished != NULL)
		report(s, true);
	session_free(s);
}

static void
fail_phase(struct smtp_session *s, enum smtp_fail how)
{
	char	why[SMTP_REASON_MAX];
	bool	any;
	enum smtp_expect x = smtp_proto_waiting(&s->proto, &any);
	const char *phase = s->state == SMTP_S_CONTENT ? "sending message body"
	    : s->state == SMTP_S_TLS ? "performing the TLS handshake"
	    : smtp_expect_phase(x);

	(void) str_fmt(why, sizeof(why), how == SMTP_FAIL_TIMEOUT
		       ? "conversation with %s timed out while %s"
		       : "lost connection with %s while %s", s->peer, phase);
	fail(s, how, "4.4.2", why);
}

/* flush - write what is queued; false when the session is gone */
static bool
flush(struct smtp_session *s)
{
	if (s->io.out.len > 0 && tlsio_flush(&s->io) < 0) {
		fail_phase(s, SMTP_FAIL_LOST);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* The message.                                                       */

static int
read_part(struct smtp_session *s, off_t base, uint64_t len, struct buf *out)
{
	char	chunk[SMTP_CHUNK];
	uint64_t left = len - s->c_pos;
	size_t	n = left < sizeof(chunk) ? (size_t) left : sizeof(chunk);
	ssize_t	k;

	do
		k = pread(s->proto.rq->fd, chunk, n, base + (off_t) s->c_pos);
	while (k < 0 && errno == EINTR);
	if (k <= 0) {
		(void) str_fmt(s->c_err, sizeof(s->c_err), "%s", k == 0
			       ? "queue file ends early" : strerror(errno));
		return -1;
	}
	if (s->proto.convert)
		smtp_mime_feed(&s->mime, chunk, (size_t) k, &s->enc, out);
	else
		smtp_enc_feed(&s->enc, chunk, (size_t) k, out);
	s->c_pos += (uint64_t) k;
	return 0;
}

/* pump - encode more of the message while the output has room */
static bool
pump(struct smtp_session *s)
{
	struct smtp_request *rq = s->proto.rq;
	struct buf *out = &s->io.out;

	while (s->state == SMTP_S_CONTENT && out->len < SMTP_OUT_HIGH) {
		if (s->c_part == 0 && s->c_pos >= rq->hdr_len) {
			s->c_part = 1;
			s->c_pos = 0;
			if (s->proto.convert)
				smtp_mime_feed(&s->mime, "\n", 1, &s->enc, out);
			else
				smtp_enc_feed(&s->enc, "\n", 1, out);
		}
		if (s->c_part == 1 && s->c_pos >= rq->body_len) {
			if (s->proto.convert)
				smtp_mime_end(&s->mime, &s->enc, out);
			smtp_enc_end(&s->enc, out);
			smtp_proto_content_done(&s->proto);
			s->state = SMTP_S_TALK;
			break;
		}
		if (read_part(s, s->c_part == 0 ? rq->hdr_off : rq->body_off,
			      s->c_part == 0 ? rq->hdr_len : rq->body_len, out) < 0) {
			char	why[SMTP_REASON_MAX];

			log_warn("%s: cannot read the queue file: %s", rq->qid, s->c_err);
			(void) str_fmt(why, sizeof(why), "error reading the queue file: %s",
				       s->c_err);
			/* No end of data: the server must not take a part. */
			fail(s, SMTP_FAIL_PROTO, "4.3.0", why);
			return false;
		}
	}
	if (!flush(s))
		return false;
	arm(s);
	return true;
}

static bool
start_content(struct smtp_session *s)
{
	s->state = SMTP_S_CONTENT;
	s->c_part = 0;
	s->c_pos = 0;
	smtp_enc_init(&s->enc, (unsigned) cfg->smtp_line_length_limit);
	if (s->proto.convert && !s->mime_active) {
		smtp_mime_init(&s->mime);
		s->mime_active = true;
	} else if (s->proto.convert)
		smtp_mime_reset(&s->mime);
	return pump(s);
}

/* ------------------------------------------------------------------ */
/* TLS.                                                               */

#define SMTP_TLS_SESSIONS	256

static struct {
	char	key[SMTP_KEY_MAX + 72 + SMTP_PEER_MAX];
	SSL_SESSION *sess;
	uint64_t used;
} tls_sessions[SMTP_TLS_SESSIONS];

static void
tls_session_key(const struct smtp_session *s, char *key, size_t size)
{
	(void) str_fmt(key, size, "%s %s", s->conf.key, s->relay);
}

/* tls_session_find - the kept session for this server, or NULL */
static SSL_SESSION *
tls_session_find(const struct smtp_session *s)
{
	char	key[sizeof(tls_sessions[0].key)];

	tls_session_key(s, key, sizeof(key));
	for (size_t i = 0; i < SMTP_TLS_SESSIONS; i++)
		if (tls_sessions[i].sess != NULL && str_eq(tls_sessions[i].key, key)) {
			if (!SSL_SESSION_is_resumable(tls_sessions[i].sess))
				return NULL;
			tls_sessions[i].used = ev_now(smtp_loop);
			return tls_sessions[i].sess;
		}
	return NULL;
}

/* tls_session_keep - remember the session of this connection */
static void
tls_session_keep(struct smtp_session *s)
{
	char	key[sizeof(tls_sessions[0].key)];
	size_t	slot = 0;
	SSL_SESSION *sess;

	if ((sess = SSL_get1_session(tlsio_ssl(&s->io))) == NULL)
		return;
	tls_session_key(s, key, sizeof(key));
	for (size_t i = 0; i < SMTP_TLS_SESSIONS; i++) {
		if (tls_sessions[i].sess != NULL && str_eq(tls_sessions[i].key, key)) {
			slot = i;
			break;
		}
		if (tls_sessions[i].used < tls_sessions[slot].used)
			slot = i;
	}
	if (tls_sessions[slot].sess != NULL)
		SSL_SESSION_free(tls_sessions[slot].sess);
	(void) str_copy(tls_sessions[slot].key, sizeof(tls_sessions[0].key), key);
	tls_sessions[slot].sess = sess;
	tls_sessions[slot].used = ev_now(smtp_loop) + 1;
}

static void
tls_log(struct smtp_session *s)
{
	char	summary[256];
	const char *trust;

	tlsio_summary(&s->io, summary, sizeof(summary));
	if (!tlsio_peer_cert(&s->io))
		trust = "Anonymous";
	else if (tlsio_verified(&s->io))
		trust = "Verified";
	else
		trust = "Untrusted";
	(void) str_fmt(s->tls_info, sizeof(s->tls_info), "%s", summary);
	log_info("%s: %s TLS connection %s to %s: %s", s->qid, trust,
		 tlsio_reused(&s->io) ? "reused" : "established", s->relay, summary);
}

static void
tls_failed(struct smtp_session *s, const char *err)
{
	char	why[SMTP_REASON_MAX];
	const char *verr = tlsio_verify_error(&s->io);

	if (s->conf.tls.level == SMTP_TLS_MAY) {
		/* Opportunistic: the owner retries this server in the clear. */
		s->tls_may_failed = true;
		(void) str_fmt(why, sizeof(why), "TLS handshake with %s failed: %s",
			       s->peer, err);
		log_info("%s: %s; trying again without TLS", s->qid, why);
	} else if (verr != NULL && *verr != '\0' && s->conf.tls.level >= SMTP_TLS_VERIFY)
		(void) str_fmt(why, sizeof(why), "Server certificate not verified: %s "
			       "(TLS security level %s, server %s)", verr,
			       smtp_tls_level_name(s->conf.tls.level), s->relay);
	else
		(void) str_fmt(why, sizeof(why), "TLS handshake with %s failed: %s "
			       "(TLS security level %s)", s->peer, err,
			       smtp_tls_level_name(s->conf.tls.level));
	if (!s->tls_may_failed)
		log_info("%s: %s", s->qid, why);
	smtp_proto_tls_failed(&s->proto, "4.7.5", why);
	s->state = SMTP_S_CLOSING;
	if (s->proto.finished != NULL)
		report(s, true);
	session_free(s);
}

/*
 * start_tls - the handshake: after the server's 220 to STARTTLS, or
 * from the first byte in wrapper mode (smtp_tls_wrappermode)
 */
static bool
start_tls(struct smtp_session *s)
{
	struct tlsio_tlsa tlsa[SMTP_TLSA_MAX];
	const struct smtp_dane *dane = s->conf.dane;
	struct tlsio_peer peer = {
		.sni = s->conf.sni[0] ? s->conf.sni : NULL,
		.names = s->conf.names,
		.nnames = s->conf.nnames,
		.verify = s->conf.tls.level >= SMTP_TLS_VERIFY,
		/* No resumption with DANE: a session carries no TLSA match. */
		.session = dane != NULL ? NULL : tls_session_find(s),
	};

	if (dane != NULL) {
		for (size_t i = 0; i < dane->n && i < SMTP_TLSA_MAX; i++)
			tlsa[i] = (struct tlsio_tlsa) {
				.usage = dane->r[i].usage, .selector = dane->r[i].selector,
				.mtype = dane->r[i].mtype, .data = dane->r[i].data,
				.len = dane->r[i].len,
			};
		peer.tlsa = tlsa;
		peer.ntlsa = dane->n < SMTP_TLSA_MAX ? dane->n : SMTP_TLSA_MAX;
		peer.dane_base = s->addr.host;
	}
	SSL_CTX *ctx = s->conf.tls.level >= SMTP_TLS_ENCRYPT ? smtp_tls_ctx_mandatory
	    : smtp_tls_ctx;

	s->state = SMTP_S_TLS;
	if (ctx == NULL || (s->conf.wrapper ? tlsio_wrap(&s->io, ctx, &peer)
			    : tlsio_starttls(&s->io, ctx, &peer, NULL)) < 0) {
		tls_failed(s, ctx ? tlsio_error(&s->io) : "no TLS client context");
		return false;
	}
	ev_timer_start(smtp_loop, &s->timer, cfg->smtp_starttls_timeout * 1000);
	return flush(s);
}

/* ------------------------------------------------------------------ */
/* Replies.                                                           */

/* act - what the conversation asks for after a reply; false: gone */
static bool
act(struct smtp_session *s, enum smtp_action a)
{
	if (s->proto.tx_open && s->tx_start_ms == 0)
		s->tx_start_ms = ev_now(smtp_loop);
	switch (a) {
	case SMTP_A_WAIT:
		break;
	case SMTP_A_TLS:
		return start_tls(s);
	case SMTP_A_CONTENT:
		if (!start_content(s))
			return false;
		break;
	case SMTP_A_READY:
		break;
	case SMTP_A_CLOSE:
		s->state = SMTP_S_CLOSING;
		if (s->proto.finished != NULL)
			report(s, true);
		session_free(s);
		return false;
	}
	if (!flush(s))
		return false;
	arm(s);
	if (s->proto.finished != NULL) {
		report(s, false);	/* may begin another transaction on s */
		return false;		/* the caller must not touch s now */
	}
	return true;
}

static bool
reply_line(struct smtp_session *s, const struct lb_line *l)
{
	int	k;
	enum smtp_action a;

	if (s->skip_rest) {		/* the tail of an over-long line */
		s->skip_rest = l->end == LB_END_NONE;
		return true;
	}
	if (l->end == LB_END_NONE)
		s->skip_rest = true;
	k = smtp_reply_add(&s->reply, l->data, l->len);
	if (k == 0)
		return true;
	if (k < 0) {
		char	why[SMTP_REASON_MAX];

		(void) str_fmt(why, sizeof(why), "host %s sent a malformed reply: %s",
			       s->peer, s->reply.error);
		fail(s, SMTP_FAIL_PROTO, "4.5.0", why);
		return false;
	}
	if (s->proto.rq != NULL)
		s->tx_replies++;
	if (s->tls_keep) {		/* the first reply inside TLS */
		s->tls_keep = false;
		if (!tlsio_reused(&s->io) && s->conf.dane == NULL)
			tls_session_keep(s);
	}
	a = smtp_proto_reply(&s->proto, &s->reply);
	smtp_reply_reset(&s->reply);
	return act(s, a);
}

static void
on_io(struct tlsio *io, unsigned events, void *ctx)
{
	struct smtp_session *s = ctx;
	struct lb_line l;

	(void) io;
	if (events & TLSIO_TLS_FAIL) {
		tls_failed(s, tlsio_error(&s->io));
		return;
	}
	if (events & TLSIO_TLS_UP) {
		if (s->conf.dane != NULL && !tlsio_verified(&s->io)) {
			tls_failed(s, "the server's chain matched no TLSA record");
			return;
		}
		s->state = SMTP_S_TALK;
		tls_log(s);
		s->tls_keep = true;
		if (s->conf.wrapper)
			s->proto.tls_active = true;	/* the greeting comes next */
		else
			smtp_proto_tls_done(&s->proto);
		if (!flush(s))
			return;
		arm(s);
	}
	if (events & TLSIO_WERROR) {
		fail_phase(s, SMTP_FAIL_LOST);
		return;
	}
	if ((events & TLSIO_DRAINED) && s->state == SMTP_S_CONTENT && !pump(s))
		return;
	if (events & (TLSIO_IN | TLSIO_EOF)) {
		while (s->state != SMTP_S_TLS && tlsio_get(&s->io, &l) == LB_LINE)
			if (!reply_line(s, &l))
				return;
	}
	if (events & TLSIO_EOF) {
		bool	any;
		enum smtp_expect x = smtp_proto_waiting(&s->proto, &any);

		if (s->state == SMTP_S_IDLE || (any && x == SMTP_X_QUIT) || s->state == SMTP_S_CLOSING) {
			close_now(s);
			return;
		}
		fail_phase(s, SMTP_FAIL_LOST);
		return;
	}
	tlsio_want_input(&s->io, true);
}

/* on_kick - lines that were buffered when a transaction began */
static void
on_kick(struct ev_loop *loop, struct ev_timer *t)
{
	struct smtp_session *s = t->data;

	(void) loop;
	on_io(&s->io, TLSIO_IN, s);
}

static void
on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct smtp_session *s = t->data;
	char	why[SMTP_REASON_MAX];

	(void) loop;
	switch (s->state) {
	case SMTP_S_CONNECT:
		if (s->connect_err == 0)
			s->connect_err = ETIMEDOUT;
		(void) str_fmt(why, sizeof(why), "connect to %s: %s", s->relay,
			       s->connect_err == ETIMEDOUT ? "Connection timed out"
			       : strerror(s->connect_err));
		smtp_proto_fail(&s->proto, SMTP_FAIL_LOST, "4.4.1", why);
		if (s->proto.finished != NULL)
			report(s, true);
		session_free(s);
		return;
	case SMTP_S_IDLE:
		smtp_cache_expired(s);
		return;
	case SMTP_S_CLOSING:
		session_free(s);
		return;
	default:
		fail_phase(s, SMTP_FAIL_TIMEOUT);
	}
}

/* ------------------------------------------------------------------ */
/* Connecting.                                                        */

static void
connected(struct smtp_session *s)
{
	ev_io_stop(smtp_loop, &s->cio);
	s->state = SMTP_S_TALK;
	tlsio_init(&s->io, smtp_loop, s->fd, s->fd, SMTP_LINE_MAX, SMTP_OUT_MAX, on_io, s);
	s->io_ready = true;
	smtp_proto_init(&s->proto, &s->conf.proto, s->peer, &s->io.out);
	if (s->pending_rq != NULL) {
		(void) smtp_proto_begin(&s->proto, s->pending_rq, s->pending_bits);
		s->pending_rq = NULL;
	}
	if (s->conf.wrapper && !start_tls(s))
		return;
	arm(s);
	tlsio_want_input(&s->io, true);
}

static void
on_connect(struct ev_loop *loop, struct ev_io *w, unsigned revents)
{
	struct smtp_session *s = w->data;
	int	err = 0;
	socklen_t len = sizeof(err);

	(void) loop;
	(void) revents;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		s->connect_err = err;
		ev_io_stop(smtp_loop, &s->cio);
		ev_timer_start(smtp_loop, &s->timer, 0);
		return;
	}
	connected(s);
}

static void
format_peer(struct smtp_session *s)
{
	char	ip[INET6_ADDRSTRLEN];

	if (inet_ntop(s->addr.addr.family, s->addr.addr.a, ip, sizeof(ip)) == NULL)
		(void) str_copy(ip, sizeof(ip), "?");
	(void) str_fmt(s->peer, sizeof(s->peer), "%s[%s]", s->addr.host, ip);
	(void) str_fmt(s->relay, sizeof(s->relay), "%s[%s]:%u", s->addr.host, ip,
		       s->addr.port);
}

struct smtp_session *
smtp_session_open(const struct smtp_addr *a, const struct smtp_session_conf *conf,
		  struct smtp_request *rq, unsigned bits, smtp_session_cb *cb,
		  void *owner)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sl;
	int	one = 1;

	s->addr = *a;
	s->conf = *conf;
	if (conf->dane != NULL) {
		struct smtp_dane *d = xmalloc(sizeof(*d));

		memcpy(d, conf->dane, sizeof(*d));
		s->conf.dane = d;
	}
	for (size_t i = 0; i < s->conf.nnames; i++)	/* into our own copy */
		s->conf.names[i] = s->conf.name_store + (conf->names[i] - conf->name_store);
	s->conf.proto.sasl_user = s->conf.sasl_user;
	s->conf.proto.sasl_pass = s->conf.sasl_pass;
	s->conf.proto.helo_name = cfg->smtp_helo_name;
	s->conf.proto.tls_level = s->conf.tls.level;
	format_peer(s);
	(void) str_copy(s->qid, sizeof(s->qid), rq->qid);
	s->fd = -1;
	s->cb = cb;
	s->owner = owner;
	s->pending_rq = rq;
	s->pending_bits = bits;
	s->state = SMTP_S_CONNECT;
	s->begin_ms = ev_now(smtp_loop);
	s->created_ms = s->begin_ms;
	smtp_reply_init(&s->reply, SMTP_REPLY_LINES_MAX, SMTP_REPLY_MAX);
	ev_timer_init(&s->timer, on_timer, s);
	ev_timer_init(&s->kick, on_kick, s);
	ev_io_init(&s->cio, -1, on_connect, s);
	/* The conversation exists from the start, so failures have a place. */
	buf_init(&s->scratch, 64);
	smtp_proto_init(&s->proto, &s->conf.proto, s->peer, &s->scratch);
	s->proto.rq = rq;
	smtp_session_count++;

	memset(&ss, 0, sizeof(ss));
	if (a->addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t) a->port);
		memcpy(&sin->sin_addr, a->addr.a, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t) a->port);
		memcpy(&sin6->sin6_addr, a->addr.a, 16);
		sl = sizeof(*sin6);
	}
	s->fd = socket(a->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		s->connect_err = errno;
		ev_timer_start(smtp_loop, &s->timer, 0);
		return s;
	}
	(void) setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, (struct sockaddr *) &ss, sl) < 0 && errno != EINPROGRESS) {
		s->connect_err = errno;
		ev_timer_start(smtp_loop, &s->timer, 0);
		return s;
	}
	ev_io_init(&s->cio, s->fd, on_connect, s);
	ev_io_start(smtp_loop, &s->cio, EV_WRITE);
	ev_timer_start(smtp_loop, &s->timer, cfg->smtp_connect_timeout * 1000);
	return s;
}

void
smtp_session_begin(struct smtp_session *s, struct smtp_request *rq, unsigned bits,
		   smtp_session_cb *cb, void *owner)
{
	s->cb = cb;
	s->owner = owner;
	s->reused = true;
	s->tx_replies = 0;
	s->tx_start_ms = 0;
	s->begin_ms = ev_now(smtp_loop);
	s->tls_may_failed = false;
	s->state = SMTP_S_TALK;
	(void) str_copy(s->qid, sizeof(s->qid), rq->qid);
	if (!act(s, smtp_proto_begin(&s->proto, rq, bits)))
		return;
	tlsio_want_input(&s->io, true);
	if (tlsio_pending(&s->io) > 0)
		ev_timer_start(smtp_loop, &s->kick, 0);
}

bool
smtp_session_reusable(const struct smtp_session *s)
{
	uint64_t age = ev_now(smtp_loop) - s->created_ms;

	if (!s->io_ready || s->proto.broken || s->state == SMTP_S_CLOSING)
		return false;
	if (age >= cfg->smtp_connection_reuse_time_limit * 1000)
		return false;
	if (cfg->smtp_connection_reuse_count_limit > 0
	    && s->proto.transactions >= (unsigned) cfg->smtp_connection_reuse_count_limit)
		return false;
	return true;
}

void
smtp_session_idle(struct smtp_session *s)
{
	s->state = SMTP_S_IDLE;
	ev_timer_start(smtp_loop, &s->timer, cfg->smtp_connection_cache_time_limit * 1000);
	tlsio_want_input(&s->io, true);
	if (tlsio_pending(&s->io) > 0)
		ev_timer_start(smtp_loop, &s->kick, 0);
}

void
smtp_session_quit(struct smtp_session *s)
{
	s->cb = NULL;
	s->owner = NULL;
	if (!s->io_ready || s->proto.broken) {
		session_free(s);
		return;
	}
	/* QUIT, then close when it is answered (or after smtp_quit_timeout). */
	smtp_proto_quit(&s->proto);
	s->state = SMTP_S_CLOSING;
	if (!flush(s))
		return;
	ev_timer_start(smtp_loop, &s->timer, cfg->smtp_quit_timeout * 1000);
	tlsio_want_input(&s->io, true);
}

static void
session_free(struct smtp_session *s)
{
	smtp_cache_forget(s);
	ev_timer_stop(smtp_loop, &s->timer);
	ev_timer_stop(smtp_loop, &s->kick);
	if (s->cio.fd >= 0)
		ev_io_stop(smtp_loop, &s->cio);
	if (s->io_ready)
		tlsio_free(&s->io);
	if (s->fd >= 0)
		close(s->fd);
	smtp_reply_free(&s->reply);
	buf_free(&s->scratch);
	if (s->mime_active)
		smtp_mime_free(&s->mime);
	OPENSSL_cleanse(s->conf.sasl_pass, sizeof(s->conf.sasl_pass));
	free((void *) s->conf.dane);
	free(s);
	smtp_session_count--;
}
