/*
 * NAME
 *	hdr_addr - addresses from To, Cc, Bcc, From and Delivered-To headers
 * SYNOPSIS
 *	#include "hdr_addr.h"
 *
 *	static int
 *	add_rcpt(void *ctx, const char *addr, unsigned aflags)
 *	{
 *		if (aflags & HDR_ADDR_F_NO_DOMAIN)
 *			... append "@" myorigin ...
 *		return 0;		// non-zero stops the walk
 *	}
 *
 *	struct hdr_addr_stats st;
 *	hdr_addr_walk(h.value, h.value_len, 0, 1000, add_rcpt, ctx, &st);
 *	if (st.skipped > 0)
 *		log_warn("%s: %zu malformed addresses in To: ignored", qid,
 *		    st.skipped);
 *
 *	char  **list;
 *	size_t	n = hdr_addr_list(value, len, 0, 100, &list, &st);
 *	... list[0 .. n) ...
 *	hdr_addr_list_free(list, n);
 * DESCRIPTION
 *	hdr_addr_walk() parses value[0..n), the value of an address
 *	header (RFC 5322 section 3.4 address-list; folded or unfolded,
 *	CR and LF count as white space), and calls fn once per address
 *	found, in order, with its canonical form as lib/mail/addr.c makes it:
 *	the local part unquoted when it is a dot-atom, else quoted
 *	minimally (addr_quote_local()), '@', the domain with ASCII
 *	letters lowercased, or the domain literal as written.
 *
 *	What is understood:
 *	  - addr-spec "user@example.com", name-addr "Name <user@ex.com>",
 *	    display names made of atoms, quoted strings and dots;
 *	  - comments "(...)", nested, with quoted pairs, anywhere white
 *	    space may be, ignored;
 *	  - groups "Friends: a@x, b@y;" (their members are returned) and
 *	    "undisclosed-recipients:;" (nothing returned); a missing ';'
 *	    at the end is tolerated;
 *	  - quoted local parts "\"john doe\"@example.com"; the obsolete
 *	    forms word *("." word) ("a"."b"@x) and dots where a dot-atom
 *	    forbids them ("john..doe@x"), which are returned quoted;
 *	  - obsolete routes "<@a,@b:user@x>" (the route is dropped);
 *	  - domain literals "[192.0.2.1]", "[IPv6:2001:db8::1]";
 *	  - empty list elements ("a@x,,b@y") are ignored;
 *	  - a bare "user" without domain is returned as it is with
 *	    HDR_ADDR_F_NO_DOMAIN set: the caller appends @myorigin, as
 *	    Postfix does (so "Smith, John <j@x>" gives "Smith" and
 *	    "j@x", as it does there).
 *	aflags also carries HDR_ADDR_F_LITERAL (domain literal) and
 *	HDR_ADDR_F_UTF8 (non-ASCII local part or domain).
 *
 *	A malformed element (unbalanced quote, '<' or '(', comments
 *	nested deeper than HDR_ADDR_DEPTH_MAX, junk after '>', a bad
 *	domain, a control character in an address, an address longer
 *	than HDR_ADDR_MAX octets, UTF-8 without HDR_ADDR_UTF8 or
 *	malformed UTF-8, "<>") is skipped and counted in st->skipped;
 *	parsing goes on at the next ',' (or ';' ending a group).
 *	Display names and comments may hold any octets but NUL and other
 *	controls; they are not returned.
 *
 *	At most max addresses are passed to fn; further well-formed ones
 *	are counted in st->dropped.  st->found counts those passed to fn.
 *	The walk returns 0, or the first non-zero value fn returned
 *	(which stops it).  st may be NULL.
 *
 *	hdr_addr_list() collects the addresses (without flags) into a new
 *	array of xstrdup()'d strings, *out (NULL when there are none),
 *	and returns their number, at most max.  hdr_addr_list_free()
 *	frees such an array.
 *
 *	flags: HDR_ADDR_UTF8 takes UTF-8 in addresses (RFC 6532 headers).
 * SECURITY
 *	Header values come from anyone.  The parser is iterative (comment
 *	nesting is a counter, never recursion), reads value[0..n) only,
 *	and keeps one element's address in a fixed array: text that would
 *	not fit marks the element malformed instead of being stored.
 *	Every address passed to fn has passed addr_quote_local() and the
 *	domain checks of addr.c, so it holds no control character, and
 *	its metacharacters are inside quotes; no address may reach a
 *	shell anyway.
 */
#ifndef POSTERN_HDR_ADDR_H
#define POSTERN_HDR_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define HDR_ADDR_MAX		1024	/* one address, before and after
					 * canonicalisation */
#define HDR_ADDR_DEPTH_MAX	32	/* comment nesting */

/* hdr_addr_walk() flags */
#define HDR_ADDR_UTF8		0x1

/* per-address flags passed to the callback */
#define HDR_ADDR_F_NO_DOMAIN	0x1
#define HDR_ADDR_F_LITERAL	0x2
#define HDR_ADDR_F_UTF8		0x4

typedef int hdr_addr_fn(void *ctx, const char *addr, unsigned aflags);

struct hdr_addr_stats {
	size_t	found;		/* passed to the callback */
	size_t	skipped;	/* malformed elements */
	size_t	dropped;	/* well-formed, beyond max */
};

int	hdr_addr_walk(const char *value, size_t n, unsigned flags, size_t max,
		      hdr_addr_fn *fn, void *ctx, struct hdr_addr_stats *st);
size_t	hdr_addr_list(const char *value, size_t n, unsigned flags, size_t max,
		      char ***out, struct hdr_addr_stats *st);
void	hdr_addr_list_free(char **list, size_t n);

#endif
