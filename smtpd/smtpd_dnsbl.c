/*
 * NAME
 *	smtpd_dnsbl - DNS lists and the existence of domains and host
 *	names, as events on smtpd's resolver
 * SYNOPSIS
 *	#include "smtpd_restrict.h"
 *
 *	out = smtpd_dnsbl(c, R_REJECT_RBL_CLIENT, "zen.example=127.0.0.[2..11]");
 *	out = smtpd_domain_check(c, R_REJECT_UNKNOWN_SENDER_DOMAIN);
 * DESCRIPTION
 *	smtpd_dnsbl() asks a DNS list, as Postfix does:
 *
 *	  reject_rbl_client ZONE	the client's address, reversed
 *					(4.3.2.1.ZONE; IPv6 by nibbles)
 *	  reject_rhsbl_client ZONE	the client's name (not "unknown")
 *	  reject_rhsbl_sender ZONE	the sender's domain
 *	  reject_rhsbl_helo ZONE	the HELO name
 *	  reject_rhsbl_recipient ZONE	the recipient's domain
 *	  permit_dnswl_client ZONE	the client's address: listed permits
 *
 *	A name is listed when it has an A record (with ZONE=d.d.d.d, one
 *	that matches: each octet a number, [a..b] or [a;b;c]).  The
 *	reply names the list and quotes its TXT records (joined with
 *	" / ", at most 500 bytes): "554 5.7.1 Service unavailable; Client
 *	host [192.0.2.1] blocked using zone; reason" (maps_rbl_reject_code,
 *	Postfix's default_rbl_reply).  A list that does not answer (a
 *	timeout, SERVFAIL) is logged and counts as "not listed", as in
 *	Postfix: mail is not refused because a list is down.  Answers are
 *	kept for the session (at most DNSCACHE_MAX names), so the RCPTs
 *	of one session cost one query per list.
 *
 *	smtpd_domain_check(): reject_unknown_sender_domain,
 *	reject_unknown_recipient_domain (the domain of the address: not
 *	for local domains or address literals) and
 *	reject_unknown_helo_hostname: the name must have an MX record, or
 *	else an A or AAAA record.  None: "450 4.1.8 <s>: Sender address
 *	rejected: Domain not found" (4.1.2 for a recipient;
 *	unknown_address_reject_code), "450 4.7.1 <h>: Helo command
 *	rejected: Host not found" (unknown_hostname_reject_code).  A null
 *	MX (RFC 7505): "550 5.7.27 ... Domain D does not accept mail
 *	(nullMX)".  A lookup that fails for now: the same reply with
 *	code 450, as defer_if_permit (Postfix's
 *	unknown_address_tempfail_action).
 *
 *	Every query runs on smtpd's c-ares resolver in the event loop
 *	(lib/mail/dns.h, smtpd_peer.c: resolver_servers); a list that never
 *	answers holds up only its own session, for the resolver's
 *	timeouts (about 3 s), never another.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "smtpd.h"
#include "smtpd_restrict.h"
#include "str.h"

#define DNSCACHE_MAX	32
#define RBL_TXT_LIMIT	500

struct dns_entry {
	char   *name;
	int	status;			/* DNS_OK (listed/exists), NOTFOUND, TEMPFAIL */
	int	nullmx;
	char   *txt;
	struct dns_addr addrs[8];
	size_t	naddrs;
	struct dns_entry *next;
};

struct smtpd_dnscache {
	struct dns_entry *head;
	size_t	n;
};

struct pending {
	struct smtpd_check *c;
	struct dns_query *q;
	enum restriction_code code;
	char	zone[256];		/* without "=..." */
	char	filter[64];		/* "=d.d.d.d" part, or "" */
	char	what[ADDR_CANON_MAX + 1];	/* shown in the reply */
	char	qname[DNS_NAME_MAX + 1];
	struct dns_entry *e;
	int	step;			/* domain checks: 0 MX, 1 A, 2 AAAA */
	bool	tempfail;		/* a lookup failed for now */
};

bool
smtpd_dns_needed(enum restriction_code code)
{
	switch (code) {
	case R_REJECT_RBL_CLIENT:
	case R_REJECT_RHSBL_CLIENT:
	case R_REJECT_RHSBL_SENDER:
	case R_REJECT_RHSBL_HELO:
	case R_REJECT_RHSBL_RECIPIENT:
	case R_PERMIT_DNSWL_CLIENT:
	case R_REJECT_UNKNOWN_SENDER_DOMAIN:
	case R_REJECT_UNKNOWN_RECIPIENT_DOMAIN:
	case R_REJECT_UNKNOWN_HELO_HOSTNAME:
		return true;
	default:
		return false;
	}
}

