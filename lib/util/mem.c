/*
 * NAME
 *	mem - memory allocation that never returns NULL
 * DESCRIPTION
 *	See mem.h.  Allocation failure is an environment problem, not a
 *	bug: it is reported with log_fatal(), which exits cleanly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		log_fatal("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		log_fatal("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		log_fatal("out of memory reallocating to %zu bytes", n);
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		log_fatal("allocation of %zu x %zu bytes overflows", nmemb, size);
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

char *
xmemdup(const void *p, size_t n)
{
	char *q;

	if (n == SIZE_MAX)
		log_fatal("allocation of %zu bytes overflows", n);
	q = xmalloc(n + 1);
	memcpy(q, p, n);
	q[n] = '\0';
	return q;
}
