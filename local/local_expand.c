/*
 * NAME
 *	local_expand - aliases, .forward and :include:, one recipient at a time
 * SYNOPSIS
 *	#include "local.h"
 *
 *	struct local_expansion e;
 *	local_expand("alice@example.com", &ops, ctx, &params, &e);
 *	if (e.status != 0) ... e.dsn, e.text ...
 *	for (size_t i = 0; i < e.n; i++) ... e.dests[i] ...
 *	local_expansion_free(&e);
 * DESCRIPTION
 *	local_targets_parse() splits the text of an alias value, a
 *	.forward file or an :include: file into destinations and calls fn
 *	for each one, in order, with its kind:
 *
 *	  user, user@domain, <user@domain>	LT_ADDRESS
 *	  \user					LT_USER_NOFWD
 *	  /file/name				LT_FILE
 *	  |command with arguments		LT_COMMAND
 *	  :include:/file/name			LT_INCLUDE
 *
 *	Destinations are separated by commas and line ends; addresses
 *	may also be separated by white space.  A destination in double
 *	quotes ("|/usr/bin/vacation alice", "/path with space") is
 *	unquoted (a backslash escapes the next character) and then
 *	classified the same way; "a b"@example.com is an address.  A
 *	command runs to the end of its element, spaces included (a comma
 *	in a command needs the quotes, as in Postfix).  A line
 *	whose first non-blank character is '#' is a comment.  At most max
 *	destinations are taken; more is an error, as is an empty command,
 *	an :include: or /file without an absolute path, or an unbalanced
 *	quote.  fn returns 0 to go on and -1 to stop (parse then returns
 *	-1 too, and why is left alone).
 *
 *	local_expand() turns one recipient into the destinations that
 *	take its mail, the way a Postfix local(8) administrator expects:
 *
 *	  - a non-local domain (below the top level) is a forward: the
 *	    message goes out again as a new message;
 *	  - the local part is folded to lower case; its extension
 *	    (recipient_delimiter) is cut for the user lookup;
 *	  - alias_maps is asked for the local part with its extension,
 *	    then without; an alias that reaches itself (root: root, x)
 *	    stops there and the user is looked up instead;
 *	  - the user database is asked for the user (no such user: 5.1.1);
 *	  - the user's forward file is read unless the address was
 *	    written \user or the user's forward file is already being
 *	    expanded;
 *	  - otherwise the destination is the user's mailbox.
 *	Files and commands are allowed only where allow_mail_to_files and
 *	allow_mail_to_commands allow the class (alias, forward, include)
 *	the destination came from; the recipient address itself can
 *	never name a file or a command.  They run with the rights of the
 *	user whose .forward named them, or of the alias table's owner
 *	(default_privs when that owner is root).  An :include: file never
 *	changes who runs: it is opened with the rights in force where it
 *	is named (default_privs in a root-owned alias table, never root),
 *	and when it belongs to that user or to root its files and
 *	commands run as that user; when it belongs to anyone else it may
 *	name addresses only, and a file or command in it (or in an
 *	:include: it names) is refused (5.7.1), so that one user's
 *	.forward cannot make another user's file run commands.
 *
 *	Bounds: local_recursion_limit nested expansions, expansion_limit
 *	destinations in all (both permanent failures, 5.4.6 and 5.3.0),
 *	and a duplicate filter of duplicate_filter_limit entries, so that
 *	a destination reached twice is delivered once.
 *
 *	Result: out->status is 0 when every branch expanded, 4 when a
 *	lookup failed temporarily (then no destination is returned: the
 *	whole recipient is tried again later), 5 when a branch failed
 *	permanently (out->dsn and out->text say what; the destinations
 *	of the other branches are still returned and delivered).
 * SECURITY
 *	Nothing here runs or opens anything: the callbacks do the
 *	lookups, and what the result holds is delivered later by a child
 *	with the rights recorded in each destination.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "local.h"
#include "mem.h"
#include "str.h"
#include "table.h"

#define KEY_MAX		(LOCAL_PATH_MAX + 64)

/*
 * Target parsing.
 */

