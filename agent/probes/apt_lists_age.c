/*
 * apt_lists_age.c - the `apt_lists_age` probe: days since apt last fetched
 * its package lists successfully.
 *
 * apt's daily job touches /var/lib/apt/periodic/update-success-stamp after a
 * successful update; without it (updates run by hand, or an image) the
 * newest InRelease or Release file under /var/lib/apt/lists stands for the
 * last update: apt replaces them on every successful fetch (keeping the
 * server's time when the file had not changed, so this can read older than
 * the truth, never younger).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aptlists.h"
#include "probe.h"
#include "timefmt.h"

#define STAMP "/var/lib/apt/periodic/update-success-stamp"

static const struct probe_param params[] = {
	{NULL, 0, false, NULL, NULL, NULL},
};

static int observe(struct probe_out *out, const char *path, time_t mtime, const char *how)
{
	time_t now = time(NULL);
	long long days = now > mtime ? (long long)(now - mtime) / 86400 : 0;
	char when[32];
	int rc;

	timefmt_rfc3339((int64_t)mtime * 1000000, when, sizeof(when));
	rc = probe_out_add(out, path, "age_days", path, 0, value_int(days));
	if (rc == 0)
		rc = probe_out_note(out, "%s, modified %s", how, when);
	return rc;
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	char **paths = NULL;
	size_t n = 0, i, newest = 0;
	struct stat st;
	time_t best = 0;
	bool found = false;
	int rc;

	(void)p;
	rc = rootfs_stat(ctx->root, STAMP, true, &st);
	if (rc == 0)
		return observe(out, STAMP, st.st_mtime, "apt's update-success stamp");
	if (rc != PST_E_NOENT)
		return probe_out_fail(out, rc, "cannot read %s: %s", STAMP, rootfs_strerror(rc));
	rc = rootfs_glob(ctx->root, APTLISTS_DIR "/*Release", 0, &paths, &n);
	if (rc == PST_E_NOENT || rc == PST_E_NOTDIR) {
		rc = 0;
		n = 0;
	} else if (rc < 0) {
		return probe_out_fail(out, rc, "cannot list %s: %s", APTLISTS_DIR,
				      rootfs_strerror(rc));
	}
	for (i = 0; i < n; i++) {
		size_t len = strlen(paths[i]);
		bool rel = (len >= 8 && strcmp(paths[i] + len - 8, "_Release") == 0) ||
			   (len >= 10 && strcmp(paths[i] + len - 10, "_InRelease") == 0);

		if (!rel || rootfs_stat(ctx->root, paths[i], true, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (!found || st.st_mtime > best) {
			best = st.st_mtime;
			newest = i;
			found = true;
		}
	}
	if (found) {
		rc = observe(out, paths[newest], best,
			     "no " STAMP "; the newest Release file under " APTLISTS_DIR);
	} else {
		rc = probe_out_add(out, APTLISTS_DIR, "age_days", APTLISTS_DIR, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "no %s and no Release file: the lists were never fetched",
					    STAMP);
	}
	rootfs_glob_free(paths, n);
	return rc;
}

const struct probe probe_apt_lists_age = {
	.name = "apt_lists_age",
	.summary = "Whole days since apt last fetched its package lists successfully.",
	.value_doc = "One integer: days since the modification time of "
		     "/var/lib/apt/periodic/update-success-stamp, or, when there is none, of the "
		     "newest *_InRelease or *_Release file under /var/lib/apt/lists; subject and "
		     "location that file, note which it was and its time. Absent (noted) when "
		     "there is neither, which fails every comparison.",
	.params = params,
	.run = run,
};
