/*
 * NAME
 *	local_lookup - the lookups behind local_expand(): aliases, users,
 *	forward and include files
 * SYNOPSIS
 *	#include "local_lookup.h"
 *
 *	local_lookup_open();			// once, as root
 *	local_lookup_refresh();			// before each request
 *	local_expand(rcpt, &local_lookup_ops, NULL, &params, &e);
 * DESCRIPTION
 *	local is not chrooted and runs as root, so it opens alias_maps
 *	itself (lib/table/table.h) instead of asking the lookup service: the
 *	answer that decides whose rights a delivery uses never crosses a
 *	process boundary.
 *
 *	alias: alias_maps in order, first match.  The owner of the table
 *	that answered (the owner of PATH.db for hash: and btree:, root
 *	for tables without a file) decides the rights of commands and
 *	files in the alias: its own when it is not root, default_privs
 *	when it is.  A table that cannot be opened makes every alias
 *	lookup a temporary failure ("alias database unavailable"), as
 *	Postfix does: mail waits until newaliases has been run.
 *
 *	user: the user database (getpwnam_r()).
 *
 *	forward: each entry of forward_path ($home and $user expanded;
 *	${home} and ${user} too) in turn; the first file that exists is
 *	used.  It is opened with the user's effective uid and gid (so an
 *	NFS home that root cannot read still works, and root never reads
 *	through a path the user controls with its own rights), without
 *	following a symbolic link, and must be a regular file with one
 *	link, owned by the user, and not writable by group or others;
 *	otherwise it is ignored with a warning, as Postfix does.
 *
 *	include: the file is opened with the rights of the user the
 *	include was reached through (default_privs for a root-owned alias
 *	table: never root, see local_expand.c), with the same checks
 *	except the owner (local_expand.c decides what the owner allows:
 *	never a change of who runs); a group- or
 *	world-writable :include: file is refused (permanent failure):
 *	anyone able to write it could make commands run as its owner.
 *
 *	is_local_domain: mydestination, ASCII case-insensitive.
 * SECURITY
 *	Effective ids are switched with setresuid()/setresgid() keeping
 *	the saved id 0, and switched back right after the open; a
 *	failure to switch back is fatal (local must not go on with
 *	changed ids).  local_lookup_open() drops root's supplementary
 *	groups for good, so that the switched process has the user's
 *	uid and primary gid and no other group.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "local.h"
#include "local_lookup.h"
#include "log.h"
#include "params.h"
#include "safefile.h"
#include "str.h"
#include "table.h"

static struct table_list *aliases;
static char alias_err[TABLE_ERROR_MAX];

void
local_lookup_open(void)
{
	/*
	 * root's supplementary groups are of no use to local, and without
	 * them a switch of the effective ids (as_user()) is all it takes
	 * for a file open to be checked as the user: no setgroups() each
	 * time.
	 */
	if (geteuid() == 0 && setgroups(0, NULL) < 0)
		log_fatal("cannot drop root's supplementary groups: %m");
	if (aliases != NULL)
		return;
	alias_err[0] = '\0';
	aliases = table_list_open(cfg->alias_maps, 0, alias_err, sizeof(alias_err));
	if (aliases == NULL)
		log_warn("alias_maps: %s (mail to local recipients waits until "
			 "this is fixed; run newaliases)", alias_err);
}

void
local_lookup_refresh(void)
{
	if (aliases == NULL) {
		local_lookup_open();
		return;
	}
	if (table_list_changed(aliases) && table_list_reopen(aliases) < 0)
		log_warn("alias_maps: cannot reopen: %s (using the old tables)",
			 aliases->error);
}

void
local_lookup_close(void)
{
	table_list_close(aliases);
	aliases = NULL;
}