static int
perr(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
perr(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		(void) vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

struct tparse {
	local_target_fn *fn;
	void   *ctx;
	size_t	max;
	size_t	count;
	char   *why;
	size_t	whylen;
	int	stopped;		/* fn said stop */
};

static int
emit(struct tparse *tp, enum local_target_kind kind, const char *text)
{
	if (tp->count >= tp->max)
		return perr(tp->why, tp->whylen, "more than %zu destinations", tp->max);
	tp->count++;
	if (tp->fn(tp->ctx, kind, text) != 0) {
		tp->stopped = 1;
		return -1;
	}
	return 0;
}

/* unquote - the inside of "..." at p (p[0] == '"'), into out; -1 if open */
static int
unquote(const char *p, size_t n, struct buf *out, size_t *used)
{
	size_t  i;

	buf_reset(out);
	for (i = 1; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n) {
			if (buf_putc(out, p[++i]) < 0)
				return -1;
		} else if (p[i] == '"') {
			*used = i + 1;
			return 0;
		} else if (buf_putc(out, p[i]) < 0)
			return -1;
	}
	return -1;
}

/* classify - one unquoted element that is not a plain address list */
static int
classify(struct tparse *tp, const char *s, bool quoted)
{
	const char *rest;

	if (*s == '|') {
		rest = s + 1;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest == '\0')
			return perr(tp->why, tp->whylen, "empty command after \"|\"");
		return emit(tp, LT_COMMAND, rest);
	}
	if (str_has_prefix_nocase(s, ":include:")) {
		rest = s + strlen(":include:");
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest != '/')
			return perr(tp->why, tp->whylen, ":include: needs an absolute "
				    "path, not \"%.100s\"", rest);
		return emit(tp, LT_INCLUDE, rest);
	}
	if (*s == '/')
		return emit(tp, LT_FILE, s);
	if (*s == '\\') {
		if (s[1] == '\0')
			return perr(tp->why, tp->whylen, "empty user name after \"\\\"");
		return emit(tp, LT_USER_NOFWD, s + 1);
	}
	(void) quoted;
	return emit(tp, LT_ADDRESS, s);
}

/* addresses - a white-space separated list of addresses (quotes kept) */
static int
addresses(struct tparse *tp, char *s)
{
	char   *p = s;

	while (*p) {
		char   *start, *end;
		bool    inq = false;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p && (inq || (*p != ' ' && *p != '\t'))) {
			if (*p == '\\' && inq && p[1])
				p++;
			else if (*p == '"')
				inq = !inq;
			p++;
		}
		if (inq)
			return perr(tp->why, tp->whylen, "unbalanced quote in \"%.100s\"", start);
		end = p;
		if (*p)
			p++;
		*end = '\0';
		if (*start == '<' && end > start + 1 && end[-1] == '>') {
			end[-1] = '\0';
			start++;
		}
		if (*start == '\0')
			continue;
		if (*start == '\\') {
			if (classify(tp, start, false) < 0)
				return -1;
		} else if (emit(tp, LT_ADDRESS, start) < 0)
			return -1;
	}
	return 0;
}

/* element - one comma- or line-separated element, trimmed, NUL-terminated */
static int
element(struct tparse *tp, char *s, struct buf *tmp)
{
	size_t  n = strlen(s), used;

	if (n == 0)
		return 0;
	if (*s == '|')
		return classify(tp, s, false);
	if (*s == '"') {
		if (unquote(s, n, tmp, &used) < 0)
			return perr(tp->why, tp->whylen, "unbalanced quote in \"%.100s\"", s);
		if (used == n) {
			/* The whole element was quoted. */
			if (tmp->len == 0)
				return perr(tp->why, tp->whylen, "empty destination \"\"");
			if (memchr(tmp->data, '\0', tmp->len) != NULL)
				return perr(tp->why, tp->whylen, "NUL in destination");
			if (strchr("|/\\", tmp->data[0]) != NULL
			    || str_has_prefix_nocase(tmp->data, ":include:"))
				return classify(tp, tmp->data, true);
			/* "foo bar": a quoted local part. */
			return emit(tp, LT_ADDRESS, s);
		}
		/* "a b"@example.com and the like. */
		return addresses(tp, s);
	}
	if (str_has_prefix_nocase(s, ":include:") || *s == '/')
		return classify(tp, s, false);
	return addresses(tp, s);
}

