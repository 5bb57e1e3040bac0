/*
 * NAME
 *	smtpd_anvil - per-client limits that hold across smtpd processes,
 *	counted by the anvil service
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_anvil_init(loop);		// start(): the connection to anvil
 *	switch (smtpd_anvil_connect(s)) ...	// a session begins
 *	smtpd_anvil_end(s);		// it ends
 *	switch (smtpd_anvil_gate(s, cmd, &line)) ...	// MAIL, RCPT
 *	call = smtpd_anvil_auth(s, done, ctx);	// an AUTH failure
 * DESCRIPTION
 *	For a client outside smtpd_client_event_limit_exceptions, smtpd
 *	asks anvil (anvil/anvil.c, lib/svc/anvil_clnt.h) for the counts of its
 *	address and of its network (smtpd_client_network_ipv4_prefix,
 *	smtpd_client_network_ipv6_prefix) in all smtpd processes, and
 *	applies the limits to them:
 *
 *	At connect (smtpd_anvil_connect(), when a connection count or
 *	rate limit is on): the greeting waits for anvil's answer, as it
 *	waits for the client's name (both at once).  Past
 *	smtpd_client_connection_count_limit or
 *	smtpd_client_connection_rate_limit for the address, or the
 *	smtpd_client_network_* limits for its network, the client gets
 *	"421 4.7.0 HOST Error: too many connections from ADDR" and the
 *	refusal is logged as Postfix logs it.  Each process checks its
 *	own count of the address first (smtpd_session.c), which can only
 *	be lower, so a client far over its limit costs no round trip.
 *
 *	At MAIL and RCPT (smtpd_anvil_gate(), when a message or recipient
 *	rate limit is on): the command waits (SMTPD_ST_CHECK: deadlines
 *	run, nothing more is read) for anvil's count, then goes on as
 *	usual or is refused with 450 4.7.1.  The command line is kept
 *	meanwhile and handled again when the answer comes.
 *
 *	AUTH failures: smtpd_anvil_auth() counts one and hands the counts
 *	to done (NULL: not counted); whoever implements AUTH applies its
 *	limit.
 *
 *	No answer: anvil is asked without blocking, on one connection per
 *	process for the whole life of the process, in batches (all the
 *	operations that came while a request was out go in the next),
 *	and each answer must come within SMTPD_ANVIL_TIMEOUT_MS.  When
 *	anvil cannot be asked (not in master.cf, restarting, too slow),
 *	smtpd_anvil_failure_mode decides: open (the default) lets the
 *	session go on, with this process's own counts as the only limit
 *	(what smtpd_session.c and smtpd_rate.c count, exact with one
 *	process); closed refuses new sessions with "421 4.3.2 Service
 *	temporarily unavailable" and MAIL and RCPT under a rate limit with
 *	"451 4.3.0".  Either way it is logged once per outage.  On its
 *	next connection, before anything else, smtpd reports each session
 *	it holds (ANVIL_OP_HOLD), so anvil's session counts are whole
 *	again; see anvil.c, RESTARTS.
 *
 *	Standalone smtpd (-s) and exempt clients never ask anvil.
 */
#include <stdlib.h>
#include <string.h>

#include "anvil_clnt.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "netmatch.h"
#include "params.h"
#include "server.h"
#include "smtpd.h"
#include "str.h"

#define SMTPD_ANVIL_TIMEOUT_MS	2000
#define SMTPD_ANVIL_ENDPOINT	"private/anvil"

static struct anvil_clnt *anvil;
static bool fail_closed;
static bool said_down;			/* the outage was logged */

/* ------------------------------------------------------------------ */
/* Which limits are on.                                               */

static bool
connect_limits(void)
{
	return cfg->smtpd_client_connection_count_limit > 0
	    || cfg->smtpd_client_connection_rate_limit > 0
	    || cfg->smtpd_client_network_connection_count_limit > 0
	    || cfg->smtpd_client_network_connection_rate_limit > 0;
}

static void
rate_limits(enum smtpd_cmd c, long long *addr_limit, long long *net_limit)
{
	if (c == SMTPD_CMD_MAIL) {
		*addr_limit = cfg->smtpd_client_message_rate_limit;
		*net_limit = cfg->smtpd_client_network_message_rate_limit;
	} else {
		*addr_limit = cfg->smtpd_client_recipient_rate_limit;
		*net_limit = cfg->smtpd_client_network_recipient_rate_limit;
	}
}

