/*
 * tls_cert.h - throw-away keys and self-signed certificates for check
 * suites that speak TLS.
 *
 *	char dir[] = "/tmp/NAME_test.XXXXXX"; mkdtemp(dir);
 *	tls_cert_make(dir, "server", "mx.example", "P-256");
 *	// dir/server.key (0600), dir/server.crt, dir/server.pem (key + cert)
 *
 * The certificate names cn as subject CN and as its one DNS
 * subjectAltName, is valid for a day, and is its own issuer, so it can
 * serve as the CA file of a client that verifies it.  alg is an EC curve
 * name ("P-256") or "RSA" (2048 bits).
 */
#ifndef POSTERN_TLS_CERT_H
#define POSTERN_TLS_CERT_H

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static inline FILE *
tls_cert_open(const char *dir, const char *name, const char *ext, mode_t mode)
{
	char	path[512];
	FILE   *f;

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext),
			 (int) sizeof(path));
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(chmod(path, mode), 0);
	return f;
}

static inline void
tls_cert_make(const char *dir, const char *name, const char *cn, const char *alg)
{
	EVP_PKEY *pk = strcmp(alg, "RSA") == 0 ? EVP_RSA_gen(2048)
	    : EVP_EC_gen(alg);
	X509   *x = X509_new();
	X509_NAME *n;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	char	san[300];
	FILE   *f;

	ck_assert_ptr_nonnull(pk);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(X509_set_version(x, 2), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	ck_assert_int_eq(X509_set_pubkey(x, pk), 1);
	n = X509_get_subject_name(x);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
			 (const unsigned char *) cn, -1, -1, 0), 1);
	ck_assert_int_eq(X509_set_issuer_name(x, n), 1);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	snprintf(san, sizeof(san), "DNS:%s", cn);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	ck_assert_ptr_nonnull(ext);
	ck_assert_int_eq(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	ck_assert_ptr_nonnull(ext);
	ck_assert_int_eq(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ck_assert_int_gt(X509_sign(x, pk, EVP_sha256()), 0);

	f = tls_cert_open(dir, name, "key", 0600);
	ck_assert_int_eq(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	f = tls_cert_open(dir, name, "crt", 0644);
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	f = tls_cert_open(dir, name, "pem", 0600);
	ck_assert_int_eq(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

#endif
