/*
 * NAME
 *	testsvc - a small service for testing the master
 * SYNOPSIS
 *	master.cf:  echo  unix  -  -  y  -  -  testsvc [crash]
 * DESCRIPTION
 *	A single-client service on the standard skeleton.  For each client
 *	it says "testsvc pid=PID generation=GEN uid=UID env=E" (E: the first
 *	POSTERN_ variable left in its environment, "-" for none) and echoes every
 *	line it gets back until "quit" or EOF.  With the argument "crash"
 *	it exits with status 1 right after start-up, every time: the master
 *	must throttle its restarts.  The line "execve" makes it call
 *	execve(), and "socket inet" socket(AF_INET): both outside its
 *	seccomp filter (it declares no call beyond the common ones), so
 *	each kills it, and the master logs the call.  In a build with
 *	AddressSanitizer and UBSan (make asan), "asan" reads a heap
 *	block after freeing it and "ubsan" overflows a signed int: each report must reach
 *	the log through the seccomp filter.
 *	Only the end-to-end tests of the master use it; it is not installed.
 */
#include <sys/socket.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"
#include "log.h"
#include "safefile.h"
#include "server.h"
#include "str.h"

static void
post_jail(void)
{
	if (server_argc() > 0 && strcmp(server_argv()[0], "crash") == 0)
		log_fatal("testsvc: crashing on purpose");
}

/* master_env - the first POSTERN_ variable still in the environment */
static const char *
master_env(void)
{
	extern char **environ;

	for (char **e = environ; *e; e++)
		if (strncmp(*e, "POSTERN_", 8) == 0)
			return *e;
	return "-";
}

/*
 * forbidden - the calls its seccomp filter does not allow, on request:
 * "execve" runs /bin/true, "socket inet" makes an IPv4 socket.  Either
 * kills the process (SIGSYS), and the master logs the call by name.
 */
static void
forbidden(const char *line, size_t len)
{
	static char *const argv[] = {"/bin/true", NULL};
	static char *const envp[] = {NULL};

	if (len == 6 && memcmp(line, "execve", 6) == 0)
		(void) execve(argv[0], argv, envp);
	if (len == 11 && memcmp(line, "socket inet", 11) == 0)
		(void) socket(AF_INET, SOCK_STREAM, 0);
}

#if defined(__SANITIZE_ADDRESS__)
/* sanitized - the bugs make asan's sanitizers must report, on request */
static void
sanitized(const char *line, size_t len)
{
	if (len == 4 && memcmp(line, "asan", 4) == 0) {
		char   *p = malloc(8), *volatile kept = p;
		volatile char c;

		if (p == NULL)
			return;
		p[0] = 'x';
		free(p);
		c = kept[0];		/* after free (volatile: hidden from gcc) */
		(void) c;
	}
	if (len == 5 && memcmp(line, "ubsan", 5) == 0) {
		volatile int big = INT_MAX;

		big += (int) len;	/* signed overflow */
	}
}
#else
static void
sanitized(const char *line, size_t len)
{
	(void) line;
	(void) len;
}
#endif

static void
serve(int fd)
{
	struct linebuf lb;
	struct lb_line l;
	char    hello[512];

	/* env= names what the master passed that the skeleton left (-: none). */
	(void) str_fmt(hello, sizeof(hello), "testsvc pid=%ld generation=%u uid=%ld env=%s\n",
		       (long) getpid(), server_generation(), (long) getuid(), master_env());
	if (sf_write_all(fd, hello, strlen(hello)) < 0)
		return;
	linebuf_init(&lb, fd, 1024, NULL, NULL);
	for (;;) {
		if (linebuf_get(&lb, &l) == LB_NEED) {
			if (linebuf_fill(&lb) <= 0)
				break;
			continue;
		}
		if (l.len == 4 && memcmp(l.data, "quit", 4) == 0)
			break;
		forbidden(l.data, l.len);
		sanitized(l.data, l.len);
		if (sf_write_all(fd, l.data, l.len) < 0 || sf_write_all(fd, "\n", 1) < 0)
			break;
	}
	linebuf_free(&lb);
}

/* Nothing beyond what every daemon may do (sandbox_common[]). */
static const char *const syscalls[] = {NULL};

static const struct server_ops ops = {
	.model = SERVER_SINGLE,
	.chroot = SERVER_CHROOT_MAY,
	.syscalls = syscalls,
	.post_jail = post_jail,
	.serve = serve,
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
