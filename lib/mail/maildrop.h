/*
 * NAME
 *	maildrop - local submission records: sendmail -> postdrop -> pickup
 * SYNOPSIS
 *	#include "maildrop.h"
 *
 *	// sendmail: records to postdrop's standard input
 *	struct maildrop_out o;
 *	maildrop_out_init(&o, pipefd);
 *	maildrop_out_put_str(&o, QF_REC_VERSION, QFILE_VERSION);
 *	... T A S R ...
 *	struct maildrop_msg m;
 *	maildrop_msg_init(&m, size_limit, MAILDROP_MSG_SKIP_FROM_, put_chunk, &o);
 *	r = maildrop_read_input(0, line_limit, ignore_dots, &m);
 *	maildrop_out_put(&o, QF_REC_END, NULL, 0);
 *	maildrop_out_flush(&o);
 *
 *	// postdrop: records from sendmail, checked one by one
 *	struct maildrop_in in;
 *	struct maildrop_rec rec;
 *	maildrop_in_init(&in, 0, &limits);
 *	while ((r = maildrop_in_next(&in, &rec)) == 1)
 *		... rec.type, rec.data, rec.len ...
 *	if (r < 0) ... in.why ...
 *
 *	char name[MAILDROP_NAME_LEN + 1];
 *	maildrop_name_new(name);	// 32 hex digits from getrandom()
 * DESCRIPTION
 *	docs/INTERNALS.md ("Maildrop files") describes the records.  A
 *	maildrop file holds V T A* S ([O] [N] R)* M E, with the whole
 *	message in one M record.  On the pipe from sendmail to postdrop
 *	the same records travel, except that the message comes as one
 *	or more M records of at most MAILDROP_CHUNK_MAX bytes each, so
 *	neither program ever holds a whole message: postdrop joins them
 *	into the file's single M record.
 *
 *	Output.  maildrop_out buffers records for fd and writes them
 *	MAILDROP_CHUNK_MAX bytes or more at a time.  maildrop_out_put()
 *	adds a record (type one of V T A S O N R M E), maildrop_out_raw()
 *	bytes without a record header (postdrop's file M data after a
 *	header whose length it patches at the end).  o->offset is the
 *	number of bytes put so far.  maildrop_out_flush() writes what is
 *	buffered.  All return 0, or -1 with errno; an error sticks.
 *
 *	Input.  maildrop_in_next() reads the next record from the stream
 *	(buffered, MAILDROP_CHUNK_MAX + header bytes at most per record)
 *	and checks it against the order above and the limits before the
 *	caller sees it: V is "1"; T at most MAILDROP_TIME_MAX bytes; at
 *	most lim->attr_count attributes of lim->attr_max bytes, each
 *	"name=value" with a name of [a-z0-9_] letters; S, O and R at
 *	most lim->addr_max bytes (O, N and R not empty, an O or N only
 *	before its R), at most lim->rcpt_max recipients; N at most
 *	QFILE_NOTIFY_MAX bytes; M data at most MAILDROP_CHUNK_MAX per
 *	record and lim->msg_max in all; E empty, and nothing after it.
 *	No small record may hold a NUL or another control character.
 *	Values must be what cleanup stores (maildrop_value_why()).
 *	It returns 1 with rec set (rec->data is valid until the next
 *	call; it is not NUL-terminated), 0 when the input ended cleanly
 *	right after E, or -1 with in->why describing the fault; errno is
 *	then 0 for bad input, EFBIG when the message exceeds
 *	lim->msg_max, or the read error.  An error sticks.
 *
 *	Message content.  maildrop_msg turns input lines (struct lb_line
 *	from linebuf.h, pieces of long lines included) into the Unix form
 *	of the message: every line ends in LF, with no CR before it, long
 *	lines kept whole (their pieces are joined again).  Content goes
 *	to fn(ctx, p, n) in chunks of at most MAILDROP_CHUNK_MAX bytes.
 *	With MAILDROP_MSG_SKIP_FROM_ a first line that starts with
 *	"From " (an mbox envelope line, which would break the header) is
 *	dropped, as sendmail and Postfix do.  maildrop_msg_line() takes
 *	one line or piece; maildrop_msg_finish() hands over the rest.
 *	Both return 0; MAILDROP_ETOOBIG once the content would exceed max
 *	bytes (0 means QFILE_BODY_ABS_MAX), after which further content
 *	is counted in m->size but dropped, so an SMTP reader can go on to
 *	the end of the data; or MAILDROP_EOUT when fn failed (it sticks).
 *
 *	maildrop_read_input() reads fd to the end (or, without
 *	ignore_dots, to a line that holds a single "."; CR LF and LF both
 *	end a line) with a linebuf of line_max bytes, passes each line to
 *	maildrop_msg_line() and ends with maildrop_msg_finish().  A last
 *	line without its LF is taken as if it had one (and a CR at its
 *	end is dropped).  It returns 0, MAILDROP_ETOOBIG (at once: the
 *	rest of the input is not read), MAILDROP_EOUT, or MAILDROP_EIO
 *	with errno set.
 *
 *	Names.  maildrop_name_new() makes a file name of
 *	MAILDROP_NAME_LEN lower-case hex digits (128 bits from
 *	getrandom(); fatal when the kernel cannot give them).
 *	maildrop_name_valid() checks that form, maildrop_temp_valid() the
 *	form "t." plus a name (postdrop's file while it is written).
 *
 *	maildrop_value_why() returns NULL when the record p[0..n) of type
 *	holds a value cleanup will store, else why not: an A record's
 *	fullname= (UTF-8 text, at most MAILDROP_FULLNAME_MAX bytes; empty
 *	means no name) and envid= (1 to MAILDROP_ENVID_MAX printable
 *	ASCII characters, no space), an O record (UTF-8 text), an N record
 *	(NEVER, or a list of SUCCESS, FAILURE and DELAY).  postdrop refuses
 *	such a record; pickup sets a file that holds one aside.  Other
 *	records and attributes are checked elsewhere.
 * SECURITY
 *	postdrop runs set-group-id with a stream that the invoking user
 *	controls completely; maildrop_in_next() trusts none of it and
 *	never allocates or reads more than the bounds above.  pickup
 *	checks the file again with qfile_read(QF_MAILDROP), and cleanup
 *	checks the content.
 */
