/*
 * ratetab_test - check suite for lib/util/ratetab: values per key within a
 * unit, the unit's end, a full table that makes room, the drop
 * callback, expiry, and a random run against a simple model.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "ratetab.h"

struct val {
	uint32_t n;
};

static char dropped_keys[4096];
static uint32_t dropped_sum;

static void
on_drop(void *ctx, const char *key, void *value, uint64_t start)
{
	struct val *v = value;

	(void) start;
	ck_assert_ptr_eq(ctx, dropped_keys);
	strncat(dropped_keys, key, sizeof(dropped_keys) - strlen(dropped_keys) - 2);
	strcat(dropped_keys, " ");
	dropped_sum += v->n;
}

static uint32_t
bump(struct ratetab *t, const char *key, uint64_t now)
{
	struct val *v = ratetab_get(t, key, now);

	return ++v->n;
}

START_TEST(test_units_and_find)
{
	struct ratetab *t = ratetab_new(16, sizeof(struct val), 60000);

	ck_assert_ptr_null(ratetab_find(t, "a", 0));	/* nothing allocated yet */
	ck_assert_uint_eq(bump(t, "a", 1000), 1);
	ck_assert_uint_eq(bump(t, "a", 60999), 2);
	ck_assert_uint_eq(((struct val *) ratetab_find(t, "a", 60999))->n, 2);
	ck_assert_ptr_null(ratetab_find(t, "a", 61000));	/* the unit ended */
	ck_assert_uint_eq(bump(t, "a", 61000), 1);
	ck_assert_uint_eq(bump(t, "a", 500), 1);	/* the clock went back */
	ck_assert_uint_eq(ratetab_size(t), 1);
	ratetab_free(t);
}
END_TEST

START_TEST(test_drop_callback)
{
	struct ratetab *t = ratetab_new(2, sizeof(struct val), 10000);

	dropped_keys[0] = 0;
	dropped_sum = 0;
	ratetab_on_drop(t, on_drop, dropped_keys);
	bump(t, "a", 0);
	bump(t, "a", 1);
	bump(t, "b", 5000);
	bump(t, "c", 6000);		/* full: a (earliest) makes room */
	ck_assert_str_eq(dropped_keys, "a ");
	ck_assert_uint_eq(dropped_sum, 2);
	bump(t, "b", 16000);		/* b's unit ended: dropped, restarted */
	ck_assert_str_eq(dropped_keys, "a b ");
	ratetab_expire(t, 16000);	/* c's unit ended at 16000 */
	ck_assert_str_eq(dropped_keys, "a b c ");
	ck_assert_uint_eq(ratetab_size(t), 1);
	ck_assert_uint_eq(bump(t, "b", 16001), 2);
	ratetab_free(t);		/* what is left is dropped too */
	ck_assert_str_eq(dropped_keys, "a b c b ");
	ck_assert_uint_eq(dropped_sum, 2 + 1 + 1 + 2);
}
END_TEST

/* A model: per key its count and unit start, at most cap keys. */
struct model {
	char	key[32];
	uint64_t start, seq;		/* seq: order of (re)starts */
	uint32_t n;
	bool	used;
};

START_TEST(test_against_model)
{
	enum { CAP = 32, KEYS = 80, UNIT = 1000 };
	struct ratetab *t = ratetab_new(CAP, sizeof(struct val), UNIT);
	struct model m[KEYS];
	uint64_t now = 0, seq = 0;

	memset(m, 0, sizeof(m));
	for (int k = 0; k < KEYS; k++)
		snprintf(m[k].key, sizeof(m[k].key), "10.0.%u.%u", (unsigned char) (k / 7), (unsigned char) k);
	srandom(3);
	for (int iter = 0; iter < 200000; iter++) {
		int	k = (int) (random() % (iter % 1000 < 500 ? 20 : KEYS));
		uint32_t got;
		size_t	live = 0;

		now += (uint64_t) (random() % 3);
		if (random() % 50 == 0) {
			ratetab_expire(t, now);
			for (int j = 0; j < KEYS; j++)
				if (m[j].used && now - m[j].start >= UNIT)
					m[j].used = false;
		}
		got = bump(t, m[k].key, now);
		if (!m[k].used || now - m[k].start >= UNIT) {
			/* New or restarted: the model makes room like the table. */
			if (!m[k].used) {
				for (int j = 0; j < KEYS; j++)
					live += m[j].used;
				if (live == CAP) {
					int	o = -1;

					for (int j = 0; j < KEYS; j++)
						if (m[j].used && (o < 0 || m[j].start < m[o].start
							|| (m[j].start == m[o].start && m[j].seq < m[o].seq)))
							o = j;
					m[o].used = false;
				}
			}
			m[k].used = true;
			m[k].start = now;
			m[k].seq = seq++;
			m[k].n = 0;
		}
		m[k].n++;
		ck_assert_msg(got == m[k].n, "iter %d key %s: got %u want %u", iter,
			      m[k].key, got, m[k].n);
		ck_assert_uint_le(ratetab_size(t), CAP);
	}
	ratetab_free(t);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("ratetab");
	TCase  *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_units_and_find);
	tcase_add_test(tc, test_drop_callback);
	tcase_add_test(tc, test_against_model);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
