/*
 * NAME
 *	cleanup_addr - envelope addresses: syntax, rewriting, expansion
 * DESCRIPTION
 *	cleanup_addr_check() checks one envelope address as the client
 *	sent it (the RFC 5321 path syntax of lib/mail/addr.h, without the angle
 *	brackets; the null address only for a sender; UTF-8 only with
 *	utf8), writes its canonical form to out and appends @$myorigin
 *	to a bare name, as Postfix does for local submissions.  Returns
 *	0, or -1 with a permanent error in e ("5.1.7 ..." for a sender,
 *	"5.1.3 ..." for a recipient).
 *
 *	cleanup_addr_canon() applies canonical mapping (Postfix's
 *	canonical(5) semantics, lookup_addr()): first specific_param
 *	(sender_canonical_maps or recipient_canonical_maps), then
 *	canonical_maps, again while the address changes, at most
 *	CLEANUP_CANON_ROUNDS times (a loop is logged and the last result
 *	kept).  The first address of a result is used.  The null sender
 *	is left alone.  Returns 0, or -1 with a temporary error in e when
 *	a table lookup fails.
 *
 *	cleanup_addr_virtual() expands a recipient through
 *	virtual_alias_maps into out, as Postfix's cleanup does: every
 *	address of a result is expanded again, except an address that
 *	maps to a list holding itself (kept as it is: "a@x a@x, b@y" also
 *	delivers to a@x).  Nesting deeper than CLEANUP_VIRTUAL_DEPTH (a
 *	loop) or more than expansion_limit addresses from one recipient
 *	give a temporary error "4.6.0", as in Postfix: the message is not
 *	accepted until the table is fixed.  A final recipient that is not
 *	the original address records the original (or the client's
 *	ORCPT) as its original recipient.  Returns 0, or -1 with e set
 *	(also 5.5.3 when out is full).  With map false (the
 *	submission's receive_override_options say no_address_mappings)
 *	the address goes into out as it is.
 *
 *	cleanup_rcpts_*: the list of final recipients, without duplicates
 *	(compared without regard to ASCII case; the first one's ORCPT and
 *	NOTIFY win), at most max.  cleanup_rcpts_add() returns 1 (added),
 *	0 (a duplicate) or -1 (the list is full).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cleanup.h"
#include "hdr_addr.h"
#include "log.h"
#include "lookup_clnt.h"
#include "mem.h"
#include "params.h"
#include "str.h"
#include "table.h"

void
cleanup_err_set(struct cleanup_err *e, int status, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	va_start(ap, fmt);
	(void) vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

/* append_origin - out = addr, plus @myorigin when it has no domain */
static int
append_origin(const char *addr, bool has_domain, char *out, size_t outsz)
{
	if (has_domain || *addr == '\0')
		return str_copy(out, outsz, addr);
	return str_fmt(out, outsz, "%s@%s", addr, cfg->myorigin);
}

int
cleanup_addr_check(const char *in, bool sender, bool utf8, char *out,
		   size_t outsz, struct cleanup_err *e)
{
	char    path[ADDR_PATH_MAX + 1];
	size_t  n = strlen(in), used;
	unsigned flags = ADDR_ALLOW_NO_DOMAIN;
	struct addr a;
	struct addr_error ae;
	const char *what = sender ? "sender" : "recipient";
	const char *dsn = sender ? "5.1.7" : "5.1.3";

	if (sender && n == 0) {
		out[0] = '\0';
		return 0;
	}
	if (n + 2 > ADDR_PATH_MAX) {
		cleanup_err_set(e, CLEANUP_STAT_PERM, "%s Bad %s address syntax: "
				"address longer than %d octets", dsn, what,
				ADDR_PATH_MAX - 2);
		return -1;
	}
	(void) str_fmt(path, sizeof(path), "<%s>", in);
	if (sender)
		flags |= ADDR_ALLOW_NULL | ADDR_SENDER;
	if (utf8)
		flags |= ADDR_SMTPUTF8;
	if (addr_parse_path(path, n + 2, flags, &a, &used, &ae) < 0) {
		cleanup_err_set(e, CLEANUP_STAT_PERM, "%s Bad %s address syntax: "
				"%s", ae.dsn, what, ae.text);
		return -1;
	}
	if (used != n + 2) {
		cleanup_err_set(e, CLEANUP_STAT_PERM, "%s Bad %s address syntax: "
				"text after the address", dsn, what);
		return -1;
	}
	if (append_origin(a.addr, a.has_domain || a.is_null, out, outsz) < 0) {
		cleanup_err_set(e, CLEANUP_STAT_PERM, "%s Bad %s address syntax: "
				"address too long", dsn, what);
		return -1;
	}
	return 0;
}

