/*
 * NAME
 *	smtp_tls_policy - how much TLS a destination gets, and which names
 *	its certificate must carry
 * SYNOPSIS
 *	#include "smtp.h"
 *
 *	smtp_tls_policy_open(why, n);		// pre-jail: the table
 *	struct smtp_tls_policy pol;
 *	if (smtp_tls_policy_for(&nh, &pol, why, n) < 0) ... defer 4.7.5 ...
 *	n = smtp_tls_names(&pol, &nh, "mx1.example.org", names, storage, size);
 * DESCRIPTION
 *	The level, as Postfix's smtp_tls_security_level:
 *	  none		no TLS
 *	  may		STARTTLS when the server offers it; a handshake
 *			that fails is retried in the clear (the default)
 *	  encrypt	TLS or nothing; any certificate
 *	  verify	TLS with a certificate that a CA of
 *			smtp_tls_CAfile/CApath signed, for the MX host
 *			name (or [host]); the MX lookup is trusted
 *	  secure	the same, for the next-hop domain
 *			(smtp_tls_secure_cert_match: nexthop and its
 *			subdomains), so a forged MX record is caught
 *	  dane		RFC 7672: when the MX lookup (for [host], the
 *			address lookup) and the host's addresses are
 *			DNSSEC-validated and _PORT._tcp.HOST has usable
 *			TLSA records, TLS is mandatory and the chain
 *			must match one (smtp_dane.c); TLSA records none
 *			of which is usable: encrypt; insecure DNS or no
 *			TLSA records: may; a TLSA lookup that fails:
 *			the server is deferred (4.7.5)
 *	  dane-only	the same with no fallback: anything but a chain
 *			matched to usable TLSA records defers
 *	Both need smtp_dns_support_level = dnssec: without it, as
 *	Postfix, dane is used as may (with a warning) and dane-only
 *	defers.  ("fingerprint" is refused: not implemented.)
 *
 *	smtp_tls_policy_maps, when set, is asked first with the next
 *	hop as qmgr gave it ("[mail.example.org]:587", "example.org"),
 *	then with the host or domain alone, then with each parent
 *	domain as ".parent"; the first match wins.  Its value is "LEVEL"
 *	or "LEVEL match=NAME:NAME..." (names: "hostname", "nexthop",
 *	"dot-nexthop", or a literal name; ".example.org" matches its
 *	subdomains).  Other attributes are ignored with a warning.  A
 *	malformed value or a failing table defers the destination: a
 *	policy that cannot be read must not turn into weaker TLS.
 *
 *	The table is opened in-process before the chroot (pre-jail), as
 *	Postfix's smtp does, so a root-only file can hold it; a change
 *	takes effect on the next postern reload.
 *
 *	smtp_tls_names() fills names[] with the reference names for a
 *	server (at most SMTP_TLS_NAMES_MAX) and returns how many.
 */
#include <string.h>

#include "buf.h"
#include "log.h"
#include "params.h"
#include "smtp.h"
#include "str.h"
#include "table.h"

static struct table_list *policy_maps;

