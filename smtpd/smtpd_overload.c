/*
 * NAME
 *	smtpd_overload - overload mode: short timeouts near the limits,
 *	room made for newcomers, the process's memory budget
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_overload_init(loop);	// membudget, the tick timer
 *	ms = smtpd_timeout_ms();	// smtpd_timeout, or the short one
 *	smtpd_overload_add(s);		// every session, at its start ...
 *	smtpd_overload_remove(s);	// ... and its end
 *	smtpd_overload_progress(s);	// it did something useful
 *	smtpd_overload_update();	// the session count changed
 *	if (smtpd_overload_full() && !smtpd_overload_make_room(addr))
 *		... refuse the newcomer ...
 * DESCRIPTION
 *	Memory: smtpd_overload_init() sets the process's budget
 *	(membudget.h) to smtpd_memory_budget.  Every session charges a
 *	fixed SMTPD_SESSION_COST; its read area (linebuf_budget(): none
 *	while idle, a small floor, 64 KiB only while the client sends at
 *	volume and the budget has room) and its DATA buffer (64 KiB when
 *	the budget has room, else 4 KiB and the spool file) are charged
 *	as they come and go, and so is a message spooled in memory.  So
 *	past the budget, a session costs its floor and nothing more.
 *
 *	Overload mode starts when the process holds
 *	smtpd_overload_threshold percent of smtpd_client_limit sessions,
 *	or has charged that percent of smtpd_memory_budget, and ends when
 *	both are 10 points below it (so that it does not flap).  While it
 *	lasts:
 *	  - smtpd_timeout_ms() is smtpd_overload_timeout instead of
 *	    smtpd_timeout (Postfix's "smtpd_timeout = ${stress?10}{300}"),
 *	    for every new deadline; at the start every session's current
 *	    deadline is brought forward to it, so idle sessions go within
 *	    smtpd_overload_timeout and not 300 s later;
 *	  - under memory pressure, every second, sessions waiting for
 *	    their client give back what they can: the read area down to
 *	    what is pending, a DATA buffer written out to the spool file.
 *	Both transitions are logged.
 *
 *	Making room: when the process is full (smtpd_client_limit
 *	sessions, or the budget spent on sessions' floors down to less
 *	than a session's cost; large buffers give way instead), a
 *	newcomer whose address holds few sessions (smtpd_session.c,
 *	light()) does not get "421 Service temporarily unavailable"
 *	while one session has shown no progress: the one
 *	that has made none for the longest time among those without a
 *	valid MAIL command (idle longest: a client that connected, said
 *	EHLO and went silent) is closed with "421 4.7.0 HOSTNAME Error:
 *	too many sessions, closing an idle one", and the choice is
 *	logged; only when there is none, a session inside a transaction
 *	that has made no progress for smtpd_overload_timeout (a
 *	slow-loris in DATA) goes instead; failing both, the newcomer is
 *	refused.  Progress is a command that succeeded (NOOP, RSET, VRFY
 *	and HELP are not progress) or content arriving in DATA.  So a
 *	client that completes its transaction promptly is never the one
 *	chosen while the process is full of idle connections: it would
 *	have to stay idle longer than every one of them.  Sessions are
 *	kept in two lists ordered by their last progress (without and
 *	with a transaction), so the choice costs O(1).
 *
 *	The tick (one timer a second) checks the state, makes the
 *	memory sweep under pressure, hands freed heap memory back to
 *	the kernel after a burst (membudget_trim(): malloc_trim() once
 *	the charges fell 1 MiB below their peak), and writes the log
 *	summaries that are due (smtpd_logsum.c).
 */
#include <stdlib.h>

#include "log.h"
#include "membudget.h"
#include "params.h"
#include "smtpd.h"

#define TICK_MS		1000
#define HYSTERESIS	10		/* percentage points */

struct lru {
	struct smtpd_session *head, *tail;	/* head: least recent progress */
};

static struct lru idle_list;		/* no valid MAIL yet */
static struct lru txn_list;		/* inside a transaction */
static struct ev_loop *loop;
static struct ev_timer tick;
static bool overloaded;
static uint64_t overload_start;
static unsigned evicted;		/* sessions closed to make room, this episode */

static bool
in_txn(const struct smtpd_session *s)
{
	return s->in_mail || s->state != SMTPD_ST_CMD;
}

