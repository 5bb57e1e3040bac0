/*
 * NAME
 *	mastercf - the master.cf service table
 * SYNOPSIS
 *	#include "mastercf.h"
 *
 *	struct mastercf mc;
 *	if (mastercf_load("/etc/postern/master.cf", cfg, &mc, &err) < 0)
 *		... err holds "FILE, line N: problem" lines ...
 * DESCRIPTION
 *	Each service line has eight or more white-space separated fields:
 *
 *	  service type private unpriv chroot wakeup maxproc command [args]
 *
 *	  service  inet: [host:]port, where host is an IPv4 address, a
 *		   bracketed IPv6 address or a name, and port a number or a
 *		   name from /etc/services ("smtp", "127.0.0.1:2525",
 *		   "[::1]:2525"); without a host the service listens on
 *		   main.cf inet_interfaces.  unix, fifo, pass: a name
 *		   (letters, digits, '-', '_', '.') of a socket or fifo in
 *		   public/ or private/ under the queue directory.
 *	  type	   inet | unix | fifo | pass
 *	  private  y | n | -	(default y; inet services are never private)
 *	  unpriv   y | n | -	(default y: run as mail_owner; n: stay root)
 *	  chroot   y | n | -	(default y: chroot to the queue directory)
 *	  wakeup   seconds, optionally ending in '?' (wake only if used),
 *		   or 0 / -	(default 0: never)
 *	  maxproc  number | -	(default main.cf default_process_limit);
 *		   0 means no limit.  For an event-driven daemon (smtpd,
 *		   qmgr, lookup, pickup) it is the number of processes kept
 *		   running, each serving many clients, and "-" means one per
 *		   CPU the master may run on (maxproc_default is set).
 *	  command  a program name in daemon_directory (no '/'), then its
 *		   arguments; "-o name=value" arguments override main.cf
 *		   for that service only and are checked like main.cf.
 *
 *	Lines starting with white space continue the previous line; blank
 *	lines and '#' comments are ignored.  Two lines with the same
 *	service name and type are an error.
 *
 *	mastercf_load() returns 0, or -1 after appending every problem to
 *	err as "FILE, line N: what is wrong" (out is then empty).  It does
 *	not bind or create anything.  mastercf_free() releases the table.
 *	p supplies default_process_limit; when p is NULL the built-in
 *	default of params.def is used.  An inet service named by a port
 *	name is looked up with getservbyname(name, "tcp") at load time.
 *	Two inet services on the same host and port (for example "smtp"
 *	and "25"), and two unix/fifo/pass services that would use the same
 *	name in the same directory, are duplicates too.
 * BOUNDS
 *	MASTERCF_FILE_MAX bytes; logical lines of CONFIG_LINE_MAX bytes;
 *	MASTERCF_SERVICES_MAX services; MASTERCF_ARGS_MAX command
 *	arguments and as many -o options per service; wakeup at most
 *	MASTERCF_WAKEUP_MAX seconds; maxproc at most MASTERCF_MAXPROC_MAX;
 *	unix/fifo/pass names of MASTERCF_NAME_MAX bytes.
 */
#ifndef POSTERN_MASTERCF_H
#define POSTERN_MASTERCF_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "params.h"

#define MASTERCF_FILE_MAX	(1024 * 1024)
#define MASTERCF_SERVICES_MAX	1000
#define MASTERCF_ARGS_MAX	100
#define MASTERCF_WAKEUP_MAX	86400
#define MASTERCF_MAXPROC_MAX	10000
#define MASTERCF_NAME_MAX	64

enum svc_type { SVC_INET, SVC_UNIX, SVC_FIFO, SVC_PASS };

struct mastercf_entry {
	char   *name;		/* service field as written */
	enum svc_type type;
	bool	private_;
	bool	unpriv;
	bool	chroot;
	int	wakeup;		/* seconds; 0 = never */
	bool	wakeup_if_used;	/* the '?' suffix */
	int	maxproc;	/* 0 = no limit */
	bool	maxproc_default; /* "-": event daemons run one per CPU */
	char   *host;		/* inet: address or name; NULL = inet_interfaces */
	char   *port;		/* inet: numeric port as a string */
	char  **argv;		/* argv[0] = command; NULL-terminated */
	int	argc;
	char  **overrides;	/* "name=value" from -o; NULL-terminated */
	int	n_overrides;
	int	line;		/* line number in master.cf */
};

struct mastercf {
	struct mastercf_entry *v;
	size_t	n;
};

int	mastercf_load(const char *path, const struct params *p,
		      struct mastercf *out, struct buf *err);
void	mastercf_free(struct mastercf *mc);
const char *mastercf_type_name(enum svc_type t);

#endif
