/*
 * NAME
 *	ipc_impl - internals shared by ipc.c and ipc_conn.c
 * SYNOPSIS
 *	#include "ipc_impl.h"
 * DESCRIPTION
 *	Not for use outside lib/ipc/ipc*.c.
 *
 *	ipc_hdr_finish() writes the header of m for sending, with
 *	IPC_F_FD when with_fd.  ipc_hdr_parse() checks a received header
 *	against the bound max; on failure it formats the reason into
 *	why[0..whylen) and returns -1 with errno EPROTO or EMSGSIZE.
 *	ipc_in_check() takes the payload that is already in in->store,
 *	checks every record (see ipc.h) and makes in ready for
 *	ipc_get_*(); it returns 0, or -1 with errno EPROTO and in->err.
 *	ipc_in_fail() records a failure in in and returns -1 with errno.
 *	ipc_in_reset() empties in (no records) but keeps its error text.
 *
 *	ipc_sendmsg() is one sendmsg() with MSG_NOSIGNAL, passing pass_fd
 *	when it is not -1.  ipc_recvmsg() is one recvmsg() with
 *	MSG_CMSG_CLOEXEC; descriptors that come along are appended to
 *	fds[*nfds .. maxfds); beyond that, or more than one in a single
 *	read (a postern sender passes one per sendmsg), or a truncated
 *	control message, *bad is set and the excess is closed.
 */
#ifndef POSTERN_IPC_IMPL_H
#define POSTERN_IPC_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc.h"

struct ipc_hdr {
	uint8_t	flags;
	uint16_t type;
	uint16_t nrec;
	uint32_t len;		/* payload bytes */
};

void	ipc_hdr_finish(struct ipc_msg *m, bool with_fd);
int	ipc_hdr_parse(const unsigned char *p, size_t max, struct ipc_hdr *h,
		      char *why, size_t whylen);
void	ipc_in_reset(struct ipc_in *in);
int	ipc_in_check(struct ipc_in *in, const struct ipc_hdr *h);
int	ipc_in_fail(struct ipc_in *in, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
ssize_t	ipc_sendmsg(int fd, const void *p, size_t n, int pass_fd, int flags);
ssize_t	ipc_recvmsg(int fd, void *p, size_t n, int flags, int *fds,
		    int *nfds, int maxfds, bool *bad);

#endif
