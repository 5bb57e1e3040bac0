/*
 * NAME
 *	forkprobe - what one fork + exit + wait costs on this machine
 * SYNOPSIS
 *	forkprobe [COUNT]
 * DESCRIPTION
 *	Forks COUNT (default 2000) children one after the other; each
 *	writes one byte of a 1 MiB heap area the parent touched (one
 *	copy-on-write fault, as a delivery child that changes its state
 *	makes) and exits at once; the parent waits for each.  Prints
 *
 *	  forks=N wall_us=W cpu_us=C
 *
 *	W is wall-clock microseconds per child, C the CPU (user+system
 *	of parent and children) per child.  This is the floor under any
 *	design that forks once per delivery, and it varies a lot between
 *	bare metal and virtual machines, so the benchmark prints it beside
 *	the results.
 * DIAGNOSTICS
 *	Exit status 0 on success, 1 when fork or wait fails, 64 on a
 *	usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AREA	(1024 * 1024)

static double
tv(struct timeval t)
{
	return (double) t.tv_sec + (double) t.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage self, kids;
	char   *end;
	char   *area;
	long	n = 2000, i;
	double	wall, cpu;

	if (argc > 2)
		goto usage;
	if (argc == 2) {
		errno = 0;
		n = strtol(argv[1], &end, 10);
		if (errno != 0 || end == argv[1] || *end != '\0' || n < 1 || n > 1000000)
			goto usage;
	}
	if ((area = malloc(AREA)) == NULL) {
		fprintf(stderr, "forkprobe: out of memory\n");
		return 1;
	}
	memset(area, 1, AREA);
	(void) clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		pid_t	pid = fork();
		int	status;

		if (pid < 0) {
			fprintf(stderr, "forkprobe: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			area[i % AREA] = 2;
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid) {
			fprintf(stderr, "forkprobe: waitpid: %s\n", strerror(errno));
			return 1;
		}
	}
	(void) clock_gettime(CLOCK_MONOTONIC, &b);
	(void) getrusage(RUSAGE_SELF, &self);
	(void) getrusage(RUSAGE_CHILDREN, &kids);
	wall = (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9;
	cpu = tv(self.ru_utime) + tv(self.ru_stime) + tv(kids.ru_utime) + tv(kids.ru_stime);
	printf("forks=%ld wall_us=%.1f cpu_us=%.1f\n", n, wall / (double) n * 1e6,
	       cpu / (double) n * 1e6);
	free(area);
	return 0;

usage:
	fprintf(stderr, "usage: forkprobe [COUNT]\n");
	return 64;
}
