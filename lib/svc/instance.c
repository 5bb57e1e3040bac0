/*
 * NAME
 *	instance - load and check a whole instance's configuration
 * DESCRIPTION
 *	See instance.h.  One function serves `postern check` and the
 *	master's refusal to start, so they can never disagree.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup_clnt.h"
#include "config.h"
#include "daemon_decl.h"
#include "delivery.h"
#include "dns.h"
#include "instance.h"
#include "lookup_maps.h"
#include "restriction.h"
#include "restriction_params.h"
#include "log.h"
#include "mem.h"
#include "netmatch.h"
#include "num.h"
#include "param_class.h"
#include "qtree.h"
#include "str.h"
#include "table.h"
#include "tls_params.h"

int
instance_load(const char *config_dir, struct instance *in, struct buf *problems)
{
	return instance_load_fd(config_dir, -1, in, problems);
}

int
instance_load_fd(const char *config_dir, int main_cf_fd, struct instance *in,
		 struct buf *problems)
{
	char    path[4096];

	memset(in, 0, sizeof(*in));
	in->params = config_load_fd(config_dir, main_cf_fd, NULL, 0, problems);
	if (in->params == NULL)
		return -1;
	if (str_fmt(path, sizeof(path), "%s/master.cf", config_dir) < 0) {
		buf_appendf(problems, "configuration directory name too long: %s\n", config_dir);
		goto fail;
	}
	if (mastercf_load(path, in->params, &in->mc, problems) < 0)
		goto fail;
	return 0;

fail:
	config_free(in->params);
	in->params = NULL;
	return -1;
}

static int
check_abs(const char *name, const char *value, struct buf *problems)
{
	if (value[0] != '/') {
		buf_appendf(problems, "main.cf: %s = %s: must be an absolute path\n", name, value);
		return 1;
	}
	return 0;
}

/*
 * check_postdrop - sendmail can submit only through a set-group-id
 * postdrop (cmd/postdrop.c, SECURITY).
 */
static int
check_postdrop(const struct params *p, struct buf *problems)
{
	char    path[4096];
	struct stat st;
	struct group *gr = getgrnam(p->setgid_group);

	(void) str_fmt(path, sizeof(path), "%s/postdrop", p->command_directory);
	if (lstat(path, &st) < 0) {
		buf_appendf(problems, "%s: %s: sendmail cannot submit mail (check "
			    "command_directory = %s)\n", path, strerror(errno),
			    p->command_directory);
		return 1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || gr == NULL || st.st_gid != gr->gr_gid
	    || (st.st_mode & 07777) != 02755) {
		buf_appendf(problems, "%s: not set-group-id %s (owner uid %lu, gid %lu, "
			    "mode %04o; want root:%s 2755): sendmail cannot write the "
			    "maildrop queue; run postern init to fix\n", path,
			    p->setgid_group, (unsigned long) st.st_uid,
			    (unsigned long) st.st_gid, (unsigned) (st.st_mode & 07777),
			    p->setgid_group);
		return 1;
	}
	return 0;
}

/* check_protocols - inet_protocols is all, ipv4, ipv6 or both */
static int
check_protocols(const struct params *p, struct buf *problems)
{
	char  **items;
	int     k = config_list_split(p->inet_protocols, 4, &items), bad = 0;

	for (int i = 0; i < k; i++)
		if (strcmp(items[i], "all") && strcmp(items[i], "ipv4") && strcmp(items[i], "ipv6"))
			bad = 1;
	config_list_free(items, k);
	if (k <= 0 || bad) {
		buf_appendf(problems, "main.cf: inet_protocols = %s: use all, ipv4, ipv6 "
			    "or \"ipv4, ipv6\"\n", p->inet_protocols);
		return 1;
	}
	return 0;
}

/* check_resolver - resolver_servers must parse, or smtpd would not start */
static int
check_resolver(const struct params *p, struct buf *problems)
{
	char    csv[1024], why[256];

	if (p->resolver_servers[0] == '\0')
		return 0;
	if (dns_servers_csv(p->resolver_servers, csv, sizeof(csv), why, sizeof(why)) < 0) {
		buf_appendf(problems, "main.cf: resolver_servers = %s: %s\n",
			    p->resolver_servers, why);
		return 1;
	}
	return 0;
}

