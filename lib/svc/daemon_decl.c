/*
 * NAME
 *	daemon_decl - what a daemon declares it may be, and master.cf held
 *	against it
 * DESCRIPTION
 *	See daemon_decl.h.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_decl.h"
#include "event.h"
#include "log.h"
#include "mem.h"
#include "reach.h"
#include "str.h"

#define DECL_TEXT_MAX	(64 * 1024)
#define DECL_CACHE	32

struct cached {
	char   *path;
	struct stat st;
	struct daemon_decl d;
};

static struct cached cache[DECL_CACHE];

/* run - path -D, its standard output into out; 0 or -1 with why */
static int
run(const char *path, const char *user, struct buf *out, char *why, size_t whylen)
{
	char   *const argv[] = {(char *) path, "-D", NULL};
	char   *const envp[] = {NULL};
	struct passwd *pw = NULL;
	uint64_t end = ev_time_ms() + DECL_WAIT_MS;
	int     pfd[2], status;
	pid_t   pid;

	if (geteuid() == 0 && (pw = getpwnam(user)) == NULL) {
		(void) str_fmt(why, whylen, "mail_owner %s: no such user", user);
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		(void) str_fmt(why, whylen, "cannot run it: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int     null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		close_range(3, ~0U, 0);
		if (pw != NULL && (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0
				   || setuid(pw->pw_uid) < 0))
			_exit(126);
		execve(path, argv, envp);
		_exit(127);
	}
	(void) close(pfd[1]);
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		uint64_t now = ev_time_ms();
		char    chunk[4096];
		ssize_t n;

		if (now >= end || poll(&p, 1, (int) (end - now)) == 0) {
			(void) kill(pid, SIGKILL);
			(void) str_fmt(why, whylen, "no answer to -D within %d ms", DECL_WAIT_MS);
			break;
		}
		if ((n = read(pfd[0], chunk, sizeof(chunk))) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(out, chunk, (size_t) n) < 0) {
			(void) kill(pid, SIGKILL);
			(void) str_fmt(why, whylen, "more than %d bytes in answer to -D",
				       DECL_TEXT_MAX);
			break;
		}
	}
	(void) close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (*why)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		(void) str_fmt(why, whylen, "-D ended with status %d: not a postern daemon "
			       "built on lib/svc/server.c?", WIFEXITED(status)
			       ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return -1;
	}
	return 0;
}

/* split - the words after the key, into v (NULL-terminated) */
static int
split(char *rest, char **v, size_t max)
{
	size_t  n = 0;

	for (char *w = strtok(rest, " "); w; w = strtok(NULL, " ")) {
		if (n == max)
			return -1;
		v[n++] = w;
	}
	v[n] = NULL;
	return 0;
}

static int
parse(char *text, struct daemon_decl *d, char *why, size_t whylen)
{
	bool    seen_name = false;
	char   *save = NULL;

	d->talks[0] = d->params[0] = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char   *rest = strchr(line, ' ');

		if (rest != NULL)
			*rest++ = '\0';
		else
			rest = line + strlen(line);
		if (str_eq(line, "postern-daemon")) {
			seen_name = str_copy(d->name, sizeof(d->name), rest) == 0;
		} else if (str_eq(line, "model")) {
			d->event = str_eq(rest, "event");
		} else if (str_eq(line, "user")) {
			d->root = str_eq(rest, "root");
		} else if (str_eq(line, "chroot")) {
			d->chroot = str_eq(rest, "must") ? DECL_CHROOT_MUST
			    : str_eq(rest, "never") ? DECL_CHROOT_NEVER : DECL_CHROOT_MAY;
		} else if (str_eq(line, "talks")) {
			if (split(rest, d->talks, DECL_LIST_MAX) < 0)
				goto bad;
		} else if (str_eq(line, "params")) {
			if (split(rest, d->params, DECL_LIST_MAX) < 0)
				goto bad;
		}
	}
	if (seen_name)
		return 0;
	(void) str_fmt(why, whylen, "its answer to -D is not a declaration");
	return -1;
bad:
	(void) str_fmt(why, whylen, "more than %d entries in a list of its declaration",
		       DECL_LIST_MAX);
	return -1;
}

