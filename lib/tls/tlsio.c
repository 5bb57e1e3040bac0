/*
 * NAME
 *	tlsio - buffered, bounded, non-blocking stream I/O, in the clear or
 *	over TLS, on the event loop
 * DESCRIPTION
 *	See tlsio.h.  The input side is a linebuf whose read function is
 *	read(2) in the clear and SSL_read() over TLS; the output side is
 *	a struct buf written with write(2) or SSL_write().  A small state
 *	machine (PLAIN, STARTING, HANDSHAKE, TLS, FAILED) decides which
 *	descriptor events are wanted:
 *
 *	  PLAIN	     read while the owner wants input, write while a
 *		     flush is unfinished;
 *	  STARTING   write the clear part of io.out (the 220), nothing
 *		     else: no byte is read between the STARTTLS decision
 *		     and the handshake;
 *	  HANDSHAKE  whatever SSL_do_handshake() last asked for;
 *	  TLS	     as PLAIN, except that SSL_read() may have to write
 *		     first and SSL_write() may have to read first (TLS 1.3
 *		     key updates), each remembered and waited for;
 *	  FAILED     nothing.
 *
 *	Events found while handling a descriptor or a timer are collected
 *	in io->report and given to the owner in one callback, the last
 *	thing the handler does, so the owner may free the object there.
 *	Events that arise inside a tlsio_* call (a handshake that fails at
 *	once, TLS input decrypted before the owner asked for it) are
 *	reported from a timer of 0 ms, on the next loop round.
 *
 *	SSL_write() is repeated after WANT_READ/WANT_WRITE with the same
 *	length (io->wpend) and, since buf_consume() and growth move the
 *	bytes, with SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER.  Partial writes
 *	are on: what was written is consumed at once.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "str.h"
#include "tlsio.h"

#define DRAIN_MAX	(64 * 1024)	/* plaintext discarded from the kernel */

static void on_io(struct ev_loop *loop, struct ev_io *w, unsigned revents);
static void on_kick(struct ev_loop *loop, struct ev_timer *t);
static void on_deadline(struct ev_loop *loop, struct ev_timer *t);
static void step_handshake(struct tlsio *io);
static void kick(struct tlsio *io);

/* ------------------------------------------------------------------ */
/* Errors.                                                            */

/* ssl_error - io->err from SSL_get_error() and OpenSSL's error queue */
static void
ssl_error(struct tlsio *io, const char *what, int code)
{
	unsigned long e = ERR_peek_last_error();
	char	reason[160];

	if (code == SSL_ERROR_SYSCALL && e == 0) {
		if (errno != 0)
			(void) str_fmt(io->err, sizeof(io->err), "%s: %s", what,
				       strerror(errno));
		else
			(void) str_fmt(io->err, sizeof(io->err),
				       "%s: the peer closed the connection", what);
	} else if (e != 0) {
		ERR_error_string_n(e, reason, sizeof(reason));
		(void) str_fmt(io->err, sizeof(io->err), "%s: %s", what, reason);
	} else
		(void) str_fmt(io->err, sizeof(io->err), "%s: TLS error %d", what,
			       code);
	ERR_clear_error();
}

/* ------------------------------------------------------------------ */
/* Reading.                                                           */

/*
 * ssl_read_some - as many SSL_read()s as fit the room and TLS can give
 * without waiting; byte count, 0 at the end, -1 with errno.
 */
static ssize_t
ssl_read_some(struct tlsio *io, char *p, size_t n)
{
	size_t	got = 0;

	io->rd_wants_write = false;
	if (io->tls_end)
		goto end;
	while (got < n) {
		size_t	want = n - got > INT_MAX ? INT_MAX : n - got;
		int	k, e;

		ERR_clear_error();
		errno = 0;
		k = SSL_read(io->ssl, p + got, (int) want);
		if (k > 0) {
			got += (size_t) k;
			/* Nothing more buffered: the socket would say EAGAIN. */
			if (!SSL_has_pending(io->ssl))
				break;
			continue;
		}
		e = SSL_get_error(io->ssl, k);
		if (e == SSL_ERROR_WANT_READ)
			break;
		if (e == SSL_ERROR_WANT_WRITE) {
			io->rd_wants_write = true;
			break;
		}
		if (e == SSL_ERROR_ZERO_RETURN
		    || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
			io->tls_end = 1;	/* close_notify or plain EOF */
			ERR_clear_error();
		} else {
			ssl_error(io, "SSL_read", e);
			io->tls_end = 2;
			io->tls_dead = true;
		}
		break;
	}
	if (got > 0)
		return (ssize_t) got;
end:
	if (io->tls_end == 1)
		return 0;
	errno = io->tls_end ? EPROTO : EAGAIN;
	return -1;
}

