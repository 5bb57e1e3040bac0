/*
 * NAME
 *	postern - control a postern mail system instance
 * SYNOPSIS
 *	postern init [-p port] DIR
 *	postern [-c config_dir] start | start-fg | stop | abort | reload |
 *		logrotate | status | check | set-permissions
 * DESCRIPTION
 *	The administrator's front door.
 *
 *	init	creates a complete, self-contained instance in DIR: its own
 *		DIR/etc/main.cf and master.cf (SMTP on 127.0.0.1:port; the
 *		port is 2525 unless -p says otherwise, and a free one is
 *		chosen when 2525 is taken), the queue tree with its owners
 *		and modes, DIR/mail for mailboxes, DIR/log/maillog, and
 *		aliases.  The instance runs the daemons and commands this
 *		postern was run from.  As root it also creates the system
 *		user "postern" and group "postdrop" when they are missing.
 *		Existing configuration files are never overwritten.
 *	start	checks the instance, starts the master and returns once the
 *		suite is up and accepting; on failure it prints why and
 *		exits non-zero.
 *	start-fg runs the master in the foreground, logging to stderr.
 *	stop	graceful stop: no new connections, running sessions get a
 *		short time to finish.  Waits until the master has exited.
 *	abort	stops every process at once.
 *	reload	re-reads main.cf and master.cf; the running suite keeps its
 *		configuration if the new one is bad: the reason is printed
 *		and the exit status is 1 (the master is asked over its
 *		control socket and says whether it reloaded).
 *	logrotate
 *		makes every process write to maillog_file anew, after a
 *		log rotation moved it away (the master opens the file again
 *		and passes it to each process; the same as SIGUSR1 to the
 *		master).  With syslog it has nothing to do.
 *	set-permissions
 *		creates what the configuration in config_dir needs and
 *		lacks: the user "postern" and group "postdrop", the queue
 *		tree and data_directory with their owners and modes, and
 *		postdrop set-group-id (what init does for a new instance;
 *		the Debian package runs it at installation).  Root only.
 *	status	lists every process: role, service, pid, generation, uid,
 *		gid, root directory, state.
 *	check	validates main.cf, master.cf and the queue tree's owners and
 *		modes, and prints every problem found, then notes: main.cf
 *		names that are ignored or unknown (lib/svc/params_postfix.def).
 *	stop, abort and status read only data_directory from main.cf,
 *	so they work on a running instance whose main.cf was broken
 *	since it started.
 * EXIT STATUS
 *	0 success; 1 failure (the reason is printed); 64 bad usage.
 * SECURITY
 *	start, stop, reload, logrotate, abort and status need root.  The master is
 *	started with a fixed, minimal environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "instance.h"
#include "ipc.h"
#include "log.h"
#include "master_proto.h"
#include "mem.h"
#include "postern.h"
#include "safefile.h"
#include "str.h"
#include "version.h"

#define START_WAIT_MS	30000
#define STOP_WAIT_MS	30000

static const char *config_dir = SYSCONFDIR;

static _Noreturn void
usage(void)
{
	fprintf(stderr,
		"usage: postern init [-p port] DIR\n"
		"       postern [-c config_dir] start|start-fg|stop|abort|reload|\n"
		"                                    logrotate|status|check|set-permissions\n");
	exit(64);
}

static void
need_root(const char *what)
{
	if (geteuid() != 0) {
		fprintf(stderr, "postern: %s must be run as root\n", what);
		exit(1);
	}
}

/* load - the instance, or exit printing every problem */
static void
load(struct instance *in, bool check_tree)
{
	struct buf problems;

	buf_init(&problems, 256 * 1024);
	if (instance_load(config_dir, in, &problems) < 0
	    || (check_tree && instance_check(in, &problems) > 0)) {
		fprintf(stderr, "postern: problems with the instance in %s:\n%s",
			config_dir, buf_str(&problems));
		exit(1);
	}
	buf_free(&problems);
}

