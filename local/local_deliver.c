/*
 * NAME
 *	local_deliver - one delivery request, from checks to result
 * SYNOPSIS
 *	#include "local.h"
 *
 *	struct delivery_agent_result out;
 *	if (local_check_request(&request, queue_fd, &out) == 0)
 *		local_deliver(&request, i, queue_fd, &out);	// rcpts[i]
 *
 *	// several recipients (of several requests) committed together
 *	w1 = local_deliver_begin(&rq1, 0, fd1, &out1);	// NULL: out1 final
 *	w2 = local_deliver_begin(&rq2, 0, fd2, &out2);
 *	local_kept_flush();
 *	local_deliver_end(w1, &out1);
 *	local_deliver_end(w2, &out2);
 * DESCRIPTION
 *	local_check_request() checks a request (lib/svc/delivery.h) once for
 *	all its recipients: header and body within the bounds local reads
 *	(lib/svc/delivery_agent.c checked that they fit the descriptor).  On
 *	-1 out says why (a temporary failure for every recipient).
 *
 *	local_deliver() does everything for recipient rq->rcpts[which] of
 *	a checked request:
 *
 *	  1. (local_check_request() did the checks);
 *	  2. reads the stored header section and refuses a message that
 *	     already carries "Delivered-To:" for this recipient (a mail
 *	     loop, 5.4.6);
 *	  3. expands the recipient (local_expand() with the lookups of
 *	     local_lookup.c: aliases, the user, .forward, :include:);
 *	  4. delivers to each destination: a mailbox (mailbox_command, a
 *	     maildir or mbox in the home directory per home_mailbox, or
 *	     the mbox in mail_spool_directory), a file, a command, or
 *	     (all non-local addresses together) a new message through
 *	     cleanup;
 *	  5. reports one result: temporary when any destination failed
 *	     temporarily (the recipient is tried again as a whole; the
 *	     destinations that succeeded may then get a second copy, the
 *	     price of never losing one), else permanent when any failed
 *	     permanently, else delivered.
 *
 *	local_deliver() is local_deliver_begin() (steps 2 to 4),
 *	local_kept_flush() and local_deliver_end() (step 5, and the
 *	forwards of step 4).  Split, they let local hold several
 *	recipients at once (lib/svc/delivery_agent.h, group commit): a maildir
 *	in a user's home (home_mailbox ending in "/") is not written at
 *	once but queued for that user's delivery child
 *	(local_kept_queue()), and local_kept_flush() hands all of them
 *	over together, so that the child commits them with one sync of
 *	new/ (local_maildir.c); every other destination is delivered at
 *	once, in local_deliver_begin().  The outcome is decided only in
 *	local_deliver_end(), after the flush: nothing is reported
 *	delivered before it is on disk.  local_deliver_begin() returns
 *	NULL when out is final already (a loop, a failed lookup), else
 *	the state local_deliver_end() takes and frees; the request must
 *	stay where it is until then.
 *
 *	Every mailbox and file delivery runs in a child that first dropped
 *	to the user's uid and gid (local_drop_to()): the child kept for
 *	that user (local_kept.c), so that a run of messages to one user
 *	costs one fork, not one each.  A command's child is made by
 *	local_command_run() for each command.  Nothing else is started.
 *
 *	Mail for root (uid 0) is written to root's mailbox by a child that
 *	stays root, as Postfix does: dropping to the recipient's ids
 *	means keeping them here, and the mailbox is opened with the same
 *	checks (no link followed, one link, owner root), so a file
 *	planted by a user is refused, not written.  Commands never run as
 *	root: a mailbox_command for root is deferred with a reason that
 *	says to alias root to a real user, and files and commands from
 *	root's .forward or root-owned tables use default_privs.
 *
 *	When the recipient was expanded (alias, .forward), each
 *	destination's result is logged as "QUEUEID: expanded <RCPT>:
 *	DESTINATION: STATUS (TEXT)"; the "to=" line is the serving
 *	loop's (lib/svc/delivery_agent.c), once per recipient.
 * SECURITY
 *	Nothing in the request says whose rights to use: the recipient is
 *	looked up here.  The child drops privilege before it opens a
 *	mailbox, a file, or a user's directory (root's mailbox excepted,
 *	see above).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "delivery.h"
#include "delivery_agent.h"
#include "header.h"
#include "local.h"
#include "local_lookup.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "qfile.h"
#include "str.h"

#define HDR_SLACK	(64 * 1024)

/*
 * Children.
 */

