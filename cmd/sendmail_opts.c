/*
 * NAME
 *	sendmail_opts - the sendmail command line
 * DESCRIPTION
 *	See sendmail.h.  Options understood (those marked "ignored" are
 *	accepted because programs pass them, and noted for -v):
 *
 *	-bm	deliver (the default)	-bs	SMTP on stdin/stdout
 *	-bp	list the queue (mailq)	-bi	rebuild aliases (newaliases)
 *	-t	recipients from headers	-i, -oi	a lone dot is not the end
 *	-f S, -r S  envelope sender	-F NAME	full name for From:
 *	-B 7BIT|8BITMIME body type	-N DSN	never | success,delay,failure
 *	-R full|hdrs  DSN return	-V ID	DSN envelope id
 *	-c DIR	configuration directory	-C PATH	the same (a file: its directory)
 *	-q	flush the queue		-qINTERVAL, -qRsite, -qIid, -qSsite
 *					(INTERVAL ignored; the others flush)
 *	-v	verbose			-o X	-oi, else ignored (-oem -odb -odi
 *					-oQ ... are sendmail's own)
 *	-O name=value, -L label, -X file, -h hops, -e x, -p proto  ignored
 *	-I	the same as -bi		-G -U -m -n -x  ignored
 *	--	the end of the options
 * BUGS
 *	-X file is ignored rather than obeyed: writing a transcript to a
 *	file the caller names is not something a mail submission program
 *	needs to do for anyone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "hdr_addr.h"
#include "mem.h"
#include "sendmail.h"
#include "str.h"

/* Option letters that take an argument (attached or the next word). */
#define OPT_ARG		"BCFLNORVXbcefhopr"
/* Flag letters. */
#define OPT_FLAG	"GIUimntvx"

static const char *
base_name(const char *p)
{
	const char *slash = strrchr(p, '/');

	return slash ? slash + 1 : p;
}

static void
note(struct sendmail_opts *o, const char *word)
{
	if (o->nnotes < SENDMAIL_NOTES_MAX)
		o->notes[o->nnotes++] = word;
}

/* parse_notify - -N never | list of success, failure, delay */
static int
parse_notify(const char *arg, char *out, size_t size)
{
	char    copy[128], *p = copy, *w;
	bool    seen[3] = {false, false, false};
	static const char *const words[3] = {"SUCCESS", "FAILURE", "DELAY"};
	int     n = 0;

	if (str_copy(copy, sizeof(copy), arg) < 0)
		return -1;
	out[0] = '\0';
	if (str_casecmp(copy, "never") == 0)
		return str_copy(out, size, "NEVER");
	while ((w = str_split(&p, ", ")) != NULL) {
		int     k;

		for (k = 0; k < 3 && str_casecmp(w, words[k]) != 0; k++)
			;
		if (k == 3 || seen[k])
			return -1;
		seen[k] = true;
		n++;
	}
	if (n == 0)
		return -1;
	for (int k = 0; k < 3; k++)
		if (seen[k] && ((out[0] && str_append(out, size, ",") < 0)
				|| str_append(out, size, words[k]) < 0))
			return -1;
	return 0;
}

/* printable - a non-empty string of printable ASCII, at most max bytes */
static bool
printable(const char *s, size_t max)
{
	size_t  n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e)
			return false;
	return true;
}

