/*
 * NAME
 *	tlsio - buffered, bounded, non-blocking stream I/O, in the clear or
 *	over TLS, on the event loop
 * SYNOPSIS
 *	#include "tlsio.h"
 *
 *	struct tlsio io;
 *	tlsio_init(&io, loop, fd, fd, 2048, 256 * 1024, on_io, ctx);
 *
 *	// in on_io(io, events, ctx) and wherever the owner goes on:
 *	struct lb_line l;
 *	while (tlsio_get(&io, &l) == LB_LINE)
 *		... handle l; append replies to io.out (struct buf) ...
 *	tlsio_want_input(&io, true);	// call back on TLSIO_IN / TLSIO_EOF
 *	if (tlsio_flush(&io) < 0) ...	// 1: the rest goes out in the background
 *
 *	// STARTTLS, server side: the 220 goes out in the clear, then the
 *	// handshake; TLSIO_TLS_UP or TLSIO_TLS_FAIL says how it ended.
 *	smtp_reply_format(&io.out, 220, "2.0.0", "Ready to start TLS");
 *	tlsio_starttls(&io, server_ctx, NULL, &discarded);
 *	(void) tlsio_flush(&io);
 *
 *	// client side, after reading "220 2.0.0 Ready":
 *	struct tlsio_peer p = { .sni = "mx.example", .names = names,
 *				.nnames = 2, .verify = true };
 *	if (tlsio_starttls(&io, client_ctx, &p, NULL) < 0)
 *		... tlsio_error(&io) says why (plaintext after the 220) ...
 *
 *	tlsio_free(&io);		// the descriptors stay the owner's
 * DESCRIPTION
 *	One object for every SMTP conversation postern has: smtpd's
 *	sessions (server), the SMTP client (client) and sendmail -bs (in
 *	the clear, blocking, no loop).  Its input side is a linebuf
 *	(linebuf.h: lines of at most max_line bytes, longer ones in
 *	pieces, one buffer of max_line + 2 + 64 KiB allocated once); its
 *	output side is a struct buf of at most out_max bytes that the
 *	owner appends to (io.out) and flushes.  Plaintext costs what
 *	linebuf and write(2) cost: one read() per fill, one write() per
 *	flush.
 *
 *	With a loop (loop != NULL, descriptors non-blocking) the object
 *	watches its descriptors itself and calls cb(io, events, ctx) with
 *	a mask of what happened since the owner last heard from it:
 *	  TLSIO_IN	  bytes arrived (io.last_in of them) and wait in the
 *			  line reader; only while the owner wants input
 *	  TLSIO_EOF	  the peer closed (or reading failed: tlsio_error()
 *			  says why when it was a TLS or system error)
 *	  TLSIO_DRAINED	  a flush that returned 1 has finished
 *	  TLSIO_WERROR	  writing failed (tlsio_flush() returns -1 now)
 *	  TLSIO_TLS_UP	  the handshake completed
 *	  TLSIO_TLS_FAIL  the handshake failed (tlsio_error() says why)
 *	  TLSIO_TIMEOUT	  the deadline set with tlsio_deadline() passed
 *	The callback may free the object (tlsio_free()): nothing touches
 *	it after the callback returns.  Callbacks never run from inside a
 *	tlsio_* call, only from the loop.
 *
 *	tlsio_want_input(io, on): whether the owner wants the next bytes
 *	(after tlsio_get() said LB_NEED and the owner is not pausing).
 *	Turning it off is lazy: the read interest stays registered until
 *	bytes actually arrive (then it is parked), which spares two
 *	epoll_ctl() per pause.  Bytes TLS already decrypted are delivered
 *	on the next loop round without waiting for the socket.
 *
 *	tlsio_get(), tlsio_take(), tlsio_pending() are linebuf_get(),
 *	linebuf_take(), linebuf_pending() on the input side (pending also
 *	counts bytes TLS holds decrypted).  tlsio_input_waiting() says
 *	whether the peer sent anything not yet handled: bytes in the line
 *	reader, in TLS's buffers, or in the kernel (FIONREAD), for
 *	pipelining checks.  tlsio_fill() reads once into
 *	the line reader (0 at EOF, -1 with errno: EAGAIN, EPROTO for TLS
 *	errors); the loop calls it for the owner, and owners without a
 *	loop call it themselves.
 *
 *	tlsio_flush() writes what io.out holds: 0 all written, 1 the rest
 *	is written as the descriptor allows (with a loop; TLSIO_DRAINED
 *	follows), -1 writing failed (sticky).  After a failed handshake
 *	nothing can be written: -1 when io.out holds anything, 0 when it
 *	is empty (a handshake that fails inside tlsio_flush(), the peer's
 *	answer having come at once, is reported as TLSIO_TLS_FAIL from the
 *	loop like any other).  Without a loop on a
 *	blocking descriptor it writes everything or fails.
 *
 *	tlsio_deadline(io, ms): TLSIO_TIMEOUT ms from now (0: none).
 *	Owners with their own deadlines (smtpd) need not use it; the
 *	handshake runs under whatever deadline the owner keeps for a
 *	command, the same as in the clear.
 * STARTTLS
 *	tlsio_starttls(io, ctx, peer, &discarded) switches to TLS: the
 *	role is the server's when peer is NULL, the client's otherwise.
 *	What io.out holds at the call is still sent in the clear (the
 *	"220 Ready to start TLS"), then the handshake runs.
 *
 *	No plaintext survives the switch.  Every byte the peer sent
 *	before it (what the line reader holds and, on a socket, what the
 *	kernel already received) was sent before the peer could have seen
 *	our 220 or its own ClientHello could have been answered, so it
 *	would otherwise be taken as if it came through TLS (the command
 *	injection of CVE-2011-0411).  The server discards it and reports
 *	the count in *discarded, for the log.  The client refuses: -1,
 *	nothing started, tlsio_error() names the count (a server or a man
 *	in the middle talking after its 220).
 *
 *	tlsio_wrap(io, ctx, peer) is implicit TLS (port 465, wrapper
 *	mode): the handshake from the first byte, nothing discarded (what
 *	the kernel holds is the peer's first handshake message); -1 when
 *	any byte was read or written in the clear before.
 *
 *	Client: peer->sni is sent as server name
 *	(NULL: none); peer->names (nnames of them) are the names the
 *	certificate must match; with peer->verify the handshake fails
 *	unless the chain verifies against the context's CAs and a name
 *	matches, without it the result is only recorded
 *	(tlsio_verified()).  peer->session, when not NULL, is offered
 *	for resumption (tlsio_reused() tells whether the server took it);
 *	the session to keep for next time is SSL_get1_session(tlsio_ssl())
 *	after the handshake, taken before tlsio_free(), which sends
 *	close_notify so that the session stays resumable.
 *
 *	After TLSIO_TLS_UP: tlsio_is_tls(), tlsio_protocol() ("TLSv1.3"),
 *	tlsio_cipher(), tlsio_bits(), tlsio_summary() (the text Postfix
 *	logs and records in Received: "TLSv1.3 with cipher
 *	TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519"),
 *	tlsio_peer_cert() (whether the peer showed a certificate),
 *	tlsio_peer_cn(), tlsio_peer_issuer_cn(), tlsio_verified(),
 *	tlsio_verify_error(), tlsio_reused() (session resumption), and
 *	tlsio_ssl() for anything else (session caching in the client).
 * SECURITY
 *	Reads take at most the line reader's room, so a peer cannot make
 *	the object buffer more than max_line + 2 + 64 KiB of input, in
 *	the clear or decrypted; output is bounded by out_max (the owner
 *	stops reading when it piles up).  The handshake is bounded by the
 *	owner's deadline.  Renegotiation is refused (contexts from
 *	tls_ctx.h); a TLS 1.3 key update is answered.
 * DIAGNOSTICS
 *	tlsio_error() holds the last TLS or system error as one line of
 *	text ("" when none), with OpenSSL's reason.
 */