/* counted - anvil counts this client's events (not exempt, not alone) */
static bool
counted(struct smtpd_session *s)
{
	if (anvil == NULL || s->limits_exempt)
		return false;
	if (s->net[0] == 0
	    && netmatch_network(s->addr, (int) cfg->smtpd_client_network_ipv4_prefix,
				(int) cfg->smtpd_client_network_ipv6_prefix, s->net,
				sizeof(s->net)) < 0) {
		s->net[0] = 0;
		return false;			/* no address: nothing to count */
	}
	return true;
}

/* down - anvil cannot be asked: log it once per outage */
static void
down(void)
{
	if (said_down)
		return;
	said_down = true;
	log_warn("anvil is not answering: per-client limits %s until it does "
		 "(smtpd_anvil_failure_mode = %s)", fail_closed
		 ? "refuse new sessions and rate-limited commands"
		 : "count in this process only", fail_closed ? "closed" : "open");
}

/* ------------------------------------------------------------------ */
/* Sessions.                                                          */

static bool
over(struct smtpd_session *s, uint64_t n, long long limit, const char *what,
     const char *who, const char *param)
{
	if (limit <= 0 || n <= (unsigned long long) limit)
		return false;
	smtpd_log(s, "warning: %s limit exceeded: %llu from %s for service %s (%s)",
		  what, (unsigned long long) n, who, server_service(), param);
	return true;
}

static void
connected(void *ctx, const struct anvil_counts *c, bool ok)
{
	struct smtpd_session *s = ctx;
	char	who[sizeof(s->name) + sizeof(s->addr) + 2];

	s->anvil_call = NULL;
	s->anvil_connecting = false;
	if (!ok) {
		down();
		if (fail_closed) {
			smtpd_session_refuse(s, 421, "4.3.2", "Service temporarily unavailable");
			return;
		}
		smtpd_session_ready(s);
		return;
	}
	said_down = false;
	s->anvil_counted = true;
	(void) str_fmt(who, sizeof(who), "%s[%s]", s->name, s->addr);
	if (over(s, c->addr_sessions, cfg->smtpd_client_connection_count_limit,
		 "connection concurrency", who, "smtpd_client_connection_count_limit")
	    || over(s, c->addr_events, cfg->smtpd_client_connection_rate_limit,
		    "Connection rate", who, "smtpd_client_connection_rate_limit")
	    || over(s, c->net_sessions, cfg->smtpd_client_network_connection_count_limit,
		    "network connection concurrency", s->net,
		    "smtpd_client_network_connection_count_limit")
	    || over(s, c->net_events, cfg->smtpd_client_network_connection_rate_limit,
		    "network connection rate", s->net,
		    "smtpd_client_network_connection_rate_limit")) {
		smtpd_session_refuse(s, 421, "4.7.0", "%s Error: too many connections "
				     "from %s", cfg->myhostname, s->addr);
		return;
	}
	smtpd_session_ready(s);
}

int
smtpd_anvil_connect(struct smtpd_session *s)
{
	if (!connect_limits() || !counted(s))
		return SMTPD_ANVIL_GO;
	/* Set first: a new connection's resync must not count it as well. */
	s->anvil_connecting = true;
	s->anvil_call = anvil_clnt_op(anvil, ANVIL_OP_CONNECT, s->addr, s->net,
				      connected, s);
	if (s->anvil_call != NULL)
		return SMTPD_ANVIL_WAIT;
	s->anvil_connecting = false;
	down();
	if (!fail_closed)
		return SMTPD_ANVIL_GO;
	smtpd_session_refuse(s, 421, "4.3.2", "Service temporarily unavailable");
	return SMTPD_ANVIL_GONE;
}

void
smtpd_anvil_end(struct smtpd_session *s)
{
	anvil_clnt_cancel(s->anvil_call);
	s->anvil_call = NULL;
	if (s->anvil_counted || s->anvil_connecting)
		(void) anvil_clnt_op(anvil, ANVIL_OP_DISCONNECT, s->addr, s->net,
				     NULL, NULL);
	s->anvil_counted = s->anvil_connecting = false;
	free(s->gate_line);
	s->gate_line = NULL;
}

/* resync - a new connection to anvil: every session we hold, again */
static void
hold(struct smtpd_session *s, void *ctx)
{
	(void) ctx;
	if (s->anvil_connecting || !connect_limits() || !counted(s))
		return;
	if (anvil_clnt_op(anvil, ANVIL_OP_HOLD, s->addr, s->net, NULL, NULL) != NULL)
		s->anvil_counted = true;
}

static void
resync(void *ctx)
{
	(void) ctx;
	smtpd_session_foreach(hold, NULL);
}

/* ------------------------------------------------------------------ */
/* MAIL and RCPT.                                                     */

