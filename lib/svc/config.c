/*
 * NAME
 *	config - main.cf: parsing, $name expansion, typed values
 * DESCRIPTION
 *	See config.h.  Loading runs in three passes, each of which goes
 *	on after a problem so that one run reports every problem:
 *
 *	1. Settings.  main.cf lines, then the overrides, leave the raw
 *	   text of each known parameter and where it came from (a main.cf
 *	   line, an override, or the built-in default).
 *	2. Expansion.  Each parameter's text is expanded on demand and
 *	   remembered, so a value referenced many times is expanded once
 *	   (this also keeps "a = $b$b, b = $c$c, ..." linear).  A
 *	   parameter being expanded is marked busy; meeting a busy one
 *	   again is a loop, reported with the chain that led to it.
 *	3. Conversion.  Each expanded value is converted by its type and
 *	   checked against its bounds, straight into struct params.
 *
 *	A problem is reported where the text came from, so an
 *	administrator is sent to the line to fix, not to the parameter
 *	that happened to use it.
 * SECURITY
 *	main.cf is written by root, but every reader is bounded anyway
 *	(file size, logical line length, number of settings, expansion
 *	depth and result length): a mistake must give an error message,
 *	not a process that eats the machine or its stack.
 *	A main.cf name params.def does not have is kept with its text: when
 *	another value refers to it as $name (main.cf, or a master.cf -o such
 *	as Debian's "-o smtpd_client_restrictions=$mua_client_restrictions")
 *	it is a user-defined parameter, expanded like any other, as in
 *	Postfix; `postern check` notes the names nothing refers to.
 * BUGS
 *	Postfix's ${name?{text}:{text}} and comparison forms are not
 *	supported.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "num.h"
#include "param_class.h"
#include "safefile.h"
#include "str.h"

#define NAME_MAX_LEN	64		/* longer than any parameter name */
#define READ_CHUNK	(64 * 1024)

/* Parameters that keep their text: local(8) expands them per delivery. */
static const char *const verbatim_params[] = {
	"config_directory", "forward_path", "mailbox_command",
};

enum { ST_TODO, ST_BUSY, ST_DONE, ST_FAILED };

struct loader {
	const char *path;		/* DIR/main.cf, for messages */
	const char *const *overrides;
	struct buf *err;
	int	errors;
	char  **raw;			/* per parameter: text as set, or NULL */
	int    *origin;			/* > 0 main.cf line, < 0 -(override + 1), 0 default */
	char  **value;			/* per parameter: expanded text */
	unsigned char *state;		/* ST_* */
	bool   *verbatim;		/* per parameter: never expanded */
	size_t	chain[CONFIG_DEPTH_MAX + 8];	/* parameters being expanded */
	int	depth;			/* entries in chain */
	int	nest;			/* expand_text() frames active */
	int	settings;		/* settings seen, for CONFIG_SETTINGS_MAX */
	int	src_fd;			/* main.cf snapshot, or -1: read the file */
	struct param_unused *unused;	/* names not in params.def */
	size_t	n_unused;
	struct tsetting {		/* per-transport settings (params.h) */
		char   *name;
		char   *raw;
		int	origin;		/* as origin[] */
		int	family;
	}      *tset;
	size_t	n_tset;
};

static inline bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static inline bool
is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c == '_';
}

/* vproblem - append prefix, formatted text and a newline, or nothing */
static void
vproblem(struct buf *err, const char *prefix, const char *fmt, va_list ap)
{
	size_t  saved = err->len;

	if (buf_puts(err, prefix) < 0 || buf_vappendf(err, fmt, ap) < 0
	    || buf_putc(err, '\n') < 0)
		buf_truncate(err, saved);
}

void
config_problem(struct buf *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(err, "", fmt, ap);
	va_end(ap);
}

/*
 * Configuration files.
 */

/* read_all - the whole of fd (pread: the offset may be shared) into f */
static int
read_all(struct config_file *f, const char *path, int fd, size_t max_size,
	 size_t max_line, struct buf *err)
{
	struct buf data;
	off_t   off = 0;
	ssize_t n;

	buf_init(&data, max_size);
	for (;;) {
		size_t  want = buf_room(&data) < READ_CHUNK ? buf_room(&data) : READ_CHUNK;
		char    extra;

		if (want == 0) {
			/* Full: one more byte means the file is too large. */
			n = pread(fd, &extra, 1, off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0) {
				config_problem(err, "%s: larger than %zu bytes "
					       "(shorten it)", path, max_size);
				goto fail;
			}
		} else {
			n = pread(fd, buf_reserve(&data, want), want, off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0) {
				buf_commit(&data, (size_t) n);
				off += n;
				continue;
			}
		}
		if (n < 0) {
			config_problem(err, "%s: read error: %s", path, strerror(errno));
			goto fail;
		}
		break;
	}
	f->len = data.len;
	f->data = buf_steal(&data);
	buf_free(&data);
	buf_init(&f->line, max_line);
	return 0;

fail:
	buf_free(&data);
	return -1;
}

