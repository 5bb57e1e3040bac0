/*
 * smtpd_logsum_test - check suite for smtpd/smtpd_logsum.c: lines per
 * kind and client address, network and all clients; the summaries that
 * count the rest; exempt clients.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "test_config.h"

#include "log.h"
#include "../../smtpd/smtpd.h"

static char logpath[] = "/tmp/smtpd_logsum_test.XXXXXX";

/* logged - the log so far; the number of lines holding needle */
static int
logged(const char *needle, char *last, size_t lastlen)
{
	FILE   *f = fopen(logpath, "r");
	char	line[4096];
	int	n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL) {
			n++;
			if (last != NULL)
				(void) str_copy(last, lastlen, line);
		}
	fclose(f);
	return n;
}

static void
setup(void)
{
	int	fd = mkstemp(logpath);

	ck_assert_int_ge(fd, 0);
	close(fd);
	log_init("smtpd_logsum_test", 0);
	ck_assert_int_eq(log_open_file(logpath), 0);
	test_config_text("smtpd_client_network_ipv4_prefix = 24\n");
}

static void
teardown(void)
{
	smtpd_logsum_flush();
	log_close_file();
	(void) unlink(logpath);
	memcpy(logpath + strlen(logpath) - 6, "XXXXXX", 6);
}

START_TEST(test_per_address)
{
	char	last[4096];

	for (int i = 0; i < 25; i++)
		smtpd_log_client("192.0.2.1", false, "warning: refused %s (%d)",
				 "192.0.2.1", i);
	/* Another kind, another address: counted on their own. */
	for (int i = 0; i < 5; i++)
		smtpd_log_client("192.0.2.1", false, "lost connection from %s",
				 "192.0.2.1");
	smtpd_log_client("192.0.2.2", false, "warning: refused %s (%d)",
			 "192.0.2.2", 0);
	ck_assert_int_eq(logged("warning: refused 192.0.2.1", NULL, 0), 10);
	ck_assert_int_eq(logged("lost connection from 192.0.2.1", NULL, 0), 5);
	ck_assert_int_eq(logged("warning: refused 192.0.2.2", NULL, 0), 1);
	ck_assert_int_eq(logged("more like this", NULL, 0), 0);
	smtpd_logsum_flush();
	ck_assert_int_eq(logged("more like this", last, sizeof(last)), 1);
	ck_assert_ptr_nonnull(strstr(last, "15 more like this from 192.0.2.1 in the "
				     "last 0s: warning: refused 192.0.2.1 (24)"));
}
END_TEST

START_TEST(test_per_network_and_all)
{
	char	addr[64], last[4096];

	/* 40 addresses of one /24, one line each: 30 pass, 10 counted. */
	for (int i = 1; i <= 40; i++) {
		(void) str_fmt(addr, sizeof(addr), "198.51.100.%d", i);
		smtpd_log_client(addr, false, "connect from unknown[%s]", addr);
	}
	ck_assert_int_eq(logged("connect from unknown[198.51.100.", NULL, 0), 30);
	/* 400 networks, one line each: 300 for all clients together. */
	for (int i = 0; i < 400; i++) {
		(void) str_fmt(addr, sizeof(addr), "10.%d.%d.1", i / 256, i % 256);
		smtpd_log_client(addr, false, "timeout after %s from %s", "EHLO", addr);
	}
	ck_assert_int_eq(logged("timeout after EHLO from 10.", NULL, 0), 300);
	/* An exempt client is never counted. */
	for (int i = 0; i < 50; i++)
		smtpd_log_client("192.0.2.9", true, "connect from unknown[%s]", "192.0.2.9");
	ck_assert_int_eq(logged("connect from unknown[192.0.2.9]", NULL, 0), 50);
	smtpd_logsum_flush();
	ck_assert_int_eq(logged("10 more like this from 198.51.100.0/24 in the last",
				last, sizeof(last)), 1);
	ck_assert_ptr_nonnull(strstr(last, ": connect from unknown[198.51.100.40]"));
	ck_assert_int_eq(logged("100 more like this from all clients in the last",
				NULL, 0), 1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtpd_logsum");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_per_address);
	tcase_add_test(tc, test_per_network_and_all);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
