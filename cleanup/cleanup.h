/*
 * NAME
 *	cleanup.h - the cleanup service's modules
 * SYNOPSIS
 *	#include "cleanup.h"
 * DESCRIPTION
 *	cleanup.c holds main() and the manual.  The logic lives in files
 *	that tests/unit/cleanup_*_test.c link directly:
 *
 *	cleanup_req.c	the SUBMIT request: strict parsing and checks of
 *			every attribute (cleanup_req_parse()).
 *	cleanup_src.c	the content: a bounded pread() reader of
 *			offset..offset+length of the client's descriptor,
 *			line by line (cleanup_src_*).
 *	cleanup_hdr.c	the header section: fed one physical line at a
 *			time; header_size_limit, hop count, stray CR,
 *			Bcc removal, recipient extraction, then the added
 *			Received:, Message-ID:, Date:, From: (cleanup_hdr_*).
 *	cleanup_mime.c	the MIME structure of the body: which lines are
 *			headers of parts and attached messages
 *			(cleanup_mime_*).
 *	cleanup_scan.c	the walk over the body: body_checks,
 *			mime_header_checks, nested_header_checks and
 *			the edits they ask for (cleanup_scan_body()).
 *	cleanup_body.c	the body: stray CR replacement, copied into the
 *			queue file (cleanup_body_put()); an edited copy
 *			of it (cleanup_edit_*).
 *	cleanup_addr.c	envelope addresses: syntax, @myorigin, canonical
 *			maps, virtual alias expansion, duplicate removal
 *			(cleanup_addr_*, cleanup_rcpts_*).
 *	cleanup_queue.c	the queue file: temporary name in incoming/,
 *			fsync, rename, directory fsync, sweep of stale
 *			temporary files (cleanup_queue_*).
 *	cleanup_commit.c the directory fsync shared by every cleanup
 *			process: one sync for all renames made before it
 *			(group commit; cleanup_commit_*).
 *	cleanup_msg.c	one message from request to reply, the log
 *			lines and the qmgr wake-up (cleanup_message()).
 */
#ifndef POSTERN_CLEANUP_H
#define POSTERN_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include "buf.h"
#include "cleanup_clnt.h"
#include "ipc.h"
#include "qfile.h"
#include "qid.h"

#define CLEANUP_ADDR_MAX	1024	/* one envelope address (qfile) */
#define CLEANUP_ATTR_MAX	256	/* one attribute value */
#define CLEANUP_HOST_MAX	255	/* client_name, helo */
#define CLEANUP_FULLNAME_MAX	256
#define CLEANUP_ENVID_MAX	100	/* RFC 3461 4.4 */
#define CLEANUP_NOTIFY_MAX	QFILE_NOTIFY_MAX
#define CLEANUP_MSGID_MAX	998	/* kept for the log line */
#define CLEANUP_READ_BUF	(64 * 1024)
#define CLEANUP_CANON_ROUNDS	10	/* canonical mapping applied at most */
#define CLEANUP_VIRTUAL_DEPTH	1000	/* virtual alias nesting */
#define CLEANUP_REQ_MAX		IPC_MSG_MAX

/* -- cleanup_req.c ---------------------------------------------------- */

struct cleanup_rcpt {
	char   *addr;
	char   *orcpt;			/* or NULL */
	char   *notify;			/* or NULL */
};

struct cleanup_req {
	unsigned flags;
	uint64_t offset;
	uint64_t length;
	char   *client_name;		/* each NULL when absent */
	char   *client_addr;
	char   *helo;
	char   *protocol;
	char   *tls;			/* "TLSv1.3 with cipher ..." */
	char   *sasl_method;
	char   *sasl_username;
	long long uid;			/* -1 when absent */
	char   *fullname;
	char   *envid;
	char   *ret;
	bool	smtputf8;
	char   *filter;			/* smtpd's FILTER transport:nexthop */
	char   *redirect;		/* smtpd's REDIRECT address */
	char   *prepend;		/* smtpd's PREPEND headers, LF-separated */
	char   *sender;
	struct cleanup_rcpt *rcpts;
	size_t	nrcpts;
};

