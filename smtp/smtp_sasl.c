/*
 * NAME
 *	smtp_sasl - client AUTH (RFC 4954): PLAIN and LOGIN
 * SYNOPSIS
 *	#include "smtp.h"
 *
 *	if (smtp_sasl_split("user:secret", user, sizeof(user), pass,
 *			    sizeof(pass)) < 0) ... malformed entry ...
 *	mech = smtp_sasl_pick("LOGIN PLAIN CRAM-MD5");	// "PLAIN"
 *	smtp_sasl_plain(user, pass, &b);	// base64("\0user\0secret")
 *	smtp_sasl_b64("user", &b);		// for LOGIN's prompts
 *
 *	smtp_sasl_open(why, n);			// pre-jail: the table
 *	r = smtp_sasl_lookup(&nh, user, usize, pass, psize, why, n);
 * DESCRIPTION
 *	With smtp_sasl_auth_enable, smtp_sasl_open() opens
 *	smtp_sasl_password_maps in-process before the chroot, as
 *	Postfix's smtp does, so the file can stay readable by root only
 *	(the lookup service, unprivileged, could not read it; nor would
 *	any other daemon be able to ask for passwords); a change takes
 *	effect on the next postern reload.  smtp_sasl_lookup() asks it
 *	for the next hop as qmgr gave it ("[smtp.isp.example]:587"),
 *	then the host or domain alone: 1 found (user and pass set), 0
 *	no entry (no AUTH), -1 the table failed or the entry is
 *	malformed (why says which; the delivery is deferred).
 *
 *	smtp_sasl_password_maps gives "username:password" for a next hop
 *	(Postfix's format: the password is everything after the first
 *	colon).  smtp_sasl_split() cuts it; it returns -1 when there is
 *	no colon, the user name is empty, a part does not fit or holds a
 *	control character.
 *
 *	smtp_sasl_pick() chooses a mechanism from the server's AUTH
 *	list: PLAIN when offered (one round trip, RFC 4616), else LOGIN;
 *	NULL when neither is (postern has no other mechanism: the
 *	conversation goes on without AUTH, as Postfix's does when no
 *	mechanism matches).
 *
 *	smtp_sasl_plain() appends base64("" NUL user NUL pass) to out,
 *	smtp_sasl_b64() base64(s); both return -1 when out has no room.
 * SECURITY
 *	Both mechanisms send the password as it is: smtp_proto.c uses
 *	them only inside TLS unless smtp_sasl_security_options says
 *	otherwise, and never logs what it sends.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "base64.h"
#include "params.h"
#include "smtp.h"
#include "str.h"
#include "table.h"

static struct table_list *password_maps;

int
smtp_sasl_open(char *why, size_t whylen)
{
	char	err[TABLE_ERROR_MAX];

	if (!cfg->smtp_sasl_auth_enable || cfg->smtp_sasl_password_maps[0] == '\0')
		return 0;
	if ((password_maps = table_list_open(cfg->smtp_sasl_password_maps, 0, err,
					     sizeof(err))) == NULL) {
		(void) str_fmt(why, whylen, "smtp_sasl_password_maps: %s", err);
		return -1;
	}
	return 0;
}

void
smtp_sasl_close(void)
{
	table_list_close(password_maps);
	password_maps = NULL;
}

int
smtp_sasl_lookup(const struct smtp_nexthop *nh, char *user, size_t usize,
		 char *pass, size_t psize, char *why, size_t whylen)
{
	struct buf val;
	int	r;

	if (password_maps == NULL)
		return 0;
	buf_init(&val, TABLE_VALUE_MAX);
	r = table_list_get(password_maps, nh->key, &val, NULL);
	if (r == 0 && !str_eq(nh->key, nh->host))
		r = table_list_get(password_maps, nh->host, &val, NULL);
	if (r < 0)
		(void) str_fmt(why, whylen, "smtp_sasl_password_maps lookup of %s "
			       "failed: %s", nh->key, password_maps->error);
	else if (r == 1 && smtp_sasl_split(buf_str(&val), user, usize, pass, psize) < 0) {
		(void) str_fmt(why, whylen, "smtp_sasl_password_maps entry for %s is "
			       "not \"username:password\"", nh->key);
		r = -1;
	}
	OPENSSL_cleanse(val.data, val.len);
	buf_free(&val);
	return r;
}

int
smtp_sasl_split(const char *value, char *user, size_t usize, char *pass,
		size_t psize)
{
	const char *colon = strchr(value, ':');
	size_t	n;

	if (colon == NULL || colon == value)
		return -1;
	n = (size_t) (colon - value);
	if (n >= usize || str_has_ctl(value, n)
	    || str_has_ctl(colon + 1, strlen(colon + 1)))
		return -1;
	memcpy(user, value, n);
	user[n] = '\0';
	return str_copy(pass, psize, colon + 1);
}

/* has_mech - is name a word of the space-separated list? */
static bool
has_mech(const char *list, const char *name)
{
	size_t	n = strlen(name);

	for (const char *p = list; *p;) {
		size_t	w;

		while (*p == ' ')
			p++;
		w = strcspn(p, " ");
		if (w == n && str_ncasecmp(p, name, n) == 0)
			return true;
		p += w;
	}
	return false;
}

const char *
smtp_sasl_pick(const char *mechs)
{
	if (has_mech(mechs, "PLAIN"))
		return "PLAIN";
	if (has_mech(mechs, "LOGIN"))
		return "LOGIN";
	return NULL;
}

static int
b64(const unsigned char *in, size_t n, struct buf *out)
{
	return n > 4096 ? -1 : base64_encode(in, n, out);
}

int
smtp_sasl_b64(const char *s, struct buf *out)
{
	return b64((const unsigned char *) s, strlen(s), out);
}

int
smtp_sasl_plain(const char *user, const char *pass, struct buf *out)
{
	unsigned char raw[2 * 1024 + 2];
	size_t	u = strlen(user), w = strlen(pass);
	int	r;

	if (u + w + 2 > sizeof(raw))
		return -1;
	raw[0] = '\0';
	memcpy(raw + 1, user, u);
	raw[1 + u] = '\0';
	memcpy(raw + 2 + u, pass, w);
	r = base64_encode(raw, u + w + 2, out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}
