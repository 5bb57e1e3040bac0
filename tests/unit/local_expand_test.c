/*
 * local_expand_test - check suite for local/local_expand.c: alias,
 * .forward and :include: parsing, and the expansion of a recipient
 * with mocked lookups (aliases, users, forward and include files).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "buf.h"
#include "../../local/local.h"
#include "str.h"

/*
 * Target parsing.
 */

struct got {
	int	n;
	enum local_target_kind kind[64];
	char	text[64][256];
};

static int
collect(void *ctx, enum local_target_kind kind, const char *text)
{
	struct got *g = ctx;

	ck_assert_int_lt(g->n, 64);
	g->kind[g->n] = kind;
	(void) str_copy(g->text[g->n], sizeof(g->text[0]), text);
	g->n++;
	return 0;
}

static int
parse(const char *text, struct got *g, char *why, size_t whylen)
{
	memset(g, 0, sizeof(*g));
	if (why)
		why[0] = '\0';
	return local_targets_parse(text, strlen(text), 50, collect, g, why, whylen);
}

#define EXPECT(g, i, k, t) do { \
	ck_assert_int_eq((g).kind[i], (k)); \
	ck_assert_str_eq((g).text[i], (t)); \
} while (0)

START_TEST(test_parse_kinds)
{
	struct got g;
	char    why[256];

	ck_assert_int_eq(parse("alice, bob@example.com, \\carol, /var/log/x, "
			       "|/usr/bin/vacation alice, :include:/etc/list", &g,
			       why, sizeof(why)), 0);
	ck_assert_int_eq(g.n, 6);
	EXPECT(g, 0, LT_ADDRESS, "alice");
	EXPECT(g, 1, LT_ADDRESS, "bob@example.com");
	EXPECT(g, 2, LT_USER_NOFWD, "carol");
	EXPECT(g, 3, LT_FILE, "/var/log/x");
	EXPECT(g, 4, LT_COMMAND, "/usr/bin/vacation alice");
	EXPECT(g, 5, LT_INCLUDE, "/etc/list");
}
END_TEST

START_TEST(test_parse_quotes)
{
	struct got g;
	char    why[256];

	ck_assert_int_eq(parse("\"|/bin/cmd a, b\", \"/path with space\", "
			       "\"a b\"@example.com, \"just quoted\", <dan@x.org>",
			       &g, why, sizeof(why)), 0);
	ck_assert_int_eq(g.n, 5);
	EXPECT(g, 0, LT_COMMAND, "/bin/cmd a, b");
	EXPECT(g, 1, LT_FILE, "/path with space");
	EXPECT(g, 2, LT_ADDRESS, "\"a b\"@example.com");
	EXPECT(g, 3, LT_ADDRESS, "\"just quoted\"");
	EXPECT(g, 4, LT_ADDRESS, "dan@x.org");

	/* Escapes inside quotes. */
	ck_assert_int_eq(parse("\"|echo \\\"hi\\\"\"", &g, why, sizeof(why)), 0);
	ck_assert_int_eq(g.n, 1);
	EXPECT(g, 0, LT_COMMAND, "echo \"hi\"");
}
END_TEST

START_TEST(test_parse_forward_file)
{
	struct got g;
	char    why[256];

	/* Lines, comments, white space separated addresses. */
	ck_assert_int_eq(parse("# my forward\n  \\alice\n\n  # indented comment\n"
			       "bob carol\n|/usr/bin/procmail -f-\n", &g, why,
			       sizeof(why)), 0);
	ck_assert_int_eq(g.n, 4);
	EXPECT(g, 0, LT_USER_NOFWD, "alice");
	EXPECT(g, 1, LT_ADDRESS, "bob");
	EXPECT(g, 2, LT_ADDRESS, "carol");
	EXPECT(g, 3, LT_COMMAND, "/usr/bin/procmail -f-");

	/* A '#' inside an element is not a comment. */
	ck_assert_int_eq(parse("a#b", &g, why, sizeof(why)), 0);
	ck_assert_int_eq(g.n, 1);
	EXPECT(g, 0, LT_ADDRESS, "a#b");
}
END_TEST

