/*
 * lookup_server_test - check suite for the lookup service: request
 * checking (lookup_handle), the connection layer on a real event loop
 * (pipelining, bad requests, idle clients, stop), and table reopening
 * (lookup_maps) when postmap rebuilds a table; and lib/svc/lookup_clnt's
 * connection handling against the server in a child process (reconnect
 * once after the service restarts, failure when it is gone).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "test_config.h"
#include "scratch.h"

#include "buf.h"
#include "config.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "lookup_clnt.h"
#include "lookup_maps.h"
#include "../../lookup/lookup_server.h"
#include "params.h"
#include "str.h"
#include "table.h"

static char dir[64];

/* teardown - remove the test's directory */
static void
teardown(void)
{
	scratch_remove(dir, "/tmp/lookup_test.");
}

static void
make_dir(void)
{
	(void) str_copy(dir, sizeof(dir), "/tmp/lookup_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* load_cfg - main.cf with the given lines in dir, installed */
static void
load_cfg(const char *lines)
{
	test_config_load(dir, lines);
}

static void
setup_cfg(const char *lines)
{
	make_dir();
	load_cfg(lines);
}

/* write_file - text into dir/name */
static void
write_file(const char *name, const char *text)
{
	char    path[128];
	FILE   *f;

	(void) str_fmt(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s", text);
	fclose(f);
}

static void
build_table(const char *name, int alias_mode)
{
	char    spec[160];
	struct buf err;

	(void) str_fmt(spec, sizeof(spec), "hash:%s/%s", dir, name);
	buf_init(&err, 8192);
	ck_assert_msg(table_build(spec, alias_mode, 0, &err) == TABLE_OK, "%s",
		      buf_str(&err));
	buf_free(&err);
}

static void
request(struct ipc_in *in, uint16_t type, const char *param, const char *key)
{
	struct ipc_msg m;
	int     sv[2];

	ipc_msg_init(&m, type);
	if (param)
		ck_assert_int_eq(ipc_put_str(&m, "param", param), 0);
	if (key)
		ck_assert_int_eq(ipc_put_str(&m, "key", key), 0);
	ck_assert_int_eq(ipc_socketpair(sv), 0);
	ck_assert_int_eq(ipc_send(sv[0], &m, -1, 1000), 0);
	ipc_in_init(in);
	ck_assert_int_eq(ipc_recv(sv[1], in, NULL, 1000), 0);
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&m);
}

/* reply_of - turn a built reply into a parsed one */
static void
reply_of(struct ipc_msg *rep, struct ipc_in *out)
{
	int     sv[2];

	ck_assert_int_eq(ipc_socketpair(sv), 0);
	ck_assert_int_eq(ipc_send(sv[0], rep, -1, 1000), 0);
	ipc_in_init(out);
	ck_assert_int_eq(ipc_recv(sv[1], out, NULL, 1000), 0);
	close(sv[0]);
	close(sv[1]);
}

/* handle - run lookup_handle; return its result, the reply status and value */
static int
handle(struct lookup_maps *m, struct ipc_in *in, uint64_t *status, char *value,
       size_t vsize, char *why, size_t whylen)
{
	struct ipc_msg rep;
	struct ipc_in got;
	const char *v;
	int     r = lookup_handle(m, in, &rep, why, whylen);

	if (r < 0)
		return r;
	reply_of(&rep, &got);
	ipc_msg_free(&rep);
	ck_assert_int_eq(got.type, LOOKUP_REP);
	ck_assert_int_eq(ipc_get_num(&got, "status", status), 0);
	ck_assert_int_eq(ipc_get_str(&got, "value", &v, TABLE_VALUE_MAX), 0);
	ck_assert_int_eq(ipc_get_end(&got), 0);
	(void) str_copy(value, vsize, v);
	ipc_in_free(&got);
	return r;
}

START_TEST(test_handle_found_notfound_empty_param)
{
	struct lookup_maps *m;
	struct ipc_in in;
	uint64_t st;
	char    v[256], why[256];

	setup_cfg("virtual_alias_maps = inline:{a@x=b@y, c@x=d@y}\n"
		  "alias_maps =\n");
	m = lookup_maps_new(cfg, 0);
	ck_assert_int_eq(lookup_maps_open_all(m), 0);

	request(&in, LOOKUP_REQ_GET, "virtual_alias_maps", "a@x");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_FOUND);
	ck_assert_str_eq(v, "b@y");
	ipc_in_free(&in);

	request(&in, LOOKUP_REQ_GET, "virtual_alias_maps", "zz@x");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_NOTFOUND);
	ck_assert_str_eq(v, "");
	ipc_in_free(&in);

	/* An empty parameter has no tables: not found, never an error. */
	request(&in, LOOKUP_REQ_GET, "alias_maps", "root");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_NOTFOUND);
	ipc_in_free(&in);

	/* The empty key is a key like any other. */
	request(&in, LOOKUP_REQ_GET, "virtual_alias_maps", "");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_NOTFOUND);
	ipc_in_free(&in);
	lookup_maps_free(m);
}
END_TEST

