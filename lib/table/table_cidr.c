/*
 * NAME
 *	table_cidr - cidr: tables (client address patterns)
 * DESCRIPTION
 *	cidr:PATH reads the rule file PATH whole at open, as Postfix's
 *	cidr_table(5) (table_rules.h without delimiters):
 *
 *	  192.0.2.0/24		result
 *	  192.0.2.7		result		(one address)
 *	  2001:db8::/32		result		(IPv6, with or without [])
 *	  !198.51.100.0/24	result		(every address outside)
 *	  if 203.0.113.0/24 ... endif
 *
 *	A lookup key must be an IPv4 or IPv6 address (brackets and a
 *	"%scope" suffix are ignored; a v4-mapped IPv6 address is its
 *	IPv4 address); any other key is not found.  Rules are tried in
 *	file order and the first that matches answers with its result,
 *	as written.  Networks are parsed by lib/mail/netmatch (bits set past
 *	the prefix are cleared with a warning, as Postfix does).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "netmatch.h"
#include "str.h"
#include "table.h"
#include "table_impl.h"
#include "table_rules.h"

static void
free_net(void *p)
{
	netlist_free(p);
}

static int
compile(struct table *t, struct table_rule *rule)
{
	char    entry[NETLIST_ENTRY_MAX + 4], why[256];
	const char *p = rule->pattern, *slash;

	if (strlen(p) > NETLIST_ENTRY_MAX) {
		table_seterr(t, "%s, line %lu: \"%.60s...\" is no address or network",
			     t->name, rule->line, p);
		return -1;
	}
	/* netmatch wants IPv6 in brackets: "2001:db8::/32" -> "[2001:db8::]/32". */
	if (strchr(p, ':') != NULL && p[0] != '[') {
		slash = strchr(p, '/');
		if (slash)
			(void) str_fmt(entry, sizeof(entry), "[%.*s]%s",
				       (int) (slash - p), p, slash);
		else
			(void) str_fmt(entry, sizeof(entry), "[%s]", p);
	} else
		(void) str_copy(entry, sizeof(entry), p);
	if (strpbrk(entry, ", \t!") != NULL
	    || (rule->compiled = netlist_parse(entry, why, sizeof(why))) == NULL
	    || netlist_count(rule->compiled) != 1) {
		table_seterr(t, "%s, line %lu: \"%s\" is no address or network%s%s",
			     t->name, rule->line, p, rule->compiled ? "" : ": ",
			     rule->compiled ? "" : why);
		return -1;
	}
	return 0;
}

static int
cidr_open(struct table *t)
{
	struct table_rules *r = table_rules_read(t, false);

	if (r == NULL)
		return -1;
	for (size_t i = 0; i < r->n; i++) {
		if (r->rule[i].op != TABLE_RULE_ENDIF && compile(t, &r->rule[i]) < 0) {
			table_rules_free(r, free_net);
			errno = EINVAL;
			return -1;
		}
	}
	t->state = r;
	return 0;
}

/* is_address - the key is an IPv4 or IPv6 address in some form */
static bool
is_address(const char *key)
{
	char    a[INET6_ADDRSTRLEN + 8];
	unsigned char bin[16];
	size_t  n;

	if (*key == '[')
		key++;
	n = strcspn(key, "]%");
	if (n == 0 || n >= sizeof(a))
		return false;
	memcpy(a, key, n);
	a[n] = '\0';
	return inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1;
}

static int
cidr_get(struct table *t, const char *key, struct buf *value)
{
	struct table_rules *r = t->state;
	size_t  i = 0;

	if (!is_address(key))
		return 0;
	while (i < r->n) {
		struct table_rule *rule = &r->rule[i];
		bool    matched = false, hit;

		if (rule->op != TABLE_RULE_ENDIF)
			matched = netlist_match_str(rule->compiled, key) != rule->negate;
		i = table_rules_next(r, i, matched, &hit);
		if (hit)
			return table_set_value(t, key, value, rule->result,
					       strlen(rule->result));
	}
	return 0;
}

static bool
cidr_changed(struct table *t)
{
	return table_rules_changed(t->state);
}

static void
cidr_close(void *state)
{
	table_rules_free(state, free_net);
}

const struct table_backend table_cidr_backend = {
	.type = "cidr",
	.whole = true,
	.fold = TABLE_FOLD_NONE,
	.open = cidr_open,
	.get = cidr_get,
	.changed = cidr_changed,
	.close = cidr_close,
};
