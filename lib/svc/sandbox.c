/*
 * NAME
 *	sandbox - a seccomp filter per daemon
 * DESCRIPTION
 *	See sandbox.h.  The filter is built with libseccomp: default
 *	action SCMP_ACT_TRAP, one allow rule per call; socket() gets one
 *	rule per allowed address family (argument 0), ioctl() one per
 *	allowed request (argument 1), and tgkill() is allowed towards the
 *	process itself only (argument 0), which abort() and the SIGSYS
 *	handler need.
 */
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "master_proto.h"
#include "sandbox.h"
#include "str.h"

const char *const sandbox_common[] = {
	/* descriptors and files (opened inside the jail only) */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close",
	"fstat", "newfstatat", "statx", "lseek", "fcntl", "dup", "dup2", "dup3",
	"pipe2", "openat", "getdents64", "fsync", "fdatasync", "ftruncate",
	"umask", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
	"statfs", "fstatfs", "memfd_create",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	/* signals, process, time */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"restart_syscall", "exit", "exit_group", "getpid", "gettid",
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "clock_gettime", "clock_getres", "gettimeofday", "time",
	"nanosleep", "clock_nanosleep", "sched_yield", "futex", "getrandom",
	"uname", "getrlimit", "prlimit64", "sysinfo",
	/* the event loop */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"poll", "ppoll", "select", "pselect6", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "signalfd4", "eventfd2",
	/* sockets: UNIX ones (daemons, syslog); IP only where declared */
	"socket:unix", "connect", "accept4", "recvmsg", "sendmsg", "recvfrom",
	"sendto", "getsockopt", "setsockopt", "getsockname", "getpeername",
	"shutdown",
	NULL,
};

#if defined(__SANITIZE_ADDRESS__)
/*
 * make asan: AddressSanitizer's and UBSan's runtime make their own
 * system calls, and on x86-64 the legacy ones (open, not openat), while
 * they write a report (the executable's name, /proc/self/maps).  A
 * report must reach the log, not die of SIGSYS halfway: these calls
 * are added to every filter of a sanitizer build, and to no other.
 */
static const char *const sanitizer_calls[] = {
	"open", "stat", "lstat", "readlink", "getdents", "sched_getaffinity",
	NULL,
};
#else
static const char *const sanitizer_calls[] = {NULL};
#endif

/*
 * arg_eq - "argument arg equals v" (libseccomp's SCMP_A0() and kin leave
 * datum_b to the compiler, which clang's -Wmissing-field-initializers
 * refuses)
 */
static struct scmp_arg_cmp
arg_eq(unsigned arg, scmp_datum_t v)
{
	struct scmp_arg_cmp c = {.arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0};

	return c;
}

static int status_fd = -1;
static struct master_status trap_record;

/* on_sigsys - tell the master which call, then die of SIGSYS */
static void
on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	struct sigaction dfl;

	(void) ctx;
	trap_record.code = MS_SECCOMP + (uint32_t) (si->si_syscall & 0xffff);
	if (status_fd >= 0)
		(void) !write(status_fd, &trap_record, sizeof(trap_record));
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	(void) sigaction(sig, &dfl, NULL);
	/* Pending until the handler returns; then it kills. */
	(void) syscall(SYS_tgkill, trap_record.pid, syscall(SYS_gettid), sig);
}

static int
allow(scmp_filter_ctx f, const char *name, char *why, size_t whylen)
{
	static const struct {
		const char *name;
		int	family;
	}       families[] = {
		{"socket:unix", AF_UNIX}, {"socket:inet", AF_INET}, {"socket:inet6", AF_INET6},
	};
	int     nr;

	if (str_eq(name, "kill:probe")) {
		if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				     arg_eq(1, 0)) < 0) {
			(void) str_fmt(why, whylen, "cannot allow %s", name);
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (str_eq(name, families[i].name)) {
			if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
					     arg_eq(0, (scmp_datum_t) families[i].family)) < 0) {
				(void) str_fmt(why, whylen, "cannot allow %s", name);
				return -1;
			}
			return 0;
		}
	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR)
		return 0;			/* not on this system */
	if (seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0) < 0) {
		(void) str_fmt(why, whylen, "cannot allow %s", name);
		return -1;
	}
	return 0;
}

void
sandbox_enter(const char *who, const char *const *calls, int fd, uint32_t generation)
{
	/* FIONREAD, FIONBIO: sockets; TCGETS: isatty(); SIOCGIFNAME: a scope's name */
	static const unsigned long ioctls[] = {FIONREAD, FIONBIO, TCGETS, SIOCGIFNAME};
	struct sigaction sa;
	scmp_filter_ctx f;
	char    why[128] = "";
	int     r = 0;

	status_fd = fd;
	trap_record.pid = (uint32_t) getpid();
	trap_record.generation = generation;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		log_fatal("%s: seccomp: cannot catch SIGSYS: %m", who);
	if ((f = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		log_fatal("%s: seccomp: cannot make a filter", who);
	for (const char *const *c = sandbox_common; *c && r == 0; c++)
		r = allow(f, *c, why, sizeof(why));
	for (const char *const *c = calls; c && *c && r == 0; c++)
		r = allow(f, *c, why, sizeof(why));
	for (const char *const *c = sanitizer_calls; *c && r == 0; c++)
		r = allow(f, *c, why, sizeof(why));
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]) && r == 0; i++)
		if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     arg_eq(1, (scmp_datum_t) ioctls[i])) < 0) {
			(void) str_copy(why, sizeof(why), "cannot allow ioctl");
			r = -1;
		}
	if (r == 0 && seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				       arg_eq(0, (scmp_datum_t) getpid())) < 0) {
		(void) str_copy(why, sizeof(why), "cannot allow tgkill");
		r = -1;
	}
	if (r == 0 && (r = seccomp_load(f)) < 0)
		(void) str_fmt(why, sizeof(why), "cannot load the filter: %s", strerror(-r));
	seccomp_release(f);
	if (r < 0)
		log_fatal("%s: seccomp: %s", who, why);
}

char   *
sandbox_syscall_name(int nr, char *buf, size_t size)
{
	char   *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

	if (name == NULL || str_copy(buf, size, name) < 0)
		(void) str_fmt(buf, size, "#%d", nr);
	free(name);
	return buf;
}
