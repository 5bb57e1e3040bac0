/*
 * NAME
 *	auth_clnt - password checks for SMTP AUTH, through Dovecot's
 *	authentication service or postern's own (auth(8))
 * SYNOPSIS
 *	#include "auth_clnt.h"
 *
 *	char why[CLNT_WHY_MAX];
 *	struct auth_clnt *a = auth_clnt_new(loop, "dovecot", "private/auth",
 *					    why, sizeof(why));
 *	struct auth_request rq = {
 *		.mech = "PLAIN", .user = "alice", .password = "secret",
 *		.service = "smtp", .client_addr = "192.0.2.7", .secured = true,
 *	};
 *	struct auth_call *c = auth_clnt_check(a, &rq, 30000, done, ctx);
 *	// done(ctx, status, user, reason) runs later, from the loop
 *	auth_clnt_cancel(c);		// or give up first: done never runs
 *	auth_clnt_free(a);
 * DESCRIPTION
 *	An asynchronous yes or no for a user name and password, on the
 *	process's event loop (lib/ipc/clnt_pool.h: kept connections, a
 *	bound, a deadline, cancellation).  The mechanism (PLAIN or LOGIN)
 *	is the client's business with smtpd; the back end only ever sees
 *	the name, the password and an optional authorisation identity.
 *
 *	type "dovecot": Dovecot's authentication protocol (version 1.2,
 *	as Postfix speaks it) on the UNIX socket path (relative to the
 *	working directory, the queue directory for daemons: Dovecot's
 *	"unix_listener /var/spool/postern/private/auth").  Each new
 *	connection sends "VERSION 1 2" and "CPID", reads the server's
 *	handshake up to "DONE" and checks that it is version 1 and offers
 *	PLAIN; a check is one "AUTH id PLAIN service=smtp nologin rip=ADDR
 *	[secured] resp=BASE64" answered by OK (with user=, the name to
 *	use from then on) or FAIL (temp: a temporary failure).  Dovecot
 *	delays a failure itself (auth_failure_delay).
 *
 *	type "postern": the auth service (auth/auth.c) on path, with
 *	lib/ipc/ipc messages: AUTH_REQ_CHECK "user", "password", "authzid",
 *	"service", "client_addr" str; AUTH_REP "status" num (AUTH_OK,
 *	AUTH_FAIL, AUTH_TEMP), "user" str, "reason" str.
 *	auth_request_build()/auth_request_parse() and auth_reply_build()/
 *	auth_reply_parse() are both ends of it.
 *
 *	done(ctx, status, user, reason): status AUTH_OK (user is the
 *	authenticated name), AUTH_FAIL (the name or password is wrong;
 *	reason, may be empty, is the back end's, for the log), AUTH_TEMP
 *	(no answer, a malformed answer, a timeout, or a temporary failure
 *	the back end reported: reason says which).  Strings are valid
 *	during the callback only.
 * SECURITY
 *	Answers are parsed as untrusted input with bounds (AUTH_REPLY_MAX
 *	bytes, AUTH_USER_MAX for a name).  The password is wiped from the
 *	buffers this module owns once the request is built.
 */
#ifndef POSTERN_AUTH_CLNT_H
#define POSTERN_AUTH_CLNT_H

#include <stdbool.h>
#include <stdint.h>

#include "clnt_pool.h"
#include "ipc.h"

#define AUTH_OK		0
#define AUTH_FAIL	1
#define AUTH_TEMP	2

#define AUTH_USER_MAX	255		/* a user name */
#define AUTH_PASS_MAX	1024		/* a password */
#define AUTH_REASON_MAX	256
#define AUTH_REPLY_MAX	(16 * 1024)	/* one answer, or Dovecot's handshake */
#define AUTH_TIMEOUT_MS	30000

#define AUTH_REQ_CHECK	0x0701
#define AUTH_REP	0x0702

struct auth_request {
	const char *mech;		/* "PLAIN", "LOGIN": for logs only */
	const char *authzid;		/* "" or NULL: none */
	const char *user;
	const char *password;
	const char *service;		/* "smtp" */
	const char *client_addr;
	bool	secured;		/* TLS is on */
};

struct auth_clnt;
struct auth_call;
struct ev_loop;

typedef void auth_done_fn(void *ctx, int status, const char *user, const char *reason);

struct auth_clnt *auth_clnt_new(struct ev_loop *loop, const char *type,
				const char *path, char *why, size_t whylen);
void	auth_clnt_free(struct auth_clnt *a);
struct auth_call *auth_clnt_check(struct auth_clnt *a, const struct auth_request *rq,
				  uint64_t timeout_ms, auth_done_fn *done, void *ctx);
void	auth_clnt_cancel(struct auth_call *c);

int	auth_request_build(struct ipc_msg *m, const struct auth_request *rq);
int	auth_request_parse(struct ipc_in *in, struct auth_request *rq, char *why,
			   size_t whylen);
int	auth_reply_build(struct ipc_msg *m, int status, const char *user,
			 const char *reason);
int	auth_reply_parse(struct ipc_in *in, int *status, const char **user,
			 const char **reason);

#endif
