/*
 * tlsio_test - check suite for lib/tls/tlsio: lines and flushes in the clear
 * and over TLS, on the loop and without it, STARTTLS with plaintext
 * pending (discarded by a server, refused by a client), handshake
 * failures, peer verification, DANE-EE matches and mismatches, large transfers through small socket
 * buffers, deadlines.  Both ends of each conversation run on one loop
 * over a socket pair (or two pipes).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "check_main.h"
#include "scratch.h"
#include "tls_cert.h"

#include "buf.h"
#include "event.h"
#include "tls_ctx.h"
#include "tlsio.h"

#define MAX_LINE	2048
#define OUT_MAX		(2 * 1024 * 1024)

static char dir[] = "/tmp/tlsio_test.XXXXXX";
static char cert[600], key[600];
static SSL_CTX *sctx, *cctx;

/* One end of a conversation and what it saw. */
struct end {
	struct tlsio io;
	unsigned events;		/* every event so far */
	int	ups, fails, drained, eofs, timeouts, ins;
	struct buf lines;		/* each line seen, LF-terminated */
	bool	reading;		/* take lines and ask for more */
	bool	starttls_server;	/* answer STARTTLS and switch */
	size_t	discarded;
	bool	free_on_eof;		/* tlsio_free() inside the callback */
	bool	freed;
};

static void
take_lines(struct end *e)
{
	struct lb_line l;

	while (tlsio_get(&e->io, &l) == LB_LINE) {
		buf_append(&e->lines, l.data, l.len);
		buf_putc(&e->lines, '\n');
		if (e->starttls_server && l.len == 8 && memcmp(l.data, "STARTTLS", 8) == 0) {
			buf_puts(&e->io.out, "220 2.0.0 Ready to start TLS\r\n");
			ck_assert_int_eq(tlsio_starttls(&e->io, sctx, NULL, &e->discarded), 0);
			ck_assert_int_ge(tlsio_flush(&e->io), 0);
			break;
		}
	}
	tlsio_want_input(&e->io, true);
}

static void
on_end(struct tlsio *io, unsigned ev, void *ctx)
{
	struct end *e = ctx;

	ck_assert_ptr_eq(io, &e->io);
	ck_assert_uint_ne(ev, 0);
	e->events |= ev;
	e->ups += (ev & TLSIO_TLS_UP) != 0;
	e->fails += (ev & TLSIO_TLS_FAIL) != 0;
	e->drained += (ev & TLSIO_DRAINED) != 0;
	e->eofs += (ev & TLSIO_EOF) != 0;
	e->timeouts += (ev & TLSIO_TIMEOUT) != 0;
	e->ins += (ev & TLSIO_IN) != 0;
	if ((ev & TLSIO_IN))
		ck_assert_uint_gt(io->last_in, 0);
	if ((ev & TLSIO_EOF) && e->free_on_eof) {
		tlsio_free(io);
		e->freed = true;
		return;
	}
	if (e->reading)
		take_lines(e);
	else
		tlsio_want_input(io, false);
}

static void
end_init(struct end *e, struct ev_loop *loop, int rfd, int wfd)
{
	memset(e, 0, sizeof(*e));
	tlsio_init(&e->io, loop, rfd, wfd, MAX_LINE, OUT_MAX, on_end, e);
	buf_init(&e->lines, 16 * 1024 * 1024);
}

static void
end_free(struct end *e)
{
	if (!e->freed)
		tlsio_free(&e->io);
	buf_free(&e->lines);
}

/* finish - free the ends (c may be NULL), the socket pair and the loop */
static void
finish(struct ev_loop *loop, struct end *s, struct end *c, int sv[2])
{
	end_free(s);
	if (c != NULL)
		end_free(c);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(loop);
}

static void
nonblock(int fd)
{
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

static void
pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
				    0, sv), 0);
}

/* Run the loop until cond holds (at most 5000 rounds of up to 100 ms). */
#define RUN_UNTIL(loop, cond) do { \
	for (int i_ = 0; i_ < 5000 && !(cond); i_++) \
		ck_assert_int_eq(ev_run_once((loop), 100), 0); \
	ck_assert_msg((cond), "never happened: %s", #cond); \
} while (0)

