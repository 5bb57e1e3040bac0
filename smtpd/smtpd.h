/*
 * NAME
 *	smtpd.h - the SMTP server's private interfaces
 * SYNOPSIS
 *	#include "smtpd.h"
 * DESCRIPTION
 *	One header for the files of smtpd/:
 *
 *	smtpd.c		main(), the manual, master and standalone start-up
 *	smtpd_session.c	sessions: accept, I/O, timers, replies, logging
 *	smtpd_proto.c	command parsing, dispatch and replies
 *	smtpd_data.c	the DATA state machine (end of data, unstuffing)
 *	smtpd_check.c	start-up lists, local and relay domains, free space
 *	smtpd_restrict.c	smtpd_*_restrictions: the lists, their evaluation
 *	smtpd_access.c	check_*_access, access table results
 *	smtpd_dnsbl.c	DNS lists, unknown domains and host names
 *	smtpd_policy.c	check_policy_service (policy delegation)
 *	smtpd_deliver.c	the spool file and the hand-off to cleanup
 *	smtpd_peer.c	the client's name (reverse DNS, forward-confirmed)
 *	smtpd_overload.c overload mode, making room, the memory budget
 *	smtpd_anvil.c	per-client limits across processes (anvil)
 *	smtpd_tls.c	STARTTLS and implicit TLS
 *	smtpd_logsum.c	bounded logs: repeated lines counted and summarised
 *	smtpd_sasl.c	SMTP AUTH, reject_sender_login_mismatch
 *
 *	struct smtpd_conf holds what start-up derived from main.cf (the
 *	parsed lists); cfg (params.h) holds the rest.  struct
 *	smtpd_session is one SMTP conversation; everything it owns is
 *	bounded (see smtpd.c, LIMITS).
 */
#ifndef POSTERN_SMTPD_H
#define POSTERN_SMTPD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "auth_clnt.h"
#include "anvil_clnt.h"
#include "buf.h"
#include "event.h"
#include "cleanup_clnt.h"
#include "linebuf.h"
#include "tlsio.h"
#include "log.h"
#include "lookup_clnt.h"
#include "netmatch.h"

/* ------------------------------------------------------------------ */
/* Start-up state (smtpd_check.c: smtpd_conf_init).                   */

struct smtpd_conf {
	struct netlist *mynetworks;	/* may relay; may pipeline freely */
	struct netlist *bare_exclusions; /* smtpd_forbid_bare_newline_exclusions */
	struct netlist *limit_exceptions; /* smtpd_client_event_limit_exceptions */
	char  **mydestination;		/* local domains (exact match) */
	int	n_mydestination;
	char  **relay_domains;		/* relay domains (and subdomains) */
	int	n_relay_domains;
	char  **discard_ehlo;		/* smtpd_discard_ehlo_keywords */
	int	n_discard_ehlo;
	bool	bare_reject;		/* smtpd_forbid_bare_newline = reject */
	uint64_t minfree;		/* refuse MAIL below this many free bytes */
	const char *spool_dir;		/* where DATA is spooled (O_TMPFILE) */
	const char *deliver_dir;	/* -D: messages become files here */
	const char *cleanup_path;	/* "private/cleanup" */
	bool	standalone;		/* -s: one session on stdin/stdout */
	struct cleanup_overrides overrides; /* receive_override_options */
};

extern struct smtpd_conf smtpd_conf;

void	smtpd_conf_init(void);
void	smtpd_conf_free(void);

/* ------------------------------------------------------------------ */
/* The DATA state machine (smtpd_data.c).                             */

#define SMTPD_DATA_WBUF		(64 * 1024)	/* when the budget allows */
#define SMTPD_DATA_WBUF_SMALL	(4 * 1024)	/* when it does not */

/*
 * A command line that goes on for this many times line_length_limit
 * without an end is no command: 500, and the connection is closed.
 */
#define SMTPD_LONG_CMD_FACTOR	32

