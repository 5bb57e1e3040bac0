/*
 * NAME
 *	postcat - show a queue file readably
 * SYNOPSIS
 *	postcat [-c config_dir] [-e] [-h] [-b] FILE...
 *	postcat [-c config_dir] [-e] [-h] [-b] -q QUEUEID...
 * DESCRIPTION
 *	Prints each queue file (lib/mail/qfile.h) in the layout of Postfix's
 *	postcat:
 *
 *	  *** ENVELOPE RECORDS deferred/0PZ1K8Q3F7M2W9X ***
 *	  message_size:         1234
 *	  message_arrival_time: Tue Nov 14 22:13:20 2023
 *	  queue_id:             0PZ1K8Q3F7M2W9X
 *	  named_attribute:      client_name=mx.example.org
 *	  sender:               alice@example.org
 *	  original_recipient:   team@example.org
 *	  notify:               SUCCESS,FAILURE
 *	  recipient:            bob@example.org
 *	  recipient_status:     deferred 4.4.1 (connection refused)
 *	  *** MESSAGE CONTENTS deferred/0PZ1K8Q3F7M2W9X ***
 *	  Received: ...
 *
 *	  body
 *	  *** HEADER EXTRACTED deferred/0PZ1K8Q3F7M2W9X ***
 *	  status_records:       2
 *	  *** MESSAGE FILE END deferred/0PZ1K8Q3F7M2W9X ***
 *
 *	message_size is what delivery copies: the header section, the
 *	empty line and the body.  recipient_status is shown for every
 *	recipient that is not pending (delivered, failed with its DSN
 *	code and reason, and whether the bounce is queued; deferred with
 *	the last reason).  "HEADER EXTRACTED" sums up the status section
 *	that qmgr appends after the content.  A maildrop file (written by
 *	postdrop, not yet picked up) is shown the same way, its whole
 *	message under MESSAGE CONTENTS.
 *
 *	-e, -h, -b show only the envelope, the header section, the body
 *	(any combination); without them everything is shown.  The
 *	"***" lines are shown with the envelope.
 *
 *	FILE is a path.  With -q the arguments are queue IDs, looked for
 *	in the incoming, active, deferred, hold and corrupt queues of the
 *	instance (-c, else $POSTERN_CONFIG_DIR, else SYSCONFDIR); this
 *	needs root or mail_owner, who own the queue.
 *
 *	A malformed file is reported with the reason and where it was
 *	found ("postcat: deferred/X: malformed queue file: record 7 (R)
 *	at offset 212: ..."), and nothing of it is printed.
 *	-v	accepted, as Postfix's postcat accepts it; changes nothing.
 * EXIT STATUS
 *	0 every file was shown; 1 a file was missing, unreadable or
 *	malformed; 64 bad usage; 77 -q by another user; 78 main.cf
 *	cannot be loaded.
 * SECURITY
 *	Reads only.  Every queue file is checked by qfile_read() before
 *	any of it is shown; the content is copied out in bounded chunks.
 *	Queue IDs given with -q are checked with qid_valid() before they
 *	become part of a path.  Not set-uid: a user sees only the files
 *	the file system lets them read.  Root with -q reads the queue as
 *	mail_owner (it drops to mail_owner first), and a queue file must
 *	be a plain file of mail_owner's with one link.  A FILE is opened
 *	without following a symbolic link and must be a plain file with
 *	one link: the queue directories belong to mail_owner, and root
 *	naming a file there must not be led elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
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
#include "qfile.h"
#include "qid.h"
#include "safefile.h"
#include "str.h"

#define SHOW_ENV	0x1
#define SHOW_HDR	0x2
#define SHOW_BODY	0x4

static const char *const queues[] = {"incoming", "active", "deferred", "hold",
	"corrupt", NULL};

static void
usage(void)
{
	fprintf(stderr, "usage: postcat [-c config_dir] [-e] [-h] [-b] FILE...\n"
		"       postcat [-c config_dir] [-e] [-h] [-b] -q QUEUEID...\n");
	exit(EX_USAGE);
}

/* copy_out - len bytes of fd at off to stdout; -1 on a read error */
static int
copy_out(int fd, off_t off, uint64_t len)
{
	char    buf[65536];

	while (len > 0) {
		size_t  n = len < sizeof(buf) ? (size_t) len : sizeof(buf);
		ssize_t got = pread(fd, buf, n, off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		if (fwrite(buf, 1, (size_t) got, stdout) != (size_t) got)
			return -1;
		off += got;
		len -= (uint64_t) got;
	}
	return 0;
}

static const char *
status_text(const struct qfile_rcpt *r, char *out, size_t size)
{
	switch (r->status) {
	case QF_RCPT_DELIVERED:
		return "delivered";
	case QF_RCPT_FAILED:
		(void) str_fmt(out, size, "failed %s (%s)%s", r->dsn ? r->dsn : "",
			       r->reason ? r->reason : "", r->bounced
			       ? ", bounce queued" : "");
		return out;
	case QF_RCPT_DEFERRED:
		(void) str_fmt(out, size, "deferred %s (%s)", r->dsn ? r->dsn : "",
			       r->reason ? r->reason : "");
		return out;
	default:
		return NULL;
	}
}

static void
show_envelope(const struct qfile_env *env, const char *name)
{
	char    when[64], st[QFILE_STATUS_MAX + 64];
	time_t  t = env->arrival.tv_sec;
	struct tm tm;

	printf("*** ENVELOPE RECORDS %s ***\n", name);
	if (env->qid[0])
		printf("message_size: %15llu\n", (unsigned long long)
		       (env->hdr_len + 1 + env->body_len));
	else
		printf("message_size: %15llu\n", (unsigned long long) env->msg_len);
	(void) localtime_r(&t, &tm);
	(void) strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);
	printf("message_arrival_time: %s\n", when);
	if (env->qid[0])
		printf("queue_id: %s\n", env->qid);
	for (size_t i = 0; i < env->nattrs; i++)
		printf("named_attribute: %s\n", env->attrs[i]);
	printf("sender: %s\n", env->sender);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct qfile_rcpt *r = &env->rcpts[i];
		const char *s = status_text(r, st, sizeof(st));

		if (r->orig)
			printf("original_recipient: %s\n", r->orig);
		if (r->notify)
			printf("notify: %s\n", r->notify);
		printf("recipient: %s\n", r->address);
		if (s)
			printf("recipient_status: %s\n", s);
	}
}

