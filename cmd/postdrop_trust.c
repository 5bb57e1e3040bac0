/*
 * NAME
 *	postdrop_trust - may a caller of postdrop name this configuration directory?
 * SYNOPSIS
 *	#include "postdrop.h"
 *
 *	if (postdrop_dir_trusted(dir, real, sizeof(real), &why) < 0)
 *		... refuse: buf_str(&why) ...
 * DESCRIPTION
 *	postdrop_dir_trusted() decides whether a directory is one that
 *	only root could have set up: dir must be absolute; its canonical
 *	path (realpath(), stored in real) and every directory above it
 *	must be owned by root and writable by neither group nor others,
 *	except that a directory above it may be world-writable when its
 *	sticky bit is set (/tmp: nobody can rename or remove root's
 *	entries there); and DIR/main.cf must be a regular file (not a
 *	symlink) owned by root and writable by neither group nor others.
 *	It returns 0, or -1 with the first problem appended to why.
 *
 *	A directory that passes cannot be changed by the caller between
 *	this check and its use: each component and main.cf belong to
 *	root and the caller cannot write any directory on the way, or can
 *	only add entries of its own to a sticky one.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "postdrop.h"
#include "str.h"

/* check_one - one directory or file on the path */
static int
check_one(const char *path, bool last, bool file, struct buf *why)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		buf_appendf(why, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (file ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) {
		buf_appendf(why, "%s is not a %s", path, file ? "regular file" : "directory");
		return -1;
	}
	if (st.st_uid != 0) {
		buf_appendf(why, "%s is owned by uid %lu, not by root", path,
			    (unsigned long) st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0
	    && (last || file || !(st.st_mode & S_ISVTX))) {
		buf_appendf(why, "%s is writable by %s", path,
			    (st.st_mode & S_IWOTH) ? "others" : "its group");
		return -1;
	}
	return 0;
}

int
postdrop_dir_trusted(const char *dir, char *real, size_t realsz, struct buf *why)
{
	char    path[PATH_MAX + 16], canon[PATH_MAX];
	size_t  n;

	if (dir[0] != '/') {
		buf_appendf(why, "%s is not an absolute path", dir);
		return -1;
	}
	if (realpath(dir, canon) == NULL) {
		buf_appendf(why, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (str_copy(real, realsz, canon) < 0) {
		buf_appendf(why, "%s: name too long", dir);
		return -1;
	}
	/* "/" first, then every prefix ending before a '/', then the whole. */
	if (check_one("/", str_eq(canon, "/"), false, why) < 0)
		return -1;
	n = strlen(canon);
	for (size_t i = 1; i <= n; i++) {
		if (canon[i] != '/' && canon[i] != '\0')
			continue;
		memcpy(path, canon, i);
		path[i] = '\0';
		if (check_one(path, i == n, false, why) < 0)
			return -1;
	}
	if (str_fmt(path, sizeof(path), "%s/main.cf", str_eq(canon, "/") ? "" : canon) < 0) {
		buf_appendf(why, "%s: name too long", dir);
		return -1;
	}
	return check_one(path, true, true, why);
}
