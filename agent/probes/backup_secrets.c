/*
 * backup_secrets.c - the `backup_secrets` probe: the secrets of a backup
 * (a repository password file, a passphrase, an SSH key for the backup
 * host, a borg key export) are neither readable nor writable by anyone but
 * their owner, and their owner is one of the accounts allowed.
 *
 * A set probe like fsscan: one observation per exposed secret, none when
 * every secret is closed, so rules use absent.  A path or glob that finds
 * no file is an error: the policy names a secret that is not there, and a
 * check that cannot see the file must not pass.
 */
#include <stdio.h>
#include <string.h>

#include "accountsdb.h"
#include "probe.h"

static const struct probe_param params[] = {
	{"paths", PARAM_STRING_LIST, true, NULL, NULL,
	 "The secrets: absolute paths or globs inside the scanned root, e.g. "
	 "[\"/etc/restic/password\", \"/root/.ssh/backup_ed25519\"]. Links are followed (inside "
	 "the root) to the file they name. Empty strings (unset policy variables) are skipped; "
	 "no secret at all, or a path that finds nothing, makes the check an error."},
	{"owners", PARAM_STRING_LIST, false, "[\"root\"]", NULL,
	 "Accounts that may own a secret (names from the root's /etc/passwd)."},
	{"group_readable", PARAM_BOOL, false, "false", NULL,
	 "Allow the group to read (never to write), for a job that runs as a member of the "
	 "file's group."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	const json_t *paths = probe_param_list(p, "paths"), *item;
	size_t i;

	json_array_foreach(paths, i, item) {
		const char *s = json_string_value(item);
		if (s[0] != '\0' && s[0] != '/')
			return pst_err_set(e, PST_E_INVAL, "paths[%zu] \"%s\" must be absolute (start with '/')",
					   i, s);
	}
	return 0;
}

static bool owner_allowed(const json_t *owners, const char *name)
{
	const json_t *item;
	size_t i;

	json_array_foreach(owners, i, item)
		if (name != NULL && strcmp(json_string_value(item), name) == 0)
			return true;
	return false;
}

/* "read", "read, write", ... for three permission bits. */
static const char *access_words(unsigned bits)
{
	static const char *const w[] = {
		"", "execute", "write", "write, execute", "read", "read, execute",
		"read, write", "read, write, execute",
	};

	return w[bits & 7];
}

static int examine(const struct probe_ctx *ctx, struct accountsdb *db, const json_t *p,
		   const char *path, struct probe_out *out)
{
	const json_t *owners = probe_param_list(p, "owners");
	bool group_ok = probe_param_bool(p, "group_readable", false);
	unsigned mask = group_ok ? 0037 : 0077; /* bits that must be clear */
	const struct pw_entry *pw;
	char owner[64], why[256];
	struct stat st;
	size_t n = 0;
	int rc;

	rc = rootfs_stat(ctx->root, path, true, &st);
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot examine %s: %s", path, rootfs_strerror(rc));
	pw = accountsdb_user_by_uid(db, (int64_t)st.st_uid);
	if (pw != NULL)
		snprintf(owner, sizeof(owner), "%s", pw->name);
	else
		snprintf(owner, sizeof(owner), "%lld", (long long)st.st_uid);
	why[0] = '\0';
	if ((st.st_mode & mask) != 0) {
		unsigned g = (unsigned)(st.st_mode & mask) >> 3 & 7, o = (unsigned)(st.st_mode & mask) & 7;
		n = (size_t)snprintf(why, sizeof(why), "mode %04o:", (unsigned)(st.st_mode & 07777));
		if (g != 0)
			n += (size_t)snprintf(why + n, sizeof(why) - n, " group may %s%s", access_words(g),
					      o != 0 ? ";" : "");
		if (o != 0)
			n += (size_t)snprintf(why + n, sizeof(why) - n, " others may %s", access_words(o));
	}
	if (!owner_allowed(owners, pw != NULL ? pw->name : NULL))
		snprintf(why + n, sizeof(why) - n, "%sowned by %s%s", n ? "; " : "", owner,
			 pw == NULL ? " (no account)" : "");
	if (why[0] == '\0')
		return 0;
	rc = probe_out_add(out, path, "exposed", path, 0, value_str(path));
	return rc < 0 ? rc : probe_out_note(out, "%s", why);
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const json_t *paths = probe_param_list(p, "paths"), *item;
	struct accountsdb db;
	struct pst_err e = {0};
	size_t i, given = 0;
	int rc;

	rc = accountsdb_load(&db, ctx->root, ACCOUNTSDB_PASSWD, &e);
	if (rc < 0) {
		accountsdb_cleanup(&db);
		return probe_out_fail(out, rc, "cannot resolve owner names: %s", e.msg);
	}
	json_array_foreach(paths, i, item) {
		const char *pat = json_string_value(item);
		char **found = NULL;
		size_t n = 0, k;

		if (pat[0] == '\0')
			continue;
		given++;
		rc = probe_expand(ctx, out, pat, &found, &n);
		if (rc < 0)
			break;
		if (n == 0)
			rc = probe_out_fail(out, PST_E_NOENT, "no file matches %s: the policy names a backup secret that is not there",
					    pat);
		for (k = 0; rc == 0 && k < n; k++) {
			rc = examine(ctx, &db, p, found[k], out);
			if (rc == PST_E_NOENT && !rootfs_has_glob(pat))
				probe_out_fail(out, rc, "%s does not exist: the policy names a backup secret that is not there",
					       pat);
		}
		rootfs_glob_free(found, n);
		if (rc < 0)
			break;
	}
	accountsdb_cleanup(&db);
	if (rc == 0 && given == 0)
		return probe_out_fail(out, PST_E_INVAL,
				      "no secret to examine: every path is empty (set the policy variable that names them)");
	return rc;
}

const struct probe probe_backup_secrets = {
	.name = "backup_secrets",
	.summary = "Backup secrets (repository passwords, passphrases, keys) that group or others may "
		   "read or write, or that an account not allowed owns.",
	.value_doc = "One observation per exposed secret: subject, location and value its path, key "
		     "\"exposed\", note what is wrong (\"mode 0644: readable by group and others\", "
		     "\"owned by backup\"). None when every secret is closed, so use absent. A path "
		     "that finds no file makes the check an error.",
	.params = params,
	.validate = validate,
	.run = run,
};
