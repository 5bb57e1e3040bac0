/*
 * NAME
 *	fake_dns.h - a small DNS server on the test's event loop
 * SYNOPSIS
 *	#include "fake_dns.h"
 *
 *	static const struct fake_rr zone[] = {
 *		{"1.2.0.192.in-addr.arpa", FAKE_PTR, 0, false, {"mail.example.org"}},
 *		{"mail.example.org", FAKE_A, 0, false, {"192.0.2.1"}},
 *		{"slow.example.org", FAKE_A, 0, true, {NULL}},	// never answered
 *		{"broken.example.org", FAKE_A, 2, false, {NULL}},	// SERVFAIL
 *		{NULL}
 *	};
 *	struct fake_dns f;
 *	fake_dns_start(&f, loop, zone);		// UDP on 127.0.0.1, f.port
 *	... f.queries counts what it received ...
 *	fake_dns_stop(&f, loop);
 * DESCRIPTION
 *	Answers one question per UDP datagram from a table, on the same
 *	event loop as the resolver under test, so a test runs in one
 *	thread.  A name and type in the table get its answers (A and
 *	AAAA: addresses as text; PTR: a name whose labels are split at
 *	dots and sent byte for byte, so a test can send control
 *	characters; MX: "PREF NAME"), or its rcode, or no answer at all
 *	(drop).  A name in the table with other types only gets an empty
 *	answer (no data); any other name NXDOMAIN.  Test code only: it
 *	trusts its input as far as a test needs and checks bounds so a
 *	malformed query cannot crash the test.
 *
 *	DNSSEC, as a validating resolver answers: names equal to or under
 *	f.signed_zone (set after start; NULL: none) get the AD bit when
 *	the query had the AD or DO bit; f.last_ad and f.last_do tell
 *	what the last query had.  TLSA answers: "USAGE SELECTOR MTYPE
 *	HEX".
 */
#ifndef POSTERN_FAKE_DNS_H
#define POSTERN_FAKE_DNS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event.h"

#define FAKE_A		1
#define FAKE_PTR	12
#define FAKE_MX		15
#define FAKE_AAAA	28
#define FAKE_TLSA	52
#define FAKE_ANSWERS	12

struct fake_rr {
	const char *name;		/* lower case, no trailing dot */
	int	type;
	int	rcode;			/* 0, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED */
	bool	drop;			/* never answer */
	const char *ans[FAKE_ANSWERS];	/* NULL-terminated */
};

struct fake_dns {
	int	fd;
	int	port;
	struct ev_io io;
	const struct fake_rr *zone;
	int	queries;		/* datagrams received */
	char	last[256];		/* the last question's name */
	int	last_type;
	const char *signed_zone;	/* AD for names under it, or NULL */
	bool	last_ad, last_do;	/* bits of the last query */
};

static size_t
fake_put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char) (v >> 8);
	p[1] = (unsigned char) v;
	return 2;
}

/* fake_put_name - labels split at dots, written byte for byte */
static size_t
fake_put_name(unsigned char *p, size_t room, const char *name)
{
	size_t	n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t	len = dot ? (size_t) (dot - name) : strlen(name);

		if (len > 63 || n + 1 + len + 1 > room)
			return 0;
		p[n++] = (unsigned char) len;
		memcpy(p + n, name, len);
		n += len;
		name += len + (dot != NULL);
	}
	p[n++] = 0;
	return n;
}

static size_t
fake_rdata(unsigned char *p, size_t room, int type, const char *ans)
{
	switch (type) {
	case FAKE_A:
		return room >= 4 && inet_pton(AF_INET, ans, p) == 1 ? 4 : 0;
	case FAKE_AAAA:
		return room >= 16 && inet_pton(AF_INET6, ans, p) == 1 ? 16 : 0;
	case FAKE_PTR:
		return fake_put_name(p, room, ans);
	case FAKE_TLSA:
		{
			unsigned u, s, m, byte;
			int	off = 0;
			size_t	n = 3;
			const char *hex;

			if (room < 3 || sscanf(ans, "%u %u %u %n", &u, &s, &m, &off) != 3)
				return 0;
			p[0] = (unsigned char) u;
			p[1] = (unsigned char) s;
			p[2] = (unsigned char) m;
			for (hex = ans + off; n < room && sscanf(hex, "%2x", &byte) == 1; hex += 2)
				p[n++] = (unsigned char) byte;
			return n;
		}
	case FAKE_MX:
		{
			unsigned pref = 0;
			const char *sp = strchr(ans, ' ');
			size_t	n;

			if (sp == NULL || room < 3 || sscanf(ans, "%u", &pref) != 1)
				return 0;
			fake_put16(p, pref);
			n = fake_put_name(p + 2, room - 2, sp + 1);
			return n ? n + 2 : 0;
		}
	}
	return 0;
}

