/*
 * NAME
 *	smtp.h - the SMTP client's private interfaces
 * SYNOPSIS
 *	#include "smtp.h"
 * DESCRIPTION
 *	One header for the files of smtp/ (smtp.c holds main() and the
 *	manual):
 *
 *	smtp_nexthop.c	next hop syntax; MX ordering (no I/O)
 *	smtp_resolve.c	next hop -> the addresses to try (c-ares)
 *	smtp_proto.c	the SMTP conversation as a state machine over
 *			replies and commands (no I/O)
 *	smtp_content.c	the message on the wire: CR LF, dot-stuffing,
 *			long lines, 8-bit detection (no I/O)
 *	smtp_mime.c	8-bit to quoted-printable for a 7-bit server
 *	smtp_tls_policy.c smtp_tls_security_level and smtp_tls_policy_maps
 *	smtp_dane.c	TLSA records and what levels dane, dane-only make of them
 *	smtp_sasl.c	AUTH PLAIN / LOGIN as a client
 *	smtp_session.c	one connection: connect, I/O, timers, TLS
 *	smtp_cache.c	idle connections kept per destination
 *	smtp_deliver.c	one delivery request: servers in turn, results
 *	smtp_log.c	the delivery line and reason texts
 *
 *	A delivery request (struct smtp_request) carries N recipients;
 *	each gets exactly one result (sent, deferred, bounced) with an
 *	enhanced status code and a reason.  Recipients travel through
 *	one or more sessions (struct smtp_session), one server each.
 */
#ifndef POSTERN_SMTP_H
#define POSTERN_SMTP_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "dns.h"
#include "dsn.h"
#include "event.h"
#include "smtp_reply.h"

#define SMTP_HOST_MAX		DNS_NAME_MAX	/* a host name as text */
#define SMTP_KEY_MAX		(SMTP_HOST_MAX + 16)	/* "[host]:port" */
#define SMTP_PEER_MAX		(SMTP_HOST_MAX + 64)	/* "host[addr]:port" */
#define SMTP_REASON_MAX		2048	/* one recipient's reason text */
#define SMTP_ADDRS_MAX		64	/* candidate addresses per request */
#define SMTP_AUTH_MECHS_MAX	256	/* the AUTH keyword's arguments */
#define SMTP_OUT_MAX		(1024 * 1024)	/* commands + content queued */

/* ------------------------------------------------------------------ */
/* Next hop and MX order (smtp_nexthop.c).                            */

struct smtp_nexthop {
	char	host[SMTP_HOST_MAX + 1];	/* lower case; no brackets */
	unsigned port;
	bool	mx;			/* look up MX records */
	struct dns_addr literal;	/* family 0 unless an address */
	char	key[SMTP_KEY_MAX];	/* "domain", "[host]:587" ... */
};

int	smtp_nexthop_parse(const char *text, unsigned defport,
			   struct smtp_nexthop *nh, char *why, size_t whylen);
int	smtp_port_parse(const char *s, unsigned *port);
bool	smtp_mx_is_null(const struct dns_mx *mx, size_t n);
size_t	smtp_mx_order(struct dns_mx *mx, size_t n, const char *myhostname,
		      unsigned (*rnd)(unsigned), bool *loops);

/* ------------------------------------------------------------------ */
/* The addresses to try (smtp_resolve.c).                             */

struct smtp_addr {
	char	host[SMTP_HOST_MAX + 1];	/* the MX name, or [host] */
	struct dns_addr addr;
	unsigned port;
	unsigned pref;
	bool	dnssec;		/* MX (if any) and address answers had AD */
};

struct smtp_resolve;
typedef void smtp_resolve_cb(void *ctx, int status, const char *dsn,
			     const char *why, const struct smtp_addr *a, size_t n);

void	smtp_resolve_init(struct ev_loop *loop, struct dns *dns);
struct smtp_resolve *smtp_resolve_start(const struct smtp_nexthop *nh,
					smtp_resolve_cb *cb, void *ctx);
void	smtp_resolve_cancel(struct smtp_resolve *r);
unsigned smtp_random(unsigned n);

/* ------------------------------------------------------------------ */
/* Results (smtp_deliver.c, smtp_proto.c).                            */

enum smtp_rstat {
	SMTP_R_TODO,			/* no final result yet */
	SMTP_R_SENT,			/* the server took it */
	SMTP_R_DEFER,			/* try again later */
	SMTP_R_BOUNCE,			/* never: return to sender */
};

