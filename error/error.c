/*
 * NAME
 *	error - the error delivery agent: refuse or defer by configuration
 * SYNOPSIS
 *	error -c config_dir -n error -t unix -u -z	(started by the master)
 * DESCRIPTION
 *	error is the transport a Postfix administrator names to refuse
 *	mail for a destination with a reason of their choosing:
 *
 *	  example.org	error:5.1.1 this domain is gone
 *	  old.example	error:4.7.0 moved; try again tomorrow
 *
 *	in transport_maps (or as default_transport, relay_transport).
 *	The next hop is the reason (error_reason.c): its leading status
 *	code, 5.x.x or 4.x.x, bounces or defers every recipient of the
 *	request with the text after it; without one, 5.0.0 and the whole
 *	text.  Nothing is read from the message.
 * PROTOCOL
 *	private/error speaks the delivery protocol of every transport
 *	(lib/svc/delivery.h, docs/INTERNALS.md "Delivery agents"), through
 *	lib/svc/delivery_agent.c: a greeting (agent "error"), then requests,
 *	one result per recipient.
 * LOGGING
 *	One line per recipient, as Postfix's error agent:
 *	"QUEUEID: to=<RCPT>, relay=none, delay=D, delays=a/b/0/d,
 *	dsn=5.1.1, status=bounced (this domain is gone)".
 * SECURITY
 *	error runs as mail_owner, chrooted into the queue directory, one
 *	connection at a time (a single-client server); it trusts nothing
 *	in a request (lib/svc/delivery.h checks it) and opens nothing.
 * CONFIGURATION PARAMETERS
 *	max_idle, max_use (as every single-client daemon).
 */
#include "delivery.h"
#include "delivery_agent.h"
#include "error.h"
#include "server.h"

static void
deliver(const struct delivery_request *rq, size_t i, int qfd,
	struct delivery_agent_result *res)
{
	struct error_reason r;

	(void) i;
	(void) qfd;
	error_reason(rq->nexthop, &r);
	delivery_agent_set(res, r.status, r.dsn, "%s", r.text);
}

static const struct delivery_agent agent = {
	.name = "error",
	.deliver = deliver,
};

static void
error_serve(int fd)
{
	delivery_agent_serve(fd, &agent);
}

static const char *const syscalls[] = {
	NULL,
};

static const struct server_ops ops = {
	.model = SERVER_SINGLE,
	.chroot = SERVER_CHROOT_MUST,
	.syscalls = syscalls,
	.serve = error_serve,
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
