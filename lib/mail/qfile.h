/*
 * NAME
 *	qfile - queue file records: writer, strict reader, status appends
 * SYNOPSIS
 *	#include "qfile.h"
 *
 *	struct qfile_writer w;
 *	qfile_writer_init(&w, fd);
 *	qfile_put_str(&w, QF_REC_VERSION, QFILE_VERSION);
 *	qfile_put_time(&w, &arrival);
 *	qfile_put_str(&w, QF_REC_QID, qid);
 *	... A S [O] [N] R ...
 *	qfile_put_fd(&w, QF_REC_HEADER, spoolfd, hdr_off, hdr_len);
 *	qfile_put_fd(&w, QF_REC_BODY, spoolfd, body_off, body_len);
 *	qfile_put(&w, QF_REC_END, NULL, 0);
 *	if (qfile_finish(&w) < 0 || fsync(fd) < 0)
 *		... errno; ENOSPC/EDQUOT: answer 452 ...
 *	qfile_writer_free(&w);
 *
 *	struct qfile_limits lim;
 *	struct qfile_env env;
 *	char why[256];
 *	qfile_limits_default(&lim);
 *	if (qfile_read(fd, 0, qid, &lim, &env, why, sizeof(why)) < 0)
 *		... move to corrupt/, log why ...
 *	qfile_env_free(&env);
 *
 *	qfile_append_status(fd, QF_REC_DONE, "3");	// O_APPEND fd
 * DESCRIPTION
 *	The format is in docs/INTERNALS.md ("Queue files"): records of
 *	u8 type, u32 big-endian length, data.  The core section is
 *	V T Q A* S ([O] [N] R)+ H B E in this order (an O and an N, when
 *	present, precede their R, O first); the status section after E
 *	holds d/f/w/b records appended by the queue manager.
 *
 *	Writer.  qfile_writer_init() wraps a descriptor positioned where
 *	the file is to be written (a new file: offset 0) and allocates a
 *	QFILE_WBUF byte buffer.  qfile_put() adds one record;
 *	qfile_put_str() adds one whose data is a C string;
 *	qfile_put_time() adds T as "SECONDS.MICROSECONDS".  Records are
 *	buffered and written with as few write()/writev() calls as the
 *	sizes allow.  qfile_put_fd() writes a record whose data are len
 *	bytes of srcfd starting at off: it flushes the buffer and the
 *	record header, then moves the data with copy_file_range(2) (no
 *	copy through user space; the source offset of srcfd is not
 *	changed), falling back to pread()/write() when the kernel says
 *	EXDEV, EINVAL, ENOSYS or EOPNOTSUPP.  A source shorter than len
 *	is an error (EIO).  qfile_finish() writes what is buffered; it
 *	does not fsync (the caller does, once).  w->offset is the number
 *	of bytes the file holds after everything put so far.
 *
 *	All writer calls return 0, or -1 with errno; ENOSPC and EDQUOT
 *	come through unchanged, so the caller can answer "452".  An error
 *	is sticky: every later call fails with the same errno.  A record
 *	longer than UINT32_MAX gives EFBIG.  A type that is not one of
 *	the QF_REC_* letters is a bug (log_panic).
 *
 *	Reader.  qfile_read() reads and checks the whole file through fd
 *	(with pread(); the file offset is not used or changed) and fills
 *	env.  Small records are read through one QFILE_RBUF byte buffer
 *	refilled with pread(); H and B are not read, only their offsets
 *	and lengths are recorded (hdr_off/hdr_len, body_off/body_len, the
 *	offsets of their first data byte).  It checks strictly:
 *	  - the order above; V is "1" (QFILE_VERSION); T is
 *	    "SECONDS.MICROSECONDS" with six digits after the dot; Q is a
 *	    valid queue ID (qid.h) and equals expect_qid when that is not
 *	    NULL; every A has a non-empty name before '='; E is empty;
 *	  - lengths: S O R up to lim->addr_max (R and O not empty), A up
 *	    to lim->attr_max and at most lim->attr_count of them, N up to
 *	    QFILE_NOTIFY_MAX, H up to lim->hdr_max, B up to lim->body_max,
 *	    recipients at most lim->rcpt_max; no record reaches past the
 *	    end of the file;
 *	  - no NUL byte inside V T Q A S O N R.
 *	Whether addresses are well formed is the caller's business.
 *
 *	Then the status section, each record:
 *	  d "INDEX"			recipient INDEX delivered
 *	  f "INDEX DSN REASON"		failed (to be bounced)
 *	  w "INDEX DSN REASON"		deferred; the latest reason
 *	  b ""				the bounce for every f so far is queued
 *	  l ""				the delay warning (delay_warning_time)
 *					was queued; env->warned
 *	INDEX is the 0-based position among the R records (an INDEX out
 *	of range is corruption), DSN is "C.S.D" (RFC 3463 digits),
 *	REASON may be empty (then the space before it may be missing).
 *	d and f are final: a later record for the same recipient is
 *	ignored.  w updates a pending or deferred recipient.  b marks
 *	every recipient FAILED so far as bounced and sets env->bounced.
 *	A record cut short at the end of the file (a crash during an
 *	append), and a tail of NUL bytes (what some file systems leave
 *	after a crash), end the section: env->status_truncated is set and
 *	env->status_end is where the good records end.  A writer that
 *	appends to such a file must first ftruncate() it to status_end,
 *	or its records would follow the damaged one: qfile_repair_tail()
 *	does that.  Any other record type after E, a status record longer
 *	than QFILE_STATUS_MAX, or a malformed one is corruption.
 *
 *	flags: QF_MAILDROP reads a maildrop file (postdrop): no Q record
 *	(expect_qid must be NULL), no status section (anything after E is
 *	corruption), zero R records are allowed (sendmail -t takes the
 *	recipients from the headers), and one M record (the whole message:
 *	header, empty line, body; at most lim->hdr_max + lim->body_max
 *	bytes) takes the place of H and B: its data is at env->msg_off,
 *	env->msg_len bytes long.
 *
 *	lim NULL means qfile_limits_default(): addresses and attributes
 *	1,024 bytes, 1,000 attributes, 100,000 recipients, H 100 KiB +
 *	64 KiB, B 10,240,000 + 64 KiB (Postfix's default limits plus
 *	slack); B never more than QFILE_BODY_ABS_MAX whatever lim says.
 *	addr_max and attr_max over 1 MiB are a bug (log_panic).
 *
 *	qfile_read() returns 0, or -1 with why set to what is wrong and
 *	where ("record 7 (R) at offset 212: recipient longer than 1024
 *	bytes") and env empty; an I/O error sets why to the errno text and
 *	errno stays set (EIO and the like are not corruption: the caller
 *	should tell them apart with qfile_read's errno, which is 0 for a
 *	corrupt file).  qfile_env_free() frees what env holds (an empty or
 *	freed env is fine).  qfile_env_attr() returns the value of the
 *	first attribute called name, or NULL.
 *
 *	qfile_append_status() appends one status record with a single
 *	write() (and no other system call) to fd, which must be open
 *	with O_APPEND.  data is at most QFILE_STATUS_MAX bytes; type is
 *	d, f, w, b or l (else EINVAL).  On a short write (a full disk) it
 *	cuts the file back to its size before the write, so no partial
 *	record is left for a later append to follow, and returns -1 with
 *	errno ENOSPC.  It does not fsync.
 *	qfile_repair_tail() truncates fd to env->status_end when
 *	env->status_truncated (and returns 0 when there is nothing to do).
 * SECURITY
 *	A queue file crosses a privilege boundary (pickup reads what a
 *	local user wrote to maildrop/), so the reader trusts nothing:
 *	every length is checked against the file size and a limit before
 *	anything is allocated or read, and the number of records is bounded
 *	through the recipient and attribute counts.
 */
