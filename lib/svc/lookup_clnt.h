/*
 * NAME
 *	lookup_clnt - table and address lookups through the lookup service
 * SYNOPSIS
 *	#include "lookup_clnt.h"
 *
 *	struct buf v;
 *	buf_init(&v, TABLE_VALUE_MAX);
 *	switch (lookup_get("alias_maps", "postmaster", &v)) {
 *	case 1:  ... found: buf_str(&v) ...
 *	case 0:  ... not found ...
 *	default: ... temporary failure (lookup_clnt_error()): defer ...
 *	}
 *	r = lookup_addr("virtual_alias_maps", "john+x@example.com", &v);
 *
 *	lookup_clnt_direct(true);	// tests, smtpd -s: no daemon needed
 *
 *	// Event-driven callers (smtpd, the lookup service's socket maps):
 *	lookup_clnt_attach(loop);		// once
 *	struct lookup_call *c = lookup_addr_start("local_recipient_maps",
 *		"bob@example.com", 0, done, ctx);
 *	// done(ctx, r, value, why) runs later, from the loop: r as above
 *	lookup_cancel(c);			// or give up first
 * DESCRIPTION
 *	Chrooted daemons cannot open tables (nor the user database)
 *	themselves; they ask the lookup service over private/lookup
 *	(relative to the queue directory, which is every daemon's
 *	working directory inside or outside the chroot).  Wire protocol:
 *	docs/INTERNALS.md, "lookup".  A request names a main.cf parameter
 *	(lookup_maps.h lists the served ones), never a table.
 *
 *	lookup_get() returns 1 (found: value holds the result), 0 (not
 *	found) or -1 (temporary failure: the service is unreachable, too
 *	slow, answered "temporary error", or the result is longer than
 *	value->max).  A -1 must never be taken for "not found".  When
 *	param's value in main.cf is empty there are no tables and the
 *	answer is 0 at once, without a round trip.
 *
 *	lookup_addr() does what Postfix does for virtual and canonical
 *	tables with an RFC 5321 address in canonical form (addr.h:
 *	"local@domain", or "local" without domain).  With
 *	recipient_delimiter set and an extension present (user+ext) it
 *	tries, in order:
 *	  1. user+ext@domain		2. user@domain
 *	  3. user+ext, then user	(only when domain is empty or listed
 *					in mydestination)
 *	  4. @domain			(only when there is a domain)
 *	and stops at the first answer (found or failed).  The result is
 *	rewritten as Postfix does: a result whose first address is
 *	"@otherdomain" becomes "local@otherdomain" (local part as given,
 *	extension included); when the match was found without the
 *	extension (2, user in 3, 4 excepted), the extension is appended
 *	to the local part of every address in the result (Postfix's
 *	propagate_unmatched_extensions default), "a@x" becoming
 *	"a+ext@x".  A rewritten result is the addresses of the result in
 *	canonical form, separated by ", ".  The local part is not split
 *	when it is quoted, or when addr_strip_extension() keeps it whole
 *	(postmaster, MAILER-DAEMON, owner-*, *-request).
 *
 *	lookup_addr() costs one round trip however many keys it tries:
 *	it sends one LOOKUP_REQ_ADDR and the service runs the same key
 *	sequence and rewriting (lookup_addr_keys()) against its tables,
 *	checking each table file for a newer version once per request.
 *	lookup_addr_keys() is that sequence with the table lookups done
 *	by get(ctx, param, key, value) (1, 0, -1 as lookup_get()): the
 *	service and direct mode use it; it never looks at the connection.
 *	It uses cfg's recipient_delimiter and mydestination.
 *	lookup_addr_plan() and lookup_addr_result() are its two halves,
 *	for a caller that asks the tables itself (the lookup service's
 *	asynchronous requests): the keys to try in order (p->keys[0 ..
 *	p->n), none for the null address or one longer than
 *	LOOKUP_ADDR_MAX), then the rewriting of the result found with
 *	key number which.
 *
 *	lookup_clnt_error() says why the last call failed (a static
 *	buffer).
 *
 *	Asynchronous calls (lookup_clnt_attach() names the loop, once,
 *	before the first): lookup_get_start() and lookup_addr_start() do
 *	what lookup_get() and lookup_addr() do without blocking and
 *	return the call; done(ctx, r, value, why) runs exactly once, from
 *	the loop, never from inside the start: r is 1 (value is the
 *	result), 0 or -1 (why says why), value and why valid during the
 *	callback only.  lookup_table_start() asks one table of a
 *	restriction list (param, the list's name; spec, a table a
 *	check_*_access of it names) for keys[0 .. nkeys) in order (at most
 *	LOOKUP_TABLE_KEYS): the first key found answers.  timeout_ms bounds the whole call (0:
 *	LOOKUP_TIMEOUT_MS); past it r is -1.  lookup_cancel() abandons a
 *	call before done ran (done never runs).  An answer known without
 *	a round trip (no tables, direct mode) comes on the next loop
 *	round.  In direct mode the tables are read in this process, so
 *	a slow socket map would block the loop there: direct mode is for
 *	tests and smtpd -s.
 *
 *	Connections (lib/ipc/clnt_pool.h): blocking calls keep one connection
 *	per process; asynchronous calls share a pool of at most
 *	LOOKUP_POOL_CONNS connections, one call in flight on each (a
 *	slow table holds up only the calls behind it when all are busy),
 *	of which LOOKUP_POOL_IDLE are kept idle for LOOKUP_POOL_IDLE_MS.
 *	A request that meets a kept connection the service closed (it
 *	restarted: EOF before any byte of an answer, reset, broken pipe)
 *	is sent once more on a new one.  Each request waits at most
 *	LOOKUP_TIMEOUT_MS in all (10 s: ipc_timeout, an hour by default,
 *	would stall an SMTP session that long; a local table lookup takes
 *	microseconds, and a service that needs seconds is broken).  A
 *	timed-out connection is closed (a late reply must never be read
 *	as the answer to a later request) and the request not resent.
 *	lookup_clnt_close() closes the blocking connection and the idle
 *	ones (for example in a child after fork()).
 *	lookup_clnt_set_path() changes the socket path (tests; no call
 *	may be in flight).
 *
 *	Direct mode: lookup_clnt_direct(true) makes the same calls open
 *	the tables in this process, read-only, from cfg (opened at the
 *	first use, reopened when changed like the service does).  For
 *	tests and for processes that run outside a chroot without the
 *	service (smtpd -s).  lookup_clnt_direct(false) closes them.
 *
 *	lookup_req_build() initialises m as a LOOKUP_REQ_GET message
 *	(the caller frees it); lookup_addr_req_build() as a
 *	LOOKUP_REQ_ADDR message.  lookup_rep_parse() checks a received
 *	LOOKUP_REP and copies the value: 1, 0, -1 as lookup_get(), or
 *	-2 when the reply is malformed (a protocol error: drop the
 *	connection).
 * SECURITY
 *	The reply is bounded (LOOKUP_REP_MAX bytes) and checked record by
 *	record; a value is copied only into value, within its bound.
 */
