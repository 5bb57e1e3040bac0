/*
 * NAME
 *	local_maildir - deliver messages into a maildir
 * SYNOPSIS
 *	#include "local.h"
 *
 *	local_maildir_deliver("/home/alice/Maildir/", &msg, rcpt, host, uid, &r);
 *
 *	struct local_maildir_job jobs[n] = {{dir, &msg, rcpt}, ...};
 *	local_maildir_deliver_batch(jobs, n, host, uid, results);
 * DESCRIPTION
 *	local_maildir_name() makes the unique file name
 *	"SECONDS.PID_N.HOST", where HOST has '/' written as "\057" and
 *	':' as "\072" (the maildir convention, since ':' starts the flags
 *	of a file in cur/) and control characters dropped.  It returns 0,
 *	or -1 when size is too small.
 *
 *	local_maildir_deliver_batch() runs in a delivery child that
 *	already has the rights of the mailbox owner, and delivers n
 *	messages (each job a maildir, a message and its Delivered-To) in
 *	one group commit.  For each job it writes the message to a new
 *	file in tmp/ (O_EXCL, O_NOFOLLOW, checked owner; another name is
 *	tried if the name is taken) and, when there are several, starts
 *	its write-out at once (sync_file_range), so that the file
 *	systems that journal the block allocation put every file of the
 *	batch into one commit.  Then it fsync()s each file, moves each
 *	into new/ without replacing anything there (renameat2
 *	RENAME_NOREPLACE, or link() and unlink() where the file system
 *	lacks it; a name taken in new/ gives the file another name), and
 *	fsync()s each new/ directory once, for every file moved into it.
 *	Only then are the results filled in: no message is said to be
 *	delivered before its file and its directory entry are on disk,
 *	and a batch of n costs two waits for the disk instead of 2n.
 *	The fsync of new/ is made under an flock() of new/ itself, so the
 *	delivery processes of one maildir sync it one at a time: without
 *	a journal, ext4 syncs a directory by writing the blocks on its
 *	list of dirty ones, and a block that one sync has taken off that
 *	list, while another process adds a name to it, is written by
 *	neither when the second sync runs meanwhile (a power-cut test on
 *	ext4 without a journal lost delivered files in Maildir/new/).
 *	A job that fails on the way (its file cannot be made, written,
 *	synced or moved) fails alone and leaves nothing in tmp/; when
 *	the sync of new/ fails, every job moved into it fails (their
 *	files stay: the next attempt may deliver them twice, never lose
 *	them).
 *
 *	The maildir (dir, dir/tmp, dir/new, dir/cur, mode 0700) is created
 *	where parts are missing only when a file cannot be made in tmp/
 *	(ENOENT) or moved into new/ (ENOENT), and tried once more: an
 *	existing maildir costs no mkdir or stat per delivery.  The new
 *	entries are made durable too.
 *
 *	local_maildir_deliver() is a batch of one.  Results: 2.0.0
 *	"delivered to maildir"; 4.2.0 a maildir part that cannot be made
 *	or opened; 4.3.0 or 4.2.2 a full disk or quota (local_errno_dsn());
 *	5.3.5 a path too long.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "mem.h"
#include "safefile.h"
#include "str.h"

#define NAME_TRIES	10

static unsigned name_seq;	/* names made by this process */

int
local_maildir_name(char *out, size_t size, time_t t, pid_t pid, unsigned seq,
		   const char *host)
{
	char    h[256];
	size_t  o = 0;

	for (const char *p = host; *p && o + 5 < sizeof(h); p++) {
		if (*p == '/') {
			memcpy(h + o, "\\057", 4);
			o += 4;
		} else if (*p == ':') {
			memcpy(h + o, "\\072", 4);
			o += 4;
		} else if ((unsigned char) *p > ' ' && *p != 0x7f)
			h[o++] = *p;
	}
	h[o] = '\0';
	if (o == 0)
		(void) str_copy(h, sizeof(h), "localhost");
	return str_fmt(out, size, "%lld.%ld_%u.%s", (long long) t, (long) pid, seq, h);
}

/* make_dir - mkdir that accepts an existing directory */
static int
make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* make_maildir - the parts of a maildir that are missing; -1 sets r */
static int
make_maildir(const char *base, const char *tmpd, const char *newd,
	     const char *curd, struct local_result *r)
{
	int     saved;

	/*
	 * The new entries are made durable too (base's own, in its parent,
	 * and tmp/ new/ cur/ in base): the fsync of new/ after the move
	 * would not keep a message whose new/ vanished in a crash.
	 */
	if (make_dir(base) < 0 || make_dir(tmpd) < 0 || make_dir(newd) < 0
	    || make_dir(curd) < 0 || sf_fsync_dir(base) < 0 || sf_fsync_parent(base) < 0) {
		saved = errno;
		local_result_set(r, 4, local_errno_dsn(saved, "4.2.0"),
				 "cannot create maildir %s: %s", base, strerror(saved));
		return -1;
	}
	return 0;
}