int	cleanup_req_parse(struct ipc_in *in, struct cleanup_req *req, char *why,
			  size_t whylen);
void	cleanup_req_free(struct cleanup_req *req);

/* -- cleanup_src.c ---------------------------------------------------- */

struct cleanup_src {
	int	fd;
	uint64_t end;			/* file offset just past the content */
	uint64_t buf_pos;		/* file offset of buf[0] */
	char   *buf;
	size_t	cap;
	size_t	off;			/* first unread byte in buf */
	size_t	len;			/* bytes in buf */
	bool	line_start;		/* the next fragment starts a line */
	uint64_t frag_pos;		/* file offset of the last fragment */
};

void	cleanup_src_init(struct cleanup_src *s, int fd, uint64_t offset,
			 uint64_t length, size_t cap);
int	cleanup_src_line(struct cleanup_src *s, const char **p, size_t *n,
			 bool *start, bool *eol);
uint64_t cleanup_src_tell(const struct cleanup_src *s);
void	cleanup_src_free(struct cleanup_src *s);

/* -- cleanup_hdr.c ---------------------------------------------------- */

enum { CLEANUP_HDR_MORE, CLEANUP_HDR_END, CLEANUP_HDR_JUNK };

struct cleanup_hdr {
	unsigned flags;			/* CLEANUP_F_* */
	size_t	limit;			/* header_size_limit */
	long long hop_limit;		/* hopcount_limit */
	bool	replace_cr;		/* cleanup_replace_stray_cr_lf */
	size_t	xrcpt_max;		/* extracted recipients kept */
	struct buf cur;			/* the logical header being read */
	bool	in_header;		/* cur holds a header */
	struct buf kept;		/* headers kept, LF-terminated */
	uint64_t discarded;		/* header bytes over the limit */
	bool	full;			/* the limit was reached */
	size_t	hops;			/* Received: headers seen */
	bool	have_msgid, have_date, have_from;
	char	msgid[CLEANUP_MSGID_MAX + 1];
	char  **xrcpt;			/* from To/Cc/Bcc */
	size_t	nxrcpt;
	char  **xresent;		/* from Resent-To/Cc/Bcc */
	size_t	nxresent;
	size_t	xskipped;		/* malformed addresses in those */
	size_t	xdropped;		/* beyond xrcpt_max */
	struct cleanup_checks *checks;	/* header_checks, or NULL */
};

struct cleanup_hdr_info {
	const char *qid;
	const struct timeval *arrival;
	const char *myhostname;
	const struct cleanup_req *req;
	const char *sender;		/* final envelope sender */
	const char *for_rcpt;		/* "for <...>" or NULL */
};

void	cleanup_hdr_init(struct cleanup_hdr *h, unsigned flags, size_t limit,
			 long long hop_limit, bool replace_cr, size_t xrcpt_max);
int	cleanup_hdr_line(struct cleanup_hdr *h, const char *p, size_t n,
			 bool start, bool eol);
void	cleanup_hdr_eof(struct cleanup_hdr *h);
int	cleanup_hdr_prepend(struct cleanup_hdr *h, const char *lines);
bool	cleanup_hdr_too_many_hops(const struct cleanup_hdr *h);
int	cleanup_hdr_finish(struct cleanup_hdr *h, const struct cleanup_hdr_info *info,
			   struct buf *out);
void	cleanup_hdr_free(struct cleanup_hdr *h);
bool	cleanup_hdr_start(const char *p, size_t n);
void	cleanup_rfc5322_date(const struct timeval *tv, char *out, size_t size);
size_t	cleanup_stray_cr(const char *in, size_t n, char *out, bool *pending_cr,
			 bool last);

/* -- cleanup_body.c --------------------------------------------------- */

int	cleanup_body_put(struct qfile_writer *w, struct cleanup_src *s,
			 uint64_t body_off, bool replace_cr, int tmpdir_fd,
			 uint64_t *body_len);

