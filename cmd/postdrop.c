/*
 * NAME
 *	postdrop - put one locally submitted message into the maildrop queue
 * SYNOPSIS
 *	postdrop [-c config_dir] < records
 * DESCRIPTION
 *	sendmail(1) runs postdrop and writes the message to its standard
 *	input as maildrop records (docs/INTERNALS.md, "Maildrop files";
 *	lib/mail/maildrop.h): V T A* S ([O] [N] R)* M... E.  postdrop checks
 *	every record as it arrives and writes them to
 *	maildrop/t.RANDOM (RANDOM: 128 bits from getrandom(), in hex),
 *	with its own arrival time instead of the caller's, the caller's
 *	login name as the attribute login= (from the real uid; a login=
 *	in the input is refused), and the message's M records joined
 *	into one.  At the end of the input it renames the file to
 *	maildrop/RANDOM, syncs it to disk, wakes pickup through the FIFO
 *	public/pickup (a mail system that is not running is not an error:
 *	the file waits, and pickup takes it when it starts), and exits 0.
 *	Any failure removes the file and exits non-zero, so exit status 0
 *	means the message is safely on disk.
 *
 *	Attributes accepted from the caller: flags= (letters t: take the
 *	recipients from the headers; f: S is the -f sender), fullname=,
 *	body=, ret=, envid=, each at most once.
 *	-v	accepted, as Postfix's postdrop accepts it; changes nothing.
 * EXIT STATUS
 *	0 the message is in maildrop/; 64 bad usage; 65 malformed input
 *	or a message larger than message_size_limit; 67 the real uid has
 *	no login name; 75 the file could not be written (try again); 77
 *	the caller may not submit mail or may not name that configuration
 *	directory; 78 main.cf is broken or the queue is not set up.
 * SECURITY
 *	postdrop is the only set-group-id program of postern: mode 2755,
 *	owner root, group setgid_group ("postdrop"), the one group that
 *	may write maildrop/ (mode 1730, owner mail_owner).  Whatever runs
 *	it controls its arguments, environment, descriptors, signals,
 *	limits, working directory and standard input, so before anything
 *	else it:
 *	  - makes sure descriptors 0, 1 and 2 are open (to /dev/null when
 *	    they were not, so no file it opens can become stdout) and
 *	    closes every other one;
 *	  - resets every signal's disposition and the signal mask;
 *	  - sets the umask to 077;
 *	  - clears the environment, keeping only a TZ that names no file
 *	    (MAIL_CONFIG is read first, see below);
 *	  - changes to "/", so nothing is ever opened relative to the
 *	    caller's working directory (a DB_CONFIG or main.cf planted
 *	    there is never read: CVE-2017-10140).
 *	The configuration directory is SYSCONFDIR unless -c DIR or the
 *	MAIL_CONFIG environment variable names another one.  root may
 *	name any; any other caller only a directory that is listed in
 *	alternate_config_directories of SYSCONFDIR/main.cf, or a trusted
 *	directory: an absolute path whose every component, the directory
 *	itself and its main.cf are owned by root and writable by neither
 *	group nor others (a world-writable directory with the sticky bit,
 *	such as /tmp, is allowed above it).  This is how an instance made
 *	by "postern init" in a temporary directory works for its users.
 *	Anything else is refused (77) with a message that says which
 *	component failed.  Only then are main.cf and the queue directory
 *	used.
 *
 *	Every record is checked before it is written (lib/mail/maildrop.c):
 *	order, lengths, counts, control characters; the message at most
 *	message_size_limit bytes, the recipients at most
 *	sendmail_recipient_limit.  The caller is allowed when its login
 *	name is in authorized_submit_users (root always is).
 *
 *	The file is created with O_CREAT | O_EXCL | O_NOFOLLOW and mode
 *	0644 (pickup runs as mail_owner and reads it as "other"; nobody
 *	else can reach it, maildrop/ being 1730), and its name cannot be
 *	guessed.  The file belongs to the caller: pickup takes the
 *	submitting uid from its owner, never from a record.  SIGHUP,
 *	SIGINT, SIGQUIT, SIGTERM and SIGXFSZ remove the file before
 *	postdrop exits; a SIGKILL leaves maildrop/t.RANDOM, which pickup
 *	removes after maildrop_grace_time and never delivers.
 * BUGS
 *	Durability: maildrop/ is not readable by the postdrop group, so a
 *	caller other than root cannot open it to fsync it.  postdrop
 *	fsyncs the file after the rename instead; on journaling file
 *	systems (ext4, xfs, btrfs) that commits the rename with it.
 * CONFIGURATION PARAMETERS
 *	queue_directory, alternate_config_directories (of SYSCONFDIR/main.cf),
 *	authorized_submit_users, message_size_limit,
 *	sendmail_recipient_limit, syslog_name.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "maildrop.h"
#include "params.h"
#include "postdrop.h"
#include "safefile.h"
#include "str.h"
#include "table.h"
#include "trigger.h"

#define TZ_MAX		64

#ifdef __SANITIZE_ADDRESS__
/*
 * Sanitizer builds (make asan) only: a set-group-id process cannot read
 * its own /proc/self/environ, so ASAN_OPTIONS never reaches it, and
 * LeakSanitizer cannot inspect a non-dumpable process at exit.
 */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

