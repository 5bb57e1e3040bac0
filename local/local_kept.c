/*
 * NAME
 *	local_kept - delivery children kept for the next delivery to the
 *	same user
 * SYNOPSIS
 *	#include "local.h"
 *
 *	struct local_job j = {.kind = LJ_MAILDIR, .path = dir, .m = &msg,
 *			      .delivered_to = rcpt};
 *	local_kept_deliver(uid, gid, extra_gid, &j, &result);
 *
 *	local_kept_queue(uid, gid, extra_gid, &j, &result);	// later ...
 *	local_kept_queue(uid, gid, extra_gid, &j2, &result2);
 *	local_kept_flush();		// ... together: results filled in
 *
 *	ms = local_kept_wait_ms();	// when local_kept_expire() has work
 *	local_kept_expire();
 *	local_kept_close_all();		// local exits
 * DESCRIPTION
 *	Every mailbox or file delivery runs with the rights of one user,
 *	in a process that dropped to that user's ids (local_drop_to(),
 *	verified as lib/util/priv.c does) before it touched anything.  Making
 *	that process anew for every delivery (fork, privilege drop,
 *	verification, wait) costs more than the delivery itself when
 *	many messages go to one user, so the child is kept: it takes the
 *	next delivery for the same uid, gid and extra group over a socket
 *	pair, for at most KEPT_USES deliveries, and the parent closes it
 *	when it has been idle for KEPT_IDLE_MS.  At most KEPT_MAX children
 *	are kept (the least recently used goes first).
 *
 *	local_kept_deliver() runs job j as uid/gid (extra: an extra group,
 *	or (gid_t) -1) in the kept child for those ids, making one when
 *	there is none, and fills r with its result.  A kept child that is
 *	found gone when the job is sent is replaced and the job sent once
 *	more; once a job went out it is never sent again: a child that
 *	closes without a result, sends a bad result or takes longer
 *	than command_time_limit is killed, and the result is a temporary
 *	failure.  uid 0 is refused (root's mailbox is written by a child
 *	made for it: local_deliver.c).
 *
 *	Group commit.  local_kept_queue() keeps a job (a copy of j and its
 *	path; j->m and j->delivered_to must live until the flush) and
 *	where its result goes; local_kept_flush() runs every job queued
 *	since the last flush: the jobs for one user go to that user's
 *	child together, at most LOCAL_BATCH_MAX at a time, the last one
 *	marked "last" on the wire; the child writes all their files,
 *	syncs them, moves them into place and syncs each directory once
 *	(local_job_run_batch(), local_maildir_deliver_batch()), and only
 *	then answers, one result per job in order.  No result is filled in
 *	before the child answered, so nothing is reported delivered
 *	before it is on disk.  local_kept_deliver() is a batch of one.
 *
 *	local_job_build() makes the job message (LOCAL_JOB; the caller
 *	frees m): "uid" num (the ids the job is for), "kind" num (LJ_*),
 *	"path", "queue_id", "sender", "rcpt", "delivered_to" str,
 *	"hdr_off", "hdr_len", "body_off", "body_len", "arrival" num, then
 *	the mbox options "use_fcntl", "use_dotlock", "lock_attempts",
 *	"lock_delay_ms", "size_limit", "want_uid", "stale_secs", "last"
 *	num (1: the batch ends with this job, run them); the queue file
 *	travels with it.  local_job_build() sends "last" 1,
 *	local_job_build_batch() what it is told.  local_job_parse_batch()
 *	checks one strictly (order, kinds, bounds: paths LOCAL_PATH_MAX,
 *	addresses LOCAL_ADDR_MAX) into j, m and *last, whose strings
 *	point into in: 0, or -1 with why; local_job_parse() is the same
 *	without "last".  local_job_run() does a job in the calling
 *	process (the child); local_job_run_batch() does n jobs there, the
 *	maildir ones as one group commit, and fills res[i] for jobs[i].
 * SECURITY
 *	A kept child never runs anything for another user: the parent
 *	keys children by uid, gid and extra group, and the child refuses
 *	(and exits on) a job whose uid is not its own.  Each job opens
 *	and checks its mailbox afresh (O_NOFOLLOW, fstat owner, type and
 *	links), exactly as a new child would; nothing about a mailbox is
 *	remembered between jobs.
 *
 *	A new child closes what it must not hold beyond the delivery: the
 *	master's status pipe, the listening sockets, the connection from
 *	qmgr, the queue file of the request that made it, and the parent's
 *	ends of the other kept children's sockets (else a compromised
 *	child of one user could send jobs to another user's child).  It
 *	dies with local: PR_SET_PDEATHSIG (set after the privilege drop,
 *	which clears it) and end-of-file on its socket; it also gives up
 *	after KEPT_CHILD_IDLE_MS without a job.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "event.h"
#include "ipc.h"
#include "local.h"
#include "log.h"
#include "master_proto.h"
#include "mem.h"
#include "params.h"
#include "server.h"
#include "str.h"

#define KEPT_MAX		4	/* children kept per local process */
#define KEPT_IDLE_MS		2000	/* closed by the parent when idle this long */
#define KEPT_CHILD_IDLE_MS	10000	/* a child gives up on a silent parent */
#define KEPT_USES		1000	/* jobs per child */
#define KEPT_SEND_MS		10000	/* sending one job */

