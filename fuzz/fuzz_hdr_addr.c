/*
 * fuzz_hdr_addr - RFC 5322 address lists (To/Cc/Bcc for sendmail -t,
 * Delivered-To): Sendmail's crackaddr() bug class.
 */
#include <stdint.h>

#include "hdr_addr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char  **list = NULL;
	struct hdr_addr_stats st;
	size_t  n;

	n = hdr_addr_list((const char *) data, size, size && (data[0] & 1) ? HDR_ADDR_UTF8 : 0,
			  100, &list, &st);
	hdr_addr_list_free(list, n);
	return 0;
}
