/*
 * NAME
 *	table_db - hash: and btree: tables in Berkeley DB 5.3 files
 * DESCRIPTION
 *	See table.h.  A table hash:PATH is the file PATH.db, opened
 *	read-only; table_db_build() makes it from the text file PATH.
 *
 *	Key format.  Postfix on Linux stores keys and values with a
 *	terminating NUL byte; a lookup here tries the key with the NUL
 *	and then without it, so files built by either program (and by
 *	postmap -n) are read.  A stored value loses one trailing NUL.
 *
 *	Change detection.  A reader keeps the file it opened even after
 *	postmap renames a new one over it, so table_changed() compares
 *	the device, inode, size and modification time recorded at open
 *	with a fresh stat() of PATH.db.
 * SECURITY
 *	DB_CONFIG.  With db_create(&db, NULL, 0) Berkeley DB makes an
 *	internal environment whose home is the current directory and
 *	reads ./DB_CONFIG from it (CVE-2017-10140; Debian's libdb5.3
 *	carries a fix, upstream 5.3.28 does not, and Postfix works
 *	around it with an explicit environment whose home is the table's
 *	directory).  Here every handle lives in an explicit environment
 *	opened with home "/", DB_PRIVATE (regions in process memory, no
 *	files) and without DB_USE_ENVIRON (DB_HOME and TMPDIR ignored):
 *	the only DB_CONFIG that can be read is /DB_CONFIG, which only
 *	root can create.  Because relative file names would then resolve
 *	against "/", every path given to Berkeley DB is made absolute
 *	first.  tests/unit/table_test.c checks that a DB_CONFIG in the
 *	working directory changes nothing.
 *
 *	Building as root.  Berkeley DB creates a file by writing
 *	"__db.NAME" next to it, renaming it, and opening NAME again with
 *	O_CREAT (following symbolic links).  In a directory that a user
 *	controls root must not do that, so the build runs with the
 *	source owner's effective ids (as_owner()), as Postfix's postmap
 *	does.
 */
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "safefile.h"
#include "str.h"
#include "table.h"
#include "table_impl.h"

#define DB_PATH_MAX		4096
#define DB_BUILD_CACHE		(16 * 1024 * 1024)	/* fewer writes for big tables */
#define DB_DUP_WARN_MAX		100			/* duplicate-key warnings per build */

struct db_state {
	DB_ENV *env;
	DB     *db;
	char   *path;			/* absolute PATH.db */
	dev_t	dev;			/* what was opened, for table_changed() */
	ino_t	ino;
	off_t	size;
	struct timespec mtime;
};

/*
 * Berkeley DB reports details through an error callback; the last
 * message is kept to make our own messages say more than "Invalid
 * argument".
 */
static char db_msg[256];

static void
db_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void) env;
	(void) pfx;
	(void) str_copy(db_msg, sizeof(db_msg), msg);
}

/* db_detail - " (Berkeley DB: MSG)" when there is a message, else "" */
static const char *
db_detail(char *out, size_t size)
{
	if (db_msg[0] == '\0')
		return "";
	(void) str_fmt(out, size, " (Berkeley DB: %s)", db_msg);
	return out;
}

static DBTYPE
db_type(const struct table_backend *be)
{
	return be == &table_btree_backend ? DB_BTREE : DB_HASH;
}

