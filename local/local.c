/*
 * NAME
 *	local - the local delivery agent
 * SYNOPSIS
 *	local -c config_dir -n local -t unix	(started by the master)
 * DESCRIPTION
 *	local delivers mail for local recipients: to mailboxes (mbox in
 *	mail_spool_directory or in the home directory, or maildir, per
 *	home_mailbox), to mailbox_command, and to the files, commands,
 *	:include: lists and addresses that aliases (alias_maps) and
 *	users' .forward files name.  Addresses in other domains named
 *	there are sent on as a new message through cleanup.
 *
 *	It serves qmgr over private/local, one connection at a time (a
 *	single-client server; the master starts more processes as qmgr
 *	opens more connections, up to the service's maxproc in
 *	master.cf).  A connection carries any number of requests until
 *	qmgr closes it.
 *
 *	How a recipient is expanded and delivered: local_deliver.c and
 *	local_expand.c.  Result for each request: delivered, deferred or
 *	bounced, with an RFC 3463 status code and a reason that qmgr logs
 *	and puts in a bounce.
 * PROTOCOL
 *	private/local speaks the delivery protocol of every transport
 *	(lib/svc/delivery.h, docs/INTERNALS.md "Delivery agents"): a greeting
 *	(DELIVERY_HELLO, agent "local", pipeline LOCAL_PIPELINE) when a
 *	connection is accepted, then any number of requests, each with
 *	the queue file's descriptor and N recipients, answered with one
 *	result per recipient (0 delivered, 4 deferred, 5 bounced, with an
 *	RFC 3463 code and a reason), in the order the requests came.  qmgr
 *	sends one recipient per request by default
 *	(local_destination_recipient_limit = 1, as in Postfix), and up to
 *	LOCAL_PIPELINE requests for one user before their replies.  A
 *	malformed request ends the connection (after a warning) once the
 *	requests before it are answered.
 * GROUP COMMIT
 *	The requests that are waiting when one arrives are taken with it
 *	(never waiting for more: a quiet server delivers each alone), and
 *	their maildir deliveries to one user are written by that user's
 *	delivery child together and made durable with one sync of new/
 *	(lib/svc/delivery_agent.c, local_deliver.c, local_kept.c,
 *	local_maildir.c).  Each recipient is logged and answered only
 *	after that.
 * SECURITY
 *	local is the only postern daemon that keeps root: it must become
 *	each recipient in turn.  It is not chrooted (it needs the user
 *	database, home directories and alias tables) and does not listen
 *	on anything but private/local (mode 0600, mail_owner), and it
 *	takes connections only from mail_owner or root (SO_PEERCRED).
 *
 *	It trusts nothing in a request: it looks the recipient up
 *	itself, checks every offset against the descriptor, and never
 *	lets an envelope address name a file or a command.  Each delivery
 *	runs in a child that first drops to the recipient's uid and gid
 *	(or, for files and commands from aliases, to the alias table's
 *	owner or default_privs), verified as lib/util/priv.c does, and only
 *	then opens a mailbox or runs a command.  A mailbox or file
 *	delivery child is kept for that user's next deliveries
 *	(local_kept.c: same uid, gid and groups only, at most 1,000 jobs,
 *	closed after 2 s idle, killed with local), so a run of messages
 *	to one user costs one fork; it opens and checks the mailbox
 *	afresh for every job.  Mailboxes are opened
 *	without following symbolic links and checked after the open
 *	(regular file, one link, the recipient's).  Commands run as
 *	`/bin/sh -c TEXT` only for text that the administrator (aliases)
 *	or the user (.forward) wrote, with a clean environment (local_env.c)
 *	whose values were checked, a time limit, and bounded output.
 * LOGGING
 *	The result of each recipient, as Postfix's local does
 *	("QUEUEID: to=<...>, relay=local, delay=..., delays=a/b/0/d,
 *	dsn=2.0.0, status=sent (delivered to maildir)"); warnings; and one
 *	line per destination of an expanded recipient
 *	("QUEUEID: expanded <RCPT>: mailbox of alice: sent, dsn=2.0.0
 *	(delivered to mailbox)").
 * CONFIGURATION PARAMETERS
 *	alias_maps, allow_mail_to_commands, allow_mail_to_files,
 *	command_output_limit, command_path, command_time_limit,
 *	default_privs, deliver_lock_attempts, deliver_lock_delay, stale_lock_time,
 *	duplicate_filter_limit, expansion_limit, forward_path,
 *	home_mailbox, local_recursion_limit, mail_spool_directory,
 *	mailbox_command, mailbox_delivery_lock, mailbox_size_limit,
 *	mydestination, myhostname, recipient_delimiter, max_idle, max_use.
 * BUGS
 *	A recipient that expands to several destinations is retried as a
 *	whole after a temporary failure of one of them, so the others may
 *	get the message twice.  Root's mailbox is written by a child that
 *	stays root (with the usual open checks); a mailbox_command is
 *	never run for root.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "delivery_agent.h"
#include "event.h"
#include "ipc.h"
#include "local.h"
#include "local_lookup.h"
#include "log.h"
#include "params.h"
#include "priv.h"
#include "server.h"


#define LOCAL_PIPELINE	DELIVERY_PIPELINE_MAX	/* requests held at once */

