/*
 * NAME
 *	addr - RFC 5321 envelope addresses: parsing, quoting, checks
 * SYNOPSIS
 *	#include "addr.h"
 *
 *	struct addr a;
 *	struct addr_error e;
 *	size_t	used;
 *
 *	// arg points after "MAIL FROM:", n bytes, no CR LF
 *	if (addr_parse_path(arg, n, ADDR_ALLOW_NULL | ADDR_SENDER, &a,
 *	    &used, &e) < 0)
 *		reply(e.code, e.dsn, "%s", e.text);	// 501 5.1.7 ...
 *	// a.addr: "john@example.com", "\"john doe\"@example.com", ""
 *	// arg + used: " SIZE=1000 BODY=8BITMIME" (ESMTP parameters)
 *
 *	addr_quote_local(raw, rawlen, out, outsz);	// john doe -> "john doe"
 *	addr_unquote_local(q, qlen, out, outsz);	// "john doe" -> john doe
 *	addr_domain_valid("example.com", false);
 *	addr_literal_valid("[IPv6:2001:db8::1]", 18);
 *	addr_split("\"a b\"@x.org", local, sizeof(local), dom, sizeof(dom));
 *	ext = addr_strip_extension(local, "+", &delim);	// user+ext
 * DESCRIPTION
 *	addr_parse_path() parses the path of a MAIL FROM or RCPT TO
 *	command (RFC 5321 section 4.1.2), s[0..n), which may go on with
 *	ESMTP parameters: leading spaces are skipped (many clients send
 *	"MAIL FROM: <a@b>"; a server that wants strict RFC 5321 checks
 *	s[0] == '<' itself), then
 *	  <local@domain>	local part a dot-atom or a quoted string,
 *				domain a name or an address literal
 *	  <@r1,@r2:local@domain> a source route: checked for syntax,
 *				then dropped (RFC 5321 section 4.1.2,
 *				appendix C)
 *	  <>			the null path, with ADDR_ALLOW_NULL only
 *	  <local>		no domain, with ADDR_ALLOW_NO_DOMAIN only
 *				(RCPT TO:<postmaster>; the caller decides
 *				which local parts it takes this way)
 *	  local@domain		no angle brackets, with ADDR_ALLOW_NO_BRACKETS
 *				only (the sendmail command line); the
 *				address ends at a space or the end, and an
 *				empty address is the null path
 *	After the closing '>' comes the end of the input or a space;
 *	*consumed (when consumed is not NULL) is set to the offset of
 *	the first byte after the path, where the ESMTP parameters start.
 *
 *	Syntax details:
 *	  - dot-atom local part: atext (RFC 5322 section 3.2.3) separated
 *	    by single dots, no dot first or last;
 *	  - quoted local part: "..." with quoted pairs \x for x in
 *	    32..126; the empty quoted string "" is refused (an empty
 *	    local part would mean "no local part" to too many programs);
 *	  - domain: labels of letters, digits, hyphens and underscores
 *	    separated by single dots; no hyphen first or last in a label;
 *	    an ASCII label is at most 63 octets; the last label is not all
 *	    digits (RFC 3696 section 2: no top-level domain is numeric,
 *	    so "a@192.0.2.1" is a mistake for "a@[192.0.2.1]").  The
 *	    underscore is outside RFC 5321's syntax but real host names
 *	    carry it and it is harmless here; Postfix and sendmail take it
 *	    too.  A trailing dot ("example.com.") is refused;
 *	  - address literal: [dotted quad] or [IPv6:address] ("IPv6" in
 *	    any case), checked with inet_pton(); other tagged literals
 *	    ([tag:text]) are refused as unsupported;
 *	  - with ADDR_SMTPUTF8, the local part and domain may hold UTF-8
 *	    (RFC 6531); it must be well-formed (utf8.h: no overlongs, no
 *	    surrogates, nothing cut short) and must not encode a C1
 *	    control (U+0080..U+009F).  Without ADDR_SMTPUTF8 any octet
 *	    above 127 is refused with 553 5.6.7;
 *	  - control characters (< 0x20, 0x7f) and NUL are refused
 *	    everywhere, quoted or not.
 *	Limits (RFC 5321 section 4.5.3.1): local part ADDR_LOCAL_MAX (64)
 *	octets as written (with its quotes), domain ADDR_DOMAIN_MAX (255),
 *	path ADDR_PATH_MAX (256) from '<' to '>' inclusive, route
 *	included (without brackets: the address length + 2).
 *
 *	On success (return 0) *out holds:
 *	  addr		the canonical address: the local part as a
 *			dot-atom when it is one, else quoted minimally
 *			(only '"' and '\' escaped); '@'; the domain with
 *			ASCII letters lowercased, or the address literal
 *			as written.  "" for the null path, the local part
 *			alone when there is no domain.
 *	  local		the local part unquoted (what a user lookup
 *			wants): "john doe" for "\"john doe\""
 *	  domain	the canonical domain, "" when there is none
 *	  is_null, has_domain, has_utf8, is_literal
 *	On failure (return -1) *out is cleared and *e says why:
 *	  code	501 for bad syntax or length, 553 for a well-formed path
 *		that is not allowed here (null, no domain, non-ASCII
 *		without SMTPUTF8)
 *	  dsn	"5.1.7" (bad sender's address syntax) with ADDR_SENDER,
 *		else "5.1.3" (bad destination address syntax); "5.6.7"
 *		for non-ASCII without SMTPUTF8 (RFC 6531 section 3.7.4.1)
 *	  text	a short reason, "malformed address: unbalanced quote",
 *		"local part too long (over 64 octets)"
 *	  pos	offset in s of the byte where the problem was seen
 *
 *	addr_quote_local() writes the canonical form of the raw (unquoted)
 *	local part raw[0..n) to out (NUL-terminated): raw itself when it
 *	is a dot-atom, else a quoted string.  UTF-8 is taken as atext
 *	(the caller has decided whether UTF-8 is allowed).  Returns 0, or
 *	-1 when raw is empty, holds a control character or NUL or
 *	malformed UTF-8, or out is too small (at most 2 * n + 3 octets are
 *	needed).
 *
 *	addr_unquote_local() is the inverse: q[0..n) is a local part as
 *	written, a sequence of atoms and quoted strings separated by dots
 *	(the dot-atom and quoted-string forms and RFC 5322's obsolete
 *	mixture "a"."b"); the unquoted text goes to out.  Returns 0, or -1
 *	on bad syntax, control characters, or no room.
 *
 *	addr_domain_valid() checks a domain name (NUL-terminated) as
 *	described above, utf8 allowing UTF-8 labels.
 *	addr_literal_valid() checks an address literal with its brackets.
 *
 *	addr_split() splits a canonical address at its last '@' (a
 *	domain never holds one; a quoted local part may) into the
 *	unquoted local part and the domain; an address without '@'
 *	gives domain "".  Returns 0, or -1 when the local part does not
 *	unquote or an output is too small.
 *
 *	addr_strip_extension() implements recipient_delimiter: the local
 *	part (unquoted, modified in place) is cut at the first character
 *	that is in delimiters, and a pointer to the extension (the text
 *	after that character, in local's storage) is returned; *delim
 *	(when not NULL) receives the delimiter character.  NULL (and
 *	*delim = 0) when nothing was cut: delimiters empty, no delimiter
 *	present, the delimiter first (an empty user name is not a user),
 *	or the local part is postmaster or MAILER-DAEMON, or, when '-' is
 *	a delimiter, owner-* or *-request (mailing list conventions, as
 *	Postfix and sendmail keep them whole).
 * SECURITY
 *	This parser reads bytes from the network.  It walks the input
 *	once, from left to right, with no recursion, and writes only
 *	into the fixed arrays of struct addr, each write checked against
 *	its array; the length limits are checked while copying, not
 *	after.  A path that passes may still hold shell metacharacters
 *	("foo;reboot"@x, "`id`"@x are valid); the canonical form keeps
 *	them quoted, and no code may hand an address to a shell.
 */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_PATH_MAX	256	/* RFC 5321 4.5.3.1.3, with < > */
