/*
 * NAME
 *	postqueue - list the mail queue or ask for it to be delivered now
 * SYNOPSIS
 *	postqueue [-c config_dir] -p
 *	postqueue [-c config_dir] -j
 *	postqueue [-c config_dir] -f
 * DESCRIPTION
 *	-p	list the queue in the layout of Postfix's mailq (see
 *		postqueue.h): queue ID with '*' for a message being
 *		delivered and '!' for one on hold, size, arrival time,
 *		sender, the recipients still to be delivered with their
 *		last deferral reason in parentheses, and a total.
 *		"mailq" and "sendmail -bp" run this.
 *	-j	the same listing as JSON, one object per message per line
 *		(the fields of Postfix 3.1 and later: queue_name,
 *		queue_id, arrival_time, message_size, forced_expire,
 *		sender, recipients[{address, delay_reason}]).
 *	-f	ask the queue manager to try every deferred message now
 *		("sendmail -q"); -s SITE and -i ID are accepted and do the
 *		same.
 *	-c DIR	the configuration directory (also MAIL_CONFIG in the
 *		environment); the default is SYSCONFDIR.
 *	The listing comes from the showq service (public/showq), which
 *	any local user may ask; the flush request is one byte to the
 *	queue manager's FIFO public/qmgr.
 *	-v	accepted, as Postfix's postqueue accepts it; changes nothing.
 * EXIT STATUS
 *	0 success; 64 bad usage; 69 (EX_UNAVAILABLE) the mail system is
 *	not running; 78 main.cf is broken.
 * SECURITY
 *	postqueue has no privilege and needs none: it reads main.cf for
 *	the queue directory and talks to public services.  Whatever the
 *	caller names with -c only changes where those services are
 *	looked for.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "params.h"
#include "postqueue.h"
#include "safefile.h"
#include "showq_clnt.h"
#include "str.h"
#include "trigger.h"

#define OUT_FLUSH	(64 * 1024)

struct lister {
	struct buf out;
	bool	json;
	bool	first;
	bool	failed;			/* stdout went away */
};

static int
write_out(struct lister *l)
{
	if (l->out.len > 0 && sf_write_all(STDOUT_FILENO, l->out.data, l->out.len) < 0) {
		l->failed = true;
		return -1;
	}
	buf_reset(&l->out);
	return 0;
}

static int
one(void *ctx, const struct showq_msg *m)
{
	struct lister *l = ctx;
	int     r;

	r = l->json ? postqueue_json_msg(&l->out, m) : postqueue_text_msg(&l->out, m, l->first);
	if (r < 0) {
		/* Too big for what is left: write what we have, try again. */
		if (write_out(l) < 0)
			return -1;
		r = l->json ? postqueue_json_msg(&l->out, m)
			: postqueue_text_msg(&l->out, m, l->first);
		if (r < 0)
			return -1;
	}
	l->first = false;
	if (l->out.len >= OUT_FLUSH)
		return write_out(l);
	return 0;
}

static int
list(bool json)
{
	struct lister l = {.json = json, .first = true};
	struct showq_summary sum;
	char    why[512];
	int     r;

	buf_init(&l.out, 4 * 1024 * 1024);
	r = showq_list(SHOWQ_SOCKET, one, &l, &sum, why, sizeof(why));
	if (l.failed) {
		buf_free(&l.out);
		return 0;			/* our reader went away: not an error */
	}
	if (r < 0) {
		(void) write_out(&l);
		buf_free(&l.out);
		fprintf(stderr, "postqueue: %s (is the mail system running? postern status)\n", why);
		return EX_UNAVAILABLE;
	}
	if (!json)
		(void) postqueue_text_end(&l.out, &sum);
	(void) write_out(&l);
	buf_free(&l.out);
	return 0;
}

static int
flush(void)
{
	if (trigger_once("public/qmgr", TRIGGER_FLUSH) < 0) {
		fprintf(stderr, "postqueue: cannot reach the queue manager (public/qmgr): %s%s\n",
			strerror(errno), errno == ENXIO ? " (the mail system is not running)" : "");
		return EX_UNAVAILABLE;
	}
	return 0;
}

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: postqueue [-c config_dir] -p | -j | -f\n");
	exit(EX_USAGE);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	struct params *p;
	struct buf err;
	int     c, mode = 0;

	log_init("postqueue", LOG_DEST_STDERR);
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "c:pjfs:i:v")) != -1) {
		switch (c) {
		case 'c':
			dir = optarg;
			break;
		case 'p':
		case 'j':
		case 'f':
			if (mode && mode != c)
				usage();
			mode = c;
			break;
		case 's':
		case 'i':
			if (mode && mode != 'f')
				usage();
			mode = 'f';
			break;
		case 'v':
			break;
		default:
			usage();
		}
	}
	if (optind != argc || mode == 0)
		usage();
	if (dir == NULL && (dir = getenv("MAIL_CONFIG")) != NULL && *dir == '\0')
		dir = NULL;
	buf_init(&err, 64 * 1024);
	if ((p = config_load(dir ? dir : SYSCONFDIR, NULL, 0, &err)) == NULL) {
		fprintf(stderr, "postqueue: configuration errors:\n%s", buf_str(&err));
		return EX_CONFIG;
	}
	buf_free(&err);
	config_install(p);
	if (chdir(cfg->queue_directory) < 0) {
		fprintf(stderr, "postqueue: queue directory %s: %s\n", cfg->queue_directory,
			strerror(errno));
		return EX_UNAVAILABLE;
	}
	return mode == 'f' ? flush() : list(mode == 'j');
}
