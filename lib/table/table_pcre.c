/*
 * NAME
 *	table_pcre - pcre: tables (PCRE2), with bounded matching
 * DESCRIPTION
 *	pcre:PATH is regexp:PATH (table_regexp.c, table_rules.h) with
 *	Perl-compatible regular expressions from PCRE2, as Postfix's
 *	pcre_table(5): the rule file is read whole at open, the rules are
 *	tried in file order, the first match answers, $N substitutes the
 *	N-th group, if/endif and "!" negation apply, the key is matched
 *	as given.
 *
 *	Flags: i toggles case-insensitive matching (on by default), m
 *	multi-line ("^" and "$" at line ends), s dot matches newline, x
 *	extended syntax (white space and comments in the pattern), A
 *	anchored at the start of the key, E "$" only at the very end, U
 *	ungreedy quantifiers; X is accepted and ignored (PCRE1's extra
 *	checks are PCRE2's default).  Another letter is an error.
 * SECURITY
 *	A pattern can take time exponential in the length of the key
 *	("(a+)+$" against a long run of a's ending in b).  Every match
 *	runs with PCRE2's match limit TABLE_PCRE_MATCH_LIMIT, depth limit
 *	TABLE_PCRE_DEPTH_LIMIT and heap limit TABLE_PCRE_HEAP_LIMIT_KB, so
 *	one lookup costs at most a few tens of milliseconds per rule.  A
 *	match that hits a limit is an error, not a miss: the lookup fails
 *	(a temporary failure: a content check defers the message, an
 *	access check answers 4xx) and t->error names the file, the line
 *	of the pattern and the limit, so the administrator can fix the
 *	pattern.  Treating it as "no match" would let whoever writes the
 *	key step around a rule by making it expensive.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "table.h"
#include "table_impl.h"
#include "table_rules.h"

#define GROUPS_MAX	100		/* $1 .. ${99} */

struct pcre_state {
	struct table_rules *r;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
};

static void
free_code(void *p)
{
	pcre2_code_free(p);
}

static int
compile(struct table *t, struct table_rule *rule)
{
	uint32_t opts = PCRE2_CASELESS, groups;
	int     err;
	PCRE2_SIZE off;
	pcre2_code *code;

	for (const char *f = rule->flags; *f; f++) {
		switch (*f) {
		case 'i':
			opts ^= PCRE2_CASELESS;
			break;
		case 'm':
			opts ^= PCRE2_MULTILINE;
			break;
		case 's':
			opts ^= PCRE2_DOTALL;
			break;
		case 'x':
			opts ^= PCRE2_EXTENDED;
			break;
		case 'A':
			opts ^= PCRE2_ANCHORED;
			break;
		case 'E':
			opts ^= PCRE2_DOLLAR_ENDONLY;
			break;
		case 'U':
			opts ^= PCRE2_UNGREEDY;
			break;
		case 'X':
			break;
		default:
			table_seterr(t, "%s, line %lu: unknown flag '%c' (pcre: takes "
				     "i, m, s, x, A, E, U and X)", t->name, rule->line, *f);
			return -1;
		}
	}
	code = pcre2_compile((PCRE2_SPTR) rule->pattern, PCRE2_ZERO_TERMINATED, opts,
			     &err, &off, NULL);
	if (code == NULL) {
		PCRE2_UCHAR why[200];

		(void) pcre2_get_error_message(err, why, sizeof(why));
		table_seterr(t, "%s, line %lu: bad regular expression /%.100s/ at "
			     "offset %zu: %s", t->name, rule->line, rule->pattern,
			     (size_t) off, (const char *) why);
		return -1;
	}
	(void) pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
	rule->compiled = code;
	rule->groups = groups;
	return 0;
}

static void
state_free(struct pcre_state *st)
{
	if (st == NULL)
		return;
	table_rules_free(st->r, free_code);
	pcre2_match_context_free(st->mctx);
	pcre2_match_data_free(st->md);
	free(st);
}

static int
pcre_open(struct table *t)
{
	struct pcre_state *st = xcalloc(1, sizeof(*st));

	if ((st->r = table_rules_read(t, true)) == NULL) {
		free(st);
		return -1;
	}
	for (size_t i = 0; i < st->r->n; i++) {
		struct table_rule *rule = &st->r->rule[i];

		if (rule->op == TABLE_RULE_ENDIF)
			continue;
		if (compile(t, rule) < 0 || (rule->op == TABLE_RULE
				&& table_rules_check_groups(t, st->r, rule) < 0)) {
			state_free(st);
			errno = EINVAL;
			return -1;
		}
	}
	st->mctx = pcre2_match_context_create(NULL);
	st->md = pcre2_match_data_create(GROUPS_MAX, NULL);
	if (st->mctx == NULL || st->md == NULL)
		log_fatal("pcre: out of memory");
	pcre2_set_match_limit(st->mctx, TABLE_PCRE_MATCH_LIMIT);
	pcre2_set_depth_limit(st->mctx, TABLE_PCRE_DEPTH_LIMIT);
	pcre2_set_heap_limit(st->mctx, TABLE_PCRE_HEAP_LIMIT_KB);
	t->state = st;
	return 0;
}

static int
pcre_get(struct table *t, const char *key, struct buf *value)
{
	struct pcre_state *st = t->state;
	struct table_rules *r = st->r;
	size_t  klen = strlen(key), i = 0;

	while (i < r->n) {
		struct table_rule *rule = &r->rule[i];
		bool    matched = false, hit;
		int     rc = PCRE2_ERROR_NOMATCH;

		if (rule->op != TABLE_RULE_ENDIF) {
			rc = pcre2_match(rule->compiled, (PCRE2_SPTR) key, klen, 0, 0,
					 st->md, st->mctx);
			if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
				PCRE2_UCHAR why[120];

				(void) pcre2_get_error_message(rc, why, sizeof(why));
				table_seterr(t, "%s, line %lu: matching /%.60s/ against "
					     "a key of %zu bytes failed: %s (a pattern "
					     "that takes that long must be rewritten)",
					     t->name, rule->line, rule->pattern, klen,
					     (const char *) why);
				return -1;
			}
			matched = (rc >= 0) != rule->negate;
		}
		i = table_rules_next(r, i, matched, &hit);
		if (hit) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
			size_t  starts[GROUPS_MAX], ends[GROUPS_MAX];
			unsigned n = rule->negate ? 0 : (unsigned) rc;

			for (unsigned g = 0; g < n && g < GROUPS_MAX; g++) {
				bool    unset = ov[2 * g] == PCRE2_UNSET;

				starts[g] = unset ? TABLE_RULES_NOGROUP : ov[2 * g];
				ends[g] = unset ? 0 : ov[2 * g + 1];
			}
			return table_rules_expand(t, rule, key, starts, ends, n, value);
		}
	}
	return 0;
}

static bool
pcre_changed(struct table *t)
{
	return table_rules_changed(((struct pcre_state *) t->state)->r);
}

static void
pcre_close(void *state)
{
	state_free(state);
}

const struct table_backend table_pcre_backend = {
	.type = "pcre",
	.whole = true,
	.fold = TABLE_FOLD_NONE,
	.key_max = TABLE_PATTERN_KEY_MAX,
	.open = pcre_open,
	.get = pcre_get,
	.changed = pcre_changed,
	.close = pcre_close,
};
