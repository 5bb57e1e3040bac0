/*
 * NAME
 *	qid - queue IDs: short, unique, ordered by arrival time
 * DESCRIPTION
 *	See qid.h.  Seven base-32 digits hold 35 bits of seconds, enough
 *	until the year 3058; four hold 20 bits, enough for 999,999
 *	microseconds and for a pid modulo 2^20 (Linux pid_max is at most
 *	2^22, so two live processes can share a pid part; they would also
 *	have to make an ID in the same microsecond to collide, and the
 *	queue file is created with O_EXCL all the same).
 *
 *	The wall clock is used, not a monotonic one, because the ID
 *	records the arrival time that mailq shows and that orders the
 *	queue.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "qid.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Time last used by this process, in microseconds since the epoch. */
static uint64_t last_us;

#define BACKSTEP_WAIT_US	1000000	/* wait out a clock step this small */

/* put - write value as len base-32 digits, most significant first */
static void
put(char *out, uint64_t value, int len)
{
	for (int i = len - 1; i >= 0; i--) {
		out[i] = alphabet[value & 31];
		value >>= 5;
	}
}

/* digit - the value of base-32 digit c, or -1 */
static int
digit(int c)
{
	const char *p;

	if (c == '\0' || (p = strchr(alphabet, c)) == NULL)
		return -1;
	return (int) (p - alphabet);
}

/* get - decode len digits; caller checked them with qid_valid() */
static uint64_t
get(const char *s, int len)
{
	uint64_t v = 0;

	for (int i = 0; i < len; i++)
		v = (v << 5) | (uint64_t) digit((unsigned char) s[i]);
	return v;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

void
qid_new(char out[QID_LEN + 1])
{
	static int warned;
	uint64_t t = now_us();

	while (t <= last_us) {
		if (last_us - t >= BACKSTEP_WAIT_US) {
			if (!warned++)
				log_warn("system clock went back %llu.%06llu s; queue IDs "
					 "continue from the last time used",
					 (unsigned long long) ((last_us - t) / 1000000),
					 (unsigned long long) ((last_us - t) % 1000000));
			t = last_us + 1;
			break;
		}
		/* Usually the next call already reads a later microsecond. */
		if (last_us - t > 1000) {
			struct timespec ts = {0, (long) (last_us - t) * 1000};

			(void) nanosleep(&ts, NULL);
		}
		t = now_us();
	}
	last_us = t;
	put(out, t / 1000000, QID_SEC_LEN);
	put(out + QID_SEC_LEN, t % 1000000, QID_USEC_LEN);
	put(out + QID_SEC_LEN + QID_USEC_LEN, (uint64_t) log_pid(), QID_PID_LEN);
	out[QID_LEN] = '\0';
}

bool
qid_valid(const char *s)
{
	if (s == NULL || strnlen(s, QID_LEN + 1) != QID_LEN)
		return false;
	for (int i = 0; i < QID_LEN; i++)
		if (digit((unsigned char) s[i]) < 0)
			return false;
	return get(s + QID_SEC_LEN, QID_USEC_LEN) < 1000000;
}

int
qid_time(const char *id, struct timeval *tv)
{
	if (!qid_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	tv->tv_sec = (time_t) get(id, QID_SEC_LEN);
	tv->tv_usec = (suseconds_t) get(id + QID_SEC_LEN, QID_USEC_LEN);
	return 0;
}
