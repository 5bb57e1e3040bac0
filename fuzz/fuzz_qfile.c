/*
 * fuzz_qfile - the queue file reader: every daemon that opens a queue
 * or maildrop file must survive any content (a corrupt file goes to
 * corrupt/, never crashes anything).  The first byte picks maildrop or
 * queue mode.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qfile.h"
#include "safefile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct qfile_limits lim;
	struct qfile_env env;
	char    why[256];
	unsigned flags;

	if (size < 1)
		return 0;
	if (fd < 0 && (fd = memfd_create("fuzz_qfile", 0)) < 0)
		return 0;
	flags = (data[0] & 1) ? QF_MAILDROP : 0;
	if (ftruncate(fd, 0) < 0 || sf_pwrite_all(fd, data + 1, size - 1, 0) < 0)
		return 0;
	qfile_limits_default(&lim);
	if (qfile_read(fd, flags, NULL, &lim, &env, why, sizeof(why)) == 0)
		qfile_env_free(&env);
	return 0;
}
