/* linebuf_test - check suite for lib/util/linebuf: line ends, pieces, splits, EOF. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"

#include "buf.h"
#include "linebuf.h"
#include "membudget.h"

/* A reader that serves data in chunks of the given sizes (the last repeats). */
struct script {
	const char *data;
	size_t	len, pos;
	const size_t *chunks;
	size_t	nchunks, i;
	size_t	last_room;		/* what the last read asked for */
};

static ssize_t
script_read(void *ctx, void *p, size_t n)
{
	struct script *s = ctx;
	size_t  k = s->len - s->pos;
	size_t  c = s->chunks[s->i < s->nchunks ? s->i : s->nchunks - 1];

	s->last_room = n;
	s->i++;
	if (k > c)
		k = c;
	if (k > n)
		k = n;
	memcpy(p, s->data + s->pos, k);
	s->pos += k;
	return (ssize_t) k;
}

static size_t drive_read_min;	/* not 0: under a budget, this floor */

/*
 * drive - read everything, describing each line as "[data]E" with E one
 * of L (LF), C (CRLF), N (none), plus "*" when LB_TOO_LONG.
 */
static void
drive(const char *in, size_t n, size_t max_line, const size_t *chunks,
      size_t nchunks, struct buf *out, size_t *pending)
{
	struct script s = {in, n, 0, chunks, nchunks, 0, 0};
	struct linebuf lb;
	struct lb_line l;

	linebuf_init(&lb, -1, max_line, script_read, &s);
	if (drive_read_min) {
		membudget_init(0);
		linebuf_budget(&lb, drive_read_min);
	}
	buf_reset(out);
	for (;;) {
		if (linebuf_get(&lb, &l) == LB_LINE) {
			ck_assert_uint_le(l.len, max_line);
			ck_assert_ptr_null(memchr(l.data, '\n', l.len));
			buf_putc(out, '[');
			buf_append(out, l.data, l.len);
			buf_putc(out, ']');
			buf_putc(out, "NLC"[l.end]);
			if (l.flags & LB_TOO_LONG)
				buf_putc(out, '*');
			continue;
		}
		ck_assert_uint_le(linebuf_pending(&lb), max_line + 1);
		if (linebuf_fill(&lb) == 0)
			break;
	}
	ck_assert_uint_eq(linebuf_bytes_in(&lb), n);
	if (drive_read_min)
		ck_assert_uint_eq(membudget_used(), lb.size);
	else
		ck_assert_uint_eq(lb.size, max_line + 2 + LB_READ_SIZE);
	*pending = linebuf_pending(&lb);
	linebuf_free(&lb);
	ck_assert_uint_eq(membudget_used(), 0);
}

static void
whole(const char *in, size_t max_line, const char *want, size_t want_pending)
{
	static const size_t all[] = {1 << 20};
	static const size_t one[] = {1};
	struct buf out;
	size_t  pending;

	buf_init(&out, 1 << 20);
	drive(in, strlen(in), max_line, all, 1, &out, &pending);
	ck_assert_str_eq(buf_str(&out), want);
	ck_assert_uint_eq(pending, want_pending);
	drive(in, strlen(in), max_line, one, 1, &out, &pending);
	ck_assert_str_eq(buf_str(&out), want);
	ck_assert_uint_eq(pending, want_pending);
	buf_free(&out);
}

START_TEST(test_line_ends)
{
	whole("abc\r\ndef\n", 10, "[abc]C[def]L", 0);
	whole("\r\n\n\r\n", 10, "[]C[]L[]C", 0);		/* empty lines */
	whole("a\rb\r\n", 10, "[a\rb]C", 0);		/* bare CR inside */
	whole("\r\r\n", 10, "[\r]C", 0);
	whole("a\r\rb\n", 10, "[a\r\rb]L", 0);
	whole("\r", 10, "", 1);				/* EOF after a CR */
	whole("", 10, "", 0);
}
END_TEST

START_TEST(test_exact_max_and_one_past)
{
	whole("12345678\r\n", 8, "[12345678]C", 0);
	whole("12345678\n", 8, "[12345678]L", 0);
	whole("123456789\r\n", 8, "[12345678]N*[9]C*", 0);
	whole("123456789\n", 8, "[12345678]N*[9]L*", 0);
	/* The line after a too-long one is an ordinary line again. */
	whole("123456789\nok\n", 8, "[12345678]N*[9]L*[ok]L", 0);
	whole("x\n", 1, "[x]L", 0);
	whole("xy\n", 1, "[x]N*[y]L*", 0);
}
END_TEST

