/*
 * NAME
 *	error_reason - the status and text an error transport's next hop names
 * SYNOPSIS
 *	#include "error.h"
 *
 *	struct error_reason r;
 *	error_reason("5.1.1 gone", &r);		// DELIVERY_BOUNCE, "5.1.1", "gone"
 * DESCRIPTION
 *	As Postfix's error(8): the next hop of an error transport
 *	("example.org error:5.1.1 gone" in transport_maps) is the reason.
 *	When it begins with an enhanced status code of class 4 or 5 and
 *	a space (or nothing more), that code is the result's, 4.x.x
 *	deferring the recipient and 5.x.x bouncing it, and the text after
 *	it is the reason; otherwise the recipient bounces with 5.0.0 and
 *	the whole next hop as the reason.  An empty reason becomes "mail
 *	for this destination is not deliverable" (qmgr gives the recipient's
 *	domain as the next hop of a bare "error:", so that is rare).
 */
#include <string.h>

#include "delivery.h"
#include "dsn.h"
#include "error.h"
#include "str.h"

void
error_reason(const char *nexthop, struct error_reason *r)
{
	size_t  n = dsn_scan(nexthop, strlen(nexthop));

	r->status = DELIVERY_BOUNCE;
	(void) str_copy(r->dsn, sizeof(r->dsn), "5.0.0");
	r->text = nexthop;
	if (n > 0 && n < sizeof(r->dsn) && (nexthop[0] == '4' || nexthop[0] == '5')) {
		memcpy(r->dsn, nexthop, n);
		r->dsn[n] = '\0';
		r->status = nexthop[0] == '4' ? DELIVERY_DEFER : DELIVERY_BOUNCE;
		r->text = nexthop + n;
		while (*r->text == ' ')
			r->text++;
	}
	if (*r->text == '\0')
		r->text = "mail for this destination is not deliverable";
}
