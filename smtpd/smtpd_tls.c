/*
 * NAME
 *	smtpd_tls - STARTTLS (RFC 3207) and implicit TLS for smtpd
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_tls_init();		// as root, before the chroot
 *	if (smtpd_tls_offered(s)) ... "STARTTLS" in the EHLO reply ...
 *	if (smtpd_tls_needed(s)) return;	// 530 sent: TLS first
 *	ok = smtpd_tls_cmd(s, arg, n);	// the STARTTLS command
 *	if (smtpd_tls_wrapper(s)) ...	// wrapper mode: greet after TLS
 *	ok = smtpd_tls_event(s, events);	// TLSIO_TLS_UP / _FAIL
 * DESCRIPTION
 *	smtpd_tls_init() makes the server context from main.cf and the
 *	service's -o options (tls_params.h) while the process is still
 *	root, so the key files can be readable by root alone.  A context
 *	that cannot be made (a missing certificate, a key that does not
 *	match) is fatal: postern check says the same before start.  With
 *	smtpd_tls_security_level none and no wrapper mode there is no
 *	context and STARTTLS is neither offered nor accepted.  A reload
 *	starts new smtpd processes, which read the certificate again; the
 *	processes of the old generation keep theirs until their sessions
 *	end, so a renewed certificate is served to new sessions at once.
 *	Session tickets are sealed with keys derived from the instance's
 *	seed (lib/svc/ticket_seed.h, read here as root), so a ticket from
 *	any smtpd process, of this generation or an earlier one, resumes
 *	in any other.
 *
 *	STARTTLS: "220 2.0.0 Ready to start TLS", then the handshake
 *	under the session's command deadline (smtpd_timeout).  Every byte
 *	the client sent after the STARTTLS line and before the handshake
 *	is discarded (tlsio_starttls(): CVE-2011-0411, command injection
 *	into the TLS session) and logged as "improper command pipelining
 *	after STARTTLS".  When the handshake completes the session starts
 *	over, as RFC 3207 says: the client's HELO/EHLO and any
 *	transaction are forgotten.  Refused: STARTTLS with an argument
 *	(501 5.5.4), when TLS is not offered (502 5.5.1), inside a mail
 *	transaction (503 5.5.1), when TLS is already on (554 5.5.1).
 *
 *	smtpd_tls_security_level = encrypt: MAIL, RCPT, DATA, VRFY and
 *	AUTH before STARTTLS get "530 5.7.0 Must issue a STARTTLS command
 *	first".  smtpd_tls_wrappermode = yes: the handshake starts when
 *	the client connects, and the greeting follows it.
 *
 *	Logging, as Postfix: "Anonymous TLS connection established from
 *	NAME[ADDR]: TLSv1.3 with cipher ... (256/256 bits) key-exchange
 *	..." (no client certificate is asked for, so every connection is
 *	anonymous), "SSL_accept error from NAME[ADDR]: REASON" for a
 *	failed handshake.  smtpd_tls_received() gives the text for the
 *	Received: header.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "params.h"
#include "smtpd.h"
#include "str.h"
#include "ticket_seed.h"
#include "tls_params.h"

static SSL_CTX *server_ctx;		/* NULL: no TLS */

void
smtpd_tls_init(void)
{
	static unsigned char seed[TLS_TICKET_SEED_LEN];
	struct tls_server_conf c;
	char	why[600];

	if (!tls_params_smtpd_wanted(cfg))
		return;
	tls_params_smtpd(cfg, &c);
	/* Tickets that every smtpd process of the instance can open. */
	if (c.ticket_lifetime > 0) {
		if (ticket_seed_read(cfg->data_directory, seed, why, sizeof(why)) == 0)
			c.ticket_seed = seed;
		else
			log_warn("TLS session tickets of this process open only here: %s", why);
	}
	server_ctx = tls_ctx_server(&c, why, sizeof(why));
	OPENSSL_cleanse(seed, sizeof(seed));	/* the context has its copy */
	if (server_ctx == NULL)
		log_fatal("TLS for smtpd (smtpd_tls_security_level = %s%s): %s",
			  cfg->smtpd_tls_security_level, cfg->smtpd_tls_wrappermode
			  ? ", smtpd_tls_wrappermode = yes" : "", why);
}

