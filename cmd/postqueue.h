/*
 * NAME
 *	postqueue.h - the listing formats of postqueue (and mailq)
 * SYNOPSIS
 *	#include "postqueue.h"
 *
 *	struct buf out;
 *	postqueue_text_msg(&out, &m, first);	// postqueue -p, mailq
 *	postqueue_text_end(&out, &sum);
 *	postqueue_json_msg(&out, &m);		// postqueue -j
 * DESCRIPTION
 *	postqueue_text_msg() appends one message in the layout Postfix
 *	administrators and their scripts know (the heading before the
 *	first message):
 *
 *	-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *	QUEUEID*       1234 Thu Nov 26 01:22:13  sender@example.com
 *	(deferral reason)
 *	                                         rcpt@example.org
 *
 *	'*' marks a message in the active queue, '!' one on hold; the
 *	null sender shows as MAILER-DAEMON; recipients that share a
 *	deferral reason follow it, those without one come first.
 *	postqueue_text_end() appends "-- N Kbytes in M Requests." (and a
 *	line for messages that showq_limit left out), or "Mail queue is
 *	empty".  Times are local time.
 *
 *	postqueue_json_msg() appends one JSON object and a newline, with
 *	the fields of Postfix 3.1 and later: queue_name, queue_id,
 *	arrival_time, message_size, forced_expire (always false),
 *	sender, recipients (address, and delay_reason when there is
 *	one).  postqueue_json_string() appends a JSON string: '"', '\'
 *	and control characters escaped, well-formed UTF-8 kept, any other
 *	byte written as \ufffd, so the output is always valid JSON.
 *
 *	All append to out and return 0, or -1 when out is full (out is
 *	then left as it was before the message).
 */
#ifndef POSTERN_CMD_POSTQUEUE_H
#define POSTERN_CMD_POSTQUEUE_H

#include <stdbool.h>

#include "buf.h"
#include "showq_clnt.h"

int	postqueue_text_msg(struct buf *out, const struct showq_msg *m, bool first);
int	postqueue_text_end(struct buf *out, const struct showq_summary *sum);
int	postqueue_json_msg(struct buf *out, const struct showq_msg *m);
int	postqueue_json_string(struct buf *out, const char *s);

#endif