/* move_noreplace - rename from to to, failing with EEXIST if to exists */
static int
move_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) < 0)
		return -1;
	(void) unlink(from);
	return 0;
}

/* One job on its way: the paths, the open file, where it is. */
struct tx {
	char	base[LOCAL_PATH_MAX + 1];
	char	tmpd[LOCAL_PATH_MAX + 16], newd[LOCAL_PATH_MAX + 16];
	char	curd[LOCAL_PATH_MAX + 16];
	char	name[512];
	char	tmpf[LOCAL_PATH_MAX + 600];
	int	fd;
	bool	made;			/* missing parts were made once */
	bool	alive;			/* no failure so far */
	bool	moved;			/* in new/ */
};

/* tx_paths - base, tmp/, new/, cur/ of dir; -1 sets r */
static int
tx_paths(struct tx *t, const char *dir, struct local_result *r)
{
	size_t  n;

	if (str_copy(t->base, sizeof(t->base), dir) < 0) {
		local_result_set(r, 5, "5.3.5", "maildir path too long: %.100s", dir);
		return -1;
	}
	/* "Maildir/" and "Maildir" name the same directory. */
	n = strlen(t->base);
	while (n > 1 && t->base[n - 1] == '/')
		t->base[--n] = '\0';
	if (str_fmt(t->tmpd, sizeof(t->tmpd), "%s/tmp", t->base) < 0
	    || str_fmt(t->newd, sizeof(t->newd), "%s/new", t->base) < 0
	    || str_fmt(t->curd, sizeof(t->curd), "%s/cur", t->base) < 0) {
		local_result_set(r, 5, "5.3.5", "maildir path too long: %.100s", dir);
		return -1;
	}
	return 0;
}

/* tx_name - the next unique name, and its path in tmp/; -1 sets r */
static int
tx_name(struct tx *t, time_t now, const char *host, struct local_result *r)
{
	if (local_maildir_name(t->name, sizeof(t->name), now, log_pid(), ++name_seq,
			       host) < 0
	    || str_fmt(t->tmpf, sizeof(t->tmpf), "%s/%s", t->tmpd, t->name) < 0) {
		local_result_set(r, 5, "5.3.5", "maildir path too long: %.100s", t->base);
		return -1;
	}
	return 0;
}

/* tx_write_failed - writing or syncing the file failed (errno): remove it */
static int
tx_write_failed(struct tx *t, struct local_result *r)
{
	int     saved = errno;

	(void) close(t->fd);
	t->fd = -1;
	(void) unlink(t->tmpf);
	local_result_set(r, saved == EFBIG ? 5 : 4, local_errno_dsn(saved, "4.3.0"),
			 "cannot write to maildir %s: %s", t->base, strerror(saved));
	return -1;
}

/*
 * tx_write - make the file in tmp/ and write the message into it; the
 * file stays open.  The maildir is made when missing.  -1 sets r.
 */
static int
tx_write(struct tx *t, const struct local_maildir_job *j, const char *host,
	 uid_t want_uid, time_t now, struct local_result *r)
{
	const char *why = "";
	int     saved;

	for (int tries = 0;; tries++) {
		if (tx_name(t, now, host, r) < 0)
			return -1;
		t->fd = sf_open(AT_FDCWD, t->tmpf, O_WRONLY | O_CREAT | O_EXCL, 0600,
				want_uid, NULL, &why);
		if (t->fd >= 0)
			break;
		saved = errno;
		if (saved == ENOENT && !t->made) {
			if (make_maildir(t->base, t->tmpd, t->newd, t->curd, r) < 0)
				return -1;
			t->made = true;
			continue;
		}
		/* A name taken in tmp/: the next one. */
		if (saved == EEXIST && tries + 1 < NAME_TRIES)
			continue;
		local_result_set(r, 4, local_errno_dsn(saved, "4.2.0"),
				 "cannot create file in maildir %s: %s", t->tmpd,
				 strerror(saved));
		return -1;
	}
	if (local_copy_message(t->fd, j->m, j->delivered_to, 0, now) < 0)
		return tx_write_failed(t, r);
	return 0;
}

