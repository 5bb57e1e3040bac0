/*
 * NAME
 *	netmatch - client address lists (mynetworks and the like)
 * SYNOPSIS
 *	#include "netmatch.h"
 *
 *	char err[256];
 *	struct netlist *nl = netlist_parse(cfg->mynetworks, err, sizeof(err));
 *	if (nl == NULL)
 *		log_fatal("mynetworks: %s", err);
 *	if (netlist_match(nl, (struct sockaddr *) &peer)) ... trusted ...
 *	netlist_free(nl);
 * DESCRIPTION
 *	netlist_parse() reads a Postfix-style list: entries separated by
 *	commas and/or white space, each one of
 *
 *	    10.1.2.3		one IPv4 address (a /32)
 *	    127.0.0.0/8		an IPv4 network, prefix 0 to 32
 *	    [::1]		one IPv6 address (a /128)
 *	    [2001:db8::]/32	an IPv6 network, prefix 0 to 128
 *	    !entry		an exclusion: a client it matches is not
 *				in the list (the first matching entry wins,
 *				so "!10.0.0.1, 10.0.0.0/8" excludes one host)
 *
 *	An IPv4 address in brackets is accepted as IPv4.  An IPv6 entry
 *	in ::ffff:0:0/96 (v4-mapped) with a prefix of 96 or more is
 *	stored as the IPv4 network it stands for.  Address bits set past
 *	the prefix ("10.1.2.3/8") are cleared with a warning, as Postfix
 *	does.  Anything else (a bad address, a prefix out of range, an
 *	IPv6 address without brackets, a file or table name, more than
 *	NETLIST_MAX_ENTRIES entries, an entry longer than
 *	NETLIST_ENTRY_MAX) makes netlist_parse() return NULL with a
 *	message naming the entry in err (errlen bytes; err may be NULL).
 *	An empty list is valid and matches nothing.
 *
 *	netlist_match() tells whether a socket address is in the list.
 *	A v4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack socket
 *	reports IPv4 clients) is matched as the IPv4 address a.b.c.d.
 *	Other address families (AF_UNIX) never match.
 *	netlist_match_str() does the same for an address in text
 *	("192.0.2.1", "2001:db8::1", "[2001:db8::1]", a scope suffix
 *	"%eth0" ignored); text that is not an address never matches.
 *
 *	netmatch_network() writes the network an address is in, with the
 *	given prefix lengths, as text: "192.0.2.7" with v4_prefix 24 is
 *	"192.0.2.0/24", "2001:db8:1:2:3::9" with v6_prefix 64 is
 *	"2001:db8:1:2::/64" (a v4-mapped address counts as IPv4); it
 *	returns 0, or -1 when addr is no address (or out is too small).
 *	Per-network counts (anvil, smtpd's log summaries) use it.
 *
 *	netlist_count() returns the number of entries.  netlist_free()
 *	releases a list (NULL is fine).
 */
#ifndef POSTERN_NETMATCH_H
#define POSTERN_NETMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define NETLIST_MAX_ENTRIES	10000
#define NETLIST_ENTRY_MAX	100

struct netlist;

struct netlist *netlist_parse(const char *list, char *err, size_t errlen);
bool	netlist_match(const struct netlist *nl, const struct sockaddr *sa);
bool	netlist_match_str(const struct netlist *nl, const char *addr);
size_t	netlist_count(const struct netlist *nl);
int	netmatch_network(const char *addr, int v4_prefix, int v6_prefix,
			 char *out, size_t outlen);
void	netlist_free(struct netlist *nl);

#endif
