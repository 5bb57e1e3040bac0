/*
 * NAME
 *	postconf - show and edit main.cf and master.cf
 * SYNOPSIS
 *	postconf [-c config_dir] [-d | -n] [-h] [-x] [name ...]
 *	postconf [-c config_dir] -e name=value ...
 *	postconf [-c config_dir] -X name ...
 *	postconf [-c config_dir] -# name ...
 *	postconf [-c config_dir] -M | -F | -P [service[/type[/name]] ...]
 * DESCRIPTION
 *	The command Postfix administrators, their scripts and their
 *	configuration tools call; its output has Postfix's formats, so
 *	what reads postconf's output reads this.
 *
 *	Without options, every parameter postern implements with its value
 *	("name = value", sorted by name): the main.cf text when main.cf
 *	sets it (continuation lines joined), else the default.  With
 *	names, those parameters in the order given.
 *	-n	only the parameters main.cf sets (and config_directory when
 *		-c names one).
 *	-d	the defaults instead of main.cf's values.
 *	-h	the value only, without "name = ".
 *	-x	values with $name expanded (and myorigin's file read).
 *	-e name=value ...
 *		edit main.cf in place: each setting of the name is
 *		replaced (or the setting is added at the end); comments,
 *		blank lines and order are kept.  The file is replaced
 *		atomically under a lock, so concurrent -e calls lose no
 *		edit and a reader never sees half a file.  Values are
 *		checked as main.cf's are; a parameter postern does not
 *		support is refused.  As with Postfix, the running system
 *		uses the change after `postern reload`.
 *	-X name ...  remove every setting of the names from main.cf.
 *	-# name ...  comment out every setting of the names.
 *	-M	master.cf services, one per line, in columns;
 *	-F	master.cf fields as "service/type/field = value";
 *	-P	master.cf -o settings as "service/type/name = value";
 *		each optionally narrowed to service, service/type or
 *		service/type/name ("*" matches any part).
 *	-c DIR	the configuration directory (default /etc/postern, or
 *		MAIL_CONFIG from the environment).
 *
 *	A parameter postern does not know, or does not implement, named on
 *	the command line gives a warning on standard error and exit status
 *	1; so does a master.cf selector that matches nothing.  Settings in
 *	main.cf that postern does not use are warned about on standard
 *	error, as Postfix does ("unused parameter").
 * EXIT STATUS
 *	0 success; 1 an unknown name, an unmatched selector, or an error
 *	(the reason is printed); 64 bad usage.
 * SECURITY
 *	No privilege of its own.  -e, -X and -# write main.cf, so they
 *	need whoever may write the configuration directory (root).  The
 *	listings read main.cf and master.cf only, never a table or a key.
 * CONFIGURATION PARAMETERS
 *	Every parameter of lib/svc/params.def (it lists them).
 * SEE ALSO
 *	postern(1), lib/svc/params.def, lib/svc/params_postfix.def.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "param_class.h"
#include "params.h"
#include "postconf.h"
#include "str.h"

#define OUT_MAX		(64 * 1024 * 1024)

static const char *config_dir = SYSCONFDIR;
static bool dir_given;

struct opts {
	bool	n, d, h, x;
};

/* What main.cf sets, as written (continuations joined), by param_table index. */
static char **raw;
static int *raw_line;

static _Noreturn void
usage(const char *why)
{
	if (why)
		fprintf(stderr, "postconf: %s\n", why);
	fprintf(stderr,
		"usage: postconf [-c config_dir] [-d | -n] [-h] [-x] [name ...]\n"
		"       postconf [-c config_dir] -e name=value ... | -X name ... | -# name ...\n"
		"       postconf [-c config_dir] -M | -F | -P [service[/type[/name]] ...]\n");
	exit(64);
}

static void
print_problems(const char *text)
{
	const char *s, *nl;

	for (s = text; *s; s = nl + 1) {
		if ((nl = strchr(s, '\n')) == NULL) {
			fprintf(stderr, "postconf: %s\n", s);
			break;
		}
		fprintf(stderr, "postconf: %.*s\n", (int) (nl - s), s);
	}
}

/*
 * read_main - main.cf as written: raw[] for implemented names, a
 * warning for each other name, as Postfix warns of unused parameters.
 * A missing main.cf is no error here: everything has its default.
 */