static uid_t mail_owner_uid = (uid_t) -1;

static void
local_pre_jail(void)
{
	struct priv_user u;

	if (geteuid() != 0)
		log_fatal("local must run as root (it becomes each recipient in "
			  "turn); master.cf must say unpriv=n for it");
	if (priv_lookup(cfg->mail_owner, &u) == 0)
		mail_owner_uid = u.uid;
	local_lookup_open();
}

/* peer_ok - only qmgr (mail_owner) and root may ask for deliveries */
static bool
peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	if (cr.uid == 0 || cr.uid == mail_owner_uid)
		return true;
	log_warn("refusing a delivery request from uid %ld (not mail_owner)",
		 (long) cr.uid);
	return false;
}

/*
 * wait_request - server_wait_request() for max_idle, closing kept
 * delivery children on the way as they fall idle (local_kept.c)
 */
static int
wait_request(int fd)
{
	uint64_t end = ev_time_ms() + cfg->max_idle * 1000;

	for (;;) {
		uint64_t now = ev_time_ms();
		int     ms, kept_ms, r;

		if (now >= end) {
			errno = ETIMEDOUT;
			return 0;
		}
		ms = (int) (end - now);
		if ((kept_ms = local_kept_wait_ms()) >= 0 && kept_ms < ms)
			ms = kept_ms;
		r = server_wait_request(fd, ms);
		if (r != 0 || errno != ETIMEDOUT || server_stopping())
			return r;
		local_kept_expire();
	}
}

static const struct delivery_agent agent = {
	.name = "local",
	.relay = "local",
	.check = local_check_request,
	.deliver = local_deliver,
	.wait = wait_request,
	.pipeline = LOCAL_PIPELINE,
	.begin = local_deliver_begin,
	.commit = local_kept_flush,
	.end = local_deliver_end,
};

static void
local_serve(int fd)
{
	if (peer_ok(fd))
		delivery_agent_serve(fd, &agent);
}

static void
local_exit(void)
{
	local_kept_close_all();
	local_lookup_close();
}

static const char *const talks[] = {
	"private/cleanup", NULL,
};
static const char *const params[] = {
	"alias_maps", "allow_mail_to_commands", "allow_mail_to_files",
	"command_output_limit", "command_path", "command_time_limit",
	"default_privs", "deliver_lock_attempts", "deliver_lock_delay",
	"duplicate_filter_limit", "expansion_limit", "forward_path",
	"header_size_limit", "home_mailbox", "local_recursion_limit",
	"mail_spool_directory", "mailbox_command", "mailbox_delivery_lock",
	"mailbox_size_limit", "mydestination", "myhostname",
	"recipient_delimiter", "smtpd_spool_directory", "stale_lock_time", NULL,
};

static const struct server_ops ops = {
	.model = SERVER_SINGLE,
	.chroot = SERVER_CHROOT_NEVER,
	.talks = talks,
	.params = params,
	.allow_root = true,
	.pre_jail = local_pre_jail,
	.serve = local_serve,
	.on_exit = local_exit,
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
