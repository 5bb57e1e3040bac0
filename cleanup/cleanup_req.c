/*
 * NAME
 *	cleanup_req - parse and check a SUBMIT request
 * DESCRIPTION
 *	cleanup_req_parse() takes a received message apart: type
 *	CLEANUP_REQ_SUBMIT; "flags" (only CLEANUP_F_* bits), "offset",
 *	"length"; then the optional attributes, each at most once and in
 *	the order of attrs[] below; "sender"; then per recipient an
 *	optional "orcpt", an optional "notify" and "rcpt"; nothing after.
 *	Each value is checked against its own syntax and bound (attrs[]),
 *	and copied (the request outlives the message buffer).  It returns
 *	0, or -1 with why saying which record was wrong and how; req is
 *	then empty.  Envelope addresses are only bounded here; their
 *	syntax is checked with the message (cleanup_addr.c), because a
 *	bad address is the client's answer to give (5.1.3), not a broken
 *	protocol.
 *
 *	cleanup_req_free() releases what a request holds.
 * SECURITY
 *	The peer is a daemon that may have been taken over (smtpd) or a
 *	daemon relaying what a local user wrote (pickup).  Values end up
 *	in queue file attributes, headers and log lines, so control
 *	characters, spaces where a token is expected, malformed UTF-8 and
 *	over-long values are refused here, before anything else sees them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "header.h"
#include "mem.h"
#include "str.h"
#include "utf8.h"

enum vkind {
	V_HOST,			/* letters, digits, . - _ (a host name), or "unknown" */
	V_IPADDR,		/* inet_pton() IPv4 or IPv6 */
	V_TOKEN,		/* printable ASCII, no space */
	V_WORD,			/* letters, digits, - _ */
	V_TEXT,			/* UTF-8, no control characters */
	V_PRINT,		/* printable ASCII and space */
	V_RET,			/* FULL or HDRS */
	V_LINES,		/* header lines "Name: text", LF-separated */
	V_NUM_UID,
	V_NUM_BOOL,
};

struct attr_def {
	const char *name;
	enum vkind kind;
	size_t	max;
	size_t	field;		/* offsetof in struct cleanup_req */
};

#define F(x) offsetof(struct cleanup_req, x)

/* The optional attributes, in their wire order. */
static const struct attr_def attrs[] = {
	{"client_name", V_HOST, CLEANUP_HOST_MAX, F(client_name)},
	{"client_addr", V_IPADDR, 64, F(client_addr)},
	{"helo", V_TOKEN, CLEANUP_HOST_MAX, F(helo)},
	{"protocol", V_WORD, 16, F(protocol)},
	{"tls", V_PRINT, CLEANUP_TLS_MAX, F(tls)},
	{"sasl_method", V_WORD, 32, F(sasl_method)},
	{"sasl_username", V_TEXT, CLEANUP_ATTR_MAX, F(sasl_username)},
	{"uid", V_NUM_UID, 0, F(uid)},
	{"fullname", V_TEXT, CLEANUP_FULLNAME_MAX, F(fullname)},
	{"envid", V_TOKEN, CLEANUP_ENVID_MAX, F(envid)},
	{"ret", V_RET, 4, F(ret)},
	{"smtputf8", V_NUM_BOOL, 0, F(smtputf8)},
	{"filter", V_TOKEN, CLEANUP_FILTER_MAX, F(filter)},
	{"redirect", V_TOKEN, CLEANUP_ADDR_MAX, F(redirect)},
	{"prepend", V_LINES, 64 * 1024, F(prepend)},
};

#define N_ATTRS (sizeof(attrs) / sizeof(attrs[0]))

