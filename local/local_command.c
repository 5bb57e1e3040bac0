/*
 * NAME
 *	local_command - deliver a message to a command
 * SYNOPSIS
 *	#include "local.h"
 *
 *	struct local_command c = { .command = text, .uid = u, .gid = g, ... };
 *	local_command_run(&c, &msg, rcpt, &result, &output);
 * DESCRIPTION
 *	local_command_run() starts `/bin/sh -c COMMAND` in a child that
 *	drops to c->uid/c->gid before anything else (local_drop_to()),
 *	with standard input a pipe that carries the message
 *	(Return-Path, Delivered-To, header, empty line, body, as
 *	local_stream_pump() writes it), standard output and error one
 *	pipe whose first c->output_limit bytes are kept, the clean
 *	environment c->envp, working directory c->cwd (or / when that
 *	cannot be entered), umask 077, every signal unblocked and at its
 *	default, and a process group of its own.  The parent (local,
 *	root) feeds the input and reads the output in one poll() loop,
 *	and kills the whole process group when c->time_limit seconds
 *	have passed.  A command that exits without reading all its input
 *	is not at fault for that (vacation(1) does not read the body).
 *	The caller must have SIGPIPE ignored (server_main() does), so
 *	that such a command makes a write fail with EPIPE instead of
 *	killing local.
 *
 *	Results: exit 0 "delivered to command: COMMAND" (2.0.0); an exit
 *	status from <sysexits.h> as sys_exits.h maps it (EX_TEMPFAIL and
 *	EX_OSERR are temporary; the others, and unknown codes such as 1,
 *	permanent, as in Postfix),
 *	with "command died with status N (text)" and the command's
 *	output, made one printable line; a signal or the time limit:
 *	4.3.0.  output receives the output as it was (bounded), for the
 *	caller.
 *
 *	local_drop_to() is how every delivery child becomes the user it
 *	delivers for: priv_drop_ids_deliver(), fatal on any failure, root
 *	refused.  local_root_child() is the one exception, the child that
 *	writes root's own mailbox: it keeps uid 0 and sheds everything
 *	else it can.
 * SECURITY
 *	The command text comes from an alias table, an :include: file or
 *	a .forward file, written by the administrator or by the user whose
 *	rights it runs with; the envelope never becomes part of it (the
 *	addresses are in the environment only).  The child drops
 *	privilege before it looks at anything the user controls (the
 *	home directory included).
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "local.h"
#include "log.h"
#include "priv.h"
#include "str.h"
#include "sys_exits.h"

#define CMD_SHOWN	100		/* bytes of the command shown in results */

void
local_drop_to(uid_t uid, gid_t gid, gid_t extra_gid)
{
	priv_drop_ids_deliver(uid, gid, extra_gid);
}

void
local_root_child(void)
{
	gid_t   zero = 0;

	/* Root's own groups only; nothing of local's. */
	if (setgroups(1, &zero) < 0)
		log_fatal("delivery to root's mailbox: setgroups: %m");
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0)
		log_fatal("delivery to root's mailbox: PR_SET_DUMPABLE: %m");
}

/* child - never returns */
static _Noreturn void
child(const struct local_command *c, int in, int out)
{
	sigset_t none;
	char   *argv[] = {"sh", "-c", (char *) c->command, NULL};

	(void) setsid();
	sigemptyset(&none);
	(void) sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void) signal(sig, SIG_DFL);
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0
	    || dup2(out, STDERR_FILENO) < 0)
		_exit(EX_OSERR);
	local_drop_to(c->uid, c->gid, (gid_t) -1);
	if ((c->cwd == NULL || chdir(c->cwd) < 0) && chdir("/") < 0)
		_exit(EX_OSERR);
	umask(077);
	execve("/bin/sh", argv, c->envp);
	_exit(EX_OSERR);
}

