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
 *	// Event-driven callers (smtpd) drive the protocol themselves:
 *	struct ipc_msg m;
 *	lookup_req_build(&m, "local_recipient_maps", user);
 *	... ipc_conn_queue(conn, &m, -1) ... ipc_conn_next(conn, &in, NULL) ...
 *	r = lookup_rep_parse(&in, &v);	// 1, 0, -1 as lookup_get()
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
 *
 *	lookup_clnt_error() says why the last call failed (a static
 *	buffer).
 *
 *	Connection: one per process, opened at the first request and kept.
 *	When it fails (the service restarted: EOF, reset, broken pipe)
 *	the request is retried once on a new connection.  Each request
 *	waits at most LOOKUP_TIMEOUT_MS in all (10 s: ipc_timeout, an
 *	hour by default, would stall an SMTP session that long; a local
 *	table lookup takes microseconds, and a service that needs
 *	seconds is broken).  A timed-out connection is closed (a late
 *	reply must never be read as the answer to a later request) and
 *	not retried.  lookup_clnt_close() closes the connection (for
 *	example in a child after fork()).  lookup_clnt_set_path() changes
 *	the socket path (tests).
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

#include "buf.h"
#include "ipc.h"

/* Message types and reply status (docs/INTERNALS.md, "lookup"). */
#define LOOKUP_REQ_GET		0x0101
#define LOOKUP_REP		0x0102
#define LOOKUP_REQ_ADDR		0x0103
#define LOOKUP_STAT_FOUND	0
#define LOOKUP_STAT_NOTFOUND	1
#define LOOKUP_STAT_TEMP	2

#define LOOKUP_SOCKET		"private/lookup"
#define LOOKUP_TIMEOUT_MS	10000
#define LOOKUP_REQ_MAX		(2 * 1024 + 256)	/* request payload */
#define LOOKUP_REP_MAX		(64 * 1024 + 256)	/* reply payload */

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

void	lookup_req_build(struct ipc_msg *m, const char *param, const char *key);
void	lookup_addr_req_build(struct ipc_msg *m, const char *param,
			      const char *address);
int	lookup_rep_parse(struct ipc_in *in, struct buf *value);

#endif
