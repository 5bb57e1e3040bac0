/*
 * NAME
 *	smtpd_session - SMTP sessions on the event loop: accept, I/O,
 *	deadlines, error delays, replies, logging
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_listen_start(loop);	// accept on the master's sockets
 *	smtpd_listen_stop(loop);	// SIGTERM: take nothing new
 *	smtpd_session_new(loop, rfd, wfd, "192.0.2.1", "25");
 * DESCRIPTION
 *	Every session of the process lives on one event loop.  A session
 *	owns its socket, a line reader (linebuf.h: line_length_limit plus
 *	one 64 KiB read area), a bounded reply buffer, two timers and the
 *	state of one mail transaction; nothing else, so a slow client
 *	costs only itself.
 *
 *	Input: when the reader has no complete line, one read() takes
 *	whatever the client sent (a whole pipelined command group, or a
 *	large piece of DATA).  The lines are then handled one by one
 *	(smtpd_proto.c), their replies collected in s->io.out, and written
 *	with one write() when the input runs dry (RFC 2920 section 3.2:
 *	replies are flushed before the server would wait for input).
 *	Reading stops while replies above SMTPD_OUT_HIGH wait (a client
 *	that does not read its replies cannot make us buffer without
 *	bound), while an error delay runs, while a command waits for its
 *	checks (a lookup: SMTPD_ST_CHECK; the commands the client
 *	pipelined behind it wait in the reader) and while cleanup is
 *	working on the message.
 *
 *	Deadlines (one timer per session, set to the earliest):
 *	  - with smtpd_per_request_deadline = yes, a command line must
 *	    arrive whole within smtpd_timeout of the previous one being
 *	    handled; during DATA the deadline starts at smtpd_timeout and
 *	    each byte received adds 1/smtpd_min_data_rate seconds, never
 *	    beyond smtpd_timeout from now (a client trickling bytes is
 *	    cut off; one sending at the minimum rate is not).  With
 *	    smtpd_min_data_rate = 0 or smtpd_per_request_deadline = no,
 *	    every read restarts a full smtpd_timeout.
 *	  - smtpd_session_deadline bounds the whole session.
 *	  - while cleanup works on a message, smtpd_timeout bounds its
 *	    answer instead.
 *	A deadline that passes ends the session with "421 4.4.2 ... Error:
 *	timeout exceeded" and a "timeout after COMMAND from CLIENT" log
 *	line.
 *
 *	Error delay (smtpd_error_delay()): once a session has made
 *	smtpd_soft_error_limit errors, each reply waits
 *	smtpd_error_sleep_time times the number of errors past the limit
 *	(plus one), at most smtpd_timeout / 2, before it is sent.  The
 *	wait is a timer: other sessions go on.  A delay that would bring
 *	the session's delays past smtpd_error_sleep_limit is not slept:
 *	the session ends with "421 4.7.0 HOST Error: too many errors"
 *	instead, so a client that makes only errors holds its session
 *	for about smtpd_error_sleep_limit (10 s), as long as Postfix's
 *	fixed one-second delays would, not for the sum of growing ones.
 *
 *	Start: the session waits, without reading, for the client's name
 *	(smtpd_peer.c: bounded by smtpd_peername_lookup_timeout, other
 *	sessions go on meanwhile); then smtpd_session_ready() logs the
 *	connection, checks for talk before the greeting, and greets.
 *
 *	Logging: "connect from NAME[ADDR]", "disconnect from NAME[ADDR]
 *	ehlo=1 mail=1 rcpt=0/1 ... commands=N/M" (counts of good/all
 *	commands, "/M" only when some failed) and every other line about
 *	a client go through smtpd_log() or smtpd_log_client()
 *	(smtpd_logsum.c): at most 10 lines of each kind a minute per
 *	client address (30 per network), the rest counted and summarised
 *	("N more like this from ADDR in the last minute"), so that one
 *	abusive client cannot flood the log, and nothing vanishes.
 *
 *	Deadlines come from smtpd_timeout_ms(): smtpd_timeout, or
 *	smtpd_overload_timeout in overload mode (smtpd_overload.c).
 *
 *	Memory: each session charges its fixed cost to the process's
 *	budget (smtpd_overload.c), and its line reader is put under it
 *	(linebuf_budget(): no buffer while idle, SMTPD_READ_MIN bytes of
 *	read room beyond a line while the client sends little, 64 KiB
 *	only while it sends at volume and the budget allows).
 *
 *	The process takes at most smtpd_client_limit sessions; when it is
 *	full a newcomer makes room by closing the session with the least
 *	progress (smtpd_overload_make_room()), unless its own address
 *	already holds a tenth of smtpd_client_connection_count_limit
 *	sessions here (light(): a client holding many sessions must not
 *	churn the others out); otherwise, or when no session can go, it
 *	gets "421 4.3.2 Service temporarily unavailable" and is closed.  A client outside
 *	smtpd_client_event_limit_exceptions holds at most
 *	smtpd_client_connection_count_limit sessions, and opens at most
 *	smtpd_client_connection_rate_limit connections per
 *	anvil_rate_time_unit; beyond either it gets "421 4.7.0 HOST
 *	Error: too many connections from ADDR", as in Postfix (0 turns a
 *	bound off).  This process's own counts (sessions_from(),
 *	smtpd_rate.c) are checked at accept, at no cost; those of every
 *	process, and of the client's network, come from anvil before the
 *	greeting (smtpd_anvil.c).  When the process runs out of
 *	descriptors, accepting pauses for ACCEPT_PAUSE_MS instead of
 *	spinning on a listening socket that stays readable.  smtpd_listen_stop() stops accepting;
 *	the process exits when its last session is over.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "countmap.h"
#include "log.h"
#include "master_proto.h"
#include "mem.h"
#include "membudget.h"
#include "params.h"
#include "server.h"
#include "smtp_reply.h"
#include "smtpd.h"
#include "str.h"

#define ACCEPT_BURST	64		/* accepts per event: fairness */

