/*
 * NAME
 *	server - the skeleton every postern daemon runs on
 * SYNOPSIS
 *	#include "server.h"
 *
 *	static const struct server_ops ops = {
 *		.model = SERVER_EVENT,
 *		.pre_jail = smtpd_pre_jail,	// as root: open keys, tables
 *		.post_jail = smtpd_post_jail,	// unprivileged
 *		.start = smtpd_start,		// register accept watchers
 *		.stop = smtpd_stop,		// SIGTERM: stop accepting
 *	};
 *	int main(int argc, char **argv) { return server_main(argc, argv, &ops); }
 * DESCRIPTION
 *	server_main() does, in this order and in one place for all
 *	daemons: parse the master's arguments (master_proto.h), refuse to
 *	run without the master's status descriptor, load main.cf with the -o overrides, open logging (syslog,
 *	maillog_file, stderr with -S), chdir to the queue directory, run
 *	ops->pre_jail as root, chroot (-z) and drop to mail_owner (-u)
 *	through priv_drop(), run ops->post_jail, report MS_READY, and then
 *	serve:
 *
 *	SERVER_SINGLE: one client at a time.  Waits on every listening
 *	descriptor; for each accepted connection reports MS_BUSY, calls
 *	ops->serve(fd) (the skeleton closes fd afterwards) and reports
 *	MS_IDLE.  Exits after max_use clients or max_idle seconds without
 *	one.  SIGTERM: exit at once when idle, else after the current
 *	client.
 *
 *	SERVER_EVENT: creates the event loop, arms a heartbeat timer
 *	(MS_HEARTBEAT), calls ops->start(loop) and runs the loop.  SIGTERM
 *	calls ops->stop(loop) (the daemon stops accepting and calls
 *	server_exit() once it holds nothing; the skeleton closes the
 *	listening descriptors after stop returns).  Without ops->stop,
 *	SIGTERM exits at once.
 *
 *	Privilege is data: each daemon's ops say what it may be, and the
 *	skeleton refuses to run outside that.  allow_root: it runs as
 *	root (local only; refused with -u), and every other daemon
 *	started without -u is refused: postern never runs internet-facing
 *	code as root.  chroot: SERVER_CHROOT_MUST refuses to run without
 *	-z, SERVER_CHROOT_NEVER with it.  talks: the sockets and FIFOs it
 *	connects to, relative to the queue directory ("private/cleanup",
 *	"public/qmgr"; a prefix ending in an asterisk stands for every
 *	name that starts with it; "$name" stands for the endpoints the
 *	value of main.cf parameter name names, reach_endpoints(), for
 *	one the administrator chooses, as smtpd's "$smtpd_sasl_path";
 *	"$pattern" with an asterisk, for those of every parameter that
 *	matches, as smtpd's "$smtpd_*_restrictions", the sockets of
 *	check_policy_service); anything else is refused
 *	at connect time (reach.h).  params: the main.cf parameters it reads besides
 *	the skeleton's own (SERVER_COMMON_PARAMS); a master.cf -o for any
 *	other is refused at start.
 *
 *	"DAEMON -D" prints the declaration (server_declare()) and exits,
 *	before anything else: postern check holds master.cf against it
 *	(lib/svc/daemon_decl.h), and a test holds SECURITY.md's privilege
 *	table against it.  The lines are:
 *	  postern-daemon NAME
 *	  model single|event
 *	  user root|mail_owner
 *	  chroot may|must|never
 *	  talks ENDPOINT...
 *	  params NAME...		(the common ones included)
 *	  seccomp off | seccomp CALL...	(sandbox_common[] not repeated)
 *
 *	syscalls: when not NULL, the skeleton installs a seccomp filter
 *	(sandbox.h) once the daemon is jailed and set up, just before it
 *	reports ready: single-client daemons before the first client,
 *	event daemons after ops->start.  A call outside sandbox_common[]
 *	and syscalls kills the process, and the master logs which call.
 *
 *	A single-client daemon whose clients send several requests on one
 *	connection (cleanup, local) waits for each request after the
 *	first with server_wait_request(fd, timeout_ms): SIGTERM, blocked
 *	while serve() runs, is let through during that wait only (so a
 *	process holding an idle kept connection still stops at once,
 *	and never in the middle of a request); while a connection is
 *	held a heartbeat goes to the master every MASTER_HEARTBEAT_MS,
 *	so a long-lived connection is not taken for a wedged process.
 *	It returns 1 when fd is readable (a request, or the client's
 *	EOF), 0 when serve() must end the connection: SIGTERM came
 *	(server_stopping() is then true) or timeout_ms passed (errno
 *	ETIMEDOUT); -1 on a poll error.  server_use_request() counts one
 *	more request towards max_use and returns false when the process
 *	has served its max_use and should end the connection (after the
 *	reply, never before): a daemon whose clients retry a request on
 *	a new connection when a kept one closes (cleanup's) calls it;
 *	one whose client does not (local's) leaves max_use to count
 *	connections.
 *
 *	Helpers for the daemon: server_listen_count()/server_listen_fd(i),
 *	server_service() (master.cf service name), server_generation(),
 *	server_loop() (event model), server_stopping(), server_exit(code)
 *	(runs ops->on_exit, then exit), server_progress() (a heartbeat now),
 *	server_foreground() (-S given), server_argc()/server_argv() (the
 *	service's own arguments from master.cf, after the options),
 *	server_config_dir() (-c: where main.cf and master.cf are).
 */
#ifndef POSTERN_SERVER_H
#define POSTERN_SERVER_H

#include <stdbool.h>

#include "event.h"

enum server_model { SERVER_SINGLE, SERVER_EVENT };

/* Where a daemon may run (master.cf's chroot column must agree). */
enum server_chroot {
	SERVER_CHROOT_MAY,		/* either */
	SERVER_CHROOT_MUST,		/* only in the queue directory */
	SERVER_CHROOT_NEVER,		/* never (it needs files outside) */
};

struct server_ops {
	enum server_model model;
	bool	allow_root;		/* runs as root (local); all others never */
	enum server_chroot chroot;
	const char *const *talks;	/* endpoints it connects to (reach.h), NULL-ended */
	const char *const *params;	/* main.cf parameters it reads besides
					 * SERVER_COMMON_PARAMS; "x_*" and "*_x"
					 * stand for families; NULL-ended */
	const char *const *syscalls;	/* seccomp: calls it makes while it serves,
					 * besides sandbox_common[]; NULL-ended;
					 * NULL: no filter (sandbox.h) */
	void	(*pre_jail)(void);
	void	(*post_jail)(void);
	void	(*serve)(int fd);			/* SERVER_SINGLE */
	void	(*start)(struct ev_loop *loop);		/* SERVER_EVENT */
	void	(*stop)(struct ev_loop *loop);		/* SERVER_EVENT */
	void	(*on_exit)(void);
};

/* Read by the skeleton for every daemon. */
#define SERVER_COMMON_PARAMS \
	"queue_directory", "mail_owner", "syslog_name", "maillog_file", \
	"max_use", "max_idle"

int	server_main(int argc, char **argv, const struct server_ops *ops);
void	server_declare(const struct server_ops *ops, const char *name);
int	server_listen_count(void);
int	server_listen_fd(int i);
const char *server_service(void);
unsigned server_generation(void);
struct ev_loop *server_loop(void);
bool	server_stopping(void);
bool	server_foreground(void);
int	server_argc(void);
char  **server_argv(void);
const char *server_config_dir(void);
void	server_progress(void);
int	server_wait_request(int fd, int timeout_ms);
bool	server_use_request(void);
_Noreturn void server_exit(int code);

#endif
