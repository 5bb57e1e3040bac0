/*
 * qfile_test - check suite for lib/mail/qfile: writer (buffering,
 * copy_file_range and its fallback, errors), the strict reader (every
 * way the core section can be wrong, limits at the maximum and one
 * past), and the status section (d/f/w/b, damaged tails).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"

#include "buf.h"
#include "log.h"
#include "mem.h"
#include "qfile.h"
#include "qid.h"
#include "str.h"

#define QID	"0PZ1K8Q3F7M2W9X"

static char tmpl[64];

/* scratch - a new empty temporary file, already unlinked */
static int
scratch(void)
{
	int     fd;

	(void) str_copy(tmpl, sizeof(tmpl), "/tmp/qfile_test.XXXXXX");
	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(unlink(tmpl), 0);
	return fd;
}

/* rec - append one raw record to b */
static void
rec(struct buf *b, int type, const void *data, size_t len)
{
	unsigned char h[5];

	h[0] = (unsigned char) type;
	h[1] = (unsigned char) (len >> 24);
	h[2] = (unsigned char) (len >> 16);
	h[3] = (unsigned char) (len >> 8);
	h[4] = (unsigned char) len;
	ck_assert_int_eq(buf_append(b, h, 5), 0);
	ck_assert_int_eq(buf_append(b, data, len), 0);
}

static void
recs(struct buf *b, int type, const char *s)
{
	rec(b, type, s, strlen(s));
}

/* core - a good core section; the parts can be left out for tests */
#define C_NO_V		0x01
#define C_NO_Q		0x02
#define C_NO_R		0x04
#define C_NO_E		0x08
#define C_NO_HBE	0x10

static void
core(struct buf *b, unsigned skip)
{
	if (!(skip & C_NO_V))
		recs(b, 'V', "1");
	recs(b, 'T', "1700000000.123456");
	if (!(skip & C_NO_Q))
		recs(b, 'Q', QID);
	recs(b, 'A', "client_addr=192.0.2.1");
	recs(b, 'A', "helo=client.example");
	recs(b, 'S', "sender@example.org");
	if (!(skip & C_NO_R)) {
		recs(b, 'O', "rfc822;orig@example.com");
		recs(b, 'N', "SUCCESS,FAILURE");
		recs(b, 'R', "one@example.com");
		recs(b, 'R', "two@example.com");
		recs(b, 'N', "NEVER");
		recs(b, 'R', "three@example.com");
	}
	if (skip & C_NO_HBE)
		return;
	recs(b, 'H', "Subject: hi\nFrom: a@b\n");
	recs(b, 'B', "body line\n");
	if (!(skip & C_NO_E))
		rec(b, 'E', "", 0);
}

static struct buf fb;

static void
setup(void)
{
	log_init("qfile_test", 0);
	buf_init(&fb, 64 * 1024 * 1024);
}

static void
teardown(void)
{
	buf_free(&fb);
}

/* read_buf - write b to a file and read it; returns qfile_read's result */
static int
read_buf(const struct buf *b, unsigned flags, const char *qid,
	 const struct qfile_limits *lim, struct qfile_env *env, char *why,
	 size_t whylen)
{
	int     fd = scratch();
	int     r;

	ck_assert_int_eq(write(fd, b->data, b->len), (ssize_t) b->len);
	why[0] = '\0';
	errno = 12345;
	r = qfile_read(fd, flags, qid, lim, env, why, whylen);
	(void) close(fd);
	return r;
}

