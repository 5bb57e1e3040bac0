/*
 * cleanup_msg_test - check suite for cleanup_message(): a whole message
 * from request to queue file, in a scratch queue directory, with the
 * tables opened in-process (lookup_clnt direct mode).  The queue files
 * are read back with qfile_read(); every failure must leave incoming/
 * empty.
 */
#include "cleanup_msg_util.h"

START_TEST(test_smtp_message_queued)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	struct qfile_env env;
	const char *msg = "Subject: test\nFrom: alice@example.org\n\nHello.\n";
	char    names[256], *h, *b;
	int     fd;

	setup("");
	submit(&req, msg, strlen(msg), &res);
	ck_assert_msg(res.status == CLEANUP_STAT_OK, "%d %s", res.status, res.reason);
	ck_assert(qid_valid(res.queue_id));
	incoming(names, sizeof(names));
	ck_assert_str_eq(names, res.queue_id);	/* no temporary file left */
	fd = load(res.queue_id, &env);
	ck_assert_str_eq(env.sender, "alice@example.org");
	ck_assert_uint_eq(env.nrcpts, 1);
	ck_assert_str_eq(env.rcpts[0].address, "bob@example.org");
	ck_assert_ptr_null(env.rcpts[0].orig);
	ck_assert_str_eq(qfile_env_attr(&env, "client_addr"), "192.0.2.1");
	ck_assert_str_eq(qfile_env_attr(&env, "protocol"), "ESMTP");
	ck_assert_ptr_null(qfile_env_attr(&env, "uid"));
	h = section(fd, env.hdr_off, env.hdr_len);
	b = section(fd, env.body_off, env.body_len);
	ck_assert_msg(strncmp(h, "Received: from client.example.org (client.example.org "
			      "[192.0.2.1])\n\tby mx.example.com (postern) with ESMTP id ",
			      100) == 0, "%s", h);
	ck_assert_ptr_nonnull(strstr(h, "\tfor <bob@example.org>; "));
	ck_assert_ptr_nonnull(strstr(h, "\nSubject: test\nFrom: alice@example.org\n"
				     "Message-ID: <"));
	ck_assert_ptr_nonnull(strstr(h, "\nDate: "));
	ck_assert_str_eq(b, "Hello.\n");
	free(h);
	free(b);
	qfile_env_free(&env);
	close(fd);
}
END_TEST

START_TEST(test_offset_and_length_inside_file)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	struct qfile_env env;
	const char *file = "JUNKSubject: x\n\nbody\nTRAILER";
	char   *b;
	int     fd;

	setup("");
	req.offset = 4;
	req.length = strlen(file) - 4 - 7;
	submit(&req, file, strlen(file), &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_OK);
	fd = load(res.queue_id, &env);
	b = section(fd, env.body_off, env.body_len);
	ck_assert_str_eq(b, "body\n");
	free(b);
	qfile_env_free(&env);
	close(fd);

	/* Beyond the end of the file: refused, nothing written. */
	req.offset = 4;
	req.length = strlen(file);
	submit(&req, file, strlen(file), &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);
	ck_assert_str_eq(res.reason, "4.3.0 Error: bad content descriptor");
	req.offset = UINT64_MAX;
	req.length = 2;
	submit(&req, file, strlen(file), &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);
	{
		char    names[256];

		incoming(names, sizeof(names));
		ck_assert_uint_eq(strlen(names), QID_LEN);
	}
}
END_TEST

START_TEST(test_virtual_expansion_dedup_orig)
{
	struct cleanup_rcpt rc[] = {
		{.addr = "team@example.org", .notify = "SUCCESS,FAILURE"},
		{.addr = "a@x.org"},
		{.addr = "A@x.org"},
		{.addr = "self@example.org"},
	};
	struct cleanup_req req = smtp(rc, 4);
	struct cleanup_result res;
	struct qfile_env env;
	const char *msg = "Subject: s\n\nb\n";
	int     fd;

	setup("virtual_alias_maps = inline:{ {team@example.org = a@x.org, lead@example.org},"
	      " {lead@example.org = boss@y.org}, {self@example.org = self@example.org, copy@y.org} }\n");
	submit(&req, msg, strlen(msg), &res);
	ck_assert_msg(res.status == CLEANUP_STAT_OK, "%s", res.reason);
	fd = load(res.queue_id, &env);
	ck_assert_uint_eq(env.nrcpts, 4);
	ck_assert_str_eq(env.rcpts[0].address, "a@x.org");
	ck_assert_str_eq(env.rcpts[0].orig, "team@example.org");
	ck_assert_str_eq(env.rcpts[0].notify, "SUCCESS,FAILURE");
	ck_assert_str_eq(env.rcpts[1].address, "boss@y.org");
	ck_assert_str_eq(env.rcpts[1].orig, "team@example.org");
	/* self maps to itself and more: both, without a loop. */
	ck_assert_str_eq(env.rcpts[2].address, "self@example.org");
	ck_assert_ptr_null(env.rcpts[2].orig);
	ck_assert_str_eq(env.rcpts[3].address, "copy@y.org");
	qfile_env_free(&env);
	close(fd);
}
END_TEST

