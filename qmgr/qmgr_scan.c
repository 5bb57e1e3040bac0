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
 *	Fairness beyond the active queue.  Once the active queue is half
 *	full (qmgr_crowded()), a file is no longer moved in blindly: it
 *	is read where it is (qmgr_msg_consider()) and taken only when
 *	one of its destinations does not already hold its share of the
 *	active queue (qmgr_sched_busy(): twice what its concurrency
 *	limit lets run at once, at most a quarter of
 *	qmgr_message_active_limit).  Otherwise it stays in incoming/ or
 *	deferred/ and is remembered with its destinations
 *	(qmgr_postpone.c), so no later scan reads it again; files are
 *	listed without those.  So the second half of the active queue
 *	is for destinations that are not busy, and a message for a
 *	quiet destination is taken by the first scan after it arrives,
 *	however many messages wait for busy ones.  Remembered files go
 *	in (QMGR_SCAN_POSTPONED, after every scan and whenever a message
 *	leaves memory) while there is room: any of them while the queue
 *	is not crowded, else those of a destination that is no longer
 *	busy, round-robin between destinations.  While crowded, a scan
 *	reads at most SCAN_READS_MAX files, and looks at the newest
 *	SCAN_PROBE names first, so that new mail is found at once even
 *	while a backlog is being learned; with the memory of postponed
 *	files full, only those SCAN_PROBE are read per scan (and read
 *	again by the next, since they cannot be remembered).  Nothing
 *	about durability changes: a file is only ever in one queue
 *	directory, and a postponed one simply has not been moved.
 *
 *	qmgr_scan_recover() is the start-up step that makes a crash or a
 *	stop lose nothing: names of one file left in two queue directories
 *	by a crash inside a move become one, every file left in active/
 *	goes back to incoming/ (its status records say what was done
 *	already), then incoming/ and deferred/ are scanned.
 *
 *	Files go from one queue directory to another through
 *	qmgr_move.c, which keeps a durable name at every instant: a scan
 *	links its batch into active/, syncs active/ once, removes the old
 *	names, then activates the batch; a batch left by anything else
 *	(deferrals) is committed before a scan lists a directory.  A crash
 *	inside a move leaves one file under two names: the recovery
 *	keeps one (qmgr_names_keep(): deferred/, else incoming/, else
 *	active/) and removes the others, so nothing is delivered twice.
 *
 *	Bounds: SCAN_NAMES_MAX names (not remembered as postponed) are
 *	taken from a directory per scan, plus the newest SCAN_PROBE of
 *	the rest; the others wait for the next scan.
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
#define SCAN_READS_MAX	256		/* files read to decide, per scan */
#define SCAN_PROBE	16		/* the newest names, looked at first */
#define PASS_MAX	256		/* postponed files taken per pass */
#define BATCH_MAX	256		/* files linked per sync of active/ */

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

/*
 * newest_keep - name into top[0 .. *n) (at most SCAN_PROBE, newest
 * last) when it is newer than the oldest there
 */
static void
newest_keep(char top[][QID_LEN + 1], size_t *n, const char *name)
{
	size_t  i;

	if (*n == SCAN_PROBE) {
		if (strcmp(name, top[0]) <= 0)
			return;
		memmove(top[0], top[1], (SCAN_PROBE - 1) * sizeof(top[0]));
		(*n)--;
	}
	for (i = *n; i > 0 && strcmp(top[i - 1], name) > 0; i--)
		memcpy(top[i], top[i - 1], sizeof(top[0]));
	(void) str_copy(top[i], sizeof(top[0]), name);
	(*n)++;
}

/*
 * names - the queue IDs in dir that no postponed entry knows (those
 * wait in qmgr_postpone.c and are not read again), sorted; *more when
 * some were left out.  Beyond SCAN_NAMES_MAX names, the newest
 * SCAN_PROBE of the rest are kept all the same, so that mail that just
 * arrived is seen whatever the size of a backlog.
 */