#define ADDR_LABEL_MAX	63	/* RFC 1035 2.3.4, ASCII labels */

/*
 * The canonical form is never longer than the path as written minus
 * its brackets (dropping a route and unneeded quotes only shrinks it),
 * so ADDR_PATH_MAX bounds it.
 */
#define ADDR_CANON_MAX	ADDR_PATH_MAX

/* addr_parse_path() flags */
#define ADDR_ALLOW_NULL		0x01	/* <> */
#define ADDR_ALLOW_NO_DOMAIN	0x02	/* <postmaster> */
#define ADDR_ALLOW_NO_BRACKETS	0x04	/* sendmail command line */
#define ADDR_SMTPUTF8		0x08	/* RFC 6531 */
#define ADDR_SENDER		0x10	/* errors use 5.1.7, not 5.1.3 */

struct addr {
	char	addr[ADDR_CANON_MAX + 1];	/* canonical, "" if null */
	char	local[ADDR_LOCAL_MAX + 1];	/* unquoted */
	char	domain[ADDR_DOMAIN_MAX + 1];	/* canonical, "" if none */
	bool	is_null;
	bool	has_domain;
	bool	has_utf8;
	bool	is_literal;
};

struct addr_error {
	int	code;		/* 501 or 553 */
	char	dsn[10];	/* "5.1.3", "5.1.7", "5.6.7" */
	char	text[128];	/* reason, no code, no trailing period */
	size_t	pos;		/* offset in the input */
};

int	addr_parse_path(const char *s, size_t n, unsigned flags,
			struct addr *out, size_t *consumed,
			struct addr_error *e);
int	addr_quote_local(const char *raw, size_t n, char *out, size_t outsz);
int	addr_unquote_local(const char *q, size_t n, char *out, size_t outsz);
bool	addr_domain_valid(const char *d, bool utf8);
bool	addr_literal_valid(const char *s, size_t n);
int	addr_split(const char *canonical, char *local, size_t localsz,
		   char *domain, size_t domainsz);
char   *addr_strip_extension(char *local, const char *delimiters, int *delim);

#endif
