/*
 * tls_ctx_test - check suite for lib/tls/tls_ctx: protocol and cipher
 * values, certificate and key loading and its errors, chain files,
 * session tickets (resumption, key rotation), key file permissions.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "check_main.h"
#include "scratch.h"
#include "tls_cert.h"

#include "tls_ctx.h"

static char dir[] = "/tmp/tls_ctx_test.XXXXXX";

static const char *
path(const char *name)
{
	static char p[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	tls_cert_make(dir, "ec", "mx.example", "P-256");
	tls_cert_make(dir, "rsa", "mx.example", "RSA");
}

static void
teardown(void)
{
	scratch_remove(dir, "/tmp/tls_ctx_test.");
}

static SSL_CTX *
server_seeded(const char *cert, const char *key, const char *chain, const char *protocols,
	      uint64_t tickets, const unsigned char *seed, char *why, size_t size)
{
	struct tls_server_conf c = {cert, key, chain, protocols, "medium", tickets, seed};

	return tls_ctx_server(&c, why, size);
}

static SSL_CTX *
server(const char *cert, const char *key, const char *chain, const char *protocols,
       uint64_t tickets, char *why, size_t size)
{
	return server_seeded(cert, key, chain, protocols, tickets, NULL, why, size);
}

START_TEST(test_protocols)
{
	static const struct {
		const char *spec;
		int	ok;
	} cases[] = {
		{">=TLSv1.2", 0},
		{"!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", 0},
		{"TLSv1.3", 0},
		{"TLSv1.2:TLSv1.3", 0},
		{">=TLSv1 <=TLSv1.2", 0},
		{"!SSLv2 !SSLv3", 0},
		{"", 0},
		{"tlsv1.3", 0},
		{"SSLv3", -1},			/* nothing this system speaks */
		{">=TLSv1.3 <=TLSv1.2", -1},
		{"TLSv1.4", -1},
		{">=", -1},
		{"!TLSv1 !TLSv1.1 !TLSv1.2 !TLSv1.3", -1},
	};
	char	why[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		ck_assert_msg(tls_protocols_check(cases[i].spec, why, sizeof(why)) == cases[i].ok,
			      "\"%s\": %s", cases[i].spec, why);
		if (cases[i].ok < 0)
			ck_assert_str_ne(why, "");
	}
	ck_assert_int_eq(tls_protocols_check("TLSv9", why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "\"TLSv9\"") != NULL, "%s", why);
}
END_TEST

START_TEST(test_ciphers)
{
	char	why[300];

	ck_assert_int_eq(tls_ciphers_check("medium", why, sizeof(why)), 0);
	ck_assert_int_eq(tls_ciphers_check("HIGH", why, sizeof(why)), 0);
	ck_assert_int_eq(tls_ciphers_check("export", why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "\"export\"") != NULL, "%s", why);
	ck_assert_int_eq(tls_ciphers_check("low", why, sizeof(why)), -1);
}
END_TEST

/* Every TLS 1.2 suite a context offers is forward-secret and not weak. */
START_TEST(test_cipher_lists_sound)
{
	static const char *const grades[] = {"medium", "high"};
	char	why[300];

	for (size_t g = 0; g < 2; g++) {
		struct tls_server_conf c = {path("ec.crt"), path("ec.key"), "",
			">=TLSv1.2", grades[g], 0, NULL};
		SSL_CTX *ctx = tls_ctx_server(&c, why, sizeof(why));
		SSL    *ssl;
		STACK_OF(SSL_CIPHER) *list;
		int	n12 = 0;

		ck_assert_msg(ctx != NULL, "%s", why);
		ssl = SSL_new(ctx);
		list = SSL_get_ciphers(ssl);
		for (int i = 0; i < sk_SSL_CIPHER_num(list); i++) {
			const SSL_CIPHER *ci = sk_SSL_CIPHER_value(list, i);
			const char *name = SSL_CIPHER_get_name(ci);
			int	kx = SSL_CIPHER_get_kx_nid(ci);

			if (strncmp(name, "TLS_", 4) == 0)	/* TLS 1.3 suites */
				continue;
			n12++;
			ck_assert_msg(kx == NID_kx_ecdhe || kx == NID_kx_dhe, "%s", name);
			ck_assert_msg(strstr(name, "RC4") == NULL && strstr(name, "DES") == NULL
				      && strstr(name, "NULL") == NULL && strstr(name, "MD5") == NULL
				      && strstr(name, "PSK") == NULL, "%s", name);
			if (g == 1)
				ck_assert_msg(SSL_CIPHER_is_aead(ci), "%s", name);
		}
		ck_assert_int_gt(n12, 2);
		SSL_free(ssl);
		tls_ctx_free(ctx);
	}
}
END_TEST