struct kept {
	pid_t	pid;			/* 0: free slot */
	int	sock;			/* the parent's end */
	uid_t	uid;
	gid_t	gid;
	gid_t	extra;
	unsigned uses;
	uint64_t last_ms;		/* end of its last job */
};

static struct kept kept[KEPT_MAX];

/*
 * The job message.
 */

int
local_job_build(struct ipc_msg *m, const struct local_job *j, uid_t uid)
{
	return local_job_build_batch(m, j, uid, true);
}

int
local_job_build_batch(struct ipc_msg *m, const struct local_job *j, uid_t uid,
		      bool last)
{
	const struct local_msg *msg = j->m;

	ipc_msg_init(m, LOCAL_JOB);
	(void) ipc_put_num(m, "uid", (uint64_t) uid);
	(void) ipc_put_num(m, "kind", (uint64_t) j->kind);
	(void) ipc_put_str(m, "path", j->path);
	(void) ipc_put_str(m, "queue_id", msg->queue_id);
	(void) ipc_put_str(m, "sender", msg->sender);
	(void) ipc_put_str(m, "rcpt", msg->rcpt);
	(void) ipc_put_str(m, "delivered_to", j->delivered_to);
	(void) ipc_put_num(m, "hdr_off", (uint64_t) msg->hdr_off);
	(void) ipc_put_num(m, "hdr_len", msg->hdr_len);
	(void) ipc_put_num(m, "body_off", (uint64_t) msg->body_off);
	(void) ipc_put_num(m, "body_len", msg->body_len);
	(void) ipc_put_num(m, "arrival", (uint64_t) msg->arrival);
	(void) ipc_put_num(m, "use_fcntl", j->o.use_fcntl);
	(void) ipc_put_num(m, "use_dotlock", j->o.use_dotlock);
	(void) ipc_put_num(m, "lock_attempts", (uint64_t) j->o.lock_attempts);
	(void) ipc_put_num(m, "lock_delay_ms", (uint64_t) j->o.lock_delay_ms);
	(void) ipc_put_num(m, "size_limit", j->o.size_limit);
	(void) ipc_put_num(m, "want_uid", (uint64_t) j->o.want_uid);
	(void) ipc_put_num(m, "stale_secs", (uint64_t) j->o.stale_secs);
	(void) ipc_put_num(m, "last", last);
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	return 0;
}

/* get_num - a number record within [0, max] */
static int
get_num(struct ipc_in *in, const char *name, uint64_t max, uint64_t *v)
{
	if (ipc_get_num(in, name, v) < 0)
		return -1;
	if (*v > max) {
		errno = ERANGE;
		return -1;
	}
	return 0;
}

int
local_job_parse(struct ipc_in *in, struct local_job *j, struct local_msg *m,
		uid_t *uid, char *why, size_t whylen)
{
	bool    last;

	return local_job_parse_batch(in, j, m, uid, &last, why, whylen);
}

