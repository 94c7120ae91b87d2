/*
 * file.c - the `file` probe: metadata of one path, or of each path a glob
 * matches, inside the scanned root.
 *
 * A scalar probe per path: one observation with the attribute asked for,
 * VALUE_ABSENT (noted "does not exist") when the path is missing, except for
 * "exists", which is always a boolean so that rules can say "eq false".
 * Owner and group names come from the root's own /etc/passwd and /etc/group,
 * never from the scanning host's name service.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accountsdb.h"
#include "probe.h"

static const char *const attributes[] = {
	"exists", "type", "mode", "owner", "group", "uid", "gid", "size",
	"target", NULL,
};

static const struct probe_param params[] = {
	{"path", PARAM_STRING, true, NULL, NULL,
	 "Absolute path inside the scanned root, e.g. \"/etc/shadow\". May be a "
	 "glob (*, ?, [...] in any component; a leading dot must be matched "
	 "explicitly): each match gives one observation, and no match gives a "
	 "single observation noted \"no file matches\"."},
	{"attribute", PARAM_STRING, true, NULL, attributes,
	 "What to observe: exists (true/false), type, mode (permission bits "
	 "with setuid/setgid/sticky, compare with within_mask or eq \"0640\"), "
	 "owner / group (names from the root's /etc/passwd and /etc/group, the "
	 "number when it has no entry), uid, gid, size (bytes), target (the "
	 "text of a symbolic link)."},
	{"follow", PARAM_BOOL, false, "true", NULL,
	 "Follow a symbolic link at the end of path and observe what it points "
	 "to (true), or observe the link itself (false). Links are always "
	 "resolved inside the scanned root. Ignored for attribute target."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	const char *path = probe_param_str(p, "path");

	if (path == NULL || path[0] != '/')
		return pst_err_set(e, PST_E_INVAL,
				   "path \"%s\" must be absolute (start with '/')",
				   path != NULL ? path : "");
	if (strlen(path) >= PATH_MAX)
		return pst_err_set(e, PST_E_INVAL, "path is longer than %d bytes",
				   PATH_MAX - 1);
	return 0;
}

/* Per-run state: the parameters and the account databases, loaded lazily. */
struct file_run {
	const struct probe_ctx *ctx;
	const char *attr;
	bool follow;
	struct accountsdb db;
	bool db_loaded;
};

static const char *type_name(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "directory";
	if (S_ISLNK(m))
		return "symlink";
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISCHR(m))
		return "char-device";
	if (S_ISBLK(m))
		return "block-device";
	return "unknown";
}

static int add_value(struct probe_out *out, const char *path, const char *attr,
		     struct value v)
{
	if (v.kind == VALUE_ABSENT)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	return probe_out_add(out, path, attr, path, 0, v);
}

/* A missing path: false for "exists", absent for everything else. */
static int add_missing(struct file_run *fr, struct probe_out *out,
		       const char *path, const char *why)
{
	struct value v = strcmp(fr->attr, "exists") == 0 ? value_bool(false)
							 : value_absent();
	int rc = probe_out_add(out, path, fr->attr, path, 0, v);

	if (rc < 0)
		return rc;
	return probe_out_note(out, "%s", why);
}

static int load_db(struct file_run *fr, struct probe_out *out)
{
	struct pst_err e = {0};
	int rc;

	if (fr->db_loaded)
		return 0;
	/* Set first: the databases need cleaning up after a failure too. */
	fr->db_loaded = true;
	rc = accountsdb_load(&fr->db, fr->ctx->root,
			     ACCOUNTSDB_PASSWD | ACCOUNTSDB_GROUP, &e);
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot resolve owner names: %s",
				      e.msg);
	return 0;
}

/* Owner or group name, or the number with a note when it has no entry. */
static int add_name(struct file_run *fr, struct probe_out *out,
		    const char *path, bool group, int64_t id)
{
	const char *name = NULL;
	char num[32];
	int rc;

	rc = load_db(fr, out);
	if (rc < 0)
		return rc;
	if (group) {
		const struct gr_entry *g = accountsdb_group_by_gid(&fr->db, id);
		name = g != NULL ? g->name : NULL;
	} else {
		const struct pw_entry *u = accountsdb_user_by_uid(&fr->db, id);
		name = u != NULL ? u->name : NULL;
	}
	if (name != NULL)
		return add_value(out, path, fr->attr, value_str(name));
	snprintf(num, sizeof(num), "%lld", (long long)id);
	rc = add_value(out, path, fr->attr, value_str(num));
	if (rc < 0)
		return rc;
	return probe_out_note(out, "%s %lld has no entry in %s",
			      group ? "gid" : "uid", (long long)id,
			      group ? "/etc/group" : "/etc/passwd");
}