/* read_fn - the line reader's read function */
static ssize_t
read_fn(void *ctx, void *p, size_t n)
{
	struct tlsio *io = ctx;
	ssize_t	r;

	switch (io->state) {
	case TLSIO_PLAIN:
		do
			r = read(io->rfd, p, n);
		while (r < 0 && errno == EINTR);
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			(void) str_fmt(io->err, sizeof(io->err), "read: %s",
				       strerror(errno));
		return r;
	case TLSIO_TLS:
		return ssl_read_some(io, p, n);
	case TLSIO_FAILED:
		errno = EPROTO;
		return -1;
	default:
		/* Between STARTTLS and the end of the handshake: nothing. */
		errno = EAGAIN;
		return -1;
	}
}

int
tlsio_get(struct tlsio *io, struct lb_line *l)
{
	return linebuf_get(&io->lb, l);
}

size_t
tlsio_take(struct tlsio *io, void *p, size_t n)
{
	return linebuf_take(&io->lb, p, n);
}

size_t
tlsio_pending(const struct tlsio *io)
{
	size_t	n = linebuf_pending(&io->lb);

	if (io->state == TLSIO_TLS && io->ssl != NULL)
		n += (size_t) SSL_pending(io->ssl);
	return n;
}

bool
tlsio_input_waiting(const struct tlsio *io)
{
	int	avail = 0;

	if (tlsio_pending(io) > 0)
		return true;
	if (io->state == TLSIO_TLS && io->ssl != NULL && SSL_has_pending(io->ssl))
		return true;
	return ioctl(io->rfd, FIONREAD, &avail) == 0 && avail > 0;
}

ssize_t
tlsio_fill(struct tlsio *io)
{
	return linebuf_fill(&io->lb);
}

/* ------------------------------------------------------------------ */
/* Writing.                                                           */

/* write_plain - write up to limit bytes of out in the clear */
static int
write_plain(struct tlsio *io, size_t limit)
{
	while (limit > 0) {
		ssize_t	n = write(io->wfd, io->out.data, limit);

		if (n > 0) {
			buf_consume(&io->out, (size_t) n);
			limit -= (size_t) n;
			if (io->state == TLSIO_STARTING)
				io->plain_left -= (size_t) n;
		} else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		else {
			(void) str_fmt(io->err, sizeof(io->err), "write: %s",
				       n < 0 ? strerror(errno) : "wrote nothing");
			io->werr = true;
			return -1;
		}
	}
	return 0;
}

static int
write_tls(struct tlsio *io)
{
	io->wr_wants_read = false;
	while (io->out.len > 0) {
		size_t	n = io->wpend ? io->wpend : io->out.len;
		int	k, e;

		if (n > INT_MAX)
			n = INT_MAX;
		ERR_clear_error();
		errno = 0;
		k = SSL_write(io->ssl, io->out.data, (int) n);
		if (k > 0) {
			buf_consume(&io->out, (size_t) k);
			io->wpend = 0;
			continue;
		}
		e = SSL_get_error(io->ssl, k);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			io->wpend = n;
			io->wr_wants_read = e == SSL_ERROR_WANT_READ;
			return 1;
		}
		ssl_error(io, "SSL_write", e);
		io->tls_dead = true;
		io->werr = true;
		return -1;
	}
	return 0;
}

static void
begin_handshake(struct tlsio *io)
{
	io->state = TLSIO_HANDSHAKE;
	step_handshake(io);
}

