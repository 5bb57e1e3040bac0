/*
 * smtpd_test.h - what the smtpd check suites share at the end of a test.
 *
 *	smtpd_test_drain(loop, 2000);	// every session sees EOF and ends
 *	smtpd_test_unload();		// smtpd_conf and cfg freed
 *	smtpd_test_rmdir(dir);		// the test's working directory
 *
 * smtpd_test_drain() runs the loop until no session is left (at most ms)
 * and fails the test when one is.  smtpd_test_rmdir() removes the files
 * of the current directory, which must be dir, and dir itself.
 */
#ifndef POSTERN_SMTPD_TEST_H
#define POSTERN_SMTPD_TEST_H

#include <check.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "params.h"
#include "../../smtpd/smtpd.h"

static inline void
smtpd_test_drain(struct ev_loop *loop, uint64_t ms)
{
	uint64_t end = ev_time_ms() + ms;

	while (smtpd_session_count > 0 && ev_time_ms() < end)
		ev_run_once(loop, 5);
	ck_assert_uint_eq(smtpd_session_count, 0);
}

static inline void
smtpd_test_unload(void)
{
	struct params *last = (struct params *) cfg;

	smtpd_conf_free();
	config_install(NULL);
	config_free(last);
}

static inline void
smtpd_test_rmdir(const char *dir)
{
	DIR    *d;
	struct dirent *e;

	if ((d = opendir(".")) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' || strlen(e->d_name) > 2)
				(void) unlink(e->d_name);
		closedir(d);
	}
	if (chdir("/") < 0)
		return;
	(void) rmdir(dir);
}

#endif
