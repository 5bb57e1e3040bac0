/*
 * NAME
 *	table_rules - rule files of the pattern tables (regexp:, pcre:,
 *	cidr:): reading, if/endif, result substitution, file changes
 * SYNOPSIS
 *	#include "table_rules.h"
 *
 *	struct table_rules *r = table_rules_read(t, true);   // delimited
 *	for (size_t i = 0; i < r->n; i++) ... r->rule[i] ...
 *	size_t i = 0;
 *	while (i < r->n) {
 *		bool m = match(&r->rule[i]);		// the caller's matcher
 *		i = table_rules_next(r, i, m, &hit);	// if/endif skipping
 *		if (hit) ... r->rule[i - 1] matched ...
 *	}
 *	table_rules_expand(t, result, subject, starts, ends, ngroups, value);
 *	table_rules_changed(r);
 *	table_rules_free(r);
 * DESCRIPTION
 *	The file formats of Postfix's regexp_table(5), pcre_table(5) and
 *	cidr_table(5), read whole at open:
 *
 *	  /pattern/flags result		a rule (delimited tables)
 *	  !/pattern/flags result	matches when the pattern does not
 *	  pattern result		a rule (cidr: an address or network)
 *	  if /pattern/flags		the rules up to the matching endif
 *	  if !/pattern/flags		apply only when the key (does not)
 *	  endif				match; if/endif nest
 *	  # comment, blank lines	skipped
 *	  a line starting with white space continues the previous one
 *
 *	In a delimited pattern the delimiter is the first character (any
 *	printable character but a letter, digit, white space, '!' or '#';
 *	'/' by convention); a backslash keeps the next character in the
 *	pattern (so "\/" does not end it).  Flags are letters right after
 *	the closing delimiter, checked by the table type.  The result is
 *	the rest of the line without surrounding white space; a rule
 *	without one is an error.  A file holds at most TABLE_RULES_MAX
 *	rules in TABLE_RULES_FILE_MAX bytes; a logical line is at most
 *	TABLE_LINE_MAX bytes.  Every problem is reported with the file
 *	name and line number in t->error, and the table does not open.
 *
 *	table_rules_next() steps through the rules in file order: given
 *	the index of the rule just tested and whether its pattern matched
 *	(the negation applied by the caller), it returns the index to test
 *	next and sets *hit when a result rule matched (the caller takes
 *	its result).  An if whose condition fails skips to its endif.
 *
 *	table_rules_expand() writes result into value with $1 ... $9,
 *	${n} and $(n) replaced by the substrings of subject that the
 *	groups captured (starts[n], ends[n]; a group that did not take
 *	part gives nothing) and $$ by '$'.  Group numbers are checked at
 *	open (table_rules_check_groups()): a number beyond the pattern's
 *	groups, or any substitution in a negated rule, is an error there.
 *
 *	table_rules_changed() is true when the file is not the one read
 *	(device, inode, size or modification time differ, or it is gone),
 *	so the lookup service reopens a changed table.
 * SECURITY
 *	The file is an administrator's; it is still read with bounds
 *	(size, line length, rule count, nesting depth TABLE_RULES_DEPTH).
 */
#ifndef POSTERN_TABLE_RULES_H
#define POSTERN_TABLE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "buf.h"
#include "table.h"

#define TABLE_RULES_MAX		100000
#define TABLE_RULES_FILE_MAX	(64 * 1024 * 1024)
#define TABLE_RULES_DEPTH	100

enum table_rule_op { TABLE_RULE, TABLE_RULE_IF, TABLE_RULE_ENDIF };

struct table_rule {
	enum table_rule_op op;
	unsigned long line;
	bool	negate;
	char   *pattern;		/* without delimiters */
	char	flags[16];		/* letters after the delimiter */
	char   *result;			/* TABLE_RULE only */
	size_t	endif;			/* TABLE_RULE_IF: index of its endif */
	void   *compiled;		/* the table type's */
	unsigned groups;		/* capturing groups in the pattern */
};

struct table_rules {
	struct table_rule *rule;
	size_t	n;
	char   *path;
	dev_t	dev;
	ino_t	ino;
	off_t	size;
	struct timespec mtime;
};

struct table_rules *table_rules_read(struct table *t, bool delimited);
size_t	table_rules_next(const struct table_rules *r, size_t i, bool matched,
			 bool *hit);
int	table_rules_check_groups(struct table *t, const struct table_rules *r,
				 const struct table_rule *rule);
int	table_rules_expand(struct table *t, const struct table_rule *rule,
			   const char *subject, const size_t *starts,
			   const size_t *ends, unsigned ngroups,
			   struct buf *value);
bool	table_rules_changed(const struct table_rules *r);
void	table_rules_free(struct table_rules *r, void (*free_compiled)(void *));

#define TABLE_RULES_NOGROUP	((size_t) -1)

#endif