START_TEST(test_long_line_pieces)
{
	struct buf out, want;
	static const size_t chunk[] = {1000};
	size_t  n = 100 * 64 + 3, pending;
	char   *in = malloc(n + 2);

	for (size_t i = 0; i < n; i++)
		in[i] = (char) ('a' + i % 26);
	memcpy(in + n, "\r\n", 2);
	buf_init(&out, 1 << 20);
	buf_init(&want, 1 << 20);
	for (size_t i = 0; i < 100; i++) {
		buf_putc(&want, '[');
		buf_append(&want, in + i * 64, 64);
		buf_puts(&want, "]N*");
	}
	buf_putc(&want, '[');
	buf_append(&want, in + 6400, 3);
	buf_puts(&want, "]C*");
	drive(in, n + 2, 64, chunk, 1, &out, &pending);
	ck_assert_str_eq(buf_str(&out), buf_str(&want));
	ck_assert_uint_eq(pending, 0);
	buf_free(&out);
	buf_free(&want);
	free(in);
}
END_TEST

/* split - the same input cut into two reads at every position */
static void
split_everywhere(const char *in, size_t max_line, const char *want)
{
	struct buf out;
	size_t  n = strlen(in), pending;

	buf_init(&out, 1 << 16);
	for (size_t cut = 1; cut < n; cut++) {
		size_t  chunks[2] = {cut, 1 << 20};

		drive(in, n, max_line, chunks, 2, &out, &pending);
		ck_assert_msg(strcmp(buf_str(&out), want) == 0,
			      "cut at %zu: got \"%s\"", cut, buf_str(&out));
	}
	buf_free(&out);
}

START_TEST(test_crlf_split_across_reads)
{
	split_everywhere("abc\r\ndef\r\n", 10, "[abc]C[def]C");
	split_everywhere("abc\r\r\n\r\n", 10, "[abc\r]C[]C");
}
END_TEST

START_TEST(test_cr_at_piece_boundary)
{
	/* The CR is byte max_line: with its LF it ends a line that fits. */
	split_everywhere("1234567\r\n", 8, "[1234567]C");
	split_everywhere("12345678\r\n", 8, "[12345678]C");
	/* A CR that is the last byte of a piece is content. */
	split_everywhere("1234567\rx\n", 8, "[1234567\r]N*[x]L*");
	split_everywhere("12345678\rx\n", 8, "[12345678]N*[\rx]L*");
	split_everywhere("12345678\r\r\n", 8, "[12345678]N*[\r]C*");
	split_everywhere("123456789\r\n", 8, "[12345678]N*[9]C*");
	split_everywhere("1234567812345678\r\n", 8, "[12345678]N*[12345678]C*");
	split_everywhere("12345678123456789\r\n", 8,
			 "[12345678]N*[12345678]N*[9]C*");
}
END_TEST

/* model - what the header promises, computed on the whole input */
static void
model(const char *in, size_t n, size_t max, struct buf *out, size_t *pending)
{
	size_t  pos = 0;

	buf_reset(out);
	while (pos < n) {
		const char *lf = memchr(in + pos, '\n', n - pos);
		size_t  k, c, q = pos;
		char    e = 'L';
		bool    tl;

		if (lf == NULL) {
			for (c = n - pos; c >= max + 2; c -= max, q += max) {
				buf_putc(out, '[');
				buf_append(out, in + q, max);
				buf_puts(out, "]N*");
			}
			*pending = c;
			return;
		}
		k = c = (size_t) (lf - (in + pos));
		if (k > 0 && in[pos + k - 1] == '\r')
			c = k - 1, e = 'C';
		tl = c > max;
		for (; c > max; c -= max, q += max) {
			buf_putc(out, '[');
			buf_append(out, in + q, max);
			buf_puts(out, "]N*");
		}
		buf_putc(out, '[');
		buf_append(out, in + q, c);
		buf_putc(out, ']');
		buf_putc(out, e);
		if (tl)
			buf_putc(out, '*');
		pos += k + 1;
	}
	*pending = 0;
}

START_TEST(test_against_model_any_split)
{
	static const char alpha[] = "aaa\r\r\n";
	struct buf want, got;
	char    in[48];

	buf_init(&want, 1 << 16);
	buf_init(&got, 1 << 16);
	srandom(7);
	for (int iter = 0; iter < 3000; iter++) {
		size_t  max = 1 + (size_t) random() % 5, n = (size_t) random() % sizeof(in);
		size_t  wp, gp, chunks[8];

		for (size_t i = 0; i < n; i++)
			in[i] = alpha[random() % 6];
		model(in, n, max, &want, &wp);
		for (int way = 0; way < 8; way++) {
			for (size_t i = 0; i < 8; i++)
				chunks[i] = way % 4 == 0 ? 1 : way % 4 == 1 ? 1000 :
				    1 + (size_t) random() % 4;
			/* Ways 4..7: under a budget, buffers grow and shrink. */
			drive_read_min = way < 4 ? 0 : 1 + (size_t) random() % 3;
			drive(in, n, max, chunks, 8, &got, &gp);
			drive_read_min = 0;
			ck_assert_msg(strcmp(buf_str(&got), buf_str(&want)) == 0,
				      "iter %d max %zu way %d: got \"%s\" want \"%s\"",
				      iter, max, way, buf_str(&got), buf_str(&want));
			ck_assert_uint_eq(gp, wp);
		}
	}
	buf_free(&want);
	buf_free(&got);
}
END_TEST

