/*
 * delivery_test - check suite for lib/svc/delivery: the greeting, the
 * request with N recipients and the reply with one result each, built,
 * sent over a socket pair with a descriptor, and parsed strictly; and
 * lib/svc/delivery_log's delay format.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"

#include "delivery.h"
#include "delivery_log.h"
#include "ipc.h"

static struct delivery_rcpt sample_rcpts[3] = {
	{.address = "bob@example.com", .orcpt = "rfc822;Bob@example.com",
	 .notify = "SUCCESS,FAILURE", .index = 0},
	{.address = "carol@example.com", .orcpt = "", .notify = "", .index = 2},
	{.address = "dave@example.com", .orcpt = "", .notify = "NEVER", .index = 7},
};

static struct delivery_request
sample(void)
{
	struct delivery_request rq = {
		.queue_id = "0PZ1K8Q3F7M2W9X", .transport = "smtp",
		.nexthop = "[192.0.2.1]:25", .sender = "a@b.org",
		.smtputf8 = true, .body_type = "8BITMIME", .envid = "ID123",
		.ret = "HDRS", .arrival = 1700000000, .delay_queue_ms = 120,
		.delay_active_ms = 30, .hdr_off = 100, .hdr_len = 200,
		.body_off = 305, .body_len = 4000, .rcpts = sample_rcpts,
		.nrcpts = 3,
	};

	return rq;
}

/*
 * roundtrip - send m with fd over a socket pair, receive into in.  A
 * child sends, so that a message larger than the socket buffer goes
 * through too.
 */
