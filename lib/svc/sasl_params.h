/*
 * NAME
 *	sasl_params - postern check for the SMTP AUTH settings
 * SYNOPSIS
 *	#include "sasl_params.h"
 *
 *	n += sasl_params_check(p, "DIR/main.cf", problems);
 * DESCRIPTION
 *	With smtpd_sasl_auth_enable = yes: smtpd_sasl_type must be
 *	dovecot or postern and smtpd_sasl_path set; for postern,
 *	auth_passwd_file must be set, not readable or writable by
 *	everyone (it holds password hashes), and, when run as root, load
 *	(lib/svc/auth_users.h: the very check auth makes at start).  One line
 *	per problem, prefixed with where; it returns their number.
 *	tls_params_check() runs it for main.cf and for every smtpd
 *	service whose -o options touch SMTP AUTH.
 */
#ifndef POSTERN_SASL_PARAMS_H
#define POSTERN_SASL_PARAMS_H

#include "buf.h"
#include "params.h"

int	sasl_params_check(const struct params *p, const char *where,
			  struct buf *problems);

#endif