int
config_file_open(struct config_file *f, const char *path, size_t max_size,
		 size_t max_line, struct buf *err)
{
	struct stat st;
	int     fd, r;

	memset(f, 0, sizeof(*f));
	f->path = path;
	/* O_NONBLOCK: a FIFO put in place of the file must not hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		config_problem(err, "%s: cannot open: %s (create it, or give the "
			       "right configuration directory with -c)",
			       path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		config_problem(err, "%s: not a regular file (replace it with one)",
			       path);
		close(fd);
		return -1;
	}
	r = read_all(f, path, fd, max_size, max_line, err);
	close(fd);
	return r;
}

int
config_file_open_fd(struct config_file *f, const char *path, int fd,
		    size_t max_size, size_t max_line, struct buf *err)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	return read_all(f, path, fd, max_size, max_line, err);
}

int
config_snapshot(const char *config_dir, struct buf *err)
{
	struct config_file f;
	char    path[PATH_MAX];
	int     fd;

	if (str_fmt(path, sizeof(path), "%s/main.cf", config_dir) < 0) {
		config_problem(err, "configuration directory \"%.100s...\": "
			       "name too long (use a shorter path)", config_dir);
		return -1;
	}
	if (config_file_open(&f, path, CONFIG_FILE_MAX, CONFIG_LINE_MAX, err) < 0)
		return -1;
	fd = memfd_create("postern-main.cf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || sf_write_all(fd, f.data, f.len) < 0
	    || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
		     | F_SEAL_SEAL) < 0) {
		config_problem(err, "%s: cannot make a snapshot: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		config_file_close(&f);
		return -1;
	}
	config_file_close(&f);
	return fd;
}

void
config_file_close(struct config_file *f)
{
	free(f->data);
	f->data = NULL;
	if (f->line.data)
		buf_free(&f->line);
}

/*
 * config_file_next - the next logical line.  Blank and comment lines
 * are ignored even between a line and its continuations, as Postfix
 * does, so a commented-out continuation does not end a setting.
 */
int
config_file_next(struct config_file *f, int *line, struct buf *err)
{
	for (;;) {
		bool    have = false, orphan = false, nul = false, too_long = false;
		int     first = 0;

		buf_reset(&f->line);
		while (f->pos < f->len) {
			const char *s = f->data + f->pos;
			const char *nl = memchr(s, '\n', f->len - f->pos);
			size_t  plen = nl ? (size_t) (nl - s) : f->len - f->pos;
			const char *b = s, *e = s + plen;

			while (b < e && is_space((unsigned char) *b))
				b++;
			if (b < e && b == s && *b != '#' && have)
				break;		/* the next logical line starts here */
			f->pos += plen + (nl ? 1 : 0);
			f->lineno++;
			if (b == e || *b == '#')
				continue;
			if (!have) {
				have = true;
				first = f->lineno;
				orphan = b != s;
			}
			while (e > b && is_space((unsigned char) e[-1]))
				e--;
			if (memchr(b, '\0', (size_t) (e - b)) != NULL)
				nul = true;
			if (orphan || nul || too_long)
				continue;
			if ((f->line.len > 0 && buf_putc(&f->line, ' ') < 0)
			    || buf_append(&f->line, b, (size_t) (e - b)) < 0)
				too_long = true;
		}
		if (!have)
			return 0;
		if (orphan) {
			config_problem(err, "%s, line %d: continuation line without "
				       "a line to continue (remove the white space "
				       "at its start)", f->path, first);
		} else if (nul) {
			config_problem(err, "%s, line %d: NUL byte in line "
				       "(remove it)", f->path, first);
		} else if (too_long) {
			config_problem(err, "%s, line %d: logical line longer "
				       "than %zu bytes (shorten it)", f->path,
				       first, f->line.max);
		} else {
			*line = first;
			return 1;
		}
		f->errors++;
	}
}

/*
 * Values.
 */

static const char *
unit_name(int unit)
{
	switch (unit) {
	case 's':
		return "seconds";
	case 'm':
		return "minutes";
	case 'h':
		return "hours";
	case 'd':
		return "days";
	case 'w':
		return "weeks";
	default:
		return "seconds";
	}
}

/* convert - convert v by pi's type into field (when not NULL) */
static int
convert(const struct param_info *pi, const char *v, void *field,
	char *why, size_t size)
{
	const char *w = "bad value";
	long long ll;
	uint64_t u;
	bool    b;

	switch (pi->type) {
	case PT_STR:
	case PT_LIST:
		if (field)
			*(const char **) field = v;
		return 0;
	case PT_INT:
		if (num_parse_int(v, pi->min, pi->max, &ll, &w) == 0) {
			if (field)
				*(long long *) field = ll;
			return 0;
		}
		(void) str_fmt(why, size, "%s (use a whole number from %lld "
			       "to %lld)", w, pi->min, pi->max);
		return -1;
	case PT_SIZE:
		if (num_parse_size(v, (uint64_t) pi->min, (uint64_t) pi->max,
				   &u, &w) == 0) {
			if (field)
				*(uint64_t *) field = u;
			return 0;
		}
		(void) str_fmt(why, size, "%s (use a number of bytes from %lld "
			       "to %lld, optionally followed by k, m or g)",
			       w, pi->min, pi->max);
		return -1;
	case PT_TIME:
		if (num_parse_time(v, pi->unit, (uint64_t) pi->min,
				   (uint64_t) pi->max, &u, &w) == 0) {
			if (field)
				*(uint64_t *) field = u;
			return 0;
		}
		(void) str_fmt(why, size, "%s (use a time from %llds to %llds: "
			       "a number followed by s, m, h, d or w; a bare "
			       "number counts %s)", w, pi->min, pi->max,
			       unit_name(pi->unit));
		return -1;
	case PT_BOOL:
		if (num_parse_bool(v, &b, &w) == 0) {
			if (field)
				*(bool *) field = b;
			return 0;
		}
		(void) str_fmt(why, size, "%s", w);
		return -1;
	}
	log_panic("config: parameter %s has unknown type %d", pi->name,
		  (int) pi->type);
}

int
config_check_value(const struct param_info *pi, const char *value,
		   char *why, size_t size)
{
	if (strchr(value, '$') != NULL)
		return 0;
	return convert(pi, value, NULL, why, size);
}

int
config_value_string(const struct params *p, const struct param_info *pi,
		    struct buf *out)
{
	const char *field = (const char *) p + pi->offset;

	switch (pi->type) {
	case PT_STR:
	case PT_LIST:
		return buf_puts(out, *(const char *const *) (const void *) field);
	case PT_INT:
		return buf_appendf(out, "%lld", *(const long long *) (const void *) field);
	case PT_SIZE:
		return buf_appendf(out, "%" PRIu64, *(const uint64_t *) (const void *) field);
	case PT_TIME:
		return buf_appendf(out, "%" PRIu64 "s", *(const uint64_t *) (const void *) field);
	case PT_BOOL:
		return buf_puts(out, *(const bool *) (const void *) field ? "yes" : "no");
	}
	return -1;
}

/*
 * Expansion.
 */

/* where - the origin of parameter i's text, for messages */
static const char *
where(const struct loader *L, size_t i, char *w, size_t size)
{
	if (L->origin[i] > 0)
		(void) str_fmt(w, size, "%s, line %d", L->path, L->origin[i]);
	else if (L->origin[i] < 0)
		(void) str_fmt(w, size, "-o \"%.200s\"",
			       L->overrides[-L->origin[i] - 1]);
	else
		(void) str_fmt(w, size, "%s (default)", L->path);
	return w;
}

/* fail - report a problem with parameter i's value (see warn_unknown) */
static void
fail(struct loader *L, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noinline));

