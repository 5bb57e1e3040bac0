/*
 * NAME
 *	trigger - one-byte wake-ups through a FIFO
 * SYNOPSIS
 *	#include "trigger.h"
 *
 *	// cleanup, after a new file is in incoming/:
 *	if (trigger_once("public/qmgr", TRIGGER_WAKE) < 0 && errno != ENXIO)
 *		log_warn("cannot wake qmgr: %m");
 *
 *	// qmgr, when its FIFO is readable:
 *	char codes[64];
 *	int n = trigger_read(fd, codes, sizeof(codes));
 * DESCRIPTION
 *	cleanup wakes qmgr, postdrop wakes pickup, and postqueue -f asks
 *	qmgr to flush, each by writing one byte to the reader's FIFO
 *	(public/qmgr, public/pickup).  The byte says what to do:
 *
 *	TRIGGER_WAKE	'W'  new mail: look at incoming/ (or maildrop/)
 *	TRIGGER_FLUSH	'F'  deliver the deferred queue now
 *	TRIGGER_SCAN	'S'  rescan the whole queue
 *
 *	A reader must treat any other byte as TRIGGER_WAKE: a FIFO in
 *	public/ can be written by local users.
 *
 *	trigger_open() opens fifo_path for writing, non-blocking and
 *	close-on-exec, without following a symlink, and checks with
 *	fstat() that it is a FIFO.  It returns the descriptor, or -1 with
 *	errno: ENXIO when no reader has the FIFO open (the daemon is not
 *	running; worth a debug note at most, since the daemon scans its
 *	queue when it starts), ELOOP for a symlink, EPERM for anything
 *	that is not a FIFO with one link, or the error of open().
 *
 *	trigger_send() writes one byte.  EAGAIN, a full FIFO, counts as
 *	success: the reader has wake-ups waiting already.  It returns 0,
 *	or -1 with errno (EPIPE when the reader went away; SIGPIPE is
 *	neither raised nor left pending).  A process found ignoring
 *	SIGPIPE (every daemon does, for life) is not asked again: its
 *	sends are one write() each.  Such a process must not stop
 *	ignoring SIGPIPE and then call trigger_send().
 *
 *	trigger_once() is trigger_open(), trigger_send() and close().
 *
 *	trigger_listen() makes the reader's FIFO at fifo_path with
 *	exactly mode (the umask is set around mkfifo(); nothing changes
 *	owner or mode by name afterwards) and opens it read-write,
 *	non-blocking and close-on-exec.  Whatever was at fifo_path is
 *	removed first without following it (sf_clear_path(); a directory
 *	is refused).  The open does not follow a link, and fstat() must
 *	then show a FIFO with one link, owned by the effective uid, with
 *	mode: else -1 with errno EPERM (something was put in its place
 *	between mkfifo() and open()).  It returns the descriptor or -1.
 *	The FIFO belongs to the caller's effective ids: the master calls
 *	it as mail_owner (priv_as_begin()), who owns public/ and private/.
 *
 *	trigger_read() reads the bytes waiting in fd, at most max, into
 *	codes without ever blocking (the descriptor may be in blocking
 *	mode) and returns how many, possibly 0; -1 with errno on a read
 *	error.  A reader calls it again while it returns max.  A reader
 *	opens its FIFO read-write, so that it never sees end-of-file when
 *	the last writer closes.
 */
#ifndef POSTERN_TRIGGER_H
#define POSTERN_TRIGGER_H

#include <stddef.h>
#include <sys/types.h>

#define TRIGGER_WAKE	'W'
#define TRIGGER_FLUSH	'F'
#define TRIGGER_SCAN	'S'

int	trigger_open(const char *fifo_path);
int	trigger_send(int fd, char code);
int	trigger_once(const char *fifo_path, char code);
int	trigger_read(int fd, char *codes, size_t max);
int	trigger_listen(const char *fifo_path, mode_t mode);

#endif