int
smtp_tls_level_parse(const char *s, enum smtp_tls_level *level)
{
	static const struct {
		const char *name;
		enum smtp_tls_level level;
	} levels[] = {
		{"none", SMTP_TLS_NONE}, {"may", SMTP_TLS_MAY},
		{"encrypt", SMTP_TLS_ENCRYPT}, {"verify", SMTP_TLS_VERIFY},
		{"secure", SMTP_TLS_SECURE}, {"dane", SMTP_TLS_DANE},
		{"dane-only", SMTP_TLS_DANE_ONLY},
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (str_casecmp(s, levels[i].name) == 0) {
			*level = levels[i].level;
			return 0;
		}
	return -1;
}

const char *
smtp_tls_level_name(enum smtp_tls_level level)
{
	static const char *const names[] = {"none", "may", "encrypt", "verify", "secure",
		"dane", "dane-only"};

	return names[level];
}

int
smtp_tls_policy_parse(const char *value, struct smtp_tls_policy *pol, char *why,
		      size_t whylen)
{
	char	tmp[SMTP_TLS_MATCH_MAX + 64];
	char   *p = tmp, *word;
	bool	first = true;

	memset(pol, 0, sizeof(*pol));
	if (str_copy(tmp, sizeof(tmp), value) < 0) {
		(void) str_fmt(why, whylen, "TLS policy \"%.100s...\" is too long", value);
		return -1;
	}
	while ((word = str_split(&p, " \t,")) != NULL) {
		if (*word == '\0')
			continue;
		if (first) {
			if (smtp_tls_level_parse(word, &pol->level) < 0) {
				(void) str_fmt(why, whylen, "unsupported TLS security "
					       "level \"%.40s\" (postern knows none, may, "
					       "encrypt, dane, dane-only, verify, secure)", word);
				return -1;
			}
			first = false;
		} else if (str_has_prefix_nocase(word, "match=")) {
			(void) str_copy(pol->match, sizeof(pol->match), word + 6);
		} else
			log_warn("TLS policy \"%.200s\": ignoring attribute \"%.60s\"",
				 value, word);
	}
	if (first) {
		(void) str_fmt(why, whylen, "empty TLS policy");
		return -1;
	}
	return 0;
}

int
smtp_tls_policy_open(char *why, size_t whylen)
{
	char	err[TABLE_ERROR_MAX];
	enum smtp_tls_level l;

	if (smtp_tls_level_parse(cfg->smtp_tls_security_level, &l) < 0) {
		(void) str_fmt(why, whylen, "smtp_tls_security_level = %.40s: expected "
			       "none, may, encrypt, dane, dane-only, verify or secure",
			       cfg->smtp_tls_security_level);
		return -1;
	}
	if (cfg->smtp_tls_policy_maps[0] == '\0')
		return 0;
	if ((policy_maps = table_list_open(cfg->smtp_tls_policy_maps, 0, err,
					   sizeof(err))) == NULL) {
		(void) str_fmt(why, whylen, "smtp_tls_policy_maps: %s", err);
		return -1;
	}
	return 0;
}

void
smtp_tls_policy_close(void)
{
	table_list_close(policy_maps);
	policy_maps = NULL;
}

/* lookup - the first key of the next hop's that the table has */
static int
lookup(const struct smtp_nexthop *nh, struct buf *val, char *why, size_t whylen)
{
	char	key[SMTP_KEY_MAX + 2];
	const char *d;
	int	r;

	if ((r = table_list_get(policy_maps, nh->key, val, NULL)) != 0)
		goto out;
	if (!str_eq(nh->key, nh->host)
	    && (r = table_list_get(policy_maps, nh->host, val, NULL)) != 0)
		goto out;
	for (d = strchr(nh->host, '.'); d != NULL && d[1] != '\0'; d = strchr(d + 1, '.')) {
		(void) str_copy(key, sizeof(key), d);
		if ((r = table_list_get(policy_maps, key, val, NULL)) != 0)
			goto out;
	}
	return 0;
out:
	if (r < 0)
		(void) str_fmt(why, whylen, "smtp_tls_policy_maps lookup of %s "
			       "failed: %s", nh->key, policy_maps->error);
	return r;
}

bool
smtp_tls_dane_level(enum smtp_tls_level level)
{
	return level == SMTP_TLS_DANE || level == SMTP_TLS_DANE_ONLY;
}

/*
 * dane_needs_dnssec - as Postfix: without DNSSEC lookups dane becomes
 * may (with a warning) and dane-only defers
 */
static int
dane_needs_dnssec(const struct smtp_nexthop *nh, struct smtp_tls_policy *pol,
		  char *why, size_t whylen)
{
	if (!smtp_tls_dane_level(pol->level) || str_casecmp(cfg->smtp_dns_support_level,
							   "dnssec") == 0)
		return 0;
	if (pol->level == SMTP_TLS_DANE_ONLY) {
		(void) str_fmt(why, whylen, "TLS security level dane-only for %s needs "
			       "smtp_dns_support_level = dnssec", nh->key);
		return -1;
	}
	log_warn("%s: TLS security level dane needs smtp_dns_support_level = "
		 "dnssec: using level may", nh->key);
	pol->level = SMTP_TLS_MAY;
	return 0;
}

int
smtp_tls_policy_for(const struct smtp_nexthop *nh, struct smtp_tls_policy *pol,
		    char *why, size_t whylen)
{
	struct buf val;
	int	r = 0;

	memset(pol, 0, sizeof(*pol));
	(void) smtp_tls_level_parse(cfg->smtp_tls_security_level, &pol->level);
	if (policy_maps == NULL)
		return dane_needs_dnssec(nh, pol, why, whylen);
	buf_init(&val, TABLE_VALUE_MAX);
	switch (lookup(nh, &val, why, whylen)) {
	case 1:
		if (smtp_tls_policy_parse(buf_str(&val), pol, why, whylen) < 0) {
			char	tmp[SMTP_REASON_MAX];

			(void) str_fmt(tmp, sizeof(tmp), "smtp_tls_policy_maps entry "
				       "for %s: %s", nh->key, why);
			(void) str_copy(why, whylen, tmp);
			r = -1;
		}
		break;
	case 0:
		break;
	default:
		r = -1;
	}
	buf_free(&val);
	if (r == 0)
		r = dane_needs_dnssec(nh, pol, why, whylen);
	return r;
}

/* add - one reference name, unless names[] is full */
static void
add(const char **names, size_t *n, char *storage, size_t size, size_t *used,
    const char *name)
{
	size_t	len = strlen(name) + 1;

	if (*n >= SMTP_TLS_NAMES_MAX || *name == '\0' || *used + len > size)
		return;
	memcpy(storage + *used, name, len);
	names[(*n)++] = storage + *used;
	*used += len;
}

size_t
smtp_tls_names(const struct smtp_tls_policy *pol, const struct smtp_nexthop *nh,
	       const char *mxhost, const char **names, char *storage, size_t size)
{
	char	spec[SMTP_TLS_MATCH_MAX + 1], *p, *word, dot[SMTP_HOST_MAX + 2];
	size_t	n = 0, used = 0;

	if (pol->match[0] != '\0')
		(void) str_copy(spec, sizeof(spec), pol->match);
	else if (pol->level == SMTP_TLS_SECURE)
		(void) str_copy(spec, sizeof(spec), cfg->smtp_tls_secure_cert_match);
	else
		(void) str_copy(spec, sizeof(spec), "hostname");
	p = spec;
	while ((word = str_split(&p, ":, \t")) != NULL) {
		if (*word == '\0')
			continue;
		if (str_casecmp(word, "hostname") == 0)
			add(names, &n, storage, size, &used, mxhost);
		else if (str_casecmp(word, "nexthop") == 0)
			add(names, &n, storage, size, &used, nh->host);
		else if (str_casecmp(word, "dot-nexthop") == 0) {
			(void) str_fmt(dot, sizeof(dot), ".%s", nh->host);
			add(names, &n, storage, size, &used, dot);
		} else
			add(names, &n, storage, size, &used, word);
	}
	return n;
}
