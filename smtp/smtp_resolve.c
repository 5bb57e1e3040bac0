/*
 * NAME
 *	smtp_resolve - a next hop's addresses, in the order to try them
 * SYNOPSIS
 *	#include "smtp.h"
 *
 *	smtp_resolve_init(loop, dns);		// once
 *	struct smtp_resolve *r = smtp_resolve_start(&nh, on_addrs, ctx);
 *	...
 *	on_addrs(ctx, status, dsn, why, addrs, n)	// exactly once
 *	smtp_resolve_cancel(r);			// before: no callback
 * DESCRIPTION
 *	The lookups run on the event loop (lib/mail/dns.h, c-ares); nothing
 *	here blocks.  For a next hop with MX lookup (a domain):
 *	  - the MX records; none (no such record, or no such name): the
 *	    domain's own addresses stand for one MX of preference 0
 *	    (RFC 5321 section 5.1);
 *	  - a null MX (RFC 7505): bounce at once, 5.1.10;
 *	  - smtp_nexthop.c's order (preference, equal preferences
 *	    shuffled, nothing from this host's own preference on; an MX
 *	    list that leads back here bounces with 5.4.6);
 *	  - the A and AAAA records of every exchanger (inet_protocols
 *	    says which), all at once;
 *	  - the addresses in MX order; addresses of equal preference
 *	    shuffled (several addresses of one host too), then the family
 *	    smtp_address_preference names put first; at most
 *	    smtp_mx_address_limit (0: no limit).
 *	For [host] the host's own addresses, the same way; for an
 *	address literal the address, without DNS.
 *
 *	Each address carries dnssec: with smtp_dns_support_level =
 *	dnssec, whether the resolver marked as validated (AD) both the
 *	MX answer (or its denial, for a domain without MX; none for
 *	[host]) and the answer that gave the address.  Level dane acts
 *	on it (smtp_dane.c).
 *
 *	status 0: addrs holds n >= 1 candidates.  4: try later (a
 *	lookup failed temporarily and nothing was found elsewhere: DNS
 *	timeout, SERVFAIL), 5: never (no such domain, no address for
 *	any exchanger, null MX, loop); dsn and why say so, in Postfix's
 *	words ("Host or domain name not found. Name service error for
 *	name=example.org type=MX: Host not found, try again").  The
 *	callback never runs from inside smtp_resolve_start().
 * SECURITY
 *	Exchanger names come from DNS: each must pass the host name
 *	syntax check before it is looked up or used as a TLS reference
 *	name; a bad one is skipped.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "addr.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "smtp.h"
#include "str.h"

struct smtp_resolve {
	struct smtp_nexthop nh;
	smtp_resolve_cb *cb;
	void   *ctx;
	struct dns_query *mxq;
	struct dns_mx mx[DNS_MX_MAX];
	size_t	nmx;
	bool	mx_secure;		/* the MX answer (or denial) had AD */
	struct hostq {
		struct smtp_resolve *r;
		size_t	rank;		/* index in mx[] */
		int	family;
		struct dns_query *q;
	} hq[2 * DNS_MX_MAX];
	size_t	nhq;
	size_t	pending;
	struct smtp_addr found[SMTP_ADDRS_MAX];
	size_t	rank[SMTP_ADDRS_MAX];
	size_t	nfound;
	bool	tempfail;
	char	fail_why[512];		/* "name=mx.example type=A" */
	char	fail_res[128];		/* the resolver's words, if temporary */
	struct ev_timer later;		/* for answers known at once */
	int	status;
	char	dsn[DSN_MAX + 1];
	char	why[SMTP_REASON_MAX];
};

static struct ev_loop *loop;
static struct dns *dns;

void
smtp_resolve_init(struct ev_loop *l, struct dns *d)
{
	loop = l;
	dns = d;
}

unsigned
smtp_random(unsigned n)
{
	uint32_t v;

	if (n <= 1)
		return 0;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t) sizeof(v))
		v = (uint32_t) random();
	return v % n;
}

static bool
want_family(int family)
{
	const char *p = cfg->inet_protocols;

	if (strstr(p, "all") != NULL)
		return true;
	return strstr(p, family == AF_INET ? "ipv4" : "ipv6") != NULL;
}

/* finish - report on the next loop round, never from inside a call */
static void
finish(struct smtp_resolve *r, int status, const char *dsn, const char *why)
{
	r->status = status;
	(void) str_copy(r->dsn, sizeof(r->dsn), dsn);
	(void) str_copy(r->why, sizeof(r->why), why);
	ev_timer_start(loop, &r->later, 0);
}

