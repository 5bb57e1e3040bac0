/*
 * NAME
 *	sd_notify - the service manager's readiness protocol
 * DESCRIPTION
 *	See sd_notify.h.  One socket per call: notifications are a
 *	handful per start, reload and stop.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd_notify.h"

int
sd_notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	size_t  len;
	socklen_t alen;
	ssize_t n;
	int     fd;

	if (path == NULL || path[0] == '\0')
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	alen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	do
		n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sun, alen);
	while (n < 0 && errno == EINTR);
	close(fd);
	return n < 0 ? -1 : 0;
}
