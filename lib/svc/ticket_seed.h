/*
 * NAME
 *	ticket_seed - one secret from which every smtpd process of an
 *	instance derives the same TLS session-ticket keys
 * SYNOPSIS
 *	#include "ticket_seed.h"
 *
 *	ticket_seed_make(data_directory, why, size);	// master, at start
 *	ticket_seed_read(data_directory, seed, why, size); // smtpd, as root
 * DESCRIPTION
 *	A session ticket sealed by one smtpd process must open in another:
 *	with maxproc above 1 the client's next connection may reach any of
 *	them, and after "postern reload" it reaches a new one.  So the keys
 *	are not random per process but derived from one seed and the clock
 *	(lib/tls/tls_ctx.h, ticket_seed): processes that share the seed
 *	share the keys, rotation included, without talking to each other.
 *
 *	ticket_seed_make() writes TICKET_SEED_LEN fresh random bytes
 *	(getrandom()) to data_directory/ticket.seed, mode 0600, through a
 *	temporary file and a rename, so a reader sees a whole seed.  The
 *	master calls it once at start, not at reload: tickets outlive a
 *	reload (a renewed certificate does not need new ticket keys) and
 *	die with a stop.  Returns 0, or -1 with why set.
 *
 *	ticket_seed_read() reads it into seed; it must be a regular file
 *	owned by root, with no access for group or others, exactly
 *	TICKET_SEED_LEN bytes long (sf_open(): no symbolic link).
 *	Returns 0, or -1 with why set: smtpd then uses keys of its own
 *	(tickets still work, within one process).
 * SECURITY
 *	data_directory is root's (0700 or 0755, owned by root); the seed
 *	is read before the chroot and the privilege drop, and held only in
 *	memory afterwards, like the private key.  Whoever holds it can open
 *	every ticket of the instance (the resumption secrets), which is why
 *	mail_owner never can read it.
 */
#ifndef POSTERN_TICKET_SEED_H
#define POSTERN_TICKET_SEED_H

#include <stddef.h>

#define TICKET_SEED_LEN	32
#define TICKET_SEED_FILE "ticket.seed"

int	ticket_seed_make(const char *data_directory, char *why, size_t size);
int	ticket_seed_read(const char *data_directory, unsigned char *seed,
			 char *why, size_t size);

#endif