struct smtp_rcpt {
	const char *address;
	const char *orcpt;		/* "" when unknown */
	const char *notify;		/* "" when none, else "SUCCESS,..." */
	uint64_t index;			/* in the queue file */
	enum smtp_rstat stat;		/* final result */
	bool	kept;			/* soft failure here: next server */
	bool	accepted;		/* RCPT 2xx in this transaction */
	bool	in_tx;			/* RCPT sent in this transaction */
	char	dsn[DSN_MAX + 1];
	char   *reason;			/* the latest reason, or NULL */
	char	relay[SMTP_PEER_MAX];	/* where it was decided; "" none */
	bool	logged;			/* its to= line is written */
	bool	site_decided;		/* deferred for a destination failure */
};

/* ------------------------------------------------------------------ */
/* A delivery request (filled from the delivery protocol).            */

struct smtp_request {
	char	qid[32];
	int	fd;			/* the queue file, read-only */
	off_t	hdr_off;
	uint64_t hdr_len;
	off_t	body_off;
	uint64_t body_len;
	const char *sender;		/* "" for the null sender */
	const char *envid;		/* "" when none */
	const char *ret;		/* "", "FULL" or "HDRS" */
	bool	smtputf8;		/* the sender asked for SMTPUTF8 */
	const char *nexthop;		/* as routed by qmgr */
	const char *transport;		/* "smtp", "relay" ... */
	double	arrival;		/* seconds since the epoch */
	double	delay_a;		/* before the queue manager */
	double	delay_b;		/* in the queue manager */
	struct smtp_rcpt *rcpts;
	size_t	nrcpts;
	char	site_dsn[DSN_MAX + 1];	/* set when the destination as a */
	char	site_why[SMTP_REASON_MAX];	/* whole failed, else "" */
	void	(*done)(struct smtp_request *rq);	/* every result set */
	void   *ctx;
};

/* ------------------------------------------------------------------ */
/* The message on the wire (smtp_content.c).                          */

struct smtp_enc {
	unsigned line_limit;		/* smtp_line_length_limit, 0: none */
	size_t	col;			/* bytes in the current output line */
	bool	bol;			/* at the start of a line */
	bool	done;
};

#define SMTP_8BIT_HEADER	0x1
#define SMTP_8BIT_BODY		0x2

void	smtp_enc_init(struct smtp_enc *e, unsigned line_limit);
size_t	smtp_enc_room(size_t n);
void	smtp_enc_feed(struct smtp_enc *e, const char *p, size_t n,
		      struct buf *out);
void	smtp_enc_end(struct smtp_enc *e, struct buf *out);
unsigned smtp_8bit_scan(const char *p, size_t n);
bool	smtp_utf8_needed(const char *sender, const struct smtp_rcpt *r,
			 size_t n);

/* ------------------------------------------------------------------ */
/* 8-bit to quoted-printable (smtp_mime.c).                           */

#define SMTP_MIME_HDR_MAX	(64 * 1024)	/* one entity's header */
#define SMTP_MIME_LINE		1000	/* longer lines go in pieces */
#define SMTP_MIME_DEPTH		32	/* nested multiparts followed */
#define SMTP_MIME_BOUNDARY	72	/* RFC 2046: at most 70 */

enum smtp_mime_kind {
	SMTP_MIME_NONE,			/* not MIME: unchanged */
	SMTP_MIME_LEAF,
	SMTP_MIME_MULTI,
	SMTP_MIME_MESSAGE,
	SMTP_MIME_OPAQUE,		/* passes unchanged */
};

struct smtp_mime {
	struct smtp_enc *enc;		/* where the result goes */
	struct buf *out;
	struct buf hdr;			/* the current entity's header */
	struct buf line;		/* the current line (a piece of it) */
	int	state;
	bool	top;			/* the message's own header */
	bool	bol;			/* the next byte starts a line */
	enum smtp_mime_kind kind;
	bool	cte_ok;			/* none, 7bit, 8bit, binary */
	bool	qp;			/* encoding this leaf's body */
	size_t	col;			/* in the current encoded line */
	char	boundary[SMTP_MIME_BOUNDARY + 1];
	char	stack[SMTP_MIME_DEPTH][SMTP_MIME_BOUNDARY + 1];
	int	depth;
	int	hit;			/* is_boundary(): which level */
};

void	smtp_mime_init(struct smtp_mime *m);
void	smtp_mime_reset(struct smtp_mime *m);
void	smtp_mime_free(struct smtp_mime *m);
void	smtp_mime_feed(struct smtp_mime *m, const char *p, size_t n,
		       struct smtp_enc *e, struct buf *out);
void	smtp_mime_end(struct smtp_mime *m, struct smtp_enc *e, struct buf *out);

/* ------------------------------------------------------------------ */
/* The conversation (smtp_proto.c).                                   */