START_TEST(test_load_errors)
{
	char	why[600];

	ck_assert_ptr_null(server("", "", "", ">=TLSv1.2", 0, why, sizeof(why)));
	ck_assert_msg(strstr(why, "no certificate") != NULL, "%s", why);

	ck_assert_ptr_null(server(path("missing.crt"), path("ec.key"), "", ">=TLSv1.2",
				  0, why, sizeof(why)));
	ck_assert_msg(strstr(why, "missing.crt") != NULL, "%s", why);

	ck_assert_ptr_null(server(path("ec.crt"), path("rsa.key"), "", ">=TLSv1.2",
				  0, why, sizeof(why)));
	ck_assert_msg(strstr(why, "does not match") != NULL && strstr(why, "rsa.key"),
		      "%s", why);

	ck_assert_ptr_null(server(path("ec.crt"), path("ec.key"), "", "TLSv2", 0,
				  why, sizeof(why)));
	ck_assert_msg(strstr(why, "TLSv2") != NULL, "%s", why);

	/* A key inside the certificate file. */
	SSL_CTX *ctx = server(path("ec.pem"), "", "", ">=TLSv1.2", 0, why, sizeof(why));

	ck_assert_msg(ctx != NULL, "%s", why);
	tls_ctx_free(ctx);
}
END_TEST

/* chain_files: one file per key type, both served. */
START_TEST(test_chain_files)
{
	char	why[600], list[1300];
	SSL_CTX *ctx;

	snprintf(list, sizeof(list), "%s, %s", path("rsa.pem"), path("ec.pem"));
	ctx = server("", "", list, ">=TLSv1.2", 0, why, sizeof(why));
	ck_assert_msg(ctx != NULL, "%s", why);
	tls_ctx_free(ctx);
	snprintf(list, sizeof(list), "%s %s", path("rsa.pem"), path("nope.pem"));
	ck_assert_ptr_null(server("", "", list, ">=TLSv1.2", 0, why, sizeof(why)));
	ck_assert_msg(strstr(why, "nope.pem") != NULL, "%s", why);
}
END_TEST

/*
 * handshake - one handshake between two SSL objects over a socket pair;
 * the client offers sess (NULL: none); true when it was resumed.  The
 * session of a full handshake is returned in *got.
 */
static bool
handshake(SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION *sess, SSL_SESSION **got,
	  int max_version)
{
	int	sv[2];
	SSL    *s, *c;
	bool	sdone = false, cdone = false, reused;
	char	byte;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	s = SSL_new(sctx);
	c = SSL_new(cctx);
	SSL_set_fd(s, sv[0]);
	SSL_set_fd(c, sv[1]);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	SSL_set_max_proto_version(c, max_version);
	if (sess)
		ck_assert_int_eq(SSL_set_session(c, sess), 1);
	for (int i = 0; i < 1000 && !(sdone && cdone); i++) {
		if (!sdone)
			sdone = SSL_do_handshake(s) == 1;
		if (!cdone)
			cdone = SSL_do_handshake(c) == 1;
	}
	ck_assert(sdone && cdone);
	/* A byte after the tickets, so the client has read them. */
	ck_assert_int_eq(SSL_write(s, "x", 1), 1);
	for (int i = 0; i < 1000 && SSL_read(c, &byte, 1) != 1; i++)
		;
	reused = SSL_session_reused(c) == 1;
	if (got != NULL)
		*got = SSL_get1_session(c);
	/* Without close_notify, SSL_free() makes the session unusable. */
	(void) SSL_shutdown(c);
	SSL_free(s);
	SSL_free(c);
	close(sv[0]);
	close(sv[1]);
	return reused;
}

