/*
 * NAME
 *	netmatch - client address lists (mynetworks and the like)
 * DESCRIPTION
 *	See netmatch.h.  Entries are kept in list order, because an
 *	exclusion only works before the network it cuts a hole in; a
 *	match is a linear scan, a few nanoseconds an entry, done once
 *	per connection.
 *
 *	Addresses are parsed with inet_pton(), which takes only the
 *	plain dotted quad for IPv4: no "10.1" shorthand, no octal "010"
 *	or hex octets that inet_aton() would quietly read another way.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "netmatch.h"
#include "num.h"
#include "str.h"

#define SEPARATORS	" \t\r\n,"

struct netent {
	int	family;			/* AF_INET or AF_INET6 */
	int	prefix;			/* bits that must match */
	bool	negate;			/* "!entry": a match excludes */
	uint8_t	addr[16];		/* host bits already cleared */
};

struct netlist {
	struct netent *ent;
	size_t	n;
	size_t	cap;
};

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* prefix_eq - true when a and b agree in their first bits bits */
static bool
prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int     whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t) whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t) (0xff << (8 - rest))) == 0;
}

/* clear_host_bits - clear bits past prefix; true when any was set */
static bool
clear_host_bits(uint8_t *a, int len, int bits)
{
	bool    changed = false;

	for (int i = 0; i < len; i++) {
		int     keep = bits - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t) (0xff << (8 - keep));

		if (a[i] & ~mask) {
			a[i] &= mask;
			changed = true;
		}
	}
	return changed;
}

#define ERR(...) do { \
		if (err != NULL && errlen > 0) \
			(void) snprintf(err, errlen, __VA_ARGS__); \
		return -1; \
	} while (0)

