/*
 * NAME
 *	diskprobe - how many durable small-file writes the disk can take
 * SYNOPSIS
 *	diskprobe [-d] [-s size] DIR SECONDS THREADS
 * DESCRIPTION
 *	Measures the ceiling that any MTA which fsyncs each accepted
 *	message must live under on this machine.  THREADS threads each
 *	repeat, for SECONDS seconds, the steps a queue file goes through:
 *
 *	  open(DIR/tN.I.tmp, O_CREAT|O_EXCL|O_WRONLY)
 *	  write(size bytes, default 4096)
 *	  fsync()
 *	  close()
 *	  rename(DIR/tN.I.tmp, DIR/tN.I)
 *	  fsync(DIR) as well, with -d
 *
 *	and then prints one line:
 *
 *	  ops=N seconds=S threads=T size=B dirsync=0|1 rate=R
 *
 *	R is completed sequences per second, all threads together.  The
 *	files are removed after the clock has stopped, so removal costs
 *	are not counted.  DIR must exist and should be on the file system
 *	that holds the queue directories being compared.
 * DIAGNOSTICS
 *	Exit status 0 on success, 1 when a system call fails (the message
 *	names it and the file), 64 on a usage error.
 * BUGS
 *	The deadline is checked between sequences, so a run may last one
 *	fsync longer than asked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	64
#define MAX_SIZE	(1024 * 1024)

struct worker {
	pthread_t tid;
	int	index;
	long	ops;
	int	failed;
};

static const char *dir;
static int dirfd_shared = -1;
static int dirsync;
static size_t size = 4096;
static double deadline;
static char *payload;

static double
now(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* parse_long - whole decimal number in [lo, hi], or -1 */
static long
parse_long(const char *s, long lo, long hi)
{
	char   *end;
	long	v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	char	tmp[PATH_MAX], final[PATH_MAX];
	ssize_t	n;
	int	fd;

	while (now() < deadline) {
		if (snprintf(tmp, sizeof(tmp), "%s/t%d.%ld.tmp", dir, w->index, w->ops) >= (int) sizeof(tmp)
		    || snprintf(final, sizeof(final), "%s/t%d.%ld", dir, w->index, w->ops) >= (int) sizeof(final)) {
			fprintf(stderr, "diskprobe: directory name too long: %s\n", dir);
			w->failed = 1;
			return NULL;
		}
		if ((fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600)) < 0) {
			fprintf(stderr, "diskprobe: open %s: %s\n", tmp, strerror(errno));
			w->failed = 1;
			return NULL;
		}
		if ((n = write(fd, payload, size)) != (ssize_t) size) {
			fprintf(stderr, "diskprobe: write %s: %s\n", tmp,
				n < 0 ? strerror(errno) : "short write (disk full?)");
			(void) close(fd);
			w->failed = 1;
			return NULL;
		}
		if (fsync(fd) < 0 || close(fd) < 0) {
			fprintf(stderr, "diskprobe: fsync/close %s: %s\n", tmp, strerror(errno));
			w->failed = 1;
			return NULL;
		}
		if (rename(tmp, final) < 0) {
			fprintf(stderr, "diskprobe: rename %s: %s\n", tmp, strerror(errno));
			w->failed = 1;
			return NULL;
		}
		if (dirsync && fsync(dirfd_shared) < 0) {
			fprintf(stderr, "diskprobe: fsync directory %s: %s\n", dir, strerror(errno));
			w->failed = 1;
			return NULL;
		}
		w->ops++;
	}
	return NULL;
}

/* cleanup - remove what the workers made; not timed */
static void
cleanup(struct worker *ws, int nthreads)
{
	char	path[PATH_MAX];
	long	i;
	int	t;

	for (t = 0; t < nthreads; t++) {
		for (i = 0; i <= ws[t].ops; i++) {
			if (snprintf(path, sizeof(path), "%s/t%d.%ld", dir, t, i) < (int) sizeof(path))
				(void) unlink(path);
			if (snprintf(path, sizeof(path), "%s/t%d.%ld.tmp", dir, t, i) < (int) sizeof(path))
				(void) unlink(path);
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: diskprobe [-d] [-s size] DIR SECONDS THREADS\n"
		"  -d       also fsync the directory after each rename\n"
		"  -s size  bytes written per file (1..%d, default 4096)\n", MAX_SIZE);
	exit(64);
}

int
main(int argc, char **argv)
{
	struct worker ws[MAX_THREADS];
	double	start, secs, elapsed;
	long	total = 0, v;
	int	c, nthreads, t, failed = 0;

	while ((c = getopt(argc, argv, "ds:")) != -1) {
		switch (c) {
		case 'd':
			dirsync = 1;
			break;
		case 's':
			if ((v = parse_long(optarg, 1, MAX_SIZE)) < 0)
				usage();
			size = (size_t) v;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3)
		usage();
	dir = argv[optind];
	if ((v = parse_long(argv[optind + 1], 1, 3600)) < 0)
		usage();
	secs = (double) v;
	if ((v = parse_long(argv[optind + 2], 1, MAX_THREADS)) < 0)
		usage();
	nthreads = (int) v;

	if ((dirfd_shared = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "diskprobe: open directory %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if ((payload = malloc(size)) == NULL) {
		fprintf(stderr, "diskprobe: out of memory for %zu bytes\n", size);
		return 1;
	}
	memset(payload, 'x', size);

	start = now();
	deadline = start + secs;
	for (t = 0; t < nthreads; t++) {
		ws[t].index = t;
		ws[t].ops = 0;
		ws[t].failed = 0;
		if (pthread_create(&ws[t].tid, NULL, work, &ws[t]) != 0) {
			fprintf(stderr, "diskprobe: cannot start thread %d\n", t);
			return 1;
		}
	}
	for (t = 0; t < nthreads; t++) {
		(void) pthread_join(ws[t].tid, NULL);
		total += ws[t].ops;
		failed |= ws[t].failed;
	}
	elapsed = now() - start;
	cleanup(ws, nthreads);
	if (failed)
		return 1;
	printf("ops=%ld seconds=%.3f threads=%d size=%zu dirsync=%d rate=%.1f\n",
	       total, elapsed, nthreads, size, dirsync, (double) total / elapsed);
	return 0;
}