static void
setup(void)
{
	struct tls_server_conf sc = {0};
	struct tls_client_conf cc = {0};
	char	why[300];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	tls_cert_make(dir, "server", "mx.example", "P-256");
	snprintf(cert, sizeof(cert), "%s/server.crt", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	sc.cert_file = cert;
	sc.key_file = key;
	sc.protocols = ">=TLSv1.2";
	sc.ciphers = "medium";
	sc.ticket_lifetime = 3600;
	sctx = tls_ctx_server(&sc, why, sizeof(why));
	ck_assert_msg(sctx != NULL, "%s", why);
	cc.CAfile = cert;
	cc.protocols = ">=TLSv1.2";
	cc.ciphers = "medium";
	cctx = tls_ctx_client(&cc, why, sizeof(why));
	ck_assert_msg(cctx != NULL, "%s", why);
}

static void
teardown(void)
{
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
	scratch_remove(dir, "/tmp/tlsio_test.");
}

static const char *const mx_names[] = {"mx.example"};
static const struct tlsio_peer mx_peer = {"mx.example", mx_names, 1, true, NULL, NULL, NULL, 0};

/* ------------------------------------------------------------------ */
/* In the clear.                                                      */

START_TEST(test_plain_lines)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s;
	int	sv[2];
	char	got[64];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	s.reading = true;
	tlsio_want_input(&s.io, true);
	ck_assert(!tlsio_input_waiting(&s.io));
	ck_assert_int_eq(write(sv[1], "EHLO a\r\nbare\nlast", 17), 17);
	ck_assert(tlsio_input_waiting(&s.io));		/* in the kernel */
	RUN_UNTIL(loop, strcmp(buf_str(&s.lines), "EHLO a\nbare\n") == 0);
	ck_assert_uint_eq(tlsio_pending(&s.io), 4);	/* "last" waits for its end */
	ck_assert(tlsio_input_waiting(&s.io));		/* in the reader */
	ck_assert_uint_eq(tlsio_bytes_in(&s.io), 17);

	buf_puts(&s.io.out, "250 ok\r\n");
	ck_assert_int_eq(tlsio_flush(&s.io), 0);
	ck_assert_int_eq(read(sv[1], got, sizeof(got)), 8);
	ck_assert_int_eq(memcmp(got, "250 ok\r\n", 8), 0);

	close(sv[1]);
	RUN_UNTIL(loop, s.eofs == 1);
	ck_assert_uint_eq(tlsio_take(&s.io, got, sizeof(got)), 4);
	ck_assert_int_eq(memcmp(got, "last", 4), 0);
	end_free(&s);
	close(sv[0]);
	ev_loop_free(loop);
}
END_TEST

/* A long line comes in pieces of at most max_line bytes. */
START_TEST(test_plain_long_line)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s;
	struct lb_line l;
	int	sv[2];
	char	big[MAX_LINE * 3];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	ck_assert_int_eq(write(sv[1], big, sizeof(big)), (ssize_t) sizeof(big));
	tlsio_want_input(&s.io, true);
	RUN_UNTIL(loop, s.ins > 0 && tlsio_pending(&s.io) == sizeof(big));
	ck_assert_int_eq(tlsio_get(&s.io, &l), LB_LINE);
	ck_assert_uint_eq(l.len, MAX_LINE);
	ck_assert(l.flags & LB_TOO_LONG);
	finish(loop, &s, NULL, sv);
}
END_TEST