#define SMTPD_DATA_BARE_LF	0x01
#define SMTPD_DATA_BARE_CR	0x02
#define SMTPD_DATA_TOO_BIG	0x04
#define SMTPD_DATA_HDR_TOO_BIG	0x08
#define SMTPD_DATA_WRITE_ERR	0x10

struct smtpd_data {
	int	fd;			/* spool file, -1 until opened */
	bool	own_fd;			/* opened here by spool_open */
	int	(*spool_open)(bool whole);	/* opens fd when it is -1 */
	bool	reject_bare;
	uint64_t size_limit;		/* 0: none */
	uint64_t header_limit;
	bool	prev_crlf;		/* the last line ended in CR LF */
	bool	mid_line;		/* inside a too-long line */
	bool	in_header;
	uint64_t size;			/* content bytes, Unix form */
	uint64_t header_size;
	uint64_t lines;
	unsigned flags;
	int	write_errno;
	char   *wbuf;			/* NULL until the first byte */
	size_t	wlen, wcap;		/* wcap bytes charged to membudget */
	size_t	spool_charge;		/* an in-memory spool's bytes */
};

void	smtpd_data_begin(struct smtpd_data *d, int fd, bool prev_crlf,
			 bool reject_bare, uint64_t size_limit,
			 uint64_t header_limit);
int	smtpd_data_line(struct smtpd_data *d, const struct lb_line *l);
int	smtpd_data_finish(struct smtpd_data *d);
int	smtpd_data_take_fd(struct smtpd_data *d, size_t *charged);
size_t	smtpd_data_shrink(struct smtpd_data *d);
bool	smtpd_data_verdict(const struct smtpd_data *d, int *code,
			   const char **dsn, const char **text);
void	smtpd_data_free(struct smtpd_data *d);

/* ------------------------------------------------------------------ */
/* Per-client event rates (smtpd_rate.c).                             */

#define SMTPD_RATE_TABLE	16384	/* client addresses remembered */

enum smtpd_rate_kind {
	SMTPD_RATE_CONN, SMTPD_RATE_MSG, SMTPD_RATE_RCPT, SMTPD_RATE_AUTHFAIL,
	SMTPD_RATE_KINDS
};

void	smtpd_rate_init(size_t max_addresses, uint64_t unit_ms);
unsigned smtpd_rate_peek(const char *addr, enum smtpd_rate_kind kind,
			 uint64_t now_ms);
unsigned smtpd_rate_count(const char *addr, enum smtpd_rate_kind kind,
			  uint64_t now_ms);
void	smtpd_rate_free(void);

/* ------------------------------------------------------------------ */
/* Sessions (smtpd_session.c).                                        */

enum smtpd_cmd {
	SMTPD_CMD_HELO, SMTPD_CMD_EHLO, SMTPD_CMD_STARTTLS, SMTPD_CMD_AUTH,
	SMTPD_CMD_MAIL,
	SMTPD_CMD_RCPT,
	SMTPD_CMD_DATA, SMTPD_CMD_RSET, SMTPD_CMD_NOOP, SMTPD_CMD_VRFY,
	SMTPD_CMD_HELP, SMTPD_CMD_QUIT, SMTPD_CMD_UNKNOWN, SMTPD_CMD_COUNT
};

enum smtpd_state {
	SMTPD_ST_CMD,			/* reading commands */
	SMTPD_ST_DATA,			/* reading message content */
	SMTPD_ST_DELIVER,		/* waiting for cleanup's answer */
	SMTPD_ST_CHECK,			/* a command waits for its checks */
	SMTPD_ST_AUTH,			/* reading an AUTH exchange's lines */
};

/* The session reads and handles no command while it waits. */
#define smtpd_waiting(s) ((s)->state == SMTPD_ST_DELIVER \
			  || (s)->state == SMTPD_ST_CHECK)