/* fill_user - a local_user from a passwd entry */
static int
fill_user(const struct passwd *pw, struct local_user *u)
{
	memset(u, 0, sizeof(*u));
	if (str_copy(u->name, sizeof(u->name), pw->pw_name) < 0
	    || str_copy(u->home, sizeof(u->home), pw->pw_dir ? pw->pw_dir : "/") < 0
	    || str_copy(u->shell, sizeof(u->shell), pw->pw_shell ? pw->pw_shell : "") < 0)
		return -1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

int
local_lookup_user_name(const char *name, struct local_user *u, char *why,
		       size_t whylen)
{
	struct passwd pw, *res = NULL;
	char    buf[16384];
	int     err;

	err = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (res == NULL) {
		if (err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM)
			return 0;
		(void) str_fmt(why, whylen, "user database: %s", strerror(err));
		return -1;
	}
	if (fill_user(&pw, u) < 0) {
		(void) str_fmt(why, whylen, "user %s: home or shell path too long", name);
		return -1;
	}
	return 1;
}

/* user_by_uid - the owner of a file as a local_user (unknown: its ids) */
static void
user_by_uid(uid_t uid, gid_t gid, struct local_user *u)
{
	struct passwd pw, *res = NULL;
	char    buf[16384];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL
	    && fill_user(&pw, u) == 0)
		return;
	memset(u, 0, sizeof(*u));
	(void) str_fmt(u->name, sizeof(u->name), "#%ld", (long) uid);
	(void) str_copy(u->home, sizeof(u->home), "/");
	u->uid = uid;
	u->gid = gid;
}

static int
cb_user(void *ctx, const char *name, struct local_user *u, char *why, size_t whylen)
{
	(void) ctx;
	return local_lookup_user_name(name, u, why, whylen);
}

static int
cb_alias(void *ctx, const char *key, struct buf *value, struct local_user *owner,
	 bool *owner_is_root, char *why, size_t whylen)
{
	struct table *t;
	struct stat st;
	char    path[LOCAL_PATH_MAX + 8];
	size_t  which = 0;
	int     r;

	(void) ctx;
	if (aliases == NULL) {
		(void) str_fmt(why, whylen, "alias database unavailable: %s", alias_err);
		return -1;
	}
	r = table_list_get(aliases, key, value, &which);
	if (r < 0) {
		(void) str_fmt(why, whylen, "%s", aliases->error);
		return -1;
	}
	if (r == 0)
		return 0;
	/* Whose table answered decides the rights of its commands. */
	*owner_is_root = true;
	t = table_list_at(aliases, which);
	if (t != NULL && (str_eq(t->type, "hash") || str_eq(t->type, "btree"))
	    && str_fmt(path, sizeof(path), "%s.db", t->name) == 0
	    && stat(path, &st) == 0 && st.st_uid != 0) {
		user_by_uid(st.st_uid, st.st_gid, owner);
		*owner_is_root = false;
	}
	return 1;
}

/* as_user / as_root - switch the effective ids around one open */
static void
as_user(const struct local_user *u)
{
	if (u == NULL || u->uid == 0)
		return;
	if (setresgid((gid_t) -1, u->gid, (gid_t) -1) < 0
	    || setresuid((uid_t) -1, u->uid, (uid_t) -1) < 0)
		log_fatal("cannot take the effective ids of %s (uid %ld): %m",
			  u->name, (long) u->uid);
}

static void
as_root(const struct local_user *u)
{
	if (u == NULL || u->uid == 0)
		return;
	if (setresuid((uid_t) -1, 0, (uid_t) -1) < 0
	    || setresgid((gid_t) -1, 0, (gid_t) -1) < 0)
		log_fatal("cannot return to root after reading a file as %s: %m", u->name);
}

/* read_file - at most LOCAL_FILE_MAX bytes of fd into content */
static int
read_file(int fd, struct buf *content, char *why, size_t whylen)
{
	char    chunk[16384];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			(void) str_fmt(why, whylen, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		if (buf_append(content, chunk, (size_t) n) < 0) {
			(void) str_fmt(why, whylen, "file longer than %d bytes", LOCAL_FILE_MAX);
			return -1;
		}
	}
}