static void
read_main(void)
{
	struct config_file f;
	struct buf err;
	char    path[4096];
	int     line;

	raw = xcalloc(param_count, sizeof(*raw));
	raw_line = xcalloc(param_count, sizeof(*raw_line));
	buf_init(&err, 256 * 1024);
	if (str_fmt(path, sizeof(path), "%s/main.cf", config_dir) < 0)
		usage("configuration directory name too long");
	if (access(path, F_OK) < 0)
		return;
	if (config_file_open(&f, path, CONFIG_FILE_MAX, CONFIG_LINE_MAX, &err) < 0) {
		print_problems(buf_str(&err));
		exit(1);
	}
	while (config_file_next(&f, &line, &err) > 0) {
		char   *eq = strchr(f.line.data, '='), *name, *value;
		const struct param_info *pi;

		if (eq == NULL) {
			fprintf(stderr, "postconf: warning: %s, line %d: missing '=' in "
				"\"%.100s\"\n", path, line, f.line.data);
			continue;
		}
		*eq = '\0';
		name = str_trim(f.line.data);
		value = str_trim(eq + 1);
		if ((pi = param_find(name)) != NULL) {
			if (strcmp(name, "config_directory") == 0)
				continue;
			free(raw[pi - param_table]);
			raw[pi - param_table] = xstrdup(value);
			raw_line[pi - param_table] = line;
		} else if (param_class(name, NULL) == PARAM_UNKNOWN) {
			fprintf(stderr, "postconf: warning: %s: unused parameter: %s=%s\n",
				path, name, value);
		} else if (param_class(name, NULL) == PARAM_UNSUPPORTED) {
			char    where[300];

			(void) str_fmt(where, sizeof(where), "%s, line %d: %.100s", path,
				       line, name);
			fprintf(stderr, "postconf: warning: %s\n",
				config_unused_why(name, where));
		}
	}
	print_problems(buf_str(&err));
	config_file_close(&f);
	buf_free(&err);
}

/* empty_main_cf - an empty main.cf, for defaults expanded among themselves */
static int
empty_main_cf(void)
{
	int     fd = memfd_create("postconf-empty", MFD_CLOEXEC);

	if (fd < 0) {
		perror("postconf: memfd_create");
		exit(1);
	}
	return fd;
}

/*
 * value - what to print for parameter i: main.cf's text (unless -d),
 * else the default; with -x expanded as Postfix shows it (text, not
 * converted: "5d" stays "5d").  A computed default ("@hostname") is
 * shown computed.
 */
static int
value(size_t i, const struct opts *o, int empty_fd, struct buf *v)
{
	const struct param_info *pi = &param_table[i];
	struct buf err;
	int     r;

	if (strcmp(pi->name, "config_directory") == 0)
		return buf_puts(v, config_dir);
	if (!o->x && !o->d && raw[i])
		return buf_puts(v, raw[i]);
	if (!o->x && pi->def[0] != '@')
		return buf_puts(v, pi->def);
	buf_init(&err, 64 * 1024);
	r = config_peek_fd(config_dir, o->d ? empty_fd : -1, pi->name, v, &err);
	if (r < 0)
		print_problems(buf_str(&err));
	buf_free(&err);
	return r;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(param_table[*(const size_t *) a].name,
		      param_table[*(const size_t *) b].name);
}

static void
show(size_t i, const struct opts *o, int empty_fd, struct buf *out)
{
	struct buf v;

	buf_init(&v, CONFIG_VALUE_MAX);
	if (value(i, o, empty_fd, &v) < 0) {
		fprintf(stderr, "postconf: warning: %s: value cannot be shown\n",
			param_table[i].name);
		buf_free(&v);
		return;
	}
	if (o->h)
		(void) buf_appendf(out, "%s\n", buf_str(&v));
	else if (v.len == 0)
		(void) buf_appendf(out, "%s =\n", param_table[i].name);
	else
		(void) buf_appendf(out, "%s = %s\n", param_table[i].name, buf_str(&v));
	buf_free(&v);
}

