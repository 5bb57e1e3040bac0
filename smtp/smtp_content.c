/*
 * NAME
 *	smtp_content - the message on the wire
 * SYNOPSIS
 *	#include "smtp.h"
 *
 *	struct smtp_enc e;
 *	smtp_enc_init(&e, cfg->smtp_line_length_limit);
 *	// for each chunk of the header section, "\n", the body:
 *	buf_reserve(out, smtp_enc_room(n)) ... smtp_enc_feed(&e, p, n, out);
 *	smtp_enc_end(&e, out);		// a last CR LF if needed, ".\r\n"
 *
 *	unsigned bits = smtp_8bit_scan(p, n);	// non-zero: 8-bit bytes
 *	if (smtp_utf8_needed(sender, rcpts, n)) ... SMTPUTF8 ...
 * DESCRIPTION
 *	Queue files hold content in Unix form: every line ends in LF, no
 *	dot-stuffing (docs/INTERNALS.md, "Queue files").  The encoder
 *	turns it into SMTP DATA text as it streams (RFC 5321 sections
 *	2.3.8 and 4.5.2): each LF becomes CR LF, a line that starts with
 *	"." gets a second one, and a line longer than line_limit bytes
 *	is broken by inserting CR LF SPACE (Postfix's
 *	smtp_line_length_limit: the space keeps a broken header line a
 *	folded header).  Input may be cut anywhere: the state carries
 *	over between calls.  smtp_enc_end() closes a last line without
 *	LF and writes the end of data, so the output always ends in
 *	CR LF . CR LF, whatever the content.
 *
 *	smtp_enc_room(n) is the most output n input bytes can make; the
 *	caller reserves that much room in out before smtp_enc_feed()
 *	(which must not fail for lack of room: that would be a bug).
 *
 *	smtp_8bit_scan() tells whether bytes have the high bit set.
 *	smtp_utf8_needed() tells whether an envelope address needs
 *	SMTPUTF8 (a byte above 127 in the sender or a recipient).
 * SECURITY
 *	The end of data is made here and only here: a content line "."
 *	always goes out as "..", so no message text can end the DATA
 *	phase early or smuggle a second message to the next hop.
 */
#include <string.h>

#include "log.h"
#include "smtp.h"

void
smtp_enc_init(struct smtp_enc *e, unsigned line_limit)
{
	memset(e, 0, sizeof(*e));
	e->line_limit = line_limit;
	e->bol = true;
}

size_t
smtp_enc_room(size_t n)
{
	/* Worst case: every byte a "." line or a break: 4 per byte. */
	return 4 * n + 8;
}

static void
put(struct buf *out, const char *p, size_t n)
{
	if (buf_append(out, p, n) < 0)
		log_panic("smtp_enc: output buffer too small (%zu + %zu > %zu)",
			  out->len, n, out->max);
}

void
smtp_enc_feed(struct smtp_enc *e, const char *p, size_t n, struct buf *out)
{
	const char *end = p + n;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t) (end - p));
		const char *stop = lf ? lf : end;

		if (e->bol && p < stop && *p == '.')
			put(out, ".", 1);
		while (p < stop) {
			size_t	take = (size_t) (stop - p);

			if (e->line_limit && e->col >= e->line_limit) {
				put(out, "\r\n ", 3);
				e->col = 1;
			}
			if (e->line_limit && take > e->line_limit - e->col)
				take = e->line_limit - e->col;
			put(out, p, take);
			e->col += take;
			p += take;
			e->bol = false;
		}
		if (lf != NULL) {
			put(out, "\r\n", 2);
			e->col = 0;
			e->bol = true;
			p = lf + 1;
		}
	}
}

void
smtp_enc_end(struct smtp_enc *e, struct buf *out)
{
	if (!e->bol)
		put(out, "\r\n", 2);
	put(out, ".\r\n", 3);
	e->bol = true;
	e->col = 0;
	e->done = true;
}

unsigned
smtp_8bit_scan(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *) p;
	size_t	i = 0;
	uint64_t acc = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, u + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= u[i];
	return (acc & UINT64_C(0x8080808080808080)) != 0;
}

bool
smtp_utf8_needed(const char *sender, const struct smtp_rcpt *r, size_t n)
{
	if (smtp_8bit_scan(sender, strlen(sender)))
		return true;
	for (size_t i = 0; i < n; i++)
		if (r[i].stat == SMTP_R_TODO
		    && smtp_8bit_scan(r[i].address, strlen(r[i].address)))
			return true;
	return false;
}
