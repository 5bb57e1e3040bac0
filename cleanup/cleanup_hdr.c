/*
 * NAME
 *	cleanup_hdr - the header section of a new message
 * SYNOPSIS
 *	#include "cleanup.h"
 *
 *	cleanup_hdr_init(&h, req->flags, cfg->header_size_limit,
 *			 cfg->hopcount_limit, cfg->cleanup_replace_stray_cr_lf,
 *			 cfg->cleanup_recipient_limit);
 *	while (cleanup_src_line(&src, &p, &n, &start, &eol) == 1)
 *		switch (cleanup_hdr_line(&h, p, n, start, eol)) {
 *		case CLEANUP_HDR_MORE: continue;
 *		case CLEANUP_HDR_END:  body = cleanup_src_tell(&src); ...
 *		case CLEANUP_HDR_JUNK: body = src.frag_pos; ...
 *		}
 *	cleanup_hdr_eof(&h);		// when the content ended first
 *	if (cleanup_hdr_too_many_hops(&h)) ... 5.4.6 ...
 *	cleanup_hdr_finish(&h, &info, &out);
 * DESCRIPTION
 *	cleanup_hdr_line() takes the content one physical line at a
 *	time (a long line in fragments: start is false for all but the
 *	first, eol true for the last), without the LF.  It assembles
 *	logical headers ("Name:" plus continuation lines that start with
 *	a space or tab) and returns CLEANUP_HDR_MORE while the header
 *	section goes on; CLEANUP_HDR_END when the line was the empty line
 *	that ends it (consumed); CLEANUP_HDR_JUNK when the line is
 *	neither a header nor a continuation (it is not consumed: the body
 *	starts with it, as Postfix does).  A CR just before the LF is
 *	part of the line end and dropped.
 *
 *	Each complete header is then handled:
 *	  - Received: is counted (also when discarded below);
 *	  - bounds: a logical header that is longer than
 *	    header_size_limit (with its LF) is cut to fit, and from the
 *	    first header that does not fit in what is left of
 *	    header_size_limit on, every header is discarded; the reading
 *	    goes on to the end of the header section either way (Postfix
 *	    discards the excess and keeps going).  h->discarded counts
 *	    the bytes lost, for the log;
 *	  - a stray CR (cleanup_replace_stray_cr_lf) and any NUL byte
 *	    become a space: stored content has LF line ends only, so
 *	    nothing relayed on can smuggle a line end;
 *	  - Return-Path: is removed (delivery adds the real one);
 *	  - with CLEANUP_F_EXTRACT, the addresses of To:, Cc: and Bcc:
 *	    (and of Resent-To:, Resent-Cc:, Resent-Bcc:, which take
 *	    precedence when present) are collected in h->xrcpt
 *	    (h->xresent), at most xrcpt_max (lib/mail/hdr_addr.h; a bare name
 *	    is kept bare: the envelope code appends @myorigin);
 *	  - Bcc: and Resent-Bcc: are removed for CLEANUP_F_EXTRACT and
 *	    CLEANUP_F_LOCAL submissions (Postfix does the same for mail
 *	    from sendmail; SMTP mail keeps them);
 *	  - Message-ID:, Date:, From: are noted; the Message-ID value is
 *	    kept for the log;
 *	  - with h->checks set, header_checks (cleanup_checks.c) may drop,
 *	    replace or prepend to it.
 *
 *	cleanup_hdr_prepend() puts header lines (LF-separated) before the
 *	headers kept (smtpd's PREPEND): 0, or -1 when they do not fit.
 *
 *	cleanup_hdr_too_many_hops() is true when the stored message would
 *	hold more than hopcount_limit Received: headers (ours included):
 *	a mail loop, refused with 5.4.6.
 *
 *	cleanup_hdr_finish() writes the final header section to out:
 *	Received: first (not for CLEANUP_F_BOUNCE), the headers kept,
 *	then a Message-ID: <YYYYMMDDhhmmss.QUEUEID@myhostname> and a
 *	Date: when missing, and for CLEANUP_F_LOCAL a From: when missing
 *	("Full Name <sender>", or MAILER-DAEMON@myhostname for the null
 *	sender).  Received: is
 *	  from HELO (NAME [ADDR])		SMTP: helo, client name, addr
 *		by MYHOSTNAME (postern) with PROTOCOL id QUEUEID
 *		for <RCPT>; DATE
 *	or, for a local submission, "by MYHOSTNAME (postern, from userid
 *	UID)" instead of the "from" part; "for <RCPT>" only with exactly
 *	one envelope recipient.  Returns 0, or -1 when out is too small.
 *
 *	cleanup_rfc5322_date() formats tv as "Mon, 02 Jan 2006 15:04:05
 *	-0700 (MST)" in local time (the time zone is read before the
 *	chroot: cleanup.c calls tzset() in its pre-jail hook).
 *
 *	cleanup_stray_cr() copies in[0..n) to out (room for n + 1
 *	bytes), dropping a CR that precedes an LF and turning every other
 *	CR into a space; a CR at the end of in is held in *pending_cr and
 *	decided with the next chunk (or becomes a space when last).  It
 *	returns the bytes written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "hdr_addr.h"
#include "header.h"
#include "mem.h"
#include "str.h"

void
cleanup_hdr_init(struct cleanup_hdr *h, unsigned flags, size_t limit,
		 long long hop_limit, bool replace_cr, size_t xrcpt_max)
{
	memset(h, 0, sizeof(*h));
	h->flags = flags;
	h->limit = limit;
	h->hop_limit = hop_limit;
	h->replace_cr = replace_cr;
	h->xrcpt_max = xrcpt_max;
	/* A header and its LF fit in the limit. */
	buf_init(&h->cur, limit > 0 ? limit - 1 : 0);
	buf_init(&h->kept, limit);
}