static char temp_path[64];		/* "maildrop/t.RANDOM" while it exists */
static volatile sig_atomic_t have_temp;
static unsigned long caller_uid;

/* on_signal - remove the unfinished file and go */
static void
on_signal(int sig)
{
	(void) sig;
	if (have_temp)
		(void) unlink(temp_path);
	_exit(EX_TEMPFAIL);
}

static _Noreturn void
fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static _Noreturn void
fail(int code, const char *fmt, ...)
{
	int     saved = errno;
	va_list ap;

	if (have_temp) {
		(void) unlink(temp_path);
		have_temp = 0;
	}
	errno = saved;			/* for %m */
	va_start(ap, fmt);
	log_vmsg(LOG_L_FATAL, fmt, ap);
	va_end(ap);
	exit(code);
}

/*
 * sanitize - undo everything the caller could have set up for us.
 * Runs first, before any file is opened.
 */
static void
sanitize(const char *tz)
{
	struct sigaction sa;
	sigset_t none;
	char    keep[TZ_MAX + 1] = "";

	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF
		    && open("/dev/null", O_RDWR) != fd)
			_exit(EX_OSERR);
	if (close_range(3, ~0U, 0) < 0) {
		long    max = sysconf(_SC_OPEN_MAX);

		for (long fd = 3; fd < (max > 0 ? max : 1024); fd++)
			(void) close((int) fd);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void) sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void) sigprocmask(SIG_SETMASK, &none, NULL);
	umask(077);
	/* A TZ that names a file (":/path", "../x") is not kept. */
	if (tz != NULL && strlen(tz) <= TZ_MAX && strchr(tz, '/') == NULL
	    && strstr(tz, "..") == NULL && !str_has_ctl(tz, strlen(tz)))
		(void) str_copy(keep, sizeof(keep), tz);
	if (clearenv() != 0)
		_exit(EX_OSERR);
	if (keep[0] && setenv("TZ", keep, 1) < 0)
		_exit(EX_OSERR);
	if (chdir("/") < 0)
		_exit(EX_OSERR);
}

