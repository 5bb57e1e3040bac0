/*
 * scratch.h - removing a check suite's scratch directory.
 *
 *	scratch_remove(dir, "/tmp/NAME_test.");
 *
 * Removes dir and everything below it (without following links), and
 * only when dir starts with the given prefix: a suite can never remove
 * anything but its own mkdtemp() directory.  No shell is involved.
 */
#ifndef POSTERN_SCRATCH_H
#define POSTERN_SCRATCH_H

#include <ftw.h>
#include <stdio.h>
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

#endif
