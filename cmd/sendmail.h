/*
 * NAME
 *	sendmail.h - shared declarations of the sendmail command
 * SYNOPSIS
 *	#include "sendmail.h"
 *
 *	struct sendmail_opts o;
 *	struct buf err;
 *	if (sendmail_opts_parse(argc, argv, &o, &err) < 0)
 *		... usage error: buf_str(&err) says what, exit EX_USAGE ...
 *	n = sendmail_rcpts(&o, limit, &list, &err);
 * DESCRIPTION
 *	sendmail_opts_parse() reads the command line the way sendmail and
 *	Postfix's sendmail do (sendmail_opts.c has the option list): flag
 *	letters may be grouped ("-ti"), an option's argument may be
 *	attached ("-fuser") or be the next word ("-f user"), options and
 *	recipients may be mixed, and "--" ends the options.  The program
 *	name (argv[0]'s last component) "mailq" means -bp, "newaliases"
 *	means -bi.  It returns 0, or -1 with one line in err saying what
 *	was wrong.  o points into argv; nothing is allocated.  o->notes
 *	lists the options that were accepted and ignored (printed with -v).
 *
 *	sendmail_sender() turns the -f/-r argument into an envelope
 *	address: "" and "<>" are the null sender; otherwise exactly one
 *	address in RFC 5322 form ("user", "user@example.com",
 *	"<user@example.com>", "Name <user@example.com>").  It returns 0
 *	with the canonical address in out (out_size >= HDR_ADDR_MAX + 1),
 *	or -1 with a message in err.
 *
 *	sendmail_rcpts() parses every recipient argument as an RFC 5322
 *	address list (so "a@x, b@y" and "Name <a@x>" work, as they do in
 *	Postfix) into *list, a new array of xstrdup'd canonical addresses
 *	(unqualified ones stay unqualified: cleanup appends @myorigin),
 *	and returns their number.  An argument that holds a malformed
 *	address or none at all gives -1, more than max addresses -2, each
 *	with a message in err.  sendmail_rcpts_free() frees the list.
 *
 *	sendmail_submit() (sendmail_submit.c) sends one message read from
 *	in_fd through postdrop; sendmail_smtp() (sendmail_smtp.c) speaks
 *	SMTP on in_fd/out_fd (-bs).  Both need cfg installed.
 *
 *	sendmail_postdrop_start() starts $command_directory/postdrop with
 *	a fixed argument vector (plus "-c DIR" when config_dir is not
 *	NULL) and an empty environment but TZ, with its standard input
 *	on a pipe; it returns the write end and the pid.
 *	sendmail_postdrop_wait() closes the pipe (when fd >= 0), waits for
 *	the pid and returns its exit status as a sysexits code
 *	(EX_TEMPFAIL when it died of a signal).
 *	sendmail_put_envelope() writes V T A* S ([N] R)* for a message.
 */
#ifndef POSTERN_CMD_SENDMAIL_H
#define POSTERN_CMD_SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "maildrop.h"

enum sendmail_mode {
	SM_DELIVER,		/* -bm: read a message, submit it */
	SM_SMTP,		/* -bs: SMTP on stdin/stdout */
	SM_LIST,		/* -bp, mailq */
	SM_ALIASES,		/* -bi, newaliases */
	SM_FLUSH,		/* -q */
	SM_NOTHING,		/* -qINTERVAL: accepted, nothing to do */
};

#define SENDMAIL_NOTES_MAX	16

struct sendmail_opts {
	enum sendmail_mode mode;
	bool	extract;		/* -t */
	bool	ignore_dots;		/* -i, -oi */
	int	verbose;		/* -v, counted */
	const char *sender;		/* -f, -r: NULL when not given */
	const char *fullname;		/* -F */
	const char *config_dir;		/* -c DIR, -C FILE|DIR */
	bool	config_is_file;		/* -C named a file: use its directory */
	const char *body;		/* -B: "7BIT" or "8BITMIME", or NULL */
	char	notify[64];		/* -N, canonical: "SUCCESS,DELAY", "NEVER", "" */
	const char *ret;		/* -R: "FULL" or "HDRS", or NULL */
	const char *envid;		/* -V */
	char  **rcpts;			/* recipient arguments, in argv */
	int	nrcpts;
	const char *notes[SENDMAIL_NOTES_MAX];	/* ignored options */
	int	nnotes;
};

int	sendmail_opts_parse(int argc, char **argv, struct sendmail_opts *o,
			    struct buf *err);
int	sendmail_sender(const char *arg, char *out, size_t out_size, struct buf *err);
int	sendmail_rcpts(const struct sendmail_opts *o, size_t max, char ***list,
		       struct buf *err);
void	sendmail_rcpts_free(char **list, int n);

int	sendmail_submit(const struct sendmail_opts *o, const char *config_dir,
			int in_fd);
int	sendmail_smtp(const struct sendmail_opts *o, const char *config_dir,
		      int in_fd, int out_fd);

int	sendmail_postdrop_start(const char *config_dir, pid_t *pid);
int	sendmail_postdrop_wait(int fd, pid_t pid);

struct sendmail_env {
	const char *sender;		/* canonical; NULL: none given */
	const char *fullname;
	bool	extract;
	const char *body, *ret, *envid;
	const char *notify;		/* per recipient, "" for none */
	char  **rcpts;
	size_t	nrcpts;
};

int	sendmail_put_envelope(struct maildrop_out *o, const struct sendmail_env *e);

#endif
