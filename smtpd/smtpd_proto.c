/*
 * NAME
 *	smtpd_proto - SMTP commands: parsing, checks, replies
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_proto_greet(s);		// 220 banner
 *	smtpd_proto_line(s, &line);	// one command line
 *	smtpd_proto_data_line(s, &line);	// one line of message content
 * DESCRIPTION
 *	smtpd_proto_line() handles one command line as the line reader
 *	delivered it and appends the reply to s->io.out.  Commands (RFC 5321
 *	section 4.1, with RFC 1869/1870/1652/2034/2920/6531 extensions):
 *
 *	EHLO/HELO host	250; the EHLO reply lists PIPELINING, SIZE N,
 *			VRFY (only when enabled), ENHANCEDSTATUSCODES,
 *			8BITMIME, SMTPUTF8 (smtputf8_enable), less
 *			smtpd_discard_ehlo_keywords.  Resets the
 *			transaction.  The host must be printable ASCII
 *			without spaces, at most 255 bytes (what cleanup
 *			stores); else 501 5.5.4.
 *	MAIL FROM:<a>	after HELO/EHLO when smtpd_helo_required; the
 *			null sender <> is allowed.  Parameters: SIZE=N
 *			(over message_size_limit: 552 5.3.4), BODY=7BIT
 *			or 8BITMIME, SMTPUTF8; others get 555 5.5.4.
 *			Too little free space in the queue file system:
 *			452 4.3.1 Insufficient system storage.
 *	RCPT TO:<a>	after MAIL; smtpd_check_rcpt() decides; past
 *			smtpd_recipient_limit: 452 4.5.3 Error: too many
 *			recipients (counted as an error after
 *			smtpd_recipient_overshoot_limit more).
 *	DATA		after an accepted RCPT: 354, then the content
 *			(smtpd_data.c) until <CR><LF>.<CR><LF>; then the
 *			message goes to cleanup (smtpd_deliver.c).
 *	RSET, NOOP	250 2.0.0 Ok
 *	VRFY		disable_vrfy_command = yes (the default):
 *			502 5.5.1 VRFY command is disabled, as Postfix.
 *			Else the address is checked like a recipient:
 *			252 2.0.0 <address>, or the rejection.
 *	HELP		214 2.0.0 with the command list
 *	QUIT		221 2.0.0 Bye, then the connection is closed
 *	anything else	502 5.5.2 Error: command not recognized; an
 *			empty line or one holding NUL: 500 5.5.2 Error:
 *			bad syntax
 *	A command line longer than line_length_limit is read to its end
 *	and discarded: 500 5.5.2 Error: command too long.  One that goes
 *	on past SMTPD_LONG_CMD_FACTOR (32) times line_length_limit (64 KiB
 *	by default) gets the same 500 at once, and the connection is
 *	closed: an endless line costs the client its session.  With
 *	smtpd_forbid_bare_newline = reject, a command line that ended in
 *	a bare LF or holds a bare CR is refused with 550 5.5.2 Error:
 *	bare <LF> received (or <CR>).
 *
 *	Every refused command counts as an error.  NOOP, VRFY, RSET
 *	and HELP past smtpd_junk_command_limit count as errors too.  At
 *	smtpd_hard_error_limit errors the session ends with 421 4.7.0
 *	HOSTNAME Error: too many errors; past smtpd_soft_error_limit the
 *	replies are delayed (smtpd_session.c).
 *
 *	Pipelining (RFC 2920 section 3.1): EHLO, HELO, DATA, VRFY, NOOP
 *	and QUIT may only be the last command of a group, and a client
 *	to which PIPELINING was not offered (it said HELO, or nothing, or
 *	the keyword is in smtpd_discard_ehlo_keywords) may not group
 *	commands at all: every command waits for its reply, and so does
 *	the end of the message (the "." line).  With
 *	smtpd_forbid_unauth_pipelining = yes, a client outside mynetworks
 *	that has sent more input where it must wait (in the reader or in
 *	the socket) gets 554 5.5.0 Error: SMTP protocol synchronization
 *	and is disconnected; after the end of a message, that message is
 *	not queued (a second message in the same write is how SMTP
 *	smuggling looks).  The same goes for input sent before the
 *	greeting (smtpd_session.c).
 *
 *	Policy refusals are logged as Postfix does: "NOQUEUE: reject:
 *	RCPT from NAME[ADDR]: 550 5.1.1 <x@y>: ...; from=<s> to=<x@y>
 *	proto=ESMTP helo=<h>".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsn.h"
#include "esmtp_param.h"
#include "log.h"
#include "mem.h"
#include "num.h"
#include "params.h"
#include "server.h"
#include "smtpd.h"
#include "str.h"

static const struct {
	const char *verb;
	enum smtpd_cmd cmd;
} verbs[] = {
	{"EHLO", SMTPD_CMD_EHLO}, {"HELO", SMTPD_CMD_HELO},
	{"STARTTLS", SMTPD_CMD_STARTTLS}, {"AUTH", SMTPD_CMD_AUTH},
	{"MAIL", SMTPD_CMD_MAIL}, {"RCPT", SMTPD_CMD_RCPT},
	{"DATA", SMTPD_CMD_DATA}, {"RSET", SMTPD_CMD_RSET},
	{"NOOP", SMTPD_CMD_NOOP}, {"VRFY", SMTPD_CMD_VRFY},
	{"HELP", SMTPD_CMD_HELP}, {"QUIT", SMTPD_CMD_QUIT},
};

/* cmd_where - the command's name for "after ..." in log lines */
static const char *
cmd_where(enum smtpd_cmd c)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].cmd == c)
			return verbs[i].verb;
	return "UNKNOWN";
}

