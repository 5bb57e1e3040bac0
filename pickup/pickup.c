/*
 * NAME
 *	pickup - take locally submitted mail from maildrop/ to cleanup
 * SYNOPSIS
 *	pickup (started by the master; master.cf: fifo, unprivileged,
 *	chroot, wakeup 60, one process)
 * DESCRIPTION
 *	postdrop writes each locally submitted message (sendmail) into
 *	maildrop/ as one file and wakes pickup through the FIFO
 *	public/pickup; the master also writes a wake-up every 60 seconds,
 *	and pickup scans when it starts, so a message submitted while the
 *	mail system was down is delivered once it is up again.
 *
 *	On each wake-up pickup reads maildrop/ and, for every file named
 *	by 32 hex digits (maildrop.h):
 *	  - opens it without following symlinks, never blocking, and
 *	    takes the submitting uid from its owner (fstat);
 *	  - checks every record (pickup_file.c, qfile_read QF_MAILDROP);
 *	  - hands the message to cleanup (cleanup_clnt.h) with the file's
 *	    descriptor and the offset and length of its M record: flags
 *	    CLEANUP_F_LOCAL (+ CLEANUP_F_EXTRACT for sendmail -t),
 *	    protocol "local", the uid, the -F full name; the sender is the
 *	    -f sender when one was given, else LOGIN@$myorigin;
 *	    (one connection per burst of files, closed when the scan
 *	    finds no more);
 *	  - logs "QUEUEID: uid=N from=<sender>" once cleanup said the
 *	    message is queued (the line Postfix's pickup writes, which log
 *	    readers such as pflogsumm count as a received message), and
 *	    only then removes the file.
 *	A file that fails the checks is moved to corrupt/ (removed when
 *	that fails) and logged; the next file goes on as usual.  When
 *	cleanup answers with a temporary failure the file stays and the
 *	scan stops until the next wake-up or a retry a few seconds later.
 *	When cleanup refuses a message for good, the file is moved to
 *	corrupt/ with the reason in the log, so the administrator still
 *	has it, and the sender (sendmail said 0 long ago) gets a notice
 *	from the null sender with the reason and the header section
 *	(pickup_notice.c), written in smtpd_spool_directory as an unnamed
 *	file and submitted with CLEANUP_F_BOUNCE.
 *
 *	Files "t.HEX" are postdrop's while it writes; one older than
 *	maildrop_grace_time was left by a postdrop that was killed, is
 *	removed and logged, and is never delivered.  Any other name is
 *	not postdrop's: a non-directory is moved to corrupt/.
 *
 *	Every log line about a submission names the uid.
 * WIRE PROTOCOL
 *	The listening descriptor is the FIFO public/pickup: any byte
 *	(trigger.h) means "look at maildrop/".  Local users may write it
 *	(mode 0622): the worst they can do is make pickup scan.
 * SECURITY
 *	pickup is moderately security sensitive: it reads files whose
 *	content a local user chose.  It runs as mail_owner, chrooted into
 *	the queue directory, and trusts no record: the uid comes from the
 *	file's owner, every length is checked before use, and cleanup
 *	checks the content again.  It never opens anything outside
 *	maildrop/ and corrupt/ but the cleanup socket.
 * BOUNDS
 *	sendmail_recipient_limit recipients and message_size_limit bytes
 *	per file; PICKUP_BATCH files per event-loop round (then the loop
 *	runs again, so heartbeats and SIGTERM are never starved).
 * CONFIGURATION PARAMETERS
 *	myorigin, myhostname, maildrop_grace_time, sendmail_recipient_limit,
 *	message_size_limit, bounce_size_limit, smtpd_spool_directory,
 *	content_filter (every message goes to the after-queue filter),
 *	receive_override_options (no_address_mappings,
 *	no_header_body_checks: passed to cleanup).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup_clnt.h"
#include "event.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "params.h"
#include "pickup.h"
#include "safefile.h"
#include "server.h"
#include "str.h"
#include "trigger.h"

#define PICKUP_BATCH		100		/* files per loop round */
#define PICKUP_RETRY_MS		5000		/* after a temporary failure */
#define MAILDROP_DIR		"maildrop"

static struct ev_io wake_io;
static struct ev_timer scan_timer;
static bool strange_dir_logged;

/* set_aside - move a file that is not deliverable to corrupt/ */
static struct cleanup_overrides overrides;	/* receive_override_options */

static void
set_aside(int dfd, const char *name, unsigned long uid, const char *why)
{
	char    to[128];

	(void) str_fmt(to, sizeof(to), "corrupt/%s", name);
	if (renameat(dfd, name, AT_FDCWD, to) == 0) {
		log_warn("uid=%lu: maildrop file %s: %s; moved to %s", uid, name, why, to);
		return;
	}
	if (unlinkat(dfd, name, 0) == 0)
		log_warn("uid=%lu: maildrop file %s: %s; cannot move it to corrupt/ "
			 "(%m), removed it", uid, name, why);
	else
		log_error("uid=%lu: maildrop file %s: %s; cannot move or remove it: %m",
			  uid, name, why);
}

