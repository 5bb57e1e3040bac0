/*
 * smtpd_restrict_test - check suite for smtpd's restriction engine
 * (smtpd/smtpd_restrict.c and what it calls: smtpd_access.c,
 * smtpd_dnsbl.c, smtpd_policy.c), driven directly: a session made by
 * hand (client address and name, HELO name, sender), smtpd_restrict()
 * at HELO, MAIL and RCPT, and Postfix 3.7's answers asserted, reply
 * code, enhanced status code and text:
 *
 *	the first restriction with an opinion decides, per list; a list
 *	that permits hands on to the next list; permit, reject, defer,
 *	dunno; smtpd_delay_reject (yes: the client, HELO and sender lists
 *	answer at RCPT; no: at HELO and MAIL, a client refusal kept);
 *	warn_if_reject (a logged reject_warning); defer_if_permit and
 *	defer_if_reject, resolved at the end of the lists, each within
 *	the lists Postfix evaluates together; permit_mynetworks;
 *	reject_unauth_destination against defer_unauth_destination;
 *	reject_non_fqdn_helo_hostname, _sender, _recipient;
 *	reject_invalid_helo_hostname; access table results (OK, REJECT,
 *	DEFER, 4NN text, 5NN text, DUNNO, a list of restrictions, a
 *	restriction class, a table or an unknown word as a result); an
 *	unknown word refused when the lists are loaded (smtpd exits);
 *	DNS lists answered by a DNS server on the test's own event loop
 *	(fake_dns.h, 127.0.0.1); check_policy_service answered by a
 *	policy server on the test's loop (a UNIX socket in the test's
 *	directory), and one that is not there.
 *
 * Tables are inline:, static:, cidr: and texthash: files in the test's
 * directory (read whole, in this process); hash: and other tables the
 * lookup service serves, the lookup service itself, postern check's
 * refusal of an unknown word, and the replies as a client sees them
 * (the NOQUEUE log line, the error delay) are left to e2e
 * (test_restrictions, test_lookup, test_smtpd), which run real daemons.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_main.h"
#include "test_config.h"

#include "buf.h"
#include "config.h"
#include "log.h"
#include "params.h"
#include "restriction.h"
#include "str.h"
#include "../../smtpd/smtpd.h"
#include "fake_dns.h"
#include "fake_lookup.h"
#include "smtpd_test.h"

static char dir[] = "/tmp/smtpd_restrict_test.XXXXXX";
static char logpath[300];
static struct ev_loop *loop;
static struct fake_dns dns;

static const struct fake_rr zone[] = {
	/* 198.51.100.7 on two lists, down on a third */
	{"7.100.51.198.bl.test", FAKE_A, 0, false, {"127.0.0.2"}},
	{"7.100.51.198.wl.test", FAKE_A, 0, false, {"127.0.0.5"}},
	{"7.100.51.198.down.test", FAKE_A, 2, false, {NULL}},
	{NULL, 0, 0, false, {NULL}},
};

/* ------------------------------------------------------------------ */
/* A policy server on the test's loop.                                */

#define POLICY_CONNS 4

struct policy_conn {
	int	fd;
	struct ev_io io;
	char	buf[8192];
	size_t	len;
};

static struct {
	int	fd;
	struct ev_io io;
	struct policy_conn conn[POLICY_CONNS];
	const char *action;		/* what it answers */
	int	requests;
	char	last[8192];		/* the last request */
} pol;

static void
policy_close(struct policy_conn *pc)
{
	if (pc->fd < 0)
		return;
	ev_io_stop(loop, &pc->io);
	close(pc->fd);
	pc->fd = -1;
}

static void
policy_read(struct ev_loop *l, struct ev_io *io, unsigned revents)
{
	struct policy_conn *pc = io->data;
	ssize_t	n;
	char	reply[600];

	(void) l;
	(void) revents;
	n = read(pc->fd, pc->buf + pc->len, sizeof(pc->buf) - 1 - pc->len);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		policy_close(pc);
		return;
	}
	pc->len += (size_t) n;
	pc->buf[pc->len] = 0;
	if (pc->len < 2 || strcmp(pc->buf + pc->len - 2, "\n\n") != 0)
		return;
	pol.requests++;
	(void) str_copy(pol.last, sizeof(pol.last), pc->buf);
	pc->len = 0;
	(void) str_fmt(reply, sizeof(reply), "action=%s\n\n", pol.action);
	ck_assert_int_eq(write(pc->fd, reply, strlen(reply)), (ssize_t) strlen(reply));
}