struct ev_loop *smtpd_loop;
unsigned smtpd_session_count;

static struct smtpd_session *sessions;
static struct countmap per_addr;	/* sessions per client address, here */
static struct ev_io listeners[MASTER_MAX_LISTEN];
static int n_listeners;
static bool stopping;
static struct log_rate refuse_rate;
static struct ev_timer accept_pause;	/* out of descriptors: wait */

#define ACCEPT_PAUSE_MS	200
#define SMTPD_LIGHT_SESSIONS	5	/* light(), without a count limit */

static bool step(struct smtpd_session *s);

/* ------------------------------------------------------------------ */
/* Replies and log lines.                                             */

void
smtpd_reply(struct smtpd_session *s, int code, const char *dsn, const char *fmt, ...)
{
	va_list ap;
	int	r;

	va_start(ap, fmt);
	r = smtp_reply_vformat(&s->io.out, code, dsn, fmt, ap);
	va_end(ap);
	if (r < 0 && buf_room(&s->io.out) > SMTP_REPLY_TEXT_MAX * 2)
		log_panic("smtpd_reply: cannot format reply %d %s", code, dsn ? dsn : "");
	if (r < 0)
		s->closing = true;	/* not reading replies at all: give up */
}

void
smtpd_reply_lines(struct smtpd_session *s, int code, const char *const *lines,
		  size_t n)
{
	if (smtp_reply_lines(&s->io.out, code, NULL, lines, n) < 0)
		s->closing = true;
}

/* In Postfix's order, so that the disconnect lines read the same. */
static const char *const cmd_names[SMTPD_CMD_COUNT] = {
	"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "rset",
	"noop", "vrfy", "help", "quit", "unknown",
};

const char *
smtpd_cmd_name(enum smtpd_cmd c)
{
	return (unsigned) c < SMTPD_CMD_COUNT ? cmd_names[c] : "?";
}

