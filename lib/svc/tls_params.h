/*
 * NAME
 *	tls_params - the TLS settings of main.cf and master.cf, read the
 *	same way by smtpd and by postern check
 * SYNOPSIS
 *	#include "tls_params.h"
 *
 *	int level = tls_params_level(cfg->smtpd_tls_security_level);
 *	struct tls_server_conf sc;
 *	if (tls_params_smtpd_wanted(cfg)) {
 *		tls_params_smtpd(cfg, &sc);
 *		ctx = tls_ctx_server(&sc, why, sizeof(why));
 *	}
 *	n += tls_params_check(instance, problems);
 * DESCRIPTION
 *	tls_params_level() reads a smtpd_tls_security_level value:
 *	TLS_LEVEL_NONE ("none" or empty), TLS_LEVEL_MAY, TLS_LEVEL_ENCRYPT,
 *	or -1 for anything else (Postfix's client-only levels too).
 *
 *	tls_params_smtpd_wanted() says whether smtpd serves TLS at all
 *	(a level other than none, or smtpd_tls_wrappermode).
 *	tls_params_smtpd() fills a server context's settings from the
 *	parameters: smtpd_tls_chain_files, or smtpd_tls_cert_file and
 *	smtpd_tls_key_file; smtpd_tls_mandatory_protocols and
 *	smtpd_tls_mandatory_ciphers when TLS is required (encrypt, or
 *	wrapper mode), else smtpd_tls_protocols and smtpd_tls_ciphers;
 *	smtpd_tls_session_cache_timeout as the ticket lifetime.
 *
 *	tls_params_smtp() fills the SMTP client's context settings:
 *	smtp_tls_CAfile, smtp_tls_CApath, and smtp_tls_mandatory_protocols
 *	and smtp_tls_mandatory_ciphers for the levels that require TLS
 *	(encrypt, verify, secure), else smtp_tls_protocols and
 *	smtp_tls_ciphers.
 *	tls_params_check() checks main.cf and every smtpd service of
 *	master.cf with its -o options: the level, the protocols and the
 *	cipher grades, that the private key files are readable neither by
 *	everyone nor by mail_owner (tls_ctx.h, tls_key_file_check), and,
 *	run as root, that the certificates and keys load and match (the
 *	very context smtpd will make); the SMTP AUTH settings
 *	(sasl_params.h) of each of them; and main.cf's SMTP client
 *	settings (protocols and cipher grades; run as root, that the CA
 *	files load).  One line per problem; it returns their number.
 */
#ifndef POSTERN_TLS_PARAMS_H
#define POSTERN_TLS_PARAMS_H

#include <stdbool.h>

#include "buf.h"
#include "instance.h"
#include "params.h"
#include "tls_ctx.h"

enum { TLS_LEVEL_NONE, TLS_LEVEL_MAY, TLS_LEVEL_ENCRYPT };

int	tls_params_level(const char *value);
bool	tls_params_smtpd_wanted(const struct params *p);
void	tls_params_smtpd(const struct params *p, struct tls_server_conf *c);
void	tls_params_smtp(const struct params *p, bool mandatory,
			struct tls_client_conf *c);
int	tls_params_check(const struct instance *in, struct buf *problems);

#endif