static size_t
names(const char *dir, char ***out, bool *more)
{
	DIR    *d = opendir(dir);
	struct dirent *e;
	char  **v = NULL;
	char    top[SCAN_PROBE][QID_LEN + 1];
	size_t  n = 0, cap = 0, ntop = 0;

	*more = false;
	*out = NULL;
	if (d == NULL) {
		log_warn("cannot open queue directory %s: %m", dir);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (!qid_valid(e->d_name) || qmgr_pp_known(e->d_name))
			continue;
		if (n == SCAN_NAMES_MAX) {
			*more = true;
			newest_keep(top, &ntop, e->d_name);
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrdup(e->d_name);
	}
	(void) closedir(d);
	if (ntop > 0) {
		v = xreallocarray(v, n + ntop, sizeof(*v));
		for (size_t i = 0; i < ntop; i++)
			v[n++] = xstrdup(top[i]);
	}
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

/*
 * order - the order in which a scan looks at n sorted names: oldest
 * first; while the active queue is crowded, the newest SCAN_PROBE
 * first (newest first), then the rest from the oldest, so that a
 * message that just came for a quiet destination is found at once
 * however many files a scan may read
 */
static size_t
order(size_t k, size_t n, bool probe)
{
	size_t  p = n < SCAN_PROBE ? n : SCAN_PROBE;

	if (!probe)
		return k;
	return k < p ? n - 1 - k : k - p;
}

/*
 * settle - commit the batch of moves into active/ before it could fill
 * more than the room the active queue has, or make it crowded unseen
 */
static void
settle(void)
{
	size_t  p = qmgr_move_pending();

	if (p > 0 && (p >= BATCH_MAX
		      || 2 * (qmgr_active_count + p) >= (size_t) cfg->qmgr_message_active_limit))
		qmgr_move_commit();
}

/* queue_code - QMGR_PP_* of a queue directory name */
static int
queue_code(const char *queue)
{
	return str_eq(queue, "deferred") ? QMGR_PP_DEFERRED : QMGR_PP_INCOMING;
}

/*
 * take - one file of queue (incoming or deferred): into the active
 * queue at once while it has room and is not crowded; while it is
 * crowded, read where it is and taken only when one of its
 * destinations is not busy (qmgr_msg_consider()), else remembered as
 * postponed.  *reads counts the files read so; false when the scan
 * should look at no more names.
 */
static bool
take(const char *queue, const char *qid, size_t *reads, bool *backlog)
{
	struct qmgr_pp_dest dests[QMGR_POSTPONE_DESTS];
	size_t  n;

	if (!qmgr_crowded()) {
		if (qmgr_move_add(queue, qid, "active", true) < 0 && errno != ENOENT)
			log_warn("%s: cannot move from %s/ to active/: %m", qid, queue);
		return true;
	}
	/* A full memory of postponed files reads only the newest. */
	if (*reads >= (qmgr_pp_count < qmgr_pp_limit() ? SCAN_READS_MAX : SCAN_PROBE)) {
		*backlog = true;
		return false;
	}
	(*reads)++;
	/* Not remembered (the memory is full): read again by a later scan. */
	if (qmgr_msg_consider(queue, qid, dests, &n) == 0
	    && qmgr_pp_add(qid, queue_code(queue), dests, n) < 0)
		*backlog = true;
	return true;
}

static void
scan_incoming(void)
{
	char  **v;
	bool    more, backlog, probe = qmgr_crowded();
	size_t  n = names("incoming", &v, &more), reads = 0;

	backlog = more;
	for (size_t k = 0; k < n && !stopped; k++) {
		settle();
		if (!qmgr_has_room()) {
			backlog = true;
			break;
		}
		if (!take("incoming", v[order(k, n, probe)], &reads, &backlog))
			break;
	}
	qmgr_move_commit();
	incoming_backlog = backlog;
	free_names(v, n);
}

static void
scan_deferred(bool flush)
{
	char  **v;
	bool    more, backlog, probe = qmgr_crowded(), reading = true;
	size_t  n = names("deferred", &v, &more), reads = 0;
	time_t  now = time(NULL);

	backlog = more;
	for (size_t k = 0; k < n && !stopped; k++) {
		const char *qid = v[order(k, n, probe)];
		char    path[64];
		struct stat st;

		(void) str_fmt(path, sizeof(path), "deferred/%s", qid);
		if (lstat(path, &st) < 0)
			continue;
		if (!flush && st.st_mtime > now)
			continue;
		if (!reading || !qmgr_has_room()) {
			backlog = true;
			if (flush && utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
				log_warn("%s: cannot make it due now: %m", qid);
			if (!flush)
				break;
			continue;
		}
		settle();
		reading = take("deferred", qid, &reads, &backlog);
	}
	qmgr_move_commit();
	deferred_backlog = backlog;
	free_names(v, n);
}

/* busy - a postponed file's destination still holds its share */
static bool
busy(const struct qmgr_pp_dest *d)
{
	return qmgr_sched_busy(d->tp, d->hash);
}

/*
 * postponed - files remembered as postponed go into the active queue
 * while it has room: any of them while it is not crowded, else those
 * with a destination that is no longer busy; round-robin between
 * destinations, at most PASS_MAX per call
 */
static void
postponed(void)
{
	char    qid[QID_LEN + 1];
	int     queue;
	size_t  k = 0;

	while (!stopped && (settle(), qmgr_has_room()) && qmgr_pp_count > 0) {
		if (k++ == PASS_MAX) {
			qmgr_scan_request(QMGR_SCAN_POSTPONED);
			break;
		}
		if (!qmgr_pp_take(qmgr_crowded() ? busy : NULL, qid, sizeof(qid), &queue))
			break;
		if (qmgr_move_add(queue == QMGR_PP_DEFERRED ? "deferred" : "incoming", qid,
				  "active", true) < 0 && errno != ENOENT)
			log_warn("%s: cannot move to active/: %m", qid);
	}
	qmgr_move_commit();
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
	/* Moves made since the last scan: no file is listed under an old name. */
	qmgr_move_commit();
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
	postponed();
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
	if (qmgr_pp_count > 0)
		bits |= QMGR_SCAN_POSTPONED;
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
	qmgr_move_later_init(loop);
	fifo_fd = fd;
	if (fifo_fd >= 0) {
		ev_io_init(&fifo_io, fifo_fd, fifo_ready, NULL);
		ev_io_start(loop, &fifo_io, EV_READ);
	}
}

/*
 * one_name - a crash inside a move left qid under more than one of
 * deferred/, incoming/, active/: keep the name qmgr_names_keep() picks,
 * remove the others (the same file); different files are left alone
 */
static void
one_name(const char *qid)
{
	static const char *const dirs[] = {"deferred", "incoming", "active"};
	struct stat sb[3];
	const struct stat *st[3];
	char    path[64];
	size_t  n = 0;
	ssize_t keep;

	for (size_t i = 0; i < 3; i++) {
		(void) str_fmt(path, sizeof(path), "%s/%s", dirs[i], qid);
		st[i] = lstat(path, &sb[i]) == 0 ? &sb[i] : NULL;
		n += st[i] != NULL;
	}
	if (n < 2)
		return;
	if ((keep = qmgr_names_keep(st, 3)) < 0) {
		log_error("%s: different files under this queue ID in deferred/, incoming/ "
			  "or active/; left as they are: remove or rename the wrong one "
			  "with postsuper", qid);
		return;
	}
	for (size_t i = 0; i < 3; i++) {
		if (st[i] == NULL || i == (size_t) keep)
			continue;
		(void) str_fmt(path, sizeof(path), "%s/%s", dirs[i], qid);
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("%s: cannot remove the extra name %s: %m", qid, path);
		else
			log_info("%s: %s was a second name left by a crash; %s/%s stays",
				 qid, path, dirs[keep], qid);
	}
}

/*
 * stale - dir/qid has more than one link and is not the queue file
 * qid (qmgr_stale_name()): a name that a removal lost in a crash left
 * on a reused inode; remove the name, the file keeps its other one
 */
static void
stale(const char *dir, const char *qid)
{
	unsigned char head[256];
	char    path[64];
	struct stat st, fst;
	ssize_t n;
	int     fd;

	(void) str_fmt(path, sizeof(path), "%s/%s", dir, qid);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink < 2)
		return;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	n = fstat(fd, &fst) == 0 && fst.st_ino == st.st_ino && fst.st_dev == st.st_dev
	    ? pread(fd, head, sizeof(head), 0) : -1;
	(void) close(fd);
	if (n < 0 || !qmgr_stale_name(qid, head, (size_t) n))
		return;
	if (unlink(path) < 0)
		log_warn("%s: cannot remove %s, a stale name of another file: %m", qid, path);
	else
		log_warn("%s: removed %s: a name whose removal a crash undid, now on "
			 "another file (%lu links)", qid, path, (unsigned long) st.st_nlink);
}

/* stale_all - stale() for every name in dir */
static void
stale_all(const char *dir)
{
	char  **v;
	bool    more;
	size_t  n = names(dir, &v, &more);

	for (size_t i = 0; i < n; i++)
		stale(dir, v[i]);
	free_names(v, n);
}

void
qmgr_scan_recover(void)
{
	char  **v;
	bool    more;
	size_t  n;
	int     rounds = 0;

	/* Names that a crash brought back onto other files: without a journal. */
	stale_all("active");
	stale_all("incoming");
	stale_all("deferred");
	/* Two names of one file: only a crash between link and unlink. */
	n = names("incoming", &v, &more);
	for (size_t i = 0; i < n; i++)
		one_name(v[i]);
	free_names(v, n);
	do {
		n = names("active", &v, &more);
		for (size_t i = 0; i < n; i++) {
			one_name(v[i]);
			if (qmgr_move_add("active", v[i], "incoming", false) < 0 && errno != ENOENT)
				log_warn("%s: cannot move from active/ back to incoming/: %m", v[i]);
		}
		free_names(v, n);
		qmgr_move_commit();
	} while (more && n > 0 && ++rounds < 100);
	qmgr_scan_request(QMGR_SCAN_INCOMING | QMGR_SCAN_DEFERRED);
}

void
qmgr_scan_stop(void)
{
	stopped = true;
	qmgr_move_later_stop();
	ev_timer_stop(sloop, &scan_timer);
	ev_timer_stop(sloop, &run_timer);
	if (ev_io_active(&fifo_io))
		ev_io_stop(sloop, &fifo_io);
}