START_TEST(test_tickets)
{
	static const int versions[] = {TLS1_3_VERSION, TLS1_2_VERSION};
	struct tls_client_conf cc = {"", "", "", "", ">=TLSv1.2", "medium"};
	char	why[600];
	SSL_CTX *sctx = server(path("ec.crt"), path("ec.key"), "", ">=TLSv1.2", 3600,
			       why, sizeof(why));
	SSL_CTX *cctx = tls_ctx_client(&cc, why, sizeof(why));

	ck_assert_ptr_nonnull(sctx);
	ck_assert_ptr_nonnull(cctx);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
	/* A TLS 1.3 client uses a ticket once: a fresh session per check. */
	for (size_t v = 0; v < 2; v++) {
		SSL_SESSION *sess = NULL;

		ck_assert(!handshake(sctx, cctx, NULL, &sess, versions[v]));
		ck_assert_ptr_nonnull(sess);
		ck_assert_msg(handshake(sctx, cctx, sess, NULL, versions[v]), "v%zu", v);
		SSL_SESSION_free(sess);
		/* After one rotation the previous key still opens a ticket. */
		ck_assert(!handshake(sctx, cctx, NULL, &sess, versions[v]));
		ck_assert_int_eq(tls_ctx_rotate_tickets(sctx), 0);
		ck_assert_msg(handshake(sctx, cctx, sess, NULL, versions[v]), "v%zu", v);
		SSL_SESSION_free(sess);
		/* After two it is gone. */
		ck_assert(!handshake(sctx, cctx, NULL, &sess, versions[v]));
		ck_assert_int_eq(tls_ctx_rotate_tickets(sctx), 0);
		ck_assert_int_eq(tls_ctx_rotate_tickets(sctx), 0);
		ck_assert(!handshake(sctx, cctx, sess, NULL, versions[v]));
		SSL_SESSION_free(sess);
	}
	tls_ctx_free(sctx);

	/* Lifetime 0: no tickets, no resumption. */
	sctx = server(path("ec.crt"), path("ec.key"), "", ">=TLSv1.2", 0, why, sizeof(why));
	ck_assert_ptr_nonnull(sctx);
	ck_assert_int_eq(tls_ctx_rotate_tickets(sctx), -1);
	for (size_t v = 0; v < 2; v++) {
		SSL_SESSION *sess = NULL;

		ck_assert(!handshake(sctx, cctx, NULL, &sess, versions[v]));
		ck_assert(!handshake(sctx, cctx, sess, NULL, versions[v]));
		SSL_SESSION_free(sess);
	}
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
}
END_TEST

/*
 * Contexts made with the same seed (two smtpd processes, or one before
 * and one after a reload) open each other's tickets; another seed, or
 * none, does not.
 */
START_TEST(test_tickets_seeded)
{
	static const int versions[] = {TLS1_3_VERSION, TLS1_2_VERSION};
	struct tls_client_conf cc = {"", "", "", "", ">=TLSv1.2", "medium"};
	unsigned char seed[TLS_TICKET_SEED_LEN], other[TLS_TICKET_SEED_LEN];
	char	why[600];
	SSL_CTX *a, *b, *c, *d, *cctx;

	memset(seed, 0x5a, sizeof(seed));
	memset(other, 0xa5, sizeof(other));
	a = server_seeded(path("ec.crt"), path("ec.key"), "", ">=TLSv1.2", 3600, seed,
			  why, sizeof(why));
	b = server_seeded(path("ec.crt"), path("ec.key"), "", ">=TLSv1.2", 3600, seed,
			  why, sizeof(why));
	c = server_seeded(path("ec.crt"), path("ec.key"), "", ">=TLSv1.2", 3600, other,
			  why, sizeof(why));
	d = server(path("ec.crt"), path("ec.key"), "", ">=TLSv1.2", 3600, why, sizeof(why));
	cctx = tls_ctx_client(&cc, why, sizeof(why));
	ck_assert(a && b && c && d && cctx);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
	/* Seeded keys follow the clock; nothing rotates them by hand. */
	ck_assert_int_eq(tls_ctx_rotate_tickets(a), -1);
	for (size_t v = 0; v < 2; v++) {
		SSL_SESSION *sess = NULL;

		ck_assert(!handshake(a, cctx, NULL, &sess, versions[v]));
		ck_assert_msg(handshake(b, cctx, sess, NULL, versions[v]),
			      "same seed: resumed (v%zu)", v);
		SSL_SESSION_free(sess);
		ck_assert(!handshake(a, cctx, NULL, &sess, versions[v]));
		ck_assert_msg(!handshake(c, cctx, sess, NULL, versions[v]),
			      "other seed: full handshake (v%zu)", v);
		SSL_SESSION_free(sess);
		ck_assert(!handshake(a, cctx, NULL, &sess, versions[v]));
		ck_assert_msg(!handshake(d, cctx, sess, NULL, versions[v]),
			      "no seed: full handshake (v%zu)", v);
		SSL_SESSION_free(sess);
	}
	tls_ctx_free(a);
	tls_ctx_free(b);
	tls_ctx_free(c);
	tls_ctx_free(d);
	tls_ctx_free(cctx);
}
END_TEST

