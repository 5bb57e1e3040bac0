/* addr_test - check suite for lib/mail/addr: RFC 5321 paths, quoting, limits. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "addr.h"
#include "str.h"

#define SENDER	ADDR_SENDER
#define NULLOK	ADDR_ALLOW_NULL
#define NODOM	ADDR_ALLOW_NO_DOMAIN
#define NOBR	ADDR_ALLOW_NO_BRACKETS
#define UTF8	ADDR_SMTPUTF8

struct path_case {
	const char *label;
	const char *in;
	size_t	n;		/* 0: strlen(in) */
	unsigned flags;
	int	want_rc;
	const char *want_addr;	/* on success */
	const char *want_local;
	const char *want_domain;
	size_t	want_used;
	int	want_code;	/* on failure */
	const char *want_dsn;
	const char *want_text;	/* a substring of e.text */
};

#define OK(l, i, f, a, lp, d, u) \
	{ .label = l, .in = i, .flags = f, .want_rc = 0, .want_addr = a, \
	  .want_local = lp, .want_domain = d, .want_used = u }
#define BAD(l, i, f, c, ds, t) \
	{ .label = l, .in = i, .flags = f, .want_rc = -1, .want_code = c, \
	  .want_dsn = ds, .want_text = t }
#define BADN(l, i, len, f, c, ds, t) \
	{ .label = l, .in = i, .n = len, .flags = f, .want_rc = -1, \
	  .want_code = c, .want_dsn = ds, .want_text = t }

