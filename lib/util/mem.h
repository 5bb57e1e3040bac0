/*
 * NAME
 *	mem - memory allocation that never returns NULL
 * SYNOPSIS
 *	#include "mem.h"
 * DESCRIPTION
 *	xmalloc(), xcalloc(), xrealloc(), xreallocarray(), xstrdup() and
 *	xmemdup() either succeed or do not return: on failure they log a
 *	fatal error naming the size asked for, and the process exits
 *	(the master restarts it).  Sizes are checked for overflow.
 *	xmemdup() returns a copy with a terminating NUL after n bytes.
 */
#ifndef POSTERN_MEM_H
#define POSTERN_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xmemdup(const void *p, size_t n);

#endif