static int
roundtrip(struct ipc_msg *m, int pass_fd, struct ipc_in *in, int *got_fd)
{
	int     sv[2], r, status;
	pid_t   pid;

	ck_assert_int_eq(ipc_socketpair(sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[1]);
		_exit(ipc_send(sv[0], m, pass_fd, 5000) == 0 ? 0 : 1);
	}
	close(sv[0]);
	r = ipc_recv(sv[1], in, got_fd, 5000);
	close(sv[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the send failed");
	return r;
}

/* parse_built - build rq, send it, parse it: the parser's verdict */
static int
parse_built(const struct delivery_request *rq, struct delivery_request *out,
	    struct ipc_in *in, char *why, size_t whylen)
{
	struct ipc_msg m;
	int     r;

	ck_assert_int_eq(delivery_request_build(&m, rq), 0);
	ck_assert_int_eq(roundtrip(&m, -1, in, NULL), 0);
	r = delivery_request_parse(in, out, why, whylen);
	ipc_msg_free(&m);
	return r;
}

START_TEST(test_hello)
{
	struct ipc_msg m;
	struct ipc_in in;
	const char *agent;
	char    why[256];

	ipc_in_init(&in);
	ck_assert_int_eq(delivery_hello_build(&m, "local"), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_hello_parse(&in, &agent, why, sizeof(why)), 0);
	ck_assert_str_eq(agent, "local");
	ipc_msg_free(&m);

	/* Pipelining: absent is 1; announced when more. */
	ck_assert_int_eq(delivery_hello_build(&m, "local"), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	{
		unsigned p = 0;

		ck_assert_int_eq(delivery_hello_parse_pipeline(&in, &agent, &p, why,
							       sizeof(why)), 0);
		ck_assert_uint_eq(p, 1);
		ipc_msg_free(&m);
		ck_assert_int_eq(delivery_hello_build_pipeline(&m, "local", 8), 0);
		ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
		ck_assert_int_eq(delivery_hello_parse_pipeline(&in, &agent, &p, why,
							       sizeof(why)), 0);
		ck_assert_uint_eq(p, 8);
		ck_assert_str_eq(agent, "local");
		ipc_msg_free(&m);
		/* A caller that sends one at a time reads the greeting too. */
		ck_assert_int_eq(delivery_hello_build_pipeline(&m, "local", 8), 0);
		ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
		ck_assert_int_eq(delivery_hello_parse(&in, &agent, why, sizeof(why)), 0);
		ipc_msg_free(&m);
		ck_assert_int_eq(delivery_hello_build_pipeline(&m, "local", 0), -1);
		ck_assert_int_eq(delivery_hello_build_pipeline(&m, "local",
							       DELIVERY_PIPELINE_MAX + 1), -1);
		/* Out of range from the wire. */
		ipc_msg_init(&m, DELIVERY_HELLO);
		(void) ipc_put_num(&m, "version", DELIVERY_VERSION);
		(void) ipc_put_str(&m, "agent", "local");
		(void) ipc_put_num(&m, "pipeline", DELIVERY_PIPELINE_MAX + 1);
		ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
		ck_assert_int_eq(delivery_hello_parse_pipeline(&in, &agent, &p, why,
							       sizeof(why)), -1);
		ck_assert_ptr_nonnull(strstr(why, "pipeline"));
		ck_assert_uint_eq(p, 1);
		ipc_msg_free(&m);
		ipc_msg_init(&m, DELIVERY_HELLO);
		(void) ipc_put_num(&m, "version", DELIVERY_VERSION);
		(void) ipc_put_str(&m, "agent", "local");
		(void) ipc_put_num(&m, "pipeline", 0);
		ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
		ck_assert_int_eq(delivery_hello_parse_pipeline(&in, &agent, &p, why,
							       sizeof(why)), -1);
		ipc_msg_free(&m);
	}

	/* Names the agent cannot have. */
	ck_assert_int_eq(delivery_hello_build(&m, "Local"), -1);
	ck_assert_int_eq(delivery_hello_build(&m, ""), -1);
	ck_assert_int_eq(delivery_hello_build(&m, "a/b"), -1);

	/* Another version: a daemon from another build. */
	ipc_msg_init(&m, DELIVERY_HELLO);
	(void) ipc_put_num(&m, "version", DELIVERY_VERSION + 1);
	(void) ipc_put_str(&m, "agent", "smtp");
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_hello_parse(&in, &agent, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "version"));
	ipc_msg_free(&m);

	/* Something that is not a delivery agent (cleanup's reply, say). */
	ipc_msg_init(&m, 0x0202);
	(void) ipc_put_num(&m, "status", 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_hello_parse(&in, &agent, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "not a delivery agent"));
	ipc_msg_free(&m);
	ipc_in_free(&in);
}
END_TEST

START_TEST(test_request_roundtrip)
{
	struct delivery_request rq = sample(), out;
	struct ipc_msg m;
	struct ipc_in in;
	char    why[256];
	int     fd = -1, devnull = open("/dev/null", O_RDONLY);

	ck_assert_int_eq(delivery_request_build(&m, &rq), 0);
	ipc_in_init(&in);
	ck_assert_int_eq(roundtrip(&m, devnull, &in, &fd), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(delivery_request_parse(&in, &out, why, sizeof(why)), 0);
	ck_assert_str_eq(out.queue_id, rq.queue_id);
	ck_assert_str_eq(out.transport, "smtp");
	ck_assert_str_eq(out.nexthop, "[192.0.2.1]:25");
	ck_assert_str_eq(out.sender, "a@b.org");
	ck_assert(out.smtputf8);
	ck_assert_str_eq(out.body_type, "8BITMIME");
	ck_assert_str_eq(out.envid, "ID123");
	ck_assert_str_eq(out.ret, "HDRS");
	ck_assert_uint_eq(out.arrival, 1700000000);
	ck_assert_uint_eq(out.delay_queue_ms, 120);
	ck_assert_uint_eq(out.delay_active_ms, 30);
	ck_assert_uint_eq(out.hdr_off, 100);
	ck_assert_uint_eq(out.hdr_len, 200);
	ck_assert_uint_eq(out.body_off, 305);
	ck_assert_uint_eq(out.body_len, 4000);
	ck_assert_uint_eq(out.nrcpts, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(out.rcpts[i].address, sample_rcpts[i].address);
		ck_assert_str_eq(out.rcpts[i].orcpt, sample_rcpts[i].orcpt);
		ck_assert_str_eq(out.rcpts[i].notify, sample_rcpts[i].notify);
		ck_assert_uint_eq(out.rcpts[i].index, sample_rcpts[i].index);
	}
	delivery_request_free(&out);
	ck_assert_ptr_null(out.rcpts);
	close(fd);
	close(devnull);
	ipc_msg_free(&m);
	ipc_in_free(&in);
}
END_TEST

START_TEST(test_request_bounds)
{
	static struct delivery_rcpt many[DELIVERY_RCPT_MAX + 1];
	static char longaddr[DELIVERY_ADDR_MAX + 2];
	static char longhop[DELIVERY_NEXTHOP_MAX + 2];
	struct delivery_request rq, out;
	struct delivery_rcpt one[1], two[2];
	struct ipc_msg m;
	struct ipc_in in;
	char    why[256];

	ipc_in_init(&in);

	/* Every recipient at its longest, DELIVERY_RCPT_MAX of them: fits. */
	memset(longaddr, 'a', sizeof(longaddr));
	longaddr[DELIVERY_ADDR_MAX] = '\0';
	memset(longhop, 'h', sizeof(longhop));
	longhop[DELIVERY_NEXTHOP_MAX] = '\0';
	for (size_t i = 0; i < DELIVERY_RCPT_MAX + 1; i++) {
		many[i].address = longaddr;
		many[i].orcpt = longaddr;
		many[i].notify = "SUCCESS,DELAY,FAILURE";
		many[i].index = i;
	}
	rq = sample();
	rq.sender = longaddr;
	rq.nexthop = longhop;
	rq.rcpts = many;
	rq.nrcpts = DELIVERY_RCPT_MAX;
	ck_assert_int_eq(parse_built(&rq, &out, &in, why, sizeof(why)), 0);
	ck_assert_uint_eq(out.nrcpts, DELIVERY_RCPT_MAX);
	delivery_request_free(&out);

	/* Its reply with every text and relay at the bound fits too. */
	{
		static char text[DELIVERY_TEXT_MAX + 1], relay[DELIVERY_RELAY_MAX + 1];
		struct delivery_reply rep;

		memset(text, 't', DELIVERY_TEXT_MAX);
		memset(relay, 'r', DELIVERY_RELAY_MAX);
		delivery_reply_init(&m, &rq);
		for (size_t i = 0; i < rq.nrcpts; i++)
			ck_assert_int_eq(delivery_reply_add(&m, &rq, i, DELIVERY_DEFER,
							    "4.999.999", text, relay), 0);
		ck_assert_int_eq(delivery_reply_end(&m, &rq, "4.999.999", text), 0);
		ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
		ck_assert_int_eq(delivery_reply_parse(&in, &rq, &rep, why, sizeof(why)), 0);
		ck_assert_uint_eq(rep.nresults, DELIVERY_RCPT_MAX);
		delivery_reply_free(&rep);
		ipc_msg_free(&m);
	}

	/* One recipient too many, one byte too many: refused when built. */
	rq.nrcpts = DELIVERY_RCPT_MAX + 1;
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	ck_assert_int_eq(errno, EINVAL);
	rq.nrcpts = 0;
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	rq = sample();
	longaddr[DELIVERY_ADDR_MAX] = 'a';
	longaddr[DELIVERY_ADDR_MAX + 1] = '\0';
	rq.sender = longaddr;
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	rq = sample();
	longhop[DELIVERY_NEXTHOP_MAX] = 'h';
	longhop[DELIVERY_NEXTHOP_MAX + 1] = '\0';
	rq.nexthop = longhop;
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);

	/* Values the parser refuses are refused by the builder too. */
	rq = sample();
	rq.queue_id = "../../etc/passwd";
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	rq = sample();
	rq.transport = "../cleanup";
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	rq = sample();
	rq.transport = "";
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	rq = sample();
	rq.body_type = "BINARYMIME";
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	rq = sample();
	rq.ret = "NONE";
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	rq = sample();
	rq.body_off = UINT64_MAX;
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	rq = sample();
	rq.sender = "a@b.org\r\nRCPT TO:<x@y>";
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);

	/* Recipients: empty, a line end, indexes that do not increase. */
	one[0] = sample_rcpts[0];
	one[0].address = "";
	rq = sample();
	rq.rcpts = one;
	rq.nrcpts = 1;
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	one[0].address = "bob@example.com\nX-Injected: 1";
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	two[0] = sample_rcpts[1];
	two[1] = sample_rcpts[0];
	rq.rcpts = two;
	rq.nrcpts = 2;
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);
	two[1] = sample_rcpts[1];
	ck_assert_int_eq(delivery_request_build(&m, &rq), -1);	/* equal */
	ipc_in_free(&in);
}
END_TEST