/* Output beyond the socket buffer goes out in the background. */
START_TEST(test_plain_background_flush)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s;
	int	sv[2], small = 4096;
	size_t	total = 600 * 1024, got = 0;
	char	rb[65536];

	pair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	end_init(&s, loop, sv[0], sv[0]);
	for (size_t i = 0; i < total / 8; i++)
		buf_puts(&s.io.out, "0123456\n");
	ck_assert_int_eq(tlsio_flush(&s.io), 1);
	ck_assert_uint_gt(s.io.out.len, 0);
	while (s.drained == 0) {
		ssize_t	n = read(sv[1], rb, sizeof(rb));

		if (n > 0) {
			for (ssize_t k = 0; k < n; k++)
				ck_assert_int_eq(rb[k], "0123456\n"[(got + (size_t) k) % 8]);
			got += (size_t) n;
		}
		ck_assert_int_eq(ev_run_once(loop, 100), 0);
	}
	while (got < total) {
		ssize_t	n = read(sv[1], rb, sizeof(rb));

		ck_assert_int_gt(n, 0);
		got += (size_t) n;
	}
	ck_assert_uint_eq(got, total);
	ck_assert_uint_eq(s.io.out.len, 0);
	ck_assert_int_eq(tlsio_flush(&s.io), 0);
	finish(loop, &s, NULL, sv);
}
END_TEST

/* Input while the owner pauses is not reported until it asks again. */
START_TEST(test_plain_pause)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s;
	int	sv[2];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	tlsio_want_input(&s.io, true);
	tlsio_want_input(&s.io, false);
	ck_assert_int_eq(write(sv[1], "NOOP\r\n", 6), 6);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ev_run_once(loop, 10), 0);
	ck_assert_int_eq(s.ins, 0);
	ck_assert(s.io.parked);
	ck_assert(!ev_io_active(&s.io.rio));
	s.reading = true;
	tlsio_want_input(&s.io, true);
	RUN_UNTIL(loop, strcmp(buf_str(&s.lines), "NOOP\n") == 0);
	finish(loop, &s, NULL, sv);
}
END_TEST

/* The owner may free the object in its callback. */
START_TEST(test_free_in_callback)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s;
	int	sv[2];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	s.free_on_eof = true;
	tlsio_want_input(&s.io, true);
	tlsio_deadline(&s.io, 60000);
	close(sv[1]);
	RUN_UNTIL(loop, s.freed);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ev_run_once(loop, 10), 0);
	end_free(&s);
	close(sv[0]);
	ev_loop_free(loop);
}
END_TEST

START_TEST(test_deadline)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s;
	int	sv[2];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	tlsio_deadline(&s.io, 20);
	RUN_UNTIL(loop, s.timeouts == 1);
	tlsio_deadline(&s.io, 20);
	tlsio_deadline(&s.io, 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(ev_run_once(loop, 15), 0);
	ck_assert_int_eq(s.timeouts, 1);
	finish(loop, &s, NULL, sv);
}
END_TEST

