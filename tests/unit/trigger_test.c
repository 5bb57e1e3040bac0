/*
 * trigger_test - check suite for lib/util/trigger: FIFO wake-ups, refused
 * targets, full FIFO, vanished reader, non-blocking reads.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "str.h"
#include "trigger.h"

static char tmpdir[64];
static char fifo[128];

static void
setup(void)
{
	(void) str_copy(tmpdir, sizeof(tmpdir), "/tmp/trigger_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	(void) str_fmt(fifo, sizeof(fifo), "%s/qmgr", tmpdir);
	ck_assert_int_eq(mkfifo(fifo, 0622), 0);
	signal(SIGPIPE, SIG_DFL);	/* a stray SIGPIPE must kill the test */
}

static void
teardown(void)
{
	char    p[160];
	static const char *names[] = {"qmgr", "file", "link", "dir"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void) str_fmt(p, sizeof(p), "%s/%s", tmpdir, names[i]);
		if (unlink(p) < 0)
			(void) rmdir(p);
	}
	(void) rmdir(tmpdir);
}

START_TEST(test_no_reader)
{
	errno = 0;
	ck_assert_int_eq(trigger_open(fifo), -1);
	ck_assert_int_eq(errno, ENXIO);
	errno = 0;
	ck_assert_int_eq(trigger_once(fifo, TRIGGER_WAKE), -1);
	ck_assert_int_eq(errno, ENXIO);
}
END_TEST

