/*
 * fuzz_ipc - the strict message reader every daemon uses on its
 * sockets: any byte sequence from a (possibly compromised) peer is
 * parsed or refused, never trusted.
 */
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "safefile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_conn c;
	struct ipc_in in;
	int     sv[2], fd;

	if (size > 200000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	(void) sf_write_all(sv[0], data, size);
	close(sv[0]);
	ipc_conn_init(&c, sv[1], 64 * 1024);
	ipc_in_init(&in);
	while (ipc_conn_read(&c) > 0) {
		int     r;

		while ((r = ipc_conn_next(&c, &in, &fd)) == 1) {
			const char *name, *s;
			uint64_t v;
			const void *b;
			size_t  n;

			if (fd >= 0)
				close(fd);
			while ((name = ipc_peek_name(&in)) != NULL) {
				if (ipc_get_str(&in, name, &s, 4096) < 0
				    && ipc_get_num(&in, name, &v) < 0
				    && ipc_get_blob(&in, name, &b, &n, 65536) < 0)
					break;
			}
			(void) ipc_get_end(&in);
		}
		if (r < 0)
			break;
	}
	ipc_in_free(&in);
	ipc_conn_free(&c);
	close(sv[1]);
	return 0;
}
