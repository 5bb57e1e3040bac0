/*
 * NAME
 *	sendmail_smtp - sendmail -bs: an SMTP dialogue on stdin/stdout
 * DESCRIPTION
 *	Programs that speak SMTP to a pipe (some MUAs, "sendmail -bs" in
 *	scripts) get a small ESMTP server here: HELO, EHLO, MAIL, RCPT,
 *	DATA, RSET, NOOP, QUIT, with PIPELINING, SIZE, 8BITMIME,
 *	ENHANCEDSTATUSCODES and SMTPUTF8.  Each message is submitted
 *	through postdrop exactly as "sendmail" does; the reply to DATA
 *	says 250 only after postdrop said the file is on disk.
 *
 *	This is not smtpd: smtpd is a chrooted daemon that must never run
 *	as the invoking user with access to the queue, and a local user
 *	needs none of its policy.  The dialogue runs with the user's own
 *	privileges, and postdrop checks everything again.
 * BOUNDS
 *	Command and data lines: line_length_limit (longer data lines are
 *	kept whole, in pieces; longer commands get 500); recipients:
 *	sendmail_recipient_limit; message: message_size_limit; 20 errors
 *	end the session (421).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "esmtp_param.h"
#include "maildrop.h"
#include "mem.h"
#include "num.h"
#include "params.h"
#include "sendmail.h"
#include "smtp_reply.h"
#include "str.h"
#include "tlsio.h"

#define SMTP_ERROR_LIMIT	20
#define SMTP_OUT_FLUSH		(32 * 1024)

struct sess {
	const struct sendmail_opts *o;
	const char *config_dir;
	struct tlsio io;		/* lines in, replies out (blocking, no TLS) */
	int	errors;
	bool	have_mail;
	char	sender[ADDR_CANON_MAX + 1];
	const char *body;
	char  **rcpts;
	size_t	nrcpts, cap;
	bool	failed;			/* output failed: end */
};

static int
flush_out(struct sess *s)
{
	if (tlsio_flush(&s->io) != 0) {
		s->failed = true;
		return -1;
	}
	return 0;
}