/* smtpd_disconnect_summary - " ehlo=1 mail=1 rcpt=0/1 ... commands=2/3" */
void
smtpd_disconnect_summary(const struct smtpd_session *s, struct buf *out)
{
	unsigned ok = 0, total = 0;

	for (int c = 0; c < SMTPD_CMD_COUNT; c++) {
		if (s->cmd_total[c] == 0)
			continue;
		ok += s->cmd_ok[c];
		total += s->cmd_total[c];
		if (s->cmd_ok[c] == s->cmd_total[c])
			(void) buf_appendf(out, " %s=%u", cmd_names[c], s->cmd_ok[c]);
		else
			(void) buf_appendf(out, " %s=%u/%u", cmd_names[c],
					   s->cmd_ok[c], s->cmd_total[c]);
	}
	if (ok == total)
		(void) buf_appendf(out, " commands=%u", total);
	else
		(void) buf_appendf(out, " commands=%u/%u", ok, total);
}

/* ------------------------------------------------------------------ */
/* Deadlines and delays.                                              */

void
smtpd_set_deadline(struct smtpd_session *s, uint64_t ms_from_now)
{
	s->request_deadline = ev_now(s->loop) + ms_from_now;
}

static void
arm_timer(struct smtpd_session *s)
{
	uint64_t now = ev_now(s->loop);
	uint64_t when = s->request_deadline;

	if (s->state != SMTPD_ST_DELIVER && s->session_deadline < when)
		when = s->session_deadline;
	ev_timer_start(s->loop, &s->deadline, when > now ? when - now : 0);
}

/* data_read - a read of n bytes during DATA moves the deadline */
static void
data_read(struct smtpd_session *s, size_t n)
{
	uint64_t now = ev_now(s->loop);
	uint64_t full = now + smtpd_timeout_ms();
	uint64_t when;

	if (!cfg->smtpd_per_request_deadline || cfg->smtpd_min_data_rate <= 0) {
		s->request_deadline = full;
		return;
	}
	when = s->request_deadline + (uint64_t) n * 1000 / (uint64_t) cfg->smtpd_min_data_rate;
	s->request_deadline = when < full ? when : full;
}

void
smtpd_error_delay(struct smtpd_session *s)
{
	uint64_t ms, cap, limit = (uint64_t) cfg->smtpd_error_sleep_limit * 1000;
	char	text[300];

	if (s->errors < (unsigned) cfg->smtpd_soft_error_limit
	    || cfg->smtpd_error_sleep_time == 0 || s->closing)
		return;
	ms = cfg->smtpd_error_sleep_time * 1000
	    * (s->errors - (unsigned) cfg->smtpd_soft_error_limit + 1);
	cap = cfg->smtpd_timeout * 1000 / 2;
	if (ms > cap)
		ms = cap;
	if (limit > 0 && s->slept_ms + ms > limit) {
		/* The delays add up: it holds its slot no longer. */
		smtpd_log(s, "too many errors after %s from %s[%s] (%llus of error "
			  "delays, smtpd_error_sleep_limit)", s->where, s->name,
			  s->addr, (unsigned long long) (s->slept_ms / 1000));
		(void) str_fmt(text, sizeof(text), "%s Error: too many errors",
			       cfg->myhostname);
		smtpd_drop(s, 421, "4.7.0", text);
		return;
	}
	s->slept_ms += ms;
	s->sleeping = true;
	ev_timer_start(s->loop, &s->sleep, ms);
}

/*
 * smtpd_hold - the replies wait ms more (at least: a longer delay
 * already running stays); other sessions go on
 */
void
smtpd_hold(struct smtpd_session *s, uint64_t ms)
{
	uint64_t now = ev_now(s->loop);

	if (ms == 0 || s->closing)
		return;
	if (s->sleeping && ev_timer_active(&s->sleep) && s->sleep.when >= now + ms)
		return;
	s->sleeping = true;
	ev_timer_start(s->loop, &s->sleep, ms);
}