START_TEST(test_handle_missing_table_is_temporary_then_found)
{
	struct lookup_maps *m;
	struct ipc_in in;
	uint64_t st;
	char    v[256], why[256], line[256];

	make_dir();
	(void) str_fmt(line, sizeof(line), "alias_maps = hash:%s/aliases\n", dir);
	load_cfg(line);
	m = lookup_maps_new(cfg, 0);
	ck_assert_int_eq(lookup_maps_open_all(m), 2);	/* alias + local_recipient */

	request(&in, LOOKUP_REQ_GET, "alias_maps", "root");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_TEMP);
	ck_assert_msg(strstr(v, "aliases") != NULL, "reason: %s", v);
	ipc_in_free(&in);

	/* newaliases runs: the next lookup opens the table. */
	write_file("aliases", "root: admin\n");
	build_table("aliases", 1);
	request(&in, LOOKUP_REQ_GET, "alias_maps", "root");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_FOUND);
	ck_assert_str_eq(v, "admin");
	ipc_in_free(&in);
	lookup_maps_free(m);
}
END_TEST

START_TEST(test_handle_bad_requests)
{
	struct lookup_maps *m;
	struct ipc_in in;
	uint64_t st;
	char    v[256], why[256], key[TABLE_KEY_MAX + 2];

	setup_cfg("virtual_alias_maps = inline:{a@x=b@y}\n");
	m = lookup_maps_new(cfg, 0);

	request(&in, 0x7777, "virtual_alias_maps", "a@x");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "type") != NULL, "%s", why);
	ipc_in_free(&in);

	request(&in, LOOKUP_REQ_GET, "virtual_alias_maps", NULL);	/* no key */
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), -1);
	ipc_in_free(&in);

	request(&in, LOOKUP_REQ_GET, NULL, "a@x");			/* no param */
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), -1);
	ipc_in_free(&in);

	/* A table that exists but is not a served parameter. */
	request(&in, LOOKUP_REQ_GET, "mydestination", "a@x");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "mydestination") != NULL, "%s", why);
	ipc_in_free(&in);
	request(&in, LOOKUP_REQ_GET, "hash:/etc/shadow", "root");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), -1);
	ipc_in_free(&in);

	/* Key bound: TABLE_KEY_MAX passes, one more does not. */
	memset(key, 'k', TABLE_KEY_MAX);
	key[TABLE_KEY_MAX] = '\0';
	request(&in, LOOKUP_REQ_GET, "virtual_alias_maps", key);
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_NOTFOUND);
	ipc_in_free(&in);
	key[TABLE_KEY_MAX] = 'k';
	key[TABLE_KEY_MAX + 1] = '\0';
	request(&in, LOOKUP_REQ_GET, "virtual_alias_maps", key);
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), -1);
	ipc_in_free(&in);

	/* An extra record after the key. */
	{
		struct ipc_msg x;
		int     sv[2];

		ipc_msg_init(&x, LOOKUP_REQ_GET);
		ipc_put_str(&x, "param", "virtual_alias_maps");
		ipc_put_str(&x, "key", "a@x");
		ipc_put_num(&x, "extra", 1);
		ck_assert_int_eq(ipc_socketpair(sv), 0);
		ck_assert_int_eq(ipc_send(sv[0], &x, -1, 1000), 0);
		ipc_in_init(&in);
		ck_assert_int_eq(ipc_recv(sv[1], &in, NULL, 1000), 0);
		ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), -1);
		ipc_in_free(&in);
		ipc_msg_free(&x);
		close(sv[0]);
		close(sv[1]);
	}
	lookup_maps_free(m);
}
END_TEST