START_TEST(test_virtual_loop_and_limit_are_temporary)
{
	struct cleanup_rcpt rc[] = {{.addr = "loop1@example.org"}};
	struct cleanup_rcpt rc2[] = {{.addr = "big@example.org"}};
	struct cleanup_req req = smtp(rc, 1);
	struct cleanup_result res;
	const char *msg = "Subject: s\n\nb\n";

	setup("expansion_limit = 3\n"
	      "virtual_alias_maps = inline:{ loop1@example.org=loop2@example.org,"
	      " loop2@example.org=loop1@example.org,"
	      " {big@example.org = a@x, b@x, c@x, d@x} }\n");
	submit(&req, msg, strlen(msg), &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);
	ck_assert_msg(strncmp(res.reason, "4.6.0 ", 6) == 0, "%s", res.reason);
	req = smtp(rc2, 1);
	submit(&req, msg, strlen(msg), &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);
	ck_assert_msg(strstr(res.reason, "more than 3") != NULL, "%s", res.reason);
	assert_empty();
}
END_TEST

START_TEST(test_table_failure_is_temporary)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	const char *msg = "Subject: s\n\nb\n";

	setup("virtual_alias_maps = hash:/nonexistent/virtual\n");
	submit(&req, msg, strlen(msg), &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);
	ck_assert_str_eq(res.reason, "4.3.0 Temporary lookup failure (virtual_alias_maps)");
	assert_empty();
}
END_TEST

START_TEST(test_canonical_and_origin)
{
	struct cleanup_rcpt rc[] = {{.addr = "old@example.org"}, {.addr = "bare"}};
	struct cleanup_req req = {.uid = 1000, .flags = CLEANUP_F_LOCAL,
	.sender = "joe", .fullname = "Joe User", .rcpts = rc, .nrcpts = 2};
	struct cleanup_result res;
	struct qfile_env env;
	const char *msg = "Subject: s\n\nb\n";
	char   *h;
	int     fd;

	setup("sender_canonical_maps = inline:{ joe@example.com=joseph@example.com }\n"
	      "canonical_maps = inline:{ old@example.org=new@example.org,"
	      " joseph@example.com=j.user@example.com }\n");
	submit(&req, msg, strlen(msg), &res);
	ck_assert_msg(res.status == CLEANUP_STAT_OK, "%s", res.reason);
	fd = load(res.queue_id, &env);
	/* bare name + @myorigin, then sender_canonical, then canonical. */
	ck_assert_str_eq(env.sender, "j.user@example.com");
	ck_assert_str_eq(env.rcpts[0].address, "new@example.org");
	ck_assert_str_eq(env.rcpts[0].orig, "old@example.org");
	ck_assert_str_eq(env.rcpts[1].address, "bare@example.com");
	ck_assert_str_eq(env.rcpts[1].orig, "bare");
	ck_assert_str_eq(qfile_env_attr(&env, "uid"), "1000");
	h = section(fd, env.hdr_off, env.hdr_len);
	ck_assert_msg(strncmp(h, "Received: by mx.example.com (postern, from userid 1000)\n",
			      56) == 0, "%s", h);
	ck_assert_ptr_nonnull(strstr(h, "\nFrom: Joe User <j.user@example.com>\n"));
	free(h);
	qfile_env_free(&env);
	close(fd);
}
END_TEST