enum smtpd_cmd
smtpd_cmd_lookup(const char *verb, size_t n)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (n == strlen(verbs[i].verb) && str_ncasecmp(verb, verbs[i].verb, n) == 0)
			return verbs[i].cmd;
	return SMTPD_CMD_UNKNOWN;
}

static const char *
proto_name(const struct smtpd_session *s)
{
	return s->esmtp ? "ESMTP" : "SMTP";
}

/* smtpd_protocol - for Received: "with ...", RFC 3848's names */
const char *
smtpd_protocol(const struct smtpd_session *s)
{
	bool	tls = s->io.state == TLSIO_TLS, auth = smtpd_sasl_authenticated(s);

	if (!s->esmtp)
		return "SMTP";
	return tls ? (auth ? "ESMTPSA" : "ESMTPS") : (auth ? "ESMTPA" : "ESMTP");
}

/*
 * smtpd_log_event - the NOQUEUE line Postfix's log readers look for:
 * "NOQUEUE: reject: RCPT from NAME[ADDR]: TEXT; from=<s> to=<r>
 * proto=ESMTP helo=<h>" (event "reject", "warn", "hold" ...)
 */
void
smtpd_log_event(struct smtpd_session *s, const char *event, const char *stage,
		const char *text, const char *rcpt)
{
	smtpd_log(s, "NOQUEUE: %s: %s from %s[%s]: %s; from=<%s>%s%s%s "
		  "proto=%s helo=<%s>", event, stage, s->name, s->addr, text,
		  s->sender, rcpt ? " to=<" : "", rcpt ? rcpt : "", rcpt ? ">" : "",
		  proto_name(s), s->helo);
}

static void
reject_log(struct smtpd_session *s, const char *stage, int code, const char *dsn,
	   const char *text, const char *rcpt)
{
	char    line[700];

	(void) str_fmt(line, sizeof(line), "%d %s %s", code, dsn, text);
	smtpd_log_event(s, "reject", stage, line, rcpt);
}

/* refuse - log and send a verdict of the restrictions */
static void
refuse(struct smtpd_session *s, const char *stage, const struct smtpd_verdict *v,
       const char *rcpt)
{
	reject_log(s, stage, v->code, v->dsn, v->text, rcpt);
	smtpd_reply(s, v->code, v->dsn, "%s", v->text);
}

/* What a command handler did: refused, done, or waits for its checks. */
enum cmd_result {
	CMD_ERR, CMD_OK, CMD_WAIT,
};

static void command_end(struct smtpd_session *s, enum smtpd_cmd c,
			enum cmd_result r);

void
smtpd_proto_reset(struct smtpd_session *s)
{
	smtpd_actions_reset(s);
	s->in_mail = false;
	s->sender[0] = 0;
	s->smtputf8 = false;
	s->declared_size = 0;
	for (size_t i = 0; i < s->nrcpt; i++)
		free(s->rcpt[i]);
	s->nrcpt = 0;
	s->rcpt_tried = 0;
	s->rcpt_overshoot = 0;
	smtpd_spool_close(s);
	smtpd_data_free(&s->data);
}

void
smtpd_proto_greet(struct smtpd_session *s)
{
	smtpd_reply(s, 220, NULL, "%s", cfg->smtpd_banner);
	s->greeted = true;
}

size_t
smtpd_ehlo_keywords(const struct smtpd_session *s, const char **out, size_t max,
		    char *sizebuf, size_t sizebuf_len)
{
	const char *cand[10];
	size_t	nc = 0, n = 0;

	if (cfg->message_size_limit > 0)
		(void) str_fmt(sizebuf, sizebuf_len, "SIZE %llu",
			       (unsigned long long) cfg->message_size_limit);
	else
		(void) str_copy(sizebuf, sizebuf_len, "SIZE");
	cand[nc++] = "PIPELINING";
	cand[nc++] = sizebuf;
	if (!cfg->disable_vrfy_command)
		cand[nc++] = "VRFY";
	if (s != NULL && smtpd_tls_offered(s))
		cand[nc++] = "STARTTLS";
	if (s != NULL && smtpd_sasl_offered(s))
		cand[nc++] = "AUTH PLAIN LOGIN";
	cand[nc++] = "ENHANCEDSTATUSCODES";
	cand[nc++] = "8BITMIME";
	if (cfg->smtputf8_enable)
		cand[nc++] = "SMTPUTF8";
	for (size_t i = 0; i < nc && n < max; i++) {
		size_t	kl = strcspn(cand[i], " ");
		bool	drop = false;

		for (int d = 0; d < smtpd_conf.n_discard_ehlo; d++)
			if (strlen(smtpd_conf.discard_ehlo[d]) == kl
			    && str_ncasecmp(smtpd_conf.discard_ehlo[d], cand[i], kl) == 0)
				drop = true;
		if (!drop)
			out[n++] = cand[i];
	}
	return n;
}

