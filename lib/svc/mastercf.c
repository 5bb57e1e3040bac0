/*
 * NAME
 *	mastercf - the master.cf service table
 * DESCRIPTION
 *	See mastercf.h.  Each logical line (continuations joined, blank
 *	lines and comments dropped, by config_file_next()) is one
 *	service.  Every field is checked on its own so that one run
 *	reports every problem of every line; a line with a problem is
 *	left out of the table and the load fails.
 *
 *	-o options are checked against the parameter table here, at
 *	start-up, rather than when the master first starts the service:
 *	a misspelt option is then found by `postern check` and at start,
 *	not at the first connection hours later.
 * SECURITY
 *	master.cf decides which programs run as root, so the command
 *	must be a plain name (no '/'): the master only ever runs programs
 *	from daemon_directory.  Service names become file names under
 *	private/ and public/, so they are restricted to a safe alphabet.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mastercf.h"
#include "mem.h"
#include "num.h"
#include "param_class.h"
#include "str.h"

#define WS		" \t\r\f\v"
#define HOST_MAX	253		/* a DNS name */
#define PORT_NAME_MAX	64

/* A line being parsed, for messages. */
struct ctx {
	const char *path;
	int	line;
	struct buf *err;
	int	errors;
};

static void
problem(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct ctx *c, const char *fmt, ...)
{
	char    text[1024];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		(void) str_copy(text, sizeof(text), "(unprintable problem)");
	va_end(ap);
	config_problem(c->err, "%s, line %d: %s", c->path, c->line, text);
	c->errors++;
}

const char *
mastercf_type_name(enum svc_type t)
{
	switch (t) {
	case SVC_INET:
		return "inet";
	case SVC_UNIX:
		return "unix";
	case SVC_FIFO:
		return "fifo";
	case SVC_PASS:
		return "pass";
	}
	return "unknown";
}

/* safe_name - letters, digits, '-', '_', '.'; not "." or ".." */
static bool
safe_name(const char *s, size_t max)
{
	size_t  n = strlen(s);

	return n > 0 && n <= max && !str_eq(s, ".") && !str_eq(s, "..")
	    && str_all_in(s, n, STR_LOWER STR_UPPER STR_DIGITS "-_.");
}

/* valid_host - an IPv4 address or a host name */
static bool
valid_host(const char *h)
{
	struct in_addr a;

	if (strspn(h, "0123456789.") == strlen(h))
		return inet_pton(AF_INET, h, &a) == 1;
	return safe_name(h, HOST_MAX);
}

/* parse_inet - split an inet service field into host and numeric port */
static int
parse_inet(struct ctx *c, const char *name, struct mastercf_entry *e)
{
	const char *portstr, *colon;
	struct in6_addr a6;
	struct servent *se;
	uint64_t port;
	char   *h = NULL;
	char    num[8];

	if (name[0] == '[') {
		const char *rb = strchr(name, ']');

		if (rb == NULL || rb[1] != ':') {
			problem(c, "service \"%.100s\": write an IPv6 address as "
				"[address]:port", name);
			return -1;
		}
		h = xmemdup(name + 1, (size_t) (rb - name - 1));
		if (inet_pton(AF_INET6, h, &a6) != 1) {
			problem(c, "service \"%.100s\": bad IPv6 address \"%.100s\"",
				name, h);
			goto fail;
		}
		portstr = rb + 2;
	} else if ((colon = strrchr(name, ':')) != NULL) {
		h = xmemdup(name, (size_t) (colon - name));
		if (strchr(h, ':') != NULL) {
			problem(c, "service \"%.100s\": write an IPv6 address in "
				"brackets: [address]:port", name);
			goto fail;
		}
		if (!valid_host(h)) {
			problem(c, "service \"%.100s\": bad host \"%.100s\" (use an "
				"IPv4 address, [IPv6 address] or a host name)",
				name, h);
			goto fail;
		}
		portstr = colon + 1;
	} else {
		portstr = name;
	}
	if (*portstr >= '0' && *portstr <= '9') {
		if (num_parse_u64(portstr, 1, 65535, &port, NULL) < 0) {
			problem(c, "service \"%.100s\": bad port \"%.20s\" (use a "
				"number from 1 to 65535 or a name from "
				"/etc/services)", name, portstr);
			goto fail;
		}
	} else if (!safe_name(portstr, PORT_NAME_MAX)) {
		problem(c, "service \"%.100s\": bad port \"%.100s\" (use a number "
			"from 1 to 65535 or a name from /etc/services)", name,
			portstr);
		goto fail;
	} else if ((se = getservbyname(portstr, "tcp")) == NULL) {
		problem(c, "service \"%.100s\": unknown port name \"%s\" (it is "
			"not in /etc/services as tcp; use a port number)", name,
			portstr);
		goto fail;
	} else {
		port = ntohs((uint16_t) se->s_port);
	}
	(void) str_fmt(num, sizeof(num), "%u", (unsigned) port);
	e->host = h;
	e->port = xstrdup(num);
	return 0;

fail:
	free(h);
	return -1;
}

