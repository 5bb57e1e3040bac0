/*
 * NAME
 *	master - postern's supervisor
 * SYNOPSIS
 *	master [-c config_dir] [-f] [-R ready_fd]
 * DESCRIPTION
 *	The master is the only long-lived root process besides local
 *	delivery.  It reads main.cf and master.cf, checks the instance
 *	(the same checks as `postern check`; it refuses to start on any
 *	problem), creates every listening endpoint (TCP for inet services,
 *	as root; UNIX sockets and FIFOs in private/ and public/, as
 *	mail_owner, who owns those directories: master_service.c), and starts
 *	each daemon with its descriptors, its chroot and its user as
 *	master.cf says (see master_service.c and master_spawn.c).
 *
 *	It keeps the suite alive: a process that exits is replaced, one
 *	that keeps failing is restarted with growing delay, one that stops
 *	making progress is killed and replaced.
 *
 *	-f stays in the foreground and logs to stderr as well (children
 *	too).  -R fd: write "ok" to fd once the suite is up, or the reason
 *	it could not start, then close it (used by `postern start`).
 *	Every other descriptor above 2 that the master inherits is closed
 *	first: a lock or a file its starter held stays the starter's.
 * SIGNALS
 *	SIGHUP	reload: re-read and validate both files; on any problem log
 *		it (file and line) and keep running the old configuration.
 *		`postern reload` asks over the control socket instead
 *		(master_ctl.c), and is told the outcome.
 *		Otherwise start a new generation at once (listening sockets
 *		whose address is unchanged are kept open) and send SIGTERM
 *		to the old generation, whose processes finish what they
 *		hold and exit.  Nothing waits for connections to close.
 *		A singleton (qmgr, pickup) of the new generation starts when
 *		its predecessor has exited.
 *	SIGTERM, SIGINT
 *		stop: close the listeners, send SIGTERM to every child,
 *		SIGKILL what remains after 10 seconds, exit.  A second one
 *		stops at once.
 *	SIGQUIT	abort: SIGKILL every child and exit.
 *	SIGUSR1	log rotation ("postern logrotate"): open maillog_file
 *		again by its name, then hand the new file to every child
 *		(a descriptor over the child's log channel, then SIGUSR1 to
 *		it; see log.h), so every process writes to the new file at
 *		once.  With syslog (no maillog_file) there is nothing to do.
 *	A change of a hash:/btree: table named in main.cf (its .db file)
 *	triggers the same rolling replacement as SIGHUP.
 * SERVICE MANAGER
 *	Started by systemd with NOTIFY_SOCKET set (postern.service,
 *	Type=notify), the master says READY=1 once every process reported
 *	ready (the moment "postern start" returns), RELOADING=1 and then
 *	READY=1 around a reload, STOPPING=1 when it stops (sd_notify.h).
 * FILES
 *	data_directory/master.pid	pid, fcntl-locked: one master per
 *					instance
 *	data_directory/master.ctl	control socket (postern status)
 *	data_directory/ticket.seed	the secret of smtpd's TLS session
 *					tickets, new at each start (0600)
 * SECURITY
 *	Runs as root and never reads mail or talks to a client.  Children
 *	get a fixed environment (POSTERN_GENERATION, POSTERN_LISTEN_FDS,
 *	PATH, TZ) and only their own descriptors.
 * CONFIGURATION PARAMETERS
 *	queue_directory, data_directory, daemon_directory, mail_owner,
 *	setgid_group, inet_interfaces, default_process_limit, max_use,
 *	max_idle, service_throttle_time, daemon_wedge_time,
 *	lookup_reopen_check_time, syslog_name, maillog_file.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "instance.h"
#include "log.h"
#include "master.h"
#include "mem.h"
#include "num.h"
#include "safefile.h"
#include "sd_notify.h"
#include "str.h"
#include "ticket_seed.h"
#include "version.h"

#define STOP_GRACE_MS	10000
#define READY_WAIT_MS	15000
#define MAX_TABLES	64

struct ev_loop *master_loop;
const char *master_config_dir = SYSCONFDIR;
bool    master_foreground;
unsigned master_generation;
struct service *master_services;
struct service *master_retired;
bool    master_shutting_down;
int     master_config_fd = -1;

static struct instance current;
static int ready_fd = -1;
static uint64_t start_ms;
static struct ev_timer ready_timer, wedge_timer, table_timer, stop_timer;
static char pid_path[4096];

struct watched {
	char   *path;
	struct stat st;
	bool	exists;
};
static struct watched tables[MAX_TABLES];
static int n_tables;

static void
tell_ready(const char *text)
{
	if (ready_fd < 0)
		return;
	(void) sf_write_all(ready_fd, text, strlen(text));
	close(ready_fd);
	ready_fd = -1;
}

static _Noreturn void
startup_failed(const char *what, const struct buf *problems)
{
	struct buf b;

	buf_init(&b, 128 * 1024);
	buf_appendf(&b, "%s:\n%s", what, buf_str(problems));
	log_warn("cannot start: %s", what);
	log_multiline(LOG_L_WARN, "", buf_str(problems));
	tell_ready(buf_str(&b));
	exit(1);
}

static void
snapshot_tables(const struct params *p)
{
	char   *paths[MAX_TABLES];

	for (int i = 0; i < n_tables; i++)
		free(tables[i].path);
	n_tables = instance_table_files(p, paths, MAX_TABLES);
	for (int i = 0; i < n_tables; i++) {
		tables[i].path = paths[i];
		tables[i].exists = stat(paths[i], &tables[i].st) == 0;
	}
}

/* log_notes - what postern check prints as notes, once per generation */
static void
log_notes(const struct instance *in)
{
	struct buf notes;

	buf_init(&notes, 128 * 1024);
	if (instance_notes(in, &notes) > 0)
		log_multiline(LOG_L_WARN, "note: ", buf_str(&notes));
	buf_free(&notes);
}

