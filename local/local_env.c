/*
 * NAME
 *	local_env - the environment of a delivery command
 * SYNOPSIS
 *	#include "local.h"
 *
 *	struct local_env e;
 *	struct local_env_vals v = { .sender = ..., .path = cfg->command_path };
 *	local_env_build(&e, &v);
 *	execve("/bin/sh", argv, e.vars);
 *	local_env_free(&e);
 * DESCRIPTION
 *	A command started for a delivery (|command in aliases, .forward
 *	or :include:, or mailbox_command) gets a clean environment built
 *	here and nothing of local's own:
 *
 *	  SENDER	the envelope sender ("" for the null sender)
 *	  RECIPIENT	the recipient address being delivered
 *	  LOCAL		its local part (with the extension)
 *	  DOMAIN	its domain
 *	  EXTENSION	the extension (recipient_delimiter), or ""
 *	  HOME USER LOGNAME SHELL   of the user the command runs as
 *	  PATH		command_path
 *
 *	A value that holds a control character (a line end, a NUL would
 *	not even fit) or is longer than LOCAL_PATH_MAX bytes is left out,
 *	its name is listed in e->omitted_names and counted in e->omitted:
 *	the caller logs it.  A NULL value is left out silently.  The
 *	vector is NULL-terminated.
 * SECURITY
 *	Envelope addresses reach a command only here, as values of
 *	variables with fixed names, never on a command line; a value is
 *	bounded and has no line ends, so a script that writes it to a
 *	header or a log cannot be made to write two lines.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "local.h"
#include "mem.h"
#include "str.h"

static void
put(struct local_env *e, const char *name, const char *value)
{
	struct buf b;

	if (value == NULL)
		return;
	if (strlen(value) > LOCAL_PATH_MAX || str_has_ctl(value, strlen(value))) {
		e->omitted++;
		if (e->omitted_names[0] != '\0')
			(void) str_append(e->omitted_names, sizeof(e->omitted_names), " ");
		(void) str_append(e->omitted_names, sizeof(e->omitted_names), name);
		return;
	}
	if (e->n >= LOCAL_ENV_MAX)
		return;
	buf_init(&b, strlen(name) + strlen(value) + 2);
	(void) buf_appendf(&b, "%s=%s", name, value);
	e->vars[e->n++] = buf_steal(&b);
	e->vars[e->n] = NULL;
	buf_free(&b);			/* buf_steal() left a fresh buffer */
}

void
local_env_build(struct local_env *e, const struct local_env_vals *v)
{
	memset(e, 0, sizeof(*e));
	put(e, "SENDER", v->sender);
	put(e, "RECIPIENT", v->recipient);
	put(e, "LOCAL", v->local);
	put(e, "DOMAIN", v->domain);
	put(e, "EXTENSION", v->extension);
	put(e, "HOME", v->home);
	put(e, "USER", v->user);
	put(e, "LOGNAME", v->user);
	put(e, "SHELL", v->shell);
	put(e, "PATH", v->path);
}

void
local_env_free(struct local_env *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->vars[i]);
	memset(e, 0, sizeof(*e));
}
