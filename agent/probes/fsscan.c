/*
 * fsscan.c - the `fsscan` probe: walks directory trees inside the scanned
 * root for world-writable files and directories, setuid and setgid
 * programs, and files whose owner or group has no account.
 *
 * The walk holds a directory handle per level and opens each subdirectory
 * with openat(O_NOFOLLOW|O_DIRECTORY) relative to its parent's handle, so a
 * path is never resolved twice and a link swapped in during the walk is not
 * followed.  Symbolic links are never followed.  Hitting max_entries or
 * max_depth, or meeting a directory that cannot be read, fails the probe:
 * a partial walk must never pass as clean.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accountsdb.h"
#include "probe.h"

#define FSSCAN_MAX_DEPTH_CEILING 1024
#define FSSCAN_MAX_ENTRIES_CEILING 100000000LL

enum fsscan_select {
	SEL_WW_FILES,
	SEL_WW_DIRS,
	SEL_SUID,
	SEL_SGID,
	SEL_UNOWNED,
};

static const char *const selects[] = {
	"world_writable_files", "world_writable_dirs_without_sticky", "suid",
	"sgid", "unowned", NULL,
};

static const struct probe_param params[] = {
	{"paths", PARAM_STRING_LIST, true, NULL, NULL,
	 "Directories to walk, absolute paths inside the scanned root, e.g. "
	 "[\"/\"] or [\"/usr\", \"/etc\"]. Each start directory is examined "
	 "itself too. A start path that does not exist is skipped silently."},
	{"select", PARAM_STRING, true, NULL, selects,
	 "What to report: world_writable_files (regular files writable by "
	 "others), world_writable_dirs_without_sticky (directories writable "
	 "by others without the sticky bit), suid / sgid (regular files with "
	 "the set-user-ID / set-group-ID bit), unowned (entries whose uid has "
	 "no line in the root's /etc/passwd or whose gid has none in "
	 "/etc/group). Symbolic links are never followed; only unowned "
	 "reports links themselves."},
	{"exclude", PARAM_STRING_LIST, false, "[]", NULL,
	 "fnmatch patterns on full paths (\"*\" does not cross \"/\"), e.g. "
	 "[\"/proc\", \"/home/*/.cache\"]. A matching entry is neither "
	 "reported nor, for a directory, descended into."},
	{"one_filesystem", PARAM_BOOL, false, "true", NULL,
	 "Stay on the filesystem of each start path: a mount point is "
	 "examined but not descended into."},
	{"max_entries", PARAM_INT, false, "200000", NULL,
	 "Most entries examined in total; a larger tree makes the check an "
	 "error naming where the walk stopped, never a partial pass."},
	{"max_depth", PARAM_INT, false, "64", NULL,
	 "Most directory levels below a start path; a deeper directory makes "
	 "the check an error."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	const json_t *paths = probe_param_list(p, "paths");
	long long max_entries = probe_param_int(p, "max_entries", 200000);
	long long max_depth = probe_param_int(p, "max_depth", 64);
	const json_t *v;
	size_t i;

	if (paths == NULL || json_array_size(paths) == 0)
		return pst_err_set(e, PST_E_INVAL, "paths must name at least one directory");
	json_array_foreach(paths, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || s[0] != '/')
			return pst_err_set(e, PST_E_INVAL,
					   "paths[%zu] \"%s\" must be absolute (start with '/')",
					   i, s != NULL ? s : "");
		if (strlen(s) >= PATH_MAX)
			return pst_err_set(e, PST_E_INVAL,
					   "paths[%zu] is longer than %d bytes", i,
					   PATH_MAX - 1);
	}
	if (max_entries < 1 || max_entries > FSSCAN_MAX_ENTRIES_CEILING)
		return pst_err_set(e, PST_E_INVAL,
				   "max_entries %lld is out of range (1 to %lld)",
				   max_entries, FSSCAN_MAX_ENTRIES_CEILING);
	if (max_depth < 0 || max_depth > FSSCAN_MAX_DEPTH_CEILING)
		return pst_err_set(e, PST_E_INVAL,
				   "max_depth %lld is out of range (0 to %d)",
				   max_depth, FSSCAN_MAX_DEPTH_CEILING);
	return 0;
}

/* An entry that some selection reports, with what its note needs. */
struct hit {
	char *path;
	unsigned bits;   /* 1 << enum fsscan_select */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool no_user, no_group;
};

/*
 * One walk of a set of trees answers every selection, so that the five
 * fsscan checks of a baseline cost one walk, not five: the result is kept
 * in the scan's cache under the parameters that shape the walk.
 */
