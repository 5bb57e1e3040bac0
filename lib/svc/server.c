/*
 * NAME
 *	server - the skeleton every postern daemon runs on
 * DESCRIPTION
 *	See server.h.  The privilege story of every daemon is told here,
 *	once: configuration and logging are opened as root, the daemon's
 *	pre-jail hook runs as root, then chroot and privilege drop, then
 *	the post-jail hook and only then the first client byte.
 * SECURITY
 *	A daemon other than local that is started without -u refuses to
 *	run.  The environment given by the master is already minimal; the
 *	skeleton reads POSTERN_GENERATION, POSTERN_LISTEN_FDS,
 *	POSTERN_CONFIG_FD and POSTERN_LOG_FD once and removes them from
 *	the environment, since the descriptors they name are closed or
 *	moved and their numbers reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "event.h"
#include "log.h"
#include "master_proto.h"
#include "mem.h"
#include "num.h"
#include "params.h"
#include "priv.h"
#include "reach.h"
#include "sandbox.h"
#include "server.h"

static const struct server_ops *ops;
static int listen_fds[MASTER_MAX_LISTEN];
static int n_listen;
static char service[128] = "-";
static unsigned generation;
static bool foreground;
static struct ev_loop *loop;
static volatile sig_atomic_t got_term;
static bool stopping;
static sigset_t term_unblocked;		/* single model: the mask with SIGTERM let through */
static long long uses;			/* single model: clients and requests served */
static uint64_t last_report_ms;		/* when the master last heard from us */
static int svc_argc;
static char **svc_argv;
static const char **over_names;		/* -o name=value, for the check */
static const char *config_dir_arg;	/* -c */

int
server_listen_count(void)
{
	return n_listen;
}

int
server_listen_fd(int i)
{
	return (i >= 0 && i < n_listen) ? listen_fds[i] : -1;
}

const char *
server_service(void)
{
	return service;
}

unsigned
server_generation(void)
{
	return generation;
}

struct ev_loop *
server_loop(void)
{
	return loop;
}

bool
server_stopping(void)
{
	return stopping || got_term;
}

bool
server_foreground(void)
{
	return foreground;
}

int
server_argc(void)
{
	return svc_argc;
}

char **
server_argv(void)
{
	return svc_argv;
}

const char *
server_config_dir(void)
{
	return config_dir_arg;
}

/* report - one status record to the master; a lost master is fatal */
static void
report(uint32_t code)
{
	struct master_status st = {
		.pid = (uint32_t) log_pid(),
		.generation = generation,
		.code = code,
	};
	ssize_t n;

	do
		n = write(MASTER_STATUS_FD, &st, sizeof(st));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EPIPE)
		log_fatal("master went away; exiting");
	last_report_ms = ev_time_ms();
}

void
server_progress(void)
{
	report(MS_HEARTBEAT);
}

void
server_exit(int code)
{
	if (ops && ops->on_exit)
		ops->on_exit();
	exit(code);
}

static void
close_listeners(void)
{
	for (int i = 0; i < n_listen; i++)
		if (listen_fds[i] >= 0) {
			close(listen_fds[i]);
			listen_fds[i] = -1;
		}
}

static const char *const common_params[] = {SERVER_COMMON_PARAMS, NULL};

#if defined(__SANITIZE_ADDRESS__)
/*
 * make asan: LeakSanitizer looks for leaks at exit by stopping the
 * process with ptrace from a helper it clones and reading /proc.  A
 * daemon refuses all of that on purpose: it is not dumpable, it lives
 * in a chroot without /proc, and its seccomp filter forbids clone and
 * ptrace; LeakSanitizer then gives up and makes every normal exit
 * status 1.  So a daemon built with AddressSanitizer runs without leak
 * detection, on purpose (the master passes no ASAN_OPTIONS, so this
 * default is what it gets); address and undefined-behaviour checks
 * stay on.  Nor does it symbolize a report: the symbolizer would be
 * another program (llvm-symbolizer, addr2line: fork and execve, which
 * the filter forbids and the chroot does not hold), so a report's
 * frames are "(binary+offset)", for addr2line -e binary offset.
 */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0:symbolize=0";
}