/* Without a loop, on blocking pipes (sendmail -bs). */
START_TEST(test_no_loop)
{
	struct tlsio io;
	struct lb_line l;
	int	in[2], out[2];
	char	got[32];

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	tlsio_init(&io, NULL, in[0], out[1], MAX_LINE, OUT_MAX, NULL, NULL);
	ck_assert_int_eq(write(in[1], "HELO x\r\n", 8), 8);
	ck_assert_int_eq(tlsio_get(&io, &l), LB_NEED);
	ck_assert_int_eq(tlsio_fill(&io), 8);
	ck_assert_int_eq(tlsio_get(&io, &l), LB_LINE);
	ck_assert_uint_eq(l.len, 6);
	buf_puts(&io.out, "250 x\r\n");
	ck_assert_int_eq(tlsio_flush(&io), 0);
	ck_assert_int_eq(read(out[0], got, sizeof(got)), 7);
	close(in[1]);
	ck_assert_int_eq(tlsio_fill(&io), 0);
	tlsio_want_input(&io, true);	/* harmless without a loop */
	tlsio_free(&io);
	close(in[0]);
	close(out[0]);
	close(out[1]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TLS.                                                               */

static void
up_pair(struct ev_loop *loop, struct end *s, struct end *c, int sv[2],
	const struct tlsio_peer *peer)
{
	end_init(s, loop, sv[0], sv[0]);
	end_init(c, loop, sv[1], sv[1]);
	ck_assert_int_eq(tlsio_wrap(&s->io, sctx, NULL), 0);
	ck_assert_int_eq(tlsio_wrap(&c->io, cctx, peer), 0);
	s->reading = c->reading = true;
	tlsio_want_input(&s->io, true);
	tlsio_want_input(&c->io, true);
}

START_TEST(test_tls_wrapper_roundtrip)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	sv[2];
	char	sum[300], cn[64];

	pair(sv);
	up_pair(loop, &s, &c, sv, &mx_peer);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	ck_assert(tlsio_is_tls(&s.io));
	ck_assert_str_eq(tlsio_protocol(&s.io), "TLSv1.3");
	tlsio_summary(&s.io, sum, sizeof(sum));
	ck_assert_msg(strncmp(sum, "TLSv1.3 with cipher TLS_", 24) == 0, "%s", sum);
	ck_assert_msg(strstr(sum, " bits) key-exchange X25519 server-signature "
			     "ECDSA (P-256) server-digest SHA256") != NULL, "%s", sum);
	tlsio_summary(&c.io, sum, sizeof(sum));
	ck_assert_msg(strstr(sum, "server-signature ECDSA (P-256)") != NULL, "%s", sum);
	ck_assert(tlsio_verified(&c.io));
	ck_assert(tlsio_peer_cert(&c.io));
	ck_assert(!tlsio_peer_cert(&s.io));
	tlsio_peer_cn(&c.io, cn, sizeof(cn));
	ck_assert_str_eq(cn, "mx.example");
	tlsio_peer_issuer_cn(&c.io, cn, sizeof(cn));
	ck_assert_str_eq(cn, "mx.example");
	ck_assert_str_eq(tlsio_verify_error(&c.io), "ok");
	ck_assert_int_gt(tlsio_bits(&s.io, NULL), 0);

	buf_puts(&c.io.out, "EHLO client\r\nMAIL FROM:<a@b>\r\n");
	ck_assert_int_ge(tlsio_flush(&c.io), 0);
	RUN_UNTIL(loop, strcmp(buf_str(&s.lines), "EHLO client\nMAIL FROM:<a@b>\n") == 0);
	buf_puts(&s.io.out, "250 ok\r\n");
	ck_assert_int_ge(tlsio_flush(&s.io), 0);
	RUN_UNTIL(loop, strcmp(buf_str(&c.lines), "250 ok\n") == 0);

	/* The client's close_notify is an end of input, not an error. */
	tlsio_free(&c.io);
	c.freed = true;
	RUN_UNTIL(loop, s.eofs == 1);
	ck_assert_str_eq(tlsio_error(&s.io), "");
	finish(loop, &s, &c, sv);
}
END_TEST

/* A client offers the session of its last connection and resumes it. */
START_TEST(test_tls_resume)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	sv[2];
	struct tlsio_peer p = mx_peer;
	SSL_SESSION *sess;

	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
	pair(sv);
	up_pair(loop, &s, &c, sv, &p);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	ck_assert(!tlsio_reused(&c.io));
	buf_puts(&s.io.out, "220 x\r\n");	/* the ticket comes before it */
	ck_assert_int_ge(tlsio_flush(&s.io), 0);
	RUN_UNTIL(loop, c.lines.len > 0);
	sess = SSL_get1_session(tlsio_ssl(&c.io));
	ck_assert_ptr_nonnull(sess);
	finish(loop, &s, &c, sv);

	loop = ev_loop_new();
	pair(sv);
	p.session = sess;
	up_pair(loop, &s, &c, sv, &p);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	ck_assert(tlsio_reused(&c.io));
	ck_assert(tlsio_reused(&s.io));
	SSL_SESSION_free(sess);
	finish(loop, &s, &c, sv);
}
END_TEST