/* choose_config - the configuration directory this caller may use */
static const char *
choose_config(const char *dir, char *real, size_t realsz)
{
	struct params *def;
	struct buf why;

	if (dir == NULL || str_eq(dir, SYSCONFDIR))
		return SYSCONFDIR;
	if (dir[0] != '/')
		fail(EX_USAGE, "uid=%lu: configuration directory %.200s is not an "
		     "absolute path", caller_uid, dir);
	if (getuid() == 0)
		return dir;
	buf_init(&why, 4096);
	/* Listed in the default main.cf, as Postfix allows. */
	if ((def = config_load(SYSCONFDIR, NULL, 0, &why)) != NULL) {
		bool    listed = config_list_contains(def->alternate_config_directories, dir);

		config_free(def);
		if (listed) {
			buf_free(&why);
			return dir;
		}
	}
	buf_reset(&why);
	if (postdrop_dir_trusted(dir, real, realsz, &why) == 0) {
		buf_free(&why);
		return real;
	}
	fail(EX_NOPERM, "uid=%lu: refusing configuration directory %.200s: %s (it "
	     "must be listed in alternate_config_directories of %s/main.cf, or be "
	     "owned by root and writable by nobody else, all the way up)",
	     caller_uid, dir, buf_str(&why), SYSCONFDIR);
}

/* authorized - is login in authorized_submit_users? */
static bool
authorized(const char *login)
{
	char  **items;
	int     n;
	bool    ok = false;

	if (getuid() == 0)
		return true;
	n = config_list_split(cfg->authorized_submit_users, TABLE_LIST_MAX, &items);
	if (n < 0)
		fail(EX_CONFIG, "authorized_submit_users lists more than %d entries",
		     TABLE_LIST_MAX);
	for (int i = 0; i < n && !ok; i++) {
		char    err[TABLE_ERROR_MAX];
		struct table *t;
		struct buf v;
		int     r;

		if (strchr(items[i], ':') == NULL) {
			ok = str_eq(items[i], login);
			continue;
		}
		if ((t = table_open(items[i], 0, err, sizeof(err))) == NULL)
			fail(EX_TEMPFAIL, "authorized_submit_users: %s", err);
		buf_init(&v, TABLE_VALUE_MAX);
		r = table_get(t, login, &v);
		if (r < 0)
			fail(EX_TEMPFAIL, "authorized_submit_users: %s", t->error);
		ok = r == 1;
		buf_free(&v);
		table_close(t);
	}
	config_list_free(items, n);
	return ok;
}

/* check_attr - an attribute the caller may give, at most once each */
static void
check_attr(const char *p, size_t n, unsigned *seen)
{
	static const char *const names[] = {MAILDROP_A_FLAGS, MAILDROP_A_FULLNAME,
	MAILDROP_A_BODY, MAILDROP_A_RET, MAILDROP_A_ENVID};
	const char *eq = memchr(p, '=', n);
	size_t  k = (size_t) (eq - p), i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == k && memcmp(p, names[i], k) == 0)
			break;
	if (i == sizeof(names) / sizeof(names[0]))
		fail(EX_DATAERR, "uid=%lu: malformed input: attribute %.*s is not one "
		     "sendmail gives", caller_uid, (int) (k < 40 ? k : 40), p);
	if (*seen & (1u << i))
		fail(EX_DATAERR, "uid=%lu: malformed input: attribute %s given twice",
		     caller_uid, names[i]);
	*seen |= 1u << i;
	if (i == 0) {
		/* flags: letters t and f, each at most once */
		for (const char *f = eq + 1; f < p + n; f++)
			if ((*f != MAILDROP_F_EXTRACT && *f != MAILDROP_F_SENDER)
			    || memchr(eq + 1, *f, (size_t) (f - eq - 1)) != NULL)
				fail(EX_DATAERR, "uid=%lu: malformed input: bad flags "
				     "attribute", caller_uid);
	}
}

