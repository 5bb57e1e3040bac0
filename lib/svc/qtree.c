/*
 * NAME
 *	qtree - the queue directory tree: names, owners, modes
 * DESCRIPTION
 *	See qtree.h.  This table is the privilege map of the file system;
 *	SECURITY.md mirrors it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "qtree.h"
#include "safefile.h"
#include "str.h"

enum who { W_ROOT, W_OWNER, W_SETGID };

struct qdir {
	const char *name;
	enum who owner;
	enum who group;
	mode_t	mode;
};

static const struct qdir qdirs[] = {
	{".", W_ROOT, W_ROOT, 0755},
	{"maildrop", W_OWNER, W_SETGID, 01730},
	{"incoming", W_OWNER, W_OWNER, 0700},
	{"active", W_OWNER, W_OWNER, 0700},
	{"deferred", W_OWNER, W_OWNER, 0700},
	{"hold", W_OWNER, W_OWNER, 0700},
	{"corrupt", W_OWNER, W_OWNER, 0700},
	{"spool", W_OWNER, W_OWNER, 0700},
	{"private", W_OWNER, W_OWNER, 0700},
	{"public", W_OWNER, W_SETGID, 0711},
	{"pid", W_ROOT, W_ROOT, 0755},
};

const char *const qtree_queues[] = {"incoming", "active", "deferred", "hold", "corrupt", NULL};

int
qtree_user_ids(const struct params *p, uid_t *owner, gid_t *owner_gid,
	       gid_t *setgid_gid, struct buf *err)
{
	struct passwd *pw = getpwnam(p->mail_owner);
	struct group *gr = getgrnam(p->setgid_group);
	int     bad = 0;

	if (pw == NULL) {
		buf_appendf(err, "mail_owner %s: no such user (postern init creates it "
			    "when run as root)\n", p->mail_owner);
		bad = 1;
	} else if (pw->pw_uid == 0) {
		buf_appendf(err, "mail_owner %s has uid 0: it must be an unprivileged "
			    "user of its own\n", p->mail_owner);
		bad = 1;
	} else {
		*owner = pw->pw_uid;
		*owner_gid = pw->pw_gid;
	}
	if (gr == NULL) {
		buf_appendf(err, "setgid_group %s: no such group (postern init creates it "
			    "when run as root)\n", p->setgid_group);
		bad = 1;
	} else if (gr->gr_gid == 0) {
		buf_appendf(err, "setgid_group %s has gid 0: it must be a group of its own\n",
			    p->setgid_group);
		bad = 1;
	} else {
		*setgid_gid = gr->gr_gid;
	}
	return bad ? -1 : 0;
}

static int
qdir_path(char *path, size_t size, const struct params *p, const struct qdir *d)
{
	if (strcmp(d->name, ".") == 0)
		return str_copy(path, size, p->queue_directory);
	return str_fmt(path, size, "%s/%s", p->queue_directory, d->name);
}

static void
want_ids(const struct qdir *d, uid_t owner, gid_t ogid, gid_t sgid, uid_t *u, gid_t *g)
{
	*u = d->owner == W_OWNER ? owner : 0;
	*g = d->group == W_OWNER ? ogid : d->group == W_SETGID ? sgid : 0;
}

int
qtree_create(const struct params *p, struct buf *err)
{
	uid_t   owner, u;
	gid_t   ogid, sgid, g;
	char    path[4096];
	int     bad = 0;

	if (qtree_user_ids(p, &owner, &ogid, &sgid, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(qdirs) / sizeof(qdirs[0]); i++) {
		const struct qdir *d = &qdirs[i];

		if (qdir_path(path, sizeof(path), p, d) < 0) {
			buf_appendf(err, "queue_directory path too long: %s\n", p->queue_directory);
			return -1;
		}
		want_ids(d, owner, ogid, sgid, &u, &g);
		if (sf_mkdir_owned(path, u, g, d->mode) < 0) {
			buf_appendf(err, "cannot create or fix %s: %s\n", path, strerror(errno));
			bad = 1;
		}
	}
	if (sf_mkdir_owned(p->data_directory, 0, 0, 0700) < 0) {
		buf_appendf(err, "cannot create or fix data_directory %s: %s\n",
			    p->data_directory, strerror(errno));
		bad = 1;
	}
	return bad ? -1 : 0;
}

static int
check_one(const char *path, uid_t u, gid_t g, mode_t mode, struct buf *out)
{
	struct stat st;
	int     n = 0;

	if (lstat(path, &st) < 0) {
		buf_appendf(out, "%s: %s (run postern init to create it)\n", path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		buf_appendf(out, "%s: not a directory (a symlink or file here is unsafe; "
			    "remove it and run postern init)\n", path);
		return 1;
	}
	if (st.st_uid != u || st.st_gid != g) {
		buf_appendf(out, "%s: owner %ld:%ld, want %ld:%ld (run postern init to fix)\n",
			    path, (long) st.st_uid, (long) st.st_gid, (long) u, (long) g);
		n++;
	}
	if ((st.st_mode & 07777) != mode) {
		buf_appendf(out, "%s: mode %04o, want %04o (run postern init to fix)\n",
			    path, (unsigned) (st.st_mode & 07777), (unsigned) mode);
		n++;
	}
	return n;
}

int
qtree_check(const struct params *p, struct buf *out)
{
	uid_t   owner, u;
	gid_t   ogid, sgid, g;
	char    path[4096];
	int     n = 0;
	size_t  before = out->len;

	if (qtree_user_ids(p, &owner, &ogid, &sgid, out) < 0) {
		/* Count each line qtree_user_ids() wrote. */
		for (size_t i = before; i < out->len; i++)
			n += out->data[i] == '\n';
		return n;
	}
	for (size_t i = 0; i < sizeof(qdirs) / sizeof(qdirs[0]); i++) {
		const struct qdir *d = &qdirs[i];

		if (qdir_path(path, sizeof(path), p, d) < 0) {
			buf_appendf(out, "queue_directory path too long: %s\n", p->queue_directory);
			return n + 1;
		}
		want_ids(d, owner, ogid, sgid, &u, &g);
		n += check_one(path, u, g, d->mode, out);
	}
	n += check_one(p->data_directory, 0, 0, 0700, out);
	return n;
}
