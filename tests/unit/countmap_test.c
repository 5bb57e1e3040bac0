/* countmap_test - check suite for lib/util/countmap: counts, removal at zero, the bound, walks. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"

#include "countmap.h"

static uint64_t walked_sum;
static size_t walked_keys;

static void
walk(void *ctx, const char *key, uint64_t n)
{
	(void) ctx;
	(void) key;
	walked_sum += n;
	walked_keys++;
}

START_TEST(test_counts)
{
	struct countmap m;
	char	key[32];

	countmap_init(&m, 0);
	ck_assert_uint_eq(countmap_get(&m, "a"), 0);
	ck_assert(countmap_add(&m, "a", 1));
	ck_assert(countmap_add(&m, "a", 1));
	ck_assert(countmap_add(&m, "b", 1));
	ck_assert_uint_eq(countmap_get(&m, "a"), 2);
	ck_assert_uint_eq(m.used, 2);
	ck_assert(countmap_add(&m, "a", -1));
	ck_assert(countmap_add(&m, "a", -1));		/* at zero it goes */
	ck_assert_uint_eq(countmap_get(&m, "a"), 0);
	ck_assert_uint_eq(m.used, 1);
	ck_assert(countmap_add(&m, "zzz", -1));		/* not there: nothing */
	ck_assert_uint_eq(m.used, 1);
	/* Many keys: the buckets grow, every count stays right. */
	for (int i = 0; i < 5000; i++) {
		(void) snprintf(key, sizeof(key), "10.%d.%d.1", i / 256, i % 256);
		for (int k = 0; k <= i % 3; k++)
			ck_assert(countmap_add(&m, key, 1));
	}
	for (int i = 0; i < 5000; i++) {
		(void) snprintf(key, sizeof(key), "10.%d.%d.1", i / 256, i % 256);
		ck_assert_uint_eq(countmap_get(&m, key), (uint64_t) (i % 3 + 1));
	}
	walked_sum = walked_keys = 0;
	countmap_walk(&m, walk, NULL);
	ck_assert_uint_eq(walked_keys, 5001);
	{
		uint64_t want = 1;		/* "b" */

		for (int i = 0; i < 5000; i++)
			want += (uint64_t) (i % 3 + 1);
		ck_assert_uint_eq(walked_sum, want);
	}
	countmap_free(&m);
	ck_assert_uint_eq(m.used, 0);
}
END_TEST

START_TEST(test_bound)
{
	struct countmap m;

	countmap_init(&m, 2);
	ck_assert(countmap_add(&m, "a", 1));
	ck_assert(countmap_add(&m, "b", 1));
	ck_assert(countmap_room(&m, 0));
	ck_assert(!countmap_room(&m, 1));
	ck_assert(!countmap_add(&m, "c", 1));		/* one key too many */
	ck_assert(countmap_add(&m, "a", 1));		/* an old key: fine */
	ck_assert_uint_eq(countmap_get(&m, "c"), 0);
	countmap_free(&m);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("countmap");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_bound);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
