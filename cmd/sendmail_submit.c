/*
 * NAME
 *	sendmail_submit - one message from standard input, through postdrop
 * DESCRIPTION
 *	See sendmail.h.  sendmail runs as the invoking user and cannot
 *	write the queue; postdrop (set-group-id postdrop) can write
 *	maildrop/ and nothing else.  sendmail starts it with a fixed
 *	argument vector and an empty environment, and streams the
 *	records (maildrop.h) to its standard input while it reads the
 *	message: neither program holds the whole message, and postdrop's
 *	exit status, which it gives only after the file is on disk, is
 *	sendmail's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "hdr_addr.h"
#include "log.h"
#include "maildrop.h"
#include "params.h"
#include "sendmail.h"
#include "str.h"

int
sendmail_postdrop_start(const char *config_dir, pid_t *pid)
{
	char    path[4096], tz[128];
	char   *argv[4] = {"postdrop", NULL, NULL, NULL};
	char   *envp[2] = {NULL, NULL};
	const char *t = getenv("TZ");
	int     p[2];

	if (str_fmt(path, sizeof(path), "%s/postdrop", cfg->command_directory) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (config_dir != NULL) {
		argv[1] = "-c";
		argv[2] = (char *) config_dir;
	}
	if (t != NULL && str_fmt(tz, sizeof(tz), "TZ=%s", t) == 0)
		envp[0] = tz;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if ((*pid = fork()) < 0) {
		int     saved = errno;

		close(p[0]);
		close(p[1]);
		errno = saved;
		return -1;
	}
	if (*pid == 0) {
		if (dup2(p[0], STDIN_FILENO) < 0)
			_exit(EX_OSERR);
		signal(SIGPIPE, SIG_DFL);
		execve(path, argv, envp);
		fprintf(stderr, "sendmail: cannot run %s: %s (check command_directory "
			"in main.cf)\n", path, strerror(errno));
		_exit(EX_OSFILE);
	}
	close(p[0]);
	return p[1];
}

int
sendmail_postdrop_wait(int fd, pid_t pid)
{
	int     status;
	pid_t	r;

	if (fd >= 0)
		close(fd);
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return EX_OSERR;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "sendmail: postdrop died of signal %d; the message was "
		"not submitted\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return EX_TEMPFAIL;
}

int
sendmail_put_envelope(struct maildrop_out *o, const struct sendmail_env *e)
{
	char    attr[MAILDROP_ATTR_MAX + 1], flags[8];
	struct timeval now;
	size_t  nf = 0;

	gettimeofday(&now, NULL);
	if (e->extract)
		flags[nf++] = MAILDROP_F_EXTRACT;
	if (e->sender != NULL)
		flags[nf++] = MAILDROP_F_SENDER;
	flags[nf] = '\0';
	(void) str_fmt(attr, sizeof(attr), "%lld.%06ld", (long long) now.tv_sec,
		       (long) now.tv_usec);
	(void) maildrop_out_put_str(o, QF_REC_VERSION, QFILE_VERSION);
	(void) maildrop_out_put_str(o, QF_REC_TIME, attr);
	if (nf > 0) {
		(void) str_fmt(attr, sizeof(attr), "%s=%s", MAILDROP_A_FLAGS, flags);
		(void) maildrop_out_put_str(o, QF_REC_ATTR, attr);
	}
	if (e->fullname != NULL) {
		if (str_fmt(attr, sizeof(attr), "%s=%s", MAILDROP_A_FULLNAME, e->fullname) < 0) {
			errno = E2BIG;
			return -1;
		}
		(void) maildrop_out_put_str(o, QF_REC_ATTR, attr);
	}
	if (e->body != NULL) {
		(void) str_fmt(attr, sizeof(attr), "%s=%s", MAILDROP_A_BODY, e->body);
		(void) maildrop_out_put_str(o, QF_REC_ATTR, attr);
	}
	if (e->ret != NULL) {
		(void) str_fmt(attr, sizeof(attr), "%s=%s", MAILDROP_A_RET, e->ret);
		(void) maildrop_out_put_str(o, QF_REC_ATTR, attr);
	}
	if (e->envid != NULL) {
		(void) str_fmt(attr, sizeof(attr), "%s=%s", MAILDROP_A_ENVID, e->envid);
		(void) maildrop_out_put_str(o, QF_REC_ATTR, attr);
	}
	(void) maildrop_out_put_str(o, QF_REC_SENDER, e->sender ? e->sender : "");
	for (size_t i = 0; i < e->nrcpts; i++) {
		if (e->notify != NULL && e->notify[0] != '\0')
			(void) maildrop_out_put_str(o, QF_REC_NOTIFY, e->notify);
		(void) maildrop_out_put_str(o, QF_REC_RCPT, e->rcpts[i]);
	}
	/* Errors stick in o. */
	if (o->error) {
		errno = o->error;
		return -1;
	}
	return 0;
}

