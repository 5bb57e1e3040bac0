/*
 * NAME
 *	dns - asynchronous DNS lookups (c-ares) on the event loop
 * DESCRIPTION
 *	See dns.h for the interface.  How c-ares is driven:
 *
 *	- ARES_OPT_SOCK_STATE_CB: c-ares says, for each socket it opens,
 *	  whether it wants to read or write, and says (0, 0) before it
 *	  closes one.  Each socket gets a struct dns_sock with an ev_io;
 *	  the interest is changed only when it differs, so a lookup costs
 *	  no epoll_ctl() beyond the socket's own add and delete.
 *	- On readiness, ares_process_fd() with that descriptor; then the
 *	  timer is set again from ares_timeout(), and when it fires
 *	  ares_process_fd() with no descriptor handles retransmissions
 *	  and timeouts.
 *	- c-ares may finish a lookup inside the call that starts it (a
 *	  numeric name, no server it can reach, no memory).  Such a
 *	  result is queued and delivered from a zero-delay timer, so a
 *	  caller never sees its callback before it has the handle.
 *	- c-ares cannot cancel one query.  dns_cancel() marks the handle;
 *	  when c-ares finishes the query (bounded by its timeouts) the
 *	  handle is freed without a callback.
 *
 *	Options: lookups "b" (DNS only: /etc/hosts is never read, so a
 *	lookup opens no file and works the same inside the chroot),
 *	ARES_FLAG_NOSEARCH (names are absolute: a PTR name is not to be
 *	completed with resolv.conf's search list before it is confirmed),
 *	ARES_FLAG_NOALIASES (HOSTALIASES, a file named by the environment,
 *	is never opened), and ARES_AI_NOSORT for address lookups (the
 *	RFC 6724 sort would open and connect a socket per address found,
 *	only to order a list that is searched, not tried in order).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "dns.h"
#include "log.h"
#include "mem.h"
#include "num.h"
#include "str.h"

enum dns_kind { Q_PTR, Q_HOST, Q_MX, Q_TXT, Q_TLSA, Q_PROBE };

#define DNS_EDNS_SIZE	1232	/* UDP payload offered with DNSSEC */

struct dns_sock {
	struct ev_io io;
	struct dns_sock *next;
};

struct dns_query {
	struct dns *dns;
	enum dns_kind kind;
	int	family;			/* Q_PTR: of ptr_addr; Q_HOST: wanted */
	unsigned char ptr_addr[16];	/* Q_PTR: the address asked about */
	union {
		dns_names_cb *names;
		dns_addrs_cb *addrs;
		dns_mx_cb *mx;
		dns_tlsa_cb *tlsa;
	}	cb;
	ares_callback raw_cb;		/* after on_raw(), with DNSSEC */
	void   *ctx;
	bool	cancelled;
	bool	secure;			/* the answer had the AD bit */
	int	status;
	const char *why;		/* static text */
	size_t	n;
	union {
		char	(*names)[DNS_NAME_MAX + 1];
		struct dns_addr *addrs;
		struct dns_mx *mx;
		struct dns_tlsa *tlsa;
	}	res;
	unsigned char *raw;		/* Q_TLSA: the answer res.tlsa points into */
	struct dns_query *next;		/* d->ready */
};

struct dns {
	ares_channel chan;
	struct ev_loop *loop;
	struct dns_sock *socks;
	size_t	nsocks;
	size_t	nqueries;		/* started, not yet freed */
	struct ev_timer timer;		/* ares_timeout() */
	struct ev_timer ready_timer;	/* results known at start */
	struct dns_query *ready, **ready_tail;
	unsigned starting;		/* inside a call that starts a lookup */
	bool	dnssec;			/* DO and AD bits in every query */
	bool	destroying;
};

/* ------------------------------------------------------------------ */
/* resolver_servers.                                                  */

