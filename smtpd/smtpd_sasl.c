/*
 * NAME
 *	smtpd_sasl - SMTP AUTH (RFC 4954): PLAIN and LOGIN
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_sasl_init(loop);		// once, after the jail
 *	if (smtpd_sasl_offered(s)) ... "AUTH PLAIN LOGIN" in EHLO ...
 *	if (smtpd_sasl_cmd(s, arg, n)) return;	// the exchange goes on
 *	smtpd_sasl_line(s, &l);		// a client line in SMTPD_ST_AUTH
 *	smtpd_sasl_cancel(s);		// the session ends
 * DESCRIPTION
 *	With smtpd_sasl_auth_enable = yes, EHLO offers "AUTH PLAIN LOGIN"
 *	inside TLS (or also in the clear with smtpd_tls_auth_only = no).
 *	smtpd takes the name and password from the client itself (PLAIN:
 *	an initial response or one line after "334 "; LOGIN: a line each
 *	after "334 VXNlcm5hbWU6" and "334 UGFzc3dvcmQ6"; "*" aborts) and
 *	asks the back end of smtpd_sasl_type, Dovecot or postern's auth
 *	service, through lib/svc/auth_clnt.h: an event, so the other sessions
 *	of the process go on while a password is checked.  The session
 *	reads nothing meanwhile (SMTPD_ST_CHECK).
 *
 *	Replies: 235 2.7.0 Authentication successful; 535 5.7.8 Error:
 *	authentication failed: authentication failure; 454 4.7.0
 *	Temporary authentication failure (the back end did not answer);
 *	501 5.7.0 Authentication aborted; 501 5.5.2 Cannot decode
 *	response (not base64, or not a PLAIN response); 500 5.5.6
 *	Authentication Exchange line is too long; 504 5.5.4 Unsupported
 *	authentication mechanism; 538 5.7.11 Encryption required for
 *	requested authentication mechanism (outside TLS with
 *	smtpd_tls_auth_only); 503 5.5.1 Error: authentication not enabled
 *	/ already authenticated / MAIL transaction in progress.
 *
 *	Failures are counted per client address and anvil_rate_time_unit,
 *	by anvil across every smtpd process (smtpd_anvil.c; the session
 *	waits for the count) and in this process (smtpd_rate.c, which also
 *	refuses a client already at the limit when it starts an AUTH, and
 *	is what counts when anvil cannot be asked): the reply to the Nth failure
 *	waits N times smtpd_sasl_failure_delay (other sessions go on), and
 *	at smtpd_sasl_failure_limit the client gets "421 4.7.0 HOST Error:
 *	too many failed authentications" and is disconnected, and any AUTH
 *	it tries before the unit ends gets the same at once.  Each failure
 *	is also an error of the session (smtpd_hard_error_limit).  The log
 *	line is Postfix's, which fail2ban's postfix-sasl filter reads:
 *	"warning: NAME[ADDR]: SASL PLAIN authentication failed:
 *	authentication failure".
 *
 *	A success records s->sasl_method and s->sasl_username (the name
 *	the back end returned): the client may relay (smtpd_check.c), the
 *	queue file and the "client=" log line get sasl_method= and
 *	sasl_username=, Received: says ESMTPSA (or ESMTPA).  STARTTLS
 *	forgets an authentication made before it.
 *
 *	smtpd_sasl_sender_check() is reject_sender_login_mismatch: with
 *	smtpd_sender_login_maps set, an envelope sender is refused (553
 *	5.7.1) when the table names owners of it and the client is not
 *	logged in as one of them, or when the client is logged in and the
 *	table does not name its login as an owner.  The table is looked up
 *	through the lookup service, the whole address first, then
 *	@domain; its value lists logins separated by commas or spaces.  A
 *	lookup failure is 451 4.3.0.
 * SECURITY
 *	A password is held only from the client's line to the request
 *	to the back end, then wiped; it is never logged.  Input lines are
 *	bounded by line_length_limit (longer: 500 5.5.6), decoded strictly
 *	(base64.h), names by AUTH_USER_MAX and passwords by AUTH_PASS_MAX.
 *	An authorisation identity other than the name is refused by the
 *	back ends.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "anvil_clnt.h"
#include "auth_clnt.h"
#include "base64.h"
#include "log.h"
#include "lookup_clnt.h"
#include "mem.h"
#include "params.h"
#include "smtpd.h"
#include "str.h"

enum mech { MECH_PLAIN, MECH_LOGIN };

struct smtpd_sasl {
	enum mech mech;
	int	step;			/* LOGIN: 0 the name, 1 the password */
	bool	discarding;		/* inside a too-long line */
	char	user[AUTH_USER_MAX + 1];
	char	pass[AUTH_PASS_MAX + 1];
	char	authzid[AUTH_USER_MAX + 1];
	struct auth_call *call;
	struct anvil_call *acall;	/* anvil counts a failure */
	unsigned fails;			/* this process's count of them */
};