START_TEST(test_parse_empty_and_errors)
{
	struct got g;
	char    why[256];

	ck_assert_int_eq(parse("", &g, why, sizeof(why)), 0);
	ck_assert_int_eq(g.n, 0);
	ck_assert_int_eq(parse(" , ,\n\n", &g, why, sizeof(why)), 0);
	ck_assert_int_eq(g.n, 0);

	ck_assert_int_eq(parse("|", &g, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "empty command"));
	ck_assert_int_eq(parse("\"unbalanced", &g, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "unbalanced"));
	ck_assert_int_eq(parse(":include:relative/path", &g, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "absolute"));
	ck_assert_int_eq(parse("\\", &g, why, sizeof(why)), -1);
	ck_assert_int_eq(parse("\"\"", &g, why, sizeof(why)), -1);
}
END_TEST

START_TEST(test_parse_bound)
{
	struct buf b;
	struct got g;
	char    why[256];

	buf_init(&b, 4096);
	for (int i = 0; i < 50; i++)
		(void) buf_appendf(&b, "u%d,", i);
	memset(&g, 0, sizeof(g));
	/* Exactly the bound. */
	ck_assert_int_eq(local_targets_parse(b.data, b.len, 50, collect, &g, why,
					     sizeof(why)), 0);
	ck_assert_int_eq(g.n, 50);
	/* One past it. */
	(void) buf_puts(&b, "u50");
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(local_targets_parse(b.data, b.len, 50, collect, &g, why,
					     sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "more than 50"));
	buf_free(&b);

	/* A NUL byte inside is refused, not cut. */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(local_targets_parse("a\0b", 3, 50, collect, &g, why,
					     sizeof(why)), -1);
}
END_TEST

/*
 * Expansion with mocked lookups.
 */

struct mock {
	const char *aliases[16][2];	/* key, value */
	bool	alias_owner_root;
	const char *users[8];
	const char *forwards[8][2];	/* user, content */
	const char *includes[4][2];	/* path, content */
	bool	include_owner_root;	/* include files are root's */
	const char *include_owner;	/* else their owner (NULL: incowner, 3000) */
	uid_t	include_owner_uid;
	char	include_as[4][LOCAL_NAME_MAX + 1];	/* who opened each */
	int	nincludes;
	bool	alias_fail;
	bool	forward_fail;
	int	forward_reads;
};

static void
mkuser(const char *name, uid_t uid, struct local_user *u)
{
	memset(u, 0, sizeof(*u));
	(void) str_copy(u->name, sizeof(u->name), name);
	u->uid = uid;
	u->gid = uid;
	(void) str_fmt(u->home, sizeof(u->home), "/home/%s", name);
	(void) str_copy(u->shell, sizeof(u->shell), "/bin/sh");
}

static int
m_alias(void *ctx, const char *key, struct buf *value, struct local_user *owner,
	bool *owner_is_root, char *why, size_t whylen)
{
	struct mock *m = ctx;

	if (m->alias_fail) {
		(void) str_copy(why, whylen, "database down");
		return -1;
	}
	for (int i = 0; m->aliases[i][0]; i++)
		if (str_eq(m->aliases[i][0], key)) {
			(void) buf_puts(value, m->aliases[i][1]);
			*owner_is_root = m->alias_owner_root;
			mkuser("listowner", 2000, owner);
			return 1;
		}
	return 0;
}

static int
m_user(void *ctx, const char *name, struct local_user *u, char *why, size_t whylen)
{
	struct mock *m = ctx;

	(void) why;
	(void) whylen;
	if (str_eq(name, "root")) {
		mkuser("root", 0, u);
		return 1;
	}
	for (int i = 0; m->users[i]; i++)
		if (str_eq(m->users[i], name)) {
			mkuser(name, (uid_t) (1000 + i), u);
			return 1;
		}
	return 0;
}