/* A megabyte each way through 4 KiB socket buffers. */
START_TEST(test_tls_bulk)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	sv[2], small = 4096;
	size_t	lines = 20000;
	char	line[64];

	pair(sv);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
		ck_assert_int_eq(setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	}
	up_pair(loop, &s, &c, sv, &mx_peer);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	for (size_t i = 0; i < lines; i++) {
		snprintf(line, sizeof(line), "line %06zu of the bulk transfer test.....\r\n", i);
		buf_puts(&c.io.out, line);
		buf_puts(&s.io.out, line);
	}
	ck_assert_int_eq(tlsio_flush(&c.io), 1);
	ck_assert_int_eq(tlsio_flush(&s.io), 1);
	RUN_UNTIL(loop, s.drained == 1 && c.drained == 1
		  && s.lines.len == lines * 43 && c.lines.len == lines * 43);
	for (size_t i = 0; i < lines; i += 997) {
		snprintf(line, sizeof(line), "line %06zu of the bulk transfer test.....\n", i);
		ck_assert_int_eq(memcmp(s.lines.data + i * 43, line, 43), 0);
		ck_assert_int_eq(memcmp(c.lines.data + i * 43, line, 43), 0);
	}
	finish(loop, &s, &c, sv);
}
END_TEST

/* TLS over two pipes: separate read and write descriptors. */
START_TEST(test_tls_two_pipes)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	a[2], b[2];

	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	for (int i = 0; i < 2; i++) {
		nonblock(a[i]);
		nonblock(b[i]);
	}
	end_init(&s, loop, a[0], b[1]);
	end_init(&c, loop, b[0], a[1]);
	ck_assert_int_eq(tlsio_starttls(&s.io, sctx, NULL, NULL), 0);
	ck_assert_int_eq(tlsio_starttls(&c.io, cctx, &mx_peer, NULL), 0);
	s.reading = c.reading = true;
	tlsio_want_input(&s.io, true);
	tlsio_want_input(&c.io, true);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	buf_puts(&c.io.out, "QUIT\r\n");
	ck_assert_int_ge(tlsio_flush(&c.io), 0);
	RUN_UNTIL(loop, strcmp(buf_str(&s.lines), "QUIT\n") == 0);
	end_free(&s);
	end_free(&c);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
	ev_loop_free(loop);
}
END_TEST

/*
 * STARTTLS with a command pipelined behind it in the same packet
 * (CVE-2011-0411): the server discards it, and only what the client
 * sends through TLS is read afterwards.
 */
START_TEST(test_starttls_injection_discarded)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	sv[2];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	end_init(&c, loop, sv[1], sv[1]);
	s.reading = c.reading = true;
	s.starttls_server = true;
	tlsio_want_input(&s.io, true);
	tlsio_want_input(&c.io, true);
	buf_puts(&c.io.out, "STARTTLS\r\nMAIL FROM:<evil@example>\r\n");
	ck_assert_int_eq(tlsio_flush(&c.io), 0);
	RUN_UNTIL(loop, strcmp(buf_str(&c.lines), "220 2.0.0 Ready to start TLS\n") == 0);
	ck_assert_uint_eq(s.discarded, 26);
	ck_assert_int_eq(s.io.state, TLSIO_HANDSHAKE);
	ck_assert_int_eq(tlsio_starttls(&c.io, cctx, &mx_peer, NULL), 0);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	buf_puts(&c.io.out, "EHLO after\r\n");
	ck_assert_int_ge(tlsio_flush(&c.io), 0);
	RUN_UNTIL(loop, strstr(buf_str(&s.lines), "EHLO after\n") != NULL);
	ck_assert_str_eq(buf_str(&s.lines), "STARTTLS\nEHLO after\n");
	finish(loop, &s, &c, sv);
}
END_TEST

/* Bytes still in the kernel when the server switches are discarded too. */
START_TEST(test_starttls_injection_kernel)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s;
	struct lb_line l;
	int	sv[2];
	size_t	discarded = 0;
	char	got[64];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	tlsio_want_input(&s.io, true);
	ck_assert_int_eq(write(sv[1], "STARTTLS\r\n", 10), 10);
	RUN_UNTIL(loop, s.ins == 1);
	ck_assert_int_eq(write(sv[1], "RSET\r\n", 6), 6);
	ck_assert_int_eq(tlsio_get(&s.io, &l), LB_LINE);
	buf_puts(&s.io.out, "220 go\r\n");
	ck_assert_int_eq(tlsio_starttls(&s.io, sctx, NULL, &discarded), 0);
	ck_assert_uint_eq(discarded, 6);
	ck_assert_int_eq(tlsio_flush(&s.io), 0);
	ck_assert_int_eq(read(sv[1], got, sizeof(got)), 8);
	/* Plaintext now is no ClientHello: the handshake fails. */
	ck_assert_int_eq(write(sv[1], "EHLO plain\r\n", 12), 12);
	RUN_UNTIL(loop, s.fails == 1);
	ck_assert_int_eq(s.io.state, TLSIO_FAILED);
	ck_assert_msg(strncmp(tlsio_error(&s.io), "SSL_accept: ", 12) == 0, "%s",
		      tlsio_error(&s.io));
	ck_assert_int_eq(tlsio_flush(&s.io), 0);	/* nothing to write */
	buf_puts(&s.io.out, "x");
	ck_assert_int_eq(tlsio_flush(&s.io), -1);
	ck_assert_int_eq(tlsio_fill(&s.io), -1);
	finish(loop, &s, NULL, sv);
}
END_TEST