int
postern_self_dirs(char *bindir, size_t bsz, char *libexecdir, size_t lsz)
{
	char    exe[4096], probe[4200], real[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return -1;
	*slash = '\0';
	if (str_copy(bindir, bsz, exe) < 0)
		return -1;
	/* Installed: PREFIX/sbin + PREFIX/libexec/postern; built: build/bin + build/libexec. */
	if (str_fmt(probe, sizeof(probe), "%s/../libexec/postern/master", exe) == 0
	    && access(probe, X_OK) == 0)
		(void) str_fmt(probe, sizeof(probe), "%s/../libexec/postern", exe);
	else
		(void) str_fmt(probe, sizeof(probe), "%s/../libexec", exe);
	if (realpath(probe, real) == NULL)
		return -1;
	return str_copy(libexecdir, lsz, real);
}

int
postern_run(const char *path, char *const argv[])
{
	static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	int     status;
	pid_t   pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execve(path, argv, envp);
		fprintf(stderr, "postern: cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* print_notes - what check says besides problems: ignored and unknown names */
static void
print_notes(const struct instance *in)
{
	struct buf notes;
	const char *s, *nl;

	buf_init(&notes, 256 * 1024);
	(void) instance_notes(in, &notes);
	for (s = buf_str(&notes); *s; s = nl + 1) {
		if ((nl = strchr(s, '\n')) == NULL)
			break;
		printf("postern: note: %.*s\n", (int) (nl - s), s);
	}
	buf_free(&notes);
}

static int
cmd_check(void)
{
	struct instance in;
	struct buf problems;
	int     bad;

	buf_init(&problems, 256 * 1024);
	if (instance_load(config_dir, &in, &problems) < 0) {
		fprintf(stderr, "postern: problems with the instance in %s:\n%s",
			config_dir, buf_str(&problems));
		return 1;
	}
	bad = instance_check(&in, &problems) > 0;
	if (bad)
		fprintf(stderr, "postern: problems with the instance in %s:\n%s",
			config_dir, buf_str(&problems));
	print_notes(&in);
	if (!bad)
		printf("postern: the instance in %s is OK\n", config_dir);
	instance_free(&in);
	buf_free(&problems);
	return bad ? 1 : 0;
}

/*
 * data_dir - where the running instance keeps master.pid and
 * master.ctl.  Only data_directory is read from main.cf, so an instance
 * whose main.cf was broken after it started can still be stopped,
 * aborted and listed.
 */
static void
data_dir(char *out, size_t size)
{
	struct buf v, err;

	buf_init(&v, size - 1);
	buf_init(&err, 64 * 1024);
	if (config_peek(config_dir, "data_directory", &v, &err) < 0) {
		fprintf(stderr, "postern: cannot find the running instance of %s:\n%s",
			config_dir, buf_str(&err));
		exit(1);
	}
	(void) str_copy(out, size, buf_str(&v));
	buf_free(&v);
	buf_free(&err);
}

static void
master_path(const struct instance *in, char *path, size_t size)
{
	if (str_fmt(path, size, "%s/master", in->params->daemon_directory) < 0) {
		fprintf(stderr, "postern: daemon_directory too long\n");
		exit(1);
	}
}

static int
cmd_start(bool foreground)
{
	struct instance in;
	char    master[4096], pidfile[4096];
	char   *argv[8];
	char   *envp[3];
	char    tz[256];
	int     n = 0, pfd[2], e = 0;
	pid_t   pid;
	struct buf reply;

	need_root("start");
	load(&in, true);
	master_path(&in, master, sizeof(master));
	(void) str_fmt(pidfile, sizeof(pidfile), "%s/master.pid", in.params->data_directory);
	if ((pid = sf_pidfile_read(pidfile)) > 0) {
		fprintf(stderr, "postern: the mail system is already running (master pid %ld)\n",
			(long) pid);
		return 1;
	}
	envp[e++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	if (getenv("TZ") && str_fmt(tz, sizeof(tz), "TZ=%s", getenv("TZ")) == 0)
		envp[e++] = tz;
	envp[e] = NULL;
	argv[n++] = master;
	argv[n++] = "-c";
	argv[n++] = (char *) config_dir;
	if (foreground) {
		argv[n++] = "-f";
		argv[n] = NULL;
		execve(master, argv, envp);
		fprintf(stderr, "postern: cannot run %s: %s\n", master, strerror(errno));
		return 1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("postern: pipe");
		return 1;
	}
	if ((pid = fork()) < 0) {
		perror("postern: fork");
		return 1;
	}
	if (pid == 0) {
		int     null = open("/dev/null", O_RDWR);

		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		/* dup2 onto itself would keep O_CLOEXEC: the master would get no fd 5 */
		if (pfd[1] == 5 ? fcntl(5, F_SETFD, 0) < 0 : dup2(pfd[1], 5) < 0)
			_exit(127);
		close_range(6, ~0U, 0);
		argv[n++] = "-R";
		argv[n++] = "5";
		argv[n] = NULL;
		execve(master, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	buf_init(&reply, 256 * 1024);
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		char    chunk[4096];
		ssize_t r;

		if (poll(&p, 1, START_WAIT_MS) <= 0) {
			fprintf(stderr, "postern: the master did not report within %d s; "
				"see the log (%s)\n", START_WAIT_MS / 1000,
				in.params->maillog_file[0] ? in.params->maillog_file : "syslog");
			return 1;
		}
		if ((r = read(pfd[0], chunk, sizeof(chunk))) <= 0)
			break;
		(void) buf_append(&reply, chunk, (size_t) r);
	}
	if (strncmp(buf_str(&reply), "ok", 2) != 0) {
		int     status;

		(void) waitpid(pid, &status, WNOHANG);
		fprintf(stderr, "postern: the mail system did not start: %s%s",
			reply.len ? buf_str(&reply) : "the master exited without a reason; see the log",
			reply.len && reply.data[reply.len - 1] == '\n' ? "" : "\n");
		return 1;
	}
	printf("postern: started (master pid %ld, configuration %s)\n", (long) pid, config_dir);
	instance_free(&in);
	return 0;
}

static int
signal_master(int sig, const char *what, bool wait_exit)
{
	char    pidfile[4096], ddir[4000];
	pid_t   pid;
	int     waited = 0;

	need_root(what);
	data_dir(ddir, sizeof(ddir));
	(void) str_fmt(pidfile, sizeof(pidfile), "%s/master.pid", ddir);
	if ((pid = sf_pidfile_read(pidfile)) <= 0) {
		fprintf(stderr, "postern: %s: the mail system is not running\n", what);
		return 1;
	}
	if (kill(pid, sig) < 0) {
		fprintf(stderr, "postern: %s: signal master pid %ld: %s\n", what, (long) pid,
			strerror(errno));
		return 1;
	}
	while (wait_exit && kill(pid, 0) == 0 && waited < STOP_WAIT_MS) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
		waited += 20;
	}
	if (wait_exit && kill(pid, 0) == 0) {
		fprintf(stderr, "postern: %s: master pid %ld still running after %d s\n",
			what, (long) pid, STOP_WAIT_MS / 1000);
		return 1;
	}
	printf("postern: %s: done (master pid %ld)\n", what, (long) pid);
	return 0;
}

/*
 * ctl_request - one request to the master's control socket; the reply
 * is left in r.  Exits with a message when the master cannot be asked.
 */
static void
ctl_request(const char *ddir, int type, const char *what, struct ipc_in *r, int timeout_ms)
{
	char    path[4096], pidfile[4096];
	struct ipc_msg m;
	int     fd;

	(void) str_fmt(pidfile, sizeof(pidfile), "%s/master.pid", ddir);
	if (sf_pidfile_read(pidfile) <= 0) {
		fprintf(stderr, "postern: %s: the mail system is not running\n", what);
		exit(1);
	}
	(void) str_fmt(path, sizeof(path), "%s/master.ctl", ddir);
	if ((fd = ipc_connect(path, false)) < 0) {
		fprintf(stderr, "postern: %s: cannot reach the master at %s: %s\n", what,
			path, strerror(errno));
		exit(1);
	}
	ipc_msg_init(&m, type);
	ipc_in_init(r);
	if (ipc_send(fd, &m, -1, 5000) < 0 || ipc_recv(fd, r, NULL, timeout_ms) != 0
	    || r->type != MASTER_CTL_REPLY) {
		fprintf(stderr, "postern: %s: no answer from the master: %s\n", what,
			r->err ? r->err : strerror(errno));
		exit(1);
	}
	close(fd);
	ipc_msg_free(&m);
}

static int
cmd_reload(void)
{
	struct instance in;
	struct ipc_in r;
	char    ddir[4000];
	const char *reason;
	uint64_t status, gen;

	need_root("reload");
	/* The same checks the master makes, with the same words. */
	load(&in, true);
	(void) str_copy(ddir, sizeof(ddir), in.params->data_directory);
	print_notes(&in);
	instance_free(&in);
	ctl_request(ddir, MASTER_CTL_RELOAD, "reload", &r, 30000);
	if (ipc_get_num(&r, "status", &status) < 0 || ipc_get_num(&r, "generation", &gen) < 0
	    || ipc_get_str(&r, "reason", &reason, IPC_MSG_MAX) < 0) {
		fprintf(stderr, "postern: reload: malformed answer: %s\n", ipc_error(&r));
		return 1;
	}
	if (status != 0) {
		fprintf(stderr, "postern: reload refused; the running configuration stays "
			"in force:\n%s%s", reason,
			*reason && reason[strlen(reason) - 1] == '\n' ? "" : "\n");
		ipc_in_free(&r);
		return 1;
	}
	printf("postern: reload: done (generation %llu)\n", (unsigned long long) gen);
	ipc_in_free(&r);
	return 0;
}

/* proc_ids - real uid and gid, and root directory, from /proc */
static void
proc_ids(pid_t pid, char *uid, char *gid, char *root, size_t size)
{
	char    path[64], line[256];
	FILE   *fp;
	ssize_t n;

	(void) str_copy(uid, size, "?");
	(void) str_copy(gid, size, "?");
	(void) str_copy(root, size, "?");
	(void) str_fmt(path, sizeof(path), "/proc/%ld/status", (long) pid);
	if ((fp = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp)) {
			if (strncmp(line, "Uid:", 4) == 0)
				(void) str_fmt(uid, size, "%.*s", (int) strcspn(line + 5, " \t\n"),
					       line + 5 + strspn(line + 5, " \t"));
			if (strncmp(line, "Gid:", 4) == 0)
				(void) str_fmt(gid, size, "%.*s", (int) strcspn(line + 5, " \t\n"),
					       line + 5 + strspn(line + 5, " \t"));
		}
		fclose(fp);
	}
	(void) str_fmt(path, sizeof(path), "/proc/%ld/root", (long) pid);
	if ((n = readlink(path, root, size - 1)) > 0)
		root[n] = '\0';
}

static int
cmd_status(void)
{
	char    pidfile[4096], ddir[4000], uid[32], gid[32], root[4096];
	struct ipc_in r;
	pid_t   mpid;

	need_root("status");
	data_dir(ddir, sizeof(ddir));
	(void) str_fmt(pidfile, sizeof(pidfile), "%s/master.pid", ddir);
	if ((mpid = sf_pidfile_read(pidfile)) <= 0) {
		printf("postern: the mail system is not running\n");
		return 1;
	}
	ctl_request(ddir, MASTER_CTL_STATUS, "status", &r, 5000);
	printf("%-8s %-10s %-8s %-4s %-6s %-6s %-10s %s\n", "ROLE", "SERVICE", "PID", "GEN",
	       "UID", "GID", "STATE", "ROOT");
	proc_ids(mpid, uid, gid, root, sizeof(root));
	printf("%-8s %-10s %-8ld %-4s %-6s %-6s %-10s %s\n", "master", "-", (long) mpid, "-",
	       uid, gid, "running", root);
	while (ipc_peek_name(&r) && strcmp(ipc_peek_name(&r), "service") == 0) {
		const char *svc, *cmd, *state;
		uint64_t pid, gen;

		if (ipc_get_str(&r, "service", &svc, 256) < 0
		    || ipc_get_str(&r, "command", &cmd, 256) < 0
		    || ipc_get_num(&r, "pid", &pid) < 0
		    || ipc_get_num(&r, "generation", &gen) < 0
		    || ipc_get_str(&r, "state", &state, 64) < 0) {
			fprintf(stderr, "postern: status: malformed answer: %s\n", ipc_error(&r));
			return 1;
		}
		proc_ids((pid_t) pid, uid, gid, root, sizeof(root));
		printf("%-8s %-10s %-8llu %-4llu %-6s %-6s %-10s %s\n", cmd, svc,
		       (unsigned long long) pid, (unsigned long long) gen, uid, gid, state, root);
	}
	ipc_in_free(&r);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;
	int     c;

	log_init("postern", LOG_DEST_STDERR);
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return postern_init(argc - 1, argv + 1);
	while ((c = getopt(argc, argv, "+c:")) != -1) {
		if (c == 'c')
			config_dir = optarg;
		else
			usage();
	}
	if (optind != argc - 1)
		usage();
	cmd = argv[optind];
	if (config_dir[0] != '/') {
		static char abs_dir[4096];
		char    cwd[4000];

		if (getcwd(cwd, sizeof(cwd)) == NULL
		    || str_fmt(abs_dir, sizeof(abs_dir), "%s/%s", cwd, config_dir) < 0) {
			fprintf(stderr, "postern: cannot make %s absolute\n", config_dir);
			return 1;
		}
		config_dir = abs_dir;
	}
	if (strcmp(cmd, "start") == 0)
		return cmd_start(false);
	if (strcmp(cmd, "start-fg") == 0)
		return cmd_start(true);
	if (strcmp(cmd, "stop") == 0)
		return signal_master(SIGTERM, "stop", true);
	if (strcmp(cmd, "abort") == 0)
		return signal_master(SIGQUIT, "abort", true);
	if (strcmp(cmd, "reload") == 0)
		return cmd_reload();
	if (strcmp(cmd, "set-permissions") == 0)
		return postern_set_permissions(config_dir);
	if (strcmp(cmd, "logrotate") == 0)
		return signal_master(SIGUSR1, "logrotate", false);
	if (strcmp(cmd, "status") == 0)
		return cmd_status();
	if (strcmp(cmd, "check") == 0)
		return cmd_check();
	if (strcmp(cmd, "version") == 0) {
		printf("postern %s\n", POSTERN_VERSION);
		return 0;
	}
	usage();
}