/* put_request - a hand-made request: what a broken or hostile qmgr sends */
static void
put_request(struct ipc_msg *m, uint64_t nrcpt, uint64_t utf8, const char *rcpt,
	    uint64_t idx0, uint64_t idx1)
{
	ipc_msg_init(m, DELIVERY_REQ);
	(void) ipc_put_str(m, "queue_id", "0PZ1K8Q3F7M2W9X");
	(void) ipc_put_str(m, "transport", "local");
	(void) ipc_put_str(m, "nexthop", "host");
	(void) ipc_put_str(m, "sender", "");
	(void) ipc_put_num(m, "smtputf8", utf8);
	(void) ipc_put_str(m, "body_type", "");
	(void) ipc_put_str(m, "envid", "");
	(void) ipc_put_str(m, "ret", "");
	(void) ipc_put_num(m, "arrival", 1);
	(void) ipc_put_num(m, "delay_queue_ms", 0);
	(void) ipc_put_num(m, "delay_active_ms", 0);
	(void) ipc_put_num(m, "hdr_off", 0);
	(void) ipc_put_num(m, "hdr_len", 0);
	(void) ipc_put_num(m, "body_off", 0);
	(void) ipc_put_num(m, "body_len", 0);
	(void) ipc_put_num(m, "nrcpt", nrcpt);
	for (uint64_t i = 0; i < 2 && i < nrcpt; i++) {
		(void) ipc_put_str(m, "rcpt", rcpt);
		(void) ipc_put_str(m, "orcpt", "");
		(void) ipc_put_str(m, "notify", "");
		(void) ipc_put_num(m, "index", i == 0 ? idx0 : idx1);
	}
}