static void
free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void
cleanup_hdr_free(struct cleanup_hdr *h)
{
	buf_free(&h->cur);
	buf_free(&h->kept);
	free_list(h->xrcpt, h->nxrcpt);
	free_list(h->xresent, h->nxresent);
	h->xrcpt = h->xresent = NULL;
	h->nxrcpt = h->nxresent = 0;
}

/* append_cur - add to the logical header; what does not fit is counted */
static void
append_cur(struct cleanup_hdr *h, const char *p, size_t n)
{
	size_t  room = buf_room(&h->cur);

	if (n > room) {
		h->discarded += n - room;
		n = room;
	}
	if (n > 0)
		(void) buf_append(&h->cur, p, n);
}

/* cleanup_hdr_start - "name:" with a valid field name (white space before ':' allowed) */
bool
cleanup_hdr_start(const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	size_t  k;

	if (colon == NULL)
		return false;
	k = (size_t) (colon - p);
	while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
		k--;
	return header_name_valid(p, k);
}

struct xctx {
	struct cleanup_hdr *h;
	char ***list;
	size_t *n;
};

/* collect - one address from an address header */
static int
collect(void *ctx, const char *addr, unsigned aflags)
{
	struct xctx *x = ctx;

	(void) aflags;
	if (*x->n >= x->h->xrcpt_max) {
		x->h->xdropped++;
		return 0;
	}
	*x->list = xreallocarray(*x->list, *x->n + 1, sizeof(char *));
	(*x->list)[(*x->n)++] = xstrdup(addr);
	return 0;
}

static void
extract(struct cleanup_hdr *h, const char *v, size_t n, bool resent)
{
	struct xctx x = {.h = h, .list = resent ? &h->xresent : &h->xrcpt,
	.n = resent ? &h->nxresent : &h->nxrcpt};
	struct hdr_addr_stats st;
	size_t  left = h->xrcpt_max > *x.n ? h->xrcpt_max - *x.n : 0;

	(void) hdr_addr_walk(v, n, HDR_ADDR_UTF8, left, collect, &x, &st);
	h->xskipped += st.skipped;
	h->xdropped += st.dropped;
}

/* name_is - the header's field name equals name (ASCII case-insensitive) */
static bool
name_is(const char *p, size_t k, const char *name)
{
	return strlen(name) == k && str_ncasecmp(p, name, k) == 0;
}