/* flush_some - 0 all written, 1 more to write later, -1 failed */
static int
flush_some(struct tlsio *io)
{
	int	r;

	if (io->werr)
		return -1;
	switch (io->state) {
	case TLSIO_PLAIN:
		return write_plain(io, io->out.len);
	case TLSIO_STARTING:
		if ((r = write_plain(io, io->plain_left)) != 0)
			return r;
		begin_handshake(io);
		if (io->state == TLSIO_TLS)
			return write_tls(io);
		if (io->state == TLSIO_FAILED)
			goto failed;	/* TLSIO_TLS_FAIL follows from the loop */
		return io->out.len > 0;
	case TLSIO_HANDSHAKE:
		return io->out.len > 0;
	case TLSIO_TLS:
		return write_tls(io);
	default:
		break;
	}
failed:
	/* Nothing can be written any more; with nothing to write, no failure. */
	if (io->out.len == 0)
		return 0;
	io->werr = true;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Interest in descriptor events.                                     */

static void
set_interest(struct tlsio *io, bool r, bool w)
{
	/*
	 * A pause in reading keeps the read interest registered until
	 * input actually comes (on_io() parks it then): a peer waiting
	 * for its reply sends nothing, and the pause costs no epoll_ctl().
	 */
	bool	keep_r = !r && !io->parked && ev_io_active(&io->rio)
	    && (io->rio.events & EV_READ) && io->state != TLSIO_FAILED;

	if (r)
		io->parked = false;
	if (io->rfd == io->wfd) {
		unsigned ev = (r || keep_r ? EV_READ : 0) | (w ? EV_WRITE : 0);

		if (ev == 0)
			ev_io_stop(io->loop, &io->rio);
		else if (!ev_io_active(&io->rio) || io->rio.events != ev)
			ev_io_start(io->loop, &io->rio, ev);
		return;
	}
	if ((r || keep_r) && !ev_io_active(&io->rio))
		ev_io_start(io->loop, &io->rio, EV_READ);
	else if (!r && !keep_r)
		ev_io_stop(io->loop, &io->rio);
	if (w && !ev_io_active(&io->wio))
		ev_io_start(io->loop, &io->wio, EV_WRITE);
	else if (!w)
		ev_io_stop(io->loop, &io->wio);
}

static void
update(struct tlsio *io)
{
	bool	r = false, w = false;
	bool	in = io->want_in && !io->eof;

	if (io->loop == NULL)
		return;
	switch (io->state) {
	case TLSIO_PLAIN:
		r = in;
		w = io->flushing;
		break;
	case TLSIO_STARTING:
		w = true;
		break;
	case TLSIO_HANDSHAKE:
		r = io->hs_want == EV_READ;
		w = io->hs_want == EV_WRITE;
		break;
	case TLSIO_TLS:
		r = (in && !io->rd_wants_write) || (io->flushing && io->wr_wants_read);
		w = (io->flushing && !io->wr_wants_read) || (in && io->rd_wants_write);
		break;
	case TLSIO_FAILED:
		break;
	}
	set_interest(io, r, w);
}

/* ------------------------------------------------------------------ */
/* Event handlers.                                                    */

static void
report(struct tlsio *io)
{
	unsigned ev = io->report;

	if (ev == 0)
		return;
	io->report = 0;
	io->cb(io, ev, io->ctx);
	/* io may be gone now. */
}

/* do_read - one fill for the owner; what happened goes to io->report */
static void
do_read(struct tlsio *io)
{
	ssize_t	n;

	if (!(io->report & TLSIO_IN))
		io->last_in = 0;
	n = tlsio_fill(io);
	if (n > 0) {
		io->last_in += (size_t) n;
		io->report |= TLSIO_IN;
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK
			      && errno != EINTR)) {
		if (n < 0 && errno == ENOBUFS)	/* the owner's mistake */
			(void) str_copy(io->err, sizeof(io->err), "tlsio: input "
					"wanted while the line reader is full");
		io->eof = true;
		io->report |= TLSIO_EOF;
	}
}

/* do_write - go on with a flush the owner started */
static void
do_write(struct tlsio *io)
{
	int	r = flush_some(io);

	if (r == 1)
		return;
	io->flushing = false;
	io->report |= r == 0 ? TLSIO_DRAINED : TLSIO_WERROR;
}

static void
step_handshake(struct tlsio *io)
{
	int	k, e;

	ERR_clear_error();
	errno = 0;
	k = SSL_do_handshake(io->ssl);
	if (k == 1) {
		io->state = TLSIO_TLS;
		io->hs_want = 0;
		io->report |= TLSIO_TLS_UP;
		return;
	}
	e = SSL_get_error(io->ssl, k);
	if (e == SSL_ERROR_WANT_READ)
		io->hs_want = EV_READ;
	else if (e == SSL_ERROR_WANT_WRITE)
		io->hs_want = EV_WRITE;
	else {
		ssl_error(io, io->server ? "SSL_accept" : "SSL_connect", e);
		io->state = TLSIO_FAILED;
		io->tls_dead = true;
		io->hs_want = 0;
		io->report |= TLSIO_TLS_FAIL;
	}
}