#ifndef POSTERN_QFILE_H
#define POSTERN_QFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#define QFILE_VERSION		"1"
#define QFILE_HDR_LEN		5		/* type + u32 length */
#define QFILE_WBUF		(64 * 1024)	/* writer buffer */
#define QFILE_RBUF		(64 * 1024)	/* reader buffer (at least) */
#define QFILE_QID_MAX		31		/* bytes in env->qid */
#define QFILE_NOTIFY_MAX	64		/* bytes in an N record */
#define QFILE_STATUS_MAX	4096		/* bytes in a status record */
#define QFILE_BODY_ABS_MAX	((uint64_t) 1 << 30)	/* 1 GiB */

/* Record types: the core section. */
#define QF_REC_VERSION	'V'
#define QF_REC_TIME	'T'
#define QF_REC_QID	'Q'
#define QF_REC_ATTR	'A'
#define QF_REC_SENDER	'S'
#define QF_REC_ORCPT	'O'
#define QF_REC_NOTIFY	'N'
#define QF_REC_RCPT	'R'
#define QF_REC_HEADER	'H'
#define QF_REC_BODY	'B'
#define QF_REC_MSG	'M'		/* maildrop files only */
#define QF_REC_END	'E'
/* Record types: the status section. */
#define QF_REC_DONE	'd'
#define QF_REC_FAIL	'f'
#define QF_REC_DEFER	'w'
#define QF_REC_BOUNCED	'b'
#define QF_REC_WARNED	'l'		/* the delay warning was sent */

