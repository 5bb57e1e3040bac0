/*
 * NAME
 *	driver - run a fuzz target over files, without libFuzzer
 * SYNOPSIS
 *	build/fuzz/NAME DIR_OR_FILE...
 * DESCRIPTION
 *	Each harness fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput().
 *	`make fuzz` links it with libFuzzer (clang) for coverage-guided
 *	fuzzing; `make test` links it with this driver and replays the
 *	saved corpus in fuzz/corpus/NAME/, so every input that ever
 *	mattered stays a regression test.  A crash or sanitizer report
 *	fails the run.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count;

static void
run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	int     fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		perror(path);
		exit(2);
	}
	/* Copy into an exact-size allocation so ASan sees overreads. */
	{
		uint8_t *copy = malloc(n ? (size_t) n : 1);

		memcpy(copy, buf, (size_t) n);
		LLVMFuzzerTestOneInput(copy, (size_t) n);
		free(copy);
	}
	count++;
}

static void
run_path(const char *path)
{
	struct stat st;
	DIR    *d;
	struct dirent *e;
	char    sub[4096];

	if (stat(path, &st) < 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		exit(2);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int) sizeof(sub))
			continue;
		run_path(sub);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("%s: %d inputs replayed\n", argv[0], count);
	return count > 0 ? 0 : 1;
}
