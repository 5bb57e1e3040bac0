/*
 * fake_lookup.h - an asynchronous stand-in for the lookup service in
 * smtpd's suites.
 *
 *	static int answer(const char *param, const char *address) { ... }
 *	fake_lookup_install(answer);	// after smtpd_loop is set
 *
 * smtpd's lookups (smtpd_lookup, smtpd_lookup_cancel) then ask
 * answer() (1 found, 0 not found, -1 failure) and deliver its result
 * from smtpd_loop on the next round, as the lookup client does; a
 * cancelled lookup never answers.  fake_lookups counts the lookups.
 */
#ifndef POSTERN_FAKE_LOOKUP_H
#define POSTERN_FAKE_LOOKUP_H

#include <stdlib.h>

#include "event.h"
#include "../../smtpd/smtpd.h"

typedef int fake_lookup_answer_fn(const char *param, const char *address);

static fake_lookup_answer_fn *fake_answer;
static int fake_lookups;

struct fake_call {
	struct ev_timer t;
	int	r;
	lookup_done_fn *done;
	void   *ctx;
};

static void
fake_fire(struct ev_loop *loop, struct ev_timer *t)
{
	struct fake_call *c = t->data;
	lookup_done_fn *done = c->done;
	void   *ctx = c->ctx;
	int	r = c->r;

	(void) loop;
	free(c);
	done(ctx, r, r > 0 ? "found" : "", r < 0 ? "fake lookup failure" : "");
}

static void *
fake_start(const char *param, const char *address, lookup_done_fn *done, void *ctx)
{
	struct fake_call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	fake_lookups++;
	c->r = fake_answer(param, address);
	c->done = done;
	c->ctx = ctx;
	ev_timer_init(&c->t, fake_fire, c);
	ev_timer_start(smtpd_loop, &c->t, 0);
	return c;
}

static void
fake_cancel(void *h)
{
	struct fake_call *c = h;

	ev_timer_stop(smtpd_loop, &c->t);
	free(c);
}

static inline void
fake_lookup_install(fake_lookup_answer_fn *fn)
{
	fake_answer = fn;
	fake_lookups = 0;
	smtpd_lookup = fake_start;
	smtpd_lookup_cancel = fake_cancel;
}

#endif
