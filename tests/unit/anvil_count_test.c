/*
 * anvil_count_test - check suite for anvil/anvil_count.c: sessions per
 * address and network, in all and per client connection; events per
 * unit; a full table; malformed requests.  Also lib/svc/anvil_clnt.c against
 * the real service code over a UNIX socket: batches, counts, resync.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"

#include "anvil_clnt.h"
#include "event.h"
#include "ipc.h"
#include "ipc_server.h"
#include "log.h"
#include "../../anvil/anvil.h"

struct op {
	int	op;
	const char *addr, *net;
};

struct res {
	uint64_t status, n[4];
};

/* ask - one request of n operations from o; the answers in r */
static int
ask(struct anvil_owner *o, const struct op *ops, size_t n, struct res *r)
{
	struct ipc_msg m, reply;
	struct ipc_in in;
	const void *wire;
	size_t	len;
	char	why[256];
	int	rc;

	ipc_msg_init(&m, ANVIL_REQ);
	for (size_t i = 0; i < n; i++) {
		ipc_put_num(&m, "op", (uint64_t) ops[i].op);
		ipc_put_str(&m, "addr", ops[i].addr);
		ipc_put_str(&m, "net", ops[i].net);
	}
	wire = ipc_msg_wire(&m, false, &len);
	ipc_in_init_max(&in, ANVIL_REQ_MAX);
	ck_assert_int_eq(ipc_in_parse(&in, wire, len), 0);
	rc = anvil_handle(o, &in, &reply, why, sizeof(why));
	ipc_in_free(&in);
	ipc_msg_free(&m);
	if (rc < 0)
		return -1;
	wire = ipc_msg_wire(&reply, false, &len);
	ipc_in_init_max(&in, ANVIL_REP_MAX);
	ck_assert_int_eq(ipc_in_parse(&in, wire, len), 0);
	ck_assert_int_eq(in.type, ANVIL_REP);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(ipc_get_num(&in, "status", &r[i].status), 0);
		for (int k = 0; k < 4; k++)
			ck_assert_int_eq(ipc_get_num(&in, "n", &r[i].n[k]), 0);
	}
	ck_assert_int_eq(ipc_get_end(&in), 0);
	ipc_in_free(&in);
	ipc_msg_free(&reply);
	return 0;
}

START_TEST(test_sessions_across_owners)
{
	struct anvil_owner *a, *b;
	struct op c1 = {ANVIL_OP_CONNECT, "192.0.2.1", "192.0.2.0/24"};
	struct op c2 = {ANVIL_OP_CONNECT, "192.0.2.2", "192.0.2.0/24"};
	struct op d1 = {ANVIL_OP_DISCONNECT, "192.0.2.1", "192.0.2.0/24"};
	struct op h1 = {ANVIL_OP_HOLD, "192.0.2.1", "192.0.2.0/24"};
	struct res r[4];

	anvil_count_init(60000, 100, 100);
	a = anvil_owner_new();
	b = anvil_owner_new();
	ck_assert_int_eq(ask(a, &c1, 1, r), 0);
	ck_assert_uint_eq(r[0].status, ANVIL_STAT_OK);
	ck_assert_uint_eq(r[0].n[0], 1);	/* address sessions */
	ck_assert_uint_eq(r[0].n[1], 1);	/* network sessions */
	ck_assert_uint_eq(r[0].n[2], 1);	/* address connections */
	ck_assert_uint_eq(r[0].n[3], 1);
	/* Another owner (process): the counts are the client's. */
	ck_assert_int_eq(ask(b, (struct op[]) {c1, c2}, 2, r), 0);
	ck_assert_uint_eq(r[0].n[0], 2);
	ck_assert_uint_eq(r[0].n[1], 2);
	ck_assert_uint_eq(r[0].n[2], 2);
	ck_assert_uint_eq(r[1].n[0], 1);
	ck_assert_uint_eq(r[1].n[1], 3);
	ck_assert_uint_eq(r[1].n[3], 3);	/* the network's connections */
	/* HOLD counts a session, not a connection. */
	ck_assert_int_eq(ask(a, &h1, 1, r), 0);
	ck_assert_uint_eq(r[0].n[0], 3);
	ck_assert_uint_eq(r[0].n[2], 0);
	ck_assert_uint_eq(anvil_sessions("192.0.2.1"), 3);
	/* A DISCONNECT from an owner that holds none changes nothing. */
	ck_assert_int_eq(ask(b, (struct op[]) {c2}, 1, r), 0);
	ck_assert_int_eq(ask(b, (struct op[]) {d1, d1, d1}, 3, r), 0);
	ck_assert_uint_eq(r[2].n[0], 2);	/* b held one of 192.0.2.1 */
	ck_assert_uint_eq(anvil_sessions("192.0.2.0/24"), 4);
	/* An owner that goes away takes its sessions with it. */
	anvil_owner_free(a);
	ck_assert_uint_eq(anvil_sessions("192.0.2.1"), 0);
	ck_assert_uint_eq(anvil_sessions("192.0.2.0/24"), 2);
	anvil_owner_free(b);
	ck_assert_uint_eq(anvil_sessions("192.0.2.0/24"), 0);
	ck_assert_uint_eq(anvil_keys(), 0);
	anvil_count_end();
}
END_TEST