static const struct path_case path_cases[] = {
	/* Ordinary paths. */
	OK("simple", "<user@example.com>", 0, "user@example.com", "user", "example.com", 18),
	OK("leading spaces", "  <a@b.example>", 0, "a@b.example", "a", "b.example", 15),
	OK("domain lowercased, local kept", "<John.Smith@Example.COM>", 0,
	   "John.Smith@example.com", "John.Smith", "example.com", 24),
	OK("params follow", "<a@example.com> SIZE=100 BODY=8BITMIME", 0,
	   "a@example.com", "a", "example.com", 15),
	OK("junk after a space is the params' business", "<a@b.c> junk", 0,
	   "a@b.c", "a", "b.c", 7),
	OK("all atext specials", "<!#$%&'*+-/=?^_`{|}~@x.org>", 0,
	   "!#$%&'*+-/=?^_`{|}~@x.org", "!#$%&'*+-/=?^_`{|}~", "x.org", 27),
	OK("single label domain", "<a@localhost>", 0, "a@localhost", "a", "localhost", 13),
	OK("underscore tolerated", "<a@my_host.example>", 0, "a@my_host.example", "a",
	   "my_host.example", 19),
	OK("inner hyphens", "<a@xn--bcher-kva.example>", 0, "a@xn--bcher-kva.example", "a",
	   "xn--bcher-kva.example", 25),
	OK("digit-leading label", "<a@3com.com>", 0, "a@3com.com", "a", "3com.com", 12),

	/* Null path. */
	OK("null", "<>", NULLOK, "", "", "", 2),
	OK("null with params", "<> SIZE=10", NULLOK | SENDER, "", "", "", 2),
	BAD("null refused (rcpt)", "<>", 0, 553, "5.1.3", "null address"),
	BAD("null refused (sender)", "<>", SENDER, 553, "5.1.7", "null address"),
	BAD("null then junk", "<>x", NULLOK, 501, "5.1.3", "after address"),

	/* Source routes: checked, then dropped. */
	OK("route", "<@a.example,@b.example:user@c.example>", 0, "user@c.example", "user",
	   "c.example", 38),
	OK("route @a:b@c", "<@a:b@c>", 0, "b@c", "b", "c", 8),
	OK("route with literal", "<@[192.0.2.1]:b@c.example>", 0, "b@c.example", "b",
	   "c.example", 26),
	BAD("route without @ after comma", "<@a,b@c>", 0, 501, "5.1.3", "source route"),
	BAD("route without colon", "<@a b@c>", 0, 501, "5.1.3", "source route"),
	BAD("route with empty domain", "<@:b@c>", 0, 501, "5.1.3", "empty domain"),
	BAD("bare @domain", "<@b.c>", 0, 501, "5.1.3", "source route"),
	BAD("route without brackets", "@a:b@c", NOBR, 501, "5.1.3", "empty local part"),

	/* Quoted local parts. */
	OK("quoted, needs quotes", "<\"john doe\"@example.com>", 0,
	   "\"john doe\"@example.com", "john doe", "example.com", 24),
	OK("quoted, needless quotes", "<\"john\"@example.com>", 0,
	   "john@example.com", "john", "example.com", 20),
	OK("quoted pair kept", "<\"a\\\"b\"@x.org>", 0, "\"a\\\"b\"@x.org", "a\"b",
	   "x.org", 14),
	OK("needless quoted pair", "<\"\\a\"@x.org>", 0, "a@x.org", "a", "x.org", 12),
	OK("backslash", "<\"a\\\\b\"@x.org>", 0, "\"a\\\\b\"@x.org", "a\\b", "x.org", 14),
	OK("quoted double dot", "<\"a..b\"@x.org>", 0, "\"a..b\"@x.org", "a..b", "x.org", 14),
	OK("quoted @", "<\"a@b\"@x.org>", 0, "\"a@b\"@x.org", "a@b", "x.org", 13),
	OK("shell: semicolon stays quoted", "<\"foo;reboot\"@x>", 0,
	   "\"foo;reboot\"@x", "foo;reboot", "x", 16),
	OK("shell: backquote is atext", "<\"`id`\"@x>", 0, "`id`@x", "`id`", "x", 10),
	OK("shell: $() stays quoted", "<\"$(reboot)\"@x>", 0,
	   "\"$(reboot)\"@x", "$(reboot)", "x", 15),
	OK("shell: pipe and space", "<\"|cat /etc/passwd\"@x>", 0,
	   "\"|cat /etc/passwd\"@x", "|cat /etc/passwd", "x", 22),
	BAD("unbalanced quote", "<\"abc@d.e>", 0, 501, "5.1.3", "unbalanced quote"),
	BAD("backslash at end", "<\"abc\\", 0, 501, "5.1.3", "unbalanced quote"),
	BAD("escaped closing quote", "<\"abc\\\">", 0, 501, "5.1.3", "unbalanced quote"),
	BAD("empty quoted", "<\"\"@b.c>", 0, 501, "5.1.3", "empty local part"),
	BAD("quote then junk", "<\"a\"b@c.d>", 0, 501, "5.1.3", "unexpected 'b'"),
	BAD("TAB in quotes", "<\"a\tb\"@c.d>", 0, 501, "5.1.3", "control character"),
	BAD("DEL in quotes", "<\"a\x7f\"@c.d>", 0, 501, "5.1.3", "control character"),
	BAD("quoted pair of CR", "<\"a\\\r\"@c.d>", 0, 501, "5.1.3", "control character"),

	/* Dot-atom rules. */
	BAD("leading dot", "<.a@b.c>", 0, 501, "5.1.3", "misplaced '.'"),
	BAD("trailing dot", "<a.@b.c>", 0, 501, "5.1.3", "misplaced '.'"),
	BAD("double dot", "<a..b@b.c>", 0, 501, "5.1.3", "misplaced '.'"),
	BAD("space in local", "<a b@c.d>", 0, 501, "5.1.3", "unexpected space"),
	BAD("space after <", "< a@b.c>", 0, 501, "5.1.3", "unexpected space"),
	BAD("empty local", "<@>", 0, 501, "5.1.3", "empty domain"),
	BAD("empty local, domain", "<a@b.c", 0, 501, "5.1.3", "missing '>'"),
	BAD("comma in local", "<a,b@c.d>", 0, 501, "5.1.3", "unexpected ','"),

	/* Brackets. */
	BAD("no brackets", "a@example.com", 0, 501, "5.1.3", "expected '<'"),
	OK("no brackets allowed", "a@example.com", NOBR, "a@example.com", "a", "example.com", 13),
	OK("no brackets with params", "a@example.com SIZE=1", NOBR, "a@example.com", "a",
	   "example.com", 13),
	OK("brackets when none needed", "<a@example.com>", NOBR, "a@example.com", "a",
	   "example.com", 15),
	OK("empty without brackets is null", "", NOBR | NULLOK, "", "", "", 0),
	BAD("empty without brackets", "", NOBR, 553, "5.1.3", "null address"),
	BAD("no brackets, trailing '>'", "a@b.c>", NOBR, 501, "5.1.3", "'>' after address"),
	BAD("double brackets", "<<a@b.c>>", 0, 501, "5.1.3", "unexpected '<'"),
	BAD("junk glued after >", "<a@b.c>junk", 0, 501, "5.1.3", "'j' after address"),
	BAD("missing >", "<a@b.c", 0, 501, "5.1.3", "missing '>'"),
	BAD("missing > then space", "<a@b.c SIZE=1", 0, 501, "5.1.3", "unexpected space"),
	BAD("space before >", "<a@b.c >", 0, 501, "5.1.3", "unexpected space"),
	BAD("empty input", "", 0, 501, "5.1.3", "expected '<'"),
	BAD("spaces only", "   ", SENDER, 501, "5.1.7", "expected '<'"),
	BAD("lone <", "<", 0, 501, "5.1.3", "empty local part"),

	/* No domain. */
	BAD("no domain refused", "<postmaster>", 0, 553, "5.1.3", "no domain"),
	OK("no domain allowed", "<postmaster>", NODOM, "postmaster", "postmaster", "", 12),
	OK("no domain, quoted", "<\"a b\">", NODOM, "\"a b\"", "a b", "", 7),
	OK("no domain, no brackets", "Postmaster", NODOM | NOBR, "Postmaster", "Postmaster",
	   "", 10),

	/* Domains. */
	BAD("hyphen first", "<a@-example.com>", 0, 501, "5.1.3", "'-'"),
	BAD("hyphen last", "<a@example-.com>", 0, 501, "5.1.3", "'-'"),
	BAD("hyphen last label", "<a@example.co->", 0, 501, "5.1.3", "'-'"),
	BAD("double dot domain", "<a@example..com>", 0, 501, "5.1.3", "empty label"),
	BAD("dot first domain", "<a@.example.com>", 0, 501, "5.1.3", "empty label"),
	BAD("trailing dot domain", "<a@example.com.>", 0, 501, "5.1.3", "empty label"),
	BAD("empty domain", "<a@>", 0, 501, "5.1.3", "empty domain"),
	BAD("numeric TLD", "<a@example.123>", 0, 501, "5.1.3", "numeric"),
	BAD("bare IPv4", "<a@192.0.2.1>", 0, 501, "5.1.3", "numeric"),
	BAD("bang in domain", "<a@ex!ample.com>", 0, 501, "5.1.3", "unexpected '!'"),
	BAD("percent hack", "<a%b@c@d.e>", 0, 501, "5.1.3", "unexpected '@'"),

	/* Address literals. */
	{ .label = "IPv4 literal", .in = "<a@[192.0.2.1]>", .want_addr = "a@[192.0.2.1]",
	  .want_local = "a", .want_domain = "[192.0.2.1]", .want_used = 15 },
	OK("IPv6 literal", "<a@[IPv6:2001:db8::1]>", 0, "a@[IPv6:2001:db8::1]", "a",
	   "[IPv6:2001:db8::1]", 22),
	OK("IPv6 tag any case, kept", "<a@[ipv6:2001:DB8::1]>", 0, "a@[ipv6:2001:DB8::1]",
	   "a", "[ipv6:2001:DB8::1]", 22),
	OK("IPv4-mapped IPv6", "<a@[IPv6:::ffff:192.0.2.1]>", 0,
	   "a@[IPv6:::ffff:192.0.2.1]", "a", "[IPv6:::ffff:192.0.2.1]", 27),
	BAD("IPv4 octet 256", "<a@[192.0.2.256]>", 0, 501, "5.1.3", "IPv4"),
	BAD("IPv4 three octets", "<a@[192.0.2]>", 0, 501, "5.1.3", "IPv4"),
	BAD("IPv4 empty", "<a@[]>", 0, 501, "5.1.3", "IPv4"),
	BAD("IPv6 triple colon", "<a@[IPv6:2001:db8:::1]>", 0, 501, "5.1.3", "IPv6"),
	BAD("IPv6 too many groups", "<a@[IPv6:1:2:3:4:5:6:7:8:9]>", 0, 501, "5.1.3", "IPv6"),
	BAD("IPv6 bad hex", "<a@[IPv6:2001:db8::g]>", 0, 501, "5.1.3", "IPv6"),
	BAD("IPv6 empty", "<a@[IPv6:]>", 0, 501, "5.1.3", "IPv6"),
	BAD("IPv6 group too long", "<a@[IPv6:12345::1]>", 0, 501, "5.1.3", "IPv6"),
	BAD("IPv6 without tag", "<a@[2001:db8::1]>", 0, 501, "5.1.3", "unsupported"),
	BAD("general literal", "<a@[x-tag:foo]>", 0, 501, "5.1.3", "unsupported"),
	BAD("IPv4 leading zero", "<a@[01.2.3.4]>", 0, 501, "5.1.3", "IPv4"),
	BAD("IPv4 hex", "<a@[0x7f.0.0.1]>", 0, 501, "5.1.3", "IPv4"),
	BAD("IPv4 short form", "<a@[127.1]>", 0, 501, "5.1.3", "IPv4"),
	BAD("unbalanced [", "<a@[192.0.2.1>", 0, 501, "5.1.3", "unbalanced '['"),
	BAD("literal then junk", "<a@[192.0.2.1]x>", 0, 501, "5.1.3", "unexpected 'x'"),
	BADN("NUL in literal", "<a@[192.0.2.1\0]>", 16, 0, 501, "5.1.3", "control character"),
	BAD("space in literal", "<a@[192.0.2.1 ]>", 0, 501, "5.1.3", "IPv4"),

	/* Control characters. */
	BADN("NUL in local", "<a\0b@c.d>", 9, 0, 501, "5.1.3", "control character"),
	BADN("NUL after <", "<\0a@c.d>", 8, 0, 501, "5.1.3", "control character"),
	BADN("NUL in domain", "<a@c\0.d>", 8, 0, 501, "5.1.3", "control character"),
	BADN("NUL after >", "<a@c.d>\0", 8, 0, 501, "5.1.3", "control character"),
	BAD("CR in local", "<a\rb@c.d>", 0, 501, "5.1.3", "control character"),
	BAD("LF in domain", "<a@c.d\n>", 0, 501, "5.1.3", "control character"),
	BAD("CR after >", "<a@c.d>\r", 0, 501, "5.1.3", "control character"),
	BAD("DEL in local", "<a\x7f@c.d>", 0, 501, "5.1.3", "control character"),
	BAD("ESC in local", "<a\x1b[2J@c.d>", 0, 501, "5.1.3", "control character"),

	/* UTF-8. */
	OK("UTF-8 local and domain", "<j\xc3\xb6hn@ex\xc3\xa4mple.com>", UTF8,
	   "j\xc3\xb6hn@ex\xc3\xa4mple.com", "j\xc3\xb6hn", "ex\xc3\xa4mple.com", 20),
	OK("UTF-8 4-byte", "<\xf0\x9f\x98\x80@x.org>", UTF8, "\xf0\x9f\x98\x80@x.org",
	   "\xf0\x9f\x98\x80", "x.org", 12),
	OK("UTF-8 quoted", "<\"\xc3\xa9 t\xc3\xa9\"@x.org>", UTF8,
	   "\"\xc3\xa9 t\xc3\xa9\"@x.org", "\xc3\xa9 t\xc3\xa9", "x.org", 16),
	OK("UTF-8 domain only, uppercase ASCII lowered", "<a@B\xc3\xbc.DE>", UTF8,
	   "a@b\xc3\xbc.de", "a", "b\xc3\xbc.de", 10),
	BAD("UTF-8 without SMTPUTF8", "<j\xc3\xb6hn@x.org>", 0, 553, "5.6.7", "SMTPUTF8"),
	BAD("UTF-8 domain without SMTPUTF8", "<a@ex\xc3\xa4mple.com>", SENDER, 553, "5.6.7",
	    "SMTPUTF8"),
	BAD("overlong '/'", "<\xc0\xaf@x.org>", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("overlong without SMTPUTF8 is syntax", "<\xc0\xaf@x.org>", 0, 501, "5.1.3",
	    "invalid UTF-8"),
	BAD("overlong 3-byte", "<\xe0\x80\xaf@x.org>", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("overlong 4-byte", "<\xf0\x80\x80\xaf@x.org>", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("surrogate", "<\xed\xa0\x80@x.org>", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("past U+10FFFF", "<\xf4\x90\x80\x80@x.org>", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("truncated before @", "<a\xc3@x.org>", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("truncated at end", "<a@x\xe2\x82", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("stray continuation", "<\x80@x.org>", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("F5 lead", "<\xf5\x80\x80\x80@x.org>", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("C1 CSI", "<a\xc2\x9b@x.org>", UTF8, 501, "5.1.3", "invalid UTF-8"),
	BAD("UTF-8 after backslash", "<\"\\\xc3\xa9\"@x.org>", UTF8, 501, "5.1.3",
	    "quoted pair"),
};

static bool
has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s >= 0x80)
			return true;
	return false;
}

static void
run_path_case(const struct path_case *c)
{
	struct addr a;
	struct addr_error e;
	size_t  n = c->n ? c->n : strlen(c->in), used = 9999;
	int     rc;

	memset(&a, 'Z', sizeof(a));
	rc = addr_parse_path(c->in, n, c->flags, &a, &used, &e);
	ck_assert_msg(rc == c->want_rc, "%s: rc %d, want %d (%d %s %s)", c->label, rc,
		      c->want_rc, e.code, e.dsn, e.text);
	if (rc == 0) {
		ck_assert_msg(strcmp(a.addr, c->want_addr) == 0, "%s: addr <%s>, want <%s>",
			      c->label, a.addr, c->want_addr);
		ck_assert_msg(strcmp(a.local, c->want_local) == 0, "%s: local <%s>, want <%s>",
			      c->label, a.local, c->want_local);
		ck_assert_msg(strcmp(a.domain, c->want_domain) == 0,
			      "%s: domain <%s>, want <%s>", c->label, a.domain, c->want_domain);
		ck_assert_msg(used == c->want_used, "%s: consumed %zu, want %zu", c->label,
			      used, c->want_used);
		ck_assert_msg(a.is_null == (c->want_addr[0] == '\0'), "%s: is_null", c->label);
		ck_assert_msg(a.has_domain == (c->want_domain[0] != '\0'), "%s: has_domain",
			      c->label);
		ck_assert_msg(a.is_literal == (c->want_domain[0] == '['), "%s: is_literal",
			      c->label);
		ck_assert_msg(a.has_utf8 == has_8bit(a.addr), "%s: has_utf8", c->label);
	} else {
		ck_assert_msg(e.code == c->want_code, "%s: code %d, want %d (%s)", c->label,
			      e.code, c->want_code, e.text);
		ck_assert_msg(strcmp(e.dsn, c->want_dsn) == 0, "%s: dsn %s, want %s",
			      c->label, e.dsn, c->want_dsn);
		ck_assert_msg(strstr(e.text, c->want_text) != NULL,
			      "%s: text \"%s\" lacks \"%s\"", c->label, e.text, c->want_text);
		ck_assert_msg(e.pos <= n, "%s: pos %zu past the input", c->label, e.pos);
		ck_assert_msg(a.addr[0] == '\0' && a.local[0] == '\0' && a.domain[0] == '\0',
			      "%s: output not cleared on failure", c->label);
		ck_assert_msg(used == 9999, "%s: consumed set on failure", c->label);
	}
}

START_TEST(test_path_table)
{
	run_path_case(&path_cases[_i]);
}
END_TEST

/* mkpath - "<" local "@" domain ">" with the given lengths of x and y */
static void
mkpath(char *out, size_t size, size_t llen, size_t dlen)
{
	size_t  i = 0;

	ck_assert_uint_lt(llen + dlen + 4, size);
	out[i++] = '<';
	memset(out + i, 'x', llen);
	i += llen;
	out[i++] = '@';
	/* Labels of 50 letters separated by dots, dlen octets in all. */
	for (size_t k = 0; k < dlen; k++)
		out[i + k] = (k % 51 == 50 && k + 1 < dlen) ? '.' : 'y';
	i += dlen;
	out[i++] = '>';
	out[i] = '\0';
}

static int
parse(const char *s, unsigned flags, struct addr *a, struct addr_error *e)
{
	size_t  used;

	return addr_parse_path(s, strlen(s), flags, a, &used, e);
}

START_TEST(test_local_part_limit)
{
	char    buf[600];
	struct addr a;
	struct addr_error e;

	mkpath(buf, sizeof(buf), 64, 10);
	ck_assert_int_eq(parse(buf, 0, &a, &e), 0);
	ck_assert_uint_eq(strlen(a.local), 64);
	mkpath(buf, sizeof(buf), 65, 10);
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);
	ck_assert_int_eq(e.code, 501);
	ck_assert_str_eq(e.text, "local part too long (over 64 octets)");

	/* Quoted: 64 octets with the quotes pass, 65 do not. */
	snprintf(buf, sizeof(buf), "<\"%.62s\"@x.org>",
		 "a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9");
	ck_assert_int_eq(parse(buf, 0, &a, &e), 0);
	ck_assert_uint_eq(strlen(a.local), 62);
	ck_assert_uint_eq(strlen(a.addr), 64 + 6);
	snprintf(buf, sizeof(buf), "<\"%.63s\"@x.org>",
		 "a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9");
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);
	ck_assert_str_eq(e.text, "local part too long (over 64 octets)");

	/* Quoted pairs count as written: 31 pairs + quotes = 64. */
	str_copy(buf, sizeof(buf), "<\"");
	for (int i = 0; i < 31; i++)
		str_append(buf, sizeof(buf), "\\\"");
	str_append(buf, sizeof(buf), "\"@x.org>");
	ck_assert_int_eq(parse(buf, 0, &a, &e), 0);
	ck_assert_uint_eq(strlen(a.local), 31);
	buf[strlen(buf) - 8] = '\0';
	str_append(buf, sizeof(buf), "a\"@x.org>");
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);

	/* A long unquoted UTF-8 local part: 32 two-byte characters = 64. */
	str_copy(buf, sizeof(buf), "<");
	for (int i = 0; i < 32; i++)
		str_append(buf, sizeof(buf), "\xc3\xa9");
	str_append(buf, sizeof(buf), "@x.org>");
	ck_assert_int_eq(parse(buf, UTF8, &a, &e), 0);
	buf[strlen(buf) - 7] = '\0';
	str_append(buf, sizeof(buf), "a@x.org>");
	ck_assert_int_eq(parse(buf, UTF8, &a, &e), -1);
	ck_assert_str_eq(e.text, "local part too long (over 64 octets)");
}
END_TEST

START_TEST(test_path_and_domain_limits)
{
	char    buf[600];
	struct addr a;
	struct addr_error e;

	/* 64 + 1 + 189 + 2 = 256: the longest path. */
	mkpath(buf, sizeof(buf), 64, 189);
	ck_assert_uint_eq(strlen(buf), 256);
	ck_assert_int_eq(parse(buf, 0, &a, &e), 0);
	ck_assert_uint_eq(strlen(a.addr), 254);
	mkpath(buf, sizeof(buf), 64, 190);
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);
	ck_assert_str_eq(e.text, "path too long (over 256 octets)");
	mkpath(buf, sizeof(buf), 1, 252);
	ck_assert_int_eq(parse(buf, 0, &a, &e), 0);
	mkpath(buf, sizeof(buf), 1, 253);
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);
	ck_assert_str_eq(e.text, "path too long (over 256 octets)");

	/* The domain limit is reached before the path limit at 256. */
	mkpath(buf, sizeof(buf), 1, 255);
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);
	ck_assert_str_eq(e.text, "path too long (over 256 octets)");
	mkpath(buf, sizeof(buf), 1, 256);
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);
	ck_assert_str_eq(e.text, "domain too long (over 255 octets)");
	mkpath(buf, sizeof(buf), 1, 400);
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);
	ck_assert_str_eq(e.text, "domain too long (over 255 octets)");

	/* Without brackets the limit is the same address. */
	mkpath(buf, sizeof(buf), 64, 189);
	buf[255] = '\0';
	ck_assert_int_eq(parse(buf + 1, NOBR, &a, &e), 0);
	mkpath(buf, sizeof(buf), 64, 190);
	buf[256] = '\0';
	ck_assert_int_eq(parse(buf + 1, NOBR, &a, &e), -1);
	ck_assert_str_eq(e.text, "path too long (over 256 octets)");
}
END_TEST

