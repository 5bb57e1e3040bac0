/*
 * NAME
 *	config - main.cf: parsing, $name expansion, typed values
 * SYNOPSIS
 *	#include "config.h"
 *
 *	struct buf err;
 *	struct params *p;
 *	buf_init(&err, 64 * 1024);
 *	p = config_load("/etc/postern", NULL, 0, &err);
 *	if (p == NULL)
 *		log_fatal("%s", buf_str(&err));	// every problem, one per line
 *	config_install(p);			// cfg = p
 * DESCRIPTION
 *	config_load() reads DIR/main.cf:
 *	  - "name = value" lines; white space around '=' and at the end of
 *	    the value is dropped; a line that starts with white space
 *	    continues the previous one (joined with one space); blank
 *	    lines and lines whose first non-space character is '#' are
 *	    ignored; a later setting of a name overrides an earlier one.
 *	  - $name, ${name} and $(name) expand to another parameter's value
 *	    (its main.cf value, else its default); ${name?text} gives text
 *	    when name is non-empty, ${name:text} when it is empty; $$ is a
 *	    literal $.  An unknown name expands to the empty string with
 *	    a warning.  A reference loop is an error naming the chain.
 *	  - each value is converted by its type (params.def) and checked
 *	    against its bounds.
 *	The config_directory parameter is set to DIR.  overrides[] are
 *	"name=value" strings (master.cf -o options, command line -o)
 *	applied after main.cf.  A missing main.cf is an error; so is a
 *	line without '=' or a bad value.
 *
 *	On any error config_load() returns NULL and appends every problem
 *	found to err, one per line, as "FILE, line N: what is wrong
 *	(what to do)".  An unknown parameter name is not an error (see
 *	p->unused below).
 *
 *	config_install() makes p the process's cfg (see params.h).
 *	config_free() releases a set that is not installed.
 *	config_value_string() formats the current value of a parameter of
 *	p (for `postern check` and postconf-like listings) into out: it
 *	appends the text, in a form main.cf accepts (times in seconds
 *	with an "s", sizes in bytes, booleans as yes or no), and returns
 *	0, or -1 when out has no room (out is then unchanged).
 *
 *	config_list_split() splits a list value (comma and/or white space
 *	separated, as Postfix lists are) into at most max items stored in
 *	a new array of xstrdup'd strings; returns the count, or -1 if
 *	there are more than max.  config_list_free() frees it.
 *	config_list_contains() tests membership, ASCII case-insensitive.
 *
 *	Two parameters are stored as written, without expansion:
 *	forward_path and mailbox_command hold $user, $home, $extension
 *	... that local(8) expands per delivery, so config_load() cannot
 *	expand them (their $name references would all be unknown here).
 *	config_install(NULL) clears cfg (for tests).
 *
 *	Defaults that start with '@' are computed at load time:
 *	"@hostname" is the host's fully-qualified name (gethostname(),
 *	then getaddrinfo(AI_CANONNAME) when that name has no dot, else the
 *	bare name); "@domain" is myhostname without its first label, or
 *	"localdomain" when it has one label only.
 *
 *	For mastercf.c (and other readers of configuration text):
 *
 *	config_check_value() checks value against pi's type and bounds;
 *	it returns 0, or -1 with a reason and what to do in why[size].
 *	A value holding '$' passes: it can only be checked after
 *	expansion, which config_load() does in the process that uses it.
 *
 *	config_file_open() reads PATH (a regular file, at most max_size
 *	bytes); config_file_next() returns its next logical line (1, with
 *	the text in f->line and its first physical line number in *line),
 *	or 0 at the end.  It applies the continuation, blank line and
 *	comment rules above; a logical line longer than max_line bytes or
 *	holding a NUL byte is skipped with a problem appended to err (and
 *	counted in f->errors).  config_file_close() releases f.  Both
 *	functions append "PATH: problem" or "PATH, line N: problem" lines.
 *
 *	config_file_open_fd() does the same for text read (with pread, so a
 *	shared descriptor's offset does not matter) from fd; path is only
 *	used in messages.
 *
 *	Snapshots: config_snapshot() copies DIR/main.cf into a sealed,
 *	read-only memory file and returns its descriptor (-1 with a
 *	problem in err).  config_load_fd() is config_load() reading main.cf
 *	from such a descriptor instead of the file.  The master validates
 *	a snapshot and hands the same descriptor to every child of that
 *	configuration generation, so a child started later never reads an
 *	edited, unchecked main.cf: a broken main.cf on disk cannot affect
 *	the running suite.
 *
 *	config_problem() appends one formatted line and a newline to err,
 *	or nothing when the whole line does not fit.
 *
 *	config_peek() appends the expanded value of one parameter to
 *	value, reading DIR/main.cf as config_load() does but caring only
 *	about what that value needs: problems elsewhere in main.cf are
 *	not reported (the value is not converted or checked either).  It
 *	returns 0, or -1 with the problem in err.  `postern stop`, abort
 *	and status use it to find a running instance (data_directory)
 *	after main.cf has been broken; postconf -x uses it for values as
 *	Postfix shows them (expanded, not converted).  config_peek_fd()
 *	reads main.cf from src_fd instead (-1: the file).
 *
 *	config_unused_why() says, for a name params.def does not have,
 *	what is wrong with it by its class (param_class.h): "X is not
 *	supported yet (TLS): ...", "X is ignored (...)" or "unknown
 *	parameter "X" (check the name)"; shown is the text to name it by
 *	(the name, or "main.cf, line 3: name").  The text lives in a
 *	static buffer until the next call.
 *
 *	Values with a meaning beyond their type: myorigin that starts
 *	with '/' is the first line of that file (Debian's /etc/mailname),
 *	read when the configuration is loaded; myorigin must then be a
 *	domain name, or loading fails (so `postern check` fails, the
 *	master does not start, and sendmail exits EX_CONFIG instead of
 *	queueing mail with an impossible sender).
 *
 *	Per-transport names (TRANSPORT_destination_concurrency_limit and
 *	the other families of params.h) are checked like their family's
 *	fallback parameter, with $name expansion, and kept in
 *	p->per_transport (read with param_transport_int() or
 *	param_transport_str()); a bad value is an error naming the
 *	setting.
 *
 *	A main.cf name params.def does not have is not an error here: it
 *	is recorded in p->unused (params.h) for `postern check`, and no
 *	program warns about it on every run.  An override (-o) with such
 *	a name is an error unless its class is "ignored".
 * BOUNDS
 *	CONFIG_FILE_MAX bytes of main.cf; logical lines of CONFIG_LINE_MAX
 *	bytes after joining continuations; CONFIG_SETTINGS_MAX settings
 *	(main.cf lines plus overrides); expansion nested CONFIG_DEPTH_MAX
 *	deep; CONFIG_VALUE_MAX bytes per value after expansion.
 */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "params.h"