int
local_job_parse_batch(struct ipc_in *in, struct local_job *j, struct local_msg *m,
		      uid_t *uid, bool *last, char *why, size_t whylen)
{
	uint64_t v[15];

	*last = false;
	memset(j, 0, sizeof(*j));
	memset(m, 0, sizeof(*m));
	m->qfd = -1;
	j->m = m;
	if (in->type != LOCAL_JOB) {
		(void) str_fmt(why, whylen, "job of unknown type %u", in->type);
		return -1;
	}
	if (get_num(in, "uid", UINT32_MAX - 1, &v[0]) < 0
	    || get_num(in, "kind", LJ_MBOX, &v[1]) < 0
	    || ipc_get_str(in, "path", &j->path, LOCAL_PATH_MAX) < 0
	    || ipc_get_str(in, "queue_id", &m->queue_id, LOCAL_QID_MAX) < 0
	    || ipc_get_str(in, "sender", &m->sender, LOCAL_ADDR_MAX) < 0
	    || ipc_get_str(in, "rcpt", &m->rcpt, LOCAL_ADDR_MAX) < 0
	    || ipc_get_str(in, "delivered_to", &j->delivered_to, LOCAL_ADDR_MAX) < 0
	    || get_num(in, "hdr_off", INT64_MAX, &v[2]) < 0
	    || get_num(in, "hdr_len", INT64_MAX, &v[3]) < 0
	    || get_num(in, "body_off", INT64_MAX, &v[4]) < 0
	    || get_num(in, "body_len", INT64_MAX, &v[5]) < 0
	    || get_num(in, "arrival", INT64_MAX, &v[6]) < 0
	    || get_num(in, "use_fcntl", 1, &v[7]) < 0
	    || get_num(in, "use_dotlock", 1, &v[8]) < 0
	    || get_num(in, "lock_attempts", INT32_MAX, &v[9]) < 0
	    || get_num(in, "lock_delay_ms", INT32_MAX, &v[10]) < 0
	    || get_num(in, "size_limit", INT64_MAX, &v[11]) < 0
	    || get_num(in, "want_uid", UINT32_MAX - 1, &v[12]) < 0
	    || get_num(in, "stale_secs", INT32_MAX, &v[13]) < 0
	    || get_num(in, "last", 1, &v[14]) < 0
	    || ipc_get_end(in) < 0) {
		(void) str_fmt(why, whylen, "malformed job: %s", errno == ERANGE
			       ? "a number out of range" : ipc_error(in));
		return -1;
	}
	if (j->path[0] != '/') {
		(void) str_fmt(why, whylen, "malformed job: a relative path");
		return -1;
	}
	*uid = (uid_t) v[0];
	j->kind = (enum local_job_kind) v[1];
	m->hdr_off = (off_t) v[2];
	m->hdr_len = v[3];
	m->body_off = (off_t) v[4];
	m->body_len = v[5];
	m->arrival = (time_t) v[6];
	j->o.use_fcntl = v[7] != 0;
	j->o.use_dotlock = v[8] != 0;
	j->o.lock_attempts = (int) v[9];
	j->o.lock_delay_ms = (int) v[10];
	j->o.size_limit = v[11];
	j->o.want_uid = (uid_t) v[12];
	j->o.stale_secs = (int) v[13];
	*last = v[14] != 0;
	return 0;
}

void
local_job_run(const struct local_job *j, uid_t want_uid, struct local_result *r)
{
	local_job_run_batch(j, 1, want_uid, r);
}

void
local_job_run_batch(const struct local_job *jobs, size_t n, uid_t want_uid,
		    struct local_result *res)
{
	struct local_maildir_job md[LOCAL_BATCH_MAX];
	struct local_result mres[LOCAL_BATCH_MAX];
	size_t  where[LOCAL_BATCH_MAX], nmd = 0;

	for (size_t i = 0; i < n; i++) {
		const struct local_job *j = &jobs[i];

		if (j->kind == LJ_MAILDIR && nmd < LOCAL_BATCH_MAX) {
			md[nmd].dir = j->path;
			md[nmd].m = j->m;
			md[nmd].delivered_to = j->delivered_to;
			where[nmd++] = i;
		} else if (j->kind == LJ_MAILDIR) {
			local_maildir_deliver(j->path, j->m, j->delivered_to,
					      cfg->myhostname, want_uid, &res[i]);
		} else {
			local_mbox_deliver(j->path, j->m, j->delivered_to, &j->o, &res[i]);
		}
	}
	if (nmd == 0)
		return;
	local_maildir_deliver_batch(md, nmd, cfg->myhostname, want_uid, mres);
	for (size_t k = 0; k < nmd; k++)
		res[where[k]] = mres[k];
}

/*
 * The child.
 */

