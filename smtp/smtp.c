/*
 * NAME
 *	smtp - postern's SMTP client: delivery to other mail servers
 * SYNOPSIS
 *	smtp -c CONFIG_DIR -n SERVICE -t unix -u -z [-S] [-o name=value]...
 *		(started by the postern master, never by hand)
 * DESCRIPTION
 *	smtp delivers mail to remote SMTP servers for the transports
 *	that master.cf runs it as (smtp, relay, or any other name).  qmgr
 *	hands it delivery requests over the socket of the service
 *	(private/smtp): a queue file's descriptor, a next hop, the
 *	sender and up to smtp_destination_recipient_limit recipients;
 *	smtp answers with one result per recipient (smtp_listen.c).
 *
 *	It is event-driven: one process holds every delivery at once on
 *	one epoll loop; DNS (c-ares), connections, TLS handshakes and
 *	SMTP conversations are all events, and nothing a slow server or
 *	resolver does holds up another delivery.
 *
 *	Where mail goes (smtp_nexthop.c, smtp_resolve.c): a next hop
 *	"domain" or "domain:port" is looked up in DNS (MX records by
 *	preference, equal preferences in random order, the domain's own
 *	A/AAAA records when it has no MX; a null MX, RFC 7505, or a
 *	domain that does not exist bounces; a DNS failure or timeout
 *	defers); "[host]" or "[host]:port" (relayhost = [smarthost]:587,
 *	transport_maps "smtp:[10.0.0.2]:2525") skips the MX lookup.
 *
 *	DANE (smtp_dane.c, RFC 7672): at smtp_tls_security_level dane or
 *	dane-only, with smtp_dns_support_level = dnssec, a server whose
 *	MX and address answers the resolver validated has its TLSA
 *	records (_PORT._tcp.HOST) looked up; usable ones (DANE-TA(2),
 *	DANE-EE(3)) make TLS mandatory and the chain must match one
 *	(OpenSSL's DANE verification; DANE-EE without a name check).
 *	Otherwise dane is may (encrypt when records exist but none is
 *	usable) and dane-only defers; a TLSA lookup that fails defers
 *	the server (4.7.5).
 *
 *	How (smtp_deliver.c, smtp_session.c, smtp_proto.c): the next
 *	address when a server cannot be reached or answers 4xx, EHLO
 *	(HELO when refused), STARTTLS as smtp_tls_security_level and
 *	smtp_tls_policy_maps say (smtp_tls_policy.c), AUTH PLAIN/LOGIN
 *	with smtp_sasl_password_maps (smtp_sasl.c), PIPELINING, SIZE,
 *	8BITMIME (8-bit mail to a 7-bit server is converted to
 *	quoted-printable, smtp_mime.c), SMTPUTF8 (a message that needs it
 *	bounces with 5.6.7 when the server lacks it), DSN parameters
 *	passed on; all recipients of a request in one transaction, each
 *	RCPT reply deciding its recipient.  The content is read from the
 *	queue file as it is sent: LF becomes CR LF, dot-stuffing added,
 *	lines over smtp_line_length_limit broken (smtp_content.c).
 *	Connections are kept idle for smtp_connection_cache_time_limit
 *	and reused for the next message to the same destination
 *	(smtp_cache.c).
 * TRUST
 *	Nothing a server says is trusted: replies are read by the bounded
 *	parser of lib/mail/smtp_reply.c (fuzzed), one line at a time, and go
 *	into reasons and bounces as printable text only.  DNS answers
 *	are bounded by lib/mail/dns.c; exchanger names must be valid host
 *	names.  The request from qmgr is parsed strictly and its offsets
 *	are checked against the queue file.  Certificates are trusted as
 *	the TLS level says: verify and secure need a chain to a CA of
 *	smtp_tls_CAfile/smtp_tls_CApath and a matching name, and no
 *	byte of the message (nor MAIL FROM) is sent before that holds.
 * SECURITY
 *	smtp runs as mail_owner, chrooted into the queue directory
 *	(master.cf: unpriv and chroot y); started without -u it refuses
 *	to run (lib/svc/server.c).  Before the chroot, as root, it reads
 *	resolv.conf (c-ares), the CA certificates, smtp_tls_policy_maps
 *	and smtp_sasl_password_maps (which may so stay readable by root
 *	only); after it, it opens nothing by name: it reads the queue
 *	file descriptors qmgr passes, talks to the name servers and to
 *	the remote servers.  Passwords are sent only inside TLS unless
 *	smtp_sasl_security_options says otherwise, and never logged.
 * LIMITS
 *	Per delivery: smtp_mx_address_limit addresses, smtp_mx_session_limit
 *	servers that answered; one reply at most SMTP_REPLY_MAX bytes and
 *	SMTP_REPLY_LINES_MAX lines; SMTP_OUT_MAX bytes queued for one
 *	server (the content is read in chunks as the socket drains).  Time:
 *	smtp_connect_timeout, smtp_helo_timeout, smtp_starttls_timeout,
 *	smtp_mail_timeout, smtp_rcpt_timeout, smtp_data_init_timeout,
 *	smtp_data_xfer_timeout, smtp_data_done_timeout, smtp_rset_timeout,
 *	smtp_quit_timeout (Postfix's names and defaults); DNS: two rounds
 *	over the name servers, SMTP_DNS_TRY_MS for the first.
 * DIAGNOSTICS
 *	Per recipient, Postfix's line (lib/svc/delivery_log.h): "QID:
 *	to=<u@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=0.4,
 *	delays=0.1/0/0.2/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok:
 *	queued as ...)", with status deferred or bounced and the server's
 *	reply ("host mx.example.org[192.0.2.1] said: 550 5.1.1 ... (in
 *	reply to RCPT TO command)") otherwise.  Per TLS handshake:
 *	"QID: Verified TLS connection established to
 *	mx.example.org[192.0.2.1]:25: TLSv1.3 with cipher ..." (Verified:
 *	the chain matched the CAs, or at level dane a TLSA record;
 *	Untrusted: not checked).  DANE: "QID: HOST[ADDR]:PORT: TLSA lookup
 *	error for _25._tcp.HOST: ..." (deferred, 4.7.5), "Server
 *	certificate not verified: no matching DANE TLSA records (TLS
 *	security level dane, server ...)".
 * CONFIGURATION PARAMETERS
 *	smtp_connect_timeout, smtp_helo_timeout, smtp_starttls_timeout,
 *	smtp_mail_timeout, smtp_rcpt_timeout, smtp_data_init_timeout,
 *	smtp_data_xfer_timeout, smtp_data_done_timeout,
 *	smtp_rset_timeout, smtp_quit_timeout	time limits
 *	smtp_helo_name				the EHLO name
 *	smtp_tcp_port				the port of a next hop
 *						that names none
 *	smtp_mx_address_limit, smtp_mx_session_limit,
 *	smtp_skip_5xx_greeting, smtp_address_preference,
 *	inet_protocols				which servers, in which order
 *	resolver_servers			the name servers
 *	smtp_dns_support_level			dnssec: ask for DNSSEC and
 *						believe the resolver's AD
 *						bit (for level dane)
 *	dnssec_probe				a query whose answer
 *						should be validated
 *	smtp_line_length_limit, disable_mime_output_conversion	content
 *	smtp_connection_cache_time_limit, smtp_connection_reuse_time_limit,
 *	smtp_connection_reuse_count_limit	connection reuse
 *	smtp_tls_security_level (none, may, encrypt, dane, dane-only,
 *	verify, secure), smtp_tls_policy_maps, smtp_tls_CAfile,
 *	smtp_tls_CApath, smtp_tls_secure_cert_match, smtp_tls_protocols,
 *	smtp_tls_mandatory_protocols, smtp_tls_ciphers,
 *	smtp_tls_mandatory_ciphers, smtp_tls_wrappermode	TLS
 *	smtp_sasl_auth_enable, smtp_sasl_password_maps,
 *	smtp_sasl_security_options, smtp_sasl_tls_security_options	AUTH
 *	myhostname				MX loop detection
 *	syslog_name, maillog_file, mail_owner	via lib/svc/server.c
 * WIRE PROTOCOL
 *	From qmgr: the delivery protocol (lib/svc/delivery.h): DELIVERY_HELLO
 *	from smtp on each connection, then DELIVERY_REQ with a queue file
 *	descriptor, answered by one DELIVERY_REP each, in order.
 *	To the name servers: MX, A and AAAA queries, and TLSA queries
 *	(_PORT._tcp.HOST) for level dane; with smtp_dns_support_level =
 *	dnssec every query carries EDNS0 with the DO bit and the AD bit,
 *	and an answer's AD bit is taken as the resolver's word that it
 *	validated it: the resolver must validate and be trusted (local).
 *	To the servers:
 *	SMTP (RFC 5321) with STARTTLS (RFC 3207), AUTH (RFC 4954),
 *	PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152),
 *	SMTPUTF8 (RFC 6531), DSN (RFC 3461).
 * SIGNALS
 *	SIGTERM: accept no new connection from qmgr, close idle server
 *	connections, finish the deliveries in progress, then exit.
 */