static void
fail(struct loader *L, size_t i, const char *fmt, ...)
{
	char    w[PATH_MAX + 300];
	char    prefix[sizeof(w) + NAME_MAX_LEN + 32];
	va_list ap;

	(void) str_fmt(prefix, sizeof(prefix), "%s: parameter %s: ",
		       where(L, i, w, sizeof(w)), param_table[i].name);
	va_start(ap, fmt);
	vproblem(L->err, prefix, fmt, ap);
	va_end(ap);
	L->errors++;
}

static char *local_hostname(void);
static const char *expand_param(struct loader *L, size_t i);

/*
 * warn_unknown - log a reference to an unknown name.  Not inlined: its
 * message buffer must not sit in every frame of the expansion recursion.
 */
static __attribute__((noinline)) void
warn_unknown(const struct loader *L, size_t owner, const char *s, size_t n)
{
	char    w[PATH_MAX + 300];

	log_warn("%s: parameter %s: unknown parameter $%.*s expands to "
		 "nothing (check the name)", where(L, owner, w, sizeof(w)),
		 param_table[owner].name, (int) (n < 100 ? n : 100), s);
}

static int expand_text(struct loader *L, size_t owner, const char *s, size_t n,
		       struct buf *out);

/*
 * user_defined - the expansion of a main.cf name params.def does not
 * have, when main.cf sets it (Postfix's user-defined parameters);
 * NULL after a problem.  A loop through such names is reported like
 * one through known parameters.
 */
static const char *
user_defined(struct loader *L, size_t owner, struct param_unused *u)
{
	struct buf out;

	u->used = true;
	switch (u->state) {
	case ST_DONE:
		return u->expanded;
	case ST_FAILED:
		return NULL;
	case ST_BUSY:
		fail(L, owner, "$%s refers back to itself through other "
		     "parameters (break the loop)", u->name);
		u->state = ST_FAILED;
		return NULL;
	}
	u->state = ST_BUSY;
	buf_init(&out, CONFIG_VALUE_MAX);
	if (expand_text(L, owner, u->value, strlen(u->value), &out) == 0)
		u->expanded = buf_steal(&out);
	buf_free(&out);
	if (u->state == ST_BUSY)
		u->state = u->expanded ? ST_DONE : ST_FAILED;
	return u->state == ST_DONE ? u->expanded : NULL;
}

/* reference - the value of the parameter named s[0..n), or NULL */
static const char *
reference(struct loader *L, size_t owner, const char *s, size_t n)
{
	const struct param_info *pi = NULL;
	char    name[NAME_MAX_LEN];

	if (n < sizeof(name)) {
		memcpy(name, s, n);
		name[n] = '\0';
		pi = param_find(name);
		if (pi == NULL)
			for (size_t k = 0; k < L->n_unused; k++)
				if (L->unused[k].value != NULL
				    && strcmp(L->unused[k].name, name) == 0)
					return user_defined(L, owner, &L->unused[k]);
	}
	if (pi == NULL) {
		warn_unknown(L, owner, s, n);
		return "";
	}
	return expand_param(L, (size_t) (pi - param_table));
}