/* refuse_rate - the reply for a command over its rate, or without anvil */
static void
refuse_cmd(struct smtpd_session *s, enum smtpd_cmd c, const char *who)
{
	if (who == NULL)
		smtpd_reply(s, 451, "4.3.0", "Error: temporary failure, try again later");
	else if (c == SMTPD_CMD_MAIL)
		smtpd_reply(s, 450, "4.7.1", "Error: too much mail from %s", who);
	else
		smtpd_reply(s, 450, "4.7.1", "Error: too many recipients from %s", who);
}

static void
gated(void *ctx, const struct anvil_counts *c, bool ok)
{
	struct smtpd_session *s = ctx;
	enum smtpd_cmd cmd = s->gate_cmd;
	long long al, nl;
	char	who[sizeof(s->name) + sizeof(s->addr) + 2];
	struct lb_line l = {
		.data = s->gate_line, .len = s->gate_len, .end = s->gate_end,
	};

	s->anvil_call = NULL;
	s->state = SMTPD_ST_CMD;
	s->gate = SMTPD_GATE_PASS;
	rate_limits(cmd, &al, &nl);
	(void) str_fmt(who, sizeof(who), "%s[%s]", s->name, s->addr);
	if (!ok) {
		down();
		if (fail_closed) {
			refuse_cmd(s, cmd, NULL);
			s->gate = SMTPD_GATE_REFUSED;
		}
	} else {
		said_down = false;
		if (over(s, c->addr_events, al, cmd == SMTPD_CMD_MAIL
			 ? "Message delivery request rate" : "Recipient address rate",
			 who, cmd == SMTPD_CMD_MAIL ? "smtpd_client_message_rate_limit"
			 : "smtpd_client_recipient_rate_limit")) {
			refuse_cmd(s, cmd, s->addr);
			s->gate = SMTPD_GATE_REFUSED;
		} else if (over(s, c->net_events, nl, cmd == SMTPD_CMD_MAIL
				? "network message delivery request rate"
				: "network recipient address rate", s->net,
				cmd == SMTPD_CMD_MAIL
				? "smtpd_client_network_message_rate_limit"
				: "smtpd_client_network_recipient_rate_limit")) {
			refuse_cmd(s, cmd, s->net);
			s->gate = SMTPD_GATE_REFUSED;
		}
	}
	/* The command again: it passes the gate now, or ends refused. */
	smtpd_proto_line(s, &l);
	free(s->gate_line);
	s->gate_line = NULL;
	smtpd_session_resume(s);
}

int
smtpd_anvil_gate(struct smtpd_session *s, enum smtpd_cmd c, const struct lb_line *l)
{
	long long al, nl;
	int	verdict;

	if (c != SMTPD_CMD_MAIL && c != SMTPD_CMD_RCPT)
		return SMTPD_GATE_PASS;
	if ((verdict = s->gate) != 0) {		/* the line again, decided */
		s->gate = 0;
		return verdict;
	}
	rate_limits(c, &al, &nl);
	if ((al <= 0 && nl <= 0) || !counted(s))
		return SMTPD_GATE_PASS;
	if (!anvil_clnt_up(anvil)
	    || (s->anvil_call = anvil_clnt_op(anvil, c == SMTPD_CMD_MAIL
					      ? ANVIL_OP_MESSAGE : ANVIL_OP_RCPT,
					      s->addr, s->net, gated, s)) == NULL) {
		down();
		if (!fail_closed)
			return SMTPD_GATE_PASS;
		refuse_cmd(s, c, NULL);
		return SMTPD_GATE_REFUSED;
	}
	free(s->gate_line);
	s->gate_line = xmemdup(l->data, l->len);
	s->gate_len = l->len;
	s->gate_end = l->end;
	s->gate_cmd = c;
	s->state = SMTPD_ST_CHECK;
	return SMTPD_GATE_WAIT;
}

struct anvil_call *
smtpd_anvil_auth(struct smtpd_session *s, anvil_done_fn *done, void *ctx)
{
	if (!counted(s))
		return NULL;
	return anvil_clnt_op(anvil, ANVIL_OP_AUTH, s->addr, s->net, done, ctx);
}

void
smtpd_anvil_init(struct ev_loop *loop)
{
	fail_closed = instance_anvil_closed(cfg->smtpd_anvil_failure_mode) == 1;
	if (instance_anvil_closed(cfg->smtpd_anvil_failure_mode) < 0)
		log_fatal("smtpd_anvil_failure_mode = %s: want open or closed",
			  cfg->smtpd_anvil_failure_mode);
	anvil = anvil_clnt_new(loop, SMTPD_ANVIL_ENDPOINT, SMTPD_ANVIL_TIMEOUT_MS,
			       resync, NULL);
}
