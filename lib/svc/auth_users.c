/*
 * NAME
 *	auth_users - the built-in user table: names and crypt(3) hashes
 * SYNOPSIS
 *	#include "auth_users.h"
 *
 *	struct auth_users *u = auth_users_load(path, why, sizeof(why));
 *	r = auth_users_check(u, "alice", "secret");	// AUTH_OK, _FAIL, _TEMP
 *	auth_users_free(u);
 * DESCRIPTION
 *	The file (auth_passwd_file) has one user per line:
 *
 *		name:hash[:anything]
 *
 *	as Dovecot's passwd-file, so one file can serve both: the name
 *	(1 to 255 printable characters, no space or colon; often an
 *	address), a crypt(3) hash of a method libxcrypt deems current
 *	(yescrypt "$y$", SHA-512 "$6$", bcrypt "$2b$", gost-yescrypt
 *	"$gy$"; not DES, MD5 or SHA-256, which it calls legacy), optionally after a Dovecot scheme prefix
 *	{CRYPT}, {SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT} or
 *	{YESCRYPT}; the rest of the line is ignored.  Empty lines and
 *	lines that start with # are skipped.  "mkpasswd -m yescrypt" or
 *	"doveadm pw -s SHA512-CRYPT" make hashes.
 *
 *	auth_users_load() reads the whole file into a sorted array; any
 *	malformed line, a legacy or unknown method (DES, MD5), a name
 *	listed twice, or a file over its bounds is an error naming the
 *	line.  auth_users_check() compares in constant time what crypt
 *	makes of the password with the stored hash.  An unknown name
 *	costs the same work (a hash is computed against a made-up
 *	setting of the default method), so timing does not tell names
 *	that exist.  AUTH_TEMP: crypt itself failed.
 * BOUNDS
 *	AUTH_USERS_MAX users, AUTH_FILE_MAX bytes, lines of at most
 *	AUTH_LINE_MAX bytes; passwords of at most AUTH_PASS_MAX bytes.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth_users.h"
#include "mem.h"
#include "str.h"

struct user {
	char   *name;
	char   *hash;
};

struct auth_users {
	struct user *v;
	size_t	n;
	char	dummy[CRYPT_GENSALT_OUTPUT_SIZE];	/* for unknown names */
};

static const char *const schemes[] = {
	"{CRYPT}", "{SHA512-CRYPT}", "{SHA256-CRYPT}", "{BLF-CRYPT}", "{YESCRYPT}",
};

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct user *) a)->name, ((const struct user *) b)->name);
}

/* name_ok - printable, no space, no colon, 1..AUTH_USER_MAX */
static bool
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > AUTH_USER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f || s[i] == ':')
			return false;
	return true;
}

/* parse_line - one "name:hash[:...]" line into u; -1 with why */
static int
parse_line(char *line, struct user *u, char *why, size_t whylen)
{
	char   *colon = strchr(line, ':'), *hash, *end;
	int	cs;

	if (colon == NULL || !name_ok(line, (size_t) (colon - line))) {
		(void) str_copy(why, whylen, "expected name:hash (the name printable, "
				"without space or colon)");
		return -1;
	}
	*colon = '\0';
	hash = colon + 1;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(hash, schemes[i], strlen(schemes[i])) == 0) {
			hash += strlen(schemes[i]);
			break;
		}
	if ((end = strchr(hash, ':')) != NULL)
		*end = '\0';
	if (hash[0] != '$' || (cs = crypt_checksalt(hash)) == CRYPT_SALT_INVALID) {
		(void) str_copy(why, whylen, "not a crypt(3) hash (make one with "
				"mkpasswd -m yescrypt)");
		return -1;
	}
	if (cs != CRYPT_SALT_OK) {
		(void) str_copy(why, whylen, "a legacy or disabled hash method (use "
				"yescrypt or SHA-512)");
		return -1;
	}
	u->name = xstrdup(line);
	u->hash = xstrdup(hash);
	return 0;
}

void
auth_users_free(struct auth_users *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		OPENSSL_cleanse(t->v[i].hash, strlen(t->v[i].hash));
		free(t->v[i].hash);
	}
	free(t->v);
	free(t);
}