#ifndef POSTERN_TLSIO_H
#define POSTERN_TLSIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "buf.h"
#include "event.h"
#include "linebuf.h"

#define TLSIO_IN	0x01
#define TLSIO_EOF	0x02
#define TLSIO_DRAINED	0x04
#define TLSIO_WERROR	0x08
#define TLSIO_TLS_UP	0x10
#define TLSIO_TLS_FAIL	0x20
#define TLSIO_TIMEOUT	0x40

#define TLSIO_ERR_MAX	256

struct tlsio;
typedef void tlsio_cb(struct tlsio *io, unsigned events, void *ctx);

enum tlsio_state {
	TLSIO_PLAIN,		/* in the clear */
	TLSIO_STARTING,		/* sending the clear part, then the handshake */
	TLSIO_HANDSHAKE,	/* the handshake runs */
	TLSIO_TLS,		/* TLS is up */
	TLSIO_FAILED,		/* the handshake or the TLS layer failed */
};

/* The client's view of the server it talks to (tlsio_starttls). */
struct tlsio_peer {
	const char *sni;		/* server name to send, or NULL */
	const char *const *names;	/* names the certificate may carry */
	size_t	nnames;
	bool	verify;			/* fail unless verified and matched */
	struct ssl_session_st *session;	/* SSL_SESSION to resume, or NULL */
	/* DANE (RFC 7671, 7672): verify against these TLSA records. */
	const char *dane_base;		/* the TLSA base domain (the MX host) */
	const struct tlsio_tlsa *tlsa;	/* valid during the call only */
	size_t	ntlsa;			/* 0: no DANE */
};

