/*
 * fuzz_smtp_reply - multi-line SMTP reply accumulation, as an SMTP
 * client reads a remote server (OpenSMTPD CVE-2020-8794 was here).
 * Input lines are separated by LF.
 */
#include <stdint.h>
#include <string.h>

#include "smtp_reply.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	const char *p = (const char *) data, *end = p + size;

	smtp_reply_init(&r, 100, 8192);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		size_t  n = nl ? (size_t) (nl - p) : (size_t) (end - p);

		if (smtp_reply_add(&r, p, n) != 0)
			smtp_reply_reset(&r);
		p += n + (nl != NULL);
	}
	smtp_reply_free(&r);
	return 0;
}