/* tx_sync - fsync and close the file in tmp/; -1 sets r */
static int
tx_sync(struct tx *t, struct local_result *r)
{
	int     saved;

	if (fsync(t->fd) < 0)
		return tx_write_failed(t, r);
	if (close(t->fd) < 0) {
		saved = errno;
		t->fd = -1;
		(void) unlink(t->tmpf);
		local_result_set(r, 4, local_errno_dsn(saved, "4.2.0"),
				 "cannot write to maildir %s: %s", t->base, strerror(saved));
		return -1;
	}
	t->fd = -1;
	return 0;
}

/*
 * tx_move - the file from tmp/ into new/, under another name when its
 * own is taken there; new/ is made when missing.  -1 sets r.
 */
static int
tx_move(struct tx *t, time_t now, const char *host, struct local_result *r)
{
	char    newf[LOCAL_PATH_MAX + 600];
	int     saved;

	for (int tries = 0;; tries++) {
		if (str_fmt(newf, sizeof(newf), "%s/%s", t->newd, t->name) < 0) {
			(void) unlink(t->tmpf);
			local_result_set(r, 5, "5.3.5", "maildir path too long: %.100s",
					 t->base);
			return -1;
		}
		if (move_noreplace(t->tmpf, newf) == 0)
			return 0;
		saved = errno;
		if (saved == ENOENT && !t->made) {
			/* tmp/ is there, new/ is not: make what is missing, once. */
			if (make_maildir(t->base, t->tmpd, t->newd, t->curd, r) < 0) {
				(void) unlink(t->tmpf);
				return -1;
			}
			t->made = true;
			continue;
		}
		if (saved == EEXIST && tries + 1 < NAME_TRIES) {
			/* Taken in new/: the same file under the next name. */
			if (local_maildir_name(t->name, sizeof(t->name), now, log_pid(),
					       ++name_seq, host) == 0)
				continue;
		}
		(void) unlink(t->tmpf);
		local_result_set(r, 4, local_errno_dsn(saved, "4.2.0"),
				 "cannot move message into %s: %s", t->newd,
				 strerror(saved));
		return -1;
	}
}

void
local_maildir_deliver_batch(const struct local_maildir_job *jobs, size_t n,
			    const char *host, uid_t want_uid,
			    struct local_result *res)
{
	struct tx *tx = xcalloc(n ? n : 1, sizeof(*tx));
	time_t  now = time(NULL);

	/* 1. Every file written; the write-out starts at once when several. */
	for (size_t i = 0; i < n; i++) {
		struct tx *t = &tx[i];

		t->fd = -1;
		if (tx_paths(t, jobs[i].dir, &res[i]) < 0
		    || tx_write(t, &jobs[i], host, want_uid, now, &res[i]) < 0)
			continue;
		t->alive = true;
		if (n > 1)
			(void) sync_file_range(t->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	/* 2. Each file on disk: one journal commit covers them when it can. */
	for (size_t i = 0; i < n; i++)
		if (tx[i].alive && tx_sync(&tx[i], &res[i]) < 0)
			tx[i].alive = false;
	/* 3. Into new/. */
	for (size_t i = 0; i < n; i++) {
		if (!tx[i].alive)
			continue;
		if (tx_move(&tx[i], now, host, &res[i]) < 0)
			tx[i].alive = false;
		else
			tx[i].moved = true;
	}
	/* 4. Each new/ once, for every file moved into it; then the results. */
	for (size_t i = 0; i < n; i++) {
		int     saved;

		if (!tx[i].moved)
			continue;
		if (sf_fsync_dir_locked(tx[i].newd) == 0) {
			for (size_t k = i; k < n; k++)
				if (tx[k].moved && str_eq(tx[k].newd, tx[i].newd)) {
					tx[k].moved = false;
					local_result_set(&res[k], 0, "2.0.0",
							 "delivered to maildir");
				}
			continue;
		}
		saved = errno;
		for (size_t k = i; k < n; k++)
			if (tx[k].moved && str_eq(tx[k].newd, tx[i].newd)) {
				tx[k].moved = false;
				local_result_set(&res[k], 4, local_errno_dsn(saved, "4.2.0"),
						 "cannot sync %s: %s", tx[k].newd,
						 strerror(saved));
			}
	}
	free(tx);
}

void
local_maildir_deliver(const char *dir, const struct local_msg *m,
		      const char *delivered_to, const char *host,
		      uid_t want_uid, struct local_result *r)
{
	struct local_maildir_job j = {dir, m, delivered_to};

	local_maildir_deliver_batch(&j, 1, host, want_uid, r);
}
