/*
 * NAME
 *	qmgr_scan - wake-ups and queue scans
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	qmgr_scan_init(loop, fifo_fd);
 *	qmgr_scan_recover();		// at start: active/ back to incoming/
 *	qmgr_scan_request(QMGR_SCAN_INCOMING);
 * DESCRIPTION
 *	qmgr's listening descriptor is the FIFO public/qmgr.  Whoever
 *	writes a byte there asks for work: cleanup (TRIGGER_WAKE, new
 *	mail in incoming/), `postqueue -f` (TRIGGER_FLUSH, deliver the
 *	deferred queue now), TRIGGER_SCAN (look at both), and the master
 *	every 300 seconds.  Any other byte is a wake-up: the FIFO can be
 *	written by any local user.
 *
 *	A wake-up is a hint, never a command to be obeyed at its rate:
 *	the bytes waiting are read at once (up to WAKE_READS reads of
 *	WAKE_CHUNK bytes per event: a whole FIFO), turned into request
 *	bits, and one scan runs for all of them, at most once every
 *	SCAN_MIN_MS; until that scan qmgr does not read the FIFO at all.
 *	A flood of wake-ups costs at most one FIFO's worth of reads and
 *	one directory scan per SCAN_MIN_MS, whatever its rate.
 *
 *	An incoming/ scan moves messages into active/ (oldest queue ID
 *	first) while there is room (qmgr_has_room()); what does not fit
 *	stays for a later scan, which qmgr_scan_room() asks for when a
 *	message leaves memory.  A deferred/ scan does the same for files
 *	whose mtime (the next attempt time) has come; every
 *	queue_run_delay seconds one is made anyway.  With
 *	QMGR_SCAN_FLUSH suspended destinations and unreachable agents get
 *	another chance at once (qmgr_deliver_revive()), every deferred
 *	message is due, and those that do
 *	not fit get their mtime set to now so that the next scan takes
 *	them.
 *
 *	qmgr_scan_recover() is the start-up step that makes a crash or a
 *	stop lose nothing: every file left in active/ goes back to
 *	incoming/ (its status records say what was done already), then
 *	incoming/ and deferred/ are scanned.
 *
 *	qmgr_move() renames QUEUE/QID to QUEUE2/QID, never replacing a
 *	file that is there already.
 *
 *	Bounds: SCAN_NAMES_MAX names are taken from a directory per
 *	scan; the rest wait for the next scan.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "params.h"
#include "qid.h"
#include "qmgr.h"
#include "str.h"
#include "trigger.h"

#define SCAN_MIN_MS	50		/* at most 20 scans a second */
#define WAKE_READS	16		/* FIFO reads per event */
#define WAKE_CHUNK	4096		/* bytes per read: a FIFO holds 64 KiB */
#define SCAN_NAMES_MAX	65536

static struct ev_loop *sloop;
static struct ev_io fifo_io;
static int fifo_fd = -1;
static struct ev_timer scan_timer;
static struct ev_timer run_timer;
static unsigned pending;
static uint64_t last_scan_ms;
static bool stopped;
static bool incoming_backlog;
static bool deferred_backlog;