START_TEST(test_request_refused)
{
	struct delivery_request out;
	struct ipc_msg m;
	struct ipc_in in;
	char    why[256];

	ipc_in_init(&in);

	/* The well-formed hand-made one passes: the others differ in one thing. */
	put_request(&m, 2, 0, "u@h", 0, 1);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_request_parse(&in, &out, why, sizeof(why)), 0);
	delivery_request_free(&out);
	ipc_msg_free(&m);

	/* The count says 3, two come. */
	put_request(&m, 3, 0, "u@h", 0, 1);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_request_parse(&in, &out, why, sizeof(why)), -1);
	ck_assert_ptr_null(out.rcpts);
	ipc_msg_free(&m);

	/* The count is huge: refused before anything is allocated for it. */
	put_request(&m, UINT64_MAX, 0, "u@h", 0, 1);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_request_parse(&in, &out, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "too many"));
	ipc_msg_free(&m);

	/* smtputf8 neither 0 nor 1. */
	put_request(&m, 2, 7, "u@h", 0, 1);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_request_parse(&in, &out, why, sizeof(why)), -1);
	ipc_msg_free(&m);

	/* A control character in a recipient. */
	put_request(&m, 2, 0, "u@h\r\nDATA", 0, 1);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_request_parse(&in, &out, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "control character"));
	ipc_msg_free(&m);

	/* The same recipient index twice. */
	put_request(&m, 2, 0, "u@h", 4, 4);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_request_parse(&in, &out, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "indexes"));
	ipc_msg_free(&m);

	/* Trailing junk after the last recipient. */
	put_request(&m, 2, 0, "u@h", 0, 1);
	(void) ipc_put_str(&m, "extra", "y");
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_request_parse(&in, &out, why, sizeof(why)), -1);
	ipc_msg_free(&m);

	/* A greeting is not a request. */
	ck_assert_int_eq(delivery_hello_build(&m, "local"), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_request_parse(&in, &out, why, sizeof(why)), -1);
	ipc_msg_free(&m);
	ipc_in_free(&in);
}
END_TEST