static int
m_forward(void *ctx, const struct local_user *u, struct buf *content, char *why,
	  size_t whylen)
{
	struct mock *m = ctx;

	m->forward_reads++;
	if (m->forward_fail) {
		(void) str_copy(why, whylen, "NFS down");
		return -1;
	}
	for (int i = 0; m->forwards[i][0]; i++)
		if (str_eq(m->forwards[i][0], u->name)) {
			(void) buf_puts(content, m->forwards[i][1]);
			return 1;
		}
	return 0;
}

static int
m_include(void *ctx, const char *path, const struct local_user *as,
	  struct buf *content, struct local_user *owner, bool *owner_is_root,
	  bool *perm, char *why, size_t whylen)
{
	struct mock *m = ctx;

	if (m->nincludes < 4)
		(void) str_copy(m->include_as[m->nincludes++], LOCAL_NAME_MAX + 1,
				as != NULL ? as->name : "(root)");
	for (int i = 0; m->includes[i][0]; i++)
		if (str_eq(m->includes[i][0], path)) {
			(void) buf_puts(content, m->includes[i][1]);
			if (m->include_owner != NULL)
				mkuser(m->include_owner, m->include_owner_uid, owner);
			else
				mkuser("incowner", 3000, owner);
			*owner_is_root = m->include_owner_root;
			return 1;
		}
	*perm = false;
	(void) str_copy(why, whylen, "No such file or directory");
	return -1;
}

static bool
m_local(void *ctx, const char *domain)
{
	(void) ctx;
	return str_eq(domain, "example.com") || str_eq(domain, "localhost");
}

static const struct local_expand_ops mock_ops = {
	m_alias, m_user, m_forward, m_include, m_local,
};

static void
params(struct local_expand_params *p)
{
	memset(p, 0, sizeof(*p));
	p->delimiters = "+";
	p->recursion_limit = 5;
	p->expansion_limit = 20;
	p->dup_limit = 100;
	p->commands_allowed = "alias, forward";
	p->files_allowed = "alias, forward";
	mkuser("nobody", 65534, &p->default_privs);
}

static const struct local_dest *
find(const struct local_expansion *e, enum local_dest_kind kind, const char *target)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->dests[i].kind == kind && str_eq(e->dests[i].target, target))
			return &e->dests[i];
	return NULL;
}

START_TEST(test_plain_user)
{
	struct mock m = {.users = {"alice"}};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	ck_assert_int_eq(local_expand("Alice+Tag@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_int_eq(e.dests[0].kind, LD_MAILBOX);
	ck_assert_str_eq(e.dests[0].target, "alice");
	ck_assert_int_eq(e.dests[0].user.uid, 1000);
	ck_assert_str_eq(e.dests[0].address, "Alice+Tag@example.com");
	local_expansion_free(&e);
}
END_TEST

START_TEST(test_unknown_and_hostile_users)
{
	struct mock m = {.users = {"alice"}};
	struct local_expand_params p;
	struct local_expansion e;
	const char *bad[] = {
		"nobodyhere@example.com", "\"foo;reboot\"@example.com",
		"\"`id`\"@example.com", "\"|/bin/sh -c id\"@example.com",
		"\"/etc/passwd\"@example.com", "\":include:/etc/shadow\"@example.com",
		"\"-oProxyCommand\"@example.com", "\"../etc\"@example.com",
	};

	params(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(local_expand(bad[i], &mock_ops, &m, &p, &e), -1);
		ck_assert_int_eq(e.status, 5);
		ck_assert_str_eq(e.dsn, "5.1.1");
		ck_assert_uint_eq(e.n, 0);
		ck_assert_ptr_nonnull(strstr(e.text, "unknown user"));
		local_expansion_free(&e);
	}
}
END_TEST

START_TEST(test_alias_to_users_command_file)
{
	struct mock m = {
		.aliases = {{"team", "alice, bob, |/usr/bin/logger, /var/log/team"}},
		.users = {"alice", "bob"},
	};
	struct local_expand_params p;
	struct local_expansion e;
	const struct local_dest *d;

	params(&p);
	ck_assert_int_eq(local_expand("team@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 4);
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "alice"));
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "bob"));
	/* Commands and files run as the alias table's owner (not root). */
	d = find(&e, LD_COMMAND, "/usr/bin/logger");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->user.name, "listowner");
	ck_assert_int_eq(d->class, LC_ALIAS);
	d = find(&e, LD_FILE, "/var/log/team");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->user.uid, 2000);
	local_expansion_free(&e);

	/* A root-owned table: default_privs. */
	m.alias_owner_root = true;
	ck_assert_int_eq(local_expand("team@example.com", &mock_ops, &m, &p, &e), 0);
	d = find(&e, LD_COMMAND, "/usr/bin/logger");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->user.name, "nobody");
	ck_assert_int_eq(d->user.uid, 65534);
	local_expansion_free(&e);
}
END_TEST