int
local_targets_parse(const char *text, size_t len, size_t max,
		    local_target_fn *fn, void *ctx, char *why, size_t whylen)
{
	struct tparse tp = {fn, ctx, max, 0, why, whylen, 0};
	struct buf el, tmp;
	bool    bol = true;		/* the next element starts a line */
	size_t  i = 0;
	int     ret = 0;

	buf_init(&el, len + 1);
	buf_init(&tmp, len + 1);
	while (i < len && ret == 0) {
		bool    inq = false;
		char   *s;

		if (bol) {
			size_t  j = i;

			while (j < len && (text[j] == ' ' || text[j] == '\t'))
				j++;
			if (j < len && text[j] == '#') {
				while (j < len && text[j] != '\n')
					j++;
				i = j < len ? j + 1 : j;
				continue;
			}
		}

		/* One element: up to a comma outside quotes, or a line end. */
		buf_reset(&el);
		for (; i < len; i++) {
			char    c = text[i];

			if (c == '\n')
				break;
			if (c == '\0') {
				ret = perr(why, whylen, "NUL byte in destination list");
				break;
			}
			if (inq && c == '\\' && i + 1 < len && text[i + 1] != '\n') {
				(void) buf_putc(&el, c);
				(void) buf_putc(&el, text[++i]);
				continue;
			}
			if (c == '"')
				inq = !inq;
			else if (c == ',' && !inq)
				break;
			(void) buf_putc(&el, c);
		}
		if (ret != 0)
			break;
		bol = i < len && text[i] == '\n';
		if (i < len)
			i++;
		if (inq) {
			ret = perr(why, whylen, "unbalanced quote in \"%.100s\"", el.data);
			break;
		}
		s = str_trim(el.data);
		if (*s == '\0')
			continue;
		ret = element(&tp, s, &tmp);
	}
	buf_free(&el);
	buf_free(&tmp);
	return ret;
}

/*
 * Classes and names.
 */

bool
local_class_allowed(const char *list, enum local_class class)
{
	switch (class) {
	case LC_ALIAS:
		return config_list_contains(list, "alias");
	case LC_FORWARD:
		return config_list_contains(list, "forward");
	case LC_INCLUDE:
		return config_list_contains(list, "include");
	default:
		return false;		/* an envelope address: never */
	}
}

static const char *
class_name(enum local_class class)
{
	switch (class) {
	case LC_ALIAS:
		return "alias";
	case LC_FORWARD:
		return "forward";
	case LC_INCLUDE:
		return "include";
	default:
		return "address";
	}
}

/*
 * local_name_safe - a name worth asking the user database about: short,
 * printable ASCII, none of the characters a passwd line or a path uses
 * as a separator, no leading '-' or '.'.
 */
bool
local_name_safe(const char *name)
{
	size_t  n = strlen(name);

	if (n == 0 || n > LOCAL_NAME_MAX || name[0] == '-' || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) name[i];

		if (c <= ' ' || c >= 0x7f || strchr("/:,\"\\|;&$`'<>(){}*?![]~#", c))
			return false;
	}
	return true;
}

/*
 * Expansion.
 */