/*
 * in_child - run job j as uid/gid; its result comes back in r.  A
 * user's job goes to the child kept for that user (local_kept.c), at
 * once or, with later, at the next local_kept_flush() together with
 * that user's other jobs (r is filled in then); root's mailbox gets a
 * child of its own that stays root, at once.
 */
static void
in_child(uid_t uid, gid_t gid, gid_t extra, const struct local_job *j,
	 struct local_result *r, bool later)
{
	struct local_result res;
	struct pollfd pfd;
	int     p[2], status, timeout;
	size_t  got = 0;
	pid_t   pid;

	if (uid != 0 && later) {
		local_kept_queue(uid, gid, extra, j, r);
		return;
	}
	if (uid != 0) {
		local_kept_deliver(uid, gid, extra, j, r);
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		local_result_set(r, 4, "4.3.0", "cannot make a pipe: %s", strerror(errno));
		return;
	}
	if ((pid = fork()) < 0) {
		local_result_set(r, 4, "4.3.0", "cannot fork: %s", strerror(errno));
		(void) close(p[0]);
		(void) close(p[1]);
		return;
	}
	if (pid == 0) {
		(void) close(p[0]);
		/*
		 * The recipient's own ids, root's: the child then writes
		 * only that mailbox, opened with the same checks (no link
		 * followed, one link, owned by root).
		 */
		local_root_child();
		memset(&res, 0, sizeof(res));
		local_result_set(&res, 4, "4.3.0", "delivery process gave no result");
		local_job_run(j, uid, &res);
		/* One write, under PIPE_BUF: the parent gets all of it or none. */
		_exit(write(p[1], &res, sizeof(res)) == (ssize_t) sizeof(res) ? 0 : 1);
	}
	(void) close(p[1]);
	timeout = cfg->command_time_limit > 86400 ? 86400000
	    : (int) cfg->command_time_limit * 1000;
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (got < sizeof(res)) {
		ssize_t n;
		int     k = poll(&pfd, 1, timeout);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n = read(p[0], (char *) &res + got, sizeof(res) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t) n;
	}
	(void) close(p[0]);
	if (got < sizeof(res))
		(void) kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got < sizeof(res)) {
		if (WIFEXITED(status))
			local_result_set(r, 4, "4.3.0", "delivery process failed "
					 "(exit status %d)", WEXITSTATUS(status));
		else
			local_result_set(r, 4, "4.3.0", "delivery process killed "
					 "(signal %d)", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		return;
	}
	/* Never trust the child's text to be terminated or clean. */
	res.dsn[sizeof(res.dsn) - 1] = '\0';
	res.text[sizeof(res.text) - 1] = '\0';
	if ((res.status != 0 && res.status != 4 && res.status != 5)
	    || res.dsn[0] != (res.status == 0 ? '2' : res.status == 4 ? '4' : '5')) {
		local_result_set(r, 4, "4.3.0", "delivery process sent a bad result");
		return;
	}
	local_result_set(r, res.status, res.dsn, "%s", res.text);
}

static void
mbox_opts(struct local_mbox_opts *o, uid_t uid)
{
	memset(o, 0, sizeof(*o));
	if (local_mbox_locks(cfg->mailbox_delivery_lock, &o->use_fcntl, &o->use_dotlock) < 0) {
		log_warn("mailbox_delivery_lock = %s: only fcntl and dotlock are "
			 "known; using both", cfg->mailbox_delivery_lock);
		o->use_fcntl = o->use_dotlock = true;
	}
	o->lock_attempts = (int) cfg->deliver_lock_attempts;
	o->lock_delay_ms = (int) cfg->deliver_lock_delay * 1000;
	o->size_limit = cfg->mailbox_size_limit;
	o->want_uid = uid;
	o->stale_secs = (int) cfg->stale_lock_time;
}

