/*
 * NAME
 *	anvil.h - the anvil service's counting, for anvil.c and the tests
 * SYNOPSIS
 *	#include "anvil.h"
 *
 *	anvil_count_init(unit_ms, ANVIL_KEYS_MAX, ANVIL_RATE_KEYS);
 *	struct anvil_owner *o = anvil_owner_new();	// a client connected
 *	r = anvil_handle(o, &req, &reply, why, sizeof(why));
 *	anvil_owner_free(o);		// it went: its sessions are forgotten
 *	n = anvil_sessions("192.0.2.7");	// the count, for tests
 *	anvil_count_end();
 * DESCRIPTION
 *	anvil_handle() answers one ANVIL_REQ (lib/svc/anvil_clnt.h) from the
 *	client o: it checks the whole request first (type, records,
 *	bounds, operations) and returns -1 with why for a bad one (the
 *	caller drops the client, which forgets its sessions); otherwise
 *	it applies the operations in order, builds the ANVIL_REP in reply
 *	(initialised here) and returns 0.
 *
 *	Sessions are counted per key (an address or a network, as the
 *	client sends them) in all and per owner, so that the sessions of
 *	a client that goes away (an smtpd that exits or dies) leave the
 *	counts with it.  A DISCONNECT of a key the owner holds no session
 *	of changes nothing.  At most max_keys keys hold sessions, in all
 *	and per owner; an operation that would need one more is refused
 *	(status ANVIL_STAT_FULL).  Keys at zero are removed.
 *
 *	Events (connections, MAIL, RCPT, AUTH failures) are counted per
 *	key and unit_ms (lib/util/ratetab.h: a unit begins at a key's first
 *	event after the last one ended; at most rate_keys keys of
 *	addresses and as many of networks, the earliest unit making room).
 */
#ifndef POSTERN_ANVIL_H
#define POSTERN_ANVIL_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

#define ANVIL_KEYS_MAX		(1 << 18)	/* keys with sessions */
#define ANVIL_RATE_KEYS		(1 << 15)	/* addresses (and networks) with events */

struct anvil_owner;

void	anvil_count_init(uint64_t unit_ms, size_t max_keys, size_t rate_keys);
void	anvil_count_end(void);
struct anvil_owner *anvil_owner_new(void);
void	anvil_owner_free(struct anvil_owner *o);
int	anvil_handle(struct anvil_owner *o, struct ipc_in *req,
		     struct ipc_msg *reply, char *why, size_t whylen);
uint64_t anvil_sessions(const char *key);
size_t	anvil_keys(void);

#endif
