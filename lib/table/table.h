/*
 * NAME
 *	table - lookup tables: hash:, btree:, static:, inline:, unix:,
 *	regexp:, pcre:, cidr:, texthash:, socketmap:
 * SYNOPSIS
 *	#include "table.h"
 *
 *	char err[TABLE_ERROR_MAX];
 *	struct buf val;
 *	struct table *t = table_open("hash:/etc/postern/aliases", 0,
 *				     err, sizeof(err));
 *	if (t == NULL)
 *		log_fatal("%s", err);
 *	buf_init(&val, TABLE_VALUE_MAX);
 *	switch (table_get(t, "postmaster", &val)) {
 *	case 1:  use(buf_str(&val)); break;
 *	case 0:  not_found(); break;
 *	default: defer(t->error); break;	// temporary failure
 *	}
 *	if (table_changed(t) && table_reopen(t) < 0)
 *		log_warn("%s", t->error);	// the old table stays open
 *	table_close(t);
 *
 *	struct table_list *l = table_list_open(cfg->alias_maps, 0,
 *					       err, sizeof(err));
 *	r = table_list_get(l, key, &val, &which);	// first match wins
 *
 *	struct buf msg;
 *	buf_init(&msg, 64 * 1024);
 *	r = table_build("hash:/etc/postern/aliases", 1, 0, &msg);
 *	// r: TABLE_OK, TABLE_ETEMP, TABLE_EDATA, TABLE_EUSAGE, TABLE_ENOINPUT
 * DESCRIPTION
 *	A table maps a key to a string.  It is named by a spec
 *	"TYPE:NAME"; a spec without a type is refused with a message that
 *	says how to write it ("table 'foo' has no type: write hash:foo").
 *	Types:
 *
 *	hash:PATH, btree:PATH
 *		Berkeley DB 5.3 files PATH.db built by postmap/postalias
 *		(table_build() below) from the text file PATH.  Opened
 *		read-only.  Files built by Postfix's postmap/postalias
 *		can be read too: a key is looked up with and then
 *		without a terminating NUL byte, as Postfix does.
 *	static:VALUE, static:{VALUE}
 *		Every key maps to VALUE (the braces allow spaces and
 *		commas inside VALUE in a main.cf list).
 *	inline:{KEY=VALUE, KEY=VALUE, ...}
 *		A small table written in place, Postfix style.  Elements
 *		are separated by commas or white space; an element in
 *		braces, "{ key = a value, with commas }", may hold both,
 *		and white space around its '=' is dropped.
 *	unix:passwd.byname
 *		The user database (getpwnam_r()).  The value is the
 *		passwd(5) line "NAME:x:UID:GID:GECOS:HOME:SHELL" (the
 *		password field is always "x"), the form Postfix returns.
 *	unix:group.byname
 *		The group database (getgrnam_r()): "NAME:x:GID:MEMBER,...".
 *	regexp:PATH, pcre:PATH
 *		Rules "/pattern/flags result", tried in file order, the
 *		first match answers with $1 ... substituted (Postfix's
 *		regexp_table(5) and pcre_table(5): table_rules.h,
 *		table_regexp.c, table_pcre.c).  Keys are matched as
 *		given, up to TABLE_PATTERN_KEY_MAX bytes (header and body
 *		lines).  PCRE2 matches are bounded (TABLE_PCRE_*_LIMIT);
 *		a match past a bound is an error, not a miss.
 *	cidr:PATH
 *		Rules "network/prefix result" (or one address), tried in
 *		file order against a key that is an IPv4 or IPv6 address
 *		(Postfix's cidr_table(5): table_cidr.c); "!" and if/endif
 *		as in regexp:.
 *	texthash:PATH
 *		A postmap source file read whole at open, without a .db
 *		(table_texthash.c).
 *	socketmap:inet:HOST:PORT:NAME, socketmap:unix:PATH:NAME
 *		Sendmail's socket map protocol to a server (netstrings
 *		"NAME KEY" / "OK value", "NOTFOUND", "TEMP", "TIMEOUT",
 *		"PERM": table_socketmap.c), connections kept, each lookup
 *		bounded by TABLE_SOCKETMAP_TIMEOUT_MS; keys are
 *		lowercased.  The one remote type: table_get_async() runs
 *		it as an event.
 *
 *	Tables read whole at open (regexp, pcre, cidr, texthash, inline,
 *	static) cost no I/O per lookup.  A file table's changed file is
 *	noticed by table_changed(); a chrooted process that opened it
 *	before the chroot keeps what it read (postern reload).
 *
 *	table_open() opens a table; flags is 0 or TABLE_F_NOFOLD.  It
 *	returns NULL with a message in err (and errno set: ENOENT when
 *	the .db file does not exist, EINVAL for a bad spec) on failure.
 *
 *	table_get() looks key up: it returns 1 (found: value holds the
 *	result), 0 (not found) or -1 (error: t->error says what; the
 *	caller must treat this as a temporary failure, never as "not
 *	found").  The key is looked up as given and then, unless
 *	TABLE_F_NOFOLD was given to table_open() or the key has no
 *	upper-case ASCII letter, lowercased: tables are built with
 *	lowercased keys unless postmap -f was used, so both kinds are
 *	found.  A key longer than TABLE_KEY_MAX and a value longer than
 *	TABLE_VALUE_MAX (or than value->max) are errors.  value must
 *	have been buf_init()ed; it is changed only when 1 is returned.
 *
 *	table_get_async() is table_get() for an event loop: it answers 1,
 *	0 or -1 at once for a table that needs no I/O beyond its process,
 *	or TABLE_PENDING for a remote one (table_remote(): socketmap:),
 *	with *call set; done(ctx, r, why) then runs later from loop, with
 *	value filled when r is 1 (value must stay valid until then).
 *	table_call_cancel() abandons such a call (done never runs).
 *
 *	table_spec_whole() tells whether a spec's type is read whole at
 *	open (regexp, pcre, cidr, texthash, inline, static: a chrooted
 *	daemon opens such a table before its chroot and asks it itself);
 *	table_spec_fixed() whether its keys are fixed strings (all but
 *	regexp, pcre and cidr, which match patterns: callers that try
 *	parts of a key, such as parent domains, ask those tables the
 *	whole key only, as Postfix does).
 *
 *	table_changed() is true when the file behind the table was
 *	replaced or modified since it was opened (device, inode, size or
 *	modification time of PATH.db differ, or it is gone).  Tables
 *	without a file never change.  table_reopen() opens the table
 *	again; on failure it returns -1 with t->error set and keeps the
 *	old table in use, so a daemon goes on answering.
 *
 *	table_spec() is the spec the table was opened with.
 *	table_close() closes it (NULL is ignored).
 *
 *	table_list_open() opens each spec of a main.cf list value
 *	(separated by commas and/or white space; braces group, so
 *	"inline:{a=b, c=d}" is one spec).  An empty list gives a list
 *	with no tables.  table_list_get() asks each table in order and
 *	returns the first match (1), 0 when no table has the key, or -1
 *	as soon as one table fails (a later table must not answer for a
 *	failing earlier one); *which (when not NULL) receives the index
 *	of the table that answered or failed, and l->error the text.
 *	table_list_changed()/table_list_reopen() apply to every table.
 *	table_list_next() is the splitter of such lists (also of restriction
 *	lists): the length of the next item at *p, which *start points to,
 *	0 at the end, -1 for unbalanced braces; *p moves past it.
 *	table_list_check() checks a list without opening any file: each
 *	spec must have a type postern can open (tables without a file,
 *	static:, inline:, unix:, are opened and closed, so their text is
 *	checked whole); it returns 0, or -1 with the first problem in
 *	err.  `postern check` uses it, so a type postern cannot open is
 *	refused at check time rather than found at the first lookup.
 *	table_list_count()/table_list_at() give access to the tables.
 *
 *	table_build() builds PATH.db for a hash: or btree: spec from the
 *	text file PATH.  Source format:
 *	  - postmap (alias_mode 0): "KEY<white space>VALUE";
 *	  - postalias/aliases (alias_mode 1): "NAME: VALUE", NAME may be
 *	    quoted ("a b": ...) and is stored unquoted;
 *	  - a line that starts with white space continues the previous
 *	    one (joined with one space); lines whose first non-space
 *	    character is '#', and blank lines, are skipped;
 *	  - a logical line holds at most TABLE_LINE_MAX bytes, a key at
 *	    most TABLE_KEY_MAX; NUL bytes are not allowed; a CR before
 *	    the LF is dropped; keys are lowercased unless TABLE_F_NOFOLD.
 *	A duplicate key keeps the first value and logs a warning naming
 *	the file and the line of the duplicate (Postfix does the same).
 *	Any malformed line makes the build fail: the problems (at most
 *	TABLE_BUILD_MAX_ERRORS) are appended to err, one per line, as
 *	"FILE, line N: what is wrong", and no table is installed.  The
 *	database is written to a temporary file in the same directory,
 *	synced, renamed over PATH.db and the directory is synced: a
 *	reader sees the old table or the new one, never a part.  Keys
 *	and values are stored with a terminating NUL byte, as Postfix
 *	stores them on Linux, unless TABLE_F_NONUL.
 *
 *	Owner and mode: the .db file gets the permission bits of the
 *	source (without execute and set-id bits), so a private source
 *	gives a private table.  When run as root on a source owned by
 *	another user, the build runs with that user's effective uid and
 *	gid (and only that group) and the .db belongs to that user, as
 *	Postfix's postmap does: root does not create or follow names in
 *	a directory on behalf of a file that a user controls.  A
 *	root-owned source gives a .db owned by root and the source's
 *	group.
 *
 *	table_build() returns TABLE_OK; TABLE_EDATA (malformed source:
 *	postmap exits 65); TABLE_EUSAGE (no type, or a type that cannot
 *	be built: 64); TABLE_ENOINPUT (the source cannot be opened: 66);
 *	TABLE_ETEMP (anything else: a write error, a full disk: 75).
 * SECURITY
 *	Berkeley DB reads a DB_CONFIG file from its environment's home
 *	directory, and with no environment from the current directory
 *	(CVE-2017-10140: a setgid program would obey a DB_CONFIG planted
 *	in the caller's working directory).  Every database here is
 *	opened inside an explicit private environment whose home is "/"
 *	(where only root can put a DB_CONFIG), with an absolute path, and
 *	without DB_USE_ENVIRON, so neither the working directory nor
 *	DB_HOME/TMPDIR in the environment has any effect.
 *
 *	Values come from files that an administrator wrote, but a table
 *	may be large or damaged: every key and value is bounded, and a
 *	value with a NUL byte inside is an error, never truncated.
 * BUGS
 *	Berkeley DB handles must not be used on both sides of a fork():
 *	a child process that needs a table opens its own.  Key folding
 *	is ASCII only.
 */