/* A client refuses to start TLS with the server's plaintext pending. */
START_TEST(test_starttls_client_refuses)
{
	struct ev_loop *loop = ev_loop_new();
	struct end c;
	struct lb_line l;
	int	sv[2];

	pair(sv);
	end_init(&c, loop, sv[1], sv[1]);
	tlsio_want_input(&c.io, true);
	ck_assert_int_eq(write(sv[0], "220 go\r\n250 injected\r\n", 22), 22);
	RUN_UNTIL(loop, c.ins == 1);
	ck_assert_int_eq(tlsio_get(&c.io, &l), LB_LINE);
	ck_assert_int_eq(tlsio_starttls(&c.io, cctx, &mx_peer, NULL), -1);
	ck_assert_msg(strstr(tlsio_error(&c.io), "14 bytes of plaintext") != NULL,
		      "%s", tlsio_error(&c.io));
	ck_assert_int_eq(c.io.state, TLSIO_PLAIN);
	ck_assert_ptr_null(tlsio_ssl(&c.io));
	end_free(&c);

	/* The same when the bytes are still in the kernel. */
	end_init(&c, loop, sv[1], sv[1]);
	ck_assert_int_eq(write(sv[0], "220 go\r\n", 8), 8);
	tlsio_want_input(&c.io, true);
	RUN_UNTIL(loop, c.ins == 1);
	ck_assert_int_eq(tlsio_get(&c.io, &l), LB_LINE);
	ck_assert_int_eq(write(sv[0], "X\r\n", 3), 3);
	ck_assert_int_eq(tlsio_starttls(&c.io, cctx, &mx_peer, NULL), -1);
	ck_assert_msg(strstr(tlsio_error(&c.io), "3 bytes of plaintext") != NULL,
		      "%s", tlsio_error(&c.io));
	end_free(&c);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(loop);
}
END_TEST

/*
 * Implicit TLS: the client's ClientHello is already in the kernel when
 * the server starts; it is the handshake's first message, not plaintext.
 */
START_TEST(test_wrap_hello_waiting)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	sv[2];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	end_init(&c, loop, sv[1], sv[1]);
	ck_assert_int_eq(tlsio_wrap(&c.io, cctx, &mx_peer), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ev_run_once(loop, 10), 0);
	ck_assert(tlsio_input_waiting(&s.io));
	ck_assert_int_eq(tlsio_wrap(&s.io, sctx, NULL), 0);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	/* Not after a byte in the clear. */
	finish(loop, &s, &c, sv);
	loop = ev_loop_new();
	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	buf_puts(&s.io.out, "220 hello\r\n");
	ck_assert_int_eq(tlsio_wrap(&s.io, sctx, NULL), -1);
	ck_assert_ptr_nonnull(strstr(tlsio_error(&s.io), "implicit TLS"));
	finish(loop, &s, NULL, sv);
}
END_TEST

/*
 * The peer answers the 220 before tlsio_flush() returns, with something
 * that fails the handshake at once: the flush did its part (0), and the
 * failure comes as TLSIO_TLS_FAIL, so the owner can say why.
 */
