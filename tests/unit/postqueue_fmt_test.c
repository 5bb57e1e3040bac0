/* postqueue_fmt_test - mailq's text layout, postqueue -j's JSON, and the showq messages. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"

#include "../../cmd/postqueue.h"
#include "buf.h"
#include "ipc.h"
#include "showq_clnt.h"

static struct buf out;

static void
setup(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	buf_init(&out, 1024 * 1024);
}

static void
teardown(void)
{
	buf_free(&out);
}

START_TEST(test_text_layout)
{
	struct showq_rcpt r[] = {
		{"a@example.org", ""},
		{"b@remote.example", "connect to remote.example: Connection refused"},
		{"c@example.org", ""},
		{"d@remote.example", "connect to remote.example: Connection refused"},
		{"e@other.example", "4.4.1 host not found"},
	};
	struct showq_msg m = {
		.queue_id = "0PZ1K8Q3F7M2W9X", .queue = "deferred",
		.arrival = 1700000000, .size = 1234, .sender = "s@example.org",
		.rcpts = r, .nrcpts = 5,
	};
	struct showq_summary sum = {.messages = 2, .bytes = 1234 + 9000};
	const char *want =
	"-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
	"0PZ1K8Q3F7M2W9X     1234 Tue Nov 14 22:13:20  s@example.org\n"
	"                                         a@example.org\n"
	"                                         c@example.org\n"
	"(connect to remote.example: Connection refused)\n"
	"                                         b@remote.example\n"
	"                                         d@remote.example\n"
	"(4.4.1 host not found)\n"
	"                                         e@other.example\n"
	"\n"
	"ABCDEFGHJK!    9000 Tue Nov 14 22:13:21  MAILER-DAEMON\n"
	"                                         x@y.org\n"
	"\n"
	"-- 10 Kbytes in 2 Requests.\n";
	struct showq_rcpt r2[] = {{"x@y.org", ""}};
	struct showq_msg m2 = {
		.queue_id = "ABCDEFGHJK", .queue = "hold", .arrival = 1700000001,
		.size = 9000, .sender = "", .rcpts = r2, .nrcpts = 1,
	};

	ck_assert_int_eq(postqueue_text_msg(&out, &m, true), 0);
	ck_assert_int_eq(postqueue_text_msg(&out, &m2, false), 0);
	ck_assert_int_eq(postqueue_text_end(&out, &sum), 0);
	ck_assert_str_eq(buf_str(&out), want);
}
END_TEST

START_TEST(test_text_short_id_columns)
{
	/* A Postfix-length ID: the columns of Postfix's mailq, exactly. */
	struct showq_msg m = {
		.queue_id = "8E8E1C0F3B", .queue = "active", .arrival = 1700000000,
		.size = 2573, .sender = "MAILER-DAEMON",
	};

	ck_assert_int_eq(postqueue_text_msg(&out, &m, false), 0);
	ck_assert_str_eq(buf_str(&out),
			 "8E8E1C0F3B*    2573 Tue Nov 14 22:13:20  MAILER-DAEMON\n\n");
}
END_TEST

START_TEST(test_text_end)
{
	struct showq_summary sum = {0};

	ck_assert_int_eq(postqueue_text_end(&out, &sum), 0);
	ck_assert_str_eq(buf_str(&out), "Mail queue is empty\n");
	buf_reset(&out);
	sum.messages = 1;
	sum.bytes = 1;
	ck_assert_int_eq(postqueue_text_end(&out, &sum), 0);
	ck_assert_str_eq(buf_str(&out), "-- 1 Kbytes in 1 Request.\n");
	buf_reset(&out);
	sum.bytes = 2048;
	sum.omitted = 5;
	ck_assert_int_eq(postqueue_text_end(&out, &sum), 0);
	ck_assert_str_eq(buf_str(&out), "-- 5 more messages not listed (showq_limit)\n"
			 "-- 2 Kbytes in 1 Request.\n");
}
END_TEST

START_TEST(test_text_more_and_full)
{
	struct showq_msg m = {
		.queue_id = "X", .queue = "incoming", .arrival = 0, .size = 1,
		.sender = "s", .more = 7,
	};
	struct buf small;

	ck_assert_int_eq(postqueue_text_msg(&out, &m, false), 0);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "(7 more recipients not shown)"));
	/* No room: nothing is appended. */
	buf_init(&small, 40);
	ck_assert_int_eq(buf_puts(&small, "keep"), 0);
	ck_assert_int_eq(postqueue_text_msg(&small, &m, true), -1);
	ck_assert_str_eq(buf_str(&small), "keep");
	ck_assert_int_eq(postqueue_json_msg(&small, &m), -1);
	ck_assert_str_eq(buf_str(&small), "keep");
	buf_free(&small);
}
END_TEST

START_TEST(test_json)
{
	struct showq_rcpt r[] = {{"a@x.org", ""}, {"b@y.org", "4.4.1 no \"route\""}};
	struct showq_msg m = {
		.queue_id = "0PZ1K8Q3F7M2W9X", .queue = "deferred", .arrival = 1700000000,
		.size = 42, .sender = "", .rcpts = r, .nrcpts = 2,
	};

	ck_assert_int_eq(postqueue_json_msg(&out, &m), 0);
	ck_assert_str_eq(buf_str(&out),
			 "{\"queue_name\": \"deferred\", \"queue_id\": \"0PZ1K8Q3F7M2W9X\", "
			 "\"arrival_time\": 1700000000, \"message_size\": 42, "
			 "\"forced_expire\": false, \"sender\": \"\", \"recipients\": "
			 "[{\"address\": \"a@x.org\"}, {\"address\": \"b@y.org\", "
			 "\"delay_reason\": \"4.4.1 no \\\"route\\\"\"}]}\n");
}
END_TEST

