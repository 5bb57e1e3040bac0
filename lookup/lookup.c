/*
 * NAME
 *	lookup - table and local-user lookups for chrooted daemons
 * SYNOPSIS
 *	lookup -c config_dir -n lookup -t unix -u [-S]	(started by master)
 * DESCRIPTION
 *	The chrooted daemons (smtpd, cleanup, qmgr) cannot open lookup
 *	tables or read the user database: those live outside the queue
 *	directory.  lookup runs outside the chroot, opens the tables that
 *	main.cf names and answers their questions over private/lookup.
 *	It is an event-driven server: persistent connections from many
 *	clients, one process (master.cf maxproc 1 is enough; more work
 *	as well).
 *
 *	A client names a main.cf parameter, never a table.  Served:
 *	alias_maps, virtual_alias_maps, canonical_maps,
 *	sender_canonical_maps, recipient_canonical_maps, transport_maps
 *	and local_recipient_maps (default "unix:passwd.byname
 *	$alias_maps": local users are found through unix:passwd.byname),
 *	smtpd_sender_login_maps, and the check_*_access tables of the
 *	smtpd_*_restrictions lists: main.cf's, and those that the -o
 *	options of smtpd lines in master.cf (read at start) give.
 *	The tables are opened before the privilege drop, so a table that
 *	only root may read is still served; a table is reopened when its
 *	file changed (checked at every request, one stat() per table file
 *	however many keys the request tries, or at most every
 *	lookup_reopen_check_time when that is not 0), so
 *	postmap, postalias and newaliases take effect at once, without a
 *	reload, even for sessions already open.  A table that cannot be opened makes lookups of its
 *	parameter fail with a temporary error (logged once), and is tried
 *	again later.
 * WIRE PROTOCOL
 *	lib/ipc/ipc.h messages on private/lookup (docs/INTERNALS.md, "lookup"):
 *
 *	LOOKUP_REQ_GET	"param" str (a served parameter name, at most
 *			64 bytes), "key" str (at most 1,024 bytes); nothing
 *			else.
 *	LOOKUP_REQ_ADDR	"param" str (as above), "address" str (an
 *			address in canonical form, at most 1,024 bytes);
 *			nothing else.  The keys are tried here, in
 *			Postfix's order for virtual and canonical maps
 *			(user+ext@domain, user@domain, then user+ext and
 *			user in a local domain, then @domain; the first
 *			answer wins), and the result is rewritten as
 *			lookup_clnt.h says ("@otherdomain", extension
 *			propagation): one round trip per address.
 *	LOOKUP_REP	"status" num (0 found, 1 not found, 2 temporary
 *			error), "value" str (the result when found, the
 *			reason of a temporary error, else empty).
 *
 *	Any number of requests per connection, answered in order.  A
 *	request of another type, with records missing, extra, too long or
 *	out of order, or naming a parameter that is not served, is logged
 *	and the client's connection is closed: a well-behaved client
 *	(lib/svc/lookup_clnt.c) never sends one.
 * SECURITY
 *	Unprivileged (mail_owner), not chrooted: it needs the table files
 *	and the user database.  It reads nothing but the tables main.cf
 *	(and master.cf's smtpd -o options) list for the parameters above,
 *	read-only, and every request is
 *	checked before use.  The socket is in private/ (mail_owner only).
 * LIMITS
 *	Connections: at most LOOKUP_CLIENTS_MAX (or the descriptor limit,
 *	when lower); a client idle for ipc_timeout is closed; a client
 *	that does not read its replies is not served until it does.
 * CONFIGURATION PARAMETERS
 *	alias_maps, virtual_alias_maps, canonical_maps,
 *	sender_canonical_maps, recipient_canonical_maps, transport_maps,
 *	local_recipient_maps, lookup_reopen_check_time, ipc_timeout.
 * SEE ALSO
 *	lib/svc/lookup_clnt.h (the client), lib/svc/lookup_maps.h (the tables).
 */
#include <sys/resource.h>

#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "lookup_maps.h"
#include "lookup_server.h"
#include "mastercf.h"
#include "params.h"
#include "restriction.h"
#include "restriction_params.h"
#include "server.h"
#include "str.h"

#define LOOKUP_CLIENTS_MAX	4096
#define FDS_RESERVED		64	/* tables, logging, listeners */

static struct lookup_maps *maps;

/* restriction_override - "-o smtpd_*_restrictions=..." */
static bool
restriction_override(const char *o)
{
	const char *eq = strchr(o, '=');

	return eq != NULL && strncmp(o, "smtpd_", 6) == 0
	    && (size_t) (eq - o) > 19 && memcmp(eq - 13, "_restrictions", 13) == 0;
}

/*
 * service_lists - the restriction tables of smtpd services whose
 * master.cf line overrides a restriction list (-o), as that smtpd sees
 * its lists: main.cf with the service's -o options.
 */