START_TEST(test_fail_inside_flush)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s;
	int	sv[2];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	buf_puts(&s.io.out, "220 go\r\n");
	ck_assert_int_eq(tlsio_starttls(&s.io, sctx, NULL, NULL), 0);
	ck_assert_int_eq(write(sv[1], "\x16\x03\x01\x00\x05hello", 10), 10);
	ck_assert_int_eq(tlsio_flush(&s.io), 0);
	ck_assert_int_eq(s.io.state, TLSIO_FAILED);
	RUN_UNTIL(loop, s.fails == 1);
	ck_assert_msg(strncmp(tlsio_error(&s.io), "SSL_accept: ", 12) == 0, "%s",
		      tlsio_error(&s.io));
	finish(loop, &s, NULL, sv);
}
END_TEST

START_TEST(test_starttls_twice)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s;
	int	sv[2];

	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	ck_assert_int_eq(tlsio_starttls(&s.io, sctx, NULL, NULL), 0);
	ck_assert_int_eq(tlsio_starttls(&s.io, sctx, NULL, NULL), -1);
	ck_assert_ptr_nonnull(strstr(tlsio_error(&s.io), "already"));
	finish(loop, &s, NULL, sv);
}
END_TEST

/* A certificate that does not carry the name fails a verifying client. */
START_TEST(test_verify_name_mismatch)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	sv[2];
	static const char *const other[] = {"other.example", "mail.other.example"};
	struct tlsio_peer p = {"other.example", other, 2, true, NULL, NULL, NULL, 0};

	pair(sv);
	up_pair(loop, &s, &c, sv, &p);
	RUN_UNTIL(loop, c.fails == 1 && (s.fails == 1 || s.eofs == 1));
	ck_assert_msg(strstr(tlsio_error(&c.io), "certificate verify failed") != NULL,
		      "%s", tlsio_error(&c.io));
	end_free(&s);
	end_free(&c);
	close(sv[0]);
	close(sv[1]);

	/* Without verify the session comes up, marked unverified. */
	pair(sv);
	p.verify = false;
	up_pair(loop, &s, &c, sv, &p);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	ck_assert(!tlsio_verified(&c.io));
	ck_assert(tlsio_peer_cert(&c.io));
	ck_assert_str_ne(tlsio_verify_error(&c.io), "ok");
	finish(loop, &s, &c, sv);
}
END_TEST

/* DANE (RFC 7671): a DANE-EE(3) SPKI digest matches without a name check. */
static void
spki_sha256(unsigned char out[32])
{
	FILE   *f = fopen(cert, "r");
	X509   *x;
	unsigned char *der = NULL;
	int	len;

	ck_assert_ptr_nonnull(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	ck_assert_int_gt(len, 0);
	ck_assert_ptr_nonnull(SHA256(der, (size_t) len, out));
	OPENSSL_free(der);
	X509_free(x);
}

START_TEST(test_dane_ee)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	sv[2];
	unsigned char good[32], bad[32];
	static const char *const other[] = {"other.example"};
	struct tlsio_tlsa t[2] = {
		{.usage = 3, .selector = 1, .mtype = 1, .data = bad, .len = 32},
		{.usage = 3, .selector = 1, .mtype = 1, .data = good, .len = 32},
	};
	struct tlsio_peer p = {"mx.example", other, 1, true, NULL, "mx.example", t, 2};

	ck_assert_int_gt(SSL_CTX_dane_enable(cctx), 0);
	spki_sha256(good);
	memset(bad, 0x5a, sizeof(bad));

	/* One record of two matches; the name is not checked for DANE-EE. */
	pair(sv);
	up_pair(loop, &s, &c, sv, &p);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	ck_assert(tlsio_verified(&c.io));
	end_free(&s);
	end_free(&c);
	close(sv[0]);
	close(sv[1]);

	/* None matches: the handshake fails, though a CA would vouch. */
	pair(sv);
	p.ntlsa = 1;
	p.names = mx_names;
	up_pair(loop, &s, &c, sv, &p);
	RUN_UNTIL(loop, c.fails == 1 && (s.fails == 1 || s.eofs == 1));
	ck_assert_msg(strstr(tlsio_error(&c.io), "certificate verify failed") != NULL,
		      "%s", tlsio_error(&c.io));
	ck_assert_msg(strstr(tlsio_verify_error(&c.io), "TLSA") != NULL, "%s",
		      tlsio_verify_error(&c.io));
	end_free(&s);
	end_free(&c);
	close(sv[0]);
	close(sv[1]);

	/* No record OpenSSL can use: refused before the handshake. */
	t[0].usage = 9;
	pair(sv);
	end_init(&c, loop, sv[1], sv[1]);
	ck_assert_int_eq(tlsio_wrap(&c.io, cctx, &p), -1);
	ck_assert_msg(strstr(tlsio_error(&c.io), "none of the 1 TLSA records is usable") != NULL,
		      "%s", tlsio_error(&c.io));
	end_free(&c);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(loop);
}
END_TEST