/* expect_corrupt - reading b fails as corrupt, and why says want */
static void
expect_corrupt(const struct buf *b, unsigned flags, const char *qid,
	       const struct qfile_limits *lim, const char *want)
{
	struct qfile_env env;
	char    why[256];

	ck_assert_int_eq(read_buf(b, flags, qid, lim, &env, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, 0);		/* corruption, not I/O */
	ck_assert_msg(strstr(why, want) != NULL, "wanted '%s' in '%s'", want, why);
	ck_assert_ptr_null(env.rcpts);
	ck_assert_ptr_null(env.sender);
	qfile_env_free(&env);			/* harmless */
}

static void
expect_good(const struct buf *b, unsigned flags, const char *qid,
	    const struct qfile_limits *lim, struct qfile_env *env)
{
	char    why[256];

	ck_assert_msg(read_buf(b, flags, qid, lim, env, why, sizeof(why)) == 0,
		      "unexpected: %s", why);
}

START_TEST(test_round_trip_with_big_body)
{
	struct qfile_writer w;
	struct qfile_env env;
	struct timeval tv = {1700000000, 42};
	const size_t body_len = 1024 * 1024;
	const char hdr[] = "From: a@example.org\nSubject: test\n";
	char    why[256];
	char   *body, *back;
	int     spool, fd;
	off_t	hdr_at = 100;
	struct stat st;

	/* A spool file: 100 bytes of junk, the header, then the body. */
	spool = scratch();
	body = xmalloc(body_len);
	for (size_t i = 0; i < body_len; i++)
		body[i] = (i % 80 == 79) ? '\n' : (char) ('a' + i % 26);
	ck_assert_int_eq(pwrite(spool, hdr, sizeof(hdr) - 1, hdr_at), (ssize_t) sizeof(hdr) - 1);
	ck_assert_int_eq(pwrite(spool, body, body_len, hdr_at + (off_t) sizeof(hdr) - 1),
			 (ssize_t) body_len);
	ck_assert_int_eq(lseek(spool, 7, SEEK_SET), 7);

	fd = scratch();
	qfile_writer_init(&w, fd);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_VERSION, QFILE_VERSION), 0);
	ck_assert_int_eq(qfile_put_time(&w, &tv), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_QID, QID), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_ATTR, "protocol=ESMTP"), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_ATTR, "helo=x"), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_SENDER, ""), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_ORCPT, "rfc822;Orig@x"), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_RCPT, "a@x"), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_NOTIFY, "NEVER"), 0);
	ck_assert_int_eq(qfile_put_str(&w, QF_REC_RCPT, "b@x"), 0);
	ck_assert_int_eq(qfile_put_fd(&w, QF_REC_HEADER, spool, hdr_at, sizeof(hdr) - 1), 0);
	ck_assert_int_eq(qfile_put_fd(&w, QF_REC_BODY, spool,
				      hdr_at + (off_t) sizeof(hdr) - 1, body_len), 0);
	ck_assert_int_eq(qfile_put(&w, QF_REC_END, NULL, 0), 0);
	ck_assert_int_eq(qfile_finish(&w), 0);
	qfile_writer_free(&w);
	/* The source's own offset is untouched. */
	ck_assert_int_eq(lseek(spool, 0, SEEK_CUR), 7);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq((uint64_t) st.st_size, w.offset);

	ck_assert_msg(qfile_read(fd, 0, QID, NULL, &env, why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(env.version, 1);
	ck_assert_int_eq(env.arrival.tv_sec, 1700000000);
	ck_assert_int_eq(env.arrival.tv_usec, 42);
	ck_assert_str_eq(env.qid, QID);
	ck_assert_uint_eq(env.nattrs, 2);
	ck_assert_str_eq(qfile_env_attr(&env, "protocol"), "ESMTP");
	ck_assert_str_eq(qfile_env_attr(&env, "helo"), "x");
	ck_assert_ptr_null(qfile_env_attr(&env, "hel"));
	ck_assert_str_eq(env.sender, "");
	ck_assert_uint_eq(env.nrcpts, 2);
	ck_assert_str_eq(env.rcpts[0].address, "a@x");
	ck_assert_str_eq(env.rcpts[0].orig, "rfc822;Orig@x");
	ck_assert_ptr_null(env.rcpts[0].notify);
	ck_assert_str_eq(env.rcpts[1].address, "b@x");
	ck_assert_ptr_null(env.rcpts[1].orig);
	ck_assert_str_eq(env.rcpts[1].notify, "NEVER");
	ck_assert_int_eq(env.rcpts[1].status, QF_RCPT_PENDING);
	ck_assert_uint_eq(env.hdr_len, sizeof(hdr) - 1);
	ck_assert_uint_eq(env.body_len, body_len);
	ck_assert_int_eq(env.core_end, st.st_size);
	ck_assert_int_eq(env.status_end, st.st_size);
	ck_assert_int_eq(env.file_size, st.st_size);
	ck_assert(!env.bounced);
	ck_assert(!env.status_truncated);

	back = xmalloc(body_len);
	ck_assert_int_eq(pread(fd, back, env.hdr_len, env.hdr_off), (ssize_t) env.hdr_len);
	ck_assert_int_eq(memcmp(back, hdr, env.hdr_len), 0);
	ck_assert_int_eq(pread(fd, back, body_len, env.body_off), (ssize_t) body_len);
	ck_assert_int_eq(memcmp(back, body, body_len), 0);
	qfile_env_free(&env);
	qfile_env_free(&env);		/* twice is fine */
	free(body);
	free(back);
	(void) close(fd);
	(void) close(spool);
}
END_TEST

START_TEST(test_put_fd_fallback_and_big_records)
{
	struct qfile_writer w;
	struct qfile_env env;
	struct timeval tv = {5, 0};
	char    why[256];
	struct buf big;
	int     spool, fd;
	char   *back;

	/* An O_APPEND destination makes copy_file_range() refuse (EBADF). */
	(void) str_copy(tmpl, sizeof(tmpl), "/tmp/qfile_test.XXXXXX");
	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	(void) close(fd);
	fd = open(tmpl, O_RDWR | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(unlink(tmpl), 0);

	buf_init(&big, 300 * 1024);
	for (int i = 0; i < 300 * 1024; i++)
		(void) buf_putc(&big, (i % 100 == 99) ? '\n' : 'x');
	spool = scratch();
	ck_assert_int_eq(write(spool, big.data, big.len), (ssize_t) big.len);

	qfile_writer_init(&w, fd);
	ck_assert_int_eq(qfile_put_str(&w, 'V', "1"), 0);
	ck_assert_int_eq(qfile_put_time(&w, &tv), 0);
	ck_assert_int_eq(qfile_put_str(&w, 'Q', QID), 0);
	ck_assert_int_eq(qfile_put_str(&w, 'S', "s@x"), 0);
	ck_assert_int_eq(qfile_put_str(&w, 'R', "r@x"), 0);
	/* A record bigger than the write buffer goes out with writev(). */
	ck_assert_int_eq(qfile_put(&w, 'H', big.data, 100 * 1024), 0);
	ck_assert_int_eq(qfile_put_fd(&w, 'B', spool, 0, big.len), 0);
	ck_assert_int_eq(qfile_put(&w, 'E', NULL, 0), 0);
	ck_assert_int_eq(qfile_finish(&w), 0);
	qfile_writer_free(&w);

	ck_assert_msg(qfile_read(fd, 0, NULL, NULL, &env, why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(env.hdr_len, 100 * 1024);
	ck_assert_uint_eq(env.body_len, big.len);
	back = xmalloc(big.len);
	ck_assert_int_eq(pread(fd, back, big.len, env.body_off), (ssize_t) big.len);
	ck_assert_int_eq(memcmp(back, big.data, big.len), 0);
	ck_assert_int_eq(pread(fd, back, env.hdr_len, env.hdr_off), (ssize_t) env.hdr_len);
	ck_assert_int_eq(memcmp(back, big.data, env.hdr_len), 0);
	free(back);
	qfile_env_free(&env);
	buf_free(&big);
	(void) close(fd);
	(void) close(spool);
}
END_TEST

START_TEST(test_writer_errors)
{
	struct qfile_writer w;
	int     fd, spool;

	/* A full disk is reported as ENOSPC, and the error sticks. */
	fd = open("/dev/full", O_WRONLY);
	ck_assert_int_ge(fd, 0);
	qfile_writer_init(&w, fd);
	ck_assert_int_eq(qfile_put_str(&w, 'V', "1"), 0);	/* buffered */
	errno = 0;
	ck_assert_int_eq(qfile_finish(&w), -1);
	ck_assert_int_eq(errno, ENOSPC);
	errno = 0;
	ck_assert_int_eq(qfile_put_str(&w, 'T', "1.000000"), -1);
	ck_assert_int_eq(errno, ENOSPC);
	qfile_writer_free(&w);
	(void) close(fd);

	/* A source shorter than promised is an error, not a short record. */
	fd = scratch();
	spool = scratch();
	ck_assert_int_eq(write(spool, "abc", 3), 3);
	qfile_writer_init(&w, fd);
	errno = 0;
	ck_assert_int_eq(qfile_put_fd(&w, 'B', spool, 0, 10), -1);
	ck_assert_int_eq(errno, EIO);
	qfile_writer_free(&w);

	/* A negative offset and a body over 1 GiB are refused. */
	qfile_writer_init(&w, fd);
	errno = 0;
	ck_assert_int_eq(qfile_put_fd(&w, 'B', spool, -1, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	qfile_writer_free(&w);
	qfile_writer_init(&w, fd);
	errno = 0;
	ck_assert_int_eq(qfile_put_fd(&w, 'B', spool, 0, QFILE_BODY_ABS_MAX + 1), -1);
	ck_assert_int_eq(errno, EFBIG);
	qfile_writer_free(&w);
	(void) close(fd);
	(void) close(spool);
}
END_TEST

START_TEST(test_good_minimal)
{
	struct qfile_env env;

	core(&fb, 0);
	expect_good(&fb, 0, QID, NULL, &env);
	ck_assert_uint_eq(env.nrcpts, 3);
	ck_assert_str_eq(env.rcpts[0].orig, "rfc822;orig@example.com");
	ck_assert_str_eq(env.rcpts[0].notify, "SUCCESS,FAILURE");
	ck_assert_ptr_null(env.rcpts[1].orig);
	ck_assert_ptr_null(env.rcpts[1].notify);
	ck_assert_str_eq(env.rcpts[2].notify, "NEVER");
	ck_assert_int_eq(env.arrival.tv_usec, 123456);
	qfile_env_free(&env);
	/* Without an expected ID any valid one is taken. */
	expect_good(&fb, 0, NULL, NULL, &env);
	qfile_env_free(&env);
}
END_TEST

START_TEST(test_core_errors)
{
	struct buf b;

	buf_init(&b, 1024 * 1024);

	expect_corrupt(&b, 0, NULL, NULL, "record 1 (V) at offset 0: the file ends where V");	/* empty */

	core(&b, C_NO_V);
	expect_corrupt(&b, 0, NULL, NULL, "record 1 (T) at offset 0: expected V");

	buf_reset(&b);
	recs(&b, 'V', "2");
	expect_corrupt(&b, 0, NULL, NULL, "unsupported format version '2'");

	buf_reset(&b);
	recs(&b, 'V', "1");
	recs(&b, 'Q', QID);
	expect_corrupt(&b, 0, NULL, NULL, "expected T");

	/* Out of order: an attribute after the sender. */
	buf_reset(&b);
	recs(&b, 'V', "1");
	recs(&b, 'T', "1.000000");
	recs(&b, 'Q', QID);
	recs(&b, 'S', "s@x");
	recs(&b, 'A', "a=b");
	expect_corrupt(&b, 0, NULL, NULL, "record 5 (A) at offset 47: unexpected record");

	/* Out of order: the body before the header. */
	buf_reset(&b);
	core(&b, C_NO_HBE);
	recs(&b, 'B', "x\n");
	recs(&b, 'H', "a: b\n");
	rec(&b, 'E', "", 0);
	expect_corrupt(&b, 0, NULL, NULL, "unexpected record in the recipient list");

	buf_reset(&b);
	core(&b, C_NO_HBE);
	recs(&b, 'H', "a: b\n");
	recs(&b, 'H', "a: b\n");
	expect_corrupt(&b, 0, NULL, NULL, "expected B");

	/* A length past the end of the file. */
	buf_reset(&b);
	core(&b, C_NO_HBE);
	recs(&b, 'H', "a: b\n");
	b.data[b.len - 6] = 9;		/* length 5 -> 9 */
	expect_corrupt(&b, 0, NULL, NULL, "reaches past the end of the file");

	/* A header cut short inside the core section. */
	buf_reset(&b);
	core(&b, C_NO_HBE);
	(void) buf_append(&b, "H\0\0", 3);
	expect_corrupt(&b, 0, NULL, NULL, "ends inside the record header");

	/* NUL inside a string. */
	buf_reset(&b);
	recs(&b, 'V', "1");
	recs(&b, 'T', "1.000000");
	recs(&b, 'Q', QID);
	rec(&b, 'S', "s@x\0evil", 8);
	expect_corrupt(&b, 0, NULL, NULL, "NUL byte inside the sender");

	/* No recipient. */
	buf_reset(&b);
	core(&b, C_NO_R);
	expect_corrupt(&b, 0, NULL, NULL, "no recipient (R)");

	/* No E. */
	buf_reset(&b);
	core(&b, C_NO_E);
	expect_corrupt(&b, 0, NULL, NULL, "ends where E");

	/* E with data. */
	buf_reset(&b);
	core(&b, C_NO_E);
	recs(&b, 'E', "x");
	expect_corrupt(&b, 0, NULL, NULL, "end record is not empty");

	/* Garbage after E that is not a status record. */
	buf_reset(&b);
	core(&b, 0);
	recs(&b, 'R', "late@x");
	expect_corrupt(&b, 0, NULL, NULL, "(R) at offset");
	buf_reset(&b);
	core(&b, 0);
	(void) buf_append(&b, "garbage", 7);
	expect_corrupt(&b, 0, NULL, NULL, "not a status record");

	/* The queue ID: mismatch, malformed, missing. */
	buf_reset(&b);
	core(&b, 0);
	expect_corrupt(&b, 0, "0PZ1K8Q3F7M2W9Y", NULL, "does not match the file name");
	buf_reset(&b);
	recs(&b, 'V', "1");
	recs(&b, 'T', "1.000000");
	recs(&b, 'Q', "../../etc");
	expect_corrupt(&b, 0, NULL, NULL, "is not a queue ID");
	buf_reset(&b);
	core(&b, C_NO_Q);
	expect_corrupt(&b, 0, NULL, NULL, "expected Q");

	/* Malformed pieces. */
	buf_reset(&b);
	recs(&b, 'V', "1");
	recs(&b, 'T', "1700000000.12");
	expect_corrupt(&b, 0, NULL, NULL, "not SECONDS.MICROSECONDS");
	buf_reset(&b);
	recs(&b, 'V', "1");
	recs(&b, 'T', "-1.000000");
	expect_corrupt(&b, 0, NULL, NULL, "not SECONDS.MICROSECONDS");
	buf_reset(&b);
	recs(&b, 'V', "1");
	recs(&b, 'T', "1.000000");
	recs(&b, 'Q', QID);
	recs(&b, 'A', "=value");
	expect_corrupt(&b, 0, NULL, NULL, "is not name=value");

	/* O and N must belong to an R. */
	buf_reset(&b);
	core(&b, C_NO_R | C_NO_HBE);
	recs(&b, 'R', "r@x");
	recs(&b, 'O', "o@x");
	recs(&b, 'H', "a: b\n");
	expect_corrupt(&b, 0, NULL, NULL, "O or N without its R");
	buf_reset(&b);
	core(&b, C_NO_R | C_NO_HBE);
	recs(&b, 'N', "NEVER");
	recs(&b, 'O', "o@x");
	expect_corrupt(&b, 0, NULL, NULL, "O must come first");
	buf_reset(&b);
	core(&b, C_NO_R | C_NO_HBE);
	recs(&b, 'R', "");
	expect_corrupt(&b, 0, NULL, NULL, "empty recipient");
	buf_free(&b);
}
END_TEST

/* with_rcpt - a core section whose only recipient is addr */
static void
with_rcpt(struct buf *b, const char *addr, size_t len)
{
	buf_reset(b);
	core(b, C_NO_R | C_NO_HBE);
	rec(b, 'R', addr, len);
	recs(b, 'H', "a: b\n");
	recs(b, 'B', "x\n");
	rec(b, 'E', "", 0);
}

START_TEST(test_limits_exact_and_one_past)
{
	struct qfile_limits lim;
	struct qfile_env env;
	struct buf b, big;
	char    addr[1026];

	qfile_limits_default(&lim);
	buf_init(&b, 4 * 1024 * 1024);
	buf_init(&big, 2 * 1024 * 1024);

	/* Address: 1024 bytes is fine, 1025 is not. */
	memset(addr, 'a', sizeof(addr));
	with_rcpt(&b, addr, 1024);
	expect_good(&b, 0, NULL, &lim, &env);
	ck_assert_uint_eq(strlen(env.rcpts[0].address), 1024);
	qfile_env_free(&env);
	with_rcpt(&b, addr, 1025);
	expect_corrupt(&b, 0, NULL, &lim, "recipient longer than 1024 bytes");

	/* Attribute length and count. */
	buf_reset(&b);
	recs(&b, 'V', "1");
	recs(&b, 'T', "1.000000");
	recs(&b, 'Q', QID);
	addr[0] = 'n';
	addr[1] = '=';
	rec(&b, 'A', addr, 1024);
	recs(&b, 'S', "");
	recs(&b, 'R', "r@x");
	recs(&b, 'H', "");
	recs(&b, 'B', "");
	rec(&b, 'E', "", 0);
	expect_good(&b, 0, NULL, &lim, &env);
	qfile_env_free(&env);
	lim.attr_max = 1023;
	expect_corrupt(&b, 0, NULL, &lim, "attribute longer than 1023 bytes");
	qfile_limits_default(&lim);
	lim.attr_count = 2;
	buf_reset(&b);
	core(&b, 0);			/* two attributes */
	expect_good(&b, 0, NULL, &lim, &env);
	qfile_env_free(&env);
	lim.attr_count = 1;
	expect_corrupt(&b, 0, NULL, &lim, "more than 1 attributes");

	/* Recipients: exactly rcpt_max, then one more. */
	qfile_limits_default(&lim);
	lim.rcpt_max = 3;
	expect_good(&b, 0, NULL, &lim, &env);
	qfile_env_free(&env);
	lim.rcpt_max = 2;
	expect_corrupt(&b, 0, NULL, &lim, "more than 2 recipients");

	/* Header and body sizes. */
	qfile_limits_default(&lim);
	for (int i = 0; i < 1024 * 1024; i++)
		(void) buf_putc(&big, 'x');
	buf_reset(&b);
	core(&b, C_NO_HBE);
	rec(&b, 'H', big.data, 1000);
	rec(&b, 'B', big.data, big.len);
	rec(&b, 'E', "", 0);
	lim.hdr_max = 1000;
	lim.body_max = big.len;
	expect_good(&b, 0, NULL, &lim, &env);
	ck_assert_uint_eq(env.body_len, big.len);
	qfile_env_free(&env);
	lim.hdr_max = 999;
	expect_corrupt(&b, 0, NULL, &lim, "header section longer than 999");
	lim.hdr_max = 1000;
	lim.body_max = big.len - 1;
	expect_corrupt(&b, 0, NULL, &lim, "body longer than");

	/* Notify flags have their own small bound. */
	buf_reset(&b);
	core(&b, C_NO_R | C_NO_HBE);
	rec(&b, 'N', addr, QFILE_NOTIFY_MAX + 1);
	expect_corrupt(&b, 0, NULL, NULL, "notify flags longer than 64");
	buf_free(&b);
	buf_free(&big);
}
END_TEST

static void
status(struct buf *b, int type, const char *data)
{
	recs(b, type, data);
}

START_TEST(test_status_records)
{
	struct qfile_env env;

	core(&fb, 0);
	status(&fb, 'w', "0 4.4.1 connection refused");
	status(&fb, 'w', "0 4.4.2 lost connection");
	status(&fb, 'f', "1 5.1.1 user unknown");
	status(&fb, 'b', "");
	status(&fb, 'f', "2 5.2.2 mailbox full");
	status(&fb, 'd', "1");			/* after f: ignored */
	status(&fb, 'w', "1 4.0.0 x");		/* after f: ignored */
	expect_good(&fb, 0, QID, NULL, &env);
	ck_assert_uint_eq(env.nstatus, 7);
	ck_assert_int_eq(env.rcpts[0].status, QF_RCPT_DEFERRED);
	ck_assert_str_eq(env.rcpts[0].dsn, "4.4.2");
	ck_assert_str_eq(env.rcpts[0].reason, "lost connection");
	ck_assert_int_eq(env.rcpts[1].status, QF_RCPT_FAILED);
	ck_assert_str_eq(env.rcpts[1].dsn, "5.1.1");
	ck_assert_str_eq(env.rcpts[1].reason, "user unknown");
	ck_assert(env.rcpts[1].bounced);
	ck_assert_int_eq(env.rcpts[2].status, QF_RCPT_FAILED);
	ck_assert(!env.rcpts[2].bounced);	/* failed after the b */
	ck_assert(env.bounced);
	ck_assert(!env.status_truncated);
	ck_assert_int_eq(env.status_end, (off_t) fb.len);
	qfile_env_free(&env);

	/* Deferred, then delivered; a reason-less record. */
	buf_reset(&fb);
	core(&fb, 0);
	status(&fb, 'w', "2 4.3.0");
	status(&fb, 'd', "2");
	status(&fb, 'd', "0");
	expect_good(&fb, 0, QID, NULL, &env);
	ck_assert_int_eq(env.rcpts[0].status, QF_RCPT_DELIVERED);
	ck_assert_int_eq(env.rcpts[1].status, QF_RCPT_PENDING);
	ck_assert_int_eq(env.rcpts[2].status, QF_RCPT_DELIVERED);
	ck_assert_ptr_null(env.rcpts[2].dsn);
	ck_assert(!env.bounced);
	qfile_env_free(&env);
}
END_TEST

START_TEST(test_status_errors)
{
	static const struct {
		int	type;
		const char *data;
		const char *want;
	} cases[] = {
		{'d', "3", "recipient index 3 out of range (3 recipients)"},
		{'d', "99999999999999999999", "no recipient index"},
		{'d', "", "no recipient index"},
		{'d', "1x", "junk after the recipient index"},
		{'d', "-1", "no recipient index"},
		{'f', "1", "expected \"INDEX DSN REASON\""},
		{'f', "1 user unknown", "no DSN status code"},
		{'f', "1 5.1", "malformed DSN"},
		{'f', "1 5.1.1234 x", "malformed DSN"},
		{'w', "1 3.1.1 x", "no DSN status code"},
		{'w', "1 4.1.1x", "expected \"INDEX DSN REASON\""},
		{'w', "7 4.1.1 x", "out of range"},
		{'b', "0", "bounce record is not empty"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&fb);
		core(&fb, 0);
		status(&fb, 'd', "0");
		status(&fb, cases[i].type, cases[i].data);
		expect_corrupt(&fb, 0, QID, NULL, cases[i].want);
	}

	/* NUL inside a status record; an over-long one. */
	buf_reset(&fb);
	core(&fb, 0);
	rec(&fb, 'f', "0 5.0.0 a\0b", 11);
	expect_corrupt(&fb, 0, QID, NULL, "NUL byte");
	{
		char    big[QFILE_STATUS_MAX + 1];

		memset(big, 'x', sizeof(big));
		memcpy(big, "0 5.0.0 ", 8);
		buf_reset(&fb);
		core(&fb, 0);
		rec(&fb, 'f', big, QFILE_STATUS_MAX);
		{
			struct qfile_env env;

			expect_good(&fb, 0, QID, NULL, &env);
			ck_assert_uint_eq(strlen(env.rcpts[0].reason), QFILE_STATUS_MAX - 8);
			qfile_env_free(&env);
		}
		buf_reset(&fb);
		core(&fb, 0);
		rec(&fb, 'f', big, QFILE_STATUS_MAX + 1);
		expect_corrupt(&fb, 0, QID, NULL, "status record longer than 4096");
	}
}
END_TEST

START_TEST(test_truncated_tail_ignored_and_repaired)
{
	struct qfile_env env;
	char    why[256];
	size_t  good;
	int     fd;
	struct stat st;

	/* Cut data: the last record is ignored. */
	core(&fb, 0);
	status(&fb, 'd', "0");
	good = fb.len;
	status(&fb, 'f', "1 5.1.1 user unknown");
	buf_truncate(&fb, fb.len - 5);
	expect_good(&fb, 0, QID, NULL, &env);
	ck_assert(env.status_truncated);
	ck_assert_int_eq(env.status_end, (off_t) good);
	ck_assert_int_eq(env.rcpts[0].status, QF_RCPT_DELIVERED);
	ck_assert_int_eq(env.rcpts[1].status, QF_RCPT_PENDING);
	qfile_env_free(&env);

	/* Cut headers, at every length. */
	for (size_t cut = 1; cut < 5; cut++) {
		buf_truncate(&fb, good);
		(void) buf_append(&fb, "w\0\0\0\x10", cut);
		expect_good(&fb, 0, QID, NULL, &env);
		ck_assert(env.status_truncated);
		ck_assert_int_eq(env.status_end, (off_t) good);
		qfile_env_free(&env);
	}

	/* A tail of NUL bytes. */
	buf_truncate(&fb, good);
	for (int i = 0; i < 70000; i++)
		(void) buf_putc(&fb, '\0');
	expect_good(&fb, 0, QID, NULL, &env);
	ck_assert(env.status_truncated);
	ck_assert_int_eq(env.status_end, (off_t) good);
	qfile_env_free(&env);
	/* ... but NULs followed by something else are corruption. */
	(void) buf_putc(&fb, 'd');
	expect_corrupt(&fb, 0, QID, NULL, "not a status record");

	/* Repair, then append: the new record is read. */
	buf_truncate(&fb, good);
	(void) buf_append(&fb, "f\0\0", 3);
	fd = scratch();
	ck_assert_int_eq(write(fd, fb.data, fb.len), (ssize_t) fb.len);
	ck_assert_int_eq(qfile_read(fd, 0, QID, NULL, &env, why, sizeof(why)), 0);
	ck_assert_int_eq(qfile_repair_tail(fd, &env), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t) good);
	qfile_env_free(&env);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
	ck_assert_int_eq(qfile_append_status(fd, QF_REC_FAIL, "2 5.0.0 no"), 0);
	ck_assert_int_eq(qfile_append_status(fd, QF_REC_BOUNCED, ""), 0);
	ck_assert_int_eq(qfile_read(fd, 0, QID, NULL, &env, why, sizeof(why)), 0);
	ck_assert(!env.status_truncated);
	ck_assert_int_eq(env.rcpts[2].status, QF_RCPT_FAILED);
	ck_assert(env.rcpts[2].bounced);
	ck_assert(env.bounced);
	ck_assert(!env.warned);
	ck_assert_int_eq(qfile_repair_tail(fd, &env), 0);	/* nothing to do */
	qfile_env_free(&env);
	/* The delay warning record: empty, sets warned. */
	ck_assert_int_eq(qfile_append_status(fd, QF_REC_WARNED, ""), 0);
	ck_assert_int_eq(qfile_read(fd, 0, QID, NULL, &env, why, sizeof(why)), 0);
	ck_assert(env.warned);
	qfile_env_free(&env);
	ck_assert_int_eq(qfile_append_status(fd, QF_REC_WARNED, "x"), 0);
	ck_assert_int_eq(qfile_read(fd, 0, QID, NULL, &env, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "delay warning record is not empty"));
	(void) close(fd);
}
END_TEST

START_TEST(test_append_status_errors)
{
	char    big[QFILE_STATUS_MAX + 2];
	int     fd;

	fd = scratch();
	errno = 0;
	ck_assert_int_eq(qfile_append_status(fd, 'R', "0"), -1);
	ck_assert_int_eq(errno, EINVAL);
	memset(big, 'x', sizeof(big));
	big[QFILE_STATUS_MAX + 1] = '\0';
	errno = 0;
	ck_assert_int_eq(qfile_append_status(fd, 'f', big), -1);
	ck_assert_int_eq(errno, EINVAL);
	big[QFILE_STATUS_MAX] = '\0';
	ck_assert_int_eq(qfile_append_status(fd, 'f', big), 0);	/* exactly max */
	(void) close(fd);

	fd = open("/dev/full", O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	errno = 0;
	ck_assert_int_eq(qfile_append_status(fd, 'd', "0"), -1);
	ck_assert_int_eq(errno, ENOSPC);
	(void) close(fd);

	/* A short write (the file size limit stands in for a full disk)
	 * is taken back, so no partial record stays in the file. */
	{
		struct rlimit old, lim;
		struct stat st;
		struct qfile_env env;
		char    why[256];
		int     r = 0, saved = 0;

		core(&fb, 0);
		fd = scratch();
		ck_assert_int_eq(write(fd, fb.data, fb.len), (ssize_t) fb.len);
		ck_assert_int_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
		ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
		lim = old;
		lim.rlim_cur = fb.len + 3;
		(void) signal(SIGXFSZ, SIG_IGN);
		/* No ck_assert while the limit holds: check writes files too. */
		if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
			errno = 0;
			r = qfile_append_status(fd, 'd', "0");
			saved = errno;
			(void) setrlimit(RLIMIT_FSIZE, &old);
		}
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(saved, ENOSPC);
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_int_eq(st.st_size, (off_t) fb.len);
		ck_assert_int_eq(qfile_append_status(fd, 'd', "1"), 0);
		ck_assert_int_eq(qfile_read(fd, 0, QID, NULL, &env, why, sizeof(why)), 0);
		ck_assert_int_eq(env.rcpts[0].status, QF_RCPT_PENDING);
		ck_assert_int_eq(env.rcpts[1].status, QF_RCPT_DELIVERED);
		qfile_env_free(&env);
		(void) close(fd);
	}
}
END_TEST

START_TEST(test_maildrop)
{
	struct qfile_env env;

	/* No Q, no recipients (sendmail -t), attributes from postdrop. */
	buf_reset(&fb);
	recs(&fb, 'V', "1");
	recs(&fb, 'T', "1700000000.000001");
	recs(&fb, 'A', "uid=1000");
	recs(&fb, 'A', "flags=t");
	recs(&fb, 'S', "user");
	recs(&fb, 'M', "To: x@y\n\nhello\n");
	rec(&fb, 'E', "", 0);
	expect_good(&fb, QF_MAILDROP, NULL, NULL, &env);
	ck_assert_str_eq(env.qid, "");
	ck_assert_uint_eq(env.msg_len, 15);
	ck_assert_int_eq(env.msg_off, (off_t) fb.len - 5 - 15);
	ck_assert_uint_eq(env.nrcpts, 0);
	ck_assert_str_eq(qfile_env_attr(&env, "uid"), "1000");
	ck_assert_str_eq(qfile_env_attr(&env, "flags"), "t");
	qfile_env_free(&env);
	/* The same file is not a valid queue file. */
	expect_corrupt(&fb, 0, NULL, NULL, "expected Q");

	/* No status section in a maildrop file. */
	status(&fb, 'd', "0");
	expect_corrupt(&fb, QF_MAILDROP, NULL, NULL, "data after the end record");

	/* A Q record does not belong there. */
	buf_reset(&fb);
	core(&fb, 0);
	expect_corrupt(&fb, QF_MAILDROP, NULL, NULL, "has no queue ID record");

	/* H and B do not belong in a maildrop file, M nowhere else. */
	buf_reset(&fb);
	recs(&fb, 'V', "1");
	recs(&fb, 'T', "1700000000.000001");
	recs(&fb, 'S', "");
	recs(&fb, 'R', "a@b");
	recs(&fb, 'H', "To: x@y\n");
	recs(&fb, 'B', "hello\n");
	rec(&fb, 'E', "", 0);
	expect_corrupt(&fb, QF_MAILDROP, NULL, NULL, "unexpected record");
	buf_reset(&fb);
	recs(&fb, 'V', "1");
	recs(&fb, 'T', "1700000000.000001");
	recs(&fb, 'Q', QID);
	recs(&fb, 'S', "");
	recs(&fb, 'R', "a@b");
	recs(&fb, 'M', "To: x@y\n\nhello\n");
	rec(&fb, 'E', "", 0);
	expect_corrupt(&fb, 0, NULL, NULL, "unexpected record");

	/* The message bound is header + body limits; a missing M or E. */
	{
		struct qfile_limits lim;

		qfile_limits_default(&lim);
		lim.hdr_max = 4;
		lim.body_max = 8;
		buf_reset(&fb);
		recs(&fb, 'V', "1");
		recs(&fb, 'T', "1700000000.000001");
		recs(&fb, 'S', "");
		recs(&fb, 'M', "123456789012");
		rec(&fb, 'E', "", 0);
		expect_good(&fb, QF_MAILDROP, NULL, &lim, &env);
		qfile_env_free(&env);
		buf_reset(&fb);
		recs(&fb, 'V', "1");
		recs(&fb, 'T', "1700000000.000001");
		recs(&fb, 'S', "");
		recs(&fb, 'M', "1234567890123");
		rec(&fb, 'E', "", 0);
		expect_corrupt(&fb, QF_MAILDROP, NULL, &lim, "message longer than 12 bytes");
	}
	buf_reset(&fb);
	recs(&fb, 'V', "1");
	recs(&fb, 'T', "1700000000.000001");
	recs(&fb, 'S', "");
	recs(&fb, 'R', "a@b");
	expect_corrupt(&fb, QF_MAILDROP, NULL, NULL, "ends inside the recipient list");
	recs(&fb, 'M', "x\n");
	expect_corrupt(&fb, QF_MAILDROP, NULL, NULL, "where E");
}
END_TEST

START_TEST(test_not_regular)
{
	struct qfile_env env;
	char    why[256];
	int     fd = open("/dev/null", O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(qfile_read(fd, 0, NULL, NULL, &env, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "not a regular file");
	(void) close(fd);
	errno = 0;
	ck_assert_int_eq(qfile_read(-1, 0, NULL, NULL, &env, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("qfile");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_round_trip_with_big_body);
	tcase_add_test(tc, test_put_fd_fallback_and_big_records);
	tcase_add_test(tc, test_writer_errors);
	tcase_add_test(tc, test_good_minimal);
	tcase_add_test(tc, test_core_errors);
	tcase_add_test(tc, test_limits_exact_and_one_past);
	tcase_add_test(tc, test_status_records);
	tcase_add_test(tc, test_status_errors);
	tcase_add_test(tc, test_truncated_tail_ignored_and_repaired);
	tcase_add_test(tc, test_append_status_errors);
	tcase_add_test(tc, test_maildrop);
	tcase_add_test(tc, test_not_regular);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
