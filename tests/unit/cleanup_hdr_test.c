/*
 * cleanup_hdr_test - check suite for cleanup's header processing and
 * content reader: Received/Message-ID/Date/From insertion, Bcc removal,
 * recipient extraction, header_size_limit, hop counting, stray CR,
 * where the body starts, and long lines read in fragments.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"

#include "../../cleanup/cleanup.h"
#include "buf.h"
#include "log.h"
#include "str.h"

static int
memfile(const char *data, size_t n)
{
	int     fd = memfd_create("content", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t) n);
	return fd;
}

/*
 * run - feed content through cleanup_src (buffer of cap bytes) and
 * cleanup_hdr as cleanup_msg.c does; returns the body offset.
 */
static uint64_t
run(struct cleanup_hdr *h, const char *content, unsigned flags, size_t limit,
    long long hops, size_t cap)
{
	struct cleanup_src s;
	const char *p;
	size_t  n;
	bool    start, eol;
	uint64_t body = 0;
	int     fd = memfile(content, strlen(content)), r;

	cleanup_hdr_init(h, flags, limit, hops, true, 100);
	cleanup_src_init(&s, fd, 0, strlen(content), cap);
	for (;;) {
		r = cleanup_src_line(&s, &p, &n, &start, &eol);
		ck_assert_int_ge(r, 0);
		if (r == 0) {
			cleanup_hdr_eof(h);
			body = s.end;
			break;
		}
		r = cleanup_hdr_line(h, p, n, start, eol);
		if (r == CLEANUP_HDR_END) {
			body = cleanup_src_tell(&s);
			break;
		}
		if (r == CLEANUP_HDR_JUNK) {
			body = s.frag_pos;
			cleanup_hdr_eof(h);
			break;
		}
	}
	cleanup_src_free(&s);
	close(fd);
	return body;
}

/* finish - the final header section with a fixed identity */
static void
finish(struct cleanup_hdr *h, struct cleanup_req *req, const char *sender,
       const char *for_rcpt, struct buf *out)
{
	struct timeval tv = {.tv_sec = 1700000000};
	struct cleanup_hdr_info info = {
		.qid = "0PZ1K8Q3F7M2W9X", .arrival = &tv, .myhostname = "mx.example.com",
		.req = req, .sender = sender, .for_rcpt = for_rcpt,
	};

	buf_init(out, 1024 * 1024);
	ck_assert_int_eq(cleanup_hdr_finish(h, &info, out), 0);
}

static struct cleanup_req
smtp_req(void)
{
	struct cleanup_req r = {.uid = -1};

	r.client_name = "client.example.org";
	r.client_addr = "192.0.2.1";
	r.helo = "helo.example.org";
	r.protocol = "ESMTP";
	return r;
}

START_TEST(test_received_messageid_date_added)
{
	struct cleanup_hdr h;
	struct cleanup_req req = smtp_req();
	struct buf out;
	uint64_t body;
	const char *msg = "Subject: hi\nFrom: a@b\n\nbody\n";

	setenv("TZ", "UTC", 1);
	tzset();
	body = run(&h, msg, 0, 102400, 50, 65536);
	ck_assert_uint_eq(body, strlen("Subject: hi\nFrom: a@b\n\n"));
	finish(&h, &req, "a@b", "rcpt@example.com", &out);
	ck_assert_str_eq(buf_str(&out),
		"Received: from helo.example.org (client.example.org [192.0.2.1])\n"
		"\tby mx.example.com (postern) with ESMTP id 0PZ1K8Q3F7M2W9X\n"
		"\tfor <rcpt@example.com>; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\n"
		"Subject: hi\n"
		"From: a@b\n"
		"Message-ID: <20231114221320.0PZ1K8Q3F7M2W9X@mx.example.com>\n"
		"Date: Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\n");
	ck_assert_str_eq(h.msgid, "<20231114221320.0PZ1K8Q3F7M2W9X@mx.example.com>");
	buf_free(&out);
	cleanup_hdr_free(&h);
}
END_TEST