/* read_file - the whole file, bounded; NULL with why */
static char *
read_file(const char *path, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	int	fd = open(path, O_RDONLY | O_CLOEXEC);
	char   *text = NULL;
	ssize_t	n;

	if (fd < 0 || fstat(fd, &st) < 0) {
		(void) str_fmt(why, whylen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > AUTH_FILE_MAX) {
		(void) str_fmt(why, whylen, "%s: %s", path, !S_ISREG(st.st_mode)
			       ? "not a regular file" : "larger than 64 MiB");
		goto fail;
	}
	text = xmalloc((size_t) st.st_size + 1);
	*len = 0;
	while (*len < (size_t) st.st_size
	       && (n = read(fd, text + *len, (size_t) st.st_size - *len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void) str_fmt(why, whylen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		*len += (size_t) n;
	}
	text[*len] = '\0';
	close(fd);
	return text;
fail:
	if (fd >= 0)
		close(fd);
	free(text);
	return NULL;
}

struct auth_users *
auth_users_load(const char *path, char *why, size_t whylen)
{
	struct auth_users *t = xcalloc(1, sizeof(*t));
	size_t	len, cap = 0;
	char   *text = read_file(path, &len, why, whylen), *p, *line, *next;
	char	reason[200];
	int	lineno = 0;

	if (text == NULL) {
		free(t);
		return NULL;
	}
	for (p = text; p < text + len; p = next) {
		char   *nl = memchr(p, '\n', (size_t) (text + len - p));
		size_t	n;

		next = nl ? nl + 1 : text + len;
		if (nl != NULL)
			*nl = '\0';
		line = p;
		lineno++;
		if ((n = strlen(line)) > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n > AUTH_LINE_MAX) {
			(void) str_fmt(why, whylen, "%s, line %d: longer than %d bytes",
				       path, lineno, AUTH_LINE_MAX);
			goto fail;
		}
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (t->n == AUTH_USERS_MAX) {
			(void) str_fmt(why, whylen, "%s: more than %d users", path,
				       AUTH_USERS_MAX);
			goto fail;
		}
		if (t->n == cap) {
			cap = cap ? 2 * cap : 64;
			t->v = xreallocarray(t->v, cap, sizeof(*t->v));
		}
		if (parse_line(line, &t->v[t->n], reason, sizeof(reason)) < 0) {
			(void) str_fmt(why, whylen, "%s, line %d: %s", path, lineno, reason);
			goto fail;
		}
		t->n++;
	}
	qsort(t->v, t->n, sizeof(*t->v), by_name);
	for (size_t i = 1; i < t->n; i++)
		if (strcmp(t->v[i - 1].name, t->v[i].name) == 0) {
			(void) str_fmt(why, whylen, "%s: user %s is listed twice", path,
				       t->v[i].name);
			goto fail;
		}
	if (crypt_gensalt_rn(NULL, 0, NULL, 0, t->dummy, sizeof(t->dummy)) == NULL) {
		(void) str_fmt(why, whylen, "crypt_gensalt: %s", strerror(errno));
		goto fail;
	}
	OPENSSL_cleanse(text, len);
	free(text);
	return t;
fail:
	OPENSSL_cleanse(text, len);
	free(text);
	auth_users_free(t);
	return NULL;
}

size_t
auth_users_count(const struct auth_users *t)
{
	return t->n;
}

int
auth_users_check(const struct auth_users *t, const char *name, const char *password)
{
	static struct crypt_data data;	/* 32 KiB: not on the stack */
	struct user key = {(char *) name, NULL};
	const struct user *u = bsearch(&key, t->v, t->n, sizeof(*t->v), by_name);
	const char *setting = u ? u->hash : t->dummy;
	const char *out;
	int	r;

	if (strlen(password) > AUTH_PASS_MAX)
		return AUTH_FAIL;
	memset(&data, 0, sizeof(data));
	out = crypt_rn(password, setting, &data, (int) sizeof(data));
	if (out == NULL || out[0] == '*')
		r = AUTH_TEMP;
	else if (u == NULL || strlen(out) != strlen(u->hash))
		r = AUTH_FAIL;
	else
		r = CRYPTO_memcmp(out, u->hash, strlen(out)) == 0 ? AUTH_OK : AUTH_FAIL;
	OPENSSL_cleanse(&data, sizeof(data));
	return r;
}
