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
 *	(what to do)".  An unknown parameter name is not an error: it is
 *	logged with log_warn() naming the file and line.
 *
 *	config_install() makes p the process's cfg (see params.h).
 *	config_free() releases a set that is not installed.
 *	config_value_string() formats the current value of a parameter of
 *	p (for `postern check` and postconf-like listings) into out.
 *
 *	config_list_split() splits a list value (comma and/or white space
 *	separated, as Postfix lists are) into at most max items stored in
 *	a new array of xstrdup'd strings; returns the count, or -1 if
 *	there are more than max.  config_list_free() frees it.
 *	config_list_contains() tests membership, ASCII case-insensitive.
 */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "params.h"

struct params *config_load(const char *config_dir, const char *const *overrides,
			   size_t n_overrides, struct buf *err);
void	config_install(struct params *p);
void	config_free(struct params *p);
int	config_value_string(const struct params *p, const struct param_info *pi,
			    struct buf *out);
int	config_list_split(const char *list, size_t max, char ***items);
void	config_list_free(char **items, int n);
bool	config_list_contains(const char *list, const char *item);

#endif