START_TEST(test_existing_headers_kept_ipv6_no_for)
{
	struct cleanup_hdr h;
	struct cleanup_req req = smtp_req();
	struct buf out;

	setenv("TZ", "UTC", 1);
	tzset();
	req.client_addr = "2001:db8::1";
	req.helo = NULL;
	(void) run(&h, "Message-ID:   <abc@x>  \nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
		   "\nbody\n", 0, 102400, 50, 65536);
	ck_assert(h.have_msgid);
	ck_assert_str_eq(h.msgid, "<abc@x>");
	finish(&h, &req, "a@b", NULL, &out);
	ck_assert_str_eq(buf_str(&out),
		"Received: from client.example.org (client.example.org [IPv6:2001:db8::1])\n"
		"\tby mx.example.com (postern) with ESMTP id 0PZ1K8Q3F7M2W9X; "
		"Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\n"
		"Message-ID:   <abc@x>  \n"
		"Date: Mon, 1 Jan 2024 00:00:00 +0000\n");
	buf_free(&out);
	cleanup_hdr_free(&h);
}
END_TEST

START_TEST(test_local_from_added_and_bcc_removed)
{
	struct cleanup_hdr h;
	struct cleanup_req req = {.uid = 1000, .fullname = "Joe Q. Public"};
	struct buf out;

	setenv("TZ", "UTC", 1);
	tzset();
	(void) run(&h, "To: x@y\nBcc: secret@y\nSubject: s\n\nb\n", CLEANUP_F_LOCAL,
		   102400, 50, 65536);
	finish(&h, &req, "joe@example.com", NULL, &out);
	ck_assert_msg(strstr(buf_str(&out), "Bcc") == NULL, "%s", buf_str(&out));
	ck_assert_msg(strstr(buf_str(&out),
		"Received: by mx.example.com (postern, from userid 1000)\n"
		"\tid 0PZ1K8Q3F7M2W9X; ") == buf_str(&out), "%s", buf_str(&out));
	/* "." is not atext: the phrase is quoted. */
	ck_assert_msg(strstr(buf_str(&out), "From: \"Joe Q. Public\" <joe@example.com>\n")
		      != NULL, "%s", buf_str(&out));
	ck_assert_int_eq(h.nxrcpt, 0);		/* no -t: nothing extracted */
	buf_free(&out);
	cleanup_hdr_free(&h);

	/* A plain full name is not quoted; quotes inside are escaped. */
	req.fullname = "Joe Public";
	(void) run(&h, "Subject: s\n\nb\n", CLEANUP_F_LOCAL, 102400, 50, 65536);
	finish(&h, &req, "joe@example.com", NULL, &out);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "From: Joe Public <joe@example.com>\n"));
	buf_free(&out);
	cleanup_hdr_free(&h);
	req.fullname = "Joe \"J\" P\\";
	(void) run(&h, "Subject: s\n\nb\n", CLEANUP_F_LOCAL, 102400, 50, 65536);
	finish(&h, &req, "joe@example.com", NULL, &out);
	ck_assert_ptr_nonnull(strstr(buf_str(&out),
				     "From: \"Joe \\\"J\\\" P\\\\\" <joe@example.com>\n"));
	buf_free(&out);
	cleanup_hdr_free(&h);

	/* No full name; the null sender; an existing From: is kept alone. */
	req.fullname = NULL;
	(void) run(&h, "Subject: s\n\nb\n", CLEANUP_F_LOCAL, 102400, 50, 65536);
	finish(&h, &req, "joe@example.com", NULL, &out);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "\nFrom: joe@example.com\n"));
	buf_free(&out);
	cleanup_hdr_free(&h);
	(void) run(&h, "Subject: s\n\nb\n", CLEANUP_F_LOCAL, 102400, 50, 65536);
	finish(&h, &req, "", NULL, &out);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "\nFrom: MAILER-DAEMON@mx.example.com\n"));
	buf_free(&out);
	cleanup_hdr_free(&h);
	(void) run(&h, "FROM: me@x\n\nb\n", CLEANUP_F_LOCAL, 102400, 50, 65536);
	finish(&h, &req, "joe@example.com", NULL, &out);
	ck_assert_ptr_null(strstr(buf_str(&out), "joe@example.com"));
	buf_free(&out);
	cleanup_hdr_free(&h);

	/* SMTP mail keeps Bcc and gets no From:. */
	req = smtp_req();
	(void) run(&h, "Bcc: secret@y\n\nb\n", 0, 102400, 50, 65536);
	finish(&h, &req, "joe@example.com", NULL, &out);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "Bcc: secret@y\n"));
	ck_assert_ptr_null(strstr(buf_str(&out), "From:"));
	buf_free(&out);
	cleanup_hdr_free(&h);
}
END_TEST