/* abs_path - out = absolute form of name followed by suffix */
static int
abs_path(const char *name, const char *suffix, char *out, size_t size)
{
	char    cwd[DB_PATH_MAX];

	if (name[0] == '/')
		return str_fmt(out, size, "%s%s", name, suffix);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	if (str_fmt(out, size, "%s/%s%s", str_eq(cwd, "/") ? "" : cwd,
		    name, suffix) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* env_open - a private environment with home "/"; see SECURITY */
static int
env_open(DB_ENV **envp, u_int32_t cache_bytes, char *why, size_t whylen)
{
	DB_ENV *env;
	int     major, minor, patch, r;

	(void) db_version(&major, &minor, &patch);
	if (major != DB_VERSION_MAJOR || minor != DB_VERSION_MINOR) {
		(void) str_fmt(why, whylen, "Berkeley DB version mismatch: "
			       "compiled with %d.%d, running with %d.%d",
			       DB_VERSION_MAJOR, DB_VERSION_MINOR, major, minor);
		errno = EINVAL;
		return -1;
	}
	if ((r = db_env_create(&env, 0)) != 0) {
		(void) str_fmt(why, whylen, "create Berkeley DB environment: %s",
			       db_strerror(r));
		errno = r > 0 ? r : EIO;
		return -1;
	}
	env->set_errcall(env, db_errcall);
	if (cache_bytes > 0
	    && (r = env->set_cachesize(env, 0, cache_bytes, 1)) != 0)
		goto fail;
	if ((r = env->open(env, "/", DB_CREATE | DB_INIT_MPOOL | DB_PRIVATE, 0)) != 0)
		goto fail;
	*envp = env;
	return 0;

fail:
	(void) str_fmt(why, whylen, "open Berkeley DB environment: %s",
		       db_strerror(r));
	(void) env->close(env, 0);
	errno = r > 0 ? r : EIO;
	return -1;
}

static void
db_state_free(struct db_state *st)
{
	if (st == NULL)
		return;
	if (st->db)
		(void) st->db->close(st->db, 0);
	if (st->env)
		(void) st->env->close(st->env, 0);
	free(st->path);
	free(st);
}

static int
db_open(struct table *t)
{
	struct db_state *st;
	char    path[DB_PATH_MAX];
	char    why[TABLE_ERROR_MAX];
	char    detail[300];
	struct stat sb;
	int     r, fd;

	if (t->name[0] == '\0') {
		table_seterr(t, "table '%.200s' has no file name", t->spec);
		errno = EINVAL;
		return -1;
	}
	if (abs_path(t->name, ".db", path, sizeof(path)) < 0) {
		table_seterr(t, "open %.200s: cannot make an absolute path: %s",
			     t->spec, strerror(errno));
		return -1;
	}
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	if (env_open(&st->env, 0, why, sizeof(why)) < 0) {
		int     saved = errno;

		table_seterr(t, "open %.200s: %s", t->spec, why);
		db_state_free(st);
		errno = saved;
		return -1;
	}
	if ((r = db_create(&st->db, st->env, 0)) != 0) {
		st->db = NULL;
		goto fail;
	}
	db_msg[0] = '\0';
	if ((r = st->db->open(st->db, NULL, path, NULL, db_type(t->backend),
			      DB_RDONLY, 0)) != 0) {
		/* A failed DB->open still needs DB->close. */
		(void) st->db->close(st->db, 0);
		st->db = NULL;
		goto fail;
	}
	if ((r = st->db->fd(st->db, &fd)) != 0)
		goto fail;
	if (fstat(fd, &sb) < 0) {
		r = errno;
		goto fail;
	}
	/* Berkeley DB opens without O_CLOEXEC; delivery children exec. */
	(void) fcntl(fd, F_SETFD, FD_CLOEXEC);
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtime = sb.st_mtim;
	t->state = st;
	return 0;

fail:
	if (r == ENOENT)
		table_seterr(t, "open %.200s: %.200s does not exist: build it "
			     "with \"postmap %.200s\" (or postalias for aliases)",
			     t->spec, path, t->spec);
	else if (r == EINVAL)
		table_seterr(t, "open %.200s: %.200s is not a %s database or is "
			     "damaged%s: rebuild it", t->spec, path, t->type,
			     db_detail(detail, sizeof(detail)));
	else
		table_seterr(t, "open %.200s: %.200s: %s%s", t->spec, path,
			     db_strerror(r), db_detail(detail, sizeof(detail)));
	db_state_free(st);
	errno = r > 0 ? r : EIO;
	return -1;
}

/* db_lookup - one exact try; 1 found, 0 not, -1 error */
static int
db_lookup(struct table *t, const char *key, size_t ksize, struct buf *value)
{
	struct db_state *st = t->state;
	DBT     k, v;
	int     r;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *) key;
	k.size = (u_int32_t) ksize;
	r = st->db->get(st->db, NULL, &k, &v, 0);
	if (r == DB_NOTFOUND || r == DB_KEYEMPTY)
		return 0;
	if (r != 0) {
		table_seterr(t, "lookup of '%.100s' in %.200s: %s", key,
			     t->spec, db_strerror(r));
		return -1;
	}
	if (v.size > 0 && ((const char *) v.data)[v.size - 1] == '\0')
		v.size--;
	return table_set_value(t, key, value, v.data, v.size);
}

static int
db_get(struct table *t, const char *key, struct buf *value)
{
	size_t  klen = strlen(key);
	int     r;

	/* Written by postmap (and Postfix on Linux): with the NUL. */
	if ((r = db_lookup(t, key, klen + 1, value)) != 0 || klen == 0)
		return r;
	return db_lookup(t, key, klen, value);
}

static bool
db_changed(struct table *t)
{
	struct db_state *st = t->state;
	struct stat sb;

	if (stat(st->path, &sb) < 0)
		return true;
	return sb.st_dev != st->dev || sb.st_ino != st->ino
		|| sb.st_size != st->size
		|| sb.st_mtim.tv_sec != st->mtime.tv_sec
		|| sb.st_mtim.tv_nsec != st->mtime.tv_nsec;
}

static void
db_close(void *state)
{
	db_state_free(state);
}

const struct table_backend table_hash_backend = {
	.type = "hash",
	.open = db_open,
	.get = db_get,
	.changed = db_changed,
	.close = db_close,
};

const struct table_backend table_btree_backend = {
	.type = "btree",
	.open = db_open,
	.get = db_get,
	.changed = db_changed,
	.close = db_close,
};

/*
 * Building.
 */

struct eugid_save {
	bool	switched;
	gid_t	egid;
	int	ngroups;
	gid_t  *groups;
};

/*
 * as_owner - when root, take the effective ids of the source's owner
 * (and that owner's group as the only group) for the build.  Real and
 * saved ids stay 0, so restore_ids() can come back.
 */
static int
as_owner(uid_t uid, gid_t gid, struct eugid_save *sv, struct buf *err)
{
	int     n;

	sv->switched = false;
	sv->groups = NULL;
	if (geteuid() != 0 || uid == 0)
		return 0;
	sv->egid = getegid();
	if ((n = getgroups(0, NULL)) < 0)
		goto fail;
	sv->groups = xcalloc((size_t) n + 1, sizeof(gid_t));
	if ((sv->ngroups = getgroups(n, sv->groups)) < 0)
		goto fail;
	if (setgroups(1, &gid) < 0)
		goto fail;
	if (setegid(gid) < 0) {
		(void) setgroups((size_t) sv->ngroups, sv->groups);
		goto fail;
	}
	if (seteuid(uid) < 0) {
		(void) !setegid(sv->egid);
		(void) setgroups((size_t) sv->ngroups, sv->groups);
		goto fail;
	}
	sv->switched = true;
	return 0;

fail:
	(void) buf_appendf(err, "cannot take the ids of the source file's "
			   "owner (uid %lu, gid %lu): %s\n", (unsigned long) uid,
			   (unsigned long) gid, strerror(errno));
	free(sv->groups);
	sv->groups = NULL;
	return -1;
}

static void
restore_ids(struct eugid_save *sv)
{
	if (sv->switched) {
		if (seteuid(0) < 0 || setegid(sv->egid) < 0
		    || setgroups((size_t) sv->ngroups, sv->groups) < 0)
			log_fatal("cannot restore root's ids after building a "
				  "table: %m");
		sv->switched = false;
	}
	free(sv->groups);
	sv->groups = NULL;
}

/* finish_file - set owner and mode of the new file, and sync it */
static int
finish_file(const char *tmp, const struct stat *src, struct buf *err)
{
	struct stat sb;
	int     fd;

	if ((fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		(void) buf_appendf(err, "open %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1
	    || sb.st_uid != geteuid()) {
		(void) buf_appendf(err, "%s: not the file just written: "
				   "something else is at work in its directory\n",
				   tmp);
		goto fail;
	}
	/* A root-owned source: the table gets the source's group. */
	if (geteuid() == 0 && fchown(fd, src->st_uid, src->st_gid) < 0) {
		(void) buf_appendf(err, "chown %s: %s\n", tmp, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, src->st_mode & 0666) < 0) {
		(void) buf_appendf(err, "chmod %s: %s\n", tmp, strerror(errno));
		goto fail;
	}
	if (fsync(fd) < 0) {
		(void) buf_appendf(err, "fsync %s: %s\n", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		(void) buf_appendf(err, "close %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	return 0;

fail:
	(void) close(fd);
	return -1;
}

/* fill - copy every entry of the source into db; a TABLE_* result */
static int
fill(DB *db, struct table_src *src, const char *source, unsigned flags,
     struct buf *err)
{
	const char *key, *value;
	unsigned long line;
	unsigned ndup = 0, nbad = 0;
	int     r;

	while ((r = table_src_next(src, &key, &value, &line, err)) != 0) {
		DBT     k, v;
		int     pr;

		if (r == -2)
			return TABLE_ETEMP;
		if (r < 0) {
			if (++nbad >= TABLE_BUILD_MAX_ERRORS) {
				(void) buf_appendf(err, "%s: too many errors, "
						   "giving up\n", source);
				break;
			}
			continue;
		}
		if (nbad > 0)
			continue;		/* only looking for more problems */
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = (void *) key;
		k.size = (u_int32_t) strlen(key) + ((flags & TABLE_F_NONUL) ? 0 : 1);
		v.data = (void *) value;
		v.size = (u_int32_t) strlen(value) + ((flags & TABLE_F_NONUL) ? 0 : 1);
		pr = db->put(db, NULL, &k, &v, DB_NOOVERWRITE);
		if (pr == DB_KEYEXIST) {
			if (++ndup <= DB_DUP_WARN_MAX)
				log_warn("%s, line %lu: duplicate key '%.100s': "
					 "the earlier entry is kept", source,
					 line, key);
			continue;
		}
		if (pr != 0) {
			(void) buf_appendf(err, "%s: writing the table: %s\n",
					   source, db_strerror(pr));
			return TABLE_ETEMP;
		}
	}
	if (ndup > DB_DUP_WARN_MAX)
		log_warn("%s: %u more duplicate keys", source,
			 ndup - DB_DUP_WARN_MAX);
	return nbad > 0 ? TABLE_EDATA : TABLE_OK;
}

int
table_db_build(const struct table_backend *be, const char *name,
	       int alias_mode, unsigned flags, struct buf *err)
{
	struct table_src *src;
	struct eugid_save ids;
	char    dbpath[DB_PATH_MAX], tmp[DB_PATH_MAX + 64];
	char    why[TABLE_ERROR_MAX], detail[300];
	DB_ENV *env = NULL;
	DB     *db = NULL;
	uint32_t rnd;
	bool	created = false;
	int     ret = TABLE_ETEMP, r;

	if ((src = table_src_open(name, alias_mode, flags, err)) == NULL) {
		switch (errno) {
		case ENOENT:
		case ENOTDIR:
		case EACCES:
		case EPERM:
		case ELOOP:
		case EINVAL:
		case ENAMETOOLONG:
			return TABLE_ENOINPUT;
		default:
			return TABLE_ETEMP;
		}
	}
	if (abs_path(name, ".db", dbpath, sizeof(dbpath)) < 0) {
		(void) buf_appendf(err, "%s: cannot make an absolute path: %s\n",
				   name, strerror(errno));
		table_src_close(src);
		return TABLE_ETEMP;
	}
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t) time(NULL) ^ (uint32_t) clock();
	if (str_fmt(tmp, sizeof(tmp), "%s.tmp.%ld.%08x", dbpath, (long) getpid(),
		    rnd) < 0) {
		(void) buf_appendf(err, "%s: path too long\n", dbpath);
		table_src_close(src);
		return TABLE_ETEMP;
	}
	if (as_owner(table_src_stat(src)->st_uid, table_src_stat(src)->st_gid,
		     &ids, err) < 0) {
		table_src_close(src);
		return TABLE_ETEMP;
	}
	if (env_open(&env, DB_BUILD_CACHE, why, sizeof(why)) < 0) {
		(void) buf_appendf(err, "%s: %s\n", dbpath, why);
		goto done;
	}
	if ((r = db_create(&db, env, 0)) != 0) {
		db = NULL;
		(void) buf_appendf(err, "%s: %s\n", dbpath, db_strerror(r));
		goto done;
	}
	db_msg[0] = '\0';
	if ((r = db->open(db, NULL, tmp, NULL, db_type(be),
			  DB_CREATE | DB_EXCL, 0600)) != 0) {
		(void) buf_appendf(err, "create %s: %s%s\n", tmp, db_strerror(r),
				   db_detail(detail, sizeof(detail)));
		goto done;
	}
	created = true;
	if ((ret = fill(db, src, name, flags, err)) != TABLE_OK)
		goto done;
	ret = TABLE_ETEMP;
	r = db->close(db, 0);		/* writes every dirty page */
	db = NULL;
	if (r != 0) {
		(void) buf_appendf(err, "write %s: %s\n", tmp, db_strerror(r));
		goto done;
	}
	if (finish_file(tmp, table_src_stat(src), err) < 0)
		goto done;
	if (rename(tmp, dbpath) < 0) {
		(void) buf_appendf(err, "rename %s to %s: %s\n", tmp, dbpath,
				   strerror(errno));
		goto done;
	}
	created = false;
	if (sf_fsync_parent(dbpath) < 0) {
		(void) buf_appendf(err, "fsync the directory of %s: %s\n", dbpath,
				   strerror(errno));
		goto done;
	}
	ret = TABLE_OK;

done:
	if (db != NULL)
		(void) db->close(db, DB_NOSYNC);
	if (env != NULL)
		(void) env->close(env, 0);
	if (created)
		(void) unlink(tmp);
	restore_ids(&ids);
	table_src_close(src);
	return ret;
}
