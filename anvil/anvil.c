/*
 * NAME
 *	anvil - per-client session and event counts for every smtpd process
 * SYNOPSIS
 *	anvil -c CONFIG_DIR -n anvil -t unix -u -z [-S]	(started by master)
 * DESCRIPTION
 *	smtpd's per-client limits (smtpd_client_connection_count_limit,
 *	smtpd_client_connection_rate_limit, smtpd_client_message_rate_limit,
 *	smtpd_client_recipient_rate_limit and their per-network
 *	counterparts smtpd_client_network_*_limit) must hold for the
 *	client, not for each smtpd process: with one process per CPU, a
 *	client could otherwise get a limit once per process.  anvil keeps
 *	the counts for all of them in one place.  It counts; smtpd decides.
 *
 *	Each smtpd process holds one connection to private/anvil for its
 *	life and reports, per client address and per client network (the
 *	network is smtpd's: smtpd_client_network_ipv4_prefix and
 *	smtpd_client_network_ipv6_prefix), the sessions that begin and
 *	end, and the connections, MAIL commands, RCPT commands and AUTH
 *	failures it sees; each answer carries the counts after the event,
 *	for the address and for its network, all processes together.
 *	Sessions are counted per connection as well: when an smtpd
 *	process exits or dies, its connection closes and its sessions
 *	leave the counts with it.
 *
 *	Events are counted per anvil_rate_time_unit, a unit beginning at
 *	a key's first event after the last one ended (as Postfix's anvil
 *	does).
 *
 *	anvil is event-driven: one process (master.cf maxproc 1; the
 *	master never runs more than one), every client on one loop.
 * RESTARTS
 *	When anvil restarts (a crash, a reload of a changed master.cf
 *	line), the smtpd processes lose their connection; each one fails
 *	open or closed meanwhile (smtpd_anvil_failure_mode) and, on its
 *	new connection, first reports every session it holds again
 *	(ANVIL_OP_HOLD), so the session counts are exact again within a
 *	second or so.  The event counts start from zero: for one unit
 *	after a restart a client may get up to twice a rate limit.
 *	Postfix's anvil loses its counts on a restart the same way.
 * WIRE PROTOCOL
 *	lib/ipc/ipc.h messages on private/anvil: ANVIL_REQ (up to
 *	ANVIL_OPS_MAX operations: "op" num, "addr" str, "net" str) and
 *	ANVIL_REP (per operation "status" num and four "n" num records),
 *	described in lib/svc/anvil_clnt.h.  Any number of requests per
 *	connection, answered in order; a malformed request closes the
 *	connection (and forgets that client's sessions).
 * TRUST
 *	The clients are postern's own daemons (the socket is in private/,
 *	mail_owner only); their requests are checked all the same, and
 *	the worst a bad one can do is close its own connection.
 * SECURITY
 *	Unprivileged (mail_owner) and chrooted to the queue directory: it
 *	reads and writes nothing but its sockets.
 * LIMITS
 *	At most ANVIL_KEYS_MAX addresses and networks with sessions (more
 *	are refused: the client then decides as when anvil is away), at
 *	most ANVIL_RATE_KEYS addresses and as many networks with event
 *	counts (the earliest unit makes room), at most ANVIL_CLIENTS_MAX
 *	connections (or the descriptor limit, when lower).  A client that
 *	does not read its answers is not read from until it does.
 * CONFIGURATION PARAMETERS
 *	anvil_rate_time_unit	the unit of the event counts
 * SEE ALSO
 *	lib/svc/anvil_clnt.h (the protocol and its client), smtpd/smtpd_anvil.c
 *	(what smtpd asks and when).
 */
#include <sys/resource.h>

#include "anvil.h"
#include "anvil_clnt.h"
#include "ipc_server.h"
#include "log.h"
#include "params.h"
#include "server.h"

#define ANVIL_CLIENTS_MAX	1024
#define ANVIL_STOP_MS		1000
#define FDS_RESERVED		16

static int
handle(void *ctx, struct ipc_in *req, struct ipc_msg *reply, char *why, size_t whylen)
{
	return anvil_handle(ctx, req, reply, why, whylen);
}

static void *
open_client(int fd)
{
	(void) fd;
	return anvil_owner_new();
}

static void
close_client(void *ctx)
{
	anvil_owner_free(ctx);
}

static const struct ipc_server_ops ops = {
	.name = "anvil",
	.req_max = ANVIL_REQ_MAX,
	.handle = handle,
	.open = open_client,
	.close = close_client,
};

static size_t
max_clients(void)
{
	struct rlimit rl;
	size_t  n = ANVIL_CLIENTS_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
	    && rl.rlim_cur < n + FDS_RESERVED)
		n = rl.rlim_cur > FDS_RESERVED + 4 ? (size_t) rl.rlim_cur - FDS_RESERVED : 4;
	return n;
}

static void
anvil_start(struct ev_loop *loop)
{
	anvil_count_init(cfg->anvil_rate_time_unit * 1000, ANVIL_KEYS_MAX,
			 ANVIL_RATE_KEYS);
	/* Clients hold their connection for their life: no idle limit. */
	ipc_server_init(&ops, 0, max_clients());
	for (int i = 0; i < server_listen_count(); i++)
		ipc_server_listen(loop, server_listen_fd(i));
	if (server_listen_count() == 0)
		log_fatal("no listening socket: master.cf must define anvil as a "
			  "unix service");
}

static void
stopped(void)
{
	server_exit(0);
}

static void
anvil_stop(struct ev_loop *loop)
{
	ipc_server_stop(loop, ANVIL_STOP_MS, stopped);
}

static void
anvil_on_exit(void)
{
	anvil_count_end();
}

static const char *const params[] = {
	"anvil_rate_time_unit", NULL,
};

/* Counting needs nothing beyond the common set (lib/svc/sandbox.c). */
static const char *const syscalls[] = {
	NULL,
};

static const struct server_ops server = {
	.model = SERVER_EVENT,
	.chroot = SERVER_CHROOT_MUST,
	.syscalls = syscalls,
	.params = params,
	.start = anvil_start,
	.stop = anvil_stop,
	.on_exit = anvil_on_exit,
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &server);
}
