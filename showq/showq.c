/*
 * NAME
 *	showq - list the mail queue for any local user (mailq, postqueue -p)
 * SYNOPSIS
 *	showq (started by the master; master.cf: unix, public,
 *	unprivileged, chroot)
 * DESCRIPTION
 *	Local users may not read the queue directory; postqueue and mailq
 *	ask showq through public/showq (mode 0666 in the 0711 public/
 *	directory) instead.  For each request showq reads the envelope of
 *	every file in incoming/, active/, deferred/, hold/ and maildrop/
 *	(in that order, each queue sorted by name, so by arrival for
 *	queue IDs) with lib/mail/qfile.h, and sends one reply per message:
 *	queue ID (for maildrop/, the file's name), queue, arrival time,
 *	size of the content, sender, and the recipients that are not yet
 *	delivered, each with its last deferral reason.  For a maildrop
 *	file that has no -f sender the sender shown is LOGIN@$myorigin,
 *	as pickup will make it.  Files that are not (or no longer) valid
 *	are skipped: they are the queue manager's or pickup's business.
 *
 *	One process serves every client from its event loop (master.cf
 *	maxproc is 1 whatever it says), so a client that connects and says
 *	nothing, or reads its listing slowly, holds only its own
 *	connection: never a process that another user's mailq waits for.
 * WIRE PROTOCOL
 *	docs/INTERNALS.md, "showq", and lib/svc/showq_clnt.h: SHOWQ_REQ_LIST
 *	with no records; replies SHOWQ_REP_MSG (one per message) and
 *	SHOWQ_REP_END ("omitted": messages not listed).
 * SECURITY
 *	showq talks to any local user.  Each connection's uid comes from
 *	SO_PEERCRED: one uid has at most SHOWQ_UID_CLIENTS (4) connections
 *	at a time (root: any), all uids together SHOWQ_CLIENTS_MAX (256);
 *	a connection past either is closed at once, with a warning
 *	(rate-limited).  It runs as mail_owner, chrooted
 *	into the queue directory; it reads the request with a small bound
 *	and nothing else from the client, opens queue files read-only
 *	with sf_open() (no symlink followed, a plain file with one link,
 *	mail_owner's outside maildrop/), and never writes anything.  What it
 *	shows is what mailq has always shown every user: envelope
 *	addresses, sizes, times and deferral reasons, never content.
 * BOUNDS
 *	showq_limit messages per listing (the rest are counted);
 *	recipients of one message up to what fits SHOWQ_MSG_MAX bytes (the
 *	rest counted in "more"); the request must come within
 *	SHOWQ_REQUEST_MS (10 s) of the connection, and the listing must
 *	make progress every SHOWQ_TIMEOUT_MS (60 s), or the client is
 *	dropped; at most SHOWQ_OUT_HIGH (64 KiB) of replies are queued
 *	ahead for one client.
 * CONFIGURATION PARAMETERS
 *	showq_limit, myorigin, header_size_limit, message_size_limit,
 *	cleanup_recipient_limit, sendmail_recipient_limit.
 */
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "ipc.h"
#include "log.h"
#include "master_proto.h"
#include "maildrop.h"
#include "mem.h"
#include "params.h"
#include "qfile.h"
#include "qid.h"
#include "safefile.h"
#include "server.h"
#include "showq_clnt.h"
#include "str.h"

#define SHOWQ_REQUEST_MS	10000	/* from connect to the request */
#define SHOWQ_UID_CLIENTS	4	/* connections of one uid (root: any) */
#define SHOWQ_CLIENTS_MAX	256	/* connections in all */
#define SHOWQ_OUT_HIGH	(64 * 1024)	/* replies queued ahead for one client */
#define STR2(x)	#x
#define STR(x)	STR2(x)

static const char *const queues[] = {"incoming", "active", "deferred", "hold", "maildrop"};

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * collect - the names in dir that look like queue files, sorted; at
 * most max of them, the others counted in *extra.
 */
