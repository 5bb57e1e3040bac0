/*
 * NAME
 *	sandbox - a seccomp filter per daemon
 * SYNOPSIS
 *	#include "sandbox.h"
 *
 *	static const char *const syscalls[] = {
 *		"renameat", "unlinkat", "socket:inet", NULL
 *	};
 *	sandbox_enter("cleanup", syscalls, MASTER_STATUS_FD, generation);
 * DESCRIPTION
 *	sandbox_enter() installs a seccomp filter that lets the process
 *	make the system calls of sandbox_common[] (what every daemon on
 *	lib/svc/server.c does once it serves: I/O on its descriptors, memory,
 *	signals, time, the event loop, UNIX sockets, opening files in the
 *	jail) and those in calls, and nothing else.  An entry is a system
 *	call's name as the kernel's headers spell it, or one of
 *	"socket:unix", "socket:inet", "socket:inet6": socket() for that
 *	address family only; or "kill:probe": kill(pid, 0) only (is that
 *	process still there?), never a signal.  A name this kernel or libseccomp does not
 *	know is skipped (a newer call on an older system).  It is fatal
 *	when the filter cannot be installed.
 *
 *	A call outside the filter is trapped (SIGSYS).  The handler writes
 *	one master_status record, code MS_SECCOMP + the call's number, to
 *	status_fd (the master's status pipe) and kills the process with
 *	SIGSYS; the master logs the call by name ("process smtpd pid 123
 *	made system call execve (59), which its seccomp filter forbids").
 *
 *	sandbox_syscall_name() writes the name of system call nr into buf
 *	("#NR" when unknown) and returns buf.
 *
 *	To let a daemon make another call: add its name to the daemon's
 *	server_ops .syscalls (lib/svc/server.h), or, when every daemon needs it
 *	(a library all of them use), to sandbox_common[] in sandbox.c.  The
 *	whole test suite runs with the filters on: a missing call shows as
 *	a killed process and the master's log line naming it.
 * SECURITY
 *	Installed after the chroot and the privilege drop (no_new_privs is
 *	set by then), so the jail is set up with the full set of calls and
 *	the filter then takes away what an attacker who controls the
 *	process could use next: execve, new network sockets (where not
 *	declared), ptrace, mount, module and keyring calls, and the rest.
 *	Filters are per process and inherited across fork and execve:
 *	local, whose children become users and run their commands, is not
 *	filtered (nor is the master, which is not on this skeleton).
 */
#ifndef POSTERN_SANDBOX_H
#define POSTERN_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

extern const char *const sandbox_common[];

void	sandbox_enter(const char *who, const char *const *calls, int status_fd,
		      uint32_t generation);
char   *sandbox_syscall_name(int nr, char *buf, size_t size);

#endif
