/*
 * NAME
 *	ticket_seed - the instance's session-ticket seed (see ticket_seed.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safefile.h"
#include "str.h"
#include "ticket_seed.h"

int
ticket_seed_make(const char *data_directory, char *why, size_t size)
{
	unsigned char seed[TICKET_SEED_LEN];
	char	path[4096];
	ssize_t n;
	int	r;

	if (str_fmt(path, sizeof(path), "%s/" TICKET_SEED_FILE, data_directory) < 0) {
		(void) str_fmt(why, size, "data_directory %s: name too long", data_directory);
		return -1;
	}
	do
		n = getrandom(seed, sizeof(seed), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t) sizeof(seed)) {
		(void) str_fmt(why, size, "cannot get random bytes for %s: %s", path,
			       n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	r = sf_replace(path, seed, sizeof(seed), 0600);
	explicit_bzero(seed, sizeof(seed));
	if (r < 0) {
		(void) str_fmt(why, size, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
ticket_seed_read(const char *data_directory, unsigned char *seed, char *why, size_t size)
{
	char	path[4096];
	const char *reason = NULL;
	struct stat st;
	int	fd, saved;
	ssize_t n;

	if (str_fmt(path, sizeof(path), "%s/" TICKET_SEED_FILE, data_directory) < 0) {
		(void) str_fmt(why, size, "data_directory %s: name too long", data_directory);
		return -1;
	}
	if ((fd = sf_open(AT_FDCWD, path, O_RDONLY, 0, 0, &st, &reason)) < 0) {
		saved = errno;
		(void) str_fmt(why, size, "%s: %s", path, reason ? reason : strerror(saved));
		return -1;
	}
	if ((st.st_mode & 077) != 0 || st.st_size != TICKET_SEED_LEN) {
		(void) close(fd);
		(void) str_fmt(why, size, "%s: must be %d bytes, mode 0600, owned by root "
			       "(the master writes it at start)", path, TICKET_SEED_LEN);
		return -1;
	}
	n = sf_read_all(fd, seed, TICKET_SEED_LEN);
	saved = errno;
	(void) close(fd);
	if (n != TICKET_SEED_LEN) {
		explicit_bzero(seed, TICKET_SEED_LEN);
		(void) str_fmt(why, size, "cannot read %s: %s", path,
			       n < 0 ? strerror(saved) : "short file");
		return -1;
	}
	return 0;
}
