/*
 * NAME
 *	table_rules - rule files of the pattern tables
 * DESCRIPTION
 *	See table_rules.h.  The file is read whole into memory once, then
 *	split into logical lines and parsed into rules; the table types
 *	compile the patterns afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "str.h"
#include "table_impl.h"
#include "table_rules.h"

static bool
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* read_file - the whole file, NUL-terminated; NULL with t->error */
static char *
read_file(struct table *t, struct table_rules *r, size_t *len)
{
	struct stat sb;
	char   *data;
	size_t  got = 0;
	int     fd;

	if ((fd = open(t->name, O_RDONLY | O_CLOEXEC)) < 0) {
		table_seterr(t, "%s: cannot open %s: %s", t->spec, t->name,
			     strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		table_seterr(t, "%s: %s is not a regular file", t->spec, t->name);
		(void) close(fd);
		errno = EINVAL;
		return NULL;
	}
	if (sb.st_size > TABLE_RULES_FILE_MAX) {
		table_seterr(t, "%s: %s is larger than %d bytes", t->spec, t->name,
			     TABLE_RULES_FILE_MAX);
		(void) close(fd);
		errno = EFBIG;
		return NULL;
	}
	data = xmalloc((size_t) sb.st_size + 1);
	while (got < (size_t) sb.st_size) {
		ssize_t n = read(fd, data + got, (size_t) sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			table_seterr(t, "%s: reading %s: %s", t->spec, t->name,
				     n < 0 ? strerror(errno) : "the file shrank");
			free(data);
			(void) close(fd);
			errno = EIO;
			return NULL;
		}
		got += (size_t) n;
	}
	(void) close(fd);
	data[got] = '\0';
	*len = got;
	r->dev = sb.st_dev;
	r->ino = sb.st_ino;
	r->size = sb.st_size;
	r->mtime = sb.st_mtim;
	return data;
}

/* fail - format the problem at line into t->error; always -1 */
static int
fail(struct table *t, unsigned long line, const char *what, const char *text)
{
	table_seterr(t, "%s, line %lu: %s%s%.80s%s", t->name, line, what,
		     text ? ": \"" : "", text ? text : "", text ? "\"" : "");
	errno = EINVAL;
	return -1;
}

/* delimited - "/pattern/flags" at *p into rule; advances *p */
static int
delimited(struct table *t, struct table_rule *rule, const char **p)
{
	const char *s = *p;
	char    de = *s;
	struct buf pat;
	size_t  nf = 0;

	if (de == '\0' || is_ws(de) || de == '!' || de == '#'
	    || (de >= 'a' && de <= 'z') || (de >= 'A' && de <= 'Z')
	    || (de >= '0' && de <= '9') || (unsigned char) de >= 0x7f)
		return fail(t, rule->line, "a pattern must start with a delimiter "
			    "such as '/'", *p);
	buf_init(&pat, TABLE_LINE_MAX);
	for (s++; *s && *s != de; s++) {
		if (*s == '\\' && s[1] != '\0') {
			/* Keep the backslash: the regular expression reads it. */
			(void) buf_putc(&pat, *s++);
		}
		(void) buf_putc(&pat, *s);
	}
	if (*s != de) {
		buf_free(&pat);
		return fail(t, rule->line, "the pattern has no closing delimiter", *p);
	}
	s++;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
		if (nf + 1 >= sizeof(rule->flags)) {
			buf_free(&pat);
			return fail(t, rule->line, "too many flags", *p);
		}
		rule->flags[nf++] = *s++;
	}
	rule->flags[nf] = '\0';
	rule->pattern = xstrdup(buf_str(&pat));
	buf_free(&pat);
	*p = s;
	return 0;
}