#define SMTPD_HELO_MAX		255	/* longest HELO/EHLO argument kept */
#define SMTPD_OUT_MAX		(256 * 1024)	/* replies waiting to be sent */
#define SMTPD_OUT_HIGH		(32 * 1024)	/* stop reading above this */
#define SMTPD_RCPT_INIT		8
#define SMTPD_READ_MIN		4096	/* the read area's floor beyond a line */
/* What a session charges to the memory budget besides its buffers. */
#define SMTPD_SESSION_COST	(sizeof(struct smtpd_session) + 512)

struct smtpd_session {
	/* Who. */
	char	addr[64];		/* "192.0.2.1", "2001:db8::1" */
	char	name[256];		/* confirmed host name, or "unknown" */
	char	port[8];
	bool	trusted;		/* in mynetworks */
	bool	limits_exempt;		/* in smtpd_client_event_limit_exceptions */
	bool	bare_reject;		/* reject mode applies to this client */

	/* I/O. */
	struct ev_loop *loop;
	int	rfd, wfd;		/* the same socket, or stdin/stdout */
	struct tlsio io;		/* lines in, replies out (io.out), plain or TLS */
	struct ev_timer deadline;	/* request, session and cleanup deadlines */
	struct ev_timer sleep;		/* error delay before replies go out */
	uint64_t request_deadline;	/* absolute ms */
	uint64_t session_deadline;	/* absolute ms */
	uint64_t start_ms;
	bool	sleeping;		/* replies held until the sleep ends */
	bool	closing;		/* flush the replies, then close */
	bool	eof;			/* the client closed its side */
	bool	need_input;		/* the reader holds no complete line */
	bool	greeted;		/* the 220 greeting was sent */
	enum smtpd_state state;
	const char *where;		/* "CONNECT", "EHLO", "DATA" ... for logs */

	/* HELO/EHLO. */
	char	helo[SMTPD_HELO_MAX + 1];
	bool	esmtp;
	bool	pipelining;		/* PIPELINING was offered (RFC 2920) */

	/* The transaction. */
	bool	in_mail;
	char	sender[ADDR_CANON_MAX + 1];
	bool	smtputf8;
	uint64_t declared_size;
	char  **rcpt;
	size_t	nrcpt, rcpt_cap;
	size_t	rcpt_tried;		/* RCPT commands in this transaction */
	size_t	rcpt_overshoot;		/* RCPTs refused for the limit */
	struct smtpd_data data;
	int	spool_fd;
	bool	data_crlf;		/* the DATA command ended in CR LF */

	/* Hand-off to cleanup (smtpd_deliver.c). */
	struct cleanup_call *cl_call;	/* in flight, or NULL */

	/* Counters. */
	unsigned cmd_ok[SMTPD_CMD_COUNT];
	unsigned cmd_total[SMTPD_CMD_COUNT];
	unsigned errors;
	unsigned junk;
	uint64_t long_cmd;		/* bytes of a too-long command line so far */
	unsigned messages;

	struct smtpd_peer *peer;	/* name lookup under way, or NULL */

	/* SMTP AUTH (smtpd_sasl.c). */
	char	sasl_method[8];		/* "PLAIN", "LOGIN": authenticated */
	char	sasl_username[AUTH_USER_MAX + 1];	/* "" until then */
	struct smtpd_sasl *sasl;	/* an exchange under way, or NULL */
	struct sender_check *sender_check;	/* smtpd_sender_login_maps */
	struct smtpd_check *check;	/* restrictions under way, or NULL */
	struct smtpd_actions *actions;	/* HOLD, DISCARD ... asked for, or NULL */
	struct smtpd_verdict *refusal;	/* smtpd_delay_reject = no: the client's */
	struct smtpd_verdict *early_defer;	/* no: the client, HELO, sender lists' */
						/* defer_if_permit, for RCPT; or NULL */
	struct smtpd_dnscache *dnscache;	/* DNS list answers of the session */
	unsigned char name_status;	/* 0 name confirmed, 4 unknown for now, 5 unknown */
	unsigned char reverse_status;	/* the same for the PTR record alone */
	bool	client_checked;		/* smtpd_delay_reject = no bookkeeping */
	bool	helo_checked;
	char   *reverse_name;		/* the first valid PTR name, or NULL */
	unsigned transaction;		/* MAIL commands so far, for policy instance= */