static void
on_io(struct ev_loop *loop, struct ev_io *w, unsigned revents)
{
	struct tlsio *io = w->data;
	bool	rd, wr, used = false;

	(void) loop;
	if (io->rfd == io->wfd) {
		rd = (revents & (EV_READ | EV_ERROR)) != 0;
		wr = (revents & (EV_WRITE | EV_ERROR)) != 0 && (io->rio.events & EV_WRITE);
	} else {
		rd = w == &io->rio;
		wr = w == &io->wio;
	}
	switch (io->state) {
	case TLSIO_STARTING:
		if (wr) {
			int	r = flush_some(io);

			if (r == -1) {
				io->flushing = false;
				if (!(io->report & TLSIO_TLS_FAIL))
					io->report |= TLSIO_WERROR;
			} else if (r == 0 && io->flushing) {
				io->flushing = false;
				io->report |= TLSIO_DRAINED;
			}
		} else if (rd)
			io->parked = true;	/* nothing is read now */
		break;
	case TLSIO_HANDSHAKE:
		step_handshake(io);
		if (io->state == TLSIO_TLS && io->flushing)
			do_write(io);
		if (io->state == TLSIO_TLS && io->want_in && SSL_has_pending(io->ssl))
			kick(io);
		break;
	case TLSIO_PLAIN:
	case TLSIO_TLS:
		if (wr && io->rd_wants_write && io->want_in)
			do_read(io);
		if (rd && io->flushing && io->wr_wants_read) {
			do_write(io);
			used = true;
		} else if (wr && io->flushing)
			do_write(io);
		if (rd && io->want_in && !io->eof && !io->rd_wants_write) {
			do_read(io);
			used = true;
		}
		if (rd && !used)
			io->parked = true;	/* input nobody wants yet */
		break;
	case TLSIO_FAILED:
		break;
	}
	update(io);
	report(io);
}

static void
on_kick(struct ev_loop *loop, struct ev_timer *t)
{
	struct tlsio *io = t->data;

	(void) loop;
	if (io->state == TLSIO_TLS && io->want_in && !io->eof
	    && SSL_has_pending(io->ssl))
		do_read(io);
	update(io);
	report(io);
}

static void
on_deadline(struct ev_loop *loop, struct ev_timer *t)
{
	struct tlsio *io = t->data;

	(void) loop;
	io->report |= TLSIO_TIMEOUT;
	report(io);
}

/* kick - report on the next loop round */
static void
kick(struct tlsio *io)
{
	if (io->loop != NULL && !ev_timer_active(&io->kick))
		ev_timer_start(io->loop, &io->kick, 0);
}

/* ------------------------------------------------------------------ */
/* The owner's calls.                                                 */

void
tlsio_init(struct tlsio *io, struct ev_loop *loop, int rfd, int wfd,
	   size_t max_line, size_t out_max, tlsio_cb *cb, void *ctx)
{
	memset(io, 0, sizeof(*io));
	io->loop = loop;
	io->rfd = rfd;
	io->wfd = wfd;
	io->cb = cb;
	io->ctx = ctx;
	io->state = TLSIO_PLAIN;
	linebuf_init(&io->lb, rfd, max_line, read_fn, io);
	buf_init(&io->out, out_max);
	ev_io_init(&io->rio, rfd, on_io, io);
	ev_io_init(&io->wio, wfd, on_io, io);
	ev_timer_init(&io->kick, on_kick, io);
	ev_timer_init(&io->deadline, on_deadline, io);
}

void
tlsio_free(struct tlsio *io)
{
	if (io->loop != NULL) {
		ev_io_stop(io->loop, &io->rio);
		ev_io_stop(io->loop, &io->wio);
		ev_timer_stop(io->loop, &io->kick);
		ev_timer_stop(io->loop, &io->deadline);
	}
	if (io->ssl != NULL) {
		/* One try at close_notify: the peer may be gone. */
		if (io->state == TLSIO_TLS && !io->tls_dead && !io->werr) {
			ERR_clear_error();
			(void) SSL_shutdown(io->ssl);
		}
		ERR_clear_error();
		SSL_free(io->ssl);
		io->ssl = NULL;
	}
	linebuf_free(&io->lb);
	buf_free(&io->out);
}