/*
 * notify_sender - sendmail said 0 long ago: a message cleanup refuses
 * for good is reported to its sender (pickup_notice.c).
 */
static void
notify_sender(const struct pickup_msg *m, int fd, const char *name, const char *reason)
{
	struct cleanup_envelope env;
	struct cleanup_rcpt_in rcpt;
	struct cleanup_result res;
	struct buf text;
	size_t  limit = (size_t) cfg->bounce_size_limit;
	size_t  n = m->cenv.length < limit ? (size_t) m->cenv.length : limit;
	char   *hdr = xmalloc(n + 1);
	ssize_t got = pread(fd, hdr, n, (off_t) m->cenv.offset);
	int     tfd;

	if (m->sender[0] == '\0') {
		log_warn("uid=%lu: maildrop file %s: no notice for the null sender",
			 (unsigned long) m->uid, name);
		free(hdr);
		return;
	}
	buf_init(&text, limit + 64 * 1024);
	if (got < 0 || pickup_notice_compose(&text, cfg->myhostname, m->sender,
					     (unsigned long) m->uid, reason, hdr,
					     (size_t) got, limit) < 0) {
		log_warn("uid=%lu: maildrop file %s: cannot compose a notice to <%s>",
			 (unsigned long) m->uid, name, m->sender);
		goto out;
	}
	tfd = open(cfg->smtpd_spool_directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tfd < 0 || sf_write_all(tfd, text.data, text.len) < 0) {
		log_warn("uid=%lu: cannot write a notice in %s: %m", (unsigned long) m->uid,
			 cfg->smtpd_spool_directory);
		if (tfd >= 0)
			close(tfd);
		goto out;
	}
	memset(&env, 0, sizeof(env));
	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.addr = m->sender;
	env.flags = CLEANUP_F_BOUNCE;
	env.length = text.len;
	env.protocol = "local";
	env.uid = -1;
	env.sender = "";
	env.rcpts = &rcpt;
	env.nrcpts = 1;
	if (cleanup_submit(&env, tfd, &res) == CLEANUP_STAT_OK)
		log_info("%s: uid=%lu: notice to <%s> that maildrop file %s was refused",
			 res.queue_id, (unsigned long) m->uid, m->sender, name);
	else
		log_warn("uid=%lu: cannot queue a notice to <%s>: %s", (unsigned long) m->uid,
			 m->sender, res.reason);
	close(tfd);
out:
	buf_free(&text);
	free(hdr);
}

/*
 * announced - cleanup's queue ID for a maildrop file, before qmgr can
 * see the message: the line log summarisers count a local submission by
 */
static void
announced(void *ctx, const char *qid)
{
	const struct pickup_msg *m = ctx;

	log_info("%s: uid=%lu from=<%s>", qid, (unsigned long) m->uid, m->cenv.sender);
}

/*
 * deliver_one - one maildrop file.  Returns 0 to go on with the
 * next file, -1 to stop the scan (cleanup is not answering).
 */
static int
deliver_one(int dfd, const char *name)
{
	struct pickup_msg m;
	struct cleanup_result res;
	char    why[256];
	int     fd, r;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;		/* gone meanwhile */
		if (errno == ELOOP) {
			set_aside(dfd, name, 0, "a symbolic link");
			return 0;
		}
		log_warn("maildrop file %s: open: %m (left in place)", name);
		return 0;
	}
	r = pickup_load(fd, cfg->myorigin, (size_t) cfg->sendmail_recipient_limit,
			cfg->message_size_limit, &m, why, sizeof(why));
	if (r == PICKUP_BAD) {
		set_aside(dfd, name, (unsigned long) m.uid, why);
		goto done;
	}
	if (r == PICKUP_IO) {
		log_warn("uid=%lu: maildrop file %s: %s (left in place)",
			 (unsigned long) m.uid, name, why);
		goto done;
	}
	m.cenv.announced = announced;
	m.cenv.announced_ctx = &m;
	/* content_filter and receive_override_options, as for smtpd. */
	m.cenv.flags |= overrides.flags;
	if (cfg->content_filter[0] != '\0')
		m.cenv.filter = cfg->content_filter;
	switch (cleanup_submit(&m.cenv, fd, &res)) {
	case CLEANUP_STAT_OK:
		if (unlinkat(dfd, name, 0) < 0)
			log_error("%s: uid=%lu: cannot remove maildrop file %s: %m "
				  "(it may be delivered twice)", res.queue_id,
				  (unsigned long) m.uid, name);
		break;
	case CLEANUP_STAT_PERM:
		(void) str_fmt(why, sizeof(why), "refused by cleanup: %s", res.reason);
		set_aside(dfd, name, (unsigned long) m.uid, why);
		notify_sender(&m, fd, name, res.reason);
		break;
	default:
		log_warn("uid=%lu: maildrop file %s: cleanup: %s (will try again)",
			 (unsigned long) m.uid, name, res.reason);
		r = -1;
		break;
	}
