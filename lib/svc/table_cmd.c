/*
 * NAME
 *	table_cmd - the postmap and postalias commands
 * DESCRIPTION
 *	See table_cmd.h, cmd/postmap.c and cmd/postalias.c.  Building
 *	stops at the first table that fails (as Postfix's postmap does),
 *	so the exit status describes that table and no later table is
 *	touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "params.h"
#include "str.h"
#include "table.h"
#include "table_cmd.h"

static void
usage(const char *prog)
{
	log_error("usage: %s [-fNnv] [-c config_dir] [-q key] type:file ...",
		  prog);
}

/*
 * std_fds - make sure descriptors 0, 1 and 2 are open, so that a table
 * file never becomes "standard error" and receives log lines.
 */
static void
std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			_exit(EX_OSERR);
	}
}

/* log_lines - log each line of text as an error */
static void
log_lines(const char *text)
{
	const char *p = text;

	while (*p) {
		size_t  n = strcspn(p, "\n");

		if (n > 0)
			log_error("%.*s", (int) n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* build_all - build every table; the exit status */
static int
build_all(char **specs, int n, int alias_mode, unsigned flags, bool verbose)
{
	struct buf err;
	int     r = TABLE_OK;

	buf_init(&err, 64 * 1024);
	for (int i = 0; i < n && r == TABLE_OK; i++) {
		buf_reset(&err);
		r = table_build(specs[i], alias_mode, flags, &err);
		if (r != TABLE_OK)
			log_lines(buf_str(&err));
		else if (verbose)
			log_info("%s: built %s.db", specs[i],
				 strchr(specs[i], ':') + 1);
	}
	buf_free(&err);
	switch (r) {
	case TABLE_OK:
		return EX_OK;
	case TABLE_EDATA:
		return EX_DATAERR;
	case TABLE_EUSAGE:
		return EX_USAGE;
	case TABLE_ENOINPUT:
		return EX_NOINPUT;
	default:
		return EX_TEMPFAIL;
	}
}

/* open_all - open every table, or say why not and give the exit status */
static int
open_all(char **specs, int n, unsigned flags, struct table **t)
{
	char    err[TABLE_ERROR_MAX];

	for (int i = 0; i < n; i++) {
		if ((t[i] = table_open(specs[i], flags, err, sizeof(err))) == NULL) {
			int     saved = errno;

			log_error("%s", err);
			while (i-- > 0)
				table_close(t[i]);
			return saved == EINVAL ? EX_USAGE
				: saved == ENOENT || saved == EACCES ? EX_NOINPUT
				: EX_TEMPFAIL;
		}
	}
	return EX_OK;
}

/* lookup - the first table's answer for key; 1, 0 or -1 (logged) */
static int
lookup(struct table **t, int n, const char *key, struct buf *value)
{
	for (int i = 0; i < n; i++) {
		int     r = table_get(t[i], key, value);

		if (r < 0)
			log_error("%s", t[i]->error);
		if (r != 0)
			return r;
	}
	return 0;
}

/* query_one - postmap -q KEY */
static int
query_one(struct table **t, int n, const char *key)
{
	struct buf value;
	int     r;

	buf_init(&value, TABLE_VALUE_MAX);
	r = lookup(t, n, key, &value);
	if (r > 0)
		printf("%s\n", buf_str(&value));
	buf_free(&value);
	return r > 0 ? EX_OK : r == 0 ? 1 : EX_TEMPFAIL;
}

/*
 * query_stdin - postmap -q -: one key per line on standard input,
 * "key<TAB>value" on standard output for each key found.
 */
static int
query_stdin(struct table **t, int n)
{
	char    line[TABLE_KEY_MAX + 3];
	struct buf value;
	unsigned long lineno = 0;
	bool	found = false;
	int     r = 0;

	buf_init(&value, TABLE_VALUE_MAX);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t  len = strlen(line);

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(stdin)) {
			int     c;

			log_warn("standard input, line %lu: key longer than %d "
				 "bytes, skipped", lineno, TABLE_KEY_MAX);
			while ((c = getchar()) != EOF && c != '\n')
				;
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (len > TABLE_KEY_MAX) {
			log_warn("standard input, line %lu: key longer than %d "
				 "bytes, skipped", lineno, TABLE_KEY_MAX);
			continue;
		}
		if ((r = lookup(t, n, line, &value)) < 0)
			break;
		if (r > 0) {
			printf("%s\t%s\n", line, buf_str(&value));
			found = true;
		}
	}
	buf_free(&value);
	if (r < 0)
		return EX_TEMPFAIL;
	if (ferror(stdin)) {
		log_error("read standard input: %m");
		return EX_IOERR;
	}
	return found ? EX_OK : 1;
}

int
table_cmd_main(int argc, char **argv, int alias_mode)
{
	const char *prog = alias_mode ? "postalias" : "postmap";
	const char *config_dir = NULL, *query = NULL;
	unsigned flags = 0;
	bool	verbose = false;
	int     c, status;

	std_fds();
	log_init(argc > 0 && argv[0][0] ? argv[0] : prog, LOG_DEST_STDERR);
	/* A leading '+': options end at the first table name. */
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:fNnq:v")) != -1) {
		switch (c) {
		case 'c':
			config_dir = optarg;
			break;
		case 'f':
			flags |= TABLE_F_NOFOLD;
			break;
		case 'N':
			flags &= ~TABLE_F_NONUL;
			break;
		case 'n':
			flags |= TABLE_F_NONUL;
			break;
		case 'q':
			query = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			if (optopt == 'c' || optopt == 'q')
				log_error("option -%c needs an argument", optopt);
			else
				log_error("unknown option -%c",
					  optopt > ' ' && optopt < 127 ? optopt : '?');
			usage(prog);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		log_error("no table given: name one or more tables as type:file, "
			  "for example hash:/etc/postern/%s",
			  alias_mode ? "aliases" : "transport");
		usage(prog);
		return EX_USAGE;
	}
	if (query != NULL && strlen(query) > TABLE_KEY_MAX) {
		log_error("-q: the key is longer than %d bytes", TABLE_KEY_MAX);
		return EX_USAGE;
	}
	if (config_dir != NULL) {
		struct buf err;
		struct params *p;

		buf_init(&err, 64 * 1024);
		if ((p = config_load(config_dir, NULL, 0, &err)) == NULL) {
			log_lines(buf_str(&err));
			buf_free(&err);
			return EX_CONFIG;
		}
		buf_free(&err);
		config_install(p);
		log_set_syslog_name(cfg->syslog_name);
	}

	if (query == NULL)
		return build_all(argv + optind, argc - optind, alias_mode, flags,
				 verbose);
	{
		int     n = argc - optind;
		struct table **t = xcalloc((size_t) n, sizeof(*t));

		if ((status = open_all(argv + optind, n, flags, t)) != EX_OK) {
			free(t);
			return status;
		}
		status = str_eq(query, "-") ? query_stdin(t, n)
			: query_one(t, n, query);
		for (int i = 0; i < n; i++)
			table_close(t[i]);
		free(t);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("write standard output: %m");
		return EX_IOERR;
	}
	return status;
}
