/*
 * NAME
 *	log - logging to syslog, a mail log file and stderr
 * SYNOPSIS
 *	#include "log.h"
 *
 *	log_init("smtpd", LOG_DEST_SYSLOG | LOG_DEST_STDERR);
 *	log_open_file("/var/log/postern.log");	// before chroot
 *	log_info("%s: from=<%s>, size=%zu, nrcpt=%d", qid, from, size, n);
 * DESCRIPTION
 *	One line per event, tagged "SYSLOG_NAME/PROGRAM[PID]:" where
 *	SYSLOG_NAME is "postern" unless log_set_syslog_name() changes it
 *	(main.cf syslog_name).  Lines go to the mail log file when one is
 *	open (main.cf maillog_file; the same "Mon DD HH:MM:SS host
 *	tag[pid]: text" lines as a syslog file), otherwise to syslog
 *	(facility mail) when a syslog daemon listens on /dev/log, and to
 *	stderr when LOG_DEST_STDERR is set (foreground).
 *
 *	Levels have one meaning each:
 *	log_info   normal events.
 *	log_warn   bad input or a condition worth attention; go on.
 *		   Prefixed "warning: ".
 *	log_error  a real error; go on, but after 13 of them the process
 *		   gives up (fatal).  Prefixed "error: ".
 *	log_fatal  the environment failed (no memory, missing file, lost
 *		   peer): run the fatal hook, exit(1).  The master restarts
 *		   the process, with throttling.  Prefixed "fatal: ".
 *	log_panic  our own bug (an impossible state): abort() for a core.
 *		   Prefixed "panic: ".
 *	None appends errno by itself: write "%m" in the format.
 *
 *	Text is sanitised before output by log_sanitize(), and a line is
 *	cut at LOG_LINE_MAX bytes.  Never pass mail data as the format:
 *	log_info("%s", text).
 *
 *	log_sanitize() makes text[0..n) printable in place and returns
 *	its new length: C0 controls and DEL (with which an attacker could
 *	forge extra log lines) become '?'; so does every C1 control,
 *	U+0080..U+009F, in UTF-8 form (U+009B is CSI: a terminal that
 *	shows the log would take it as the start of an escape sequence),
 *	every byte that is not part of well-formed UTF-8 (0x80..0x9F on
 *	their own are C1 controls to an 8-bit terminal), and the Unicode
 *	line and paragraph separators and bidirectional controls (which
 *	make a viewer show text in another order than it is).  Other
 *	UTF-8 (an SMTPUTF8 address) stays as it is.
 *
 *	log_multiline() logs each line of a multi-line text (a list of
 *	configuration problems, say) as its own log line, after prefix.
 *	It never counts as log_error() and is never fatal: level is only
 *	the line's prefix.
 *
 *	log_pid() is the process id the lines carry, cached (getpid() is
 *	a system call) and refreshed in the child of every fork(): for
 *	code that needs its pid per message (queue IDs, temporary and
 *	maildir file names, status records to the master).
 *
 *	Rotation: log_reopen_file() opens the mail log file again by its
 *	name and puts the new file under the same descriptor (the master
 *	does this on SIGUSR1; a chrooted, unprivileged daemon cannot).
 *	log_send_file() passes the open log file over a datagram socket
 *	(SCM_RIGHTS); log_reopen_channel() makes SIGUSR1 take every
 *	descriptor waiting on that socket as the new log file.  The master
 *	keeps one such socket per child, so "postern logrotate" reaches
 *	every process without any of them opening a path.  A log file made
 *	here is mode 0640, group LOG_FILE_GROUP ("adm", as Debian's
 *	/var/log/mail.log) when the process is root and the group exists.
 *
 *	log_rate_ok() is a token bucket for rate-limiting the log lines
 *	caused by one abusive client: at most burst lines, refilled at
 *	per_minute lines a minute.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LOG_DEST_SYSLOG	0x1
#define LOG_DEST_STDERR	0x2

#define LOG_LINE_MAX	2048
#define LOG_FILE_GROUP	"adm"

enum log_level { LOG_L_INFO, LOG_L_WARN, LOG_L_ERROR, LOG_L_FATAL, LOG_L_PANIC };

void	log_init(const char *program, unsigned dest);
void	log_set_syslog_name(const char *name);
void	log_set_dest(unsigned dest);
unsigned log_get_dest(void);
int	log_open_file(const char *path);
void	log_close_file(void);
int	log_reopen_file(const char *path);
int	log_send_file(int sock);
int	log_reopen_channel(int sock);
int	log_file_fd(void);
void	log_set_fatal_hook(void (*hook)(void));
const char *log_program(void);
pid_t	log_pid(void);

void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_vmsg(enum log_level level, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
void	log_multiline(enum log_level level, const char *prefix, const char *text);
size_t	log_sanitize(char *text, size_t n);

struct log_rate {
	double	tokens;
	uint64_t last_ms;
	unsigned burst;
	unsigned per_minute;
	unsigned dropped;	/* lines suppressed since the last one let through */
};

void	log_rate_init(struct log_rate *r, unsigned burst, unsigned per_minute);
bool	log_rate_ok(struct log_rate *r, uint64_t now_ms);

#endif
