/*
 * NAME
 *	ipc - typed, length-prefixed messages between postern processes
 * SYNOPSIS
 *	#include "ipc.h"
 *
 *	struct ipc_msg m;			// building and sending
 *	ipc_msg_init(&m, CLEANUP_REQ_SUBMIT);
 *	ipc_put_str(&m, "sender", sender);
 *	ipc_put_num(&m, "size", size);
 *	if (ipc_send(fd, &m, spool_fd, 10000) < 0) ...
 *	ipc_msg_free(&m);
 *
 *	struct ipc_in in;			// receiving and parsing
 *	ipc_in_init(&in);
 *	if (ipc_recv(fd, &in, &passed_fd, 10000) != 0) ...
 *	if (in.type != CLEANUP_REP_RESULT
 *	    || ipc_get_num(&in, "status", &st) < 0
 *	    || ipc_get_str(&in, "reason", &text, 512) < 0
 *	    || ipc_get_end(&in) < 0)
 *		log_warn("bad reply from cleanup: %s", ipc_error(&in));
 *	ipc_in_free(&in);
 * DESCRIPTION
 *	Every request and reply between daemons is one message on a UNIX
 *	stream socket.  Wire format (integers big-endian):
 *
 *	  header  "PM"  u8 version (IPC_VERSION)  u8 flags (IPC_F_FD)
 *		  u16 type  u16 record count  u32 payload length
 *	  record  u8 kind ('s' string, 'n' number, 'b' blob)
 *		  u8 name length (1..IPC_NAME_MAX)  u32 data length
 *		  name bytes, data bytes
 *
 *	A string record holds no NUL byte and is sent with a trailing NUL
 *	that the reader checks, so ipc_get_str() returns a C string that
 *	points into the message (valid until the next receive).  A number
 *	is 8 bytes.  IPC_F_FD says one descriptor travels with the
 *	message (SCM_RIGHTS on its first byte).
 *
 *	Readers are strict: ipc_get_*() take the records in the order the
 *	protocol defines, and fail when the next record has another name
 *	or kind, is longer than the caller's bound, or is truncated;
 *	ipc_get_end() fails when anything is left.  A message longer than
 *	the receiver's bound (IPC_MSG_MAX unless set lower), a bad magic
 *	or version, a record count that does not match, or a descriptor
 *	that arrives unannounced is a protocol error: the connection is
 *	dropped (unexpected descriptors are closed).  ipc_error() names
 *	what was wrong.  Each protocol documents its messages in its
 *	server's manual comment.
 *
 *	ipc_peek_name() returns the name of the next record, or NULL at
 *	the end, for repeated records (recipients).  ipc_put_*() return
 *	-1 when the message would exceed IPC_MSG_MAX or the name is
 *	invalid.
 *
 *	Blocking use: ipc_send() writes the whole message (and passes
 *	pass_fd unless it is -1); ipc_recv() reads exactly one message.
 *	Both wait at most timeout_ms in all (-1: no limit) and return 0,
 *	or -1 with errno (ETIMEDOUT, EPROTO for a malformed message,
 *	EMSGSIZE, ECONNRESET); ipc_recv() returns 1 on a clean EOF before
 *	any byte of a message.
 *
 *	Non-blocking use (event loops): struct ipc_conn buffers input and
 *	output for one socket.  ipc_conn_read() reads what is available
 *	(with any descriptors); ipc_conn_next() extracts the next complete
 *	message into in (1), says none is complete yet (0), or reports a
 *	protocol error (-1).  ipc_conn_queue() appends a message to the
 *	output; a message with a descriptor is sent with sendmsg() at once
 *	when no output is pending, otherwise when it reaches the head.
 *	ipc_conn_flush() writes pending output: 0 all written, 1 more
 *	pending (wait for EV_WRITE), -1 error.
 *
 *	ipc_socketpair() makes a connected SOCK_STREAM pair (CLOEXEC).
 *	ipc_connect() connects to a UNIX socket path (blocking connect;
 *	fd left blocking unless nonblock) and returns the fd or -1.
 *	ipc_listen() creates a listening UNIX stream socket at path with
 *	the given mode (replacing a stale socket file) and returns it.
 */
#ifndef POSTERN_IPC_H
#define POSTERN_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define IPC_VERSION	1
#define IPC_HDR_LEN	12
#define IPC_MSG_MAX	(1024 * 1024)
#define IPC_NAME_MAX	32
#define IPC_F_FD	0x01
#define IPC_MAX_FDS	8	/* descriptors queued per connection */

struct ipc_msg {
	struct buf b;
	uint16_t nrec;
	int	failed;		/* a put failed; ipc_send() refuses */
};

struct ipc_in {
	uint16_t type;
	uint8_t	flags;
	uint16_t nrec_left;
	struct buf store;	/* the whole message */
	size_t	pos;		/* parse position in store */
	const char *err;	/* why the last call failed */
};

struct ipc_conn {
	int	fd;
	struct buf in;
	struct buf out;
	size_t	max_msg;
	int	fds[IPC_MAX_FDS];	/* received, not yet claimed */
	int	nfds;
	int	out_fd;		/* descriptor to send with the head of out */
	const char *err;
};

void	ipc_msg_init(struct ipc_msg *m, uint16_t type);
void	ipc_msg_free(struct ipc_msg *m);
int	ipc_put_str(struct ipc_msg *m, const char *name, const char *s);
int	ipc_put_strn(struct ipc_msg *m, const char *name, const char *s, size_t n);
int	ipc_put_num(struct ipc_msg *m, const char *name, uint64_t v);
int	ipc_put_blob(struct ipc_msg *m, const char *name, const void *p, size_t n);

void	ipc_in_init(struct ipc_in *in);
void	ipc_in_free(struct ipc_in *in);
int	ipc_get_str(struct ipc_in *in, const char *name, const char **s, size_t max);
int	ipc_get_num(struct ipc_in *in, const char *name, uint64_t *v);
int	ipc_get_blob(struct ipc_in *in, const char *name, const void **p,
		     size_t *n, size_t max);
const char *ipc_peek_name(struct ipc_in *in);
int	ipc_get_end(struct ipc_in *in);
const char *ipc_error(const struct ipc_in *in);

int	ipc_send(int fd, struct ipc_msg *m, int pass_fd, int timeout_ms);
int	ipc_recv(int fd, struct ipc_in *in, int *fd_out, int timeout_ms);

void	ipc_conn_init(struct ipc_conn *c, int fd, size_t max_msg);
void	ipc_conn_free(struct ipc_conn *c);	/* closes queued fds, not c->fd */
ssize_t	ipc_conn_read(struct ipc_conn *c);
int	ipc_conn_next(struct ipc_conn *c, struct ipc_in *in, int *fd_out);
int	ipc_conn_queue(struct ipc_conn *c, struct ipc_msg *m, int pass_fd);
int	ipc_conn_flush(struct ipc_conn *c);
#define ipc_conn_pending(c) ((c)->out.len > 0)

int	ipc_socketpair(int sv[2]);
int	ipc_connect(const char *path, bool nonblock);
int	ipc_listen(const char *path, mode_t mode, int backlog);

#endif