/*
 * sanitizer_reports_to_log - a daemon's standard error is the master's
 * (/dev/null once it runs in the background), where an AddressSanitizer
 * or UBSan report would be lost: with maillog_file, point descriptor 2
 * at the log file, so a report lands in the log the tests read (and
 * harness.py fails the test).  Sanitizer builds only.
 */
static void
sanitizer_reports_to_log(void)
{
	int     fd = log_file_fd();

	if (fd >= 0 && fd != STDERR_FILENO)
		(void) dup2(fd, STDERR_FILENO);
}
#else
static void
sanitizer_reports_to_log(void)
{
}
#endif

/* reads_param - name is a parameter the daemon declares it reads */
static bool
reads_param(const char *name)
{
	return reach_match(common_params, name) || reach_match(ops->params, name);
}

static void
print_list(const char *key, const char *const *a, const char *const *b)
{
	printf("%s", key);
	for (; a && *a; a++)
		printf(" %s", *a);
	for (; b && *b; b++)
		printf(" %s", *b);
	printf("\n");
}

#define TALKS_MAX	64

/*
 * talks_expand - an entry "$name" of talks stands for the endpoints the
 * value of main.cf parameter name names (reach_endpoints(): smtpd's
 * "$smtpd_sasl_path", the socket of the SMTP AUTH back end the
 * administrator chose); "$pattern" with an asterisk, for those of every
 * string or list parameter whose name matches (smtpd's
 * "$smtpd_*_restrictions": the sockets of check_policy_service)
 */
#define TALKS_BUF	8192

static void
expand_one(const struct param_info *pi, const char **out, size_t *n,
	   char *buf, size_t *used)
{
	const char *v;
	int	k;

	if (pi->type != PT_STR && pi->type != PT_LIST)
		return;
	v = *(const char *const *) ((const char *) cfg + pi->offset);
	if ((k = reach_endpoints(v, buf + *used, TALKS_BUF - *used, out + *n,
				 TALKS_MAX - *n)) < 0)
		log_fatal("%s: names more endpoints than this program can hold "
			  "(%d, in %d bytes)", pi->name, TALKS_MAX, TALKS_BUF);
	for (int i = 0; i < k; i++)
		*used += strlen(out[*n + i]) + 1;
	*n += (size_t) k;
}

static const char *const *
talks_expand(const char *const *talks)
{
	static const char *out[TALKS_MAX + 1];
	static char buf[TALKS_BUF];
	size_t	n = 0, used = 0;

	for (; talks && *talks; talks++) {
		const struct param_info *pi;
		const char *name = *talks + 1;

		if (n == TALKS_MAX)
			log_panic("server_ops.talks: more than %d entries", TALKS_MAX);
		if ((*talks)[0] != '$') {
			out[n++] = *talks;
			continue;
		}
		if (strchr(name, '*') != NULL) {
			const char *const pat[] = {name, NULL};

			for (size_t i = 0; i < param_count; i++)
				if (reach_match(pat, param_table[i].name))
					expand_one(&param_table[i], out, &n, buf, &used);
			continue;
		}
		if ((pi = param_find(name)) == NULL
		    || (pi->type != PT_STR && pi->type != PT_LIST))
			log_panic("server_ops.talks: %s names no string parameter", *talks);
		expand_one(pi, out, &n, buf, &used);
	}
	out[n] = NULL;
	return out;
}

void
server_declare(const struct server_ops *o, const char *name)
{
	static const char *const chroots[] = {"may", "must", "never"};
	const char *base = strrchr(name, '/');

	printf("postern-daemon %s\n", base ? base + 1 : name);
	printf("model %s\n", o->model == SERVER_EVENT ? "event" : "single");
	printf("user %s\n", o->allow_root ? "root" : "mail_owner");
	printf("chroot %s\n", chroots[o->chroot]);
	print_list("talks", o->talks, NULL);
	print_list("params", common_params, o->params);
	if (o->syscalls == NULL)
		printf("seccomp off\n");
	else
		print_list("seccomp", o->syscalls, NULL);
	(void) fflush(stdout);
}

