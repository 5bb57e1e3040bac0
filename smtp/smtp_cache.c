/*
 * NAME
 *	smtp_cache - idle connections kept for the next message
 * SYNOPSIS
 *	#include "smtp_session.h"
 *
 *	smtp_cache_put(s);		// after a transaction, when reusable
 *	s = smtp_cache_take(key);	// NULL: open a new connection
 * DESCRIPTION
 *	Postfix's connection cache (scache), inside the one process: a
 *	connection whose transaction went well waits here, idle, for
 *	smtp_connection_cache_time_limit, and the next delivery to the
 *	same destination (the key: transport, next hop, TLS level, SASL
 *	user) takes it instead of resolving, connecting, greeting, EHLO,
 *	STARTTLS and AUTH again.  A connection is not cached once it is
 *	older than smtp_connection_reuse_time_limit or has carried
 *	smtp_connection_reuse_count_limit messages.  An idle connection
 *	that the server closes, or that says anything, is dropped at
 *	once; when its time is up it gets QUIT.
 *
 *	smtp_cache_take() returns the most recently used connection for
 *	key (LIFO: the warmest).  smtp_cache_close_all() sends QUIT on
 *	every idle connection (SIGTERM).  smtp_cache_forget() is the
 *	session's own way out (when it closes).
 */
#include <string.h>

#include "smtp_session.h"
#include "str.h"

#define BUCKETS	256

static struct smtp_session *buckets[BUCKETS];
static size_t count;

static unsigned
hash(const char *key)
{
	unsigned h = 5381;

	for (; *key; key++)
		h = h * 33 + (unsigned char) *key;
	return h % BUCKETS;
}

void
smtp_cache_forget(struct smtp_session *s)
{
	struct smtp_session **head;

	if (!s->cached)
		return;
	head = &buckets[hash(s->conf.key)];
	if (s->cprev)
		s->cprev->cnext = s->cnext;
	else
		*head = s->cnext;
	if (s->cnext)
		s->cnext->cprev = s->cprev;
	s->cnext = s->cprev = NULL;
	s->cached = false;
	count--;
}

void
smtp_cache_put(struct smtp_session *s)
{
	struct smtp_session **head;

	if (!smtp_session_reusable(s)) {
		smtp_session_quit(s);
		return;
	}
	head = &buckets[hash(s->conf.key)];
	s->cprev = NULL;
	s->cnext = *head;
	if (*head)
		(*head)->cprev = s;
	*head = s;
	s->cached = true;
	count++;
	smtp_session_idle(s);
}

struct smtp_session *
smtp_cache_take(const char *key)
{
	for (struct smtp_session *s = buckets[hash(key)]; s; s = s->cnext) {
		if (!str_eq(s->conf.key, key))
			continue;
		smtp_cache_forget(s);
		if (!smtp_session_reusable(s)) {
			smtp_session_quit(s);
			return smtp_cache_take(key);
		}
		return s;
	}
	return NULL;
}

void
smtp_cache_expired(struct smtp_session *s)
{
	smtp_cache_forget(s);
	smtp_session_quit(s);
}

void
smtp_cache_close_all(void)
{
	for (size_t i = 0; i < BUCKETS; i++)
		while (buckets[i] != NULL)
			smtp_cache_expired(buckets[i]);
}

size_t
smtp_cache_count(void)
{
	return count;
}