enum smtp_expect {
	SMTP_X_GREET, SMTP_X_EHLO, SMTP_X_HELO, SMTP_X_STARTTLS,
	SMTP_X_AUTH, SMTP_X_AUTH_USER, SMTP_X_AUTH_PASS,
	SMTP_X_MAIL, SMTP_X_RCPT, SMTP_X_DATA, SMTP_X_DOT,
	SMTP_X_RSET, SMTP_X_QUIT,
};
#define SMTP_EXPECT_MAX		1024	/* replies outstanding (pipelined) */

/* Server features from EHLO. */
#define SMTP_F_ESMTP		0x001
#define SMTP_F_PIPELINING	0x002
#define SMTP_F_SIZE		0x004
#define SMTP_F_8BITMIME		0x008
#define SMTP_F_SMTPUTF8		0x010
#define SMTP_F_DSN		0x020
#define SMTP_F_STARTTLS		0x040
#define SMTP_F_AUTH		0x080
#define SMTP_F_ENHANCED		0x100

enum smtp_tls_level {
	SMTP_TLS_NONE, SMTP_TLS_MAY, SMTP_TLS_ENCRYPT, SMTP_TLS_VERIFY,
	SMTP_TLS_SECURE,
	SMTP_TLS_DANE,			/* here: TLSA records to match */
	SMTP_TLS_DANE_ONLY,
};

/* What smtp_proto_reply() asks the session to do next. */
enum smtp_action {
	SMTP_A_WAIT,			/* write p->out (if any), read on */
	SMTP_A_TLS,			/* 220 to STARTTLS: handshake now */
	SMTP_A_CONTENT,			/* 354: send the message, then "." */
	SMTP_A_READY,			/* idle between transactions */
	SMTP_A_CLOSE,			/* write p->out (QUIT), then close */
};

/* How a session ended for the recipients it held. */
enum smtp_fail {
	SMTP_FAIL_LOST,			/* connection lost */
	SMTP_FAIL_TIMEOUT,		/* a reply did not come in time */
	SMTP_FAIL_PROTO,		/* the server broke the protocol */
};

struct smtp_proto_conf {
	const char *helo_name;		/* smtp_helo_name */
	enum smtp_tls_level tls_level;
	bool	skip_5xx_greeting;
	bool	sasl;			/* credentials available */
	const char *sasl_user;
	const char *sasl_pass;
	bool	sasl_plaintext_ok;	/* PLAIN/LOGIN without TLS */
	bool	sasl_tls_plaintext_ok;	/* PLAIN/LOGIN inside TLS */
	bool	may_convert_8bit;	/* else defer 8-bit to a 7-bit server */
};

struct smtp_proto {
	struct smtp_proto_conf conf;
	const char *peer;		/* "mx.example.org[192.0.2.1]" */
	struct buf *out;		/* commands to write */
	unsigned features;
	uint64_t size_limit;		/* SIZE from EHLO, 0: none */
	char	auth_mechs[SMTP_AUTH_MECHS_MAX];
	bool	tls_active;
	bool	tls_tried;		/* STARTTLS sent on this connection */
	bool	greeted;		/* a 2xx greeting came */
	bool	ready;			/* EHLO/TLS/AUTH done */
	bool	broken;			/* do not reuse: QUIT and close */
	bool	data_sent;		/* "." written, its reply not yet read */
	/* Replies outstanding, in order (a ring). */
	enum smtp_expect expect[SMTP_EXPECT_MAX];
	size_t	x_head, x_len;
	size_t	x_rcpt;			/* next RCPT reply is for rcpts[x] */
	/* The transaction. */
	struct smtp_request *rq;	/* NULL between transactions */
	struct smtp_request *finished;	/* its transaction just ended: the */
					/* caller takes it and clears this */
	bool	mail_ok;		/* MAIL got 2xx */
	bool	tx_open;		/* MAIL sent, transaction not ended */
	size_t	naccepted;
	unsigned body_8bit;		/* SMTP_8BIT_* of the message */
	bool	convert;		/* send as quoted-printable */
	uint64_t msg_size;
	char	site_dsn[DSN_MAX + 1];	/* the server failed as a whole: */
	char	site_why[SMTP_REASON_MAX];	/* "" when it did not */
	unsigned transactions;		/* completed on this connection */
};

void	smtp_proto_init(struct smtp_proto *p, const struct smtp_proto_conf *conf,
			const char *peer, struct buf *out);
enum smtp_action smtp_proto_reply(struct smtp_proto *p,
				  const struct smtp_reply *r);
enum smtp_action smtp_proto_begin(struct smtp_proto *p, struct smtp_request *rq,
				  unsigned body_8bit);
void	smtp_proto_tls_done(struct smtp_proto *p);
void	smtp_proto_tls_failed(struct smtp_proto *p, const char *dsn,
			      const char *why);