/* put_server - one checked entry, normalised, appended to out */
static int
put_server(const char *addr, const char *port, char *out, size_t outsz,
	   char *why, size_t whylen, const char *entry)
{
	unsigned char bin[16];
	char	text[INET6_ADDRSTRLEN], one[INET6_ADDRSTRLEN + 16];
	long long p = 53;
	const char *err;
	int	family;

	if (inet_pton(AF_INET, addr, bin) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		family = AF_INET6;
	else {
		(void) str_fmt(why, whylen, "\"%.80s\": not an IPv4 or IPv6 "
			       "address (write ip, ip:port or [ipv6]:port)", entry);
		return -1;
	}
	if (port != NULL && num_parse_int(port, 1, 65535, &p, &err) < 0) {
		(void) str_fmt(why, whylen, "\"%.80s\": port %s (1 to 65535)",
			       entry, err);
		return -1;
	}
	if (inet_ntop(family, bin, text, sizeof(text)) == NULL)
		log_panic("inet_ntop of a parsed address: %m");
	if (family == AF_INET)
		(void) str_fmt(one, sizeof(one), "%s%s:%lld", out[0] ? "," : "", text, p);
	else
		(void) str_fmt(one, sizeof(one), "%s[%s]:%lld", out[0] ? "," : "", text, p);
	if (str_append(out, outsz, one) < 0) {
		(void) str_fmt(why, whylen, "the server list is too long");
		return -1;
	}
	return 0;
}

int
dns_servers_csv(const char *list, char *out, size_t outsz, char *why,
		size_t whylen)
{
	char	entry[INET6_ADDRSTRLEN + 16];
	const char *p = list;
	size_t	n = 0;

	if (outsz == 0)
		log_panic("dns_servers_csv: no room");
	out[0] = 0;
	for (;;) {
		const char *start;
		size_t	len;
		char   *addr, *port, *close;

		while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == 0)
			return 0;
		start = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		len = (size_t) (p - start);
		if (++n > DNS_SERVERS_MAX) {
			(void) str_fmt(why, whylen, "more than %d servers", DNS_SERVERS_MAX);
			out[0] = 0;
			return -1;
		}
		if (len >= sizeof(entry)) {
			(void) str_fmt(why, whylen, "\"%.40s...\": too long for an "
				       "address and port", start);
			out[0] = 0;
			return -1;
		}
		memcpy(entry, start, len);
		entry[len] = 0;
		addr = entry;
		port = NULL;
		if (entry[0] == '[') {
			/* [address] or [address]:port */
			if ((close = strchr(entry, ']')) == NULL
			    || (close[1] != 0 && (close[1] != ':' || close[2] == 0))) {
				(void) str_fmt(why, whylen, "\"%s\": write [ipv6] or "
					       "[ipv6]:port", entry);
				out[0] = 0;
				return -1;
			}
			*close = 0;
			addr = entry + 1;
			if (close[1] == ':')
				port = close + 2;
		} else if ((port = strchr(entry, ':')) != NULL) {
			if (strchr(port + 1, ':') != NULL)
				port = NULL;		/* a bare IPv6 address */
			else
				*port++ = 0;		/* ipv4:port */
		}
		{
			char	shown[sizeof(entry)];

			memcpy(shown, start, len);
			shown[len] = 0;
			if (put_server(addr, port, out, outsz, why, whylen, shown) < 0) {
				out[0] = 0;
				return -1;
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* The channel on the loop.                                           */

static void
rearm(struct dns *d)
{
	struct timeval tv;
	uint64_t ms;

	if (d->loop == NULL || d->destroying)
		return;
	if (ares_timeout(d->chan, NULL, &tv) == NULL) {
		ev_timer_stop(d->loop, &d->timer);
		return;
	}
	/* Rounded up: a timer that fires early only spins. */
	ms = (uint64_t) tv.tv_sec * 1000 + ((uint64_t) tv.tv_usec + 999) / 1000;
	ev_timer_start(d->loop, &d->timer, ms);
}

static void
on_io(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct dns *d = io->data;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	(void) loop;
	/* An error or hang-up goes to whichever side c-ares watches. */
	if ((revents & EV_READ) || ((revents & EV_ERROR) && (io->events & EV_READ)))
		rfd = io->fd;
	if ((revents & EV_WRITE) || ((revents & EV_ERROR) && (io->events & EV_WRITE)))
		wfd = io->fd;
	/* io may be freed in there (the socket closed): not used after. */
	ares_process_fd(d->chan, rfd, wfd);
	rearm(d);
}

static void
on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct dns *d = t->data;

	(void) loop;
	ares_process_fd(d->chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(d);
}

/* sock_state - c-ares wants fd watched for reading/writing, or not at all */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct dns_sock **pp, *s;
	unsigned ev = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);

	for (pp = &d->socks; (s = *pp) != NULL; pp = &s->next)
		if (s->io.fd == fd)
			break;
	if (ev == 0) {
		if (s == NULL)
			return;
		/* c-ares closes fd right after this: stop watching first. */
		if (d->loop != NULL)
			ev_io_stop(d->loop, &s->io);
		*pp = s->next;
		free(s);
		d->nsocks--;
		return;
	}
	if (d->loop == NULL)
		log_panic("dns: c-ares opened a socket before dns_attach()");
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		ev_io_init(&s->io, fd, on_io, d);
		s->next = d->socks;
		d->socks = s;
		d->nsocks++;
	}
	if (!ev_io_active(&s->io) || s->io.events != ev)
		ev_io_start(d->loop, &s->io, ev);
}

struct dns *
dns_new(const struct dns_conf *conf, char *why, size_t whylen)
{
	static bool lib_ready;
	struct ares_options o;
	char	csv[DNS_SERVERS_CSV];
	char	lookups[] = "b";
	struct dns *d;
	int	mask, r;

	if (dns_servers_csv(conf->servers ? conf->servers : "", csv, sizeof(csv),
			    why, whylen) < 0)
		return NULL;
	if (!lib_ready) {
		if ((r = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
			(void) str_fmt(why, whylen, "cannot initialise c-ares: %s",
				       ares_strerror(r));
			return NULL;
		}
		lib_ready = true;
	}
	d = xcalloc(1, sizeof(*d));
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.lookups = lookups;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = d;
	mask = ARES_OPT_FLAGS | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB;
	if (conf->timeout_ms > 0) {
		o.timeout = conf->timeout_ms > 600000 ? 600000 : (int) conf->timeout_ms;
		mask |= ARES_OPT_TIMEOUTMS;
	}
	if (conf->tries > 0) {
		o.tries = conf->tries > 20 ? 20 : (int) conf->tries;
		mask |= ARES_OPT_TRIES;
	}
	if ((r = ares_init_options(&d->chan, &o, mask)) != ARES_SUCCESS) {
		(void) str_fmt(why, whylen, "cannot start the resolver: %s "
			       "(check /etc/resolv.conf)", ares_strerror(r));
		free(d);
		return NULL;
	}
	if (csv[0] && (r = ares_set_servers_ports_csv(d->chan, csv)) != ARES_SUCCESS) {
		(void) str_fmt(why, whylen, "c-ares refused the server list %s: %s",
			       csv, ares_strerror(r));
		ares_destroy(d->chan);
		free(d);
		return NULL;
	}
	d->ready_tail = &d->ready;
	d->dnssec = conf->dnssec;
	return d;
}

static void on_ready(struct ev_loop *loop, struct ev_timer *t);

void
dns_attach(struct dns *d, struct ev_loop *loop)
{
	if (d->loop != NULL)
		log_panic("dns_attach: already attached");
	d->loop = loop;
	ev_timer_init(&d->timer, on_timer, d);
	ev_timer_init(&d->ready_timer, on_ready, d);
}

/* ------------------------------------------------------------------ */
/* Queries.                                                           */

static void
query_free(struct dns_query *q)
{
	q->dns->nqueries--;
	free(q->res.names);		/* whichever member: one pointer */
	free(q->raw);
	free(q);
}

static int
status_of(int ares_status)
{
	switch (ares_status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_EBADNAME:
		return DNS_NOTFOUND;
	default:
		return DNS_TEMPFAIL;
	}
}

static void
deliver(struct dns_query *q)
{
	const char *names[DNS_NAMES_MAX];

	switch (q->kind) {
	case Q_PROBE:
		q->cb.names(q->ctx, q->status, q->why, NULL, 0);
		break;
	case Q_PTR:
	case Q_TXT:
		for (size_t i = 0; i < q->n; i++)
			names[i] = q->res.names[i];
		q->cb.names(q->ctx, q->status, q->why, names, q->n);
		break;
	case Q_HOST:
		q->cb.addrs(q->ctx, q->status, q->why, q->res.addrs, q->n);
		break;
	case Q_MX:
		q->cb.mx(q->ctx, q->status, q->why, q->res.mx, q->n);
		break;
	case Q_TLSA:
		q->cb.tlsa(q->ctx, q->status, q->why, q->res.tlsa, q->n);
		break;
	}
	query_free(q);
}

/* complete - c-ares is done with q; its result is stored in q */
static void
complete(struct dns_query *q, int ares_status)
{
	struct dns *d = q->dns;

	q->status = status_of(ares_status);
	if (q->status != DNS_OK)
		q->n = 0;
	else if (q->n == 0) {
		q->status = DNS_NOTFOUND;
		ares_status = ARES_ENODATA;
	}
	q->why = q->status == DNS_OK ? "" : ares_strerror(ares_status);
	if (q->cancelled || d->destroying) {
		query_free(q);
		return;
	}
	if (d->starting > 0) {
		q->next = NULL;
		*d->ready_tail = q;
		d->ready_tail = &q->next;
		ev_timer_start(d->loop, &d->ready_timer, 0);
		return;
	}
	deliver(q);
}

static void
on_ready(struct ev_loop *loop, struct ev_timer *t)
{
	struct dns *d = t->data;
	struct dns_query *q;

	(void) loop;
	/* Callbacks may start lookups that land here again: detach first. */
	while ((q = d->ready) != NULL) {
		d->ready = q->next;
		if (d->ready == NULL)
			d->ready_tail = &d->ready;
		if (q->cancelled)
			query_free(q);
		else
			deliver(q);
	}
}

/* keep_name - one more PTR name, unless too long or already kept */
static void
keep_name(struct dns_query *q, const char *name)
{
	if (name == NULL || q->n >= DNS_NAMES_MAX)
		return;
	for (size_t i = 0; i < q->n; i++)
		if (str_eq(q->res.names[i], name))
			return;
	if (str_copy(q->res.names[q->n], sizeof(q->res.names[0]), name) == 0)
		q->n++;
}

static void
on_ptr(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct hostent *h = NULL;

	(void) timeouts;
	if (status == ARES_SUCCESS)
		status = ares_parse_ptr_reply(abuf, alen, q->ptr_addr,
					      q->family == AF_INET ? 4 : 16,
					      q->family, &h);
	if (status == ARES_SUCCESS && h != NULL) {
		/*
		 * c-ares lists every PTR name as an alias, in the order of
		 * the answer, and one of them (the last) again as h_name.
		 */
		q->res.names = xcalloc(DNS_NAMES_MAX, sizeof(*q->res.names));
		for (char **a = h->h_aliases; a && *a; a++)
			keep_name(q, *a);
		keep_name(q, h->h_name);
	}
	if (h != NULL)
		ares_free_hostent(h);
	complete(q, status);
}

static void
on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_query *q = arg;

	(void) timeouts;
	if (status == ARES_SUCCESS && ai != NULL) {
		q->res.addrs = xcalloc(DNS_ADDRS_MAX, sizeof(*q->res.addrs));
		for (struct ares_addrinfo_node *n = ai->nodes; n && q->n < DNS_ADDRS_MAX;
		     n = n->ai_next) {
			struct dns_addr *a = &q->res.addrs[q->n];

			if (n->ai_family != q->family || n->ai_addr == NULL)
				continue;
			if (n->ai_family == AF_INET
			    && n->ai_addrlen >= (ares_socklen_t) sizeof(struct sockaddr_in)) {
				memcpy(a->a, &((struct sockaddr_in *) (void *) n->ai_addr)->sin_addr, 4);
			} else if (n->ai_family == AF_INET6
				   && n->ai_addrlen >= (ares_socklen_t) sizeof(struct sockaddr_in6)) {
				memcpy(a->a, &((struct sockaddr_in6 *) (void *) n->ai_addr)->sin6_addr, 16);
			} else
				continue;
			a->family = n->ai_family;
			/* The same address once per socket type: keep one. */
			if (!dns_addr_match(q->res.addrs, q->n, a->family, a->a))
				q->n++;
		}
	}
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	complete(q, status);
}

static void
on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct ares_mx_reply *mx = NULL;

	(void) timeouts;
	if (status == ARES_SUCCESS)
		status = ares_parse_mx_reply(abuf, alen, &mx);
	if (status == ARES_SUCCESS) {
		q->res.mx = xcalloc(DNS_MX_MAX, sizeof(*q->res.mx));
		for (struct ares_mx_reply *m = mx; m && q->n < DNS_MX_MAX; m = m->next) {
			if (m->host == NULL || str_copy(q->res.mx[q->n].name,
				     sizeof(q->res.mx[0].name), m->host) < 0)
				continue;
			q->res.mx[q->n].pref = m->priority;
			q->n++;
		}
	}
	if (mx != NULL)
		ares_free_data(mx);
	complete(q, status);
}

