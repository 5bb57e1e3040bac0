/*
 * NAME
 *	pickup_notice - tell a local sender that cleanup refused the message
 * DESCRIPTION
 *	sendmail exited 0 once postdrop had the message on disk, so when
 *	cleanup later refuses it for good (no recipients in the headers of
 *	a -t message, a mail loop, a malformed address) the sender must
 *	hear about it, or the message would vanish silently.
 *	pickup_notice_compose() writes a short notification (Unix form:
 *	LF line ends) into out:
 *
 *	  From: MAILER-DAEMON@HOST (Mail Delivery System)
 *	  To: <SENDER>
 *	  Subject: Undelivered Mail Returned to Sender
 *	  Auto-Submitted: auto-replied
 *	  MIME-Version, Content-Type: text/plain; charset=us-ascii
 *
 *	  what happened, cleanup's reason, the uid, and the original
 *	  header section (at most size_limit bytes, cut at a line end).
 *
 *	pickup (pickup.c) submits it from the null sender with
 *	CLEANUP_F_BOUNCE; a message from the null sender gets no notice.
 *	It returns 0, or -1 when out has no room (out is then unchanged).
 * SECURITY
 *	The sender, the reason and the header section came from the local
 *	user.  Every control character but tab and every octet above 126
 *	becomes '?', so the sender and the reason cannot end a header
 *	field and the notice is plain ASCII; copied header lines are cut
 *	at PICKUP_NOTICE_LINE bytes and sit in the body, where they cannot
 *	be taken for the notice's own header.
 */
#include <string.h>

#include "pickup.h"
#include "str.h"

#define PICKUP_NOTICE_LINE	900

/* put_clean - s[0..n) with control characters and non-ASCII as '?' */
static int
put_clean(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
			if (buf_putc(out, c) < 0)
				return -1;
		} else if (buf_putc(out, '?') < 0)
			return -1;
	}
	return 0;
}

int
pickup_notice_compose(struct buf *out, const char *hostname, const char *sender,
		      unsigned long uid, const char *reason, const char *hdr,
		      size_t hdr_len, size_t size_limit)
{
	size_t  mark = out->len, copied = 0;
	const char *p = hdr, *end = hdr + hdr_len;
	int     r = 0;

	r |= buf_appendf(out, "From: MAILER-DAEMON@%s (Mail Delivery System)\nTo: <", hostname);
	r |= put_clean(out, sender, strlen(sender));
	r |= buf_puts(out, ">\nSubject: Undelivered Mail Returned to Sender\n"
		      "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
		      "Content-Type: text/plain; charset=us-ascii\n\n");
	r |= buf_appendf(out, "This is the mail system at host %s.\n\n"
			 "A message submitted with sendmail by uid %lu could not be "
			 "accepted for\ndelivery, for this reason:\n\n    ", hostname, uid);
	r |= put_clean(out, reason, strlen(reason));
	r |= buf_puts(out, "\n\nThe header section of the message follows.\n\n");
	/* The header section: up to the first empty line, whole lines only. */
	while (r == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		size_t  n = nl ? (size_t) (nl - p) : (size_t) (end - p);

		if (n == 0 || copied + n + 1 > size_limit)
			break;
		r |= put_clean(out, p, n < PICKUP_NOTICE_LINE ? n : PICKUP_NOTICE_LINE);
		r |= buf_putc(out, '\n');
		copied += n + 1;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (r != 0) {
		buf_truncate(out, mark);
		return -1;
	}
	return 0;
}
