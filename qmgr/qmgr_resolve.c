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
 *	The transport table, qmgr_transports[], is the one place that
 *	says which transports exist and how to reach their delivery
 *	agents; adding the SMTP client later is a matter of giving the
 *	"smtp" and "relay" entries a service.  A transport whose service
 *	is NULL has no agent: its recipients are deferred with the
 *	entry's status code and text ("4.4.1 remote delivery is not
 *	available yet"), so they wait in deferred/ and go out once an
 *	agent exists, instead of bouncing.  per_rcpt marks a transport
 *	whose agent takes one recipient per request (local): its
 *	destinations, for the concurrency limit, are recipients
 *	(qmgr_sched.c).
 *
 *	qmgr_resolve() decides, as Postfix's trivial-rewrite and
 *	transport(5) do:
 *	  1. transport_maps (through the lookup service), when set:
 *	     the address, then the domain, then each parent domain as
 *	     ".parent.example", then "*"; the first match wins.  Its value
 *	     is "transport:nexthop"; an empty transport means the one the
 *	     domain would get anyway, an empty next hop the domain.  A
 *	     failed lookup defers the recipient (4.3.0): a table that
 *	     does not answer must not send mail the wrong way.
 *	  2. a domain that is empty or in mydestination: local_transport
 *	     ("local:$myhostname");
 *	  3. a domain in relay_domains: relay_transport;
 *	  4. anything else: default_transport (with relayhost, when set,
 *	     as the next hop).
 *	Transport names are looked up in the table; an unknown name
 *	defers (4.3.0 "mail transport unavailable").
 *
 *	qmgr_is_local_domain() is the mydestination test (ASCII
 *	case-insensitive).  qmgr_transport_find() finds a table entry.
 *	qmgr_resolve_set_lookup() replaces the lookup function (tests).
 */
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "lookup_clnt.h"
#include "params.h"
#include "qmgr.h"
#include "str.h"
#include "table.h"

#define NOT_YET_TEXT	"remote delivery is not available yet (this postern " \
			"has no SMTP delivery agent)"

struct qmgr_transport qmgr_transports[] = {
	{.name = "local", .service = "private/local", .per_rcpt = true},
	{.name = "smtp", .unavailable_dsn = "4.4.1", .unavailable_text = NOT_YET_TEXT},
	{.name = "relay", .unavailable_dsn = "4.4.1", .unavailable_text = NOT_YET_TEXT},
	{.name = "lmtp", .unavailable_dsn = "4.4.1", .unavailable_text = NOT_YET_TEXT},
};
const size_t qmgr_ntransports = sizeof(qmgr_transports) / sizeof(qmgr_transports[0]);

static qmgr_lookup_fn *lookup = lookup_get;

void
qmgr_resolve_set_lookup(qmgr_lookup_fn *fn)
{
	lookup = fn ? fn : lookup_get;
}

struct qmgr_transport *
qmgr_transport_find(const char *name)
{
	for (size_t i = 0; i < qmgr_ntransports; i++)
		if (str_eq(qmgr_transports[i].name, name))
			return &qmgr_transports[i];
	return NULL;
}

bool
qmgr_is_local_domain(const char *domain)
{
	return *domain == '\0' || config_list_contains(cfg->mydestination, domain);
}

/* split - "transport:nexthop" into its parts (either may be empty) */
static void
split(const char *value, char *tp, size_t tpsize, char *hop, size_t hopsize)
{
	const char *colon = strchr(value, ':');
	size_t  n = colon ? (size_t) (colon - value) : strlen(value);

	if (n >= tpsize)
		n = tpsize - 1;
	memcpy(tp, value, n);
	tp[n] = '\0';
	(void) str_copy(hop, hopsize, colon ? colon + 1 : "");
	(void) str_trim(tp);
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

void
qmgr_resolve(const char *rcpt, struct qmgr_route *rt)
{
	char    local[ADDR_LOCAL_MAX * 4 + 1], domain[ADDR_DOMAIN_MAX + 1];
	char    tp[64], hop[QMGR_NEXTHOP_MAX], dtp[64], dhop[QMGR_NEXTHOP_MAX];
	const char *class_value;
	struct buf value;
	int     r;

	memset(rt, 0, sizeof(*rt));
	if (addr_split(rcpt, local, sizeof(local), domain, sizeof(domain)) < 0) {
		/* Not even splittable: let the local agent say no (5.1.3). */
		domain[0] = '\0';
	}
	str_lower(domain);

	/* What the domain gets without transport_maps. */
	if (qmgr_is_local_domain(domain))
		class_value = cfg->local_transport;
	else if (config_list_contains(cfg->relay_domains, domain))
		class_value = cfg->relay_transport;
	else
		class_value = cfg->default_transport;
	split(class_value, dtp, sizeof(dtp), dhop, sizeof(dhop));
	if (class_value == cfg->default_transport && dhop[0] == '\0'
	    && cfg->relayhost[0] != '\0')
		(void) str_copy(dhop, sizeof(dhop), cfg->relayhost);

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
			(void) str_copy(tp, sizeof(tp), dtp);
		if (hop[0] == '\0')
			(void) str_copy(hop, sizeof(hop), domain[0] ? domain : dhop);
	} else {
		(void) str_copy(tp, sizeof(tp), dtp);
		(void) str_copy(hop, sizeof(hop), dhop[0] ? dhop : domain);
	}
	buf_free(&value);

	(void) str_copy(rt->transport, sizeof(rt->transport), tp);
	(void) str_copy(rt->nexthop, sizeof(rt->nexthop), hop);
	rt->tp = qmgr_transport_find(tp);
	if (rt->tp == NULL) {
		char    why[200];

		(void) str_fmt(why, sizeof(why), "mail transport unavailable: "
			       "transport \"%.64s\" is not known", tp);
		defer(rt, "4.3.0", why);
		return;
	}
	if (rt->tp->service == NULL)
		defer(rt, rt->tp->unavailable_dsn, rt->tp->unavailable_text);
}
