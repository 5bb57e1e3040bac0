/*
 * NAME
 *	smtp_proto - the client side of an SMTP conversation, as logic
 * SYNOPSIS
 *	#include "smtp.h"
 *
 *	smtp_proto_init(&p, &conf, "mx.example.org[192.0.2.1]", &out);
 *	smtp_proto_begin(&p, rq, bits);	// the transaction to run
 *	for each complete reply r read from the server:
 *		switch (smtp_proto_reply(&p, &r)) {
 *		case SMTP_A_WAIT:    write out, read on
 *		case SMTP_A_TLS:     handshake, then smtp_proto_tls_done()
 *		case SMTP_A_CONTENT: write the message, smtp_proto_content_done()
 *		case SMTP_A_READY:   idle: reuse for the next transaction
 *		case SMTP_A_CLOSE:   write out (QUIT), close
 *		}
 *	smtp_proto_fail(&p, SMTP_FAIL_TIMEOUT, "4.4.2", why);
 * DESCRIPTION
 *	No I/O here: replies come in, commands go out into p->out, and
 *	the outcome of each recipient is written into the request
 *	(struct smtp_rcpt), so the whole conversation can be tested
 *	without a socket (tests/unit/smtp_proto_test.c).
 *
 *	The replies outstanding are a queue of what each answers
 *	(p->expect), so PIPELINING (RFC 2920) is the natural case: with
 *	it MAIL, every RCPT and DATA go out in one write and their
 *	replies are matched in order; without it each command waits for
 *	the reply before it.
 *
 *	Greeting: 2xx goes on; 4xx, and 5xx with smtp_skip_5xx_greeting,
 *	fail the server softly (the recipients are kept for the next
 *	server); a 5xx otherwise bounces them.  EHLO, and HELO when EHLO
 *	is refused with 5xx.  STARTTLS when the TLS level asks for it
 *	(smtp_tls_policy.c): "may" uses it when offered and goes on in
 *	plaintext when the server refuses it; encrypt, verify and secure
 *	fail the server softly without it (4.7.4), and nothing of the
 *	message is sent before TLS is up.  After TLS, EHLO again and
 *	every feature read anew (RFC 3207 section 4.2).  AUTH PLAIN
 *	(preferred) or LOGIN when credentials exist and the server
 *	offers one (smtp_sasl.c), as smtp_sasl_security_options (in the
 *	clear: by default never) and smtp_sasl_tls_security_options
 *	(inside TLS: by default yes) allow; a refused AUTH fails the
 *	server softly.
 *
 *	The transaction: SIZE= when offered (a message larger than the
 *	server's SIZE bounces without being sent, 5.3.4); BODY=8BITMIME
 *	for 8-bit content when offered, else the message is converted
 *	to quoted-printable (smtp_mime.c) or, when that is not possible
 *	(8-bit header text), the recipients are kept for another server
 *	and finally deferred (4.6.3); SMTPUTF8 when offered and the
 *	sender asked for it, and a bounce with 5.6.7 when an address
 *	needs it and the server does not offer it; RET=, ENVID=,
 *	NOTIFY= and ORCPT= when the server offers DSN (RFC 3461).
 *	Each RCPT reply decides its recipient alone: 2xx accepted, 4xx
 *	kept, 5xx bounced.  DATA goes only when a recipient was accepted
 *	(with PIPELINING it goes anyway and a 354 without recipients is
 *	answered with an empty message's end, as RFC 2920 allows).  The
 *	reply to the end of data decides every accepted recipient.  A
 *	transaction that ended without a reply to the end of data is
 *	closed with RSET before the connection is used again.
 *
 *	smtp_proto_fail() ends the conversation on a timeout, a lost
 *	connection or a protocol error: recipients not yet decided are
 *	kept, except after the end of data was sent, when they are
 *	deferred (the server may have taken the message; another
 *	server would deliver it twice).
 *
 *	Reasons read as Postfix's: "host mx.example.org[192.0.2.1]
 *	said: 550 5.1.1 <u@example.org>: Recipient address rejected
 *	(in reply to RCPT TO command)".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "mem.h"
#include "num.h"
#include "smtp.h"
#include "str.h"
#include "xtext.h"

static const char *const expect_names[] = {
	[SMTP_X_GREET] = "initial server greeting",
	[SMTP_X_EHLO] = "EHLO",
	[SMTP_X_HELO] = "HELO",
	[SMTP_X_STARTTLS] = "STARTTLS",
	[SMTP_X_AUTH] = "AUTH",
	[SMTP_X_AUTH_USER] = "AUTH",
	[SMTP_X_AUTH_PASS] = "AUTH",
	[SMTP_X_MAIL] = "MAIL FROM",
	[SMTP_X_RCPT] = "RCPT TO",
	[SMTP_X_DATA] = "DATA",
	[SMTP_X_DOT] = "end of DATA",
	[SMTP_X_RSET] = "RSET",
	[SMTP_X_QUIT] = "QUIT",
};

const char *
smtp_expect_name(enum smtp_expect x)
{
	return expect_names[x];
}

/* smtp_expect_phase - "while receiving ..." text for failures */
const char *
smtp_expect_phase(enum smtp_expect x)
{
	switch (x) {
	case SMTP_X_GREET:
		return "receiving the initial server greeting";
	case SMTP_X_EHLO:
	case SMTP_X_HELO:
		return "performing the EHLO handshake";
	case SMTP_X_STARTTLS:
		return "sending STARTTLS";
	case SMTP_X_AUTH:
	case SMTP_X_AUTH_USER:
	case SMTP_X_AUTH_PASS:
		return "performing SASL authentication";
	case SMTP_X_MAIL:
		return "sending MAIL FROM";
	case SMTP_X_RCPT:
		return "sending RCPT TO";
	case SMTP_X_DATA:
		return "sending DATA command";
	case SMTP_X_DOT:
		return "sending end of data -- message may be sent more than once";
	case SMTP_X_RSET:
		return "sending RSET";
	case SMTP_X_QUIT:
		return "sending QUIT";
	}
	return "talking to the server";
}