/* option - apply one option letter with its argument (NULL for flags) */
static int
option(struct sendmail_opts *o, int c, const char *arg, const char *word,
       struct buf *err)
{
	switch (c) {
	case 'b':
		if (str_eq(arg, "m"))
			o->mode = SM_DELIVER;
		else if (str_eq(arg, "s"))
			o->mode = SM_SMTP;
		else if (str_eq(arg, "p"))
			o->mode = SM_LIST;
		else if (str_eq(arg, "i"))
			o->mode = SM_ALIASES;
		else if (str_eq(arg, "d") || str_eq(arg, "D")) {
			buf_appendf(err, "-b%s (daemon mode) is not how postern runs: "
				    "start the mail system with \"postern start\"", arg);
			return -1;
		} else {
			buf_appendf(err, "unsupported mode -b%.20s (use -bm, -bs, -bp or -bi)", arg);
			return -1;
		}
		return 0;
	case 't':
		o->extract = true;
		return 0;
	case 'I':
		o->mode = SM_ALIASES;	/* sendmail's old spelling of -bi */
		return 0;
	case 'i':
		o->ignore_dots = true;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case 'f':
	case 'r':
		o->sender = arg;
		return 0;
	case 'F':
		if (strlen(arg) > MAILDROP_ATTR_MAX - sizeof(MAILDROP_A_FULLNAME)
		    || str_has_ctl(arg, strlen(arg))) {
			buf_appendf(err, "-F: full name longer than %zu bytes or with "
				    "control characters",
				    MAILDROP_ATTR_MAX - sizeof(MAILDROP_A_FULLNAME));
			return -1;
		}
		o->fullname = arg;
		return 0;
	case 'c':
		o->config_dir = arg;
		o->config_is_file = false;
		return 0;
	case 'C':
		o->config_dir = arg;
		o->config_is_file = true;
		return 0;
	case 'B':
		if (str_casecmp(arg, "7BIT") == 0)
			o->body = "7BIT";
		else if (str_casecmp(arg, "8BITMIME") == 0)
			o->body = "8BITMIME";
		else {
			buf_appendf(err, "-B %.40s: the body type is 7BIT or 8BITMIME", arg);
			return -1;
		}
		return 0;
	case 'N':
		if (parse_notify(arg, o->notify, sizeof(o->notify)) < 0) {
			buf_appendf(err, "-N %.60s: write never, or a list of success, "
				    "failure and delay", arg);
			return -1;
		}
		return 0;
	case 'R':
		if (str_casecmp(arg, "full") == 0)
			o->ret = "FULL";
		else if (str_casecmp(arg, "hdrs") == 0)
			o->ret = "HDRS";
		else {
			buf_appendf(err, "-R %.40s: write full or hdrs", arg);
			return -1;
		}
		return 0;
	case 'V':
		if (!printable(arg, 100)) {
			buf_appendf(err, "-V: the envelope id is 1 to 100 printable "
				    "ASCII characters");
			return -1;
		}
		o->envid = arg;
		return 0;
	case 'o':
		if (str_eq(arg, "i"))
			o->ignore_dots = true;
		else
			note(o, word);
		return 0;
	default:
		/* Accepted for compatibility, no effect. */
		note(o, word);
		return 0;
	}
}

int
sendmail_opts_parse(int argc, char **argv, struct sendmail_opts *o, struct buf *err)
{
	const char *prog = argc > 0 && argv[0] ? base_name(argv[0]) : "sendmail";
	int     i;

	memset(o, 0, sizeof(*o));
	o->mode = SM_DELIVER;
	if (str_eq(prog, "mailq"))
		o->mode = SM_LIST;
	else if (str_eq(prog, "newaliases"))
		o->mode = SM_ALIASES;

	/*
	 * Recipients are collected by moving them, in order, to the end
	 * of the part of argv already seen (GNU getopt permutes the same
	 * way), so o->rcpts can point into argv.
	 */
	o->rcpts = argv + 1;
	o->nrcpts = 0;
	for (i = 1; i < argc; i++) {
		char   *a = argv[i];

		if (str_eq(a, "--")) {
			for (i++; i < argc; i++)
				argv[1 + o->nrcpts++] = argv[i];
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			argv[1 + o->nrcpts++] = a;
			continue;
		}
		for (const char *p = a + 1; *p; p++) {
			int     c = (unsigned char) *p;

			if (c == 'q') {
				/* -q, -qINTERVAL, -qRsite ...: the rest of the word. */
				if (p[1] == '\0' || p[1] == 'R' || p[1] == 'I' || p[1] == 'S')
					o->mode = SM_FLUSH;
				else if (o->mode == SM_DELIVER) {
					o->mode = SM_NOTHING;
					note(o, a);
				}
				break;
			}
			if (strchr(OPT_ARG, c) != NULL) {
				const char *arg = p + 1;

				if (*arg == '\0') {
					if (i + 1 >= argc) {
						buf_appendf(err, "option -%c needs an argument", c);
						return -1;
					}
					arg = argv[++i];
				}
				if (option(o, c, arg, a, err) < 0)
					return -1;
				break;
			}
			if (c == '-' || strchr(OPT_FLAG, c) == NULL) {
				buf_appendf(err, "unknown option -%c%s (recipients that "
					    "start with '-' go after \"--\")",
					    c >= 0x21 && c <= 0x7e ? c : '?', p == a + 1 ? "" : " in a group");
				return -1;
			}
			if (option(o, c, NULL, a, err) < 0)
				return -1;
		}
	}
	return 0;
}