static void
policy_accept(struct ev_loop *l, struct ev_io *io, unsigned revents)
{
	int	fd;

	(void) io;
	(void) revents;
	if ((fd = accept4(pol.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return;
	for (int i = 0; i < POLICY_CONNS; i++)
		if (pol.conn[i].fd < 0) {
			pol.conn[i].fd = fd;
			pol.conn[i].len = 0;
			ev_io_init(&pol.conn[i].io, fd, policy_read, &pol.conn[i]);
			ev_io_start(l, &pol.conn[i].io, EV_READ);
			return;
		}
	close(fd);
}

static void
policy_start(void)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_int_eq(str_fmt(sun.sun_path, sizeof(sun.sun_path), "%s/policy", dir), 0);
	pol.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(pol.fd, 0);
	ck_assert_int_eq(bind(pol.fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(pol.fd, 8), 0);
	for (int i = 0; i < POLICY_CONNS; i++)
		pol.conn[i].fd = -1;
	ev_io_init(&pol.io, pol.fd, policy_accept, NULL);
	ev_io_start(loop, &pol.io, EV_READ);
	pol.requests = 0;
	pol.action = "DUNNO";
}

static void
policy_stop(void)
{
	if (pol.fd < 0)
		return;
	for (int i = 0; i < POLICY_CONNS; i++)
		policy_close(&pol.conn[i]);
	ev_io_stop(loop, &pol.io);
	close(pol.fd);
	pol.fd = -1;
}

/* ------------------------------------------------------------------ */
/* Configuration, session, evaluation.                                */

static int
no_lookup(const char *param, const char *address)
{
	(void) param;
	(void) address;
	return 0;
}

/* file - a file of the test's directory */
static void
file(const char *name, const char *text)
{
	FILE   *f = fopen(name, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * load - main.cf with extra appended (DIR in extra stands for the test's
 * directory), smtpd's lists loaded from it
 */
static void
load(const char *extra)
{
	char    text[8192], ex[4096];
	const char *p;
	size_t	n = 0;

	for (p = extra; *p && n + strlen(dir) + 1 < sizeof(ex); p++) {
		if (strncmp(p, "DIR", 3) == 0) {
			memcpy(ex + n, dir, strlen(dir));
			n += strlen(dir);
			p += 2;
		} else
			ex[n++] = *p;
	}
	ex[n] = 0;
	ck_assert_int_eq(str_fmt(text, sizeof(text), "myhostname = mx.example.com\n"
		"mydestination = example.com\n"
		"relay_domains = relay.example.net\n"
		"mynetworks = 192.0.2.0/28\n"
		"local_recipient_maps =\n"
		"smtpd_peername_lookup = no\n"
		"smtpd_policy_service_try_limit = 1\n"
		"resolver_servers = 127.0.0.1:%d\n"
		"%s\n", dns.port, ex), 0);
	test_config_load(dir, text);
	smtpd_peer_end();
	smtpd_restrict_free();
	smtpd_conf_free();
	smtpd_conf_init();
	smtpd_restrict_init();
	fake_lookup_install(no_lookup);
	smtpd_peer_init();
	smtpd_peer_start(loop);
}

static struct smtpd_session sess;

static void
session_end(void)
{
	smtpd_restrict_cancel(&sess);
	smtpd_actions_reset(&sess);
	smtpd_dnscache_free(&sess);
	free(sess.refusal);
	free(sess.early_defer);
	free(sess.reverse_name);
	memset(&sess, 0, sizeof(sess));
}

/* session - a new client: address, confirmed name, HELO name ("": none) */
static void
session(const char *addr, const char *name, const char *helo)
{
	session_end();
	sess.rfd = sess.wfd = -1;
	(void) str_copy(sess.addr, sizeof(sess.addr), addr);
	(void) str_copy(sess.name, sizeof(sess.name), name);
	(void) str_copy(sess.helo, sizeof(sess.helo), helo);
	sess.esmtp = true;
	sess.trusted = netlist_match_str(smtpd_conf.mynetworks, addr);
}

static void
mail(const char *sender)
{
	sess.in_mail = true;
	(void) str_copy(sess.sender, sizeof(sess.sender), sender);
	smtpd_actions_reset(&sess);
}

static bool decided;
static struct smtpd_verdict v, last_v;

static void
checked(struct smtpd_session *s, const struct smtpd_verdict *vv, const char *addr)
{
	(void) s;
	(void) addr;
	decided = true;
	last_v = *vv;
}

/* check - the verdict (v) of the lists of when; its reply code */
static int
check(enum smtpd_when when, const char *rcpt)
{
	decided = false;
	if (!smtpd_restrict(&sess, when, rcpt, &v, checked)) {
		ck_assert_ptr_nonnull(sess.check);
		for (int i = 0; i < 500 && !decided; i++)
			ck_assert_int_ge(ev_run_once(loop, 10), 0);
		ck_assert_msg(decided, "no verdict came");
		v = last_v;
	}
	ck_assert_ptr_null(sess.check);
	return v.code;
}

#define rcpt(a)	check(SMTPD_AT_RCPT, (a))

/* is - the verdict: code, enhanced status code and text */
#define is(code_, dsn_, text_) do { \
	ck_assert_int_eq(v.code, (code_)); \
	ck_assert_str_eq(v.dsn, (dsn_)); \
	ck_assert_str_eq(v.text, (text_)); \
} while (0)

/* logged - the lines of the log holding needle */
static int
logged(const char *needle)
{
	FILE   *f;
	char	line[4096];
	int	n = 0;

	smtpd_logsum_flush();
	f = fopen(logpath, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	(void) str_fmt(logpath, sizeof(logpath), "%s/log", dir);
	log_init("smtpd", 0);
	ck_assert_int_eq(log_open_file(logpath), 0);
	loop = ev_loop_new();
	smtpd_loop = loop;
	pol.fd = -1;
	ck_assert_int_eq(fake_dns_start(&dns, loop, zone), 0);
	load("");
	session("198.51.100.7", "unknown", "client.example.org");
}

static void
teardown(void)
{
	session_end();
	policy_stop();
	smtpd_restrict_free();
	smtpd_peer_end();
	fake_dns_stop(&dns, loop);
	ev_loop_free(loop);
	smtpd_test_unload();
	log_close_file();
	smtpd_test_rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

/* ------------------------------------------------------------------ */
/* The lists.                                                         */

START_TEST(test_first_match)
{
	load("smtpd_client_restrictions = permit, reject");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 0);

	load("smtpd_client_restrictions = reject, permit");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<unknown[198.51.100.7]>: Client host rejected: Access denied");

	load("smtpd_client_restrictions = defer, reject");
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.3.2", "<unknown[198.51.100.7]>: Client host rejected: Try again later");

	/* No opinion: the next word. */
	load("smtpd_client_restrictions = permit_mynetworks, "
	     "check_client_access inline:{192.0.2.200=OK}, reject");
	ck_assert_int_eq(rcpt("b@example.com"), 554);

	/* A permit ends its list only: the next list still runs. */
	load("smtpd_client_restrictions = permit\n"
	     "smtpd_sender_restrictions = reject");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<a@sender.example>: Sender address rejected: Access denied");
	load("smtpd_helo_restrictions = reject");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<client.example.org>: Helo command rejected: Access denied");

	/* The relay list's permit does not skip the recipient list. */
	load("smtpd_relay_restrictions = permit, reject_unauth_destination\n"
	     "smtpd_recipient_restrictions = reject");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<b@example.com>: Recipient address rejected: Access denied");

	/* A rejection ends the evaluation: the relay list is not reached. */
	load("smtpd_client_restrictions = defer\n"
	     "smtpd_relay_restrictions = reject");
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	ck_assert_str_eq(v.dsn, "4.3.2");

	/* reject_code and defer_code */
	load("smtpd_client_restrictions = reject\nreject_code = 550");
	ck_assert_int_eq(rcpt("b@example.com"), 550);
	load("smtpd_client_restrictions = defer\ndefer_code = 421");
	ck_assert_int_eq(rcpt("b@example.com"), 421);
	ck_assert_str_eq(v.dsn, "4.3.2");
}
END_TEST

START_TEST(test_delay_reject)
{
	load("smtpd_client_restrictions = reject\n"
	     "smtpd_helo_restrictions = reject");
	/* yes (the default): nothing at HELO and MAIL, all at RCPT */
	ck_assert_int_eq(check(SMTPD_AT_HELO, NULL), 0);
	mail("a@sender.example");
	ck_assert_int_eq(check(SMTPD_AT_MAIL, NULL), 0);
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<unknown[198.51.100.7]>: Client host rejected: Access denied");
	/* Each RCPT is refused on its own. */
	ck_assert_int_eq(rcpt("c@example.com"), 554);

	/* no: the client list at HELO, and its refusal kept */
	load("smtpd_delay_reject = no\n"
	     "smtpd_client_restrictions = reject\n"
	     "smtpd_sender_restrictions = permit");
	session("198.51.100.7", "unknown", "client.example.org");
	ck_assert_int_eq(check(SMTPD_AT_HELO, NULL), 554);
	is(554, "5.7.1", "<unknown[198.51.100.7]>: Client host rejected: Access denied");
	mail("a@sender.example");
	ck_assert_int_eq(check(SMTPD_AT_MAIL, NULL), 554);
	is(554, "5.7.1", "<unknown[198.51.100.7]>: Client host rejected: Access denied");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<unknown[198.51.100.7]>: Client host rejected: Access denied");

	/* no: the HELO list at HELO, the sender list at MAIL, the rest at RCPT */
	load("smtpd_delay_reject = no\n"
	     "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n"
	     "smtpd_sender_restrictions = reject_non_fqdn_sender\n"
	     "smtpd_relay_restrictions = reject_non_fqdn_recipient, "
	     "defer_unauth_destination");
	session("198.51.100.7", "unknown", "nodots");
	ck_assert_int_eq(check(SMTPD_AT_HELO, NULL), 504);
	is(504, "5.5.2", "<nodots>: Helo command rejected: need fully-qualified hostname");
	(void) str_copy(sess.helo, sizeof(sess.helo), "client.example.org");
	ck_assert_int_eq(check(SMTPD_AT_HELO, NULL), 0);
	mail("a@nodots");
	ck_assert_int_eq(check(SMTPD_AT_MAIL, NULL), 504);
	is(504, "5.5.2", "<a@nodots>: Sender address rejected: need fully-qualified address");
	mail("a@sender.example");
	ck_assert_int_eq(check(SMTPD_AT_MAIL, NULL), 0);
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	ck_assert_int_eq(rcpt("b@nodots"), 504);

	/* no, and the client skipped HELO: the HELO list runs at MAIL */
	load("smtpd_delay_reject = no\n"
	     "smtpd_helo_restrictions = reject");
	session("198.51.100.7", "unknown", "");
	mail("a@sender.example");
	ck_assert_int_eq(check(SMTPD_AT_MAIL, NULL), 554);
	ck_assert_str_eq(v.dsn, "5.7.1");
}
END_TEST

START_TEST(test_warn_if_reject)
{
	load("smtpd_client_restrictions = warn_if_reject, reject");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	ck_assert_int_eq(logged("NOQUEUE: reject_warning: RCPT from unknown[198.51.100.7]: "
				"554 5.7.1 <unknown[198.51.100.7]>: Client host rejected: "
				"Access denied; from=<a@sender.example> to=<b@example.com>"), 1);

	/* It concerns the next word only, in the lists evaluated together. */
	load("smtpd_client_restrictions = warn_if_reject, permit_mynetworks, reject");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	load("smtpd_client_restrictions = warn_if_reject\n"
	     "smtpd_sender_restrictions = reject");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	ck_assert_str_eq(v.text, "<a@sender.example>: Sender address rejected: Access denied");

	/* An access table's REJECT, and a rejection inside a result's list. */
	file("client", "198.51.100.7 REJECT go away\n"
	     "198.51.100.8 reject_non_fqdn_helo_hostname, permit\n");
	load("smtpd_client_restrictions = warn_if_reject, check_client_access "
	     "texthash:DIR/client, reject_non_fqdn_sender");
	mail("a@nodots");
	ck_assert_int_eq(rcpt("b@example.com"), 504);
	ck_assert_int_eq(logged("554 5.7.1 <unknown[198.51.100.7]>: Client host rejected: "
				"go away"), 1);
	session("198.51.100.8", "unknown", "nodots");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	ck_assert_int_eq(logged("reject_warning: RCPT from unknown[198.51.100.8]: 504 5.5.2 "
				"<nodots>: Helo command rejected"), 1);

	/* warn_if_reject wins over defer_if_reject (Postfix). */
	load("smtpd_client_restrictions = defer_if_reject, warn_if_reject, reject");
	session("198.51.100.7", "unknown", "client.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
}
END_TEST

START_TEST(test_defer_if_permit)
{
	/* A later permit, explicit or implicit, becomes 450. */
	load("smtpd_client_restrictions = defer_if_permit, permit");
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.7.1", "<unknown[198.51.100.7]>: Client host rejected: "
	   "defer_if_permit requested");
	load("smtpd_sender_restrictions = defer_if_permit");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.7.1", "<a@sender.example>: Sender address rejected: "
	   "defer_if_permit requested");
	/* A rejection still rejects. */
	load("smtpd_client_restrictions = defer_if_permit\n"
	     "smtpd_recipient_restrictions = reject");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	load("smtpd_client_restrictions = defer_if_permit\n"
	     "smtpd_relay_restrictions = reject_unauth_destination");
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 554);
	is(554, "5.7.1", "<b@elsewhere.example>: Relay access denied");
	/* The first one named is the one reported; defer_code. */
	load("defer_code = 451\n"
	     "smtpd_client_restrictions = defer_if_permit\n"
	     "smtpd_recipient_restrictions = defer_if_permit");
	ck_assert_int_eq(rcpt("b@example.com"), 451);
	is(451, "4.7.1", "<unknown[198.51.100.7]>: Client host rejected: "
	   "defer_if_permit requested");
	/* An access table's DEFER_IF_PERMIT, with its text. */
	load("smtpd_recipient_restrictions = check_recipient_access "
	     "inline:{b@example.com=DEFER_IF_PERMIT}, permit");
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.7.1", "<b@example.com>: Recipient address rejected: Service unavailable");
	ck_assert_int_eq(rcpt("c@example.com"), 0);
}
END_TEST

START_TEST(test_defer_if_permit_no_delay)
{
	/*
	 * smtpd_delay_reject = no: a defer_if_permit of the client, HELO
	 * or sender list refuses nothing at HELO or MAIL; it waits for the
	 * RCPT's verdict (Postfix carries it there).
	 */
	load("smtpd_delay_reject = no\n"
	     "smtpd_client_restrictions = defer_if_permit");
	session("198.51.100.7", "unknown", "client.example.org");
	ck_assert_int_eq(check(SMTPD_AT_HELO, NULL), 0);
	mail("a@sender.example");
	ck_assert_int_eq(check(SMTPD_AT_MAIL, NULL), 0);
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.7.1", "<unknown[198.51.100.7]>: Client host rejected: "
	   "defer_if_permit requested");
	/* A rejection at RCPT still rejects. */
	load("smtpd_delay_reject = no\n"
	     "smtpd_sender_restrictions = defer_if_permit\n"
	     "smtpd_recipient_restrictions = check_recipient_access "
	     "inline:{bad@example.com=REJECT}");
	session("198.51.100.7", "unknown", "client.example.org");
	ck_assert_int_eq(check(SMTPD_AT_HELO, NULL), 0);
	mail("a@sender.example");
	ck_assert_int_eq(check(SMTPD_AT_MAIL, NULL), 0);
	ck_assert_int_eq(rcpt("bad@example.com"), 554);
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.7.1", "<a@sender.example>: Sender address rejected: "
	   "defer_if_permit requested");
	/* A new sender's list starts afresh. */
	load("smtpd_delay_reject = no\n"
	     "smtpd_sender_restrictions = check_sender_access "
	     "inline:{a@sender.example=DEFER_IF_PERMIT}");
	session("198.51.100.7", "unknown", "client.example.org");
	mail("a@sender.example");
	ck_assert_int_eq(check(SMTPD_AT_MAIL, NULL), 0);
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	mail("z@sender.example");
	ck_assert_int_eq(check(SMTPD_AT_MAIL, NULL), 0);
	ck_assert_int_eq(rcpt("b@example.com"), 0);
}
END_TEST

START_TEST(test_defer_if_reject)
{
	/* A later 5XX rejection becomes 450, with defer_if_reject's text. */
	load("smtpd_client_restrictions = defer_if_reject, reject");
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.7.1", "<unknown[198.51.100.7]>: Client host rejected: "
	   "defer_if_reject requested");
	/* A 4XX one stays as it is; a permit permits. */
	load("smtpd_client_restrictions = defer_if_reject, defer");
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	ck_assert_str_eq(v.dsn, "4.3.2");
	load("smtpd_client_restrictions = defer_if_reject, permit");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	/* An access table's DEFER_IF_REJECT text. */
	load("smtpd_client_restrictions = check_client_access "
	     "inline:{198.51.100.7=DEFER_IF_REJECT}, reject");
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.7.1", "<unknown[198.51.100.7]>: Client host rejected: Service unavailable");
	/*
	 * Postfix evaluates the client, HELO and sender lists each on its
	 * own, and the relay and recipient lists together: a
	 * defer_if_reject holds within those, not beyond.
	 */
	load("smtpd_client_restrictions = defer_if_reject\n"
	     "smtpd_sender_restrictions = reject");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<a@sender.example>: Sender address rejected: Access denied");
	load("smtpd_sender_restrictions = defer_if_reject\n"
	     "smtpd_relay_restrictions = reject_unauth_destination");
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 554);
	load("smtpd_relay_restrictions = defer_if_reject, reject_unauth_destination\n"
	     "smtpd_recipient_restrictions = reject");
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.7.1", "<b@example.com>: Recipient address rejected: "
	   "defer_if_reject requested");
}
END_TEST

