/*
 * NAME
 *	tls_ctx - OpenSSL contexts for postern's TLS servers and clients
 * DESCRIPTION
 *	See tls_ctx.h.  The ticket key ring hangs off the context as
 *	ex_data and is freed (wiped) with it.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "mem.h"
#include "str.h"
#include "tls_ctx.h"

#define CIPHERS_HIGH	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"
#define CIPHERS_MEDIUM	CIPHERS_HIGH ":ECDHE+AES:DHE+AES"
#define CIPHERS_NEVER	":!aNULL:!eNULL:!PSK:!SRP:!DSS:!MD5:!RC4:!3DES"
#define GROUPS		"X25519:P-256:X448:P-384:P-521"
#define SID_CONTEXT	"postern"
#define CA_DIR_MAX_FILES 20000	/* files read from a CApath directory */

/* ------------------------------------------------------------------ */
/* Errors.                                                            */

static void
fail(char *why, size_t size, const char *what, const char *arg)
{
	unsigned long e = ERR_peek_last_error();
	char	reason[160];

	if (e != 0) {
		ERR_error_string_n(e, reason, sizeof(reason));
		(void) str_fmt(why, size, "%s%s%s: %s", what, arg ? " " : "",
			       arg ? arg : "", reason);
	} else
		(void) str_fmt(why, size, "%s%s%s", what, arg ? " " : "",
			       arg ? arg : "");
	ERR_clear_error();
}

/* ------------------------------------------------------------------ */
/* Protocols and ciphers.                                             */