START_TEST(test_extract_recipients)
{
	struct cleanup_rcpt rc[] = {{.addr = "cmdline@example.org"}};
	struct cleanup_req req = {.uid = 1000, .flags = CLEANUP_F_LOCAL | CLEANUP_F_EXTRACT,
	.sender = "joe@example.com", .rcpts = rc, .nrcpts = 1};
	struct cleanup_result res;
	struct qfile_env env;
	const char *msg = "To: a@x.org, bare\nCc: cmdline@example.org\nBcc: hidden@x.org\n"
	"Subject: s\n\nb\n";
	char   *h;
	int     fd;

	setup("");
	submit(&req, msg, strlen(msg), &res);
	ck_assert_msg(res.status == CLEANUP_STAT_OK, "%s", res.reason);
	fd = load(res.queue_id, &env);
	ck_assert_uint_eq(env.nrcpts, 4);
	ck_assert_str_eq(env.rcpts[0].address, "cmdline@example.org");
	ck_assert_str_eq(env.rcpts[1].address, "a@x.org");
	ck_assert_str_eq(env.rcpts[2].address, "bare@example.com");
	ck_assert_str_eq(env.rcpts[3].address, "hidden@x.org");
	h = section(fd, env.hdr_off, env.hdr_len);
	ck_assert_ptr_null(strstr(h, "Bcc"));
	ck_assert_ptr_null(strstr(h, "hidden"));
	ck_assert_ptr_null(strstr(h, "\tfor <"));	/* -t: no single "for" */
	free(h);
	qfile_env_free(&env);
	close(fd);

	/* -t without any recipient at all. */
	req.nrcpts = 0;
	req.length = 0;
	submit(&req, "Subject: none\n\nb\n", 17, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_str_eq(res.reason, "5.1.0 No recipients specified");
}
END_TEST

START_TEST(test_permanent_rejections)
{
	struct cleanup_rcpt bad[] = {{.addr = "two words@example.org"}};
	struct cleanup_rcpt ok[] = {{.addr = "bob@example.org"}};
	struct cleanup_req req = smtp(bad, 1);
	struct cleanup_result res;
	struct buf msg;

	setup("message_size_limit = 1000\nhopcount_limit = 3\n");
	buf_init(&msg, 1 << 20);
	buf_puts(&msg, "Subject: s\n\nb\n");
	submit(&req, msg.data, msg.len, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_msg(strncmp(res.reason, "5.1.3 ", 6) == 0, "%s", res.reason);

	req = smtp(ok, 1);
	req.sender = "<not an address>";
	submit(&req, msg.data, msg.len, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_msg(strncmp(res.reason, "5.1.7 ", 6) == 0, "%s", res.reason);

	/* message_size_limit: 1000 passes, 1001 does not. */
	req = smtp(ok, 1);
	buf_reset(&msg);
	buf_puts(&msg, "Subject: s\n\n");
	while (msg.len < 1000)
		buf_putc(&msg, msg.len % 50 == 49 ? '\n' : 'x');
	submit(&req, msg.data, msg.len, &res);
	ck_assert_msg(res.status == CLEANUP_STAT_OK, "%s", res.reason);
	buf_putc(&msg, 'y');
	req.length = 0;
	submit(&req, msg.data, msg.len, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_str_eq(res.reason, "5.3.4 Message size exceeds fixed limit");

	/* hopcount_limit 3: two Received: plus ours pass, three do not. */
	buf_reset(&msg);
	buf_puts(&msg, "Received: a\nReceived: b\n\nbody\n");
	req.length = 0;
	submit(&req, msg.data, msg.len, &res);
	ck_assert_msg(res.status == CLEANUP_STAT_OK, "%s", res.reason);
	buf_reset(&msg);
	buf_puts(&msg, "Received: a\nReceived: b\nReceived: c\n\nbody\n");
	req.length = 0;
	submit(&req, msg.data, msg.len, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_msg(strncmp(res.reason, "5.4.6 ", 6) == 0, "%s", res.reason);
	buf_free(&msg);
}
END_TEST

START_TEST(test_recipient_limit)
{
	struct cleanup_rcpt rc[] = {{.addr = "a@x.org"}, {.addr = "b@x.org"},
	{.addr = "a@X.ORG"}, {.addr = "c@x.org"}};
	struct cleanup_req req = smtp(rc, 3);
	struct cleanup_result res;

	setup("cleanup_recipient_limit = 2\n");
	/* A duplicate does not count. */
	submit(&req, "S: s\n\nb\n", 8, &res);
	ck_assert_msg(res.status == CLEANUP_STAT_OK, "%s", res.reason);
	req = smtp(rc, 4);
	submit(&req, "S: s\n\nb\n", 8, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_msg(strncmp(res.reason, "5.5.3 ", 6) == 0, "%s", res.reason);
}
END_TEST

START_TEST(test_large_body_with_and_without_cr)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	struct qfile_env env;
	struct buf msg, want;
	char   *b;
	int     fd;

	setup("message_size_limit = 0\n");
	buf_init(&msg, 4 << 20);
	buf_init(&want, 4 << 20);
	buf_puts(&msg, "Subject: big\n\n");
	for (int i = 0; i < 30000; i++) {
		buf_appendf(&msg, "line %06d of the body, long enough to fill\n", i);
		buf_appendf(&want, "line %06d of the body, long enough to fill\n", i);
	}
	/* Without CR: moved with copy_file_range, byte for byte. */
	submit(&req, msg.data, msg.len, &res);
	ck_assert_msg(res.status == CLEANUP_STAT_OK, "%s", res.reason);
	fd = load(res.queue_id, &env);
	ck_assert_uint_eq(env.body_len, want.len);
	b = section(fd, env.body_off, env.body_len);
	ck_assert(memcmp(b, want.data, want.len) == 0);
	free(b);
	qfile_env_free(&env);
	close(fd);

	/* CR LF lines and a stray CR at a chunk edge: LF only, CR -> space. */
	buf_reset(&msg);
	buf_reset(&want);
	buf_puts(&msg, "Subject: big\r\n\r\n");
	for (int i = 0; i < 30000; i++) {
		buf_appendf(&msg, "line %06d\rsmuggled\r\n", i);
		buf_appendf(&want, "line %06d smuggled\n", i);
	}
	buf_puts(&msg, "end\r");
	buf_puts(&want, "end ");
	req.length = 0;
	submit(&req, msg.data, msg.len, &res);
	ck_assert_msg(res.status == CLEANUP_STAT_OK, "%s", res.reason);
	fd = load(res.queue_id, &env);
	b = section(fd, env.body_off, env.body_len);
	ck_assert_uint_eq(env.body_len, want.len);
	ck_assert_ptr_null(memchr(b, '\r', env.body_len));
	ck_assert(memcmp(b, want.data, want.len) == 0);
	free(b);
	qfile_env_free(&env);
	close(fd);

	/* A small body with CRs, converted in memory. */
	req.length = 0;
	submit(&req, "Subject: s\r\n\r\na\rb\r\n", 19, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_OK);
	fd = load(res.queue_id, &env);
	b = section(fd, env.body_off, env.body_len);
	ck_assert_str_eq(b, "a b\n");
	free(b);
	qfile_env_free(&env);
	close(fd);
	buf_free(&msg);
	buf_free(&want);
}
END_TEST

START_TEST(test_truncated_content_and_no_space)
{
	struct cleanup_req req = smtp(rc1, 1);
	struct cleanup_result res;
	struct buf msg;
	int     fd;

	setup("message_size_limit = 0\n");
	buf_init(&msg, 4 << 20);
	buf_puts(&msg, "Subject: big\n\n");
	while (msg.len < 300000)
		buf_puts(&msg, "0123456789012345678901234567890123456789\n");
	/* The client says 300000 bytes, then cuts its file short. */
	fd = memfile(msg.data, msg.len);
	req.length = msg.len;
	ck_assert_int_eq(ftruncate(fd, 100000), 0);
	cleanup_message(&req, fd, &res, NULL);	/* fstat sees the short file */
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);
	close(fd);
	assert_empty();

	/* queue_minfree larger than any disk: 4.3.1, nothing written. */
	teardown();
	setup("queue_minfree = 1099511627776\n");
	req.length = 0;
	submit(&req, msg.data, 100, &res);
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);
	ck_assert_str_eq(res.reason, "4.3.1 Insufficient system storage");
	assert_empty();
	buf_free(&msg);
}
END_TEST

START_TEST(test_sweep_removes_dead_temp_files)
{
	int     fd;

	setup("");
	/* pid 1 is alive (not ours); a huge pid is not. */
	fd = open("incoming/.tmp-1-1", O_CREAT | O_WRONLY, 0600);
	close(fd);
	fd = open("incoming/.tmp-2147483600-7", O_CREAT | O_WRONLY, 0600);
	close(fd);
	fd = open("incoming/.tmp-junk", O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(cleanup_queue_sweep(), 1);
	ck_assert_int_eq(access("incoming/.tmp-1-1", F_OK), 0);
	ck_assert_int_ne(access("incoming/.tmp-2147483600-7", F_OK), 0);
	ck_assert_int_eq(access("incoming/.tmp-junk", F_OK), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("cleanup_msg");
	TCase  *tc = tcase_create("core");

	log_init("cleanup_msg_test", LOG_DEST_STDERR);
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_smtp_message_queued);
	tcase_add_test(tc, test_offset_and_length_inside_file);
	tcase_add_test(tc, test_virtual_expansion_dedup_orig);
	tcase_add_test(tc, test_virtual_loop_and_limit_are_temporary);
	tcase_add_test(tc, test_table_failure_is_temporary);
	tcase_add_test(tc, test_canonical_and_origin);
	tcase_add_test(tc, test_extract_recipients);
	tcase_add_test(tc, test_permanent_rejections);
	tcase_add_test(tc, test_recipient_limit);
	tcase_add_test(tc, test_large_body_with_and_without_cr);
	tcase_add_test(tc, test_truncated_content_and_no_space);
	tcase_add_test(tc, test_sweep_removes_dead_temp_files);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