/*
 * 2026-11 review: :include: files reached through a root-owned alias
 * table were opened as root.  A user who controls a directory on the
 * way to such a file (":include:/home/alice/lists/x", lists -> /root)
 * made local read a root-only file, whose lines came back to the
 * sender in the bounce ("bad address syntax: ...").  Every :include:
 * is now opened with the rights its commands and files would get
 * (default_privs for a root-owned table), as Postfix does.
 */
struct rights {
	const struct local_user *user;	/* who files and commands run as,
					 * and who opens :include: files */
	const struct local_user *foreign;	/* the owner of an :include:
						 * file on the way that is
						 * neither user nor root */
	const char *foreign_path;	/* that file */
};

struct xstate {
	const struct local_expand_ops *ops;
	void   *ctx;
	const struct local_expand_params *p;
	struct local_expansion *out;
	char  **aliases;		/* alias names being expanded */
	size_t	naliases;
	char  **forwards;		/* users whose .forward is being expanded */
	size_t	nforwards;
	struct buf value;		/* lookup results */
};

static void xfail(struct xstate *x, int status, const char *dsn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* xfail - record a failure; a temporary one wins over a permanent one */
static void
xfail(struct xstate *x, int status, const char *dsn, const char *fmt, ...)
{
	struct local_expansion *o = x->out;
	va_list ap;

	if (o->status == 4 || (o->status == 5 && status == 5))
		return;
	o->status = status;
	(void) str_copy(o->dsn, sizeof(o->dsn), dsn);
	va_start(ap, fmt);
	(void) vsnprintf(o->text, sizeof(o->text), fmt, ap);
	va_end(ap);
}

/* seen - duplicate filter: true when key was seen (and remembers it) */
static bool
seen(struct xstate *x, const char *key)
{
	struct local_expansion *o = x->out;

	for (size_t i = 0; i < o->nseen; i++)
		if (str_eq(o->seen[i], key))
			return true;
	if (o->nseen < (size_t) x->p->dup_limit) {
		o->seen = xreallocarray(o->seen, o->nseen + 1, sizeof(*o->seen));
		o->seen[o->nseen++] = xstrdup(key);
	}
	return false;
}

static void
add_dest(struct xstate *x, enum local_dest_kind kind, const char *target,
	 const char *address, const struct local_user *u, enum local_class class)
{
	struct local_expansion *o = x->out;
	struct local_dest *d;

	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 4;
		o->dests = xreallocarray(o->dests, o->cap, sizeof(*o->dests));
	}
	d = &o->dests[o->n++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->target = xstrdup(target);
	d->address = xstrdup(address);
	if (u != NULL)
		d->user = *u;
	d->class = class;
}

static bool
on_stack(char **stack, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq(stack[i], name))
			return true;
	return false;
}

static int expand_list(struct xstate *x, const char *text, size_t len,
		       enum local_class class, struct rights r,
		       const char *address, int depth);
static void expand_address(struct xstate *x, const char *address, bool nofwd,
			   enum local_class class, int depth);

struct listctx {
	struct xstate *x;
	enum local_class class;
	struct rights r;
	const char *address;		/* the address being expanded */
	int	depth;
};

/*
 * foreign_refused - a file or command named in an :include: file that
 * belongs to neither the user it would run as nor root
 */
static void
foreign_refused(struct xstate *x, const struct listctx *lc, const char *what,
		const char *text)
{
	xfail(x, 5, "5.7.1", "mail to %s is refused: %s \"%.200s\" is named in "
	      ":include: file %s, which belongs to %s, not to %s (who would run "
	      "it) or root; delivery of <%s>", what, what, text, lc->r.foreign_path,
	      lc->r.foreign->name, lc->r.user->name, lc->address);
}

