/*
 * priv_test - check suite for lib/util/priv: lookup, chroot, the privilege
 * drop and its verification.
 *
 * These tests need root: they drop to the existing user "nobody"
 * (Debian: uid and gid 65534), each in a child of its own, and check
 * from inside the child what the kernel says about it.  Run as another
 * user, every test fails with a message saying so; none is skipped.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#include "log.h"
#include "priv.h"
#include "str.h"

#define NOBODY_ID	65534

#define NEED_ROOT() \
	ck_assert_msg(geteuid() == 0, \
	    "priv tests must run as root (euid is %ld): they test the " \
	    "privilege drop itself", (long) geteuid())

/* fail_child - report a failed check from inside a child and exit 2 */
static _Noreturn void __attribute__((format(printf, 1, 2)))
fail_child(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(2);
}

#define CHILD_CHECK(cond, ...) \
	do { if (!(cond)) fail_child(__VA_ARGS__); } while (0)

/*
 * run_child - run fn(arg) in a child with stderr captured into out;
 * return the child's wait status.  The child exits 0 when fn returns.
 */
static int
run_child(void (*fn)(const void *), const void *arg, char *out, size_t outlen)
{
	int     pfd[2], status;
	size_t  got = 0;
	ssize_t n;
	pid_t   pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void) close(pfd[0]);
		if (dup2(pfd[1], STDERR_FILENO) < 0)
			_exit(3);
		log_init("priv_test", LOG_DEST_STDERR);
		fn(arg);
		_exit(0);
	}
	(void) close(pfd[1]);
	while (got + 1 < outlen
	       && (n = read(pfd[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t) n;
	out[got] = '\0';
	(void) close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

#define ASSERT_EXIT(status, code, out) \
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == (code), \
	    "child: want exit %d, got status 0x%x; stderr: %s", \
	    (code), (unsigned) (status), (out))

static void
lookup_nobody(struct priv_user *u)
{
	ck_assert_int_eq(priv_lookup("nobody", u), 0);
	ck_assert_int_eq(u->uid, NOBODY_ID);
	ck_assert_int_eq(u->gid, NOBODY_ID);
}

/* check_dropped - the checks every dropped child makes on itself */
static void
check_dropped(uid_t uid, gid_t gid)
{
	uid_t   ru, eu, su;
	gid_t   rg, eg, sg, groups[8];
	int     n;

	CHILD_CHECK(getresuid(&ru, &eu, &su) == 0, "getresuid: %s", strerror(errno));
	CHILD_CHECK(ru == uid && eu == uid && su == uid,
		    "uids %ld/%ld/%ld, want %ld", (long) ru, (long) eu, (long) su, (long) uid);
	CHILD_CHECK(getresgid(&rg, &eg, &sg) == 0, "getresgid: %s", strerror(errno));
	CHILD_CHECK(rg == gid && eg == gid && sg == gid,
		    "gids %ld/%ld/%ld, want %ld", (long) rg, (long) eg, (long) sg, (long) gid);
	n = getgroups(8, groups);
	CHILD_CHECK(n == 1 && groups[0] == gid,
		    "groups: %d entries, first %ld; want just %ld",
		    n, n > 0 ? (long) groups[0] : -1L, (long) gid);
	errno = 0;
	CHILD_CHECK(setuid(0) == -1 && errno == EPERM, "setuid(0) was not refused");
	CHILD_CHECK(seteuid(0) == -1 && errno == EPERM, "seteuid(0) was not refused");
	CHILD_CHECK(setgid(0) == -1 && errno == EPERM, "setgid(0) was not refused");
	CHILD_CHECK(setgroups(0, NULL) == -1, "setgroups() was not refused");
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) == 1, "no_new_privs not set");
	CHILD_CHECK(prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L) == 0, "still dumpable");
}