static void
on_sleep(struct ev_loop *loop, struct ev_timer *t)
{
	struct smtpd_session *s = t->data;

	(void) loop;
	s->sleeping = false;
	smtpd_set_deadline(s, smtpd_timeout_ms());
	(void) step(s);
}

/* ------------------------------------------------------------------ */
/* Session life.                                                      */

/* want_read - the session reads from its client now */
static bool
want_read(const struct smtpd_session *s)
{
	return s->need_input && !s->eof && !s->closing && !s->sleeping
	    && !smtpd_waiting(s) && s->io.out.len < SMTPD_OUT_HIGH;
}

/*
 * flush - 0 all written, 1 more to write (tlsio goes on with it and
 * calls back when done), -1 the client is gone
 */
static int
flush(struct smtpd_session *s)
{
	return tlsio_flush(&s->io);
}

static void
free_rcpts(struct smtpd_session *s)
{
	for (size_t i = 0; i < s->nrcpt; i++)
		free(s->rcpt[i]);
	s->nrcpt = 0;
}

void
smtpd_session_free(struct smtpd_session *s)
{
	struct buf line;

	smtpd_peer_cancel(s);
	smtpd_sasl_cancel(s);
	smtpd_sasl_sender_cancel(s);
	smtpd_anvil_end(s);
	smtpd_restrict_cancel(s);
	smtpd_actions_reset(s);
	smtpd_dnscache_free(s);
	free(s->refusal);
	free(s->early_defer);
	free(s->reverse_name);
	if (s->state == SMTPD_ST_DELIVER)
		smtpd_deliver_abort(s);
	smtpd_spool_close(s);
	smtpd_data_free(&s->data);
	smtpd_overload_remove(s);

	buf_init(&line, LOG_LINE_MAX);
	smtpd_disconnect_summary(s, &line);
	smtpd_log(s, "disconnect from %s[%s]%s", s->name, s->addr, buf_str(&line));
	buf_free(&line);

	tlsio_free(&s->io);
	ev_timer_stop(s->loop, &s->deadline);
	ev_timer_stop(s->loop, &s->sleep);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->wfd >= 0 && s->wfd != s->rfd)
		close(s->wfd);
	free_rcpts(s);
	free(s->rcpt);

	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	smtpd_session_count--;
	(void) countmap_add(&per_addr, s->addr, -1);
	membudget_uncharge(SMTPD_SESSION_COST);
	free(s);
	smtpd_overload_update();

	if (smtpd_conf.standalone)
		ev_break(smtpd_loop);
	else if (stopping && smtpd_session_count == 0)
		server_exit(0);
}

/* smtpd_session_shorten - the request deadline comes no later than ms from now */
void
smtpd_session_shorten(struct smtpd_session *s, uint64_t ms)
{
	uint64_t when = ev_now(s->loop) + ms;

	if (s->state == SMTPD_ST_DELIVER || s->request_deadline <= when)
		return;
	s->request_deadline = when;
	arm_timer(s);
}

/*
 * smtpd_session_refuse - one reply and the session is over: refused
 * by anvil's counts, or closed to make room (smtpd_overload.c)
 */
void
smtpd_session_refuse(struct smtpd_session *s, int code, const char *dsn,
		     const char *fmt, ...)
{
	char	text[512];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtpd_reply(s, code, dsn, "%s", text);
	(void) flush(s);		/* one try: it may be idle or gone */
	smtpd_session_free(s);
}

void
smtpd_session_foreach(void (*f)(struct smtpd_session *, void *), void *ctx)
{
	struct smtpd_session *s, *next;

	for (s = sessions; s != NULL; s = next) {
		next = s->next;
		f(s, ctx);
	}
}

void
smtpd_drop(struct smtpd_session *s, int code, const char *dsn, const char *text)
{
	smtpd_reply(s, code, dsn, "%s", text);
	s->closing = true;
	s->sleeping = false;
	ev_timer_stop(s->loop, &s->sleep);
}