/* one_target - a parsed destination of an alias, .forward or include */
static int
one_target(void *vctx, enum local_target_kind kind, const char *text)
{
	struct listctx *lc = vctx;
	struct xstate *x = lc->x;
	const struct local_expand_params *p = x->p;
	char    key[KEY_MAX];

	if (x->out->status == 4)
		return -1;
	if (++x->out->expansions > p->expansion_limit) {
		xfail(x, 5, "5.3.0", "too many destinations for <%s> (expansion_limit=%d)",
		      lc->address, p->expansion_limit);
		return -1;
	}
	switch (kind) {
	case LT_ADDRESS:
		expand_address(x, text, false, lc->class, lc->depth);
		return 0;
	case LT_USER_NOFWD:
		expand_address(x, text, true, lc->class, lc->depth);
		return 0;
	case LT_FILE:
		if (lc->r.foreign != NULL) {
			foreign_refused(x, lc, "file", text);
			return 0;
		}
		if (!local_class_allowed(p->files_allowed, lc->class)) {
			xfail(x, 5, "5.7.1", "mail to file is restricted: %s is in %s "
			      "delivery of <%s> (allow_mail_to_files)",
			      text, class_name(lc->class), lc->address);
			return 0;
		}
		(void) str_fmt(key, sizeof(key), "f:%ld:%s", (long) lc->r.user->uid, text);
		if (!seen(x, key))
			add_dest(x, LD_FILE, text, lc->address, lc->r.user, lc->class);
		return 0;
	case LT_COMMAND:
		if (lc->r.foreign != NULL) {
			foreign_refused(x, lc, "command", text);
			return 0;
		}
		if (!local_class_allowed(p->commands_allowed, lc->class)) {
			xfail(x, 5, "5.7.1", "mail to command is restricted: command in "
			      "%s delivery of <%s> (allow_mail_to_commands)",
			      class_name(lc->class), lc->address);
			return 0;
		}
		(void) str_fmt(key, sizeof(key), "c:%ld:%.1000s", (long) lc->r.user->uid, text);
		if (!seen(x, key))
			add_dest(x, LD_COMMAND, text, lc->address, lc->r.user, lc->class);
		return 0;
	case LT_INCLUDE:{
			struct local_user owner;
			struct rights nr;
			bool    owner_root = false, perm = false;
			char    why[LOCAL_TEXT_MAX];
			struct buf content;
			int     r;

			if (lc->depth + 1 > p->recursion_limit) {
				xfail(x, 5, "5.4.6", "mail forwarding loop for <%s>: "
				      "local_recursion_limit (%d) exceeded",
				      lc->address, p->recursion_limit);
				return 0;
			}
			(void) str_fmt(key, sizeof(key), "i:%.1000s", text);
			if (seen(x, key))
				return 0;
			buf_init(&content, LOCAL_FILE_MAX);
			why[0] = '\0';
			r = x->ops->include(x->ctx, text, lc->r.user,
					    &content, &owner, &owner_root, &perm,
					    why, sizeof(why));
			if (r < 0) {
				buf_free(&content);
				xfail(x, perm ? 5 : 4, perm ? "5.3.0" : "4.3.0",
				      ":include: %s: %s", text, why);
				return perm ? 0 : -1;
			}
			/*
			 * The file's owner never becomes who runs: a file of
			 * the runner's or root's keeps the runner; anyone
			 * else's may name addresses only (foreign_refused()).
			 */
			nr = lc->r;
			if (nr.foreign == NULL && !owner_root && owner.uid != nr.user->uid) {
				nr.foreign = &owner;
				nr.foreign_path = text;
			}
			(void) expand_list(x, content.data, content.len, LC_INCLUDE,
					   nr, lc->address, lc->depth + 1);
			buf_free(&content);
			return x->out->status == 4 ? -1 : 0;
		}
	}
	return 0;
}

/* expand_list - the destinations of an alias value or a file */
static int
expand_list(struct xstate *x, const char *text, size_t len,
	    enum local_class class, struct rights r, const char *address,
	    int depth)
{
	struct listctx lc = {x, class, r, address, depth};
	char    why[LOCAL_TEXT_MAX];

	why[0] = '\0';
	if (local_targets_parse(text, len, (size_t) x->p->expansion_limit + 1,
				one_target, &lc, why, sizeof(why)) < 0
	    && why[0] != '\0') {
		xfail(x, 5, "5.3.0", "bad %s entry for <%s>: %s", class_name(class),
		      address, why);
		return -1;
	}
	return 0;
}

