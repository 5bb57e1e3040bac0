/*
 * fuzz_addr - RFC 5321 paths and ESMTP parameters, as smtpd parses them
 * after "MAIL FROM:" and "RCPT TO:" (Sendmail prescan, Exim
 * extract_option: where remote-root bugs lived).  The first byte picks
 * the flags.
 */
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "esmtp_param.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr a;
	struct addr_error e;
	struct esmtp_param prm[ESMTP_PARAMS_MAX];
	size_t  used = 0, count;
	unsigned flags;
	char    local[ADDR_CANON_MAX + 1], domain[ADDR_CANON_MAX + 1];

	if (size < 1)
		return 0;
	flags = data[0] & 0x1f;
	data++, size--;
	if (addr_parse_path((const char *) data, size, flags, &a, &used, &e) == 0) {
		/* What was accepted must be a well-formed canonical address. */
		if (used > size || strlen(a.addr) > ADDR_CANON_MAX)
			__builtin_trap();
		(void) addr_split(a.addr, local, sizeof(local), domain, sizeof(domain));
		(void) esmtp_params_parse((const char *) data + used, size - used, prm,
					  ESMTP_PARAMS_MAX, &count, &e);
	}
	return 0;
}