#include <signal.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "params.h"
#include "server.h"
#include "smtp_session.h"
#include "str.h"
#include "tls_ctx.h"
#include "tls_params.h"

#define SMTP_DNS_TRY_MS	2000
#define SMTP_DNS_TRIES	2

static struct dns *resolver;
static struct dns_query *probe_q;

/* on_probe - the resolver should have validated the dnssec_probe answer */
static void
on_probe(void *ctx, int status, const char *why, const char *const *names, size_t n)
{
	bool	secure = dns_secure(probe_q);

	(void) ctx;
	(void) names;
	(void) n;
	probe_q = NULL;
	if (status == DNS_OK && secure)
		return;
	log_warn("DNSSEC validation may be unavailable: the answer to dnssec_probe "
		 "%s %s; level dane needs a validating resolver in resolver_servers "
		 "or /etc/resolv.conf", cfg->dnssec_probe, status != DNS_OK ? why
		 : "came without the AD bit");
}

/*
 * probe - as Postfix: with DNSSEC, one query for dnssec_probe
 * ("TYPE:NAME", empty: none), to warn when the resolver does not validate
 */
static void
probe(void)
{
	static const struct {
		const char *name;
		int	type;
	} types[] = {
		{"a", 1}, {"ns", 2}, {"soa", 6}, {"ptr", 12}, {"mx", 15},
		{"txt", 16}, {"aaaa", 28}, {"tlsa", 52},
	};
	const char *colon = strchr(cfg->dnssec_probe, ':');
	char	word[8];

	if (str_casecmp(cfg->smtp_dns_support_level, "dnssec") != 0
	    || cfg->dnssec_probe[0] == '\0')
		return;
	if (colon != NULL && colon[1] != '\0' && (size_t) (colon - cfg->dnssec_probe) < sizeof(word)) {
		memcpy(word, cfg->dnssec_probe, (size_t) (colon - cfg->dnssec_probe));
		word[colon - cfg->dnssec_probe] = '\0';
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (str_casecmp(word, types[i].name) == 0) {
				probe_q = dns_probe(resolver, types[i].type, colon + 1, on_probe, NULL);
				return;
			}
	}
	log_warn("dnssec_probe = %s: expected TYPE:NAME with TYPE one of a, aaaa, "
		 "mx, ns, ptr, soa, tlsa, txt (Postfix's default is ns:.); no probe",
		 cfg->dnssec_probe);
}