int
master_reload(const char *why, struct buf *problems)
{
	struct instance next;
	struct service *list = NULL, *s;
	int     snap = -1;

	memset(&next, 0, sizeof(next));
	if (master_shutting_down) {
		buf_puts(problems, "the mail system is stopping\n");
		return -1;
	}
	(void) sd_notify_send("RELOADING=1");
	if ((snap = config_snapshot(master_config_dir, problems)) < 0
	    || instance_load_fd(master_config_dir, snap, &next, problems) < 0
	    || instance_check(&next, problems) > 0
	    || (list = master_services_build(next.params, &next.mc, master_services,
					     problems)) == NULL) {
		log_warn("reload (%s) refused; the running configuration stays in force", why);
		log_multiline(LOG_L_WARN, "reload refused: ", buf_str(problems));
		if (next.params)
			instance_free(&next);
		if (snap >= 0)
			close(snap);
		(void) sd_notify_send("READY=1\nSTATUS=reload refused; see the log");
		return -1;
	}
	log_notes(&next);
	close(master_config_fd);
	master_config_fd = snap;
	master_generation++;
	while ((s = master_services) != NULL) {
		master_services = s->next;
		master_service_retire(s);
		if (s->procs == NULL) {
			master_service_free(s);
		} else {
			s->next = master_retired;
			master_retired = s;
		}
	}
	master_services = list;
	config_install(next.params);
	instance_free(&current);
	current = next;
	log_set_syslog_name(cfg->syslog_name);
	if (cfg->maillog_file[0] && log_open_file(cfg->maillog_file) < 0)
		log_warn("cannot open maillog_file %s: %m", cfg->maillog_file);
	snapshot_tables(cfg);
	master_services_start(master_services);
	log_info("reload -- generation %u (%s), configuration %s", master_generation,
		 why, master_config_dir);
	(void) sd_notify_send("READY=1\nSTATUS=running");
	return 0;
}

/* reload - a reload whose outcome only the log hears of */
static void
reload(const char *why)
{
	struct buf problems;

	buf_init(&problems, 128 * 1024);
	(void) master_reload(why, &problems);
	buf_free(&problems);
}

/* reopen_log - SIGUSR1: the mail log file anew, in every process */
static void
reopen_log(void)
{
	int     n;

	if (cfg->maillog_file[0] == '\0') {
		log_info("logrotate: logging goes to syslog (no maillog_file): nothing to reopen");
		return;
	}
	if (log_reopen_file(cfg->maillog_file) < 0) {
		log_warn("logrotate: cannot open maillog_file %s: %m -- "
			 "the processes keep the old file", cfg->maillog_file);
		return;
	}
	n = master_reopen_logs(master_services) + master_reopen_logs(master_retired);
	log_info("logrotate: reopened %s; passed to %d processes", cfg->maillog_file, n);
}