/* parse_entry - parse one entry (NUL-terminated copy) into e */
static int
parse_entry(const char *entry, struct netent *e, char *err, size_t errlen)
{
	char    text[NETLIST_ENTRY_MAX + 1];
	char   *addr = text, *slash, *close;
	uint64_t bits;
	int     maxbits;

	memset(e, 0, sizeof(*e));
	(void) str_copy(text, sizeof(text), entry);
	if (*addr == '!') {
		e->negate = true;
		addr++;
	}
	if (*addr == '[') {
		if ((close = strchr(addr, ']')) == NULL)
			ERR("bad network \"%s\": missing \"]\"", entry);
		*close = '\0';
		addr++;
		slash = close[1] == '/' ? close + 1 : NULL;
		if (close[1] != '\0' && slash == NULL)
			ERR("bad network \"%s\": junk after \"]\"", entry);
		if (inet_pton(AF_INET6, addr, e->addr) == 1)
			e->family = AF_INET6;
		else if (inet_pton(AF_INET, addr, e->addr) == 1)
			e->family = AF_INET;
		else
			ERR("bad network \"%s\": \"%s\" is not an IPv6 address", entry, addr);
	} else {
		if (*addr == '/')
			ERR("bad network \"%s\": file names are not supported in this list",
			    entry);
		if ((slash = strchr(addr, '/')) != NULL)
			*slash = '\0';
		if (strchr(addr, ':') != NULL)
			ERR("bad network \"%s\": write an IPv6 address in brackets, as in "
			    "[2001:db8::]/32 (lookup tables are not supported here)", entry);
		if (inet_pton(AF_INET, addr, e->addr) != 1)
			ERR("bad network \"%s\": \"%s\" is not an IPv4 address (a.b.c.d)",
			    entry, addr);
		e->family = AF_INET;
	}
	maxbits = e->family == AF_INET ? 32 : 128;
	if (slash == NULL)
		bits = maxbits;
	else if (num_parse_u64(slash + 1, 0, (uint64_t) maxbits, &bits, NULL) < 0)
		ERR("bad network \"%s\": prefix length \"%s\" is not a number from 0 to %d",
		    entry, slash + 1, maxbits);
	e->prefix = (int) bits;

	/* [::ffff:a.b.c.d]/96+ is the IPv4 network it stands for. */
	if (e->family == AF_INET6 && e->prefix >= 96
	    && memcmp(e->addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(e->addr, e->addr + 12, 4);
		memset(e->addr + 4, 0, 12);
		e->family = AF_INET;
		e->prefix -= 96;
	}
	if (clear_host_bits(e->addr, e->family == AF_INET ? 4 : 16, e->prefix)) {
		char    net[INET6_ADDRSTRLEN];

		if (inet_ntop(e->family, e->addr, net, sizeof(net)) == NULL)
			net[0] = '\0';
		log_warn("non-null host address bits in \"%s\", perhaps you should "
			 "use \"%s%s%s%s/%d\" instead", entry, e->negate ? "!" : "",
			 e->family == AF_INET6 ? "[" : "", net,
			 e->family == AF_INET6 ? "]" : "", e->prefix);
	}
	return 0;
}

#undef ERR

struct netlist *
netlist_parse(const char *list, char *err, size_t errlen)
{
	struct netlist *nl = xcalloc(1, sizeof(*nl));
	char    entry[NETLIST_ENTRY_MAX + 1];
	const char *p = list ? list : "";
	size_t  len;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	for (;;) {
		p += strspn(p, SEPARATORS);
		if (*p == '\0')
			break;
		len = strcspn(p, SEPARATORS);
		if (len > NETLIST_ENTRY_MAX) {
			if (err != NULL && errlen > 0)
				(void) snprintf(err, errlen, "bad network \"%.*s...\": "
						"longer than %d characters",
						40, p, NETLIST_ENTRY_MAX);
			goto fail;
		}
		if (nl->n >= NETLIST_MAX_ENTRIES) {
			if (err != NULL && errlen > 0)
				(void) snprintf(err, errlen, "more than %d networks in the "
						"list (at \"%.*s\"); use fewer, wider "
						"networks", NETLIST_MAX_ENTRIES,
						(int) len, p);
			goto fail;
		}
		memcpy(entry, p, len);
		entry[len] = '\0';
		p += len;
		if (nl->n == nl->cap) {
			nl->cap = nl->cap ? nl->cap * 2 : 8;
			nl->ent = xreallocarray(nl->ent, nl->cap, sizeof(*nl->ent));
		}
		if (parse_entry(entry, &nl->ent[nl->n], err, errlen) < 0)
			goto fail;
		nl->n++;
	}
	return nl;

fail:
	netlist_free(nl);
	return NULL;
}

/* match_addr - first matching entry decides; no match is false */
static bool
match_addr(const struct netlist *nl, int family, const uint8_t *addr)
{
	if (nl == NULL)
		return false;
	for (size_t i = 0; i < nl->n; i++) {
		const struct netent *e = &nl->ent[i];

		if (e->family == family && prefix_eq(e->addr, addr, e->prefix))
			return !e->negate;
	}
	return false;
}

bool
netlist_match(const struct netlist *nl, const struct sockaddr *sa)
{
	const uint8_t *a;

	if (sa == NULL)
		return false;
	switch (sa->sa_family) {
	case AF_INET:
		a = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
		return match_addr(nl, AF_INET, a);
	case AF_INET6:
		a = (const uint8_t *) &((const struct sockaddr_in6 *) sa)->sin6_addr;
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
			return match_addr(nl, AF_INET, a + 12);
		return match_addr(nl, AF_INET6, a);
	default:
		return false;
	}
}

bool
netlist_match_str(const struct netlist *nl, const char *addr)
{
	char    text[INET6_ADDRSTRLEN + 2];
	char   *p = text;
	uint8_t a[16];
	size_t  len;

	if (addr == NULL || (len = strlen(addr)) >= sizeof(text))
		return false;
	memcpy(text, addr, len + 1);
	if (*p == '[') {
		if (len < 2 || text[len - 1] != ']')
			return false;
		text[len - 1] = '\0';
		p++;
	}
	p[strcspn(p, "%")] = '\0';		/* fe80::1%eth0 */
	if (inet_pton(AF_INET, p, a) == 1)
		return match_addr(nl, AF_INET, a);
	if (inet_pton(AF_INET6, p, a) == 1) {
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
			return match_addr(nl, AF_INET, a + 12);
		return match_addr(nl, AF_INET6, a);
	}
	return false;
}

int
netmatch_network(const char *addr, int v4_prefix, int v6_prefix, char *out,
		 size_t outlen)
{
	char    text[INET6_ADDRSTRLEN + 2];
	uint8_t a[16];
	int	family, bits;
	size_t	len;

	if (addr == NULL || (len = strlen(addr)) >= sizeof(text)
	    || v4_prefix < 0 || v4_prefix > 32 || v6_prefix < 0 || v6_prefix > 128)
		return -1;
	memcpy(text, addr, len + 1);
	text[strcspn(text, "%")] = '\0';
	if (inet_pton(AF_INET, text, a) == 1) {
		family = AF_INET, bits = v4_prefix;
	} else if (inet_pton(AF_INET6, text, a) == 1) {
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(a, a + 12, 4);
			family = AF_INET, bits = v4_prefix;
		} else
			family = AF_INET6, bits = v6_prefix;
	} else {
		return -1;
	}
	for (int i = 0; i < (family == AF_INET ? 4 : 16); i++) {
		int	keep = bits - 8 * i;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (uint8_t) (0xff << (8 - keep));
	}
	if (inet_ntop(family, a, text, sizeof(text)) == NULL)
		return -1;
	return str_fmt(out, outlen, "%s/%d", text, bits) < 0 ? -1 : 0;
}

size_t
netlist_count(const struct netlist *nl)
{
	return nl ? nl->n : 0;
}

void
netlist_free(struct netlist *nl)
{
	if (nl == NULL)
		return;
	free(nl->ent);
	free(nl);
}
