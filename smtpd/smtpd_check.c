/*
 * NAME
 *	smtpd_check - what smtpd derives from main.cf at start; local and
 *	relay domains; free space
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_conf_init();		// once, after main.cf is loaded
 *	if (smtpd_domain_local("example.com")) ...
 *	if (smtpd_check_space(declared_size, ev_now(loop)) < 0) ... 452 ...
 * DESCRIPTION
 *	smtpd_conf_init() turns the main.cf lists smtpd needs into their
 *	parsed form (struct smtpd_conf); a bad list is fatal at start-up
 *	with a message naming the parameter, never a surprise later.
 *	The access restrictions are smtpd_restrict.c's.
 *
 *	smtpd_domain_local(): a domain listed in mydestination (exactly,
 *	case aside; "" is local).  An address literal is local only when
 *	mydestination lists it as written ("[192.0.2.1]").
 *	mydestination entries are names; table lookups there are not
 *	supported and are skipped with a warning.  smtpd_domain_relay():
 *	a domain of relay_domains (a name there matches itself and its
 *	subdomains, ".name" only subdomains, as Postfix's
 *	parent_domain_matches_subdomains default does).
 *
 *	smtpd_check_space() refuses MAIL (-1) when the file system that
 *	holds the queue (the working directory, which is the queue
 *	directory) has fewer free bytes than the declared SIZE plus the
 *	larger of queue_minfree and 1.5 * message_size_limit (Postfix's
 *	rule: room for a message of the largest size, and then some).
 *	statvfs() is called at most once a second per process, not per
 *	command.
 *
 *	smtpd_lookup and smtpd_lookup_cancel point at the asynchronous
 *	address lookup of the lookup service (lookup_clnt's
 *	lookup_addr_start()) that reject_unlisted_recipient and
 *	reject_unlisted_sender use; tests replace them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "instance.h"
#include "log.h"
#include "lookup_clnt.h"
#include "mem.h"
#include "params.h"
#include "safefile.h"
#include "smtpd.h"
#include "str.h"
#include "table.h"

#define LIST_MAX	10000		/* domains per list */

struct smtpd_conf smtpd_conf;

static void *
default_lookup(const char *param, const char *address, lookup_done_fn *done,
	       void *ctx)
{
	return lookup_addr_start(param, address, 0, done, ctx);
}

static void
default_cancel(void *handle)
{
	lookup_cancel(handle);
}

smtpd_lookup_fn *smtpd_lookup = default_lookup;
smtpd_lookup_cancel_fn *smtpd_lookup_cancel = default_cancel;

/* domain_list - split a domain list, lowercased, tables skipped */
static int
domain_list(const char *name, const char *value, char ***out)
{
	char  **items;
	int	n, k = 0;

	if ((n = config_list_split(value, LIST_MAX, &items)) < 0)
		log_fatal("%s: more than %d entries (use fewer, or a relay host)",
			  name, LIST_MAX);
	for (int i = 0; i < n; i++) {
		if (strchr(items[i], ':') != NULL && items[i][0] != '[') {
			log_warn("%s: table \"%s\" is not supported here and is "
				 "ignored (list the domains by name)", name, items[i]);
			free(items[i]);
			continue;
		}
		str_lower(items[i]);
		items[k++] = items[i];
	}
	*out = items;
	return k;
}

static struct netlist *
net_list(const char *name, const char *value)
{
	char	err[256];
	struct netlist *nl = netlist_parse(value, err, sizeof(err));

	if (nl == NULL)
		log_fatal("%s: %s (fix it in main.cf)", name, err);
	return nl;
}

