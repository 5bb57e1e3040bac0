/*
 * NAME
 *	addr - RFC 5321 envelope addresses: parsing, quoting, checks
 * DESCRIPTION
 *	See addr.h.  The parser is a single left-to-right scan with an
 *	index into the caller's bytes; every store goes through put(),
 *	which checks the destination array, and every length limit is
 *	tested before the byte that would exceed it is stored.
 *
 *	Sendmail's crackaddr() and prescan() overflowed because they
 *	tracked buffer room in several variables that a crafted
 *	address could drive apart.  Here there is one rule: a byte is
 *	stored only by put(), and put() fails when the array is full.
 * SECURITY
 *	Nothing here trusts the input to be NUL-terminated, short, or
 *	well-formed; an embedded NUL is a control character like any
 *	other and is refused.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "str.h"
#include "utf8.h"

enum fail_kind {
	F_SYNTAX,		/* 501, 5.1.3 or 5.1.7 */
	F_POLICY,		/* 553, 5.1.3 or 5.1.7 */
	F_NONASCII,		/* 553, 5.6.7 */
};

struct parser {
	const char *s;
	size_t	n;
	size_t	i;
	unsigned flags;
	bool	utf8;		/* saw UTF-8 */
	struct addr_error *e;	/* NULL: fail silently */
};

/* fail - record why the input is refused; returns -1 */
static int
fail(struct parser *p, size_t pos, enum fail_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail(struct parser *p, size_t pos, enum fail_kind kind, const char *fmt, ...)
{
	struct addr_error *e = p->e;
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = kind == F_SYNTAX ? 501 : 553;
	if (kind == F_NONASCII)
		str_copy(e->dsn, sizeof(e->dsn), "5.6.7");
	else
		str_copy(e->dsn, sizeof(e->dsn),
			 (p->flags & ADDR_SENDER) ? "5.1.7" : "5.1.3");
	va_start(ap, fmt);
	(void) vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	e->pos = pos;
	return -1;
}

/* cdesc - describe byte c for an error text, without echoing junk */
static const char *
cdesc(char *buf, size_t size, unsigned char c)
{
	if (c > 0x20 && c < 0x7f)
		str_fmt(buf, size, "'%c'", c);
	else if (c == ' ')
		str_copy(buf, size, "space");
	else
		str_fmt(buf, size, "byte 0x%02x", c);
	return buf;
}

static inline bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* is_atext - RFC 5322 section 3.2.3 atext, ASCII part */
static inline bool
is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static inline bool
is_label_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '_';
}

/* put - append n bytes to dst[*len] within size (room for NUL kept) */
static bool
put(char *dst, size_t *len, size_t size, const char *src, size_t n)
{
	if (n >= size - *len)
		return false;
	memcpy(dst + *len, src, n);
	*len += n;
	dst[*len] = '\0';
	return true;
}

/*
 * utf8_seq - length of the well-formed, non-C1 UTF-8 sequence at
 * s[0..n), or 0.  C1 controls (U+0080..U+009F) are refused because
 * terminals act on them (U+009B is CSI) when an address is logged or
 * listed.
 */
static size_t
utf8_seq(const char *s, size_t n)
{
	uint32_t cp;
	size_t  k = utf8_decode(s, n, &cp);

	if (k < 2 || cp < 0xa0)
		return 0;
	return k;
}

/*
 * take_utf8 - check the non-ASCII sequence at p->i; return its length
 * or 0 after fail().  Well-formedness first: malformed bytes are a
 * syntax error whatever the session allows.
 */
static size_t
take_utf8(struct parser *p)
{
	size_t  k = utf8_seq(p->s + p->i, p->n - p->i);

	if (k == 0) {
		fail(p, p->i, F_SYNTAX, "malformed address: invalid UTF-8");
		return 0;
	}
	if (!(p->flags & ADDR_SMTPUTF8)) {
		fail(p, p->i, F_NONASCII,
		     "non-ASCII address not permitted without SMTPUTF8");
		return 0;
	}
	p->utf8 = true;
	return k;
}