/* flush - handle the logical header in h->cur */
static void
flush(struct cleanup_hdr *h)
{
	char   *t = h->cur.data;
	size_t  n = h->cur.len, k;
	const char *colon, *v;
	size_t  vlen;
	bool    keep = true;

	if (!h->in_header)
		return;
	h->in_header = false;
	/* A cut at the bound may leave a line end last: never an empty line. */
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n; i++)
		if (t[i] == '\0' || (t[i] == '\r' && h->replace_cr))
			t[i] = ' ';
	colon = memchr(t, ':', n);
	if (colon == NULL) {			/* cannot happen: cleanup_hdr_start() */
		buf_reset(&h->cur);
		return;
	}
	k = (size_t) (colon - t);
	while (k > 0 && (t[k - 1] == ' ' || t[k - 1] == '\t'))
		k--;
	v = colon + 1;
	vlen = n - (size_t) (v - t);

	if (name_is(t, k, "Received"))
		h->hops++;
	if (h->full || h->kept.len + n + 1 > h->limit) {
		h->full = true;
		h->discarded += n + 1;
		buf_reset(&h->cur);
		return;
	}
	if (name_is(t, k, "Return-Path")) {
		keep = false;
	} else if (name_is(t, k, "To") || name_is(t, k, "Cc")) {
		if (h->flags & CLEANUP_F_EXTRACT)
			extract(h, v, vlen, false);
	} else if (name_is(t, k, "Resent-To") || name_is(t, k, "Resent-Cc")) {
		if (h->flags & CLEANUP_F_EXTRACT)
			extract(h, v, vlen, true);
	} else if (name_is(t, k, "Bcc") || name_is(t, k, "Resent-Bcc")) {
		if (h->flags & CLEANUP_F_EXTRACT)
			extract(h, v, vlen, name_is(t, k, "Resent-Bcc"));
		if (h->flags & (CLEANUP_F_EXTRACT | CLEANUP_F_LOCAL))
			keep = false;
	} else if (name_is(t, k, "Message-ID")) {
		struct buf u;

		h->have_msgid = true;
		buf_init(&u, CLEANUP_MSGID_MAX);
		(void) header_unfold(v, vlen, &u);
		(void) str_copy(h->msgid, sizeof(h->msgid), str_trim(u.data));
		buf_free(&u);
	} else if (name_is(t, k, "Date")) {
		h->have_date = true;
	} else if (name_is(t, k, "From")) {
		h->have_from = true;
	}
	if (keep && h->checks != NULL) {
		struct buf before, instead;

		buf_init(&before, h->limit);
		buf_init(&instead, h->limit);
		switch (cleanup_check_header(h->checks, CLEANUP_MIME_PRIMARY, t, n,
					     &before, &instead)) {
		case CLEANUP_CHECK_DROP:
			keep = false;
			break;
		case CLEANUP_CHECK_REPLACE:
			(void) buf_append(&h->kept, before.data, before.len);
			(void) buf_append(&h->kept, instead.data, instead.len);
			(void) buf_putc(&h->kept, '\n');
			keep = false;
			break;
		default:
			(void) buf_append(&h->kept, before.data, before.len);
			break;
		}
		buf_free(&before);
		buf_free(&instead);
	}
	if (keep) {
		(void) buf_append(&h->kept, t, n);
		(void) buf_putc(&h->kept, '\n');
	}
	buf_reset(&h->cur);
}

int
cleanup_hdr_prepend(struct cleanup_hdr *h, const char *lines)
{
	struct buf nb;
	size_t  n = strlen(lines);

	buf_init(&nb, h->kept.max);
	if (buf_append(&nb, lines, n) < 0
	    || (n > 0 && lines[n - 1] != '\n' && buf_putc(&nb, '\n') < 0)
	    || buf_append(&nb, h->kept.data, h->kept.len) < 0) {
		buf_free(&nb);
		return -1;
	}
	buf_free(&h->kept);
	h->kept = nb;
	return 0;
}

int
cleanup_hdr_line(struct cleanup_hdr *h, const char *p, size_t n, bool start,
		 bool eol)
{
	if (eol && n > 0 && p[n - 1] == '\r')
		n--;				/* CR LF is a line end */
	if (!start) {
		if (h->in_header)
			append_cur(h, p, n);
		return CLEANUP_HDR_MORE;
	}
	if (n == 0 && eol) {
		flush(h);
		return CLEANUP_HDR_END;
	}
	if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
		if (!h->in_header) {
			return CLEANUP_HDR_JUNK;
		}
		append_cur(h, "\n", 1);
		append_cur(h, p, n);
		return CLEANUP_HDR_MORE;
	}
	flush(h);
	if (!cleanup_hdr_start(p, n))
		return CLEANUP_HDR_JUNK;
	h->in_header = true;
	append_cur(h, p, n);
	return CLEANUP_HDR_MORE;
}

void
cleanup_hdr_eof(struct cleanup_hdr *h)
{
	flush(h);
}

bool
cleanup_hdr_too_many_hops(const struct cleanup_hdr *h)
{
	size_t  ours = (h->flags & CLEANUP_F_BOUNCE) ? 0 : 1;

	return h->hops + ours > (size_t) h->hop_limit;
}

