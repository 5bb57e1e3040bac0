/*
 * NAME
 *	smtpd - postern's SMTP server
 * SYNOPSIS
 *	smtpd -c CONFIG_DIR -n SERVICE -t inet -u -z [-S] [-o name=value]...
 *		(started by the postern master, never by hand)
 *
 *	smtpd -s CLIENT_ADDR -c CONFIG_DIR [-D DIR] [-o name=value]...
 *		(standalone: one session on standard input and output)
 * DESCRIPTION
 *	smtpd receives mail from the network (RFC 5321 with PIPELINING,
 *	SIZE, 8BITMIME, ENHANCEDSTATUSCODES and SMTPUTF8), decides per
 *	command whether to take it (Postfix's access restrictions: relay
 *	control, local recipient validation, access tables, DNS lists,
 *	policy services), spools the content (in memory up to 64 KiB while
 *	smtpd_memory_budget allows, else into an unnamed file) and hands
 *	it, with its envelope, to
 *	cleanup, which writes the queue file.
 *	smtpd answers "250 Ok: queued as ID" only after cleanup said the
 *	queue file is on disk.
 *
 *	It is event-driven: one process holds up to smtpd_client_limit
 *	sessions on one epoll loop (smtpd_session.c); nothing a client
 *	does makes it block.  Table lookups through the lookup service
 *	(lib/svc/lookup_clnt.h, on lib/ipc/clnt_pool.h), DNS list queries,
 *	policy service requests and the hand-off to cleanup are events,
 *	so a session waiting for one holds up no other.  The commands,
 *	replies and their enhanced status codes are described in
 *	smtpd_proto.c; the end of data and the smuggling rules in
 *	smtpd_data.c; the access restrictions in smtpd_restrict.c (and
 *	smtpd_access.c, smtpd_dnsbl.c, smtpd_policy.c); the spool and
 *	hand-off in smtpd_deliver.c.
 *
 *	The client's name: at connect smtpd looks up the PTR records of
 *	the client's address and then the addresses of the name found,
 *	and calls the client by that name only when one of them is the
 *	client's address (forward-confirmed reverse DNS, as Postfix
 *	does); otherwise, or after smtpd_peername_lookup_timeout, the
 *	client is "unknown".  The greeting and the "connect from" line
 *	wait for the answer; the lookups are events (c-ares on the same
 *	loop, lib/mail/dns.h), so other sessions are served meanwhile.  DNS
 *	only: /etc/hosts is not consulted (it is not in the chroot).
 *	See smtpd_peer.c.
 *
 *	TLS (smtpd_tls.c): with smtpd_tls_security_level = may the EHLO
 *	reply offers STARTTLS (RFC 3207); with encrypt, MAIL, RCPT, DATA
 *	and VRFY wait for it (530 5.7.0); with smtpd_tls_wrappermode =
 *	yes (port 465) the handshake comes first and the greeting after
 *	it.  TLS 1.2 and 1.3 only by default, forward-secret ciphers,
 *	ECDHE, session tickets under a key that changes every
 *	smtpd_tls_session_cache_timeout.  Whatever the client sent behind
 *	STARTTLS before the handshake is discarded, and after it the
 *	session starts over.  The log says "Anonymous TLS connection
 *	established from NAME[ADDR]: TLSv1.3 with cipher ..."; the
 *	Received: header records protocol and cipher ("with ESMTPS").
 *
 *	SMTP AUTH (smtpd_sasl.c): with smtpd_sasl_auth_enable = yes, EHLO
 *	offers "AUTH PLAIN LOGIN" inside TLS (smtpd_tls_auth_only); the
 *	password is checked by Dovecot or postern's auth service
 *	(smtpd_sasl_type, smtpd_sasl_path) without blocking the loop.  An
 *	authenticated client may relay; its mail is logged with
 *	sasl_method= and sasl_username= and received "with ESMTPSA".
 *	Failures are delayed, counted per client and, at
 *	smtpd_sasl_failure_limit, end the session (421).
 *
 *	Standalone mode (-s) serves one session on standard input and
 *	output for tests: no master, no chroot, no privilege change, the
 *	same protocol code.  CLIENT_ADDR is the client's address as far
 *	as every check is concerned.  Lookups are made in this process
 *	(lookup_clnt's direct mode).  With -D DIR each accepted message
 *	becomes a file DIR/QUEUEID (envelope lines, an empty line, the
 *	content; see smtpd_deliver.c) and DIR holds the spool files too;
 *	without -D, smtpd works in queue_directory and hands messages to
 *	private/cleanup as usual.  Logging goes to standard error.
 * TRUST
 *	Nothing the client sends is trusted: every line is bounded
 *	(line_length_limit), every address is parsed by addr.h before it
 *	is used, and reply text that echoes client data is made printable
 *	by smtp_reply.h.  Answers from cleanup and lookup are parsed by
 *	their client libraries with bounds.  Clients in mynetworks are
 *	trusted to relay and to pipeline; nothing else.
 * SECURITY
 *	smtpd is the internet-facing process.  It runs as mail_owner,
 *	chrooted into the queue directory (master.cf: unpriv, chroot);
 *	started without -u it refuses to run (lib/svc/server.c).  It can
 *	create unnamed files in its spool directory and talk to cleanup
 *	and lookup, and send DNS queries to the name servers of
 *	/etc/resolv.conf (read before the chroot) or resolver_servers;
 *	it writes no named file.  The TLS certificate and private key are
 *	read while smtpd is still root (pre_jail), so the key file can be
 *	root's alone; after the drop the key is in smtpd's memory only
 *	(the process is not dumpable).  A name from DNS is used only after it
 *	passed the host name syntax check (smtpd_peer.c).  The end of data is
 *	<CR><LF>.<CR><LF> and nothing else (SMTP smuggling,
 *	CVE-2023-51764 and kin): see smtpd_data.c.
 * LIMITS
 *	Per session: line_length_limit bytes per command line (longer
 *	ones are discarded: 500 5.5.2; one still going past 32 times
 *	the limit gets that 500 at once and the connection is closed)
 *	and per piece of a content line
 *	(longer content lines pass in pieces); smtpd_recipient_limit
 *	recipients per message (452 4.5.3); message_size_limit bytes of
 *	content (552 5.3.4, also for a larger SIZE=); header_size_limit
 *	bytes of header section (552 5.3.4 Error: message header too big:
 *	a header that large is refused rather than cut, so that what is
 *	queued is what was sent); smtpd_timeout per command line, or per
 *	DATA with smtpd_min_data_rate; smtpd_session_deadline per
 *	session; smtpd_hard_error_limit errors (421 4.7.0), delays after
 *	smtpd_soft_error_limit, and 421 4.7.0 once they would add up past
 *	smtpd_error_sleep_limit; smtpd_junk_command_limit NOOP/RSET/VRFY/
 *	HELP before they count as errors; SMTPD_OUT_HIGH bytes of unread
 *	replies before reading pauses; smtpd_peername_lookup_timeout for
 *	the client's name before the greeting.  Per process:
 *	smtpd_memory_budget bytes of session buffers (past it, reads stay
 *	small and DATA goes to the spool file; smtpd_overload.c), and
 *	smtpd_client_limit sessions: when full, the session that has shown
 *	the least progress is closed (421 4.7.0) to make room for a
 *	newcomer, who gets 421 4.3.2 only when every session is in a
 *	transaction that moves; near either limit (smtpd_overload_threshold
 *	percent) overload mode cuts smtpd_timeout to smtpd_overload_timeout
 *	for everyone.  Per client, in all smtpd processes together (the
 *	anvil service counts; smtpd_anvil.c): smtpd_client_connection_count_limit
 *	sessions per client address (421 4.7.0), and per client address
 *	and anvil_rate_time_unit smtpd_client_connection_rate_limit
 *	connections (421 4.7.0), smtpd_client_message_rate_limit MAIL
 *	commands and smtpd_client_recipient_rate_limit RCPT commands
 *	(450 4.7.1), the same per client network with the
 *	smtpd_client_network_* limits, for clients outside
 *	smtpd_client_event_limit_exceptions; without anvil,
 *	smtpd_anvil_failure_mode (open: this process's own counts,
 *	smtpd_rate.c).  smtpd runs one process per CPU (master.cf maxproc
 *	"-"), all accepting from the one listening socket the master
 *	holds.  Per queue file system: MAIL is
 *	refused with 452 4.3.1 when less than max(queue_minfree, 1.5 *
 *	message_size_limit) plus the declared SIZE is free.
 * DIAGNOSTICS
 *	Postfix's log shapes: "connect from NAME[ADDR]", "QUEUEID:
 *	client=NAME[ADDR]", "NOQUEUE: reject: RCPT from NAME[ADDR]: 550
 *	5.1.1 <x@y>: ...; from=<s> to=<x@y> proto=ESMTP helo=<h>",
 *	"improper command pipelining after EHLO from ...", "timeout
 *	after DATA (N bytes) from ...", "lost connection after RCPT from
 *	...", "too many errors after ... from ...", "disconnect from
 *	NAME[ADDR] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5".  Lines
 *	about a client are bounded per kind, address and network, the
 *	rest summarised: "N more like this from ADDR in the last minute:
 *	SAMPLE" (smtpd_logsum.c, which states the bytes a client can
 *	cause); "overload: ..." when overload mode starts and ends.
 * CONFIGURATION PARAMETERS
 *	myhostname, smtpd_banner		greeting and replies
 *	queue_directory, smtpd_spool_directory	where it works and spools
 *	mynetworks				who may relay and pipeline
 *	mydestination, relay_domains		local and relayed domains
 *	local_recipient_maps, virtual_alias_maps, recipient_delimiter,
 *	smtpd_reject_unlisted_recipient		local recipient validation
 *	content_filter				the after-queue filter of
 *						every message (FILTER wins)
 *	receive_override_options		no_unknown_recipient_checks,
 *						no_address_mappings,
 *						no_header_body_checks
 *	line_length_limit, message_size_limit, header_size_limit,
 *	queue_minfree, smtpd_recipient_limit,
 *	smtpd_recipient_overshoot_limit		bounds
 *	smtpd_timeout, smtpd_per_request_deadline, smtpd_min_data_rate,
 *	smtpd_session_deadline			time
 *	smtpd_hard_error_limit, smtpd_soft_error_limit,
 *	smtpd_error_sleep_time, smtpd_junk_command_limit	errors
 *	smtpd_client_limit			sessions per process
 *	smtpd_memory_budget			buffer memory per process
 *	smtpd_overload_threshold,
 *	smtpd_overload_timeout			overload mode
 *	smtpd_error_sleep_limit			error delays per session
 *	smtpd_client_network_ipv4_prefix,
 *	smtpd_client_network_ipv6_prefix	what is one client network
 *	smtpd_client_connection_count_limit	sessions per client address
 *	smtpd_client_connection_rate_limit,
 *	smtpd_client_message_rate_limit,
 *	smtpd_client_recipient_rate_limit,
 *	anvil_rate_time_unit			events per client and unit
 *	smtpd_client_network_connection_count_limit,
 *	smtpd_client_network_connection_rate_limit,
 *	smtpd_client_network_message_rate_limit,
 *	smtpd_client_network_recipient_rate_limit	the same per network
 *	smtpd_client_event_limit_exceptions	who is exempt ($mynetworks)
 *	smtpd_anvil_failure_mode		without anvil: open | closed
 *	smtpd_forbid_unauth_pipelining		RFC 2920 enforcement
 *	smtpd_forbid_bare_newline (normalize | reject),
 *	smtpd_forbid_bare_newline_exclusions	bare CR/LF handling
 *	disable_vrfy_command, smtpd_helo_required, smtputf8_enable,
 *	smtpd_discard_ehlo_keywords		protocol options
 *	smtpd_client_restrictions, smtpd_helo_restrictions,
 *	smtpd_sender_restrictions, smtpd_relay_restrictions,
 *	smtpd_recipient_restrictions, smtpd_data_restrictions,
 *	smtpd_end_of_data_restrictions, smtpd_delay_reject,
 *	smtpd_null_access_lookup_key, access_map_reject_code,
 *	access_map_defer_code, reject_code, defer_code,
 *	relay_domains_reject_code, unknown_address_reject_code,
 *	unknown_client_reject_code, unknown_hostname_reject_code,
 *	invalid_hostname_reject_code, non_fqdn_reject_code,
 *	maps_rbl_reject_code, unknown_local_recipient_reject_code,
 *	multi_recipient_bounce_reject_code, smtpd_policy_service_timeout,
 *	smtpd_policy_service_max_idle, smtpd_policy_service_try_limit,
 *	smtpd_policy_service_retry_delay,
 *	smtpd_policy_service_default_action,
 *	smtpd_policy_service_policy_context	access restrictions
 *						(smtpd_restrict.c)
 *	smtpd_peername_lookup, smtpd_peername_lookup_timeout,
 *	resolver_servers			the client's name (DNS)
 *	smtpd_tls_security_level, smtpd_tls_wrappermode,
 *	smtpd_tls_cert_file, smtpd_tls_key_file, smtpd_tls_chain_files,
 *	smtpd_tls_protocols, smtpd_tls_mandatory_protocols,
 *	smtpd_tls_ciphers, smtpd_tls_mandatory_ciphers,
 *	smtpd_tls_session_cache_timeout, smtpd_tls_received_header	TLS
 *	smtpd_sasl_auth_enable, smtpd_sasl_type, smtpd_sasl_path,
 *	smtpd_tls_auth_only, smtpd_sasl_failure_delay,
 *	smtpd_sasl_failure_limit, smtpd_sender_login_maps	SMTP AUTH
 *	syslog_name, maillog_file, mail_owner	via lib/svc/server.c
 * WIRE PROTOCOL
 *	To the name servers: PTR, then A or AAAA queries (UDP, TCP for
 *	truncated answers) per connection, unless smtpd_peername_lookup
 *	= no.
 *	With the client: SMTP, and TLS after STARTTLS or from the start
 *	(wrapper mode), through lib/tls/tlsio.h.
 *	To the SMTP AUTH back end: Dovecot's authentication protocol, or
 *	AUTH_REQ_CHECK messages to private/auth (lib/svc/auth_clnt.h).
 *	To cleanup: one CLEANUP_REQ_SUBMIT per message with the spool
 *	descriptor (docs/INTERNALS.md, "cleanup"; lib/svc/cleanup_clnt.h).
 *	To lookup: one LOOKUP_REQ_ADDR per recipient address for
 *	local_recipient_maps and virtual_alias_maps (lib/svc/lookup_clnt.h).
 *	To anvil: batches of ANVIL_REQ operations on one connection held
 *	for the life of the process (lib/svc/anvil_clnt.h).
 * SIGNALS
 *	SIGTERM: stop accepting, let the sessions finish within their
 *	deadlines, then exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "event.h"
#include "log.h"
#include "lookup_clnt.h"
#include "mem.h"
#include "params.h"
#include "server.h"
#include "smtpd.h"
#include "str.h"

/*
 * pre_jail - as root, before the chroot: the resolver reads resolv.conf,
 * TLS reads the certificate and the private key
 */
