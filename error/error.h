/*
 * NAME
 *	error.h - the error delivery agent's logic
 * SYNOPSIS
 *	#include "error.h"
 * DESCRIPTION
 *	error/error.c holds main() and the manual; error_reason.c the one
 *	decision error makes, which tests/unit/error_reason_test.c links.
 */
#ifndef POSTERN_ERROR_H
#define POSTERN_ERROR_H

#include <stddef.h>

struct error_reason {
	int	status;			/* DELIVERY_DEFER or DELIVERY_BOUNCE */
	char	dsn[10];
	const char *text;		/* points into the next hop */
};

void	error_reason(const char *nexthop, struct error_reason *r);

#endif
