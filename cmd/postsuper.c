/*
 * NAME
 *	postsuper - delete, hold, release or requeue queued messages
 * SYNOPSIS
 *	postsuper [-c config_dir] [-d ID|ALL|-] [-h ID|ALL|-] [-H ID|ALL|-]
 *		[-r ID|ALL|-] [queue ...]
 * DESCRIPTION
 *	-d	delete the message from the queue.
 *	-h	put it on hold (move it to hold/): the queue manager leaves
 *		it alone until it is released.
 *	-H	release it from hold: back to deferred/ with its next
 *		attempt now (file time), and wake the queue manager.
 *	-r	requeue it: move it to incoming/, so the queue manager takes
 *		it again from the start, and wake the queue manager.
 *	ID is a queue ID as mailq shows it (without '*' or '!'), ALL
 *	every message, "-" reads IDs from standard input, one per line.
 *	Options may be repeated; they run in the order -d, -h, -H, -r.
 *	The queue names after the options (incoming, active, deferred,
 *	hold) limit where messages are looked for; by default every queue
 *	an action applies to (-d: all; -h: incoming, active, deferred;
 *	-H: hold; -r: incoming, active, deferred, hold).
 *
 *	Each action is one rename() or unlink() of a name checked with
 *	qid_valid(), so a message is never half moved, and is logged
 *	("QUEUEID: removed", "QUEUEID: placed on hold", "QUEUEID:
 *	released from hold", "QUEUEID: requeued").  A summary goes to
 *	standard error ("postsuper: Deleted: 2 messages").  The queue
 *	manager moves a file by link, sync, unlink, so for a moment one
 *	file has two names; before it acts on an ID, postsuper waits (at
 *	most a second) until the ID has one name, and -d removes every
 *	name it has (after a crash inside a move with the queue manager
 *	down, both stay until it starts).
 *	-v	accepted, as Postfix's postsuper accepts it; changes nothing.
 * EXIT STATUS
 *	0 success (also when an ID matched nothing: it says so); 64 bad
 *	usage; 77 not root; 78 main.cf is broken.
 * SECURITY
 *	Root only: it changes the queue, which belongs to mail_owner.  It
 *	only ever names files as queue/STATE/ID with a valid ID and a
 *	fixed STATE, without following symlinks.  Once main.cf and the
 *	log are open it drops to mail_owner for good (priv_drop()): the
 *	queue directories are mail_owner's, and what it renames, removes,
 *	touches and wakes there it does with mail_owner's rights only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "params.h"
#include "priv.h"
#include "qid.h"
#include "str.h"
#include "trigger.h"

enum action { A_DELETE, A_HOLD, A_RELEASE, A_REQUEUE, A_COUNT };

#define Q_INCOMING	0x1
#define Q_ACTIVE	0x2
#define Q_DEFERRED	0x4
#define Q_HOLD		0x8

static const char *const qnames[] = {"incoming", "active", "deferred", "hold"};
static const unsigned where[A_COUNT] = {
	[A_DELETE] = Q_INCOMING | Q_ACTIVE | Q_DEFERRED | Q_HOLD,
	[A_HOLD] = Q_INCOMING | Q_ACTIVE | Q_DEFERRED,
	[A_RELEASE] = Q_HOLD,
	[A_REQUEUE] = Q_INCOMING | Q_ACTIVE | Q_DEFERRED | Q_HOLD,
};
static const char *const done_log[A_COUNT] = {
	"removed", "placed on hold", "released from hold", "requeued",
};
static const char *const done_sum[A_COUNT] = {
	"Deleted", "Placed on hold", "Released from hold", "Requeued",
};

#define MAX_ARGS	1024

struct request {
	const char *ids[MAX_ARGS];
	int	n;
	bool	all;
};

static struct request req[A_COUNT];
static unsigned long counts[A_COUNT];
static bool wake_qmgr, scan_qmgr;

/* act - one action on one message in one queue; 1 done, 0 not there */
static int
act(enum action a, int q, const char *id)
{
	char    from[64], to[64];

	(void) str_fmt(from, sizeof(from), "%s/%s", qnames[q], id);
	switch (a) {
	case A_DELETE:
		if (unlink(from) < 0)
			goto missing;
		break;
	case A_HOLD:
		if (q == 3)
			return 0;
		(void) str_fmt(to, sizeof(to), "hold/%s", id);
		if (rename(from, to) < 0)
			goto missing;
		break;
	case A_RELEASE:
		(void) str_fmt(to, sizeof(to), "deferred/%s", id);
		if (rename(from, to) < 0)
			goto missing;
		/* A deferred file's mtime is its next attempt: now. */
		if (utimensat(AT_FDCWD, to, NULL, AT_SYMLINK_NOFOLLOW) < 0)
			log_warn("%s: cannot set the time of the next attempt: %m", id);
		scan_qmgr = true;
		break;
	case A_REQUEUE:
		if (q == 0) {
			struct stat st;

			/* Already in incoming/: the queue manager takes it anyway. */
			if (lstat(from, &st) < 0)
				goto missing;
			wake_qmgr = true;
			break;
		}
		(void) str_fmt(to, sizeof(to), "incoming/%s", id);
		if (rename(from, to) < 0)
			goto missing;
		wake_qmgr = true;
		break;
	default:
		return 0;
	}
	log_info("%s: %s", id, done_log[a]);
	counts[a]++;
	return 1;

missing:
	if (errno != ENOENT)
		log_warn("%s: %s: %m", from, done_log[a]);
	return 0;
}