int
qmgr_move(const char *from, const char *qid, const char *to)
{
	char    a[64], b[64];

	if (str_fmt(a, sizeof(a), "%s/%s", from, qid) < 0
	    || str_fmt(b, sizeof(b), "%s/%s", to, qid) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* No RENAME_NOREPLACE here: link, then unlink. */
	if (link(a, b) < 0)
		return -1;
	(void) unlink(a);
	return 0;
}

unsigned
qmgr_trigger_bits(const char *codes, size_t n)
{
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++) {
		switch (codes[i]) {
		case TRIGGER_FLUSH:
			bits |= QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED | QMGR_SCAN_FLUSH;
			break;
		case TRIGGER_SCAN:
			bits |= QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED;
			break;
		default:
			bits |= QMGR_SCAN_INCOMING;
			break;
		}
	}
	return bits;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* names - queue IDs in dir, sorted; *more when some were left out */
static size_t
names(const char *dir, char ***out, bool *more)
{
	DIR    *d = opendir(dir);
	struct dirent *e;
	char  **v = NULL;
	size_t  n = 0, cap = 0;

	*more = false;
	*out = NULL;
	if (d == NULL) {
		log_warn("cannot open queue directory %s: %m", dir);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (!qid_valid(e->d_name))
			continue;
		if (n == SCAN_NAMES_MAX) {
			*more = true;
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrdup(e->d_name);
	}
	(void) closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_names);
	*out = v;
	return n;
}

static void
free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
scan_incoming(void)
{
	char  **v;
	bool    more;
	size_t  n = names("incoming", &v, &more), i;

	for (i = 0; i < n && !stopped; i++) {
		if (!qmgr_has_room())
			break;
		if (qmgr_move("incoming", v[i], "active") < 0) {
			if (errno != ENOENT)
				log_warn("%s: cannot move from incoming/ to active/: %m", v[i]);
			continue;
		}
		(void) qmgr_msg_activate(v[i]);
	}
	incoming_backlog = more || i < n;
	free_names(v, n);
}

static void
scan_deferred(bool flush)
{
	char  **v;
	bool    more;
	size_t  n = names("deferred", &v, &more);
	time_t  now = time(NULL);

	deferred_backlog = more;
	for (size_t i = 0; i < n && !stopped; i++) {
		char    path[64];
		struct stat st;

		(void) str_fmt(path, sizeof(path), "deferred/%s", v[i]);
		if (lstat(path, &st) < 0)
			continue;
		if (!flush && st.st_mtime > now)
			continue;
		if (!qmgr_has_room()) {
			deferred_backlog = true;
			if (flush && utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
				log_warn("%s: cannot make it due now: %m", v[i]);
			continue;
		}
		if (qmgr_move("deferred", v[i], "active") < 0) {
			if (errno != ENOENT)
				log_warn("%s: cannot move from deferred/ to active/: %m", v[i]);
			continue;
		}
		(void) qmgr_msg_activate(v[i]);
	}
	free_names(v, n);
}

static void
scan_now(struct ev_loop *loop, struct ev_timer *t)
{
	unsigned bits = pending;

	(void) t;
	pending = 0;
	last_scan_ms = ev_now(loop);
	if (stopped)
		return;
	/* Listen to the FIFO again (fifo_ready() paused it). */
	if (fifo_fd >= 0 && !ev_io_active(&fifo_io))
		ev_io_start(loop, &fifo_io, EV_READ);
	/* postqueue -f: the trouble is over, as far as anyone knows. */
	if (bits & QMGR_SCAN_FLUSH)
		qmgr_deliver_revive();
	if (bits & QMGR_SCAN_INCOMING)
		scan_incoming();
	if (bits & QMGR_SCAN_DEFERRED)
		scan_deferred((bits & QMGR_SCAN_FLUSH) != 0);
	qmgr_deliver_kick_all();
}

/* arm - the scan timer, no sooner than SCAN_MIN_MS after the last scan */
static void
arm(void)
{
	uint64_t now, next;

	if (stopped || ev_timer_active(&scan_timer))
		return;
	now = ev_now(sloop);
	next = last_scan_ms + SCAN_MIN_MS;
	ev_timer_start(sloop, &scan_timer, next > now ? next - now : 0);
}

void
qmgr_scan_request(unsigned what)
{
	pending |= what;
	if (pending != 0)
		arm();
}

void
qmgr_scan_room(void)
{
	unsigned bits = 0;

	if (incoming_backlog)
		bits |= QMGR_SCAN_INCOMING;
	if (deferred_backlog)
		bits |= QMGR_SCAN_DEFERRED;
	if (bits && sloop != NULL)
		qmgr_scan_request(bits);
}

static void
fifo_ready(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	char    codes[WAKE_CHUNK];
	unsigned bits = 0;
	int     n = 0;

	(void) revents;
	for (int i = 0; i < WAKE_READS; i++) {
		n = trigger_read(io->fd, codes, sizeof(codes));
		if (n < 0) {
			log_warn("reading wake-ups from public/qmgr: %m");
			break;
		}
		bits |= qmgr_trigger_bits(codes, (size_t) n);
		if (n < (int) sizeof(codes))
			break;
	}
	/*
	 * Deaf until the next scan: a flood then costs at most one FIFO's
	 * worth of reads per SCAN_MIN_MS, and its writers find the FIFO
	 * full, which trigger_send() takes as "a wake-up is pending".
	 */
	ev_io_stop(loop, io);
	pending |= bits;
	arm();
}

static void
run_due(struct ev_loop *loop, struct ev_timer *t)
{
	qmgr_scan_request(QMGR_SCAN_DEFERRED);
	ev_timer_start(loop, t, cfg->queue_run_delay * 1000);
}

void
qmgr_scan_init(struct ev_loop *loop, int fd)
{
	sloop = loop;
	stopped = false;
	ev_timer_init(&scan_timer, scan_now, NULL);
	ev_timer_init(&run_timer, run_due, NULL);
	ev_timer_start(loop, &run_timer, cfg->queue_run_delay * 1000);
	fifo_fd = fd;
	if (fifo_fd >= 0) {
		ev_io_init(&fifo_io, fifo_fd, fifo_ready, NULL);
		ev_io_start(loop, &fifo_io, EV_READ);
	}
}

void
qmgr_scan_recover(void)
{
	char  **v;
	bool    more;
	size_t  n;
	int     rounds = 0;

	do {
		n = names("active", &v, &more);
		for (size_t i = 0; i < n; i++)
			if (qmgr_move("active", v[i], "incoming") < 0 && errno != ENOENT)
				log_warn("%s: cannot move from active/ back to incoming/: %m", v[i]);
		free_names(v, n);
	} while (more && n > 0 && ++rounds < 100);
	qmgr_scan_request(QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED);
}

void
qmgr_scan_stop(void)
{
	stopped = true;
	ev_timer_stop(sloop, &scan_timer);
	ev_timer_stop(sloop, &run_timer);
	if (ev_io_active(&fifo_io))
		ev_io_stop(sloop, &fifo_io);
}
