/*
 * NAME
 *	postconf_master - postconf's listings of master.cf (-M, -F, -P)
 * SYNOPSIS
 *	#include "postconf.h"
 *
 *	r = postconf_master("/etc/postern", POSTCONF_M, sel, nsel, &out, &err);
 * DESCRIPTION
 *	postconf_master() reads DIR/master.cf as written (fields are shown
 *	as the file has them, "-" included, without the checks of
 *	`postern check`) and appends to out, in file order:
 *
 *	POSTCONF_M  each service on one line, its fields in columns as
 *		    Postfix prints them: a field starts at its column (0,
 *		    11, 17, 25, 33, 41, 49, 57) or, when the fields before
 *		    it ran past that, one space after them; the command and
 *		    its arguments follow, separated by single spaces.
 *	POSTCONF_F  "service/type/field = value" for the fields service,
 *		    type, private, unprivileged, chroot, wakeup,
 *		    process_limit and command (with its arguments).
 *	POSTCONF_P  "service/type/name = value" for each -o name=value.
 *
 *	sel[] narrows the listing: "service", "service/type" (and, for -F
 *	and -P, "service/type/name"), where any part may be "*".  With no
 *	selector everything is listed.  A selector that matches nothing
 *	is reported in err ("unmatched request") and makes the result -1;
 *	so does a service line with fewer than eight fields.  A master.cf
 *	that cannot be read gives -1 with the reason in err.
 * BOUNDS
 *	MASTERCF_FILE_MAX bytes; logical lines of CONFIG_LINE_MAX bytes;
 *	MASTERCF_ARGS_MAX fields per line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mastercf.h"
#include "mem.h"
#include "postconf.h"
#include "str.h"

#define FIELDS		8
#define MAX_FIELDS	(FIELDS + 2 * MASTERCF_ARGS_MAX)

static const char *const field_name[FIELDS] = {
	"service", "type", "private", "unprivileged", "chroot", "wakeup",
	"process_limit", "command",
};
static const size_t column[FIELDS] = {0, 11, 17, 25, 33, 41, 49, 57};

/* part_ok - selector part p (up to '/' or the end) matches s */
static bool
part_ok(const char *p, size_t n, const char *s)
{
	return (n == 1 && p[0] == '*') || (strlen(s) == n && memcmp(p, s, n) == 0);
}

/*
 * match - selector sel matches service svc of type type and, for -F and
 * -P, the item name (NULL for -M)
 */
static bool
match(const char *sel, const char *svc, const char *type, const char *name)
{
	const char *parts[3] = {svc, type, name};
	const char *p = sel;

	for (int i = 0; i < 3; i++) {
		const char *slash = strchr(p, '/');
		size_t  n = slash ? (size_t) (slash - p) : strlen(p);

		if (parts[i] == NULL || !part_ok(p, n, parts[i]))
			return false;
		if (slash == NULL)
			return true;
		p = slash + 1;
	}
	return false;		/* more than three parts */
}

/* wanted - with no selectors everything; else mark what matched */
static bool
wanted(char *const *sel, int nsel, bool *hit, const char *svc, const char *type,
       const char *name)
{
	bool    any = nsel == 0;

	for (int i = 0; i < nsel; i++)
		if (match(sel[i], svc, type, name))
			any = hit[i] = true;
	return any;
}

static int
put_m(struct buf *out, char **f, int nf)
{
	size_t  start = out->len;

	for (int i = 0; i < nf; i++) {
		size_t  at = out->len - start;

		if (i > 0 && i < FIELDS && at < column[i]) {
			while (out->len - start < column[i])
				if (buf_putc(out, ' ') < 0)
					return -1;
		} else if (i > 0 && buf_putc(out, ' ') < 0) {
			return -1;
		}
		if (buf_puts(out, f[i]) < 0)
			return -1;
	}
	return buf_putc(out, '\n');
}

static int
put_f(struct buf *out, char **f, int nf, char *const *sel, int nsel, bool *hit)
{
	for (int i = 0; i < FIELDS; i++) {
		if (!wanted(sel, nsel, hit, f[0], f[1], field_name[i]))
			continue;
		if (buf_appendf(out, "%s/%s/%s = ", f[0], f[1], field_name[i]) < 0)
			return -1;
		for (int j = i; j < (i == FIELDS - 1 ? nf : i + 1); j++)
			if ((j > i && buf_putc(out, ' ') < 0) || buf_puts(out, f[j]) < 0)
				return -1;
		if (buf_putc(out, '\n') < 0)
			return -1;
	}
	return 0;
}

static int
put_p(struct buf *out, char **f, int nf, char *const *sel, int nsel, bool *hit)
{
	for (int i = FIELDS; i + 1 < nf; i++) {
		char   *eq;

		if (strcmp(f[i], "-o") != 0 || (eq = strchr(f[i + 1], '=')) == NULL)
			continue;
		*eq = '\0';
		if (wanted(sel, nsel, hit, f[0], f[1], f[i + 1])
		    && buf_appendf(out, "%s/%s/%s = %s\n", f[0], f[1], f[i + 1], eq + 1) < 0)
			return -1;
		*eq = '=';
		i++;
	}
	return 0;
}

int
postconf_master(const char *config_dir, enum postconf_master_mode mode,
		char *const *sel, int nsel, struct buf *out, struct buf *err)
{
	struct config_file cf;
	char    path[4096];
	bool   *hit = xcalloc((size_t) nsel + 1, sizeof(*hit));
	int     line, r = 0;

	if (str_fmt(path, sizeof(path), "%s/master.cf", config_dir) < 0
	    || config_file_open(&cf, path, MASTERCF_FILE_MAX, CONFIG_LINE_MAX, err) < 0) {
		if (err->len == 0)
			config_problem(err, "%s/master.cf: name too long", config_dir);
		free(hit);
		return -1;
	}
	while (config_file_next(&cf, &line, err) > 0) {
		char   *f[MAX_FIELDS], *p = cf.line.data, *tok;
		int     nf = 0;

		while (nf < MAX_FIELDS && (tok = str_split(&p, " \t\r\f\v")) != NULL)
			f[nf++] = tok;
		if (nf < FIELDS) {
			config_problem(err, "%s, line %d: %d fields, want at least %d "
				       "(service type private unpriv chroot wakeup "
				       "maxproc command)", path, line, nf, FIELDS);
			r = -1;
			continue;
		}
		if (mode == POSTCONF_M) {
			if (wanted(sel, nsel, hit, f[0], f[1], NULL) && put_m(out, f, nf) < 0)
				goto full;
		} else if (mode == POSTCONF_F) {
			if (put_f(out, f, nf, sel, nsel, hit) < 0)
				goto full;
		} else if (put_p(out, f, nf, sel, nsel, hit) < 0) {
			goto full;
		}
	}
	if (cf.errors)
		r = -1;
	for (int i = 0; i < nsel; i++)
		if (!hit[i]) {
			config_problem(err, "unmatched request: \"%.200s\"", sel[i]);
			r = -1;
		}
	config_file_close(&cf);
	free(hit);
	return r;

full:
	config_problem(err, "%s: output too large", path);
	config_file_close(&cf);
	free(hit);
	return -1;
}
