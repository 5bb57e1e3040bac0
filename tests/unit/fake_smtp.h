/*
 * NAME
 *	fake_smtp.h - a scripted SMTP server on the test's event loop
 * SYNOPSIS
 *	#include "fake_smtp.h"
 *
 *	struct fake_smtp f = {.greeting = "220 mx ESMTP",
 *			      .ehlo = "250-mx\r\n250 PIPELINING\r\n"};
 *	fake_smtp_start(&f, loop, "127.0.0.1", 0);	// f.port
 *	f.reply = my_reply;	// optional: a reply per command
 *	... f.log holds "C: MAIL FROM:<...>\n", "S: 250 ...\n", "D: <content>" ...
 *	fake_smtp_stop(&f, loop);
 * DESCRIPTION
 *	Accepts connections on a loopback address, sends the greeting
 *	(NULL: says nothing: a silent server), then answers each command
 *	line: EHLO with f.ehlo, DATA with 354 and then reads content up
 *	to CR LF . CR LF (recorded raw in f.data), QUIT with 221 and a
 *	close; anything else with "250 2.0.0 Ok" unless f.reply returns
 *	another reply for it (a "\r\n"-terminated string, or NULL).
 *	f.conns counts connections, f.log records the conversation.
 *	Test code only: bounded buffers, one process, no TLS.
 */
#ifndef POSTERN_FAKE_SMTP_H
#define POSTERN_FAKE_SMTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "event.h"

#define FAKE_SMTP_CONNS	8

struct fake_smtp;
typedef const char *fake_smtp_reply_fn(struct fake_smtp *f, const char *line);

struct fake_conn {
	struct fake_smtp *f;
	int	fd;
	struct ev_io io;
	char	in[65536];
	size_t	inlen;
	bool	data;
};

struct fake_smtp {
	const char *greeting;		/* NULL: silent */
	const char *ehlo;		/* the whole EHLO reply */
	const char *dot_reply;		/* NULL: "250 2.0.0 Ok: queued as X" */
	fake_smtp_reply_fn *reply;
	int	fd;
	int	port;
	struct ev_io io;
	struct fake_conn conns[FAKE_SMTP_CONNS];
	int	conns_open;
	int	conns_total;
	int	mails;			/* MAIL commands seen */
	struct buf log;
	struct buf data;		/* every DATA content, raw */
	struct ev_loop *loop;
};

static void
fake_smtp_send(struct fake_conn *c, const char *s)
{
	size_t	n = strlen(s);

	(void) buf_appendf(&c->f->log, "S: %s", s);
	if (write(c->fd, s, n) != (ssize_t) n)
		return;
}

static void
fake_smtp_close(struct fake_conn *c)
{
	ev_io_stop(c->f->loop, &c->io);
	close(c->fd);
	c->fd = -1;
	c->f->conns_open--;
}

static void
fake_smtp_line(struct fake_conn *c, char *line)
{
	struct fake_smtp *f = c->f;
	const char *r = NULL;

	(void) buf_appendf(&f->log, "C: %s\n", line);
	if (f->reply != NULL)
		r = f->reply(f, line);
	if (strncasecmp(line, "MAIL", 4) == 0)
		f->mails++;
	if (r != NULL) {
		fake_smtp_send(c, r);
		if (strncmp(r, "421", 3) == 0)
			fake_smtp_close(c);
		return;
	}
	if (strncasecmp(line, "EHLO", 4) == 0)
		fake_smtp_send(c, f->ehlo ? f->ehlo : "250 fake\r\n");
	else if (strncasecmp(line, "DATA", 4) == 0) {
		fake_smtp_send(c, "354 go ahead\r\n");
		c->data = true;
	} else if (strncasecmp(line, "QUIT", 4) == 0) {
		fake_smtp_send(c, "221 bye\r\n");
		fake_smtp_close(c);
	} else
		fake_smtp_send(c, "250 2.0.0 Ok\r\n");
}

