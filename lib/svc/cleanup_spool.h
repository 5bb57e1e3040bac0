/*
 * NAME
 *	cleanup_spool - a new message in an unnamed file, handed to cleanup
 * SYNOPSIS
 *	#include "cleanup_spool.h"
 *
 *	// Blocking (local's forwarding):
 *	struct cleanup_spool s;
 *	if (cleanup_spool_open(&s, cfg->smtpd_spool_directory, false) < 0
 *	    || cleanup_spool_write(&s, head, len) < 0
 *	    || ... write or copy into s.fd, then cleanup_spool_written(&s) ...
 *	    || cleanup_spool_submit(&s, &env, &res) != CLEANUP_STAT_OK)
 *		... res (or errno) says why ...
 *	cleanup_spool_close(&s);
 *
 *	// Event loop (qmgr's notifications, smtpd):
 *	call = cleanup_spool_submit_pool(pool, &s, &env, done, ctx, &res);
 *
 *	// A refusal as a status and code for a delivery result:
 *	cleanup_spool_refusal(&res, &status, dsn, sizeof(dsn), &text);
 * DESCRIPTION
 *	The one way a postern program makes a message and gives it to
 *	cleanup: smtpd for what a client sent, qmgr for delivery status
 *	notifications, local for mail that aliases and .forward send on.
 *	The content goes into an unnamed file, never seen by anyone else
 *	and gone when the last descriptor closes, and cleanup reads it
 *	from the descriptor it is sent with (docs/INTERNALS.md, "Spool and
 *	hand-off to cleanup").
 *
 *	cleanup_spool_fd() makes the file: with small set (the caller
 *	knows the whole content is small), an anonymous memory file
 *	(memfd_create(); no inode to allocate, put on the orphan list and
 *	free), otherwise, or when the kernel refuses memory files (then
 *	never asked again by this process), an O_TMPFILE file in dir
 *	(relative to the working directory, the queue directory: a
 *	daemon's spool directory, smtpd_spool_directory).  It returns
 *	the descriptor (read-write, close-on-exec, mode 0600) or -1.
 *
 *	struct cleanup_spool is such a file with the count of bytes put
 *	in it: cleanup_spool_open() makes it (0, or -1 with errno),
 *	cleanup_spool_write() appends (0, or -1 with errno; ENOSPC and
 *	EDQUOT come through), cleanup_spool_written() takes the count
 *	from the file offset after the caller wrote into s->fd itself
 *	(copy_file_range() from a queue file), cleanup_spool_close()
 *	closes it (also after a failure; twice is fine).
 *
 *	cleanup_spool_submit() sends the whole content with env (its
 *	offset and length are set here) to cleanup and waits for the
 *	answer (cleanup_submit()); cleanup_spool_submit_pool() does the
 *	same without blocking, over a kept connection of an event loop's
 *	pool (cleanup_pool_submit(): the result comes through done; the
 *	caller keeps the spool open until then).
 *
 *	cleanup_spool_refusal() splits a result that is not
 *	CLEANUP_STAT_OK into the delivery status it means for the caller
 *	(DELIVERY_DEFER or DELIVERY_BOUNCE, by the code's class: a
 *	refusal without a valid 4.x.x or 5.x.x code is 4.3.0) and the
 *	text after the code.
 * SECURITY
 *	The file has no name: nothing can be planted in its place, and a
 *	crash leaves nothing behind.  The caller decides with which rights
 *	the directory is entered (local does it as mail_owner).
 */
#ifndef POSTERN_CLEANUP_SPOOL_H
#define POSTERN_CLEANUP_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup_clnt.h"

struct cleanup_spool {
	int	fd;
	uint64_t len;			/* bytes of content */
};

int	cleanup_spool_fd(const char *dir, bool small);
int	cleanup_spool_open(struct cleanup_spool *s, const char *dir, bool small);
int	cleanup_spool_write(struct cleanup_spool *s, const void *p, size_t n);
int	cleanup_spool_written(struct cleanup_spool *s);
void	cleanup_spool_close(struct cleanup_spool *s);
int	cleanup_spool_submit(struct cleanup_spool *s, struct cleanup_envelope *env,
			     struct cleanup_result *res);
struct cleanup_call *cleanup_spool_submit_pool(struct cleanup_pool *pool,
					       struct cleanup_spool *s,
					       struct cleanup_envelope *env,
					       cleanup_done_fn *done, void *ctx,
					       struct cleanup_result *res);
void	cleanup_spool_refusal(const struct cleanup_result *res, int *status,
			      char *dsn, size_t dsn_size, const char **text);

#endif
