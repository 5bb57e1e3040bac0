/*
 * NAME
 *	sd_notify - tell the service manager how the suite is doing
 * SYNOPSIS
 *	#include "sd_notify.h"
 *
 *	sd_notify_send("READY=1\nSTATUS=accepting mail");
 * DESCRIPTION
 *	systemd's readiness protocol without libsystemd: when the process
 *	was started with NOTIFY_SOCKET in its environment (a unit of
 *	Type=notify), each call sends STATE as one datagram to that
 *	AF_UNIX socket (a path, or an abstract name written with a
 *	leading '@').  Without NOTIFY_SOCKET it does nothing and returns
 *	0, so callers need not know whether a service manager listens.
 *	The master sends READY=1 once every process reported ready,
 *	RELOADING=1 then READY=1 around a reload, STOPPING=1 at stop.
 *
 *	Returns 0 when sent (or nothing to send to), -1 with errno set
 *	when the socket named is unusable; a failure changes nothing else.
 */
#ifndef POSTERN_SD_NOTIFY_H
#define POSTERN_SD_NOTIFY_H

int	sd_notify_send(const char *state);

#endif
