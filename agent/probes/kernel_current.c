/*
 * kernel_current.c - the `kernel_current` probe: whether the running kernel
 * is the newest installed one, i.e. no kernel update waits for a reboot.
 *
 * The running kernel's release is /proc/sys/kernel/osrelease through the
 * root (what uname -r says).  Installed kernels: on a dpkg root the
 * linux-image-<release> packages (a "-unsigned" variant names the same
 * release; meta-packages such as linux-image-amd64 name none); on an rpm
 * root kernel-core (or kernel), whose release is version-release.arch.  The
 * newest is the highest package version in the family's order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpkgver.h"
#include "lines.h"
#include "pkgdb.h"
#include "probe.h"

#define OSRELEASE "/proc/sys/kernel/osrelease"

static const struct probe_param params[] = {
	{NULL, 0, false, NULL, NULL, NULL},
};

/* The kernel release a package installs, into buf; false when it is not a kernel image. */
static bool kernel_release(const struct pkgdb *db, const struct pkgdb_pkg *pkg, char *buf,
			   size_t cap)
{
	size_t n;

	if (db->family == PKGDB_RPM) {
		const char *evr = pkg->version, *colon = strchr(evr, ':');

		if (strcmp(pkg->name, "kernel-core") != 0 && strcmp(pkg->name, "kernel") != 0)
			return false;
		snprintf(buf, cap, "%s.%s", colon ? colon + 1 : evr, pkg->arch);
		return true;
	}
	if (strncmp(pkg->name, "linux-image-", 12) != 0 || pkg->name[12] < '0' ||
	    pkg->name[12] > '9')
		return false;
	snprintf(buf, cap, "%s", pkg->name + 12);
	n = strlen(buf);
	if ((n > 4 && strcmp(buf + n - 4, "-dbg") == 0) ||
	    (n > 7 && strcmp(buf + n - 7, "-dbgsym") == 0))
		return false;
	if (n > 9 && strcmp(buf + n - 9, "-unsigned") == 0)
		buf[n - 9] = '\0';
	return true;
}

/* "path:line" of a package's record, or the database path when it has no line (rpm). */
static const char *where(const struct pkgdb *db, const struct pkgdb_pkg *pkg, char *buf, size_t cap)
{
	if (pkg->line > 0)
		snprintf(buf, cap, "%s:%u", db->path, pkg->line);
	else
		snprintf(buf, cap, "%s", db->path);
	return buf;
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	struct pkgdb *own = NULL;
	const struct pkgdb *db;
	const struct pkgdb_pkg *newest = NULL, *running = NULL;
	char running_rel[256], rel[256], newest_rel[256], at[512];
	struct line_iter it;
	const char *line, *why = NULL;
	char *data = NULL;
	size_t len = 0, n, i;
	int rc;

	(void)p;
	rc = probe_read_file(ctx, out, OSRELEASE, 4096, &data, &len);
	if (rc == PST_E_NOENT) {
		rc = probe_out_add(out, "running kernel", "newest_installed", OSRELEASE, 0,
				   value_absent());
		return rc == 0 ? probe_out_note(out, "%s does not exist: no running kernel (an image)",
						OSRELEASE)
			       : rc;
	}
	if (rc < 0)
		return rc;
	lines_init(&it, data, len);
	n = 0;
	if (lines_next(&it, &line, &n))
		lines_trim(&line, &n);
	if (n == 0 || n >= sizeof(running_rel)) {
		free(data);
		return probe_out_fail(out, PST_E_PARSE, "cannot read %s: no kernel release in it",
				      OSRELEASE);
	}
	memcpy(running_rel, line, n);
	running_rel[n] = '\0';
	free(data);

	rc = pkgdb_get(ctx, out, &db, &own);
	if (rc < 0)
		return rc;
	newest_rel[0] = '\0';
	for (i = 0; i < db->n; i++) {
		const struct pkgdb_pkg *pkg = &db->pkgs[i];
		int cmp = 0;

		if (!kernel_release(db, pkg, rel, sizeof(rel)))
			continue;
		if (strcmp(rel, running_rel) == 0)
			running = pkg;
		if (newest != NULL) {
			rc = pkgdb_vercmp(db->family, pkg->version, newest->version, &cmp, &why);
			/* The same version of two flavours: the release string decides. */
			if (rc == 0 && cmp == 0)
				rc = pkgdb_vercmp(PKGDB_DPKG, rel, newest_rel, &cmp, &why);
			if (rc < 0) {
				rc = probe_out_fail(out, rc, "cannot compare kernel versions %s and %s: %s",
						    pkg->version, newest->version, why ? why : "?");
				goto out;
			}
		}
		if (newest == NULL || cmp > 0) {
			newest = pkg;
			snprintf(newest_rel, sizeof(newest_rel), "%s", rel);
		}
	}
	if (newest == NULL) {
		rc = probe_out_add(out, running_rel, "newest_installed", OSRELEASE, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "running %s; no kernel package installed (%s database): a container?",
					    running_rel, pkgdb_family_name(db->family));
		goto out;
	}
	if (running == newest || strcmp(running_rel, newest_rel) == 0) {
		rc = probe_out_add(out, running_rel, "newest_installed", OSRELEASE, 0, value_bool(true));
		if (rc == 0)
			rc = probe_out_note(out, "running %s is the newest installed kernel (%s %s, %s)",
					    running_rel, newest->name, newest->version,
					    where(db, newest, at, sizeof(at)));
		goto out;
	}
	rc = probe_out_add(out, running_rel, "newest_installed", OSRELEASE, 0, value_bool(false));
	if (rc == 0 && running != NULL)
		rc = probe_out_note(out, "running %s (%s %s) but %s %s is installed (%s): reboot into it",
				    running_rel, running->name, running->version, newest->name,
				    newest->version, where(db, newest, at, sizeof(at)));
	else if (rc == 0)
		rc = probe_out_note(out, "running %s, whose package is no longer installed; newest installed %s %s (%s): reboot into it",
				    running_rel, newest->name, newest->version,
				    where(db, newest, at, sizeof(at)));
out:
	pkgdb_free(own);
	return rc;
}

const struct probe probe_kernel_current = {
	.name = "kernel_current",
	.summary = "Whether the running kernel (/proc/sys/kernel/osrelease) is the newest "
		   "kernel package installed, compared in the package manager's order.",
	.value_doc = "One boolean, subject the running release, location "
		     "/proc/sys/kernel/osrelease: true when no installed kernel package is newer "
		     "than the running one (dpkg: linux-image-<release>; rpm: kernel-core or "
		     "kernel), false when a newer one waits for a reboot or the running kernel's "
		     "package was removed; the note names both packages and versions. Absent "
		     "(noted) without /proc (an image) or without any kernel package (a "
		     "container).",
	.params = params,
	.run = run,
};