/* literal_why - NULL when s[0..n) is a valid address literal, else why */
static const char *
literal_why(const char *s, size_t n)
{
	char    text[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *in;
	size_t  len;
	int     af = AF_INET;

	if (n < 2 || s[0] != '[' || s[n - 1] != ']')
		return "malformed address literal";
	in = s + 1;
	len = n - 2;
	if (len >= 5 && str_ncasecmp(in, "IPv6:", 5) == 0) {
		af = AF_INET6;
		in += 5;
		len -= 5;
	}
	/* Only the two standard tags are known: [tag:text] is refused. */
	if (af == AF_INET && memchr(in, ':', len) != NULL)
		return "unsupported address literal (only IPv4 and IPv6: are known)";
	/*
	 * inet_pton() reads a C string: check every byte first, so that
	 * "[1.2.3.4\0junk]" cannot pass as its prefix.
	 */
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char) in[k];

		if (!is_digit(c) && c != '.' && c != ':' &&
		    !(af == AF_INET6 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))))
			return af == AF_INET6 ? "invalid IPv6 address literal" :
			    "invalid IPv4 address literal";
	}
	if (len == 0 || len >= sizeof(text))
		return af == AF_INET6 ? "invalid IPv6 address literal" :
		    "invalid IPv4 address literal";
	memcpy(text, in, len);
	text[len] = '\0';
	if (inet_pton(af, text, bin) != 1)
		return af == AF_INET6 ? "invalid IPv6 address literal" :
		    "invalid IPv4 address literal";
	return NULL;
}

/*
 * parse_domain - a domain name or address literal at p->i, stored
 * canonical in dst[size]; p->i is left on the first byte after it.
 */
static int
parse_domain(struct parser *p, char *dst, size_t size, bool *literal)
{
	const char *s = p->s;
	size_t  start = p->i, len = 0, label;
	bool    numeric, label_utf8;
	char    cd[16];
	const char *why;

	*literal = false;
	dst[0] = '\0';
	if (p->i < p->n && s[p->i] == '[') {
		size_t  j = p->i + 1;

		/* A literal is short; stop looking well before any limit. */
		while (j < p->n && s[j] != ']' && j - p->i < 64) {
			if (is_ctl((unsigned char) s[j]))
				return fail(p, j, F_SYNTAX,
					    "control character in address");
			j++;
		}
		if (j >= p->n || s[j] != ']')
			return fail(p, p->i, F_SYNTAX,
				    "malformed address: unbalanced '['");
		if ((why = literal_why(s + p->i, j + 1 - p->i)) != NULL)
			return fail(p, p->i, F_SYNTAX, "malformed address: %s", why);
		if (!put(dst, &len, size, s + p->i, j + 1 - p->i))
			return fail(p, p->i, F_SYNTAX, "domain too long");
		p->i = j + 1;
		*literal = true;
		return 0;
	}
	for (;;) {
		label = len;
		numeric = true;
		label_utf8 = false;
		while (p->i < p->n) {
			unsigned char c = (unsigned char) s[p->i];
			size_t  k = 1;
			char    lc = 0;

			if (is_label_char(c)) {
				lc = (char) ((c >= 'A' && c <= 'Z') ? c + 32 : c);
				if (!is_digit(c))
					numeric = false;
			} else if (c >= 0x80) {
				if ((k = take_utf8(p)) == 0)
					return -1;
				numeric = false;
				label_utf8 = true;
			} else {
				break;
			}
			if (p->i + k - start > ADDR_DOMAIN_MAX)
				return fail(p, start, F_SYNTAX,
					    "domain too long (over %d octets)",
					    ADDR_DOMAIN_MAX);
			if (!put(dst, &len, size, k == 1 ? &lc : s + p->i, k))
				return fail(p, start, F_SYNTAX, "domain too long");
			p->i += k;
		}
		if (len == label) {
			unsigned char c = p->i < p->n ? (unsigned char) s[p->i] : 0;

			if (p->i < p->n && is_ctl(c))
				return fail(p, p->i, F_SYNTAX,
					    "control character in address");
			if (len > 0 || c == '.')
				return fail(p, p->i, F_SYNTAX,
					    "malformed domain: empty label");
			if (p->i >= p->n || c == '>' || c == ' ' || c == ',' || c == ':')
				return fail(p, p->i, F_SYNTAX,
					    "malformed address: empty domain");
			return fail(p, p->i, F_SYNTAX,
				    "malformed domain: unexpected %s",
				    cdesc(cd, sizeof(cd), c));
		}
		if (dst[label] == '-' || dst[len - 1] == '-')
			return fail(p, p->i, F_SYNTAX,
				    "malformed domain: label starts or ends with '-'");
		/* A UTF-8 label's limit is its A-label's: not ours to check. */
		if (!label_utf8 && len - label > ADDR_LABEL_MAX)
			return fail(p, p->i, F_SYNTAX,
				    "malformed domain: label longer than %d octets",
				    ADDR_LABEL_MAX);
		if (p->i < p->n && s[p->i] == '.') {
			if (p->i + 1 - start > ADDR_DOMAIN_MAX)
				return fail(p, start, F_SYNTAX,
					    "domain too long (over %d octets)",
					    ADDR_DOMAIN_MAX);
			if (!put(dst, &len, size, ".", 1))
				return fail(p, start, F_SYNTAX, "domain too long");
			p->i++;
			continue;
		}
		break;
	}
	if (numeric)
		return fail(p, start, F_SYNTAX,
			    "malformed domain: numeric top-level label (write an IP address as [192.0.2.1])");
	return 0;
}