void	smtp_proto_content_done(struct smtp_proto *p);
void	smtp_proto_fail(struct smtp_proto *p, enum smtp_fail how,
			const char *dsn, const char *why);
void	smtp_proto_quit(struct smtp_proto *p);
enum smtp_expect smtp_proto_waiting(const struct smtp_proto *p, bool *any);
const char *smtp_expect_name(enum smtp_expect x);
const char *smtp_expect_phase(enum smtp_expect x);

/* Result helpers shared by proto, session and deliver. */
void	smtp_rcpt_set(struct smtp_rcpt *r, enum smtp_rstat stat,
		      const char *dsn, const char *reason);
void	smtp_rcpt_keep(struct smtp_rcpt *r, const char *dsn, const char *reason);
void	smtp_reply_reason(const struct smtp_reply *r, const char *peer,
			  const char *cmd, char *out, size_t size);
void	smtp_reply_dsn(const struct smtp_reply *r, char *dsn, size_t size);

/* ------------------------------------------------------------------ */
/* TLS policy (smtp_tls_policy.c).                                    */

#define SMTP_TLS_MATCH_MAX	512
#define SMTP_TLS_NAMES_MAX	8

struct smtp_tls_policy {
	enum smtp_tls_level level;
	char	match[SMTP_TLS_MATCH_MAX];	/* "" or "name:name" */
};

int	smtp_tls_level_parse(const char *s, enum smtp_tls_level *level);
const char *smtp_tls_level_name(enum smtp_tls_level level);
int	smtp_tls_policy_parse(const char *value, struct smtp_tls_policy *pol,
			      char *why, size_t whylen);
int	smtp_tls_policy_open(char *why, size_t whylen);
void	smtp_tls_policy_close(void);
int	smtp_tls_policy_for(const struct smtp_nexthop *nh,
			    struct smtp_tls_policy *pol, char *why, size_t whylen);
bool	smtp_tls_dane_level(enum smtp_tls_level level);

/* ------------------------------------------------------------------ */
/* DANE (smtp_dane.c).                                                */

#define SMTP_TLSA_MAX		8	/* usable records kept per server */
#define SMTP_TLSA_DATA_MAX	4096	/* matching type 0: a certificate */

struct smtp_dane {			/* a server's usable TLSA records */
	size_t	n;
	struct smtp_tlsa {
		unsigned char usage, selector, mtype;
		size_t	len;
		unsigned char data[SMTP_TLSA_DATA_MAX];
	}	r[SMTP_TLSA_MAX];
};

enum smtp_dane_verdict {
	SMTP_DANE_VERIFY,		/* TLS, chain matched to the records */
	SMTP_DANE_ENCRYPT,		/* records, none usable: TLS, unverified */
	SMTP_DANE_MAY,			/* insecure or no records: opportunistic */
	SMTP_DANE_FAIL,			/* defer this server (4.7.5) */
};

struct smtp_dane_lookup;
typedef void smtp_dane_cb(void *ctx, enum smtp_dane_verdict v, const char *why,
			  struct smtp_dane *dane);

void	smtp_dane_init(struct dns *dns);
struct smtp_dane_lookup *smtp_dane_start(const struct smtp_addr *a,
					 enum smtp_tls_level level,
					 smtp_dane_cb *cb, void *ctx);
void	smtp_dane_cancel(struct smtp_dane_lookup *l);
enum smtp_dane_verdict smtp_dane_decide(enum smtp_tls_level level,
					const char *tlsa_name, int status,
					const char *dns_why, bool secure,
					const struct dns_tlsa *t, size_t n,
					struct smtp_dane *out, char *why,
					size_t whylen);
enum smtp_dane_verdict smtp_dane_insecure(enum smtp_tls_level level,
					  const struct smtp_addr *a, char *why,
					  size_t whylen);

size_t	smtp_tls_names(const struct smtp_tls_policy *pol,
		       const struct smtp_nexthop *nh, const char *mxhost,
		       const char **names, char *storage, size_t size);

/* ------------------------------------------------------------------ */
/* SASL (smtp_sasl.c).                                                */

int	smtp_sasl_open(char *why, size_t whylen);
void	smtp_sasl_close(void);
int	smtp_sasl_lookup(const struct smtp_nexthop *nh, char *user, size_t usize,
			 char *pass, size_t psize, char *why, size_t whylen);
const char *smtp_sasl_pick(const char *mechs);
int	smtp_sasl_plain(const char *user, const char *pass, struct buf *out);
int	smtp_sasl_b64(const char *s, struct buf *out);
int	smtp_sasl_split(const char *value, char *user, size_t usize,
			char *pass, size_t psize);

#endif