START_TEST(test_lookup)
{
	struct priv_user u;
	char    longname[80];

	NEED_ROOT();
	lookup_nobody(&u);
	ck_assert_str_eq(u.name, "nobody");
	ck_assert_str_eq(u.home, "/nonexistent");
	ck_assert_int_eq(priv_lookup("root", &u), 0);
	ck_assert_int_eq(u.uid, 0);

	ck_assert_int_eq(priv_lookup("no-such-user-postern-test", &u), -1);
	ck_assert_int_eq(priv_lookup("", &u), -1);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(priv_lookup(longname, &u), -1);
	longname[64] = '\0';			/* one past name[64] */
	errno = 0;
	ck_assert_int_eq(priv_lookup(longname, &u), -1);
	ck_assert_int_eq(errno, EINVAL);
	longname[63] = '\0';			/* fits, but no such user */
	errno = 0;
	ck_assert_int_eq(priv_lookup(longname, &u), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static void
child_drop_nochroot(const void *arg)
{
	const struct priv_user *u = arg;
	gid_t   extra[3] = {0, 4, 24};		/* root, adm, cdrom: must go */
	char    before[4096], after[4096];

	CHILD_CHECK(setgroups(3, extra) == 0, "setup setgroups: %s", strerror(errno));
	CHILD_CHECK(getcwd(before, sizeof(before)) != NULL, "getcwd");
	priv_drop(u, NULL);
	check_dropped(u->uid, u->gid);
	CHILD_CHECK(getcwd(after, sizeof(after)) != NULL, "getcwd after");
	CHILD_CHECK(strcmp(before, after) == 0, "cwd moved: %s -> %s", before, after);
	/* Still the real root: /etc/passwd is visible. */
	CHILD_CHECK(access("/etc/passwd", F_OK) == 0, "/etc/passwd not visible");
	/* Root-only file is out of reach now. */
	CHILD_CHECK(open("/etc/shadow", O_RDONLY) == -1 && errno == EACCES,
		    "/etc/shadow readable after the drop");
}

START_TEST(test_drop_no_chroot)
{
	struct priv_user u;
	char    out[4096];
	int     st;

	NEED_ROOT();
	lookup_nobody(&u);
	st = run_child(child_drop_nochroot, &u, out, sizeof(out));
	ASSERT_EXIT(st, 0, out);
}
END_TEST

struct chroot_arg {
	struct priv_user u;
	char    dir[64];
	struct stat st;
};

static void
child_drop_chroot(const void *arg)
{
	const struct chroot_arg *a = arg;
	struct stat root, dot;
	char    cwd[256];

	priv_drop(&a->u, a->dir);
	check_dropped(a->u.uid, a->u.gid);
	CHILD_CHECK(stat("/", &root) == 0, "stat /: %s", strerror(errno));
	CHILD_CHECK(root.st_dev == a->st.st_dev && root.st_ino == a->st.st_ino,
		    "root is not %s", a->dir);
	CHILD_CHECK(stat(".", &dot) == 0, "stat .: %s", strerror(errno));
	CHILD_CHECK(dot.st_dev == a->st.st_dev && dot.st_ino == a->st.st_ino,
		    "cwd is not %s", a->dir);
	CHILD_CHECK(getcwd(cwd, sizeof(cwd)) != NULL && strcmp(cwd, "/") == 0,
		    "getcwd is not /");
	CHILD_CHECK(access("/marker", F_OK) == 0, "/marker not visible in the chroot");
	CHILD_CHECK(access("/etc/passwd", F_OK) == -1 && errno == ENOENT,
		    "/etc/passwd visible inside the chroot");
	/* The classic escape needs root; it must not get out. */
	CHILD_CHECK(chroot("..") == -1, "chroot() allowed after the drop");
	CHILD_CHECK(chdir("../../..") == 0 && stat(".", &dot) == 0
		    && dot.st_ino == a->st.st_ino, "chdir .. escaped the chroot");
}

START_TEST(test_drop_chroot)
{
	struct chroot_arg a;
	char    path[128], out[4096];
	int     fd, st;

	NEED_ROOT();
	lookup_nobody(&a.u);
	(void) str_copy(a.dir, sizeof(a.dir), "/tmp/priv_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(a.dir));
	ck_assert_int_eq(chmod(a.dir, 0755), 0);
	ck_assert_int_eq(stat(a.dir, &a.st), 0);
	(void) str_fmt(path, sizeof(path), "%s/marker", a.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);

	st = run_child(child_drop_chroot, &a, out, sizeof(out));
	(void) unlink(path);
	(void) rmdir(a.dir);
	ASSERT_EXIT(st, 0, out);
}
END_TEST

static void
child_drop_missing_chroot(const void *arg)
{
	const struct chroot_arg *a = arg;

	priv_drop(&a->u, a->dir);
	fail_child("priv_drop into a missing directory returned");
}

START_TEST(test_drop_chroot_missing_dir)
{
	struct chroot_arg a;
	char    out[4096];
	int     st;

	NEED_ROOT();
	lookup_nobody(&a.u);
	(void) str_copy(a.dir, sizeof(a.dir), "/tmp/priv_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(a.dir));
	ck_assert_int_eq(rmdir(a.dir), 0);
	st = run_child(child_drop_missing_chroot, &a, out, sizeof(out));
	ASSERT_EXIT(st, 1, out);
	ck_assert_ptr_nonnull(strstr(out, "fatal: cannot open chroot directory"));
}
END_TEST

static void
child_drop_root(const void *arg)
{
	const struct priv_user *u = arg;

	priv_drop(u, NULL);
	fail_child("priv_drop to root returned");
}

START_TEST(test_drop_to_root_refused)
{
	struct priv_user u;
	char    out[4096];
	int     st;

	NEED_ROOT();
	ck_assert_int_eq(priv_lookup("root", &u), 0);
	st = run_child(child_drop_root, &u, out, sizeof(out));
	ASSERT_EXIT(st, 1, out);
	ck_assert_msg(strstr(out, "fatal: refusing to run as root: uid 0") != NULL,
		      "unexpected message: %s", out);
}
END_TEST

static void
child_drop_gid0(const void *arg)
{
	struct priv_user u = *(const struct priv_user *) arg;

	u.gid = 0;
	priv_drop(&u, NULL);
	fail_child("priv_drop with gid 0 returned");
}

START_TEST(test_drop_gid0_refused)
{
	struct priv_user u;
	char    out[4096];
	int     st;

	NEED_ROOT();
	lookup_nobody(&u);
	st = run_child(child_drop_gid0, &u, out, sizeof(out));
	ASSERT_EXIT(st, 1, out);
	ck_assert_ptr_nonnull(strstr(out, "gid 0"));
}
END_TEST

static void
child_drop_ids(const void *arg)
{
	(void) arg;
	priv_drop_ids(NOBODY_ID, NOBODY_ID);
	check_dropped(NOBODY_ID, NOBODY_ID);
	/* Now the check for code that must never be root passes. */
	priv_check_not_root();
}

static void
child_drop_ids_root(const void *arg)
{
	const uid_t *ids = arg;

	priv_drop_ids(ids[0], ids[1]);
	fail_child("priv_drop_ids(%ld, %ld) returned", (long) ids[0], (long) ids[1]);
}

START_TEST(test_drop_ids)
{
	uid_t   ids[2];
	char    out[4096];
	int     st;

	NEED_ROOT();
	st = run_child(child_drop_ids, NULL, out, sizeof(out));
	ASSERT_EXIT(st, 0, out);

	ids[0] = 0, ids[1] = NOBODY_ID;
	st = run_child(child_drop_ids_root, ids, out, sizeof(out));
	ASSERT_EXIT(st, 1, out);
	ck_assert_ptr_nonnull(strstr(out, "uid 0"));

	ids[0] = NOBODY_ID, ids[1] = 0;
	st = run_child(child_drop_ids_root, ids, out, sizeof(out));
	ASSERT_EXIT(st, 1, out);
	ck_assert_ptr_nonnull(strstr(out, "gid 0"));
}
END_TEST

/* The delivery variant: no no_new_privs, an optional extra group. */
static void
child_drop_deliver(const void *arg)
{
	const gid_t *extra = arg;
	uid_t   ru, eu, su;
	gid_t   groups[8];
	int     n;

	priv_drop_ids_deliver(NOBODY_ID, NOBODY_ID, *extra);
	CHILD_CHECK(getresuid(&ru, &eu, &su) == 0 && ru == NOBODY_ID
		    && eu == NOBODY_ID && su == NOBODY_ID, "uids not dropped");
	n = getgroups(8, groups);
	if (*extra == (gid_t) -1)
		CHILD_CHECK(n == 1 && groups[0] == NOBODY_ID, "groups: %d", n);
	else
		CHILD_CHECK(n == 2 && ((groups[0] == NOBODY_ID && groups[1] == *extra)
				       || (groups[1] == NOBODY_ID && groups[0] == *extra)),
			    "groups: %d", n);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) == 0,
		    "no_new_privs set: a setgid delivery program would lose its bit");
	CHILD_CHECK(prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L) == 0, "still dumpable");
	errno = 0;
	CHILD_CHECK(setuid(0) == -1 && errno == EPERM, "setuid(0) was not refused");
	CHILD_CHECK(setgroups(0, NULL) == -1, "setgroups() was not refused");
}

static void
child_drop_deliver_root(const void *arg)
{
	const uid_t *ids = arg;

	priv_drop_ids_deliver(ids[0], ids[1], (gid_t) -1);
	fail_child("priv_drop_ids_deliver(%ld, %ld) returned", (long) ids[0], (long) ids[1]);
}

START_TEST(test_drop_ids_deliver)
{
	gid_t   extra;
	uid_t   ids[2];
	char    out[4096];
	int     st;

	NEED_ROOT();
	extra = (gid_t) -1;
	st = run_child(child_drop_deliver, &extra, out, sizeof(out));
	ASSERT_EXIT(st, 0, out);
	extra = 8;				/* Debian's "mail" group */
	st = run_child(child_drop_deliver, &extra, out, sizeof(out));
	ASSERT_EXIT(st, 0, out);
	extra = 0;				/* root's group: refused */
	st = run_child(child_drop_deliver, &extra, out, sizeof(out));
	ASSERT_EXIT(st, 1, out);
	ids[0] = 0, ids[1] = NOBODY_ID;
	st = run_child(child_drop_deliver_root, ids, out, sizeof(out));
	ASSERT_EXIT(st, 1, out);
	ck_assert_ptr_nonnull(strstr(out, "uid 0"));
}
END_TEST

static void
child_check_not_root(const void *arg)
{
	(void) arg;
	priv_check_not_root();
	fail_child("priv_check_not_root returned as root");
}

static void
child_check_not_root_gid(const void *arg)
{
	(void) arg;
	/* uid dropped but gid still 0: any id 0 is fatal. */
	CHILD_CHECK(setresuid(NOBODY_ID, NOBODY_ID, NOBODY_ID) == 0, "setresuid");
	priv_check_not_root();
	fail_child("priv_check_not_root returned with gid 0");
}

/*
 * priv_as: effective ids and groups of another user for a while, the
 * way back kept.  What is made in between is the user's; what the user
 * may not touch stays out of reach; afterwards everything is as before.
 */
static void
child_as(const void *arg)
{
	const char *dir = arg;
	struct priv_as saved;
	char    path[256];
	struct stat st;
	uid_t   ru, eu, su;
	gid_t   groups[8], before[8];
	int     n, nb, fd;

	/* Two groups before, so that the list must be put back. */
	before[0] = 0, before[1] = 4;
	CHILD_CHECK(setgroups(2, before) == 0, "setgroups: %s", strerror(errno));
	nb = getgroups(8, before);
	priv_as_begin(NOBODY_ID, NOBODY_ID, &saved);
	CHILD_CHECK(getresuid(&ru, &eu, &su) == 0 && ru == 0 && eu == NOBODY_ID && su == 0,
		    "uids %ld/%ld/%ld, want 0/%d/0", (long) ru, (long) eu, (long) su, NOBODY_ID);
	CHILD_CHECK(getegid() == NOBODY_ID, "egid %ld", (long) getegid());
	n = getgroups(8, groups);
	CHILD_CHECK(n == 1 && groups[0] == NOBODY_ID, "groups: %d entries", n);
	(void) str_fmt(path, sizeof(path), "%s/made", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHILD_CHECK(fd < 0 && errno == EACCES, "created a file in a root-only directory");
	CHILD_CHECK(chown(dir, NOBODY_ID, NOBODY_ID) < 0 && errno == EPERM,
		    "chown as nobody was not refused");
	priv_as_end(&saved);
	CHILD_CHECK(getresuid(&ru, &eu, &su) == 0 && ru == 0 && eu == 0 && su == 0,
		    "uids %ld/%ld/%ld after priv_as_end", (long) ru, (long) eu, (long) su);
	CHILD_CHECK(getegid() == 0, "egid %ld after priv_as_end", (long) getegid());
	n = getgroups(8, groups);
	CHILD_CHECK(n == nb && memcmp(groups, before, (size_t) n * sizeof(gid_t)) == 0,
		    "the group list was not put back (%d entries, want %d)", n, nb);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHILD_CHECK(fd >= 0, "root again, but cannot create: %s", strerror(errno));
	CHILD_CHECK(fstat(fd, &st) == 0 && st.st_uid == 0, "not root's");
	close(fd);
	CHILD_CHECK(unlink(path) == 0, "unlink: %s", strerror(errno));

	/* Made as nobody in nobody's directory: nobody's, no chown needed. */
	CHILD_CHECK(chown(dir, NOBODY_ID, NOBODY_ID) == 0, "chown: %s", strerror(errno));
	priv_as_begin(NOBODY_ID, NOBODY_ID, &saved);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHILD_CHECK(fd >= 0, "cannot create in nobody's directory: %s", strerror(errno));
	CHILD_CHECK(fstat(fd, &st) == 0 && st.st_uid == NOBODY_ID && st.st_gid == NOBODY_ID,
		    "owner %ld:%ld", (long) st.st_uid, (long) st.st_gid);
	close(fd);
	priv_as_end(&saved);
	CHILD_CHECK(unlink(path) == 0, "unlink: %s", strerror(errno));
}

START_TEST(test_as)
{
	char    dir[] = "/tmp/priv_as.XXXXXX", out[4096];
	int     st;

	NEED_ROOT();
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	st = run_child(child_as, dir, out, sizeof(out));
	ck_assert_int_eq(rmdir(dir), 0);
	ASSERT_EXIT(st, 0, out);
}
END_TEST

START_TEST(test_check_not_root)
{
	char    out[4096];
	int     st;

	NEED_ROOT();
	st = run_child(child_check_not_root, NULL, out, sizeof(out));
	ASSERT_EXIT(st, 1, out);
	ck_assert_ptr_nonnull(strstr(out, "must not run with root privilege"));
	st = run_child(child_check_not_root_gid, NULL, out, sizeof(out));
	ASSERT_EXIT(st, 1, out);
	ck_assert_ptr_nonnull(strstr(out, "must not run with root privilege"));
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("priv");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_drop_no_chroot);
	tcase_add_test(tc, test_drop_chroot);
	tcase_add_test(tc, test_drop_chroot_missing_dir);
	tcase_add_test(tc, test_drop_to_root_refused);
	tcase_add_test(tc, test_drop_gid0_refused);
	tcase_add_test(tc, test_drop_ids);
	tcase_add_test(tc, test_drop_ids_deliver);
	tcase_add_test(tc, test_check_not_root);
	tcase_add_test(tc, test_as);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