static size_t
collect(const char *dir, bool maildrop, size_t max, char ***out, uint64_t *extra)
{
	DIR    *d = opendir(dir);
	struct dirent *de;
	char  **v = NULL;
	size_t  n = 0, cap = 0;

	*out = NULL;
	if (d == NULL) {
		log_warn("cannot read %s: %m", dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (!(maildrop ? maildrop_name_valid(de->d_name) : qid_valid(de->d_name)))
			continue;
		if (n == max) {
			(*extra)++;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xreallocarray(v, cap, sizeof(char *));
		}
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(char *), cmp_names);
	*out = v;
	return n;
}

/* read_one - one file's envelope into m; -1 when it is not listable */
static int
read_one(const char *queue, const char *name, struct qfile_env *env,
	 struct showq_msg *m, struct showq_rcpt **rcpts, char *sender, size_t sendersz)
{
	bool    maildrop = str_eq(queue, "maildrop");
	struct qfile_limits lim;
	char    path[128], why[256];
	int     fd;

	qfile_limits_default(&lim);
	if (maildrop) {
		lim.attr_count = MAILDROP_ATTR_COUNT + 1;
		lim.rcpt_max = (size_t) cfg->sendmail_recipient_limit;
		lim.hdr_max = 0;
	} else {
		lim.rcpt_max = (size_t) cfg->cleanup_recipient_limit;
		lim.hdr_max = cfg->header_size_limit + 65536;
	}
	lim.body_max = cfg->message_size_limit == 0 ? QFILE_BODY_ABS_MAX
		: cfg->message_size_limit + 65536;
	(void) str_fmt(path, sizeof(path), "%s/%s", queue, name);
	/* A plain file with one link; in the queues, one of ours (sf_open). */
	if ((fd = sf_open(AT_FDCWD, path, O_RDONLY, 0, maildrop ? SF_ANY_UID : geteuid(),
			  NULL, NULL)) < 0)
		return -1;
	if (qfile_read(fd, maildrop ? QF_MAILDROP : 0, maildrop ? NULL : name, &lim,
		       env, why, sizeof(why)) < 0) {
		close(fd);
		return -1;
	}
	close(fd);

	memset(m, 0, sizeof(*m));
	m->queue_id = name;
	m->queue = queue;
	m->arrival = (uint64_t) env->arrival.tv_sec;
	m->size = maildrop ? env->msg_len : env->hdr_len + 1 + env->body_len;
	m->sender = env->sender;
	if (maildrop) {
		const char *flags = qfile_env_attr(env, MAILDROP_A_FLAGS);
		const char *login = qfile_env_attr(env, MAILDROP_A_LOGIN);

		if ((flags == NULL || strchr(flags, MAILDROP_F_SENDER) == NULL) && login != NULL
		    && str_fmt(sender, sendersz, "%s@%s", login, cfg->myorigin) == 0)
			m->sender = sender;
	}
	*rcpts = env->nrcpts ? xcalloc(env->nrcpts, sizeof(**rcpts)) : NULL;
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct qfile_rcpt *r = &env->rcpts[i];

		if (r->status == QF_RCPT_DELIVERED || r->status == QF_RCPT_FAILED)
			continue;
		(*rcpts)[m->nrcpts].addr = r->address;
		(*rcpts)[m->nrcpts].reason = r->status == QF_RCPT_DEFERRED && r->reason
			? r->reason : "";
		m->nrcpts++;
	}
	m->rcpts = *rcpts;
	return 0;
}

/*
 * The clients.  One process serves them all from its event loop, so a
 * connection that says nothing, or reads its listing slowly, holds
 * nothing but its own small state.
 */
struct client {
	struct ipc_conn conn;
	struct ev_io io;
	struct ev_timer deadline;	/* request, then each step of progress */
	uid_t	uid;			/* SO_PEERCRED */
	bool	listing;		/* the request came */
	bool	done;			/* the end record is queued */
	size_t	q;			/* queue being listed */
	char  **names;			/* its files, sorted */
	size_t	n, i;
	uint64_t listed, omitted;
	struct client *prev, *next;
};

static struct client *clients;
static size_t nclients;
static struct ev_io listeners[MASTER_MAX_LISTEN];
static int nlisteners;
static struct log_rate warn_rate;

static size_t
uid_count(uid_t uid)
{
	size_t  n = 0;

	for (struct client *c = clients; c; c = c->next)
		n += c->uid == uid;
	return n;
}

static void
drop(struct ev_loop *loop, struct client *c)
{
	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->deadline);
	(void) close(c->conn.fd);
	ipc_conn_free(&c->conn);
	for (size_t k = c->i; k < c->n; k++)
		free(c->names[k]);
	free(c->names);
	if (c->prev)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	nclients--;
	if (server_stopping() && nclients == 0)
		server_exit(0);
}

/* produce - queue replies for c until its output is full or all is said */
static int
produce(struct client *c)
{
	size_t  limit = (size_t) cfg->showq_limit;
	struct ipc_msg out;

	while (!c->done && c->conn.out.len < SHOWQ_OUT_HIGH) {
		if (c->names == NULL && c->q < sizeof(queues) / sizeof(queues[0])) {
			c->n = collect(queues[c->q], str_eq(queues[c->q], "maildrop"),
				       limit - (size_t) c->listed, &c->names, &c->omitted);
			c->i = 0;
			if (c->names == NULL)
				c->q++;
			continue;
		}
		if (c->names != NULL && c->i < c->n) {
			struct qfile_env env;
			struct showq_msg m;
			struct showq_rcpt *rcpts = NULL;
			char    sender[1200];
			char   *name = c->names[c->i++];
			int     r = 0;

			if (read_one(queues[c->q], name, &env, &m, &rcpts, sender,
				     sizeof(sender)) == 0) {
				r = showq_msg_put(&out, &m) < 0 || ipc_conn_queue(&c->conn, &out, -1) < 0
				    ? -1 : 0;
				ipc_msg_free(&out);
				qfile_env_free(&env);
				free(rcpts);
				c->listed += r == 0;
			}
			free(name);
			if (r < 0)
				return -1;
			continue;
		}
		if (c->names != NULL) {
			free(c->names);
			c->names = NULL;
			c->q++;
			continue;
		}
		if (showq_end_put(&out, c->omitted) < 0 || ipc_conn_queue(&c->conn, &out, -1) < 0) {
			ipc_msg_free(&out);
			return -1;
		}
		ipc_msg_free(&out);
		c->done = true;
	}
	return 0;
}