void
smtpd_dnscache_free(struct smtpd_session *s)
{
	struct dns_entry *e, *next;

	if (s->dnscache == NULL)
		return;
	for (e = s->dnscache->head; e != NULL; e = next) {
		next = e->next;
		free(e->name);
		free(e->txt);
		free(e);
	}
	free(s->dnscache);
	s->dnscache = NULL;
}

static struct dns_entry *
cache_find(struct smtpd_session *s, const char *name)
{
	if (s->dnscache == NULL)
		return NULL;
	for (struct dns_entry *e = s->dnscache->head; e != NULL; e = e->next)
		if (str_casecmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* cache_new - an entry for name, the oldest making room */
static struct dns_entry *
cache_new(struct smtpd_session *s, const char *name)
{
	struct dns_entry *e = xcalloc(1, sizeof(*e));

	if (s->dnscache == NULL)
		s->dnscache = xcalloc(1, sizeof(*s->dnscache));
	if (s->dnscache->n == DNSCACHE_MAX) {
		struct dns_entry **pp = &s->dnscache->head;

		while ((*pp)->next != NULL)
			pp = &(*pp)->next;
		free((*pp)->name);
		free((*pp)->txt);
		free(*pp);
		*pp = NULL;
		s->dnscache->n--;
	}
	e->name = xstrdup(name);
	e->status = -1;
	e->next = s->dnscache->head;
	s->dnscache->head = e;
	s->dnscache->n++;
	return e;
}

static void
pending_cancel(void *arg)
{
	struct pending *p = arg;

	dns_cancel(p->q);
	free(p);
}

/* ------------------------------------------------------------------ */
/* DNS lists.                                                         */

/* octet_match - one octet against "N", "[a..b]" or "[a;b;c]" */
static bool
octet_match(unsigned v, const char *p, size_t n)
{
	char    pat[32];
	char   *dots;

	if (n == 0 || n >= sizeof(pat))
		return false;
	memcpy(pat, p, n);
	pat[n] = '\0';
	if (pat[0] != '[')
		return strtoul(pat, NULL, 10) == v;
	pat[n - 1] = '\0';
	if ((dots = strstr(pat + 1, "..")) != NULL)
		return v >= strtoul(pat + 1, NULL, 10) && v <= strtoul(dots + 2, NULL, 10);
	for (char *t = strtok(pat + 1, ";"); t != NULL; t = strtok(NULL, ";"))
		if (strtoul(t, NULL, 10) == v)
			return true;
	return false;
}

/* filter_match - an A record against "d.d.d.d" with ranges */
static bool
filter_match(const struct dns_addr *a, const char *filter)
{
	const char *p = filter;

	if (a->family != AF_INET)
		return false;
	for (int k = 0; k < 4; k++) {
		size_t  n = (*p == '[' && strchr(p, ']')) ? (size_t) (strchr(p, ']') - p) + 1
		    : strcspn(p, ".");

		if (!octet_match(a->a[k], p, n))
			return false;
		p += n;
		if (k < 3 && *p++ != '.')
			return false;
	}
	return true;
}

static bool
listed(const struct pending *p, const struct dns_entry *e)
{
	if (e->status != DNS_OK)
		return false;
	if (p->filter[0] == '\0')
		return e->naddrs > 0;
	for (size_t i = 0; i < e->naddrs; i++)
		if (filter_match(&e->addrs[i], p->filter))
			return true;
	return false;
}

/* verdict - the list's answer is in e */
static int
verdict(struct pending *p, const struct dns_entry *e)
{
	struct smtpd_check *c = p->c;
	const char *cls;

	if (e->status == DNS_TEMPFAIL || !listed(p, e))
		return SMTPD_R_DUNNO;
	switch (p->code) {
	case R_PERMIT_DNSWL_CLIENT:
		return SMTPD_R_OK;
	case R_REJECT_RBL_CLIENT:
	case R_REJECT_RHSBL_CLIENT:
		cls = "Client host";
		break;
	case R_REJECT_RHSBL_SENDER:
		cls = "Sender address";
		break;
	case R_REJECT_RHSBL_HELO:
		cls = "Helo command";
		break;
	default:
		cls = "Recipient address";
		break;
	}
	return smtpd_check_reject(c, (int) cfg->maps_rbl_reject_code, "5.7.1",
				  "Service unavailable; %s [%s] blocked using %s%s%s",
				  cls, p->what, p->zone, e->txt && *e->txt ? "; " : "",
				  e->txt ? e->txt : "");
}

static void
finish(struct pending *p, int out)
{
	struct smtpd_check *c = p->c;

	free(p);
	smtpd_check_resume(c, out);
}

static void
on_txt(void *ctx, int status, const char *why, const char *const *txt, size_t n)
{
	struct pending *p = ctx;
	struct buf b;

	(void) why;
	p->q = NULL;
	buf_init(&b, RBL_TXT_LIMIT);
	for (size_t i = 0; status == DNS_OK && i < n; i++)
		if ((i > 0 && buf_puts(&b, " / ") < 0) || buf_puts(&b, txt[i]) < 0)
			break;
	p->e->txt = xstrdup(buf_str(&b));
	buf_free(&b);
	finish(p, verdict(p, p->e));
}

static void
on_list(void *ctx, int status, const char *why, const struct dns_addr *addrs, size_t n)
{
	struct pending *p = ctx;
	struct dns_entry *e = p->e;

	p->q = NULL;
	e->status = status;
	for (size_t i = 0; status == DNS_OK && i < n && e->naddrs < 8; i++)
		e->addrs[e->naddrs++] = addrs[i];
	if (status == DNS_TEMPFAIL)
		smtpd_log(p->c->s, "warning: %s: RBL lookup error: %s", p->qname, why);
	if (status == DNS_OK && p->code != R_PERMIT_DNSWL_CLIENT) {
		p->q = dns_txt(smtpd_dns(), p->qname, on_txt, p);
		return;
	}
	finish(p, verdict(p, e));
}

/* reversed - "4.3.2.1" or 32 nibbles of the client's address */
static bool
reversed(const char *addr, char *out, size_t outsz)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, addr, b) == 1) {
		(void) str_fmt(out, outsz, "%u.%u.%u.%u", b[3], b[2], b[1], b[0]);
		return true;
	}
	if (inet_pton(AF_INET6, addr, b) == 1) {
		static const char hex[] = "0123456789abcdef";
		size_t  k = 0;

		for (int i = 15; i >= 0 && k + 4 < outsz; i--) {
			out[k++] = hex[b[i] & 15];
			out[k++] = '.';
			out[k++] = hex[b[i] >> 4];
			out[k++] = i ? '.' : '\0';
		}
		return true;
	}
	return false;
}

