/*
 * NAME
 *	postdrop.h - shared declarations of the postdrop command
 * SYNOPSIS
 *	#include "postdrop.h"
 * DESCRIPTION
 *	postdrop_dir_trusted() is in postdrop_trust.c (its manual there).
 */
#ifndef POSTERN_CMD_POSTDROP_H
#define POSTERN_CMD_POSTDROP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

int	postdrop_dir_trusted(const char *dir, char *real, size_t realsz,
			     struct buf *why);

#endif