/*
 * Destinations.
 */

/* env_for - the environment of a command for destination d */
static void
env_for(struct local_env *e, const struct local_dest *d, const struct local_msg *m)
{
	char    local[ADDR_LOCAL_MAX * 4 + 1], domain[ADDR_DOMAIN_MAX + 1];
	char    user[sizeof(local)];
	struct local_env_vals v;
	char   *ext = NULL;

	memset(&v, 0, sizeof(v));
	if (addr_split(d->address, local, sizeof(local), domain, sizeof(domain)) == 0) {
		(void) str_copy(user, sizeof(user), local);
		ext = addr_strip_extension(user, cfg->recipient_delimiter, NULL);
		v.local = local;
		v.domain = domain;
	}
	v.sender = m->sender;
	v.recipient = d->address;
	v.extension = ext ? ext : "";
	v.home = d->user.home;
	v.user = d->user.name;
	v.shell = d->user.shell;
	v.path = cfg->command_path;
	local_env_build(e, &v);
	if (e->omitted > 0)
		log_warn("%s: not passed to a command (unsafe characters or too long): %s",
			 m->queue_id, e->omitted_names);
}

static void
run_command(const char *command, const struct local_dest *d,
	    const struct local_msg *m, struct local_result *r)
{
	struct local_command c;
	struct local_env e;
	struct buf output;

	env_for(&e, d, m);
	memset(&c, 0, sizeof(c));
	c.command = command;
	c.uid = d->user.uid;
	c.gid = d->user.gid;
	c.cwd = d->user.home[0] ? d->user.home : NULL;
	c.envp = e.vars;
	c.time_limit = cfg->command_time_limit;
	c.output_limit = (size_t) cfg->command_output_limit;
	buf_init(&output, c.output_limit + 1);
	local_command_run(&c, m, m->rcpt, r, &output);
	buf_free(&output);
	local_env_free(&e);
}

static void
deliver_mailbox(const struct local_dest *d, const struct local_msg *m,
		struct local_result *r)
{
	const struct local_user *u = &d->user;
	char    path[2 * LOCAL_PATH_MAX + 2];

	if (cfg->mailbox_command[0] != '\0') {
		if (u->uid == 0 || u->gid == 0) {
			/* Commands never run as root. */
			local_result_set(r, 4, "4.3.0", "not running mailbox_command for %s "
					 "(uid or gid 0): commands never run as root; alias "
					 "%s to a real user (\"%s: someone\" in the aliases "
					 "file, then newaliases)", u->name, u->name, u->name);
			return;
		}
		run_command(cfg->mailbox_command, d, m, r);
		if (r->status == 0)
			local_result_set(r, 0, "2.0.0", "delivered to command: %.100s",
					 cfg->mailbox_command);
		return;
	}
	if (cfg->home_mailbox[0] != '\0') {
		if (str_fmt(path, sizeof(path), "%s/%s", u->home, cfg->home_mailbox) < 0) {
			local_result_set(r, 5, "5.3.5", "mailbox path too long for %s", u->name);
			return;
		}
		if (path[strlen(path) - 1] == '/') {
			struct local_job j = {LJ_MAILDIR, path, m, m->rcpt, {0}};

			in_child(u->uid, u->gid, (gid_t) -1, &j, r, true);
		} else {
			struct local_job j = {LJ_MBOX, path, m, m->rcpt, {0}};

			mbox_opts(&j.o, u->uid);
			in_child(u->uid, u->gid, (gid_t) -1, &j, r, false);
		}
		return;
	}
	/* The spool: a shared directory, maybe writable by its group only. */
	{
		struct local_job j = {LJ_MBOX, path, m, m->rcpt, {0}};
		struct stat st;
		gid_t   extra = (gid_t) -1;

		if (str_fmt(path, sizeof(path), "%s/%s", cfg->mail_spool_directory,
			    u->name) < 0) {
			local_result_set(r, 5, "5.3.5", "mailbox path too long for %s", u->name);
			return;
		}
		if (local_spool_check(cfg->mail_spool_directory, u, r) < 0)
			return;
		if (stat(cfg->mail_spool_directory, &st) == 0
		    && !(st.st_mode & S_IWOTH) && (st.st_mode & S_IWGRP) && st.st_gid != 0)
			extra = st.st_gid;
		mbox_opts(&j.o, u->uid);
		in_child(u->uid, u->gid, extra, &j, r, false);
	}
}