/*
 * one_name - wait, at most ONE_NAME_WAIT_MS, until id is in at most
 * one queue directory: a move by the queue manager (link, sync,
 * unlink) shows one file under two names for a moment
 */
#define ONE_NAME_WAIT_MS	1000
static void
one_name(const char *id)
{
	const struct timespec pause = {0, 5 * 1000 * 1000};

	for (int waited = 0; waited < ONE_NAME_WAIT_MS; waited += 5) {
		int     n = 0;

		for (int q = 0; q < 4; q++) {
			char    path[64];
			struct stat st;

			(void) str_fmt(path, sizeof(path), "%s/%s", qnames[q], id);
			n += lstat(path, &st) == 0;
		}
		if (n < 2)
			return;
		(void) nanosleep(&pause, NULL);
	}
}

/* act_all - the action on every message of the queues in mask */
static void
act_all(enum action a, unsigned mask)
{
	for (int q = 0; q < 4; q++) {
		DIR    *d;
		struct dirent *de;

		if (!(mask & (1u << q)))
			continue;
		if ((d = opendir(qnames[q])) == NULL) {
			log_warn("cannot read %s/%s: %m", cfg->queue_directory, qnames[q]);
			continue;
		}
		/* Renaming within one directory's scan is safe: new names go elsewhere. */
		while ((de = readdir(d)) != NULL)
			if (qid_valid(de->d_name)) {
				one_name(de->d_name);
				(void) act(a, q, de->d_name);
			}
		closedir(d);
	}
}

static void
act_id(enum action a, unsigned mask, const char *id)
{
	if (!qid_valid(id)) {
		fprintf(stderr, "postsuper: \"%.60s\" is not a queue ID (mailq shows them)\n", id);
		return;
	}
	one_name(id);
	for (int q = 0; q < 4; q++)
		if ((mask & (1u << q)) && act(a, q, id)) {
			if (a != A_DELETE)
				return;
			/* Every name of it goes; counted once. */
			for (int r = q + 1; r < 4; r++)
				if ((mask & (1u << r)) && act(a, r, id))
					counts[a]--;
			return;
		}
	fprintf(stderr, "postsuper: %s: no such message in the %s\n", id,
		a == A_RELEASE ? "hold queue" : "queue");
}

