/* maildrop_test - check suite for lib/mail/maildrop: records, order, bounds, message input. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check_main.h"

#include "buf.h"
#include "maildrop.h"
#include "mem.h"

static struct maildrop_limits lim = {
	.addr_max = 64,
	.attr_max = 32,
	.attr_count = 3,
	.rcpt_max = 4,
	.msg_max = 100,
};

/* mem_fd - a descriptor positioned at the start of data[0..n) */
static int
mem_fd(const void *data, size_t n)
{
	int     fd = memfd_create("maildrop_test", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	if (n > 0)
		ck_assert_int_eq(write(fd, data, n), (ssize_t) n);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* rec - append one record to b */
static void
rec(struct buf *b, int type, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char) type, (unsigned char) (n >> 24),
	(unsigned char) (n >> 16), (unsigned char) (n >> 8), (unsigned char) n};

	ck_assert_int_eq(buf_append(b, h, 5), 0);
	ck_assert_int_eq(buf_append(b, p, n), 0);
}

static void
recs(struct buf *b, int type, const char *s)
{
	rec(b, type, s, strlen(s));
}

/* head - V T and an S: the shortest good start */
static void
head(struct buf *b)
{
	buf_reset(b);
	recs(b, 'V', "1");
	recs(b, 'T', "1700000000.000001");
}

/* run - read every record of b; returns the last result, records in *n */
static int
run(const struct buf *b, size_t *n, char *why, size_t whylen)
{
	struct maildrop_in in;
	struct maildrop_rec r;
	int     fd = mem_fd(b->data, b->len), k;

	maildrop_in_init(&in, fd, &lim);
	*n = 0;
	while ((k = maildrop_in_next(&in, &r)) == 1)
		(*n)++;
	if (k < 0)
		memcpy(why, in.why, whylen < sizeof(in.why) ? whylen : sizeof(in.why));
	else
		why[0] = '\0';
	/* The result sticks. */
	ck_assert_int_eq(maildrop_in_next(&in, &r), k);
	maildrop_in_free(&in);
	close(fd);
	return k;
}

static void
expect_bad(const struct buf *b, const char *want)
{
	char    why[256];
	size_t  n;

	ck_assert_int_eq(run(b, &n, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, want) != NULL, "wanted '%s' in '%s'", want, why);
}

static void
expect_good(const struct buf *b, size_t want_records)
{
	char    why[256];
	size_t  n;

	ck_assert_msg(run(b, &n, why, sizeof(why)) == 0, "unexpected: %s", why);
	ck_assert_uint_eq(n, want_records);
}