static const struct {
	const char *name;
	int	version;		/* 0: not spoken by this OpenSSL */
	unsigned long no_op;
} protos[] = {
	{"SSLv2", 0, 0},
	{"SSLv3", 0, 0},
	{"TLSv1", TLS1_VERSION, SSL_OP_NO_TLSv1},
	{"TLSv1.1", TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
	{"TLSv1.2", TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
	{"TLSv1.3", TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
};
#define NPROTOS	(sizeof(protos) / sizeof(protos[0]))

static int
proto_index(const char *name, size_t n)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (strlen(protos[i].name) == n && str_ncasecmp(protos[i].name, name, n) == 0)
			return (int) i;
	return -1;
}

/*
 * protocols_parse - the set of versions a Postfix-style value enables:
 * a bit per protos[] entry, or -1 with why
 */
static int
protocols_parse(const char *spec, unsigned *set, char *why, size_t size)
{
	unsigned incl = 0, excl = 0;
	int	lo = 0, hi = (int) NPROTOS - 1;
	const char *p = spec;

	while (*p) {
		size_t	n;
		int	i, kind = 0;	/* 0 name, 1 >=, 2 <=, 3 ! */
		const char *t;

		while (*p == ' ' || *p == '\t' || *p == ',' || *p == ':')
			p++;
		if (!*p)
			break;
		n = strcspn(p, " \t,:");
		t = p;
		p += n;
		if (n > 2 && t[0] == '>' && t[1] == '=')
			kind = 1, t += 2, n -= 2;
		else if (n > 2 && t[0] == '<' && t[1] == '=')
			kind = 2, t += 2, n -= 2;
		else if (n > 1 && t[0] == '!')
			kind = 3, t += 1, n -= 1;
		if ((i = proto_index(t, n)) < 0) {
			(void) str_fmt(why, size, "unknown TLS protocol \"%.*s\" "
				       "(known: SSLv2 SSLv3 TLSv1 TLSv1.1 TLSv1.2 "
				       "TLSv1.3, each alone or after >=, <= or !)",
				       (int) n, t);
			return -1;
		}
		switch (kind) {
		case 0:
			incl |= 1u << i;
			break;
		case 1:
			lo = i > lo ? i : lo;
			break;
		case 2:
			hi = i < hi ? i : hi;
			break;
		default:
			excl |= 1u << i;
		}
	}
	*set = 0;
	for (int i = lo; i <= hi; i++)
		if ((incl == 0 || (incl & (1u << i))) && !(excl & (1u << i))
		    && protos[i].version != 0)
			*set |= 1u << i;
	if (*set == 0) {
		(void) str_fmt(why, size, "TLS protocols \"%s\" leave no protocol "
			       "this system speaks (TLSv1 to TLSv1.3)", spec);
		return -1;
	}
	return 0;
}

int
tls_protocols_check(const char *spec, char *why, size_t size)
{
	unsigned set;

	return protocols_parse(spec, &set, why, size);
}

static int
protocols_apply(SSL_CTX *ctx, const char *spec, char *why, size_t size)
{
	unsigned set;
	int	lo = -1, hi = -1;

	if (protocols_parse(spec, &set, why, size) < 0)
		return -1;
	for (int i = 0; i < (int) NPROTOS; i++)
		if (set & (1u << i)) {
			if (lo < 0)
				lo = i;
			hi = i;
		}
	if (SSL_CTX_set_min_proto_version(ctx, protos[lo].version) != 1
	    || SSL_CTX_set_max_proto_version(ctx, protos[hi].version) != 1) {
		fail(why, size, "cannot set TLS protocols", spec);
		return -1;
	}
	for (int i = lo + 1; i < hi; i++)
		if (!(set & (1u << i)))
			SSL_CTX_set_options(ctx, protos[i].no_op);
	return 0;
}

static const char *
cipher_list(const char *grade)
{
	if (str_casecmp(grade, "high") == 0)
		return CIPHERS_HIGH CIPHERS_NEVER;
	if (str_casecmp(grade, "medium") == 0)
		return CIPHERS_MEDIUM CIPHERS_NEVER;
	return NULL;
}

int
tls_ciphers_check(const char *grade, char *why, size_t size)
{
	if (cipher_list(grade) != NULL)
		return 0;
	(void) str_fmt(why, size, "unsupported TLS cipher grade \"%s\" (use "
		       "medium or high; low, export and null are not offered)",
		       grade);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Session ticket keys.                                               */

struct ticket_key {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
	time_t	made;
	uint64_t period;		/* seeded: now / lifetime when made */
};

struct ticket_ring {
	struct ticket_key cur, prev;
	bool	have_prev;
	bool	seeded, have_cur;	/* seeded: cur is derived */
	uint64_t lifetime;
	unsigned char seed[TLS_TICKET_SEED_LEN];
};

static int ring_index = -1;

static void
ring_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
	  void *argp)
{
	(void) parent, (void) ad, (void) idx, (void) argl, (void) argp;
	if (ptr != NULL) {
		OPENSSL_cleanse(ptr, sizeof(struct ticket_ring));
		free(ptr);
	}
}

static int
key_new(struct ticket_key *k)
{
	if (RAND_bytes(k->name, sizeof(k->name)) != 1
	    || RAND_bytes(k->aes, sizeof(k->aes)) != 1
	    || RAND_bytes(k->hmac, sizeof(k->hmac)) != 1)
		return -1;
	k->made = time(NULL);
	return 0;
}

/*
 * key_derive - the key of one period from the seed: HKDF-SHA256 with
 * the period's number as info, cut into name, AES key and HMAC key
 */
static int
key_derive(const struct ticket_ring *r, uint64_t period, struct ticket_key *k)
{
	static const char label[] = "postern session ticket key";
	unsigned char info[sizeof(label) - 1 + 8], out[16 + 32 + 32];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	int	ok;

	memcpy(info, label, sizeof(label) - 1);
	for (int i = 0; i < 8; i++)
		info[sizeof(label) - 1 + i] = (unsigned char) (period >> (56 - 8 * i));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *) r->seed,
						      sizeof(r->seed));
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
	params[3] = OSSL_PARAM_construct_end();
	ok = kctx != NULL && EVP_KDF_derive(kctx, out, sizeof(out), params) == 1;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	if (ok) {
		memcpy(k->name, out, 16);
		memcpy(k->aes, out + 16, 32);
		memcpy(k->hmac, out + 48, 32);
		k->made = (time_t) (period * r->lifetime);
		k->period = period;
	}
	OPENSSL_cleanse(out, sizeof(out));
	return ok ? 0 : -1;
}

/*
 * ring_follow - a seeded ring's keys for the period of now: cur is that
 * period's, prev the one before (derived again after a gap)
 */
static int
ring_follow(struct ticket_ring *r, time_t now)
{
	uint64_t p = (uint64_t) (now < 0 ? 0 : now) / r->lifetime;

	if (r->have_cur && r->cur.period == p)
		return 0;
	if (r->have_cur && r->cur.period + 1 == p) {
		r->prev = r->cur;
		r->have_prev = true;
	} else
		r->have_prev = p > 0 && key_derive(r, p - 1, &r->prev) == 0;
	r->have_cur = key_derive(r, p, &r->cur) == 0;
	return r->have_cur ? 0 : -1;
}

static int
ring_rotate(struct ticket_ring *r)
{
	struct ticket_key k;

	if (key_new(&k) < 0)
		return -1;
	r->prev = r->cur;
	r->have_prev = true;
	r->cur = k;
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

static int
key_use(const struct ticket_key *k, unsigned char *iv, EVP_CIPHER_CTX *cctx,
	EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
						      (void *) k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *) "SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (enc)
		return EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1 ? 0 : -1;
	return EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1 ? 0 : -1;
}

/*
 * ticket_cb - seal a ticket with the current key; open one made with
 * the current key (1) or the previous one (2: issue a fresh ticket)
 */