/*
 * expand_text - append s[0..n) to out with every $ reference expanded.
 * owner is the parameter whose text this is, for messages.
 */
static int
expand_text(struct loader *L, size_t owner, const char *s, size_t n,
	    struct buf *out)
{
	const char *v;
	size_t  i = 0;
	int     ret = -1;

	if (++L->nest > CONFIG_DEPTH_MAX) {
		fail(L, owner, "$name references nested more than %d deep "
		     "(simplify the values)", CONFIG_DEPTH_MAX);
		goto out;
	}
	while (i < n) {
		const char *d = memchr(s + i, '$', n - i);
		size_t  lit = d ? (size_t) (d - (s + i)) : n - i;

		if (buf_append(out, s + i, lit) < 0)
			goto too_long;
		if ((i += lit) >= n)
			break;
		if (++i == n) {
			fail(L, owner, "'$' at the end of the value (write $$ "
			     "for a literal '$')");
			goto out;
		}
		if (s[i] == '$') {
			if (buf_putc(out, '$') < 0)
				goto too_long;
			i++;
		} else if (is_name_char((unsigned char) s[i])) {
			size_t  b = i;

			while (i < n && is_name_char((unsigned char) s[i]))
				i++;
			if ((v = reference(L, owner, s + b, i - b)) == NULL)
				goto out;
			if (buf_puts(out, v) < 0)
				goto too_long;
		} else if (s[i] == '{' || s[i] == '(') {
			char    open = s[i], close = open == '{' ? '}' : ')';
			size_t  b = ++i, nlen, tb;
			int     depth;
			char    op;

			while (i < n && is_name_char((unsigned char) s[i]))
				i++;
			if ((nlen = i - b) == 0) {
				fail(L, owner, "\"$%c\" not followed by a parameter "
				     "name (write $%cname%c, or $$ for a literal '$')",
				     open, open, close);
				goto out;
			}
			if (i == n) {
				fail(L, owner, "missing '%c' after \"$%c%.*s\"", close,
				     open, (int) (nlen < 100 ? nlen : 100), s + b);
				goto out;
			}
			if (s[i] == close) {
				i++;
				if ((v = reference(L, owner, s + b, nlen)) == NULL)
					goto out;
				if (buf_puts(out, v) < 0)
					goto too_long;
				continue;
			}
			if (s[i] != '?' && s[i] != ':') {
				fail(L, owner, "unexpected '%c' after \"$%c%.*s\" "
				     "(write $%cname%c, $%cname?text%c or "
				     "$%cname:text%c)", s[i], open,
				     (int) (nlen < 100 ? nlen : 100), s + b,
				     open, close, open, close, open, close);
				goto out;
			}
			op = s[i++];
			/* The text may hold references of its own: balance. */
			for (tb = i, depth = 1; i < n; i++) {
				if (s[i] == open)
					depth++;
				else if (s[i] == close && --depth == 0)
					break;
			}
			if (i == n) {
				fail(L, owner, "missing '%c' after \"$%c%.*s%c...\"",
				     close, open, (int) (nlen < 100 ? nlen : 100),
				     s + b, op);
				goto out;
			}
			if ((v = reference(L, owner, s + b, nlen)) == NULL)
				goto out;
			if ((op == '?') == (*v != '\0')
			    && expand_text(L, owner, s + tb, i - tb, out) < 0)
				goto out;
			i++;
		} else {
			fail(L, owner, "'$' not followed by a parameter name "
			     "(write $$ for a literal '$')");
			goto out;
		}
	}
	ret = 0;
	goto out;

too_long:
	fail(L, owner, "value longer than %zu bytes after expansion "
	     "(shorten it)", out->max);
out:
	L->nest--;
	return ret;
}

/* loop_error - report the loop that ends by meeting parameter i again */
static void
loop_error(struct loader *L, size_t i)
{
	struct buf chain;
	size_t  blame = i;
	int     k, start = 0;

	for (k = L->depth - 1; k >= 0; k--)
		if (L->chain[k] == i) {
			start = k;
			break;
		}
	buf_init(&chain, 16 * 1024);
	for (k = start; k < L->depth; k++) {
		(void) buf_appendf(&chain, "%s -> ", param_table[L->chain[k]].name);
		/* Blame the first text an administrator wrote. */
		if (blame == i && L->origin[i] == 0 && L->origin[L->chain[k]] != 0)
			blame = L->chain[k];
	}
	(void) buf_puts(&chain, param_table[i].name);
	fail(L, blame, "expansion loop %s (remove one of the references)",
	     buf_str(&chain));
	buf_free(&chain);
}

/* computed - the value of a default that starts with '@' */
static char *
computed(struct loader *L, size_t i)
{
	const char *def = param_table[i].def;
	const struct param_info *host;
	const char *h, *dot;

	if (strcmp(def, "@hostname") == 0)
		return local_hostname();
	if (strcmp(def, "@domain") == 0) {
		if ((host = param_find("myhostname")) == NULL)
			log_panic("config: @domain without myhostname");
		if ((h = expand_param(L, (size_t) (host - param_table))) == NULL)
			return NULL;
		dot = strchr(h, '.');
		return xstrdup(dot && dot[1] ? dot + 1 : "localdomain");
	}
	log_panic("params.def: parameter %s: unknown computed default %s",
		  param_table[i].name, def);
}

