/*
 * NAME
 *	local.h - the local delivery agent's private interfaces
 * SYNOPSIS
 *	#include "local.h"
 * DESCRIPTION
 *	local/local.c holds main() and the protocol loop; the logic that
 *	the check suites (tests/unit/local_*_test.c) link lives in:
 *
 *	local_expand.c	  alias, .forward and :include: target parsing
 *			  and the recursive expansion of one recipient
 *			  into destinations (mailbox, file, command,
 *			  forward), with lookups passed in as callbacks
 *	local_lookup.c	  the real lookups: alias_maps, the user
 *			  database, ~/.forward and :include: files
 *	local_copy.c	  the delivered content: Return-Path and
 *			  Delivered-To, then the stored header and body,
 *			  copied from the queue file (optionally with
 *			  mbox ">From " quoting)
 *	local_mbox.c	  mbox delivery (spool, home mbox, /file targets)
 *	local_maildir.c	  maildir delivery and file names
 *	local_env.c	  the environment of delivery commands
 *	local_command.c	  running a command: fork, drop, exec, feed,
 *			  capture, time limit
 *	local_deliver.c	  one recipient of a request: checks, loop
 *			  detection, expansion, one child per
 *			  destination, result
 *	local_kept.c	  delivery children kept for the next delivery
 *			  to the same user (job messages, reuse, limits)
 *	local_forward.c	  non-local destinations: a new message
 *			  through cleanup
 */
#ifndef POSTERN_LOCAL_H
#define POSTERN_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define LOCAL_NAME_MAX		64		/* user names */
#define LOCAL_ADDR_MAX		1024		/* as DELIVERY_ADDR_MAX */
#define LOCAL_QID_MAX		31		/* as DELIVERY_QID_MAX */
#define LOCAL_PATH_MAX		1024		/* home, file targets */
#define LOCAL_TEXT_MAX		512		/* one result text */
#define LOCAL_FILE_MAX		(1024 * 1024)	/* .forward, :include: */

/*
 * A user: a recipient from the user database, or whose rights a file
 * or command delivery uses (alias owner, default_privs).
 */
struct local_user {
	char	name[LOCAL_NAME_MAX + 1];
	uid_t	uid;
	gid_t	gid;
	char	home[LOCAL_PATH_MAX + 1];
	char	shell[LOCAL_PATH_MAX + 1];
};

/*
 * Target parsing (aliases, .forward, :include:).
 */
enum local_target_kind {
	LT_ADDRESS,			/* user, user@domain */
	LT_USER_NOFWD,			/* \user: mailbox, no alias, no .forward */
	LT_FILE,			/* /path */
	LT_COMMAND,			/* |command */
	LT_INCLUDE,			/* :include:/path */
};

typedef int local_target_fn(void *ctx, enum local_target_kind kind,
			    const char *text);

int	local_targets_parse(const char *text, size_t len, size_t max,
			    local_target_fn *fn, void *ctx, char *why,
			    size_t whylen);

/*
 * Expansion of one recipient.
 */
enum local_dest_kind { LD_MAILBOX, LD_FILE, LD_COMMAND, LD_FORWARD };

/* Where a target came from: decides allow_mail_to_* and rights. */
enum local_class { LC_ADDRESS, LC_ALIAS, LC_FORWARD, LC_INCLUDE };

struct local_dest {
	enum local_dest_kind kind;
	char   *target;		/* user name, path, command, address */
	char   *address;	/* the address this delivery is made for */
	struct local_user user;	/* mailbox owner, or whose rights */
	enum local_class class;	/* where the target came from */
};

/* The lookups, as callbacks, so that tests can mock them. */
struct local_expand_ops {
	/* alias: 1 found (value, owner: the table's owner; NULL-able
	 * owner_is_root), 0 not found, -1 temporary failure (why) */
	int	(*alias)(void *ctx, const char *key, struct buf *value,
			 struct local_user *owner, bool *owner_is_root,
			 char *why, size_t whylen);
	/* user: 1 found, 0 no such user, -1 temporary failure */
	int	(*user)(void *ctx, const char *name, struct local_user *u,
			char *why, size_t whylen);
	/* forward: read u's forward file; 1 found, 0 none (or unsafe:
	 * then why says so and it is ignored), -1 temporary failure */
	int	(*forward)(void *ctx, const struct local_user *u,
			   struct buf *content, char *why, size_t whylen);
	/* include: read path with the rights of as (NULL: root);
	 * owner receives the file's owner; 1 read, -1 failure
	 * (*perm says whether it is permanent) */
	int	(*include)(void *ctx, const char *path,
			   const struct local_user *as, struct buf *content,
			   struct local_user *owner, bool *owner_is_root,
			   bool *perm, char *why, size_t whylen);
	bool	(*is_local_domain)(void *ctx, const char *domain);
};