static void
on_txt(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct ares_txt_ext *txt = NULL;

	(void) timeouts;
	if (status == ARES_SUCCESS)
		status = ares_parse_txt_reply_ext(abuf, alen, &txt);
	if (status == ARES_SUCCESS) {
		q->res.names = xcalloc(DNS_NAMES_MAX, sizeof(*q->res.names));
		for (struct ares_txt_ext *t = txt; t && q->n < DNS_NAMES_MAX; t = t->next) {
			char   *out = q->res.names[q->n];
			size_t  k = 0;

			/* A record's first string starts a text; printable ASCII only. */
			if (!t->record_start && q->n > 0)
				continue;
			for (size_t i = 0; i < t->length && k < DNS_NAME_MAX; i++)
				out[k++] = t->txt[i] >= 0x20 && t->txt[i] < 0x7f
				    ? (char) t->txt[i] : '?';
			out[k] = '\0';
			q->n++;
		}
	}
	if (txt != NULL)
		ares_free_data(txt);
	complete(q, status);
}

/* ------------------------------------------------------------------ */
/* DNSSEC: queries with the DO and AD bits, the AD bit of answers.    */

#define DNS_HEADER	12		/* RFC 1035 section 4.1.1 */

static unsigned
get16(const unsigned char *p)
{
	return (unsigned) p[0] << 8 | p[1];
}