void
tlsio_want_input(struct tlsio *io, bool on)
{
	if (io->want_in == on && !(on && io->state == TLSIO_TLS))
		return;
	io->want_in = on;
	if (on && io->state == TLSIO_TLS && !io->eof && SSL_has_pending(io->ssl))
		kick(io);
	update(io);
}

int
tlsio_flush(struct tlsio *io)
{
	int	r = flush_some(io);

	io->flushing = r == 1;
	update(io);
	if (io->report != 0)
		kick(io);
	return r;
}

void
tlsio_deadline(struct tlsio *io, uint64_t ms)
{
	if (io->loop == NULL)
		return;
	if (ms == 0)
		ev_timer_stop(io->loop, &io->deadline);
	else
		ev_timer_start(io->loop, &io->deadline, ms);
}

/*
 * drain_kernel - take and count what the peer already sent (a socket;
 * other descriptors have nothing to take without blocking)
 */
static size_t
drain_kernel(int fd)
{
	char	junk[4096];
	size_t	total = 0;
	ssize_t	n;

	while (total < DRAIN_MAX) {
		n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n > 0)
			total += (size_t) n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	return total;
}

/*
 * dane_setup - the TLSA records the server's chain must match (the
 * SSL_CTX must have had SSL_CTX_dane_enable()).  The base domain is
 * the first reference name for a DANE-TA(2) match; DANE-EE(3) matches
 * the key alone, without a name check (RFC 7672 section 3.1.1).
 * Records OpenSSL cannot use are skipped; none left: -2 with io->err
 * set; -1: OpenSSL failed (its error queue says why).
 */
static int
dane_setup(struct tlsio *io, const struct tlsio_peer *peer)
{
	size_t	added = 0;

	if (SSL_dane_enable(io->ssl, peer->dane_base) <= 0)
		return -1;
	(void) SSL_dane_set_flags(io->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < peer->ntlsa; i++) {
		const struct tlsio_tlsa *t = &peer->tlsa[i];

		if (SSL_dane_tlsa_add(io->ssl, t->usage, t->selector, t->mtype,
				      t->data, t->len) > 0)
			added++;
	}
	if (added == 0) {
		ERR_clear_error();
		(void) str_fmt(io->err, sizeof(io->err), "TLS set-up: none of the "
			       "%zu TLSA records is usable (DANE)", peer->ntlsa);
		return -2;
	}
	return 0;
}

