/*
 * NAME
 *	local_forward - send a message on to non-local destinations
 * SYNOPSIS
 *	#include "local.h"
 *
 *	local_forward(&msg, addrs, n, rcpt, &result);
 * DESCRIPTION
 *	An alias or .forward that names an address in another domain
 *	makes a new message: the same envelope sender, the destinations
 *	as recipients, and the content "Delivered-To: RECIPIENT", the
 *	stored header, an empty line and the stored body.  The
 *	Delivered-To line is what lets the next delivery to RECIPIENT
 *	see the loop when the mail comes back.
 *
 *	The content is written to an unnamed file in the spool directory
 *	under the queue directory (local's working directory), with
 *	copy_file_range() from the queue file, and the file is handed to
 *	cleanup (lib/svc/cleanup_spool.h, blocking: local serves one request
 *	at a time anyway), at most LOCAL_FORWARD_BATCH recipients per
 *	submission.
 *
 *	Result: 2.0.0 "forwarded as QUEUEID"; cleanup's answer when it
 *	refused (4.x.x or 5.x.x); 4.3.0 when the file cannot be written.
 * SECURITY
 *	local is root, and the spool directory and private/ belong to
 *	mail_owner, who may put a link to any socket in place of
 *	private/cleanup.  The file is made and cleanup is reached with
 *	mail_owner's effective ids (priv_as_begin()), so the kernel lets
 *	local reach only what mail_owner could.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup_clnt.h"
#include "cleanup_spool.h"
#include "local.h"
#include "params.h"
#include "priv.h"
#include "safefile.h"
#include "str.h"

#define LOCAL_FORWARD_BATCH	1000

static void forward_as_owner(const struct local_msg *m, const char *const *addrs,
			     size_t n, const char *delivered_to, struct local_result *r);

void
local_forward(const struct local_msg *m, const char *const *addrs, size_t n,
	      const char *delivered_to, struct local_result *r)
{
	struct priv_user owner;
	struct priv_as as;

	/*
	 * The spool directory and private/cleanup are mail_owner's: what
	 * local does there it does as mail_owner, so a link planted in
	 * place of the socket cannot lead root to another one.
	 */
	if (priv_lookup(cfg->mail_owner, &owner) < 0) {
		local_result_set(r, 4, "4.3.0", "cannot forward: mail_owner %s: %s",
				 cfg->mail_owner, strerror(errno));
		return;
	}
	priv_as_begin(owner.uid, owner.gid, &as);
	forward_as_owner(m, addrs, n, delivered_to, r);
	priv_as_end(&as);
}

static void
forward_as_owner(const struct local_msg *m, const char *const *addrs, size_t n,
		 const char *delivered_to, struct local_result *r)
{
	struct cleanup_rcpt_in rcpts[LOCAL_FORWARD_BATCH];
	struct cleanup_envelope env;
	struct cleanup_result res;
	struct cleanup_spool sp;
	char    head[LOCAL_PATH_MAX + 64], ids[LOCAL_TEXT_MAX / 2];
	int     saved;

	if (cleanup_spool_open(&sp, cfg->smtpd_spool_directory, false) < 0) {
		local_result_set(r, 4, "4.3.0", "cannot create a file in %s to forward "
				 "the message: %s", cfg->smtpd_spool_directory,
				 strerror(errno));
		return;
	}
	if (str_fmt(head, sizeof(head), "Delivered-To: %s\n", delivered_to) < 0
	    || cleanup_spool_write(&sp, head, strlen(head)) < 0
	    || local_copy_range(m->qfd, m->hdr_off, m->hdr_len, sp.fd) < 0
	    || cleanup_spool_write(&sp, "\n", 1) < 0
	    || local_copy_range(m->qfd, m->body_off, m->body_len, sp.fd) < 0
	    || cleanup_spool_written(&sp) < 0) {
		saved = errno;
		cleanup_spool_close(&sp);
		local_result_set(r, 4, local_errno_dsn(saved, "4.3.0")[0] == '5' ? "4.3.0"
				 : local_errno_dsn(saved, "4.3.0"),
				 "cannot write the message to forward: %s", strerror(saved));
		return;
	}

	ids[0] = '\0';
	for (size_t done = 0; done < n;) {
		size_t  k = n - done < LOCAL_FORWARD_BATCH ? n - done : LOCAL_FORWARD_BATCH;

		memset(&env, 0, sizeof(env));
		env.flags = 0;
		env.protocol = "local";
		env.uid = -1;
		env.sender = m->sender;
		for (size_t i = 0; i < k; i++) {
			memset(&rcpts[i], 0, sizeof(rcpts[i]));
			rcpts[i].addr = addrs[done + i];
		}
		env.rcpts = rcpts;
		env.nrcpts = k;
		if (cleanup_spool_submit(&sp, &env, &res) != CLEANUP_STAT_OK) {
			const char *text;
			char    dsn[10];
			int     status;

			cleanup_spool_refusal(&res, &status, dsn, sizeof(dsn), &text);
			local_result_set(r, status, dsn, "cannot forward to <%s>: %s",
					 addrs[done], text);
			cleanup_spool_close(&sp);
			return;
		}
		if (ids[0] != '\0')
			(void) str_append(ids, sizeof(ids), " ");
		(void) str_append(ids, sizeof(ids), res.queue_id);
		done += k;
	}
	cleanup_spool_close(&sp);
	local_result_set(r, 0, "2.0.0", "forwarded as %s", ids);
}
