/*
 * NAME
 *	qmgr_resolve - which transport delivers a recipient, to which next hop
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	struct qmgr_route rt;
 *	qmgr_resolve("alice@example.com", &rt);
 *	if (rt.status != 0) ... defer with rt.dsn, rt.reason ...
 *	else ... queue for rt.tp, next hop rt.nexthop ...
 * DESCRIPTION
 *	qmgr_resolve() decides, as Postfix's trivial-rewrite and
 *	transport(5) do, which transport delivers a recipient and to which
 *	next hop.  A transport is a master.cf service (qmgr_transport.c):
 *	any name a route gives is delivered through private/NAME, so
 *	"smtp", "relay", "discard", "error" or an administrator's own
 *	"slow" need no code here.
 *
 *	The address class comes first, with its transport and next hop:
 *	  - a domain that is empty or in mydestination: local_transport
 *	    ("local:$myhostname");
 *	  - a domain in relay_domains: relay_transport ("relay");
 *	  - anything else: default_transport ("smtp").
 *	A class transport written "transport:nexthop" gives its next hop;
 *	otherwise the next hop is relayhost for the relay and default
 *	classes when it is set, else the recipient's domain.  So
 *	"relayhost = [127.0.0.1]:2525" sends all remote mail there, and
 *	"smtp:[host]:port" or "smtp:host" name a host without or with an
 *	MX lookup (the agent reads the next hop).
 *
 *	transport_maps (through the lookup service), when set, overrides
 *	that: the address (lower case), then the domain, then each parent
 *	domain as ".parent.example", then "*"; the first match wins.  Its
 *	value is "transport:nexthop": an empty transport means the class
 *	transport, an empty next hop the class's next hop ("example.org
 *	discard:", "example.org error:5.1.1 gone", "example.org
 *	smtp:[10.0.0.1]:25", "example.org :[10.0.0.1]").  A value without
 *	':' is a transport name.  A failed lookup defers the recipient
 *	(4.3.0): a table that does not answer must not send mail the
 *	wrong way.  A transport name that cannot be a service name, or
 *	too many transports, defers too (4.3.0, "mail transport
 *	unavailable"); whether the service exists shows when qmgr
 *	connects to it.
 *
 *	qmgr_resolve_filter() routes the recipients of a message that
 *	carries a content filter (the queue file's "filter" attribute,
 *	from content_filter, or from a header_checks or access table
 *	FILTER action in smtpd_*_restrictions): every recipient goes to
 *	the filter's "transport:nexthop" instead; an empty transport
 *	takes the class's as above, an empty next hop
 *	default_filter_nexthop, or the class's when that is empty too;
 *	without a filter it is qmgr_resolve().
 *
 *	qmgr_is_local_domain() is the mydestination test (ASCII
 *	case-insensitive).  qmgr_resolve_set_lookup() replaces the lookup
 *	function (tests).
 */
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "delivery.h"
#include "lookup_clnt.h"
#include "params.h"
#include "qmgr.h"
#include "str.h"
#include "table.h"

static qmgr_lookup_fn *lookup = lookup_get;

void
qmgr_resolve_set_lookup(qmgr_lookup_fn *fn)
{
	lookup = fn ? fn : lookup_get;
}

bool
qmgr_is_local_domain(const char *domain)
{
	return *domain == '\0' || config_list_contains(cfg->mydestination, domain);
}

/* split - "transport:nexthop" into its parts (either may be empty), trimmed */
static void
split(const char *value, char *tp, size_t tpsize, char *hop, size_t hopsize)
{
	const char *colon = strchr(value, ':');
	size_t  n = colon ? (size_t) (colon - value) : strlen(value);
	char   *t;

	if (n >= tpsize)
		n = tpsize - 1;
	memcpy(tp, value, n);
	tp[n] = '\0';
	t = str_trim(tp);
	memmove(tp, t, strlen(t) + 1);
	(void) str_copy(hop, hopsize, colon ? colon + 1 : "");
	t = str_trim(hop);
	memmove(hop, t, strlen(t) + 1);
}

/* table_route - transport_maps: 1 found (value set), 0 not, -1 failed */
static int
table_route(const char *rcpt, const char *domain, struct buf *value)
{
	char    key[ADDR_PATH_MAX + 8];
	const char *d;
	int     r;

	if (cfg->transport_maps[0] == '\0')
		return 0;
	(void) str_copy(key, sizeof(key), rcpt);
	str_lower(key);
	if ((r = lookup("transport_maps", key, value)) != 0)
		return r;
	if (*domain != '\0') {
		if ((r = lookup("transport_maps", domain, value)) != 0)
			return r;
		for (d = strchr(domain, '.'); d != NULL; d = strchr(d + 1, '.'))
			if ((r = lookup("transport_maps", d, value)) != 0)
				return r;
	}
	return lookup("transport_maps", "*", value);
}