/* A client that offers only TLS 1.1 is refused by a >=TLSv1.2 server. */
START_TEST(test_old_protocol_refused)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	sv[2];
	SSL_CTX *old = SSL_CTX_new(TLS_client_method());

	ck_assert_ptr_nonnull(old);
	SSL_CTX_set_min_proto_version(old, TLS1_1_VERSION);
	SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION);
	SSL_CTX_set_security_level(old, 0);
	ck_assert_int_eq(SSL_CTX_set_cipher_list(old, "ALL:@SECLEVEL=0"), 1);
	pair(sv);
	end_init(&s, loop, sv[0], sv[0]);
	end_init(&c, loop, sv[1], sv[1]);
	ck_assert_int_eq(tlsio_starttls(&s.io, sctx, NULL, NULL), 0);
	ck_assert_int_eq(tlsio_starttls(&c.io, old, &(struct tlsio_peer) {0}, NULL), 0);
	RUN_UNTIL(loop, s.fails == 1 && c.fails == 1);
	ck_assert_msg(strstr(tlsio_error(&s.io), "unsupported protocol") != NULL,
		      "%s", tlsio_error(&s.io));
	end_free(&s);
	end_free(&c);
	SSL_CTX_free(old);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(loop);
}
END_TEST

/* Input decrypted before the owner asked for it is delivered later. */
START_TEST(test_tls_pending_after_pause)
{
	struct ev_loop *loop = ev_loop_new();
	struct end s, c;
	int	sv[2];
	size_t	n = 3 * 65536 + 123;

	pair(sv);
	up_pair(loop, &s, &c, sv, &mx_peer);
	RUN_UNTIL(loop, s.ups == 1 && c.ups == 1);
	/* More than one read's room: TLS holds some of it decrypted. */
	s.reading = false;
	for (size_t i = 0; i < n / 11; i++)
		buf_puts(&c.io.out, "abcdefghi\r\n");
	ck_assert_int_ge(tlsio_flush(&c.io), 0);
	RUN_UNTIL(loop, s.ins >= 1);
	s.reading = true;
	take_lines(&s);
	RUN_UNTIL(loop, s.lines.len == (n / 11) * 10);
	finish(loop, &s, &c, sv);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("tlsio");
	TCase  *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_plain_lines);
	tcase_add_test(tc, test_plain_long_line);
	tcase_add_test(tc, test_plain_background_flush);
	tcase_add_test(tc, test_plain_pause);
	tcase_add_test(tc, test_free_in_callback);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_no_loop);
	tcase_add_test(tc, test_tls_wrapper_roundtrip);
	tcase_add_test(tc, test_tls_resume);
	tcase_add_test(tc, test_tls_bulk);
	tcase_add_test(tc, test_tls_two_pipes);
	tcase_add_test(tc, test_starttls_injection_discarded);
	tcase_add_test(tc, test_starttls_injection_kernel);
	tcase_add_test(tc, test_starttls_client_refuses);
	tcase_add_test(tc, test_starttls_twice);
	tcase_add_test(tc, test_wrap_hello_waiting);
	tcase_add_test(tc, test_fail_inside_flush);
	tcase_add_test(tc, test_verify_name_mismatch);
	tcase_add_test(tc, test_dane_ee);
	tcase_add_test(tc, test_old_protocol_refused);
	tcase_add_test(tc, test_tls_pending_after_pause);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