#ifndef POSTERN_TABLE_H
#define POSTERN_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define TABLE_KEY_MAX		1024		/* bytes in a key */
#define TABLE_PATTERN_KEY_MAX	(1024 * 1024)	/* ... of regexp:, pcre: */
#define TABLE_PCRE_MATCH_LIMIT	1000000		/* PCRE2 match() calls per match */
#define TABLE_PCRE_DEPTH_LIMIT	10000		/* PCRE2 backtracking depth */
#define TABLE_PCRE_HEAP_LIMIT_KB 20000		/* PCRE2 heap per match, KiB */
#define TABLE_SOCKETMAP_TIMEOUT_MS 10000	/* a socketmap: lookup */
#define TABLE_VALUE_MAX		(64 * 1024)	/* bytes in a value */
#define TABLE_LINE_MAX		(64 * 1024)	/* bytes in a logical source line */
#define TABLE_ERROR_MAX		512		/* bytes in t->error */
#define TABLE_LIST_MAX		64		/* tables in one list */
#define TABLE_BUILD_MAX_ERRORS	10		/* problems reported per build */

/* flags */
#define TABLE_F_NOFOLD		0x1	/* keys are case-sensitive (postmap -f) */
#define TABLE_F_NONUL		0x2	/* build: no NUL after keys and values (-n) */

