/*
 * NAME
 *	table_cmd - the postmap and postalias commands
 * SYNOPSIS
 *	#include "table_cmd.h"
 *
 *	int main(int argc, char **argv)
 *	{
 *		return table_cmd_main(argc, argv, 0);	// postmap
 *	}
 * DESCRIPTION
 *	table_cmd_main() is all of postmap (alias_mode 0) and postalias
 *	(alias_mode 1); the two differ only in the source format they
 *	build from (see table.h and the manual comments of
 *	cmd/postmap.c and cmd/postalias.c, which document the options
 *	and exit codes).  It returns the exit status.
 */
#ifndef POSTERN_TABLE_CMD_H
#define POSTERN_TABLE_CMD_H

int	table_cmd_main(int argc, char **argv, int alias_mode);

#endif