static bool
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* value_ok - s (NUL-free, at most max bytes) has the syntax of kind */
static bool
value_ok(enum vkind kind, const char *s)
{
	size_t  n = strlen(s);
	unsigned char buf[sizeof(struct in6_addr)];

	if (n == 0)
		return false;
	switch (kind) {
	case V_HOST:
		for (const char *p = s; *p; p++)
			if (!is_alnum(*p) && *p != '.' && *p != '-' && *p != '_')
				return false;
		return true;
	case V_IPADDR:
		return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
	case V_TOKEN:
		for (const char *p = s; *p; p++)
			if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e)
				return false;
		return true;
	case V_WORD:
		for (const char *p = s; *p; p++)
			if (!is_alnum(*p) && *p != '-' && *p != '_')
				return false;
		return true;
	case V_TEXT:
		return !str_has_ctl(s, n) && utf8_valid(s, n);
	case V_PRINT:
		for (const char *p = s; *p; p++)
			if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
				return false;
		return true;
	case V_RET:
		return str_eq(s, "FULL") || str_eq(s, "HDRS");
	case V_LINES:
		for (const char *p = s; *p; ) {
			size_t  ln = strcspn(p, "\n");
			const char *colon = memchr(p, ':', ln);

			if (ln == 0 || colon == NULL || str_has_ctl(p, ln)
			    || !utf8_valid(p, ln) || !header_name_valid(p, (size_t) (colon - p)))
				return false;
			p += ln;
			if (*p == '\n')
				p++;
		}
		return true;
	default:
		return false;
	}
}

/* notify_ok - NEVER, or a list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1) */
static bool
notify_ok(const char *s)
{
	char    copy[CLEANUP_NOTIFY_MAX + 1], *p = copy, *w;
	int     n = 0;
	bool    never = false;

	if (str_copy(copy, sizeof(copy), s) < 0 || *s == '\0')
		return false;
	if (s[strlen(s) - 1] == ',' || *s == ',' || strstr(s, ",,"))
		return false;
	while ((w = str_split(&p, ",")) != NULL) {
		if (str_casecmp(w, "NEVER") == 0)
			never = true;
		else if (str_casecmp(w, "SUCCESS") != 0 && str_casecmp(w, "FAILURE") != 0
			 && str_casecmp(w, "DELAY") != 0)
			return false;
		n++;
	}
	return n > 0 && (!never || n == 1);
}

void
cleanup_req_free(struct cleanup_req *req)
{
	for (size_t i = 0; i < N_ATTRS; i++)
		if (attrs[i].kind != V_NUM_UID && attrs[i].kind != V_NUM_BOOL)
			free(*(char **) ((char *) req + attrs[i].field));
	free(req->sender);
	for (size_t i = 0; i < req->nrcpts; i++) {
		free(req->rcpts[i].addr);
		free(req->rcpts[i].orcpt);
		free(req->rcpts[i].notify);
	}
	free(req->rcpts);
	memset(req, 0, sizeof(*req));
	req->uid = -1;
}

static int
fail(struct cleanup_req *req, char *why, size_t whylen, const char *text,
     const char *detail)
{
	(void) str_fmt(why, whylen, "%s%s%s", text, detail ? ": " : "",
		       detail ? detail : "");
	cleanup_req_free(req);
	return -1;
}

/* get_addr - an envelope address string: at most CLEANUP_ADDR_MAX bytes */
static int
get_addr(struct ipc_in *in, const char *name, char **out)
{
	const char *s;

	if (ipc_get_str(in, name, &s, CLEANUP_ADDR_MAX) < 0)
		return -1;
	*out = xstrdup(s);
	return 0;
}