static void
usage(void)
{
	log_fatal("usage: %s -c config_dir -n service -t type [-u] [-z] [-S] "
		  "[-o name=value] [args] (this program is started by the postern master)",
		  log_program());
}

/* setup - arguments, configuration, logging, jail */
static void
setup(int argc, char **argv)
{
	const char *config_dir = NULL;
	bool    unpriv = false, jail = false;
	const char **overrides = xcalloc((size_t) argc + 1, sizeof(*overrides));
	size_t  n_over = 0;
	const char *env, *why;
	struct params *p;
	struct buf err;
	long long v;
	int     c, config_fd = -1;

	/* Until main.cf is read, complain on stderr and in syslog. */
	log_init(argv[0], LOG_DEST_SYSLOG | LOG_DEST_STDERR);

	opterr = 0;
	while ((c = getopt(argc, argv, "+c:n:t:uzSo:")) != -1) {
		switch (c) {
		case 'c':
			config_dir = optarg;
			break;
		case 'n':
			if (strlen(optarg) >= sizeof(service))
				log_fatal("service name too long: %.64s...", optarg);
			memcpy(service, optarg, strlen(optarg) + 1);
			break;
		case 't':
			break;
		case 'u':
			unpriv = true;
			break;
		case 'z':
			jail = true;
			break;
		case 'S':
			foreground = true;
			break;
		case 'o':
			overrides[n_over++] = optarg;
			break;
		default:
			usage();
		}
	}
	svc_argc = argc - optind;
	svc_argv = argv + optind;
	if (config_dir == NULL)
		usage();
	config_dir_arg = config_dir;

	if (fcntl(MASTER_STATUS_FD, F_GETFD) < 0)
		log_fatal("no status descriptor %d: this program is started by the "
			  "postern master, not by hand", MASTER_STATUS_FD);
	(void) fcntl(MASTER_STATUS_FD, F_SETFD, FD_CLOEXEC);

	if ((env = getenv(MASTER_ENV_GENERATION)) != NULL
	    && num_parse_int(env, 0, UINT32_MAX, &v, &why) == 0)
		generation = (unsigned) v;
	if ((env = getenv(MASTER_ENV_LISTEN_FDS)) != NULL) {
		if (num_parse_int(env, 0, MASTER_MAX_LISTEN, &v, &why) < 0)
			log_fatal("bad %s value \"%.32s\": %s", MASTER_ENV_LISTEN_FDS, env, why);
		n_listen = (int) v;
	}
	for (int i = 0; i < n_listen; i++) {
		listen_fds[i] = MASTER_LISTEN_FD + i;
		if (fcntl(listen_fds[i], F_SETFD, FD_CLOEXEC) < 0)
			log_fatal("listening descriptor %d missing: %m", listen_fds[i]);
	}

	if ((env = getenv(MASTER_ENV_CONFIG_FD)) != NULL) {
		if (num_parse_int(env, 3, 1024, &v, &why) < 0)
			log_fatal("bad %s value \"%.32s\": %s", MASTER_ENV_CONFIG_FD, env, why);
		config_fd = (int) v;
		(void) fcntl(config_fd, F_SETFD, FD_CLOEXEC);
	}
	buf_init(&err, 64 * 1024);
	p = config_load_fd(config_dir, config_fd, overrides, n_over, &err);
	if (config_fd >= 0)
		close(config_fd);
	if (p == NULL) {
		log_multiline(LOG_L_ERROR, "configuration: ", buf_str(&err));
		log_fatal("configuration errors in %s/main.cf (see above)", config_dir);
	}
	buf_free(&err);
	over_names = overrides;
	config_install(p);

	log_set_dest(LOG_DEST_SYSLOG | (foreground ? LOG_DEST_STDERR : 0));
	log_set_syslog_name(cfg->syslog_name);
	if (cfg->maillog_file[0] && log_open_file(cfg->maillog_file) < 0)
		log_warn("cannot open maillog_file %s: %m", cfg->maillog_file);
	if (!foreground)
		sanitizer_reports_to_log();
	/* Log rotation: the master passes the reopened file here (log.h). */
	if ((env = getenv(MASTER_ENV_LOG_FD)) != NULL) {
		if (num_parse_int(env, 3, 1024, &v, &why) < 0
		    || log_reopen_channel((int) v) < 0)
			log_warn("bad %s value \"%.32s\": this process will not follow log "
				 "rotation", MASTER_ENV_LOG_FD, env);
		else
			(void) fcntl((int) v, F_SETFD, FD_CLOEXEC);
	}

	/*
	 * What the master passed is taken: no later getenv() (a library, a
	 * command local runs) may act on a descriptor number that has been
	 * closed and reused since.
	 */
	(void) unsetenv(MASTER_ENV_GENERATION);
	(void) unsetenv(MASTER_ENV_LISTEN_FDS);
	(void) unsetenv(MASTER_ENV_CONFIG_FD);
	(void) unsetenv(MASTER_ENV_LOG_FD);

	if (chdir(cfg->queue_directory) < 0)
		log_fatal("chdir %s: %m (check queue_directory in %s/main.cf)",
			  cfg->queue_directory, config_dir);
	if (!unpriv && !ops->allow_root)
		log_fatal("refusing to run as root: master.cf must mark service %s "
			  "unprivileged (unpriv column y or -)", service);
	if (unpriv && ops->allow_root)
		log_fatal("service %s: %s runs as root; master.cf must say unpriv=n "
			  "for it", service, log_program());
	if (!jail && ops->chroot == SERVER_CHROOT_MUST)
		log_fatal("refusing to run outside the queue directory: %s must be "
			  "chrooted (master.cf: chroot column y for service %s)",
			  log_program(), service);
	if (jail && ops->chroot == SERVER_CHROOT_NEVER)
		log_fatal("refusing to run chrooted: %s needs files outside the queue "
			  "directory (master.cf: chroot column n for service %s)",
			  log_program(), service);
	for (size_t i = 0; i < n_over; i++) {
		size_t  len = strcspn(over_names[i], "=");
		char    name[128];

		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, over_names[i], len);
		name[len] = '\0';
		if (!reads_param(name))
			log_fatal("service %s: -o %s: %s does not read that parameter "
				  "(remove the override from master.cf)", service, name,
				  log_program());
	}
	reach_limit(talks_expand(ops->talks));

	if (ops->pre_jail)
		ops->pre_jail();

	if (unpriv) {
		struct priv_user u;

		if (priv_lookup(cfg->mail_owner, &u) < 0)
			log_fatal("mail_owner %s: no such user (create it, or run "
				  "postern init as root)", cfg->mail_owner);
		priv_drop(&u, jail ? cfg->queue_directory : NULL);
	} else if (jail) {
		if (chroot(cfg->queue_directory) < 0 || chdir("/") < 0)
			log_fatal("chroot %s: %m", cfg->queue_directory);
	}

	if (ops->post_jail)
		ops->post_jail();
}

