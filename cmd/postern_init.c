/*
 * NAME
 *	postern_init - `postern init DIR`: a complete, self-contained instance
 * DESCRIPTION
 *	Creates, in DIR:
 *	  etc/main.cf, etc/master.cf, etc/aliases (+ aliases.db)
 *	  queue/	the queue tree (qtree.h gives owners and modes)
 *	  data/		master.pid, master.ctl
 *	  mail/		mailboxes (mail_spool_directory), root:mail 2775
 *			as Debian's /var/mail: only local (which keeps the
 *			group for its deliveries there) and set-group-id
 *			mail programs create entries, so no user can plant
 *			a lock or a link for another
 *	  log/maillog	the mail log (maillog_file)
 *	The instance runs the daemons and commands next to this postern
 *	binary.  SMTP listens on 127.0.0.1:PORT: -p PORT, else 2525, else
 *	(2525 taken) a free port; the port is printed.  Configuration files
 *	that exist are kept, so init can repair an instance's tree.
 *
 *	postern_set_permissions() is `postern [-c DIR] set-permissions`:
 *	for an existing configuration (the system's /etc/postern, as a
 *	package installs it) it creates the user and group when missing,
 *	the queue tree and data_directory with the owners and modes of
 *	qtree.h, and makes postdrop set-group-id, as init does for a new
 *	instance.
 * SECURITY
 *	Must run as root: the queue tree belongs to mail_owner.  Creates
 *	the system user "postern" and group "postdrop" with groupadd and
 *	useradd (execve, fixed arguments) when they are missing.  Makes
 *	$command_directory/postdrop root:setgid_group mode 2755, the one
 *	set-group-id program (local submission through sendmail).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "num.h"
#include "postern.h"
#include "qtree.h"
#include "safefile.h"
#include "str.h"
#include "table.h"

#define DEFAULT_PORT	2525
#define SPOOL_GROUP	"mail"

static int
port_free(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int     fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1, ok;
	socklen_t len = sizeof(sin);

	if (fd < 0)
		return -1;
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t) port);
	ok = bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0;
	if (ok && port == 0 && getsockname(fd, (struct sockaddr *) &sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return ok ? port : -1;
}

static int
ensure_ids(void)
{
	char   *ga[] = {"groupadd", "--system", "postdrop", NULL};
	char   *ua[] = {"useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
		"--comment", "postern mail system", "postern", NULL};

	if (getgrnam("postdrop") == NULL && postern_run("/usr/sbin/groupadd", ga) != 0) {
		fprintf(stderr, "postern: init: cannot create group postdrop\n");
		return -1;
	}
	if (getpwnam("postern") == NULL && postern_run("/usr/sbin/useradd", ua) != 0) {
		fprintf(stderr, "postern: init: cannot create user postern\n");
		return -1;
	}
	return 0;
}

/* write_new - create path with text unless it exists */
static int
write_new(const char *path, const char *text, mode_t mode)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 0;
	if (sf_replace(path, text, strlen(text), mode) < 0) {
		fprintf(stderr, "postern: init: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * setgid_postdrop - postdrop is the one set-group-id program: owner root,
 * group setgid_group, mode 2755 (see SECURITY in cmd/postdrop.c).
 */
static int
setgid_postdrop(const struct params *p, struct buf *err)
{
	char    path[4096];
	uid_t	owner;
	gid_t	owner_gid, sgid;
	struct stat st;
	int     fd;

	if (qtree_user_ids(p, &owner, &owner_gid, &sgid, err) < 0)
		return -1;
	(void) str_fmt(path, sizeof(path), "%s/postdrop", p->command_directory);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		fprintf(stderr, "postern: init: %s: %s (sendmail needs it; build it, "
			"then run init again)\n", path, strerror(errno));
		return 0;
	}
	/* fchown() clears the set-id bits, so the mode comes after it. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)
	    || fchown(fd, 0, sgid) < 0 || fchmod(fd, 02755) < 0) {
		buf_appendf(err, "cannot make %s set-group-id %s: %s\n", path,
			    p->setgid_group, strerror(errno ? errno : EPERM));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
postern_set_permissions(const char *config_dir)
{
	struct params *p;
	struct buf err;

	if (geteuid() != 0) {
		fprintf(stderr, "postern: set-permissions must run as root: the queue tree "
			"belongs to the mail_owner user\n");
		return 1;
	}
	buf_init(&err, 64 * 1024);
	if ((p = config_load(config_dir, NULL, 0, &err)) == NULL) {
		fprintf(stderr, "postern: set-permissions: %s/main.cf does not load:\n%s",
			config_dir, buf_str(&err));
		return 1;
	}
	if ((str_eq(p->mail_owner, "postern") || str_eq(p->setgid_group, "postdrop"))
	    && ensure_ids() < 0)
		return 1;
	if (qtree_create(p, &err) < 0 || setgid_postdrop(p, &err) < 0) {
		fprintf(stderr, "postern: set-permissions: %s", buf_str(&err));
		return 1;
	}
	printf("postern: set-permissions: %s and %s are ready\n", p->queue_directory,
	       p->data_directory);
	config_free(p);
	buf_free(&err);
	return 0;
}

static int
mkdir_mode(const char *path, mode_t mode)
{
	if (sf_mkdir_owned(path, 0, 0, mode) < 0) {
		fprintf(stderr, "postern: init: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
postern_init(int argc, char **argv)
{
	char    dir[PATH_MAX], bindir[PATH_MAX], libexec[PATH_MAX], path[PATH_MAX + 64];
	char    etc[PATH_MAX + 16];
	struct buf text, err;
	struct params *p;
	struct group *mail;
	long long v;
	const char *why;
	int     port = 0, c;

	optind = 1;
	while ((c = getopt(argc, argv, "p:")) != -1) {
		if (c != 'p' || num_parse_int(optarg, 0, 65535, &v, &why) < 0) {
			fprintf(stderr, "usage: postern init [-p port] DIR\n");
			return 64;
		}
		port = (int) v;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: postern init [-p port] DIR\n");
		return 64;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "postern: init must run as root: the queue tree belongs to "
			"the mail_owner user\n");
		return 1;
	}
	if (mkdir(argv[optind], 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "postern: init: mkdir %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (realpath(argv[optind], dir) == NULL) {
		fprintf(stderr, "postern: init: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (postern_self_dirs(bindir, sizeof(bindir), libexec, sizeof(libexec)) < 0) {
		fprintf(stderr, "postern: init: cannot tell where postern's programs are\n");
		return 1;
	}
	if (ensure_ids() < 0)
		return 1;
	if (port == 0)
		port = port_free(DEFAULT_PORT) > 0 ? DEFAULT_PORT : port_free(0);
	if (port <= 0) {
		fprintf(stderr, "postern: init: no free port on 127.0.0.1\n");
		return 1;
	}

	(void) str_fmt(etc, sizeof(etc), "%s/etc", dir);
	if (mkdir_mode(dir, 0755) < 0 || mkdir_mode(etc, 0755) < 0)
		return 1;
	(void) str_fmt(path, sizeof(path), "%s/log", dir);
	if (mkdir_mode(path, 0755) < 0)
		return 1;
	/* Debian's /var/mail: root:mail 2775 (local_spool.c says why). */
	(void) str_fmt(path, sizeof(path), "%s/mail", dir);
	if ((mail = getgrnam(SPOOL_GROUP)) == NULL) {
		fprintf(stderr, "postern: init: group %s does not exist (the mail spool "
			"belongs to it; create it with groupadd --system %s)\n",
			SPOOL_GROUP, SPOOL_GROUP);
		return 1;
	}
	if (sf_mkdir_owned(path, 0, mail->gr_gid, 02775) < 0) {
		fprintf(stderr, "postern: init: cannot create %s: %s\n", path, strerror(errno));
		return 1;
	}

	buf_init(&text, 64 * 1024);
	buf_appendf(&text,
		    "# main.cf of the postern instance in %s (made by postern init).\n"
		    "# Parameters and defaults: README.md.\n"
		    "queue_directory = %s/queue\n"
		    "data_directory = %s/data\n"
		    "daemon_directory = %s\n"
		    "command_directory = %s\n"
		    "mail_spool_directory = %s/mail\n"
		    "maillog_file = %s/log/maillog\n"
		    "alias_maps = hash:%s/etc/aliases\n"
		    "alias_database = hash:%s/etc/aliases\n"
		    "inet_interfaces = loopback-only\n"
		    "mynetworks = 127.0.0.0/8 [::1]/128\n"
		    "# Loopback clients only: no DNS lookup of their names.  An\n"
		    "# instance that takes mail from the internet wants yes (the\n"
		    "# default, as in Postfix).\n"
		    "smtpd_peername_lookup = no\n",
		    dir, dir, dir, libexec, bindir, dir, dir, dir, dir);
	(void) str_fmt(path, sizeof(path), "%s/main.cf", etc);
	if (write_new(path, text.data, 0644) < 0)
		return 1;

	buf_reset(&text);
	buf_appendf(&text,
		    "# master.cf of the postern instance in %s (made by postern init).\n"
		    "# Columns: README.md, \"master.cf\".  For event-driven daemons (smtpd,\n"
		    "# qmgr, lookup, pickup, smtp) maxproc is the number of processes\n"
		    "# (-: one per CPU).\n"
		    "#\n"
		    "# service        type  private unpriv  chroot  wakeup  maxproc command + args\n"
		    "127.0.0.1:%-6d inet  n       -       y       -       -       smtpd\n"
		    "cleanup          unix  -       -       y       -       0       cleanup\n"
		    "lookup           unix  -       -       n       -       1       lookup\n"
		    "qmgr             fifo  n       -       y       300     1       qmgr\n"
		    "local            unix  -       n       n       -       -       local\n"
		    "pickup           fifo  n       -       y       60      1       pickup\n"
		    "showq            unix  n       -       y       -       -       showq\n"
		    "smtp             unix  -       -       y       -       1       smtp\n"
		    "relay            unix  -       -       y       -       1       smtp\n"
		    "anvil            unix  -       -       y       -       1       anvil\n"
		    "discard          unix  -       -       y       -       -       discard\n"
		    "error            unix  -       -       y       -       -       error\n"
		    "#\n"
		    "# Mail submission for your own users, as Debian's Postfix has it:\n"
		    "# submission (587, STARTTLS) and submissions (465, implicit TLS),\n"
		    "# TLS and AUTH required, mail taken only from authenticated clients\n"
		    "# (smtpd_relay_restrictions).  To use them: name a certificate\n"
		    "# (smtpd_tls_cert_file, smtpd_tls_key_file) and a password back end\n"
		    "# in main.cf (smtpd_sasl_type = dovecot with smtpd_sasl_path, or\n"
		    "# postern with auth_passwd_file and the auth line below), uncomment,\n"
		    "# then postern check and postern reload.\n"
		    "#submission      inet  n       -       y       -       1       smtpd\n"
		    "#  -o syslog_name=postern/submission\n"
		    "#  -o smtpd_tls_security_level=encrypt\n"
		    "#  -o smtpd_sasl_auth_enable=yes\n"
		    "#  -o smtpd_tls_auth_only=yes\n"
		    "#  -o smtpd_reject_unlisted_recipient=no\n"
		    "#  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
		    "#submissions     inet  n       -       y       -       1       smtpd\n"
		    "#  -o syslog_name=postern/submissions\n"
		    "#  -o smtpd_tls_wrappermode=yes\n"
		    "#  -o smtpd_sasl_auth_enable=yes\n"
		    "#  -o smtpd_reject_unlisted_recipient=no\n"
		    "#  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
		    "#auth            unix  -       -       y       -       4       auth\n",
		    dir, port);
	(void) str_fmt(path, sizeof(path), "%s/master.cf", etc);
	if (write_new(path, text.data, 0644) < 0)
		return 1;

	(void) str_fmt(path, sizeof(path), "%s/aliases", etc);
	if (write_new(path, "# aliases: see README.md, \"Aliases\".  Rebuild with newaliases.\n"
		      "postmaster: root\n"
		      "MAILER-DAEMON: postmaster\n", 0644) < 0)
		return 1;
	buf_free(&text);

	buf_init(&err, 64 * 1024);
	if ((p = config_load(etc, NULL, 0, &err)) == NULL) {
		fprintf(stderr, "postern: init: the new configuration does not load:\n%s",
			buf_str(&err));
		return 1;
	}
	if (qtree_create(p, &err) < 0) {
		fprintf(stderr, "postern: init: %s", buf_str(&err));
		return 1;
	}
	if (setgid_postdrop(p, &err) < 0) {
		fprintf(stderr, "postern: init: %s", buf_str(&err));
		return 1;
	}
	(void) str_fmt(path, sizeof(path), "hash:%s/aliases", etc);
	if (table_build(path, 1, 0, &err) < 0) {
		fprintf(stderr, "postern: init: cannot build %s: %s", path, buf_str(&err));
		return 1;
	}
	config_free(p);
	buf_free(&err);
	printf("postern: instance created in %s (SMTP on 127.0.0.1:%d)\n"
	       "postern: start it with: postern -c %s start\n", dir, port, etc);
	return 0;
}