int
instance_bare_newline_mode(const char *v)
{
	if (str_casecmp(v, "reject") == 0)
		return 1;
	if (str_casecmp(v, "normalize") == 0 || str_casecmp(v, "yes") == 0
	    || str_casecmp(v, "no") == 0)
		return 0;
	return -1;
}

int
instance_anvil_closed(const char *v)
{
	if (str_casecmp(v, "closed") == 0)
		return 1;
	if (str_casecmp(v, "open") == 0)
		return 0;
	return -1;
}

/*
 * check_smtpd - the values smtpd parses when it starts, and refuses to
 * start without: its client address lists, the bare newline mode and
 * what to do without anvil
 */
static int
check_smtpd(const struct params *p, struct buf *problems)
{
	const struct {
		const char *name;
		const char *value;
	}       lists[] = {
		{"mynetworks", p->mynetworks},
		{"smtpd_forbid_bare_newline_exclusions",
		p->smtpd_forbid_bare_newline_exclusions},
		{"smtpd_client_event_limit_exceptions",
		p->smtpd_client_event_limit_exceptions},
	};
	int     n = 0;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		char    why[256];
		struct netlist *nl = netlist_parse(lists[i].value, why, sizeof(why));

		if (nl == NULL) {
			buf_appendf(problems, "main.cf: %s = %s: %s\n", lists[i].name,
				    lists[i].value, why);
			n++;
		}
		netlist_free(nl);
	}
	if (instance_bare_newline_mode(p->smtpd_forbid_bare_newline) < 0) {
		buf_appendf(problems, "main.cf: smtpd_forbid_bare_newline = %s: want "
			    "normalize or reject\n", p->smtpd_forbid_bare_newline);
		n++;
	}
	if (instance_anvil_closed(p->smtpd_anvil_failure_mode) < 0) {
		buf_appendf(problems, "main.cf: smtpd_anvil_failure_mode = %s: want "
			    "open or closed\n", p->smtpd_anvil_failure_mode);
		n++;
	}
	return n;
}

/* one_of - is v (ASCII case-insensitive) one of the words? */
static bool
one_of(const char *v, const char *const *words)
{
	for (; *words; words++)
		if (str_casecmp(v, *words) == 0)
			return true;
	return false;
}

/*
 * check_smtp - the values the SMTP client refuses to start without
 * (smtp/smtp.c: a word out of these lists is fatal there)
 */
static int
check_smtp(const struct params *p, struct buf *problems)
{
	static const char *const levels[] = {"none", "may", "encrypt", "dane",
		"dane-only", "verify", "secure", NULL};
	static const char *const dns_levels[] = {"", "enabled", "dnssec", NULL};
	static const char *const prefs[] = {"any", "ipv4", "ipv6", NULL};
	static const char *const ports[] = {"smtp", "submission", "smtps", NULL};
	long long port;
	const char *err;
	int	n = 0;

	if (!one_of(p->smtp_tls_security_level, levels)) {
		buf_appendf(problems, "main.cf: smtp_tls_security_level = %s: want none, "
			    "may, encrypt, dane, dane-only, verify or secure\n",
			    p->smtp_tls_security_level);
		n++;
	}
	if (!one_of(p->smtp_dns_support_level, dns_levels)) {
		buf_appendf(problems, "main.cf: smtp_dns_support_level = %s: want "
			    "enabled or dnssec (\"disabled\" is not supported: "
			    "postern's smtp always uses DNS)\n", p->smtp_dns_support_level);
		n++;
	} else if ((str_casecmp(p->smtp_tls_security_level, "dane") == 0
		    || str_casecmp(p->smtp_tls_security_level, "dane-only") == 0)
		   && str_casecmp(p->smtp_dns_support_level, "dnssec") != 0)
		/* As Postfix: a warning; smtp then uses may, or defers dane-only. */
		log_warn("main.cf: smtp_tls_security_level = %s needs "
			 "smtp_dns_support_level = dnssec: without it smtp uses level "
			 "may for dane and defers mail for dane-only",
			 p->smtp_tls_security_level);
	if (!one_of(p->smtp_address_preference, prefs)) {
		buf_appendf(problems, "main.cf: smtp_address_preference = %s: want any, "
			    "ipv4 or ipv6\n", p->smtp_address_preference);
		n++;
	}
	if (!one_of(p->smtp_tcp_port, ports)
	    && num_parse_int(p->smtp_tcp_port, 1, 65535, &port, &err) < 0) {
		buf_appendf(problems, "main.cf: smtp_tcp_port = %s: want a port number "
			    "or smtp, submission, smtps\n", p->smtp_tcp_port);
		n++;
	}
	return n;
}