/*
 * must_wait - RFC 2920 section 3.1: EHLO, HELO, DATA, VRFY, NOOP and QUIT
 * end a group; without PIPELINING offered (no EHLO, or the keyword
 * discarded) every command does.
 */
static bool
must_wait(const struct smtpd_session *s, enum smtpd_cmd c)
{
	switch (c) {
	case SMTPD_CMD_EHLO:
	case SMTPD_CMD_HELO:
	case SMTPD_CMD_DATA:
	case SMTPD_CMD_VRFY:
	case SMTPD_CMD_NOOP:
	case SMTPD_CMD_QUIT:
		return true;
	default:
		return !s->pipelining;
	}
}

/* ill_pipelining - more input waits where RFC 2920 allows none */
static bool
ill_pipelining(struct smtpd_session *s)
{
	size_t	pend = linebuf_pending(&s->io.lb);

	if (!cfg->smtpd_forbid_unauth_pipelining || s->trusted
	    || !tlsio_input_waiting(&s->io))
		return false;
	smtpd_log(s, "improper command pipelining after %s from %s[%s]: %.*s",
		  s->where, s->name, s->addr, (int) (pend < 100 ? pend : 100),
		  linebuf_peek(&s->io.lb));
	smtpd_drop(s, 554, "5.5.0", "Error: SMTP protocol synchronization");
	return true;
}

/*
 * smtpd_pipelined - reject_unauth_pipelining: commands wait behind the
 * one being handled where RFC 2920 allows none (after EHLO, HELO, DATA,
 * VRFY, NOOP), or from a client that was never offered PIPELINING (no
 * EHLO).
 */
bool
smtpd_pipelined(struct smtpd_session *s)
{
	static const char *const last[] = {"EHLO", "HELO", "DATA", "VRFY", "NOOP"};

	if (!tlsio_input_waiting(&s->io))
		return false;
	if (!s->pipelining)
		return true;
	for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++)
		if (str_eq(s->where, last[i]))
			return true;
	return false;
}

/*
 * helo_ok - the argument is printable ASCII without a space: what
 * cleanup stores as helo= and writes into Received: (cleanup_req.c).
 * 2026-11 review: smtpd took anything without control characters, so
 * "EHLO my host" or an 8-bit name got 250 and then 451 4.3.0 from
 * cleanup for every message, retried by the client for ever.
 */
static bool
helo_ok(const char *arg, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) arg[i] < 0x21 || (unsigned char) arg[i] > 0x7e)
			return false;
	return true;
}

/* helo_verdict - the reply to HELO/EHLO once its checks decided */
static enum cmd_result
helo_verdict(struct smtpd_session *s, const struct smtpd_verdict *v)
{
	if (v->code) {
		refuse(s, s->esmtp ? "EHLO" : "HELO", v, NULL);
		return CMD_ERR;
	}
	if (!s->esmtp) {
		smtpd_reply(s, 250, NULL, "%s", cfg->myhostname);
	} else {
		const char *lines[12];
		char	sizebuf[40];
		size_t	k;

		lines[0] = cfg->myhostname;
		k = smtpd_ehlo_keywords(s, lines + 1, 11, sizebuf, sizeof(sizebuf));
		for (size_t i = 1; i <= k; i++)
			if (str_eq(lines[i], "PIPELINING"))
				s->pipelining = true;
		smtpd_reply_lines(s, 250, lines, k + 1);
	}
	return CMD_OK;
}

static void
helo_checked(struct smtpd_session *s, const struct smtpd_verdict *v, const char *addr)
{
	(void) addr;
	command_end(s, s->esmtp ? SMTPD_CMD_EHLO : SMTPD_CMD_HELO, helo_verdict(s, v));
}

static enum cmd_result
cmd_helo(struct smtpd_session *s, enum smtpd_cmd c, const char *arg, size_t n)
{
	const char *verb = c == SMTPD_CMD_EHLO ? "EHLO" : "HELO";
	struct smtpd_verdict v;

	if (n == 0 || n > SMTPD_HELO_MAX || !helo_ok(arg, n)) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: %s hostname", verb);
		return CMD_ERR;
	}
	smtpd_proto_reset(s);
	memcpy(s->helo, arg, n);
	s->helo[n] = 0;
	s->esmtp = c == SMTPD_CMD_EHLO;
	s->pipelining = false;
	if (!smtpd_restrict(s, SMTPD_AT_HELO, NULL, &v, helo_checked)) {
		s->state = SMTPD_ST_CHECK;
		return CMD_WAIT;
	}
	return helo_verdict(s, &v);
}

