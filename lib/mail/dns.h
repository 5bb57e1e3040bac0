/*
 * NAME
 *	dns - asynchronous DNS lookups (c-ares) on the event loop
 * SYNOPSIS
 *	#include "dns.h"
 *
 *	// Before the chroot (pre-jail): reads /etc/resolv.conf.
 *	struct dns_conf conf = { .servers = cfg->resolver_servers,
 *				 .timeout_ms = 1000, .tries = 2 };
 *	struct dns *d = dns_new(&conf, why, sizeof(why));
 *	// Once the event loop exists:
 *	dns_attach(d, loop);
 *
 *	q = dns_ptr(d, AF_INET, &in4, on_names, ctx);	// PTR
 *	q = dns_host(d, "mx.example.org", AF_INET6, on_addrs, ctx); // AAAA
 *	q = dns_mx(d, "example.org", on_mx, ctx);		// MX
 *	q = dns_txt(d, "2.0.0.127.zen.example", on_txt, ctx);	// TXT
 *	q = dns_tlsa(d, "_25._tcp.mx.example.org", on_tlsa, ctx); // TLSA
 *	q = dns_probe(d, 2, ".", on_names, ctx);	// any type: status, AD
 *	...in a callback: dns_secure(q)	// the answer carried AD
 *	dns_cancel(q);		// the callback will not run
 *
 *	dns_servers_csv("127.0.0.1:5353 [::1]", out, sizeof(out), why, n);
 * DESCRIPTION
 *	One c-ares channel per struct dns, driven by one event loop
 *	(event.h): c-ares tells through its socket-state callback which
 *	descriptors it wants watched, each gets an ev_io, readiness is
 *	handed to ares_process_fd(), and one ev_timer follows
 *	ares_timeout() for retransmissions and timeouts.  Nothing here
 *	blocks; no thread is started.
 *
 *	dns_new() makes the channel.  conf->servers empty (or NULL): the
 *	name servers of /etc/resolv.conf, read now; else a list of
 *	"ip", "ip:port", "[ipv6]" or "[ipv6]:port" separated by commas or
 *	spaces (at most DNS_SERVERS_MAX; see dns_servers_csv()).
 *	conf->timeout_ms is the wait for the first answer of each try
 *	(c-ares doubles it on each later round), conf->tries the rounds
 *	over the server list; 0 takes c-ares's default.  Returns NULL
 *	with *why filled when the list is malformed or c-ares cannot
 *	start (no memory).
 *
 *	dns_attach() binds the channel to the loop that will drive it;
 *	no lookup may be started before.  dns_free() stops every lookup
 *	(no callback runs), closes c-ares's sockets and frees d; it must
 *	not be called from inside one of d's callbacks.
 *
 *	Lookups.  Each returns a handle that stays valid until its
 *	callback has run or dns_cancel() was called; the callback runs
 *	exactly once otherwise, always from the event loop, never from
 *	inside the call that started the lookup (an answer c-ares knows
 *	at once, say a numeric name, is delivered on the next loop
 *	round).  The data a callback receives is valid during the call
 *	only.  A callback may start new lookups.  status is DNS_OK,
 *	DNS_NOTFOUND (no such name, or no record of that type: a
 *	permanent answer) or DNS_TEMPFAIL (timeout, server failure,
 *	refusal, no server reachable: try again later); why is a short
 *	text for logs ("" with DNS_OK).
 *
 *	dns_ptr(): the names of an address (family AF_INET with 4 bytes,
 *	AF_INET6 with 16) from its PTR records (in-addr.arpa, ip6.arpa;
 *	CNAMEs of classless delegation followed), each once, at most
 *	DNS_NAMES_MAX, in the order of the answer.  Names are as the server sent them
 *	(c-ares's text form, no trailing dot): the caller validates them
 *	before use (addr_domain_valid()), since the owner of the address
 *	block writes whatever he likes there.
 *
 *	dns_host(): the addresses of a name, A (AF_INET) or AAAA
 *	(AF_INET6) records, at most DNS_ADDRS_MAX, each once.  The name
 *	is taken as absolute: no search domains, no HOSTALIASES, no
 *	/etc/hosts.  "localhost" and names under it are the loopback
 *	address, without a query (RFC 6761 section 6.3).
 *
 *	dns_mx(): the MX records of a domain, at most DNS_MX_MAX, in the
 *	order of the answer (the caller sorts by preference).
 *
 *	dns_txt(): the TXT records of a name (DNS lists give their reason
 *	there), at most DNS_NAMES_MAX, each cut to DNS_NAME_MAX bytes,
 *	any byte outside printable ASCII made '?'.
 *
 *	dns_tlsa(): the TLSA records (RFC 6698, type 52) of a name, at
 *	most DNS_TLSA_MAX, each as usage, selector, matching type and
 *	the association data (pointing into the answer: bounded by its
 *	size), parsed from the raw answer by dns_tlsa_parse(), which
 *	checks every name and length against the message and refuses a
 *	TLSA record shorter than its three fixed bytes.  A malformed
 *	answer is DNS_TEMPFAIL.  The owner name of a record is not
 *	compared with the name asked (the resolver followed CNAMEs).
 *
 *	DNSSEC.  With conf->dnssec (smtp_dns_support_level = dnssec)
 *	every query is sent with EDNS0, the DO bit and the AD bit set
 *	(RFC 6840 section 5.7), and dns_secure(q), called from inside q's
 *	callback, tells whether the answer came with the AD bit: the
 *	resolver says it validated the answer (or the denial of it).
 *	Nothing here validates signatures: the resolver must validate,
 *	and the path to it must be trusted (the same host, or a
 *	protected network).  Without conf->dnssec, dns_secure() is
 *	always false.  Address lookups (dns_host) then use plain A/AAAA
 *	queries instead of c-ares's getaddrinfo, so that the answer's
 *	header can be read.
 *
 *	dns_probe(): a query of any type (dnssec_probe), for its status
 *	and dns_secure() only: the callback gets no names.
 *
 *	dns_addr_match() tells whether one of n addresses equals the
 *	address family/bin.  dns_servers_csv() checks a resolver_servers
 *	list and writes it as c-ares's "ip:port,[ipv6]:port" text.
 *	dns_sockets() and dns_queries() count the descriptors watched and
 *	the lookups not yet delivered (tests, diagnostics).
 * CHROOT
 *	Everything c-ares reads from files it reads in dns_new(): the
 *	resolver configuration (/etc/resolv.conf) and its random key
 *	(/dev/urandom).  Lookups use DNS only (c-ares lookups "b"): no
 *	/etc/hosts, so a chrooted process without /etc resolves the same
 *	way, and nothing is opened per lookup.  The flip side: names that
 *	only /etc/hosts knows (a 127.0.0.1 entry, say) are not found.
 *	resolv.conf is not read again: a changed one takes effect when
 *	the process is replaced (postern reload).
 * SECURITY
 *	Answers are parsed by c-ares; what reaches callers is bounded
 *	(DNS_NAME_MAX per name, DNS_NAMES_MAX, DNS_ADDRS_MAX, DNS_MX_MAX
 *	entries; longer names are dropped, further entries ignored).
 *	c-ares opens one UDP socket per server while lookups are pending
 *	and closes it when none are (no ARES_FLAG_STAYOPEN), so the source
 *	port changes between idle periods; query IDs are random.  The path
 *	to the resolvers is trusted as much as the resolvers themselves:
 *	use one on the same host or network.
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

#define DNS_NAME_MAX	255	/* a name as text, no trailing dot */
#define DNS_NAMES_MAX	8	/* PTR names kept from one answer */
#define DNS_ADDRS_MAX	64	/* addresses kept from one answer */
#define DNS_MX_MAX	32	/* MX records kept from one answer */
#define DNS_TLSA_MAX	16	/* TLSA records kept from one answer */
#define DNS_SERVERS_MAX	8	/* entries of a resolver_servers list */
#define DNS_SERVERS_CSV	(DNS_SERVERS_MAX * 56)	/* dns_servers_csv() output */

