/*
 * NAME
 *	auth_users - the built-in user table of SMTP AUTH: names and
 *	crypt(3) hashes
 * SYNOPSIS
 *	#include "auth_users.h"
 * DESCRIPTION
 *	See auth_users.c.  The auth service (auth/auth.c) checks
 *	passwords with it; postern check loads the table the same way.
 */
#ifndef POSTERN_AUTH_USERS_H
#define POSTERN_AUTH_USERS_H

#include <stddef.h>

#include "auth_clnt.h"

#define AUTH_USERS_MAX	1000000		/* users in the table */
#define AUTH_FILE_MAX	(64 * 1024 * 1024)	/* bytes of the table */
#define AUTH_LINE_MAX	4096		/* bytes of one line */

struct auth_users;

struct auth_users *auth_users_load(const char *path, char *why, size_t whylen);
void	auth_users_free(struct auth_users *t);
size_t	auth_users_count(const struct auth_users *t);
int	auth_users_check(const struct auth_users *t, const char *name,
			 const char *password);

#endif
