/*
 * NAME
 *	auth - postern's built-in password check for SMTP AUTH
 * SYNOPSIS
 *	auth -c config_dir -n auth -t unix -u -z [-S]	(started by master)
 * DESCRIPTION
 *	auth answers smtpd's question "is this the password of this
 *	user?" for sites without Dovecot (smtpd_sasl_type = postern).
 *	It reads the user table named by auth_passwd_file, lines of
 *	"name:hash" with crypt(3) hashes (yescrypt, SHA-512 ...; the
 *	format of Dovecot's passwd-file, see lib/svc/auth_users.c), once at
 *	start, as root, so the file may be root's alone (mode 0600);
 *	then it chroots into the queue directory and runs as mail_owner.
 *	A changed table takes effect at "postern reload" (new auth
 *	processes); requests in flight finish under the old one.
 *
 *	The check runs here, never in smtpd: smtpd talks to strangers and
 *	never sees a hash; a hash costs tens of milliseconds of CPU by
 *	design, which would stall every session of an smtpd process,
 *	while here it stalls one auth process of several (master.cf
 *	maxproc), each serving one smtpd connection at a time.
 * TRUST
 *	Requests come from smtpd over private/auth (mode 0600 in the
 *	private directory: mail_owner's daemons only), and are parsed
 *	with bounds like anything else.  An unknown name costs the same
 *	work as a known one.  auth says yes or no and the name; it
 *	counts nothing: smtpd counts failures per client and delays and
 *	disconnects.
 * SECURITY
 *	Runs as mail_owner, chrooted into the queue directory, with the
 *	table in memory (the hashes, never a password: a password lives
 *	only as long as its request and is wiped after).  It writes no
 *	file and reaches nothing but its socket.
 * LIMITS
 *	A table of at most 1,000,000 users and 64 MiB, lines of at most
 *	4,096 bytes; names of at most 255 bytes, passwords of at most
 *	1,024; ipc_timeout (at most 300 s) for a client to send its
 *	next request on a kept connection.
 * DIAGNOSTICS
 *	A table that does not load is fatal at start, with the file,
 *	line and reason (postern check says the same before).  Malformed
 *	requests are logged and end the connection.
 * CONFIGURATION PARAMETERS
 *	auth_passwd_file			the user table
 *	ipc_timeout				idle kept connections
 *	max_use, max_idle			process life
 * WIRE PROTOCOL
 *	lib/ipc/ipc messages on private/auth, several per connection, each
 *	answered in turn: AUTH_REQ_CHECK "user", "password", "authzid",
 *	"service", "client_addr" str; AUTH_REP "status" num (0 OK, 1
 *	FAIL, 2 temporary failure), "user" str (the name checked),
 *	"reason" str.  An authorisation identity other than the user is
 *	refused (FAIL).  lib/svc/auth_clnt.h holds both ends.
 * SEE ALSO
 *	smtpd(8), lib/svc/auth_clnt.h, lib/svc/auth_users.c.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth_clnt.h"
#include "auth_users.h"
#include "ipc.h"
#include "log.h"
#include "params.h"
#include "server.h"
#include "str.h"

#define IDLE_MAX_MS	(300 * 1000)
#define REPLY_MS	10000
#define REQUEST_MAX	(AUTH_USER_MAX * 2 + AUTH_PASS_MAX + 512)

static struct auth_users *users;

static int
idle_ms(void)
{
	uint64_t ms = cfg->ipc_timeout * 1000;

	return (int) (ms < IDLE_MAX_MS ? ms : IDLE_MAX_MS);
}

/* auth_pre_jail - as root: the table may be root's alone */
static void
auth_pre_jail(void)
{
	char	why[600];

	if (*cfg->auth_passwd_file == '\0')
		log_fatal("auth_passwd_file is not set: name the table of users "
			  "and crypt(3) hashes (name:hash lines)");
	if ((users = auth_users_load(cfg->auth_passwd_file, why, sizeof(why))) == NULL)
		log_fatal("%s", why);
	log_info("%zu user%s in %s", auth_users_count(users),
		 auth_users_count(users) == 1 ? "" : "s", cfg->auth_passwd_file);
}

static int
reply(int fd, int status, const char *user, const char *reason)
{
	struct ipc_msg m;
	int	r;

	(void) auth_reply_build(&m, status, user, reason);
	r = ipc_send(fd, &m, -1, REPLY_MS);
	ipc_msg_free(&m);
	return r;
}

/* answer - one request: the check and its answer */
static int
answer(int fd, struct ipc_in *in)
{
	struct auth_request rq;
	char	why[256];
	int	st;

	if (auth_request_parse(in, &rq, why, sizeof(why)) < 0) {
		log_warn("%s from a client: closing the connection", why);
		return -1;
	}
	if (*rq.authzid && !str_eq(rq.authzid, rq.user))
		st = AUTH_FAIL;
	else
		st = auth_users_check(users, rq.user, rq.password);
	/* The password's bytes are in the input buffer: wipe them. */
	OPENSSL_cleanse((char *) rq.password, strlen(rq.password));
	if (st == AUTH_TEMP)
		log_warn("crypt failed for user %s: %m", rq.user);
	return reply(fd, st, rq.user, st == AUTH_OK ? "" : st == AUTH_FAIL
		     ? "authentication failure" : "temporary failure");
}

static void
auth_serve(int fd)
{
	struct ipc_conn conn;
	struct ipc_in in;
	bool	first = true;

	ipc_conn_init(&conn, fd, REQUEST_MAX);
	ipc_in_init_max(&in, REQUEST_MAX);
	for (;;) {
		int	r, cfd = -1;

		/* As cleanup: SIGTERM, max_use and idleness end a kept connection. */
		if (!first) {
			if (!server_use_request())
				break;
			if (conn.in.len == 0 && server_wait_request(fd, idle_ms()) <= 0)
				break;
		}
		first = false;
		r = ipc_conn_recv(&conn, &in, &cfd, idle_ms(), false);
		if (cfd >= 0)
			(void) close(cfd);
		if (r == 1)
			break;
		if (r < 0 || cfd >= 0) {
			if (errno == EPROTO || errno == EMSGSIZE || cfd >= 0)
				log_warn("bad request from a client: %s", cfd >= 0
					 ? "a descriptor came with it" : ipc_error(&in));
			break;
		}
		r = answer(fd, &in);
		OPENSSL_cleanse(in.store.data, in.store.len);
		if (r < 0)
			break;
	}
	OPENSSL_cleanse(conn.in.data, conn.in.len);
	ipc_in_free(&in);
	ipc_conn_free(&conn);
}

static const char *const params[] = {
	"auth_passwd_file", "ipc_timeout", NULL,
};

/* crypt(3) is computation and memory: the common set (lib/svc/sandbox.c). */
static const char *const syscalls[] = {
	NULL,
};

static const struct server_ops ops = {
	.model = SERVER_SINGLE,
	.chroot = SERVER_CHROOT_MUST,
	.syscalls = syscalls,
	.params = params,
	.pre_jail = auth_pre_jail,
	.serve = auth_serve,
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