enum dns_status {
	DNS_OK = 0,
	DNS_NOTFOUND = 1,	/* NXDOMAIN or no data: permanent */
	DNS_TEMPFAIL = 2,	/* timeout, SERVFAIL, refused ...: retry later */
};

struct dns_addr {
	int	family;		/* AF_INET or AF_INET6 */
	unsigned char a[16];	/* 4 or 16 bytes, network order */
};

struct dns_mx {
	unsigned pref;
	char	name[DNS_NAME_MAX + 1];
};

struct dns_tlsa {
	unsigned char usage;	/* 0 PKIX-TA .. 3 DANE-EE */
	unsigned char selector;	/* 0 full certificate, 1 SubjectPublicKeyInfo */
	unsigned char mtype;	/* 0 exact, 1 SHA-256, 2 SHA-512 */
	size_t	len;
	const unsigned char *data;	/* len bytes */
};

struct dns_conf {
	const char *servers;	/* resolver_servers; NULL or "": resolv.conf */
	unsigned timeout_ms;	/* first try; 0: c-ares's default */
	unsigned tries;		/* 0: c-ares's default */
	bool	dnssec;		/* DO and AD bits; dns_secure() */
};

struct dns;
struct dns_query;

typedef void dns_names_cb(void *ctx, int status, const char *why,
			  const char *const *names, size_t n);
typedef void dns_addrs_cb(void *ctx, int status, const char *why,
			  const struct dns_addr *addrs, size_t n);
typedef void dns_mx_cb(void *ctx, int status, const char *why,
		       const struct dns_mx *mx, size_t n);
typedef void dns_tlsa_cb(void *ctx, int status, const char *why,
			 const struct dns_tlsa *tlsa, size_t n);

struct dns *dns_new(const struct dns_conf *conf, char *why, size_t whylen);
void	dns_attach(struct dns *d, struct ev_loop *loop);
void	dns_free(struct dns *d);

struct dns_query *dns_ptr(struct dns *d, int family, const void *addr,
			  dns_names_cb *cb, void *ctx);
struct dns_query *dns_host(struct dns *d, const char *name, int family,
			   dns_addrs_cb *cb, void *ctx);
struct dns_query *dns_mx(struct dns *d, const char *name, dns_mx_cb *cb,
			 void *ctx);
struct dns_query *dns_txt(struct dns *d, const char *name, dns_names_cb *cb,
			  void *ctx);
struct dns_query *dns_tlsa(struct dns *d, const char *name, dns_tlsa_cb *cb,
			  void *ctx);
struct dns_query *dns_probe(struct dns *d, int type, const char *name,
			    dns_names_cb *cb, void *ctx);
void	dns_cancel(struct dns_query *q);
bool	dns_secure(const struct dns_query *q);
int	dns_tlsa_parse(const unsigned char *msg, size_t len, struct dns_tlsa *out,
		       size_t max, size_t *n, char *why, size_t whylen);

bool	dns_addr_match(const struct dns_addr *addrs, size_t n, int family,
		       const void *bin);
int	dns_servers_csv(const char *list, char *out, size_t outsz, char *why,
			size_t whylen);
size_t	dns_sockets(const struct dns *d);
size_t	dns_queries(const struct dns *d);

#endif
