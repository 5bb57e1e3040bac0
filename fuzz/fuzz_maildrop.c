/*
 * fuzz_maildrop - postdrop's input: the record stream a local user
 * controls completely (lib/mail/maildrop.c maildrop_in_next()), and
 * sendmail's message reader (maildrop_read_input()).  The first byte
 * picks the reader and, for the message reader, -i and the line bound.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "maildrop.h"
#include "safefile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
sink(void *ctx, const char *p, size_t n)
{
	(void) ctx;
	(void) p;
	return n > MAILDROP_CHUNK_MAX;	/* never: the reader's own bound */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct maildrop_limits lim = {
		.addr_max = 64, .attr_max = 64, .attr_count = 4, .rcpt_max = 8,
		.msg_max = 100000,
	};

	if (size < 1)
		return 0;
	if (fd < 0 && (fd = memfd_create("fuzz_maildrop", 0)) < 0)
		return 0;
	if (ftruncate(fd, 0) < 0 || sf_pwrite_all(fd, data + 1, size - 1, 0) < 0
	    || lseek(fd, 0, SEEK_SET) < 0)
		return 0;
	if (data[0] & 1) {
		struct maildrop_in in;
		struct maildrop_rec rec;

		maildrop_in_init(&in, fd, &lim);
		while (maildrop_in_next(&in, &rec) == 1)
			;
		maildrop_in_free(&in);
	} else {
		struct maildrop_msg m;

		maildrop_msg_init(&m, 50000, MAILDROP_MSG_SKIP_FROM_, sink, NULL);
		(void) maildrop_read_input(fd, 512 + (data[0] >> 1), (data[0] & 2) != 0, &m);
		maildrop_msg_free(&m);
	}
	return 0;
}
