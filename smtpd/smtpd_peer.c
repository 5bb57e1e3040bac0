/*
 * NAME
 *	smtpd_peer - the client's name: reverse lookup confirmed by a
 *	forward lookup, as an event
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_peer_init();		// pre-jail: the resolver (resolv.conf)
 *	smtpd_peer_start(loop);		// once the loop exists
 *	if (!smtpd_peer_lookup(s))	// at connect
 *		smtpd_session_ready(s);	// else called when the name is known
 *	smtpd_peer_cancel(s);		// the session ends first
 *	smtpd_peer_end();		// free the resolver
 *	smtpd_peer_name_ok("mail.example.org");
 * DESCRIPTION
 *	As Postfix does, a client is called by a name only when the
 *	name's owner and the address's owner agree (forward-confirmed
 *	reverse DNS): the PTR records of the client's address give
 *	names, and a name is taken when one of its addresses (A for an
 *	IPv4 client, AAAA for IPv6) is the client's own.  Otherwise the
 *	client is "unknown".  The name appears in every log line about
 *	the session ("connect from NAME[ADDR]", client=, reject,
 *	disconnect) and in the Received: header (passed to cleanup as
 *	client_name).
 *
 *	A name from a PTR record is checked before anything else is done
 *	with it (smtpd_peer_name_ok()): a host name by RFC 5321's rules
 *	(addr_domain_valid(): letters, digits, hyphens, underscores, dots;
 *	labels of at most 63 octets, at most 255 in all; no all-digit last
 *	label, so a PTR record that holds an address is refused), ASCII
 *	only, and not "unknown" itself.  Control characters, spaces and
 *	other junk never reach a log line or a header.  The first
 *	SMTPD_PEER_NAMES valid names are tried in the order of the answer
 *	(Postfix takes one); the first that is confirmed wins.
 *
 *	The lookups are events on smtpd's loop (lib/mail/dns.h): while one
 *	session waits for its name, every other session is served.  The
 *	greeting and the "connect from" line wait for the result, as in
 *	Postfix; a client that talks during the wait is caught by the
 *	pre-greeting check when the wait ends.  The whole wait is bounded
 *	by smtpd_peername_lookup_timeout (5 s by default); past it the
 *	client is "unknown" and the lookup still running is abandoned.
 *	Each DNS query waits SMTPD_PEER_TRY_MS for its first try and twice
 *	that for the second (SMTPD_PEER_TRIES rounds over the servers), so
 *	an abandoned query is gone from c-ares within about 3 s.
 *
 *	With smtpd_peername_lookup = no there is no resolver: no
 *	resolv.conf is read, no socket is opened, every client is
 *	"unknown" at once.
 *
 *	Connections refused before a session exists (smtpd_client_limit,
 *	smtpd_client_connection_count_limit) are logged as unknown[ADDR]:
 *	a flood must not cost a DNS lookup per connection.
 * DIAGNOSTICS
 *	Postfix's shapes, through the session's bounded log:
 *	"warning: hostname NAME does not resolve to address ADDR" (no
 *	address of NAME is the client's), "... ADDR: REASON" (the forward
 *	lookup failed); and postern's own: "warning: malformed host name
 *	in the PTR record of ADDR: NAME", "warning: reverse lookup of
 *	ADDR failed: REASON" (a temporary failure; an address without a
 *	PTR record is not worth a line), "warning: name lookup for ADDR
 *	took more than Ns (smtpd_peername_lookup_timeout); the client is
 *	unknown".
 * CONFIGURATION PARAMETERS
 *	smtpd_peername_lookup, smtpd_peername_lookup_timeout,
 *	resolver_servers (empty: /etc/resolv.conf, read before the chroot).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "dns.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "smtpd.h"
#include "str.h"

#define SMTPD_PEER_NAMES	4	/* valid PTR names tried, in order */
#define SMTPD_PEER_TRY_MS	1000	/* c-ares: the first try of a query */
#define SMTPD_PEER_TRIES	2	/* c-ares: rounds over the servers */

struct smtpd_peer {
	struct smtpd_session *s;
	struct dns_query *q;		/* in flight, or NULL */
	struct ev_timer bound;		/* smtpd_peername_lookup_timeout */
	int	family;
	unsigned char bin[16];
	char	names[SMTPD_PEER_NAMES][DNS_NAME_MAX + 1];
	size_t	n, next;		/* names kept; the one asked about */
	bool	tempfail;		/* a lookup failed for now */
};

static struct dns *resolver;		/* NULL: lookups off */

bool
smtpd_peer_name_ok(const char *name)
{
	if (str_casecmp(name, "unknown") == 0)
		return false;
	return addr_domain_valid(name, false);
}

void
smtpd_peer_init(void)
{
	struct dns_conf conf = {
		.servers = cfg->resolver_servers,
		.timeout_ms = SMTPD_PEER_TRY_MS,
		.tries = SMTPD_PEER_TRIES,
	};
	char	why[512];

	/* The resolver serves the names of clients and the DNS restrictions. */
	if (resolver != NULL || (!cfg->smtpd_peername_lookup && !smtpd_restrict_needs_dns()))
		return;
	if ((resolver = dns_new(&conf, why, sizeof(why))) == NULL)
		log_fatal("client name lookups (smtpd_peername_lookup = yes): "
			  "resolver_servers = %s: %s (fix the list, or empty it to "
			  "use /etc/resolv.conf)", cfg->resolver_servers, why);
}

