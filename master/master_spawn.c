/*
 * NAME
 *	master_spawn - starting, watching and reaping child processes
 * DESCRIPTION
 *	Single-client services are started on demand: when none of a
 *	service's processes is idle and its process limit allows, the
 *	master watches the listening descriptors itself and starts one
 *	process when a client is waiting.  Event services are kept at
 *	their process count.  A process counts as available from the
 *	moment it is forked until it reports MS_BUSY, so one waiting
 *	client never starts more than one process.
 *
 *	A process that exits abnormally throttles its service: the next
 *	start waits 1 s, then 2 s, 4 s ... up to service_throttle_time,
 *	until a process of the service reports MS_READY again.  This keeps
 *	a broken daemon or configuration from becoming a fork storm.
 *
 *	A process that has not reported anything for daemon_wedge_time
 *	while busy (event servers report a heartbeat every few seconds)
 *	is killed and replaced.
 *
 *	When the master logs to maillog_file, each process gets a log
 *	channel: one end of an AF_UNIX datagram socket pair at the
 *	descriptor POSTERN_LOG_FD names.  Log rotation sends the reopened
 *	file over it and then SIGUSR1 (master_reopen_logs, log.h).  A
 *	child starts with SIGUSR1 ignored, so one signalled before its
 *	skeleton installed the handler does not die of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "master_proto.h"
#include "mem.h"
#include "params.h"
#include "sandbox.h"
#include "str.h"

static bool
counts_available(enum proc_state st)
{
	return st == PS_STARTING || st == PS_IDLE;
}

static _Noreturn void
child_exec(struct service *s, int log_sock)
{
	char    gen_env[64], fds_env[64], cf_env[64], log_env[64], tz_env[256];
	char   *envp[7];
	int     n = 0, hi[16], status_hi, cf_hi, log_hi = -1, cf_fd = MASTER_LISTEN_FD + s->n_listen;
	int     last = cf_fd;
	const char *tz = getenv("TZ");
	sigset_t none;

	/* Move our descriptors out of the way, then into their places. */
	status_hi = fcntl(s->status_pipe[1], F_DUPFD, 100);
	for (int i = 0; i < s->n_listen; i++)
		hi[i] = fcntl(s->listen_fds[i], F_DUPFD, 100);
	cf_hi = fcntl(master_config_fd, F_DUPFD, 100);
	if (log_sock >= 0)
		log_hi = fcntl(log_sock, F_DUPFD, 100);
	if (status_hi < 0 || dup2(status_hi, MASTER_STATUS_FD) < 0)
		_exit(126);
	for (int i = 0; i < s->n_listen; i++)
		if (hi[i] < 0 || dup2(hi[i], MASTER_LISTEN_FD + i) < 0)
			_exit(126);
	if (cf_hi < 0 || dup2(cf_hi, cf_fd) < 0)
		_exit(126);
	if (log_hi >= 0 && dup2(log_hi, ++last) < 0)
		_exit(126);
	close_range((unsigned) last + 1, ~0U, 0);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGUSR1, SIG_IGN);	/* until the skeleton takes it (log.h) */

	(void) str_fmt(gen_env, sizeof(gen_env), "%s=%u", MASTER_ENV_GENERATION, s->generation);
	(void) str_fmt(fds_env, sizeof(fds_env), "%s=%d", MASTER_ENV_LISTEN_FDS, s->n_listen);
	(void) str_fmt(cf_env, sizeof(cf_env), "%s=%d", MASTER_ENV_CONFIG_FD, cf_fd);
	envp[n++] = gen_env;
	envp[n++] = fds_env;
	envp[n++] = cf_env;
	if (log_hi >= 0) {
		(void) str_fmt(log_env, sizeof(log_env), "%s=%d", MASTER_ENV_LOG_FD, last);
		envp[n++] = log_env;
	}
	envp[n++] = "PATH=/usr/bin:/bin";
	if (tz != NULL && str_fmt(tz_env, sizeof(tz_env), "TZ=%s", tz) == 0)
		envp[n++] = tz_env;
	envp[n] = NULL;
	execve(s->argv[0], s->argv, envp);
	log_error("service %s: cannot execute %s: %m (check daemon_directory)",
		  s->name, s->argv[0]);
	_exit(127);
}