/* expand_param - parameter i's expanded value, or NULL after a problem */
static const char *
expand_param(struct loader *L, size_t i)
{
	const char *src;
	struct buf out;
	char   *v;

	switch (L->state[i]) {
	case ST_DONE:
		return L->value[i];
	case ST_FAILED:
		return NULL;
	case ST_BUSY:
		loop_error(L, i);
		return NULL;
	}
	if (L->depth >= (int) (sizeof(L->chain) / sizeof(L->chain[0]))) {
		fail(L, i, "$name references nested more than %d deep "
		     "(simplify the values)", CONFIG_DEPTH_MAX);
		return NULL;
	}
	L->state[i] = ST_BUSY;
	L->chain[L->depth++] = i;
	src = L->raw[i] ? L->raw[i] : param_table[i].def;
	if (L->raw[i] == NULL && src[0] == '@') {
		v = computed(L, i);
	} else if (L->verbatim[i]) {
		v = xstrdup(src);
	} else {
		buf_init(&out, CONFIG_VALUE_MAX);
		if (expand_text(L, i, src, strlen(src), &out) == 0) {
			v = buf_steal(&out);
		} else {
			v = NULL;
		}
		buf_free(&out);
	}
	L->depth--;
	L->state[i] = v ? ST_DONE : ST_FAILED;
	L->value[i] = v;
	return v;
}

/*
 * local_hostname - this host's fully-qualified name.  getaddrinfo() may
 * consult DNS; it is only called when main.cf does not set myhostname.
 */
static char *
local_hostname(void)
{
	struct addrinfo hints, *res = NULL;
	char    host[256];

	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
		return xstrdup("localhost");
	if (strchr(host, '.') == NULL) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_CANONNAME;
		if (getaddrinfo(host, NULL, &hints, &res) == 0) {
			if (res && res->ai_canonname
			    && strchr(res->ai_canonname, '.') != NULL)
				(void) str_copy(host, sizeof(host), res->ai_canonname);
			freeaddrinfo(res);
		}
	}
	return xstrdup(host);
}

/*
 * Settings.
 */

/* set_raw - record the text of parameter i and where it came from */
static void
set_raw(struct loader *L, size_t i, const char *value, int origin)
{
	free(L->raw[i]);
	L->raw[i] = xstrdup(value);
	L->origin[i] = origin;
}

/* valid_name - true when s is a non-empty run of name characters */
static bool
valid_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!is_name_char((unsigned char) *s))
			return false;
	return true;
}

/* count_setting - false (after one report) past CONFIG_SETTINGS_MAX */
static bool
count_setting(struct loader *L, const char *what)
{
	if (++L->settings <= CONFIG_SETTINGS_MAX)
		return true;
	if (L->settings == CONFIG_SETTINGS_MAX + 1) {
		config_problem(L->err, "%s: more than %d settings (remove "
			       "duplicate or unused settings)", what,
			       CONFIG_SETTINGS_MAX);
		L->errors++;
	}
	return false;
}

/*
 * note_unused - remember a main.cf name params.def does not have, for
 * `postern check` (param_class.h); the last setting of a name wins.
 */
static void
note_unused(struct loader *L, const char *name, const char *value, int line)
{
	struct param_unused *u;

	for (size_t k = 0; k < L->n_unused; k++)
		if (strcmp(L->unused[k].name, name) == 0) {
			L->unused[k].line = line;
			free(L->unused[k].value);
			L->unused[k].value = xstrdup(value);
			return;
		}
	/* count_setting() bounds the number of settings, so this too. */
	L->unused = xreallocarray(L->unused, L->n_unused + 1, sizeof(*L->unused));
	u = &L->unused[L->n_unused++];
	memset(u, 0, sizeof(*u));
	u->name = xstrdup(name);
	u->value = xstrdup(value);
	u->line = line;
	u->state = ST_TODO;
}

/*
 * note_transport - remember a per-transport setting (TRANSPORT_SUFFIX,
 * params.h); the last setting of a name wins
 */
static void
note_transport(struct loader *L, const char *name, const char *raw,
	       int origin, int family)
{
	size_t  k;

	for (k = 0; k < L->n_tset; k++)
		if (strcmp(L->tset[k].name, name) == 0)
			break;
	if (k == L->n_tset) {
		/* count_setting() bounds the number of settings, so this too. */
		L->tset = xreallocarray(L->tset, L->n_tset + 1, sizeof(*L->tset));
		L->tset[k].name = xstrdup(name);
		L->tset[k].raw = NULL;
		L->n_tset++;
	}
	free(L->tset[k].raw);
	L->tset[k].raw = xstrdup(raw);
	L->tset[k].origin = origin;
	L->tset[k].family = family;
}

