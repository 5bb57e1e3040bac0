/*
 * smtpd_data_test - check suite for smtpd/smtpd_data.c: end of data,
 * dot-unstuffing, bare CR and LF, size and header bounds, long lines,
 * and every SMTP smuggling variant, fed byte by byte, in odd-sized
 * chunks and in one piece through the real line reader; the spool
 * opened late (memory when the message is whole, a file when not).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"

#include "linebuf.h"
#include "membudget.h"
#include "../../smtpd/smtpd.h"

#define MAXOUT	(512 * 1024)

struct result {
	char   *content;	/* what reached the spool file */
	size_t	len;
	int	ends;		/* how many times end of data was seen */
	char	rest[4096];	/* lines after the end, as "L|L|" */
	unsigned flags;
	uint64_t size;
};

struct opts {
	bool	reject;
	bool	prev_crlf;
	uint64_t size_limit;
	uint64_t header_limit;
	size_t	max_line;
};

static const struct opts defaults = {
	.reject = false, .prev_crlf = true, .size_limit = 0,
	.header_limit = 102400, .max_line = 2048,
};

/*
 * feed - send in[0..n) through a socket pair in chunks of `chunk`
 * bytes, read lines with linebuf, give them to the DATA machine until
 * it sees the end, and collect the lines after it as commands.
 */
static void
feed(const char *in, size_t n, size_t chunk, const struct opts *o,
     struct result *r)
{
	int	sv[2], fd;
	struct linebuf lb;
	struct smtpd_data d;
	size_t	off = 0;
	bool	in_data = true;

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fd = memfd_create("spool", 0);
	ck_assert_int_ge(fd, 0);
	linebuf_init(&lb, sv[0], o->max_line, NULL, NULL);
	smtpd_data_begin(&d, fd, o->prev_crlf, o->reject, o->size_limit,
			 o->header_limit);
	while (off < n) {
		size_t	k = n - off < chunk ? n - off : chunk;
		struct lb_line l;

		ck_assert_int_eq(write(sv[1], in + off, k), (ssize_t) k);
		off += k;
		ck_assert_int_eq(linebuf_fill(&lb), (ssize_t) k);
		while (linebuf_get(&lb, &l) == LB_LINE) {
			if (in_data) {
				if (smtpd_data_line(&d, &l)) {
					r->ends++;
					in_data = false;
				}
			} else {
				size_t	have = strlen(r->rest);

				ck_assert_int_lt(have + l.len + 2, sizeof(r->rest));
				memcpy(r->rest + have, l.data, l.len);
				memcpy(r->rest + have + l.len, "|", 2);
			}
		}
	}
	(void) smtpd_data_finish(&d);
	r->flags = d.flags;
	r->size = d.size;
	smtpd_data_free(&d);
	linebuf_free(&lb);
	r->content = malloc(MAXOUT);
	ck_assert_ptr_nonnull(r->content);
	r->len = (size_t) pread(fd, r->content, MAXOUT, 0);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

static const size_t chunks[] = {1, 2, 3, 7, 64, 1 << 20};

/* expect - every chunking of in gives the same content, ends, rest */
static void
expect(const char *in, size_t n, const struct opts *o, const char *content,
       size_t clen, int ends, const char *rest, unsigned flags)
{
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct result r;

		feed(in, n, chunks[i], o, &r);
		ck_assert_msg(r.ends == ends, "chunk %zu: ends %d, want %d",
			      chunks[i], r.ends, ends);
		ck_assert_msg(strcmp(r.rest, rest) == 0,
			      "chunk %zu: rest \"%s\", want \"%s\"", chunks[i],
			      r.rest, rest);
		ck_assert_msg(r.flags == flags, "chunk %zu: flags %#x, want %#x",
			      chunks[i], r.flags, flags);
		if (content != NULL) {
			ck_assert_msg(r.len == clen && memcmp(r.content, content, clen) == 0,
				      "chunk %zu: content \"%.*s\" (%zu), want \"%.*s\" (%zu)",
				      chunks[i], (int) r.len, r.content, r.len,
				      (int) clen, content, clen);
		}
		free(r.content);
	}
}