START_TEST(test_client_ca_errors)
{
	struct tls_client_conf cc = {"/nonexistent/ca.pem", "", "", "", ">=TLSv1.2", "high"};
	char	why[600];

	ck_assert_ptr_null(tls_ctx_client(&cc, why, sizeof(why)));
	ck_assert_msg(strstr(why, "/nonexistent/ca.pem") != NULL, "%s", why);
	cc.CAfile = path("ec.crt");
	cc.cert_file = path("ec.crt");
	cc.key_file = path("ec.key");
	SSL_CTX *ctx = tls_ctx_client(&cc, why, sizeof(why));

	ck_assert_msg(ctx != NULL, "%s", why);
	tls_ctx_free(ctx);

	/* CApath is read when the context is made. */
	cc.CAfile = "";
	cc.CApath = dir;
	ctx = tls_ctx_client(&cc, why, sizeof(why));
	ck_assert_msg(ctx != NULL, "%s", why);
	ck_assert_int_ge(sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx))), 2);
	tls_ctx_free(ctx);
	cc.CApath = "/nonexistent";
	ck_assert_ptr_null(tls_ctx_client(&cc, why, sizeof(why)));
	ck_assert_msg(strstr(why, "/nonexistent") != NULL, "%s", why);
}
END_TEST

START_TEST(test_key_file_check)
{
	char	why[600];
	const char *k = path("ec.key");
	uid_t	uid = 12345;
	gid_t	gid = 12345;

	ck_assert_int_eq(chown(k, 0, 0), 0);
	ck_assert_int_eq(chmod(k, 0600), 0);
	ck_assert_msg(tls_key_file_check(k, uid, gid, "postern", why, sizeof(why)) == 0,
		      "%s", why);
	ck_assert_int_eq(chmod(k, 0644), 0);
	ck_assert_int_eq(tls_key_file_check(k, uid, gid, "postern", why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "everyone") != NULL && strstr(why, "0644"), "%s", why);
	ck_assert_int_eq(chmod(k, 0640), 0);
	ck_assert_int_eq(chown(k, 0, gid), 0);
	ck_assert_int_eq(tls_key_file_check(k, uid, gid, "postern", why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "group") != NULL, "%s", why);
	ck_assert_int_eq(chown(k, 0, 0), 0);
	ck_assert_int_eq(tls_key_file_check(k, uid, gid, "postern", why, sizeof(why)), 0);
	ck_assert_int_eq(chmod(k, 0600), 0);
	ck_assert_int_eq(chown(k, uid, 0), 0);
	ck_assert_int_eq(tls_key_file_check(k, uid, gid, "postern", why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "owned by postern") != NULL, "%s", why);
	ck_assert_int_eq(chown(k, 0, 0), 0);
	ck_assert_int_eq(tls_key_file_check(path("nope.key"), uid, gid, "postern", why,
					    sizeof(why)), -1);
	ck_assert_msg(strstr(why, "nope.key") != NULL, "%s", why);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("tls_ctx");
	TCase  *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_protocols);
	tcase_add_test(tc, test_ciphers);
	tcase_add_test(tc, test_cipher_lists_sound);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_chain_files);
	tcase_add_test(tc, test_tickets);
	tcase_add_test(tc, test_tickets_seeded);
	tcase_add_test(tc, test_client_ca_errors);
	if (geteuid() == 0)
		tcase_add_test(tc, test_key_file_check);
	else
		fprintf(stderr, "tls_ctx_test: test_key_file_check skipped: it "
			"changes file owners and needs root\n");
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
