/*
 * NAME
 *	smtp_session.h - connections, the connection cache, deliveries
 * SYNOPSIS
 *	#include "smtp_session.h"
 * DESCRIPTION
 *	The parts of smtp/ that do I/O (smtp.h holds the logic they
 *	drive):
 *
 *	smtp_session.c	one connection to one server
 *	smtp_cache.c	idle connections kept per destination
 *	smtp_deliver.c	one delivery request: servers in turn, results
 *	smtp_listen.c	the delivery protocol's server side (private/smtp)
 */
#ifndef POSTERN_SMTP_SESSION_H
#define POSTERN_SMTP_SESSION_H

#include <openssl/types.h>

#include "smtp.h"
#include "tlsio.h"

/* What a connection needs to know besides the address. */
struct smtp_session_conf {
	struct smtp_proto_conf proto;
	struct smtp_tls_policy tls;
	char	sni[SMTP_HOST_MAX + 1];		/* "" for an address */
	const char *names[SMTP_TLS_NAMES_MAX];	/* into name_store */
	size_t	nnames;
	char	name_store[SMTP_TLS_NAMES_MAX * (SMTP_HOST_MAX + 2)];
	char	sasl_user[256];
	char	sasl_pass[256];
	char	key[SMTP_KEY_MAX + 72];		/* the connection cache key */
	bool	wrapper;			/* TLS from the first byte (465) */
	const struct smtp_dane *dane;		/* level dane: the records to */
						/* match (copied by open) */
};

/* How a server did for one transaction (the owner's callback). */
struct smtp_outcome {
	bool	closing;		/* the session is gone after the call */
	bool	greeted;		/* the server said 2xx hello */
	bool	reused;			/* a cached connection */
	bool	answered;		/* a reply came in this transaction */
	bool	tls_may_failed;		/* retry this server in the clear */
	uint64_t conn_ms;		/* set-up before MAIL (delays c) */
	uint64_t xfer_ms;		/* MAIL to the end (delays d) */
	char	site_dsn[DSN_MAX + 1];	/* the server failed as a whole */
	char	site_why[SMTP_REASON_MAX];
};

struct smtp_session;
typedef void smtp_session_cb(void *owner, struct smtp_session *s,
			     const struct smtp_outcome *o);

enum smtp_sstate {
	SMTP_S_CONNECT,			/* TCP connection under way */
	SMTP_S_TALK,			/* commands and replies */
	SMTP_S_TLS,			/* the handshake runs */
	SMTP_S_CONTENT,			/* the message goes out */
	SMTP_S_IDLE,			/* in the cache */
	SMTP_S_CLOSING,			/* QUIT sent, or going */
};

struct smtp_session {
	struct smtp_addr addr;
	struct smtp_session_conf conf;
	char	peer[SMTP_PEER_MAX];	/* "host[addr]" */
	char	relay[SMTP_PEER_MAX];	/* "host[addr]:port" */
	char	qid[32];		/* the message being sent, for logs */
	char	tls_info[256];		/* "TLSv1.3 with cipher ..." or "" */
	bool	tls_keep;		/* keep the TLS session at the next reply */
	enum smtp_sstate state;
	int	fd;
	int	connect_err;
	struct ev_io cio;		/* while connecting */
	struct ev_timer timer;		/* the deadline of the moment */
	struct ev_timer kick;		/* buffered lines after a begin */
	struct tlsio io;
	bool	io_ready;
	struct smtp_proto proto;
	struct smtp_reply reply;	/* the reply being read */
	bool	skip_rest;		/* the rest of an over-long line */
	struct buf scratch;		/* proto's output before connecting */
	struct smtp_request *pending_rq;	/* begins once connected */
	unsigned pending_bits;
	/* The message (smtp_session.c: pump). */
	struct smtp_enc enc;
	struct smtp_mime mime;
	bool	mime_active;
	int	c_part;			/* 0 header, 1 body */
	uint64_t c_pos;
	char	c_err[128];
	/* The owner. */
	smtp_session_cb *cb;
	void   *owner;
	bool	reused;
	bool	tls_may_failed;
	unsigned tx_replies;
	uint64_t created_ms, begin_ms, tx_start_ms;
	/* The cache (smtp_cache.c). */
	struct smtp_session *cnext, *cprev;
	bool	cached;
};

extern struct ev_loop *smtp_loop;
extern SSL_CTX *smtp_tls_ctx;
extern SSL_CTX *smtp_tls_ctx_mandatory;
extern unsigned smtp_session_count;

struct smtp_session *smtp_session_open(const struct smtp_addr *a,
				       const struct smtp_session_conf *conf,
				       struct smtp_request *rq, unsigned bits,
				       smtp_session_cb *cb, void *owner);
void	smtp_session_begin(struct smtp_session *s, struct smtp_request *rq,
			   unsigned bits, smtp_session_cb *cb, void *owner);
bool	smtp_session_reusable(const struct smtp_session *s);
void	smtp_session_idle(struct smtp_session *s);
void	smtp_session_quit(struct smtp_session *s);

/* The connection cache (smtp_cache.c). */
void	smtp_cache_put(struct smtp_session *s);
struct smtp_session *smtp_cache_take(const char *key);
void	smtp_cache_forget(struct smtp_session *s);
void	smtp_cache_expired(struct smtp_session *s);
void	smtp_cache_close_all(void);
size_t	smtp_cache_count(void);

/* Deliveries (smtp_deliver.c). */
extern unsigned smtp_default_port;
void	smtp_deliver(struct smtp_request *rq);
size_t	smtp_deliver_count(void);

/* The delivery protocol (smtp_listen.c). */
void	smtp_listen_start(struct ev_loop *loop);
void	smtp_listen_stop(struct ev_loop *loop);

#endif