START_TEST(test_route_length)
{
	char    buf[2048];
	struct addr a;
	struct addr_error e;
	size_t  len;

	/* A route counts toward the path: "<@r:" + 247 ... */
	str_copy(buf, sizeof(buf), "<@r.example:a@b.c>");
	ck_assert_int_eq(parse(buf, 0, &a, &e), 0);
	/* Many route hops: refused once the path passes 256. */
	str_copy(buf, sizeof(buf), "<");
	for (int i = 0; i < 100; i++)
		str_append(buf, sizeof(buf), i ? ",@hop.example" : "@hop.example");
	str_append(buf, sizeof(buf), ":a@b.c>");
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);
	ck_assert_str_eq(e.text, "path too long (over 256 octets)");
	/* Exactly 256 with a route. */
	str_copy(buf, sizeof(buf), "<@");
	len = 256 - strlen("<@:a@b.c>");
	memset(buf + 2, 'r', 50);
	for (size_t k = 0; k < len; k++)
		buf[2 + k] = (k % 51 == 50 && k + 1 < len) ? '.' : 'r';
	buf[2 + len] = '\0';
	str_append(buf, sizeof(buf), ":a@b.c>");
	ck_assert_uint_eq(strlen(buf), 256);
	ck_assert_int_eq(parse(buf, 0, &a, &e), 0);
	ck_assert_str_eq(a.addr, "a@b.c");
}
END_TEST