static void
read_main_cf(struct loader *L, size_t cfdir)
{
	struct config_file f;
	char    what[PATH_MAX + 32];
	char   *text, *eq, *name, *value;
	const struct param_info *pi;
	int     line;

	if ((L->src_fd >= 0
	     ? config_file_open_fd(&f, L->path, L->src_fd, CONFIG_FILE_MAX,
				   CONFIG_LINE_MAX, L->err)
	     : config_file_open(&f, L->path, CONFIG_FILE_MAX, CONFIG_LINE_MAX,
				L->err)) < 0) {
		L->errors++;
		return;
	}
	while (config_file_next(&f, &line, L->err) > 0) {
		(void) str_fmt(what, sizeof(what), "%s, line %d", L->path, line);
		if (!count_setting(L, what))
			break;
		text = f.line.data;
		if ((eq = strchr(text, '=')) == NULL) {
			config_problem(L->err, "%s: missing '=' in \"%.100s\" "
				       "(write name = value)", what, text);
			L->errors++;
			continue;
		}
		*eq = '\0';
		name = str_trim(text);
		value = str_trim(eq + 1);
		if (!valid_name(name)) {
			config_problem(L->err, "%s: bad parameter name \"%.100s\" "
				       "(a name has letters, digits and '_' only)",
				       what, name);
			L->errors++;
			continue;
		}
		if ((pi = param_find(name)) == NULL) {
			int     fam = param_family_of(name);

			if (fam >= 0)
				note_transport(L, name, value, line, fam);
			else
				note_unused(L, name, value, line);
			continue;
		}
		if ((size_t) (pi - param_table) == cfdir) {
			log_warn("%s: config_directory ignored: it is the "
				 "directory main.cf is read from", what);
			continue;
		}
		set_raw(L, (size_t) (pi - param_table), value, line);
	}
	L->errors += f.errors;
	config_file_close(&f);
}

static void
apply_overrides(struct loader *L, const char *const *ov, size_t n, size_t cfdir)
{
	const struct param_info *pi;
	char    what[300];

	for (size_t k = 0; k < n; k++) {
		const char *eq = strchr(ov[k], '=');
		char    name[NAME_MAX_LEN];
		size_t  nlen;
		char   *copy, *nm;

		(void) str_fmt(what, sizeof(what), "-o \"%.200s\"", ov[k]);
		if (!count_setting(L, what))
			break;
		if (strlen(ov[k]) > CONFIG_LINE_MAX) {
			config_problem(L->err, "%s: longer than %d bytes (shorten "
				       "it)", what, CONFIG_LINE_MAX);
			L->errors++;
			continue;
		}
		if (eq == NULL) {
			config_problem(L->err, "%s: missing '=' (write -o "
				       "name=value)", what);
			L->errors++;
			continue;
		}
		copy = xmemdup(ov[k], (size_t) (eq - ov[k]));
		nm = str_trim(copy);
		nlen = strlen(nm);
		pi = NULL;
		if (valid_name(nm) && nlen < sizeof(name)) {
			memcpy(name, nm, nlen + 1);
			pi = param_find(name);
		}
		if (pi == NULL && valid_name(nm) && param_family_of(nm) >= 0) {
			char   *v = xstrdup(eq + 1);

			note_transport(L, nm, str_trim(v), -(int) k - 1, param_family_of(nm));
			free(v);
		} else if (pi == NULL && param_class(nm, NULL) == PARAM_IGNORED) {
			/* Without effect here; `postern check` notes it. */
		} else if (pi == NULL) {
			config_problem(L->err, "%s: %s", what,
				       config_unused_why(nm, nm[0] ? nm : "?"));
			L->errors++;
		} else if ((size_t) (pi - param_table) == cfdir) {
			log_warn("%s: config_directory ignored: it is the "
				 "directory main.cf is read from", what);
		} else {
			free(copy);
			copy = xstrdup(eq + 1);
			set_raw(L, (size_t) (pi - param_table), str_trim(copy),
				-(int) k - 1);
		}
		free(copy);
	}
}

/*
 * file_value - myorigin = /path (Debian's /etc/mailname): the value is
 * the first line of that file.  Read at load time, so a daemon reads it
 * before its chroot, and `postern check` reads it too.
 */
static int
file_value(struct loader *L, size_t i)
{
	struct config_file f;
	struct buf why;
	const char *v = L->value[i];
	size_t  n;

	if (strcmp(param_table[i].name, "myorigin") != 0 || v[0] != '/')
		return 0;
	buf_init(&why, 4096);
	if (config_file_open(&f, v, CONFIG_FILE_MAX, 1024, &why) < 0) {
		n = why.len;
		while (n > 0 && why.data[n - 1] == '\n')
			n--;
		fail(L, i, "%.*s (a value that starts with '/' names a file whose "
		     "first line is the domain)", (int) n, why.data);
		buf_free(&why);
		return -1;
	}
	buf_free(&why);
	/* The first line as written: comments have no meaning in it. */
	f.data[strcspn(f.data, "\n")] = '\0';
	free(L->value[i]);
	L->value[i] = xstrdup(str_trim(f.data));
	config_file_close(&f);
	return 0;
}