START_TEST(test_eof_mid_line_pending_take)
{
	struct linebuf lb;
	struct lb_line l;
	int     p[2];
	char    rest[8];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "a\nbc\r\nde", 8), 8);
	close(p[1]);
	linebuf_init(&lb, p[0], 100, NULL, NULL);
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_NEED);
	ck_assert_int_eq(linebuf_fill(&lb), 8);
	ck_assert_uint_eq(linebuf_pending(&lb), 8);
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_LINE);
	ck_assert_uint_eq(l.len, 1);
	ck_assert_uint_eq(linebuf_pending(&lb), 6);	/* pipelined bytes */
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_LINE);
	ck_assert_int_eq(memcmp(l.data, "bc", 2), 0);
	ck_assert_int_eq(l.end, LB_END_CRLF);
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_NEED);
	ck_assert_int_eq(linebuf_fill(&lb), 0);		/* EOF ... */
	ck_assert_uint_eq(linebuf_pending(&lb), 2);	/* ... inside a line */
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_NEED);
	ck_assert_uint_eq(linebuf_take(&lb, rest, sizeof(rest)), 2);
	ck_assert_int_eq(memcmp(rest, "de", 2), 0);
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	ck_assert_uint_eq(linebuf_bytes_in(&lb), 8);
	linebuf_free(&lb);
	close(p[0]);
}
END_TEST

START_TEST(test_take_raw)
{
	static const size_t all[] = {100};
	struct script s = {"HELO\r\n0123456789QUIT\r\n", 22, 0, all, 1, 0, 0};
	struct linebuf lb;
	struct lb_line l;
	char    raw[16];

	linebuf_init(&lb, -1, 8, script_read, &s);
	ck_assert_int_eq(linebuf_fill(&lb), 22);
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_LINE);
	ck_assert_uint_eq(linebuf_take(&lb, raw, 4), 4);
	ck_assert_int_eq(memcmp(raw, "0123", 4), 0);
	ck_assert_uint_eq(linebuf_take(&lb, NULL, 6), 6);	/* discard */
	ck_assert_uint_eq(linebuf_take(&lb, raw, 0), 0);
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_LINE);
	ck_assert_int_eq(memcmp(l.data, "QUIT", 4), 0);
	ck_assert_uint_eq(l.flags, 0);
	ck_assert_uint_eq(linebuf_take(&lb, raw, sizeof(raw)), 0);

	/* Taking inside a too-long line ends it. */
	s = (struct script) {"123456789012\n", 13, 0, all, 1, 0, 0};
	lb.readctx = &s;
	ck_assert_int_eq(linebuf_fill(&lb), 13);
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_LINE);
	ck_assert_uint_eq(l.flags, LB_TOO_LONG);
	ck_assert_uint_eq(linebuf_take(&lb, raw, 2), 2);
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_LINE);
	ck_assert_uint_eq(l.len, 2);
	ck_assert_uint_eq(l.flags, 0);
	linebuf_free(&lb);
}
END_TEST