START_TEST(test_out_in_round_trip)
{
	struct maildrop_out o;
	struct maildrop_in in;
	struct maildrop_rec r;
	char   *big = xmalloc(MAILDROP_CHUNK_MAX);
	int     fd = memfd_create("out", MFD_CLOEXEC);
	struct maildrop_limits l2 = lim;

	memset(big, 'x', MAILDROP_CHUNK_MAX);
	maildrop_out_init(&o, fd);
	ck_assert_int_eq(maildrop_out_put_str(&o, 'V', "1"), 0);
	ck_assert_int_eq(maildrop_out_put_str(&o, 'T', "1.000000"), 0);
	ck_assert_int_eq(maildrop_out_put_str(&o, 'A', "flags=t"), 0);
	ck_assert_int_eq(maildrop_out_put_str(&o, 'S', ""), 0);
	ck_assert_int_eq(maildrop_out_put_str(&o, 'N', "SUCCESS"), 0);
	ck_assert_int_eq(maildrop_out_put_str(&o, 'R', "u@example.org"), 0);
	ck_assert_int_eq(maildrop_out_put(&o, 'M', big, MAILDROP_CHUNK_MAX), 0);
	ck_assert_int_eq(maildrop_out_put(&o, 'M', "tail\n", 5), 0);
	ck_assert_int_eq(maildrop_out_put(&o, 'E', NULL, 0), 0);
	ck_assert_int_eq(maildrop_out_flush(&o), 0);
	ck_assert_uint_eq(o.offset, 9 * 5 + 1 + 8 + 7 + 7 + 13 + MAILDROP_CHUNK_MAX + 5);
	ck_assert_int_eq(lseek(fd, 0, SEEK_END), (off_t) o.offset);
	maildrop_out_free(&o);

	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	l2.msg_max = MAILDROP_CHUNK_MAX + 5;	/* exactly the message */
	maildrop_in_init(&in, fd, &l2);
	ck_assert_int_eq(maildrop_in_next(&in, &r), 1);
	ck_assert_int_eq(r.type, 'V');
	ck_assert_int_eq(maildrop_in_next(&in, &r), 1);
	ck_assert_int_eq(maildrop_in_next(&in, &r), 1);
	ck_assert_int_eq(r.type, 'A');
	ck_assert_uint_eq(r.len, 7);
	ck_assert_int_eq(memcmp(r.data, "flags=t", 7), 0);
	ck_assert_int_eq(maildrop_in_next(&in, &r), 1);
	ck_assert_int_eq(r.type, 'S');
	ck_assert_uint_eq(r.len, 0);
	ck_assert_int_eq(maildrop_in_next(&in, &r), 1);
	ck_assert_int_eq(r.type, 'N');
	ck_assert_int_eq(maildrop_in_next(&in, &r), 1);
	ck_assert_int_eq(r.type, 'R');
	ck_assert_int_eq(maildrop_in_next(&in, &r), 1);
	ck_assert_int_eq(r.type, 'M');
	ck_assert_uint_eq(r.len, MAILDROP_CHUNK_MAX);
	ck_assert_int_eq(r.data[MAILDROP_CHUNK_MAX - 1], 'x');
	ck_assert_int_eq(maildrop_in_next(&in, &r), 1);
	ck_assert_uint_eq(r.len, 5);
	ck_assert_int_eq(maildrop_in_next(&in, &r), 1);
	ck_assert_int_eq(r.type, 'E');
	ck_assert_int_eq(maildrop_in_next(&in, &r), 0);
	ck_assert_int_eq(maildrop_in_next(&in, &r), 0);
	ck_assert_uint_eq(in.msg_len, MAILDROP_CHUNK_MAX + 5);
	maildrop_in_free(&in);
	close(fd);
	free(big);
}
END_TEST

START_TEST(test_out_write_error)
{
	struct maildrop_out o;
	int     fd = open("/dev/full", O_WRONLY);

	ck_assert_int_ge(fd, 0);
	maildrop_out_init(&o, fd);
	ck_assert_int_eq(maildrop_out_put_str(&o, 'V', "1"), 0);	/* buffered */
	ck_assert_int_eq(maildrop_out_flush(&o), -1);
	ck_assert_int_eq(errno, ENOSPC);
	errno = 0;
	ck_assert_int_eq(maildrop_out_put_str(&o, 'T', "1.0"), -1);	/* sticky */
	ck_assert_int_eq(errno, ENOSPC);
	maildrop_out_free(&o);
	close(fd);
}
END_TEST

START_TEST(test_in_order)
{
	struct buf b;

	buf_init(&b, 1024 * 1024);

	/* The shortest file: no attributes, no recipients (-t), empty message. */
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', "", 0);
	rec(&b, 'E', "", 0);
	expect_good(&b, 5);

	buf_reset(&b);
	expect_bad(&b, "ended before the end record");
	recs(&b, 'T', "1.0");
	expect_bad(&b, "expected V");
	head(&b);
	recs(&b, 'R', "a@b");
	expect_bad(&b, "expected A or S");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'A', "flags=t");
	expect_bad(&b, "expected O, N, R or M");
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'E', "", 0);
	expect_bad(&b, "expected O, N, R or M");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'O', "rfc822;a@b");
	rec(&b, 'M', "x", 1);
	expect_bad(&b, "O or N without its R");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'N', "NEVER");
	recs(&b, 'O', "rfc822;a@b");
	expect_bad(&b, "O must come first");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'N', "NEVER");
	recs(&b, 'N', "NEVER");
	expect_bad(&b, "two N records");
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', "x", 1);
	recs(&b, 'R', "a@b");
	expect_bad(&b, "expected M or E");

	/* Ends: inside a header, inside data, nothing after E. */
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', "x", 1);
	expect_bad(&b, "ended before the end record");
	(void) buf_append(&b, "E\0\0", 3);
	expect_bad(&b, "inside a record header");
	head(&b);
	recs(&b, 'S', "");
	(void) buf_append(&b, "M\0\0\0\x09short", 10);
	expect_bad(&b, "inside the record");
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', "x", 1);
	rec(&b, 'E', "", 0);
	rec(&b, 'E', "", 0);
	expect_bad(&b, "data after the end record");
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', "x", 1);
	recs(&b, 'E', "x");
	expect_bad(&b, "more than the 0 allowed");

	/* Types a queue file has and a maildrop stream has not. */
	head(&b);
	recs(&b, 'Q', "0PZ1K8Q3F7M2W9X");
	expect_bad(&b, "unknown record type");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'H', "To: x\n");
	expect_bad(&b, "unknown record type");
	head(&b);
	rec(&b, 0, "", 0);
	expect_bad(&b, "(\\x00): unknown record type");
	buf_free(&b);
}
END_TEST