/*
 * on_raw - an answer to a query sent with ares_send(): its AD bit,
 * and the response code turned into what ares_query() would say
 * (c-ares has already moved on to the next server for SERVFAIL,
 * NOTIMP and REFUSED)
 */
static void
on_raw(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;

	if (status == ARES_SUCCESS) {
		if (abuf == NULL || alen < DNS_HEADER)
			status = ARES_EBADRESP;
		else {
			unsigned rcode = abuf[3] & 0x0f;

			q->secure = (abuf[3] & 0x20) != 0;
			if (rcode == 3)
				status = ARES_ENOTFOUND;
			else if (rcode != 0)
				status = ARES_ESERVFAIL;
			else if (get16(abuf + 6) == 0)
				status = ARES_ENODATA;
		}
	}
	q->raw_cb(arg, status, timeouts, abuf, alen);
}

/*
 * start_raw - a query of type for name; with DNSSEC built here, with
 * EDNS0 (c-ares writes the OPT record last), the DO bit (RFC 3225) and
 * the AD bit (RFC 6840 section 5.7) set: either asks a validating
 * resolver to say in its answer whether it validated it
 */
static void
start_raw(struct dns *d, struct dns_query *q, const char *name, int type,
	  ares_callback cb)
{
	unsigned char *buf;
	int	len, r;

	if (!d->dnssec) {
		ares_query(d->chan, name, ns_c_in, type, cb, q);
		return;
	}
	r = ares_create_query(name, ns_c_in, type, 0, 1, &buf, &len, DNS_EDNS_SIZE);
	if (r != ARES_SUCCESS) {
		complete(q, r);
		return;
	}
	buf[3] |= 0x20;
	/* OPT: root name, type 41, class, TTL (rcode, version, flags), rdlen 0 */
	if (len >= DNS_HEADER + 11 && buf[len - 11] == 0
	    && get16(buf + len - 10) == ns_t_opt)
		buf[len - 4] |= 0x80;
	else
		log_panic("dns: c-ares built a query without an OPT record");
	q->raw_cb = cb;
	ares_send(d->chan, buf, len, on_raw, q);
	ares_free_string(buf);
}

