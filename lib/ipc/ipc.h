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
 *	The payload is the records; its length does not count the
 *	12-byte header, and every bound below is a payload bound.  A name
 *	is 1..IPC_NAME_MAX printable ASCII characters other than space
 *	(0x21..0x7e).  A string record holds no NUL byte and is sent with
 *	a trailing NUL that the reader checks, so ipc_get_str() returns a
 *	C string that points into the message (valid until the next
 *	receive into the same ipc_in).  A number is 8 bytes.  IPC_F_FD
 *	says one descriptor travels with the message (SCM_RIGHTS on its
 *	first byte); no other flag bit is defined.
 *
 *	Readers are strict.  On receipt the whole message is checked
 *	before the caller sees it: magic, version, flags, length against
 *	the receiver's bound, every record's kind, name, length and (for
 *	strings) NUL, records that exactly fill the payload, and their
 *	number against the header's count.  Then ipc_get_*() take the
 *	records in the order the protocol defines, and fail when the next
 *	record has another name or kind, is longer than the caller's
 *	bound (for strings: bytes without the NUL), or is missing;
 *	ipc_get_end() fails when anything is left.  Any fault is a
 *	protocol error: the caller drops the connection.  ipc_error()
 *	names what was wrong (kind, name, sizes; never message data).
 *	Each protocol documents its messages in its server's manual
 *	comment.
 *
 *	Descriptors: a message flagged IPC_F_FD must bring exactly one
 *	descriptor (received close-on-exec), and the receiver must be
 *	willing to take one (fd_out not NULL).  A descriptor that arrives
 *	unannounced or in excess, or a flagged message without one, is a
 *	protocol error, and every such descriptor is closed.
 *
 *	ipc_peek_name() returns the name of the next record, or NULL at
 *	the end, for repeated records (recipients).  ipc_put_*() return
 *	-1 when the message would exceed IPC_MSG_MAX or 65535 records
 *	(EMSGSIZE), or the name or string is invalid (EINVAL); the first
 *	failure sticks in m->failed (its errno), later puts fail too, and
 *	ipc_send() and ipc_conn_queue() refuse the message with that errno.
 *	A message may be sent several times.
 *
 *	Blocking use: ipc_send() writes the whole message (and passes
 *	pass_fd unless it is -1; the caller keeps its descriptor);
 *	ipc_recv() reads exactly one message, never a byte of the next
 *	one (header, then payload).  Both wait at most timeout_ms in all
 *	(-1: no limit; the socket may be blocking or not) and return 0,
 *	or -1 with errno (ETIMEDOUT, EPROTO for a malformed message,
 *	EMSGSIZE for one over the bound, ECONNRESET when the peer went
 *	away, also in the middle of a message; others from the system);
 *	ipc_recv() returns 1 when the connection ended (EOF or reset)
 *	before any byte of a message: nothing of one arrived.
 *	ipc_recv()'s bound is IPC_MSG_MAX, or what ipc_in_init_max() set.
 *	Cost: ipc_send() is usually one sendmsg(); ipc_recv() one poll()
 *	(none without a timeout) and two recvmsg().
 *
 *	Non-blocking use (event loops): struct ipc_conn buffers input and
 *	output for one socket.  max_msg is the receive bound (0 means
 *	IPC_MSG_MAX).  ipc_conn_read() does one read of what is available
 *	(with any descriptors) and returns the byte count, 0 at EOF, or -1
 *	with errno (EAGAIN: nothing there; EPROTO: descriptor trouble;
 *	ENOBUFS: the caller did not drain complete messages).
 *	ipc_conn_next() extracts the next complete message into in (1),
 *	says none is complete yet (0), or reports a protocol error (-1,
 *	errno EPROTO or EMSGSIZE, c->err and in's ipc_error() say why;
 *	the error sticks).  Call it until it returns 0 after each read.
 *	ipc_conn_queue() appends a message to the output (bounded by
 *	IPC_CONN_OUT_MAX, else -1 ENOBUFS: the peer does not read); a
 *	message with a descriptor is sent with sendmsg() at once when no
 *	output is pending, otherwise the descriptor is duplicated and
 *	sent when its message reaches the head, so the caller may close
 *	its own copy as soon as ipc_conn_queue() returns.  At most
 *	IPC_MAX_FDS descriptors wait at a time (else -1 ENOBUFS).
 *	ipc_conn_flush() writes pending output: 0 all written, 1 more
 *	pending (wait for EV_WRITE), -1 error (errno; ECONNRESET when the
 *	peer went away).
 *
 *	ipc_conn_recv() is the blocking receive on an ipc_conn, for a
 *	process that serves or asks one request at a time on a kept
 *	connection (cleanup, local, lookup clients): it returns the next
 *	message as ipc_recv() does (0, 1 at a clean EOF, -1 with errno
 *	and in's ipc_error()), waiting at most timeout_ms in all (-1: no
 *	limit).  Input is read greedily, so a small message costs one
 *	recvmsg() instead of ipc_recv()'s two; what comes after it stays
 *	buffered for the next call.  wait_first: poll before the first
 *	read (the answer to a request just sent is not there yet); false
 *	when the caller knows input is waiting (it polled already).
 *
 *	Messages as bytes, for a transport that is not an ipc_conn
 *	(lib/ipc/clnt_pool.h): ipc_msg_wire() finishes m's header (IPC_F_FD
 *	when with_fd) and returns its bytes and their count (valid until
 *	m changes).  ipc_frame() says whether p[0..len) starts with a
 *	whole message of at most max payload bytes: its length in bytes
 *	(header included), 0 when more must come first, or -1 (why
 *	filled, errno EPROTO or EMSGSIZE) for a malformed header or one
 *	that announces a descriptor.  ipc_in_parse() checks exactly one
 *	whole message p[0..len) (within in's bound, no descriptor) and
 *	makes in ready for ipc_get_*(): 0, or -1 with ipc_error().
 *
 *	ipc_conn_queue_bytes() appends bytes of any protocol to the
 *	output (the same bound and descriptor rules as
 *	ipc_conn_queue()); a connection with raw set carries another
 *	protocol (text lines, netstrings), and ipc_conn_read() then
 *	makes no guess from a message header about how much to read.
 *	ipc_conn_next() and ipc_conn_recv() are for messages only.
 *
 *	ipc_socketpair() makes a connected SOCK_STREAM pair (CLOEXEC).
 *	ipc_connect() connects to a UNIX socket path (blocking connect;
 *	fd left blocking unless nonblock; CLOEXEC) and returns the fd or
 *	-1 (ENAMETOOLONG when the path does not fit a socket address).
 *	ipc_listen() creates a listening UNIX stream socket at path with
 *	the given mode and backlog and returns it (CLOEXEC, non-blocking),
 *	or -1.  Whatever is at path first (a socket left by an earlier
 *	run, a FIFO, a file, a symbolic link) is removed without following
 *	it, with sf_clear_path(); a directory there is left alone (-1,
 *	EEXIST).  The socket belongs to the caller's effective uid and
 *	gid: in a directory that another user can write, call it with
 *	that user's effective ids (priv_as_begin()), so that neither the
 *	removal nor the bind can reach anything that user could not.
 * SECURITY
 *	Everything received is checked before use; a peer daemon can make
 *	a receiver drop the connection, but not read out of bounds, leak
 *	descriptors or make it keep more than its bound.  ipc_listen()
 *	sets the process umask around bind() so that the socket is made
 *	with exactly mode (not thread-safe; postern daemons are
 *	single-threaded), and never changes owner or mode by name
 *	afterwards: a name can be swapped for a symbolic link at any
 *	moment by whoever may write the directory.
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
#define IPC_CONN_OUT_MAX (4 * (IPC_HDR_LEN + IPC_MSG_MAX))

struct ipc_msg {
	struct buf b;
	uint16_t nrec;
	int	failed;		/* a put failed; ipc_send() refuses */
};

struct ipc_in {
	uint16_t type;
	uint8_t	flags;
	uint16_t nrec_left;
	struct buf store;	/* the payload: the records */
	size_t	pos;		/* parse position in store */
	const char *err;	/* why the last call failed */
	char	name[IPC_NAME_MAX + 1];	/* ipc_peek_name() result */
	char	errbuf[160];
};

struct ipc_conn {
	int	fd;
	struct buf in;
	struct buf out;
	size_t	max_msg;
	int	fds[IPC_MAX_FDS];	/* received, not yet claimed */
	int	nfds;
	struct {
		size_t	off;	/* in out: first byte of its message */
		int	fd;	/* our duplicate, closed once sent */
	}	out_fds[IPC_MAX_FDS];
	int	n_out_fds;
	const char *err;	/* why the connection failed */
	char	errbuf[160];
	bool	raw;		/* bytes of another protocol, not messages */
};

void	ipc_msg_init(struct ipc_msg *m, uint16_t type);
void	ipc_msg_free(struct ipc_msg *m);
int	ipc_put_str(struct ipc_msg *m, const char *name, const char *s);
int	ipc_put_strn(struct ipc_msg *m, const char *name, const char *s, size_t n);
int	ipc_put_num(struct ipc_msg *m, const char *name, uint64_t v);
int	ipc_put_blob(struct ipc_msg *m, const char *name, const void *p, size_t n);
const void *ipc_msg_wire(struct ipc_msg *m, bool with_fd, size_t *len);

void	ipc_in_init(struct ipc_in *in);
void	ipc_in_init_max(struct ipc_in *in, size_t max);
void	ipc_in_free(struct ipc_in *in);
int	ipc_get_str(struct ipc_in *in, const char *name, const char **s, size_t max);
int	ipc_get_num(struct ipc_in *in, const char *name, uint64_t *v);
int	ipc_get_blob(struct ipc_in *in, const char *name, const void **p,
		     size_t *n, size_t max);
const char *ipc_peek_name(struct ipc_in *in);
int	ipc_get_end(struct ipc_in *in);
const char *ipc_error(const struct ipc_in *in);
ssize_t	ipc_frame(const void *p, size_t len, size_t max, char *why,
		  size_t whylen);
int	ipc_in_parse(struct ipc_in *in, const void *p, size_t len);

int	ipc_send(int fd, struct ipc_msg *m, int pass_fd, int timeout_ms);
int	ipc_recv(int fd, struct ipc_in *in, int *fd_out, int timeout_ms);

void	ipc_conn_init(struct ipc_conn *c, int fd, size_t max_msg);
void	ipc_conn_free(struct ipc_conn *c);	/* closes queued fds, not c->fd */
ssize_t	ipc_conn_read(struct ipc_conn *c);
int	ipc_conn_next(struct ipc_conn *c, struct ipc_in *in, int *fd_out);
int	ipc_conn_queue(struct ipc_conn *c, struct ipc_msg *m, int pass_fd);
int	ipc_conn_queue_bytes(struct ipc_conn *c, const void *p, size_t len,
			     int pass_fd);
int	ipc_conn_flush(struct ipc_conn *c);
int	ipc_conn_recv(struct ipc_conn *c, struct ipc_in *in, int *fd_out,
		      int timeout_ms, bool wait_first);
#define ipc_conn_pending(c) ((c)->out.len > 0)

int	ipc_socketpair(int sv[2]);
int	ipc_connect(const char *path, bool nonblock);
int	ipc_listen(const char *path, mode_t mode, int backlog);

#endif