/* ------------------------------------------------------------------ */
/* Results.                                                           */

void
smtp_rcpt_set(struct smtp_rcpt *r, enum smtp_rstat stat, const char *dsn,
	      const char *reason)
{
	r->stat = stat;
	r->kept = false;
	(void) str_copy(r->dsn, sizeof(r->dsn), dsn);
	free(r->reason);
	r->reason = xstrdup(reason);
}

void
smtp_rcpt_keep(struct smtp_rcpt *r, const char *dsn, const char *reason)
{
	r->kept = true;
	(void) str_copy(r->dsn, sizeof(r->dsn), dsn);
	free(r->reason);
	r->reason = xstrdup(reason);
}

/* printable - the reply text as one printable line */
static void
printable(const char *in, struct buf *out)
{
	for (; *in; in++) {
		unsigned char c = (unsigned char) *in;

		(void) buf_putc(out, c == '\n' ? ' ' : (c < 32 || c > 126) ? '?' : c);
	}
}

void
smtp_reply_dsn(const struct smtp_reply *r, char *dsn, size_t size)
{
	char	cls = (char) ('0' + r->code / 100);

	if (r->dsn[0] != '\0' && r->dsn[0] == cls)
		(void) str_copy(dsn, size, r->dsn);
	else
		(void) str_fmt(dsn, size, "%c.0.0", cls == '2' ? '2' : cls == '4' ? '4' : '5');
}