/* read_ids - "-": IDs from standard input, one per line */
static void
act_stdin(enum action a, unsigned mask)
{
	char    line[256];
	unsigned long n = 0;

	while (fgets(line, sizeof(line), stdin) != NULL && n++ < 10000000) {
		char   *t = str_trim(line);

		if (*t)
			act_id(a, mask, t);
	}
}

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: postsuper [-c config_dir] [-d ID|ALL|-] [-h ID|ALL|-] "
		"[-H ID|ALL|-] [-r ID|ALL|-] [queue ...]\n");
	exit(EX_USAGE);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	struct params *p;
	struct priv_user owner;
	struct buf err;
	unsigned limit = 0;
	int     c;
	bool    any = false;

	log_init("postsuper", LOG_DEST_SYSLOG);
	while ((c = getopt(argc, argv, "c:d:h:H:r:v")) != -1) {
		enum action a;

		switch (c) {
		case 'c':
			dir = optarg;
			continue;
		case 'v':
			continue;
		case 'd':
			a = A_DELETE;
			break;
		case 'h':
			a = A_HOLD;
			break;
		case 'H':
			a = A_RELEASE;
			break;
		case 'r':
			a = A_REQUEUE;
			break;
		default:
			usage();
		}
		if (str_eq(optarg, "ALL"))
			req[a].all = true;
		else if (req[a].n < MAX_ARGS)
			req[a].ids[req[a].n++] = optarg;
		else
			usage();
		any = true;
	}
	for (int i = optind; i < argc; i++) {
		int     q;

		for (q = 0; q < 4 && !str_eq(argv[i], qnames[q]); q++)
			;
		if (q == 4) {
			fprintf(stderr, "postsuper: unknown queue %s (incoming, active, "
				"deferred or hold)\n", argv[i]);
			return EX_USAGE;
		}
		limit |= 1u << q;
	}
	if (!any)
		usage();
	if (getuid() != 0 || geteuid() != 0) {
		fprintf(stderr, "postsuper: only root may change the queue\n");
		return EX_NOPERM;
	}
	if (dir == NULL && (dir = getenv("MAIL_CONFIG")) != NULL && *dir == '\0')
		dir = NULL;
	buf_init(&err, 64 * 1024);
	if ((p = config_load(dir ? dir : SYSCONFDIR, NULL, 0, &err)) == NULL) {
		fprintf(stderr, "postsuper: configuration errors:\n%s", buf_str(&err));
		return EX_CONFIG;
	}
	buf_free(&err);
	config_install(p);
	log_set_syslog_name(cfg->syslog_name);
	if (cfg->maillog_file[0] && log_open_file(cfg->maillog_file) < 0)
		fprintf(stderr, "postsuper: cannot open maillog_file %s: %s\n",
			cfg->maillog_file, strerror(errno));
	if (chdir(cfg->queue_directory) < 0) {
		fprintf(stderr, "postsuper: queue directory %s: %s\n", cfg->queue_directory,
			strerror(errno));
		return EX_CONFIG;
	}
	/* Everything from here is done in mail_owner's directories, as mail_owner. */
	if (priv_lookup(cfg->mail_owner, &owner) < 0) {
		fprintf(stderr, "postsuper: mail_owner %s: no such user\n", cfg->mail_owner);
		return EX_CONFIG;
	}
	priv_drop(&owner, NULL);

	for (enum action a = 0; a < A_COUNT; a++) {
		unsigned mask = limit ? (limit & where[a]) : where[a];

		if (req[a].all)
			act_all(a, mask);
		for (int i = 0; i < req[a].n; i++) {
			if (str_eq(req[a].ids[i], "-"))
				act_stdin(a, mask);
			else
				act_id(a, mask, req[a].ids[i]);
		}
		if (req[a].all || req[a].n > 0)
			fprintf(stderr, "postsuper: %s: %lu message%s\n", done_sum[a], counts[a],
				counts[a] == 1 ? "" : "s");
	}
	if (scan_qmgr && trigger_once("public/qmgr", TRIGGER_SCAN) < 0 && errno != ENXIO)
		log_warn("cannot wake the queue manager: %m");
	if (wake_qmgr && trigger_once("public/qmgr", TRIGGER_WAKE) < 0 && errno != ENXIO)
		log_warn("cannot wake the queue manager: %m");
	return 0;
}