START_TEST(test_send_and_read)
{
	char    codes[16];
	int     rfd, wfd;

	/* Readers open read-write: never EOF, and blocking is allowed. */
	rfd = open(fifo, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(rfd, 0);
	ck_assert_int_eq(trigger_read(rfd, codes, sizeof(codes)), 0);	/* empty: no block */

	wfd = trigger_open(fifo);
	ck_assert_int_ge(wfd, 0);
	ck_assert_int_ne(fcntl(wfd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(trigger_send(wfd, TRIGGER_WAKE), 0);
	close(wfd);
	ck_assert_int_eq(trigger_once(fifo, TRIGGER_FLUSH), 0);
	ck_assert_int_eq(trigger_once(fifo, TRIGGER_SCAN), 0);

	ck_assert_int_eq(trigger_read(rfd, codes, 0), 0);		/* max 0 */
	ck_assert_int_eq(trigger_read(rfd, codes, 2), 2);		/* bounded */
	ck_assert_int_eq(memcmp(codes, "WF", 2), 0);
	ck_assert_int_eq(trigger_read(rfd, codes, sizeof(codes)), 1);
	ck_assert_int_eq(codes[0], 'S');
	ck_assert_int_eq(trigger_read(rfd, codes, sizeof(codes)), 0);
	close(rfd);
	ck_assert_int_eq(TRIGGER_WAKE, 'W');
	ck_assert_int_eq(TRIGGER_FLUSH, 'F');
	ck_assert_int_eq(TRIGGER_SCAN, 'S');
}
END_TEST

START_TEST(test_full_fifo)
{
	static char codes[4096];
	int     rfd, wfd, cap, n;
	long    total = 0;

	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rfd, 0);
	wfd = trigger_open(fifo);
	ck_assert_int_ge(wfd, 0);
	cap = fcntl(wfd, F_GETPIPE_SZ);
	ck_assert_int_gt(cap, 0);
	/* Past the capacity: EAGAIN, which counts as success. */
	for (int i = 0; i < cap + 1000; i++)
		ck_assert_int_eq(trigger_send(wfd, TRIGGER_WAKE), 0);
	while ((n = trigger_read(rfd, codes, sizeof(codes))) > 0) {
		ck_assert_int_le(n, (int) sizeof(codes));
		for (int i = 0; i < n; i++)
			ck_assert_int_eq(codes[i], 'W');
		total += n;
	}
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(total, cap);
	/* All writers gone, read-only reader: EOF is "nothing", no hang. */
	close(wfd);
	ck_assert_int_eq(trigger_read(rfd, codes, sizeof(codes)), 0);
	close(rfd);
}
END_TEST

START_TEST(test_refused_targets)
{
	char    p[160];
	struct stat st;
	int     fd;

	(void) str_fmt(p, sizeof(p), "%s/file", tmpdir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	errno = 0;
	ck_assert_int_eq(trigger_once(p, TRIGGER_WAKE), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 0);			/* nothing written */

	errno = 0;
	ck_assert_int_eq(trigger_open("/dev/null"), -1);	/* a device */
	ck_assert_int_eq(errno, EPERM);

	/* A symlink to a live FIFO is still refused. */
	fd = open(fifo, O_RDWR);
	ck_assert_int_ge(fd, 0);
	(void) str_fmt(p, sizeof(p), "%s/link", tmpdir);
	ck_assert_int_eq(symlink(fifo, p), 0);
	errno = 0;
	ck_assert_int_eq(trigger_open(p), -1);
	ck_assert_int_eq(errno, ELOOP);
	close(fd);

	(void) str_fmt(p, sizeof(p), "%s/dir", tmpdir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(trigger_open(p), -1);
	(void) str_fmt(p, sizeof(p), "%s/missing", tmpdir);
	errno = 0;
	ck_assert_int_eq(trigger_open(p), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static int
sigpipe_pending(void)
{
	sigset_t set;

	sigemptyset(&set);
	ck_assert_int_eq(sigpending(&set), 0);
	return sigismember(&set, SIGPIPE);
}

START_TEST(test_reader_gone)
{
	sigset_t set, old;
	int     rfd, wfd;

	/* SIGPIPE at its default (kill): trigger_send must not raise it. */
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rfd, 0);
	wfd = trigger_open(fifo);
	ck_assert_int_ge(wfd, 0);
	close(rfd);
	errno = 0;
	ck_assert_int_eq(trigger_send(wfd, TRIGGER_WAKE), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(sigpipe_pending(), 0);

	/* A caller that blocks SIGPIPE: ours is taken away ... */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, &old), 0);
	ck_assert_int_eq(trigger_send(wfd, TRIGGER_WAKE), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(sigpipe_pending(), 0);
	/* ... but one that was pending before stays pending. */
	ck_assert_int_eq(raise(SIGPIPE), 0);
	ck_assert_int_eq(trigger_send(wfd, TRIGGER_WAKE), -1);
	ck_assert_int_eq(sigpipe_pending(), 1);
	signal(SIGPIPE, SIG_IGN);			/* discard it */
	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	close(wfd);
}
END_TEST

/*
 * A process that ignores SIGPIPE (the daemons, for life): the plain
 * write path.  It stays ignored afterwards, as trigger.h requires, so
 * this test runs last.
 */
START_TEST(test_send_with_sigpipe_ignored)
{
	char    codes[8];
	int     rfd, wfd;

	signal(SIGPIPE, SIG_IGN);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rfd, 0);
	wfd = trigger_open(fifo);
	ck_assert_int_ge(wfd, 0);
	ck_assert_int_eq(trigger_send(wfd, TRIGGER_WAKE), 0);
	ck_assert_int_eq(trigger_read(rfd, codes, sizeof(codes)), 1);
	ck_assert_int_eq(codes[0], TRIGGER_WAKE);
	/* The reader goes away: EPIPE, nothing raised or pending. */
	close(rfd);
	ck_assert_int_eq(trigger_send(wfd, TRIGGER_WAKE), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(sigpipe_pending(), 0);
	ck_assert_int_eq(trigger_send(-1, TRIGGER_WAKE), -1);
	ck_assert_int_eq(errno, EBADF);
	close(wfd);
}
END_TEST

START_TEST(test_listen)
{
	char    link_path[160], file[160];
	struct stat st;
	int     fd, tfd;

	(void) str_fmt(link_path, sizeof(link_path), "%s/link", tmpdir);
	(void) str_fmt(file, sizeof(file), "%s/file", tmpdir);

	/* A FIFO left by an earlier run is made afresh, with exactly mode. */
	ck_assert_int_eq(chmod(fifo, 0666), 0);
	fd = trigger_listen(fifo, 0622);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(lstat(fifo, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0622);
	ck_assert_int_eq(trigger_once(fifo, TRIGGER_WAKE), 0);
	close(fd);

	/* A symbolic link in its place goes; its target is not touched. */
	tfd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0640);
	ck_assert_int_ge(tfd, 0);
	close(tfd);
	ck_assert_int_eq(symlink(file, link_path), 0);
	fd = trigger_listen(link_path, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(lstat(link_path, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0640);

	/* A directory is refused. */
	ck_assert_int_eq(unlink(link_path), 0);
	ck_assert_int_eq(mkdir(link_path, 0700), 0);
	errno = 0;
	ck_assert_int_eq(trigger_listen(link_path, 0600), -1);
	ck_assert_int_eq(errno, EEXIST);
}
END_TEST

START_TEST(test_bad_descriptor)
{
	char    c;

	errno = 0;
	ck_assert_int_eq(trigger_read(-1, &c, 1), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(trigger_read(1000, &c, 1), -1);	/* not open */
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(trigger_send(-1, TRIGGER_WAKE), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("trigger");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);		/* a blocking read shows as a timeout */
	tcase_add_test(tc, test_no_reader);
	tcase_add_test(tc, test_send_and_read);
	tcase_add_test(tc, test_full_fifo);
	tcase_add_test(tc, test_refused_targets);
	tcase_add_test(tc, test_reader_gone);
	tcase_add_test(tc, test_bad_descriptor);
	tcase_add_test(tc, test_listen);
	tcase_add_test(tc, test_send_with_sigpipe_ignored);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