/* child_loop - take batches of jobs for uid until the parent goes or is silent */
static _Noreturn void
child_loop(int sock, uid_t uid)
{
	static struct ipc_in in[LOCAL_BATCH_MAX];
	static struct local_job j[LOCAL_BATCH_MAX];
	static struct local_msg m[LOCAL_BATCH_MAX];
	static struct local_result res[LOCAL_BATCH_MAX];
	struct ipc_conn conn;
	bool    last = false;
	size_t  n = 0;

	ipc_conn_init(&conn, sock, LOCAL_JOB_MAX);
	for (size_t i = 0; i < LOCAL_BATCH_MAX; i++)
		ipc_in_init_max(&in[i], LOCAL_JOB_MAX);
	for (;;) {
		struct pollfd pfd = {.fd = sock, .events = POLLIN};
		uid_t   job_uid;
		char    why[256];
		int     qfd = -1, r;

		if (n == 0 && conn.in.len == 0) {
			r = poll(&pfd, 1, KEPT_CHILD_IDLE_MS);
			if (r == 0)
				_exit(0);		/* the parent forgot us */
			if (r < 0 && errno == EINTR)
				continue;
		}
		r = ipc_conn_recv(&conn, &in[n], &qfd, LOCAL_JOB_MS, false);
		if (r == 1 && n == 0)
			_exit(0);			/* closed by the parent */
		if (r != 0 || qfd < 0 || local_job_parse_batch(&in[n], &j[n], &m[n], &job_uid,
							       &last, why, sizeof(why)) < 0) {
			log_warn("delivery process for uid %ld: %s", (long) uid,
				 r != 0 ? ipc_error(&in[n]) : qfd < 0 ? "a job without "
				 "its queue file" : why);
			_exit(1);
		}
		m[n].qfd = qfd;
		/* Never anything for another user, whatever the parent says. */
		if (job_uid != uid || (j[n].kind == LJ_MBOX && j[n].o.want_uid != uid)) {
			log_warn("delivery process for uid %ld: refusing a job for "
				 "uid %ld", (long) uid, (long) job_uid);
			_exit(1);
		}
		if (!last && n + 1 == LOCAL_BATCH_MAX) {
			log_warn("delivery process for uid %ld: a batch of more than "
				 "%d jobs", (long) uid, LOCAL_BATCH_MAX);
			_exit(1);
		}
		n++;
		if (!last)
			continue;
		for (size_t i = 0; i < n; i++) {
			memset(&res[i], 0, sizeof(res[i]));
			local_result_set(&res[i], 4, "4.3.0", "delivery process gave "
					 "no result");
		}
		local_job_run_batch(j, n, uid, res);
		for (size_t i = 0; i < n; i++)
			(void) close(m[i].qfd);
		/* One write, under the socket's buffer: all of it or none. */
		if (write(sock, res, n * sizeof(res[0])) != (ssize_t) (n * sizeof(res[0])))
			_exit(1);
		n = 0;
	}
}

/* close_all_but - close every descriptor from 3 up except a and b (-1: none) */
static int
close_all_but(int a, int b)
{
	int     keep[2] = {a < b ? a : b, a < b ? b : a};
	unsigned from = 3;

	for (int i = 0; i < 2; i++) {
		if (keep[i] < (int) from)
			continue;
		if ((unsigned) keep[i] > from
		    && close_range(from, (unsigned) keep[i] - 1, 0) < 0)
			return -1;
		from = (unsigned) keep[i] + 1;
	}
	return close_range(from, ~0U, 0);
}