/*
 * check_qmgr - the concurrency feedback values, main.cf's and every
 * TRANSPORT_ setting of them (the string families of params.h; qmgr
 * would fall back to the default with a warning)
 */
static int
check_qmgr(const struct params *p, struct buf *problems)
{
	const struct {
		const char *name;
		const char *value;
	}       dflt[] = {
		{"default_destination_concurrency_positive_feedback",
		p->default_destination_concurrency_positive_feedback},
		{"default_destination_concurrency_negative_feedback",
		p->default_destination_concurrency_negative_feedback},
	};
	struct param_feedback fb;
	char	why[256];
	int	n = 0;

	for (size_t k = 0; k < sizeof(dflt) / sizeof(dflt[0]); k++)
		if (param_feedback_parse(dflt[k].value, &fb, why, sizeof(why)) < 0) {
			buf_appendf(problems, "main.cf: %s = %s\n", dflt[k].name, why);
			n++;
		}
	for (size_t i = 0; i < p->n_per_transport; i++) {
		const struct param_transport *t = &p->per_transport[i];

		if (t->str != NULL
		    && param_feedback_parse(t->str, &fb, why, sizeof(why)) < 0) {
			buf_appendf(problems, "main.cf: %s = %s\n", t->name, why);
			n++;
		}
	}
	return n;
}

/*
 * warn_compat - parameters accepted so that a Postfix main.cf loads
 * (Debian's default main.cf sets biff and append_dot_mydomain), which
 * postern implements only at their defaults.
 */
static void
warn_compat(const struct params *p)
{
	if (p->biff)
		log_warn("main.cf: biff = yes is not supported: no biff notices are sent");
	if (p->append_dot_mydomain)
		log_warn("main.cf: append_dot_mydomain = yes is not supported: "
			 "addresses are not rewritten");
}

/* unused_line - "DIR/main.cf, line N: " + what config_unused_why says */
static void
unused_line(const struct params *p, const struct param_unused *u, struct buf *out)
{
	buf_appendf(out, "%s/main.cf, line %d: %s\n", p->config_directory, u->line,
		    config_unused_why(u->name, u->name));
}

/* refers_to - text holds $name, ${name...} or $(name...) */
static bool
refers_to(const char *text, const char *name)
{
	size_t  n = strlen(name);

	for (const char *d = strchr(text, '$'); d != NULL; d = strchr(d + 1, '$')) {
		const char *q = d + 1;

		if (*q == '$') {			/* $$: a literal '$' */
			d = q;
			continue;
		}
		if (*q == '{' || *q == '(')
			q++;
		if (strncmp(q, name, n) == 0 && !(isalnum((unsigned char) q[n]) || q[n] == '_'))
			return true;
	}
	return false;
}

/*
 * user_defined - a main.cf name params.def does not have that main.cf
 * or a master.cf -o refers to as $name: a user-defined parameter, as in
 * Postfix, and nothing to note
 */
static bool
user_defined(const struct instance *in, const struct param_unused *u)
{
	if (u->used || config_list_contains(in->params->smtpd_restriction_classes, u->name))
		return true;
	for (size_t i = 0; i < in->mc.n; i++)
		for (int j = 0; j < in->mc.v[i].n_overrides; j++) {
			const char *eq = strchr(in->mc.v[i].overrides[j], '=');

			if (eq != NULL && refers_to(eq + 1, u->name))
				return true;
		}
	return false;
}

/*
 * check_unsupported - a Postfix parameter postern does not implement
 * yet, whose absence would change security, routing or what is
 * accepted, stops check, start and reload (param_class.h)
 */
static int
check_unsupported(const struct instance *in, struct buf *problems)
{
	const struct params *p = in->params;
	int     n = 0;

	for (size_t k = 0; k < p->n_unused; k++)
		if (param_class(p->unused[k].name, NULL) == PARAM_UNSUPPORTED
		    && !(user_defined(in, &p->unused[k])
			 && !param_postfix_name(p->unused[k].name))) {
			unused_line(p, &p->unused[k], problems);
			n++;
		}
	return n;
}