struct walk {
	int rc;               /* 0, or why the walk failed: then no selection has an answer */
	char reason[sizeof(((struct probe_out *)0)->reason)];
	int db_rc;            /* accounts unreadable: only "unowned" has no answer */
	char db_reason[sizeof(((struct pst_err *)0)->msg)];
	struct hit *hits;     /* sorted by path, no duplicates */
	size_t nhits, cap;
};

struct fsscan {
	const struct probe_ctx *ctx;
	struct walk *w;
	const json_t *exclude;
	bool one_fs;
	long long max_entries, max_depth, visited;
	const char *start; /* the start path being walked, for messages */
	dev_t dev;         /* its device */
	struct accountsdb db;
	bool db_ok;
	char path[PATH_MAX]; /* the entry being examined */
};

static bool excluded(const struct fsscan *fs, const char *path)
{
	const json_t *v;
	size_t i;

	json_array_foreach(fs->exclude, i, v) {
		const char *pat = json_string_value(v);

		if (pat != NULL && fnmatch(pat, path, FNM_PATHNAME) == 0)
			return true;
	}
	return false;
}

static int add_hit(struct fsscan *fs, struct probe_out *out, const char *path,
		   unsigned bits, const struct stat *st, bool no_user, bool no_group)
{
	struct walk *w = fs->w;
	struct hit *h;

	if (w->nhits >= PROBE_MAX_OBSERVATIONS)
		return probe_out_fail(out, PST_E_LIMIT,
				      "walking %s: more than %d offending entries; narrow paths or add exclude patterns",
				      fs->start, PROBE_MAX_OBSERVATIONS);
	if (w->nhits == w->cap) {
		size_t ncap = w->cap ? 2 * w->cap : 16;

		h = realloc(w->hits, ncap * sizeof(*h));
		if (h == NULL)
			return probe_out_fail(out, PST_E_NOMEM, "out of memory");
		w->hits = h;
		w->cap = ncap;
	}
	h = &w->hits[w->nhits];
	h->path = strdup(path);
	if (h->path == NULL)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	h->bits = bits;
	h->mode = st->st_mode;
	h->uid = st->st_uid;
	h->gid = st->st_gid;
	h->no_user = no_user;
	h->no_group = no_group;
	w->nhits++;
	return 0;
}

/* Examine one entry (lstat data, or stat data for a start path) for every selection. */
static int check(struct fsscan *fs, struct probe_out *out, const char *path,
		 const struct stat *st)
{
	mode_t m = st->st_mode;
	unsigned bits = 0;
	bool no_user = false, no_group = false;

	if (S_ISREG(m) && (m & S_IWOTH))
		bits |= 1u << SEL_WW_FILES;
	if (S_ISDIR(m) && (m & S_IWOTH) && !(m & S_ISVTX))
		bits |= 1u << SEL_WW_DIRS;
	if (S_ISREG(m) && (m & S_ISUID))
		bits |= 1u << SEL_SUID;
	if (S_ISREG(m) && (m & S_ISGID))
		bits |= 1u << SEL_SGID;
	if (fs->db_ok) {
		no_user = accountsdb_user_by_uid(&fs->db, (int64_t)st->st_uid) == NULL;
		no_group = accountsdb_group_by_gid(&fs->db, (int64_t)st->st_gid) == NULL;
		if (no_user || no_group)
			bits |= 1u << SEL_UNOWNED;
	}
	if (bits == 0)
		return 0;
	return add_hit(fs, out, path, bits, st, no_user, no_group);
}

static int count_entry(struct fsscan *fs, struct probe_out *out)
{
	if (++fs->visited > fs->max_entries)
		return probe_out_fail(out, PST_E_LIMIT,
				      "walking %s: more than max_entries (%lld) entries, stopped at %s; raise max_entries or add exclude patterns",
				      fs->start, fs->max_entries, fs->path);
	return 0;
}

static int fail_errno(struct probe_out *out, int err, const char *what,
		      const char *path)
{
	int rc = pst_from_errno(err);

	return probe_out_fail(out, rc, "cannot %s %s: %s", what, path,
			      rc == PST_E_ACCES ? rootfs_strerror(rc) : strerror(err));
}

/*
 * Walk the directory open as dfd (taken over), whose path is fs->path up to
 * plen bytes, at depth levels below the start path.
 */