START_TEST(test_in_content)
{
	struct buf b;
	char    s[200];

	buf_init(&b, 1024 * 1024);
	buf_reset(&b);
	recs(&b, 'V', "2");
	expect_bad(&b, "unsupported version");
	head(&b);
	recs(&b, 'A', "Flags=t");
	expect_bad(&b, "not name=value");
	head(&b);
	recs(&b, 'A', "=t");
	expect_bad(&b, "not name=value");
	head(&b);
	recs(&b, 'A', "flags");
	expect_bad(&b, "not name=value");
	head(&b);
	recs(&b, 'A', "fullname=A\tB");
	expect_bad(&b, "control character");
	head(&b);
	rec(&b, 'S', "a\0b", 3);
	expect_bad(&b, "control character or NUL");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'R', "a@b\n");
	expect_bad(&b, "control character");
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'R', "", 0);
	expect_bad(&b, "empty record");
	/* Non-ASCII is not a control character: UTF-8 full names pass. */
	head(&b);
	recs(&b, 'A', "fullname=J\xc3\xb6rg");
	recs(&b, 'S', "");
	rec(&b, 'M', "", 0);
	rec(&b, 'E', "", 0);
	expect_good(&b, 6);
	/* A message with NUL bytes and control characters passes: cleanup's job. */
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', "a\0\r\x7f\n", 5);
	rec(&b, 'E', "", 0);
	expect_good(&b, 5);

	/* Address bound: exactly addr_max, then one more. */
	memset(s, 'a', sizeof(s));
	head(&b);
	rec(&b, 'S', s, lim.addr_max);
	rec(&b, 'R', s, lim.addr_max);
	rec(&b, 'M', "", 0);
	rec(&b, 'E', "", 0);
	expect_good(&b, 6);
	head(&b);
	rec(&b, 'S', s, lim.addr_max + 1);
	expect_bad(&b, "65 bytes, more than the 64 allowed");
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'R', s, lim.addr_max + 1);
	expect_bad(&b, "more than the 64 allowed");
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'N', s, QFILE_NOTIFY_MAX + 1);
	expect_bad(&b, "more than the 64 allowed");
	buf_reset(&b);
	recs(&b, 'V', "1");
	rec(&b, 'T', s, MAILDROP_TIME_MAX + 1);
	expect_bad(&b, "33 bytes");

	/* Attribute length and count. */
	memcpy(s, "fullname=", 9);
	head(&b);
	rec(&b, 'A', s, lim.attr_max);
	rec(&b, 'A', s, lim.attr_max);
	rec(&b, 'A', s, lim.attr_max);
	recs(&b, 'S', "");
	rec(&b, 'M', "", 0);
	rec(&b, 'E', "", 0);
	expect_good(&b, 8);
	head(&b);
	rec(&b, 'A', s, lim.attr_max + 1);
	expect_bad(&b, "more than the 32 allowed");
	head(&b);
	for (int i = 0; i < 4; i++)
		recs(&b, 'A', "flags=t");
	expect_bad(&b, "more than 3 attributes");

	/* Recipient count. */
	head(&b);
	recs(&b, 'S', "");
	for (int i = 0; i < 4; i++)
		recs(&b, 'R', "a@b");
	rec(&b, 'M', "", 0);
	rec(&b, 'E', "", 0);
	expect_good(&b, 9);
	head(&b);
	recs(&b, 'S', "");
	for (int i = 0; i < 5; i++)
		recs(&b, 'R', "a@b");
	expect_bad(&b, "more than 4 recipients");
	buf_free(&b);
}
END_TEST

