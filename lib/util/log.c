/*
 * NAME
 *	log - logging to syslog, a mail log file and stderr
 * DESCRIPTION
 *	See log.h.  A process opens syslog and the mail log file before
 *	it chroots; both descriptors stay valid afterwards.  Each line is
 *	written to the file with one write() on an O_APPEND descriptor,
 *	so lines from many processes never interleave.
 * SECURITY
 *	Log text often carries client-supplied strings.  Control
 *	characters are replaced, so a client cannot make a line that a
 *	log reader (fail2ban, pflogsumm) takes for another event, nor send
 *	a terminal that shows the log an escape sequence (C1 controls,
 *	bytes that are not UTF-8: log_sanitize()).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "str.h"
#include "utf8.h"

#define ERROR_LIMIT	13

static char program[64] = "postern";
static char syslog_name[64] = "postern";
static char tag[160] = "postern/postern";
static char hostname[256] = "localhost";
static unsigned dest;
static int file_fd = -1;
static int reopen_sock = -1;		/* the master's descriptor channel */
static int error_count;
static void (*fatal_hook)(void);
static int syslog_open;

/*
 * The pid in every line, cached: getpid() is a system call per line in
 * glibc, and a busy daemon logs several lines per message.  The child
 * side of every fork() refreshes it.
 */
static long my_pid;

static void
refresh_pid(void)
{
	my_pid = (long) getpid();
}

pid_t
log_pid(void)
{
	return my_pid ? (pid_t) my_pid : getpid();
}

static void
make_tag(void)
{
	(void) str_fmt(tag, sizeof(tag), "%s/%s", syslog_name, program);
	if (syslog_open) {
		closelog();
		syslog_open = 0;
	}
	/*
	 * Syslog only when no mail log file is open (maillog_file replaces
	 * syslog, as in Postfix) and a syslog daemon is listening: with no
	 * /dev/log, the C library would try to reconnect on every line,
	 * three wasted system calls each.  LOG_NDELAY connects now, before
	 * any chroot.
	 */
	if ((dest & LOG_DEST_SYSLOG) && file_fd < 0 && access("/dev/log", W_OK) == 0) {
		openlog(tag, LOG_PID | LOG_NDELAY, LOG_MAIL);
		syslog_open = 1;
	}
}

void
log_init(const char *prog, unsigned d)
{
	const char *slash = strrchr(prog, '/');

	(void) str_copy(program, sizeof(program), slash ? slash + 1 : prog);
	dest = d;
	if (my_pid == 0)
		(void) pthread_atfork(NULL, NULL, refresh_pid);
	refresh_pid();
	if (gethostname(hostname, sizeof(hostname) - 1) < 0)
		(void) str_copy(hostname, sizeof(hostname), "localhost");
	hostname[strcspn(hostname, ".")] = '\0';	/* syslog shows the short name */
	tzset();			/* localtime_r() must work inside a chroot */
	make_tag();
}

void
log_set_syslog_name(const char *name)
{
	(void) str_copy(syslog_name, sizeof(syslog_name), name);
	make_tag();
}

void
log_set_dest(unsigned d)
{
	dest = d;
	make_tag();
}

unsigned
log_get_dest(void)
{
	return dest;
}

const char *
log_program(void)
{
	return program;
}

/*
 * open_log - open the mail log for appending.  A file made here gets
 * the mode and group of Debian's /var/log/mail.log (0640, group adm when
 * that group exists and we are root), so rotation and log readers see
 * the file they expect.
 */
static int
open_log(const char *path)
{
	int     flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
	int     fd;

	for (int tries = 0; tries < 3; tries++) {
		if ((fd = open(path, flags | O_CREAT | O_EXCL, 0640)) >= 0) {
			struct group *g;

			if (geteuid() == 0 && (g = getgrnam(LOG_FILE_GROUP)) != NULL)
				(void) !fchown(fd, (uid_t) -1, g->gr_gid);
			return fd;
		}
		if (errno != EEXIST)
			return -1;
		if ((fd = open(path, flags)) >= 0 || errno != ENOENT)
			return fd;
		/* removed between the two opens: make it again */
	}
	return -1;
}

int
log_open_file(const char *path)
{
	int     fd = open_log(path);

	if (fd < 0)
		return -1;
	if (file_fd >= 0)
		close(file_fd);
	file_fd = fd;
	make_tag();			/* the file replaces syslog */
	return 0;
}