START_TEST(test_reply_roundtrip)
{
	struct delivery_request rq = sample();
	struct delivery_reply rep;
	struct ipc_msg m;
	struct ipc_in in;
	char    why[256];

	ipc_in_init(&in);
	delivery_reply_init(&m, &rq);
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 0, DELIVERY_SENT, "2.0.0",
					    "250 2.0.0 Ok: queued as ABC",
					    "mx.example.com[192.0.2.1]:25"), 0);
	/* A remote text with line ends: made one line, not refused. */
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 1, DELIVERY_BOUNCE, "5.1.1",
					    "550 5.1.1 no such user\r\nX: y",
					    "mx.example.com[192.0.2.1]:25"), 0);
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 2, DELIVERY_DEFER, "4.2.2",
					    "452 mailbox full", "none"), 0);
	ck_assert_int_eq(delivery_reply_end(&m, &rq, NULL, NULL), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_reply_parse(&in, &rq, &rep, why, sizeof(why)), 0);
	ck_assert_uint_eq(rep.nresults, 3);
	ck_assert_str_eq(rep.site_dsn, "");
	ck_assert_str_eq(rep.site_text, "");
	ck_assert_int_eq(rep.results[0].status, DELIVERY_SENT);
	ck_assert_str_eq(rep.results[0].relay, "mx.example.com[192.0.2.1]:25");
	ck_assert_int_eq(rep.results[1].status, DELIVERY_BOUNCE);
	ck_assert_str_eq(rep.results[1].dsn, "5.1.1");
	ck_assert_str_eq(rep.results[1].text, "550 5.1.1 no such user  X: y");
	ck_assert_uint_eq(rep.results[2].index, 7);
	ck_assert_str_eq(rep.results[2].text, "452 mailbox full");
	delivery_reply_free(&rep);
	ipc_msg_free(&m);

	/* A site failure with the recipients deferred. */
	delivery_reply_init(&m, &rq);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(delivery_reply_add(&m, &rq, i, DELIVERY_DEFER, "4.4.1",
						    "connect refused", "none"), 0);
	ck_assert_int_eq(delivery_reply_end(&m, &rq, "4.4.1",
					    "connect to x[192.0.2.1]:25: refused"), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_reply_parse(&in, &rq, &rep, why, sizeof(why)), 0);
	ck_assert_str_eq(rep.site_dsn, "4.4.1");
	ck_assert_str_eq(rep.site_text, "connect to x[192.0.2.1]:25: refused");
	delivery_reply_free(&rep);
	ipc_msg_free(&m);
	ipc_in_free(&in);
}
END_TEST

START_TEST(test_reply_builder_rules)
{
	static char big[DELIVERY_TEXT_MAX * 2];
	struct delivery_request rq = sample();
	struct delivery_reply rep;
	struct ipc_msg m;
	struct ipc_in in;
	char    why[256];

	ipc_in_init(&in);
	delivery_reply_init(&m, &rq);
	/* Out of order, a status code of another class, an unknown status. */
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 1, DELIVERY_SENT, "2.0.0", "", ""), -1);
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 0, DELIVERY_SENT, "5.0.0", "", ""), -1);
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 0, 3, "4.0.0", "", ""), -1);
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 0, DELIVERY_SENT, "2.00", "", ""), -1);
	/* A text too long is cut to the bound. */
	memset(big, 'x', sizeof(big) - 1);
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 0, DELIVERY_SENT, "2.0.0", big, "local"), 0);
	/* Not all recipients answered. */
	ck_assert_int_eq(delivery_reply_end(&m, &rq, NULL, NULL), -1);
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 1, DELIVERY_SENT, "2.0.0", "", ""), 0);
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 2, DELIVERY_SENT, "2.0.0", "", ""), 0);
	ck_assert_int_eq(delivery_reply_add(&m, &rq, 3, DELIVERY_SENT, "2.0.0", "", ""), -1);
	/* A site status must be 4.x.x. */
	ck_assert_int_eq(delivery_reply_end(&m, &rq, "5.0.0", "x"), -1);
	ck_assert_int_eq(delivery_reply_end(&m, &rq, "", "ignored without a code"), 0);
	ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
	ck_assert_int_eq(delivery_reply_parse(&in, &rq, &rep, why, sizeof(why)), 0);
	ck_assert_uint_eq(strlen(rep.results[0].text), DELIVERY_TEXT_MAX);
	ck_assert_str_eq(rep.site_text, "");
	delivery_reply_free(&rep);
	ipc_msg_free(&m);
	ipc_in_free(&in);
}
END_TEST

/* put_reply - a hand-made reply for sample()'s three recipients */
static void
put_reply(struct ipc_msg *m, uint64_t nrcpt, uint64_t idx2, uint64_t st2,
	  const char *dsn2, const char *text2, const char *site_dsn,
	  const char *site_text)
{
	ipc_msg_init(m, DELIVERY_REP);
	(void) ipc_put_num(m, "nrcpt", nrcpt);
	for (uint64_t i = 0; i < 3 && i < nrcpt; i++) {
		(void) ipc_put_num(m, "index", i == 2 ? idx2 : sample_rcpts[i].index);
		(void) ipc_put_num(m, "status", i == 2 ? st2 : 0);
		(void) ipc_put_str(m, "dsn", i == 2 ? dsn2 : "2.0.0");
		(void) ipc_put_str(m, "text", i == 2 ? text2 : "ok");
		(void) ipc_put_str(m, "relay", "local");
	}
	(void) ipc_put_str(m, "site_dsn", site_dsn);
	(void) ipc_put_str(m, "site_text", site_text);
}