/* parse_yn - a y / n / - field */
static int
parse_yn(struct ctx *c, const char *field, const char *what, bool def,
	 bool *out)
{
	if (str_eq(field, "-"))
		*out = def;
	else if (str_eq(field, "y"))
		*out = true;
	else if (str_eq(field, "n"))
		*out = false;
	else {
		problem(c, "bad %s field \"%.20s\" (use y, n or -)", what, field);
		return -1;
	}
	return 0;
}

static int
parse_wakeup(struct ctx *c, const char *field, struct mastercf_entry *e)
{
	char    digits[16];
	size_t  n = strlen(field);
	uint64_t v;
	bool    q = false;

	if (str_eq(field, "-")) {
		e->wakeup = 0;
		e->wakeup_if_used = false;
		return 0;
	}
	if (n > 0 && field[n - 1] == '?') {
		q = true;
		n--;
	}
	if (n > 0 && n < sizeof(digits)) {
		memcpy(digits, field, n);
		digits[n] = '\0';
	} else {
		digits[0] = '\0';		/* not a number */
	}
	if (num_parse_u64(digits, 0, MASTERCF_WAKEUP_MAX, &v, NULL) < 0) {
		problem(c, "bad wakeup field \"%.20s\" (use - or a number of "
			"seconds from 0 to %d, optionally followed by '?')",
			field, MASTERCF_WAKEUP_MAX);
		return -1;
	}
	e->wakeup = (int) v;
	e->wakeup_if_used = q && v > 0;
	return 0;
}

static int
parse_maxproc(struct ctx *c, const char *field, const struct params *p,
	      struct mastercf_entry *e)
{
	long long v;

	if (str_eq(field, "-")) {
		if (p != NULL) {
			v = p->default_process_limit;
		} else {
			const struct param_info *pi = param_find("default_process_limit");

			if (pi == NULL || num_parse_int(pi->def, 0, MASTERCF_MAXPROC_MAX,
							&v, NULL) < 0)
				log_panic("mastercf: bad default_process_limit default");
		}
	} else if (num_parse_int(field, 0, MASTERCF_MAXPROC_MAX, &v, NULL) < 0) {
		problem(c, "bad maxproc field \"%.20s\" (use - or a number from "
			"0 to %d; 0 means no limit)", field, MASTERCF_MAXPROC_MAX);
		return -1;
	}
	e->maxproc = (int) v;
	e->maxproc_default = str_eq(field, "-");
	return 0;
}