/* step - make progress for c: read the request, then write the listing */
static void
step(struct ev_loop *loop, struct client *c)
{
	if (!c->listing) {
		struct ipc_in in;
		int     r;

		ipc_in_init_max(&in, 1024);
		r = ipc_conn_next(&c->conn, &in, NULL);
		if (r < 0 || (r == 1 && (in.type != SHOWQ_REQ_LIST || ipc_get_end(&in) < 0))) {
			ipc_in_free(&in);
			drop(loop, c);		/* not a client of ours */
			return;
		}
		ipc_in_free(&in);
		if (r == 0) {
			ev_io_start(loop, &c->io, EV_READ);
			return;
		}
		c->listing = true;
	}
	if (produce(c) < 0 || ipc_conn_flush(&c->conn) < 0) {
		drop(loop, c);			/* the client went away */
		return;
	}
	if (c->done && !ipc_conn_pending(&c->conn)) {
		drop(loop, c);
		return;
	}
	ev_timer_start(loop, &c->deadline, SHOWQ_TIMEOUT_MS);
	ev_io_start(loop, &c->io, EV_WRITE);
}

static void
client_cb(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct client *c = io->data;

	if (!c->listing && (revents & (EV_READ | EV_ERROR))) {
		ssize_t n = ipc_conn_read(&c->conn);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop(loop, c);
			return;
		}
	}
	step(loop, c);
}

static void
deadline_cb(struct ev_loop *loop, struct ev_timer *t)
{
	drop(loop, t->data);
}

/* admit - a new connection, within the bounds of its uid and of all */
static void
admit(struct ev_loop *loop, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct client *c;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		(void) close(fd);
		return;
	}
	if (nclients >= SHOWQ_CLIENTS_MAX
	    || (cr.uid != 0 && uid_count(cr.uid) >= SHOWQ_UID_CLIENTS)) {
		if (log_rate_ok(&warn_rate, ev_time_ms()))
			log_warn("refusing a listing for uid %ld: %s", (long) cr.uid,
				 nclients >= SHOWQ_CLIENTS_MAX ? "too many clients"
				 : "it has " STR(SHOWQ_UID_CLIENTS) " connections open already");
		(void) close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->uid = cr.uid;
	ipc_conn_init(&c->conn, fd, 1024);
	ev_io_init(&c->io, fd, client_cb, c);
	ev_timer_init(&c->deadline, deadline_cb, c);
	c->next = clients;
	if (clients)
		clients->prev = c;
	clients = c;
	nclients++;
	ev_io_start(loop, &c->io, EV_READ);
	ev_timer_start(loop, &c->deadline, SHOWQ_REQUEST_MS);
}

static void
listen_cb(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	(void) revents;
	for (int i = 0; i < 64; i++) {
		int     fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		admit(loop, fd);
	}
}

static void
showq_start(struct ev_loop *loop)
{
	log_rate_init(&warn_rate, 10, 60);
	for (int i = 0; i < server_listen_count() && i < MASTER_MAX_LISTEN; i++) {
		ev_io_init(&listeners[i], server_listen_fd(i), listen_cb, NULL);
		ev_io_start(loop, &listeners[i], EV_READ);
		nlisteners++;
	}
}

/* showq_stop - SIGTERM: no new clients; those listed to finish first */
static void
showq_stop(struct ev_loop *loop)
{
	struct client *c, *next;

	for (int i = 0; i < nlisteners; i++)
		ev_io_stop(loop, &listeners[i]);
	for (c = clients; c != NULL; c = next) {
		next = c->next;
		if (!c->listing)
			drop(loop, c);
	}
	if (nclients == 0)
		server_exit(0);
}

static const char *const params[] = {
	"cleanup_recipient_limit", "header_size_limit", "message_size_limit",
	"myorigin", "sendmail_recipient_limit", "showq_limit", NULL,
};

static const char *const syscalls[] = {
	NULL,
};

int
main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.model = SERVER_EVENT,
		.chroot = SERVER_CHROOT_MUST,
		.syscalls = syscalls,
		.params = params,
		.start = showq_start,
		.stop = showq_stop,
	};

	return server_main(argc, argv, &ops);
}