START_TEST(test_reply_refused)
{
	struct delivery_request rq = sample();
	struct delivery_reply rep;
	struct ipc_msg m;
	struct ipc_in in;
	char    why[256];
	struct {
		uint64_t nrcpt, idx2, st2;
		const char *dsn2, *text2, *site_dsn, *site_text;
		int	want;
	}       cases[] = {
		{3, 7, 5, "5.1.1", "gone", "", "", 0},		/* well formed */
		{2, 7, 5, "5.1.1", "gone", "", "", -1},		/* count differs */
		{3, 8, 5, "5.1.1", "gone", "", "", -1},		/* not asked for */
		{3, 7, 0, "5.1.1", "gone", "", "", -1},		/* class mismatch */
		{3, 7, 3, "4.0.0", "gone", "", "", -1},		/* unknown status */
		{3, 7, 5, "5.1.1", "a\nb", "", "", -1},		/* line end */
		{3, 7, 5, "5.1.1", "gone", "5.0.0", "x", -1},	/* site 5xx */
		{3, 7, 5, "5.1.1", "gone", "", "text", -1},	/* text, no code */
		{3, 7, 5, "5.1.1", "gone", "4.4.1", "a\rb", -1},	/* line end */
		{3, 7, 5, "5.1.1", "gone", "4.4.1", "refused", 0},
	};

	ipc_in_init(&in);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		put_reply(&m, cases[k].nrcpt, cases[k].idx2, cases[k].st2,
			  cases[k].dsn2, cases[k].text2, cases[k].site_dsn,
			  cases[k].site_text);
		ck_assert_int_eq(roundtrip(&m, -1, &in, NULL), 0);
		ck_assert_msg(delivery_reply_parse(&in, &rq, &rep, why, sizeof(why))
			      == cases[k].want, "case %zu: %s", k, why);
		if (cases[k].want < 0)
			ck_assert_ptr_null(rep.results);
		delivery_reply_free(&rep);
		ipc_msg_free(&m);
	}
	ipc_in_free(&in);
}
END_TEST

START_TEST(test_transport_names)
{
	ck_assert(delivery_transport_valid("smtp"));
	ck_assert(delivery_transport_valid("relay"));
	ck_assert(delivery_transport_valid("my-lmtp_2.x"));
	ck_assert(!delivery_transport_valid(""));
	ck_assert(!delivery_transport_valid(NULL));
	ck_assert(!delivery_transport_valid("."));
	ck_assert(!delivery_transport_valid(".."));
	ck_assert(!delivery_transport_valid("../x"));
	ck_assert(!delivery_transport_valid("a/b"));
	ck_assert(!delivery_transport_valid("a b"));
	ck_assert(!delivery_transport_valid(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	ck_assert_int_eq(delivery_status_of("2.0.0"), DELIVERY_SENT);
	ck_assert_int_eq(delivery_status_of("4.4.1"), DELIVERY_DEFER);
	ck_assert_int_eq(delivery_status_of("5.1.1"), DELIVERY_BOUNCE);
	ck_assert_int_eq(delivery_status_of("3.0.0"), -1);
}
END_TEST

START_TEST(test_fmt_delay)
{
	char    b[32];

	delivery_log_fmt_delay(0, b, sizeof(b));
	ck_assert_str_eq(b, "0");
	delivery_log_fmt_delay(0.004, b, sizeof(b));
	ck_assert_str_eq(b, "0");
	delivery_log_fmt_delay(0.31, b, sizeof(b));
	ck_assert_str_eq(b, "0.31");
	delivery_log_fmt_delay(1.2, b, sizeof(b));
	ck_assert_str_eq(b, "1.2");
	delivery_log_fmt_delay(2, b, sizeof(b));
	ck_assert_str_eq(b, "2");
	delivery_log_fmt_delay(123.4, b, sizeof(b));
	ck_assert_str_eq(b, "123");
	delivery_log_fmt_delay(1e12, b, 4);		/* never past the buffer */
	ck_assert_uint_le(strlen(b), 3);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("delivery");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_request_roundtrip);
	tcase_add_test(tc, test_request_bounds);
	tcase_add_test(tc, test_request_refused);
	tcase_add_test(tc, test_reply_roundtrip);
	tcase_add_test(tc, test_reply_builder_rules);
	tcase_add_test(tc, test_reply_refused);
	tcase_add_test(tc, test_transport_names);
	tcase_add_test(tc, test_fmt_delay);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