START_TEST(test_extract_recipients)
{
	struct cleanup_hdr h;
	struct cleanup_req req = {.uid = 0};
	struct buf out;

	(void) run(&h, "To: A <a@x.org>, b@y.org,\n\tbare\nCc: (c) c@z.org\n"
		   "Bcc: Hidden <h@x.org>\nSubject: s\n\nTo: notme@x\n",
		   CLEANUP_F_EXTRACT | CLEANUP_F_LOCAL, 102400, 50, 65536);
	ck_assert_int_eq(h.nxrcpt, 5);
	ck_assert_str_eq(h.xrcpt[0], "a@x.org");
	ck_assert_str_eq(h.xrcpt[1], "b@y.org");
	ck_assert_str_eq(h.xrcpt[2], "bare");
	ck_assert_str_eq(h.xrcpt[3], "c@z.org");
	ck_assert_str_eq(h.xrcpt[4], "h@x.org");
	ck_assert_int_eq(h.nxresent, 0);
	finish(&h, &req, "me@x", NULL, &out);
	ck_assert_ptr_null(strstr(buf_str(&out), "Bcc"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "To: A <a@x.org>, b@y.org,\n\tbare\n"));
	buf_free(&out);
	cleanup_hdr_free(&h);

	/* Resent- headers take their own list; malformed ones are counted. */
	(void) run(&h, "To: a@x.org\nResent-To: r@x.org\nResent-Bcc: rb@x.org\n"
		   "Cc: <unbalanced@x\n\n", CLEANUP_F_EXTRACT, 102400, 50, 65536);
	ck_assert_int_eq(h.nxrcpt, 1);
	ck_assert_int_eq(h.nxresent, 2);
	ck_assert_str_eq(h.xresent[1], "rb@x.org");
	ck_assert_int_eq(h.xskipped, 1);
	cleanup_hdr_free(&h);

	/* The bound on extracted addresses. */
	cleanup_hdr_init(&h, CLEANUP_F_EXTRACT, 102400, 50, true, 2);
	ck_assert_int_eq(cleanup_hdr_line(&h, "To: a@x, b@x, c@x", 17, true, true),
			 CLEANUP_HDR_MORE);
	cleanup_hdr_eof(&h);
	ck_assert_int_eq(h.nxrcpt, 2);
	ck_assert_int_eq(h.xdropped, 1);
	cleanup_hdr_free(&h);
}
END_TEST

START_TEST(test_body_start_junk_and_eof)
{
	struct cleanup_hdr h;
	const char *m1 = "Subject: s\nthis is not a header\nmore\n";
	const char *m2 = "Subject: s\n continued\n";
	const char *m3 = " leading continuation\nSubject: s\n\n";
	const char *m4 = "Subject: s\r\n\r\nbody\r\n";
	const char *m5 = "";

	/* A junk line ends the headers and starts the body. */
	ck_assert_uint_eq(run(&h, m1, 0, 102400, 50, 65536), strlen("Subject: s\n"));
	ck_assert_str_eq(buf_str(&h.kept), "Subject: s\n");
	cleanup_hdr_free(&h);
	/* Content that ends in the headers: no body. */
	ck_assert_uint_eq(run(&h, m2, 0, 102400, 50, 65536), strlen(m2));
	ck_assert_str_eq(buf_str(&h.kept), "Subject: s\n continued\n");
	cleanup_hdr_free(&h);
	/* A continuation before any header is junk: all body. */
	ck_assert_uint_eq(run(&h, m3, 0, 102400, 50, 65536), 0);
	ck_assert_uint_eq(h.kept.len, 0);
	cleanup_hdr_free(&h);
	/* CR LF line ends: the CR is part of the end; the empty line ends. */
	ck_assert_uint_eq(run(&h, m4, 0, 102400, 50, 65536), strlen("Subject: s\r\n\r\n"));
	ck_assert_str_eq(buf_str(&h.kept), "Subject: s\n");
	cleanup_hdr_free(&h);
	/* Empty content. */
	ck_assert_uint_eq(run(&h, m5, 0, 102400, 50, 65536), 0);
	ck_assert_uint_eq(h.kept.len, 0);
	cleanup_hdr_free(&h);
}
END_TEST