#define S(x)	x, sizeof(x) - 1

START_TEST(test_simple)
{
	expect(S("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n"), &defaults,
	       S("Subject: x\n\nhello\n"), 1, "QUIT|", 0);
}
END_TEST

START_TEST(test_empty_message)
{
	expect(S(".\r\n"), &defaults, S(""), 1, "", 0);
	expect(S(".\r\nRSET\r\nQUIT\r\n"), &defaults, S(""), 1, "RSET|QUIT|", 0);
}
END_TEST

START_TEST(test_unstuffing)
{
	expect(S("..\r\n...\r\n.x\r\nx.\r\n. \r\n.\r\n"), &defaults,
	       S(".\n..\nx\nx.\n \n"), 1, "", 0);
}
END_TEST

START_TEST(test_no_end)
{
	/* Without the end, nothing ends and nothing becomes a command. */
	expect(S("a\r\nb\r\nQUIT\r\n"), &defaults, S("a\nb\nQUIT\n"), 0, "", 0);
	expect(S("a\r\n.\r"), &defaults, S("a\n"), 0, "", 0);
}
END_TEST

/*
 * Every fake end of data: placed between a body and a second
 * transaction, it must neither end the data nor let the smuggled
 * commands be read as commands.  Only the real CR LF . CR LF at the
 * end counts, exactly once, and the QUIT after it is the only command.
 */
#define F(x)	{x, sizeof(x) - 1}
static const struct {
	const char *s;
	size_t	n;
} fakes[] = {
	F("\n.\n"), F("\n.\r\n"), F("\r.\r"), F("\r.\n"), F("\r\n.\n"),
	F("\r.\r\n"), F("\r\n.\r"), F("\r\n\0.\r\n"), F("\r\r\n.\r\r\n"),
	F("\n.\r\r\n"), F("\r\n.\r\r\n"), F("\r\n.\0\r\n"), F("\r\n .\r\n"),
	F("\n\n.\n\n"), F("\r\n\r.\r\n"), F("\r\n.\n\r\n"), F("\r\n.\r\r\n.\n"),
	F("\r\n.\n.\r\n"), F("\r\n..\r\n"), F("\n\r.\r\n"),
};

START_TEST(test_smuggling)
{
	const char *pre = "Subject: t\r\n\r\nbody";
	const char *smuggled = "MAIL FROM:<evil@example.net>\r\n"
	    "RCPT TO:<victim@example.org>\r\nDATA\r\nsmuggled\r\n";
	const char *post = "\r\n.\r\nQUIT\r\n";

	for (int reject = 0; reject < 2; reject++) {
		struct opts o = defaults;

		o.reject = reject;
		for (size_t i = 0; i < sizeof(fakes) / sizeof(fakes[0]); i++) {
			char	in[512];
			size_t	n = 0;

			memcpy(in + n, pre, strlen(pre)), n += strlen(pre);
			memcpy(in + n, fakes[i].s, fakes[i].n), n += fakes[i].n;
			memcpy(in + n, smuggled, strlen(smuggled)), n += strlen(smuggled);
			memcpy(in + n, post, strlen(post)), n += strlen(post);
			for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
				struct result r;

				feed(in, n, chunks[c], &o, &r);
				ck_assert_msg(r.ends == 1, "fake %zu reject %d chunk %zu: ends %d",
					      i, reject, chunks[c], r.ends);
				ck_assert_msg(strcmp(r.rest, "QUIT|") == 0,
					      "fake %zu reject %d chunk %zu: commands \"%s\"",
					      i, reject, chunks[c], r.rest);
				if (!reject) {
					ck_assert_msg(r.flags == 0, "fake %zu: flags %#x", i, r.flags);
					ck_assert_msg(memmem(r.content, r.len, "MAIL FROM:<evil@example.net>\n", 29)
						      != NULL, "fake %zu: smuggled text not content", i);
					ck_assert_msg(memchr(r.content, '\r', r.len) == NULL,
						      "fake %zu: CR stored", i);
				} else
					ck_assert_msg(r.flags != 0 || memmem(r.content, r.len,
						      "MAIL FROM:<evil@example.net>\n", 29) != NULL,
						      "fake %zu reject: flags %#x", i, r.flags);
				free(r.content);
			}
		}
	}
}
END_TEST