int
cleanup_req_parse(struct ipc_in *in, struct cleanup_req *req, char *why,
		  size_t whylen)
{
	uint64_t v;
	const char *name, *s;
	size_t  next_attr = 0, cap = 0;

	memset(req, 0, sizeof(*req));
	req->uid = -1;
	if (in->type != CLEANUP_REQ_SUBMIT) {
		(void) str_fmt(why, whylen, "request of unknown type %u", in->type);
		return -1;
	}
	if (ipc_get_num(in, "flags", &v) < 0)
		return fail(req, why, whylen, "bad request", ipc_error(in));
	if (v & ~(uint64_t) CLEANUP_F_MASK)
		return fail(req, why, whylen, "bad request", "unknown flag bits");
	req->flags = (unsigned) v;
	if (ipc_get_num(in, "offset", &req->offset) < 0
	    || ipc_get_num(in, "length", &req->length) < 0)
		return fail(req, why, whylen, "bad request", ipc_error(in));

	/* Optional attributes, in order, each at most once. */
	while ((name = ipc_peek_name(in)) != NULL && !str_eq(name, "sender")) {
		const struct attr_def *a = NULL;
		char    detail[128];

		for (size_t i = next_attr; i < N_ATTRS; i++)
			if (str_eq(name, attrs[i].name)) {
				a = &attrs[i];
				next_attr = i + 1;
				break;
			}
		if (a == NULL) {
			(void) str_fmt(detail, sizeof(detail), "unexpected record "
				       "\"%.40s\" (unknown, repeated or out of order)", name);
			return fail(req, why, whylen, "bad request", detail);
		}
		if (a->kind == V_NUM_UID || a->kind == V_NUM_BOOL) {
			if (ipc_get_num(in, a->name, &v) < 0)
				return fail(req, why, whylen, "bad request", ipc_error(in));
			if (a->kind == V_NUM_UID) {
				if (v >= UINT32_MAX)
					return fail(req, why, whylen, "bad request",
						    "uid out of range");
				req->uid = (long long) v;
			} else {
				if (v > 1)
					return fail(req, why, whylen, "bad request",
						    "smtputf8 is not 0 or 1");
				req->smtputf8 = v == 1;
			}
			continue;
		}
		if (ipc_get_str(in, a->name, &s, a->max) < 0)
			return fail(req, why, whylen, "bad request", ipc_error(in));
		if (!value_ok(a->kind, s)) {
			(void) str_fmt(detail, sizeof(detail), "malformed %s value",
				       a->name);
			return fail(req, why, whylen, "bad request", detail);
		}
		*(char **) ((char *) req + a->field) = xstrdup(s);
	}
	if (get_addr(in, "sender", &req->sender) < 0)
		return fail(req, why, whylen, "bad request", ipc_error(in));

	/* Recipients: [orcpt] [notify] rcpt, repeated. */
	while ((name = ipc_peek_name(in)) != NULL) {
		struct cleanup_rcpt r = {0};

		if (str_eq(name, "orcpt")) {
			if (ipc_get_str(in, "orcpt", &s, CLEANUP_ADDR_MAX) < 0)
				return fail(req, why, whylen, "bad request", ipc_error(in));
			if (!value_ok(V_TEXT, s))
				return fail(req, why, whylen, "bad request",
					    "malformed orcpt value");
			r.orcpt = xstrdup(s);
			name = ipc_peek_name(in);
		}
		if (name != NULL && str_eq(name, "notify")) {
			if (ipc_get_str(in, "notify", &s, CLEANUP_NOTIFY_MAX) < 0
			    || !notify_ok(s)) {
				free(r.orcpt);
				return fail(req, why, whylen, "bad request",
					    "malformed notify value");
			}
			r.notify = xstrdup(s);
		}
		if (get_addr(in, "rcpt", &r.addr) < 0) {
			free(r.orcpt);
			free(r.notify);
			return fail(req, why, whylen, "bad request", ipc_error(in));
		}
		if (req->nrcpts == cap) {
			cap = cap ? 2 * cap : 8;
			req->rcpts = xreallocarray(req->rcpts, cap, sizeof(*req->rcpts));
		}
		req->rcpts[req->nrcpts++] = r;
	}
	if (ipc_get_end(in) < 0)
		return fail(req, why, whylen, "bad request", ipc_error(in));
	return 0;
}
