/*
 * NAME
 *	tls_ctx - OpenSSL contexts for postern's TLS servers and clients
 * SYNOPSIS
 *	#include "tls_ctx.h"
 *
 *	struct tls_server_conf sc = {
 *		.cert_file = "/etc/postern/cert.pem",
 *		.key_file = "/etc/postern/key.pem",
 *		.protocols = ">=TLSv1.2", .ciphers = "medium",
 *		.ticket_lifetime = 3600,
 *	};
 *	char why[256];
 *	SSL_CTX *ctx = tls_ctx_server(&sc, why, sizeof(why));	// as root
 *
 *	struct tls_client_conf cc = { .CAfile = "/etc/ssl/certs/ca-certificates.crt",
 *				      .protocols = ">=TLSv1.2", .ciphers = "medium" };
 *	SSL_CTX *cctx = tls_ctx_client(&cc, why, sizeof(why));
 *
 *	tls_ctx_free(ctx);
 * DESCRIPTION
 *	tls_ctx_server() makes a server context: the certificate and key
 *	(cert_file with key_file, the key in cert_file when key_file is
 *	empty; or chain_files, each file a private key followed by its
 *	certificate chain, one file per key type, which takes precedence
 *	as in Postfix), protocols and ciphers as below, ECDHE on X25519
 *	and the NIST curves (and DHE with built-in groups), no
 *	renegotiation, no compression, and stateless session tickets
 *	sealed with AES-256-CBC and HMAC-SHA256: a new key every
 *	ticket_lifetime seconds, the previous one still opens tickets for
 *	one more lifetime, and a ticket opened with it is renewed.
 *	Without ticket_seed the process makes its keys at random, and
 *	only it can open its tickets.  With ticket_seed
 *	(TLS_TICKET_SEED_LEN bytes, shared by every smtpd process of an
 *	instance: lib/svc/ticket_seed.h), the key of each period of
 *	ticket_lifetime seconds since the epoch is derived from the seed
 *	and the period's number (HKDF-SHA256), so every process with the
 *	seed seals and opens the same tickets, and all of them rotate
 *	together.  ticket_lifetime 0: no tickets.  Nothing is cached on the server side, so a client
 *	costs no memory after it leaves.  The key files are read here,
 *	once: call it before the privilege drop (root reads them).
 *
 *	tls_ctx_client() makes a client context: CAs from CAfile and/or
 *	CApath (none: nothing verifies; every certificate of every file
 *	in CApath is read at once, so the context still verifies after
 *	a chroot), an optional client certificate
 *	(cert_file, key_file), the same protocols, ciphers and options.
 *	Peer name checks and SNI are per connection (tlsio_starttls()).
 *
 *	Both return NULL with why set to one line that names the file or
 *	value at fault and OpenSSL's reason.
 *
 *	protocols, in Postfix's syntax: a list (commas, colons or white
 *	space) of ">=V", "<=V" (a range), "V" (only the versions named)
 *	and "!V" (not this one), V one of SSLv2 SSLv3 TLSv1 TLSv1.1
 *	TLSv1.2 TLSv1.3; ">=TLSv1.2" and "!SSLv2, !SSLv3, !TLSv1,
 *	!TLSv1.1" mean the same.  What is left must include a version
 *	this OpenSSL speaks (TLSv1 or later).  tls_protocols_check()
 *	validates a value for postern check.
 *
 *	ciphers: "high" (forward-secret AEAD suites only: ECDHE or DHE
 *	with AES-GCM or ChaCha20-Poly1305) or "medium" (those first,
 *	then forward-secret AES-CBC suites, for older clients); never
 *	anonymous, null, export, RC4, DES, 3DES or MD5 suites, and never
 *	a suite without forward secrecy.  They apply to TLS 1.2 and
 *	below; TLS 1.3's suites are all AEAD and forward-secret.  Postfix's
 *	other grades (low, export, null) are refused.  tls_ciphers_check()
 *	validates a value.
 *
 *	tls_ctx_rotate_tickets() starts a new random ticket key at once
 *	(the current one becomes the previous); it exists for tests, and
 *	returns -1 for a context with a ticket_seed (its keys follow the
 *	clock).
 *
 *	tls_key_file_check() says whether a private key file may be used:
 *	-1 with why when it is readable or writable by everyone, owned by
 *	the unprivileged user uid, or readable through group gid (the
 *	unprivileged user's group) or a group that lists that user; 0
 *	when only others (root, a certificate group) can read it.
 * SECURITY
 *	Keys are read by root before the privilege drop and stay in the
 *	memory of the process that serves TLS, as in Postfix; the process
 *	is not dumpable (priv.c).  Ticket keys never leave the process
 *	and are wiped when the context is freed.
 */
#ifndef POSTERN_TLS_CTX_H
#define POSTERN_TLS_CTX_H

#include <stdint.h>
#include <sys/types.h>

#include <openssl/types.h>

struct tls_server_conf {
	const char *cert_file;		/* PEM certificate, chain may follow */
	const char *key_file;		/* PEM key; empty: in cert_file */
	const char *chain_files;	/* list: key + chain per file */
	const char *protocols;
	const char *ciphers;
	uint64_t ticket_lifetime;	/* seconds; 0: no tickets */
	const unsigned char *ticket_seed; /* TLS_TICKET_SEED_LEN, or NULL */
};

#define TLS_TICKET_SEED_LEN	32

struct tls_client_conf {
	const char *CAfile;
	const char *CApath;
	const char *cert_file;		/* optional client certificate */
	const char *key_file;
	const char *protocols;
	const char *ciphers;
};

SSL_CTX *tls_ctx_server(const struct tls_server_conf *c, char *why, size_t size);
SSL_CTX *tls_ctx_client(const struct tls_client_conf *c, char *why, size_t size);
void	tls_ctx_free(SSL_CTX *ctx);
int	tls_ctx_rotate_tickets(SSL_CTX *ctx);
int	tls_protocols_check(const char *spec, char *why, size_t size);
int	tls_ciphers_check(const char *grade, char *why, size_t size);
int	tls_key_file_check(const char *path, uid_t uid, gid_t gid,
			   const char *user, char *why, size_t size);

#endif