/* put_chunk - one piece of content as an M record */
static int
put_chunk(void *ctx, const char *p, size_t n)
{
	return maildrop_out_put(ctx, QF_REC_MSG, p, n);
}

/* stop_postdrop - abandon a submission: postdrop removes its file */
static void
stop_postdrop(int fd, pid_t pid)
{
	(void) kill(pid, SIGTERM);
	(void) sendmail_postdrop_wait(fd, pid);
}

int
sendmail_submit(const struct sendmail_opts *o, const char *config_dir, int in_fd)
{
	char    sender[HDR_ADDR_MAX + 1];
	struct sendmail_env e = {0};
	struct maildrop_out out;
	struct maildrop_msg m;
	struct buf err;
	char  **rcpts = NULL;
	pid_t	pid;
	int     n, fd, r, status;

	buf_init(&err, 1024);
	if (o->sender != NULL) {
		if (sendmail_sender(o->sender, sender, sizeof(sender), &err) < 0) {
			fprintf(stderr, "sendmail: %s\n", buf_str(&err));
			return EX_USAGE;
		}
		e.sender = sender;
	}
	n = sendmail_rcpts(o, (size_t) cfg->sendmail_recipient_limit, &rcpts, &err);
	if (n < 0) {
		fprintf(stderr, "sendmail: %s\n", buf_str(&err));
		return n == -2 ? EX_USAGE : EX_NOUSER;
	}
	buf_free(&err);
	if (n == 0 && !o->extract) {
		fprintf(stderr, "sendmail: no recipient addresses (name them on the command "
			"line, or use -t to take them from the To:, Cc: and Bcc: headers)\n");
		return EX_USAGE;
	}
	e.fullname = o->fullname;
	e.extract = o->extract;
	e.body = o->body;
	e.ret = o->ret;
	e.envid = o->envid;
	e.notify = o->notify;
	e.rcpts = rcpts;
	e.nrcpts = (size_t) n;

	signal(SIGPIPE, SIG_IGN);
	if ((fd = sendmail_postdrop_start(config_dir, &pid)) < 0) {
		fprintf(stderr, "sendmail: cannot start postdrop: %s\n", strerror(errno));
		sendmail_rcpts_free(rcpts, n);
		return EX_OSERR;
	}
	maildrop_out_init(&out, fd);
	r = sendmail_put_envelope(&out, &e);
	sendmail_rcpts_free(rcpts, n);
	if (r < 0) {
		/* postdrop went away (it said why) or refused the envelope. */
		maildrop_out_free(&out);
		status = sendmail_postdrop_wait(fd, pid);
		return status != 0 ? status : EX_TEMPFAIL;
	}
	maildrop_msg_init(&m, cfg->message_size_limit, MAILDROP_MSG_SKIP_FROM_, put_chunk, &out);
	r = maildrop_read_input(in_fd, (size_t) cfg->line_length_limit, o->ignore_dots, &m);
	maildrop_msg_free(&m);
	if (r == MAILDROP_ETOOBIG) {
		maildrop_out_free(&out);
		stop_postdrop(fd, pid);
		fprintf(stderr, "sendmail: the message is larger than message_size_limit "
			"(%llu bytes); it was not sent\n",
			(unsigned long long) cfg->message_size_limit);
		return EX_DATAERR;
	}
	if (r == MAILDROP_EIO) {
		int     saved = errno;

		maildrop_out_free(&out);
		stop_postdrop(fd, pid);
		fprintf(stderr, "sendmail: error reading the message from standard input: "
			"%s; it was not sent\n", strerror(saved));
		return EX_IOERR;
	}
	if (r == MAILDROP_OK && maildrop_out_put(&out, QF_REC_END, NULL, 0) == 0)
		(void) maildrop_out_flush(&out);
	maildrop_out_free(&out);
	status = sendmail_postdrop_wait(fd, pid);
	if (o->verbose && status == 0)
		fprintf(stderr, "sendmail: message submitted\n");
	/* A write to postdrop failed: it went away, and said why. */
	return status == 0 && out.error ? EX_TEMPFAIL : status;
}
