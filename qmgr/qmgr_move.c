/*
 * NAME
 *	qmgr_move - moves between queue directories that keep a durable name
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	qmgr_move(from, qid, to);		// one file, synced at once
 *	qmgr_move_add(from, qid, to, activate);	// into the batch
 *	qmgr_move_later(from, qid, to);		// the batch, committed soon
 *	qmgr_move_commit();			// the whole batch
 *	qmgr_move_later_init(loop);		// commit the batch each turn
 *	qmgr_names_keep(st, n);			// recovery: which name stays
 *	qmgr_stale_name(qid, head, n);		// recovery: a name to drop
 * DESCRIPTION
 *	A queue file acknowledged by cleanup must have a name on disk at
 *	every instant, whatever the file system writes first.  rename()
 *	across two directories does not give that on ext4 without a
 *	journal (or any file system without one): the two directory
 *	blocks are written independently, and cleanup's syncs of
 *	incoming/ may make the removal durable before the new entry in
 *	active/; after a power cut the file has no name and fsck puts it
 *	in lost+found.  So a move is link(FROM/QID, TO/QID) (which never
 *	replaces: EEXIST), fsync(TO), then unlink(FROM/QID): first a
 *	second durable name, then the old one goes.  A crash in between
 *	leaves both names on one inode; qmgr_scan_recover() removes the
 *	extra one (qmgr_names_keep()).
 *
 *	qmgr_move() does that for one file, with one fsync (rare moves:
 *	into corrupt/, start-up recovery, a file read while the active
 *	queue is crowded).  The batch spares the fsyncs on the hot path:
 *	qmgr_move_add() links and remembers, qmgr_move_commit() syncs
 *	each destination directory of the batch once, then removes the
 *	old names, then activates the files that asked for it
 *	(qmgr_msg_activate(): its open refuses a file with two links, so
 *	it comes after the unlink).  When a sync fails, the new names are
 *	removed instead and the files stay where they were.  A batch is
 *	committed by the scan that made it, before any scan lists a
 *	directory (a file is never seen under its old name after it was
 *	linked); moves made between scans (deferrals) use
 *	qmgr_move_later(), committed by a timer at the next turn of the
 *	event loop, like a group commit (at once without a loop).
 *
 *	qmgr_names_keep() decides, for the names of one queue ID found
 *	in several queue directories (NULL: not there), in order of
 *	preference, which one stays: the first present one, when all
 *	others are the same inode (they are then removed); -1 when two
 *	are different files, which queue IDs being unique should never
 *	happen: nothing is removed and the administrator decides.
 *
 *	qmgr_stale_name() tells, from the first n bytes of a file found
 *	under a queue ID name with more than one link, whether the name is
 *	stale: without a journal, the removal of a finished queue file may
 *	not reach the disk before the power goes while its inode, reused
 *	for a delivered maildir file or another queue file, does; after
 *	fsck the old name points at that file.  Stale: the file is not a
 *	queue file (its first record is not V) or holds another queue ID
 *	in its Q record.  Only the name goes (the file keeps its other
 *	name); a file that is the queue file qid, or cannot be told, stays.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "qid.h"
#include "qmgr.h"
#include "safefile.h"
#include "str.h"

struct move {
	char    from[16];
	char    to[16];
	char    qid[QID_LEN + 1];
	bool    activate;
};

static struct move *batch;
static size_t nbatch, capbatch;
static struct ev_loop *mloop;
static struct ev_timer later_timer;

static int
paths(const char *from, const char *qid, const char *to, char *a, char *b, size_t size)
{
	if (str_fmt(a, size, "%s/%s", from, qid) < 0
	    || str_fmt(b, size, "%s/%s", to, qid) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
qmgr_move(const char *from, const char *qid, const char *to)
{
	char    a[64], b[64];

	if (paths(from, qid, to, a, b, sizeof(a)) < 0 || link(a, b) < 0)
		return -1;
	if (sf_fsync_dir(to) < 0) {
		int     err = errno;

		log_warn("%s: cannot sync %s/: %m; it stays in %s/", qid, to, from);
		(void) unlink(b);
		errno = err;
		return -1;
	}
	(void) unlink(a);
	return 0;
}

int
qmgr_move_add(const char *from, const char *qid, const char *to, bool activate)
{
	char    a[64], b[64];
	struct move *m;

	if (paths(from, qid, to, a, b, sizeof(a)) < 0 || link(a, b) < 0)
		return -1;
	if (nbatch == capbatch) {
		capbatch = capbatch ? 2 * capbatch : 64;
		batch = xreallocarray(batch, capbatch, sizeof(*batch));
	}
	m = &batch[nbatch++];
	(void) str_copy(m->from, sizeof(m->from), from);
	(void) str_copy(m->to, sizeof(m->to), to);
	(void) str_copy(m->qid, sizeof(m->qid), qid);
	m->activate = activate;
	return 0;
}

int
qmgr_move_later(const char *from, const char *qid, const char *to)
{
	if (qmgr_move_add(from, qid, to, false) < 0)
		return -1;
	if (mloop == NULL)
		qmgr_move_commit();
	else if (!ev_timer_active(&later_timer))
		ev_timer_start(mloop, &later_timer, 0);
	return 0;
}

size_t
qmgr_move_pending(void)
{
	return nbatch;
}

void
qmgr_move_commit(void)
{
	char    a[64], b[64];
	size_t  n = nbatch, i, j;
	struct move *v = batch;
	bool   *ok;

	if (n == 0)
		return;
	/* Taken out first: activation may add to a new batch. */
	batch = NULL;
	nbatch = capbatch = 0;
	if (mloop != NULL && ev_timer_active(&later_timer))
		ev_timer_stop(mloop, &later_timer);
	ok = xcalloc(n, sizeof(*ok));
	for (i = 0; i < n; i++) {
		/* One fsync per destination directory of the batch. */
		for (j = 0; j < i && !str_eq(v[j].to, v[i].to); j++)
			;
		if (j < i) {
			ok[i] = ok[j];
			continue;
		}
		ok[i] = sf_fsync_dir(v[i].to) == 0;
		if (!ok[i])
			log_warn("cannot sync %s/: %m; the files moved there stay where "
				 "they were", v[i].to);
	}
	for (i = 0; i < n; i++) {
		(void) paths(v[i].from, v[i].qid, v[i].to, a, b, sizeof(a));
		if (unlink(ok[i] ? a : b) < 0 && errno != ENOENT)
			log_warn("%s: cannot remove %s: %m", v[i].qid, ok[i] ? a : b);
	}
	for (i = 0; i < n; i++)
		if (ok[i] && v[i].activate)
			(void) qmgr_msg_activate(v[i].qid);
	free(ok);
	free(v);
}