int
sendmail_sender(const char *arg, char *out, size_t out_size, struct buf *err)
{
	char    copy[HDR_ADDR_MAX + 8], *t;
	char  **list = NULL;
	struct hdr_addr_stats st;
	size_t  n;

	if (strlen(arg) >= sizeof(copy)) {
		buf_appendf(err, "sender address longer than %d bytes", HDR_ADDR_MAX);
		return -1;
	}
	(void) str_copy(copy, sizeof(copy), arg);
	t = str_trim(copy);
	if (*t == '\0' || str_eq(t, "<>"))
		return str_copy(out, out_size, "");
	n = hdr_addr_list(t, strlen(t), HDR_ADDR_UTF8, 2, &list, &st);
	if (n != 1 || st.skipped > 0 || st.dropped > 0) {
		hdr_addr_list_free(list, n);
		buf_appendf(err, "bad sender address \"%.100s\": give one address, "
			    "like user@example.com, or \"\" for the null sender", arg);
		return -1;
	}
	if (str_copy(out, out_size, list[0]) < 0) {
		hdr_addr_list_free(list, n);
		buf_appendf(err, "sender address too long");
		return -1;
	}
	hdr_addr_list_free(list, n);
	return 0;
}

struct rcpt_ctx {
	char  **list;
	size_t	n, cap, max;
	bool	overflow;
};

static int
add_rcpt(void *ctx, const char *addr, unsigned aflags)
{
	struct rcpt_ctx *c = ctx;

	(void) aflags;
	if (c->n == c->max) {
		c->overflow = true;
		return 1;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 8;
		c->list = xreallocarray(c->list, c->cap, sizeof(char *));
	}
	c->list[c->n++] = xstrdup(addr);
	return 0;
}

int
sendmail_rcpts(const struct sendmail_opts *o, size_t max, char ***list, struct buf *err)
{
	struct rcpt_ctx c = {.max = max};

	*list = NULL;
	for (int i = 0; i < o->nrcpts; i++) {
		const char *a = o->rcpts[i];
		struct hdr_addr_stats st;
		size_t  before = c.n;

		(void) hdr_addr_walk(a, strlen(a), HDR_ADDR_UTF8, max, add_rcpt, &c, &st);
		if (c.overflow) {
			buf_appendf(err, "too many recipients (sendmail_recipient_limit = %zu)",
				    max);
			sendmail_rcpts_free(c.list, (int) c.n);
			return -2;
		}
		if (st.skipped > 0 || c.n == before) {
			buf_appendf(err, "bad recipient address syntax: \"%.200s\"", a);
			sendmail_rcpts_free(c.list, (int) c.n);
			return -1;
		}
	}
	*list = c.list;
	return (int) c.n;
}

void
sendmail_rcpts_free(char **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}