static void
pre_jail(void)
{
	smtpd_restrict_init();		/* tables read whole, policy endpoints */
	smtpd_peer_init();
	smtpd_tls_init();
}

static void
post_jail(void)
{
	int	fd;

	smtpd_conf_init();
	/* A spool directory that cannot hold O_TMPFILE files is fatal now. */
	if ((fd = smtpd_spool_open(false)) < 0)
		log_fatal("cannot create an unnamed file in %s/%s: %m (check "
			  "smtpd_spool_directory, its owner and file system)",
			  cfg->queue_directory, smtpd_conf.spool_dir);
	close(fd);
}

static void
start(struct ev_loop *loop)
{
	smtpd_overload_init(loop);
	lookup_clnt_attach(loop);
	smtpd_anvil_init(loop);
	smtpd_peer_start(loop);
	smtpd_sasl_init(loop);
	smtpd_listen_start(loop);
}

static void
stop(struct ev_loop *loop)
{
	smtpd_listen_stop(loop);
}

/* smtpd_exit - the log summaries due so far are written before the end */
static void
smtpd_exit(void)
{
	smtpd_logsum_flush();
}

static const char *const talks[] = {
	"private/cleanup", "private/lookup", "private/anvil", "$smtpd_sasl_path",
	"$smtpd_*_restrictions", NULL,
};
static const char *const params[] = {
	"smtpd_*", "*_reject_code", "reject_code", "access_map_defer_code",
	"defer_code",
	"anvil_rate_time_unit", "content_filter", "data_directory", "disable_vrfy_command",
	"header_size_limit", "line_length_limit", "local_recipient_maps",
	"message_size_limit", "mydestination", "myhostname", "mynetworks",
	"queue_minfree", "receive_override_options", "recipient_delimiter", "relay_domains",
	"resolver_servers", "smtputf8_enable", "virtual_alias_maps", NULL,
};