/* table_build() results */
#define TABLE_OK		0
#define TABLE_ETEMP		(-1)
#define TABLE_EDATA		(-2)
#define TABLE_EUSAGE		(-3)
#define TABLE_ENOINPUT		(-4)

struct table_backend;
struct table_call;
struct ev_loop;

/* An asynchronous lookup's end: r 1 found (value filled), 0, -1 (why). */
typedef void table_done_fn(void *ctx, int r, const char *why);

#define TABLE_PENDING		2	/* table_get_async(): done() will say */

/* Callers read error; the other fields belong to lib/table/table*.c. */
struct table {
	char	error[TABLE_ERROR_MAX];	/* why the last call failed */
	char   *spec;			/* "type:name" as given */
	char   *type;			/* "hash", "btree", ... */
	char   *name;			/* text after the first ':' */
	unsigned flags;
	const struct table_backend *backend;
	void   *state;			/* the backend's */
};

struct table_list {
	char	error[TABLE_ERROR_MAX];
	struct table **tables;
	size_t	count;
};

struct table *table_open(const char *spec, unsigned flags, char *err,
			 size_t errlen);
int	table_get(struct table *t, const char *key, struct buf *value);
int	table_get_async(struct table *t, const char *key, struct buf *value,
			struct ev_loop *loop, table_done_fn *done, void *ctx,
			struct table_call **call);
void	table_call_cancel(struct table *t, struct table_call *c);
bool	table_remote(const struct table *t);
bool	table_spec_whole(const char *spec);
bool	table_spec_fixed(const char *spec);
bool	table_changed(struct table *t);
int	table_reopen(struct table *t);
void	table_close(struct table *t);
const char *table_spec(const struct table *t);

int	table_list_check(const char *list_value, char *err, size_t errlen);
struct table_list *table_list_open(const char *list_value, unsigned flags,
				   char *err, size_t errlen);
int	table_list_get(struct table_list *l, const char *key,
		       struct buf *value, size_t *which);
bool	table_list_changed(struct table_list *l);
int	table_list_reopen(struct table_list *l);
size_t	table_list_count(const struct table_list *l);
long	table_list_next(const char **p, const char **start);
struct table *table_list_at(struct table_list *l, size_t i);
void	table_list_close(struct table_list *l);

int	table_build(const char *spec, int alias_mode, unsigned flags,
		    struct buf *err);

#endif