/* show - one open file; 0, or 1 when it is malformed or unreadable */
static int
show(int fd, const char *name, const char *expect_qid, unsigned what,
     const struct qfile_limits *lim)
{
	struct qfile_env env;
	char    why[512];
	bool    maildrop = false;
	int     rc = 0;

	if (qfile_read(fd, 0, expect_qid, lim, &env, why, sizeof(why)) < 0) {
		char    why2[512];
		int     saved = errno;

		/* Perhaps a maildrop file (no Q record, an M record). */
		if (saved == 0
		    && qfile_read(fd, QF_MAILDROP, NULL, lim, &env, why2, sizeof(why2)) == 0) {
			maildrop = true;
		} else {
			fprintf(stderr, "postcat: %s: %s: %s\n", name, saved
				? "cannot read" : "malformed queue file", why);
			return 1;
		}
	}
	if (what & SHOW_ENV)
		show_envelope(&env, name);
	if (what & (SHOW_HDR | SHOW_BODY)) {
		if (what & SHOW_ENV)
			printf("*** MESSAGE CONTENTS %s ***\n", name);
		fflush(stdout);
		if (maildrop) {
			if (copy_out(fd, env.msg_off, env.msg_len) < 0)
				rc = 1;
		} else {
			if ((what & SHOW_HDR) && copy_out(fd, env.hdr_off, env.hdr_len) < 0)
				rc = 1;
			if ((what & SHOW_HDR) && (what & SHOW_BODY))
				putchar('\n');
			if ((what & SHOW_BODY) && copy_out(fd, env.body_off, env.body_len) < 0)
				rc = 1;
		}
		if (rc)
			fprintf(stderr, "postcat: %s: read error: %s\n", name, strerror(errno));
	}
	if (what & SHOW_ENV) {
		printf("*** HEADER EXTRACTED %s ***\n", name);
		if (!maildrop) {
			printf("status_records: %zu\n", env.nstatus);
			if (env.warned)
				printf("delay_warning: sent\n");
			if (env.bounced)
				printf("bounce_queued: yes\n");
			if (env.status_truncated)
				printf("damaged_tail: ignored after offset %lld\n",
				       (long long) env.status_end);
		}
		printf("*** MESSAGE FILE END %s ***\n", name);
	}
	qfile_env_free(&env);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "postcat: write error: %s\n", strerror(errno));
		exit(1);
	}
	return rc;
}

/* limits - the instance's bounds when main.cf loads, else the defaults */
static void
limits(const struct params *p, struct qfile_limits *lim)
{
	qfile_limits_default(lim);
	if (p == NULL)
		return;
	lim->rcpt_max = (size_t) p->cleanup_recipient_limit;
	lim->hdr_max = p->header_size_limit + 64 * 1024;
	lim->body_max = p->message_size_limit ? p->message_size_limit + 64 * 1024
	    : QFILE_BODY_ABS_MAX;
	if (lim->body_max > QFILE_BODY_ABS_MAX)
		lim->body_max = QFILE_BODY_ABS_MAX;
}

