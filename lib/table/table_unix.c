/*
 * NAME
 *	table_unix - unix:passwd.byname and unix:group.byname tables
 * DESCRIPTION
 *	See table.h.  Lookups go to the name service each time (nothing
 *	is cached), so a new user is found at once and the table never
 *	"changes".  The value has the passwd(5)/group(5) line form that
 *	Postfix's unix: table returns, with the password field "x":
 *
 *	  passwd.byname  NAME:x:UID:GID:GECOS:HOME:SHELL
 *	  group.byname   NAME:x:GID:MEMBER,MEMBER,...
 *
 *	getpwnam_r()/getgrnam_r() are used with a buffer that grows on
 *	ERANGE up to NSS_BUF_MAX, so a huge group is an error, not an
 *	unbounded allocation.  "Not found" is a zero return with no entry,
 *	or ENOENT/ESRCH (which some NSS modules return for it); any other
 *	error is a lookup error, so a caller defers rather than bounces
 *	while the name service is down.
 *
 *	A key that cannot be a user or group name (it holds '@', '/',
 *	':', white space or a control character, or is longer than
 *	NAME_KEY_MAX) is "not found" without asking the name service:
 *	lookups by full address ("user@domain") are routine for
 *	local_recipient_maps, and some NSS modules (systemd's userdb)
 *	search dozens of files for each such name.
 */
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "str.h"
#include "table.h"
#include "table_impl.h"

#define NSS_BUF_MIN	4096
#define NAME_KEY_MAX	256
#define NSS_BUF_MAX	(1024 * 1024)

enum unix_map { UNIX_PASSWD, UNIX_GROUP };

struct unix_state {
	enum unix_map map;
};

static int
unix_open(struct table *t)
{
	struct unix_state *st;
	enum unix_map map;

	if (str_eq(t->name, "passwd.byname"))
		map = UNIX_PASSWD;
	else if (str_eq(t->name, "group.byname"))
		map = UNIX_GROUP;
	else {
		table_seterr(t, "%.200s: unknown unix: table '%.100s': use "
			     "unix:passwd.byname or unix:group.byname",
			     t->spec, t->name);
		errno = EINVAL;
		return -1;
	}
	st = xmalloc(sizeof(*st));
	st->map = map;
	t->state = st;
	return 0;
}

/* not_found_errno - does this getXXnam_r() result mean "no such name"? */
static int
not_found_errno(int r)
{
	return r == 0 || r == ENOENT || r == ESRCH;
}

/* plausible_name - could key be a user or group name at all? */
static bool
plausible_name(const char *key)
{
	size_t  n = strlen(key);

	if (n == 0 || n > NAME_KEY_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *) key; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '@' || *p == '/' || *p == ':')
			return false;
	return true;
}

static int
unix_get(struct table *t, const char *key, struct buf *value)
{
	struct unix_state *st = t->state;
	struct buf out;
	size_t  size = NSS_BUF_MIN;
	char   *nssbuf = NULL;
	int     r, ret = -1;

	if (!plausible_name(key))
		return 0;
	buf_init(&out, TABLE_VALUE_MAX);
	for (;;) {
		nssbuf = xrealloc(nssbuf, size);
		if (st->map == UNIX_PASSWD) {
			struct passwd pw, *pwp = NULL;

			r = getpwnam_r(key, &pw, nssbuf, size, &pwp);
			if (r == 0 && pwp != NULL) {
				if (buf_appendf(&out, "%s:x:%lu:%lu:%s:%s:%s",
						pw.pw_name,
						(unsigned long) pw.pw_uid,
						(unsigned long) pw.pw_gid,
						pw.pw_gecos ? pw.pw_gecos : "",
						pw.pw_dir ? pw.pw_dir : "",
						pw.pw_shell ? pw.pw_shell : "") < 0)
					goto too_long;
				break;
			}
		} else {
			struct group gr, *grp = NULL;

			r = getgrnam_r(key, &gr, nssbuf, size, &grp);
			if (r == 0 && grp != NULL) {
				if (buf_appendf(&out, "%s:x:%lu:", gr.gr_name,
						(unsigned long) gr.gr_gid) < 0)
					goto too_long;
				for (char **m = gr.gr_mem; m && *m; m++)
					if (buf_appendf(&out, "%s%s",
						m == gr.gr_mem ? "" : ",", *m) < 0)
						goto too_long;
				break;
			}
		}
		if (r == ERANGE && size < NSS_BUF_MAX) {
			size *= 2;
			continue;
		}
		if (not_found_errno(r)) {
			ret = 0;
			goto done;
		}
		table_seterr(t, "%.200s: lookup of '%.100s' failed: %s",
			     t->spec, key, strerror(r));
		goto done;
	}
	ret = table_set_value(t, key, value, out.data, out.len);
	goto done;

too_long:
	table_seterr(t, "%.200s: the entry for '%.100s' is longer than %d bytes",
		     t->spec, key, TABLE_VALUE_MAX);
done:
	free(nssbuf);
	buf_free(&out);
	return ret;
}

static void
unix_close(void *state)
{
	free(state);
}

const struct table_backend table_unix_backend = {
	.type = "unix",
	.open = unix_open,
	.get = unix_get,
	.changed = NULL,
	.close = unix_close,
};
