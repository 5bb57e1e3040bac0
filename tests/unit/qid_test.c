/*
 * qid_test - check suite for lib/util/qid: format, validity, order,
 * uniqueness within and across processes, time round trip.
 */
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "qid.h"
#include "safefile.h"

#define ALPHABET	"0123456789ABCDEFGHJKMNPQRSTVWXYZ"

START_TEST(test_format)
{
	char    id[QID_LEN + 1];

	memset(id, '#', sizeof(id));
	qid_new(id);
	ck_assert_uint_eq(strlen(id), QID_LEN);
	ck_assert_uint_eq(strspn(id, ALPHABET), QID_LEN);
	ck_assert_msg(qid_valid(id), "qid_new made an invalid ID: %s", id);
	/* The pid part is the pid mod 32^4. */
	{
		unsigned long v = 0;

		for (int i = QID_LEN - QID_PID_LEN; i < QID_LEN; i++)
			v = v * 32 + (unsigned long) (strchr(ALPHABET, id[i]) - ALPHABET);
		ck_assert_uint_eq(v, (unsigned long) getpid() % (32 * 32 * 32 * 32));
	}
}
END_TEST

START_TEST(test_valid)
{
	ck_assert(qid_valid("000000000000000"));
	ck_assert(qid_valid("ZZZZZZZYGHZZZZZ"));	/* every field at its maximum */
	ck_assert(!qid_valid(NULL));
	ck_assert(!qid_valid(""));
	ck_assert(!qid_valid("00000000000000"));	/* 14: one short */
	ck_assert(!qid_valid("0000000000000000"));	/* 16: one long */
	ck_assert(!qid_valid("00000000000000a"));	/* lower case */
	ck_assert(!qid_valid("0000000000000I0"));	/* forbidden letters */
	ck_assert(!qid_valid("0000000000000L0"));
	ck_assert(!qid_valid("0000000000000O0"));
	ck_assert(!qid_valid("0000000000000U0"));
	ck_assert(!qid_valid("000000000000 00"));
	ck_assert(!qid_valid("00000000000/000"));	/* no path characters */
	ck_assert(!qid_valid("0000000.0000000"));
	ck_assert(!qid_valid("00000000000000\n"));
	/* Microseconds: 999,999 ok, 1,000,000 (= "YGJ0") not. */
	ck_assert(qid_valid("0000000YGHZ0000"));
	ck_assert(!qid_valid("0000000YGJ00000"));
	ck_assert(!qid_valid("0000000ZZZZ0000"));
}
END_TEST

START_TEST(test_increasing_unique)
{
	enum { N = 100000 };
	char   *ids = malloc((size_t) N * (QID_LEN + 1));

	ck_assert_ptr_nonnull(ids);
	for (int i = 0; i < N; i++) {
		char   *id = ids + (size_t) i * (QID_LEN + 1);

		qid_new(id);
		if (i > 0)
			ck_assert_msg(strcmp(id - (QID_LEN + 1), id) < 0,
				      "ID %d not above the one before: %s then %s",
				      i, id - (QID_LEN + 1), id);
	}
	/* Strictly increasing implies unique; check decoded times too. */
	for (int i = 1; i < N; i++) {
		struct timeval a, b;

		ck_assert_int_eq(qid_time(ids + (size_t) (i - 1) * (QID_LEN + 1), &a), 0);
		ck_assert_int_eq(qid_time(ids + (size_t) i * (QID_LEN + 1), &b), 0);
		ck_assert(timercmp(&a, &b, <));
	}
	free(ids);
}
END_TEST

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(test_two_processes)
{
	enum { N = 5000 };
	static char ids[2 * N][QID_LEN + 1];
	int     pfd[2], status;
	pid_t   pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char    id[QID_LEN + 1];

		close(pfd[0]);
		for (int i = 0; i < N; i++) {
			qid_new(id);
			if (sf_write_all(pfd[1], id, sizeof(id)) < 0)
				_exit(1);
		}
		_exit(0);
	}
	close(pfd[1]);
	/* Both processes make IDs during the same microseconds. */
	for (int i = 0; i < N; i++)
		qid_new(ids[i]);
	ck_assert_int_eq(sf_read_all(pfd[0], ids[N], sizeof(ids[0]) * N),
			 (ssize_t) sizeof(ids[0]) * N);
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = N; i < 2 * N; i++)
		ck_assert(qid_valid(ids[i]));
	qsort(ids, 2 * N, sizeof(ids[0]), cmp_id);
	for (int i = 1; i < 2 * N; i++)
		ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "duplicate ID %s", ids[i]);
}
END_TEST

START_TEST(test_time_round_trip)
{
	struct timeval before, after, tv;
	char    id[QID_LEN + 1];

	gettimeofday(&before, NULL);
	qid_new(id);
	gettimeofday(&after, NULL);
	ck_assert_int_eq(qid_time(id, &tv), 0);
	ck_assert_msg(!timercmp(&tv, &before, <) && !timercmp(&tv, &after, >),
		      "decoded %ld.%06ld outside %ld.%06ld .. %ld.%06ld",
		      (long) tv.tv_sec, (long) tv.tv_usec, (long) before.tv_sec,
		      (long) before.tv_usec, (long) after.tv_sec, (long) after.tv_usec);

	/* Known values: 1 s and 32 us; the maximum seconds. */
	ck_assert_int_eq(qid_time("000000100100000", &tv), 0);
	ck_assert_int_eq(tv.tv_sec, 1);
	ck_assert_int_eq(tv.tv_usec, 32);
	ck_assert_int_eq(qid_time("ZZZZZZZYGHZZZZZ", &tv), 0);
	ck_assert_int_eq(tv.tv_sec, 34359738367LL);	/* 32^7 - 1 */
	ck_assert_int_eq(tv.tv_usec, 999999);
	errno = 0;
	ck_assert_int_eq(qid_time("junk", &tv), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qid");
	TCase  *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_increasing_unique);
	tcase_add_test(tc, test_two_processes);
	tcase_add_test(tc, test_time_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
