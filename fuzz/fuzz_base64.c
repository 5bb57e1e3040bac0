/*
 * fuzz_base64 - the strict base64 decoder SMTP AUTH runs on what a client
 * sends: whatever it accepts must be canonical (encoding the result gives
 * the input back), and nothing may be read or written out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char out[3 * 1024];
	size_t	len;
	struct buf b;

	if (base64_decode((const char *) data, size, out, sizeof(out), &len) < 0)
		return 0;
	buf_init(&b, 8 * 1024);
	if (base64_encode(out, len, &b) < 0 || b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	buf_free(&b);
	return 0;
}