#define CONFIG_FILE_MAX		(16 * 1024 * 1024)
#define CONFIG_LINE_MAX		(64 * 1024)
#define CONFIG_VALUE_MAX	(64 * 1024)
#define CONFIG_SETTINGS_MAX	10000
#define CONFIG_DEPTH_MAX	100

struct params *config_load(const char *config_dir, const char *const *overrides,
			   size_t n_overrides, struct buf *err);
void	config_install(struct params *p);
void	config_free(struct params *p);
int	config_value_string(const struct params *p, const struct param_info *pi,
			    struct buf *out);
int	config_list_split(const char *list, size_t max, char ***items);
void	config_list_free(char **items, int n);
bool	config_list_contains(const char *list, const char *item);

int	config_check_value(const struct param_info *pi, const char *value,
			   char *why, size_t size);
const char *config_unused_why(const char *name, const char *shown);
int	config_peek(const char *config_dir, const char *name, struct buf *value,
		    struct buf *err);
int	config_peek_fd(const char *config_dir, int src_fd, const char *name,
		       struct buf *value, struct buf *err);

struct config_file {
	const char *path;
	char   *data;		/* the whole file, NUL-terminated */
	size_t	len;
	size_t	pos;		/* first byte not yet read */
	int	lineno;		/* physical lines read so far */
	struct buf line;	/* the current logical line */
	int	errors;		/* problems config_file_next() reported */
};

int	config_file_open_fd(struct config_file *f, const char *path, int fd,
			    size_t max_size, size_t max_line, struct buf *err);
int	config_snapshot(const char *config_dir, struct buf *err);
struct params *config_load_fd(const char *config_dir, int src_fd,
			      const char *const *overrides, size_t n_overrides,
			      struct buf *err);
int	config_file_open(struct config_file *f, const char *path,
			 size_t max_size, size_t max_line, struct buf *err);
int	config_file_next(struct config_file *f, int *line, struct buf *err);
void	config_file_close(struct config_file *f);
void	config_problem(struct buf *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