START_TEST(test_json_strings)
{
	ck_assert_int_eq(postqueue_json_string(&out, "a\\b\"c\n\t\x01\x7f"), 0);
	ck_assert_str_eq(buf_str(&out), "\"a\\\\b\\\"c\\n\\t\\u0001\\u007f\"");
	buf_reset(&out);
	/* Well-formed UTF-8 is kept; a stray byte or an overlong form is not. */
	ck_assert_int_eq(postqueue_json_string(&out, "J\xc3\xb6rg \xff \xc0\xaf"), 0);
	ck_assert_str_eq(buf_str(&out), "\"J\xc3\xb6rg \\ufffd \\ufffd\\ufffd\"");
	buf_reset(&out);
	ck_assert_int_eq(postqueue_json_string(&out, ""), 0);
	ck_assert_str_eq(buf_str(&out), "\"\"");
}
END_TEST

START_TEST(test_showq_messages)
{
	struct showq_rcpt r[] = {{"a@x.org", ""}, {"b@y.org", "why"}};
	struct showq_msg m = {
		.queue_id = "0PZ1K8Q3F7M2W9X", .queue = "active", .arrival = 5,
		.size = 6, .sender = "s@x.org", .rcpts = r, .nrcpts = 2,
	};
	struct showq_msg back;
	struct showq_rcpt *store = NULL;
	size_t  cap = 0;
	struct ipc_msg msg;
	struct ipc_in in;
	int     sv[2];

	ck_assert_int_eq(ipc_socketpair(sv), 0);
	ck_assert_int_eq(showq_msg_put(&msg, &m), 0);
	ck_assert_int_eq(ipc_send(sv[0], &msg, -1, 1000), 0);
	ipc_msg_free(&msg);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_recv(sv[1], &in, NULL, 1000), 0);
	ck_assert_int_eq(showq_msg_parse(&in, &back, &store, &cap), 0);
	ck_assert_str_eq(back.queue_id, "0PZ1K8Q3F7M2W9X");
	ck_assert_str_eq(back.queue, "active");
	ck_assert_uint_eq(back.arrival, 5);
	ck_assert_uint_eq(back.size, 6);
	ck_assert_str_eq(back.sender, "s@x.org");
	ck_assert_uint_eq(back.nrcpts, 2);
	ck_assert_str_eq(back.rcpts[1].addr, "b@y.org");
	ck_assert_str_eq(back.rcpts[1].reason, "why");
	ck_assert_uint_eq(back.more, 0);

	/* An empty queue ID is refused. */
	m.queue_id = "";
	ck_assert_int_eq(showq_msg_put(&msg, &m), 0);
	ck_assert_int_eq(ipc_send(sv[0], &msg, -1, 1000), 0);
	ipc_msg_free(&msg);
	ck_assert_int_eq(ipc_recv(sv[1], &in, NULL, 1000), 0);
	ck_assert_int_eq(showq_msg_parse(&in, &back, &store, &cap), -1);
	/* The end message is not a message. */
	ck_assert_int_eq(showq_end_put(&msg, 3), 0);
	ck_assert_int_eq(ipc_send(sv[0], &msg, -1, 1000), 0);
	ipc_msg_free(&msg);
	ck_assert_int_eq(ipc_recv(sv[1], &in, NULL, 1000), 0);
	ck_assert_int_eq(showq_msg_parse(&in, &back, &store, &cap), -1);
	free(store);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_showq_message_bound)
{
	/* Recipients beyond SHOWQ_MSG_MAX are counted, never sent. */
	static char addr[1001];
	size_t  n = 2000;
	struct showq_rcpt *r = calloc(n, sizeof(*r));
	struct showq_msg m = {
		.queue_id = "0PZ1K8Q3F7M2W9X", .queue = "deferred", .sender = "s",
		.rcpts = r, .nrcpts = n, .more = 5,
	};
	struct ipc_msg msg;
	struct ipc_in in;
	struct showq_msg back;
	struct showq_rcpt *store = NULL;
	size_t  cap = 0;
	int     sv[2], status;
	pid_t	pid;

	memset(addr, 'a', 1000);
	for (size_t i = 0; i < n; i++) {
		r[i].addr = addr;
		r[i].reason = "";
	}
	ck_assert_int_eq(showq_msg_put(&msg, &m), 0);
	ck_assert_uint_le(msg.b.len, IPC_MSG_MAX);
	ck_assert_int_eq(ipc_socketpair(sv), 0);
	/* Bigger than a socket buffer: a child writes while we read. */
	if ((pid = fork()) == 0)
		_exit(ipc_send(sv[0], &msg, -1, 5000) == 0 ? 0 : 1);
	ck_assert_int_gt(pid, 0);
	ipc_msg_free(&msg);
	ipc_in_init(&in);
	ck_assert_int_eq(ipc_recv(sv[1], &in, NULL, 5000), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(showq_msg_parse(&in, &back, &store, &cap), 0);
	ck_assert_uint_lt(back.nrcpts, n);
	ck_assert_uint_gt(back.nrcpts, 900);
	ck_assert_uint_eq(back.nrcpts + back.more, n + 5);
	free(store);
	free(r);
	ipc_in_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("postqueue_fmt");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_text_layout);
	tcase_add_test(tc, test_text_short_id_columns);
	tcase_add_test(tc, test_text_end);
	tcase_add_test(tc, test_text_more_and_full);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_json_strings);
	tcase_add_test(tc, test_showq_messages);
	tcase_add_test(tc, test_showq_message_bound);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