static const char *const syscalls[] = {
	"socket:inet", "socket:inet6", "memfd_create", NULL,
};

static const struct server_ops ops = {
	.model = SERVER_EVENT,
	.chroot = SERVER_CHROOT_MUST,
	.syscalls = syscalls,
	.talks = talks,
	.params = params,
	.on_exit = smtpd_exit,
	.pre_jail = pre_jail,
	.post_jail = post_jail,
	.start = start,
	.stop = stop,
};

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: smtpd -s CLIENT_ADDR -c CONFIG_DIR [-D DIR] "
		"[-o name=value]...\n"
		"(without -s, smtpd is started by the postern master)\n");
	exit(64);
}

static void
nonblock(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		log_fatal("descriptor %d: %m", fd);
}

/* standalone - smtpd -s: one session on stdin/stdout */
static int
standalone(int argc, char **argv)
{
	const char *client = NULL, *config_dir = NULL, *dir = NULL;
	const char **over = xcalloc((size_t) argc + 1, sizeof(*over));
	size_t	n_over = 0;
	unsigned char sa[16];
	struct params *p;
	struct buf err;
	struct ev_loop *loop;
	int	c;

	log_init("smtpd", LOG_DEST_STDERR);
	while ((c = getopt(argc, argv, "s:c:D:o:")) != -1) {
		switch (c) {
		case 's':
			client = optarg;
			break;
		case 'c':
			config_dir = optarg;
			break;
		case 'D':
			dir = optarg;
			break;
		case 'o':
			over[n_over++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (client == NULL || config_dir == NULL || optind != argc)
		usage();
	if (inet_pton(AF_INET, client, sa) != 1 && inet_pton(AF_INET6, client, sa) != 1) {
		fprintf(stderr, "smtpd: -s %s: not an IPv4 or IPv6 address\n", client);
		exit(64);
	}
	buf_init(&err, 64 * 1024);
	if ((p = config_load(config_dir, over, n_over, &err)) == NULL) {
		fprintf(stderr, "smtpd: configuration errors:\n%s", buf_str(&err));
		exit(78);
	}
	buf_free(&err);
	free(over);
	config_install(p);
	log_set_syslog_name(cfg->syslog_name);

	if (dir != NULL) {
		if (chdir(dir) < 0)
			log_fatal("-D %s: %m", dir);
		smtpd_conf.deliver_dir = ".";
		smtpd_conf.spool_dir = ".";
	} else if (chdir(cfg->queue_directory) < 0)
		log_fatal("chdir %s: %m (check queue_directory, or use -D DIR)",
			  cfg->queue_directory);
	smtpd_conf.standalone = true;
	lookup_clnt_direct(true);
	smtpd_conf_init();
	smtpd_restrict_init();
	smtpd_peer_init();
	smtpd_tls_init();

	signal(SIGPIPE, SIG_IGN);
	nonblock(0);
	nonblock(1);
	loop = ev_loop_new();
	smtpd_loop = loop;
	smtpd_overload_init(loop);
	lookup_clnt_attach(loop);
	smtpd_peer_start(loop);
	smtpd_sasl_init(loop);
	smtpd_session_new(loop, 0, 1, client, "0");
	if (smtpd_session_count > 0)
		ev_run(loop);
	smtpd_peer_end();
	smtpd_tls_end();
	smtpd_sasl_end();
	lookup_clnt_attach(NULL);
	smtpd_logsum_flush();
	lookup_clnt_direct(false);
	return 0;
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (str_eq(argv[i], "-s"))
			return standalone(argc, argv);
	return server_main(argc, argv, &ops);
}