bool
dns_secure(const struct dns_query *q)
{
	return q->secure;
}

/* on_addr_raw - A or AAAA records from the raw answer (DNSSEC) */
static void
on_addr_raw(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct ares_addrttl a4[DNS_ADDRS_MAX];
	struct ares_addr6ttl a6[DNS_ADDRS_MAX];
	int	n = DNS_ADDRS_MAX;

	(void) timeouts;
	if (status == ARES_SUCCESS)
		status = q->family == AF_INET
		    ? ares_parse_a_reply(abuf, alen, NULL, a4, &n)
		    : ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
	if (status == ARES_SUCCESS) {
		q->res.addrs = xcalloc(DNS_ADDRS_MAX, sizeof(*q->res.addrs));
		for (int i = 0; i < n && i < DNS_ADDRS_MAX; i++) {
			struct dns_addr *a = &q->res.addrs[q->n];

			a->family = q->family;
			if (q->family == AF_INET)
				memcpy(a->a, &a4[i].ipaddr, 4);
			else
				memcpy(a->a, &a6[i].ip6addr, 16);
			if (!dns_addr_match(q->res.addrs, q->n, a->family, a->a))
				q->n++;
		}
	}
	complete(q, status);
}

/* skip_name - past a possibly compressed name at *pos; -1: malformed */
static int
skip_name(const unsigned char *msg, size_t len, size_t *pos)
{
	size_t	p = *pos;

	for (;;) {
		if (p >= len)
			return -1;
		if (msg[p] == 0) {
			*pos = p + 1;
			return 0;
		}
		if ((msg[p] & 0xc0) == 0xc0) {
			if (p + 2 > len)
				return -1;
			*pos = p + 2;
			return 0;
		}
		if ((msg[p] & 0xc0) != 0)
			return -1;		/* RFC 6891's extended labels */
		p += 1 + (size_t) msg[p];
	}
}