struct local_expand_params {
	const char *delimiters;		/* recipient_delimiter */
	int	recursion_limit;	/* local_recursion_limit */
	int	expansion_limit;	/* expansion_limit */
	int	dup_limit;		/* duplicate_filter_limit */
	const char *commands_allowed;	/* allow_mail_to_commands */
	const char *files_allowed;	/* allow_mail_to_files */
	struct local_user default_privs;
};

struct local_expansion {
	struct local_dest *dests;
	size_t	n;
	size_t	cap;
	int	status;			/* 0, 4 or 5 */
	char	dsn[10];
	char	text[LOCAL_TEXT_MAX];	/* why it failed */
	/* internal */
	char  **seen;			/* duplicate filter keys */
	size_t	nseen;
	int	expansions;
};

int	local_expand(const char *rcpt, const struct local_expand_ops *ops,
		     void *ctx, const struct local_expand_params *p,
		     struct local_expansion *out);
void	local_expansion_free(struct local_expansion *e);
bool	local_class_allowed(const char *list, enum local_class class);
bool	local_name_safe(const char *name);

/*
 * The message being delivered, as the request described it.
 */
struct local_msg {
	int	qfd;			/* queue file, read-only */
	const char *queue_id;
	const char *sender;		/* "" for the null sender */
	const char *rcpt;		/* the recipient as queued */
	off_t	hdr_off;
	uint64_t hdr_len;
	off_t	body_off;
	uint64_t body_len;
	time_t	arrival;
};

/* local_copy.c */
#define LC_MBOX_QUOTE	0x1		/* ">From " quoting of the body */
#define LC_FROM_LINE	0x2		/* "From sender date" first */

int	local_copy_range(int in, off_t off, uint64_t len, int out);
int	local_copy_message(int out, const struct local_msg *m,
			   const char *delivered_to, unsigned flags,
			   time_t now);
size_t	local_mbox_from_line(char *out, size_t size, const char *sender,
			     time_t when);
size_t	local_prefix_headers(char *out, size_t size, const char *sender,
			     const char *delivered_to);
int	local_quote_copy(int in, off_t off, uint64_t len, int out,
			 bool *ends_nl);

struct local_stream {
	char	head[64 + 4 * LOCAL_PATH_MAX];
	struct {
		const char *mem;	/* memory, or NULL: fd range */
		off_t	off;		/* next byte (fd) or index (mem) */
		uint64_t len;		/* bytes left */
	}	seg[4];
	int	nseg;
	int	cur;
	int	fd;			/* the queue file */
	int	method;
};

int	local_stream_init(struct local_stream *s, const struct local_msg *m,
			  const char *delivered_to);
int	local_stream_pump(struct local_stream *s, int out);

/* local_mbox.c */
struct local_result {
	int	status;			/* 0, 4, 5 */
	char	dsn[10];
	char	text[LOCAL_TEXT_MAX];
};