static int walk_dir(struct fsscan *fs, struct probe_out *out, int dfd,
		    size_t plen, long long depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = fdopendir(dfd);
	if (d == NULL) {
		rc = fail_errno(out, errno, "read directory", fs->path);
		close(dfd);
		return rc;
	}
	for (;;) {
		struct stat st;
		size_t nlen, len;
		int cfd;

		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				fs->path[plen] = '\0';
				rc = fail_errno(out, errno, "read directory", fs->path);
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		nlen = strlen(de->d_name);
		/* "/" + name, except below the root itself. */
		len = plen == 1 ? 1 : plen + 1;
		if (len + nlen >= sizeof(fs->path)) {
			fs->path[plen] = '\0';
			rc = probe_out_fail(out, PST_E_TOOBIG,
					    "walking %s: a name in %s makes a path longer than %d bytes",
					    fs->start, fs->path, PATH_MAX - 1);
			break;
		}
		fs->path[len - 1] = '/';
		memcpy(fs->path + len, de->d_name, nlen + 1);
		len += nlen;
		if (excluded(fs, fs->path))
			continue;
		rc = count_entry(fs, out);
		if (rc < 0)
			break;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* removed while we walk */
			rc = fail_errno(out, errno, "stat", fs->path);
			break;
		}
		rc = check(fs, out, fs->path, &st);
		if (rc < 0)
			break;
		if (!S_ISDIR(st.st_mode))
			continue;
		if (fs->one_fs && st.st_dev != fs->dev)
			continue;
		if (depth + 1 > fs->max_depth) {
			rc = probe_out_fail(out, PST_E_LIMIT,
					    "walking %s: %s is more than max_depth (%lld) levels down; raise max_depth or add exclude patterns",
					    fs->start, fs->path, fs->max_depth);
			break;
		}
		cfd = openat(dirfd(d), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			/* Removed or replaced by a link or file while we walk. */
			if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
				continue;
			rc = fail_errno(out, errno, "read directory", fs->path);
			break;
		}
		rc = walk_dir(fs, out, cfd, len, depth + 1);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

static int walk_start(struct fsscan *fs, struct probe_out *out,
		      const char *start)
{
	struct stat st;
	size_t len = strlen(start);
	int fd = -1, rc;

	/* Keep "/" but drop trailing slashes elsewhere. */
	while (len > 1 && start[len - 1] == '/')
		len--;
	if (len >= sizeof(fs->path))
		return probe_out_fail(out, PST_E_TOOBIG, "path %s is too long", start);
	memcpy(fs->path, start, len);
	fs->path[len] = '\0';
	fs->start = start;
	if (excluded(fs, fs->path))
		return 0;
	rc = rootfs_stat(fs->ctx->root, fs->path, true, &st);
	if (rc == PST_E_NOENT || rc == PST_E_NOTDIR)
		return 0; /* common (/srv, /opt); nothing to report */
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot stat %s: %s", fs->path,
				      rootfs_strerror(rc));
	rc = count_entry(fs, out);
	if (rc < 0)
		return rc;
	rc = check(fs, out, fs->path, &st);
	if (rc < 0 || !S_ISDIR(st.st_mode))
		return rc;
	fs->dev = st.st_dev;
	rc = rootfs_openat(fs->ctx->root, fs->path, O_RDONLY | O_DIRECTORY, true,
			   &fd);
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot read directory %s: %s",
				      fs->path, rootfs_strerror(rc));
	return walk_dir(fs, out, fd, len, 0);
}

static int cmp_hit(const void *a, const void *b)
{
	return strcmp(((const struct hit *)a)->path, ((const struct hit *)b)->path);
}

static void walk_free(void *p)
{
	struct walk *w = p;
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nhits; i++)
		free(w->hits[i].path);
	free(w->hits);
	free(w);
}

/* Walk the trees of p; NULL only when memory runs out. Failures are kept in the result. */
static struct walk *walk_new(const struct probe_ctx *ctx, const json_t *p)
{
	struct fsscan *fs = calloc(1, sizeof(*fs));
	struct walk *w = calloc(1, sizeof(*w));
	struct probe_out scratch;
	struct pst_err e = {0};
	const json_t *v;
	size_t i, j;