/* qfile_read() flags */
#define QF_MAILDROP	0x1

struct qfile_writer {
	int	fd;
	char   *buf;
	size_t	len;			/* bytes buffered */
	uint64_t offset;		/* file size after what was put */
	int	error;			/* sticky errno, 0 when fine */
};

struct qfile_limits {
	size_t	addr_max;		/* S O R: 1024 */
	size_t	attr_max;		/* one A: 1024 */
	size_t	attr_count;		/* A records: 1000 */
	size_t	rcpt_max;		/* R records: cleanup_recipient_limit */
	uint64_t hdr_max;		/* H: header_size_limit + 64 KiB */
	uint64_t body_max;		/* B: message_size_limit + 64 KiB, <= 1 GiB */
};

enum qfile_rcpt_status {
	QF_RCPT_PENDING,
	QF_RCPT_DELIVERED,
	QF_RCPT_FAILED,
	QF_RCPT_DEFERRED,
};

struct qfile_rcpt {
	char   *address;
	char   *orig;			/* O record, or NULL */
	char   *notify;			/* N record, or NULL */
	enum qfile_rcpt_status status;
	char   *dsn;			/* f/w: "5.1.1", else NULL */
	char   *reason;			/* f/w: text, else NULL */
	bool	bounced;		/* FAILED and a b record followed */
};

struct qfile_env {
	int	version;
	struct timeval arrival;
	char	qid[QFILE_QID_MAX + 1];	/* "" for a maildrop file */
	char  **attrs;			/* "name=value" */
	size_t	nattrs;
	char   *sender;			/* "" for the null sender */
	struct qfile_rcpt *rcpts;
	size_t	nrcpts;
	off_t	hdr_off;
	uint64_t hdr_len;
	off_t	body_off;
	uint64_t body_len;
	off_t	msg_off;		/* maildrop: the M record's data */
	uint64_t msg_len;
	off_t	core_end;		/* offset just past E */
	off_t	status_end;		/* offset past the last good status record */
	off_t	file_size;		/* st_size when read */
	bool	bounced;		/* a b record was seen */
	bool	warned;			/* an l record was seen */
	bool	status_truncated;	/* a damaged tail was ignored */
	size_t	nstatus;		/* status records applied */
};

void	qfile_writer_init(struct qfile_writer *w, int fd);
void	qfile_writer_free(struct qfile_writer *w);
int	qfile_put(struct qfile_writer *w, int type, const void *data,
		  size_t len);
int	qfile_put_str(struct qfile_writer *w, int type, const char *s);
int	qfile_put_time(struct qfile_writer *w, const struct timeval *tv);
int	qfile_put_fd(struct qfile_writer *w, int type, int srcfd, off_t off,
		     uint64_t len);
int	qfile_finish(struct qfile_writer *w);

void	qfile_limits_default(struct qfile_limits *lim);
int	qfile_read(int fd, unsigned flags, const char *expect_qid,
		   const struct qfile_limits *lim, struct qfile_env *env,
		   char *why, size_t whylen);
void	qfile_env_free(struct qfile_env *env);
const char *qfile_env_attr(const struct qfile_env *env, const char *name);

int	qfile_append_status(int fd, int type, const char *data);
int	qfile_repair_tail(int fd, const struct qfile_env *env);

#endif