START_TEST(test_fake_end_contents)
{
	/* The exact stored form of a few fakes (normalize mode). */
	expect(S("a\n.\nb\r\n.\r\n"), &defaults, S("a\n\nb\n"), 1, "", 0);
	expect(S("a\r\n.\nb\r\n.\r\n"), &defaults, S("a\n\nb\n"), 1, "", 0);
	expect(S("a\n.\r\nb\r\n.\r\n"), &defaults, S("a\n\nb\n"), 1, "", 0);
	expect(S("a\r.\rb\r\n.\r\n"), &defaults, S("a . b\n"), 1, "", 0);
	expect(S("a\r\r\n.\r\r\nb\r\n.\r\n"), &defaults, S("a \n \nb\n"), 1, "", 0);
	expect(S("a\r\n\0.\r\nb\r\n.\r\n"), &defaults, S("a\n\0.\nb\n"), 1, "", 0);
	/* "a\r" then CR LF . CR LF is a real end: the bytes say so. */
	expect(S("a\r\r\n.\r\nQUIT\r\n"), &defaults, S("a \n"), 1, "QUIT|", 0);
}
END_TEST

START_TEST(test_data_command_bare_lf)
{
	struct opts o = defaults;

	/* DATA itself ended in a bare LF: the first "." is not an end. */
	o.prev_crlf = false;
	expect(S(".\r\nx\r\n.\r\n"), &o, S("\nx\n"), 1, "", 0);
}
END_TEST

START_TEST(test_reject_mode)
{
	struct opts o = defaults;

	o.reject = true;
	expect(S("a\r\nb\r\n.\r\n"), &o, S("a\nb\n"), 1, "", 0);
	expect(S("a\nb\r\n.\r\nQUIT\r\n"), &o, NULL, 0, 1, "QUIT|", SMTPD_DATA_BARE_LF);
	expect(S("a\rb\r\n.\r\n"), &o, NULL, 0, 1, "", SMTPD_DATA_BARE_CR);
	expect(S("a\r\r\n.\r\n"), &o, NULL, 0, 1, "", SMTPD_DATA_BARE_CR);
}
END_TEST

START_TEST(test_normalize_mode)
{
	expect(S("a\nb\r\n.\r\n"), &defaults, S("a\nb\n"), 1, "", 0);
	expect(S("a\rb\rc\r\n.\r\n"), &defaults, S("a b c\n"), 1, "", 0);
}
END_TEST

START_TEST(test_size_limit)
{
	struct opts o = defaults;

	o.size_limit = 6;		/* "12345\n" is 6 bytes stored */
	expect(S("12345\r\n.\r\n"), &o, S("12345\n"), 1, "", 0);
	expect(S("123456\r\n.\r\nQUIT\r\n"), &o, NULL, 0, 1, "QUIT|", SMTPD_DATA_TOO_BIG);
	/* Dot-stuffing does not count: "..2345" is stored as ".2345\n". */
	expect(S("..2345\r\n.\r\n"), &o, S(".2345\n"), 1, "", 0);
}
END_TEST