START_TEST(test_events_and_full)
{
	struct anvil_owner *a;
	struct op m = {ANVIL_OP_MESSAGE, "192.0.2.1", "192.0.2.0/24"};
	struct op r3 = {ANVIL_OP_RCPT, "192.0.2.9", "192.0.2.0/24"};
	struct op l = {ANVIL_OP_LOOKUP, "192.0.2.1", "192.0.2.0/24"};
	struct op c3 = {ANVIL_OP_CONNECT, "198.51.100.1", "198.51.100.0/24"};
	struct op c4 = {ANVIL_OP_CONNECT, "198.51.100.2", "198.51.100.0/24"};
	struct res r[4];

	anvil_count_init(60000, 2, 100);	/* room for two keys */
	a = anvil_owner_new();
	ck_assert_int_eq(ask(a, (struct op[]) {m, m, r3}, 3, r), 0);
	ck_assert_uint_eq(r[1].n[2], 2);	/* MAIL from the address */
	ck_assert_uint_eq(r[2].n[2], 1);	/* RCPT from another one */
	ck_assert_uint_eq(r[2].n[3], 1);	/* RCPT from the network */
	ck_assert_uint_eq(r[1].n[0], 0);	/* events hold no session */
	ck_assert_int_eq(ask(a, &l, 1, r), 0);
	ck_assert_uint_eq(r[0].n[2], 0);
	/* An address and its network, then one more address: too many. */
	ck_assert_int_eq(ask(a, (struct op[]) {c3, c4}, 2, r), 0);
	ck_assert_uint_eq(r[0].status, ANVIL_STAT_OK);
	ck_assert_uint_eq(r[1].status, ANVIL_STAT_FULL);
	ck_assert_uint_eq(r[1].n[0], 0);	/* nothing counted for it */
	ck_assert_uint_eq(anvil_sessions("198.51.100.0/24"), 1);
	anvil_owner_free(a);
	anvil_count_end();
}
END_TEST

START_TEST(test_malformed)
{
	struct anvil_owner *a;
	struct op bad = {99, "192.0.2.1", "192.0.2.0/24"};
	struct op empty = {ANVIL_OP_CONNECT, "", "192.0.2.0/24"};
	static struct op many[ANVIL_OPS_MAX + 1];
	static struct res r[ANVIL_OPS_MAX + 1];
	struct ipc_msg m, reply;
	struct ipc_in in;
	const void *wire;
	size_t	len;
	char	why[256];

	anvil_count_init(60000, 100, 100);
	a = anvil_owner_new();
	ck_assert_int_eq(ask(a, &bad, 1, r), -1);
	ck_assert_int_eq(ask(a, &empty, 1, r), -1);
	for (size_t i = 0; i <= ANVIL_OPS_MAX; i++)
		many[i] = (struct op) {ANVIL_OP_LOOKUP, "a", "b"};
	ck_assert_int_eq(ask(a, many, ANVIL_OPS_MAX, r), 0);
	ck_assert_int_eq(ask(a, many, ANVIL_OPS_MAX + 1, r), -1);
	/* No operation at all, and another message type. */
	ipc_msg_init(&m, ANVIL_REQ);
	wire = ipc_msg_wire(&m, false, &len);
	ipc_in_init_max(&in, ANVIL_REQ_MAX);
	ck_assert_int_eq(ipc_in_parse(&in, wire, len), 0);
	ck_assert_int_eq(anvil_handle(a, &in, &reply, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "no operation"));
	ipc_in_free(&in);
	ipc_msg_free(&m);
	ipc_msg_init(&m, ANVIL_REP);
	ipc_put_num(&m, "op", 1);
	wire = ipc_msg_wire(&m, false, &len);
	ipc_in_init_max(&in, ANVIL_REQ_MAX);
	ck_assert_int_eq(ipc_in_parse(&in, wire, len), 0);
	ck_assert_int_eq(anvil_handle(a, &in, &reply, why, sizeof(why)), -1);
	ipc_in_free(&in);
	ipc_msg_free(&m);
	anvil_owner_free(a);
	anvil_count_end();
}
END_TEST

