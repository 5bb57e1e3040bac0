/*
 * NAME
 *	discard - the discard delivery agent: accept and drop
 * SYNOPSIS
 *	discard -c config_dir -n discard -t unix -u -z	(started by the master)
 * DESCRIPTION
 *	discard is the transport a Postfix administrator names to throw
 *	mail for a destination away while reporting it delivered:
 *
 *	  example.org	discard:
 *	  lists.example	discard:silently dropped
 *
 *	in transport_maps (or as default_transport, relay_transport).
 *	Every recipient of a request is delivered with 2.0.0 and the next
 *	hop as the text, as Postfix's discard does (a bare "discard:"
 *	gives the recipient's domain).  Nothing is read from the message,
 *	nothing is kept, no notification is sent.
 * PROTOCOL
 *	private/discard speaks the delivery protocol of every transport
 *	(lib/svc/delivery.h, docs/INTERNALS.md "Delivery agents"), through
 *	lib/svc/delivery_agent.c: a greeting (agent "discard"), then
 *	requests, one result per recipient.
 * LOGGING
 *	One line per recipient, as Postfix's discard agent:
 *	"QUEUEID: to=<RCPT>, relay=none, delay=D, delays=a/b/0/d,
 *	dsn=2.0.0, status=sent (example.org)".
 * SECURITY
 *	discard runs as mail_owner, chrooted into the queue directory, one
 *	connection at a time (a single-client server); it trusts nothing
 *	in a request (lib/svc/delivery.h checks it) and opens nothing.
 * CONFIGURATION PARAMETERS
 *	max_idle, max_use (as every single-client daemon).
 */
#include "delivery.h"
#include "delivery_agent.h"
#include "server.h"

static void
deliver(const struct delivery_request *rq, size_t i, int qfd,
	struct delivery_agent_result *res)
{
	(void) i;
	(void) qfd;
	delivery_agent_set(res, DELIVERY_SENT, "2.0.0", "%s",
			   rq->nexthop[0] ? rq->nexthop : "discarded");
}

static const struct delivery_agent agent = {
	.name = "discard",
	.deliver = deliver,
};

static void
discard_serve(int fd)
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
	.serve = discard_serve,
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