void
cleanup_rfc5322_date(const struct timeval *tv, char *out, size_t size)
{
	struct tm tm;
	time_t  t = tv->tv_sec;

	(void) localtime_r(&t, &tm);
	if (strftime(out, size, "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
		(void) str_copy(out, size, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/* phrase_ok - fullname can stand unquoted as an RFC 5322 phrase */
static bool
phrase_ok(const char *s)
{
	if (*s == '\0' || *s == ' ')
		return false;
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		if (*p >= 0x80 || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		    || (*p >= '0' && *p <= '9') || *p == ' '
		    || strchr("!#$%&'*+-/=?^_`{|}~", *p) != NULL)
			continue;
		return false;
	}
	return true;
}

/*
 * received_tls - Postfix's TLS comment in Received:, the summary folded
 * before its key exchange part:
 *	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
 *	 key-exchange X25519 server-signature ECDSA (P-256) server-digest SHA256)
 *	(No client certificate requested)
 */
static int
received_tls(struct buf *out, const char *tls)
{
	const char *kx = strstr(tls, " key-exchange ");

	if (kx == NULL)
		return buf_appendf(out, "\t(using %s)\n\t(No client certificate "
				   "requested)\n", tls);
	return buf_appendf(out, "\t(using %.*s\n\t %s)\n\t(No client certificate "
			   "requested)\n", (int) (kx - tls), tls, kx + 1);
}

/* ip_prefix - "IPv6:" before an IPv6 address, as RFC 5321 writes it */
static const char *
ip_prefix(const char *addr)
{
	return strchr(addr, ':') ? "IPv6:" : "";
}

int
cleanup_hdr_finish(struct cleanup_hdr *h, const struct cleanup_hdr_info *info,
		   struct buf *out)
{
	const struct cleanup_req *req = info->req;
	char    date[80];
	int     r = 0;

	buf_reset(out);
	cleanup_rfc5322_date(info->arrival, date, sizeof(date));
	if (!(h->flags & CLEANUP_F_BOUNCE)) {
		if (req->client_addr != NULL) {
			const char *name = req->client_name ? req->client_name : "unknown";

			r |= buf_appendf(out, "Received: from %s (%s [%s%s])\n",
					 req->helo ? req->helo : name, name,
					 ip_prefix(req->client_addr), req->client_addr);
			if (req->tls != NULL)
				r |= received_tls(out, req->tls);
			r |= buf_appendf(out, "\tby %s (postern) with %s id %s",
					 info->myhostname,
					 req->protocol ? req->protocol : "SMTP", info->qid);
		} else if (req->uid >= 0) {
			r |= buf_appendf(out, "Received: by %s (postern, from userid %lld)\n"
					 "\tid %s", info->myhostname, req->uid, info->qid);
		} else {
			r |= buf_appendf(out, "Received: by %s (postern)%s%s id %s",
					 info->myhostname, req->protocol ? " with " : "",
					 req->protocol ? req->protocol : "", info->qid);
		}
		if (info->for_rcpt != NULL)
			r |= buf_appendf(out, "\n\tfor <%s>", info->for_rcpt);
		r |= buf_appendf(out, "; %s\n", date);
	}
	r |= buf_append(out, h->kept.data, h->kept.len);
	if (!h->have_msgid) {
		struct tm tm;
		time_t  t = info->arrival->tv_sec;
		char    stamp[32];

		(void) gmtime_r(&t, &tm);
		(void) strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
		(void) str_fmt(h->msgid, sizeof(h->msgid), "<%s.%s@%s>", stamp,
			       info->qid, info->myhostname);
		r |= buf_appendf(out, "Message-ID: %s\n", h->msgid);
	}
	if (!h->have_date)
		r |= buf_appendf(out, "Date: %s\n", date);
	if ((h->flags & CLEANUP_F_LOCAL) && !h->have_from) {
		const char *fn = req->fullname;

		if (*info->sender == '\0')
			r |= buf_appendf(out, "From: MAILER-DAEMON@%s\n", info->myhostname);
		else if (fn == NULL || *fn == '\0')
			r |= buf_appendf(out, "From: %s\n", info->sender);
		else if (phrase_ok(fn))
			r |= buf_appendf(out, "From: %s <%s>\n", fn, info->sender);
		else {
			r |= buf_puts(out, "From: \"");
			for (const char *p = fn; *p; p++) {
				if (*p == '"' || *p == '\\')
					r |= buf_putc(out, '\\');
				r |= buf_putc(out, *p);
			}
			r |= buf_appendf(out, "\" <%s>\n", info->sender);
		}
	}
	return r ? -1 : 0;
}

size_t
cleanup_stray_cr(const char *in, size_t n, char *out, bool *pending_cr, bool last)
{
	size_t  o = 0;

	for (size_t i = 0; i < n; i++) {
		char    c = in[i];

		if (*pending_cr) {
			*pending_cr = false;
			if (c != '\n')
				out[o++] = ' ';
		}
		if (c == '\r') {
			*pending_cr = true;
			continue;
		}
		out[o++] = c;
	}
	if (last && *pending_cr) {
		*pending_cr = false;
		out[o++] = ' ';
	}
	return o;
}
