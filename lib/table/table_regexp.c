/*
 * NAME
 *	table_regexp - regexp: tables (POSIX extended regular expressions)
 * DESCRIPTION
 *	regexp:PATH reads the rule file PATH whole at open
 *	(table_rules.h: "/pattern/flags result", "!/pattern/" negation,
 *	if/endif, $1 substitution) and compiles every pattern with
 *	regcomp(3).  A lookup tests the key against the rules in file
 *	order and answers with the first rule that matches, its result
 *	with $N replaced by what the N-th group of the pattern captured.
 *	The key is matched as given (never folded).
 *
 *	Flags, as in Postfix's regexp_table(5): i toggles case-insensitive
 *	matching (on by default), x toggles extended syntax (on by
 *	default), m toggles multi-line mode (off by default: "^" and "$"
 *	match at the ends of the key only).  Another letter is an error.
 *
 *	A changed file is noticed by table_changed() (the lookup service
 *	then reads it again); a process that opened the table before its
 *	chroot keeps what it read until it is replaced (postern reload).
 * DIAGNOSTICS
 *	A pattern that does not compile, an unknown flag, a substitution
 *	of a group the pattern does not have: the table does not open,
 *	and the message names the file, the line and regcomp's reason.
 * SECURITY
 *	POSIX regular expressions without back-references, as glibc runs
 *	them, take time polynomial in the key's length; keys are bounded
 *	by TABLE_PATTERN_KEY_MAX.
 */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "table.h"
#include "table_impl.h"
#include "table_rules.h"

#define GROUPS_MAX	100		/* $1 .. ${99} */

static void
free_re(void *p)
{
	regfree(p);
	free(p);
}

static int
compile(struct table *t, struct table_rule *rule)
{
	int     cflags = REG_EXTENDED | REG_ICASE, r;
	regex_t *re;

	for (const char *f = rule->flags; *f; f++) {
		switch (*f) {
		case 'i':
			cflags ^= REG_ICASE;
			break;
		case 'x':
			cflags ^= REG_EXTENDED;
			break;
		case 'm':
			cflags ^= REG_NEWLINE;
			break;
		default:
			table_seterr(t, "%s, line %lu: unknown flag '%c' (regexp: "
				     "takes i, x and m)", t->name, rule->line, *f);
			return -1;
		}
	}
	re = xmalloc(sizeof(*re));
	if ((r = regcomp(re, rule->pattern, cflags)) != 0) {
		char    why[200];

		(void) regerror(r, re, why, sizeof(why));
		table_seterr(t, "%s, line %lu: bad regular expression /%.100s/: %s",
			     t->name, rule->line, rule->pattern, why);
		free(re);
		return -1;
	}
	rule->compiled = re;
	rule->groups = (unsigned) re->re_nsub;
	return 0;
}

static int
regexp_open(struct table *t)
{
	struct table_rules *r = table_rules_read(t, true);

	if (r == NULL)
		return -1;
	for (size_t i = 0; i < r->n; i++) {
		struct table_rule *rule = &r->rule[i];

		if (rule->op == TABLE_RULE_ENDIF)
			continue;
		if (compile(t, rule) < 0
		    || (rule->op == TABLE_RULE && table_rules_check_groups(t, r, rule) < 0)) {
			table_rules_free(r, free_re);
			errno = EINVAL;
			return -1;
		}
	}
	t->state = r;
	return 0;
}

static int
regexp_get(struct table *t, const char *key, struct buf *value)
{
	struct table_rules *r = t->state;
	regmatch_t m[GROUPS_MAX];
	size_t  i = 0;

	while (i < r->n) {
		struct table_rule *rule = &r->rule[i];
		bool    matched = false, hit;
		size_t  nm = rule->groups + 1 < GROUPS_MAX ? rule->groups + 1 : GROUPS_MAX;

		if (rule->op != TABLE_RULE_ENDIF)
			matched = (regexec(rule->compiled, key, nm, m, 0) == 0) != rule->negate;
		i = table_rules_next(r, i, matched, &hit);
		if (hit) {
			size_t  starts[GROUPS_MAX], ends[GROUPS_MAX];

			for (size_t g = 0; g < nm; g++) {
				starts[g] = rule->negate || m[g].rm_so < 0
				    ? TABLE_RULES_NOGROUP : (size_t) m[g].rm_so;
				ends[g] = rule->negate || m[g].rm_so < 0 ? 0 : (size_t) m[g].rm_eo;
			}
			return table_rules_expand(t, rule, key, starts, ends,
						  (unsigned) nm, value);
		}
	}
	return 0;
}

static bool
regexp_changed(struct table *t)
{
	return table_rules_changed(t->state);
}

static void
regexp_close(void *state)
{
	table_rules_free(state, free_re);
}

const struct table_backend table_regexp_backend = {
	.type = "regexp",
	.whole = true,
	.fold = TABLE_FOLD_NONE,
	.key_max = TABLE_PATTERN_KEY_MAX,
	.open = regexp_open,
	.get = regexp_get,
	.changed = regexp_changed,
	.close = regexp_close,
};