/* check_override - check one -o name=value */
static int
check_override(struct ctx *c, const char *nv)
{
	const struct param_info *pi = NULL;
	const char *eq = strchr(nv, '=');
	char    name[64];
	char    why[512];
	size_t  n;

	if (eq == NULL || eq == nv) {
		problem(c, "-o \"%.100s\": expected name=value", nv);
		return -1;
	}
	n = (size_t) (eq - nv);
	if (n < sizeof(name)) {
		memcpy(name, nv, n);
		name[n] = '\0';
		pi = param_find(name);
	}
	if (pi == NULL && n < sizeof(name) && param_class(name, NULL) == PARAM_IGNORED)
		return 0;		/* instance_notes() notes it */
	if (pi == NULL) {
		if (n < sizeof(name))
			problem(c, "-o \"%.100s\": %s", nv, config_unused_why(name, name));
		else
			problem(c, "-o \"%.100s\": unknown parameter \"%.*s\" (check "
				"the name)", nv, 100, nv);
		return -1;
	}
	if (config_check_value(pi, eq + 1, why, sizeof(why)) < 0) {
		problem(c, "-o \"%.100s\": bad value for %s: %s", nv, pi->name, why);
		return -1;
	}
	return 0;
}

static void
entry_free(struct mastercf_entry *e)
{
	free(e->name);
	free(e->host);
	free(e->port);
	if (e->argv)
		for (int i = 0; i < e->argc; i++)
			free(e->argv[i]);
	free(e->argv);
	if (e->overrides)
		for (int i = 0; i < e->n_overrides; i++)
			free(e->overrides[i]);
	free(e->overrides);
	memset(e, 0, sizeof(*e));
}

/* parse_command - command name, arguments and -o options */
static int
parse_command(struct ctx *c, const char *cmd, char *rest,
	      struct mastercf_entry *e)
{
	char   *tok;
	int     bad = 0;

	if (strchr(cmd, '/') != NULL) {
		problem(c, "command \"%.100s\" must be a program name in "
			"daemon_directory, without '/'", cmd);
		bad = 1;
	} else if (!safe_name(cmd, MASTERCF_NAME_MAX)) {
		problem(c, "bad command \"%.100s\" (a program name has letters, "
			"digits, '-', '_' and '.')", cmd);
		bad = 1;
	}
	e->argv = xcalloc(MASTERCF_ARGS_MAX + 1, sizeof(*e->argv));
	e->overrides = xcalloc(MASTERCF_ARGS_MAX + 1, sizeof(*e->overrides));
	e->argv[e->argc++] = xstrdup(cmd);
	while ((tok = str_split(&rest, WS)) != NULL) {
		if (str_eq(tok, "-o")) {
			if ((tok = str_split(&rest, WS)) == NULL) {
				problem(c, "-o at the end of the line (write -o "
					"name=value)");
				return -1;
			}
			if (check_override(c, tok) < 0) {
				bad = 1;
				continue;
			}
			if (e->n_overrides >= MASTERCF_ARGS_MAX) {
				problem(c, "more than %d -o options (move settings "
					"to main.cf)", MASTERCF_ARGS_MAX);
				return -1;
			}
			e->overrides[e->n_overrides++] = xstrdup(tok);
		} else {
			if (e->argc >= MASTERCF_ARGS_MAX) {
				problem(c, "more than %d command arguments",
					MASTERCF_ARGS_MAX);
				return -1;
			}
			e->argv[e->argc++] = xstrdup(tok);
		}
	}
	return bad ? -1 : 0;
}

/* parse_line - one service line into e; -1 after reporting problems */
static int
parse_line(struct ctx *c, char *text, const struct params *p,
	   struct mastercf_entry *e)
{
	char   *fld[8];
	char   *rest = text;
	int     n = 0, bad = 0;
	bool    type_ok = true;

	memset(e, 0, sizeof(*e));
	e->line = c->line;
	while (n < 8 && (fld[n] = str_split(&rest, WS)) != NULL)
		n++;
	if (n < 8) {
		problem(c, "%d fields, expected 8 or more: service type private "
			"unpriv chroot wakeup maxproc command [args]", n);
		return -1;
	}

	if (str_eq(fld[1], "inet"))
		e->type = SVC_INET;
	else if (str_eq(fld[1], "unix"))
		e->type = SVC_UNIX;
	else if (str_eq(fld[1], "fifo"))
		e->type = SVC_FIFO;
	else if (str_eq(fld[1], "pass"))
		e->type = SVC_PASS;
	else {
		problem(c, "bad type \"%.20s\" (use inet, unix, fifo or pass)",
			fld[1]);
		type_ok = false;
		bad = 1;
	}