int
dns_tlsa_parse(const unsigned char *msg, size_t len, struct dns_tlsa *out,
	       size_t max, size_t *n, char *why, size_t whylen)
{
	size_t	p = DNS_HEADER, qd, an;

	*n = 0;
	if (len < DNS_HEADER) {
		(void) str_fmt(why, whylen, "answer of %zu bytes, shorter than a "
			       "DNS header", len);
		return -1;
	}
	qd = get16(msg + 4);
	an = get16(msg + 6);
	for (size_t i = 0; i < qd; i++) {
		if (skip_name(msg, len, &p) < 0 || len - p < 4) {
			(void) str_fmt(why, whylen, "question %zu runs past the end "
				       "of the answer", i + 1);
			return -1;
		}
		p += 4;
	}
	for (size_t i = 0; i < an; i++) {
		unsigned type, class, rdlen;

		if (skip_name(msg, len, &p) < 0 || len - p < 10) {
			(void) str_fmt(why, whylen, "record %zu runs past the end of "
				       "the answer", i + 1);
			return -1;
		}
		type = get16(msg + p);
		class = get16(msg + p + 2);
		rdlen = get16(msg + p + 8);
		p += 10;
		if (rdlen > len - p) {
			(void) str_fmt(why, whylen, "record %zu: %u bytes of data, %zu "
				       "left in the answer", i + 1, rdlen, len - p);
			return -1;
		}
		if (type == 52 && class == ns_c_in) {
			if (rdlen < 3) {
				(void) str_fmt(why, whylen, "TLSA record of %u bytes "
					       "(at least 3)", rdlen);
				return -1;
			}
			if (*n < max) {
				out[*n] = (struct dns_tlsa) {
					.usage = msg[p], .selector = msg[p + 1],
					.mtype = msg[p + 2], .len = rdlen - 3u,
					.data = msg + p + 3,
				};
				(*n)++;
			}
		}
		p += rdlen;
	}
	return 0;
}