START_TEST(test_mynetworks_and_relay)
{
	/* Postfix 3.7's default relay list: defer_unauth_destination */
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 454);
	is(454, "4.7.1", "<b@elsewhere.example>: Relay access denied");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	ck_assert_int_eq(rcpt("b@relay.example.net"), 0);
	ck_assert_int_eq(rcpt("b@sub.relay.example.net"), 0);
	ck_assert_int_eq(rcpt("b"), 0);		/* no domain: local */
	session("192.0.2.5", "trusted.example.com", "trusted.example.com");
	ck_assert(sess.trusted);
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 0);

	load("smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination");
	session("198.51.100.7", "unknown", "client.example.org");
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 554);
	is(554, "5.7.1", "<b@elsewhere.example>: Relay access denied");
	ck_assert_int_eq(rcpt("b@relay.example.net"), 0);
	session("192.0.2.5", "trusted.example.com", "trusted.example.com");
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 0);
	session("192.0.2.16", "unknown", "x.example");	/* just outside /28 */
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 554);

	/* relay_domains_reject_code; permit_auth_destination */
	load("relay_domains_reject_code = 550\n"
	     "smtpd_relay_restrictions = reject_unauth_destination");
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 550);
	load("smtpd_relay_restrictions = permit_auth_destination, reject");
	ck_assert_int_eq(rcpt("b@relay.example.net"), 0);
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 554);
	is(554, "5.7.1", "<b@elsewhere.example>: Recipient address rejected: Access denied");

	/* permit_mynetworks in the client list permits that list only. */
	load("smtpd_client_restrictions = permit_mynetworks, reject\n"
	     "smtpd_relay_restrictions = reject_unauth_destination");
	session("192.0.2.5", "trusted.example.com", "trusted.example.com");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	ck_assert_int_eq(rcpt("b@elsewhere.example"), 554);
}
END_TEST

