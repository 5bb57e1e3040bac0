/*
 * fuzz_tlsa - TLSA answers as a DNS server (or whoever forges its
 * packets) sends them: dns_tlsa_parse() on the raw message, every record
 * it returns read in full (ASan catches a data pointer past the end).
 */
#include <stdint.h>
#include <string.h>

#include "dns.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_tlsa t[DNS_TLSA_MAX];
	char	why[256];
	size_t	n = 0;
	unsigned sum = 0;

	(void) dns_tlsa_parse(data, size, t, DNS_TLSA_MAX, &n, why, sizeof(why));
	if (n > DNS_TLSA_MAX)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		if (t[i].data < data || t[i].data + t[i].len > data + size)
			__builtin_trap();
		for (size_t k = 0; k < t[i].len; k++)
			sum += t[i].data[k];
	}
	/* Every byte was read; the sum only keeps the loop. */
	return sum == 0xffffffffu ? 0 : 0;
}