void
master_spawn(struct service *s)
{
	struct proc *p;
	pid_t   pid;
	int     ls[2] = {-1, -1};

	if (log_file_fd() >= 0
	    && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ls) < 0)
		log_warn("service %s: log channel: %m -- this process will not follow "
			 "log rotation", s->name);
	if ((pid = fork()) < 0) {
		log_warn("service %s: fork: %m -- will retry", s->name);
		if (ls[0] >= 0) {
			close(ls[0]);
			close(ls[1]);
		}
		return;
	}
	if (pid == 0)
		child_exec(s, ls[1]);
	if (ls[1] >= 0)
		close(ls[1]);
	p = xcalloc(1, sizeof(*p));
	p->log_sock = ls[0];
	p->pid = pid;
	p->svc = s;
	p->generation = s->generation;
	p->state = PS_STARTING;
	p->started_ms = p->heard_ms = ev_now(master_loop);
	p->next = s->procs;
	s->procs = p;
	s->total++;
	s->idle++;
}

static void
throttle_done(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop;
	master_adjust(t->data);
}

static void
accept_ready(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct service *s = io->data;

	(void) loop;
	(void) revents;
	if (s->idle == 0 && (s->max_proc == 0 || s->total < s->max_proc))
		master_spawn(s);
	master_adjust(s);
}

static bool
singleton_busy(const struct service *s)
{
	/* A singleton of a new generation waits for the old one to exit. */
	for (struct service *r = master_retired; r; r = r->next)
		if (r->procs && strcmp(r->name, s->name) == 0 && r->type == s->type)
			return true;
	return false;
}

static void
watch(struct service *s, bool on)
{
	if (on == s->watching)
		return;
	for (int i = 0; i < s->n_listen && i < 16; i++) {
		if (on) {
			ev_io_init(&s->accept_watch[i], s->listen_fds[i], accept_ready, s);
			ev_io_start(master_loop, &s->accept_watch[i], EV_READ);
		} else if (ev_io_active(&s->accept_watch[i])) {
			ev_io_stop(master_loop, &s->accept_watch[i]);
		}
	}
	s->watching = on;
}

void
master_adjust(struct service *s)
{
	uint64_t now = ev_now(master_loop);

	if (s->retired || master_shutting_down) {
		watch(s, false);
		return;
	}
	if (now < s->throttle_until) {
		watch(s, false);
		if (!ev_timer_active(&s->throttle_timer)) {
			s->throttle_timer.cb = throttle_done;
			ev_timer_start(master_loop, &s->throttle_timer, s->throttle_until - now);
		}
		return;
	}
	if (s->model == MODEL_EVENT) {
		if (s->singleton && singleton_busy(s))
			return;
		while (s->total < s->max_proc)
			master_spawn(s);
		return;
	}
	watch(s, s->idle == 0 && (s->max_proc == 0 || s->total < s->max_proc));
}

static struct proc *
find_proc(struct service *list, pid_t pid, struct proc ***link)
{
	for (struct service *s = list; s; s = s->next)
		for (struct proc **pp = &s->procs; *pp; pp = &(*pp)->next)
			if ((*pp)->pid == pid) {
				*link = pp;
				return *pp;
			}
	return NULL;
}

/* seccomp_trap - a child made a call its filter forbids (sandbox.h) */
static void
seccomp_trap(struct service *s, struct proc *p, uint32_t nr)
{
	char    name[64];

	p->seccomp_trap = true;
	log_warn("service %s: process %s pid %ld made system call %s (%u), which its "
		 "seccomp filter forbids: it is killed (a bug: add the call to the "
		 "daemon's server_ops .syscalls; or the process was taken over)",
		 s->name, s->argv[0], (long) p->pid,
		 sandbox_syscall_name((int) nr, name, sizeof(name)), nr);
}

/* read_status - apply the records waiting in s's status pipe */
static void
read_status(struct service *s)
{
	struct master_status st[64];
	ssize_t n;

	while ((n = read(s->status_pipe[0], st, sizeof(st))) > 0) {
		for (size_t i = 0; i < (size_t) n / sizeof(st[0]); i++) {
			struct proc **link, *p = find_proc(s, (pid_t) st[i].pid, &link);

			if (p == NULL || p->svc != s)
				continue;	/* already reaped, or a stranger */
			p->heard_ms = ev_now(master_loop);
			switch (st[i].code) {
			case MS_READY:
				s->fails = 0;
				if (p->state == PS_STARTING)
					p->state = s->model == MODEL_EVENT ? PS_READY : PS_IDLE;
				break;
			case MS_BUSY:
				if (counts_available(p->state))
					s->idle--;
				if (p->state != PS_STOPPING)
					p->state = PS_BUSY;
				break;
			case MS_IDLE:
				if (p->state == PS_BUSY) {
					s->idle++;
					p->state = PS_IDLE;
				}
				break;
			case MS_HEARTBEAT:
				break;
			default:
				if (st[i].code >= MS_SECCOMP && st[i].code <= MS_SECCOMP + 0xffff)
					seccomp_trap(s, p, st[i].code - MS_SECCOMP);
				else
					log_warn("service %s pid %u: unknown status %u", s->name,
						 st[i].pid, st[i].code);
			}
		}
	}
}

