/*
 * check_main.h - the main() every check suite shares.
 *
 *	static Suite *suite(void) { ... }
 *	CHECK_MAIN(suite)
 *
 * Runs the suite, prints check's summary ("100%: Checks: 6, ...") and
 * exits non-zero when any test failed.
 */
#ifndef POSTERN_CHECK_MAIN_H
#define POSTERN_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define CHECK_MAIN(fn) \
	int main(void) \
	{ \
		SRunner *sr = srunner_create(fn()); \
		int nf; \
		srunner_run_all(sr, CK_NORMAL); \
		nf = srunner_ntests_failed(sr); \
		srunner_free(sr); \
		return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE; \
	}

#endif
