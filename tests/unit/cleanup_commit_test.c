/*
 * cleanup_commit_test - check suite for cleanup/cleanup_commit.c: the
 * board is made and checked (no link followed, one link, ours), a
 * process alone syncs at once, a failed sync fails every commit that
 * was under way, and processes that commit at the same
 * time share syncs: every commit succeeds, and syncs plus commits that
 * found themselves covered add up to the commits.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "scratch.h"

#include "../../cleanup/cleanup.h"
#include "str.h"

static char dir[] = "/tmp/cleanup_commit.XXXXXX";
static char board[128], inc[128];

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void) str_fmt(board, sizeof(board), "%s/board", dir);
	(void) str_fmt(inc, sizeof(inc), "%s/incoming", dir);
	ck_assert_int_eq(mkdir(inc, 0700), 0);
}

static void
teardown(void)
{
	cleanup_commit_close();
	scratch_remove(dir, "/tmp/cleanup_commit.");
	(void) str_copy(dir, sizeof(dir), "/tmp/cleanup_commit.XXXXXX");
}

/* renamed - a file made under a temporary name and renamed in dfd */
static void
renamed(int dfd, const char *name)
{
	char    tmp[64];
	int     fd;

	(void) str_fmt(tmp, sizeof(tmp), ".tmp-%s", name);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	ck_assert_int_eq(fsync(fd), 0);
	close(fd);
	ck_assert_int_eq(renameat(dfd, tmp, dfd, name), 0);
}

START_TEST(test_alone)
{
	char    why[256];
	uint64_t syncs, covered;
	struct stat st;
	int     dfd = open(inc, O_RDONLY | O_DIRECTORY);

	ck_assert_msg(cleanup_commit_init(board, why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(stat(board, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* Alone: each commit is a sync of its own. */
	for (int i = 0; i < 3; i++) {
		char    name[16];

		(void) str_fmt(name, sizeof(name), "Q%d", i);
		renamed(dfd, name);
		ck_assert_int_eq(cleanup_commit_dir(dfd, cleanup_commit_begin()), 0);
	}
	cleanup_commit_stats(&syncs, &covered);
	ck_assert_uint_eq(syncs, 3);
	ck_assert_uint_eq(covered, 0);
	/* Opened again (another process): the same board, kept as it is. */
	cleanup_commit_close();
	ck_assert_int_eq(cleanup_commit_init(board, why, sizeof(why)), 0);
	cleanup_commit_stats(&syncs, &covered);
	ck_assert_uint_eq(syncs, 3);
	close(dfd);
}
END_TEST

START_TEST(test_refused_boards)
{
	char    why[256], other[160];
	uint64_t syncs, covered;
	int     dfd = open(inc, O_RDONLY | O_DIRECTORY);

	/* A symbolic link: not followed; cleanup then syncs alone. */
	(void) str_fmt(other, sizeof(other), "%s/elsewhere", dir);
	ck_assert_int_eq(symlink(other, board), 0);
	ck_assert_int_eq(cleanup_commit_init(board, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "cannot open"));
	ck_assert_int_eq(access(other, F_OK), -1);
	renamed(dfd, "Q1");
	ck_assert_int_eq(cleanup_commit_dir(dfd, cleanup_commit_begin()), 0);
	cleanup_commit_stats(&syncs, &covered);
	ck_assert_uint_eq(syncs, 0);
	ck_assert_int_eq(unlink(board), 0);

	/* A hard link to something else. */
	close(open(other, O_WRONLY | O_CREAT, 0600));
	ck_assert_int_eq(link(other, board), 0);
	ck_assert_int_eq(cleanup_commit_init(board, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "one link"));
	ck_assert_int_eq(unlink(board), 0);

	/* Garbage in a board: set up anew. */
	{
		int     fd = open(board, O_WRONLY | O_CREAT, 0600);

		ck_assert_int_eq(write(fd, "garbage garbage garbage garbage", 31), 31);
		close(fd);
	}
	ck_assert_int_eq(cleanup_commit_init(board, why, sizeof(why)), 0);
	cleanup_commit_stats(&syncs, &covered);
	ck_assert_uint_eq(syncs, 0);
	ck_assert_uint_eq(covered, 0);
	close(dfd);
}
END_TEST

/*
 * A failed sync fails every commit whose token is older, however its own
 * sync ends (a failed fsync is reported once; the next one may say 0
 * for renames that never reached the disk); a commit begun after it
 * goes through.
 */
START_TEST(test_failure_fails_the_older_commits)
{
	char    why[256];
	uint64_t before, after;
	int     dfd = open(inc, O_RDONLY | O_DIRECTORY);

	ck_assert_int_eq(cleanup_commit_init(board, why, sizeof(why)), 0);
	before = cleanup_commit_begin();
	renamed(dfd, "Q1");
	/* Another process's sync fails (here: a descriptor that cannot sync). */
	ck_assert_int_eq(cleanup_commit_dir(-1, cleanup_commit_begin()), -1);
	after = cleanup_commit_begin();
	ck_assert_uint_ne(before, after);
	errno = 0;
	ck_assert_int_eq(cleanup_commit_dir(dfd, before), -1);
	ck_assert_int_eq(errno, EIO);
	renamed(dfd, "Q2");
	ck_assert_int_eq(cleanup_commit_dir(dfd, after), 0);
	/* A stale token is refused without counting one more failure. */
	ck_assert_int_eq(cleanup_commit_dir(dfd, before), -1);
	ck_assert_uint_eq(cleanup_commit_begin(), after);
	close(dfd);
}
END_TEST

/*
 * Several processes at once, each with its own open board (as cleanup
 * processes have): every commit succeeds, and the syncs plus the commits
 * that a sync of another process covered are exactly the commits.
 */
#define PROCS	6
#define EACH	40

START_TEST(test_together)
{
	char    why[256];
	uint64_t syncs, covered;
	pid_t   pid[PROCS];

	ck_assert_int_eq(cleanup_commit_init(board, why, sizeof(why)), 0);
	cleanup_commit_close();
	for (int p = 0; p < PROCS; p++) {
		if ((pid[p] = fork()) == 0) {
			int     dfd = open(inc, O_RDONLY | O_DIRECTORY);

			if (dfd < 0 || cleanup_commit_init(board, why, sizeof(why)) < 0)
				_exit(2);
			for (int i = 0; i < EACH; i++) {
				char    name[32];

				(void) str_fmt(name, sizeof(name), "P%dM%d", p, i);
				renamed(dfd, name);
				if (cleanup_commit_dir(dfd, cleanup_commit_begin()) < 0)
					_exit(1);
			}
			_exit(0);
		}
		ck_assert_int_gt(pid[p], 0);
	}
	for (int p = 0; p < PROCS; p++) {
		int     status;

		ck_assert_int_eq(waitpid(pid[p], &status, 0), pid[p]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "process %d: status %d", p, status);
	}
	ck_assert_int_eq(cleanup_commit_init(board, why, sizeof(why)), 0);
	cleanup_commit_stats(&syncs, &covered);
	ck_assert_uint_eq(syncs + covered, PROCS * EACH);
	ck_assert_uint_ge(syncs, 1);
	fprintf(stderr, "cleanup_commit_test: %d commits, %llu syncs\n", PROCS * EACH,
		(unsigned long long) syncs);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("cleanup_commit");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_alone);
	tcase_add_test(tc, test_refused_boards);
	tcase_add_test(tc, test_failure_fails_the_older_commits);
	tcase_add_test(tc, test_together);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