/* lost - the client went away or stopped reading */
static void
lost(struct smtpd_session *s)
{
	if (s->state == SMTPD_ST_DATA)
		smtpd_log(s, "lost connection after DATA (%llu bytes) from %s[%s]",
			  (unsigned long long) s->data.size, s->name, s->addr);
	else
		smtpd_log(s, "lost connection after %s from %s[%s]", s->where,
			  s->name, s->addr);
	smtpd_session_free(s);
}

/*
 * step - handle every complete line the reader holds, as far as the
 * session may go on, then write the replies and set up the events.
 * Returns false when the session is gone.
 */
static bool
step(struct smtpd_session *s)
{
	struct lb_line l;
	int	r;

	while (!s->closing && !s->sleeping && !smtpd_waiting(s)
	       && s->io.out.len < SMTPD_OUT_HIGH) {
		if (tlsio_get(&s->io, &l) != LB_LINE) {
			s->need_input = true;
			break;
		}
		s->need_input = false;
		if (s->state == SMTPD_ST_DATA)
			smtpd_proto_data_line(s, &l);
		else if (s->state == SMTPD_ST_AUTH) {
			smtpd_sasl_line(s, &l);
			if (l.end != LB_END_NONE)
				smtpd_set_deadline(s, smtpd_timeout_ms());
		} else {
			unsigned errors = s->errors, junk = s->junk;

			smtpd_proto_line(s, &l);
			/*
			 * 2026-11 review: only a whole command line restarts
			 * the per-request deadline.  A piece of a too-long
			 * line (discarded) did too, so a client trickling
			 * 2 KB of an endless line per smtpd_timeout held its
			 * session until smtpd_session_deadline.
			 */
			if (s->state == SMTPD_ST_CMD && l.end != LB_END_NONE)
				smtpd_set_deadline(s, smtpd_timeout_ms());
			/* Progress: a command that worked and was no junk. */
			if (l.end != LB_END_NONE && s->errors == errors
			    && s->junk == junk && !s->closing)
				smtpd_overload_progress(s);
		}
	}
	if (s->eof && s->need_input && !s->closing && !s->sleeping
	    && !smtpd_waiting(s)) {
		(void) flush(s);		/* the client may still read */
		lost(s);
		return false;
	}
	if (!s->sleeping) {
		if ((r = flush(s)) < 0) {
			if (!s->closing) {
				lost(s);
				return false;
			}
		}
		if (s->closing && (r != 1)) {
			smtpd_session_free(s);
			return false;
		}
	}
	tlsio_want_input(&s->io, want_read(s));
	arm_timer(s);
	return true;
}

void
smtpd_session_resume(struct smtpd_session *s)
{
	(void) step(s);
}

/* on_io - what happened on the client's connection (tlsio.h) */
static void
on_io(struct tlsio *io, unsigned events, void *ctx)
{
	struct smtpd_session *s = ctx;

	if (events & TLSIO_IN) {
		if (s->state == SMTPD_ST_DATA) {
			data_read(s, io->last_in);
			smtpd_overload_progress(s);
		} else if (!cfg->smtpd_per_request_deadline)
			smtpd_set_deadline(s, smtpd_timeout_ms());
	}
	if (events & TLSIO_EOF) {
		if (io->state == TLSIO_TLS && *tlsio_error(io))
			smtpd_log(s, "warning: TLS read error from %s[%s]: %s",
				  s->name, s->addr, tlsio_error(io));
		s->eof = true;
	}
	if ((events & (TLSIO_TLS_UP | TLSIO_TLS_FAIL)) && !smtpd_tls_event(s, events)) {
		lost(s);
		return;
	}
	(void) step(s);
}

