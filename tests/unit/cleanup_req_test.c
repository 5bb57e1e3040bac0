/*
 * cleanup_req_test - check suite for the SUBMIT request: what
 * lib/svc/cleanup_clnt builds, cleanup_req_parse() takes back; every
 * attribute's syntax and bound; order, repetition and unknown records;
 * and the client's reply parser.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "../../cleanup/cleanup.h"
#include "cleanup_clnt.h"
#include "ipc.h"
#include "log.h"
#include "str.h"

/* roundtrip - send m over a socket pair and receive it into in */
static void
roundtrip(struct ipc_msg *m, struct ipc_in *in)
{
	int     sv[2];

	ck_assert_int_eq(ipc_socketpair(sv), 0);
	ck_assert_int_eq(ipc_send(sv[0], m, -1, 1000), 0);
	ipc_in_init(in);
	ck_assert_int_eq(ipc_recv(sv[1], in, NULL, 1000), 0);
	close(sv[0]);
	close(sv[1]);
}

/* parse_env - build env's request and parse it */
static int
parse_env(const struct cleanup_envelope *env, struct cleanup_req *req, char *why,
	  size_t whylen)
{
	struct ipc_msg m;
	struct ipc_in in;
	int     r;

	ck_assert_int_eq(cleanup_request_build(&m, env), 0);
	roundtrip(&m, &in);
	r = cleanup_req_parse(&in, req, why, whylen);
	ipc_in_free(&in);
	ipc_msg_free(&m);
	return r;
}

static const struct cleanup_rcpt_in rcpts[] = {
	{.addr = "a@x.org"},
	{.addr = "b@x.org", .orcpt = "rfc822;b@x.org", .notify = "SUCCESS,DELAY"},
	{.addr = "c@x.org", .notify = "NEVER"},
};

static struct cleanup_envelope
full_env(void)
{
	struct cleanup_envelope e = {
		.flags = CLEANUP_F_EXTRACT | CLEANUP_F_LOCAL, .offset = 7, .length = 99,
		.client_name = "mx.example.org", .client_addr = "2001:db8::1",
		.helo = "[192.0.2.1]", .protocol = "ESMTPSA", .sasl_method = "PLAIN",
		.sasl_username = "jöe", .uid = 1000, .fullname = "Jöe \"Q\" User",
		.envid = "QQ314159", .ret = "HDRS", .smtputf8 = true,
		.sender = "joe@example.com", .rcpts = rcpts, .nrcpts = 3,
	};

	return e;
}

