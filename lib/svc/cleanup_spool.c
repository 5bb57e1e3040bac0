/*
 * NAME
 *	cleanup_spool - a new message in an unnamed file, handed to cleanup
 * DESCRIPTION
 *	See cleanup_spool.h.
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cleanup_clnt.h"
#include "cleanup_spool.h"
#include "delivery.h"
#include "dsn.h"
#include "safefile.h"
#include "str.h"

int
cleanup_spool_fd(const char *dir, bool small)
{
	static bool no_memfd;		/* the kernel refused it once */
	int     fd;

	if (small && !no_memfd) {
		if ((fd = memfd_create("postern-spool", MFD_CLOEXEC)) >= 0)
			return fd;
		no_memfd = errno == ENOSYS || errno == EPERM;
	}
	return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

int
cleanup_spool_open(struct cleanup_spool *s, const char *dir, bool small)
{
	s->len = 0;
	s->fd = cleanup_spool_fd(dir, small);
	return s->fd < 0 ? -1 : 0;
}

int
cleanup_spool_write(struct cleanup_spool *s, const void *p, size_t n)
{
	if (sf_write_all(s->fd, p, n) < 0)
		return -1;
	s->len += n;
	return 0;
}

int
cleanup_spool_written(struct cleanup_spool *s)
{
	off_t   at = lseek(s->fd, 0, SEEK_CUR);

	if (at < 0)
		return -1;
	s->len = (uint64_t) at;
	return 0;
}

void
cleanup_spool_close(struct cleanup_spool *s)
{
	if (s->fd >= 0)
		(void) close(s->fd);
	s->fd = -1;
}

int
cleanup_spool_submit(struct cleanup_spool *s, struct cleanup_envelope *env,
		     struct cleanup_result *res)
{
	env->offset = 0;
	env->length = s->len;
	return cleanup_submit(env, s->fd, res);
}

struct cleanup_call *
cleanup_spool_submit_pool(struct cleanup_pool *pool, struct cleanup_spool *s,
			  struct cleanup_envelope *env, cleanup_done_fn *done,
			  void *ctx, struct cleanup_result *res)
{
	env->offset = 0;
	env->length = s->len;
	return cleanup_pool_submit(pool, env, s->fd, done, ctx, res);
}

void
cleanup_spool_refusal(const struct cleanup_result *res, int *status, char *dsn,
		      size_t dsn_size, const char **text)
{
	const char *t = res->reason;
	size_t  n = dsn_scan(t, strlen(t));

	(void) str_copy(dsn, dsn_size, "4.3.0");
	if (n > 0 && n < dsn_size && (t[0] == '4' || t[0] == '5')) {
		memcpy(dsn, t, n);
		dsn[n] = '\0';
		t += n;
	}
	while (*t == ' ')
		t++;
	*status = dsn[0] == '5' ? DELIVERY_BOUNCE : DELIVERY_DEFER;
	*text = t;
}