static int
ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
	  EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct ticket_ring *r = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ring_index);
	time_t	now = time(NULL);

	if (r == NULL)
		return -1;
	if (r->seeded && ring_follow(r, now) < 0)
		return -1;
	if (enc) {
		if (!r->seeded && now - r->cur.made >= (time_t) r->lifetime
		    && ring_rotate(r) < 0)
			return -1;
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1)
			return -1;
		memcpy(name, r->cur.name, sizeof(r->cur.name));
		return key_use(&r->cur, iv, cctx, hctx, 1) < 0 ? -1 : 1;
	}
	if (memcmp(name, r->cur.name, sizeof(r->cur.name)) == 0
	    && now - r->cur.made < 2 * (time_t) r->lifetime)
		return key_use(&r->cur, iv, cctx, hctx, 0) < 0 ? -1 : 1;
	if (r->have_prev && memcmp(name, r->prev.name, sizeof(r->prev.name)) == 0
	    && now - r->prev.made < 2 * (time_t) r->lifetime)
		return key_use(&r->prev, iv, cctx, hctx, 0) < 0 ? -1 : 2;
	return 0;			/* unknown or expired: full handshake */
}

static int
tickets_setup(SSL_CTX *ctx, uint64_t lifetime, const unsigned char *seed,
	      char *why, size_t size)
{
	struct ticket_ring *r;

	if (lifetime == 0) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
		return 0;
	}
	if (ring_index < 0
	    && (ring_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ring_free)) < 0) {
		fail(why, size, "cannot set up session tickets", NULL);
		return -1;
	}
	r = xcalloc(1, sizeof(*r));
	r->lifetime = lifetime;
	if (seed != NULL) {
		r->seeded = true;
		memcpy(r->seed, seed, sizeof(r->seed));
	}
	if ((r->seeded ? ring_follow(r, time(NULL)) : key_new(&r->cur)) < 0
	    || SSL_CTX_set_ex_data(ctx, ring_index, r) != 1) {
		ring_free(NULL, r, NULL, 0, 0, NULL);
		fail(why, size, "cannot make a session ticket key", NULL);
		return -1;
	}
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1) {
		fail(why, size, "cannot set up session tickets", NULL);
		return -1;
	}
	SSL_CTX_set_timeout(ctx, (long) lifetime);
	SSL_CTX_set_num_tickets(ctx, 1);
	return 0;
}

int
tls_ctx_rotate_tickets(SSL_CTX *ctx)
{
	struct ticket_ring *r = ring_index < 0 ? NULL
	    : SSL_CTX_get_ex_data(ctx, ring_index);

	return r == NULL || r->seeded ? -1 : ring_rotate(r);
}

/* ------------------------------------------------------------------ */
/* Contexts.                                                          */

static int common(SSL_CTX *ctx, const char *protocols, const char *ciphers,
		  char *why, size_t size);

/* ctx_new - a context with what servers and clients share */
static SSL_CTX *
ctx_new(const SSL_METHOD *method, const char *protocols, const char *ciphers,
	char *why, size_t size)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(method)) == NULL) {
		fail(why, size, "cannot make a TLS context", NULL);
		return NULL;
	}
	if (common(ctx, protocols, ciphers, why, size) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static int
common(SSL_CTX *ctx, const char *protocols, const char *ciphers, char *why,
       size_t size)
{
	const char *list = cipher_list(ciphers);

	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
			    | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
			 | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
			 | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_read_ahead(ctx, 1);
	if (protocols_apply(ctx, protocols, why, size) < 0)
		return -1;
	if (list == NULL)
		return tls_ciphers_check(ciphers, why, size);
	if (SSL_CTX_set_cipher_list(ctx, list) != 1) {
		fail(why, size, "cannot set TLS ciphers", ciphers);
		return -1;
	}
	if (SSL_CTX_set1_groups_list(ctx, GROUPS) != 1) {
		fail(why, size, "cannot set key exchange groups", GROUPS);
		return -1;
	}
	return 0;
}

/* key_pair - load one certificate chain and its key; check they match */
static int
key_pair(SSL_CTX *ctx, const char *cert, const char *key, char *why, size_t size)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		fail(why, size, "cannot load the certificate chain from", cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fail(why, size, "cannot load the private key from", key);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		char	what[600];

		(void) str_fmt(what, sizeof(what), "the private key in %s does "
			       "not match the certificate in", key);
		fail(why, size, what, cert);
		return -1;
	}
	return 0;
}