static void
commit_later(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop;
	(void) t;
	qmgr_move_commit();
}

void
qmgr_move_later_init(struct ev_loop *loop)
{
	mloop = loop;
	ev_timer_init(&later_timer, commit_later, NULL);
}

void
qmgr_move_later_stop(void)
{
	qmgr_move_commit();
	if (mloop != NULL && ev_timer_active(&later_timer))
		ev_timer_stop(mloop, &later_timer);
	mloop = NULL;
}

ssize_t
qmgr_names_keep(const struct stat *const st[], size_t n)
{
	ssize_t keep = -1;

	for (size_t i = 0; i < n; i++) {
		if (st[i] == NULL)
			continue;
		if (keep < 0)
			keep = (ssize_t) i;
		else if (st[i]->st_ino != st[keep]->st_ino || st[i]->st_dev != st[keep]->st_dev)
			return -1;
	}
	return keep;
}

/* record - the record at *pos of head[0 .. n): type, data, length */
static bool
record(const unsigned char *head, size_t n, size_t *pos, int *type,
       const unsigned char **data, size_t *len)
{
	uint32_t l;

	if (n - *pos < 5)
		return false;
	*type = head[*pos];
	l = (uint32_t) head[*pos + 1] << 24 | (uint32_t) head[*pos + 2] << 16
	    | (uint32_t) head[*pos + 3] << 8 | head[*pos + 4];
	if (l > n - *pos - 5)
		return false;
	*data = head + *pos + 5;
	*len = l;
	*pos += 5 + (size_t) l;
	return true;
}

bool
qmgr_stale_name(const char *qid, const unsigned char *head, size_t n)
{
	size_t  pos = 0, len;
	const unsigned char *data;
	int     type;

	if (n < 5 || head[0] != 'V')
		return true;
	/* V, T, then Q (the order the reader checks). */
	for (int i = 0; i < 3; i++) {
		if (!record(head, n, &pos, &type, &data, &len))
			return false;
		if (type == 'Q')
			return len != strlen(qid) || memcmp(data, qid, len) != 0;
	}
	return false;
}