int
smtpd_dnsbl(struct smtpd_check *c, enum restriction_code code, const char *zone)
{
	struct smtpd_session *s = c->s;
	struct pending *p = xcalloc(1, sizeof(*p));
	const char *eq = strchr(zone, '='), *a, *key;
	char    rev[80];
	struct dns_entry *e;

	p->c = c;
	p->code = code;
	(void) str_fmt(p->zone, sizeof(p->zone), "%.*s", (int) (eq ? eq - zone
				: (long) strlen(zone)), zone);
	if (eq)
		(void) str_copy(p->filter, sizeof(p->filter), eq + 1);
	switch (code) {
	case R_REJECT_RBL_CLIENT:
	case R_PERMIT_DNSWL_CLIENT:
		if (!reversed(s->addr, rev, sizeof(rev)))
			goto none;
		key = rev;
		(void) str_copy(p->what, sizeof(p->what), s->addr);
		break;
	case R_REJECT_RHSBL_CLIENT:
		if (s->name_status != 0)
			goto none;
		key = s->name;
		(void) str_copy(p->what, sizeof(p->what), s->name);
		break;
	case R_REJECT_RHSBL_HELO:
		if (s->helo[0] == '\0' || s->helo[0] == '[')
			goto none;
		key = s->helo;
		(void) str_copy(p->what, sizeof(p->what), s->helo);
		break;
	default:
		a = code == R_REJECT_RHSBL_SENDER ? (s->in_mail ? s->sender : "")
		    : smtpd_check_rcpt_addr(c);
		if (a == NULL || strrchr(a, '@') == NULL || strrchr(a, '@')[1] == '['
		    || strrchr(a, '@')[1] == '\0')
			goto none;
		key = strrchr(a, '@') + 1;
		(void) str_copy(p->what, sizeof(p->what), a);
		break;
	}
	if (str_fmt(p->qname, sizeof(p->qname), "%s.%s", key, p->zone) < 0)
		goto none;
	if ((e = cache_find(s, p->qname)) != NULL && e->status >= 0) {
		int     out;

		p->e = e;
		out = verdict(p, e);
		free(p);
		return out;
	}
	if (smtpd_dns() == NULL) {
		log_warn("%s %s: no resolver", p->zone, p->qname);
		goto none;
	}
	p->e = e ? e : cache_new(s, p->qname);
	smtpd_check_wait(c, pending_cancel, p);
	p->q = dns_host(smtpd_dns(), p->qname, AF_INET, on_list, p);
	return SMTPD_R_WAIT;

none:
	free(p);
	return SMTPD_R_DUNNO;
}

/* ------------------------------------------------------------------ */
/* Domains and host names that exist.                                 */

