/*
 * fuzz_delivery - the delivery protocol's parsers (lib/svc/delivery.h):
 * every message a peer sends on a delivery connection is read by the
 * strict ipc reader and then parsed as what it claims to be, a greeting,
 * a request or a reply, so that no byte sequence from a compromised
 * qmgr or agent is trusted.  A reply is parsed against a fixed request
 * of three recipients (indexes 0, 2 and 7), as qmgr parses one against
 * the request it sent.
 */
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery.h"
#include "ipc.h"
#include "safefile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct delivery_rcpt fixed_rcpts[3] = {
	{.address = "a@x", .orcpt = "", .notify = "", .index = 0},
	{.address = "b@x", .orcpt = "", .notify = "", .index = 2},
	{.address = "c@x", .orcpt = "", .notify = "", .index = 7},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct delivery_request fixed = {.rcpts = fixed_rcpts, .nrcpts = 3};
	struct ipc_conn c;
	struct ipc_in in;
	int     sv[2], fd;

	if (size > 2000000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	(void) sf_write_all(sv[0], data, size);
	close(sv[0]);
	ipc_conn_init(&c, sv[1], IPC_MSG_MAX);
	ipc_in_init(&in);
	while (ipc_conn_read(&c) > 0) {
		int     r;

		while ((r = ipc_conn_next(&c, &in, &fd)) == 1) {
			struct delivery_request rq;
			struct delivery_reply rep;
			const char *agent;
			char    why[256];

			if (fd >= 0)
				close(fd);
			switch (in.type) {
			case DELIVERY_HELLO:
				(void) delivery_hello_parse(&in, &agent, why, sizeof(why));
				break;
			case DELIVERY_REQ:
				if (delivery_request_parse(&in, &rq, why, sizeof(why)) == 0) {
					for (size_t i = 0; i < rq.nrcpts; i++)
						(void) rq.rcpts[i].address[0];
					delivery_request_free(&rq);
				}
				break;
			default:
				if (delivery_reply_parse(&in, &fixed, &rep, why,
							 sizeof(why)) == 0) {
					for (size_t i = 0; i < rep.nresults; i++)
						(void) rep.results[i].text[0];
					delivery_reply_free(&rep);
				}
				break;
			}
		}
		if (r < 0)
			break;
	}
	ipc_in_free(&in);
	ipc_conn_free(&c);
	close(sv[1]);
	return 0;
}