static struct auth_clnt *backend;

static const char *const mech_names[] = {"PLAIN", "LOGIN"};

void
smtpd_sasl_init(struct ev_loop *loop)
{
	char	why[CLNT_WHY_MAX];

	if (!cfg->smtpd_sasl_auth_enable)
		return;
	if ((backend = auth_clnt_new(loop, cfg->smtpd_sasl_type, cfg->smtpd_sasl_path,
				     why, sizeof(why))) == NULL)
		log_fatal("SMTP AUTH (smtpd_sasl_type = %s, smtpd_sasl_path = %s): %s",
			  cfg->smtpd_sasl_type, cfg->smtpd_sasl_path, why);
}

void
smtpd_sasl_end(void)
{
	auth_clnt_free(backend);
	backend = NULL;
}

bool
smtpd_sasl_offered(const struct smtpd_session *s)
{
	return backend != NULL && s->sasl_username[0] == '\0'
	    && (s->io.state == TLSIO_TLS || !cfg->smtpd_tls_auth_only);
}

/* forget - end the exchange (the session's login stays) */
static void
forget(struct smtpd_session *s)
{
	if (s->sasl == NULL)
		return;
	auth_clnt_cancel(s->sasl->call);
	if (s->sasl->acall != NULL)
		anvil_clnt_cancel(s->sasl->acall);
	OPENSSL_cleanse(s->sasl, sizeof(*s->sasl));
	free(s->sasl);
	s->sasl = NULL;
}

void
smtpd_sasl_cancel(struct smtpd_session *s)
{
	forget(s);
}

void
smtpd_sasl_logout(struct smtpd_session *s)
{
	forget(s);
	s->sasl_method[0] = '\0';
	s->sasl_username[0] = '\0';
}

/*
 * end - the AUTH command is over: from a line (state SMTPD_ST_AUTH,
 * inside step()) or from the back end's answer (SMTPD_ST_CHECK)
 */
static void
end(struct smtpd_session *s, bool ok)
{
	forget(s);
	if (s->state == SMTPD_ST_AUTH)
		s->state = SMTPD_ST_CMD;
	smtpd_command_end(s, SMTPD_CMD_AUTH, ok);
}

/* too_many - this client is at smtpd_sasl_failure_limit: 421, log */
static void
too_many(struct smtpd_session *s, unsigned n)
{
	char	text[300];

	smtpd_log(s, "warning: %s[%s]: too many failed SASL authentications "
		  "(%u, smtpd_sasl_failure_limit %lld): disconnecting", s->name,
		  s->addr, n, cfg->smtpd_sasl_failure_limit);
	(void) str_fmt(text, sizeof(text), "%s Error: too many failed authentications",
		       cfg->myhostname);
	smtpd_drop(s, 421, "4.7.0", text);
}

/* failed - the answer to the client's nth failure */
static void
failed(struct smtpd_session *s, unsigned n)
{
	if (cfg->smtpd_sasl_failure_limit > 0
	    && n >= (unsigned long long) cfg->smtpd_sasl_failure_limit)
		too_many(s, n);
	else {
		smtpd_reply(s, 535, "5.7.8", "Error: authentication failed: "
			    "authentication failure");
		smtpd_hold(s, cfg->smtpd_sasl_failure_delay * 1000 * n);
	}
	end(s, false);
}