static void
on_deadline(struct ev_loop *loop, struct ev_timer *t)
{
	struct smtpd_session *s = t->data;
	uint64_t now = ev_now(loop);

	if (s->state == SMTPD_ST_DELIVER) {
		smtpd_log(s, "warning: no answer from cleanup within %llus for "
			  "a message from %s[%s]; the client was told to retry",
			  (unsigned long long) cfg->smtpd_timeout, s->name, s->addr);
		smtpd_deliver_abort(s);
		smtpd_reply(s, 451, "4.3.0", "Error: queue file write error");
		smtpd_proto_reset(s);
		s->state = SMTPD_ST_CMD;
		smtpd_set_deadline(s, smtpd_timeout_ms());
		(void) step(s);
		return;
	}
	if (now >= s->session_deadline) {
		smtpd_log(s, "session deadline exceeded after %s from %s[%s]",
			  s->where, s->name, s->addr);
		smtpd_reply(s, 421, "4.4.2", "%s Error: session time limit exceeded",
			    cfg->myhostname);
	} else {
		if (s->state == SMTPD_ST_DATA)
			smtpd_log(s, "timeout after DATA (%llu bytes) from %s[%s]",
				  (unsigned long long) s->data.size, s->name, s->addr);
		else
			smtpd_log(s, "timeout after %s from %s[%s]", s->where,
				  s->name, s->addr);
		smtpd_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
			    cfg->myhostname);
	}
	(void) flush(s);		/* one try: the client may be gone */
	smtpd_session_free(s);
}

/* pregreet - the client spoke before the greeting (RFC 5321 4.3.1) */
static bool
pregreet(struct smtpd_session *s)
{
	ssize_t n;
	struct lb_line l;

	if (!cfg->smtpd_forbid_unauth_pipelining || s->trusted)
		return false;
	n = tlsio_fill(&s->io);
	if (n == 0) {
		s->eof = true;
		return false;
	}
	if (n < 0)
		return false;
	l.data = linebuf_peek(&s->io.lb);
	l.len = linebuf_pending(&s->io.lb) < 100 ? linebuf_pending(&s->io.lb) : 100;
	smtpd_log(s, "improper command pipelining after CONNECT from %s[%s]: %.*s",
		  s->name, s->addr, (int) l.len, l.data);
	smtpd_drop(s, 554, "5.5.0", "Error: SMTP protocol synchronization");
	return true;
}

void
smtpd_session_new(struct ev_loop *loop, int rfd, int wfd, const char *addr,
		  const char *port)
{
	struct smtpd_session *s = xcalloc(1, sizeof(*s));
	uint64_t now = ev_now(loop);

	s->loop = loop;
	s->rfd = rfd;
	s->wfd = wfd;
	(void) str_copy(s->addr, sizeof(s->addr), addr);
	(void) str_copy(s->port, sizeof(s->port), port);
	(void) str_copy(s->name, sizeof(s->name), "unknown");
	s->trusted = netlist_match_str(smtpd_conf.mynetworks, addr);
	s->limits_exempt = netlist_match_str(smtpd_conf.limit_exceptions, addr);
	s->bare_reject = smtpd_conf.bare_reject
	    && !netlist_match_str(smtpd_conf.bare_exclusions, addr);
	s->spool_fd = -1;
	s->name_status = s->reverse_status = 5;	/* unknown until looked up */
	s->where = "CONNECT";
	s->state = SMTPD_ST_CMD;
	s->start_ms = now;
	s->session_deadline = now + cfg->smtpd_session_deadline * 1000;
	s->request_deadline = now + smtpd_timeout_ms();
	tlsio_init(&s->io, loop, rfd, wfd, (size_t) cfg->line_length_limit,
		   SMTPD_OUT_MAX, on_io, s);
	linebuf_budget(&s->io.lb, SMTPD_READ_MIN);
	membudget_charge(SMTPD_SESSION_COST);
	ev_timer_init(&s->deadline, on_deadline, s);
	ev_timer_init(&s->sleep, on_sleep, s);

	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
	smtpd_session_count++;
	(void) countmap_add(&per_addr, s->addr, 1);	/* no bound: client_limit is one */
	smtpd_overload_add(s);
	smtpd_overload_update();

	/* The greeting waits for the client's name, as in Postfix, and for anvil. */
	s->start_waits = 1;
	if (smtpd_peer_lookup(s))
		s->start_waits++;
	switch (smtpd_anvil_connect(s)) {
	case SMTPD_ANVIL_GONE:
		return;
	case SMTPD_ANVIL_WAIT:
		s->start_waits++;
		break;
	}
	smtpd_session_ready(s);
}

