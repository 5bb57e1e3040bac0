/*
 * cleanup_msg_util.h - for the cleanup_message() suites: a scratch queue
 * directory with main.cf, content in a memfd, the queue file read back
 * (cleanup_msg_test, cleanup_scan_test)
 */
#ifndef POSTERN_TEST_CLEANUP_MSG_UTIL_H
#define POSTERN_TEST_CLEANUP_MSG_UTIL_H

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "test_config.h"
#include "scratch.h"

#include "../../cleanup/cleanup.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "lookup_clnt.h"
#include "params.h"
#include "qfile.h"
#include "str.h"

static char dir[64];

static inline void
teardown(void)
{
	cleanup_queue_close();
	scratch_remove(dir, "/tmp/cleanup_msg.");
}

/* setup - a queue directory with incoming/, main.cf with extra lines */
static inline void
setup(const char *extra)
{
	char    path[128], text[4096];

	(void) str_copy(dir, sizeof(dir), "/tmp/cleanup_msg.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void) str_fmt(path, sizeof(path), "%s/incoming", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(str_fmt(text, sizeof(text), "queue_directory = %s\n"
				 "myhostname = mx.example.com\nmyorigin = example.com\n"
				 "mydestination = example.com\nalias_maps =\n"
				 "recipient_delimiter = +\n%s", dir, extra), 0);
	test_config_load(dir, text);
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(cleanup_queue_init(), 0);
	lookup_clnt_direct(true);
}

static inline int
memfile(const char *data, size_t n)
{
	int     fd = memfd_create("content", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t) n);
	return fd;
}

/* submit - cleanup_message() on content with the request's length */
static inline void
submit(struct cleanup_req *req, const char *content, size_t n,
       struct cleanup_result *res)
{
	int     fd = memfile(content, n);

	if (req->length == 0)
		req->length = n;
	cleanup_message(req, fd, res, NULL);
	close(fd);
}

/*
 * incoming - the names in incoming/ (dot files too), joined by spaces;
 * all but the one spare file made for the next message, which must be
 * empty
 */
static inline void
incoming(char *out, size_t size)
{
	DIR    *d = opendir("incoming");
	struct dirent *de;
	const char *spare = cleanup_queue_spare_name();

	ck_assert_ptr_nonnull(d);
	out[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
			continue;
		if (spare != NULL && str_eq(de->d_name, spare)) {
			struct stat st;

			ck_assert_int_eq(fstatat(dirfd(d), spare, &st, 0), 0);
			ck_assert_msg(st.st_size == 0, "spare %s holds %lld bytes", spare,
				      (long long) st.st_size);
			continue;
		}
		if (out[0])
			(void) str_append(out, size, " ");
		(void) str_append(out, size, de->d_name);
	}
	closedir(d);
}

#define assert_empty() do { \
	char _names[1024]; \
	incoming(_names, sizeof(_names)); \
	ck_assert_msg(_names[0] == '\0', "incoming/ holds: %s", _names); \
} while (0)

/* load - read back the queue file of qid */
static inline int
load(const char *qid, struct qfile_env *env)
{
	char    path[64], why[256];
	struct qfile_limits lim;
	int     fd;

	(void) str_fmt(path, sizeof(path), "incoming/%s", qid);
	fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "no queue file %s", path);
	qfile_limits_default(&lim);
	ck_assert_msg(qfile_read(fd, 0, qid, &lim, env, why, sizeof(why)) == 0,
		      "qfile_read: %s", why);
	return fd;
}

static inline char *
section(int fd, off_t off, uint64_t len)
{
	char   *p = calloc(1, len + 1);

	ck_assert_int_eq(pread(fd, p, len, off), (ssize_t) len);
	return p;
}

static struct cleanup_rcpt rc1[] = {{.addr = "bob@example.org"}};

static inline struct cleanup_req
smtp(struct cleanup_rcpt *rcpts, size_t n)
{
	struct cleanup_req r = {.uid = -1};

	r.client_name = "client.example.org";
	r.client_addr = "192.0.2.1";
	r.helo = "client.example.org";
	r.protocol = "ESMTP";
	r.sender = "alice@example.org";
	r.rcpts = rcpts;
	r.nrcpts = n;
	return r;
}

#endif