static void
on_tlsa(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	char	why[128];

	(void) timeouts;
	if (status == ARES_SUCCESS) {
		q->raw = xmalloc((size_t) alen);
		memcpy(q->raw, abuf, (size_t) alen);
		q->res.tlsa = xcalloc(DNS_TLSA_MAX, sizeof(*q->res.tlsa));
		if (dns_tlsa_parse(q->raw, (size_t) alen, q->res.tlsa, DNS_TLSA_MAX,
				   &q->n, why, sizeof(why)) < 0) {
			log_warn("malformed TLSA answer: %s", why);
			status = ARES_EBADRESP;
		}
	}
	complete(q, status);
}

static struct dns_query *
query_new(struct dns *d, enum dns_kind kind, void *ctx)
{
	struct dns_query *q;

	if (d->loop == NULL)
		log_panic("dns: lookup before dns_attach()");
	q = xcalloc(1, sizeof(*q));
	q->dns = d;
	q->kind = kind;
	q->ctx = ctx;
	d->nqueries++;
	d->starting++;
	return q;
}

static void
query_started(struct dns *d)
{
	d->starting--;
	rearm(d);
}

/*
 * reverse_name - "4.3.2.1.in-addr.arpa", or the 32 nibbles of an IPv6
 * address under ip6.arpa (RFC 3596 section 2.5).
 */
static void
reverse_name(int family, const unsigned char *a, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t	n = 0;

	if (family == AF_INET) {
		(void) str_fmt(out, outsz, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return;
	}
	if (outsz < 64 + sizeof("ip6.arpa"))
		log_panic("reverse_name: no room");
	for (int i = 15; i >= 0; i--) {
		out[n++] = hex[a[i] & 0xf];
		out[n++] = '.';
		out[n++] = hex[a[i] >> 4];
		out[n++] = '.';
	}
	memcpy(out + n, "ip6.arpa", sizeof("ip6.arpa"));
}

struct dns_query *
dns_ptr(struct dns *d, int family, const void *addr, dns_names_cb *cb, void *ctx)
{
	struct dns_query *q;
	char	name[80];

	if (family != AF_INET && family != AF_INET6)
		log_panic("dns_ptr: address family %d", family);
	q = query_new(d, Q_PTR, ctx);
	q->cb.names = cb;
	q->family = family;
	memcpy(q->ptr_addr, addr, family == AF_INET ? 4 : 16);
	/*
	 * ares_query() rather than ares_gethostbyaddr(): the latter
	 * reports every failure as "not found", and a caller must tell
	 * a server failure from an address without a name.
	 */
	reverse_name(family, addr, name, sizeof(name));
	start_raw(d, q, name, ns_t_ptr, on_ptr);
	query_started(d);
	return q;
}

/* is_localhost - "localhost" or a name under it (RFC 6761 section 6.3) */
static bool
is_localhost(const char *name)
{
	size_t	n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n < 9 || str_ncasecmp(name + n - 9, "localhost", 9) != 0)
		return false;
	return n == 9 || name[n - 10] == '.';
}