START_TEST(test_stray_cr_and_nul_in_headers)
{
	struct cleanup_hdr h;
	const char msg[] = "Subject: a\rb\r\nX-Nul: a\0b\nX-Smuggle: x\r.\r\n\nbody";
	struct cleanup_src s;
	const char *p;
	size_t  n;
	bool    start, eol;
	int     fd = memfile(msg, sizeof(msg) - 1);

	cleanup_hdr_init(&h, 0, 102400, 50, true, 100);
	cleanup_src_init(&s, fd, 0, sizeof(msg) - 1, 65536);
	while (cleanup_src_line(&s, &p, &n, &start, &eol) == 1)
		if (cleanup_hdr_line(&h, p, n, start, eol) != CLEANUP_HDR_MORE)
			break;
	ck_assert_str_eq(buf_str(&h.kept), "Subject: a b\nX-Nul: a b\nX-Smuggle: x .\n");
	ck_assert_ptr_null(memchr(h.kept.data, '\r', h.kept.len));
	cleanup_src_free(&s);
	cleanup_hdr_free(&h);
	close(fd);

	/* With the replacement off, a stray CR stays (NUL does not). */
	fd = memfile(msg, sizeof(msg) - 1);
	cleanup_hdr_init(&h, 0, 102400, 50, false, 100);
	cleanup_src_init(&s, fd, 0, sizeof(msg) - 1, 65536);
	while (cleanup_src_line(&s, &p, &n, &start, &eol) == 1)
		if (cleanup_hdr_line(&h, p, n, start, eol) != CLEANUP_HDR_MORE)
			break;
	ck_assert_str_eq(buf_str(&h.kept), "Subject: a\rb\nX-Nul: a b\nX-Smuggle: x\r.\n");
	cleanup_src_free(&s);
	cleanup_hdr_free(&h);
	close(fd);
}
END_TEST