/*
 * raise_nofile - an event server holds many clients; the soft limit on
 * descriptors a shell or init gives (often 1024) would cap smtpd far
 * below smtpd_client_limit.  Raise the soft limit to the hard one (at
 * most NOFILE_MAX): the hard limit stays the administrator's bound.
 */
#define NOFILE_MAX	(1024 * 1024)

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = rl.rlim_max > NOFILE_MAX ? NOFILE_MAX : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("cannot raise the descriptor limit to %llu: %m",
			 (unsigned long long) rl.rlim_cur);
}

/* enter_sandbox - the daemon's seccomp filter, when it declares one */
static void
enter_sandbox(void)
{
	if (ops->syscalls != NULL)
		sandbox_enter(log_program(), ops->syscalls, MASTER_STATUS_FD, generation);
}

static void
on_term(int sig)
{
	(void) sig;
	got_term = 1;
}

int
server_wait_request(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint64_t end = timeout_ms < 0 ? UINT64_MAX : ev_time_ms() + (uint64_t) timeout_ms;

	for (;;) {
		uint64_t now = ev_time_ms(), wait_ms;
		struct timespec ts;
		int     r;

		if (got_term)
			return 0;
		if (now >= end) {
			errno = ETIMEDOUT;
			return 0;
		}
		/* The master hears from us while we hold a client, even an idle one. */
		if (now - last_report_ms >= MASTER_HEARTBEAT_MS)
			report(MS_HEARTBEAT);
		wait_ms = last_report_ms + MASTER_HEARTBEAT_MS - now;
		if (end - now < wait_ms)
			wait_ms = end - now;
		ts.tv_sec = (time_t) (wait_ms / 1000);
		ts.tv_nsec = (long) (wait_ms % 1000) * 1000000;
		/* SIGTERM is deliverable here and only here: never mid-request. */
		r = ppoll(&pfd, 1, &ts, &term_unblocked);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

bool
server_use_request(void)
{
	return ++uses < cfg->max_use;
}

/* single_loop - serve one client at a time until retired */
static void
single_loop(void)
{
	struct pollfd pfd[MASTER_MAX_LISTEN];
	struct sigaction sa;
	sigset_t block;
	struct timespec idle = {.tv_sec = (time_t) cfg->max_idle};

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &term_unblocked);
	sigdelset(&term_unblocked, SIGTERM);

	for (int i = 0; i < n_listen; i++) {
		pfd[i].fd = listen_fds[i];
		pfd[i].events = POLLIN;
	}
	enter_sandbox();
	report(MS_READY);
	report(MS_IDLE);
	while (!got_term && uses < cfg->max_use) {
		int     r = ppoll(pfd, (nfds_t) n_listen, &idle, &term_unblocked);

		if (r == 0)
			break;			/* idle too long: retire */
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %m");
		}
		for (int i = 0; i < n_listen && !got_term && uses < cfg->max_use; i++) {
			int     fd;

			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
					log_warn("accept on service %s: %m", service);
				continue;
			}
			report(MS_BUSY);
			uses++;
			ops->serve(fd);
			close(fd);
			report(MS_IDLE);
		}
	}
	server_exit(0);
}

