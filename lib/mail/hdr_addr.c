/*
 * NAME
 *	hdr_addr - addresses from To, Cc, Bcc, From and Delivered-To headers
 * DESCRIPTION
 *	See hdr_addr.h.  Two layers:
 *
 *	lex() turns the value into tokens: atoms, quoted strings, domain
 *	literals, the specials < > @ , ; : . and BAD (anything that makes
 *	the element it is in malformed: a stray ')' ']' or '\', a control
 *	character, an unterminated quote or literal, a comment that is
 *	unterminated or nested too deep or holds a control).  White space
 *	and comments produce nothing.  A token is a span of the input;
 *	nothing is copied yet.
 *
 *	hdr_addr_walk() runs a small state machine over the tokens of
 *	one list element at a time (an element ends at a ',' outside
 *	angle brackets, at a ';', or at the end), keeping the tokens
 *	that may form the address: everything before '<' is a display
 *	name and is forgotten when '<' comes.  At the end of the element
 *	build() checks the kept tokens against
 *	    [route] word *("." / word) ["@" domain]
 *	and makes the canonical form with addr_quote_local().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "hdr_addr.h"
#include "mem.h"

enum tok_type {
	T_END, T_BAD, T_ATOM, T_QSTR, T_DLIT,
	T_LT, T_GT, T_AT, T_COMMA, T_SEMI, T_COLON, T_DOT,
};

struct tok {
	enum tok_type type;
	size_t	off;		/* span in the value; T_QSTR: between quotes */
	size_t	len;
};

struct lexer {
	const char *s;
	size_t	n;
	size_t	i;
};

/* One list element's state. */
struct elem {
	struct tok tok[HDR_ADDR_MAX];	/* tokens that may be the address */
	size_t	ntok;
	size_t	bytes;		/* input bytes spanned by tok[] */
	bool	overflow;	/* a token did not fit */
	bool	bad;
	bool	any;		/* not an empty element */
	bool	in_angle;
	bool	saw_angle;
	bool	angle_done;
	bool	saw_at;
};

static inline bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static inline bool
is_fws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* is_atom_char - atext, plus 8-bit octets (checked later, if used) */
static inline bool
is_atom_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/*
 * skip_comment - at '(': move past the matching ')'.  Nesting is a
 * counter; false when the comment is unterminated, nested deeper than
 * HDR_ADDR_DEPTH_MAX, or holds a control other than folding white space.
 */
static bool
skip_comment(struct lexer *lx)
{
	size_t  depth = 0;
	bool    ok = true;

	while (lx->i < lx->n) {
		unsigned char c = (unsigned char) lx->s[lx->i++];

		if (c == '(') {
			if (++depth > HDR_ADDR_DEPTH_MAX)
				ok = false;
		} else if (c == ')') {
			if (--depth == 0)
				return ok;
		} else if (c == '\\') {
			if (lx->i >= lx->n)
				return false;
			c = (unsigned char) lx->s[lx->i++];
			if (is_ctl(c) && !is_fws(c))
				ok = false;
		} else if (is_ctl(c) && !is_fws(c)) {
			ok = false;
		}
	}
	return false;
}

static void
lex(struct lexer *lx, struct tok *t)
{
	const char *s = lx->s;

	for (;;) {
		unsigned char c;

		while (lx->i < lx->n && is_fws((unsigned char) s[lx->i]))
			lx->i++;
		t->off = lx->i;
		t->len = 0;
		if (lx->i >= lx->n) {
			t->type = T_END;
			return;
		}
		c = (unsigned char) s[lx->i];
		if (c == '(') {
			if (!skip_comment(lx)) {
				t->type = T_BAD;
				return;
			}
			continue;
		}
		break;
	}

	switch (s[lx->i]) {
	case '"': {
		bool    ok = true;

		t->off = ++lx->i;
		for (;;) {
			unsigned char c;

			if (lx->i >= lx->n) {
				t->type = T_BAD;	/* unbalanced quote */
				return;
			}
			c = (unsigned char) s[lx->i];
			if (c == '"')
				break;
			if (c == '\\') {
				if (++lx->i >= lx->n) {
					t->type = T_BAD;
					return;
				}
				c = (unsigned char) s[lx->i];
			}
			if (is_ctl(c) && !is_fws(c))
				ok = false;
			lx->i++;
		}
		t->len = lx->i - t->off;
		lx->i++;
		t->type = ok ? T_QSTR : T_BAD;
		return;
	}
	case '[': {
		size_t  j = lx->i + 1;

		/*
		 * Stop at anything no supported literal holds, so that an
		 * unterminated "[" spoils only its own element.
		 */
		while (j < lx->n && s[j] != ']' && strchr("[\\,;<>()\"", s[j]) == NULL &&
		       !is_ctl((unsigned char) s[j]) && !is_fws((unsigned char) s[j]))
			j++;
		if (j >= lx->n || s[j] != ']') {
			t->type = T_BAD;
			t->len = j - lx->i;
			lx->i = j;
			return;
		}
		t->type = T_DLIT;
		t->len = j + 1 - lx->i;
		lx->i = j + 1;
		return;
	}
	case '<': t->type = T_LT; break;
	case '>': t->type = T_GT; break;
	case '@': t->type = T_AT; break;
	case ',': t->type = T_COMMA; break;
	case ';': t->type = T_SEMI; break;
	case ':': t->type = T_COLON; break;
	case '.': t->type = T_DOT; break;
	default:
		if (is_atom_char((unsigned char) s[lx->i])) {
			while (lx->i < lx->n && is_atom_char((unsigned char) s[lx->i]))
				lx->i++;
			t->type = T_ATOM;
			t->len = lx->i - t->off;
			return;
		}
		t->type = T_BAD;	/* ) ] \ or a control character */
		break;
	}
	t->len = 1;
	lx->i++;
}

