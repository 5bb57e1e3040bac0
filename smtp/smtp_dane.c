/*
 * NAME
 *	smtp_dane - a server's TLSA records, and what TLS level dane
 *	(RFC 7672) makes of them
 * SYNOPSIS
 *	#include "smtp.h"
 *
 *	smtp_dane_init(dns);			// once, with the resolver
 *	if (!a->dnssec)
 *		v = smtp_dane_insecure(level, a, why, n);	// at once
 *	else
 *		l = smtp_dane_start(a, level, on_dane, ctx);
 *	on_dane(ctx, verdict, why, dane)	// exactly once, later
 *	smtp_dane_cancel(l);			// before: no callback
 * DESCRIPTION
 *	For levels dane and dane-only (smtp_tls_policy.c), per server
 *	address, as Postfix does:
 *
 *	  - the MX or address answers were not DNSSEC-validated
 *	    (smtp_resolve.c): dane is may; dane-only defers the server;
 *	  - else the TLSA records of _PORT._tcp.HOST (HOST the MX name,
 *	    or the [host] of the next hop), asked with DNSSEC:
 *	    - the lookup fails (SERVFAIL, timeout, malformed answer):
 *	      the server is deferred (4.7.5): an attacker who can make
 *	      the lookup fail must not get a downgrade;
 *	    - the answer is not validated, or says (validated) there
 *	      are none: dane is may, dane-only defers;
 *	    - records, none of them usable: dane is encrypt (RFC 7672
 *	      section 2.2), dane-only defers;
 *	    - usable records: TLS is mandatory and the server's chain
 *	      must match one of them (SMTP_DANE_VERIFY).
 *
 *	Usable (RFC 7672 section 3.1): usage DANE-TA(2) or DANE-EE(3);
 *	PKIX-TA(0) and PKIX-EE(1) are not used for SMTP (3.1.3), nor
 *	are unknown usages; selector 0 (certificate) or 1 (public key);
 *	matching type 0 (the whole object, at most SMTP_TLSA_DATA_MAX
 *	bytes), 1 (SHA2-256: 32 bytes) or 2 (SHA2-512: 64 bytes); a
 *	record of another data length is unusable.  At most
 *	SMTP_TLSA_MAX usable records are kept.
 *
 *	The verdict's why says what happened, for the log and, with
 *	SMTP_DANE_FAIL, for the deferral ("TLSA lookup error for
 *	mx.example.org:25: ..." in Postfix's words).  dane is given
 *	only with SMTP_DANE_VERIFY and then belongs to the callee.
 * SECURITY
 *	What the resolver marks as validated is believed: see
 *	smtp_dns_support_level in SECURITY.md.  The records come from
 *	lib/mail/dns.c's bounded parser; only data of the lengths above
 *	are copied.
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "mem.h"
#include "smtp.h"
#include "str.h"

struct smtp_dane_lookup {
	enum smtp_tls_level level;
	char	name[SMTP_HOST_MAX + 16];	/* _25._tcp.HOST */
	smtp_dane_cb *cb;
	void   *ctx;
	struct dns_query *q;
};

static struct dns *dane_dns;

void
smtp_dane_init(struct dns *dns)
{
	dane_dns = dns;
}

/* usable - RFC 7672's subset of RFC 6698 */
static bool
usable(const struct dns_tlsa *t)
{
	if (t->usage != 2 && t->usage != 3)
		return false;
	if (t->selector > 1)
		return false;
	switch (t->mtype) {
	case 0:
		return t->len > 0 && t->len <= SMTP_TLSA_DATA_MAX;
	case 1:
		return t->len == 32;
	case 2:
		return t->len == 64;
	default:
		return false;
	}
}

/* fallback - what dane makes of "no usable DANE", dane-only fails */
static enum smtp_dane_verdict
fallback(enum smtp_tls_level level, enum smtp_dane_verdict v, const char *what,
	 char *why, size_t whylen)
{
	if (level == SMTP_TLS_DANE_ONLY) {
		(void) str_fmt(why, whylen, "%s (TLS security level dane-only)", what);
		return SMTP_DANE_FAIL;
	}
	(void) str_copy(why, whylen, what);
	return v;
}

