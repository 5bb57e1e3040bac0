/*
 * safefile_test - check suite for lib/util/safefile: careful opens, whole
 * reads and writes, durable replacement, fcntl locks, dot-locks,
 * pidfiles, owned directories, free space.
 *
 * Each test works in a fresh mkdtemp() directory under /tmp.  Tests
 * that change owners need root; run as another user they fail.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"

#include "safefile.h"
#include "str.h"

static char tmpdir[64];

static void
setup(void)
{
	(void) str_copy(tmpdir, sizeof(tmpdir), "/tmp/safefile_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* teardown - remove the flat test directory (tests make no subtrees) */
static void
teardown(void)
{
	DIR    *d = opendir(tmpdir);
	struct dirent *de;
	char    p[256];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
			continue;
		(void) str_fmt(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
		if (unlink(p) < 0)
			(void) rmdir(p);
	}
	closedir(d);
	(void) rmdir(tmpdir);
}

/* tpath - a name inside the test directory */
static const char *
tpath(char *out, size_t len, const char *name)
{
	ck_assert_int_eq(str_fmt(out, len, "%s/%s", tmpdir, name), 0);
	return out;
}

/* get_file - read up to len-1 bytes of path as a string; -1 if absent */
static ssize_t
get_file(const char *path, char *buf, size_t len)
{
	int     fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = sf_read_all(fd, buf, len - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return n;
}

/* count_entries - entries in the test directory other than . and .. */
static int
count_entries(void)
{
	DIR    *d = opendir(tmpdir);
	struct dirent *de;
	int     n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (!str_eq(de->d_name, ".") && !str_eq(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

START_TEST(test_open_regular)
{
	char    p[256];
	const char *why = "unset";
	struct stat st;
	int     fd;

	scratch_write(tpath(p, sizeof(p), "f"), "hello", O_TRUNC);
	fd = sf_open(AT_FDCWD, p, O_RDONLY, 0, SF_ANY_UID, &st, &why);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(st.st_size, 5);
	ck_assert_int_eq(st.st_nlink, 1);
	/* Opened blocking, close-on-exec. */
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	fd = sf_open(AT_FDCWD, p, O_RDONLY, 0, geteuid(), NULL, NULL);
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* O_NONBLOCK kept when asked for. */
	fd = sf_open(AT_FDCWD, p, O_RDONLY | O_NONBLOCK, 0, SF_ANY_UID, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	/* Missing file: the open's own errno. */
	errno = 0;
	ck_assert_int_eq(sf_open(AT_FDCWD, tpath(p, sizeof(p), "none"), O_RDONLY, 0,
				 SF_ANY_UID, NULL, &why), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_open_symlink_refused)
{
	char    p[256], target[256];
	const char *why = NULL;

	scratch_write(tpath(target, sizeof(target), "target"), "secret", O_TRUNC);
	ck_assert_int_eq(symlink(target, tpath(p, sizeof(p), "link")), 0);
	errno = 0;
	ck_assert_int_eq(sf_open(AT_FDCWD, p, O_RDONLY, 0, SF_ANY_UID, NULL, &why), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_str_eq(why, "is a symbolic link");

	/* A dangling link with O_CREAT must not create its target. */
	ck_assert_int_eq(symlink(tpath(target, sizeof(target), "created"),
				 tpath(p, sizeof(p), "dangling")), 0);
	errno = 0;
	ck_assert_int_eq(sf_open(AT_FDCWD, p, O_WRONLY | O_CREAT, 0600, SF_ANY_UID,
				 NULL, &why), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(access(target, F_OK), -1);
}
END_TEST

START_TEST(test_open_hardlink_refused)
{
	char    p[256], q[256], buf[64];
	const char *why = NULL;

	scratch_write(tpath(p, sizeof(p), "orig"), "keep me", O_TRUNC);
	ck_assert_int_eq(link(p, tpath(q, sizeof(q), "planted")), 0);
	errno = 0;
	ck_assert_int_eq(sf_open(AT_FDCWD, q, O_RDONLY, 0, SF_ANY_UID, NULL, &why), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_str_eq(why, "has more than one hard link");
	/* O_TRUNC through the planted link must not touch the content. */
	ck_assert_int_eq(sf_open(AT_FDCWD, q, O_WRONLY | O_TRUNC, 0, SF_ANY_UID,
				 NULL, &why), -1);
	ck_assert_int_eq(get_file(p, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "keep me");
	/* Back to one link: accepted. */
	ck_assert_int_eq(unlink(q), 0);
	ck_assert_int_ge(sf_open(AT_FDCWD, p, O_RDONLY, 0, SF_ANY_UID, NULL, NULL), 0);
}
END_TEST

START_TEST(test_open_wrong_owner)
{
	char    p[256];
	const char *why = NULL;
	int     fd;

	scratch_write(tpath(p, sizeof(p), "f"), "x", O_TRUNC);
	errno = 0;
	ck_assert_int_eq(sf_open(AT_FDCWD, p, O_RDONLY, 0, geteuid() + 1, NULL, &why), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_str_eq(why, "has the wrong owner");

	ck_assert_msg(geteuid() == 0, "owner tests need root (euid %ld)", (long) geteuid());
	ck_assert_int_eq(chown(p, 65534, 65534), 0);
	ck_assert_int_eq(sf_open(AT_FDCWD, p, O_RDONLY, 0, 0, NULL, &why), -1);
	ck_assert_int_eq(errno, EPERM);
	fd = sf_open(AT_FDCWD, p, O_RDONLY, 0, 65534, NULL, &why);
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

START_TEST(test_open_not_regular)
{
	char    p[256];
	const char *why = NULL;
	time_t  t0;

	errno = 0;
	ck_assert_int_eq(sf_open(AT_FDCWD, tmpdir, O_RDONLY, 0, SF_ANY_UID, NULL, &why), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_str_eq(why, "not a regular file");

	/* A FIFO without a writer must be refused at once, not hang. */
	ck_assert_int_eq(mkfifo(tpath(p, sizeof(p), "fifo"), 0600), 0);
	t0 = time(NULL);
	errno = 0;
	ck_assert_int_eq(sf_open(AT_FDCWD, p, O_RDONLY, 0, SF_ANY_UID, NULL, &why), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(sf_open(AT_FDCWD, p, O_WRONLY | O_APPEND, 0, SF_ANY_UID, NULL, &why), -1);
	ck_assert_int_le(time(NULL) - t0, 2);

	/* A device: /dev/null is not a mailbox. */
	ck_assert_int_eq(sf_open(AT_FDCWD, "/dev/null", O_WRONLY, 0, SF_ANY_UID, NULL, &why), -1);
	ck_assert_int_eq(errno, EPERM);
}
END_TEST

START_TEST(test_open_creat_excl_and_dirfd)
{
	char    p[256], buf[16];
	struct stat st;
	int     fd, dfd;

	umask(022);
	fd = sf_open(AT_FDCWD, tpath(p, sizeof(p), "new"), O_WRONLY | O_CREAT | O_EXCL,
		     0600, geteuid(), &st, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(sf_write_all(fd, "abc", 3), 0);
	close(fd);
	errno = 0;
	ck_assert_int_eq(sf_open(AT_FDCWD, p, O_WRONLY | O_CREAT | O_EXCL, 0600,
				 SF_ANY_UID, NULL, NULL), -1);
	ck_assert_int_eq(errno, EEXIST);

	/* Relative to a directory descriptor; O_TRUNC still truncates. */
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	fd = sf_open(dfd, "new", O_WRONLY | O_TRUNC, 0, SF_ANY_UID, &st, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(st.st_size, 0);
	close(fd);
	ck_assert_int_eq(get_file(p, buf, sizeof(buf)), 0);
	close(dfd);
}
END_TEST

START_TEST(test_read_write_all)
{
	int     pfd[2];
	char    big[100000], back[100001];
	char    p[256];
	int     fd;
	pid_t   pid;

	/* A pipe delivers in pieces: read_all must gather them, then EOF. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char) ('a' + i % 26);
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		for (size_t off = 0; off < sizeof(big); off += 777) {
			size_t  n = sizeof(big) - off < 777 ? sizeof(big) - off : 777;

			if (sf_write_all(pfd[1], big + off, n) < 0)
				_exit(1);
		}
		_exit(0);
	}
	close(pfd[1]);
	ck_assert_int_eq(sf_read_all(pfd[0], back, sizeof(back)), (ssize_t) sizeof(big));
	ck_assert_int_eq(memcmp(big, back, sizeof(big)), 0);
	ck_assert_int_eq(sf_read_all(pfd[0], back, sizeof(back)), 0);
	close(pfd[0]);
	waitpid(pid, NULL, 0);

	/* pwrite_all at an offset; read_all of exactly n stops there. */
	fd = open(tpath(p, sizeof(p), "pw"), O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sf_write_all(fd, "0123456789", 10), 0);
	ck_assert_int_eq(sf_pwrite_all(fd, "ab", 2, 4), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(sf_read_all(fd, back, 6), 6);
	ck_assert_int_eq(memcmp(back, "0123ab", 6), 0);
	ck_assert_int_eq(sf_read_all(fd, back, 0), 0);
	close(fd);

	/* Errors come back as -1. */
	ck_assert_int_eq(sf_write_all(-1, "x", 1), -1);
	ck_assert_int_eq(sf_read_all(-1, back, 1), -1);
}
END_TEST

START_TEST(test_fsync_dir)
{
	char    p[256];

	ck_assert_int_eq(sf_fsync_dir(tmpdir), 0);
	errno = 0;
	ck_assert_int_eq(sf_fsync_dir(tpath(p, sizeof(p), "missing")), -1);
	ck_assert_int_eq(errno, ENOENT);
	scratch_write(tpath(p, sizeof(p), "file"), "x", O_TRUNC);
	errno = 0;
	ck_assert_int_eq(sf_fsync_dir(p), -1);		/* not a directory */
	ck_assert_int_eq(errno, ENOTDIR);
	ck_assert_int_eq(sf_fsync_parent(p), 0);
	ck_assert_int_eq(sf_fsync_parent("relative-name"), 0);	/* "." */
	ck_assert_int_eq(sf_fsync_parent("/tmp"), 0);		/* "/" */
	ck_assert_int_eq(sf_fsync_parent(tpath(p, sizeof(p), "missing/x")), -1);

	/* The locked variant: the same results, and the lock is let go. */
	ck_assert_int_eq(sf_fsync_dir_locked(tmpdir), 0);
	ck_assert_int_eq(sf_fsync_dir_locked(tmpdir), 0);
	errno = 0;
	ck_assert_int_eq(sf_fsync_dir_locked(tpath(p, sizeof(p), "missing")), -1);
	ck_assert_int_eq(errno, ENOENT);
	{
		int	fd = open(tmpdir, O_RDONLY | O_DIRECTORY);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
		close(fd);
	}
}
END_TEST

START_TEST(test_replace_basic)
{
	char    p[256], buf[64], longpath[5000];
	struct stat st;

	umask(077);
	ck_assert_int_eq(sf_replace(tpath(p, sizeof(p), "db"), "first", 5, 0644), 0);
	ck_assert_int_eq(get_file(p, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "first");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);	/* exact, despite umask */
	ck_assert_int_eq(sf_replace(p, "second!", 7, 0600), 0);
	ck_assert_int_eq(get_file(p, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "second!");
	ck_assert_int_eq(count_entries(), 1);		/* no temporary left */
	ck_assert_int_eq(sf_replace(p, "", 0, 0600), 0);	/* empty content */
	ck_assert_int_eq(get_file(p, buf, sizeof(buf)), 0);

	/* A path that cannot hold the temporary name is refused cleanly. */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	errno = 0;
	ck_assert_int_eq(sf_replace(longpath, "x", 1, 0600), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	/* Fits in path[4096] but not with the temporary suffix. */
	longpath[4090] = '\0';
	errno = 0;
	ck_assert_int_eq(sf_replace(longpath, "x", 1, 0600), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	/* A missing directory. */
	ck_assert_int_eq(sf_replace(tpath(p, sizeof(p), "nodir/db"), "x", 1, 0600), -1);
	ck_assert_int_eq(count_entries(), 1);
}
END_TEST

#define LEN_A	65536
#define LEN_B	150001

/* reader_loop - read path until told to stop; exit 1 on a torn file */
static _Noreturn void
reader_loop(const char *path, int stopfd)
{
	static char buf[LEN_B + 2];
	long    reads = 0;
	char    c;

	for (;;) {
		int     fd = open(path, O_RDONLY);
		ssize_t n;

		if (fd < 0)
			_exit(3);		/* the name must never be missing */
		n = sf_read_all(fd, buf, sizeof(buf));
		close(fd);
		if (n == LEN_A) {
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != 'a')
					_exit(1);
		} else if (n == LEN_B) {
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != 'b')
					_exit(1);
		} else
			_exit(2);
		reads++;
		if (read(stopfd, &c, 1) == 0)
			_exit(reads > 0 ? 0 : 4);
	}
}

START_TEST(test_replace_atomic)
{
	static char a[LEN_A], b[LEN_B];
	char    p[256];
	int     pfd[2], status;
	pid_t   pid;

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	ck_assert_int_eq(sf_replace(tpath(p, sizeof(p), "map"), a, sizeof(a), 0644), 0);
	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_eq(fcntl(pfd[0], F_SETFL, O_NONBLOCK), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[1]);
		reader_loop(p, pfd[0]);
	}
	close(pfd[0]);
	for (int i = 0; i < 200; i++) {
		if (i % 2 == 0)
			ck_assert_int_eq(sf_replace(p, b, sizeof(b), 0644), 0);
		else
			ck_assert_int_eq(sf_replace(p, a, sizeof(a), 0644), 0);
	}
	close(pfd[1]);				/* reader sees EOF: stop */
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "reader saw a torn or missing file (status 0x%x)", (unsigned) status);
	ck_assert_int_eq(count_entries(), 1);
}
END_TEST

START_TEST(test_replace_begin_commit_abort)
{
	struct sf_replace r;
	char    p[256], buf[64];
	struct stat st;

	scratch_write(tpath(p, sizeof(p), "aliases.db"), "old", O_TRUNC);

	ck_assert_int_eq(sf_replace_begin(&r, p, 0640), 0);
	ck_assert_int_ge(r.fd, 0);
	ck_assert_int_eq(access(r.tmp, F_OK), 0);
	ck_assert_int_eq(sf_write_all(r.fd, "never seen", 10), 0);
	sf_replace_abort(&r);
	ck_assert_int_eq(r.fd, -1);
	ck_assert_int_eq(get_file(p, buf, sizeof(buf)), 3);
	ck_assert_str_eq(buf, "old");
	ck_assert_int_eq(count_entries(), 1);
	sf_replace_abort(&r);				/* twice is harmless */

	ck_assert_int_eq(sf_replace_begin(&r, p, 0640), 0);
	ck_assert_int_eq(sf_write_all(r.fd, "new content", 11), 0);
	/* Until commit, readers see the old file. */
	ck_assert_int_eq(get_file(p, buf, sizeof(buf)), 3);
	ck_assert_int_eq(sf_replace_commit(&r), 0);
	ck_assert_int_eq(r.fd, -1);
	ck_assert_int_eq(get_file(p, buf, sizeof(buf)), 11);
	ck_assert_str_eq(buf, "new content");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(count_entries(), 1);
	errno = 0;
	ck_assert_int_eq(sf_replace_commit(&r), -1);	/* nothing to commit */
	ck_assert_int_eq(errno, EBADF);

	/* A commit whose rename fails leaves no temporary behind. */
	ck_assert_int_eq(sf_replace_begin(&r, p, 0640), 0);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mkdir(p, 0700), 0);		/* rename onto a dir fails */
	ck_assert_int_eq(sf_replace_commit(&r), -1);
	ck_assert_int_eq(count_entries(), 1);
	ck_assert_int_eq(rmdir(p), 0);
}
END_TEST

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

START_TEST(test_lock_conflict)
{
	char    p[256], c;
	int     fd, go[2], done[2], status;
	pid_t   pid;

	scratch_write(tpath(p, sizeof(p), "mbox"), "", O_TRUNC);
	fd = open(p, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sf_lock(fd, 1, 0), 0);
	ck_assert_int_eq(sf_lock(fd, 1, 0), 0);		/* re-lock by the holder */
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec t0;
		int     cfd = open(p, O_RDWR);

		if (cfd < 0)
			_exit(10);
		errno = 0;
		if (sf_lock(cfd, 1, 0) != -1 || (errno != EAGAIN && errno != EACCES))
			_exit(11);
		if (sf_lock(cfd, 0, 0) != -1)
			_exit(12);		/* shared conflicts with exclusive */
		if (write(done[1], "1", 1) != 1)
			_exit(13);
		if (read(go[0], &c, 1) != 1)	/* parent now holds a shared lock */
			_exit(14);
		if (sf_lock(cfd, 0, 0) != 0)
			_exit(15);		/* shared + shared is fine */
		if (sf_lock(cfd, 1, 0) != -1)
			_exit(16);		/* upgrade blocked by the parent */
		if (sf_unlock(cfd) != 0)
			_exit(17);
		if (write(done[1], "2", 1) != 1)
			_exit(18);
		/* Waiting lock: returns once the parent lets go. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (sf_lock(cfd, 1, 1) != 0)
			_exit(19);
		if (ms_since(&t0) < 100)
			_exit(20);
		_exit(0);
	}
	ck_assert_int_eq(read(done[0], &c, 1), 1);
	ck_assert_int_eq(sf_lock(fd, 0, 0), 0);		/* downgrade to shared */
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(read(done[0], &c, 1), 1);
	usleep(200000);
	ck_assert_int_eq(sf_unlock(fd), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "locking child failed at step %d", WEXITSTATUS(status));
	close(fd);
	ck_assert_int_eq(sf_lock(-1, 1, 0), -1);
}
END_TEST

START_TEST(test_dotlock)
{
	char    p[256], lock[256], buf[32], pid[32];
	struct timeval tv[2];
	struct timespec t0;
	struct stat st;

	tpath(p, sizeof(p), "user");
	tpath(lock, sizeof(lock), "user.lock");
	ck_assert_int_eq(sf_dotlock(p, 1, 0, 0), 0);
	ck_assert_int_gt(get_file(lock, buf, sizeof(buf)), 0);
	(void) str_fmt(pid, sizeof(pid), "%ld\n", (long) getpid());
	ck_assert_str_eq(buf, pid);

	/* Held and fresh: every attempt fails, delay_ms apart. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	ck_assert_int_eq(sf_dotlock(p, 3, 50, 300), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(ms_since(&t0), 100);		/* two waits of 50 ms */

	/* Stale: older than stale_secs, removed and taken. */
	tv[0].tv_sec = tv[1].tv_sec = time(NULL) - 3600;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	ck_assert_int_eq(utimes(lock, tv), 0);
	ck_assert_int_eq(sf_dotlock(p, 1, 0, 0), -1);	/* 0: never stale */
	ck_assert_int_eq(sf_dotlock(p, 1, 0, 7200), -1);	/* not old enough */
	ck_assert_int_eq(sf_dotlock(p, 1, 0, 60), 0);
	ck_assert_int_eq(stat(lock, &st), 0);
	ck_assert_int_ge(st.st_mtime, time(NULL) - 60);	/* a fresh lock now */

	ck_assert_int_eq(sf_dotunlock(p), 0);
	ck_assert_int_eq(access(lock, F_OK), -1);
	errno = 0;
	ck_assert_int_eq(sf_dotunlock(p), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* A symlink planted as the lock is not followed. */
	ck_assert_int_eq(symlink("/tmp/safefile_test_nonexistent", lock), 0);
	ck_assert_int_eq(sf_dotlock(p, 1, 0, 0), -1);
	ck_assert_int_eq(access("/tmp/safefile_test_nonexistent", F_OK), -1);
	ck_assert_int_eq(unlink(lock), 0);
	/* Missing directory: an error at once, not after the attempts. */
	errno = 0;
	ck_assert_int_eq(sf_dotlock(tpath(p, sizeof(p), "nodir/user"), 100, 1000, 0), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_pidfile)
{
	char    p[256], buf[32], want[32], c;
	int     held[2], quit[2], fd, status;
	pid_t   pid;

	tpath(p, sizeof(p), "master.pid");
	ck_assert_int_eq(sf_pidfile_read(p), -1);	/* missing */
	ck_assert_int_eq(pipe(held), 0);
	ck_assert_int_eq(pipe(quit), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(quit[1]);
		if (sf_pidfile_lock(p) < 0)
			_exit(1);
		if (sf_pidfile_read(p) != getpid())	/* own lock seen */
			_exit(2);
		if (write(held[1], "h", 1) != 1)
			_exit(3);
		(void) !read(quit[0], &c, 1);
		_exit(0);
	}
	close(quit[0]);
	ck_assert_int_eq(read(held[0], &c, 1), 1);

	errno = 0;
	ck_assert_int_eq(sf_pidfile_lock(p), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(sf_pidfile_read(p), pid);
	(void) str_fmt(want, sizeof(want), "%ld\n", (long) pid);
	ck_assert_int_gt(get_file(p, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, want);		/* the refused try wrote nothing */

	close(quit[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "pidfile child failed at step %d", WEXITSTATUS(status));
	/* The holder is gone; the file with its pid is stale. */
	ck_assert_int_eq(sf_pidfile_read(p), -1);

	fd = sf_pidfile_lock(p);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(sf_pidfile_read(p), getpid());
	(void) str_fmt(want, sizeof(want), "%ld\n", (long) getpid());
	ck_assert_int_gt(get_file(p, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, want);		/* old, longer pid fully replaced */
	close(fd);

	/* A symlink in place of the pidfile is refused. */
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(symlink("/tmp/safefile_test_pid_target", p), 0);
	ck_assert_int_eq(sf_pidfile_lock(p), -1);
	ck_assert_int_eq(access("/tmp/safefile_test_pid_target", F_OK), -1);
	ck_assert_int_eq(sf_pidfile_read(p), -1);
}
END_TEST

START_TEST(test_mkdir_owned)
{
	char    p[256], target[256], f[256];
	struct stat st;

	umask(077);
	ck_assert_int_eq(sf_mkdir_owned(tpath(p, sizeof(p), "d"), geteuid(), getegid(), 0750), 0);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0750);

	/* Existing with the wrong mode: fixed. */
	ck_assert_int_eq(chmod(p, 0777), 0);
	ck_assert_int_eq(sf_mkdir_owned(p, geteuid(), getegid(), 01730), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 01730);

	/* Wrong owner: fixed, and a set-gid bit survives the chown. */
	ck_assert_msg(geteuid() == 0, "owner tests need root (euid %ld)", (long) geteuid());
	ck_assert_int_eq(sf_mkdir_owned(p, 65534, 65534, 02750), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_uid, 65534);
	ck_assert_int_eq(st.st_gid, 65534);
	ck_assert_int_eq(st.st_mode & 07777, 02750);

	/* A symlink to a directory is refused and its target untouched. */
	ck_assert_int_eq(mkdir(tpath(target, sizeof(target), "real"), 0700), 0);
	ck_assert_int_eq(symlink(target, tpath(p, sizeof(p), "link")), 0);
	errno = 0;
	ck_assert_int_eq(sf_mkdir_owned(p, 65534, 65534, 0777), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(st.st_uid, 0);

	/* A regular file in the way. */
	scratch_write(tpath(f, sizeof(f), "file"), "x", O_TRUNC);
	errno = 0;
	ck_assert_int_eq(sf_mkdir_owned(f, 0, 0, 0755), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	/* Missing parent. */
	ck_assert_int_eq(sf_mkdir_owned(tpath(p, sizeof(p), "no/dir"), 0, 0, 0755), -1);
}
END_TEST

START_TEST(test_free_space)
{
	int64_t n = sf_free_space("/tmp");

	ck_assert_msg(n > 0, "free space on /tmp: %lld", (long long) n);
	ck_assert_int_eq(sf_free_space("/nonexistent/postern/path"), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("safefile");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_open_regular);
	tcase_add_test(tc, test_open_symlink_refused);
	tcase_add_test(tc, test_open_hardlink_refused);
	tcase_add_test(tc, test_open_wrong_owner);
	tcase_add_test(tc, test_open_not_regular);
	tcase_add_test(tc, test_open_creat_excl_and_dirfd);
	tcase_add_test(tc, test_read_write_all);
	tcase_add_test(tc, test_fsync_dir);
	tcase_add_test(tc, test_replace_basic);
	tcase_add_test(tc, test_replace_atomic);
	tcase_add_test(tc, test_replace_begin_commit_abort);
	tcase_add_test(tc, test_lock_conflict);
	tcase_add_test(tc, test_dotlock);
	tcase_add_test(tc, test_pidfile);
	tcase_add_test(tc, test_mkdir_owned);
	tcase_add_test(tc, test_free_space);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