/* parse_path - "FROM:" / "TO:" then a path; false after a 5xx reply */
static bool
parse_path(struct smtpd_session *s, const char *arg, size_t n, const char *prefix,
	   unsigned flags, struct addr *a, size_t *used)
{
	size_t	pl = strlen(prefix);
	struct addr_error e;

	if (n < pl || str_ncasecmp(arg, prefix, pl) != 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: %s", prefix[0] == 'F'
			    ? "MAIL FROM:<address>" : "RCPT TO:<address>");
		return false;
	}
	if (addr_parse_path(arg + pl, n - pl, flags, a, used, &e) < 0) {
		smtpd_reply(s, e.code, e.dsn, "<%.*s>: %s", (int) (n - pl < 256 ? n - pl : 256),
			    arg + pl, e.text);
		return false;
	}
	*used += pl;
	return true;
}

/*
 * over_rate - count one event of kind for the client (smtpd_rate.c) and
 * say whether it is past limit (0: no limit; exempt clients are never
 * counted); logs as Postfix's anvil-based checks do.
 */
static bool
over_rate(struct smtpd_session *s, enum smtpd_rate_kind kind, long long limit,
	  const char *what, const char *param)
{
	unsigned n;

	if (limit <= 0 || s->limits_exempt)
		return false;
	n = smtpd_rate_count(s->addr, kind, ev_now(s->loop));
	if (n <= (unsigned long long) limit)
		return false;
	smtpd_log(s, "warning: %s rate limit exceeded: %u from %s[%s] for service "
		  "%s (%s)", what, n, s->name, s->addr, server_service(), param);
	return true;
}

/* mail_verdict - the reply to MAIL once its checks decided */
static enum cmd_result
mail_verdict(struct smtpd_session *s, const struct smtpd_verdict *v)
{
	if (v->code) {
		refuse(s, "MAIL", v, NULL);
		s->in_mail = false;
		s->sender[0] = 0;
		return CMD_ERR;
	}
	smtpd_reply(s, 250, "2.1.0", "Ok");
	return CMD_OK;
}

static void
mail_checked(struct smtpd_session *s, const struct smtpd_verdict *v, const char *addr)
{
	(void) addr;
	command_end(s, SMTPD_CMD_MAIL, mail_verdict(s, v));
}