/* spawn - a new kept child for uid/gid/extra in slot k; -1 with errno */
static int
spawn(struct kept *k, uid_t uid, gid_t gid, gid_t extra)
{
	int     sv[2];
	pid_t   parent = log_pid(), pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		int     saved = errno;

		(void) close(sv[0]);
		(void) close(sv[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0) {
		(void) close(sv[0]);
		/*
		 * Nothing of the parent's stays with us but the socket to it
		 * and the log file: no other child's socket, no queue file,
		 * no qmgr connection, no table, no listener.  syslog's socket
		 * goes too (closelog: reopened on use, never a stale number).
		 */
		closelog();
		if (close_all_but(sv[1], log_file_fd()) < 0)
			_exit(1);
		local_drop_to(uid, gid, extra);
		/* After the drop: changing credentials clears the setting. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0L, 0L, 0L) < 0
		    || getppid() != parent)
			_exit(0);
		child_loop(sv[1], uid);
	}
	(void) close(sv[1]);
	k->pid = pid;
	k->sock = sv[0];
	k->uid = uid;
	k->gid = gid;
	k->extra = extra;
	k->uses = 0;
	k->last_ms = ev_time_ms();
	return 0;
}

/*
 * retire - close a kept child's socket, kill it and reap it: one that
 * failed (its job is abandoned), or an idle one, between jobs, that has
 * no mailbox open and holds no lock.
 *
 * 2026-11 review: an idle child was only told to go (end of file on its
 * socket) and then waited for.  The child runs with the user's ids, so
 * the user may stop it (SIGSTOP): local (root) then waited in waitpid()
 * for ever, its process slot lost.  SIGKILL ends a stopped process too.
 */
static void
retire(struct kept *k)
{
	int     status;

	if (k->pid <= 0)
		return;
	(void) close(k->sock);
	(void) kill(k->pid, SIGKILL);
	while (waitpid(k->pid, &status, 0) < 0 && errno == EINTR)
		;
	k->pid = 0;
	k->sock = -1;
}

int
local_kept_wait_ms(void)
{
	uint64_t now = ev_time_ms(), soonest = UINT64_MAX;

	for (int i = 0; i < KEPT_MAX; i++)
		if (kept[i].pid > 0 && kept[i].last_ms + KEPT_IDLE_MS < soonest)
			soonest = kept[i].last_ms + KEPT_IDLE_MS;
	if (soonest == UINT64_MAX)
		return -1;
	return soonest <= now ? 0 : (int) (soonest - now);
}

void
local_kept_expire(void)
{
	uint64_t now = ev_time_ms();

	for (int i = 0; i < KEPT_MAX; i++)
		if (kept[i].pid > 0 && now - kept[i].last_ms >= KEPT_IDLE_MS)
			retire(&kept[i]);
}

void
local_kept_close_all(void)
{
	for (int i = 0; i < KEPT_MAX; i++)
		retire(&kept[i]);
}

/* slot - the kept child for these ids, or a slot to make one in */
static struct kept *
slot(uid_t uid, gid_t gid, gid_t extra, bool *found)
{
	struct kept *free_slot = NULL, *oldest = NULL;

	local_kept_expire();
	for (int i = 0; i < KEPT_MAX; i++) {
		struct kept *k = &kept[i];

		if (k->pid <= 0) {
			if (free_slot == NULL)
				free_slot = k;
			continue;
		}
		if (k->uid == uid && k->gid == gid && k->extra == extra) {
			*found = true;
			return k;
		}
		if (oldest == NULL || k->last_ms < oldest->last_ms)
			oldest = k;
	}
	*found = false;
	if (free_slot != NULL)
		return free_slot;
	retire(oldest);			/* the least recently used */
	return oldest;
}

/* read_result - the child's next answer: 1 complete, 0 EOF before a byte, -1 */
static int
read_result(struct kept *k, struct local_result *res)
{
	struct pollfd pfd = {.fd = k->sock, .events = POLLIN};
	int     timeout = cfg->command_time_limit > 86400 ? 86400000
	    : (int) cfg->command_time_limit * 1000;
	size_t  got = 0;

	while (got < sizeof(*res)) {
		ssize_t n;
		int     r = poll(&pfd, 1, timeout);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n = read(k->sock, (char *) res + got, sizeof(*res) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && got == 0)
			return 0;
		if (n <= 0)
			return -1;
		got += (size_t) n;
	}
	return 1;
}

/* A job waiting for local_kept_flush(), or one run at once. */
struct pending {
	uid_t	uid;
	gid_t	gid;
	gid_t	extra;
	struct local_job j;
	char   *path;			/* j.path's own copy, or NULL */
	struct local_result *r;
};

static struct pending *queue;
static size_t nqueue, queue_cap;

/* fail_all - the same temporary failure for jobs p[0..n-1] */
static void
fail_all(struct pending *p, size_t n, const char *fmt, const char *arg)
{
	for (size_t i = 0; i < n; i++)
		local_result_set(p[i].r, 4, "4.3.0", fmt, arg);
}

/*
 * run_chunk - jobs p[0..n-1], all for the same ids, n at most
 * LOCAL_BATCH_MAX, in that user's kept child as one batch
 */
static void
run_chunk(struct pending *p, size_t n)
{
	struct ipc_msg m[LOCAL_BATCH_MAX];
	size_t  built = 0;

	for (; built < n; built++) {
		if (local_job_build_batch(&m[built], &p[built].j, p[built].uid,
					  built + 1 == n) < 0) {
			fail_all(p, n, "cannot describe the delivery to the delivery "
				 "process: %s", strerror(errno));
			ipc_msg_free(&m[built]);
			goto out;
		}
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		bool    reused;
		struct kept *k = slot(p[0].uid, p[0].gid, p[0].extra, &reused);
		size_t  sent = 0, got = 0;

		if (!reused && spawn(k, p[0].uid, p[0].gid, p[0].extra) < 0) {
			fail_all(p, n, "cannot make a delivery process: %s", strerror(errno));
			break;
		}
		while (sent < n && ipc_send(k->sock, &m[sent], p[sent].j.m->qfd,
					    KEPT_SEND_MS) == 0)
			sent++;
		if (sent < n) {
			int     saved = errno;

			retire(k);
			/* A kept child that went away took nothing: a new one. */
			if (reused && sent == 0)
				continue;
			fail_all(p, n, "cannot reach the delivery process: %s",
				 strerror(saved));
			break;
		}
		/*
		 * Once a job went out it is never sent again: a child that
		 * then closes without a result may have written the mailbox
		 * already, so this is a temporary failure, not a retry (which
		 * could deliver twice or append after a half message).
		 */
		for (; got < n; got++) {
			struct local_result res;
			int     rr = read_result(k, &res);

			if (rr <= 0) {
				retire(k);
				fail_all(p + got, n - got, "delivery process %s",
					 rr == 0 ? "failed" : "gave no result in time");
				break;
			}
			/* Never trust the child's text to be terminated or clean. */
			res.dsn[sizeof(res.dsn) - 1] = '\0';
			res.text[sizeof(res.text) - 1] = '\0';
			if ((res.status != 0 && res.status != 4 && res.status != 5)
			    || res.dsn[0] != (res.status == 0 ? '2' : res.status == 4 ? '4' : '5')) {
				retire(k);
				fail_all(p + got, n - got, "delivery process sent a bad "
					 "result%s", "");
				break;
			}
			local_result_set(p[got].r, res.status, res.dsn, "%s", res.text);
		}
		if (got == n) {
			k->last_ms = ev_time_ms();
			k->uses += (unsigned) n;
			if (k->uses >= KEPT_USES)
				retire(k);
		}
		break;
	}
out:
	for (size_t i = 0; i < built; i++)
		ipc_msg_free(&m[i]);
}

/* check - a job that cannot go to a kept child at all; false sets its result */
static bool
check(uid_t uid, const struct local_job *j, struct local_result *r)
{
	if (uid == 0)
		log_panic("local_kept: uid 0");
	if (j->path[0] != '/') {
		/* A home directory that is not absolute: nothing to write to. */
		local_result_set(r, 4, "4.3.0", "mailbox path %.200s is not absolute "
				 "(check the home directory in the user database)", j->path);
		return false;
	}
	local_result_set(r, 4, "4.3.0", "delivery process failed");
	return true;
}

void
local_kept_deliver(uid_t uid, gid_t gid, gid_t extra, const struct local_job *j,
		   struct local_result *r)
{
	struct pending p = {uid, gid, extra, *j, NULL, r};

	if (check(uid, j, r))
		run_chunk(&p, 1);
}

void
local_kept_queue(uid_t uid, gid_t gid, gid_t extra, const struct local_job *j,
		 struct local_result *r)
{
	struct pending *p;

	if (!check(uid, j, r))
		return;
	if (nqueue == queue_cap) {
		queue_cap = queue_cap ? 2 * queue_cap : 16;
		queue = xreallocarray(queue, queue_cap, sizeof(*queue));
	}
	p = &queue[nqueue++];
	p->uid = uid;
	p->gid = gid;
	p->extra = extra;
	p->j = *j;
	p->path = xstrdup(j->path);
	p->j.path = p->path;
	p->r = r;
}

void
local_kept_flush(void)
{
	bool   *taken = xcalloc(nqueue ? nqueue : 1, sizeof(*taken));

	/* Each user's jobs together, in the order they came. */
	for (size_t i = 0; i < nqueue; i++) {
		struct pending chunk[LOCAL_BATCH_MAX];
		size_t  n = 0;

		if (taken[i])
			continue;
		for (size_t k = i; k < nqueue && n < LOCAL_BATCH_MAX; k++)
			if (!taken[k] && queue[k].uid == queue[i].uid
			    && queue[k].gid == queue[i].gid
			    && queue[k].extra == queue[i].extra) {
				taken[k] = true;
				chunk[n++] = queue[k];
			}
		run_chunk(chunk, n);
	}
	for (size_t i = 0; i < nqueue; i++)
		free(queue[i].path);
	free(taken);
	nqueue = 0;
}