/* count_targets - how many destinations text names (0 on a syntax error) */
static int
count_one(void *ctx, enum local_target_kind kind, const char *text)
{
	(void) kind;
	(void) text;
	(*(size_t *) ctx)++;
	return 0;
}

static void
expand_address(struct xstate *x, const char *address, bool nofwd,
	       enum local_class class, int depth)
{
	const struct local_expand_params *p = x->p;
	char    local[ADDR_LOCAL_MAX * 4 + 1], domain[ADDR_DOMAIN_MAX + 1];
	char    user[sizeof(local)], key[KEY_MAX];
	char    why[LOCAL_TEXT_MAX];
	struct local_user u, owner;
	bool    owner_root = false;
	char   *ext;
	int     r;

	if (depth > p->recursion_limit) {
		xfail(x, 5, "5.4.6", "mail forwarding loop for <%s>: "
		      "local_recursion_limit (%d) exceeded", address, p->recursion_limit);
		return;
	}
	if (strlen(address) > ADDR_PATH_MAX
	    || addr_split(address, local, sizeof(local), domain, sizeof(domain)) < 0
	    || local[0] == '\0' || str_has_ctl(local, strlen(local))) {
		xfail(x, 5, "5.1.3", "bad address syntax: \"%.100s\" in %s expansion",
		      address, class_name(class));
		return;
	}
	str_lower(domain);

	/* Below the top level, another domain is a forward. */
	if (class != LC_ADDRESS && !nofwd && domain[0] != '\0'
	    && !x->ops->is_local_domain(x->ctx, domain)) {
		struct addr a;
		struct addr_error e;
		struct buf path;

		buf_init(&path, ADDR_PATH_MAX + 3);
		(void) buf_appendf(&path, "<%s>", address);
		if (addr_parse_path(path.data, path.len, ADDR_SMTPUTF8, &a, NULL, &e) < 0) {
			buf_free(&path);
			xfail(x, 5, "5.1.3", "bad address syntax: \"%.100s\": %s",
			      address, e.text);
			return;
		}
		buf_free(&path);
		(void) str_fmt(key, sizeof(key), "w:%s", a.addr);
		if (!seen(x, key))
			add_dest(x, LD_FORWARD, a.addr, a.addr, NULL, class);
		return;
	}

	str_lower(local);
	(void) str_copy(user, sizeof(user), local);
	ext = addr_strip_extension(user, p->delimiters, NULL);

	/* Aliases: the whole local part, then without the extension. */
	if (!nofwd) {
		const char *keys[2] = {local, ext ? user : NULL};

		for (int k = 0; k < 2 && keys[k] != NULL; k++) {
			if (on_stack(x->aliases, x->naliases, keys[k]))
				break;		/* an alias reaching itself: the user */
			why[0] = '\0';
			buf_reset(&x->value);
			owner_root = false;
			r = x->ops->alias(x->ctx, keys[k], &x->value, &owner, &owner_root,
					  why, sizeof(why));
			if (r < 0) {
				xfail(x, 4, "4.3.0", "alias lookup of \"%s\" failed: %s", keys[k], why);
				return;
			}
			if (r == 1) {
				struct rights rr = {0};
				char   *value = xmemdup(x->value.data, x->value.len);
				size_t  vlen = x->value.len, n = 0;

				if (local_targets_parse(value, vlen, (size_t) p->expansion_limit + 1,
							count_one, &n, NULL, 0) == 0 && n == 0) {
					free(value);
					xfail(x, 5, "5.3.0", "alias \"%s\" has no destinations", keys[k]);
					return;
				}
				rr.user = owner_root ? &p->default_privs : &owner;
				x->aliases = xreallocarray(x->aliases, x->naliases + 1, sizeof(char *));
				x->aliases[x->naliases++] = xstrdup(keys[k]);
				(void) expand_list(x, value, vlen, LC_ALIAS, rr, address, depth + 1);
				free(x->aliases[--x->naliases]);
				free(value);
				return;
			}
		}
	}

