/*
 * NAME
 *	master_service - services: listening endpoints, generations
 * DESCRIPTION
 *	master_services_build() turns the master.cf table into services of
 *	a new generation.  Listening endpoints are created here before
 *	anything runs unprivileged: TCP listeners for inet services (as
 *	root), UNIX stream sockets for unix and pass services, and FIFOs
 *	for fifo services (both as mail_owner, see local_listen(); a FIFO
 *	is opened read-write, so a reader never sees EOF and the master
 *	can write wake-ups into the same descriptor).
 *	An endpoint that an older generation already has (same address)
 *	is shared with dup(), so a reload never closes a listening socket
 *	that clients are connecting to.
 * SECURITY
 *	private/ sockets are mode 0600 and owned by mail_owner; public/
 *	ones are 0666 (showq) or 0622 (fifos) in a 0711 directory, so a
 *	local user can ask for a queue listing or a wake-up and nothing
 *	else.  They are made as mail_owner, who owns both directories
 *	(local_listen()): root never acts by name on anything there.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "master.h"
#include "mem.h"
#include "priv.h"
#include "str.h"
#include "trigger.h"

#define LISTEN_BACKLOG	1024

/* How each daemon serves clients; anything else is single-client. */
static const struct {
	const char *command;
	enum svc_model model;
	bool	singleton;
}       models[] = {
	{"smtpd", MODEL_EVENT, false},
	{"lookup", MODEL_EVENT, false},
	{"qmgr", MODEL_EVENT, true},
	{"pickup", MODEL_EVENT, true},
	{"showq", MODEL_EVENT, true},
	{"anvil", MODEL_EVENT, true},
	{"smtp", MODEL_EVENT, false},
};

/*
 * master_cpus - the CPUs this process may run on (its affinity mask,
 * which a container or taskset narrows), at least 1: an event-driven
 * service whose maxproc is "-" runs one process per CPU.
 */
int
master_cpus(void)
{
	cpu_set_t set;
	long	n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int) n : 1;
}

