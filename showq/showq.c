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
 *	queue IDs) with lib/qfile.h, and sends one reply per message:
 *	queue ID (for maildrop/, the file's name), queue, arrival time,
 *	size of the content, sender, and the recipients that are not yet
 *	delivered, each with its last deferral reason.  For a maildrop
 *	file that has no -f sender the sender shown is LOGIN@$myorigin,
 *	as pickup will make it.  Files that are not (or no longer) valid
 *	are skipped: they are the queue manager's or pickup's business.
 * WIRE PROTOCOL
 *	docs/INTERNALS.md, "showq", and lib/showq_clnt.h: SHOWQ_REQ_LIST
 *	with no records; replies SHOWQ_REP_MSG (one per message) and
 *	SHOWQ_REP_END ("omitted": messages not listed).
 * SECURITY
 *	showq talks to any local user.  It runs as mail_owner, chrooted
 *	into the queue directory; it reads the request with a small bound
 *	and nothing else from the client, opens queue files read-only
 *	with sf_open() (no symlink followed, a plain file with one link,
 *	mail_owner's outside maildrop/), and never writes anything.  What it
 *	shows is what mailq has always shown every user: envelope
 *	addresses, sizes, times and deferral reasons, never content.
 * BOUNDS
 *	showq_limit messages per listing (the rest are counted);
 *	recipients of one message up to what fits SHOWQ_MSG_MAX bytes (the
 *	rest counted in "more"); each reply is written within
 *	SHOWQ_TIMEOUT_MS, or the client is dropped.
 * CONFIGURATION PARAMETERS
 *	showq_limit, myorigin, header_size_limit, message_size_limit,
 *	cleanup_recipient_limit, sendmail_recipient_limit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "params.h"
#include "qfile.h"
#include "qid.h"
#include "safefile.h"
#include "server.h"
#include "showq_clnt.h"
#include "str.h"

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

static void
showq_serve(int fd)
{
	struct ipc_in in;
	struct ipc_msg out;
	uint64_t listed = 0, omitted = 0;
	size_t  limit = (size_t) cfg->showq_limit;

	ipc_in_init_max(&in, 1024);
	if (ipc_recv(fd, &in, NULL, SHOWQ_TIMEOUT_MS) != 0 || in.type != SHOWQ_REQ_LIST
	    || ipc_get_end(&in) < 0) {
		ipc_in_free(&in);
		return;				/* not a client of ours */
	}
	ipc_in_free(&in);

	for (size_t q = 0; q < sizeof(queues) / sizeof(queues[0]); q++) {
		char  **names;
		size_t  n = collect(queues[q], str_eq(queues[q], "maildrop"),
				    limit - (size_t) listed, &names, &omitted);
		bool    gone = false;

		for (size_t i = 0; i < n; i++) {
			struct qfile_env env;
			struct showq_msg m;
			struct showq_rcpt *rcpts = NULL;
			char    sender[1200];

			if (!gone && read_one(queues[q], names[i], &env, &m, &rcpts, sender,
					      sizeof(sender)) == 0) {
				if (showq_msg_put(&out, &m) < 0
				    || ipc_send(fd, &out, -1, SHOWQ_TIMEOUT_MS) < 0)
					gone = true;	/* the client went away */
				else
					listed++;
				ipc_msg_free(&out);
				qfile_env_free(&env);
				free(rcpts);
			}
			free(names[i]);
		}
		free(names);
		if (gone)
			return;
	}
	if (showq_end_put(&out, omitted) == 0)
		(void) ipc_send(fd, &out, -1, SHOWQ_TIMEOUT_MS);
	ipc_msg_free(&out);
}

int
main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.model = SERVER_SINGLE,
		.serve = showq_serve,
	};

	return server_main(argc, argv, &ops);
}