/*
 * An edited copy of the body: cleanup_edit_put() says that the source
 * bytes from..to become text (insertions: from == to), in increasing
 * order; the first edit starts the copy in an unnamed file.
 */
struct cleanup_edit {
	int	src;			/* the client's content */
	uint64_t done;			/* source bytes before it are copied */
	uint64_t end;			/* the end of the body in src */
	int	out;			/* the copy, -1 while nothing is edited */
	uint64_t out_len;
	uint64_t max;			/* bound on out_len */
	int	tmpdir_fd;
	int	error;			/* errno of the first failure, EFBIG */
};

void	cleanup_edit_init(struct cleanup_edit *e, int src, uint64_t body_off,
			  uint64_t end, uint64_t max, int tmpdir_fd);
int	cleanup_edit_put(struct cleanup_edit *e, uint64_t from, uint64_t to,
			 const char *text, size_t n);
int	cleanup_edit_finish(struct cleanup_edit *e);
void	cleanup_edit_free(struct cleanup_edit *e);

/* -- cleanup_mime.c --------------------------------------------------- */

enum { CLEANUP_MIME_TEXT, CLEANUP_MIME_HEADER };	/* ev->kind */
enum { CLEANUP_MIME_PRIMARY, CLEANUP_MIME_PART, CLEANUP_MIME_NESTED };	/* ev->hclass */

struct cleanup_mime_frag {		/* from cleanup_src_line() */
	const char *p;
	size_t	n;
	bool	start, eol;
	uint64_t pos;			/* its offset */
	uint64_t next;			/* the offset after it and its LF */
};

struct cleanup_mime_ev {
	int	kind;
	int	hclass;			/* headers */
	const char *text;
	size_t	n;
	uint64_t start, end;		/* the input bytes it stands for */
	bool	line_start, eol;	/* text */
};

typedef void (*cleanup_mime_emit) (void *ctx, const struct cleanup_mime_ev *ev);

struct cleanup_mime_bound;

struct cleanup_mime {
	size_t	nesting_limit;		/* mime_nesting_limit */
	size_t	boundary_limit;		/* mime_boundary_length_limit */
	size_t	header_limit;		/* header_size_limit */
	bool	report_nesting;
	bool	nesting_error;
	char	nesting_text[128];
	int	state;
	int	ctype;
	struct cleanup_mime_bound *stack;
	size_t	depth, cap;
	struct buf hdr;			/* the header being read */
	bool	in_hdr;
	uint64_t hdr_start, hdr_end;
};

bool	cleanup_mime_is_mime_header(const char *h, size_t n);
void	cleanup_mime_init(struct cleanup_mime *m, size_t nesting_limit,
			  size_t boundary_limit, size_t header_limit,
			  bool report_nesting);
void	cleanup_mime_header(struct cleanup_mime *m, const char *h, size_t n);
void	cleanup_mime_body_start(struct cleanup_mime *m, bool blank);
void	cleanup_mime_line(struct cleanup_mime *m, const struct cleanup_mime_frag *f,
			  cleanup_mime_emit emit, void *ctx);
void	cleanup_mime_eof(struct cleanup_mime *m, cleanup_mime_emit emit, void *ctx);
void	cleanup_mime_free(struct cleanup_mime *m);

/* -- cleanup_addr.c --------------------------------------------------- */

struct cleanup_rcpts {
	struct cleanup_rcpt *v;
	size_t	n;
	size_t	cap;
	size_t	max;			/* cleanup_recipient_limit */
	char  **set;			/* open addressing, lowercase keys */
	size_t	set_cap;
};

struct cleanup_err {
	int	status;			/* CLEANUP_STAT_TEMP or _PERM */
	char	reason[CLEANUP_REASON_MAX + 1];
};

int	cleanup_addr_check(const char *in, bool sender, bool utf8, char *out,
			   size_t outsz, struct cleanup_err *e);
int	cleanup_addr_canon(const char *specific_param, const char *addr,
			   char *out, size_t outsz, struct cleanup_err *e);