struct first_ctx {
	char   *out;
	size_t	outsz;
	bool	found;
};

/* first_addr - keep the first address of a result */
static int
first_addr(void *ctx, const char *a, unsigned aflags)
{
	struct first_ctx *f = ctx;

	if (append_origin(a, !(aflags & HDR_ADDR_F_NO_DOMAIN), f->out, f->outsz) == 0)
		f->found = true;
	return 1;				/* stop */
}

int
cleanup_addr_canon(const char *specific_param, const char *addr, char *out,
		   size_t outsz, struct cleanup_err *e)
{
	const char *params[2] = {specific_param, "canonical_maps"};
	char    cur[CLEANUP_ADDR_MAX + 1], next[CLEANUP_ADDR_MAX + 1];
	struct buf v;
	int     round;

	if (str_copy(cur, sizeof(cur), addr) < 0) {
		cleanup_err_set(e, CLEANUP_STAT_PERM, "5.1.3 Address too long");
		return -1;
	}
	if (*addr == '\0')
		return str_copy(out, outsz, "");
	buf_init(&v, TABLE_VALUE_MAX);
	for (round = 0; round < CLEANUP_CANON_ROUNDS; round++) {
		bool    changed = false;

		for (int i = 0; i < 2; i++) {
			struct first_ctx f = {.out = next, .outsz = sizeof(next)};
			int     r = lookup_addr(params[i], cur, &v);

			if (r < 0) {
				cleanup_err_set(e, CLEANUP_STAT_TEMP, "4.3.0 Temporary "
						"lookup failure (%s)", params[i]);
				log_warn("%s lookup of %s failed: %s", params[i], cur,
					 lookup_clnt_error());
				buf_free(&v);
				return -1;
			}
			if (r == 0)
				continue;
			(void) hdr_addr_walk(v.data, v.len, HDR_ADDR_UTF8, 1,
					     first_addr, &f, NULL);
			if (!f.found) {
				log_warn("%s: result for %s is not an address: %.100s "
					 "(ignored)", params[i], cur, buf_str(&v));
				continue;
			}
			if (str_casecmp(next, cur) != 0) {
				(void) str_copy(cur, sizeof(cur), next);
				changed = true;
			}
		}
		if (!changed)
			break;
	}
	if (round == CLEANUP_CANON_ROUNDS)
		log_warn("canonical mapping of %s does not settle after %d rounds "
			 "(a loop in the tables?); using %s", addr, round, cur);
	buf_free(&v);
	return str_copy(out, outsz, cur);
}

/* -- the recipient list ------------------------------------------------ */

static uint64_t
hash_nocase(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char) (c - 'A' + 'a');
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

void
cleanup_rcpts_init(struct cleanup_rcpts *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
}

void
cleanup_rcpts_free(struct cleanup_rcpts *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].addr);
		free(l->v[i].orcpt);
		free(l->v[i].notify);
	}
	free(l->v);
	free(l->set);
	memset(l, 0, sizeof(*l));
}

/* set_slot - where s is or would go in the set */
static size_t
set_slot(const struct cleanup_rcpts *l, const char *s)
{
	size_t  i = (size_t) (hash_nocase(s) & (l->set_cap - 1));

	while (l->set[i] != NULL && str_casecmp(l->set[i], s) != 0)
		i = (i + 1) & (l->set_cap - 1);
	return i;
}

static void
set_grow(struct cleanup_rcpts *l)
{
	char  **old = l->set;
	size_t  old_cap = l->set_cap;

	l->set_cap = old_cap ? 2 * old_cap : 64;
	l->set = xcalloc(l->set_cap, sizeof(char *));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i] != NULL)
			l->set[set_slot(l, old[i])] = old[i];
	free(old);
}

int
cleanup_rcpts_add(struct cleanup_rcpts *l, const char *addr, const char *orcpt,
		  const char *notify)
{
	size_t  slot;

	if (2 * (l->n + 1) > l->set_cap)
		set_grow(l);
	slot = set_slot(l, addr);
	if (l->set[slot] != NULL)
		return 0;
	if (l->n >= l->max)
		return -1;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n].addr = xstrdup(addr);
	l->v[l->n].orcpt = orcpt ? xstrdup(orcpt) : NULL;
	l->v[l->n].notify = notify ? xstrdup(notify) : NULL;
	l->set[slot] = l->v[l->n].addr;
	l->n++;
	return 1;
}

/* -- virtual alias expansion ------------------------------------------- */

struct pending {
	char   *addr;
	int	depth;
};

struct expand_ctx {
	struct pending **q;
	size_t *nq;
	size_t *qcap;
	const char *self;
	int	depth;
	size_t	valid;
	bool	self_seen;
};