START_TEST(test_non_fqdn)
{
	load("smtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n"
	     "smtpd_sender_restrictions = reject_non_fqdn_sender\n"
	     "smtpd_relay_restrictions = reject_non_fqdn_recipient, "
	     "permit_mynetworks, reject_unauth_destination");
	session("198.51.100.7", "unknown", "nodots");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 504);
	is(504, "5.5.2", "<nodots>: Helo command rejected: need fully-qualified hostname");
	session("198.51.100.7", "unknown", "[192.0.2.1]");	/* a literal is fine */
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	session("198.51.100.7", "unknown", "client.example.org.");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 0);

	session("198.51.100.7", "unknown", "client.example.org");
	mail("a@nodots");
	ck_assert_int_eq(rcpt("b@example.com"), 504);
	is(504, "5.5.2", "<a@nodots>: Sender address rejected: need fully-qualified address");
	mail("a");
	ck_assert_int_eq(rcpt("b@example.com"), 504);
	mail("");					/* the null sender */
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	mail("a@[192.0.2.1]");
	ck_assert_int_eq(rcpt("b@example.com"), 0);

	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@nodots"), 504);
	is(504, "5.5.2", "<b@nodots>: Recipient address rejected: need fully-qualified address");
	ck_assert_int_eq(rcpt("b"), 504);
	ck_assert_int_eq(rcpt("b@example.com"), 0);

	load("non_fqdn_reject_code = 550\n"
	     "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname");
	session("198.51.100.7", "unknown", "nodots");
	ck_assert_int_eq(rcpt("b@example.com"), 550);
	ck_assert_str_eq(v.dsn, "5.5.2");
}
END_TEST