/* start - the SSL object and the handshake; the clear part goes first */
static int
start(struct tlsio *io, SSL_CTX *ctx, const struct tlsio_peer *peer)
{
	int	dane;

	ERR_clear_error();
	if ((io->ssl = SSL_new(ctx)) == NULL) {
		ssl_error(io, "SSL_new", SSL_ERROR_SSL);
		return -1;
	}
	if ((io->rfd == io->wfd ? SSL_set_fd(io->ssl, io->rfd) != 1
	     : SSL_set_rfd(io->ssl, io->rfd) != 1 || SSL_set_wfd(io->ssl, io->wfd) != 1))
		goto fail;
	io->server = peer == NULL;
	if (io->server)
		SSL_set_accept_state(io->ssl);
	else {
		SSL_set_connect_state(io->ssl);
		if (peer->sni != NULL && *peer->sni
		    && SSL_set_tlsext_host_name(io->ssl, peer->sni) != 1)
			goto fail;
		SSL_set_hostflags(io->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (peer->ntlsa > 0 && (dane = dane_setup(io, peer)) < 0) {
			if (dane == -2)
				goto failed;
			goto fail;
		}
		for (size_t i = 0; i < peer->nnames; i++)
			if ((i == 0 && peer->ntlsa == 0 ? SSL_set1_host(io->ssl, peer->names[i])
			     : SSL_add1_host(io->ssl, peer->names[i])) != 1)
				goto fail;
		SSL_set_verify(io->ssl, peer->verify ? SSL_VERIFY_PEER
			       : SSL_VERIFY_NONE, NULL);
		if (peer->session != NULL && SSL_set_session(io->ssl, peer->session) != 1)
			goto fail;
	}
	io->plain_left = io->out.len;
	io->state = TLSIO_STARTING;
	if (io->plain_left == 0)
		begin_handshake(io);
	update(io);
	if (io->report != 0)
		kick(io);
	return 0;

fail:
	ssl_error(io, "TLS set-up", SSL_ERROR_SSL);
failed:
	SSL_free(io->ssl);
	io->ssl = NULL;
	return -1;
}

int
tlsio_starttls(struct tlsio *io, SSL_CTX *ctx, const struct tlsio_peer *peer,
	       size_t *discarded)
{
	size_t	n = linebuf_pending(&io->lb);
	int	avail = 0;

	if (discarded != NULL)
		*discarded = 0;
	if (io->state != TLSIO_PLAIN) {
		(void) str_copy(io->err, sizeof(io->err), "STARTTLS: TLS was "
				"already started on this connection");
		return -1;
	}
	if (peer == NULL) {
		(void) linebuf_take(&io->lb, NULL, n);
		n += drain_kernel(io->rfd);
		if (discarded != NULL)
			*discarded = n;
	} else {
		if (n == 0 && ioctl(io->rfd, FIONREAD, &avail) == 0 && avail > 0)
			n = (size_t) avail;
		if (n > 0) {
			(void) str_fmt(io->err, sizeof(io->err), "STARTTLS: %zu "
				       "byte%s of plaintext came after the "
				       "server's reply to STARTTLS (an injection "
				       "attempt or a broken server)", n,
				       n == 1 ? "" : "s");
			return -1;
		}
	}
	return start(io, ctx, peer);
}

int
tlsio_wrap(struct tlsio *io, SSL_CTX *ctx, const struct tlsio_peer *peer)
{
	if (io->state != TLSIO_PLAIN || linebuf_bytes_in(&io->lb) > 0 || io->out.len > 0) {
		(void) str_copy(io->err, sizeof(io->err), "implicit TLS: bytes were "
				"already exchanged in the clear on this connection");
		return -1;
	}
	return start(io, ctx, peer);
}

int
tlsio_handshake(struct tlsio *io)
{
	if (io->state == TLSIO_STARTING) {
		int	r = write_plain(io, io->plain_left);

		if (r != 0)
			return r;
		io->state = TLSIO_HANDSHAKE;
	}
	if (io->state == TLSIO_HANDSHAKE)
		step_handshake(io);
	io->report &= ~(unsigned) (TLSIO_TLS_UP | TLSIO_TLS_FAIL);
	switch (io->state) {
	case TLSIO_TLS:
		return 0;
	case TLSIO_HANDSHAKE:
		return 1;
	default:
		return -1;
	}
}

/* ------------------------------------------------------------------ */
/* What TLS was agreed.                                               */

const char *
tlsio_protocol(const struct tlsio *io)
{
	return io->state == TLSIO_TLS ? SSL_get_version(io->ssl) : "";
}

const char *
tlsio_cipher(const struct tlsio *io)
{
	const char *c = io->state == TLSIO_TLS ? SSL_get_cipher_name(io->ssl) : NULL;

	return c ? c : "";
}

int
tlsio_bits(const struct tlsio *io, int *alg_bits)
{
	int	alg = 0, bits = 0;

	if (io->state == TLSIO_TLS)
		bits = SSL_get_cipher_bits(io->ssl, &alg);
	if (alg_bits != NULL)
		*alg_bits = alg;
	return bits;
}

/* curve_name - "P-256" for NIST curves, else OpenSSL's short name */
static const char *
curve_name(int nid)
{
	const char *n = EC_curve_nid2nist(nid);

	return n ? n : OBJ_nid2sn(nid);
}

/* sig_name - a signature algorithm's name as Postfix logs it */
static const char *
sig_name(int nid)
{
	switch (nid) {
	case EVP_PKEY_RSA:
		return "RSA";
	case EVP_PKEY_RSA_PSS:
		return "RSA-PSS";
	case EVP_PKEY_EC:
		return "ECDSA";
	case EVP_PKEY_ED25519:
		return "ED25519";
	case EVP_PKEY_ED448:
		return "ED448";
	default:
		return OBJ_nid2sn(nid);
	}
}

void
tlsio_summary(const struct tlsio *io, char *out, size_t size)
{
	struct buf b;
	int	alg = 0, bits, nid = NID_undef;
	SSL    *ssl = io->ssl;
	X509   *cert;
	EVP_PKEY *pk;

	*out = '\0';
	if (io->state != TLSIO_TLS || size == 0)
		return;
	buf_init(&b, size - 1);
	bits = tlsio_bits(io, &alg);
	(void) buf_appendf(&b, "%s with cipher %s (%d/%d bits)", tlsio_protocol(io),
			   tlsio_cipher(io), bits, alg);
	nid = SSL_get_negotiated_group(ssl);
	if (nid != NID_undef && !(nid & TLSEXT_nid_unknown))
		(void) buf_appendf(&b, " key-exchange %s", curve_name(nid));
	/* The server's signature: ours as server, the peer's as client. */
	if ((io->server ? SSL_get_signature_type_nid(ssl, &nid)
	     : SSL_get_peer_signature_type_nid(ssl, &nid)) == 1) {
		cert = io->server ? SSL_get_certificate(ssl) : SSL_get0_peer_certificate(ssl);
		(void) buf_appendf(&b, " server-signature %s", sig_name(nid));
		if (cert != NULL && (pk = X509_get0_pubkey(cert)) != NULL) {
			char	group[64];
			size_t	glen = 0;

			if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC
			    && EVP_PKEY_get_utf8_string_param(pk, "group", group,
							      sizeof(group), &glen) == 1)
				(void) buf_appendf(&b, " (%s)", curve_name(OBJ_txt2nid(group)));
			else
				(void) buf_appendf(&b, " (%d bits)", EVP_PKEY_get_bits(pk));
		}
		if ((io->server ? SSL_get_signature_nid(ssl, &nid)
		     : SSL_get_peer_signature_nid(ssl, &nid)) == 1 && nid != NID_undef)
			(void) buf_appendf(&b, " server-digest %s", OBJ_nid2sn(nid));
	}
	(void) str_copy(out, size, buf_str(&b));
	buf_free(&b);
}