/* parse - one logical line into rule */
static int
parse(struct table *t, bool delim, const char *line, struct table_rule *rule)
{
	const char *p = line;
	size_t  n;

	if (strncmp(p, "endif", 5) == 0 && (p[5] == '\0' || is_ws(p[5]))) {
		for (p += 5; is_ws(*p); p++)
			;
		if (*p != '\0')
			return fail(t, rule->line, "text after endif", p);
		rule->op = TABLE_RULE_ENDIF;
		return 0;
	}
	if (strncmp(p, "if", 2) == 0 && (is_ws(p[2]) || p[2] == '!')) {
		rule->op = TABLE_RULE_IF;
		for (p += 2; is_ws(*p); p++)
			;
	} else
		rule->op = TABLE_RULE;
	if (*p == '!') {
		rule->negate = true;
		p++;
	}
	if (delim) {
		if (delimited(t, rule, &p) < 0)
			return -1;
		if (*p != '\0' && !is_ws(*p))
			return fail(t, rule->line, "unknown character after the "
				    "pattern's flags", p);
	} else {
		for (n = 0; p[n] && !is_ws(p[n]); n++)
			;
		if (n == 0)
			return fail(t, rule->line, "no pattern", NULL);
		rule->pattern = xmemdup(p, n);
		p += n;
	}
	while (is_ws(*p))
		p++;
	if (rule->op == TABLE_RULE_IF) {
		if (*p != '\0')
			return fail(t, rule->line, "text after an if condition", p);
		return 0;
	}
	n = strlen(p);
	while (n > 0 && is_ws(p[n - 1]))
		n--;
	if (n == 0)
		return fail(t, rule->line, "a rule without a result", line);
	rule->result = xmemdup(p, n);
	return 0;
}

/* add - one logical line: a rule, or nothing for a comment */
static int
add(struct table *t, struct table_rules *r, bool delim, struct buf *logical,
    unsigned long line, size_t *stack, size_t *depth)
{
	struct table_rule *rule;

	if (logical->len == 0)
		return 0;
	if (r->n == TABLE_RULES_MAX)
		return fail(t, line, "more rules than the limit of 100,000", NULL);
	if (r->n % 256 == 0)
		r->rule = xreallocarray(r->rule, r->n + 256, sizeof(*r->rule));
	rule = &r->rule[r->n];
	memset(rule, 0, sizeof(*rule));
	rule->line = line;
	r->n++;
	if (parse(t, delim, buf_str(logical), rule) < 0)
		return -1;
	buf_reset(logical);
	if (rule->op == TABLE_RULE_IF) {
		if (*depth == TABLE_RULES_DEPTH)
			return fail(t, line, "if nested deeper than 100", NULL);
		stack[(*depth)++] = r->n - 1;
	} else if (rule->op == TABLE_RULE_ENDIF) {
		if (*depth == 0)
			return fail(t, line, "endif without if", NULL);
		r->rule[stack[--(*depth)]].endif = r->n - 1;
	}
	return 0;
}

struct table_rules *
table_rules_read(struct table *t, bool delim)
{
	struct table_rules *r = xcalloc(1, sizeof(*r));
	size_t  stack[TABLE_RULES_DEPTH], depth = 0, len;
	struct buf logical;
	unsigned long line = 0, start = 0;
	char   *data, *p, *end;

	if ((data = read_file(t, r, &len)) == NULL) {
		free(r);
		return NULL;
	}
	r->path = xstrdup(t->name);
	buf_init(&logical, TABLE_LINE_MAX);
	if ((p = memchr(data, '\0', len)) != NULL) {
		for (char *c = data; c < p; c++)
			line += *c == '\n';
		fail(t, line + 1, "a NUL byte in the line", NULL);
		goto bad;
	}
	for (p = data, end = data + len; p < end; p = p + strlen(p) + 1) {
		char   *nl = memchr(p, '\n', (size_t) (end - p));
		char   *q;

		if (nl != NULL)
			*nl = '\0';
		line++;
		for (q = p; is_ws(*q); q++)
			;
		if (*q == '\0' || *q == '#')
			continue;
		if (q == p) {			/* a new logical line */
			if (add(t, r, delim, &logical, start, stack, &depth) < 0)
				goto bad;
			start = line;
		} else if (logical.len == 0) {
			fail(t, line, "a continuation line without a line to continue", q);
			goto bad;
		} else if (buf_putc(&logical, ' ') < 0)
			goto toolong;
		{
			size_t  n = strlen(q);

			while (n > 0 && is_ws(q[n - 1]))
				n--;
			if (buf_append(&logical, q, n) < 0)
				goto toolong;
		}
		if (nl == NULL)
			break;
	}
	if (add(t, r, delim, &logical, start, stack, &depth) < 0)
		goto bad;
	if (depth > 0) {
		fail(t, r->rule[stack[depth - 1]].line, "if without endif", NULL);
		goto bad;
	}
	buf_free(&logical);
	free(data);
	return r;

toolong:
	fail(t, start ? start : line, "a logical line longer than 65536 bytes", NULL);
bad:
	buf_free(&logical);
	free(data);
	table_rules_free(r, NULL);
	return NULL;
}