static char **
strv_copy(char **v, int n)
{
	char  **c = xcalloc((size_t) n + 1, sizeof(*c));

	for (int i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

static void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int
owner_ids(const struct params *p, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(p->mail_owner);

	if (pw == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* inet_listen - bind one address; returns fd or -1 with err text */
static int
inet_bind_one(const struct addrinfo *ai, const char *what, struct buf *err)
{
	int     fd, on = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
	if (fd < 0) {
		buf_appendf(err, "service %s: socket: %s\n", what, strerror(errno));
		return -1;
	}
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		buf_appendf(err, "service %s: cannot listen: %s (is another mail server "
			    "using the port?)\n", what, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* protocol_enabled - inet_protocols allows this address family */
static bool
protocol_enabled(const struct params *p, int family)
{
	if (config_list_contains(p->inet_protocols, "all"))
		return true;
	return config_list_contains(p->inet_protocols,
				    family == AF_INET6 ? "ipv6" : "ipv4");
}

static int
inet_listen(struct service *s, const struct params *p, struct buf *err)
{
	char  **hosts = NULL;
	int     nh = 0;
	const char *single[1];
	struct addrinfo hints, *res, *ai;
	bool    owned = false;
	int     r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (s->ent.host != NULL) {
		single[0] = s->ent.host;
		hosts = (char **) single;
		nh = 1;
	} else if (str_casecmp(p->inet_interfaces, "all") == 0) {
		nh = 0;			/* AI_PASSIVE wildcard */
	} else if (str_casecmp(p->inet_interfaces, "loopback-only") == 0) {
		static const char *lo[] = {"127.0.0.1", "::1"};

		hosts = (char **) lo;
		nh = 2;
	} else if ((nh = config_list_split(p->inet_interfaces, 16, &hosts)) < 0) {
		buf_appendf(err, "inet_interfaces: more than 16 addresses\n");
		return -1;
	} else {
		owned = true;
	}

	for (int h = 0; h < (nh ? nh : 1); h++) {
		const char *host = nh ? hosts[h] : NULL;
		char    what[300];

		(void) str_fmt(what, sizeof(what), "%s (%s:%s)", s->name,
			       host ? host : "*", s->ent.port);
		if ((r = getaddrinfo(host, s->ent.port, &hints, &res)) != 0) {
			buf_appendf(err, "service %s: cannot resolve: %s\n", what, gai_strerror(r));
			goto fail;
		}
		for (ai = res; ai; ai = ai->ai_next) {
			int     fd;

			if (!protocol_enabled(p, ai->ai_family))
				continue;

			if (s->n_listen >= 16) {
				buf_appendf(err, "service %s: too many addresses\n", what);
				freeaddrinfo(res);
				goto fail;
			}
			if ((fd = inet_bind_one(ai, what, err)) < 0) {
				/* No IPv6 on this host is not an error for a wildcard. */
				if (host == NULL && ai->ai_family == AF_INET6)
					continue;
				freeaddrinfo(res);
				goto fail;
			}
			s->listen_fds[s->n_listen++] = fd;
		}
		freeaddrinfo(res);
	}
	if (owned)
		config_list_free(hosts, nh);
	return 0;

fail:
	if (owned)
		config_list_free(hosts, nh);
	return -1;
}

/*
 * local_listen - a UNIX socket or FIFO in private/ or public/.  Both
 * directories belong to mail_owner, and every chrooted daemon runs as
 * mail_owner: whatever is at a name there may be swapped for a link at
 * any moment.  So the master does everything there as mail_owner (its
 * effective ids; priv.h): the stale entry is removed, the endpoint is
 * made with its final owner and mode (umask), and nothing is ever
 * chowned or chmodded by name.
 */
static int
local_listen(struct service *s, const struct params *p, struct buf *err)
{
	char    path[256];
	struct priv_as saved;
	uid_t   uid;
	gid_t   gid;
	int     fd;

	if (owner_ids(p, &uid, &gid) < 0) {
		buf_appendf(err, "mail_owner %s: no such user\n", p->mail_owner);
		return -1;
	}
	if (str_fmt(path, sizeof(path), "%s/%s", s->ent.private_ ? "private" : "public",
		    s->name) < 0) {
		buf_appendf(err, "service %s: name too long\n", s->name);
		return -1;
	}
	priv_as_begin(uid, gid, &saved);
	if (s->type == SVC_FIFO)
		fd = trigger_listen(path, s->ent.private_ ? 0600 : 0622);
	else
		fd = ipc_listen(path, s->ent.private_ ? 0600 : 0666, LISTEN_BACKLOG);
	if (fd < 0)
		buf_appendf(err, "service %s: cannot make %s %s as %s: %s\n", s->name,
			    s->type == SVC_FIFO ? "the FIFO" : "the socket", path,
			    p->mail_owner, strerror(errno));
	priv_as_end(&saved);
	if (fd < 0)
		return -1;
	s->listen_fds[s->n_listen++] = fd;
	return 0;
}

static void
make_key(struct service *s, const struct params *p)
{
	if (s->type == SVC_INET)
		(void) str_fmt(s->listen_key, sizeof(s->listen_key), "inet %s:%s %s",
			       s->ent.host ? s->ent.host : "", s->ent.port,
			       s->ent.host ? "" : p->inet_interfaces);
	else
		(void) str_fmt(s->listen_key, sizeof(s->listen_key), "%s %s/%s",
			       mastercf_type_name(s->type),
			       s->ent.private_ ? "private" : "public", s->name);
}

static char **
make_argv(const struct service *s, const struct params *p)
{
	int     n = 0, max = 16 + 2 * s->ent.n_overrides + s->ent.argc;
	char  **v = xcalloc((size_t) max, sizeof(*v));
	struct buf path;

	buf_init(&path, 8192);
	buf_appendf(&path, "%s/%s", p->daemon_directory, s->ent.argv[0]);
	v[n++] = buf_steal(&path);
	buf_free(&path);
	v[n++] = xstrdup("-c");
	v[n++] = xstrdup(master_config_dir);
	v[n++] = xstrdup("-n");
	v[n++] = xstrdup(s->name);
	v[n++] = xstrdup("-t");
	v[n++] = xstrdup(mastercf_type_name(s->type));
	if (s->ent.unpriv)
		v[n++] = xstrdup("-u");
	if (s->ent.chroot)
		v[n++] = xstrdup("-z");
	if (master_foreground)
		v[n++] = xstrdup("-S");
	for (int i = 0; i < s->ent.n_overrides; i++) {
		v[n++] = xstrdup("-o");
		v[n++] = xstrdup(s->ent.overrides[i]);
	}
	for (int i = 1; i < s->ent.argc; i++)
		v[n++] = xstrdup(s->ent.argv[i]);
	v[n] = NULL;
	return v;
}

static struct service *
find_key(struct service *list, const char *key)
{
	for (; list; list = list->next)
		if (strcmp(list->listen_key, key) == 0)
			return list;
	return NULL;
}

struct service *
master_services_build(const struct params *p, const struct mastercf *mc,
		      struct service *reuse, struct buf *err)
{
	struct service *head = NULL, **tail = &head;
	unsigned gen = master_generation + 1;

	for (size_t i = 0; i < mc->n; i++) {
		const struct mastercf_entry *e = &mc->v[i];
		struct service *s = xcalloc(1, sizeof(*s));
		struct service *old;

		s->ent = *e;
		s->ent.name = xstrdup(e->name);
		s->ent.host = e->host ? xstrdup(e->host) : NULL;
		s->ent.port = e->port ? xstrdup(e->port) : NULL;
		s->ent.argv = strv_copy(e->argv, e->argc);
		s->ent.overrides = strv_copy(e->overrides, e->n_overrides);
		s->name = s->ent.name;
		s->type = e->type;
		s->model = MODEL_SINGLE;
		for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++)
			if (strcmp(models[m].command, e->argv[0]) == 0) {
				s->model = models[m].model;
				s->singleton = models[m].singleton;
			}
		s->max_proc = e->maxproc;
		if (s->singleton)
			s->max_proc = 1;
		else if (s->model == MODEL_EVENT && e->maxproc_default)
			s->max_proc = master_cpus() > 64 ? 64 : master_cpus();
		else if (s->model == MODEL_EVENT && (s->max_proc == 0 || s->max_proc > 64))
			s->max_proc = s->max_proc == 0 ? 1 : 64;
		s->generation = gen;
		s->status_pipe[0] = s->status_pipe[1] = -1;
		s->wakeup_fd = -1;
		s->argv = make_argv(s, p);
		make_key(s, p);

		*tail = s;
		tail = &s->next;

		if ((old = find_key(reuse, s->listen_key)) != NULL && old->n_listen > 0) {
			for (int k = 0; k < old->n_listen; k++) {
				int     fd = fcntl(old->listen_fds[k], F_DUPFD_CLOEXEC, 3);

				if (fd < 0) {
					buf_appendf(err, "service %s: dup: %s\n", s->name, strerror(errno));
					goto fail;
				}
				s->listen_fds[s->n_listen++] = fd;
			}
		} else if (s->type == SVC_INET) {
			if (inet_listen(s, p, err) < 0)
				goto fail;
		} else if (local_listen(s, p, err) < 0) {
			goto fail;
		}
		if (pipe2(s->status_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
			buf_appendf(err, "service %s: pipe: %s\n", s->name, strerror(errno));
			goto fail;
		}
		/* Children write the status pipe blocking (records are atomic). */
		(void) fcntl(s->status_pipe[1], F_SETFL, 0);
	}
	return head;

fail:
	while (head) {
		struct service *n = head->next;

		master_service_free(head);
		head = n;
	}
	return NULL;
}

void
master_service_free(struct service *s)
{
	for (int i = 0; i < s->n_listen; i++)
		close(s->listen_fds[i]);
	if (s->status_pipe[0] >= 0) {
		if (master_loop)
			ev_io_stop(master_loop, &s->status_io);
		close(s->status_pipe[0]);
		close(s->status_pipe[1]);
	}
	if (master_loop) {
		for (int i = 0; i < 16; i++)
			if (ev_io_active(&s->accept_watch[i]))
				ev_io_stop(master_loop, &s->accept_watch[i]);
		ev_timer_stop(master_loop, &s->throttle_timer);
		ev_timer_stop(master_loop, &s->wakeup_timer);
	}
	free(s->ent.name);
	free(s->ent.host);
	free(s->ent.port);
	strv_free(s->ent.argv);
	strv_free(s->ent.overrides);
	strv_free(s->argv);
	free(s);
}

static void
wakeup_event(struct ev_loop *loop, struct ev_timer *t)
{
	struct service *s = t->data;
	char    w = 'W';

	if (s->retired)
		return;
	/* Wake only if used: '?' services get a wake-up only when busy. */
	if (!s->ent.wakeup_if_used || s->total > 0)
		if (write(s->listen_fds[0], &w, 1) < 0 && errno != EAGAIN)
			log_warn("service %s: wake-up write: %m", s->name);
	ev_timer_start(loop, t, (uint64_t) s->ent.wakeup * 1000);
}

void
master_services_start(struct service *list)
{
	for (struct service *s = list; s; s = s->next) {
		ev_io_init(&s->status_io, s->status_pipe[0], master_status_event, s);
		ev_io_start(master_loop, &s->status_io, EV_READ);
		ev_timer_init(&s->throttle_timer, NULL, s);
		ev_timer_init(&s->wakeup_timer, wakeup_event, s);
		if (s->ent.wakeup > 0 && s->type == SVC_FIFO)
			ev_timer_start(master_loop, &s->wakeup_timer, (uint64_t) s->ent.wakeup * 1000);
		master_adjust(s);
	}
}

void
master_service_retire(struct service *s)
{
	s->retired = true;
	ev_timer_stop(master_loop, &s->wakeup_timer);
	ev_timer_stop(master_loop, &s->throttle_timer);
	for (int i = 0; i < 16; i++)
		if (ev_io_active(&s->accept_watch[i]))
			ev_io_stop(master_loop, &s->accept_watch[i]);
	s->watching = false;
	for (struct proc *p = s->procs; p; p = p->next)
		if (p->state != PS_STOPPING) {
			(void) kill(p->pid, SIGTERM);
			p->state = PS_STOPPING;
		}
	/* Our copies of the listening descriptors go now; children keep theirs. */
	for (int i = 0; i < s->n_listen; i++)
		close(s->listen_fds[i]);
	s->n_listen = 0;
}

void
master_services_close_listeners(struct service *list)
{
	for (struct service *s = list; s; s = s->next) {
		for (int i = 0; i < 16; i++)
			if (ev_io_active(&s->accept_watch[i]))
				ev_io_stop(master_loop, &s->accept_watch[i]);
		s->watching = false;
		for (int i = 0; i < s->n_listen; i++)
			close(s->listen_fds[i]);
		s->n_listen = 0;
	}
}