START_TEST(test_invalid_helo)
{
	static const char *const bad[] = {
		"-lead.example", "trail-.example", "a..b.example", "[300.1.1.1]",
		"[192.0.2.1", "exa mple.org", "192.0.2.1", "host.example..",
	};
	static const char *const good[] = {
		"client.example.org", "nodots", "[192.0.2.1]", "[IPv6:2001:db8::1]",
		"xn--bcher-kva.example", "host.example.",
		"bad_name.example",	/* Postfix takes '_' in host names */
	};

	load("smtpd_helo_restrictions = reject_invalid_helo_hostname");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		session("198.51.100.7", "unknown", bad[i]);
		ck_assert_msg(rcpt("b@example.com") == 501, "%s: %d", bad[i], v.code);
		ck_assert_str_eq(v.dsn, "5.5.2");
	}
	session("198.51.100.7", "unknown", "-lead.example");
	ck_assert_int_eq(rcpt("b@example.com"), 501);
	is(501, "5.5.2", "<-lead.example>: Helo command rejected: Invalid name");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		session("198.51.100.7", "unknown", good[i]);
		ck_assert_msg(rcpt("b@example.com") == 0, "%s: %d %s", good[i], v.code, v.text);
	}
	/* No HELO at all: nothing to judge. */
	session("198.51.100.7", "unknown", "");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	load("invalid_hostname_reject_code = 550\n"
	     "smtpd_helo_restrictions = reject_invalid_helo_hostname");
	session("198.51.100.7", "unknown", "-lead.example");
	ck_assert_int_eq(rcpt("b@example.com"), 550);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Access tables.                                                     */