static void
lru_unlink(struct smtpd_session *s)
{
	struct lru *l = s->lru_txn ? &txn_list : &idle_list;

	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		l->head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		l->tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void
lru_append(struct smtpd_session *s)
{
	struct lru *l;

	s->lru_txn = in_txn(s);
	l = s->lru_txn ? &txn_list : &idle_list;
	s->lru_prev = l->tail;
	s->lru_next = NULL;
	if (l->tail)
		l->tail->lru_next = s;
	else
		l->head = s;
	l->tail = s;
}

void
smtpd_overload_add(struct smtpd_session *s)
{
	if (loop == NULL)
		loop = s->loop;		/* without init (tests): no budget, no tick */
	s->progress_ms = ev_now(s->loop);
	lru_append(s);
}

void
smtpd_overload_remove(struct smtpd_session *s)
{
	lru_unlink(s);
}

void
smtpd_overload_progress(struct smtpd_session *s)
{
	s->progress_ms = ev_now(s->loop);
	lru_unlink(s);
	lru_append(s);
}

uint64_t
smtpd_timeout_ms(void)
{
	uint64_t t = cfg->smtpd_timeout;

	if (overloaded && cfg->smtpd_overload_timeout < t)
		t = cfg->smtpd_overload_timeout;
	return t * 1000;
}

bool
smtpd_overloaded(void)
{
	return overloaded;
}

/* for_each - f(s) for every session; f may not free s */
static void
for_each(void (*f)(struct smtpd_session *))
{
	for (struct smtpd_session *s = idle_list.head; s; s = s->lru_next)
		f(s);
	for (struct smtpd_session *s = txn_list.head; s; s = s->lru_next)
		f(s);
}

static void
shorten(struct smtpd_session *s)
{
	smtpd_session_shorten(s, smtpd_timeout_ms());
}

/* give_back - a session waiting for its client gives back what it can */
static void
give_back(struct smtpd_session *s)
{
	if (!s->need_input || s->state == SMTPD_ST_DELIVER)
		return;
	linebuf_shrink(&s->io.lb);
	if (s->state == SMTPD_ST_DATA)
		(void) smtpd_data_shrink(&s->data);
}

static unsigned
percent_of(size_t part, size_t whole)
{
	return whole == 0 ? 0 : (unsigned) ((double) part * 100.0 / (double) whole);
}

void
smtpd_overload_update(void)
{
	unsigned thr = (unsigned) cfg->smtpd_overload_threshold;
	unsigned sess = percent_of(smtpd_session_count, (size_t) cfg->smtpd_client_limit);
	unsigned mem = percent_of(membudget_used(), membudget_limit());
	uint64_t now = loop != NULL ? ev_now(loop) : 0;

	if (!overloaded && (sess >= thr || mem >= thr)) {
		overloaded = true;
		overload_start = now;
		evicted = 0;
		log_warn("overload: %u sessions of smtpd_client_limit %lld, %zu KiB "
			 "of smtpd_memory_budget %zu KiB: timeouts are %llds "
			 "(smtpd_overload_timeout) until it passes",
			 smtpd_session_count, cfg->smtpd_client_limit,
			 membudget_used() / 1024, membudget_limit() / 1024,
			 (long long) (smtpd_timeout_ms() / 1000));
		for_each(shorten);
	} else if (overloaded && sess + HYSTERESIS < thr && mem + HYSTERESIS < thr) {
		overloaded = false;
		log_info("overload over after %llus: %u sessions, %zu KiB; %u "
			 "idle session%s closed to make room",
			 (unsigned long long) ((now - overload_start) / 1000),
			 smtpd_session_count, membudget_used() / 1024, evicted,
			 evicted == 1 ? "" : "s");
	}
}

bool
smtpd_overload_full(void)
{
	size_t	lim = membudget_limit();

	/* Floors only: large buffers give way, sessions' floors do not. */
	return smtpd_session_count >= (unsigned) cfg->smtpd_client_limit
	    || (lim > 0 && membudget_floors() + SMTPD_SESSION_COST > lim);
}

/* victim - the session that has shown the least progress, or NULL */
static struct smtpd_session *
victim(uint64_t now)
{
	struct smtpd_session *s;

	/* Those that entered a transaction since their last progress move. */
	while ((s = idle_list.head) != NULL && in_txn(s)) {
		lru_unlink(s);
		lru_append(s);
	}
	if (s != NULL)
		return s;
	s = txn_list.head;
	if (s != NULL && s->state != SMTPD_ST_DELIVER
	    && now - s->progress_ms >= cfg->smtpd_overload_timeout * 1000)
		return s;
	return NULL;
}

bool
smtpd_overload_make_room(const char *newcomer)
{
	uint64_t now = ev_now(loop);
	struct smtpd_session *s = victim(now);

	if (s == NULL)
		return false;
	evicted++;
	smtpd_log(s, "warning: overload: closing the session of %s[%s] after %s, "
		  "no progress for %llus%s, to make room for %s "
		  "(smtpd_client_limit %lld)", s->name, s->addr, s->where,
		  (unsigned long long) ((now - s->progress_ms) / 1000),
		  in_txn(s) ? "" : ", no MAIL", newcomer, cfg->smtpd_client_limit);
	smtpd_session_refuse(s, 421, "4.7.0", "%s Error: too many sessions, closing "
			     "an idle one", cfg->myhostname);
	return true;
}

static void
on_tick(struct ev_loop *l, struct ev_timer *t)
{
	smtpd_overload_update();
	if (membudget_pressure())
		for_each(give_back);
	(void) membudget_trim();
	smtpd_logsum_expire(ev_now(l));
	ev_timer_start(l, t, TICK_MS);
}

void
smtpd_overload_init(struct ev_loop *l)
{
	loop = l;
	membudget_init((size_t) cfg->smtpd_memory_budget);
	membudget_set_pressure((unsigned) cfg->smtpd_overload_threshold);
	ev_timer_init(&tick, on_tick, NULL);
	ev_timer_start(l, &tick, TICK_MS);
}