size_t
table_rules_next(const struct table_rules *r, size_t i, bool matched, bool *hit)
{
	const struct table_rule *rule = &r->rule[i];

	*hit = false;
	switch (rule->op) {
	case TABLE_RULE_IF:
		return matched ? i + 1 : rule->endif + 1;
	case TABLE_RULE:
		*hit = matched;
		return i + 1;
	case TABLE_RULE_ENDIF:
		break;
	}
	return i + 1;
}

/* group_ref - "$N", "${N}", "$(N)" at p: the number and the length */
static int
group_ref(const char *p, unsigned *num, size_t *len)
{
	char    close = 0;
	size_t  i = 1;
	unsigned n = 0;

	if (p[1] == '{' || p[1] == '(') {
		close = p[1] == '{' ? '}' : ')';
		i = 2;
	}
	if (p[i] < '0' || p[i] > '9')
		return -1;
	if (close == 0) {
		*num = (unsigned) (p[i] - '0');
		*len = i + 1;
		return 0;
	}
	for (; p[i] >= '0' && p[i] <= '9' && n < 100; i++)
		n = n * 10 + (unsigned) (p[i] - '0');
	if (p[i] != close || n >= 100)
		return -1;
	*num = n;
	*len = i + 1;
	return 0;
}

int
table_rules_check_groups(struct table *t, const struct table_rules *r,
			 const struct table_rule *rule)
{
	(void) r;
	for (const char *p = rule->result; p != NULL && *p; p++) {
		unsigned num;
		size_t  len;

		if (*p != '$')
			continue;
		if (p[1] == '$') {
			p++;
			continue;
		}
		if (group_ref(p, &num, &len) < 0)
			return fail(t, rule->line, "'$' must be followed by a group "
				    "number ($1, ${1}) or another '$'", p);
		if (rule->negate)
			return fail(t, rule->line, "a negated pattern has no groups "
				    "to substitute", p);
		if (num == 0 || num > rule->groups)
			return fail(t, rule->line, "the result names a group the "
				    "pattern does not have", p);
		p += len - 1;
	}
	return 0;
}

int
table_rules_expand(struct table *t, const struct table_rule *rule,
		   const char *subject, const size_t *starts, const size_t *ends,
		   unsigned ngroups, struct buf *value)
{
	struct buf out;
	int     r;

	buf_init(&out, TABLE_VALUE_MAX);
	r = 0;
	for (const char *p = rule->result; *p && r == 0; p++) {
		unsigned num;
		size_t  len;

		if (*p == '$' && p[1] == '$') {
			r = buf_putc(&out, '$');
			p++;
		} else if (*p == '$' && group_ref(p, &num, &len) == 0) {
			if (num < ngroups && starts[num] != TABLE_RULES_NOGROUP)
				r = buf_append(&out, subject + starts[num],
					       ends[num] - starts[num]);
			p += len - 1;
		} else
			r = buf_putc(&out, *p);
	}
	if (r < 0) {
		table_seterr(t, "%s, line %lu: the result is longer than %d bytes "
			     "with its substitutions", t->name, rule->line,
			     TABLE_VALUE_MAX);
		buf_free(&out);
		return -1;
	}
	r = table_set_value(t, "(pattern match)", value, out.data, out.len);
	buf_free(&out);
	return r;
}

bool
table_rules_changed(const struct table_rules *r)
{
	struct stat sb;

	return stat(r->path, &sb) < 0 || sb.st_dev != r->dev || sb.st_ino != r->ino
	    || sb.st_size != r->size || sb.st_mtim.tv_sec != r->mtime.tv_sec
	    || sb.st_mtim.tv_nsec != r->mtime.tv_nsec;
}

void
table_rules_free(struct table_rules *r, void (*free_compiled)(void *))
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		if (r->rule[i].compiled != NULL && free_compiled != NULL)
			free_compiled(r->rule[i].compiled);
		free(r->rule[i].pattern);
		free(r->rule[i].result);
	}
	free(r->rule);
	free(r->path);
	free(r);
}