void	local_result_set(struct local_result *r, int status, const char *dsn,
			 const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
const char *local_errno_dsn(int err, const char *def);

struct local_mbox_opts {
	bool	use_fcntl;
	bool	use_dotlock;
	int	lock_attempts;
	int	lock_delay_ms;
	uint64_t size_limit;		/* 0: none */
	uid_t	want_uid;		/* owner the file must have */
	int	stale_secs;		/* a dot-lock older than this is removed
					 * (stale_lock_time; 0: never) */
};

int	local_mbox_locks(const char *spec, bool *use_fcntl, bool *use_dotlock);
void	local_mbox_deliver(const char *path, const struct local_msg *m,
			   const char *delivered_to,
			   const struct local_mbox_opts *o,
			   struct local_result *r);

/* local_spool.c */
int	local_spool_check(const char *dir, const struct local_user *u,
			  struct local_result *res);

/* local_maildir.c */
int	local_maildir_name(char *out, size_t size, time_t t, pid_t pid,
			   unsigned seq, const char *host);
void	local_maildir_deliver(const char *dir, const struct local_msg *m,
			      const char *delivered_to, const char *host,
			      uid_t want_uid, struct local_result *r);

struct local_maildir_job {
	const char *dir;
	const struct local_msg *m;
	const char *delivered_to;
};

void	local_maildir_deliver_batch(const struct local_maildir_job *jobs,
				    size_t n, const char *host, uid_t want_uid,
				    struct local_result *res);

/* local_env.c */
#define LOCAL_ENV_MAX	16

struct local_env_vals {
	const char *sender;
	const char *recipient;
	const char *local;
	const char *domain;
	const char *extension;
	const char *home;
	const char *user;
	const char *shell;
	const char *path;
};

struct local_env {
	char   *vars[LOCAL_ENV_MAX + 1];	/* NULL-terminated */
	int	n;
	int	omitted;			/* values refused */
	char	omitted_names[128];
};

void	local_env_build(struct local_env *e, const struct local_env_vals *v);
void	local_env_free(struct local_env *e);

/* local_command.c */
struct local_command {
	const char *command;		/* text for /bin/sh -c */
	uid_t	uid;
	gid_t	gid;
	const char *cwd;		/* working directory, or NULL */
	char  **envp;
	uint64_t time_limit;		/* seconds */
	size_t	output_limit;		/* bytes of output kept */
};

void	local_command_run(const struct local_command *c,
			  const struct local_msg *m, const char *delivered_to,
			  struct local_result *r, struct buf *output);

/* local_forward.c */
void	local_forward(const struct local_msg *m, const char *const *addrs,
		      size_t n, const char *delivered_to, struct local_result *r);

/* local_deliver.c */
struct delivery_request;
struct delivery_agent_result;

/* One recipient between its expansion and its outcome. */
struct local_work {
	const struct delivery_request *rq;
	size_t	which;			/* rq->rcpts[which] */
	struct local_msg m;
	struct local_expansion e;
	struct local_result *res;	/* one per destination */
	bool	expanded;		/* log each destination */
};

int	local_check_request(const struct delivery_request *rq, int qfd,
			    struct delivery_agent_result *out);
void	local_deliver(const struct delivery_request *rq, size_t i, int qfd,
		      struct delivery_agent_result *out);
void   *local_deliver_begin(const struct delivery_request *rq, size_t i,
			    int qfd, struct delivery_agent_result *out);
void	local_deliver_end(void *w, struct delivery_agent_result *out);

/* local_kept.c */
#define LOCAL_JOB		391		/* parent to kept child */
#define LOCAL_JOB_MAX		(16 * 1024)	/* job payload bound */
#define LOCAL_JOB_MS		10000		/* one job message, once started */
#define LOCAL_BATCH_MAX		32		/* jobs a child commits together */

enum local_job_kind { LJ_MAILDIR, LJ_MBOX };

/* One mailbox or file delivery, done with the rights of one user. */
struct local_job {
	enum local_job_kind kind;
	const char *path;		/* maildir (LJ_MAILDIR) or mbox file */
	const struct local_msg *m;
	const char *delivered_to;
	struct local_mbox_opts o;	/* LJ_MBOX */
};

struct ipc_msg;
struct ipc_in;
int	local_job_build(struct ipc_msg *m, const struct local_job *j, uid_t uid);
int	local_job_build_batch(struct ipc_msg *m, const struct local_job *j,
			      uid_t uid, bool last);
int	local_job_parse(struct ipc_in *in, struct local_job *j, struct local_msg *m,
			uid_t *uid, char *why, size_t whylen);
int	local_job_parse_batch(struct ipc_in *in, struct local_job *j,
			      struct local_msg *m, uid_t *uid, bool *last,
			      char *why, size_t whylen);
void	local_job_run(const struct local_job *j, uid_t want_uid,
		      struct local_result *r);
void	local_job_run_batch(const struct local_job *jobs, size_t n,
			    uid_t want_uid, struct local_result *res);
void	local_kept_deliver(uid_t uid, gid_t gid, gid_t extra,
			   const struct local_job *j, struct local_result *r);
void	local_kept_queue(uid_t uid, gid_t gid, gid_t extra,
			 const struct local_job *j, struct local_result *r);
void	local_kept_flush(void);
int	local_kept_wait_ms(void);
void	local_kept_expire(void);
void	local_kept_close_all(void);

/* The child side of every delivery: drop to uid/gid, never root. */
void	local_drop_to(uid_t uid, gid_t gid, gid_t extra_gid);
void	local_root_child(void);

#endif