const struct daemon_decl *
daemon_decl_get(const char *path, const char *user, char *why, size_t whylen)
{
	struct cached *slot = NULL;
	struct stat st;
	struct buf out;
	int     r;

	why[0] = '\0';
	if (stat(path, &st) < 0) {
		(void) str_fmt(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	for (size_t i = 0; i < DECL_CACHE; i++) {
		struct cached *c = &cache[i];

		if (c->path != NULL && str_eq(c->path, path)) {
			if (c->st.st_dev == st.st_dev && c->st.st_ino == st.st_ino
			    && c->st.st_size == st.st_size
			    && c->st.st_mtim.tv_sec == st.st_mtim.tv_sec
			    && c->st.st_mtim.tv_nsec == st.st_mtim.tv_nsec)
				return &c->d;
			slot = c;
			break;
		}
		if (slot == NULL && c->path == NULL)
			slot = c;
	}
	if (slot == NULL)
		slot = &cache[st.st_ino % DECL_CACHE];	/* full: reuse one */
	buf_init(&out, DECL_TEXT_MAX);
	r = run(path, user, &out, why, whylen);
	if (r == 0) {
		free(slot->path);
		free(slot->d.text);
		memset(slot, 0, sizeof(*slot));
		slot->d.text = buf_steal(&out);
		if (parse(slot->d.text, &slot->d, why, whylen) < 0) {
			free(slot->d.text);
			slot->d.text = NULL;
			r = -1;
		} else {
			slot->path = xstrdup(path);
			slot->st = st;
		}
	}
	buf_free(&out);
	return r == 0 ? &slot->d : NULL;
}

/* provided - master.cf has a service for the endpoint (private/X, public/X) */
static bool
provided(const struct mastercf *mc, const char *endpoint)
{
	bool    priv = strncmp(endpoint, "private/", 8) == 0;
	const char *name = strchr(endpoint, '/');

	if (name == NULL)
		return false;
	for (size_t i = 0; i < mc->n; i++)
		if (str_eq(mc->v[i].name, name + 1) && mc->v[i].private_ == priv
		    && mc->v[i].type != SVC_INET)
			return true;
	return false;
}

int
daemon_decl_check(const struct params *p, const struct mastercf *mc, struct buf *problems)
{
	int     n = 0;

	for (size_t i = 0; i < mc->n; i++) {
		const struct mastercf_entry *e = &mc->v[i];
		const struct daemon_decl *d;
		char    path[4096], why[512];

		if (str_fmt(path, sizeof(path), "%s/%s", p->daemon_directory, e->argv[0]) < 0
		    || access(path, X_OK) < 0)
			continue;		/* said elsewhere */
		if ((d = daemon_decl_get(path, p->mail_owner, why, sizeof(why))) == NULL) {
			buf_appendf(problems, "master.cf, line %d: service %s: %s cannot say what "
				    "it may be: %s\n", e->line, e->name, path, why);
			n++;
			continue;
		}
		if (d->root && e->unpriv) {
			buf_appendf(problems, "master.cf, line %d: service %s: %s runs as root "
				    "(it becomes each recipient): the unpriv column must be n\n",
				    e->line, e->name, e->argv[0]);
			n++;
		} else if (!d->root && !e->unpriv) {
			buf_appendf(problems, "master.cf, line %d: service %s: %s must not run as "
				    "root: the unpriv column must be y or -\n", e->line, e->name,
				    e->argv[0]);
			n++;
		}
		if (d->chroot == DECL_CHROOT_MUST && !e->chroot) {
			buf_appendf(problems, "master.cf, line %d: service %s: %s must run chrooted "
				    "in the queue directory: the chroot column must be y or -\n",
				    e->line, e->name, e->argv[0]);
			n++;
		} else if (d->chroot == DECL_CHROOT_NEVER && e->chroot) {
			buf_appendf(problems, "master.cf, line %d: service %s: %s needs files "
				    "outside the queue directory: the chroot column must be n\n",
				    e->line, e->name, e->argv[0]);
			n++;
		}
		for (int k = 0; k < e->n_overrides; k++) {
			char    name[128];
			size_t  len = strcspn(e->overrides[k], "=");

			(void) str_fmt(name, sizeof(name), "%.*s", (int) (len < 127 ? len : 127),
				       e->overrides[k]);
			if (!reach_match((const char *const *) d->params, name)) {
				buf_appendf(problems, "master.cf, line %d: service %s: -o %s: %s does "
					    "not read that parameter (remove the override)\n",
					    e->line, e->name, name, e->argv[0]);
				n++;
			}
		}
		for (char *const *t = d->talks; *t; t++)
			if (strchr(*t, '*') == NULL && (*t)[0] != '$' && !provided(mc, *t))
				log_info("master.cf: service %s (%s) talks to %s, which no "
					 "master.cf service provides", e->name, e->argv[0], *t);
	}
	return n;
}