bool
tlsio_peer_cert(const struct tlsio *io)
{
	return io->state == TLSIO_TLS && SSL_get0_peer_certificate(io->ssl) != NULL;
}

static void
name_cn(const X509_NAME *name, char *out, size_t size)
{
	int	i;
	const ASN1_STRING *s;
	const unsigned char *d;
	size_t	n = 0;

	*out = '\0';
	if (name == NULL || size == 0
	    || (i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0
	    || (s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) == NULL)
		return;
	d = ASN1_STRING_get0_data(s);
	/* Printable ASCII only: the text goes into logs and headers. */
	for (int k = 0; k < ASN1_STRING_length(s) && n + 1 < size; k++)
		out[n++] = d[k] >= 0x20 && d[k] < 0x7f ? (char) d[k] : '?';
	out[n] = '\0';
}

void
tlsio_peer_cn(const struct tlsio *io, char *out, size_t size)
{
	X509   *c = io->state == TLSIO_TLS ? SSL_get0_peer_certificate(io->ssl) : NULL;

	name_cn(c ? X509_get_subject_name(c) : NULL, out, size);
}

void
tlsio_peer_issuer_cn(const struct tlsio *io, char *out, size_t size)
{
	X509   *c = io->state == TLSIO_TLS ? SSL_get0_peer_certificate(io->ssl) : NULL;

	name_cn(c ? X509_get_issuer_name(c) : NULL, out, size);
}

bool
tlsio_verified(const struct tlsio *io)
{
	return tlsio_peer_cert(io) && SSL_get_verify_result(io->ssl) == X509_V_OK;
}

const char *
tlsio_verify_error(const struct tlsio *io)
{
	long	r;

	if (io->ssl == NULL)
		return "no TLS";
	r = SSL_get_verify_result(io->ssl);
	/* A chain refused in the handshake is not kept: its reason is. */
	if (SSL_get0_peer_certificate(io->ssl) == NULL && r == X509_V_OK)
		return "no certificate";
	return X509_verify_cert_error_string(r);
}

bool
tlsio_reused(const struct tlsio *io)
{
	return io->state == TLSIO_TLS && SSL_session_reused(io->ssl) == 1;
}

SSL *
tlsio_ssl(const struct tlsio *io)
{
	return io->ssl;
}