struct dns_query *
dns_host(struct dns *d, const char *name, int family, dns_addrs_cb *cb, void *ctx)
{
	struct ares_addrinfo_hints hints;
	struct dns_query *q;

	if (family != AF_INET && family != AF_INET6)
		log_panic("dns_host: address family %d", family);
	q = query_new(d, Q_HOST, ctx);
	q->cb.addrs = cb;
	q->family = family;
	if (is_localhost(name)) {
		/*
		 * RFC 6761: localhost names are the loopback address and are
		 * not sent to the name servers (c-ares 1.18 refuses to send
		 * them, and without /etc/hosts would find nothing).
		 */
		q->res.addrs = xcalloc(1, sizeof(*q->res.addrs));
		q->res.addrs[0].family = family;
		if (family == AF_INET)
			memcpy(q->res.addrs[0].a, "\177\0\0\1", 4);
		else
			q->res.addrs[0].a[15] = 1;
		q->n = 1;
		complete(q, ARES_SUCCESS);
		query_started(d);
		return q;
	}
	if (d->dnssec) {
		/* A plain query: getaddrinfo hides the answer's header. */
		start_raw(d, q, name, family == AF_INET ? ns_t_a : ns_t_aaaa, on_addr_raw);
		query_started(d);
		return q;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_flags = ARES_AI_NOSORT;
	ares_getaddrinfo(d->chan, name, NULL, &hints, on_addrinfo, q);
	query_started(d);
	return q;
}

/*
 * raw_lookup - a query of type whose answer on() parses; the caller
 * sets the callback on the handle (nothing is delivered before the
 * loop runs)
 */
static struct dns_query *
raw_lookup(struct dns *d, enum dns_kind kind, const char *name, int type,
	   ares_callback on, void *ctx)
{
	struct dns_query *q = query_new(d, kind, ctx);

	start_raw(d, q, name, type, on);
	query_started(d);
	return q;
}

struct dns_query *
dns_mx(struct dns *d, const char *name, dns_mx_cb *cb, void *ctx)
{
	struct dns_query *q = raw_lookup(d, Q_MX, name, ns_t_mx, on_mx, ctx);

	q->cb.mx = cb;
	return q;
}

struct dns_query *
dns_txt(struct dns *d, const char *name, dns_names_cb *cb, void *ctx)
{
	struct dns_query *q = raw_lookup(d, Q_TXT, name, ns_t_txt, on_txt, ctx);

	q->cb.names = cb;
	return q;
}

/* on_probe - only whether there is an answer, and its AD bit */
static void
on_probe(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;

	(void) timeouts;
	(void) abuf;
	(void) alen;
	q->n = status == ARES_SUCCESS;		/* an answer: not "no data" */
	complete(q, status);
}

struct dns_query *
dns_probe(struct dns *d, int type, const char *name, dns_names_cb *cb, void *ctx)
{
	struct dns_query *q = raw_lookup(d, Q_PROBE, name, type, on_probe, ctx);

	q->cb.names = cb;
	return q;
}

struct dns_query *
dns_tlsa(struct dns *d, const char *name, dns_tlsa_cb *cb, void *ctx)
{
	struct dns_query *q = raw_lookup(d, Q_TLSA, name, 52, on_tlsa, ctx);

	q->cb.tlsa = cb;
	return q;
}

void
dns_cancel(struct dns_query *q)
{
	if (q != NULL)
		q->cancelled = true;
}

void
dns_free(struct dns *d)
{
	struct dns_query *q;

	if (d == NULL)
		return;
	d->destroying = true;
	/* Every pending query comes back with ARES_EDESTRUCTION: freed. */
	ares_destroy(d->chan);
	while ((q = d->ready) != NULL) {
		d->ready = q->next;
		query_free(q);
	}
	while (d->socks != NULL) {
		struct dns_sock *s = d->socks;

		d->socks = s->next;
		if (d->loop != NULL)
			ev_io_stop(d->loop, &s->io);
		free(s);
	}
	if (d->loop != NULL) {
		ev_timer_stop(d->loop, &d->timer);
		ev_timer_stop(d->loop, &d->ready_timer);
	}
	if (d->nqueries != 0)
		log_panic("dns_free: %zu lookups left after ares_destroy", d->nqueries);
	free(d);
}

/* ------------------------------------------------------------------ */
/* Helpers.                                                           */

bool
dns_addr_match(const struct dns_addr *addrs, size_t n, int family, const void *bin)
{
	size_t	len = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (addrs[i].family == family && memcmp(addrs[i].a, bin, len) == 0)
			return true;
	return false;
}

size_t
dns_sockets(const struct dns *d)
{
	return d->nsocks;
}

size_t
dns_queries(const struct dns *d)
{
	return d->nqueries;
}