START_TEST(test_label_limit)
{
	char    buf[300];
	struct addr a;
	struct addr_error e;

	snprintf(buf, sizeof(buf), "<a@%s.example>",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert_int_eq(parse(buf, 0, &a, &e), 0);	/* 63 */
	snprintf(buf, sizeof(buf), "<a@%s.example>",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert_int_eq(parse(buf, 0, &a, &e), -1);	/* 64 */
	ck_assert_ptr_nonnull(strstr(e.text, "label longer than 63"));
}
END_TEST

START_TEST(test_null_arguments)
{
	struct addr a;
	struct addr_error e;

	/* consumed and e may be NULL. */
	ck_assert_int_eq(addr_parse_path("<a@b.c>", 7, 0, &a, NULL, NULL), 0);
	ck_assert_str_eq(a.addr, "a@b.c");
	ck_assert_int_eq(addr_parse_path("<a@b.c", 6, 0, &a, NULL, NULL), -1);
	/* Only n bytes are read: the path is cut short. */
	ck_assert_int_eq(addr_parse_path("<a@b.c>", 6, 0, &a, NULL, &e), -1);
	ck_assert_str_eq(e.text, "malformed address: missing '>'");
	ck_assert_int_eq(addr_parse_path("<a@b.c>", 0, 0, &a, NULL, &e), -1);
	/* The position points at the offending byte. */
	ck_assert_int_eq(addr_parse_path("<a@b!c>", 7, 0, &a, NULL, &e), -1);
	ck_assert_uint_eq(e.pos, 4);
	ck_assert_int_eq(addr_parse_path("  <a\rb@c>", 9, 0, &a, NULL, &e), -1);
	ck_assert_uint_eq(e.pos, 4);
}
END_TEST

struct quote_case {
	const char *label;
	const char *raw;
	size_t	n;
	const char *want;	/* NULL: -1 */
};

static const struct quote_case quote_cases[] = {
	{"atom", "john", 0, "john"},
	{"dot-atom", "john.smith", 0, "john.smith"},
	{"space", "john doe", 0, "\"john doe\""},
	{"quote", "a\"b", 0, "\"a\\\"b\""},
	{"backslash", "a\\b", 0, "\"a\\\\b\""},
	{"leading dot", ".a", 0, "\".a\""},
	{"trailing dot", "a.", 0, "\"a.\""},
	{"double dot", "a..b", 0, "\"a..b\""},
	{"only dot", ".", 0, "\".\""},
	{"at", "a@b", 0, "\"a@b\""},
	{"semicolon", "foo;reboot", 0, "\"foo;reboot\""},
	{"backquote", "`id`", 0, "`id`"},
	{"parens", "a(b)", 0, "\"a(b)\""},
	{"UTF-8", "j\xc3\xb6hn", 0, "j\xc3\xb6hn"},
	{"empty", "", 0, NULL},
	{"LF", "a\nb", 0, NULL},
	{"TAB", "a\tb", 0, NULL},
	{"DEL", "a\x7f", 0, NULL},
	{"NUL", "a\0b", 3, NULL},
	{"bad UTF-8", "a\xc3", 0, NULL},
	{"C1", "a\xc2\x85", 0, NULL},
};

START_TEST(test_quote_table)
{
	const struct quote_case *c = &quote_cases[_i];
	char    out[64];
	size_t  n = c->n ? c->n : strlen(c->raw);
	int     rc = addr_quote_local(c->raw, n, out, sizeof(out));

	if (c->want == NULL) {
		ck_assert_msg(rc == -1, "%s: accepted as <%s>", c->label, out);
		ck_assert_str_eq(out, "");
		return;
	}
	ck_assert_msg(rc == 0, "%s: refused", c->label);
	ck_assert_msg(strcmp(out, c->want) == 0, "%s: <%s>, want <%s>", c->label, out, c->want);
}
END_TEST

START_TEST(test_quote_room)
{
	char    out[16];

	/* "a b" quoted is 5 octets + NUL. */
	ck_assert_int_eq(addr_quote_local("a b", 3, out, 6), 0);
	ck_assert_str_eq(out, "\"a b\"");
	ck_assert_int_eq(addr_quote_local("a b", 3, out, 5), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(addr_quote_local("abc", 3, out, 4), 0);
	ck_assert_int_eq(addr_quote_local("abc", 3, out, 3), -1);
	ck_assert_int_eq(addr_quote_local("abc", 3, out, 0), -1);
	/* Worst case: every octet escaped, 2n + 3. */
	ck_assert_int_eq(addr_quote_local("\"\"\"\"\"", 5, out, 13), 0);
	ck_assert_str_eq(out, "\"\\\"\\\"\\\"\\\"\\\"\"");
	ck_assert_int_eq(addr_quote_local("\"\"\"\"\"", 5, out, 12), -1);
}
END_TEST

struct unquote_case {
	const char *label;
	const char *in;
	const char *want;	/* NULL: -1 */
};

static const struct unquote_case unquote_cases[] = {
	{"atom", "john", "john"},
	{"dot-atom", "a.b.c", "a.b.c"},
	{"quoted", "\"john doe\"", "john doe"},
	{"quoted pairs", "\"a\\\"b\\\\c\"", "a\"b\\c"},
	{"obsolete words", "\"a\".\"b\"", "a.b"},
	{"obsolete mixed", "a.\"b c\"", "a.b c"},
	{"UTF-8", "\xc3\xa9", "\xc3\xa9"},
	{"empty", "", NULL},
	{"empty quoted", "\"\"", NULL},
	{"unterminated", "\"abc", NULL},
	{"backslash at end", "\"a\\", NULL},
	{"double dot", "a..b", NULL},
	{"leading dot", ".a", NULL},
	{"trailing dot", "a.", NULL},
	{"space", "a b", NULL},
	{"quote then atom", "\"a\"b", NULL},
	{"control in quotes", "\"a\x01\"", NULL},
	{"pair of LF", "\"a\\\n\"", NULL},
	{"bad UTF-8", "\"\xc0\xaf\"", NULL},
};

START_TEST(test_unquote_table)
{
	const struct unquote_case *c = &unquote_cases[_i];
	char    out[64];
	int     rc = addr_unquote_local(c->in, strlen(c->in), out, sizeof(out));

	if (c->want == NULL) {
		ck_assert_msg(rc == -1, "%s: accepted as <%s>", c->label, out);
		ck_assert_str_eq(out, "");
		return;
	}
	ck_assert_msg(rc == 0, "%s: refused", c->label);
	ck_assert_msg(strcmp(out, c->want) == 0, "%s: <%s>, want <%s>", c->label, out, c->want);
}
END_TEST

START_TEST(test_quote_roundtrip)
{
	static const char *const raws[] = {
		"a", "john doe", "a\"b", "\\", "a..b", ".", "x@y", "foo;reboot",
		"$(id)", "`id`", "a b\\c\"d", "\xc3\xa9t\xc3\xa9", "~!#$%&'*+-/=?^_`{|}",
	};
	char    q[160], back[64];

	for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
		ck_assert_int_eq(addr_quote_local(raws[i], strlen(raws[i]), q, sizeof(q)), 0);
		ck_assert_int_eq(addr_unquote_local(q, strlen(q), back, sizeof(back)), 0);
		ck_assert_str_eq(back, raws[i]);
	}
	/* Unquote into a buffer one octet too small. */
	ck_assert_int_eq(addr_unquote_local("\"abc\"", 5, back, 4), 0);
	ck_assert_int_eq(addr_unquote_local("\"abcd\"", 6, back, 4), -1);
}
END_TEST

START_TEST(test_domain_valid)
{
	char    d[300];

	ck_assert(addr_domain_valid("example.com", false));
	ck_assert(addr_domain_valid("EXAMPLE.com", false));
	ck_assert(addr_domain_valid("localhost", false));
	ck_assert(addr_domain_valid("a_b.example", false));
	ck_assert(addr_domain_valid("1a.example", false));
	ck_assert(!addr_domain_valid("", false));
	ck_assert(!addr_domain_valid(".", false));
	ck_assert(!addr_domain_valid("a..b", false));
	ck_assert(!addr_domain_valid("a.b.", false));
	ck_assert(!addr_domain_valid("-a.b", false));
	ck_assert(!addr_domain_valid("a-.b", false));
	ck_assert(!addr_domain_valid("123", false));
	ck_assert(!addr_domain_valid("a.123", false));
	ck_assert(!addr_domain_valid("a b", false));
	ck_assert(!addr_domain_valid("a@b", false));
	ck_assert(!addr_domain_valid("[192.0.2.1]", false));
	ck_assert(!addr_domain_valid("a\nb", false));
	ck_assert(addr_domain_valid("b\xc3\xbc.de", true));
	ck_assert(!addr_domain_valid("b\xc3\xbc.de", false));
	ck_assert(!addr_domain_valid("b\xc3.de", true));

	/* 255 octets pass, 256 do not. */
	for (size_t k = 0; k < 255; k++)
		d[k] = (k % 51 == 50 && k != 254) ? '.' : 'a';
	d[255] = '\0';
	ck_assert(addr_domain_valid(d, false));
	d[255] = 'a';
	d[256] = '\0';
	ck_assert(!addr_domain_valid(d, false));
	/* A UTF-8 label is not held to 63 octets (its A-label may be shorter). */
	d[0] = '\0';
	for (int i = 0; i < 40; i++)
		str_append(d, sizeof(d), "\xc3\xa9");
	str_append(d, sizeof(d), ".example");
	ck_assert(addr_domain_valid(d, true));
}
END_TEST

START_TEST(test_literal_valid)
{
	ck_assert(addr_literal_valid("[192.0.2.1]", 11));
	ck_assert(addr_literal_valid("[IPv6:::1]", 10));
	ck_assert(addr_literal_valid("[IPv6:2001:db8::1]", 18));
	ck_assert(!addr_literal_valid("[192.0.2.1]", 10));	/* cut: no ']' */
	ck_assert(!addr_literal_valid("192.0.2.1", 9));
	ck_assert(!addr_literal_valid("[]", 2));
	ck_assert(!addr_literal_valid("[", 1));
	ck_assert(!addr_literal_valid("", 0));
	ck_assert(!addr_literal_valid("[1.2.3.4.5]", 11));
	ck_assert(!addr_literal_valid("[IPv6:1.2.3.4]", 14));
	ck_assert(!addr_literal_valid("[IPv6:ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:1]", 54));
	ck_assert(!addr_literal_valid("[1.2.3.4\0]", 10));
}
END_TEST

START_TEST(test_split)
{
	char    l[64], d[64];

	ck_assert_int_eq(addr_split("a@b.c", l, sizeof(l), d, sizeof(d)), 0);
	ck_assert_str_eq(l, "a");
	ck_assert_str_eq(d, "b.c");
	ck_assert_int_eq(addr_split("\"a@b\"@c.d", l, sizeof(l), d, sizeof(d)), 0);
	ck_assert_str_eq(l, "a@b");
	ck_assert_str_eq(d, "c.d");
	ck_assert_int_eq(addr_split("\"a\\\"@b\"@c.d", l, sizeof(l), d, sizeof(d)), 0);
	ck_assert_str_eq(l, "a\"@b");
	ck_assert_str_eq(d, "c.d");
	ck_assert_int_eq(addr_split("\"a b\"", l, sizeof(l), d, sizeof(d)), 0);
	ck_assert_str_eq(l, "a b");
	ck_assert_str_eq(d, "");
	ck_assert_int_eq(addr_split("postmaster", l, sizeof(l), d, sizeof(d)), 0);
	ck_assert_str_eq(l, "postmaster");
	ck_assert_str_eq(d, "");
	ck_assert_int_eq(addr_split("a@[IPv6:::1]", l, sizeof(l), d, sizeof(d)), 0);
	ck_assert_str_eq(d, "[IPv6:::1]");
	ck_assert_int_eq(addr_split("\"abc", l, sizeof(l), d, sizeof(d)), -1);
	ck_assert_int_eq(addr_split("\"a\"x@b", l, sizeof(l), d, sizeof(d)), -1);
	ck_assert_int_eq(addr_split("\"a\\", l, sizeof(l), d, sizeof(d)), -1);
	ck_assert_int_eq(addr_split("", l, sizeof(l), d, sizeof(d)), -1);
	ck_assert_int_eq(addr_split("@b", l, sizeof(l), d, sizeof(d)), -1);
	ck_assert_int_eq(addr_split("abc@de", l, 4, d, 3), 0);
	ck_assert_int_eq(addr_split("abcd@de", l, 4, d, 3), -1);
	ck_assert_int_eq(addr_split("abc@def", l, 4, d, 3), -1);
	ck_assert_str_eq(l, "");
	ck_assert_str_eq(d, "");
}
END_TEST

struct ext_case {
	const char *local;
	const char *delims;
	const char *want_local;
	const char *want_ext;	/* NULL: nothing cut */
	int	want_delim;
};

static const struct ext_case ext_cases[] = {
	{"user+ext", "+", "user", "ext", '+'},
	{"user+a+b", "+", "user", "a+b", '+'},
	{"user", "+", "user", NULL, 0},
	{"+ext", "+", "+ext", NULL, 0},
	{"user+", "+", "user", "", '+'},
	{"user-ext", "-+", "user", "ext", '-'},
	{"a+b-c", "-+", "a", "b-c", '+'},
	{"owner-list", "-", "owner-list", NULL, 0},
	{"Owner-list", "-", "Owner-list", NULL, 0},
	{"list-request", "-", "list-request", NULL, 0},
	{"list-Request", "+-", "list-Request", NULL, 0},
	{"-request", "-", "-request", NULL, 0},	/* delimiter first */
	{"postmaster+x", "+", "postmaster", "x", '+'},	/* only the exact name */
	{"Postmaster", "+", "Postmaster", NULL, 0},
	{"MAILER-DAEMON", "-", "MAILER-DAEMON", NULL, 0},
	{"user+ext", "", "user+ext", NULL, 0},
	{"user+ext", NULL, "user+ext", NULL, 0},
};

START_TEST(test_strip_extension_table)
{
	const struct ext_case *c = &ext_cases[_i];
	char    local[64];
	char   *ext;
	int     delim = 'Q';

	str_copy(local, sizeof(local), c->local);
	ext = addr_strip_extension(local, c->delims, &delim);
	if (c->want_ext == NULL) {
		ck_assert_msg(ext == NULL, "%s: cut to <%s>", c->local, local);
		ck_assert_int_eq(delim, 0);
	} else {
		ck_assert_msg(ext != NULL, "%s: not cut", c->local);
		ck_assert_str_eq(ext, c->want_ext);
		ck_assert_int_eq(delim, c->want_delim);
	}
	ck_assert_str_eq(local, c->want_local);
}
END_TEST

/* rnd - a small deterministic generator (xorshift), so failures repeat */
static unsigned long long rnd_state = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned) (rnd_state % n);
}