START_TEST(test_fill_room_and_errors)
{
	static const size_t huge[] = {1 << 30};
	char   *big = malloc(200000);
	struct script s = {big, 200000, 0, huge, 1, 0, 0};
	struct linebuf lb;
	struct lb_line l;
	int     sv[2];

	/* After LB_NEED every read may take at least LB_READ_SIZE. */
	memset(big, 'x', 200000);
	linebuf_init(&lb, -1, 2048, script_read, &s);
	ck_assert_int_eq(linebuf_fill(&lb), 2048 + 2 + LB_READ_SIZE);
	while (linebuf_get(&lb, &l) == LB_LINE)
		ck_assert_uint_eq(l.len, 2048);
	ck_assert_uint_le(linebuf_pending(&lb), 2049);
	ck_assert_int_gt(linebuf_fill(&lb), 0);
	ck_assert_uint_ge(s.last_room, LB_READ_SIZE);
	/* A full buffer (lines not taken out) is refused, not grown. */
	while (linebuf_pending(&lb) < lb.size)
		ck_assert_int_gt(linebuf_fill(&lb), 0);
	ck_assert_int_eq(linebuf_fill(&lb), -1);
	ck_assert_int_eq(errno, ENOBUFS);
	linebuf_free(&lb);

	/* A non-blocking socket with nothing to read. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	linebuf_init(&lb, sv[0], 100, NULL, NULL);
	ck_assert_int_eq(linebuf_fill(&lb), -1);
	ck_assert_int_eq(errno, EAGAIN);
	linebuf_free(&lb);
	close(sv[0]);
	close(sv[1]);
	free(big);
}
END_TEST

START_TEST(test_budget_grow_shrink)
{
	static const size_t burst[] = {1 << 30};
	size_t	full = 2048 + 2 + LB_READ_SIZE, floor = 2048 + 2 + 4096;
	size_t	n = 300000;
	char   *big = malloc(n);
	struct script s = {big, n, 0, burst, 1, 0, 0};
	struct linebuf lb;
	struct lb_line l;
	size_t	lines = 0;

	for (size_t i = 0; i < n; i++)
		big[i] = i % 100 == 99 ? '\n' : 'x';
	membudget_init(1 << 20);
	linebuf_init(&lb, -1, 2048, script_read, &s);
	linebuf_budget(&lb, 4096);
	/* Idle: no buffer at all. */
	ck_assert_ptr_null(lb.buf);
	ck_assert_uint_eq(membudget_used(), 0);
	ck_assert_str_eq(linebuf_peek(&lb), "");
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_NEED);
	/* The first read gets the floor; it fills it, so the next is full. */
	ck_assert_int_eq(linebuf_fill(&lb), (ssize_t) floor);
	ck_assert_uint_eq(membudget_used(), floor);
	while (linebuf_get(&lb, &l) == LB_LINE)
		lines++;
	ck_assert_uint_eq(lb.size, floor);	/* streaming: kept */
	ck_assert_int_gt(linebuf_fill(&lb), 4096);
	ck_assert_uint_eq(lb.size, full);
	ck_assert_uint_eq(membudget_used(), full);
	ck_assert_uint_ge(s.last_room, LB_READ_SIZE);
	for (;;) {
		while (linebuf_get(&lb, &l) == LB_LINE)
			lines++;
		if (linebuf_fill(&lb) <= 0)
			break;
	}
	ck_assert_uint_eq(lines, n / 100);
	/* The peer went quiet with nothing pending: everything given back. */
	ck_assert_int_eq(linebuf_get(&lb, &l), LB_NEED);
	ck_assert_ptr_null(lb.buf);
	ck_assert_uint_eq(membudget_used(), 0);
	linebuf_free(&lb);

	/* A budget with no room for a full buffer: reads stay small. */
	membudget_init(floor + 100);
	s.pos = 0;
	lines = 0;
	linebuf_init(&lb, -1, 2048, script_read, &s);
	linebuf_budget(&lb, 4096);
	for (;;) {
		while (linebuf_get(&lb, &l) == LB_LINE)
			lines++;
		if (linebuf_fill(&lb) <= 0)
			break;
		ck_assert_uint_eq(lb.size, floor);
		ck_assert_uint_le(s.last_room, floor);
	}
	ck_assert_uint_eq(lines, n / 100);
	linebuf_free(&lb);
	ck_assert_uint_eq(membudget_used(), 0);

	/* linebuf_shrink() after a large read keeps only the pending bytes. */
	membudget_init(1 << 20);
	s.pos = 0;
	linebuf_init(&lb, -1, 2048, script_read, &s);
	linebuf_budget(&lb, 4096);
	(void) linebuf_fill(&lb);
	(void) linebuf_fill(&lb);
	ck_assert_uint_eq(lb.size, full);
	while (linebuf_get(&lb, &l) == LB_LINE)
		;
	ck_assert_uint_gt(linebuf_pending(&lb), 0);
	linebuf_shrink(&lb);
	ck_assert_uint_eq(lb.size, floor);
	ck_assert_uint_eq(membudget_used(), floor);
	ck_assert_int_eq(linebuf_peek(&lb)[0], 'x');
	linebuf_free(&lb);
	ck_assert_uint_eq(membudget_used(), 0);
	free(big);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("linebuf");
	TCase  *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_line_ends);
	tcase_add_test(tc, test_budget_grow_shrink);
	tcase_add_test(tc, test_exact_max_and_one_past);
	tcase_add_test(tc, test_long_line_pieces);
	tcase_add_test(tc, test_crlf_split_across_reads);
	tcase_add_test(tc, test_cr_at_piece_boundary);
	tcase_add_test(tc, test_against_model_any_split);
	tcase_add_test(tc, test_eof_mid_line_pending_take);
	tcase_add_test(tc, test_take_raw);
	tcase_add_test(tc, test_fill_room_and_errors);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