START_TEST(test_header_limit)
{
	struct opts o = defaults;

	o.header_limit = 20;
	/* 19 bytes of header then a body larger than the bound: fine. */
	expect(S("Subject: 123456789\r\n\r\n0123456789012345678901234\r\n.\r\n"), &o,
	       S("Subject: 123456789\n\n0123456789012345678901234\n"), 1, "", 0);
	/* A continuation counts. */
	expect(S("Subject: 123456789\r\n x\r\n\r\nbody\r\n.\r\n"), &o, NULL, 0, 1, "",
	       SMTPD_DATA_HDR_TOO_BIG);
	/* A line that is not a header ends the header section. */
	expect(S("Subject: 123456789\r\nnot a header line at all\r\n.\r\n"), &o,
	       S("Subject: 123456789\nnot a header line at all\n"), 1, "", 0);
	/* The exact bound passes, one past does not. */
	expect(S("Subject: 1234567890\r\n\r\n.\r\n"), &o, S("Subject: 1234567890\n\n"),
	       1, "", 0);
	expect(S("Subject: 12345678901\r\n\r\n.\r\n"), &o, NULL, 0, 1, "",
	       SMTPD_DATA_HDR_TOO_BIG);
}
END_TEST

START_TEST(test_long_lines)
{
	struct opts o = defaults;

	o.max_line = 8;
	/* Passed through in pieces, stored whole. */
	expect(S("0123456789abcdefghij\r\n.\r\n"), &o, S("0123456789abcdefghij\n"), 1, "", 0);
	/* A "." that is the last piece of a long line is no end. */
	expect(S("xxxxxxxx.\r\n.\r\n"), &o, S("xxxxxxxx.\n"), 1, "", 0);
	/* Only the first piece of a line is unstuffed. */
	expect(S("..........\r\n.\r\n"), &o, S(".........\n"), 1, "", 0);
	/* A piece ending where a CR would be is not split from its LF. */
	expect(S("1234567\r\r\n.\r\n"), &o, S("1234567 \n"), 1, "", 0);
}
END_TEST

START_TEST(test_big_message)
{
	/* 300 KiB: several buffer flushes, content intact. */
	size_t	nlines = 3000, n = 0;
	char   *in = malloc(nlines * 102 + 16), *want = malloc(nlines * 101 + 1);
	size_t	wn = 0;
	struct result r;

	for (size_t i = 0; i < nlines; i++) {
		memset(in + n, 'a' + (int) (i % 26), 100);
		memcpy(want + wn, in + n, 100);
		n += 100, wn += 100;
		in[n++] = '\r', in[n++] = '\n';
		want[wn++] = '\n';
	}
	memcpy(in + n, ".\r\n", 3), n += 3;
	feed(in, n, 4096, &defaults, &r);
	ck_assert_int_eq(r.ends, 1);
	ck_assert_uint_eq(r.len, wn);
	ck_assert_uint_eq(r.size, wn);
	ck_assert(memcmp(r.content, want, wn) == 0);
	free(r.content);
	free(in);
	free(want);
}
END_TEST

START_TEST(test_write_error)
{
	struct smtpd_data d;
	struct lb_line l = {.data = "hello", .len = 5, .end = LB_END_CRLF};
	struct lb_line dot = {.data = ".", .len = 1, .end = LB_END_CRLF};
	int	fd = open("/dev/null", O_RDONLY);
	int	code;
	const char *dsn, *text;

	smtpd_data_begin(&d, fd, true, false, 0, 102400);
	ck_assert_int_eq(smtpd_data_line(&d, &l), 0);
	ck_assert_int_eq(smtpd_data_line(&d, &dot), 1);
	ck_assert_int_eq(smtpd_data_finish(&d), -1);
	ck_assert(d.flags & SMTPD_DATA_WRITE_ERR);
	ck_assert(smtpd_data_verdict(&d, &code, &dsn, &text));
	ck_assert_int_eq(code, 451);
	ck_assert_str_eq(dsn, "4.3.0");
	smtpd_data_free(&d);
	close(fd);
}
END_TEST