/* check_tables - every table a PARAM_MAPS parameter names can be opened */
static int
check_tables(const struct params *p, struct buf *problems)
{
	int     n = 0;

	for (size_t i = 0; i < param_count; i++) {
		const char *v;
		char    why[TABLE_ERROR_MAX];
		bool    seen = false;

		/* Only a table list is a string: read no other field as one. */
		if (!param_table[i].tables)
			continue;
		v = *(const char *const *) ((const char *) p + param_table[i].offset);
		/* mime_header_checks = $header_checks: one problem, said once. */
		for (size_t j = 0; j < i && !seen; j++)
			seen = param_table[j].tables && str_eq(v, *(const char *const *)
						 ((const char *) p + param_table[j].offset));
		if (seen || table_list_check(v, why, sizeof(why)) == 0)
			continue;
		buf_appendf(problems, "main.cf: %s = %s: %s\n", param_table[i].name, v, why);
		n++;
	}
	return n;
}

/*
 * check_override_tables - the same for a master.cf -o that sets a table
 * parameter (a value with '$' is checked where it is expanded, by the
 * daemon at its start)
 */
static int
check_override_tables(const struct instance *in, struct buf *problems)
{
	int     n = 0;

	for (size_t i = 0; i < in->mc.n; i++) {
		const struct mastercf_entry *e = &in->mc.v[i];

		for (int j = 0; j < e->n_overrides; j++) {
			const char *nv = e->overrides[j], *eq = strchr(nv, '=');
			const struct param_info *pi;
			char    name[128], why[TABLE_ERROR_MAX];

			if (eq == NULL || strchr(eq, '$') != NULL
			    || str_fmt(name, sizeof(name), "%.*s", (int) (eq - nv), nv) < 0
			    || (pi = param_find(name)) == NULL || !pi->tables
			    || table_list_check(eq + 1, why, sizeof(why)) == 0)
				continue;
			buf_appendf(problems, "master.cf, line %d: service %s: -o %s: %s\n",
				    e->line, e->name, nv, why);
			n++;
		}
	}
	return n;
}

/*
 * check_restrictions - smtpd would refuse to start on a restriction
 * list it cannot parse (an unknown restriction, a missing or malformed
 * argument) or on a relay policy without a relay check, in main.cf or
 * in a smtpd service's -o
 */
static int
check_restrictions(const struct instance *in, struct buf *problems)
{
	const struct params *p = in->params;
	const char *const *names = lookup_maps_restriction_params;
	char    why[RESTRICTION_WHY_MAX];
	int     n = 0;

	/* The classes first: their names are words of the lists. */
	if (restriction_params_classes(p, why, sizeof(why)) < 0) {
		buf_appendf(problems, "main.cf: smtpd_restriction_classes: %s\n", why);
		n++;
	}
	for (size_t i = 0; names[i] != NULL; i++) {
		const struct param_info *pi = param_find(names[i]);
		const char *v = *(const char *const *) ((const char *) p + pi->offset);
		struct restriction *l;
		size_t  k;

		if (restriction_parse(v, &l, &k, why, sizeof(why)) < 0) {
			buf_appendf(problems, "main.cf: %s = %s: %s\n", names[i], v, why);
			n++;
			continue;
		}
		restriction_free(l, k);
	}
	if (n == 0 && !restriction_relay_ok(p->smtpd_relay_restrictions)
	    && !restriction_relay_ok(p->smtpd_recipient_restrictions)) {
		buf_appendf(problems, "main.cf: in parameter smtpd_relay_restrictions or "
			    "smtpd_recipient_restrictions, specify at least one working "
			    "instance of: reject_unauth_destination, "
			    "defer_unauth_destination, reject, defer, defer_if_permit\n");
		n++;
	}
	for (size_t i = 0; i < in->mc.n; i++) {
		const struct mastercf_entry *e = &in->mc.v[i];

		for (int j = 0; j < e->n_overrides; j++) {
			const char *nv = e->overrides[j], *eq = strchr(nv, '=');
			struct restriction *l;
			size_t  k, nl;

			if (eq == NULL || strchr(eq, '$') != NULL)
				continue;
			nl = (size_t) (eq - nv);
			for (size_t r = 0; names[r] != NULL; r++) {
				if (strlen(names[r]) != nl || strncmp(names[r], nv, nl) != 0)
					continue;
				if (restriction_parse(eq + 1, &l, &k, why, sizeof(why)) < 0) {
					buf_appendf(problems, "master.cf, line %d: service %s: "
						    "-o %s: %s\n", e->line, e->name, nv, why);
					n++;
				} else
					restriction_free(l, k);
			}
		}
	}
	return n;
}