/* copy_records - read the caller's records, write the file's */
static void
copy_records(int fd)
{
	struct maildrop_limits lim = {
		.addr_max = MAILDROP_ADDR_MAX,
		.attr_max = MAILDROP_ATTR_MAX,
		.attr_count = MAILDROP_ATTR_COUNT,
		.rcpt_max = (size_t) cfg->sendmail_recipient_limit,
		.msg_max = cfg->message_size_limit == 0
		|| cfg->message_size_limit > QFILE_BODY_ABS_MAX
		? QFILE_BODY_ABS_MAX : cfg->message_size_limit,
	};
	struct maildrop_in in;
	struct maildrop_out out;
	struct maildrop_rec rec;
	struct passwd *pw;
	struct timeval now;
	char    text[MAILDROP_ATTR_MAX + 1];
	unsigned seen = 0;
	uint64_t len_at = 0;
	int     r;

	maildrop_in_init(&in, STDIN_FILENO, &lim);
	maildrop_out_init(&out, fd);
	while ((r = maildrop_in_next(&in, &rec)) == 1) {
		switch (rec.type) {
		case QF_REC_TIME:
			/* The arrival time is ours, not the caller's. */
			gettimeofday(&now, NULL);
			(void) str_fmt(text, sizeof(text), "%lld.%06ld",
				       (long long) now.tv_sec, (long) now.tv_usec);
			(void) maildrop_out_put_str(&out, QF_REC_TIME, text);
			break;
		case QF_REC_ATTR:
			check_attr(rec.data, rec.len, &seen);
			(void) maildrop_out_put(&out, rec.type, rec.data, rec.len);
			break;
		case QF_REC_SENDER:
			if ((pw = getpwuid((uid_t) caller_uid)) == NULL)
				fail(EX_NOUSER, "uid=%lu: no login name for this user ID",
				     caller_uid);
			if (str_fmt(text, sizeof(text), "%s=%s", MAILDROP_A_LOGIN,
				    pw->pw_name) < 0 || str_has_ctl(text, strlen(text)))
				fail(EX_NOUSER, "uid=%lu: unusable login name", caller_uid);
			if (!authorized(pw->pw_name))
				fail(EX_NOPERM, "uid=%lu: user %s is not allowed to submit "
				     "mail (authorized_submit_users)", caller_uid, pw->pw_name);
			(void) maildrop_out_put_str(&out, QF_REC_ATTR, text);
			(void) maildrop_out_put(&out, rec.type, rec.data, rec.len);
			break;
		case QF_REC_MSG:
			if (len_at == 0) {
				/* One M record in the file: its length comes at the end. */
				(void) maildrop_out_put(&out, QF_REC_MSG, NULL, 0);
				len_at = out.offset - 4;
			}
			(void) maildrop_out_raw(&out, rec.data, rec.len);
			break;
		case QF_REC_END:
			if (maildrop_out_flush(&out) == 0) {
				unsigned char b[4] = {(unsigned char) (in.msg_len >> 24),
					(unsigned char) (in.msg_len >> 16),
					(unsigned char) (in.msg_len >> 8),
				(unsigned char) in.msg_len};

				if (sf_pwrite_all(fd, b, 4, (off_t) len_at) < 0)
					out.error = errno;
			}
			(void) maildrop_out_put(&out, QF_REC_END, NULL, 0);
			(void) maildrop_out_flush(&out);
			break;
		default:			/* V O N R */
			(void) maildrop_out_put(&out, rec.type, rec.data, rec.len);
			break;
		}
		if (out.error)
			fail(EX_TEMPFAIL, "uid=%lu: cannot write %s: %s", caller_uid,
			     temp_path, strerror(out.error));
	}
	if (r < 0) {
		if (errno == EFBIG)
			fail(EX_DATAERR, "uid=%lu: the message is larger than "
			     "message_size_limit (%llu bytes)", caller_uid,
			     (unsigned long long) lim.msg_max);
		if (errno != 0)
			fail(EX_IOERR, "uid=%lu: cannot read the message: %s", caller_uid,
			     in.why);
		fail(EX_DATAERR, "uid=%lu: malformed input: %s", caller_uid, in.why);
	}
	maildrop_in_free(&in);
	maildrop_out_free(&out);
}