#ifndef POSTERN_MAILDROP_H
#define POSTERN_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "linebuf.h"
#include "qfile.h"

#define MAILDROP_NAME_LEN	32		/* hex digits */
#define MAILDROP_TEMP_PREFIX	"t."
#define MAILDROP_CHUNK_MAX	(64 * 1024)	/* M data per record on the pipe */
#define MAILDROP_TIME_MAX	32
#define MAILDROP_ADDR_MAX	1024
#define MAILDROP_ATTR_MAX	1024
#define MAILDROP_ATTR_COUNT	16
#define MAILDROP_FULLNAME_MAX	256		/* what cleanup stores */
#define MAILDROP_ENVID_MAX	100		/* RFC 3461 4.4, as cleanup */

/* Attributes (A records) and the letters of "flags=". */
#define MAILDROP_A_FLAGS	"flags"		/* letters below */
#define MAILDROP_A_FULLNAME	"fullname"	/* sendmail -F */
#define MAILDROP_A_LOGIN	"login"		/* written by postdrop only */
#define MAILDROP_A_BODY		"body"		/* -B: 7BIT, 8BITMIME */
#define MAILDROP_A_RET		"ret"		/* -R: FULL, HDRS */
#define MAILDROP_A_ENVID	"envid"		/* -V */
#define MAILDROP_F_EXTRACT	't'	/* recipients from To/Cc/Bcc */
#define MAILDROP_F_SENDER	'f'	/* S is the -f sender (maybe null) */

/* maildrop_msg_*() and maildrop_read_input() results */
#define MAILDROP_OK		0
#define MAILDROP_ETOOBIG	(-1)
#define MAILDROP_EOUT		(-2)
#define MAILDROP_EIO		(-3)

/* maildrop_msg_init() flags */
#define MAILDROP_MSG_SKIP_FROM_	0x1

struct maildrop_out {
	int	fd;
	struct buf b;
	uint64_t offset;		/* bytes put so far */
	int	error;			/* sticky errno */
};

void	maildrop_out_init(struct maildrop_out *o, int fd);
void	maildrop_out_free(struct maildrop_out *o);
int	maildrop_out_put(struct maildrop_out *o, int type, const void *p, size_t n);
int	maildrop_out_put_str(struct maildrop_out *o, int type, const char *s);
int	maildrop_out_raw(struct maildrop_out *o, const void *p, size_t n);
int	maildrop_out_flush(struct maildrop_out *o);

struct maildrop_limits {
	size_t	addr_max;
	size_t	attr_max;
	size_t	attr_count;
	size_t	rcpt_max;
	uint64_t msg_max;		/* M data in all */
};

struct maildrop_rec {
	int	type;
	const char *data;
	size_t	len;
};

struct maildrop_in {
	int	fd;
	char   *buf;
	size_t	start, end, cap;
	struct maildrop_limits lim;
	int	state;
	bool	have_orcpt, have_notify;
	size_t	nattrs, nrcpts, recno;
	uint64_t msg_len;
	uint64_t bytes_in;
	bool	failed;
	char	why[256];
};

void	maildrop_in_init(struct maildrop_in *in, int fd,
			 const struct maildrop_limits *lim);
void	maildrop_in_free(struct maildrop_in *in);
int	maildrop_in_next(struct maildrop_in *in, struct maildrop_rec *rec);

typedef int maildrop_chunk_fn(void *ctx, const char *p, size_t n);

struct maildrop_msg {
	struct buf out;			/* content not yet handed to fn */
	uint64_t size;			/* content bytes seen */
	uint64_t max;
	unsigned flags;
	bool	first;			/* no line seen yet */
	bool	in_long;		/* inside a long line (pieces) */
	bool	skipping;		/* dropping a From_ line's pieces */
	int	status;			/* sticky MAILDROP_E* */
	maildrop_chunk_fn *fn;
	void   *ctx;
};

void	maildrop_msg_init(struct maildrop_msg *m, uint64_t max, unsigned flags,
			  maildrop_chunk_fn *fn, void *ctx);
void	maildrop_msg_free(struct maildrop_msg *m);
int	maildrop_msg_line(struct maildrop_msg *m, const struct lb_line *l);
int	maildrop_msg_finish(struct maildrop_msg *m);
int	maildrop_read_input(int fd, size_t line_max, bool ignore_dots,
			    struct maildrop_msg *m);

void	maildrop_name_new(char out[MAILDROP_NAME_LEN + 1]);
bool	maildrop_name_valid(const char *s);
const char *maildrop_value_why(int type, const char *p, size_t n);
bool	maildrop_temp_valid(const char *s);

#endif