static void
fake_dns_on_query(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct fake_dns *f = io->data;
	unsigned char q[512], r[4096];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	ssize_t	n;
	size_t	pos = 12, qend, rlen, ancount = 0, lastlen = 0;
	const struct fake_rr *hit = NULL;
	bool	name_known = false;
	int	rcode = 3, type;

	(void) loop;
	(void) revents;
	n = recvfrom(f->fd, q, sizeof(q), 0, (struct sockaddr *) &from, &fromlen);
	if (n < 12)
		return;
	f->queries++;
	f->last[0] = 0;
	while (pos < (size_t) n && q[pos] != 0) {
		size_t	len = q[pos];

		if (len > 63 || pos + 1 + len >= (size_t) n
		    || lastlen + len + 2 > sizeof(f->last))
			return;
		if (lastlen > 0)
			f->last[lastlen++] = '.';
		memcpy(f->last + lastlen, q + pos + 1, len);
		lastlen += len;
		f->last[lastlen] = 0;
		pos += 1 + len;
	}
	if (pos + 5 > (size_t) n)
		return;
	type = q[pos + 1] << 8 | q[pos + 2];
	f->last_type = type;
	qend = pos + 5;
	f->last_ad = (q[3] & 0x20) != 0;
	/* An OPT record right after the question: DO is in its TTL. */
	f->last_do = (q[10] << 8 | q[11]) >= 1 && qend + 11 <= (size_t) n
	    && q[qend] == 0 && (q[qend + 1] << 8 | q[qend + 2]) == 41
	    && (q[qend + 7] & 0x80) != 0;
	for (const struct fake_rr *z = f->zone; z && z->name; z++) {
		if (strcasecmp(z->name, f->last) != 0)
			continue;
		name_known = true;
		if (z->type == type)
			hit = z;
	}
	if (hit != NULL && hit->drop)
		return;
	if (hit != NULL)
		rcode = hit->rcode;
	else if (name_known)
		rcode = 0;		/* no data */
	memcpy(r, q, qend);
	r[2] = (unsigned char) (0x84 | (q[2] & 0x01));	/* QR AA, RD copied */
	r[3] = (unsigned char) (0x80 | rcode);		/* RA, rcode */
	if (f->signed_zone != NULL && (f->last_ad || f->last_do)) {
		size_t	zl = strlen(f->signed_zone), nl = strlen(f->last);

		if (nl >= zl && strcasecmp(f->last + nl - zl, f->signed_zone) == 0
		    && (nl == zl || f->last[nl - zl - 1] == '.'))
			r[3] |= 0x20;				/* AD */
	}
	fake_put16(r + 4, 1);
	fake_put16(r + 8, 0);
	fake_put16(r + 10, 0);
	rlen = qend;
	for (int i = 0; hit && rcode == 0 && i < FAKE_ANSWERS && hit->ans[i]; i++) {
		size_t	d;

		if (rlen + 12 + 300 > sizeof(r))
			break;
		r[rlen++] = 0xc0;
		r[rlen++] = 0x0c;			/* the question's name */
		rlen += fake_put16(r + rlen, (unsigned) type);
		rlen += fake_put16(r + rlen, 1);
		rlen += fake_put16(r + rlen, 0);
		rlen += fake_put16(r + rlen, 60);	/* TTL */
		d = fake_rdata(r + rlen + 2, sizeof(r) - rlen - 2, type, hit->ans[i]);
		rlen += fake_put16(r + rlen, (unsigned) d);
		rlen += d;
		ancount++;
	}
	fake_put16(r + 6, (unsigned) ancount);
	(void) sendto(f->fd, r, rlen, 0, (struct sockaddr *) &from, fromlen);
}

static int
fake_dns_start(struct fake_dns *f, struct ev_loop *loop, const struct fake_rr *zone)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->zone = zone;
	if ((f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(f->fd, (struct sockaddr *) &sin, sizeof(sin)) < 0
	    || getsockname(f->fd, (struct sockaddr *) &sin, &len) < 0) {
		close(f->fd);
		return -1;
	}
	f->port = ntohs(sin.sin_port);
	ev_io_init(&f->io, f->fd, fake_dns_on_query, f);
	ev_io_start(loop, &f->io, EV_READ);
	return 0;
}

static void
fake_dns_stop(struct fake_dns *f, struct ev_loop *loop)
{
	ev_io_stop(loop, &f->io);
	close(f->fd);
	f->fd = -1;
}

#endif