static void
reply(struct sess *s, int code, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
reply(struct sess *s, int code, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	if (s->io.out.len > SMTP_OUT_FLUSH)
		(void) flush_out(s);
	va_start(ap, fmt);
	(void) smtp_reply_vformat(&s->io.out, code, dsn, fmt, ap);
	va_end(ap);
	if (code >= 400)
		s->errors++;
}

/*
 * next_line - the next line or piece; replies are written before the
 * program waits for input (pipelining: one write per command group).
 * Returns 1, 0 at the end of input, -1 on a read error.
 */
static int
next_line(struct sess *s, struct lb_line *l)
{
	for (;;) {
		ssize_t n;

		if (tlsio_get(&s->io, l) == LB_LINE)
			return 1;
		if (flush_out(s) < 0)
			return -1;
		n = tlsio_fill(&s->io);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
	}
}

static void
reset(struct sess *s)
{
	for (size_t i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	s->nrcpts = 0;
	s->have_mail = false;
	s->sender[0] = '\0';
	s->body = NULL;
}

/* arg_after - the text after "VERB ADDR:" (case-insensitive), or NULL */
static const char *
arg_after(const char *line, size_t n, const char *prefix)
{
	size_t  k = strlen(prefix);

	if (n < k || str_ncasecmp(line, prefix, k) != 0)
		return NULL;
	return line + k;
}

static void
do_mail(struct sess *s, const char *line, size_t n)
{
	const char *arg = arg_after(line, n, "MAIL FROM:");
	struct esmtp_param prm[ESMTP_PARAMS_MAX];
	struct addr a;
	struct addr_error e;
	size_t  used, count;

	if (arg == NULL) {
		reply(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	if (s->have_mail) {
		reply(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	n -= (size_t) (arg - line);
	if (addr_parse_path(arg, n, ADDR_ALLOW_NULL | ADDR_ALLOW_NO_DOMAIN | ADDR_SENDER
			    | ADDR_SMTPUTF8, &a, &used, &e) < 0) {
		reply(s, e.code, e.dsn, "%s", e.text);
		return;
	}
	if (esmtp_params_parse(arg + used, n - used, prm, ESMTP_PARAMS_MAX, &count, &e) < 0) {
		reply(s, e.code, e.dsn, "%s", e.text);
		return;
	}
	s->body = NULL;
	for (size_t i = 0; i < count; i++) {
		uint64_t size;

		if (str_casecmp(prm[i].key, "SIZE") == 0) {
			if (num_parse_u64(prm[i].value, 0, UINT64_MAX, &size, NULL) < 0) {
				reply(s, 501, "5.5.4", "Bad SIZE parameter");
				return;
			}
			if (cfg->message_size_limit > 0 && size > cfg->message_size_limit) {
				reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
				return;
			}
		} else if (str_casecmp(prm[i].key, "BODY") == 0) {
			if (str_casecmp(prm[i].value, "7BIT") == 0)
				s->body = "7BIT";
			else if (str_casecmp(prm[i].value, "8BITMIME") == 0)
				s->body = "8BITMIME";
			else {
				reply(s, 501, "5.5.4", "Bad BODY parameter");
				return;
			}
		} else if (str_casecmp(prm[i].key, "SMTPUTF8") == 0 && !prm[i].has_value) {
			continue;
		} else {
			reply(s, 555, "5.5.4", "Unsupported option: %s", prm[i].key);
			return;
		}
	}
	(void) str_copy(s->sender, sizeof(s->sender), a.addr);
	s->have_mail = true;
	reply(s, 250, "2.1.0", "Ok");
}

static void
do_rcpt(struct sess *s, const char *line, size_t n)
{
	const char *arg = arg_after(line, n, "RCPT TO:");
	struct addr a;
	struct addr_error e;
	size_t  used;

	if (arg == NULL) {
		reply(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	if (!s->have_mail) {
		reply(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	n -= (size_t) (arg - line);
	if (addr_parse_path(arg, n, ADDR_ALLOW_NO_DOMAIN | ADDR_SMTPUTF8, &a, &used, &e) < 0) {
		reply(s, e.code, e.dsn, "%s", e.text);
		return;
	}
	while (used < n && arg[used] == ' ')
		used++;
	if (used < n) {
		reply(s, 555, "5.5.4", "Unsupported option: %.40s", arg + used);
		return;
	}
	if (s->nrcpts >= (size_t) cfg->sendmail_recipient_limit) {
		reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (s->nrcpts == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->rcpts = xreallocarray(s->rcpts, s->cap, sizeof(char *));
	}
	s->rcpts[s->nrcpts++] = xstrdup(a.addr);
	reply(s, 250, "2.1.5", "Ok");
}

static int
put_chunk(void *ctx, const char *p, size_t n)
{
	return maildrop_out_put(ctx, QF_REC_MSG, p, n);
}

/* status_reply - the reply for postdrop's exit status */
static void
status_reply(struct sess *s, int status)
{
	switch (status) {
	case 0:
		reply(s, 250, "2.0.0", "Ok: queued");
		break;
	case EX_TEMPFAIL:
	case EX_OSERR:
	case EX_IOERR:
	case EX_CANTCREAT:
	case EX_OSFILE:
		reply(s, 451, "4.3.0", "Error: queue file write error (postdrop exit status %d)",
		      status);
		break;
	default:
		reply(s, 554, "5.3.0", "Error: submission refused (postdrop exit status %d)",
		      status);
		break;
	}
}

/* do_data - returns -1 when the input ended or failed inside the data */
static int
do_data(struct sess *s, size_t n)
{
	struct sendmail_env e = {0};
	struct maildrop_out out;
	struct maildrop_msg m;
	struct lb_line l;
	bool    at_start = true;
	pid_t	pid;
	int     fd, r = 0, k;

	if (n != 4) {
		reply(s, 501, "5.5.4", "Syntax: DATA");
		return 0;
	}
	if (!s->have_mail) {
		reply(s, 503, "5.5.1", "Error: need MAIL command");
		return 0;
	}
	if (s->nrcpts == 0) {
		reply(s, 554, "5.5.1", "Error: no valid recipients");
		return 0;
	}
	e.sender = s->sender;
	e.body = s->body;
	e.rcpts = s->rcpts;
	e.nrcpts = s->nrcpts;
	if ((fd = sendmail_postdrop_start(s->config_dir, &pid)) < 0) {
		reply(s, 451, "4.3.0", "Error: cannot start postdrop");
		reset(s);
		return 0;
	}
	maildrop_out_init(&out, fd);
	(void) sendmail_put_envelope(&out, &e);
	reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	maildrop_msg_init(&m, cfg->message_size_limit, 0, put_chunk, &out);
	for (;;) {
		if ((k = next_line(s, &l)) <= 0) {
			r = -1;
			break;
		}
		if (at_start && !(l.flags & LB_TOO_LONG) && l.len == 1 && l.data[0] == '.')
			break;
		if (at_start && l.len > 0 && l.data[0] == '.') {
			l.data++;		/* RFC 5321 4.5.2: dot-unstuffing */
			l.len--;
		}
		at_start = l.end != LB_END_NONE;
		(void) maildrop_msg_line(&m, &l);	/* status sticks in m */
	}
	if (r < 0) {
		maildrop_msg_free(&m);
		maildrop_out_free(&out);
		(void) kill(pid, SIGTERM);
		(void) sendmail_postdrop_wait(fd, pid);
		return -1;
	}
	k = maildrop_msg_finish(&m);
	maildrop_msg_free(&m);
	if (k == MAILDROP_ETOOBIG) {
		maildrop_out_free(&out);
		(void) kill(pid, SIGTERM);
		(void) sendmail_postdrop_wait(fd, pid);
		reply(s, 552, "5.3.4", "Error: message file too big");
	} else {
		if (k == MAILDROP_OK && maildrop_out_put(&out, QF_REC_END, NULL, 0) == 0)
			(void) maildrop_out_flush(&out);
		maildrop_out_free(&out);
		k = sendmail_postdrop_wait(fd, pid);
		status_reply(s, k == 0 && out.error ? EX_TEMPFAIL : k);
	}
	reset(s);
	return 0;
}

/* verb_is - does the line start with the command word verb? */
static bool
verb_is(const char *line, size_t n, const char *verb)
{
	size_t  k = strlen(verb);

	return n >= k && str_ncasecmp(line, verb, k) == 0 && (n == k || line[k] == ' ');
}

int
sendmail_smtp(const struct sendmail_opts *o, const char *config_dir, int in_fd, int out_fd)
{
	struct sess s;
	struct lb_line l;
	int     k;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.config_dir = config_dir;
	signal(SIGPIPE, SIG_IGN);
	tlsio_init(&s.io, NULL, in_fd, out_fd, (size_t) cfg->line_length_limit,
		   2 * SMTP_OUT_FLUSH + SMTP_REPLY_TEXT_MAX * 2, NULL, NULL);
	reply(&s, 220, NULL, "%s", cfg->smtpd_banner);

	while (!s.failed && (k = next_line(&s, &l)) > 0) {
		const char *p = l.data;
		size_t  n = l.len;

		if (s.errors >= SMTP_ERROR_LIMIT) {
			reply(&s, 421, "4.7.0", "%s Error: too many errors", cfg->myhostname);
			break;
		}
		if (l.flags & LB_TOO_LONG) {
			/* Skip the rest of an over-long command. */
			while (l.end == LB_END_NONE && next_line(&s, &l) > 0)
				;
			reply(&s, 500, "5.5.0", "Error: command line too long");
			continue;
		}
		if (verb_is(p, n, "EHLO")) {
			char    size[64];
			const char *lines[6];

			reset(&s);
			if (cfg->message_size_limit > 0)
				(void) str_fmt(size, sizeof(size), "SIZE %llu",
					       (unsigned long long) cfg->message_size_limit);
			else
				(void) str_copy(size, sizeof(size), "SIZE");
			lines[0] = cfg->myhostname;
			lines[1] = "PIPELINING";
			lines[2] = size;
			lines[3] = "8BITMIME";
			lines[4] = "ENHANCEDSTATUSCODES";
			lines[5] = "SMTPUTF8";
			(void) smtp_reply_lines(&s.io.out, 250, NULL, lines, 6);
		} else if (verb_is(p, n, "HELO")) {
			reset(&s);
			reply(&s, 250, NULL, "%s", cfg->myhostname);
		} else if (verb_is(p, n, "MAIL")) {
			do_mail(&s, p, n);
		} else if (verb_is(p, n, "RCPT")) {
			do_rcpt(&s, p, n);
		} else if (verb_is(p, n, "DATA")) {
			if (do_data(&s, n) < 0)
				break;
		} else if (verb_is(p, n, "RSET")) {
			reset(&s);
			reply(&s, 250, "2.0.0", "Ok");
		} else if (verb_is(p, n, "NOOP")) {
			reply(&s, 250, "2.0.0", "Ok");
		} else if (verb_is(p, n, "QUIT")) {
			reply(&s, 221, "2.0.0", "Bye");
			break;
		} else if (verb_is(p, n, "VRFY") || verb_is(p, n, "EXPN")) {
			reply(&s, 502, "5.5.1", "Error: command not implemented");
		} else {
			reply(&s, 502, "5.5.2", "Error: command not recognized");
		}
	}
	(void) flush_out(&s);
	reset(&s);
	free(s.rcpts);
	tlsio_free(&s.io);
	return 0;
}
