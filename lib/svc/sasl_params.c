/*
 * NAME
 *	sasl_params - postern check for the SMTP AUTH settings
 * DESCRIPTION
 *	See sasl_params.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_users.h"
#include "sasl_params.h"
#include "str.h"

int
sasl_params_check(const struct params *p, const char *where, struct buf *problems)
{
	struct auth_users *t;
	struct stat st;
	char	why[700];

	if (!p->smtpd_sasl_auth_enable)
		return 0;
	if (!str_eq(p->smtpd_sasl_type, "dovecot") && !str_eq(p->smtpd_sasl_type, "postern")) {
		buf_appendf(problems, "%s: smtpd_sasl_type = %s: want dovecot or postern\n",
			    where, p->smtpd_sasl_type);
		return 1;
	}
	if (*p->smtpd_sasl_path == '\0') {
		buf_appendf(problems, "%s: smtpd_sasl_path is empty: name the back "
			    "end's socket (private/auth)\n", where);
		return 1;
	}
	if (!str_eq(p->smtpd_sasl_type, "postern"))
		return 0;
	if (*p->auth_passwd_file == '\0') {
		buf_appendf(problems, "%s: smtpd_sasl_type = postern needs "
			    "auth_passwd_file (name:hash lines)\n", where);
		return 1;
	}
	if (stat(p->auth_passwd_file, &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH))) {
		buf_appendf(problems, "%s: auth_passwd_file %s is readable or writable "
			    "by everyone (mode %04o): chmod o-rwx it\n", where,
			    p->auth_passwd_file, (unsigned) (st.st_mode & 07777));
		return 1;
	}
	if (geteuid() != 0)
		return 0;
	if ((t = auth_users_load(p->auth_passwd_file, why, sizeof(why))) == NULL) {
		buf_appendf(problems, "%s: auth_passwd_file: %s\n", where, why);
		return 1;
	}
	auth_users_free(t);
	return 0;
}
