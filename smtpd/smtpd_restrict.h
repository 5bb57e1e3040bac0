/*
 * NAME
 *	smtpd_restrict.h - what the files of smtpd's restrictions share
 * SYNOPSIS
 *	#include "smtpd_restrict.h"
 * DESCRIPTION
 *	Private to smtpd_restrict.c (the lists and their evaluation),
 *	smtpd_access.c (check_*_access and access table results),
 *	smtpd_dnsbl.c (DNS lists and domain existence) and
 *	smtpd_policy.c (check_policy_service).
 *
 *	An evaluation (struct smtpd_check, one per session at a time)
 *	walks the lists a command needs, restriction by restriction.  A
 *	restriction's function answers SMTPD_R_DUNNO (go on), SMTPD_R_OK
 *	(this list permits: on to the next list), SMTPD_R_REJECT (c->v
 *	holds the reply, made with smtpd_check_reject()), or SMTPD_R_WAIT:
 *	it started a lookup, a DNS query or a policy request, set
 *	c->cancel and c->cancel_arg, and will call smtpd_check_resume(c,
 *	outcome) from the loop when the answer is in.  Nothing blocks.
 *
 *	SMTPD_R_PUSH: an access table's result named restrictions, or the
 *	word was a restriction class (smtpd_check_push() put the list in
 *	c->push_r, c->push_n, with the stage that names its replies in
 *	c->push_stage); the walk evaluates
 *	them as a list of their own (a frame, up to SMTPD_FRAMES deep),
 *	with waits like any word's, and that list's outcome (a permit, a
 *	rejection, or no opinion at its end) is the outcome of the word
 *	whose result it was.
 */
#ifndef POSTERN_SMTPD_RESTRICT_H
#define POSTERN_SMTPD_RESTRICT_H

#include <stdarg.h>

#include "restriction.h"
#include "smtpd.h"

#define SMTPD_R_DUNNO	0
#define SMTPD_R_OK	1
#define SMTPD_R_REJECT	2
#define SMTPD_R_WAIT	3
#define SMTPD_R_PUSH	4

#define SMTPD_FRAMES	16		/* access results naming restrictions, nested */

#define SMTPD_ACCESS_KEYS	16	/* keys of one access lookup */

struct smtpd_rlist {
	const char *param;		/* main.cf name (a class's name) */
	struct restriction *r;
	size_t	n;
	struct table **local;		/* per entry: a table read whole, or NULL */
};

struct smtpd_rlist;

struct smtpd_frame {
	const struct smtpd_rlist *class; /* a restriction class, or NULL: */
	struct restriction *r;		/* owned when not a class's */
	size_t	n, i;			/* i: the word under way */
	enum smtpd_stage stage;		/* its replies name this */
};

struct smtpd_check {
	struct smtpd_session *s;
	enum smtpd_when when;
	enum smtpd_stage seq[SMTPD_STAGES + 1];
	size_t	nseq, si, ri;
	enum smtpd_stage stage;		/* of the list being walked */
	const struct restriction *cur;	/* the restriction under way */
	struct table *cur_table;	/* its table, when read whole */
	char	addr[ADDR_CANON_MAX + 1];	/* RCPT or VRFY address */
	bool	warn_armed;		/* the last word was warn_if_reject */
	bool	unlisted_done;		/* reject_unlisted_recipient ran */
	struct smtpd_verdict defer_if_permit;	/* code 0: none */
	struct smtpd_verdict defer_if_reject;
	struct smtpd_verdict v;		/* the reply of a rejection */
	smtpd_check_done_fn *done;
	bool	waiting;		/* done is called, not returned */
	void	(*cancel)(void *arg);	/* what to call to abandon the wait */
	void   *cancel_arg;
	int	depth;			/* access results naming restrictions */
	struct smtpd_frame frames[SMTPD_FRAMES];
	size_t	nframes;
	struct restriction *push_r;	/* SMTPD_R_PUSH: the list to enter, */
	size_t	push_n;
	const struct smtpd_rlist *push_class;	/* or the class */
	enum smtpd_stage push_stage;
	bool	nested_warn;		/* warn_if_reject inside a frame */
};

extern struct smtpd_rlist smtpd_rlists[SMTPD_STAGES];

/* smtpd_restrict.c */
int	smtpd_check_reject(struct smtpd_check *c, int code, const char *dsn,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	smtpd_check_resume(struct smtpd_check *c, int outcome);
void	smtpd_check_wait(struct smtpd_check *c, void (*cancel)(void *), void *arg);
int	smtpd_check_word(struct smtpd_check *c, enum restriction_code code,
			 const char *arg, struct table *local);
const char *smtpd_check_name(const struct smtpd_check *c, char *buf, size_t len);
const char *smtpd_check_class(const struct smtpd_check *c);
void	smtpd_check_log(const struct smtpd_check *c, const char *what,
			const char *text);
void	smtpd_check_action(struct smtpd_check *c, unsigned flag, const char *arg);
const char *smtpd_check_rcpt_addr(const struct smtpd_check *c);

int	smtpd_check_server_error(struct smtpd_check *c);
int	smtpd_check_push(struct smtpd_check *c, struct restriction *l, size_t n);

/* smtpd_access.c */
int	smtpd_access(struct smtpd_check *c, enum restriction_code code,
		     const char *spec, struct table *local);
int	smtpd_access_result(struct smtpd_check *c, const char *value,
			    const char *origin);

/* smtpd_dnsbl.c */
int	smtpd_dnsbl(struct smtpd_check *c, enum restriction_code code,
		    const char *zone);
int	smtpd_domain_check(struct smtpd_check *c, enum restriction_code code);
bool	smtpd_dns_needed(enum restriction_code code);

/* smtpd_policy.c */
int	smtpd_policy(struct smtpd_check *c, const char *endpoint);
int	smtpd_policy_init(const char *endpoint, char *why, size_t whylen);
void	smtpd_policy_end(void);

#endif
