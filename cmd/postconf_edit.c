/*
 * NAME
 *	postconf_edit - postconf's edits of main.cf (-e, -X, -#)
 * SYNOPSIS
 *	#include "postconf.h"
 *
 *	if (postconf_change_parse("relayhost = [mx]", POSTCONF_SET, &ch, &err) < 0)
 *		... err says why ...
 *	r = postconf_edit_file("/etc/postern", &ch, 1, &err);
 * DESCRIPTION
 *	postconf_change_parse() turns one command line argument into a
 *	change: "name=value" or "name = value" for POSTCONF_SET, a name
 *	for POSTCONF_REMOVE (-X) and POSTCONF_COMMENT (-#).  A value to set
 *	is checked as main.cf would be (type and bounds; a value holding
 *	'$' is checked only when it is used).  Setting a Postfix
 *	parameter postern does not implement is refused with the reason
 *	(param_class.h): writing it would only make `postern check`
 *	refuse the file; an ignored Postfix parameter may be set, and so
 *	may a name Postfix does not have either (a user-defined parameter
 *	that other values refer to as $name, such as
 *	mua_client_restrictions).  Removing and commenting out
 *	take any well-formed name, so an administrator can clear what
 *	check refuses.  Returns 0, or -1 with one line in err.
 *
 *	postconf_edit_text() applies changes to the text of a main.cf and
 *	appends the result to out.  A setting is its first line (a name
 *	at the start of a line, then '=') and its continuation lines (they
 *	start with white space and hold more than a comment).  Every
 *	setting of a changed name is replaced in place by "name = value"
 *	(its continuation lines go), removed, or commented out ('#' before
 *	each of its lines); a name set nowhere is appended at the end.
 *	Everything else, comments, blank lines and order included, is
 *	kept byte for byte.  Returns 0, or -1 when out is full.
 *
 *	postconf_edit_file() edits DIR/main.cf: it takes an exclusive
 *	flock() on DIR itself, so concurrent editors run one after the
 *	other and each starts from the file the one before it wrote (a
 *	lock on main.cf would not do: it is replaced, and a waiter would
 *	hold a lock on the old file); reads main.cf; writes the result
 *	to a temporary file in DIR with main.cf's owner and mode; fsyncs
 *	it and renames it over main.cf, then fsyncs DIR.  A reader sees
 *	the old file or the new one, never a part.  The running system
 *	sees the change at the next `postern reload`.  Returns 0, or -1
 *	with the reason in err.
 * BOUNDS
 *	main.cf of CONFIG_FILE_MAX bytes, values of CONFIG_VALUE_MAX.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mem.h"
#include "param_class.h"
#include "postconf.h"
#include "safefile.h"
#include "str.h"

static bool
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c == '_';
}

static bool
valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if (!name_char((unsigned char) *s))
			return false;
	return true;
}

int
postconf_change_parse(const char *arg, enum postconf_op op,
		      struct postconf_change *ch, struct buf *err)
{
	const struct param_info *pi;
	const char *eq = strchr(arg, '='), *what;
	char   *name, *value = NULL, why[512];

	memset(ch, 0, sizeof(*ch));
	if (strlen(arg) > CONFIG_VALUE_MAX) {
		config_problem(err, "\"%.60s...\": longer than %d bytes", arg, CONFIG_VALUE_MAX);
		return -1;
	}
	if (op == POSTCONF_SET) {
		if (eq == NULL) {
			config_problem(err, "missing '=' after parameter name: \"%.100s\" "
				       "(write name=value)", arg);
			return -1;
		}
		name = xmemdup(arg, (size_t) (eq - arg));
		value = xstrdup(str_trim((char *) eq + 1));
	} else {
		name = xstrdup(arg);
	}
	ch->name = xstrdup(str_trim(name));
	free(name);
	ch->value = value;
	ch->op = op;
	if (strchr(ch->value ? ch->value : "", '\n') != NULL) {
		config_problem(err, "%s: the value holds a newline", ch->name);
		goto fail;
	}
	if (!valid_name(ch->name)) {
		config_problem(err, "bad parameter name \"%.100s\" (a name has letters, "
			       "digits and '_' only)", ch->name);
		goto fail;
	}
	if (op != POSTCONF_SET)
		return 0;
	if (strcmp(ch->name, "config_directory") == 0) {
		config_problem(err, "config_directory cannot be set in main.cf (it is "
			       "the directory main.cf is in: use -c)");
		goto fail;
	}
	if ((pi = param_find(ch->name)) != NULL) {
		if (config_check_value(pi, ch->value, why, sizeof(why)) < 0) {
			config_problem(err, "%s = %.100s: %s", ch->name, ch->value, why);
			goto fail;
		}
		return 0;
	}
	switch (param_class(ch->name, &what)) {
	case PARAM_IGNORED:
		return 0;
	case PARAM_UNKNOWN:
		/* A user-defined parameter (config.c), as Postfix writes it. */
		return 0;
	default:
		/* mua_client_restrictions looks like a Postfix name but is not. */
		if (!param_postfix_name(ch->name))
			return 0;
		break;
	}
	config_problem(err, "%s; main.cf is unchanged", config_unused_why(ch->name, ch->name));
fail:
	free(ch->name);
	free(ch->value);
	memset(ch, 0, sizeof(*ch));
	return -1;
}