static void
elem_reset(struct elem *el)
{
	el->ntok = el->bytes = 0;
	el->overflow = el->bad = el->any = false;
	el->in_angle = el->saw_angle = el->angle_done = el->saw_at = false;
}

/* keep - remember a token that may be part of the address */
static void
keep(struct elem *el, const struct tok *t)
{
	if (el->ntok >= HDR_ADDR_MAX || t->len > HDR_ADDR_MAX - el->bytes) {
		el->overflow = true;
		return;
	}
	el->tok[el->ntok++] = *t;
	el->bytes += t->len;
	if (t->type == T_AT)
		el->saw_at = true;
}

/* append - add p[0..n) to dst[*len] within size; false if no room */
static bool
append(char *dst, size_t *len, size_t size, const char *p, size_t n)
{
	if (n >= size - *len)
		return false;
	memcpy(dst + *len, p, n);
	*len += n;
	dst[*len] = '\0';
	return true;
}

static bool
has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) p[i] >= 0x80)
			return true;
	return false;
}

/*
 * build - check the kept tokens and make the canonical address in
 * out[HDR_ADDR_MAX + 1]; false when they are not an address.
 */
static bool
build(const char *s, const struct elem *el, unsigned flags, char *out,
      unsigned *aflags)
{
	char    raw[HDR_ADDR_MAX + 1];
	char    dom[ADDR_DOMAIN_MAX + 1];
	size_t  rlen = 0, dlen = 0, len, i = 0, nt = el->ntok;
	const struct tok *t = el->tok;
	bool    prev_word = false, literal = false, utf8;

	*aflags = 0;
	raw[0] = dom[0] = '\0';

	/* An obsolete route, inside <> only: "@a,@b:" */
	if (el->saw_angle && nt > 0 && t[0].type == T_AT) {
		while (i < nt && t[i].type != T_COLON) {
			if (t[i].type != T_AT || i + 1 >= nt)
				return false;
			i++;
			if (t[i].type != T_ATOM && t[i].type != T_DLIT)
				return false;
			while (i < nt && (t[i].type == T_ATOM || t[i].type == T_DOT ||
					  t[i].type == T_DLIT))
				i++;
			if (i < nt && t[i].type == T_COMMA)
				i++;
		}
		if (i >= nt)
			return false;
		i++;		/* the ':' */
	}

	/* The local part: words and dots, no two words side by side. */
	for (; i < nt; i++) {
		const struct tok *k = &t[i];

		if (k->type == T_DOT) {
			if (!append(raw, &rlen, sizeof(raw), ".", 1))
				return false;
			prev_word = false;
		} else if (k->type == T_ATOM || k->type == T_QSTR) {
			if (prev_word)
				return false;
			prev_word = true;
			if (k->type == T_ATOM) {
				if (!append(raw, &rlen, sizeof(raw), s + k->off, k->len))
					return false;
				continue;
			}
			for (size_t j = k->off; j < k->off + k->len; j++) {
				if (s[j] == '\\')
					j++;
				/* Unfold: line ends inside quotes go. */
				if (s[j] == '\r' || s[j] == '\n')
					continue;
				if (!append(raw, &rlen, sizeof(raw), s + j, 1))
					return false;
			}
		} else {
			break;
		}
	}
	if (rlen == 0)
		return false;

	/* The domain, if any. */
	if (i < nt) {
		if (t[i].type != T_AT || ++i >= nt)
			return false;
		if (t[i].type == T_DLIT) {
			if (!addr_literal_valid(s + t[i].off, t[i].len) ||
			    !append(dom, &dlen, sizeof(dom), s + t[i].off, t[i].len))
				return false;
			literal = true;
			i++;
		} else {
			for (; i < nt && (t[i].type == T_ATOM || t[i].type == T_DOT); i++)
				if (!append(dom, &dlen, sizeof(dom), s + t[i].off, t[i].len))
					return false;
			for (size_t j = 0; j < dlen; j++)
				if (dom[j] >= 'A' && dom[j] <= 'Z')
					dom[j] = (char) (dom[j] + 32);
			if (!addr_domain_valid(dom, (flags & HDR_ADDR_UTF8) != 0))
				return false;
		}
		if (i < nt)
			return false;
	}

	utf8 = has_8bit(raw, rlen) || has_8bit(dom, dlen);
	if (utf8 && !(flags & HDR_ADDR_UTF8))
		return false;
	/* Checks controls, NUL, C1 and UTF-8 well-formedness. */
	if (addr_quote_local(raw, rlen, out, HDR_ADDR_MAX + 1) < 0)
		return false;
	len = strlen(out);
	if (dlen > 0) {
		if (!append(out, &len, HDR_ADDR_MAX + 1, "@", 1) ||
		    !append(out, &len, HDR_ADDR_MAX + 1, dom, dlen))
			return false;
	} else {
		*aflags |= HDR_ADDR_F_NO_DOMAIN;
	}
	if (literal)
		*aflags |= HDR_ADDR_F_LITERAL;
	if (utf8)
		*aflags |= HDR_ADDR_F_UTF8;
	return true;
}