/*
 * Random paths from an alphabet of the bytes that matter: whatever is
 * accepted must have a canonical form that parses again to itself, fit
 * the limits, and hold no control character.
 */
START_TEST(test_random_paths)
{
	static const char alpha[] = "<>@\".,:[]ab-_ \\\0\r\n\x7f\xc3\xa9\x80\xff;`$IPv6:1";
	char    in[300], canon[ADDR_CANON_MAX + 3];
	struct addr a, b;
	struct addr_error e;
	size_t  used, accepted = 0;

	for (int round = 0; round < 50000; round++) {
		size_t  n = rnd(40);
		unsigned flags = rnd(32);

		in[0] = '<';
		for (size_t i = 1; i < n; i++)
			in[i] = alpha[rnd(sizeof(alpha) - 1)];
		if (n > 3 && rnd(2))
			in[n - 1] = '>';
		if (addr_parse_path(in, n, flags, &a, &used, &e) < 0) {
			ck_assert(e.code == 501 || e.code == 553);
			ck_assert(e.pos <= n);
			continue;
		}
		accepted++;
		ck_assert_uint_le(used, n);
		ck_assert(!str_has_ctl(a.addr, strlen(a.addr)));
		ck_assert_uint_le(strlen(a.local), ADDR_LOCAL_MAX);
		if (a.is_null)
			continue;
		str_fmt(canon, sizeof(canon), "<%s>", a.addr);
		ck_assert_msg(addr_parse_path(canon, strlen(canon), flags, &b, &used, &e) == 0,
			      "canonical <%s> refused: %s", a.addr, e.text);
		ck_assert_str_eq(b.addr, a.addr);
		ck_assert_str_eq(b.local, a.local);
		ck_assert_str_eq(b.domain, a.domain);
	}
	ck_assert_uint_gt(accepted, 100);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("addr");
	TCase  *tc = tcase_create("path");
	TCase  *tq = tcase_create("helpers");
	/* The random round trips run long under the sanitizers and on a busy machine. */
	tcase_set_timeout(tc, 120);

	tcase_add_loop_test(tc, test_path_table, 0,
			    sizeof(path_cases) / sizeof(path_cases[0]));
	tcase_add_test(tc, test_local_part_limit);
	tcase_add_test(tc, test_path_and_domain_limits);
	tcase_add_test(tc, test_route_length);
	tcase_add_test(tc, test_label_limit);
	tcase_add_test(tc, test_null_arguments);
	tcase_add_test(tc, test_random_paths);
	suite_add_tcase(s, tc);

	tcase_add_loop_test(tq, test_quote_table, 0,
			    sizeof(quote_cases) / sizeof(quote_cases[0]));
	tcase_add_test(tq, test_quote_room);
	tcase_add_loop_test(tq, test_unquote_table, 0,
			    sizeof(unquote_cases) / sizeof(unquote_cases[0]));
	tcase_add_test(tq, test_quote_roundtrip);
	tcase_add_test(tq, test_domain_valid);
	tcase_add_test(tq, test_literal_valid);
	tcase_add_test(tq, test_split);
	tcase_add_loop_test(tq, test_strip_extension_table, 0,
			    sizeof(ext_cases) / sizeof(ext_cases[0]));
	suite_add_tcase(s, tq);
	return s;
}

CHECK_MAIN(suite)
