/*
 * fuzz_esmtp_param - a MAIL FROM / RCPT TO argument: the path, then its
 * ESMTP parameters, then each value through xtext (Exim's
 * extract_option() and AUTH= spool injection bug classes).  Checks what
 * the headers promise: a parsed path consumed no more than was given,
 * values are within their bounds, a decoded xtext holds no control
 * character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "esmtp_param.h"
#include "xtext.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esmtp_param prm[ESMTP_PARAMS_MAX];
	struct addr_error e;
	struct addr a;
	size_t	used = 0, count = 0;
	unsigned flags = size ? data[0] & 0x1f : 0;
	const char *s = (const char *) data;

	if (size > 0) {
		s++;
		size--;
	}
	if (addr_parse_path(s, size, flags, &a, &used, &e) < 0)
		return 0;
	if (used > size || strlen(a.addr) > ADDR_CANON_MAX)
		abort();
	if (esmtp_params_parse(s + used, size - used, prm, ESMTP_PARAMS_MAX, &count, &e) < 0) {
		if (count != 0)
			abort();
		return 0;
	}
	if (count > ESMTP_PARAMS_MAX)
		abort();
	for (size_t i = 0; i < count; i++) {
		char    out[ESMTP_VALUE_MAX + 1];

		if (strlen(prm[i].key) > ESMTP_KEY_MAX || strlen(prm[i].value) > ESMTP_VALUE_MAX)
			abort();
		if (esmtp_param_find(prm, count, prm[i].key) == NULL)
			abort();
		if (xtext_decode(prm[i].value, out, sizeof(out)) == 0)
			for (const char *p = out; *p; p++)
				if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
					abort();
	}
	return 0;
}