/* One TLSA record (RFC 6698): usage, selector, matching type, data. */
struct tlsio_tlsa {
	unsigned char usage;
	unsigned char selector;
	unsigned char mtype;
	const unsigned char *data;
	size_t	len;
};

struct tlsio {
	/* The owner reads these and appends to out. */
	struct linebuf lb;		/* input: see tlsio_get() */
	struct buf out;			/* output: append, then tlsio_flush() */
	size_t	last_in;		/* bytes of the read TLSIO_IN reports */
	enum tlsio_state state;

	/* Internal. */
	struct ev_loop *loop;
	int	rfd, wfd;
	struct ev_io rio, wio;		/* wio only when wfd != rfd */
	struct ev_timer kick;		/* events to report on the next round */
	struct ev_timer deadline;
	tlsio_cb *cb;
	void   *ctx;
	unsigned report;		/* events not yet reported */
	bool	want_in;		/* the owner wants input */
	bool	parked;			/* input came while not wanted */
	bool	flushing;		/* a flush returned 1 */
	bool	eof;			/* the peer closed or reading failed */
	bool	werr;			/* writing failed */
	bool	server;			/* role of the TLS part */
	SSL    *ssl;
	size_t	plain_left;		/* bytes of out to send in the clear */
	size_t	wpend;			/* length of an SSL_write to repeat */
	bool	rd_wants_write;		/* SSL_read must write first */
	bool	wr_wants_read;		/* SSL_write must read first */
	int	hs_want;		/* handshake waits for EV_READ/EV_WRITE */
	int	tls_end;		/* SSL_read saw: 1 the end, 2 an error */
	bool	tls_dead;		/* a fatal TLS error: no close_notify */
	char	err[TLSIO_ERR_MAX];
};

void	tlsio_init(struct tlsio *io, struct ev_loop *loop, int rfd, int wfd,
		   size_t max_line, size_t out_max, tlsio_cb *cb, void *ctx);
void	tlsio_free(struct tlsio *io);

int	tlsio_get(struct tlsio *io, struct lb_line *l);
size_t	tlsio_take(struct tlsio *io, void *p, size_t n);
size_t	tlsio_pending(const struct tlsio *io);
bool	tlsio_input_waiting(const struct tlsio *io);
ssize_t	tlsio_fill(struct tlsio *io);
void	tlsio_want_input(struct tlsio *io, bool on);
int	tlsio_flush(struct tlsio *io);
void	tlsio_deadline(struct tlsio *io, uint64_t ms);
#define tlsio_bytes_in(io) linebuf_bytes_in(&(io)->lb)

int	tlsio_starttls(struct tlsio *io, SSL_CTX *ctx,
		       const struct tlsio_peer *peer, size_t *discarded);
int	tlsio_wrap(struct tlsio *io, SSL_CTX *ctx, const struct tlsio_peer *peer);
int	tlsio_handshake(struct tlsio *io);

#define tlsio_is_tls(io) ((io)->state == TLSIO_TLS)
const char *tlsio_protocol(const struct tlsio *io);
const char *tlsio_cipher(const struct tlsio *io);
int	tlsio_bits(const struct tlsio *io, int *alg_bits);
void	tlsio_summary(const struct tlsio *io, char *out, size_t size);
bool	tlsio_peer_cert(const struct tlsio *io);
void	tlsio_peer_cn(const struct tlsio *io, char *out, size_t size);
void	tlsio_peer_issuer_cn(const struct tlsio *io, char *out, size_t size);
bool	tlsio_verified(const struct tlsio *io);
const char *tlsio_verify_error(const struct tlsio *io);
bool	tlsio_reused(const struct tlsio *io);
SSL    *tlsio_ssl(const struct tlsio *io);
#define tlsio_error(io) ((const char *) (io)->err)

#endif