/*
 * parse_local - the local part at p->i, dot-string or quoted-string;
 * the unquoted text goes to dst[size].
 */
static int
parse_local(struct parser *p, char *dst, size_t size)
{
	const char *s = p->s;
	size_t  start = p->i, len = 0, k;
	char    cd[16];

	dst[0] = '\0';
#define TOO_LONG() fail(p, start, F_SYNTAX, \
			"local part too long (over %d octets)", ADDR_LOCAL_MAX)

	if (p->i < p->n && s[p->i] == '"') {
		p->i++;
		for (;;) {
			unsigned char c;

			if (p->i >= p->n)
				return fail(p, start, F_SYNTAX,
					    "malformed address: unbalanced quote");
			c = (unsigned char) s[p->i];
			if (c == '"')
				break;
			if (is_ctl(c))
				return fail(p, p->i, F_SYNTAX,
					    "control character in address");
			if (c == '\\') {
				p->i++;
				if (p->i >= p->n)
					return fail(p, start, F_SYNTAX,
						    "malformed address: unbalanced quote");
				c = (unsigned char) s[p->i];
				if (is_ctl(c))
					return fail(p, p->i, F_SYNTAX,
						    "control character in address");
				if (c >= 0x80)
					return fail(p, p->i, F_SYNTAX,
						    "malformed address: invalid quoted pair");
			}
			k = 1;
			if (c >= 0x80 && (k = take_utf8(p)) == 0)
				return -1;
			if (p->i + k - start > ADDR_LOCAL_MAX - 1)
				return TOO_LONG();	/* no room for the '"' */
			if (!put(dst, &len, size, s + p->i, k))
				return TOO_LONG();
			p->i += k;
		}
		p->i++;		/* the closing quote */
		if (len == 0)
			return fail(p, start, F_SYNTAX,
				    "malformed address: empty local part");
		return 0;
	}
	for (;;) {
		size_t  atom = len;

		while (p->i < p->n) {
			unsigned char c = (unsigned char) s[p->i];

			k = 1;
			if (c >= 0x80) {
				if ((k = take_utf8(p)) == 0)
					return -1;
			} else if (!is_atext(c)) {
				break;
			}
			if (p->i + k - start > ADDR_LOCAL_MAX)
				return TOO_LONG();
			if (!put(dst, &len, size, s + p->i, k))
				return TOO_LONG();
			p->i += k;
		}
		if (len == atom) {
			unsigned char c = p->i < p->n ? (unsigned char) s[p->i] : 0;

			if (p->i < p->n && is_ctl(c))
				return fail(p, p->i, F_SYNTAX,
					    "control character in address");
			if (len == 0 && (p->i >= p->n || c == '@' || c == '>'))
				return fail(p, p->i, F_SYNTAX,
					    "malformed address: empty local part");
			if (c == '.' || len > 0)
				return fail(p, p->i, F_SYNTAX,
					    "malformed address: misplaced '.' in local part");
			return fail(p, p->i, F_SYNTAX,
				    "malformed address: unexpected %s in local part",
				    cdesc(cd, sizeof(cd), c));
		}
		if (p->i < p->n && s[p->i] == '.') {
			if (p->i + 1 - start > ADDR_LOCAL_MAX)
				return TOO_LONG();
			if (!put(dst, &len, size, ".", 1))
				return TOO_LONG();
			p->i++;
			continue;
		}
		return 0;
	}
