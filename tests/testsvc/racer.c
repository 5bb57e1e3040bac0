/*
 * NAME
 *	racer - swap sockets and FIFOs for symbolic links, as fast as it can
 * SYNOPSIS
 *	racer TARGET PATH...	(run as mail_owner by tests/e2e/test_race.py)
 * DESCRIPTION
 *	What a compromised daemon running as mail_owner can do to the
 *	directories it owns (private/ and public/): watch each PATH and,
 *	the moment a socket or FIFO appears there, put a symbolic link to
 *	TARGET in its place (symlink under a temporary name, then rename
 *	over it, so the name is never missing).  A privileged process
 *	that changes owner or mode by path after creating the endpoint
 *	then changes TARGET instead.  Now and then it also plants a link
 *	where nothing is, as a stale entry from a lost race would be.
 *
 *	It spins without sleeping until killed, and on SIGTERM prints
 *	"swaps=N planted=M" on standard output and exits 0.
 *	Only the end-to-end tests use it; it is not installed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void
on_term(int sig)
{
	(void) sig;
	done = 1;
}

int
main(int argc, char **argv)
{
	unsigned long swaps = 0, planted = 0, round = 0;
	char    tmp[4200];

	if (argc < 3) {
		fprintf(stderr, "usage: racer TARGET PATH...\n");
		return 64;
	}
	signal(SIGTERM, on_term);
	while (!done) {
		round++;
		for (int i = 2; i < argc && !done; i++) {
			struct stat st;
			int     r = lstat(argv[i], &st);

			if (r == 0 && !S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode))
				continue;
			/* A missing name gets a link only now and then. */
			if (r < 0 && (errno != ENOENT || round % 4096 != 0))
				continue;
			if (snprintf(tmp, sizeof(tmp), "%s.race%d", argv[i], i) >= (int) sizeof(tmp))
				return 64;
			(void) unlink(tmp);
			if (symlink(argv[1], tmp) < 0)
				continue;
			if (rename(tmp, argv[i]) < 0) {
				(void) unlink(tmp);
				continue;
			}
			if (r == 0)
				swaps++;
			else
				planted++;
		}
	}
	printf("swaps=%lu planted=%lu\n", swaps, planted);
	return 0;
}
