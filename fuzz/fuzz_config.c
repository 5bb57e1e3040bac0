/*
 * fuzz_config - main.cf parsing and $name expansion (loops, depth,
 * sizes) from a snapshot descriptor, as every daemon reads it.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "safefile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct params *p;
	struct buf err;

	if (fd < 0) {
		log_init("fuzz_config", 0);	/* warnings go nowhere */
		if ((fd = memfd_create("fuzz_config", 0)) < 0)
			return 0;
	}
	if (ftruncate(fd, 0) < 0 || sf_pwrite_all(fd, data, size, 0) < 0)
		return 0;
	buf_init(&err, 1024 * 1024);
	/* Fixed host names keep the run free of DNS lookups. */
	{
		const char *ov[] = {"myhostname=fuzz.example", "mydomain=example"};

		p = config_load_fd("/nonexistent-fuzz", fd, ov, 2, &err);
	}
	if (p)
		config_free(p);
	buf_free(&err);
	return 0;
}