START_TEST(test_stray_cr_in_body_chunks)
{
	char    out[64];
	bool    pend = false;
	size_t  n;

	n = cleanup_stray_cr("a\r\nb\rc\r", 7, out, &pend, false);
	ck_assert_uint_eq(n, 5);
	ck_assert(memcmp(out, "a\nb c", 5) == 0);
	ck_assert(pend);			/* the last CR waits */
	n = cleanup_stray_cr("\nd", 2, out, &pend, false);
	ck_assert_uint_eq(n, 2);		/* it was a line end */
	ck_assert(memcmp(out, "\nd", 2) == 0);
	n = cleanup_stray_cr("e\r", 2, out, &pend, false);
	n += cleanup_stray_cr("f", 1, out + n, &pend, false);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(out, "e f", 3) == 0);
	n = cleanup_stray_cr("\r", 1, out, &pend, true);
	ck_assert_uint_eq(n, 1);		/* a CR at the very end */
	ck_assert_int_eq(out[0], ' ');
	ck_assert(!pend);
	n = cleanup_stray_cr("", 0, out, &pend, true);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_header_size_limit)
{
	struct cleanup_hdr h;
	struct buf msg;
	uint64_t body;

	/* Headers beyond the limit are discarded; the body still starts right. */
	buf_init(&msg, 1 << 20);
	for (int i = 0; i < 200; i++)
		buf_appendf(&msg, "X-Filler-%03d: %090d\n", i, i);
	buf_puts(&msg, "\nthe body\n");
	body = run(&h, buf_str(&msg), 0, 1024, 50, 65536);
	ck_assert_uint_eq(body, msg.len - strlen("the body\n"));
	ck_assert_uint_le(h.kept.len, 1024);
	ck_assert_uint_gt(h.kept.len, 900);
	ck_assert_uint_eq(h.kept.len + h.discarded, msg.len - strlen("\nthe body\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&h.kept), "X-Filler-000:"));
	ck_assert_ptr_null(strstr(buf_str(&h.kept), "X-Filler-199:"));
	cleanup_hdr_free(&h);

	/* Exactly at the limit: kept whole.  One byte more: cut by one. */
	buf_reset(&msg);
	buf_appendf(&msg, "X: %01020d\nY: after\n\nb", 0);	/* 1023 bytes + LF */
	(void) run(&h, buf_str(&msg), 0, 1024, 50, 65536);
	ck_assert_uint_eq(h.kept.len, 1024);
	ck_assert_uint_eq(h.discarded, strlen("Y: after\n"));
	ck_assert_ptr_null(strstr(buf_str(&h.kept), "Y: after"));
	cleanup_hdr_free(&h);
	buf_reset(&msg);
	buf_appendf(&msg, "X: %01021d\n\nb", 0);
	(void) run(&h, buf_str(&msg), 0, 1024, 50, 65536);
	ck_assert_uint_eq(h.kept.len, 1024);
	ck_assert_uint_eq(h.discarded, 1);
	ck_assert_int_eq(h.kept.data[1023], '\n');
	cleanup_hdr_free(&h);

	/*
	 * One logical header far longer than the limit, with a folded
	 * line cut at the bound and long physical lines read in
	 * fragments (buffer of 256 bytes): it is cut, never stored with
	 * an empty line inside, and what follows is still read.
	 */
	buf_reset(&msg);
	buf_puts(&msg, "X-Long: start");
	for (int i = 0; i < 100; i++)
		buf_appendf(&msg, "\n\t%0500d", i);
	buf_puts(&msg, "\nSubject: after\n\nbody\n");
	body = run(&h, buf_str(&msg), 0, 2048, 50, 256);
	ck_assert_uint_eq(body, msg.len - strlen("body\n"));
	ck_assert_ptr_null(strstr(buf_str(&h.kept), "\n\n"));
	ck_assert_ptr_null(strstr(buf_str(&h.kept), "Subject: after"));
	ck_assert_uint_le(h.kept.len, 2048);
	ck_assert_uint_ge(h.kept.len, 2000);
	cleanup_hdr_free(&h);
	buf_free(&msg);
}
END_TEST

START_TEST(test_hop_count)
{
	struct cleanup_hdr h;
	struct buf msg;

	buf_init(&msg, 1 << 20);
	/* hopcount_limit 5: four received plus ours is fine. */
	for (int i = 0; i < 4; i++)
		buf_appendf(&msg, "Received: from h%d by x; date\n", i);
	buf_puts(&msg, "\nb\n");
	(void) run(&h, buf_str(&msg), 0, 102400, 5, 65536);
	ck_assert_uint_eq(h.hops, 4);
	ck_assert(!cleanup_hdr_too_many_hops(&h));
	cleanup_hdr_free(&h);
	/* Five plus ours is one too many. */
	buf_reset(&msg);
	for (int i = 0; i < 5; i++)
		buf_appendf(&msg, "received: from h%d\n by x; date\n", i);
	buf_puts(&msg, "\nb\n");
	(void) run(&h, buf_str(&msg), 0, 102400, 5, 65536);
	ck_assert_uint_eq(h.hops, 5);
	ck_assert(cleanup_hdr_too_many_hops(&h));
	cleanup_hdr_free(&h);
	/* A bounce adds no Received: of its own. */
	(void) run(&h, buf_str(&msg), CLEANUP_F_BOUNCE, 102400, 5, 65536);
	ck_assert(!cleanup_hdr_too_many_hops(&h));
	cleanup_hdr_free(&h);
	/* Received: headers past header_size_limit still count. */
	buf_reset(&msg);
	buf_appendf(&msg, "X: %01100d\n", 0);
	for (int i = 0; i < 5; i++)
		buf_appendf(&msg, "Received: from h%d\n", i);
	buf_puts(&msg, "\nb\n");
	(void) run(&h, buf_str(&msg), 0, 1024, 5, 65536);
	ck_assert_ptr_null(strstr(buf_str(&h.kept), "Received"));
	ck_assert_uint_eq(h.hops, 5);
	ck_assert(cleanup_hdr_too_many_hops(&h));
	cleanup_hdr_free(&h);
	buf_free(&msg);
}
END_TEST

START_TEST(test_return_path_removed_bounce_no_received)
{
	struct cleanup_hdr h;
	struct cleanup_req req = {.uid = -1};
	struct buf out;

	(void) run(&h, "Return-Path: <forged@x>\nSubject: s\n\n", CLEANUP_F_BOUNCE,
		   102400, 50, 65536);
	finish(&h, &req, "", NULL, &out);
	ck_assert_ptr_null(strstr(buf_str(&out), "Return-Path"));
	ck_assert_ptr_null(strstr(buf_str(&out), "Received"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "Subject: s\nMessage-ID: <"));
	buf_free(&out);
	cleanup_hdr_free(&h);
}
END_TEST

START_TEST(test_src_fragments_and_short_file)
{
	struct cleanup_src s;
	const char *p;
	size_t  n;
	bool    start, eol;
	int     fd = memfile("0123456789\nab", 13);

	/* Lines longer than the buffer come in fragments of cap bytes. */
	cleanup_src_init(&s, fd, 0, 13, 4);
	ck_assert_int_eq(cleanup_src_line(&s, &p, &n, &start, &eol), 1);
	ck_assert(n == 4 && start && !eol && memcmp(p, "0123", 4) == 0);
	ck_assert_int_eq(cleanup_src_line(&s, &p, &n, &start, &eol), 1);
	ck_assert(n == 4 && !start && !eol);
	ck_assert_int_eq(cleanup_src_line(&s, &p, &n, &start, &eol), 1);
	ck_assert(n == 2 && !start && eol && memcmp(p, "89", 2) == 0);
	ck_assert_int_eq(cleanup_src_line(&s, &p, &n, &start, &eol), 1);
	ck_assert(n == 2 && start && eol && memcmp(p, "ab", 2) == 0);
	ck_assert_uint_eq(s.frag_pos, 11);
	ck_assert_int_eq(cleanup_src_line(&s, &p, &n, &start, &eol), 0);
	cleanup_src_free(&s);

	/* An offset and a length inside a bigger file are respected. */
	cleanup_src_init(&s, fd, 3, 5, 64);
	ck_assert_int_eq(cleanup_src_line(&s, &p, &n, &start, &eol), 1);
	ck_assert(n == 5 && memcmp(p, "34567", 5) == 0 && eol);
	ck_assert_int_eq(cleanup_src_line(&s, &p, &n, &start, &eol), 0);
	cleanup_src_free(&s);

	/* A file shorter than announced is an error, not a short message. */
	cleanup_src_init(&s, fd, 0, 100, 64);
	ck_assert_int_eq(cleanup_src_line(&s, &p, &n, &start, &eol), 1);
	ck_assert_int_eq(cleanup_src_line(&s, &p, &n, &start, &eol), -1);
	cleanup_src_free(&s);
	close(fd);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("cleanup_hdr");
	TCase  *tc = tcase_create("core");

	log_init("cleanup_hdr_test", LOG_DEST_STDERR);
	tcase_add_test(tc, test_received_messageid_date_added);
	tcase_add_test(tc, test_existing_headers_kept_ipv6_no_for);
	tcase_add_test(tc, test_local_from_added_and_bcc_removed);
	tcase_add_test(tc, test_extract_recipients);
	tcase_add_test(tc, test_body_start_junk_and_eof);
	tcase_add_test(tc, test_stray_cr_and_nul_in_headers);
	tcase_add_test(tc, test_stray_cr_in_body_chunks);
	tcase_add_test(tc, test_header_size_limit);
	tcase_add_test(tc, test_hop_count);
	tcase_add_test(tc, test_return_path_removed_bounce_no_received);
	tcase_add_test(tc, test_src_fragments_and_short_file);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