static void
deliver_file(const struct local_dest *d, const struct local_msg *m,
	     struct local_result *r)
{
	const struct local_user *u = &d->user;
	size_t  n = strlen(d->target);

	if (str_eq(d->target, "/dev/null")) {
		local_result_set(r, 0, "2.0.0", "delivered to file: /dev/null");
		return;
	}
	if (d->target[n - 1] == '/') {
		struct local_job j = {LJ_MAILDIR, d->target, m, m->rcpt, {0}};

		in_child(u->uid, u->gid, (gid_t) -1, &j, r, false);
	} else {
		struct local_job j = {LJ_MBOX, d->target, m, m->rcpt, {0}};

		mbox_opts(&j.o, u->uid);
		in_child(u->uid, u->gid, (gid_t) -1, &j, r, false);
	}
	if (r->status == 0)
		local_result_set(r, 0, "2.0.0", "delivered to file: %.200s", d->target);
}

/* describe - a destination for the log */
static void
describe(const struct local_dest *d, char *out, size_t size)
{
	switch (d->kind) {
	case LD_MAILBOX:
		(void) str_fmt(out, size, "mailbox of %s", d->target);
		break;
	case LD_FILE:
		(void) str_fmt(out, size, "file %.200s (as %s)", d->target, d->user.name);
		break;
	case LD_COMMAND:
		(void) str_fmt(out, size, "command (as %s)", d->user.name);
		break;
	case LD_FORWARD:
		(void) str_fmt(out, size, "forward to <%s>", d->target);
		break;
	}
	for (char *p = out; *p; p++)
		if ((unsigned char) *p < ' ' || *p == 0x7f)
			*p = '?';
}

/*
 * Checks before anything is delivered.
 */

/*
 * local_check_request - the bounds local reads within (the loop checked
 * that the offsets fit the descriptor: delivery_agent_fits())
 */
int
local_check_request(const struct delivery_request *rq, int qfd,
		    struct delivery_agent_result *out)
{
	(void) qfd;
	if (rq->hdr_len > cfg->header_size_limit + HDR_SLACK
	    || rq->body_len > QFILE_BODY_ABS_MAX) {
		delivery_agent_set(out, DELIVERY_DEFER, "4.3.0", "message too large for "
				   "local delivery (header %llu, body %llu bytes)",
				   (unsigned long long) rq->hdr_len,
				   (unsigned long long) rq->body_len);
		return -1;
	}
	return 0;
}

