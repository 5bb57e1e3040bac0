/*
 * NAME
 *	smtp_nexthop - where a delivery goes: the next hop and the MX list
 * SYNOPSIS
 *	#include "smtp.h"
 *
 *	struct smtp_nexthop nh;
 *	if (smtp_nexthop_parse("[mail.example.org]:587", 25, &nh, why, n) < 0)
 *		... defer: why ...
 *	// nh.host "mail.example.org", nh.port 587, nh.mx false
 *
 *	n = smtp_mx_order(mx, n, "mail.here.example", rnd, &loops);
 * DESCRIPTION
 *	smtp_nexthop_parse() reads a next hop as qmgr's routing gives it
 *	(transport_maps, relayhost, the recipient's domain), Postfix's
 *	syntax:
 *	  domain		MX lookup of domain, port defport
 *				(smtp_tcp_port)
 *	  domain:port		MX lookup, that port
 *	  [host]		no MX lookup: host's own addresses
 *	  [host]:port		the same, that port
 *	  [192.0.2.1]:port	an IPv4 address, no DNS at all
 *	  [ipv6:2001:db8::1]	an IPv6 address (also [2001:db8::1]),
 *				with or without :port
 *	port is a number from 1 to 65535 or one of the names smtp (25),
 *	submission (587) and smtps (465): /etc/services is not in the
 *	chroot, so other names are refused.  A host name must pass
 *	addr_domain_valid() (ASCII; UTF-8 names are not looked up).
 *	nh->key is the destination as it is logged and used as a table
 *	key: "domain", "domain:port", "[host]" or "[host]:port" (lower
 *	case, the port only when it is not 25).  Returns 0, or -1 with
 *	why when the text is not a next hop.  smtp_port_parse() reads a
 *	port the same way (smtp_tcp_port).
 *
 *	smtp_mx_order() sorts n MX records by preference, shuffles each
 *	run of equal preference with rnd (a function returning a random
 *	number below its argument; tests pass a fixed one), and applies
 *	RFC 5321 section 5.1's loop rule: when myhostname is one of the
 *	exchangers, that record and every one of equal or larger
 *	preference are dropped (a lower preference is a better relay).
 *	It returns how many records remain in front; *loops is set when
 *	myhostname was listed and nothing better remained (the mail
 *	would loop back here: a permanent error).  A null MX (RFC 7505:
 *	one record whose exchanger is "." or empty) is recognised by
 *	smtp_mx_is_null() before ordering.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "num.h"
#include "smtp.h"
#include "str.h"

static int
parse_port(const char *s, unsigned *port)
{
	long long v;
	const char *err;

	if (str_eq(s, "smtp"))
		*port = 25;
	else if (str_eq(s, "submission"))
		*port = 587;
	else if (str_eq(s, "smtps"))
		*port = 465;
	else if (num_parse_int(s, 1, 65535, &v, &err) == 0)
		*port = (unsigned) v;
	else
		return -1;
	return 0;
}

int
smtp_port_parse(const char *s, unsigned *port)
{
	return parse_port(s, port);
}

int
smtp_nexthop_parse(const char *text, unsigned defport, struct smtp_nexthop *nh,
		   char *why, size_t whylen)
{
	char	tmp[SMTP_HOST_MAX + 16];
	char   *host, *port = NULL, *end;

	memset(nh, 0, sizeof(*nh));
	nh->port = defport;
	if (str_copy(tmp, sizeof(tmp), text) < 0 || *tmp == '\0') {
		(void) str_fmt(why, whylen, "bad next hop \"%.300s\": %s", text,
			       *tmp ? "too long" : "empty");
		return -1;
	}
	if (tmp[0] == '[') {
		nh->mx = false;
		host = tmp + 1;
		if ((end = strchr(host, ']')) == NULL)
			goto bad;
		*end++ = '\0';
		if (*end == ':')
			port = end + 1;
		else if (*end != '\0')
			goto bad;
		if (str_has_prefix_nocase(host, "ipv6:"))
			host += 5;
	} else {
		nh->mx = true;
		host = tmp;
		if ((end = strrchr(host, ':')) != NULL) {
			*end = '\0';
			port = end + 1;
		}
	}
	if (port != NULL && parse_port(port, &nh->port) < 0) {
		(void) str_fmt(why, whylen, "bad next hop \"%.300s\": bad port "
			       "\"%.32s\"", text, port);
		return -1;
	}
	if (inet_pton(AF_INET, host, nh->literal.a) == 1)
		nh->literal.family = AF_INET;
	else if (strchr(host, ':') != NULL && inet_pton(AF_INET6, host, nh->literal.a) == 1)
		nh->literal.family = AF_INET6;
	if (nh->literal.family != 0) {
		if (nh->mx)
			goto bad;	/* an address must be in brackets */
	} else if (!addr_domain_valid(host, false))
		goto bad;
	(void) str_copy(nh->host, sizeof(nh->host), host);
	str_lower(nh->host);
	if (nh->port == 25)
		(void) str_fmt(nh->key, sizeof(nh->key), nh->mx ? "%s" : "[%s]",
			       nh->host);
	else
		(void) str_fmt(nh->key, sizeof(nh->key), nh->mx ? "%s:%u" : "[%s]:%u",
			       nh->host, nh->port);
	return 0;
bad:
	(void) str_fmt(why, whylen, "bad next hop \"%.300s\": expected domain, "
		       "domain:port, [host] or [host]:port", text);
	return -1;
}

bool
smtp_mx_is_null(const struct dns_mx *mx, size_t n)
{
	return n == 1 && (mx[0].name[0] == '\0' || str_eq(mx[0].name, "."));
}

static int
by_pref(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

size_t
smtp_mx_order(struct dns_mx *mx, size_t n, const char *myhostname,
	      unsigned (*rnd)(unsigned), bool *loops)
{
	size_t	i, j, keep;

	*loops = false;
	/* A record without an exchanger (part of a broken null MX) goes. */
	for (i = j = 0; i < n; i++)
		if (mx[i].name[0] != '\0' && !str_eq(mx[i].name, "."))
			mx[j++] = mx[i];
	n = j;
	qsort(mx, n, sizeof(*mx), by_pref);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && mx[j].pref == mx[i].pref; j++)
			;
		/* Fisher-Yates over the run [i, j). */
		for (size_t k = j - 1; k > i; k--) {
			size_t	r = i + rnd((unsigned) (k - i + 1));
			struct dns_mx t = mx[k];

			mx[k] = mx[r];
			mx[r] = t;
		}
	}
	keep = n;
	for (i = 0; i < n; i++) {
		if (str_casecmp(mx[i].name, myhostname) == 0) {
			unsigned pref = mx[i].pref;

			for (keep = 0; keep < n && mx[keep].pref < pref; keep++)
				;
			*loops = keep == 0;
			break;
		}
	}
	return keep;
}