/* add_result - one address of a virtual result: queue it for expansion */
static int
add_result(void *ctx, const char *a, unsigned aflags)
{
	struct expand_ctx *x = ctx;
	char    full[CLEANUP_ADDR_MAX + 1];

	if (append_origin(a, !(aflags & HDR_ADDR_F_NO_DOMAIN), full, sizeof(full)) < 0)
		return 0;
	x->valid++;
	if (str_casecmp(full, x->self) == 0) {
		x->self_seen = true;
		return 0;
	}
	if (*x->nq == *x->qcap) {
		*x->qcap = *x->qcap ? 2 * *x->qcap : 16;
		*x->q = xreallocarray(*x->q, *x->qcap, sizeof(**x->q));
	}
	(*x->q)[*x->nq].addr = xstrdup(full);
	(*x->q)[*x->nq].depth = x->depth + 1;
	(*x->nq)++;
	return 0;
}

/* final - one final recipient into out */
static int
final(struct cleanup_rcpts *out, const char *addr, const char *orig,
      const char *orcpt, const char *notify, struct cleanup_err *e)
{
	const char *o = orcpt;

	if (o == NULL && str_casecmp(addr, orig) != 0)
		o = orig;
	if (cleanup_rcpts_add(out, addr, o, notify) < 0) {
		cleanup_err_set(e, CLEANUP_STAT_PERM, "5.5.3 Too many recipients "
				"(cleanup_recipient_limit is %zu)", out->max);
		return -1;
	}
	return 0;
}

int
cleanup_addr_virtual(struct cleanup_rcpts *out, const char *addr,
		     const char *orcpt, const char *notify, bool map,
		     struct cleanup_err *e)
{
	struct pending *q = NULL;
	size_t  nq = 0, qcap = 0, head = 0, made = 0;
	struct buf v;
	int     ret = 0;

	if (!map || cfg->virtual_alias_maps[0] == '\0')
		return final(out, addr, addr, orcpt, notify, e);

	buf_init(&v, TABLE_VALUE_MAX);
	q = xreallocarray(NULL, qcap = 16, sizeof(*q));
	q[nq].addr = xstrdup(addr);
	q[nq++].depth = 0;
	while (head < nq && ret == 0) {
		struct pending p = q[head++];
		struct expand_ctx x = {.q = &q, .nq = &nq, .qcap = &qcap,
		.self = p.addr, .depth = p.depth};
		int     r = lookup_addr("virtual_alias_maps", p.addr, &v);

		if (r < 0) {
			cleanup_err_set(e, CLEANUP_STAT_TEMP, "4.3.0 Temporary lookup "
					"failure (virtual_alias_maps)");
			log_warn("virtual_alias_maps lookup of %s failed: %s", p.addr,
				 lookup_clnt_error());
			ret = -1;
		} else if (r == 0) {
			ret = final(out, p.addr, addr, orcpt, notify, e);
		} else if (p.depth >= CLEANUP_VIRTUAL_DEPTH) {
			cleanup_err_set(e, CLEANUP_STAT_TEMP, "4.6.0 Alias expansion "
					"error: virtual alias nesting deeper than %d "
					"for <%.200s> (a loop?)", CLEANUP_VIRTUAL_DEPTH, addr);
			log_warn("virtual_alias_maps: nesting deeper than %d expanding "
				 "%s (a loop?): message not accepted",
				 CLEANUP_VIRTUAL_DEPTH, addr);
			ret = -1;
		} else {
			size_t  before = nq;

			(void) hdr_addr_walk(v.data, v.len, HDR_ADDR_UTF8, (size_t) -1,
					     add_result, &x, NULL);
			made += nq - before;
			if (x.valid == 0) {
				cleanup_err_set(e, CLEANUP_STAT_TEMP, "4.3.0 Alias "
						"expansion error (virtual_alias_maps)");
				log_warn("virtual_alias_maps: result for %s holds no "
					 "address: %.100s", p.addr, buf_str(&v));
				ret = -1;
			} else if (made > (size_t) cfg->expansion_limit) {
				cleanup_err_set(e, CLEANUP_STAT_TEMP, "4.6.0 Alias "
						"expansion error: more than %lld addresses "
						"from <%.200s>", cfg->expansion_limit, addr);
				log_warn("virtual_alias_maps: expansion of %s exceeds "
					 "expansion_limit %lld: message not accepted",
					 addr, cfg->expansion_limit);
				ret = -1;
			} else if (x.self_seen) {
				ret = final(out, p.addr, addr, orcpt, notify, e);
			}
		}
		free(p.addr);
		q[head - 1].addr = NULL;
	}
	for (size_t i = head; i < nq; i++)
		free(q[i].addr);
	free(q);
	buf_free(&v);
	return ret;
}