/* The text of the link at path, not following it. */
static int add_target(struct file_run *fr, struct probe_out *out,
		      const char *path)
{
	char buf[PATH_MAX];
	ssize_t n;
	int fd = -1, rc;

	rc = rootfs_openat(fr->ctx->root, path, O_PATH, false, &fd);
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot open %s: %s", path,
				      rootfs_strerror(rc));
	n = readlinkat(fd, "", buf, sizeof(buf));
	rc = n < 0 ? pst_from_errno(errno) : 0;
	close(fd);
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot read link %s: %s", path,
				      rootfs_strerror(rc));
	if ((size_t)n >= sizeof(buf))
		return probe_out_fail(out, PST_E_TOOBIG,
				      "cannot read link %s: target longer than %d bytes",
				      path, PATH_MAX - 1);
	return add_value(out, path, fr->attr, value_strn(buf, (size_t)n));
}

static int observe(struct file_run *fr, struct probe_out *out, const char *path)
{
	bool target = strcmp(fr->attr, "target") == 0;
	bool follow = fr->follow && !target;
	const char *attr = fr->attr;
	struct stat st, lst;
	int rc;

	rc = rootfs_stat(fr->ctx->root, path, follow, &st);
	switch (rc) {
	case 0:
		break;
	case PST_E_NOENT:
		if (follow && rootfs_stat(fr->ctx->root, path, false, &lst) == 0 &&
		    S_ISLNK(lst.st_mode))
			return add_missing(fr, out, path,
					   "does not exist (dangling symbolic link)");
		return add_missing(fr, out, path, "does not exist");
	case PST_E_NOTDIR:
		return add_missing(fr, out, path,
				   "does not exist (a parent component is not a directory)");
	default:
		return probe_out_fail(out, rc, "cannot stat %s: %s", path,
				      rootfs_strerror(rc));
	}

	if (strcmp(attr, "exists") == 0)
		return add_value(out, path, attr, value_bool(true));
	if (strcmp(attr, "type") == 0)
		return add_value(out, path, attr, value_str(type_name(st.st_mode)));
	if (strcmp(attr, "mode") == 0)
		return add_value(out, path, attr, value_mode(st.st_mode & 07777));
	if (strcmp(attr, "owner") == 0)
		return add_name(fr, out, path, false, (int64_t)st.st_uid);
	if (strcmp(attr, "group") == 0)
		return add_name(fr, out, path, true, (int64_t)st.st_gid);
	if (strcmp(attr, "uid") == 0)
		return add_value(out, path, attr, value_int((int64_t)st.st_uid));
	if (strcmp(attr, "gid") == 0)
		return add_value(out, path, attr, value_int((int64_t)st.st_gid));
	if (strcmp(attr, "size") == 0)
		return add_value(out, path, attr, value_int((int64_t)st.st_size));
	if (target) {
		if (!S_ISLNK(st.st_mode)) {
			rc = probe_out_add(out, path, attr, path, 0, value_absent());
			if (rc < 0)
				return rc;
			return probe_out_note(out, "not a symbolic link (%s)",
					      type_name(st.st_mode));
		}
		return add_target(fr, out, path);
	}
	return probe_out_fail(out, PST_E_INVAL, "unknown attribute \"%s\"", attr);
}

static int run(const struct probe_ctx *ctx, const json_t *p,
	       struct probe_out *out)
{
	struct file_run fr = {0};
	const char *path = probe_param_str(p, "path");
	char **paths = NULL;
	size_t n = 0, i;
	int rc;

	fr.ctx = ctx;
	fr.attr = probe_param_str(p, "attribute");
	fr.follow = probe_param_bool(p, "follow", true);
	if (path == NULL || fr.attr == NULL)
		return probe_out_fail(out, PST_E_INVAL,
				      "the file probe needs path and attribute");
	rc = probe_expand(ctx, out, path, &paths, &n);
	if (rc < 0)
		goto out;
	if (n == 0) {
		rc = add_missing(&fr, out, path, "no file matches");
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = observe(&fr, out, paths[i]);
out:
	rootfs_glob_free(paths, n);
	if (fr.db_loaded)
		accountsdb_cleanup(&fr.db);
	return rc;
}

const struct probe probe_file = {
	.name = "file",
	.summary = "Metadata of a file inside the scanned root: existence, type, "
		   "permission bits, owner and group, size or link target.",
	.value_doc = "One observation per path (per match for a glob), subject "
		     "and location the path, key the attribute. exists: boolean, "
		     "false when missing. type: file, directory, symlink, socket, "
		     "fifo, char-device or block-device. mode: octal permission "
		     "bits such as \"0640\". owner, group: a name, or the number "
		     "as text when the root has no entry for it. uid, gid, size: "
		     "integers. target: the link text, absent (noted) when the "
		     "path is not a link. Any attribute but exists is absent, "
		     "noted \"does not exist\", when the path is missing.",
	.params = params,
	.validate = validate,
	.run = run,
};
