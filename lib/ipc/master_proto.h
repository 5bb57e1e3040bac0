/*
 * NAME
 *	master_proto - what the master and its children agree on
 * DESCRIPTION
 *	The master execs a daemon as
 *
 *	  COMMAND -c CONFIG_DIR -n SERVICE -t TYPE [-u] [-z] [-S]
 *		  [-o name=value]... [args]
 *
 *	with MASTER_STATUS_FD open on the service's status pipe and
 *	POSTERN_LISTEN_FDS listening descriptors starting at
 *	MASTER_LISTEN_FD.  POSTERN_GENERATION is the configuration
 *	generation the child belongs to.  POSTERN_CONFIG_FD names the
 *	descriptor holding that generation's main.cf, as validated by the
 *	master (a sealed snapshot, see config.h); the child reads main.cf
 *	from it, never from the file, so an edited but unchecked main.cf
 *	cannot reach a running suite.
 *
 *	POSTERN_LOG_FD, when set, names the child's log channel: an
 *	AF_UNIX datagram socket on which the master passes the reopened
 *	maillog_file (SCM_RIGHTS) before it sends SIGUSR1 (log.h).
 *
 *	The child writes struct master_status records (atomic: smaller
 *	than PIPE_BUF) to MASTER_STATUS_FD: MS_READY once it is
 *	initialised and serving, MS_BUSY / MS_IDLE around each client of a
 *	single-client server, MS_HEARTBEAT from event servers every
 *	MASTER_HEARTBEAT_MS.  A child heard from for longer than
 *	daemon_wedge_time is killed as wedged.  MS_SECCOMP plus a system
 *	call's number says the child made that call, which its seccomp
 *	filter forbids, and is dying of SIGSYS (sandbox.h).
 *
 *	The control socket (data_directory/master.ctl, root only) takes one
 *	MASTER_CTL_STATUS request and answers with MASTER_CTL_REPLY:
 *	repeated groups of records "service" (str), "command" (str), "pid"
 *	(num), "generation" (num), "state" (str), ending with "end" (num 0).
 *	MASTER_CTL_RELOAD (no records) makes the master reload at once;
 *	it answers MASTER_CTL_REPLY with "status" (num: 0 reloaded, 1
 *	refused), "generation" (num: the one in force afterwards),
 *	"reason" (str: every problem, one per line; empty when reloaded),
 *	"end" (num 0).
 */
#ifndef POSTERN_MASTER_PROTO_H
#define POSTERN_MASTER_PROTO_H

#include <stdint.h>

#define MASTER_STATUS_FD	3
#define MASTER_LISTEN_FD	4
#define MASTER_MAX_LISTEN	64
#define MASTER_HEARTBEAT_MS	5000

#define MASTER_ENV_GENERATION	"POSTERN_GENERATION"
#define MASTER_ENV_LISTEN_FDS	"POSTERN_LISTEN_FDS"
#define MASTER_ENV_CONFIG_FD	"POSTERN_CONFIG_FD"
#define MASTER_ENV_LOG_FD	"POSTERN_LOG_FD"

enum master_status_code {
	MS_READY = 1,
	MS_BUSY = 2,
	MS_IDLE = 3,
	MS_HEARTBEAT = 4,
	MS_SECCOMP = 0x10000,		/* + the number of a forbidden call (sandbox.h) */
};

struct master_status {
	uint32_t pid;
	uint32_t generation;
	uint32_t code;
};

#define MASTER_CTL_STATUS	1
#define MASTER_CTL_REPLY	2
#define MASTER_CTL_RELOAD	3

#endif