START_TEST(test_roundtrip_all_attributes)
{
	struct cleanup_envelope env = full_env();
	struct cleanup_req req;
	char    why[256];

	ck_assert_msg(parse_env(&env, &req, why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(req.flags, CLEANUP_F_EXTRACT | CLEANUP_F_LOCAL);
	ck_assert_uint_eq(req.offset, 7);
	ck_assert_uint_eq(req.length, 99);
	ck_assert_str_eq(req.client_name, "mx.example.org");
	ck_assert_str_eq(req.client_addr, "2001:db8::1");
	ck_assert_str_eq(req.helo, "[192.0.2.1]");
	ck_assert_str_eq(req.protocol, "ESMTPSA");
	ck_assert_str_eq(req.sasl_method, "PLAIN");
	ck_assert_str_eq(req.sasl_username, "jöe");
	ck_assert_int_eq(req.uid, 1000);
	ck_assert_str_eq(req.fullname, "Jöe \"Q\" User");
	ck_assert_str_eq(req.envid, "QQ314159");
	ck_assert_str_eq(req.ret, "HDRS");
	ck_assert(req.smtputf8);
	ck_assert_str_eq(req.sender, "joe@example.com");
	ck_assert_uint_eq(req.nrcpts, 3);
	ck_assert_str_eq(req.rcpts[0].addr, "a@x.org");
	ck_assert_ptr_null(req.rcpts[0].orcpt);
	ck_assert_str_eq(req.rcpts[1].orcpt, "rfc822;b@x.org");
	ck_assert_str_eq(req.rcpts[1].notify, "SUCCESS,DELAY");
	ck_assert_str_eq(req.rcpts[2].notify, "NEVER");
	cleanup_req_free(&req);
}
END_TEST

START_TEST(test_minimal_request)
{
	struct cleanup_envelope env = {.uid = -1, .sender = ""};
	struct cleanup_req req;
	char    why[256];

	ck_assert_msg(parse_env(&env, &req, why, sizeof(why)) == 0, "%s", why);
	ck_assert_str_eq(req.sender, "");
	ck_assert_uint_eq(req.nrcpts, 0);
	ck_assert_ptr_null(req.client_addr);
	ck_assert_int_eq(req.uid, -1);
	cleanup_req_free(&req);
}
END_TEST

/* bad - the envelope parses with an error mentioning text */
static void
bad(struct cleanup_envelope *env, const char *text)
{
	struct cleanup_req req;
	char    why[256];

	ck_assert_msg(parse_env(env, &req, why, sizeof(why)) == -1,
		      "accepted a request that should fail with \"%s\"", text);
	ck_assert_msg(strstr(why, text) != NULL, "why: %s (want %s)", why, text);
	/* req is left empty: freeing it again is harmless. */
	cleanup_req_free(&req);
}

START_TEST(test_attribute_syntax)
{
	struct cleanup_envelope env;
	char    big[400];

	env = full_env(); env.client_name = "bad name"; bad(&env, "client_name");
	env = full_env(); env.client_name = "x\x01y"; bad(&env, "client_name");
	env = full_env(); env.client_addr = "192.0.2.256"; bad(&env, "client_addr");
	env = full_env(); env.client_addr = "localhost"; bad(&env, "client_addr");
	env = full_env(); env.helo = "two words"; bad(&env, "helo");
	env = full_env(); env.helo = ""; bad(&env, "helo");
	env = full_env(); env.protocol = "ESMTP;"; bad(&env, "protocol");
	env = full_env(); env.sasl_username = "a\nb"; bad(&env, "sasl_username");
	env = full_env(); env.sasl_username = "\xc3\x28"; bad(&env, "sasl_username");
	env = full_env(); env.fullname = "Evil\r\nBcc: x"; bad(&env, "fullname");
	env = full_env(); env.envid = "has space"; bad(&env, "envid");
	env = full_env(); env.ret = "ALL"; bad(&env, "ret");
	env = full_env(); env.uid = 0xffffffffLL; bad(&env, "uid");
	{
		static const struct cleanup_rcpt_in r[] = {{.addr = "a@x", .notify = "NEVER,SUCCESS"}};

		env = full_env(); env.rcpts = r; env.nrcpts = 1; bad(&env, "notify");
	}
	{
		static const struct cleanup_rcpt_in r[] = {{.addr = "a@x", .notify = "SUCCESS,,DELAY"}};

		env = full_env(); env.rcpts = r; env.nrcpts = 1; bad(&env, "notify");
	}
	{
		static const struct cleanup_rcpt_in r[] = {{.addr = "a@x", .orcpt = "rfc822;\x7f"}};

		env = full_env(); env.rcpts = r; env.nrcpts = 1; bad(&env, "orcpt");
	}

	/* Bounds: 255 bytes of helo pass, 256 do not. */
	memset(big, 'h', sizeof(big));
	big[CLEANUP_HOST_MAX] = '\0';
	env = full_env(); env.helo = big;
	{
		struct cleanup_req req;
		char    why[256];

		ck_assert_msg(parse_env(&env, &req, why, sizeof(why)) == 0, "%s", why);
		cleanup_req_free(&req);
	}
	big[CLEANUP_HOST_MAX] = 'h';
	big[CLEANUP_HOST_MAX + 1] = '\0';
	env = full_env(); env.helo = big; bad(&env, "helo");
}
END_TEST

START_TEST(test_address_bounds)
{
	struct cleanup_envelope env = full_env();
	struct cleanup_rcpt_in r[1];
	struct cleanup_req req;
	char    addr[CLEANUP_ADDR_MAX + 2], why[256];

	memset(addr, 'a', sizeof(addr));
	addr[CLEANUP_ADDR_MAX] = '\0';
	r[0].addr = addr;
	r[0].orcpt = r[0].notify = NULL;
	env.rcpts = r;
	env.nrcpts = 1;
	ck_assert_msg(parse_env(&env, &req, why, sizeof(why)) == 0, "%s", why);
	cleanup_req_free(&req);
	addr[CLEANUP_ADDR_MAX] = 'a';
	addr[CLEANUP_ADDR_MAX + 1] = '\0';
	bad(&env, "rcpt");
	env = full_env();
	env.sender = addr;
	bad(&env, "sender");
}
END_TEST

START_TEST(test_structure)
{
	struct ipc_msg m;
	struct ipc_in in;
	struct cleanup_req req;
	char    why[256];

	/* Wrong type. */
	ipc_msg_init(&m, CLEANUP_REP);
	roundtrip(&m, &in);
	ck_assert_int_eq(cleanup_req_parse(&in, &req, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "type"));
	ipc_in_free(&in);
	ipc_msg_free(&m);

	/* Unknown flag bits. */
	ipc_msg_init(&m, CLEANUP_REQ_SUBMIT);
	ipc_put_num(&m, "flags", 0x100);
	ipc_put_num(&m, "offset", 0);
	ipc_put_num(&m, "length", 0);
	ipc_put_str(&m, "sender", "");
	roundtrip(&m, &in);
	ck_assert_int_eq(cleanup_req_parse(&in, &req, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "flag"));
	ipc_in_free(&in);
	ipc_msg_free(&m);

	/* Out of order, repeated and unknown attributes. */
	{
		const char *names[][2] = {
			{"helo", "client_name"},	/* out of order */
			{"helo", "helo"},		/* repeated */
			{"color", "helo"},		/* unknown */
		};

		for (size_t i = 0; i < 3; i++) {
			ipc_msg_init(&m, CLEANUP_REQ_SUBMIT);
			ipc_put_num(&m, "flags", 0);
			ipc_put_num(&m, "offset", 0);
			ipc_put_num(&m, "length", 0);
			ipc_put_str(&m, names[i][0], "x.org");
			ipc_put_str(&m, names[i][1], "x.org");
			ipc_put_str(&m, "sender", "");
			roundtrip(&m, &in);
			ck_assert_int_eq(cleanup_req_parse(&in, &req, why, sizeof(why)), -1);
			ck_assert_msg(strstr(why, "unexpected record") != NULL, "%s", why);
			ipc_in_free(&in);
			ipc_msg_free(&m);
		}
	}

	/* No sender; a recipient record of the wrong kind; junk at the end. */
	ipc_msg_init(&m, CLEANUP_REQ_SUBMIT);
	ipc_put_num(&m, "flags", 0);
	ipc_put_num(&m, "offset", 0);
	ipc_put_num(&m, "length", 0);
	roundtrip(&m, &in);
	ck_assert_int_eq(cleanup_req_parse(&in, &req, why, sizeof(why)), -1);
	ipc_in_free(&in);
	ipc_msg_free(&m);

	ipc_msg_init(&m, CLEANUP_REQ_SUBMIT);
	ipc_put_num(&m, "flags", 0);
	ipc_put_num(&m, "offset", 0);
	ipc_put_num(&m, "length", 0);
	ipc_put_str(&m, "sender", "");
	ipc_put_num(&m, "rcpt", 5);
	roundtrip(&m, &in);
	ck_assert_int_eq(cleanup_req_parse(&in, &req, why, sizeof(why)), -1);
	ipc_in_free(&in);
	ipc_msg_free(&m);

	ipc_msg_init(&m, CLEANUP_REQ_SUBMIT);
	ipc_put_num(&m, "flags", 0);
	ipc_put_num(&m, "offset", 0);
	ipc_put_num(&m, "length", 0);
	ipc_put_str(&m, "sender", "");
	ipc_put_str(&m, "orcpt", "rfc822;a@x");	/* an orcpt without its rcpt */
	roundtrip(&m, &in);
	ck_assert_int_eq(cleanup_req_parse(&in, &req, why, sizeof(why)), -1);
	ipc_in_free(&in);
	ipc_msg_free(&m);
}
END_TEST

/* reply - a CLEANUP_REP message parsed by the client */
static int
reply(uint64_t status, const char *qid, const char *reason, struct cleanup_result *res)
{
	struct ipc_msg m;
	struct ipc_in in;
	int     r;

	ipc_msg_init(&m, CLEANUP_REP);
	ipc_put_num(&m, "status", status);
	ipc_put_str(&m, "queue_id", qid);
	ipc_put_str(&m, "reason", reason);
	roundtrip(&m, &in);
	r = cleanup_reply_parse(&in, res);
	ipc_in_free(&in);
	ipc_msg_free(&m);
	return r;
}

START_TEST(test_client_reply_parse)
{
	struct cleanup_result res;

	ck_assert_int_eq(reply(0, "0PZ1K8Q3F7M2W9X", "", &res), 0);
	ck_assert_int_eq(res.status, CLEANUP_STAT_OK);
	ck_assert_str_eq(res.queue_id, "0PZ1K8Q3F7M2W9X");
	ck_assert_int_eq(reply(5, "", "5.3.4 Message size exceeds fixed limit", &res), 0);
	ck_assert_int_eq(res.status, CLEANUP_STAT_PERM);
	ck_assert_str_eq(res.reason, "5.3.4 Message size exceeds fixed limit");
	ck_assert_int_eq(reply(4, "", "4.3.1 Insufficient system storage", &res), 0);
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);

	/* Nonsense is never success. */
	ck_assert_int_eq(reply(0, "not-a-qid", "", &res), -1);
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);
	ck_assert_int_eq(reply(4, "", "5.1.1 class mismatch", &res), -1);
	ck_assert_int_eq(res.status, CLEANUP_STAT_TEMP);
	ck_assert_int_eq(reply(5, "", "no code", &res), -1);
	ck_assert_int_eq(reply(3, "", "4.0.0 x", &res), -1);
	ck_assert_int_eq(reply(4, "", "4.3.0 bad\x01text", &res), -1);
	ck_assert_msg(strncmp(res.reason, "4.3.0 ", 6) == 0, "%s", res.reason);
}
END_TEST

START_TEST(test_client_build_refuses)
{
	struct cleanup_envelope env = {.uid = -1, .sender = "", .flags = 0x100};
	struct ipc_msg m;

	ck_assert_int_eq(cleanup_request_build(&m, &env), -1);
	ipc_msg_free(&m);
	env.flags = 0;
	env.sender = NULL;
	ck_assert_int_eq(cleanup_request_build(&m, &env), -1);
	ipc_msg_free(&m);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("cleanup_req");
	TCase  *tc = tcase_create("core");

	log_init("cleanup_req_test", LOG_DEST_STDERR);
	tcase_add_test(tc, test_roundtrip_all_attributes);
	tcase_add_test(tc, test_minimal_request);
	tcase_add_test(tc, test_attribute_syntax);
	tcase_add_test(tc, test_address_bounds);
	tcase_add_test(tc, test_structure);
	tcase_add_test(tc, test_client_reply_parse);
	tcase_add_test(tc, test_client_build_refuses);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