static void
defer(struct qmgr_route *rt, const char *dsn, const char *reason)
{
	rt->status = 4;
	(void) str_copy(rt->dsn, sizeof(rt->dsn), dsn);
	(void) str_copy(rt->reason, sizeof(rt->reason), reason);
}

/* class_route - the transport and next hop of domain's address class */
static void
class_route(const char *domain, char *tp, size_t tpsize, char *hop, size_t hopsize)
{
	const char *value;
	bool    local = qmgr_is_local_domain(domain);

	if (local)
		value = cfg->local_transport;
	else if (config_list_contains(cfg->relay_domains, domain))
		value = cfg->relay_transport;
	else
		value = cfg->default_transport;
	split(value, tp, tpsize, hop, hopsize);
	if (hop[0] == '\0' && !local && cfg->relayhost[0] != '\0')
		(void) str_copy(hop, hopsize, cfg->relayhost);
	if (hop[0] == '\0')
		(void) str_copy(hop, hopsize, domain);
}

/* route_set - the chosen transport and next hop, or why not */
static void
route_set(struct qmgr_route *rt, const char *tp, const char *hop)
{
	(void) str_copy(rt->transport, sizeof(rt->transport), tp);
	(void) str_copy(rt->nexthop, sizeof(rt->nexthop), hop);
	if ((rt->tp = qmgr_transport_get(tp)) == NULL) {
		char    why[200];

		(void) str_fmt(why, sizeof(why), "mail transport unavailable: "
			       "\"%.64s\" %s", tp, delivery_transport_valid(tp)
			       ? "is one transport too many" : "is not a transport name");
		defer(rt, "4.3.0", why);
	}
}

/* rcpt_class - the recipient's lower-case domain and its class route */
static void
rcpt_class(const char *rcpt, char *domain, size_t dsize, char *ctp, size_t ctpsize,
	   char *chop, size_t chopsize)
{
	char    local[ADDR_LOCAL_MAX * 4 + 1];

	if (addr_split(rcpt, local, sizeof(local), domain, dsize) < 0) {
		/* Not even splittable: let the local agent say no (5.1.3). */
		domain[0] = '\0';
	}
	str_lower(domain);
	class_route(domain, ctp, ctpsize, chop, chopsize);
}

void
qmgr_resolve(const char *rcpt, struct qmgr_route *rt)
{
	char    domain[ADDR_DOMAIN_MAX + 1];
	char    tp[DELIVERY_TRANSPORT_MAX + 2], hop[QMGR_NEXTHOP_MAX + 1];
	char    ctp[DELIVERY_TRANSPORT_MAX + 2], chop[QMGR_NEXTHOP_MAX + 1];
	struct buf value;
	int     r;

	memset(rt, 0, sizeof(*rt));
	rcpt_class(rcpt, domain, sizeof(domain), ctp, sizeof(ctp), chop, sizeof(chop));

	buf_init(&value, TABLE_VALUE_MAX);
	r = table_route(rcpt, domain, &value);
	if (r < 0) {
		buf_free(&value);
		defer(rt, "4.3.0", "transport_maps lookup failed; will try again");
		return;
	}
	if (r > 0) {
		split(value.data, tp, sizeof(tp), hop, sizeof(hop));
		if (tp[0] == '\0')
			(void) str_copy(tp, sizeof(tp), ctp);
		if (hop[0] == '\0')
			(void) str_copy(hop, sizeof(hop), chop);
	} else {
		(void) str_copy(tp, sizeof(tp), ctp);
		(void) str_copy(hop, sizeof(hop), chop);
	}
	buf_free(&value);
	route_set(rt, tp, hop);
}

void
qmgr_resolve_filter(const char *rcpt, const char *filter, struct qmgr_route *rt)
{
	char    domain[ADDR_DOMAIN_MAX + 1];
	char    tp[DELIVERY_TRANSPORT_MAX + 2], hop[QMGR_NEXTHOP_MAX + 1];
	char    ctp[DELIVERY_TRANSPORT_MAX + 2], chop[QMGR_NEXTHOP_MAX + 1];

	if (filter == NULL || *filter == '\0') {
		qmgr_resolve(rcpt, rt);
		return;
	}
	memset(rt, 0, sizeof(*rt));
	rcpt_class(rcpt, domain, sizeof(domain), ctp, sizeof(ctp), chop, sizeof(chop));
	split(filter, tp, sizeof(tp), hop, sizeof(hop));
	if (tp[0] == '\0')
		(void) str_copy(tp, sizeof(tp), ctp);
	if (hop[0] == '\0')
		(void) str_copy(hop, sizeof(hop), cfg->default_filter_nexthop[0] != '\0'
				? cfg->default_filter_nexthop : chop);
	route_set(rt, tp, hop);
}