/*
 * smtpd_session_ready - the client's name is known, and anvil's counts
 * (each calls it once it is done): log the connection, check for talk
 * before the greeting, greet.
 */
void
smtpd_session_ready(struct smtpd_session *s)
{
	if (s->start_waits > 0 && --s->start_waits > 0)
		return;				/* the name or anvil comes later */
	smtpd_log(s, "connect from %s[%s]", s->name, s->addr);
	smtpd_set_deadline(s, smtpd_timeout_ms());
	/* Wrapper mode: the greeting follows the handshake. */
	if (!smtpd_tls_wrapper(s) && !pregreet(s))
		smtpd_proto_greet(s);
	s->need_input = true;
	(void) step(s);
}

/* ------------------------------------------------------------------ */
/* Accepting.                                                         */

/*
 * client_addr - the peer's address as text; v4-mapped shown as IPv4.
 * 2026-11 review: a link-local IPv6 peer came out as "fe80::1%eth0"; with
 * its scope the address is no address (inet_pton() refuses it): cleanup
 * answered 451 to every message from such a client, for ever, and
 * mynetworks never matched it.  The scope names our interface, not the
 * client, so it is dropped.
 */
static void
client_addr(const struct sockaddr_storage *ss, socklen_t len, char *addr,
	    size_t asz, char *port, size_t psz)
{
	char   *scope;

	if (ss->ss_family == AF_UNIX
	    || getnameinfo((const struct sockaddr *) ss, len, addr, (socklen_t) asz,
			   port, (socklen_t) psz, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		(void) str_copy(addr, asz, "unknown");
		(void) str_copy(port, psz, "0");
		return;
	}
	if ((scope = strchr(addr, '%')) != NULL)
		*scope = '\0';
	if (str_has_prefix_nocase(addr, "::ffff:") && strchr(addr + 7, '.') != NULL)
		memmove(addr, addr + 7, strlen(addr + 7) + 1);
}

/* sessions_from - sessions this process holds for one client address */
static unsigned
sessions_from(const char *addr)
{
	return (unsigned) countmap_get(&per_addr, addr);
}

/*
 * refused_by_limits - smtpd_client_connection_count_limit and
 * smtpd_client_connection_rate_limit (smtpd_rate.c), for clients
 * outside smtpd_client_event_limit_exceptions: past either, the client
 * gets 421 and fd is closed.  Counted in this process: with the default
 * of one smtpd process the bounds are exact; with N processes a client
 * can get up to N times a limit.  sessions_from() is one hash lookup.
 */
static bool
refused_by_limits(struct ev_loop *loop, int fd, const char *addr)
{
	long long count_limit = cfg->smtpd_client_connection_count_limit;
	long long rate_limit = cfg->smtpd_client_connection_rate_limit;
	const char *what, *param;
	char    msg[400];
	unsigned n;

	if ((count_limit <= 0 && rate_limit <= 0)
	    || netlist_match_str(smtpd_conf.limit_exceptions, addr))
		return false;
	if (count_limit > 0 && (n = sessions_from(addr) + 1) > (unsigned long long) count_limit) {
		what = "connection concurrency";
		param = "count";
	} else if (rate_limit > 0 && (n = smtpd_rate_count(addr, SMTPD_RATE_CONN, ev_now(loop)))
		   > (unsigned long long) rate_limit) {
		what = "Connection rate";
		param = "rate";
	} else
		return false;
	smtpd_log_client(addr, false, "warning: %s limit exceeded: %u from unknown[%s] "
			 "for service %s (smtpd_client_connection_%s_limit)", what,
			 n, addr, server_service(), param);
	(void) str_fmt(msg, sizeof(msg), "421 4.7.0 %s Error: too many connections "
		       "from %s\r\n", cfg->myhostname, addr);
	(void) !write(fd, msg, strlen(msg));
	close(fd);
	return true;
}

/*
 * light - may a newcomer from addr make room in a full process?  Only
 * when its address holds few sessions here (a tenth of
 * smtpd_client_connection_count_limit, or SMTPD_LIGHT_SESSIONS without
 * one): a client that already holds many would otherwise churn the
 * others out one reconnection at a time.
 */
static bool
light(const char *addr)
{
	long long limit = cfg->smtpd_client_connection_count_limit;
	unsigned most = limit > 0 ? (unsigned) (limit / 10 > 0 ? limit / 10 : 1)
	    : SMTPD_LIGHT_SESSIONS;

	return sessions_from(addr) < most;
}

static void
on_accept(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	(void) revents;
	for (int i = 0; i < ACCEPT_BURST && !stopping; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char	addr[64], port[8];
		int	fd = accept4(io->fd, (struct sockaddr *) &ss, &len,
				     SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (log_rate_ok(&refuse_rate, ev_now(loop)))
				log_warn("accept on %s: %m (%u such lines suppressed "
					 "so far)", server_service(), refuse_rate.dropped);
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
			    || errno == ENOMEM) {
				/* The socket stays readable: don't spin on it. */
				for (int k = 0; k < n_listeners; k++)
					ev_io_stop(loop, &listeners[k]);
				ev_timer_start(loop, &accept_pause, ACCEPT_PAUSE_MS);
			}
			break;
		}
		client_addr(&ss, len, addr, sizeof(addr), port, sizeof(port));
		if (refused_by_limits(loop, fd, addr))
			continue;
		if (smtpd_overload_full()
		    && (!light(addr) || !smtpd_overload_make_room(addr))) {
			static const char busy[] = "421 4.3.2 Service temporarily unavailable\r\n";

			smtpd_log_client(addr, false, "warning: too many sessions in "
					 "this process (%u, smtpd_client_limit), none idle: "
					 "refused %s", smtpd_session_count, addr);
			(void) !write(fd, busy, sizeof(busy) - 1);
			close(fd);
			continue;
		}
		(void) smtpd_session_new(loop, fd, fd, addr, port);
	}
}

