/*
 * NAME
 *	sendmail - the sendmail-compatible submission command (also
 *	mailq and newaliases)
 * SYNOPSIS
 *	sendmail [-t] [-i] [-f sender] [-F fullname] [options] [--] [recipient ...]
 *	sendmail -bs | -bp | -bi | -q
 *	mailq
 *	newaliases
 * DESCRIPTION
 *	Most mail on a server is submitted here: cron, PHP mail(), mail(1),
 *	mutt, git send-email and monitoring scripts run /usr/sbin/sendmail.
 *	The message is read from standard input (CR LF or LF line ends,
 *	stored with LF; a leading "From " line is dropped) and handed to
 *	postdrop, which puts it in the maildrop queue; pickup takes it
 *	from there.  When the mail system is not running the message
 *	waits in maildrop/ and is delivered once it starts.
 *
 *	-t	take recipients from To:, Cc: and Bcc: (cleanup removes
 *		Bcc:); recipients named on the command line are added.
 *	-i, -oi	a line with a single "." does not end the message (it
 *		does without them).
 *	-f SENDER, -r SENDER
 *		the envelope sender ("" or "<>": the null sender); the
 *		default is the login name of the invoking user, @myorigin.
 *	-F NAME	the full name for the From: header cleanup adds when the
 *		message has none.
 *	-B 7BIT|8BITMIME, -N never|success,delay,failure, -R full|hdrs,
 *	-V envid
 *		body type and DSN requests, recorded with the message.
 *	-bs	an SMTP dialogue on standard input and output, one or more
 *		messages, each submitted the same way (sendmail_smtp.c).
 *	-bp	list the queue: the same as "postqueue -p" and mailq.
 *	-bi, -I	rebuild every table named in alias_database: the same
 *		as newaliases.
 *	-bm	read a message and submit it (the default).
 *	-q	ask the queue manager to deliver the deferred queue now
 *		("postqueue -f"); -qINTERVAL is accepted and ignored.
 *	-c DIR, -C PATH
 *		the configuration directory (a -C file means its
 *		directory).  MAIL_CONFIG in the environment does the same.
 *	-v	say what is going on; list the ignored options.
 *	Options of the historical sendmail that programs still pass (-oem,
 *	-odi, -odb, -oQ..., -L, -X, -O, -h, -e, -p, -G, -U, -m, -n, -x)
 *	are accepted and have no effect.  "--" ends the options.
 *
 *	Invoked as "mailq" it acts as -bp, as "newaliases" as -bi.
 * EXIT STATUS
 *	0 when the message is safely in the queue (postdrop has synced
 *	it to disk).  Otherwise a <sysexits.h> code: 64 (EX_USAGE) bad
 *	option or no recipients; 65 (EX_DATAERR) message too large or
 *	malformed; 67 (EX_NOUSER) malformed recipient address; 74
 *	(EX_IOERR) standard input could not be read; 75 (EX_TEMPFAIL)
 *	the queue could not be written, try again; 77 (EX_NOPERM)
 *	postdrop refused (configuration directory or user not allowed);
 *	78 (EX_CONFIG) main.cf is broken.
 * SECURITY
 *	sendmail has no privilege: it runs as the invoking user, who
 *	controls its environment, arguments and descriptors.  It cannot
 *	write the queue; it starts $command_directory/postdrop (set-group-
 *	id postdrop) with a fixed argument vector and an environment that
 *	holds TZ only, and postdrop trusts nothing it is given.  The
 *	submitting user is recorded by postdrop and pickup from the real
 *	uid and the file's owner, never from anything sendmail says.
 * CONFIGURATION PARAMETERS
 *	command_directory (where postdrop and postqueue are),
 *	message_size_limit, line_length_limit, sendmail_recipient_limit,
 *	alias_database (newaliases), smtpd_banner and myhostname (-bs).
 * SEE ALSO
 *	postdrop(1), pickup(8), postqueue(1), postalias(1).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "params.h"
#include "sendmail.h"
#include "str.h"
#include "table.h"

static void
usage(const char *why)
{
	fprintf(stderr, "sendmail: %s\n"
		"usage: sendmail [-t] [-i] [-f sender] [-F fullname] [-c config_dir] "
		"[--] [recipient ...]\n"
		"       sendmail -bs | -bp | -bi | -q\n", why);
	exit(EX_USAGE);
}

/* run_postqueue - mailq and -q are postqueue's work */
static int
run_postqueue(const char *flag, const char *config_dir)
{
	char    path[4096];
	char   *argv[5] = {"postqueue", (char *) flag, NULL, NULL, NULL};
	extern char **environ;

	if (config_dir != NULL) {
		argv[2] = "-c";
		argv[3] = (char *) config_dir;
	}
	if (str_fmt(path, sizeof(path), "%s/postqueue", cfg->command_directory) < 0) {
		fprintf(stderr, "sendmail: command_directory too long\n");
		return EX_CONFIG;
	}
	execve(path, argv, environ);
	fprintf(stderr, "sendmail: cannot run %s: %s (check command_directory in main.cf)\n",
		path, strerror(errno));
	return EX_OSFILE;
}