static void
pre_jail(void)
{
	struct dns_conf dc = {
		.servers = cfg->resolver_servers,
		.timeout_ms = SMTP_DNS_TRY_MS,
		.tries = SMTP_DNS_TRIES,
		.dnssec = str_casecmp(cfg->smtp_dns_support_level, "dnssec") == 0,
	};
	struct tls_client_conf tc;
	char	why[512];

	if (!dc.dnssec && cfg->smtp_dns_support_level[0] != '\0'
	    && str_casecmp(cfg->smtp_dns_support_level, "enabled") != 0)
		log_fatal("smtp_dns_support_level = %s: expected enabled or dnssec "
			  "(or nothing)", cfg->smtp_dns_support_level);
	if ((resolver = dns_new(&dc, why, sizeof(why))) == NULL)
		log_fatal("cannot start the DNS resolver: %s (check resolver_servers "
			  "and /etc/resolv.conf)", why);
	for (int mandatory = 0; mandatory < 2; mandatory++) {
		SSL_CTX **ctx = mandatory ? &smtp_tls_ctx_mandatory : &smtp_tls_ctx;

		tls_params_smtp(cfg, mandatory, &tc);
		if ((*ctx = tls_ctx_client(&tc, why, sizeof(why))) == NULL)
			log_fatal("cannot make the TLS client context: %s (check "
				  "smtp_tls_CAfile, smtp_tls_CApath, smtp_tls_%sprotocols "
				  "and smtp_tls_%sciphers)", why, mandatory ? "mandatory_" : "",
				  mandatory ? "mandatory_" : "");
	}
	/* Level dane uses the mandatory context (RFC 7671 verification). */
	if (dc.dnssec && SSL_CTX_dane_enable(smtp_tls_ctx_mandatory) <= 0)
		log_fatal("cannot enable DANE in the TLS client context (OpenSSL)");
	if (smtp_tls_policy_open(why, sizeof(why)) < 0)
		log_fatal("%s", why);
	if (smtp_sasl_open(why, sizeof(why)) < 0)
		log_fatal("%s", why);
	if (smtp_port_parse(cfg->smtp_tcp_port, &smtp_default_port) < 0)
		log_fatal("smtp_tcp_port = %s: expected a port number or smtp, "
			  "submission, smtps", cfg->smtp_tcp_port);
}

static void
start(struct ev_loop *loop)
{
	signal(SIGPIPE, SIG_IGN);
	smtp_loop = loop;
	dns_attach(resolver, loop);
	smtp_resolve_init(loop, resolver);
	smtp_dane_init(resolver);
	probe();
	smtp_listen_start(loop);
}

static void
stop(struct ev_loop *loop)
{
	smtp_listen_stop(loop);
}

static const char *const params[] = {
	"smtp_*", "disable_mime_output_conversion", "inet_protocols",
	"myhostname", "resolver_servers", "dnssec_probe", NULL,
};

static const char *const syscalls[] = {
	"socket:inet", "socket:inet6", "bind", NULL,
};

static const struct server_ops ops = {
	.model = SERVER_EVENT,
	.chroot = SERVER_CHROOT_MUST,
	.syscalls = syscalls,
	.params = params,
	.pre_jail = pre_jail,
	.start = start,
	.stop = stop,
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