static void
on_later(struct ev_loop *l, struct ev_timer *t)
{
	struct smtp_resolve *r = t->data;

	(void) l;
	r->cb(r->ctx, r->status, r->dsn, r->why, r->found, r->status == 0 ? r->nfound : 0);
	free(r);
}

static int
pref_family(void)
{
	if (str_eq(cfg->smtp_address_preference, "ipv4"))
		return AF_INET;
	if (str_eq(cfg->smtp_address_preference, "ipv6"))
		return AF_INET6;
	return 0;
}

/* order - by rank (MX order), equal preferences shuffled, limit */
static void
order(struct smtp_resolve *r)
{
	size_t	n = r->nfound, i, j;
	int	fam = pref_family();

	/* Insertion sort by rank: n is at most SMTP_ADDRS_MAX. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && r->rank[j - 1] > r->rank[j]; j--) {
			struct smtp_addr t = r->found[j];
			size_t	k = r->rank[j];

			r->found[j] = r->found[j - 1];
			r->found[j - 1] = t;
			r->rank[j] = r->rank[j - 1];
			r->rank[j - 1] = k;
		}
	for (i = 0; i < n; i = j) {
		unsigned pref = r->found[i].pref;

		for (j = i + 1; j < n && r->found[j].pref == pref; j++)
			;
		for (size_t k = j - 1; k > i; k--) {
			size_t	x = i + smtp_random((unsigned) (k - i + 1));
			struct smtp_addr t = r->found[k];

			r->found[k] = r->found[x];
			r->found[x] = t;
		}
		if (fam != 0) {		/* stable: the preferred family first */
			struct smtp_addr tmp[SMTP_ADDRS_MAX];
			size_t	m = 0;

			for (size_t k = i; k < j; k++)
				if (r->found[k].addr.family == fam)
					tmp[m++] = r->found[k];
			for (size_t k = i; k < j; k++)
				if (r->found[k].addr.family != fam)
					tmp[m++] = r->found[k];
			memcpy(&r->found[i], tmp, m * sizeof(tmp[0]));
		}
	}
	if (cfg->smtp_mx_address_limit > 0 && n > (size_t) cfg->smtp_mx_address_limit)
		n = (size_t) cfg->smtp_mx_address_limit;
	r->nfound = n;
}

static void
hosts_done(struct smtp_resolve *r)
{
	char	why[SMTP_REASON_MAX];

	if (r->nfound > 0) {
		order(r);
		finish(r, 0, "", "");
		return;
	}
	if (r->tempfail) {
		(void) str_fmt(why, sizeof(why), "Host or domain name not found. "
			       "Name service error for %s: Host not found, try again "
			       "(%s)", r->fail_why, r->fail_res);
		finish(r, 4, "4.4.3", why);
		return;
	}
	if (r->nh.mx && r->nmx > 0 && r->mx[0].pref != 0xffffffffu) {
		(void) str_fmt(why, sizeof(why), "Host or domain name not found. "
			       "Name service error for %s: Host not found "
			       "(no address for any mail exchanger of %s)",
			       r->fail_why, r->nh.host);
	} else
		(void) str_fmt(why, sizeof(why), "Host or domain name not found. "
			       "Name service error for %s: Host not found",
			       r->fail_why);
	finish(r, 5, "5.4.4", why);
}

static void
on_addrs(void *ctx, int status, const char *why, const struct dns_addr *a, size_t n)
{
	struct hostq *h = ctx;
	struct smtp_resolve *r = h->r;
	const struct dns_mx *mx = &r->mx[h->rank];
	bool	secure = dns_secure(h->q) && (!r->nh.mx || r->mx_secure);

	h->q = NULL;
	if (status == DNS_OK) {
		for (size_t i = 0; i < n && r->nfound < SMTP_ADDRS_MAX; i++) {
			struct smtp_addr *c = &r->found[r->nfound];

			(void) str_copy(c->host, sizeof(c->host), mx->name);
			c->addr = a[i];
			c->port = r->nh.port;
			c->pref = mx->pref;
			c->dnssec = secure;
			r->rank[r->nfound++] = h->rank;
		}
	} else {
		/* Remember the best reason: a temporary failure wins. */
		if (status == DNS_TEMPFAIL) {
			(void) str_fmt(r->fail_why, sizeof(r->fail_why),
				       "name=%s type=%s", mx->name,
				       h->family == AF_INET ? "A" : "AAAA");
			(void) str_copy(r->fail_res, sizeof(r->fail_res), why);
		} else if (!r->tempfail)
			(void) str_fmt(r->fail_why, sizeof(r->fail_why),
				       "name=%s type=%s", mx->name,
				       h->family == AF_INET ? "A" : "AAAA");
		if (status == DNS_TEMPFAIL)
			r->tempfail = true;
	}
	if (--r->pending == 0)
		hosts_done(r);
}