START_TEST(test_verdicts)
{
	struct smtpd_data d = {0};
	int	code;
	const char *dsn, *text;

	ck_assert(!smtpd_data_verdict(&d, &code, &dsn, &text));
	d.flags = SMTPD_DATA_BARE_LF | SMTPD_DATA_TOO_BIG;
	ck_assert(smtpd_data_verdict(&d, &code, &dsn, &text));
	ck_assert_int_eq(code, 550);
	ck_assert_str_eq(text, "Error: bare <LF> received");
	d.flags = SMTPD_DATA_TOO_BIG;
	ck_assert(smtpd_data_verdict(&d, &code, &dsn, &text));
	ck_assert_int_eq(code, 552);
	ck_assert_str_eq(dsn, "5.3.4");
	ck_assert_str_eq(text, "Error: message file too big");
	d.flags = SMTPD_DATA_WRITE_ERR;
	d.write_errno = ENOSPC;
	ck_assert(smtpd_data_verdict(&d, &code, &dsn, &text));
	ck_assert_int_eq(code, 452);
	ck_assert_str_eq(dsn, "4.3.1");
}
END_TEST

/* A spool opener that records how it was called. */
static int opened_whole, opened_file, open_fails_errno;

static int
test_opener(bool whole)
{
	if (open_fails_errno) {
		errno = open_fails_errno;
		return -1;
	}
	if (whole)
		opened_whole++;
	else
		opened_file++;
	return memfd_create("test-spool", 0);
}

/* lazy - feed n lines of len bytes with a lazy spool; the fd taken */
static int
lazy(struct smtpd_data *d, size_t lines, size_t len, bool finish)
{
	struct lb_line dot = {.data = ".", .len = 1, .end = LB_END_CRLF};
	char   *line = malloc(len + 1);
	size_t	charged;
	int	fd;

	ck_assert_ptr_nonnull(line);
	memset(line, 'x', len);
	opened_whole = opened_file = 0;
	smtpd_data_begin(d, -1, true, false, 0, 102400);
	d->spool_open = test_opener;
	for (size_t i = 0; i < lines; i++) {
		struct lb_line l = {.data = line, .len = len, .end = LB_END_CRLF};

		ck_assert_int_eq(smtpd_data_line(d, &l), 0);
	}
	free(line);
	if (!finish)
		return d->fd;
	ck_assert_int_eq(smtpd_data_line(d, &dot), 1);
	(void) smtpd_data_finish(d);
	fd = smtpd_data_take_fd(d, &charged);
	ck_assert_uint_eq(charged, opened_whole ? d->size : 0);
	if (charged > 0)
		membudget_give(charged);
	smtpd_data_free(d);
	return fd;
}

START_TEST(test_lazy_small_is_opened_whole)
{
	struct smtpd_data d;
	struct stat st;
	int	fd;

	/* 64 KiB of content exactly: still whole, one open at the end */
	fd = lazy(&d, SMTPD_DATA_WBUF / 64, 63, true);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(opened_whole, 1);
	ck_assert_int_eq(opened_file, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, SMTPD_DATA_WBUF);
	close(fd);

	/* an empty message gets a descriptor too */
	fd = lazy(&d, 0, 1, true);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(opened_whole, 1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	close(fd);
}
END_TEST

START_TEST(test_lazy_large_is_a_file)
{
	struct smtpd_data d;
	struct stat st;
	int	fd;

	/* one byte past the buffer: opened as a file when it filled */
	fd = lazy(&d, SMTPD_DATA_WBUF / 64 + 1, 63, true);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(opened_whole, 0);
	ck_assert_int_eq(opened_file, 1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, SMTPD_DATA_WBUF + 64);
	close(fd);
}
END_TEST

START_TEST(test_lazy_abandoned_fd_is_closed)
{
	struct smtpd_data d;
	int	fd;

	/* the session ends mid-DATA: free() closes what it opened */
	fd = lazy(&d, SMTPD_DATA_WBUF / 64 + 1, 63, false);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD), -1);
	smtpd_data_free(&d);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(d.fd, -1);
	/* and freeing twice closes nothing more */
	smtpd_data_free(&d);
}
END_TEST

