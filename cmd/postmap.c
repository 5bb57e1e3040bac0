/*
 * NAME
 *	postmap - build or query a lookup table
 * SYNOPSIS
 *	postmap [-fNnv] [-c config_dir] type:file ...
 *	postmap [-fNnv] [-c config_dir] -q key type:file ...
 *	postmap [-fNnv] [-c config_dir] -q - type:file ... < keys
 * DESCRIPTION
 *	Without -q, postmap builds each table: for hash:FILE and
 *	btree:FILE it reads the text file FILE and writes the Berkeley DB
 *	file FILE.db.  Each line of FILE is
 *
 *		key	value
 *
 *	(the key ends at the first white space; the value is the rest of
 *	the line).  A line that starts with white space continues the
 *	previous one; blank lines and lines whose first non-space
 *	character is '#' are ignored.  Keys are stored in lower case
 *	unless -f is given, and lookups of a key with capitals also try
 *	it in lower case.  When a key appears twice, the first value is
 *	kept and a warning names the file and line of the second.
 *
 *	A table is built completely or not at all: FILE.db is written
 *	under a temporary name in the same directory, synced and renamed
 *	into place, so programs reading the table see the old one or the
 *	new one, never a part.  A malformed line leaves FILE.db as it was
 *	and is reported as "FILE, line N: what is wrong".  The tables are
 *	built in the order given; the first one that fails ends the run.
 *
 *	With -q key, postmap looks key up in each table in turn and
 *	prints the value of the first match.  With -q -, it reads keys
 *	from standard input, one per line, and prints "key<TAB>value" for
 *	each key found.
 *
 *	A table must be named with its type (hash:/etc/postern/transport,
 *	not /etc/postern/transport): a name without a type is an error
 *	that says so.  Types: hash, btree (built and queried), static,
 *	inline, unix (queried only).
 * OPTIONS
 *	-c dir	read dir/main.cf (for syslog_name; it is checked, and a bad
 *		main.cf is an error).  postmap needs no configuration
 *		without -c.
 *	-f	do not lowercase keys when building, and look keys up
 *		exactly as given.
 *	-N	store a NUL byte after each key and value (the default,
 *		as Postfix does on Linux; accepted for compatibility).
 *	-n	store keys and values without the NUL byte.
 *	-q key	query instead of building; "-" reads keys from stdin.
 *	-v	say what was built.
 * EXIT STATUS
 *	0 success (for -q: found; for -q -: at least one key found);
 *	1 not found; 64 bad usage, or a table name without a type;
 *	65 malformed source file; 66 a source file or table that cannot
 *	be opened; 74 output error; 75 temporary failure (a full disk,
 *	a lookup error); 78 bad main.cf.
 * SECURITY
 *	postmap is not set-uid or set-gid.  When root builds a table
 *	whose source file belongs to another user, the build runs with
 *	that user's effective ids, and the table belongs to that user.
 *	The table gets the permission bits of its source file.  No
 *	Berkeley DB DB_CONFIG file is read from the current directory.
 * SEE ALSO
 *	postalias(1), lib/table/table.h
 */
#include "table_cmd.h"

int
main(int argc, char **argv)
{
	return table_cmd_main(argc, argv, 0);
}