/* lookup_hosts - addresses of r->mx[0 .. nmx) */
static void
lookup_hosts(struct smtp_resolve *r)
{
	static const int fams[2] = {AF_INET, AF_INET6};

	r->nhq = r->pending = 0;
	for (size_t i = 0; i < r->nmx; i++) {
		if (!addr_domain_valid(r->mx[i].name, false)) {
			log_warn("%s: skipping malformed MX host name \"%.100s\"",
				 r->nh.host, r->mx[i].name);
			continue;
		}
		for (int f = 0; f < 2; f++) {
			if (!want_family(fams[f]))
				continue;
			r->hq[r->nhq] = (struct hostq) {.r = r, .rank = i, .family = fams[f]};
			r->nhq++;
			r->pending++;
		}
	}
	if (r->pending == 0) {
		(void) str_fmt(r->fail_why, sizeof(r->fail_why), "name=%s type=MX "
			       "(no valid mail exchanger)", r->nh.host);
		hosts_done(r);
		return;
	}
	/* Started after counting: a callback comes on a later round. */
	for (size_t i = 0; i < r->nhq; i++)
		r->hq[i].q = dns_host(dns, r->mx[r->hq[i].rank].name, r->hq[i].family,
				      on_addrs, &r->hq[i]);
}

static void
on_mx(void *ctx, int status, const char *why, const struct dns_mx *mx, size_t n)
{
	struct smtp_resolve *r = ctx;
	char	text[SMTP_REASON_MAX];
	bool	loops;

	r->mx_secure = dns_secure(r->mxq);
	r->mxq = NULL;
	if (status == DNS_TEMPFAIL) {
		(void) str_fmt(text, sizeof(text), "Host or domain name not found. "
			       "Name service error for name=%s type=MX: Host not "
			       "found, try again (%s)", r->nh.host, why);
		finish(r, 4, "4.4.3", text);
		return;
	}
	if (status != DNS_OK || n == 0) {
		/* No MX: the domain itself, preference 0. */
		(void) str_copy(r->mx[0].name, sizeof(r->mx[0].name), r->nh.host);
		r->mx[0].pref = 0xffffffffu;	/* marks "no MX" for texts */
		r->nmx = 1;
		lookup_hosts(r);
		return;
	}
	if (smtp_mx_is_null(mx, n)) {
		(void) str_fmt(text, sizeof(text), "Domain %s does not accept mail "
			       "(nullMX)", r->nh.host);
		finish(r, 5, "5.1.10", text);
		return;
	}
	memcpy(r->mx, mx, n * sizeof(*mx));
	r->nmx = smtp_mx_order(r->mx, n, cfg->myhostname, smtp_random, &loops);
	if (r->nmx == 0) {
		(void) str_fmt(text, sizeof(text), "mail for %s loops back to myself",
			       r->nh.host);
		finish(r, 5, "5.4.6", text);
		return;
	}
	lookup_hosts(r);
}

struct smtp_resolve *
smtp_resolve_start(const struct smtp_nexthop *nh, smtp_resolve_cb *cb, void *ctx)
{
	struct smtp_resolve *r = xcalloc(1, sizeof(*r));

	r->nh = *nh;
	r->cb = cb;
	r->ctx = ctx;
	ev_timer_init(&r->later, on_later, r);
	if (nh->literal.family != 0) {
		r->found[0] = (struct smtp_addr) {.addr = nh->literal, .port = nh->port};
		(void) str_copy(r->found[0].host, sizeof(r->found[0].host), nh->host);
		r->nfound = 1;
		finish(r, 0, "", "");
	} else if (nh->mx)
		r->mxq = dns_mx(dns, nh->host, on_mx, r);
	else {
		(void) str_copy(r->mx[0].name, sizeof(r->mx[0].name), nh->host);
		r->nmx = 1;
		lookup_hosts(r);
	}
	return r;
}

void
smtp_resolve_cancel(struct smtp_resolve *r)
{
	if (r->mxq != NULL)
		dns_cancel(r->mxq);
	for (size_t i = 0; i < r->nhq; i++)
		if (r->hq[i].q != NULL)
			dns_cancel(r->hq[i].q);
	ev_timer_stop(loop, &r->later);
	free(r);
}