struct dns *
smtpd_dns(void)
{
	return resolver;
}

void
smtpd_peer_start(struct ev_loop *loop)
{
	if (resolver != NULL)
		dns_attach(resolver, loop);
}

void
smtpd_peer_end(void)
{
	dns_free(resolver);
	resolver = NULL;
}

/* finish - the name is known (or "unknown"): the session goes on */
static void
finish(struct smtpd_peer *p, const char *name)
{
	struct smtpd_session *s = p->s;

	if (name != NULL) {
		(void) str_copy(s->name, sizeof(s->name), name);
		s->name_status = 0;
	} else
		s->name_status = p->tempfail || s->reverse_status == 4 ? 4 : 5;
	smtpd_peer_cancel(s);
	smtpd_session_ready(s);
}

static void on_addrs(void *ctx, int status, const char *why,
		     const struct dns_addr *addrs, size_t n);

/* confirm_next - the forward lookup of the next name, or give up */
static void
confirm_next(struct smtpd_peer *p)
{
	if (p->next >= p->n) {
		finish(p, NULL);
		return;
	}
	p->q = dns_host(resolver, p->names[p->next], p->family, on_addrs, p);
}

static void
on_addrs(void *ctx, int status, const char *why, const struct dns_addr *addrs,
	 size_t n)
{
	struct smtpd_peer *p = ctx;
	struct smtpd_session *s = p->s;
	const char *name = p->names[p->next];

	p->q = NULL;
	if (status == DNS_OK && dns_addr_match(addrs, n, p->family, p->bin)) {
		finish(p, name);
		return;
	}
	if (status == DNS_TEMPFAIL)
		p->tempfail = true;
	if (status == DNS_OK)
		smtpd_log(s, "warning: hostname %s does not resolve to address %s",
			  name, s->addr);
	else
		smtpd_log(s, "warning: hostname %s does not resolve to address %s: %s",
			  name, s->addr, why);
	p->next++;
	confirm_next(p);
}

static void
on_names(void *ctx, int status, const char *why, const char *const *names,
	 size_t n)
{
	struct smtpd_peer *p = ctx;
	struct smtpd_session *s = p->s;

	p->q = NULL;
	if (status == DNS_TEMPFAIL)
		smtpd_log(s, "warning: reverse lookup of %s failed: %s", s->addr, why);
	for (size_t i = 0; i < n && p->n < SMTPD_PEER_NAMES; i++) {
		if (!smtpd_peer_name_ok(names[i])) {
			smtpd_log(s, "warning: malformed host name in the PTR record "
				  "of %s: %.255s", s->addr, names[i]);
			continue;
		}
		(void) str_copy(p->names[p->n++], sizeof(p->names[0]), names[i]);
	}
	/* reject_unknown_reverse_client_hostname and its access check. */
	s->reverse_status = p->n > 0 ? 0 : status == DNS_TEMPFAIL ? 4 : 5;
	if (p->n > 0 && s->reverse_name == NULL)
		s->reverse_name = xstrdup(p->names[0]);
	confirm_next(p);
}

static void
on_bound(struct ev_loop *loop, struct ev_timer *t)
{
	struct smtpd_peer *p = t->data;

	(void) loop;
	smtpd_log(p->s, "warning: name lookup for %s took more than %llus "
		  "(smtpd_peername_lookup_timeout); the client is unknown",
		  p->s->addr, (unsigned long long) cfg->smtpd_peername_lookup_timeout);
	p->tempfail = true;
	if (p->n == 0)
		p->s->reverse_status = 4;
	finish(p, NULL);
}

bool
smtpd_peer_lookup(struct smtpd_session *s)
{
	struct smtpd_peer *p;
	unsigned char bin[16];
	int	family;

	if (resolver == NULL || !cfg->smtpd_peername_lookup)
		return false;
	if (inet_pton(AF_INET, s->addr, bin) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, s->addr, bin) == 1)
		family = AF_INET6;
	else
		return false;		/* "unknown", a scoped address: no name */
	p = xcalloc(1, sizeof(*p));
	p->s = s;
	p->family = family;
	memcpy(p->bin, bin, sizeof(bin));
	s->peer = p;
	ev_timer_init(&p->bound, on_bound, p);
	ev_timer_start(s->loop, &p->bound, cfg->smtpd_peername_lookup_timeout * 1000);
	p->q = dns_ptr(resolver, family, bin, on_names, p);
	return true;
}

void
smtpd_peer_cancel(struct smtpd_session *s)
{
	struct smtpd_peer *p = s->peer;

	if (p == NULL)
		return;
	dns_cancel(p->q);
	ev_timer_stop(s->loop, &p->bound);
	free(p);
	s->peer = NULL;
}