/* shown - the command for messages: one line, bounded */
static void
shown(const char *cmd, char *out, size_t size)
{
	size_t  o = 0;

	for (; *cmd && o + 4 < size && o < CMD_SHOWN; cmd++)
		out[o++] = (unsigned char) *cmd < ' ' || *cmd == 0x7f ? ' ' : *cmd;
	if (*cmd && o + 4 < size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* one_line - output as a single printable line, runs of space squeezed */
static void
one_line(const struct buf *b, char *out, size_t size)
{
	size_t  o = 0;
	bool    sp = true;

	for (size_t i = 0; i < b->len && o + 1 < size; i++) {
		unsigned char ch = (unsigned char) b->data[i];

		if (ch < ' ' || ch == 0x7f || ch == ' ') {
			if (!sp)
				out[o++] = ' ';
			sp = true;
		} else {
			out[o++] = (char) ch;
			sp = false;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

void
local_command_run(const struct local_command *c, const struct local_msg *m,
		  const char *delivered_to, struct local_result *r,
		  struct buf *output)
{
	struct local_stream st;
	int     inp[2] = {-1, -1}, outp[2] = {-1, -1}, pidfd = -1;
	int     status = 0, saved;
	bool    feeding = true, reading = true, exited = false, timed_out = false;
	char    cmd[CMD_SHOWN + 8], text[LOCAL_TEXT_MAX];
	uint64_t deadline;
	pid_t   pid;

	shown(c->command, cmd, sizeof(cmd));
	buf_reset(output);
	if (local_stream_init(&st, m, delivered_to) < 0) {
		saved = errno;
		local_result_set(r, 4, "4.3.0", "cannot read queue file: %s", strerror(saved));
		return;
	}
	if (pipe2(inp, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		saved = errno;
		local_result_set(r, 4, "4.3.0", "cannot make pipes for a command: %s",
				 strerror(saved));
		goto close_all;
	}
	if ((pid = fork()) < 0) {
		saved = errno;
		local_result_set(r, 4, "4.3.0", "cannot fork a command: %s", strerror(saved));
		goto close_all;
	}
	if (pid == 0)
		child(c, inp[0], outp[1]);
	(void) close(inp[0]);
	(void) close(outp[1]);
	inp[0] = outp[1] = -1;
	(void) fcntl(inp[1], F_SETFL, O_NONBLOCK);
	(void) fcntl(outp[0], F_SETFL, O_NONBLOCK);
	pidfd = (int) syscall(SYS_pidfd_open, pid, 0);

	deadline = ev_time_ms() + c->time_limit * 1000;
	while (!exited) {
		struct pollfd pfd[3];
		int     n = 0, ip = -1, op = -1, pp = -1, wait;
		uint64_t t = ev_time_ms();

		if (t >= deadline) {
			timed_out = true;
			break;
		}
		wait = (int) (deadline - t > 100000 ? 100000 : deadline - t);
		if (feeding) {
			pfd[n].fd = inp[1], pfd[n].events = POLLOUT, ip = n++;
		}
		if (reading) {
			pfd[n].fd = outp[0], pfd[n].events = POLLIN, op = n++;
		}
		if (pidfd >= 0) {
			pfd[n].fd = pidfd, pfd[n].events = POLLIN, pp = n++;
		} else if (wait > 100)
			wait = 100;		/* no pidfd: look at the child often */
		if (poll(pfd, (nfds_t) n, wait) < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			(void) kill(-pid, SIGKILL);
			(void) waitpid(pid, &status, 0);
			local_result_set(r, 4, "4.3.0", "poll: %s", strerror(saved));
			goto close_all;
		}
		if (ip >= 0 && pfd[ip].revents) {
			int     k = local_stream_pump(&st, inp[1]);

			if (k != 0) {
				/* All written, or the command stopped reading (EPIPE). */
				if (k < 0 && errno != EPIPE) {
					saved = errno;
					(void) kill(-pid, SIGKILL);
					(void) waitpid(pid, &status, 0);
					local_result_set(r, 4, "4.3.0", "cannot send the message "
							 "to command %s: %s", cmd, strerror(saved));
					goto close_all;
				}
				(void) close(inp[1]);
				inp[1] = -1;
				feeding = false;
			}
		}
		if (op >= 0 && pfd[op].revents) {
			char    chunk[4096];
			ssize_t k = read(outp[0], chunk, sizeof(chunk));

			if (k > 0) {
				size_t  room = c->output_limit > output->len
				    ? c->output_limit - output->len : 0;

				(void) buf_append(output, chunk, (size_t) k < room ? (size_t) k : room);
			} else if (k == 0 || (errno != EAGAIN && errno != EINTR))
				reading = false;
		}
		if ((pp >= 0 && pfd[pp].revents) || pidfd < 0) {
			pid_t   w = waitpid(pid, &status, WNOHANG);

			if (w == pid)
				exited = true;
		}
	}
	if (timed_out) {
		(void) kill(-pid, SIGKILL);
		(void) waitpid(pid, &status, 0);
		local_result_set(r, 4, "4.3.0", "command %s: time limit of %llu seconds "
				 "exceeded (command_time_limit)", cmd,
				 (unsigned long long) c->time_limit);
		goto close_all;
	}
	/* What the command wrote before it exited; a background child may
	 * keep the pipe open, so take only what is there now. */
	while (reading) {
		char    chunk[4096];
		ssize_t k = read(outp[0], chunk, sizeof(chunk));

		if (k <= 0)
			break;
		if (output->len < c->output_limit) {
			size_t  room = c->output_limit - output->len;

			(void) buf_append(output, chunk, (size_t) k < room ? (size_t) k : room);
		}
	}
	one_line(output, text, sizeof(text) / 2);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		local_result_set(r, 0, "2.0.0", "delivered to command: %s", cmd);
	} else if (WIFEXITED(status)) {
		int     code = WEXITSTATUS(status);
		const struct sys_exit_info *x = sys_exits_lookup(code);

		local_result_set(r, sys_exits_is_temp(code) ? 4 : 5, x->dsn,
				 "command %s died with status %d (%s)%s%s", cmd, code,
				 x->text, text[0] ? ": " : "", text);
	} else {
		local_result_set(r, 4, "4.3.0", "command %s killed by signal %d%s%s", cmd,
				 WIFSIGNALED(status) ? WTERMSIG(status) : 0,
				 text[0] ? ": " : "", text);
	}

close_all:
	for (int i = 0; i < 2; i++) {
		if (inp[i] >= 0)
			(void) close(inp[i]);
		if (outp[i] >= 0)
			(void) close(outp[i]);
	}
	if (pidfd >= 0)
		(void) close(pidfd);
}
