/*
 * fuzz_header - the header section iterator and unfolding used by
 * cleanup (Exim CVE-2020-28020 bug class: header continuation lines).
 * Checks that every header lies inside the input, in order, within the
 * bound, and that an unfolded value is one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "header.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *) data;
	size_t	max = size ? 64 + (size_t) data[0] * 16 : 64;
	struct header_iter it;
	struct header h;
	size_t	last = 0;
	int     r;

	header_iter_init(&it, d, size, max);
	while ((r = header_next(&it, &h)) != HEADER_END) {
		struct buf out;

		if (r != HEADER_NEXT && r != HEADER_JUNK)
			abort();
		if (h.raw < d || h.raw + h.raw_len > d + size || (size_t) (h.raw - d) < last)
			abort();
		if (h.raw_len > max)
			abort();
		last = (size_t) (h.raw - d) + h.raw_len;
		if (header_iter_offset(&it) > size)
			abort();
		if (r != HEADER_NEXT)
			continue;
		if (h.name == NULL || !header_name_valid(h.name, h.name_len)
		    || h.value < h.raw || h.value + h.value_len > h.raw + h.raw_len)
			abort();
		buf_init(&out, 4096);
		(void) header_unfold(h.value, h.value_len, &out);
		if (memchr(out.data, '\n', out.len) != NULL)
			abort();
		buf_free(&out);
	}
	return 0;
}