#ifndef POSTERN_LOOKUP_CLNT_H
#define POSTERN_LOOKUP_CLNT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ipc.h"

/* Message types and reply status (docs/INTERNALS.md, "lookup"). */
#define LOOKUP_REQ_GET		0x0101
#define LOOKUP_REP		0x0102
#define LOOKUP_REQ_ADDR		0x0103
#define LOOKUP_REQ_TABLE	0x0104
#define LOOKUP_TABLE_KEYS	16	/* keys in one TABLE request */
#define LOOKUP_STAT_FOUND	0
#define LOOKUP_STAT_NOTFOUND	1
#define LOOKUP_STAT_TEMP	2

#define LOOKUP_SOCKET		"private/lookup"
#define LOOKUP_TIMEOUT_MS	10000
#define LOOKUP_REQ_MAX		(2 * 1024 + 256)	/* request payload */
#define LOOKUP_REP_MAX		(64 * 1024 + 256)	/* reply payload */
#define LOOKUP_POOL_CONNS	16	/* asynchronous calls in flight */
#define LOOKUP_POOL_IDLE	4	/* idle connections kept ... */
#define LOOKUP_POOL_IDLE_MS	60000	/* ... this long */

int	lookup_get(const char *param, const char *key, struct buf *value);
int	lookup_addr(const char *param, const char *address, struct buf *value);
const char *lookup_clnt_error(void);
void	lookup_clnt_direct(bool on);
void	lookup_clnt_close(void);
void	lookup_clnt_set_path(const char *path);

typedef int lookup_key_fn(void *ctx, const char *param, const char *key,
			  struct buf *value);
int	lookup_addr_keys(const char *param, const char *address,
			 struct buf *value, lookup_key_fn *get, void *ctx);

#define LOOKUP_ADDR_MAX		1000	/* longer addresses are in no table */
#define LOOKUP_ADDR_KEYS	5

struct lookup_addr_plan {
	char	keys[LOOKUP_ADDR_KEYS][LOOKUP_ADDR_MAX + 2];
	bool	stripped[LOOKUP_ADDR_KEYS];
	size_t	n;
	char	local[LOOKUP_ADDR_MAX + 1];
	char	ext[LOOKUP_ADDR_MAX + 2];
	bool	has_ext;
};

int	lookup_addr_plan(const char *address, struct lookup_addr_plan *p);
int	lookup_addr_result(const char *param, const char *address,
			   const struct lookup_addr_plan *p, size_t which,
			   struct buf *value);

void	lookup_req_build(struct ipc_msg *m, const char *param, const char *key);
void	lookup_addr_req_build(struct ipc_msg *m, const char *param,
			      const char *address);
int	lookup_rep_parse(struct ipc_in *in, struct buf *value);

struct ev_loop;
struct lookup_call;
typedef void lookup_done_fn(void *ctx, int r, const char *value,
			    const char *why);
void	lookup_clnt_attach(struct ev_loop *loop);
struct lookup_call *lookup_get_start(const char *param, const char *key,
				     uint64_t timeout_ms, lookup_done_fn *done,
				     void *ctx);
struct lookup_call *lookup_addr_start(const char *param, const char *address,
				      uint64_t timeout_ms, lookup_done_fn *done,
				      void *ctx);
struct lookup_call *lookup_table_start(const char *param, const char *spec,
				       const char *const *keys, size_t nkeys,
				       uint64_t timeout_ms, lookup_done_fn *done,
				       void *ctx);
void	lookup_cancel(struct lookup_call *c);

#endif