START_TEST(test_alias_extension_and_remote)
{
	struct mock m = {
		.aliases = {{"sales", "alice, Partner@Remote.EXAMPLE.org"}},
		.users = {"alice"},
	};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	/* sales+x finds the alias "sales". */
	ck_assert_int_eq(local_expand("sales+x@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "alice"));
	ck_assert_ptr_nonnull(find(&e, LD_FORWARD, "Partner@remote.example.org"));
	local_expansion_free(&e);
}
END_TEST

START_TEST(test_alias_self_reference)
{
	struct mock m = {
		.aliases = {{"alice", "alice, bob@localhost"}},
		.users = {"alice", "bob"},
	};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	ck_assert_int_eq(local_expand("alice@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "alice"));
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "bob"));
	local_expansion_free(&e);
}
END_TEST

START_TEST(test_alias_loop_and_limits)
{
	struct mock m = {
		.aliases = {{"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "e"}, {"e", "f"},
			    {"f", "g"}, {"g", "a"}},
	};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	/* a -> b -> ... -> g -> a: stops at the self-reference, then "a" is
	 * no user; the chain is deeper than the recursion limit anyway. */
	ck_assert_int_eq(local_expand("a@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_int_eq(e.status, 5);
	ck_assert_str_eq(e.dsn, "5.4.6");
	local_expansion_free(&e);

	/* Within the limit: a 5-deep chain reaching a user works. */
	{
		struct mock m2 = {
			.aliases = {{"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "alice"}},
			.users = {"alice"},
		};

		ck_assert_int_eq(local_expand("a@example.com", &mock_ops, &m2, &p, &e), 0);
		ck_assert_uint_eq(e.n, 1);
		local_expansion_free(&e);
	}

	/* expansion_limit: 21 destinations with a limit of 20. */
	{
		struct mock m3 = {.users = {"alice"}};
		struct buf b;

		buf_init(&b, 4096);
		for (int i = 0; i < 21; i++)
			(void) buf_appendf(&b, "%su%d@remote.org", i ? "," : "", i);
		m3.aliases[0][0] = "big";
		m3.aliases[0][1] = b.data;
		ck_assert_int_eq(local_expand("big@example.com", &mock_ops, &m3, &p, &e), -1);
		ck_assert_str_eq(e.dsn, "5.3.0");
		ck_assert_ptr_nonnull(strstr(e.text, "expansion_limit"));
		local_expansion_free(&e);
		/* Exactly 20 is fine. */
		buf_reset(&b);
		for (int i = 0; i < 20; i++)
			(void) buf_appendf(&b, "%su%d@remote.org", i ? "," : "", i);
		m3.aliases[0][1] = b.data;
		ck_assert_int_eq(local_expand("big@example.com", &mock_ops, &m3, &p, &e), 0);
		ck_assert_uint_eq(e.n, 20);
		local_expansion_free(&e);
		buf_free(&b);
	}
}
END_TEST

START_TEST(test_duplicates)
{
	struct mock m = {
		.aliases = {{"list", "alice, bob, alice, team"}, {"team", "bob, alice"}},
		.users = {"alice", "bob"},
	};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	ck_assert_int_eq(local_expand("list@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 2);
	local_expansion_free(&e);

	/* With the filter off, duplicates come through. */
	p.dup_limit = 0;
	ck_assert_int_eq(local_expand("list@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 5);
	local_expansion_free(&e);
}
END_TEST

START_TEST(test_forward)
{
	struct mock m = {
		.users = {"alice", "bob"},
		.forwards = {{"alice", "\\alice, bob, \"|/usr/bin/vacation alice\"\n"}},
	};
	struct local_expand_params p;
	struct local_expansion e;
	const struct local_dest *d;

	params(&p);
	ck_assert_int_eq(local_expand("alice@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 3);
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "alice"));
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "bob"));
	d = find(&e, LD_COMMAND, "/usr/bin/vacation alice");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->user.name, "alice");	/* the user's own rights */
	ck_assert_int_eq(d->class, LC_FORWARD);
	local_expansion_free(&e);

	/* \alice in an alias skips the forward file. */
	m.aliases[0][0] = "direct";
	m.aliases[0][1] = "\\alice";
	m.forward_reads = 0;
	ck_assert_int_eq(local_expand("direct@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "alice"));
	ck_assert_int_eq(m.forward_reads, 0);
	local_expansion_free(&e);

	/* In the envelope a backslash is just a character: no such user. */
	ck_assert_int_eq(local_expand("\"\\\\alice\"@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_str_eq(e.dsn, "5.1.1");
	local_expansion_free(&e);

	/* A forward file that names its owner only: the mailbox. */
	{
		struct mock m2 = {.users = {"carol"}, .forwards = {{"carol", "carol\n"}}};

		ck_assert_int_eq(local_expand("carol@localhost", &mock_ops, &m2, &p, &e), 0);
		ck_assert_uint_eq(e.n, 1);
		ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "carol"));
		local_expansion_free(&e);
	}

	/* An empty forward file (comments only) is no forward file. */
	{
		struct mock m3 = {.users = {"dan"}, .forwards = {{"dan", "# nothing\n\n"}}};

		ck_assert_int_eq(local_expand("dan@localhost", &mock_ops, &m3, &p, &e), 0);
		ck_assert_uint_eq(e.n, 1);
		ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "dan"));
		local_expansion_free(&e);
	}
}
END_TEST

START_TEST(test_restrictions)
{
	struct mock m = {
		.users = {"alice"},
		.forwards = {{"alice", "|/bin/cmd\n/home/alice/log\n\\alice\n"}},
	};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	p.commands_allowed = "alias";
	p.files_allowed = "alias";
	ck_assert_int_eq(local_expand("alice@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_int_eq(e.status, 5);
	ck_assert_str_eq(e.dsn, "5.7.1");
	/* The allowed branch is still there. */
	ck_assert_uint_eq(e.n, 1);
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "alice"));
	local_expansion_free(&e);
	ck_assert(!local_class_allowed("alias, forward, include", LC_ADDRESS));
	ck_assert(local_class_allowed("alias, forward, include", LC_INCLUDE));
	ck_assert(!local_class_allowed("alias, forward", LC_INCLUDE));
}
END_TEST

START_TEST(test_include)
{
	struct mock m = {
		.aliases = {{"list", ":include:/etc/mail/list"}},
		.includes = {{"/etc/mail/list", "# members\nalice\n|/bin/archive\n"}},
		.users = {"alice"},
	};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	/* Commands in include files need "include" in the list. */
	ck_assert_int_eq(local_expand("list@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_str_eq(e.dsn, "5.7.1");
	ck_assert_uint_eq(e.n, 1);
	local_expansion_free(&e);
	p.commands_allowed = "alias, forward, include";
	/* The list's owner keeps running its commands: the file is theirs. */
	m.include_owner = "listowner";
	m.include_owner_uid = 2000;
	ck_assert_int_eq(local_expand("list@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_str_eq(find(&e, LD_COMMAND, "/bin/archive")->user.name, "listowner");
	local_expansion_free(&e);
	/* ... or root's. */
	m.include_owner_root = true;
	ck_assert_int_eq(local_expand("list@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_str_eq(find(&e, LD_COMMAND, "/bin/archive")->user.name, "listowner");
	local_expansion_free(&e);
	/* Anyone else's file: its addresses only, never a command as them. */
	m.include_owner_root = false;
	m.include_owner = NULL;
	ck_assert_int_eq(local_expand("list@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_str_eq(e.dsn, "5.7.1");
	ck_assert_ptr_nonnull(strstr(e.text, "belongs to incowner, not to listowner"));
	ck_assert_uint_eq(e.n, 1);
	ck_assert_int_eq(e.dests[0].kind, LD_MAILBOX);
	local_expansion_free(&e);

	/* A missing include file: temporary, nothing delivered. */
	m.aliases[0][1] = "alice, :include:/missing";
	ck_assert_int_eq(local_expand("list@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_int_eq(e.status, 4);
	ck_assert_uint_eq(e.n, 0);
	local_expansion_free(&e);
}
END_TEST

/*
 * 2026-11 review: an :include: reached through a root-owned alias table
 * was opened as root, so a user who controls a directory on the way to
 * the file (":include:/home/alice/lists/x", lists -> /root) made local
 * read a root-only file and bounce its lines to the sender.  It is now
 * opened with default_privs, as Postfix does; never as root.
 */
START_TEST(test_include_never_opened_as_root)
{
	struct mock m = {
		.aliases = {{"list", ":include:/etc/mail/list"}},
		.includes = {{"/etc/mail/list", "alice\n:include:/etc/mail/more\n"},
			     {"/etc/mail/more", "bob\n"}},
		.users = {"alice", "bob"},
		.alias_owner_root = true,
		.include_owner_root = true,
	};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	ck_assert_int_eq(local_expand("list@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_int_eq(m.nincludes, 2);
	/* Both files, the nested one too, with default_privs. */
	ck_assert_str_eq(m.include_as[0], "nobody");
	ck_assert_str_eq(m.include_as[1], "nobody");
	local_expansion_free(&e);

	/* A table with another owner: that owner's rights. */
	m.alias_owner_root = false;
	m.nincludes = 0;
	ck_assert_int_eq(local_expand("list@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_str_eq(m.include_as[0], "listowner");
	ck_assert_str_eq(m.include_as[1], "listowner");
	local_expansion_free(&e);

	/* From a .forward: the user's. */
	m.aliases[0][0] = NULL;
	m.forwards[0][0] = "alice";
	m.forwards[0][1] = ":include:/etc/mail/more\n";
	m.nincludes = 0;
	ck_assert_int_eq(local_expand("alice@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_int_eq(m.nincludes, 1);
	ck_assert_str_eq(m.include_as[0], "alice");
	local_expansion_free(&e);
}
END_TEST

/*
 * 2026-12 review: an :include: reached from a user's .forward ran its
 * commands as the owner of the included file.  With commands allowed
 * from includes, bob's .forward naming alice's world-readable file made
 * alice run a command.  From a .forward, files and commands run as the
 * .forward's owner, and only from include files of theirs or root's.
 */
START_TEST(test_include_from_forward_never_changes_who_runs)
{
	struct mock m = {
		.users = {"alice", "bob"},
		.forwards = {{"bob", ":include:/home/alice/cmds\n"}},
		.includes = {{"/home/alice/cmds", "|/home/alice/bin/run\n/home/alice/log\n"
			      "alice\n"}},
		.include_owner = "alice",
		.include_owner_uid = 1000,
	};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	p.commands_allowed = "alias, forward, include";
	p.files_allowed = "alias, forward, include";
	ck_assert_int_eq(local_expand("bob@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_str_eq(e.dsn, "5.7.1");
	ck_assert_ptr_nonnull(strstr(e.text, "belongs to alice, not to bob"));
	for (size_t i = 0; i < e.n; i++) {
		ck_assert_int_ne(e.dests[i].kind, LD_COMMAND);
		ck_assert_int_ne(e.dests[i].kind, LD_FILE);
	}
	ck_assert_ptr_nonnull(find(&e, LD_MAILBOX, "alice"));
	local_expansion_free(&e);

	/* Nested: an include of bob's own named from alice's stays refused. */
	m.includes[0][1] = ":include:/home/bob/more\n";
	m.includes[1][0] = "/home/bob/more";
	m.includes[1][1] = "|/home/bob/bin/run\n";
	ck_assert_int_eq(local_expand("bob@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_str_eq(e.dsn, "5.7.1");
	ck_assert_uint_eq(e.n, 0);
	local_expansion_free(&e);

	/* bob's own file (or root's): bob runs it. */
	m.includes[0][1] = "|/home/bob/bin/run\n";
	m.include_owner = "bob";
	m.include_owner_uid = 1001;
	ck_assert_int_eq(local_expand("bob@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_str_eq(find(&e, LD_COMMAND, "/home/bob/bin/run")->user.name, "bob");
	local_expansion_free(&e);
	m.include_owner_root = true;
	ck_assert_int_eq(local_expand("bob@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_str_eq(find(&e, LD_COMMAND, "/home/bob/bin/run")->user.name, "bob");
	local_expansion_free(&e);
}
END_TEST

START_TEST(test_temporary_failures)
{
	struct mock m = {.users = {"alice"}, .alias_fail = true};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	ck_assert_int_eq(local_expand("alice@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_int_eq(e.status, 4);
	ck_assert_str_eq(e.dsn, "4.3.0");
	ck_assert_ptr_nonnull(strstr(e.text, "database down"));
	local_expansion_free(&e);

	m.alias_fail = false;
	m.forward_fail = true;
	ck_assert_int_eq(local_expand("alice@example.com", &mock_ops, &m, &p, &e), -1);
	ck_assert_int_eq(e.status, 4);
	ck_assert_uint_eq(e.n, 0);
	local_expansion_free(&e);
}
END_TEST

START_TEST(test_root_forward_runs_as_default_privs)
{
	struct mock m = {.forwards = {{"root", "|/bin/notify\n"}}};
	struct local_expand_params p;
	struct local_expansion e;

	params(&p);
	ck_assert_int_eq(local_expand("root@example.com", &mock_ops, &m, &p, &e), 0);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_int_eq(e.dests[0].kind, LD_COMMAND);
	ck_assert_int_eq(e.dests[0].user.uid, 65534);
	local_expansion_free(&e);
}
END_TEST

START_TEST(test_name_safe)
{
	ck_assert(local_name_safe("alice"));
	ck_assert(local_name_safe("a.b_c-d1"));
	ck_assert(!local_name_safe(""));
	ck_assert(!local_name_safe("-x"));
	ck_assert(!local_name_safe(".."));
	ck_assert(!local_name_safe("a/b"));
	ck_assert(!local_name_safe("a b"));
	ck_assert(!local_name_safe("a;b"));
	ck_assert(!local_name_safe("a`b"));
	ck_assert(!local_name_safe("a\nb"));
	ck_assert(!local_name_safe("\xc3\xa9t\xc3\xa9"));
	{
		char    n[LOCAL_NAME_MAX + 2];

		memset(n, 'a', sizeof(n));
		n[LOCAL_NAME_MAX] = '\0';
		ck_assert(local_name_safe(n));
		n[LOCAL_NAME_MAX] = 'a';
		n[LOCAL_NAME_MAX + 1] = '\0';
		ck_assert(!local_name_safe(n));
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("local_expand");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_kinds);
	tcase_add_test(tc, test_parse_quotes);
	tcase_add_test(tc, test_parse_forward_file);
	tcase_add_test(tc, test_parse_empty_and_errors);
	tcase_add_test(tc, test_parse_bound);
	tcase_add_test(tc, test_plain_user);
	tcase_add_test(tc, test_unknown_and_hostile_users);
	tcase_add_test(tc, test_alias_to_users_command_file);
	tcase_add_test(tc, test_alias_extension_and_remote);
	tcase_add_test(tc, test_alias_self_reference);
	tcase_add_test(tc, test_alias_loop_and_limits);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_forward);
	tcase_add_test(tc, test_restrictions);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_include_never_opened_as_root);
	tcase_add_test(tc, test_include_from_forward_never_changes_who_runs);
	tcase_add_test(tc, test_temporary_failures);
	tcase_add_test(tc, test_root_forward_runs_as_default_privs);
	tcase_add_test(tc, test_name_safe);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
