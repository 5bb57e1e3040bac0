/*
 * test_config.h - a main.cf for a check suite, from text.
 *
 *	test_config_load(dir, "myhostname = mx.example.com\n");
 *	test_config_text("mydestination = localhost\n");
 *
 * test_config_load() writes DIR/main.cf holding text, loads it with
 * config_load() and installs it as cfg; the set installed before is
 * freed.  A main.cf that does not load fails the test with the
 * loader's own message.  test_config_text() does the same in a
 * directory of its own, removed again at once.
 */
#ifndef POSTERN_TEST_CONFIG_H
#define POSTERN_TEST_CONFIG_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "params.h"
#include "str.h"

static inline void
test_config_load(const char *dir, const char *text)
{
	struct params *p, *old = (struct params *) cfg;
	struct buf err;
	char    path[512];
	FILE   *f;

	ck_assert_int_eq(str_fmt(path, sizeof(path), "%s/main.cf", dir), 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	buf_init(&err, 65536);
	p = config_load(dir, NULL, 0, &err);
	ck_assert_msg(p != NULL, "main.cf: %s", buf_str(&err));
	buf_free(&err);
	config_install(p);
	if (old != NULL && old != p)
		config_free(old);
}

static inline void
test_config_text(const char *text)
{
	char    dir[] = "/tmp/test_config.XXXXXX", path[64];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	test_config_load(dir, text);
	(void) str_fmt(path, sizeof(path), "%s/main.cf", dir);
	(void) unlink(path);
	(void) rmdir(dir);
}

#endif