void
master_status_event(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct service *s = io->data;

	(void) loop;
	(void) revents;
	read_status(s);
	master_adjust(s);
}

static void
proc_exited(struct proc *p, struct proc **link, int status)
{
	struct service *s = p->svc;
	bool    abnormal;

	/* Its last record (which call killed it) may still be in the pipe. */
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS && !p->seccomp_trap)
		read_status(s);
	*link = p->next;
	s->total--;
	if (counts_available(p->state))
		s->idle--;

	if (WIFSIGNALED(status)) {
		int     sig = WTERMSIG(status);

		abnormal = !(sig == SIGTERM && p->state == PS_STOPPING) && !p->killed_wedged
		    && !(sig == SIGKILL && master_shutting_down);
		if (abnormal)
			log_warn("process %s pid %ld killed by signal %d%s", s->argv[0],
				 (long) p->pid, sig, sig == SIGSYS ? " (SIGSYS: a system call "
				 "its seccomp filter forbids)" : "");
	} else {
		int     code = WEXITSTATUS(status);

		abnormal = code != 0;
		if (abnormal)
			log_warn("process %s pid %ld exit status %d", s->argv[0],
				 (long) p->pid, code);
	}
	if (abnormal && !s->retired && !master_shutting_down) {
		uint64_t delay = 1000ULL << (s->fails < 16 ? s->fails : 16);
		uint64_t cap = cfg->service_throttle_time * 1000;

		if (delay > cap)
			delay = cap;
		s->fails++;
		s->throttle_until = ev_now(master_loop) + delay;
		log_warn("service %s: process exited abnormally (%u in a row) -- "
			 "throttling restarts for %llu s", s->name, s->fails,
			 (unsigned long long) (delay / 1000));
	}
	if (p->log_sock >= 0)
		close(p->log_sock);
	free(p);
}

static void
free_drained(void)
{
	struct service **sp = &master_retired;

	while (*sp) {
		struct service *s = *sp;

		if (s->procs == NULL) {
			*sp = s->next;
			master_service_free(s);
		} else {
			sp = &s->next;
		}
	}
}

void
master_reap(void)
{
	int     status;
	pid_t   pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct proc **link, *p;

		if ((p = find_proc(master_services, pid, &link)) == NULL)
			p = find_proc(master_retired, pid, &link);
		if (p == NULL)
			continue;
		proc_exited(p, link, status);
	}
	free_drained();
	for (struct service *s = master_services; s; s = s->next)
		master_adjust(s);
}

void
master_wedge_check(uint64_t now)
{
	uint64_t limit = cfg->daemon_wedge_time * 1000;
	struct service *lists[2] = {master_services, master_retired};

	for (int l = 0; l < 2; l++)
		for (struct service *s = lists[l]; s; s = s->next)
			for (struct proc *p = s->procs; p; p = p->next) {
				if (p->state == PS_IDLE || p->killed_wedged)
					continue;
				if (now - p->heard_ms < limit)
					continue;
				log_warn("service %s: process %ld made no progress for %llu s "
					 "-- killing it", s->name, (long) p->pid,
					 (unsigned long long) ((now - p->heard_ms) / 1000));
				p->killed_wedged = true;
				(void) kill(p->pid, SIGKILL);
			}
}

void
master_signal_all(struct service *list, int sig)
{
	for (struct service *s = list; s; s = s->next)
		for (struct proc *p = s->procs; p; p = p->next) {
			(void) kill(p->pid, sig);
			if (sig == SIGTERM)
				p->state = PS_STOPPING;
		}
}

int
master_reopen_logs(struct service *list)
{
	int     n = 0;

	for (struct service *s = list; s; s = s->next)
		for (struct proc *p = s->procs; p; p = p->next) {
			if (p->log_sock < 0)
				continue;
			if (log_send_file(p->log_sock) < 0) {
				log_warn("logrotate: service %s pid %ld: cannot pass the log file: %m",
					 s->name, (long) p->pid);
				continue;
			}
			if (kill(p->pid, SIGUSR1) == 0)
				n++;
		}
	return n;
}

int
master_count_procs(struct service *list)
{
	int     n = 0;

	for (struct service *s = list; s; s = s->next)
		n += s->total;
	return n;
}

bool
master_all_ready(struct service *list)
{
	for (struct service *s = list; s; s = s->next)
		for (struct proc *p = s->procs; p; p = p->next)
			if (p->state == PS_STARTING)
				return false;
	return true;
}