static void
fake_smtp_on_conn(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct fake_conn *c = io->data;
	ssize_t	n;

	(void) loop;
	(void) revents;
	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen - 1);
	if (n <= 0) {
		fake_smtp_close(c);
		return;
	}
	c->inlen += (size_t) n;
	for (;;) {
		char   *nl;

		if (c->data) {
			char   *end;

			size_t	keep, skip;

			/* The content ends with CR LF . CR LF (or is . CR LF alone). */
			if (c->inlen >= 3 && memcmp(c->in, ".\r\n", 3) == 0) {
				keep = 0;
				skip = 3;
			} else if ((end = memmem(c->in, c->inlen, "\r\n.\r\n", 5)) != NULL) {
				keep = (size_t) (end - c->in) + 2;
				skip = keep + 3;
			} else
				return;
			(void) buf_append(&c->f->data, c->in, keep);
			memmove(c->in, c->in + skip, c->inlen - skip);
			c->inlen -= skip;
			c->data = false;
			fake_smtp_send(c, c->f->dot_reply ? c->f->dot_reply
				       : "250 2.0.0 Ok: queued as FAKE1\r\n");
			continue;
		}
		nl = memchr(c->in, '\n', c->inlen);
		if (nl == NULL)
			return;
		*nl = '\0';
		if (nl > c->in && nl[-1] == '\r')
			nl[-1] = '\0';
		{
			char	line[4096];
			size_t	k = (size_t) (nl - c->in) + 1;
			size_t	len = strlen(c->in) < sizeof(line) - 1 ? strlen(c->in)
			    : sizeof(line) - 1;

			memcpy(line, c->in, len);
			line[len] = '\0';
			memmove(c->in, nl + 1, c->inlen - k);
			c->inlen -= k;
			fake_smtp_line(c, line);
			if (c->fd < 0)
				return;
		}
	}
}

static void
fake_smtp_on_accept(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct fake_smtp *f = io->data;
	int	fd = accept(f->fd, NULL, NULL);

	(void) revents;
	if (fd < 0)
		return;
	for (int i = 0; i < FAKE_SMTP_CONNS; i++) {
		struct fake_conn *c = &f->conns[i];

		if (c->fd >= 0)
			continue;
		memset(c, 0, sizeof(*c));
		c->f = f;
		c->fd = fd;
		f->conns_open++;
		f->conns_total++;
		ev_io_init(&c->io, fd, fake_smtp_on_conn, c);
		ev_io_start(loop, &c->io, EV_READ);
		if (f->greeting != NULL) {
			char	g[512];

			(void) snprintf(g, sizeof(g), "%s\r\n", f->greeting);
			fake_smtp_send(c, g);
			if (strncmp(f->greeting, "421", 3) == 0)
				fake_smtp_close(c);
		}
		return;
	}
	close(fd);
}

static int
fake_smtp_start(struct fake_smtp *f, struct ev_loop *loop, const char *ip, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int	one = 1;

	f->loop = loop;
	buf_init(&f->log, 1 << 20);
	buf_init(&f->data, 1 << 22);
	for (int i = 0; i < FAKE_SMTP_CONNS; i++)
		f->conns[i].fd = -1;
	if ((f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	(void) setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_port = htons((uint16_t) port);
	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1
	    || bind(f->fd, (struct sockaddr *) &sin, sizeof(sin)) < 0
	    || listen(f->fd, 16) < 0
	    || getsockname(f->fd, (struct sockaddr *) &sin, &sl) < 0)
		return -1;
	f->port = ntohs(sin.sin_port);
	ev_io_init(&f->io, f->fd, fake_smtp_on_accept, f);
	ev_io_start(loop, &f->io, EV_READ);
	return 0;
}

static void
fake_smtp_stop(struct fake_smtp *f, struct ev_loop *loop)
{
	for (int i = 0; i < FAKE_SMTP_CONNS; i++)
		if (f->conns[i].fd >= 0)
			fake_smtp_close(&f->conns[i]);
	ev_io_stop(loop, &f->io);
	close(f->fd);
	buf_free(&f->log);
	buf_free(&f->data);
}

#endif