static void
service_lists(void)
{
	char    path[4096];
	struct mastercf mc;
	struct buf err;

	if (str_fmt(path, sizeof(path), "%s/master.cf", server_config_dir()) < 0)
		return;
	buf_init(&err, 64 * 1024);
	if (mastercf_load(path, cfg, &mc, &err) < 0) {
		log_warn("%s: %s: the tables of smtpd -o restriction lists are not "
			 "served (fix master.cf; postern check says more)", path,
			 buf_str(&err));
		buf_free(&err);
		return;
	}
	for (size_t i = 0; i < mc.n; i++) {
		const struct mastercf_entry *e = &mc.v[i];
		struct params *p;
		bool    any = false;

		if (!str_eq(e->argv[0], "smtpd"))
			continue;
		for (int j = 0; j < e->n_overrides; j++)
			any = any || restriction_override(e->overrides[j]);
		if (!any)
			continue;
		buf_reset(&err);
		p = config_load(server_config_dir(), (const char *const *) e->overrides,
				(size_t) e->n_overrides, &err);
		if (p == NULL) {
			log_warn("%s, line %d: %s", path, e->line, buf_str(&err));
			continue;
		}
		lookup_maps_add_lists(maps, p);
		config_free(p);
	}
	mastercf_free(&mc);
	buf_free(&err);
}

static void
lookup_pre_jail(void)
{
	char    why[RESTRICTION_WHY_MAX];

	/* smtpd refuses to start on a bad class; here its tables are just missing. */
	if (restriction_params_classes(cfg, why, sizeof(why)) < 0)
		log_warn("smtpd_restriction_classes: %s", why);
	maps = lookup_maps_new(cfg, cfg->lookup_reopen_check_time * 1000);
	service_lists();
	(void) lookup_maps_open_all(maps);
}

static size_t
max_clients(void)
{
	struct rlimit rl;
	size_t  n = LOOKUP_CLIENTS_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		if (rl.rlim_cur <= FDS_RESERVED + 16)
			n = 16;
		else if (rl.rlim_cur - FDS_RESERVED < n)
			n = (size_t) (rl.rlim_cur - FDS_RESERVED);
	}
	return n;
}

/*
 * load_nss - have the C library load the user database's modules now,
 * before the seccomp filter: a name no database holds goes through
 * every module of nsswitch.conf, and a module's start-up (nss_systemd
 * loads libcap, whose constructor calls prctl) happens here, once.
 */
static void
load_nss(void)
{
	static const char nobody[] = "postern-lookup-nss-probe";

	(void) getpwnam(nobody);
	(void) getgrnam(nobody);
	endpwent();
	endgrent();
}

static void
lookup_start(struct ev_loop *loop)
{
	load_nss();
	lookup_server_init(maps, cfg->ipc_timeout * 1000, max_clients());
	for (int i = 0; i < server_listen_count(); i++)
		lookup_server_listen(loop, server_listen_fd(i));
	if (server_listen_count() == 0)
		log_fatal("no listening socket: master.cf must define lookup as a "
			  "unix service");
}

static void
stopped(void)
{
	server_exit(0);
}

static void
lookup_stop(struct ev_loop *loop)
{
	lookup_server_stop(loop, stopped);
}

static void
lookup_on_exit(void)
{
	lookup_maps_free(maps);
	maps = NULL;
}

static const char *const params[] = {
	"alias_maps", "canonical_maps", "ipc_timeout",
	"local_recipient_maps", "lookup_reopen_check_time",
	"recipient_canonical_maps", "sender_canonical_maps",
	"smtpd_*_restrictions", "smtpd_restriction_classes", "smtpd_sender_login_maps",
	"transport_maps", "virtual_alias_maps", NULL,
};

/* The socketmap: servers its tables name (socketmap:unix:PATH:MAP). */
static const char *const talks[] = {
	"$*_maps", "$smtpd_*_restrictions", NULL,
};

/*
 * Beyond the common set (lib/svc/sandbox.c): socketmap:inet: servers and
 * getaddrinfo() for their host names (glibc's resolver sends the A and
 * AAAA questions with one sendmmsg).  Opening a table, Berkeley DB and
 * the user database (NSS "files", and "systemd" over a UNIX socket) use
 * common calls only.
 */
static const char *const syscalls[] = {
	"socket:inet", "socket:inet6", "sendmmsg", NULL,
};

static const struct server_ops ops = {
	.model = SERVER_EVENT,
	.chroot = SERVER_CHROOT_NEVER,
	.syscalls = syscalls,
	.talks = talks,
	.params = params,
	.pre_jail = lookup_pre_jail,
	.start = lookup_start,
	.stop = lookup_stop,
	.on_exit = lookup_on_exit,
};

int
main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