static int
load_keys(SSL_CTX *ctx, const struct tls_server_conf *c, char *why, size_t size)
{
	const char *p = c->chain_files ? c->chain_files : "";
	bool	any = false;

	while (*p) {
		char	file[4096];
		size_t	n;

		p += strspn(p, " \t,");
		if ((n = strcspn(p, " \t,")) == 0)
			break;
		if (n >= sizeof(file)) {
			(void) str_fmt(why, size, "chain file name too long: %.60s...", p);
			return -1;
		}
		memcpy(file, p, n);
		file[n] = '\0';
		p += n;
		if (key_pair(ctx, file, file, why, size) < 0)
			return -1;
		any = true;
	}
	if (any)
		return 0;
	if (c->cert_file == NULL || *c->cert_file == '\0') {
		(void) str_copy(why, size, "no certificate: set the cert_file and "
				"key_file (or chain_files) parameters");
		return -1;
	}
	return key_pair(ctx, c->cert_file, c->key_file && *c->key_file ? c->key_file
			: c->cert_file, why, size);
}

SSL_CTX *
tls_ctx_server(const struct tls_server_conf *c, char *why, size_t size)
{
	SSL_CTX *ctx = ctx_new(TLS_server_method(), c->protocols, c->ciphers,
			       why, size);

	if (ctx == NULL)
		return NULL;
	if (load_keys(ctx, c, why, size) < 0
	    || tickets_setup(ctx, c->ticket_lifetime, c->ticket_seed, why, size) < 0)
		goto bad;
	SSL_CTX_set_dh_auto(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *) SID_CONTEXT,
					   sizeof(SID_CONTEXT) - 1) != 1) {
		fail(why, size, "cannot set the session context", NULL);
		goto bad;
	}
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * load_ca_dir - every certificate in every file of dir, now: the client
 * runs chrooted, where a lookup by hash at verification time finds
 * nothing.  Files without certificates (a README) are passed over.
 */
static int
load_ca_dir(SSL_CTX *ctx, const char *dir, char *why, size_t size)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	DIR    *d = opendir(dir);
	struct dirent *e;
	unsigned files = 0, loaded = 0;
	char	file[4096];

	if (d == NULL) {
		(void) str_fmt(why, size, "cannot open CA directory %s: %s", dir,
			       strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL && files < CA_DIR_MAX_FILES) {
		struct stat st;

		if (e->d_name[0] == '.'
		    || str_fmt(file, sizeof(file), "%s/%s", dir, e->d_name) < 0
		    || stat(file, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		files++;
		if (X509_STORE_load_file(store, file) == 1)
			loaded++;
		ERR_clear_error();
	}
	closedir(d);
	if (loaded == 0) {
		(void) str_fmt(why, size, "no CA certificate found in %s", dir);
		return -1;
	}
	return 0;
}

SSL_CTX *
tls_ctx_client(const struct tls_client_conf *c, char *why, size_t size)
{
	const char *file = c->CAfile && *c->CAfile ? c->CAfile : NULL;
	const char *dir = c->CApath && *c->CApath ? c->CApath : NULL;
	SSL_CTX *ctx = ctx_new(TLS_client_method(), c->protocols, c->ciphers,
			       why, size);

	if (ctx == NULL)
		return NULL;
	if (file && SSL_CTX_load_verify_file(ctx, file) != 1) {
		fail(why, size, "cannot load CA certificates from", file);
		goto bad;
	}
	if (dir && load_ca_dir(ctx, dir, why, size) < 0)
		goto bad;
	if (c->cert_file && *c->cert_file
	    && key_pair(ctx, c->cert_file, c->key_file && *c->key_file ? c->key_file
			: c->cert_file, why, size) < 0)
		goto bad;
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/* ------------------------------------------------------------------ */
/* Key file permissions.                                              */

static bool
group_lists(gid_t gid, const char *user)
{
	struct group *g = getgrgid(gid);

	if (g == NULL || user == NULL)
		return false;
	for (char **m = g->gr_mem; *m; m++)
		if (strcmp(*m, user) == 0)
			return true;
	return false;
}

int
tls_key_file_check(const char *path, uid_t uid, gid_t gid, const char *user,
		   char *why, size_t size)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		(void) str_fmt(why, size, "private key %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		(void) str_fmt(why, size, "private key %s is not a regular file", path);
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		(void) str_fmt(why, size, "private key %s is readable or writable "
			       "by everyone (mode %04o): chmod o-rwx it", path,
			       (unsigned) (st.st_mode & 07777));
		return -1;
	}
	if (st.st_uid == uid) {
		(void) str_fmt(why, size, "private key %s is owned by %s, the "
			       "unprivileged user: chown root it", path, user);
		return -1;
	}
	if ((st.st_mode & (S_IRGRP | S_IWGRP))
	    && (st.st_gid == gid || group_lists(st.st_gid, user))) {
		(void) str_fmt(why, size, "private key %s is readable or writable "
			       "by its group, which %s belongs to: chmod g-rwx it",
			       path, user);
		return -1;
	}
	return 0;
}