/* ------------------------------------------------------------------ */
/* The client against the service, over a UNIX socket.                */

static int
handle(void *ctx, struct ipc_in *req, struct ipc_msg *reply, char *why, size_t n)
{
	return anvil_handle(ctx, req, reply, why, n);
}

static void *
open_owner(int fd)
{
	(void) fd;
	return anvil_owner_new();
}

static void
close_owner(void *ctx)
{
	anvil_owner_free(ctx);
}

static const struct ipc_server_ops server_ops = {
	.name = "anvil", .req_max = ANVIL_REQ_MAX, .handle = handle,
	.open = open_owner, .close = close_owner,
};

static struct anvil_counts got[16];
static int answers, failures;

static void
done(void *ctx, const struct anvil_counts *c, bool ok)
{
	int	i = (int) (intptr_t) ctx;

	if (ok)
		got[i] = *c;
	else
		failures++;
	answers++;
}

static int resyncs;

static void
resync(void *ctx)
{
	(void) ctx;
	resyncs++;
}

START_TEST(test_client_batches)
{
	char	dir[] = "/tmp/anvil_test.XXXXXX", path[128];
	struct ev_loop *loop = ev_loop_new();
	struct anvil_clnt *a;
	int	lfd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void) snprintf(path, sizeof(path), "%s/anvil", dir);
	lfd = ipc_listen(path, 0600, 16);
	ck_assert_int_ge(lfd, 0);
	anvil_count_init(60000, 100, 100);
	ipc_server_init(&server_ops, 0, 16);
	ipc_server_listen(loop, lfd);
	(void) snprintf(path, sizeof(path), "unix:%s/anvil", dir);
	a = anvil_clnt_new(loop, path, 5000, resync, NULL);

	/* Ten connections queued at once: they go out in two batches. */
	for (int i = 0; i < 10; i++)
		ck_assert_ptr_nonnull(anvil_clnt_op(a, ANVIL_OP_CONNECT, "192.0.2.1",
						    "192.0.2.0/24", done,
						    (void *) (intptr_t) i));
	while (answers < 10)
		ck_assert_int_ge(ev_run_once(loop, 5000), 0);
	ck_assert_int_eq(failures, 0);
	ck_assert_int_eq(resyncs, 1);		/* the first connection */
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_eq(got[i].addr_sessions, (uint64_t) i + 1);
		ck_assert_uint_eq(got[i].addr_events, (uint64_t) i + 1);
	}
	ck_assert(anvil_clnt_up(a));
	/* A fire-and-forget DISCONNECT, then a MESSAGE that sees it. */
	(void) anvil_clnt_op(a, ANVIL_OP_DISCONNECT, "192.0.2.1", "192.0.2.0/24",
			     NULL, NULL);
	(void) anvil_clnt_op(a, ANVIL_OP_MESSAGE, "192.0.2.1", "192.0.2.0/24", done,
			     (void *) (intptr_t) 11);
	while (answers < 11)
		ck_assert_int_ge(ev_run_once(loop, 5000), 0);
	ck_assert_uint_eq(got[11].addr_sessions, 9);
	ck_assert_uint_eq(got[11].addr_events, 1);
	/* The client goes: anvil forgets its sessions. */
	anvil_clnt_free(a);
	for (int i = 0; i < 20 && anvil_sessions("192.0.2.1") > 0; i++)
		(void) ev_run_once(loop, 100);
	ck_assert_uint_eq(anvil_sessions("192.0.2.1"), 0);
	anvil_count_end();
	close(lfd);
	(void) snprintf(path, sizeof(path), "%s/anvil", dir);
	(void) unlink(path);
	(void) rmdir(dir);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("anvil_count");
	TCase  *tc = tcase_create("core");

	log_init("anvil_count_test", LOG_DEST_STDERR);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sessions_across_owners);
	tcase_add_test(tc, test_events_and_full);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_client_batches);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
