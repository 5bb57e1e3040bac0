/*
 * NAME
 *	lookup_clnt - table and address lookups through the lookup service
 * DESCRIPTION
 *	See lookup_clnt.h.  The connection is file-scope state: postern
 *	daemons are single-threaded and one connection serves every
 *	caller in the process.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "event.h"
#include "hdr_addr.h"
#include "log.h"
#include "lookup_clnt.h"
#include "lookup_maps.h"
#include "params.h"
#include "str.h"
#include "table.h"

#define ADDR_MAX	1000	/* longer addresses are in no table */

static int clnt_fd = -1;
static struct ipc_conn clnt_conn;	/* buffers clnt_fd while it is open */
static char clnt_path[256] = LOOKUP_SOCKET;
static char clnt_err[LOOKUP_WHY_MAX + 64];
static bool direct;
static struct lookup_maps *direct_maps;

const char *
lookup_clnt_error(void)
{
	return clnt_err;
}

void
lookup_clnt_close(void)
{
	if (clnt_fd >= 0) {
		(void) close(clnt_fd);
		ipc_conn_free(&clnt_conn);
	}
	clnt_fd = -1;
}

void
lookup_clnt_set_path(const char *path)
{
	lookup_clnt_close();
	if (str_copy(clnt_path, sizeof(clnt_path), path) < 0)
		log_panic("lookup_clnt_set_path: path too long: %.64s...", path);
}

void
lookup_clnt_direct(bool on)
{
	direct = on;
	if (!on) {
		lookup_maps_free(direct_maps);
		direct_maps = NULL;
	}
}

void
lookup_req_build(struct ipc_msg *m, const char *param, const char *key)
{
	ipc_msg_init(m, LOOKUP_REQ_GET);
	(void) ipc_put_str(m, "param", param);
	(void) ipc_put_str(m, "key", key);
}

void
lookup_addr_req_build(struct ipc_msg *m, const char *param, const char *address)
{
	ipc_msg_init(m, LOOKUP_REQ_ADDR);
	(void) ipc_put_str(m, "param", param);
	(void) ipc_put_str(m, "address", address);
}

int
lookup_rep_parse(struct ipc_in *in, struct buf *value)
{
	uint64_t st;
	const char *v;

	if (in->type != LOOKUP_REP) {
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: reply "
			       "of type %u, expected %u", in->type, LOOKUP_REP);
		return -2;
	}
	if (ipc_get_num(in, "status", &st) < 0
	    || ipc_get_str(in, "value", &v, TABLE_VALUE_MAX) < 0
	    || ipc_get_end(in) < 0) {
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: "
			       "malformed reply: %s", ipc_error(in));
		return -2;
	}
	switch (st) {
	case LOOKUP_STAT_FOUND:
		if (buf_set(value, v, strlen(v)) < 0) {
			(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup result "
				       "longer than %zu bytes", value->max);
			return -1;
		}
		return 1;
	case LOOKUP_STAT_NOTFOUND:
		return 0;
	case LOOKUP_STAT_TEMP:
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: "
			       "temporary error: %.400s", v);
		return -1;
	default:
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service: "
			       "unknown status %llu", (unsigned long long) st);
		return -2;
	}
}

