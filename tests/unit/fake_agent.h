/*
 * NAME
 *	fake_agent.h - the agent side of the delivery protocol, for
 *	check suites that run qmgr's code against a stand-in agent
 * SYNOPSIS
 *	#include "fake_agent.h"
 *
 *	int c = fake_agent_accept(lfd, "local");	// greeted
 *	r = fake_agent_answer(c, &in, logfd, decide, "local");
 * DESCRIPTION
 *	fake_agent_accept() takes a connection on the listening socket
 *	lfd and greets it (DELIVERY_HELLO, as agent), as a delivery
 *	agent must before qmgr sends anything; -1 on failure.
 *
 *	fake_agent_answer() reads one request on c and answers it: each
 *	recipient gets the status decide() returns for its address (with
 *	the status code and text decide() sets), and a line "QID RCPT
 *	INDEX" in logfd.  It returns 0, -1 when the connection ended (c
 *	is closed then), or -2 for a request that does not parse.
 *
 *	Test code only: meant to run in a child process of the test.
 */
#ifndef POSTERN_FAKE_AGENT_H
#define POSTERN_FAKE_AGENT_H

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery.h"
#include "ipc.h"
#include "str.h"

typedef int fake_agent_decide_fn(const char *rcpt, const char **dsn,
				 const char **text);

static inline int
fake_agent_accept(int lfd, const char *agent)
{
	int	c = accept(lfd, NULL, NULL);
	struct ipc_msg m;

	if (c < 0)
		return -1;
	/* The greeting: qmgr sends nothing before it. */
	(void) delivery_hello_build(&m, agent);
	(void) ipc_send(c, &m, -1, 5000);
	ipc_msg_free(&m);
	return c;
}

static inline int
fake_agent_answer(int c, struct ipc_in *in, int logfd, fake_agent_decide_fn *decide,
		  const char *relay)
{
	struct delivery_request rq;
	struct ipc_msg m;
	char	why[256], line[1200];
	int	qfd = -1;

	if (ipc_recv(c, in, &qfd, 5000) != 0) {
		(void) close(c);
		return -1;
	}
	if (delivery_request_parse(in, &rq, why, sizeof(why)) < 0)
		return -2;
	delivery_reply_init(&m, &rq);
	for (size_t k = 0; k < rq.nrcpts; k++) {
		const char *rcpt = rq.rcpts[k].address, *dsn, *text;
		int	status = decide(rcpt, &dsn, &text);

		(void) str_fmt(line, sizeof(line), "%s %s %llu\n", rq.queue_id, rcpt,
			       (unsigned long long) rq.rcpts[k].index);
		(void) !write(logfd, line, strlen(line));
		(void) delivery_reply_add(&m, &rq, k, status, dsn, text, relay);
	}
	(void) delivery_reply_end(&m, &rq, NULL, NULL);
	(void) close(qfd);
	(void) ipc_send(c, &m, -1, 5000);
	ipc_msg_free(&m);
	delivery_request_free(&rq);
	return 0;
}

#endif
