/*
 * NAME
 *	delivery_log - the "to=" line of a delivery result
 * SYNOPSIS
 *	#include "delivery_log.h"
 *
 *	struct delivery_delays d;
 *	delivery_log_delays(&rq, &d, conn_secs, xfer_secs);
 *	delivery_log_to(rq.queue_id, &rq.rcpts[i], "local", &d, "2.0.0",
 *			DELIVERY_SENT, "delivered to maildir");
 *
 *	char s[32];
 *	delivery_log_fmt_delay(0.314, s, sizeof(s));	// "0.31"
 * DESCRIPTION
 *	delivery_log_to() logs the line Postfix administrators and their
 *	tools (pflogsumm, fail2ban) read, one per recipient and attempt:
 *
 *	  QUEUEID: to=<RCPT>[, orig_to=<ORIG>], relay=RELAY, delay=D,
 *	    delays=a/b/c/d, dsn=X.Y.Z, status=sent|deferred|bounced (TEXT)
 *
 *	where a is the time from arrival to the active queue, b the time
 *	in the active queue before the delivery started, c the
 *	connection set-up (0 when there is none) and d the delivery
 *	itself; delay is their sum.  orig_to is shown when the original
 *	recipient (the queue file's O record, without an "rfc822;"
 *	prefix) differs from the address.  The agent that delivered logs
 *	it (postern/local, postern/smtp ...), qmgr for what it decides
 *	itself (relay=none).
 *
 *	delivery_log_delays() fills a and b from a request (its
 *	delay_queue_ms and delay_active_ms) and c and d from the agent's
 *	own measures, in seconds.
 *
 *	delivery_log_fmt_delay() writes a delay in seconds the way
 *	Postfix's logs do: "0" below 5 ms, two decimals below 10 s
 *	("0.31", "1.2", trailing zeros dropped), whole seconds above.
 * SECURITY
 *	Every piece comes from a checked request or reply (no control
 *	characters), and lib/util/log.h sanitises the line again.
 */
#ifndef POSTERN_DELIVERY_LOG_H
#define POSTERN_DELIVERY_LOG_H

#include <stddef.h>

#include "delivery.h"

struct delivery_delays {
	double	before_active;		/* a */
	double	in_active;		/* b */
	double	conn;			/* c */
	double	xfer;			/* d */
};

void	delivery_log_delays(const struct delivery_request *rq,
			    struct delivery_delays *d, double conn, double xfer);
void	delivery_log_to(const char *queue_id, const char *rcpt,
			const char *orcpt, const char *relay,
			const struct delivery_delays *d, const char *dsn,
			int status, const char *text);
void	delivery_log_fmt_delay(double secs, char *out, size_t size);

#endif