static _Noreturn void
finish(void)
{
	master_ctl_close();
	(void) unlink(pid_path);
	log_info("terminating");
	exit(0);
}

static void
check_done(void)
{
	if (master_shutting_down && master_count_procs(master_services)
	    + master_count_procs(master_retired) == 0)
		finish();
}

static _Noreturn void
abort_now(void)
{
	int     status;

	log_info("abort: killing every process");
	master_signal_all(master_services, SIGKILL);
	master_signal_all(master_retired, SIGKILL);
	while (waitpid(-1, &status, 0) > 0 || errno == EINTR)
		;
	finish();
}

static void
stop_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	(void) loop;
	(void) t;
	log_warn("processes still running %d s after stop -- killing them",
		 STOP_GRACE_MS / 1000);
	abort_now();
}

static void
on_signal(struct ev_loop *loop, int sig)
{
	switch (sig) {
	case SIGCHLD:
		master_reap();
		check_done();
		break;
	case SIGHUP:
		if (!master_shutting_down)
			reload("SIGHUP");
		break;
	case SIGTERM:
	case SIGINT:
		if (master_shutting_down)
			abort_now();
		master_shutting_down = true;
		(void) sd_notify_send("STOPPING=1");
		log_info("stopping: no new connections; waiting up to %d s for "
			 "processes to finish", STOP_GRACE_MS / 1000);
		master_services_close_listeners(master_services);
		master_signal_all(master_services, SIGTERM);
		master_signal_all(master_retired, SIGTERM);
		ev_timer_init(&stop_timer, stop_timeout, NULL);
		ev_timer_start(loop, &stop_timer, STOP_GRACE_MS);
		check_done();
		break;
	case SIGQUIT:
		abort_now();
	case SIGUSR1:
		reopen_log();
		break;
	}
}

static void
ready_check(struct ev_loop *loop, struct ev_timer *t)
{
	uint64_t now = ev_now(loop);

	if (master_all_ready(master_services)) {
		tell_ready("ok\n");
		(void) sd_notify_send("READY=1\nSTATUS=running");
		return;
	}
	if (now - start_ms > READY_WAIT_MS) {
		log_warn("some processes did not report ready within %d s",
			 READY_WAIT_MS / 1000);
		tell_ready("ok (some processes are slow to start; see the log)\n");
		(void) sd_notify_send("READY=1\nSTATUS=running; some processes were slow to start");
		return;
	}
	ev_timer_start(loop, t, 50);
}

static void
wedge_tick(struct ev_loop *loop, struct ev_timer *t)
{
	master_wedge_check(ev_now(loop));
	ev_timer_start(loop, t, 2000);
}

static void
table_tick(struct ev_loop *loop, struct ev_timer *t)
{
	uint64_t every = cfg->lookup_reopen_check_time ? cfg->lookup_reopen_check_time : 1;

	for (int i = 0; i < n_tables && !master_shutting_down; i++) {
		struct stat st;
		bool    exists = stat(tables[i].path, &st) == 0;

		if (exists != tables[i].exists
		    || (exists && (st.st_ino != tables[i].st.st_ino
				   || st.st_dev != tables[i].st.st_dev
				   || st.st_size != tables[i].st.st_size
				   || st.st_mtim.tv_sec != tables[i].st.st_mtim.tv_sec
				   || st.st_mtim.tv_nsec != tables[i].st.st_mtim.tv_nsec))) {
			char    why[4200];

			(void) str_fmt(why, sizeof(why), "table %s changed", tables[i].path);
			reload(why);
			break;
		}
	}
	ev_timer_start(loop, t, every * 1000);
}

static void
usage(void)
{
	log_fatal("usage: master [-c config_dir] [-f] [-R ready_fd] "
		  "(normally started by: postern start)");
}

/*
 * close_inherited - every descriptor above 2 but keep (-R's) goes: what
 * the program that started us held open (a lock, a terminal's files, a
 * socket) is not the master's, and a master that kept it would hold it,
 * a lock included, for as long as the mail system runs.
 */
static void
close_inherited(int keep)
{
	if (keep > 3)
		(void) close_range(3, (unsigned) keep - 1, 0);
	(void) close_range(keep >= 3 ? (unsigned) keep + 1 : 3U, ~0U, 0);
}

