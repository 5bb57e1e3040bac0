/*
 * NAME
 *	smtpd_logsum - bounded logs: repeated lines about one client are
 *	counted and summarised, never silently dropped
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	smtpd_log(s, "lost connection after %s from %s[%s]", ...);
 *	smtpd_log_client(addr, exempt, "warning: ... from %s", addr);
 *	smtpd_logsum_expire(now_ms);	// once a second: summaries due
 *	smtpd_logsum_flush();		// at exit: every summary now
 * DESCRIPTION
 *	Every line smtpd writes about a client (connect, disconnect,
 *	rejects, lost connections, timeouts, refused connections,
 *	sessions closed to make room, warnings) goes through here.  Lines
 *	of the same kind (the same statement in the code: its format) are
 *	counted per minute in three layers:
 *	  - per client address: LOGSUM_ADDR_LINES of each kind a minute;
 *	  - per client network (smtpd_client_network_ipv4_prefix, /24, and
 *	    smtpd_client_network_ipv6_prefix, /64): LOGSUM_NET_LINES, so
 *	    that many addresses of one network count as one client;
 *	  - for all clients together: LOGSUM_ALL_LINES, so that a crowd of
 *	    networks cannot fill the disk either.
 *	A line within all three is logged; one past any of them is
 *	counted (the last one is kept as a sample) and, when that minute
 *	ends, summarised in one line:
 *
 *	  243 more like this from 192.0.2.7 in the last minute: NOQUEUE:
 *	  reject: RCPT from unknown[192.0.2.7]: 550 5.1.1 ...
 *
 *	("from 192.0.2.0/24", "from all clients" for the other layers).
 *	A minute starts with the first line of its kind and key (ratetab.h);
 *	the summary comes when the next line of that kind and key arrives
 *	after it, or at the next smtpd_logsum_expire() (smtpd_overload.c's
 *	tick, every second), or when the table must make room, or at exit
 *	(smtpd_logsum_flush(): "in the last 12s").  So every line is
 *	either written or counted in a summary.
 *
 *	Clients in smtpd_client_event_limit_exceptions (by default
 *	$mynetworks: the site's own relays, which may connect hundreds of
 *	times a minute) are never summarised.  "QUEUEID: client=" lines
 *	(mail accepted) are not written through here and are never
 *	summarised.
 * LIMITS
 *	Per client address and kind, LOGSUM_ADDR_LINES lines a minute and
 *	one summary, in each smtpd process (the tables are the process's).
 *	A client that reconnects after each 550 as fast as it can causes
 *	three kinds (connect, reject, disconnect): about 30 lines and 3
 *	summaries, 7 KB a minute per process (measured with two processes:
 *	29.8 KB in 125 s for 216,466 sessions), where it caused 57 MB a
 *	minute before.  At worst, a client that triggers every kind it can
 *	reaches K x (LOGSUM_ADDR_LINES + 1) lines of at most LOG_LINE_MAX
 *	bytes a minute per process, K being the number of kinds a session
 *	can reach (about 30).  The tables hold LOGSUM_ADDR_KEYS, LOGSUM_NET_KEYS and
 *	LOGSUM_ALL_KEYS kinds-and-keys (about 1.4 MB when all are used,
 *	allocated at first use); when one is full, the key whose minute
 *	started earliest is summarised and makes room.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "netmatch.h"
#include "params.h"
#include "ratetab.h"
#include "smtpd.h"
#include "str.h"

#define LOGSUM_UNIT_MS		60000
#define LOGSUM_ADDR_LINES	10
#define LOGSUM_NET_LINES	30
#define LOGSUM_ALL_LINES	300
#define LOGSUM_ADDR_KEYS	4096
#define LOGSUM_NET_KEYS		1024
#define LOGSUM_ALL_KEYS		256
#define LOGSUM_SAMPLE		100

enum { L_ADDR, L_NET, L_ALL, L_LAYERS };

static const unsigned max_lines[L_LAYERS] = {
	LOGSUM_ADDR_LINES, LOGSUM_NET_LINES, LOGSUM_ALL_LINES,
};
static const size_t max_keys[L_LAYERS] = {
	LOGSUM_ADDR_KEYS, LOGSUM_NET_KEYS, LOGSUM_ALL_KEYS,
};

struct sum {
	uint32_t logged;
	uint32_t suppressed;
	char	sample[LOGSUM_SAMPLE];	/* the last line suppressed */
};

static struct ratetab *tabs[L_LAYERS];
static int layer_id[L_LAYERS] = {L_ADDR, L_NET, L_ALL};

/* summarise - a minute's count of one kind and key is over */
static void
summarise(void *ctx, const char *key, void *value, uint64_t start_ms)
{
	const struct sum *v = value;
	const char *who = strchr(key, '|');
	uint64_t span = ev_time_ms() - start_ms;
	char	when[40];

	if (v->suppressed == 0)
		return;
	who = who == NULL ? "?" : *(int *) ctx == L_ALL ? "all clients" : who + 1;
	if (span >= LOGSUM_UNIT_MS)
		(void) str_copy(when, sizeof(when), "the last minute");
	else
		(void) str_fmt(when, sizeof(when), "the last %llus",
			       (unsigned long long) (span / 1000));
	log_info("%u more like this from %s in %s: %s", v->suppressed, who, when,
		 v->sample);
}

static void
init(void)
{
	for (int i = 0; i < L_LAYERS; i++) {
		tabs[i] = ratetab_new(max_keys[i], sizeof(struct sum), LOGSUM_UNIT_MS);
		ratetab_on_drop(tabs[i], summarise, &layer_id[i]);
	}
}

void
smtpd_log_vclient(const char *addr, bool exempt, const char *fmt, va_list ap)
{
	char	line[LOG_LINE_MAX], key[RATETAB_KEY_MAX], net[64];
	struct sum *v[L_LAYERS];
	uint64_t now = ev_time_ms();

	(void) vsnprintf(line, sizeof(line), fmt, ap);
	if (exempt) {
		log_info("%s", line);
		return;
	}
	if (tabs[0] == NULL)
		init();
	if (netmatch_network(addr, (int) cfg->smtpd_client_network_ipv4_prefix,
			     (int) cfg->smtpd_client_network_ipv6_prefix, net,
			     sizeof(net)) < 0)
		(void) str_copy(net, sizeof(net), addr);
	for (int i = 0; i < L_LAYERS; i++) {
		(void) str_fmt(key, sizeof(key), "%p|%s", (const void *) fmt,
			       i == L_ADDR ? addr : i == L_NET ? net : "*");
		v[i] = ratetab_get(tabs[i], key, now);
		if (v[i]->logged >= max_lines[i]) {
			v[i]->suppressed++;
			(void) str_copy(v[i]->sample, sizeof(v[i]->sample), line);
			return;
		}
	}
	for (int i = 0; i < L_LAYERS; i++)
		v[i]->logged++;
	log_info("%s", line);
}

void
smtpd_log_client(const char *addr, bool exempt, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtpd_log_vclient(addr, exempt, fmt, ap);
	va_end(ap);
}

void
smtpd_log(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtpd_log_vclient(s->addr, s->limits_exempt, fmt, ap);
	va_end(ap);
}

void
smtpd_logsum_expire(uint64_t now_ms)
{
	for (int i = 0; i < L_LAYERS; i++)
		if (tabs[i] != NULL)
			ratetab_expire(tabs[i], now_ms);
}

void
smtpd_logsum_flush(void)
{
	for (int i = 0; i < L_LAYERS; i++) {
		ratetab_free(tabs[i]);
		tabs[i] = NULL;
	}
}