	if (fs == NULL || w == NULL) {
		free(fs);
		free(w);
		return NULL;
	}
	probe_out_init(&scratch);
	fs->ctx = ctx;
	fs->w = w;
	fs->exclude = probe_param_list(p, "exclude");
	fs->one_fs = probe_param_bool(p, "one_filesystem", true);
	fs->max_entries = probe_param_int(p, "max_entries", 200000);
	fs->max_depth = probe_param_int(p, "max_depth", 64);
	w->db_rc = accountsdb_load(&fs->db, ctx->root, ACCOUNTSDB_PASSWD | ACCOUNTSDB_GROUP, &e);
	fs->db_ok = w->db_rc == 0;
	if (!fs->db_ok)
		snprintf(w->db_reason, sizeof(w->db_reason), "%s", e.msg);
	json_array_foreach(probe_param_list(p, "paths"), i, v) {
		const char *s = json_string_value(v);

		if (s == NULL)
			continue;
		w->rc = walk_start(fs, &scratch, s);
		if (w->rc < 0) {
			snprintf(w->reason, sizeof(w->reason), "%s", scratch.reason);
			break;
		}
	}
	if (w->nhits > 1)
		qsort(w->hits, w->nhits, sizeof(*w->hits), cmp_hit);
	/* Overlapping start paths find an entry twice. */
	for (i = 0, j = 0; i < w->nhits; i++) {
		if (j > 0 && strcmp(w->hits[i].path, w->hits[j - 1].path) == 0) {
			free(w->hits[i].path);
			continue;
		}
		w->hits[j++] = w->hits[i];
	}
	w->nhits = j;
	accountsdb_cleanup(&fs->db);
	free(fs);
	return w;
}

static int hit_note(struct probe_out *out, const struct hit *h, bool unowned)
{
	char ids[128] = "";

	if (unowned && h->no_user)
		snprintf(ids, sizeof(ids), "; uid %lu has no entry in /etc/passwd", (unsigned long)h->uid);
	if (unowned && h->no_group)
		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids),
			 "; gid %lu has no entry in /etc/group", (unsigned long)h->gid);
	return probe_out_note(out, "mode %04o, uid %lu, gid %lu%s", (unsigned)(h->mode & 07777),
			      (unsigned long)h->uid, (unsigned long)h->gid, ids);
}

/* The parameters that shape a walk (all but select), as a cache key. */
static char *walk_key(const json_t *p)
{
	json_t *copy = json_deep_copy(p);
	char *dump, *key = NULL;

	if (copy == NULL)
		return NULL;
	json_object_del(copy, "select");
	dump = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	if (dump != NULL && asprintf(&key, "fsscan %s", dump) < 0)
		key = NULL;
	free(dump);
	json_decref(copy);
	return key;
}

static int run(const struct probe_ctx *ctx, const json_t *p,
	       struct probe_out *out)
{
	const char *sel = probe_param_str(p, "select");
	struct walk *w, *own = NULL;
	enum fsscan_select which = SEL_WW_FILES;
	char *key = NULL;
	size_t i;
	int rc = 0;

	if (probe_param_list(p, "paths") == NULL || sel == NULL)
		return probe_out_fail(out, PST_E_INVAL, "fsscan needs paths and select");
	for (i = 0; selects[i] != NULL && strcmp(selects[i], sel) != 0; i++)
		;
	if (selects[i] == NULL)
		return probe_out_fail(out, PST_E_INVAL, "unknown select \"%s\"", sel);
	which = (enum fsscan_select)i;

	key = walk_key(p);
	if (key == NULL)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	w = probe_cache_get(ctx->cache, key);
	if (w == NULL) {
		w = walk_new(ctx, p);
		if (w == NULL) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		if (ctx->cache != NULL) {
			rc = probe_cache_put(ctx->cache, key, w, walk_free);
			if (rc < 0) {
				rc = probe_out_fail(out, rc, "out of memory");
				goto out;
			}
		} else {
			own = w;
		}
	}
	if (w->rc < 0) {
		rc = probe_out_fail(out, w->rc, "%s", w->reason);
		goto out;
	}
	if (which == SEL_UNOWNED && w->db_rc < 0) {
		rc = probe_out_fail(out, w->db_rc, "cannot tell unowned files: %s", w->db_reason);
		goto out;
	}
	for (i = 0; i < w->nhits; i++) {
		const struct hit *h = &w->hits[i];
		struct value val;

		if (!(h->bits & (1u << which)))
			continue;
		val = value_str(h->path);
		if (val.kind == VALUE_ABSENT) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		rc = probe_out_add(out, h->path, sel, h->path, 0, val);
		if (rc == 0)
			rc = hit_note(out, h, which == SEL_UNOWNED);
		if (rc < 0)
			goto out;
	}
out:
	walk_free(own);
	free(key);
	return rc;
}

const struct probe probe_fsscan = {
	.name = "fsscan",
	.summary = "Walks directory trees inside the scanned root for "
		   "world-writable files and directories, setuid/setgid "
		   "programs, or unowned files.",
	.value_doc = "One observation per offending entry, sorted by path: "
		     "subject, location and value the path, key the select "
		     "value, note its octal mode, uid and gid (and which id has "
		     "no account, for unowned). None when nothing offends, so "
		     "use absent (or count with eq 0).",
	.params = params,
	.validate = validate,
	.run = run,
};