/* by_id - find ID in the queues of p and show it */
static int
by_id(const struct params *p, const char *id, unsigned what,
      const struct qfile_limits *lim)
{
	char    path[4200], name[64];
	struct passwd *pw = getpwnam(p->mail_owner);
	uid_t   owner = pw ? pw->pw_uid : SF_ANY_UID;
	const char *why = NULL;

	if (!qid_valid(id)) {
		fprintf(stderr, "postcat: %.64s: not a queue ID\n", id);
		return 1;
	}
	for (int i = 0; queues[i]; i++) {
		int     fd, rc;

		(void) str_fmt(path, sizeof(path), "%s/%s/%s", p->queue_directory,
			       queues[i], id);
		fd = sf_open(AT_FDCWD, path, O_RDONLY, 0, owner, NULL, &why);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			fprintf(stderr, "postcat: %s: %s: %s\n", path, why, strerror(errno));
			return 1;
		}
		(void) str_fmt(name, sizeof(name), "%s/%s", queues[i], id);
		rc = show(fd, name, id, what, lim);
		close(fd);
		return rc;
	}
	fprintf(stderr, "postcat: %s: no such message in the queue (%s)\n", id,
		p->queue_directory);
	return 1;
}

static int
by_path(const char *path, unsigned what, const struct qfile_limits *lim)
{
	const char *base = strrchr(path, '/');
	char    name[4200];
	const char *why = NULL;
	int     fd, rc;

	base = base ? base + 1 : path;
	/* A name that is a link or not a plain file is refused (see SECURITY). */
	fd = sf_open(AT_FDCWD, path, O_RDONLY, 0, SF_ANY_UID, NULL, &why);
	if (fd < 0) {
		fprintf(stderr, "postcat: %s: %s: %s\n", path, why, strerror(errno));
		return 1;
	}
	(void) str_copy(name, sizeof(name), path);
	if (qid_valid(base) && base > path) {
		/* queue/ID, as Postfix names it. */
		const char *end = base - 1, *start = end;

		while (start > path && start[-1] != '/')
			start--;
		(void) str_fmt(name, sizeof(name), "%.*s/%s", (int) (end - start),
			       start, base);
	}
	rc = show(fd, name, qid_valid(base) ? base : NULL, what, lim);
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	unsigned what = 0;
	bool    by_qid = false;
	struct params *p = NULL;
	struct qfile_limits lim;
	struct buf err;
	int     c, rc = 0;

	log_init("postcat", LOG_DEST_STDERR);
	while ((c = getopt(argc, argv, "c:ehbqv")) != -1) {
		switch (c) {
		case 'c':
			dir = optarg;
			break;
		case 'e':
			what |= SHOW_ENV;
			break;
		case 'h':
			what |= SHOW_HDR;
			break;
		case 'b':
			what |= SHOW_BODY;
			break;
		case 'q':
			by_qid = true;
			break;
		case 'v':
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (what == 0)
		what = SHOW_ENV | SHOW_HDR | SHOW_BODY;
	if (dir == NULL)
		dir = getenv("POSTERN_CONFIG_DIR");

	buf_init(&err, 64 * 1024);
	if (by_qid || dir != NULL) {
		p = config_load(dir ? dir : SYSCONFDIR, NULL, 0, &err);
		if (p == NULL && by_qid) {
			fprintf(stderr, "postcat: cannot load %s/main.cf:\n%s",
				dir ? dir : SYSCONFDIR, buf_str(&err));
			return EX_CONFIG;
		}
	}
	buf_free(&err);
	limits(p, &lim);

	if (by_qid) {
		struct passwd *pw = getpwnam(p->mail_owner);

		if (getuid() != 0 && (pw == NULL || pw->pw_uid != getuid())) {
			fprintf(stderr, "postcat: -q is for root and %s (the owner of "
				"the queue) only\n", p->mail_owner);
			return EX_NOPERM;
		}
		/* The queue is mail_owner's: root reads it as mail_owner. */
		if (geteuid() == 0) {
			struct priv_user u;

			if (priv_lookup(p->mail_owner, &u) < 0) {
				fprintf(stderr, "postcat: mail_owner %s: no such user\n",
					p->mail_owner);
				return EX_CONFIG;
			}
			priv_drop(&u, NULL);
		}
	}
	for (int i = optind; i < argc; i++) {
		if (by_qid)
			rc |= by_id(p, argv[i], what, &lim);
		else
			rc |= by_path(argv[i], what, &lim);
	}
	if (p)
		config_free(p);
	return rc ? 1 : 0;
}