static int
domain_verdict(struct pending *p, const struct dns_entry *e)
{
	struct smtpd_check *c = p->c;
	bool    helo = p->code == R_REJECT_UNKNOWN_HELO_HOSTNAME;
	bool    sender = p->code == R_REJECT_UNKNOWN_SENDER_DOMAIN;
	const char *cls = helo ? "Helo command" : sender ? "Sender address"
	    : "Recipient address";
	int     code = helo ? (int) cfg->unknown_hostname_reject_code
	    : (int) cfg->unknown_address_reject_code;
	const char *dsn = helo ? "4.7.1" : sender ? "4.1.8" : "4.1.2";
	const char *what = helo ? "Host not found" : "Domain not found";

	if (e->nullmx)
		return smtpd_check_reject(c, 550, "5.7.27", "<%s>: %s rejected: Domain "
					  "%s does not accept mail (nullMX)", p->what,
					  cls, e->name + 3);
	if (e->status == DNS_OK)
		return SMTPD_R_DUNNO;
	if (e->status == DNS_TEMPFAIL) {
		/* A failure for now: refuse only what would be accepted. */
		struct smtpd_verdict saved = c->v;

		if (c->defer_if_permit.code == 0) {
			(void) smtpd_check_reject(c, 450, dsn, "<%s>: %s rejected: %s",
						  p->what, cls, what);
			c->defer_if_permit = c->v;
		}
		c->v = saved;
		return SMTPD_R_DUNNO;
	}
	return smtpd_check_reject(c, code, dsn, "<%s>: %s rejected: %s", p->what,
				  cls, what);
}

static void on_mx(void *ctx, int status, const char *why, const struct dns_mx *mx,
		  size_t n);

static void
on_host(void *ctx, int status, const char *why, const struct dns_addr *addrs, size_t n)
{
	struct pending *p = ctx;
	const char *domain = p->e->name + 3;

	(void) why;
	(void) addrs;
	(void) n;
	p->q = NULL;
	if (status == DNS_TEMPFAIL)
		p->tempfail = true;
	if (status != DNS_OK && p->step == 1) {
		p->step = 2;
		p->q = dns_host(smtpd_dns(), domain, AF_INET6, on_host, p);
		return;
	}
	p->e->status = status == DNS_OK ? DNS_OK : p->tempfail ? DNS_TEMPFAIL
	    : DNS_NOTFOUND;
	finish(p, domain_verdict(p, p->e));
}

static void
on_mx(void *ctx, int status, const char *why, const struct dns_mx *mx, size_t n)
{
	struct pending *p = ctx;
	const char *domain = p->e->name + 3;

	(void) why;
	p->q = NULL;
	if (status == DNS_OK) {
		p->e->status = DNS_OK;
		p->e->nullmx = n == 1 && (mx[0].name[0] == '\0' || str_eq(mx[0].name, "."));
		finish(p, domain_verdict(p, p->e));
		return;
	}
	p->tempfail = status == DNS_TEMPFAIL;	/* unless a record is found */
	p->step = 1;
	p->q = dns_host(smtpd_dns(), domain, AF_INET, on_host, p);
}

int
smtpd_domain_check(struct smtpd_check *c, enum restriction_code code)
{
	struct smtpd_session *s = c->s;
	struct pending *p;
	const char *a, *domain;
	char    key[DNS_NAME_MAX + 8];
	struct dns_entry *e;

	if (code == R_REJECT_UNKNOWN_HELO_HOSTNAME) {
		a = s->helo;
		domain = a;
	} else {
		a = code == R_REJECT_UNKNOWN_SENDER_DOMAIN ? (s->in_mail ? s->sender : "")
		    : smtpd_check_rcpt_addr(c);
		if (a == NULL || strrchr(a, '@') == NULL)
			return SMTPD_R_DUNNO;
		domain = strrchr(a, '@') + 1;
		if (smtpd_domain_local(domain))
			return SMTPD_R_DUNNO;
	}
	if (domain[0] == '\0' || domain[0] == '[' || strlen(domain) > DNS_NAME_MAX)
		return SMTPD_R_DUNNO;
	p = xcalloc(1, sizeof(*p));
	p->c = c;
	p->code = code;
	(void) str_copy(p->what, sizeof(p->what), a);
	(void) str_fmt(key, sizeof(key), "mx:%s", domain);
	if ((e = cache_find(s, key)) != NULL && e->status >= 0) {
		int     out;

		p->e = e;
		out = domain_verdict(p, e);
		free(p);
		return out;
	}
	if (smtpd_dns() == NULL) {
		free(p);
		return SMTPD_R_DUNNO;
	}
	p->e = e ? e : cache_new(s, key);
	smtpd_check_wait(c, pending_cancel, p);
	p->q = dns_mx(smtpd_dns(), domain, on_mx, p);
	return SMTPD_R_WAIT;
}
