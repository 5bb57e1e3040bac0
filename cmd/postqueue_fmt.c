/*
 * NAME
 *	postqueue_fmt - mailq's text layout and postqueue -j's JSON lines
 * DESCRIPTION
 *	See postqueue.h.  The text layout copies Postfix's column widths
 *	exactly (including the size column that ends one place before
 *	its heading), because scripts cut mailq output by column.
 */
#include <string.h>
#include <time.h>

#include "postqueue.h"
#include "str.h"
#include "utf8.h"

#define RCPT_INDENT	41

/* status_char - '*' active, '!' hold, ' ' otherwise */
static char
status_char(const char *queue)
{
	return str_eq(queue, "active") ? '*' : str_eq(queue, "hold") ? '!' : ' ';
}

static int
rcpt_line(struct buf *out, const char *addr)
{
	return buf_appendf(out, "%*s%s\n", RCPT_INDENT, "", addr);
}

int
postqueue_text_msg(struct buf *out, const struct showq_msg *m, bool first)
{
	size_t  mark = out->len;
	char    idstat[96], when[32];
	time_t	t = (time_t) m->arrival;
	struct tm tm;
	int     r = 0;

	if (first)
		r |= buf_appendf(out, "%-11s %7s %-20s %s\n", "-Queue ID-", "--Size--",
				 "----Arrival Time----", "-Sender/Recipient-------");
	(void) str_fmt(idstat, sizeof(idstat), "%s%c", m->queue_id, status_char(m->queue));
	if (localtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) == 0)
		(void) str_copy(when, sizeof(when), "?");
	r |= buf_appendf(out, "%-11s %7llu %-20.20s %s\n", idstat, (unsigned long long) m->size,
			 when, m->sender[0] ? m->sender : "MAILER-DAEMON");
	/* Recipients without a reason, then one group per reason. */
	for (size_t i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].reason[0] == '\0')
			r |= rcpt_line(out, m->rcpts[i].addr);
	for (size_t i = 0; i < m->nrcpts; i++) {
		const char *why = m->rcpts[i].reason;
		bool    seen = false;

		if (why[0] == '\0')
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = str_eq(m->rcpts[j].reason, why);
		if (seen)
			continue;
		r |= buf_appendf(out, "(%s)\n", why);
		for (size_t j = i; j < m->nrcpts; j++)
			if (str_eq(m->rcpts[j].reason, why))
				r |= rcpt_line(out, m->rcpts[j].addr);
	}
	if (m->more > 0)
		r |= buf_appendf(out, "%*s(%llu more recipients not shown)\n", RCPT_INDENT, "",
				 (unsigned long long) m->more);
	r |= buf_putc(out, '\n');
	if (r != 0) {
		buf_truncate(out, mark);
		return -1;
	}
	return 0;
}

int
postqueue_text_end(struct buf *out, const struct showq_summary *sum)
{
	size_t  mark = out->len;
	int     r = 0;

	if (sum->messages == 0 && sum->omitted == 0)
		return buf_puts(out, "Mail queue is empty\n");
	if (sum->omitted > 0)
		r |= buf_appendf(out, "-- %llu more messages not listed (showq_limit)\n",
				 (unsigned long long) sum->omitted);
	r |= buf_appendf(out, "-- %llu Kbytes in %llu Request%s.\n",
			 (unsigned long long) ((sum->bytes + 1023) / 1024),
			 (unsigned long long) sum->messages, sum->messages == 1 ? "" : "s");
	if (r != 0) {
		buf_truncate(out, mark);
		return -1;
	}
	return 0;
}

int
postqueue_json_string(struct buf *out, const char *s)
{
	size_t  n = strlen(s), mark = out->len;
	int     r = buf_putc(out, '"');

	for (size_t i = 0; i < n && r == 0;) {
		unsigned char c = (unsigned char) s[i];
		size_t  k;

		if (c == '"' || c == '\\') {
			r = buf_putc(out, '\\') | buf_putc(out, c);
			i++;
		} else if (c == '\n') {
			r = buf_puts(out, "\\n");
			i++;
		} else if (c == '\t') {
			r = buf_puts(out, "\\t");
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			r = buf_appendf(out, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			r = buf_putc(out, c);
			i++;
		} else if ((k = utf8_decode(s + i, n - i, NULL)) > 0) {
			r = buf_append(out, s + i, k);
			i += k;
		} else {
			r = buf_puts(out, "\\ufffd");
			i++;
		}
	}
	if (r == 0)
		r = buf_putc(out, '"');
	if (r != 0) {
		buf_truncate(out, mark);
		return -1;
	}
	return 0;
}

int
postqueue_json_msg(struct buf *out, const struct showq_msg *m)
{
	size_t  mark = out->len;
	int     r = 0;

	r |= buf_puts(out, "{\"queue_name\": ");
	r |= postqueue_json_string(out, m->queue);
	r |= buf_puts(out, ", \"queue_id\": ");
	r |= postqueue_json_string(out, m->queue_id);
	r |= buf_appendf(out, ", \"arrival_time\": %llu, \"message_size\": %llu, "
			 "\"forced_expire\": false, \"sender\": ",
			 (unsigned long long) m->arrival, (unsigned long long) m->size);
	r |= postqueue_json_string(out, m->sender);
	r |= buf_puts(out, ", \"recipients\": [");
	for (size_t i = 0; i < m->nrcpts; i++) {
		r |= buf_puts(out, i ? ", {\"address\": " : "{\"address\": ");
		r |= postqueue_json_string(out, m->rcpts[i].addr);
		if (m->rcpts[i].reason[0]) {
			r |= buf_puts(out, ", \"delay_reason\": ");
			r |= postqueue_json_string(out, m->rcpts[i].reason);
		}
		r |= buf_putc(out, '}');
	}
	r |= buf_puts(out, "]}\n");
	if (r != 0) {
		buf_truncate(out, mark);
		return -1;
	}
	return 0;
}