/* request_addr - a LOOKUP_REQ_ADDR message, with the record named kname */
static void
request_addr(struct ipc_in *in, const char *param, const char *kname,
	     const char *address)
{
	struct ipc_msg m;
	int     sv[2];

	ipc_msg_init(&m, LOOKUP_REQ_ADDR);
	ck_assert_int_eq(ipc_put_str(&m, "param", param), 0);
	ck_assert_int_eq(ipc_put_str(&m, kname, address), 0);
	ck_assert_int_eq(ipc_socketpair(sv), 0);
	ck_assert_int_eq(ipc_send(sv[0], &m, -1, 1000), 0);
	ipc_in_init(in);
	ck_assert_int_eq(ipc_recv(sv[1], in, NULL, 1000), 0);
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&m);
}

/* addr_req - status and value of one address request through lookup_handle */
static int
addr_req(struct lookup_maps *m, const char *address, uint64_t *st, char *v,
	 size_t vsize)
{
	struct ipc_in in;
	char    why[256];
	int     r;

	request_addr(&in, "virtual_alias_maps", "address", address);
	r = handle(m, &in, st, v, vsize, why, sizeof(why));
	ipc_in_free(&in);
	return r;
}

START_TEST(test_handle_addr_tries_the_keys_itself)
{
	struct lookup_maps *m;
	struct ipc_in in;
	uint64_t st;
	char    v[256], why[256], a[TABLE_KEY_MAX + 2];

	setup_cfg("alias_maps =\nmydestination = localhost, example.com\n"
		  "recipient_delimiter = +\n"
		  "virtual_alias_maps = inline:{ a@example.org=x@y, "
		  "b@example.org=@other.net, @catch.org=all@y, local=l@y }\n");
	m = lookup_maps_new(cfg, 0);
	ck_assert_int_eq(lookup_maps_open_all(m), 0);

	/* The whole sequence and rewriting in one request. */
	ck_assert_int_eq(addr_req(m, "a@example.org", &st, v, sizeof(v)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_FOUND);
	ck_assert_str_eq(v, "x@y");
	ck_assert_int_eq(addr_req(m, "a+ext@example.org", &st, v, sizeof(v)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_FOUND);
	ck_assert_str_eq(v, "x+ext@y");
	ck_assert_int_eq(addr_req(m, "b+e@example.org", &st, v, sizeof(v)), 0);
	ck_assert_str_eq(v, "b+e@other.net");
	ck_assert_int_eq(addr_req(m, "zz+e@catch.org", &st, v, sizeof(v)), 0);
	ck_assert_str_eq(v, "all@y");
	ck_assert_int_eq(addr_req(m, "local+x@example.com", &st, v, sizeof(v)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_FOUND);
	ck_assert_str_eq(v, "l+x@y");
	ck_assert_int_eq(addr_req(m, "local@example.org", &st, v, sizeof(v)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_NOTFOUND);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(addr_req(m, "", &st, v, sizeof(v)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_NOTFOUND);

	/* Bounds: TABLE_KEY_MAX bytes pass (not found), one more is refused. */
	memset(a, 'k', TABLE_KEY_MAX);
	a[TABLE_KEY_MAX] = '\0';
	ck_assert_int_eq(addr_req(m, a, &st, v, sizeof(v)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_NOTFOUND);
	a[TABLE_KEY_MAX] = 'k';
	a[TABLE_KEY_MAX + 1] = '\0';
	ck_assert_int_eq(addr_req(m, a, &st, v, sizeof(v)), -1);

	/* The record is "address", not "key"; the parameter must be served. */
	request_addr(&in, "virtual_alias_maps", "key", "a@example.org");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), -1);
	ipc_in_free(&in);
	request_addr(&in, "mydestination", "address", "a@example.org");
	ck_assert_int_eq(handle(m, &in, &st, v, sizeof(v), why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "mydestination") != NULL, "%s", why);
	ipc_in_free(&in);
	lookup_maps_free(m);
}
END_TEST

START_TEST(test_handle_addr_missing_table_is_temporary)
{
	struct lookup_maps *m;
	uint64_t st;
	char    v[256], line[256];

	make_dir();
	(void) str_fmt(line, sizeof(line), "alias_maps =\nvirtual_alias_maps = hash:%s/virtual\n", dir);
	load_cfg(line);
	m = lookup_maps_new(cfg, 0);
	ck_assert_int_eq(lookup_maps_open_all(m), 1);
	ck_assert_int_eq(addr_req(m, "a@x", &st, v, sizeof(v)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_TEMP);
	ck_assert_msg(strstr(v, "virtual") != NULL, "reason: %s", v);
	lookup_maps_free(m);
}
END_TEST

START_TEST(test_tables_checked_once_per_request)
{
	struct lookup_maps *m;
	struct buf v;
	char    line[256], why[LOOKUP_WHY_MAX];

	make_dir();
	write_file("virtual", "a@x b@y\n");
	(void) str_fmt(line, sizeof(line), "alias_maps =\nvirtual_alias_maps = hash:%s/virtual\n", dir);
	build_table("virtual", 0);
	load_cfg(line);
	m = lookup_maps_new(cfg, 0);
	ck_assert_int_eq(lookup_maps_open_all(m), 0);
	buf_init(&v, TABLE_VALUE_MAX);

	/* Within one request the table is checked at its first key only ... */
	lookup_maps_request(m);
	ck_assert_int_eq(lookup_maps_get(m, "virtual_alias_maps", "new@x", &v, why,
					 sizeof(why)), 0);
	write_file("virtual", "a@x b@y\nnew@x fresh@y\n");
	build_table("virtual", 0);
	ck_assert_int_eq(lookup_maps_get(m, "virtual_alias_maps", "new@x", &v, why,
					 sizeof(why)), 0);
	/* ... and the next request sees the new file at once. */
	lookup_maps_request(m);
	ck_assert_int_eq(lookup_maps_get(m, "virtual_alias_maps", "new@x", &v, why,
					 sizeof(why)), 1);
	ck_assert_str_eq(buf_str(&v), "fresh@y");
	buf_free(&v);
	lookup_maps_free(m);
}
END_TEST

START_TEST(test_reopen_after_rebuild)
{
	struct lookup_maps *m;
	struct buf v;
	char    line[256], why[LOOKUP_WHY_MAX];

	make_dir();
	write_file("virtual", "a@x b@y\n");
	(void) str_fmt(line, sizeof(line), "alias_maps =\nvirtual_alias_maps = hash:%s/virtual\n", dir);
	build_table("virtual", 0);
	load_cfg(line);
	m = lookup_maps_new(cfg, 0);
	ck_assert_int_eq(lookup_maps_open_all(m), 0);
	buf_init(&v, TABLE_VALUE_MAX);
	ck_assert_int_eq(lookup_maps_get(m, "virtual_alias_maps", "new@x", &v, why,
					 sizeof(why)), 0);

	write_file("virtual", "a@x b@y\nnew@x fresh@y\n");
	build_table("virtual", 0);
	ck_assert_int_eq(lookup_maps_get(m, "virtual_alias_maps", "new@x", &v, why,
					 sizeof(why)), 1);
	ck_assert_str_eq(buf_str(&v), "fresh@y");

	/* With a long check interval the change is not seen yet. */
	lookup_maps_free(m);
	m = lookup_maps_new(cfg, 3600 * 1000);
	ck_assert_int_eq(lookup_maps_open_all(m), 0);
	write_file("virtual", "a@x b@y\n");
	build_table("virtual", 0);
	ck_assert_int_eq(lookup_maps_get(m, "virtual_alias_maps", "new@x", &v, why,
					 sizeof(why)), 1);

	/* A served parameter that is not a table list name fails. */
	ck_assert_int_eq(lookup_maps_get(m, "myhostname", "x", &v, why,
					 sizeof(why)), -1);
	buf_free(&v);
	lookup_maps_free(m);
}
END_TEST

/* -- the connection layer on a real loop ----------------------------- */

static int stop_calls;

static void
stopped(void)
{
	stop_calls++;
}

/* pump - run the loop until fd is readable or ms pass */
static void
pump(struct ev_loop *loop, int ms)
{
	uint64_t end = ev_time_ms() + (uint64_t) ms;

	while (ev_time_ms() < end)
		(void) ev_run_once(loop, 10);
}

static int
recv_reply(struct ev_loop *loop, int fd, uint64_t *st, char *v, size_t vsize)
{
	struct ipc_in in;
	const char *s;
	int     r;

	pump(loop, 50);
	ipc_in_init(&in);
	r = ipc_recv(fd, &in, NULL, 200);
	if (r != 0) {
		ipc_in_free(&in);
		return r;
	}
	ck_assert_int_eq(in.type, LOOKUP_REP);
	ck_assert_int_eq(ipc_get_num(&in, "status", st), 0);
	ck_assert_int_eq(ipc_get_str(&in, "value", &s, TABLE_VALUE_MAX), 0);
	(void) str_copy(v, vsize, s);
	ipc_in_free(&in);
	return 0;
}

START_TEST(test_conn_pipelined_requests_and_bad_request_drops)
{
	struct lookup_maps *m;
	struct ev_loop *loop = ev_loop_new();
	struct ipc_msg a, b, bad;
	int     sv[2], sv2[2];
	uint64_t st;
	char    v[256], c;

	setup_cfg("virtual_alias_maps = inline:{a@x=b@y, c@x=d@y}\n");
	m = lookup_maps_new(cfg, 0);
	lookup_server_init(m, 60000, 100);
	ck_assert_int_eq(ipc_socketpair(sv), 0);
	ck_assert_int_eq(ipc_socketpair(sv2), 0);
	lookup_server_add(loop, sv[1]);
	lookup_server_add(loop, sv2[1]);
	ck_assert_uint_eq(lookup_server_clients(), 2);

	/* Two requests in one write: two replies, in order. */
	lookup_req_build(&a, "virtual_alias_maps", "a@x");
	lookup_req_build(&b, "virtual_alias_maps", "c@x");
	ck_assert_int_eq(ipc_send(sv[0], &a, -1, 1000), 0);
	ck_assert_int_eq(ipc_send(sv[0], &b, -1, 1000), 0);
	ck_assert_int_eq(recv_reply(loop, sv[0], &st, v, sizeof(v)), 0);
	ck_assert_uint_eq(st, LOOKUP_STAT_FOUND);
	ck_assert_str_eq(v, "b@y");
	ck_assert_int_eq(recv_reply(loop, sv[0], &st, v, sizeof(v)), 0);
	ck_assert_str_eq(v, "d@y");

	/* A bad request closes that client only. */
	ipc_msg_init(&bad, LOOKUP_REQ_GET);
	ipc_put_str(&bad, "param", "mynetworks");
	ipc_put_str(&bad, "key", "x");
	ck_assert_int_eq(ipc_send(sv[0], &bad, -1, 1000), 0);
	pump(loop, 50);
	ck_assert_int_eq(read(sv[0], &c, 1), 0);		/* EOF */
	ck_assert_uint_eq(lookup_server_clients(), 1);

	/* Garbage bytes are a protocol error too. */
	ck_assert_int_eq(write(sv2[0], "HELLO WORLD, THIS IS NOT IPC", 28), 28);
	pump(loop, 50);
	ck_assert_int_eq(read(sv2[0], &c, 1), 0);
	ck_assert_uint_eq(lookup_server_clients(), 0);

	ipc_msg_free(&a);
	ipc_msg_free(&b);
	ipc_msg_free(&bad);
	close(sv[0]);
	close(sv2[0]);
	lookup_maps_free(m);
}
END_TEST

START_TEST(test_conn_idle_client_closed_and_stop)
{
	struct lookup_maps *m;
	struct ev_loop *loop = ev_loop_new();
	struct ipc_msg a;
	int     sv[2], sv2[2];
	uint64_t st;
	char    v[64], c;

	setup_cfg("virtual_alias_maps = inline:{a@x=b@y}\n");
	m = lookup_maps_new(cfg, 0);
	lookup_server_init(m, 100, 100);	/* idle: 100 ms */
	ck_assert_int_eq(ipc_socketpair(sv), 0);
	lookup_server_add(loop, sv[1]);
	pump(loop, 300);
	ck_assert_int_eq(read(sv[0], &c, 1), 0);
	ck_assert_uint_eq(lookup_server_clients(), 0);
	close(sv[0]);

	/* Stop: idle clients are closed and done is called once. */
	lookup_server_init(m, 60000, 100);
	ck_assert_int_eq(ipc_socketpair(sv), 0);
	ck_assert_int_eq(ipc_socketpair(sv2), 0);
	lookup_server_add(loop, sv[1]);
	lookup_server_add(loop, sv2[1]);
	lookup_req_build(&a, "virtual_alias_maps", "a@x");
	ck_assert_int_eq(ipc_send(sv[0], &a, -1, 1000), 0);
	ck_assert_int_eq(recv_reply(loop, sv[0], &st, v, sizeof(v)), 0);
	ck_assert_int_eq(stop_calls, 0);
	lookup_server_stop(loop, stopped);
	ck_assert_int_eq(stop_calls, 1);
	ck_assert_uint_eq(lookup_server_clients(), 0);
	ck_assert_int_eq(read(sv[0], &c, 1), 0);
	ck_assert_int_eq(read(sv2[0], &c, 1), 0);
	pump(loop, 20);
	ck_assert_int_eq(stop_calls, 1);
	ipc_msg_free(&a);
	lookup_maps_free(m);
}
END_TEST

START_TEST(test_conn_max_clients_pauses_accept)
{
	struct lookup_maps *m;
	struct ev_loop *loop = ev_loop_new();
	char    path[128];
	int     lfd, c1, c2, c3;
	char    ch;

	setup_cfg("virtual_alias_maps = inline:{a@x=b@y}\n");
	m = lookup_maps_new(cfg, 0);
	lookup_server_init(m, 60000, 2);
	(void) str_fmt(path, sizeof(path), "%s/lookup.sock", dir);
	lfd = ipc_listen(path, 0600, 16);
	ck_assert_int_ge(lfd, 0);
	lookup_server_listen(loop, lfd);
	c1 = ipc_connect(path, false);
	c2 = ipc_connect(path, false);
	c3 = ipc_connect(path, false);
	ck_assert_int_ge(c3, 0);
	pump(loop, 50);
	ck_assert_uint_eq(lookup_server_clients(), 2);	/* c3 waits in the backlog */
	close(c1);
	pump(loop, 50);
	ck_assert_uint_eq(lookup_server_clients(), 2);	/* c3 accepted now */
	close(c2);
	close(c3);
	pump(loop, 50);
	ck_assert_uint_eq(lookup_server_clients(), 0);
	(void) ch;
	lookup_maps_free(m);
}
END_TEST

/* -- lib/svc/lookup_clnt against the real server --------------------------- */

/* server - a child running the real lookup server on path */
static pid_t
server(const char *path)
{
	pid_t   pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ev_loop *loop = ev_loop_new();
		struct lookup_maps *m = lookup_maps_new(cfg, 0);
		int     fd = ipc_listen(path, 0600, 16);

		if (fd < 0)
			_exit(2);
		lookup_server_init(m, 60000, 16);
		lookup_server_listen(loop, fd);
		ev_run(loop);
		_exit(0);
	}
	/* Wait until it listens. */
	for (int i = 0; i < 200; i++) {
		int     fd = ipc_connect(path, false);

		if (fd >= 0) {
			close(fd);
			break;
		}
		usleep(5000);
	}
	return pid;
}

static void
kill_server(pid_t pid)
{
	int     st;

	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

START_TEST(test_remote_reconnects_once)
{
	char    path[128];
	struct buf v;
	pid_t   pid;

	setup_cfg("alias_maps =\nmydestination = localhost\nrecipient_delimiter = +\n"
		  "virtual_alias_maps = inline:{ a=b }\n");
	(void) str_fmt(path, sizeof(path), "%s/lookup", dir);
	lookup_clnt_set_path(path);
	buf_init(&v, TABLE_VALUE_MAX);

	pid = server(path);
	ck_assert_int_eq(lookup_get("virtual_alias_maps", "a", &v), 1);
	ck_assert_str_eq(buf_str(&v), "b");
	ck_assert_int_eq(lookup_get("virtual_alias_maps", "zz", &v), 0);

	/* The service restarts: the kept connection is dead, one retry. */
	kill_server(pid);
	pid = server(path);
	ck_assert_msg(lookup_get("virtual_alias_maps", "a", &v) == 1, "%s",
		      lookup_clnt_error());
	ck_assert_int_eq(lookup_addr("virtual_alias_maps", "a", &v), 1);
	/* An address: one request, the service tries the keys and rewrites. */
	ck_assert_msg(lookup_addr("virtual_alias_maps", "a+ext@localhost", &v) == 1,
		      "%s", lookup_clnt_error());
	ck_assert_str_eq(buf_str(&v), "b+ext");
	ck_assert_int_eq(lookup_addr("virtual_alias_maps", "zz@localhost", &v), 0);

	/* Gone for good: a temporary failure, never "not found". */
	kill_server(pid);
	unlink(path);
	ck_assert_int_eq(lookup_get("virtual_alias_maps", "a", &v), -1);
	ck_assert_int_eq(lookup_addr("virtual_alias_maps", "x@y", &v), -1);
	buf_free(&v);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("lookup_server");
	TCase  *tc = tcase_create("core");

	log_init("lookup_server_test", LOG_DEST_STDERR);
	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_handle_found_notfound_empty_param);
	tcase_add_test(tc, test_handle_missing_table_is_temporary_then_found);
	tcase_add_test(tc, test_handle_bad_requests);
	tcase_add_test(tc, test_handle_addr_tries_the_keys_itself);
	tcase_add_test(tc, test_handle_addr_missing_table_is_temporary);
	tcase_add_test(tc, test_tables_checked_once_per_request);
	tcase_add_test(tc, test_reopen_after_rebuild);
	tcase_add_test(tc, test_conn_pipelined_requests_and_bad_request_drops);
	tcase_add_test(tc, test_conn_idle_client_closed_and_stop);
	tcase_add_test(tc, test_conn_max_clients_pauses_accept);
	tcase_add_test(tc, test_remote_reconnects_once);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