#undef TOO_LONG
}

/* parse_route - "@d1,@d2:" at p->i (on the first '@'), dropped */
static int
parse_route(struct parser *p, size_t start)
{
	char    tmp[ADDR_DOMAIN_MAX + 1];
	bool    lit;

	for (;;) {
		p->i++;		/* the '@' */
		if (parse_domain(p, tmp, sizeof(tmp), &lit) < 0)
			return -1;
		if (p->i - start > ADDR_PATH_MAX)
			return fail(p, start, F_SYNTAX,
				    "path too long (over %d octets)", ADDR_PATH_MAX);
		if (p->i < p->n && p->s[p->i] == ':') {
			p->i++;
			return 0;
		}
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			if (p->i < p->n && p->s[p->i] == '@')
				continue;
		}
		return fail(p, p->i, F_SYNTAX,
			    "malformed address: bad source route");
	}
}

static void
clear(struct addr *out)
{
	out->addr[0] = out->local[0] = out->domain[0] = '\0';
	out->is_null = out->has_domain = out->has_utf8 = out->is_literal = false;
}

int
addr_parse_path(const char *s, size_t n, unsigned flags, struct addr *out,
		size_t *consumed, struct addr_error *e)
{
	struct parser p = {s, n, 0, flags, false, e};
	size_t  start, len, plen;
	bool    bracket = false;
	char    cd[16];

	clear(out);
	if (e != NULL) {
		e->code = 0;
		e->dsn[0] = e->text[0] = '\0';
		e->pos = 0;
	}
	while (p.i < n && s[p.i] == ' ')
		p.i++;
	start = p.i;
	if (p.i < n && s[p.i] == '<') {
		bracket = true;
		p.i++;
	} else if (!(flags & ADDR_ALLOW_NO_BRACKETS)) {
		return fail(&p, p.i, F_SYNTAX, "malformed address: expected '<'");
	}

	/* The null path. */
	if ((bracket && p.i < n && s[p.i] == '>') || (!bracket && p.i >= n)) {
		if (!(flags & ADDR_ALLOW_NULL))
			return fail(&p, start, F_POLICY,
				    "null address not permitted here");
		if (bracket)
			p.i++;
		out->is_null = true;
		goto done;
	}
	if (bracket && p.i < n && s[p.i] == '@') {
		if (parse_route(&p, start) < 0)
			goto bad;
		p.utf8 = false;		/* the route is dropped */
	}
	if (parse_local(&p, out->local, sizeof(out->local)) < 0)
		goto bad;
	if (p.i < n && s[p.i] == '@') {
		p.i++;
		if (parse_domain(&p, out->domain, sizeof(out->domain),
				 &out->is_literal) < 0)
			goto bad;
		out->has_domain = true;
	}
	if (bracket) {
		if (p.i >= n) {
			fail(&p, start, F_SYNTAX, "malformed address: missing '>'");
			goto bad;
		}
		if (s[p.i] != '>') {
			if (is_ctl((unsigned char) s[p.i]))
				fail(&p, p.i, F_SYNTAX, "control character in address");
			else
				fail(&p, p.i, F_SYNTAX, "malformed address: unexpected %s",
				     cdesc(cd, sizeof(cd), (unsigned char) s[p.i]));
			goto bad;
		}
		p.i++;
	}
	if (!out->has_domain && !(flags & ADDR_ALLOW_NO_DOMAIN)) {
		fail(&p, start, F_POLICY, "address has no domain");
		goto bad;
	}

	/* Canonical form: minimal quoting, then the domain as parsed. */
	if (addr_quote_local(out->local, strlen(out->local), out->addr,
			     sizeof(out->addr)) < 0) {
		fail(&p, start, F_SYNTAX, "malformed address: bad local part");
		goto bad;
	}
	if (out->has_domain) {
		len = strlen(out->addr);
		if (!put(out->addr, &len, sizeof(out->addr), "@", 1) ||
		    !put(out->addr, &len, sizeof(out->addr), out->domain,
			 strlen(out->domain))) {
			fail(&p, start, F_SYNTAX, "path too long (over %d octets)",
			     ADDR_PATH_MAX);
			goto bad;
		}
	}
	out->has_utf8 = p.utf8;

done:
	if (p.i < n && s[p.i] != ' ') {
		if (is_ctl((unsigned char) s[p.i]))
			fail(&p, p.i, F_SYNTAX, "control character in address");
		else
			fail(&p, p.i, F_SYNTAX, "malformed address: %s after address",
			     cdesc(cd, sizeof(cd), (unsigned char) s[p.i]));
		goto bad;
	}
	plen = p.i - start + (bracket ? 0 : 2);
	if (plen > ADDR_PATH_MAX) {
		fail(&p, start, F_SYNTAX, "path too long (over %d octets)",
		     ADDR_PATH_MAX);
		goto bad;
	}
	if (consumed != NULL)
		*consumed = p.i;
	return 0;

bad:
	clear(out);
	return -1;
}