/*
 * 2026-11 review: values that cleanup refuses to store (an empty or
 * non-UTF-8 or over-long fullname=, an envid= with a space, an O record
 * that is not UTF-8, an N that is no NOTIFY list) were taken here.
 * pickup then got "4.3.0 malformed request" from cleanup for the file
 * for ever, and its scan stops at a temporary failure: "sendmail -F ''"
 * held back the local mail of every user whose file came after it.
 * postdrop now refuses them at once (but an empty fullname is no name).
 */
START_TEST(test_in_values_cleanup_stores)
{
	struct buf b;
	char    name[9 + MAILDROP_FULLNAME_MAX + 2];
	size_t  saved = lim.attr_max;

	lim.attr_max = sizeof(name);
	buf_init(&b, 4096);

	head(&b);
	recs(&b, 'A', "fullname=Jos\xe9");
	expect_bad(&b, "fullname");
	head(&b);
	recs(&b, 'A', "envid=a b");
	expect_bad(&b, "envid");
	head(&b);
	recs(&b, 'A', "envid=");
	expect_bad(&b, "envid");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'O', "rfc822;\xff@x");
	expect_bad(&b, "UTF-8");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'N', "SOMETIMES");
	expect_bad(&b, "NOTIFY");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'N', "NEVER,SUCCESS");
	expect_bad(&b, "NOTIFY");
	head(&b);
	recs(&b, 'S', "");
	recs(&b, 'N', "SUCCESS,,DELAY");
	expect_bad(&b, "NOTIFY");

	/* The fullname bound: exactly MAILDROP_FULLNAME_MAX, then one more. */
	memcpy(name, "fullname=", 9);
	memset(name + 9, 'n', MAILDROP_FULLNAME_MAX + 1);
	name[9 + MAILDROP_FULLNAME_MAX + 1] = '\0';
	head(&b);
	recs(&b, 'A', name);
	expect_bad(&b, "fullname");
	name[9 + MAILDROP_FULLNAME_MAX] = '\0';

	/* What cleanup takes passes: an empty fullname is just no name. */
	head(&b);
	recs(&b, 'A', name);
	recs(&b, 'A', "fullname=");
	recs(&b, 'A', "envid=x+2Bid");
	recs(&b, 'S', "");
	recs(&b, 'O', "rfc822;J\xc3\xb6rg@x");
	recs(&b, 'N', "success,Delay");
	recs(&b, 'R', "u");
	recs(&b, 'N', "NEVER");
	recs(&b, 'R', "v");
	rec(&b, 'M', "", 0);
	rec(&b, 'E', "", 0);
	expect_good(&b, 13);
	buf_free(&b);
	lim.attr_max = saved;
}
END_TEST