/* remote - one request over the connection, one reconnect on failure */
static int
remote(bool addr, const char *param, const char *key, struct buf *value)
{
	struct ipc_msg m;
	struct ipc_in in;
	uint64_t deadline = ev_time_ms() + LOOKUP_TIMEOUT_MS;
	int     r = -1;

	if (addr)
		lookup_addr_req_build(&m, param, key);
	else
		lookup_req_build(&m, param, key);
	if (m.failed) {
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup request for %s "
			       "cannot be built: %s", param, strerror(m.failed));
		ipc_msg_free(&m);
		return -1;
	}
	ipc_in_init_max(&in, LOOKUP_REP_MAX);
	for (int attempt = 0; attempt < 2; attempt++) {
		bool    fresh = false;
		int     left, rr, saved;

		if (clnt_fd < 0) {
			if ((clnt_fd = ipc_connect(clnt_path, false)) < 0) {
				(void) str_fmt(clnt_err, sizeof(clnt_err), "cannot "
					       "connect to the lookup service at %s: %s",
					       clnt_path, strerror(errno));
				break;
			}
			ipc_conn_init(&clnt_conn, clnt_fd, LOOKUP_REP_MAX);
			fresh = true;
		}
		left = (int) (deadline > ev_time_ms() ? deadline - ev_time_ms() : 1);
		if (ipc_send(clnt_fd, &m, -1, left) == 0) {
			left = (int) (deadline > ev_time_ms() ? deadline - ev_time_ms() : 1);
			/* One poll, one read: the reply is all that can come. */
			rr = ipc_conn_recv(&clnt_conn, &in, NULL, left, true);
			if (rr == 0) {
				r = lookup_rep_parse(&in, value);
				if (r == -2) {
					log_warn("%s", clnt_err);
					lookup_clnt_close();
					r = -1;
				}
				break;
			}
			if (rr == 1)
				errno = ECONNRESET;
		}
		saved = errno;
		(void) str_fmt(clnt_err, sizeof(clnt_err), "lookup service at %s: "
			       "%s", clnt_path, saved == ETIMEDOUT
			       ? "no reply within 10 s" : strerror(saved));
		lookup_clnt_close();
		/* A stale connection is retried once; a hung service is not. */
		if (saved == ETIMEDOUT || fresh)
			break;
	}
	ipc_in_free(&in);
	ipc_msg_free(&m);
	return r;
}

/* param_value - main.cf value of param, or NULL when unknown */
static const char *
param_value(const char *param)
{
	const struct param_info *pi;

	if (cfg == NULL || (pi = param_find(param)) == NULL
	    || (pi->type != PT_STR && pi->type != PT_LIST))
		return NULL;
	return *(const char *const *) ((const char *) cfg + pi->offset);
}

/* served - 1 param has tables to ask, 0 it has none, -1 not served */
static int
served(const char *param)
{
	const char *pv = param_value(param);

	if (!lookup_maps_allowed(param)) {
		(void) str_fmt(clnt_err, sizeof(clnt_err), "parameter %.64s is not "
			       "served by the lookup service", param);
		return -1;
	}
	return pv != NULL && *pv == '\0' ? 0 : 1;
}

/* direct_get - one key from the tables of this process (direct mode) */
static int
direct_get(void *ctx, const char *param, const char *key, struct buf *value)
{
	(void) ctx;
	return lookup_maps_get(direct_maps, param, key, value, clnt_err,
			       sizeof(clnt_err));
}

static void
direct_open(void)
{
	if (cfg == NULL)
		log_panic("lookup_clnt: direct mode without a configuration");
	if (direct_maps == NULL)
		direct_maps = lookup_maps_new(cfg, cfg->lookup_reopen_check_time * 1000);
	lookup_maps_request(direct_maps);
}

int
lookup_get(const char *param, const char *key, struct buf *value)
{
	int     r;

	clnt_err[0] = '\0';
	if ((r = served(param)) <= 0)
		return r;			/* no tables, no round trip */
	if (direct) {
		direct_open();
		return direct_get(NULL, param, key, value);
	}
	return remote(false, param, key, value);
}

/* is_local_domain - domain listed in mydestination */
static bool
is_local_domain(const char *domain)
{
	return cfg != NULL && config_list_contains(cfg->mydestination, domain);
}

struct ext_ctx {
	struct buf *out;
	const char *delim_ext;		/* "+ext" */
	int	failed;
};

/* add_ext - append one result address with the extension to the list */
static int
add_ext(void *ctx, const char *a, unsigned aflags)
{
	struct ext_ctx *x = ctx;
	const char *at = strrchr(a, '@');
	int     r;

	(void) aflags;
	if (x->out->len > 0 && buf_puts(x->out, ", ") < 0)
		goto full;
	if (a[0] == '"') {
		/* Inside quotes the extension would change the quoting. */
		r = buf_puts(x->out, a);
	} else if (at == NULL) {
		r = buf_appendf(x->out, "%s%s", a, x->delim_ext);
	} else {
		r = buf_appendf(x->out, "%.*s%s%s", (int) (at - a), a, x->delim_ext, at);
	}
	if (r == 0)
		return 0;
full:
	x->failed = 1;
	return 1;
}