START_TEST(test_access_results)
{
	file("sender",
	     "ok@x.example OK\n"
	     "relay@x.example RELAY\n"
	     "num@x.example 123\n"
	     "rej@x.example REJECT\n"
	     "rejtext@x.example REJECT No thanks\n"
	     "rejdsn@x.example REJECT 5.7.26 Unauthenticated\n"
	     "def@x.example DEFER\n"
	     "deftext@x.example DEFER come back later\n"
	     "c450@x.example 450 4.7.9 Greylisted\n"
	     "c421@x.example 421 Closing\n"
	     "c550@x.example 550 Bye\n"
	     "c553@x.example 553 5.1.8 Bad sender domain\n"
	     "dunno@x.example DUNNO\n"
	     "x.example REJECT domain refused\n"
	     "list@x.example reject_non_fqdn_helo_hostname, permit\n"
	     "list2@x.example permit_mynetworks, reject\n"
	     "class@x.example strict\n"
	     "table@x.example check_client_access inline:{a=b}\n"
	     "word@x.example reject_everyone\n");
	load("smtpd_restriction_classes = strict\n"
	     "strict = reject_non_fqdn_helo_hostname, defer\n"
	     "access_map_reject_code = 554\n"
	     "smtpd_sender_restrictions = check_sender_access texthash:DIR/sender\n"
	     "smtpd_recipient_restrictions = reject");
	session("198.51.100.7", "unknown", "nodots");

#define SENDER(s) (mail(s), rcpt("b@example.com"))
	/* OK, RELAY, a number: the sender list permits, the next lists run */
	ck_assert_int_eq(SENDER("ok@x.example"), 554);
	is(554, "5.7.1", "<b@example.com>: Recipient address rejected: Access denied");
	ck_assert_int_eq(SENDER("relay@x.example"), 554);
	ck_assert_str_eq(v.text, "<b@example.com>: Recipient address rejected: Access denied");
	ck_assert_int_eq(SENDER("num@x.example"), 554);
	ck_assert_str_eq(v.text, "<b@example.com>: Recipient address rejected: Access denied");

	ck_assert_int_eq(SENDER("rej@x.example"), 554);
	is(554, "5.7.1", "<rej@x.example>: Sender address rejected: Access denied");
	ck_assert_int_eq(SENDER("rejtext@x.example"), 554);
	is(554, "5.7.1", "<rejtext@x.example>: Sender address rejected: No thanks");
	ck_assert_int_eq(SENDER("rejdsn@x.example"), 554);
	is(554, "5.7.26", "<rejdsn@x.example>: Sender address rejected: Unauthenticated");
	ck_assert_int_eq(SENDER("def@x.example"), 450);
	is(450, "4.7.1", "<def@x.example>: Sender address rejected: Access denied");
	ck_assert_int_eq(SENDER("deftext@x.example"), 450);
	is(450, "4.7.1", "<deftext@x.example>: Sender address rejected: come back later");
	ck_assert_int_eq(SENDER("c450@x.example"), 450);
	is(450, "4.7.9", "<c450@x.example>: Sender address rejected: Greylisted");
	ck_assert_int_eq(SENDER("c421@x.example"), 421);
	is(421, "4.7.1", "<c421@x.example>: Sender address rejected: Closing");
	ck_assert_int_eq(SENDER("c550@x.example"), 550);
	is(550, "5.7.1", "<c550@x.example>: Sender address rejected: Bye");
	ck_assert_int_eq(SENDER("c553@x.example"), 553);
	is(553, "5.1.8", "<c553@x.example>: Sender address rejected: Bad sender domain");

	/* DUNNO: no opinion, and the parent domain is not asked */
	ck_assert_int_eq(SENDER("dunno@x.example"), 554);
	ck_assert_str_eq(v.text, "<b@example.com>: Recipient address rejected: Access denied");
	ck_assert_int_eq(SENDER("other@x.example"), 554);
	is(554, "5.7.1", "<other@x.example>: Sender address rejected: domain refused");
	ck_assert_int_eq(SENDER("other@sub.x.example"), 554);
	is(554, "5.7.1", "<other@sub.x.example>: Sender address rejected: domain refused");
	ck_assert_int_eq(SENDER("nobody@y.example"), 554);
	ck_assert_str_eq(v.text, "<b@example.com>: Recipient address rejected: Access denied");

	/* A list of restrictions: its first opinion is the result's. */
	ck_assert_int_eq(SENDER("list@x.example"), 504);
	is(504, "5.5.2", "<nodots>: Helo command rejected: need fully-qualified hostname");
	ck_assert_int_eq(SENDER("list2@x.example"), 554);
	is(554, "5.7.1", "<list2@x.example>: Sender address rejected: Access denied");
	(void) str_copy(sess.helo, sizeof(sess.helo), "client.example.org");
	ck_assert_int_eq(SENDER("list@x.example"), 554);
	ck_assert_str_eq(v.text, "<b@example.com>: Recipient address rejected: Access denied");

	/* A restriction class named as a result */
	ck_assert_int_eq(SENDER("class@x.example"), 450);
	is(450, "4.3.2", "<class@x.example>: Sender address rejected: Try again later");
	(void) str_copy(sess.helo, sizeof(sess.helo), "nodots");
	ck_assert_int_eq(SENDER("class@x.example"), 504);

	/* A table or an unknown word as a result: a configuration error */
	ck_assert_int_eq(SENDER("table@x.example"), 451);
	is(451, "4.3.5", "<table@x.example>: Sender address rejected: "
	   "Server configuration error");
	ck_assert_int_eq(SENDER("word@x.example"), 451);
	is(451, "4.3.5", "<word@x.example>: Sender address rejected: "
	   "Server configuration error");
	ck_assert_int_ge(logged("reject_everyone"), 1);
#undef SENDER
}
END_TEST