void
smtpd_tls_end(void)
{
	tls_ctx_free(server_ctx);
	server_ctx = NULL;
}

bool
smtpd_tls_offered(const struct smtpd_session *s)
{
	return server_ctx != NULL && s->io.state == TLSIO_PLAIN;
}

bool
smtpd_tls_needed(struct smtpd_session *s)
{
	if (s->io.state == TLSIO_TLS
	    || tls_params_level(cfg->smtpd_tls_security_level) != TLS_LEVEL_ENCRYPT)
		return false;
	smtpd_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
	return true;
}

bool
smtpd_tls_cmd(struct smtpd_session *s, const char *arg, size_t n)
{
	size_t	discarded = 0;

	(void) arg;
	if (n > 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: STARTTLS");
		return false;
	}
	if (s->io.state != TLSIO_PLAIN) {
		smtpd_reply(s, 554, "5.5.1", "Error: TLS already active");
		return false;
	}
	if (server_ctx == NULL) {
		smtpd_reply(s, 502, "5.5.1", "Error: command not implemented");
		return false;
	}
	if (s->in_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: MAIL transaction in progress");
		return false;
	}
	smtpd_reply(s, 220, "2.0.0", "Ready to start TLS");
	if (tlsio_starttls(&s->io, server_ctx, NULL, &discarded) < 0) {
		/* Only a shortage (SSL_new): the 220 is taken back. */
		buf_reset(&s->io.out);
		smtpd_log(s, "warning: STARTTLS from %s[%s]: %s", s->name, s->addr,
			  tlsio_error(&s->io));
		smtpd_reply(s, 454, "4.7.0", "TLS not available due to local problem");
		return false;
	}
	if (discarded > 0)
		smtpd_log(s, "improper command pipelining after STARTTLS from %s[%s]: "
			  "%zu byte%s discarded", s->name, s->addr, discarded,
			  discarded == 1 ? "" : "s");
	smtpd_set_deadline(s, smtpd_timeout_ms());
	return true;
}

bool
smtpd_tls_wrapper(struct smtpd_session *s)
{
	if (!cfg->smtpd_tls_wrappermode || server_ctx == NULL)
		return false;
	if (tlsio_wrap(&s->io, server_ctx, NULL) < 0) {
		smtpd_log(s, "warning: TLS for %s[%s]: %s", s->name, s->addr,
			  tlsio_error(&s->io));
		s->closing = true;
	}
	return true;
}

bool
smtpd_tls_event(struct smtpd_session *s, unsigned events)
{
	char	sum[TLSIO_ERR_MAX];

	if (events & TLSIO_TLS_FAIL) {
		smtpd_log(s, "SSL_accept error from %s[%s]: %s", s->name, s->addr,
			  tlsio_error(&s->io));
		return false;
	}
	tlsio_summary(&s->io, sum, sizeof(sum));
	smtpd_log(s, "Anonymous TLS connection established from %s[%s]: %s",
		 s->name, s->addr, sum);
	if (cfg->smtpd_tls_wrappermode && s->cmd_total[SMTPD_CMD_EHLO] == 0
	    && s->cmd_total[SMTPD_CMD_HELO] == 0 && !s->greeted) {
		smtpd_proto_greet(s);
		s->greeted = true;
		return true;
	}
	/* RFC 3207 section 4.2: forget what the client said in the clear. */
	smtpd_proto_reset(s);
	smtpd_sasl_logout(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->pipelining = false;
	return true;
}

void
smtpd_tls_received(const struct smtpd_session *s, char *out, size_t size)
{
	*out = '\0';
	if (s->io.state == TLSIO_TLS && cfg->smtpd_tls_received_header)
		tlsio_summary(&s->io, out, size);
}