START_TEST(test_in_message_bounds)
{
	struct buf b;
	char   *big = xmalloc(MAILDROP_CHUNK_MAX + 1);
	struct maildrop_in in;
	struct maildrop_rec r;
	int     fd, k;

	memset(big, 'm', MAILDROP_CHUNK_MAX + 1);
	buf_init(&b, 1024 * 1024);

	/* msg_max 100 in all, over several M records. */
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', big, 60);
	rec(&b, 'M', big, 40);
	rec(&b, 'E', "", 0);
	expect_good(&b, 6);
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', big, 60);
	rec(&b, 'M', big, 41);
	rec(&b, 'E', "", 0);
	fd = mem_fd(b.data, b.len);
	maildrop_in_init(&in, fd, &lim);
	while ((k = maildrop_in_next(&in, &r)) == 1)
		;
	ck_assert_int_eq(k, -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_msg(strstr(in.why, "larger than 100 bytes") != NULL, "%s", in.why);
	maildrop_in_free(&in);
	close(fd);

	/* One M record carries at most MAILDROP_CHUNK_MAX bytes. */
	lim.msg_max = 1 << 20;
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', big, MAILDROP_CHUNK_MAX);
	rec(&b, 'E', "", 0);
	expect_good(&b, 5);
	head(&b);
	recs(&b, 'S', "");
	rec(&b, 'M', big, MAILDROP_CHUNK_MAX + 1);
	rec(&b, 'E', "", 0);
	expect_bad(&b, "65537 bytes, more than the 65536 allowed");
	lim.msg_max = 100;

	/* A huge length never makes the reader wait for or allocate it. */
	head(&b);
	recs(&b, 'S', "");
	(void) buf_append(&b, "M\xff\xff\xff\xff", 5);
	expect_bad(&b, "4294967295 bytes, more than");
	free(big);
	buf_free(&b);
}
END_TEST

/* Message input: collect what maildrop_msg hands over. */

struct sink {
	struct buf b;
	size_t	calls;
	size_t	biggest;
	int	fail_at;		/* fail on this call (1-based), 0 never */
};

static int
sink_fn(void *ctx, const char *p, size_t n)
{
	struct sink *s = ctx;

	s->calls++;
	if (n > s->biggest)
		s->biggest = n;
	if (s->fail_at > 0 && (int) s->calls == s->fail_at)
		return -1;
	ck_assert_int_eq(buf_append(&s->b, p, n), 0);
	return 0;
}

/* read_str - feed input through maildrop_read_input(), result in s */
static int
read_str(const char *input, size_t n, size_t line_max, bool ignore_dots,
	 uint64_t max, unsigned flags, struct sink *s)
{
	struct maildrop_msg m;
	int     fd = mem_fd(input, n), r;

	buf_init(&s->b, 16 * 1024 * 1024);
	s->calls = s->biggest = 0;
	maildrop_msg_init(&m, max, flags, sink_fn, s);
	r = maildrop_read_input(fd, line_max, ignore_dots, &m);
	maildrop_msg_free(&m);
	close(fd);
	return r;
}

#define READ(in, dots, s) read_str((in), strlen(in), 512, (dots), 0, MAILDROP_MSG_SKIP_FROM_, (s))

START_TEST(test_msg_lines)
{
	struct sink s = {0};

	/* CR LF and LF end lines; stored as LF; a bare CR is content. */
	ck_assert_int_eq(READ("Subject: a\r\n\r\nbody\rx\r\nlast\n", true, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "Subject: a\n\nbody\rx\nlast\n");
	buf_free(&s.b);

	/* Empty input: an empty message, no output. */
	ck_assert_int_eq(READ("", true, &s), 0);
	ck_assert_uint_eq(s.b.len, 0);
	ck_assert_uint_eq(s.calls, 0);
	buf_free(&s.b);

	/* A last line without its end gets one; a CR at its end goes. */
	ck_assert_int_eq(READ("a\n\nno end", true, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "a\n\nno end\n");
	buf_free(&s.b);
	ck_assert_int_eq(READ("a\n\nno end\r", true, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "a\n\nno end\n");
	buf_free(&s.b);
}
END_TEST

START_TEST(test_msg_dots)
{
	struct sink s = {0};

	/* Without -i a lone dot ends the message; with -i it is content. */
	ck_assert_int_eq(READ("a\n\nb\n.\nafter\n", false, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "a\n\nb\n");
	buf_free(&s.b);
	ck_assert_int_eq(READ("a\n\nb\n.\r\nafter\n", false, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "a\n\nb\n");
	buf_free(&s.b);
	ck_assert_int_eq(READ("a\n\nb\n.\nafter\n", true, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "a\n\nb\n.\nafter\n");
	buf_free(&s.b);
	/* A dot at the very end without LF also ends it; ".." is not unstuffed. */
	ck_assert_int_eq(READ("a\n\n..b\n .\n.x\n.", false, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "a\n\n..b\n .\n.x\n");
	buf_free(&s.b);
}
END_TEST

START_TEST(test_msg_from_line)
{
	struct sink s = {0};
	char   *in;
	size_t  n = 3000;

	ck_assert_int_eq(READ("From user Mon Jan  1 00:00:00 2024\nTo: x\n\nFrom here\n", true, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "To: x\n\nFrom here\n");
	buf_free(&s.b);
	/* Only the first line, only "From " exactly. */
	ck_assert_int_eq(READ("From: a@b\n\nx\n", true, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "From: a@b\n\nx\n");
	buf_free(&s.b);
	ck_assert_int_eq(read_str("From x\n\nb\n", 10, 512, true, 0, 0, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "From x\n\nb\n");
	buf_free(&s.b);

	/* A From_ line longer than line_max goes whole. */
	in = xmalloc(n + 20);
	memcpy(in, "From ", 5);
	memset(in + 5, 'f', n - 5);
	memcpy(in + n, "\nTo: x\n\nb\n", 10);
	ck_assert_int_eq(read_str(in, n + 10, 512, true, 0, MAILDROP_MSG_SKIP_FROM_, &s), 0);
	ck_assert_str_eq(buf_str(&s.b), "To: x\n\nb\n");
	buf_free(&s.b);
	free(in);
}
END_TEST

START_TEST(test_msg_long_lines)
{
	struct sink s = {0};
	size_t  n = 5 * 512 + 7;
	char   *in = xmalloc(n + 8), *want = xmalloc(n + 8);

	/* A line longer than line_max comes out whole, with LF for CR LF. */
	memset(in, 'L', n);
	memcpy(in + n, "\r\n.\n", 4);
	memcpy(want, in, n);
	memcpy(want + n, "\n", 2);
	ck_assert_int_eq(read_str(in, n + 4, 512, false, 0, 0, &s), 0);
	ck_assert_uint_eq(s.b.len, n + 1);
	ck_assert_str_eq(buf_str(&s.b), want);
	buf_free(&s.b);

	/* A long last line without LF at the end of input. */
	ck_assert_int_eq(read_str(in, n, 512, true, 0, 0, &s), 0);
	ck_assert_uint_eq(s.b.len, n + 1);
	ck_assert_str_eq(buf_str(&s.b), want);
	buf_free(&s.b);

	/* A long line of dots is not a lone dot. */
	memset(in, '.', 600);
	memcpy(in + 600, "\n", 1);
	ck_assert_int_eq(read_str(in, 601, 512, false, 0, 0, &s), 0);
	ck_assert_uint_eq(s.b.len, 601);
	buf_free(&s.b);
	free(in);
	free(want);
}
END_TEST

START_TEST(test_msg_size_and_chunks)
{
	struct sink s = {0};
	size_t  n = 3 * MAILDROP_CHUNK_MAX + 100;
	char   *in = xmalloc(n);

	for (size_t i = 0; i < n; i++)
		in[i] = (i % 100 == 99) ? '\n' : 'c';
	in[n - 1] = '\n';
	/* Chunks of at most MAILDROP_CHUNK_MAX, content unchanged. */
	ck_assert_int_eq(read_str(in, n, 512, true, 0, 0, &s), 0);
	ck_assert_uint_eq(s.b.len, n);
	ck_assert_int_eq(memcmp(s.b.data, in, n), 0);
	ck_assert_uint_eq(s.biggest, MAILDROP_CHUNK_MAX);
	ck_assert_uint_eq(s.calls, 4);
	buf_free(&s.b);

	/* The size bound: exactly, then one byte more. */
	ck_assert_int_eq(read_str(in, 1000, 512, true, 1000, 0, &s), 0);
	ck_assert_uint_eq(s.b.len, 1000);
	buf_free(&s.b);
	ck_assert_int_eq(read_str(in, 1000, 512, true, 999, 0, &s), MAILDROP_ETOOBIG);
	buf_free(&s.b);
	/* The added LF counts too. */
	ck_assert_int_eq(read_str(in, 999, 512, true, 1000, 0, &s), 0);
	ck_assert_uint_eq(s.b.len, 1000);
	buf_free(&s.b);
	ck_assert_int_eq(read_str(in, 999, 512, true, 999, 0, &s), MAILDROP_ETOOBIG);
	buf_free(&s.b);

	/* The consumer's failure stops everything. */
	s.fail_at = 2;
	ck_assert_int_eq(read_str(in, n, 512, true, 0, 0, &s), MAILDROP_EOUT);
	ck_assert_uint_eq(s.calls, 2);
	buf_free(&s.b);
	free(in);
}
END_TEST

START_TEST(test_msg_too_big_goes_on_counting)
{
	struct maildrop_msg m;
	struct sink s = {0};
	struct lb_line l = {.data = "0123456789", .len = 10, .end = LB_END_LF};

	buf_init(&s.b, 1024);
	maildrop_msg_init(&m, 20, 0, sink_fn, &s);
	ck_assert_int_eq(maildrop_msg_line(&m, &l), 0);		/* 11 */
	ck_assert_int_eq(maildrop_msg_line(&m, &l), MAILDROP_ETOOBIG);	/* 22 */
	ck_assert_int_eq(maildrop_msg_line(&m, &l), MAILDROP_ETOOBIG);
	ck_assert_uint_eq(m.size, 33);
	ck_assert_int_eq(maildrop_msg_finish(&m), MAILDROP_ETOOBIG);
	ck_assert_uint_eq(s.b.len, 0);		/* nothing handed over */
	maildrop_msg_free(&m);
	buf_free(&s.b);
}
END_TEST

START_TEST(test_read_error)
{
	struct maildrop_msg m;
	struct sink s = {0};
	int     fd = open("/", O_RDONLY | O_DIRECTORY);

	buf_init(&s.b, 1024);
	maildrop_msg_init(&m, 0, 0, sink_fn, &s);
	ck_assert_int_eq(maildrop_read_input(fd, 512, true, &m), MAILDROP_EIO);
	ck_assert_int_eq(errno, EISDIR);
	maildrop_msg_free(&m);
	buf_free(&s.b);
	close(fd);
}
END_TEST

START_TEST(test_names)
{
	char    a[MAILDROP_NAME_LEN + 1], b[MAILDROP_NAME_LEN + 1], t[40];

	maildrop_name_new(a);
	maildrop_name_new(b);
	ck_assert_uint_eq(strlen(a), 32);
	ck_assert_str_ne(a, b);
	ck_assert(maildrop_name_valid(a));
	ck_assert(!maildrop_temp_valid(a));
	snprintf(t, sizeof(t), "t.%s", a);
	ck_assert(maildrop_temp_valid(t));
	ck_assert(!maildrop_name_valid(t));
	ck_assert(!maildrop_name_valid(""));
	ck_assert(!maildrop_name_valid("0123456789abcdef0123456789abcde"));	/* 31 */
	ck_assert(!maildrop_name_valid("0123456789abcdef0123456789abcdef0"));	/* 33 */
	ck_assert(!maildrop_name_valid("0123456789ABCDEF0123456789abcdef"));
	ck_assert(!maildrop_name_valid("0123456789abcdef0123456789abcde/"));
	ck_assert(!maildrop_temp_valid("t."));
	ck_assert(!maildrop_temp_valid("x.0123456789abcdef0123456789abcdef"));
	ck_assert(maildrop_temp_valid("t.0123456789abcdef0123456789abcdef"));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("maildrop");
	TCase  *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_out_in_round_trip);
	tcase_add_test(tc, test_out_write_error);
	tcase_add_test(tc, test_in_order);
	tcase_add_test(tc, test_in_content);
	tcase_add_test(tc, test_in_values_cleanup_stores);
	tcase_add_test(tc, test_in_message_bounds);
	tcase_add_test(tc, test_msg_lines);
	tcase_add_test(tc, test_msg_dots);
	tcase_add_test(tc, test_msg_from_line);
	tcase_add_test(tc, test_msg_long_lines);
	tcase_add_test(tc, test_msg_size_and_chunks);
	tcase_add_test(tc, test_msg_too_big_goes_on_counting);
	tcase_add_test(tc, test_read_error);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