/*
 * filter_why - why a content_filter or default_filter_nexthop value
 * cannot work (NULL: it can): transport:nexthop, the transport one of
 * master.cf's services
 */
static const char *
filter_why(const struct instance *in, const char *v, char *why, size_t size)
{
	const char *colon = strchr(v, ':');
	char	tp[DELIVERY_TRANSPORT_MAX + 1];

	if (*v == '\0')
		return NULL;
	/* What cleanup takes for the queue file's filter attribute. */
	if (strlen(v) > CLEANUP_FILTER_MAX
	    || !str_all_in(v, strlen(v), STR_LOWER STR_UPPER STR_DIGITS STR_PUNCT)) {
		(void) str_fmt(why, size, "want at most %d printable characters and no "
			       "space (cleanup refuses anything else)", CLEANUP_FILTER_MAX);
		return why;
	}
	if (colon == NULL || colon == v
	    || str_fmt(tp, sizeof(tp), "%.*s", (int) (colon - v), v) < 0
	    || !delivery_transport_valid(tp)) {
		(void) str_copy(why, size, "want transport:nexthop, as "
				"smtp-amavis:[127.0.0.1]:10024 (nexthop may be empty)");
		return why;
	}
	for (size_t i = 0; i < in->mc.n; i++)
		if (str_eq(in->mc.v[i].name, tp))
			return NULL;
	(void) str_fmt(why, size, "transport %s is not a master.cf service (add one, "
		       "as a copy of the smtp line named %s)", tp, tp);
	return why;
}

/* override_why - why a receive_override_options value is refused */
static const char *
override_why(const char *v, char *why, size_t size)
{
	struct cleanup_overrides o;

	return cleanup_overrides_parse(v, &o, why, size) < 0 ? why : NULL;
}

/*
 * check_filters - content_filter and receive_override_options, in
 * main.cf and in every service's -o: smtpd and pickup would refuse to
 * start on a bad override list, and a filter transport that does not
 * exist would defer every message
 */
static int
check_filters(const struct instance *in, struct buf *problems)
{
	const struct params *p = in->params;
	char	why[300];
	const char *w;
	int	n = 0;

	if ((w = filter_why(in, p->content_filter, why, sizeof(why))) != NULL) {
		buf_appendf(problems, "main.cf: content_filter = %s: %s\n", p->content_filter, w);
		n++;
	}
	if ((w = override_why(p->receive_override_options, why, sizeof(why))) != NULL) {
		buf_appendf(problems, "main.cf: receive_override_options = %s: %s\n",
			    p->receive_override_options, w);
		n++;
	}
	for (size_t i = 0; i < in->mc.n; i++) {
		const struct mastercf_entry *e = &in->mc.v[i];

		for (int j = 0; j < e->n_overrides; j++) {
			const char *nv = e->overrides[j], *eq = strchr(nv, '=');

			if (eq == NULL || strchr(eq, '$') != NULL)
				continue;
			if (strncmp(nv, "content_filter=", 15) == 0)
				w = filter_why(in, eq + 1, why, sizeof(why));
			else if (strncmp(nv, "receive_override_options=", 25) == 0)
				w = override_why(eq + 1, why, sizeof(why));
			else
				continue;
			if (w != NULL) {
				buf_appendf(problems, "master.cf, line %d: service %s: -o %s: %s\n",
					    e->line, e->name, nv, w);
				n++;
			}
		}
	}
	return n;
}

/*
 * check_alias_database - newaliases can build every table of
 * alias_database: a hash: or btree: table whose source file exists
 */
static int
check_alias_database(const struct params *p, struct buf *problems)
{
	char  **items;
	int     k = config_list_split(p->alias_database, TABLE_LIST_MAX, &items), n = 0;
	struct stat st;

	for (int i = 0; i < k; i++) {
		const char *spec = items[i], *src = strchr(spec, ':');

		if (src == NULL)
			continue;		/* check_tables() said so */
		src++;
		if (strncmp(spec, "hash:", 5) != 0 && strncmp(spec, "btree:", 6) != 0) {
			buf_appendf(problems, "main.cf: alias_database = %s: newaliases "
				    "cannot build %s (it builds hash: and btree: "
				    "tables)\n", p->alias_database, spec);
			n++;
		} else if (stat(src, &st) < 0) {
			buf_appendf(problems, "main.cf: alias_database = %s: %s: %s "
				    "(newaliases builds %s.db from this file: create "
				    "it, or name the aliases file)\n", p->alias_database,
				    src, strerror(errno), src);
			n++;
		} else if (!S_ISREG(st.st_mode)) {
			buf_appendf(problems, "main.cf: alias_database = %s: %s: not a "
				    "regular file\n", p->alias_database, src);
			n++;
		}
	}
	config_list_free(items, k);
	return n;
}