START_TEST(test_lazy_open_failure)
{
	struct smtpd_data d;
	size_t	charged;
	int	code, fd;
	const char *dsn, *text;

	open_fails_errno = ENOSPC;
	fd = lazy(&d, 3, 10, false);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(smtpd_data_finish(&d), -1);
	ck_assert(d.flags & SMTPD_DATA_WRITE_ERR);
	ck_assert_int_eq(d.write_errno, ENOSPC);
	ck_assert(smtpd_data_verdict(&d, &code, &dsn, &text));
	ck_assert_int_eq(code, 452);
	ck_assert_int_eq(smtpd_data_take_fd(&d, &charged), -1);
	smtpd_data_free(&d);

	open_fails_errno = EACCES;
	fd = lazy(&d, SMTPD_DATA_WBUF / 64 + 1, 63, false);
	ck_assert_int_eq(fd, -1);
	ck_assert(d.flags & SMTPD_DATA_WRITE_ERR);
	ck_assert(smtpd_data_verdict(&d, &code, &dsn, &text));
	ck_assert_int_eq(code, 451);
	smtpd_data_free(&d);
	open_fails_errno = 0;
}
END_TEST

START_TEST(test_budget)
{
	struct smtpd_data d;
	struct lb_line l = {.data = NULL, .len = 63, .end = LB_END_CRLF};
	struct lb_line dot = {.data = ".", .len = 1, .end = LB_END_CRLF};
	char	line[63];
	struct stat st;
	size_t	charged;
	int	fd;

	/* No room for a large buffer: 6,400 bytes go to a file. */
	membudget_init(8 * 1024);
	fd = lazy(&d, 100, 63, true);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(opened_file, 1);
	ck_assert_int_eq(opened_whole, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 6400);
	close(fd);
	ck_assert_uint_eq(membudget_used(), 0);

	/* A small message still fits in memory, charged while held. */
	fd = lazy(&d, 10, 63, true);
	ck_assert_int_eq(opened_whole, 1);
	close(fd);
	ck_assert_uint_eq(membudget_used(), 0);

	/* No room for the content in memory either: a file. */
	membudget_init(SMTPD_DATA_WBUF_SMALL + 100);
	fd = lazy(&d, 10, 63, true);
	ck_assert_int_eq(opened_whole, 0);
	ck_assert_int_eq(opened_file, 1);
	close(fd);
	ck_assert_uint_eq(membudget_used(), 0);

	/* Shrinking a parked session: the buffer goes out to a file. */
	membudget_init(1 << 20);
	(void) lazy(&d, 100, 63, false);
	ck_assert_uint_eq(membudget_used(), SMTPD_DATA_WBUF);
	ck_assert_uint_eq(smtpd_data_shrink(&d), SMTPD_DATA_WBUF);
	ck_assert_uint_eq(membudget_used(), 0);
	ck_assert_ptr_null(d.wbuf);
	ck_assert_int_eq(opened_file, 1);
	ck_assert_uint_eq(smtpd_data_shrink(&d), 0);
	memset(line, 'y', sizeof(line));
	l.data = line;
	ck_assert_int_eq(smtpd_data_line(&d, &l), 0);
	ck_assert_int_eq(smtpd_data_line(&d, &dot), 1);
	ck_assert_int_eq(smtpd_data_finish(&d), 0);
	fd = smtpd_data_take_fd(&d, &charged);
	ck_assert_uint_eq(charged, 0);
	smtpd_data_free(&d);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 6464);
	close(fd);
	ck_assert_uint_eq(membudget_used(), 0);
	membudget_init(0);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtpd_data");
	TCase  *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_simple);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_empty_message);
	tcase_add_test(tc, test_unstuffing);
	tcase_add_test(tc, test_no_end);
	tcase_add_test(tc, test_smuggling);
	tcase_add_test(tc, test_fake_end_contents);
	tcase_add_test(tc, test_data_command_bare_lf);
	tcase_add_test(tc, test_reject_mode);
	tcase_add_test(tc, test_normalize_mode);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_header_limit);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_big_message);
	tcase_add_test(tc, test_write_error);
	tcase_add_test(tc, test_verdicts);
	tcase_add_test(tc, test_lazy_small_is_opened_whole);
	tcase_add_test(tc, test_lazy_large_is_a_file);
	tcase_add_test(tc, test_lazy_abandoned_fd_is_closed);
	tcase_add_test(tc, test_lazy_open_failure);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