/* on_counted - anvil's count of the client's failures, all processes */
static void
on_counted(void *ctx, const struct anvil_counts *counts, bool ok)
{
	struct smtpd_session *s = ctx;
	unsigned n = s->sasl->fails;

	s->sasl->acall = NULL;
	if (ok && counts->addr_events > n)
		n = counts->addr_events > UINT32_MAX ? UINT32_MAX : (unsigned) counts->addr_events;
	failed(s, n);
}

static void
on_answer(void *ctx, int status, const char *user, const char *reason)
{
	struct smtpd_session *s = ctx;
	const char *mech = mech_names[s->sasl->mech];
	unsigned n;

	s->sasl->call = NULL;
	if (status == AUTH_OK) {
		(void) str_copy(s->sasl_method, sizeof(s->sasl_method), mech);
		(void) str_copy(s->sasl_username, sizeof(s->sasl_username), user);
		smtpd_reply(s, 235, "2.7.0", "Authentication successful");
		end(s, true);
		return;
	}
	if (status == AUTH_TEMP) {
		smtpd_log(s, "warning: %s[%s]: SASL %s authentication problem: %s",
			  s->name, s->addr, mech, reason);
		smtpd_reply(s, 454, "4.7.0", "Temporary authentication failure");
		end(s, false);
		return;
	}
	/* fail2ban's postfix-sasl filter reads this line. */
	smtpd_log(s, "warning: %s[%s]: SASL %s authentication failed: "
		  "authentication failure", s->name, s->addr, mech);
	n = smtpd_rate_count(s->addr, SMTPD_RATE_AUTHFAIL, ev_now(s->loop));
	s->sasl->fails = n;
	/* Across smtpd processes: anvil counts too (the session waits). */
	if ((s->sasl->acall = smtpd_anvil_auth(s, on_counted, s)) == NULL)
		failed(s, n);
}

/* verify - ask the back end; the session waits */
static void
verify(struct smtpd_session *s)
{
	struct auth_request rq = {
		.mech = mech_names[s->sasl->mech],
		.authzid = s->sasl->authzid,
		.user = s->sasl->user,
		.password = s->sasl->pass,
		.service = "smtp",
		.client_addr = s->addr,
		.secured = s->io.state == TLSIO_TLS,
	};

	s->state = SMTPD_ST_CHECK;
	s->sasl->call = auth_clnt_check(backend, &rq, AUTH_TIMEOUT_MS, on_answer, s);
	OPENSSL_cleanse(s->sasl->pass, sizeof(s->sasl->pass));
}

/* refuse - a reply that ends the exchange with an error */
static void
refuse(struct smtpd_session *s, int code, const char *dsn, const char *text)
{
	smtpd_reply(s, code, dsn, "%s", text);
	end(s, false);
}

/* plain - authzid NUL authcid NUL password (RFC 4616) */
static bool
plain(struct smtpd_sasl *x, const unsigned char *p, size_t n)
{
	const unsigned char *a = memchr(p, 0, n), *b;
	size_t	zl, ul, pl;

	if (a == NULL || (b = memchr(a + 1, 0, n - (size_t) (a + 1 - p))) == NULL
	    || memchr(b + 1, 0, n - (size_t) (b + 1 - p)) != NULL)
		return false;
	zl = (size_t) (a - p);
	ul = (size_t) (b - a - 1);
	pl = n - (size_t) (b + 1 - p);
	if (ul == 0 || ul > AUTH_USER_MAX || zl > AUTH_USER_MAX || pl > AUTH_PASS_MAX)
		return false;
	memcpy(x->authzid, p, zl);
	x->authzid[zl] = '\0';
	memcpy(x->user, a + 1, ul);
	x->user[ul] = '\0';
	memcpy(x->pass, b + 1, pl);
	x->pass[pl] = '\0';
	return !str_has_ctl(x->user, ul) && !str_has_ctl(x->authzid, zl);
}

