/*
 * NAME
 *	restriction_params - main.cf's restriction classes, read alike by
 *	smtpd, the lookup service and postern check
 * SYNOPSIS
 *	#include "restriction_params.h"
 *	char why[RESTRICTION_WHY_MAX];
 *	if (restriction_params_classes(cfg, why, sizeof(why)) < 0)
 *		... "smtpd_restriction_classes: " why ...
 * DESCRIPTION
 *	restriction_params_classes() gives restriction.h the classes of
 *	p (Postfix's smtpd_restriction_classes): each name in that list
 *	is a main.cf parameter of the administrator's own (one that
 *	params.def does not have, set in main.cf: a master.cf -o cannot
 *	define one), whose value is a restriction list.  After it, the
 *	class names are words of the restriction lists and may be access
 *	table results.  Returns 0, or -1 with why naming the class: not
 *	set in main.cf, the name of a postern parameter or of a
 *	restriction, a list that does not parse, more than
 *	RESTRICTION_CLASSES_MAX classes.  A class's value is taken as
 *	written, $name references expanded when main.cf's loading
 *	expanded them (a class referenced as $name elsewhere), else as
 *	written.
 */
#ifndef POSTERN_RESTRICTION_PARAMS_H
#define POSTERN_RESTRICTION_PARAMS_H

#include <stddef.h>

#include "params.h"

int	restriction_params_classes(const struct params *p, char *why, size_t whylen);

#endif