int
log_reopen_file(const char *path)
{
	int     fd = open_log(path);

	if (fd < 0)
		return -1;
	if (file_fd < 0) {
		file_fd = fd;
		make_tag();
		return 0;
	}
	/* The same descriptor number from now on: nothing else changes. */
	if (dup3(fd, file_fd, O_CLOEXEC) < 0) {
		int     saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

int
log_send_file(int sock)
{
	union {
		char    buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	}       u;
	char    byte = 'L';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;
	ssize_t n;

	if (file_fd < 0) {
		errno = EBADF;
		return -1;
	}
	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &file_fd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/*
 * take_file - the SIGUSR1 handler: every descriptor the master queued
 * on the channel replaces the log file in turn (the last one stays).
 * recvmsg, dup3 and close are async-signal-safe; dup3 swaps the file
 * under the same descriptor number, so a line written meanwhile goes
 * whole to one file or the other.
 */
static void
take_file(int sig)
{
	int     saved = errno;

	(void) sig;
	for (;;) {
		union {
			char    buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		}       u;
		char    byte;
		struct iovec iov = {.iov_base = &byte, .iov_len = 1};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
		struct cmsghdr *c;
		int     fd;

		if (recvmsg(reopen_sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
			break;
		c = CMSG_FIRSTHDR(&msg);
		if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS
		    || c->cmsg_len != CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
		if (file_fd >= 0 && fd != file_fd)
			(void) dup3(fd, file_fd, O_CLOEXEC);
		close(fd);
	}
	errno = saved;
}

int
log_reopen_channel(int sock)
{
	struct sigaction sa;
	struct stat st;

	if (fstat(sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		errno = EBADF;
		return -1;
	}
	reopen_sock = sock;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = take_file;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

int
log_file_fd(void)
{
	return file_fd;
}

void
log_close_file(void)
{
	if (file_fd >= 0)
		close(file_fd);
	file_fd = -1;
	make_tag();
}

void
log_set_fatal_hook(void (*hook)(void))
{
	fatal_hook = hook;
}

/* unsafe_cp - a code point a log line must not carry as it is */
static bool
unsafe_cp(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)
	    || cp == 0x061c				/* Arabic letter mark */
	    || cp == 0x200e || cp == 0x200f		/* LRM, RLM */
	    || cp == 0x2028 || cp == 0x2029		/* line, paragraph separator */
	    || (cp >= 0x202a && cp <= 0x202e)		/* embeddings, overrides */
	    || (cp >= 0x2066 && cp <= 0x2069);		/* isolates */
}

size_t
log_sanitize(char *text, size_t n)
{
	size_t  r = 0, w = 0;

	while (r < n) {
		uint32_t cp;
		size_t  len = utf8_decode(text + r, n - r, &cp);

		if (len == 0 || unsafe_cp(cp)) {
			text[w++] = '?';
			r += len ? len : 1;
			continue;
		}
		memmove(text + w, text + r, len);
		w += len;
		r += len;
	}
	return w;
}

static const char *level_prefix[] = {"", "warning: ", "error: ", "fatal: ", "panic: "};
static const int level_prio[] = {LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_CRIT};

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char    text[LOG_LINE_MAX];
	char    line[LOG_LINE_MAX + 512];
	int     saved = errno;
	size_t  plen, n;
	int     r;

	plen = strlen(level_prefix[level]);
	memcpy(text, level_prefix[level], plen);
	errno = saved;			/* for %m */
	r = vsnprintf(text + plen, sizeof(text) - plen, fmt, ap);
	if (r < 0)
		(void) str_copy(text + plen, sizeof(text) - plen, "(unprintable log text)");
	else if ((size_t) r >= sizeof(text) - plen)
		memcpy(text + sizeof(text) - 4, "...", 4);
	n = log_sanitize(text, strlen(text));
	text[n] = '\0';

	if (syslog_open)
		syslog(level_prio[level], "%s", text);

	if (file_fd >= 0 || (dest & LOG_DEST_STDERR)) {
		struct timespec ts;
		struct tm tm;
		char    stamp[32];
		int     len;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		if (strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm) == 0)
			stamp[0] = '\0';
		if (file_fd >= 0) {
			len = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s\n",
				       stamp, hostname, tag, my_pid ? my_pid : (long) getpid(), text);
			if (len > 0)
				(void) !write(file_fd, line, (size_t) len < sizeof(line) ? (size_t) len : sizeof(line) - 1);
		}
		if (dest & LOG_DEST_STDERR) {
			len = snprintf(line, sizeof(line), "%s[%ld]: %s\n", tag, my_pid ? my_pid : (long) getpid(), text);
			if (len > 0)
				(void) !write(STDERR_FILENO, line, (size_t) len < sizeof(line) ? (size_t) len : sizeof(line) - 1);
		}
	}
	errno = saved;
}

static void
log_level_fmt(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_level_fmt(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_multiline(enum log_level level, const char *prefix, const char *text)
{
	if (level > LOG_L_ERROR)
		level = LOG_L_ERROR;
	while (*text) {
		size_t  n = strcspn(text, "\n");

		if (n > 0)
			log_level_fmt(level, "%s%.*s", prefix, (int) n, text);
		text += n;
		if (*text == '\n')
			text++;
	}
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_L_INFO, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_L_WARN, fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_L_ERROR, fmt, ap);
	va_end(ap);
	if (++error_count >= ERROR_LIMIT)
		log_fatal("too many errors (%d) - giving up", error_count);
}

void
log_fatal(const char *fmt, ...)
{
	static int busy;
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_L_FATAL, fmt, ap);
	va_end(ap);
	if (fatal_hook && !busy++)
		fatal_hook();
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_L_PANIC, fmt, ap);
	va_end(ap);
	abort();
}

void
log_rate_init(struct log_rate *r, unsigned burst, unsigned per_minute)
{
	r->tokens = burst;
	r->last_ms = 0;
	r->burst = burst;
	r->per_minute = per_minute;
	r->dropped = 0;
}

bool
log_rate_ok(struct log_rate *r, uint64_t now_ms)
{
	if (r->last_ms != 0 && now_ms > r->last_ms) {
		r->tokens += (double) (now_ms - r->last_ms) * r->per_minute / 60000.0;
		if (r->tokens > r->burst)
			r->tokens = r->burst;
	}
	r->last_ms = now_ms;
	if (r->tokens >= 1.0) {
		r->tokens -= 1.0;
		return true;
	}
	r->dropped++;
	return false;
}