void	cleanup_rcpts_init(struct cleanup_rcpts *l, size_t max);
int	cleanup_rcpts_add(struct cleanup_rcpts *l, const char *addr,
			  const char *orcpt, const char *notify);
void	cleanup_rcpts_free(struct cleanup_rcpts *l);
int	cleanup_addr_virtual(struct cleanup_rcpts *out, const char *addr,
			     const char *orcpt, const char *notify, bool map,
			     struct cleanup_err *e);
void	cleanup_err_set(struct cleanup_err *e, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* -- cleanup_queue.c -------------------------------------------------- */

struct cleanup_qfile {
	int	fd;
	char	tmp[64];		/* name in incoming/ */
};

int	cleanup_queue_init(void);
int	cleanup_queue_dirfd(void);
int	cleanup_queue_create(struct cleanup_qfile *q);
int	cleanup_queue_sync(struct cleanup_qfile *q);
void	cleanup_queue_spare(void);
const char *cleanup_queue_spare_name(void);
int	cleanup_queue_commit(struct cleanup_qfile *q, const char *qid, bool hold);
void	cleanup_queue_abort(struct cleanup_qfile *q);
int	cleanup_queue_sweep(void);
void	cleanup_queue_close(void);

/* -- cleanup_commit.c ------------------------------------------------- */

#define CLEANUP_COMMIT_BOARD	"private/.cleanup-commit"

int	cleanup_commit_init(const char *path, char *why, size_t whylen);
uint64_t cleanup_commit_begin(void);
int	cleanup_commit_dir(int dirfd, uint64_t token);
void	cleanup_commit_stats(uint64_t *syncs, uint64_t *covered);
void	cleanup_commit_close(void);

/* -- cleanup_checks.c ------------------------------------------------- */

enum { CLEANUP_CHECK_KEEP, CLEANUP_CHECK_DROP, CLEANUP_CHECK_REPLACE };

struct cleanup_checks {
	const char *qid;
	const struct cleanup_req *req;
	uint64_t body_left;		/* body_checks_size_limit left */
	bool	done;			/* REJECT or DISCARD: no more checks */
	bool	failed;			/* a table failed: defer the message */
	bool	hold;
	bool	discard;
	char	reject[CLEANUP_REASON_MAX - 16];	/* "5.7.1 text", or "" */
	char   *filter;
	char   *redirect;
	struct cleanup_mime mime;	/* the body's MIME structure */
};

void	cleanup_checks_init(void);
void	cleanup_checks_free(void);
bool	cleanup_checks_body_wanted(void);
bool	cleanup_checks_part_wanted(void);
void	cleanup_checks_begin(struct cleanup_checks *cc, const char *qid,
			     const struct cleanup_req *req);
int	cleanup_check_header(struct cleanup_checks *cc, int hclass, const char *h,
			     size_t n, struct buf *before, struct buf *instead);
void	cleanup_check_mime_error(struct cleanup_checks *cc, const char *what,
				 const char *text);
int	cleanup_check_body(struct cleanup_checks *cc, const char *line, size_t n,
			   struct buf *before, struct buf *instead);
void	cleanup_checks_end(struct cleanup_checks *cc);

/* -- cleanup_scan.c --------------------------------------------------- */

int	cleanup_scan_body(struct cleanup_checks *cc, int fd, uint64_t body_off,
			  uint64_t end, bool blank, struct cleanup_edit *ed);

/* -- cleanup_msg.c ---------------------------------------------------- */

/*
 * The client's part in a submission with CLEANUP_F_ANNOUNCE: told
 * the queue ID as soon as there is one (-1: it cannot be told), and
 * asked, just before the queue file becomes visible to qmgr, whether
 * it has confirmed (-1: no; the message is then not queued).
 */
struct cleanup_hooks {
	int	(*announce)(void *ctx, const char *qid);
	int	(*confirmed)(void *ctx, const char *qid);
	void   *ctx;
};

void	cleanup_message(const struct cleanup_req *req, int content_fd,
			struct cleanup_result *res, const struct cleanup_hooks *hooks);
void	cleanup_wake_qmgr(void);

#endif