	/* The user. */
	if (!local_name_safe(user)) {
		xfail(x, 5, "5.1.1", "unknown user: \"%.64s\"", user);
		return;
	}
	why[0] = '\0';
	r = x->ops->user(x->ctx, user, &u, why, sizeof(why));
	if (r < 0) {
		xfail(x, 4, "4.3.0", "user lookup of \"%s\" failed: %s", user, why);
		return;
	}
	if (r == 0) {
		xfail(x, 5, "5.1.1", "unknown user: \"%s\"", user);
		return;
	}

	/* Its forward file. */
	if (!nofwd && !on_stack(x->forwards, x->nforwards, user)) {
		struct buf content;
		size_t  n = 0;

		buf_init(&content, LOCAL_FILE_MAX);
		why[0] = '\0';
		r = x->ops->forward(x->ctx, &u, &content, why, sizeof(why));
		if (r < 0) {
			buf_free(&content);
			xfail(x, 4, "4.3.0", "cannot read the forward file of \"%s\": %s", user, why);
			return;
		}
		/* An empty .forward (comments only) is no .forward. */
		if (r == 1 && local_targets_parse(content.data, content.len,
						  (size_t) p->expansion_limit + 1, count_one,
						  &n, NULL, 0) == 0 && n == 0)
			r = 0;
		if (r == 1) {
			struct rights rr = {0};

			if (depth + 1 > p->recursion_limit) {
				buf_free(&content);
				xfail(x, 5, "5.4.6", "mail forwarding loop for <%s>: "
				      "local_recursion_limit (%d) exceeded", address,
				      p->recursion_limit);
				return;
			}
			rr.user = u.uid == 0 ? &p->default_privs : &u;
			x->forwards = xreallocarray(x->forwards, x->nforwards + 1, sizeof(char *));
			x->forwards[x->nforwards++] = xstrdup(user);
			(void) expand_list(x, content.data, content.len, LC_FORWARD, rr,
					   address, depth + 1);
			free(x->forwards[--x->nforwards]);
			buf_free(&content);
			return;
		}
		buf_free(&content);
	}

	/* The mailbox. */
	(void) str_fmt(key, sizeof(key), "m:%s", u.name);
	if (!seen(x, key))
		add_dest(x, LD_MAILBOX, u.name, address, &u, class);
}

int
local_expand(const char *rcpt, const struct local_expand_ops *ops, void *ctx,
	     const struct local_expand_params *p, struct local_expansion *out)
{
	struct xstate x;

	memset(out, 0, sizeof(*out));
	memset(&x, 0, sizeof(x));
	x.ops = ops;
	x.ctx = ctx;
	x.p = p;
	x.out = out;
	buf_init(&x.value, TABLE_VALUE_MAX);
	expand_address(&x, rcpt, false, LC_ADDRESS, 0);
	buf_free(&x.value);
	for (size_t i = 0; i < x.naliases; i++)
		free(x.aliases[i]);
	free(x.aliases);
	for (size_t i = 0; i < x.nforwards; i++)
		free(x.forwards[i]);
	free(x.forwards);
	if (out->status == 4) {
		/* Tried again as a whole: deliver nothing now. */
		for (size_t i = 0; i < out->n; i++) {
			free(out->dests[i].target);
			free(out->dests[i].address);
		}
		out->n = 0;
	}
	return out->status == 0 ? 0 : -1;
}

void
local_expansion_free(struct local_expansion *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->dests[i].target);
		free(e->dests[i].address);
	}
	free(e->dests);
	for (size_t i = 0; i < e->nseen; i++)
		free(e->seen[i]);
	free(e->seen);
	memset(e, 0, sizeof(*e));
}