/* finish - the element is complete: pass its address on, or count it */
static int
finish(const char *s, struct elem *el, unsigned flags, size_t max,
       hdr_addr_fn *fn, void *ctx, struct hdr_addr_stats *st)
{
	char    out[HDR_ADDR_MAX + 1];
	unsigned aflags;
	int     r = 0;

	if (!el->any) {
		/* ",," or a group's end */
	} else if (el->bad || el->in_angle || el->overflow || el->ntok == 0 ||
		   !build(s, el, flags, out, &aflags)) {
		st->skipped++;
	} else if (st->found >= max) {
		st->dropped++;
	} else {
		st->found++;
		r = fn(ctx, out, aflags);
	}
	elem_reset(el);
	return r;
}

int
hdr_addr_walk(const char *value, size_t n, unsigned flags, size_t max,
	      hdr_addr_fn *fn, void *ctx, struct hdr_addr_stats *st)
{
	struct hdr_addr_stats dummy;
	struct lexer lx = {value, n, 0};
	struct elem *el = xmalloc(sizeof(*el));
	struct tok t;
	bool    in_group = false;
	int     r = 0;

	if (st == NULL)
		st = &dummy;
	st->found = st->skipped = st->dropped = 0;
	elem_reset(el);
	for (;;) {
		lex(&lx, &t);
		switch (t.type) {
		case T_END:
			r = finish(value, el, flags, max, fn, ctx, st);
			goto out;
		case T_COMMA:
			if (el->in_angle) {
				keep(el, &t);	/* route separator */
				break;
			}
			if ((r = finish(value, el, flags, max, fn, ctx, st)) != 0)
				goto out;
			break;
		case T_SEMI:
			/* Ends the group, and an element in any case. */
			if ((r = finish(value, el, flags, max, fn, ctx, st)) != 0)
				goto out;
			in_group = false;
			break;
		case T_COLON:
			if (el->in_angle) {
				keep(el, &t);	/* end of a route */
			} else if (!in_group && !el->saw_angle && !el->saw_at &&
				   !el->bad) {
				/* "display name:" opens a group; the name is dropped. */
				elem_reset(el);
				in_group = true;
			} else {
				el->bad = el->any = true;
			}
			break;
		case T_LT:
			el->any = true;
			if (el->in_angle || el->angle_done) {
				el->bad = true;
				break;
			}
			/* What came before was a display name. */
			el->ntok = el->bytes = 0;
			el->overflow = el->saw_at = false;
			el->in_angle = el->saw_angle = true;
			break;
		case T_GT:
			el->any = true;
			if (!el->in_angle)
				el->bad = true;
			el->in_angle = false;
			el->angle_done = true;
			break;
		case T_BAD:
			el->bad = el->any = true;
			break;
		default:
			el->any = true;
			if (el->angle_done)
				el->bad = true;	/* junk after '>' */
			else
				keep(el, &t);
			break;
		}
	}
out:
	free(el);
	return r;
}

struct collect {
	char  **list;
	size_t	n;
};

static int
collect(void *ctx, const char *addr, unsigned aflags)
{
	struct collect *c = ctx;

	(void) aflags;
	c->list = xreallocarray(c->list, c->n + 1, sizeof(*c->list));
	c->list[c->n++] = xstrdup(addr);
	return 0;
}

size_t
hdr_addr_list(const char *value, size_t n, unsigned flags, size_t max,
	      char ***out, struct hdr_addr_stats *st)
{
	struct collect c = {NULL, 0};

	(void) hdr_addr_walk(value, n, flags, max, collect, &c, st);
	*out = c.list;
	return c.n;
}

void
hdr_addr_list_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}
