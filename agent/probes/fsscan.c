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

struct hit {
	char *path;
	char *note;
};

struct fsscan {
	const struct probe_ctx *ctx;
	enum fsscan_select sel;
	const char *sel_name;
	const json_t *exclude;
	bool one_fs;
	long long max_entries, max_depth, visited;
	const char *start; /* the start path being walked, for messages */
	dev_t dev;         /* its device */
	struct accountsdb db;
	bool db_loaded;
	struct hit *hits;
	size_t nhits, cap;
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
		   const char *note)
{
	struct hit *h;

	if (fs->nhits >= PROBE_MAX_OBSERVATIONS)
		return probe_out_fail(out, PST_E_LIMIT,
				      "walking %s: more than %d entries selected as %s; narrow paths or add exclude patterns",
				      fs->start, PROBE_MAX_OBSERVATIONS, fs->sel_name);
	if (fs->nhits == fs->cap) {
		size_t ncap = fs->cap ? 2 * fs->cap : 16;

		h = realloc(fs->hits, ncap * sizeof(*h));
		if (h == NULL)
			return probe_out_fail(out, PST_E_NOMEM, "out of memory");
		fs->hits = h;
		fs->cap = ncap;
	}
	h = &fs->hits[fs->nhits];
	h->path = strdup(path);
	h->note = strdup(note);
	if (h->path == NULL || h->note == NULL) {
		free(h->path);
		free(h->note);
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	}
	fs->nhits++;
	return 0;
}

/* Examine one entry (lstat data, or stat data for a start path). */
static int check(struct fsscan *fs, struct probe_out *out, const char *path,
		 const struct stat *st)
{
	mode_t m = st->st_mode;
	char note[256];
	size_t len;
	bool hit = false;

	switch (fs->sel) {
	case SEL_WW_FILES:
		hit = S_ISREG(m) && (m & S_IWOTH);
		break;
	case SEL_WW_DIRS:
		hit = S_ISDIR(m) && (m & S_IWOTH) && !(m & S_ISVTX);
		break;
	case SEL_SUID:
		hit = S_ISREG(m) && (m & S_ISUID);
		break;
	case SEL_SGID:
		hit = S_ISREG(m) && (m & S_ISGID);
		break;
	case SEL_UNOWNED:
		hit = accountsdb_user_by_uid(&fs->db, (int64_t)st->st_uid) == NULL ||
		      accountsdb_group_by_gid(&fs->db, (int64_t)st->st_gid) == NULL;
		break;
	}
	if (!hit)
		return 0;
	snprintf(note, sizeof(note), "mode %04o, uid %lu, gid %lu",
		 (unsigned)(m & 07777), (unsigned long)st->st_uid,
		 (unsigned long)st->st_gid);
	if (fs->sel == SEL_UNOWNED) {
		len = strlen(note);
		if (accountsdb_user_by_uid(&fs->db, (int64_t)st->st_uid) == NULL)
			len += (size_t)snprintf(note + len, sizeof(note) - len,
						"; uid %lu has no entry in /etc/passwd",
						(unsigned long)st->st_uid);
		if (len < sizeof(note) &&
		    accountsdb_group_by_gid(&fs->db, (int64_t)st->st_gid) == NULL)
			snprintf(note + len, sizeof(note) - len,
				 "; gid %lu has no entry in /etc/group",
				 (unsigned long)st->st_gid);
	}
	return add_hit(fs, out, path, note);
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

	if (rc == PST_E_ACCES)
		return probe_out_fail(out, rc,
				      "cannot %s %s: permission denied; run the agent as root or with CAP_DAC_READ_SEARCH",
				      what, path);
	return probe_out_fail(out, rc, "cannot %s %s: %s", what, path,
			      strerror(err));
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
	if (rc == PST_E_ACCES)
		return probe_out_fail(out, rc,
				      "cannot stat %s: permission denied; run the agent as root or with CAP_DAC_READ_SEARCH",
				      fs->path);
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot stat %s: %s", fs->path,
				      pst_strerror(rc));
	rc = count_entry(fs, out);
	if (rc < 0)
		return rc;
	rc = check(fs, out, fs->path, &st);
	if (rc < 0 || !S_ISDIR(st.st_mode))
		return rc;
	fs->dev = st.st_dev;
	rc = rootfs_openat(fs->ctx->root, fs->path, O_RDONLY | O_DIRECTORY, true,
			   &fd);
	if (rc == PST_E_ACCES)
		return probe_out_fail(out, rc,
				      "cannot read directory %s: permission denied; run the agent as root or with CAP_DAC_READ_SEARCH",
				      fs->path);
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot read directory %s: %s",
				      fs->path, pst_strerror(rc));
	return walk_dir(fs, out, fd, len, 0);
}

static int cmp_hit(const void *a, const void *b)
{
	return strcmp(((const struct hit *)a)->path, ((const struct hit *)b)->path);
}

static int run(const struct probe_ctx *ctx, const json_t *p,
	       struct probe_out *out)
{
	struct fsscan *fs;
	struct pst_err e = {0};
	const json_t *paths = probe_param_list(p, "paths");
	const json_t *v;
	const char *sel = probe_param_str(p, "select");
	size_t i;
	int rc = 0;

	if (paths == NULL || sel == NULL)
		return probe_out_fail(out, PST_E_INVAL, "fsscan needs paths and select");
	fs = calloc(1, sizeof(*fs));
	if (fs == NULL)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	fs->ctx = ctx;
	fs->sel_name = sel;
	for (i = 0; selects[i] != NULL; i++)
		if (strcmp(selects[i], sel) == 0)
			fs->sel = (enum fsscan_select)i;
	if (selects[fs->sel] == NULL || strcmp(selects[fs->sel], sel) != 0) {
		rc = probe_out_fail(out, PST_E_INVAL, "unknown select \"%s\"", sel);
		goto out;
	}
	fs->exclude = probe_param_list(p, "exclude");
	fs->one_fs = probe_param_bool(p, "one_filesystem", true);
	fs->max_entries = probe_param_int(p, "max_entries", 200000);
	fs->max_depth = probe_param_int(p, "max_depth", 64);
	if (fs->sel == SEL_UNOWNED) {
		fs->db_loaded = true;
		rc = accountsdb_load(&fs->db, ctx->root,
				     ACCOUNTSDB_PASSWD | ACCOUNTSDB_GROUP, &e);
		if (rc < 0) {
			rc = probe_out_fail(out, rc, "cannot tell unowned files: %s",
					    e.msg);
			goto out;
		}
	}
	json_array_foreach(paths, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL)
			continue;
		rc = walk_start(fs, out, s);
		if (rc < 0)
			goto out;
	}
	if (fs->nhits > 1)
		qsort(fs->hits, fs->nhits, sizeof(*fs->hits), cmp_hit);
	for (i = 0; i < fs->nhits; i++) {
		struct value val;

		/* Overlapping start paths find an entry twice. */
		if (i > 0 && strcmp(fs->hits[i].path, fs->hits[i - 1].path) == 0)
			continue;
		val = value_str(fs->hits[i].path);
		if (val.kind == VALUE_ABSENT) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		rc = probe_out_add(out, fs->hits[i].path, sel, fs->hits[i].path, 0,
				   val);
		if (rc == 0)
			rc = probe_out_note(out, "%s", fs->hits[i].note);
		if (rc < 0)
			goto out;
	}
out:
	for (i = 0; i < fs->nhits; i++) {
		free(fs->hits[i].path);
		free(fs->hits[i].note);
	}
	free(fs->hits);
	if (fs->db_loaded)
		accountsdb_cleanup(&fs->db);
	free(fs);
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
