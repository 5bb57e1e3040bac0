/*
 * NAME
 *	reach - the sockets and FIFOs a daemon has declared it talks to
 * DESCRIPTION
 *	See reach.h.
 */
#include <errno.h>
#include <string.h>

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
	size_t  len = strlen(name);

	for (; list && *list; list++) {
		size_t  n = strlen(*list);

		if (n > 0 && (*list)[n - 1] == '*') {
			if (strncmp(*list, name, n - 1) == 0)
				return true;
		} else if (n > 0 && (*list)[0] == '*') {
			if (len >= n - 1 && strcmp(name + len - (n - 1), *list + 1) == 0)
				return true;
		} else if (strcmp(*list, name) == 0) {
			return true;
		}
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
