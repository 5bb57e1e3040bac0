/*
 * NAME
 *	postalias - build or query an alias table
 * SYNOPSIS
 *	postalias [-fNnv] [-c config_dir] type:file ...
 *	postalias [-fNnv] [-c config_dir] -q key type:file ...
 *	postalias [-fNnv] [-c config_dir] -q - type:file ... < keys
 * DESCRIPTION
 *	postalias is postmap(1) for the aliases(5) format.  Each entry of
 *	the source file is
 *
 *		name: value, value, ...
 *
 *	where a name that holds white space or special characters is
 *	quoted ("john smith": john) and is stored without the quotes.
 *	A line that starts with white space continues the previous one
 *	(the lines are joined with one space); blank lines and lines
 *	whose first non-space character is '#' are ignored.  Names are
 *	stored in lower case unless -f is given.  When a name appears
 *	twice, the first entry is kept and a warning names the file and
 *	line of the second.  The value is stored as written (without the
 *	white space around it); the local delivery agent parses it.
 *
 *	Building is atomic, as with postmap: aliases.db is replaced only
 *	by a complete new table, and a malformed line ("FILE, line N:
 *	...") leaves the old one in place.
 *
 *	With -q name, postalias prints the value for name from the first
 *	table that has it; -q - reads names from standard input and
 *	prints "name<TAB>value" lines.
 *
 *	A table must be named with its type (hash:/etc/postern/aliases):
 *	a name without a type is an error that says so.
 * OPTIONS
 *	As for postmap(1): -c dir, -f, -N, -n, -q key, -v.
 * EXIT STATUS
 *	0 success (for -q: found); 1 not found; 64 bad usage or a table
 *	name without a type; 65 malformed source file; 66 a source file
 *	or table that cannot be opened; 74 output error; 75 temporary
 *	failure; 78 bad main.cf.
 * SECURITY
 *	As for postmap(1): run by root on a file owned by another user,
 *	the build takes that user's effective ids.
 * SEE ALSO
 *	postmap(1), lib/table/table.h
 */
#include "table_cmd.h"

int
main(int argc, char **argv)
{
	return table_cmd_main(argc, argv, 1);
}
