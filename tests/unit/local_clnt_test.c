/*
 * local_clnt_test - check suite for lib/local_clnt: the private/local
 * request and reply, built, sent over a socket pair with a descriptor,
 * and parsed strictly.
 */
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "ipc.h"
#include "local_clnt.h"

static struct local_request
sample(void)
{
	struct local_request rq = {
		.queue_id = "0PZ1K8Q3F7M2W9X", .sender = "a@b.org",
		.rcpt = "bob@example.com", .orcpt = "rfc822;bob@example.com",
		.index = 3, .arrival = 1700000000, .hdr_off = 100, .hdr_len = 200,
		.body_off = 305, .body_len = 4000,
	};

	return rq;
}

/* roundtrip - send m with fd over a socket pair, receive into in */
static int
roundtrip(struct ipc_msg *m, int pass_fd, struct ipc_in *in, int *got_fd)
{
	int     sv[2], r;

	ck_assert_int_eq(ipc_socketpair(sv), 0);
	ck_assert_int_eq(ipc_send(sv[0], m, pass_fd, 1000), 0);
	r = ipc_recv(sv[1], in, got_fd, 1000);
	close(sv[0]);
	close(sv[1]);
	return r;
}

START_TEST(test_request_roundtrip)
{
	struct local_request rq = sample(), out;
	struct ipc_msg m;
	struct ipc_in in;
	char    why[256];
	int     fd = -1, devnull = open("/dev/null", O_RDONLY);

	ck_assert_int_eq(local_request_build(&m, &rq), 0);
	ipc_in_init(&in);
	ck_assert_int_eq(roundtrip(&m, devnull, &in, &fd), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(local_request_parse(&in, &out, why, sizeof(why)), 0);
	ck_assert_str_eq(out.queue_id, rq.queue_id);
	ck_assert_str_eq(out.sender, "a@b.org");
	ck_assert_str_eq(out.rcpt, "bob@example.com");
	ck_assert_str_eq(out.orcpt, "rfc822;bob@example.com");
	ck_assert_uint_eq(out.index, 3);
	ck_assert_uint_eq(out.body_len, 4000);
	close(fd);
	close(devnull);
	ipc_msg_free(&m);
	ipc_in_free(&in);
}
END_TEST

START_TEST(test_request_refused)
{
	struct local_request rq, out;
	struct ipc_msg m;
	struct ipc_in in;
	char    why[256], longaddr[LOCAL_ADDR_MAX + 2];

	/* Built with a control character: local refuses it. */
	rq = sample();
	rq.rcpt = "bob@example.com\nX-Injected: 1";
	ck_assert_int_eq(local_request_build(&m, &rq), 0);
	ipc_in_init(&in);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_request_parse(&in, &out, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "control character"));
	ipc_msg_free(&m);

	/* A bad queue ID. */
	rq = sample();
	rq.queue_id = "../../etc/passwd";
	ck_assert_int_eq(local_request_build(&m, &rq), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_request_parse(&in, &out, why, sizeof(why)), -1);
	ipc_msg_free(&m);

	/* An empty recipient. */
	rq = sample();
	rq.rcpt = "";
	ck_assert_int_eq(local_request_build(&m, &rq), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_request_parse(&in, &out, why, sizeof(why)), -1);
	ipc_msg_free(&m);

	/* Address bound: exactly LOCAL_ADDR_MAX is fine, one more is not. */
	memset(longaddr, 'a', sizeof(longaddr));
	longaddr[LOCAL_ADDR_MAX] = '\0';
	rq = sample();
	rq.rcpt = longaddr;
	ck_assert_int_eq(local_request_build(&m, &rq), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_request_parse(&in, &out, why, sizeof(why)), 0);
	ipc_msg_free(&m);
	longaddr[LOCAL_ADDR_MAX] = 'a';
	longaddr[LOCAL_ADDR_MAX + 1] = '\0';
	ck_assert_int_eq(local_request_build(&m, &rq), -1);

	/* Offsets that would overflow off_t. */
	rq = sample();
	rq.body_off = UINT64_MAX;
	ck_assert_int_eq(local_request_build(&m, &rq), -1);

	/* A reply is not a request. */
	ck_assert_int_eq(local_reply_build(&m, 0, "2.0.0", "ok"), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_request_parse(&in, &out, why, sizeof(why)), -1);
	ipc_msg_free(&m);
	ipc_in_free(&in);
}
END_TEST

START_TEST(test_reply)
{
	struct local_reply rep;
	struct ipc_msg m;
	struct ipc_in in;
	char    why[256], big[LOCAL_REASON_MAX + 2];

	ipc_in_init(&in);
	ck_assert_int_eq(local_reply_build(&m, LOCAL_STAT_DEFER, "4.2.0", "mailbox locked"), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_reply_parse(&in, &rep, why, sizeof(why)), 0);
	ck_assert_int_eq(rep.status, LOCAL_STAT_DEFER);
	ck_assert_str_eq(rep.dsn, "4.2.0");
	ck_assert_str_eq(rep.reason, "mailbox locked");
	ipc_msg_free(&m);

	/* Status and code class must agree. */
	ipc_msg_init(&m, LOCAL_REP);
	(void) ipc_put_num(&m, "status", 0);
	(void) ipc_put_str(&m, "dsn", "5.1.1");
	(void) ipc_put_str(&m, "reason", "x");
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_reply_parse(&in, &rep, why, sizeof(why)), -1);
	ipc_msg_free(&m);

	/* An unknown status. */
	ipc_msg_init(&m, LOCAL_REP);
	(void) ipc_put_num(&m, "status", 3);
	(void) ipc_put_str(&m, "dsn", "4.0.0");
	(void) ipc_put_str(&m, "reason", "x");
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_reply_parse(&in, &rep, why, sizeof(why)), -1);
	ipc_msg_free(&m);

	/* A line end in the reason. */
	ipc_msg_init(&m, LOCAL_REP);
	(void) ipc_put_num(&m, "status", 5);
	(void) ipc_put_str(&m, "dsn", "5.1.1");
	(void) ipc_put_str(&m, "reason", "unknown\r\nFrom: evil");
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_reply_parse(&in, &rep, why, sizeof(why)), -1);
	ipc_msg_free(&m);

	/* Trailing junk. */
	ipc_msg_init(&m, LOCAL_REP);
	(void) ipc_put_num(&m, "status", 0);
	(void) ipc_put_str(&m, "dsn", "2.0.0");
	(void) ipc_put_str(&m, "reason", "x");
	(void) ipc_put_str(&m, "extra", "y");
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(local_reply_parse(&in, &rep, why, sizeof(why)), -1);
	ipc_msg_free(&m);

	/* Reason bound and a bad code are refused when building. */
	memset(big, 'x', sizeof(big));
	big[LOCAL_REASON_MAX] = '\0';
	ck_assert_int_eq(local_reply_build(&m, 5, "5.0.0", big), 0);
	ipc_msg_free(&m);
	big[LOCAL_REASON_MAX] = 'x';
	big[LOCAL_REASON_MAX + 1] = '\0';
	ck_assert_int_eq(local_reply_build(&m, 5, "5.0.0", big), -1);
	ck_assert_int_eq(local_reply_build(&m, 5, "5.00.0", "x"), -1);
	ipc_in_free(&in);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("local_clnt");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_request_roundtrip);
	tcase_add_test(tc, test_request_refused);
	tcase_add_test(tc, test_reply);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