static void
heartbeat(struct ev_loop *l, struct ev_timer *t)
{
	report(MS_HEARTBEAT);
	ev_timer_start(l, t, MASTER_HEARTBEAT_MS);
}

static void
event_term(struct ev_loop *l, int sig)
{
	(void) sig;
	if (stopping)
		return;
	stopping = true;
	if (ops->stop == NULL)
		server_exit(0);
	ops->stop(l);
	close_listeners();
}

static void
event_loop(void)
{
	static struct ev_timer hb;

	raise_nofile();
	loop = ev_loop_new();
	if (ev_signal(loop, SIGTERM, event_term) < 0)
		log_fatal("cannot watch SIGTERM: %m");
	ev_timer_init(&hb, heartbeat, NULL);
	ev_timer_start(loop, &hb, MASTER_HEARTBEAT_MS);
	ops->start(loop);
	enter_sandbox();
	report(MS_READY);
	ev_run(loop);
	server_exit(0);
}

int
server_main(int argc, char **argv, const struct server_ops *o)
{
	ops = o;
	if (argc == 2 && strcmp(argv[1], "-D") == 0) {
		server_declare(o, argv[0]);
		exit(0);
	}
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	setup(argc, argv);
	if (ops->model == SERVER_SINGLE)
		single_loop();
	else
		event_loop();
	return 0;
}
