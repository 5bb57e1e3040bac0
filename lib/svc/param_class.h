/*
 * NAME
 *	param_class - which class a main.cf or master.cf -o name is in
 * SYNOPSIS
 *	#include "param_class.h"
 *
 *	const char *what;
 *	switch (param_class("smtpd_tls_security_level", &what)) {
 *	case PARAM_IMPLEMENTED: ...			// in params.def
 *	case PARAM_UNSUPPORTED: error("%s is not supported yet", what);
 *	case PARAM_IGNORED:     note("ignored: %s", what);
 *	case PARAM_UNKNOWN:     warn("unknown parameter");
 *	}
 * DESCRIPTION
 *	Every name falls in exactly one class (params_postfix.def says
 *	what each means and how a parameter leaves "unsupported": by
 *	being added to params.def, which is asked first).
 *
 *	param_class() returns the class of name; for PARAM_UNSUPPORTED
 *	and PARAM_IGNORED *what (when what is not NULL) is the short
 *	text of the entry that matched ("TLS", "documentation
 *	location"), otherwise "".
 *
 *	param_class_table[] holds the entries of params_postfix.def in
 *	order (param_class_count of them): pattern, class, text.
 *	param_pattern_match() is true when name matches pattern, where
 *	'*' stands for any run of characters, possibly empty.
 *	param_postfix_name() is true when Postfix 3.7 has a parameter of
 *	that name (postfix_names.def): a name it does not have is never
 *	taken for a Postfix setting when main.cf uses it as a
 *	user-defined parameter (mua_client_restrictions matches
 *	"*_restrictions" but means nothing to Postfix by itself).
 */
#ifndef POSTERN_PARAM_CLASS_H
#define POSTERN_PARAM_CLASS_H

#include <stdbool.h>
#include <stddef.h>

enum param_class {
	PARAM_IMPLEMENTED,
	PARAM_UNSUPPORTED,
	PARAM_IGNORED,
	PARAM_UNKNOWN,
};

struct param_class_entry {
	const char *pattern;
	enum param_class cls;
	const char *what;
};

extern const struct param_class_entry param_class_table[];
extern const size_t param_class_count;

enum param_class param_class(const char *name, const char **what);
bool	param_pattern_match(const char *pattern, const char *name);
bool	param_postfix_name(const char *name);

#endif