int
main(int argc, char **argv)
{
	struct buf problems;
	long long v;
	const char *why;
	char	seed_why[600];
	int     c;

	umask(022);
	/* stderr only until inherited descriptors are gone: syslog's is ours */
	log_init("master", LOG_DEST_STDERR);
	while ((c = getopt(argc, argv, "c:fR:")) != -1) {
		switch (c) {
		case 'c':
			master_config_dir = optarg;
			break;
		case 'f':
			master_foreground = true;
			break;
		case 'R':
			if (num_parse_int(optarg, 3, 1024, &v, &why) < 0)
				log_fatal("-R %s: %s", optarg, why);
			ready_fd = (int) v;
			(void) fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
			break;
		default:
			usage();
		}
	}
	close_inherited(ready_fd);
	log_set_dest(LOG_DEST_SYSLOG | LOG_DEST_STDERR);
	if (master_config_dir[0] != '/')
		log_fatal("-c %s: the configuration directory must be an absolute path",
			  master_config_dir);
	if (geteuid() != 0) {
		buf_init(&problems, 256);
		buf_puts(&problems, "the master must be started as root\n");
		startup_failed("cannot start", &problems);
	}
	if (!master_foreground)
		log_set_dest(LOG_DEST_SYSLOG);

	buf_init(&problems, 128 * 1024);
	if ((master_config_fd = config_snapshot(master_config_dir, &problems)) < 0
	    || instance_load_fd(master_config_dir, master_config_fd, &current, &problems) < 0)
		startup_failed("configuration errors", &problems);
	if (instance_check(&current, &problems) > 0)
		startup_failed("the instance fails postern check", &problems);
	config_install(current.params);
	log_notes(&current);
	log_set_syslog_name(cfg->syslog_name);
	if (cfg->maillog_file[0] && log_open_file(cfg->maillog_file) < 0)
		log_warn("cannot open maillog_file %s: %m", cfg->maillog_file);

	if (chdir(cfg->queue_directory) < 0) {
		buf_appendf(&problems, "chdir %s: %s\n", cfg->queue_directory, strerror(errno));
		startup_failed("cannot start", &problems);
	}
	(void) str_fmt(pid_path, sizeof(pid_path), "%s/master.pid", cfg->data_directory);
	if (sf_pidfile_lock(pid_path) < 0) {
		pid_t   other = sf_pidfile_read(pid_path);

		if (other > 0)
			buf_appendf(&problems, "the mail system is already running (master pid %ld)\n",
				    (long) other);
		else
			buf_appendf(&problems, "cannot lock %s: %s\n", pid_path, strerror(errno));
		startup_failed("cannot start", &problems);
	}

	/* One seed for every smtpd's TLS session tickets; new at each start. */
	if (ticket_seed_make(cfg->data_directory, seed_why, sizeof(seed_why)) < 0)
		log_warn("%s: each smtpd process will open only its own TLS session "
			 "tickets", seed_why);
	master_loop = ev_loop_new();
	ev_signal(master_loop, SIGCHLD, on_signal);
	ev_signal(master_loop, SIGHUP, on_signal);
	ev_signal(master_loop, SIGTERM, on_signal);
	ev_signal(master_loop, SIGINT, on_signal);
	ev_signal(master_loop, SIGQUIT, on_signal);
	ev_signal(master_loop, SIGUSR1, on_signal);
	signal(SIGPIPE, SIG_IGN);

	master_services = master_services_build(cfg, &current.mc, NULL, &problems);
	if (master_services == NULL)
		startup_failed("cannot create the listening sockets", &problems);
	if (master_ctl_open(cfg->data_directory) < 0) {
		buf_appendf(&problems, "cannot create %s/master.ctl: %s\n", cfg->data_directory,
			    strerror(errno));
		startup_failed("cannot start", &problems);
	}
	buf_free(&problems);
	master_generation = 1;
	snapshot_tables(cfg);
	master_services_start(master_services);
	log_info("daemon started -- version %s, configuration %s", POSTERN_VERSION,
		 master_config_dir);

	start_ms = ev_now(master_loop);
	ev_timer_init(&ready_timer, ready_check, NULL);
	ev_timer_start(master_loop, &ready_timer, 20);
	ev_timer_init(&wedge_timer, wedge_tick, NULL);
	ev_timer_start(master_loop, &wedge_timer, 2000);
	ev_timer_init(&table_timer, table_tick, NULL);
	ev_timer_start(master_loop, &table_timer, 1000);
	ev_run(master_loop);
	return 0;
}