	/* Overload (smtpd_overload.c). */
	uint64_t progress_ms;		/* the last useful thing it did */
	struct smtpd_session *lru_next, *lru_prev;	/* by progress */
	bool	lru_txn;		/* in the list of transactions */
	uint64_t slept_ms;		/* error delays so far */
	size_t	spool_charge;		/* memory held by an in-memory spool */

	/* anvil (smtpd_anvil.c). */
	char	net[64];		/* the client's network, "" until known */
	struct anvil_call *anvil_call;	/* an answer awaited, or NULL */
	bool	anvil_counted;		/* anvil holds a session of ours */
	bool	anvil_connecting;	/* its CONNECT is not answered yet */
	unsigned start_waits;		/* what the greeting waits for */
	int	gate;			/* the kept line's verdict, 0: none */
	enum smtpd_cmd gate_cmd;
	char   *gate_line;		/* a MAIL or RCPT line kept meanwhile */
	size_t	gate_len;
	enum lb_end gate_end;

	struct smtpd_session *next, *prev;	/* all sessions of the process */
};

extern struct ev_loop *smtpd_loop;
extern unsigned smtpd_session_count;

void	smtpd_session_new(struct ev_loop *loop, int rfd, int wfd,
			  const char *addr, const char *port);
void	smtpd_session_free(struct smtpd_session *s);
void	smtpd_listen_start(struct ev_loop *loop);
void	smtpd_listen_stop(struct ev_loop *loop);
void	smtpd_session_ready(struct smtpd_session *s);
void	smtpd_session_resume(struct smtpd_session *s);
void	smtpd_reply(struct smtpd_session *s, int code, const char *dsn,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	smtpd_reply_lines(struct smtpd_session *s, int code,
			  const char *const *lines, size_t n);
void	smtpd_set_deadline(struct smtpd_session *s, uint64_t ms_from_now);
void	smtpd_drop(struct smtpd_session *s, int code, const char *dsn,
		   const char *text);
void	smtpd_error_delay(struct smtpd_session *s);
void	smtpd_hold(struct smtpd_session *s, uint64_t ms);
void	smtpd_disconnect_summary(const struct smtpd_session *s, struct buf *out);
void	smtpd_session_shorten(struct smtpd_session *s, uint64_t ms_from_now);
void	smtpd_session_refuse(struct smtpd_session *s, int code, const char *dsn,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	smtpd_session_foreach(void (*f)(struct smtpd_session *, void *), void *ctx);

/* ------------------------------------------------------------------ */
/* Per-client limits across processes (smtpd_anvil.c).                */

#define SMTPD_ANVIL_GO		0	/* smtpd_anvil_connect(): go on */
#define SMTPD_ANVIL_WAIT	1	/* the greeting waits for anvil */
#define SMTPD_ANVIL_GONE	2	/* refused: the session is gone */

#define SMTPD_GATE_PASS		1	/* smtpd_anvil_gate(): handle it */
#define SMTPD_GATE_WAIT		2	/* it waits for anvil */
#define SMTPD_GATE_REFUSED	3	/* refused, the reply is out */

void	smtpd_anvil_init(struct ev_loop *loop);
int	smtpd_anvil_connect(struct smtpd_session *s);
void	smtpd_anvil_end(struct smtpd_session *s);
int	smtpd_anvil_gate(struct smtpd_session *s, enum smtpd_cmd c,
			 const struct lb_line *l);
struct anvil_call *smtpd_anvil_auth(struct smtpd_session *s,
				    anvil_done_fn *done, void *ctx);

/* ------------------------------------------------------------------ */
/* Bounded logs (smtpd_logsum.c).                                     */

void	smtpd_log(struct smtpd_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	smtpd_log_client(const char *addr, bool exempt, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	smtpd_log_vclient(const char *addr, bool exempt, const char *fmt,
			  va_list ap) __attribute__((format(printf, 3, 0)));
void	smtpd_logsum_expire(uint64_t now_ms);
void	smtpd_logsum_flush(void);

/* ------------------------------------------------------------------ */
/* Overload mode and the memory budget (smtpd_overload.c).            */

void	smtpd_overload_init(struct ev_loop *loop);
uint64_t smtpd_timeout_ms(void);
bool	smtpd_overloaded(void);
void	smtpd_overload_add(struct smtpd_session *s);
void	smtpd_overload_remove(struct smtpd_session *s);
void	smtpd_overload_progress(struct smtpd_session *s);
void	smtpd_overload_update(void);
bool	smtpd_overload_full(void);
bool	smtpd_overload_make_room(const char *newcomer);

/* ------------------------------------------------------------------ */
/* Commands (smtpd_proto.c).                                          */

enum smtpd_cmd smtpd_cmd_lookup(const char *verb, size_t n);
const char *smtpd_cmd_name(enum smtpd_cmd c);
void	smtpd_proto_greet(struct smtpd_session *s);
void	smtpd_proto_line(struct smtpd_session *s, const struct lb_line *l);
void	smtpd_proto_data_line(struct smtpd_session *s, const struct lb_line *l);
void	smtpd_proto_reset(struct smtpd_session *s);
void	smtpd_command_end(struct smtpd_session *s, enum smtpd_cmd c, bool ok);
void	smtpd_proto_client_line(struct smtpd_session *s, const char *qid);
void	smtpd_proto_queued(struct smtpd_session *s, int status, const char *qid,
			   const char *reason);
void	smtpd_log_event(struct smtpd_session *s, const char *event,
			const char *stage, const char *text, const char *rcpt);
bool	smtpd_pipelined(struct smtpd_session *s);
size_t	smtpd_ehlo_keywords(const struct smtpd_session *s, const char **out,
			    size_t max, char *sizebuf, size_t sizebuf_len);
const char *smtpd_protocol(const struct smtpd_session *s);

/* ------------------------------------------------------------------ */
/* Access (smtpd_check.c).                                            */

/*
 * An address lookup through the lookup service, asynchronous
 * (lookup_clnt.h: done(ctx, r, value, why) later, from the loop, r 1
 * found, 0 not found, -1 temporary failure); param names the main.cf
 * parameter whose tables are searched.  Returns a handle for
 * smtpd_lookup_cancel.  Tests replace both.
 */
typedef void *smtpd_lookup_fn(const char *param, const char *address,
			      lookup_done_fn *done, void *ctx);
typedef void smtpd_lookup_cancel_fn(void *handle);
extern smtpd_lookup_fn *smtpd_lookup;
extern smtpd_lookup_cancel_fn *smtpd_lookup_cancel;

struct smtpd_verdict {
	int	code;			/* 0: accepted */
	char	dsn[10];
	char	text[512];
};

/* A check that waited: its verdict for the address it was about. */
typedef void smtpd_check_done_fn(struct smtpd_session *s,
				 const struct smtpd_verdict *v, const char *addr);

bool	smtpd_domain_local(const char *domain);
bool	smtpd_domain_relay(const char *domain);
int	smtpd_check_space(uint64_t declared, uint64_t now_ms);
void	smtpd_check_space_reset(void);

/* ------------------------------------------------------------------ */
/* Access restrictions (smtpd_restrict.c, smtpd_access.c,             */
/* smtpd_dnsbl.c, smtpd_policy.c).                                    */

/* The command whose checks run. */
enum smtpd_when {
	SMTPD_AT_HELO, SMTPD_AT_MAIL, SMTPD_AT_RCPT, SMTPD_AT_VRFY,
	SMTPD_AT_DATA, SMTPD_AT_EOD,
};

/* The lists, in the order they are evaluated at RCPT. */
enum smtpd_stage {
	SMTPD_STAGE_CLIENT, SMTPD_STAGE_HELO, SMTPD_STAGE_SENDER,
	SMTPD_STAGE_RELAY, SMTPD_STAGE_RECIPIENT, SMTPD_STAGE_DATA,
	SMTPD_STAGE_EOD, SMTPD_STAGE_UNLISTED, SMTPD_STAGES
};

/* What the restrictions asked of the message (the transaction). */
#define SMTPD_ACT_HOLD		0x1
#define SMTPD_ACT_DISCARD	0x2

struct smtpd_actions {
	unsigned flags;
	char   *filter;			/* FILTER transport:nexthop */
	char   *redirect;		/* REDIRECT address */
	struct buf prepend;		/* PREPEND header lines, LF-terminated */
};

void	smtpd_restrict_init(void);
void	smtpd_restrict_free(void);
bool	smtpd_restrict_needs_dns(void);
bool	smtpd_restrict(struct smtpd_session *s, enum smtpd_when when,
		       const char *addr, struct smtpd_verdict *v,
		       smtpd_check_done_fn *done);
void	smtpd_restrict_cancel(struct smtpd_session *s);
void	smtpd_actions_reset(struct smtpd_session *s);

/* ------------------------------------------------------------------ */
/* The client's name (smtpd_peer.c).                                  */

void	smtpd_peer_init(void);
void	smtpd_peer_start(struct ev_loop *loop);
void	smtpd_peer_end(void);
bool	smtpd_peer_lookup(struct smtpd_session *s);
void	smtpd_peer_cancel(struct smtpd_session *s);
bool	smtpd_peer_name_ok(const char *name);
struct dns *smtpd_dns(void);
void	smtpd_dnscache_free(struct smtpd_session *s);

/* ------------------------------------------------------------------ */
/* TLS (smtpd_tls.c).                                                 */

void	smtpd_tls_init(void);
void	smtpd_tls_end(void);
bool	smtpd_tls_offered(const struct smtpd_session *s);
bool	smtpd_tls_needed(struct smtpd_session *s);
bool	smtpd_tls_cmd(struct smtpd_session *s, const char *arg, size_t n);
bool	smtpd_tls_wrapper(struct smtpd_session *s);
bool	smtpd_tls_event(struct smtpd_session *s, unsigned events);
void	smtpd_tls_received(const struct smtpd_session *s, char *out, size_t size);

/* ------------------------------------------------------------------ */
/* SMTP AUTH (smtpd_sasl.c).                                          */

#define smtpd_sasl_authenticated(s) ((s)->sasl_username[0] != '\0')

void	smtpd_sasl_init(struct ev_loop *loop);
void	smtpd_sasl_end(void);
bool	smtpd_sasl_offered(const struct smtpd_session *s);
bool	smtpd_sasl_cmd(struct smtpd_session *s, const char *arg, size_t n);
void	smtpd_sasl_line(struct smtpd_session *s, const struct lb_line *l);
void	smtpd_sasl_cancel(struct smtpd_session *s);
void	smtpd_sasl_logout(struct smtpd_session *s);
bool	smtpd_sasl_sender_check(struct smtpd_session *s, const char *sender,
				struct smtpd_verdict *v, smtpd_check_done_fn *done);
void	smtpd_sasl_sender_cancel(struct smtpd_session *s);
void	smtpd_sasl_mismatch(const struct smtpd_session *s, const char *sender,
			    int r, const char *owners, struct smtpd_verdict *v);

/* ------------------------------------------------------------------ */
/* Spool and hand-off (smtpd_deliver.c).                              */

int	smtpd_spool_open(bool whole);
void	smtpd_spool_close(struct smtpd_session *s);
void	smtpd_deliver(struct smtpd_session *s);
void	smtpd_deliver_abort(struct smtpd_session *s);

#endif
