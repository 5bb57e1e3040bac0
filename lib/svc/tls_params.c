/*
 * NAME
 *	tls_params - the TLS settings of main.cf and master.cf, read the
 *	same way by smtpd and by postern check
 * DESCRIPTION
 *	See tls_params.h.  A master.cf service is an smtpd service when
 *	its command is smtpd; its -o options are applied to main.cf as
 *	the master applies them (config_load() with the overrides), so
 *	what is checked is what the service's smtpd will read.
 */
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "sasl_params.h"
#include "str.h"
#include "tls_params.h"

int
tls_params_level(const char *v)
{
	if (*v == '\0' || str_casecmp(v, "none") == 0)
		return TLS_LEVEL_NONE;
	if (str_casecmp(v, "may") == 0)
		return TLS_LEVEL_MAY;
	if (str_casecmp(v, "encrypt") == 0)
		return TLS_LEVEL_ENCRYPT;
	return -1;
}

bool
tls_params_smtpd_wanted(const struct params *p)
{
	return p->smtpd_tls_wrappermode || tls_params_level(p->smtpd_tls_security_level) > 0;
}

void
tls_params_smtpd(const struct params *p, struct tls_server_conf *c)
{
	bool	mandatory = p->smtpd_tls_wrappermode
	    || tls_params_level(p->smtpd_tls_security_level) == TLS_LEVEL_ENCRYPT;

	memset(c, 0, sizeof(*c));
	c->cert_file = p->smtpd_tls_cert_file;
	c->key_file = p->smtpd_tls_key_file;
	c->chain_files = p->smtpd_tls_chain_files;
	c->protocols = mandatory ? p->smtpd_tls_mandatory_protocols : p->smtpd_tls_protocols;
	c->ciphers = mandatory ? p->smtpd_tls_mandatory_ciphers : p->smtpd_tls_ciphers;
	c->ticket_lifetime = p->smtpd_tls_session_cache_timeout;
}

/* key_files - check each file that holds a private key */
static int
key_files(const struct params *p, const char *where, struct buf *problems)
{
	struct passwd *pw = getpwnam(p->mail_owner);
	const char *list = *p->smtpd_tls_chain_files ? p->smtpd_tls_chain_files : NULL;
	char	why[600], file[4096];
	int	n = 0;

	if (pw == NULL)
		return 0;			/* qtree_check says so */
	if (list == NULL) {
		const char *key = *p->smtpd_tls_key_file ? p->smtpd_tls_key_file
		    : p->smtpd_tls_cert_file;

		if (*key && tls_key_file_check(key, pw->pw_uid, pw->pw_gid,
					       p->mail_owner, why, sizeof(why)) < 0) {
			buf_appendf(problems, "%s: %s\n", where, why);
			n++;
		}
		return n;
	}
	while (*list) {
		size_t	k;

		list += strspn(list, " \t,");
		if ((k = strcspn(list, " \t,")) == 0)
			break;
		if (str_fmt(file, sizeof(file), "%.*s", (int) k, list) == 0
		    && tls_key_file_check(file, pw->pw_uid, pw->pw_gid, p->mail_owner,
					  why, sizeof(why)) < 0) {
			buf_appendf(problems, "%s: %s\n", where, why);
			n++;
		}
		list += k;
	}
	return n;
}

/* check_one - the settings one smtpd service reads */
static int
check_one(const struct params *p, const char *where, struct buf *problems)
{
	struct tls_server_conf c;
	char	why[600];
	int	n = 0;
	SSL_CTX *ctx;

	if (tls_params_level(p->smtpd_tls_security_level) < 0) {
		buf_appendf(problems, "%s: smtpd_tls_security_level = %s: want none, "
			    "may or encrypt\n", where, p->smtpd_tls_security_level);
		n++;
	}
	if (!tls_params_smtpd_wanted(p))
		return n;
	tls_params_smtpd(p, &c);
	if (tls_protocols_check(c.protocols, why, sizeof(why)) < 0
	    || tls_ciphers_check(c.ciphers, why, sizeof(why)) < 0) {
		buf_appendf(problems, "%s: %s\n", where, why);
		return n + 1;
	}
	n += key_files(p, where, problems);
	if (n > 0 || geteuid() != 0)
		return n;
	if ((ctx = tls_ctx_server(&c, why, sizeof(why))) == NULL) {
		buf_appendf(problems, "%s: TLS: %s\n", where, why);
		return n + 1;
	}
	tls_ctx_free(ctx);
	return n;
}

/*
 * touches - the service's -o options set something check_one or
 * sasl_params_check reads
 */
static bool
touches(const struct mastercf_entry *e)
{
	static const char *const prefixes[] = {
		"smtpd_tls_", "smtpd_sasl_", "auth_passwd_file=", "mail_owner=",
	};

	for (int j = 0; j < e->n_overrides; j++)
		for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++)
			if (strncmp(e->overrides[j], prefixes[k], strlen(prefixes[k])) == 0)
				return true;
	return false;
}

void
tls_params_smtp(const struct params *p, bool mandatory, struct tls_client_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->CAfile = p->smtp_tls_CAfile;
	c->CApath = p->smtp_tls_CApath;
	c->protocols = mandatory ? p->smtp_tls_mandatory_protocols : p->smtp_tls_protocols;
	c->ciphers = mandatory ? p->smtp_tls_mandatory_ciphers : p->smtp_tls_ciphers;
}

/* check_smtp - the client contexts the SMTP client makes at start */
static int
check_smtp(const struct params *p, const char *where, struct buf *problems)
{
	struct tls_client_conf c;
	char	why[600];
	SSL_CTX *ctx;

	for (int mandatory = 0; mandatory < 2; mandatory++) {
		tls_params_smtp(p, mandatory, &c);
		if (tls_protocols_check(c.protocols, why, sizeof(why)) < 0
		    || tls_ciphers_check(c.ciphers, why, sizeof(why)) < 0) {
			buf_appendf(problems, "%s: %s\n", where, why);
			return 1;
		}
	}
	if (geteuid() != 0 || (*c.CAfile == '\0' && *c.CApath == '\0'))
		return 0;
	if ((ctx = tls_ctx_client(&c, why, sizeof(why))) == NULL) {
		buf_appendf(problems, "%s: SMTP client TLS: %s\n", where, why);
		return 1;
	}
	tls_ctx_free(ctx);
	return 0;
}

int
tls_params_check(const struct instance *in, struct buf *problems)
{
	const struct params *p = in->params;
	char	where[300];
	int	n;

	(void) str_fmt(where, sizeof(where), "%s/main.cf", p->config_directory);
	n = check_one(p, where, problems) + sasl_params_check(p, where, problems);
	n += check_smtp(p, where, problems);
	for (size_t i = 0; i < in->mc.n; i++) {
		const struct mastercf_entry *e = &in->mc.v[i];
		struct params *sp;
		struct buf err;

		if (!str_eq(e->argv[0], "smtpd") || !touches(e))
			continue;
		(void) str_fmt(where, sizeof(where), "%s/master.cf, line %d: service %s",
			       p->config_directory, e->line, e->name);
		buf_init(&err, 64 * 1024);
		sp = config_load(p->config_directory, (const char *const *) e->overrides,
				 (size_t) e->n_overrides, &err);
		if (sp != NULL) {
			n += check_one(sp, where, problems);
			n += sasl_params_check(sp, where, problems);
			config_free(sp);
		}
		/* A service whose -o options do not load: mastercf said so. */
		buf_free(&err);
	}
	return n;
}