	e->name = xstrdup(fld[0]);
	if (type_ok && e->type == SVC_INET) {
		if (parse_inet(c, fld[0], e) < 0)
			bad = 1;
	} else if (type_ok && !safe_name(fld[0], MASTERCF_NAME_MAX)) {
		problem(c, "bad service name \"%.100s\" (use up to %d letters, "
			"digits, '-', '_' and '.')", fld[0], MASTERCF_NAME_MAX);
		bad = 1;
	}

	if (parse_yn(c, fld[2], "private", !(type_ok && e->type == SVC_INET),
		     &e->private_) < 0)
		bad = 1;
	else if (type_ok && e->type == SVC_INET && e->private_) {
		problem(c, "an inet service cannot be private (use n or -)");
		bad = 1;
	}
	if (parse_yn(c, fld[3], "unpriv", true, &e->unpriv) < 0)
		bad = 1;
	if (parse_yn(c, fld[4], "chroot", true, &e->chroot) < 0)
		bad = 1;
	if (parse_wakeup(c, fld[5], e) < 0)
		bad = 1;
	if (parse_maxproc(c, fld[6], p, e) < 0)
		bad = 1;
	if (parse_command(c, fld[7], rest, e) < 0)
		bad = 1;
	if (bad) {
		entry_free(e);
		return -1;
	}
	return 0;
}

/* same_service - true when a and b cannot both exist */
static bool
same_service(const struct mastercf_entry *a, const struct mastercf_entry *b)
{
	if (a->type == SVC_INET || b->type == SVC_INET) {
		if (a->type != b->type)
			return false;
		if (!str_eq(a->port, b->port))
			return false;
		if (a->host == NULL || b->host == NULL)
			return a->host == b->host;
		return str_casecmp(a->host, b->host) == 0;
	}
	if (!str_eq(a->name, b->name))
		return false;
	/* unix, fifo and pass services are files in private/ or public/. */
	return a->type == b->type || a->private_ == b->private_;
}

int
mastercf_load(const char *path, const struct params *p, struct mastercf *out,
	      struct buf *err)
{
	struct config_file f;
	struct mastercf_entry e;
	struct ctx c;
	size_t  cap = 0;
	bool    dup;

	out->v = NULL;
	out->n = 0;
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.err = err;
	if (config_file_open(&f, path, MASTERCF_FILE_MAX, CONFIG_LINE_MAX, err) < 0)
		return -1;
	while (config_file_next(&f, &c.line, err) > 0) {
		if (parse_line(&c, f.line.data, p, &e) < 0)
			continue;
		dup = false;
		for (size_t i = 0; i < out->n && !dup; i++) {
			if (same_service(&out->v[i], &e)) {
				dup = true;
				problem(&c, "service \"%.100s\" (%s) is already "
					"defined at line %d as \"%.100s\" (%s) "
					"(remove one of the two)", e.name,
					mastercf_type_name(e.type), out->v[i].line,
					out->v[i].name,
					mastercf_type_name(out->v[i].type));
			}
		}
		if (dup) {
			entry_free(&e);
			continue;
		}
		if (out->n >= MASTERCF_SERVICES_MAX) {
			problem(&c, "more than %d services (remove some)",
				MASTERCF_SERVICES_MAX);
			entry_free(&e);
			break;
		}
		if (out->n == cap) {
			cap = cap ? cap * 2 : 16;
			out->v = xreallocarray(out->v, cap, sizeof(*out->v));
		}
		out->v[out->n++] = e;
	}
	c.errors += f.errors;
	config_file_close(&f);
	if (c.errors > 0) {
		mastercf_free(out);
		return -1;
	}
	return 0;
}

void
mastercf_free(struct mastercf *mc)
{
	for (size_t i = 0; i < mc->n; i++)
		entry_free(&mc->v[i]);
	free(mc->v);
	mc->v = NULL;
	mc->n = 0;
}