enum smtp_dane_verdict
smtp_dane_insecure(enum smtp_tls_level level, const struct smtp_addr *a,
		   char *why, size_t whylen)
{
	char	what[SMTP_REASON_MAX];

	(void) str_fmt(what, sizeof(what), "DNS records for %s are not "
		       "DNSSEC-validated: no DANE", a->host);
	return fallback(level, SMTP_DANE_MAY, what, why, whylen);
}

enum smtp_dane_verdict
smtp_dane_decide(enum smtp_tls_level level, const char *tlsa_name, int status,
		 const char *dns_why, bool secure, const struct dns_tlsa *t,
		 size_t n, struct smtp_dane *out, char *why, size_t whylen)
{
	char	what[SMTP_REASON_MAX];

	out->n = 0;
	if (status == DNS_TEMPFAIL) {
		(void) str_fmt(why, whylen, "TLSA lookup error for %s: %s", tlsa_name,
			       dns_why);
		return SMTP_DANE_FAIL;
	}
	if (!secure) {
		(void) str_fmt(what, sizeof(what), "TLSA answer for %s is not "
			       "DNSSEC-validated: no DANE", tlsa_name);
		return fallback(level, SMTP_DANE_MAY, what, why, whylen);
	}
	if (status != DNS_OK || n == 0) {
		(void) str_fmt(what, sizeof(what), "no TLSA records for %s", tlsa_name);
		return fallback(level, SMTP_DANE_MAY, what, why, whylen);
	}
	for (size_t i = 0; i < n && out->n < SMTP_TLSA_MAX; i++) {
		struct smtp_tlsa *r = &out->r[out->n];

		if (!usable(&t[i]))
			continue;
		r->usage = t[i].usage;
		r->selector = t[i].selector;
		r->mtype = t[i].mtype;
		r->len = t[i].len;
		memcpy(r->data, t[i].data, t[i].len);
		out->n++;
	}
	if (out->n == 0) {
		(void) str_fmt(what, sizeof(what), "TLSA records for %s: none is "
			       "usable for SMTP (RFC 7672: DANE-TA(2) or DANE-EE(3), "
			       "selector 0 or 1, matching type 0, 1 or 2)", tlsa_name);
		return fallback(level, SMTP_DANE_ENCRYPT, what, why, whylen);
	}
	(void) str_fmt(why, whylen, "%zu usable TLSA record%s for %s", out->n,
		       out->n == 1 ? "" : "s", tlsa_name);
	return SMTP_DANE_VERIFY;
}

static void
on_tlsa(void *ctx, int status, const char *dns_why, const struct dns_tlsa *t,
	size_t n)
{
	struct smtp_dane_lookup *l = ctx;
	struct smtp_dane *dane = xmalloc(sizeof(*dane));
	char	why[SMTP_REASON_MAX];
	enum smtp_dane_verdict v;

	v = smtp_dane_decide(l->level, l->name, status, dns_why, dns_secure(l->q),
			     t, n, dane, why, sizeof(why));
	if (v != SMTP_DANE_VERIFY) {
		free(dane);
		dane = NULL;
	}
	l->cb(l->ctx, v, why, dane);
	free(l);
}

struct smtp_dane_lookup *
smtp_dane_start(const struct smtp_addr *a, enum smtp_tls_level level,
		smtp_dane_cb *cb, void *ctx)
{
	struct smtp_dane_lookup *l = xcalloc(1, sizeof(*l));

	l->level = level;
	l->cb = cb;
	l->ctx = ctx;
	(void) str_fmt(l->name, sizeof(l->name), "_%u._tcp.%s", a->port, a->host);
	l->q = dns_tlsa(dane_dns, l->name, on_tlsa, l);
	return l;
}

void
smtp_dane_cancel(struct smtp_dane_lookup *l)
{
	if (l == NULL)
		return;
	dns_cancel(l->q);
	free(l);
}