/* valid_value - values other programs build addresses from */
static int
valid_value(struct loader *L, size_t i)
{
	const char *name = param_table[i].name, *v = L->value[i];

	if (strcmp(name, "myorigin") == 0 && !addr_domain_valid(v, true)) {
		fail(L, i, "\"%.100s\" is not a domain name (write a domain such "
		     "as example.com, or a file that holds one, such as "
		     "/etc/mailname)", v);
		return -1;
	}
	return 0;
}

const char *
config_unused_why(const char *name, const char *shown)
{
	static char text[400];
	const char *what;

	switch (param_class(name, &what)) {
	case PARAM_UNSUPPORTED:
		(void) str_fmt(text, sizeof(text), "%.100s is not supported yet (%s): "
			       "postern would run without it; remove the setting "
			       "until postern implements it", shown, what);
		break;
	case PARAM_IGNORED:
		(void) str_fmt(text, sizeof(text), "%.100s is ignored (%s)", shown, what);
		break;
	default:
		(void) str_fmt(text, sizeof(text), "unknown parameter \"%.100s\" "
			       "(check the name)", shown);
		break;
	}
	return text;
}

static void
unused_free(struct param_unused *u, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		free(u[k].name);
		free(u[k].value);
		free(u[k].expanded);
	}
	free(u);
}

static void
loader_free(struct loader *L)
{
	unused_free(L->unused, L->n_unused);
	for (size_t k = 0; k < L->n_tset; k++) {
		free(L->tset[k].name);
		free(L->tset[k].raw);
	}
	free(L->tset);
	for (size_t i = 0; i < param_count; i++) {
		free(L->raw[i]);
		free(L->value[i]);
	}
	free(L->raw);
	free(L->value);
	free(L->origin);
	free(L->state);
	free(L->verbatim);
}

static void
loader_init(struct loader *L, const char *path, int src_fd,
	    const char *const *overrides, struct buf *err)
{
	const struct param_info *pi;

	memset(L, 0, sizeof(*L));
	L->src_fd = src_fd;
	L->path = path;
	L->overrides = overrides;
	L->err = err;
	L->raw = xcalloc(param_count, sizeof(*L->raw));
	L->value = xcalloc(param_count, sizeof(*L->value));
	L->origin = xcalloc(param_count, sizeof(*L->origin));
	L->state = xcalloc(param_count, sizeof(*L->state));
	L->verbatim = xcalloc(param_count, sizeof(*L->verbatim));
	for (size_t k = 0; k < sizeof(verbatim_params) / sizeof(verbatim_params[0]); k++) {
		if ((pi = param_find(verbatim_params[k])) == NULL)
			log_panic("config: no %s parameter", verbatim_params[k]);
		L->verbatim[pi - param_table] = true;
	}
}

int
config_peek(const char *config_dir, const char *name, struct buf *value,
	    struct buf *err)
{
	return config_peek_fd(config_dir, -1, name, value, err);
}

int
config_peek_fd(const char *config_dir, int src_fd, const char *name,
	       struct buf *value, struct buf *err)
{
	const struct param_info *pi = param_find(name), *cd;
	struct loader L;
	struct buf ignored;
	char    path[PATH_MAX];
	const char *v;
	int     r = -1;

	if (pi == NULL)
		log_panic("config_peek: no parameter %s", name);
	if ((cd = param_find("config_directory")) == NULL)
		log_panic("config: no config_directory parameter");
	if (str_fmt(path, sizeof(path), "%s/main.cf", config_dir) < 0) {
		config_problem(err, "configuration directory \"%.100s...\": "
			       "name too long (use a shorter path)", config_dir);
		return -1;
	}
	/* Problems elsewhere in main.cf are not this caller's concern. */
	buf_init(&ignored, 256 * 1024);
	loader_init(&L, path, src_fd, NULL, &ignored);
	read_main_cf(&L, (size_t) (cd - param_table));
	set_raw(&L, (size_t) (cd - param_table), config_dir, 0);
	L.err = err;
	if ((v = expand_param(&L, (size_t) (pi - param_table))) != NULL)
		r = buf_puts(value, v) < 0 ? -1 : 0;
	if (r < 0 && v != NULL)
		config_problem(err, "%s: parameter %s: value too long", path, name);
	if (r < 0 && v == NULL && err->len == 0)
		config_problem(err, "%s: parameter %s: cannot be read", path, name);
	loader_free(&L);
	buf_free(&ignored);
	return r;
}

/*
 * load_per_transport - expand and check each per-transport setting like
 * its family's fallback parameter, into p->per_transport
 */