static enum cmd_result
cmd_mail(struct smtpd_session *s, const char *arg, size_t n)
{
	struct smtpd_verdict v;
	struct esmtp_param prm[ESMTP_PARAMS_MAX];
	struct addr_error e;
	struct addr a;
	size_t	used, count;
	uint64_t size = 0;
	bool	utf8 = false;

	if (smtpd_tls_needed(s))
		return CMD_ERR;
	if (cfg->smtpd_helo_required && s->helo[0] == 0) {
		smtpd_reply(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return CMD_ERR;
	}
	if (s->in_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: nested MAIL command");
		return CMD_ERR;
	}
	if (over_rate(s, SMTPD_RATE_MSG, cfg->smtpd_client_message_rate_limit,
		      "Message delivery request", "smtpd_client_message_rate_limit")) {
		smtpd_reply(s, 450, "4.7.1", "Error: too much mail from %s", s->addr);
		return CMD_ERR;
	}
	if (!parse_path(s, arg, n, "FROM:", ADDR_ALLOW_NULL | ADDR_SENDER
			| (cfg->smtputf8_enable ? ADDR_SMTPUTF8 : 0), &a, &used))
		return CMD_ERR;
	if (esmtp_params_parse(arg + used, n - used, prm, ESMTP_PARAMS_MAX, &count, &e) < 0) {
		smtpd_reply(s, e.code, e.dsn, "%s", e.text);
		return CMD_ERR;
	}
	for (size_t i = 0; i < count; i++) {
		const char *why;

		if (str_casecmp(prm[i].key, "SIZE") == 0) {
			if (!prm[i].has_value
			    || num_parse_u64(prm[i].value, 0, UINT64_MAX, &size, &why) < 0) {
				smtpd_reply(s, 501, "5.5.4", "Bad message size syntax");
				return CMD_ERR;
			}
		} else if (str_casecmp(prm[i].key, "BODY") == 0) {
			if (!prm[i].has_value || (str_casecmp(prm[i].value, "7BIT") != 0
				&& str_casecmp(prm[i].value, "8BITMIME") != 0)) {
				smtpd_reply(s, 501, "5.5.4", "Unsupported BODY parameter");
				return CMD_ERR;
			}
		} else if (str_casecmp(prm[i].key, "SMTPUTF8") == 0 && cfg->smtputf8_enable
			   && !prm[i].has_value) {
			utf8 = true;
		} else if (str_casecmp(prm[i].key, "AUTH") == 0 && cfg->smtpd_sasl_auth_enable
			   && prm[i].has_value) {
			/* RFC 4954 section 5: accepted, not trusted: ignored. */
		} else {
			smtpd_reply(s, 555, "5.5.4", "Unsupported option: %s", prm[i].key);
			return CMD_ERR;
		}
	}
	if (a.has_utf8 && !utf8) {
		smtpd_reply(s, 553, "5.6.7", "Must declare SMTPUTF8 to send unicode address");
		return CMD_ERR;
	}
	(void) str_copy(s->sender, sizeof(s->sender), a.addr);
	if (cfg->message_size_limit > 0 && size > cfg->message_size_limit) {
		reject_log(s, "MAIL", 552, "5.3.4", "Message size exceeds fixed limit", NULL);
		smtpd_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		s->sender[0] = 0;
		return CMD_ERR;
	}
	if (smtpd_check_space(size, ev_now(s->loop)) < 0) {
		reject_log(s, "MAIL", 452, "4.3.1", "Insufficient system storage", NULL);
		smtpd_reply(s, 452, "4.3.1", "Insufficient system storage");
		s->sender[0] = 0;
		return CMD_ERR;
	}
	s->in_mail = true;
	s->smtputf8 = utf8;
	s->declared_size = size;
	s->transaction++;
	if (!smtpd_restrict(s, SMTPD_AT_MAIL, NULL, &v, mail_checked)) {
		s->state = SMTPD_ST_CHECK;
		return CMD_WAIT;
	}
	return mail_verdict(s, &v);
}

/* rcpt_verdict - the reply to RCPT once its checks decided */
static enum cmd_result
rcpt_verdict(struct smtpd_session *s, const struct smtpd_verdict *v, const char *addr)
{
	if (v->code) {
		refuse(s, "RCPT", v, addr);
		return CMD_ERR;
	}
	if (s->nrcpt == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? 2 * s->rcpt_cap : SMTPD_RCPT_INIT;
		s->rcpt = xreallocarray(s->rcpt, s->rcpt_cap, sizeof(*s->rcpt));
	}
	s->rcpt[s->nrcpt++] = xstrdup(addr);
	smtpd_reply(s, 250, "2.1.5", "Ok");
	return CMD_OK;
}

static void
rcpt_checked(struct smtpd_session *s, const struct smtpd_verdict *v, const char *addr)
{
	command_end(s, SMTPD_CMD_RCPT, rcpt_verdict(s, v, addr));
}

static enum cmd_result
cmd_rcpt(struct smtpd_session *s, const char *arg, size_t n)
{
	struct esmtp_param prm[ESMTP_PARAMS_MAX];
	struct smtpd_verdict v;
	struct addr_error e;
	struct addr a;
	size_t	used, count;

	if (smtpd_tls_needed(s))
		return false;
	if (!s->in_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: need MAIL command");
		return CMD_ERR;
	}
	if (over_rate(s, SMTPD_RATE_RCPT, cfg->smtpd_client_recipient_rate_limit,
		      "Recipient address", "smtpd_client_recipient_rate_limit")) {
		smtpd_reply(s, 450, "4.7.1", "Error: too many recipients from %s", s->addr);
		return CMD_ERR;
	}
	s->rcpt_tried++;
	if (s->nrcpt >= (size_t) cfg->smtpd_recipient_limit) {
		reject_log(s, "RCPT", 452, "4.5.3", "Error: too many recipients", NULL);
		smtpd_reply(s, 452, "4.5.3", "Error: too many recipients");
		/* Postfix: only recipients past the overshoot count as errors. */
		return ++s->rcpt_overshoot <= (size_t) cfg->smtpd_recipient_overshoot_limit
		    ? CMD_OK : CMD_ERR;
	}
	if (!parse_path(s, arg, n, "TO:", ADDR_ALLOW_NO_DOMAIN
			| (s->smtputf8 ? ADDR_SMTPUTF8 : 0), &a, &used))
		return CMD_ERR;
	if (esmtp_params_parse(arg + used, n - used, prm, ESMTP_PARAMS_MAX, &count, &e) < 0) {
		smtpd_reply(s, e.code, e.dsn, "%s", e.text);
		return CMD_ERR;
	}
	if (count > 0) {
		smtpd_reply(s, 555, "5.5.4", "Unsupported option: %s", prm[0].key);
		return CMD_ERR;
	}
	if (!smtpd_restrict(s, SMTPD_AT_RCPT, a.addr, &v, rcpt_checked)) {
		s->state = SMTPD_ST_CHECK;
		return CMD_WAIT;
	}
	return rcpt_verdict(s, &v, a.addr);
}

/*
 * data_verdict - DATA's checks decided: 354 and the content, or the
 * refusal.  An accepted DATA is counted good when its message is
 * queued (CMD_WAIT: nothing to count now).
 */
static enum cmd_result
data_verdict(struct smtpd_session *s, const struct smtpd_verdict *v)
{
	if (v->code) {
		refuse(s, "DATA", v, NULL);
		return CMD_ERR;
	}
	smtpd_data_begin(&s->data, -1, s->data_crlf, s->bare_reject,
			 cfg->message_size_limit, cfg->header_size_limit);
	s->data.spool_open = smtpd_spool_open;
	s->state = SMTPD_ST_DATA;
	smtpd_set_deadline(s, smtpd_timeout_ms());
	smtpd_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	return CMD_WAIT;
}

static void
data_checked(struct smtpd_session *s, const struct smtpd_verdict *v, const char *addr)
{
	(void) addr;
	if (data_verdict(s, v) == CMD_WAIT) {
		smtpd_session_resume(s);	/* on with the content */
		return;
	}
	command_end(s, SMTPD_CMD_DATA, CMD_ERR);
}

static enum cmd_result
cmd_data(struct smtpd_session *s, const char *arg, size_t n, const struct lb_line *l)
{
	struct smtpd_verdict v;

	(void) arg;
	if (smtpd_tls_needed(s))
		return CMD_ERR;
	if (n > 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: DATA");
		return CMD_ERR;
	}
	if (!s->in_mail || (s->nrcpt == 0 && s->rcpt_tried == 0)) {
		smtpd_reply(s, 503, "5.5.1", "Error: need RCPT command");
		return CMD_ERR;
	}
	if (s->nrcpt == 0) {
		smtpd_reply(s, 554, "5.5.1", "Error: no valid recipients");
		return CMD_ERR;
	}
	s->data_crlf = l->end == LB_END_CRLF;
	if (!smtpd_restrict(s, SMTPD_AT_DATA, NULL, &v, data_checked)) {
		s->state = SMTPD_ST_CHECK;
		return CMD_WAIT;
	}
	return data_verdict(s, &v);
}

static enum cmd_result
vrfy_verdict(struct smtpd_session *s, const struct smtpd_verdict *v, const char *addr)
{
	if (v->code) {
		refuse(s, "VRFY", v, addr);
		return CMD_ERR;
	}
	smtpd_reply(s, 252, "2.0.0", "<%s>", addr);
	return CMD_OK;
}

static void
vrfy_checked(struct smtpd_session *s, const struct smtpd_verdict *v, const char *addr)
{
	command_end(s, SMTPD_CMD_VRFY, vrfy_verdict(s, v, addr));
}

static enum cmd_result
cmd_vrfy(struct smtpd_session *s, const char *arg, size_t n)
{
	struct smtpd_verdict v;
	struct addr_error e;
	struct addr a;

	if (cfg->disable_vrfy_command) {
		smtpd_reply(s, 502, "5.5.1", "VRFY command is disabled");
		return CMD_ERR;
	}
	if (smtpd_tls_needed(s))
		return false;
	if (n == 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: VRFY address");
		return CMD_ERR;
	}
	if (addr_parse_path(arg, n, ADDR_ALLOW_NO_DOMAIN | ADDR_ALLOW_NO_BRACKETS
			    | (cfg->smtputf8_enable ? ADDR_SMTPUTF8 : 0), &a, NULL, &e) < 0) {
		smtpd_reply(s, e.code, e.dsn, "%s", e.text);
		return CMD_ERR;
	}
	if (!smtpd_restrict(s, SMTPD_AT_VRFY, a.addr, &v, vrfy_checked)) {
		s->state = SMTPD_ST_CHECK;
		return CMD_WAIT;
	}
	return vrfy_verdict(s, &v, a.addr);
}

/* after - the error limits, after any command */
static void
after(struct smtpd_session *s)
{
	char	text[300];

	if (s->closing)
		return;
	if (s->errors >= (unsigned) cfg->smtpd_hard_error_limit) {
		smtpd_log(s, "too many errors after %s from %s[%s]", s->where,
			  s->name, s->addr);
		(void) str_fmt(text, sizeof(text), "%s Error: too many errors",
			       cfg->myhostname);
		smtpd_drop(s, 421, "4.7.0", text);
		return;
	}
	smtpd_error_delay(s);
}

void
smtpd_proto_line(struct smtpd_session *s, const struct lb_line *l)
{
	const char *p = l->data, *arg;
	size_t	n = l->len, vlen = 0, alen;
	enum smtpd_cmd c;
	enum cmd_result r = CMD_ERR;
	bool	ok = false;

	if (l->flags & LB_TOO_LONG) {
		if (l->end == LB_END_NONE) {	/* discard up to its end... */
			s->long_cmd += l->len;
			if (s->long_cmd <= (uint64_t) cfg->line_length_limit
			    * SMTPD_LONG_CMD_FACTOR)
				return;
			/* ...unless it has none in sight */
			smtpd_log(s, "warning: command line longer than %llu bytes "
				  "and still going (line_length_limit %lld) from "
				  "%s[%s]; disconnecting", (unsigned long long) s->long_cmd,
				  cfg->line_length_limit, s->name, s->addr);
			smtpd_drop(s, 500, "5.5.2", "Error: command too long");
			return;
		}
		s->long_cmd = 0;
		s->errors++;
		smtpd_log(s, "warning: command line longer than %lld bytes "
			  "(line_length_limit) from %s[%s]", cfg->line_length_limit,
			  s->name, s->addr);
		smtpd_reply(s, 500, "5.5.2", "Error: command too long");
		after(s);
		return;
	}
	if (s->bare_reject && (l->end == LB_END_LF || memchr(p, '\r', n) != NULL)) {
		bool	lf = l->end == LB_END_LF;

		smtpd_log(s, "warning: bare <%s> received in a command from %s[%s]",
			  lf ? "LF" : "CR", s->name, s->addr);
		s->errors++;
		smtpd_reply(s, 550, "5.5.2", "Error: bare <%s> received", lf ? "LF" : "CR");
		after(s);
		return;
	}
	while (vlen < n && p[vlen] != ' ')
		vlen++;
	c = n == 0 || memchr(p, 0, n) ? SMTPD_CMD_UNKNOWN : smtpd_cmd_lookup(p, vlen);
	arg = p + vlen;
	alen = n - vlen;
	while (alen > 0 && arg[0] == ' ')
		arg++, alen--;
	while (alen > 0 && (arg[alen - 1] == ' ' || arg[alen - 1] == '\t'))
		alen--;
	/* MAIL and RCPT under a rate limit wait for anvil's count first. */
	switch (smtpd_anvil_gate(s, c, l)) {
	case SMTPD_GATE_WAIT:
		return;				/* handled again when it answers */
	case SMTPD_GATE_REFUSED:
		s->cmd_total[c]++;
		s->where = c == SMTPD_CMD_MAIL ? "MAIL" : "RCPT";
		command_end(s, c, CMD_ERR);
		return;
	}
	s->cmd_total[c]++;
	s->where = cmd_where(c);
	if (must_wait(s, c) && ill_pipelining(s))
		return;

	switch (c) {
	case SMTPD_CMD_UNKNOWN:
		if (n == 0 || memchr(p, 0, n))
			smtpd_reply(s, 500, "5.5.2", "Error: bad syntax");
		else
			smtpd_reply(s, 502, "5.5.2", "Error: command not recognized");
		break;
	case SMTPD_CMD_HELO:
	case SMTPD_CMD_EHLO:
		r = cmd_helo(s, c, arg, alen);
		break;
	case SMTPD_CMD_STARTTLS:
		ok = smtpd_tls_cmd(s, arg, alen);
		break;
	case SMTPD_CMD_AUTH:
		if (smtpd_sasl_cmd(s, arg, alen))
			return;			/* smtpd_command_end() comes later */
		break;
	case SMTPD_CMD_MAIL:
		r = cmd_mail(s, arg, alen);
		break;
	case SMTPD_CMD_RCPT:
		r = cmd_rcpt(s, arg, alen);
		break;
	case SMTPD_CMD_DATA:
		/* Counted good when the message is queued. */
		if ((r = cmd_data(s, arg, alen, l)) == CMD_ERR)
			break;
		return;
	case SMTPD_CMD_RSET:
		if (alen > 0) {
			smtpd_reply(s, 501, "5.5.4", "Syntax: RSET");
			break;
		}
		smtpd_proto_reset(s);
		smtpd_reply(s, 250, "2.0.0", "Ok");
		ok = true;
		break;
	case SMTPD_CMD_NOOP:
		smtpd_reply(s, 250, "2.0.0", "Ok");
		ok = true;
		break;
	case SMTPD_CMD_VRFY:
		r = cmd_vrfy(s, arg, alen);
		break;
	case SMTPD_CMD_HELP:
		smtpd_reply(s, 214, "2.0.0", "Commands: EHLO HELO %s%sMAIL RCPT DATA "
			    "RSET NOOP VRFY HELP QUIT", smtpd_tls_offered(s)
			    ? "STARTTLS " : "", smtpd_sasl_offered(s) ? "AUTH " : "");
		ok = true;
		break;
	case SMTPD_CMD_QUIT:
		smtpd_reply(s, 221, "2.0.0", "Bye");
		s->cmd_ok[c]++;
		s->closing = true;
		return;
	case SMTPD_CMD_COUNT:
		log_panic("smtpd_proto_line: bad command");
	}
	if (r == CMD_WAIT)
		return;				/* command_end() comes later */
	if (ok)
		r = CMD_OK;
	command_end(s, c, r);
}

void
smtpd_command_end(struct smtpd_session *s, enum smtpd_cmd c, bool ok)
{
	command_end(s, c, ok ? CMD_OK : CMD_ERR);
}

/*
 * command_end - count a command that is over and apply the error
 * limits; for one that waited for its checks, go on with the session.
 */
static void
command_end(struct smtpd_session *s, enum smtpd_cmd c, enum cmd_result r)
{
	bool	waited = s->state == SMTPD_ST_CHECK;

	if (waited) {
		s->state = SMTPD_ST_CMD;
		smtpd_set_deadline(s, smtpd_timeout_ms());
	}
	if (r == CMD_OK)
		s->cmd_ok[c]++;
	else
		s->errors++;
	if ((c == SMTPD_CMD_NOOP || c == SMTPD_CMD_VRFY || c == SMTPD_CMD_RSET
	     || c == SMTPD_CMD_HELP) && ++s->junk > (unsigned) cfg->smtpd_junk_command_limit)
		s->errors++;
	after(s);
	if (waited)
		smtpd_session_resume(s);
}

/* eod_verdict - the end of data's checks decided: deliver, or refuse */
static void
eod_verdict(struct smtpd_session *s, const struct smtpd_verdict *v)
{
	if (v->code == 0) {
		smtpd_deliver(s);
		return;
	}
	refuse(s, "END-OF-MESSAGE", v, NULL);
	smtpd_proto_reset(s);
	s->errors++;
	after(s);
}

static void
eod_checked(struct smtpd_session *s, const struct smtpd_verdict *v, const char *addr)
{
	(void) addr;
	s->state = SMTPD_ST_CMD;
	smtpd_set_deadline(s, smtpd_timeout_ms());
	eod_verdict(s, v);
	smtpd_session_resume(s);
}

void
smtpd_proto_data_line(struct smtpd_session *s, const struct lb_line *l)
{
	int	code;
	const char *dsn, *text;

	if (!smtpd_data_line(&s->data, l))
		return;
	s->where = "END-OF-MESSAGE";
	if (!s->pipelining && ill_pipelining(s))
		return;
	s->state = SMTPD_ST_CMD;
	(void) smtpd_data_finish(&s->data);
	if (smtpd_data_verdict(&s->data, &code, &dsn, &text)) {
		if (s->data.flags & SMTPD_DATA_WRITE_ERR) {
			errno = s->data.write_errno;
			smtpd_log(s, "warning: spool file write error for %s[%s] "
				  "in %s: %m (check smtpd_spool_directory, its owner "
				  "and free space)", s->name, s->addr, smtpd_conf.spool_dir);
		}
		reject_log(s, "END-OF-MESSAGE", code, dsn, text, NULL);
		smtpd_reply(s, code, dsn, "%s", text);
		smtpd_proto_reset(s);
		s->errors++;
		after(s);
		return;
	}
	s->spool_fd = smtpd_data_take_fd(&s->data, &s->spool_charge);
	smtpd_data_free(&s->data);
	{
		struct smtpd_verdict v;

		if (!smtpd_restrict(s, SMTPD_AT_EOD, NULL, &v, eod_checked)) {
			s->state = SMTPD_ST_CHECK;
			return;
		}
		eod_verdict(s, &v);
	}
}

/*
 * smtpd_proto_client_line - "QUEUEID: client=NAME[ADDR]" (with the
 * SASL login), logged when cleanup tells the queue ID, before qmgr
 * can see the message (lib/svc/cleanup_clnt.h, "The queue ID first")
 */
void
smtpd_proto_client_line(struct smtpd_session *s, const char *qid)
{
	if (smtpd_sasl_authenticated(s))
		log_info("%s: client=%s[%s], sasl_method=%s, sasl_username=%s",
			 qid, s->name, s->addr, s->sasl_method, s->sasl_username);
	else
		log_info("%s: client=%s[%s]", qid, s->name, s->addr);
}

/*
 * smtpd_proto_queued - cleanup (or the -D writer) has answered for
 * the message: status 0 queued as qid, 4 or 5 refused with reason
 * ("4.3.0 text").  The client= line was logged already.
 */
void
smtpd_proto_queued(struct smtpd_session *s, int status, const char *qid,
		   const char *reason)
{
	s->state = SMTPD_ST_CMD;
	if (status == 0) {
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", qid);
		s->cmd_ok[SMTPD_CMD_DATA]++;
		s->messages++;
	} else {
		char	dsn[DSN_MAX + 1];
		size_t	k = dsn_scan(reason, strlen(reason));
		int	code = status == 5 ? 554 : 451;

		dsn[0] = 0;
		if (k > 0 && k <= DSN_MAX) {
			memcpy(dsn, reason, k);
			dsn[k] = 0;
		}
		if (dsn[0] && dsn_class(dsn) == (status == 5 ? '5' : '4')) {
			reason += k;
			while (*reason == ' ')
				reason++;
		} else
			(void) str_copy(dsn, sizeof(dsn), status == 5 ? "5.0.0" : "4.3.0");
		if (str_eq(dsn, "5.3.4"))
			code = 552;
		else if (str_eq(dsn, "5.7.1"))
			code = 550;		/* content rejected, as Postfix */
		else if (str_eq(dsn, "4.3.1"))
			code = 452;
		if (reason[0] == 0)
			reason = status == 5 ? "Error: message refused"
			    : "Error: queue file write error";
		reject_log(s, "END-OF-MESSAGE", code, dsn, reason, NULL);
		smtpd_reply(s, code, dsn, "%s", reason);
		s->errors++;
	}
	smtpd_proto_reset(s);
	smtpd_set_deadline(s, smtpd_timeout_ms());
	after(s);
}