/* looping - true when the header has Delivered-To: rcpt */
static int
looping(int qfd, const struct delivery_request *rq, const char *rcpt, bool *loop)
{
	struct header_iter it;
	struct header h;
	struct buf v;
	char   *hdr;
	ssize_t n;
	int     r;

	*loop = false;
	if (rq->hdr_len == 0)
		return 0;
	hdr = xmalloc((size_t) rq->hdr_len);
	n = pread(qfd, hdr, (size_t) rq->hdr_len, (off_t) rq->hdr_off);
	if (n < 0 || (uint64_t) n != rq->hdr_len) {
		free(hdr);
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	buf_init(&v, LOCAL_ADDR_MAX * 2);
	header_iter_init(&it, hdr, (size_t) rq->hdr_len, (size_t) rq->hdr_len);
	while ((r = header_next(&it, &h)) != HEADER_END && !*loop) {
		char   *t;

		if (r != HEADER_NEXT || !header_name_is(&h, "Delivered-To"))
			continue;
		buf_reset(&v);
		(void) header_unfold(h.value, h.value_len, &v);
		t = str_trim(v.data);
		if (*t == '<' && t[strlen(t) - 1] == '>') {
			t[strlen(t) - 1] = '\0';
			t++;
		}
		if (str_casecmp(t, rcpt) == 0)
			*loop = true;
	}
	buf_free(&v);
	free(hdr);
	return 0;
}

/* default_privs - looked up once per process (it retires soon anyway) */
static int
default_privs(struct local_user *u, struct delivery_agent_result *out)
{
	static struct local_user cached;
	static bool have;
	char    why[LOCAL_TEXT_MAX];

	if (!have) {
		why[0] = '\0';
		if (local_lookup_user_name(cfg->default_privs, &cached, why,
					   sizeof(why)) != 1 || cached.uid == 0) {
			delivery_agent_set(out, DELIVERY_DEFER, "4.3.0", "default_privs user \"%s\" %s",
				cfg->default_privs, why[0] ? why : "does not exist or is root");
			return -1;
		}
		have = true;
	}
	*u = cached;
	return 0;
}

void *
local_deliver_begin(const struct delivery_request *rq, size_t which, int qfd,
		    struct delivery_agent_result *out)
{
	const char *rcpt = rq->rcpts[which].address;
	struct local_expand_params p;
	struct local_work *w;
	bool    loop;
	char    local[ADDR_LOCAL_MAX * 4 + 1], domain[ADDR_DOMAIN_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (looping(qfd, rq, rcpt, &loop) < 0) {
		delivery_agent_set(out, DELIVERY_DEFER, "4.3.0", "cannot read the queue file: %s",
			strerror(errno));
		return NULL;
	}
	if (loop) {
		delivery_agent_set(out, DELIVERY_BOUNCE, "5.4.6", "mail forwarding loop for %s",
			rcpt);
		return NULL;
	}

	memset(&p, 0, sizeof(p));
	p.delimiters = cfg->recipient_delimiter;
	p.recursion_limit = (int) cfg->local_recursion_limit;
	p.expansion_limit = (int) cfg->expansion_limit;
	p.dup_limit = (int) cfg->duplicate_filter_limit;
	p.commands_allowed = cfg->allow_mail_to_commands;
	p.files_allowed = cfg->allow_mail_to_files;
	if (default_privs(&p.default_privs, out) < 0)
		return NULL;

	w = xcalloc(1, sizeof(*w));
	w->rq = rq;
	w->which = which;
	w->m.qfd = qfd;
	w->m.queue_id = rq->queue_id;
	w->m.sender = rq->sender;
	w->m.rcpt = rcpt;
	w->m.hdr_off = (off_t) rq->hdr_off;
	w->m.hdr_len = rq->hdr_len;
	w->m.body_off = (off_t) rq->body_off;
	w->m.body_len = rq->body_len;
	w->m.arrival = (time_t) rq->arrival;

	local_lookup_refresh();
	(void) local_expand(rcpt, &local_lookup_ops, NULL, &p, &w->e);
	if (w->e.status == 4) {
		delivery_agent_set(out, DELIVERY_DEFER, w->e.dsn, "%s", w->e.text);
		local_expansion_free(&w->e);
		free(w);
		return NULL;
	}

	/* Was the recipient rewritten (alias, .forward)?  Then log each. */
	w->expanded = w->e.n != 1;
	if (w->e.n == 1 && (w->e.dests[0].kind != LD_MAILBOX
			    || addr_split(rcpt, local, sizeof(local), domain,
					  sizeof(domain)) < 0
			    || str_casecmp(local, w->e.dests[0].target) != 0))
		w->expanded = true;

	w->res = xcalloc(w->e.n + 1, sizeof(*w->res));
	for (size_t i = 0; i < w->e.n; i++) {
		const struct local_dest *d = &w->e.dests[i];

		switch (d->kind) {
		case LD_MAILBOX:
			deliver_mailbox(d, &w->m, &w->res[i]);
			break;
		case LD_FILE:
			deliver_file(d, &w->m, &w->res[i]);
			break;
		case LD_COMMAND:
			run_command(d->target, d, &w->m, &w->res[i]);
			break;
		case LD_FORWARD:
			break;			/* together, in local_deliver_end() */
		}
	}
	return w;
}

void
local_deliver_end(void *state, struct delivery_agent_result *out)
{
	struct local_work *w = state;
	const struct delivery_request *rq = w->rq;
	const char *rcpt = rq->rcpts[w->which].address;
	struct local_expansion *e = &w->e;
	struct local_result *res = w->res;
	const char **fwd;
	size_t  nfwd = 0, ntemp = 0, nperm = 0, first_temp = 0, first_perm = 0;

	fwd = xcalloc(e->n + 1, sizeof(*fwd));
	for (size_t i = 0; i < e->n; i++)
		if (e->dests[i].kind == LD_FORWARD)
			fwd[nfwd++] = e->dests[i].target;
	if (nfwd > 0) {
		struct local_result fr;

		local_forward(&w->m, fwd, nfwd, rcpt, &fr);
		for (size_t i = 0; i < e->n; i++)
			if (e->dests[i].kind == LD_FORWARD)
				res[i] = fr;
	}

	for (size_t i = 0; i < e->n; i++) {
		if (w->expanded) {
			char    what[LOCAL_PATH_MAX];

			describe(&e->dests[i], what, sizeof(what));
			log_info("%s: expanded <%s>: %s: %s, dsn=%s (%s)", rq->queue_id,
				 rcpt, what, res[i].status == 0 ? "sent"
				 : res[i].status == 4 ? "deferred" : "bounced",
				 res[i].dsn, res[i].text);
		}
		if (res[i].status == 4 && ntemp++ == 0)
			first_temp = i;
		if (res[i].status == 5 && nperm++ == 0)
			first_perm = i;
	}

	if (ntemp > 0) {
		delivery_agent_set(out, DELIVERY_DEFER, res[first_temp].dsn, "%s", res[first_temp].text);
	} else if (nperm > 0) {
		delivery_agent_set(out, DELIVERY_BOUNCE, res[first_perm].dsn, "%s", res[first_perm].text);
	} else if (e->status == 5) {
		delivery_agent_set(out, DELIVERY_BOUNCE, e->dsn, "%s", e->text);
	} else if (e->n == 1) {
		delivery_agent_set(out, DELIVERY_SENT, res[0].dsn, "%s", res[0].text);
	} else {
		struct buf b;

		buf_init(&b, sizeof(out->text) - 1);
		(void) buf_appendf(&b, "delivered to %zu destinations", e->n);
		for (size_t i = 0; i < e->n && i < 10; i++)
			if (buf_appendf(&b, "%s%s", i ? "; " : ": ", res[i].text) < 0)
				break;
		delivery_agent_set(out, DELIVERY_SENT, "2.0.0", "%s", b.data);
		buf_free(&b);
	}
	/* A failed branch of an expansion goes with a delivered one. */
	if (out->status == DELIVERY_SENT && e->status == 5)
		delivery_agent_set(out, DELIVERY_BOUNCE, e->dsn, "%s", e->text);
	free(res);
	free(fwd);
	local_expansion_free(e);
	free(w);
}

void
local_deliver(const struct delivery_request *rq, size_t which, int qfd,
	      struct delivery_agent_result *out)
{
	void   *w = local_deliver_begin(rq, which, qfd, out);

	if (w == NULL)
		return;
	local_kept_flush();
	local_deliver_end(w, out);
}