static void
load_per_transport(struct loader *L, struct params *p)
{
	struct buf v;
	char    w[PATH_MAX + 300], why[512];
	long long ll;

	if (L->n_tset == 0)
		return;
	p->per_transport = xcalloc(L->n_tset, sizeof(*p->per_transport));
	buf_init(&v, CONFIG_VALUE_MAX);
	for (size_t k = 0; k < L->n_tset; k++) {
		const struct tsetting *t = &L->tset[k];
		const struct param_info *pi =
		    param_find(param_families[t->family].fallback);
		uint64_t u;

		if (pi == NULL || (pi->type != PT_INT && pi->type != PT_TIME
				   && pi->type != PT_STR))
			log_panic("config: family %s has no integer, time or "
				  "string fallback", param_families[t->family].suffix);
		if (t->origin > 0)
			(void) str_fmt(w, sizeof(w), "%s, line %d", L->path, t->origin);
		else
			(void) str_fmt(w, sizeof(w), "-o \"%.200s\"",
				       L->overrides[-t->origin - 1]);
		buf_reset(&v);
		/* $name references are expanded as in the fallback's value. */
		if (expand_text(L, (size_t) (pi - param_table), t->raw,
				strlen(t->raw), &v) < 0)
			continue;
		if (convert(pi, v.data, pi->type == PT_TIME ? (void *) &u
			    : pi->type == PT_INT ? (void *) &ll : NULL, why,
			    sizeof(why)) < 0) {
			config_problem(L->err, "%s: parameter %s: bad value \"%.100s\": %s",
				       w, t->name, v.data, why);
			L->errors++;
			continue;
		}
		p->per_transport[p->n_per_transport].name = xstrdup(t->name);
		if (pi->type == PT_STR)
			p->per_transport[p->n_per_transport].str = xstrdup(v.data);
		else
			p->per_transport[p->n_per_transport].value =
			    pi->type == PT_TIME ? (long long) u : ll;
		p->n_per_transport++;
	}
	buf_free(&v);
}

struct params *
config_load(const char *config_dir, const char *const *overrides,
	    size_t n_overrides, struct buf *err)
{
	return config_load_fd(config_dir, -1, overrides, n_overrides, err);
}

struct params *
config_load_fd(const char *config_dir, int src_fd, const char *const *overrides,
	       size_t n_overrides, struct buf *err)
{
	struct loader L;
	struct params *p;
	char    path[PATH_MAX];
	char    why[512];
	char  **strings;
	const struct param_info *pi;
	size_t  cfdir;

	if (str_fmt(path, sizeof(path), "%s/main.cf", config_dir) < 0) {
		config_problem(err, "configuration directory \"%.100s...\": "
			       "name too long (use a shorter path)", config_dir);
		return NULL;
	}
	if ((pi = param_find("config_directory")) == NULL)
		log_panic("config: no config_directory parameter");
	cfdir = (size_t) (pi - param_table);

	loader_init(&L, path, src_fd, overrides, err);
	read_main_cf(&L, cfdir);
	apply_overrides(&L, overrides, n_overrides, cfdir);
	set_raw(&L, cfdir, config_dir, 0);

	for (size_t i = 0; i < param_count; i++)
		(void) expand_param(&L, i);

	p = xcalloc(1, sizeof(*p));
	strings = xcalloc(param_count, sizeof(*strings));
	p->storage = strings;
	for (size_t i = 0; i < param_count; i++) {
		if (L.value[i] == NULL)
			continue;
		if (file_value(&L, i) < 0 || valid_value(&L, i) < 0)
			continue;
		if (convert(&param_table[i], L.value[i],
			    (char *) p + param_table[i].offset, why, sizeof(why)) < 0) {
			fail(&L, i, "bad value \"%.100s\": %s", L.value[i], why);
			continue;
		}
		if (param_table[i].type == PT_STR || param_table[i].type == PT_LIST) {
			strings[i] = L.value[i];	/* now owned by p */
			L.value[i] = NULL;
		}
	}
	load_per_transport(&L, p);
	p->unused = L.unused;
	p->n_unused = L.n_unused;
	L.unused = NULL;
	L.n_unused = 0;
	loader_free(&L);
	if (L.errors > 0) {
		config_free(p);
		return NULL;
	}
	return p;
}

void
config_install(struct params *p)
{
	cfg = p;
}

void
config_free(struct params *p)
{
	char  **strings;

	if (p == NULL)
		return;
	if (p == cfg)
		log_panic("config_free: the set is installed as cfg");
	strings = p->storage;
	for (size_t i = 0; i < param_count; i++)
		free(strings[i]);
	free(strings);
	unused_free(p->unused, p->n_unused);
	for (size_t k = 0; k < p->n_per_transport; k++) {
		free(p->per_transport[k].name);
		free(p->per_transport[k].str);
	}
	free(p->per_transport);
	free(p);
}

/*
 * Lists.
 */

#define LIST_SEP	", \t\r\n"

int
config_list_split(const char *list, size_t max, char ***items)
{
	const char *s;
	size_t  n = 0, len;
	char  **v;

	/* Count first, so that nothing is allocated for a list too long. */
	for (s = list; *(s += strspn(s, LIST_SEP)) != '\0'; s += strcspn(s, LIST_SEP))
		n++;
	if (n > max || n > INT_MAX - 1) {
		*items = NULL;
		return -1;
	}
	v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	for (s = list; *(s += strspn(s, LIST_SEP)) != '\0'; s += len) {
		len = strcspn(s, LIST_SEP);
		v[n++] = xmemdup(s, len);
	}
	*items = v;
	return (int) n;
}

void
config_list_free(char **items, int n)
{
	if (items == NULL)
		return;
	for (int i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

bool
config_list_contains(const char *list, const char *item)
{
	size_t  ilen = strlen(item), len;

	for (const char *s = list; *(s += strspn(s, LIST_SEP)) != '\0'; s += len) {
		len = strcspn(s, LIST_SEP);
		if (len == ilen && str_ncasecmp(s, item, len) == 0)
			return true;
	}
	return false;
}