done:
	pickup_msg_free(&m);
	close(fd);
	return r == -1 ? -1 : 0;
}

/* old_temp - remove postdrop's file when a killed postdrop left it */
static void
old_temp(int dfd, const char *name)
{
	struct stat st;
	time_t	now = time(NULL);

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (now - st.st_mtime < (time_t) cfg->maildrop_grace_time)
		return;
	if (unlinkat(dfd, name, 0) == 0)
		log_warn("uid=%lu: removed %s/%s, left by an interrupted postdrop %lld "
			 "seconds ago", (unsigned long) st.st_uid, MAILDROP_DIR, name,
			 (long long) (now - st.st_mtime));
}

/* strange - a name postdrop never makes */
static void
strange(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		if (!strange_dir_logged)
			log_warn("%s/%s: a directory that does not belong there",
				 MAILDROP_DIR, name);
		strange_dir_logged = true;
		return;
	}
	set_aside(dfd, name, (unsigned long) st.st_uid, "not a name postdrop makes");
}

/*
 * scan - one batch of maildrop/.  Returns true when the batch was
 * full (more may be waiting).
 */
static bool
scan(struct ev_loop *loop)
{
	DIR    *d;
	struct dirent *de;
	int     n = 0;
	bool    more = false;

	if ((d = opendir(MAILDROP_DIR)) == NULL) {
		log_warn("cannot read %s: %m (check the queue with postern check)",
			 MAILDROP_DIR);
		ev_timer_start(loop, &scan_timer, PICKUP_RETRY_MS);
		return false;
	}
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;

		if (str_eq(name, ".") || str_eq(name, ".."))
			continue;
		if (maildrop_temp_valid(name)) {
			old_temp(dirfd(d), name);
			continue;
		}
		if (!maildrop_name_valid(name)) {
			strange(dirfd(d), name);
			continue;
		}
		if (deliver_one(dirfd(d), name) < 0) {
			ev_timer_start(loop, &scan_timer, PICKUP_RETRY_MS);
			break;
		}
		server_progress();
		if (++n == PICKUP_BATCH) {
			more = true;
			break;
		}
	}
	closedir(d);
	/* One cleanup connection per burst: kept while files keep coming. */
	if (!more)
		cleanup_clnt_release();
	return more;
}

static void
on_scan_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void) t;
	if (scan(loop))
		ev_timer_start(loop, &scan_timer, 0);
}

static void
on_wake(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	char    codes[64];
	int     n;

	(void) revents;
	/* Any byte means "look"; drain them all, then look once. */
	do
		n = trigger_read(io->fd, codes, sizeof(codes));
	while (n == (int) sizeof(codes));
	if (n < 0)
		log_warn("reading the wake-up FIFO: %m");
	ev_timer_stop(loop, &scan_timer);
	if (scan(loop))
		ev_timer_start(loop, &scan_timer, 0);
}

static void
pickup_start(struct ev_loop *loop)
{
	char	why[256];

	if (cleanup_overrides_parse(cfg->receive_override_options, &overrides, why,
				    sizeof(why)) < 0)
		log_fatal("receive_override_options = %s: %s", cfg->receive_override_options,
			  why);
	if (server_listen_count() < 1)
		log_fatal("no wake-up FIFO: master.cf must declare pickup as a fifo service");
	ev_io_init(&wake_io, server_listen_fd(0), on_wake, NULL);
	ev_io_start(loop, &wake_io, EV_READ);
	ev_timer_init(&scan_timer, on_scan_timer, NULL);
	cleanup_clnt_keep(true);
	/* Mail may have waited while the system was down. */
	ev_timer_start(loop, &scan_timer, 0);
}

static void
pickup_stop(struct ev_loop *loop)
{
	/* Files are handled whole inside one callback: nothing is in flight. */
	ev_io_stop(loop, &wake_io);
	server_exit(0);
}

static const char *const talks[] = {
	"private/cleanup", NULL,
};
static const char *const params[] = {
	"bounce_size_limit", "content_filter", "maildrop_grace_time", "message_size_limit",
	"myhostname", "myorigin", "receive_override_options", "sendmail_recipient_limit",
	"smtpd_spool_directory", NULL,
};

static const char *const syscalls[] = {
	"fchmod", "link", "linkat", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "copy_file_range", "sendfile", NULL,
};

int
main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.model = SERVER_EVENT,
		.chroot = SERVER_CHROOT_MUST,
		.syscalls = syscalls,
		.talks = talks,
		.params = params,
		.start = pickup_start,
		.stop = pickup_stop,
	};

	return server_main(argc, argv, &ops);
}
