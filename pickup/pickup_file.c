/*
 * NAME
 *	pickup_file - one maildrop file into a cleanup envelope
 * DESCRIPTION
 *	See pickup.h.  The file was written by postdrop on behalf of a
 *	local user, who controlled every byte postdrop was given; this
 *	code believes nothing in it that qfile_read() and the checks here
 *	did not establish, and takes the user from the file's owner.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "maildrop.h"
#include "mem.h"
#include "pickup.h"
#include "str.h"

void
pickup_msg_free(struct pickup_msg *m)
{
	qfile_env_free(&m->env);
	free(m->rcpts);
	m->rcpts = NULL;
}

/* attr_value - "name=value" -> value when the name matches */
static const char *
attr_value(const char *attr, const char *name)
{
	size_t  n = strlen(name);

	return strncmp(attr, name, n) == 0 && attr[n] == '=' ? attr + n + 1 : NULL;
}

static int
bad(char *why, size_t whylen, const char *text)
{
	(void) str_copy(why, whylen, text);
	return PICKUP_BAD;
}

int
pickup_load(int fd, const char *myorigin, size_t rcpt_max, uint64_t size_max,
	    struct pickup_msg *m, char *why, size_t whylen)
{
	struct qfile_limits lim;
	struct stat st;
	const char *flags = "", *login = NULL, *v;
	bool    extract, has_sender;

	memset(m, 0, sizeof(*m));
	if (fstat(fd, &st) < 0) {
		(void) str_fmt(why, whylen, "fstat: %s", strerror(errno));
		return PICKUP_IO;
	}
	m->uid = st.st_uid;
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		return bad(why, whylen, "not a regular file with one link");

	qfile_limits_default(&lim);
	lim.addr_max = MAILDROP_ADDR_MAX;
	lim.attr_max = MAILDROP_ATTR_MAX;
	lim.attr_count = MAILDROP_ATTR_COUNT + 1;	/* + postdrop's login= */
	lim.rcpt_max = rcpt_max;
	lim.hdr_max = 0;
	lim.body_max = size_max == 0 ? QFILE_BODY_ABS_MAX : size_max;
	if (qfile_read(fd, QF_MAILDROP, NULL, &lim, &m->env, why, whylen) < 0)
		return errno != 0 ? PICKUP_IO : PICKUP_BAD;

	m->cenv.uid = (long long) m->uid;
	m->cenv.protocol = "local";
	for (size_t i = 0; i < m->env.nattrs; i++) {
		const char *a = m->env.attrs[i];
		const char *vwhy;

		/*
		 * 2026-11 review: a value cleanup refuses (a malformed
		 * request: a temporary failure) held up every scan at this
		 * file for ever.  Such a file is set aside here; an empty
		 * fullname (sendmail -F '') is no name.
		 */
		if ((vwhy = maildrop_value_why(QF_REC_ATTR, a, strlen(a))) != NULL)
			return bad(why, whylen, vwhy);
		if ((v = attr_value(a, MAILDROP_A_FLAGS)) != NULL)
			flags = v;
		else if ((v = attr_value(a, MAILDROP_A_LOGIN)) != NULL)
			login = v;
		else if ((v = attr_value(a, MAILDROP_A_FULLNAME)) != NULL)
			m->cenv.fullname = *v ? v : NULL;
		else if ((v = attr_value(a, MAILDROP_A_ENVID)) != NULL)
			m->cenv.envid = v;
		else if ((v = attr_value(a, MAILDROP_A_RET)) != NULL) {
			if (!str_eq(v, "FULL") && !str_eq(v, "HDRS"))
				return bad(why, whylen, "bad ret= attribute");
			m->cenv.ret = v;
		} else if ((v = attr_value(a, MAILDROP_A_BODY)) != NULL) {
			if (!str_eq(v, "7BIT") && !str_eq(v, "8BITMIME"))
				return bad(why, whylen, "bad body= attribute");
		} else
			return bad(why, whylen, "unknown attribute");
	}
	if (strspn(flags, "tf") != strlen(flags))
		return bad(why, whylen, "bad flags= attribute");
	extract = strchr(flags, MAILDROP_F_EXTRACT) != NULL;
	has_sender = strchr(flags, MAILDROP_F_SENDER) != NULL;
	if (login == NULL)
		return bad(why, whylen, "no login= attribute (postdrop writes one)");
	if (m->env.nrcpts == 0 && !extract)
		return bad(why, whylen, "no recipients and no flags=t");

	if (has_sender) {
		if (str_copy(m->sender, sizeof(m->sender), m->env.sender) < 0)
			return bad(why, whylen, "sender too long");
	} else {
		char    q[2 * ADDR_LOCAL_MAX + 4];

		if (strlen(login) > ADDR_LOCAL_MAX
		    || addr_quote_local(login, strlen(login), q, sizeof(q)) < 0)
			return bad(why, whylen, "login name unusable as an address");
		if (str_fmt(m->sender, sizeof(m->sender), "%s@%s", q, myorigin) < 0)
			return bad(why, whylen, "sender too long");
	}
	m->cenv.sender = m->sender;
	m->cenv.flags = CLEANUP_F_LOCAL | (extract ? CLEANUP_F_EXTRACT : 0);
	if (m->env.nrcpts > 0) {
		m->rcpts = xcalloc(m->env.nrcpts, sizeof(*m->rcpts));
		for (size_t i = 0; i < m->env.nrcpts; i++) {
			const char *o = m->env.rcpts[i].orig, *nt = m->env.rcpts[i].notify;
			const char *vwhy = NULL;

			if (o != NULL)
				vwhy = maildrop_value_why(QF_REC_ORCPT, o, strlen(o));
			if (vwhy == NULL && nt != NULL)
				vwhy = maildrop_value_why(QF_REC_NOTIFY, nt, strlen(nt));
			if (vwhy != NULL)
				return bad(why, whylen, vwhy);
			m->rcpts[i].addr = m->env.rcpts[i].address;
			m->rcpts[i].orcpt = m->env.rcpts[i].orig;
			m->rcpts[i].notify = m->env.rcpts[i].notify;
		}
	}
	m->cenv.rcpts = m->rcpts;
	m->cenv.nrcpts = m->env.nrcpts;
	m->cenv.offset = (uint64_t) m->env.msg_off;
	m->cenv.length = m->env.msg_len;
	return 0;
}
