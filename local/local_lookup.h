/*
 * NAME
 *	local_lookup.h - the real lookups of the local delivery agent
 * SYNOPSIS
 *	#include "local_lookup.h"
 * DESCRIPTION
 *	See local_lookup.c.
 */
#ifndef POSTERN_LOCAL_LOOKUP_H
#define POSTERN_LOCAL_LOOKUP_H

#include "local.h"

extern const struct local_expand_ops local_lookup_ops;

void	local_lookup_open(void);
void	local_lookup_refresh(void);
void	local_lookup_close(void);
int	local_lookup_user_name(const char *name, struct local_user *u,
			       char *why, size_t whylen);

#endif