void
smtp_reply_reason(const struct smtp_reply *r, const char *peer, const char *cmd,
		  char *out, size_t size)
{
	struct buf b;

	buf_init(&b, size > 0 ? size - 1 : 0);
	if (peer != NULL)
		(void) buf_appendf(&b, "host %s said: ", peer);
	(void) buf_appendf(&b, "%d ", r->code);
	if (r->dsn[0] != '\0')
		(void) buf_appendf(&b, "%s ", r->dsn);
	printable(buf_str(&r->text), &b);
	if (cmd != NULL)
		(void) buf_appendf(&b, " (in reply to %s command)", cmd);
	(void) str_copy(out, size, buf_str(&b));
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Commands and expectations.                                         */

static void
expect(struct smtp_proto *p, enum smtp_expect x)
{
	if (p->x_len >= SMTP_EXPECT_MAX)
		log_panic("smtp_proto: more than %d replies outstanding", SMTP_EXPECT_MAX);
	p->expect[(p->x_head + p->x_len) % SMTP_EXPECT_MAX] = x;
	p->x_len++;
}

static void
cmd(struct smtp_proto *p, enum smtp_expect x, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cmd(struct smtp_proto *p, enum smtp_expect x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vappendf(p->out, fmt, ap) < 0 || buf_append(p->out, "\r\n", 2) < 0)
		log_panic("smtp_proto: command buffer full");
	va_end(ap);
	expect(p, x);
}

enum smtp_expect
smtp_proto_waiting(const struct smtp_proto *p, bool *any)
{
	*any = p->x_len > 0;
	return p->x_len ? p->expect[p->x_head] : SMTP_X_QUIT;
}

void
smtp_proto_init(struct smtp_proto *p, const struct smtp_proto_conf *conf,
		const char *peer, struct buf *out)
{
	memset(p, 0, sizeof(*p));
	p->conf = *conf;
	p->peer = peer;
	p->out = out;
	expect(p, SMTP_X_GREET);
}

/* ------------------------------------------------------------------ */
/* Whole-server outcomes.                                             */

/* each_open - the recipients of rq this server still has to decide */
#define each_open(p, i) \
	for (size_t i = 0; (p)->rq && i < (p)->rq->nrcpts; i++) \
		if ((p)->rq->rcpts[i].stat == SMTP_R_TODO && !(p)->rq->rcpts[i].kept)

/* detach - the transaction is over for its request */
static void
detach(struct smtp_proto *p)
{
	if (p->rq != NULL) {
		for (size_t i = 0; i < p->rq->nrcpts; i++) {
			p->rq->rcpts[i].in_tx = false;
			p->rq->rcpts[i].accepted = false;
		}
		p->finished = p->rq;
	}
	p->rq = NULL;
	p->tx_open = false;
	p->mail_ok = false;
	p->naccepted = 0;
	p->convert = false;
	p->data_sent = false;
}

/* site_note - the destination as a whole failed (for qmgr's backoff) */
static void
site_note(struct smtp_proto *p, const char *dsn, const char *why)
{
	(void) str_copy(p->site_dsn, sizeof(p->site_dsn), dsn);
	(void) str_copy(p->site_why, sizeof(p->site_why), why);
}

/* site_fail - the server fails every open recipient: soft or hard */
static void
site_fail(struct smtp_proto *p, bool hard, const char *dsn, const char *why)
{
	if (!hard)
		site_note(p, dsn, why);
	each_open(p, i) {
		if (hard)
			smtp_rcpt_set(&p->rq->rcpts[i], SMTP_R_BOUNCE, dsn, why);
		else
			smtp_rcpt_keep(&p->rq->rcpts[i], dsn, why);
	}
	detach(p);
}

/* site_reply - as site_fail() for a 4xx/5xx reply to cmd */
static void
site_reply(struct smtp_proto *p, const struct smtp_reply *r, const char *cmd_name,
	   bool hard_ok)
{
	char	why[SMTP_REASON_MAX], dsn[DSN_MAX + 1];

	smtp_reply_reason(r, p->peer, cmd_name, why, sizeof(why));
	smtp_reply_dsn(r, dsn, sizeof(dsn));
	site_fail(p, hard_ok && r->code >= 500, dsn, why);
}

static enum smtp_action
quit(struct smtp_proto *p)
{
	p->broken = true;
	cmd(p, SMTP_X_QUIT, "QUIT");
	return SMTP_A_WAIT;
}

void
smtp_proto_quit(struct smtp_proto *p)
{
	(void) quit(p);
}

void
smtp_proto_fail(struct smtp_proto *p, enum smtp_fail how, const char *dsn,
		const char *why)
{
	(void) how;
	if (p->rq != NULL && p->data_sent) {
		for (size_t i = 0; i < p->rq->nrcpts; i++)
			if (p->rq->rcpts[i].accepted && p->rq->rcpts[i].stat == SMTP_R_TODO)
				smtp_rcpt_set(&p->rq->rcpts[i], SMTP_R_DEFER, dsn, why);
	}
	site_fail(p, false, dsn, why);
	p->broken = true;
	p->x_len = 0;
}

/* ------------------------------------------------------------------ */
/* Session set-up.                                                    */

static void
ehlo_features(struct smtp_proto *p, const struct smtp_reply *r)
{
	const char *s = buf_str(&r->text);
	const char *nl = strchr(s, '\n');

	p->features = SMTP_F_ESMTP;
	p->size_limit = 0;
	p->auth_mechs[0] = '\0';
	/* The first line is the server's name; each later one a keyword. */
	for (s = nl ? nl + 1 : NULL; s != NULL && *s; s = nl ? nl + 1 : NULL) {
		char	line[SMTP_AUTH_MECHS_MAX + 16];
		size_t	n;
		char   *arg;

		nl = strchr(s, '\n');
		n = nl ? (size_t) (nl - s) : strlen(s);
		if (n >= sizeof(line))
			continue;
		memcpy(line, s, n);
		line[n] = '\0';
		if ((arg = strpbrk(line, " =")) != NULL)
			*arg++ = '\0';
		if (str_casecmp(line, "PIPELINING") == 0)
			p->features |= SMTP_F_PIPELINING;
		else if (str_casecmp(line, "8BITMIME") == 0)
			p->features |= SMTP_F_8BITMIME;
		else if (str_casecmp(line, "SMTPUTF8") == 0)
			p->features |= SMTP_F_SMTPUTF8;
		else if (str_casecmp(line, "DSN") == 0)
			p->features |= SMTP_F_DSN;
		else if (str_casecmp(line, "STARTTLS") == 0)
			p->features |= SMTP_F_STARTTLS;
		else if (str_casecmp(line, "ENHANCEDSTATUSCODES") == 0)
			p->features |= SMTP_F_ENHANCED;
		else if (str_casecmp(line, "SIZE") == 0) {
			uint64_t v = 0;
			const char *err;

			p->features |= SMTP_F_SIZE;
			if (arg != NULL && *arg != '\0'
			    && num_parse_u64(arg, 0, UINT64_MAX, &v, &err) == 0)
				p->size_limit = v;
		} else if (str_casecmp(line, "AUTH") == 0 && arg != NULL) {
			p->features |= SMTP_F_AUTH;
			if (p->auth_mechs[0] != '\0')
				(void) str_append(p->auth_mechs, sizeof(p->auth_mechs), " ");
			(void) str_append(p->auth_mechs, sizeof(p->auth_mechs), arg);
		}
	}
}

static enum smtp_action start_tx(struct smtp_proto *p);

static enum smtp_action
ready(struct smtp_proto *p)
{
	p->ready = true;
	if (p->rq != NULL)
		return start_tx(p);
	return SMTP_A_READY;
}

static enum smtp_action
after_helo(struct smtp_proto *p)
{
	const char *mech;
	struct buf b;

	if (!p->conf.sasl || !(p->features & SMTP_F_AUTH)
	    || !(p->tls_active ? p->conf.sasl_tls_plaintext_ok : p->conf.sasl_plaintext_ok)
	    || (mech = smtp_sasl_pick(p->auth_mechs)) == NULL)
		return ready(p);
	buf_init(&b, 4096);
	if (str_eq(mech, "PLAIN")) {
		if (smtp_sasl_plain(p->conf.sasl_user, p->conf.sasl_pass, &b) < 0) {
			buf_free(&b);
			site_fail(p, false, "4.7.0", "SASL credentials too long");
			return quit(p);
		}
		cmd(p, SMTP_X_AUTH, "AUTH PLAIN %s", buf_str(&b));
	} else
		cmd(p, SMTP_X_AUTH_USER, "AUTH LOGIN");
	buf_free(&b);
	return SMTP_A_WAIT;
}

static enum smtp_action
on_greet(struct smtp_proto *p, const struct smtp_reply *r)
{
	char	why[SMTP_REASON_MAX], text[SMTP_REASON_MAX], dsn[DSN_MAX + 1];

	if (r->code / 100 == 2) {
		p->greeted = true;
		cmd(p, SMTP_X_EHLO, "EHLO %s", p->conf.helo_name);
		return SMTP_A_WAIT;
	}
	smtp_reply_reason(r, NULL, NULL, text, sizeof(text));
	(void) str_fmt(why, sizeof(why), "host %s refused to talk to me: %s",
		       p->peer, text);
	smtp_reply_dsn(r, dsn, sizeof(dsn));
	if (r->code >= 500 && p->conf.skip_5xx_greeting)
		dsn[0] = '4';
	site_fail(p, r->code >= 500 && !p->conf.skip_5xx_greeting, dsn, why);
	return quit(p);
}

static enum smtp_action
tls_required(struct smtp_proto *p)
{
	char	why[SMTP_REASON_MAX];

	(void) str_fmt(why, sizeof(why), "TLS is required, but was not offered "
		       "by host %s", p->peer);
	site_fail(p, false, "4.7.4", why);
	return quit(p);
}

static enum smtp_action
on_ehlo(struct smtp_proto *p, const struct smtp_reply *r, bool helo)
{
	if (r->code / 100 != 2) {
		if (!helo && r->code >= 500 && !p->tls_active) {
			cmd(p, SMTP_X_HELO, "HELO %s", p->conf.helo_name);
			return SMTP_A_WAIT;
		}
		site_reply(p, r, helo ? "HELO" : "EHLO", true);
		return quit(p);
	}
	if (helo)
		p->features = 0;
	else
		ehlo_features(p, r);
	if (!p->tls_active && p->conf.tls_level >= SMTP_TLS_MAY) {
		if (p->features & SMTP_F_STARTTLS) {
			cmd(p, SMTP_X_STARTTLS, "STARTTLS");
			return SMTP_A_WAIT;
		}
		if (p->conf.tls_level >= SMTP_TLS_ENCRYPT)
			return tls_required(p);
	}
	return after_helo(p);
}

static enum smtp_action
on_starttls(struct smtp_proto *p, const struct smtp_reply *r)
{
	char	why[SMTP_REASON_MAX], text[SMTP_REASON_MAX];

	if (r->code == 220) {
		p->tls_tried = true;
		return SMTP_A_TLS;
	}
	if (p->conf.tls_level == SMTP_TLS_MAY)
		return after_helo(p);
	smtp_reply_reason(r, NULL, NULL, text, sizeof(text));
	(void) str_fmt(why, sizeof(why), "TLS is required, but host %s refused "
		       "to start TLS: %s", p->peer, text);
	site_fail(p, false, "4.7.4", why);
	return quit(p);
}

void
smtp_proto_tls_done(struct smtp_proto *p)
{
	p->tls_active = true;
	p->features = 0;
	cmd(p, SMTP_X_EHLO, "EHLO %s", p->conf.helo_name);
}

void
smtp_proto_tls_failed(struct smtp_proto *p, const char *dsn, const char *why)
{
	site_fail(p, false, dsn, why);
	p->broken = true;
	p->x_len = 0;
}

static enum smtp_action
on_auth(struct smtp_proto *p, const struct smtp_reply *r, enum smtp_expect x)
{
	char	why[SMTP_REASON_MAX], text[SMTP_REASON_MAX];
	struct buf b;

	if (x != SMTP_X_AUTH && r->code == 334) {
		buf_init(&b, 2048);
		if (smtp_sasl_b64(x == SMTP_X_AUTH_USER ? p->conf.sasl_user
				  : p->conf.sasl_pass, &b) < 0) {
			buf_free(&b);
			site_fail(p, false, "4.7.0", "SASL credentials too long");
			return quit(p);
		}
		cmd(p, x == SMTP_X_AUTH_USER ? SMTP_X_AUTH_PASS : SMTP_X_AUTH, "%s",
		    buf_str(&b));
		buf_free(&b);
		return SMTP_A_WAIT;
	}
	if (x == SMTP_X_AUTH && r->code / 100 == 2)
		return ready(p);
	smtp_reply_reason(r, NULL, NULL, text, sizeof(text));
	(void) str_fmt(why, sizeof(why), "SASL authentication failed; server %s "
		       "said: %s", p->peer, text);
	/* As Postfix's smtp_sasl_auth_soft_bounce: try later, or elsewhere. */
	site_fail(p, false, "4.7.0", why);
	return quit(p);
}

/* ------------------------------------------------------------------ */
/* The transaction.                                                   */

/* refused - a 5xx bounces the recipient, a 4xx keeps it for elsewhere */
static void
refused(struct smtp_rcpt *rc, const struct smtp_reply *r, const char *dsn,
	const char *why)
{
	if (r->code >= 500)
		smtp_rcpt_set(rc, SMTP_R_BOUNCE, dsn, why);
	else
		smtp_rcpt_keep(rc, dsn, why);
}

static size_t
next_in_tx(const struct smtp_proto *p, size_t from)
{
	while (from < p->rq->nrcpts && !p->rq->rcpts[from].in_tx)
		from++;
	return from;
}

/*
 * path_ok - is the address one that can stand between < and > in a
 * command?  A peer daemon's request is not trusted: an address with
 * a '>' or a space in it would add ESMTP parameters of its own.
 */
static bool
path_ok(const char *address, unsigned flags)
{
	char	path[ADDR_PATH_MAX + 3];
	struct addr a;
	struct addr_error e;
	size_t	used;
	int	n = snprintf(path, sizeof(path), "<%s>", address);

	return n > 0 && (size_t) n < sizeof(path)
	    && addr_parse_path(path, (size_t) n, flags | ADDR_SMTPUTF8, &a, &used, &e) == 0
	    && used == (size_t) n;
}

/* notify_ok - NEVER, or SUCCESS, FAILURE, DELAY separated by commas */
static bool
notify_ok(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz,")
	    == strlen(s);
}

static void
send_rcpt(struct smtp_proto *p, const struct smtp_rcpt *r)
{
	char	orcpt[3 * 1024 + 16], notify[80];
	const char *o = r->orcpt;

	orcpt[0] = notify[0] = '\0';
	if ((p->features & SMTP_F_DSN) && r->notify[0] != '\0' && notify_ok(r->notify))
		(void) str_fmt(notify, sizeof(notify), " NOTIFY=%s", r->notify);
	if ((p->features & SMTP_F_DSN) && o[0] != '\0') {
		char	x[3 * 1024 + 1];

		if (str_has_prefix_nocase(o, "rfc822;"))
			o += 7;
		if (xtext_encode(o, x, sizeof(x)) == 0)
			(void) str_fmt(orcpt, sizeof(orcpt), " ORCPT=rfc822;%s", x);
	}
	cmd(p, SMTP_X_RCPT, "RCPT TO:<%s>%s%s", r->address, notify, orcpt);
}

static enum smtp_action
start_tx(struct smtp_proto *p)
{
	struct smtp_request *rq = p->rq;
	char	params[512], why[SMTP_REASON_MAX];
	bool	any = false;

	p->msg_size = rq->hdr_len + 1 + rq->body_len;
	if ((p->features & SMTP_F_SIZE) && p->size_limit > 0
	    && p->msg_size > p->size_limit) {
		(void) str_fmt(why, sizeof(why), "message size %llu exceeds size "
			       "limit %llu of server %s",
			       (unsigned long long) p->msg_size,
			       (unsigned long long) p->size_limit, p->peer);
		site_fail(p, true, "5.3.4", why);
		return SMTP_A_READY;
	}
	if (smtp_utf8_needed(rq->sender, rq->rcpts, rq->nrcpts)
	    && !(p->features & SMTP_F_SMTPUTF8)) {
		(void) str_fmt(why, sizeof(why), "SMTPUTF8 is required, but was not "
			       "offered by host %s", p->peer);
		site_fail(p, true, "5.6.7", why);
		return SMTP_A_READY;
	}
	if (p->body_8bit && !(p->features & SMTP_F_8BITMIME)) {
		if ((p->body_8bit & SMTP_8BIT_HEADER) || !p->conf.may_convert_8bit) {
			(void) str_fmt(why, sizeof(why), "message has 8-bit %s, but "
				       "host %s does not announce 8BITMIME support",
				       (p->body_8bit & SMTP_8BIT_HEADER) ? "header text"
				       : "content", p->peer);
			site_fail(p, false, "4.6.3", why);
			return SMTP_A_READY;
		}
		p->convert = true;
	}
	params[0] = '\0';
	if (p->features & SMTP_F_SIZE)
		(void) str_fmt(params, sizeof(params), " SIZE=%llu",
			       (unsigned long long) p->msg_size);
	if (p->body_8bit && !p->convert)
		(void) str_append(params, sizeof(params), " BODY=8BITMIME");
	if (rq->smtputf8 && (p->features & SMTP_F_SMTPUTF8))
		(void) str_append(params, sizeof(params), " SMTPUTF8");
	if ((p->features & SMTP_F_DSN) && rq->ret[0] != '\0') {
		(void) str_append(params, sizeof(params), " RET=");
		(void) str_append(params, sizeof(params), rq->ret);
	}
	if ((p->features & SMTP_F_DSN) && rq->envid[0] != '\0') {
		char	x[3 * 100 + 1];

		if (xtext_encode(rq->envid, x, sizeof(x)) == 0) {
			(void) str_append(params, sizeof(params), " ENVID=");
			(void) str_append(params, sizeof(params), x);
		}
	}
	if (!path_ok(rq->sender, ADDR_ALLOW_NULL | ADDR_SENDER)) {
		(void) str_fmt(why, sizeof(why), "malformed sender address in the "
			       "delivery request");
		site_fail(p, false, "4.3.0", why);
		return SMTP_A_READY;
	}
	each_open(p, i) {
		if (!path_ok(rq->rcpts[i].address, ADDR_ALLOW_NO_DOMAIN)) {
			smtp_rcpt_set(&rq->rcpts[i], SMTP_R_BOUNCE, "5.1.3",
				      "malformed recipient address");
			continue;
		}
		rq->rcpts[i].in_tx = true;
		rq->rcpts[i].accepted = false;
		any = true;
	}
	if (!any) {
		detach(p);
		return SMTP_A_READY;
	}
	p->tx_open = true;
	p->mail_ok = false;
	p->naccepted = 0;
	p->x_rcpt = next_in_tx(p, 0);
	cmd(p, SMTP_X_MAIL, "MAIL FROM:<%s>%s", rq->sender, params);
	if (p->features & SMTP_F_PIPELINING) {
		for (size_t i = next_in_tx(p, 0); i < rq->nrcpts; i = next_in_tx(p, i + 1))
			send_rcpt(p, &rq->rcpts[i]);
		cmd(p, SMTP_X_DATA, "DATA");
	}
	return SMTP_A_WAIT;
}

enum smtp_action
smtp_proto_begin(struct smtp_proto *p, struct smtp_request *rq, unsigned body_8bit)
{
	p->rq = rq;
	p->body_8bit = body_8bit;
	if (p->ready && p->x_len == 0)
		return start_tx(p);
	return SMTP_A_WAIT;
}

/* end_tx - the transaction is over; RSET when it may still be open */
static enum smtp_action
end_tx(struct smtp_proto *p, bool rset)
{
	detach(p);
	if (rset) {
		p->ready = false;
		cmd(p, SMTP_X_RSET, "RSET");
		return SMTP_A_WAIT;
	}
	return SMTP_A_READY;
}

static enum smtp_action
on_mail(struct smtp_proto *p, const struct smtp_reply *r)
{
	char	why[SMTP_REASON_MAX], dsn[DSN_MAX + 1];

	if (r->code / 100 == 2) {
		p->mail_ok = true;
		if (!(p->features & SMTP_F_PIPELINING))
			send_rcpt(p, &p->rq->rcpts[p->x_rcpt]);
		return SMTP_A_WAIT;
	}
	smtp_reply_reason(r, p->peer, "MAIL FROM", why, sizeof(why));
	smtp_reply_dsn(r, dsn, sizeof(dsn));
	if (r->code < 500)
		site_note(p, dsn, why);
	for (size_t i = 0; i < p->rq->nrcpts; i++)
		if (p->rq->rcpts[i].in_tx) {
			refused(&p->rq->rcpts[i], r, dsn, why);
		}
	if (p->features & SMTP_F_PIPELINING)
		return SMTP_A_WAIT;	/* the RCPT and DATA replies follow */
	return end_tx(p, false);
}

static enum smtp_action
on_rcpt(struct smtp_proto *p, const struct smtp_reply *r)
{
	struct smtp_rcpt *rc = &p->rq->rcpts[p->x_rcpt];
	char	why[SMTP_REASON_MAX], dsn[DSN_MAX + 1];

	p->x_rcpt = next_in_tx(p, p->x_rcpt + 1);
	if (p->mail_ok) {
		if (r->code / 100 == 2) {
			rc->accepted = true;
			p->naccepted++;
		} else {
			smtp_reply_reason(r, p->peer, "RCPT TO", why, sizeof(why));
			smtp_reply_dsn(r, dsn, sizeof(dsn));
			refused(rc, r, dsn, why);
		}
	}
	if (p->features & SMTP_F_PIPELINING)
		return SMTP_A_WAIT;
	if (p->x_rcpt < p->rq->nrcpts) {
		send_rcpt(p, &p->rq->rcpts[p->x_rcpt]);
		return SMTP_A_WAIT;
	}
	if (p->naccepted > 0) {
		cmd(p, SMTP_X_DATA, "DATA");
		return SMTP_A_WAIT;
	}
	return end_tx(p, true);
}

static enum smtp_action
on_data(struct smtp_proto *p, const struct smtp_reply *r)
{
	char	why[SMTP_REASON_MAX], dsn[DSN_MAX + 1];

	if (r->code == 354) {
		if (p->mail_ok && p->naccepted > 0)
			return SMTP_A_CONTENT;
		/* DATA went ahead pipelined and nobody was accepted. */
		if (buf_append(p->out, ".\r\n", 3) < 0)
			log_panic("smtp_proto: command buffer full");
		expect(p, SMTP_X_DOT);
		detach(p);
		p->ready = false;
		return SMTP_A_WAIT;
	}
	if (p->mail_ok && p->naccepted > 0) {
		smtp_reply_reason(r, p->peer, "DATA", why, sizeof(why));
		smtp_reply_dsn(r, dsn, sizeof(dsn));
		for (size_t i = 0; i < p->rq->nrcpts; i++)
			if (p->rq->rcpts[i].accepted) {
				refused(&p->rq->rcpts[i], r, dsn, why);
			}
	}
	return end_tx(p, p->mail_ok);
}

void
smtp_proto_content_done(struct smtp_proto *p)
{
	expect(p, SMTP_X_DOT);
	p->data_sent = true;
}

static enum smtp_action
on_dot(struct smtp_proto *p, const struct smtp_reply *r)
{
	char	why[SMTP_REASON_MAX], dsn[DSN_MAX + 1];

	if (p->rq == NULL) {		/* the empty message above */
		cmd(p, SMTP_X_RSET, "RSET");
		return SMTP_A_WAIT;
	}
	smtp_reply_dsn(r, dsn, sizeof(dsn));
	if (r->code / 100 == 2)
		smtp_reply_reason(r, NULL, NULL, why, sizeof(why));
	else
		smtp_reply_reason(r, p->peer, "end of DATA", why, sizeof(why));
	for (size_t i = 0; i < p->rq->nrcpts; i++) {
		struct smtp_rcpt *rc = &p->rq->rcpts[i];

		if (!rc->accepted)
			continue;
		if (r->code / 100 == 2)
			smtp_rcpt_set(rc, SMTP_R_SENT, dsn, why);
		else
			refused(rc, r, dsn, why);
	}
	if (r->code / 100 == 2)
		p->transactions++;
	return end_tx(p, false);
}

enum smtp_action
smtp_proto_reply(struct smtp_proto *p, const struct smtp_reply *r)
{
	enum smtp_expect x;

	if (p->x_len == 0) {
		smtp_proto_fail(p, SMTP_FAIL_PROTO, "4.4.2", "unexpected reply");
		return SMTP_A_CLOSE;
	}
	x = p->expect[p->x_head];
	p->x_head = (p->x_head + 1) % SMTP_EXPECT_MAX;
	p->x_len--;
	/* A reply to a command sent ahead of a failure: nothing to decide. */
	if (p->rq == NULL && (x == SMTP_X_MAIL || x == SMTP_X_RCPT || x == SMTP_X_DATA))
		return p->x_len ? SMTP_A_WAIT : p->broken ? SMTP_A_CLOSE : SMTP_A_READY;

	switch (x) {
	case SMTP_X_GREET:
		return on_greet(p, r);
	case SMTP_X_EHLO:
		return on_ehlo(p, r, false);
	case SMTP_X_HELO:
		return on_ehlo(p, r, true);
	case SMTP_X_STARTTLS:
		return on_starttls(p, r);
	case SMTP_X_AUTH:
	case SMTP_X_AUTH_USER:
	case SMTP_X_AUTH_PASS:
		return on_auth(p, r, x);
	case SMTP_X_MAIL:
		return on_mail(p, r);
	case SMTP_X_RCPT:
		return on_rcpt(p, r);
	case SMTP_X_DATA:
		return on_data(p, r);
	case SMTP_X_DOT:
		return on_dot(p, r);
	case SMTP_X_RSET:
		if (r->code / 100 != 2)
			return quit(p);
		return ready(p);
	case SMTP_X_QUIT:
		return SMTP_A_CLOSE;
	}
	return SMTP_A_CLOSE;
}