int
instance_notes(const struct instance *in, struct buf *notes)
{
	const struct params *p = in->params;
	int     n = 0;

	for (size_t k = 0; k < p->n_unused; k++)
		if (param_class(p->unused[k].name, NULL) != PARAM_UNSUPPORTED
		    && !user_defined(in, &p->unused[k])) {
			unused_line(p, &p->unused[k], notes);
			n++;
		}
	for (size_t i = 0; i < in->mc.n; i++) {
		const struct mastercf_entry *e = &in->mc.v[i];

		for (int j = 0; j < e->n_overrides; j++) {
			const char *nv = e->overrides[j], *eq = strchr(nv, '=');
			char    name[128];
			const char *what;

			if (eq == NULL || str_fmt(name, sizeof(name), "%.*s",
						  (int) (eq - nv), nv) < 0
			    || param_class(name, &what) != PARAM_IGNORED)
				continue;
			buf_appendf(notes, "%s/master.cf, line %d: service %s: -o %s is "
				    "ignored (%s)\n", p->config_directory, e->line,
				    e->name, name, what);
			n++;
		}
	}
	return n;
}

int
instance_check(const struct instance *in, struct buf *problems)
{
	const struct params *p = in->params;
	int     n = 0;

	n += check_abs("queue_directory", p->queue_directory, problems);
	n += check_abs("data_directory", p->data_directory, problems);
	n += check_abs("daemon_directory", p->daemon_directory, problems);
	n += check_abs("command_directory", p->command_directory, problems);
	if (n > 0)
		return n;
	n += check_unsupported(in, problems);
	n += check_tables(p, problems);
	n += check_override_tables(in, problems);
	n += check_restrictions(in, problems);
	n += check_filters(in, problems);
	n += check_alias_database(p, problems);
	n += check_protocols(p, problems);
	n += check_resolver(p, problems);
	n += check_smtpd(p, problems);
	n += check_smtp(p, problems);
	n += check_qmgr(p, problems);
	n += tls_params_check(in, problems);
	warn_compat(p);
	n += qtree_check(p, problems);
	n += check_postdrop(p, problems);
	n += daemon_decl_check(p, &in->mc, problems);
	for (size_t i = 0; i < in->mc.n; i++) {
		const struct mastercf_entry *e = &in->mc.v[i];
		char    path[4096];

		if (str_fmt(path, sizeof(path), "%s/%s", p->daemon_directory, e->argv[0]) < 0
		    || access(path, X_OK) < 0) {
			buf_appendf(problems, "master.cf, line %d: service %s: command %s: %s "
				    "(check daemon_directory = %s)\n", e->line, e->name,
				    path, strerror(errno), p->daemon_directory);
			n++;
		}
	}
	return n;
}

void
instance_free(struct instance *in)
{
	if (in->params) {
		mastercf_free(&in->mc);
		config_free(in->params);
	}
	memset(in, 0, sizeof(*in));
}

int
instance_table_files(const struct params *p, char **out, int max)
{
	const char *lists[] = {p->alias_maps, p->virtual_alias_maps, p->canonical_maps,
		p->sender_canonical_maps, p->recipient_canonical_maps, p->transport_maps,
	p->local_recipient_maps};
	int     n = 0;

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		char  **items;
		int     k = config_list_split(lists[l], 64, &items);

		for (int i = 0; i < k; i++) {
			const char *spec = items[i];
			const char *colon = strchr(spec, ':');
			struct buf b;
			bool    dup = false;

			if (colon == NULL || n >= max)
				continue;
			if (strncmp(spec, "hash:", 5) != 0 && strncmp(spec, "btree:", 6) != 0)
				continue;
			buf_init(&b, 4200);
			if (buf_appendf(&b, "%s.db", colon + 1) < 0) {
				buf_free(&b);
				continue;
			}
			for (int j = 0; j < n; j++)
				dup |= strcmp(out[j], b.data) == 0;
			if (dup)
				buf_free(&b);
			else
				out[n++] = buf_steal(&b), buf_free(&b);
		}
		config_list_free(items, k);
	}
	return n;
}
