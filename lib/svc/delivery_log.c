/*
 * NAME
 *	delivery_log - the "to=" line of a delivery result
 * DESCRIPTION
 *	See delivery_log.h.
 */
#include <string.h>

#include "delivery.h"
#include "delivery_log.h"
#include "log.h"
#include "str.h"

void
delivery_log_fmt_delay(double secs, char *out, size_t size)
{
	size_t  n;

	if (secs < 0.005) {
		(void) str_copy(out, size, "0");
		return;
	}
	if (secs >= 10) {
		(void) str_fmt(out, size, "%.0f", secs);
		return;
	}
	(void) str_fmt(out, size, "%.2f", secs);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

void
delivery_log_delays(const struct delivery_request *rq, struct delivery_delays *d,
		    double conn, double xfer)
{
	d->before_active = (double) rq->delay_queue_ms / 1000.0;
	d->in_active = (double) rq->delay_active_ms / 1000.0;
	d->conn = conn < 0 ? 0 : conn;
	d->xfer = xfer < 0 ? 0 : xfer;
}

static const char *
status_word(int status)
{
	switch (status) {
	case DELIVERY_SENT:
		return "sent";
	case DELIVERY_BOUNCE:
		return "bounced";
	default:
		return "deferred";
	}
}

void
delivery_log_to(const char *queue_id, const char *rcpt, const char *orcpt,
		const char *relay, const struct delivery_delays *d,
		const char *dsn, int status, const char *text)
{
	char    delay[32], da[32], db[32], dc[32], dd[32], orig[600];
	const char *o = orcpt;

	delivery_log_fmt_delay(d->before_active + d->in_active + d->conn + d->xfer,
			       delay, sizeof(delay));
	delivery_log_fmt_delay(d->before_active, da, sizeof(da));
	delivery_log_fmt_delay(d->in_active, db, sizeof(db));
	delivery_log_fmt_delay(d->conn, dc, sizeof(dc));
	delivery_log_fmt_delay(d->xfer, dd, sizeof(dd));
	orig[0] = '\0';
	if (o != NULL && *o != '\0') {
		if (str_has_prefix_nocase(o, "rfc822;"))
			o += 7;
		while (*o == ' ')
			o++;
		if (str_casecmp(o, rcpt) != 0)
			(void) str_fmt(orig, sizeof(orig), ", orig_to=<%.512s>", o);
	}
	log_info("%s: to=<%s>%s, relay=%s, delay=%s, delays=%s/%s/%s/%s, dsn=%s, "
		 "status=%s (%s)", queue_id, rcpt, orig, relay, delay, da, db, dc,
		 dd, dsn, status_word(status), text ? text : "");
}