START_TEST(test_access_keys)
{
	file("client.cidr", "198.51.100.0/24 REJECT cidr says no\n"
	     "192.0.2.0/24 OK\n");
	file("client", "host.example.org REJECT by name\n"
	     "203.0.113 REJECT by network\n");
	file("rcpt", "user@example.com REJECT by address\n"
	     "user@ REJECT by local part\n"
	     "sub.example.com REJECT by domain\n");
	load("smtpd_client_restrictions = check_client_access cidr:DIR/client.cidr, "
	     "check_client_access texthash:DIR/client\n"
	     "smtpd_recipient_restrictions = check_recipient_access texthash:DIR/rcpt\n"
	     "recipient_delimiter = +\n"
	     "mydestination = example.com, example.net, sub.example.com");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<unknown[198.51.100.7]>: Client host rejected: cidr says no");
	session("203.0.113.9", "unknown", "client.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<unknown[203.0.113.9]>: Client host rejected: by network");
	session("203.0.114.9", "mx.host.example.org", "client.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<mx.host.example.org[203.0.114.9]>: Client host rejected: by name");
	session("203.0.114.9", "unknown", "client.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 0);

	ck_assert_int_eq(rcpt("user+ext@example.com"), 554);
	is(554, "5.7.1", "<user+ext@example.com>: Recipient address rejected: by address");
	ck_assert_int_eq(rcpt("user@example.net"), 554);
	is(554, "5.7.1", "<user@example.net>: Recipient address rejected: by local part");
	ck_assert_int_eq(rcpt("x@sub.example.com"), 554);
	is(554, "5.7.1", "<x@sub.example.com>: Recipient address rejected: by domain");

	/* static: answers every key; inline: the keys it has */
	load("smtpd_helo_restrictions = check_helo_access inline:{client.example.org=OK}, "
	     "check_helo_access static:REJECT");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	(void) str_copy(sess.helo, sizeof(sess.helo), "other.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<other.example.org>: Helo command rejected: Access denied");
}
END_TEST

START_TEST(test_class)
{
	load("smtpd_restriction_classes = friends, strict\n"
	     "friends = check_client_access inline:{198.51.100.7=OK}\n"
	     "strict = reject_non_fqdn_sender, reject\n"
	     "smtpd_recipient_restrictions = friends, strict");
	session("198.51.100.8", "unknown", "client.example.org");
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<b@example.com>: Recipient address rejected: Access denied");
	mail("a@nodots");
	ck_assert_int_eq(rcpt("b@example.com"), 504);
	/* friends permits: strict is not reached */
	session("198.51.100.7", "unknown", "client.example.org");
	mail("a@nodots");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
}
END_TEST

START_TEST(test_unknown_word_parse)
{
	struct restriction *l;
	size_t	n;
	char	why[RESTRICTION_WHY_MAX];

	ck_assert_int_lt(restriction_parse("permit_mynetworks, reject_everyone", &l, &n,
					   why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "reject_everyone") != NULL, "why: %s", why);
	ck_assert_int_lt(restriction_parse("check_client_access", &l, &n, why,
					   sizeof(why)), 0);
	ck_assert_int_eq(restriction_parse("permit_mynetworks, reject", &l, &n, why,
					   sizeof(why)), 0);
	ck_assert_uint_eq(n, 2);
	restriction_free(l, n);
}
END_TEST

/* smtpd exits at start: an unknown word is never skipped */
START_TEST(test_unknown_word_load)
{
	load("smtpd_client_restrictions = permit_mynetworks, reject_everyone");
	ck_abort_msg("an unknown restriction was loaded");
}
END_TEST

START_TEST(test_unknown_word_class)
{
	load("smtpd_restriction_classes = strict\n"
	     "strict = reject_everyone\n"
	     "smtpd_client_restrictions = strict");
	ck_abort_msg("an unknown restriction in a class was loaded");
}
END_TEST

START_TEST(test_no_relay_control)
{
	load("smtpd_relay_restrictions = permit_mynetworks\n"
	     "smtpd_recipient_restrictions = permit_mynetworks");
	ck_abort_msg("lists that relay for anyone were loaded");
}
END_TEST

/* ------------------------------------------------------------------ */
/* DNS lists and policy service, on the test's loop.                  */

START_TEST(test_dnsbl)
{
	load("smtpd_client_restrictions = reject_rbl_client bl.test");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "Service unavailable; Client host [198.51.100.7] blocked using "
	   "bl.test");
	/* The answer is kept for the session. */
	ck_assert_int_eq(dns.queries, 2);		/* A, then TXT */
	ck_assert_int_eq(rcpt("c@example.com"), 554);
	ck_assert_int_eq(dns.queries, 2);
	session("198.51.100.9", "unknown", "client.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 0);

	/* A filter that does not match; a list that fails: not listed */
	load("smtpd_client_restrictions = reject_rbl_client bl.test=127.0.0.3, "
	     "reject_rbl_client down.test");
	session("198.51.100.7", "unknown", "client.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 0);

	/* permit_dnswl_client before a reject; first match wins */
	load("smtpd_client_restrictions = permit_dnswl_client wl.test, reject");
	session("198.51.100.7", "unknown", "client.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	session("198.51.100.9", "unknown", "client.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<unknown[198.51.100.9]>: Client host rejected: Access denied");

	/* warn_if_reject before a DNS list that waits */
	load("smtpd_client_restrictions = warn_if_reject, reject_rbl_client bl.test, "
	     "reject_non_fqdn_helo_hostname");
	session("198.51.100.7", "unknown", "nodots");
	ck_assert_int_eq(rcpt("b@example.com"), 504);
	ck_assert_int_eq(logged("reject_warning: RCPT from unknown[198.51.100.7]: 554 5.7.1 "
				"Service unavailable; Client host [198.51.100.7] blocked "
				"using bl.test"), 1);

	/* A DNS list named by an access table result, with words after it */
	file("client", "198.51.100.7 reject_rbl_client down.test, reject\n");
	load("smtpd_client_restrictions = check_client_access texthash:DIR/client");
	session("198.51.100.7", "unknown", "client.example.org");
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<unknown[198.51.100.7]>: Client host rejected: Access denied");
}
END_TEST

START_TEST(test_policy)
{
	char	ep[400], conf[600];

	policy_start();
	ck_assert_int_eq(str_fmt(ep, sizeof(ep), "unix:%s/policy", dir), 0);
	ck_assert_int_eq(str_fmt(conf, sizeof(conf), "smtpd_recipient_restrictions = "
				 "check_policy_service %s, reject", ep), 0);
	load(conf);
	mail("a@sender.example");
	pol.action = "DUNNO";
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	ck_assert_int_eq(pol.requests, 1);
	ck_assert_ptr_nonnull(strstr(pol.last, "request=smtpd_access_policy\n"));
	ck_assert_ptr_nonnull(strstr(pol.last, "\nprotocol_state=RCPT\n"));
	ck_assert_ptr_nonnull(strstr(pol.last, "\nclient_address=198.51.100.7\n"));
	ck_assert_ptr_nonnull(strstr(pol.last, "\nhelo_name=client.example.org\n"));
	ck_assert_ptr_nonnull(strstr(pol.last, "\nsender=a@sender.example\n"));
	ck_assert_ptr_nonnull(strstr(pol.last, "\nrecipient=b@example.com\n"));

	pol.action = "OK";
	ck_assert_int_eq(rcpt("b@example.com"), 0);
	pol.action = "REJECT policy says no";
	ck_assert_int_eq(rcpt("b@example.com"), 554);
	is(554, "5.7.1", "<b@example.com>: Recipient address rejected: policy says no");
	pol.action = "450 4.2.0 Greylisted, see http://example.org/";
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.2.0", "<b@example.com>: Recipient address rejected: Greylisted, see "
	   "http://example.org/");
	pol.action = "DEFER_IF_PERMIT Service temporarily unavailable";
	ck_assert_int_eq(rcpt("b@example.com"), 554);	/* the reject after it */
	pol.action = "permit_mynetworks, defer";
	ck_assert_int_eq(rcpt("b@example.com"), 450);
	is(450, "4.3.2", "<b@example.com>: Recipient address rejected: Try again later");
	ck_assert_int_eq(pol.requests, 6);

	/* No server: smtpd_policy_service_default_action */
	policy_stop();
	ck_assert_int_eq(unlink("policy"), 0);
	ck_assert_int_eq(str_fmt(conf, sizeof(conf), "smtpd_recipient_restrictions = "
				 "check_policy_service %s, permit", ep), 0);
	load(conf);
	mail("a@sender.example");
	ck_assert_int_eq(rcpt("b@example.com"), 451);
	is(451, "4.3.5", "<b@example.com>: Recipient address rejected: Server "
	   "configuration problem");
	ck_assert_int_ge(logged("problem talking to server"), 1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtpd_restrict");
	TCase  *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_first_match);
	tcase_add_test(tc, test_delay_reject);
	tcase_add_test(tc, test_warn_if_reject);
	tcase_add_test(tc, test_defer_if_permit);
	tcase_add_test(tc, test_defer_if_permit_no_delay);
	tcase_add_test(tc, test_defer_if_reject);
	tcase_add_test(tc, test_mynetworks_and_relay);
	tcase_add_test(tc, test_non_fqdn);
	tcase_add_test(tc, test_invalid_helo);
	tcase_add_test(tc, test_access_results);
	tcase_add_test(tc, test_access_keys);
	tcase_add_test(tc, test_class);
	tcase_add_test(tc, test_unknown_word_parse);
	tcase_add_exit_test(tc, test_unknown_word_load, 1);
	tcase_add_exit_test(tc, test_unknown_word_class, 1);
	tcase_add_exit_test(tc, test_no_relay_control, 1);
	tcase_add_test(tc, test_dnsbl);
	tcase_add_test(tc, test_policy);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