void
smtpd_conf_init(void)
{
	const char *bare = cfg->smtpd_forbid_bare_newline;
	uint64_t minfree;

	char	why[256];

	if (cleanup_overrides_parse(cfg->receive_override_options, &smtpd_conf.overrides,
				    why, sizeof(why)) < 0)
		log_fatal("receive_override_options = %s: %s", cfg->receive_override_options,
			  why);
	smtpd_conf.mynetworks = net_list("mynetworks", cfg->mynetworks);
	smtpd_conf.bare_exclusions = net_list("smtpd_forbid_bare_newline_exclusions",
					      cfg->smtpd_forbid_bare_newline_exclusions);
	smtpd_conf.limit_exceptions = net_list("smtpd_client_event_limit_exceptions",
					       cfg->smtpd_client_event_limit_exceptions);
	smtpd_rate_init(SMTPD_RATE_TABLE, (uint64_t) cfg->anvil_rate_time_unit * 1000);
	smtpd_conf.n_mydestination = domain_list("mydestination", cfg->mydestination,
						 &smtpd_conf.mydestination);
	smtpd_conf.n_relay_domains = domain_list("relay_domains", cfg->relay_domains,
						 &smtpd_conf.relay_domains);
	if ((smtpd_conf.n_discard_ehlo = config_list_split(cfg->smtpd_discard_ehlo_keywords,
						64, &smtpd_conf.discard_ehlo)) < 0)
		log_fatal("smtpd_discard_ehlo_keywords: more than 64 entries");

	switch (instance_bare_newline_mode(bare)) {
	case 1:
		smtpd_conf.bare_reject = true;
		break;
	case 0:
		if (str_casecmp(bare, "no") == 0)
			log_warn("smtpd_forbid_bare_newline = no is taken as normalize: "
				 "the end of data is always <CR><LF>.<CR><LF>");
		smtpd_conf.bare_reject = false;
		break;
	default:
		log_fatal("smtpd_forbid_bare_newline = %s: want normalize or reject",
			  bare);
	}

	/* Postfix: room for 1.5 messages of the largest size, at least. */
	minfree = cfg->message_size_limit + cfg->message_size_limit / 2;
	smtpd_conf.minfree = cfg->queue_minfree > minfree ? cfg->queue_minfree : minfree;
	if (smtpd_conf.spool_dir == NULL)
		smtpd_conf.spool_dir = cfg->smtpd_spool_directory;
	if (smtpd_conf.cleanup_path == NULL)
		smtpd_conf.cleanup_path = "private/cleanup";
	smtpd_check_space_reset();
}

void
smtpd_conf_free(void)
{
	netlist_free(smtpd_conf.mynetworks);
	netlist_free(smtpd_conf.limit_exceptions);
	smtpd_conf.limit_exceptions = NULL;
	smtpd_rate_free();
	netlist_free(smtpd_conf.bare_exclusions);
	config_list_free(smtpd_conf.mydestination, smtpd_conf.n_mydestination);
	config_list_free(smtpd_conf.relay_domains, smtpd_conf.n_relay_domains);
	config_list_free(smtpd_conf.discard_ehlo, smtpd_conf.n_discard_ehlo);
	memset(&smtpd_conf, 0, sizeof(smtpd_conf));
}

bool
smtpd_domain_local(const char *domain)
{
	if (domain[0] == 0)
		return true;
	for (int i = 0; i < smtpd_conf.n_mydestination; i++)
		if (str_casecmp(domain, smtpd_conf.mydestination[i]) == 0)
			return true;
	return false;
}

bool
smtpd_domain_relay(const char *domain)
{
	size_t	dl = strlen(domain);

	for (int i = 0; i < smtpd_conf.n_relay_domains; i++) {
		const char *e = smtpd_conf.relay_domains[i];
		bool	sub_only = e[0] == '.';
		size_t	el;

		if (sub_only)
			e++;
		el = strlen(e);
		if (el == 0)
			continue;
		if (!sub_only && dl == el && str_casecmp(domain, e) == 0)
			return true;
		if (dl > el && domain[dl - el - 1] == '.'
		    && str_casecmp(domain + dl - el, e) == 0)
			return true;
	}
	return false;
}


static int64_t space_free = -1;
static uint64_t space_checked;		/* ms; 0: never */

void
smtpd_check_space_reset(void)
{
	space_free = -1;
	space_checked = 0;
}

int
smtpd_check_space(uint64_t declared, uint64_t now_ms)
{
	if (space_checked == 0 || now_ms >= space_checked + 1000 || now_ms < space_checked) {
		space_free = sf_free_space(".");
		space_checked = now_ms ? now_ms : 1;
		if (space_free < 0)
			log_warn("cannot tell the free space of the queue file "
				 "system: %m");
	}
	if (space_free < 0)
		return 0;		/* don't refuse mail on a statvfs hiccup */
	if ((uint64_t) space_free < smtpd_conf.minfree
	    || (uint64_t) space_free - smtpd_conf.minfree < declared)
		return -1;
	return 0;
}