/* setting_name - the name a line starts a setting of, into name; or false */
static bool
setting_name(const char *s, size_t n, char *name, size_t size)
{
	size_t  i = 0, k;

	if (n == 0 || !name_char((unsigned char) s[0]))
		return false;
	while (i < n && name_char((unsigned char) s[i]))
		i++;
	k = i;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n || s[i] != '=' || k >= size)
		return false;
	memcpy(name, s, k);
	name[k] = '\0';
	return true;
}

/* continuation - a line that continues the setting before it */
static bool
continuation(const char *s, size_t n)
{
	size_t  i = 0;

	if (n == 0 || (s[0] != ' ' && s[0] != '\t'))
		return false;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i < n && s[i] != '#';
}

static int
put_setting(struct buf *out, const struct postconf_change *c)
{
	return buf_appendf(out, "%s = %s\n", c->name, c->value);
}

int
postconf_edit_text(const char *text, size_t len, const struct postconf_change *ch,
		   size_t n, struct buf *out)
{
	bool   *seen = xcalloc(n ? n : 1, sizeof(*seen));
	const struct postconf_change *cur = NULL;	/* the setting being read */
	size_t  pos = 0;
	int     r = -1;

	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t  plen = nl ? (size_t) (nl - s) : len - pos;
		size_t  whole = plen + (nl ? 1 : 0);
		char    name[128];

		pos += whole;
		if (setting_name(s, plen, name, sizeof(name))) {
			cur = NULL;
			for (size_t k = 0; k < n; k++)
				if (strcmp(ch[k].name, name) == 0)
					cur = &ch[k];
			if (cur != NULL) {
				seen[cur - ch] = true;
				if ((cur->op == POSTCONF_SET && put_setting(out, cur) < 0)
				    || (cur->op == POSTCONF_COMMENT
					&& (buf_putc(out, '#') < 0 || buf_append(out, s, plen) < 0
					    || buf_putc(out, '\n') < 0)))
					goto out;
				continue;
			}
		} else if (continuation(s, plen)) {
			if (cur != NULL) {
				if (cur->op == POSTCONF_COMMENT
				    && (buf_putc(out, '#') < 0 || buf_append(out, s, plen) < 0
					|| buf_putc(out, '\n') < 0))
					goto out;
				continue;
			}
		} else if (plen > 0 && s[0] != ' ' && s[0] != '\t' && s[0] != '#'
			   && s[0] != '\r') {
			cur = NULL;	/* a line that is no setting ends one */
		}
		if (buf_append(out, s, whole) < 0)
			goto out;
	}
	for (size_t k = 0; k < n; k++) {
		if (seen[k] || ch[k].op != POSTCONF_SET)
			continue;
		/* A later change of the same name wins: set it once. */
		bool    later = false;

		for (size_t j = k + 1; j < n; j++)
			later |= strcmp(ch[j].name, ch[k].name) == 0;
		if (later)
			continue;
		if (out->len > 0 && out->data[out->len - 1] != '\n' && buf_putc(out, '\n') < 0)
			goto out;
		if (put_setting(out, &ch[k]) < 0)
			goto out;
		seen[k] = true;
	}
	r = 0;
out:
	free(seen);
	return r;
}

int
postconf_edit_file(const char *config_dir, const struct postconf_change *ch, size_t n,
		   struct buf *err)
{
	struct config_file f;
	struct sf_replace rep;
	struct stat st;
	struct buf out;
	char    path[4096];
	int     dfd, r = -1;

	if (str_fmt(path, sizeof(path), "%s/main.cf", config_dir) < 0) {
		config_problem(err, "%s: name too long", config_dir);
		return -1;
	}
	if ((dfd = open(config_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		config_problem(err, "%s: %s", config_dir, strerror(errno));
		return -1;
	}
	while (flock(dfd, LOCK_EX) < 0)
		if (errno != EINTR) {
			config_problem(err, "%s: cannot lock: %s", config_dir, strerror(errno));
			close(dfd);
			return -1;
		}
	if (stat(path, &st) < 0 || config_file_open(&f, path, CONFIG_FILE_MAX,
						    CONFIG_LINE_MAX, err) < 0) {
		if (err->len == 0)
			config_problem(err, "%s: %s", path, strerror(errno));
		close(dfd);
		return -1;
	}
	buf_init(&out, CONFIG_FILE_MAX + 64 * 1024);
	if (postconf_edit_text(f.data, f.len, ch, n, &out) < 0) {
		config_problem(err, "%s: the edited file would be larger than %d bytes",
			       path, CONFIG_FILE_MAX);
		goto done;
	}
	if (sf_replace_begin(&rep, path, st.st_mode & 07777) < 0) {
		config_problem(err, "%s: cannot create a temporary file: %s", path,
			       strerror(errno));
		goto done;
	}
	if ((fchown(rep.fd, st.st_uid, st.st_gid) < 0 && geteuid() == 0)
	    || fchmod(rep.fd, st.st_mode & 07777) < 0
	    || sf_write_all(rep.fd, out.data, out.len) < 0) {
		config_problem(err, "%s: cannot write a temporary file: %s", path,
			       strerror(errno));
		sf_replace_abort(&rep);
		goto done;
	}
	if (sf_replace_commit(&rep) < 0) {
		config_problem(err, "%s: cannot replace: %s", path, strerror(errno));
		goto done;
	}
	r = 0;
done:
	buf_free(&out);
	config_file_close(&f);
	close(dfd);		/* releases the lock */
	return r;
}
