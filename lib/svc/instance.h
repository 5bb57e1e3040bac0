/*
 * NAME
 *	instance - load and check a whole instance's configuration
 * SYNOPSIS
 *	#include "instance.h"
 *
 *	struct instance in;
 *	if (instance_load(dir, &in, &problems) < 0) ... every problem ...
 *	n = instance_check(&in, &problems);
 * DESCRIPTION
 *	instance_load() reads DIR/main.cf and DIR/master.cf; it returns -1
 *	with every problem appended to problems when either is bad.
 *	instance_load_fd() reads main.cf from a config_snapshot()
 *	descriptor instead (the master's way: see config.h).
 *	instance_check() then looks at what the files point to: the queue
 *	tree's owners and modes (qtree_check), that each master.cf command
 *	exists and is executable in daemon_directory, that
 *	command_directory/postdrop is set-group-id setgid_group (root,
 *	mode 2755), and that the important paths are absolute.  It appends one line per problem and
 *	returns their number.  `postern check` prints them; the master
 *	refuses to start while there are any.
 *	It also refuses what would make postern run other than the
 *	administrator believes: a main.cf setting of a Postfix parameter
 *	postern does not support yet (param_class.h; "X is not supported
 *	yet"), a table of a type postern cannot open in a PARAM_MAPS
 *	parameter, an alias_database newaliases cannot build (not hash:
 *	or btree:, or no source file), TLS settings smtpd would refuse or
 *	a private key others can read (tls_params.h, for main.cf and for
 *	each smtpd service's -o options).
 *	instance_notes() appends what `postern check` prints as notes and
 *	the master logs at start and reload: main.cf names that are
 *	ignored or unknown, and master.cf -o options that are ignored,
 *	one per line; it returns their number.
 *	instance_free() releases what instance_load() made.
 *	instance_table_files() lists the files behind hash:/btree: tables
 *	named in main.cf (alias_maps, virtual_alias_maps ...) into out
 *	(xstrdup'd paths of the .db files) and returns the count, at most
 *	max; the master watches them for changes.
 *	instance_bare_newline_mode() reads smtpd_forbid_bare_newline: 1
 *	for reject, 0 for normalize (also "yes", and "no", which smtpd
 *	takes as normalize: the end of data is always CR LF . CR LF), -1
 *	for anything else; smtpd and instance_check() both use it, so
 *	they can never disagree.  instance_anvil_closed() reads
 *	smtpd_anvil_failure_mode the same way: 1 closed, 0 open, -1
 *	anything else.
 */
#ifndef POSTERN_INSTANCE_H
#define POSTERN_INSTANCE_H

#include <stddef.h>

#include "buf.h"
#include "mastercf.h"
#include "params.h"

struct instance {
	struct params *params;
	struct mastercf mc;
};

int	instance_load(const char *config_dir, struct instance *in, struct buf *problems);
int	instance_load_fd(const char *config_dir, int main_cf_fd, struct instance *in,
			 struct buf *problems);
int	instance_check(const struct instance *in, struct buf *problems);
int	instance_notes(const struct instance *in, struct buf *notes);
void	instance_free(struct instance *in);
int	instance_table_files(const struct params *p, char **out, int max);
int	instance_bare_newline_mode(const char *value);
int	instance_anvil_closed(const char *value);

#endif