int
lookup_addr(const char *param, const char *address, struct buf *value)
{
	int     r;

	clnt_err[0] = '\0';
	if ((r = served(param)) <= 0)
		return r;
	if (strlen(address) == 0 || strlen(address) > ADDR_MAX)
		return 0;			/* in no table: no round trip */
	if (direct) {
		direct_open();
		return lookup_addr_keys(param, address, value, direct_get, NULL);
	}
	/* One round trip: the service tries the keys itself. */
	return remote(true, param, address, value);
}

int
lookup_addr_keys(const char *param, const char *address, struct buf *value,
		 lookup_key_fn *get, void *ctx)
{
	char    local[ADDR_MAX + 1], base[ADDR_MAX + 1], key[ADDR_MAX + 2];
	char    ext[ADDR_MAX + 2];
	const char *at, *domain, *delims;
	size_t  alen = strlen(address);
	bool    has_ext = false, stripped = false, local_dom;
	int     delim = 0, r = 0, step;

	clnt_err[0] = '\0';
	if (alen == 0 || alen > ADDR_MAX)
		return 0;			/* the null address is in no table */
	at = strrchr(address, '@');
	domain = at ? at + 1 : "";
	if (at)
		(void) str_fmt(local, sizeof(local), "%.*s", (int) (at - address), address);
	else
		(void) str_copy(local, sizeof(local), address);
	(void) str_copy(base, sizeof(base), local);

	delims = cfg ? cfg->recipient_delimiter : "";
	if (*delims && local[0] != '"') {
		char   *e = addr_strip_extension(base, delims, &delim);

		if (e != NULL) {
			(void) str_fmt(ext, sizeof(ext), "%c%s", delim, e);
			has_ext = true;
		}
	}
	local_dom = *domain == '\0' || is_local_domain(domain);

	/* The keys, in Postfix's order; the first answer wins. */
	for (step = 0; step < 5 && r == 0; step++) {
		switch (step) {
		case 0:
			(void) str_copy(key, sizeof(key), address);
			break;
		case 1:
			if (!has_ext || *domain == '\0')
				continue;
			(void) str_fmt(key, sizeof(key), "%s@%s", base, domain);
			break;
		case 2:
			if (!local_dom || *domain == '\0')
				continue;
			(void) str_copy(key, sizeof(key), local);
			break;
		case 3:
			if (!local_dom || !has_ext)
				continue;
			(void) str_copy(key, sizeof(key), base);
			break;
		case 4:
			if (*domain == '\0')
				continue;
			(void) str_fmt(key, sizeof(key), "@%s", domain);
			break;
		}
		r = get(ctx, param, key, value);
		stripped = has_ext && (step == 1 || step == 3);
	}
	if (r <= 0)
		return r;

	/* "@otherdomain": the same local part in another domain. */
	{
		const char *v = buf_str(value);

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '@') {
			struct buf nv;

			buf_init(&nv, value->max);
			if (buf_appendf(&nv, "%s%s", local, v) < 0
			    || buf_set(value, nv.data, nv.len) < 0) {
				buf_free(&nv);
				(void) str_fmt(clnt_err, sizeof(clnt_err), "%s: result "
					       "for %.200s too long", param, address);
				return -1;
			}
			buf_free(&nv);
			stripped = false;	/* the extension is in local already */
		}
	}

	if (stripped) {
		struct buf nv;
		struct ext_ctx x = {.out = &nv, .delim_ext = ext};
		struct hdr_addr_stats st;

		buf_init(&nv, value->max);
		(void) hdr_addr_walk(value->data, value->len, HDR_ADDR_UTF8,
				     (size_t) -1, add_ext, &x, &st);
		if (st.found == 0) {
			/* Nothing that looks like an address: leave it alone. */
			buf_free(&nv);
			return 1;
		}
		if (x.failed || buf_set(value, nv.data, nv.len) < 0) {
			buf_free(&nv);
			(void) str_fmt(clnt_err, sizeof(clnt_err), "%s: result for "
				       "%.200s too long with the extension", param, address);
			return -1;
		}
		buf_free(&nv);
	}
	return 1;
}