static void
on_accept_pause(struct ev_loop *loop, struct ev_timer *t)
{
	(void) t;
	if (stopping)
		return;
	for (int i = 0; i < n_listeners; i++)
		ev_io_start(loop, &listeners[i], EV_READ);
}

void
smtpd_listen_start(struct ev_loop *loop)
{
	smtpd_loop = loop;
	log_rate_init(&refuse_rate, 10, 10);
	ev_timer_init(&accept_pause, on_accept_pause, NULL);
	n_listeners = server_listen_count();
	for (int i = 0; i < n_listeners; i++) {
		int	fd = server_listen_fd(i);
		int	fl = fcntl(fd, F_GETFL);

		/* Other smtpd processes accept from the same socket. */
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			log_fatal("listening descriptor %d: %m", fd);
		ev_io_init(&listeners[i], fd, on_accept, NULL);
		ev_io_start(loop, &listeners[i], EV_READ);
	}
}

void
smtpd_listen_stop(struct ev_loop *loop)
{
	stopping = true;
	ev_timer_stop(loop, &accept_pause);
	for (int i = 0; i < n_listeners; i++)
		ev_io_stop(loop, &listeners[i]);
	if (smtpd_session_count == 0)
		server_exit(0);
	log_info("stopping: %u session%s to finish", smtpd_session_count,
		 smtpd_session_count == 1 ? "" : "s");
}