int
main(int argc, char **argv)
{
	char    env_dir[PATH_MAX], tz[TZ_MAX + 1], real[PATH_MAX], name[MAILDROP_NAME_LEN + 1];
	char    final[64];
	const char *dir = NULL, *e;
	struct params *p;
	struct buf err;
	struct sigaction sa;
	sigset_t block, old;
	int     c, fd, dfd;
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGXFSZ};

	/* Read what is kept of the environment, then undo the caller's set-up. */
	env_dir[0] = tz[0] = '\0';
	if ((e = getenv("MAIL_CONFIG")) != NULL && *e && str_copy(env_dir, sizeof(env_dir), e) < 0)
		env_dir[0] = '\0';
	if ((e = getenv("TZ")) != NULL && str_copy(tz, sizeof(tz), e) < 0)
		tz[0] = '\0';
	sanitize(tz[0] ? tz : NULL);
	caller_uid = (unsigned long) getuid();
	log_init("postdrop", LOG_DEST_SYSLOG | LOG_DEST_STDERR);

	opterr = 0;
	while ((c = getopt(argc, argv, "c:v")) != -1) {
		switch (c) {
		case 'c':
			dir = optarg;
			break;
		case 'v':
			break;
		default:
			fail(EX_USAGE, "usage: postdrop [-c config_dir] (postdrop is run by "
			     "sendmail; it reads maildrop records on standard input)");
		}
	}
	if (optind != argc)
		fail(EX_USAGE, "usage: postdrop [-c config_dir]");
	if (dir == NULL && env_dir[0])
		dir = env_dir;
	dir = choose_config(dir, real, sizeof(real));

	buf_init(&err, 64 * 1024);
	if ((p = config_load(dir, NULL, 0, &err)) == NULL)
		fail(EX_CONFIG, "uid=%lu: configuration errors in %s:\n%s", caller_uid, dir,
		     buf_str(&err));
	buf_free(&err);
	config_install(p);
	log_set_syslog_name(cfg->syslog_name);
	if (cfg->queue_directory[0] != '/' || chdir(cfg->queue_directory) < 0)
		fail(EX_CONFIG, "uid=%lu: queue directory %s: %s (is the mail system "
		     "set up? postern init / postern check)", caller_uid,
		     cfg->queue_directory, errno ? strerror(errno) : "not absolute");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&sa.sa_mask, sigs[i]);
		sigaddset(&block, sigs[i]);
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void) sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	maildrop_name_new(name);
	(void) str_fmt(temp_path, sizeof(temp_path), "maildrop/%s%s", MAILDROP_TEMP_PREFIX, name);
	(void) str_fmt(final, sizeof(final), "maildrop/%s", name);
	have_temp = 1;
	fd = open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		have_temp = 0;
		fail(errno == EACCES ? EX_NOPERM : EX_TEMPFAIL, "uid=%lu: cannot create "
		     "%s/%s: %m (postdrop must be set-group-id %s: run postern init, "
		     "or check the queue with postern check)", caller_uid,
		     cfg->queue_directory, temp_path, cfg->setgid_group);
	}
	if (fchmod(fd, 0644) < 0)
		fail(EX_TEMPFAIL, "uid=%lu: fchmod %s: %m", caller_uid, temp_path);

	copy_records(fd);

	/* Publish, then make it durable; no signal may cut in between. */
	sigprocmask(SIG_BLOCK, &block, &old);
	if (rename(temp_path, final) < 0)
		fail(EX_TEMPFAIL, "uid=%lu: rename %s to %s: %m", caller_uid, temp_path, final);
	have_temp = 0;
	if (fsync(fd) < 0) {
		int     saved = errno;

		(void) unlink(final);
		errno = saved;
		fail(EX_TEMPFAIL, "uid=%lu: fsync %s: %m", caller_uid, final);
	}
	if ((dfd = open("maildrop", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void) fsync(dfd);
		close(dfd);
	}
	close(fd);
	if (trigger_once("public/pickup", TRIGGER_WAKE) < 0 && errno != ENXIO && errno != ENOENT)
		log_warn("uid=%lu: cannot wake pickup: %m (the message waits for "
			 "its next scan)", caller_uid);
	return 0;
}
