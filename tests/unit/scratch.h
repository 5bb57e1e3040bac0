/*
 * scratch.h - removing a check suite's scratch directory.
 *
 *	scratch_remove(dir, "/tmp/NAME_test.");
 *
 * Removes dir and everything below it (without following links), and
 * only when dir starts with the given prefix: a suite can never remove
 * anything but its own mkdtemp() directory.  No shell is involved.
 *
 *	scratch_write(path, text, flags);
 *
 * Creates path (mode 0600, O_WRONLY | O_CREAT | flags: O_EXCL or
 * O_TRUNC) holding text, and fails the check when it cannot.
 */
#ifndef POSTERN_SCRATCH_H
#define POSTERN_SCRATCH_H

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

static inline int
scratch_rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void) st;
	(void) type;
	(void) f;
	return remove(path);
}

static inline void
scratch_remove(const char *dir, const char *prefix)
{
	if (dir[0] != '\0' && strncmp(dir, prefix, strlen(prefix)) == 0)
		(void) nftw(dir, scratch_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void
scratch_write(const char *path, const char *text, int flags)
{
	int	fd = open(path, O_WRONLY | O_CREAT | flags, 0600);

	ck_assert_msg(fd >= 0, "cannot create %s", path);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
}

#endif