/* is_dot_atom - raw[0..n) can be written without quotes */
static bool
is_dot_atom(const char *raw, size_t n)
{
	bool    prev_dot = true;	/* no dot first */

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) raw[i];

		if (c == '.') {
			if (prev_dot)
				return false;
			prev_dot = true;
		} else if (c >= 0x80 || is_atext(c)) {
			prev_dot = false;
		} else {
			return false;
		}
	}
	return !prev_dot;
}

/* text_ok - no control characters, NUL, C1 or malformed UTF-8 */
static bool
text_ok(const char *raw, size_t n)
{
	size_t  i = 0, k;

	while (i < n) {
		unsigned char c = (unsigned char) raw[i];

		if (c < 0x80) {
			if (is_ctl(c))
				return false;
			i++;
			continue;
		}
		if ((k = utf8_seq(raw + i, n - i)) == 0)
			return false;
		i += k;
	}
	return true;
}

int
addr_quote_local(const char *raw, size_t n, char *out, size_t outsz)
{
	size_t  len = 0;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (n == 0 || !text_ok(raw, n))
		return -1;
	if (is_dot_atom(raw, n))
		return put(out, &len, outsz, raw, n) ? 0 : -1;
	if (!put(out, &len, outsz, "\"", 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((raw[i] == '"' || raw[i] == '\\') &&
		    !put(out, &len, outsz, "\\", 1))
			goto full;
		if (!put(out, &len, outsz, raw + i, 1))
			goto full;
	}
	if (!put(out, &len, outsz, "\"", 1))
		goto full;
	return 0;

full:
	out[0] = '\0';
	return -1;
}

int
addr_unquote_local(const char *q, size_t n, char *out, size_t outsz)
{
	size_t  i = 0, len = 0;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	for (;;) {
		size_t  word = i;

		if (i < n && q[i] == '"') {
			for (i++;; i++) {
				if (i >= n)
					goto bad;
				if (q[i] == '"')
					break;
				if (q[i] == '\\' && ++i >= n)
					goto bad;
				if (!put(out, &len, outsz, q + i, 1))
					goto bad;
			}
			i++;
		} else {
			while (i < n && ((unsigned char) q[i] >= 0x80 ||
					 is_atext((unsigned char) q[i]))) {
				if (!put(out, &len, outsz, q + i, 1))
					goto bad;
				i++;
			}
			if (i == word)
				goto bad;
		}
		if (i == n)
			break;
		if (q[i] != '.' || !put(out, &len, outsz, ".", 1))
			goto bad;
		i++;
	}
	if (len == 0 || !text_ok(out, len))
		goto bad;
	return 0;

bad:
	out[0] = '\0';
	return -1;
}

bool
addr_domain_valid(const char *d, bool utf8)
{
	size_t  n = strnlen(d, ADDR_DOMAIN_MAX + 1);
	struct parser p = {d, n, 0, utf8 ? ADDR_SMTPUTF8 : 0, false, NULL};
	char    tmp[ADDR_DOMAIN_MAX + 1];
	bool    lit;

	if (n == 0 || n > ADDR_DOMAIN_MAX || d[0] == '[')
		return false;
	return parse_domain(&p, tmp, sizeof(tmp), &lit) == 0 && p.i == n;
}

bool
addr_literal_valid(const char *s, size_t n)
{
	return literal_why(s, n) == NULL;
}

int
addr_split(const char *canonical, char *local, size_t localsz,
	   char *domain, size_t domainsz)
{
	size_t  n = strlen(canonical), i = 0;

	if (localsz == 0 || domainsz == 0)
		return -1;
	local[0] = domain[0] = '\0';
	/* Find the end of the local part by its syntax, not by strrchr(). */
	if (n > 0 && canonical[0] == '"') {
		for (i = 1; i < n && canonical[i] != '"'; i++)
			if (canonical[i] == '\\')
				i++;
		if (i >= n)
			return -1;
		i++;
	} else {
		while (i < n && canonical[i] != '@')
			i++;
	}
	if (i < n && canonical[i] != '@')
		return -1;
	if (addr_unquote_local(canonical, i, local, localsz) < 0)
		return -1;
	if (i < n && str_copy(domain, domainsz, canonical + i + 1) < 0) {
		local[0] = domain[0] = '\0';
		return -1;
	}
	return 0;
}

char   *
addr_strip_extension(char *local, const char *delimiters, int *delim)
{
	size_t  len = strlen(local), k;

	if (delim != NULL)
		*delim = 0;
	if (delimiters == NULL || *delimiters == '\0')
		return NULL;
	/* Never split these, whatever the delimiter. */
	if (str_casecmp(local, "postmaster") == 0 ||
	    str_casecmp(local, "MAILER-DAEMON") == 0)
		return NULL;
	/* Mailing list names: owner-list, list-request. */
	if (strchr(delimiters, '-') != NULL) {
		if (str_has_prefix_nocase(local, "owner-"))
			return NULL;
		if (len > 8 && str_casecmp(local + len - 8, "-request") == 0)
			return NULL;
	}
	k = strcspn(local, delimiters);
	if (k == 0 || k == len)
		return NULL;
	if (delim != NULL)
		*delim = (unsigned char) local[k];
	local[k] = '\0';
	return local + k + 1;
}