/* expand_path - forward_path entry with $home, $user expanded; -1 if unknown $ */
static int
expand_path(const char *tmpl, const struct local_user *u, char *out, size_t size)
{
	struct buf b;
	int     ret = 0;

	buf_init(&b, size);
	for (const char *p = tmpl; *p && ret == 0; p++) {
		if (*p != '$') {
			ret = buf_putc(&b, *p);
			continue;
		}
		if (strncmp(p, "$home", 5) == 0 || strncmp(p, "${home}", 7) == 0) {
			ret = buf_puts(&b, u->home);
			p += p[1] == '{' ? 6 : 4;
		} else if (strncmp(p, "$user", 5) == 0 || strncmp(p, "${user}", 7) == 0) {
			ret = buf_puts(&b, u->name);
			p += p[1] == '{' ? 6 : 4;
		} else
			ret = -1;
	}
	if (ret == 0 && str_copy(out, size, b.data) < 0)
		ret = -1;
	buf_free(&b);
	return ret;
}

static int
cb_forward(void *ctx, const struct local_user *u, struct buf *content, char *why,
	   size_t whylen)
{
	char  **paths;
	int     n, ret = 0;

	(void) ctx;
	if ((n = config_list_split(cfg->forward_path, 32, &paths)) < 0) {
		(void) str_fmt(why, whylen, "forward_path has too many entries");
		return -1;
	}
	for (int i = 0; i < n && ret == 0; i++) {
		char    path[LOCAL_PATH_MAX + 1];
		const char *reason;
		struct stat st;
		int     fd, saved;

		if (expand_path(paths[i], u, path, sizeof(path)) < 0) {
			log_warn("forward_path entry \"%s\": only $home and $user can be "
				 "used here; entry skipped", paths[i]);
			continue;
		}
		as_user(u);
		fd = sf_open(AT_FDCWD, path, O_RDONLY, 0, u->uid, &st, &reason);
		saved = errno;
		as_root(u);
		if (fd < 0) {
			if (saved == ENOENT || saved == ENOTDIR)
				continue;
			if (saved == EACCES) {
				log_warn("forward file %s of %s cannot be read: %s; "
					 "delivering to the mailbox", path, u->name,
					 strerror(saved));
				continue;
			}
			log_warn("ignoring forward file %s of %s: %s%s%s", path, u->name,
				 reason, *reason ? ": " : "", strerror(saved));
			continue;
		}
		if (st.st_mode & (S_IWGRP | S_IWOTH)) {
			log_warn("ignoring forward file %s of %s: writable by group or "
				 "others (chmod go-w %s)", path, u->name, path);
			(void) close(fd);
			continue;
		}
		ret = read_file(fd, content, why, whylen) < 0 ? -1 : 1;
		(void) close(fd);
	}
	config_list_free(paths, n);
	return ret;
}

static int
cb_include(void *ctx, const char *path, const struct local_user *as,
	   struct buf *content, struct local_user *owner, bool *owner_is_root,
	   bool *perm, char *why, size_t whylen)
{
	const char *reason;
	struct stat st;
	int     fd, saved;

	(void) ctx;
	*perm = false;
	as_user(as);
	fd = sf_open(AT_FDCWD, path, O_RDONLY, 0, SF_ANY_UID, &st, &reason);
	saved = errno;
	as_root(as);
	if (fd < 0) {
		*perm = saved == ELOOP || saved == EPERM;
		(void) str_fmt(why, whylen, "cannot open: %s%s%s", reason,
			       *reason ? ": " : "", strerror(saved));
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		(void) close(fd);
		*perm = true;
		(void) str_fmt(why, whylen, "refused: writable by group or others");
		return -1;
	}
	if (read_file(fd, content, why, whylen) < 0) {
		(void) close(fd);
		return -1;
	}
	(void) close(fd);
	*owner_is_root = st.st_uid == 0;
	if (!*owner_is_root)
		user_by_uid(st.st_uid, st.st_gid, owner);
	return 1;
}

static bool
cb_is_local(void *ctx, const char *domain)
{
	(void) ctx;
	return config_list_contains(cfg->mydestination, domain);
}

const struct local_expand_ops local_lookup_ops = {
	.alias = cb_alias,
	.user = cb_user,
	.forward = cb_forward,
	.include = cb_include,
	.is_local_domain = cb_is_local,
};