static int
list(const struct opts *o, char **names, int n)
{
	int     empty_fd = o->d ? empty_main_cf() : -1;
	struct buf out;
	size_t *order = xcalloc(param_count, sizeof(*order));
	int     status = 0;
	size_t  cd = (size_t) (param_find("config_directory") - param_table);

	read_main();
	buf_init(&out, OUT_MAX);
	if (n > 0) {
		for (int k = 0; k < n; k++) {
			const struct param_info *pi = param_find(names[k]);
			const char *what;

			if (pi != NULL) {
				show((size_t) (pi - param_table), o, empty_fd, &out);
				continue;
			}
			status = 1;
			switch (param_class(names[k], &what)) {
			case PARAM_UNSUPPORTED:
				fprintf(stderr, "postconf: warning: %s: not supported yet by "
					"postern (%s)\n", names[k], what);
				break;
			case PARAM_IGNORED:
				fprintf(stderr, "postconf: warning: %s: ignored by postern (%s)\n",
					names[k], what);
				break;
			default:
				fprintf(stderr, "postconf: warning: %s: unknown parameter\n",
					names[k]);
			}
		}
	} else {
		for (size_t i = 0; i < param_count; i++)
			order[i] = i;
		qsort(order, param_count, sizeof(*order), by_name);
		for (size_t k = 0; k < param_count; k++) {
			size_t  i = order[k];

			if (o->n && !(raw[i] || (i == cd && dir_given)))
				continue;
			show(i, o, empty_fd, &out);
		}
	}
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	free(order);
	if (empty_fd >= 0)
		close(empty_fd);
	return fflush(stdout) == 0 ? status : 1;
}

static int
edit(enum postconf_op op, char **args, int n)
{
	struct postconf_change *ch = xcalloc((size_t) n + 1, sizeof(*ch));
	struct buf err;
	int     r = 0;

	if (n == 0)
		usage("name expected");
	buf_init(&err, 256 * 1024);
	for (int k = 0; k < n && r == 0; k++)
		if (postconf_change_parse(args[k], op, &ch[k], &err) < 0)
			r = 1;
	if (r == 0 && postconf_edit_file(config_dir, ch, (size_t) n, &err) < 0)
		r = 1;
	print_problems(buf_str(&err));
	for (int k = 0; k < n; k++) {
		free(ch[k].name);
		free(ch[k].value);
	}
	free(ch);
	buf_free(&err);
	return r;
}

static int
master(enum postconf_master_mode mode, char **sel, int n)
{
	struct buf out, err;
	int     r;

	buf_init(&out, OUT_MAX);
	buf_init(&err, 256 * 1024);
	r = postconf_master(config_dir, mode, sel, n, &out, &err);
	fwrite(out.data, 1, out.len, stdout);
	if (err.len) {
		const char *s, *nl;

		for (s = buf_str(&err); (nl = strchr(s, '\n')) != NULL; s = nl + 1)
			fprintf(stderr, "postconf: warning: %.*s\n", (int) (nl - s), s);
	}
	buf_free(&out);
	buf_free(&err);
	return r < 0 || fflush(stdout) != 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	int     c, mode = 0;
	const char *env;

	log_init("postconf", LOG_DEST_STDERR);
	if ((env = getenv("MAIL_CONFIG")) != NULL && *env)
		config_dir = env, dir_given = true;
	while ((c = getopt(argc, argv, "c:dhnxeX#MFP")) != -1) {
		switch (c) {
		case 'c':
			config_dir = optarg;
			dir_given = true;
			break;
		case 'd':
			o.d = true;
			break;
		case 'h':
			o.h = true;
			break;
		case 'n':
			o.n = true;
			break;
		case 'x':
			o.x = true;
			break;
		case 'e':
		case 'X':
		case '#':
		case 'M':
		case 'F':
		case 'P':
			if (mode && mode != c)
				usage("-e, -X, -#, -M, -F and -P exclude each other");
			mode = c;
			break;
		default:
			usage(NULL);
		}
	}
	if (o.d && o.n)
		usage("-d and -n exclude each other");
	if (mode && (o.d || o.n || o.h || o.x))
		usage("-d, -n, -h and -x go with listings of main.cf only");
	switch (mode) {
	case 'e':
		return edit(POSTCONF_SET, argv + optind, argc - optind);
	case 'X':
		return edit(POSTCONF_REMOVE, argv + optind, argc - optind);
	case '#':
		return edit(POSTCONF_COMMENT, argv + optind, argc - optind);
	case 'M':
		return master(POSTCONF_M, argv + optind, argc - optind);
	case 'F':
		return master(POSTCONF_F, argv + optind, argc - optind);
	case 'P':
		return master(POSTCONF_P, argv + optind, argc - optind);
	}
	if (o.n && optind < argc)
		usage("-n lists what main.cf sets: give no names");
	return list(&o, argv + optind, argc - optind);
}