/* newaliases - rebuild every table of alias_database */
static int
newaliases(void)
{
	char  **items;
	int     n = config_list_split(cfg->alias_database, TABLE_LIST_MAX, &items);
	int     status = 0;
	struct buf err;

	if (n < 0) {
		fprintf(stderr, "newaliases: alias_database lists more than %d tables\n",
			TABLE_LIST_MAX);
		return EX_CONFIG;
	}
	buf_init(&err, 64 * 1024);
	for (int i = 0; i < n; i++) {
		int     r;

		buf_reset(&err);
		r = table_build(items[i], 1, 0, &err);
		if (r == TABLE_OK)
			continue;
		fprintf(stderr, "newaliases: cannot build %s:\n%s", items[i], buf_str(&err));
		if (err.len > 0 && err.data[err.len - 1] != '\n')
			fputc('\n', stderr);
		if (r == TABLE_ETEMP && getuid() != 0)
			fprintf(stderr, "newaliases: the aliases file belongs to root: run "
				"newaliases as root\n");
		status = r == TABLE_EDATA ? EX_DATAERR : r == TABLE_EUSAGE ? EX_USAGE
			: r == TABLE_ENOINPUT ? EX_NOINPUT : EX_TEMPFAIL;
	}
	config_list_free(items, n);
	buf_free(&err);
	return status;
}

/*
 * config_directory - the directory named by -c/-C or MAIL_CONFIG as an
 * absolute path (postdrop refuses relative ones), or NULL for the
 * default.
 */
static const char *
config_directory(const struct sendmail_opts *o)
{
	static char real[PATH_MAX];
	char    copy[PATH_MAX];
	const char *dir = o->config_dir;
	struct stat st;

	if (dir == NULL && (dir = getenv("MAIL_CONFIG")) != NULL && *dir == '\0')
		dir = NULL;
	if (dir == NULL)
		return NULL;
	if (str_copy(copy, sizeof(copy), dir) < 0)
		usage("configuration directory name too long");
	if (o->config_is_file && stat(copy, &st) == 0 && !S_ISDIR(st.st_mode)) {
		char   *slash = strrchr(copy, '/');

		if (slash == NULL)
			(void) str_copy(copy, sizeof(copy), ".");
		else if (slash == copy)
			copy[1] = '\0';
		else
			*slash = '\0';
	}
	if (realpath(copy, real) == NULL) {
		fprintf(stderr, "sendmail: configuration directory %s: %s\n", copy,
			strerror(errno));
		exit(EX_CONFIG);
	}
	return real;
}

int
main(int argc, char **argv)
{
	struct sendmail_opts o;
	struct params *p;
	struct buf err;
	const char *dir;

	log_init("sendmail", LOG_DEST_STDERR);
	buf_init(&err, 64 * 1024);
	if (sendmail_opts_parse(argc, argv, &o, &err) < 0)
		usage(buf_str(&err));
	if (o.verbose)
		for (int i = 0; i < o.nnotes; i++)
			fprintf(stderr, "sendmail: option %s accepted and ignored\n", o.notes[i]);
	dir = config_directory(&o);
	if ((p = config_load(dir ? dir : SYSCONFDIR, NULL, 0, &err)) == NULL) {
		fprintf(stderr, "sendmail: configuration errors:\n%s", buf_str(&err));
		return EX_CONFIG;
	}
	buf_free(&err);
	config_install(p);
	log_set_syslog_name(cfg->syslog_name);

	switch (o.mode) {
	case SM_LIST:
		return run_postqueue("-p", dir);
	case SM_FLUSH:
		return run_postqueue("-f", dir);
	case SM_ALIASES:
		return newaliases();
	case SM_NOTHING:
		return 0;
	case SM_SMTP:
		return sendmail_smtp(&o, dir, STDIN_FILENO, STDOUT_FILENO);
	case SM_DELIVER:
	default:
		return sendmail_submit(&o, dir, STDIN_FILENO);
	}
}
