/*
 * NAME
 *	reach - the sockets and FIFOs a daemon has declared it talks to
 * DESCRIPTION
 *	See reach.h.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "reach.h"

static const char *const *limit;
static bool limited;

void
reach_limit(const char *const *allowed)
{
	static const char *const none[] = {NULL};

	limit = allowed ? allowed : none;
	limited = true;
}

bool
reach_match(const char *const *list, const char *name)
{
	size_t	len = strlen(name);

	for (; list && *list; list++) {
		const char *star = strchr(*list, '*');
		size_t	pre, post;

		if (star == NULL) {
			if (strcmp(*list, name) == 0)
				return true;
			continue;
		}
		pre = (size_t) (star - *list);
		post = strlen(star + 1);
		if (len >= pre + post && strncmp(*list, name, pre) == 0
		    && strcmp(name + len - post, star + 1) == 0)
			return true;
	}
	return false;
}

bool
reach_ok(const char *path)
{
	static bool warned;

	if (!limited || reach_match(limit, path))
		return true;
	if (!warned) {
		log_warn("refusing to connect to %s: this program does not declare it "
			 "among the endpoints it talks to (server_ops.talks)", path);
		warned = true;
	}
	errno = EPERM;
	return false;
}

/* add - one path of reach_endpoints() */
static int
add(const char *p, size_t len, char *buf, size_t size, size_t *used,
    const char **out, size_t max, size_t *n)
{
	if (len == 0)
		return 0;
	if (*n == max || size - *used < len + 1)
		return -1;
	memcpy(buf + *used, p, len);
	buf[*used + len] = 0;
	out[(*n)++] = buf + *used;
	*used += len + 1;
	return 0;
}

int
reach_endpoints(const char *value, char *buf, size_t size,
		const char **out, size_t max)
{
	static const char sep[] = " \t\r\n,";
	size_t	used = 0, n = 0;
	const char *p = value + strspn(value, sep);
	size_t	len = strcspn(p, sep);

	/* One word without a colon: the value is a path itself. */
	if (len > 0 && p[len + strspn(p + len, sep)] == 0 && memchr(p, ':', len) == NULL)
		return add(p, len, buf, size, &used, out, max, &n) < 0 ? -1 : (int) n;
	for (; *p; p += len, p += strspn(p, sep)) {
		len = strcspn(p, sep);
		if (len > 5 && strncasecmp(p, "unix:", 5) == 0) {
			if (add(p + 5, len - 5, buf, size, &used, out, max, &n) < 0)
				return -1;
		} else if (len > 15 && strncasecmp(p, "socketmap:unix:", 15) == 0) {
			const char *path = p + 15, *end = p + len;

			while (end > path && end[-1] != ':')
				end--;
			if (end > path
			    && add(path, (size_t) (end - 1 - path), buf, size, &used,
				   out, max, &n) < 0)
				return -1;
		}
	}
	return (int) n;
}
