/*
 * NAME
 *	pickup.h - pickup's internal interfaces
 * SYNOPSIS
 *	#include "pickup.h"
 *
 *	struct pickup_msg m;
 *	char why[256];
 *	switch (pickup_load(fd, "example.com", rcpt_max, size_max, &m, why, sizeof(why))) {
 *	case 0:  ... cleanup_submit(&m.cenv, fd, &res) ...; pickup_msg_free(&m);
 *	case PICKUP_BAD: ... malformed: move the file aside, log why ...
 *	case PICKUP_IO:  ... read error: leave it, log why ...
 *	}
 * DESCRIPTION
 *	pickup_load() (pickup_file.c) reads and checks one maildrop file
 *	through fd with qfile_read(QF_MAILDROP) and turns it into the
 *	envelope cleanup wants (m->cenv, whose strings point into m):
 *	  - uid: the file's owner from fstat(), never a record;
 *	  - flags: CLEANUP_F_LOCAL, plus CLEANUP_F_EXTRACT for flags=t;
 *	  - sender: the S record when flags= has f (sendmail -f; "" is
 *	    the null sender), otherwise LOGIN@myorigin with the login=
 *	    attribute postdrop wrote (quoted when it is not a dot-atom);
 *	  - fullname, envid and ret from their attributes; protocol
 *	    "local"; the recipients with their O and N records;
 *	  - offset and length: the M record's data.
 *	Attributes other than those postdrop writes, a flags= letter other
 *	than t and f, a missing login=, an unusable login name, and a
 *	file without recipients and without flags=t are malformed.
 *	Bounds: recipients at most rcpt_max, the message at most size_max
 *	bytes (0: QFILE_BODY_ABS_MAX), addresses and attributes as
 *	maildrop.h says.
 *	Returns 0, PICKUP_BAD (malformed: why says what) or PICKUP_IO (an
 *	I/O error, not the file's fault).  pickup_msg_free() releases m
 *	(harmless on a failed load).
 */
#ifndef POSTERN_PICKUP_H
#define POSTERN_PICKUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "buf.h"
#include "cleanup_clnt.h"
#include "qfile.h"

#define PICKUP_BAD	(-1)
#define PICKUP_IO	(-2)

struct pickup_msg {
	struct qfile_env env;
	struct cleanup_envelope cenv;
	struct cleanup_rcpt_in *rcpts;
	uid_t	uid;
	char	sender[2 * ADDR_LOCAL_MAX + 3 + 1 + 1024];	/* login@myorigin, quoted */
};

int	pickup_load(int fd, const char *myorigin, size_t rcpt_max, uint64_t size_max,
		    struct pickup_msg *m, char *why, size_t whylen);
void	pickup_msg_free(struct pickup_msg *m);
int	pickup_notice_compose(struct buf *out, const char *hostname, const char *sender,
			      unsigned long uid, const char *reason, const char *hdr,
			      size_t hdr_len, size_t size_limit);

#endif