/* response - one base64 response of the exchange */
static void
response(struct smtpd_session *s, const char *text, size_t n)
{
	struct smtpd_sasl *x = s->sasl;
	unsigned char raw[AUTH_USER_MAX * 2 + AUTH_PASS_MAX + 3];
	size_t	len = 0;
	bool	ok;

	if (n == 1 && text[0] == '*') {
		refuse(s, 501, "5.7.0", "Authentication aborted");
		return;
	}
	if (!(n == 1 && text[0] == '=')	/* "=": an empty initial response */
	    && base64_decode(text, n, raw, sizeof(raw), &len) < 0) {
		refuse(s, 501, "5.5.2", "Cannot decode response");
		return;
	}
	if (x->mech == MECH_PLAIN)
		ok = plain(x, raw, len);
	else if (x->step == 0) {
		ok = len > 0 && len <= AUTH_USER_MAX && memchr(raw, 0, len) == NULL;
		if (ok) {
			memcpy(x->user, raw, len);
			x->user[len] = '\0';
			ok = !str_has_ctl(x->user, len);
		}
	} else {
		ok = len <= AUTH_PASS_MAX && memchr(raw, 0, len) == NULL;
		if (ok) {
			memcpy(x->pass, raw, len);
			x->pass[len] = '\0';
		}
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	if (!ok) {
		refuse(s, 501, "5.5.2", "Cannot decode response");
		return;
	}
	if (x->mech == MECH_LOGIN && x->step++ == 0) {
		smtpd_reply(s, 334, NULL, "UGFzc3dvcmQ6");	/* "Password:" */
		s->state = SMTPD_ST_AUTH;
		return;
	}
	verify(s);
}

bool
smtpd_sasl_cmd(struct smtpd_session *s, const char *arg, size_t n)
{
	size_t	ml = 0;
	unsigned fails;
	enum mech mech;

	if (backend == NULL) {
		smtpd_reply(s, 503, "5.5.1", "Error: authentication not enabled");
		return false;
	}
	if (smtpd_tls_needed(s))
		return false;
	if (s->io.state != TLSIO_TLS && cfg->smtpd_tls_auth_only) {
		smtpd_reply(s, 538, "5.7.11", "Encryption required for requested "
			    "authentication mechanism");
		return false;
	}
	if (s->sasl_username[0]) {
		smtpd_reply(s, 503, "5.5.1", "Error: already authenticated");
		return false;
	}
	if (s->in_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: MAIL transaction in progress");
		return false;
	}
	fails = smtpd_rate_peek(s->addr, SMTPD_RATE_AUTHFAIL, ev_now(s->loop));
	if (cfg->smtpd_sasl_failure_limit > 0
	    && fails >= (unsigned long long) cfg->smtpd_sasl_failure_limit) {
		too_many(s, fails);
		return false;
	}
	while (ml < n && arg[ml] != ' ')
		ml++;
	if (ml == 5 && str_ncasecmp(arg, "PLAIN", 5) == 0)
		mech = MECH_PLAIN;
	else if (ml == 5 && str_ncasecmp(arg, "LOGIN", 5) == 0)
		mech = MECH_LOGIN;
	else {
		smtpd_reply(s, ml == 0 ? 501 : 504, ml == 0 ? "5.5.4" : "5.5.4",
			    "%s", ml == 0 ? "Syntax: AUTH mechanism" : "Unsupported "
			    "authentication mechanism");
		return false;
	}
	s->sasl = xcalloc(1, sizeof(*s->sasl));
	s->sasl->mech = mech;
	s->state = SMTPD_ST_AUTH;
	while (ml < n && arg[ml] == ' ')
		ml++;
	if (ml < n)
		response(s, arg + ml, n - ml);	/* the initial response */
	else
		smtpd_reply(s, 334, NULL, "%s", mech == MECH_PLAIN ? ""
			    : "VXNlcm5hbWU6");	/* "Username:" */
	return true;
}

void
smtpd_sasl_line(struct smtpd_session *s, const struct lb_line *l)
{
	if (l->flags & LB_TOO_LONG) {
		s->sasl->discarding = l->end == LB_END_NONE;
		if (!s->sasl->discarding)
			refuse(s, 500, "5.5.6", "Authentication Exchange line is too long");
		return;
	}
	response(s, l->data, l->len);
}

/* ------------------------------------------------------------------ */
/* reject_sender_login_mismatch.                                      */

/* owns - is login among the owners (a list separated by , and space)? */
static bool
owns(const char *owners, const char *login)
{
	size_t	ll = strlen(login);

	for (const char *p = owners; *p;) {
		size_t	k;

		p += strspn(p, ", \t");
		k = strcspn(p, ", \t");
		if (k == ll && k > 0 && memcmp(p, login, k) == 0)
			return true;
		p += k;
	}
	return false;
}

/*
 * smtpd_sasl_mismatch - the verdict for sender given the table's answer
 * (r as lookup_get: 1 owners found, 0 none, -1 failure)
 */
void
smtpd_sasl_mismatch(const struct smtpd_session *s, const char *sender, int r,
		    const char *owners, struct smtpd_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (r < 0) {
		v->code = 451;
		(void) str_copy(v->dsn, sizeof(v->dsn), "4.3.0");
		(void) str_fmt(v->text, sizeof(v->text), "<%s>: Sender address rejected: "
			       "Server configuration error", sender);
		return;
	}
	if (s->sasl_username[0] == '\0' && r == 1) {
		v->code = 553;
		(void) str_copy(v->dsn, sizeof(v->dsn), "5.7.1");
		(void) str_fmt(v->text, sizeof(v->text), "<%s>: Sender address rejected: "
			       "not logged in", sender);
	} else if (s->sasl_username[0] && (r == 0 || !owns(owners, s->sasl_username))) {
		v->code = 553;
		(void) str_copy(v->dsn, sizeof(v->dsn), "5.7.1");
		(void) str_fmt(v->text, sizeof(v->text), "<%s>: Sender address rejected: "
			       "not owned by user %s", sender, s->sasl_username);
	}
}

struct sender_check {
	struct smtpd_session *s;
	char	sender[ADDR_CANON_MAX + 1];
	char	key[ADDR_CANON_MAX + 2];	/* the key being looked up */
	bool	domain_tried;
	smtpd_check_done_fn *done;
	struct lookup_call *call;
};

static void sender_looked_up(void *ctx, int r, const char *value, const char *why);

/* next_key - the address, then @domain; false when none is left */
static bool
next_key(struct sender_check *c)
{
	const char *at = strrchr(c->sender, '@');

	if (c->key[0] == '\0') {
		(void) str_copy(c->key, sizeof(c->key), c->sender);
		return true;
	}
	if (c->domain_tried || at == NULL)
		return false;
	c->domain_tried = true;
	(void) str_copy(c->key, sizeof(c->key), at);
	return true;
}

static void
sender_looked_up(void *ctx, int r, const char *value, const char *why)
{
	struct sender_check *c = ctx;
	struct smtpd_session *s = c->s;
	struct smtpd_verdict v;

	c->call = NULL;
	if (r == 0 && next_key(c)) {
		c->call = lookup_get_start("smtpd_sender_login_maps", c->key, 0,
					   sender_looked_up, c);
		return;
	}
	if (r < 0)
		smtpd_log(s, "warning: smtpd_sender_login_maps lookup of <%s> failed: %s",
			  c->key, why ? why : "");
	smtpd_sasl_mismatch(s, c->sender, r, r == 1 && value ? value : "", &v);
	s->sender_check = NULL;
	c->done(s, &v, c->sender);
	free(c);
}

bool
smtpd_sasl_sender_check(struct smtpd_session *s, const char *sender,
			struct smtpd_verdict *v, smtpd_check_done_fn *done)
{
	struct sender_check *c;

	memset(v, 0, sizeof(*v));
	if (*cfg->smtpd_sender_login_maps == '\0' || *sender == '\0')
		return true;			/* no table; <> is nobody's */
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->done = done;
	(void) str_copy(c->sender, sizeof(c->sender), sender);
	(void) next_key(c);
	s->sender_check = c;
	c->call = lookup_get_start("smtpd_sender_login_maps", c->key, 0,
				   sender_looked_up, c);
	return false;
}

void
smtpd_sasl_sender_cancel(struct smtpd_session *s)
{
	struct sender_check *c = s->sender_check;

	if (c == NULL)
		return;
	lookup_cancel(c->call);
	free(c);
	s->sender_check = NULL;
}
